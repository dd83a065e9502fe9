/* SPDX-License-Identifier: MIT */
/*
 * tests/bench/benchclock.h — the clocks the benchmark programs read, in seconds: wall time
 * (CLOCK_MONOTONIC), the process's CPU time (every thread; on a loaded machine wall-clock
 * slices measure the scheduler) and the calling thread's, or any clock by its id.
 */
#ifndef CHATHAM_TESTS_BENCH_BENCHCLOCK_H
#define CHATHAM_TESTS_BENCH_BENCHCLOCK_H

#include <time.h>

static inline double bench_clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* bench_now_s() - wall time, seconds since an arbitrary start. */
static inline double bench_now_s(void)
{
	return bench_clock_s(CLOCK_MONOTONIC);
}

/* bench_cpu_s() - CPU seconds the process has used (all its threads). */
static inline double bench_cpu_s(void)
{
	return bench_clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

/* bench_thread_cpu_s() - CPU seconds the calling thread has used. */
static inline double bench_thread_cpu_s(void)
{
	return bench_clock_s(CLOCK_THREAD_CPUTIME_ID);
}

#endif
