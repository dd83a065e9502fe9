/* SPDX-License-Identifier: MIT */
/*
 * node/overlay/sealed.c — sealed sightings on the overlay (docs/SEALED.md §5): the
 * dissemination driver's job for link messages 16-19.
 *
 * Member side (node_dissem_seal()): a pool job blinds the values; the loop sends one
 * OPRF_EVAL to t share holders among the links that announced a share (OPRF_HOLDER), each
 * with a distinct index; when t answers are in, a pool job verifies every DLEQ proof,
 * combines, seals (ring signature over the roster) and stores the submissions, and the loop
 * sends them to every link and answers the client. Both jobs of every request go through
 * one lane of the thread pool (node/common/pool.h), at most one per CPU at once: requests
 * are otherwise bounded only by [api] max_connections. A holder whose proof fails is logged
 * with its index, never asked again while its link lasts, and replaced by another holder;
 * a holder that refuses for quota is replaced too, and when no holder is left the request
 * fails with the quota each one reported.
 *
 * Share-holder side: an OPRF_EVAL is charged to the asking member's daily quota (a durable
 * counter, store/sealed.h) and evaluated in a pool job; the answer says how much is left.
 *
 * Every node: a SEALED message is checked on the loop (community, k, epoch held, bucket in
 * the window, not held yet), verified and stored in a pool job, then sent on to every other
 * link; on link-up a node sends the peer everything it holds, a page a second (submissions
 * are few and small next to reports, and a group must reach every node to open there; the
 * receiver drops what it holds before verifying anything). Groups that received a new
 * submission are opened in a pool job (proto_sealed_open()): once k distinct members'
 * shares agree, the value and count are recorded (store_sealed_opened_put()).
 *
 * All state is loop-thread only; pool jobs own their inputs and outputs until their after-
 * work callback, and hold a snapshot reference for the rosters they read.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/common/log.h"
#include "node/common/pool.h"
#include "node/common/snap.h"
#include "node/common/workq.h"
#include "node/overlay/dissem_int.h"
#include "node/overlay/overlay.h"
#include "proto/array.h"
#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/indicator.h"
#include "proto/oprf.h"
#include "proto/ring.h"
#include "proto/sealed.h"
#include "proto/sealed_msg.h"
#include "store/sealed.h"

#define DAY_MS 86400000ull
#define ASK_TIMEOUT_MS 10000
#define EVAL_QUEUE_MAX 64   /* share holder: requests waiting for the pool */
#define IN_MAX 8192	    /* received submissions waiting for verification */
#define PEND_SLOTS 16384    /* hash set of their keys (and the running job's): 2 * IN_MAX */
#define IN_BATCH 512	    /* verified per job */
#define RESEND_PAGE 256	    /* submissions sent per link per second after link-up */
#define RESEND_QUEUE_MAX 64 /* ...while the link's queue holds fewer messages */
#define OPEN_GROUP_MAX 4096 /* submissions of one group read for opening */
#define PENDING_GROUPS_MAX 65536
#define EXPIRE_EVERY_MS 60000
#define SELF_SLOT UINT32_MAX /* the answer of this node's own share */
#define RTT_KEPT 1024	     /* newest OPRF round trips kept for status */

enum ask_state { ASK_BLINDING, ASK_WAITING, ASK_FINISHING };

struct answer {
	uint32_t index; /* 1-based share index */
	uint32_t slot;
	uint8_t (*z)[32];
	uint8_t proof[PROTO_OPRF_PROOF_BYTES];
};

struct ask {
	struct ask *next;
	struct node_sealed *sd;
	uint64_t id;
	enum ask_state state;
	struct node_request *req; /* owned: the values */
	node_dissem_seal_cb cb;
	void *arg;
	struct node_snap *snap;
	size_t m;
	uint8_t (*x)[32], (*b)[32], (*rho)[32];
	uint8_t (*self_z)[32]; /* this node's own evaluation when it holds a share */
	uint8_t self_proof[PROTO_OPRF_PROOF_BYTES];
	int self_err;
	bool asked[NODE_DISSEM_LINKS_MAX];	  /* slots asked so far */
	bool waiting[NODE_DISSEM_LINKS_MAX];	  /* asked, no answer yet */
	uint64_t asked_ns[NODE_DISSEM_LINKS_MAX]; /* when (uv_hrtime()), for the round trip */
	struct answer ans[PROTO_OPRF_STEWARDS_MAX];
	size_t n_ans;
	uint64_t deadline;
	uint64_t quota_seen; /* holders that refused for quota */
	uint64_t quota_min;  /* smallest quota left they reported */
	/* finish job results */
	uint8_t **subs;
	size_t *sub_len;
	size_t n_new;
	uint32_t bad[PROTO_OPRF_STEWARDS_MAX]; /* slots whose proof failed */
	size_t n_bad;
	int err;
	struct node_pool_work work; /* in the ask lane: blinding, then finishing */
};

struct eval_job {
	uv_work_t w;
	struct node_sealed *sd;
	struct node_link *l;
	uint8_t peer[32];
	struct proto_sealed_eval e;
	struct proto_sealed_answer a;
	int err;
};

struct in_sub {
	uint8_t key[STORE_SEALED_KEY_LEN]; /* g || ring tag */
	uint8_t *bytes;
	size_t len;
	struct node_link *l; /* the link it came on: not sent back there */
	uint8_t peer[32];    /* that link's member: a forged one is its doing */
	uint32_t allow;	     /* index of the member's allowance in its job's allow[] */
	bool stored;
	bool blame;   /* its signature (or encoding) is bad: charged to the member of its link */
	bool dropped; /* not verified: its member is past its budget */
};

struct node_sealed {
	struct node_dissem *d;
	bool enabled;
	uint8_t community[32];
	struct proto_community_sealed set;
	bool holder;
	uint32_t share_index;
	uint8_t share[32];
	uint32_t link_holder[NODE_DISSEM_LINKS_MAX]; /* index its peer announced, 0 none */
	uint64_t link_gen[NODE_DISSEM_LINKS_MAX];    /* the OPRF key generation it announced */
	/* Keys in force from a newer roster, applied by rekey_apply() once no job runs. */
	bool rekey_pending;
	struct proto_community_sealed rekey_set;
	uint32_t rekey_index;
	uint8_t rekey_share[32];
	bool link_bad[NODE_DISSEM_LINKS_MAX]; /* its peer answered wrongly */
	bool resend[NODE_DISSEM_LINKS_MAX];
	bool resend_started[NODE_DISSEM_LINKS_MAX];
	uint8_t resend_after[NODE_DISSEM_LINKS_MAX][STORE_SEALED_KEY_LEN];
	uint64_t quota_left[PROTO_OPRF_STEWARDS_MAX + 1];
	bool quota_known[PROTO_OPRF_STEWARDS_MAX + 1];
	struct ask *asks;
	struct node_pool_lane lane; /* the asks' pool jobs: at most one per CPU at once */
	uint64_t next_id;
	struct eval_job **evq; /* waiting share-holder jobs */
	size_t n_evq, cap_evq;
	bool eval_running;
	struct in_sub *in;
	size_t n_in, cap_in;
	/*
	 * Keys of the submissions queued or being verified, so that the copies every link
	 * delivers (a flood, re-sends after link-up) are verified once: open addressing,
	 * linear probing, deletion by backward shift. Keys are a hash output already.
	 */
	uint8_t (*pend)[STORE_SEALED_KEY_LEN];
	bool *pend_used;
	bool in_running;
	uint8_t (*groups)[32];
	size_t n_groups, cap_groups;
	bool open_running;
	size_t open_n; /* the running opening job's groups, + 1 when it sweeps (status) */
	/*
	 * The ring floor of the current snapshot (proto_sealed_ring_floor()): submissions of
	 * older epochs are refused and stop counting; @sweep asks the next opening job to delete
	 * the held ones and evaluate their groups again (at start and whenever it rises).
	 */
	uint64_t floor;
	bool sweep;
	/* OPRF round trips (question sent -> answer taken), microseconds, a ring. */
	uint32_t rtt_us[RTT_KEPT];
	uint64_t n_rtt;
	uint64_t next_expire;
	unsigned jobs;
	struct {
		uint64_t own, received, duplicates, refused, stored, forwarded, resent;
		uint64_t opened, cheats, evals, eval_elements, quota_refused, open_dropped;
		uint64_t failed, below_floor;
		uint64_t verified;	/* ring signatures checked (a pool job each) */
		uint64_t abuse_dropped; /* submissions of members past their budget, unverified */
	} c;
};

