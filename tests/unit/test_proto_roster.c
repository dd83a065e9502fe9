/* SPDX-License-Identifier: MIT */
/*
 * Rosters: canonical round trip, k-of-n steward verification and every rejection class of
 * the decoder, plus the golden vectors in tests/unit/golden/rosters.txt, which pin roster
 * bytes and ids so they never change by accident.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/crypto.h"
#include "proto/crypto_test.h"
#include "proto/error.h"
#include "proto/keys.h"
#include "proto/mp.h"
#include "proto/rekey.h"
#include "proto/roster.h"
#include "testutil.h"

/* ---- deterministic fixtures ------------------------------------------------------------ */

static void seed_of(uint8_t seed[32], const char *label, unsigned i)
{
	const void *parts[] = {label, &i};
	const size_t lens[] = {strlen(label), sizeof(i)};

	proto_hash(seed, 32, parts, lens, 2);
}

static void steward_key(unsigned i, uint8_t pk[32], uint8_t sk[64])
{
	uint8_t seed[32];

	seed_of(seed, "test-steward", i);
	proto_crypto_raw_ed25519_seed_keypair(pk, sk, seed);
}

static void member_key(unsigned i, struct proto_keys *k)
{
	uint8_t seed[32];

	seed_of(seed, "test-member", i);
	assert_int_equal(proto_keys_from_seed(k, seed), 0);
}

/*
 * A roster of @n_members members (member seeds @first..), @n_stewards stewards (steward seeds
 * @steward_base..), threshold @k, epoch @epoch. Members with an odd seed get aliases, domains
 * and addresses, so both shapes of the member map are exercised.
 */
static struct proto_roster *make_roster_from(unsigned first, size_t n_members,
					     unsigned steward_base, size_t n_stewards, uint32_t k,
					     uint64_t epoch)
{
	static const char *const aliases[] = {"CERT-X", "Example CSIRT"};
	static const char *const domains[] = {"example.org", "cert.example.net"};
	static const char *const addrs[] = {"192.0.2.10:7400", "[2001:db8::1]:7400",
					    "node.example.org:443"};
	struct proto_roster *r = proto_roster_new();
	uint8_t seed[32], sk[64];

	assert_non_null(r);
	seed_of(seed, "test-community", 0);
	memcpy(r->community, seed, 32);
	r->name = strdup("Test Community");
	r->epoch = epoch;
	r->threshold = k;
	r->n_stewards = n_stewards;
	r->stewards = malloc(n_stewards * 32);
	for (size_t i = 0; i < n_stewards; i++)
		steward_key(steward_base + (unsigned)i, r->stewards[i], sk);
	for (size_t i = 0; i < n_members; i++) {
		struct proto_keys keys;
		struct proto_member m = {0};
		char name[32];
		unsigned s = first + (unsigned)i;

		member_key(s, &keys);
		memcpy(m.id, keys.id_pk, 32);
		memcpy(m.transport_pk, keys.tx_pk, 32);
		memcpy(m.ring_pk, keys.ring_pk, 32);
		proto_keys_wipe(&keys);
		snprintf(name, sizeof(name), "Member %u", s);
		m.name = name;
		if (s % 2) {
			m.n_aliases = 2;
			m.aliases = (char **)aliases;
			m.n_domains = 1;
			m.domains = (char **)&domains[s % 4 == 1 ? 0 : 1];
			m.n_addrs = 3;
			m.addrs = (char **)addrs;
		}
		assert_int_equal(proto_roster_add_member(r, &m), 0);
	}
	return r;
}

static struct proto_roster *make_roster(size_t n_members, size_t n_stewards, uint32_t k,
					uint64_t epoch)
{
	return make_roster_from(0, n_members, 0, n_stewards, k, epoch);
}

static void sign_by(struct proto_roster *r, const struct proto_roster *auth, unsigned seed_base,
		    uint32_t idx)
{
	uint8_t pk[32], sk[64];

	steward_key(seed_base + idx, pk, sk);
	assert_int_equal(proto_roster_sign(r, auth, idx, sk), 0);
	proto_wipe(sk, sizeof(sk));
}

static int verify_self(const struct proto_roster *r, uint64_t held)
{
	return proto_roster_verify(r, r->community, (const uint8_t(*)[32])r->stewards,
				   r->n_stewards, r->threshold, held);
}

static int setup(void **state)
{
	(void)state;
	return proto_crypto_init();
}

/* ---- raw encoder: writes what the canonical encoder refuses to ------------------------- */

struct quirks {
	uint64_t version;
	bool extra_body_key;	/* key 11 after the members */
	unsigned netkey;	/* key 9: 1 one sealed key short, 2 a zero time */
	bool empty_aliases;	/* aliases key present with an empty array */
	bool omit_settings_key; /* settings without max_report_age_ms */
	size_t sig_count;	/* write this many sigs... */
	uint64_t sig_idx[4];	/* ...with these indexes */
};

static void raw_list(struct proto_mp_writer *w, uint64_t key, char **v, size_t n, bool force)
{
	if (n == 0 && !force)
		return;
	proto_mp_write_uint(w, key);
	proto_mp_write_array(w, n);
	for (size_t i = 0; i < n; i++)
		proto_mp_write_cstr(w, v[i]);
}

