/* SPDX-License-Identifier: MIT */
/*
 * node/ingest: a large publish is answered as before and its reports reach the report hook
 * (dissemination) exactly once each, in the batch's order, in slices of bounded loop time
 * across loop iterations rather than in one callback. Real pipeline (request parsing,
 * signing and admission in the thread pool, store commit) on a real store, without a daemon.
 *
 * The hook busy-waits HOOK_US of wall time per report, so a slice, which stops once
 * NODE_INGEST_ANNOUNCE_SLICE_US of wall time have passed, holds at most
 * NODE_INGEST_ANNOUNCE_SLICE_US / HOOK_US reports however the machine schedules us: a
 * preempted hook only makes its slice shorter. Every ANON_EVERY-th report is ring-signed;
 * the hook checks that the `created` and provenance it is given are the stored report's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/daemon/ingest.h"
#include "node/format/request.h"
#include "node/common/snap.h"
#include "policy/config.h"
#include "proto/crypto.h"
#include "proto/keys.h"
#include "proto/report.h"
#include "proto/roster.h"
#include "store/store.h"
#include "testutil.h"

#define N_REPORTS 600
#define HOOK_US 100
#define SLICE_MAX (NODE_INGEST_ANNOUNCE_SLICE_US / HOOK_US)
#define ANON_EVERY 10
#define N_MEMBERS 4 /* the default min_ring_size */

struct fx {
	char *dir;
	uv_loop_t loop;
	uv_check_t check;
	struct store *store;
	struct proto_keys keys;
	struct proto_roster *ros; /* borrowed by @snap */
	struct proto_report dec;  /* a stored report, decoded by the hook */
	struct node_snap *snap;
	struct node_ingest *ing;

	uint64_t iteration; /* loop iterations ended (check callbacks) */
	bool done;
	size_t announced_at_done;
	bool idle_at_done;
	json_t *resp;
	uint8_t (*ids)[32]; /* announced, in hook order */
	size_t n_ids;
	uint64_t last_iteration; /* of the latest hook call */
	size_t in_iteration;	 /* hook calls in it */
	size_t most_in_iteration;
	size_t iterations_used;
};

static void on_check(uv_check_t *h)
{
	struct fx *f = h->data;

	f->iteration++;
}

static void on_report(void *ctx, const struct node_ingest_report *r)
{
	struct fx *f = ctx;
	uint64_t t0 = uv_hrtime();
	uint8_t *bytes = NULL;
	size_t len;

	assert_int_equal(r->tlp, PROTO_TLP_GREEN);
	assert_true(f->n_ids < N_REPORTS);
	assert_int_equal(r->anonymous, f->n_ids % ANON_EVERY == ANON_EVERY - 1);
	assert_int_equal(store_report_get(f->store, NULL, r->id, &bytes, &len), 0);
	assert_int_equal(proto_report_decode(&f->dec, bytes, len), 0);
	assert_int_equal(f->dec.created_ms, r->created_ms);
	assert_int_equal(f->dec.prov, r->anonymous ? PROTO_PROV_ANONYMOUS : PROTO_PROV_ATTRIBUTED);
	free(bytes);
	memcpy(f->ids[f->n_ids++], r->id, 32);
	if (f->n_ids == 1 || f->iteration != f->last_iteration) {
		f->last_iteration = f->iteration;
		f->in_iteration = 0;
		f->iterations_used++;
	}
	if (++f->in_iteration > f->most_in_iteration)
		f->most_in_iteration = f->in_iteration;
	while (uv_hrtime() - t0 < HOOK_US * 1000ull)
		;
}

