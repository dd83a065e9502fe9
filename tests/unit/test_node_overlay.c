/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of node/overlay + node/link: overlays in one process on one loop, on 127.0.0.1
 * with port 0, plus a hand-driven "raw" peer (the test's own Noise session over a uv_tcp_t)
 * that plays every hostile part: wrong network key, non-member key, garbage, oversize frame,
 * silence, a peer that stops reading.
 *
 * Waiting is by polling state with a deadline (WAIT_FOR), never by sleeping; a 2 ms guard
 * timer keeps uv_run(UV_RUN_ONCE) from blocking. Every test stops what it started and ends
 * with uv_loop_close() == 0.
 */
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "node/common/log.h"
#include "node/format/addr.h"
#include "node/overlay/overlay.h" /* and uv.h, jansson.h through it */
#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/keys.h"
#include "proto/link.h"
#include "proto/noise.h"
#include "proto/roster.h"
#include "testutil.h"

static const uint8_t community[32] = {0xc0, 0x11, 0x33};
static const uint8_t netkey[32] = {0x4e, 0x65, 0x74};
static const uint8_t bad_netkey[32] = {0x0b, 0xad};

static uv_loop_t loop;
static uv_timer_t guard;

static void guard_tick(uv_timer_t *t)
{
}

#define WAIT_FOR(cond, ms)                                    \
	do {                                                  \
		uint64_t t0_ = uv_now(&loop);                 \
		while (!(cond) && uv_now(&loop) - t0_ < (ms)) \
			uv_run(&loop, UV_RUN_ONCE);           \
		assert_true(cond);                            \
	} while (0)

/* Run the loop for @ms regardless (to check that nothing more happens). */
static void run_for(uint64_t ms)
{
	uint64_t t0 = uv_now(&loop);

	while (uv_now(&loop) - t0 < ms)
		uv_run(&loop, UV_RUN_ONCE);
}

static int setup(void **state)
{
	assert_int_equal(proto_crypto_init(), 0);
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(uv_timer_init(&loop, &guard), 0);
	assert_int_equal(uv_timer_start(&guard, guard_tick, 2, 2), 0);
	return 0;
}

static void fake_release(void);

static void count_handle(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		++*(int *)arg;
}

static int teardown(void **state)
{
	int open = 0;

	fake_release(); /* a failed test may leave resolutions blocked in the fake */
	uv_close((uv_handle_t *)&guard, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
	/* A test that failed half-way may leave handles: report instead of hanging. */
	uv_walk(&loop, count_handle, &open);
	if (open) {
		fprintf(stderr, "teardown: %d handle(s) left open\n", open);
		return -1;
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	return 0;
}

/*
 * Name resolution under test: this getaddrinfo() takes the place of libc's for libuv (the
 * executable's definition comes first). "badN.test" fails after 20 ms, "slowN.test" blocks
 * until the test releases it (all of them, or that one name); other names go to the system's
 * resolver. It counts the calls in flight, the most at once, and the names in call order.
 */
#define FAKE_NAMES 64
static pthread_mutex_t fake_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fake_cv = PTHREAD_COND_INITIALIZER;
static int fake_in_flight, fake_peak, fake_calls;
static bool fake_released;
static char fake_names[FAKE_NAMES][32];
static char fake_let_go[32]; /* a slow name released alone */

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		struct addrinfo **res)
{
	bool slow = node && !strncmp(node, "slow", 4);

	if (!node || (!slow && strncmp(node, "bad", 3))) {
		int (*sys)(const char *, const char *, const struct addrinfo *, struct addrinfo **);

		*(void **)&sys = dlsym(RTLD_NEXT, "getaddrinfo");
		return sys(node, service, hints, res);
	}
	pthread_mutex_lock(&fake_mu);
	if (fake_calls < FAKE_NAMES)
		snprintf(fake_names[fake_calls], sizeof(fake_names[0]), "%s", node);
	fake_calls++;
	if (++fake_in_flight > fake_peak)
		fake_peak = fake_in_flight;
	if (slow) {
		while (!fake_released && strcmp(node, fake_let_go))
			pthread_cond_wait(&fake_cv, &fake_mu);
	} else {
		pthread_mutex_unlock(&fake_mu);
		usleep(20000);
		pthread_mutex_lock(&fake_mu);
	}
	fake_in_flight--;
	pthread_mutex_unlock(&fake_mu);
	*res = NULL;
	return EAI_NONAME;
}

static void fake_reset(void)
{
	pthread_mutex_lock(&fake_mu);
	fake_in_flight = fake_peak = fake_calls = 0;
	fake_released = false;
	fake_let_go[0] = 0;
	pthread_mutex_unlock(&fake_mu);
}

/* Answer the slow name @name (and any later call for it) now. */
static void fake_release_name(const char *name)
{
	pthread_mutex_lock(&fake_mu);
	snprintf(fake_let_go, sizeof(fake_let_go), "%s", name);
	pthread_cond_broadcast(&fake_cv);
	pthread_mutex_unlock(&fake_mu);
}

static void fake_release(void)
{
	pthread_mutex_lock(&fake_mu);
	fake_released = true;
	pthread_cond_broadcast(&fake_cv);
	pthread_mutex_unlock(&fake_mu);
}

static int fake_read(int *v)
{
	int x;

	pthread_mutex_lock(&fake_mu);
	x = *v;
	pthread_mutex_unlock(&fake_mu);
	return x;
}

/* How many of the names "<prefix><i>.test", i < @n, are among the first @first calls. */
static int fake_tried(const char *prefix, int n, int first)
{
	int found = 0;

	pthread_mutex_lock(&fake_mu);
	for (int i = 0; i < n; i++) {
		char want[32];
		bool seen = false;

		snprintf(want, sizeof(want), "%s%d.test", prefix, i);
		for (int k = 0; k < first && k < fake_calls && k < FAKE_NAMES; k++)
			seen |= !strcmp(fake_names[k], want);
		found += seen;
	}
	pthread_mutex_unlock(&fake_mu);
	return found;
}

/* Overlay nodes under test --------------------------------------------------------- */

struct tnode {
	struct proto_keys keys;
	struct node_overlay *ov;
	struct node_overlay_limits lim;
	uint16_t port;
	int ups, downs, msgs, drains;
	int last_up_member, last_down_member, last_msg_member;
	enum node_link_reason last_down;
	struct node_link *link; /* the last link that came up, NULL after its down() */
	uint8_t last_bin[256];
	size_t last_bin_len;
	enum proto_link_type last_type;
	bool stopped;
};

static void cb_up(void *ctx, struct node_link *l, int member)
{
	struct tnode *n = ctx;

	n->ups++;
	n->last_up_member = member;
	n->link = l;
	assert_int_equal(node_overlay_link_member(l), member);
	assert_ptr_equal(node_overlay_link_for_member(n->ov, member), l);
}

static void cb_down(void *ctx, struct node_link *l, int member, enum node_link_reason reason)
{
	struct tnode *n = ctx;

	n->downs++;
	n->last_down_member = member;
	n->last_down = reason;
	if (n->link == l)
		n->link = NULL;
}

static void cb_message(void *ctx, struct node_link *l, int member, const struct proto_link_msg *m)
{
	struct tnode *n = ctx;

	n->msgs++;
	n->last_msg_member = member;
	n->last_type = m->type;
	if (m->type == PROTO_LINK_PUSH && m->u.bin.len <= sizeof(n->last_bin)) {
		memcpy(n->last_bin, m->u.bin.p, m->u.bin.len);
		n->last_bin_len = m->u.bin.len;
	}
}

static void cb_drained(void *ctx, struct node_link *l, int member)
{
	((struct tnode *)ctx)->drains++;
}

static void on_stopped(void *arg)
{
	((struct tnode *)arg)->stopped = true;
}

static struct node_overlay_limits fast_limits(void)
{
	struct node_overlay_limits lim = NODE_OVERLAY_LIMITS_DEFAULT;

	lim.handshake_timeout_ms = 2000;
	lim.backoff_min_ms = 20;
	lim.backoff_max_ms = 200;
	lim.keepalive_ms = 1000;
	lim.dead_after_ms = 5000;
	return lim;
}

static void tnode_keys(struct tnode *n, uint8_t seed_byte)
{
	uint8_t seed[32] = {seed_byte, 0x5e, 0xed};

	assert_int_equal(proto_keys_from_seed(&n->keys, seed), 0);
}

/* Start @n listening on 127.0.0.1:0 (or not listening when !@listen). */
static void tnode_start(struct tnode *n, bool listen)
{
	static const char *const addrs[] = {"127.0.0.1:0"};
	struct node_overlay_callbacks cb = {
		.up = cb_up,
		.down = cb_down,
		.message = cb_message,
		.drained = cb_drained,
		.ctx = n,
	};
	struct node_overlay_config cfg = {
		.listen = addrs,
		.n_listen = listen ? 1 : 0,
		.network_key = netkey,
		.keys = &n->keys,
		.lim = n->lim,
	};

	if (cfg.lim.degree == 0)
		cfg.lim = fast_limits();
	memcpy(cfg.community_id, community, 32);
	n->last_up_member = n->last_down_member = n->last_msg_member = -9;
	assert_int_equal(node_overlay_start(&loop, &cfg, &cb, &n->ov), 0);
	n->port = listen ? node_overlay_listen_port(n->ov, 0) : 0;
	if (listen)
		assert_true(n->port != 0);
}

static void tnode_stop(struct tnode *n)
{
	node_overlay_stop(n->ov, on_stopped, n);
	WAIT_FOR(n->stopped, 2000);
	n->ov = NULL;
	proto_keys_wipe(&n->keys);
}

/* A roster of @n members; member i lists "127.0.0.1:port[i]" when port[i] != 0. */
struct rmember {
	const struct proto_keys *keys;
	uint16_t port;
	const char *addr; /* overrides port when set */
};

static struct proto_roster *make_roster(const struct rmember *ms, size_t n, uint64_t epoch)
{
	struct proto_roster *r = proto_roster_new();

	assert_non_null(r);
	memcpy(r->community, community, 32);
	r->epoch = epoch;
	for (size_t i = 0; i < n; i++) {
		struct proto_member m;
		char name[32], addr[64], *addrs[1] = {addr};

		memset(&m, 0, sizeof(m));
		memcpy(m.id, ms[i].keys->id_pk, 32);
		memcpy(m.transport_pk, ms[i].keys->tx_pk, 32);
		memcpy(m.ring_pk, ms[i].keys->ring_pk, 32);
		snprintf(name, sizeof(name), "member%zu", i);
		m.name = name;
		if (ms[i].addr || ms[i].port) {
			if (ms[i].addr)
				snprintf(addr, sizeof(addr), "%s", ms[i].addr);
			else
				snprintf(addr, sizeof(addr), "127.0.0.1:%u", ms[i].port);
			m.n_addrs = 1;
			m.addrs = addrs;
		}
		assert_int_equal(proto_roster_add_member(r, &m), 0);
	}
	return r;
}

static int member_index(const struct proto_roster *r, const struct proto_keys *k)
{
	return proto_roster_find_member(r, k->id_pk);
}

static struct node_overlay_stats stats(const struct tnode *n)
{
	struct node_overlay_stats st;

	node_overlay_stats(n->ov, &st);
	return st;
}

/* The one UP link of @n, or NULL. */
static void find_up(void *arg, struct node_link *l, int member)
{
	*(struct node_link **)arg = l;
}

static struct node_link *the_link(struct tnode *n)
{
	struct node_link *l = NULL;

	node_overlay_for_each_up(n->ov, find_up, &l);
	return l;
}

/* Raw peer ------------------------------------------------------------------------- */

enum raw_after {
	RAW_HELLO,	/* send a proper HELLO, answer PINGs */
	RAW_MUTE,	/* send HELLO, then never send anything again */
	RAW_PING_FIRST, /* first transport message is a PING instead of HELLO */
	RAW_GARBAGE,	/* a random frame instead of a transport message */
	RAW_NOTHING,	/* send nothing after the handshake */
};

struct raw {
	uv_tcp_t tcp;
	uv_connect_t conn;
	struct proto_noise *n;
	struct proto_noise_framer *f;
	enum raw_after after;
	const struct proto_keys *keys; /* HELLO member id */
	bool connected, eof, closed, transport, got_hello, noread;
	size_t rx_bytes;
	int pings, pongs, rekeys, others;
	uint64_t pong_nonce;
	enum proto_link_type first_type;
};

static void raw_written(uv_write_t *w, int status)
{
	free(w);
}

static void raw_write(struct raw *r, const uint8_t *p, size_t len)
{
	uv_write_t *w = malloc(sizeof(*w) + len);
	uv_buf_t b;

	assert_non_null(w);
	memcpy(w + 1, p, len);
	b = uv_buf_init((char *)(w + 1), (unsigned)len);
	assert_int_equal(uv_write(w, (uv_stream_t *)&r->tcp, &b, 1, raw_written), 0);
}

static void raw_frame(struct raw *r, const uint8_t *msg, size_t len)
{
	uint8_t buf[PROTO_NOISE_FRAME_HDR + PROTO_NOISE_MAX_MSG];

	assert_int_equal(proto_noise_frame_header(buf, len), 0);
	memcpy(buf + 2, msg, len);
	raw_write(r, buf, len + 2);
}

static void raw_send(struct raw *r, const uint8_t *pt, size_t len)
{
	uint8_t ct[PROTO_NOISE_MAX_MSG];
	size_t ct_len;

	assert_int_equal(proto_noise_encrypt(r->n, pt, len, ct, sizeof(ct), &ct_len), 0);
	raw_frame(r, ct, ct_len);
}

static void raw_send_owned(struct raw *r, uint8_t *enc, size_t len)
{
	raw_send(r, enc, len);
	free(enc);
}

static void raw_send_hello(struct raw *r)
{
	struct proto_link_hello h = {.version = 1, .roster_epoch = 1};
	uint8_t *enc;
	size_t len;

	memcpy(h.member_id, r->keys->id_pk, 32);
	assert_int_equal(proto_link_encode_hello(&h, &enc, &len), 0);
	raw_send_owned(r, enc, len);
}

static void raw_send_nonce(struct raw *r, enum proto_link_type t, uint64_t nonce)
{
	uint8_t *enc;
	size_t len;

	assert_int_equal(proto_link_encode_nonce(t, nonce, &enc, &len), 0);
	raw_send_owned(r, enc, len);
}

static void raw_handshake_write(struct raw *r)
{
	uint8_t msg[PROTO_NOISE_HANDSHAKE_MAX];
	size_t len;

	assert_int_equal(proto_noise_write_message(r->n, msg, sizeof(msg), &len), 0);
	raw_frame(r, msg, len);
}

static void raw_after_handshake(struct raw *r)
{
	uint8_t junk[40];

	r->transport = true;
	switch (r->after) {
	case RAW_HELLO:
	case RAW_MUTE:
		raw_send_hello(r);
		break;
	case RAW_PING_FIRST:
		raw_send_nonce(r, PROTO_LINK_PING, 7);
		break;
	case RAW_GARBAGE:
		proto_random(junk, sizeof(junk));
		raw_frame(r, junk, sizeof(junk));
		break;
	case RAW_NOTHING:
		break;
	}
}

static void raw_closed(uv_handle_t *h)
{
	((struct raw *)h->data)->closed = true;
}

static void raw_close(struct raw *r)
{
	if (!uv_is_closing((uv_handle_t *)&r->tcp))
		uv_close((uv_handle_t *)&r->tcp, raw_closed);
}

static void raw_transport_msg(struct raw *r, const uint8_t *msg, size_t len)
{
	uint8_t pt[PROTO_NOISE_MAX_MSG];
	struct proto_link_msg m;
	size_t plen;

	assert_int_equal(proto_noise_decrypt(r->n, msg, len, pt, sizeof(pt), &plen), 0);
	assert_int_equal(proto_link_decode(&m, pt, plen), 0);
	if (!r->got_hello) {
		/* The node's first transport message is its HELLO. */
		assert_int_equal(m.type, PROTO_LINK_HELLO);
		r->got_hello = true;
		return;
	}
	switch (m.type) {
	case PROTO_LINK_PING:
		r->pings++;
		if (r->after == RAW_HELLO)
			raw_send_nonce(r, PROTO_LINK_PONG, m.u.nonce);
		break;
	case PROTO_LINK_PONG:
		r->pongs++;
		r->pong_nonce = m.u.nonce;
		break;
	case PROTO_LINK_REKEY:
		r->rekeys++;
		assert_int_equal(proto_noise_rekey_recv(r->n), 0);
		break;
	default:
		r->others++;
		break;
	}
}

static void raw_alloc(uv_handle_t *h, size_t sz, uv_buf_t *buf)
{
	static char mem[65536];

	*buf = uv_buf_init(mem, sizeof(mem));
}

static void raw_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct raw *r = s->data;
	size_t off = 0;

	if (nread < 0) {
		r->eof = true;
		raw_close(r);
		return;
	}
	r->rx_bytes += (size_t)nread;
	while (off < (size_t)nread) {
		const uint8_t *msg;
		size_t used, mlen;
		int rc = proto_noise_framer_feed(r->f, (uint8_t *)buf->base + off,
						 (size_t)nread - off, &used, &msg, &mlen);

		off += used;
		assert_true(rc >= 0);
		if (rc == 0)
			break;
		if (!r->transport) {
			assert_int_equal(proto_noise_read_message(r->n, msg, mlen), 0);
			raw_handshake_write(r); /* message 3 */
			assert_int_equal(proto_noise_status(r->n), PROTO_NOISE_TRANSPORT);
			raw_after_handshake(r);
		} else {
			raw_transport_msg(r, msg, mlen);
		}
	}
}

static void raw_connected(uv_connect_t *c, int status)
{
	struct raw *r = c->data;

	assert_int_equal(status, 0);
	r->connected = true;
	assert_int_equal(uv_read_start((uv_stream_t *)&r->tcp, raw_alloc, raw_read), 0);
}

/*
 * Connect a raw initiator to 127.0.0.1:@port using @nk as the network key and @k's transport
 * key. @send_msg1: write handshake message 1 at once (otherwise the test writes by hand).
 */
static struct raw *raw_open(uint16_t port, const uint8_t nk[32], const struct proto_keys *k,
			    enum raw_after after, bool send_msg1)
{
	struct raw *r = calloc(1, sizeof(*r));
	struct sockaddr_in sa;
	uint8_t eph[32];

	assert_non_null(r);
	proto_random(eph, sizeof(eph));
	r->n = proto_noise_new(PROTO_NOISE_INITIATOR, community, nk, k->tx_sk, eph);
	r->f = proto_noise_framer_new(0);
	assert_non_null(r->n);
	assert_non_null(r->f);
	r->after = after;
	r->keys = k;
	assert_int_equal(uv_tcp_init(&loop, &r->tcp), 0);
	r->tcp.data = r;
	r->conn.data = r;
	assert_int_equal(uv_ip4_addr("127.0.0.1", port, &sa), 0);
	assert_int_equal(uv_tcp_connect(&r->conn, &r->tcp, (struct sockaddr *)&sa, raw_connected),
			 0);
	WAIT_FOR(r->connected, 2000);
	if (send_msg1)
		raw_handshake_write(r);
	return r;
}

static void raw_free(struct raw *r)
{
	raw_close(r);
	WAIT_FOR(r->closed, 2000);
	proto_noise_free(r->n);
	proto_noise_framer_free(r->f);
	free(r);
}

/* Fixture: node A (listening) and a roster of A plus member M (raw peer keys). */
struct fix {
	struct tnode a;
	struct proto_keys m, x; /* m: member without a node; x: not a member */
	struct proto_roster *roster;
};

static void fix_start(struct fix *f, struct node_overlay_limits lim)
{
	uint8_t seed[32] = {0x77};

	memset(f, 0, sizeof(*f));
	tnode_keys(&f->a, 1);
	assert_int_equal(proto_keys_from_seed(&f->m, seed), 0);
	seed[0] = 0x78;
	assert_int_equal(proto_keys_from_seed(&f->x, seed), 0);
	f->a.lim = lim;
	tnode_start(&f->a, true);
	f->roster = make_roster((struct rmember[]){{&f->a.keys, 0, NULL}, {&f->m, 0, NULL}}, 2, 1);
	assert_int_equal(node_overlay_set_roster(f->a.ov, f->roster), 0);
}

static void fix_stop(struct fix *f)
{
	tnode_stop(&f->a);
	proto_roster_free(f->roster);
}

/* fix_start() with @lim, and a raw peer (member M) whose link came up, then stopped reading. */
static struct raw *fix_start_stalled(struct fix *f, struct node_overlay_limits lim)
{
	struct raw *r;

	fix_start(f, lim);
	r = raw_open(f->a.port, netkey, &f->m, RAW_HELLO, true);
	WAIT_FOR(f->a.ups == 1 && r->got_hello, 2000);
	uv_read_stop((uv_stream_t *)&r->tcp);
	return r;
}

/* Tests ------------------------------------------------------------------------------ */

static void test_limits_and_addrs(void **state)
{
	struct node_overlay_limits lim = NODE_OVERLAY_LIMITS_DEFAULT;
	struct sockaddr_storage ss;
	static const struct {
		const char *s;
		int ok;
	} addrs[] = {
		{"127.0.0.1:7400", 1},	{"0.0.0.0:0", 1},
		{"[::1]:7400", 1},	{"[::]:1", 1},
		{"127.0.0.1", 0},	{"::1:7400", 0},
		{"[::1]7400", 0},	{"127.0.0.1:65536", 0},
		{"127.0.0.1:07400", 0}, {"host.example:7400", 0},
		{"127.0.0.1:", 0},	{":7400", 0},
		{"127.0.0.1:74x", 0},	{"[127.0.0.1]:1", 0},
	};

	assert_int_equal(node_overlay_check_limits(&lim), 0);
	lim.backoff_max_ms = lim.backoff_min_ms - 1;
	assert_int_equal(node_overlay_check_limits(&lim), -EINVAL);
	lim = (struct node_overlay_limits)NODE_OVERLAY_LIMITS_DEFAULT;
	lim.max_frame = NODE_LINK_FRAME_MAX + 1;
	assert_int_equal(node_overlay_check_limits(&lim), -EINVAL);
	lim = (struct node_overlay_limits)NODE_OVERLAY_LIMITS_DEFAULT;
	lim.send_queue_max = NODE_LINK_FRAME_MAX;
	assert_int_equal(node_overlay_check_limits(&lim), -EINVAL);
	lim = (struct node_overlay_limits)NODE_OVERLAY_LIMITS_DEFAULT;
	lim.degree = 0;
	assert_int_equal(node_overlay_check_limits(&lim), -EINVAL);
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		int rc = node_addr_parse(addrs[i].s, &ss);

		if ((rc == 0) != addrs[i].ok)
			fail_msg("parse_addr(\"%s\") = %d", addrs[i].s, rc);
	}
}

