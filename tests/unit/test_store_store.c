/* SPDX-License-Identifier: MIT */
/*
 * The main store, one behaviour per test: batch ingest results, dedup, votes (newest wins,
 * revoke, tombstones, ties, anonymous tags), summaries, recon index and fingerprints, expiry,
 * feed, outbox, rosters, schema version, locking, map growth and map-full, reader-table
 * exhaustion, corrupted values, and a real signed report end to end.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto/crypto.h"
#include "proto/crypto_test.h"
#include "proto/error.h"
#include "proto/indicator.h"
#include "proto/report.h"
#include "store/export.h"
#include "store/store.h"
#include "store/store_test.h"
#include "testutil.h"

#define T0 1700000000000ull /* a fixed "now" in ms */

/* A report for the store: a proto_report view plus arbitrary bytes standing for the encoding. */
struct tr {
	struct proto_report r;
	char value[96];
	uint8_t bytes[128];
	size_t len;
	uint8_t id[32];
};

struct fx {
	char *dir;
	struct store *s;
};

/*
 * Build report @t: @voter > 0 is an attributed signer id, < 0 an anonymous link tag. The
 * bytes mix every field plus @salt so distinct reports get distinct ids.
 */
static void mk(struct tr *t, int kind, int tlp, const char *value, int voter, uint64_t created,
	       uint64_t valid_until, uint8_t confidence, uint64_t salt)
{
	const void *parts[1];
	size_t lens[1];

	memset(t, 0, sizeof(*t));
	snprintf(t->value, sizeof(t->value), "%s", value);
	t->r.kind = (uint8_t)kind;
	t->r.tlp = (uint8_t)tlp;
	t->r.confidence = confidence;
	t->r.created_ms = created;
	t->r.valid_until_ms = valid_until;
	t->r.ind_type = PROTO_IND_DOMAIN;
	t->r.ind_value.ptr = t->value;
	t->r.ind_value.len = strlen(t->value);
	if (voter >= 0) {
		t->r.prov = PROTO_PROV_ATTRIBUTED;
		memset(t->r.signer, voter, 32);
	} else {
		t->r.prov = PROTO_PROV_ANONYMOUS;
		memset(t->r.link_tag, -voter, 32);
	}
	t->len = (size_t)snprintf((char *)t->bytes, sizeof(t->bytes),
				  "%d|%d|%s|%d|%llu|%llu|%u|%llu", kind, tlp, value, voter,
				  (unsigned long long)created, (unsigned long long)valid_until,
				  confidence, (unsigned long long)salt);
	parts[0] = t->bytes;
	lens[0] = t->len;
	proto_hash(t->id, 32, parts, lens, 1);
}

static void item_of(struct store_item *it, const struct tr *t)
{
	memset(it, 0, sizeof(*it));
	it->bytes = t->bytes;
	it->len = t->len;
	memcpy(it->report_id, t->id, 32);
	it->r = &t->r;
	it->env.received_ms = T0;
	it->env.hops = 1;
	memset(it->env.received_from, 0x77, 32);
}

/* Ingest @n reports in one batch; assert the batch committed and return item results. */
static void ingest(struct store *s, const struct tr *t, size_t n, uint64_t now, int *results)
{
	struct store_item *items = calloc(n, sizeof(*items));

	assert_non_null(items);
	for (size_t i = 0; i < n; i++)
		item_of(&items[i], &t[i]);
	assert_int_equal(store_ingest(s, items, n, now), 0);
	for (size_t i = 0; i < n; i++)
		if (results)
			results[i] = items[i].result;
	free(items);
}

static void ingest1(struct store *s, const struct tr *t, uint64_t now, int expect)
{
	int res;

	ingest(s, t, 1, now, &res);
	assert_int_equal(res, expect);
}

static void ind_of(const char *value, uint8_t id[32])
{
	proto_indicator_id_raw(PROTO_IND_DOMAIN, value, strlen(value), id);
}

static struct proto_summary summary(struct store *s, const char *value)
{
	struct proto_summary sum;
	uint8_t id[32];

	ind_of(value, id);
	assert_int_equal(store_summary_get(s, NULL, id, &sum), 0);
	return sum;
}

static void assert_verified(struct store *s)
{
	char why[256];
	int rc = store_verify(s, why, sizeof(why));

	if (rc != 0)
		fail_msg("store_verify: %s (%s)", why, proto_error_str(rc));
}

static int setup_cfg(void **state, size_t init, size_t max, unsigned readers)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct store_config cfg = {0};

	assert_non_null(f);
	f->dir = tu_tmpdir();
	assert_non_null(f->dir);
	cfg.dir = f->dir;
	cfg.map_size_initial = init;
	cfg.map_size_max = max;
	cfg.max_readers = readers;
	assert_int_equal(store_open(&f->s, &cfg), 0);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_cfg(state, 0, 0, 0);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->s);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* ------------------------------------------------------------------ ingest and dedup */

static void test_batch_results(void **state)
{
	struct fx *f = *state;
	struct tr t[6];
	struct store_item items[6];
	struct proto_report bad;

	mk(&t[0], PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "a.example", 1, T0, 0, 50, 0);
	mk(&t[1], PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "b.example", 1, T0, 0, 50, 0);
	t[2] = t[0]; /* the same report twice in one batch */
	t[2].r.ind_value.ptr = t[2].value;
	mk(&t[3], PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "c.example", 1, T0, 0, 50, 0);
	mk(&t[4], PROTO_KIND_SIGHTING, PROTO_TLP_CLEAR, "c.example", 2, T0, 0, 0, 0);
	mk(&t[5], PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "d.example", 1, T0, 0, 50, 0);
	for (int i = 0; i < 6; i++)
		item_of(&items[i], &t[i]);
	/* Table of per-item rejections: each is reported and the rest of the batch goes on. */
	static const struct {
		int field, value, expect;
	} bads[] = {
		{0, 9, PROTO_E_REPORT_KIND},	   {1, 0, PROTO_E_REPORT_TLP},
		{1, 6, PROTO_E_REPORT_TLP},	   {2, 101, PROTO_E_REPORT_CONFIDENCE},
		{3, 0, PROTO_E_IND_TYPE},	   {3, 10, PROTO_E_IND_TYPE},
		{4, 2, PROTO_E_REPORT_PROVENANCE}, {5, 0, PROTO_E_REPORT_TIME},
		{6, 0, PROTO_E_IND_VALUE},
	};
	for (size_t b = 0; b < sizeof(bads) / sizeof(bads[0]); b++) {
		bad = t[3].r;
		switch (bads[b].field) {
		case 0:
			bad.kind = (uint8_t)bads[b].value;
			break;
		case 1:
			bad.tlp = (uint8_t)bads[b].value;
			break;
		case 2:
			bad.confidence = (uint8_t)bads[b].value;
			break;
		case 3:
			bad.ind_type = (uint8_t)bads[b].value;
			break;
		case 4:
			bad.prov = (uint8_t)bads[b].value;
			break;
		case 5:
			bad.valid_until_ms = bad.created_ms - 1;
			break;
		case 6:
			bad.ind_value.len = 0;
			break;
		}
		items[3].r = &bad;
		assert_int_equal(store_ingest(f->s, &items[3], 1, T0), 0);
		assert_int_equal(items[3].result, bads[b].expect);
	}
	items[3].r = &t[3].r;
	items[5].len = PROTO_REPORT_MAX_BYTES + 1;
	assert_int_equal(store_ingest(f->s, items, 6, T0), 0);
	assert_int_equal(items[0].result, STORE_NEW);
	assert_int_equal(items[1].result, STORE_NEW);
	assert_int_equal(items[2].result, STORE_DUP);
	assert_int_equal(items[3].result, STORE_NEW);
	assert_int_equal(items[4].result, STORE_NEW);
	assert_int_equal(items[5].result, PROTO_E_TOO_LARGE);
	/* Outbox entries are only for AMBER/RED. */
	items[5].len = t[5].len;
	items[5].outbox_to = t[5].id;
	items[5].n_outbox = 1;
	assert_int_equal(store_ingest(f->s, &items[5], 1, T0), 0);
	assert_int_equal(items[5].result, -EINVAL);
	assert_verified(f->s);
}

static void test_dup_is_noop(void **state)
{
	struct fx *f = *state;
	struct tr t;
	struct proto_summary a, b;
	uint64_t last1, last2;
	uint8_t *bytes;
	size_t len;

	mk(&t, PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "dup.example", 1, T0, 0, 70, 0);
	ingest1(f->s, &t, T0, STORE_NEW);
	a = summary(f->s, "dup.example");
	assert_int_equal(store_feed_last(f->s, NULL, &last1), 0);
	ingest1(f->s, &t, T0 + 5, STORE_DUP);
	b = summary(f->s, "dup.example");
	assert_int_equal(store_feed_last(f->s, NULL, &last2), 0);
	assert_true(a.n_reports == b.n_reports && a.n_members == b.n_members &&
		    a.feed_seq == b.feed_seq && a.last_seen_ms == b.last_seen_ms &&
		    a.state == b.state && a.confidence == b.confidence);
	assert_true(a.n_reports == 1 && a.n_members == 1);
	assert_true(last1 == last2);
	assert_int_equal(store_report_get(f->s, NULL, t.id, &bytes, &len), 0);
	assert_int_equal(len, t.len);
	assert_memory_equal(bytes, t.bytes, len);
	free(bytes);
}

