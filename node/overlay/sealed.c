/* SPDX-License-Identifier: MIT */
/*
 * node/overlay/sealed.c — sealed sightings on the overlay (docs/SEALED.md §5): the
 * dissemination driver's job for link messages 16-19.
 *
 * Member side (node_dissem_seal()): a pool job blinds the values; the loop sends one
 * OPRF_EVAL to t share holders among the links that announced a share (OPRF_HOLDER), each
 * with a distinct index; when t answers are in, a pool job verifies every DLEQ proof,
 * combines, seals (ring signature over the roster) and stores the submissions, and the loop
 * sends them to every link and answers the client. A holder whose proof fails is logged
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
#include "node/common/snap.h"
#include "node/common/workq.h"
#include "node/overlay/dissem_int.h"
#include "node/overlay/overlay.h"
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
	bool asked[NODE_DISSEM_LINKS_MAX];   /* slots asked so far */
	bool waiting[NODE_DISSEM_LINKS_MAX]; /* asked, no answer yet */
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
	uv_work_t w;
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
	bool stored;
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
	bool link_bad[NODE_DISSEM_LINKS_MAX];	     /* its peer answered wrongly */
	bool resend[NODE_DISSEM_LINKS_MAX];
	bool resend_started[NODE_DISSEM_LINKS_MAX];
	uint8_t resend_after[NODE_DISSEM_LINKS_MAX][STORE_SEALED_KEY_LEN];
	uint64_t quota_left[PROTO_OPRF_STEWARDS_MAX + 1];
	bool quota_known[PROTO_OPRF_STEWARDS_MAX + 1];
	struct ask *asks;
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
	uint64_t next_expire;
	unsigned jobs;
	struct {
		uint64_t own, received, duplicates, refused, stored, forwarded, resent;
		uint64_t opened, cheats, evals, eval_elements, quota_refused, open_dropped;
		uint64_t failed;
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
	return 0;
}

static void ask_fail(struct ask *a, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void ask_free(struct ask *a)
{
	if (!a)
		return;
	if (a->rho)
		proto_wipe(a->rho, a->m * 32);
	free(a->x);
	free(a->b);
	free(a->rho);
	free(a->self_z);
	for (size_t i = 0; i < a->n_ans; i++)
		free(a->ans[i].z);
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
	free(sd);
	d->sealed = NULL;
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
	    node_dissem_grow((void **)&sd->groups, &sd->cap_groups, sd->n_groups + 1, 32))
		return; /* the next submission of that group asks again */
	memcpy(sd->groups[sd->n_groups++], g, 32);
}

struct open_job {
	uv_work_t w;
	struct node_sealed *sd;
	uint8_t (*groups)[32];
	size_t n;
	bool expire;
	uint32_t oldest_bucket, oldest_day;
	uint64_t opened, dropped, expired;
};

struct group_read {
	struct proto_sealed *subs;
	size_t n;
};

static int read_sub(void *ctx, const uint8_t *key, uint32_t bucket, const uint8_t *bytes,
		    size_t len)
{
	struct group_read *gr = ctx;

	(void)key;
	(void)bucket;
	if (gr->n == OPEN_GROUP_MAX)
		return 1;
	/* Stored submissions were verified before they were stored. */
	if (proto_sealed_decode(bytes, len, &gr->subs[gr->n]) == 0)
		gr->n++;
	return 0;
}

static void open_work(uv_work_t *w)
{
	struct open_job *j = w->data;
	struct store *st = j->sd->d->store;
	struct group_read gr = {.subs = malloc(OPEN_GROUP_MAX * sizeof(*gr.subs))};
	const struct proto_sealed **ptrs = malloc(OPEN_GROUP_MAX * sizeof(*ptrs));

	if (j->expire) {
		size_t n = 0;

		if (store_sealed_expire(st, j->oldest_bucket, j->oldest_day, 100000, &n) == 0)
			j->expired = n;
	}
	for (size_t i = 0; gr.subs && ptrs && i < j->n; i++) {
		struct store_sealed_opened o = {0};
		struct proto_sealed_opened op;
		bool changed;

		gr.n = 0;
		if (store_sealed_group(st, NULL, j->groups[i], read_sub, &gr) < 0 ||
		    gr.n < PROTO_SEALED_K_MIN)
			continue;
		for (size_t k = 0; k < gr.n; k++)
			ptrs[k] = &gr.subs[k];
		if (proto_sealed_open(&op, ptrs, gr.n) != 0)
			continue;
		memcpy(o.group, j->groups[i], 32);
		o.ind = op.value.ind;
		o.confidence = op.value.confidence;
		o.count = op.count;
		o.first_bucket = op.first_bucket;
		o.last_bucket = op.last_bucket;
		o.opened_ms = o.updated_ms = node_dissem_wall_ms();
		j->dropped += op.dropped;
		if (store_sealed_opened_put(st, &o, &changed) == 0 && changed) {
			j->opened++;
			log_info("sealed: a value was opened: %u members sealed it", op.count);
		}
	}
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
	sd->c.opened += j->opened;
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
	if (sd->n_groups)
		kick_open(sd, false);
}

