/* SPDX-License-Identifier: MIT */
/*
 * proto/keys.h — member key bundles and steward keys, and their versioned byte format.
 *
 * A member has three separate keys, never one key for two jobs: an Ed25519 identity key
 * (signs attributed reports; its public key is the member id), an X25519 transport key (the
 * Noise static key) and a ristretto255 ring key (anonymous reports). File I/O (mode 0600,
 * refusing group/other-readable files) is node/'s job (node/common/keyfile.h); this module only
 * encodes bytes.
 *
 * Secret bundle encoding (versioned, canonical msgpack):
 *     map { 0: "chatham-member-key", 1: version (1), 2: identity sk (bin 64),
 *           3: transport sk (bin 32), 4: ring sk (bin 32) }
 * The identity sk is libsodium's seed (32) || public key (32). The transport sk is 32 random
 * bytes (X25519 clamps on use); the ring sk a canonical non-zero scalar (proto/ring.h).
 * Public parts are derived on decode and checked against the stored identity public half.
 *
 * Every function wipes its temporaries (proto_wipe) on every path, and decoders wipe the
 * caller's output on failure. Reentrant; thread-safe once proto_crypto_init() returned 0.
 */
#ifndef CHATHAM_PROTO_KEYS_H
#define CHATHAM_PROTO_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_KEYS_MEMBER_MAGIC "chatham-member-key"
#define PROTO_KEYS_STEWARD_MAGIC "chatham-steward-key"
#define PROTO_KEYS_VERSION 1
/* Longest encoding either format can have; file readers use it as their size limit. */
#define PROTO_KEYS_ENCODED_MAX 256

struct proto_keys {
	uint8_t id_pk[32]; /* member id */
	uint8_t id_sk[64];
	uint8_t tx_pk[32];
	uint8_t tx_sk[32];
	uint8_t ring_pk[32];
	uint8_t ring_sk[32];
};

/* proto_keys_generate() - fresh random bundle into caller storage @k. Returns 0. */
int proto_keys_generate(struct proto_keys *k);

/*
 * proto_keys_from_seed() - the bundle derived deterministically from a 32-byte @seed
 * (borrowed): each key from BLAKE2b("chatham/keyseed/1" || job byte || seed), so the three
 * keys are independent. For test vectors and fixtures; real keys come from
 * proto_keys_generate(). Returns 0, or PROTO_E_RING_SCALAR in the ~2^-250 case that the
 * derived ring scalar is zero (@k is then wiped).
 */
int proto_keys_from_seed(struct proto_keys *k, const uint8_t seed[32]);

/*
 * proto_keys_encode() - secret encoding of @k. *@out is malloc'd; the caller must
 * proto_wipe() and free() it. Returns 0 or -ENOMEM.
 */
int proto_keys_encode(const struct proto_keys *k, uint8_t **out, size_t *out_len);

/*
 * proto_keys_decode() - decode and check a bundle into @k (caller storage; wipe with
 * proto_keys_wipe()). @buf is borrowed. Returns 0 or, with @k wiped:
 *   PROTO_E_KEY_FORMAT    not a map starting with the member magic, or two of the three
 *                         secrets are equal (one key for two jobs)
 *   PROTO_E_KEY_VERSION   a version other than PROTO_KEYS_VERSION
 *   PROTO_E_KEY_MISMATCH  the identity sk's public half is not the key its seed derives
 *   PROTO_E_RING_SCALAR   the ring sk is not a canonical non-zero scalar
 *   a proto/mp.h code     a damaged file after the magic and version (truncated, wrong type,
 *                         missing/unknown/misordered keys, trailing bytes)
 */
int proto_keys_decode(struct proto_keys *k, const uint8_t *buf, size_t len);

/* proto_keys_wipe() - zero every secret in @k. */
void proto_keys_wipe(struct proto_keys *k);

/*
 * Steward keys are plain Ed25519 key pairs, encoded as
 *     map { 0: "chatham-steward-key", 1: version (1), 2: sk (bin 64) }.
 * proto_keys_steward_generate() returns 0. proto_keys_steward_encode(): *@out malloc'd, the
 * caller wipes and frees it; 0 or -ENOMEM. proto_keys_steward_decode(): same errors as
 * proto_keys_decode() (PROTO_E_KEY_MISMATCH when the sk's public half is wrong); on failure
 * @pk and @sk are wiped.
 */
int proto_keys_steward_generate(uint8_t pk[32], uint8_t sk[64]);
int proto_keys_steward_encode(const uint8_t sk[64], uint8_t **out, size_t *out_len);
int proto_keys_steward_decode(uint8_t pk[32], uint8_t sk[64], const uint8_t *buf, size_t len);

#endif
