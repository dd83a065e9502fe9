/* SPDX-License-Identifier: MIT */
/* tests/unit/test_proto_parts.c — joining ROSTER_PART chunks (proto/parts.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/error.h"
#include "proto/parts.h"

static const uint8_t data[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};

static void test_in_order_joins(void **state)
{
	struct proto_parts pp = {0};
	const uint8_t *out = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(proto_parts_add(&pp, 0, 3, data, 4, 100, &out, &len), PROTO_PARTS_MORE);
	assert_int_equal(proto_parts_add(&pp, 1, 3, data + 4, 4, 100, &out, &len),
			 PROTO_PARTS_MORE);
	assert_int_equal(proto_parts_add(&pp, 2, 3, data + 8, 2, 100, &out, &len),
			 PROTO_PARTS_DONE);
	assert_int_equal(len, 10);
	assert_memory_equal(out, data, 10);
	proto_parts_reset(&pp);
	assert_null(pp.buf);
	/* A single part is a whole roster. */
	assert_int_equal(proto_parts_add(&pp, 0, 1, data, 10, 10, &out, &len), PROTO_PARTS_DONE);
	assert_int_equal(len, 10);
	proto_parts_reset(&pp);
}

static void test_out_of_order_drops(void **state)
{
	struct proto_parts pp = {0};
	const uint8_t *out;
	size_t len;

	(void)state;
	/* Not started with part 0. */
	assert_int_equal(proto_parts_add(&pp, 1, 3, data, 4, 100, &out, &len), -EPROTO);
	assert_null(pp.buf);
	/* A skipped part, a repeated part, a changed total: all drop what was joined. */
	assert_int_equal(proto_parts_add(&pp, 0, 3, data, 4, 100, &out, &len), PROTO_PARTS_MORE);
	assert_int_equal(proto_parts_add(&pp, 2, 3, data, 4, 100, &out, &len), -EPROTO);
	assert_int_equal(pp.len, 0);
	assert_int_equal(proto_parts_add(&pp, 0, 3, data, 4, 100, &out, &len), PROTO_PARTS_MORE);
	assert_int_equal(proto_parts_add(&pp, 0, 3, data, 4, 100, &out, &len), PROTO_PARTS_MORE);
	assert_int_equal(pp.len, 4); /* a new part 0 starts over */
	assert_int_equal(proto_parts_add(&pp, 1, 4, data, 4, 100, &out, &len), -EPROTO);
	/* An index at or past the total. */
	assert_int_equal(proto_parts_add(&pp, 0, 0, data, 4, 100, &out, &len), -EPROTO);
	proto_parts_reset(&pp);
}

static void test_size_limit(void **state)
{
	struct proto_parts pp = {0};
	const uint8_t *out;
	size_t len;

	(void)state;
	assert_int_equal(proto_parts_add(&pp, 0, 3, data, 6, 10, &out, &len), PROTO_PARTS_MORE);
	assert_int_equal(proto_parts_add(&pp, 1, 3, data, 6, 10, &out, &len), PROTO_E_TOO_LARGE);
	assert_null(pp.buf);
	assert_int_equal(proto_parts_add(&pp, 0, 2, data, 6, 10, &out, &len), PROTO_PARTS_MORE);
	assert_int_equal(proto_parts_add(&pp, 1, 2, data, 4, 10, &out, &len), PROTO_PARTS_DONE);
	assert_int_equal(len, 10);
	proto_parts_reset(&pp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order_joins),
		cmocka_unit_test(test_out_of_order_drops),
		cmocka_unit_test(test_size_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
