/* SPDX-License-Identifier: MIT */
/*
 * Threshold OPRF: dealing and checking shares, every t-subset of stewards evaluating the same
 * function, blinding hiding nothing of the result, a wrong partial evaluation caught by its
 * DLEQ proof (single and batched), fewer than t answers giving another output, re-sharing to
 * a new steward set keeping the function, and malformed inputs refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/oprf.h"

#define NMAX 8

struct dealt {
	size_t t, n;
	uint8_t shares[NMAX][32];
	uint8_t vks[NMAX][32];
	uint8_t vk[32];
};

static void deal(struct dealt *d, size_t t, size_t n)
{
	d->t = t;
	d->n = n;
	assert_int_equal(proto_oprf_deal(d->shares, d->vks, d->vk, t, n), 0);
}

/* The full member round trip through the stewards idx[0..t) (1-based). */
static void eval_via(uint8_t r[32], const struct dealt *d, const uint8_t *idx, size_t t,
		     const uint8_t x[32])
{
	uint8_t b[1][32], rho[32], z[NMAX][32], one[1][32], proof[PROTO_OPRF_PROOF_BYTES], comb[32];

	assert_int_equal(proto_oprf_blind(b[0], rho, x), 0);
	for (size_t i = 0; i < t; i++) {
		size_t j = idx[i] - 1;

		assert_int_equal(proto_oprf_evaluate(one, proof, d->shares[j], d->vks[j],
						     (const uint8_t(*)[32])b, 1),
				 0);
		assert_int_equal(proto_oprf_verify(proof, d->vks[j], (const uint8_t(*)[32])b,
						   (const uint8_t(*)[32])one, 1),
				 0);
		memcpy(z[i], one[0], 32);
	}
	assert_int_equal(proto_oprf_combine(comb, idx, (const uint8_t(*)[32])z, t), 0);
	assert_int_equal(proto_oprf_finalize(r, x, rho, comb), 0);
}

static void test_deal_and_check(void **state)
{
	static const size_t cases[][2] = {{1, 1}, {1, 3}, {2, 3}, {3, 5}, {5, 8}};
	struct dealt d;

	(void)state;
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		deal(&d, cases[c][0], cases[c][1]);
		assert_int_equal(proto_oprf_vks_check((const uint8_t(*)[32])d.vks, d.n, d.t, d.vk),
				 0);
		for (size_t j = 0; j < d.n; j++)
			assert_int_equal(proto_oprf_share_check(d.shares[j], d.vks[j]), 0);
		/* A share checked against another steward's key fails (with t = 1 every share
		 * is the key itself). */
		if (d.t > 1)
			assert_int_equal(proto_oprf_share_check(d.shares[0], d.vks[1]),
					 PROTO_E_OPRF_PROOF);
		/* Replacing one verification key breaks the polynomial (when n > t). */
		if (d.n > d.t && d.t > 1) {
			uint8_t saved[32];

			memcpy(saved, d.vks[d.n - 1], 32);
			memcpy(d.vks[d.n - 1], d.vks[0], 32);
			assert_int_equal(
				proto_oprf_vks_check((const uint8_t(*)[32])d.vks, d.n, d.t, d.vk),
				PROTO_E_OPRF_PROOF);
			memcpy(d.vks[d.n - 1], saved, 32);
		}
	}
	assert_int_equal(proto_oprf_deal(d.shares, d.vks, d.vk, 0, 3), -EINVAL);
	assert_int_equal(proto_oprf_deal(d.shares, d.vks, d.vk, 4, 3), -EINVAL);
}

static void test_every_subset_same_output(void **state)
{
	struct dealt d;
	uint8_t x[32], r0[32], r[32];
	uint8_t sets[][3] = {{1, 2, 3}, {1, 2, 4}, {2, 4, 5}, {5, 3, 1}, {4, 5, 2}};

	(void)state;
	deal(&d, 3, 5);
	proto_random(x, sizeof x);
	eval_via(r0, &d, sets[0], 3, x);
	for (size_t s = 1; s < sizeof sets / sizeof sets[0]; s++) {
		eval_via(r, &d, sets[s], 3, x);
		assert_memory_equal(r, r0, 32);
	}
	/* Blinding is fresh each time and does not change the output. */
	eval_via(r, &d, sets[0], 3, x);
	assert_memory_equal(r, r0, 32);
	/* Another input, another output. */
	x[0] ^= 1;
	eval_via(r, &d, sets[0], 3, x);
	assert_memory_not_equal(r, r0, 32);
}

