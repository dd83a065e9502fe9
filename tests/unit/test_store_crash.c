/* SPDX-License-Identifier: MIT */
/*
 * Crash safety. A child process ingests deterministic batches (new reports of every kind
 * and TLP on a small set of indicators, plus one duplicate per batch), runs expiry sweeps
 * and export syncs, and writes each batch number to a pipe only after store_ingest()
 * returned 0. The parent SIGKILLs it at a random moment, reopens the store and checks:
 *   - every acknowledged batch is present, and batches are all-or-nothing and a prefix;
 *   - store_verify(): every index agrees with the reports, summaries with index and votes;
 *   - each summary's counters equal a model computed from the batches present;
 *   - the export environment catches up to exactly the main feed: one document per feed
 *     sequence 1..last, each naming its entry's indicator, none twice.
 * Then the next round continues from where the store is. At least 20 rounds.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
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
#include "store/store_test.h"
#include "testutil.h"

#define T0 1700000000000ull
#define BATCH 40
#define NIND 97
#define NVOTER 6
#define ROUNDS 30
#define MAX_BATCHES 4000

/* Report number @g, deterministic. */
struct gen {
	struct proto_report r;
	char value[32];
	char bytes[96];
	size_t len;
	uint8_t id[32];
	unsigned ind;
};

static void gen_report(struct gen *x, uint64_t g)
{
	const void *parts[1];
	size_t lens[1];

	memset(&x->r, 0, sizeof(x->r));
	x->ind = (unsigned)((g * 7) % NIND);
	snprintf(x->value, sizeof(x->value), "crash%u.example", x->ind);
	if (g % 11 == 0)
		x->r.kind = PROTO_KIND_REVOKE;
	else if (g % 5 == 0)
		x->r.kind = PROTO_KIND_SIGHTING;
	else if (g % 13 == 0)
		x->r.kind = PROTO_KIND_FALSE_POSITIVE;
	else
		x->r.kind = PROTO_KIND_INDICATOR;
	x->r.tlp = (uint8_t)(1 + g % 5);
	x->r.confidence = (uint8_t)(g % 101);
	/* Created times wander so that older reports sometimes arrive after newer ones. */
	x->r.created_ms = T0 + g * 3 - (g % 17) * 40;
	x->r.valid_until_ms = g % 4 == 0 ? x->r.created_ms + 1500 : 0;
	x->r.ind_type = PROTO_IND_DOMAIN;
	x->r.ind_value.ptr = x->value;
	x->r.ind_value.len = strlen(x->value);
	x->r.prov = PROTO_PROV_ATTRIBUTED;
	memset(x->r.signer, (int)(1 + g % NVOTER), 32);
	x->len = (size_t)snprintf(x->bytes, sizeof(x->bytes), "crash-report-%llu",
				  (unsigned long long)g);
	parts[0] = x->bytes;
	lens[0] = x->len;
	proto_hash(x->id, 32, parts, lens, 1);
}

static uint64_t batch_now(uint64_t b)
{
	return T0 + b * BATCH * 3 + 2000;
}

static int render_entry(struct store *s, struct store_read *rd, const struct store_feed_entry *e,
			uint8_t **doc, size_t *len)
{
	struct proto_summary sum;
	char hex[65], *out;
	int n, rc;

	rc = store_summary_get(s, rd, e->ind_id, &sum);
	if (rc)
		return rc;
	proto_hex_encode(hex, e->ind_id, 32);
	n = asprintf(&out, "{\"seq\":%llu,\"ind\":\"%s\",\"reports\":%u}",
		     (unsigned long long)e->seq, hex, sum.n_reports);
	if (n < 0)
		return -ENOMEM;
	*doc = (uint8_t *)out;
	*len = (size_t)n;
	return 0;
}

static int render(void *ctx, struct store *s, struct store_read *rd,
		  const struct store_feed_entry *e, size_t n, uint8_t **docs, size_t *lens)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++) {
		int rc = render_entry(s, rd, &e[i], &docs[i], &lens[i]);

		if (rc)
			return rc;
	}
	return 0;
}

