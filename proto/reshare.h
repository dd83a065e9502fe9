/* SPDX-License-Identifier: MIT */
/*
 * proto/reshare.h — re-sharing the sealed sightings' OPRF key to a new set of holders
 * (docs/SEALED.md §1), as files the stewards hand each other: no dealer, s unchanged.
 *
 * Each of the t_old old holders i (the old set, any t_old >= t of the holders in force) runs
 * proto_reshare_deal(): it deals λ_i·s_i on a fresh polynomial g_i of degree t_new-1 and
 * writes one piece file per new holder j, holding g_i(j) sealed to j's transport key and the
 * public commitments C_i = g_i's coefficients times G. Anyone holding one piece file per
 * dealer computes the new verification keys V'_j = Σ_i Σ_l j^l·C_i,l
 * (proto_reshare_vks()), which the stewards publish in a roster (proto/roster.h body key 10,
 * generation + 1). New holder j opens its pieces (proto_reshare_piece_open(): each checked
 * against its commitments), checks each dealer's commitments against the old verification
 * keys (proto_reshare_dealer_check(): C_i,0 = λ_i·V_i), and sums them into its new share
 * (proto_oprf_reshare_finish()), which must match V'_j.
 *
 * Piece file (public wrapper, canonical msgpack; only the piece inside is secret):
 *     map { 0: "chatham-oprf-piece", 1: version (1), 2: community id (bin 32),
 *           3: generation of the new keys (uint >= 1), 4: old set (array of uint, 1..
 *           PROTO_ROSTER_STEWARDS_MAX strictly ascending indices 1..PROTO_ROSTER_STEWARDS_MAX),
 *           5: dealer index (in the old set), 6: t_new (1..n_new), 7: n_new (1..
 *           PROTO_ROSTER_STEWARDS_MAX), 8: new holder index j (1..n_new), 9: new holder's
 *           member id (bin 32), 10: commitments (array of t_new bin 32, valid ristretto255
 *           points), 11: sealed piece (bin PROTO_RESHARE_SEALED_LEN: crypto_box_seal of the
 *           32-byte scalar g_i(j) to the new holder's X25519 transport key) }
 *
 * Errors: PROTO_E_OPRF_PIECE (a piece off its commitments, commitments off the dealer's
 * verification key), PROTO_E_KEY_MISMATCH (a piece sealed to another key, or a transport
 * secret that is not the member's), PROTO_E_OPRF_INDEX, PROTO_E_RANGE, PROTO_E_RING_POINT,
 * the proto/mp.h codes, -EINVAL, -ENOMEM. Reentrant; pointers borrowed for the call; secrets
 * written to caller storage are the caller's to wipe.
 */
#ifndef CHATHAM_PROTO_RESHARE_H
#define CHATHAM_PROTO_RESHARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/community.h"

#define PROTO_RESHARE_MAGIC "chatham-oprf-piece"
#define PROTO_RESHARE_VERSION 1
#define PROTO_RESHARE_SEALED_LEN 80 /* 32-byte scalar + crypto_box_SEALBYTES */
#define PROTO_RESHARE_MAX_BYTES 4096

/* One piece file (caller storage, no heap pointers). */
struct proto_reshare_piece {
	uint8_t community[32];
	uint64_t generation;
	size_t t_old;
	uint8_t old_set[PROTO_ROSTER_STEWARDS_MAX];
	uint8_t dealer;
	uint8_t t_new;
	uint8_t n_new;
	uint8_t to;
	uint8_t member[32];
	uint8_t commits[PROTO_ROSTER_STEWARDS_MAX][32];
	uint8_t sealed[PROTO_RESHARE_SEALED_LEN];
};

/*
 * proto_reshare_deal() - old holder @dealer (holding @share) of the old set @old_set[0..@t_old)
 * deals to @n_new new holders with threshold @t_new, for new keys of @generation in community
 * @community: @out[j-1] is the piece file of new holder j, member @members[j-1], sealed to
 * @transport_pks[j-1]. The polynomial and the pieces are wiped here.
 * Returns 0, PROTO_E_OPRF_INDEX (@dealer not in @old_set, an index 0 or repeated), -EINVAL
 * (@t_new/@n_new/@t_old/@generation out of range), PROTO_E_ROSTER_MEMBER (a transport key that
 * cannot be sealed to).
 */
int proto_reshare_deal(struct proto_reshare_piece *out, const uint8_t community[32],
		       uint64_t generation, const uint8_t share[32], uint8_t dealer,
		       const uint8_t *old_set, size_t t_old, uint8_t t_new, uint8_t n_new,
		       const uint8_t (*members)[32], const uint8_t (*transport_pks)[32]);

/* Strict canonical encoding of a piece file; *@out is malloc'd. Returns 0, -ENOMEM, -EINVAL. */
int proto_reshare_piece_encode(const struct proto_reshare_piece *p, uint8_t **out, size_t *out_len);

/*
 * proto_reshare_piece_decode() - strict decode into @p (the rules above). Returns 0,
 * PROTO_E_KEY_FORMAT (not a piece file), PROTO_E_KEY_VERSION, PROTO_E_RANGE,
 * PROTO_E_OPRF_INDEX, PROTO_E_RING_POINT, a proto/mp.h code; @p zeroed on failure.
 */
int proto_reshare_piece_decode(struct proto_reshare_piece *p, const uint8_t *buf, size_t len);

/*
 * proto_reshare_same_round() - whether @a and @b belong to one re-sharing: community,
 * generation, old set, t_new and n_new equal (and, for one dealer, the same commitments).
 */
bool proto_reshare_same_round(const struct proto_reshare_piece *a,
			      const struct proto_reshare_piece *b);

/*
 * proto_reshare_dealer_check() - 0 when @p's dealer is an old holder of the keys in force
 * @old (generation @p->generation - 1; t, n, vks) and its commitments start at its part of
 * the key, C_0 = λ_dealer·V_dealer; the old set must have at least @old->t holders, all
 * within @old->n (PROTO_E_OPRF_INDEX), and the generation must follow @old's
 * (PROTO_E_OPRF_GENERATION). PROTO_E_OPRF_PIECE when C_0 is off.
 */
int proto_reshare_dealer_check(const struct proto_reshare_piece *p,
			       const struct proto_community_sealed *old);

/*
 * proto_reshare_vks() - the new verification keys @vks[0..n_new) from one piece file of each
 * dealer of the old set, @dealers[0..@m) (each passed proto_reshare_dealer_check(), all of one
 * round, @m = t_old, one per index of the old set in order). Returns 0, -EINVAL (a dealer
 * missing, repeated or of another round), PROTO_E_RING_POINT.
 */
int proto_reshare_vks(uint8_t (*vks)[32], const struct proto_reshare_piece *const *dealers,
		      size_t m);

/*
 * proto_reshare_piece_open() - new holder side: open @p with the transport secret key
 * @transport_sk (the new holder's, X25519) into @piece and check it against its commitments
 * (@vk_piece receives its part of the new verification key, as proto_oprf_piece_check()).
 * Returns 0, PROTO_E_KEY_MISMATCH (not sealed to this key), PROTO_E_OPRF_PIECE (off its
 * commitments); @piece wiped on failure.
 */
int proto_reshare_piece_open(uint8_t piece[32], uint8_t vk_piece[32],
			     const struct proto_reshare_piece *p, const uint8_t transport_sk[32]);

#endif
