/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/redact_paths.h — the redaction harnesses' differential oracle, included by
 * fuzz_policy_redact_paths.c and fuzz_policy_redact_skeleton.c (static functions: each
 * harness is one translation unit). It is the leak corpus's compare()
 * (tests/unit/test_policy_leak_corpus.c) for fuzzed fields:
 *   - policy_redact_fields() with its memo off, with it on (a call and two repetitions: a
 *     memo that takes a result in only when its text comes again answers the third), and
 *     policy_redact_fields_fast_only() and _quick_only() wherever they decide give
 *     policy_redact_fields_full()'s return code, outputs, token counts and drops, byte for
 *     byte;
 *   - where policy_redact_quick() says the fields name nobody, the full path changes nothing
 *     and policy_redact_names_fields() finds no member.
 * A difference prints the fields as C string literals (a unit test's reproducer) and aborts.
 * -ENOMEM from any path (libFuzzer's malloc limit) ends the comparison without a verdict.
 */
#ifndef CHATHAM_TESTS_FUZZ_REDACT_PATHS_H
#define CHATHAM_TESTS_FUZZ_REDACT_PATHS_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/redact.h"
#include "policy/redact_test.h"

enum {
	PATH_FULL,
	PATH_FAST,	 /* policy_redact_fields(), memo off */
	PATH_FAST_ONLY,	 /* may say 1: left to the full path */
	PATH_QUICK_ONLY, /* may say 1: left to the fast path */
	PATH_MEMO,	 /* policy_redact_fields(), memo on: the first call */
	PATH_MEMO_AGAIN, /* its repetition */
	PATH_MEMO_THIRD, /* and another */
	N_PATHS
};

static const char *const path_name[N_PATHS] = {
	[PATH_FULL] = "full",
	[PATH_FAST] = "fast",
	[PATH_FAST_ONLY] = "fast only",
	[PATH_QUICK_ONLY] = "quick only",
	[PATH_MEMO] = "memo first",
	[PATH_MEMO_AGAIN] = "memo again",
	[PATH_MEMO_THIRD] = "memo third",
};

static void paths_dump_bytes(const char *s, size_t len)
{
	fputc('"', stderr);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(stderr, "\\%c", c);
		else if (c >= 0x20 && c < 0x7F)
			fputc(c, stderr);
		else /* octal: a following hex digit cannot extend it */
			fprintf(stderr, "\\%03o", c);
	}
	fputc('"', stderr);
}

/* The fields as a reproducer, and each path's results for them. */
static void paths_report(const char *what, const char *const *in, const size_t *len, size_t n,
			 struct policy_redact_field (*f)[N_PATHS], const int *rc, int p)
{
	fprintf(stderr, "REDACTION PATHS DIFFER: %s\nfields (%zu):\n", what, n);
	for (size_t i = 0; i < n; i++) {
		fprintf(stderr, "  [%zu] ", i);
		paths_dump_bytes(in[i], len[i]);
		fputc('\n', stderr);
	}
	for (int k = 0; f && k < N_PATHS; k++) {
		if (k != PATH_FULL && k != p)
			continue;
		fprintf(stderr, "%s: rc %d\n", path_name[k], rc[k]);
		for (size_t i = 0; i < n; i++) {
			fprintf(stderr, "  [%zu] %s%zu redacted ", i,
				f[i][k].dropped ? "DROPPED " : "", f[i][k].n_redacted);
			paths_dump_bytes(f[i][k].out, f[i][k].out_len);
			fputc('\n', stderr);
		}
	}
	abort();
}

/*
 * A harness's own check of the outputs every path agreed on (the full path's @n fields), or
 * NULL: a rule every path shares (chain_drop() runs on the outputs whatever the path) is not
 * checked by comparing them.
 */
static void (*paths_check)(const struct policy_redact_field *out, size_t n);

/*
 * The oracle over @n fields (@in[i] of @len[i] bytes). @rd is left with its memo on (as a
 * redactor is built).
 */
static void paths_compare(struct policy_redactor *rd, const char *const *in, const size_t *len,
			  size_t n)
{
	struct policy_redact_field(*f)[N_PATHS] = calloc(n ? n : 1, sizeof(*f));
	int rc[N_PATHS], q;

	if (!f)
		return;
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < N_PATHS; k++) {
			f[i][k] = (struct policy_redact_field){.in = in[i], .len = len[i]};
			f[i][k].cap = POLICY_REDACT_OUT_MAX(len[i]) + 1;
			f[i][k].out = malloc(f[i][k].cap);
			if (!f[i][k].out)
				goto out;
		}
	/* the fields of one path, its own array of policy_redact_field */
	{
		struct policy_redact_field *g = calloc(n ? n : 1, sizeof(*g));

		if (!g)
			goto out;
		for (int k = 0; k < N_PATHS; k++) {
			for (size_t i = 0; i < n; i++)
				g[i] = f[i][k];
			switch (k) {
			case PATH_FULL:
				rc[k] = policy_redact_fields_full(rd, g, n);
				break;
			case PATH_FAST:
				policy_redact_memo_set(rd, false);
				rc[k] = policy_redact_fields(rd, g, n);
				policy_redact_memo_set(rd, true);
				break;
			case PATH_FAST_ONLY:
				rc[k] = policy_redact_fields_fast_only(rd, g, n);
				break;
			case PATH_QUICK_ONLY:
				rc[k] = policy_redact_fields_quick_only(rd, g, n);
				break;
			default: /* PATH_MEMO, PATH_MEMO_AGAIN, PATH_MEMO_THIRD */
				rc[k] = policy_redact_fields(rd, g, n);
				break;
			}
			for (size_t i = 0; i < n; i++)
				f[i][k] = g[i];
		}
		free(g);
	}
	for (int k = 0; k < N_PATHS; k++)
		if (rc[k] == -ENOMEM)
			goto out;
	if (rc[PATH_FULL] != 0)
		paths_report("the full path failed", in, len, n, f, rc, PATH_FULL);
	if (rc[PATH_QUICK_ONLY] == -EPROTO)
		paths_report("quick only: the spliced reading or the verifying marks are not "
			     "the full path's",
			     in, len, n, f, rc, PATH_QUICK_ONLY);
	for (int k = PATH_FAST; k < N_PATHS; k++) {
		if ((k == PATH_FAST_ONLY || k == PATH_QUICK_ONLY) && rc[k] == 1)
			continue; /* that path did not decide */
		if (rc[k] != rc[PATH_FULL])
			paths_report(path_name[k], in, len, n, f, rc, k);
		for (size_t i = 0; i < n; i++) {
			const struct policy_redact_field *a = &f[i][PATH_FULL], *b = &f[i][k];

			if (a->out_len != b->out_len || a->n_redacted != b->n_redacted ||
			    a->dropped != b->dropped || memcmp(a->out, b->out, a->out_len + 1) != 0)
				paths_report(path_name[k], in, len, n, f, rc, k);
		}
	}
	if (paths_check) {
		struct policy_redact_field *g = calloc(n ? n : 1, sizeof(*g));

		for (size_t i = 0; g && i < n; i++)
			g[i] = f[i][PATH_FULL];
		if (g)
			paths_check(g, n);
		free(g);
	}
	q = policy_redact_quick(rd, in, len, n);
	if (q != 0 && q != 1 && q != -ENOMEM)
		paths_report("policy_redact_quick() failed", in, len, n, NULL, rc, 0);
	if (q == 0) {
		for (size_t i = 0; i < n; i++) {
			const struct policy_redact_field *a = &f[i][PATH_FULL];

			if (a->dropped || a->n_redacted || a->out_len != len[i] ||
			    memcmp(a->out, in[i], len[i]) != 0)
				paths_report("the quick check said nobody, the full path redacted",
					     in, len, n, f, rc, PATH_FULL);
		}
		if (policy_redact_names_fields(rd, in, len, n, NULL, NULL) == 1)
			paths_report("the quick check said nobody, policy_redact_names_fields() "
				     "found a member",
				     in, len, n, NULL, rc, 0);
	}
out:
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < N_PATHS; k++)
			free(f[i][k].out);
	free(f);
}

#endif
