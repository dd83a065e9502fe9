/* SPDX-License-Identifier: MIT */
/*
 * The views are filled field by field from the summary's aggregates and from the text of the
 * votes, never by copying a report struct and clearing what must not leave: a field added to
 * struct proto_report later cannot leak through here by default.
 *
 * Tags of many votes are merged by sorting (case-insensitive key, then byte order) rather
 * than by pairwise search, so an indicator with thousands of votes costs n log n; a view's
 * few tags (most views) by an insertion sort on keys computed once (merge_tags()).
 */
#include "policy/strip.h"

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/layout.h"
#include "policy/vocab.h"
#include "policy/warnlist.h"
#include "proto/crypto.h"

static uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
}

/* @n (1 to 8) bytes at @p as a number, each with bit 0x20 set: a letter in lower case. */
static uint64_t folded(const char *p, size_t n)
{
	uint64_t w = 0;

	memcpy(&w, p, n);
	return w | (0x2020202020202020ull >> (64 - 8 * n));
}

/*
 * Whether tag @t (@len bytes) starts, after blanks (spaces and tabs), with an attributing
 * prefix (case-insensitive). *@start: the first byte past the blanks (@len: a blank tag).
 *
 * Every byte of a prefix but its last ':' is a letter, and a byte c is that letter in either
 * case exactly when (c | 0x20) is its lower case: so each prefix is one word compared after
 * that fold plus its ':' compared as it is, and only the prefix its first letter can start
 * is tried (most tags start with none of them). The words are made by folded() on both
 * sides (byte order does not matter).
 */
POLICY_HOT
static bool attributing(const char *t, size_t len, size_t *start)
{
	size_t i = 0, rest;

	while (i < len && (t[i] == ' ' || t[i] == '\t'))
		i++;
	*start = i;
	rest = len - i;
	t += i;
	switch (rest >= 4 ? t[0] | 0x20 : 0) {
	case 'o':
		return t[3] == ':' && folded(t, 3) == folded("org", 3);
	case 's':
		return rest >= 7 && t[6] == ':' && folded(t, 6) == folded("source", 6);
	case 'r':
		return rest >= 9 && t[8] == ':' && folded(t, 8) == folded("reporter", 8);
	default:
		return false;
	}
}

static bool is_word(uint8_t c)
{
	return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z');
}

/* Whether redacted text says anything besides "[member]". */
static bool has_content(const char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		if (len - i >= POLICY_REDACT_TOKEN_LEN &&
		    memcmp(s + i, POLICY_REDACT_TOKEN, POLICY_REDACT_TOKEN_LEN) == 0) {
			i += POLICY_REDACT_TOKEN_LEN;
			continue;
		}
		if (is_word((uint8_t)s[i]))
			return true;
		i++;
	}
	return false;
}

int policy_strip_tag(const struct policy_redactor *rd, const char *tag, size_t len, char *out,
		     size_t cap, size_t *out_len)
{
	size_t start, n, nred;
	int rc;

	if (cap > 0)
		out[0] = '\0';
	if (out_len)
		*out_len = 0;
	if (attributing(tag, len, &start) || !rd || start == len)
		return 0;
	rc = policy_redact_text(rd, tag, len, out, cap, &n, &nred);
	if (rc < 0)
		return rc;
	if (rc == POLICY_REDACT_DROPPED)
		return 0;
	if (nred > 0 && !has_content(out, n)) {
		out[0] = '\0';
		return 0;
	}
	if (out_len)
		*out_len = n;
	return 1;
}

static bool is_ours(const struct policy_config *cfg, const struct proto_report *r,
		    const uint8_t *own_tag)
{
	if (r->prov == PROTO_PROV_ATTRIBUTED)
		return memcmp(r->signer, cfg->own_id, 32) == 0;
	if (r->prov == PROTO_PROV_ANONYMOUS && own_tag)
		return memcmp(r->link_tag, own_tag, 32) == 0;
	return false;
}

enum desc_fate { DESC_NONE, DESC_KEEP, DESC_REDACT, DESC_DROPPED };

/*
 * What happens to @r's description per cfg->descriptions. An unknown mode drops, like
 * `drop`: keeping or redacting would be a guess. A description longer than any valid
 * report's is dropped and counted.
 */
