/* SPDX-License-Identifier: MIT */
/*
 * Member and steward key bundles: generation, the versioned format (pinned by a vector),
 * derivation checks on decode and every rejection, with the output wiped on failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/keys.h"
#include "proto/mp.h"
#include "proto/ring.h"
#include "testutil.h"

/*
 * proto_keys_from_seed() of 32 bytes 0x42, encoded. Pins the file format and the seed
 * derivation: if this changes, every fixture built from seeds changes with it. The public
 * keys were cross-checked with OpenSSL (Ed25519 and X25519 from the raw secrets) and the
 * secrets with Python's hashlib (BLAKE2b of "chatham/keyseed/1" || job || seed, the ring
 * scalar reduced mod L).
 */
static const char vector_seed42[] =
	"8500b26368617468616d2d6d656d6265722d6b6579010102c4402edf5e335f0163445c03fdf82410627ff034"
	"f3f5c32709a787a968baf77503eefcd2375b94290c2d78fdbc355d2facf5ddb4b96e840856bc6b84c863fda0"
	"5e6103c4204ccdeb95eff7811663ce6d681efec5667edf1c841c1571fca2c608dde9d5d25904c4207fd28067"
	"c80fc9a043b7d14786aee718296035b15f119be431eec7fd4f44480f";
static const char vector_seed42_id[] =
	"fcd2375b94290c2d78fdbc355d2facf5ddb4b96e840856bc6b84c863fda05e61";
static const char vector_seed42_tx[] =
	"392cf33fd34b1b12783bd0dc238dd31f78d1a6d594fd136a2c4c1b2516a32665";

