/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_policy_abuse.c — member abuse budgets on a fake clock: the charge past a
 * budget is an offence and the member is refused for the backoff, which doubles per offence
 * up to its cap; the budget belongs to the member (charging again after the refusal starts a
 * fresh window, charging during it counts nothing); forgiveness of one offence per
 * forgive_ms of good behaviour; stored records restored (and cut to the cap when the clock
 * stepped back); reservations never hand out more than is left; pruning forgets only
 * members with nothing to remember.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "policy/abuse.h"

#define MIN 60000ull
#define HOUR 3600000ull
#define T0 1700000000000ull /* a wall-clock time, ms */

static const struct policy_abuse_config cfg = POLICY_ABUSE_CONFIG_DEFAULT;

static void id_of(uint8_t id[32], uint8_t n)
{
	memset(id, 0xa5, 32);
	id[0] = n;
	id[31] = (uint8_t)(n * 7);
}

/* Charges of @what until the verdict is not WITHIN; returns how many were WITHIN. */
static int until_offence(struct policy_abuse *t, const uint8_t id[32],
			 enum policy_abuse_charge what, uint64_t now, int *verdict)
{
	int n = 0, v;

	while ((v = policy_abuse_charge(t, id, what, now, NULL)) == POLICY_ABUSE_WITHIN)
		n++;
	*verdict = v;
	return n;
}

static void test_budget_then_refused(void **state)
{
	struct policy_abuse *t = policy_abuse_new(&cfg);
	struct policy_abuse_record r;
	uint8_t a[32], b[32], c[32];
	int v;

	(void)state;
	id_of(a, 1);
	id_of(b, 2);
	assert_non_null(t);
	assert_int_equal(until_offence(t, a, POLICY_ABUSE_REJECT, T0, &v), 200);
	assert_int_equal(v, POLICY_ABUSE_OFFENCE);
	assert_int_equal(policy_abuse_refused_ms(t, a, T0), MIN);
	assert_int_equal(policy_abuse_refused_ms(t, b, T0), 0);
	/* "Reconnecting" changes nothing: the member is refused, its charges are not counted. */
	for (int i = 0; i < 1000; i++)
		assert_int_equal(policy_abuse_charge(t, a, POLICY_ABUSE_REJECT, T0 + 1000, NULL),
				 POLICY_ABUSE_REFUSED);
	assert_true(policy_abuse_get(t, a, T0 + 1000, &r));
	assert_int_equal(r.offences, 1);
	assert_int_equal(r.refused_until_ms, T0 + MIN);
	/* Other kinds have their own budgets; other members are independent. */
	assert_int_equal(until_offence(t, b, POLICY_ABUSE_FAILED, T0, &v), 20);
	assert_int_equal(v, POLICY_ABUSE_OFFENCE);
	id_of(c, 3);
	assert_int_equal(until_offence(t, c, POLICY_ABUSE_SCAN, T0, &v), 1024);
	assert_int_equal(v, POLICY_ABUSE_OFFENCE);
	assert_int_equal(policy_abuse_refused_ms(t, a, T0 + MIN), 0);
	/* After the refusal the budget starts afresh (the window was reset by the offence). */
	assert_int_equal(until_offence(t, a, POLICY_ABUSE_SESSION, T0 + MIN, &v), 600);
	policy_abuse_free(t);
}

static void test_window(void **state)
{
	struct policy_abuse *t = policy_abuse_new(&cfg);
	uint8_t a[32];

	(void)state;
	id_of(a, 3);
	/* 200 a minute, every minute, is within the budget. */
	for (uint64_t w = 0; w < 5; w++)
		for (int i = 0; i < 200; i++)
			assert_int_equal(policy_abuse_charge(t, a, POLICY_ABUSE_REJECT,
							     T0 + w * MIN + (uint64_t)i, NULL),
					 POLICY_ABUSE_WITHIN);
	/* A clock that steps back starts a new window rather than carrying the count. */
	assert_int_equal(policy_abuse_charge(t, a, POLICY_ABUSE_REJECT, T0, NULL),
			 POLICY_ABUSE_WITHIN);
	policy_abuse_free(t);
}

static void test_backoff_doubles_to_cap(void **state)
{
	struct policy_abuse_record r;
	struct policy_abuse *t = policy_abuse_new(&cfg);
	uint64_t now = T0, want = MIN;
	uint8_t a[32];
	int v;

	(void)state;
	id_of(a, 4);
	for (uint32_t k = 1; k <= 16; k++) {
		assert_int_equal(until_offence(t, a, POLICY_ABUSE_REJECT, now, &v), 200);
		assert_int_equal(v, POLICY_ABUSE_OFFENCE);
		assert_int_equal(policy_abuse_refused_ms(t, a, now), want);
		assert_true(policy_abuse_get(t, a, now, &r));
		assert_int_equal(r.offences, k);
		/* Comes back the moment its refusal ends: nothing forgiven. */
		now += want;
		want = want * 2 > cfg.backoff_max_ms ? cfg.backoff_max_ms : want * 2;
	}
	assert_int_equal(want, 24 * HOUR);
	policy_abuse_free(t);
}

