/* SPDX-License-Identifier: MIT */
/*
 * sim_sealed — sealed sightings over a community (docs/SEALED.md), in one process.
 *
 *   sim_sealed [--members M] [--sightings S] [--universe U] [--zipf X100] [--k K]
 *              [--stewards T/N] [--seed SEED] [--check]
 *
 * M members (default 50) each draw S sightings (default 10,000) from one Zipf distribution
 * over U values (default 1,000,000, exponent 1.00); a member seals each distinct value it
 * drew once. Every member's OPRF output goes through proto_oprf (the steward key is dealt
 * T-of-N, default 2/3); a sample of requests is evaluated through the full threshold path
 * (blind, T stewards evaluate with batched DLEQ proofs, verify, combine, unblind) and must
 * equal the direct evaluation used for the rest, which keeps the run to minutes. Every
 * submission is made by proto_sealed_make() with the member's real ring tag; the ring
 * signature itself is not computed here (tests/unit/test_proto_sealed.c covers it) and its
 * size is counted in the bytes on the wire.
 *
 * A node then groups all submissions by tag and opens every group with K or more members.
 * Printed: values opened against the ground truth (exactly the values drawn by >= K
 * members), false openings, bytes on the wire per sealed sighting, steward CPU per OPRF
 * evaluation (batch of 1,000) and its ratio to the raw scalar multiplication rate measured
 * in the same run, member CPU per sealed value, and opening CPU per group.
 *
 * --check: 12 members x 400 sightings over 5,000 values, K = 3; exits 1 unless the opened
 * set equals the ground truth exactly and nothing else opens.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/indicator.h"
#include "proto/oprf.h"
#include "proto/ring.h"
#include "proto/sealed.h"

struct sub {
	struct proto_sealed s;
	uint32_t value; /* ground truth, for the check only */
};

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Zipf sampling by inverse CDF over a precomputed table (binary search). */
static double *zipf_cdf(size_t u, double x)
{
	double *cdf = malloc(u * sizeof *cdf), sum = 0;

	for (size_t i = 0; i < u; i++) {
		sum += 1.0 / pow((double)(i + 1), x);
		cdf[i] = sum;
	}
	for (size_t i = 0; i < u; i++)
		cdf[i] /= sum;
	return cdf;
}

static uint32_t zipf_draw(const double *cdf, size_t u)
{
	double p = (double)(rnd() >> 11) / 9007199254740992.0;
	size_t lo = 0, hi = u - 1;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (cdf[mid] < p)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (uint32_t)lo;
}

static void value_name(struct proto_sealed_value *v, uint32_t value)
{
	char name[64];
	int n = snprintf(name, sizeof name, "v%u.sealed.example", value);

	memset(v, 0, sizeof *v);
	if (proto_indicator_parse(&v->ind, PROTO_IND_DOMAIN, name, (size_t)n, NULL) != 0)
		abort();
	v->confidence = 50;
}

static int cmp_sub(const void *a, const void *b)
{
	const struct sub *x = a, *y = b;

	return memcmp(x->s.group, y->s.group, 32);
}

/* One full threshold evaluation through the stewards @first..@first+@t-1 (0-based). */
static bool threshold_eval(uint8_t r[32], const uint8_t x[32], const uint8_t (*shares)[32],
			   const uint8_t (*vks)[32], size_t first, size_t t)
{
	uint8_t b[1][32], rho[32], z[PROTO_OPRF_STEWARDS_MAX][32], one[1][32], proof[64], comb[32];
	uint8_t idx[PROTO_OPRF_STEWARDS_MAX];

	if (proto_oprf_blind(b[0], rho, x) != 0)
		return false;
	for (size_t i = 0; i < t; i++) {
		size_t j = first + i;

		idx[i] = (uint8_t)(j + 1);
		if (proto_oprf_evaluate(one, proof, shares[j], vks[j], (const uint8_t(*)[32])b,
					1) ||
		    proto_oprf_verify(proof, vks[j], (const uint8_t(*)[32])b,
				      (const uint8_t(*)[32])one, 1))
			return false;
		memcpy(z[i], one[0], 32);
	}
	return proto_oprf_combine(comb, idx, (const uint8_t(*)[32])z, t) == 0 &&
	       proto_oprf_finalize(r, x, rho, comb) == 0;
}

