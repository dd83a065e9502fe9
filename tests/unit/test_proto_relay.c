/* SPDX-License-Identifier: MIT */
/* tests/unit/test_proto_relay.c — the forwarding rule (proto/relay.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proto/relay.h"

#define NOW 1700000000000ull

static enum proto_relay decide(bool stored, bool fresh_store, bool retry, uint64_t age_ms)
{
	struct proto_relay_outcome o = {stored, fresh_store, retry, NOW - age_ms};

	return proto_relay_decide(&o, NOW);
}

static void test_rule(void **state)
{
	(void)state;
	/* New to the store: forwarded, however old. */
	assert_int_equal(decide(true, true, false, 10 * PROTO_RELAY_FRESH_MS), PROTO_RELAY_FORWARD);
	/* Held before: forwarded only while fresh (the edge included). */
	assert_int_equal(decide(true, false, false, PROTO_RELAY_FRESH_MS), PROTO_RELAY_FORWARD);
	assert_int_equal(decide(true, false, false, PROTO_RELAY_FRESH_MS + 1), PROTO_RELAY_DISCARD);
	/* Refused for a passing cause: forgotten, so a later copy may pass. */
	assert_int_equal(decide(false, false, true, 0), PROTO_RELAY_FORGET);
	/* Refused for good (bad signature, unknown signer...): discarded. */
	assert_int_equal(decide(false, false, false, 0), PROTO_RELAY_DISCARD);
	/* Held and just created (stored by catch-up or the stem moments ago): forwarded. */
	assert_int_equal(decide(true, false, false, 0), PROTO_RELAY_FORWARD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