static void raw_encode(const struct proto_roster *r, const struct quirks *q, uint8_t **out,
		       size_t *out_len)
{
	struct proto_mp_writer w;
	uint8_t *body, sig[64] = {0};
	size_t body_len;

	proto_mp_writer_init(&w);
	proto_mp_write_map(&w, 8 + q->extra_body_key + (q->netkey > 0));
	proto_mp_write_uint(&w, 0);
	proto_mp_write_uint(&w, q->version ? q->version : 1);
	proto_mp_write_uint(&w, 1);
	proto_mp_write_bin(&w, r->community, 32);
	proto_mp_write_uint(&w, 2);
	proto_mp_write_cstr(&w, r->name);
	proto_mp_write_uint(&w, 3);
	proto_mp_write_uint(&w, r->epoch);
	proto_mp_write_uint(&w, 4);
	proto_mp_write_uint(&w, r->threshold);
	proto_mp_write_uint(&w, 5);
	proto_mp_write_array(&w, r->n_stewards);
	for (size_t i = 0; i < r->n_stewards; i++)
		proto_mp_write_bin(&w, r->stewards[i], 32);
	proto_mp_write_uint(&w, 6);
	proto_mp_write_map(&w, q->omit_settings_key ? 2 : 3);
	proto_mp_write_uint(&w, 0);
	proto_mp_write_uint(&w, r->settings.min_ring_size);
	proto_mp_write_uint(&w, 1);
	proto_mp_write_bool(&w, r->settings.require_anonymous);
	if (!q->omit_settings_key) {
		proto_mp_write_uint(&w, 2);
		proto_mp_write_uint(&w, r->settings.max_report_age_ms);
	}
	proto_mp_write_uint(&w, 7);
	proto_mp_write_array(&w, r->n_members);
	for (size_t i = 0; i < r->n_members; i++) {
		const struct proto_member *m = &r->members[i];
		bool ea = q->empty_aliases && i == 0;

		proto_mp_write_map(&w, 4 + (m->n_aliases > 0 || ea) + (m->n_domains > 0) +
					       (m->n_addrs > 0));
		proto_mp_write_uint(&w, 0);
		proto_mp_write_bin(&w, m->id, 32);
		proto_mp_write_uint(&w, 1);
		proto_mp_write_cstr(&w, m->name);
		raw_list(&w, 2, m->aliases, ea ? 0 : m->n_aliases, ea);
		raw_list(&w, 3, m->domains, m->n_domains, false);
		proto_mp_write_uint(&w, 4);
		proto_mp_write_bin(&w, m->transport_pk, 32);
		proto_mp_write_uint(&w, 5);
		proto_mp_write_bin(&w, m->ring_pk, 32);
		raw_list(&w, 6, m->addrs, m->n_addrs, false);
	}
	if (q->netkey) {
		size_t n = q->netkey == 1 ? r->n_members - 1 : r->n_members;
		uint8_t sealed[PROTO_ROSTER_SEALED_NETKEY_LEN] = {1};

		proto_mp_write_uint(&w, 9);
		proto_mp_write_map(&w, 2);
		proto_mp_write_uint(&w, 0);
		proto_mp_write_uint(&w, q->netkey == 2 ? 0 : 1);
		proto_mp_write_uint(&w, 1);
		proto_mp_write_array(&w, n);
		for (size_t i = 0; i < n; i++)
			proto_mp_write_bin(&w, sealed, sizeof(sealed));
	}
	if (q->extra_body_key) {
		proto_mp_write_uint(&w, 11);
		proto_mp_write_uint(&w, 0);
	}
	assert_int_equal(proto_mp_writer_finish(&w, &body, &body_len), 0);

	proto_mp_writer_init(&w);
	proto_mp_write_array(&w, 2);
	proto_mp_write_bin(&w, body, body_len);
	proto_mp_write_array(&w, q->sig_count);
	for (size_t i = 0; i < q->sig_count; i++) {
		proto_mp_write_array(&w, 2);
		proto_mp_write_uint(&w, q->sig_idx[i]);
		proto_mp_write_bin(&w, sig, 64);
	}
	assert_int_equal(proto_mp_writer_finish(&w, out, out_len), 0);
	free(body);
}

static int decode_err(const uint8_t *buf, size_t len)
{
	struct proto_roster *r = (struct proto_roster *)1;
	int err = proto_roster_decode(&r, buf, len);

	if (err)
		assert_null(r);
	proto_roster_free(r);
	return err;
}

/* ---- tests ----------------------------------------------------------------------------- */

static void assert_members_equal(const struct proto_member *a, const struct proto_member *b)
{
	assert_memory_equal(a->id, b->id, 32);
	assert_memory_equal(a->transport_pk, b->transport_pk, 32);
	assert_memory_equal(a->ring_pk, b->ring_pk, 32);
	assert_string_equal(a->name, b->name);
	assert_int_equal(a->n_aliases, b->n_aliases);
	for (size_t i = 0; i < a->n_aliases; i++)
		assert_string_equal(a->aliases[i], b->aliases[i]);
	assert_int_equal(a->n_domains, b->n_domains);
	for (size_t i = 0; i < a->n_domains; i++)
		assert_string_equal(a->domains[i], b->domains[i]);
	assert_int_equal(a->n_addrs, b->n_addrs);
	for (size_t i = 0; i < a->n_addrs; i++)
		assert_string_equal(a->addrs[i], b->addrs[i]);
}

/* The epoch from the header alone (proto_roster_peek_epoch()). */
static void test_peek_epoch(void **state)
{
	struct proto_roster *r = make_roster(5, 3, 2, 7), *d = NULL;
	uint8_t *buf;
	size_t len;
	uint64_t epoch = 0;

	(void)state;
	sign_by(r, r, 0, 0);
	assert_int_equal(proto_roster_encode(r, &buf, &len), 0);
	assert_int_equal(proto_roster_peek_epoch(buf, len, &epoch), 0);
	assert_true(epoch == 7);
	/* Cut inside the signatures: decoding fails, the peek (header only) still answers. */
	assert_int_not_equal(proto_roster_decode(&d, buf, len - 40), 0);
	epoch = 0;
	assert_int_equal(proto_roster_peek_epoch(buf, len - 40, &epoch), 0);
	assert_true(epoch == 7);
	/* Not a roster at all. */
	assert_int_not_equal(proto_roster_peek_epoch(buf + 1, len - 1, &epoch), 0);
	free(buf);
	proto_roster_free(r);
}

/*
 * Settings key 3 (withdraw_departed) is written only when on: a roster without it encodes
 * exactly as before, one with it round-trips, and "false" spelled out is refused (a second
 * encoding of one roster).
 */
static void test_withdraw_setting(void **state)
{
	struct proto_roster *r = make_roster(3, 2, 1, 2), *d;
	uint8_t *off, *on;
	size_t len_off, len_on;
	size_t at = 0;

	(void)state;
	assert_int_equal(proto_roster_encode(r, &off, &len_off), 0);
	r->settings.withdraw_departed = true;
	assert_int_equal(proto_roster_encode(r, &on, &len_on), 0);
	assert_int_equal(len_on, len_off + 2); /* key 3, true */
	assert_int_equal(proto_roster_decode(&d, on, len_on), 0);
	assert_true(d->settings.withdraw_departed);
	proto_roster_free(d);
	assert_int_equal(proto_roster_decode(&d, off, len_off), 0);
	assert_false(d->settings.withdraw_departed);
	proto_roster_free(d);
	for (size_t i = 0; i + 2 < len_on; i++)
		if (on[i] == 0x03 && on[i + 1] == 0xc3 && on[i + 2] == 0x07)
			at = i + 1; /* settings key 3 = true, then body key 7 */
	assert_true(at != 0);
	on[at] = 0xc2; /* false */
	assert_int_equal(proto_roster_decode(&d, on, len_on), PROTO_E_RANGE);
	free(off);
	free(on);
	proto_roster_free(r);
}

