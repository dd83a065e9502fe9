/* SPDX-License-Identifier: MIT */
/*
 * The leak oracle of the integration tests (tests/tools/leakcheck.h). It shares only the
 * skeleton with the product: the search below is a naive one over every boundary of the
 * output, so that a fault in the redactor's index, prefilter or fast path cannot hide a
 * leak from it.
 */
#include "leakcheck.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/skeleton.h"

#define CHUNK (1u << 20) /* bytes mapped at once: a skeleton costs ~21 bytes a code point */
#define SHORT 4		 /* names and hosts shorter than this need separators around them */
#define GLUED 16	 /* a hex prefix this long ends anywhere (policy/redact.c KEY_GLUED_MIN) */
#define HEX_MIN 8	 /* digits of the shortest key prefix the redactor hides */
#define B64_MIN 16	 /* characters of the shortest base64 prefix it hides */
#define DOT_VARIANTS 6	 /* a host's dots spelled "dot" in every combination, up to 2^6 */

struct pattern {
	char *label;
	uint32_t *cp;
	size_t n;
	size_t min; /* LEAKCHECK_HEX, _B64: code points of the shortest prefix that counts */
	enum leakcheck_kind kind;
};

struct leakcheck {
	const struct policy_skeleton *sk;
	struct pattern *p;
	size_t n, cap;
	uint32_t s, e, ox[2]; /* the skeletons of "s", "e" and "0x" */
};

/* The skeleton of @len bytes at @s as one array of code points (malloc'd; NULL, *@n 0 when
 * it has none or memory ran out). */
static uint32_t *skel_of(const struct leakcheck *lc, const char *s, size_t len, size_t *n)
{
	struct policy_skel_text t = {0};
	uint32_t *cp = NULL;

	*n = 0;
	if (policy_skeleton_map(lc->sk, s, len, 0, 0, &t) == 0 && t.len > 0) {
		cp = malloc(t.len * sizeof(*cp));
		if (cp) {
			memcpy(cp, t.cp, t.len * sizeof(*cp));
			*n = t.len;
		}
	}
	policy_skel_text_deinit(&t);
	return cp;
}

static uint32_t skel_one(const struct leakcheck *lc, const char *s)
{
	size_t n;
	uint32_t *cp = skel_of(lc, s, strlen(s), &n), r = n == 1 ? cp[0] : 0;

	free(cp);
	return r;
}

struct leakcheck *leakcheck_new(void)
{
	struct leakcheck *lc = calloc(1, sizeof(*lc));
	size_t n = 0;
	uint32_t *ox;

	if (!lc)
		return NULL;
	lc->sk = policy_skeleton_shared();
	if (!lc->sk) {
		free(lc);
		return NULL;
	}
	lc->s = skel_one(lc, "s");
	lc->e = skel_one(lc, "e");
	ox = skel_of(lc, "0x", 2, &n);
	if (!lc->s || !lc->e || n != 2) {
		free(ox);
		free(lc);
		return NULL;
	}
	memcpy(lc->ox, ox, sizeof(lc->ox));
	free(ox);
	return lc;
}

void leakcheck_free(struct leakcheck *lc)
{
	if (!lc)
		return;
	for (size_t i = 0; i < lc->n; i++) {
		free(lc->p[i].label);
		free(lc->p[i].cp);
	}
	free(lc->p);
	free(lc);
}

size_t leakcheck_patterns(const struct leakcheck *lc)
{
	return lc->n;
}

