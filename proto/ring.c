/* SPDX-License-Identifier: MIT */
/*
 * proto/ring.c — bLSAG linkable ring signatures on ristretto255 (contract in ring.h).
 *
 * Overview. A signature is a closed hash chain: starting from c_0, each ring member i turns
 * (c_i, s_i) into L_i = s_i·G + c_i·P_i and R_i = s_i·H_p + c_i·I, and c_{i+1} is a hash of
 * the transcript and (L_i, R_i). Only someone who knows the discrete log x of one P_π with
 * I = x·H_p can close the chain at π, by picking L_π = α·G, R_π = α·H_p first and solving
 * s_π = α - c_π·x at the end.
 *
 * Cost. Signing and verifying both need two two-term multi-scalar multiplications per ring
 * member. libsodium 1.0.18 only has single constant-time multiplications with a ristretto
 * encode/decode around each one, so L_i and R_i through its public API cost three variable-
 * base and one base multiplication plus two point additions (each a decode-decode-encode):
 * about 12 ms at n = 64 on the reference machine (bench_ring), over the 11 ms budget.
 * Everything in those steps is public (the decoys' s_i and all c_i are in the signature or
 * recomputable from it), so this file carries a small variable-time implementation of exactly
 * what the steps need: GF(2^255-19) arithmetic in radix 2^51, extended twisted Edwards
 * coordinates with the complete a = -1 formulas of Hisil-Wong-Carter-Dawson 2008, ristretto255
 * decode/encode transcribed from RFC 9496 §4.3, and Straus double-scalar multiplication over
 * width-w NAF digits. The fixed points G, H_p and I get width-8 tables once per call;
 * each ring key a width-5 table per step. Secrets never touch this code: the tag, α·G, α·H_p
 * and s_π use libsodium's constant-time functions. Every encoding hashed by the verifier must
 * agree byte for byte with what libsodium produced on the signing side at the signer's step,
 * which the tests exercise at every ring position, next to RFC 9496 vectors and known answers
 * checked with an independent implementation.
 *
 * Point validation. libsodium 1.0.18's crypto_core_ristretto255_is_valid_point() accepts the
 * identity and ignores the top bit of the last byte, so two encodings name one element. That
 * would let a signer publish the same tag I under two byte strings and be counted twice, so
 * wire points must pass the strict RFC 9496 decoder below (canonical, top bit clear) and be
 * non-identity; libsodium's check is applied as well, so acceptance needs both decoders.
 */
#include "proto/ring.h"

#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"
#include "proto/report.h"

/* ---- GF(2^255-19), five 51-bit limbs ------------------------------------------------------
 *
 * Invariant: every fe produced by fe_sub/fe_mul/fe_sq has limbs below 2^51 + 2^15 ("carried");
 * fe_add of two carried values gives limbs below 2^53. With inputs below 2^53 every product
 * sum of fe_mul fits in 128 bits and the wrap-around carry 19·(r4 >> 51) in 64 bits.
 */

typedef unsigned __int128 u128;

#define MASK51 ((uint64_t)0x7ffffffffffff)

struct fe {
	uint64_t v[5];
};

static const struct fe fe_d = {
	{929955233495203, 466365720129213, 1662059464998953, 2033849074728123, 1442794654840575}};
static const struct fe fe_d2 = {
	{1859910466990425, 932731440258426, 1072319116312658, 1815898335770999, 633789495995903}};
static const struct fe fe_sqrtm1 = {
	{1718705420411056, 234908883556509, 2233514472574048, 2117202627021982, 765476049583133}};
static const struct fe fe_invsqrt_a_minus_d = {
	{278908739862762, 821645201101625, 8113234426968, 1777959178193151, 2118520810568447}};
static const struct fe fe_one = {{1, 0, 0, 0, 0}};
static const struct fe fe_zero = {{0, 0, 0, 0, 0}};

static uint64_t load64_le(const uint8_t *p)
{
	uint64_t r = 0;

	for (int i = 7; i >= 0; i--)
		r = (r << 8) | p[i];
	return r;
}