static void test_multi_member_counts(void **state)
{
	struct fx *f = *state;
	struct tr t[5];
	struct proto_summary s;

	mk(&t[0], PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "m.example", 1, T0 + 10, 0, 40, 0);
	mk(&t[1], PROTO_KIND_INDICATOR, PROTO_TLP_AMBER, "m.example", 2, T0 + 5, 0, 90, 0);
	mk(&t[2], PROTO_KIND_INDICATOR, PROTO_TLP_CLEAR, "m.example", -3, T0 + 20, 0, 60, 0);
	mk(&t[3], PROTO_KIND_SIGHTING, PROTO_TLP_GREEN, "m.example", 1, T0 + 30, 0, 0, 0);
	mk(&t[4], PROTO_KIND_SIGHTING, PROTO_TLP_GREEN, "m.example", 1, T0 + 31, 0, 0, 1);
	ingest(f->s, t, 5, T0, NULL);
	s = summary(f->s, "m.example");
	assert_int_equal(s.state, PROTO_SUMMARY_ACTIVE);
	assert_int_equal(s.n_members, 3);
	assert_int_equal(s.n_sightings, 2);
	assert_int_equal(s.n_reports, 5);
	assert_int_equal(s.n_false_positive, 0);
	assert_int_equal(s.tlp, PROTO_TLP_AMBER);
	assert_int_equal(s.confidence, 90);
	assert_true(s.first_seen_ms == T0 + 5);
	assert_true(s.last_seen_ms == T0 + 31);
	assert_int_equal(s.ind.type, PROTO_IND_DOMAIN);
	assert_string_equal(s.ind.value, "m.example");
	assert_verified(f->s);
}

/* ------------------------------------------------------------------ votes */

static int count_votes(void *ctx, const struct store_report_info *info, const uint8_t *bytes,
		       size_t len)
{
	(void)info;
	assert_true(len > 0 && bytes);
	(*(int *)ctx)++;
	return 0;
}

static void test_votes_newest_wins(void **state)
{
	struct fx *f = *state;
	struct tr ind, fp_old, fp_new;
	struct proto_summary s;

	mk(&ind, PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "v.example", 1, T0 + 100, 0, 80, 0);
	mk(&fp_old, PROTO_KIND_FALSE_POSITIVE, PROTO_TLP_GREEN, "v.example", 1, T0 + 50, 0, 0, 0);
	mk(&fp_new, PROTO_KIND_FALSE_POSITIVE, PROTO_TLP_GREEN, "v.example", 1, T0 + 200, 0, 0, 0);
	ingest1(f->s, &ind, T0, STORE_NEW);
	ingest1(f->s, &fp_old, T0, STORE_NEW); /* older: does not replace the vote */
	s = summary(f->s, "v.example");
	assert_int_equal(s.n_members, 1);
	assert_int_equal(s.n_false_positive, 0);
	assert_int_equal(s.n_reports, 2);
	ingest1(f->s, &fp_new, T0, STORE_NEW); /* newer: the member now says false positive */
	s = summary(f->s, "v.example");
	assert_int_equal(s.n_members, 0);
	assert_int_equal(s.n_false_positive, 1);
	assert_int_equal(s.state, PROTO_SUMMARY_WITHDRAWN);
	assert_int_equal(s.confidence, 0);
	assert_verified(f->s);
}

static void test_revoke_and_tombstone(void **state)
{
	struct fx *f = *state;
	struct tr a, rev, late, other;
	struct proto_summary s;
	uint8_t id[32];
	int n = 0;

	mk(&a, PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "r.example", 1, T0 + 10, 0, 50, 0);
	mk(&other, PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "r.example", 2, T0 + 10, 0, 30, 0);
	mk(&rev, PROTO_KIND_REVOKE, PROTO_TLP_GREEN, "r.example", 1, T0 + 20, 0, 0, 0);
	mk(&late, PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "r.example", 1, T0 + 15, 0, 99, 0);
	ingest1(f->s, &a, T0, STORE_NEW);
	ingest1(f->s, &other, T0, STORE_NEW);
	ingest1(f->s, &rev, T0, STORE_NEW);
	s = summary(f->s, "r.example");
	assert_int_equal(s.n_members, 1);
	assert_int_equal(s.confidence, 30);
	/* A report older than the revoke arrives late: the revoke's tombstone keeps it out. */
	ingest1(f->s, &late, T0, STORE_NEW);
	s = summary(f->s, "r.example");
	assert_int_equal(s.n_members, 1);
	assert_int_equal(s.confidence, 30);
	assert_int_equal(s.n_reports, 4);
	ind_of("r.example", id);
	assert_int_equal(store_votes_iter(f->s, NULL, id, count_votes, &n), 0);
	assert_int_equal(n, 1);
	/* Revoking the last vote withdraws the indicator. */
	mk(&rev, PROTO_KIND_REVOKE, PROTO_TLP_GREEN, "r.example", 2, T0 + 11, 0, 0, 0);
	ingest1(f->s, &rev, T0, STORE_NEW);
	s = summary(f->s, "r.example");
	assert_int_equal(s.n_members, 0);
	assert_int_equal(s.state, PROTO_SUMMARY_WITHDRAWN);
	assert_verified(f->s);
}

/*
 * A member replaced its keys (old id 1, new id 3): its votes follow the new id. Indicator
 * a: both ids voted, the old one newer (the old vote wins and moves); b: only the old id
 * voted (moves); c: the new id revoked after the old id's report (the tombstone wins, the
 * old vote is gone); d: another member only (untouched). A later report by the old id is
 * stored under the new id when the caller names it (store_item.voter).
 */
static void test_voters_move(void **state)
{
	struct fx *f = *state;
	struct tr t[7], late;
	struct store_voter_pair pair;
	struct store_item it;
	uint64_t epoch;
	size_t moved;
	uint8_t id[32];
	int n = 0;

	mk(&t[0], PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "a.example", 1, T0 + 20, 0, 70, 0);
	mk(&t[1], PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "a.example", 3, T0 + 10, 0, 40, 0);
	mk(&t[2], PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "b.example", 1, T0 + 10, 0, 50, 0);
	mk(&t[3], PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "c.example", 1, T0 + 10, 0, 50, 0);
	mk(&t[4], PROTO_KIND_REVOKE, PROTO_TLP_GREEN, "c.example", 3, T0 + 30, 0, 0, 0);
	mk(&t[5], PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "d.example", 2, T0 + 10, 0, 50, 0);
	mk(&t[6], PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "c.example", 2, T0 + 10, 0, 20, 0);
	ingest(f->s, t, 7, T0, NULL);
	assert_int_equal(summary(f->s, "a.example").n_members, 2); /* counted twice before */
	assert_int_equal(summary(f->s, "c.example").n_members, 2);
	assert_int_equal(store_voters_epoch(f->s, &epoch), 0);
	assert_int_equal(epoch, 0);

	memset(pair.from, 1, 32);
	memset(pair.to, 3, 32);
	assert_int_equal(store_voters_move(f->s, &pair, 1, 4, T0, &moved), 0);
	assert_int_equal(moved, 3);
	assert_int_equal(store_voters_epoch(f->s, &epoch), 0);
	assert_int_equal(epoch, 4);
	assert_int_equal(summary(f->s, "a.example").n_members, 1);
	assert_int_equal(summary(f->s, "a.example").confidence, 70); /* the newer vote kept */
	assert_int_equal(summary(f->s, "b.example").n_members, 1);
	assert_int_equal(summary(f->s, "c.example").n_members, 1); /* member 2 only */
	assert_int_equal(summary(f->s, "c.example").confidence, 20);
	assert_int_equal(summary(f->s, "d.example").n_members, 1);
	assert_int_equal(summary(f->s, "a.example").n_reports, 2); /* reports all stay */
	ind_of("a.example", id);
	assert_int_equal(store_votes_iter(f->s, NULL, id, count_votes, &n), 0);
	assert_int_equal(n, 1);
	assert_verified(f->s); /* the report index names the new id too */

	/* Again: nothing left to move. */
	assert_int_equal(store_voters_move(f->s, &pair, 1, 4, T0, &moved), 0);
	assert_int_equal(moved, 0);

	/* A report the old id signed before its retirement arrives late: one vote still. */
	mk(&late, PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "b.example", 1, T0 + 40, 0, 90, 0);
	item_of(&it, &late);
	it.voter = pair.to;
	assert_int_equal(store_ingest(f->s, &it, 1, T0), 0);
	assert_int_equal(it.result, STORE_NEW);
	assert_int_equal(summary(f->s, "b.example").n_members, 1);
	assert_int_equal(summary(f->s, "b.example").confidence, 90);
	assert_verified(f->s);
	assert_int_equal(store_voters_move(NULL, &pair, 1, 4, T0, NULL), -EINVAL);
}

