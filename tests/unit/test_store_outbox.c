/* SPDX-License-Identifier: MIT */
/*
 * store_outbox_drop(): the copies for recipients the callback does not keep go, in one
 * transaction, and are counted; the others stay due; the reports themselves stay.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/crypto.h"
#include "proto/error.h"
#include "store/store.h"
#include "testutil.h"

#define T0 1700000000000ull

static bool keep_not_0x44(void *ctx, const uint8_t recipient[32])
{
	(*(int *)ctx)++;
	return recipient[0] != 0x44;
}

static void test_drop(void **state)
{
	char *dir = tu_tmpdir(), value[64], bytes[64];
	struct store_config cfg = {.dir = dir};
	struct store_outbox_entry due[16];
	struct store *s = NULL;
	struct store_stat st;
	uint8_t to[3 * 32];
	size_t n = 0, dropped = 99;
	int calls = 0;

	(void)state;
	assert_int_equal(store_open(&s, &cfg), 0);
	memset(to, 0x11, 32);
	memset(to + 32, 0x44, 32);
	memset(to + 64, 0x22, 32);
	for (unsigned i = 0; i < 4; i++) {
		struct proto_report r;
		struct store_item it;
		const void *parts[1];
		size_t lens[1];

		snprintf(value, sizeof(value), "amber%u.example.org", i);
		memset(&r, 0, sizeof(r));
		r.kind = PROTO_KIND_INDICATOR;
		r.tlp = PROTO_TLP_AMBER;
		r.confidence = 50;
		r.created_ms = T0 + i;
		r.ind_type = PROTO_IND_DOMAIN;
		r.ind_value.ptr = value;
		r.ind_value.len = strlen(value);
		r.prov = PROTO_PROV_ATTRIBUTED;
		memset(r.signer, 7, 32);
		memset(&it, 0, sizeof(it));
		it.len = (size_t)snprintf(bytes, sizeof(bytes), "amber report %u", i);
		it.bytes = (const uint8_t *)bytes;
		parts[0] = bytes;
		lens[0] = it.len;
		proto_hash(it.report_id, 32, parts, lens, 1);
		it.r = &r;
		it.outbox_to = to;
		it.n_outbox = 3;
		assert_int_equal(store_ingest(s, &it, 1, T0), 0);
		assert_int_equal(it.result, STORE_NEW);
	}
	assert_int_equal(store_outbox_due(s, NULL, UINT64_MAX, due, 16, &n), 0);
	assert_int_equal(n, 12);

	assert_int_equal(store_outbox_drop(s, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(store_outbox_drop(s, keep_not_0x44, &calls, &dropped), 0);
	assert_int_equal(dropped, 4);
	assert_int_equal(calls, 12);
	assert_int_equal(store_outbox_due(s, NULL, UINT64_MAX, due, 16, &n), 0);
	assert_int_equal(n, 8);
	for (size_t i = 0; i < n; i++)
		assert_int_not_equal(due[i].recipient[0], 0x44);
	assert_int_equal(store_stat(s, &st), 0);
	assert_int_equal(st.reports, 4);
	assert_int_equal(st.outbox, 8);

	/* Nothing left to drop: zero, and still every other copy. */
	assert_int_equal(store_outbox_drop(s, keep_not_0x44, &calls, &dropped), 0);
	assert_int_equal(dropped, 0);
	store_close(s);
	tu_rmtree(dir);
	free(dir);
}

static int setup(void **state)
{
	(void)state;
	return proto_crypto_init();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drop),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
