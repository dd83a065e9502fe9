/* SPDX-License-Identifier: MIT */
/*
 * The export environment: sync renders exactly the main feed entries after last_seq, skips
 * what the renderer skips, writes nothing when rendering fails, refuses a main store it was
 * not derived from, serves read-only readers, reclaims the slot of a reader that died, adopts
 * a map another process grew, and feeds deploy/siem/chatham-siem-pull, which is run against
 * a writer process that ingests and syncs concurrently.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/indicator.h"
#include "store/export.h"
#include "store/store.h"
#include "testutil.h"

extern char **environ;

#define T0 1700000000000ull
#define PYTHON "/usr/bin/python3"

struct fx {
	char *dir, *sdir, *xdir;
	struct store *s;
	struct store_export *x;
};

/* Ingest one attributed report on domain @value by @voter. */
static void put(struct store *s, const char *value, int kind, int tlp, int voter, uint64_t salt)
{
	struct proto_report r;
	struct store_item it;
	char bytes[160];
	const void *parts[1];
	size_t lens[1];

	memset(&r, 0, sizeof(r));
	r.kind = (uint8_t)kind;
	r.tlp = (uint8_t)tlp;
	r.confidence = 50;
	r.created_ms = T0 + salt;
	r.ind_type = PROTO_IND_DOMAIN;
	r.ind_value.ptr = value;
	r.ind_value.len = strlen(value);
	r.prov = PROTO_PROV_ATTRIBUTED;
	memset(r.signer, voter, 32);
	memset(&it, 0, sizeof(it));
	it.len = (size_t)snprintf(bytes, sizeof(bytes), "%s|%d|%d|%d|%llu", value, kind, tlp, voter,
				  (unsigned long long)salt);
	it.bytes = (const uint8_t *)bytes;
	parts[0] = bytes;
	lens[0] = it.len;
	proto_hash(it.report_id, 32, parts, lens, 1);
	it.r = &r;
	assert_int_equal(store_ingest(s, &it, 1, T0), 0);
	assert_true(it.result == STORE_NEW || it.result == STORE_DUP);
}

struct render_ctx {
	int calls;     /* entries rendered */
	int fail_at;   /* return -EIO on this entry (1-based), 0 = never */
	bool skip_red; /* policy: RED not exported */
	bool count_votes;
	size_t chunks[64]; /* the size of each chunk given, in order */
	size_t n_chunks;
	uint64_t last; /* the last sequence given */
};

static int count_cb(void *ctx, const struct store_report_info *info, const uint8_t *bytes,
		    size_t len)
{
	(void)info;
	(void)bytes;
	(void)len;
	(*(unsigned *)ctx)++;
	return 0;
}

/* A JSON document like node/ would render: stripped counts only. */
static int render_entry(struct render_ctx *rc, struct store *s, struct store_read *rd,
			const struct store_feed_entry *e, uint8_t **doc, size_t *len)
{
	struct proto_summary sum;
	char hex[65], *out;
	unsigned votes = 0;
	int err, n;

	if (rc) {
		rc->calls++;
		if (rc->fail_at && rc->calls == rc->fail_at)
			return -EIO;
	}
	err = store_summary_get(s, rd, e->ind_id, &sum);
	if (err)
		return err;
	if (rc && rc->skip_red && sum.tlp == PROTO_TLP_RED) {
		*doc = NULL;
		return 0;
	}
	if (rc && rc->count_votes) {
		err = store_votes_iter(s, rd, e->ind_id, count_cb, &votes);
		if (err)
			return err;
		assert_int_equal(votes, sum.n_members + sum.n_false_positive);
	}
	proto_hex_encode(hex, e->ind_id, 32);
	n = asprintf(&out,
		     "{\"seq\":%llu,\"indicator\":\"%s\",\"value\":\"%s\",\"state\":%u,"
		     "\"members\":%u}",
		     (unsigned long long)e->seq, hex, sum.ind.value, e->state, sum.n_members);
	if (n < 0)
		return -ENOMEM;
	*doc = (uint8_t *)out;
	*len = (size_t)n;
	return 0;
}

