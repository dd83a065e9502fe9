/* SPDX-License-Identifier: MIT */
/*
 * node/daemon/looplag.h — how late the event loop runs: a 1 ms repeating timer measures, on
 * each firing, how much later than 1 ms after the previous firing it ran, into a log-linear
 * histogram (8 steps per power of two, from 1 µs up). Whatever blocks the loop thread
 * (a slow callback, a synchronous disk write, a long verification) shows as lag; the daemon
 * reports it in `status` ("loop": {"samples", "lag_p50_ms", "lag_p99_ms", "lag_max_ms",
 * "hist_us"}),
 * counted since the daemon became ready.
 *
 * The histogram itself is plain data (node_looplag_hist_*), so tests and benchmarks use it
 * without a loop. Thread rules: loop thread only.
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
	uint64_t bucket[NODE_LOOPLAG_BUCKETS];
};

/* node_looplag_hist_add() - count one delay of @us microseconds. */
void node_looplag_hist_add(struct node_looplag_hist *h, uint64_t us);

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
};

/*
 * node_looplag_init() - initialise @l (caller storage) and its timer on @loop; nothing is
 * measured yet. Returns 0 or a libuv error.
 * node_looplag_start() - start measuring (the daemon does so once start-up is done, so its
 * own start-up work is not counted as lag). The timer does not keep the loop alive.
 * node_looplag_close() - close the timer (uv_close; @l must live until the loop has run the
 * close, as for any handle).
 */
int node_looplag_init(struct node_looplag *l, uv_loop_t *loop);
void node_looplag_start(struct node_looplag *l);
void node_looplag_close(struct node_looplag *l);

/*
 * node_looplag_json() - {"samples", "lag_p50_ms", "lag_p99_ms", "lag_max_ms", "hist_us"}; new
 * reference, NULL on ENOMEM. "hist_us" is the histogram itself, [[upper edge µs, count], ...]
 * over the buckets that counted something, so that a reader can take the difference of two
 * readings and get the quantiles of the time between them (bench_overlay.py does).
 */
json_t *node_looplag_json(const struct node_looplag *l);

#endif