/* The child: ingest from batch @start on, acknowledging each committed batch on @fd. */
static void child(const char *sdir, const char *xdir, uint32_t start, int fd)
{
	struct store_config sc = {.dir = sdir, .map_size_initial = 1 << 20};
	struct store_export_config xc = {.dir = xdir, .community = "crash"};
	struct store *s;
	struct store_export *x;
	struct gen *gens = calloc(BATCH + 1, sizeof(*gens));
	struct store_item items[BATCH + 1];

	if (!gens || store_open(&s, &sc) != 0 || store_export_open(&x, &xc) != 0)
		_exit(2);
	for (uint32_t b = start; b < MAX_BATCHES; b++) {
		size_t n = 0;

		for (size_t j = 0; j < BATCH; j++, n++)
			gen_report(&gens[n], (uint64_t)b * BATCH + j);
		if (b > 0)
			gen_report(&gens[n++], (uint64_t)(b - 1) * BATCH + b % BATCH); /* a dup */
		for (size_t j = 0; j < n; j++) {
			memset(&items[j], 0, sizeof(items[j]));
			items[j].bytes = (const uint8_t *)gens[j].bytes;
			items[j].len = gens[j].len;
			memcpy(items[j].report_id, gens[j].id, 32);
			items[j].r = &gens[j].r;
			items[j].env.received_ms = batch_now(b);
		}
		if (store_ingest(s, items, n, batch_now(b)) != 0)
			_exit(3);
		for (size_t j = 0; j < n; j++)
			if (items[j].result != (j < BATCH ? STORE_NEW : STORE_DUP))
				_exit(4);
		if (write(fd, &b, sizeof(b)) != sizeof(b))
			_exit(5);
		if (b % 3 == 0 && store_export_sync(s, x, render, NULL, 50) < 0)
			_exit(6);
		if (b % 5 == 0 && store_expire(s, batch_now(b), 0, NULL) != 0)
			_exit(7);
	}
	_exit(0);
}

/* ------------------------------------------------------------------ the model */

struct vote {
	bool set;
	uint8_t kind, confidence;
	uint64_t created, valid_until;
	uint8_t id[32];
};

struct model {
	uint32_t n_reports, n_sightings;
	uint64_t first, last;
	uint8_t tlp;
	struct vote votes[NVOTER + 1];
};

static void model_add(struct model *m, const struct gen *x)
{
	struct model *e = &m[x->ind];
	struct vote *v = &e->votes[x->r.signer[0]];

	if (e->n_reports == 0)
		e->first = UINT64_MAX;
	e->n_reports++;
	e->n_sightings += x->r.kind == PROTO_KIND_SIGHTING;
	if (x->r.tlp > e->tlp)
		e->tlp = x->r.tlp;
	if (x->r.created_ms < e->first)
		e->first = x->r.created_ms;
	if (x->r.created_ms > e->last)
		e->last = x->r.created_ms;
	if (x->r.kind == PROTO_KIND_SIGHTING)
		return;
	if (!v->set || x->r.created_ms > v->created ||
	    (x->r.created_ms == v->created && memcmp(x->id, v->id, 32) > 0)) {
		v->set = true;
		v->kind = x->r.kind;
		v->confidence = x->r.confidence;
		v->created = x->r.created_ms;
		v->valid_until = x->r.valid_until_ms;
		memcpy(v->id, x->id, 32);
	}
}

