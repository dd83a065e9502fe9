/* SPDX-License-Identifier: MIT */
/*
 * Schema migrations 1 -> 2 -> 3 (store/store.h, store_open()) on a store written by the schema-1
 * release: tests/data/store-v1/ (made by its make.py: 60 reports of every kind, TLP and
 * provenance, 10 outbox entries). Checks:
 *   - opening migrates: store_verify() passes (schema 3, no unfinished migration, every
 *     record under its sequence key and found by id, recon_sums equal to the recon index
 *     summed again), the counts equal the ones the old
 *     release reported, every old id is found and its bytes decode as a report;
 *   - kill -9 at random moments during a migration of one record per transaction, then a
 *     plain reopen: the same result, whatever the moment (rounds that hit the middle are
 *     counted and must be the majority);
 *   - a migrated store opens again without migrating, and takes new reports;
 *   - a schema-2 store (no recon_sums: a stale entry planted) gets its sums rebuilt;
 *   - both steps report their progress (store_config.progress) up to all of their items,
 *     and an open with nothing to rewrite reports none;
 *   - a read-only open (store_config.read_only, `chatham check-config`) of the schema-1
 *     store says what a read-write open would do (store_upgrade_due()) and leaves data.mdb
 *     byte for byte as it was (until session 9 the check upgraded it); after the upgrade it
 *     says nothing is due and reads reports; where there is no store it creates nothing.
 * The data is part of the repository: when it is missing the test fails.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/report.h"
#include "store/store.h"
#include "store/store_test.h"
#include "testutil.h"

#define ROUNDS 24

struct v1 {
	char *dir; /* tests/data/store-v1 */
	uint8_t (*ids)[32];
	size_t n_ids;
	struct store_stat want; /* reports, indicators, outbox, feed_last */
};

static struct v1 g;

static char *data_path(const char *name)
{
	const char *src = getenv("CHATHAM_SOURCE_DIR");
	char *p;

	if (asprintf(&p, "%s/tests/data/store-v1/%s", src ? src : ".", name) < 0)
		return NULL;
	return p;
}

static int setup_all(void **state)
{
	char *p = data_path("ids.txt"), line[128];
	FILE *f;

	(void)state;
	assert_int_equal(proto_crypto_init(), 0);
	f = p ? fopen(p, "r") : NULL;
	if (!f)
		fail_msg("missing %s (tests/data/store-v1 is part of the repository)", p);
	g.ids = calloc(1000, 32);
	while (g.ids && fgets(line, sizeof(line), f) && g.n_ids < 1000) {
		size_t n;
		uint8_t *b = tu_unhex(strtok(line, "\n"), &n);

		assert_int_equal(n, 32);
		memcpy(g.ids[g.n_ids++], b, 32);
		free(b);
	}
	fclose(f);
	free(p);
	p = data_path("counts.txt");
	f = p ? fopen(p, "r") : NULL;
	if (!f)
		fail_msg("missing %s", p);
	while (fscanf(f, " %127[^= ]=", line) == 1) {
		unsigned long long v;

		assert_int_equal(fscanf(f, "%llu", &v), 1);
		if (strcmp(line, "reports") == 0)
			g.want.reports = v;
		else if (strcmp(line, "indicators") == 0)
			g.want.indicators = v;
		else if (strcmp(line, "outbox") == 0)
			g.want.outbox = v;
		else if (strcmp(line, "feed_last") == 0)
			g.want.feed_last = v;
	}
	fclose(f);
	free(p);
	assert_int_equal(g.n_ids, g.want.reports);
	assert_true(g.n_ids >= 50);
	return 0;
}

static int teardown_all(void **state)
{
	(void)state;
	free(g.ids);
	return 0;
}

