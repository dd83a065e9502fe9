/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness: redaction of free text against a roster (policy/redact.h).
 *
 * Input: one byte giving the member count (1..6), then for each member four NUL-terminated
 * strings (display name, alias, domain, address; empty = absent), then the text to redact.
 * The harness aborts when an invariant of policy/redact.h is violated:
 *   - a dropped text (POLICY_REDACT_DROPPED) leaves an empty output;
 *   - the output fits POLICY_REDACT_OUT_MAX(len), its reported length is right, and it is
 *     valid UTF-8 whenever the text was;
 *   - a capacity one byte short of the output gives -ENOSPC and an empty string; the exact
 *     capacity gives the same output;
 *   - no member name, alias or domain that is a plain ASCII word (or dotted word) survives
 *     as a whole word (ASCII boundaries) in any letter case.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/redact.h"
#include "proto/mp.h"
#include "proto/roster.h"
#include "fuzz_input.h"

#define MAX_MEMBERS 6
#define STR_MAX 96

static bool alnum(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/*
 * Whether @w is a word the property applies to: ASCII letters/digits, optionally dotted
 * labels (a domain), alphanumeric at both ends, and not "member" (which every "[member]"
 * contains as a whole word).
 */
static bool checkable(const char *w)
{
	size_t n = strlen(w);

	if (n == 0 || !alnum((uint8_t)w[0]) || !alnum((uint8_t)w[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!alnum((uint8_t)w[i]) && w[i] != '.')
			return false;
	for (size_t i = 0; i + 1 < n; i++)
		if (w[i] == '.' && w[i + 1] == '.')
			return false;
	return !(n == 6 && lower((uint8_t)w[0]) == 'm' && lower((uint8_t)w[1]) == 'e' &&
		 lower((uint8_t)w[2]) == 'm' && lower((uint8_t)w[3]) == 'b' &&
		 lower((uint8_t)w[4]) == 'e' && lower((uint8_t)w[5]) == 'r');
}

/* Whole-word, ASCII case-insensitive occurrence of @w in @s (ASCII boundaries only). */
static bool has_word(const uint8_t *s, size_t len, const char *w)
{
	size_t n = strlen(w);

	for (size_t i = 0; i + n <= len; i++) {
		size_t k = 0;

		if (i > 0 && (s[i - 1] >= 0x80 || alnum(s[i - 1])))
			continue;
		while (k < n && lower(s[i + k]) == lower((uint8_t)w[k]))
			k++;
		if (k < n)
			continue;
		if (i + n < len && (s[i + n] >= 0x80 || alnum(s[i + n])))
			continue;
		return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char strs[MAX_MEMBERS][4][STR_MAX + 1];
	struct fuzz_input in = {data, size};
	struct proto_roster *r = proto_roster_new();
	const struct proto_roster *rs[1] = {r};
	struct policy_redactor *rd = NULL;
	size_t n = 1 + fuzz_take(&in) % MAX_MEMBERS, out_len, nred, again_len;
	char *out = NULL, *again = NULL;
	int rc;

	if (!r)
		return 0;
	r->epoch = 1;
	for (size_t i = 0; i < n; i++) {
		for (int k = 0; k < 4; k++)
			fuzz_take_str(&in, strs[i][k], STR_MAX);
		if (fuzz_roster_add(r, i, strs[i][0], strs[i][1], strs[i][2], strs[i][3]) != 0)
			goto out;
	}
	rd = policy_redact_new(rs, 1);
	if (!rd)
		goto out;

	out = malloc(POLICY_REDACT_OUT_MAX(in.n) + 1);
	again = malloc(POLICY_REDACT_OUT_MAX(in.n) + 1);
	if (!out || !again)
		goto out;
	rc = policy_redact_text(rd, (const char *)in.p, in.n, out, POLICY_REDACT_OUT_MAX(in.n) + 1,
				&out_len, &nred);
	if (rc == -ENOMEM)
		goto out;
	if (rc == POLICY_REDACT_DROPPED) { /* nothing may be written, nothing else to check */
		if (out[0] != '\0' || out_len != 0 || nred != 0)
			abort();
		goto out;
	}
	if (rc != 0 || out_len > POLICY_REDACT_OUT_MAX(in.n) || out[out_len] != '\0')
		abort();
	if (nred * POLICY_REDACT_TOKEN_LEN > out_len || (nred == 0 && out_len != in.n))
		abort();
	if (proto_mp_utf8_valid((const char *)in.p, in.n) && !proto_mp_utf8_valid(out, out_len))
		abort();

	rc = policy_redact_text(rd, (const char *)in.p, in.n, again, out_len + 1, &again_len, NULL);
	if (rc != 0 || again_len != out_len || memcmp(again, out, out_len) != 0)
		abort();
	rc = policy_redact_text(rd, (const char *)in.p, in.n, again, out_len, &again_len, NULL);
	if (rc != -ENOSPC || (out_len > 0 && again[0] != '\0') || again_len != 0)
		abort();

	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < 3; k++)
			if (checkable(strs[i][k]) &&
			    has_word((const uint8_t *)out, out_len, strs[i][k]))
				abort();
out:
	free(out);
	free(again);
	policy_redact_free(rd);
	proto_roster_free(r);
	return 0;
}