POLICY_HOT
static enum desc_fate desc_fate(const struct policy_config *cfg, const struct policy_redactor *rd,
				const struct proto_report *r)
{
	const struct proto_str *d = &r->description;

	if (!r || d->len == 0 || !d->ptr)
		return DESC_NONE;
	if (cfg->descriptions != POLICY_DESC_REDACT && cfg->descriptions != POLICY_DESC_KEEP)
		return DESC_NONE;
	if (d->len > PROTO_REPORT_DESC_MAX)
		return DESC_DROPPED;
	if (cfg->descriptions == POLICY_DESC_KEEP && r->tlp == PROTO_TLP_CLEAR &&
	    r->prov == PROTO_PROV_ATTRIBUTED && memcmp(r->signer, cfg->own_id, 32) == 0)
		return DESC_KEEP;
	return rd ? DESC_REDACT : DESC_NONE;
}

/*
 * Whether tag @t (@len bytes) may be a candidate at all: not attributing by prefix, not
 * blank, and @rd exists (without a roster nothing can be checked). A tag longer than any
 * valid report's is dropped and counted.
 */
static bool tag_candidate(const struct policy_redactor *rd, const char *t, size_t len,
			  uint32_t *n_dropped)
{
	size_t start;

	if (attributing(t, len, &start) || !rd || start == len)
		return false;
	if (len > PROTO_REPORT_TAG_LEN_MAX) {
		(*n_dropped)++;
		return false;
	}
	return true;
}

/* Output bytes a call keeps on the stack (a view's description and tags mostly fit). */
#define OUT_STACK 4096

/*
 * Redact the @n texts of @f (caller storage: each field's input set, the rest zero) together
 * (policy_redact_fields(): a name split across any two tags, or a tag and the description,
 * in either order, is found like one in a single field). The outputs, each with room for any
 * redaction of its input, go to @stack (OUT_STACK bytes of caller storage) when they fit,
 * else to *@buf, new (caller frees it; NULL when @stack was used).
 */
POLICY_HOT
static int redact_together(const struct policy_redactor *rd, struct policy_redact_field *f,
			   size_t n, char *stack, char **buf)
{
	size_t total = 0;
	char *out = stack;

	*buf = NULL;
	for (size_t i = 0; i < n; i++) {
		f[i].cap = POLICY_REDACT_OUT_MAX(f[i].len) + 1;
		total += f[i].cap;
	}
	if (total > OUT_STACK) {
		out = *buf = malloc(total);
		if (!out)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		f[i].out = out;
		out += f[i].cap;
	}
	return policy_redact_fields(rd, f, n);
}

/*
 * Whether the redacted tag @f leaves: not dropped (counted), and a tag of @vocab only
 * unchanged, any other only with something besides "[member]" left. The vocabulary is asked
 * only about a tag that was redacted: an unchanged tag leaves either way, and most tags of
 * an export are unchanged (a lookup canonicalises the tag and searches, ~500 instructions).
 */
POLICY_HOT
static inline bool tag_leaves(const struct policy_redact_field *f, const struct policy_vocab *vocab,
			      uint32_t *n_dropped)
{
	if (f->dropped || f->out_len > POLICY_VIEW_TAG_MAX) {
		(*n_dropped)++;
		return false;
	}
	if (f->n_redacted > 0 &&
	    (policy_vocab_has(vocab, f->in, f->len) || !has_content(f->out, f->out_len)))
		return false;
	return true;
}

/* The description's result @f into @out (@cap bytes). */
static void set_description(const struct policy_redact_field *f, char *out, size_t cap, bool *has,
			    size_t *out_len, uint32_t *n_dropped)
{
	if (f->dropped || f->out_len + 1 > cap) {
		(*n_dropped)++;
		return;
	}
	memcpy(out, f->out, f->out_len + 1);
	*out_len = f->out_len;
	*has = true;
}

/* Verbatim description (DESC_KEEP) of @r into @out (@cap bytes). */
static void keep_description(const struct proto_report *r, char *out, size_t cap, bool *has,
			     size_t *out_len)
{
	if (r->description.len + 1 > cap)
		return;
	memcpy(out, r->description.ptr, r->description.len);
	out[r->description.len] = '\0';
	*out_len = r->description.len;
	*has = true;
}

static bool tlp_known(int tlp)
{
	return tlp >= PROTO_TLP_CLEAR && tlp <= PROTO_TLP_RED;
}

struct tag_entry {
	const char *text; /* borrowed: a redacted field's output */
	size_t len;
	size_t count;
	uint64_t head; /* tag_head() */
};

