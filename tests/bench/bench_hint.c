/* SPDX-License-Identifier: MIT */
/*
 * bench_hint — memory and speed of the store's in-memory id -> sequence map (store/hint.h)
 * at N ids (default 10,000,000), without LMDB, so the figure needs neither the disk nor the
 * hours a durable 10 M-report store takes here:
 *   1. as after store_open(): one table built for N ids, filled with them;
 *   2. as a store that ingests N reports without a restart: ids added one by one, and on
 *      -ENOSPC the full segment rebuilt a quarter bigger from the ids of its entries
 *      (store_hint_grow(); the store reads each back from its record by sequence);
 *   3. lookups of N present ids and N absent ones: candidates per lookup (each costs the
 *      store one exact LMDB lookup; false ones are wasted) and lookups per CPU second.
 * Memory is the table's own size and the growth of the process's RssAnon (/proc/self/status)
 * while it is built; the first layout (8-byte slots in a power-of-two table at most 3/4
 * full) is given for comparison. Usage: bench_hint [N]
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchclock.h"
#include "store/hint.h"

static double rss_anon_mib(void)
{
	char line[256];
	double v = 0;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "RssAnon:", 8) == 0) {
			v = strtod(line + 8, NULL) / 1024.0;
			break;
		}
	if (f)
		fclose(f);
	return v;
}

static uint64_t rng = 0x1234567;

static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_hint: %s: %s\n", what, strerror(-err));
	exit(1);
}

static double mib(size_t b)
{
	return (double)b / 1048576.0;
}

/* The first schema-2 layout: 8-byte slots, power of two, grown at 3/4 load. */
static size_t old_bytes(size_t n)
{
	size_t slots = 1 << 16;

	while (n * 4 > slots * 3)
		slots *= 2;
	return slots * 8;
}

/* The "records" of the grown map (ids[seq - 1]), and the memory seen while segments grow. */
struct grow_ctx {
	uint8_t (*ids)[32];
	size_t n, resolved;
	double r0, peak;
};

static int resolve(void *arg, uint32_t seq, uint8_t id[32])
{
	struct grow_ctx *g = arg;

	if (seq == 0 || seq > g->n)
		return 1;
	memcpy(id, g->ids[seq - 1], 32);
	/* Every 1,024 ids: the new segment is being filled (calloc'd pages count once written). */
	if (++g->resolved % 1024 == 0) {
		double now = rss_anon_mib() - g->r0;

		if (now > g->peak)
			g->peak = now;
	}
	return 0;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000;
	uint8_t(*ids)[32] = malloc(n * 32);
	struct store_hint h;
	struct store_hint_table *t;
	struct grow_ctx gr = {0};
	double r0, c0;
	size_t rebuilds = 0, cands = 0, found = 0;
	uint32_t c[STORE_HINT_CANDIDATES_MAX];
	int rc;

	if (!ids || n == 0 || n > UINT32_MAX)
		die("ids", -ENOMEM);
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < 32; k += 8) {
			uint64_t x = rnd();

			memcpy(ids[i] + k, &x, 8);
		}
	if ((rc = store_hint_init(&h)) != 0)
		die("init", rc);
	printf("ids: %zu\n", n);

	r0 = rss_anon_mib();
	c0 = bench_cpu_s();
	if (!(t = store_hint_table_new(&h, n)))
		die("table", -ENOMEM);
	for (size_t i = 0; i < n; i++)
		if ((rc = store_hint_table_put(&h, t, ids[i], (uint32_t)(i + 1))) != 0)
			die("put", rc);
	store_hint_swap(&h, t);
	printf("built (as after open): %.1f MiB table (%.2f bytes per id), RssAnon +%.1f MiB, "
	       "%.0f puts/s CPU\n",
	       mib(store_hint_bytes(&h)), (double)store_hint_bytes(&h) / (double)n,
	       rss_anon_mib() - r0, (double)n / (bench_cpu_s() - c0));
	printf("  first layout (8-byte slots, power of two, <= 3/4 full): %.1f MiB\n",
	       mib(old_bytes(n)));

	c0 = bench_cpu_s();
	for (size_t i = 0; i < n; i++) {
		size_t k = store_hint_find(&h, ids[i], c, STORE_HINT_CANDIDATES_MAX);

		cands += k;
		for (size_t j = 0; j < k && j < STORE_HINT_CANDIDATES_MAX; j++)
			found += c[j] == i + 1;
	}
	printf("lookups, present ids: %.0f /s CPU, %.4f candidates each, %zu of %zu found\n",
	       (double)n / (bench_cpu_s() - c0), (double)cands / (double)n, found, n);
	cands = 0;
	c0 = bench_cpu_s();
	for (size_t i = 0; i < n; i++) {
		uint8_t id[32];

		memcpy(id, ids[i], 32);
		id[0] ^= 0x80; /* another id, not in the map */
		id[31] ^= 0x55;
		cands += store_hint_find(&h, id, c, STORE_HINT_CANDIDATES_MAX);
	}
	printf("lookups, absent ids: %.0f /s CPU, %.4f false candidates each\n",
	       (double)n / (bench_cpu_s() - c0), (double)cands / (double)n);

	/* Grown while running, from an empty map: a full segment at a time, as the store does. */
	store_hint_deinit(&h);
	if ((rc = store_hint_init(&h)) != 0)
		die("init", rc);
	gr.ids = ids;
	gr.r0 = r0 = rss_anon_mib();
	c0 = bench_cpu_s();
	for (size_t i = 0; i < n; i++) {
		rc = store_hint_add(&h, ids[i], (uint32_t)(i + 1));
		if (rc == -ENOSPC) {
			gr.n = i;
			if ((rc = store_hint_grow(&h, ids[i], resolve, &gr)) != 0)
				die("grow", rc);
			rebuilds++;
			rc = store_hint_add(&h, ids[i], (uint32_t)(i + 1));
		}
		if (rc != 0)
			die("add", rc);
	}
	printf("grown while running: %.1f MiB table (%.2f bytes per id), %zu segment rebuilds, "
	       "RssAnon +%.1f MiB at most while one ran, "
	       "%.2f us CPU per id with rebuilds, %.2f ids read back per id (the store reads "
	       "each from its record)\n",
	       mib(store_hint_bytes(&h)), (double)store_hint_bytes(&h) / (double)n, rebuilds,
	       gr.peak, (bench_cpu_s() - c0) * 1e6 / (double)n, (double)gr.resolved / (double)n);
	store_hint_deinit(&h);
	free(ids);
	return 0;
}
