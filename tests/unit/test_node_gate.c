/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of node/overlay/gate: arrival order globally and per source, IPv6 /64 sources, table
 * growth past many sources, removal in any order, and an empty table freed at deinit.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "node/overlay/gate.h"
#include "proto/crypto.h"
#include "testutil.h"

static struct sockaddr_storage v4(uint32_t host)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	in->sin_family = AF_INET;
	in->sin_addr.s_addr = htonl(host);
	in->sin_port = htons((uint16_t)host); /* ports never matter */
	return ss;
}

static struct sockaddr_storage v6(const char *text)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	in6->sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
	return ss;
}

static void test_order_and_sources(void **state)
{
	struct node_gate g = {0};
	struct node_gate_entry e[6] = {0};
	struct sockaddr_storage a = v4(0x7f000001), b = v4(0x7f000002);

	assert_null(node_gate_oldest(&g));
	assert_int_equal(node_gate_add(&g, &e[0], &a), 0);
	assert_int_equal(node_gate_add(&g, &e[1], &b), 0);
	assert_int_equal(node_gate_add(&g, &e[2], &a), 0);
	assert_int_equal(node_gate_add(&g, &e[3], &b), 0);
	assert_int_equal(g.n, 4);
	assert_ptr_equal(node_gate_oldest(&g), &e[0]);
	assert_int_equal(node_gate_source_count(&e[2]), 2);
	assert_ptr_equal(node_gate_source_oldest(&e[2]), &e[0]);
	assert_ptr_equal(node_gate_source_oldest(&e[3]), &e[1]);
	/* Removal from the middle and the front keeps both orders. */
	node_gate_remove(&g, &e[0]);
	assert_false(node_gate_in(&e[0]));
	node_gate_remove(&g, &e[0]); /* no-op */
	assert_ptr_equal(node_gate_oldest(&g), &e[1]);
	assert_ptr_equal(node_gate_source_oldest(&e[2]), &e[2]);
	assert_int_equal(node_gate_source_count(&e[2]), 1);
	node_gate_remove(&g, &e[2]);
	assert_int_equal(node_gate_source_count(&e[2]), 0);
	assert_null(node_gate_source_oldest(&e[2]));
	assert_int_equal(g.n_srcs, 1);
	/* IPv6: one /64 is one source, another /64 another. */
	struct sockaddr_storage x = v6("2001:db8:1:2::1"), y = v6("2001:db8:1:2:ffff::9"),
				z = v6("2001:db8:1:3::1");

	assert_int_equal(node_gate_add(&g, &e[0], &x), 0);
	assert_int_equal(node_gate_add(&g, &e[2], &y), 0);
	assert_int_equal(node_gate_add(&g, &e[4], &z), 0);
	assert_int_equal(node_gate_source_count(&e[2]), 2);
	assert_int_equal(node_gate_source_count(&e[4]), 1);
	for (int i = 0; i < 5; i++)
		node_gate_remove(&g, &e[i]);
	assert_int_equal(g.n, 0);
	assert_int_equal(g.n_srcs, 0);
	assert_null(node_gate_oldest(&g));
	node_gate_deinit(&g);
	assert_null(g.buckets);
}

/* Thousands of sources grow the table; every entry is still found under its own source. */
static void test_many_sources(void **state)
{
	enum { N = 5000 };
	static struct node_gate_entry e[2 * N];
	struct node_gate g = {0};

	memset(e, 0, sizeof(e));
	for (uint32_t i = 0; i < 2 * N; i++) {
		struct sockaddr_storage ss = v4(0x7f010000 + i % N);

		assert_int_equal(node_gate_add(&g, &e[i], &ss), 0);
	}
	assert_int_equal(g.n_srcs, N);
	assert_true(g.n_buckets >= N);
	for (uint32_t i = 0; i < N; i++) {
		assert_int_equal(node_gate_source_count(&e[i]), 2);
		assert_ptr_equal(node_gate_source_oldest(&e[i + N]), &e[i]);
	}
	for (uint32_t i = 2 * N; i-- > 0;)
		node_gate_remove(&g, &e[i]);
	assert_int_equal(g.n_srcs, 0);
	node_gate_deinit(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_sources),
		cmocka_unit_test(test_many_sources),
	};

	assert_int_equal(proto_crypto_init(), 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
