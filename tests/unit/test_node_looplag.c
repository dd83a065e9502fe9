/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_node_looplag.c — the loop-lag histogram (node/daemon/looplag.h): quantiles
 * are upper bounds within 12.5 % and never above the maximum; the timer on a real loop
 * counts a blocked loop as lag; and the split of that lag: a loop thread asleep on a lock
 * counts as own lag and as time asleep, a callback that works counts as own lag but not
 * asleep (its CPU time is taken out), a loop thread that is runnable but kept off its core
 * by another thread does not count as own lag (its run-queue wait, from
 * /proc/thread-self/schedstat, is taken out).
 *
 * The split tests assert presence and absence with wide margins, never punctuality: the
 * lock is held for 50 ms after the loop thread is seen asleep on it (own lag >= 45 ms
 * whatever the load), and the preempted loop shares one core with a spinning thread at a
 * lower priority (its lag is mostly run-queue wait on any machine).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

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

/* A histogram in the JSON adds up to the samples, edges rising, the block in the last one. */
static void check_hist_json(json_t *j, const struct node_looplag_hist *hist)
{
	json_t *h = json_object_get(j, "hist_us"), *e;
	json_int_t sum = 0, prev = -1;
	size_t i;

	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "samples")), (json_int_t)hist->n);
	assert_true(json_real_value(json_object_get(j, "lag_sum_ms")) * 1000 + 0.5 >=
		    (double)hist->sum_us);
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
	assert_int_equal(sum, (json_int_t)hist->n);
	assert_true(prev >= (json_int_t)hist->max_us);
	assert_true(prev <= (json_int_t)hist->max_us * 9 / 8 + 1);
}

/* The loop's JSON: its histogram and the own one (schedstat is required: fail without). */
static void check_json(const struct node_looplag *lag)
{
	json_t *j = node_looplag_json(lag);

	assert_non_null(j);
	check_hist_json(j, &lag->hist);
	assert_null(json_object_get(j, "own_unavailable"));
	check_hist_json(json_object_get(j, "own"), &lag->own);
	check_hist_json(json_object_get(j, "asleep"), &lag->asleep);
	json_decref(j);
}