/* Add the skeleton of @len bytes at @s; -EINVAL when it has none. */
static int add_one(struct leakcheck *lc, enum leakcheck_kind kind, const char *label, const char *s,
		   size_t len, size_t min)
{
	struct pattern *p;

	if (lc->n == lc->cap) {
		size_t cap = lc->cap ? 2 * lc->cap : 32;
		p = realloc(lc->p, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		lc->p = p;
		lc->cap = cap;
	}
	p = &lc->p[lc->n];
	*p = (struct pattern){.kind = kind, .min = min};
	p->cp = skel_of(lc, s, len, &p->n);
	if (!p->cp)
		return len ? -EINVAL : -ENOMEM;
	p->label = strdup(label);
	if (!p->label) {
		free(p->cp);
		return -ENOMEM;
	}
	if (!p->min || p->min > p->n)
		p->min = p->n;
	lc->n++;
	return 0;
}

/* A host and its spellings with "dot" for any combination of its (first DOT_VARIANTS) dots. */
static int add_host(struct leakcheck *lc, const char *label, const char *host)
{
	size_t len = strlen(host), dots = 0;
	char *buf;
	int r = 0;

	while (len > 1 && (host[0] == '*' || host[0] == '.')) {
		host++;
		len--;
	}
	for (size_t i = 0; i < len; i++)
		dots += host[i] == '.';
	if (dots > DOT_VARIANTS)
		dots = DOT_VARIANTS;
	buf = malloc(len * 5 + 1);
	if (!buf)
		return -ENOMEM;
	for (unsigned mask = 0; r == 0 && mask < 1u << dots; mask++) {
		size_t o = 0, d = 0;

		for (size_t i = 0; i < len; i++) {
			if (host[i] == '.' && d < DOT_VARIANTS && (mask >> d++ & 1)) {
				memcpy(buf + o, " dot ", 5);
				o += 5;
			} else {
				buf[o++] = host[i];
			}
		}
		r = add_one(lc, LEAKCHECK_HOST, label, buf, o, 0);
	}
	free(buf);
	return r;
}

int leakcheck_add(struct leakcheck *lc, enum leakcheck_kind kind, const char *label,
		  const char *text)
{
	size_t len = strlen(text), n_min = 0;
	uint32_t *cp;

	switch (kind) {
	case LEAKCHECK_NAME:
		return add_one(lc, kind, label, text, len, 0);
	case LEAKCHECK_HOST:
		return add_host(lc, label, text);
	case LEAKCHECK_HEX:
		if (len < HEX_MIN || strspn(text, "0123456789abcdefABCDEF") != len)
			return -EINVAL;
		return add_one(lc, kind, label, text, len, HEX_MIN);
	case LEAKCHECK_B64:
		while (len > 0 && text[len - 1] == '=')
			len--;
		if (len < B64_MIN)
			return -EINVAL;
		/* '+', '/', '-', '_' are separators: the prefix's skeleton is shorter than 16. */
		cp = skel_of(lc, text, B64_MIN, &n_min);
		free(cp);
		if (!n_min)
			return -EINVAL;
		return add_one(lc, kind, label, text, len, n_min);
	}
	return -EINVAL;
}

/* ------------------------------------------------------------------ search */

struct hits {
	struct leakcheck_hit *h;
	size_t max, n;
};

static void record(struct hits *out, const char *label, size_t from, size_t to)
{
	for (size_t i = 0; i < out->n && i < out->max; i++)
		if (out->h[i].label == label && out->h[i].from == from)
			return; /* the other reading, or the overlap of two pieces */
	if (out->n < out->max)
		out->h[out->n] = (struct leakcheck_hit){label, from, to};
	out->n++;
}

/* Where pattern @p matched at code point @i of @t ends (exclusive), or 0 for no match. */
static size_t match(const struct leakcheck *lc, const struct pattern *p,
		    const struct policy_skel_text *t, size_t i)
{
	const uint32_t *c = t->cp + i;
	const uint8_t *b = t->bnd + i;
	size_t room = t->len - i, k = 0;

	switch (p->kind) {
	case LEAKCHECK_NAME:
	case LEAKCHECK_HOST:
		if (room < p->n || memcmp(c, p->cp, p->n * sizeof(*c)))
			return 0;
		if (p->n < SHORT)
			return b[0] == POLICY_SKEL_HARD && b[p->n] == POLICY_SKEL_HARD ? i + p->n
										       : 0;
		if (b[0] == POLICY_SKEL_NONE)
			return 0;
		if (b[p->n] != POLICY_SKEL_NONE)
			return i + p->n;
		if (p->kind == LEAKCHECK_HOST)
			return 0;
		if (room > p->n && c[p->n] == lc->s && b[p->n + 1] != POLICY_SKEL_NONE)
			return i + p->n + 1;
		if (room > p->n + 1 && c[p->n] == lc->e && c[p->n + 1] == lc->s &&
		    b[p->n + 2] != POLICY_SKEL_NONE)
			return i + p->n + 2;
		return 0;
	case LEAKCHECK_HEX:
		if (b[0] == POLICY_SKEL_NONE &&
		    !(i >= 2 && t->cp[i - 2] == lc->ox[0] && t->cp[i - 1] == lc->ox[1] &&
		      t->bnd[i - 2] != POLICY_SKEL_NONE))
			return 0;
		while (k < room && k < p->n && c[k] == p->cp[k])
			k++;
		if (k >= p->min && k >= GLUED)
			return i + k;
		for (; k >= p->min; k--)
			if (b[k] == POLICY_SKEL_HARD)
				return i + k;
		return 0;
	case LEAKCHECK_B64:
		if (b[0] == POLICY_SKEL_NONE)
			return 0;
		while (k < room && k < p->n && c[k] == p->cp[k])
			k++;
		return k >= p->min ? i + k : 0;
	}
	return 0;
}

static void search(const struct leakcheck *lc, const struct policy_skel_text *t, size_t base,
		   struct hits *out)
{
	for (size_t i = 0; i < t->len; i++) {
		/* Every match starts at a boundary, or (a key in hex) right after "0x". */
		if (t->bnd[i] == POLICY_SKEL_NONE &&
		    !(i >= 2 && t->cp[i - 2] == lc->ox[0] && t->cp[i - 1] == lc->ox[1]))
			continue;
		for (size_t j = 0; j < lc->n; j++) {
			const struct pattern *p = &lc->p[j];
			size_t end;

			if (t->cp[i] != p->cp[0])
				continue;
			end = match(lc, p, t, i);
			if (end)
				record(out, p->label, base + t->from[i], base + t->to[end - 1]);
		}
	}
}

/* Length of the UTF-8 sequence at @s (at most @n bytes), 0 when it is not well-formed. */
static size_t utf8_len(const uint8_t *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		len = 2, cp = s[0] & 0x1F;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		len = 3, cp = s[0] & 0x0F;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return len;
}

/* Bytes that are not UTF-8, and NULs, become spaces (separators), in place. */
static void sanitize(uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t k = utf8_len(s + i, n - i);

		if (k == 0 || s[i] == 0) {
			s[i++] = ' ';
			continue;
		}
		i += k;
	}
}