int main(int argc, char **argv)
{
	size_t members = 50, sightings = 10000, universe = 1000000, t = 2, n_st = 3;
	unsigned zipf100 = 100, k = 3;
	uint64_t seed = 1;
	bool check = false;

	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(o, "--check")) {
			check = true;
			members = 12, sightings = 400, universe = 5000;
			continue;
		}
		if (!v)
			goto usage;
		i++;
		if (!strcmp(o, "--members"))
			members = strtoul(v, NULL, 10);
		else if (!strcmp(o, "--sightings"))
			sightings = strtoul(v, NULL, 10);
		else if (!strcmp(o, "--universe"))
			universe = strtoul(v, NULL, 10);
		else if (!strcmp(o, "--zipf"))
			zipf100 = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(o, "--k"))
			k = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(o, "--seed"))
			seed = strtoull(v, NULL, 10);
		else if (!strcmp(o, "--stewards")) {
			if (sscanf(v, "%zu/%zu", &t, &n_st) != 2)
				goto usage;
		} else
			goto usage;
	}
	if (members < 1 || members > PROTO_REPORT_RING_MAX || sightings < 1 || universe < 1 ||
	    k < PROTO_SEALED_K_MIN || k > PROTO_SEALED_K_MAX || t < 1 || t > n_st ||
	    n_st > PROTO_OPRF_STEWARDS_MAX)
		goto usage;
	if (proto_crypto_init() != 0)
		return 1;
	rng_state = seed * 0x9E3779B97F4A7C15ull + 1;
	double wall0 = now_s();

	/* Keys: ring keys per member; a steward key dealt t-of-n for the threshold path. */
	uint8_t(*pk)[32] = calloc(members, 32), (*sk)[32] = calloc(members, 32);
	uint16_t *ring_idx = calloc(members, sizeof *ring_idx);
	uint8_t shares[PROTO_OPRF_STEWARDS_MAX][32], vks[PROTO_OPRF_STEWARDS_MAX][32], vk[32];
	uint8_t whole[1][32], wvk[1][32], wv[32], community[32];

	for (size_t i = 0; i < members; i++) {
		proto_ring_keypair(pk[i], sk[i]);
		ring_idx[i] = (uint16_t)i;
	}
	memset(community, 0xC5, sizeof community);
	if (proto_oprf_deal(shares, vks, vk, t, n_st) != 0)
		return 1;
	/* The bulk evaluates a 1-of-1 dealing directly (a t-of-n dealing computes the same
	 * function: tests/unit/test_proto_oprf.c), which keeps 500,000 sightings to minutes. */
	if (proto_oprf_deal(whole, wvk, wv, 1, 1) != 0)
		return 1;

	double *cdf = zipf_cdf(universe, zipf100 / 100.0);
	uint8_t *seen = calloc(universe, 1);
	uint32_t *count = calloc(universe, sizeof *count);
	struct sub *subs = calloc(members * sightings, sizeof *subs);
	size_t nsubs = 0, sampled = 0;
	double c0 = cpu_s();

	for (size_t m = 0; m < members; m++) {
		memset(seen, 0, universe);
		for (size_t s = 0; s < sightings; s++) {
			uint32_t val = zipf_draw(cdf, universe);
			struct proto_sealed_value v;
			uint8_t x[32], r[32];

			if (seen[val])
				continue;
			seen[val] = 1;
			count[val]++;
			value_name(&v, val);
			proto_indicator_id(&v.ind, x);
			if (proto_oprf_eval_key(r, whole[0], x) != 0)
				return 1;
			if (proto_sealed_make(&subs[nsubs].s, &v, r, community, 1, (uint8_t)k,
					      20000 + (uint32_t)(rnd() % 30), ring_idx, members,
					      sk[m]) != 0)
				return 1;
			subs[nsubs++].value = val;
		}
	}
	double member_cpu = cpu_s() - c0;

	/* The threshold path on a sample: two disjoint-as-possible steward sets agree. */
	for (size_t i = 0; i < 50; i++) {
		uint8_t x[32], r1[32], r2[32];

		proto_random(x, sizeof x);
		if (!threshold_eval(r1, x, (const uint8_t(*)[32])shares, (const uint8_t(*)[32])vks,
				    0, t) ||
		    !threshold_eval(r2, x, (const uint8_t(*)[32])shares, (const uint8_t(*)[32])vks,
				    n_st - t, t) ||
		    memcmp(r1, r2, 32) != 0)
			return 1;
		sampled++;
	}

	/* Steward CPU per evaluation, batches of 1,000, against raw scalar multiplications. */
	enum { BATCH = 1000 };
	uint8_t(*bin)[32] = calloc(BATCH, 32), (*bout)[32] = calloc(BATCH, 32), proof[64];
	uint8_t rho[32];

	for (size_t i = 0; i < BATCH; i++) {
		uint8_t x[32];

		proto_random(x, sizeof x);
		proto_oprf_blind(bin[i], rho, x);
	}
	c0 = cpu_s();
	int reps = check ? 1 : 5;

	for (int i = 0; i < reps; i++)
		if (proto_oprf_evaluate(bout, proof, shares[0], vks[0], (const uint8_t(*)[32])bin,
					BATCH) != 0)
			return 1;
	double steward_us = (cpu_s() - c0) / (reps * BATCH) * 1e6;

	c0 = cpu_s();
	for (int i = 0; i < reps; i++)
		if (proto_oprf_verify(proof, vks[0], (const uint8_t(*)[32])bin,
				      (const uint8_t(*)[32])bout, BATCH) != 0)
			return 1;
	double verify_us = (cpu_s() - c0) / (reps * BATCH) * 1e6;
	c0 = cpu_s();
	for (int i = 0; i < reps * BATCH; i++)
		proto_ring_raw_scalarmult(bout[i % BATCH], shares[0], bin[i % BATCH]);
	double raw_us = (cpu_s() - c0) / (reps * BATCH) * 1e6;

	/* Opening: group by tag; every group with >= k distinct members must open. */
	qsort(subs, nsubs, sizeof *subs, cmp_sub);
	size_t opened = 0, false_open = 0, missed = 0, groups = 0, open_groups = 0;
	const struct proto_sealed **grp = calloc(members, sizeof *grp);
	double open_cpu = 0;

	for (size_t i = 0; i < nsubs;) {
		size_t j = i;
		struct proto_sealed_opened o;

		while (j < nsubs && memcmp(subs[j].s.group, subs[i].s.group, 32) == 0)
			j++;
		groups++;
		for (size_t g = i; g < j; g++) {
			grp[g - i] = &subs[g].s;
			if (subs[g].value != subs[i].value)
				false_open++; /* a tag collision between values: never expected */
		}
		if (j - i >= k) {
			double t0 = cpu_s();
			int rc = proto_sealed_open(&o, grp, j - i);

			open_cpu += cpu_s() - t0;
			open_groups++;
			if (rc == 0) {
				struct proto_sealed_value want;

				value_name(&want, subs[i].value);
				if (strcmp(o.value.ind.value, want.ind.value) != 0 ||
				    o.count != count[subs[i].value])
					false_open++;
				else
					opened++;
			} else {
				missed++;
			}
		} else {
			/* Fewer than k: nothing may open, whatever the node tries. */
			struct proto_sealed_opened o2;

			if (proto_sealed_open(&o2, grp, j - i) == 0)
				false_open++;
		}
		i = j;
	}
	size_t truth = 0;

	for (size_t v = 0; v < universe; v++)
		truth += count[v] >= k;

	/* Bytes on the wire: one real signed submission with this ring size. */
	uint8_t *wire = NULL, r[32] = {1};
	size_t wire_len = 0;
	struct proto_sealed_value v;

	value_name(&v, 123456);
	if (proto_sealed_seal(&wire, &wire_len, &v, r, community, 1, (uint8_t)k, 20000,
			      (const uint8_t(*)[32])pk, ring_idx, members, 0, sk[0]) != 0)
		return 1;
	free(wire);

	printf("members %zu, sightings/member %zu, universe %zu, zipf %.2f, k %u, stewards %zu/%zu, "
	       "seed %llu\n",
	       members, sightings, universe, zipf100 / 100.0, k, t, n_st, (unsigned long long)seed);
	printf("sealed submissions      %zu (distinct values per member, mean %.0f)\n", nsubs,
	       (double)nsubs / (double)members);
	printf("groups                  %zu, with >= k members %zu\n", groups, open_groups);
	printf("ground truth (>= k)     %zu\n", truth);
	printf("opened correctly        %zu\n", opened);
	printf("missed                  %zu\n", missed);
	printf("false openings          %zu\n", false_open);
	printf("threshold path sample   %zu evaluations, two steward sets agreeing on each\n",
	       sampled);
	printf("bytes per sealed sighting %zu (ring of %zu: %zu of them the ring signature)\n",
	       wire_len, members, proto_ring_sig_size(members));
	printf("steward CPU per OPRF eval %.1f us (batch %d, with DLEQ proof); raw scalarmult "
	       "%.1f us; ratio %.2f of the raw rate\n",
	       steward_us, BATCH, raw_us, raw_us / steward_us);
	printf("member proof check       %.1f us per element\n", verify_us);
	printf("member CPU per sealed value (OPRF output given, make) %.1f us\n",
	       member_cpu / (double)nsubs * 1e6);
	printf("opening CPU per group    %.1f us\n",
	       open_groups ? open_cpu / (double)open_groups * 1e6 : 0.0);
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	printf("simulator                %.1f s wall, peak RSS %ld MiB\n", now_s() - wall0,
	       ru.ru_maxrss / 1024);
	bool ok = opened == truth && missed == 0 && false_open == 0;

	if (check)
		printf("%s\n", ok ? "check: ok" : "check: FAILED");
	for (size_t i = 0; i < members; i++)
		proto_wipe(sk[i], 32);
	free(pk);
	free(sk);
	free(ring_idx);
	free(cdf);
	free(seen);
	free(count);
	free(subs);
	free(grp);
	free(bin);
	free(bout);
	return check && !ok ? 1 : 0;
usage:
	fprintf(stderr, "usage: sim_sealed [--members M] [--sightings S] [--universe U] "
			"[--zipf X100] [--k K] [--stewards T/N] [--seed SEED] [--check]\n");
	return 2;
}