static void test_start_errors(void **state)
{
	struct tnode a = {0}, b = {0};
	struct node_overlay *ov;
	char addr[32];
	const char *addrs[1] = {addr};
	struct node_overlay_config cfg = {.listen = addrs, .n_listen = 1, .network_key = netkey};

	tnode_keys(&a, 1);
	tnode_keys(&b, 2);
	tnode_start(&a, true);
	cfg.keys = &b.keys;
	cfg.lim = fast_limits();
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", a.port);
	assert_int_equal(node_overlay_start(&loop, &cfg, NULL, &ov), -EADDRINUSE);
	assert_null(ov);
	snprintf(addr, sizeof(addr), "localhost:1");
	assert_int_equal(node_overlay_start(&loop, &cfg, NULL, &ov), -EINVAL);
	run_for(10); /* the failed start's handles close */
	tnode_stop(&a);
	proto_keys_wipe(&b.keys);
}

/* Two overlays link, exchange HELLO, measure RTT, carry a PUSH; attribution is opt-in. */
static void test_link_up_and_messages(void **state)
{
	struct tnode a = {0}, b = {0};
	struct proto_roster *r1, *r2;
	struct node_link_info info;
	uint8_t *enc, payload[100];
	size_t len;
	json_t *j, *links, *l0;
	int ia, ib;

	tnode_keys(&a, 1);
	tnode_keys(&b, 2);
	tnode_start(&a, true);
	tnode_start(&b, true);
	/* Epoch 1 without addresses: nobody dials. */
	r1 = make_roster((struct rmember[]){{&a.keys, 0, NULL}, {&b.keys, 0, NULL}}, 2, 1);
	assert_int_equal(node_overlay_set_roster(a.ov, r1), 0);
	assert_int_equal(node_overlay_set_roster(b.ov, r1), 0);
	assert_int_equal(node_overlay_set_roster(b.ov, r1), PROTO_E_ROSTER_EPOCH);
	run_for(50);
	assert_int_equal(stats(&a).dials + stats(&b).dials, 0);
	assert_int_equal(stats(&a).wanted, 0);
	/* Epoch 2: only B is dialable, so A dials B and B accepts. */
	r2 = make_roster((struct rmember[]){{&a.keys, 0, NULL}, {&b.keys, b.port, NULL}}, 2, 2);
	assert_int_equal(node_overlay_set_roster(a.ov, r2), 0);
	assert_int_equal(node_overlay_set_roster(b.ov, r2), 0);
	ia = member_index(r2, &a.keys);
	ib = member_index(r2, &b.keys);
	WAIT_FOR(a.ups == 1 && b.ups == 1, 3000);
	assert_int_equal(a.last_up_member, ib);
	assert_int_equal(b.last_up_member, ia);
	assert_true(node_link_outbound(a.link));
	assert_false(node_link_outbound(b.link));
	assert_int_equal(stats(&a).wanted, 1);
	assert_int_equal(stats(&a).wanted_up, 1);
	assert_int_equal(stats(&b).wanted, 0);
	assert_int_equal(stats(&a).self, ia);
	/* Both sides PING on UP; the PONG gives an RTT. */
	node_link_info(a.link, &info);
	WAIT_FOR((node_link_info(a.link, &info), info.rtt_us >= 0), 2000);
	assert_int_equal(info.peer_epoch, 2);
	WAIT_FOR((node_link_info(b.link, &info), info.rtt_us >= 0), 2000);
	assert_true(info.bytes_in > 0 && info.bytes_out > 0);

	/* Dissemination interface: a PUSH arrives with the sender's member index. */
	proto_random(payload, sizeof(payload));
	assert_int_equal(
		proto_link_encode_bin(PROTO_LINK_PUSH, payload, sizeof(payload), &enc, &len), 0);
	assert_int_equal(node_overlay_send(a.link, enc, len), 0);
	free(enc);
	WAIT_FOR(b.msgs == 1, 2000);
	assert_int_equal(b.last_type, PROTO_LINK_PUSH);
	assert_int_equal(b.last_msg_member, ia);
	assert_int_equal(b.last_bin_len, sizeof(payload));
	assert_memory_equal(b.last_bin, payload, sizeof(payload));
	assert_int_equal(node_overlay_send(a.link, payload, 0), PROTO_E_TOO_LARGE);

	/* peers: no member name, id or address unless attribution is on. */
	j = node_overlay_peers_json(a.ov, false);
	assert_non_null(j);
	links = json_object_get(j, "peers");
	assert_int_equal(json_array_size(links), 1);
	l0 = json_array_get(links, 0);
	assert_string_equal(json_string_value(json_object_get(l0, "state")), "up");
	assert_string_equal(json_string_value(json_object_get(l0, "direction")), "outbound");
	assert_true(json_is_real(json_object_get(l0, "rtt_ms")));
	assert_true(json_integer_value(json_object_get(l0, "bytes_out")) > 0);
	assert_null(json_object_get(l0, "member"));
	assert_null(json_object_get(l0, "address"));
	assert_null(json_object_get(j, "members"));
	char *text = json_dumps(j, 0);
	assert_null(strstr(text, "member1"));
	assert_null(strstr(text, "member0"));
	assert_null(strstr(text, "127.0.0.1"));
	free(text);
	json_decref(j);
	j = node_overlay_peers_json(a.ov, true);
	l0 = json_array_get(json_object_get(j, "peers"), 0);
	assert_non_null(json_object_get(l0, "member"));
	assert_non_null(strstr(json_string_value(json_object_get(l0, "address")), "127.0.0.1:"));
	assert_int_equal(json_array_size(json_object_get(j, "members")), 1);
	json_decref(j);

	/* Stop: down() for the UP link on both sides, clean loop. */
	tnode_stop(&a);
	assert_int_equal(a.downs, 1);
	assert_int_equal(a.last_down, NODE_LINK_R_STOP);
	WAIT_FOR(b.downs == 1, 2000);
	assert_int_equal(b.last_down, NODE_LINK_R_EOF);
	tnode_stop(&b);
	proto_roster_free(r1);
	proto_roster_free(r2);
}