static bool is_cut(uint8_t c)
{
	return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

long leakcheck_scan(const struct leakcheck *lc, const char *data, size_t len,
		    struct leakcheck_hit *hits, size_t max)
{
	struct hits out = {hits, max, 0};
	uint8_t *buf = malloc(len < CHUNK ? len + 1 : CHUNK);
	size_t pos = 0;

	if (!buf)
		return -ENOMEM;
	while (pos < len) {
		struct policy_skel_text t = {0};
		size_t end = len, next;
		int r;

		if (len - pos > CHUNK) {
			/* End after a separator in the last quarter, else anywhere. */
			end = pos + CHUNK;
			for (size_t k = end; k > pos + CHUNK / 4 * 3; k--)
				if (is_cut((uint8_t)data[k - 1])) {
					end = k;
					break;
				}
		}
		memcpy(buf, data + pos, end - pos);
		sanitize(buf, end - pos);
		r = policy_skeleton_map(lc->sk, (const char *)buf, end - pos, 0, 0, &t);
		if (r == 0)
			search(lc, &t, pos, &out);
		if (r == 0 && t.n_decoded > 0) {
			policy_skel_text_deinit(&t);
			r = policy_skeleton_map(lc->sk, (const char *)buf, end - pos, 0,
						POLICY_SKEL_PLAIN, &t);
			if (r == 0)
				search(lc, &t, pos, &out);
		}
		policy_skel_text_deinit(&t);
		if (r < 0) {
			free(buf);
			return r;
		}
		if (end == len)
			break;
		/* The next piece starts after a separator within LEAKCHECK_SPAN of this end. */
		next = end - LEAKCHECK_SPAN;
		while (next < end && !is_cut((uint8_t)data[next]))
			next++;
		pos = next < end ? next + 1 : end;
	}
	free(buf);
	if (out.n > 1) {
		size_t n = out.n < max ? out.n : max;

		for (size_t i = 1; i < n; i++)
			for (size_t j = i; j > 0 && hits[j - 1].from > hits[j].from; j--) {
				struct leakcheck_hit x = hits[j];
				hits[j] = hits[j - 1];
				hits[j - 1] = x;
			}
	}
	return (long)out.n;
}
