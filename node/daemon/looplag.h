/* SPDX-License-Identifier: MIT */
/*
 * node/daemon/looplag.h — how late the event loop runs: a 1 ms repeating timer measures, on
 * each firing, how much later than 1 ms after the previous firing it ran, into a log-linear
 * histogram (8 steps per power of two, from 1 µs up). Whatever blocks the loop thread
 * (a slow callback, a synchronous disk write, a long verification) shows as lag; the daemon
 * reports it in `status` ("loop": {"samples", "lag_p50_ms", "lag_p99_ms", "lag_max_ms",
 * "lag_sum_ms", "hist_us", "own" and "asleep", or "own_unavailable"}), counted since the
 * daemon became ready.
 *
 * That lag also holds the time the loop thread was runnable but had no core (run-queue
 * wait: other threads and processes had the CPUs), which an idle loop on a loaded machine
 * sees too. So each firing also reads the loop thread's schedstat from the kernel
 * (/proc/thread-self/schedstat: CPU time and run_delay in ns, kept open, one pread per
 * firing) and counts two more histograms: "own", the lag NOT explained by the run-queue wait
 * accrued since the previous firing (lag minus that wait, floored at 0), i.e. the time the
 * loop spent in callbacks or asleep; and "asleep", what is left of the own lag once the
 * thread's CPU time since the previous firing is taken out too (floored at 0): asleep on a
 * lock, a page fault or a blocking call. The kernel updates a running thread's CPU time at
 * its scheduler ticks, so "asleep" can be a tick (1-4 ms) off either way. When the kernel
 * does not provide schedstat (or a read fails), "own" and "asleep" are absent and
 * "own_unavailable" says why; no figure is made up.
 *
 * The histogram itself is plain data (node_looplag_hist_*), so tests and benchmarks use it
 * without a loop. Thread rules: loop thread only (node_looplag_start() included: the file
 * it opens is the calling thread's).
 */
#ifndef CHATHAM_NODE_LOOPLAG_H
#define CHATHAM_NODE_LOOPLAG_H

#include <jansson.h>
#include <stdint.h>
#include <uv.h>

#define NODE_LOOPLAG_SUB 8     /* steps per power of two */
#define NODE_LOOPLAG_POWERS 28 /* 8 µs .. 2^31 µs (about 36 minutes), then the last bucket */
#define NODE_LOOPLAG_BUCKETS (NODE_LOOPLAG_POWERS * NODE_LOOPLAG_SUB + NODE_LOOPLAG_SUB)

struct node_looplag_hist {
	uint64_t n;
	uint64_t max_us;
	uint64_t sum_us; /* of every delay counted */
	uint64_t bucket[NODE_LOOPLAG_BUCKETS];
};

/* node_looplag_hist_add() - count one delay of @us microseconds. */
void node_looplag_hist_add(struct node_looplag_hist *h, uint64_t us);

/*
 * node_looplag_schedstat() - the first two fields of a schedstat file open at @fd, read with
 * pread at offset 0: the thread's CPU time (*@run_ns) and run-queue wait (*@wait_ns), in ns.
 * Returns 0, or a negative errno (-EINVAL when the text is not "N N N").
 */
int node_looplag_schedstat(int fd, uint64_t *run_ns, uint64_t *wait_ns);

/*
 * node_looplag_hist_quantile() - an upper bound of the @q quantile (0 < @q <= 1) in µs: the
 * upper edge of the bucket holding it, at most 12.5 % above the true value, and never above
 * the largest delay counted. 0 with no samples.
 */
uint64_t node_looplag_hist_quantile(const struct node_looplag_hist *h, double q);

struct node_looplag {
	uv_timer_t timer;
	uint64_t last_ns; /* uv_hrtime() of the previous firing, 0 before the first */
	struct node_looplag_hist hist;
	/* The loop thread's run-queue wait (see the top of this file). */
	int sched_fd;		      /* /proc/thread-self/schedstat of the loop thread, or -1 */
	int sched_err;		      /* 0 while "own" is counted, else the errno that stopped it */
	uint64_t run_ns;	      /* CPU time read at the previous firing */
	uint64_t wait_ns;	      /* run_delay read at the previous firing */
	struct node_looplag_hist own; /* lag minus the run-queue wait, per firing */
	struct node_looplag_hist asleep; /* own lag minus the thread's CPU time, per firing */
};

/*
 * node_looplag_init() - initialise @l (caller storage) and its timer on @loop; nothing is
 * measured yet. Returns 0 or a libuv error.
 * node_looplag_start() - start measuring (the daemon does so once start-up is done, so its
 * own start-up work is not counted as lag), on the loop thread: it opens that thread's
 * schedstat (on failure "own" is unavailable; the lag is measured all the same). The timer
 * does not keep the loop alive. Call it once.
 * node_looplag_close() - close the timer (uv_close; @l must live until the loop has run the
 * close, as for any handle) and the schedstat file.
 */
int node_looplag_init(struct node_looplag *l, uv_loop_t *loop);
void node_looplag_start(struct node_looplag *l);
void node_looplag_close(struct node_looplag *l);

/*
 * node_looplag_json() - {"samples", "lag_p50_ms", "lag_p99_ms", "lag_max_ms", "lag_sum_ms",
 * "hist_us", "own": {the same keys over the own lag}, "asleep": {the same over the time
 * asleep}} or, instead of "own" and "asleep", "own_unavailable": the reason (strerror of
 * what failed); new reference, NULL on ENOMEM.
 * "hist_us" is the histogram itself, [[upper edge µs, count], ...] over the buckets that
 * counted something, so that a reader can take the difference of two readings and get the
 * quantiles of the time between them (bench_overlay.py does); "lag_sum_ms" is the sum of
 * the delays counted (so 1 - own.lag_sum_ms / lag_sum_ms is the share of the lag that was
 * run-queue wait).
 */
json_t *node_looplag_json(const struct node_looplag *l);

#endif
