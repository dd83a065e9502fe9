/* SPDX-License-Identifier: MIT */
/*
 * store_outbox_sweep(): the copies for recipients the callback drops go, those it moves are
 * re-addressed (due at once, an entry already there kept), in one transaction, and both are
 * counted; the others stay as they were; the reports themselves stay.
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

/* 0x44 left the community; 0x22 replaced its keys by 0x33; the rest stay. */
static enum store_outbox_fate fate(void *ctx, const uint8_t recipient[32], uint8_t to[32])
{
	(*(int *)ctx)++;
	if (recipient[0] == 0x44)
		return STORE_OUTBOX_DROP;
	if (recipient[0] != 0x22)
		return STORE_OUTBOX_KEEP;
	memset(to, 0x33, 32);
	return STORE_OUTBOX_MOVE;
}

static size_t count_to(const struct store_outbox_entry *e, size_t n, uint8_t first)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += e[i].recipient[0] == first;
	return k;
}

static void test_sweep(void **state)
{
	char *dir = tu_tmpdir(), value[64], bytes[64];
	struct store_config cfg = {.dir = dir};
	struct store_outbox_entry due[16];
	struct store *s = NULL;
	struct store_stat st;
	uint8_t to[3 * 32];
	size_t n = 0, dropped = 99, moved = 99;
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

	/* One copy for the successor is there already (with its own schedule): it stays. */
	memset(due[0].recipient, 0x33, 32);
	due[0].attempts = 5;
	due[0].next_attempt_ms = UINT64_MAX - 1;
	assert_int_equal(store_outbox_put(s, due, 1), 0);

	assert_int_equal(store_outbox_sweep(s, NULL, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(store_outbox_sweep(s, fate, &calls, &dropped, &moved), 0);
	assert_int_equal(dropped, 4);
	assert_int_equal(moved, 4);
	assert_int_equal(calls, 13);
	assert_int_equal(store_outbox_due(s, NULL, UINT64_MAX - 2, due, 16, &n), 0);
	assert_int_equal(n, 7); /* the successor's own entry is not due yet */
	assert_int_equal(count_to(due, n, 0x11), 4);
	assert_int_equal(count_to(due, n, 0x33), 3);
	assert_int_equal(count_to(due, n, 0x22) + count_to(due, n, 0x44), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(due[i].attempts, 0);
	assert_int_equal(store_stat(s, &st), 0);
	assert_int_equal(st.reports, 4);
	assert_int_equal(st.outbox, 8);

	/* Nothing left to drop or move: zero, and still every other copy. */
	calls = 0;
	assert_int_equal(store_outbox_sweep(s, fate, &calls, &dropped, &moved), 0);
	assert_int_equal(dropped, 0);
	assert_int_equal(moved, 0);
	assert_int_equal(calls, 8);
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
		cmocka_unit_test(test_sweep),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
