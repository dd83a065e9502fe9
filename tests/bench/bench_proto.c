/* SPDX-License-Identifier: MIT */
/*
 * bench_proto — signed report codec cost on this machine.
 *
 * Rates per core (operations divided by this thread's CPU time) for one typical report
 * (attributed GREEN domain indicator with valid_until, two tags and a short description;
 * its size is printed):
 *   encode         proto_report_encode_body (validation, canonical indicator check, malloc)
 *   decode         proto_report_decode (strict canonical decode, no signature check)
 *   sign           proto_report_sign (encode + Ed25519)
 *   verify         proto_report_verify_attributed on an already decoded report
 *   decode+verify  what admission does for every inbound report
 *   raw verify     crypto_sign_verify_detached (via proto_crypto_raw_ed25519_verify) over a
 *                  message of the same length as the signed message, i.e. the machine's
 *                  limit for this work
 * and the ratio decode+verify / raw verify. Targets: ratio >= 0.90, decode >= 500 k/s.
 * Measurements are interleaved over ROUNDS rounds and the best of each kept, so every figure
 * sees the same machine load.
 *
 * Usage: bench_proto [seconds per measurement, default 0.5]. Build without sanitizers
 * (-DCMAKE_BUILD_TYPE=Release). Exit status 0 whatever the figures.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchclock.h"
#include "proto/crypto.h"
#include "proto/crypto_test.h"
#include "proto/error.h"
#include "proto/report.h"

#define ROUNDS 5

static struct proto_report rep;
static uint8_t sk[64];
static uint8_t *signed_buf;
static size_t signed_len;
static struct proto_report decoded;
static uint8_t raw_msg[PROTO_REPORT_MAX_BYTES + 16];
static size_t raw_len;
static uint8_t raw_sig[64];
static volatile int sink;

static int op_encode(void)
{
	uint8_t *out;
	size_t len;
	int err = proto_report_encode_body(&rep, &out, &len);

	free(out);
	return err;
}

static int op_decode(void)
{
	return proto_report_decode(&decoded, signed_buf, signed_len);
}

static int op_sign(void)
{
	uint8_t *out;
	size_t len;
	int err = proto_report_sign(&rep, sk, &out, &len);

	free(out);
	return err;
}

static int op_verify(void)
{
	return proto_report_verify_attributed(&decoded, decoded.signer);
}

static int op_decode_verify(void)
{
	int err = proto_report_decode(&decoded, signed_buf, signed_len);

	return err ? err : proto_report_verify_attributed(&decoded, decoded.signer);
}

static int op_raw_verify(void)
{
	return proto_crypto_raw_ed25519_verify(raw_sig, raw_msg, raw_len, rep.signer);
}

struct measure {
	const char *name;
	int (*op)(void);
	double best; /* operations per CPU second */
};

/* Run @m->op for about @secs of CPU time; returns -1 if an operation failed. */
static int run(struct measure *m, double secs)
{
	unsigned long n = 0;
	double t0 = bench_thread_cpu_s(), t;

	do {
		for (int i = 0; i < 64; i++) {
			int err = m->op();

			if (err) {
				fprintf(stderr, "%s failed: %s\n", m->name, proto_error_str(err));
				return -1;
			}
			sink += err;
		}
		n += 64;
		t = bench_thread_cpu_s() - t0;
	} while (t < secs);
	if ((double)n / t > m->best)
		m->best = (double)n / t;
	return 0;
}

static void setup(void)
{
	static uint8_t seed[32] = {0x5e, 0xed};
	uint8_t pk[32];

	proto_crypto_raw_ed25519_seed_keypair(pk, sk, seed);
	memset(rep.community, 0xc0, 32);
	rep.kind = PROTO_KIND_INDICATOR;
	rep.ind_type = PROTO_IND_DOMAIN;
	rep.ind_value = (struct proto_str){"login-update.example-bank.test", 30};
	rep.tlp = PROTO_TLP_GREEN;
	rep.confidence = 85;
	rep.created_ms = 1700000000000ull;
	rep.valid_until_ms = 1700000000000ull + 30ull * 86400000;
	rep.n_tags = 2;
	rep.tags[0] = (struct proto_str){"phishing", 8};
	rep.tags[1] = (struct proto_str){"credential-harvest", 18};
	rep.description = (struct proto_str){"Lure mails impersonating the bank's login page, "
					     "sent from freshly registered domains.",
					     86};
	rep.prov = PROTO_PROV_ATTRIBUTED;
	memcpy(rep.signer, pk, 32);
	rep.epoch = 12;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 0.5;
	struct measure m[] = {
		{"encode", op_encode, 0},
		{"decode", op_decode, 0},
		{"sign", op_sign, 0},
		{"verify", op_verify, 0},
		{"decode+verify", op_decode_verify, 0},
		{"raw verify", op_raw_verify, 0},
	};
	const size_t nm = sizeof(m) / sizeof(m[0]);
	int err;

	if (secs <= 0)
		secs = 0.5;
	if (proto_crypto_init() != 0)
		return 1;
	setup();
	err = proto_report_sign(&rep, sk, &signed_buf, &signed_len);
	if (!err)
		err = proto_report_decode(&decoded, signed_buf, signed_len);
	if (err) {
		fprintf(stderr, "bench_proto: cannot build the report: %s\n", proto_error_str(err));
		return 1;
	}
	/* The raw baseline signs and verifies a message exactly as long as the report's. */
	raw_len = 16 + decoded.body_len;
	for (size_t i = 0; i < raw_len; i++)
		raw_msg[i] = (uint8_t)(i * 131 + 7);
	proto_crypto_raw_ed25519_sign(raw_sig, raw_msg, raw_len, sk);

	for (int round = 0; round < ROUNDS; round++)
		for (size_t i = 0; i < nm; i++)
			if (run(&m[i], secs) != 0)
				return 1;

	printf("report: %zu bytes signed, body %zu bytes, signed message %zu bytes\n", signed_len,
	       decoded.body_len, raw_len);
	printf("rates per core (best of %d rounds of %.2f s CPU time):\n", ROUNDS, secs);
	for (size_t i = 0; i < nm; i++)
		printf("  %-14s %12.0f /s  (%8.2f us)\n", m[i].name, m[i].best, 1e6 / m[i].best);
	printf("decode+verify / raw verify = %.3f (target >= 0.90)\n", m[4].best / m[5].best);
	printf("decode = %.0f k/s (target >= 500 k/s)\n", m[1].best / 1e3);
	free(signed_buf);
	return 0;
}