/* Both dial at once: the link opened by the smaller member id survives on both ends. */
static void test_tie_break(void **state)
{
	struct tnode a = {0}, b = {0};
	struct proto_roster *r1, *r2;
	struct node_link *la, *lb;
	bool a_smaller;

	tnode_keys(&a, 1);
	tnode_keys(&b, 2);
	a_smaller = memcmp(a.keys.id_pk, b.keys.id_pk, 32) < 0;
	tnode_start(&a, true);
	tnode_start(&b, true);
	r1 = make_roster((struct rmember[]){{&a.keys, 0, NULL}, {&b.keys, 0, NULL}}, 2, 1);
	assert_int_equal(node_overlay_set_roster(a.ov, r1), 0);
	assert_int_equal(node_overlay_set_roster(b.ov, r1), 0);
	r2 = make_roster((struct rmember[]){{&a.keys, a.port, NULL}, {&b.keys, b.port, NULL}}, 2,
			 2);
	/* Both kick their timer in the same loop iteration: both dial before either accepts. */
	assert_int_equal(node_overlay_set_roster(a.ov, r2), 0);
	assert_int_equal(node_overlay_set_roster(b.ov, r2), 0);
	/*
	 * Each end closes the losing link once it saw both complete; the end that sees the
	 * peer's close (EOF) of the loser before its own verdict counts it as "eof" instead.
	 */
	WAIT_FOR(stats(&a).closed[NODE_LINK_R_DUPLICATE] +
					 stats(&b).closed[NODE_LINK_R_DUPLICATE] >=
				 1 &&
			 the_link(&a) && the_link(&b) && stats(&a).links_pending == 0 &&
			 stats(&b).links_pending == 0,
		 3000);
	run_for(100); /* settled: nothing else closes */
	assert_int_equal(stats(&a).links_up, 1);
	assert_int_equal(stats(&b).links_up, 1);
	la = the_link(&a);
	lb = the_link(&b);
	assert_true(node_link_outbound(la) == a_smaller);
	assert_true(node_link_outbound(lb) == !a_smaller);
	assert_true(stats(&a).closed[NODE_LINK_R_DUPLICATE] + stats(&a).closed[NODE_LINK_R_EOF] ==
		    1);
	assert_true(stats(&b).closed[NODE_LINK_R_DUPLICATE] + stats(&b).closed[NODE_LINK_R_EOF] ==
		    1);
	/* Every up() of a losing link (if it got that far) was matched by a down(). */
	assert_int_equal(a.ups - a.downs, 1);
	assert_int_equal(b.ups - b.downs, 1);
	tnode_stop(&a);
	tnode_stop(&b);
	proto_roster_free(r1);
	proto_roster_free(r2);
}

