/* SPDX-License-Identifier: MIT */
/*
 * node/taxii/query.h — the untrusted parts of a TAXII 2.1 request, parsed without I/O so a
 * fuzzer reaches them: the URL path (which endpoint, which collection and object), the query
 * parameters (added_after, limit, next, match[id|type|version|spec_version]) and the
 * timestamps TAXII uses (RFC 3339, UTC, microseconds).
 *
 * Paths (OASIS TAXII 2.1 §4-5; the trailing slash is optional):
 *   /taxii2/                                      discovery
 *   /<root>/                                      API root
 *   /<root>/collections/                          collections
 *   /<root>/collections/<id>/                     one collection
 *   /<root>/collections/<id>/objects/             objects
 *   /<root>/collections/<id>/objects/<oid>/       one object's versions (envelope)
 *   /<root>/collections/<id>/objects/<oid>/versions/
 *   /<root>/collections/<id>/manifest/
 * where <root> is TAXII_API_ROOT, <id> a UUID and <oid> a STIX id "type--uuid".
 *
 * Errors: -EINVAL with a static English reason in *why (a TAXII error object's description);
 * nothing is allocated, so a failed parse leaves nothing to free.
 * Thread rules: none; the functions only touch their arguments.
 */
#ifndef CHATHAM_NODE_TAXII_QUERY_H
#define CHATHAM_NODE_TAXII_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TAXII_API_ROOT "chatham"
#define TAXII_QUERY_MAX_IDS 32
#define TAXII_QUERY_MAX_VERSIONS 16
#define TAXII_TIME_LEN 28 /* "YYYY-MM-DDTHH:MM:SS.ffffffZ" and a NUL */

enum taxii_endpoint {
	TAXII_EP_NONE = 0, /* no such resource (404) */
	TAXII_EP_DISCOVERY,
	TAXII_EP_API_ROOT,
	TAXII_EP_COLLECTIONS,
	TAXII_EP_COLLECTION,
	TAXII_EP_OBJECTS,
	TAXII_EP_OBJECT,
	TAXII_EP_VERSIONS,
	TAXII_EP_MANIFEST,
};

/* The STIX object types this server holds; anything else is TAXII_TYPE_OTHER. */
enum taxii_type {
	TAXII_TYPE_INDICATOR = 0,
	TAXII_TYPE_IDENTITY = 1,
	TAXII_TYPE_MARKING = 2, /* marking-definition */
	TAXII_TYPE_OTHER = 3,
};

/* A STIX id: its type and the 16 bytes of its UUID. */
struct taxii_id {
	int type; /* enum taxii_type */
	uint8_t uuid[16];
};

struct taxii_route {
	int endpoint;	     /* enum taxii_endpoint */
	uint8_t coll[16];    /* collection UUID (COLLECTION and below) */
	struct taxii_id obj; /* OBJECT and VERSIONS */
};

/*
 * taxii_route_parse() - the endpoint of @path (the URL path, already percent-decoded, without
 * the query string). Never fails: an unknown path gives TAXII_EP_NONE.
 */
void taxii_route_parse(const char *path, struct taxii_route *r);

enum {
	TAXII_VER_LAST = 1u << 0,
	TAXII_VER_FIRST = 1u << 1,
	TAXII_VER_ALL = 1u << 2,
};

struct taxii_query {
	bool has_added_after;
	uint64_t added_after_us; /* microseconds since the Unix epoch */
	unsigned limit;		 /* 0: none given */
	bool has_next;
	uint64_t next; /* the opaque `next` token's position */
	unsigned n_ids;
	struct taxii_id ids[TAXII_QUERY_MAX_IDS];
	bool has_types;
	unsigned types; /* bit per enum taxii_type named in match[type] */
	bool has_version;
	unsigned version_flags; /* TAXII_VER_*; match[version] absent: TAXII_VER_LAST */
	unsigned n_versions;
	uint64_t versions_us[TAXII_QUERY_MAX_VERSIONS]; /* match[version] timestamps */
	bool has_spec;
	bool spec21; /* match[spec_version] names 2.1 (absent: true) */
};

/* taxii_query_init() - no parameters: every default of the spec. */
void taxii_query_init(struct taxii_query *q);

/*
 * taxii_query_add() - one query parameter @key=@value (both percent-decoded, NUL-terminated;
 * @value may be NULL for "?key"). Unknown parameters other than match[...] are ignored, as
 * HTTP servers do; an unknown match[field], a repeated parameter, an empty or malformed
 * value, limit 0 or above 2^31, or more than TAXII_QUERY_MAX_IDS ids / _VERSIONS versions
 * is -EINVAL with *@why.
 */
int taxii_query_add(struct taxii_query *q, const char *key, const char *value, const char **why);

/*
 * taxii_query_parse_string() - every "key=value" of @qs (the raw query string, after '?',
 * with %XX and '+' still encoded) through taxii_query_add(). Used by the fuzzer and tests;
 * the server gets the pairs decoded from libmicrohttpd.
 */
int taxii_query_parse_string(struct taxii_query *q, const char *qs, size_t len, const char **why);

/*
 * taxii_time_parse() - "YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z" (UTC only, as TAXII requires) into
 * microseconds; digits past the sixth are dropped. Returns 0 or -EINVAL.
 */
int taxii_time_parse(const char *s, uint64_t *us);

/* taxii_time_format() - @us as "YYYY-MM-DDTHH:MM:SS.ffffffZ" into @buf (TAXII_TIME_LEN). */
char *taxii_time_format(uint64_t us, char buf[TAXII_TIME_LEN]);

/* taxii_id_parse() - "type--uuid" (lower-case hex uuid). Returns 0 or -EINVAL. */
int taxii_id_parse(const char *s, size_t len, struct taxii_id *id);

/* taxii_uuid_parse() - a 36-character UUID string of @len bytes into 16 bytes. 0 or -EINVAL. */
int taxii_uuid_parse(const char *s, size_t len, uint8_t out[16]);

/* taxii_type_name() - "indicator", "identity", "marking-definition"; NULL for OTHER. */
const char *taxii_type_name(int type);

#endif
