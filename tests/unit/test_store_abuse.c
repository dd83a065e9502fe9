/* SPDX-License-Identifier: MIT */
/*
 * store/abuse.h: members' abuse records are written in one transaction, listed in member id
 * order, replaced, deleted by a record with no offences, and still there after the store is
 * closed and opened again; the store's other meta keys are not mistaken for records.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/abuse.h"
#include "store/store.h"
#include "testutil.h"

static struct store_abuse_record rec(uint8_t member, uint32_t offences, uint64_t until)
{
	struct store_abuse_record r = {
		.offences = offences, .refused_until_ms = until, .forgiven_ms = until / 2};

	memset(r.member, member, 32);
	return r;
}

static void same(const struct store_abuse_record *a, const struct store_abuse_record *b)
{
	assert_memory_equal(a->member, b->member, 32);
	assert_int_equal(a->offences, b->offences);
	assert_int_equal(a->refused_until_ms, b->refused_until_ms);
	assert_int_equal(a->forgiven_ms, b->forgiven_ms);
}

static void test_put_list_reopen(void **state)
{
	char *dir = tu_tmpdir();
	struct store_config cfg = {.dir = dir};
	struct store_abuse_record in[3] = {rec(0x33, 1, 1000), rec(0x11, 7, UINT64_MAX - 1),
					   rec(0x22, 2, 5000)};
	struct store_abuse_record *out = NULL, upd[2];
	struct store *s = NULL;
	size_t n = 99;

	(void)state;
	assert_int_equal(store_open(&s, &cfg), 0);
	assert_int_equal(store_abuse_list(s, &out, &n), 0);
	assert_null(out);
	assert_int_equal(n, 0);
	assert_int_equal(store_abuse_put(s, in, 3), 0);
	assert_int_equal(store_abuse_list(s, &out, &n), 0);
	assert_int_equal(n, 3);
	/* Member id order, every field as written. */
	same(&out[0], &in[1]);
	same(&out[1], &in[2]);
	same(&out[2], &in[0]);
	free(out);
	/* A newer record replaces the member's; one with no offences deletes it. */
	upd[0] = rec(0x22, 3, 9000);
	upd[1] = rec(0x33, 0, 0);
	assert_int_equal(store_abuse_put(s, upd, 2), 0);
	store_close(s);
	s = NULL;
	assert_int_equal(store_open(&s, &cfg), 0);
	assert_int_equal(store_abuse_list(s, &out, &n), 0);
	assert_int_equal(n, 2);
	same(&out[0], &in[1]);
	same(&out[1], &upd[0]);
	free(out);
	/* Deleting what is not there is fine; nothing at all is a no-op. */
	assert_int_equal(store_abuse_put(s, upd + 1, 1), 0);
	assert_int_equal(store_abuse_put(s, NULL, 0), 0);
	store_close(s);
	tu_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_list_reopen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
