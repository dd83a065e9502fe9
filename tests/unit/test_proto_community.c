/* SPDX-License-Identifier: MIT */
/*
 * Community definition and network key files: round trips, a pinned encoding, every
 * rejection, and the community file as the trust anchor of roster epoch 1.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/community.h"
#include "proto/crypto.h"
#include "proto/crypto_test.h"
#include "proto/error.h"
#include "proto/keys.h"
#include "proto/mp.h"
#include "proto/oprf.h"
#include "proto/sealed.h"
#include "proto/roster.h"
#include "testutil.h"

static int setup(void **state)
{
	(void)state;
	return proto_crypto_init();
}

static void steward_key(unsigned i, uint8_t pk[32], uint8_t sk[64])
{
	uint8_t seed[32];

	memset(seed, (int)(0x10 + i), 32);
	proto_crypto_raw_ed25519_seed_keypair(pk, sk, seed);
}

/* Three stewards (seeds 0x10, 0x11, 0x12), k = 2, id 32 bytes 0x07. */
static void make_community(struct proto_community *c)
{
	uint8_t sk[64];

	memset(c, 0, sizeof(*c));
	memset(c->id, 0x07, 32);
	strcpy(c->name, "Nordic CSIRT Circle");
	c->n_stewards = 3;
	for (unsigned i = 0; i < 3; i++)
		steward_key(i, c->stewards[i], sk);
	c->threshold = 2;
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/*
 * The encoding of make_community(), pinned: the community file format is on disk. Checked
 * independently with Python's msgpack (canonical re-pack is identical) and OpenSSL (the
 * steward keys are the Ed25519 public keys of the seeds).
 */
static const char vector_community[] =
	"8600b16368617468616d2d636f6d6d756e697479010102c42007070707070707070707070707070707070707"
	"0707070707070707070707070703b34e6f7264696320435349525420436972636c650493c4205c9c6df261c9"
	"cb840475776aaefcd944b405328fab28f9b3a95ef40490d3de84c420d04ab232742bb4ab3a1368bd4615e4e6"
	"d0224ab71a016baf8520a332c9778737c420204040e364c10f2bec9c1fe500a1cd4c247c89d650a01ed7e82c"
	"aba867877c210502";

static void test_roundtrip_and_vector(void **state)
{
	struct proto_community c, d;
	uint8_t *buf;
	size_t len;
	char *hex;

	(void)state;
	make_community(&c);
	assert_int_equal(proto_community_encode(&c, &buf, &len), 0);
	assert_true(len <= PROTO_COMMUNITY_MAX_BYTES);
	hex = malloc(2 * len + 1);
	proto_hex_encode(hex, buf, len);
	if (strcmp(hex, vector_community) != 0)
		fail_msg("community file format changed; now:\n%s", hex);
	free(hex);
	assert_int_equal(proto_community_decode(&d, buf, len), 0);
	assert_memory_equal(&d, &c, sizeof(c));
	for (size_t n = 0; n < len; n++)
		assert_int_not_equal(proto_community_decode(&d, buf, n), 0);
	free(buf);
}

struct cshape {
	const char *magic;
	uint64_t version;
	bool omit_threshold;
	bool extra_key;
	bool trailing;
};

static void build(const struct proto_community *c, const struct cshape *s, uint8_t **out,
		  size_t *len)
{
	struct proto_mp_writer w;

	proto_mp_writer_init(&w);
	proto_mp_write_map(&w, 6 - s->omit_threshold + s->extra_key);
	proto_mp_write_uint(&w, 0);
	proto_mp_write_cstr(&w, s->magic ? s->magic : PROTO_COMMUNITY_MAGIC);
	proto_mp_write_uint(&w, 1);
	proto_mp_write_uint(&w, s->version ? s->version : 1);
	proto_mp_write_uint(&w, 2);
	proto_mp_write_bin(&w, c->id, 32);
	proto_mp_write_uint(&w, 3);
	proto_mp_write_cstr(&w, c->name);
	proto_mp_write_uint(&w, 4);
	proto_mp_write_array(&w, c->n_stewards);
	for (size_t i = 0; i < c->n_stewards; i++)
		proto_mp_write_bin(&w, c->stewards[i], 32);
	if (!s->omit_threshold) {
		proto_mp_write_uint(&w, 5);
		proto_mp_write_uint(&w, c->threshold);
	}
	if (s->extra_key) {
		proto_mp_write_uint(&w, 7);
		proto_mp_write_uint(&w, 0);
	}
	if (s->trailing)
		proto_mp_write_uint(&w, 0);
	assert_int_equal(proto_mp_writer_finish(&w, out, len), 0);
}

static void c_threshold0(struct proto_community *c)
{
	c->threshold = 0;
}
static void c_threshold_high(struct proto_community *c)
{
	c->threshold = 4;
}
static void c_dup_steward(struct proto_community *c)
{
	memcpy(c->stewards[2], c->stewards[0], 32);
}
static void c_bad_steward(struct proto_community *c)
{
	memset(c->stewards[1], 0xff, 32);
}
static void c_no_stewards(struct proto_community *c)
{
	c->n_stewards = 0;
	c->threshold = 0;
}
static void c_bad_utf8(struct proto_community *c)
{
	strcpy(c->name, "caf\xc3");
}
static void c_control(struct proto_community *c)
{
	strcpy(c->name, "a\tb");
}
static void c_empty_name(struct proto_community *c)
{
	c->name[0] = 0;
}
static void c_nothing(struct proto_community *c)
{
	(void)c;
}

static void test_rejects(void **state)
{
	static const struct {
		const char *name;
		void (*fn)(struct proto_community *c);
		struct cshape s;
		int err;
	} cases[] = {
		{"valid", c_nothing, {0}, 0},
		{"network key magic",
		 c_nothing,
		 {.magic = PROTO_NETKEY_MAGIC},
		 PROTO_E_COMMUNITY_FORMAT},
		{"member key magic",
		 c_nothing,
		 {.magic = "chatham-member-key"},
		 PROTO_E_COMMUNITY_FORMAT},
		{"version 2", c_nothing, {.version = 2}, PROTO_E_VERSION},
		{"threshold missing", c_nothing, {.omit_threshold = true}, PROTO_E_KEY_MISSING},
		{"unknown key", c_nothing, {.extra_key = true}, PROTO_E_KEY_UNKNOWN},
		{"trailing bytes", c_nothing, {.trailing = true}, PROTO_E_TRAILING},
		{"threshold 0", c_threshold0, {0}, PROTO_E_RANGE},
		{"threshold above stewards", c_threshold_high, {0}, PROTO_E_RANGE},
		{"duplicate steward", c_dup_steward, {0}, PROTO_E_ROSTER_STEWARD},
		{"invalid steward key", c_bad_steward, {0}, PROTO_E_ROSTER_STEWARD},
		{"no stewards", c_no_stewards, {0}, PROTO_E_EMPTY},
		{"bad UTF-8 name", c_bad_utf8, {0}, PROTO_E_UTF8},
		{"control character in name", c_control, {0}, PROTO_E_ROSTER_TEXT},
		{"empty name", c_empty_name, {0}, PROTO_E_EMPTY},
	};
	struct proto_community c, d;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *buf, *enc;
		size_t len, enc_len;
		int got;

		make_community(&c);
		cases[i].fn(&c);
		build(&c, &cases[i].s, &buf, &len);
		memset(&d, 0xa5, sizeof(d));
		got = proto_community_decode(&d, buf, len);
		if (got != cases[i].err)
			fail_msg("%s: got %s, want %s", cases[i].name, proto_error_name(got),
				 proto_error_name(cases[i].err));
		if (got != 0 && !all_zero(&d, sizeof(d)))
			fail_msg("%s: output not cleared on failure", cases[i].name);
		/* Field rules are the encoder's too. */
		if (cases[i].fn != c_nothing) {
			got = proto_community_encode(&c, &enc, &enc_len);
			if (got != cases[i].err)
				fail_msg("%s: encode got %s", cases[i].name, proto_error_name(got));
		}
		free(buf);
	}
}

