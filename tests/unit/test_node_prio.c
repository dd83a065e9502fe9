/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_node_prio.c — node/common/prio.h: a pool thread lowers its own priority
 * once, by NODE_PRIO_WORKER_NICE, and no other thread's (the loop thread keeps its own).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "node/common/prio.h"

static int own_nice(void)
{
	return getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
}

static void *worker(void *arg)
{
	int *got = arg;

	node_prio_worker();
	got[0] = own_nice();
	node_prio_worker(); /* once per thread: not lowered again */
	got[1] = own_nice();
	return NULL;
}

static void test_worker_only(void **state)
{
	int before = own_nice(), got[2];
	pthread_t t;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, worker, got), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	/* Threads inherit the creator's nice; the kernel caps it at 19. */
	assert_int_equal(got[0],
			 before + NODE_PRIO_WORKER_NICE > 19 ? 19 : before + NODE_PRIO_WORKER_NICE);
	assert_int_equal(got[1], got[0]);
	assert_int_equal(own_nice(), before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_worker_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
