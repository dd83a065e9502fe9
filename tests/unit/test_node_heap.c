/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_node_heap.c — node/common/heap.h: an operator's GLIBC_TUNABLES malloc
 * settings win; otherwise glibc's main heap serves a block under the mmap threshold by
 * growing by it plus the top pad, keeps it when freed (below the trim threshold), and maps a
 * block over the threshold that its free memory cannot hold (observed through mallinfo2()). Under AddressSanitizer (the dev preset) malloc is ASan's, which ignores
 * mallopt(): there the test checks that node_heap_tune() says so (-ENOTSUP); the heap's
 * behaviour is checked in builds without a sanitizer (release).
 */
#include <errno.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/common/heap.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif

static void test_environment_wins(void **state)
{
	(void)state;
	assert_int_equal(setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=131072", 1), 0);
	assert_int_equal(node_heap_tune(), 1);
	/* Another namespace's tunable is not a malloc setting. */
	assert_int_equal(setenv("GLIBC_TUNABLES", "glibc.pthread.rseq=0", 1), 0);
	assert_int_not_equal(node_heap_tune(), 1);
	assert_int_equal(unsetenv("GLIBC_TUNABLES"), 0);
}

static void test_settings(void **state)
{
	(void)state;
	assert_int_equal(unsetenv("GLIBC_TUNABLES"), 0);
#ifdef SANITIZED
	assert_int_equal(node_heap_tune(), -ENOTSUP);
#else
	struct mallinfo2 a, b, c;
	uint8_t *below, *mapped;

	assert_int_equal(node_heap_tune(), 0);
	/* A block just under the mmap threshold comes from the heap, which grows by it plus
	 * the top pad (a fresh test process's heap is far smaller than the block). */
	a = mallinfo2();
	below = malloc(NODE_HEAP_MMAP - 64 * 1024);
	assert_non_null(below);
	memset(below, 1, NODE_HEAP_MMAP - 64 * 1024);
	b = mallinfo2();
	assert_int_equal(b.hblks, a.hblks);
	assert_true(b.arena >= a.arena + NODE_HEAP_TOP_PAD);
	assert_true(b.keepcost >= NODE_HEAP_TOP_PAD);
	/* Freed, it stays in the heap: the free top is below the trim threshold. */
	free(below);
	c = mallinfo2();
	assert_int_equal(c.arena, b.arena);
	assert_true(c.keepcost < NODE_HEAP_TRIM);
	/* A block over the threshold that the heap's free top cannot hold is mapped on its
	 * own (the heap does not grow for it), and unmapped when freed. */
	mapped = malloc(NODE_HEAP_TRIM + NODE_HEAP_TOP_PAD);
	assert_non_null(mapped);
	b = mallinfo2();
	assert_int_equal(b.hblks, a.hblks + 1);
	assert_int_equal(b.arena, c.arena);
	free(mapped);
	c = mallinfo2();
	assert_int_equal(c.hblks, a.hblks);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_settings), /* first: the heap still small */
		cmocka_unit_test(test_environment_wins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