static void kick_open(struct node_sealed *sd, bool expire)
{
	struct open_job *j;
	uint32_t day = today();

	if (sd->open_running || sd->d->stopping || (!sd->n_groups && !expire))
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
	j->oldest_bucket = day >= sd->set.window_days ? day - sd->set.window_days + 1 : 0;
	j->oldest_day = day ? day - 1 : 0;
	j->w.data = j;
	sd->open_running = true;
	job_begin(sd);
	if (node_workq_queue(sd->d->loop, &j->w, open_work, open_done)) {
		sd->open_running = false;
		job_end(sd);
		free(j->groups);
		free(j);
	}
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
};

/*
 * Verify the ring signature of @bytes under the roster of its epoch; fill @s. Every ring
 * member must still be a member of the newest roster with the same ring key: a member's
 * ring tag is one per ring key and group, so a member that rotated its keys (or left, or
 * was retired) would otherwise count twice toward k, once under each key's epoch
 * (PROTO_E_RING_SIGNER: a ring member's key is no longer current).
 */
static int verify_sub(const struct node_snap *snap, const uint8_t *bytes, size_t len,
		      struct proto_sealed *s)
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
		int err = verify_sub(j->snap, j->items[i].bytes, j->items[i].len, &s[i]);

		j->items[i].stored = false;
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
	for (size_t i = 0; i < j->n; i++) {
		struct in_sub *it = &j->items[i];

		if (it->stored && !d->stopping) {
			sd->c.stored++;
			flood(d, it->bytes, it->len, it->l);
			if (proto_sealed_decode(it->bytes, it->len, &s) == 0)
				want_open(sd, s.group);
		} else if (!it->stored) {
			sd->c.refused++;
		}
		pend_del(sd, it->key);
		free(it->bytes);
	}
	free(j->items);
	node_snap_unref(j->snap);
	free(j);
	job_end(sd);
	if (d->stopping) {
		node_dissem_maybe_finish_stop(d);
		return;
	}
	kick_open(sd, false);
	kick_in(sd);
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
	if (!j->items) {
		free(j);
		return;
	}
	memcpy(j->items, sd->in, n * sizeof(*j->items));
	memmove(sd->in, sd->in + n, (sd->n_in - n) * sizeof(*sd->in));
	sd->n_in -= n;
	j->n = n;
	j->sd = sd;
	j->snap = node_snap_ref(sd->d->snap);
	j->w.data = j;
	sd->in_running = true;
	job_begin(sd);
	if (node_workq_queue(sd->d->loop, &j->w, in_work, in_done)) {
		sd->in_running = false;
		job_end(sd);
		for (size_t i = 0; i < n; i++) {
			pend_del(sd, j->items[i].key);
			free(j->items[i].bytes);
		}
		node_snap_unref(j->snap);
		free(j->items);
		free(j);
	}
}

