/* SPDX-License-Identifier: MIT */
/*
 * bench_overlay_link — bulk transport throughput over a real loopback TCP link between two
 * overlay instances (node/overlay/overlay.h) in this one process, against the machine's raw AEAD.
 *
 * Overlay: node A sends RECON link messages of a fixed size to node B as fast as A's send
 * queue allows (flow control through the drained() callback) for about the given time; B
 * counts the link-message bytes it receives. Everything chatham does per message is in the
 * figure: link encoding is done once up front, but Noise encryption, framing, the write and
 * read system calls, the framer's copy, decryption and link decoding all run, on one thread
 * for both ends, exactly as in the daemon.
 * Raw: bare ChaCha20-Poly1305 (IETF) seal + open of a buffer of the same size, also one
 * thread, measured in the same run and interleaved with the overlay runs.
 *
 * Both are payload bytes per second of process CPU time (user + system, so the kernel's TCP
 * work counts against chatham); the ratio is overlay / raw. Target >= 0.50. Wall-clock
 * throughput of the overlay is printed too.
 *
 * Usage: bench_overlay_link [seconds per measurement, default 1.0]. Build without sanitizers
 * (-DCMAKE_BUILD_TYPE=Release) for meaningful figures. Exit status 0 whatever the figures,
 * 1 when the setup itself fails.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchclock.h"
#include "node/common/log.h"
#include "node/overlay/overlay.h" /* node's API: uv.h comes with it */
#include "proto/crypto.h"
#include "proto/keys.h"
#include "proto/link.h"
#include "proto/noise.h"
#include "proto/roster.h"

#define ROUNDS 3
#define BIN_OVERHEAD 5 /* array header, type, bin16 header: link message = payload + 5 */

static uv_loop_t loop;

struct peer {
	struct proto_keys keys;
	struct node_overlay *ov;
	struct node_link *link;
	bool stopped;
};

static struct peer a, b;

/* Sender state of the running measurement. */
static struct {
	uint8_t *msg;
	size_t len;
	double until; /* CLOCK_MONOTONIC second at which A stops sending */
	uint64_t sent, received;
	bool sending;
} run;

static void die(const char *what)
{
	fprintf(stderr, "bench_overlay_link: %s\n", what);
	exit(1);
}

/* Fill A's queue; stop when time is up. drained() calls this again. */
static void pump(void)
{
	if (!run.sending || !a.link)
		return;
	while (node_link_room(a.link) >= run.len + PROTO_NOISE_TAG_LEN + PROTO_NOISE_FRAME_HDR) {
		if (node_overlay_send(a.link, run.msg, run.len) != 0)
			die("send failed");
		run.sent += run.len;
		/* Check the clock every 64 messages: a syscall per message would skew it. */
		if ((run.sent / run.len) % 64 == 0 && bench_now_s() >= run.until) {
			run.sending = false;
			return;
		}
	}
}

static void on_up(void *ctx, struct node_link *l, int member)
{
	((struct peer *)ctx)->link = l;
}

static void on_down(void *ctx, struct node_link *l, int member, enum node_link_reason r)
{
	struct peer *p = ctx;

	if (p->link == l)
		p->link = NULL;
	if (r != NODE_LINK_R_STOP && r != NODE_LINK_R_EOF)
		fprintf(stderr, "bench_overlay_link: link lost: %s\n", node_link_reason_text(r));
}

static void on_message(void *ctx, struct node_link *l, int member, const struct proto_link_msg *m)
{
	if (m->type == PROTO_LINK_RECON)
		run.received += m->u.bin.len + BIN_OVERHEAD;
}

static void on_drained(void *ctx, struct node_link *l, int member)
{
	if (ctx == &a)
		pump();
}

static void on_stopped(void *arg)
{
	((struct peer *)arg)->stopped = true;
}

static void start_peer(struct peer *p, uint8_t seed_byte, const uint8_t netkey[32],
		       const uint8_t community[32])
{
	static const char *const addrs[] = {"127.0.0.1:0"};
	uint8_t seed[32] = {seed_byte};
	struct node_overlay_callbacks cb = {
		.up = on_up,
		.down = on_down,
		.message = on_message,
		.drained = on_drained,
		.ctx = p,
	};
	struct node_overlay_config cfg = {
		.listen = addrs,
		.n_listen = 1,
		.network_key = netkey,
		.keys = &p->keys,
		.lim = NODE_OVERLAY_LIMITS_DEFAULT,
	};

	if (proto_keys_from_seed(&p->keys, seed) != 0)
		die("key derivation failed");
	memcpy(cfg.community_id, community, 32);
	if (node_overlay_start(&loop, &cfg, &cb, &p->ov) != 0)
		die("cannot start an overlay on 127.0.0.1");
}

static int add_member(struct proto_roster *r, const struct peer *p, const char *name, uint16_t port)
{
	char addr[32], *addrs[1] = {addr};
	struct proto_member m;

	memset(&m, 0, sizeof(m));
	memcpy(m.id, p->keys.id_pk, 32);
	memcpy(m.transport_pk, p->keys.tx_pk, 32);
	memcpy(m.ring_pk, p->keys.ring_pk, 32);
	m.name = (char *)name;
	if (port) {
		snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
		m.n_addrs = 1;
		m.addrs = addrs;
	}
	return proto_roster_add_member(r, &m);
}

