/* SPDX-License-Identifier: MIT */
/*
 * Stored-value codecs: every layout round-trips, and every truncation, extension, bad
 * version byte, out-of-range enum and broken cross-field invariant decodes to
 * STORE_E_CORRUPT (table-driven).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/error.h"
#include "proto/report.h"
#include "store/codec.h"

static struct store_codec_summary sample_summary(void)
{
	struct store_codec_summary v;

	memset(&v, 0, sizeof(v));
	v.sum.ind.type = PROTO_IND_DOMAIN;
	strcpy(v.sum.ind.value, "evil.example");
	v.sum.ind.len = (uint16_t)strlen(v.sum.ind.value);
	v.sum.state = PROTO_SUMMARY_ACTIVE;
	v.sum.tlp = PROTO_TLP_AMBER;
	v.sum.confidence = 80;
	v.sum.first_seen_ms = 1000;
	v.sum.last_seen_ms = 2000;
	v.sum.valid_until_ms = 9000;
	v.sum.n_members = 3;
	v.sum.n_false_positive = 1;
	v.sum.n_sightings = 2;
	v.sum.n_reports = 7;
	v.n_ind_reports = 4;
	v.sum.feed_seq = 0x0102030405060708ull;
	return v;
}

static void test_summary_roundtrip(void **state)
{
	struct store_codec_summary v = sample_summary(), w;
	uint8_t buf[STORE_CODEC_SUMMARY_MAX], buf2[STORE_CODEC_SUMMARY_MAX];
	size_t n, n2;

	(void)state;
	n = store_codec_summary_encode(&v, buf);
	assert_int_equal(n, STORE_CODEC_SUMMARY_FIXED + v.sum.ind.len);
	memset(&w, 0xee, sizeof(w));
	assert_int_equal(store_codec_summary_decode(&w, buf, n), 0);
	assert_string_equal(w.sum.ind.value, "evil.example");
	assert_int_equal(w.sum.ind.len, v.sum.ind.len);
	assert_true(w.sum.feed_seq == v.sum.feed_seq);
	assert_true(w.sum.valid_until_ms == 9000);
	assert_int_equal(w.n_ind_reports, 4);
	n2 = store_codec_summary_encode(&w, buf2);
	assert_int_equal(n2, n);
	assert_memory_equal(buf, buf2, n);
	/* Every truncation and a one-byte extension are corrupt. */
	for (size_t i = 0; i < n; i++)
		assert_int_equal(store_codec_summary_decode(&w, buf, i), STORE_E_CORRUPT);
	buf[n] = 'x';
	assert_int_equal(store_codec_summary_decode(&w, buf, n + 1), STORE_E_CORRUPT);
	/* Nothing representable fails to encode, an empty value does. */
	v.sum.ind.len = 0;
	assert_int_equal(store_codec_summary_encode(&v, buf), 0);
}

static void test_summary_rejects(void **state)
{
	/* Each case breaks one thing in the sample's encoding; all must be STORE_E_CORRUPT. */
	static const struct {
		const char *what;
		size_t off;
		uint8_t val;
	} cases[] = {
		{"version", 0, 2},
		{"type 0", 1, 0},
		{"type 10", 1, 10},
		{"state 4", 2, 4},
		{"tlp 0", 3, 0},
		{"tlp 6", 3, 6},
		{"confidence 101", 4, 101},
		{"first_seen > last_seen", 5, 0xff},
		{"n_members > n_reports", 29, 0x7f},
		{"n_sightings + ind > n_reports", 37, 0x7f},
		{"n_reports 0", 44, 0},
		{"value len mismatch", 58, 11},
		{"NUL in value", STORE_CODEC_SUMMARY_FIXED + 3, 0},
	};
	struct store_codec_summary v = sample_summary(), w;
	uint8_t buf[STORE_CODEC_SUMMARY_MAX];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = store_codec_summary_encode(&v, buf);
		buf[cases[i].off] = cases[i].val;
		if (store_codec_summary_decode(&w, buf, n) != STORE_E_CORRUPT)
			fail_msg("summary case '%s' decoded", cases[i].what);
	}
}