/*
 * The store_export_render_fn: each entry of the chunk by render_entry(). Entries come in
 * feed order, at most STORE_EXPORT_CHUNK at a time, with no document yet.
 */
static int render(void *arg, struct store *s, struct store_read *rd,
		  const struct store_feed_entry *e, size_t n, uint8_t **docs, size_t *lens)
{
	struct render_ctx *rc = arg;

	assert_true(n >= 1 && n <= STORE_EXPORT_CHUNK);
	if (rc && rc->n_chunks < sizeof(rc->chunks) / sizeof(rc->chunks[0]))
		rc->chunks[rc->n_chunks++] = n;
	for (size_t i = 0; i < n; i++) {
		int err;

		assert_null(docs[i]);
		if (rc) {
			assert_true(e[i].seq > rc->last);
			rc->last = e[i].seq;
		}
		if ((err = render_entry(rc, s, rd, &e[i], &docs[i], &lens[i])) != 0)
			return err;
	}
	return 0;
}

struct docs {
	uint64_t seqs[4096];
	size_t n;
	bool bad_json;
};

/*
 * @doc points into the export's map and is not NUL-terminated: sscanf() on it would look for
 * the terminator past the document, and a document that ends at the end of the data file
 * (the first one put on a new page often does) made it read past the end: SIGBUS. So the
 * start is copied and terminated first.
 */
static int doc_cb(void *ctx, uint64_t seq, const uint8_t *doc, size_t len)
{
	struct docs *d = ctx;
	unsigned long long in_doc;
	char head[64];

	memcpy(head, doc, len < sizeof(head) - 1 ? len : sizeof(head) - 1);
	head[len < sizeof(head) - 1 ? len : sizeof(head) - 1] = '\0';
	if (sscanf(head, "{\"seq\":%llu", &in_doc) != 1 || in_doc != seq || !len ||
	    doc[len - 1] != '}')
		d->bad_json = true;
	if (d->n < sizeof(d->seqs) / sizeof(d->seqs[0]))
		d->seqs[d->n++] = seq;
	return 0;
}

static int sync_all(struct fx *f, struct render_ctx *rc, size_t batch)
{
	int n, total = 0;

	while ((n = store_export_sync(f->s, f->x, render, rc, batch)) > 0)
		total += n;
	assert_int_equal(n, 0);
	return total;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct store_config sc = {0};
	struct store_export_config xc = {0};

	assert_non_null(f);
	f->dir = tu_tmpdir();
	assert_non_null(f->dir);
	assert_true(asprintf(&f->sdir, "%s/state", f->dir) > 0);
	assert_true(asprintf(&f->xdir, "%s/export", f->dir) > 0);
	sc.dir = f->sdir;
	assert_int_equal(store_open(&f->s, &sc), 0);
	xc.dir = f->xdir;
	xc.community = "FIRST-EU";
	assert_int_equal(store_export_open(&f->x, &xc), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	store_export_close(f->x);
	store_close(f->s);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f->sdir);
	free(f->xdir);
	free(f);
	return 0;
}

static void test_sync_basic(void **state)
{
	struct fx *f = *state;
	struct docs d = {0};
	uint64_t last;

	assert_int_equal(store_export_last_seq(f->x, &last), 0);
	assert_true(last == 0);
	put(f->s, "a.example", PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, 1, 1);
	put(f->s, "b.example", PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, 1, 2);
	put(f->s, "c.example", PROTO_KIND_SIGHTING, PROTO_TLP_CLEAR, 2, 3);
	assert_int_equal(sync_all(f, NULL, 0), 3);
	assert_int_equal(store_export_sync(f->s, f->x, render, NULL, 0), 0);
	assert_int_equal(store_export_last_seq(f->x, &last), 0);
	assert_true(last == 3);
	put(f->s, "a.example", PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, 2, 4);
	assert_int_equal(sync_all(f, NULL, 0), 1);
	assert_int_equal(store_export_iter(f->x, 0, 0, doc_cb, &d), 4);
	assert_false(d.bad_json);
	for (size_t i = 0; i < 4; i++)
		assert_true(d.seqs[i] == i + 1);
	memset(&d, 0, sizeof(d));
	assert_int_equal(store_export_iter(f->x, 2, 1, doc_cb, &d), 1);
	assert_true(d.seqs[0] == 3);
}