/* The run-queue wait is known on this kernel; a test of the split cannot do without it. */
static void require_schedstat(const struct node_looplag *lag)
{
	if (lag->sched_err)
		fail_msg("/proc/thread-self/schedstat: %s (kernel without CONFIG_SCHED_INFO?)",
			 strerror(lag->sched_err));
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

static void stop_after_block(uv_timer_t *t)
{
	struct drive *d = t->data;

	if (d->n_at_block && d->lag->hist.n >= d->n_at_block + 3)
		uv_stop(t->loop);
}

/*
 * Runs a loop with @lag, a 1 ms timer calling @act (data @act_data) and stop_after_block() on
 * @drv until it stops the loop, then closes everything; @lag keeps its figures.
 */
static void drive_loop(struct node_looplag *lag, uv_timer_cb act, void *act_data, struct drive *drv)
{
	uv_loop_t loop;
	uv_timer_t actor, stopper;

	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(node_looplag_init(lag, &loop), 0);
	node_looplag_start(lag);
	uv_timer_init(&loop, &actor);
	uv_timer_init(&loop, &stopper);
	actor.data = act_data;
	stopper.data = drv;
	uv_timer_start(&actor, act, 1, 1);
	uv_timer_start(&stopper, stop_after_block, 1, 1);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&actor, NULL);
	uv_close((uv_handle_t *)&stopper, NULL);
	node_looplag_close(lag);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_blocked_loop_shows(void **state)
{
	struct node_looplag lag;
	struct drive d = {.lag = &lag};

	(void)state;
	drive_loop(&lag, block_ms, &d, &d);
	assert_true(lag.hist.n > 5);
	assert_true(lag.hist.max_us >= 25000); /* the 30 ms block, less timer slack */
	require_schedstat(&lag);
	assert_true(lag.own.n == lag.hist.n);
	assert_true(lag.own.max_us >= 25000); /* asleep, not waiting for a core */
	assert_true(lag.asleep.n == lag.hist.n);
	assert_true(lag.asleep.max_us >= 20000); /* and not working: 30 ms less a tick or two */
	check_json(&lag);
}

/* node_looplag_schedstat() reads the first two fields of "N N N\n", and refuses the rest. */
static void test_schedstat_parse(void **state)
{
	static const char *bad[] = {
		"",	     "12",	  "12 ",      "12 x 3\n",
		" 12 3 4\n", "12 -3 4\n", "x 12 3\n", "12 99999999999999999999 1\n"};
	FILE *f = tmpfile();
	uint64_t run = 0, wait = 0;

	(void)state;
	assert_non_null(f);
	assert_true(fputs("123456789 987654321 42\n", f) >= 0 && fflush(f) == 0);
	assert_int_equal(node_looplag_schedstat(fileno(f), &run, &wait), 0);
	assert_int_equal(run, 123456789ull);
	assert_int_equal(wait, 987654321ull);
	fclose(f);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f = tmpfile();
		assert_non_null(f);
		assert_true(fputs(bad[i], f) >= 0 && fflush(f) == 0);
		if (node_looplag_schedstat(fileno(f), &run, &wait) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		fclose(f);
	}
	assert_int_equal(node_looplag_schedstat(-1, &run, &wait), -EBADF);
}

/* With schedstat unavailable, "own" is absent and the reason is given. */
static void test_own_unavailable(void **state)
{
	uv_loop_t loop;
	struct node_looplag lag;
	json_t *j;

	(void)state;
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(node_looplag_init(&lag, &loop), 0);
	lag.sched_err = ENOENT; /* what node_looplag_start() records when the file is missing */
	j = node_looplag_json(&lag);
	assert_non_null(j);
	assert_null(json_object_get(j, "own"));
	assert_null(json_object_get(j, "asleep"));
	assert_non_null(
		strstr(json_string_value(json_object_get(j, "own_unavailable")), strerror(ENOENT)));
	assert_non_null(json_object_get(j, "lag_p99_ms"));
	json_decref(j);
	node_looplag_close(&lag);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* The state letter of thread @tid of this process (/proc/self/task/TID/stat), '?' if unread. */
static char thread_state(pid_t tid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t k;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return '?';
	k = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[k] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

struct holder {
	pthread_mutex_t m;
	sem_t held, locking;
	pid_t loop_tid;
	int err;
	struct drive drv; /* lock once samples exist, stop after firings after it */
};

/* Holds the lock until the loop thread has been seen asleep on it, then 50 ms more. */
static void *hold_lock(void *arg)
{
	struct holder *h = arg;
	struct timespec ms1 = {0, 1000000L}, ms50 = {0, 50 * 1000000L};
	int i;

	pthread_mutex_lock(&h->m);
	sem_post(&h->held);
	while (sem_wait(&h->locking) != 0)
		;
	/* After posting, the loop thread's next sleep is on the lock (10 s: a broken test). */
	for (i = 0; i < 10000 && thread_state(h->loop_tid) != 'S'; i++)
		nanosleep(&ms1, NULL);
	if (i == 10000)
		h->err = ETIMEDOUT;
	nanosleep(&ms50, NULL);
	pthread_mutex_unlock(&h->m);
	return NULL;
}

static void take_lock(uv_timer_t *t)
{
	struct holder *h = t->data;

	if (h->drv.n_at_block || h->drv.lag->hist.n < 3)
		return;
	sem_post(&h->locking);
	pthread_mutex_lock(&h->m); /* asleep until the holder lets go */
	pthread_mutex_unlock(&h->m);
	h->drv.n_at_block = h->drv.lag->hist.n;
}

/* A callback asleep on a lock for 50 ms shows as own lag: the thread was not runnable. */
static void test_lock_wait_is_own(void **state)
{
	struct node_looplag lag;
	struct holder h = {.m = PTHREAD_MUTEX_INITIALIZER, .loop_tid = gettid()};
	pthread_t th;

	(void)state;
	assert_int_equal(sem_init(&h.held, 0, 0), 0);
	assert_int_equal(sem_init(&h.locking, 0, 0), 0);
	assert_int_equal(pthread_create(&th, NULL, hold_lock, &h), 0);
	while (sem_wait(&h.held) != 0)
		;
	h.drv.lag = &lag;
	drive_loop(&lag, take_lock, &h, &h.drv);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(h.err, 0);
	assert_true(lag.hist.max_us >= 45000);
	require_schedstat(&lag);
	if (lag.own.max_us < 45000 || lag.asleep.max_us < 40000)
		fail_msg("own lag max %llu us, asleep max %llu us for a 50 ms wait on a lock (lag "
			 "max %llu us)",
			 (unsigned long long)lag.own.max_us, (unsigned long long)lag.asleep.max_us,
			 (unsigned long long)lag.hist.max_us);
	check_json(&lag);
	sem_destroy(&h.held);
	sem_destroy(&h.locking);
}

static uint64_t thread_cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Works for 50 ms of the loop thread's own CPU time (however long that takes on the clock). */
static void spin_cpu(uv_timer_t *t)
{
	struct drive *d = t->data;
	uint64_t t0;

	if (d->n_at_block || d->lag->hist.n < 3)
		return;
	t0 = thread_cpu_us();
	while (thread_cpu_us() - t0 < 50000)
		;
	d->n_at_block = d->lag->hist.n;
}

/* A callback that works for 50 ms shows as own lag, but not as time asleep. */
static void test_busy_is_own_not_asleep(void **state)
{
	struct node_looplag lag;
	struct drive d = {.lag = &lag};

	(void)state;
	drive_loop(&lag, spin_cpu, &d, &d);
	require_schedstat(&lag);
	/* 50 ms of CPU; asleep: a scheduler tick or two of error in the CPU time, not 50 ms. */
	if (lag.own.max_us < 45000 || lag.asleep.max_us > 20000)
		fail_msg("own lag max %llu us, asleep max %llu us for 50 ms of work (lag max %llu "
			 "us)",
			 (unsigned long long)lag.own.max_us, (unsigned long long)lag.asleep.max_us,
			 (unsigned long long)lag.hist.max_us);
	check_json(&lag);
}

struct crowd {
	cpu_set_t cpu; /* the one core both threads share */
	atomic_int stop;
	struct node_looplag lag;
	int err;
};

/* Spins on the shared core at the default priority until told to stop. */
static void *spin(void *arg)
{
	struct crowd *c = arg;

	if (pthread_setaffinity_np(pthread_self(), sizeof(c->cpu), &c->cpu) != 0)
		c->err = EPERM;
	while (!c->stop)
		;
	return NULL;
}

/*
 * Stops the loop once it has lost CROWDED_LAG_US to the spinning thread, or after
 * CROWDED_MAX firings (then the test fails: the loop was not kept off its core). Counted,
 * not timed (see struct drive).
 */
#define CROWDED_LAG_US 100000
#define CROWDED_MAX 5000
static void stop_when_crowded(uv_timer_t *t)
{
	const struct node_looplag *lag = t->data;

	if (lag->hist.sum_us >= CROWDED_LAG_US || lag->hist.n >= CROWDED_MAX)
		uv_stop(t->loop);
}

/*
 * A loop thread under SCHED_IDLE on the spinning thread's core: runnable but mostly without
 * its core (at nice 19 the scheduler still woke it within about a millisecond on a loaded
 * machine, so its lag was mostly libuv's millisecond timer granularity). Its lag is large,
 * its own lag is not.
 */
static void *crowded_loop(void *arg)
{
	struct crowd *c = arg;
	struct sched_param sp = {0};
	uv_loop_t loop;
	uv_timer_t stopper;

	if (pthread_setaffinity_np(pthread_self(), sizeof(c->cpu), &c->cpu) != 0 ||
	    pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) != 0 ||
	    uv_loop_init(&loop) != 0 || node_looplag_init(&c->lag, &loop) != 0) {
		c->err = errno ? errno : EINVAL;
		return NULL;
	}
	node_looplag_start(&c->lag);
	uv_timer_init(&loop, &stopper);
	stopper.data = &c->lag;
	uv_timer_start(&stopper, stop_when_crowded, 1, 1);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&stopper, NULL);
	node_looplag_close(&c->lag);
	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop) != 0)
		c->err = EBUSY;
	return NULL;
}

