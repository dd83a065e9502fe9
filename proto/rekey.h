/* SPDX-License-Identifier: MIT */
/*
 * proto/rekey.h — a member's key rotation statement: "my identity, transport and ring keys
 * are now these", signed by the old identity key (it is the member speaking) and by the new
 * one (the member holds it). The stewards accept it in the next roster: the old id is
 * retired with the new id as its successor, and every node then counts the old id's votes
 * as the new id's, so the member's history continues (docs/ARCHITECTURE.md).
 *
 * Wire form (canonical msgpack):
 *     signed = array(3) [ body: bin, old signature: bin 64, new signature: bin 64 ]
 *     body   = map { 0: version (1), 1: community id (bin 32), 2: old member id (bin 32),
 *                    3: new member id (bin 32), 4: new transport public key (bin 32),
 *                    5: new ring public key (bin 32), 6: created_ms (uint >= 1) }
 * Both signatures are Ed25519 over PROTO_REKEY_DOMAIN || body. The old and new ids are
 * valid Ed25519 keys, the ring key a valid ristretto255 key, and the five keys distinct.
 *
 * Reentrant; thread-safe once proto_crypto_init() returned 0.
 */
#ifndef CHATHAM_PROTO_REKEY_H
#define CHATHAM_PROTO_REKEY_H

#include <stddef.h>
#include <stdint.h>

#include "proto/keys.h"

#define PROTO_REKEY_DOMAIN "chatham/rekey/1"
#define PROTO_REKEY_VERSION 1
/* The length of every valid statement is below this (a safe file read limit). */
#define PROTO_REKEY_MAX_BYTES 512

struct proto_rekey {
	uint8_t community[32];
	uint8_t old_id[32];
	uint8_t new_id[32];
	uint8_t new_transport_pk[32];
	uint8_t new_ring_pk[32];
	uint64_t created_ms;
};

/*
 * proto_rekey_sign() - the signed statement that @old_keys (borrowed) hands over to
 * @new_keys (borrowed) in @community at @created_ms. *@out is malloc'd, the caller frees it.
 * Returns 0, -ENOMEM, PROTO_E_RANGE (@created_ms 0) or PROTO_E_ROSTER_MEMBER (the two
 * bundles share a key).
 */
int proto_rekey_sign(const uint8_t community[32], const struct proto_keys *old_keys,
		     const struct proto_keys *new_keys, uint64_t created_ms, uint8_t **out,
		     size_t *out_len);

/*
 * proto_rekey_decode() - strict decode of the statement @buf (@len bytes, borrowed) into @s,
 * with both signatures verified. Returns 0; PROTO_E_TOO_LARGE, PROTO_E_VERSION, a proto/mp.h
 * code; PROTO_E_ROSTER_MEMBER for an invalid or repeated key; PROTO_E_RANGE for a zero time;
 * PROTO_E_REKEY_SIG when a signature does not verify. On failure @s is zeroed.
 */
int proto_rekey_decode(struct proto_rekey *s, const uint8_t *buf, size_t len);

#endif