static void test_matches_whole_key(void **state)
{
	struct dealt d;
	uint8_t x[32], r[32], want[32], idx[1] = {2};

	(void)state;
	/* With t = 1 every share is the key itself. */
	deal(&d, 1, 3);
	proto_random(x, sizeof x);
	eval_via(r, &d, idx, 1, x);
	assert_int_equal(proto_oprf_eval_key(want, d.shares[0], x), 0);
	assert_memory_equal(r, want, 32);
}

static void test_fewer_than_t_differs(void **state)
{
	struct dealt d;
	uint8_t x[32], r[32], r2[32], idx[3] = {1, 2, 3};

	(void)state;
	deal(&d, 3, 4);
	proto_random(x, sizeof x);
	eval_via(r, &d, idx, 3, x);
	eval_via(r2, &d, idx, 2, x);
	assert_memory_not_equal(r, r2, 32);
}

static void test_cheating_steward_caught(void **state)
{
	struct dealt d;
	uint8_t x[32], b[4][32], rho[4][32], z[4][32], zz[4][32], proof[64], bad[64];

	(void)state;
	deal(&d, 2, 3);
	for (int i = 0; i < 4; i++) {
		proto_random(x, sizeof x);
		assert_int_equal(proto_oprf_blind(b[i], rho[i], x), 0);
	}
	assert_int_equal(
		proto_oprf_evaluate(z, proof, d.shares[0], d.vks[0], (const uint8_t(*)[32])b, 4),
		0);
	assert_int_equal(proto_oprf_verify(proof, d.vks[0], (const uint8_t(*)[32])b,
					   (const uint8_t(*)[32])z, 4),
			 0);
	/* The same outputs under another steward's key. */
	assert_int_equal(proto_oprf_verify(proof, d.vks[1], (const uint8_t(*)[32])b,
					   (const uint8_t(*)[32])z, 4),
			 PROTO_E_OPRF_PROOF);
	/* One output of the batch computed with a wrong share (steward 2's). */
	assert_int_equal(
		proto_oprf_evaluate(zz, bad, d.shares[1], d.vks[1], (const uint8_t(*)[32])b, 4), 0);
	memcpy(z[2], zz[2], 32);
	assert_int_equal(proto_oprf_verify(proof, d.vks[0], (const uint8_t(*)[32])b,
					   (const uint8_t(*)[32])z, 4),
			 PROTO_E_OPRF_PROOF);
	memcpy(z[2], zz[2], 32);
	/* Every bit of the proof matters. */
	assert_int_equal(
		proto_oprf_evaluate(z, proof, d.shares[0], d.vks[0], (const uint8_t(*)[32])b, 4),
		0);
	for (int i = 0; i < 64 * 8; i++) {
		memcpy(bad, proof, 64);
		bad[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_int_not_equal(proto_oprf_verify(bad, d.vks[0], (const uint8_t(*)[32])b,
						       (const uint8_t(*)[32])z, 4),
				     0);
	}
	/* Outputs in another order are another statement. */
	memcpy(zz[0], z[0], 32);
	memcpy(z[0], z[1], 32);
	memcpy(z[1], zz[0], 32);
	assert_int_equal(proto_oprf_verify(proof, d.vks[0], (const uint8_t(*)[32])b,
					   (const uint8_t(*)[32])z, 4),
			 PROTO_E_OPRF_PROOF);
}

static void test_reshare_keeps_function(void **state)
{
	struct dealt d, nd;
	uint8_t old_set[2] = {3, 1}, pieces[2][NMAX][32], commits[2][NMAX][32], vkp[32];
	uint8_t x[32], r_old[32], r_new[32], newset[3] = {4, 1, 3};

	(void)state;
	deal(&d, 2, 3);
	proto_random(x, sizeof x);
	eval_via(r_old, &d, old_set, 2, x);

	memset(&nd, 0, sizeof nd);
	nd.t = 3;
	nd.n = 4;
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(proto_oprf_reshare(pieces[i], commits[i], d.shares[old_set[i] - 1],
						    old_set[i], old_set, 2, 3, 4),
				 0);
	/* Each new steward checks its pieces and sums them into its share and key. */
	for (uint8_t j = 1; j <= 4; j++) {
		uint8_t mine[2][32], vks[2][32];

		for (size_t i = 0; i < 2; i++) {
			assert_int_equal(proto_oprf_piece_check(pieces[i][j - 1], j,
								(const uint8_t(*)[32])commits[i], 3,
								vks[i]),
					 0);
			memcpy(mine[i], pieces[i][j - 1], 32);
		}
		assert_int_equal(proto_oprf_reshare_finish(nd.shares[j - 1], nd.vks[j - 1],
							   (const uint8_t(*)[32])mine,
							   (const uint8_t(*)[32])vks, 2),
				 0);
	}
	/* The new verification keys lie on a degree-2 polynomial through the same V. */
	assert_int_equal(proto_oprf_vks_check((const uint8_t(*)[32])nd.vks, 4, 3, d.vk), 0);
	/* A piece with one bit changed fails its check. */
	pieces[0][1][0] ^= 1;
	assert_int_equal(
		proto_oprf_piece_check(pieces[0][1], 2, (const uint8_t(*)[32])commits[0], 3, vkp),
		PROTO_E_OPRF_PROOF);
	pieces[0][1][0] ^= 1;
	/* Any three new stewards evaluate the same function as the old ones did. */
	eval_via(r_new, &nd, newset, 3, x);
	assert_memory_equal(r_new, r_old, 32);
	/* An old steward outside the set cannot reshare. */
	assert_int_equal(
		proto_oprf_reshare(pieces[0], commits[0], d.shares[1], 2, old_set, 2, 3, 4),
		PROTO_E_OPRF_INDEX);
}

static void test_bad_inputs(void **state)
{
	struct dealt d;
	uint8_t b[1][32] = {{0}}, z[1][32], proof[64], lambda[32], idx[3] = {1, 1, 2};
	uint8_t big[PROTO_OPRF_BATCH_MAX + 1][32];

	(void)state;
	deal(&d, 2, 3);
	/* The identity and a non-canonical encoding are not points a steward multiplies. */
	assert_int_equal(
		proto_oprf_evaluate(z, proof, d.shares[0], d.vks[0], (const uint8_t(*)[32])b, 1),
		PROTO_E_RING_POINT);
	memset(b[0], 0xff, 32);
	assert_int_equal(
		proto_oprf_evaluate(z, proof, d.shares[0], d.vks[0], (const uint8_t(*)[32])b, 1),
		PROTO_E_RING_POINT);
	assert_int_equal(proto_oprf_evaluate(z, proof, d.shares[0], d.vks[0],
					     (const uint8_t(*)[32])big, PROTO_OPRF_BATCH_MAX + 1),
			 PROTO_E_TOO_LARGE);
	assert_int_equal(proto_oprf_lagrange(lambda, idx, 3, 0), PROTO_E_OPRF_INDEX);
	idx[1] = 0;
	assert_int_equal(proto_oprf_lagrange(lambda, idx, 3, 0), PROTO_E_OPRF_INDEX);
	/* A non-canonical scalar in a proof is refused before any arithmetic. */
	memset(proof, 0xff, 64);
	memset(b[0], 0, 32);
	assert_int_equal(proto_oprf_blind(b[0], lambda, d.vk), 0);
	assert_int_equal(proto_oprf_verify(proof, d.vks[0], (const uint8_t(*)[32])b,
					   (const uint8_t(*)[32])b, 1),
			 PROTO_E_RING_SCALAR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deal_and_check),
		cmocka_unit_test(test_every_subset_same_output),
		cmocka_unit_test(test_matches_whole_key),
		cmocka_unit_test(test_fewer_than_t_differs),
		cmocka_unit_test(test_cheating_steward_caught),
		cmocka_unit_test(test_reshare_keeps_function),
		cmocka_unit_test(test_bad_inputs),
	};

	if (proto_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
