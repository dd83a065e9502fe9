/* SPDX-License-Identifier: MIT */
/*
 * bench_looplag_probe — the machine's own loop lag: an event loop that does nothing but the
 * node's loop-lag timer (node/daemon/looplag.h). Whatever lag it sees comes from the
 * scheduler (other processes wanting the cores), not from work on its loop, so a node's lag
 * measured in the same run is judged against it (tests/bench/bench_overlay.py starts it
 * beside the burst).
 *
 * Usage: bench_looplag_probe   (runs until SIGTERM or SIGINT, then prints node_looplag_json()
 *                              on one line to stdout and exits 0)
 *        bench_looplag_probe --read-cost N
 *                              (what reading the run-queue wait costs each firing: N reads
 *                              of /proc/thread-self/schedstat through node_looplag_schedstat(),
 *                              wall and thread CPU time per read, printed)
 */
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "node/daemon/looplag.h" /* and uv.h */

static void on_signal(uv_signal_t *s, int signum)
{
	(void)signum;
	uv_stop(s->loop);
}

static double now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int read_cost(long n)
{
	int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
	double w0, c0, w1, c1;
	uint64_t run = 0, wait = 0;

	if (fd < 0 || n <= 0) {
		perror("/proc/thread-self/schedstat");
		return 1;
	}
	w0 = now_ns(CLOCK_MONOTONIC);
	c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
	for (long i = 0; i < n; i++)
		if (node_looplag_schedstat(fd, &run, &wait) != 0) {
			fprintf(stderr, "read %ld failed\n", i);
			close(fd);
			return 1;
		}
	w1 = now_ns(CLOCK_MONOTONIC);
	c1 = now_ns(CLOCK_THREAD_CPUTIME_ID);
	close(fd);
	printf("schedstat read: %.2f us wall, %.2f us thread CPU per read (%ld reads; at one per "
	       "1 ms firing, wall: %.3f %% of a core)\n",
	       (w1 - w0) / 1e3 / (double)n, (c1 - c0) / 1e3 / (double)n, n,
	       (w1 - w0) / 1e4 / (double)n);
	return 0;
}

int main(int argc, char **argv)
{
	uv_loop_t loop;
	uv_signal_t term, intr;
	struct node_looplag lag;
	json_t *j;
	char *text;
	int rc = 1;

	if (argc == 3 && strcmp(argv[1], "--read-cost") == 0)
		return read_cost(atol(argv[2]));
	if (argc != 1) {
		fprintf(stderr, "usage: bench_looplag_probe [--read-cost N]\n");
		return 2;
	}
	if (uv_loop_init(&loop) != 0 || node_looplag_init(&lag, &loop) != 0 ||
	    uv_signal_init(&loop, &term) != 0 || uv_signal_init(&loop, &intr) != 0)
		return 1;
	uv_signal_start(&term, on_signal, SIGTERM);
	uv_signal_start(&intr, on_signal, SIGINT);
	node_looplag_start(&lag);
	uv_run(&loop, UV_RUN_DEFAULT);
	j = node_looplag_json(&lag);
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (text && printf("%s\n", text) > 0 && fflush(stdout) == 0)
		rc = 0;
	free(text);
	json_decref(j);
	node_looplag_close(&lag);
	uv_close((uv_handle_t *)&term, NULL);
	uv_close((uv_handle_t *)&intr, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop) != 0)
		rc = 1;
	return rc;
}
