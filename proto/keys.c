/* SPDX-License-Identifier: MIT */
/*
 * Member and steward key bundles.
 *
 * The encoders use the proto/mp.h writer, whose buffer is allocated once at msgpack-c's
 * initial size (8 KiB) and never reallocated for encodings this small (< 256 bytes), so no
 * copy of a secret is left behind in freed memory: the only copy is the buffer handed to the
 * caller, who wipes it. The decoders copy secrets straight from the caller's buffer into the
 * caller's struct; every derived temporary lives on the stack and is wiped before returning.
 */
#include "proto/keys.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "proto/error.h"
#include "proto/mp.h"
#include "proto/ring.h"

#define SEED_DOMAIN "chatham/keyseed/1"

enum seed_job { JOB_IDENTITY = 1, JOB_TRANSPORT = 2, JOB_RING = 3 };

void proto_keys_wipe(struct proto_keys *k)
{
	if (k)
		sodium_memzero(k, sizeof(*k));
}

int proto_keys_generate(struct proto_keys *k)
{
	int err;

	crypto_sign_keypair(k->id_pk, k->id_sk);
	randombytes_buf(k->tx_sk, sizeof(k->tx_sk));
	crypto_scalarmult_base(k->tx_pk, k->tx_sk);
	err = proto_ring_keypair(k->ring_pk, k->ring_sk);
	if (err)
		proto_keys_wipe(k);
	return err;
}

static void seed_hash(uint8_t *out, size_t outlen, enum seed_job job, const uint8_t seed[32])
{
	crypto_generichash_state st;
	uint8_t j = (uint8_t)job;

	crypto_generichash_init(&st, NULL, 0, outlen);
	crypto_generichash_update(&st, (const uint8_t *)SEED_DOMAIN, sizeof(SEED_DOMAIN) - 1);
	crypto_generichash_update(&st, &j, 1);
	crypto_generichash_update(&st, seed, 32);
	crypto_generichash_final(&st, out, outlen);
	sodium_memzero(&st, sizeof(st));
}

int proto_keys_from_seed(struct proto_keys *k, const uint8_t seed[32])
{
	uint8_t tmp[64];
	int err;

	seed_hash(tmp, 32, JOB_IDENTITY, seed);
	crypto_sign_seed_keypair(k->id_pk, k->id_sk, tmp);
	seed_hash(k->tx_sk, 32, JOB_TRANSPORT, seed);
	crypto_scalarmult_base(k->tx_pk, k->tx_sk);
	seed_hash(tmp, 64, JOB_RING, seed);
	crypto_core_ristretto255_scalar_reduce(k->ring_sk, tmp);
	sodium_memzero(tmp, sizeof(tmp));
	err = proto_ring_pk_from_sk(k->ring_pk, k->ring_sk);
	if (err)
		proto_keys_wipe(k);
	return err;
}

int proto_keys_encode(const struct proto_keys *k, uint8_t **out, size_t *out_len)
{
	struct proto_mp_writer w;

	proto_mp_writer_init(&w);
	proto_mp_write_map(&w, 5);
	proto_mp_write_uint(&w, 0);
	proto_mp_write_cstr(&w, PROTO_KEYS_MEMBER_MAGIC);
	proto_mp_write_uint(&w, 1);
	proto_mp_write_uint(&w, PROTO_KEYS_VERSION);
	proto_mp_write_uint(&w, 2);
	proto_mp_write_bin(&w, k->id_sk, 64);
	proto_mp_write_uint(&w, 3);
	proto_mp_write_bin(&w, k->tx_sk, 32);
	proto_mp_write_uint(&w, 4);
	proto_mp_write_bin(&w, k->ring_sk, 32);
	return proto_mp_writer_finish(&w, out, out_len);
}

/*
 * The header of both formats: a map whose key 0 is @magic and key 1 the version. Anything
 * that is not recognisably our file is PROTO_E_KEY_FORMAT; a recognised file of another
 * version is PROTO_E_KEY_VERSION whatever follows, since a newer format may differ in shape.
 * Leaves @m positioned after the version entry.
 */
static int read_header(struct proto_mp_reader *rd, struct proto_mp_map *m, const char *magic)
{
	const char *s;
	size_t n;
	uint64_t key, v;

	if (proto_mp_map_begin(rd, m, 16) != 0 || proto_mp_map_next(rd, m, &key) != 1 || key != 0 ||
	    proto_mp_read_str(rd, 64, &s, &n) != 0 || n != strlen(magic) ||
	    memcmp(s, magic, n) != 0)
		return PROTO_E_KEY_FORMAT;
	if (proto_mp_map_next(rd, m, &key) != 1 || key != 1 || proto_mp_read_uint(rd, &v) != 0)
		return PROTO_E_KEY_FORMAT;
	return v == PROTO_KEYS_VERSION ? 0 : PROTO_E_KEY_VERSION;
}