static void test_wrong_network_key(void **state)
{
	struct fix f;
	struct raw *r;

	fix_start(&f, fast_limits());
	r = raw_open(f.a.port, bad_netkey, &f.m, RAW_HELLO, true);
	WAIT_FOR(r->eof, 2000);
	assert_int_equal(r->rx_bytes, 0); /* not one byte back */
	assert_int_equal(stats(&f.a).closed[NODE_LINK_R_NETKEY], 1);
	assert_int_equal(stats(&f.a).handshakes_in, 0);
	raw_free(r);
	/* Still serving members. */
	r = raw_open(f.a.port, netkey, &f.m, RAW_HELLO, true);
	WAIT_FOR(f.a.ups == 1 && r->got_hello, 2000);
	raw_free(r);
	WAIT_FOR(f.a.downs == 1, 2000);
	fix_stop(&f);
}

static void test_not_member(void **state)
{
	struct fix f;
	struct raw *r;

	fix_start(&f, fast_limits());
	r = raw_open(f.a.port, netkey, &f.x, RAW_HELLO, true);
	WAIT_FOR(r->eof, 2000);
	/* Message 2 only (98 framed bytes): no HELLO, nothing after message 3. */
	assert_int_equal(r->rx_bytes, 2 + 96);
	assert_false(r->got_hello);
	assert_int_equal(stats(&f.a).closed[NODE_LINK_R_NOT_MEMBER], 1);
	assert_int_equal(f.a.ups, 0);
	raw_free(r);
	/* A member's own key as initiator towards itself is refused as "self". */
	r = raw_open(f.a.port, netkey, &f.a.keys, RAW_HELLO, true);
	WAIT_FOR(r->eof, 2000);
	assert_int_equal(stats(&f.a).closed[NODE_LINK_R_SELF], 1);
	raw_free(r);
	fix_stop(&f);
}