static void test_netkey(void **state)
{
	uint8_t key[32], got[32], *buf, *cbuf;
	size_t len, clen;
	struct proto_community c;

	(void)state;
	proto_community_netkey_generate(key);
	assert_false(all_zero(key, 32));
	assert_int_equal(proto_community_netkey_encode(key, &buf, &len), 0);
	assert_int_equal(proto_community_netkey_decode(got, buf, len), 0);
	assert_memory_equal(got, key, 32);
	for (size_t n = 0; n < len; n++) {
		memset(got, 0xa5, 32);
		assert_int_not_equal(proto_community_netkey_decode(got, buf, n), 0);
		assert_true(all_zero(got, 32));
	}
	/* A network key file is not a community file and vice versa. */
	assert_int_equal(proto_community_decode(&c, buf, len), PROTO_E_COMMUNITY_FORMAT);
	make_community(&c);
	assert_int_equal(proto_community_encode(&c, &cbuf, &clen), 0);
	assert_int_equal(proto_community_netkey_decode(got, cbuf, clen), PROTO_E_KEY_FORMAT);
	free(cbuf);
	proto_wipe(buf, len);
	free(buf);

	/* An all-zero key is a placeholder, not a secret. */
	memset(key, 0, 32);
	assert_int_equal(proto_community_netkey_encode(key, &buf, &len), 0);
	assert_int_equal(proto_community_netkey_decode(got, buf, len), PROTO_E_KEY_FORMAT);
	free(buf);
}

