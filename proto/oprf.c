/* SPDX-License-Identifier: MIT */
/*
 * proto/oprf.c — threshold 2HashDH OPRF with batched DLEQ proofs (docs/SEALED.md).
 *
 * Polynomials are evaluated over scalars with Horner's rule on libsodium's constant-time
 * scalar functions; interpolation "in the exponent" (combine, vks_check) works on public
 * points only. The batched proof follows RFC 9497 §2.2: both sides derive the composite
 * weights d_i from a seed that hashes the key, every input and every output, so a steward
 * cannot choose outputs after seeing the weights.
 */
#include "proto/oprf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/ring.h"

#define D_INPUT "chatham/sealed/input/1"
#define D_PRF "chatham/sealed/prf/1"
#define D_BATCH "chatham/sealed/batch/1"
#define D_DLEQ "chatham/sealed/dleq/1"
#define D_WEIGHT "chatham/sealed/weight/1"

static void scalar_from_u64(uint8_t s[32], uint64_t v)
{
	memset(s, 0, 32);
	for (int i = 0; i < 8; i++)
		s[i] = (uint8_t)(v >> (8 * i));
}

static bool scalar_is_zero(const uint8_t s[32])
{
	return sodium_is_zero(s, 32) != 0;
}

/* Canonical (< L) scalar check: reducing a canonical scalar changes nothing. */
static bool scalar_canonical(const uint8_t s[32])
{
	uint8_t wide[64] = {0}, red[32];

	memcpy(wide, s, 32);
	crypto_core_ristretto255_scalar_reduce(red, wide);
	return memcmp(red, s, 32) == 0;
}

static void hash_to_scalar(uint8_t out[32], const char *domain, const void *const *parts,
			   const size_t *lens, size_t n)
{
	const void *p[8];
	size_t l[8];
	uint8_t wide[64];

	p[0] = domain;
	l[0] = strlen(domain);
	for (size_t i = 0; i < n && i < 7; i++) {
		p[i + 1] = parts[i];
		l[i + 1] = lens[i];
	}
	proto_hash(wide, sizeof wide, p, l, n + 1);
	crypto_core_ristretto255_scalar_reduce(out, wide);
	sodium_memzero(wide, sizeof wide);
}

static void hash_to_group(uint8_t out[32], const uint8_t x[32])
{
	const void *p[2] = {D_INPUT, x};
	size_t l[2] = {strlen(D_INPUT), 32};
	uint8_t wide[64];

	proto_hash(wide, sizeof wide, p, l, 2);
	crypto_core_ristretto255_from_hash(out, wide);
}

/* f(x) for coefficients @coef[0..@t) (Horner), constant time in the coefficients. */
static void poly_eval(uint8_t out[32], const uint8_t (*coef)[32], size_t t, uint64_t x)
{
	uint8_t xs[32], acc[32];

	scalar_from_u64(xs, x);
	memcpy(acc, coef[t - 1], 32);
	for (size_t i = t - 1; i-- > 0;) {
		crypto_core_ristretto255_scalar_mul(acc, acc, xs);
		crypto_core_ristretto255_scalar_add(acc, acc, coef[i]);
	}
	memcpy(out, acc, 32);
	sodium_memzero(acc, sizeof acc);
}

/* Random non-zero canonical scalar. */
static void scalar_random(uint8_t s[32])
{
	do
		crypto_core_ristretto255_scalar_random(s);
	while (scalar_is_zero(s));
}

int proto_oprf_deal(uint8_t (*shares)[32], uint8_t (*vks)[32], uint8_t vk[32], size_t t, size_t n)
{
	uint8_t coef[PROTO_OPRF_STEWARDS_MAX][32];

	if (t == 0 || t > n || n > PROTO_OPRF_STEWARDS_MAX)
		return -EINVAL;
	for (size_t i = 0; i < t; i++)
		scalar_random(coef[i]);
	crypto_scalarmult_ristretto255_base(vk, coef[0]);
	for (size_t j = 1; j <= n; j++) {
		/* f(j) is zero with probability ~2^-252; redraw rather than hand out a zero. */
		poly_eval(shares[j - 1], (const uint8_t(*)[32])coef, t, j);
		if (scalar_is_zero(shares[j - 1])) {
			sodium_memzero(coef, sizeof coef);
			return proto_oprf_deal(shares, vks, vk, t, n);
		}
		crypto_scalarmult_ristretto255_base(vks[j - 1], shares[j - 1]);
	}
	sodium_memzero(coef, sizeof coef);
	return 0;
}

