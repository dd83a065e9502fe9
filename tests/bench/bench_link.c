/* SPDX-License-Identifier: MIT */
/*
 * bench_link — Noise link cost on this machine.
 *
 *  1. Handshakes per second per core: complete Noise_XXpsk0 handshakes, initiator and
 *     responder in this one thread (fresh ephemeral keys from the CSPRNG, as the node does),
 *     divided by this thread's CPU time. Target >= 2000/s per core.
 *  2. Transport throughput: proto_noise_encrypt + proto_noise_decrypt of one message
 *     against the bare ChaCha20-Poly1305 seal + open of the same buffer size, measured in
 *     the same run and interleaved so both see the same machine. Target ratio >= 0.50.
 *
 * Usage: bench_link [seconds per measurement, default 1.0]. Build without sanitizers
 * (-DCMAKE_BUILD_TYPE=Release) for meaningful figures. Exit status 0 whatever the figures:
 * a benchmark reports, it does not judge the machine.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchclock.h"
#include "proto/crypto.h"
#include "proto/noise.h"

#define ROUNDS 3 /* interleaved repetitions; the best of each is kept */

static const uint8_t community[32] = {0xc0, 0x33};
static const uint8_t netkey[32] = {0x4e, 0x4b};

static int one_handshake(const uint8_t is[32], const uint8_t rs[32])
{
	uint8_t ie[32], re[32], msg[PROTO_NOISE_HANDSHAKE_MAX];
	struct proto_noise *i, *r;
	size_t len;
	int rc = -1;

	proto_random(ie, sizeof(ie));
	proto_random(re, sizeof(re));
	i = proto_noise_new(PROTO_NOISE_INITIATOR, community, netkey, is, ie);
	r = proto_noise_new(PROTO_NOISE_RESPONDER, community, netkey, rs, re);
	if (!i || !r)
		goto out;
	if (proto_noise_write_message(i, msg, sizeof(msg), &len) ||
	    proto_noise_read_message(r, msg, len) ||
	    proto_noise_write_message(r, msg, sizeof(msg), &len) ||
	    proto_noise_read_message(i, msg, len) ||
	    proto_noise_write_message(i, msg, sizeof(msg), &len) ||
	    proto_noise_read_message(r, msg, len))
		goto out;
	rc = proto_noise_status(i) == PROTO_NOISE_TRANSPORT &&
			     proto_noise_status(r) == PROTO_NOISE_TRANSPORT
		     ? 0
		     : -1;
out:
	proto_noise_free(i);
	proto_noise_free(r);
	return rc;
}

/* Handshakes per CPU second over about @secs of wall time. */
static double bench_handshakes(double secs, long *count)
{
	uint8_t is[32], rs[32];
	double t0 = bench_now_s(), c0 = bench_thread_cpu_s();
	long n = 0;

	proto_random(is, sizeof(is));
	proto_random(rs, sizeof(rs));
	do {
		for (int k = 0; k < 50; k++, n++)
			if (one_handshake(is, rs) != 0) {
				fprintf(stderr, "bench_link: handshake failed\n");
				exit(1);
			}
	} while (bench_now_s() - t0 < secs);
	*count = n;
	return (double)n / (bench_thread_cpu_s() - c0);
}

/* A transport session pair. */
static void make_pair(struct proto_noise **i, struct proto_noise **r)
{
	uint8_t is[32], rs[32], ie[32], re[32], msg[PROTO_NOISE_HANDSHAKE_MAX];
	size_t len;

	proto_random(is, 32);
	proto_random(rs, 32);
	proto_random(ie, 32);
	proto_random(re, 32);
	*i = proto_noise_new(PROTO_NOISE_INITIATOR, community, netkey, is, ie);
	*r = proto_noise_new(PROTO_NOISE_RESPONDER, community, netkey, rs, re);
	if (!*i || !*r || proto_noise_write_message(*i, msg, sizeof(msg), &len) ||
	    proto_noise_read_message(*r, msg, len) ||
	    proto_noise_write_message(*r, msg, sizeof(msg), &len) ||
	    proto_noise_read_message(*i, msg, len) ||
	    proto_noise_write_message(*i, msg, sizeof(msg), &len) ||
	    proto_noise_read_message(*r, msg, len)) {
		fprintf(stderr, "bench_link: handshake failed\n");
		exit(1);
	}
}