static void store64_le(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Reads 255 bits; the top bit of s[31] is ignored (callers that care compare re-encodings). */
static void fe_frombytes(struct fe *h, const uint8_t s[32])
{
	uint64_t w0 = load64_le(s), w1 = load64_le(s + 8), w2 = load64_le(s + 16),
		 w3 = load64_le(s + 24);

	h->v[0] = w0 & MASK51;
	h->v[1] = ((w0 >> 51) | (w1 << 13)) & MASK51;
	h->v[2] = ((w1 >> 38) | (w2 << 26)) & MASK51;
	h->v[3] = ((w2 >> 25) | (w3 << 39)) & MASK51;
	h->v[4] = (w3 >> 12) & MASK51;
}

static inline void fe_carry(struct fe *h)
{
	uint64_t c;

	c = h->v[0] >> 51;
	h->v[0] &= MASK51;
	h->v[1] += c;
	c = h->v[1] >> 51;
	h->v[1] &= MASK51;
	h->v[2] += c;
	c = h->v[2] >> 51;
	h->v[2] &= MASK51;
	h->v[3] += c;
	c = h->v[3] >> 51;
	h->v[3] &= MASK51;
	h->v[4] += c;
	c = h->v[4] >> 51;
	h->v[4] &= MASK51;
	h->v[0] += 19 * c;
}

/* Canonical little-endian encoding (value fully reduced mod p). */
static void fe_tobytes(uint8_t s[32], const struct fe *f)
{
	struct fe t = *f;
	uint64_t q;

	fe_carry(&t);
	fe_carry(&t);
	/* Now t < 2^255 + 2^15, so t >= p exactly when t + 19 carries out of bit 255. */
	q = (t.v[0] + 19) >> 51;
	q = (t.v[1] + q) >> 51;
	q = (t.v[2] + q) >> 51;
	q = (t.v[3] + q) >> 51;
	q = (t.v[4] + q) >> 51;
	t.v[0] += 19 * q;
	t.v[1] += t.v[0] >> 51;
	t.v[0] &= MASK51;
	t.v[2] += t.v[1] >> 51;
	t.v[1] &= MASK51;
	t.v[3] += t.v[2] >> 51;
	t.v[2] &= MASK51;
	t.v[4] += t.v[3] >> 51;
	t.v[3] &= MASK51;
	t.v[4] &= MASK51;
	store64_le(s, t.v[0] | (t.v[1] << 51));
	store64_le(s + 8, (t.v[1] >> 13) | (t.v[2] << 38));
	store64_le(s + 16, (t.v[2] >> 26) | (t.v[3] << 25));
	store64_le(s + 24, (t.v[3] >> 39) | (t.v[4] << 12));
}

/*
 * No carry: every caller adds two carried values (limbs < 2^51 + 2^15), or one such sum and
 * one carried value, so the result stays below 2^53 — fine as a fe_mul/fe_sq input and as the
 * subtrahend of fe_sub. A sum is never added to a sum.
 */
static void fe_add(struct fe *h, const struct fe *f, const struct fe *g)
{
	for (int i = 0; i < 5; i++)
		h->v[i] = f->v[i] + g->v[i];
}

/* f - g computed as f + 4p - g, so no limb underflows for g below 2^53; carried result. */
static void fe_sub(struct fe *h, const struct fe *f, const struct fe *g)
{
	h->v[0] = f->v[0] + 0x1fffffffffffb4 - g->v[0];
	for (int i = 1; i < 5; i++)
		h->v[i] = f->v[i] + 0x1ffffffffffffc - g->v[i];
	fe_carry(h);
}

static void fe_neg(struct fe *h, const struct fe *f)
{
	fe_sub(h, &fe_zero, f);
}

static void fe_mul(struct fe *h, const struct fe *f, const struct fe *g)
{
	uint64_t f0 = f->v[0], f1 = f->v[1], f2 = f->v[2], f3 = f->v[3], f4 = f->v[4];
	uint64_t g0 = g->v[0], g1 = g->v[1], g2 = g->v[2], g3 = g->v[3], g4 = g->v[4];
	uint64_t g1_19 = 19 * g1, g2_19 = 19 * g2, g3_19 = 19 * g3, g4_19 = 19 * g4;
	u128 r0, r1, r2, r3, r4;
	uint64_t c;

	r0 = (u128)f0 * g0 + (u128)f1 * g4_19 + (u128)f2 * g3_19 + (u128)f3 * g2_19 +
	     (u128)f4 * g1_19;
	r1 = (u128)f0 * g1 + (u128)f1 * g0 + (u128)f2 * g4_19 + (u128)f3 * g3_19 + (u128)f4 * g2_19;
	r2 = (u128)f0 * g2 + (u128)f1 * g1 + (u128)f2 * g0 + (u128)f3 * g4_19 + (u128)f4 * g3_19;
	r3 = (u128)f0 * g3 + (u128)f1 * g2 + (u128)f2 * g1 + (u128)f3 * g0 + (u128)f4 * g4_19;
	r4 = (u128)f0 * g4 + (u128)f1 * g3 + (u128)f2 * g2 + (u128)f3 * g1 + (u128)f4 * g0;

	r1 += (uint64_t)(r0 >> 51);
	h->v[0] = (uint64_t)r0 & MASK51;
	r2 += (uint64_t)(r1 >> 51);
	h->v[1] = (uint64_t)r1 & MASK51;
	r3 += (uint64_t)(r2 >> 51);
	h->v[2] = (uint64_t)r2 & MASK51;
	r4 += (uint64_t)(r3 >> 51);
	h->v[3] = (uint64_t)r3 & MASK51;
	c = (uint64_t)(r4 >> 51);
	h->v[4] = (uint64_t)r4 & MASK51;
	h->v[0] += 19 * c;
	h->v[1] += h->v[0] >> 51;
	h->v[0] &= MASK51;
}

static void fe_sq(struct fe *h, const struct fe *f)
{
	uint64_t f0 = f->v[0], f1 = f->v[1], f2 = f->v[2], f3 = f->v[3], f4 = f->v[4];
	uint64_t f0_2 = 2 * f0, f1_2 = 2 * f1, f2_2 = 2 * f2, f3_2 = 2 * f3;
	uint64_t f3_19 = 19 * f3, f4_19 = 19 * f4;
	u128 r0, r1, r2, r3, r4;
	uint64_t c;

	r0 = (u128)f0 * f0 + (u128)f1_2 * f4_19 + (u128)f2_2 * f3_19;
	r1 = (u128)f0_2 * f1 + (u128)f2_2 * f4_19 + (u128)f3 * f3_19;
	r2 = (u128)f0_2 * f2 + (u128)f1 * f1 + (u128)f3_2 * f4_19;
	r3 = (u128)f0_2 * f3 + (u128)f1_2 * f2 + (u128)f4 * f4_19;
	r4 = (u128)f0_2 * f4 + (u128)f1_2 * f3 + (u128)f2 * f2;

	r1 += (uint64_t)(r0 >> 51);
	h->v[0] = (uint64_t)r0 & MASK51;
	r2 += (uint64_t)(r1 >> 51);
	h->v[1] = (uint64_t)r1 & MASK51;
	r3 += (uint64_t)(r2 >> 51);
	h->v[2] = (uint64_t)r2 & MASK51;
	r4 += (uint64_t)(r3 >> 51);
	h->v[3] = (uint64_t)r3 & MASK51;
	c = (uint64_t)(r4 >> 51);
	h->v[4] = (uint64_t)r4 & MASK51;
	h->v[0] += 19 * c;
	h->v[1] += h->v[0] >> 51;
	h->v[0] &= MASK51;
}

static void fe_sqn(struct fe *h, const struct fe *f, int n)
{
	fe_sq(h, f);
	while (--n > 0)
		fe_sq(h, h);
}

/* z^((p-5)/8) = z^(2^252 - 3), the addition chain of ref10. */
static void fe_pow22523(struct fe *out, const struct fe *z)
{
	struct fe t0, t1, t2;

	fe_sq(&t0, z);	       /* 2 */
	fe_sqn(&t1, &t0, 2);   /* 8 */
	fe_mul(&t1, z, &t1);   /* 9 */
	fe_mul(&t0, &t0, &t1); /* 11 */
	fe_sq(&t0, &t0);       /* 22 */
	fe_mul(&t0, &t1, &t0); /* 2^5 - 1 */
	fe_sqn(&t1, &t0, 5);   /* 2^10 - 2^5 */
	fe_mul(&t0, &t1, &t0); /* 2^10 - 1 */
	fe_sqn(&t1, &t0, 10);  /* 2^20 - 2^10 */
	fe_mul(&t1, &t1, &t0); /* 2^20 - 1 */
	fe_sqn(&t2, &t1, 20);  /* 2^40 - 2^20 */
	fe_mul(&t1, &t2, &t1); /* 2^40 - 1 */
	fe_sqn(&t1, &t1, 10);  /* 2^50 - 2^10 */
	fe_mul(&t0, &t1, &t0); /* 2^50 - 1 */
	fe_sqn(&t1, &t0, 50);  /* 2^100 - 2^50 */
	fe_mul(&t1, &t1, &t0); /* 2^100 - 1 */
	fe_sqn(&t2, &t1, 100); /* 2^200 - 2^100 */
	fe_mul(&t1, &t2, &t1); /* 2^200 - 1 */
	fe_sqn(&t1, &t1, 50);  /* 2^250 - 2^50 */
	fe_mul(&t0, &t1, &t0); /* 2^250 - 1 */
	fe_sqn(&t0, &t0, 2);   /* 2^252 - 4 */
	fe_mul(out, &t0, z);   /* 2^252 - 3 */
}

static bool fe_is_negative(const struct fe *f)
{
	uint8_t s[32];

	fe_tobytes(s, f);
	return s[0] & 1;
}

static bool fe_is_zero(const struct fe *f)
{
	static const uint8_t zero[32];
	uint8_t s[32];

	fe_tobytes(s, f);
	return memcmp(s, zero, 32) == 0;
}

static bool fe_equal(const struct fe *f, const struct fe *g)
{
	uint8_t a[32], b[32];

	fe_tobytes(a, f);
	fe_tobytes(b, g);
	return memcmp(a, b, 32) == 0;
}

static void fe_abs(struct fe *h, const struct fe *f)
{
	if (fe_is_negative(f))
		fe_neg(h, f);
	else
		*h = *f;
}

/*
 * RFC 9496 SQRT_RATIO_M1: *r = the non-negative sqrt(u/v) when u/v is square, else
 * sqrt(i·u/v). Returns whether u/v was square.
 */
static bool fe_sqrt_ratio_m1(struct fe *r, const struct fe *u, const struct fe *v)
{
	struct fe v3, v7, t, check, neg_u, neg_u_i;
	bool correct, flipped, flipped_i;

	fe_sq(&v3, v);
	fe_mul(&v3, &v3, v); /* v^3 */
	fe_sq(&v7, &v3);
	fe_mul(&v7, &v7, v); /* v^7 */
	fe_mul(&t, u, &v7);
	fe_pow22523(&t, &t);
	fe_mul(&t, &t, &v3);
	fe_mul(r, &t, u); /* (u v^3)(u v^7)^((p-5)/8) */

	fe_sq(&check, r);
	fe_mul(&check, &check, v);
	fe_neg(&neg_u, u);
	fe_mul(&neg_u_i, &neg_u, &fe_sqrtm1);
	correct = fe_equal(&check, u);
	flipped = fe_equal(&check, &neg_u);
	flipped_i = fe_equal(&check, &neg_u_i);
	if (flipped || flipped_i)
		fe_mul(r, r, &fe_sqrtm1);
	fe_abs(r, r);
	return correct || flipped;
}

/* ---- Group: extended coordinates x = X/Z, y = Y/Z, xy = T/Z -------------------------------- */

struct ge_p2 {
	struct fe x, y, z;
};

struct ge_p3 {
	struct fe x, y, z, t;
};

/* Completed point: x = e/g, y = h/f. */
struct ge_p1p1 {
	struct fe e, f, g, h;
};

/* Addition operand: (Y+X, Y-X, Z, 2d·T). */
struct ge_cached {
	struct fe ypx, ymx, z, t2d;
};

static void ge_p3_identity(struct ge_p3 *h)
{
	h->x = fe_zero;
	h->y = fe_one;
	h->z = fe_one;
	h->t = fe_zero;
}

static void ge_p1p1_to_p2(struct ge_p2 *r, const struct ge_p1p1 *p)
{
	fe_mul(&r->x, &p->e, &p->f);
	fe_mul(&r->y, &p->g, &p->h);
	fe_mul(&r->z, &p->f, &p->g);
}

static void ge_p1p1_to_p3(struct ge_p3 *r, const struct ge_p1p1 *p)
{
	fe_mul(&r->x, &p->e, &p->f);
	fe_mul(&r->y, &p->g, &p->h);
	fe_mul(&r->z, &p->f, &p->g);
	fe_mul(&r->t, &p->e, &p->h);
}

static void ge_p3_to_cached(struct ge_cached *r, const struct ge_p3 *p)
{
	fe_add(&r->ypx, &p->y, &p->x);
	fe_sub(&r->ymx, &p->y, &p->x);
	r->z = p->z;
	fe_mul(&r->t2d, &p->t, &fe_d2);
}

/* dbl-2008-hwcd with a = -1; T of the input is not needed. */
static void ge_p2_dbl(struct ge_p1p1 *r, const struct ge_p2 *p)
{
	struct fe xx, yy, b, a, s;

	fe_sq(&xx, &p->x);
	fe_sq(&yy, &p->y);
	fe_sq(&b, &p->z);
	fe_add(&b, &b, &b);
	fe_add(&a, &p->x, &p->y);
	fe_sq(&a, &a);
	fe_add(&s, &xx, &yy);
	fe_sub(&r->e, &a, &s);
	fe_sub(&r->g, &yy, &xx);
	fe_neg(&r->h, &s);
	fe_sub(&r->f, &r->g, &b);
}

/* add-2008-hwcd-3 (complete for a = -1, d non-square): r = p + q, or p - q when @neg. */
static void ge_add_cached(struct ge_p1p1 *r, const struct ge_p3 *p, const struct ge_cached *q,
			  bool neg)
{
	struct fe a, b, c, d;

	fe_sub(&a, &p->y, &p->x);
	fe_mul(&a, &a, neg ? &q->ypx : &q->ymx);
	fe_add(&b, &p->y, &p->x);
	fe_mul(&b, &b, neg ? &q->ymx : &q->ypx);
	fe_mul(&c, &p->t, &q->t2d);
	fe_mul(&d, &p->z, &q->z);
	fe_add(&d, &d, &d);
	fe_sub(&r->e, &b, &a);
	fe_add(&r->h, &b, &a);
	if (neg) {
		fe_add(&r->f, &d, &c);
		fe_sub(&r->g, &d, &c);
	} else {
		fe_sub(&r->f, &d, &c);
		fe_add(&r->g, &d, &c);
	}
}

/* RFC 9496 §4.3.1. Returns 0, or -1 when @s is not a canonical ristretto255 encoding. */
static int ristretto_decode(struct ge_p3 *h, const uint8_t s[32])
{
	struct fe sf, ss, u1, u2, u2_sqr, v, t, invsqrt, den_x, den_y;
	uint8_t back[32];
	bool was_square;

	fe_frombytes(&sf, s);
	fe_tobytes(back, &sf);
	if (memcmp(back, s, 32) != 0 || (s[0] & 1))
		return -1;

	fe_sq(&ss, &sf);
	fe_sub(&u1, &fe_one, &ss);
	fe_add(&u2, &fe_one, &ss);
	fe_sq(&u2_sqr, &u2);
	fe_sq(&t, &u1);
	fe_mul(&t, &t, &fe_d);
	fe_neg(&t, &t);
	fe_sub(&v, &t, &u2_sqr); /* -(d·u1^2) - u2^2 */
	fe_mul(&t, &v, &u2_sqr);
	was_square = fe_sqrt_ratio_m1(&invsqrt, &fe_one, &t);
	fe_mul(&den_x, &invsqrt, &u2);
	fe_mul(&den_y, &invsqrt, &den_x);
	fe_mul(&den_y, &den_y, &v);
	fe_add(&t, &sf, &sf);
	fe_mul(&t, &t, &den_x);
	fe_abs(&h->x, &t);
	fe_mul(&h->y, &u1, &den_y);
	h->z = fe_one;
	fe_mul(&h->t, &h->x, &h->y);
	if (!was_square || fe_is_negative(&h->t) || fe_is_zero(&h->y))
		return -1;
	return 0;
}

/* RFC 9496 §4.3.2. */
static void ristretto_encode(uint8_t s[32], const struct ge_p3 *p)
{
	struct fe u1, u2, t, invsqrt, den1, den2, z_inv, x, y, den_inv;
	bool rotate;

	fe_add(&u1, &p->z, &p->y);
	fe_sub(&t, &p->z, &p->y);
	fe_mul(&u1, &u1, &t);
	fe_mul(&u2, &p->x, &p->y);
	fe_sq(&t, &u2);
	fe_mul(&t, &t, &u1);
	fe_sqrt_ratio_m1(&invsqrt, &fe_one, &t);
	fe_mul(&den1, &invsqrt, &u1);
	fe_mul(&den2, &invsqrt, &u2);
	fe_mul(&z_inv, &den1, &den2);
	fe_mul(&z_inv, &z_inv, &p->t);

	fe_mul(&t, &p->t, &z_inv);
	rotate = fe_is_negative(&t);
	if (rotate) {
		fe_mul(&x, &p->y, &fe_sqrtm1);
		fe_mul(&y, &p->x, &fe_sqrtm1);
		fe_mul(&den_inv, &den1, &fe_invsqrt_a_minus_d);
	} else {
		x = p->x;
		y = p->y;
		den_inv = den2;
	}
	fe_mul(&t, &x, &z_inv);
	if (fe_is_negative(&t))
		fe_neg(&y, &y);
	fe_sub(&t, &p->z, &y);
	fe_mul(&t, &den_inv, &t);
	fe_abs(&t, &t);
	fe_tobytes(s, &t);
}

/* ---- Variable-time double-scalar multiplication ------------------------------------------ */

#define WNAF_FIXED 8 /* G, H_p, I: tables of 2^(8-2) = 64 odd multiples, built once per call */
#define WNAF_STEP 5  /* ring keys: 8 odd multiples, built per step */
#define TAB_FIXED (1 << (WNAF_FIXED - 2))
#define TAB_STEP (1 << (WNAF_STEP - 2))

/* tab[k] = (2k+1)·p for k < count. */
static void table_build(struct ge_cached *tab, size_t count, const struct ge_p3 *p)
{
	struct ge_p1p1 t;
	struct ge_p2 p2 = {p->x, p->y, p->z};
	struct ge_p3 twice, u;

	ge_p3_to_cached(&tab[0], p);
	ge_p2_dbl(&t, &p2);
	ge_p1p1_to_p3(&twice, &t);
	for (size_t k = 1; k < count; k++) {
		ge_add_cached(&t, &twice, &tab[k - 1], false);
		ge_p1p1_to_p3(&u, &t);
		ge_p3_to_cached(&tab[k], &u);
	}
}

/*
 * Width-w non-adjacent form of a canonical scalar (< 2^253): naf[i] is zero or odd with
 * |naf[i]| < 2^(w-1), and the scalar equals sum naf[i]·2^i. Digits are public data.
 */
static void wnaf(int8_t naf[256], const uint8_t s[32], int w)
{
	uint64_t x[5] = {load64_le(s), load64_le(s + 8), load64_le(s + 16), load64_le(s + 24), 0};
	const uint64_t width = (uint64_t)1 << w, mask = width - 1;
	uint64_t carry = 0;
	int pos = 0;

	memset(naf, 0, 256);
	while (pos < 256) {
		int idx = pos / 64, bit = pos % 64;
		uint64_t buf, window;

		if (bit < 64 - w)
			buf = x[idx] >> bit;
		else
			buf = (x[idx] >> bit) | (x[idx + 1] << (64 - bit));
		window = carry + (buf & mask);
		if ((window & 1) == 0) {
			pos++;
			continue;
		}
		if (window < width / 2) {
			carry = 0;
			naf[pos] = (int8_t)window;
		} else {
			carry = 1;
			naf[pos] = (int8_t)((int64_t)window - (int64_t)width);
		}
		pos += w;
	}
}

static void dsm_add_digit(struct ge_p1p1 *t, const struct ge_cached *tab, int8_t digit)
{
	struct ge_p3 u;

	if (digit == 0)
		return;
	ge_p1p1_to_p3(&u, t);
	if (digit > 0)
		ge_add_cached(t, &u, &tab[digit / 2], false);
	else
		ge_add_cached(t, &u, &tab[-digit / 2], true);
}

/* r = a·A + b·B from NAF digits and odd-multiple tables of A and B (Straus). */
static void dsm_vartime(struct ge_p3 *r, const int8_t na[256], const struct ge_cached *ta,
			const int8_t nb[256], const struct ge_cached *tb)
{
	struct ge_p2 acc = {fe_zero, fe_one, fe_one};
	struct ge_p1p1 t;
	int i = 255;

	while (i >= 0 && na[i] == 0 && nb[i] == 0)
		i--;
	if (i < 0) {
		ge_p3_identity(r);
		return;
	}
	for (;; i--) {
		ge_p2_dbl(&t, &acc);
		dsm_add_digit(&t, ta, na[i]);
		dsm_add_digit(&t, tb, nb[i]);
		if (i == 0)
			break;
		ge_p1p1_to_p2(&acc, &t);
	}
	ge_p1p1_to_p3(r, &t);
}

/* ---- Scalars and hashes ------------------------------------------------------------------- */

static const uint8_t sc_order[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,	   0xd6,
				     0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, [31] = 0x10};

/* s < L, in constant time (also used on secret keys). */
static bool sc_is_canonical(const uint8_t s[32])
{
	unsigned c = 0, n = 1;

	for (int i = 31; i >= 0; i--) {
		c |= (((unsigned)s[i] - sc_order[i]) >> 8) & n;
		n &= (((unsigned)(s[i] ^ sc_order[i])) - 1) >> 8;
	}
	return c != 0;
}

static bool sc_is_valid_secret(const uint8_t s[32])
{
	return sc_is_canonical(s) && !sodium_is_zero(s, 32);
}

static void hash_to_point(uint8_t hp[32], const uint8_t indicator_id[32])
{
	crypto_generichash_state st;
	uint8_t h[64];

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const uint8_t *)PROTO_RING_TAG_DOMAIN,
				  strlen(PROTO_RING_TAG_DOMAIN));
	crypto_generichash_update(&st, indicator_id, 32);
	crypto_generichash_final(&st, h, sizeof(h));
	crypto_core_ristretto255_from_hash(hp, h);
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* The transcript T of ring.h, absorbed once; each challenge continues from a copy. */
static void transcript_init(crypto_generichash_state *st, uint64_t epoch, const uint8_t (*ring)[32],
			    size_t n, const uint8_t indicator_id[32], const uint8_t tag[32],
			    const uint8_t *msg, size_t msg_len)
{
	uint8_t be[8];

	crypto_generichash_init(st, NULL, 0, crypto_generichash_BYTES_MAX);
	crypto_generichash_update(st, (const uint8_t *)PROTO_RING_SIG_DOMAIN,
				  strlen(PROTO_RING_SIG_DOMAIN));
	put_be64(be, epoch);
	crypto_generichash_update(st, be, 8);
	put_be64(be, n);
	crypto_generichash_update(st, be + 4, 4);
	crypto_generichash_update(st, ring[0], 32 * n);
	crypto_generichash_update(st, indicator_id, 32);
	crypto_generichash_update(st, tag, 32);
	put_be64(be, msg_len);
	crypto_generichash_update(st, be, 8);
	if (msg_len)
		crypto_generichash_update(st, msg, msg_len);
}