static void test_roundtrip(void **state)
{
	struct proto_roster *r = make_roster(5, 3, 2, 4), *d;
	uint8_t *buf, *buf2;
	size_t len, len2;

	(void)state;
	r->settings.min_ring_size = 3;
	r->settings.require_anonymous = true;
	r->settings.max_report_age_ms = 86400000ull * 90;
	sign_by(r, r, 0, 2);
	sign_by(r, r, 0, 0);
	assert_int_equal(proto_roster_encode(r, &buf, &len), 0);
	assert_int_equal(proto_roster_decode(&d, buf, len), 0);

	assert_memory_equal(d->community, r->community, 32);
	assert_string_equal(d->name, r->name);
	assert_true(d->epoch == 4);
	assert_int_equal(d->threshold, 2);
	assert_int_equal(d->n_stewards, 3);
	assert_memory_equal(d->stewards, r->stewards, 3 * 32);
	assert_int_equal(d->settings.min_ring_size, 3);
	assert_true(d->settings.require_anonymous);
	assert_true(d->settings.max_report_age_ms == 86400000ull * 90);
	assert_int_equal(d->n_members, 5);
	for (size_t i = 0; i < 5; i++)
		assert_members_equal(&d->members[i], &r->members[i]);
	/* Signatures were sorted by steward index as they were added. */
	assert_int_equal(d->n_sigs, 2);
	assert_int_equal(d->sig_steward[0], 0);
	assert_int_equal(d->sig_steward[1], 2);
	assert_memory_equal(d->sigs, r->sigs, 2 * 64);
	assert_int_equal(verify_self(d, 0), 0);

	/* Decoding is the exact inverse of encoding. */
	assert_int_equal(proto_roster_encode(d, &buf2, &len2), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(buf2, buf, len);
	free(buf);
	free(buf2);
	proto_roster_free(d);
	proto_roster_free(r);
}

static void test_quorum(void **state)
{
	struct proto_roster *r = make_roster(3, 5, 3, 1);

	(void)state;
	assert_int_equal(verify_self(r, 0), PROTO_E_ROSTER_QUORUM);
	sign_by(r, r, 0, 4);
	sign_by(r, r, 0, 1);
	assert_int_equal(verify_self(r, 0), PROTO_E_ROSTER_QUORUM); /* k - 1 */
	/* Signing again with the same steward replaces, never counts twice. */
	sign_by(r, r, 0, 1);
	assert_int_equal(r->n_sigs, 2);
	assert_int_equal(verify_self(r, 0), PROTO_E_ROSTER_QUORUM);
	sign_by(r, r, 0, 2);
	assert_int_equal(verify_self(r, 0), 0); /* exactly k */
	sign_by(r, r, 0, 0);
	sign_by(r, r, 0, 3);
	assert_int_equal(r->n_sigs, 5);
	assert_int_equal(verify_self(r, 0), 0); /* all n */
	for (size_t i = 1; i < r->n_sigs; i++)
		assert_true(r->sig_steward[i - 1] < r->sig_steward[i]);
	proto_roster_free(r);
}

static void test_dup_and_unknown_signers(void **state)
{
	struct proto_roster *r = make_roster(2, 3, 2, 1);

	(void)state;
	sign_by(r, r, 0, 0);
	sign_by(r, r, 0, 1);
	assert_int_equal(verify_self(r, 0), 0);

	/* The same valid signature twice must not reach k = 2 on its own. */
	r->sig_steward[1] = 0;
	memcpy(r->sigs[1], r->sigs[0], 64);
	assert_int_equal(verify_self(r, 0), PROTO_E_ROSTER_DUP_SIG);
	assert_int_equal(proto_roster_check(r), PROTO_E_ROSTER_DUP_SIG);

	/* An index beyond the authorising set: with only two authorities, steward 2 is unknown. */
	r->sig_steward[1] = 2;
	assert_int_equal(
		proto_roster_verify(r, r->community, (const uint8_t(*)[32])r->stewards, 2, 2, 0),
		PROTO_E_ROSTER_STEWARD);
	proto_roster_free(r);
}

static void test_non_steward_signature(void **state)
{
	struct proto_roster *r = make_roster(2, 3, 1, 1);
	uint8_t pk[32], sk[64], *body, *msg;
	size_t body_len;

	(void)state;
	/* proto_roster_sign() refuses a key that is not the named steward's. */
	steward_key(99, pk, sk);
	assert_int_equal(proto_roster_sign(r, r, 0, sk), PROTO_E_ROSTER_STEWARD);
	assert_int_equal(proto_roster_sign(r, r, 3, sk), PROTO_E_ROSTER_STEWARD);
	assert_int_equal(r->n_sigs, 0);

	/* A well-formed signature by an outsider, slotted in as steward 0, fails verification. */
	assert_int_equal(proto_roster_encode_body(r, &body, &body_len), 0);
	msg = malloc(strlen(PROTO_ROSTER_DOMAIN) + body_len);
	memcpy(msg, PROTO_ROSTER_DOMAIN, strlen(PROTO_ROSTER_DOMAIN));
	memcpy(msg + strlen(PROTO_ROSTER_DOMAIN), body, body_len);
	r->n_sigs = 1;
	r->sig_steward = calloc(1, sizeof(*r->sig_steward));
	r->sigs = malloc(64);
	proto_crypto_raw_ed25519_sign(r->sigs[0], msg, strlen(PROTO_ROSTER_DOMAIN) + body_len, sk);
	assert_int_equal(verify_self(r, 0), PROTO_E_ROSTER_SIG);

	/* The same key over the body without the domain prefix is not a roster signature. */
	steward_key(0, pk, sk);
	proto_crypto_raw_ed25519_sign(r->sigs[0], body, body_len, sk);
	assert_int_equal(verify_self(r, 0), PROTO_E_ROSTER_SIG);
	free(msg);
	free(body);
	proto_roster_free(r);
}

static void test_bad_sig_among_good(void **state)
{
	struct proto_roster *r = make_roster(2, 3, 2, 1);

	(void)state;
	sign_by(r, r, 0, 0);
	sign_by(r, r, 0, 1);
	sign_by(r, r, 0, 2);
	assert_int_equal(verify_self(r, 0), 0);
	/* Two good signatures reach k, but a third, corrupt one is not ignored. */
	r->sigs[2][10] ^= 0x40;
	assert_int_equal(verify_self(r, 0), PROTO_E_ROSTER_SIG);
	proto_roster_free(r);
}

static void test_epoch_and_community(void **state)
{
	struct proto_roster *r = make_roster(2, 1, 1, 5);
	uint8_t other[32];

	(void)state;
	sign_by(r, r, 0, 0);
	assert_int_equal(verify_self(r, 0), 0);
	assert_int_equal(verify_self(r, 4), 0);
	assert_int_equal(verify_self(r, 5), PROTO_E_ROSTER_EPOCH);
	assert_int_equal(verify_self(r, 6), PROTO_E_ROSTER_EPOCH);
	memcpy(other, r->community, 32);
	other[31] ^= 1;
	assert_int_equal(proto_roster_verify(r, other, (const uint8_t(*)[32])r->stewards, 1, 1, 0),
			 PROTO_E_ROSTER_COMMUNITY);
	proto_roster_free(r);
}

static void test_authority_args(void **state)
{
	struct proto_roster *r = make_roster(2, 2, 1, 1);
	uint8_t dup[2][32];

	(void)state;
	sign_by(r, r, 0, 0);
	assert_int_equal(
		proto_roster_verify(r, r->community, (const uint8_t(*)[32])r->stewards, 0, 1, 0),
		-EINVAL);
	assert_int_equal(
		proto_roster_verify(r, r->community, (const uint8_t(*)[32])r->stewards, 2, 0, 0),
		-EINVAL);
	assert_int_equal(
		proto_roster_verify(r, r->community, (const uint8_t(*)[32])r->stewards, 2, 3, 0),
		-EINVAL);
	/* An authority listing one key twice could count one signer twice. */
	memcpy(dup[0], r->stewards[0], 32);
	memcpy(dup[1], r->stewards[0], 32);
	assert_int_equal(proto_roster_verify(r, r->community, (const uint8_t(*)[32])dup, 2, 2, 0),
			 -EINVAL);
	proto_roster_free(r);
}

/* A roster cannot appoint its own stewards: epoch 2 is verified with epoch 1's set. */
static void test_successor_authority(void **state)
{
	struct proto_roster *e1 = make_roster(3, 3, 2, 1);
	struct proto_roster *e2 = make_roster_from(1, 3, 50, 2, 1, 2); /* new stewards 50, 51 */

	(void)state;
	sign_by(e1, e1, 0, 0);
	sign_by(e1, e1, 0, 1);
	assert_int_equal(verify_self(e1, 0), 0);

	/* Signed only by its own new stewards: valid in its own eyes, not under epoch 1. */
	sign_by(e2, e2, 50, 0);
	assert_int_equal(verify_self(e2, 1), 0);
	assert_int_equal(proto_roster_verify(e2, e1->community, (const uint8_t(*)[32])e1->stewards,
					     e1->n_stewards, e1->threshold, e1->epoch),
			 PROTO_E_ROSTER_SIG);

	proto_roster_clear_sigs(e2);
	sign_by(e2, e1, 0, 2);
	assert_int_equal(proto_roster_verify(e2, e1->community, (const uint8_t(*)[32])e1->stewards,
					     e1->n_stewards, e1->threshold, e1->epoch),
			 PROTO_E_ROSTER_QUORUM);
	sign_by(e2, e1, 0, 0);
	assert_int_equal(proto_roster_verify(e2, e1->community, (const uint8_t(*)[32])e1->stewards,
					     e1->n_stewards, e1->threshold, e1->epoch),
			 0);
	proto_roster_free(e1);
	proto_roster_free(e2);
}

static void test_bit_flip(void **state)
{
	struct proto_roster *r = make_roster(3, 2, 2, 1), *d;
	uint8_t *buf, *p;
	size_t len;

	(void)state;
	sign_by(r, r, 0, 0);
	sign_by(r, r, 0, 1);
	assert_int_equal(proto_roster_encode(r, &buf, &len), 0);
	assert_int_equal(proto_roster_decode(&d, buf, len), 0);
	assert_int_equal(verify_self(d, 0), 0);
	proto_roster_free(d);

	/* "Test Community" -> "Uest Community": still a valid roster, no longer the signed one. */
	p = memmem(buf, len, "Test Community", 14);
	assert_non_null(p);
	p[0] ^= 0x01;
	assert_int_equal(proto_roster_decode(&d, buf, len), 0);
	assert_string_equal(d->name, "Uest Community");
	assert_int_equal(proto_roster_verify(d, r->community, (const uint8_t(*)[32])r->stewards,
					     r->n_stewards, r->threshold, 0),
			 PROTO_E_ROSTER_SIG);
	proto_roster_free(d);
	p[0] ^= 0x01;

	/* One bit of a transport key (any 32 bytes are a well-formed X25519 key). */
	p = memmem(buf, len, r->members[2].transport_pk, 32);
	assert_non_null(p);
	p[5] ^= 0x10;
	assert_int_equal(proto_roster_decode(&d, buf, len), 0);
	assert_int_equal(proto_roster_verify(d, r->community, (const uint8_t(*)[32])r->stewards,
					     r->n_stewards, r->threshold, 0),
			 PROTO_E_ROSTER_SIG);
	proto_roster_free(d);
	free(buf);
	proto_roster_free(r);
}

/* Table of struct-level violations: the raw encoder writes them, the decoder must refuse. */
typedef void (*mutate_fn)(struct proto_roster *r);

static void set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = strdup(s);
}

