/* SPDX-License-Identifier: MIT */
/*
 * A dense DFA: every state has a row of one column per symbol (each code point plain ASCII
 * gives: 'a'-'z' without 'i', '2'-'9'), one for a separator (the state stays: the skeleton
 * ignores separators) and one for a byte that policy_skeleton_ascii() must read further
 * (the state goes to DEAD, and the reader asks policy_skeleton_ascii_sep()). Rows hold the
 * next state's row offset, so a step is one load and an add; states where some pattern
 * start ends (on the state itself or on its chain of failure links) are numbered last, so
 * one comparison tells that there is something to look at. A byte costs a table lookup, a
 * row lookup and a compare, whatever the roster: text that names nobody, nearly all of it,
 * is read once and never looked up again.
 *
 * Pairs: policy_redact_fields() also reads the tail of each field followed by the head of
 * each field that does not follow it. The state at a field's end stands for the longest of
 * its suffixes that starts a pattern (every shorter such suffix is on its failure chain), so
 * running on from there over another field's head finds every pattern start that crosses
 * from the one into the other; once the state's depth is no more than what was read of the
 * head, the suffix lies wholly in the head and nothing further can start in the tail.
 *
 * Memory: one row of 4-byte entries per state, about 140 bytes; a state per distinct pattern
 * prefix (~90,000 for 500 members with 3 aliases, 2 domains and 3 keys each).
 */
#include "policy/redact_ac.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NO_STATE UINT32_MAX

struct policy_redact_ac {
	const struct policy_skeleton *sk;
	uint32_t *delta;       /* [state * w + column]: the next state * w */
	uint32_t w;	       /* columns: the symbols, then SEP, then SLOW */
	uint32_t out_min;      /* states * w at or above this: a start ends there, or DEAD */
	uint32_t dead;	       /* DEAD * w */
	uint16_t *depth;       /* per state: code points of the prefix it stands for */
	uint16_t *tdepth;      /* per state: depth of the deepest start ending there, 0 for none */
	uint32_t *dict;	       /* per state: the next state on its failure chain where one ends */
	size_t n_states;       /* DEAD included */
	uint8_t byte_col[256]; /* each byte's column */
	uint8_t cp_col[256];   /* each code point's column (SLOW for none) */
};

/* The trie being built: child table (0: none; the root, 0, is nobody's child), ends. */
struct trie {
	uint32_t *ch;
	uint8_t *end;
	size_t n, cap, ns;
};

static int trie_node(struct trie *t)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 1024;
		uint32_t *ch = realloc(t->ch, cap * t->ns * sizeof(*ch));
		uint8_t *end;

		if (!ch)
			return -ENOMEM;
		t->ch = ch;
		end = realloc(t->end, cap);
		if (!end)
			return -ENOMEM;
		t->end = end;
		t->cap = cap;
	}
	memset(t->ch + t->n * t->ns, 0, t->ns * sizeof(*t->ch));
	t->end[t->n] = 0;
	t->n++;
	return 0;
}

/* Add the start of one pattern (its code points as columns in @c, @len of them). */
static int trie_add(struct trie *t, const uint8_t *c, size_t len)
{
	uint32_t u = 0;

	for (size_t i = 0; i < len; i++) {
		uint32_t v = t->ch[u * t->ns + c[i]];

		if (!v) {
			if (trie_node(t) < 0)
				return -ENOMEM;
			v = (uint32_t)(t->n - 1);
			t->ch[u * t->ns + c[i]] = v;
		}
		u = v;
	}
	t->end[u] = 1;
	return 0;
}

void policy_redact_ac_free(struct policy_redact_ac *ac)
{
	if (!ac)
		return;
	free(ac->delta);
	free(ac->depth);
	free(ac->tdepth);
	free(ac->dict);
	free(ac);
}

size_t policy_redact_ac_size(const struct policy_redact_ac *ac, size_t *states)
{
	if (states)
		*states = ac ? ac->n_states : 0;
	if (!ac)
		return 0;
	return sizeof(*ac) + ac->n_states * (ac->w * sizeof(*ac->delta) + 2 * sizeof(uint16_t) +
					     sizeof(uint32_t));
}

/* The columns: one per code point that plain ASCII gives, in code point order. */
static size_t columns(struct policy_redact_ac *ac)
{
	size_t ns = 0;
	int cp_of[256];

	for (unsigned c = 0; c < 256; c++)
		ac->cp_col[c] = 0xFF;
	for (unsigned b = 0; b < 256; b++) {
		cp_of[b] = policy_skeleton_ascii_class(ac->sk, (uint8_t)b);
		if (cp_of[b] > 0)
			ac->cp_col[cp_of[b]] = 0;
	}
	for (unsigned c = 0; c < 128; c++)
		if (ac->cp_col[c] == 0)
			ac->cp_col[c] = (uint8_t)ns++;
	for (unsigned c = 0; c < 256; c++)
		if (ac->cp_col[c] == 0xFF)
			ac->cp_col[c] = (uint8_t)(ns + 1);
	for (unsigned b = 0; b < 256; b++)
		ac->byte_col[b] = (uint8_t)(cp_of[b] > 0    ? ac->cp_col[cp_of[b]]
					    : cp_of[b] == 0 ? ns
							    : ns + 1);
	return ns;
}

