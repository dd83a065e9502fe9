/* SPDX-License-Identifier: MIT */
/*
 * node/ingest: anonymous publishing through the real pipeline (request parsing, ring
 * signing and admission in the libuv thread pool, store commit) on a real store, without a
 * daemon. Several members publish into one store through their own ingest, as their
 * reports would arrive at one node, so the vote counting by linkability tag is observable:
 * one member twice on an indicator counts once, two members count twice, an anonymous
 * revoke withdraws exactly its member's vote. The stored bytes must name no member, and
 * the export view says reported_by_us only on the publisher's own node.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/daemon/exporter.h"
#include "node/daemon/ingest.h"
#include "node/format/request.h"
#include "node/common/snap.h"
#include "policy/config.h"
#include "policy/egress.h"
#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/keys.h"
#include "proto/ring.h"
#include "proto/roster.h"
#include "store/store.h"
#include "testutil.h"

#define N_KEYS 6 /* members 0..4 are in the roster, 5 is an outsider */
#define NOW_MS 1900000000000ull

struct fx {
	char *dir;
	uv_loop_t loop;
	struct store *store;
	struct proto_keys keys[N_KEYS];
	uint8_t community[32];
};

struct answer {
	bool done;
	json_t *resp;
};

static void on_done(void *arg, char *text)
{
	struct answer *a = arg;

	a->done = true;
	a->resp = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
}

/* A roster of epoch 1 over the first @n keys of @keys (ascending ids, as rosters keep). */
static struct proto_roster *make_roster(struct fx *f, const struct proto_keys *keys, size_t n,
					uint32_t min_ring)
{
	struct proto_roster *r = proto_roster_new();

	assert_non_null(r);
	memcpy(r->community, f->community, 32);
	r->epoch = 1;
	r->settings.min_ring_size = min_ring;
	for (size_t i = 0; i < n; i++) {
		char name[48];
		struct proto_member m = {0};
		snprintf(name, sizeof(name), "Member %zu CERT", i);
		memcpy(m.id, keys[i].id_pk, 32);
		memcpy(m.transport_pk, keys[i].tx_pk, 32);
		memcpy(m.ring_pk, keys[i].ring_pk, 32);
		m.name = name;
		assert_int_equal(proto_roster_add_member(r, &m), 0);
	}
	return r;
}

static struct node_snap *make_snap(struct fx *f, const struct proto_roster *ros,
				   const struct proto_keys *k)
{
	struct policy_config pc;
	struct node_snap *s;

	policy_config_init(&pc);
	memcpy(pc.own_id, k->id_pk, 32);
	memcpy(pc.community, f->community, 32);
	assert_int_equal(policy_config_set_community_name(&pc, "Test"), 0);
	s = node_snap_new(&pc, &ros, 1);
	assert_non_null(s);
	s->own_ring_sk = k->ring_sk;
	return s;
}

/* Publishes one request line as member @k under @ros; returns the response (caller frees). */
static json_t *call(struct fx *f, const struct proto_roster *ros, const struct proto_keys *k,
		    const char *line, uint64_t now_ms)
{
	struct node_request *req = NULL;
	struct node_req_error err;
	struct answer a = {0};
	struct node_snap *snap = make_snap(f, ros, k);
	struct node_ingest *ing = node_ingest_new(&f->loop, f->store, k, NULL, NULL);

	assert_non_null(ing);
	if (node_request_parse(line, strlen(line), &req, NULL, &err))
		fail_msg("%s: %s (%s)", line, err.message, err.field);
	assert_int_equal(node_ingest_submit(ing, snap, req, now_ms, on_done, &a), 0);
	while (!a.done)
		uv_run(&f->loop, UV_RUN_ONCE);
	assert_true(node_ingest_idle(ing));
	node_ingest_free(ing);
	node_snap_unref(snap);
	assert_non_null(a.resp);
	return a.resp;
}

