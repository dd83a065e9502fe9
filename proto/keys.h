/* SPDX-License-Identifier: MIT */
/*
 * proto/keys.h — member key bundles and steward keys, and their versioned byte format.
 *
 * A member has three separate keys, never one key for two jobs: an Ed25519 identity key
 * (signs attributed reports; its public key is the member id), an X25519 transport key (the
 * Noise static key) and a ristretto255 ring key (anonymous reports). File I/O (mode 0600,
 * refusing group/other-readable files) is node/'s job; this module only encodes bytes.
 *
 * Secret bundle encoding (versioned, canonical msgpack):
 *     map { 0: "chatham-member-key", 1: version (1), 2: identity sk (bin 64),
 *           3: transport sk (bin 32), 4: ring sk (bin 32) }
 * Public parts are derived on decode and checked against the stored identity public half.
 */
#ifndef CHATHAM_PROTO_KEYS_H
#define CHATHAM_PROTO_KEYS_H

#include <stddef.h>
#include <stdint.h>

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
 * proto_keys_encode() - secret encoding of @k. *@out is malloc'd; the caller must
 * proto_wipe() and free() it. Returns 0 or -ENOMEM.
 */
int proto_keys_encode(const struct proto_keys *k, uint8_t **out, size_t *out_len);

/*
 * proto_keys_decode() - decode and check a bundle into @k (caller storage; wipe with
 * proto_keys_wipe()). Returns 0, PROTO_E_KEY_FORMAT, PROTO_E_KEY_VERSION, PROTO_E_KEY_MISMATCH.
 */
int proto_keys_decode(struct proto_keys *k, const uint8_t *buf, size_t len);

/* proto_keys_wipe() - zero every secret in @k. */
void proto_keys_wipe(struct proto_keys *k);

/*
 * Steward keys are plain Ed25519 key pairs, encoded as
 *     map { 0: "chatham-steward-key", 1: version (1), 2: sk (bin 64) }.
 */
int proto_keys_steward_generate(uint8_t pk[32], uint8_t sk[64]);
int proto_keys_steward_encode(const uint8_t sk[64], uint8_t **out, size_t *out_len);
int proto_keys_steward_decode(uint8_t pk[32], uint8_t sk[64], const uint8_t *buf, size_t len);

#endif
