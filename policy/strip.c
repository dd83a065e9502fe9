/* SPDX-License-Identifier: MIT */
/*
 * The views are filled field by field from the summary's aggregates and from the text of the
 * votes, never by copying a report struct and clearing what must not leave: a field added to
 * struct proto_report later cannot leak through here by default.
 *
 * Tags of many votes are merged by sorting (case-insensitive key, then byte order) rather
 * than by pairwise search, so an indicator with thousands of votes costs n log n.
 */
#include "policy/strip.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy/warnlist.h"

static const char *const attributing_prefixes[] = {"org:", "source:", "reporter:"};

static uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
}

static bool prefix_ci(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	if (len < n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower((uint8_t)s[i]) != (uint8_t)prefix[i])
			return false;
	return true;
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
	size_t start = 0, n, nred;
	int rc;

	if (cap > 0)
		out[0] = '\0';
	if (out_len)
		*out_len = 0;
	while (start < len && (tag[start] == ' ' || tag[start] == '\t'))
		start++;
	for (size_t i = 0; i < sizeof(attributing_prefixes) / sizeof(attributing_prefixes[0]); i++)
		if (prefix_ci(tag + start, len - start, attributing_prefixes[i]))
			return 0;
	if (!rd || start == len)
		return 0;
	rc = policy_redact_text(rd, tag, len, out, cap, &n, &nred);
	if (rc < 0)
		return rc;
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

/*
 * The description of @r into @out (@cap >= POLICY_VIEW_DESC_MAX + 1) per cfg->descriptions.
 * An unknown mode drops, like `drop`: keeping or redacting would be a guess.
 */
static int strip_description(const struct policy_config *cfg, const struct policy_redactor *rd,
			     const struct proto_report *r, char *out, size_t cap, bool *has,
			     size_t *out_len)
{
	const struct proto_str *d = &r->description;
	bool keep;
	int rc;

	*has = false;
	*out_len = 0;
	out[0] = '\0';
	if (d->len == 0 || !d->ptr)
		return 0;
	if (cfg->descriptions != POLICY_DESC_REDACT && cfg->descriptions != POLICY_DESC_KEEP)
		return 0;
	keep = cfg->descriptions == POLICY_DESC_KEEP && r->tlp == PROTO_TLP_CLEAR &&
	       r->prov == PROTO_PROV_ATTRIBUTED && memcmp(r->signer, cfg->own_id, 32) == 0;
	if (keep) {
		if (d->len + 1 > cap)
			return -ENOSPC;
		memcpy(out, d->ptr, d->len);
		out[d->len] = '\0';
		*out_len = d->len;
		*has = true;
		return 0;
	}
	if (!rd)
		return 0;
	rc = policy_redact_text(rd, d->ptr, d->len, out, cap, out_len, NULL);
	if (rc == -ENOSPC) /* longer than any valid report's description: drop it */
		return 0;
	if (rc < 0)
		return rc;
	*has = true;
	return 0;
}

static bool tlp_known(int tlp)
{
	return tlp >= PROTO_TLP_CLEAR && tlp <= PROTO_TLP_RED;
}

struct tag_entry {
	char *text;
	size_t len;
	size_t count;
};

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

/*
 * Stripped tags of all @votes, merged and ranked, into v->tags. Within a case-insensitive
 * group the byte-wise smallest spelling represents it (the sort puts it first).
 */
static int collect_tags(struct policy_view *v, const struct policy_redactor *rd,
			const struct proto_report *const *votes, size_t n_votes)
{
	struct tag_entry *e = NULL;
	size_t n = 0, total = 0, groups = 0;
	char *buf = NULL;
	int rc = 0;

	for (size_t i = 0; i < n_votes; i++)
		total += votes[i]->n_tags < PROTO_REPORT_TAGS_MAX ? votes[i]->n_tags
								  : PROTO_REPORT_TAGS_MAX;
	if (total == 0)
		return 0;
	e = calloc(total, sizeof(*e));
	buf = malloc(POLICY_VIEW_TAG_MAX + 1);
	if (!e || !buf) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n_votes; i++) {
		const struct proto_report *r = votes[i];

		for (size_t t = 0; t < r->n_tags && t < PROTO_REPORT_TAGS_MAX; t++) {
			size_t len;

			rc = policy_strip_tag(rd, r->tags[t].ptr, r->tags[t].len, buf,
					      POLICY_VIEW_TAG_MAX + 1, &len);
			if (rc == -ENOSPC) /* longer than any valid report's tag: drop it */
				rc = 0;
			if (rc < 0)
				goto out;
			if (rc == 0)
				continue;
			rc = 0;
			e[n].text = malloc(len + 1);
			if (!e[n].text) {
				rc = -ENOMEM;
				goto out;
			}
			memcpy(e[n].text, buf, len + 1);
			e[n].len = len;
			e[n].count = 1;
			n++;
		}
	}
	qsort(e, n, sizeof(*e), cmp_key);
	for (size_t i = 0; i < n; i++) {
		if (groups > 0 && cmp_ci(&e[groups - 1], &e[i]) == 0) {
			e[groups - 1].count++;
			free(e[i].text);
			e[i].text = NULL;
			continue;
		}
		if (groups != i) {
			e[groups] = e[i];
			e[i].text = NULL;
		}
		groups++;
	}
	n = groups;
	qsort(e, n, sizeof(*e), cmp_rank);
	for (size_t i = 0; i < n && v->n_tags < POLICY_VIEW_TAGS_MAX; i++) {
		memcpy(v->tags[v->n_tags], e[i].text, e[i].len + 1);
		v->n_tags++;
	}
out:
	if (e)
		for (size_t i = 0; i < total; i++)
			free(e[i].text);
	free(e);
	free(buf);
	return rc;
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

int policy_strip_view(struct policy_view *v, const struct policy_config *cfg,
		      const struct policy_redactor *rd, const struct proto_summary *s,
		      const struct proto_report *const *votes, size_t n_votes,
		      const uint8_t *own_tag)
{
	const struct proto_report *desc;
	uint8_t tlp = s->tlp;
	size_t name_len;
	int rc;

	memset(v, 0, sizeof(*v));
	if (!tlp_known(s->tlp) || !proto_indicator_type_name(s->ind.type) ||
	    s->ind.len > PROTO_IND_VALUE_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n_votes; i++) {
		if (!tlp_known(votes[i]->tlp) || !same_indicator(s, votes[i]))
			return -EINVAL;
		if (votes[i]->tlp > tlp)
			tlp = votes[i]->tlp;
	}

	v->ind.type = s->ind.type;
	v->ind.len = s->ind.len;
	memcpy(v->ind.value, s->ind.value, s->ind.len);
	v->ind.value[s->ind.len] = '\0';
	v->tlp = tlp;
	v->state = s->state;
	v->confidence = s->confidence;
	v->first_seen_ms = s->first_seen_ms;
	v->last_seen_ms = s->last_seen_ms;
	v->valid_until_ms = s->valid_until_ms;
	v->n_members = s->n_members;
	v->n_sightings = s->n_sightings;
	v->n_false_positive = s->n_false_positive;
	for (size_t i = 0; i < n_votes; i++)
		if (votes[i]->kind == PROTO_KIND_INDICATOR && is_ours(cfg, votes[i], own_tag))
			v->reported_by_us = true;
	v->warninglist = policy_warnlist_match(cfg->warnlist, &v->ind);
	v->withheld = v->warninglist && !cfg->export_warninglisted;
	name_len = strnlen(cfg->community_name, PROTO_ROSTER_NAME_MAX);
	memcpy(v->community, cfg->community_name, name_len);
	v->community[name_len] = '\0';

	desc = pick_description(votes, n_votes);
	if (desc) {
		rc = strip_description(cfg, rd, desc, v->description, sizeof(v->description),
				       &v->has_description, &v->description_len);
		if (rc < 0)
			goto fail;
	}
	rc = collect_tags(v, rd, votes, n_votes);
	if (rc < 0)
		goto fail;
	return 0;
fail:
	memset(v, 0, sizeof(*v));
	return rc;
}

int policy_strip_report(struct policy_report_view *v, const struct policy_config *cfg,
			const struct policy_redactor *rd, const struct proto_report *r,
			const uint8_t *own_tag)
{
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
	for (size_t t = 0; t < r->n_tags && t < PROTO_REPORT_TAGS_MAX; t++) {
		rc = policy_strip_tag(rd, r->tags[t].ptr, r->tags[t].len, v->tags[v->n_tags],
				      sizeof(v->tags[0]), NULL);
		if (rc == -ENOSPC)
			continue;
		if (rc < 0)
			goto fail;
		if (rc == 1)
			v->n_tags++;
	}
	rc = strip_description(cfg, rd, r, v->description, sizeof(v->description),
			       &v->has_description, &v->description_len);
	if (rc < 0)
		goto fail;
	return 0;
fail:
	memset(v, 0, sizeof(*v));
	return rc;
}