static void expect_ok(json_t *resp, const char *result)
{
	if (!json_is_true(json_object_get(resp, "ok"))) {
		char text[512] = "";
		json_dumpb(resp, text, sizeof(text) - 1, 0);
		fail_msg("not ok: %s", text);
	}
	assert_string_equal(json_string_value(json_object_get(resp, "result")), result);
	json_decref(resp);
}

static void expect_error(json_t *resp, const char *code, const char *field)
{
	json_t *e = json_object_get(resp, "error");

	assert_true(json_is_false(json_object_get(resp, "ok")));
	assert_string_equal(json_string_value(json_object_get(e, "code")), code);
	assert_string_equal(json_string_value(json_object_get(e, "field")), field);
	json_decref(resp);
}

static void ind_id_of(const char *domain, uint8_t id[32])
{
	proto_indicator_id_raw(PROTO_IND_DOMAIN, domain, strlen(domain), id);
}

static void summary(struct fx *f, const char *domain, struct proto_summary *sum)
{
	struct store_read *rd;
	uint8_t id[32];

	ind_id_of(domain, id);
	assert_int_equal(store_read_begin(f->store, &rd), 0);
	assert_int_equal(store_summary_get(f->store, rd, id, sum), 0);
	store_read_end(rd);
}

struct votes {
	size_t n, anon;
	uint8_t tags[8][32];
	size_t ring_n[8];
	const struct proto_keys *keys; /* every member's keys must be absent from the bytes */
};

static int check_vote(void *ctx, const struct store_report_info *info, const uint8_t *bytes,
		      size_t len)
{
	struct votes *v = ctx;
	struct proto_report r;

	(void)info;
	assert_int_equal(proto_report_decode(&r, bytes, len), 0);
	if (r.prov == PROTO_PROV_ANONYMOUS) {
		assert_true(v->anon < 8);
		memcpy(v->tags[v->anon], r.link_tag, 32);
		v->ring_n[v->anon] = r.ring_n;
		v->anon++;
		for (size_t k = 0; k < N_KEYS; k++) {
			assert_null(memmem(bytes, len, v->keys[k].id_pk, 32));
			assert_null(memmem(bytes, len, v->keys[k].ring_pk, 32));
			assert_null(memmem(bytes, len, v->keys[k].tx_pk, 32));
		}
	}
	v->n++;
	return 0;
}

static void votes(struct fx *f, const char *domain, struct votes *v)
{
	struct store_read *rd;
	uint8_t id[32];

	memset(v, 0, sizeof(*v));
	v->keys = f->keys;
	ind_id_of(domain, id);
	assert_int_equal(store_read_begin(f->store, &rd), 0);
	assert_true(store_votes_iter(f->store, rd, id, check_vote, v) >= 0);
	store_read_end(rd);
}

