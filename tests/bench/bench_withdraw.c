/* SPDX-License-Identifier: MIT */
/*
 * bench_withdraw — withdrawing a departed member's reports (store_voters_withdraw_step()) on
 * a store of N attributed reports (default 100,000): N/2 indicators with two reports each,
 * by 20 members (indicator i: members i % 20 and (i + 7) % 20), so one member signed 5 % of
 * the reports, on 10 % of the indicators, each of which keeps the other member's vote.
 *   1. ingest in durable batches of 1,000 (the commit other writers do meanwhile): mean and
 *      longest batch;
 *   2. withdraw member 3 (signer bytes 4) in the default bounded steps (65,536 keys or 1,024
 *      changed indicators per transaction): total, transactions, longest transaction;
 *   3. withdraw member 11 (bytes 12) in ONE transaction (no bounds), on the same store, for
 *      reference;
 *   4. ratios to the machine measured in the same run: longest step / mean ingest batch
 *      (how long a commit waits behind a step, in ingest batches) and total / full read
 *      scan of the indicators database (store_verify(), a read-only pass over all of it).
 * store_verify() must pass after both. Reports are built as decoded views with 240 bytes
 * standing for the signed encoding. Usage: bench_withdraw [N_REPORTS] [DIR]
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchclock.h"
#include "proto/crypto.h"
#include "proto/error.h"
#include "store/store.h"
#include "store/store_test.h"

#define BATCH 1000
#define REPORT_BYTES 240
#define MEMBERS 20

static uint64_t xs(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

struct batch {
	struct proto_report r[BATCH];
	char values[BATCH][40];
	uint8_t bytes[BATCH][REPORT_BYTES];
	struct store_item items[BATCH];
};

/* Report @i: indicator i / 2, by member (i / 2) % 20 for even i, (i / 2 + 7) % 20 for odd. */
static void build(struct batch *b, size_t first, size_t n)
{
	for (size_t j = 0; j < n; j++) {
		size_t i = first + j, ind = i / 2;
		struct proto_report *r = &b->r[j];
		uint64_t seed = 0x9e3779b97f4a7c15ull ^ (i * 0x100000001b3ull);

		memset(r, 0, offsetof(struct proto_report, ring));
		r->kind = PROTO_KIND_INDICATOR;
		r->tlp = PROTO_TLP_GREEN;
		r->confidence = (uint8_t)(i % 101);
		r->created_ms = 1700000000000ull + i;
		r->ind_type = PROTO_IND_DOMAIN;
		r->ind_value.len = (size_t)snprintf(b->values[j], sizeof(b->values[j]),
						    "w%08zu.bench.example", ind);
		r->ind_value.ptr = b->values[j];
		r->prov = PROTO_PROV_ATTRIBUTED;
		memset(r->signer, 1 + (int)((ind + (i % 2 ? 7 : 0)) % MEMBERS), 32);
		for (size_t k = 0; k < REPORT_BYTES; k += 8) {
			uint64_t x = xs(&seed);

			memcpy(b->bytes[j] + k, &x, 8);
		}
		memset(&b->items[j], 0, sizeof(b->items[j]));
		b->items[j].bytes = b->bytes[j];
		b->items[j].len = REPORT_BYTES;
		memcpy(b->items[j].report_id, b->bytes[j], 32); /* stands for BLAKE2b */
		b->items[j].r = r;
		b->items[j].env.received_ms = r->created_ms;
		b->items[j].env.hops = 1;
	}
}

static int verify(struct store *s, const char *when, double *took)
{
	char why[256];
	double t0 = bench_now_s();
	int rc = store_verify(s, why, sizeof(why));

	*took = bench_now_s() - t0;
	if (rc)
		fprintf(stderr, "bench_withdraw: store_verify %s: %s\n", when, why);
	return rc;
}

