/* SPDX-License-Identifier: MIT */
/*
 * bench_sealed — the cost of sealed sightings (docs/SEALED.md), on one core.
 *
 *   bench_sealed [VALUES] [--ring N] [--stewards T/N] [--k K]
 *
 * Every time is this process's CPU time (one thread), so figures hold on a loaded machine.
 * Prints, with the raw ristretto255 scalar multiplication rate measured in the same run:
 *   - steward: OPRF evaluations per second per core (batches of 1,000, DLEQ proof included)
 *     and the ratio to the raw rate (one evaluation needs at least one multiplication);
 *   - member: sealing VALUES values (default 100,000) end to end except the network: blind,
 *     T stewards evaluate each batch of 1,000, the member verifies every proof, combines,
 *     unblinds and makes the submission; then the ring signature over a ring of N members
 *     (default 50), measured on a sample and projected to VALUES;
 *   - opening: CPU per group of K shares (default 3), and per group with one forged share.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchclock.h"
#include "proto/crypto.h"
#include "proto/indicator.h"
#include "proto/oprf.h"
#include "proto/ring.h"
#include "proto/sealed.h"

#define BATCH 1000

/* CPU time of this process: the figures stay meaningful on a machine shared with others. */
static void value_of(struct proto_sealed_value *v, size_t i)
{
	char name[64];
	int n = snprintf(name, sizeof name, "b%zu.bench.example", i);

	memset(v, 0, sizeof *v);
	if (proto_indicator_parse(&v->ind, PROTO_IND_DOMAIN, name, (size_t)n, NULL) != 0)
		abort();
	v->confidence = 70;
}

