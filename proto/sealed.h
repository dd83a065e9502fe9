/* SPDX-License-Identifier: MIT */
/*
 * proto/sealed.h — sealed sightings: a value opens only when k distinct members sealed it
 * (STAR over a threshold OPRF; the protocol is docs/SEALED.md, this header its contract).
 *
 * From the OPRF output r of a value (proto/oprf.h) a member derives the secret a_0, the
 * polynomial a_0..a_{k-1}, the public grouping tag g, the commitment h to a_0 and the AEAD
 * key K (proto_sealed_derive()), and seals a submission: one Shamir share (u, f(u)) at a
 * random point, the value encrypted under K, and a linkable ring signature whose tag is the
 * same for one member and one g (proto_sealed_seal()). Any node holding k submissions of one
 * g with distinct ring tags recovers a_0, checks it against h, keeps the shares that lie on
 * the regenerated polynomial and decrypts the value (proto_sealed_open()).
 *
 * Wire form: msgpack [body: bin, signature: bin]; body is the map of docs/SEALED.md §3 with
 * key 11 the ring (ascending roster member indices, 1..PROTO_REPORT_RING_MAX) and key 12 the
 * ring tag. The signature is proto_ring_sign() over "chatham/sealed/1" || body, for the
 * body's epoch and ring, with indicator id proto_sealed_ring_id(g).
 *
 * All functions are reentrant and thread-safe once proto_crypto_init() returned 0; pointer
 * parameters are borrowed for the call unless stated.
 */
#ifndef CHATHAM_PROTO_SEALED_H
#define CHATHAM_PROTO_SEALED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/indicator.h"
#include "proto/report.h"

#define PROTO_SEALED_VERSION 1
#define PROTO_SEALED_K_MIN 2
#define PROTO_SEALED_K_MAX 32
#define PROTO_SEALED_NONCE_BYTES 24
/* [type, value, confidence] plaintext plus the 16-byte AEAD tag. */
#define PROTO_SEALED_CT_MAX (PROTO_IND_VALUE_MAX + 32)
#define PROTO_SEALED_SIG_DOMAIN "chatham/sealed/1"
/* Subsets of k shares proto_sealed_open() tries before it gives up on a group for now. */
#define PROTO_SEALED_OPEN_TRIES 64

/* Secrets derived from r; wipe with proto_wipe() after use. */
struct proto_sealed_secret {
	uint8_t k;
	uint8_t coef[PROTO_SEALED_K_MAX][32]; /* a_0 .. a_{k-1} */
	uint8_t group[32];		      /* g, public */
	uint8_t check[32];		      /* h, public */
	uint8_t key[32];		      /* K */
};

/* A decoded submission. Self-contained: a struct copy is a valid submission. */
struct proto_sealed {
	uint8_t community[32];
	uint64_t epoch;
	uint8_t k;
	uint8_t group[32];
	uint8_t check[32];
	uint8_t u[32];
	uint8_t y[32];
	uint32_t bucket; /* UTC days since 1970-01-01 */
	uint8_t nonce[PROTO_SEALED_NONCE_BYTES];
	uint16_t ct_len;
	uint8_t ct[PROTO_SEALED_CT_MAX];
	uint16_t ring_n;
	uint16_t ring[PROTO_REPORT_RING_MAX];
	uint8_t tag[32];
};

/* What one submission says once opened (known only to its sealer until the group opens). */
struct proto_sealed_value {
	struct proto_indicator ind;
	uint8_t confidence;
};

/* A corroborated sighting. */
struct proto_sealed_opened {
	struct proto_sealed_value value;
	uint32_t count;	       /* distinct members whose share and ciphertext agree */
	uint32_t first_bucket; /* earliest and latest day among them */
	uint32_t last_bucket;
	uint32_t dropped; /* submissions refused: off the polynomial, undecryptable, other value */
};

/*
 * proto_sealed_derive() - the secrets of the value whose OPRF output is @r, for threshold
 * @k (PROTO_SEALED_K_MIN..MAX). Returns 0 or PROTO_E_SEALED_K.
 */
int proto_sealed_derive(struct proto_sealed_secret *out, const uint8_t r[32], uint8_t k);