static void model_check(struct store *s, const struct model *m)
{
	for (unsigned i = 0; i < NIND; i++) {
		struct proto_summary sum;
		uint8_t id[32];
		char value[32];
		uint32_t members = 0, fps = 0;
		uint8_t conf = 0;
		uint64_t vu = 0;
		bool unbounded = false;
		int rc;

		snprintf(value, sizeof(value), "crash%u.example", i);
		proto_indicator_id_raw(PROTO_IND_DOMAIN, value, strlen(value), id);
		rc = store_summary_get(s, NULL, id, &sum);
		if (m[i].n_reports == 0) {
			assert_int_equal(rc, STORE_E_NOT_FOUND);
			continue;
		}
		assert_int_equal(rc, 0);
		for (int v = 1; v <= NVOTER; v++) {
			const struct vote *vt = &m[i].votes[v];

			if (!vt->set)
				continue;
			if (vt->kind == PROTO_KIND_INDICATOR) {
				members++;
				conf = vt->confidence > conf ? vt->confidence : conf;
				if (vt->valid_until == 0)
					unbounded = true;
				else if (vt->valid_until > vu)
					vu = vt->valid_until;
			} else if (vt->kind == PROTO_KIND_FALSE_POSITIVE) {
				fps++;
			}
		}
		if (unbounded || members == 0)
			vu = 0;
		assert_int_equal(sum.n_reports, m[i].n_reports);
		assert_int_equal(sum.n_sightings, m[i].n_sightings);
		assert_int_equal(sum.n_members, members);
		assert_int_equal(sum.n_false_positive, fps);
		assert_int_equal(sum.confidence, conf);
		assert_true(sum.valid_until_ms == vu);
		assert_int_equal(sum.tlp, m[i].tlp);
		assert_true(sum.first_seen_ms == m[i].first && sum.last_seen_ms == m[i].last);
		if (members)
			assert_true(sum.state == PROTO_SUMMARY_ACTIVE ||
				    sum.state == PROTO_SUMMARY_EXPIRED);
		else
			assert_true(sum.state == PROTO_SUMMARY_WITHDRAWN ||
				    sum.state == PROTO_SUMMARY_OBSERVED);
	}
}

/* ------------------------------------------------------------------ the export */

struct feed_map {
	uint8_t (*ind)[32];
	uint64_t n;
};

static int feed_cb(void *ctx, const struct store_feed_entry *e)
{
	struct feed_map *fm = ctx;

	assert_true(e->seq == fm->n + 1);
	memcpy(fm->ind[fm->n++], e->ind_id, 32);
	return 0;
}

struct doc_walk {
	const struct feed_map *fm;
	uint64_t next;
};

/*
 * @doc points into the export's map and is not NUL-terminated: sscanf() on it looked for the
 * terminator past the document and hit the end of the data file (SIGBUS) when the document
 * was the last bytes of the file. It reads a terminated copy.
 */
static int doc_cb(void *ctx, uint64_t seq, const uint8_t *doc, size_t len)
{
	struct doc_walk *w = ctx;
	unsigned long long in_doc;
	char hex[65], want[65], text[256];

	/* Keys are exactly 1, 2, 3, ...: nothing lost, nothing twice. */
	assert_true(seq == w->next);
	assert_true(len < sizeof(text));
	memcpy(text, doc, len);
	text[len] = '\0';
	assert_int_equal(sscanf(text, "{\"seq\":%llu,\"ind\":\"%64[0-9a-f]\"", &in_doc, hex), 2);
	assert_true(in_doc == seq);
	proto_hex_encode(want, w->fm->ind[seq - 1], 32);
	assert_string_equal(hex, want);
	w->next++;
	return 0;
}

static void export_check(struct store *s, const char *xdir)
{
	struct store_export_config xc = {.dir = xdir, .community = "crash"};
	struct store_export *x;
	struct feed_map fm = {0};
	struct doc_walk w = {.fm = &fm, .next = 1};
	uint64_t last, xlast;
	int n;

	assert_int_equal(store_feed_last(s, NULL, &last), 0);
	fm.ind = calloc(last + 1, 32);
	assert_non_null(fm.ind);
	assert_true(store_feed_iter(s, NULL, 0, 0, feed_cb, &fm) >= 0);
	assert_true(fm.n == last);
	assert_int_equal(store_export_open(&x, &xc), 0);
	while ((n = store_export_sync(s, x, render, NULL, 500)) > 0)
		;
	assert_int_equal(n, 0);
	assert_int_equal(store_export_last_seq(x, &xlast), 0);
	assert_true(xlast == last);
	assert_true(store_export_iter(x, 0, 0, doc_cb, &w) >= 0);
	assert_true(w.next == last + 1);
	store_export_close(x);
	free(fm.ind);
}

/* ------------------------------------------------------------------ the test */

static bool batch_present(struct store *s, uint32_t b, bool *partial)
{
	uint8_t(*ids)[32] = calloc(BATCH, 32);
	bool present[BATCH], all = true, any = false;
	struct gen x;

	assert_non_null(ids);
	for (size_t j = 0; j < BATCH; j++) {
		gen_report(&x, (uint64_t)b * BATCH + j);
		memcpy(ids[j], x.id, 32);
	}
	assert_int_equal(store_report_has(s, NULL, (const uint8_t(*)[32])ids, BATCH, present), 0);
	for (size_t j = 0; j < BATCH; j++) {
		all &= present[j];
		any |= present[j];
	}
	free(ids);
	*partial = any && !all;
	return all;
}