static void test_forgiveness(void **state)
{
	struct policy_abuse_record r, stored;
	struct policy_abuse *t = policy_abuse_new(&cfg);
	uint64_t now = T0;
	uint8_t a[32];
	int v;

	(void)state;
	id_of(a, 5);
	/* Three offences in a row: refused 1, 2, 4 minutes. */
	for (int k = 0; k < 3; k++) {
		assert_int_equal(until_offence(t, a, POLICY_ABUSE_FAILED, now, &v), 20);
		now += policy_abuse_refused_ms(t, a, now);
	}
	assert_true(policy_abuse_get(t, a, now, &r));
	assert_int_equal(r.offences, 3);
	/* Time refused does not count; an hour of good behaviour after it forgives one. */
	assert_true(policy_abuse_get(t, a, now + HOUR - 1, &r));
	assert_int_equal(r.offences, 3);
	assert_true(policy_abuse_get(t, a, now + HOUR, &r));
	assert_int_equal(r.offences, 2);
	/* The next offence then costs what a third one costs, not a fourth. */
	assert_int_equal(until_offence(t, a, POLICY_ABUSE_FAILED, now + HOUR, &v), 20);
	assert_int_equal(v, POLICY_ABUSE_OFFENCE);
	assert_int_equal(policy_abuse_refused_ms(t, a, now + HOUR), 4 * MIN);
	now += HOUR + 4 * MIN;
	/* Three hours after that the slate is clean and nothing is left to store. */
	assert_true(policy_abuse_get(t, a, now + 3 * HOUR - 1, &r));
	assert_int_equal(r.offences, 1);
	assert_false(policy_abuse_get(t, a, now + 3 * HOUR, &r));
	assert_int_equal(r.offences, 0);
	assert_int_equal(policy_abuse_prune(t, now + 3 * HOUR), 0);
	/* A forgiven member is refused a minute again. */
	assert_int_equal(until_offence(t, a, POLICY_ABUSE_FAILED, now + 3 * HOUR, &v), 20);
	assert_int_equal(policy_abuse_charge(t, a, POLICY_ABUSE_FAILED, now + 3 * HOUR, &stored),
			 POLICY_ABUSE_REFUSED);
	assert_int_equal(policy_abuse_refused_ms(t, a, now + 3 * HOUR), MIN);
	policy_abuse_free(t);
}

static void test_restore(void **state)
{
	struct policy_abuse_record rec, r;
	struct policy_abuse *t = policy_abuse_new(&cfg), *t2 = policy_abuse_new(&cfg);
	uint8_t a[32], b[32], c[32];
	int v;

	(void)state;
	id_of(a, 6);
	id_of(b, 7);
	id_of(c, 8);
	for (int k = 0; k < 2; k++) {
		while ((v = policy_abuse_charge(t, a, POLICY_ABUSE_REJECT, T0 + (uint64_t)k * MIN,
						&rec)) == POLICY_ABUSE_WITHIN)
			;
		assert_int_equal(v, POLICY_ABUSE_OFFENCE);
	}
	assert_int_equal(rec.offences, 2);
	assert_int_equal(rec.refused_until_ms, T0 + MIN + 2 * MIN);
	/* A restarted node adopts the record: still refused, the next offence doubles again. */
	assert_int_equal(policy_abuse_restore(t2, a, &rec, T0 + 2 * MIN), 0);
	assert_int_equal(policy_abuse_refused_ms(t2, a, T0 + 2 * MIN), MIN);
	assert_int_equal(until_offence(t2, a, POLICY_ABUSE_REJECT, T0 + 3 * MIN, &v), 200);
	assert_int_equal(policy_abuse_refused_ms(t2, a, T0 + 3 * MIN), 4 * MIN);
	/* A record with nothing left is not adopted. */
	rec = (struct policy_abuse_record){.offences = 1, .refused_until_ms = T0};
	assert_int_equal(policy_abuse_restore(t2, b, &rec, T0 + HOUR), 0);
	assert_false(policy_abuse_get(t2, b, T0 + HOUR, &r));
	/* A refusal reaching past the cap (the clock stepped back) is cut to the cap. */
	rec = (struct policy_abuse_record){.offences = 9, .refused_until_ms = T0 + 400 * HOUR};
	assert_int_equal(policy_abuse_restore(t2, c, &rec, T0), 0);
	assert_int_equal(policy_abuse_refused_ms(t2, c, T0), 24 * HOUR);
	assert_int_equal(policy_abuse_refused_ms(t2, c, T0 + 24 * HOUR), 0);
	policy_abuse_free(t);
	policy_abuse_free(t2);
}

