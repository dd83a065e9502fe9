/* SPDX-License-Identifier: MIT */
#include "node/common/pool.h"

#include <stdio.h>
#include <stdlib.h>

#include "node/common/prio.h"
#include "node/common/workq.h"

#define POOL_MIN 4
#define POOL_MAX 32

unsigned node_pool_cpus(void)
{
	unsigned n = uv_available_parallelism();

	return n ? n : 1;
}

unsigned node_pool_init(void)
{
	const char *env = getenv("UV_THREADPOOL_SIZE");
	unsigned n;
	char buf[16];

	if (env && *env)
		return (unsigned)strtoul(env, NULL, 10);
	n = node_pool_cpus() + NODE_POOL_IO_THREADS;
	if (n < POOL_MIN)
		n = POOL_MIN;
	if (n > POOL_MAX)
		n = POOL_MAX;
	snprintf(buf, sizeof(buf), "%u", n);
	setenv("UV_THREADPOOL_SIZE", buf, 0);
	return n;
}

void node_pool_lane_init(struct node_pool_lane *lane, uv_loop_t *loop, unsigned cap)
{
	lane->loop = loop;
	lane->cap = cap ? cap : 1;
	lane->running = lane->waiting = lane->peak = 0;
	lane->head = NULL;
	lane->tail = &lane->head;
	lane->jobs = lane->queued = 0;
}

static void start(struct node_pool_lane *lane, struct node_pool_work *pw);

static void on_work(uv_work_t *w)
{
	struct node_pool_work *pw = (struct node_pool_work *)w;

	node_prio_worker(); /* the loop thread first (node/common/prio.h) */
	pw->work(w);
}

static void on_done(uv_work_t *w, int status)
{
	struct node_pool_work *pw = (struct node_pool_work *)w;
	struct node_pool_lane *lane = pw->lane;
	struct node_pool_work *next;

	lane->running--;
	/* Start the next one first: @done may free whatever holds the lane's user. */
	next = lane->head;
	if (next) {
		lane->head = next->next;
		if (!lane->head)
			lane->tail = &lane->head;
		lane->waiting--;
		start(lane, next);
	}
	pw->done(w, status);
}

static void start(struct node_pool_lane *lane, struct node_pool_work *pw)
{
	if (++lane->running > lane->peak)
		lane->peak = lane->running;
	/* Fails only for a NULL work callback, which node_pool_submit() never passes. */
	node_workq_queue(lane->loop, &pw->w, on_work, on_done);
}

void node_pool_submit(struct node_pool_lane *lane, struct node_pool_work *pw, uv_work_cb work,
		      uv_after_work_cb done)
{
	pw->lane = lane;
	pw->work = work;
	pw->done = done;
	pw->next = NULL;
	lane->jobs++;
	if (lane->running < lane->cap) {
		start(lane, pw);
		return;
	}
	lane->queued++;
	lane->waiting++;
	*lane->tail = pw;
	lane->tail = &pw->next;
}

int node_pool_lane_idle(const struct node_pool_lane *lane)
{
	return !lane->running && !lane->head;
}

json_t *node_pool_lane_json(const struct node_pool_lane *lane)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "cap", (json_int_t)lane->cap, "running",
			 (json_int_t)lane->running, "waiting", (json_int_t)lane->waiting, "peak",
			 (json_int_t)lane->peak, "jobs", (json_int_t)lane->jobs, "queued",
			 (json_int_t)lane->queued);
}