/*
 * A member with a long history replaced its keys: 3,000 indicators voted by the old id 1,
 * every third also by member 2. The move runs in bounded steps (1,024 entries changed at
 * most, here 6,000 entries: a vote and an index entry per report), so it takes several
 * transactions, and every vote moves exactly once across their boundaries.
 */
static void test_voters_move_steps(void **state)
{
	enum { N = 3000 };
	struct fx *f = *state;
	struct tr *t = calloc(N + N / 3, sizeof(*t));
	struct store_voter_pair pair;
	uint64_t txn0, epoch;
	size_t moved, n = 0;

	assert_non_null(t);
	for (int i = 0; i < N; i++) {
		char v[32];

		snprintf(v, sizeof(v), "m%d.example", i);
		mk(&t[n++], PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, v, 1, T0 + 10, 0, 50, 0);
		if (i % 3 == 0)
			mk(&t[n++], PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, v, 2, T0 + 10, 0, 50, 0);
	}
	ingest(f->s, t, n, T0, NULL);
	memset(pair.from, 1, 32);
	memset(pair.to, 3, 32);
	txn0 = store_debug_last_txn(f->s);
	assert_int_equal(store_voters_move(f->s, &pair, 1, 7, T0, &moved), 0);
	assert_int_equal(moved, N);
	/*
	 * 6,000 entries in steps that end at the first indicator boundary past 1,024 (512
	 * indicators of 2 entries each): 6, and the epoch's. The second pass finds nothing, and
	 * LMDB gives a write transaction that changed nothing no id.
	 */
	assert_int_equal(store_debug_last_txn(f->s) - txn0, 6 + 1);
	assert_int_equal(store_voters_epoch(f->s, &epoch), 0);
	assert_int_equal(epoch, 7);
	assert_int_equal(summary(f->s, "m0.example").n_members, 2);
	assert_int_equal(summary(f->s, "m1.example").n_members, 1);
	assert_int_equal(summary(f->s, "m2999.example").n_members, 1);
	assert_verified(f->s); /* every index entry names the new id, no vote of the old one */
	assert_int_equal(store_voters_move(f->s, &pair, 1, 7, T0, &moved), 0);
	assert_int_equal(moved, 0);
	free(t);
}

/*
 * Departed members' reports withdrawn (store_voters_withdraw_step()) in small steps: member 1
 * leaves. Its votes go, its index entries are flagged (store_verify() agrees), indicators
 * only it backed become WITHDRAWN, others keep their other votes, anonymous votes stay, the
 * reports stay stored and counted; a report of member 1 stored afterwards gets no vote.
 */
static void test_voters_withdraw(void **state)
{
	struct fx *f = *state;
	struct tr t[16], late;
	struct store_withdraw w = {0};
	uint8_t ids[2][32];
	char value[32];
	uint64_t epoch;
	int rc, steps = 0;

	mk(&t[0], PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "a.example", 1, T0 + 10, 0, 70, 0);
	mk(&t[1], PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "a.example", 2, T0 + 10, 0, 40, 0);
	mk(&t[2], PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "b.example", 1, T0 + 10, 0, 50, 0);
	mk(&t[3], PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "c.example", 1, T0 + 10, 0, 50, 0);
	mk(&t[4], PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "c.example", -5, T0 + 10, 0, 30, 0);
	mk(&t[5], PROTO_KIND_SIGHTING, PROTO_TLP_GREEN, "c.example", 1, T0 + 20, 0, 0, 0);
	for (int i = 6; i < 16; i++) {
		snprintf(value, sizeof(value), "m%d.example", i);
		mk(&t[i], PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, value, i % 2 ? 1 : 3, T0 + 10, 0,
		   60, 0);
	}
	ingest(f->s, t, 16, T0, NULL);
	assert_int_equal(summary(f->s, "a.example").n_members, 2);
	assert_int_equal(summary(f->s, "c.example").n_members, 2);
	assert_int_equal(store_voters_withdraw_epoch(f->s, &epoch), 0);
	assert_int_equal(epoch, 0);

	/* Member 1 and an id that never voted; ids must ascend. */
	memset(ids[0], 9, 32);
	memset(ids[1], 1, 32);
	w.ids = (const uint8_t(*)[32])ids;
	w.n_ids = 2;
	w.epoch = 5;
	w.now_ms = T0;
	w.max_keys = 4;
	w.max_changes = 2;
	assert_int_equal(store_voters_withdraw_step(f->s, &w), -EINVAL);
	memset(ids[0], 1, 32);
	memset(ids[1], 9, 32);
	while ((rc = store_voters_withdraw_step(f->s, &w)) == 1)
		steps++;
	assert_int_equal(rc, 0);
	assert_true(w.done);
	assert_int_equal(w.transactions, steps + 1);
	assert_true(w.transactions > 3); /* 8 indicators changed, at most 2 per step */
	assert_int_equal(w.votes, 3 + 5);
	assert_int_equal(w.reports, 4 + 5); /* the sighting's index entry too */
	assert_int_equal(w.indicators, 3 + 5);
	assert_int_equal(store_voters_withdraw_step(f->s, &w), -EINVAL); /* done */
	assert_int_equal(store_voters_withdraw_epoch(f->s, &epoch), 0);
	assert_int_equal(epoch, 5);

	assert_int_equal(summary(f->s, "a.example").n_members, 1);
	assert_int_equal(summary(f->s, "a.example").confidence, 40);
	assert_int_equal(summary(f->s, "a.example").state, PROTO_SUMMARY_ACTIVE);
	assert_int_equal(summary(f->s, "b.example").n_members, 0);
	assert_int_equal(summary(f->s, "b.example").state, PROTO_SUMMARY_WITHDRAWN);
	assert_int_equal(summary(f->s, "b.example").n_reports, 1); /* the report stays */
	assert_int_equal(summary(f->s, "c.example").n_members, 1); /* the anonymous vote */
	assert_int_equal(summary(f->s, "c.example").n_sightings, 1);
	assert_int_equal(summary(f->s, "m7.example").state, PROTO_SUMMARY_WITHDRAWN);
	assert_int_equal(summary(f->s, "m8.example").state, PROTO_SUMMARY_ACTIVE);
	assert_verified(f->s);

	/* Member 1's report stored afterwards: kept, counted, no vote. */
	mk(&late, PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "b.example", 1, T0 + 40, 0, 90, 0);
	ingest1(f->s, &late, T0, STORE_NEW);
	assert_int_equal(summary(f->s, "b.example").n_members, 0);
	assert_int_equal(summary(f->s, "b.example").n_reports, 2);
	mk(&late, PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "new.example", 1, T0 + 40, 0, 90, 0);
	ingest1(f->s, &late, T0, STORE_NEW);
	assert_int_equal(summary(f->s, "new.example").state, PROTO_SUMMARY_WITHDRAWN);
	assert_verified(f->s);

	/* Again (another epoch): nothing left. */
	memset(&w.resume, 0, sizeof(w.resume));
	w.resume_len = 0;
	w.done = false;
	w.votes = w.reports = w.indicators = w.transactions = 0;
	w.epoch = 6;
	w.max_keys = w.max_changes = 0;
	assert_int_equal(store_voters_withdraw_step(f->s, &w), 0);
	assert_int_equal(w.votes + w.reports + w.indicators, 0);
	assert_int_equal(w.transactions, 1);
	assert_int_equal(store_voters_withdraw_epoch(f->s, &epoch), 0);
	assert_int_equal(epoch, 6);
	assert_verified(f->s);
}

static void test_vote_tie_larger_id_wins(void **state)
{
	struct fx *f = *state;
	struct tr x, y, *hi, *lo;
	struct proto_summary s;

	mk(&x, PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "tie.example", 1, T0, 0, 10, 1);
	mk(&y, PROTO_KIND_FALSE_POSITIVE, PROTO_TLP_GREEN, "tie.example", 1, T0, 0, 0, 2);
	hi = memcmp(x.id, y.id, 32) > 0 ? &x : &y;
	lo = hi == &x ? &y : &x;
	/* Whatever the arrival order, the larger report id wins the tie. */
	ingest1(f->s, hi, T0, STORE_NEW);
	ingest1(f->s, lo, T0, STORE_NEW);
	s = summary(f->s, "tie.example");
	assert_int_equal(s.n_members, hi->r.kind == PROTO_KIND_INDICATOR ? 1 : 0);
	assert_int_equal(s.n_false_positive, hi->r.kind == PROTO_KIND_FALSE_POSITIVE ? 1 : 0);
	assert_verified(f->s);
}

static void test_anonymous_tag_is_one_vote(void **state)
{
	struct fx *f = *state;
	struct tr a1, a2, b;
	struct proto_summary s;

	/* The same linkability tag twice is one member updating its report. */
	mk(&a1, PROTO_KIND_INDICATOR, PROTO_TLP_CLEAR, "anon.example", -9, T0, 0, 20, 0);
	mk(&a2, PROTO_KIND_INDICATOR, PROTO_TLP_CLEAR, "anon.example", -9, T0 + 1, 0, 70, 0);
	/* A signer id with the same 32 bytes as the tag is a different voter. */
	mk(&b, PROTO_KIND_INDICATOR, PROTO_TLP_CLEAR, "anon.example", 9, T0, 0, 10, 0);
	ingest1(f->s, &a1, T0, STORE_NEW);
	ingest1(f->s, &a2, T0, STORE_NEW);
	ingest1(f->s, &b, T0, STORE_NEW);
	s = summary(f->s, "anon.example");
	assert_int_equal(s.n_members, 2);
	assert_int_equal(s.confidence, 70);
	assert_verified(f->s);
}