/* A roster of @n members from key seeds 0x40.. (their bundles in @k), epoch 2, one steward. */
static struct proto_roster *rotation_roster(size_t n, struct proto_keys *k)
{
	struct proto_roster *r = proto_roster_new();
	uint8_t pk[32], sk[64], seed[32];

	memset(r->community, 0x07, 32);
	r->name = strdup("Nordic CSIRT Circle");
	r->epoch = 2;
	r->threshold = 1;
	r->n_stewards = 1;
	r->stewards = malloc(32);
	steward_key(0, pk, sk);
	memcpy(r->stewards[0], pk, 32);
	for (size_t i = 0; i < n; i++) {
		struct proto_member m = {.name = "Member"};

		memset(seed, (int)(0x40 + i), 32);
		assert_int_equal(proto_keys_from_seed(&k[i], seed), 0);
		memcpy(m.id, k[i].id_pk, 32);
		memcpy(m.transport_pk, k[i].tx_pk, 32);
		memcpy(m.ring_pk, k[i].ring_pk, 32);
		assert_int_equal(proto_roster_add_member(r, &m), 0);
	}
	assert_int_equal(proto_roster_sign(r, r, 0, sk), 0);
	return r;
}

/*
 * A roster that rotates the network key: the key sealed to every member opens for each
 * member with its own transport key and for no one else; it survives the wire, and editing
 * the members drops it.
 */