/* Bytes of payload per CPU second through proto_noise encrypt + decrypt. */
static double bench_noise(struct proto_noise *i, struct proto_noise *r, uint8_t *pt, uint8_t *ct,
			  uint8_t *out, size_t size, double secs)
{
	double t0 = bench_now_s(), c0 = bench_thread_cpu_s();
	size_t len, olen;
	long n = 0;

	do {
		for (int k = 0; k < 16; k++, n++) {
			if (proto_noise_encrypt(i, pt, size, ct, size + 16, &len) ||
			    proto_noise_decrypt(r, ct, len, out, size, &olen) || olen != size) {
				fprintf(stderr, "bench_link: transport failed\n");
				exit(1);
			}
		}
	} while (bench_now_s() - t0 < secs);
	return (double)n * (double)size / (bench_thread_cpu_s() - c0);
}

/* The same work with the bare AEAD: the machine's limit for this buffer size. */
static double bench_raw(const uint8_t key[32], uint8_t *pt, uint8_t *ct, uint8_t *out, size_t size,
			double secs)
{
	double t0 = bench_now_s(), c0 = bench_thread_cpu_s();
	uint64_t nonce = 0;
	long n = 0;

	do {
		for (int k = 0; k < 16; k++, n++, nonce++) {
			if (proto_noise_bench_raw_seal(key, nonce, pt, size, ct) ||
			    proto_noise_bench_raw_open(key, nonce, ct, size + 16, out)) {
				fprintf(stderr, "bench_link: raw AEAD failed\n");
				exit(1);
			}
		}
	} while (bench_now_s() - t0 < secs);
	return (double)n * (double)size / (bench_thread_cpu_s() - c0);
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = {16384, PROTO_NOISE_MAX_PAYLOAD};
	double secs = argc > 1 ? atof(argv[1]) : 1.0;
	uint8_t key[32];
	double best_hs = 0;
	long count = 0;

	if (secs <= 0)
		secs = 1.0;
	if (proto_crypto_init() != 0) {
		fprintf(stderr, "bench_link: libsodium init failed\n");
		return 1;
	}
	printf("bench_link: %s, %.1f s per measurement, best of %d\n", PROTO_NOISE_PROTOCOL, secs,
	       ROUNDS);

	for (int round = 0; round < ROUNDS; round++) {
		double hs = bench_handshakes(secs, &count);

		if (hs > best_hs)
			best_hs = hs;
	}
	printf("handshakes: %.0f/s per core (full initiator+responder pairs, %ld in the last "
	       "round; target >= 2000) %s\n",
	       best_hs, count, best_hs >= 2000 ? "ok" : "BELOW TARGET");

	proto_random(key, sizeof(key));
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t size = sizes[s];
		uint8_t *pt = malloc(size), *ct = malloc(size + 16), *out = malloc(size);
		struct proto_noise *i, *r;
		double best_noise = 0, best_raw = 0, ratio;

		if (!pt || !ct || !out) {
			fprintf(stderr, "bench_link: out of memory\n");
			return 1;
		}
		proto_random(pt, size);
		make_pair(&i, &r);
		for (int round = 0; round < ROUNDS; round++) {
			double a = bench_raw(key, pt, ct, out, size, secs / 2);
			double b = bench_noise(i, r, pt, ct, out, size, secs / 2);

			if (a > best_raw)
				best_raw = a;
			if (b > best_noise)
				best_noise = b;
		}
		ratio = best_noise / best_raw;
		printf("transport %6zu B: chatham %.0f MB/s, raw ChaCha20-Poly1305 %.0f MB/s "
		       "(encrypt+decrypt, payload bytes per CPU second), ratio %.2f (target >= "
		       "0.50) %s\n",
		       size, best_noise / 1e6, best_raw / 1e6, ratio,
		       ratio >= 0.5 ? "ok" : "BELOW TARGET");
		proto_noise_free(i);
		proto_noise_free(r);
		free(pt);
		free(ct);
		free(out);
	}
	return 0;
}
