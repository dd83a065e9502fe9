/* SPDX-License-Identifier: MIT */
/* tests/unit/test_proto_parts.c — joining ROSTER_PART chunks (proto/parts.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/error.h"
#include "proto/parts.h"

static const uint8_t data[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};

static void test_in_order_joins(void **state)
{
	struct proto_parts pp = {0};
	const uint8_t *out = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(proto_parts_add(&pp, 0, 3, data, 4, 100, 1, &out, &len), PROTO_PARTS_MORE);
	assert_int_equal(proto_parts_add(&pp, 1, 3, data + 4, 4, 100, 1, &out, &len),
			 PROTO_PARTS_MORE);
	assert_int_equal(proto_parts_add(&pp, 2, 3, data + 8, 2, 100, 1, &out, &len),
			 PROTO_PARTS_DONE);
	assert_int_equal(len, 10);
	assert_memory_equal(out, data, 10);
	proto_parts_reset(&pp);
	assert_null(pp.buf);
	/* A single part is a whole roster. */
	assert_int_equal(proto_parts_add(&pp, 0, 1, data, 10, 10, 1, &out, &len), PROTO_PARTS_DONE);
	assert_int_equal(len, 10);
	proto_parts_reset(&pp);
}

static void test_out_of_order_drops(void **state)
{
	struct proto_parts pp = {0};
	const uint8_t *out;
	size_t len;

	(void)state;
	/* Not started with part 0. */
	assert_int_equal(proto_parts_add(&pp, 1, 3, data, 4, 100, 1, &out, &len), -EPROTO);
	assert_null(pp.buf);
	/* A skipped part, a repeated part, a changed total: all drop what was joined. */
	assert_int_equal(proto_parts_add(&pp, 0, 3, data, 4, 100, 1, &out, &len), PROTO_PARTS_MORE);
	assert_int_equal(proto_parts_add(&pp, 2, 3, data, 4, 100, 1, &out, &len), -EPROTO);
	assert_int_equal(pp.len, 0);
	assert_int_equal(proto_parts_add(&pp, 0, 3, data, 4, 100, 1, &out, &len), PROTO_PARTS_MORE);
	assert_int_equal(proto_parts_add(&pp, 0, 3, data, 4, 100, 1, &out, &len), PROTO_PARTS_MORE);
	assert_int_equal(pp.len, 4); /* a new part 0 starts over */
	assert_int_equal(proto_parts_add(&pp, 1, 4, data, 4, 100, 1, &out, &len), -EPROTO);
	/* An index at or past the total. */
	assert_int_equal(proto_parts_add(&pp, 0, 0, data, 4, 100, 1, &out, &len), -EPROTO);
	proto_parts_reset(&pp);
}

static void test_size_limit(void **state)
{
	struct proto_parts pp = {0};
	const uint8_t *out;
	size_t len;

	(void)state;
	assert_int_equal(proto_parts_add(&pp, 0, 3, data, 6, 10, 1, &out, &len), PROTO_PARTS_MORE);
	assert_int_equal(proto_parts_add(&pp, 1, 3, data, 6, 10, 1, &out, &len), PROTO_E_TOO_LARGE);
	assert_null(pp.buf);
	assert_int_equal(proto_parts_add(&pp, 0, 2, data, 6, 10, 1, &out, &len), PROTO_PARTS_MORE);
	assert_int_equal(proto_parts_add(&pp, 1, 2, data, 4, 10, 1, &out, &len), PROTO_PARTS_DONE);
	assert_int_equal(len, 10);
	proto_parts_reset(&pp);
}

static int add(struct proto_parts *pp, uint32_t index, uint32_t total, size_t len, uint64_t now)
{
	static const uint8_t chunk[64];
	const uint8_t *out;
	size_t out_len;

	return proto_parts_add(pp, index, total, chunk, len, 1000, now, &out, &out_len);
}

/*
 * Four links each hold all but the last part of a roster and never finish; an honest roster
 * then starts on a fifth. Over the pool (4 x 60 + the honest part), the partial that started
 * longest ago goes, not the newcomer: the honest roster completes. The evicted link's later
 * parts are skipped, and starting over does not make it young: it goes first again.
 */