/*
 * The first 8 bytes of @s (@len bytes), zero-padded, as a big-endian number. Two texts whose
 * heads differ are in the order of their heads by bytes (memcmp, a prefix first): at the
 * first place they differ both have a byte, or one ended before it (its padding zero
 * against the other's byte, which is not zero: before it all matched). Two texts that are
 * equal but for ASCII case have the same length, so their heads differ at most in bit 0x20
 * of each byte.
 */
static uint64_t tag_head(const char *s, size_t len)
{
	uint64_t h = 0;

	if (len >= 8) {
		memcpy(&h, s, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		h = __builtin_bswap64(h);
#endif
		return h;
	}
	for (size_t i = 0; i < len; i++)
		h |= (uint64_t)(uint8_t)s[i] << (56 - 8 * i);
	return h;
}

static int cmp_ci(const struct tag_entry *a, const struct tag_entry *b)
{
	size_t n = a->len < b->len ? a->len : b->len;

	for (size_t i = 0; i < n; i++) {
		uint8_t x = lower((uint8_t)a->text[i]), y = lower((uint8_t)b->text[i]);

		if (x != y)
			return x < y ? -1 : 1;
	}
	return a->len < b->len ? -1 : a->len > b->len;
}

static int cmp_bytes(const struct tag_entry *a, const struct tag_entry *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->text, b->text, n);

	if (c)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

static int cmp_key(const void *pa, const void *pb)
{
	int c = cmp_ci(pa, pb);

	return c ? c : cmp_bytes(pa, pb);
}

static int cmp_rank(const void *pa, const void *pb)
{
	const struct tag_entry *a = pa, *b = pb;

	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return cmp_bytes(a, b);
}

/* Whether @a comes after @b by bytes (cmp_bytes()), their heads read first. */
static bool bytes_after(const struct tag_entry *a, const struct tag_entry *b)
{
	if (a->head != b->head)
		return a->head > b->head;
	return cmp_bytes(a, b) > 0;
}

/* Whether @a and @b are equal but for ASCII case (cmp_ci()), their lengths and heads read first. */
static bool same_ci(const struct tag_entry *a, const struct tag_entry *b)
{
	return a->len == b->len && ((a->head ^ b->head) & ~0x2020202020202020ull) == 0 &&
	       cmp_ci(a, b) == 0;
}

/*
 * The tags of a view merged: the @n entries of @e (each with count 1) into groups equal but
 * for ASCII case, each represented by its byte-wise smallest spelling and counted, ranked by
 * count (most first), then by bytes. The groups into @e; their number returned.
 *
 * Many entries (more than TAGS_FEW) are sorted case-insensitively then by bytes (so a
 * group's spellings are adjacent, its smallest first), merged, and sorted by rank: n log n
 * whatever the number of votes. A view's few are sorted by bytes alone, on heads computed
 * once (tag_head()): the first of a group in that order is its smallest spelling, so each
 * entry joins the first earlier group it is equal to (most tags are alone: their lengths or
 * heads differ) and the groups stay in byte order; only when some group has more than one
 * entry are they sorted again, stably by count. The same ranking: test_tag_order compares
 * the two on the same tags.
 */
#define TAGS_FEW 16

POLICY_HOT
static size_t merge_tags(struct tag_entry *e, size_t n)
{
	size_t groups = 0;
	bool merged = false;

	if (n > TAGS_FEW) {
		qsort(e, n, sizeof(*e), cmp_key);
		for (size_t i = 0; i < n; i++) {
			if (groups > 0 && cmp_ci(&e[groups - 1], &e[i]) == 0)
				e[groups - 1].count++;
			else
				e[groups++] = e[i];
		}
		qsort(e, groups, sizeof(*e), cmp_rank);
		return groups;
	}
	for (size_t i = 1; i < n; i++) {
		struct tag_entry x = e[i];
		size_t j = i;

		for (; j > 0 && bytes_after(&e[j - 1], &x); j--)
			e[j] = e[j - 1];
		e[j] = x;
	}
	for (size_t i = 0; i < n; i++) {
		size_t g = 0;

		while (g < groups && !same_ci(&e[g], &e[i]))
			g++;
		if (g < groups) {
			e[g].count++;
			merged = true;
		} else if (groups++ != i) {
			e[groups - 1] = e[i];
		}
	}
	for (size_t i = 1; merged && i < groups; i++) {
		struct tag_entry x = e[i];
		size_t j = i;

		for (; j > 0 && e[j - 1].count < x.count; j--)
			e[j] = e[j - 1];
		e[j] = x;
	}
	return groups;
}

/*
 * A view is mostly its tag and description arrays (tens of KiB) and the indicator's value
 * (2 KiB); zeroing all of it for each indicator cost more than redacting its text. Every
 * byte is zeroed except the contents of those three arrays, which are empty: n_tags is 0,
 * description[0] and ind.value[0] are NUL (ind.len 0), and nothing reads past them (the
 * bytes of ind.value past its NUL are left from an earlier view's indicator). The zeroed
 * ranges are the gaps between the arrays' ends, so a field added anywhere, in struct
 * policy_view or in the indicator after its value, lies in one (the asserts keep the arrays
 * in the order this expects; test_view_reset checks every byte). Writing the value's 2 KiB
 * and a byte of each of the 16 tags (513 bytes apart) cost a view with the redactor ~40 L1
 * data misses: the lines written were no longer cached after its reading (bench_store
 * views, callgrind; a view without the redactor kept them).
 */
POLICY_HOT
static void view_reset(struct policy_view *v)
{
	const size_t value = offsetof(struct policy_view, ind.value),
		     tags = offsetof(struct policy_view, tags),
		     desc = offsetof(struct policy_view, description);

	_Static_assert(offsetof(struct policy_view, ind.value) < offsetof(struct policy_view, tags),
		       "the indicator's value before tags");
	_Static_assert(offsetof(struct policy_view, tags) <
			       offsetof(struct policy_view, description),
		       "tags before description");
	memset(v, 0, value);
	v->ind.value[0] = '\0';
	memset((char *)v + value + sizeof(v->ind.value), 0, tags - value - sizeof(v->ind.value));
	memset((char *)v + tags + sizeof(v->tags), 0, desc - tags - sizeof(v->tags));
	v->description[0] = '\0';
	memset((char *)v + desc + sizeof(v->description), 0,
	       sizeof(*v) - desc - sizeof(v->description));
}

static bool same_indicator(const struct proto_summary *s, const struct proto_report *r)
{
	return r->ind_type == s->ind.type && r->ind_value.len == s->ind.len &&
	       (r->ind_value.len == 0 || memcmp(r->ind_value.ptr, s->ind.value, s->ind.len) == 0);
}

/* Newest `indicator` vote with a description, else newest of any kind; NULL if none. */
static const struct proto_report *pick_description(const struct proto_report *const *votes,
						   size_t n_votes)
{
	const struct proto_report *best = NULL, *best_any = NULL;

	for (size_t i = 0; i < n_votes; i++) {
		const struct proto_report *r = votes[i];

		if (r->description.len == 0)
			continue;
		if (!best_any || r->created_ms > best_any->created_ms)
			best_any = r;
		if (r->kind == PROTO_KIND_INDICATOR && (!best || r->created_ms > best->created_ms))
			best = r;
	}
	return best ? best : best_any;
}

/*
 * The stages of a view (loop fission: the export runs each stage over many views, so that
 * the redactor's ~25 KiB of code and its tables run back to back instead of between the
 * checks, the tag merge, the copies and libc; policy_strip_view() runs them for one view):
 *
 *   A, strip_check() and strip_fields(): the checks that fail a view, its TLP and
 *      reported_by_us, the description's fate, the texts to redact (the fields) and the
 *      room their outputs need; nothing is written to the view;
 *   B, strip_redact(): policy_redact_fields() over the fields, nothing else;
 *   C, strip_finish(): the view filled (view_reset(), the summary's aggregates), the
 *      redacted tags through tag_leaves() and merge_tags(), the description.
 *
 * Between the stages a view is a struct strip_item: what A decided and where its fields
 * and their outputs are; the inputs (summary, votes) stay borrowed until C.
 */
struct strip_item {
	const struct proto_summary *s;
	const struct proto_report *desc; /* the description's report (DESC_KEEP, DESC_REDACT) */
	enum desc_fate fate;
	uint8_t tlp;
	bool reported_by_us;
	uint32_t n_dropped; /* texts A left out (too long) */
	size_t n_fields;    /* bound from strip_check(), then the count (strip_fields()) */
	struct policy_redact_field *f; /* tags, then the description (DESC_REDACT) */
	struct tag_entry *e;	       /* room for the tags' merge (as many as fields) */
	void *own;		       /* a batch's view too large for its room: f and e, ... */
	char *own_out;		       /* ... its outputs */
	int rc;			       /* B's result */
};

/*
 * Stage A, first part: the checks, the TLP, reported_by_us, the description's fate; in
 * it->n_fields the most fields the view can have. 0 or -EINVAL.
 */
POLICY_HOT
static int strip_check(struct strip_item *it, const struct policy_config *cfg,
		       const struct policy_redactor *rd, const struct proto_summary *s,
		       const struct proto_report *const *votes, size_t n_votes,
		       const uint8_t *own_tag)
{
	uint8_t tlp = s->tlp;
	size_t total = 0;

	if (!tlp_known(s->tlp) || !proto_indicator_type_name(s->ind.type) ||
	    s->ind.len > PROTO_IND_VALUE_MAX)
		return -EINVAL;
	it->reported_by_us = false;
	for (size_t i = 0; i < n_votes; i++) {
		const struct proto_report *r = votes[i];

		if (!tlp_known(r->tlp) || !same_indicator(s, r))
			return -EINVAL;
		if (r->tlp > tlp)
			tlp = r->tlp;
		if (r->kind == PROTO_KIND_INDICATOR && is_ours(cfg, r, own_tag))
			it->reported_by_us = true;
		total += r->n_tags < PROTO_REPORT_TAGS_MAX ? r->n_tags : PROTO_REPORT_TAGS_MAX;
	}
	it->s = s;
	it->tlp = tlp;
	it->n_dropped = 0;
	it->own = NULL;
	it->own_out = NULL;
	it->rc = 0;
	it->desc = pick_description(votes, n_votes);
	it->fate = it->desc ? desc_fate(cfg, rd, it->desc) : DESC_NONE;
	if (it->fate == DESC_DROPPED)
		it->n_dropped++;
	it->n_fields = total + (it->fate == DESC_REDACT);
	return 0;
}

/*
 * Stage A, second part: the tags of all @votes that may be candidates, then the description
 * (DESC_REDACT), into @f (room for strip_check()'s bound), each with the room any redaction
 * of it needs. Returns the output bytes the fields need together.
 */
POLICY_HOT
static size_t strip_fields(struct strip_item *it, const struct policy_redactor *rd,
			   const struct proto_report *const *votes, size_t n_votes,
			   struct policy_redact_field *f)
{
	size_t n = 0, total = 0;

	for (size_t i = 0; i < n_votes; i++) {
		const struct proto_report *r = votes[i];

		for (size_t t = 0; t < r->n_tags && t < PROTO_REPORT_TAGS_MAX; t++) {
			if (!tag_candidate(rd, r->tags[t].ptr, r->tags[t].len, &it->n_dropped))
				continue;
			f[n++] = (struct policy_redact_field){.in = r->tags[t].ptr,
							      .len = r->tags[t].len};
		}
	}
	if (it->fate == DESC_REDACT)
		f[n++] = (struct policy_redact_field){.in = it->desc->description.ptr,
						      .len = it->desc->description.len};
	for (size_t i = 0; i < n; i++) {
		f[i].cap = POLICY_REDACT_OUT_MAX(f[i].len) + 1;
		total += f[i].cap;
	}
	it->f = f;
	it->n_fields = n;
	return total;
}

/* Stage A, last: the fields' outputs one after another from @out (strip_fields()' bytes). */
static void strip_place(struct strip_item *it, char *out)
{
	for (size_t i = 0; i < it->n_fields; i++) {
		it->f[i].out = out;
		out += it->f[i].cap;
	}
}

/*
 * Stage B: every tag and the description read together (policy_redact_fields(): a name split
 * across any two tags, or a tag and the description, in either order, is found like one in
 * a single field).
 */
POLICY_HOT
static void strip_redact(const struct policy_redactor *rd, struct strip_item *it)
{
	it->rc = it->n_fields > 0 ? policy_redact_fields(rd, it->f, it->n_fields) : 0;
}

/*
 * Stage C: @v (caller storage) filled from what A decided and B redacted: the summary's
 * aggregates, the tags that leave merged and ranked (merge_tags(), in it->e), the
 * description. Returns 0 or B's error (then @v is reset).
 */
POLICY_HOT
static int strip_finish(struct strip_item *it, struct policy_view *v,
			const struct policy_config *cfg)
{
	const struct proto_summary *s = it->s;
	size_t name_len, n_tags = it->n_fields - (it->fate == DESC_REDACT), n = 0;
	struct tag_entry *e = it->e;

	view_reset(v);
	if (it->rc < 0)
		return it->rc;
	v->ind.type = s->ind.type;
	v->ind.len = s->ind.len;
	memcpy(v->ind.value, s->ind.value, s->ind.len);
	v->ind.value[s->ind.len] = '\0';
	v->tlp = it->tlp;
	v->state = s->state;
	v->confidence = s->confidence;
	v->first_seen_ms = s->first_seen_ms;
	v->last_seen_ms = s->last_seen_ms;
	v->valid_until_ms = s->valid_until_ms;
	v->n_members = s->n_members;
	v->n_sightings = s->n_sightings;
	v->n_false_positive = s->n_false_positive;
	v->reported_by_us = it->reported_by_us;
	v->warninglist = policy_warnlist_match(cfg->warnlist, &v->ind);
	v->withheld = v->warninglist && !cfg->export_warninglisted;
	name_len = strnlen(cfg->community_name, PROTO_ROSTER_NAME_MAX);
	memcpy(v->community, cfg->community_name, name_len);
	v->community[name_len] = '\0';
	v->n_dropped = it->n_dropped;
	if (it->fate == DESC_KEEP)
		keep_description(it->desc, v->description, sizeof(v->description),
				 &v->has_description, &v->description_len);
	for (size_t i = 0; i < n_tags; i++) {
		if (!tag_leaves(&it->f[i], cfg->tag_vocab, &v->n_dropped))
			continue;
		e[n].text = it->f[i].out;
		e[n].len = it->f[i].out_len;
		e[n].count = 1;
		e[n].head = tag_head(it->f[i].out, it->f[i].out_len);
		n++;
	}
	if (it->fate == DESC_REDACT)
		set_description(&it->f[n_tags], v->description, sizeof(v->description),
				&v->has_description, &v->description_len, &v->n_dropped);
	n = merge_tags(e, n);
	for (size_t i = 0; i < n && v->n_tags < POLICY_VIEW_TAGS_MAX; i++) {
		memcpy(v->tags[v->n_tags], e[i].text, e[i].len + 1);
		v->n_tags++;
	}
	return 0;
}

/* Fields of a view kept on the stack by policy_strip_view(), and their merge's entries. */
#define COLLECT_STACK 16

/*
 * The stages for one view. The fields and the merge's entries share one block, the outputs
 * another (the entries point into it); both are on the stack for a view of up to
 * COLLECT_STACK texts and OUT_STACK output bytes, else one allocation each, whatever the
 * number of tags.
 */
POLICY_HOT
int policy_strip_view(struct policy_view *v, const struct policy_config *cfg,
		      const struct policy_redactor *rd, const struct proto_summary *s,
		      const struct proto_report *const *votes, size_t n_votes,
		      const uint8_t *own_tag)
{
	struct strip_item it;
	struct tag_entry s_e[COLLECT_STACK];
	struct policy_redact_field *f, s_f[COLLECT_STACK];
	char *buf = NULL, stack[OUT_STACK], *out = stack;
	void *blk = NULL;
	size_t total;
	int rc;

	if ((rc = strip_check(&it, cfg, rd, s, votes, n_votes, own_tag)) < 0)
		goto fail;
	f = s_f;
	it.e = s_e;
	if (it.n_fields > COLLECT_STACK) {
		blk = malloc(it.n_fields * (sizeof(*it.e) + sizeof(*f)));
		if (!blk) {
			rc = -ENOMEM;
			goto fail;
		}
		f = blk;
		it.e = (struct tag_entry *)(f + it.n_fields);
	}
	total = strip_fields(&it, rd, votes, n_votes, f);
	if (total > OUT_STACK) {
		out = buf = malloc(total);
		if (!out) {
			rc = -ENOMEM;
			goto fail;
		}
	}
	strip_place(&it, out);
	strip_redact(rd, &it);
	rc = strip_finish(&it, v, cfg);
	free(blk);
	free(buf);
	return rc;
fail:
	free(blk);
	free(buf);
	view_reset(v);
	return rc;
}

/*
 * A batch's room: fields (each with a merge entry) and output bytes, allocated once. A view
 * whose fields or outputs do not fit what is left ends the batch (POLICY_STRIP_FULL); one
 * that does not fit an empty batch gets an allocation of its own, as policy_strip_view()
 * would, freed when the batch is cleared. BATCH_OUT holds the outputs' room of ~110 views
 * of bench_store's (a ~240-byte description and three tags: ~2.3 KiB of room, of which a
 * few hundred bytes are written).
 */
#define BATCH_VIEWS 128
#define BATCH_FIELDS 512
#define BATCH_OUT (256 * 1024)

struct policy_strip_batch {
	const struct policy_config *cfg;
	const struct policy_redactor *rd;
	size_t n, n_redacted, n_fields, n_out;
	struct strip_item item[BATCH_VIEWS];
	struct policy_redact_field *f; /* BATCH_FIELDS */
	struct tag_entry *e;	       /* BATCH_FIELDS */
	char *out;		       /* BATCH_OUT */
};

struct policy_strip_batch *policy_strip_batch_new(const struct policy_config *cfg,
						  const struct policy_redactor *rd)
{
	struct policy_strip_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->cfg = cfg;
	b->rd = rd;
	b->f = malloc(BATCH_FIELDS * sizeof(*b->f));
	b->e = malloc(BATCH_FIELDS * sizeof(*b->e));
	b->out = malloc(BATCH_OUT);
	if (!b->f || !b->e || !b->out) {
		policy_strip_batch_free(b);
		return NULL;
	}
	return b;
}

void policy_strip_batch_clear(struct policy_strip_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->item[i].own);
		free(b->item[i].own_out);
	}
	b->n = b->n_redacted = b->n_fields = b->n_out = 0;
}

