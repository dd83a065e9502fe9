/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness: the dissemination driver (node/overlay/dissem.h) through a fake overlay.
 *
 * No sockets and no Noise: this file defines the six link-layer functions the driver calls
 * (node_overlay_send, node_link_room, node_link_info, node_link_outbound, node_link_id,
 * node_link_close), so the linker takes them instead of node/overlay/link.c and overlay.c, and
 * it calls the driver's overlay callbacks (up, down, message, drained) itself. The driver keeps
 * its own libuv loop for its timer and its admission jobs (thread pool); the store is a fresh
 * LMDB store in a temporary directory for each input, the roster four members with keys from
 * fixed seeds (this node is member 0; links go to members 1..3).
 *
 * The input is a program: each operation is one byte, then a link byte L (the link to member
 * L%3+1), then its arguments:
 *   0          the link comes up (if it is not; a new link id each time)
 *   1          it goes down
 *   2 n2 B     a raw link message of n (2 bytes BE) bytes B on it: delivered when it decodes
 *   3 t s k v  a report signed by member s%4 (0: ourselves, as a peer would echo it), tlp
 *              k%5+1 (AMBER and above name us), kind k/5%4, indicator "v<v>.fuzz.example",
 *              delivered as PUSH/DIRECT/CATCHUP/STEM (t%4)
 *   4 t i      IHAVE/GRAFT/FETCH/ACK (t%4) of report i among those made (or of id i...i)
 *   5          run the loop until the admission jobs are done
 *   6 r        set the link's send room (r: 0 none, 1 a little, else plenty); drained()
 *              when it grows
 * Sealed sightings are on: this node holds share 1 of a 2-of-3 OPRF key (k 3, quota 50), so
 * raw messages of types 16-19 reach node/overlay/sealed.c (evaluation jobs included).
 * FUZZ_DISSEM_STATUS=1 in the environment prints the driver's status counters after each
 * input (what a seed reached).
 * Aborts when the driver sends a message that does not decode, sends on a link that is not
 * up, leaves a handle open after stopping (uv_loop_close() != 0), or ASan/UBSan object.
 */
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "node/common/log.h"
#include "node/common/snap.h"
#include "node/overlay/dissem.h"
#include "node/overlay/link.h"
#include "node/overlay/overlay.h"
#include "policy/config.h"
#include "proto/community.h"
#include "proto/crypto.h"
#include "proto/keys.h"
#include "proto/oprf.h"
#include "proto/link.h"
#include "proto/report.h"
#include "proto/roster.h"
#include "store/store.h"

#define MEMBERS 4
#define LINKS 3
#define MADE_MAX 16

struct node_link {
	uint64_t id;
	int member; /* roster index */
	bool up;
	size_t room;
};

static struct {
	bool ready;
	struct proto_keys keys[MEMBERS];
	struct proto_roster *roster;
	struct node_snap *snap;
	uint8_t community[32];
	struct proto_community comm; /* with sealed settings: this node holds OPRF share 1 */
	uint8_t shares[3][32];
} g;

/* One input's world. */
static struct {
	struct node_link links[LINKS];
	struct node_overlay_callbacks cb;
	uint8_t made[MADE_MAX][32];
	size_t n_made;
	uint64_t next_id;
	bool stopped;
} w;

/* ------------------------------------------------------------------ the fake link layer */

/* The harness has no overlay (node_dissem_attach(d, NULL)): nothing to dial on demand. */
void node_overlay_demand_clear(struct node_overlay *ov, unsigned source)
{
	(void)ov;
	(void)source;
}

void node_overlay_demand(struct node_overlay *ov, const uint8_t id[32], unsigned source)
{
	(void)ov;
	(void)id;
	(void)source;
}

int node_overlay_send(struct node_link *l, const uint8_t *msg, size_t len)
{
	struct proto_link_msg m;

	if (!l->up)
		abort(); /* the driver sent on a link it was told is down */
	if (proto_link_decode(&m, msg, len) != 0)
		abort(); /* the driver only ever sends well-formed link messages */
	return 0;
}

size_t node_link_room(const struct node_link *l)
{
	return l->room;
}

size_t node_link_send_queue_max(const struct node_link *l)
{
	(void)l;
	return (size_t)4 << 20; /* the default send_queue_max_bytes */
}

void node_link_info(const struct node_link *l, struct node_link_info *info)
{
	memset(info, 0, sizeof(*info));
	info->id = l->id;
	info->state = l->up ? NODE_LINK_UP : NODE_LINK_CLOSING;
	info->rtt_us = -1;
	info->peer.ss_family = AF_UNSPEC;
}

bool node_link_outbound(const struct node_link *l)
{
	return l->id % 2 == 0;
}

uint64_t node_link_id(const struct node_link *l)
{
	return l->id;
}

/* As the real overlay: an UP link's down() is called before this returns. */
void node_link_close(struct node_link *l, enum node_link_reason reason)
{
	if (!l->up)
		return;
	l->up = false;
	w.cb.down(w.cb.ctx, l, l->member, reason);
}

/* ------------------------------------------------------------------ set-up, once */