static void challenge(uint8_t c[32], const crypto_generichash_state *prefix, const uint8_t l[32],
		      const uint8_t r[32])
{
	crypto_generichash_state st = *prefix;
	uint8_t h[64];

	crypto_generichash_update(&st, l, 32);
	crypto_generichash_update(&st, r, 32);
	crypto_generichash_final(&st, h, sizeof(h));
	crypto_core_ristretto255_scalar_reduce(c, h);
}

/* ---- Shared signing/verification state ---------------------------------------------------- */

/* A wire point: strict canonical encoding of a non-identity element (see the overview). */
static int point_load(struct ge_p3 *h, const uint8_t s[32])
{
	if (sodium_is_zero(s, 32) || ristretto_decode(h, s) != 0 ||
	    !crypto_core_ristretto255_is_valid_point(s))
		return PROTO_E_RING_POINT;
	return 0;
}

static const uint8_t base_point[32] = {0xe2, 0xf2, 0xae, 0x0a, 0x6a, 0xbc, 0x4e, 0x71,
				       0xa8, 0x84, 0xa9, 0x61, 0xc5, 0x00, 0x51, 0x5f,
				       0x58, 0xe3, 0x0b, 0x6a, 0xa5, 0x82, 0xdd, 0x8d,
				       0xb6, 0xa6, 0x59, 0x45, 0xe0, 0x8d, 0x2d, 0x76};