void policy_strip_batch_free(struct policy_strip_batch *b)
{
	if (!b)
		return;
	policy_strip_batch_clear(b);
	free(b->f);
	free(b->e);
	free(b->out);
	free(b);
}

size_t policy_strip_batch_len(const struct policy_strip_batch *b)
{
	return b->n;
}

POLICY_HOT
int policy_strip_batch_add(struct policy_strip_batch *b, const struct proto_summary *s,
			   const struct proto_report *const *votes, size_t n_votes,
			   const uint8_t *own_tag)
{
	struct strip_item *it = &b->item[b->n];
	struct policy_redact_field *f;
	size_t total;
	char *out;
	int rc;

	if (b->n == BATCH_VIEWS)
		return POLICY_STRIP_FULL;
	if ((rc = strip_check(it, b->cfg, b->rd, s, votes, n_votes, own_tag)) < 0)
		return rc;
	/* A view too large for an empty batch's room has its own (fields or outputs). */
	if (it->n_fields <= BATCH_FIELDS - b->n_fields) {
		f = b->f + b->n_fields;
		it->e = b->e + b->n_fields;
	} else if (b->n > 0) {
		return POLICY_STRIP_FULL;
	} else if (!(it->own = malloc(it->n_fields * (sizeof(*f) + sizeof(*it->e))))) {
		return -ENOMEM;
	} else {
		f = it->own;
		it->e = (struct tag_entry *)(f + it->n_fields);
	}
	total = strip_fields(it, b->rd, votes, n_votes, f);
	if (total <= BATCH_OUT - b->n_out) {
		out = b->out + b->n_out;
		b->n_out += total;
	} else if (b->n > 0) {
		return POLICY_STRIP_FULL; /* it->own is NULL: the fields fitted the room */
	} else if (!(it->own_out = malloc(total))) {
		free(it->own);
		it->own = NULL;
		return -ENOMEM;
	} else {
		out = it->own_out;
	}
	strip_place(it, out);
	if (!it->own)
		b->n_fields += it->n_fields;
	b->n++;
	return 0;
}