static void test_garbage_and_protocol(void **state)
{
	struct fix f;
	struct raw *r;
	uint8_t hdr[2] = {0xff, 0xff};

	fix_start(&f, fast_limits());
	/* Garbage instead of a transport message after the handshake. */
	r = raw_open(f.a.port, netkey, &f.m, RAW_GARBAGE, true);
	WAIT_FOR(r->eof, 2000);
	assert_int_equal(stats(&f.a).closed[NODE_LINK_R_DECRYPT], 1);
	assert_int_equal(f.a.ups, 0);
	raw_free(r);
	/* First transport message is not HELLO. */
	r = raw_open(f.a.port, netkey, &f.m, RAW_PING_FIRST, true);
	WAIT_FOR(r->eof, 2000);
	assert_int_equal(stats(&f.a).closed[NODE_LINK_R_PROTOCOL], 1);
	raw_free(r);
	/* Oversize frame header during the handshake: closed without a byte back. */
	r = raw_open(f.a.port, netkey, &f.m, RAW_HELLO, false);
	raw_write(r, hdr, sizeof(hdr));
	WAIT_FOR(r->eof, 2000);
	assert_int_equal(r->rx_bytes, 0);
	assert_int_equal(stats(&f.a).closed[NODE_LINK_R_FRAME], 1);
	raw_free(r);
	/* A short but wrong-length message 1 fails the handshake. */
	r = raw_open(f.a.port, netkey, &f.m, RAW_HELLO, false);
	{
		uint8_t junk[2 + 20] = {0, 20};

		raw_write(r, junk, sizeof(junk));
	}
	WAIT_FOR(r->eof, 2000);
	assert_int_equal(r->rx_bytes, 0);
	assert_int_equal(stats(&f.a).closed[NODE_LINK_R_HANDSHAKE], 1);
	raw_free(r);
	fix_stop(&f);
}

/* After the handshake a frame longer than max_frame closes the link. */
static void test_oversize_after_handshake(void **state)
{
	struct node_overlay_limits lim = fast_limits();
	struct fix f;
	struct raw *r;
	uint8_t big[4000];

	lim.max_frame = 2048;
	fix_start(&f, lim);
	r = raw_open(f.a.port, netkey, &f.m, RAW_HELLO, true);
	WAIT_FOR(f.a.ups == 1, 2000);
	memset(big, 0x42, sizeof(big));
	raw_frame(r, big, 2047); /* 2049 bytes on the wire: one over */
	WAIT_FOR(r->eof, 2000);
	assert_int_equal(stats(&f.a).closed[NODE_LINK_R_FRAME], 1);
	assert_int_equal(f.a.last_down, NODE_LINK_R_FRAME);
	raw_free(r);
	fix_stop(&f);
}

static int count_eof(struct raw **r, int n)
{
	int k = 0;

	for (int i = 0; i < n; i++)
		k += r[i]->eof;
	return k;
}

/*
 * Connections that send nothing wait in the pre-authentication pool, get no byte and hold
 * no handshake slot; past max_preauth_per_address (one source: 127.0.0.1) or max_preauth
 * the oldest is evicted, the rest close at preauth_timeout_ms. Past max_handshakes the
 * oldest handshake stalled after message 1 is evicted, so a member still links in.
 */
static void test_preauth_pool_and_slots(void **state)
{
	struct node_overlay_limits lim = fast_limits();
	struct raw *idle[10], *stalled[3], *r;
	struct fix f;

	lim.preauth_timeout_ms = 300;
	lim.max_preauth_per_address = 4;
	lim.max_handshakes = 2;
	fix_start(&f, lim);
	for (int i = 0; i < 10; i++)
		idle[i] = raw_open(f.a.port, netkey, &f.m, RAW_HELLO, false);
	/* One address: six are evicted, four wait. */
	WAIT_FOR(stats(&f.a).closed[NODE_LINK_R_EVICTED] == 6, 5000);
	WAIT_FOR(count_eof(idle, 10) == 6, 1000);
	assert_int_equal(stats(&f.a).preauth, 4);
	assert_int_equal(stats(&f.a).handshakes_in, 0);
	/* Closed by the pre-authentication deadline (its own reason), before the handshake
	 * timeout could have done it; how punctually is the loop's business under load. */
	WAIT_FOR(stats(&f.a).closed[NODE_LINK_R_PREAUTH] == 4, lim.handshake_timeout_ms - 100);
	assert_int_equal(stats(&f.a).preauth, 0);
	for (int i = 0; i < 10; i++) {
		WAIT_FOR(idle[i]->eof, 1000);
		assert_int_equal(idle[i]->rx_bytes, 0);
		raw_free(idle[i]);
	}

	/* The whole pool: max_preauth 3 evicts the oldest of five whatever their address. */
	lim.max_preauth = 3;
	lim.max_preauth_per_address = 100;
	assert_int_equal(node_overlay_set_limits(f.a.ov, &lim), 0);
	for (int i = 0; i < 5; i++)
		idle[i] = raw_open(f.a.port, netkey, &f.m, RAW_HELLO, false);
	WAIT_FOR(stats(&f.a).closed[NODE_LINK_R_EVICTED] == 8, 5000);
	WAIT_FOR(count_eof(idle, 5) == 2, 1000);
	assert_int_equal(stats(&f.a).preauth, 3);
	for (int i = 0; i < 5; i++)
		raw_free(idle[i]);
	WAIT_FOR(stats(&f.a).preauth == 0, 1000);

	/* Message 1 under the network key, then silence: these hold handshake slots. */
	for (int i = 0; i < 3; i++) {
		stalled[i] = raw_open(f.a.port, netkey, &f.m, RAW_HELLO, true);
		uv_read_stop((uv_stream_t *)&stalled[i]->tcp); /* never answers message 2 */
		WAIT_FOR(stats(&f.a).handshakes_in == (i < 2 ? (unsigned)i + 1 : 2u), 1000);
	}
	WAIT_FOR(stats(&f.a).closed[NODE_LINK_R_EVICTED] == 9, 1000);
	/* A member links in: its message 1 evicts the oldest stalled handshake left. */
	r = raw_open(f.a.port, netkey, &f.m, RAW_HELLO, true);
	WAIT_FOR(f.a.ups == 1, 2000);
	assert_int_equal(stats(&f.a).closed[NODE_LINK_R_EVICTED], 10);
	assert_int_equal(stats(&f.a).closed[NODE_LINK_R_BUSY], 0);
	for (int i = 0; i < 3; i++)
		raw_free(stalled[i]);
	raw_free(r);
	fix_stop(&f);
}

/* PING from the peer gets its PONG; REKEY in both directions keeps the stream readable. */
static void test_ping_pong_rekey(void **state)
{
	struct node_overlay_limits lim = fast_limits();
	struct fix f;
	struct raw *r;
	uint8_t *enc;
	size_t len;

	lim.keepalive_ms = 20;
	lim.rekey_ms = 50;
	fix_start(&f, lim);
	r = raw_open(f.a.port, netkey, &f.m, RAW_HELLO, true);
	WAIT_FOR(f.a.ups == 1 && r->got_hello, 2000);
	raw_send_nonce(r, PROTO_LINK_PING, 0x1234567890abcdefULL);
	WAIT_FOR(r->pongs == 1, 2000);
	assert_true(r->pong_nonce == 0x1234567890abcdefULL);
	/* The node rekeys its sending side every 50 ms and keeps PINGing. */
	WAIT_FOR(r->rekeys >= 2 && r->pings >= 5, 3000);
	/* Our side rekeys: REKEY, then the cipher changes; the node must follow. */
	assert_int_equal(proto_link_encode_bare(PROTO_LINK_REKEY, &enc, &len), 0);
	raw_send_owned(r, enc, len);
	assert_int_equal(proto_noise_rekey_send(r->n, 0), 0);
	raw_send_nonce(r, PROTO_LINK_PING, 99);
	WAIT_FOR(r->pongs == 2, 2000);
	assert_true(r->pong_nonce == 99);
	assert_int_equal(f.a.downs, 0);
	raw_free(r);
	fix_stop(&f);
}

static void test_dead_link(void **state)
{
	struct node_overlay_limits lim = fast_limits();
	struct fix f;
	struct raw *r;

	/*
	 * The PINGs are counted only after EOF: TCP hands the raw peer every PING the node sent
	 * before its FIN, but the down callback can run before the peer has read the last ones.
	 * And dead_after is 60 keepalives, not 6: a loop iteration's timers run before its
	 * reads, so a process kept off the CPU for longer than dead_after sent at most one
	 * PING before declaring the link dead (300 ms flaked at load 30-40). linkstate's own
	 * test checks the PINGs before DEAD on a virtual clock.
	 */
	lim.keepalive_ms = 50;
	lim.dead_after_ms = 3000;
	fix_start(&f, lim);
	r = raw_open(f.a.port, netkey, &f.m, RAW_MUTE, true);
	WAIT_FOR(f.a.ups == 1, 5000);
	WAIT_FOR(f.a.downs == 1, 20000);
	assert_int_equal(f.a.last_down, NODE_LINK_R_DEAD);
	WAIT_FOR(r->eof, 5000);
	assert_true(r->pings >= 3); /* it kept pinging while waiting */
	raw_free(r);
	fix_stop(&f);
}

