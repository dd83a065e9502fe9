/* SPDX-License-Identifier: MIT */
/*
 * proto/poc.h — a member's point of contact (PoC) and constituency, carried in its roster
 * entry and signed by the stewards with the roster (proto/roster.h, member keys 7 and 8).
 *
 * The directory is for members only: it says how to reach a team and which networks and
 * names it answers for, so a notice reaches the right team. None of it ever reaches an
 * export (exports are built from reports and the roster's redaction patterns only). The
 * e-mail's domain and the URL's host are themselves redaction patterns (policy/redact.h).
 *
 * Wire form (canonical msgpack, inside the member map):
 *
 *     7: poc = map { 0: team e-mail (str), 1: URL (str), 2: phone (str), 3: hours (str),
 *                    4: time zone (str, IANA name), 5: languages (array of str, BCP 47),
 *                    6: OpenPGP fingerprint (bin 20 or 32) }        every key optional,
 *                    the map present only when at least one is, no empty list or string
 *     8: constituency = map { 0: IP prefixes (array of str, canonical CIDR, ascending),
 *                    1: AS numbers (array of uint 1..2^32-1, ascending),
 *                    2: domains (array of str, canonical domains, ascending) }
 *                    every key optional, present lists non-empty, the map present only
 *                    when a list is
 *
 * Rules (checked by proto_poc_check()/proto_constituency_check(), applied by the roster's
 * encoder and decoder alike): text is roster text (proto_roster_check_text()) of at most
 * PROTO_POC_TEXT_MAX bytes; the e-mail has exactly one '@' with text on both sides and a
 * canonical domain after it; the URL starts "https://" or "http://"; the phone holds only
 * digits, spaces and "+-().", with at least one digit; the time zone holds only
 * [A-Za-z0-9/_+-]; a language tag is 2..35 of [A-Za-z0-9-]; prefixes are canonical ipv4 or
 * ipv6 CIDR indicators (proto/indicator.h) with no host bits set, or single addresses;
 * lists are strictly ascending (so distinct) and hold at most PROTO_POC_LIST_MAX entries.
 *
 * Thread rules: none; all functions are reentrant; pointers borrowed unless stated.
 */
#ifndef CHATHAM_PROTO_POC_H
#define CHATHAM_PROTO_POC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_POC_TEXT_MAX 255
#define PROTO_POC_LANGS_MAX 8
#define PROTO_POC_LIST_MAX 256

struct proto_poc {
	char *email; /* NULL when absent; every pointer owned by the enclosing roster */
	char *url;
	char *phone;
	char *hours;
	char *tz;
	size_t n_languages;
	char **languages;
	uint8_t pgp_len; /* 0 (absent), 20 or 32 */
	uint8_t pgp[32];
};

struct proto_constituency {
	size_t n_prefixes;
	char **prefixes;
	size_t n_asns;
	uint32_t *asns;
	size_t n_domains;
	char **domains;
};

/* proto_poc_empty() / proto_constituency_empty() - true when nothing is set. */
bool proto_poc_empty(const struct proto_poc *p);
bool proto_constituency_empty(const struct proto_constituency *c);

/*
 * proto_poc_check(), proto_constituency_check() - the rules above. On failure *@reason is a
 * static English reason naming the field. Returns 0, PROTO_E_ROSTER_MEMBER, PROTO_E_EMPTY,
 * PROTO_E_TOO_LARGE, PROTO_E_UTF8 or PROTO_E_ROSTER_TEXT.
 */
int proto_poc_check(const struct proto_poc *p, const char **reason);
int proto_constituency_check(const struct proto_constituency *c, const char **reason);

/*
 * proto_constituency_sort() - put the lists in the canonical ascending order (for building a
 * roster entry from command-line options). Duplicates stay and are refused by the check.
 */
void proto_constituency_sort(struct proto_constituency *c);

/* proto_poc_deinit(), proto_constituency_deinit() - free what the struct owns and zero it. */
void proto_poc_deinit(struct proto_poc *p);
void proto_constituency_deinit(struct proto_constituency *c);

/* proto_poc_copy(), proto_constituency_copy() - deep copies into @dst. 0 or -ENOMEM. */
int proto_poc_copy(struct proto_poc *dst, const struct proto_poc *src);
int proto_constituency_copy(struct proto_constituency *dst, const struct proto_constituency *src);

/*
 * proto_constituency_match() - does @c hold @value (NUL-terminated): an IPv4/IPv6 address or
 * CIDR inside one of its prefixes (a CIDR must lie wholly inside), a domain (or a URL's or
 * e-mail address's domain) equal to or under one of its domains, or "AS<n>" listed.
 * Returns 0 when it does not, else how specifically it does, larger meaning more specific:
 * for an IP the matching prefix length + 1, for a domain 100 + the matching domain's
 * number of labels, for an AS number 1. The value is canonicalised first (proto/indicator.h).
 */
unsigned proto_constituency_match(const struct proto_constituency *c, const char *value);

/*
 * For proto/roster.c: the wire form of the maps above (proto/mp.h writer and reader).
 * proto_poc_write() and proto_constituency_write() write the map only when it is not empty
 * (the caller writes the key first and counts it). The readers decode one map into a zeroed
 * struct (freed by the caller's deinit on any error) and apply the checks.
 */
struct proto_mp_writer;
struct proto_mp_reader;
void proto_poc_write(struct proto_mp_writer *w, const struct proto_poc *p);
void proto_constituency_write(struct proto_mp_writer *w, const struct proto_constituency *c);
int proto_poc_read(struct proto_mp_reader *rd, struct proto_poc *p);
int proto_constituency_read(struct proto_mp_reader *rd, struct proto_constituency *c);

#endif
