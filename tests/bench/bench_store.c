/* SPDX-License-Identifier: MIT */
/*
 * bench_store — store throughput against the machine's own LMDB limit, in one run:
 *   1. ingest N distinct reports (default 1,000,000; each on its own indicator, so every
 *      report writes every index and one feed entry) in durable batches of 1,000;
 *   2. re-ingest 100,000 of them (duplicates);
 *   3. 1,000,000 random report lookups (one-shot snapshots) and summary lookups (one shared
 *      snapshot per 1,000);
 *   4. the daemon's SIEM export (node_exporter_render(), the callback of its export syncs)
 *      of min(N, 300,000) signed reports in a store of their own, each with a ~240-byte
 *      description and 3 tags that no other report repeats (every other description names
 *      two members), into two export environments a batch at a time: without a redactor
 *      and with one of 500 members with 3 aliases and 2 domains each, and a third export
 *      under a memberless roster (the text leaves, nothing is matched) as a check; prints
 *      them, and the redaction's cost and share of the export: the export's read and strip
 *      stages timed inside the export (its render callback wrapped), with the redactor less
 *      without, over rounds of exports into emptied environments (export_step());
 *   5. the raw mdb_put rate of the same key shape (32-byte random keys, same value size,
 *      durable commits of 1,000), measured during (1): one raw batch beside each ingest
 *      batch, so that both see the same load; and the ratio of (1) to it. The one-shot
 *      lookups of (3) run in rounds beside as many raw one-shot mdb_gets on that raw tree.
 * The reports of steps 1-3 are built directly as decoded views with 240 bytes standing for
 * the signed encoding: signing is not what is measured.
 * Usage (usage[] below, printed by --help):
 *   bench_store [N_REPORTS] [DIR] [ingest|lookups|sums [CREATED_STEP_MS]]
 *   bench_store N_REPORTS DIR views [ROUNDS [all|with|without|one|none|entry|entry-without|
 *                                            strip|strip-without]]
 *   bench_store N_REPORTS DIR export [ROUNDS [all|with|none]]
 * N_REPORTS defaults to 1,000,000 and must be at least 1,000; without DIR a temporary
 * directory is used and removed. With no mode, steps 1-5 ("redact:" lines: step 4's timed
 * exports, the first the target's figure). "ingest": only steps 1 and 5, the two rates
 * bench_join.py compares a join with. "lookups": only step 3, on the store and raw tree an
 * earlier run with the same N left in DIR. "sums": only the upgrade of a schema-2 store at
 * open (sums_step()). "views": only step 4's timed stages (default 5 rounds of all,
 * interleaved a batch at a time), on the export's store an earlier "views" or "export" run
 * left in DIR (else built): the read and strip stages timed inside the export under the
 * 500-member redactor, no redactor, a one-member and a memberless roster; the old
 * one-entry-at-a-time view step (node_exporter_view()) with and without the redactor;
 * policy_strip_view() of the same views in memory with and without (views_step()).
 * "export": only step 4's whole export, repeated (default 9 rounds), under the 500-member
 * and a memberless roster interleaved a batch at a time: the redactor's cost in the whole
 * export (export_only()). "views" and "export" take N_REPORTS <= 300,000. Wherever kinds
 * are interleaved a batch at a time, their order is drawn anew for each batch (order()).
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "node/common/snap.h"
#include "node/common/tagvocab.h"
#include "node/common/warnlists.h"
#include "node/daemon/exporter.h"
#include "node/format/config.h"
#include "policy/egress.h"
#include "policy/redact_test.h"
#include "policy/strip.h"
#include "proto/crypto.h"
#include "proto/crypto_test.h"
#include "proto/error.h"
#include "proto/indicator.h"
#include "store/export.h"
#include "store/store.h"
#include "store/store_test.h"
#include "benchclock.h"
#include "viewgen.h"

#define BATCH 1000
#define XBATCH NODE_EXPORTER_SYNC_BATCH /* step 4's export batches: the daemon's */
#define REPORT_BYTES 240
#define DUPS 100000
#define LOOKUPS 1000000
#define LOOKUP_ROUNDS 100
#define EXPORT_MAX 300000
#define RECON_RANGES 200

static const char usage[] =
	"usage: bench_store [N_REPORTS] [DIR] [ingest|lookups|sums [CREATED_STEP_MS]]\n"
	"       bench_store N_REPORTS DIR views [ROUNDS [all|with|without|one|none|entry|\n"
	"                                                entry-without|strip|strip-without]]\n"
	"       bench_store N_REPORTS DIR export [ROUNDS [all|with|none]]\n"
	"N_REPORTS (default 1000000, at least 1000); without DIR a temporary directory, removed.\n"
	"No mode: ingest, duplicates, lookups, recon, the export (step 4: \"export:\" lines) and\n"
	"  redaction's cost in it (\"redact:\" lines: the first is the target's figure, the\n"
	"  export's read and strip stages timed inside the export, with the 500-member redactor\n"
	"  less without, median of 5 rounds' differences), raw puts.\n"
	"ingest: steps 1 and 5 only. lookups: step 3 on DIR's earlier store. sums: the schema-2\n"
	"  upgrade at open.\n"
	"views: step 4's timed stages alone (default 5 rounds of all, interleaved a batch at a\n"
	"  time) on DIR's export store (built if missing; N_REPORTS <= 300000): the read and\n"
	"  strip stages timed inside the export (with, without, one, none), one entry at a time\n"
	"  (entry, entry-without), outside the export (strip, strip-without).\n"
	"export: step 4's whole export alone (default 9 rounds, with and none interleaved a batch\n"
	"  at a time; N_REPORTS <= 300000): the redactor's cost in the whole export, median, mean\n"
	"  of the middle half, range.\n"
	"ROUNDS: 1 to 100.\n";

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
	c.wall = bench_now_s();
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

struct batch {
	struct proto_report r[BATCH];
	char values[BATCH][40];
	uint8_t bytes[BATCH][REPORT_BYTES];
	struct store_item items[BATCH];
};

