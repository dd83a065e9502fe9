/* SPDX-License-Identifier: MIT */
/*
 * proto/oprf.h — a threshold oblivious PRF (2HashDH on ristretto255) whose key is Shamir-
 * shared t-of-n among the community's stewards (docs/SEALED.md §1–2).
 *
 *     OPRF_s(x) = BLAKE2b-256("chatham/sealed/prf/1" || x || s·H_G(x))
 *     H_G(x)    = ristretto255_from_hash(BLAKE2b-512("chatham/sealed/input/1" || x))
 *
 * Roles and flow, all sans-I/O:
 *   dealer   proto_oprf_deal(): the key s, shares s_j = f(j) (j = 1..n), verification keys
 *            V_j = s_j·G and V = s·G. proto_oprf_reshare() hands an old steward's share on
 *            to a new steward set without ever rebuilding s.
 *   member   proto_oprf_blind() → B sent to t stewards; proto_oprf_verify() checks each
 *            answer's DLEQ proof; proto_oprf_combine() interpolates the t answers;
 *            proto_oprf_finalize() unblinds and hashes to the 32-byte output r.
 *   steward  proto_oprf_evaluate(): Z_i = s_j·B_i for a batch, with one DLEQ proof.
 *
 * Steward indices are 1-based (index j holds f(j)); 0 is never a share. Scalars are 32-byte
 * little-endian canonical ristretto255 scalars; points are canonical RFC 9496 encodings of
 * non-identity elements (checked with proto_ring_pk_check(), which refuses libsodium's lax
 * encodings). Secret-dependent arithmetic uses libsodium's constant-time functions.
 *
 * Errors: PROTO_E_RING_POINT for an invalid point, PROTO_E_RING_SCALAR for a non-canonical
 * or zero scalar where one is not allowed, PROTO_E_OPRF_PROOF when a DLEQ proof fails,
 * PROTO_E_OPRF_INDEX for a steward index of 0, over PROTO_OPRF_STEWARDS_MAX or repeated,
 * PROTO_E_TOO_LARGE for a batch over PROTO_OPRF_BATCH_MAX, -EINVAL for t = 0 or t > n,
 * -ENOMEM.
 *
 * Every function is reentrant and thread-safe once proto_crypto_init() returned 0. Pointer
 * parameters are borrowed for the call. Secrets written to caller storage are the caller's
 * to wipe (proto_wipe()); temporaries are wiped here.
 */
#ifndef CHATHAM_PROTO_OPRF_H
#define CHATHAM_PROTO_OPRF_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_OPRF_STEWARDS_MAX 64
#define PROTO_OPRF_BATCH_MAX 4096
#define PROTO_OPRF_PROOF_BYTES 64 /* c || r */

/*
 * proto_oprf_deal() - draw a fresh key and share it @t-of-@n: @shares[j-1] = f(j),
 * @vks[j-1] = f(j)·G for j = 1..@n, @vk = s·G. The polynomial is wiped before returning.
 * 1 <= @t <= @n <= PROTO_OPRF_STEWARDS_MAX. Returns 0 or -EINVAL.
 */
int proto_oprf_deal(uint8_t (*shares)[32], uint8_t (*vks)[32], uint8_t vk[32], size_t t, size_t n);

/*
 * proto_oprf_share_check() - 0 when @share·G equals @vk_j (a steward checks the share it
 * received), PROTO_E_OPRF_PROOF when it does not, PROTO_E_RING_SCALAR/POINT for bad input.
 */
int proto_oprf_share_check(const uint8_t share[32], const uint8_t vk_j[32]);

/*
 * proto_oprf_vks_check() - 0 when the @n verification keys @vks (index j at @vks[j-1]) lie
 * on one polynomial of degree @t-1 "in the exponent" whose value at 0 is @vk: every set of
 * @t shares then evaluates the same OPRF. PROTO_E_OPRF_PROOF otherwise.
 */
int proto_oprf_vks_check(const uint8_t (*vks)[32], size_t n, size_t t, const uint8_t vk[32]);

/*
 * proto_oprf_lagrange() - the Lagrange coefficient at 0 of index @idx[@i] within the set
 * @idx[0..@t) (distinct 1-based indices). Returns 0 or PROTO_E_OPRF_INDEX.
 */
int proto_oprf_lagrange(uint8_t lambda[32], const uint8_t *idx, size_t t, size_t i);

/*
 * proto_oprf_reshare() - old steward @old_idx (holding @share) within the old set
 * @old_set[0..@t_old) hands its part on to a new set of @n_new stewards with threshold
 * @t_new: @pieces[j-1] = g(j) for j = 1..@n_new, where g has degree @t_new-1 and
 * g(0) = λ·share; @commits[0..@t_new) = g's coefficients times G, so a new steward checks
 * its piece with proto_oprf_piece_check(). A new steward's share is the scalar sum of the
 * pieces from all @t_old old stewards; its verification key is the sum of the matching
 * commitment evaluations. The key s is unchanged. Returns 0, PROTO_E_OPRF_INDEX or -EINVAL.
 */
