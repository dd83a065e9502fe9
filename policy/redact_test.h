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
 * matches at its hits, found on the quick reading, must decide both passes: returns 1 (every
 * output "") when either is left to the fast path, -EPROTO when the outputs' spliced reading
 * is not what reading them gives or the verifying pass's marks are not map_scan()'s.
 */
int policy_redact_fields_quick_only(const struct policy_redactor *rd, struct policy_redact_field *f,
				    size_t n);

/*
 * policy_redact_quick() - the first look and the quick check ahead of the fast path over @n
 * fields (@s[i] of @len[i] bytes): 0 when either finds that they certainly name nobody
 * (policy_redact_fields() then matches nothing in them; it still asks chain_drop() unless
 * the first look said so), 1 when it leaves them to the fast path, -ENOMEM. Tests check
 * that 0 is never said of text that names a member.
 */
int policy_redact_quick(const struct policy_redactor *rd, const char *const *s, const size_t *len,
			size_t n);

/*
 * policy_redact_chain_candidates() - chain_drop()'s first test of @n fields (@s[i] of @len[i]
 * bytes): 1 when some field may be the middle piece of a name in three or more pieces (then
 * the fields are searched for chains), 0 when none can. @lane: the count 16 bytes a step,
 * else a byte at a time; -1 when the redactor cannot count with the lane. Tests compare
 * the two.
 */
int policy_redact_chain_candidates(const struct policy_redactor *rd, const char *const *s,
				   const size_t *len, size_t n, bool lane);

/*
 * policy_redact_window_pass() - the verifying read's prefilter of a window (splice_none()):
 * bit p (p < 8) set when place p of the quick reading @cp (16 code points are read) and
 * @bnd (8 boundaries) is a boundary whose first three code points' ASCII prefix is some
 * pattern's. @lane: the SSE2 form, else a byte at a time; -1 when the build has no lane.
 * Tests compare the two.
 */
int policy_redact_window_pass(const struct policy_redactor *rd, const uint8_t *cp,
			      const uint8_t *bnd, bool lane);

/*
 * policy_redact_memo_set() - switch the memo of recent results of policy_redact_fields()
 * (policy/redact.c) on or off; a redactor is built with it on. Off, every call reads its
 * text afresh and nothing is remembered or counted: benchmarks measure the cost of a text
 * seen for the first time. It takes the memo's lock: any thread, at any time.
 */
void policy_redact_memo_set(struct policy_redactor *rd, bool on);

/*
 * policy_redact_memo_reset() - forget every result the memo holds (as a redactor is built;
 * on or off, hits and misses are kept), so a fuzzer's input starts from a fresh memo and a
 * finding reproduces alone. Takes the memo's lock. NULL-safe.
 */
void policy_redact_memo_reset(struct policy_redactor *rd);

/* policy_redact_memo_stats() - the memo's hits and misses since @rd was built (either NULL). */
void policy_redact_memo_stats(const struct policy_redactor *rd, uint64_t *hits, uint64_t *misses);

#endif