static void test_sync_batches_and_votes(void **state)
{
	struct fx *f = *state;
	struct render_ctx rc = {.count_votes = true};
	char v[32];

	for (int i = 0; i < 5; i++) {
		snprintf(v, sizeof(v), "batch%d.example", i);
		put(f->s, v, PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, 1, (uint64_t)i);
		put(f->s, v, PROTO_KIND_FALSE_POSITIVE, PROTO_TLP_GREEN, 2, (uint64_t)i);
	}
	assert_int_equal(store_export_sync(f->s, f->x, render, &rc, 4), 4);
	assert_int_equal(store_export_sync(f->s, f->x, render, &rc, 4), 4);
	assert_int_equal(store_export_sync(f->s, f->x, render, &rc, 4), 2);
	assert_int_equal(store_export_sync(f->s, f->x, render, &rc, 4), 0);
	assert_int_equal(rc.calls, 10);
}

/*
 * The renderer is given chunks of STORE_EXPORT_CHUNK entries in feed order, the last one of
 * a batch partial, and every document lands under its own entry's sequence.
 */
static void test_sync_chunks(void **state)
{
	struct fx *f = *state;
	struct render_ctx rc = {0};
	struct docs d = {0};
	char v[32];

	for (int i = 0; i < 2 * STORE_EXPORT_CHUNK + 6; i++) {
		snprintf(v, sizeof(v), "chunk%d.example", i);
		put(f->s, v, PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, 1, (uint64_t)i);
	}
	assert_int_equal(store_export_sync(f->s, f->x, render, &rc, STORE_EXPORT_CHUNK + 8),
			 STORE_EXPORT_CHUNK + 8);
	assert_int_equal(store_export_sync(f->s, f->x, render, &rc, 0), STORE_EXPORT_CHUNK - 2);
	assert_int_equal(rc.n_chunks, 3);
	assert_int_equal(rc.chunks[0], STORE_EXPORT_CHUNK);
	assert_int_equal(rc.chunks[1], 8);
	assert_int_equal(rc.chunks[2], STORE_EXPORT_CHUNK - 2);
	assert_int_equal(rc.calls, 2 * STORE_EXPORT_CHUNK + 6);
	assert_int_equal(store_export_iter(f->x, 0, 0, doc_cb, &d), 2 * STORE_EXPORT_CHUNK + 6);
	assert_false(d.bad_json); /* each document names its own sequence */
	for (size_t i = 0; i < d.n; i++)
		assert_true(d.seqs[i] == i + 1);
}

static void test_sync_skip(void **state)
{
	struct fx *f = *state;
	struct render_ctx rc = {.skip_red = true};
	struct docs d = {0};
	uint64_t last;

	put(f->s, "green.example", PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, 1, 1);
	put(f->s, "red.example", PROTO_KIND_INDICATOR, PROTO_TLP_RED, 1, 2);
	put(f->s, "amber.example", PROTO_KIND_INDICATOR, PROTO_TLP_AMBER, 1, 3);
	assert_int_equal(sync_all(f, &rc, 0), 3);
	assert_int_equal(store_export_last_seq(f->x, &last), 0);
	assert_true(last == 3);
	assert_int_equal(store_export_iter(f->x, 0, 0, doc_cb, &d), 2);
	assert_true(d.seqs[0] == 1 && d.seqs[1] == 3);
}

static void test_render_error_writes_nothing(void **state)
{
	struct fx *f = *state;
	struct render_ctx rc = {.fail_at = 2};
	struct docs d = {0};
	uint64_t last;

	put(f->s, "x1.example", PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, 1, 1);
	put(f->s, "x2.example", PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, 1, 2);
	assert_int_equal(store_export_sync(f->s, f->x, render, &rc, 0), -EIO);
	assert_int_equal(store_export_last_seq(f->x, &last), 0);
	assert_true(last == 0);
	assert_int_equal(store_export_iter(f->x, 0, 0, doc_cb, &d), 0);
	/* The next sync renders both, once. */
	assert_int_equal(sync_all(f, NULL, 0), 2);
	assert_int_equal(store_export_iter(f->x, 0, 0, doc_cb, &d), 2);
}