static void test_observed_only(void **state)
{
	struct fx *f = *state;
	struct tr sig, fp;
	struct proto_summary s;

	mk(&sig, PROTO_KIND_SIGHTING, PROTO_TLP_GREEN, "o.example", 1, T0, 0, 0, 0);
	mk(&fp, PROTO_KIND_FALSE_POSITIVE, PROTO_TLP_GREEN, "o.example", 2, T0, 0, 0, 0);
	ingest1(f->s, &sig, T0, STORE_NEW);
	ingest1(f->s, &fp, T0, STORE_NEW);
	s = summary(f->s, "o.example");
	assert_int_equal(s.state, PROTO_SUMMARY_OBSERVED);
	assert_int_equal(s.n_members, 0);
	assert_int_equal(s.n_false_positive, 1);
	assert_int_equal(s.n_sightings, 1);
	assert_verified(f->s);
}

struct collect {
	int n;
	uint8_t kinds[16];
};

static int collect_reports(void *ctx, const struct store_report_info *info, const uint8_t *bytes,
			   size_t len)
{
	struct collect *c = ctx;

	(void)bytes;
	(void)len;
	c->kinds[c->n++] = info->kind;
	return 0;
}

static int stop_at_first(void *ctx, const struct store_report_info *info, const uint8_t *bytes,
			 size_t len)
{
	(void)ctx;
	(void)info;
	(void)bytes;
	(void)len;
	return 42;
}

static void test_iterators(void **state)
{
	struct fx *f = *state;
	struct tr t[3];
	struct collect c = {0};
	uint8_t id[32], none[32] = {0};

	mk(&t[0], PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "it.example", 1, T0, 0, 50, 0);
	mk(&t[1], PROTO_KIND_SIGHTING, PROTO_TLP_GREEN, "it.example", 1, T0, 0, 0, 0);
	mk(&t[2], PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "it2.example", 1, T0, 0, 50, 0);
	ingest(f->s, t, 3, T0, NULL);
	ind_of("it.example", id);
	assert_int_equal(store_reports_iter(f->s, NULL, id, collect_reports, &c), 0);
	assert_int_equal(c.n, 2);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_votes_iter(f->s, NULL, id, collect_reports, &c), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.kinds[0], PROTO_KIND_INDICATOR);
	assert_int_equal(store_votes_iter(f->s, NULL, id, stop_at_first, NULL), 42);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_reports_iter(f->s, NULL, none, collect_reports, &c), 0);
	assert_int_equal(c.n, 0);
}

static void test_has_and_envelope(void **state)
{
	struct fx *f = *state;
	struct tr a, b;
	struct store_item it;
	struct store_envelope env;
	uint8_t ids[2][32];
	bool present[2];

	mk(&a, PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "h.example", 1, T0, 0, 50, 0);
	mk(&b, PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "h.example", 2, T0, 0, 50, 0);
	item_of(&it, &a);
	it.env.local = true;
	it.env.hops = 0;
	it.env.received_ms = T0 + 3;
	memset(it.env.received_from, 0, 32);
	assert_int_equal(store_ingest(f->s, &it, 1, T0), 0);
	memcpy(ids[0], a.id, 32);
	memcpy(ids[1], b.id, 32);
	assert_int_equal(store_report_has(f->s, NULL, (const uint8_t(*)[32])ids, 2, present), 0);
	assert_true(present[0]);
	assert_false(present[1]);
	assert_int_equal(store_envelope_get(f->s, NULL, a.id, &env), 0);
	assert_true(env.local);
	assert_int_equal(env.hops, 0);
	assert_true(env.received_ms == T0 + 3);
	assert_int_equal(store_envelope_get(f->s, NULL, b.id, &env), STORE_E_NOT_FOUND);
	assert_int_equal(store_summary_get(f->s, NULL, b.id, &(struct proto_summary){0}),
			 STORE_E_NOT_FOUND);
}

/* ------------------------------------------------------------------ recon */

static void add_le(uint8_t acc[32], const uint8_t id[32])
{
	unsigned carry = 0;

	for (int i = 0; i < 32; i++) {
		carry += acc[i] + id[i];
		acc[i] = (uint8_t)carry;
		carry >>= 8;
	}
}

static void test_recon_only_gossipable(void **state)
{
	struct fx *f = *state;
	struct tr t[5];
	uint8_t fp[32];
	uint64_t count;
	int tlps[5] = {PROTO_TLP_CLEAR, PROTO_TLP_GREEN, PROTO_TLP_AMBER, PROTO_TLP_AMBER_STRICT,
		       PROTO_TLP_RED};

	for (int i = 0; i < 5; i++)
		mk(&t[i], PROTO_KIND_INDICATOR, tlps[i], "tlp.example", i + 1, T0, 0, 50, 0);
	ingest(f->s, t, 5, T0, NULL);
	assert_int_equal(store_recon_fingerprint(f->s, NULL, NULL, NULL, fp, &count), 0);
	assert_true(count == 2);
	assert_int_equal(summary(f->s, "tlp.example").tlp, PROTO_TLP_RED);
	assert_verified(f->s);
}

static void test_recon_fingerprint_ranges(void **state)
{
	struct fx *f = *state;
	enum { N = 300 };
	struct tr *t = calloc(N, sizeof(*t));
	uint8_t(*keys)[STORE_RECON_KEY_LEN] = calloc(N, STORE_RECON_KEY_LEN);
	uint8_t fp[32], want[32], lo[STORE_RECON_KEY_LEN], hi[STORE_RECON_KEY_LEN];
	uint64_t count, rng = 7;
	size_t n;
	char v[32];

	assert_non_null(t);
	assert_non_null(keys);
	for (int i = 0; i < N; i++) {
		snprintf(v, sizeof(v), "fp%d.example", i);
		mk(&t[i], PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, v, 1, T0 + tu_rand(&rng) % 50, 0,
		   50, (uint64_t)i);
	}
	ingest(f->s, t, N, T0, NULL);
	assert_int_equal(store_recon_list(f->s, NULL, NULL, NULL, keys, N, &n), 0);
	assert_int_equal(n, N);
	for (size_t i = 1; i < n; i++)
		assert_true(memcmp(keys[i - 1], keys[i], STORE_RECON_KEY_LEN) < 0);
	/* Random ranges [keys[a], keys[b]) (b == N: to the end) against a brute-force sum. */
	for (int round = 0; round < 40; round++) {
		size_t a = tu_rand(&rng) % N, b = a + tu_rand(&rng) % (N + 1 - a);
		uint8_t(*got)[STORE_RECON_KEY_LEN] = calloc(N, STORE_RECON_KEY_LEN);

		assert_non_null(got);
		memset(want, 0, sizeof(want));
		for (size_t i = a; i < b; i++)
			add_le(want, keys[i] + 8);
		memcpy(lo, keys[a], sizeof(lo));
		if (b < N)
			memcpy(hi, keys[b], sizeof(hi));
		assert_int_equal(
			store_recon_fingerprint(f->s, NULL, lo, b < N ? hi : NULL, fp, &count), 0);
		assert_true(count == b - a);
		assert_memory_equal(fp, want, 32);
		assert_int_equal(store_recon_list(f->s, NULL, lo, b < N ? hi : NULL, got, N, &n),
				 0);
		assert_int_equal(n, b - a);
		if (n)
			assert_memory_equal(got, keys[a], n * STORE_RECON_KEY_LEN);
		free(got);
	}
	/* NULL bounds: the whole set. */
	memset(want, 0, sizeof(want));
	for (size_t i = 0; i < N; i++)
		add_le(want, keys[i] + 8);
	assert_int_equal(store_recon_fingerprint(f->s, NULL, NULL, NULL, fp, &count), 0);
	assert_true(count == N);
	assert_memory_equal(fp, want, 32);
	/* An empty range has a zero fingerprint. */
	assert_int_equal(store_recon_fingerprint(f->s, NULL, keys[5], keys[5], fp, &count), 0);
	assert_true(count == 0);
	memset(want, 0, 32);
	assert_memory_equal(fp, want, 32);
	/* Paging through the list with a limit visits every key once, in order. */
	{
		uint8_t page[7][STORE_RECON_KEY_LEN], next[STORE_RECON_KEY_LEN];
		const uint8_t *from = NULL;
		size_t total = 0;

		for (;;) {
			assert_int_equal(store_recon_list(f->s, NULL, from, NULL, page, 7, &n), 0);
			for (size_t i = 0; i < n; i++)
				assert_memory_equal(page[i], keys[total + i], STORE_RECON_KEY_LEN);
			total += n;
			if (n < 7)
				break;
			/* The successor of the last key: add one to the 40-byte big-endian key. */
			memcpy(next, page[6], sizeof(next));
			for (int i = STORE_RECON_KEY_LEN - 1; i >= 0 && ++next[i] == 0; i--)
				;
			from = next;
		}
		assert_int_equal(total, N);
	}
	free(t);
	free(keys);
}

