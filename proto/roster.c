/* SPDX-License-Identifier: MIT */
/*
 * Rosters: canonical codec, checks, steward signatures and verification.
 *
 * One rule set, proto_roster_check(), serves both directions. The decoder parses the wire
 * structure (types, key order, limits that bound allocation) and then runs the same check the
 * encoder runs before writing. Together with proto/mp.h's canonical reader this gives the
 * property the rest of the system leans on: a decoded roster re-encodes to exactly the bytes
 * it was decoded from. Verification relies on it: it re-encodes the body from the struct
 * instead of keeping the received bytes, so what was verified is precisely what the caller
 * goes on to use.
 */
#include "proto/roster.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"
#include "proto/indicator.h"
#include "proto/mp.h"
#include "proto/ring.h"

#define DOMAIN_LEN (sizeof(PROTO_ROSTER_DOMAIN) - 1)
#define HOST_MAX 253

struct proto_roster *proto_roster_new(void)
{
	struct proto_roster *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->settings.min_ring_size = PROTO_ROSTER_MIN_RING_DEFAULT;
	return r;
}

void proto_roster_texts_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void member_deinit(struct proto_member *m)
{
	free(m->name);
	proto_roster_texts_free(m->aliases, m->n_aliases);
	proto_roster_texts_free(m->domains, m->n_domains);
	proto_roster_texts_free(m->addrs, m->n_addrs);
	proto_poc_deinit(&m->poc);
	proto_constituency_deinit(&m->constituency);
	memset(m, 0, sizeof(*m));
}

void proto_roster_clear_sigs(struct proto_roster *r)
{
	free(r->sig_steward);
	free(r->sigs);
	r->sig_steward = NULL;
	r->sigs = NULL;
	r->n_sigs = 0;
}

void proto_roster_clear_netkey(struct proto_roster *r)
{
	free(r->netkey_sealed);
	r->netkey_sealed = NULL;
	r->netkey_old_until_ms = 0;
}

void proto_roster_clear_oprf(struct proto_roster *r)
{
	free(r->oprf_vks);
	r->oprf_vks = NULL;
	r->oprf_n = 0;
	r->oprf_t = 0;
	r->oprf_generation = 0;
}

int proto_roster_set_oprf(struct proto_roster *r, uint64_t generation, uint32_t t,
			  const uint8_t (*vks)[32], size_t n)
{
	uint8_t(*copy)[32];

	if (n == 0 || n > PROTO_ROSTER_STEWARDS_MAX)
		return -EINVAL;
	copy = malloc(n * sizeof(*copy));
	if (!copy)
		return -ENOMEM;
	memcpy(copy, vks, n * sizeof(*copy));
	proto_roster_clear_oprf(r);
	proto_roster_clear_sigs(r);
	r->oprf_vks = copy;
	r->oprf_n = n;
	r->oprf_t = t;
	r->oprf_generation = generation;
	return 0;
}

void proto_roster_free(struct proto_roster *r)
{
	if (!r)
		return;
	free(r->name);
	free(r->stewards);
	if (r->members) {
		for (size_t i = 0; i < r->n_members; i++)
			member_deinit(&r->members[i]);
		free(r->members);
	}
	free(r->retired);
	proto_roster_clear_netkey(r);
	proto_roster_clear_oprf(r);
	proto_roster_clear_sigs(r);
	free(r);
}

/* ---- checks ---------------------------------------------------------------------------- */

int proto_roster_check_text(const char *s, size_t len, size_t max)
{
	const uint8_t *p = (const uint8_t *)s;

	if (!s || len == 0)
		return PROTO_E_EMPTY;
	if (len > max)
		return PROTO_E_TOO_LARGE;
	if (!proto_mp_utf8_valid(s, len))
		return PROTO_E_UTF8;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return PROTO_E_ROSTER_TEXT;
		/* U+0080..U+009F (C1 controls) are 0xc2 0x80..0x9f; the UTF-8 check above
		 * guarantees the continuation byte exists. */
		if (p[i] == 0xc2 && p[i + 1] <= 0x9f)
			return PROTO_E_ROSTER_TEXT;
	}
	return 0;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_ldh(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

/* Decimal port 1..65535 without leading zeros. */
static bool port_ok(const char *s, size_t n)
{
	unsigned v = 0;

	if (n == 0 || n > 5 || s[0] == '0')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	return v <= 65535;
}

/* A host name of LDH labels (either case: addresses are dialled, never compared). */
static bool hostname_ok(const char *s, size_t n)
{
	size_t label = 0;

	if (n == 0 || n > HOST_MAX)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (label == 0 || label > 63 || s[i - 1] == '-' || s[i - label] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!is_ldh(s[i]))
			return false;
		label++;
	}
	return true;
}

static const char *addr_check(const char *s, size_t n)
{
	char host[64];
	const char *colon;
	size_t hlen;
	bool numeric = true;

	if (s[0] == '[') {
		const char *close = memchr(s, ']', n);

		if (!close)
			return "address: '[' without ']'";
		hlen = (size_t)(close - s - 1);
		if (hlen == 0 || hlen >= sizeof(host))
			return "address: bad IPv6 literal";
		memcpy(host, s + 1, hlen);
		host[hlen] = 0;
		if (inet_pton(AF_INET6, host, (uint8_t[16]){0}) != 1)
			return "address: bad IPv6 literal";
		if ((size_t)(close - s) + 1 >= n || close[1] != ':')
			return "address: missing ':port' after ']'";
		colon = close + 1;
	} else {
		colon = memrchr(s, ':', n);
		if (!colon)
			return "address: missing ':port'";
		hlen = (size_t)(colon - s);
		if (memchr(s, ':', hlen))
			return "address: IPv6 literal must be in brackets";
		for (size_t i = 0; i < hlen; i++)
			numeric = numeric && (is_digit(s[i]) || s[i] == '.');
		if (numeric) {
			if (hlen == 0 || hlen >= sizeof(host))
				return "address: bad IPv4 address";
			memcpy(host, s, hlen);
			host[hlen] = 0;
			if (inet_pton(AF_INET, host, (uint8_t[4]){0}) != 1)
				return "address: bad IPv4 address";
		} else if (!hostname_ok(s, hlen)) {
			return "address: bad host name";
		}
	}
	if (!port_ok(colon + 1, n - (size_t)(colon + 1 - s)))
		return "address: port must be 1-65535 without leading zeros";
	return NULL;
}

