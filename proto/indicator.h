/* SPDX-License-Identifier: MIT */
/*
 * proto/indicator.h — indicator types, canonical forms and ids (DESIGN.md §2).
 *
 * An indicator is (type, canonical value). Parsing validates a value for a type and writes
 * its canonical form; anything invalid is rejected with a reason string an operator can act
 * on. indicator_id = BLAKE2b-256("chatham/ind/1" || type name || 0x00 || canonical value),
 * where "type name" is the lower-case ASCII name returned by proto_indicator_type_name().
 *
 * Canonical forms:
 *   ipv4     dotted quad as inet_ntop prints it; CIDR "a.b.c.d/len" with host bits zero
 *   ipv6     inet_ntop form (RFC 5952, lower case); CIDR "addr/len" with host bits zero;
 *            zone ids ("%eth0") are rejected: they name a local interface, not an indicator
 *   domain   lower-case LDH labels, no trailing dot, IDNA "xn--" labels kept as is
 *   url      scheme and host lower-cased, everything else byte for byte
 *   email    local part as given, domain lower-cased
 *   md5/sha1/sha256/sha512  lower-case hex of exactly 32/40/64/128 digits
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
 * proto_indicator_parse() - validate @in (@len bytes, borrowed, need not be NUL-terminated)
 * as an indicator of @type and store its canonical form in @out (caller storage).
 * Leading/trailing ASCII whitespace is not trimmed: callers that read files trim first.
 *
 * Returns 0; PROTO_E_IND_TYPE for an unknown @type; PROTO_E_IND_VALUE when @in is not valid
 * for @type, with *@reason (if @reason is non-NULL) set to a static, specific English reason
 * such as "IPv4 octet out of range" or "domain label longer than 63 characters".
 */
int proto_indicator_parse(struct proto_indicator *out, int type, const char *in, size_t len,
			  const char **reason);

/*
 * proto_indicator_detect() - guess the type of a bare value from a plain-text import line
 * (IPv4/IPv6 with or without CIDR, URL with scheme, email, hashes by length, else domain)
 * and parse it as that type. Same results as proto_indicator_parse().
 */
int proto_indicator_detect(struct proto_indicator *out, const char *in, size_t len,
			   const char **reason);

/* proto_indicator_id() - the 32-byte indicator id of a canonical indicator. */
void proto_indicator_id(const struct proto_indicator *ind, uint8_t id[32]);

/*
 * proto_indicator_id_raw() - the same id from a type and a canonical value that is already
 * known to be canonical (e.g. decoded from a verified report). @value is borrowed.
 */
void proto_indicator_id_raw(int type, const char *value, size_t len, uint8_t id[32]);

/* proto_indicator_type_name() - "ipv4", "ipv6", ..., or NULL for an unknown type. */
const char *proto_indicator_type_name(int type);

/* proto_indicator_type_from_name() - the type for a name (case-insensitive), or -1. */
int proto_indicator_type_from_name(const char *name);

#endif
