/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_policy_rate.c — per-member token buckets: a burst passes, then exactly the
 * refill rate; keys are independent; a clock stepping back refills nothing; a smaller burst
 * cuts held tokens; per_min 0 is unlimited; full buckets are forgotten when the table is
 * rebuilt, drained ones are kept.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "policy/rate.h"

static void key_of(uint8_t key[32], uint32_t n)
{
	memset(key, 0, 32);
	/* Spread like real ids (hashes), and also vary the tail. */
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)((n * 2654435761u) >> ((i % 4) * 8)) ^ (uint8_t)i;
	key[31] ^= (uint8_t)n;
}

/* Reports of @key that pass at @now_ms when offered @n times. */
static int passes(struct policy_rate *r, const uint8_t key[32], uint64_t now_ms, int n)
{
	int ok = 0;

	for (int i = 0; i < n; i++) {
		int rc = policy_rate_take(r, key, now_ms);

		assert_true(rc == 0 || rc == 1);
		ok += rc;
	}
	return ok;
}

static void test_burst_then_rate(void **state)
{
	struct policy_rate_config cfg = {.per_min = 600, .burst = 50}; /* 10 per second */
	struct policy_rate *r = policy_rate_new(&cfg);
	uint8_t a[32];

	(void)state;
	assert_non_null(r);
	key_of(a, 1);
	assert_int_equal(passes(r, a, 1000, 80), 50);
	assert_int_equal(passes(r, a, 1099, 5), 0);	  /* 99 ms: 0.99 of a report */
	assert_int_equal(passes(r, a, 1100, 5), 1);	  /* 100 ms: exactly one */
	assert_int_equal(passes(r, a, 2100, 100), 10);	  /* one second: ten */
	assert_int_equal(passes(r, a, 1000000, 500), 50); /* long idle: the burst, no more */
	policy_rate_free(r);
}

static void test_keys_independent(void **state)
{
	struct policy_rate_config cfg = {.per_min = 60, .burst = 3};
	struct policy_rate *r = policy_rate_new(&cfg);
	uint8_t a[32], b[32];

	(void)state;
	key_of(a, 1);
	key_of(b, 2);
	assert_int_equal(passes(r, a, 5000, 10), 3);
	assert_int_equal(passes(r, b, 5000, 10), 3);
	assert_int_equal(passes(r, a, 5000, 1), 0);
	assert_int_equal(policy_rate_entries(r), 2);
	policy_rate_free(r);
}

static void test_clock_back(void **state)
{
	struct policy_rate_config cfg = {.per_min = 60000, .burst = 2};
	struct policy_rate *r = policy_rate_new(&cfg);
	uint8_t a[32];

	(void)state;
	key_of(a, 7);
	assert_int_equal(passes(r, a, 10000, 5), 2);
	assert_int_equal(passes(r, a, 5000, 5), 0);  /* stepped back 5 s: nothing refilled */
	assert_int_equal(passes(r, a, 10000, 5), 0); /* and not when it returns either */
	assert_int_equal(passes(r, a, 10001, 5), 1);
	policy_rate_free(r);
}

static void test_reconfigure(void **state)
{
	struct policy_rate_config cfg = {.per_min = 60, .burst = 100};
	struct policy_rate *r = policy_rate_new(&cfg);
	uint8_t a[32];

	(void)state;
	key_of(a, 3);
	assert_int_equal(passes(r, a, 0, 10), 10); /* 90 left */
	cfg.burst = 5;
	policy_rate_set_config(r, &cfg);
	assert_int_equal(passes(r, a, 0, 10), 5);
	cfg.per_min = 0;
	policy_rate_set_config(r, &cfg);
	assert_int_equal(passes(r, a, 0, 1000), 1000);
	policy_rate_free(r);
}

static void test_table_forgets_full_buckets(void **state)
{
	struct policy_rate_config cfg = {.per_min = 60, .burst = 2}; /* one per second */
	struct policy_rate *r = policy_rate_new(&cfg);
	uint8_t k[32], busy[32];

	(void)state;
	/* 1,000 members each send one report at t=0: all pass, every bucket is in use. */
	for (uint32_t i = 0; i < 1000; i++) {
		key_of(k, i);
		assert_int_equal(policy_rate_take(r, k, 0), 1);
	}
	assert_int_equal(policy_rate_entries(r), 1000);
	/* A minute later one member drains its bucket, then 2,000 new members arrive. */
	key_of(busy, 5000);
	assert_int_equal(passes(r, busy, 60000, 5), 2);
	for (uint32_t i = 1000; i < 3000; i++) {
		key_of(k, i);
		assert_int_equal(policy_rate_take(r, k, 60000), 1);
	}
	/* The first 1,000 had refilled and were dropped by the rebuilds... */
	assert_true(policy_rate_entries(r) <= 2001);
	key_of(k, 500);
	assert_int_equal(passes(r, k, 60000, 5), 2);
	/* ...but the drained bucket was kept: forgetting it would hand out a new burst. */
	assert_int_equal(passes(r, busy, 60000, 5), 0);
	policy_rate_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_rate),
		cmocka_unit_test(test_keys_independent),
		cmocka_unit_test(test_clock_back),
		cmocka_unit_test(test_reconfigure),
		cmocka_unit_test(test_table_forgets_full_buckets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
