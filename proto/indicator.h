/* SPDX-License-Identifier: MIT */
/*
 * proto/indicator.h — indicator types, canonical forms and ids (DESIGN.md §2).
 *
 * An indicator is (type, canonical value). Parsing validates a value for a type and writes
 * its canonical form; anything invalid is rejected with a reason string an operator can act
 * on. indicator_id = BLAKE2b-256("chatham/ind/1" || type name || 0x00 || canonical value),
 * where "type name" is the lower-case ASCII name returned by proto_indicator_type_name().
 *
 * Canonical forms (every canonical value is printable ASCII; non-ASCII input is rejected):
 *   ipv4     strict dotted quad (four decimal octets, no leading zeros: "01" is ambiguous
 *            octal) as inet_ntop prints it; CIDR "a.b.c.d/len" (len 0..32, no leading
 *            zero) with host bits zero; "/32" is one host and canonicalises to the bare
 *            address ("1.2.3.4/32" -> "1.2.3.4")
 *   ipv6     inet_ntop form (RFC 5952, lower case; IPv4-mapped as "::ffff:a.b.c.d"); CIDR
 *            "addr/len" (len 0..128) with host bits zero; "/128" canonicalises to the bare
 *            address; zone ids ("%eth0") are rejected: they name a local interface, not an
 *            indicator
 *   domain   lower-case LDH labels (1..63 characters, no leading/trailing '-'), at least two
 *            labels, top-level label not all digits, at most 253 characters; one trailing
 *            dot is removed; IDNA "xn--" labels kept as is (raw UTF-8 is rejected: convert
 *            to punycode first); '_' is rejected
 *   url      "scheme://[userinfo@]host[:port]rest": scheme [A-Za-z][A-Za-z0-9+.-]*, host a
 *            domain (as above, trailing dot allowed), a dotted-quad IPv4 address or a
 *            bracketed IPv6 address, port 1..65535 without leading zeros; no whitespace,
 *            control characters, non-ASCII bytes, '\', '<', '>' or '"'; at most
 *            PROTO_IND_VALUE_MAX bytes. Canonical form (RFC 3986 6.2.2-6.2.3, so spellings
 *            of one resource are one indicator): scheme and host lower-cased; the host's
 *            trailing dot removed; a bracketed IPv6 host in inet_ntop form; userinfo
 *            REMOVED (a credential must not be signed and spread, and a "bank.example@"
 *            lure is not part of the host: the host is what follows the last '@'); for
 *            http, https, ws, wss and ftp the default port (80, 443, 80, 443, 21) is
 *            dropped and an empty path is written "/"; path, query and fragment byte for
 *            byte. E.g. "HTTP://u:p@Evil.Example.:80?q" -> "http://evil.example/?q"
 *   email    "local@domain", exactly one '@': local part (1..64 printable ASCII) as given,
 *            domain checked as a domain and lower-cased (trailing dot removed); at most 254
 *   md5/sha1/sha256/sha512  lower-case hex of exactly 32/40/64/128 digits
 *
 * Defanged values ("example[.]com", "hxxp://", "user[at]example.com") are rejected with a
 * reason that says to refang them: the parser never guesses.
 *
 * All functions are pure, allocation-free and thread-safe.
 */
#ifndef CHATHAM_PROTO_INDICATOR_H
#define CHATHAM_PROTO_INDICATOR_H

#include <stddef.h>
#include <stdint.h>

enum proto_ind_type {
	PROTO_IND_IPV4 = 1,
	PROTO_IND_IPV6 = 2,
	PROTO_IND_DOMAIN = 3,
	PROTO_IND_URL = 4,
	PROTO_IND_EMAIL = 5,
	PROTO_IND_MD5 = 6,
	PROTO_IND_SHA1 = 7,
	PROTO_IND_SHA256 = 8,
	PROTO_IND_SHA512 = 9,
};
#define PROTO_IND_TYPE_MIN 1
#define PROTO_IND_TYPE_MAX 9

/* Longest canonical value accepted (URLs); shorter types have their own, smaller limits. */
#define PROTO_IND_VALUE_MAX 2048

/* Caller-owned storage for one canonical indicator. @value is NUL-terminated. */
struct proto_indicator {
	uint8_t type;			     /* enum proto_ind_type */
	uint16_t len;			     /* strlen(value) */
	char value[PROTO_IND_VALUE_MAX + 1]; /* canonical form */
};

/*
 * proto_indicator_parse() - validate @in (@len bytes, borrowed, need not be NUL-terminated;
 * may be NULL when @len is 0) as an indicator of @type and store its canonical form in @out
 * (caller storage, must not be NULL). Leading/trailing ASCII whitespace is not trimmed:
 * callers that read files trim first. Whitespace anywhere is an error.
 *
 * Returns 0 with *@reason (if @reason is non-NULL) set to NULL; PROTO_E_IND_TYPE for an
 * unknown @type; PROTO_E_IND_VALUE when @in is not valid for @type, with *@reason set to a
 * static, specific English reason such as "IPv4 octet out of range" or "domain label longer
 * than 63 characters". Every failure mode of a type has its own reason. On failure @out is
 * left empty (type 0, len 0, value "").
 */
int proto_indicator_parse(struct proto_indicator *out, int type, const char *in, size_t len,
			  const char **reason);

/*
 * proto_indicator_detect() - guess the type of a bare value from a plain-text import line
 * and parse it as that type. The guess, in order: a run of scheme characters followed by
 * "://" -> url; contains '@' -> email; only hex digits, ':', '.', '/' (a '%' zone id may
 * follow) with at least two ':' -> ipv6; starts with a digit, contains '.', only digits, '.',
 * '/' and ':' -> ipv4; only hex digits and 32/40/64/128 of them -> md5/sha1/sha256/sha512;
 * only hex digits of another count -> PROTO_E_IND_VALUE, reason "hex digits of no hash
 * length (...)" (neither a domain nor an address could be written so); else domain.
 * Otherwise the same results and errors as proto_indicator_parse() with that type, so a
 * rejected value gets the reason of the type it looks like.
 */
int proto_indicator_detect(struct proto_indicator *out, const char *in, size_t len,
			   const char **reason);

/* proto_indicator_id() - the 32-byte indicator id of a canonical indicator. */
void proto_indicator_id(const struct proto_indicator *ind, uint8_t id[32]);

/*
 * proto_indicator_id_raw() - the same id from a type and a canonical value that is already
 * known to be canonical (e.g. decoded from a verified report). @value is borrowed. The value
 * is hashed as given, not re-canonicalised. An unknown @type (a programmer error) yields
 * an all-zero id, which no real indicator has.
 */
void proto_indicator_id_raw(int type, const char *value, size_t len, uint8_t id[32]);

/* proto_indicator_type_name() - "ipv4", "ipv6", ..., or NULL for an unknown type. */
const char *proto_indicator_type_name(int type);

/* proto_indicator_type_from_name() - the type for a name (case-insensitive), or -1. */
int proto_indicator_type_from_name(const char *name);

#endif