static uint64_t created_step = 1; /* ms between two reports' created times */

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
		r->created_ms = 1700000000000ull + i * created_step;
		r->ind_type = PROTO_IND_DOMAIN;
		r->ind_value.len = (size_t)snprintf(b->values[j], sizeof(b->values[j]),
						    "h%08zu.bench.example", i);
		r->ind_value.ptr = b->values[j];
		r->prov = PROTO_PROV_ATTRIBUTED;
		memset(r->signer, (int)(i % 64), 32);
		for (size_t k = 0; k < REPORT_BYTES; k += 8) {
			uint64_t x = viewgen_xorshift(&seed);

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

/* The trees a report writes, in the order of store/ingest.c; only "indicators" is random. */
static const char *const trees[] = {"reports", "indicators", "recon", "recon_sums",
				    "feed",    "expiry",     "meta"};

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
 * Step 4's corpus: N_x reports signed with one bench key, each on its own indicator, whose
 * texts are all different (a redactor reads each one for the first time, as it does most of
 * a live feed): viewgen_doc()'s, shared with bench_redact's views mode.
 */
struct xbatch {
	struct proto_report r[BATCH]; /* decoded from bytes[] */
	uint8_t *bytes[BATCH];	      /* signed encodings */
	struct store_item items[BATCH];
};

/* Step 4's indicator value of report @i into @value: its id is the indicator id of it. */
static size_t x_value(size_t i, char value[40])
{
	return (size_t)snprintf(value, 40, "x%08zu.bench.example", i);
}

/* Sign reports @first.. @first+@n-1 of step 4 with @sk (public half @pk) into @b. */
static void x_build(struct xbatch *b, size_t first, size_t n, const uint8_t sk[64],
		    const uint8_t pk[32], const uint8_t community[32])
{
	for (size_t j = 0; j < n; j++) {
		size_t i = first + j;
		struct proto_report r;
		char value[40], desc[VIEWGEN_DESC], tag[VIEWGEN_TAGS][VIEWGEN_TAG];
		size_t len;
		int rc;

		memset(&r, 0, sizeof(r));
		memcpy(r.community, community, 32);
		r.kind = PROTO_KIND_INDICATOR;
		r.tlp = PROTO_TLP_GREEN;
		r.confidence = (uint8_t)(i % 101);
		r.created_ms = 1790000000000ull + i;
		r.valid_until_ms = r.created_ms + 90ull * 86400000;
		r.ind_type = PROTO_IND_DOMAIN;
		r.ind_value.len = x_value(i, value);
		r.ind_value.ptr = value;
		r.description.len = viewgen_doc(i, desc, tag);
		r.description.ptr = desc;
		r.n_tags = VIEWGEN_TAGS;
		for (int k = 0; k < VIEWGEN_TAGS; k++)
			r.tags[k] = (struct proto_str){tag[k], strlen(tag[k])};
		r.prov = PROTO_PROV_ATTRIBUTED;
		memcpy(r.signer, pk, 32);
		r.epoch = 1;
		if ((rc = proto_report_sign(&r, sk, &b->bytes[j], &len)) != 0 ||
		    (rc = proto_report_decode(&b->r[j], b->bytes[j], len)) != 0)
			die("signing step 4's report", rc);
		memset(&b->items[j], 0, sizeof(b->items[j]));
		b->items[j].bytes = b->bytes[j];
		b->items[j].len = len;
		proto_report_id(b->bytes[j], len, b->items[j].report_id);
		b->items[j].r = &b->r[j];
		b->items[j].env.received_ms = r.created_ms;
		b->items[j].env.hops = 1;
	}
}

/*
 * The export's render callback with its read and strip stages timed: node_exporter_render(),
 * i.e. node_exporter_render_views() and then node_exporter_render_docs(), under @rc, the
 * CPU seconds of the first added to @t. It is store_export_sync()'s callback, so the chunks,
 * the feed walk between them, the documents held until the batch's write and the write
 * itself are the export's own (none of them timed). Two clock reads a chunk (~0.7 us each
 * here, ~0.01 us a view at chunks of 128) are paid alike by every kind, so they cancel in
 * the differences printed. With @rep (two feed entries), each chunk's entries are replaced
 * by those two in turn before both stages: repeated text, which the memo answers.
 */
struct timed {
	struct node_exporter_render_ctx rc;
	double t;
	const struct store_feed_entry *rep;
};

static int timed_render(void *ctx, struct store *s, struct store_read *rd,
			const struct store_feed_entry *e, size_t n, uint8_t **docs, size_t *lens)
{
	struct timed *tr = ctx;
	struct store_feed_entry rep[STORE_EXPORT_CHUNK];
	double c;
	int r;

	if (tr->rep) {
		for (size_t i = 0; i < n && i < STORE_EXPORT_CHUNK; i++)
			rep[i] = tr->rep[i % 2];
		e = rep;
	}
	c = bench_cpu_s();
	r = node_exporter_render_views(&tr->rc, s, rd, e, n);
	tr->t += bench_cpu_s() - c;
	return r < 0 ? r : node_exporter_render_docs(&tr->rc, e, n, docs, lens);
}

/*
 * One kind of step 4's timed exports: a scratch export environment in @base/x-@name, which
 * x_run_reset() empties (store_export_reset(), not timed) before each round, exported into
 * a batch at a time by x_run_batch() through timed_render() under @snap.
 */
struct xrun {
	struct store_export *x;
	struct timed tr;
	double cpu; /* the whole syncs' CPU seconds this round, timed_render()'s included */
};

/* Step 4's export environment in @path, opened (created if new). */
static struct store_export *x_env_open(const char *path)
{
	struct store_export_config xc = {0};
	struct store_export *x;
	int rc;

	xc.dir = path;
	xc.community = "bench";
	xc.map_size_initial = (size_t)256 << 20;
	if ((rc = store_export_open(&x, &xc)) != 0)
		die("store_export_open", rc);
	return x;
}

static void x_run_open(struct xrun *r, const char *base, const char *name,
		       const struct node_snap *snap, const struct store_feed_entry *rep)
{
	char path[512];
	int rc;

	snprintf(path, sizeof(path), "%s/x-%s", base, name);
	r->x = x_env_open(path);
	if ((rc = node_exporter_render_init(&r->tr.rc, snap)) != 0)
		die("node_exporter_render_init", rc);
	r->tr.rep = rep;
}

static void x_run_close(struct xrun *r)
{
	node_exporter_render_deinit(&r->tr.rc);
	store_export_close(r->x);
}

static void x_run_reset(struct xrun *r)
{
	int rc = store_export_reset(r->x, (const uint8_t *)"bench", 5);

	if (rc != 0)
		die("store_export_reset", rc);
	r->tr.t = r->cpu = 0;
}

/* Export the next batch of @len entries into @r: the CPU seconds of its stages. */
static double x_run_batch(struct xrun *r, struct store *s, size_t len)
{
	double t = r->tr.t, c = bench_cpu_s();
	int rc = store_export_sync(s, r->x, timed_render, &r->tr, XBATCH);

	r->cpu += bench_cpu_s() - c;
	if (rc < 0)
		die("store_export_sync", rc);
	if ((size_t)rc != len)
		die("step 4's timed export is not at the batch's end", -EPROTO);
	return r->tr.t - t;
}

/* The main feed's first two entries (repeated text's). */
struct xfeed2 {
	struct store_feed_entry e[2];
	size_t n;
};

static int x_feed_one(void *ctx, const struct store_feed_entry *e)
{
	struct xfeed2 *f = ctx;

	if (f->n == 2)
		return -EOVERFLOW;
	f->e[f->n++] = *e;
	return 0;
}

static void x_feed2(struct store *s, struct xfeed2 *f)
{
	struct store_read *rd;
	int rc;

	f->n = 0;
	if ((rc = store_read_begin(s, &rd)) != 0)
		die("store_read_begin", rc);
	rc = store_feed_iter(s, rd, 0, 2, x_feed_one, f);
	store_read_end(rd);
	if (rc < 0)
		die("store_feed_iter", rc);
	if (f->n != 2)
		die("step 4's feed holds fewer than two entries", -EPROTO);
}

/*
 * CPU seconds of node_exporter_view() (summary, votes, decode, egress check,
 * policy_strip_view(), one indicator at a time, as node_exporter_feed_document() makes a
 * view for `query`, `list` and the re-rendering, and as the export did before its stages)
 * for the @n indicators @ids under @snap, in one read snapshot (a batch's, as a sync's).
 * -1 if a view fails.
 */
static double x_views(const struct node_snap *snap, struct store *s, uint8_t (*ids)[32], size_t n,
		      struct policy_view *v)
{
	struct store_read *rd;
	struct proto_summary sum;
	double t = bench_cpu_s();
	int rc = 0;

	if (store_read_begin(s, &rd) != 0)
		return -1;
	for (size_t i = 0; i < n && rc >= 0; i++) {
		rc = node_exporter_view(snap, s, rd, ids[i], POLICY_PATH_SIEM_EXPORT, v, &sum);
		rc = rc == 1 ? 0 : -1;
	}
	store_read_end(rd);
	return rc < 0 ? -1 : bench_cpu_s() - t;
}

/*
 * The snapshot an installed daemon exports under: the shipped warninglists and tag
 * vocabulary (deploy/, installed under /usr/share/chatham), read as the daemon reads its
 * [policy] warninglist_dir and tag_vocab_dir with the other options at their defaults.
 */
static struct node_snap *x_snap(const struct policy_config *pcfg, const struct proto_roster *roster)
{
	static const char conf[] =
		"[policy]\nwarninglist_dir = " CHATHAM_SOURCE_DIR
		"/deploy/warninglists\ntag_vocab_dir = " CHATHAM_SOURCE_DIR "/deploy/tags\n";
	const struct proto_roster *rosters[1] = {roster};
	struct node_config *cfg;
	struct node_warnlists *w;
	struct node_tagvocab *t;
	struct node_snap *snap;
	char why[512] = "";
	int rc;

	if ((rc = node_config_load_buffer(conf, strlen(conf), NULL, NULL, &cfg)) != 0)
		die("step 4's configuration", rc);
	rc = node_warnlists_load(node_config_str(cfg, NODE_POLICY_WARNINGLIST_DIR),
				 (unsigned)node_config_int(cfg, NODE_POLICY_MIN_PREFIX_IPV4),
				 (unsigned)node_config_int(cfg, NODE_POLICY_MIN_PREFIX_IPV6), &w,
				 why, sizeof(why));
	if (rc == 0 && w->dir_missing)
		rc = -ENOENT;
	if (rc == 0) {
		rc = node_tagvocab_load(node_config_str(cfg, NODE_POLICY_TAG_VOCAB_DIR), NULL, 0,
					&t, why, sizeof(why));
		if (rc == 0 && t->dir_missing)
			rc = -ENOENT;
	}
	if (rc) {
		fprintf(stderr, "bench_store: %s/deploy: %s\n", CHATHAM_SOURCE_DIR, why);
		die("shipped warninglists and tag vocabulary", rc);
	}
	if (!(snap = node_snap_new(pcfg, rosters, 1)))
		die("node_snap_new", -ENOMEM);
	node_snap_set_warnlists(snap, w);
	node_snap_set_tagvocab(snap, t);
	node_warnlists_unref(w);
	node_tagvocab_unref(t);
	node_config_free(cfg);
	return snap;
}

/*
 * Step 4's snapshots, built as the daemon builds them (x_snap()) under one policy: @full
 * with the 500-member redactor, @part[0] and @part[1] with a one-member and a memberless
 * roster (the text leaves under both), and @plain, a copy of @full without the redactor (no
 * description or tag leaves, none is read; never referenced or freed). The snapshots
 * borrow the rosters: a struct xsnaps does not move.
 */
struct xsnaps {
	struct proto_roster *roster, part[2];
	struct policy_config pcfg;
	struct node_snap *full, *part_snap[2], plain;
};

static void x_snaps_init(struct xsnaps *x)
{
	if (!(x->roster = viewgen_roster()))
		die("step 4's roster", -ENOMEM);
	policy_config_init(&x->pcfg);
	memset(x->pcfg.community, 0xc0, 32);
	memcpy(x->pcfg.own_id, x->roster->members[0].id, 32);
	policy_config_set_community_name(&x->pcfg, "bench");
	x->full = x_snap(&x->pcfg, x->roster);
	/* the first member alone, then no member */
	x->part[0] = x->part[1] = *x->roster;
	x->part[0].n_members = 1;
	x->part[1].n_members = 0;
	x->part[0].netkey_sealed = x->part[1].netkey_sealed = NULL;
	for (int k = 0; k < 2; k++)
		x->part_snap[k] = x_snap(&x->pcfg, &x->part[k]);
	x->plain = *x->full;
	x->plain.redactor = NULL;
}

static void x_snaps_deinit(struct xsnaps *x)
{
	node_snap_unref(x->full);
	for (int k = 0; k < 2; k++)
		node_snap_unref(x->part_snap[k]);
	proto_roster_free(x->roster);
}

static const uint8_t x_seed[32] = {0xbe, 0x4c}; /* the bench key's */

/* Remove the files of every export environment (x-*, export-*) an earlier run left in @base. */
static void x_envs_forget(const char *base)
{
	DIR *d = opendir(base);
	struct dirent *de;
	char file[1024];

	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, "x-", 2) != 0 && strncmp(de->d_name, "export-", 7) != 0)
			continue;
		for (int i = 0; i < 2; i++) {
			snprintf(file, sizeof(file), "%s/%s/%s", base, de->d_name,
				 i ? "lock.mdb" : "data.mdb");
			if (unlink(file) != 0 && errno != ENOENT && errno != ENOTDIR)
				die(file, -errno);
		}
	}
	if (d)
		closedir(d);
}

