/* SPDX-License-Identifier: MIT */
/*
 * policy/vocab.h — the tag vocabulary: tags that may leave the community as they are.
 *
 * The vocabulary is text, one entry per line (the node reads it from files; this module
 * only parses bytes): blank lines and lines starting with '#' are ignored, leading and
 * trailing spaces are trimmed. An entry is either
 *   - a simple word or phrase ("phishing", "c2", "credential harvesting"), or
 *   - a machine tag in the style of MISP taxonomies: namespace:predicate or
 *     namespace:predicate="value" ("tlp:amber", "kill-chain:delivery",
 *     "malware-type=\"ransomware\"" is NOT one: a machine tag has a ':' before any '=').
 * A tag is in the vocabulary when it equals an entry after trimming spaces, ignoring ASCII
 * case outside double quotes (a quoted value compares byte for byte). A line longer than
 * PROTO_REPORT_TAG_LEN_MAX bytes, or one that is not valid UTF-8, or a machine tag whose
 * quotes do not close at the end of the line, is an error (reported with its line number).
 *
 * A vocabulary tag leaves unchanged, except that every tag is still read, together with
 * the other tags and the description, by the cross-field check of policy/strip.h: a
 * vocabulary tag that would complete a member's name there is dropped.
 *
 * Thread rules: immutable once built; any number of threads may query it.
 */
#ifndef CHATHAM_POLICY_VOCAB_H
#define CHATHAM_POLICY_VOCAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct policy_vocab;

/* policy_vocab_new() - an empty vocabulary. Returns NULL when out of memory. */
struct policy_vocab *policy_vocab_new(void);

/*
 * policy_vocab_add() - add every entry of the text @buf (@len bytes, borrowed) to @v.
 * Returns 0; -EINVAL for a bad line (then *@bad_line, if not NULL, is its 1-based number
 * and @v holds the entries before it); -ENOMEM.
 */
int policy_vocab_add(struct policy_vocab *v, const char *buf, size_t len, size_t *bad_line);

/* policy_vocab_seal() - sort for lookups; call once after the last add. Returns 0. */
int policy_vocab_seal(struct policy_vocab *v);

/* policy_vocab_size() - number of distinct entries. */
size_t policy_vocab_size(const struct policy_vocab *v);

/* policy_vocab_has() - whether the tag (@len bytes) is in the sealed @v (NULL: never). */
bool policy_vocab_has(const struct policy_vocab *v, const char *tag, size_t len);

/*
 * policy_vocab_fingerprint() - 32 bytes into @fp naming the entries of the sealed @v (equal
 * sets give equal fingerprints, whatever order and spelling the files used). NULL @v: the
 * fingerprint of the empty vocabulary.
 */
void policy_vocab_fingerprint(const struct policy_vocab *v, uint8_t fp[32]);

/* policy_vocab_free() - NULL is a no-op. */
void policy_vocab_free(struct policy_vocab *v);

#endif