static int setup(void **state)
{
	(void)state;
	return proto_crypto_init();
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void test_generate_roundtrip(void **state)
{
	struct proto_keys a, b, d;
	uint8_t *buf, pk[32];
	size_t len;

	(void)state;
	assert_int_equal(proto_keys_generate(&a), 0);
	assert_int_equal(proto_keys_generate(&b), 0);
	assert_memory_not_equal(a.id_pk, b.id_pk, 32);
	assert_memory_not_equal(a.tx_sk, b.tx_sk, 32);
	assert_memory_not_equal(a.ring_sk, b.ring_sk, 32);
	/* Three separate keys, never one key for two jobs. */
	assert_memory_not_equal(a.id_sk, a.tx_sk, 32);
	assert_memory_not_equal(a.tx_sk, a.ring_sk, 32);
	assert_memory_equal(a.id_sk + 32, a.id_pk, 32);
	assert_int_equal(proto_ring_pk_from_sk(pk, a.ring_sk), 0);
	assert_memory_equal(pk, a.ring_pk, 32);

	assert_int_equal(proto_keys_encode(&a, &buf, &len), 0);
	assert_true(len <= PROTO_KEYS_ENCODED_MAX);
	assert_int_equal(proto_keys_decode(&d, buf, len), 0);
	/* Decode derives every public key; they must match what generation produced. */
	assert_memory_equal(&d, &a, sizeof(d));
	proto_wipe(buf, len);
	free(buf);
	proto_keys_wipe(&a);
	proto_keys_wipe(&b);
	proto_keys_wipe(&d);
	assert_true(all_zero(&a, sizeof(a)));
}

static void test_seed_vector(void **state)
{
	struct proto_keys k, k2, d;
	uint8_t seed[32], *buf, *want;
	size_t len, want_len;
	char *hex;

	(void)state;
	memset(seed, 0x42, 32);
	assert_int_equal(proto_keys_from_seed(&k, seed), 0);
	assert_int_equal(proto_keys_from_seed(&k2, seed), 0);
	assert_memory_equal(&k, &k2, sizeof(k));
	seed[0] ^= 1;
	assert_int_equal(proto_keys_from_seed(&k2, seed), 0);
	assert_memory_not_equal(k.id_pk, k2.id_pk, 32);
	assert_memory_not_equal(k.tx_pk, k2.tx_pk, 32);
	assert_memory_not_equal(k.ring_pk, k2.ring_pk, 32);

	assert_int_equal(proto_keys_encode(&k, &buf, &len), 0);
	hex = malloc(2 * len + 1);
	proto_hex_encode(hex, buf, len);
	if (strcmp(hex, vector_seed42) != 0)
		fail_msg("member key format or seed derivation changed; now:\n%s", hex);
	want = tu_unhex(vector_seed42, &want_len);
	assert_int_equal(proto_keys_decode(&d, want, want_len), 0);
	assert_memory_equal(&d, &k, sizeof(d));
	proto_hex_encode(hex, d.id_pk, 32);
	assert_string_equal(hex, vector_seed42_id);
	proto_hex_encode(hex, d.tx_pk, 32);
	assert_string_equal(hex, vector_seed42_tx);
	free(hex);
	free(want);
	proto_wipe(buf, len);
	free(buf);
	proto_keys_wipe(&k);
	proto_keys_wipe(&k2);
	proto_keys_wipe(&d);
}

/* Member bundle bytes with selected fields overridden, for the rejection table. */
struct shape {
	const char *magic;
	uint64_t version;
	size_t id_len;	   /* 0: 64 */
	bool omit_ring;	   /* no key 4 */
	bool extra_key;	   /* key 5 after the ring key */
	bool trailing;	   /* one byte after the map */
	bool magic_bin;	   /* magic as bin instead of str */
	bool not_a_map;	   /* an array instead */
	bool swap_tx_ring; /* tx sk written as the ring sk's bytes */
};

static void build(const struct proto_keys *k, const struct shape *s, uint8_t **out, size_t *len)
{
	struct proto_mp_writer w;
	size_t n = 5 - s->omit_ring + s->extra_key;

	proto_mp_writer_init(&w);
	if (s->not_a_map)
		proto_mp_write_array(&w, n);
	else
		proto_mp_write_map(&w, n);
	proto_mp_write_uint(&w, 0);
	if (s->magic_bin)
		proto_mp_write_bin(&w, PROTO_KEYS_MEMBER_MAGIC, strlen(PROTO_KEYS_MEMBER_MAGIC));
	else
		proto_mp_write_cstr(&w, s->magic ? s->magic : PROTO_KEYS_MEMBER_MAGIC);
	proto_mp_write_uint(&w, 1);
	proto_mp_write_uint(&w, s->version ? s->version : 1);
	proto_mp_write_uint(&w, 2);
	proto_mp_write_bin(&w, k->id_sk, s->id_len ? s->id_len : 64);
	proto_mp_write_uint(&w, 3);
	proto_mp_write_bin(&w, s->swap_tx_ring ? k->ring_sk : k->tx_sk, 32);
	if (!s->omit_ring) {
		proto_mp_write_uint(&w, 4);
		proto_mp_write_bin(&w, k->ring_sk, 32);
	}
	if (s->extra_key) {
		proto_mp_write_uint(&w, 5);
		proto_mp_write_uint(&w, 0);
	}
	if (s->trailing)
		proto_mp_write_uint(&w, 0);
	assert_int_equal(proto_mp_writer_finish(&w, out, len), 0);
}

static void test_decode_rejects(void **state)
{
	static const struct {
		const char *name;
		struct shape s;
		int err;
	} cases[] = {
		{"valid", {0}, 0},
		{"steward magic", {.magic = PROTO_KEYS_STEWARD_MAGIC}, PROTO_E_KEY_FORMAT},
		{"other magic", {.magic = "chatham-member-keys"}, PROTO_E_KEY_FORMAT},
		{"magic as bin", {.magic_bin = true}, PROTO_E_KEY_FORMAT},
		{"array not map", {.not_a_map = true}, PROTO_E_KEY_FORMAT},
		{"version 2", {.version = 2}, PROTO_E_KEY_VERSION},
		{"version 2 with another shape",
		 {.version = 2, .extra_key = true, .id_len = 32},
		 PROTO_E_KEY_VERSION},
		{"identity sk 63 bytes", {.id_len = 63}, PROTO_E_RANGE},
		{"identity sk 65 bytes", {.id_len = 65}, PROTO_E_TOO_LARGE},
		{"ring key missing", {.omit_ring = true}, PROTO_E_KEY_MISSING},
		{"unknown key", {.extra_key = true}, PROTO_E_KEY_UNKNOWN},
		{"trailing bytes", {.trailing = true}, PROTO_E_TRAILING},
		{"transport sk reused as ring sk", {.swap_tx_ring = true}, PROTO_E_KEY_FORMAT},
	};
	struct proto_keys k, d;

	(void)state;
	assert_int_equal(proto_keys_generate(&k), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *buf;
		size_t len;
		int got;

		build(&k, &cases[i].s, &buf, &len);
		memset(&d, 0xa5, sizeof(d));
		got = proto_keys_decode(&d, buf, len);
		if (got != cases[i].err)
			fail_msg("%s: got %s, want %s", cases[i].name, proto_error_name(got),
				 proto_error_name(cases[i].err));
		if (got != 0 && !all_zero(&d, sizeof(d)))
			fail_msg("%s: output not wiped on failure", cases[i].name);
		proto_wipe(buf, len);
		free(buf);
	}
	assert_int_equal(proto_keys_decode(&d, (const uint8_t *)"", 0), PROTO_E_KEY_FORMAT);
	assert_int_equal(proto_keys_decode(&d, (const uint8_t *)"\xc1", 1), PROTO_E_KEY_FORMAT);
	proto_keys_wipe(&k);
}

static void test_decode_checks_derivation(void **state)
{
	struct proto_keys k, d;
	uint8_t *buf, *p;
	size_t len;

	(void)state;
	assert_int_equal(proto_keys_generate(&k), 0);
	assert_int_equal(proto_keys_encode(&k, &buf, &len), 0);

	/* A flipped bit in the stored public half of the identity key. */
	p = memmem(buf, len, k.id_sk, 64);
	assert_non_null(p);
	p[40] ^= 0x01;
	assert_int_equal(proto_keys_decode(&d, buf, len), PROTO_E_KEY_MISMATCH);
	assert_true(all_zero(&d, sizeof(d)));
	p[40] ^= 0x01;
	/* A flipped bit in the seed: the stored public half no longer follows from it. */
	p[3] ^= 0x80;
	assert_int_equal(proto_keys_decode(&d, buf, len), PROTO_E_KEY_MISMATCH);
	p[3] ^= 0x80;

	/* Ring sk: non-canonical (>= L) and zero are both refused. */
	p = memmem(buf, len, k.ring_sk, 32);
	assert_non_null(p);
	memset(p, 0xff, 32);
	assert_int_equal(proto_keys_decode(&d, buf, len), PROTO_E_RING_SCALAR);
	memset(p, 0, 32);
	assert_int_equal(proto_keys_decode(&d, buf, len), PROTO_E_RING_SCALAR);
	assert_true(all_zero(&d, sizeof(d)));
	memcpy(p, k.ring_sk, 32);
	assert_int_equal(proto_keys_decode(&d, buf, len), 0);

	/* Every strict prefix is an error, never a success or a crash. */
	for (size_t n = 0; n < len; n++)
		assert_int_not_equal(proto_keys_decode(&d, buf, n), 0);
	proto_wipe(buf, len);
	free(buf);
	proto_keys_wipe(&k);
	proto_keys_wipe(&d);
}

static void test_steward(void **state)
{
	uint8_t pk[32], sk[64], pk2[32], sk2[64], *buf, *mbuf;
	size_t len, mlen;
	struct proto_keys k;

	(void)state;
	assert_int_equal(proto_keys_steward_generate(pk, sk), 0);
	assert_memory_equal(sk + 32, pk, 32);
	assert_int_equal(proto_keys_steward_encode(sk, &buf, &len), 0);
	assert_true(len <= PROTO_KEYS_ENCODED_MAX);
	assert_int_equal(proto_keys_steward_decode(pk2, sk2, buf, len), 0);
	assert_memory_equal(pk2, pk, 32);
	assert_memory_equal(sk2, sk, 64);

	/* Wrong public half. */
	buf[len - 1] ^= 0x01;
	assert_int_equal(proto_keys_steward_decode(pk2, sk2, buf, len), PROTO_E_KEY_MISMATCH);
	assert_true(all_zero(sk2, 64));
	assert_true(all_zero(pk2, 32));
	buf[len - 1] ^= 0x01;

	/* A member bundle is not a steward key, and the other way round. */
	assert_int_equal(proto_keys_generate(&k), 0);
	assert_int_equal(proto_keys_encode(&k, &mbuf, &mlen), 0);
	assert_int_equal(proto_keys_steward_decode(pk2, sk2, mbuf, mlen), PROTO_E_KEY_FORMAT);
	assert_int_equal(proto_keys_decode(&k, buf, len), PROTO_E_KEY_FORMAT);
	for (size_t n = 0; n < len; n++)
		assert_int_not_equal(proto_keys_steward_decode(pk2, sk2, buf, n), 0);

	proto_wipe(buf, len);
	proto_wipe(mbuf, mlen);
	free(buf);
	free(mbuf);
	proto_wipe(sk, sizeof(sk));
	proto_keys_wipe(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate_roundtrip),
		cmocka_unit_test(test_seed_vector),
		cmocka_unit_test(test_decode_rejects),
		cmocka_unit_test(test_decode_checks_derivation),
		cmocka_unit_test(test_steward),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
