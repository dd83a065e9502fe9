/* SPDX-License-Identifier: MIT */
/* Canonical msgpack: the writer's shortest forms and every rejection of the strict reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/error.h"
#include "proto/mp.h"

static void test_uint_shortest(void **state)
{
	static const struct {
		uint64_t v;
		size_t len;
	} cases[] = {
		{0, 1},		 {127, 1},	     {128, 2},
		{255, 2},	 {256, 3},	     {65535, 3},
		{65536, 5},	 {0xffffffffull, 5}, {0x100000000ull, 9},
		{UINT64_MAX, 9},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct proto_mp_writer w;
		struct proto_mp_reader r;
		uint8_t *buf;
		size_t len;
		uint64_t v;

		proto_mp_writer_init(&w);
		proto_mp_write_uint(&w, cases[i].v);
		assert_int_equal(proto_mp_writer_finish(&w, &buf, &len), 0);
		assert_int_equal(len, cases[i].len);
		proto_mp_reader_init(&r, buf, len);
		assert_int_equal(proto_mp_read_uint(&r, &v), 0);
		assert_true(v == cases[i].v);
		assert_int_equal(proto_mp_reader_finish(&r), 0);
		free(buf);
	}
}

static int read_uint_bytes(const uint8_t *b, size_t n)
{
	struct proto_mp_reader r;
	uint64_t v;

	proto_mp_reader_init(&r, b, n);
	return proto_mp_read_uint(&r, &v);
}

static void test_uint_rejects(void **state)
{
	(void)state;
	assert_int_equal(read_uint_bytes((const uint8_t[]){0xcc, 0x05}, 2), PROTO_E_NONMINIMAL);
	assert_int_equal(read_uint_bytes((const uint8_t[]){0xcd, 0x00, 0xff}, 3),
			 PROTO_E_NONMINIMAL);
	assert_int_equal(read_uint_bytes((const uint8_t[]){0xce, 0, 0, 0xff, 0xff}, 5),
			 PROTO_E_NONMINIMAL);
	assert_int_equal(
		read_uint_bytes((const uint8_t[]){0xcf, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, 9),
		PROTO_E_NONMINIMAL);
	assert_int_equal(read_uint_bytes((const uint8_t[]){0xcb, 0, 0, 0, 0, 0, 0, 0, 0}, 9),
			 PROTO_E_FLOAT);
	assert_int_equal(read_uint_bytes((const uint8_t[]){0xca, 0, 0, 0, 0}, 5), PROTO_E_FLOAT);
	assert_int_equal(read_uint_bytes((const uint8_t[]){0xff}, 1), PROTO_E_TYPE); /* -1 */
	assert_int_equal(read_uint_bytes((const uint8_t[]){0xd0, 0x01}, 2), PROTO_E_TYPE);
	assert_int_equal(read_uint_bytes((const uint8_t[]){0xc0}, 1), PROTO_E_TYPE); /* nil */
	assert_int_equal(read_uint_bytes((const uint8_t[]){0xc1}, 1), PROTO_E_RESERVED);
	assert_int_equal(read_uint_bytes((const uint8_t[]){0xd4, 1, 1}, 3), PROTO_E_RESERVED);
	assert_int_equal(read_uint_bytes((const uint8_t[]){0xcd, 0x01}, 2), PROTO_E_TRUNCATED);
	assert_int_equal(read_uint_bytes((const uint8_t[]){0}, 0), PROTO_E_TRUNCATED);
}

static void test_str_bin(void **state)
{
	struct proto_mp_reader r;
	const char *s;
	const uint8_t *p;
	size_t n;
	uint8_t buf[40];

	(void)state;
	/* str8 holding 3 bytes: fixstr would do. */
	proto_mp_reader_init(&r, (const uint8_t[]){0xd9, 3, 'a', 'b', 'c'}, 5);
	assert_int_equal(proto_mp_read_str(&r, 10, &s, &n), PROTO_E_NONMINIMAL);
	/* bin16 holding 3 bytes: bin8 would do. */
	proto_mp_reader_init(&r, (const uint8_t[]){0xc5, 0, 3, 1, 2, 3}, 6);
	assert_int_equal(proto_mp_read_bin(&r, 10, &p, &n), PROTO_E_NONMINIMAL);
	/* bin where str is expected and the other way round. */
	proto_mp_reader_init(&r, (const uint8_t[]){0xc4, 1, 'a'}, 3);
	assert_int_equal(proto_mp_read_str(&r, 10, &s, &n), PROTO_E_TYPE);
	proto_mp_reader_init(&r, (const uint8_t[]){0xa1, 'a'}, 2);
	assert_int_equal(proto_mp_read_bin(&r, 10, &p, &n), PROTO_E_TYPE);
	/* Invalid UTF-8: overlong, surrogate, lone continuation. */
	proto_mp_reader_init(&r, (const uint8_t[]){0xa2, 0xc0, 0xaf}, 3);
	assert_int_equal(proto_mp_read_str(&r, 10, &s, &n), PROTO_E_UTF8);
	proto_mp_reader_init(&r, (const uint8_t[]){0xa3, 0xed, 0xa0, 0x80}, 4);
	assert_int_equal(proto_mp_read_str(&r, 10, &s, &n), PROTO_E_UTF8);
	proto_mp_reader_init(&r, (const uint8_t[]){0xa1, 0x80}, 2);
	assert_int_equal(proto_mp_read_str(&r, 10, &s, &n), PROTO_E_UTF8);
	/* Valid multi-byte UTF-8. */
	proto_mp_reader_init(&r, (const uint8_t[]){0xa4, 0xf0, 0x9f, 0x98, 0x80}, 5);
	assert_int_equal(proto_mp_read_str(&r, 10, &s, &n), 0);
	assert_int_equal(n, 4);
	/* Over the limit, and a length beyond the input. */
	proto_mp_reader_init(&r, (const uint8_t[]){0xa3, 'a', 'b', 'c'}, 4);
	assert_int_equal(proto_mp_read_str(&r, 2, &s, &n), PROTO_E_TOO_LARGE);
	proto_mp_reader_init(&r, (const uint8_t[]){0xa5, 'a'}, 2);
	assert_int_equal(proto_mp_read_str(&r, 10, &s, &n), PROTO_E_TRUNCATED);
	/* Fixed-size bin. */
	proto_mp_reader_init(&r, (const uint8_t[]){0xc4, 2, 1, 2}, 4);
	assert_int_equal(proto_mp_read_bin_fixed(&r, buf, 3), PROTO_E_RANGE);
}