/* A fresh temp dir holding a copy of the schema-1 data.mdb; returns the state dir. */
static char *fresh_copy(char **root)
{
	char *src = data_path("data.mdb"), *dst, *state;
	uint8_t *bytes;
	size_t len;
	FILE *f;

	*root = tu_tmpdir();
	assert_non_null(*root);
	bytes = tu_read_file(src, &len);
	if (!bytes)
		fail_msg("missing %s", src);
	assert_true(asprintf(&state, "%s/state", *root) > 0);
	assert_int_equal(mkdir(state, 0700), 0);
	assert_true(asprintf(&dst, "%s/data.mdb", state) > 0);
	f = fopen(dst, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(bytes, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	free(bytes);
	free(dst);
	free(src);
	return state;
}

/* What store_config.progress reported during opens. */
struct progress {
	int calls[2];		    /* [0] moving reports to schema 2, [1] building the sums */
	uint64_t done[2], total[2]; /* the last call's, per step */
	bool wrong;		    /* done went back, or past total */
};

static void on_progress(void *arg, const char *step, uint64_t done, uint64_t total)
{
	struct progress *p = arg;
	int i = strstr(step, "schema 2") ? 0 : 1;

	p->wrong |= done < p->done[i] || done > total;
	p->calls[i]++;
	p->done[i] = done;
	p->total[i] = total;
}

/*
 * The store in @state holds exactly the old release's data, in the current layout (after
 * the first open, which records its progress in @p unless NULL).
 */
static void check_migrated(const char *state, struct progress *p)
{
	struct store_config cfg = {
		.dir = state, .progress = p ? on_progress : NULL, .progress_arg = p};
	struct store *s;
	struct store_stat st;
	struct proto_report r;
	char why[160];
	int rc;

	rc = store_open(&s, &cfg);
	if (rc != 0)
		fail_msg("store_open after migration: %s", proto_error_str(rc));
	rc = store_verify(s, why, sizeof(why));
	if (rc != 0)
		fail_msg("store_verify: %s", why);
	assert_int_equal(store_stat(s, &st), 0);
	assert_int_equal(st.reports, g.want.reports);
	assert_int_equal(st.indicators, g.want.indicators);
	assert_int_equal(st.outbox, g.want.outbox);
	assert_int_equal(st.feed_last, g.want.feed_last);
	for (size_t i = 0; i < g.n_ids; i++) {
		uint8_t *bytes, rid[32], key[40];
		size_t len;

		assert_int_equal(store_report_get(s, NULL, g.ids[i], &bytes, &len), 0);
		assert_int_equal(proto_report_decode(&r, bytes, len), 0);
		proto_report_id(bytes, len, rid);
		assert_memory_equal(rid, g.ids[i], 32);
		assert_int_equal(store_debug_report_key(s, g.ids[i], key), 0);
		free(bytes);
	}
	store_close(s);
}

static void test_migrate_v1(void **state)
{
	char *root, *dir = fresh_copy(&root);
	struct progress p = {0}, again = {0};
	struct store_config cfg = {.dir = dir, .progress = on_progress, .progress_arg = &again};
	struct store *s;
	struct store_stat st;

	(void)state;
	check_migrated(dir, &p);
	assert_false(p.wrong);
	assert_true(p.calls[0] >= 1 && p.calls[1] >= 1);
	assert_true(p.done[0] == g.want.reports && p.total[0] == g.want.reports);
	assert_true(p.done[1] > 0 && p.done[1] == p.total[1]); /* the CLEAR/GREEN ones */
	/* Reopening does not migrate again, and the store takes new reports. */
	assert_int_equal(store_open(&s, &cfg), 0);
	assert_true(again.calls[0] == 0 && again.calls[1] == 0);
	{
		struct proto_report r;
		struct store_item it;
		uint8_t bytes[64] = "migrated-then-new";

		memset(&r, 0, sizeof(r));
		r.kind = PROTO_KIND_INDICATOR;
		r.tlp = PROTO_TLP_GREEN;
		r.created_ms = 1700000000000ull;
		r.ind_type = PROTO_IND_DOMAIN;
		r.ind_value.ptr = "after.example";
		r.ind_value.len = strlen("after.example");
		memset(&it, 0, sizeof(it));
		it.bytes = bytes;
		it.len = sizeof(bytes);
		memset(it.report_id, 0xee, 32);
		it.r = &r;
		assert_int_equal(store_ingest(s, &it, 1, r.created_ms), 0);
		assert_int_equal(it.result, STORE_NEW);
		memcpy(it.report_id, g.ids[0], 32);
		assert_int_equal(store_ingest(s, &it, 1, r.created_ms), 0);
		assert_int_equal(it.result, STORE_DUP);
	}
	assert_int_equal(store_stat(s, &st), 0);
	assert_int_equal(st.reports, g.want.reports + 1);
	store_close(s);
	tu_rmtree(root);
	free(dir);
	free(root);
}

/*
 * Schema 2 -> 3: a store without recon_sums (here: the migrated store set back to schema 2,
 * with a stale sum in the tree) gets the sums rebuilt from recon at open, and schema 3.
 */
static void test_migrate_v2_sums(void **state)
{
	char *root, *dir = fresh_copy(&root);
	struct store_config cfg = {.dir = dir};
	const uint8_t v2[4] = {0, 0, 0, 2}, stale_key[9] = {0, 0, 0, 0, 0, 0, 0, 0, 7};
	uint8_t fp0[32], fp[32], stale[40];
	uint64_t n0, n;
	struct store *s;
	struct progress p = {0};
	char why[160];

	(void)state;
	check_migrated(dir, NULL);
	assert_int_equal(store_open(&s, &cfg), 0);
	assert_int_equal(store_recon_fingerprint(s, NULL, NULL, NULL, fp0, &n0), 0);
	assert_true(n0 > 0);
	memset(stale, 0x5a, sizeof(stale));
	assert_int_equal(store_debug_put(s, "meta", "schema", 6, v2, 4), 0);
	assert_int_equal(store_debug_put(s, "recon_sums", stale_key, 9, stale, 40), 0);
	assert_int_equal(store_verify(s, why, sizeof(why)), STORE_E_CORRUPT);
	store_close(s);
	check_migrated(dir, &p); /* schema 3 again, store_verify() finds the sums right */
	assert_false(p.wrong);
	assert_true(p.calls[0] == 0 && p.calls[1] >= 1);
	assert_true(p.done[1] == n0 && p.total[1] == n0);
	assert_int_equal(store_open(&s, &cfg), 0);
	assert_int_equal(store_recon_fingerprint(s, NULL, NULL, NULL, fp, &n), 0);
	assert_true(n == n0);
	assert_memory_equal(fp, fp0, 32);
	store_close(s);
	tu_rmtree(root);
	free(dir);
	free(root);
}

static void test_read_only_open(void **state)
{
	char *root, *dir = fresh_copy(&root), *data, *lock, *none;
	struct store_config cfg = {.dir = dir, .read_only = true};
	const uint8_t v[4] = {0, 0, 0, 9};
	uint8_t *before, *after, *bytes;
	size_t len_before, len_after, len;
	struct store *s;
	uint32_t schema;
	unsigned due;

	(void)state;
	assert_true(asprintf(&data, "%s/data.mdb", dir) > 0);
	assert_true(asprintf(&lock, "%s/store.lock", dir) > 0);
	assert_true(asprintf(&none, "%s/none", root) > 0);
	before = tu_read_file(data, &len_before);
	assert_non_null(before);
	assert_int_equal(store_open(&s, &cfg), 0);
	due = store_upgrade_due(s, &schema);
	assert_int_equal(schema, 1);
	assert_true((due & STORE_UPGRADE_MIGRATE) && (due & STORE_UPGRADE_SUMS));
	assert_int_equal(store_debug_put(s, "meta", "schema", 6, v, 4), -EROFS);
	store_close(s);
	after = tu_read_file(data, &len_after);
	assert_non_null(after);
	assert_int_equal(len_after, len_before);
	assert_memory_equal(after, before, len_before);
	assert_int_not_equal(access(lock, F_OK), 0);
	free(after);

	check_migrated(dir, NULL); /* the read-write open upgrades it */
	assert_int_equal(store_open(&s, &cfg), 0);
	assert_int_equal(store_upgrade_due(s, &schema), 0);
	assert_int_equal(schema, STORE_SCHEMA_VERSION);
	assert_int_equal(store_report_get(s, NULL, g.ids[0], &bytes, &len), 0);
	free(bytes);
	store_close(s);

	cfg.dir = none;
	assert_int_equal(store_open(&s, &cfg), STORE_E_NOT_FOUND);
	assert_int_not_equal(access(none, F_OK), 0);
	free(before);
	free(data);
	free(lock);
	free(none);
	tu_rmtree(root);
	free(dir);
	free(root);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* How long a whole migration takes with one record per transaction, in a child. */
static pid_t spawn_migration(const char *dir)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct store_config cfg = {.dir = dir, .migrate_batch = 1};
		struct store *s;

		_exit(store_open(&s, &cfg) == 0 ? 0 : 1);
	}
	return pid;
}

static void test_kill_during_migration(void **state)
{
	uint64_t rng = 0x5eedf00d;
	double full;
	int st, mid = 0;

	(void)state;
	/*
	 * The kills are spread over the fastest of three whole migrations: one slow run on a
	 * loaded machine would otherwise set delays that outlast the later, faster ones.
	 */
	full = 0;
	for (int i = 0; i < 3; i++) {
		char *root, *dir = fresh_copy(&root);
		double t0 = now_ms(), t;

		assert_int_equal(waitpid(spawn_migration(dir), &st, 0) > 0, 1);
		t = now_ms() - t0;
		full = i == 0 || t < full ? t : full;
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		check_migrated(dir, NULL);
		tu_rmtree(root);
		free(dir);
		free(root);
	}
	for (int round = 0; round < ROUNDS; round++) {
		char *root, *dir = fresh_copy(&root);
		pid_t pid = spawn_migration(dir);
		useconds_t delay = (useconds_t)(tu_rand(&rng) % (uint64_t)(full * 700.0 + 1));

		usleep(delay);
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &st, 0), pid);
		mid += WIFSIGNALED(st);
		check_migrated(dir, NULL);
		tu_rmtree(root);
		free(dir);
		free(root);
	}
	print_message("migration of %zu records, one per transaction: %.0f ms; %d of %d rounds "
		      "killed before it finished\n",
		      g.n_ids, full, mid, ROUNDS);
	assert_true(mid >= ROUNDS / 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migrate_v1),
		cmocka_unit_test(test_migrate_v2_sums),
		cmocka_unit_test(test_read_only_open),
		cmocka_unit_test(test_kill_during_migration),
	};

	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