/* A peer that stops reading: the queue bound closes the link, send() reports it. */
static void test_send_queue_bound(void **state)
{
	struct node_overlay_limits lim = fast_limits();
	static uint8_t payload[60000];
	struct node_link *l;
	struct fix f;
	struct raw *r;
	uint8_t *enc;
	size_t len;
	int rc = 0, sent = 0;

	lim.send_queue_max = 256 * 1024;
	lim.keepalive_ms = lim.dead_after_ms = 600000; /* as in test_room_small_frames */
	r = fix_start_stalled(&f, lim);
	l = f.a.link;
	proto_random(payload, sizeof(payload));
	assert_int_equal(
		proto_link_encode_bin(PROTO_LINK_RECON, payload, sizeof(payload), &enc, &len), 0);
	/* Kernel buffers absorb some megabytes first; then the queue grows to its bound. */
	while (rc == 0 && sent < 100000) {
		rc = node_overlay_send(l, enc, len);
		sent++;
		assert_true(node_link_queued(l) <= lim.send_queue_max);
		if (sent % 16 == 0)
			uv_run(&loop, UV_RUN_NOWAIT);
	}
	free(enc);
	assert_int_equal(rc, -ENOBUFS);
	assert_int_equal(f.a.downs, 1);
	assert_int_equal(f.a.last_down, NODE_LINK_R_QUEUE);
	assert_int_equal(stats(&f.a).closed[NODE_LINK_R_QUEUE], 1);
	raw_free(r);
	fix_stop(&f);
}

/*
 * node_link_room() is a promise: small messages sent while it allows, to a peer that reads
 * nothing, fill the queue up to its bound (packed into shared buffers) and never close the
 * link; one more than it allows does.
 */
static void test_room_small_frames(void **state)
{
	struct node_overlay_limits lim = fast_limits();
	struct node_link *l;
	struct fix f;
	struct raw *r;
	uint8_t *enc;
	size_t len;
	int sent = 0;

	lim.send_queue_max = 256 * 1024;
	/*
	 * The peer reads nothing, so it never answers a PING: with fast_limits()' 5 s the link
	 * died under load while the loop below filled the queue (the link freed, `l` dangling).
	 */
	lim.keepalive_ms = lim.dead_after_ms = 600000;
	r = fix_start_stalled(&f, lim);
	l = f.a.link;
	assert_int_equal(proto_link_encode_nonce(PROTO_LINK_PING, 5, &enc, &len), 0);
	/* Until the kernel's buffers and then the queue are full. */
	while (sent < 2000000 &&
	       node_link_room(l) >= PROTO_NOISE_FRAME_HDR + len + PROTO_NOISE_TAG_LEN) {
		assert_int_equal(node_overlay_send(l, enc, len), 0);
		sent++;
		if (sent % 256 == 0)
			uv_run(&loop, UV_RUN_NOWAIT);
	}
	assert_true(node_link_room(l) < PROTO_NOISE_FRAME_HDR + len + PROTO_NOISE_TAG_LEN);
	assert_true(node_link_queued(l) <= lim.send_queue_max);
	assert_true(node_link_queued(l) <= lim.send_queue_max - NODE_LINK_CONTROL_RESERVE);
	assert_true(node_link_queued(l) >
		    lim.send_queue_max - NODE_LINK_CONTROL_RESERVE - NODE_LINK_SEND_CHUNK - 64);
	assert_int_equal(f.a.downs, 0);
	assert_int_equal(node_overlay_send(l, enc, len), -ENOBUFS);
	assert_int_equal(f.a.last_down, NODE_LINK_R_QUEUE);
	free(enc);
	raw_free(r);
	fix_stop(&f);
}

/*
 * The owner fills a slow peer's queue to the last byte node_link_room() allows, with frames
 * that get buffers of their own: the link's own frames still fit (the control reserve), so
 * neither the keepalive PING nor the PONG owed to the peer's PINGs closes the link, and once
 * the peer reads again everything arrives in order.
 */
static void test_control_reserve(void **state)
{
	struct node_overlay_limits lim = fast_limits();
	static uint8_t payload[60000];
	struct node_link_info info;
	struct node_link *l;
	struct fix f;
	struct raw *r;
	uint64_t out0;
	int sent = 0;

	lim.send_queue_max = 256 * 1024;
	lim.keepalive_ms = 50;
	lim.dead_after_ms = 600000; /* the peer reads nothing for a while, and answers nothing */
	r = fix_start_stalled(&f, lim);
	l = f.a.link;
	proto_random(payload, sizeof(payload));
	/* Until the kernel's buffers and then the queue are full: each frame takes exactly the
	 * room there is, so the last buffer has none left for a PING or a PONG. */
	for (;;) {
		size_t room, plen, len;
		uint8_t *enc;

		if (!f.a.link)
			fail_msg("the link went down after %d messages: %s", sent,
				 node_link_reason_name(f.a.last_down));
		room = node_link_room(l);
		if (room < PROTO_NOISE_FRAME_HDR + PROTO_NOISE_TAG_LEN + 8)
			break;
		plen = room - PROTO_NOISE_FRAME_HDR - PROTO_NOISE_TAG_LEN - 3;
		if (plen > sizeof(payload))
			plen = sizeof(payload);
		for (;;) {
			assert_int_equal(
				proto_link_encode_bin(PROTO_LINK_RECON, payload, plen, &enc, &len),
				0);
			if (PROTO_NOISE_FRAME_HDR + len + PROTO_NOISE_TAG_LEN <= room)
				break;
			free(enc);
			plen--;
		}
		assert_int_equal(node_overlay_send(l, enc, len), 0);
		free(enc);
		sent++;
		uv_run(&loop, UV_RUN_NOWAIT);
	}
	assert_true(node_link_queued(l) >
		    lim.send_queue_max - NODE_LINK_CONTROL_RESERVE - NODE_LINK_SEND_CHUNK - 64);
	/* The peer PINGs three times; the node PONGs each and keeps PINGing itself. */
	node_link_info(l, &info);
	out0 = info.msgs_out;
	for (uint64_t k = 1; k <= 3; k++)
		raw_send_nonce(r, PROTO_LINK_PING, k);
	for (uint64_t t0 = uv_now(&loop);; uv_run(&loop, UV_RUN_ONCE)) {
		if (!f.a.link)
			fail_msg("the link went down: %s", node_link_reason_name(f.a.last_down));
		node_link_info(l, &info);
		if (info.msgs_out >= out0 + 5)
			break;
		if (uv_now(&loop) - t0 > 10000)
			fail_msg("3 PONGs and 2 PINGs not sent in 10 s (%llu sent)",
				 (unsigned long long)(info.msgs_out - out0));
	}
	assert_true(node_link_queued(l) <= lim.send_queue_max);
	assert_int_equal(node_link_room(l), 0);
	/* The peer reads again: every frame arrives, in order (Noise nonces), link still up. */
	assert_int_equal(uv_read_start((uv_stream_t *)&r->tcp, raw_alloc, raw_read), 0);
	WAIT_FOR(r->others == sent && r->pongs == 3 && r->pings >= 2, 10000);
	assert_int_equal(f.a.downs, 0);
	raw_free(r);
	fix_stop(&f);
}

/* The queue drains: drained() fires and the bulk sender can go on (flow control). */
static void test_drained(void **state)
{
	struct tnode a = {0}, b = {0};
	struct proto_roster *r;
	static uint8_t payload[40000];
	uint8_t *enc;
	size_t len;
	int sent = 0;

	tnode_keys(&a, 1);
	tnode_keys(&b, 2);
	a.lim = fast_limits();
	a.lim.send_queue_max = 2 * NODE_LINK_FRAME_MAX;
	/* Flow control, not liveness: 16 MB through Noise under ASan on a loaded machine may
	 * keep a's loop from reading b's PONGs for longer than fast_limits()' 5 s. The
	 * keepalive goes on while the sender keeps the queue full (the control reserve:
	 * test_control_reserve). */
	a.lim.dead_after_ms = 120000;
	b.lim = a.lim;
	tnode_start(&a, false);
	tnode_start(&b, true);
	r = make_roster((struct rmember[]){{&a.keys, 0, NULL}, {&b.keys, b.port, NULL}}, 2, 1);
	assert_int_equal(node_overlay_set_roster(a.ov, r), 0);
	assert_int_equal(node_overlay_set_roster(b.ov, r), 0);
	WAIT_FOR(a.ups == 1 && b.ups == 1, 20000);
	assert_int_equal(
		proto_link_encode_bin(PROTO_LINK_RECON, payload, sizeof(payload), &enc, &len), 0);
	/* Send 400 messages (16 MB), never more than the room allows (two of them take the
	 * queue past half of its bound: send_queue_max less the control reserve holds two of
	 * 40,000 bytes, not of 60,000); wait for drains. */
	while (sent < 400) {
		if (!a.link)
			fail_msg("the link went down after %d messages: a %s, b %s", sent,
				 node_link_reason_name(a.last_down),
				 node_link_reason_name(b.last_down));
		if (node_link_room(a.link) >= len + 64) {
			assert_int_equal(node_overlay_send(a.link, enc, len), 0);
			sent++;
		} else {
			uv_run(&loop, UV_RUN_ONCE);
		}
	}
	free(enc);
	WAIT_FOR(b.msgs == 400, 60000);
	assert_true(a.drains >= 1);
	assert_int_equal(a.downs, 0);
	tnode_stop(&a);
	tnode_stop(&b);
	proto_roster_free(r);
}