POLICY_HOT
void policy_strip_batch_redact(struct policy_strip_batch *b)
{
	for (; b->n_redacted < b->n; b->n_redacted++)
		strip_redact(b->rd, &b->item[b->n_redacted]);
}

POLICY_HOT
int policy_strip_batch_view(struct policy_strip_batch *b, size_t k, struct policy_view *v)
{
	assert(k < b->n_redacted);
	return strip_finish(&b->item[k], v, b->cfg);
}

int policy_strip_report(struct policy_report_view *v, const struct policy_config *cfg,
			const struct policy_redactor *rd, const struct proto_report *r,
			const uint8_t *own_tag)
{
	struct policy_redact_field f[PROTO_REPORT_TAGS_MAX + 1];
	char *buf = NULL, stack[OUT_STACK];
	size_t n_in = 0, n_tags_in;
	enum desc_fate fate;
	int rc;

	memset(v, 0, sizeof(*v));
	if (!tlp_known(r->tlp))
		return -EINVAL;
	v->kind = r->kind;
	v->tlp = r->tlp;
	v->confidence = r->confidence;
	v->created_ms = r->created_ms;
	v->valid_until_ms = r->valid_until_ms;
	v->ours = is_ours(cfg, r, own_tag);
	fate = desc_fate(cfg, rd, r);
	if (fate == DESC_KEEP)
		keep_description(r, v->description, sizeof(v->description), &v->has_description,
				 &v->description_len);
	else if (fate == DESC_DROPPED)
		v->n_dropped++;
	for (size_t t = 0; t < r->n_tags && t < PROTO_REPORT_TAGS_MAX; t++) {
		if (!tag_candidate(rd, r->tags[t].ptr, r->tags[t].len, &v->n_dropped))
			continue;
		f[n_in++] =
			(struct policy_redact_field){.in = r->tags[t].ptr, .len = r->tags[t].len};
	}
	n_tags_in = n_in;
	if (fate == DESC_REDACT)
		f[n_in++] = (struct policy_redact_field){.in = r->description.ptr,
							 .len = r->description.len};
	if (n_in > 0) {
		rc = redact_together(rd, f, n_in, stack, &buf);
		if (rc < 0)
			goto fail;
	}
	for (size_t i = 0; i < n_tags_in; i++)
		if (tag_leaves(&f[i], cfg->tag_vocab, &v->n_dropped))
			memcpy(v->tags[v->n_tags++], f[i].out, f[i].out_len + 1);
	if (fate == DESC_REDACT)
		set_description(&f[n_in - 1], v->description, sizeof(v->description),
				&v->has_description, &v->description_len, &v->n_dropped);
	free(buf);
	return 0;
fail:
	free(buf);
	memset(v, 0, sizeof(*v));
	return rc;
}