static void test_trim_evicts_oldest(void **state)
{
	struct proto_parts l[5] = {0};
	struct proto_parts *all[6] = {&l[0], &l[1], NULL, &l[2], &l[3], &l[4]};
	struct proto_parts_trimmed r = {0};

	(void)state;
	for (int i = 0; i < 4; i++) {
		assert_int_equal(add(&l[i], 0, 4, 20, 10 + i), PROTO_PARTS_MORE);
		assert_int_equal(add(&l[i], 1, 4, 20, 20), PROTO_PARTS_MORE);
		assert_int_equal(add(&l[i], 2, 4, 20, 30), PROTO_PARTS_MORE);
	}
	proto_parts_trim(all, 6, 250, 40, &r);
	assert_int_equal(r.evicted + r.expired + r.freed, 0); /* 240 fit */
	assert_int_equal(add(&l[4], 0, 2, 20, 50), PROTO_PARTS_MORE);
	proto_parts_trim(all, 6, 250, 50, &r);
	assert_int_equal(r.evicted, 1);
	assert_int_equal(r.freed, 60);
	assert_null(l[0].buf); /* link 0 started first */
	assert_non_null(l[4].buf);
	assert_int_equal(add(&l[4], 1, 2, 20, 51), PROTO_PARTS_DONE);
	proto_parts_reset(&l[4]);
	/* The rest of the evicted roster is ignored, not an error. */
	assert_int_equal(add(&l[0], 3, 4, 20, 52), PROTO_PARTS_SKIPPED);
	/* Link 0 starts over: its partial keeps its start (10), so it is evicted first again. */
	assert_int_equal(add(&l[0], 0, 4, 20, 60), PROTO_PARTS_MORE);
	assert_int_equal(add(&l[0], 1, 4, 20, 61), PROTO_PARTS_MORE);
	assert_int_equal(add(&l[0], 2, 4, 20, 62), PROTO_PARTS_MORE);
	assert_int_equal(add(&l[4], 0, 2, 20, 63), PROTO_PARTS_MORE);
	proto_parts_trim(all, 6, 250, 63, &r);
	assert_int_equal(r.evicted, 2);
	assert_null(l[0].buf);
	for (int i = 1; i < 5; i++)
		assert_non_null(l[i].buf);
	/* Oldest first until the rest fits; the newcomer too when alone it does not. */
	proto_parts_trim(all, 6, 20, 64, &r);
	assert_int_equal(r.evicted, 5);
	assert_non_null(l[4].buf);
	proto_parts_trim(all, 6, 10, 64, &r);
	assert_int_equal(r.evicted, 6);
	for (int i = 0; i < 5; i++) {
		assert_null(l[i].buf);
		proto_parts_reset(&l[i]);
	}
}

/*
 * A partial older than PROTO_PARTS_AGE_MAX_MS is dropped at the next trim (its later parts
 * skipped); after that, a new part 0 starts a fresh partial that is not dropped for the old
 * one's age. A completed roster clears the start: the next one is judged on its own.
 */
static void test_trim_expires(void **state)
{
	struct proto_parts l[2] = {0};
	struct proto_parts *all[2] = {&l[0], &l[1]};
	struct proto_parts_trimmed r = {0};
	const uint64_t t0 = 1000;

	(void)state;
	assert_int_equal(add(&l[0], 0, 3, 20, t0), PROTO_PARTS_MORE);
	assert_int_equal(add(&l[1], 0, 2, 20, t0), PROTO_PARTS_MORE);
	assert_int_equal(add(&l[1], 1, 2, 20, t0 + 5), PROTO_PARTS_DONE);
	proto_parts_reset(&l[1]);
	assert_int_equal(add(&l[1], 0, 2, 20, t0 + PROTO_PARTS_AGE_MAX_MS), PROTO_PARTS_MORE);
	/* Restarting does not renew link 0's partial. */
	assert_int_equal(add(&l[0], 0, 3, 20, t0 + PROTO_PARTS_AGE_MAX_MS), PROTO_PARTS_MORE);
	proto_parts_trim(all, 2, 1000, t0 + PROTO_PARTS_AGE_MAX_MS, &r);
	assert_int_equal(r.expired, 0); /* exactly the age: kept */
	proto_parts_trim(all, 2, 1000, t0 + PROTO_PARTS_AGE_MAX_MS + 1, &r);
	assert_int_equal(r.expired, 1);
	assert_int_equal(r.freed, 20);
	assert_null(l[0].buf);
	assert_non_null(l[1].buf);
	assert_int_equal(add(&l[0], 1, 3, 20, t0 + PROTO_PARTS_AGE_MAX_MS + 2),
			 PROTO_PARTS_SKIPPED);
	assert_int_equal(add(&l[0], 0, 3, 20, t0 + PROTO_PARTS_AGE_MAX_MS + 3), PROTO_PARTS_MORE);
	proto_parts_trim(all, 2, 1000, t0 + PROTO_PARTS_AGE_MAX_MS + 4, &r);
	assert_int_equal(r.expired, 1);
	assert_non_null(l[0].buf);
	/* A part of another total is not the rest of the dropped roster: out of order. */
	proto_parts_trim(all, 2, 1000, t0 + 3 * PROTO_PARTS_AGE_MAX_MS, &r);
	assert_int_equal(r.expired, 3);
	assert_int_equal(add(&l[0], 1, 5, 20, t0 + 3 * PROTO_PARTS_AGE_MAX_MS), -EPROTO);
	proto_parts_reset(&l[0]);
	proto_parts_reset(&l[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order_joins), cmocka_unit_test(test_out_of_order_drops),
		cmocka_unit_test(test_size_limit),     cmocka_unit_test(test_trim_evicts_oldest),
		cmocka_unit_test(test_trim_expires),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