/* Public data only; ~72 KiB, so it lives on the heap. */
struct ring_ctx {
	struct ge_cached g_tab[TAB_FIXED];
	struct ge_cached h_tab[TAB_FIXED];
	struct ge_cached i_tab[TAB_FIXED];
	struct ge_p3 pts[PROTO_REPORT_RING_MAX];
};

static int key_cmp(const void *a, const void *b)
{
	return memcmp(*(const uint8_t *const *)a, *(const uint8_t *const *)b, 32);
}

/* Validate and decode every ring key, then reject duplicates (keys are canonical, so equal
 * elements have equal bytes). */
static int ring_load(struct ring_ctx *ctx, const uint8_t (*ring)[32], size_t n)
{
	const uint8_t *sorted[PROTO_REPORT_RING_MAX];

	for (size_t i = 0; i < n; i++) {
		if (point_load(&ctx->pts[i], ring[i]) != 0)
			return PROTO_E_RING_POINT;
		sorted[i] = ring[i];
	}
	qsort(sorted, n, sizeof(sorted[0]), key_cmp);
	for (size_t i = 1; i < n; i++)
		if (memcmp(sorted[i - 1], sorted[i], 32) == 0)
			return PROTO_E_RING_DUP;
	return 0;
}

/*
 * Tables for G, H_p and I. H_p comes from libsodium's hash-to-group, so it is canonical; it is
 * the identity with probability ~2^-252, which the signer's libsodium calls refuse and the
 * verifier may process harmlessly.
 */
