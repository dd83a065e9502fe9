/* SPDX-License-Identifier: MIT */
/*
 * bench_store — store throughput against the machine's own LMDB limit, in one run:
 *   1. ingest N distinct reports (default 1,000,000; each on its own indicator, so every
 *      report writes every index and one feed entry) in durable batches of 1,000;
 *   2. re-ingest 100,000 of them (duplicates);
 *   3. 1,000,000 random report lookups (one-shot snapshots) and summary lookups (one shared
 *      snapshot per 1,000);
 *   4. export appends: store_export_sync() of the feed with a ~250-byte JSON renderer that
 *      first builds the Chatham House view of each indicator (policy_strip_view()) from a
 *      report with a ~240-byte description and 3 tags, into two export environments a batch
 *      at a time: without a redactor and with one of 500 members with 3 aliases and 2
 *      domains each; prints both, and the redaction's share of the export time;
 *   5. the raw mdb_put rate of the same key shape (32-byte random keys, same value size,
 *      durable commits of 1,000), measured during (1): one raw batch beside each ingest
 *      batch, so that both see the same load; and the ratio of (1) to it. The one-shot
 *      lookups of (3) run in rounds beside as many raw one-shot mdb_gets on that raw tree.
 * Reports are built directly as decoded views with 240 bytes standing for the signed
 * encoding: signing is not what is measured.
 * Usage: bench_store [N_REPORTS] [DIR] [ingest|lookups]
 * ("ingest": only steps 1 and 5, the two rates bench_join.py compares a join with;
 * "lookups": only step 3, on the store and raw tree an earlier run with the same N left in
 * DIR, so lookups can be measured again, e.g. before and after a change, without the ingest).
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "policy/redact_test.h"
#include "policy/strip.h"
#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/indicator.h"
#include "store/export.h"
#include "store/store.h"
#include "store/store_test.h"

#define BATCH 1000
#define REPORT_BYTES 240
#define DUPS 100000
#define LOOKUPS 1000000
#define LOOKUP_ROUNDS 100
#define EXPORT_MAX 300000

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of the process: on a loaded machine wall-clock slices measure the scheduler. */
static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * What the process has cost so far: CPU seconds and the bytes it passed to write calls
 * (/proc/self/io wchar; LMDB writes every dirty page with pwrite, as durable commits use no
 * WRITEMAP). Not write_bytes: on this machine's kernel (6.18, ext4 with large folios) that
 * counts whole folios as they are dirtied, ten times the bytes LMDB wrote (strace: 337 MB
 * of pwrite against 3.99 GB of write_bytes for 100,000 reports).
 */
struct cost {
	double wall, cpu;
	unsigned long long wbytes;
};

static unsigned long long proc_field(const char *file, const char *name)
{
	char line[256];
	unsigned long long v = 0;
	size_t n = strlen(name);
	FILE *f = fopen(file, "r");

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, name, n) == 0) {
			v = strtoull(line + n, NULL, 10);
			break;
		}
	if (f)
		fclose(f);
	return v;
}

static struct cost cost_now(void)
{
	struct rusage ru;
	struct cost c;