int main(int argc, char **argv)
{
	size_t values = 100000, ring_n = 50, t = 2, n_st = 3;
	unsigned k = 3;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--ring") && i + 1 < argc)
			ring_n = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--stewards") && i + 1 < argc) {
			if (sscanf(argv[++i], "%zu/%zu", &t, &n_st) != 2)
				goto usage;
		} else if (!strcmp(argv[i], "--k") && i + 1 < argc)
			k = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (argv[i][0] != '-')
			values = strtoul(argv[i], NULL, 10);
		else
			goto usage;
	}
	if (values < BATCH || ring_n < 2 || ring_n > 256 || t < 1 || t > n_st ||
	    n_st > PROTO_OPRF_STEWARDS_MAX || k < PROTO_SEALED_K_MIN || k > PROTO_SEALED_K_MAX)
		goto usage;
	values -= values % BATCH;
	if (proto_crypto_init() != 0)
		return 1;

	uint8_t shares[PROTO_OPRF_STEWARDS_MAX][32], vks[PROTO_OPRF_STEWARDS_MAX][32], vk[32];
	uint8_t(*pk)[32] = calloc(ring_n, 32), (*sk)[32] = calloc(ring_n, 32);
	uint16_t *idx = calloc(ring_n, sizeof *idx);
	uint8_t community[32];

	memset(community, 0xB5, sizeof community);
	for (size_t i = 0; i < ring_n; i++) {
		proto_ring_keypair(pk[i], sk[i]);
		idx[i] = (uint16_t)i;
	}
	if (proto_oprf_deal(shares, vks, vk, t, n_st) != 0)
		return 1;

	/* Raw scalar multiplications: the machine's limit for this arithmetic. */
	uint8_t(*bin)[32] = calloc(BATCH, 32), (*rho)[32] = calloc(BATCH, 32);
	uint8_t(*z)[PROTO_OPRF_STEWARDS_MAX][32] = calloc(BATCH, sizeof *z);
	uint8_t(*bout)[32] = calloc(BATCH, 32), (*x)[32] = calloc(BATCH, 32), proof[64];
	double t0 = bench_cpu_s();
	size_t raw = 0;

	for (size_t i = 0; i < BATCH; i++) {
		proto_random(x[i], 32);
		proto_oprf_blind(bin[i], rho[i], x[i]);
	}
	while (bench_cpu_s() - t0 < 1.0) {
		for (int i = 0; i < 100; i++)
			proto_ring_raw_scalarmult(bout[i], shares[0], bin[i]);
		raw += 100;
	}
	double raw_rate = (double)raw / (bench_cpu_s() - t0);

	/* Steward: batches of 1,000 with one proof each. */
	t0 = bench_cpu_s();
	size_t evals = 0;

	while (bench_cpu_s() - t0 < 2.0) {
		if (proto_oprf_evaluate(bout, proof, shares[0], vks[0], (const uint8_t(*)[32])bin,
					BATCH) != 0)
			return 1;
		evals += BATCH;
	}
	double steward_rate = (double)evals / (bench_cpu_s() - t0);

	/* Member: the whole OPRF round trip and the submission, for every value. */
	struct proto_sealed *sub = malloc(sizeof *sub);
	uint8_t st_idx[PROTO_OPRF_STEWARDS_MAX];
	double t_oprf = 0, t_make = 0;

	for (size_t i = 0; i < t; i++)
		st_idx[i] = (uint8_t)(i + 1);
	for (size_t base = 0; base < values; base += BATCH) {
		double a = bench_cpu_s();

		for (size_t i = 0; i < BATCH; i++) {
			struct proto_sealed_value v;

			value_of(&v, base + i);
			proto_indicator_id(&v.ind, x[i]);
			proto_oprf_blind(bin[i], rho[i], x[i]);
		}
		for (size_t s = 0; s < t; s++) {
			if (proto_oprf_evaluate(bout, proof, shares[s], vks[s],
						(const uint8_t(*)[32])bin, BATCH) != 0 ||
			    proto_oprf_verify(proof, vks[s], (const uint8_t(*)[32])bin,
					      (const uint8_t(*)[32])bout, BATCH) != 0)
				return 1;
			for (size_t i = 0; i < BATCH; i++)
				memcpy(z[i][s], bout[i], 32);
		}
		double b = bench_cpu_s();

		for (size_t i = 0; i < BATCH; i++) {
			struct proto_sealed_value v;
			uint8_t comb[32], r[32];

			if (proto_oprf_combine(comb, st_idx, (const uint8_t(*)[32])z[i], t) != 0 ||
			    proto_oprf_finalize(r, x[i], rho[i], comb) != 0)
				return 1;
			value_of(&v, base + i);
			if (proto_sealed_make(sub, &v, r, community, 1, (uint8_t)k, 20000, idx,
					      ring_n, sk[0]) != 0)
				return 1;
		}
		t_oprf += b - a;
		t_make += bench_cpu_s() - b;
	}

	/* The ring signature, on a sample. */
	size_t sample = 100;
	uint8_t *wire = NULL;
	size_t wire_len = 0;
	uint8_t r1[32] = {3};

	t0 = bench_cpu_s();
	for (size_t i = 0; i < sample; i++) {
		struct proto_sealed_value v;

		value_of(&v, i);
		free(wire);
		if (proto_sealed_seal(&wire, &wire_len, &v, r1, community, 1, (uint8_t)k, 20000,
				      (const uint8_t(*)[32])pk, idx, ring_n, i % ring_n,
				      sk[i % ring_n]) != 0)
			return 1;
	}
	double sign_s = (bench_cpu_s() - t0) / (double)sample;

	free(wire);

	/* Opening: groups of k honest shares, and of k honest plus one forged share. */
	struct proto_sealed *g = calloc(PROTO_SEALED_K_MAX + 1, sizeof *g);
	const struct proto_sealed *gp[PROTO_SEALED_K_MAX + 1];
	struct proto_sealed_opened o;
	size_t groups = 2000;
	double t_open = 0, t_open_forged = 0;

	for (size_t n = 0; n < groups; n++) {
		struct proto_sealed_value v;
		uint8_t r[32];

		value_of(&v, n);
		proto_random(r, 32);
		for (unsigned m = 0; m <= k; m++) {
			if (proto_sealed_make(&g[m], &v, r, community, 1, (uint8_t)k, 20000, idx,
					      ring_n, sk[m % ring_n]) != 0)
				return 1;
			gp[m] = &g[m];
		}
		g[0].y[0] ^= 1; /* the forged share comes first, as bad luck would have it */
		g[0].tag[0] ^= 1;
		t0 = bench_cpu_s();
		if (proto_sealed_open(&o, gp + 1, k) != 0)
			return 1;
		t_open += bench_cpu_s() - t0;
		t0 = bench_cpu_s();
		if (proto_sealed_open(&o, gp, k + 1) != 0 || o.count != k)
			return 1;
		t_open_forged += bench_cpu_s() - t0;
	}

	printf("raw ristretto255 scalarmult      %.0f /s\n", raw_rate);
	printf("steward OPRF evaluations         %.0f /s per core (batch %d, DLEQ included); "
	       "%.2f of the raw rate\n",
	       steward_rate, BATCH, steward_rate / raw_rate);
	printf("member, %zu values, %zu-of-%zu stewards:\n", values, t, n_st);
	printf("  OPRF round trips (blind, %zu evaluations, verify)  %.1f s  %.0f values/s\n", t,
	       t_oprf, (double)values / t_oprf);
	printf("  combine, unblind, make                          %.1f s  %.0f values/s\n", t_make,
	       (double)values / t_make);
	printf("  ring signature (ring of %zu)                    %.2f ms each; %.0f s projected "
	       "for %zu values\n",
	       ring_n, sign_s * 1e3, sign_s * (double)values, values);
	printf("  wire bytes per submission                       %zu\n", wire_len);
	printf("opening, k = %u: %.1f us per group; with one forged share first: %.1f us\n", k,
	       t_open / (double)groups * 1e6, t_open_forged / (double)groups * 1e6);
	for (size_t i = 0; i < ring_n; i++)
		proto_wipe(sk[i], 32);
	proto_wipe(shares, sizeof shares);
	free(pk);
	free(sk);
	free(idx);
	free(bin);
	free(rho);
	free(z);
	free(bout);
	free(x);
	free(sub);
	free(g);
	return 0;
usage:
	fprintf(stderr, "usage: bench_sealed [VALUES>=1000] [--ring N] [--stewards T/N] [--k K]\n");
	return 2;
}
