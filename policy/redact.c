/* SPDX-License-Identifier: MIT */
/*
 * Redaction works on a normalised copy of the text (folded case, separators as spaces,
 * invisible characters removed) that records, for every byte, the input code point it came
 * from; matches found in the copy are marked on the input in a mask. Matches from different
 * patterns may overlap or touch; the mask merges them, and each maximal masked run is emitted
 * as one "[member]". Working on a mask instead of rewriting the text pattern by pattern means
 * one pattern's replacement can never create or hide a match of another, and marking whole
 * source code points keeps the output valid UTF-8.
 *
 * A roster may hold thousands of members with dozens of patterns each, and a text is at most
 * a few kilobytes, so the text is not scanned once per pattern. Every word/exact pattern is
 * indexed by a hash of its words; at each word of the text the scan hashes the runs of 1 ..
 * max_words words starting there and looks up only the patterns with exactly those words
 * (about 30 us for 2 KB of text against 4,096 members with seven patterns each). Literal
 * patterns (names without any letter or digit) are rare and are searched directly.
 */
#include "policy/redact.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/crypto.h"

enum pat_kind {
	PAT_WORDS = 0,	 /* words in order, any separator run between them */
	PAT_EXACT = 1,	 /* exact folded bytes, whole word; expands to host name / email */
	PAT_LITERAL = 2, /* exact folded bytes anywhere */
};

struct pattern {
	uint8_t *text; /* folded; PAT_WORDS: the words joined by single spaces */
	size_t len;
	uint8_t kind;
};

struct index_entry {
	uint64_t hash; /* index key, see key_len() */
	size_t pat;
};

struct policy_redactor {
	struct pattern *pats;
	size_t n_pats;
	size_t cap_pats;
	struct index_entry *index; /* PAT_WORDS and PAT_EXACT, ascending by hash */
	size_t n_index;
	size_t *literals; /* indexes of PAT_LITERAL patterns */
	size_t n_literals;
	size_t max_words;     /* most words in an indexed pattern */
	bool *has_word_count; /* [k]: some indexed pattern has exactly k words (0..max_words) */
};

/* A normalised text and, per byte, the source unit [from, to) it came from. */
struct norm {
	uint8_t *b;
	size_t len;
	size_t *from;
	size_t *to;
};

static bool is_word(uint8_t c)
{
	return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z');
}

static bool is_host(uint8_t c)
{
	return is_word(c) || c == '.' || c == '-' || c == '_';
}

/* Characters of an email local part (RFC 5322 atext and dots; non-ASCII for RFC 6531). */
static bool is_local(uint8_t c)
{
	return is_word(c) || (c && strchr(".!#$%&'*+/=?^_`{|}~-", c) != NULL);
}

/*
 * Simple case folding restricted to code points whose lower-case form is no longer in UTF-8
 * (all below U+0800).
 */
static uint32_t fold_cp(uint32_t cp)
{
	if (cp >= 'A' && cp <= 'Z')
		return cp + ('a' - 'A');
	if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7)
		return cp + 0x20;
	if (cp >= 0x100 && cp <= 0x17F) {
		if (cp == 0x130 || cp == 0x131) /* dotted capital I and dotless i */
			return 'i';
		if (cp <= 0x12F || (cp >= 0x132 && cp <= 0x137) || (cp >= 0x14A && cp <= 0x177))
			return (cp & 1) ? cp : cp + 1;
		if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E))
			return (cp & 1) ? cp + 1 : cp;
		if (cp == 0x178)
			return 0xFF;
		return cp;
	}
	if (cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2)
		return cp + 0x20;
	if (cp == 0x3C2) /* final sigma */
		return 0x3C3;
	if (cp >= 0x410 && cp <= 0x42F)
		return cp + 0x20;
	if (cp >= 0x400 && cp <= 0x40F)
		return cp + 0x50;
	return cp;
}

/* Invisible code points that would otherwise split a word: soft hyphen, zero-width and bidi
 * controls, word joiner, BOM. */
static bool is_ignorable(uint32_t cp)
{
	return cp == 0xAD || (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E) ||
	       (cp >= 0x2060 && cp <= 0x206F) || cp == 0xFEFF || cp == 0x180E;
}

/* Non-ASCII spaces and punctuation that separate words like ASCII punctuation does. */
static bool is_separator(uint32_t cp)
{
	switch (cp) {
	case 0xA0: /* no-break space */
	case 0xA1:
	case 0xA6:
	case 0xA7:
	case 0xAB: /* guillemets */
	case 0xB6:
	case 0xB7:
	case 0xBB:
	case 0xBF:
	case 0x3000: /* ideographic space, comma, full stop */
	case 0x3001:
	case 0x3002:
		return true;
	}
	/* General Punctuation spaces, dashes, quotes, ellipsis, line separators, per mille... */
	return (cp >= 0x2000 && cp <= 0x200A) || (cp >= 0x2010 && cp <= 0x2029) ||
	       (cp >= 0x202F && cp <= 0x205F);
}

