/* SPDX-License-Identifier: MIT */
/*
 * proto/crypto_test.h — raw Ed25519 primitives for tests, fuzzers and benchmarks only: key
 * fixtures from a seed, signatures over arbitrary bytes (to forge or corrupt on purpose) and
 * the machine's own sign/verify rate to compare chatham against. Production code never
 * includes this header (.ci/check-layering.sh checks it); it signs and verifies through the
 * domain-separated functions of proto/report.h, proto/roster.h and proto/keys.h.
 * Implemented in proto/crypto.c. Thread-safe after proto_crypto_init().
 */
#ifndef CHATHAM_PROTO_CRYPTO_TEST_H
#define CHATHAM_PROTO_CRYPTO_TEST_H

#include <stddef.h>
#include <stdint.h>

/* 0 when @sig is a valid Ed25519 signature of @msg under @pk; sign, random key pair. */
int proto_crypto_raw_ed25519_verify(const uint8_t sig[64], const uint8_t *msg, size_t len,
				    const uint8_t pk[32]);
void proto_crypto_raw_ed25519_sign(uint8_t sig[64], const uint8_t *msg, size_t len,
				   const uint8_t sk[64]);
void proto_crypto_raw_ed25519_keypair(uint8_t pk[32], uint8_t sk[64]);
/*
 * proto_crypto_raw_ed25519_seed_keypair() - the Ed25519 key pair derived from a 32-byte
 * @seed (borrowed). Deterministic: for test vectors and fixtures, never for real keys.
 */
void proto_crypto_raw_ed25519_seed_keypair(uint8_t pk[32], uint8_t sk[64], const uint8_t seed[32]);

#endif