void policy_strip_rules_id(const struct policy_config *cfg, const struct policy_redactor *rd,
			   uint8_t id[16])
{
	uint8_t red[32], voc[32], mode = cfg->descriptions;
	const void *parts[4] = {red, voc, &mode, cfg->own_id};
	const size_t lens[4] = {sizeof(red), sizeof(voc), 1, sizeof(cfg->own_id)};

	policy_redact_fingerprint(rd, red);
	policy_vocab_fingerprint(cfg->tag_vocab, voc);
	proto_hash(id, 16, parts, lens, 4);
}

static bool same_text(const char *a, size_t a_len, const char *b, size_t b_len)
{
	return a_len == b_len && (a_len == 0 || memcmp(a, b, a_len) == 0);
}

int policy_strip_recheck(struct policy_view *v, const struct policy_config *cfg,
			 const struct policy_redactor *rd, const char *desc, size_t desc_len,
			 const char *const *tags, const size_t *tag_lens, size_t n_tags)
{
	size_t from[POLICY_VIEW_TAGS_MAX];
	struct policy_redact_field f[POLICY_VIEW_TAGS_MAX + 1];
	char *buf = NULL, stack[OUT_STACK];
	size_t n_in = 0, n_tags_in;
	bool with_desc, changed = false;
	int rc = 0;

	view_reset(v);
	if (n_tags > POLICY_VIEW_TAGS_MAX)
		return -EINVAL;
	/*
	 * Tags here are outputs, possibly longer than any report's tag (each "[member]" is 8
	 * bytes), so only the prefix rule and the blank rule of tag_candidate() apply.
	 */
	for (size_t t = 0; t < n_tags; t++) {
		size_t start;

		if (attributing(tags[t], tag_lens[t], &start) || !rd || start == tag_lens[t]) {
			changed = true;
			continue;
		}
		f[n_in] = (struct policy_redact_field){.in = tags[t], .len = tag_lens[t]};
		from[n_in++] = t;
	}
	n_tags_in = n_in;
	with_desc =
		desc && desc_len > 0 && rd &&
		(cfg->descriptions == POLICY_DESC_REDACT || cfg->descriptions == POLICY_DESC_KEEP);
	if (desc && desc_len > 0 && !with_desc)
		changed = true;
	if (with_desc)
		f[n_in++] = (struct policy_redact_field){.in = desc, .len = desc_len};
	if (n_in > 0) {
		rc = redact_together(rd, f, n_in, stack, &buf);
		if (rc < 0)
			goto out;
	}
	for (size_t i = 0; i < n_tags_in; i++) {
		if (!tag_leaves(&f[i], cfg->tag_vocab, &v->n_dropped)) {
			changed = true;
			continue;
		}
		changed |= !same_text(f[i].out, f[i].out_len, tags[from[i]], tag_lens[from[i]]);
		memcpy(v->tags[v->n_tags++], f[i].out, f[i].out_len + 1);
	}
	if (with_desc) {
		set_description(&f[n_in - 1], v->description, sizeof(v->description),
				&v->has_description, &v->description_len, &v->n_dropped);
		changed |= !v->has_description ||
			   !same_text(v->description, v->description_len, desc, desc_len);
	}
out:
	free(buf);
	if (rc < 0) {
		view_reset(v);
		return rc;
	}
	return changed ? 1 : 0;
}
