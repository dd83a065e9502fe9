/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_proto_linkstate.c — the link state machine (proto/linkstate.h) on a fake
 * clock: HELLO first and once, version refusal, PING/PONG matching, the handshake deadline,
 * keepalive and the dead-link rule, and a time-driven rekey between two real Noise sessions
 * (the peer can read the message after the REKEY only because the machine switched its
 * receiving key).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/crypto.h"
#include "proto/link.h"
#include "proto/linkstate.h"
#include "proto/noise.h"

#define T0 1000000ull

static const struct proto_linkstate_limits LIM = {
	.handshake_timeout_ms = 10000,
	.keepalive_ms = 15000,
	.dead_after_ms = 60000,
};

static const struct proto_link_hello OURS = {.version = 2, .min_version = 1};

static struct proto_link_msg msg(enum proto_link_type type, uint64_t nonce)
{
	struct proto_link_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.u.nonce = nonce;
	return m;
}

static struct proto_link_msg hello(uint64_t version, uint64_t min_version, uint64_t epoch)
{
	struct proto_link_msg m;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_LINK_HELLO;
	m.u.hello.version = version;
	m.u.hello.min_version = min_version;
	m.u.hello.roster_epoch = epoch;
	return m;
}

/* A machine in UP at T0 + 5 (no Noise session: rekey is tested below). */
static void up(struct proto_linkstate *s, struct proto_linkstate_act *a)
{
	struct proto_link_msg h = hello(2, 0, 7);

	proto_linkstate_init(s, &LIM, T0);
	proto_linkstate_transport(s, NULL);
	assert_int_equal(s->state, PROTO_LINKSTATE_HELLO);
	proto_linkstate_message(s, &h, &OURS, T0 + 5, a);
	assert_true(a->hello);
	assert_int_equal(a->close, PROTO_LINKSTATE_OPEN);
	assert_int_equal(s->peer_epoch, 7);
	assert_int_equal(s->version, 2);
	assert_int_equal(s->peer_min_version, 2); /* absent: the version itself */
	assert_int_equal(s->state, PROTO_LINKSTATE_HELLO);
	proto_linkstate_up(s, T0 + 5, 0xabc, a);
	assert_int_equal(s->state, PROTO_LINKSTATE_UP);
	assert_int_equal(a->n_send, 1);
	assert_int_equal(a->send[0].type, PROTO_LINK_PING);
	assert_int_equal(a->send[0].nonce, 0xabc);
}

static void test_hello_first(void **state)
{
	struct proto_linkstate s;
	struct proto_linkstate_act a;
	struct proto_link_msg m = msg(PROTO_LINK_PING, 1);

	(void)state;
	proto_linkstate_init(&s, &LIM, T0);
	proto_linkstate_transport(&s, NULL);
	proto_linkstate_message(&s, &m, &OURS, T0 + 1, &a);
	assert_int_equal(a.close, PROTO_LINKSTATE_PROTOCOL);
	assert_false(a.deliver);
	assert_int_equal(a.n_send, 0);
	assert_int_equal(s.state, PROTO_LINKSTATE_CLOSED);
	/* Closed: nothing more happens. */
	proto_linkstate_tick(&s, T0 + 1000000, 1, &a);
	assert_int_equal(a.close, PROTO_LINKSTATE_OPEN);
	assert_int_equal(a.n_send, 0);
	assert_int_equal(proto_linkstate_deadline(&s), UINT64_MAX);
}

static void test_version(void **state)
{
	struct proto_linkstate s;
	struct proto_linkstate_act a;
	struct proto_link_msg m = hello(5, 3, 1); /* speaks 3..5, we 1..2 */

	(void)state;
	proto_linkstate_init(&s, &LIM, T0);
	proto_linkstate_transport(&s, NULL);
	proto_linkstate_message(&s, &m, &OURS, T0 + 1, &a);
	assert_int_equal(a.close, PROTO_LINKSTATE_VERSION);
	assert_false(a.hello);
	m = hello(3, 2, 1); /* 2..3: agree on 2 */
	proto_linkstate_init(&s, &LIM, T0);
	proto_linkstate_transport(&s, NULL);
	proto_linkstate_message(&s, &m, &OURS, T0 + 1, &a);
	assert_true(a.hello);
	assert_int_equal(s.version, 2);
	assert_int_equal(s.peer_min_version, 2);
}