/* proto_sealed_ring_id() - the 32-byte "indicator id" the ring tag of group @g is made on. */
void proto_sealed_ring_id(uint8_t id[32], const uint8_t g[32]);

/*
 * proto_sealed_make() - the submission of @value (the member's own sighting, canonical) whose
 * OPRF output is @r, for @community, roster @epoch and threshold @k, in day @bucket, with
 * the ring tag of ring secret key @ring_sk, over the ring of roster member indices
 * @ring_idx[0..@n) (ascending): a fresh share point, the share, the ciphertext and the tag.
 * Unsigned: proto_sealed_seal() signs and encodes it; the simulator opens it directly.
 * Returns 0, PROTO_E_SEALED_K, PROTO_E_TOO_LARGE, PROTO_E_RING_SCALAR, -EINVAL, -ENOMEM.
 */
int proto_sealed_make(struct proto_sealed *out, const struct proto_sealed_value *value,
		      const uint8_t r[32], const uint8_t community[32], uint64_t epoch, uint8_t k,
		      uint32_t bucket, const uint16_t *ring_idx, size_t n,
		      const uint8_t ring_sk[32]);

/*
 * proto_sealed_seal() - proto_sealed_make(), signed with @ring_sk over the ring keys
 * @ring_keys[0..@n) (the keys of members @ring_idx, the signer at position @signer_pos) and
 * encoded. On success *@out (owned by the caller, free()) holds the wire bytes.
 * Returns 0, any proto_sealed_make() or proto_ring_sign() error, -EINVAL, -ENOMEM.
 */
int proto_sealed_seal(uint8_t **out, size_t *out_len, const struct proto_sealed_value *value,
		      const uint8_t r[32], const uint8_t community[32], uint64_t epoch, uint8_t k,
		      uint32_t bucket, const uint8_t (*ring_keys)[32], const uint16_t *ring_idx,
		      size_t n, size_t signer_pos, const uint8_t ring_sk[32]);

/*
 * proto_sealed_decode() - parse wire bytes @buf/@len into @out (structure and ranges only;
 * no signature check). Returns 0 or a PROTO_E_* decoding error (canonical msgpack, unknown
 * or missing key, PROTO_E_SEALED_K, PROTO_E_RANGE, PROTO_E_TOO_LARGE, PROTO_E_RING_POINT).
 */
int proto_sealed_decode(const uint8_t *buf, size_t len, struct proto_sealed *out);

/*
 * proto_sealed_verify() - check the ring signature of the submission @buf/@len (already
 * decoded into @s) against the ring keys @ring_keys[0..@s->ring_n), resolved by the caller
 * from roster epoch @s->epoch and @s->ring. Returns 0 or a proto_ring_verify() error.
 */
int proto_sealed_verify(const uint8_t *buf, size_t len, const struct proto_sealed *s,
			const uint8_t (*ring_keys)[32]);

/*
 * proto_sealed_open() - try to open the group of @m verified submissions @subs (all with
 * one group tag; duplicates of a ring tag count once, the first wins). Shares are combined
 * only within the (k, h) that most submissions name. On success fills @out and returns 0;
 * PROTO_E_SEALED_OPEN when fewer than k agreeing shares are held or no subset of
 * PROTO_SEALED_OPEN_TRIES opens (wait for more submissions); -EINVAL when @subs name
 * different groups; -ENOMEM.
 */
int proto_sealed_open(struct proto_sealed_opened *out, const struct proto_sealed *const *subs,
		      size_t m);

struct proto_roster;

/*
 * proto_sealed_ring_floor() - the oldest roster epoch whose submissions may still count
 * toward k, given the held rosters @rosters[0..@n) (ascending epoch, @n >= 1, the last the
 * newest): the held epoch that follows the newest held epoch listing a member who is not a
 * member of the newest roster with the same ring key (removed, retired, or with a rotated
 * ring key), or the oldest held epoch when no epoch lists one. A ring tag is one per ring key and group,
 * so a submission of an older epoch could count a member twice (old and new key) or count
 * one that left; submissions below the floor are refused and stop counting (docs/SEALED.md
 * §5). Pure; any thread.
 */
uint64_t proto_sealed_ring_floor(const struct proto_roster *const *rosters, size_t n);

#endif