/* The member with aliases, domains and addresses (members are in id order, not seed order). */
static struct proto_member *listed(struct proto_roster *r)
{
	for (size_t i = 0; i < r->n_members; i++)
		if (r->members[i].n_aliases > 0)
			return &r->members[i];
	fail_msg("no member with lists");
	return NULL;
}

static void m_unsorted(struct proto_roster *r)
{
	struct proto_member t = r->members[0];

	r->members[0] = r->members[1];
	r->members[1] = t;
}
static void m_dup_id(struct proto_roster *r)
{
	memcpy(r->members[1].id, r->members[0].id, 32);
}
static void m_reused_transport(struct proto_roster *r)
{
	memcpy(r->members[2].transport_pk, r->members[0].transport_pk, 32);
}
static void m_reused_ring(struct proto_roster *r)
{
	memcpy(r->members[1].ring_pk, r->members[2].ring_pk, 32);
}
static void m_own_key_two_jobs(struct proto_roster *r)
{
	memcpy(r->members[0].transport_pk, r->members[0].ring_pk, 32);
}
static void m_steward_is_member(struct proto_roster *r)
{
	memcpy(r->stewards[1], r->members[1].id, 32);
}
static void m_dup_steward(struct proto_roster *r)
{
	memcpy(r->stewards[1], r->stewards[0], 32);
}
static void m_bad_steward_key(struct proto_roster *r)
{
	memset(r->stewards[0], 0xff, 32);
}
static void m_bad_member_id(struct proto_roster *r)
{
	memset(r->members[2].id, 0xff, 32); /* non-canonical, and sorts last */
}
static void m_bad_ring_point(struct proto_roster *r)
{
	memset(r->members[0].ring_pk, 0xff, 32);
}
static void m_bad_utf8_name(struct proto_roster *r)
{
	set_str(&r->name, "caf\xc3");
}
static void m_overlong_utf8(struct proto_roster *r)
{
	set_str(&r->members[0].name, "\xc0\xaf");
}
static void m_control_name(struct proto_roster *r)
{
	set_str(&r->members[1].name, "Evil\x1b[2JCSIRT");
}
static void m_c1_control(struct proto_roster *r)
{
	set_str(&r->name, "x\xc2\x85y");
}
static void m_empty_name(struct proto_roster *r)
{
	set_str(&r->name, "");
}
static void m_long_name(struct proto_roster *r)
{
	char s[PROTO_ROSTER_NAME_MAX + 2];

	memset(s, 'a', sizeof(s) - 1);
	s[sizeof(s) - 1] = 0;
	set_str(&r->members[0].name, s);
}
static void m_long_alias(struct proto_roster *r)
{
	char s[PROTO_ROSTER_ADDR_MAX + 2];

	memset(s, 'a', sizeof(s) - 1);
	s[sizeof(s) - 1] = 0;
	set_str(&listed(r)->aliases[0], s);
}
static void m_many_aliases(struct proto_roster *r)
{
	struct proto_member *m = listed(r);

	m->aliases = realloc(m->aliases, (PROTO_ROSTER_ALIASES_MAX + 1) * sizeof(char *));
	for (size_t i = m->n_aliases; i <= PROTO_ROSTER_ALIASES_MAX; i++) {
		char s[16];

		snprintf(s, sizeof(s), "alias %zu", i);
		m->aliases[i] = strdup(s);
	}
	m->n_aliases = PROTO_ROSTER_ALIASES_MAX + 1;
}
static void m_dup_alias(struct proto_roster *r)
{
	set_str(&listed(r)->aliases[1], listed(r)->aliases[0]);
}
static void m_domain_upper(struct proto_roster *r)
{
	set_str(&listed(r)->domains[0], "Example.ORG");
}
static void m_domain_dot(struct proto_roster *r)
{
	set_str(&listed(r)->domains[0], "example.org.");
}
static void m_domain_junk(struct proto_roster *r)
{
	set_str(&listed(r)->domains[0], "not a domain");
}
static void m_addr_noport(struct proto_roster *r)
{
	set_str(&listed(r)->addrs[0], "192.0.2.1");
}
static void m_addr_port0(struct proto_roster *r)
{
	set_str(&listed(r)->addrs[0], "192.0.2.1:0");
}
static void m_addr_port_big(struct proto_roster *r)
{
	set_str(&listed(r)->addrs[0], "[2001:db8::1]:65536");
}
static void m_addr_port_zero_lead(struct proto_roster *r)
{
	set_str(&listed(r)->addrs[0], "host.example:080");
}
static void m_addr_v6_bare(struct proto_roster *r)
{
	set_str(&listed(r)->addrs[0], "2001:db8::1:7400");
}
static void m_addr_v4_bad(struct proto_roster *r)
{
	set_str(&listed(r)->addrs[0], "192.0.2.256:7400");
}
static void m_addr_host_bad(struct proto_roster *r)
{
	set_str(&listed(r)->addrs[0], "-bad-.example:7400");
}
static void m_addr_v6_bad(struct proto_roster *r)
{
	set_str(&listed(r)->addrs[0], "[2001:db8::zz]:7400");
}
static void m_threshold0(struct proto_roster *r)
{
	r->threshold = 0;
}
static void m_threshold_high(struct proto_roster *r)
{
	r->threshold = (uint32_t)r->n_stewards + 1;
}
static void m_epoch0(struct proto_roster *r)
{
	r->epoch = 0;
}
static void m_min_ring1(struct proto_roster *r)
{
	r->settings.min_ring_size = 1;
}
static void m_min_ring_huge(struct proto_roster *r)
{
	r->settings.min_ring_size = PROTO_ROSTER_MEMBERS_MAX + 1;
}