static void test_reservations(void **state)
{
	struct policy_abuse *t = policy_abuse_new(&cfg);
	uint8_t a[32];

	(void)state;
	id_of(a, 9);
	/* A member with no charge may take the budget and the charge that offends... */
	assert_int_equal(policy_abuse_reserve(t, a, POLICY_ABUSE_REJECT, T0), 201);
	/* ...once: a second reservation meanwhile gets nothing. */
	assert_int_equal(policy_abuse_reserve(t, a, POLICY_ABUSE_REJECT, T0), 0);
	policy_abuse_release(t, a, POLICY_ABUSE_REJECT, 201);
	/* Charges use up what can be reserved. */
	for (int i = 0; i < 50; i++)
		assert_int_equal(policy_abuse_charge(t, a, POLICY_ABUSE_REJECT, T0, NULL),
				 POLICY_ABUSE_WITHIN);
	assert_int_equal(policy_abuse_reserve(t, a, POLICY_ABUSE_REJECT, T0), 151);
	assert_int_equal(policy_abuse_reserve(t, a, POLICY_ABUSE_REJECT, T0), 0);
	assert_int_equal(policy_abuse_reserve(t, a, POLICY_ABUSE_FAILED, T0), 21);
	policy_abuse_release(t, a, POLICY_ABUSE_REJECT, 100);
	assert_int_equal(policy_abuse_reserve(t, a, POLICY_ABUSE_REJECT, T0), 100);
	policy_abuse_release(t, a, POLICY_ABUSE_REJECT, 1000); /* more than held: clamps */
	/* Refused members get nothing; a reservation keeps an entry from being pruned. */
	while (policy_abuse_charge(t, a, POLICY_ABUSE_REJECT, T0, NULL) == POLICY_ABUSE_WITHIN)
		;
	assert_int_equal(policy_abuse_reserve(t, a, POLICY_ABUSE_REJECT, T0), 0);
	policy_abuse_release(t, a, POLICY_ABUSE_FAILED, 21);
	policy_abuse_free(t);
}

static void each(void *arg, const uint8_t mid[32], const struct policy_abuse_record *r)
{
	uint8_t want[32];

	id_of(want, 42);
	assert_memory_equal(mid, want, 32);
	assert_int_equal(r->offences, 1);
	(*(size_t *)arg)++;
}

static void test_prune_and_each(void **state)
{
	struct policy_abuse *t = policy_abuse_new(&cfg);
	uint8_t id[32];
	size_t seen = 0;
	int v;

	(void)state;
	for (uint8_t i = 0; i < 100; i++) {
		id_of(id, i);
		assert_int_equal(policy_abuse_charge(t, id, POLICY_ABUSE_SESSION, T0, NULL),
				 POLICY_ABUSE_WITHIN);
	}
	id_of(id, 42);
	assert_int_equal(until_offence(t, id, POLICY_ABUSE_SESSION, T0, &v), 599);
	id_of(id, 43);
	assert_int_equal(policy_abuse_reserve(t, id, POLICY_ABUSE_SESSION, T0), 600);
	/* Inside the window everything is kept (forgetting would hand out a fresh budget). */
	assert_int_equal(policy_abuse_prune(t, T0 + MIN - 1), 100);
	/* After it: the offender (refused) and the reservation holder remain. */
	assert_int_equal(policy_abuse_prune(t, T0 + MIN), 2);
	policy_abuse_release(t, id, POLICY_ABUSE_SESSION, 600);
	assert_int_equal(policy_abuse_prune(t, T0 + MIN), 1);
	policy_abuse_each(t, T0 + MIN, each, &seen);
	assert_int_equal(seen, 1);
	policy_abuse_free(t);
}

static void test_config(void **state)
{
	struct policy_abuse_config c = cfg;

	(void)state;
	assert_int_equal(policy_abuse_check_config(&c), 0);
	c.backoff_max_ms = c.backoff_ms - 1;
	assert_int_equal(policy_abuse_check_config(&c), -EINVAL);
	assert_null(policy_abuse_new(&c));
	c = cfg;
	c.budget[POLICY_ABUSE_FAILED] = 0;
	assert_int_equal(policy_abuse_check_config(&c), -EINVAL);
	c = cfg;
	c.forgive_ms = 0;
	assert_int_equal(policy_abuse_check_config(&c), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_budget_then_refused),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_backoff_doubles_to_cap),
		cmocka_unit_test(test_forgiveness),
		cmocka_unit_test(test_restore),
		cmocka_unit_test(test_reservations),
		cmocka_unit_test(test_prune_and_each),
		cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
