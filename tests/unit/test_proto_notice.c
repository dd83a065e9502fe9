/* SPDX-License-Identifier: MIT */
/*
 * Notices between teams: round trips of notices and status replies, the rules both the
 * signer and the decoder apply, every byte covered by the signature or the decoder, reply
 * handles only the coordinator can open, and the whole notifier → coordinator → recipient
 * → coordinator → notifier exchange in which the recipient never sees the notifier's id.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/crypto.h"
#include "proto/crypto_test.h"
#include "proto/error.h"
#include "proto/notice.h"
#include "proto/report.h"

struct team {
	uint8_t pk[32], sk[64];
};

static struct team N, C, R;
static uint8_t community[32];

static const char *FORM = "{\"form\":\"incident\",\"purpose\":\"contact-related-site\","
			  "\"what_happened\":\"不正アクセスを確認\",\"affected\":{\"host\":"
			  "\"198.51.100.7\",\"occurred_at\":\"2026-12-06T09:30:00+09:00\"}}";

static int setup(void **state)
{
	(void)state;
	proto_crypto_raw_ed25519_keypair(N.pk, N.sk);
	proto_crypto_raw_ed25519_keypair(C.pk, C.sk);
	proto_crypto_raw_ed25519_keypair(R.pk, R.sk);
	memset(community, 0x42, sizeof community);
	return 0;
}

static struct proto_notice notice(const struct team *from, const struct team *to)
{
	struct proto_notice n;

	memset(&n, 0, sizeof n);
	memcpy(n.community, community, 32);
	proto_random(n.id, 16);
	memcpy(n.thread, n.id, 16);
	n.kind = PROTO_NOTICE_KIND_NOTICE;
	memcpy(n.from, from->pk, 32);
	memcpy(n.to, to->pk, 32);
	n.tlp = PROTO_TLP_AMBER;
	n.created_ms = 1796000000000ull;
	n.form = FORM;
	return n;
}

static void test_round_trip(void **state)
{
	struct proto_notice n = notice(&N, &R), d;
	uint8_t *buf, *again;
	size_t len, alen;

	(void)state;
	assert_int_equal(proto_notice_sign(&n, N.sk, &buf, &len), 0);
	assert_int_equal(proto_notice_decode(buf, len, &d), 0);
	assert_memory_equal(d.id, n.id, 16);
	assert_memory_equal(d.from, N.pk, 32);
	assert_memory_equal(d.to, R.pk, 32);
	assert_int_equal(d.tlp, PROTO_TLP_AMBER);
	assert_int_equal(d.form_len, strlen(FORM));
	assert_memory_equal(d.form, FORM, d.form_len);
	assert_false(d.has_handle);
	/* Ed25519 is deterministic: the same notice signs to the same bytes. */
	assert_int_equal(proto_notice_sign(&n, N.sk, &again, &alen), 0);
	assert_int_equal(alen, len);
	assert_memory_equal(again, buf, len);
	free(again);
	/* Every byte is covered by the decoder or the signature. */
	for (size_t i = 0; i < len; i++) {
		buf[i] ^= 0x01;
		assert_int_not_equal(proto_notice_decode(buf, len, &d), 0);
		buf[i] ^= 0x01;
	}
	for (size_t cut = 0; cut < len; cut += 7)
		assert_int_not_equal(proto_notice_decode(buf, cut, &d), 0);
	/* A stored message's signer is read without the signature check, the rules kept. */
	buf[len - 1] ^= 0x01;
	assert_int_equal(proto_notice_decode(buf, len, &d), PROTO_E_REPORT_SIG);
	assert_int_equal(proto_notice_decode_stored(buf, len, &d), 0);
	assert_memory_equal(d.from, N.pk, 32);
	assert_int_not_equal(proto_notice_decode_stored(buf, len - 1, &d), 0);
	free(buf);

	struct proto_notice s = notice(&R, &N);

	s.kind = PROTO_NOTICE_KIND_STATUS;
	s.form = NULL;
	s.status = PROTO_NOTICE_INVESTIGATING;
	s.comment = "調査中です";
	assert_int_equal(proto_notice_sign(&s, R.sk, &buf, &len), 0);
	assert_int_equal(proto_notice_decode(buf, len, &d), 0);
	assert_int_equal(d.kind, PROTO_NOTICE_KIND_STATUS);
	assert_int_equal(d.status, PROTO_NOTICE_INVESTIGATING);
	assert_int_equal(d.comment_len, strlen("調査中です"));
	assert_null(d.form);
	free(buf);
}

static void test_rules(void **state)
{
	struct proto_notice n;
	uint8_t *buf;
	size_t len;

	(void)state;
	n = notice(&N, &R);
	n.tlp = PROTO_TLP_GREEN;
	assert_int_equal(proto_notice_sign(&n, N.sk, &buf, &len), PROTO_E_REPORT_TLP);
	n.tlp = PROTO_TLP_CLEAR;
	assert_int_equal(proto_notice_sign(&n, N.sk, &buf, &len), PROTO_E_REPORT_TLP);
	n = notice(&N, &R);
	n.form = NULL;
	assert_int_equal(proto_notice_sign(&n, N.sk, &buf, &len), PROTO_E_KEY_MISSING);
	n.form = "";
	assert_int_equal(proto_notice_sign(&n, N.sk, &buf, &len), PROTO_E_EMPTY);
	n = notice(&N, &R);
	n.created_ms = PROTO_REPORT_TIME_MAX_MS + 1;
	assert_int_equal(proto_notice_sign(&n, N.sk, &buf, &len), PROTO_E_REPORT_TIME);
	n = notice(&N, &N);
	assert_int_equal(proto_notice_sign(&n, N.sk, &buf, &len), PROTO_E_RANGE);
	n = notice(&N, &C);
	n.has_deliver_to = true;
	memcpy(n.deliver_to, N.pk, 32);
	assert_int_equal(proto_notice_sign(&n, N.sk, &buf, &len), PROTO_E_RANGE);
	n = notice(&N, &R);
	assert_int_equal(proto_notice_sign(&n, R.sk, &buf, &len), -EINVAL); /* not from's key */
	n.kind = PROTO_NOTICE_KIND_STATUS;
	n.status = 9;
	n.form = NULL;
	assert_int_equal(proto_notice_sign(&n, N.sk, &buf, &len), PROTO_E_RANGE);
	n.status = PROTO_NOTICE_RESOLVED;
	n.comment = "";
	assert_int_equal(proto_notice_sign(&n, N.sk, &buf, &len), PROTO_E_EMPTY);
	/* Invalid UTF-8 in the form. */
	n = notice(&N, &R);
	n.form = "{\"x\":\"\xff\"}";
	assert_int_equal(proto_notice_sign(&n, N.sk, &buf, &len), PROTO_E_UTF8);
}