static const char *domain_check(const char *s, size_t n)
{
	struct proto_indicator ind;
	const char *reason = NULL;

	if (proto_indicator_parse(&ind, PROTO_IND_DOMAIN, s, n, &reason) != 0)
		return reason ? reason : "invalid domain";
	if (ind.len != n || memcmp(ind.value, s, n) != 0)
		return "domain not in canonical form (lower case, no trailing dot)";
	return NULL;
}

enum list_kind { LIST_ALIAS, LIST_DOMAIN, LIST_ADDR };

static int check_list(char *const *v, size_t n, enum list_kind kind, const char **reason)
{
	static const char *const what[] = {"alias", "domain", "address"};
	const char *why;
	int err;

	if (n > PROTO_ROSTER_ALIASES_MAX) {
		*reason = "too many aliases, domains or addresses";
		return PROTO_E_TOO_LARGE;
	}
	if (n > 0 && !v) {
		*reason = "list pointer missing";
		return PROTO_E_EMPTY;
	}
	for (size_t i = 0; i < n; i++) {
		size_t len = v[i] ? strlen(v[i]) : 0;

		err = proto_roster_check_text(v[i], len, PROTO_ROSTER_ADDR_MAX);
		if (err) {
			*reason = what[kind];
			return err;
		}
		why = kind == LIST_DOMAIN ? domain_check(v[i], len)
		      : kind == LIST_ADDR ? addr_check(v[i], len)
					  : NULL;
		if (why) {
			*reason = why;
			return PROTO_E_ROSTER_MEMBER;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(v[i], v[j]) == 0) {
				*reason = kind == LIST_ALIAS	? "duplicate alias"
					  : kind == LIST_DOMAIN ? "duplicate domain"
								: "duplicate address";
				return PROTO_E_ROSTER_MEMBER;
			}
		}
	}
	return 0;
}