/*
 * Decode one unit at @in (@len > 0 bytes left): a well-formed UTF-8 sequence, or a single
 * byte when the input is not well-formed there. Returns the unit's length; *@cp is the code
 * point, or -1 for a raw byte.
 */
static size_t decode_unit(const uint8_t *in, size_t len, int32_t *cp)
{
	uint8_t c = in[0];
	size_t n;
	uint32_t v;
	uint8_t lo = 0x80, hi = 0xBF;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		v = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0; /* overlong */
		if (c == 0xED)
			hi = 0x9F; /* surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		v = c & 0x07;
		if (c == 0xF0)
			lo = 0x90;
		if (c == 0xF4)
			hi = 0x8F;
	} else {
		*cp = -1;
		return 1;
	}
	if (len < n || in[1] < lo || in[1] > hi) {
		*cp = -1;
		return 1;
	}
	for (size_t i = 1; i < n; i++) {
		if ((in[i] & 0xC0) != 0x80) {
			*cp = -1;
			return 1;
		}
		v = (v << 6) | (in[i] & 0x3F);
	}
	*cp = (int32_t)v;
	return n;
}

/*
 * The matching form of one code point into @out; returns its length, never more than the
 * code point's own UTF-8 length (so a normalised text is never longer than its source).
 */
static size_t normalize_cp(uint32_t cp, uint8_t out[4])
{
	if (is_ignorable(cp))
		return 0;
	if (is_separator(cp)) {
		out[0] = ' ';
		return 1;
	}
	if (cp >= 0xFF01 && cp <= 0xFF5E) /* full-width ASCII */
		cp -= 0xFEE0;
	cp = fold_cp(cp);
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (uint8_t)(0xC0 | (cp >> 6));
		out[1] = (uint8_t)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (uint8_t)(0xE0 | (cp >> 12));
		out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (uint8_t)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (uint8_t)(0xF0 | (cp >> 18));
	out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (uint8_t)(0x80 | (cp & 0x3F));
	return 4;
}

/*
 * Normalise @len bytes at @in into @out (room for @len bytes). When @from/@to are not NULL,
 * each output byte records the source unit it came from as [from, to), so a match in the
 * normalised text maps back to whole code points of the input. Returns the output length.
 */
static size_t normalize(const uint8_t *in, size_t len, uint8_t *out, size_t *from, size_t *to)
{
	size_t o = 0;

	for (size_t i = 0; i < len;) {
		uint8_t tmp[4];
		int32_t cp;
		size_t n = decode_unit(in + i, len - i, &cp);
		size_t m;

		if (cp < 0) {
			tmp[0] = in[i];
			m = 1;
		} else {
			m = normalize_cp((uint32_t)cp, tmp);
		}
		for (size_t k = 0; k < m; k++) {
			out[o] = tmp[k];
			if (from) {
				from[o] = i;
				to[o] = i + n;
			}
			o++;
		}
		i += n;
	}
	return o;
}

#define HASH_INIT 0xcbf29ce484222325ull

static uint64_t hash_update(uint64_t h, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/*
 * The index key of a word or exact pattern: the hash of its words joined by single spaces,
 * whatever separated them ("cert.acme.example" and "Acme CERT" alike), and its word count.
 * The scan hashes the same way every run of 1..max_words consecutive words of the text, so
 * a bucket holds only patterns with exactly those words (and rare hash collisions): members
 * whose names start alike ("National CSIRT of ...") never share one.
 */
static uint64_t pattern_key(const struct pattern *p, size_t *n_words)
{
	static const uint8_t space = ' ';
	uint64_t h = HASH_INIT;
	size_t n = 0;

	for (size_t i = 0; i < p->len;) {
		size_t e = i;

		if (!is_word(p->text[i])) {
			i++;
			continue;
		}
		while (e < p->len && is_word(p->text[e]))
			e++;
		if (n++)
			h = hash_update(h, &space, 1);
		h = hash_update(h, p->text + i, e - i);
		i = e;
	}
	*n_words = n;
	return h;
}

static int push_pattern(struct policy_redactor *rd, uint8_t *text, size_t len, uint8_t kind)
{
	if (rd->n_pats == rd->cap_pats) {
		size_t cap = rd->cap_pats ? 2 * rd->cap_pats : 64;
		struct pattern *p = realloc(rd->pats, cap * sizeof(*p));

		if (!p) {
			free(text);
			return -ENOMEM;
		}
		rd->pats = p;
		rd->cap_pats = cap;
	}
	rd->pats[rd->n_pats].text = text;
	rd->pats[rd->n_pats].len = len;
	rd->pats[rd->n_pats].kind = kind;
	rd->n_pats++;
	return 0;
}

static bool all_space(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r' && p[i] != '\v' &&
		    p[i] != '\f')
			return false;
	return true;
}

/*
 * Add a name or alias: its words joined by one space. A name without any word is kept as a
 * literal so that it is still hidden wherever it appears.
 */
static int add_words(struct policy_redactor *rd, const char *s)
{
	size_t len = strlen(s), n, o = 0;
	uint8_t *f;

	if (len == 0)
		return 0;
	f = malloc(len);
	if (!f)
		return -ENOMEM;
	n = normalize((const uint8_t *)s, len, f, NULL, NULL);
	if (n == 0 || all_space(f, n)) {
		free(f);
		return 0;
	}
	/* Compact the words in place: the output never outgrows the input. */
	for (size_t i = 0; i < n;) {
		if (!is_word(f[i])) {
			i++;
			continue;
		}
		if (o > 0)
			f[o++] = ' ';
		while (i < n && is_word(f[i]))
			f[o++] = f[i++];
	}
	if (o == 0) /* nothing was written: f still holds the whole normalised name */
		return push_pattern(rd, f, n, PAT_LITERAL);
	return push_pattern(rd, f, o, PAT_WORDS);
}

/*
 * Add a domain, address host or key hex: leading/trailing dots and wildcard stars are
 * dropped ("*.cert.example." is "cert.example"); what still begins or ends with a non-word
 * character (e.g. "fe80::") is kept as a literal.
 */
static int add_exact(struct policy_redactor *rd, const char *s, size_t len)
{
	size_t n, start = 0;
	uint8_t *f;
	uint8_t kind = PAT_EXACT;

	if (len == 0)
		return 0;
	f = malloc(len);
	if (!f)
		return -ENOMEM;
	n = normalize((const uint8_t *)s, len, f, NULL, NULL);
	while (start < n && (f[start] == '.' || f[start] == '*'))
		start++;
	while (n > start && (f[n - 1] == '.' || f[n - 1] == '*'))
		n--;
	if (n == start || all_space(f + start, n - start)) {
		free(f);
		return 0;
	}
	n -= start;
	memmove(f, f + start, n);
	if (!is_word(f[0]) || !is_word(f[n - 1]))
		kind = PAT_LITERAL;
	return push_pattern(rd, f, n, kind);
}

/* The host of "host:port", "[v6]:port", a bare host or a bare IPv6 address. */
static int add_address(struct policy_redactor *rd, const char *addr)
{
	const char *colon = strchr(addr, ':');

	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');

		if (!end)
			return add_exact(rd, addr + 1, strlen(addr + 1));
		return add_exact(rd, addr + 1, (size_t)(end - addr - 1));
	}
	if (colon && !strchr(colon + 1, ':'))
		return add_exact(rd, addr, (size_t)(colon - addr));
	return add_exact(rd, addr, strlen(addr));
}