/*
 * Failure links and the full transition function, in breadth-first order (a state's failure
 * target is shallower, so its row is complete when it is read), then the states renumbered
 * so that those where a start ends come last, and the final table.
 */
static int finish(struct policy_redact_ac *ac, struct trie *t)
{
	size_t n = t->n, ns = t->ns, head = 0, tail = 1, o;
	uint32_t *queue = malloc(n * sizeof(*queue)), *fail = calloc(n, sizeof(*fail));
	uint32_t *dict = malloc(n * sizeof(*dict)), *num = malloc(n * sizeof(*num));
	uint16_t *depth = calloc(n, sizeof(*depth));
	int rc = -ENOMEM;

	if (!queue || !fail || !dict || !num || !depth)
		goto out;
	queue[0] = 0;
	dict[0] = NO_STATE;
	while (head < tail) {
		uint32_t u = queue[head++];

		for (size_t c = 0; c < ns; c++) {
			uint32_t v = t->ch[u * ns + c];

			if (v) {
				fail[v] = u == 0 ? 0 : t->ch[fail[u] * ns + c];
				depth[v] = (uint16_t)(depth[u] + 1);
				dict[v] = t->end[fail[v]] ? fail[v] : dict[fail[v]];
				queue[tail++] = v;
			} else {
				t->ch[u * ns + c] = u == 0 ? 0 : t->ch[fail[u] * ns + c];
			}
		}
	}
	/* no start ends at the root: states without one first (the root stays 0), then the rest */
	o = 0;
	for (size_t k = 0; k < n; k++)
		if (!t->end[queue[k]] && dict[queue[k]] == NO_STATE)
			num[queue[k]] = (uint32_t)o++;
	ac->n_states = n + 1;
	ac->w = (uint32_t)ns + 2;
	ac->out_min = (uint32_t)o * ac->w;
	for (size_t k = 0; k < n; k++)
		if (t->end[queue[k]] || dict[queue[k]] != NO_STATE)
			num[queue[k]] = (uint32_t)o++;
	ac->dead = (uint32_t)n * ac->w;
	ac->delta = malloc(ac->n_states * ac->w * sizeof(*ac->delta));
	ac->depth = malloc(ac->n_states * sizeof(*ac->depth));
	ac->tdepth = malloc(ac->n_states * sizeof(*ac->tdepth));
	ac->dict = malloc(ac->n_states * sizeof(*ac->dict));
	if (!ac->delta || !ac->depth || !ac->tdepth || !ac->dict)
		goto out;
	for (size_t u = 0; u < n; u++) {
		uint32_t *row = ac->delta + (size_t)num[u] * ac->w;
		uint32_t d = dict[u];

		for (size_t c = 0; c < ns; c++)
			row[c] = num[t->ch[u * ns + c]] * ac->w;
		row[ns] = num[u] * ac->w;
		row[ns + 1] = ac->dead;
		ac->depth[num[u]] = depth[u];
		ac->dict[num[u]] = d == NO_STATE ? NO_STATE : num[d];
		ac->tdepth[num[u]] = t->end[u] ? depth[u] : d == NO_STATE ? 0 : depth[d];
	}
	for (size_t c = 0; c < ac->w; c++)
		ac->delta[(size_t)n * ac->w + c] = ac->dead;
	ac->depth[n] = 0;
	ac->tdepth[n] = 0;
	ac->dict[n] = NO_STATE;
	rc = 0;
out:
	free(queue);
	free(fail);
	free(dict);
	free(num);
	free(depth);
	return rc;
}

struct policy_redact_ac *policy_redact_ac_new(const struct policy_skeleton *sk,
					      const uint32_t *const *s, const size_t *len, size_t n)
{
	struct policy_redact_ac *ac = calloc(1, sizeof(*ac));
	struct trie t = {0};

	if (!ac)
		return NULL;
	ac->sk = sk;
	t.ns = columns(ac);
	if (trie_node(&t) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		uint8_t c[POLICY_REDACT_AC_DEPTH];
		size_t m = len[i] < POLICY_REDACT_AC_DEPTH ? len[i] : POLICY_REDACT_AC_DEPTH, k;

		for (k = 0; k < m && s[i][k] < 128 && ac->cp_col[s[i][k]] < t.ns; k++)
			c[k] = ac->cp_col[s[i][k]];
		/* a code point plain ASCII never gives: the pattern never occurs in such text */
		if (k < m || m == 0)
			continue;
		if (trie_add(&t, c, m) < 0)
			goto fail;
	}
	if (finish(ac, &t) < 0)
		goto fail;
	free(t.ch);
	free(t.end);
	return ac;
fail:
	free(t.ch);
	free(t.end);
	policy_redact_ac_free(ac);
	return NULL;
}

/*
 * Run on from state @st (a field's end) over the head of field @in (@len bytes, already read
 * once without refusal): whether a start that began before the head ends in it.
 */
