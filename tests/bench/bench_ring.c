/* SPDX-License-Identifier: MIT */
/*
 * bench_ring — linkable ring signature cost on this machine (proto/ring.h).
 *
 * For ring sizes 4, 16, 64 and 256: the median CPU time of proto_ring_sign and
 * proto_ring_verify (report-sized message, fresh OS randomness per signature). In the same
 * run, interleaved with them so every figure sees the same load, the machine's own limits:
 *   t_mult   crypto_scalarmult_ristretto255 (variable base, constant time, with the
 *            ristretto decode/encode around it), via proto_ring_raw_scalarmult
 *   t_base   crypto_scalarmult_ristretto255_base
 *   t_add    crypto_core_ristretto255_add
 *   t_dsm    ring.c's variable-time a·A + b·B, including its table set-up
 * bLSAG needs four scalar multiplications per ring member, so 4·n·t_mult is the "lower
 * bound" with libsodium's single multiplication; the ratio printed is time / (4·n·t_mult)
 * (below 1 because ring.c fuses them into two double multiplications). Also printed: what a
 * plain libsodium implementation would cost, n·(3·t_mult + t_base + 2·t_add).
 * Target for n = 64: sign <= 11 ms and verify <= 11 ms.
 *
 * Usage: bench_ring [runs for n = 64, default 21]. Build without sanitizers
 * (-DCMAKE_BUILD_TYPE=Release). Exit status 0 whatever the figures, 1 if an operation fails.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchclock.h"
#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/report.h"
#include "proto/ring.h"

#define RAW_BATCH 200
#define MAX_RUNS 1024

static const size_t sizes[] = {4, 16, 64, 256};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static uint8_t ring[PROTO_REPORT_RING_MAX][32];
static uint8_t sks[PROTO_REPORT_RING_MAX][32];
static uint8_t sig[PROTO_REPORT_SIG_MAX];
static uint8_t msg[600];
static uint8_t ind[32], tag[32];
static uint8_t sc[2][32], pt[2][32], out[32];

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

enum raw_op { RAW_MULT, RAW_BASE, RAW_ADD, RAW_DSM, RAW_OPS };

/* Seconds per operation over one batch of RAW_BATCH. */
static double raw_batch(enum raw_op op)
{
	double t0 = bench_thread_cpu_s();
	int err = 0;

	for (int i = 0; i < RAW_BATCH; i++) {
		switch (op) {
		case RAW_MULT:
			err |= proto_ring_raw_scalarmult(out, sc[i & 1], pt[i & 1]);
			break;
		case RAW_BASE:
			err |= proto_ring_raw_scalarmult_base(out, sc[i & 1]);
			break;
		case RAW_ADD:
			err |= proto_ring_raw_add(out, pt[0], pt[1]);
			break;
		default:
			err |= proto_ring_raw_double_mult_vartime(out, sc[0], pt[i & 1], sc[1],
								  pt[(i + 1) & 1]);
			break;
		}
	}
	if (err) {
		fprintf(stderr, "bench_ring: raw operation %d failed\n", (int)op);
		exit(1);
	}
	return (bench_thread_cpu_s() - t0) / RAW_BATCH;
}

int main(int argc, char **argv)
{
	static double raw[RAW_OPS][NSIZES * MAX_RUNS], ts[MAX_RUNS], tv[MAX_RUNS];
	double sign_ms[NSIZES], verify_ms[NSIZES], t_raw[RAW_OPS];
	size_t nraw = 0, runs64 = argc > 1 ? (size_t)atoi(argv[1]) : 21;
	int err;

	if (runs64 < 3)
		runs64 = 3;
	if (proto_crypto_init() != 0)
		return 1;
	for (size_t i = 0; i < PROTO_REPORT_RING_MAX; i++)
		proto_ring_keypair(ring[i], sks[i]);
	proto_ring_keypair(pt[0], sc[0]);
	proto_ring_keypair(pt[1], sc[1]);
	proto_random(msg, sizeof(msg));
	proto_random(ind, sizeof(ind));

	for (size_t k = 0; k < NSIZES; k++) {
		size_t n = sizes[k], signer = n / 3, len = proto_ring_sig_size(n);
		/* About the same total time per ring size: more runs for small rings. */
		size_t runs = runs64 * 64 / n, step;

		if (runs < 3)
			runs = 3;
		if (runs > MAX_RUNS)
			runs = MAX_RUNS;
		step = runs / 6 ? runs / 6 : 1; /* about six raw batches per ring size */
		err = proto_ring_tag(tag, sks[signer], ind);
		for (size_t r = 0; r < runs && !err; r++) {
			double t0 = bench_thread_cpu_s();

			err = proto_ring_sign(sig, len, msg, sizeof(msg), 1, ring, n, signer,
					      sks[signer], ind);
			ts[r] = bench_thread_cpu_s() - t0;
			if (err)
				break;
			t0 = bench_thread_cpu_s();
			err = proto_ring_verify(sig, len, msg, sizeof(msg), 1, ring, n, ind, tag);
			tv[r] = bench_thread_cpu_s() - t0;
			if (r % step == 0 && nraw < NSIZES * MAX_RUNS) {
				for (int op = 0; op < RAW_OPS; op++)
					raw[op][nraw] = raw_batch((enum raw_op)op);
				nraw++;
			}
		}
		if (err) {
			fprintf(stderr, "bench_ring: n = %zu: %s\n", n, proto_error_str(err));
			return 1;
		}
		sign_ms[k] = median(ts, runs) * 1e3;
		verify_ms[k] = median(tv, runs) * 1e3;
	}
	for (int op = 0; op < RAW_OPS; op++)
		t_raw[op] = median(raw[op], nraw);

	printf("machine (median of %zu batches of %d, CPU time):\n", nraw, RAW_BATCH);
	printf("  t_mult  crypto_scalarmult_ristretto255        %8.2f us\n", t_raw[RAW_MULT] * 1e6);
	printf("  t_base  crypto_scalarmult_ristretto255_base   %8.2f us\n", t_raw[RAW_BASE] * 1e6);
	printf("  t_add   crypto_core_ristretto255_add          %8.2f us\n", t_raw[RAW_ADD] * 1e6);
	printf("  t_dsm   ring.c a*A + b*B (variable time)      %8.2f us  (%.2f t_mult)\n",
	       t_raw[RAW_DSM] * 1e6, t_raw[RAW_DSM] / t_raw[RAW_MULT]);
	printf("\n    n  sig bytes   sign ms  verify ms  4n*t_mult ms  sign/bound  verify/bound  "
	       "libsodium-only ms\n");
	for (size_t k = 0; k < NSIZES; k++) {
		double n = (double)sizes[k], bound = 4 * n * t_raw[RAW_MULT] * 1e3;
		double plain =
			n * (3 * t_raw[RAW_MULT] + t_raw[RAW_BASE] + 2 * t_raw[RAW_ADD]) * 1e3;

		printf("  %3zu  %9zu  %8.2f  %9.2f  %12.2f  %10.3f  %12.3f  %17.2f\n", sizes[k],
		       proto_ring_sig_size(sizes[k]), sign_ms[k], verify_ms[k], bound,
		       sign_ms[k] / bound, verify_ms[k] / bound, plain);
	}
	printf("\nn = 64: sign %.2f ms (target <= 11: %s), verify %.2f ms (target <= 11: %s)\n",
	       sign_ms[2], sign_ms[2] <= 11 ? "met" : "MISSED", verify_ms[2],
	       verify_ms[2] <= 11 ? "met" : "MISSED");
	proto_wipe(sks, sizeof(sks));
	return 0;
}