/*
 * One crowded run: the loop beside the spinning thread on the first core this process may
 * use. Returns whether its own lag stayed under a quarter of its lag.
 */
static bool crowded_run(struct crowd *c)
{
	cpu_set_t mine;
	pthread_t hog, looper;
	int cpu = 0;

	memset(c, 0, sizeof(*c));
	assert_int_equal(pthread_getaffinity_np(pthread_self(), sizeof(mine), &mine), 0);
	while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &mine))
		cpu++;
	assert_true(cpu < CPU_SETSIZE);
	CPU_ZERO(&c->cpu);
	CPU_SET(cpu, &c->cpu);
	assert_int_equal(pthread_create(&hog, NULL, spin, c), 0);
	assert_int_equal(pthread_create(&looper, NULL, crowded_loop, c), 0);
	assert_int_equal(pthread_join(looper, NULL), 0);
	c->stop = 1;
	assert_int_equal(pthread_join(hog, NULL), 0);
	assert_int_equal(c->err, 0);
	require_schedstat(&c->lag);
	assert_true(c->lag.hist.n > 0 && c->lag.own.n == c->lag.hist.n);
	print_message("preempted loop: lag sum %llu us (max %llu) in %llu firings, own sum %llu us "
		      "(max %llu)\n",
		      (unsigned long long)c->lag.hist.sum_us,
		      (unsigned long long)c->lag.hist.max_us, (unsigned long long)c->lag.hist.n,
		      (unsigned long long)c->lag.own.sum_us, (unsigned long long)c->lag.own.max_us);
	return c->lag.hist.sum_us >= CROWDED_LAG_US && c->lag.own.sum_us * 4 <= c->lag.hist.sum_us;
}