static void test_netkey_rotation(void **state)
{
	struct proto_keys k[3], outsider;
	struct proto_roster *r = rotation_roster(3, k), *back;
	uint8_t key[32], got[32], seed[32], *buf, *buf2;
	size_t len, len2;

	(void)state;
	assert_int_equal(proto_community_netkey_open(r, k[0].id_pk, k[0].tx_sk, got), -ENOENT);
	proto_community_netkey_generate(key);
	assert_int_equal(proto_community_netkey_seal(r, key, 0), -EINVAL);
	assert_int_equal(proto_community_netkey_seal(r, key, 1700000000000ull), 0);
	assert_int_equal(r->n_sigs, 0); /* the body changed */
	assert_int_equal(proto_roster_encode(r, &buf, &len), 0);
	assert_int_equal(proto_roster_decode(&back, buf, len), 0);
	assert_int_equal(back->netkey_old_until_ms, 1700000000000ull);
	assert_non_null(back->netkey_sealed);
	assert_int_equal(proto_roster_encode(back, &buf2, &len2), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(buf2, buf, len);
	free(buf2);
	for (size_t i = 0; i < 3; i++) {
		int idx = proto_roster_find_member(back, k[i].id_pk);

		memset(got, 0, 32);
		assert_int_equal(proto_community_netkey_open(back, k[i].id_pk, k[i].tx_sk, got), 0);
		assert_memory_equal(got, key, 32);
		/* Sealed to one member's transport key: another's opens nothing. */
		assert_int_equal(
			proto_community_netkey_open(back, k[i].id_pk, k[(i + 1) % 3].tx_sk, got),
			PROTO_E_KEY_MISMATCH);
		assert_true(all_zero(got, 32));
		/* Two members' boxes differ (fresh ephemeral keys); a damaged box does not open. */
		assert_memory_not_equal(back->netkey_sealed[idx],
					back->netkey_sealed[(idx + 1) % 3],
					PROTO_ROSTER_SEALED_NETKEY_LEN);
	}
	back->netkey_sealed[proto_roster_find_member(back, k[0].id_pk)][40] ^= 1;
	assert_int_equal(proto_community_netkey_open(back, k[0].id_pk, k[0].tx_sk, got),
			 PROTO_E_NETKEY_SEALED);
	assert_true(all_zero(got, 32));
	proto_roster_free(back);
	memset(seed, 0x66, 32);
	assert_int_equal(proto_keys_from_seed(&outsider, seed), 0);
	assert_int_equal(proto_community_netkey_open(r, outsider.id_pk, outsider.tx_sk, got),
			 PROTO_E_ROSTER_NOT_MEMBER);
	/* The key never appears in the encoding. */
	for (size_t i = 0; i + 32 <= len; i++)
		assert_memory_not_equal(buf + i, key, 32);
	free(buf);
	/* Removing a member (here the first) drops the sealed keys: they no longer match. */
	assert_int_equal(proto_roster_remove_member(r, r->members[0].id), 0);
	assert_null(r->netkey_sealed);
	assert_int_equal(r->netkey_old_until_ms, 0);
	proto_roster_free(r);
	for (size_t i = 0; i < 3; i++)
		proto_keys_wipe(&k[i]);
	proto_keys_wipe(&outsider);
}

/* The node's key file state: both keys through the overlap, then the new one alone. */
static void test_netkey_state(void **state)
{
	struct proto_netkey_state s = {0}, back;
	uint8_t k1[32], k2[32], k3[32], id1[8], id2[8], *buf;
	size_t len;

	(void)state;
	proto_community_netkey_generate(k1);
	proto_community_netkey_generate(k2);
	proto_community_netkey_generate(k3);
	memcpy(s.key, k1, 32);
	/* Roster epoch 5 delivers k2 at t = 1000, the old key accepted until t = 2000. */
	assert_true(proto_community_netkey_adopt(&s, k2, 5, 2000, 1000));
	assert_memory_equal(s.key, k2, 32);
	assert_true(s.has_previous);
	assert_memory_equal(s.previous, k1, 32);
	assert_int_equal(s.previous_until_ms, 2000);
	assert_int_equal(s.epoch, 5);
	assert_false(proto_community_netkey_adopt(&s, k3, 5, 3000, 1000)); /* adopted already */
	assert_false(proto_community_netkey_adopt(&s, k3, 4, 3000, 1000)); /* older */
	assert_memory_equal(s.key, k2, 32);

	assert_int_equal(proto_community_netkey_state_encode(&s, &buf, &len), 0);
	assert_int_equal(proto_community_netkey_state_decode(&back, buf, len), 0);
	assert_memory_equal(&back, &s, sizeof(s));
	for (size_t n = 0; n < len; n++) {
		memset(&back, 0xa5, sizeof(back));
		assert_int_not_equal(proto_community_netkey_state_decode(&back, buf, n), 0);
		assert_true(all_zero(&back, sizeof(back)));
	}
	/* Tools that know one key read the key in use. */
	assert_int_equal(proto_community_netkey_decode(k3, buf, len), 0);
	assert_memory_equal(k3, k2, 32);
	proto_wipe(buf, len);
	free(buf);

	assert_false(proto_community_netkey_expire(&s, 1999));
	assert_true(s.has_previous);
	assert_true(proto_community_netkey_expire(&s, 2000));
	assert_false(s.has_previous);
	assert_true(all_zero(s.previous, 32));
	assert_int_equal(proto_community_netkey_state_encode(&s, &buf, &len), 0);
	assert_int_equal(proto_community_netkey_state_decode(&back, buf, len), 0);
	assert_false(back.has_previous);
	free(buf);

	/* A rotation adopted after its overlap ended keeps no previous key. */
	proto_community_netkey_generate(k3);
	assert_true(proto_community_netkey_adopt(&s, k3, 6, 2500, 3000));
	assert_memory_equal(s.key, k3, 32);
	assert_false(s.has_previous);
	/* The same key again (given out of band earlier): only the epoch moves. */
	assert_true(proto_community_netkey_adopt(&s, k3, 7, 9000, 3000));
	assert_int_equal(s.epoch, 7);
	assert_false(s.has_previous);

	s.has_previous = true;
	s.previous_until_ms = 0;
	assert_int_equal(proto_community_netkey_state_encode(&s, &buf, &len), PROTO_E_RANGE);

	proto_community_netkey_id(k1, id1);
	proto_community_netkey_id(k2, id2);
	assert_memory_not_equal(id1, id2, 8);
	proto_community_netkey_id(k1, id2);
	assert_memory_equal(id1, id2, 8);
}

/* Epoch 1 of a roster is verified against the stewards and k pinned in the community file. */
static void test_anchor_for_epoch1(void **state)
{
	struct proto_community c;
	struct proto_roster *r = proto_roster_new();
	struct proto_keys k;
	struct proto_member m = {.name = "Member"};
	uint8_t pk[32], sk[64], seed[32];

	(void)state;
	make_community(&c);
	memcpy(r->community, c.id, 32);
	r->name = strdup(c.name);
	r->epoch = 1;
	r->threshold = 1;
	r->n_stewards = 1;
	r->stewards = malloc(32);
	steward_key(0, r->stewards[0], sk); /* the roster names only steward 0, k = 1 ... */
	memset(seed, 0x33, 32);
	assert_int_equal(proto_keys_from_seed(&k, seed), 0);
	memcpy(m.id, k.id_pk, 32);
	memcpy(m.transport_pk, k.tx_pk, 32);
	memcpy(m.ring_pk, k.ring_pk, 32);
	proto_keys_wipe(&k);
	assert_int_equal(proto_roster_add_member(r, &m), 0);

	assert_int_equal(
		proto_roster_sign_with(r, (const uint8_t(*)[32])c.stewards, c.n_stewards, 0, sk),
		0);
	/* ... but the community file's k = 2 governs, so one signature is not enough. */
	assert_int_equal(proto_roster_verify(r, c.id, (const uint8_t(*)[32])c.stewards,
					     c.n_stewards, c.threshold, 0),
			 PROTO_E_ROSTER_QUORUM);
	steward_key(2, pk, sk);
	assert_int_equal(
		proto_roster_sign_with(r, (const uint8_t(*)[32])c.stewards, c.n_stewards, 2, sk),
		0);
	assert_int_equal(proto_roster_verify(r, c.id, (const uint8_t(*)[32])c.stewards,
					     c.n_stewards, c.threshold, 0),
			 0);
	proto_wipe(sk, sizeof(sk));
	proto_roster_free(r);
}

/* ---- succession: proto_community_roster_judge() ----------------------------------------- */

/*
 * A roster of community @c at @epoch whose stewards are steward keys @st[0..n-1] with
 * threshold @k, and one member from seed byte @member. Unsigned.
 */
static struct proto_roster *chain_roster(const struct proto_community *c, uint64_t epoch,
					 const unsigned *st, size_t n, uint32_t k, uint8_t member)
{
	struct proto_roster *r = proto_roster_new();
	struct proto_keys keys;
	struct proto_member m = {.name = "Member"};
	uint8_t sk[64], seed[32];

	assert_non_null(r);
	memcpy(r->community, c->id, 32);
	r->name = strdup(c->name);
	r->epoch = epoch;
	r->threshold = k;
	r->n_stewards = n;
	r->stewards = malloc(n * 32);
	for (size_t i = 0; i < n; i++)
		steward_key(st[i], r->stewards[i], sk);
	memset(seed, member, 32);
	assert_int_equal(proto_keys_from_seed(&keys, seed), 0);
	memcpy(m.id, keys.id_pk, 32);
	memcpy(m.transport_pk, keys.tx_pk, 32);
	memcpy(m.ring_pk, keys.ring_pk, 32);
	proto_keys_wipe(&keys);
	assert_int_equal(proto_roster_add_member(r, &m), 0);
	proto_wipe(sk, sizeof(sk));
	return r;
}

/* Sign @r as steward key @key, which sits at @idx of the authorising set @st[0..n-1]. */
static void chain_sign(struct proto_roster *r, const unsigned *st, size_t n, uint32_t idx)
{
	uint8_t stewards[PROTO_ROSTER_STEWARDS_MAX][32], pk[32], sk[64];

	for (size_t i = 0; i < n; i++)
		steward_key(st[i], stewards[i], sk);
	steward_key(st[idx], pk, sk);
	assert_int_equal(proto_roster_sign_with(r, (const uint8_t(*)[32])stewards, n, idx, sk), 0);
	proto_wipe(sk, sizeof(sk));
}

#define JUDGE(c, held, n, r) \
	proto_community_roster_judge(c, (const struct proto_roster *const *)(held), n, r)

/*
 * Steward changes: epoch 2 replaces steward 1 by steward 5 and raises k to 3 (signed by k = 2
 * of the community's stewards); epoch 3 is then valid only with 3 of the new set. Every
 * forbidden shortcut is refused: the new set signing its own appointment, too few of the
 * old set, a rollback, a conflicting roster of a held epoch (reported as a conflict only
 * when the right authority signed it).
 */
static void test_succession(void **state)
{
	static const unsigned s1[] = {0, 1, 2}, s2[] = {0, 5, 2, 6};
	struct proto_community c;
	struct proto_roster *held[3] = {NULL}, *r;

	(void)state;
	make_community(&c);
	held[0] = chain_roster(&c, 1, s1, 3, 2, 0x40);
	assert_int_equal(JUDGE(&c, held, 0, held[0]), PROTO_E_ROSTER_QUORUM);
	chain_sign(held[0], s1, 3, 0);
	chain_sign(held[0], s1, 3, 2);
	assert_int_equal(JUDGE(&c, held, 0, held[0]), 0);

	/* Epoch 2: stewards {0, 5, 2, 6}, k = 3. */
	held[1] = chain_roster(&c, 2, s2, 4, 3, 0x41);
	/* It cannot appoint itself: signed by three of its own stewards, two of them new. */
	chain_sign(held[1], s2, 4, 1);
	chain_sign(held[1], s2, 4, 3);
	assert_int_not_equal(JUDGE(&c, held, 1, held[1]), 0);
	proto_roster_clear_sigs(held[1]);
	chain_sign(held[1], s1, 3, 1); /* one of the stewards in office: under k = 2 */
	assert_int_equal(JUDGE(&c, held, 1, held[1]), PROTO_E_ROSTER_QUORUM);
	chain_sign(held[1], s1, 3, 0);
	assert_int_equal(JUDGE(&c, held, 1, held[1]), 0);

	/* Epoch 3 under the new k = 3: two signatures are not enough, the removed one never counts. */
	held[2] = chain_roster(&c, 3, s2, 4, 3, 0x42);
	chain_sign(held[2], s2, 4, 0);
	chain_sign(held[2], s2, 4, 1);
	assert_int_equal(JUDGE(&c, held, 2, held[2]), PROTO_E_ROSTER_QUORUM);
	r = chain_roster(&c, 3, s1, 3, 2, 0x42); /* the removed steward 1 with steward 0 */
	chain_sign(r, s1, 3, 0);
	chain_sign(r, s1, 3, 1);
	assert_int_not_equal(JUDGE(&c, held, 2, r), 0);
	proto_roster_free(r);
	chain_sign(held[2], s2, 4, 3);
	assert_int_equal(JUDGE(&c, held, 2, held[2]), 0);

	/* A copy of a held epoch, even signed by another quorum, is known, not a conflict. */
	r = chain_roster(&c, 2, s2, 4, 3, 0x41);
	chain_sign(r, s1, 3, 1);
	chain_sign(r, s1, 3, 2);
	assert_int_equal(JUDGE(&c, held, 3, r), PROTO_E_ROSTER_KNOWN);
	proto_roster_free(r);

	/* Two rosters of epoch 2 signed by the stewards of epoch 1: a conflict. */
	r = chain_roster(&c, 2, s1, 3, 2, 0x43);
	chain_sign(r, s1, 3, 0);
	chain_sign(r, s1, 3, 2);
	assert_int_equal(JUDGE(&c, held, 3, r), PROTO_E_ROSTER_CONFLICT);
	/* The same body signed by an authority that never authorised epoch 2: no proof. */
	proto_roster_clear_sigs(r);
	chain_sign(r, s2, 4, 1);
	chain_sign(r, s2, 4, 3);
	chain_sign(r, s2, 4, 0);
	assert_int_not_equal(JUDGE(&c, held, 3, r), 0);
	assert_int_not_equal(JUDGE(&c, held, 3, r), PROTO_E_ROSTER_CONFLICT);
	proto_roster_free(r);

	/* A conflict for epoch 1 is judged against the community file. */
	r = chain_roster(&c, 1, s1, 3, 2, 0x44);
	chain_sign(r, s1, 3, 1);
	chain_sign(r, s1, 3, 2);
	assert_int_equal(JUDGE(&c, held, 3, r), PROTO_E_ROSTER_CONFLICT);
	proto_roster_free(r);

	/* Rollback: a node that holds only epoch 3 is offered a valid epoch 2. */
	assert_int_equal(JUDGE(&c, &held[2], 1, held[1]), PROTO_E_ROSTER_EPOCH);

	/* A retirement is never undone: epoch 4 must keep epoch 3's, not postponed. */
	{
		struct proto_retired e = {.not_after_ms = 1000};
		struct proto_keys keys;
		uint8_t seed[32];

		memset(seed, 0x66, 32);
		assert_int_equal(proto_keys_from_seed(&keys, seed), 0);
		memcpy(e.id, keys.id_pk, 32);
		proto_keys_wipe(&keys);
		assert_int_equal(proto_roster_retire(held[2], &e), 0); /* held as if signed */
		r = chain_roster(&c, 4, s2, 4, 3, 0x45);
		chain_sign(r, s2, 4, 0);
		chain_sign(r, s2, 4, 1);
		chain_sign(r, s2, 4, 2);
		assert_int_equal(JUDGE(&c, held, 3, r), PROTO_E_ROSTER_RETIRED);
		e.not_after_ms = 1001;
		assert_int_equal(proto_roster_retire(r, &e), 0);
		chain_sign(r, s2, 4, 0);
		chain_sign(r, s2, 4, 1);
		chain_sign(r, s2, 4, 2);
		assert_int_equal(JUDGE(&c, held, 3, r), PROTO_E_ROSTER_RETIRED);
		e.not_after_ms = 999; /* earlier is stricter: allowed */
		assert_int_equal(proto_roster_retire(r, &e), 0);
		chain_sign(r, s2, 4, 0);
		chain_sign(r, s2, 4, 1);
		chain_sign(r, s2, 4, 2);
		assert_int_equal(JUDGE(&c, held, 3, r), 0);
		proto_roster_free(r);
	}

	/* Another community. */
	r = chain_roster(&c, 4, s2, 4, 3, 0x45);
	r->community[0] ^= 1;
	assert_int_equal(JUDGE(&c, held, 3, r), PROTO_E_ROSTER_COMMUNITY);
	proto_roster_free(r);

	for (size_t i = 0; i < 3; i++)
		proto_roster_free(held[i]);
}

/* make_community() with sealed settings k = 3 over a fresh 2-of-3 OPRF key. */
static void make_sealed(struct proto_community *c, uint8_t shares[3][32])
{
	make_community(c);
	c->sealed.k = 3;
	c->sealed.t = 2;
	c->sealed.quota = 1000;
	c->sealed.window_days = 30;
	c->sealed.n = 3;
	assert_int_equal(proto_oprf_deal(shares, c->sealed.vks, c->sealed.vk, 2, 3), 0);
}

/* The sealed map written by hand, with one field replaced by @bad_key/@bad_val. */
static void build_sealed(const struct proto_community *c, int bad_key, uint64_t bad_val, bool extra,
			 uint8_t **out, size_t *len)
{
	const struct proto_community_sealed *s = &c->sealed;
	uint64_t v[4] = {s->k, s->t, s->quota, s->window_days};
	struct proto_mp_writer w;

	if (bad_key >= 0)
		v[bad_key] = bad_val;
	proto_mp_writer_init(&w);
	proto_mp_write_map(&w, 7);
	proto_mp_write_uint(&w, 0);
	proto_mp_write_cstr(&w, PROTO_COMMUNITY_MAGIC);
	proto_mp_write_uint(&w, 1);
	proto_mp_write_uint(&w, 1);
	proto_mp_write_uint(&w, 2);
	proto_mp_write_bin(&w, c->id, 32);
	proto_mp_write_uint(&w, 3);
	proto_mp_write_cstr(&w, c->name);
	proto_mp_write_uint(&w, 4);
	proto_mp_write_array(&w, c->n_stewards);
	for (size_t i = 0; i < c->n_stewards; i++)
		proto_mp_write_bin(&w, c->stewards[i], 32);
	proto_mp_write_uint(&w, 5);
	proto_mp_write_uint(&w, c->threshold);
	proto_mp_write_uint(&w, 6);
	proto_mp_write_map(&w, 6 + extra);
	for (unsigned i = 0; i < 4; i++) {
		proto_mp_write_uint(&w, i);
		proto_mp_write_uint(&w, v[i]);
	}
	proto_mp_write_uint(&w, 4);
	proto_mp_write_bin(&w, s->vk, 32);
	proto_mp_write_uint(&w, 5);
	proto_mp_write_array(&w, s->n);
	for (size_t i = 0; i < s->n; i++)
		proto_mp_write_bin(&w, s->vks[i], 32);
	if (extra) {
		proto_mp_write_uint(&w, 6);
		proto_mp_write_uint(&w, 1);
	}
	assert_int_equal(proto_mp_writer_finish(&w, out, len), 0);
}

static void test_sealed_settings(void **state)
{
	static const struct {
		const char *name;
		int key;
		uint64_t val;
		bool extra;
		int err;
	} cases[] = {
		{"as encoded", -1, 0, false, 0},
		{"k written as 0", 0, 0, false, PROTO_E_SEALED_K},
		{"k 1", 0, 1, false, PROTO_E_SEALED_K},
		{"k over the maximum", 0, PROTO_SEALED_K_MAX + 1, false, PROTO_E_SEALED_K},
		{"t 0", 1, 0, false, PROTO_E_RANGE},
		{"t over n", 1, 4, false, PROTO_E_RANGE},
		{"quota 0", 2, 0, false, PROTO_E_RANGE},
		{"window 0", 3, 0, false, PROTO_E_RANGE},
		{"window over a year", 3, PROTO_SEALED_WINDOW_MAX + 1, false, PROTO_E_RANGE},
		{"unknown sealed key", -1, 0, true, PROTO_E_KEY_UNKNOWN},
	};
	struct proto_community c, d;
	uint8_t shares[3][32], *buf, *enc;
	size_t len, enc_len;

	(void)state;
	make_sealed(&c, shares);
	assert_int_equal(proto_community_encode(&c, &enc, &enc_len), 0);
	assert_true(enc_len <= PROTO_COMMUNITY_MAX_BYTES);
	assert_int_equal(proto_community_decode(&d, enc, enc_len), 0);
	assert_memory_equal(&d, &c, sizeof(c));
	for (size_t n = 0; n < enc_len; n++)
		assert_int_not_equal(proto_community_decode(&d, enc, n), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got;

		build_sealed(&c, cases[i].key, cases[i].val, cases[i].extra, &buf, &len);
		if (cases[i].err == 0)
			assert_memory_equal(buf, enc, enc_len);
		got = proto_community_decode(&d, buf, len);
		if (got != cases[i].err)
			fail_msg("%s: got %s, want %s", cases[i].name, proto_error_name(got),
				 proto_error_name(cases[i].err));
		free(buf);
	}
	free(enc);

	/* Verification keys off one polynomial, or a bad point, are refused both ways. */
	make_sealed(&c, shares);
	memcpy(c.sealed.vks[2], c.sealed.vks[0], 32);
	assert_int_equal(proto_community_encode(&c, &enc, &enc_len), PROTO_E_OPRF_PROOF);
	make_sealed(&c, shares);
	memcpy(c.sealed.vk, c.sealed.vks[1], 32);
	assert_int_equal(proto_community_encode(&c, &enc, &enc_len), PROTO_E_OPRF_PROOF);
	c.sealed.vk[0] ^= 1;
	c.sealed.vk[31] |= 0x80;
	assert_int_equal(proto_community_encode(&c, &enc, &enc_len), PROTO_E_RING_POINT);

	/* A file without key 6 (the pinned vector, written before it existed) reads as off. */
	len = strlen(vector_community) / 2;
	buf = malloc(len);
	assert_int_equal(proto_hex_decode(buf, len, vector_community), 0);
	assert_int_equal(proto_community_decode(&d, buf, len), 0);
	assert_int_equal(d.sealed.k, 0);
	free(buf);
	proto_wipe(shares, sizeof(shares));
}

static void test_oprf_share_file(void **state)
{
	struct proto_community c;
	uint8_t shares[3][32], id[32], got[32], *buf;
	uint32_t idx;
	uint64_t gen = 1;
	size_t len;

	(void)state;
	make_sealed(&c, shares);
	assert_int_equal(proto_community_oprf_share_encode(c.id, 0, 0, shares[0], &buf, &len),
			 -EINVAL);
	for (uint32_t j = 1; j <= 3; j++) {
		assert_int_equal(
			proto_community_oprf_share_encode(c.id, j, 0, shares[j - 1], &buf, &len),
			0);
		assert_int_equal(proto_community_oprf_share_decode(id, &idx, &gen, got, buf, len),
				 0);
		assert_int_equal(idx, j);
		assert_memory_equal(got, shares[j - 1], 32);
		assert_int_equal(proto_community_oprf_share_check(&c, id, idx, got), 0);
		/* Another holder's index, another community, no sealed settings. */
		assert_int_equal(proto_community_oprf_share_check(&c, id, j % 3 + 1, got),
				 PROTO_E_OPRF_PROOF);
		assert_int_equal(proto_community_oprf_share_check(&c, id, 4, got), PROTO_E_RANGE);
		id[0] ^= 1;
		assert_int_equal(proto_community_oprf_share_check(&c, id, idx, got),
				 PROTO_E_ROSTER_COMMUNITY);
		for (size_t n = 0; n < len; n++) {
			assert_int_not_equal(
				proto_community_oprf_share_decode(id, &idx, &gen, got, buf, n), 0);
			assert_true(all_zero(got, 32));
		}
		proto_wipe(buf, len);
		free(buf);
	}
	c.sealed.k = 0;
	assert_int_equal(proto_community_oprf_share_check(&c, c.id, 1, shares[0]),
			 PROTO_E_KEY_MISSING);

	/* A zero share, an index out of range, another file kind. */
	memset(got, 0, 32);
	assert_int_equal(proto_community_oprf_share_encode(c.id, 1, 0, got, &buf, &len), 0);
	assert_int_equal(proto_community_oprf_share_decode(id, &idx, &gen, got, buf, len),
			 PROTO_E_RING_SCALAR);
	free(buf);
	assert_int_equal(proto_community_oprf_share_encode(c.id, 33, 0, shares[0], &buf, &len), 0);
	assert_int_equal(proto_community_oprf_share_decode(id, &idx, &gen, got, buf, len),
			 PROTO_E_RANGE);
	assert_true(all_zero(got, 32));
	proto_wipe(buf, len);
	free(buf);
	assert_int_equal(proto_community_netkey_encode(shares[0], &buf, &len), 0);
	assert_int_equal(proto_community_oprf_share_decode(id, &idx, &gen, got, buf, len),
			 PROTO_E_KEY_FORMAT);
	proto_wipe(buf, len);
	free(buf);
	proto_wipe(shares, sizeof(shares));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_and_vector),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_netkey),
		cmocka_unit_test(test_netkey_rotation),
		cmocka_unit_test(test_netkey_state),
		cmocka_unit_test(test_anchor_for_epoch1),
		cmocka_unit_test(test_succession),
		cmocka_unit_test(test_sealed_settings),
		cmocka_unit_test(test_oprf_share_file),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