int proto_roster_check_member(const struct proto_member *m, const char **reason)
{
	const char *dummy;
	int err;

	if (!reason)
		reason = &dummy;
	*reason = NULL;
	err = proto_roster_check_text(m->name, m->name ? strlen(m->name) : 0,
				      PROTO_ROSTER_NAME_MAX);
	if (err) {
		*reason = "display name";
		return err;
	}
	if ((err = check_list(m->aliases, m->n_aliases, LIST_ALIAS, reason)) ||
	    (err = check_list(m->domains, m->n_domains, LIST_DOMAIN, reason)) ||
	    (err = check_list(m->addrs, m->n_addrs, LIST_ADDR, reason)) ||
	    (err = proto_poc_check(&m->poc, reason)) ||
	    (err = proto_constituency_check(&m->constituency, reason)))
		return err;
	if (!crypto_core_ed25519_is_valid_point(m->id)) {
		*reason = "member id is not a valid Ed25519 public key";
		return PROTO_E_ROSTER_MEMBER;
	}
	/* Stricter than libsodium's check: no identity, no second encoding (proto/ring.h). */
	if (proto_ring_pk_check(m->ring_pk) != 0) {
		*reason = "ring key is not a canonical, non-identity ristretto255 point";
		return PROTO_E_ROSTER_MEMBER;
	}
	if (memcmp(m->id, m->transport_pk, 32) == 0 || memcmp(m->id, m->ring_pk, 32) == 0 ||
	    memcmp(m->transport_pk, m->ring_pk, 32) == 0) {
		*reason = "one key used for two jobs";
		return PROTO_E_ROSTER_MEMBER;
	}
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/*
 * Every public key in the roster must be distinct: sort them all once and compare
 * neighbours, O(n log n) for up to 32 + 3 * 4096 keys.
 */
static int check_keys_distinct(const struct proto_roster *r)
{
	size_t n = r->n_stewards + 3 * r->n_members + r->n_retired, k = 0;
	uint8_t(*keys)[32] = malloc(n * 32);
	int err = 0;

	if (!keys)
		return -ENOMEM;
	for (size_t i = 0; i < r->n_stewards; i++)
		memcpy(keys[k++], r->stewards[i], 32);
	for (size_t i = 0; i < r->n_members; i++) {
		memcpy(keys[k++], r->members[i].id, 32);
		memcpy(keys[k++], r->members[i].transport_pk, 32);
		memcpy(keys[k++], r->members[i].ring_pk, 32);
	}
	for (size_t i = 0; i < r->n_retired; i++)
		memcpy(keys[k++], r->retired[i].id, 32);
	qsort(keys, n, 32, cmp_key);
	for (size_t i = 1; i < n; i++) {
		if (memcmp(keys[i - 1], keys[i], 32) == 0) {
			err = PROTO_E_ROSTER_MEMBER;
			break;
		}
	}
	free(keys);
	return err;
}

static int check_body(const struct proto_roster *r)
{
	int err;

	err = proto_roster_check_text(r->name, r->name ? strlen(r->name) : 0,
				      PROTO_ROSTER_NAME_MAX);
	if (err)
		return err;
	if (r->epoch == 0)
		return PROTO_E_RANGE;
	if (r->n_stewards == 0 || !r->stewards)
		return PROTO_E_EMPTY;
	if (r->n_stewards > PROTO_ROSTER_STEWARDS_MAX)
		return PROTO_E_TOO_LARGE;
	for (size_t i = 0; i < r->n_stewards; i++) {
		if (!crypto_core_ed25519_is_valid_point(r->stewards[i]))
			return PROTO_E_ROSTER_STEWARD;
		for (size_t j = 0; j < i; j++)
			if (memcmp(r->stewards[i], r->stewards[j], 32) == 0)
				return PROTO_E_ROSTER_STEWARD;
	}
	if (r->threshold == 0 || r->threshold > r->n_stewards)
		return PROTO_E_RANGE;
	if (r->settings.min_ring_size < PROTO_ROSTER_MIN_RING_MIN ||
	    r->settings.min_ring_size > PROTO_ROSTER_MEMBERS_MAX)
		return PROTO_E_RANGE;
	if (r->n_members == 0 || !r->members)
		return PROTO_E_EMPTY;
	if (r->n_members > PROTO_ROSTER_MEMBERS_MAX)
		return PROTO_E_TOO_LARGE;
	for (size_t i = 0; i < r->n_members; i++) {
		err = proto_roster_check_member(&r->members[i], NULL);
		if (err)
			return err;
		if (i > 0 && memcmp(r->members[i - 1].id, r->members[i].id, 32) >= 0)
			return PROTO_E_ROSTER_MEMBER;
	}
	if (r->n_retired > PROTO_ROSTER_RETIRED_MAX)
		return PROTO_E_TOO_LARGE;
	if (r->n_retired > 0 && !r->retired)
		return PROTO_E_EMPTY;
	for (size_t i = 0; i < r->n_retired; i++) {
		const struct proto_retired *e = &r->retired[i];

		if (!crypto_core_ed25519_is_valid_point(e->id))
			return PROTO_E_ROSTER_MEMBER;
		if (i > 0 && memcmp(r->retired[i - 1].id, e->id, 32) >= 0)
			return PROTO_E_ROSTER_MEMBER;
		if (e->has_successor && proto_roster_find_member(r, e->successor) < 0)
			return PROTO_E_ROSTER_MEMBER;
	}
	if (r->netkey_sealed && r->netkey_old_until_ms == 0)
		return PROTO_E_RANGE;
	if (r->oprf_vks) {
		if (r->oprf_generation == 0 || r->oprf_n == 0 ||
		    r->oprf_n > PROTO_ROSTER_STEWARDS_MAX || r->oprf_t == 0 ||
		    r->oprf_t > r->oprf_n)
			return PROTO_E_RANGE;
		for (size_t i = 0; i < r->oprf_n; i++)
			if (proto_ring_pk_check(r->oprf_vks[i]))
				return PROTO_E_RING_POINT;
	}
	return check_keys_distinct(r);
}

static int check_sigs(const struct proto_roster *r)
{
	if (r->n_sigs > PROTO_ROSTER_STEWARDS_MAX)
		return PROTO_E_TOO_LARGE;
	if (r->n_sigs > 0 && (!r->sig_steward || !r->sigs))
		return PROTO_E_EMPTY;
	for (size_t i = 0; i < r->n_sigs; i++) {
		if (r->sig_steward[i] >= PROTO_ROSTER_STEWARDS_MAX)
			return PROTO_E_ROSTER_STEWARD;
		if (i > 0 && r->sig_steward[i] == r->sig_steward[i - 1])
			return PROTO_E_ROSTER_DUP_SIG;
		if (i > 0 && r->sig_steward[i] < r->sig_steward[i - 1])
			return PROTO_E_ROSTER_SIG_ORDER;
	}
	return 0;
}

int proto_roster_check(const struct proto_roster *r)
{
	int err = check_body(r);

	return err ? err : check_sigs(r);
}

/* ---- encoding -------------------------------------------------------------------------- */

static void write_member(struct proto_mp_writer *w, const struct proto_member *m)
{
	bool poc = !proto_poc_empty(&m->poc), cons = !proto_constituency_empty(&m->constituency);

	proto_mp_write_map(w, 4 + (m->n_aliases > 0) + (m->n_domains > 0) + (m->n_addrs > 0) + poc +
				      cons);
	proto_mp_write_uint(w, 0);
	proto_mp_write_bin(w, m->id, 32);
	proto_mp_write_uint(w, 1);
	proto_mp_write_cstr(w, m->name);
	if (m->n_aliases > 0) {
		proto_mp_write_uint(w, 2);
		proto_mp_write_cstrs(w, m->aliases, m->n_aliases);
	}
	if (m->n_domains > 0) {
		proto_mp_write_uint(w, 3);
		proto_mp_write_cstrs(w, m->domains, m->n_domains);
	}
	proto_mp_write_uint(w, 4);
	proto_mp_write_bin(w, m->transport_pk, 32);
	proto_mp_write_uint(w, 5);
	proto_mp_write_bin(w, m->ring_pk, 32);
	if (m->n_addrs > 0) {
		proto_mp_write_uint(w, 6);
		proto_mp_write_cstrs(w, m->addrs, m->n_addrs);
	}
	if (poc) {
		proto_mp_write_uint(w, 7);
		proto_poc_write(w, &m->poc);
	}
	if (cons) {
		proto_mp_write_uint(w, 8);
		proto_constituency_write(w, &m->constituency);
	}
}

static void write_retired(struct proto_mp_writer *w, const struct proto_retired *e)
{
	proto_mp_write_map(w, 2 + e->has_successor);
	proto_mp_write_uint(w, 0);
	proto_mp_write_bin(w, e->id, 32);
	proto_mp_write_uint(w, 1);
	proto_mp_write_uint(w, e->not_after_ms);
	if (e->has_successor) {
		proto_mp_write_uint(w, 2);
		proto_mp_write_bin(w, e->successor, 32);
	}
}

static void write_body(struct proto_mp_writer *w, const struct proto_roster *r)
{
	proto_mp_write_map(w, 8 + (r->n_retired > 0) + (r->netkey_sealed != NULL) +
				      (r->oprf_vks != NULL));
	proto_mp_write_uint(w, 0);
	proto_mp_write_uint(w, PROTO_ROSTER_VERSION);
	proto_mp_write_uint(w, 1);
	proto_mp_write_bin(w, r->community, 32);
	proto_mp_write_uint(w, 2);
	proto_mp_write_cstr(w, r->name);
	proto_mp_write_uint(w, 3);
	proto_mp_write_uint(w, r->epoch);
	proto_mp_write_uint(w, 4);
	proto_mp_write_uint(w, r->threshold);
	proto_mp_write_uint(w, 5);
	proto_mp_write_array(w, r->n_stewards);
	for (size_t i = 0; i < r->n_stewards; i++)
		proto_mp_write_bin(w, r->stewards[i], 32);
	proto_mp_write_uint(w, 6);
	proto_mp_write_map(w, r->settings.withdraw_departed ? 4 : 3);
	proto_mp_write_uint(w, 0);
	proto_mp_write_uint(w, r->settings.min_ring_size);
	proto_mp_write_uint(w, 1);
	proto_mp_write_bool(w, r->settings.require_anonymous);
	proto_mp_write_uint(w, 2);
	proto_mp_write_uint(w, r->settings.max_report_age_ms);
	if (r->settings.withdraw_departed) { /* absent when off: older rosters stay as they were */
		proto_mp_write_uint(w, 3);
		proto_mp_write_bool(w, true);
	}
	proto_mp_write_uint(w, 7);
	proto_mp_write_array(w, r->n_members);
	for (size_t i = 0; i < r->n_members; i++)
		write_member(w, &r->members[i]);
	if (r->n_retired > 0) {
		proto_mp_write_uint(w, 8);
		proto_mp_write_array(w, r->n_retired);
		for (size_t i = 0; i < r->n_retired; i++)
			write_retired(w, &r->retired[i]);
	}
	if (r->netkey_sealed) {
		proto_mp_write_uint(w, 9);
		proto_mp_write_map(w, 2);
		proto_mp_write_uint(w, 0);
		proto_mp_write_uint(w, r->netkey_old_until_ms);
		proto_mp_write_uint(w, 1);
		proto_mp_write_array(w, r->n_members);
		for (size_t i = 0; i < r->n_members; i++)
			proto_mp_write_bin(w, r->netkey_sealed[i], PROTO_ROSTER_SEALED_NETKEY_LEN);
	}
	if (r->oprf_vks) {
		proto_mp_write_uint(w, 10);
		proto_mp_write_map(w, 3);
		proto_mp_write_uint(w, 0);
		proto_mp_write_uint(w, r->oprf_generation);
		proto_mp_write_uint(w, 1);
		proto_mp_write_uint(w, r->oprf_t);
		proto_mp_write_uint(w, 2);
		proto_mp_write_array(w, r->oprf_n);
		for (size_t i = 0; i < r->oprf_n; i++)
			proto_mp_write_bin(w, r->oprf_vks[i], 32);
	}
}

int proto_roster_encode_body(const struct proto_roster *r, uint8_t **out, size_t *out_len)
{
	struct proto_mp_writer w;
	int err = check_body(r);

	if (err)
		return err;
	proto_mp_writer_init(&w);
	write_body(&w, r);
	return proto_mp_writer_finish(&w, out, out_len);
}

int proto_roster_encode(const struct proto_roster *r, uint8_t **out, size_t *out_len)
{
	struct proto_mp_writer w;
	uint8_t *body;
	size_t body_len;
	int err;

	if ((err = check_sigs(r)) || (err = proto_roster_encode_body(r, &body, &body_len)))
		return err;
	proto_mp_writer_init(&w);
	proto_mp_write_array(&w, 2);
	proto_mp_write_bin(&w, body, body_len);
	proto_mp_write_array(&w, r->n_sigs);
	for (size_t i = 0; i < r->n_sigs; i++) {
		proto_mp_write_array(&w, 2);
		proto_mp_write_uint(&w, r->sig_steward[i]);
		proto_mp_write_bin(&w, r->sigs[i], 64);
	}
	free(body);
	err = proto_mp_writer_finish(&w, out, out_len);
	if (err == 0 && *out_len > PROTO_ROSTER_MAX_BYTES) {
		free(*out);
		*out = NULL;
		return PROTO_E_TOO_LARGE;
	}
	return err;
}

/* ---- decoding -------------------------------------------------------------------------- */

int proto_roster_read_text(struct proto_mp_reader *rd, size_t max, char **out)
{
	const char *s;
	size_t n;
	int err;

	if ((err = proto_mp_read_str(rd, max, &s, &n)) ||
	    (err = proto_roster_check_text(s, n, max)))
		return err;
	*out = malloc(n + 1);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, s, n);
	(*out)[n] = 0;
	return 0;
}

