/* SPDX-License-Identifier: MIT */
/*
 * policy/redact_test.h — test hooks of policy/redact.c, for tests, fuzzers and benchmarks only.
 */
#ifndef CHATHAM_POLICY_REDACT_TEST_H
#define CHATHAM_POLICY_REDACT_TEST_H

#include "policy/redact.h"

/*
 * policy_redact_fields_full() - policy_redact_fields() without its fast path: every field
 * is mapped to the full skeleton and scanned, first and second pass. The fast path must
 * give exactly the same outputs, counts and drops (tests compare the two).
 */
int policy_redact_fields_full(const struct policy_redactor *rd, struct policy_redact_field *f,
			      size_t n);

/*
 * policy_redact_fields_fast_only() - policy_redact_fields() where the fast path must decide
 * both passes: returns 1 (every output "") when it hands either to the full path, so tests
 * can tell that the fast path was the one compared.
 */
int policy_redact_fields_fast_only(const struct policy_redactor *rd, struct policy_redact_field *f,
				   size_t n);

/*
 * policy_redact_fields_quick_only() - policy_redact_fields() where the quick check and the
 * stretches around its hits must decide both passes: returns 1 (every output "") when either
 * is left to the fast path.
 */
int policy_redact_fields_quick_only(const struct policy_redactor *rd, struct policy_redact_field *f,
				    size_t n);

/*
 * policy_redact_quick() - the quick check ahead of the fast path over @n fields (@s[i] of
 * @len[i] bytes): 0 when it finds that they certainly name nobody (policy_redact_fields()
 * then returns them unchanged without reading further), 1 when it leaves them to the fast
 * path, -ENOMEM. Tests check that 0 is never said of text that names a member.
 */
int policy_redact_quick(const struct policy_redactor *rd, const char *const *s, const size_t *len,
			size_t n);

#endif
