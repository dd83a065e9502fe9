/* SPDX-License-Identifier: MIT */
#include "node/daemon/looplag.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PERIOD_MS 1

/* Bucket of @us: below NODE_LOOPLAG_SUB one per µs; above, NODE_LOOPLAG_SUB per power of 2. */
static unsigned bucket_of(uint64_t us)
{
	unsigned p, b;

	if (us < NODE_LOOPLAG_SUB)
		return (unsigned)us;
	p = 63u - (unsigned)__builtin_clzll(us); /* 2^p <= us < 2^(p+1), p >= 3 */
	b = (p - 2) * NODE_LOOPLAG_SUB + (unsigned)((us >> (p - 3)) & (NODE_LOOPLAG_SUB - 1));
	return b < NODE_LOOPLAG_BUCKETS ? b : NODE_LOOPLAG_BUCKETS - 1;
}

/* Largest value of bucket @b. */
static uint64_t bucket_top(unsigned b)
{
	unsigned p = b / NODE_LOOPLAG_SUB + 2, s = b % NODE_LOOPLAG_SUB;

	if (b < NODE_LOOPLAG_SUB)
		return b;
	return ((uint64_t)(NODE_LOOPLAG_SUB + s + 1) << (p - 3)) - 1;
}

void node_looplag_hist_add(struct node_looplag_hist *h, uint64_t us)
{
	h->n++;
	h->sum_us += us;
	if (us > h->max_us)
		h->max_us = us;
	h->bucket[bucket_of(us)]++;
}

uint64_t node_looplag_hist_quantile(const struct node_looplag_hist *h, double q)
{
	uint64_t want, seen = 0;

	if (!h->n)
		return 0;
	want = (uint64_t)(q * (double)h->n + 0.999999);
	if (want < 1)
		want = 1;
	for (unsigned b = 0; b < NODE_LOOPLAG_BUCKETS; b++) {
		seen += h->bucket[b];
		if (seen >= want) {
			uint64_t top = bucket_top(b);
			/* The last bucket is open-ended: the maximum bounds it. */
			return top < h->max_us && b < NODE_LOOPLAG_BUCKETS - 1 ? top : h->max_us;
		}
	}
	return h->max_us;
}

int node_looplag_schedstat(int fd, uint64_t *run_ns, uint64_t *wait_ns)
{
	char buf[96], *end;
	ssize_t k = pread(fd, buf, sizeof(buf) - 1, 0);

	if (k < 0)
		return -errno;
	buf[k] = '\0';
	/* "sum_exec_runtime run_delay pcount\n", all in decimal */
	if (buf[0] < '0' || buf[0] > '9')
		return -EINVAL;
	errno = 0;
	*run_ns = strtoull(buf, &end, 10);
	if (errno || *end != ' ' || end[1] < '0' || end[1] > '9')
		return -EINVAL;
	*wait_ns = strtoull(end + 1, &end, 10);
	if (errno || *end != ' ')
		return -EINVAL;
	return 0;
}

/*
 * One firing: the lag since the previous one; the part of it the loop thread spent
 * runnable without a core (run_delay grew by that much) taken out for the own histogram;
 * and what is left of that once the thread's CPU time is taken out too, for the asleep one.
 * A read that fails stops both for good rather than leave a gap in them.
 */
static void on_tick(uv_timer_t *t)
{
	struct node_looplag *l = t->data;
	uint64_t now = uv_hrtime(), run = 0, wait = 0;
	bool own = false;
	int rc;

	if (l->sched_fd >= 0) {
		rc = node_looplag_schedstat(l->sched_fd, &run, &wait);
		if (rc) {
			l->sched_err = -rc;
			close(l->sched_fd);
			l->sched_fd = -1;
		} else {
			own = true;
		}
	}
	if (l->last_ns) {
		uint64_t gap_us = (now - l->last_ns) / 1000,
			 lag_us = gap_us > PERIOD_MS * 1000 ? gap_us - PERIOD_MS * 1000 : 0;

		node_looplag_hist_add(&l->hist, lag_us);
		if (own) {
			uint64_t wait_us = wait > l->wait_ns ? (wait - l->wait_ns) / 1000 : 0,
				 run_us = run > l->run_ns ? (run - l->run_ns) / 1000 : 0,
				 own_us = lag_us > wait_us ? lag_us - wait_us : 0;

			node_looplag_hist_add(&l->own, own_us);
			node_looplag_hist_add(&l->asleep, own_us > run_us ? own_us - run_us : 0);
		}
	}
	l->last_ns = now;
	l->run_ns = run;
	l->wait_ns = wait;
}

int node_looplag_init(struct node_looplag *l, uv_loop_t *loop)
{
	int rc;

	memset(l, 0, sizeof(*l));
	l->sched_fd = -1;
	rc = uv_timer_init(loop, &l->timer);
	if (rc)
		return rc;
	l->timer.data = l;
	uv_unref((uv_handle_t *)&l->timer);
	return 0;
}

void node_looplag_start(struct node_looplag *l)
{
	uint64_t run, wait;
	int rc;

	l->last_ns = 0;
	l->sched_fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
	if (l->sched_fd < 0) {
		l->sched_err = errno;
	} else if ((rc = node_looplag_schedstat(l->sched_fd, &run, &wait)) != 0) {
		l->sched_err = -rc;
		close(l->sched_fd);
		l->sched_fd = -1;
	}
	uv_timer_start(&l->timer, on_tick, PERIOD_MS, PERIOD_MS);
}

void node_looplag_close(struct node_looplag *l)
{
	uv_close((uv_handle_t *)&l->timer, NULL);
	if (l->sched_fd >= 0)
		close(l->sched_fd);
	l->sched_fd = -1;
}

static json_t *ms(uint64_t us)
{
	return json_real((double)us / 1000.0);
}

/* [[upper edge in µs, count], ...] of the buckets that counted something, in order. */
static json_t *hist_json(const struct node_looplag_hist *h)
{
	json_t *a = json_array();

	for (unsigned b = 0; a && b < NODE_LOOPLAG_BUCKETS; b++)
		if (h->bucket[b] &&
		    json_array_append_new(a, json_pack("[I, I]", (json_int_t)bucket_top(b),
						       (json_int_t)h->bucket[b])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *hist_obj(const struct node_looplag_hist *h)
{
	return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o}", "samples", (json_int_t)h->n,
			 "lag_p50_ms", ms(node_looplag_hist_quantile(h, 0.50)), "lag_p99_ms",
			 ms(node_looplag_hist_quantile(h, 0.99)), "lag_max_ms", ms(h->max_us),
			 "lag_sum_ms", ms(h->sum_us), "hist_us", hist_json(h));
}

json_t *node_looplag_json(const struct node_looplag *l)
{
	json_t *j = hist_obj(&l->hist);

	if (!j)
		return NULL;
	if (l->sched_err ? json_object_set_new(j, "own_unavailable",
					       json_sprintf("/proc/thread-self/schedstat: %s",
							    strerror(l->sched_err)))
			 : json_object_set_new(j, "own", hist_obj(&l->own)) ||
				   json_object_set_new(j, "asleep", hist_obj(&l->asleep))) {
		json_decref(j);
		return NULL;
	}
	return j;
}