/* A roster without B closes the link to B; B is refused as a non-member afterwards. */
static void test_roster_removal(void **state)
{
	struct tnode a = {0}, b = {0};
	struct proto_roster *r1, *r2;

	tnode_keys(&a, 1);
	tnode_keys(&b, 2);
	tnode_start(&a, true);
	tnode_start(&b, true);
	r1 = make_roster((struct rmember[]){{&a.keys, a.port, NULL}, {&b.keys, 0, NULL}}, 2, 1);
	assert_int_equal(node_overlay_set_roster(a.ov, r1), 0);
	assert_int_equal(node_overlay_set_roster(b.ov, r1), 0);
	WAIT_FOR(a.ups == 1 && b.ups == 1, 3000);
	/* A's new roster: B is gone (A alone). B keeps the old roster and redials. */
	r2 = make_roster((struct rmember[]){{&a.keys, a.port, NULL}}, 1, 2);
	assert_int_equal(node_overlay_set_roster(a.ov, r2), 0);
	assert_int_equal(a.downs, 1); /* closed before set_roster returned */
	assert_int_equal(a.last_down, NODE_LINK_R_ROSTER);
	assert_int_equal(a.last_down_member, -1);
	WAIT_FOR(b.downs == 1, 2000);
	WAIT_FOR(stats(&a).closed[NODE_LINK_R_NOT_MEMBER] >= 1, 3000);
	assert_int_equal(a.ups, 1);
	tnode_stop(&a);
	tnode_stop(&b);
	proto_roster_free(r1);
	proto_roster_free(r2);
}

/* Dialling a dead port backs off exponentially; a replacement member is linked instead. */
static void test_backoff_and_replacement(void **state)
{
	struct tnode a = {0}, c = {0};
	struct proto_keys dead;
	uint8_t seed[32] = {0x99};
	struct proto_roster *r;
	uv_tcp_t tmp;
	struct sockaddr_in sa;
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	uint16_t dead_port;
	uint64_t t0;

	/* A port nobody listens on: bind, read it, close. */
	assert_int_equal(uv_tcp_init(&loop, &tmp), 0);
	assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &sa), 0);
	assert_int_equal(uv_tcp_bind(&tmp, (struct sockaddr *)&sa, 0), 0);
	assert_int_equal(uv_tcp_getsockname(&tmp, (struct sockaddr *)&ss, &len), 0);
	dead_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	uv_close((uv_handle_t *)&tmp, NULL);
	run_for(5);

	assert_int_equal(proto_keys_from_seed(&dead, seed), 0);
	tnode_keys(&a, 1);
	tnode_keys(&c, 3);
	a.lim = fast_limits();
	a.lim.degree = 1;
	a.lim.backoff_min_ms = 40;
	a.lim.backoff_max_ms = 160;
	tnode_start(&a, false);
	tnode_start(&c, true);
	/* Only the dead member first: the attempts must space out. */
	r = make_roster((struct rmember[]){{&a.keys, 0, NULL}, {&dead, dead_port, NULL}}, 2, 1);
	assert_int_equal(node_overlay_set_roster(a.ov, r), 0);
	t0 = uv_now(&loop);
	run_for(600);
	/* Delays >= 20, 40, 80, 80...: at most ~9 attempts in 600 ms; at least 4. */
	assert_true(stats(&a).dials >= 4);
	assert_true(stats(&a).dials <= 10);
	assert_true(stats(&a).closed[NODE_LINK_R_CONNECT] + 1 >= stats(&a).dials);
	assert_int_equal(a.ups, 0);
	(void)t0;
	/* Now C is available too: after REPLACE_AFTER failures the dead one is replaced. */
	struct proto_roster *r2 = make_roster((struct rmember[]){{&a.keys, 0, NULL},
								 {&dead, dead_port, NULL},
								 {&c.keys, c.port, NULL}},
					      3, 2);
	assert_int_equal(node_overlay_set_roster(a.ov, r2), 0);
	assert_int_equal(node_overlay_set_roster(c.ov, r2), 0);
	proto_roster_free(r);
	WAIT_FOR(a.ups == 1, 3000);
	assert_int_equal(a.last_up_member, member_index(r2, &c.keys));
	assert_int_equal(stats(&a).wanted, 1);
	assert_int_equal(stats(&a).wanted_up, 1);
	tnode_stop(&a);
	tnode_stop(&c);
	proto_roster_free(r2);
	proto_keys_wipe(&dead);
}

/* A dialled address answered by another member's key is refused; host names resolve. */
static void test_unexpected_and_hostname(void **state)
{
	struct tnode a = {0}, b = {0}, c = {0};
	struct proto_roster *r, *r2;
	char host_addr[64];

	tnode_keys(&a, 1);
	tnode_keys(&b, 2);
	tnode_keys(&c, 3);
	tnode_start(&a, false);
	tnode_start(&b, true);
	tnode_start(&c, true);
	/* B's roster address points at C's listener. */
	r = make_roster(
		(struct rmember[]){{&a.keys, 0, NULL}, {&b.keys, c.port, NULL}, {&c.keys, 0, NULL}},
		3, 1);
	assert_int_equal(node_overlay_set_roster(a.ov, r), 0);
	assert_int_equal(node_overlay_set_roster(b.ov, r), 0);
	assert_int_equal(node_overlay_set_roster(c.ov, r), 0);
	WAIT_FOR(stats(&a).closed[NODE_LINK_R_UNEXPECTED] >= 1, 3000);
	assert_int_equal(a.ups, 0);
	tnode_stop(&a);

	/* A fresh A dials B by host name. */
	memset(&a, 0, sizeof(a));
	tnode_keys(&a, 1);
	tnode_start(&a, false);
	snprintf(host_addr, sizeof(host_addr), "localhost:%u", b.port);
	r2 = make_roster(
		(struct rmember[]){{&a.keys, 0, NULL}, {&b.keys, 0, host_addr}, {&c.keys, 0, NULL}},
		3, 2);
	assert_int_equal(node_overlay_set_roster(a.ov, r2), 0);
	assert_int_equal(node_overlay_set_roster(b.ov, r2), 0);
	assert_int_equal(node_overlay_set_roster(c.ov, r2), 0);
	WAIT_FOR(a.ups == 1 && node_overlay_link_for_member(b.ov, member_index(r2, &a.keys)), 5000);
	assert_int_equal(a.last_up_member, member_index(r2, &b.keys));
	tnode_stop(&a);
	tnode_stop(&b);
	tnode_stop(&c);
	proto_roster_free(r);
	proto_roster_free(r2);
}

/* Stopping while a name resolution and a connect are in flight releases everything. */
static void test_stop_while_dialling(void **state)
{
	struct tnode a = {0}, b = {0}, c = {0};
	struct proto_roster *r;

	tnode_keys(&a, 1);
	tnode_keys(&b, 2);
	tnode_keys(&c, 3);
	tnode_start(&a, true);
	r = make_roster((struct rmember[]){{&a.keys, 0, NULL},
					   {&b.keys, 0, "localhost:9"},
					   {&c.keys, 0, "192.0.2.1:7400"}},
			3, 1);
	assert_int_equal(node_overlay_set_roster(a.ov, r), 0);
	uv_run(&loop, UV_RUN_NOWAIT); /* the dial tick runs */
	uv_run(&loop, UV_RUN_NOWAIT);
	tnode_stop(&a);
	proto_roster_free(r);
	proto_keys_wipe(&b.keys);
	proto_keys_wipe(&c.keys);
}

/*
 * A roster (@epoch) of @a plus @n_slow "slowI.test" members (keys[0..n_slow)) and @n_bad
 * "badI.test" members (the keys after them).
 */