int proto_oprf_share_check(const uint8_t share[32], const uint8_t vk_j[32])
{
	uint8_t p[32];

	if (!scalar_canonical(share) || scalar_is_zero(share))
		return PROTO_E_RING_SCALAR;
	if (proto_ring_pk_check(vk_j) != 0)
		return PROTO_E_RING_POINT;
	crypto_scalarmult_ristretto255_base(p, share);
	return sodium_memcmp(p, vk_j, 32) == 0 ? 0 : PROTO_E_OPRF_PROOF;
}

int proto_oprf_lagrange(uint8_t lambda[32], const uint8_t *idx, size_t t, size_t i)
{
	uint8_t num[32], den[32], xi[32], xj[32], diff[32], inv[32];

	if (t == 0 || i >= t || t > PROTO_OPRF_STEWARDS_MAX)
		return PROTO_E_OPRF_INDEX;
	scalar_from_u64(num, 1);
	scalar_from_u64(den, 1);
	scalar_from_u64(xi, idx[i]);
	for (size_t j = 0; j < t; j++) {
		if (idx[j] == 0)
			return PROTO_E_OPRF_INDEX;
		if (j == i)
			continue;
		if (idx[j] == idx[i])
			return PROTO_E_OPRF_INDEX;
		/* λ_i = Π x_j / (x_j − x_i) */
		scalar_from_u64(xj, idx[j]);
		crypto_core_ristretto255_scalar_mul(num, num, xj);
		crypto_core_ristretto255_scalar_sub(diff, xj, xi);
		crypto_core_ristretto255_scalar_mul(den, den, diff);
	}
	if (crypto_core_ristretto255_scalar_invert(inv, den) != 0)
		return PROTO_E_OPRF_INDEX;
	crypto_core_ristretto255_scalar_mul(lambda, num, inv);
	return 0;
}

/* Σ λ_i·P_i over public points; -1 when the sum is the identity or a point is invalid. */
static int interpolate_points(uint8_t out[32], const uint8_t *idx, const uint8_t (*pts)[32],
			      size_t t)
{
	uint8_t lambda[32], term[32], acc[32];
	bool have = false;
	int rc;

	for (size_t i = 0; i < t; i++) {
		rc = proto_oprf_lagrange(lambda, idx, t, i);
		if (rc)
			return rc;
		if (proto_ring_pk_check(pts[i]) != 0)
			return PROTO_E_RING_POINT;
		if (crypto_scalarmult_ristretto255(term, lambda, pts[i]) != 0)
			return PROTO_E_RING_POINT;
		if (!have)
			memcpy(acc, term, 32);
		else if (crypto_core_ristretto255_add(acc, acc, term) != 0)
			return PROTO_E_RING_POINT;
		have = true;
	}
	memcpy(out, acc, 32);
	return 0;
}

int proto_oprf_vks_check(const uint8_t (*vks)[32], size_t n, size_t t, const uint8_t vk[32])
{
	uint8_t idx[PROTO_OPRF_STEWARDS_MAX], pts[PROTO_OPRF_STEWARDS_MAX][32], got[32];
	int rc;

	if (t == 0 || t > n || n > PROTO_OPRF_STEWARDS_MAX)
		return -EINVAL;
	if (proto_ring_pk_check(vk) != 0)
		return PROTO_E_RING_POINT;
	/* The first t keys fix the polynomial; it must give V at 0 and every other V_j at j. */
	for (size_t i = 0; i < t; i++) {
		idx[i] = (uint8_t)(i + 1);
		memcpy(pts[i], vks[i], 32);
	}
	rc = interpolate_points(got, idx, (const uint8_t(*)[32])pts, t);
	if (rc)
		return rc;
	if (sodium_memcmp(got, vk, 32) != 0)
		return PROTO_E_OPRF_PROOF;
	for (size_t j = t; j < n; j++) {
		/* Swap index t-1 for j+1: the set {1..t-1, j+1} must give the same V. */
		idx[t - 1] = (uint8_t)(j + 1);
		memcpy(pts[t - 1], vks[j], 32);
		rc = interpolate_points(got, idx, (const uint8_t(*)[32])pts, t);
		if (rc)
			return rc;
		if (sodium_memcmp(got, vk, 32) != 0)
			return PROTO_E_OPRF_PROOF;
	}
	return 0;
}

