/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_node_looplag.c — the loop-lag histogram (node/daemon/looplag.h): quantiles
 * are upper bounds within 12.5 % and never above the maximum; and the timer on a real loop
 * counts a blocked loop as lag.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <jansson.h>

#include "node/daemon/looplag.h"

static void test_quantiles(void **state)
{
	struct node_looplag_hist h;

	(void)state;
	memset(&h, 0, sizeof(h));
	assert_int_equal(node_looplag_hist_quantile(&h, 0.99), 0);
	for (uint64_t i = 1; i <= 1000; i++)
		node_looplag_hist_add(&h, i * 10); /* 10 µs .. 10 ms */
	assert_int_equal(h.n, 1000);
	assert_int_equal(h.max_us, 10000);
	for (double q = 0.01; q <= 1.0; q += 0.01) {
		uint64_t truth = (uint64_t)(q * 1000 + 0.5) * 10,
			 got = node_looplag_hist_quantile(&h, q);

		if (got < truth || (double)got > (double)truth * 1.125 + 1)
			fail_msg("q %.2f: %llu for %llu", q, (unsigned long long)got,
				 (unsigned long long)truth);
	}
	assert_int_equal(node_looplag_hist_quantile(&h, 1.0), 10000);
	/* One huge outlier moves the maximum, not the median. */
	node_looplag_hist_add(&h, 5000000000ull);
	assert_true(node_looplag_hist_quantile(&h, 0.5) <= 5000 * 1.125);
	assert_true(node_looplag_hist_quantile(&h, 1.0) >= 5000000000ull);
	/* Small values are exact. */
	memset(&h, 0, sizeof(h));
	for (uint64_t v = 0; v < 16; v++)
		node_looplag_hist_add(&h, v);
	assert_int_equal(node_looplag_hist_quantile(&h, 0.5), 7);
}

/* The histogram in the JSON adds up to the samples, edges rising, the block in the last one. */
static void check_json(const struct node_looplag *lag)
{
	json_t *j = node_looplag_json(lag), *h = json_object_get(j, "hist_us"), *e;
	json_int_t sum = 0, prev = -1;
	size_t i;

	assert_non_null(j);
	assert_true(json_is_array(h) && json_array_size(h) > 0);
	json_array_foreach(h, i, e)
	{
		json_int_t top = json_integer_value(json_array_get(e, 0)),
			   n = json_integer_value(json_array_get(e, 1));

		assert_true(top > prev);
		assert_true(n > 0);
		prev = top;
		sum += n;
	}
	assert_int_equal(sum, (json_int_t)lag->hist.n);
	assert_true(prev >= (json_int_t)lag->hist.max_us);
	assert_true(prev <= (json_int_t)lag->hist.max_us * 9 / 8 + 1);
	json_decref(j);
}

/*
 * The block and the stop follow the samples counted, not the clock: on a loaded machine the
 * process can be off its core longer than any fixed schedule (blocking at 20 ms and stopping
 * at 100 ms of loop time failed once: a late first iteration ran every timer at once, with
 * no sample before the block). The loop blocks once samples exist, so a firing before the
 * block is known, and stops after firings after it.
 */
struct drive {
	struct node_looplag *lag;
	uint64_t n_at_block; /* samples when the block ended, 0 before */
};

static void block_ms(uv_timer_t *t)
{
	struct drive *d = t->data;
	struct timespec ts = {0, 30 * 1000000L};

	if (d->n_at_block || d->lag->hist.n < 3)
		return;
	while (nanosleep(&ts, &ts) != 0) /* the loop thread blocked for 30 ms, even if EINTR */
		;
	d->n_at_block = d->lag->hist.n;
}

static void stop_loop(uv_timer_t *t)
{
	struct drive *d = t->data;

	if (d->n_at_block && d->lag->hist.n >= d->n_at_block + 3)
		uv_stop(t->loop);
}

static void test_blocked_loop_shows(void **state)
{
	uv_loop_t loop;
	uv_timer_t blocker, stopper;
	struct node_looplag lag;
	struct drive d = {.lag = &lag};

	(void)state;
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(node_looplag_init(&lag, &loop), 0);
	node_looplag_start(&lag);
	uv_timer_init(&loop, &blocker);
	uv_timer_init(&loop, &stopper);
	blocker.data = stopper.data = &d;
	uv_timer_start(&blocker, block_ms, 1, 1);
	uv_timer_start(&stopper, stop_loop, 1, 1);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_true(lag.hist.n > 5);
	assert_true(lag.hist.max_us >= 25000); /* the 30 ms block, less timer slack */
	uv_close((uv_handle_t *)&blocker, NULL);
	uv_close((uv_handle_t *)&stopper, NULL);
	check_json(&lag);
	node_looplag_close(&lag);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quantiles),
		cmocka_unit_test(test_blocked_loop_shows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