/* The next entry must be @want; its value is a bin of exactly @len bytes copied to @out. */
static int read_secret(struct proto_mp_reader *rd, struct proto_mp_map *m, uint64_t want,
		       uint8_t *out, size_t len)
{
	uint64_t key;
	int err = proto_mp_map_next(rd, m, &key);

	if (err < 0)
		return err;
	if (err == 0 || key != want) /* keys ascend, so a different key means @want is absent */
		return PROTO_E_KEY_MISSING;
	return proto_mp_read_bin_fixed(rd, out, len);
}

/* After the last entry: nothing more in the map, nothing after it. */
static int read_end(struct proto_mp_reader *rd, struct proto_mp_map *m)
{
	uint64_t key;
	int err = proto_mp_map_next(rd, m, &key);

	if (err < 0)
		return err;
	if (err > 0)
		return PROTO_E_KEY_UNKNOWN;
	return proto_mp_reader_finish(rd);
}

/* The public key of an Ed25519 sk, checked against the half stored in it. */
static int ed25519_check(uint8_t pk[32], const uint8_t sk[64])
{
	uint8_t sk2[64];
	int err = 0;

	crypto_sign_seed_keypair(pk, sk2, sk);
	if (sodium_memcmp(pk, sk + 32, 32) != 0)
		err = PROTO_E_KEY_MISMATCH;
	sodium_memzero(sk2, sizeof(sk2));
	return err;
}

int proto_keys_decode(struct proto_keys *k, const uint8_t *buf, size_t len)
{
	struct proto_mp_reader rd;
	struct proto_mp_map m;
	int err;

	memset(k, 0, sizeof(*k));
	proto_mp_reader_init(&rd, buf, len);
	if ((err = read_header(&rd, &m, PROTO_KEYS_MEMBER_MAGIC)) ||
	    (err = read_secret(&rd, &m, 2, k->id_sk, 64)) ||
	    (err = read_secret(&rd, &m, 3, k->tx_sk, 32)) ||
	    (err = read_secret(&rd, &m, 4, k->ring_sk, 32)) || (err = read_end(&rd, &m)) ||
	    (err = ed25519_check(k->id_pk, k->id_sk)) ||
	    (err = proto_ring_pk_from_sk(k->ring_pk, k->ring_sk)))
		goto out;
	crypto_scalarmult_base(k->tx_pk, k->tx_sk);
	/* Never one key for two jobs: equal secrets mean a bundle assembled by mistake. */
	if (sodium_memcmp(k->id_sk, k->tx_sk, 32) == 0 ||
	    sodium_memcmp(k->id_sk, k->ring_sk, 32) == 0 ||
	    sodium_memcmp(k->tx_sk, k->ring_sk, 32) == 0)
		err = PROTO_E_KEY_FORMAT;
out:
	if (err)
		proto_keys_wipe(k);
	return err;
}

int proto_keys_steward_generate(uint8_t pk[32], uint8_t sk[64])
{
	crypto_sign_keypair(pk, sk);
	return 0;
}

int proto_keys_steward_encode(const uint8_t sk[64], uint8_t **out, size_t *out_len)
{
	struct proto_mp_writer w;

	proto_mp_writer_init(&w);
	proto_mp_write_map(&w, 3);
	proto_mp_write_uint(&w, 0);
	proto_mp_write_cstr(&w, PROTO_KEYS_STEWARD_MAGIC);
	proto_mp_write_uint(&w, 1);
	proto_mp_write_uint(&w, PROTO_KEYS_VERSION);
	proto_mp_write_uint(&w, 2);
	proto_mp_write_bin(&w, sk, 64);
	return proto_mp_writer_finish(&w, out, out_len);
}

int proto_keys_steward_decode(uint8_t pk[32], uint8_t sk[64], const uint8_t *buf, size_t len)
{
	struct proto_mp_reader rd;
	struct proto_mp_map m;
	int err;

	proto_mp_reader_init(&rd, buf, len);
	if ((err = read_header(&rd, &m, PROTO_KEYS_STEWARD_MAGIC)) ||
	    (err = read_secret(&rd, &m, 2, sk, 64)) || (err = read_end(&rd, &m)) ||
	    (err = ed25519_check(pk, sk))) {
		sodium_memzero(pk, 32);
		sodium_memzero(sk, 64);
	}
	return err;
}