static void test_decode_rejects_struct(void **state)
{
	static const struct {
		const char *name;
		mutate_fn fn;
		int err;
	} cases[] = {
		{"unsorted members", m_unsorted, PROTO_E_ROSTER_MEMBER},
		{"duplicate member id", m_dup_id, PROTO_E_ROSTER_MEMBER},
		{"reused transport key", m_reused_transport, PROTO_E_ROSTER_MEMBER},
		{"reused ring key", m_reused_ring, PROTO_E_ROSTER_MEMBER},
		{"one key two jobs", m_own_key_two_jobs, PROTO_E_ROSTER_MEMBER},
		{"steward key is a member id", m_steward_is_member, PROTO_E_ROSTER_MEMBER},
		{"duplicate steward", m_dup_steward, PROTO_E_ROSTER_STEWARD},
		{"invalid steward key", m_bad_steward_key, PROTO_E_ROSTER_STEWARD},
		{"invalid member id", m_bad_member_id, PROTO_E_ROSTER_MEMBER},
		{"invalid ring point", m_bad_ring_point, PROTO_E_ROSTER_MEMBER},
		{"bad UTF-8 community name", m_bad_utf8_name, PROTO_E_UTF8},
		{"overlong UTF-8 display name", m_overlong_utf8, PROTO_E_UTF8},
		{"control character in name", m_control_name, PROTO_E_ROSTER_TEXT},
		{"C1 control in community name", m_c1_control, PROTO_E_ROSTER_TEXT},
		{"empty community name", m_empty_name, PROTO_E_EMPTY},
		{"name over limit", m_long_name, PROTO_E_TOO_LARGE},
		{"alias over limit", m_long_alias, PROTO_E_TOO_LARGE},
		{"too many aliases", m_many_aliases, PROTO_E_TOO_LARGE},
		{"duplicate alias", m_dup_alias, PROTO_E_ROSTER_MEMBER},
		{"domain not lower case", m_domain_upper, PROTO_E_ROSTER_MEMBER},
		{"domain with trailing dot", m_domain_dot, PROTO_E_ROSTER_MEMBER},
		{"domain not a domain", m_domain_junk, PROTO_E_ROSTER_MEMBER},
		{"address without port", m_addr_noport, PROTO_E_ROSTER_MEMBER},
		{"address port 0", m_addr_port0, PROTO_E_ROSTER_MEMBER},
		{"address port 65536", m_addr_port_big, PROTO_E_ROSTER_MEMBER},
		{"address port leading zero", m_addr_port_zero_lead, PROTO_E_ROSTER_MEMBER},
		{"bare IPv6 address", m_addr_v6_bare, PROTO_E_ROSTER_MEMBER},
		{"bad IPv4 address", m_addr_v4_bad, PROTO_E_ROSTER_MEMBER},
		{"bad host name", m_addr_host_bad, PROTO_E_ROSTER_MEMBER},
		{"bad IPv6 literal", m_addr_v6_bad, PROTO_E_ROSTER_MEMBER},
		{"threshold 0", m_threshold0, PROTO_E_RANGE},
		{"threshold above stewards", m_threshold_high, PROTO_E_RANGE},
		{"epoch 0", m_epoch0, PROTO_E_RANGE},
		{"min ring size 1", m_min_ring1, PROTO_E_RANGE},
		{"min ring size over members max", m_min_ring_huge, PROTO_E_RANGE},
	};
	static const struct quirks plain = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct proto_roster *r = make_roster(3, 2, 1, 1);
		uint8_t *buf, *enc;
		size_t len, enc_len;
		int got;

		cases[i].fn(r);
		raw_encode(r, &plain, &buf, &len);
		got = decode_err(buf, len);
		if (got != cases[i].err)
			fail_msg("%s: decode returned %s, want %s", cases[i].name,
				 proto_error_name(got), proto_error_name(cases[i].err));
		/* The encoder refuses the same roster with the same code. */
		got = proto_roster_encode(r, &enc, &enc_len);
		if (got != cases[i].err)
			fail_msg("%s: encode returned %s, want %s", cases[i].name,
				 proto_error_name(got), proto_error_name(cases[i].err));
		free(buf);
		proto_roster_free(r);
	}
}