static int fixed_tables(struct ring_ctx *ctx, const uint8_t hp[32], const struct ge_p3 *tag)
{
	struct ge_p3 p;

	if (ristretto_decode(&p, base_point) != 0)
		return PROTO_E_RING_POINT;
	table_build(ctx->g_tab, TAB_FIXED, &p);
	if (ristretto_decode(&p, hp) != 0)
		return PROTO_E_RING_POINT;
	table_build(ctx->h_tab, TAB_FIXED, &p);
	table_build(ctx->i_tab, TAB_FIXED, tag);
	return 0;
}

/* One ring step on public values: c_next = H(T, s·G + c·P_i, s·H_p + c·I). */
static void ring_step(uint8_t c_next[32], const struct ring_ctx *ctx,
		      const crypto_generichash_state *prefix, size_t i, const uint8_t s[32],
		      const uint8_t c[32])
{
	struct ge_cached p_tab[TAB_STEP];
	int8_t ns_fixed[256], nc_fixed[256], nc_step[256];
	struct ge_p3 pt;
	uint8_t l[32], r[32];

	wnaf(ns_fixed, s, WNAF_FIXED);
	wnaf(nc_fixed, c, WNAF_FIXED);
	wnaf(nc_step, c, WNAF_STEP);
	table_build(p_tab, TAB_STEP, &ctx->pts[i]);
	dsm_vartime(&pt, ns_fixed, ctx->g_tab, nc_step, p_tab);
	ristretto_encode(l, &pt);
	dsm_vartime(&pt, ns_fixed, ctx->h_tab, nc_fixed, ctx->i_tab);
	ristretto_encode(r, &pt);
	challenge(c_next, prefix, l, r);
}