/*
 * It was kept off its core (100 ms of lag within 5,000 firings), not by itself. On a machine
 * loaded by other processes the spinning thread is itself preempted, the loop fires more
 * often and each firing's timer granularity (up to 1 ms, own) adds up: a run may then miss
 * the quarter. Up to CROWDED_RUNS runs; one that shows it is enough, none fails the test.
 */
#define CROWDED_RUNS 5
static void test_preempted_is_not_own(void **state)
{
	struct crowd c;

	(void)state;
	for (int run = 0; run < CROWDED_RUNS; run++)
		if (crowded_run(&c))
			return;
	fail_msg("lag %llu us in %llu firings (max %llu), own %llu us (max %llu) in the last of "
		 "%d runs",
		 (unsigned long long)c.lag.hist.sum_us, (unsigned long long)c.lag.hist.n,
		 (unsigned long long)c.lag.hist.max_us, (unsigned long long)c.lag.own.sum_us,
		 (unsigned long long)c.lag.own.max_us, CROWDED_RUNS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quantiles),
		cmocka_unit_test(test_blocked_loop_shows),
		cmocka_unit_test(test_schedstat_parse),
		cmocka_unit_test(test_own_unavailable),
		cmocka_unit_test(test_lock_wait_is_own),
		cmocka_unit_test(test_busy_is_own_not_asleep),
		cmocka_unit_test(test_preempted_is_not_own),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
