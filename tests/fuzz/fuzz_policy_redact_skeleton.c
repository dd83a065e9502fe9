/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness: the redactor against hostile spellings (policy/redact.h, policy/skeleton.h).
 * Structure-aware: the input is a roster and a script that writes a text out of filler
 * bytes and members' names, aliases and domains, each spelled through transformations an
 * evader would use (case changes, separators between letters, zero-width characters and
 * soft hyphens, Cyrillic/Greek lookalikes, HTML entities and tags, percent-encoding,
 * full-width forms, defanged dots, plurals and possessives).
 *
 * Input: one byte (member count 1..4), per member three NUL-terminated strings (name,
 * alias, domain), then ops until the input ends: 0 LEN BYTES... (filler), 1 M T (member
 * M's name with transformation bits T), 2 M T (alias), 3 M T (domain).
 *
 * Oracle: no member skeleton appears in the output skeleton. For every name, alias and
 * domain whose skeleton has at least 4 code points, the output is mapped with
 * policy_skeleton_map() and searched naively (independently of the redactor's index and
 * prefilter) for that skeleton starting and ending at a word boundary; a hit aborts. So do
 * an error other than -ENOMEM and a dropped text with a non-empty output.
 * Second oracle (tests/fuzz/redact_paths.h, shared with fuzz_policy_redact_paths): the
 * text cut into fields at each 0x1E byte gives exactly the same outputs, token counts and
 * drops through every path of policy_redact_fields() (memo off and on, fast only, quick
 * only) as through policy_redact_fields_full() (policy/redact_test.h); where the quick check
 * (policy_redact_quick()) says those fields name nobody, the full path redacts nothing in
 * them and policy_redact_names_fields() finds no member.
 * Third oracle: every lane of the first look that the CPU has (SSE2, AVX2) and its byte loop
 * (policy_skeleton_look_with()) give the same result on those fields, with a filter of the
 * members' strings.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/redact.h"
#include "policy/redact_test.h"
#include "policy/skeleton.h"
#include "proto/roster.h"
#include "fuzz_input.h"
#include "redact_paths.h"

#define MAX_MEMBERS 4
#define STR_MAX 48
#define TEXT_MAX 4096

struct text {
	char b[TEXT_MAX];
	size_t len;
};

static void put(struct text *t, const char *s, size_t n)
{
	if (t->len + n > TEXT_MAX)
		n = TEXT_MAX - t->len;
	memcpy(t->b + t->len, s, n);
	t->len += n;
}

static void puts_(struct text *t, const char *s)
{
	put(t, s, strlen(s));
}

/* Lookalikes of ASCII letters (UTF-8), the first of a few the TR39 data maps to them. */
static const char *lookalike(char c)
{
	switch (c) {
	case 'a':
		return "\xd0\xb0"; /* Cyrillic a */
	case 'c':
		return "\xd1\x81";
	case 'e':
		return "\xd0\xb5";
	case 'o':
		return "\xce\xbf"; /* Greek omicron */
	case 'p':
		return "\xd1\x80";
	case 'x':
		return "\xd1\x85";
	case 'A':
		return "\xce\x91";
	case 'B':
		return "\xce\x92";
	case 'E':
		return "\xd0\x95";
	case 'T':
		return "\xce\xa4";
	case 'O':
		return "\xd0\x9e";
	case 'l':
		return "1";
	}
	return NULL;
}

enum {
	T_CASE = 1,	/* flip ASCII case of every other letter */
	T_SEP = 2,	/* a separator after every letter */
	T_INVIS = 4,	/* zero-width / soft hyphen after every letter */
	T_LOOK = 8,	/* lookalikes */
	T_ENTITY = 16,	/* every other letter as &#NN; or %XX */
	T_TAG = 32,	/* wrapped in <b>...</b> */
	T_WIDE = 64,	/* full-width forms */
	T_SUFFIX = 128, /* "'s" or "s" after it */
};

static void spell(struct text *t, const char *s, uint8_t tr, bool domain)
{
	static const char *const seps[] = {".", " ", "-", "_", "/"};
	static const char *const invis[] = {"\xe2\x80\x8b", "\xc2\xad", "\xe2\x80\x8d",
					    "\xe2\x81\xa0"};
	size_t n = strlen(s);

	if (tr & T_TAG)
		puts_(t, "<b>");
	for (size_t i = 0; i < n; i++) {
		char c = s[i], buf[16];
		bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');

		if (domain && c == '.') {
			puts_(t, (tr & T_SEP) ? "[.]" : (tr & T_CASE) ? "[dot]" : ".");
			continue;
		}
		if ((tr & T_CASE) && letter && i % 2)
			c ^= 0x20;
		if ((tr & T_LOOK) && lookalike(c) && i % 3 == 1) {
			puts_(t, lookalike(c));
		} else if ((tr & T_ENTITY) && i % 2) {
			snprintf(buf, sizeof(buf), (tr & T_CASE) ? "%%%02X" : "&#%d;", (uint8_t)c);
			puts_(t, buf);
		} else if ((tr & T_WIDE) && c >= '!' && c <= '~') {
			uint32_t w = 0xFF01 + (uint32_t)(c - '!');

			buf[0] = (char)(0xE0 | (w >> 12));
			buf[1] = (char)(0x80 | ((w >> 6) & 0x3F));
			buf[2] = (char)(0x80 | (w & 0x3F));
			put(t, buf, 3);
		} else {
			put(t, &c, 1);
		}
		if (i + 1 < n && letter && !domain) {
			if (tr & T_SEP)
				puts_(t, seps[i % 5]);
			if (tr & T_INVIS)
				puts_(t, invis[i % 4]);
		}
	}
	if (tr & T_TAG)
		puts_(t, "</b>");
	if ((tr & T_SUFFIX) && !domain)
		puts_(t, (tr & T_CASE) ? "'s" : "s");
}

/* Whether skeleton @p (@n code points) occurs in @t from a boundary to a boundary. */
static bool occurs(const struct policy_skel_text *t, const uint32_t *p, size_t n)
{
	for (size_t i = 0; i + n <= t->len; i++)
		if (t->bnd[i] != POLICY_SKEL_NONE && t->bnd[i + n] != POLICY_SKEL_NONE &&
		    memcmp(t->cp + i, p, n * sizeof(*p)) == 0)
			return true;
	return false;
}

#define FIELDS_MAX 8

/*
 * The third oracle: policy_skeleton_look() read by each lane the CPU has (SSE2, AVX2 on
 * x86-64) and by its byte loop (POLICY_SKEL_LANE_BYTES, boundaries taken without SIMD) read
 * the @n fields alike, with a filter of the members' strings' first code points: the same
 * result, hits and code points of every field.
 */
static void same_looks(const struct policy_skeleton *sk, char strs[MAX_MEMBERS][3][STR_MAX + 1],
		       size_t members, const char *const *in, const size_t *len, size_t n)
{
	static struct policy_skel_look filter;
	static struct policy_skel_seen a, b;
	int rc;

#if defined(__SSE2__)
	if (!policy_skeleton_lane_usable(sk, POLICY_SKEL_LANE_SSE2))
		abort(); /* the lane is off: this oracle would compare the byte loop with itself */
#endif
	memset(&filter, 0, sizeof(filter));
	for (size_t i = 0; i < members; i++)
		for (int k = 0; k < 3; k++) {
			const char *str = strs[i][k];
			struct policy_skel_text pt = {0};

			if (policy_skeleton_map(sk, str, strlen(str), 0, 0, &pt) == 0 && pt.len > 0)
				policy_skel_look_add(&filter, pt.cp, pt.len);
			policy_skel_text_deinit(&pt);
		}
	rc = policy_skeleton_look_with(sk, POLICY_SKEL_LANE_BYTES, in, len, n, &filter, &b);
	for (unsigned l = POLICY_SKEL_LANE_BYTES + 1; l < POLICY_SKEL_LANES; l++) {
		if (!policy_skeleton_lane_usable(sk, (enum policy_skel_lane)l))
			continue;
		if (policy_skeleton_look_with(sk, (enum policy_skel_lane)l, in, len, n, &filter,
					      &a) != rc)
			abort();
		if (rc < 0)
			continue;
		/* the readings themselves (private, alike in all): code points and boundaries */
		if (a.n_hits != b.n_hits || a.crossing != b.crossing || a.o != b.o ||
		    memcmp(a.c, b.c, a.o) != 0)
			abort();
		for (size_t h = 0; h < a.n_hits && h < POLICY_SKEL_LOOK_HITS; h++)
			if (a.hits[h] != b.hits[h])
				abort();
		for (size_t f = 0; f < n; f++) {
			uint32_t ca[64], cb[64];
			size_t m = policy_skel_seen_field(&a, f, ca, 64);

			if (m != policy_skel_seen_field(&b, f, cb, 64) ||
			    memcmp(ca, cb, (m < 64 ? m : 64) * sizeof(*ca)) != 0)
				abort();
		}
	}
}

/* The second oracle (redact_paths.h): every path agrees with the full path on @t's fields;
 * and the third (same_looks()). */
static void same_paths(struct policy_redactor *rd, const struct policy_skeleton *sk,
		       char strs[MAX_MEMBERS][3][STR_MAX + 1], size_t members, const struct text *t)
{
	const char *in[FIELDS_MAX];
	size_t len[FIELDS_MAX], n = 0, start = 0;

	for (size_t i = 0; i <= t->len && n < FIELDS_MAX; i++) {
		if (i < t->len && t->b[i] != 0x1E)
			continue;
		in[n] = t->b + start;
		len[n++] = i - start;
		start = i + 1;
	}
	paths_compare(rd, in, len, n);
	same_looks(sk, strs, members, in, len, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char strs[MAX_MEMBERS][3][STR_MAX + 1];
	static struct text t;
	static char out[POLICY_REDACT_OUT_MAX(TEXT_MAX) + 1];
	struct fuzz_input in = {data, size};
	struct proto_roster *r = proto_roster_new();
	const struct proto_roster *rs[1] = {r};
	struct policy_redactor *rd = NULL;
	struct policy_skeleton *sk = NULL;
	struct policy_skel_text ot = {0};
	size_t n = 1 + fuzz_take(&in) % MAX_MEMBERS, out_len;
	int rc;

	if (!r)
		return 0;
	r->epoch = 1;
	for (size_t i = 0; i < n; i++) {
		for (int k = 0; k < 3; k++)
			fuzz_take_str(&in, strs[i][k], STR_MAX);
		if (fuzz_roster_add(r, i, strs[i][0], strs[i][1], strs[i][2], NULL) != 0)
			goto out; /* the roster's own rules refuse it: nothing to redact */
	}
	t.len = 0;
	while (in.n > 0 && t.len < TEXT_MAX) {
		uint8_t op = fuzz_take(&in) % 4, a = fuzz_take(&in), b = fuzz_take(&in);

		if (op == 0) {
			for (uint8_t k = 0; k < a % 32 && in.n > 0; k++) {
				char c = (char)fuzz_take(&in);

				put(&t, &c, 1);
			}
			(void)b;
			continue;
		}
		if (strs[a % n][op - 1][0])
			spell(&t, strs[a % n][op - 1], b, op == 3);
	}
	rd = policy_redact_new(rs, 1);
	sk = policy_skeleton_new();
	if (!rd || !sk)
		goto out;
	same_paths(rd, sk, strs, n, &t);
	rc = policy_redact_text(rd, t.b, t.len, out, sizeof(out), &out_len, NULL);
	if (rc == -ENOMEM)
		goto out;
	if (rc == POLICY_REDACT_DROPPED) {
		if (out[0] != '\0' || out_len != 0)
			abort();
		goto out;
	}
	if (rc != 0)
		abort();
	if (policy_skeleton_map(sk, out, out_len, 0, 0, &ot) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < 3; k++) {
			struct policy_skel_text pt = {0};
			const char *s = strs[i][k];

			while (k == 2 &&
			       (*s == '*' || *s == '.')) /* as the redactor reads domains */
				s++;
			if (policy_skeleton_map(sk, s, strlen(s), 0, 0, &pt) == 0 && pt.len >= 4 &&
			    occurs(&ot, pt.cp, pt.len)) {
				fprintf(stderr,
					"member %zu string %d survived: \"%s\" in \"%.*s\"\n", i, k,
					s, (int)out_len, out);
				abort();
			}
			policy_skel_text_deinit(&pt);
		}
out:
	policy_skel_text_deinit(&ot);
	policy_skeleton_free(sk);
	policy_redact_free(rd);
	proto_roster_free(r);
	return 0;
}