static void test_up_messages(void **state)
{
	struct proto_linkstate s;
	struct proto_linkstate_act a;
	struct proto_link_msg m;

	(void)state;
	up(&s, &a);
	m = msg(PROTO_LINK_PING, 42);
	proto_linkstate_message(&s, &m, &OURS, T0 + 10, &a);
	assert_int_equal(a.n_send, 1);
	assert_int_equal(a.send[0].type, PROTO_LINK_PONG);
	assert_int_equal(a.send[0].nonce, 42);
	assert_false(a.deliver);
	/* A PONG of another nonce is ignored; the outstanding one matches once. */
	m = msg(PROTO_LINK_PONG, 0xabd);
	proto_linkstate_message(&s, &m, &OURS, T0 + 11, &a);
	assert_false(a.pong);
	m = msg(PROTO_LINK_PONG, 0xabc);
	proto_linkstate_message(&s, &m, &OURS, T0 + 12, &a);
	assert_true(a.pong);
	proto_linkstate_message(&s, &m, &OURS, T0 + 13, &a);
	assert_false(a.pong);
	/* Anything else goes to the owner. */
	m = msg(PROTO_LINK_PUSH, 0);
	proto_linkstate_message(&s, &m, &OURS, T0 + 14, &a);
	assert_true(a.deliver);
	assert_int_equal(a.close, PROTO_LINKSTATE_OPEN);
	/* REKEY without a session to switch is a protocol error, as is a second HELLO. */
	m = msg(PROTO_LINK_REKEY, 0);
	proto_linkstate_message(&s, &m, &OURS, T0 + 15, &a);
	assert_int_equal(a.close, PROTO_LINKSTATE_PROTOCOL);
	up(&s, &a);
	m = hello(2, 1, 8);
	proto_linkstate_message(&s, &m, &OURS, T0 + 16, &a);
	assert_int_equal(a.close, PROTO_LINKSTATE_PROTOCOL);
	assert_false(a.hello);
}

static void test_deadlines(void **state)
{
	struct proto_linkstate s;
	struct proto_linkstate_act a;
	struct proto_link_msg m = msg(PROTO_LINK_PUSH, 0);

	(void)state;
	/* Not UP by created + handshake_timeout_ms: TIMEOUT, and not a millisecond earlier. */
	proto_linkstate_init(&s, &LIM, T0);
	assert_int_equal(proto_linkstate_deadline(&s), T0 + LIM.handshake_timeout_ms);
	proto_linkstate_tick(&s, T0 + LIM.handshake_timeout_ms - 1, 1, &a);
	assert_int_equal(a.close, PROTO_LINKSTATE_OPEN);
	proto_linkstate_transport(&s, NULL);
	proto_linkstate_tick(&s, T0 + LIM.handshake_timeout_ms, 1, &a);
	assert_int_equal(a.close, PROTO_LINKSTATE_TIMEOUT);

	/* UP: a PING every keepalive_ms while the peer talks. */
	up(&s, &a);
	assert_int_equal(proto_linkstate_deadline(&s), T0 + 5 + LIM.keepalive_ms);
	proto_linkstate_tick(&s, T0 + 5 + LIM.keepalive_ms - 1, 2, &a);
	assert_int_equal(a.n_send, 0);
	proto_linkstate_message(&s, &m, &OURS, T0 + 5 + LIM.keepalive_ms - 1, &a);
	proto_linkstate_tick(&s, T0 + 5 + LIM.keepalive_ms, 2, &a);
	assert_int_equal(a.n_send, 1);
	assert_int_equal(a.send[0].type, PROTO_LINK_PING);
	assert_int_equal(a.send[0].nonce, 2);
	assert_false(a.send[0].rekey_after);
	/* The PONG of the older PING no longer matches. */
	m = msg(PROTO_LINK_PONG, 0xabc);
	proto_linkstate_message(&s, &m, &OURS, T0 + 5 + LIM.keepalive_ms, &a);
	assert_false(a.pong);

	/* Silence: DEAD at last_rx + dead_after_ms, with PINGs before it. */
	up(&s, &a);
	proto_linkstate_rx(&s, T0 + 100);
	for (uint64_t t = T0 + 100 + LIM.keepalive_ms; t < T0 + 100 + LIM.dead_after_ms;
	     t += LIM.keepalive_ms) {
		proto_linkstate_tick(&s, t, t, &a);
		assert_int_equal(a.close, PROTO_LINKSTATE_OPEN);
	}
	assert_int_equal(proto_linkstate_deadline(&s), T0 + 100 + LIM.dead_after_ms);
	proto_linkstate_tick(&s, T0 + 100 + LIM.dead_after_ms, 9, &a);
	assert_int_equal(a.close, PROTO_LINKSTATE_DEAD);
	assert_int_equal(a.n_send, 0);
}

/* Run the XXpsk0 handshake between @i and @r in memory. */
static void handshake(struct proto_noise *i, struct proto_noise *r)
{
	uint8_t buf[PROTO_NOISE_HANDSHAKE_MAX];
	size_t len;

	for (int step = 0; step < 3; step++) {
		struct proto_noise *w = step == 1 ? r : i, *rd = step == 1 ? i : r;

		assert_int_equal(proto_noise_write_message(w, buf, sizeof(buf), &len), 0);
		assert_int_equal(proto_noise_read_message(rd, buf, len), 0);
	}
	assert_int_equal(proto_noise_status(i), PROTO_NOISE_TRANSPORT);
	assert_int_equal(proto_noise_status(r), PROTO_NOISE_TRANSPORT);
}