static void test_handles(void **state)
{
	uint8_t key[32], other[32], h[PROTO_NOTICE_HANDLE_BYTES], h2[PROTO_NOTICE_HANDLE_BYTES];
	uint8_t from[32], id[16] = {1, 2, 3}, got_id[16];

	(void)state;
	proto_random(key, 32);
	proto_random(other, 32);
	proto_notice_handle_seal(h, key, N.pk, id);
	proto_notice_handle_seal(h2, key, N.pk, id);
	assert_memory_not_equal(h, h2, sizeof h); /* fresh nonce: handles do not link */
	assert_int_equal(proto_notice_handle_open(h, key, from, got_id), 0);
	assert_memory_equal(from, N.pk, 32);
	assert_memory_equal(got_id, id, 16);
	assert_int_equal(proto_notice_handle_open(h, other, from, got_id), PROTO_E_REPORT_SIG);
	for (size_t i = 0; i < sizeof h; i++) {
		h[i] ^= 0x80;
		assert_int_equal(proto_notice_handle_open(h, key, from, got_id),
				 PROTO_E_REPORT_SIG);
		h[i] ^= 0x80;
	}
	/* The handle does not carry the notifier's id in clear. */
	assert_null(memmem(h, sizeof h, N.pk, 8));
}

static void test_through_coordinator(void **state)
{
	struct proto_notice n = notice(&N, &C), at_c, fwd, at_r, reply, reply_at_c, back, at_n;
	uint8_t *b1, *b2, *b3, *b4, ckey[32], nid[32], nnid[16];
	size_t l1, l2, l3, l4;

	(void)state;
	proto_random(ckey, 32);
	/* N asks coordinator C to deliver to R. */
	n.has_deliver_to = true;
	memcpy(n.deliver_to, R.pk, 32);
	assert_int_equal(proto_notice_sign(&n, N.sk, &b1, &l1), 0);
	assert_int_equal(proto_notice_decode(b1, l1, &at_c), 0);
	assert_true(at_c.has_deliver_to);

	/* C forwards under its own name, with a handle for the answers. */
	fwd = notice(&C, &R);
	fwd.tlp = at_c.tlp;
	char *form = strndup(at_c.form, at_c.form_len);

	fwd.form = form;
	fwd.has_handle = true;
	proto_notice_handle_seal(fwd.handle, ckey, at_c.from, at_c.id);
	assert_int_equal(proto_notice_sign(&fwd, C.sk, &b2, &l2), 0);
	free(form);
	/* What R receives never holds N's member id, in any position. */
	assert_null(memmem(b2, l2, N.pk, 32));
	assert_null(memmem(b2, l2, N.pk, 8));
	assert_int_equal(proto_notice_decode(b2, l2, &at_r), 0);
	assert_memory_equal(at_r.from, C.pk, 32);

	/* R answers C, echoing the handle. */
	reply = notice(&R, &C);
	reply.kind = PROTO_NOTICE_KIND_STATUS;
	reply.form = NULL;
	reply.status = PROTO_NOTICE_RECEIVED;
	memcpy(reply.thread, at_r.thread, 16);
	reply.has_handle = true;
	memcpy(reply.handle, at_r.handle, PROTO_NOTICE_HANDLE_BYTES);
	assert_int_equal(proto_notice_sign(&reply, R.sk, &b3, &l3), 0);
	assert_int_equal(proto_notice_decode(b3, l3, &reply_at_c), 0);

	/* C opens the handle: the notifier and its notice; it answers N on N's thread. */
	assert_int_equal(proto_notice_handle_open(reply_at_c.handle, ckey, nid, nnid), 0);
	assert_memory_equal(nid, N.pk, 32);
	assert_memory_equal(nnid, n.id, 16);
	back = notice(&C, &N);
	back.kind = PROTO_NOTICE_KIND_STATUS;
	back.form = NULL;
	back.status = reply_at_c.status;
	memcpy(back.to, nid, 32);
	memcpy(back.thread, nnid, 16);
	assert_int_equal(proto_notice_sign(&back, C.sk, &b4, &l4), 0);
	assert_int_equal(proto_notice_decode(b4, l4, &at_n), 0);
	assert_memory_equal(at_n.thread, n.id, 16);
	assert_int_equal(at_n.status, PROTO_NOTICE_RECEIVED);
	/* Nor does N learn R's id from C's answer. */
	assert_null(memmem(b4, l4, R.pk, 32));
	free(b1);
	free(b2);
	free(b3);
	free(b4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_handles),
		cmocka_unit_test(test_through_coordinator),
	};

	if (proto_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, NULL);
}