/* A random recon key: created @created, random id bytes. */
static void rand_key(uint64_t *rng, uint64_t created, uint8_t key[STORE_RECON_KEY_LEN])
{
	uint8_t id[32];

	for (int i = 0; i < 32; i++)
		id[i] = (uint8_t)tu_rand(rng);
	store_recon_key(key, created, id);
}

/*
 * The fingerprint of [@lo, @hi) by listing every item and adding it up; the keys stay in
 * @keys (caller storage of @cap).
 */
static void linear_fp(struct store *s, const uint8_t *lo, const uint8_t *hi,
		      uint8_t (*keys)[STORE_RECON_KEY_LEN], size_t cap, uint8_t fp[32],
		      uint64_t *count)
{
	size_t n;

	assert_int_equal(store_recon_list(s, NULL, lo, hi, keys, cap, &n), 0);
	assert_true(n < cap);
	memset(fp, 0, 32);
	for (size_t i = 0; i < n; i++)
		add_le(fp, keys[i] + 8);
	*count = n;
}

/* Random ranges of every width and both NULL bounds: the sums answer as a scan does. */
static void check_random_ranges(struct store *s, uint64_t *rng, uint64_t t0, uint64_t span,
				size_t cap, int rounds)
{
	uint8_t(*keys)[STORE_RECON_KEY_LEN] = calloc(cap, STORE_RECON_KEY_LEN);
	uint8_t pair[2][STORE_RECON_KEY_LEN];

	assert_non_null(keys);
	for (int round = 0; round < rounds; round++) {
		uint8_t lo[STORE_RECON_KEY_LEN], hi[STORE_RECON_KEY_LEN], fp[32], want[32];
		uint64_t count, want_count, width = 1ull << (tu_rand(rng) % 44);
		const uint8_t *plo = lo, *phi = hi;

		uint64_t c_lo = t0 + tu_rand(rng) % span;

		/* hi: lo's time plus 0 .. 2^43 ms, each with a random id. */
		rand_key(rng, c_lo, lo);
		rand_key(rng, c_lo + tu_rand(rng) % width, hi);
		if (memcmp(lo, hi, sizeof(lo)) > 0) {
			uint8_t t[STORE_RECON_KEY_LEN];

			memcpy(t, lo, sizeof(t));
			memcpy(lo, hi, sizeof(t));
			memcpy(hi, t, sizeof(t));
		}
		if (round % 10 == 1)
			plo = NULL;
		if (round % 10 == 2)
			phi = NULL;
		if (round % 10 == 3)
			plo = phi = NULL;
		linear_fp(s, plo, phi, keys, cap, want, &want_count);
		assert_int_equal(store_recon_fingerprint(s, NULL, plo, phi, fp, &count), 0);
		assert_true(count == want_count);
		assert_memory_equal(fp, want, 32);
		/* The bound pair at a random rank, and past the end. */
		if (want_count >= 2) {
			uint64_t rank = 1 + tu_rand(rng) % (want_count - 1);

			assert_int_equal(store_recon_at(s, NULL, plo, phi, rank, pair), 0);
			assert_memory_equal(pair[0], keys[rank - 1], STORE_RECON_KEY_LEN);
			assert_memory_equal(pair[1], keys[rank], STORE_RECON_KEY_LEN);
		}
		assert_int_equal(
			store_recon_at(s, NULL, plo, phi, want_count ? want_count : 1, pair),
			STORE_E_NOT_FOUND);
	}
	free(keys);
}

/*
 * The range fingerprint and the bound pairs of store_recon_at() come from recon_sums
 * (store/recon.c): after random batches of CLEAR/GREEN/AMBER reports with created spread
 * over seconds to years (every level of the sums), expiry sweeps and a reopen, every random
 * range's fingerprint and count equal a scan of its items, its keys at a random rank are
 * the listing's, and store_verify() finds the sums equal to a rebuild.
 */
static void test_recon_sums_random(void **state)
{
	struct fx *f = *state;
	enum { BATCHES = 12, PER = 250 };
	const uint64_t t0 = 1600000000000ull, span = 1ull << 40;
	struct tr *t = calloc(PER, sizeof(*t));
	uint64_t rng = 0x5eed;
	struct store_config cfg = {0};
	char v[48];

	assert_non_null(t);
	for (int b = 0; b < BATCHES; b++) {
		/* Each batch clusters its times at one scale: 2^8 .. 2^38 ms around a centre. */
		uint64_t centre = t0 + tu_rand(&rng) % span, scale = 1ull << (8 + 6 * (b % 6));
		size_t n_expired;

		for (int i = 0; i < PER; i++) {
			uint64_t created = centre + tu_rand(&rng) % scale;
			int tlp = (int)(tu_rand(&rng) % 3); /* CLEAR, GREEN, AMBER */

			snprintf(v, sizeof(v), "sum%d-%d.example", b, i);
			mk(&t[i], PROTO_KIND_INDICATOR, tlp, v, 1 + (int)(tu_rand(&rng) % 4),
			   created, created + 1000, 50, (uint64_t)(b * PER + i));
		}
		ingest(f->s, t, PER, T0, NULL);
		if (b % 3 == 2) /* again: duplicates change nothing */
			ingest(f->s, t, PER / 2, T0, NULL);
		assert_int_equal(store_expire(f->s, t0 + span, 0, &n_expired), 0);
		check_random_ranges(f->s, &rng, t0 - 1000, span + scale + 2000,
				    (size_t)BATCHES * PER + 1, 60);
	}
	assert_verified(f->s);
	store_close(f->s);
	cfg.dir = f->dir;
	assert_int_equal(store_open(&f->s, &cfg), 0);
	check_random_ranges(f->s, &rng, t0 - 1000, span + 2000, (size_t)BATCHES * PER + 1, 200);
	free(t);
}

/* ------------------------------------------------------------------ expiry */