static int roster_fn(void *ctx, const uint8_t peer[32], const uint8_t *bytes, size_t len)
{
	(void)ctx;
	(void)peer;
	(void)bytes;
	(void)len;
	return 0; /* the daemon's business: adoption is not part of this harness */
}

static int index_of(const uint8_t id[32])
{
	for (size_t i = 0; i < g.roster->n_members; i++)
		if (memcmp(g.roster->members[i].id, id, 32) == 0)
			return (int)i;
	abort();
}

static void setup(void)
{
	struct policy_config pc;
	const struct proto_roster *ros;

	if (g.ready)
		return;
	if (proto_crypto_init() != 0)
		abort();
	node_log_init(NODE_LOG_ERR - 1, false); /* quiet: refusals are the point here */
	memset(g.community, 0xc5, 32);
	g.roster = proto_roster_new();
	if (!g.roster)
		abort();
	memcpy(g.roster->community, g.community, 32);
	g.roster->epoch = 1;
	for (int i = 0; i < MEMBERS; i++) {
		uint8_t seed[32] = {(uint8_t)(i + 1)};
		struct proto_member m = {0};
		char name[32];

		if (proto_keys_from_seed(&g.keys[i], seed) != 0)
			abort();
		snprintf(name, sizeof(name), "Member %d CERT", i);
		memcpy(m.id, g.keys[i].id_pk, 32);
		memcpy(m.transport_pk, g.keys[i].tx_pk, 32);
		memcpy(m.ring_pk, g.keys[i].ring_pk, 32);
		m.name = name;
		if (proto_roster_add_member(g.roster, &m) != 0)
			abort();
	}
	policy_config_init(&pc);
	memcpy(pc.own_id, g.keys[0].id_pk, 32);
	memcpy(pc.community, g.community, 32);
	if (policy_config_set_community_name(&pc, "Fuzz") != 0)
		abort();
	ros = g.roster;
	g.snap = node_snap_new(&pc, &ros, 1);
	if (!g.snap)
		abort();
	/* Sealed sightings on (k 3, OPRF 2-of-3), so link types 16-19 reach their driver. */
	memcpy(g.comm.id, g.community, 32);
	strcpy(g.comm.name, "Fuzz");
	g.comm.threshold = 1;
	g.comm.n_stewards = 1;
	memcpy(g.comm.stewards[0], g.keys[0].id_pk, 32);
	g.comm.sealed = (struct proto_community_sealed){
		.k = 3, .t = 2, .quota = 50, .window_days = 30, .n = 3};
	if (proto_oprf_deal(g.shares, g.comm.sealed.vks, g.comm.sealed.vk, 2, 3) != 0 ||
	    proto_community_check(&g.comm) != 0)
		abort();
	g.ready = true;
}

