/* SPDX-License-Identifier: MIT */
/*
 * policy/redact.h — Chatham House redaction of free text (descriptions, tags) against the
 * roster (DESIGN.md §6). Nothing that leaves the community may name a member.
 *
 * A redactor is built once from one or more rosters (normally every epoch the node holds, so
 * a member who left is still never named) and then redacts any number of texts. Matching
 * happens on the canonical skeleton of policy/skeleton.h (markup, entities, percent and
 * backslash escapes and defanging undone; NFKC case fold; TR39 confusables mapped to their
 * prototype; marks and format characters removed; separators ignored but remembered as
 * word boundaries). Every member contributes these patterns, each as a skeleton:
 *
 *   - display name and aliases, with their separators removed: "CERT Alpha" also matches
 *     "CERTAlpha", "cert-alpha", "C.E.R.T. Alpha", "CERT&nbsp;Alpha", "<b>CERT</b> Alpha",
 *     "CERT%20Alpha", "ϹЕRТ Аlрhа" (Greek/Cyrillic lookalikes), "CERT Al\u00adpha", and
 *     inflected "CERT Alpha's", "CERT Alphas", "CERT Alphaes". A single word of a
 *     multi-word name is NOT a match (aliases exist for short forms);
 *   - domains (a leading "*." dropped), the host of every network address and the hosts
 *     of the point of contact (the team e-mail's domain and the URL's host, proto/poc.h;
 *     not the constituency, which names networks a team answers for, not the team), also
 *     spelled with "dot" for each dot ("alpha dot example", "alpha[dot]example";
 *     "alpha[.]example" needs nothing special). A match widens over the whole host name and an e-mail
 *     address around it ("soc@mail.alpha.example");
 *   - the member id, transport key and ring key: any prefix of at least 8 digits of the
 *     hex (so the 16-digit prefix the CLI prints, and the whole key), in either case, with
 *     any separators ("ab:cd:ef...", "ab cd ef...", "0x..."); and any prefix of at least
 *     16 characters of the standard and URL-safe base64 of each key.
 *   A name or alias with no letter or digit at all ("***") is matched as a plain
 *   ASCII-case-insensitive substring of the input, widened over the words it touches.
 *
 * A text in which markup decoding changed something is read twice, decoded
 * and as plain text (POLICY_SKEL_PLAIN): "<Alpha>" is a tag in one reading and a name in
 * the other, and either reading may be the one a person sees; a match in either counts.
 *
 * How false positives are bounded: a match must begin at a word boundary of the original
 * text (start, after a separator, or at a case or letter/digit change: "CERTAlpha",
 * "AlphaNationalCSIRT") and end at one, or after a plural "s"/"es" that ends at one; so
 * member "Alpha" does not redact "alphabet.example" or "alphas2", and domain "sg.example"
 * does not redact "notsg.example". Names and hosts of fewer than 4 skeleton characters need
 * a separator (not a case change) on both sides and take no plural. Key prefixes must be
 * at least 8 hex digits (16 base64 characters) long and end at a separator, so a longer
 * hex string that merely starts like a key is not touched. The skeleton itself merges
 * lookalikes ('0'/'o', '1'/'l'/'I'/'i', 'rn'/'m'): that is what makes hostile spellings
 * match, and costs a false positive only where a text spells a member's name in
 * lookalikes.
 *
 * Fail closed: every skeleton code point knows the input bytes it came from, so a match
 * hides exactly the bytes that spelled it. The output is then mapped and searched again;
 * if any member pattern still matches there (a name cut in two by a redaction, or spelled
 * across several fields of one call), the field is DROPPED: its output is the empty
 * string and the result says so, and the caller must not emit it. Nothing partial, and
 * nothing that still names a member, is ever returned.
 *
 * Every maximal run of redacted bytes becomes one POLICY_REDACT_TOKEN. Redaction only ever
 * replaces a run of at least one byte by 8 bytes, so the output is at most
 * POLICY_REDACT_OUT_MAX(len) bytes plus a NUL. A match is always widened to whole input
 * units, so valid UTF-8 input gives valid UTF-8 output.
 *
 * Thread rules: a built redactor's patterns are immutable; any number of threads may call
 * policy_redact_text(), policy_redact_fields() and policy_redact_names() on it at once (the
 * memo of recent results that policy_redact_fields() keeps in it has its own lock).
 */
#ifndef CHATHAM_POLICY_REDACT_H
#define CHATHAM_POLICY_REDACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/roster.h"

#define POLICY_REDACT_TOKEN "[member]"
#define POLICY_REDACT_TOKEN_LEN 8
/* Largest output (without the NUL) for @len input bytes. */
#define POLICY_REDACT_OUT_MAX(len) ((size_t)(len)*POLICY_REDACT_TOKEN_LEN)
/* policy_redact_text() result: the text could not be redacted safely; never emit it. */
#define POLICY_REDACT_DROPPED 1

struct policy_redactor;