int proto_oprf_reshare(uint8_t (*pieces)[32], uint8_t (*commits)[32], const uint8_t share[32],
		       uint8_t old_idx, const uint8_t *old_set, size_t t_old, size_t t_new,
		       size_t n_new)
{
	uint8_t coef[PROTO_OPRF_STEWARDS_MAX][32], lambda[32];
	size_t pos = t_old;
	int rc;

	if (t_new == 0 || t_new > n_new || n_new > PROTO_OPRF_STEWARDS_MAX)
		return -EINVAL;
	for (size_t i = 0; i < t_old; i++)
		if (old_set[i] == old_idx)
			pos = i;
	if (pos == t_old)
		return PROTO_E_OPRF_INDEX;
	rc = proto_oprf_lagrange(lambda, old_set, t_old, pos);
	if (rc)
		return rc;
	crypto_core_ristretto255_scalar_mul(coef[0], lambda, share);
	for (size_t i = 1; i < t_new; i++)
		scalar_random(coef[i]);
	for (size_t i = 0; i < t_new; i++)
		crypto_scalarmult_ristretto255_base(commits[i], coef[i]);
	for (size_t j = 1; j <= n_new; j++)
		poly_eval(pieces[j - 1], (const uint8_t(*)[32])coef, t_new, j);
	sodium_memzero(coef, sizeof coef);
	sodium_memzero(lambda, sizeof lambda);
	return 0;
}

int proto_oprf_commit_eval(uint8_t vk_piece[32], uint8_t j, const uint8_t (*commits)[32],
			   size_t t_new)
{
	uint8_t xj[32], pw[32], term[32], acc[32];

	if (j == 0)
		return PROTO_E_OPRF_INDEX;
	if (t_new == 0 || t_new > PROTO_OPRF_STEWARDS_MAX)
		return -EINVAL;
	scalar_from_u64(xj, j);
	scalar_from_u64(pw, 1);
	for (size_t i = 0; i < t_new; i++) {
		if (proto_ring_pk_check(commits[i]) != 0)
			return PROTO_E_RING_POINT;
		if (crypto_scalarmult_ristretto255(term, pw, commits[i]) != 0)
			return PROTO_E_RING_POINT;
		if (i == 0)
			memcpy(acc, term, 32);
		else if (crypto_core_ristretto255_add(acc, acc, term) != 0)
			return PROTO_E_RING_POINT;
		crypto_core_ristretto255_scalar_mul(pw, pw, xj);
	}
	memcpy(vk_piece, acc, 32);
	return 0;
}

int proto_oprf_piece_check(const uint8_t piece[32], uint8_t j, const uint8_t (*commits)[32],
			   size_t t_new, uint8_t vk_piece[32])
{
	uint8_t acc[32], mine[32];
	int rc;

	if (j == 0)
		return PROTO_E_OPRF_INDEX;
	if (t_new == 0 || t_new > PROTO_OPRF_STEWARDS_MAX)
		return -EINVAL;
	if (!scalar_canonical(piece))
		return PROTO_E_RING_SCALAR;
	if ((rc = proto_oprf_commit_eval(acc, j, commits, t_new)))
		return rc;
	if (scalar_is_zero(piece) || crypto_scalarmult_ristretto255_base(mine, piece) != 0 ||
	    sodium_memcmp(mine, acc, 32) != 0)
		return PROTO_E_OPRF_PROOF;
	if (vk_piece)
		memcpy(vk_piece, acc, 32);
	return 0;
}

int proto_oprf_reshare_finish(uint8_t share[32], uint8_t vk_j[32], const uint8_t (*pieces)[32],
			      const uint8_t (*vk_pieces)[32], size_t m)
{
	uint8_t acc[32] = {0}, pt[32];

	if (m == 0)
		return -EINVAL;
	for (size_t i = 0; i < m; i++) {
		if (!scalar_canonical(pieces[i]))
			return PROTO_E_RING_SCALAR;
		crypto_core_ristretto255_scalar_add(acc, acc, pieces[i]);
		if (proto_ring_pk_check(vk_pieces[i]) != 0)
			return PROTO_E_RING_POINT;
		if (i == 0)
			memcpy(pt, vk_pieces[0], 32);
		else if (crypto_core_ristretto255_add(pt, pt, vk_pieces[i]) != 0)
			return PROTO_E_RING_POINT;
	}
	if (scalar_is_zero(acc))
		return PROTO_E_RING_SCALAR;
	memcpy(share, acc, 32);
	memcpy(vk_j, pt, 32);
	sodium_memzero(acc, sizeof acc);
	/* The key must match the share: pieces and commitments from one round. */
	return proto_oprf_share_check(share, vk_j);
}