static void test_foreign_store_refused(void **state)
{
	struct fx *f = *state;
	struct store_config sc = {0};
	struct store *other;
	char *odir;

	put(f->s, "mine.example", PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, 1, 1);
	assert_int_equal(sync_all(f, NULL, 0), 1);
	assert_true(asprintf(&odir, "%s/other", f->dir) > 0);
	sc.dir = odir;
	assert_int_equal(store_open(&other, &sc), 0);
	assert_int_equal(store_export_sync(other, f->x, render, NULL, 0), STORE_E_EXPORT_FOREIGN);
	store_close(other);
	free(odir);
}

static void test_readonly_reader(void **state)
{
	struct fx *f = *state;
	struct store_export *ro;
	struct docs d = {0};
	char name[32];
	uint8_t id1[16], id2[16];

	put(f->s, "ro.example", PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, 1, 1);
	assert_int_equal(sync_all(f, NULL, 0), 1);
	assert_int_equal(store_export_env_id(f->x, id1), 0);
	/* One process must not open an environment twice: close the writer first. */
	store_export_close(f->x);
	f->x = NULL;
	assert_int_equal(store_export_open_readonly(&ro, f->xdir), 0);
	assert_int_equal(store_export_iter(ro, 0, 0, doc_cb, &d), 1);
	assert_int_equal(store_export_community(ro, name, sizeof(name)), 0);
	assert_string_equal(name, "FIRST-EU");
	assert_int_equal(store_export_community(ro, name, 4), -ENOSPC);
	assert_int_equal(store_export_env_id(ro, id2), 0);
	assert_memory_equal(id1, id2, 16);
	assert_int_equal(store_export_sync(f->s, ro, render, NULL, 0), -EROFS);
	store_export_close(ro);
	assert_int_equal(store_export_open_readonly(&ro, f->sdir), STORE_E_NOT_FOUND);
	assert_int_equal(store_export_open_readonly(&ro, "/nonexistent/chatham-export"),
			 STORE_E_NOT_FOUND);
	assert_null(ro);
}

/* ------------------------------------------------------------------ other processes */

static bool have_python_lmdb(void)
{
	return access(PYTHON, X_OK) == 0 && system(PYTHON " -c 'import lmdb' 2>/dev/null") == 0;
}