static uint32_t today(void)
{
	return (uint32_t)(node_dissem_wall_ms() / DAY_MS);
}

static uint32_t slot_no(struct node_dissem *d, struct dlink *dl)
{
	return (uint32_t)(dl - d->links);
}

static void job_begin(struct node_sealed *sd)
{
	sd->jobs++;
	sd->d->jobs_running++;
}

static void job_end(struct node_sealed *sd)
{
	sd->jobs--;
	sd->d->jobs_running--;
}

/* ------------------------------------------------------------------ life cycle */

int node_sealed_new(struct node_dissem *d)
{
	d->sealed = calloc(1, sizeof(*d->sealed));
	if (!d->sealed)
		return -ENOMEM;
	d->sealed->d = d;
	d->sealed->next_id = 1;
	node_pool_lane_init(&d->sealed->lane, d->loop, node_pool_cpus());
	return 0;
}

static void ask_fail(struct ask *a, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void ask_free(struct ask *a)
{
	if (!a)
		return;
	/*
	 * x (the values' ids), rho (the blinds) and the evaluations z give the OPRF outputs r,
	 * from which each value's group secrets follow: wiped like any secret.
	 */
	if (a->x)
		proto_wipe(a->x, a->m * 32);
	if (a->rho)
		proto_wipe(a->rho, a->m * 32);
	if (a->self_z)
		proto_wipe(a->self_z, a->m * 32);
	free(a->x);
	free(a->b);
	free(a->rho);
	free(a->self_z);
	for (size_t i = 0; i < a->n_ans; i++) {
		if (a->ans[i].z)
			proto_wipe(a->ans[i].z, a->m * 32);
		free(a->ans[i].z);
	}
	if (a->subs)
		for (size_t i = 0; i < a->m; i++)
			free(a->subs[i]);
	free(a->subs);
	free(a->sub_len);
	node_request_free(a->req);
	node_snap_unref(a->snap);
	free(a);
}

void node_sealed_free(struct node_dissem *d)
{
	struct node_sealed *sd = d->sealed;

	if (!sd)
		return;
	/* The API closes after the driver: clients still waiting get an answer. */
	while (sd->asks)
		ask_fail(sd->asks, NODE_E_SHUTDOWN, "node is shutting down; retry later");
	for (size_t i = 0; i < sd->n_evq; i++)
		free(sd->evq[i]);
	free(sd->evq);
	for (size_t i = 0; i < sd->n_in; i++)
		free(sd->in[i].bytes);
	free(sd->in);
	free(sd->pend);
	free(sd->pend_used);
	free(sd->groups);
	proto_wipe(sd->share, sizeof(sd->share));
	proto_wipe(sd->rekey_share, sizeof(sd->rekey_share));
	free(sd);
	d->sealed = NULL;
}

static uint64_t snap_floor(const struct node_snap *snap)
{
	return snap->n_rosters ? proto_sealed_ring_floor(snap->rosters, snap->n_rosters) : 0;
}

int node_dissem_sealed_setup(struct node_dissem *d, const struct proto_community *c,
			     uint32_t share_index, const uint8_t share[32])
{
	struct node_sealed *sd = d->sealed;

	if (!c->sealed.k)
		return 0;
	sd->enabled = true;
	memcpy(sd->community, c->id, 32);
	sd->set = c->sealed;
	/* Submissions stored before a roster change that happened while the node was down. */
	sd->floor = snap_floor(d->snap);
	sd->sweep = true;
	if (share_index) {
		int err = proto_community_oprf_share_check(c, c->id, share_index, share);

		if (err)
			return err;
		sd->holder = true;
		sd->share_index = share_index;
		memcpy(sd->share, share, 32);
	}
	return 0;
}

/* ------------------------------------------------------------------ sending */

static void send_bin(struct node_dissem *d, struct dlink *dl, enum proto_link_type type,
		     const uint8_t *p, size_t len)
{
	uint8_t *msg;
	size_t mlen;

	if (proto_link_encode_bin(type, p, len, &msg, &mlen) == 0)
		node_dissem_enqueue(d, dl, Q_MSG, NULL, msg, mlen);
}

/* Send @bytes as SEALED to every up link but @except (NULL: all). */
static void flood(struct node_dissem *d, const uint8_t *bytes, size_t len, struct node_link *except)
{
	for (size_t i = 0; i < NODE_DISSEM_LINKS_MAX; i++) {
		struct dlink *dl = &d->links[i];

		if (!dl->l || dl->l == except)
			continue;
		send_bin(d, dl, PROTO_LINK_SEALED, bytes, len);
		d->sealed->c.forwarded++;
	}
}

/* ------------------------------------------------------------------ opening */

static void want_open(struct node_sealed *sd, const uint8_t g[32])
{
	for (size_t i = 0; i < sd->n_groups; i++)
		if (memcmp(sd->groups[i], g, 32) == 0)
			return;
	if (sd->n_groups == PENDING_GROUPS_MAX ||
	    proto_array_grow((void **)&sd->groups, &sd->cap_groups, sd->n_groups + 1, 32))
		return; /* the next submission of that group asks again */
	memcpy(sd->groups[sd->n_groups++], g, 32);
}

struct open_job {
	uv_work_t w;
	struct node_sealed *sd;
	uint8_t (*groups)[32];
	size_t n;
	bool expire, sweep;
	uint64_t floor;
	uint32_t oldest_bucket, oldest_day;
	uint64_t opened, dropped, expired, below_floor;
};

struct group_read {
	struct proto_sealed *subs;
	size_t n;
	uint64_t floor;
};

static int read_sub(void *ctx, const uint8_t *key, uint32_t bucket, const uint8_t *bytes,
		    size_t len)
{
	struct group_read *gr = ctx;

	(void)key;
	(void)bucket;
	if (gr->n == OPEN_GROUP_MAX)
		return 1;
	/*
	 * Stored submissions were verified before they were stored; one below the floor (a
	 * verification that raced a roster change, or one the sweep has not reached yet) does
	 * not count.
	 */
	if (proto_sealed_decode(bytes, len, &gr->subs[gr->n]) != 0)
		return 0;
	if (gr->subs[gr->n].epoch >= gr->floor)
		gr->n++;
	return 0;
}

/* Evaluate group @g: open it, or count more members, when k of its shares agree. */
static void open_group(struct open_job *j, struct group_read *gr, const struct proto_sealed **ptrs,
		       const uint8_t g[32])
{
	struct store_sealed_opened o = {0};
	struct proto_sealed_opened op;
	bool changed;

	gr->n = 0;
	if (store_sealed_group(j->sd->d->store, NULL, g, read_sub, gr) < 0 ||
	    gr->n < PROTO_SEALED_K_MIN)
		return;
	for (size_t k = 0; k < gr->n; k++)
		ptrs[k] = &gr->subs[k];
	if (proto_sealed_open(&op, ptrs, gr->n) != 0)
		return;
	memcpy(o.group, g, 32);
	o.ind = op.value.ind;
	o.confidence = op.value.confidence;
	o.count = op.count;
	o.first_bucket = op.first_bucket;
	o.last_bucket = op.last_bucket;
	o.opened_ms = o.updated_ms = node_dissem_wall_ms();
	j->dropped += op.dropped;
	if (store_sealed_opened_put(j->sd->d->store, &o, &changed) == 0 && changed) {
		j->opened++;
		log_info("sealed: a value was opened: %u members sealed it", op.count);
	}
}

#define SWEEP_PAGE 4096

struct sweep_ctx {
	uint64_t floor;
	uint8_t (*keys)[STORE_SEALED_KEY_LEN]; /* held submissions below the floor */
	size_t n, cap;
	uint8_t last[STORE_SEALED_KEY_LEN];
	int err;
};

static int sweep_one(void *ctx, const uint8_t *key, uint32_t bucket, const uint8_t *bytes,
		     size_t len)
{
	struct sweep_ctx *sc = ctx;
	struct proto_sealed s;

	(void)bucket;
	memcpy(sc->last, key, STORE_SEALED_KEY_LEN);
	if (proto_sealed_decode(bytes, len, &s) != 0 || s.epoch >= sc->floor)
		return 0;
	if (proto_array_grow((void **)&sc->keys, &sc->cap, sc->n + 1, STORE_SEALED_KEY_LEN)) {
		sc->err = -ENOMEM;
		return 1;
	}
	memcpy(sc->keys[sc->n++], key, STORE_SEALED_KEY_LEN);
	return 0;
}

/*
 * The ring floor rose (or the node started): delete every held submission below it, so
 * that it is neither counted nor re-sent and a member's new copy under a current epoch is
 * not taken for a duplicate of it, then evaluate the groups it belonged to again. A walk
 * over everything held, one read transaction per page; it runs only when the floor moves.
 */
static void sweep_floor(struct open_job *j, struct group_read *gr, const struct proto_sealed **ptrs)
{
	struct store *st = j->sd->d->store;
	struct sweep_ctx sc = {.floor = j->floor};
	size_t deleted = 0;
	bool started = false;
	int n;

	do {
		n = store_sealed_scan(st, NULL, started ? sc.last : NULL, SWEEP_PAGE, sweep_one,
				      &sc);
		started = true;
	} while (n == SWEEP_PAGE && !sc.err);
	if (n < 0 || sc.err) {
		log_warning("sealed: cannot sweep the submissions below the ring floor: %s",
			    proto_error_str(sc.err ? sc.err : n));
		goto out;
	}
	if (store_sealed_delete(st, (const uint8_t(*)[STORE_SEALED_KEY_LEN])sc.keys, sc.n,
				&deleted) != 0) {
		log_warning("sealed: cannot delete the submissions below the ring floor");
		goto out;
	}
	j->below_floor += deleted;
	/* Keys are in group order: evaluate each group once. */
	for (size_t i = 0; i < sc.n; i++)
		if (i == 0 || memcmp(sc.keys[i], sc.keys[i - 1], 32) != 0)
			open_group(j, gr, ptrs, sc.keys[i]);
out:
	free(sc.keys);
}

static void open_work(uv_work_t *w)
{
	struct open_job *j = w->data;
	struct store *st = j->sd->d->store;
	struct group_read gr = {.subs = malloc(OPEN_GROUP_MAX * sizeof(*gr.subs)),
				.floor = j->floor};
	const struct proto_sealed **ptrs = malloc(OPEN_GROUP_MAX * sizeof(*ptrs));

	if (j->expire) {
		size_t n = 0;

		if (store_sealed_expire(st, j->oldest_bucket, j->oldest_day, 100000, &n) == 0)
			j->expired = n;
	}
	if (j->sweep && gr.subs && ptrs)
		sweep_floor(j, &gr, ptrs);
	for (size_t i = 0; gr.subs && ptrs && i < j->n; i++)
		open_group(j, &gr, ptrs, j->groups[i]);
	free(gr.subs);
	free(ptrs);
}

static void kick_open(struct node_sealed *sd, bool expire);

static void open_done(uv_work_t *w, int status)
{
	struct open_job *j = w->data;
	struct node_sealed *sd = j->sd;

	(void)status;
	sd->open_running = false;
	sd->open_n = 0;
	sd->c.opened += j->opened;
	sd->c.below_floor += j->below_floor;
	if (j->below_floor)
		log_info("sealed: %llu submission(s) of roster epochs below the ring floor %llu "
			 "deleted (a member left or changed its ring key)",
			 (unsigned long long)j->below_floor, (unsigned long long)j->floor);
	/* An opening appended a main feed entry: the SIEM export renders it. */
	if (j->opened && sd->d->commit_fn && !sd->d->stopping)
		sd->d->commit_fn(sd->d->commit_ctx);
	sd->c.open_dropped += j->dropped;
	if (j->expired)
		log_info("sealed: %llu submission(s) expired", (unsigned long long)j->expired);
	free(j->groups);
	free(j);
	job_end(sd);
	if (sd->d->stopping) {
		node_dissem_maybe_finish_stop(sd->d);
		return;
	}
	if (sd->n_groups || sd->sweep)
		kick_open(sd, false);
}

static void kick_open(struct node_sealed *sd, bool expire)
{
	struct open_job *j;
	uint32_t day = today();

	if (sd->open_running || sd->d->stopping || (!sd->n_groups && !expire && !sd->sweep))
		return;
	j = calloc(1, sizeof(*j));
	if (!j)
		return;
	j->sd = sd;
	j->groups = sd->groups;
	j->n = sd->n_groups;
	sd->groups = NULL;
	sd->n_groups = sd->cap_groups = 0;
	j->expire = expire;
	j->sweep = sd->sweep;
	j->floor = sd->floor;
	j->oldest_bucket = day >= sd->set.window_days ? day - sd->set.window_days + 1 : 0;
	j->oldest_day = day ? day - 1 : 0;
	j->w.data = j;
	sd->open_running = true;
	sd->open_n = j->n + j->sweep;
	sd->sweep = false;
	job_begin(sd);
	if (node_workq_queue(sd->d->loop, &j->w, open_work, open_done)) {
		sd->open_running = false;
		sd->open_n = 0;
		sd->sweep = j->sweep;
		job_end(sd);
		free(j->groups);
		free(j);
	}
}

void node_sealed_on_snap(struct node_dissem *d)
{
	struct node_sealed *sd = d->sealed;
	uint64_t floor;

	if (!sd || !sd->enabled)
		return;
	floor = snap_floor(d->snap);
	if (floor <= sd->floor)
		return;
	log_info("sealed: ring floor now roster epoch %llu: submissions of older epochs no "
		 "longer count",
		 (unsigned long long)floor);
	sd->floor = floor;
	sd->sweep = true;
	kick_open(sd, false);
}

/* ------------------------------------------------------------------ received submissions */

static size_t pend_home(const uint8_t key[STORE_SEALED_KEY_LEN])
{
	uint64_t h;

	memcpy(&h, key + 32, sizeof(h)); /* the ring tag: uniform, and distinct per member */
	return (size_t)(h ^ (h >> 29)) & (PEND_SLOTS - 1);
}

/* Slot of @key, or of the free slot where it would go. */
static size_t pend_find(const struct node_sealed *sd, const uint8_t key[STORE_SEALED_KEY_LEN])
{
	size_t i = pend_home(key);

	while (sd->pend_used[i] && memcmp(sd->pend[i], key, STORE_SEALED_KEY_LEN) != 0)
		i = (i + 1) & (PEND_SLOTS - 1);
	return i;
}

static void pend_del(struct node_sealed *sd, const uint8_t key[STORE_SEALED_KEY_LEN])
{
	size_t i = pend_find(sd, key), j = i;

	if (!sd->pend_used[i])
		return;
	sd->pend_used[i] = false;
	for (;;) {
		size_t h;

		j = (j + 1) & (PEND_SLOTS - 1);
		if (!sd->pend_used[j])
			return;
		h = pend_home(sd->pend[j]);
		/* Move j back into the hole unless its home lies cyclically in (i, j]. */
		if ((i <= j) ? (i < h && h <= j) : (i < h || h <= j))
			continue;
		memcpy(sd->pend[i], sd->pend[j], STORE_SEALED_KEY_LEN);
		sd->pend_used[i] = true;
		sd->pend_used[j] = false;
		i = j;
	}
}

struct in_job {
	uv_work_t w;
	struct node_sealed *sd;
	struct node_snap *snap;
	struct in_sub *items;
	size_t n;
	struct allowance **allow; /* referenced, one per member */
	size_t n_allow;
	uint64_t verified;
};

/*
 * Verify the ring signature of @bytes under the roster of its epoch; fill @s. Every ring
 * member must still be a member of the newest roster with the same ring key: a member's
 * ring tag is one per ring key and group, so a member that rotated its keys (or left, or
 * was retired) would otherwise count twice toward k, once under each key's epoch
 * (PROTO_E_RING_SIGNER: a ring member's key is no longer current). *@blame is set when the
 * signature itself is bad: an honest node forwards only submissions it verified, so that one
 * is the doing of the member whose link delivered it (a ring that is no longer current, or an
 * epoch this node no longer holds, can be an honest node's older view).
 */
static int verify_sub(const struct node_snap *snap, const uint8_t *bytes, size_t len,
		      struct proto_sealed *s, bool *blame)
{
	const struct proto_roster *r;
	uint8_t(*keys)[32];
	int err = proto_sealed_decode(bytes, len, s);

	if (err)
		return err;
	r = node_snap_roster(snap, s->epoch);
	if (!r)
		return PROTO_E_ROSTER_EPOCH;
	keys = malloc((size_t)s->ring_n * 32);
	if (!keys)
		return -ENOMEM;
	for (size_t i = 0; i < s->ring_n; i++) {
		const struct proto_member *m =
			s->ring[i] < r->n_members ? &r->members[s->ring[i]] : NULL;
		int now = m && snap->newest ? proto_roster_find_member(snap->newest, m->id) : -1;

		/* Public keys: memcmp is enough. */
		if (now < 0 || memcmp(snap->newest->members[now].ring_pk, m->ring_pk, 32) != 0) {
			free(keys);
			return PROTO_E_RING_SIGNER;
		}
		memcpy(keys[i], m->ring_pk, 32);
	}
	err = proto_sealed_verify(bytes, len, s, (const uint8_t(*)[32])keys);
	*blame = err && err != -ENOMEM;
	free(keys);
	return err;
}

static void in_work(uv_work_t *w)
{
	struct in_job *j = w->data;
	struct store_sealed_item *items = calloc(j->n, sizeof(*items));
	struct proto_sealed *s = malloc(j->n * sizeof(*s));
	size_t n = 0;

	if (!items || !s)
		goto out;
	for (size_t i = 0; i < j->n; i++) {
		struct allowance *a = j->allow[j->items[i].allow];
		int err;

		j->items[i].stored = false;
		j->items[i].blame = false;
		if (!node_abuse_allowance_left(a)) {
			j->items[i].dropped = true;
			continue;
		}
		j->verified++;
		err = verify_sub(j->snap, j->items[i].bytes, j->items[i].len, &s[i],
				 &j->items[i].blame);
		if (j->items[i].blame)
			node_abuse_allowance_use(a);
		if (err) {
			log_debug("sealed: a submission was refused: %s", proto_error_str(err));
			continue;
		}
		items[n] = (struct store_sealed_item){.group = s[i].group,
						      .tag = s[i].tag,
						      .bucket = s[i].bucket,
						      .bytes = j->items[i].bytes,
						      .len = j->items[i].len};
		n++;
	}
	if (store_sealed_put(j->sd->d->store, items, n) == 0) {
		size_t k = 0;

		for (size_t i = 0; i < j->n && k < n; i++)
			if (items[k].bytes == j->items[i].bytes)
				j->items[i].stored = items[k++].stored;
	}
out:
	free(items);
	free(s);
}

static void kick_in(struct node_sealed *sd);

static void in_done(uv_work_t *w, int status)
{
	struct in_job *j = w->data;
	struct node_sealed *sd = j->sd;
	struct node_dissem *d = sd->d;
	struct proto_sealed s;

	(void)status;
	sd->in_running = false;
	sd->c.verified += j->verified;
	node_abuse_allowances_put(d, j->allow, &j->n_allow);
	for (size_t i = 0; i < j->n; i++) {
		struct in_sub *it = &j->items[i];

		if (it->dropped) {
			sd->c.abuse_dropped++;
		} else if (it->stored && !d->stopping) {
			sd->c.stored++;
			flood(d, it->bytes, it->len, it->l);
			if (proto_sealed_decode(it->bytes, it->len, &s) == 0)
				want_open(sd, s.group);
		} else if (!it->stored) {
			sd->c.refused++;
			/* The member's budget, whether or not its link is still up. */
			if (it->blame && !d->stopping)
				node_dissem_charge(d, it->peer, CHARGE_REJECT);
		}
		pend_del(sd, it->key);
		free(it->bytes);
	}
	free(j->items);
	free(j->allow);
	node_snap_unref(j->snap);
	free(j);
	job_end(sd);
	if (d->stopping) {
		node_dissem_maybe_finish_stop(d);
		return;
	}
	node_dissem_close_abusive(d);
	kick_open(sd, false);
	kick_in(sd);
}

/* A queued submission of a member refused for abuse: not verified, counted and forgotten. */
static void in_drop(struct node_sealed *sd, struct in_sub *it)
{
	sd->c.abuse_dropped++;
	pend_del(sd, it->key);
	free(it->bytes);
}

/*
 * Take up to IN_BATCH queued submissions, in order, into @j: those of members refused for
 * abuse are dropped unverified; the others carry their member's allowance (shared with the
 * admission jobs), so a member whose submissions are forged costs at most its budget of
 * signature checks however many it queued.
 */
static void in_take(struct node_sealed *sd, struct in_job *j, size_t cap)
{
	struct node_dissem *d = sd->d;
	size_t keep = 0, i;

	for (i = 0; i < sd->n_in && j->n < cap; i++) {
		struct in_sub *it = &sd->in[i];
		int a;

		if (node_abuse_refused_ms(d, it->peer)) {
			in_drop(sd, it);
			continue;
		}
		a = node_abuse_allowance_of(d, j->allow, &j->n_allow, cap, it->peer);
		if (a < 0) {
			sd->in[keep++] = *it;
			continue;
		}
		it->allow = (uint32_t)a;
		it->dropped = false;
		j->items[j->n++] = *it;
	}
	memmove(sd->in + keep, sd->in + i, (sd->n_in - i) * sizeof(*sd->in));
	sd->n_in = keep + (sd->n_in - i);
}

static void kick_in(struct node_sealed *sd)
{
	struct in_job *j;
	size_t n = sd->n_in < IN_BATCH ? sd->n_in : IN_BATCH;

	if (sd->in_running || !n || sd->d->stopping)
		return;
	j = calloc(1, sizeof(*j));
	if (!j)
		return;
	j->items = malloc(n * sizeof(*j->items));
	j->allow = malloc(n * sizeof(*j->allow));
	if (!j->items || !j->allow) {
		free(j->items);
		free(j->allow);
		free(j);
		return;
	}
	in_take(sd, j, n);
	if (!j->n) {
		node_abuse_allowances_put(sd->d, j->allow, &j->n_allow);
		free(j->items);
		free(j->allow);
		free(j);
		return;
	}
	j->sd = sd;
	j->snap = node_snap_ref(sd->d->snap);
	j->w.data = j;
	sd->in_running = true;
	job_begin(sd);
	if (node_workq_queue(sd->d->loop, &j->w, in_work, in_done)) {
		sd->in_running = false;
		job_end(sd);
		node_abuse_allowances_put(sd->d, j->allow, &j->n_allow);
		for (size_t i = 0; i < j->n; i++) {
			pend_del(sd, j->items[i].key);
			free(j->items[i].bytes);
		}
		node_snap_unref(j->snap);
		free(j->items);
		free(j->allow);
		free(j);
	}
}

/*
 * A SEALED message: the cheap checks on the loop (so a copy held already or one of another
 * community costs no signature check), then a verification job. A submission that does not
 * decode or names another community or k was never forwarded by an honest node (each
 * verifies before it forwards): it is charged to the link's member like a refused report. An
 * epoch not held or a day outside the window can be an honest node's view (a roster not yet
 * here, a re-send around midnight): refused without blame.
 */
static void on_sealed(struct node_sealed *sd, struct dlink *dl, const uint8_t *p, size_t len)
{
	struct node_dissem *d = sd->d;
	struct proto_sealed s;
	uint8_t key[STORE_SEALED_KEY_LEN];
	uint32_t day = today();
	struct in_sub *it;
	size_t slot;
	int err;

	sd->c.received++;
	if (node_abuse_refused_ms(d, dl->member_id)) {
		sd->c.abuse_dropped++; /* its link is being closed */
		return;
	}
	err = proto_sealed_decode(p, len, &s);
	if (!err && memcmp(s.community, sd->community, 32) != 0)
		err = PROTO_E_ROSTER_COMMUNITY;
	if (!err && s.k != sd->set.k)
		err = PROTO_E_SEALED_K;
	if (err && err != -ENOMEM)
		node_dissem_charge_link(d, dl, CHARGE_REJECT);
	if (!err && !node_snap_roster(d->snap, s.epoch))
		err = PROTO_E_ROSTER_EPOCH;
	if (!err && s.epoch < sd->floor)
		err = PROTO_E_RING_SIGNER; /* below the ring floor: a ring key is no longer current */
	if (!err && (s.bucket + sd->set.window_days <= day || s.bucket > day + 1))
		err = PROTO_E_RANGE; /* outside the window: expired, or from the future */
	if (err) {
		sd->c.refused++;
		log_debug("sealed: a submission from link %llu was refused: %s",
			  (unsigned long long)node_link_id(dl->l), proto_error_str(err));
		return;
	}
	memcpy(key, s.group, 32);
	memcpy(key + 32, s.tag, 32);
	if (store_sealed_has(d->store, NULL, key) == 1) {
		sd->c.duplicates++;
		return;
	}
	if (!sd->pend) {
		sd->pend = malloc(PEND_SLOTS * sizeof(*sd->pend));
		sd->pend_used = calloc(PEND_SLOTS, sizeof(*sd->pend_used));
		if (!sd->pend || !sd->pend_used) {
			free(sd->pend);
			free(sd->pend_used);
			sd->pend = NULL;
			sd->pend_used = NULL;
			return;
		}
	}
	slot = pend_find(sd, key);
	if (sd->pend_used[slot]) {
		sd->c.duplicates++;
		return;
	}
	if (sd->n_in == IN_MAX) {
		sd->c.refused++; /* a later copy (or the next link-up) brings it again */
		return;
	}
	if (proto_array_grow((void **)&sd->in, &sd->cap_in, sd->n_in + 1, sizeof(*sd->in)))
		return;
	it = &sd->in[sd->n_in];
	it->bytes = malloc(len);
	if (!it->bytes)
		return;
	memcpy(it->key, key, sizeof(key));
	memcpy(sd->pend[slot], key, sizeof(key));
	sd->pend_used[slot] = true;
	memcpy(it->bytes, p, len);
	it->len = len;
	it->l = dl->l;
	memcpy(it->peer, dl->member_id, 32);
	it->stored = it->blame = it->dropped = false;
	sd->n_in++;
	kick_in(sd);
}

/* ------------------------------------------------------------------ share holder */

static void eval_work(uv_work_t *w)
{
	struct eval_job *j = w->data;
	struct node_sealed *sd = j->sd;
	bool granted = false;
	uint64_t left = 0;

	j->a.req = j->e.req;
	j->a.index = sd->share_index;
	j->err = store_sealed_quota_take(sd->d->store, j->peer, today(), j->e.m, sd->set.quota,
					 &granted, &left);
	j->a.quota_left = left;
	if (j->err) {
		j->a.status = PROTO_SEALED_REFUSED;
		return;
	}
	if (!granted) {
		j->a.status = PROTO_SEALED_QUOTA;
		return;
	}
	j->err = proto_oprf_evaluate(j->a.out, j->a.proof, sd->share,
				     sd->set.vks[sd->share_index - 1],
				     (const uint8_t(*)[32])j->e.in, j->e.m);
	if (j->err) {
		j->a.status = PROTO_SEALED_REFUSED;
		return;
	}
	j->a.status = PROTO_SEALED_OK;
	j->a.m = j->e.m;
}

static void kick_eval(struct node_sealed *sd);

static void eval_done(uv_work_t *w, int status)
{
	struct eval_job *j = w->data;
	struct node_sealed *sd = j->sd;
	struct node_dissem *d = sd->d;
	struct dlink *dl = node_dissem_slot_of_member(d, j->peer);
	uint8_t *p;
	size_t len;

	(void)status;
	sd->eval_running = false;
	if (j->a.status == PROTO_SEALED_OK) {
		sd->c.evals++;
		sd->c.eval_elements += j->a.m;
	} else if (j->a.status == PROTO_SEALED_QUOTA) {
		sd->c.quota_refused++;
	} else {
		log_warning("sealed: an OPRF evaluation failed: %s", proto_error_str(j->err));
	}
	if (dl && dl->l == j->l && !d->stopping &&
	    proto_sealed_answer_encode(&j->a, &p, &len) == 0) {
		send_bin(d, dl, PROTO_LINK_OPRF_ANSWER, p, len);
		free(p);
	}
	free(j);
	job_end(sd);
	if (d->stopping) {
		node_dissem_maybe_finish_stop(d);
		return;
	}
	kick_eval(sd);
}

static void kick_eval(struct node_sealed *sd)
{
	struct eval_job *j;

	if (sd->eval_running || !sd->n_evq || sd->d->stopping)
		return;
	j = sd->evq[0];
	memmove(sd->evq, sd->evq + 1, (sd->n_evq - 1) * sizeof(*sd->evq));
	sd->n_evq--;
	j->w.data = j;
	sd->eval_running = true;
	job_begin(sd);
	if (node_workq_queue(sd->d->loop, &j->w, eval_work, eval_done)) {
		sd->eval_running = false;
		job_end(sd);
		free(j);
	}
}

static void answer_now(struct node_dissem *d, struct dlink *dl, uint64_t req,
		       enum proto_sealed_status status, uint32_t index)
{
	struct proto_sealed_answer *a = calloc(1, sizeof(*a));
	uint8_t *p;
	size_t len;

	if (!a)
		return;
	a->req = req;
	a->status = status;
	a->index = index;
	if (proto_sealed_answer_encode(a, &p, &len) == 0) {
		send_bin(d, dl, PROTO_LINK_OPRF_ANSWER, p, len);
		free(p);
	}
	free(a);
}

/*
 * An OPRF_EVAL request. One that does not decode is charged to the link's member like a
 * refused report (an honest member's requests always do); a well-formed one costs the
 * member its durable daily quota before it is evaluated.
 */
static void on_eval(struct node_sealed *sd, struct dlink *dl, const uint8_t *p, size_t len)
{
	struct node_dissem *d = sd->d;
	struct eval_job *j;

	if (!sd->holder) {
		struct proto_sealed_eval *e = malloc(sizeof(*e));

		if (e && proto_sealed_eval_decode(e, p, len) == 0)
			answer_now(d, dl, e->req, PROTO_SEALED_NO_SHARE, 0);
		else if (e)
			node_dissem_charge_link(d, dl, CHARGE_REJECT);
		free(e);
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		return;
	if (proto_sealed_eval_decode(&j->e, p, len) != 0) {
		node_dissem_charge_link(d, dl, CHARGE_REJECT);
		free(j);
		return;
	}
	if (sd->n_evq >= EVAL_QUEUE_MAX) {
		answer_now(d, dl, j->e.req, PROTO_SEALED_REFUSED, sd->share_index);
		free(j);
		return;
	}
	if (proto_array_grow((void **)&sd->evq, &sd->cap_evq, sd->n_evq + 1, sizeof(*sd->evq))) {
		free(j);
		return;
	}
	j->sd = sd;
	j->l = dl->l;
	memcpy(j->peer, dl->member_id, 32);
	sd->evq[sd->n_evq++] = j;
	kick_eval(sd);
}

/* ------------------------------------------------------------------ member: asking */

static void ask_finish(struct ask *a);
static void ask_more(struct ask *a);

static void ask_unlink(struct ask *a)
{
	struct ask **pp = &a->sd->asks;

	while (*pp && *pp != a)
		pp = &(*pp)->next;
	if (*pp)
		*pp = a->next;
}

/* Answer the client with @code and @fmt, and forget @a. */
static void ask_fail(struct ask *a, int code, const char *fmt, ...)
{
	struct node_req_error e;
	va_list ap;
	json_t *r;

	memset(&e, 0, sizeof(e));
	e.code = code;
	va_start(ap, fmt);
	vsnprintf(e.message, sizeof(e.message), fmt, ap);
	va_end(ap);
	a->sd->c.failed++;
	r = node_req_error_response(a->req->id, &e);
	ask_unlink(a);
	a->cb(a->arg, r);
	ask_free(a);
}

static size_t holders_answered(const struct ask *a, uint32_t index)
{
	for (size_t i = 0; i < a->n_ans; i++)
		if (a->ans[i].index == index)
			return 1;
	return 0;
}

/* Send the OPRF_EVAL of @a to @dl. */
static int ask_send(struct ask *a, struct dlink *dl)
{
	struct node_dissem *d = a->sd->d;
	struct proto_sealed_eval *e = malloc(sizeof(*e));
	uint8_t *p;
	size_t len;
	int err;

	if (!e)
		return -ENOMEM;
	e->req = a->id;
	e->m = a->m;
	memcpy(e->in, a->b, a->m * 32);
	err = proto_sealed_eval_encode(e, &p, &len);
	free(e);
	if (err)
		return err;
	send_bin(d, dl, PROTO_LINK_OPRF_EVAL, p, len);
	free(p);
	a->asked[slot_no(d, dl)] = true;
	a->waiting[slot_no(d, dl)] = true;
	a->asked_ns[slot_no(d, dl)] = uv_hrtime();
	return 0;
}

/*
 * Ask holders until t answers are in or on their way: each new holder has an index no
 * answer or outstanding question has, was not asked before and is not known to cheat.
 */
static void ask_more(struct ask *a)
{
	struct node_sealed *sd = a->sd;
	struct node_dissem *d = sd->d;
	size_t pending = a->n_ans, waiting_idx[PROTO_OPRF_STEWARDS_MAX + 1] = {0};

	for (size_t i = 0; i < NODE_DISSEM_LINKS_MAX; i++)
		if (a->waiting[i]) {
			pending++;
			waiting_idx[sd->link_holder[i]] = 1;
		}
	for (size_t i = 0; i < NODE_DISSEM_LINKS_MAX && pending < sd->set.t; i++) {
		uint32_t idx = sd->link_holder[i];

		if (!d->links[i].l || !idx || sd->link_gen[i] != sd->set.generation ||
		    sd->link_bad[i] || a->asked[i] || waiting_idx[idx] || holders_answered(a, idx))
			continue;
		if (ask_send(a, &d->links[i]) == 0) {
			pending++;
			waiting_idx[idx] = 1;
		}
	}
	a->deadline = uv_now(d->loop) + ASK_TIMEOUT_MS;
	if (pending >= sd->set.t)
		return;
	if (a->quota_seen)
		ask_fail(a, NODE_E_SEALED_QUOTA,
			 "OPRF quota exhausted: %llu share holder(s) refused %zu evaluation(s), "
			 "allowing %llu more today (quota %u a day per holder); fewer than the %u "
			 "holders needed are left",
			 (unsigned long long)a->quota_seen, a->m, (unsigned long long)a->quota_min,
			 sd->set.quota, sd->set.t);
	else
		ask_fail(a, NODE_E_SEALED_HOLDERS,
			 "%zu of the %u OPRF share holders needed answered or are reachable "
			 "(links to holders that announced a share and answered correctly)",
			 pending, sd->set.t);
}

/*
 * Blind the values; a node holding a share evaluates it here too, so it needs only t - 1
 * other holders (its own evaluations are not charged to any quota).
 */
static void blind_work(uv_work_t *w)
{
	struct ask *a = w->data;
	struct node_sealed *sd = a->sd;

	for (size_t i = 0; i < a->m; i++) {
		proto_indicator_id(&a->req->sealed[i].ind, a->x[i]);
		proto_oprf_blind(a->b[i], a->rho[i], a->x[i]);
	}
	if (a->self_z)
		a->self_err = proto_oprf_evaluate(a->self_z, a->self_proof, sd->share,
						  sd->set.vks[sd->share_index - 1],
						  (const uint8_t(*)[32])a->b, a->m);
}

static void blind_done(uv_work_t *w, int status)
{
	struct ask *a = w->data;
	struct node_sealed *sd = a->sd;

	(void)status;
	job_end(sd);
	if (sd->d->stopping) {
		node_dissem_maybe_finish_stop(sd->d);
		return;
	}
	a->state = ASK_WAITING;
	if (a->self_z && !a->self_err) {
		a->ans[0].index = sd->share_index;
		a->ans[0].slot = SELF_SLOT;
		a->ans[0].z = a->self_z;
		memcpy(a->ans[0].proof, a->self_proof, PROTO_OPRF_PROOF_BYTES);
		a->self_z = NULL;
		a->n_ans = 1;
		if (sd->set.t == 1) {
			ask_finish(a);
			return;
		}
	}
	ask_more(a);
}

static void rtt_record(struct node_sealed *sd, uint64_t ns)
{
	uint64_t us = ns / 1000;

	sd->rtt_us[sd->n_rtt++ % RTT_KEPT] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

	return (a > b) - (a < b);
}

/* {"samples", "p50", "p99"} in ms over the newest RTT_KEPT round trips; null when none. */
static json_t *rtt_json(const struct node_sealed *sd)
{
	size_t n = sd->n_rtt < RTT_KEPT ? (size_t)sd->n_rtt : RTT_KEPT;
	uint32_t v[RTT_KEPT];

	if (!n)
		return json_null();
	memcpy(v, sd->rtt_us, n * sizeof(*v));
	qsort(v, n, sizeof(*v), cmp_u32);
	return json_pack("{s:I, s:f, s:f}", "samples", (json_int_t)sd->n_rtt, "p50",
			 v[(n - 1) * 50 / 100] / 1000.0, "p99", v[(n - 1) * 99 / 100] / 1000.0);
}

static void on_answer(struct node_sealed *sd, struct dlink *dl, const uint8_t *p, size_t len)
{
	struct node_dissem *d = sd->d;
	struct proto_sealed_answer *ans = malloc(sizeof(*ans));
	uint32_t slot = slot_no(d, dl);
	struct ask *a;

	if (!ans)
		return;
	if (proto_sealed_answer_decode(ans, p, len) != 0) {
		/* An honest holder's answers always decode: charged like a refused report. */
		node_dissem_charge_link(d, dl, CHARGE_REJECT);
		goto out;
	}
	for (a = sd->asks; a && a->id != ans->req; a = a->next)
		;
	if (!a || a->state != ASK_WAITING || !a->waiting[slot])
		goto out;
	a->waiting[slot] = false;
	/*
	 * The quota left is recorded (for `status`) only for the index the peer announced on
	 * this link: a member must not set the figure shown for another holder.
	 */
	switch (ans->status) {
	case PROTO_SEALED_OK:
		/* The holder announced another OPRF key generation since it was asked (a
		 * re-sharing reached it first): its answer is of other keys, not a cheat. */
		if (sd->link_gen[slot] != sd->set.generation)
			break;
		if (ans->index != sd->link_holder[slot] || ans->m != a->m ||
		    holders_answered(a, ans->index)) {
			sd->link_bad[slot] = true;
			sd->c.cheats++;
			/* The holder (a steward's node) is named at debug only. */
			log_warning("sealed: an OPRF share holder answered for another index or "
				    "batch; not asked again on this link");
			log_debug("sealed: it was share holder %u", sd->link_holder[slot]);
			break;
		}
		sd->quota_left[ans->index] = ans->quota_left;
		sd->quota_known[ans->index] = true;
		a->ans[a->n_ans].z = malloc(a->m * 32);
		if (!a->ans[a->n_ans].z)
			break;
		memcpy(a->ans[a->n_ans].z, ans->out, a->m * 32);
		memcpy(a->ans[a->n_ans].proof, ans->proof, PROTO_OPRF_PROOF_BYTES);
		a->ans[a->n_ans].index = ans->index;
		a->ans[a->n_ans].slot = slot;
		a->n_ans++;
		rtt_record(sd, uv_hrtime() - a->asked_ns[slot]);
		break;
	case PROTO_SEALED_QUOTA:
		if (ans->index != sd->link_holder[slot]) {
			sd->link_bad[slot] = true;
			sd->c.cheats++;
			log_warning("sealed: an OPRF share holder refused for the quota of another "
				    "index; not asked again on this link");
			log_debug("sealed: it was share holder %u", sd->link_holder[slot]);
			break;
		}
		sd->quota_left[ans->index] = ans->quota_left;
		sd->quota_known[ans->index] = true;
		a->quota_min = a->quota_seen ? (ans->quota_left < a->quota_min ? ans->quota_left
									       : a->quota_min)
					     : ans->quota_left;
		a->quota_seen++;
		break;
	default:
		break;
	}
	if (a->n_ans >= sd->set.t)
		ask_finish(a);
	else
		ask_more(a);
out:
	free(ans);
}

/* ------------------------------------------------------------------ member: sealing */

static void finish_work(uv_work_t *w)
{
	struct ask *a = w->data;
	struct node_sealed *sd = a->sd;
	const struct node_snap *snap = a->snap;
	const struct proto_roster *ros = snap->newest;
	size_t t = sd->set.t, n = ros->n_members, k = n, signer = (size_t)snap->own_index;
	uint8_t idx[PROTO_OPRF_STEWARDS_MAX], (*zs)[32] = malloc(t * 32), r[32], z[32];
	uint16_t *ring_idx = malloc(PROTO_REPORT_RING_MAX * sizeof(*ring_idx));
	uint8_t(*ring)[32] = malloc(PROTO_REPORT_RING_MAX * 32);
	struct store_sealed_item *items = calloc(a->m, sizeof(*items));
	struct proto_sealed *dec = malloc(a->m * sizeof(*dec));
	uint32_t bucket = today();
	int err = 0;

	a->n_bad = 0;
	a->subs = calloc(a->m, sizeof(*a->subs));
	a->sub_len = calloc(a->m, sizeof(*a->sub_len));
	if (!zs || !ring_idx || !ring || !items || !dec || !a->subs || !a->sub_len) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < t; i++) {
		uint32_t j = a->ans[i].index;

		if (proto_oprf_verify(a->ans[i].proof, sd->set.vks[j - 1],
				      (const uint8_t(*)[32])a->b, (const uint8_t(*)[32])a->ans[i].z,
				      a->m) != 0)
			a->bad[a->n_bad++] = a->ans[i].slot;
		idx[i] = (uint8_t)j;
	}
	if (a->n_bad)
		goto out;
	if (n > PROTO_REPORT_RING_MAX) {
		k = PROTO_REPORT_RING_MAX;
		err = proto_ring_pick(ring_idx, k, n, signer);
		if (err < 0)
			goto out;
		signer = (size_t)err;
		err = 0;
	} else {
		for (size_t i = 0; i < n; i++)
			ring_idx[i] = (uint16_t)i;
	}
	for (size_t i = 0; i < k; i++)
		memcpy(ring[i], ros->members[ring_idx[i]].ring_pk, 32);
	for (size_t i = 0; i < a->m && !err; i++) {
		struct proto_sealed_value v = {.ind = a->req->sealed[i].ind,
					       .confidence = a->req->sealed[i].confidence};

		for (size_t q = 0; q < t; q++)
			memcpy(zs[q], a->ans[q].z[i], 32);
		if ((err = proto_oprf_combine(z, idx, (const uint8_t(*)[32])zs, t)) ||
		    (err = proto_oprf_finalize(r, a->x[i], a->rho[i], z)) ||
		    (err = proto_sealed_seal(&a->subs[i], &a->sub_len[i], &v, r, sd->community,
					     ros->epoch, sd->set.k, bucket,
					     (const uint8_t(*)[32])ring, ring_idx, k, signer,
					     snap->own_ring_sk)) ||
		    (err = proto_sealed_decode(a->subs[i], a->sub_len[i], &dec[i])))
			break;
		items[i] = (struct store_sealed_item){.group = dec[i].group,
						      .tag = dec[i].tag,
						      .bucket = bucket,
						      .bytes = a->subs[i],
						      .len = a->sub_len[i]};
	}
	proto_wipe(r, sizeof(r));
	proto_wipe(z, sizeof(z));
	if (!err)
		err = store_sealed_put(sd->d->store, items, a->m);
	a->n_new = 0;
	for (size_t i = 0; !err && i < a->m; i++)
		a->n_new += items[i].stored;
out:
	a->err = err;
	if (zs)
		proto_wipe(zs, t * 32);
	free(zs);
	free(ring_idx);
	free(ring);
	free(items);
	free(dec);
}

static void finish_done(uv_work_t *w, int status)
{
	struct ask *a = w->data;
	struct node_sealed *sd = a->sd;
	struct node_dissem *d = sd->d;
	struct proto_sealed s;
	json_t *r, *holders;

	(void)status;
	job_end(sd);
	if (d->stopping) {
		node_dissem_maybe_finish_stop(d);
		return;
	}
	if (a->n_bad) {
		/* Drop the answers that failed their proof and ask others instead. */
		for (size_t b = 0; b < a->n_bad; b++) {
			if (a->bad[b] == SELF_SLOT) {
				ask_fail(a, PROTO_E_OPRF_PROOF,
					 "this node's own OPRF share gives a wrong evaluation");
				return;
			}
			sd->link_bad[a->bad[b]] = true;
			sd->c.cheats++;
			log_warning("sealed: an OPRF share holder answered with a wrong "
				    "evaluation (DLEQ proof failed); asking another holder");
			log_debug("sealed: it was share holder %u", sd->link_holder[a->bad[b]]);
			for (size_t i = 0; i < a->n_ans; i++)
				if (a->ans[i].slot == a->bad[b]) {
					free(a->ans[i].z);
					a->ans[i] = a->ans[--a->n_ans];
					break;
				}
		}
		for (size_t i = 0; a->subs && i < a->m; i++)
			free(a->subs[i]);
		free(a->subs);
		free(a->sub_len);
		a->subs = NULL;
		a->sub_len = NULL;
		a->state = ASK_WAITING;
		if (a->n_ans >= sd->set.t)
			ask_finish(a);
		else
			ask_more(a);
		return;
	}
	if (a->err) {
		ask_fail(a, a->err, "sealing failed: %s", proto_error_str(a->err));
		return;
	}
	sd->c.own += a->n_new;
	for (size_t i = 0; i < a->m; i++) {
		flood(d, a->subs[i], a->sub_len[i], NULL);
		if (proto_sealed_decode(a->subs[i], a->sub_len[i], &s) == 0)
			want_open(sd, s.group);
	}
	kick_open(sd, false);
	holders = json_array();
	for (size_t i = 0; holders && i < a->n_ans; i++)
		json_array_append_new(holders, json_integer(a->ans[i].index));
	r = json_pack("{s:b, s:I, s:I, s:o*}", "ok", 1, "sealed", (json_int_t)a->m, "new",
		      (json_int_t)a->n_new, "holders", holders);
	if (r && a->req->id)
		json_object_set(r, "id", a->req->id);
	ask_unlink(a);
	a->cb(a->arg, r);
	ask_free(a);
}

/*
 * A job of @a in the ask lane. It counts as running from now (job_begin()), waiting in the
 * lane included: the OPRF keys do not change under it (rekey_apply()) and the driver's stop
 * waits for it; asks that wait are in ASK_BLINDING or ASK_FINISHING, which nothing but their
 * own after-work callback touches.
 */
static void ask_submit(struct ask *a, uv_work_cb work, uv_after_work_cb done)
{
	job_begin(a->sd);
	a->work.w.data = a;
	node_pool_submit(&a->sd->lane, &a->work, work, done);
}

static void ask_finish(struct ask *a)
{
	a->state = ASK_FINISHING;
	ask_submit(a, finish_work, finish_done);
}

int node_dissem_seal(struct node_dissem *d, struct node_request *req, node_dissem_seal_cb cb,
		     void *arg)
{
	struct node_sealed *sd = d->sealed;
	struct node_req_error e = {0};
	struct ask *a;

	if (!sd->enabled) {
		node_req_error_set(&e, NODE_E_SEALED_OFF, NULL,
				   "this community has no sealed-sighting settings (community init "
				   "--sealed-k)");
		goto refuse;
	}
	if (d->snap->own_index < 0 || !d->snap->own_ring_sk) {
		node_req_error_set(&e, PROTO_E_ROSTER_NOT_MEMBER, NULL,
				   "this node is not in the newest roster with its ring key");
		goto refuse;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->sd = sd;
	a->id = sd->next_id++;
	a->req = req;
	a->cb = cb;
	a->arg = arg;
	a->m = req->n_sealed;
	a->snap = node_snap_ref(d->snap);
	a->x = malloc(a->m * 32);
	a->b = malloc(a->m * 32);
	a->rho = malloc(a->m * 32);
	if (sd->holder)
		a->self_z = malloc(a->m * 32);
	if (!a->x || !a->b || !a->rho || (sd->holder && !a->self_z)) {
		a->req = NULL;
		ask_free(a);
		return -ENOMEM;
	}
	a->next = sd->asks;
	sd->asks = a;
	ask_submit(a, blind_work, blind_done);
	return 0;
refuse:
	cb(arg, node_req_error_response(req->id, &e));
	node_request_free(req);
	return 0;
}

/* ------------------------------------------------------------------ links and timer */

void node_sealed_on_up(struct node_dissem *d, struct dlink *dl)
{
	struct node_sealed *sd = d->sealed;
	uint32_t slot = slot_no(d, dl);
	uint8_t *p;
	size_t len;

	sd->link_holder[slot] = 0;
	sd->link_bad[slot] = false;
	if (!sd->enabled)
		return;
	if (sd->holder &&
	    proto_sealed_holder_encode(sd->share_index, sd->set.generation, &p, &len) == 0) {
		send_bin(d, dl, PROTO_LINK_OPRF_HOLDER, p, len);
		free(p);
	}
	sd->resend[slot] = true;
	sd->resend_started[slot] = false;
}

void node_sealed_on_down(struct node_dissem *d, struct dlink *dl)
{
	struct node_sealed *sd = d->sealed;
	uint32_t slot = slot_no(d, dl);

	sd->link_holder[slot] = 0;
	sd->link_bad[slot] = false;
	sd->resend[slot] = false;
	for (struct ask *a = sd->asks; a; a = a->next)
		a->waiting[slot] = false; /* ask_more() at the next tick replaces it */
}

void node_sealed_on_message(struct node_dissem *d, struct dlink *dl, const struct proto_link_msg *m)
{
	struct node_sealed *sd = d->sealed;
	uint64_t gen;
	uint32_t idx;

	if (!sd->enabled)
		return;
	switch (m->type) {
	case PROTO_LINK_OPRF_HOLDER:
		/* An index beyond this node's keys may belong to another generation: kept, and
		 * asked only while both sides hold the same generation. */
		if (proto_sealed_holder_decode(&idx, &gen, m->u.bin.p, m->u.bin.len) == 0) {
			sd->link_holder[slot_no(d, dl)] = idx;
			sd->link_gen[slot_no(d, dl)] = gen;
		}
		break;
	case PROTO_LINK_OPRF_EVAL:
		on_eval(sd, dl, m->u.bin.p, m->u.bin.len);
		break;
	case PROTO_LINK_OPRF_ANSWER:
		on_answer(sd, dl, m->u.bin.p, m->u.bin.len);
		break;
	case PROTO_LINK_SEALED:
		on_sealed(sd, dl, m->u.bin.p, m->u.bin.len);
		break;
	default:
		break;
	}
}

struct resend_ctx {
	struct node_dissem *d;
	struct dlink *dl;
	uint8_t *last;
};

static int resend_one(void *ctx, const uint8_t *key, uint32_t bucket, const uint8_t *bytes,
		      size_t len)
{
	struct resend_ctx *rc = ctx;

	(void)bucket;
	send_bin(rc->d, rc->dl, PROTO_LINK_SEALED, bytes, len);
	rc->d->sealed->c.resent++;
	memcpy(rc->last, key, STORE_SEALED_KEY_LEN);
	return 0;
}

/* ------------------------------------------------------------------ OPRF key change */

/*
 * A newer roster re-shared the OPRF key (docs/SEALED.md §1): new holders, threshold and
 * verification keys, and this node's share of them or none. Pool jobs read the share and the
 * keys, so the switch waits until none runs (the next periodic tick without one). Requests
 * waiting for answers fail (their answers were asked under the old keys; the client
 * retries), judgments of holders start afresh, and a holder announces its index and
 * generation again so members of the same generation ask it; members ask only holders that
 * announced their own generation, so the switch needs no agreement on when it happens.
 */
static void rekey_apply(struct node_sealed *sd)
{
	struct node_dissem *d = sd->d;
	struct ask *a, *next;
	uint8_t *p;
	size_t len;

	sd->rekey_pending = false;
	for (a = sd->asks; a; a = next) {
		next = a->next;
		if (a->state == ASK_WAITING)
			ask_fail(a, NODE_E_SEALED_HOLDERS,
				 "the OPRF key holders changed (a roster re-shared the key) while "
				 "this request waited for answers; seal again");
	}
	if (!sd->rekey_index) {
		/* Queued evaluations would use a share that is no longer one. */
		for (size_t i = 0; i < sd->n_evq; i++) {
			struct eval_job *j = sd->evq[i];
			struct dlink *dl = node_dissem_slot_of_member(d, j->peer);

			if (dl && dl->l == j->l)
				answer_now(d, dl, j->e.req, PROTO_SEALED_NO_SHARE, 0);
			free(j);
		}
		sd->n_evq = 0;
	}
	sd->set = sd->rekey_set;
	sd->holder = sd->rekey_index != 0;
	sd->share_index = sd->rekey_index;
	memcpy(sd->share, sd->rekey_share, 32);
	proto_wipe(sd->rekey_share, sizeof(sd->rekey_share));
	memset(sd->link_bad, 0, sizeof(sd->link_bad));
	memset(sd->quota_known, 0, sizeof(sd->quota_known));
	log_notice("sealed: OPRF key generation %llu in force, %u of %zu holders%s",
		   (unsigned long long)sd->set.generation, sd->set.t, sd->set.n,
		   sd->holder ? ", this node holds a share" : "");
	if (!sd->holder ||
	    proto_sealed_holder_encode(sd->share_index, sd->set.generation, &p, &len) != 0)
		return;
	for (size_t i = 0; i < NODE_DISSEM_LINKS_MAX; i++)
		if (d->links[i].l)
			send_bin(d, &d->links[i], PROTO_LINK_OPRF_HOLDER, p, len);
	free(p);
}

void node_dissem_sealed_rekey(struct node_dissem *d, const struct proto_community_sealed *set,
			      uint32_t share_index, const uint8_t share[32])
{
	struct node_sealed *sd = d->sealed;

	if (!sd->enabled)
		return;
	sd->rekey_set = *set;
	sd->rekey_index = share_index;
	if (share_index)
		memcpy(sd->rekey_share, share, 32);
	else
		proto_wipe(sd->rekey_share, sizeof(sd->rekey_share));
	sd->rekey_pending = true;
	if (sd->jobs == 0)
		rekey_apply(sd);
}

void node_sealed_periodic(struct node_dissem *d, uint64_t now)
{
	struct node_sealed *sd = d->sealed;
	struct ask *a, *next;

	if (!sd->enabled)
		return;
	if (sd->rekey_pending && sd->jobs == 0)
		rekey_apply(sd);
	if (sd->sweep)
		kick_open(sd, false);
	for (size_t i = 0; i < NODE_DISSEM_LINKS_MAX; i++) {
		struct dlink *dl = &d->links[i];
		struct resend_ctx rc = {.d = d, .dl = dl, .last = sd->resend_after[i]};
		int n;

		if (!sd->resend[i] || !dl->l || dl->qn >= RESEND_QUEUE_MAX)
			continue;
		n = store_sealed_scan(d->store, NULL,
				      sd->resend_started[i] ? sd->resend_after[i] : NULL,
				      RESEND_PAGE, resend_one, &rc);
		if (n > 0)
			sd->resend_started[i] = true;
		if (n < RESEND_PAGE)
			sd->resend[i] = false;
	}
	for (a = sd->asks; a; a = next) {
		next = a->next;
		if (a->state == ASK_WAITING && now >= a->deadline) {
			memset(a->waiting, 0, sizeof(a->waiting));
			ask_more(a);
		}
	}
	if (now >= sd->next_expire) {
		sd->next_expire = now + EXPIRE_EVERY_MS;
		kick_open(sd, true);
	}
}

const struct node_pool_lane *node_dissem_sealed_lane(const struct node_dissem *d)
{
	return &d->sealed->lane;
}

json_t *node_dissem_sealed_json(struct node_dissem *d)
{
	struct node_sealed *sd = d->sealed;
	uint64_t held = 0, opened = 0;
	json_t *o, *q;

	if (!sd->enabled)
		return json_pack("{s:b}", "enabled", 0);
	store_sealed_counts(d->store, NULL, &held, &opened);
	q = json_object();
	for (uint32_t j = 1; q && j <= sd->set.n; j++) {
		char key[12];

		if (!sd->quota_known[j])
			continue;
		snprintf(key, sizeof(key), "%u", j);
		json_object_set_new(q, key, json_integer((json_int_t)sd->quota_left[j]));
	}
	o = json_pack("{s:b, s:i, s:i, s:i, s:I, s:i, s:I, s:I, s:o*}", "enabled", 1, "k",
		      sd->set.k, "oprf_threshold", sd->set.t, "oprf_holders", (int)sd->set.n,
		      "quota_per_day", (json_int_t)sd->set.quota, "window_days",
		      (int)sd->set.window_days, "held", (json_int_t)held, "opened",
		      (json_int_t)opened, "quota_left", q);
	if (!o)
		return NULL;
	json_object_set_new(o, "ring_floor", json_integer((json_int_t)sd->floor));
	json_object_set_new(o, "oprf_rtt_ms", rtt_json(sd));
	json_object_set_new(o, "groups_pending",
			    json_integer((json_int_t)(sd->n_groups + sd->open_n + sd->sweep)));
	json_object_set_new(o, "holder_index",
			    sd->holder ? json_integer(sd->share_index) : json_null());
	json_object_set_new(o, "oprf_generation", json_integer((json_int_t)sd->set.generation));
	{
		json_int_t linked = 0;

		for (size_t i = 0; i < NODE_DISSEM_LINKS_MAX; i++)
			linked += d->links[i].l && sd->link_holder[i] &&
				  sd->link_gen[i] == sd->set.generation && !sd->link_bad[i];
		json_object_set_new(o, "holders_linked", json_integer(linked));
	}
	json_object_set_new(
		o, "counters",
		json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
			  "s:I}",
			  "sealed_here", (json_int_t)sd->c.own, "received",
			  (json_int_t)sd->c.received, "duplicates", (json_int_t)sd->c.duplicates,
			  "refused", (json_int_t)sd->c.refused, "stored", (json_int_t)sd->c.stored,
			  "sent", (json_int_t)sd->c.forwarded, "resent", (json_int_t)sd->c.resent,
			  "opened_here", (json_int_t)sd->c.opened, "wrong_evaluations_caught",
			  (json_int_t)sd->c.cheats, "evaluations_served", (json_int_t)sd->c.evals,
			  "elements_evaluated", (json_int_t)sd->c.eval_elements,
			  "quota_refusals_sent", (json_int_t)sd->c.quota_refused, "seal_failed",
			  (json_int_t)sd->c.failed, "verified", (json_int_t)sd->c.verified,
			  "abuse_dropped", (json_int_t)sd->c.abuse_dropped));
	json_object_set_new(json_object_get(o, "counters"), "below_floor_deleted",
			    json_integer((json_int_t)sd->c.below_floor));
	return o;
}