static void test_decode_rejects_bytes(void **state)
{
	static const struct {
		const char *name;
		struct quirks q;
		int err;
	} cases[] = {
		{"version 2", {.version = 2}, PROTO_E_VERSION},
		{"unknown body key", {.extra_body_key = true}, PROTO_E_KEY_UNKNOWN},
		{"sealed network keys not one per member", {.netkey = 1}, PROTO_E_RANGE},
		{"new network key with a zero time", {.netkey = 2}, PROTO_E_RANGE},
		{"empty optional list present", {.empty_aliases = true}, PROTO_E_EMPTY},
		{"settings key missing", {.omit_settings_key = true}, PROTO_E_KEY_MISSING},
		{"duplicate signature",
		 {.sig_count = 2, .sig_idx = {0, 0}},
		 PROTO_E_ROSTER_DUP_SIG},
		{"descending signatures",
		 {.sig_count = 2, .sig_idx = {1, 0}},
		 PROTO_E_ROSTER_SIG_ORDER},
		{"signature index over limit",
		 {.sig_count = 1, .sig_idx = {PROTO_ROSTER_STEWARDS_MAX}},
		 PROTO_E_ROSTER_STEWARD},
	};
	struct proto_roster *r = make_roster(3, 2, 1, 1);
	uint8_t *buf, *big;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got;

		raw_encode(r, &cases[i].q, &buf, &len);
		got = decode_err(buf, len);
		if (got != cases[i].err)
			fail_msg("%s: decode returned %s, want %s", cases[i].name,
				 proto_error_name(got), proto_error_name(cases[i].err));
		free(buf);
	}

	assert_int_equal(proto_roster_encode(r, &buf, &len), 0);
	assert_int_equal(decode_err(buf, len), 0);
	/* Every strict prefix is truncated, never a crash or a success. */
	for (size_t n = 0; n < len; n++)
		assert_int_not_equal(decode_err(buf, n), 0);
	assert_int_equal(decode_err(buf, len - 1), PROTO_E_TRUNCATED);
	/* Trailing bytes after the signed array. */
	big = malloc(len + 1);
	memcpy(big, buf, len);
	big[len] = 0x00;
	assert_int_equal(decode_err(big, len + 1), PROTO_E_TRAILING);
	free(big);
	/* Over the size limit, whatever the content. */
	big = calloc(1, PROTO_ROSTER_MAX_BYTES + 1);
	assert_int_equal(decode_err(big, PROTO_ROSTER_MAX_BYTES + 1), PROTO_E_TOO_LARGE);
	free(big);
	free(buf);
	proto_roster_free(r);
}

/* Count headers beyond the limits are refused before anything is allocated for them. */
static void test_decode_rejects_counts(void **state)
{
	struct proto_roster *r = make_roster(1, 1, 1, 1);
	uint8_t *buf, *body, *p, *m;
	size_t len, body_len, off;
	uint8_t sigs33[] = {0x92, 0xc4, 0x00, 0xdc, 0x00, 33};

	(void)state;
	/* 33 signatures: the outer array with an empty body bin is enough to hit the limit. */
	assert_int_equal(decode_err(sigs33, sizeof(sigs33)), PROTO_E_TOO_LARGE);

	assert_int_equal(proto_roster_encode_body(r, &body, &body_len), 0);
	/* Members array header (key 7, fixarray 1, member map of 4, key 0, bin8 32), rewritten
	 * as array16(4097). The long pattern cannot occur by chance inside a key. */
	p = memmem(body, body_len, (const uint8_t[]){0x07, 0x91, 0x84, 0x00, 0xc4, 0x20}, 6);
	assert_non_null(p);
	off = (size_t)(p - body) + 1;
	m = malloc(body_len + 2);
	memcpy(m, body, off);
	m[off] = 0xdc;
	m[off + 1] = (PROTO_ROSTER_MEMBERS_MAX + 1) >> 8;
	m[off + 2] = (PROTO_ROSTER_MEMBERS_MAX + 1) & 0xff;
	memcpy(m + off + 3, body + off + 1, body_len - off - 1);
	{
		struct proto_mp_writer w;

		proto_mp_writer_init(&w);
		proto_mp_write_array(&w, 2);
		proto_mp_write_bin(&w, m, body_len + 2);
		proto_mp_write_array(&w, 0);
		assert_int_equal(proto_mp_writer_finish(&w, &buf, &len), 0);
	}
	assert_int_equal(decode_err(buf, len), PROTO_E_TOO_LARGE);
	free(buf);

	/* Stewards array header (key 5, fixarray 1, bin8 32), rewritten as array16(33). */
	p = memmem(body, body_len, (const uint8_t[]){0x05, 0x91, 0xc4, 0x20}, 4);
	assert_non_null(p);
	off = (size_t)(p - body) + 1;
	memcpy(m, body, off);
	m[off] = 0xdc;
	m[off + 1] = 0;
	m[off + 2] = PROTO_ROSTER_STEWARDS_MAX + 1;
	memcpy(m + off + 3, body + off + 1, body_len - off - 1);
	{
		struct proto_mp_writer w;

		proto_mp_writer_init(&w);
		proto_mp_write_array(&w, 2);
		proto_mp_write_bin(&w, m, body_len + 2);
		proto_mp_write_array(&w, 0);
		assert_int_equal(proto_mp_writer_finish(&w, &buf, &len), 0);
	}
	assert_int_equal(decode_err(buf, len), PROTO_E_TOO_LARGE);
	free(buf);
	free(m);
	free(body);
	proto_roster_free(r);
}

static void test_lookups_and_editing(void **state)
{
	struct proto_roster *r = make_roster(6, 1, 1, 1);
	struct proto_keys k;
	struct proto_member copy;
	uint8_t missing[32];
	int idx;

	(void)state;
	for (size_t i = 0; i < r->n_members; i++) {
		assert_int_equal(proto_roster_find_member(r, r->members[i].id), (int)i);
		assert_int_equal(proto_roster_find_transport(r, r->members[i].transport_pk),
				 (int)i);
		/* Keys of one kind are not found as the other. */
		assert_int_equal(proto_roster_find_member(r, r->members[i].transport_pk), -1);
		assert_int_equal(proto_roster_find_transport(r, r->members[i].id), -1);
	}
	memset(missing, 0, 32);
	assert_int_equal(proto_roster_find_member(r, missing), -1);
	memset(missing, 0xff, 32);
	assert_int_equal(proto_roster_find_member(r, missing), -1);

	sign_by(r, r, 0, 0);
	assert_int_equal(r->n_sigs, 1);
	member_key(3, &k);
	idx = proto_roster_find_member(r, k.id_pk);
	assert_true(idx >= 0);
	copy = r->members[idx];
	assert_int_equal(proto_roster_add_member(r, &copy), PROTO_E_ROSTER_MEMBER);
	assert_int_equal(r->n_sigs, 1); /* a refused edit leaves the signatures alone */
	assert_int_equal(proto_roster_remove_member(r, k.id_pk), 0);
	assert_int_equal(r->n_sigs, 0); /* the body changed: signatures dropped */
	assert_int_equal(r->n_members, 5);
	assert_int_equal(proto_roster_find_member(r, k.id_pk), -1);
	assert_int_equal(proto_roster_remove_member(r, k.id_pk), PROTO_E_ROSTER_NOT_MEMBER);
	for (size_t i = 1; i < r->n_members; i++)
		assert_true(memcmp(r->members[i - 1].id, r->members[i].id, 32) < 0);
	assert_int_equal(proto_roster_check(r), 0);
	proto_keys_wipe(&k);
	proto_roster_free(r);
}