	getrusage(RUSAGE_SELF, &ru);
	c.wall = now_s();
	c.cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		(double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	c.wbytes = proc_field("/proc/self/io", "wchar:");
	return c;
}

/* Add what was spent since @since to @acc. */
static void cost_add(struct cost *acc, struct cost since)
{
	struct cost now = cost_now();

	acc->wall += now.wall - since.wall;
	acc->cpu += now.cpu - since.cpu;
	acc->wbytes += now.wbytes - since.wbytes;
}

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

/* Report @i: a distinct domain, GREEN, attributed to one of 64 members. */
static void build(struct batch *b, size_t first, size_t n, uint8_t (*ids)[32])
{
	for (size_t j = 0; j < n; j++) {
		size_t i = first + j;
		struct proto_report *r = &b->r[j];
		uint64_t seed = 0x9e3779b97f4a7c15ull ^ (i * 0x100000001b3ull);

		memset(r, 0, offsetof(struct proto_report, ring));
		r->kind = PROTO_KIND_INDICATOR;
		r->tlp = PROTO_TLP_GREEN;
		r->confidence = (uint8_t)(i % 101);
		r->created_ms = 1700000000000ull + i;
		r->ind_type = PROTO_IND_DOMAIN;
		r->ind_value.len = (size_t)snprintf(b->values[j], sizeof(b->values[j]),
						    "h%08zu.bench.example", i);
		r->ind_value.ptr = b->values[j];
		r->prov = PROTO_PROV_ATTRIBUTED;
		memset(r->signer, (int)(i % 64), 32);
		for (size_t k = 0; k < REPORT_BYTES; k += 8) {
			uint64_t x = xs(&seed);

			memcpy(b->bytes[j] + k, &x, 8);
		}
		memcpy(ids[i], b->bytes[j], 32); /* random enough to stand for BLAKE2b */
		memset(&b->items[j], 0, sizeof(b->items[j]));
		b->items[j].bytes = b->bytes[j];
		b->items[j].len = REPORT_BYTES;
		memcpy(b->items[j].report_id, ids[i], 32);
		b->items[j].r = r;
		b->items[j].env.received_ms = r->created_ms;
		b->items[j].env.hops = 1;
	}
}

/* What the renderer needs to build a Chatham House view, and the time it spends on it. */
struct strip_ctx {
	struct policy_redactor *rd;
	struct policy_config cfg;
	struct policy_view *view;
	size_t views;
	struct proto_summary last; /* the last summary viewed (for the timed replay) */
};

#define STRIP_MEMBERS 500

static struct proto_roster *strip_roster(void)
{
	static char text[STRIP_MEMBERS][6][40];
	struct proto_roster *r = proto_roster_new();
	uint64_t x = 7;