int proto_oprf_reshare(uint8_t (*pieces)[32], uint8_t (*commits)[32], const uint8_t share[32],
		       uint8_t old_idx, const uint8_t *old_set, size_t t_old, size_t t_new,
		       size_t n_new);

/*
 * proto_oprf_piece_check() - 0 when @piece·G equals Σ_i j^i·@commits[i] (i < @t_new), so
 * the piece new steward @j received lies on the committed polynomial; PROTO_E_OPRF_PROOF if
 * not. @vk_piece (may be NULL) receives that sum: the new steward's verification key is the
 * sum of its pieces' @vk_piece.
 */
int proto_oprf_piece_check(const uint8_t piece[32], uint8_t j, const uint8_t (*commits)[32],
			   size_t t_new, uint8_t vk_piece[32]);

/*
 * proto_oprf_commit_eval() - @vk_piece = Σ_i j^i·@commits[i] (i < @t_new): what the piece of
 * new steward @j must times G, from the public commitments alone. Summed over the dealers of
 * a re-sharing it is new steward @j's verification key, so anyone holding the commitments
 * can publish the new keys. Returns 0, PROTO_E_OPRF_INDEX (@j 0), -EINVAL or
 * PROTO_E_RING_POINT.
 */
int proto_oprf_commit_eval(uint8_t vk_piece[32], uint8_t j, const uint8_t (*commits)[32],
			   size_t t_new);

/*
 * proto_oprf_reshare_finish() - new steward side: its share = Σ @pieces[0..@m) and its
 * verification key = Σ @vk_pieces[0..@m) (the @vk_piece of each proto_oprf_piece_check()).
 * Returns 0, PROTO_E_RING_SCALAR (a zero share: ask for a new round), PROTO_E_RING_POINT,
 * -EINVAL when @m is 0.
 */
int proto_oprf_reshare_finish(uint8_t share[32], uint8_t vk_j[32], const uint8_t (*pieces)[32],
			      const uint8_t (*vk_pieces)[32], size_t m);

/*
 * proto_oprf_blind() - member side: @blinded = ρ·H_G(@x) with a fresh random non-zero ρ
 * written to @rho (secret: keep it until proto_oprf_finalize(), then wipe it). @x is the
 * 32-byte input (an indicator id). Returns 0.
 */
int proto_oprf_blind(uint8_t blinded[32], uint8_t rho[32], const uint8_t x[32]);

/*
 * proto_oprf_evaluate() - steward side: @out[i] = @share·@in[i] for i < @m and one batched
 * DLEQ @proof (PROTO_OPRF_PROOF_BYTES) that log_G(@vk_j) = log_{in[i]}(out[i]) for every i.
 * Every @in[i] must be a valid point (a member's request is checked here).
 * Returns 0, PROTO_E_RING_POINT (then nothing is evaluated), PROTO_E_TOO_LARGE, -ENOMEM.
 */
int proto_oprf_evaluate(uint8_t (*out)[32], uint8_t proof[PROTO_OPRF_PROOF_BYTES],
			const uint8_t share[32], const uint8_t vk_j[32], const uint8_t (*in)[32],
			size_t m);

/*
 * proto_oprf_verify() - member side: 0 when @proof shows @out[i] = s_j·@in[i] for every
 * i < @m under the steward's verification key @vk_j; PROTO_E_OPRF_PROOF when not (a
 * cheating or broken steward), PROTO_E_RING_POINT/SCALAR for malformed answers.
 */
int proto_oprf_verify(const uint8_t proof[PROTO_OPRF_PROOF_BYTES], const uint8_t vk_j[32],
		      const uint8_t (*in)[32], const uint8_t (*out)[32], size_t m);

/*
 * proto_oprf_combine() - member side: @z = Σ λ_i·@answers[i] over @t answers from the
 * distinct stewards @idx[0..@t) (one element each, already verified). Returns 0,
 * PROTO_E_OPRF_INDEX or PROTO_E_RING_POINT.
 */
int proto_oprf_combine(uint8_t z[32], const uint8_t *idx, const uint8_t (*answers)[32], size_t t);

/*
 * proto_oprf_finalize() - member side: @r = OPRF_s(@x) from the combined @z = s·ρ·H_G(x) and
 * the blinding scalar @rho. Returns 0 or PROTO_E_RING_POINT/SCALAR.
 */
int proto_oprf_finalize(uint8_t r[32], const uint8_t x[32], const uint8_t rho[32],
			const uint8_t z[32]);

/*
 * proto_oprf_eval_key() - OPRF_s(@x) computed directly with the whole key @s (tests and the
 * simulator cross-check the threshold path against it; no node ever holds s).
 */
int proto_oprf_eval_key(uint8_t r[32], const uint8_t s[32], const uint8_t x[32]);

#endif