/*
 * A SEALED message: the cheap checks on the loop (so a copy held already or one of another
 * community costs no signature check), then a verification job.
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
	err = proto_sealed_decode(p, len, &s);
	if (!err && memcmp(s.community, sd->community, 32) != 0)
		err = PROTO_E_ROSTER_COMMUNITY;
	if (!err && s.k != sd->set.k)
		err = PROTO_E_SEALED_K;
	if (!err && !node_snap_roster(d->snap, s.epoch))
		err = PROTO_E_ROSTER_EPOCH;
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
	if (node_dissem_grow((void **)&sd->in, &sd->cap_in, sd->n_in + 1, sizeof(*sd->in)))
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

static void on_eval(struct node_sealed *sd, struct dlink *dl, const uint8_t *p, size_t len)
{
	struct node_dissem *d = sd->d;
	struct eval_job *j;

	if (!sd->holder) {
		struct proto_sealed_eval *e = malloc(sizeof(*e));

		if (e && proto_sealed_eval_decode(e, p, len) == 0)
			answer_now(d, dl, e->req, PROTO_SEALED_NO_SHARE, 0);
		free(e);
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		return;
	if (proto_sealed_eval_decode(&j->e, p, len) != 0) {
		free(j);
		return;
	}
	if (sd->n_evq >= EVAL_QUEUE_MAX) {
		answer_now(d, dl, j->e.req, PROTO_SEALED_REFUSED, sd->share_index);
		free(j);
		return;
	}
	if (node_dissem_grow((void **)&sd->evq, &sd->cap_evq, sd->n_evq + 1, sizeof(*sd->evq))) {
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

		if (!d->links[i].l || !idx || sd->link_bad[i] || a->asked[i] || waiting_idx[idx] ||
		    holders_answered(a, idx))
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

static void on_answer(struct node_sealed *sd, struct dlink *dl, const uint8_t *p, size_t len)
{
	struct node_dissem *d = sd->d;
	struct proto_sealed_answer *ans = malloc(sizeof(*ans));
	uint32_t slot = slot_no(d, dl);
	struct ask *a;

	if (!ans)
		return;
	if (proto_sealed_answer_decode(ans, p, len) != 0)
		goto out;
	for (a = sd->asks; a && a->id != ans->req; a = a->next)
		;
	if (!a || a->state != ASK_WAITING || !a->waiting[slot])
		goto out;
	a->waiting[slot] = false;
	if (ans->index) {
		sd->quota_left[ans->index] = ans->quota_left;
		sd->quota_known[ans->index] = true;
	}
	switch (ans->status) {
	case PROTO_SEALED_OK:
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
		a->ans[a->n_ans].z = malloc(a->m * 32);
		if (!a->ans[a->n_ans].z)
			break;
		memcpy(a->ans[a->n_ans].z, ans->out, a->m * 32);
		memcpy(a->ans[a->n_ans].proof, ans->proof, PROTO_OPRF_PROOF_BYTES);
		a->ans[a->n_ans].index = ans->index;
		a->ans[a->n_ans].slot = slot;
		a->n_ans++;
		break;
	case PROTO_SEALED_QUOTA:
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
	if (!err)
		err = store_sealed_put(sd->d->store, items, a->m);
	a->n_new = 0;
	for (size_t i = 0; !err && i < a->m; i++)
		a->n_new += items[i].stored;
out:
	a->err = err;
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

static void ask_finish(struct ask *a)
{
	struct node_sealed *sd = a->sd;

	a->state = ASK_FINISHING;
	a->w.data = a;
	job_begin(sd);
	if (node_workq_queue(sd->d->loop, &a->w, finish_work, finish_done)) {
		job_end(sd);
		ask_fail(a, -ENOMEM, "cannot queue the sealing job");
	}
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
	a->w.data = a;
	job_begin(sd);
	if (node_workq_queue(d->loop, &a->w, blind_work, blind_done)) {
		job_end(sd);
		sd->asks = a->next;
		a->req = NULL;
		ask_free(a);
		return -ENOMEM;
	}
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
	if (sd->holder && proto_sealed_holder_encode(sd->share_index, &p, &len) == 0) {
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
	uint32_t idx;

	if (!sd->enabled)
		return;
	switch (m->type) {
	case PROTO_LINK_OPRF_HOLDER:
		if (proto_sealed_holder_decode(&idx, m->u.bin.p, m->u.bin.len) == 0 &&
		    idx <= sd->set.n)
			sd->link_holder[slot_no(d, dl)] = idx;
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

void node_sealed_periodic(struct node_dissem *d, uint64_t now)
{
	struct node_sealed *sd = d->sealed;
	struct ask *a, *next;

	if (!sd->enabled)
		return;
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
	json_object_set_new(o, "holder_index",
			    sd->holder ? json_integer(sd->share_index) : json_null());
	{
		json_int_t linked = 0;

		for (size_t i = 0; i < NODE_DISSEM_LINKS_MAX; i++)
			linked += d->links[i].l && sd->link_holder[i] && !sd->link_bad[i];
		json_object_set_new(o, "holders_linked", json_integer(linked));
	}
	json_object_set_new(
		o, "counters",
		json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			  "sealed_here", (json_int_t)sd->c.own, "received",
			  (json_int_t)sd->c.received, "duplicates", (json_int_t)sd->c.duplicates,
			  "refused", (json_int_t)sd->c.refused, "stored", (json_int_t)sd->c.stored,
			  "sent", (json_int_t)sd->c.forwarded, "resent", (json_int_t)sd->c.resent,
			  "opened_here", (json_int_t)sd->c.opened, "wrong_evaluations_caught",
			  (json_int_t)sd->c.cheats, "evaluations_served", (json_int_t)sd->c.evals,
			  "elements_evaluated", (json_int_t)sd->c.eval_elements,
			  "quota_refusals_sent", (json_int_t)sd->c.quota_refused, "seal_failed",
			  (json_int_t)sd->c.failed));
	return o;
}
