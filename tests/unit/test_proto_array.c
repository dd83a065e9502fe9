/* SPDX-License-Identifier: MIT */
/* proto_array_grow(): doubling from 16, no change when there is room, overflow refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "proto/array.h"

static void test_doubles(void **state)
{
	uint32_t *a = NULL;
	size_t cap = 0;

	(void)state;
	assert_int_equal(proto_array_grow((void **)&a, &cap, 1, sizeof(*a)), 0);
	assert_non_null(a);
	assert_int_equal(cap, 16);
	a[15] = 7;
	assert_int_equal(proto_array_grow((void **)&a, &cap, 16, sizeof(*a)), 0);
	assert_int_equal(cap, 16);
	assert_int_equal(proto_array_grow((void **)&a, &cap, 100, sizeof(*a)), 0);
	assert_int_equal(cap, 128);
	assert_int_equal(a[15], 7); /* contents kept */
	free(a);
}

static void test_overflow_refused(void **state)
{
	uint64_t *a = NULL;
	size_t cap = 0;

	(void)state;
	assert_int_equal(proto_array_grow((void **)&a, &cap, 4, sizeof(*a)), 0);
	/* Elements times size past SIZE_MAX, and a count past the largest doubling. */
	assert_int_equal(proto_array_grow((void **)&a, &cap, SIZE_MAX / 4, sizeof(*a)), -ENOMEM);
	assert_int_equal(proto_array_grow((void **)&a, &cap, SIZE_MAX, 1), -ENOMEM);
	assert_int_equal(cap, 16); /* unchanged on error */
	assert_non_null(a);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doubles),
		cmocka_unit_test(test_overflow_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
