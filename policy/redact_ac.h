/* SPDX-License-Identifier: MIT */
/*
 * policy/redact_ac.h — the redactor's first read of plain ASCII text (policy/redact.c): one
 * Aho-Corasick automaton over the skeleton code points that policy_skeleton_ascii() gives,
 * built from the start of every pattern, that finds in one pass every place where a
 * pattern's code points follow (separators and boundaries ignored, as the skeleton
 * ignores separators), within one field, across the fields read in order, or from the
 * tail of one field into the head of any other (the pairs policy_redact_fields() reads).
 *
 * What is matched: each pattern's first min(key length, POLICY_REDACT_AC_DEPTH) code points
 * (a key's shortest prefix that counts, a name's or host's whole skeleton), where all of
 * them are code points that plain ASCII gives; a pattern with any other can never occur in
 * such text and is left out. A place found is only a candidate (the caller checks
 * boundaries, plurals and key lengths); a place not found is certainly none.
 *
 * Thread rules: built once, then immutable; any number of threads may run it at once.
 */
#ifndef CHATHAM_POLICY_REDACT_AC_H
#define CHATHAM_POLICY_REDACT_AC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/skeleton.h"

/* Longest pattern start kept (code points): longer starts are cut there (more candidates). */
#define POLICY_REDACT_AC_DEPTH 32
/* Most fields policy_redact_ac_bytes() reads; more: it returns -1. */
#define POLICY_REDACT_AC_FIELDS 32

struct policy_redact_ac;

/*
 * policy_redact_ac_new() - build the automaton of @n patterns: @s[i] holds @len[i] skeleton
 * code points (borrowed for the call). @sk (borrowed, must outlive the automaton) gives the
 * ASCII reading. Returns the automaton (owned by the caller) or NULL when out of memory.
 */
struct policy_redact_ac *policy_redact_ac_new(const struct policy_skeleton *sk,
					      const uint32_t *const *s, const size_t *len,
					      size_t n);

/* policy_redact_ac_free() - NULL is a no-op. */
void policy_redact_ac_free(struct policy_redact_ac *ac);

/* policy_redact_ac_size() - the automaton's memory in bytes; *@states its states. */
size_t policy_redact_ac_size(const struct policy_redact_ac *ac, size_t *states);

/*
 * policy_redact_ac_bytes() - read @n fields (@s[i] of @len[i] bytes, borrowed) as
 * policy_skeleton_ascii() reads each, joined in order, and look for a pattern start in that
 * reading and from every field's tail into the head of every other field that does not
 * follow it. Returns 0 when there is certainly none, -1 when policy_skeleton_ascii() refuses
 * some field or there are more than POLICY_REDACT_AC_FIELDS, else 1: there may be one (the
 * reading stops at the first place found, so a field after it may still be refused).
 */
int policy_redact_ac_bytes(const struct policy_redact_ac *ac, const char *const *s,
			   const size_t *len, size_t n);

/*
 * policy_redact_ac_cps() - the same over a reading already made: code points @cp (as
 * policy_skeleton_ascii() gives them), field i at [@fs[i], @fe[i]) (ascending). Writes where
 * each pattern start that lies within one field begins into @start (at most @cap, ascending,
 * each once) and returns how many; *@crossing is set when some start runs past its field's
 * end (read in order or into another field's head), when there are more than @cap, or when
 * a code point is not one that ASCII gives.
 */
size_t policy_redact_ac_cps(const struct policy_redact_ac *ac, const uint8_t *cp, const size_t *fs,
			    const size_t *fe, size_t n, size_t *start, size_t cap, bool *crossing);

#endif