/* Withdraw member @m (1-based byte value) with @w's bounds; prints and returns 0 or error. */
static int withdraw(struct store *s, int m, size_t max_keys, size_t max_changes, const char *label,
		    double *total, double *longest)
{
	uint8_t id[1][32];
	struct store_withdraw w = {0};
	int rc;

	memset(id[0], m, 32);
	w.ids = (const uint8_t(*)[32])id;
	w.n_ids = 1;
	w.epoch = (uint64_t)m;
	w.now_ms = 1800000000000ull;
	w.max_keys = max_keys;
	w.max_changes = max_changes;
	*longest = 0;
	*total = bench_now_s();
	do {
		double t0 = bench_now_s(), dt;

		rc = store_voters_withdraw_step(s, &w);
		dt = bench_now_s() - t0;
		if (dt > *longest)
			*longest = dt;
	} while (rc == 1);
	*total = bench_now_s() - *total;
	if (rc < 0) {
		fprintf(stderr, "bench_withdraw: %s: %s\n", label, proto_error_str(rc));
		return rc;
	}
	printf("%-9s %zu votes, %zu reports, %zu indicators in %zu transaction(s): %.3f s, "
	       "longest transaction %.1f ms\n",
	       label, w.votes, w.reports, w.indicators, w.transactions, *total, *longest * 1e3);
	return 0;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
	char tmpl[] = "/tmp/bench-withdraw-XXXXXX";
	const char *dir = argc > 2 ? argv[2] : mkdtemp(tmpl);
	struct store_config cfg = {0};
	struct store *s = NULL;
	struct batch *b = calloc(1, sizeof(*b));
	double ingest = 0, ingest_max = 0, total, longest, total1, longest1, scan;
	size_t batches = 0;
	char cmd[4200];
	int rc = 1;

	if (!b || !dir || n < 2 || proto_crypto_init()) {
		fprintf(stderr, "usage: bench_withdraw [N_REPORTS >= 2] [DIR]\n");
		return 2;
	}
	cfg.dir = dir;
	if ((rc = store_open(&s, &cfg)) != 0) {
		fprintf(stderr, "bench_withdraw: store_open %s: %s\n", dir, proto_error_str(rc));
		return 1;
	}
	for (size_t first = 0; first < n; first += BATCH) {
		size_t k = n - first < BATCH ? n - first : BATCH;
		double t0, dt;

		build(b, first, k);
		t0 = bench_now_s();
		rc = store_ingest(s, b->items, k, 1800000000000ull);
		dt = bench_now_s() - t0;
		if (rc) {
			fprintf(stderr, "bench_withdraw: ingest: %s\n", proto_error_str(rc));
			goto out;
		}
		ingest += dt;
		batches++;
		if (dt > ingest_max)
			ingest_max = dt;
	}
	printf("store:    %zu reports on %zu indicators by %d members, in %s\n", n, (n + 1) / 2,
	       MEMBERS, dir);
	printf("ingest:   %zu durable batches of %d: mean %.1f ms, longest %.1f ms\n", batches,
	       BATCH, ingest / (double)batches * 1e3, ingest_max * 1e3);
	if ((rc = verify(s, "after ingest", &scan)))
		goto out;
	printf("scan:     store_verify (read-only pass over the whole store): %.3f s\n", scan);
	if ((rc = withdraw(s, 4, 0, 0, "bounded:", &total, &longest)))
		goto out;
	if ((rc = withdraw(s, 12, (size_t)-1, (n + 1) / 2, "one txn:", &total1, &longest1)))
		goto out;
	if ((rc = verify(s, "after the withdrawals", &scan)))
		goto out;
	printf("ratio:    longest bounded transaction / mean ingest batch = %.2f\n",
	       longest / (ingest / (double)batches));
	printf("ratio:    one-transaction / longest bounded transaction = %.1f\n",
	       longest1 / longest);
	printf("ratio:    bounded total / full read pass = %.2f\n", total / scan);
	rc = 0;
out:
	store_close(s);
	if (argc <= 2) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "bench_withdraw: could not remove %s\n", dir);
	}
	free(b);
	return rc ? 1 : 0;
}