/* Encrypt link message @type (nonce @nonce) on @from; decrypt and decode it on @to. */
static int carry(struct proto_noise *from, struct proto_noise *to, enum proto_link_type type,
		 uint64_t nonce, struct proto_link_msg *m, uint8_t *pbuf)
{
	uint8_t *enc = NULL, ct[256];
	size_t len = 0, ct_len, pt_len;
	int rc = type == PROTO_LINK_REKEY ? proto_link_encode_bare(type, &enc, &len)
					  : proto_link_encode_nonce(type, nonce, &enc, &len);

	assert_int_equal(rc, 0);
	assert_int_equal(proto_noise_encrypt(from, enc, len, ct, sizeof(ct), &ct_len), 0);
	free(enc);
	rc = proto_noise_decrypt(to, ct, ct_len, pbuf, 256, &pt_len);
	if (rc == 0)
		rc = proto_link_decode(m, pbuf, pt_len);
	return rc;
}

static void test_rekey(void **state)
{
	uint8_t cid[32] = {1}, psk[32] = {2}, si[32], sr[32], ei[32], er[32], pbuf[256];
	struct proto_noise *ni, *nr;
	struct proto_linkstate a_ls, b_ls;
	struct proto_linkstate_act a;
	struct proto_link_msg m, h = hello(2, 1, 1);
	uint64_t hour = 3600000, now;

	(void)state;
	assert_int_equal(proto_crypto_init(), 0);
	proto_random(si, 32);
	proto_random(sr, 32);
	proto_random(ei, 32);
	proto_random(er, 32);
	ni = proto_noise_new(PROTO_NOISE_INITIATOR, cid, psk, si, ei);
	nr = proto_noise_new(PROTO_NOISE_RESPONDER, cid, psk, sr, er);
	assert_non_null(ni);
	assert_non_null(nr);
	handshake(ni, nr);
	proto_linkstate_init(&a_ls, &LIM, T0);
	proto_linkstate_init(&b_ls, &LIM, T0);
	proto_linkstate_transport(&a_ls, ni);
	proto_linkstate_transport(&b_ls, nr);
	proto_linkstate_message(&a_ls, &h, &OURS, T0, &a);
	proto_linkstate_up(&a_ls, T0, 1, &a);
	proto_linkstate_message(&b_ls, &h, &OURS, T0, &a);
	proto_linkstate_up(&b_ls, T0, 1, &a);

	/* Keep A's link alive for an hour: the tick that passes the hour adds a REKEY. */
	for (now = T0 + LIM.keepalive_ms;; now += LIM.keepalive_ms) {
		proto_linkstate_rx(&a_ls, now);
		proto_linkstate_tick(&a_ls, now, now, &a);
		assert_int_equal(a.close, PROTO_LINKSTATE_OPEN);
		if (a.n_send == 2)
			break;
		assert_true(now < T0 + 2 * hour);
	}
	assert_true(now >= T0 + hour);
	assert_int_equal(a.send[0].type, PROTO_LINK_PING);
	assert_int_equal(a.send[1].type, PROTO_LINK_REKEY);
	assert_true(a.send[1].rekey_after);

	/* A sends PING, REKEY, then switches its sending key (as node/overlay/link.c does). */
	assert_int_equal(carry(ni, nr, PROTO_LINK_PING, a.send[0].nonce, &m, pbuf), 0);
	proto_linkstate_message(&b_ls, &m, &OURS, now, &a);
	assert_int_equal(a.send[0].type, PROTO_LINK_PONG);
	assert_int_equal(carry(ni, nr, PROTO_LINK_REKEY, 0, &m, pbuf), 0);
	assert_int_equal(proto_noise_rekey_send(ni, now), 0);
	proto_linkstate_message(&b_ls, &m, &OURS, now, &a);
	assert_int_equal(a.close, PROTO_LINKSTATE_OPEN);
	/* B's machine switched its receiving key: the next message reads. */
	assert_int_equal(carry(ni, nr, PROTO_LINK_PING, 77, &m, pbuf), 0);
	assert_int_equal(m.type, PROTO_LINK_PING);
	assert_int_equal(m.u.nonce, 77);
	/* Without the machine's switch it would not: rekey A again, B does not hear of it. */
	assert_int_equal(proto_noise_rekey_send(ni, now), 0);
	assert_true(carry(ni, nr, PROTO_LINK_PING, 78, &m, pbuf) < 0);
	proto_noise_free(ni);
	proto_noise_free(nr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello_first), cmocka_unit_test(test_version),
		cmocka_unit_test(test_up_messages), cmocka_unit_test(test_deadlines),
		cmocka_unit_test(test_rekey),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