int proto_oprf_blind(uint8_t blinded[32], uint8_t rho[32], const uint8_t x[32])
{
	uint8_t p[32];

	hash_to_group(p, x);
	do
		scalar_random(rho);
	while (crypto_scalarmult_ristretto255(blinded, rho, p) != 0);
	return 0;
}

/*
 * The composite pair (M, Z) = (Σ d_i·in_i, Σ d_i·out_i) with d_i = H_s(weight, seed || i)
 * and seed = BLAKE2b-256(batch || vk || in_0..m-1 || out_0..m-1). With m = 1, d_0 is still
 * applied: one code path for every batch size. The prover, who knows the key, passes
 * @z_out = NULL and computes Z = s_j·M itself: one multiplication per element fewer.
 */
static int composite(uint8_t m_out[32], uint8_t *z_out, const uint8_t vk[32],
		     const uint8_t (*in)[32], const uint8_t (*out)[32], size_t m)
{
	crypto_generichash_blake2b_state st;
	uint8_t seed[32], d[32], ta[32], tb[32];
	uint8_t be[4];

	crypto_generichash_blake2b_init(&st, NULL, 0, sizeof seed);
	crypto_generichash_blake2b_update(&st, (const uint8_t *)D_BATCH, strlen(D_BATCH));
	crypto_generichash_blake2b_update(&st, vk, 32);
	crypto_generichash_blake2b_update(&st, (const uint8_t *)in, 32 * m);
	crypto_generichash_blake2b_update(&st, (const uint8_t *)out, 32 * m);
	crypto_generichash_blake2b_final(&st, seed, sizeof seed);
	for (size_t i = 0; i < m; i++) {
		const void *parts[2] = {seed, be};
		size_t lens[2] = {32, 4};

		be[0] = (uint8_t)(i >> 24);
		be[1] = (uint8_t)(i >> 16);
		be[2] = (uint8_t)(i >> 8);
		be[3] = (uint8_t)i;
		hash_to_scalar(d, D_WEIGHT, parts, lens, 2);
		if (crypto_scalarmult_ristretto255(ta, d, in[i]) != 0 ||
		    (z_out && crypto_scalarmult_ristretto255(tb, d, out[i]) != 0))
			return PROTO_E_RING_POINT;
		if (i == 0) {
			memcpy(m_out, ta, 32);
			if (z_out)
				memcpy(z_out, tb, 32);
		} else if (crypto_core_ristretto255_add(m_out, m_out, ta) != 0 ||
			   (z_out && crypto_core_ristretto255_add(z_out, z_out, tb) != 0)) {
			return PROTO_E_RING_POINT;
		}
	}
	/* A sum can be the identity only with negligible probability for honest inputs;
	 * refuse it rather than prove a statement about the identity. */
	if (proto_ring_pk_check(m_out) != 0 || (z_out && proto_ring_pk_check(z_out) != 0))
		return PROTO_E_RING_POINT;
	return 0;
}

static void dleq_challenge(uint8_t c[32], const uint8_t vk[32], const uint8_t m[32],
			   const uint8_t z[32], const uint8_t a[32], const uint8_t b[32])
{
	const void *parts[5] = {vk, m, z, a, b};
	const size_t lens[5] = {32, 32, 32, 32, 32};

	hash_to_scalar(c, D_DLEQ, parts, lens, 5);
}

int proto_oprf_evaluate(uint8_t (*out)[32], uint8_t proof[PROTO_OPRF_PROOF_BYTES],
			const uint8_t share[32], const uint8_t vk_j[32], const uint8_t (*in)[32],
			size_t m)
{
	uint8_t cm[32], cz[32], w[32], a[32], b[32], c[32], cs[32];
	int rc;

	if (m == 0 || m > PROTO_OPRF_BATCH_MAX)
		return PROTO_E_TOO_LARGE;
	for (size_t i = 0; i < m; i++)
		if (proto_ring_pk_check(in[i]) != 0)
			return PROTO_E_RING_POINT;
	for (size_t i = 0; i < m; i++)
		if (crypto_scalarmult_ristretto255(out[i], share, in[i]) != 0)
			return PROTO_E_RING_POINT;
	rc = composite(cm, NULL, vk_j, in, (const uint8_t(*)[32])out, m);
	if (rc)
		return rc;
	if (crypto_scalarmult_ristretto255(cz, share, cm) != 0)
		return PROTO_E_RING_POINT;
	scalar_random(w);
	crypto_scalarmult_ristretto255_base(a, w);
	if (crypto_scalarmult_ristretto255(b, w, cm) != 0) {
		sodium_memzero(w, sizeof w);
		return PROTO_E_RING_POINT;
	}
	dleq_challenge(c, vk_j, cm, cz, a, b);
	/* r = w − c·s_j */
	crypto_core_ristretto255_scalar_mul(cs, c, share);
	crypto_core_ristretto255_scalar_sub(proof + 32, w, cs);
	memcpy(proof, c, 32);
	sodium_memzero(w, sizeof w);
	sodium_memzero(cs, sizeof cs);
	return 0;
}