static bool has_tag(const struct votes *v, const struct proto_keys *k, const char *domain)
{
	uint8_t id[32], tag[32];

	ind_id_of(domain, id);
	assert_int_equal(proto_ring_tag(tag, k->ring_sk, id), 0);
	for (size_t i = 0; i < v->anon; i++)
		if (!memcmp(v->tags[i], tag, 32))
			return true;
	return false;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct store_config sc = {0};

	assert_non_null(f);
	assert_int_equal(proto_crypto_init(), 0);
	f->dir = tu_tmpdir();
	sc.dir = f->dir;
	assert_int_equal(store_open(&f->store, &sc), 0);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	for (size_t i = 0; i < N_KEYS; i++)
		assert_int_equal(proto_keys_generate(&f->keys[i]), 0);
	memset(f->community, 0xc5, 32);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	assert_int_equal(uv_loop_close(&f->loop), 0);
	store_close(f->store);
	for (size_t i = 0; i < N_KEYS; i++)
		proto_keys_wipe(&f->keys[i]);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

#define PUB(value, extra) \
	"{\"op\":\"publish\",\"value\":\"" value "\",\"tlp\":\"GREEN\",\"anonymous\":true" extra "}"

static void test_votes_by_tag(void **state)
{
	struct fx *f = *state;
	struct proto_roster *ros = make_roster(f, f->keys, 5, 4);
	const struct proto_keys *a = &f->keys[0], *b = &f->keys[3];
	struct proto_summary sum;
	struct votes v;

	/* Member A publishes anonymously: one vote, by tag, naming nobody. */
	expect_ok(call(f, ros, a, PUB("evil.example", ",\"confidence\":40"), NOW_MS), "new");
	summary(f, "evil.example", &sum);
	assert_int_equal(sum.n_members, 1);
	assert_int_equal(sum.state, PROTO_SUMMARY_ACTIVE);
	assert_int_equal(sum.confidence, 40);
	votes(f, "evil.example", &v);
	assert_int_equal(v.n, 1);
	assert_int_equal(v.anon, 1);
	assert_int_equal(v.ring_n[0], 0); /* the whole roster: indexes omitted */
	assert_true(has_tag(&v, a, "evil.example"));

	/* A again, other confidence: a new report that replaces A's vote, still one member. */
	expect_ok(call(f, ros, a, PUB("evil.example", ",\"confidence\":80"), NOW_MS + 10), "new");
	summary(f, "evil.example", &sum);
	assert_int_equal(sum.n_members, 1);
	assert_int_equal(sum.confidence, 80);
	assert_int_equal(sum.n_reports, 2);

	/* Member B: a second tag, two members. */
	expect_ok(call(f, ros, b, PUB("evil.example", ""), NOW_MS + 20), "new");
	summary(f, "evil.example", &sum);
	assert_int_equal(sum.n_members, 2);
	votes(f, "evil.example", &v);
	assert_int_equal(v.anon, 2);
	assert_true(has_tag(&v, a, "evil.example") && has_tag(&v, b, "evil.example"));

	/* A's anonymous revoke withdraws A's vote only; B's then withdraws the indicator. */
	expect_ok(call(f, ros, a,
		       "{\"op\":\"revoke\",\"value\":\"evil.example\",\"tlp\":\"GREEN\","
		       "\"anonymous\":true}",
		       NOW_MS + 30),
		  "new");
	summary(f, "evil.example", &sum);
	assert_int_equal(sum.n_members, 1);
	assert_int_equal(sum.state, PROTO_SUMMARY_ACTIVE);
	expect_ok(call(f, ros, b,
		       "{\"op\":\"revoke\",\"value\":\"evil.example\",\"tlp\":\"GREEN\","
		       "\"anonymous\":true}",
		       NOW_MS + 40),
		  "new");
	summary(f, "evil.example", &sum);
	assert_int_equal(sum.n_members, 0);
	assert_int_equal(sum.state, PROTO_SUMMARY_WITHDRAWN);

	/* Tags differ per indicator: A on another indicator is not linkable to the first. */
	expect_ok(call(f, ros, a, PUB("other.example", ""), NOW_MS + 50), "new");
	votes(f, "other.example", &v);
	assert_int_equal(v.anon, 1);
	assert_false(has_tag(&v, a, "evil.example"));
	assert_true(has_tag(&v, a, "other.example"));
	proto_roster_free(ros);
}

/* reported_by_us: true in A's own view of A's anonymous report, false in B's. */
static void test_reported_by_us(void **state)
{
	struct fx *f = *state;
	struct proto_roster *ros = make_roster(f, f->keys, 5, 4);
	struct policy_view *v = malloc(sizeof(*v));
	struct proto_summary sum;
	struct store_read *rd;
	uint8_t id[32];

	assert_non_null(v);
	expect_ok(call(f, ros, &f->keys[1], PUB("mine.example", ""), NOW_MS), "new");
	ind_id_of("mine.example", id);
	for (size_t who = 0; who < 3; who++) {
		struct node_snap *snap = make_snap(f, ros, &f->keys[who]);
		assert_int_equal(store_read_begin(f->store, &rd), 0);
		assert_int_equal(node_exporter_view(snap, f->store, rd, id, POLICY_PATH_SIEM_EXPORT,
						    v, &sum),
				 1);
		store_read_end(rd);
		assert_int_equal(v->n_members, 1);
		assert_int_equal(v->reported_by_us, who == 1);
		node_snap_unref(snap);
	}
	free(v);
	proto_roster_free(ros);
}

/* What cannot be signed anonymously is refused with the field and a reason. */
static void test_refusals(void **state)
{
	struct fx *f = *state;
	struct proto_roster *ros = make_roster(f, f->keys, 5, 4);
	struct proto_roster *small = make_roster(f, f->keys, 3, 4);
	struct proto_keys wrong = f->keys[2];
	json_t *resp;

	/* A ring of 3 is below min_ring_size 4. */
	expect_error(call(f, small, &f->keys[0], PUB("a.example", ""), NOW_MS), "PROTO_E_RING_SIZE",
		     "anonymous");
	/* Member 5 is not in the roster. */
	expect_error(call(f, ros, &f->keys[5], PUB("a.example", ""), NOW_MS),
		     "PROTO_E_REPORT_PROVENANCE", "anonymous");
	/* Our key file's ring key is not the one the roster lists for us. */
	memcpy(wrong.ring_pk, f->keys[3].ring_pk, 32);
	memcpy(wrong.ring_sk, f->keys[3].ring_sk, 32);
	expect_error(call(f, ros, &wrong, PUB("a.example", ""), NOW_MS), "PROTO_E_RING_SIGNER",
		     "anonymous");
	proto_keys_wipe(&wrong);
	/* In a batch only the offending item fails; attributed and anonymous items mix. */
	resp = call(f, ros, &f->keys[0],
		    "{\"op\":\"publish\",\"reports\":[{\"value\":\"b.example\",\"tlp\":\"CLEAR\","
		    "\"anonymous\":true},{\"value\":\"b.example\",\"tlp\":\"AMBER\","
		    "\"anonymous\":true,\"recipients\":[\"" /* any id: refused before lookup */
		    "0101010101010101010101010101010101010101010101010101010101010101\"]},"
		    "{\"value\":\"b.example\",\"tlp\":\"GREEN\"}]}",
		    NOW_MS);
	assert_int_equal(json_integer_value(json_object_get(resp, "accepted")), 2);
	assert_int_equal(json_integer_value(json_object_get(resp, "rejected")), 1);
	json_decref(resp);
	struct proto_summary sum;
	summary(f, "b.example", &sum);
	assert_int_equal(sum.n_members, 2); /* one tag, one signer id */
	assert_int_equal(sum.state, PROTO_SUMMARY_ACTIVE);
	proto_roster_free(ros);
	proto_roster_free(small);
}

/* A roster over the ring limit: a random ring of PROTO_REPORT_RING_MAX including us. */
static void test_large_roster(void **state)
{
	struct fx *f = *state;
	size_t n = PROTO_REPORT_RING_MAX + 44;
	struct proto_keys *keys = calloc(n, sizeof(*keys));
	struct proto_roster *ros;
	struct votes v;

	assert_non_null(keys);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(proto_keys_generate(&keys[i]), 0);
	ros = make_roster(f, keys, n, 4);
	expect_ok(call(f, ros, &keys[7], PUB("big.example", ""), NOW_MS), "new");
	votes(f, "big.example", &v);
	assert_int_equal(v.anon, 1);
	assert_int_equal(v.ring_n[0], PROTO_REPORT_RING_MAX);
	assert_true(has_tag(&v, &keys[7], "big.example"));
	for (size_t i = 0; i < n; i++)
		proto_keys_wipe(&keys[i]);
	free(keys);
	proto_roster_free(ros);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_votes_by_tag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reported_by_us, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_roster, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