static bool cross_bytes(const struct policy_redact_ac *ac, uint32_t st, const uint8_t *in,
			size_t len)
{
	size_t k = 0;

	for (size_t i = 0; i < len && ac->depth[st / ac->w] > k; i++) {
		uint32_t c = ac->byte_col[in[i]];

		if (c == ac->w - 2)
			continue; /* a separator */
		if (c == ac->w - 1) {
			i += policy_skeleton_ascii_sep(ac->sk, (const char *)in + i, len - i) - 1;
			continue;
		}
		st = ac->delta[st + c];
		if (ac->tdepth[st / ac->w] > ++k)
			return true;
	}
	return false;
}

int policy_redact_ac_bytes(const struct policy_redact_ac *ac, const char *const *s,
			   const size_t *len, size_t n)
{
	const uint32_t *delta = ac->delta, out_min = ac->out_min;
	const uint8_t *col = ac->byte_col;
	uint32_t end[POLICY_REDACT_AC_FIELDS], st = 0;

	if (n > POLICY_REDACT_AC_FIELDS)
		return -1;
	for (size_t f = 0; f < n; f++) {
		const uint8_t *in = (const uint8_t *)s[f], *p = in, *e = in + len[f];

		while (p < e) {
			uint32_t nx;
			size_t k;

			/* four steps at a time while nothing is found (nearly always) */
			while (e - p >= 4) {
				uint32_t a = delta[st + col[p[0]]], b, c, d;

				if (a >= out_min)
					break;
				b = delta[a + col[p[1]]];
				if (b >= out_min)
					break;
				c = delta[b + col[p[2]]];
				if (c >= out_min)
					break;
				d = delta[c + col[p[3]]];
				if (d >= out_min)
					break;
				st = d;
				p += 4;
			}
			if (p == e)
				break;
			nx = delta[st + col[*p]];

			if (__builtin_expect(nx < out_min, 1)) {
				st = nx;
				p++;
				continue;
			}
			if (nx != ac->dead)
				return 1;
			k = policy_skeleton_ascii_sep(ac->sk, (const char *)p, (size_t)(e - p));
			if (k == 0)
				return -1;
			p += k;
		}
		end[f] = st;
	}
	/* a field without code points ends where the one before it ended: more pairs, no fewer */
	for (size_t a = 0; a < n; a++) {
		if (end[a] == 0)
			continue;
		for (size_t b = 0; b < n; b++)
			if (b != a && b != a + 1 &&
			    cross_bytes(ac, end[a], (const uint8_t *)s[b], len[b]))
				return 1;
	}
	return 0;
}

/* cross_bytes() over a reading's code points. */
static bool cross_cps(const struct policy_redact_ac *ac, uint32_t st, const uint8_t *cp, size_t len)
{
	for (size_t k = 0; k < len && ac->depth[st / ac->w] > k; k++) {
		st = ac->delta[st + ac->cp_col[cp[k]]];
		if (ac->tdepth[st / ac->w] > k + 1 || st == ac->dead)
			return true;
	}
	return false;
}

size_t policy_redact_ac_cps(const struct policy_redact_ac *ac, const uint8_t *cp, const size_t *fs,
			    const size_t *fe, size_t n, size_t *start, size_t cap, bool *crossing)
{
	const uint32_t *delta = ac->delta, out_min = ac->out_min;
	const uint8_t *col = ac->cp_col;
	uint32_t end[POLICY_REDACT_AC_FIELDS], st = 0;
	size_t m = 0;

	*crossing = true;
	if (n > POLICY_REDACT_AC_FIELDS)
		return 0;
	for (size_t f = 0; f < n; f++) {
		for (size_t j = fs[f]; j < fe[f]; j++) {
			uint32_t u;

			st = delta[st + col[cp[j]]];
			if (__builtin_expect(st < out_min, 1))
				continue;
			if (st == ac->dead)
				return m;
			/* every start that ends here: the state's own, then down its chain */
			u = st / ac->w;
			if (ac->tdepth[u] != ac->depth[u])
				u = ac->dict[u];
			for (; u != NO_STATE; u = ac->dict[u]) {
				size_t b = j + 1 - ac->depth[u], k = m;

				if (b < fs[f])
					return m;
				/* insert in order, once (few: they end in order, begin nearly so) */
				while (k > 0 && start[k - 1] > b)
					k--;
				if (k > 0 && start[k - 1] == b)
					continue;
				if (m == cap)
					return m;
				memmove(start + k + 1, start + k, (m - k) * sizeof(*start));
				start[k] = b;
				m++;
			}
		}
		end[f] = st;
	}
	/* a field without code points ends where the one before it ended: more pairs, no fewer */
	for (size_t a = 0; a < n; a++) {
		if (end[a] == 0)
			continue;
		for (size_t b = 0; b < n; b++)
			if (b != a && b != a + 1 &&
			    cross_cps(ac, end[a], cp + fs[b], fe[b] - fs[b]))
				return m;
	}
	*crossing = false;
	return m;
}