int proto_oprf_verify(const uint8_t proof[PROTO_OPRF_PROOF_BYTES], const uint8_t vk_j[32],
		      const uint8_t (*in)[32], const uint8_t (*out)[32], size_t m)
{
	uint8_t cm[32], cz[32], a[32], b[32], t1[32], t2[32], c[32];
	const uint8_t *pc = proof, *pr = proof + 32;
	int rc;

	if (m == 0 || m > PROTO_OPRF_BATCH_MAX)
		return PROTO_E_TOO_LARGE;
	if (!scalar_canonical(pc) || !scalar_canonical(pr))
		return PROTO_E_RING_SCALAR;
	if (proto_ring_pk_check(vk_j) != 0)
		return PROTO_E_RING_POINT;
	for (size_t i = 0; i < m; i++)
		if (proto_ring_pk_check(in[i]) != 0 || proto_ring_pk_check(out[i]) != 0)
			return PROTO_E_RING_POINT;
	rc = composite(cm, cz, vk_j, in, out, m);
	if (rc)
		return rc;
	/* A = r·G + c·V_j, B = r·M + c·Z. r may be zero only with negligible probability;
	 * libsodium refuses a zero multiple, and such a proof is then simply invalid. */
	if (crypto_scalarmult_ristretto255_base(t1, pr) != 0 ||
	    crypto_scalarmult_ristretto255(t2, pc, vk_j) != 0 ||
	    crypto_core_ristretto255_add(a, t1, t2) != 0)
		return PROTO_E_OPRF_PROOF;
	if (crypto_scalarmult_ristretto255(t1, pr, cm) != 0 ||
	    crypto_scalarmult_ristretto255(t2, pc, cz) != 0 ||
	    crypto_core_ristretto255_add(b, t1, t2) != 0)
		return PROTO_E_OPRF_PROOF;
	dleq_challenge(c, vk_j, cm, cz, a, b);
	return sodium_memcmp(c, pc, 32) == 0 ? 0 : PROTO_E_OPRF_PROOF;
}

int proto_oprf_combine(uint8_t z[32], const uint8_t *idx, const uint8_t (*answers)[32], size_t t)
{
	return interpolate_points(z, idx, answers, t);
}

static int finish(uint8_t r[32], const uint8_t x[32], const uint8_t u[32])
{
	const void *parts[3] = {D_PRF, x, u};
	const size_t lens[3] = {strlen(D_PRF), 32, 32};

	proto_hash(r, 32, parts, lens, 3);
	return 0;
}

int proto_oprf_finalize(uint8_t r[32], const uint8_t x[32], const uint8_t rho[32],
			const uint8_t z[32])
{
	uint8_t inv[32], u[32];
	int rc;

	if (!scalar_canonical(rho) || scalar_is_zero(rho))
		return PROTO_E_RING_SCALAR;
	if (proto_ring_pk_check(z) != 0)
		return PROTO_E_RING_POINT;
	crypto_core_ristretto255_scalar_invert(inv, rho);
	if (crypto_scalarmult_ristretto255(u, inv, z) != 0)
		rc = PROTO_E_RING_POINT;
	else
		rc = finish(r, x, u);
	sodium_memzero(inv, sizeof inv);
	sodium_memzero(u, sizeof u);
	return rc;
}

int proto_oprf_eval_key(uint8_t r[32], const uint8_t s[32], const uint8_t x[32])
{
	uint8_t p[32], u[32];
	int rc;

	if (!scalar_canonical(s) || scalar_is_zero(s))
		return PROTO_E_RING_SCALAR;
	hash_to_group(p, x);
	if (crypto_scalarmult_ristretto255(u, s, p) != 0)
		return PROTO_E_RING_POINT;
	rc = finish(r, x, u);
	sodium_memzero(u, sizeof u);
	return rc;
}
