/* SPDX-License-Identifier: MIT */
/*
 * node/common/pool.h — the budget of the daemon's worker threads (node/common/workq.h;
 * libuv's pool, sized by the same call, keeps name resolution). Signing chunks, commits,
 * export syncs, admission jobs, API reads, large request parses, seal requests and
 * housekeeping all share one FIFO pool (the daemon's rooms and the overlay's queue to it,
 * hence node/common/); without a budget a burst of one kind (twenty signing chunks of a
 * 10,000-item publish, a flood of `query` requests) sits in front of a commit that a client is
 * waiting for. Each kind that can come in bursts goes through a node_pool_lane: at most @cap
 * of its jobs are in the pool at once, the rest wait in the lane's own FIFO on the loop
 * thread, and the pool is sized at start-up so that the capped lanes together leave threads
 * for the kinds that run one at a time (commit, export sync, reload, expiry, admission).
 *
 * Thread rules: the lane functions run on the loop thread; the work callback on a pool
 * thread, as with uv_queue_work().
 */
#ifndef CHATHAM_NODE_POOL_H
#define CHATHAM_NODE_POOL_H

#include <jansson.h>
#include <uv.h>

/*
 * node_pool_init() - size libuv's pool before anything is queued to it: UV_THREADPOOL_SIZE
 * is left alone when the environment sets it, else set to the number of CPUs plus the
 * threads that wait on disks and names (NODE_POOL_IO_THREADS: the overlay keeps at most
 * 2 x NODE_OVERLAY_RESOLVES_MAX of them in getaddrinfo()), between 4 and 32. Call it
 * once, before the first uv_queue_work() or uv_getaddrinfo() of the process (libuv reads
 * the variable when it starts the pool). Returns the pool size in effect, which the daemon
 * gives its work queue too (node_workq_attach()).
 */
#define NODE_POOL_IO_THREADS 6
unsigned node_pool_init(void);

/* node_pool_cpus() - the CPUs this process may use (at least 1). */
unsigned node_pool_cpus(void);

struct node_pool_work {
	uv_work_t w; /* w.data is the caller's, as with uv_queue_work() */
	struct node_pool_work *next;
	struct node_pool_lane *lane;
	uv_work_cb work;
	uv_after_work_cb done;
};

struct node_pool_lane {
	uv_loop_t *loop;
	unsigned cap, running;
	unsigned waiting; /* jobs in the lane's FIFO now */
	unsigned peak;	  /* most jobs of the lane in the pool at once */
	struct node_pool_work *head, **tail;
	unsigned long long jobs;   /* jobs submitted, for status */
	unsigned long long queued; /* of them, jobs that had to wait */
};

/* node_pool_lane_init() - a lane (caller storage) of at most @cap (>= 1) jobs in the pool. */
void node_pool_lane_init(struct node_pool_lane *lane, uv_loop_t *loop, unsigned cap);

/*
 * node_pool_submit() - run @work(&@pw->w) in the pool and @done(&@pw->w, status) on the loop
 * thread afterwards, like uv_queue_work(), but only when fewer than the lane's cap of its jobs
 * are in the pool; otherwise @pw waits its turn in the lane (FIFO). @pw (caller storage) must
 * live until @done runs. Never fails: the pool is started and the callbacks are non-NULL.
 */
void node_pool_submit(struct node_pool_lane *lane, struct node_pool_work *pw, uv_work_cb work,
		      uv_after_work_cb done);

/* node_pool_lane_idle() - nothing of this lane is running or waiting. */
int node_pool_lane_idle(const struct node_pool_lane *lane);

/*
 * node_pool_lane_json() - the lane for `status`: {"cap", "running", "waiting", "peak",
 * "jobs", "queued"} (the counters above). Returns a new reference, NULL when out of memory.
 */
json_t *node_pool_lane_json(const struct node_pool_lane *lane);

#endif