/* Reads one element of an array into @elem (see read_array()); @elem_max as given there. */
typedef int (*read_elem_fn)(struct proto_mp_reader *rd, void *elem, size_t elem_max);

/*
 * A non-empty array of at most @max elements of @size bytes, each read by @one (passed
 * @elem_max: a text's byte limit, unused by other elements) into a calloc'd array returned
 * in *@arr. *@arr and *@n_out are set before the elements are read, so after a
 * failure the caller stores them anyway and proto_roster_free() releases what was read.
 * Absence is the only encoding of "none", so an empty array is PROTO_E_EMPTY.
 */
static int read_array(struct proto_mp_reader *rd, size_t max, size_t size, read_elem_fn one,
		      size_t elem_max, void **arr, size_t *n_out)
{
	uint8_t *p;
	size_t n;
	int err;

	if ((err = proto_mp_read_array(rd, max, &n)))
		return err;
	if (n == 0)
		return PROTO_E_EMPTY;
	p = calloc(n, size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*n_out = n;
	for (size_t i = 0; i < n; i++)
		if ((err = one(rd, p + i * size, elem_max)))
			return err;
	return 0;
}

static int read_id(struct proto_mp_reader *rd, void *elem, size_t elem_max)
{
	(void)elem_max;
	return proto_mp_read_bin_fixed(rd, elem, 32);
}

static int read_text_elem(struct proto_mp_reader *rd, void *elem, size_t elem_max)
{
	return proto_roster_read_text(rd, elem_max, elem);
}

int proto_roster_read_texts(struct proto_mp_reader *rd, size_t n_max, size_t max, char ***v,
			    size_t *n_out)
{
	void *p = NULL;
	int err = read_array(rd, n_max, sizeof(char *), read_text_elem, max, &p, n_out);

	*v = p;
	return err;
}

/* An optional list of texts (aliases, domains, addresses). */
static int read_list(struct proto_mp_reader *rd, char ***v, size_t *n_out)
{
	return proto_roster_read_texts(rd, PROTO_ROSTER_ALIASES_MAX, PROTO_ROSTER_ADDR_MAX, v,
				       n_out);
}

/*
 * A map of small integer keys, each value read by @field (which returns PROTO_E_KEY_UNKNOWN
 * for a key it does not know); *@seen gets bit k for each key k read. Map headers are read
 * with a limit above the number of known keys (16), so that an extra entry is reported as
 * PROTO_E_KEY_UNKNOWN rather than as a count over the limit.
 */
static int read_map(struct proto_mp_reader *rd,
		    int (*field)(struct proto_mp_reader *, uint64_t, void *), void *ctx,
		    unsigned *seen)
{
	struct proto_mp_map map;
	uint64_t key;
	int err;

	*seen = 0;
	if ((err = proto_mp_map_begin(rd, &map, 16)))
		return err;
	while ((err = proto_mp_map_next(rd, &map, &key)) > 0) {
		if ((err = field(rd, key, ctx)))
			return err;
		*seen |= 1u << key; /* known keys are < 16 */
	}
	return err;
}

static int member_field(struct proto_mp_reader *rd, uint64_t key, void *ctx)
{
	struct proto_member *m = ctx;

	switch (key) {
	case 0:
		return proto_mp_read_bin_fixed(rd, m->id, 32);
	case 1:
		return proto_roster_read_text(rd, PROTO_ROSTER_NAME_MAX, &m->name);
	case 2:
		return read_list(rd, &m->aliases, &m->n_aliases);
	case 3:
		return read_list(rd, &m->domains, &m->n_domains);
	case 4:
		return proto_mp_read_bin_fixed(rd, m->transport_pk, 32);
	case 5:
		return proto_mp_read_bin_fixed(rd, m->ring_pk, 32);
	case 6:
		return read_list(rd, &m->addrs, &m->n_addrs);
	case 7:
		return proto_poc_read(rd, &m->poc);
	case 8:
		return proto_constituency_read(rd, &m->constituency);
	}
	return PROTO_E_KEY_UNKNOWN;
}

static int read_member(struct proto_mp_reader *rd, struct proto_member *m)
{
	unsigned seen;
	int err = read_map(rd, member_field, m, &seen);

	if (err)
		return err;
	if ((seen & 0x33) != 0x33) /* id, name, transport and ring keys */
		return PROTO_E_KEY_MISSING;
	return 0;
}

static int settings_field(struct proto_mp_reader *rd, uint64_t key, void *ctx)
{
	struct proto_roster_settings *s = ctx;
	uint64_t v;
	int err;

	switch (key) {
	case 0:
		err = proto_mp_read_uint_max(rd, PROTO_ROSTER_MEMBERS_MAX, &v);
		s->min_ring_size = (uint32_t)v;
		return err;
	case 1:
		return proto_mp_read_bool(rd, &s->require_anonymous);
	case 2:
		return proto_mp_read_uint(rd, &s->max_report_age_ms);
	case 3:
		/* Written only when on: "false" would be a second encoding of one roster. */
		err = proto_mp_read_bool(rd, &s->withdraw_departed);
		return err ? err : s->withdraw_departed ? 0 : PROTO_E_RANGE;
	}
	return PROTO_E_KEY_UNKNOWN;
}

static int read_settings(struct proto_mp_reader *rd, struct proto_roster_settings *s)
{
	unsigned seen;
	int err = read_map(rd, settings_field, s, &seen);

	if (err)
		return err;
	return (seen & 0x7) == 0x7 ? 0 : PROTO_E_KEY_MISSING;
}

static int read_stewards(struct proto_mp_reader *rd, struct proto_roster *r)
{
	void *p = NULL;
	int err = read_array(rd, PROTO_ROSTER_STEWARDS_MAX, 32, read_id, 0, &p, &r->n_stewards);

	r->stewards = p;
	return err;
}

static int read_member_elem(struct proto_mp_reader *rd, void *elem, size_t elem_max)
{
	(void)elem_max;
	return read_member(rd, elem);
}

static int read_members(struct proto_mp_reader *rd, struct proto_roster *r)
{
	void *p = NULL;
	int err = read_array(rd, PROTO_ROSTER_MEMBERS_MAX, sizeof(*r->members), read_member_elem, 0,
			     &p, &r->n_members);

	r->members = p;
	return err;
}

static int retired_field(struct proto_mp_reader *rd, uint64_t key, void *ctx)
{
	struct proto_retired *e = ctx;

	switch (key) {
	case 0:
		return proto_mp_read_bin_fixed(rd, e->id, 32);
	case 1:
		return proto_mp_read_uint(rd, &e->not_after_ms);
	case 2:
		e->has_successor = true;
		return proto_mp_read_bin_fixed(rd, e->successor, 32);
	}
	return PROTO_E_KEY_UNKNOWN;
}

static int read_retired_entry(struct proto_mp_reader *rd, struct proto_retired *e)
{
	unsigned seen;
	int err = read_map(rd, retired_field, e, &seen);

	if (err)
		return err;
	return (seen & 0x3) == 0x3 ? 0 : PROTO_E_KEY_MISSING;
}

static int read_retired_elem(struct proto_mp_reader *rd, void *elem, size_t elem_max)
{
	(void)elem_max;
	return read_retired_entry(rd, elem);
}

static int read_retired(struct proto_mp_reader *rd, struct proto_roster *r)
{
	void *p = NULL;
	int err = read_array(rd, PROTO_ROSTER_RETIRED_MAX, sizeof(*r->retired), read_retired_elem,
			     0, &p, &r->n_retired);

	r->retired = p;
	return err;
}

/* Body key 9. The members (key 7) are read already: one sealed key per member. */
static int read_netkey(struct proto_mp_reader *rd, struct proto_roster *r)
{
	struct proto_mp_map map;
	uint64_t key;
	size_t n;
	int err;

	if ((err = proto_mp_map_begin(rd, &map, 2)))
		return err;
	if ((err = proto_mp_map_next(rd, &map, &key)) <= 0 || key != 0)
		return err < 0 ? err : PROTO_E_KEY_MISSING;
	if ((err = proto_mp_read_uint(rd, &r->netkey_old_until_ms)))
		return err;
	if (r->netkey_old_until_ms == 0)
		return PROTO_E_RANGE;
	if ((err = proto_mp_map_next(rd, &map, &key)) <= 0 || key != 1)
		return err < 0 ? err : PROTO_E_KEY_MISSING;
	if ((err = proto_mp_read_array(rd, PROTO_ROSTER_MEMBERS_MAX, &n)))
		return err;
	if (n != r->n_members || n == 0)
		return PROTO_E_RANGE;
	r->netkey_sealed = calloc(n, sizeof(*r->netkey_sealed));
	if (!r->netkey_sealed)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if ((err = proto_mp_read_bin_fixed(rd, r->netkey_sealed[i],
						   PROTO_ROSTER_SEALED_NETKEY_LEN)))
			return err;
	if ((err = proto_mp_map_next(rd, &map, &key)) != 0)
		return err < 0 ? err : PROTO_E_KEY_UNKNOWN;
	return 0;
}

/* Body key 10: the OPRF key holders. Ranges and points are check_body()'s (decode runs it). */
static int read_oprf(struct proto_mp_reader *rd, struct proto_roster *r)
{
	struct proto_mp_map map;
	uint64_t key, v;
	size_t n;
	int err;

	if ((err = proto_mp_map_begin(rd, &map, 3)) ||
	    (err = proto_mp_map_expect_key(rd, &map, 0)) ||
	    (err = proto_mp_read_uint(rd, &r->oprf_generation)) ||
	    (err = proto_mp_map_expect_key(rd, &map, 1)) ||
	    (err = proto_mp_read_uint_max(rd, PROTO_ROSTER_STEWARDS_MAX, &v)))
		return err;
	r->oprf_t = (uint32_t)v;
	if ((err = proto_mp_map_expect_key(rd, &map, 2)) ||
	    (err = proto_mp_read_array(rd, PROTO_ROSTER_STEWARDS_MAX, &n)))
		return err;
	if (n == 0)
		return PROTO_E_EMPTY;
	r->oprf_vks = calloc(n, sizeof(*r->oprf_vks));
	if (!r->oprf_vks)
		return -ENOMEM;
	r->oprf_n = n;
	for (size_t i = 0; i < n; i++)
		if ((err = proto_mp_read_bin_fixed(rd, r->oprf_vks[i], 32)))
			return err;
	if ((err = proto_mp_map_next(rd, &map, &key)) != 0)
		return err < 0 ? err : PROTO_E_KEY_UNKNOWN;
	return 0;
}

/*
 * Reads the body into @r. With @head_only, stops once the epoch (key 3) is read: keys ascend
 * in the canonical form, so nothing after it (stewards, settings, members) is touched.
 */
static int read_body(struct proto_roster *r, const uint8_t *buf, size_t len, bool head_only)
{
	struct proto_mp_reader rd;
	struct proto_mp_map map;
	unsigned seen = 0;
	uint64_t key, v;
	int err;

	proto_mp_reader_init(&rd, buf, len);
	if ((err = proto_mp_map_begin(&rd, &map, 16)))
		return err;
	while ((err = proto_mp_map_next(&rd, &map, &key)) > 0) {
		if (head_only && key > 3)
			return PROTO_E_KEY_MISSING;
		switch (key) {
		case 0:
			err = proto_mp_read_uint(&rd, &v);
			if (err == 0 && v != PROTO_ROSTER_VERSION)
				err = PROTO_E_VERSION;
			break;
		case 1:
			err = proto_mp_read_bin_fixed(&rd, r->community, 32);
			break;
		case 2:
			err = proto_roster_read_text(&rd, PROTO_ROSTER_NAME_MAX, &r->name);
			break;
		case 3:
			err = proto_mp_read_uint(&rd, &r->epoch);
			if (head_only)
				return err;
			break;
		case 4:
			err = proto_mp_read_uint_max(&rd, PROTO_ROSTER_STEWARDS_MAX, &v);
			r->threshold = (uint32_t)v;
			break;
		case 5:
			err = read_stewards(&rd, r);
			break;
		case 6:
			err = read_settings(&rd, &r->settings);
			break;
		case 7:
			err = read_members(&rd, r);
			break;
		case 8:
			err = read_retired(&rd, r);
			break;
		case 9:
			err = read_netkey(&rd, r);
			break;
		case 10:
			err = read_oprf(&rd, r);
			break;
		default:
			return PROTO_E_KEY_UNKNOWN;
		}
		if (err)
			return err;
		seen |= 1u << key;
	}
	if (err)
		return err;
	if ((seen & 0xff) != 0xff)
		return PROTO_E_KEY_MISSING;
	return proto_mp_reader_finish(&rd);
}

static int read_sigs(struct proto_mp_reader *rd, struct proto_roster *r)
{
	size_t n, pair;
	uint64_t idx;
	int err;

	if ((err = proto_mp_read_array(rd, PROTO_ROSTER_STEWARDS_MAX, &n)))
		return err;
	if (n == 0)
		return 0;
	r->sig_steward = calloc(n, sizeof(*r->sig_steward));
	r->sigs = calloc(n, sizeof(*r->sigs));
	if (!r->sig_steward || !r->sigs)
		return -ENOMEM;
	r->n_sigs = n;
	for (size_t i = 0; i < n; i++) {
		if ((err = proto_mp_read_array(rd, 2, &pair)))
			return err;
		if (pair != 2)
			return PROTO_E_TYPE;
		if ((err = proto_mp_read_uint(rd, &idx)))
			return err;
		if (idx >= PROTO_ROSTER_STEWARDS_MAX)
			return PROTO_E_ROSTER_STEWARD;
		r->sig_steward[i] = (uint32_t)idx;
		if ((err = proto_mp_read_bin_fixed(rd, r->sigs[i], 64)))
			return err;
	}
	return 0;
}

/* The outer [body, signatures] array up to the signatures: the body in @body/@body_len. */
static int read_outer(struct proto_mp_reader *rd, const uint8_t *buf, size_t len,
		      const uint8_t **body, size_t *body_len)
{
	size_t n;
	int err;

	if (len > PROTO_ROSTER_MAX_BYTES)
		return PROTO_E_TOO_LARGE;
	proto_mp_reader_init(rd, buf, len);
	if ((err = proto_mp_read_array(rd, 2, &n)))
		return err;
	if (n != 2)
		return PROTO_E_TYPE;
	return proto_mp_read_bin(rd, PROTO_ROSTER_MAX_BYTES, body, body_len);
}

int proto_roster_decode(struct proto_roster **out, const uint8_t *buf, size_t len)
{
	struct proto_mp_reader rd;
	struct proto_roster *r = NULL;
	const uint8_t *body;
	size_t body_len;
	int err;

	*out = NULL;
	if ((err = read_outer(&rd, buf, len, &body, &body_len)))
		return err;
	r = proto_roster_new();
	if (!r)
		return -ENOMEM;
	if ((err = read_sigs(&rd, r)) || (err = proto_mp_reader_finish(&rd)) ||
	    (err = read_body(r, body, body_len, false)) || (err = proto_roster_check(r))) {
		proto_roster_free(r);
		return err;
	}
	*out = r;
	return 0;
}

int proto_roster_peek_epoch(const uint8_t *buf, size_t len, uint64_t *epoch)
{
	struct proto_mp_reader rd;
	struct proto_roster *r;
	const uint8_t *body;
	size_t body_len;
	int err = read_outer(&rd, buf, len, &body, &body_len);

	if (err)
		return err;
	r = proto_roster_new();
	if (!r)
		return -ENOMEM;
	err = read_body(r, body, body_len, true);
	*epoch = r->epoch;
	proto_roster_free(r);
	return err;
}

/* ---- signatures ------------------------------------------------------------------------ */

/* "chatham/roster/1" || body, the exact bytes a steward signs. Caller frees *@msg. */
static int signed_message(const struct proto_roster *r, uint8_t **msg, size_t *msg_len)
{
	uint8_t *body;
	size_t body_len;
	int err = proto_roster_encode_body(r, &body, &body_len);

	if (err)
		return err;
	*msg = malloc(DOMAIN_LEN + body_len);
	if (!*msg) {
		free(body);
		return -ENOMEM;
	}
	memcpy(*msg, PROTO_ROSTER_DOMAIN, DOMAIN_LEN);
	memcpy(*msg + DOMAIN_LEN, body, body_len);
	*msg_len = DOMAIN_LEN + body_len;
	free(body);
	return 0;
}

int proto_roster_sign_with(struct proto_roster *r, const uint8_t (*stewards)[32], size_t n_stewards,
			   uint32_t idx, const uint8_t steward_sk[64])
{
	uint8_t sig[64], *msg;
	size_t msg_len, pos = 0;
	uint32_t *ns;
	uint8_t(*nsig)[64];
	int err;

	/* libsodium's Ed25519 secret key is seed || public key. */
	if (idx >= n_stewards || idx >= PROTO_ROSTER_STEWARDS_MAX ||
	    memcmp(steward_sk + 32, stewards[idx], 32) != 0)
		return PROTO_E_ROSTER_STEWARD;
	if ((err = check_sigs(r)) || (err = signed_message(r, &msg, &msg_len)))
		return err;
	crypto_sign_detached(sig, NULL, msg, msg_len, steward_sk);
	free(msg);

	while (pos < r->n_sigs && r->sig_steward[pos] < idx)
		pos++;
	if (pos < r->n_sigs && r->sig_steward[pos] == idx) {
		memcpy(r->sigs[pos], sig, 64);
		return 0;
	}
	ns = realloc(r->sig_steward, (r->n_sigs + 1) * sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	r->sig_steward = ns;
	nsig = realloc(r->sigs, (r->n_sigs + 1) * sizeof(*nsig));
	if (!nsig)
		return -ENOMEM;
	r->sigs = nsig;
	memmove(&ns[pos + 1], &ns[pos], (r->n_sigs - pos) * sizeof(*ns));
	memmove(&nsig[pos + 1], &nsig[pos], (r->n_sigs - pos) * sizeof(*nsig));
	ns[pos] = idx;
	memcpy(nsig[pos], sig, 64);
	r->n_sigs++;
	return 0;
}

int proto_roster_sign(struct proto_roster *r, const struct proto_roster *authority, uint32_t idx,
		      const uint8_t steward_sk[64])
{
	return proto_roster_sign_with(r, (const uint8_t(*)[32])authority->stewards,
				      authority->n_stewards, idx, steward_sk);
}

int proto_roster_verify(const struct proto_roster *r, const uint8_t community[32],
			const uint8_t (*stewards)[32], size_t n_stewards, uint32_t threshold,
			uint64_t held_epoch)
{
	bool seen[PROTO_ROSTER_STEWARDS_MAX] = {false};
	uint8_t *msg;
	size_t msg_len;
	int err = 0;

	if (n_stewards == 0 || n_stewards > PROTO_ROSTER_STEWARDS_MAX || threshold == 0 ||
	    threshold > n_stewards)
		return -EINVAL;
	for (size_t i = 0; i < n_stewards; i++)
		for (size_t j = 0; j < i; j++)
			if (memcmp(stewards[i], stewards[j], 32) == 0)
				return -EINVAL;
	if (memcmp(r->community, community, 32) != 0)
		return PROTO_E_ROSTER_COMMUNITY;
	if (r->epoch <= held_epoch)
		return PROTO_E_ROSTER_EPOCH;
	/* Structure first, so a roster with an unknown or repeated signer costs no crypto. */
	for (size_t i = 0; i < r->n_sigs; i++) {
		if (r->sig_steward[i] >= n_stewards)
			return PROTO_E_ROSTER_STEWARD;
		if (seen[r->sig_steward[i]])
			return PROTO_E_ROSTER_DUP_SIG;
		seen[r->sig_steward[i]] = true;
	}
	if ((err = signed_message(r, &msg, &msg_len)))
		return err;
	for (size_t i = 0; i < r->n_sigs && !err; i++)
		if (crypto_sign_verify_detached(r->sigs[i], msg, msg_len,
						stewards[r->sig_steward[i]]) != 0)
			err = PROTO_E_ROSTER_SIG;
	free(msg);
	if (err)
		return err;
	return r->n_sigs >= threshold ? 0 : PROTO_E_ROSTER_QUORUM;
}

int proto_roster_verify_sig(const struct proto_roster *r, size_t i, const uint8_t steward_pk[32])
{
	uint8_t *msg;
	size_t msg_len;
	int err;

	if (i >= r->n_sigs)
		return -EINVAL;
	if ((err = signed_message(r, &msg, &msg_len)))
		return err;
	if (crypto_sign_verify_detached(r->sigs[i], msg, msg_len, steward_pk) != 0)
		err = PROTO_E_ROSTER_SIG;
	free(msg);
	return err;
}

void proto_roster_id(const uint8_t *buf, size_t len, uint8_t id[32])
{
	crypto_generichash(id, 32, buf, len, NULL, 0);
}

/* ---- lookups and editing --------------------------------------------------------------- */

static size_t lower_bound(const struct proto_roster *r, const uint8_t id[32])
{
	size_t lo = 0, hi = r->n_members;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (memcmp(r->members[mid].id, id, 32) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int proto_roster_find_member(const struct proto_roster *r, const uint8_t id[32])
{
	size_t i = lower_bound(r, id);

	return i < r->n_members && memcmp(r->members[i].id, id, 32) == 0 ? (int)i : -1;
}

const struct proto_retired *proto_roster_find_retired(const struct proto_roster *r,
						      const uint8_t id[32])
{
	size_t lo = 0, hi = r->n_retired;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(r->retired[mid].id, id, 32);

		if (c == 0)
			return &r->retired[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const uint8_t *proto_roster_successor(const struct proto_roster *r, const uint8_t id[32])
{
	const struct proto_retired *e = proto_roster_find_retired(r, id);
	const uint8_t *to = NULL;

	for (size_t i = 0; e && e->has_successor && i < r->n_retired; i++) {
		to = e->successor;
		e = proto_roster_find_retired(r, to);
	}
	return to;
}

const uint8_t *proto_roster_current_id(const struct proto_roster *r, const uint8_t id[32])
{
	const uint8_t *to;

	if (proto_roster_find_member(r, id) >= 0)
		return id;
	to = proto_roster_successor(r, id);
	return to && proto_roster_find_member(r, to) >= 0 ? to : NULL;
}

int proto_roster_retire(struct proto_roster *r, const struct proto_retired *e)
{
	struct proto_retired *nr;
	size_t pos = 0;

	while (pos < r->n_retired && memcmp(r->retired[pos].id, e->id, 32) < 0)
		pos++;
	if (pos < r->n_retired && memcmp(r->retired[pos].id, e->id, 32) == 0) {
		r->retired[pos] = *e;
	} else {
		if (r->n_retired >= PROTO_ROSTER_RETIRED_MAX)
			return PROTO_E_TOO_LARGE;
		nr = realloc(r->retired, (r->n_retired + 1) * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		r->retired = nr;
		memmove(&nr[pos + 1], &nr[pos], (r->n_retired - pos) * sizeof(*nr));
		nr[pos] = *e;
		r->n_retired++;
	}
	if (proto_roster_find_member(r, e->id) >= 0)
		proto_roster_remove_member(r, e->id);
	proto_roster_clear_netkey(r);
	proto_roster_clear_sigs(r);
	return 0;
}

int proto_roster_find_transport(const struct proto_roster *r, const uint8_t transport_pk[32])
{
	for (size_t i = 0; i < r->n_members; i++)
		if (memcmp(r->members[i].transport_pk, transport_pk, 32) == 0)
			return (int)i;
	return -1;
}

static int copy_list(char ***dst, size_t *dst_n, char *const *src, size_t n)
{
	if (n == 0)
		return 0;
	if (!src)
		return -EINVAL;
	*dst = calloc(n, sizeof(**dst));
	if (!*dst)
		return -ENOMEM;
	*dst_n = n;
	for (size_t i = 0; i < n; i++)
		if (src[i] && !((*dst)[i] = strdup(src[i])))
			return -ENOMEM;
	return 0;
}

static int member_copy(struct proto_member *dst, const struct proto_member *src)
{
	int err = 0;

	memset(dst, 0, sizeof(*dst));
	memcpy(dst->id, src->id, 32);
	memcpy(dst->transport_pk, src->transport_pk, 32);
	memcpy(dst->ring_pk, src->ring_pk, 32);
	if (src->name && !(dst->name = strdup(src->name)))
		err = -ENOMEM;
	if (err ||
	    (err = copy_list(&dst->aliases, &dst->n_aliases, src->aliases, src->n_aliases)) ||
	    (err = copy_list(&dst->domains, &dst->n_domains, src->domains, src->n_domains)) ||
	    (err = copy_list(&dst->addrs, &dst->n_addrs, src->addrs, src->n_addrs)) ||
	    (err = proto_poc_copy(&dst->poc, &src->poc)) ||
	    (err = proto_constituency_copy(&dst->constituency, &src->constituency)))
		member_deinit(dst);
	return err;
}

int proto_roster_add_member(struct proto_roster *r, const struct proto_member *m)
{
	struct proto_member copy, *nm;
	size_t pos = lower_bound(r, m->id);
	int err;

	if (pos < r->n_members && memcmp(r->members[pos].id, m->id, 32) == 0)
		return PROTO_E_ROSTER_MEMBER;
	if (r->n_members >= PROTO_ROSTER_MEMBERS_MAX)
		return PROTO_E_TOO_LARGE;
	if ((err = member_copy(&copy, m)))
		return err;
	nm = realloc(r->members, (r->n_members + 1) * sizeof(*nm));
	if (!nm) {
		member_deinit(&copy);
		return -ENOMEM;
	}
	r->members = nm;
	memmove(&nm[pos + 1], &nm[pos], (r->n_members - pos) * sizeof(*nm));
	nm[pos] = copy;
	r->n_members++;
	proto_roster_clear_netkey(r);
	proto_roster_clear_sigs(r);
	return 0;
}

int proto_roster_remove_member(struct proto_roster *r, const uint8_t id[32])
{
	int i = proto_roster_find_member(r, id);

	if (i < 0)
		return PROTO_E_ROSTER_NOT_MEMBER;
	member_deinit(&r->members[i]);
	memmove(&r->members[i], &r->members[i + 1],
		(r->n_members - (size_t)i - 1) * sizeof(*r->members));
	r->n_members--;
	proto_roster_clear_netkey(r);
	proto_roster_clear_sigs(r);
	return 0;
}