static void test_expiry_sweep(void **state)
{
	struct fx *f = *state;
	struct tr a, b, c, d;
	struct proto_summary s;
	size_t n;
	uint64_t last;

	mk(&a, PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "e1.example", 1, T0, T0 + 1000, 50, 0);
	mk(&b, PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "e1.example", 2, T0, T0 + 2000, 50, 0);
	mk(&c, PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "e2.example", 1, T0, 0, 50, 0);
	mk(&d, PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "e2.example", 2, T0, T0 + 10, 50, 0);
	ingest1(f->s, &a, T0, STORE_NEW);
	ingest1(f->s, &b, T0, STORE_NEW);
	ingest1(f->s, &c, T0, STORE_NEW);
	ingest1(f->s, &d, T0, STORE_NEW);
	assert_true(summary(f->s, "e1.example").valid_until_ms == T0 + 2000);
	assert_true(summary(f->s, "e2.example").valid_until_ms == 0); /* one vote never expires */
	/* One vote passed, the other not: still active. */
	assert_int_equal(store_expire(f->s, T0 + 1500, 0, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(summary(f->s, "e1.example").state, PROTO_SUMMARY_ACTIVE);
	assert_int_equal(store_feed_last(f->s, NULL, &last), 0);
	/* Every vote passed: expired, with a feed entry. */
	assert_int_equal(store_expire(f->s, T0 + 5000, 0, &n), 0);
	assert_int_equal(n, 1);
	s = summary(f->s, "e1.example");
	assert_int_equal(s.state, PROTO_SUMMARY_EXPIRED);
	assert_true(s.feed_seq == last + 1);
	assert_int_equal(summary(f->s, "e2.example").state, PROTO_SUMMARY_ACTIVE);
	assert_int_equal(store_expire(f->s, T0 + 9000, 0, &n), 0);
	assert_int_equal(n, 0);
	assert_verified(f->s);
	/* A fresh vote revives it. */
	mk(&a, PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "e1.example", 1, T0 + 6000, T0 + 9000, 50, 0);
	ingest1(f->s, &a, T0 + 6000, STORE_NEW);
	assert_int_equal(summary(f->s, "e1.example").state, PROTO_SUMMARY_ACTIVE);
	/* A report ingested after its expiry lands expired at once. */
	mk(&a, PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "e3.example", 1, T0, T0 + 5, 50, 0);
	ingest1(f->s, &a, T0 + 100, STORE_NEW);
	assert_int_equal(summary(f->s, "e3.example").state, PROTO_SUMMARY_EXPIRED);
	assert_verified(f->s);
}

static void test_expiry_limit(void **state)
{
	struct fx *f = *state;
	struct tr t[10];
	char v[32];
	size_t n, total = 0;

	for (int i = 0; i < 10; i++) {
		snprintf(v, sizeof(v), "lim%d.example", i);
		mk(&t[i], PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, v, 1, T0, T0 + 10 + i, 50, 0);
	}
	ingest(f->s, t, 10, T0, NULL);
	do {
		assert_int_equal(store_expire(f->s, T0 + 100, 3, &n), 0);
		assert_true(n <= 3);
		total += n;
	} while (n);
	assert_int_equal(total, 10);
	assert_verified(f->s);
}

/* ------------------------------------------------------------------ feed */

struct feed_seen {
	uint64_t seqs[64];
	uint8_t states[64];
	int n;
};

static int feed_collect(void *ctx, const struct store_feed_entry *e)
{
	struct feed_seen *fs = ctx;

	fs->seqs[fs->n] = e->seq;
	fs->states[fs->n++] = e->state;
	return 0;
}

static void test_feed_one_entry_per_indicator(void **state)
{
	struct fx *f = *state;
	struct tr t[4];
	struct feed_seen fs = {0};
	uint64_t last;

	mk(&t[0], PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "f1.example", 1, T0, 0, 50, 0);
	mk(&t[1], PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "f1.example", 2, T0, 0, 50, 0);
	mk(&t[2], PROTO_KIND_SIGHTING, PROTO_TLP_GREEN, "f1.example", 3, T0, 0, 0, 0);
	mk(&t[3], PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "f2.example", 1, T0, 0, 50, 0);
	assert_int_equal(store_feed_last(f->s, NULL, &last), 0);
	assert_true(last == 0);
	ingest(f->s, t, 4, T0, NULL);
	assert_int_equal(store_feed_last(f->s, NULL, &last), 0);
	assert_true(last == 2);
	ingest1(f->s, &t[0], T0, STORE_DUP); /* no change, no entry */
	mk(&t[0], PROTO_KIND_REVOKE, PROTO_TLP_GREEN, "f2.example", 1, T0 + 1, 0, 0, 0);
	ingest1(f->s, &t[0], T0, STORE_NEW);
	assert_int_equal(store_feed_iter(f->s, NULL, 0, 0, feed_collect, &fs), 3);
	assert_true(fs.seqs[0] == 1 && fs.seqs[1] == 2 && fs.seqs[2] == 3);
	assert_int_equal(fs.states[2], PROTO_SUMMARY_WITHDRAWN);
	memset(&fs, 0, sizeof(fs));
	assert_int_equal(store_feed_iter(f->s, NULL, 1, 1, feed_collect, &fs), 1);
	assert_true(fs.seqs[0] == 2);
	assert_int_equal(store_feed_iter(f->s, NULL, 3, 0, feed_collect, &fs), 0);
	assert_true(summary(f->s, "f2.example").feed_seq == 3);
}

/* ------------------------------------------------------------------ outbox */

static void test_outbox(void **state)
{
	struct fx *f = *state;
	struct tr t;
	struct store_item it;
	struct store_outbox_entry due[8], upd;
	uint8_t recips[2 * 32];
	size_t n;

	mk(&t, PROTO_KIND_INDICATOR, PROTO_TLP_RED, "ob.example", 1, T0, 0, 50, 0);
	memset(recips, 0x10, 32);
	memset(recips + 32, 0x20, 32);
	item_of(&it, &t);
	it.outbox_to = recips;
	it.n_outbox = 2;
	assert_int_equal(store_ingest(f->s, &it, 1, T0), 0);
	assert_int_equal(it.result, STORE_NEW);
	assert_int_equal(store_outbox_due(f->s, NULL, T0, due, 8, &n), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(due[0].report_id, t.id, 32);
	assert_int_equal(due[0].attempts, 0);
	/* Reschedule one; it is no longer due now. */
	upd = due[0];
	upd.attempts = 1;
	upd.next_attempt_ms = T0 + 1000;
	assert_int_equal(store_outbox_put(f->s, &upd, 1), 0);
	assert_int_equal(store_outbox_due(f->s, NULL, T0, due, 8, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_outbox_due(f->s, NULL, T0 + 1000, due, 8, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_outbox_due(f->s, NULL, T0 + 1000, due, 1, &n), 0);
	assert_int_equal(n, 1);
	/* Acknowledge both; a second ack is not found. */
	assert_int_equal(store_outbox_del(f->s, t.id, recips), 0);
	assert_int_equal(store_outbox_del(f->s, t.id, recips + 32), 0);
	assert_int_equal(store_outbox_del(f->s, t.id, recips), STORE_E_NOT_FOUND);
	assert_int_equal(store_outbox_due(f->s, NULL, UINT64_MAX, due, 8, &n), 0);
	assert_int_equal(n, 0);
	assert_verified(f->s);
}

/*
 * store_apply(): new reports (with their outbox entries), a reschedule and acknowledgements,
 * one of them for an entry that is not there, in one transaction; acks alone; an empty batch
 * and bad arguments.
 */
static void test_apply_batch(void **state)
{
	struct fx *f = *state;
	struct tr t1, t2;
	struct store_item it[2];
	struct store_outbox_entry due[8], upd, dels[2];
	struct store_batch b = {0};
	struct store_stat st;
	uint8_t recips[2 * 32];
	size_t n;

	memset(recips, 0x10, 32);
	memset(recips + 32, 0x20, 32);
	mk(&t1, PROTO_KIND_INDICATOR, PROTO_TLP_AMBER, "apply1.example", 1, T0, 0, 50, 0);
	item_of(&it[0], &t1);
	it[0].outbox_to = recips;
	it[0].n_outbox = 2;
	b.items = it;
	b.n_items = 1;
	assert_int_equal(store_apply(f->s, &b, T0), 0);
	assert_int_equal(it[0].result, STORE_NEW);
	assert_int_equal(b.n_deleted, 0);

	/* Next job: one new report, one reschedule, one ack present and one absent. */
	mk(&t2, PROTO_KIND_SIGHTING, PROTO_TLP_GREEN, "apply2.example", 2, T0 + 1, 0, 0, 0);
	item_of(&it[1], &t2);
	memset(&upd, 0, sizeof(upd));
	memcpy(upd.report_id, t1.id, 32);
	memcpy(upd.recipient, recips + 32, 32);
	upd.attempts = 3;
	upd.next_attempt_ms = T0 + 5000;
	memset(dels, 0, sizeof(dels));
	memcpy(dels[0].report_id, t1.id, 32);
	memcpy(dels[0].recipient, recips, 32);
	memcpy(dels[1].report_id, t2.id, 32);
	memcpy(dels[1].recipient, recips, 32);
	b = (struct store_batch){.items = &it[1],
				 .n_items = 1,
				 .puts = &upd,
				 .n_puts = 1,
				 .dels = dels,
				 .n_dels = 2};
	assert_int_equal(store_apply(f->s, &b, T0 + 1), 0);
	assert_int_equal(it[1].result, STORE_NEW);
	assert_int_equal(b.n_deleted, 1);
	assert_int_equal(store_outbox_due(f->s, NULL, UINT64_MAX, due, 8, &n), 0);
	assert_int_equal(n, 1);
	assert_memory_equal(due[0].recipient, recips + 32, 32);
	assert_int_equal(due[0].attempts, 3);
	assert_int_equal(due[0].next_attempt_ms, T0 + 5000);
	assert_int_equal(store_stat(f->s, &st), 0);
	assert_int_equal(st.reports, 2);

	/* Only acks: no report, one transaction. Empty: a no-op. Bad arguments: -EINVAL. */
	memcpy(dels[0].recipient, recips + 32, 32);
	b = (struct store_batch){.dels = dels, .n_dels = 1};
	assert_int_equal(store_apply(f->s, &b, T0 + 2), 0);
	assert_int_equal(b.n_deleted, 1);
	b = (struct store_batch){0};
	assert_int_equal(store_apply(f->s, &b, T0 + 2), 0);
	b = (struct store_batch){.n_puts = 1};
	assert_int_equal(store_apply(f->s, &b, T0 + 2), -EINVAL);
	assert_int_equal(store_outbox_due(f->s, NULL, UINT64_MAX, due, 8, &n), 0);
	assert_int_equal(n, 0);
	assert_verified(f->s);
}

/* ------------------------------------------------------------------ rosters */

static void test_rosters(void **state)
{
	struct fx *f = *state;
	uint8_t *out;
	size_t len;
	uint64_t epoch;

	assert_int_equal(store_roster_latest(f->s, NULL, &epoch), STORE_E_NOT_FOUND);
	assert_int_equal(store_roster_put(f->s, 1, (const uint8_t *)"one", 3), 0);
	assert_int_equal(store_roster_put(f->s, 7, (const uint8_t *)"seven", 5), 0);
	assert_int_equal(store_roster_put(f->s, 3, (const uint8_t *)"three", 5), 0);
	assert_int_equal(store_roster_put(f->s, 3, (const uint8_t *)"three", 5), 0);
	assert_int_equal(store_roster_put(f->s, 3, (const uint8_t *)"other", 5), -EEXIST);
	assert_int_equal(store_roster_latest(f->s, NULL, &epoch), 0);
	assert_true(epoch == 7);
	assert_int_equal(store_roster_get(f->s, NULL, 3, &out, &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(out, "three", 5);
	free(out);
	assert_int_equal(store_roster_get(f->s, NULL, 2, &out, &len), STORE_E_NOT_FOUND);
	assert_null(out);
}

/* ------------------------------------------------------------------ environment */

static void test_schema_newer_and_reopen(void **state)
{
	struct fx *f = *state;
	struct store_config cfg = {.dir = f->dir};
	struct tr t;
	uint8_t ver[4] = {0, 0, 0, STORE_SCHEMA_VERSION + 1}, id1[16], id2[16];

	mk(&t, PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "keep.example", 1, T0, 0, 50, 0);
	ingest1(f->s, &t, T0, STORE_NEW);
	store_id(f->s, id1);
	/* Reopen keeps data and the store id. */
	store_close(f->s);
	assert_int_equal(store_open(&f->s, &cfg), 0);
	store_id(f->s, id2);
	assert_memory_equal(id1, id2, 16);
	ingest1(f->s, &t, T0, STORE_DUP);
	/* A newer schema is refused with a message that says so. */
	assert_int_equal(store_debug_put(f->s, "meta", "schema", 6, ver, 4), 0);
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(store_open(&f->s, &cfg), STORE_E_SCHEMA_NEWER);
	assert_null(f->s);
	assert_non_null(strstr(proto_error_str(STORE_E_SCHEMA_NEWER), "newer"));
}

static void test_second_open_busy(void **state)
{
	struct fx *f = *state;
	struct store_config cfg = {.dir = f->dir};
	struct store *s2 = NULL;

	assert_int_equal(store_open(&s2, &cfg), STORE_E_BUSY);
	assert_null(s2);
	store_close(NULL);
}

static void test_map_growth(void **state)
{
	struct fx *f = *state;
	enum { N = 4000 };
	struct tr *t = calloc(N, sizeof(*t));
	struct store_stat st;
	char v[48];
	int *res = calloc(N, sizeof(*res));
	size_t hint0;

	assert_non_null(t);
	assert_non_null(res);
	for (int i = 0; i < N; i++) {
		snprintf(v, sizeof(v), "grow-%d.example", i);
		mk(&t[i], PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, v, 1, T0, 0, 50, (uint64_t)i);
	}
	hint0 = store_debug_hint_bytes(f->s);
	/*
	 * The map starts at 256 KiB: one batch of 4,000 reports needs several doublings. The id
	 * hint of an empty store has 64 segments of 62 ids at most: segments fill up inside the
	 * batch and are rebuilt from their records, this batch's among them (the write
	 * transaction's own view).
	 */
	ingest(f->s, t, N, T0, NULL);
	assert_true(store_debug_hint_bytes(f->s) > hint0);
	ingest(f->s, t, N, T0, res);
	for (int i = 0; i < N; i++)
		assert_int_equal(res[i], STORE_DUP);
	free(res);
	assert_int_equal(store_stat(f->s, &st), 0);
	assert_true(st.n_grow > 0);
	assert_true(st.map_size > 256 * 1024);
	assert_true(st.reports == N);
	assert_true(st.indicators == N);
	assert_verified(f->s);
	free(t);
}

/*
 * The map is reserved at open (8 GiB by default) and is address space only: LMDB does not
 * extend the file to it (no MDB_WRITEMAP), so nothing grows for a store of this size, and
 * the file holds only the pages written.
 */
static void test_map_reserved_at_open(void **state)
{
	struct fx *f = *state;
	enum { N = 2000 };
	struct tr *t = calloc(N, sizeof(*t));
	struct store_stat st;
	struct stat sb;
	char v[48], *path;

	assert_non_null(t);
	for (int i = 0; i < N; i++) {
		snprintf(v, sizeof(v), "reserved-%d.example", i);
		mk(&t[i], PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, v, 1, T0, 0, 50, (uint64_t)i);
	}
	ingest(f->s, t, N, T0, NULL);
	assert_int_equal(store_stat(f->s, &st), 0);
	assert_true(st.map_size == (size_t)8 << 30);
	assert_true(st.n_grow == 0);
	assert_true(asprintf(&path, "%s/data.mdb", f->dir) > 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(sb.st_size < 16 << 20);
	assert_true((uint64_t)sb.st_blocks * 512 < 16 << 20);
	free(path);
	free(t);
}

/* The process's address space in use (VmSize), in bytes; 0 when unknown. */
static size_t vm_size(void)
{
	FILE *fp = fopen("/proc/self/status", "r");
	char line[256];
	size_t kb = 0;

	while (fp && fgets(line, sizeof(line), fp))
		if (strncmp(line, "VmSize:", 7) == 0)
			kb = strtoull(line + 7, NULL, 10);
	if (fp)
		fclose(fp);
	return kb * 1024;
}

/*
 * The maps reserved at open are a wish, not a need: where the system will not reserve them
 * (RLIMIT_AS, e.g. `ulimit -v` or systemd's LimitAS=; a small address space), the store and
 * the export environment still open with their defaults, on a smaller map that grows as
 * written. In a child whose address space may grow by 2 GiB only (less than the 8 GiB + 1
 * GiB the defaults reserve).
 */
static void test_map_reserved_within_rlimit_as(void **state)
{
	char *dir = tu_tmpdir(), *xdir = tu_tmpdir();
	int status = -1;
	pid_t pid;

	(void)state;
	assert_non_null(dir);
	assert_non_null(xdir);
	assert_true(vm_size() > 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl;
		struct store *s = NULL;
		struct store_export *x = NULL;
		struct store_config sc = {.dir = dir};
		struct store_export_config xc = {.dir = xdir, .community = "c"};
		struct store_stat st;
		struct tr t;
		struct store_item it;
		int code = 0;

		rlim_t want = vm_size() + ((size_t)2 << 30);

		/* an environment that limits it harder already is the case under test */
		if (getrlimit(RLIMIT_AS, &rl) != 0)
			_exit(10);
		if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want)
			rl.rlim_max = want;
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_AS, &rl) != 0)
			_exit(10);
		if (store_open(&s, &sc) != 0)
			_exit(11);
		mk(&t, PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "rlimit.example", 1, T0, 0, 50, 1);
		item_of(&it, &t);
		if (store_ingest(s, &it, 1, T0) != 0 || it.result != STORE_NEW)
			code = 12;
		else if (store_stat(s, &st) != 0 || st.map_size > ((size_t)2 << 30))
			code = 13;
		else if (store_export_open(&x, &xc) != 0)
			code = 14;
		store_export_close(x);
		store_close(s);
		_exit(code);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	tu_rmtree(dir);
	tu_rmtree(xdir);
	free(dir);
	free(xdir);
}

/*
 * Map sizes are computed in 64 bits and capped at what a size_t holds: with a 32-bit size_t
 * the defaults (8 GiB, 64 GiB, the export's 16 GiB) and a map_size_mb of 4096 or more
 * wrapped to 0 (LMDB's 1 MiB map, and a cap of 0). Called here with a 32-bit limit.
 */
static void test_map_bytes(void **state)
{
	const uint64_t u32 = UINT32_MAX, top = UINT32_MAX - 4095; /* 4 GiB - 4 KiB */

	(void)state;
	assert_true(store_map_bytes(UINT64_C(8) << 30, u32) == top);
	assert_true(store_map_bytes(UINT64_C(64) << 30, u32) == top);
	assert_true(store_map_bytes(UINT64_C(16777216) << 20, u32) == top); /* map_max_mb's max */
	assert_true(store_map_bytes(UINT64_C(4096) << 20, u32) == top);	    /* exactly 4 GiB */
	assert_true(store_map_bytes(UINT64_C(4095) << 20, u32) == UINT64_C(4095) << 20);
	assert_true(store_map_bytes(top, u32) == top);
	assert_true(store_map_bytes(top - 1, u32) == top);
	assert_true(store_map_bytes(1, u32) == 4096);
	assert_true(store_map_bytes(4097, u32) == 8192);
	/* 64-bit: whole pages, no wrap at the top either. */
	assert_true(store_map_bytes(UINT64_C(8) << 30, UINT64_MAX) == UINT64_C(8) << 30);
	assert_true(store_map_bytes(UINT64_MAX, UINT64_MAX) == UINT64_MAX - 4095);
	assert_true(store_map_bytes(UINT64_MAX - 5000, UINT64_MAX) == UINT64_MAX - 4095);
}

/* An initial map over the cap is lowered to it: the cap is what the operator allows. */
static void test_map_initial_capped(void **state)
{
	struct fx *f = *state;
	struct store_stat st;

	assert_int_equal(store_stat(f->s, &st), 0);
	assert_true(st.map_size == 4 << 20);
}

static void test_map_full_at_max(void **state)
{
	struct fx *f = *state;
	enum { N = 2000 };
	struct tr *t = calloc(N, sizeof(*t));
	struct store_item *items = calloc(N, sizeof(*items));
	struct store_stat st;
	char v[48];
	int rc = 0, batches = 0;

	assert_non_null(t);
	assert_non_null(items);
	for (int i = 0; i < N; i++) {
		snprintf(v, sizeof(v), "full-%d.example", i);
		mk(&t[i], PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, v, 1, T0, 0, 50, (uint64_t)i);
		item_of(&items[i], &t[i]);
	}
	/* 512 KiB cap: batches of 100 eventually cannot fit. */
	for (int b = 0; b < N / 100 && rc == 0; b++, batches++)
		rc = store_ingest(f->s, items + b * 100, 100, T0);
	assert_int_equal(rc, STORE_E_MAP_FULL);
	assert_non_null(strstr(proto_error_str(rc), "map_max_mb"));
	/* The failed batch left nothing behind and the store still works. */
	for (int i = (batches - 1) * 100; i < batches * 100; i++)
		assert_int_equal(items[i].result, 0);
	assert_int_equal(store_stat(f->s, &st), 0);
	assert_true(st.reports == (uint64_t)(batches - 1) * 100);
	assert_true(st.map_size <= 512 * 1024);
	assert_verified(f->s);
	free(items);
	free(t);
}

static void test_readers_full(void **state)
{
	struct fx *f = *state;
	struct store_read *r1, *r2, *r3 = NULL;
	uint64_t last;

	assert_int_equal(store_read_begin(f->s, &r1), 0);
	assert_int_equal(store_read_begin(f->s, &r2), 0);
	/* Slots are taken by live readers of this process: reader_check frees none. */
	assert_int_equal(store_read_begin(f->s, &r3), STORE_E_READERS);
	assert_null(r3);
	assert_int_equal(store_feed_last(f->s, r1, &last), 0);
	store_read_end(r2);
	assert_int_equal(store_feed_last(f->s, NULL, &last), 0);
	store_read_end(r1);
	store_read_end(NULL);
}

/*
 * One-shot reads renew pooled read transactions (store/mdb.h): a renewed one must see every
 * commit made since it was last used, and the pool must never keep an explicit reader out of
 * a small reader table.
 */
static void test_read_pool(void **state)
{
	struct fx *f = *state;
	struct store_read *r1, *r2;
	struct tr t[2];
	uint8_t *out;
	size_t len;
	bool present;

	mk(&t[0], PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "pool-a.example", 1, T0, 0, 50, 0);
	mk(&t[1], PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "pool-b.example", 1, T0, 0, 50, 0);
	for (int round = 0; round < 3; round++) {
		ingest1(f->s, &t[0], T0, round ? STORE_DUP : STORE_NEW);
		assert_int_equal(store_report_get(f->s, NULL, t[0].id, &out, &len), 0);
		assert_int_equal(len, t[0].len);
		assert_memory_equal(out, t[0].bytes, len);
		free(out);
		/* Both slots taken by explicit readers, then given back to the pool. */
		assert_int_equal(store_read_begin(f->s, &r1), 0);
		assert_int_equal(store_read_begin(f->s, &r2), 0);
		assert_int_equal(
			store_report_has(f->s, r2, (const uint8_t(*)[32])t[1].id, 1, &present), 0);
		assert_int_equal(present, round > 0);
		store_read_end(r2);
		store_read_end(r1);
		if (round == 0) {
			/* Written after the pooled transactions were last used: they see it. */
			ingest1(f->s, &t[1], T0, STORE_NEW);
			assert_int_equal(store_report_has(f->s, NULL, (const uint8_t(*)[32])t[1].id,
							  1, &present),
					 0);
			assert_true(present);
		}
	}
	assert_int_equal(store_report_get(f->s, NULL, t[1].id, &out, &len), 0);
	free(out);
}

static void test_corrupt_values_are_errors(void **state)
{
	struct fx *f = *state;
	struct tr t;
	struct proto_summary s;
	struct store_envelope env;
	uint8_t id[32], junk[59 + 3] = {1, 3};
	char why[128];

	mk(&t, PROTO_KIND_INDICATOR, PROTO_TLP_GREEN, "bad.example", 1, T0, 0, 50, 0);
	ingest1(f->s, &t, T0, STORE_NEW);
	ind_of("bad.example", id);
	assert_int_equal(store_debug_put(f->s, "indicators", id, 32, junk, sizeof(junk)), 0);
	assert_int_equal(store_summary_get(f->s, NULL, id, &s), STORE_E_CORRUPT);
	assert_int_equal(store_verify(f->s, why, sizeof(why)), STORE_E_CORRUPT);
	assert_true(strlen(why) > 0);
	{
		uint8_t rk[40];

		assert_int_equal(store_debug_report_key(f->s, t.id, rk), 0);
		assert_memory_equal(rk + 8, t.id, 32);
		assert_int_equal(store_debug_put(f->s, "reports", rk, 40, "x", 1), 0);
	}
	assert_int_equal(store_envelope_get(f->s, NULL, t.id, &env), STORE_E_CORRUPT);
	{
		uint8_t *out;
		size_t len;

		assert_int_equal(store_report_get(f->s, NULL, t.id, &out, &len), STORE_E_CORRUPT);
		assert_null(out);
	}
	/* Ingesting on a corrupted summary fails the batch cleanly. */
	mk(&t, PROTO_KIND_SIGHTING, PROTO_TLP_GREEN, "bad.example", 2, T0, 0, 0, 0);
	{
		struct store_item it;

		item_of(&it, &t);
		assert_int_equal(store_ingest(f->s, &it, 1, T0), STORE_E_CORRUPT);
		assert_int_equal(it.result, 0);
	}
	assert_int_equal(store_debug_put(f->s, "nosuchdb", "k", 1, "v", 1), -EINVAL);
}

/* ------------------------------------------------------------------ real reports */

static void test_real_signed_report(void **state)
{
	struct fx *f = *state;
	struct proto_report r, dec;
	struct store_item it;
	uint8_t pk[32], sk[64], *bytes, *back, rid[32], ind[32];
	size_t len, blen;
	struct proto_summary s;
	int rc;

	memset(&r, 0, sizeof(r));
	proto_crypto_raw_ed25519_keypair(pk, sk);
	memset(r.community, 0xc0, 32);
	r.kind = PROTO_KIND_INDICATOR;
	r.tlp = PROTO_TLP_GREEN;
	r.confidence = 85;
	r.created_ms = T0;
	r.ind_type = PROTO_IND_IPV4;
	r.ind_value.ptr = "192.0.2.7";
	r.ind_value.len = 9;
	r.prov = PROTO_PROV_ATTRIBUTED;
	r.epoch = 1;
	memcpy(r.signer, pk, 32);
	rc = proto_report_sign(&r, sk, &bytes, &len);
	if (rc != 0)
		fail_msg("proto_report_sign: %s", proto_error_str(rc));
	assert_int_equal(proto_report_decode(&dec, bytes, len), 0);
	proto_report_id(bytes, len, rid);
	memset(&it, 0, sizeof(it));
	it.bytes = bytes;
	it.len = len;
	memcpy(it.report_id, rid, 32);
	it.r = &dec;
	assert_int_equal(store_ingest(f->s, &it, 1, T0), 0);
	assert_int_equal(it.result, STORE_NEW);
	proto_report_indicator_id(&dec, ind);
	assert_memory_equal(it.ind_id, ind, 32);
	assert_int_equal(store_summary_get(f->s, NULL, ind, &s), 0);
	assert_string_equal(s.ind.value, "192.0.2.7");
	assert_int_equal(s.ind.type, PROTO_IND_IPV4);
	assert_int_equal(store_report_get(f->s, NULL, rid, &back, &blen), 0);
	assert_int_equal(blen, len);
	assert_memory_equal(back, bytes, len);
	assert_int_equal(proto_report_decode(&dec, back, blen), 0);
	assert_int_equal(proto_report_verify_attributed(&dec, pk), 0);
	free(back);
	free(bytes);
	proto_wipe(sk, sizeof(sk));
}

static int setup_grow(void **state)
{
	return setup_cfg(state, 256 * 1024, 1u << 30, 0);
}

static int setup_small(void **state)
{
	return setup_cfg(state, 128 * 1024, 512 * 1024, 0);
}

static int setup_capped(void **state)
{
	return setup_cfg(state, (size_t)1 << 30, 4 << 20, 0);
}

static int setup_readers(void **state)
{
	return setup_cfg(state, 0, 0, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_batch_results, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dup_is_noop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multi_member_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_votes_newest_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoke_and_tombstone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_voters_withdraw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_voters_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_voters_move_steps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vote_tie_larger_id_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_anonymous_tag_is_one_vote, setup, teardown),
		cmocka_unit_test_setup_teardown(test_observed_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iterators, setup, teardown),
		cmocka_unit_test_setup_teardown(test_has_and_envelope, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recon_only_gossipable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recon_fingerprint_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recon_sums_random, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_sweep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_feed_one_entry_per_indicator, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rosters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_newer_and_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_open_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_growth, setup_grow, teardown),
		cmocka_unit_test_setup_teardown(test_map_full_at_max, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_map_reserved_at_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_initial_capped, setup_capped, teardown),
		cmocka_unit_test(test_map_reserved_within_rlimit_as),
		cmocka_unit_test(test_map_bytes),
		cmocka_unit_test_setup_teardown(test_readers_full, setup_readers, teardown),
		cmocka_unit_test_setup_teardown(test_read_pool, setup_readers, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_values_are_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_signed_report, setup, teardown),
	};

	proto_crypto_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