/* ---- Public API ------------------------------------------------------------------------- */

size_t proto_ring_sig_size(size_t n)
{
	return (n + 1) * 32 + 32;
}

int proto_ring_keypair(uint8_t pk[32], uint8_t sk[32])
{
	do
		crypto_core_ristretto255_scalar_random(sk);
	while (sodium_is_zero(sk, 32));
	crypto_scalarmult_ristretto255_base(pk, sk);
	return 0;
}

int proto_ring_pk_from_sk(uint8_t pk[32], const uint8_t sk[32])
{
	if (!sc_is_valid_secret(sk) || crypto_scalarmult_ristretto255_base(pk, sk) != 0) {
		memset(pk, 0, 32);
		return PROTO_E_RING_SCALAR;
	}
	return 0;
}

int proto_ring_tag(uint8_t tag[32], const uint8_t sk[32], const uint8_t indicator_id[32])
{
	uint8_t hp[32];

	if (!sc_is_valid_secret(sk))
		return PROTO_E_RING_SCALAR;
	hash_to_point(hp, indicator_id);
	if (crypto_scalarmult_ristretto255(tag, sk, hp) != 0)
		return PROTO_E_RING_POINT;
	return 0;
}

int proto_ring_pk_check(const uint8_t pk[32])
{
	struct ge_p3 p;

	return point_load(&p, pk);
}