static void test_summary_state_invariants(void **state)
{
	/* State against counters: only the consistent combinations decode. */
	static const struct {
		uint8_t st;
		uint32_t members, ind_reports;
		uint8_t confidence;
		uint64_t valid_until;
		int expect;
	} cases[] = {
		{PROTO_SUMMARY_ACTIVE, 1, 1, 50, 0, 0},
		{PROTO_SUMMARY_ACTIVE, 0, 1, 0, 0, STORE_E_CORRUPT},
		{PROTO_SUMMARY_EXPIRED, 1, 1, 50, 100, 0},
		{PROTO_SUMMARY_EXPIRED, 0, 1, 0, 0, STORE_E_CORRUPT},
		{PROTO_SUMMARY_WITHDRAWN, 0, 1, 0, 0, 0},
		{PROTO_SUMMARY_WITHDRAWN, 0, 0, 0, 0, STORE_E_CORRUPT},
		{PROTO_SUMMARY_WITHDRAWN, 0, 1, 10, 0, STORE_E_CORRUPT},
		{PROTO_SUMMARY_WITHDRAWN, 0, 1, 0, 10, STORE_E_CORRUPT},
		{PROTO_SUMMARY_OBSERVED, 0, 0, 0, 0, 0},
		{PROTO_SUMMARY_OBSERVED, 0, 1, 0, 0, STORE_E_CORRUPT},
		{PROTO_SUMMARY_OBSERVED, 1, 0, 0, 0, STORE_E_CORRUPT},
		{PROTO_SUMMARY_ACTIVE, 2, 1, 50, 0, STORE_E_CORRUPT}, /* members > ind reports */
	};
	uint8_t buf[STORE_CODEC_SUMMARY_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct store_codec_summary v = sample_summary(), w;
		size_t n;

		v.sum.state = cases[i].st;
		v.sum.n_members = cases[i].members;
		v.n_ind_reports = cases[i].ind_reports;
		v.sum.confidence = cases[i].confidence;
		v.sum.valid_until_ms = cases[i].valid_until;
		v.sum.n_false_positive = 0;
		v.sum.n_sightings = 0;
		n = store_codec_summary_encode(&v, buf);
		if (store_codec_summary_decode(&w, buf, n) != cases[i].expect)
			fail_msg("state case %zu: expected %d", i, cases[i].expect);
	}
}

static void test_rmeta(void **state)
{
	static const struct {
		size_t off;
		uint8_t val;
	} bad[] = {{0, 0},
		   {1, 4},
		   {2, 0},
		   {2, 6},
		   {3, 101},
		   {4, 2},
		   {4, 0x80 | PROTO_PROV_ANONYMOUS},
		   {4, 0x82},
		   {13, 0}};
	struct store_codec_rmeta v = {.kind = PROTO_KIND_SIGHTING,
				      .tlp = PROTO_TLP_RED,
				      .confidence = 100,
				      .prov = PROTO_PROV_ANONYMOUS,
				      .created_ms = 0x0100000000000000ull,
				      .valid_until_ms = 0x0200000000000000ull},
				 w;
	uint8_t buf[STORE_CODEC_RMETA_LEN + 1];

	(void)state;
	memset(v.voter, 0xab, 32);
	assert_int_equal(store_codec_rmeta_encode(&v, buf), STORE_CODEC_RMETA_LEN);
	assert_int_equal(store_codec_rmeta_decode(&w, buf, STORE_CODEC_RMETA_LEN), 0);
	assert_true(w.kind == v.kind && w.tlp == v.tlp && w.confidence == v.confidence &&
		    w.prov == v.prov && w.created_ms == v.created_ms &&
		    w.valid_until_ms == v.valid_until_ms);
	assert_memory_equal(w.voter, v.voter, 32);
	assert_false(w.withdrawn);
	/* Withdrawn (attributed only) round-trips in the prov byte's top bit. */
	v.prov = PROTO_PROV_ATTRIBUTED;
	v.withdrawn = true;
	store_codec_rmeta_encode(&v, buf);
	assert_int_equal(buf[4], 0x80 | PROTO_PROV_ATTRIBUTED);
	assert_int_equal(store_codec_rmeta_decode(&w, buf, STORE_CODEC_RMETA_LEN), 0);
	assert_true(w.withdrawn && w.prov == PROTO_PROV_ATTRIBUTED);
	v.prov = PROTO_PROV_ANONYMOUS;
	v.withdrawn = false;
	assert_int_equal(store_codec_rmeta_decode(&w, buf, STORE_CODEC_RMETA_LEN - 1),
			 STORE_E_CORRUPT);
	assert_int_equal(store_codec_rmeta_decode(&w, buf, STORE_CODEC_RMETA_LEN + 1),
			 STORE_E_CORRUPT);
	/* Offset 13 set to 0 makes valid_until (0x00...) smaller than created: corrupt. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		store_codec_rmeta_encode(&v, buf);
		buf[bad[i].off] = bad[i].val;
		if (bad[i].off == 13)
			buf[20] = 1; /* non-zero valid_until below created */
		assert_int_equal(store_codec_rmeta_decode(&w, buf, STORE_CODEC_RMETA_LEN),
				 STORE_E_CORRUPT);
	}
}