static int add_key_hex(struct policy_redactor *rd, const uint8_t key[32])
{
	char hex[65];

	proto_hex_encode(hex, key, 32);
	return add_exact(rd, hex, 64);
}

static int add_member(struct policy_redactor *rd, const struct proto_member *m)
{
	int rc = 0;

	if (m->name)
		rc = add_words(rd, m->name);
	for (size_t i = 0; rc == 0 && i < m->n_aliases; i++)
		if (m->aliases[i])
			rc = add_words(rd, m->aliases[i]);
	for (size_t i = 0; rc == 0 && i < m->n_domains; i++)
		if (m->domains[i])
			rc = add_exact(rd, m->domains[i], strlen(m->domains[i]));
	for (size_t i = 0; rc == 0 && i < m->n_addrs; i++)
		if (m->addrs[i])
			rc = add_address(rd, m->addrs[i]);
	if (rc == 0)
		rc = add_key_hex(rd, m->id);
	if (rc == 0)
		rc = add_key_hex(rd, m->transport_pk);
	if (rc == 0)
		rc = add_key_hex(rd, m->ring_pk);
	return rc;
}

static int cmp_pattern(const void *a, const void *b)
{
	const struct pattern *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	c = memcmp(x->text, y->text, n);
	if (c)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

static int cmp_index(const void *a, const void *b)
{
	const struct index_entry *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->pat < y->pat ? -1 : x->pat > y->pat;
}

static int build_index(struct policy_redactor *rd)
{
	size_t o = 0, words;

	if (rd->n_pats == 0)
		return 0;
	qsort(rd->pats, rd->n_pats, sizeof(*rd->pats), cmp_pattern);
	for (size_t i = 0; i < rd->n_pats; i++) {
		if (o > 0 && cmp_pattern(&rd->pats[o - 1], &rd->pats[i]) == 0) {
			free(rd->pats[i].text);
			continue;
		}
		rd->pats[o++] = rd->pats[i];
	}
	rd->n_pats = o;

	rd->index = calloc(rd->n_pats, sizeof(*rd->index));
	rd->literals = calloc(rd->n_pats, sizeof(*rd->literals));
	if (!rd->index || !rd->literals)
		return -ENOMEM;
	for (size_t i = 0; i < rd->n_pats; i++) {
		const struct pattern *p = &rd->pats[i];

		if (p->kind == PAT_LITERAL) {
			rd->literals[rd->n_literals++] = i;
			continue;
		}
		rd->index[rd->n_index].hash = pattern_key(p, &words);
		rd->index[rd->n_index].pat = i;
		rd->n_index++;
		if (words > rd->max_words)
			rd->max_words = words;
	}
	qsort(rd->index, rd->n_index, sizeof(*rd->index), cmp_index);
	rd->has_word_count = calloc(rd->max_words + 1, sizeof(*rd->has_word_count));
	if (!rd->has_word_count)
		return -ENOMEM;
	for (size_t i = 0; i < rd->n_index; i++) {
		pattern_key(&rd->pats[rd->index[i].pat], &words);
		rd->has_word_count[words] = true;
	}
	return 0;
}

struct policy_redactor *policy_redact_new(const struct proto_roster *const *rosters, size_t n)
{
	struct policy_redactor *rd = calloc(1, sizeof(*rd));

	if (!rd)
		return NULL;
	for (size_t r = 0; r < n; r++) {
		if (!rosters[r])
			continue;
		for (size_t m = 0; m < rosters[r]->n_members; m++)
			if (add_member(rd, &rosters[r]->members[m]) != 0)
				goto fail;
	}
	if (build_index(rd) != 0)
		goto fail;
	return rd;
fail:
	policy_redact_free(rd);
	return NULL;
}

void policy_redact_free(struct policy_redactor *rd)
{
	if (!rd)
		return;
	for (size_t i = 0; i < rd->n_pats; i++)
		free(rd->pats[i].text);
	free(rd->pats);
	free(rd->index);
	free(rd->literals);
	free(rd->has_word_count);
	free(rd);
}

size_t policy_redact_patterns(const struct policy_redactor *rd)
{
	return rd ? rd->n_pats : 0;
}

/* End of a PAT_WORDS match starting at @pos (a word start), or 0 when it does not match. */
static size_t match_words(const struct pattern *p, const uint8_t *f, size_t len, size_t pos)
{
	size_t t = pos;

	for (size_t j = 0; j < p->len; j++) {
		if (p->text[j] == ' ') {
			size_t s = t;

			while (t < len && !is_word(f[t]))
				t++;
			if (t == s)
				return 0;
			continue;
		}
		if (t >= len || f[t] != p->text[j])
			return 0;
		t++;
	}
	if (t < len && is_word(f[t]))
		return 0;
	return t;
}

/* Hide the source bytes of normalised bytes [s, e) (e > s). */
static void mark(const struct norm *t, uint8_t *mask, size_t s, size_t e)
{
	size_t from = t->from[s], to = t->to[e - 1];

	memset(mask + from, 1, to - from);
}

/*
 * A PAT_EXACT match at [ms, me): hide the whole host name around it, and the whole address
 * when the host follows an '@'. Leading and trailing dots/hyphens belong to the sentence
 * ("see mail.cert.example.") and stay visible.
 */
static void mark_exact(const struct norm *t, uint8_t *mask, size_t ms, size_t me)
{
	const uint8_t *f = t->b;
	size_t hs = ms, he = me;

	while (hs > 0 && is_host(f[hs - 1]))
		hs--;
	while (hs < ms && !is_word(f[hs]))
		hs++;
	while (he < t->len && is_host(f[he]))
		he++;
	while (he > me && !is_word(f[he - 1]))
		he--;
	if (hs > 0 && f[hs - 1] == '@') {
		hs--;
		while (hs > 0 && is_local(f[hs - 1]))
			hs--;
	}
	mark(t, mask, hs, he);
}

static size_t index_lower_bound(const struct policy_redactor *rd, uint64_t h)
{
	size_t lo = 0, hi = rd->n_index;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (rd->index[mid].hash < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Try every pattern whose key is @h at the word starting at @i. */
static void try_bucket(const struct policy_redactor *rd, const struct norm *t, uint8_t *mask,
		       size_t i, uint64_t h)
{
	const uint8_t *f = t->b;
	size_t len = t->len;

	for (size_t k = index_lower_bound(rd, h); k < rd->n_index && rd->index[k].hash == h; k++) {
		const struct pattern *p = &rd->pats[rd->index[k].pat];

		if (p->kind == PAT_WORDS) {
			size_t end = match_words(p, f, len, i);

			if (end)
				mark(t, mask, i, end);
		} else if (p->len <= len - i && memcmp(f + i, p->text, p->len) == 0 &&
			   (i + p->len == len || !is_word(f[i + p->len]))) {
			mark_exact(t, mask, i, i + p->len);
		}
	}
}

static void scan(const struct policy_redactor *rd, const struct norm *t, uint8_t *mask)
{
	static const uint8_t space = ' ';
	const uint8_t *f = t->b;
	size_t len = t->len;

	for (size_t i = 0; i < len;) {
		size_t first_end = i, w = i;
		uint64_t h = HASH_INIT;

		if (!is_word(f[i])) {
			i++;
			continue;
		}
		/* Keys of the runs of 1, 2, ... max_words words starting here. */
		for (size_t k = 1; k <= rd->max_words; k++) {
			size_t e = w;

			while (e < len && is_word(f[e]))
				e++;
			if (k == 1)
				first_end = e;
			else
				h = hash_update(h, &space, 1);
			h = hash_update(h, f + w, e - w);
			if (rd->has_word_count[k])
				try_bucket(rd, t, mask, i, h);
			w = e;
			while (w < len && !is_word(f[w]))
				w++;
			if (w == len)
				break;
		}
		i = first_end;
	}
	for (size_t k = 0; k < rd->n_literals; k++) {
		const struct pattern *p = &rd->pats[rd->literals[k]];

		for (size_t i = 0; p->len <= len && i <= len - p->len; i++) {
			size_t s = i, e = i + p->len;

			if (memcmp(f + i, p->text, p->len) != 0)
				continue;
			/*
			 * A literal may start or end inside a word; hiding only its bytes would cut
			 * that word and make its remainder look like a word of its own, so the
			 * words it touches are hidden with it.
			 */
			while (s > 0 && is_word(f[s - 1]))
				s--;
			while (e < len && is_word(f[e]))
				e++;
			mark(t, mask, s, e);
		}
	}
}

int policy_redact_text(const struct policy_redactor *rd, const char *in, size_t len, char *out,
		       size_t cap, size_t *out_len, size_t *n_redacted)
{
	const uint8_t *src = (const uint8_t *)in;
	struct norm t = {0};
	uint8_t *mask = NULL;
	size_t o = 0, nred = 0;
	int rc = 0;

	if (cap > 0)
		out[0] = '\0';
	if (out_len)
		*out_len = 0;
	if (n_redacted)
		*n_redacted = 0;
	if (len > 0 && rd && rd->n_pats > 0) {
		t.b = malloc(len);
		t.from = malloc(len * sizeof(*t.from));
		t.to = malloc(len * sizeof(*t.to));
		mask = calloc(len, 1);
		if (!t.b || !t.from || !t.to || !mask) {
			rc = -ENOMEM;
			goto out;
		}
		t.len = normalize(src, len, t.b, t.from, t.to);
		scan(rd, &t, mask);
	}
	for (size_t i = 0; i < len;) {
		if (mask && mask[i]) {
			while (i < len && mask[i])
				i++;
			if (cap < POLICY_REDACT_TOKEN_LEN + 1 ||
			    o > cap - POLICY_REDACT_TOKEN_LEN - 1)
				goto nospace;
			memcpy(out + o, POLICY_REDACT_TOKEN, POLICY_REDACT_TOKEN_LEN);
			o += POLICY_REDACT_TOKEN_LEN;
			nred++;
		} else {
			if (o + 1 >= cap)
				goto nospace;
			out[o++] = (char)src[i++];
		}
	}
	if (cap == 0)
		goto nospace;
	out[o] = '\0';
	if (out_len)
		*out_len = o;
	if (n_redacted)
		*n_redacted = nred;
	goto out;
nospace:
	if (cap > 0)
		out[0] = '\0';
	rc = -ENOSPC;
out:
	free(t.b);
	free(t.from);
	free(t.to);
	free(mask);
	return rc;
}
