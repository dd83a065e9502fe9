/* SPDX-License-Identifier: MIT */
/*
 * node/common/pool.h lanes: at most the cap of a lane's jobs run in the pool at once, the
 * rest start in submission order, every done callback runs once, and the counters status
 * shows (peak, jobs, queued, waiting) say so. The jobs block until the test lets them go, so
 * the bound is checked while the lane is full, whatever the machine's load.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "node/common/pool.h"

#define JOBS 12
#define CAP 3

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int in_work, most, started, order[JOBS], released;

struct job {
	struct node_pool_work pw;
	int i;
	bool done;
};

static void work(uv_work_t *w)
{
	struct job *j = w->data;

	pthread_mutex_lock(&mu);
	order[started++] = j->i;
	if (++in_work > most)
		most = in_work;
	pthread_cond_broadcast(&cv);
	while (released <= j->i)
		pthread_cond_wait(&cv, &mu);
	in_work--;
	pthread_mutex_unlock(&mu);
}

static void done(uv_work_t *w, int status)
{
	struct job *j = w->data;

	assert_int_equal(status, 0);
	assert_false(j->done);
	j->done = true;
}

static int get(int *v)
{
	int x;

	pthread_mutex_lock(&mu);
	x = *v;
	pthread_mutex_unlock(&mu);
	return x;
}

static void test_lane_cap(void **state)
{
	struct node_pool_lane lane;
	struct job jobs[JOBS] = {0};
	uv_loop_t loop;
	int n_done;

	(void)state;
	assert_int_equal(uv_loop_init(&loop), 0);
	node_pool_lane_init(&lane, &loop, CAP);
	for (int i = 0; i < JOBS; i++) {
		jobs[i].i = i;
		jobs[i].pw.w.data = &jobs[i];
		node_pool_submit(&lane, &jobs[i].pw, work, done);
	}
	assert_int_equal(lane.running, CAP);
	assert_int_equal(lane.waiting, JOBS - CAP);
	assert_int_equal(lane.jobs, JOBS);
	assert_int_equal(lane.queued, JOBS - CAP);
	assert_false(node_pool_lane_idle(&lane));
	/* Let the jobs go one at a time, in order: each frees one place for the next. */
	for (int i = 0; i < JOBS; i++) {
		pthread_mutex_lock(&mu);
		while (started < (i + CAP < JOBS ? i + CAP : JOBS))
			pthread_cond_wait(&cv, &mu);
		released = i + 1;
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
		while (!jobs[i].done)
			uv_run(&loop, UV_RUN_ONCE);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	n_done = 0;
	for (int i = 0; i < JOBS; i++)
		n_done += jobs[i].done;
	assert_int_equal(n_done, JOBS);
	assert_int_equal(get(&most), CAP);
	assert_int_equal(lane.peak, CAP);
	/* The first CAP start together (in any order), then each in submission order. */
	for (int i = 0; i < JOBS; i++)
		assert_true(i < CAP ? order[i] < CAP : order[i] == i);
	assert_true(node_pool_lane_idle(&lane));
	assert_int_equal(lane.waiting, 0);
	assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lane_cap),
	};

	/* More threads in libuv's pool than the lane's cap, so only the lane bounds the jobs. */
	setenv("UV_THREADPOOL_SIZE", "8", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
