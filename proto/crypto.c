/* SPDX-License-Identifier: MIT */
#include "proto/crypto.h"
#include "proto/crypto_test.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

int proto_crypto_init(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

void proto_random(void *buf, size_t len)
{
	randombytes_buf(buf, len);
}

uint32_t proto_random_u32(uint32_t upper)
{
	return randombytes_uniform(upper);
}

void proto_wipe(void *buf, size_t len)
{
	if (buf && len)
		sodium_memzero(buf, len);
}

bool proto_ct_equal(const void *a, const void *b, size_t len)
{
	return sodium_memcmp(a, b, len) == 0;
}

void proto_hash(uint8_t *out, size_t outlen, const void *const *parts, const size_t *lens, size_t n)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, outlen);
	for (size_t i = 0; i < n; i++)
		crypto_generichash_update(&st, parts[i], lens[i]);
	crypto_generichash_final(&st, out, outlen);
}

char *proto_hex_encode(char *out, const uint8_t *in, size_t len)
{
	return sodium_bin2hex(out, 2 * len + 1, in, len);
}

int proto_hex_decode(uint8_t *out, size_t len, const char *in)
{
	size_t got = 0;
	const char *end = NULL;

	if (strnlen(in, 2 * len + 1) != 2 * len)
		return -EINVAL;
	if (sodium_hex2bin(out, len, in, 2 * len, NULL, &got, &end) != 0 || got != len)
		return -EINVAL;
	return 0;
}

int proto_crypto_raw_ed25519_verify(const uint8_t sig[64], const uint8_t *msg, size_t len,
				    const uint8_t pk[32])
{
	return crypto_sign_verify_detached(sig, msg, len, pk) == 0 ? 0 : -1;
}

void proto_crypto_raw_ed25519_sign(uint8_t sig[64], const uint8_t *msg, size_t len,
				   const uint8_t sk[64])
{
	crypto_sign_detached(sig, NULL, msg, len, sk);
}

void proto_crypto_raw_ed25519_keypair(uint8_t pk[32], uint8_t sk[64])
{
	crypto_sign_keypair(pk, sk);
}

void proto_crypto_raw_ed25519_seed_keypair(uint8_t pk[32], uint8_t sk[64], const uint8_t seed[32])
{
	crypto_sign_seed_keypair(pk, sk, seed);
}
