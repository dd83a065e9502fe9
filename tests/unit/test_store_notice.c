/* SPDX-License-Identifier: MIT */
/*
 * The notice environment (store/notice.h): messages are stored once (a second copy of an id
 * changes nothing and says so), outbox entries are put, found due and deleted in the same
 * transaction as messages, the handle key survives a reopen, and everything is durable; a
 * next hop's refusal replaces exactly its outbox entry and is listed with the notice.
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

#include "proto/error.h"
#include "proto/notice.h"
#include "store/notice.h"
#include "testutil.h"

struct seen {
	size_t msgs, outs;
	uint8_t flags[8], refused[8];
	size_t lens[8];
};

static int count_out(void *ctx, const struct store_notice_out *e)
{
	(void)e;
	((struct seen *)ctx)->outs++;
	return 0;
}

static int count_msg(void *ctx, const struct store_notice_msg *m)
{
	struct seen *s = ctx;

	if (s->msgs < 8) {
		s->flags[s->msgs] = m->flags;
		s->lens[s->msgs] = m->len;
		s->refused[s->msgs] = m->refused;
	}
	s->msgs++;
	return 0;
}

static void test_store_notice(void **state)
{
	char *dir = tu_tmpdir(), sub[4096];
	struct store_notices *s = NULL;
	struct store_notice_msg m[3];
	struct store_notice_out o[2], due[4];
	uint8_t key[32], flags = 0, *bytes = NULL;
	bool is_new[3];
	size_t n, len;
	uint64_t nm, no;
	struct seen seen = {0};

	(void)state;
	snprintf(sub, sizeof(sub), "%s/notices", dir);
	assert_int_equal(store_notices_open(&s, sub), 0);
	memcpy(key, store_notices_handle_key(s), 32);
	memset(m, 0, sizeof(m));
	memset(m[0].id, 1, 16);
	m[0].flags = STORE_NOTICE_OUT;
	m[0].time_ms = 1000;
	m[0].bytes = (const uint8_t *)"first";
	m[0].len = 5;
	memset(m[1].id, 2, 16);
	m[1].bytes = (const uint8_t *)"second";
	m[1].len = 6;
	m[2] = m[0]; /* the same id again in one batch: the first wins */
	m[2].bytes = (const uint8_t *)"other";
	memset(o, 0, sizeof(o));
	memset(o[0].id, 1, 16);
	memset(o[0].recipient, 0xaa, 32);
	o[0].next_attempt_ms = 500;
	memset(o[1].id, 2, 16);
	memset(o[1].recipient, 0xbb, 32);
	o[1].next_attempt_ms = 5000;
	struct store_notices_batch b = {
		.msgs = m, .n_msgs = 3, .is_new = is_new, .puts = o, .n_puts = 2};
	assert_int_equal(store_notices_apply(s, &b), 0);
	assert_true(is_new[0] && is_new[1] && !is_new[2]);
	assert_int_equal(store_notices_get(s, m[0].id, &flags, &bytes, &len), 0);
	assert_int_equal(flags, STORE_NOTICE_OUT);
	assert_int_equal(len, 5);
	assert_memory_equal(bytes, "first", 5);
	free(bytes);
	assert_int_equal(store_notices_due(s, 1000, due, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_memory_equal(due[0].recipient, o[0].recipient, 32);
	assert_int_equal(store_notices_due(s, 5000, due, 4, &n), 0);
	assert_int_equal(n, 2);

	/* Stored again: not new. The ACK of entry 0 deletes it; a reschedule replaces 1. */
	o[1].next_attempt_ms = 9000;
	o[1].attempts = 3;
	b = (struct store_notices_batch){.msgs = m,
					 .n_msgs = 1,
					 .is_new = is_new,
					 .puts = &o[1],
					 .n_puts = 1,
					 .dels = o,
					 .n_dels = 1};
	assert_int_equal(store_notices_apply(s, &b), 0);
	assert_false(is_new[0]);
	assert_int_equal(store_notices_due(s, 8999, due, 4, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_notices_due(s, 9000, due, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(due[0].attempts, 3);
	/* Deleting an entry that is not there is not an error. */
	b = (struct store_notices_batch){.dels = o, .n_dels = 1};
	assert_int_equal(store_notices_apply(s, &b), 0);
	/* An empty or oversized message is refused before anything is written. */
	m[1].len = 0;
	b = (struct store_notices_batch){.msgs = &m[1], .n_msgs = 1};
	assert_int_equal(store_notices_apply(s, &b), -EINVAL);
	m[1].len = PROTO_NOTICE_MAX_BYTES + 1;
	assert_int_equal(store_notices_apply(s, &b), -EINVAL);
	assert_int_equal(store_notices_get(s, (uint8_t[16]){9}, NULL, &bytes, &len),
			 STORE_E_NOT_FOUND);
	/* A local notice is replaced in place; watch_seq commits with it. */
	uint64_t seq = 99;
	assert_int_equal(store_notices_watch_seq(s, &seq), 0);
	assert_int_equal(seq, 0);
	memset(m[1].id, 7, 16);
	m[1].flags = STORE_NOTICE_LOCAL;
	m[1].bytes = (const uint8_t *)"{\"v\":1}";
	m[1].len = 7;
	b = (struct store_notices_batch){
		.msgs = &m[1], .n_msgs = 1, .is_new = is_new, .set_watch = true, .watch_seq = 41};
	assert_int_equal(store_notices_apply(s, &b), 0);
	m[1].bytes = (const uint8_t *)"{\"v\":22}";
	m[1].len = 8;
	b.watch_seq = 42;
	assert_int_equal(store_notices_apply(s, &b), 0);
	assert_true(is_new[0]);
	assert_int_equal(store_notices_get(s, m[1].id, &flags, &bytes, &len), 0);
	assert_int_equal(flags, STORE_NOTICE_LOCAL);
	assert_int_equal(len, 8);
	assert_memory_equal(bytes, "{\"v\":22}", 8);
	free(bytes);
	assert_int_equal(store_notices_watch_seq(s, &seq), 0);
	assert_int_equal(seq, 42);
	store_notices_close(s);

	/* Durable, and the same handle key after a reopen. */
	assert_int_equal(store_notices_open(&s, sub), 0);
	assert_memory_equal(store_notices_handle_key(s), key, 32);
	assert_int_equal(store_notices_count(s, &nm, &no), 0);
	assert_int_equal(nm, 3);
	assert_int_equal(no, 1);
	assert_int_equal(store_notices_iter(s, count_out, count_msg, &seen), 0);
	assert_int_equal(seen.outs, 1);
	assert_int_equal(seen.msgs, 3);
	assert_int_equal(seen.flags[0], STORE_NOTICE_OUT);
	assert_int_equal(seen.lens[1], 6);
	/* A notice re-signed for a new recipient replaces its message when asked to. */
	m[0].bytes = (const uint8_t *)"again";
	b = (struct store_notices_batch){.msgs = m, .n_msgs = 1, .is_new = is_new};
	assert_int_equal(store_notices_apply(s, &b), 0);
	assert_false(is_new[0]);
	m[0].replace = true;
	assert_int_equal(store_notices_apply(s, &b), 0);
	assert_true(is_new[0]);
	assert_int_equal(store_notices_get(s, m[0].id, &flags, &bytes, &len), 0);
	assert_int_equal(flags, STORE_NOTICE_OUT);
	assert_memory_equal(bytes, "again", 5);
	free(bytes);
	assert_int_equal(store_notices_count(s, &nm, &no), 0);
	assert_int_equal(nm, 3);
	assert_int_equal(no, 1);
	store_notices_close(s);
	tu_rmtree(dir);
	free(dir);
}

/* A refusal replaces the outbox entry of its notice and next hop, and only that. */
static void test_store_notice_refusal(void **state)
{
	char *dir = tu_tmpdir(), sub[4096];
	struct store_notices *s = NULL;
	struct store_notice_msg m[2];
	struct store_notice_out o;
	struct store_notice_refusal r[2];
	uint64_t nm, no;
	struct seen seen = {0};

	(void)state;
	snprintf(sub, sizeof(sub), "%s/notices", dir);
	assert_int_equal(store_notices_open(&s, sub), 0);
	memset(m, 0, sizeof(m));
	memset(m[0].id, 1, 16);
	m[0].flags = STORE_NOTICE_OUT;
	m[0].bytes = (const uint8_t *)"first";
	m[0].len = 5;
	memset(m[1].id, 2, 16);
	m[1].flags = STORE_NOTICE_OUT;
	m[1].bytes = (const uint8_t *)"second";
	m[1].len = 6;
	memset(&o, 0, sizeof(o));
	memset(o.id, 1, 16);
	memset(o.recipient, 0xaa, 32);
	struct store_notices_batch b = {.msgs = m, .n_msgs = 2, .puts = &o, .n_puts = 1};
	assert_int_equal(store_notices_apply(s, &b), 0);

	/* From a member that is not the next hop, or for a notice not waiting: nothing. */
	memset(r, 0, sizeof(r));
	memset(r[0].id, 1, 16);
	memset(r[0].recipient, 0xcc, 32);
	r[0].reason = PROTO_NOTICE_REFUSED_FORM;
	memset(r[1].id, 2, 16);
	memset(r[1].recipient, 0xaa, 32);
	r[1].reason = PROTO_NOTICE_REFUSED_FORM;
	b = (struct store_notices_batch){.refusals = r, .n_refusals = 2};
	assert_int_equal(store_notices_apply(s, &b), 0);
	assert_false(r[0].applied || r[1].applied);
	assert_int_equal(store_notices_count(s, &nm, &no), 0);
	assert_int_equal(no, 1);
	/* The next hop's refusal ends the entry and is kept with the notice. */
	memset(r[0].recipient, 0xaa, 32);
	r[0].time_ms = 1234;
	b = (struct store_notices_batch){.refusals = r, .n_refusals = 1};
	assert_int_equal(store_notices_apply(s, &b), 0);
	assert_true(r[0].applied);
	assert_int_equal(store_notices_count(s, &nm, &no), 0);
	assert_int_equal(nm, 2);
	assert_int_equal(no, 0);
	/* A second copy of the refusal changes nothing. */
	assert_int_equal(store_notices_apply(s, &b), 0);
	assert_false(r[0].applied);
	store_notices_close(s);

	assert_int_equal(store_notices_open(&s, sub), 0);
	assert_int_equal(store_notices_iter(s, count_out, count_msg, &seen), 0);
	assert_int_equal(seen.outs, 0);
	assert_int_equal(seen.msgs, 2);
	assert_int_equal(seen.refused[0], PROTO_NOTICE_REFUSED_FORM);
	assert_int_equal(seen.refused[1], 0);
	store_notices_close(s);
	tu_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_store_notice),
					   cmocka_unit_test(test_store_notice_refusal)};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