/*
 * Step 4's store in @base/xstate: @n reports signed with the bench key and stored by the
 * ordinary ingest (so each indicator has its summary and vote), their indicator ids into
 * @ids. With @reuse, the reports an earlier run left there are kept (an id is the hash of
 * the indicator's value, x_value()); otherwise, or when the store is empty, they are signed
 * and ingested now, and the export environments earlier runs left in @base (x-*, export-*)
 * are emptied of their files: they derive from another store, which store_export_sync()
 * refuses (STORE_E_EXPORT_FOREIGN).
 */
static struct store *x_store(const char *base, size_t n, const uint8_t community[32],
			     uint8_t (*ids)[32], bool reuse)
{
	struct store_config sc = {0};
	struct store_stat st;
	struct store *s;
	struct xbatch *b;
	uint8_t pk[32], sk[64], id[32];
	char path[512], value[40];
	double t_sign = 0, t_ingest = 0, t;
	int rc;

	snprintf(path, sizeof(path), "%s/xstate", base);
	sc.dir = path;
	sc.map_size_initial = (size_t)256 << 20;
	if ((rc = store_open(&s, &sc)) != 0)
		die("store_open (export's store)", rc);
	if (reuse && (rc = store_stat(s, &st)) == 0 && st.reports > 0) {
		if (st.reports != n) {
			fprintf(stderr, "bench_store: %s holds %llu reports, not %zu\n", path,
				(unsigned long long)st.reports, n);
			exit(1);
		}
		for (size_t i = 0; i < n; i++)
			proto_indicator_id_raw(PROTO_IND_DOMAIN, value, x_value(i, value), ids[i]);
		printf("export:   the %zu signed reports an earlier run left in %s\n", n, path);
		return s;
	}
	x_envs_forget(base);
	if (!(b = malloc(sizeof(*b))))
		die("step 4", -ENOMEM);
	proto_crypto_raw_ed25519_seed_keypair(pk, sk, x_seed);
	for (size_t i = 0; i < n; i += BATCH) {
		size_t k = n - i < BATCH ? n - i : BATCH;

		t = bench_now_s();
		x_build(b, i, k, sk, pk, community);
		t_sign += bench_now_s() - t;
		t = bench_now_s();
		if ((rc = store_ingest(s, b->items, k, 1790000000000ull + i)) != 0)
			die("store_ingest (export's store)", rc);
		t_ingest += bench_now_s() - t;
		for (size_t j = 0; j < k; j++) {
			if (b->items[j].result != STORE_NEW)
				die("unexpected result", b->items[j].result);
			memcpy(ids[i + j], b->items[j].ind_id, 32);
			/* what a later run with @reuse takes the id to be */
			proto_indicator_id_raw(PROTO_IND_DOMAIN, value, x_value(i + j, value), id);
			if (memcmp(id, ids[i + j], 32) != 0)
				die("step 4's indicator id", -EPROTO);
			free(b->bytes[j]);
		}
	}
	proto_wipe(sk, sizeof(sk));
	free(b);
	printf("export:   %zu signed reports of distinct text (%.2f s to sign, %.2f s to ingest), "
	       "each on its own indicator, every other one naming two members; the shipped "
	       "warninglists and tag vocabulary loaded\n",
	       n, t_sign, t_ingest);
	return s;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of @n values at @v (sorted in place): the mean of the middle two when @n is even. */
static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * The mean of the middle half of @n values at @v (sorted in place): the lowest and the
 * highest quarter (n / 4 each) left out, so that a round slowed by another process moves it
 * less than a mean and, with few rounds, less coarsely than a median.
 */
static double trimmed_mean(double *v, size_t n)
{
	size_t cut = n / 4;
	double sum = 0;

	qsort(v, n, sizeof(*v), cmp_double);
	for (size_t i = cut; i < n - cut; i++)
		sum += v[i];
	return sum / (double)(n - 2 * cut);
}

#define KINDS_MAX 8 /* kinds interleaved a batch at a time, at most (views_step()'s) */
#define ORDER_SEED 0x6f72646572ull

/*
 * The order in which @k kinds (at most KINDS_MAX) run the next batch, into @perm: a
 * permutation drawn from @seed (a fixed-seed xorshift, so every run draws the same ones).
 * Every loop that interleaves kinds a batch at a time takes its order from here. A new
 * order each batch, not a rotation of one: each kind then follows each other kind, and
 * none, about equally often, so no kind systematically finds the store pages of its batch,
 * or the code and tables, just warmed by one particular other.
 */
static void order(uint64_t *seed, size_t k, size_t perm[KINDS_MAX])
{
	for (size_t i = 0; i < k; i++)
		perm[i] = i;
	for (size_t i = k; i > 1; i--) {
		size_t j = (size_t)(viewgen_xorshift(seed) % i), x = perm[i - 1];

		perm[i - 1] = perm[j];
		perm[j] = x;
	}
}

#define X_ROUNDS \
	5 /* rounds of step 4's timed exports: a median, steadier than a sum on a shared machine */

/*
 * Step 4's timed exports' kinds: under the 500-member redactor, none, a one-member and a
 * memberless roster; in a full run also repeated text under the 500-member redactor and
 * without (the stages over the first two feed entries in turn).
 */
enum { XR_WITH, XR_WITHOUT, XR_ONE, XR_NONE, XR_N, XR_REP_WITH = XR_N, XR_REP_WITHOUT, XR_ALL };

static const char *const xr_names[XR_ALL] = {"with", "without",	 "one",
					     "none", "rep-with", "rep-without"};

static const struct node_snap *xr_snap(const struct xsnaps *xs, int k)
{
	switch (k) {
	case XR_WITH:
	case XR_REP_WITH:
		return xs->full;
	case XR_ONE:
		return xs->part_snap[0];
	case XR_NONE:
		return xs->part_snap[1];
	default:
		return &xs->plain;
	}
}

/*
 * 4. the daemon's export, twice in one run. Its own store holds @n signed reports
 * (x_store()); the export renders them with the daemon's own render callback,
 * node_exporter_render() (summary, votes decoded, egress check, policy_strip_view(), the
 * ECS document, its text), into export environments a batch at a time: under a snapshot
 * without a redactor (no description or tag leaves, none is read) and under one with the
 * 500-member redactor, so both see the same load and the same disk; a third, under a
 * memberless roster, is the check below. Redaction's cost is the CPU time of the export's
 * read and strip stages (node_exporter_render_views()) timed inside the export itself:
 * X_ROUNDS rounds, each emptying an export environment per kind (not timed) and exporting
 * all @n entries into it again through timed_render(), the kinds interleaved a batch at a
 * time (order()); the figure is the median over the rounds of each round's difference, with
 * the redactor less without. The same under a one-member and a memberless roster split it
 * three ways: what the 500 members add, what a redactor costs for any roster, and what
 * letting the text out at all costs.
 */
static void export_step(const char *base, size_t n)
{
	static const int pass[3] = {XR_WITHOUT, XR_WITH, XR_NONE}; /* the first exports' kinds */
	struct xsnaps xs;
	struct xrun xr[XR_ALL];
	struct node_exporter_render_ctx ctx[3];
	struct xfeed2 rep;
	struct store *s;
	uint8_t(*ids)[32] = malloc(n * 32);
	double t_x[XR_ALL] = {0}, cpu_x[XR_ALL] = {0};
	size_t exported = 0, perm[KINDS_MAX];
	uint64_t hits, misses, seed = ORDER_SEED;
	int rc;

	if (!ids)
		die("step 4", -ENOMEM);
	x_snaps_init(&xs);
	s = x_store(base, n, xs.pcfg.community, ids, false);
	x_feed2(s, &rep);
	for (int k = 0; k < XR_ALL; k++)
		x_run_open(&xr[k], base, xr_names[k], xr_snap(&xs, k), k >= XR_N ? rep.e : NULL);
	/* The export itself, with the daemon's callback: the "export:" lines. */
	for (int j = 0; j < 3; j++)
		if ((rc = node_exporter_render_init(&ctx[j], xr_snap(&xs, pass[j]))) != 0)
			die("node_exporter_render_init", rc);
	for (bool more = true; more;) {
		more = false;
		order(&seed, 3, perm);
		for (int j = 0; j < 3; j++) {
			int k = pass[perm[j]];
			double w = bench_now_s(), c = bench_cpu_s();

			rc = store_export_sync(s, xr[k].x, node_exporter_render, &ctx[perm[j]],
					       XBATCH);
			if (rc < 0)
				die("store_export_sync", rc);
			t_x[k] += bench_now_s() - w;
			cpu_x[k] += bench_cpu_s() - c;
			more |= rc > 0;
			if (k == XR_WITH)
				exported += (size_t)rc;
		}
	}
	for (int j = 0; j < 3; j++)
		node_exporter_render_deinit(&ctx[j]);
	if (exported != n)
		die("export incomplete", -EPROTO);
	policy_redact_memo_stats(xs.full->redactor, &hits, &misses);
	printf("export:   %10.0f docs/s     (%zu rendered+appended by node_exporter_render(), "
	       "batches of %d, durable; %.1f us CPU per document) with redaction\n",
	       (double)n / t_x[XR_WITH], n, XBATCH, cpu_x[XR_WITH] * 1e6 / (double)n);
	printf("export:   %10.0f docs/s     (%.1f us CPU per document) without (wall time "
	       "with / without: %.3f)\n",
	       (double)n / t_x[XR_WITHOUT], cpu_x[XR_WITHOUT] * 1e6 / (double)n,
	       t_x[XR_WITH] / t_x[XR_WITHOUT]);
	printf("export:   %10.0f docs/s     (%.1f us CPU per document) under a memberless roster "
	       "(the text leaves unredacted): with redaction less this, %.2f us CPU per "
	       "document, is the redactor's cost in the whole export, rendering and writing "
	       "included (a check on the timed exports below: compare it with the second "
	       "\"redact:\" line's \"with less memberless\" figures; one export, so noisier)\n",
	       (double)n / t_x[XR_NONE], cpu_x[XR_NONE] * 1e6 / (double)n,
	       (cpu_x[XR_WITH] - cpu_x[XR_NONE]) * 1e6 / (double)n);
	{
		/*
		 * X_ROUNDS rounds of the timed exports, the kinds interleaved a batch at a time
		 * in a new order each batch, so that all see the same moments of this shared
		 * machine; each figure is the median over the rounds of its difference within a
		 * round.
		 */
		enum { D_HEAD, D_500, D_OUT, D_MEMBERLESS, D_REP, D_ANY, D_SYNC, D_N };
		double d[D_N][X_ROUNDS], v[D_N], lo, hi, with[X_ROUNDS], c;
		char share[32] = "n/a";

		for (int round = 0; round < X_ROUNDS; round++) {
			double t[XR_ALL] = {0};

			for (int k = 0; k < XR_ALL; k++)
				x_run_reset(&xr[k]);
			for (size_t b = 0; b < n; b += XBATCH) {
				size_t len = n - b < XBATCH ? n - b : XBATCH;

				order(&seed, XR_ALL, perm);
				for (int j = 0; j < XR_ALL; j++)
					t[perm[j]] += x_run_batch(&xr[perm[j]], s, len);
			}
			d[D_HEAD][round] = (t[XR_WITH] - t[XR_WITHOUT]) / (double)n;
			d[D_500][round] = (t[XR_WITH] - t[XR_ONE]) / (double)n;
			d[D_OUT][round] = (t[XR_NONE] - t[XR_WITHOUT]) / (double)n;
			d[D_MEMBERLESS][round] = (t[XR_WITH] - t[XR_NONE]) / (double)n;
			d[D_REP][round] = (t[XR_REP_WITH] - t[XR_REP_WITHOUT]) / (double)n;
			d[D_ANY][round] = (t[XR_ONE] - t[XR_NONE]) / (double)n;
			d[D_SYNC][round] = (xr[XR_WITH].cpu - xr[XR_NONE].cpu) / (double)n;
			with[round] = xr[XR_WITH].cpu / (double)n;
		}
		for (int k = 0; k < D_N; k++)
			v[k] = median(d[k], X_ROUNDS) * 1e6;
		lo = d[D_HEAD][0] * 1e6;
		hi = d[D_HEAD][X_ROUNDS - 1] * 1e6;
		/* the export's CPU time with redaction: the same rounds' whole syncs, their median */
		c = median(with, X_ROUNDS) * 1e6;
		if (v[D_HEAD] > 0)
			snprintf(share, sizeof(share), "%.1f %%", 100 * v[D_500] / v[D_HEAD]);
		printf("redact:   %10.2f us/view    (text seen for the first time: the export's read "
		       "and strip stages, node_exporter_render_views(), timed inside "
		       "store_export_sync() over its chunks of %d, CPU time with the 500-member "
		       "roster less without, %zu views, median of %d rounds' differences, the "
		       "kinds interleaved a batch at a time, %.2f-%.2f): %.1f %% of the export's "
		       "CPU time (target < 5 %%; of the median of the same rounds' whole syncs "
		       "with redaction, %.1f us a document); memo: %llu hits, %llu misses in the "
		       "export\n",
		       v[D_HEAD], STORE_EXPORT_CHUNK, n, X_ROUNDS, lo, hi, 100 * v[D_HEAD] / c, c,
		       (unsigned long long)hits, (unsigned long long)misses);
		printf("redact:   %10.2f us/view    of it, the 500-member roster's share (with it "
		       "less with a one-member roster): %s of the line above; the redactor's "
		       "cost for any roster (one member less none): %.2f us; letting the text out "
		       "at all (no member less no redactor): %.2f us; with less memberless (the "
		       "\"export:\" check's figure): %.2f us, and by the same rounds' whole syncs "
		       "%.2f us (CPU time, each the median of the rounds' differences)\n",
		       v[D_500], share, v[D_ANY], v[D_OUT], v[D_MEMBERLESS], v[D_SYNC]);
		printf("redact:   %10.2f us/view    repeated text, not the target's figure (the "
		       "same stages over the first 2 documents in turn, one naming two members: "
		       "the memo answers): %.1f %% of the export's CPU time (the same rounds')\n",
		       v[D_REP], 100 * v[D_REP] / c);
	}
	for (int k = 0; k < XR_ALL; k++)
		x_run_close(&xr[k]);
	store_close(s);
	x_snaps_deinit(&xs);
	free(ids);
}

/*
 * Step 4's views outside the export: the same texts (viewgen_doc()) and fields as
 * x_build()'s reports, made once in memory, so that policy_strip_view() can be given them
 * in the export's order with no store read, decode or copy around it.
 */
struct xmem {
	char (*desc)[VIEWGEN_DESC];
	size_t *desc_len;
	char (*tag)[VIEWGEN_TAGS][VIEWGEN_TAG];
	uint8_t pk[32];
	struct proto_summary sum; /* indicator 0's, from the store: the others differ in value */
};

/* CPU seconds of policy_strip_view() under @snap for views @first.. @first+@n-1 of @m. */
static double x_strip(const struct node_snap *snap, const struct xmem *m, size_t first, size_t n,
		      struct policy_view *v)
{
	struct proto_summary sum = m->sum;
	struct proto_report r;
	const struct proto_report *votes[1] = {&r};
	char value[40];
	double t = bench_cpu_s();

	memset(&r, 0, sizeof(r));
	r.kind = PROTO_KIND_INDICATOR;
	r.tlp = PROTO_TLP_GREEN;
	r.ind_type = PROTO_IND_DOMAIN;
	r.prov = PROTO_PROV_ATTRIBUTED;
	memcpy(r.signer, m->pk, 32);
	r.epoch = 1;
	r.n_tags = VIEWGEN_TAGS;
	for (size_t i = first; i < first + n; i++) {
		r.confidence = (uint8_t)(i % 101);
		r.created_ms = 1790000000000ull + i;
		r.valid_until_ms = r.created_ms + 90ull * 86400000;
		r.ind_value.len = sum.ind.len = x_value(i, value);
		memcpy(sum.ind.value, value, sum.ind.len + 1);
		r.ind_value.ptr = (const char *)sum.ind.value;
		r.description = (struct proto_str){m->desc[i], m->desc_len[i]};
		for (int k = 0; k < VIEWGEN_TAGS; k++)
			r.tags[k] = (struct proto_str){m->tag[i][k], strlen(m->tag[i][k])};
		if (policy_strip_view(v, &snap->pcfg, snap->redactor, &sum, votes, 1, NULL) != 0)
			return -1;
	}
	return bench_cpu_s() - t;
}

#define VIEWS_ROUNDS_MAX 100

/*
 * "views": step 4's read and strip stages alone, for profilers and A/B runs of the redactor
 * inside the export, on the store an earlier run with the same N left in @base (else built
 * now). Each of @rounds rounds runs each of @which over the @n feed entries, the kinds
 * interleaved a batch at a time in a new order each batch (order()): "with" (the 500-member
 * redactor), "without" (no redactor), "one", "none" (a one-member, a memberless roster),
 * each the export itself into an emptied scratch environment with its read and strip stages
 * timed (timed_render(), as the first "redact:" line of a full run); "entry" and
 * "entry-without" (node_exporter_view() one entry at a time, as `query`, `list` and
 * node_exporter_feed_document() make a view, with and without the redactor); "strip" and
 * "strip-without" (the same views' policy_strip_view() outside the export, x_strip()); or
 * "all" of them. Prints the median CPU time per view of each, then with "all" the medians
 * of the rounds' differences: the redactor's cost inside the export (the first "redact:"
 * line of a full run), for any roster (one member less none), one entry at a time, and
 * outside the export.
 */
static void views_step(const char *base, size_t n, size_t rounds, const char *which)
{
	static const char *const kinds[] = {"with",  "without",	      "one",   "none",
					    "entry", "entry-without", "strip", "strip-without"};
	static const char *const what[] = {"the export's read and strip stages",
					   "the export's read and strip stages",
					   "the export's read and strip stages",
					   "the export's read and strip stages",
					   "node_exporter_view() one entry at a time",
					   "node_exporter_view() one entry at a time",
					   "policy_strip_view() in memory",
					   "policy_strip_view() in memory"};
	enum { K = sizeof(kinds) / sizeof(kinds[0]) };
	struct xsnaps xs;
	struct xmem m;
	struct store *s;
	struct store_read *rd;
	struct xrun xr[XR_N];
	struct policy_view *view = malloc(sizeof(*view));
	uint8_t(*ids)[32] = malloc(n * 32), sk[64];
	double us[K][VIEWS_ROUNDS_MAX], d[4][VIEWS_ROUNDS_MAX], med[K] = {0};
	bool on[K], all = strcmp(which, "all") == 0;
	size_t perm[KINDS_MAX];
	uint64_t seed = ORDER_SEED;
	int rc;

	for (int k = 0; k < K; k++)
		on[k] = all || strcmp(which, kinds[k]) == 0;
	m.desc = malloc(n * sizeof(*m.desc));
	m.desc_len = malloc(n * sizeof(*m.desc_len));
	m.tag = malloc(n * sizeof(*m.tag));
	if (!view || !ids || !m.desc || !m.desc_len || !m.tag)
		die("views", -ENOMEM);
	x_snaps_init(&xs);
	s = x_store(base, n, xs.pcfg.community, ids, true);
	for (int k = 0; k < XR_N; k++)
		if (on[k])
			x_run_open(&xr[k], base, kinds[k], xr_snap(&xs, k), NULL);
	for (size_t i = 0; i < n; i++)
		m.desc_len[i] = viewgen_doc(i, m.desc[i], m.tag[i]);
	proto_crypto_raw_ed25519_seed_keypair(m.pk, sk, x_seed);
	proto_wipe(sk, sizeof(sk));
	if ((rc = store_read_begin(s, &rd)) != 0 ||
	    (rc = store_summary_get(s, rd, ids[0], &m.sum)) != 0)
		die("views: indicator 0's summary", rc);
	store_read_end(rd);
	printf("views:    step 4's %zu feed entries, %zu rounds, the kinds interleaved a batch at a "
	       "time:",
	       n, rounds);
	for (int k = 0; k < K; k++)
		if (on[k])
			printf(" %s (%s);", kinds[k], what[k]);
	printf(" the export's chunks: %d entries\n", STORE_EXPORT_CHUNK);
	for (size_t round = 0; round < rounds; round++) {
		/* the snapshots of the kinds that do not export ("entry", "strip") */
		const struct node_snap *snap[K - XR_N] = {xs.full, &xs.plain, xs.full, &xs.plain};
		double t[K] = {0};

		for (int k = 0; k < XR_N; k++)
			if (on[k])
				x_run_reset(&xr[k]);
		for (size_t b = 0; b < n; b += XBATCH) {
			size_t len = n - b < XBATCH ? n - b : XBATCH;

			order(&seed, K, perm);
			for (size_t j = 0; j < K; j++) {
				size_t k = perm[j];
				double u;

				if (!on[k])
					continue;
				if (k < XR_N)
					u = x_run_batch(&xr[k], s, len);
				else if (k < XR_N + 2)
					u = x_views(snap[k - XR_N], s, ids + b, len, view);
				else
					u = x_strip(snap[k - XR_N], &m, b, len, view);
				if (u < 0)
					die(kinds[k], -EINVAL);
				t[k] += u;
			}
		}
		for (int k = 0; k < K; k++)
			us[k][round] = t[k] * 1e6 / (double)n;
		if (all) {
			d[0][round] = us[0][round] - us[1][round];
			d[1][round] = us[2][round] - us[3][round];
			d[2][round] = us[4][round] - us[5][round];
			d[3][round] = us[6][round] - us[7][round];
		}
	}
	for (int k = 0; k < K; k++) {
		if (!on[k])
			continue;
		med[k] = median(us[k], rounds);
		printf("views:    %-13s %8.3f us/view CPU (median of %zu rounds; min %.3f, max %.3f)\n",
		       kinds[k], med[k], rounds, us[k][0], us[k][rounds - 1]);
	}
	if (all) {
		double v[4];

		for (int k = 0; k < 4; k++)
			v[k] = median(d[k], rounds);
		printf("redact:   %10.2f us/view    inside the export (with less without, median of "
		       "the rounds' differences, %.2f-%.2f); one member less none: %.2f us; one "
		       "entry at a time (node_exporter_view()): %.2f us; outside the export, "
		       "policy_strip_view() of the same views in memory: %.2f us (each the median "
		       "of the rounds' differences)\n",
		       v[0], d[0][0], d[0][rounds - 1], v[1], v[2], v[3]);
	}
	for (int k = 0; k < XR_N; k++)
		if (on[k])
			x_run_close(&xr[k]);
	store_close(s);
	x_snaps_deinit(&xs);
	free(m.desc);
	free(m.desc_len);
	free(m.tag);
	free(view);
	free(ids);
}

/*
 * "export": step 4's whole export alone, for profilers and A/B runs of the export itself
 * (loop fission, the store's read path) and of the redactor's cost in it: on the store an
 * earlier "views" or "export" run with the same N left in @base (else built now), each of
 * @rounds rounds empties an export environment for each of @which (store_export_reset(),
 * not timed) and exports all @n indicators into it with node_exporter_render(): "with" (the
 * 500-member redactor), "none" (a memberless roster: the text leaves, nothing is matched),
 * or "all" (both, interleaved a batch at a time, which goes first drawn per batch by
 * order(), so that both see the same moments of this shared machine). Prints each one's CPU
 * and wall time per document, the median of the rounds, and, with "all", the rounds'
 * differences in CPU time (the redactor's cost in the whole export, rendering and writing
 * included): their median, the mean of their middle half (the lowest and highest quarter
 * left out) and their range, and the median's share of the export's CPU time under "with".
 * For callgrind, --toggle-collect=store_export_sync.
 */
static void export_only(const char *base, size_t n, size_t rounds, const char *which)
{
	static const char *const kinds[] = {"with", "none"};
	struct xsnaps xs;
	struct store_export *x[2];
	struct store *s;
	uint8_t(*ids)[32] = malloc(n * 32);
	double cpu[2][VIEWS_ROUNDS_MAX], wall[2][VIEWS_ROUNDS_MAX], diff[VIEWS_ROUNDS_MAX];
	bool on[2];
	char path[512];
	uint64_t seed = ORDER_SEED;
	int rc;

	if (!ids)
		die("export", -ENOMEM);
	x_snaps_init(&xs);
	s = x_store(base, n, xs.pcfg.community, ids, true);
	for (int k = 0; k < 2; k++) {
		on[k] = strcmp(which, "all") == 0 || strcmp(which, kinds[k]) == 0;
		snprintf(path, sizeof(path), "%s/export-%s", base, kinds[k]);
		x[k] = x_env_open(path);
	}
	printf("export:   node_exporter_render() of step 4's %zu indicators into an emptied export, "
	       "batches of %d, durable, %zu rounds of: %s\n",
	       n, XBATCH, rounds, which);
	for (size_t round = 0; round < rounds; round++) {
		const struct node_snap *under[2] = {xs.full, xs.part_snap[1]};
		struct node_exporter_render_ctx ctx[2];
		size_t done[2] = {0}, perm[KINDS_MAX];

		for (int k = 0; k < 2; k++) {
			cpu[k][round] = wall[k][round] = 0;
			if (!on[k])
				continue;
			if ((rc = node_exporter_render_init(&ctx[k], under[k])) != 0)
				die("node_exporter_render_init", rc);
			if ((rc = store_export_reset(x[k], (const uint8_t *)"bench", 5)) != 0)
				die("store_export_reset", rc);
		}
		for (bool more = true; more;) {
			more = false;
			order(&seed, 2, perm);
			for (size_t j = 0; j < 2; j++) {
				size_t k = perm[j];
				double w, c;

				if (!on[k])
					continue;
				w = bench_now_s();
				c = bench_cpu_s();
				rc = store_export_sync(s, x[k], node_exporter_render, &ctx[k],
						       XBATCH);
				cpu[k][round] += bench_cpu_s() - c;
				wall[k][round] += bench_now_s() - w;
				if (rc < 0)
					die("store_export_sync", rc);
				done[k] += (size_t)rc;
				more |= rc > 0;
			}
		}
		for (int k = 0; k < 2; k++) {
			if (!on[k])
				continue;
			node_exporter_render_deinit(&ctx[k]);
			if (done[k] != n)
				die("export incomplete", -EPROTO);
			cpu[k][round] *= 1e6 / (double)n;
			wall[k][round] *= 1e6 / (double)n;
		}
		if (on[0] && on[1])
			diff[round] = cpu[0][round] - cpu[1][round];
	}
	for (int k = 0; k < 2; k++) {
		if (!on[k])
			continue;
		printf("export:   %-4s %8.2f us/doc CPU, %8.2f us/doc wall (medians of %zu rounds)\n",
		       kinds[k], median(cpu[k], rounds), median(wall[k], rounds), rounds);
	}
	if (on[0] && on[1]) {
		double v = median(diff, rounds), tm = trimmed_mean(diff, rounds);
		double c = median(cpu[0], rounds);

		printf("redact:   %10.2f us/doc     in the whole export (CPU with the 500-member "
		       "roster less under a memberless roster, interleaved a batch at a time, "
		       "median of %zu rounds' differences, %.2f-%.2f; mean of their middle half "
		       "%.2f): %.1f %% of the export's CPU time\n",
		       v, rounds, diff[0], diff[rounds - 1], tm, 100 * v / c);
	}
	for (int k = 0; k < 2; k++)
		store_export_close(x[k]);
	store_close(s);
	x_snaps_deinit(&xs);
	free(ids);
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
			double t0 = bench_now_s(), c0 = bench_cpu_s();

			if (which == 0) {
				for (size_t i = 0; i < per; i++) {
					uint8_t *out;
					size_t len;

					rc = store_report_get(s, NULL,
							      ids[viewgen_xorshift(rng) % n], &out,
							      &len);
					if (rc != 0)
						die("store_report_get", rc);
					free(out);
				}
			} else if ((rc = store_raw_get_run(g, per, which == 2)) != 0) {
				die("store_raw_get_run", rc);
			}
			t[which] += bench_now_s() - t0;
			c[which] += bench_cpu_s() - c0;
		}
	store_raw_get_close(g);
	for (int i = 0; i < 3; i++) {
		rate[i] = (double)(per * LOOKUP_ROUNDS) / t[i];
		cpu_us[i] = c[i] * 1e6 / (double)(per * LOOKUP_ROUNDS);
	}
}

