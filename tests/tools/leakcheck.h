/* SPDX-License-Identifier: MIT */
/*
 * tests/tools/leakcheck.h — the leak oracle of the integration tests (issue 12): "no member
 * skeleton appears in the output skeleton". Test code only; the product never links it.
 *
 * An output (any bytes: JSON, CSV, log lines, LMDB pages) and every member string are both
 * mapped with the product's own canonical skeleton (policy/skeleton.h: markup, entities,
 * escapes and defanging undone, NFKC case fold, TR39 confusables, marks and format
 * characters gone, separators ignored but kept as boundaries). A member string is found
 * where its skeleton occurs in the output's, under the redactor's boundary rules
 * (policy/redact.h), so that the oracle trips on exactly what the product promises to hide
 * and not on controls such as "alphabet.example" next to member "Alpha":
 *
 *   - LEAKCHECK_NAME (display name, alias): starts and ends at a boundary (a separator, or
 *     a case or letter/digit change), or ends after a plural "s"/"es" that ends at one;
 *     shorter than 4 skeleton code points: a separator on both sides, no plural;
 *   - LEAKCHECK_HOST (domain, host, address): starts and ends at a boundary; also spelled
 *     with "dot" for any of its dots; shorter than 4: separators on both sides;
 *   - LEAKCHECK_HEX (a key or id in hex): any prefix of at least 8 digits, starting at a
 *     boundary (or right after "0x") and ending at a separator; one of 16 digits or more
 *     ends anywhere ("...f48xyz");
 *   - LEAKCHECK_B64 (a key in base64, standard or URL-safe: the same skeleton): any prefix
 *     of at least 16 characters, starting at a boundary.
 *
 * Unlike the redactor, the oracle reads each output as a whole (the rendering a reader
 * sees: a name split across two tags that sit side by side in the JSON is one name here)
 * and searches naively, without the redactor's index, prefilter or fast path. Bytes that
 * are not UTF-8 (binary files) are read as separators, so text stored between length
 * prefixes is found too. Both readings of text with markup are searched (decoded and plain,
 * as the redactor reads it).
 */
#ifndef CHATHAM_TESTS_LEAKCHECK_H
#define CHATHAM_TESTS_LEAKCHECK_H

#include <stddef.h>

enum leakcheck_kind {
	LEAKCHECK_NAME,
	LEAKCHECK_HOST,
	LEAKCHECK_HEX,
	LEAKCHECK_B64,
};

struct leakcheck;

/* One finding: pattern @label (borrowed from the checker) at bytes [@from, @to) of the output. */
struct leakcheck_hit {
	const char *label;
	size_t from, to;
};

/* leakcheck_new() - an empty checker on the shared skeleton context; NULL when out of memory
 * or when ICU cannot be loaded. */
struct leakcheck *leakcheck_new(void);

/* leakcheck_free() - NULL is a no-op. */
void leakcheck_free(struct leakcheck *lc);

/*
 * leakcheck_add() - look for @text (NUL-terminated UTF-8, borrowed) as @kind, reported as
 * @label (copied). Returns 0; -EINVAL when @text has no skeleton to look for (no letter or
 * digit; a hex key that is not hex; a base64 key shorter than 16 characters); -ENOMEM.
 */
int leakcheck_add(struct leakcheck *lc, enum leakcheck_kind kind, const char *label,
		  const char *text);

/* leakcheck_patterns() - how many skeletons are looked for (a host spelled with "dot" is
 * several). */
size_t leakcheck_patterns(const struct leakcheck *lc);

/*
 * leakcheck_scan() - search @len bytes at @data (borrowed) for every pattern. Hits go to
 * @hits (caller storage of @max entries), sorted by offset, one per pattern and start; the
 * result is the number of hits (may exceed @max: only @max are stored), or -ENOMEM. Large
 * outputs are read in overlapping pieces cut at separators; a pattern spelled over more
 * than LEAKCHECK_SPAN bytes is not looked for across a cut.
 */
#define LEAKCHECK_SPAN 4096
long leakcheck_scan(const struct leakcheck *lc, const char *data, size_t len,
		    struct leakcheck_hit *hits, size_t max);

#endif