static void test_map_keys(void **state)
{
	struct proto_mp_reader r;
	struct proto_mp_map m;
	uint64_t key, v;

	(void)state;
	/* {1: 0, 1: 0} duplicate */
	proto_mp_reader_init(&r, (const uint8_t[]){0x82, 1, 0, 1, 0}, 5);
	assert_int_equal(proto_mp_map_begin(&r, &m, 4), 0);
	assert_int_equal(proto_mp_map_next(&r, &m, &key), 1);
	assert_int_equal(proto_mp_read_uint(&r, &v), 0);
	assert_int_equal(proto_mp_map_next(&r, &m, &key), PROTO_E_KEY_DUP);
	/* {2: 0, 1: 0} unsorted */
	proto_mp_reader_init(&r, (const uint8_t[]){0x82, 2, 0, 1, 0}, 5);
	assert_int_equal(proto_mp_map_begin(&r, &m, 4), 0);
	assert_int_equal(proto_mp_map_next(&r, &m, &key), 1);
	assert_int_equal(proto_mp_read_uint(&r, &v), 0);
	assert_int_equal(proto_mp_map_next(&r, &m, &key), PROTO_E_KEY_ORDER);
	/* map16 with 2 entries is non-minimal; too many entries; trailing bytes */
	proto_mp_reader_init(&r, (const uint8_t[]){0xde, 0, 2, 1, 0, 2, 0}, 7);
	assert_int_equal(proto_mp_map_begin(&r, &m, 4), PROTO_E_NONMINIMAL);
	proto_mp_reader_init(&r, (const uint8_t[]){0x83, 1, 0, 2, 0, 3, 0}, 7);
	assert_int_equal(proto_mp_map_begin(&r, &m, 2), PROTO_E_TOO_LARGE);
	proto_mp_reader_init(&r, (const uint8_t[]){0x81, 1, 0, 0}, 4);
	assert_int_equal(proto_mp_map_begin(&r, &m, 4), 0);
	assert_int_equal(proto_mp_map_next(&r, &m, &key), 1);
	assert_int_equal(proto_mp_read_uint(&r, &v), 0);
	assert_int_equal(proto_mp_map_next(&r, &m, &key), 0);
	assert_int_equal(proto_mp_reader_finish(&r), PROTO_E_TRAILING);
	/* an array claiming more elements than bytes left */
	size_t n;
	proto_mp_reader_init(&r, (const uint8_t[]){0xdd, 0, 1, 0, 0}, 5);
	assert_int_equal(proto_mp_read_array(&r, 1u << 20, &n), PROTO_E_TRUNCATED);
}

static void test_writer_containers(void **state)
{
	struct proto_mp_writer w;
	uint8_t *buf;
	size_t len;
	static const uint8_t want[] = {0x82, 0x00, 0xa2, 'h', 'i', 0x01, 0xc4, 0x01, 0xff};

	(void)state;
	proto_mp_writer_init(&w);
	proto_mp_write_map(&w, 2);
	proto_mp_write_uint(&w, 0);
	proto_mp_write_cstr(&w, "hi");
	proto_mp_write_uint(&w, 1);
	proto_mp_write_bin(&w, (const uint8_t[]){0xff}, 1);
	assert_int_equal(proto_mp_writer_finish(&w, &buf, &len), 0);
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(len, sizeof(want));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uint_shortest),	  cmocka_unit_test(test_uint_rejects),
		cmocka_unit_test(test_str_bin),		  cmocka_unit_test(test_map_keys),
		cmocka_unit_test(test_writer_containers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