int proto_ring_index_of(const uint8_t (*ring)[32], size_t n, const uint8_t pk[32])
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(ring[i], pk, 32) == 0)
			return (int)i;
	return PROTO_E_RING_SIGNER;
}

int proto_ring_pick(uint16_t *out, size_t k, size_t roster_n, size_t signer)
{
	size_t others = roster_n - 1, m = k - 1, got = 0;
	int pos = 0;

	if (roster_n == 0 || roster_n > 65536 || signer >= roster_n)
		return -EINVAL;
	if (k == 0 || k > PROTO_REPORT_RING_MAX || k > roster_n)
		return PROTO_E_RING_SIZE;
	/*
	 * Floyd's sampling of m distinct values out of the roster_n - 1 non-signers (numbered
	 * 0 .. others-1, skipping the signer's index): uniform over all m-subsets, m draws.
	 */
	for (size_t j = others - m; j < others; j++) {
		uint32_t t = randombytes_uniform((uint32_t)(j + 1));
		bool seen = false;

		for (size_t q = 0; q < got; q++)
			seen |= out[q] == t;
		out[got++] = (uint16_t)(seen ? j : t);
	}
	for (size_t q = 0; q < got; q++)
		if (out[q] >= signer)
			out[q]++;
	out[got++] = (uint16_t)signer;
	for (size_t q = 1; q < got; q++) {
		uint16_t v = out[q];
		size_t p = q;

		for (; p > 0 && out[p - 1] > v; p--)
			out[p] = out[p - 1];
		out[p] = v;
	}
	while (out[pos] != signer)
		pos++;
	return pos;
}