static void on_done(void *arg, char *text)
{
	struct fx *f = arg;

	f->done = true;
	f->announced_at_done = f->n_ids;
	f->idle_at_done = node_ingest_idle(f->ing);
	f->resp = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct store_config sc = {0};
	struct proto_roster *ros = proto_roster_new();
	const struct proto_roster *rosters[1] = {ros};
	struct proto_member m = {0};
	struct policy_config pc;

	assert_non_null(f);
	assert_non_null(ros);
	assert_int_equal(proto_crypto_init(), 0);
	f->dir = tu_tmpdir();
	sc.dir = f->dir;
	assert_int_equal(store_open(&f->store, &sc), 0);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_int_equal(uv_check_init(&f->loop, &f->check), 0);
	f->check.data = f;
	assert_int_equal(uv_check_start(&f->check, on_check), 0);
	assert_int_equal(proto_keys_generate(&f->keys), 0);

	memset(ros->community, 0xc5, 32);
	ros->epoch = 1;
	memcpy(m.id, f->keys.id_pk, 32);
	memcpy(m.transport_pk, f->keys.tx_pk, 32);
	memcpy(m.ring_pk, f->keys.ring_pk, 32);
	m.name = "Member 0 CERT";
	assert_int_equal(proto_roster_add_member(ros, &m), 0);
	/* Others, so that this node's anonymous reports have a ring of min_ring_size. */
	for (int i = 1; i < N_MEMBERS; i++) {
		struct proto_keys k;
		char name[32];

		assert_int_equal(proto_keys_generate(&k), 0);
		memcpy(m.id, k.id_pk, 32);
		memcpy(m.transport_pk, k.tx_pk, 32);
		memcpy(m.ring_pk, k.ring_pk, 32);
		snprintf(name, sizeof(name), "Member %d CERT", i);
		m.name = name;
		assert_int_equal(proto_roster_add_member(ros, &m), 0);
		proto_keys_wipe(&k);
	}
	policy_config_init(&pc);
	memcpy(pc.own_id, f->keys.id_pk, 32);
	memcpy(pc.community, ros->community, 32);
	assert_int_equal(policy_config_set_community_name(&pc, "Test"), 0);
	f->ros = ros;
	f->snap = node_snap_new(&pc, rosters, 1);
	assert_non_null(f->snap);

	f->ids = calloc(N_REPORTS, sizeof(*f->ids));
	assert_non_null(f->ids);
	f->ing = node_ingest_new(&f->loop, f->store, &f->keys, NULL, NULL);
	assert_non_null(f->ing);
	node_ingest_set_report_hook(f->ing, on_report, f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	node_ingest_close(f->ing);
	uv_close((uv_handle_t *)&f->check, NULL);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	node_ingest_free(f->ing);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	node_snap_unref(f->snap);
	proto_roster_free(f->ros);
	json_decref(f->resp);
	store_close(f->store);
	proto_keys_wipe(&f->keys);
	free(f->ids);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* Submits one publish request of N_REPORTS GREEN domains and runs until it is answered. */
static void publish_batch(struct fx *f)
{
	size_t cap = N_REPORTS * 100 + 64, len = 0;
	char *line = malloc(cap);
	struct node_request *req = NULL;
	struct node_req_error err;

	assert_non_null(line);
	len += (size_t)snprintf(line + len, cap - len, "{\"op\":\"publish\",\"reports\":[");
	for (size_t i = 0; i < N_REPORTS; i++)
		len += (size_t)snprintf(line + len, cap - len,
					"%s{\"value\":\"r%zu.announce.example\",\"tlp\":\"GREEN\","
					"\"type\":\"domain\",\"anonymous\":%s}",
					i ? "," : "", i,
					i % ANON_EVERY == ANON_EVERY - 1 ? "true" : "false");
	len += (size_t)snprintf(line + len, cap - len, "]}");
	assert_true(len < cap);
	if (node_request_parse(line, len, &req, NULL, &err))
		fail_msg("%s (%s)", err.message, err.field);
	free(line);
	assert_int_equal(node_ingest_submit(f->ing, f->snap, req, 1900000000000ull, on_done, f), 0);
	while (!f->done)
		uv_run(&f->loop, UV_RUN_ONCE);
	assert_non_null(f->resp);
	assert_true(json_is_true(json_object_get(f->resp, "ok")));
	assert_int_equal(json_integer_value(json_object_get(f->resp, "accepted")), N_REPORTS);
}

/* The response's report ids, in request order. */
static void response_ids(const struct fx *f, uint8_t (*out)[32])
{
	json_t *results = json_object_get(f->resp, "results");

	assert_int_equal(json_array_size(results), N_REPORTS);
	for (size_t i = 0; i < N_REPORTS; i++) {
		json_t *r = json_array_get(results, i);
		const char *hex = json_string_value(json_object_get(r, "report_id"));
		size_t n = 0;
		uint8_t *id;

		assert_true(json_is_true(json_object_get(r, "ok")));
		assert_string_equal(json_string_value(json_object_get(r, "result")), "new");
		assert_non_null(hex);
		id = tu_unhex(hex, &n);
		assert_int_equal(n, 32);
		memcpy(out[i], id, 32);
		free(id);
	}
}

static void test_sliced_in_order(void **state)
{
	struct fx *f = *state;
	uint8_t(*want)[32] = calloc(N_REPORTS, sizeof(*want));

	assert_non_null(want);
	publish_batch(f);
	/* The client is answered first; the hand-over is still running then. */
	assert_int_equal(f->announced_at_done, 0);
	assert_false(f->idle_at_done);
	while (!node_ingest_idle(f->ing))
		uv_run(&f->loop, UV_RUN_ONCE);

	response_ids(f, want);
	assert_int_equal(f->n_ids, N_REPORTS);
	for (size_t i = 0; i < N_REPORTS; i++)
		if (memcmp(f->ids[i], want[i], 32))
			fail_msg("report %zu handed over out of order", i);
	/* Never more than one slice's worth in a loop iteration. */
	if (f->most_in_iteration > SLICE_MAX)
		fail_msg("%zu reports handed over in one loop iteration (at most %d)",
			 f->most_in_iteration, SLICE_MAX);
	assert_true(f->iterations_used >= (N_REPORTS + SLICE_MAX - 1) / SLICE_MAX);

	struct node_ingest_stats st;
	node_ingest_get_stats(f->ing, &st);
	assert_int_equal(st.accepted, N_REPORTS);
	assert_int_equal(st.pending_items, 0);
	free(want);
}

/* Closing drops what was not handed over yet (stored: catch-up carries it) and stops. */
static void test_close_drops_pending(void **state)
{
	struct fx *f = *state;
	size_t n;

	publish_batch(f);
	assert_false(node_ingest_idle(f->ing));
	node_ingest_close(f->ing);
	assert_true(node_ingest_idle(f->ing));
	n = f->n_ids;
	assert_true(n < N_REPORTS);
	for (int i = 0; i < 10; i++)
		uv_run(&f->loop, UV_RUN_NOWAIT);
	assert_int_equal(f->n_ids, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sliced_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_drops_pending, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