	for (size_t i = 0; r && i < STRIP_MEMBERS; i++) {
		struct proto_member m;
		char *aliases[3], *domains[2];

		memset(&m, 0, sizeof(m));
		for (size_t k = 0; k < 32; k++) {
			m.id[k] = (uint8_t)xs(&x);
			m.transport_pk[k] = (uint8_t)xs(&x);
			m.ring_pk[k] = (uint8_t)xs(&x);
		}
		snprintf(text[i][0], 40, "CERT Member%zu", i);
		snprintf(text[i][1], 40, "Member%zuSOC", i);
		snprintf(text[i][2], 40, "Member%zu National CSIRT", i);
		snprintf(text[i][3], 40, "Team M%zu", i);
		snprintf(text[i][4], 40, "member%zu.example", i);
		snprintf(text[i][5], 40, "cert-m%zu.example", i);
		m.name = text[i][0];
		for (int k = 0; k < 3; k++)
			aliases[k] = text[i][1 + k];
		domains[0] = text[i][4];
		domains[1] = text[i][5];
		m.n_aliases = 3;
		m.aliases = aliases;
		m.n_domains = 2;
		m.domains = domains;
		if (proto_roster_add_member(r, &m) != 0) {
			proto_roster_free(r);
			return NULL;
		}
	}
	return r;
}

/*
 * The view of indicator @sum from one vote with a description and tags. Not timed call by
 * call: a CPU clock read costs ~0.7 us here, as much as a tenth of the view itself; the
 * same views are replayed in one timed loop after the export instead (strip_replay()).
 */
static int strip(struct strip_ctx *c, const struct proto_summary *sum, uint64_t seq)
{
	static const char *const desc[] = {
		"Phishing wave delivering a loader via ISO attachments; C2 over HTTPS to a "
		"fast-flux domain. Overlaps with last month's campaign against the energy sector; "
		"hashes confirmed in two sandboxes, beaconing every 300 s with jitter.",
		"Credential harvesting kit on a lookalike login page; first reported by CERT "
		"Member17, confirmed by Member42SOC. Takedown requested, hosting provider notified "
		"and the registrar asked to suspend the domain.",
	};
	static const char *const tags[] = {"phishing", "loader", "tlp:green"};
	const struct proto_report *votes[1];
	struct proto_report r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.kind = PROTO_KIND_INDICATOR;
	r.tlp = sum->tlp;
	r.ind_type = sum->ind.type;
	r.ind_value.ptr = (const char *)sum->ind.value;
	r.ind_value.len = sum->ind.len;
	r.prov = PROTO_PROV_ATTRIBUTED;
	r.description.ptr = desc[seq % 2];
	r.description.len = strlen(desc[seq % 2]);
	r.n_tags = 3;
	for (int k = 0; k < 3; k++) {
		r.tags[k].ptr = tags[k];
		r.tags[k].len = strlen(tags[k]);
	}
	votes[0] = &r;
	rc = policy_strip_view(c->view, &c->cfg, c->rd, sum, votes, 1, NULL);
	c->views++;
	c->last = *sum;
	return rc;
}

/* CPU seconds of @n views like those of the export (descriptions alternating as there). */
static double strip_replay(struct strip_ctx *c, size_t n)
{
	double t = cpu_s();

	for (size_t i = 0; i < n; i++)
		if (strip(c, &c->last, i) != 0)
			return -1;
	return cpu_s() - t;
}

static int render(void *ctx, struct store *s, struct store_read *rd,
		  const struct store_feed_entry *e, uint8_t **doc, size_t *len)
{
	struct proto_summary sum;
	char hex[65], *out;
	int n, rc;

	rc = store_summary_get(s, rd, e->ind_id, &sum);
	if (rc)
		return rc;
	rc = strip(ctx, &sum, e->seq);
	if (rc)
		return rc;
	proto_hex_encode(hex, e->ind_id, 32);
	n = asprintf(
		&out,
		"{\"seq\":%llu,\"indicator\":{\"id\":\"%s\",\"type\":\"domain\",\"value\":\"%s\"},"
		"\"tlp\":%u,\"confidence\":%u,\"members\":%u,\"sightings\":%u,"
		"\"first_seen\":%llu,\"last_seen\":%llu}",
		(unsigned long long)e->seq, hex, sum.ind.value, sum.tlp, sum.confidence,
		sum.n_members, sum.n_sightings, (unsigned long long)sum.first_seen_ms,
		(unsigned long long)sum.last_seen_ms);
	if (n < 0)
		return -ENOMEM;
	*doc = (uint8_t *)out;
	*len = (size_t)n;
	return 0;
}

/* The trees a report writes, in the order of store/ingest.c; only "indicators" is random. */
static const char *const trees[] = {"reports", "indicators", "recon", "feed", "expiry", "meta"};

static void print_tree(const char *name, const struct store_debug_tree *t)
{
	printf("tree:     %-10s %10llu entries, %8llu leaf + %6llu branch + %llu overflow pages, "
	       "depth %u, %.0f leaf bytes per entry\n",
	       name, (unsigned long long)t->entries, (unsigned long long)t->leaf_pages,
	       (unsigned long long)t->branch_pages, (unsigned long long)t->overflow_pages, t->depth,
	       t->entries ? 4096.0 * (double)t->leaf_pages / (double)t->entries : 0.0);
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench_store: %s: %s\n", what, proto_error_str(rc));
	exit(1);
}

/*
 * 3. one-shot lookups: LOOKUPS store_report_get() calls in LOOKUP_ROUNDS rounds, each beside
 * as many raw one-shot mdb_gets on the raw tree (a transaction begun and aborted each) and as
 * many with one transaction renewed and reset around each get, the order rotating, so the
 * three rates see the same load. @rate: lookups per second of the three, @cpu_us: CPU
 * microseconds per lookup (the process's CPU clock: what a loaded machine does not move).
 */
static void lookups_one_shot(struct store *s, uint8_t (*ids)[32], size_t n, const char *rpath,
			     uint64_t *rng, double rate[3], double cpu_us[3])
{
	struct store_raw_get *g;
	double t[3] = {0}, c[3] = {0};
	size_t per = LOOKUPS / LOOKUP_ROUNDS;
	int rc;

	if ((rc = store_raw_get_open(&g, rpath, n)) != 0)
		die("store_raw_get_open", rc);
	for (size_t round = 0; round < LOOKUP_ROUNDS; round++)
		for (size_t step = 0; step < 3; step++) {
			size_t which = (step + round) % 3;
			double t0 = now_s(), c0 = cpu_s();

			if (which == 0) {
				for (size_t i = 0; i < per; i++) {
					uint8_t *out;
					size_t len;

					rc = store_report_get(s, NULL, ids[xs(rng) % n], &out,
							      &len);
					if (rc != 0)
						die("store_report_get", rc);
					free(out);
				}
			} else if ((rc = store_raw_get_run(g, per, which == 2)) != 0) {
				die("store_raw_get_run", rc);
			}
			t[which] += now_s() - t0;
			c[which] += cpu_s() - c0;
		}
	store_raw_get_close(g);
	for (int i = 0; i < 3; i++) {
		rate[i] = (double)(per * LOOKUP_ROUNDS) / t[i];
		cpu_us[i] = c[i] * 1e6 / (double)(per * LOOKUP_ROUNDS);
	}
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
	const char *base = argc > 2 ? argv[2] : NULL;
	bool ingest_only = argc > 3 && strcmp(argv[3], "ingest") == 0;
	bool lookups_only = argc > 3 && strcmp(argv[3], "lookups") == 0;
	char tmpl[] = "/var/tmp/bench_store-XXXXXX", path[512], cmd[600];
	struct store_config sc = {0};
	struct store_export_config xc = {0};
	struct store *s;
	struct store_export *xenv[2];
	struct store_stat st;
	struct batch *b = malloc(sizeof(*b));
	uint8_t(*ids)[32] = malloc(n * 32);
	double t, t_ingest = 0, t_dup = 0, rate = 0, raw = 0, look = 0, look_sum, lr[3], lc[3];
	struct cost ci = {0}, cr = {0};
	struct store_raw *rw;
	char rpath[512];
	uint64_t rng = 88172645463325252ull, feed_last;
	size_t exported = 0;
	struct strip_ctx sctx = {0}, plain;
	double t_x[2] = {0}, cpu_x[2] = {0};
	int rc;

	if (!b || !ids || n < BATCH || (argc > 3 && !ingest_only && !lookups_only) ||
	    (lookups_only && argc < 3))
		return 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (proto_crypto_init() != 0)
		return 1;
	if (!base) {
		base = mkdtemp(tmpl);
		if (!base)
			return 1;
	}
	snprintf(path, sizeof(path), "%s/state", base);
	sc.dir = path;
	sc.map_size_initial = (size_t)256 << 20;
	if ((rc = store_open(&s, &sc)) != 0)
		die("store_open", rc);
	printf("bench_store: %zu reports of %d bytes, batches of %d, durable commits, dir %s\n", n,
	       REPORT_BYTES, BATCH, base);
	snprintf(rpath, sizeof(rpath), "%s/raw", base);
	if (lookups_only) {
		/* The ids of an earlier run's reports: build() makes the same ones. */
		for (size_t i = 0; i < n; i += BATCH)
			build(b, i, n - i < BATCH ? n - i : BATCH, ids);
		store_stat(s, &st);
		if (st.reports != n) {
			fprintf(stderr, "bench_store: %s holds %llu reports, not %zu\n", path,
				(unsigned long long)st.reports, n);
			return 1;
		}
		goto lookups;
	}

	/*
	 * 1. distinct reports, and 5. the raw puts: one raw batch beside each ingest batch (which
	 * of the two goes first alternates), so that both see the same load of the machine.
	 */
	if ((rc = store_raw_open(&rw, rpath, n, REPORT_BYTES)) != 0)
		die("store_raw_open", rc);
	for (size_t i = 0; i < n; i += BATCH) {
		size_t k = n - i < BATCH ? n - i : BATCH;
		struct cost a;

		build(b, i, k, ids);
		for (int step = 0; step < 2; step++) {
			a = cost_now();
			if ((step + (int)(i / BATCH)) % 2 == 0) {
				rc = store_ingest(s, b->items, k, 1700000000000ull + i);
				if (rc != 0)
					die("store_ingest", rc);
				cost_add(&ci, a);
			} else {
				if ((rc = store_raw_put_batch(rw, k)) != 0)
					die("store_raw_put_batch", rc);
				cost_add(&cr, a);
			}
		}
		for (size_t j = 0; j < k; j++)
			if (b->items[j].result != STORE_NEW)
				die("unexpected result", b->items[j].result);
	}
	store_raw_close(rw);
	t_ingest = ci.wall;
	rate = (double)n / t_ingest;
	raw = (double)n / cr.wall;
	store_stat(s, &st);
	printf("ingest:   %10.0f reports/s  (%zu in %.2f s; map %zu MiB, used %zu MiB, %llu "
	       "growths)\n",
	       rate, n, t_ingest, st.map_size >> 20, st.map_used >> 20,
	       (unsigned long long)st.n_grow);
	printf("ingest:   %10.1f us CPU, %.0f bytes written per report (%.2f pages)\n",
	       ci.cpu * 1e6 / (double)n, (double)ci.wbytes / (double)n,
	       (double)ci.wbytes / 4096.0 / (double)n);
	for (size_t i = 0; i < sizeof(trees) / sizeof(*trees); i++) {
		struct store_debug_tree tr;

		if ((rc = store_debug_tree(s, trees[i], &tr)) != 0)
			die("store_debug_tree", rc);
		print_tree(trees[i], &tr);
	}
	printf("memory:   %10.1f MiB anonymous RSS (RssAnon: the process without LMDB's file "
	       "pages), of which the id map %.1f MiB; peak RSS %.0f MiB\n",
	       (double)proc_field("/proc/self/status", "RssAnon:") / 1024.0,
	       (double)store_debug_hint_bytes(s) / 1048576.0,
	       (double)proc_field("/proc/self/status", "VmHWM:") / 1024.0);

	/* Reopen: the id map is rebuilt from the record keys. */
	store_close(s);
	if (ingest_only)
		goto raw;
	t = now_s();
	if ((rc = store_open(&s, &sc)) != 0)
		die("store_open (reopen)", rc);
	printf("reopen:   %10.3f s         (store_open, rebuilds the id map of %zu reports)\n",
	       now_s() - t, n);

	/* 2. duplicates */
	for (size_t d = 0; d < DUPS; d += BATCH) {
		size_t first = (size_t)(xs(&rng) % (n / BATCH)) * BATCH;

		build(b, first, BATCH, ids);
		t = now_s();
		if ((rc = store_ingest(s, b->items, BATCH, 1700000000000ull + n)) != 0)
			die("store_ingest dup", rc);
		t_dup += now_s() - t;
		for (size_t j = 0; j < BATCH; j++)
			if (b->items[j].result != STORE_DUP)
				die("duplicate not detected", b->items[j].result);
	}
	printf("dups:     %10.0f reports/s  (%d in %.2f s)\n", DUPS / t_dup, DUPS, t_dup);

	/* 3. lookups */
lookups:
	lookups_one_shot(s, ids, n, rpath, &rng, lr, lc);
	look = lr[0];
	printf("lookups:  %10.0f reports/s  (store_report_get, one snapshot each; %.2f us CPU "
	       "each)\n",
	       lr[0], lc[0]);
	printf("raw get:  %10.0f gets/s     (mdb_get on the raw tree in a read txn begun and "
	       "aborted each, in rounds beside the lookups; %.2f us CPU each)\n",
	       lr[1], lc[1]);
	printf("raw get:  %10.0f gets/s     (the same with one read txn renewed and reset around "
	       "each get; %.2f us CPU each)\n",
	       lr[2], lc[2]);
	printf("ratio:    store_report_get / raw get = %.3f (CPU per lookup %.2f); / renewed raw "
	       "get = %.3f (CPU %.2f)\n",
	       lr[0] / lr[1], lc[0] / lc[1], lr[0] / lr[2], lc[0] / lc[2]);
	{
		uint8_t(*q)[32] = malloc(BATCH * 32);
		bool present[BATCH];
		double look_has;

		if (!q)
			return 1;
		t = now_s();
		for (size_t i = 0; i < LOOKUPS; i += BATCH) {
			for (size_t j = 0; j < BATCH; j++)
				memcpy(q[j], ids[xs(&rng) % n], 32);
			if ((rc = store_report_has(s, NULL, (const uint8_t(*)[32])q, BATCH,
						   present)) != 0)
				die("store_report_has", rc);
			for (size_t j = 0; j < BATCH; j++)
				if (!present[j])
					die("stored report not found", 0);
		}
		look_has = LOOKUPS / (now_s() - t);
		printf("lookups:  %10.0f ids/s      (store_report_has, batches of %d, e.g. IHAVE)\n",
		       look_has, BATCH);
		free(q);
	}
	{
		struct store_read *rd = NULL;
		struct proto_summary sum;
		char v[40];
		uint8_t ind[32];

		t = now_s();
		for (size_t i = 0; i < LOOKUPS; i++) {
			size_t k = xs(&rng) % n;

			if (i % 1000 == 0) {
				store_read_end(rd);
				if ((rc = store_read_begin(s, &rd)) != 0)
					die("store_read_begin", rc);
			}
			snprintf(v, sizeof(v), "h%08zu.bench.example", k);
			proto_indicator_id_raw(PROTO_IND_DOMAIN, v, strlen(v), ind);
			if ((rc = store_summary_get(s, rd, ind, &sum)) != 0)
				die("store_summary_get", rc);
		}
		store_read_end(rd);
		look_sum = LOOKUPS / (now_s() - t);
		printf("lookups:  %10.0f summaries/s (incl. indicator id hash; snapshot per 1,000)\n",
		       look_sum);
	}

	if (lookups_only) {
		store_close(s);
		goto out;
	}
	{
		uint8_t fp[32];
		uint64_t count;

		t = now_s();
		if ((rc = store_recon_fingerprint(s, NULL, NULL, NULL, fp, &count)) != 0)
			die("store_recon_fingerprint", rc);
		t = now_s() - t;
		printf("recon:    %10.1f ns/item    (fingerprint of the whole set, %llu items, "
		       "%.3f s)\n",
		       t * 1e9 / (double)count, (unsigned long long)count, t);
	}

	/*
	 * 4. export appends, twice in one run: into one export environment with views built
	 * without a redactor (tags and descriptions never leave: no text is looked at) and into
	 * another with the 500-member redactor, a batch of each in turn, so both see the same
	 * load and the same disk. Redaction's cost is the CPU time of the same views replayed
	 * with and without it.
	 */
	{
		struct proto_roster *sr = strip_roster();
		const struct proto_roster *srs[1] = {sr};

		policy_config_init(&sctx.cfg);
		sctx.rd = sr ? policy_redact_new(srs, 1) : NULL;
		sctx.view = malloc(sizeof(*sctx.view));
		proto_roster_free(sr);
		if (!sctx.rd || !sctx.view)
			die("redactor", -ENOMEM);
	}
	plain = sctx;
	plain.rd = NULL;
	for (int k = 0; k < 2; k++) {
		snprintf(path, sizeof(path), "%s/export%d", base, k);
		xc.dir = path;
		xc.community = "bench";
		xc.map_size_initial = (size_t)256 << 20;
		if ((rc = store_export_open(&xenv[k], &xc)) != 0)
			die("store_export_open", rc);
	}
	store_feed_last(s, NULL, &feed_last);
	for (bool more = true; more && exported < EXPORT_MAX && exported < feed_last;) {
		for (int k = 0; k < 2; k++) {
			double w = now_s(), c = cpu_s();

			rc = store_export_sync(s, xenv[k], render, k ? &sctx : &plain, BATCH);
			if (rc < 0)
				die("store_export_sync", rc);
			t_x[k] += now_s() - w;
			cpu_x[k] += cpu_s() - c;
			more = rc > 0;
			if (k == 1)
				exported += (size_t)rc;
		}
	}
	printf("export:   %10.0f docs/s     (%zu rendered+appended, batches of %d, durable; "
	       "%.1f us CPU per document) with redaction\n",
	       (double)exported / t_x[1], exported, BATCH, cpu_x[1] * 1e6 / (double)exported);
	printf("export:   %10.0f docs/s     (%.1f us CPU per document) without (wall time "
	       "with / without: %.3f)\n",
	       (double)exported / t_x[0], cpu_x[0] * 1e6 / (double)exported, t_x[1] / t_x[0]);
	{
		size_t nv = sctx.views;
		uint64_t hits, misses;
		double with, without, afresh, v, va;

		policy_redact_memo_stats(sctx.rd, &hits, &misses);
		with = strip_replay(&sctx, nv);
		without = strip_replay(&plain, nv);
		policy_redact_memo_set(sctx.rd, false);
		afresh = strip_replay(&sctx, nv);
		if (with < 0 || without < 0 || afresh < 0)
			die("policy_strip_view", -EINVAL);
		v = (with - without) / (double)(nv ? nv : 1);
		va = (afresh - without) / (double)(nv ? nv : 1);
		printf("redact:   %10.2f us/view    (policy_strip_view CPU time with the 500-member "
		       "roster less without, %zu views replayed): %.1f %% of the export's wall time, "
		       "%.1f %% of its CPU time (target < 5 %%); memo: %llu hits, %llu misses in "
		       "the export\n",
		       v * 1e6, nv, 100 * v * (double)nv / t_x[1], 100 * v * (double)nv / cpu_x[1],
		       (unsigned long long)hits, (unsigned long long)misses);
		printf("redact:   %10.2f us/view    read afresh (memo off: every text as if seen "
		       "for the first time): %.1f %% of the export's wall time, %.1f %% of its CPU "
		       "time\n",
		       va * 1e6, 100 * va * (double)nv / t_x[1], 100 * va * (double)nv / cpu_x[1]);
	}
	policy_redact_free(sctx.rd);
	free(sctx.view);
	for (int k = 0; k < 2; k++)
		store_export_close(xenv[k]);
	store_close(s);

raw:
	/* 5. the machine's raw LMDB rate for the same key shape, measured beside step 1 */
	printf("raw put:  %10.0f puts/s     (mdb_put, 32-byte random keys, %d-byte values, "
	       "durable commits of %d, a batch beside each ingest batch)\n",
	       raw, REPORT_BYTES, BATCH);
	printf("raw put:  %10.1f us CPU, %.0f bytes written per put (%.2f pages)\n",
	       cr.cpu * 1e6 / (double)n, (double)cr.wbytes / (double)n,
	       (double)cr.wbytes / 4096.0 / (double)n);
	{
		struct store_debug_tree tr;

		if ((rc = store_raw_tree(rpath, &tr)) != 0)
			die("store_raw_tree", rc);
		print_tree("raw", &tr);
	}
	printf("ratio:    ingest / raw put = %.3f (a report writes 6 records: report+envelope,\n"
	       "          index, vote, summary, recon, feed; one of them under a random key)\n",
	       rate / raw);
	printf("ratio:    per report / per raw put: CPU %.2f, bytes written %.2f\n",
	       ci.cpu / cr.cpu, (double)ci.wbytes / (double)cr.wbytes);
	if (!ingest_only)
		printf("targets:  ingest >= 40000/s: %s; lookups >= 500000/s: %s\n",
		       rate >= 40000 ? "met" : "NOT met", look >= 500000 ? "met" : "NOT met");
out:
	if (argc <= 2) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
		if (system(cmd) != 0)
			fprintf(stderr, "bench_store: could not remove %s\n", base);
	}
	free(ids);
	free(b);
	return 0;
}