static void test_crash_rounds(void **state)
{
	char *dir = tu_tmpdir(), *sdir, *xdir, why[256];
	struct model *m = calloc(NIND, sizeof(*m));
	uint32_t present = 0; /* batches [0, present) are in the store */
	int round;
	uint64_t rng = (uint64_t)time(NULL) | 1, total_acked = 0;

	(void)state;
	assert_non_null(dir);
	assert_non_null(m);
	assert_true(asprintf(&sdir, "%s/state", dir) > 0);
	assert_true(asprintf(&xdir, "%s/export", dir) > 0);
	print_message("crash test seed %llu\n", (unsigned long long)rng);
	/*
	 * At least ROUNDS kills; on a machine too loaded for the children to commit more than
	 * ROUNDS batches in them, more rounds (each a full check) until they have.
	 */
	for (round = 0; round < ROUNDS || (present <= ROUNDS && round < 10 * ROUNDS); round++) {
		struct store_config sc = {.dir = sdir};
		struct store *s;
		struct store_stat st;
		int pipefd[2], status;
		int64_t max_acked = -1;
		uint32_t b, ack;
		struct timespec t0, t1;
		long wait_ms = 20 + (long)(tu_rand(&rng) % 180);
		pid_t pid;
		bool partial;
		uint64_t n_gossip = 0;

		assert_int_equal(pipe(pipefd), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(pipefd[0]);
			child(sdir, xdir, present, pipefd[1]);
		}
		close(pipefd[1]);
		/* Collect acknowledgements until the kill time, then kill without warning. */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			struct pollfd pfd = {.fd = pipefd[0], .events = POLLIN};
			long el;

			clock_gettime(CLOCK_MONOTONIC, &t1);
			el = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
			if (el >= wait_ms)
				break;
			if (poll(&pfd, 1, (int)(wait_ms - el)) > 0) {
				if (read(pipefd[0], &ack, sizeof(ack)) != sizeof(ack))
					break;
				max_acked = ack;
			}
		}
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
			fail_msg("child ended on its own: status %d", status);
		while (read(pipefd[0], &ack, sizeof(ack)) == sizeof(ack))
			max_acked = ack;
		close(pipefd[0]);
		if (max_acked >= 0)
			total_acked += (uint64_t)max_acked + 1 - present;

		/* Reopen: acknowledged batches are all there, whole, as a prefix. */
		assert_int_equal(store_open(&s, &sc), 0);
		for (b = 0; b < present; b++) {
			assert_true(batch_present(s, b, &partial));
		}
		for (b = present; b < MAX_BATCHES; b++) {
			bool whole = batch_present(s, b, &partial);

			assert_false(partial);
			if (!whole)
				break;
			for (size_t j = 0; j < BATCH; j++) {
				struct gen x;

				gen_report(&x, (uint64_t)b * BATCH + j);
				model_add(m, &x);
			}
		}
		assert_true((int64_t)b > max_acked);
		for (uint32_t c = b + 1; c < b + 3 && c < MAX_BATCHES; c++) {
			assert_false(batch_present(s, c, &partial));
			assert_false(partial);
		}
		present = b;

		/* Indexes agree with reports; counters match the model. */
		if (store_verify(s, why, sizeof(why)) != 0)
			fail_msg("round %d: store_verify: %s", round, why);
		model_check(s, m);
		assert_int_equal(store_stat(s, &st), 0);
		assert_true(st.reports == (uint64_t)present * BATCH);
		for (uint64_t g = 0; g < (uint64_t)present * BATCH; g++)
			n_gossip += 1 + g % 5 <= PROTO_TLP_GREEN;
		assert_true(st.recon == n_gossip);

		/* The export catches up to exactly the main feed. */
		export_check(s, xdir);
		store_close(s);
	}
	print_message("crash test: %d rounds, %u batches, %llu acknowledged while killed\n", round,
		      present, (unsigned long long)total_acked);
	assert_true(present > ROUNDS);
	tu_rmtree(dir);
	free(dir);
	free(sdir);
	free(xdir);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crash_rounds),
	};

	proto_crypto_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
