/* SPDX-License-Identifier: MIT */
/*
 * The notice environment (store/notice.h): messages are stored once (a second copy of an id
 * changes nothing and says so), outbox entries are put, found due and deleted in the same
 * transaction as messages, the handle key survives a reopen, and everything is durable; a
 * next hop's refusal replaces exactly its outbox entry and is listed with the notice; each
 * signer's total of received messages follows the messages in the same transaction.
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
#include "proto/crypto_test.h"
#include "proto/error.h"
#include "proto/notice.h"
#include "proto/report.h"
#include "store/notice.h"
#include "store/notice_test.h"
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

/* A notice signed by @sk's member (@from) as a peer would send it: malloc'd wire bytes. */
static uint8_t *signed_notice(const uint8_t from[32], const uint8_t sk[64], const char *form,
			      size_t *len)
{
	struct proto_notice n;
	uint8_t *buf = NULL;

	memset(&n, 0, sizeof(n));
	memset(n.community, 0x42, 32);
	proto_random(n.id, 16);
	memcpy(n.thread, n.id, 16);
	n.kind = PROTO_NOTICE_KIND_NOTICE;
	memcpy(n.from, from, 32);
	memset(n.to, 0x33, 32);
	n.tlp = PROTO_TLP_AMBER;
	n.created_ms = 1796000000000ull;
	n.form = form;
	assert_int_equal(proto_notice_sign(&n, sk, &buf, len), 0);
	return buf;
}

static uint64_t signer_bytes(struct store_notices *s, const uint8_t id[32])
{
	uint64_t v = 99;

	assert_int_equal(store_notices_signer_bytes(s, id, &v), 0);
	return v;
}

/*
 * signers: a received message (flags 0) adds its length to the member that signed it, once
 * per id; ours, local ones and bytes that are no notice count for nobody; a message
 * replaced takes its length off; the totals are durable, and a schema 1 store (none) gets
 * them built at its next open. (Old code: no signers at all.)
 */
static void test_store_notice_signers(void **state)
{
	char *dir = tu_tmpdir(), sub[4096];
	struct store_notices *s = NULL;
	uint8_t a_pk[32], a_sk[64], b_pk[32], b_sk[64], *w[3];
	size_t wl[3];
	struct store_notice_msg m[6];
	bool is_new[6];

	(void)state;
	snprintf(sub, sizeof(sub), "%s/notices", dir);
	assert_int_equal(store_notices_open(&s, sub), 0);
	proto_crypto_raw_ed25519_keypair(a_pk, a_sk);
	proto_crypto_raw_ed25519_keypair(b_pk, b_sk);
	w[0] = signed_notice(a_pk, a_sk, "{\"form\":\"one\"}", &wl[0]);
	w[1] = signed_notice(a_pk, a_sk, "{\"form\":\"the second one\"}", &wl[1]);
	w[2] = signed_notice(b_pk, b_sk, "{\"form\":\"b's\"}", &wl[2]);
	assert_true(wl[0] != wl[1]);
	memset(m, 0, sizeof(m));
	for (int i = 0; i < 3; i++) {
		m[i].id[0] = (uint8_t)(i + 1);
		m[i].bytes = w[i];
		m[i].len = wl[i];
	}
	m[3] = m[0]; /* the same id again: stored once, counted once */
	m[4] = m[1]; /* A's bytes under another id, as ours: counted for nobody */
	m[4].id[0] = 5;
	m[4].flags = STORE_NOTICE_OUT;
	m[5].id[0] = 6; /* no notice (never stored by the node; a store keeps what it gets) */
	m[5].bytes = (const uint8_t *)"junk";
	m[5].len = 4;
	struct store_notices_batch b = {.msgs = m, .n_msgs = 6, .is_new = is_new};
	assert_int_equal(store_notices_apply(s, &b), 0);
	assert_int_equal(signer_bytes(s, a_pk), wl[0] + wl[1]);
	assert_int_equal(signer_bytes(s, b_pk), wl[2]);
	assert_int_equal(signer_bytes(s, (uint8_t[32]){0}), 0);
	/* A copy already held adds nothing. */
	b = (struct store_notices_batch){.msgs = &m[1], .n_msgs = 1, .is_new = is_new};
	assert_int_equal(store_notices_apply(s, &b), 0);
	assert_false(is_new[0]);
	assert_int_equal(signer_bytes(s, a_pk), wl[0] + wl[1]);
	store_notices_close(s);

	/* Durable; a message replaced by one of ours leaves its signer's total. */
	assert_int_equal(store_notices_open(&s, sub), 0);
	assert_int_equal(signer_bytes(s, a_pk), wl[0] + wl[1]);
	m[0].flags = STORE_NOTICE_OUT;
	m[0].replace = true;
	b = (struct store_notices_batch){.msgs = m, .n_msgs = 1, .is_new = is_new};
	assert_int_equal(store_notices_apply(s, &b), 0);
	assert_true(is_new[0]);
	assert_int_equal(signer_bytes(s, a_pk), wl[1]);
	/* And one replaced by a received one moves to the new signer. */
	m[2].bytes = w[1];
	m[2].len = wl[1];
	m[2].replace = true;
	b = (struct store_notices_batch){.msgs = &m[2], .n_msgs = 1, .is_new = is_new};
	assert_int_equal(store_notices_apply(s, &b), 0);
	assert_int_equal(signer_bytes(s, a_pk), 2 * wl[1]);
	assert_int_equal(signer_bytes(s, b_pk), 0);

	/* A store an older chatham wrote (schema 1: no signers) gets them at its next open. */
	assert_int_equal(store_notices_test_schema1(s), 0);
	store_notices_close(s);
	assert_int_equal(store_notices_open(&s, sub), 0);
	assert_int_equal(signer_bytes(s, a_pk), 2 * wl[1]);
	assert_int_equal(signer_bytes(s, b_pk), 0);
	store_notices_close(s);
	assert_int_equal(store_notices_open(&s, sub), 0); /* and only once: the same */
	assert_int_equal(signer_bytes(s, a_pk), 2 * wl[1]);
	store_notices_close(s);
	for (int i = 0; i < 3; i++)
		free(w[i]);
	tu_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_store_notice),
					   cmocka_unit_test(test_store_notice_refusal),
					   cmocka_unit_test(test_store_notice_signers)};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
