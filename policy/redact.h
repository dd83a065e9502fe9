/* SPDX-License-Identifier: MIT */
/*
 * policy/redact.h — Chatham House redaction of free text (descriptions, tags) against the
 * roster (DESIGN.md §6).
 *
 * A redactor is built once from one or more rosters (normally every epoch the node holds, so
 * a member who left is still never named) and then redacts any number of texts. Everything
 * a member could be recognised by is a pattern:
 *
 *   - display name and aliases: matched word by word. The pattern's words (maximal runs of
 *     ASCII letters/digits and non-ASCII characters) must appear as whole words, in order,
 *     separated in the text by any non-empty run of non-word characters: "Acme CERT" also
 *     matches "ACME-cert" and "acme, CERT". A single word of a multi-word name is NOT a match
 *     (aliases exist for short forms).
 *   - domains, the host part of network addresses, and the lower-case hex of the member id,
 *     transport key and ring key: matched byte for byte (after case folding) as a whole word.
 *     A match inside a host name redacts the whole host name ("mail.cert.example" for member
 *     domain "cert.example"); a host name right after '@' redacts the whole email address.
 *   - a name, alias or address that contains no letter or digit at all, or an address or
 *     domain that starts or ends with punctuation, is matched as a plain substring, and the
 *     words it touches on either side are hidden with it.
 *
 * Normalisation before matching (texts and patterns alike):
 *   - case folding of ASCII, Latin-1 Supplement, Latin Extended-A, Greek and Cyrillic
 *     capitals (dotted/dotless i fold to "i"); full-width ASCII (U+FF01..U+FF5E) is ASCII;
 *   - non-ASCII spaces and punctuation (no-break space, typographic quotes and apostrophes,
 *     dashes, ellipsis, guillemets, ideographic space...) separate words like ASCII
 *     punctuation, so "Acme’s" and "Acme\u00a0CERT" match;
 *   - invisible code points (soft hyphen, zero-width space/joiners, bidi controls, word
 *     joiner, BOM) are ignored, so "Ac\u00adme" matches "Acme".
 * Other scripts compare code point for code point. Bytes that are not well-formed UTF-8 are
 * compared as they are and count as word characters.
 *
 * Word boundaries: the character before and after a match is the string end or an ASCII
 * character (or one of the separators above) that is not a letter or digit. Non-ASCII
 * characters count as word characters. A match is always widened to whole code points of the
 * input, so valid UTF-8 input gives valid UTF-8 output.
 *
 * Every maximal run of redacted bytes becomes one POLICY_REDACT_TOKEN. Redaction only ever
 * replaces a run of at least one byte by 8 bytes, so the output is at most
 * POLICY_REDACT_OUT_MAX(len) bytes plus a NUL.
 *
 * Thread rules: a built redactor is immutable; any number of threads may call
 * policy_redact_text() on it at once.
 */
#ifndef CHATHAM_POLICY_REDACT_H
#define CHATHAM_POLICY_REDACT_H

#include <stddef.h>

#include "proto/roster.h"

#define POLICY_REDACT_TOKEN "[member]"
#define POLICY_REDACT_TOKEN_LEN 8
/* Largest output (without the NUL) for @len input bytes. */
#define POLICY_REDACT_OUT_MAX(len) ((size_t)(len)*POLICY_REDACT_TOKEN_LEN)

struct policy_redactor;

/*
 * policy_redact_new() - build a redactor from every member of @rosters[0..@n) (the array and
 * the rosters are borrowed for the duration of the call; everything needed is copied).
 * @n may be 0 (a redactor that changes nothing). NULL entries are skipped.
 * Returns the redactor, owned by the caller, or NULL when out of memory.
 */
struct policy_redactor *policy_redact_new(const struct proto_roster *const *rosters, size_t n);

/* policy_redact_free() - free @rd. NULL is a no-op. */
void policy_redact_free(struct policy_redactor *rd);

/* policy_redact_patterns() - number of distinct patterns held (for status and tests). */
size_t policy_redact_patterns(const struct policy_redactor *rd);

/*
 * policy_redact_text() - redact @len bytes at @in (borrowed, need not be NUL-terminated; may
 * contain NULs) into @out (caller storage of @cap bytes), always NUL-terminated when @cap > 0.
 * *@out_len (may be NULL) receives the output length without the NUL, *@n_redacted (may be
 * NULL) the number of POLICY_REDACT_TOKENs written.
 *
 * @cap >= POLICY_REDACT_OUT_MAX(@len) + 1 always suffices.
 * Returns 0; -ENOSPC when the output does not fit (then @out is the empty string: a truncated
 * redaction could cut a name in a way that defeats whole-word matching, so nothing partial is
 * ever returned); -ENOMEM.
 */
int policy_redact_text(const struct policy_redactor *rd, const char *in, size_t len, char *out,
		       size_t cap, size_t *out_len, size_t *n_redacted);

#endif