/*
 * policy_redact_new() - build a redactor from every member of @rosters[0..@n) (the array and
 * the rosters are borrowed for the duration of the call; everything needed is copied).
 * @n may be 0 (a redactor that changes nothing). NULL entries are skipped.
 * Returns the redactor, owned by the caller, or NULL when out of memory or when ICU's
 * data cannot be loaded.
 */
struct policy_redactor *policy_redact_new(const struct proto_roster *const *rosters, size_t n);

/* policy_redact_free() - free @rd. NULL is a no-op. */
void policy_redact_free(struct policy_redactor *rd);

/*
 * The version of the matching rules of this module and policy/skeleton.c. Raise it with any
 * change that makes a redactor built from the same rosters redact some text differently: it
 * goes into every fingerprint, so exports rendered under the old rules are checked again.
 */
#define POLICY_REDACT_RULES_VERSION 11

/*
 * policy_redact_fingerprint() - 32 bytes into @fp that change whenever what @rd redacts may
 * change: BLAKE2b over POLICY_REDACT_RULES_VERSION and every distinct pattern (a member
 * added or removed, a name, alias, domain, address or key changed). Computed when the
 * redactor is built; equal rosters give equal fingerprints. @rd NULL (no roster) has its
 * own fingerprint, different from that of a redactor with no patterns.
 */
void policy_redact_fingerprint(const struct policy_redactor *rd, uint8_t fp[32]);

/* policy_redact_patterns() - number of distinct (pattern, member) pairs held. */
size_t policy_redact_patterns(const struct policy_redactor *rd);

/*
 * policy_redact_text() - redact @len bytes at @in (borrowed, need not be NUL-terminated; may
 * contain NULs) into @out (caller storage of @cap bytes), always NUL-terminated when @cap > 0.
 * *@out_len (may be NULL) receives the output length without the NUL, *@n_redacted (may be
 * NULL) the number of POLICY_REDACT_TOKENs written.
 *
 * @cap >= POLICY_REDACT_OUT_MAX(@len) + 1 always suffices. @rd NULL copies @in unchanged.
 * Returns 0; POLICY_REDACT_DROPPED when the redacted text would still name a member (then
 * @out is the empty string and must not be emitted); -ENOSPC when the output does not fit
 * (then @out is the empty string: nothing partial is ever returned); -ENOMEM.
 */
int policy_redact_text(const struct policy_redactor *rd, const char *in, size_t len, char *out,
		       size_t cap, size_t *out_len, size_t *n_redacted);

/* One field of policy_redact_fields(). */
struct policy_redact_field {
	const char *in; /* borrowed, @len bytes, need not be NUL-terminated */
	size_t len;
	char *out; /* caller storage of @cap bytes */
	size_t cap;
	size_t out_len;	   /* set: output length without the NUL */
	size_t n_redacted; /* set: POLICY_REDACT_TOKENs written */
	bool dropped;	   /* set: @out is "" and must not be emitted */
};

/*
 * policy_redact_fields() - redact @n fields that leave together (the tags and description
 * of one indicator) as one text: a name spelled across fields ("CERT" and "Alpha" as two
 * tags, or the end of a tag and the start of the description) is found like one spelled
 * in a single field. The fields are a set: the name is found whatever their order, also
 * between fields that are not neighbours ("CERT", "phishing", "Alpha"). The fields are
 * separate words (a hard boundary lies between them).
 * Each field's part of a match is redacted in that field; a field whose output, read
 * together with the other outputs, still names a member is dropped.
 * The redactor remembers the results of its last calls (64 slots, calls of at most 32 fields
 * and 4 KiB): a call whose fields are byte for byte those of a remembered one gets that
 * result without reading the text again (the same text always gives the same result under
 * one redactor, and a roster change builds a new redactor with an empty memo).
 * Returns 0 (see each field's @dropped), -ENOSPC when some field's output does not fit
 * (every output is then ""), -ENOMEM.
 */
int policy_redact_fields(const struct policy_redactor *rd, struct policy_redact_field *f, size_t n);

/*
 * policy_redact_names() - whether @len bytes at @in name any member whose id is not
 * @except (32 bytes, or NULL for none excepted), by the same rules as redaction. When one
 * is found and @found is not NULL, its id is copied to @found (32 bytes).
 * Returns 1 (named), 0 (not), -ENOMEM.
 */
int policy_redact_names(const struct policy_redactor *rd, const char *in, size_t len,
			const uint8_t *except, uint8_t *found);

/*
 * policy_redact_names_fields() - policy_redact_names() over @n fields read together as
 * policy_redact_fields() reads them (a name split across any two of them counts): @s[i]
 * has @len[i] bytes (borrowed). Returns 1 (named), 0 (not), -ENOMEM.
 */
int policy_redact_names_fields(const struct policy_redactor *rd, const char *const *s,
			       const size_t *len, size_t n, const uint8_t *except, uint8_t *found);

#endif