static void count_progress(void *arg, const char *step, uint64_t done, uint64_t total)
{
	(void)step;
	(void)done;
	(void)total;
	++*(uint64_t *)arg;
}

/*
 * "sums": what store_open() spends upgrading a store written by schema 2 (building the
 * recon_sums tree of schema 3 from recon in one transaction, before the daemon's READY=1,
 * which systemd's start timeout bounds). @n reports created @created_step ms apart (default
 * 31,536: 1 M reports over a year, each in a finest bucket of its own, the most sum entries a
 * report can cost) in DIR/sums; then three rounds of: set back to schema 2, an upgrading
 * open, a plain open of the same store (the rest of every open, chiefly the id map).
 */
static void sums_step(const char *base, size_t n, struct batch *b, uint8_t (*ids)[32])
{
	const uint8_t v2[4] = {0, 0, 0, 2};
	struct store_config sc = {0};
	struct store_debug_tree tr;
	struct store *s;
	char path[512];
	uint64_t calls = 0;
	int rc;

	snprintf(path, sizeof(path), "%s/sums", base);
	sc.dir = path; /* the daemon's default map: a smaller one would grow (and retry) here */
	if ((rc = store_open(&s, &sc)) != 0)
		die("store_open", rc);
	for (size_t i = 0; i < n; i += BATCH) {
		size_t k = n - i < BATCH ? n - i : BATCH;

		build(b, i, k, ids);
		if ((rc = store_ingest(s, b->items, k, b->r[k - 1].created_ms)) != 0)
			die("store_ingest", rc);
	}
	store_close(s);
	printf("sums:     %zu GREEN reports created %llu ms apart (%.1f days), in %s\n", n,
	       (unsigned long long)created_step, (double)n * (double)created_step / 86400000.0,
	       path);
	sc.progress = count_progress;
	sc.progress_arg = &calls;
	for (int round = 0; round < 3; round++) {
		struct cost up = {0}, plain = {0}, a;

		if ((rc = store_open(&s, &sc)) != 0 ||
		    (rc = store_debug_put(s, "meta", "schema", 6, v2, 4)) != 0)
			die("store back to schema 2", rc);
		store_close(s);
		calls = 0;
		a = cost_now();
		if ((rc = store_open(&s, &sc)) != 0)
			die("store_open (upgrade)", rc);
		cost_add(&up, a);
		if ((rc = store_debug_tree(s, "recon_sums", &tr)) != 0)
			die("store_debug_tree", rc);
		store_close(s);
		a = cost_now();
		if ((rc = store_open(&s, &sc)) != 0)
			die("store_open (plain)", rc);
		cost_add(&plain, a);
		store_close(s);
		printf("sums:     upgrading open %.3f s (CPU %.3f s), plain open %.3f s (CPU %.3f s): "
		       "the sums %.2f s per million reports (CPU %.2f s); %llu sum entries, %llu "
		       "progress calls\n",
		       up.wall, up.cpu, plain.wall, plain.cpu,
		       (up.wall - plain.wall) * 1e6 / (double)n,
		       (up.cpu - plain.cpu) * 1e6 / (double)n, (unsigned long long)tr.entries,
		       (unsigned long long)calls);
	}
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
	const char *base = argc > 2 ? argv[2] : NULL;
	bool ingest_only = argc > 3 && strcmp(argv[3], "ingest") == 0;
	bool lookups_only = argc > 3 && strcmp(argv[3], "lookups") == 0;
	bool sums_only = argc > 3 && strcmp(argv[3], "sums") == 0;
	bool views_only = argc > 3 && strcmp(argv[3], "views") == 0;
	bool export_only_ = argc > 3 && strcmp(argv[3], "export") == 0;
	char tmpl[] = "/var/tmp/bench_store-XXXXXX", path[512], cmd[600];
	struct store_config sc = {0};
	struct store *s;
	struct store_stat st;
	struct batch *b;
	uint8_t(*ids)[32];
	double t, t_ingest = 0, t_dup = 0, rate = 0, raw = 0, look = 0, look_sum, lr[3], lc[3];
	struct cost ci = {0}, cr = {0};
	struct store_raw *rw;
	char rpath[512];
	uint64_t rng = 88172645463325252ull;
	int rc;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(usage, stdout);
		return 0;
	}
	if (n < BATCH ||
	    (argc > 3 && !ingest_only && !lookups_only && !sums_only && !views_only &&
	     !export_only_) ||
	    (lookups_only && argc < 3)) {
		fputs(usage, stderr);
		return 2;
	}
	b = malloc(sizeof(*b));
	ids = malloc(n * 32);
	if (!b || !ids)
		return 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (proto_crypto_init() != 0)
		return 1;
	if (!base) {
		base = mkdtemp(tmpl);
		if (!base)
			return 1;
	}
	if (sums_only) {
		created_step = argc > 4 ? strtoull(argv[4], NULL, 10) : 31536;
		sums_step(base, n, b, ids);
		goto out;
	}
	if (views_only) {
		size_t rounds = argc > 4 ? strtoul(argv[4], NULL, 10) : 5;
		const char *which = argc > 5 ? argv[5] : "all";

		if (rounds == 0 || rounds > VIEWS_ROUNDS_MAX || n > EXPORT_MAX ||
		    (strcmp(which, "all") && strcmp(which, "with") && strcmp(which, "without") &&
		     strcmp(which, "one") && strcmp(which, "none") && strcmp(which, "entry") &&
		     strcmp(which, "entry-without") && strcmp(which, "strip") &&
		     strcmp(which, "strip-without"))) {
			fputs(usage, stderr);
			free(ids);
			free(b);
			return 2;
		}
		views_step(base, n, rounds, which);
		goto out;
	}
	if (export_only_) {
		size_t rounds = argc > 4 ? strtoul(argv[4], NULL, 10) : 9;
		const char *which = argc > 5 ? argv[5] : "all";

		if (rounds == 0 || rounds > VIEWS_ROUNDS_MAX || n > EXPORT_MAX ||
		    (strcmp(which, "all") && strcmp(which, "with") && strcmp(which, "none"))) {
			fputs(usage, stderr);
			free(ids);
			free(b);
			return 2;
		}
		export_only(base, n, rounds, which);
		goto out;
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
	t = bench_now_s();
	if ((rc = store_open(&s, &sc)) != 0)
		die("store_open (reopen)", rc);
	printf("reopen:   %10.3f s         (store_open, rebuilds the id map of %zu reports)\n",
	       bench_now_s() - t, n);

	/* 2. duplicates */
	for (size_t d = 0; d < DUPS; d += BATCH) {
		size_t first = (size_t)(viewgen_xorshift(&rng) % (n / BATCH)) * BATCH;

		build(b, first, BATCH, ids);
		t = bench_now_s();
		if ((rc = store_ingest(s, b->items, BATCH, 1700000000000ull + n)) != 0)
			die("store_ingest dup", rc);
		t_dup += bench_now_s() - t;
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
		t = bench_now_s();
		for (size_t i = 0; i < LOOKUPS; i += BATCH) {
			for (size_t j = 0; j < BATCH; j++)
				memcpy(q[j], ids[viewgen_xorshift(&rng) % n], 32);
			if ((rc = store_report_has(s, NULL, (const uint8_t(*)[32])q, BATCH,
						   present)) != 0)
				die("store_report_has", rc);
			for (size_t j = 0; j < BATCH; j++)
				if (!present[j])
					die("stored report not found", 0);
		}
		look_has = LOOKUPS / (bench_now_s() - t);
		printf("lookups:  %10.0f ids/s      (store_report_has, batches of %d, e.g. IHAVE)\n",
		       look_has, BATCH);
		free(q);
	}
	{
		struct store_read *rd = NULL;
		struct proto_summary sum;
		char v[40];
		uint8_t ind[32];

		t = bench_now_s();
		for (size_t i = 0; i < LOOKUPS; i++) {
			size_t k = viewgen_xorshift(&rng) % n;

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
		look_sum = LOOKUPS / (bench_now_s() - t);
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

		t = bench_now_s();
		if ((rc = store_recon_fingerprint(s, NULL, NULL, NULL, fp, &count)) != 0)
			die("store_recon_fingerprint", rc);
		t = bench_now_s() - t;
		printf("recon:    %10.2f ns/item    (fingerprint of the whole set, %llu items, "
		       "%.6f s)\n",
		       t * 1e9 / (double)count, (unsigned long long)count, t);
	}
	{
		/*
		 * Range fingerprints as catch-up asks for them: RECON_RANGES ranges at random
		 * places, of random width up to the whole set (created ms of report i is
		 * 1700000000000 + i), with random ids in their bounds.
		 */
		uint8_t fp[32], lo[STORE_RECON_KEY_LEN], hi[STORE_RECON_KEY_LEN], id[32];
		uint64_t seed = 0x7265636f6eull, count, items = 0;

		t = bench_now_s();
		for (int i = 0; i < RECON_RANGES; i++) {
			uint64_t a = viewgen_xorshift(&seed) % n,
				 w = 1 + viewgen_xorshift(&seed) % n;

			for (int k = 0; k < 32; k++)
				id[k] = (uint8_t)viewgen_xorshift(&seed);
			store_recon_key(lo, 1700000000000ull + a, id);
			id[0] ^= 0x80;
			store_recon_key(hi, 1700000000000ull + a + w, id);
			if ((rc = store_recon_fingerprint(s, NULL, lo, hi, fp, &count)) != 0)
				die("store_recon_fingerprint", rc);
			items += count;
		}
		t = bench_now_s() - t;
		printf("recon:    %10.1f us/range   (fingerprints of %d random ranges, %.0f items "
		       "each on average: %.2f ns/item)\n",
		       t * 1e6 / RECON_RANGES, RECON_RANGES, (double)items / RECON_RANGES,
		       items ? t * 1e9 / (double)items : 0.0);
	}

	export_step(base, n < EXPORT_MAX ? n : EXPORT_MAX);
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