int proto_ring_sign_seeded(uint8_t *sig, size_t sig_len, const uint8_t *msg, size_t msg_len,
			   uint64_t epoch, const uint8_t (*ring)[32], size_t n, size_t signer_index,
			   const uint8_t sk[32], const uint8_t indicator_id[32],
			   const uint8_t seed[32])
{
	crypto_generichash_state prefix, st;
	struct ring_ctx *ctx = NULL;
	struct ge_p3 tag_pt;
	uint8_t hp[32], tag[32], pk[32], lr[2][32], c[32], s[32], t[32];
	uint8_t nonce_key[64], alpha[32], digest[64];
	uint8_t *c0, *sv;
	size_t sz;
	int rc;

	if (n == 0 || n > PROTO_REPORT_RING_MAX)
		return PROTO_E_RING_SIZE;
	sz = proto_ring_sig_size(n);
	if (sig_len < sz)
		return PROTO_E_RING_SIG_LEN;
	memset(sig, 0, sz);
	c0 = sig + 32;
	sv = sig + 64;
	if (signer_index >= n)
		return PROTO_E_RING_SIGNER;
	if (!sc_is_valid_secret(sk))
		return PROTO_E_RING_SCALAR;
	ctx = malloc(sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	rc = ring_load(ctx, ring, n);
	if (rc)
		goto out;
	rc = proto_ring_pk_from_sk(pk, sk);
	if (rc)
		goto out;
	if (memcmp(pk, ring[signer_index], 32) != 0) {
		rc = PROTO_E_RING_SIGNER;
		goto out;
	}
	rc = proto_ring_tag(tag, sk, indicator_id);
	if (rc)
		goto out;
	rc = point_load(&tag_pt, tag);
	if (rc)
		goto out;
	hash_to_point(hp, indicator_id);
	rc = fixed_tables(ctx, hp, &tag_pt);
	if (rc)
		goto out;
	transcript_init(&prefix, epoch, ring, n, indicator_id, tag, msg, msg_len);

	/*
	 * Nonces: a PRF keyed by BLAKE2b(seed; domain || x || digest of T). Because x and the
	 * whole transcript enter the key, a repeated seed on another message yields an unrelated
	 * α, and the decoys' s_i reveal nothing about x.
	 */
	st = prefix;
	crypto_generichash_final(&st, digest, sizeof(digest));
	crypto_generichash_init(&st, seed, 32, sizeof(nonce_key));
	crypto_generichash_update(&st, (const uint8_t *)"chatham/ring/nonce/1", 20);
	crypto_generichash_update(&st, sk, 32);
	crypto_generichash_update(&st, digest, sizeof(digest));
	crypto_generichash_final(&st, nonce_key, sizeof(nonce_key));

	for (uint32_t ctr = 0;; ctr++) {
		uint8_t be[4] = {0xff, 0xff, 0xff, (uint8_t)(0xff - ctr)};

		crypto_generichash(digest, sizeof(digest), be, 4, nonce_key, sizeof(nonce_key));
		crypto_core_ristretto255_scalar_reduce(alpha, digest);
		if (!sodium_is_zero(alpha, 32))
			break;
	}
	if (crypto_scalarmult_ristretto255_base(lr[0], alpha) != 0 ||
	    crypto_scalarmult_ristretto255(lr[1], alpha, hp) != 0) {
		rc = PROTO_E_RING_POINT;
		goto out;
	}
	challenge(c, &prefix, lr[0], lr[1]);

	for (size_t k = 1; k <= n; k++) {
		size_t i = (signer_index + k) % n;
		uint8_t be[4] = {(uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8),
				 (uint8_t)i};

		if (i == 0)
			memcpy(c0, c, 32);
		if (i == signer_index)
			break;
		crypto_generichash(digest, sizeof(digest), be, 4, nonce_key, sizeof(nonce_key));
		crypto_core_ristretto255_scalar_reduce(sv + 32 * i, digest);
		ring_step(c, ctx, &prefix, i, sv + 32 * i, c);
	}

	/* s_π = α - c_π·x closes the ring at the signer. */
	crypto_core_ristretto255_scalar_mul(t, c, sk);
	crypto_core_ristretto255_scalar_sub(s, alpha, t);
	memcpy(sv + 32 * signer_index, s, 32);
	memcpy(sig, tag, 32);
	rc = 0;
out:
	if (rc)
		memset(sig, 0, sz);
	sodium_memzero(alpha, sizeof(alpha));
	sodium_memzero(nonce_key, sizeof(nonce_key));
	sodium_memzero(digest, sizeof(digest));
	sodium_memzero(t, sizeof(t));
	sodium_memzero(s, sizeof(s));
	sodium_memzero(&st, sizeof(st));
	free(ctx);
	return rc;
}

int proto_ring_sign(uint8_t *sig, size_t sig_len, const uint8_t *msg, size_t msg_len,
		    uint64_t epoch, const uint8_t (*ring)[32], size_t n, size_t signer_index,
		    const uint8_t sk[32], const uint8_t indicator_id[32])
{
	uint8_t seed[32];
	int rc;

	randombytes_buf(seed, sizeof(seed));
	rc = proto_ring_sign_seeded(sig, sig_len, msg, msg_len, epoch, ring, n, signer_index, sk,
				    indicator_id, seed);
	sodium_memzero(seed, sizeof(seed));
	return rc;
}

int proto_ring_verify(const uint8_t *sig, size_t sig_len, const uint8_t *msg, size_t msg_len,
		      uint64_t epoch, const uint8_t (*ring)[32], size_t n,
		      const uint8_t indicator_id[32], const uint8_t tag[32])
{
	crypto_generichash_state prefix;
	struct ring_ctx *ctx;
	struct ge_p3 tag_pt;
	const uint8_t *sig_tag = sig, *c0 = sig + 32, *sv = sig + 64;
	uint8_t hp[32], c[32];
	int rc;

	if (n == 0 || n > PROTO_REPORT_RING_MAX)
		return PROTO_E_RING_SIZE;
	if (sig_len != proto_ring_sig_size(n))
		return PROTO_E_RING_SIG_LEN;
	ctx = malloc(sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	rc = ring_load(ctx, ring, n);
	if (rc)
		goto out;
	rc = point_load(&tag_pt, sig_tag);
	if (rc)
		goto out;
	rc = PROTO_E_RING_SCALAR;
	if (!sc_is_canonical(c0))
		goto out;
	for (size_t i = 0; i < n; i++)
		if (!sc_is_canonical(sv + 32 * i))
			goto out;
	rc = PROTO_E_RING_SIG;
	if (sodium_memcmp(sig_tag, tag, 32) != 0)
		goto out;
	hash_to_point(hp, indicator_id);
	rc = fixed_tables(ctx, hp, &tag_pt);
	if (rc)
		goto out;
	transcript_init(&prefix, epoch, ring, n, indicator_id, sig_tag, msg, msg_len);
	memcpy(c, c0, 32);
	for (size_t i = 0; i < n; i++)
		ring_step(c, ctx, &prefix, i, sv + 32 * i, c);
	rc = sodium_memcmp(c, c0, 32) == 0 ? 0 : PROTO_E_RING_SIG;
out:
	free(ctx);
	return rc;
}

int proto_ring_raw_scalarmult(uint8_t q[32], const uint8_t n[32], const uint8_t p[32])
{
	return crypto_scalarmult_ristretto255(q, n, p) == 0 ? 0 : -1;
}

int proto_ring_raw_scalarmult_base(uint8_t q[32], const uint8_t n[32])
{
	return crypto_scalarmult_ristretto255_base(q, n) == 0 ? 0 : -1;
}

int proto_ring_raw_add(uint8_t r[32], const uint8_t p[32], const uint8_t q[32])
{
	return crypto_core_ristretto255_add(r, p, q) == 0 ? 0 : -1;
}

int proto_ring_raw_double_mult_vartime(uint8_t r[32], const uint8_t a[32], const uint8_t A[32],
				       const uint8_t b[32], const uint8_t B[32])
{
	struct ge_cached ta[TAB_STEP], tb[TAB_STEP];
	int8_t na[256], nb[256];
	struct ge_p3 pa, pb, res;

	if (point_load(&pa, A) != 0 || point_load(&pb, B) != 0)
		return PROTO_E_RING_POINT;
	if (!sc_is_canonical(a) || !sc_is_canonical(b))
		return PROTO_E_RING_SCALAR;
	table_build(ta, TAB_STEP, &pa);
	table_build(tb, TAB_STEP, &pb);
	wnaf(na, a, WNAF_STEP);
	wnaf(nb, b, WNAF_STEP);
	dsm_vartime(&res, na, ta, nb, tb);
	ristretto_encode(r, &res);
	return 0;
}