static void run_until(bool *flag, double secs)
{
	double t0 = bench_now_s();

	while (!*flag && bench_now_s() - t0 < secs)
		uv_run(&loop, UV_RUN_ONCE);
}

/* Payload bytes per CPU second over the loopback link; *@wall gets bytes per wall second. */
static double bench_overlay(size_t size, double secs, double *wall)
{
	double c0, w0, c1, w1;
	bool done = false;

	run.len = size;
	run.sent = run.received = 0;
	c0 = bench_cpu_s();
	w0 = bench_now_s();
	run.until = w0 + secs;
	run.sending = true;
	pump();
	while (!done) {
		uv_run(&loop, UV_RUN_ONCE);
		if (!a.link || !b.link)
			die("link lost during the measurement");
		done = !run.sending && run.received == run.sent;
	}
	c1 = bench_cpu_s();
	w1 = bench_now_s();
	*wall = (double)run.received / (w1 - w0);
	return (double)run.received / (c1 - c0);
}

static double bench_raw(size_t size, double secs)
{
	uint8_t key[32], *pt = malloc(size), *ct = malloc(size + 16), *out = malloc(size);
	double t0 = bench_now_s(), c0 = bench_cpu_s(), r;
	uint64_t nonce = 0;
	long n = 0;

	if (!pt || !ct || !out)
		die("out of memory");
	proto_random(key, sizeof(key));
	proto_random(pt, size);
	do {
		for (int k = 0; k < 16; k++, n++, nonce++)
			if (proto_noise_bench_raw_seal(key, nonce, pt, size, ct) ||
			    proto_noise_bench_raw_open(key, nonce, ct, size + 16, out))
				die("raw AEAD failed");
	} while (bench_now_s() - t0 < secs);
	r = (double)n * (double)size / (bench_cpu_s() - c0);
	free(pt);
	free(ct);
	free(out);
	return r;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = {16384, PROTO_LINK_MAX_BYTES};
	static const uint8_t community[32] = {0xbe, 0x4c};
	uint8_t netkey[32], *payload;
	struct proto_roster *roster;
	double secs = argc > 1 ? atof(argv[1]) : 1.0;

	signal(SIGPIPE, SIG_IGN); /* as the daemon does (node/overlay/overlay.h) */
	if (secs <= 0)
		secs = 1.0;
	if (proto_crypto_init() != 0)
		die("libsodium init failed");
	node_log_init(NODE_LOG_WARNING, false);
	if (uv_loop_init(&loop) != 0)
		die("uv_loop_init failed");
	proto_random(netkey, sizeof(netkey));
	start_peer(&a, 1, netkey, community);
	start_peer(&b, 2, netkey, community);
	roster = proto_roster_new();
	if (!roster)
		die("out of memory");
	memcpy(roster->community, community, 32);
	roster->epoch = 1;
	if (add_member(roster, &a, "a", 0) ||
	    add_member(roster, &b, "b", node_overlay_listen_port(b.ov, 0)))
		die("roster build failed");
	if (node_overlay_set_roster(a.ov, roster) || node_overlay_set_roster(b.ov, roster))
		die("set_roster failed");
	for (double t0 = bench_now_s(); !(a.link && b.link);) {
		uv_run(&loop, UV_RUN_ONCE);
		if (bench_now_s() - t0 > 5)
			die("the two overlays did not link within 5 s");
	}
	payload = malloc(PROTO_LINK_BIN_MAX);
	if (!payload)
		die("out of memory");
	proto_random(payload, PROTO_LINK_BIN_MAX);
	printf("bench_overlay_link: %s over loopback TCP, two overlays in one process, "
	       "%.1f s per measurement, best of %d\n",
	       PROTO_NOISE_PROTOCOL, secs, ROUNDS);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t size = sizes[s];
		double best_raw = 0, best_ov = 0, best_wall = 0, ratio;

		free(run.msg);
		run.msg = NULL;
		if (proto_link_encode_bin(PROTO_LINK_RECON, payload, size - BIN_OVERHEAD, &run.msg,
					  &run.len) != 0 ||
		    run.len != size)
			die("link message encoding failed");
		for (int round = 0; round < ROUNDS; round++) {
			double wall, raw = bench_raw(size, secs / 2),
				     ov = bench_overlay(size, secs, &wall);

			if (raw > best_raw)
				best_raw = raw;
			if (ov > best_ov)
				best_ov = ov;
			if (wall > best_wall)
				best_wall = wall;
		}
		ratio = best_ov / best_raw;
		printf("link %6zu B: overlay %.0f MB/s per CPU second (%.0f MB/s wall), raw "
		       "ChaCha20-Poly1305 seal+open %.0f MB/s, ratio %.2f (target >= 0.50) %s\n",
		       size, best_ov / 1e6, best_wall / 1e6, best_raw / 1e6, ratio,
		       ratio >= 0.5 ? "ok" : "BELOW TARGET");
	}
	free(run.msg);
	free(payload);
	node_overlay_stop(a.ov, on_stopped, &a);
	node_overlay_stop(b.ov, on_stopped, &b);
	run_until(&b.stopped, 5);
	run_until(&a.stopped, 5);
	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop) != 0)
		die("loop not empty at exit");
	proto_roster_free(roster);
	proto_keys_wipe(&a.keys);
	proto_keys_wipe(&b.keys);
	return 0;
}
