/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_node_workq.c — node/common/workq.h: on the attached loop every job's work
 * runs once on a worker thread and its done callback once on the loop thread, jobs start in
 * the order they were queued, a job in flight keeps uv_run() going (also one queued by a
 * done callback), the loop closes cleanly after detach, and on another loop
 * node_workq_queue() is uv_queue_work(). node_workq_release() runs its function on a worker
 * for the attached loop and at once, on the caller's thread, for another; node_workq_free()
 * through it (the leak checker sees every block freed).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "node/common/workq.h"

enum { JOBS = 20000, CHAINED = 1000 };

struct ctx {
	uv_loop_t *loop;
	pthread_t loop_thread;
	int fifo;	       /* one worker: check the start order */
	unsigned long started; /* next start index expected */
	unsigned long out_of_order, on_loop_work, off_loop_done, done, chained;
};

struct job {
	uv_work_t w;
	struct ctx *c;
	unsigned long i;
	int worked;
};

static void work(uv_work_t *w)
{
	struct job *j = w->data;
	struct ctx *c = j->c;

	if (pthread_equal(pthread_self(), c->loop_thread))
		c->on_loop_work++;
	/* One worker in the FIFO tests; the counts are read after uv_run(). */
	if (c->fifo) {
		if (j->i != c->started)
			c->out_of_order++;
		c->started = j->i + 1;
	}
	j->worked++;
}

static void done(uv_work_t *w, int status)
{
	struct job *j = w->data;
	struct ctx *c = j->c;

	assert_int_equal(status, 0);
	assert_int_equal(j->worked, 1);
	if (!pthread_equal(pthread_self(), c->loop_thread))
		c->off_loop_done++;
	c->done++;
	if (c->chained < CHAINED && j->i >= JOBS - 1) {
		/* A done callback queues the next job: uv_run() must keep going for it. */
		c->chained++;
		j->i++;
		j->worked = 0;
		assert_int_equal(node_workq_queue(c->loop, &j->w, work, done), 0);
		return;
	}
	free(j);
}

static void run_jobs(uv_loop_t *loop, struct ctx *c)
{
	c->loop = loop;
	c->loop_thread = pthread_self();
	for (unsigned long i = 0; i < JOBS; i++) {
		struct job *j = calloc(1, sizeof(*j));

		assert_non_null(j);
		j->c = c;
		j->i = i;
		j->w.data = j;
		assert_int_equal(node_workq_queue(loop, &j->w, work, done), 0);
	}
	assert_int_equal(uv_run(loop, UV_RUN_DEFAULT), 0);
}

static void test_attached(void **state)
{
	struct ctx c = {.fifo = 1};
	uv_loop_t loop;

	(void)state;
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(node_workq_attach(&loop, 1), 0);
	assert_int_equal(node_workq_attach(&loop, 1), -EBUSY);
	run_jobs(&loop, &c);
	assert_int_equal(c.done, JOBS + CHAINED);
	assert_int_equal(c.chained, CHAINED);
	assert_int_equal(c.out_of_order, 0);
	assert_int_equal(c.on_loop_work, 0);
	assert_int_equal(c.off_loop_done, 0);
	node_workq_detach(&loop);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* After a detach another loop may attach; a loop never attached gets libuv's pool. */
static void test_reattach_and_other_loop(void **state)
{
	struct ctx c = {.fifo = 1}, u = {0};
	uv_loop_t loop, other;

	(void)state;
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(uv_loop_init(&other), 0);
	assert_int_equal(node_workq_attach(&loop, 1), 0);
	run_jobs(&loop, &c);
	assert_int_equal(c.done, JOBS + CHAINED);
	assert_int_equal(c.out_of_order, 0);
	node_workq_detach(&loop);
	node_workq_detach(&other); /* not attached: nothing happens */
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);

	/* libuv's pool has several threads: starts may interleave, so order is not checked. */
	run_jobs(&other, &u);
	assert_int_equal(u.done, JOBS + CHAINED);
	assert_int_equal(u.on_loop_work, 0);
	assert_int_equal(u.off_loop_done, 0);
	assert_int_equal(uv_loop_close(&other), 0);
}

struct released {
	pthread_t loop_thread;
	int calls, off_loop;
};

static void release_fn(void *p)
{
	struct released *r = p;

	r->calls++;
	r->off_loop += !pthread_equal(pthread_self(), r->loop_thread);
}

static void test_free_off_loop(void **state)
{
	struct released r = {.loop_thread = pthread_self()}, o = {.loop_thread = pthread_self()};
	uv_loop_t loop, other;

	(void)state;
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(uv_loop_init(&other), 0);
	assert_int_equal(node_workq_attach(&loop, 2), 0);
	node_workq_free(&loop, NULL);
	assert_false(uv_loop_alive(&loop));
	node_workq_release(&loop, release_fn, &r);
	assert_true(uv_loop_alive(&loop));
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.off_loop, 1);
	node_workq_release(&other, release_fn, &o);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.off_loop, 0);
	for (int i = 0; i < 64; i++) {
		/* 2 MiB: a block glibc maps alone (node/common/heap.h NODE_HEAP_MMAP). */
		void *p = malloc(2u << 20);

		assert_non_null(p);
		node_workq_free(&loop, p);
		assert_true(uv_loop_alive(&loop)); /* a job in flight: freed by a worker */
	}
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	node_workq_free(&other, malloc(1u << 20)); /* not attached: freed at once */
	assert_false(uv_loop_alive(&other));
	node_workq_detach(&loop);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
	assert_int_equal(uv_loop_close(&other), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attached),
		cmocka_unit_test(test_reattach_and_other_loop),
		cmocka_unit_test(test_free_off_loop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