/* Run python with @argv (NULL-terminated, argv[0] ignored); stdout into @out (may be NULL). */
static int run_python(char *const argv[], char **out, size_t *out_len)
{
	int pipefd[2], status;
	posix_spawn_file_actions_t fa;
	pid_t pid;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;

	assert_int_equal(pipe(pipefd), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_addclose(&fa, pipefd[0]);
	assert_int_equal(posix_spawn(&pid, PYTHON, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? 2 * cap : 65536;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		n = read(pipefd[0], buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(pipefd[0]);
	buf[len] = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (out) {
		*out = buf;
		*out_len = len;
	} else {
		free(buf);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static char *script_path(void)
{
	const char *src = getenv("CHATHAM_SOURCE_DIR");
	char *p;

	assert_true(asprintf(&p, "%s/deploy/siem/chatham-siem-pull", src ? src : ".") > 0);
	return p;
}

static int block_cb(void *ctx, uint64_t seq, const uint8_t *doc, size_t len)
{
	static const char one = '1';
	int fd = *(int *)ctx;

	(void)seq;
	(void)doc;
	(void)len;
	if (write(fd, &one, 1) != 1)
		_exit(3);
	for (;;)
		pause();
	return 0;
}

static void test_dead_reader_slot_reclaimed(void **state)
{
	struct fx *f = *state;
	struct store_export_config xc = {.community = "FIRST-EU", .max_readers = 1};
	int pipefd[2], status;
	uint64_t last;
	pid_t pid;
	char c;

	/* A writer whose lock file has a single reader slot. */
	store_export_close(f->x);
	tu_rmtree(f->xdir);
	xc.dir = f->xdir;
	assert_int_equal(store_export_open(&f->x, &xc), 0);
	put(f->s, "slot.example", PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, 1, 1);
	assert_int_equal(sync_all(f, NULL, 0), 1);
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* A SIEM reader that takes the only slot and dies holding it. */
		struct store_export *ro;

		close(pipefd[0]);
		if (store_export_open_readonly(&ro, f->xdir) != 0)
			_exit(2);
		store_export_iter(ro, 0, 0, block_cb, &pipefd[1]);
		_exit(4);
	}
	close(pipefd[1]);
	assert_int_equal(read(pipefd[0], &c, 1), 1);
	close(pipefd[0]);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	/* The table is full of a dead reader: reader_check reclaims it and the read goes on. */
	assert_int_equal(store_export_last_seq(f->x, &last), 0);
	assert_true(last == 1);
	put(f->s, "slot2.example", PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, 1, 2);
	assert_int_equal(sync_all(f, NULL, 0), 1);
}

static void test_map_resized_by_other_process(void **state)
{
	struct fx *f = *state;
	struct store_export_config xc = {.community = "FIRST-EU", .map_size_initial = 256 * 1024};
	struct store_export *ro;
	struct docs d = {0};
	char *code;
	int rc;

	if (!have_python_lmdb())
		skip();
	store_export_close(f->x);
	f->x = NULL;
	tu_rmtree(f->xdir);
	xc.dir = f->xdir;
	assert_int_equal(store_export_open(&f->x, &xc), 0);
	store_export_close(f->x);
	f->x = NULL;
	assert_int_equal(store_export_open_readonly(&ro, f->xdir), 0);
	assert_int_equal(store_export_iter(ro, 0, 0, doc_cb, &d), 0);
	/* Another process grows the map far past what this reader mapped. */
	assert_true(
		asprintf(
			&code,
			"import lmdb, struct\n"
			"env = lmdb.open('%s', map_size=64 << 20, max_dbs=4)\n"
			"db = env.open_db(b'feed')\n"
			"with env.begin(write=True) as t:\n"
			"    t.put(struct.pack('>Q', 7), b'{\"seq\":7,\"pad\":\"' + b'x' * (4 << 20) + b'\"}', db=db)\n",
			f->xdir) > 0);
	{
		char *argv[] = {"python3", "-c", code, NULL};

		rc = run_python(argv, NULL, NULL);
	}
	free(code);
	assert_int_equal(rc, 0);
	assert_int_equal(store_export_iter(ro, 0, 0, doc_cb, &d), 1);
	assert_false(d.bad_json);
	assert_true(d.seqs[0] == 7);
	store_export_close(ro);
}

/* A SIEM that reads a new export before its first sync sees meta last_seq = 0. */
static void test_new_export_has_last_seq(void **state)
{
	struct fx *f = *state;
	char *code, *out;
	size_t len;

	if (!have_python_lmdb())
		skip();
	assert_true(asprintf(&code,
			     "import lmdb, sys\n"
			     "env = lmdb.open('%s', readonly=True, max_dbs=4)\n"
			     "db = env.open_db(b'meta', create=False)\n"
			     "with env.begin() as t:\n"
			     "    sys.stdout.write(t.get(b'last_seq', db=db).hex())\n",
			     f->xdir) > 0);
	{
		char *argv[] = {"python3", "-c", code, NULL};

		assert_int_equal(run_python(argv, &out, &len), 0);
	}
	free(code);
	assert_string_equal(out, "0000000000000000");
	free(out);
}

static void test_schema_newer_refused(void **state)
{
	struct fx *f = *state;
	struct store_export_config xc = {.dir = f->xdir, .community = "FIRST-EU"};
	struct store_export *ro;
	char *code, *script, *out;
	size_t len;
	int rc;

	if (!have_python_lmdb())
		skip();
	store_export_close(f->x);
	f->x = NULL;
	assert_true(asprintf(&code,
			     "import lmdb\n"
			     "env = lmdb.open('%s', max_dbs=4)\n"
			     "db = env.open_db(b'meta')\n"
			     "with env.begin(write=True) as t:\n"
			     "    t.put(b'schema', b'\\x00\\x00\\x00\\x63', db=db)\n",
			     f->xdir) > 0);
	{
		char *argv[] = {"python3", "-c", code, NULL};

		assert_int_equal(run_python(argv, NULL, NULL), 0);
	}
	free(code);
	assert_int_equal(store_export_open(&f->x, &xc), STORE_E_SCHEMA_NEWER);
	assert_null(f->x);
	assert_int_equal(store_export_open_readonly(&ro, f->xdir), STORE_E_SCHEMA_NEWER);
	script = script_path();
	{
		char *argv[] = {"python3", script, "--export-dir", f->xdir, NULL};

		rc = run_python(argv, &out, &len);
	}
	assert_int_equal(rc, 1);
	assert_int_equal(len, 0);
	free(out);
	free(script);
}

/*
 * The SIEM puller against a live writer: a child process ingests batches and syncs the
 * export as fast as it can while this process runs chatham-siem-pull again and again with
 * a state file and a small --limit. Every exported document must come out exactly once, in
 * sequence order, across all runs.
 */
static void test_siem_pull_concurrent(void **state)
{
	struct fx *f = *state;
	enum { ROUNDS = 150, PER_ROUND = 10 };
	struct store_export *ro;
	struct docs want = {0};
	uint64_t *got = calloc(8192, sizeof(*got));
	size_t n_got = 0, runs = 0;
	char *script, *statef, limit[16];
	int status, rc;
	bool writer_done = false;
	pid_t pid;

	if (!have_python_lmdb())
		skip();
	assert_non_null(got);
	script = script_path();
	assert_true(asprintf(&statef, "%s/siem.state", f->dir) > 0);
	/* The child opens its own handles: LMDB environments must not cross fork(). */
	store_export_close(f->x);
	store_close(f->s);
	f->x = NULL;
	f->s = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store_config sc = {.dir = f->sdir};
		struct store_export_config xc = {.dir = f->xdir, .community = "FIRST-EU"};
		char v[48];

		if (store_open(&f->s, &sc) != 0 || store_export_open(&f->x, &xc) != 0)
			_exit(2);
		for (int r = 0; r < ROUNDS; r++) {
			for (int i = 0; i < PER_ROUND; i++) {
				/* New indicators and updates of earlier ones. */
				snprintf(v, sizeof(v), "live%d.example", (r * PER_ROUND + i) % 700);
				put(f->s, v, PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, 1 + r % 5,
				    (uint64_t)(r * PER_ROUND + i));
			}
			if (store_export_sync(f->s, f->x, render, NULL, 7) < 0)
				_exit(3);
		}
		while ((rc = store_export_sync(f->s, f->x, render, NULL, 0)) > 0)
			;
		store_export_close(f->x);
		store_close(f->s);
		_exit(rc == 0 ? 0 : 4);
	}
	for (;;) {
		char *out, *line;
		size_t len;
		bool last_pass = writer_done;

		if (!writer_done && waitpid(pid, &status, WNOHANG) == pid) {
			assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
			writer_done = true;
			last_pass = false;
		}
		snprintf(limit, sizeof(limit), "%zu", 20 + runs % 50);
		{
			char *argv[] = {"python3", script, "--export-dir", f->xdir,
					"--state", statef, "--limit",	   last_pass ? "0" : limit,
					NULL};

			/* Before the writer's first sync there may be no environment yet. */
			rc = run_python(argv, &out, &len);
		}
		runs++;
		assert_true(rc == 0 || (rc == 1 && n_got == 0));
		for (line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
			unsigned long long seq;

			assert_int_equal(sscanf(line, "{\"seq\":%llu", &seq), 1);
			if (n_got)
				assert_true(seq > got[n_got - 1]); /* in order, never twice */
			assert_true(n_got < 8192);
			got[n_got++] = seq;
		}
		free(out);
		if (last_pass)
			break;
	}
	/* Exactly the documents in the export, no more, no less. */
	assert_int_equal(store_export_open_readonly(&ro, f->xdir), 0);
	assert_true(store_export_iter(ro, 0, 0, doc_cb, &want) > 0);
	store_export_close(ro);
	assert_false(want.bad_json);
	assert_int_equal(n_got, want.n);
	for (size_t i = 0; i < n_got; i++)
		assert_true(got[i] == want.seqs[i]);
	assert_true(runs > 2);
	print_message("siem-pull: %zu documents over %zu runs\n", n_got, runs);
	free(got);
	free(script);
	free(statef);
}

static int feed_ids_cb(void *ctx, const struct store_feed_entry *e)
{
	uint8_t(*ids)[32] = ctx;

	memcpy(ids[e->seq - 1], e->ind_id, 32);
	return 0;
}

static int doc_text_cb(void *ctx, uint64_t seq, const uint8_t *doc, size_t len)
{
	char *out = ctx;

	(void)seq;
	memcpy(out, doc, len < 63 ? len : 63);
	out[len < 63 ? len : 63] = '\0';
	return 1;
}

/*
 * Rules changes: store_feed_touch() gives known indicators (once each) new feed entries,
 * store_export_rewrite() replaces existing documents only and records the rules,
 * store_export_reset() empties the export under a new env id so a sync renders it again.
 */
static void test_rewrite_touch_reset(void **state)
{
	struct fx *f = *state;
	uint8_t ids[8][32], env1[16], env2[16], rules[STORE_EXPORT_RULES_MAX], list[3][32];
	const uint8_t(*touch)[32];
	struct store_export_doc docs[2] = {
		{.seq = 2, .doc = (const uint8_t *)"{\"seq\":2}", .len = 9},
		{.seq = 99, .doc = (const uint8_t *)"{\"seq\":99}", .len = 10}};
	struct proto_summary sum;
	struct docs d = {0};
	char text[64];
	size_t n, len;
	uint64_t last;

	put(f->s, "a.example", PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, 1, 1);
	put(f->s, "b.example", PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, 1, 2);
	put(f->s, "c.example", PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, 1, 3);
	assert_int_equal(sync_all(f, NULL, 0), 3);
	assert_int_equal(store_feed_iter(f->s, NULL, 0, 0, feed_ids_cb, ids), 3);
	assert_int_equal(store_export_rules(f->x, rules, sizeof(rules), &len), STORE_E_NOT_FOUND);

	/* b, an unknown id and b again: one new entry, the summary points at it. */
	memset(list, 0xee, sizeof(list));
	memcpy(list[0], ids[1], 32);
	memcpy(list[2], ids[1], 32);
	touch = (const uint8_t(*)[32])list;
	assert_int_equal(store_feed_touch(f->s, touch, 3, T0 + 10, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_feed_last(f->s, NULL, &last), 0);
	assert_true(last == 4);
	assert_int_equal(store_summary_get(f->s, NULL, ids[1], &sum), 0);
	assert_true(sum.feed_seq == 4 && sum.state == PROTO_SUMMARY_ACTIVE);

	/* seq 2 is replaced, 99 has no document and gets none; rules recorded. */
	assert_int_equal(store_export_rewrite(f->x, docs, 2, (const uint8_t *)"r1", 2), 0);
	assert_int_equal(store_export_iter(f->x, 1, 1, doc_text_cb, text), 1);
	assert_string_equal(text, "{\"seq\":2}");
	assert_int_equal(store_export_iter(f->x, 98, 0, doc_cb, &d), 0);
	assert_int_equal(store_export_rules(f->x, rules, sizeof(rules), &len), 0);
	assert_true(len == 2 && !memcmp(rules, "r1", 2));
	assert_int_equal(store_export_last_seq(f->x, &last), 0);
	assert_true(last == 3);
	assert_int_equal(sync_all(f, NULL, 0), 1); /* b again, under 4 */
	assert_int_equal(store_export_rules(f->x, rules, 1, &len), -ENOSPC);

	/* Reset: nothing left, a new env id, then the whole feed again. */
	assert_int_equal(store_export_env_id(f->x, env1), 0);
	assert_int_equal(store_export_reset(f->x, (const uint8_t *)"r2", 2), 0);
	assert_int_equal(store_export_env_id(f->x, env2), 0);
	assert_memory_not_equal(env1, env2, 16);
	assert_int_equal(store_export_iter(f->x, 0, 0, doc_cb, &d), 0);
	assert_int_equal(store_export_last_seq(f->x, &last), 0);
	assert_true(last == 0);
	assert_int_equal(store_export_rules(f->x, rules, sizeof(rules), &len), 0);
	assert_true(len == 2 && !memcmp(rules, "r2", 2));
	assert_int_equal(sync_all(f, NULL, 0), 4);
	assert_int_equal(store_export_iter(f->x, 0, 0, doc_cb, &d), 4);
	assert_false(d.bad_json);

	/* Bad arguments write nothing. */
	assert_int_equal(store_export_reset(f->x, NULL, 0), -EINVAL);
	assert_int_equal(store_export_rewrite(f->x, NULL, 1, NULL, 0), -EINVAL);
	assert_int_equal(store_feed_touch(f->s, NULL, 1, T0, NULL), -EINVAL);
}

/* One notices feed document: its sequence and text (first 31 bytes). */
struct nseen {
	size_t n;
	uint64_t seqs[8];
	char text[8][32];
};

static int notice_cb(void *ctx, uint64_t seq, const uint8_t *doc, size_t len)
{
	struct nseen *s = ctx;

	if (s->n < 8) {
		s->seqs[s->n] = seq;
		memcpy(s->text[s->n], doc, len < 31 ? len : 31);
		s->text[s->n][len < 31 ? len : 31] = '\0';
	}
	s->n++;
	return 0;
}

/*
 * The notices feed: its own sequence from 1; an equal document changes nothing, a changed
 * one moves to a new sequence (the old one is gone), so incremental reads after the last
 * sequence seen add up to a full read; a reset empties it; the main feed is untouched.
 */
static void test_notices_feed(void **state)
{
	struct fx *f = *state;
	struct store_export_notice d[3];
	struct store_export *ro;
	struct nseen s = {0};
	size_t n;

	memset(d, 0, sizeof(d));
	memset(d[0].id, 1, 16);
	d[0].doc = (const uint8_t *)"one";
	d[0].len = 3;
	memset(d[1].id, 2, 16);
	d[1].doc = (const uint8_t *)"two";
	d[1].len = 3;
	assert_int_equal(store_export_notices_put(f->x, d, 2, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_export_notices_put(f->x, d, 2, &n), 0);
	assert_int_equal(n, 0);
	/* Notice 1 rendered anew (rules changed) and a third one. */
	d[0].doc = (const uint8_t *)"ONE";
	memset(d[2].id, 3, 16);
	d[2].doc = (const uint8_t *)"three";
	d[2].len = 5;
	assert_int_equal(store_export_notices_put(f->x, d, 3, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_export_notices_iter(f->x, 0, 0, notice_cb, &s), 3);
	assert_true(s.seqs[0] == 2 && s.seqs[1] == 3 && s.seqs[2] == 4);
	assert_string_equal(s.text[0], "two");
	assert_string_equal(s.text[1], "ONE");
	assert_string_equal(s.text[2], "three");
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_export_notices_iter(f->x, 3, 0, notice_cb, &s), 1);
	assert_string_equal(s.text[0], "three");
	/* A reader sees the same; the indicators feed has nothing of it. */
	assert_int_equal(store_export_open_readonly(&ro, f->xdir), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_export_notices_iter(ro, 0, 0, notice_cb, &s), 3);
	assert_int_equal(store_export_iter(ro, 0, 0, notice_cb, &s), 0);
	assert_int_equal(store_export_notices_put(ro, d, 1, &n), -EROFS);
	store_export_close(ro);
	/* A reset empties it; the next put starts again. */
	assert_int_equal(store_export_reset(f->x, (const uint8_t *)"r", 1), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_export_notices_iter(f->x, 0, 0, notice_cb, &s), 0);
	assert_int_equal(store_export_notices_put(f->x, d, 1, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_export_notices_iter(f->x, 0, 0, notice_cb, &s), 1);
	assert_true(s.seqs[0] == 1);
	d[1].len = 0;
	assert_int_equal(store_export_notices_put(f->x, d, 2, &n), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sync_basic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rewrite_touch_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notices_feed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_batches_and_votes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_chunks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_skip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_render_error_writes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_store_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_reader_slot_reclaimed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_resized_by_other_process, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_export_has_last_seq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_newer_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_siem_pull_concurrent, setup, teardown),
	};

	proto_crypto_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