static void test_check_member_reasons(void **state)
{
	struct proto_roster *r = make_roster(2, 1, 1, 1);
	struct proto_member m;
	const char *reason = NULL;
	char *bad[] = {"[::1]"};

	(void)state;
	m = *listed(r);
	assert_int_equal(proto_roster_check_member(&m, &reason), 0);
	assert_null(reason);
	m.addrs = bad;
	m.n_addrs = 1;
	assert_int_equal(proto_roster_check_member(&m, &reason), PROTO_E_ROSTER_MEMBER);
	assert_non_null(reason);
	assert_non_null(strstr(reason, "address"));
	m = *listed(r);
	m.n_domains = 0;
	m.n_aliases = 0;
	m.n_addrs = 0;
	m.name = NULL;
	assert_int_equal(proto_roster_check_member(&m, &reason), PROTO_E_EMPTY);
	assert_string_equal(reason, "display name");
	assert_int_equal(proto_roster_check_text("ok", 2, 1), PROTO_E_TOO_LARGE);
	assert_int_equal(proto_roster_check_text("a\0b", 3, 10), PROTO_E_ROSTER_TEXT);
	assert_int_equal(proto_roster_check_text("a\x7f", 2, 10), PROTO_E_ROSTER_TEXT);
	assert_int_equal(proto_roster_check_text("Zürich CERT", 12, 128), 0);
	proto_roster_free(r);
}

/* ---- golden vectors -------------------------------------------------------------------- */

static struct proto_roster *golden_build(const char *name)
{
	struct proto_roster *r = NULL;

	if (strcmp(name, "minimal") == 0) {
		r = make_roster(1, 1, 1, 1);
		sign_by(r, r, 0, 0);
	} else if (strcmp(name, "full") == 0 || strcmp(name, "unsigned") == 0) {
		r = make_roster(4, 3, 2, 7);
		r->settings.min_ring_size = 6;
		r->settings.require_anonymous = true;
		r->settings.max_report_age_ms = 30ull * 86400000;
		if (strcmp(name, "full") == 0) {
			sign_by(r, r, 0, 2);
			sign_by(r, r, 0, 0);
		}
	} else if (strcmp(name, "successor") == 0) {
		struct proto_roster *auth = golden_build("full");

		r = make_roster_from(1, 4, 10, 2, 2, 8);
		sign_by(r, auth, 0, 0);
		sign_by(r, auth, 0, 1);
		sign_by(r, auth, 0, 2);
		assert_int_equal(proto_roster_verify(
					 r, auth->community, (const uint8_t(*)[32])auth->stewards,
					 auth->n_stewards, auth->threshold, auth->epoch),
				 0);
		proto_roster_free(auth);
	}
	return r;
}

static void test_golden(void **state)
{
	static const char *const names[] = {"minimal", "full", "unsigned", "successor"};
	const char *src = getenv("CHATHAM_SOURCE_DIR");
	char path[4096], *text, *save = NULL;
	bool found[4] = {false};
	int bad = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/tests/unit/golden/rosters.txt", src ? src : ".");
	text = (char *)tu_read_file(path, NULL);
	if (!text)
		fail_msg("cannot read %s", path);
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[64], *hex = NULL, *idhex = NULL;
		uint8_t *want, *got, id[32];
		size_t want_len, got_len;
		char idgot[65];
		struct proto_roster *r, *d;
		size_t k;

		if (line[0] == '#' || line[0] == 0)
			continue;
		assert_int_equal(sscanf(line, "%63s %ms %ms", name, &hex, &idhex), 3);
		for (k = 0; k < 4 && strcmp(names[k], name) != 0; k++)
			;
		if (k == 4)
			fail_msg("unknown golden vector %s", name);
		found[k] = true;
		r = golden_build(name);
		assert_int_equal(proto_roster_encode(r, &got, &got_len), 0);
		proto_roster_id(got, got_len, id);
		proto_hex_encode(idgot, id, 32);
		want = tu_unhex(hex, &want_len);
		if (want_len != got_len || memcmp(want, got, got_len) != 0 ||
		    strcmp(idhex, idgot) != 0) {
			char *gothex = malloc(2 * got_len + 1);

			fprintf(stderr, "golden %s changed; now:\n%s %s %s\n", name, name,
				proto_hex_encode(gothex, got, got_len), idgot);
			free(gothex);
			bad++;
		}
		/* The committed bytes decode, re-encode identically and verify. */
		assert_int_equal(proto_roster_decode(&d, want, want_len), 0);
		free(got);
		assert_int_equal(proto_roster_encode(d, &got, &got_len), 0);
		assert_int_equal(got_len, want_len);
		assert_memory_equal(got, want, want_len);
		if (strcmp(name, "unsigned") == 0)
			assert_int_equal(verify_self(d, 0), PROTO_E_ROSTER_QUORUM);
		else if (strcmp(name, "successor") != 0)
			assert_int_equal(verify_self(d, 0), 0);
		proto_roster_free(d);
		proto_roster_free(r);
		free(got);
		free(want);
		free(hex);
		free(idhex);
	}
	free(text);
	for (size_t k = 0; k < 4; k++)
		if (!found[k])
			fail_msg("golden vector %s missing from %s", names[k], path);
	assert_int_equal(bad, 0);
}

/*
 * Retired keys: round trip with and without a successor, lookups, the rules (a retired id is
 * no member and no other key, a successor is a member, ascending, no empty list on the
 * wire), and that proto_roster_retire() removes the member and drops the signatures.
 */