/* ------------------------------------------------------------------ the program */

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t next(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static struct node_link *link_of(struct in *in)
{
	return &w.links[next(in) % LINKS];
}

static void up(struct node_link *l)
{
	if (l->up)
		return;
	l->up = true;
	l->id = ++w.next_id; /* a new link to the same member has a new id */
	l->room = (size_t)1 << 20;
	w.cb.up(w.cb.ctx, l, l->member);
}

static void deliver(struct node_link *l, const uint8_t *buf, size_t len)
{
	struct proto_link_msg m;

	if (l->up && proto_link_decode(&m, buf, len) == 0)
		w.cb.message(w.cb.ctx, l, l->member, &m);
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A report by member @s, sent on @l as link message @type. */
static void report(struct node_link *l, enum proto_link_type type, unsigned s, uint8_t k, uint8_t v)
{
	struct proto_report r;
	char value[40];
	uint8_t *sig = NULL, *msg = NULL;
	size_t sig_len = 0, len = 0;

	memset(&r, 0, sizeof(r));
	memcpy(r.community, g.community, 32);
	r.tlp = (uint8_t)(k % 5 + 1);
	r.kind = (uint8_t)(k / 5 % 4);
	r.confidence = 50;
	r.created_ms = wall_ms() - (uint64_t)v * 1000; /* admission refuses the future */
	r.ind_type = PROTO_IND_DOMAIN;
	snprintf(value, sizeof(value), "v%u.fuzz.example", v);
	r.ind_value = (struct proto_str){value, strlen(value)};
	r.prov = PROTO_PROV_ATTRIBUTED;
	memcpy(r.signer, g.keys[s].id_pk, 32);
	r.epoch = 1;
	if (r.tlp >= PROTO_TLP_AMBER) {
		r.n_recipients = 1;
		memcpy(r.recipients[0], g.keys[0].id_pk, 32); /* us */
	}
	if (proto_report_sign(&r, g.keys[s].id_sk, &sig, &sig_len) != 0)
		abort(); /* the fields above are always valid */
	if (w.n_made < MADE_MAX)
		proto_report_id(sig, sig_len, w.made[w.n_made++]);
	if (proto_link_encode_bin(type, sig, sig_len, &msg, &len) == 0)
		deliver(l, msg, len);
	free(sig);
	free(msg);
}

static void ids(struct node_link *l, uint8_t t, uint8_t i)
{
	static const enum proto_link_type types[] = {PROTO_LINK_IHAVE, PROTO_LINK_GRAFT,
						     PROTO_LINK_FETCH, PROTO_LINK_ACK};
	uint8_t id[1][32], *msg = NULL;
	size_t len = 0;
	int rc;

	if (w.n_made)
		memcpy(id[0], w.made[i % w.n_made], 32);
	else
		memset(id[0], i, 32);
	if (types[t % 4] == PROTO_LINK_ACK)
		rc = proto_link_encode_ack(id[0], &msg, &len);
	else
		rc = proto_link_encode_ids(types[t % 4], (const uint8_t(*)[32])id, 1, &msg, &len);
	if (rc == 0)
		deliver(l, msg, len);
	free(msg);
}

/* Let the admission jobs (thread pool) finish and their completions run. */
static void settle(uv_loop_t *loop, struct node_dissem *d)
{
	/* Block for events (a pool job's completion wakes the loop), not a spin that a
	 * loaded machine can outlast. */
	for (int i = 0; i < 100000 && !node_dissem_idle(d); i++)
		if (!uv_run(loop, UV_RUN_ONCE))
			break;
	uv_run(loop, UV_RUN_NOWAIT);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void on_stopped(void *arg)
{
	(void)arg;
	w.stopped = true;
}

static void run(uv_loop_t *loop, struct node_dissem *d, struct in *in)
{
	static const enum proto_link_type payload[] = {PROTO_LINK_PUSH, PROTO_LINK_DIRECT,
						       PROTO_LINK_CATCHUP, PROTO_LINK_STEM};

	while (in->n) {
		uint8_t op = next(in) % 7;
		struct node_link *l = link_of(in);

		switch (op) {
		case 0:
			up(l);
			break;
		case 1:
			node_link_close(l, NODE_LINK_R_IO);
			break;
		case 2: {
			size_t n = (size_t)next(in) << 8;

			n |= next(in);
			n = n < in->n ? n : in->n;
			deliver(l, in->p, n);
			in->p += n;
			in->n -= n;
			break;
		}
		case 3: {
			uint8_t t = next(in), s = next(in), k = next(in);

			report(l, payload[t % 4], s % MEMBERS, k, next(in));
			break;
		}
		case 4: {
			uint8_t t = next(in);

			ids(l, t, next(in));
			break;
		}
		case 5:
			settle(loop, d);
			break;
		case 6: {
			uint8_t r = next(in);
			size_t was = l->room;

			l->room = r == 0 ? 0 : r == 1 ? 1024 : (size_t)1 << 20;
			if (l->up && l->room > was && w.cb.drained)
				w.cb.drained(w.cb.ctx, l, l->member);
			break;
		}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct node_dissem_config cfg = {
		.retry_min_ms = 1000,
		.retry_max_ms = 60000,
		.member_rate = {.per_min = 600, .burst = 100},
		.abuse = POLICY_ABUSE_CONFIG_DEFAULT,
	};
	char dir[64];
	struct store_config sc = {.dir = dir, .map_size_initial = (size_t)1 << 20};
	struct in in = {data, size};
	struct store *store = NULL;
	struct node_dissem *d;
	uv_loop_t loop;

	setup();
	/* tmpfs when there is one: each input opens a store and commits durably. */
	snprintf(dir, sizeof(dir), "%s/fuzz_dissem.XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	memset(&w, 0, sizeof(w));
	for (int i = 0; i < LINKS; i++)
		w.links[i].member = index_of(g.keys[i + 1].id_pk);
	if (!mkdtemp(dir) || store_open(&store, &sc) != 0 || uv_loop_init(&loop) != 0)
		abort();
	d = node_dissem_new(&loop, store, g.snap, &cfg, roster_fn, NULL);
	if (!d)
		abort();
	node_dissem_callbacks(d, &w.cb);
	if (node_dissem_sealed_setup(d, &g.comm, 1, g.shares[0]) != 0 ||
	    node_dissem_attach(d, NULL) != 0)
		abort();
	run(&loop, d, &in);
	settle(&loop, d);
	if (getenv("FUZZ_DISSEM_STATUS")) { /* what a seed reached, for whoever writes seeds */
		json_t *st = node_dissem_status_json(d), *se = node_dissem_sealed_json(d);

		json_dumpf(st, stderr, JSON_COMPACT);
		fputc('\n', stderr);
		json_dumpf(se, stderr, JSON_COMPACT);
		fputc('\n', stderr);
		json_decref(st);
		json_decref(se);
	}
	for (int i = 0; i < LINKS; i++)
		node_link_close(&w.links[i], NODE_LINK_R_STOP);
	node_dissem_stop(d, on_stopped, NULL);
	/* Until stop completes; uv_run() returning 0 with it incomplete means it never will. */
	while (!w.stopped && uv_run(&loop, UV_RUN_ONCE))
		;
	if (!w.stopped || uv_loop_close(&loop) != 0)
		abort(); /* a handle or job outlived the driver */
	store_close(store);
	if (nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS) != 0)
		abort();
	return 0;
}