static struct proto_roster *named_roster(struct tnode *a, struct proto_keys *keys, int n_slow,
					 int n_bad, uint64_t epoch)
{
	struct rmember ms[1 + FAKE_NAMES];
	static char addrs[FAKE_NAMES][32];
	int n = n_bad + n_slow;

	ms[0] = (struct rmember){&a->keys, 0, NULL};
	for (int i = 0; i < n; i++) {
		uint8_t seed[32] = {0xd0, (uint8_t)i};

		assert_int_equal(proto_keys_from_seed(&keys[i], seed), 0);
		if (i < n_slow)
			snprintf(addrs[i], sizeof(addrs[i]), "slow%d.test:7400", i);
		else
			snprintf(addrs[i], sizeof(addrs[i]), "bad%d.test:7400", i - n_slow);
		ms[1 + i] = (struct rmember){&keys[i], 0, addrs[i]};
	}
	return make_roster(ms, (size_t)n + 1, epoch);
}

/*
 * Twenty members with host names: at most NODE_OVERLAY_RESOLVES_MAX getaddrinfo() calls run
 * at once (the pool has 16 threads here, so without the cap all twenty would), and every
 * member is tried (the backoff is long enough that none is tried twice meanwhile).
 */
static void test_resolve_cap(void **state)
{
	struct tnode a = {0};
	struct proto_keys keys[20];
	struct proto_roster *r;

	fake_reset();
	tnode_keys(&a, 1);
	a.lim = fast_limits();
	a.lim.degree = 20;
	/*
	 * No retry within the test: under load a failed name's retry could come before the
	 * last first try (20 ms of fast_limits() backoff), and "20 names" would not hold.
	 */
	a.lim.backoff_min_ms = a.lim.backoff_max_ms = 600000;
	tnode_start(&a, false);
	r = named_roster(&a, keys, 0, 20, 1);
	assert_int_equal(node_overlay_set_roster(a.ov, r), 0);
	WAIT_FOR(fake_read(&fake_calls) >= 20, 20000);
	assert_true(fake_read(&fake_peak) <= NODE_OVERLAY_RESOLVES_MAX);
	assert_int_equal(fake_tried("bad", 20, 20), 20); /* 20 names in the first 20 calls */
	assert_true(stats(&a).resolves_started >= 20);
	assert_true(stats(&a).resolving <= NODE_OVERLAY_RESOLVES_MAX);
	assert_int_equal(stats(&a).resolves_given_up, 0);
	tnode_stop(&a);
	assert_true(fake_read(&fake_peak) <= NODE_OVERLAY_RESOLVES_MAX);
	proto_roster_free(r);
	for (int i = 0; i < 20; i++)
		proto_keys_wipe(&keys[i]);
}

/*
 * Start @a (degree 8, resolve_timeout_ms @timeout_ms, backoff at least @backoff_ms) with a
 * roster of NODE_OVERLAY_RESOLVES_MAX slow members, and wait until their resolutions hold
 * every place. Returns that roster (epoch 1).
 */
static struct proto_roster *slow_start(struct tnode *a, struct proto_keys *keys,
				       uint64_t timeout_ms, uint64_t backoff_ms)
{
	struct proto_roster *r;

	fake_reset();
	tnode_keys(a, 1);
	a->lim = fast_limits();
	a->lim.degree = 8;
	a->lim.resolve_timeout_ms = timeout_ms;
	a->lim.backoff_min_ms = backoff_ms;
	if (a->lim.backoff_max_ms < backoff_ms)
		a->lim.backoff_max_ms = backoff_ms;
	tnode_start(a, false);
	r = named_roster(a, keys, NODE_OVERLAY_RESOLVES_MAX, 0, 1);
	assert_int_equal(node_overlay_set_roster(a->ov, r), 0);
	WAIT_FOR(fake_read(&fake_in_flight) == NODE_OVERLAY_RESOLVES_MAX, 20000);
	return r;
}

/*
 * Resolutions that never answer hold their places only until resolve_timeout_ms: then they
 * are given up (still running: libuv cannot cancel them) and the members queued behind them
 * are resolved. Given-up ones are capped too: never more than 2 x the cap in the pool.
 */
static void test_resolve_slow(void **state)
{
	struct tnode a = {0};
	struct proto_keys keys[8];
	struct proto_roster *r, *r2;

	r = slow_start(&a, keys, 200, fast_limits().backoff_min_ms);
	/* Then five more: each is tried although the slow ones never answer. */
	r2 = named_roster(&a, keys, NODE_OVERLAY_RESOLVES_MAX, 5, 2);
	assert_int_equal(node_overlay_set_roster(a.ov, r2), 0);
	WAIT_FOR(fake_tried("bad", 5, FAKE_NAMES) == 5, 20000);
	assert_int_equal(stats(&a).resolves_given_up, NODE_OVERLAY_RESOLVES_MAX);
	assert_true(stats(&a).resolves_abandoned <= NODE_OVERLAY_RESOLVES_MAX);
	assert_true(stats(&a).resolving <= NODE_OVERLAY_RESOLVES_MAX);
	assert_true(fake_read(&fake_peak) <= 2 * NODE_OVERLAY_RESOLVES_MAX);
	fake_release();
	tnode_stop(&a); /* waits for every resolution still running */
	assert_true(fake_read(&fake_peak) <= 2 * NODE_OVERLAY_RESOLVES_MAX);
	assert_int_equal(fake_read(&fake_in_flight), 0);
	proto_roster_free(r);
	proto_roster_free(r2);
	for (int i = 0; i < 8; i++)
		proto_keys_wipe(&keys[i]);
}

/*
 * A resolution that answers after its member left the roster frees its place at once: the
 * member queued behind it is resolved then, not when the others in flight answer or at
 * resolve_timeout_ms (here 10 minutes, so only the answer can move the queue).
 */
static void test_resolve_left_roster(void **state)
{
	struct tnode a = {0};
	struct proto_keys keys[4];
	struct proto_roster *r, *r2, *r3;

	_Static_assert(NODE_OVERLAY_RESOLVES_MAX == 3, "r3 below names the slow members");

	/* The slow members hold every place, then one more member queues behind them. */
	r = slow_start(&a, keys, 600000, 600000);
	r2 = named_roster(&a, keys, NODE_OVERLAY_RESOLVES_MAX, 1, 2);
	assert_int_equal(node_overlay_set_roster(a.ov, r2), 0);
	WAIT_FOR(stats(&a).resolve_waiting == 1, 20000);
	/* The member of slow0.test leaves; the others stay. */
	r3 = make_roster((struct rmember[]){{&a.keys, 0, NULL},
					    {&keys[1], 0, "slow1.test:7400"},
					    {&keys[2], 0, "slow2.test:7400"},
					    {&keys[3], 0, "bad0.test:7400"}},
			 4, 3);
	assert_int_equal(node_overlay_set_roster(a.ov, r3), 0);
	WAIT_FOR(stats(&a).epoch == 3, 20000);
	assert_int_equal(stats(&a).resolve_waiting, 1);
	assert_int_equal(fake_tried("bad", 1, FAKE_NAMES), 0);
	/* Its answer comes: the queued member is resolved at once. */
	fake_release_name("slow0.test");
	WAIT_FOR(fake_tried("bad", 1, FAKE_NAMES) == 1, 20000);
	assert_int_equal(stats(&a).resolves_given_up, 0);
	assert_true(fake_read(&fake_peak) <= NODE_OVERLAY_RESOLVES_MAX);
	fake_release();
	tnode_stop(&a);
	proto_roster_free(r);
	proto_roster_free(r2);
	proto_roster_free(r3);
	for (int i = 0; i < 4; i++)
		proto_keys_wipe(&keys[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_limits_and_addrs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_up_and_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tie_break, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_network_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_member, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_and_protocol, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversize_after_handshake, setup, teardown),
		cmocka_unit_test_setup_teardown(test_preauth_pool_and_slots, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ping_pong_rekey, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_queue_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_room_small_frames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_control_reserve, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drained, setup, teardown),
		cmocka_unit_test_setup_teardown(test_roster_removal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backoff_and_replacement, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unexpected_and_hostname, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_while_dialling, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_slow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_left_roster, setup, teardown),
	};

	/* Room in libuv's pool for more resolutions than the overlay's cap (node_pool_init()). */
	setenv("UV_THREADPOOL_SIZE", "16", 1);
	node_log_init(getenv("CHATHAM_TEST_DEBUG") ? NODE_LOG_DEBUG : NODE_LOG_ERR, false);
	/* As the daemon does (node/overlay/overlay.h): a peer closing while a link writes (a
	 * link closed as unexpected, a tie-break) killed this test with SIGPIPE under load. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