static void test_retired(void **state)
{
	struct proto_roster *r = make_roster(4, 2, 1, 3), *d;
	struct proto_retired e = {0}, f = {0};
	struct proto_keys k;
	uint8_t *buf, *buf2;
	size_t len, len2;

	(void)state;
	sign_by(r, r, 0, 0);
	memcpy(e.id, r->members[1].id, 32);
	e.not_after_ms = 1700000000000ull;
	e.has_successor = true;
	memcpy(e.successor, r->members[2].id, 32);
	assert_int_equal(proto_roster_retire(r, &e), 0);
	assert_int_equal(r->n_members, 3);
	assert_int_equal(r->n_sigs, 0);
	assert_int_equal(proto_roster_find_member(r, e.id), -1);
	member_key(90, &k); /* never a member: retired without a successor */
	memcpy(f.id, k.id_pk, 32);
	proto_keys_wipe(&k);
	f.not_after_ms = 5;
	assert_int_equal(proto_roster_retire(r, &f), 0);
	assert_int_equal(r->n_retired, 2);
	assert_int_equal(proto_roster_check(r), 0);

	assert_int_equal(proto_roster_encode(r, &buf, &len), 0);
	assert_int_equal(proto_roster_decode(&d, buf, len), 0);
	assert_int_equal(d->n_retired, 2);
	assert_non_null(proto_roster_find_retired(d, e.id));
	assert_true(proto_roster_find_retired(d, e.id)->has_successor);
	assert_memory_equal(proto_roster_find_retired(d, e.id)->successor, e.successor, 32);
	assert_int_equal(proto_roster_find_retired(d, e.id)->not_after_ms, e.not_after_ms);
	assert_false(proto_roster_find_retired(d, f.id)->has_successor);
	assert_null(proto_roster_find_retired(d, d->members[0].id));
	assert_int_equal(proto_roster_encode(d, &buf2, &len2), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(buf, buf2, len);
	free(buf2);
	proto_roster_free(d);

	/* Retiring again replaces the entry (here: an earlier time). */
	e.not_after_ms = 1600000000000ull;
	assert_int_equal(proto_roster_retire(r, &e), 0);
	assert_int_equal(r->n_retired, 2);
	assert_int_equal(proto_roster_find_retired(r, e.id)->not_after_ms, e.not_after_ms);

	/* A successor that is not a member; a retired id that is a member or steward key. */
	r->retired[0].successor[0] ^= 1;
	assert_int_equal(proto_roster_check(r), PROTO_E_ROSTER_MEMBER);
	r->retired[0].successor[0] ^= 1;
	assert_int_equal(proto_roster_check(r), 0);
	memcpy(f.id, r->stewards[0], 32);
	assert_int_equal(proto_roster_retire(r, &f), 0);
	assert_int_equal(proto_roster_check(r), PROTO_E_ROSTER_MEMBER);
	proto_roster_free(r);

	/* Out of order: the check refuses it (and so the encoder: it never writes it). */
	assert_int_equal(proto_roster_decode(&r, buf, len), 0);
	f = r->retired[0];
	r->retired[0] = r->retired[1];
	r->retired[1] = f;
	assert_int_equal(proto_roster_check(r), PROTO_E_ROSTER_MEMBER);
	r->n_retired = 0; /* an empty list is encoded by leaving key 8 out */
	assert_int_equal(proto_roster_encode(r, &buf2, &len2), 0);
	assert_true(len2 < len);
	free(buf2);
	proto_roster_free(r);
	free(buf);
}

/*
 * A key rotation statement: signed by the old and the new identity key; a change to any
 * byte, a statement the new key did not sign, or one that reuses a key is refused.
 */
static void test_rekey(void **state)
{
	struct proto_keys old, new, other;
	struct proto_rekey st;
	uint8_t seed[32], community[32], *buf, *forged;
	size_t len, flen;

	(void)state;
	memset(community, 0x07, 32);
	memset(seed, 0x51, 32);
	assert_int_equal(proto_keys_from_seed(&old, seed), 0);
	memset(seed, 0x52, 32);
	assert_int_equal(proto_keys_from_seed(&new, seed), 0);
	memset(seed, 0x53, 32);
	assert_int_equal(proto_keys_from_seed(&other, seed), 0);

	assert_int_equal(proto_rekey_sign(community, &old, &new, 1700000000000ull, &buf, &len), 0);
	assert_int_equal(proto_rekey_decode(&st, buf, len), 0);
	assert_memory_equal(st.community, community, 32);
	assert_memory_equal(st.old_id, old.id_pk, 32);
	assert_memory_equal(st.new_id, new.id_pk, 32);
	assert_memory_equal(st.new_transport_pk, new.tx_pk, 32);
	assert_memory_equal(st.new_ring_pk, new.ring_pk, 32);
	assert_int_equal(st.created_ms, 1700000000000ull);
	for (size_t i = 0; i < len; i++) {
		buf[i] ^= 0x01;
		assert_int_not_equal(proto_rekey_decode(&st, buf, len), 0);
		buf[i] ^= 0x01;
	}
	for (size_t n = 0; n < len; n++)
		assert_int_not_equal(proto_rekey_decode(&st, buf, n), 0);
	free(buf);

	/* The "new" key must sign too: a statement naming someone else's keys is refused. */
	memcpy(other.tx_pk, new.tx_pk, 32);
	memcpy(other.ring_pk, new.ring_pk, 32);
	memcpy(other.id_pk, new.id_pk, 32); /* names new's id, signed with other's key */
	assert_int_equal(proto_rekey_sign(community, &old, &other, 1, &forged, &flen), 0);
	assert_int_equal(proto_rekey_decode(&st, forged, flen), PROTO_E_REKEY_SIG);
	free(forged);
	/* One key, one job: the old bundle's keys are not new keys. */
	assert_int_equal(proto_rekey_sign(community, &old, &old, 1, &forged, &flen),
			 PROTO_E_ROSTER_MEMBER);
	assert_int_equal(proto_rekey_sign(community, &old, &new, 0, &forged, &flen), PROTO_E_RANGE);
	proto_keys_wipe(&old);
	proto_keys_wipe(&new);
	proto_keys_wipe(&other);
}

/* Successors are followed through later retirements. */
static void test_successor(void **state)
{
	struct proto_roster *r = proto_roster_new();
	struct proto_retired e = {0};
	uint8_t a[32], b[32], c[32], sk[64], seed[32];

	(void)state;
	memset(seed, 0x61, 32);
	proto_crypto_raw_ed25519_seed_keypair(a, sk, seed);
	memset(seed, 0x62, 32);
	proto_crypto_raw_ed25519_seed_keypair(b, sk, seed);
	memset(seed, 0x63, 32);
	proto_crypto_raw_ed25519_seed_keypair(c, sk, seed);
	assert_null(proto_roster_successor(r, a));
	memcpy(e.id, a, 32);
	e.not_after_ms = 5;
	assert_int_equal(proto_roster_retire(r, &e), 0);
	assert_null(proto_roster_successor(r, a)); /* retired without a successor */
	e.has_successor = true;
	memcpy(e.successor, b, 32);
	assert_int_equal(proto_roster_retire(r, &e), 0);
	assert_memory_equal(proto_roster_successor(r, a), b, 32);
	memcpy(e.id, b, 32);
	memcpy(e.successor, c, 32);
	assert_int_equal(proto_roster_retire(r, &e), 0);
	assert_memory_equal(proto_roster_successor(r, a), c, 32);
	assert_memory_equal(proto_roster_successor(r, b), c, 32);
	assert_null(proto_roster_successor(r, c));
	proto_roster_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_withdraw_setting),
		cmocka_unit_test(test_quorum),
		cmocka_unit_test(test_dup_and_unknown_signers),
		cmocka_unit_test(test_non_steward_signature),
		cmocka_unit_test(test_bad_sig_among_good),
		cmocka_unit_test(test_epoch_and_community),
		cmocka_unit_test(test_authority_args),
		cmocka_unit_test(test_successor_authority),
		cmocka_unit_test(test_bit_flip),
		cmocka_unit_test(test_decode_rejects_struct),
		cmocka_unit_test(test_decode_rejects_bytes),
		cmocka_unit_test(test_decode_rejects_counts),
		cmocka_unit_test(test_lookups_and_editing),
		cmocka_unit_test(test_check_member_reasons),
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_peek_epoch),
		cmocka_unit_test(test_retired),
		cmocka_unit_test(test_rekey),
		cmocka_unit_test(test_successor),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
