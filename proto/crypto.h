/* SPDX-License-Identifier: MIT */
/*
 * proto/crypto.h — the small set of primitives other folders need without including
 * sodium.h: initialisation, randomness, wiping, constant-time comparison, hashing, hex.
 * All functions are thread-safe once proto_crypto_init() has returned 0.
 */
#ifndef CHATHAM_PROTO_CRYPTO_H
#define CHATHAM_PROTO_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* proto_crypto_init() - initialise libsodium. Idempotent. Returns 0 or -EIO. */
int proto_crypto_init(void);

/* proto_random() - fill @buf (borrowed) with @len bytes from the OS CSPRNG. */
void proto_random(void *buf, size_t len);

/* proto_random_u32() - uniform in [0, @upper) (@upper > 0), no modulo bias. */
uint32_t proto_random_u32(uint32_t upper);

/* proto_wipe() - zero @len bytes at @buf in a way the compiler cannot elide. NULL is a no-op. */
void proto_wipe(void *buf, size_t len);

/* proto_ct_equal() - constant-time comparison of two @len-byte buffers. */
bool proto_ct_equal(const void *a, const void *b, size_t len);

/*
 * proto_hash() - BLAKE2b with output length @outlen (16..64) over the concatenation of
 * @n parts. @parts[i]/@lens[i] are borrowed. Used for ids and fingerprints.
 */
void proto_hash(uint8_t *out, size_t outlen, const void *const *parts, const size_t *lens,
		size_t n);

/*
 * proto_hex_encode() - write 2*@len lower-case hex digits and a NUL to @out, which must hold
 * 2*@len+1 bytes. Returns @out.
 */
char *proto_hex_encode(char *out, const uint8_t *in, size_t len);

/*
 * proto_hex_decode() - decode exactly 2*@len hex digits (either case) from the NUL-terminated
 * string @in into @out. Returns 0, or -EINVAL when @in is not exactly 2*@len hex digits.
 */
int proto_hex_decode(uint8_t *out, size_t len, const char *in);

/* proto_hex_digit() - the value of hex digit @c (either case), or -1 when it is not one. */
static inline int proto_hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