static void test_vote(void **state)
{
	struct store_codec_vote v = {.kind = PROTO_KIND_REVOKE,
				     .tlp = PROTO_TLP_CLEAR,
				     .confidence = 0,
				     .created_ms = 5,
				     .valid_until_ms = 0},
				w;
	uint8_t buf[STORE_CODEC_VOTE_LEN];
	static const uint8_t kinds_ok[] = {PROTO_KIND_INDICATOR, PROTO_KIND_FALSE_POSITIVE,
					   PROTO_KIND_REVOKE};

	(void)state;
	memset(v.report_id, 0x5a, 32);
	assert_int_equal(store_codec_vote_encode(&v, buf), STORE_CODEC_VOTE_LEN);
	assert_int_equal(store_codec_vote_decode(&w, buf, sizeof(buf)), 0);
	assert_true(w.kind == v.kind && w.tlp == v.tlp && w.confidence == v.confidence &&
		    w.created_ms == v.created_ms && w.valid_until_ms == v.valid_until_ms);
	assert_memory_equal(w.report_id, v.report_id, 32);
	for (size_t i = 0; i < sizeof(kinds_ok); i++) {
		buf[1] = kinds_ok[i];
		assert_int_equal(store_codec_vote_decode(&w, buf, sizeof(buf)), 0);
	}
	buf[1] = PROTO_KIND_SIGHTING; /* sightings never vote */
	assert_int_equal(store_codec_vote_decode(&w, buf, sizeof(buf)), STORE_E_CORRUPT);
	store_codec_vote_encode(&v, buf);
	buf[3] = 101;
	assert_int_equal(store_codec_vote_decode(&w, buf, sizeof(buf)), STORE_E_CORRUPT);
	store_codec_vote_encode(&v, buf);
	buf[19] = 1; /* valid_until 1 < created 5 */
	assert_int_equal(store_codec_vote_decode(&w, buf, sizeof(buf)), STORE_E_CORRUPT);
	assert_int_equal(store_codec_vote_decode(&w, buf, sizeof(buf) - 1), STORE_E_CORRUPT);
}

static void test_report_feed_outbox(void **state)
{
	struct store_codec_report r = {.env = {.local = true, .hops = 0x1234, .received_ms = 77}},
				  r2;
	struct store_codec_feed f = {.state = PROTO_SUMMARY_EXPIRED, .time_ms = 99}, f2;
	struct store_codec_outbox o = {.attempts = 0xdeadbeef, .next_attempt_ms = 1234}, o2;
	uint8_t rb[STORE_CODEC_REPORT_HEAD + 5], fb[STORE_CODEC_FEED_LEN],
		ob[STORE_CODEC_OUTBOX_LEN];

	(void)state;
	memset(r.env.received_from, 3, 32);
	memset(r.ind_id, 5, 32);
	memset(f.ind_id, 4, 32);
	assert_int_equal(store_codec_report_head_encode(&r, rb), STORE_CODEC_REPORT_HEAD);
	memcpy(rb + STORE_CODEC_REPORT_HEAD, "bytes", 5);
	assert_int_equal(store_codec_report_decode(&r2, rb, sizeof(rb)), 0);
	assert_true(r2.env.local && r2.env.hops == 0x1234 && r2.env.received_ms == 77);
	assert_memory_equal(r2.env.received_from, r.env.received_from, 32);
	assert_memory_equal(r2.ind_id, r.ind_id, 32);
	assert_int_equal(r2.len, 5);
	assert_ptr_equal(r2.bytes, rb + STORE_CODEC_REPORT_HEAD);
	/* A record without signed bytes, a bad flag or version is corrupt. */
	assert_int_equal(store_codec_report_decode(&r2, rb, STORE_CODEC_REPORT_HEAD),
			 STORE_E_CORRUPT);
	rb[33] = 2;
	assert_int_equal(store_codec_report_decode(&r2, rb, sizeof(rb)), STORE_E_CORRUPT);
	rb[33] = 0;
	rb[0] = 0;
	assert_int_equal(store_codec_report_decode(&r2, rb, sizeof(rb)), STORE_E_CORRUPT);

	store_codec_feed_encode(&f, fb);
	assert_int_equal(store_codec_feed_decode(&f2, fb, sizeof(fb)), 0);
	assert_true(f2.state == f.state && f2.time_ms == f.time_ms);
	assert_memory_equal(f2.ind_id, f.ind_id, 32);
	fb[1] = 4;
	assert_int_equal(store_codec_feed_decode(&f2, fb, sizeof(fb)), STORE_E_CORRUPT);
	assert_int_equal(store_codec_feed_decode(&f2, fb, sizeof(fb) - 1), STORE_E_CORRUPT);

	store_codec_outbox_encode(&o, ob);
	assert_int_equal(store_codec_outbox_decode(&o2, ob, sizeof(ob)), 0);
	assert_true(o2.attempts == 0xdeadbeef && o2.next_attempt_ms == 1234);
	assert_int_equal(store_codec_outbox_decode(&o2, ob, sizeof(ob) - 1), STORE_E_CORRUPT);
	ob[0] = 9;
	assert_int_equal(store_codec_outbox_decode(&o2, ob, sizeof(ob)), STORE_E_CORRUPT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_summary_roundtrip),
		cmocka_unit_test(test_summary_rejects),
		cmocka_unit_test(test_summary_state_invariants),
		cmocka_unit_test(test_rmeta),
		cmocka_unit_test(test_vote),
		cmocka_unit_test(test_report_feed_outbox),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
