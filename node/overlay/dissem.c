/* SPDX-License-Identifier: MIT */
/*
 * The dissemination driver (node/overlay/dissem.h). It owns one Plumtree engine, a slot per up
 * link (gossip handle = slot index), the reconciliation sessions of each link, a backlog
 * per link, and one admission+commit pipeline for everything that arrives.
 *
 * The pipeline: inbound reports (gossip, catch-up and direct copies) and outbox changes
 * (reschedules, ACKed deletions) collect in pending arrays on the loop thread; at most one
 * job runs in the thread pool at a time and takes everything pending (up to
 * NODE_DISSEM_BATCH_MAX reports), admits each report with the job's snapshot, stores the
 * accepted ones in one store_ingest() transaction and applies the outbox changes. What
 * arrives meanwhile waits for the next job, so a burst becomes few large commits (group
 * commit). Only after the job's commit does the loop forward, discard or ACK, which is the
 * "acknowledge after commit" rule of DESIGN.md §7.
 *
 * Clocks: the engine and the timers use uv_now() (monotonic ms); admission, the store and
 * the outbox use the wall clock (ms since the Unix epoch), like the publish path.
 */
#include "node/overlay/dissem.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/common/log.h"
#include "policy/admit.h"
#include "policy/egress.h"
#include "policy/rate.h"
#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/gossip.h"
#include "proto/link.h"
#include "proto/recon.h"
#include "proto/report.h"
#include "proto/roster.h"
#include "proto/stem.h"

#define PERIODIC_MS 1000     /* outbox scan and periodic recon check */
#define OUTBOX_SCAN_MAX 1024 /* due entries handled per scan */
#define ROOM_MARGIN 128	     /* frame header, AEAD tag and slack per message */

enum qkind {
	Q_MSG = 0,     /* encoded link message */
	Q_PUSH = 1,    /* PUSH of a stored report, loaded when sent (egress GOSSIP) */
	Q_DIRECT = 2,  /* DIRECT of a stored report to the link peer (egress DIRECT) */
	Q_STEM = 3,    /* STEM of a stored report, loaded when sent (egress GOSSIP) */
	Q_CATCHUP = 4, /* CATCHUP of a stored report, loaded when sent (egress GOSSIP) */
};

struct qent {
	struct qent *next;
	uint8_t kind;
	uint8_t id[32];
	uint8_t *msg;
	size_t len;
};

struct dlink {
	struct node_link *l; /* NULL: slot free */
	int member;
	uint8_t member_id[32];
	uint64_t peer_epoch;
	struct proto_recon *ri, *rr; /* sessions we initiated / answer */
	uint64_t catchup_until;	     /* mono ms: end of the catch-up window */
	struct qent *qh, **qt;
	size_t qn;
	uint64_t rejected, received;
	bool recon_wanted;	 /* start a session here once the node is not catching up */
	uint64_t fetch_wait;	 /* FETCHed ids not yet answered */
	uint64_t fetch_deadline; /* mono ms: give up waiting for them */
	uint8_t *deferred;	 /* a peer's opening RECON message, answered when not busy */
	size_t deferred_len;
	uint8_t *parts; /* a roster arriving in ROSTER_PART messages: the parts so far */
	size_t parts_len;
	uint32_t parts_next, parts_total;
	/* Budget per PEER_BUDGET_WINDOW_MS: a member past it is disconnected (NODE_LINK_R_ABUSE). */
	uint64_t budget_start;
	uint32_t budget[3]; /* per enum charge */
	bool abusive;
};

/*
 * A member whose reports keep failing admission, whose catch-up sessions keep failing (e.g.
 * one that never converges, restarted each time it hits the round limit) or who opens
 * sessions far more often than any honest interval costs this node CPU for nothing. Past
 * one of these budgets per window its link is closed; it may reconnect after the overlay's
 * backoff, so an honest node hit by a transient fault recovers.
 */
#define PEER_BUDGET_WINDOW_MS 60000
enum charge {
	CHARGE_REJECT,	/* a report refused by admission (or its own over its rate limit) */
	CHARGE_FAILED,	/* a session it opened that failed or that it abandoned */
	CHARGE_SESSION, /* any session it opened */
};
static const uint32_t peer_budget[] = {
	[CHARGE_REJECT] = 200,
	[CHARGE_FAILED] = 20,
	[CHARGE_SESSION] = 600, /* one every 100 ms; honest nodes open one per interval */
};

struct node_dissem;
static bool charge(struct node_dissem *d, struct dlink *dl, enum charge what);
static void close_abusive(struct node_dissem *d);

enum in_path { IN_GOSSIP = 1, IN_CATCHUP = 2, IN_DIRECT = 3, IN_STEM = 4 };

struct inb {
	uint8_t *bytes;
	size_t len;
	uint8_t id[32];
	uint8_t path;
	uint64_t created_ms; /* IN_GOSSIP: the report's `created` (0 if it does not decode) */
	uint8_t peer[32];
	uint32_t link; /* slot it arrived on (counting only; may be reused by then) */
	struct node_link *l;
	int reason;
	int result;
	bool own; /* attributed and signed by the member of the link it came on */
};

struct del {
	uint8_t report_id[32];
	uint8_t recipient[32];
};

struct job {
	uv_work_t w;
	struct node_dissem *d;
	struct node_snap *snap;
	struct inb *items;
	size_t n;
	struct store_outbox_entry *puts;
	size_t n_puts;
	struct del *dels;
	size_t n_dels;
	uint64_t now_ms;
	int err;
};

struct counters {
	uint64_t received, duplicates, forwarded, published, catchup_received, pushes_received;
	uint64_t backlog_dropped, egress_denied, inbound_dropped, abusive;
	uint64_t rejected[POLICY_REASON_COUNT];
	uint64_t sessions, completed, failed, recon_bytes_sent, recon_bytes_recv;
	uint64_t fetch_sent, fetched_ids, fetch_ids_recv, catchup_pushed;
	uint64_t direct_sent, direct_recv, acked, ack_sent;
	uint64_t roster_sent, roster_recv, roster_adopted;
	uint64_t stem_originated, stem_received, stem_forwarded, stem_fluffed, stem_embargo;
	uint64_t store_errors;
};

struct node_dissem {
	uv_loop_t *loop;
	struct store *store;
	struct node_snap *snap;
	struct node_overlay *ov;
	struct node_dissem_config cfg;
	node_dissem_roster_fn roster_fn;
	void *roster_ctx;
	void (*commit_fn)(void *ctx);
	void *commit_ctx;
	struct proto_gossip *g;
	struct proto_stem *stem; /* same link handles as g */
	struct proto_recon_source src;
	struct dlink links[NODE_DISSEM_LINKS_MAX];
	uv_timer_t timer;
	bool timer_open, stopping;
	uint64_t next_periodic, next_recon;
	uint64_t rnd;

	struct inb *pend;
	size_t n_pend, cap_pend;
	struct store_outbox_entry *puts;
	size_t n_puts, cap_puts;
	struct del *dels;
	size_t n_dels, cap_dels;
	unsigned jobs_running;

	/*
	 * Rate limits on admitted new reports (policy/rate.h), shared by the admission jobs:
	 * attributed reports per signer, anonymous ones per member whose link delivered them.
	 */
	pthread_mutex_t rate_lock;
	struct policy_rate *rate_signed, *rate_anon;

	/*
	 * Recon keys of the anonymous reports in their stem phase here, ascending. Catch-up
	 * must not show them before they fluff: a peer that found one in this node's set
	 * before anyone else had it would know (or, at a relay, narrow down) where it started.
	 */
	uint8_t (*hidden)[STORE_RECON_KEY_LEN];
	size_t n_hidden, cap_hidden;
	size_t parts_bytes; /* ROSTER_PART bytes held over all links */

	struct proto_report scratch; /* loop-thread decodes */
	struct counters c;
	void (*done)(void *);
	void *done_arg;
};

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t xrand(struct node_dissem *d)
{
	uint64_t z = (d->rnd += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int check_config(const struct node_dissem_config *c)
{
	if (!c->retry_min_ms || c->retry_max_ms < c->retry_min_ms)
		return -EINVAL;
	if (c->member_rate.per_min && !c->member_rate.burst)
		return -EINVAL;
	return 0;
}

/* ------------------------------------------------------------------ sending */

static struct dlink *slot_of(struct node_dissem *d, const struct node_link *l)
{
	for (size_t i = 0; i < NODE_DISSEM_LINKS_MAX; i++)
		if (d->links[i].l == l)
			return &d->links[i];
	return NULL;
}

static struct dlink *slot_of_member(struct node_dissem *d, const uint8_t id[32])
{
	for (size_t i = 0; i < NODE_DISSEM_LINKS_MAX; i++)
		if (d->links[i].l && !memcmp(d->links[i].member_id, id, 32))
			return &d->links[i];
	return NULL;
}

static void qent_free(struct qent *e)
{
	if (e) {
		free(e->msg);
		free(e);
	}
}

static void queue_clear(struct dlink *dl)
{
	struct qent *e = dl->qh, *next;

	for (; e; e = next) {
		next = e->next;
		qent_free(e);
	}
	dl->qh = NULL;
	dl->qt = &dl->qh;
	dl->qn = 0;
}

/*
 * Load report @id and encode it as a link message of @type (PUSH or DIRECT) if egress
 * allows it on @path towards @target. Returns 0 with *@out set, 1 when it must not (or can
 * no longer) be sent, or a negative error.
 */
static int load_report_msg(struct node_dissem *d, const uint8_t id[32], enum proto_link_type type,
			   int path, const uint8_t *target, uint8_t **out, size_t *out_len)
{
	uint8_t *bytes = NULL;
	size_t len;
	int rc = store_report_get(d->store, NULL, id, &bytes, &len);

	if (rc == STORE_E_NOT_FOUND)
		return 1;
	if (rc)
		return rc;
	if (proto_report_decode(&d->scratch, bytes, len) ||
	    policy_egress_check_report(&d->snap->pcfg, path, &d->scratch, target) ==
		    POLICY_EGRESS_DENY) {
		d->c.egress_denied++;
		free(bytes);
		return 1;
	}
	rc = proto_link_encode_bin(type, bytes, len, out, out_len);
	free(bytes);
	return rc;
}

/* Send what the link's queue has room for; stops early if the link goes down. */
static void flush(struct node_dissem *d, struct dlink *dl)
{
	struct node_link *l = dl->l;

	while (dl->l == l && dl->qh) {
		struct qent *e = dl->qh;
		uint8_t *msg = e->msg;
		size_t len = e->len;
		int rc = 0;

		if (e->kind != Q_MSG) {
			if (node_link_room(l) < PROTO_REPORT_MAX_BYTES + ROOM_MARGIN)
				return;
			if (e->kind == Q_DIRECT)
				rc = load_report_msg(d, e->id, PROTO_LINK_DIRECT,
						     POLICY_PATH_DIRECT, dl->member_id, &msg, &len);
			else
				rc = load_report_msg(d, e->id,
						     e->kind == Q_STEM	    ? PROTO_LINK_STEM
						     : e->kind == Q_CATCHUP ? PROTO_LINK_CATCHUP
									    : PROTO_LINK_PUSH,
						     POLICY_PATH_GOSSIP, NULL, &msg, &len);
		} else if (node_link_room(l) < len + ROOM_MARGIN) {
			return;
		}
		dl->qh = e->next;
		if (!dl->qh)
			dl->qt = &dl->qh;
		dl->qn--;
		if (rc == 0) {
			rc = node_overlay_send(l, msg, len);
			if (rc == 0 && e->kind == Q_DIRECT)
				d->c.direct_sent++;
		} else if (rc < 0) {
			log_warning("dissem: cannot load a report to send: %s",
				    proto_error_str(rc));
		}
		if (msg != e->msg)
			free(msg);
		qent_free(e);
		/* A failed send closed the link; down() already cleared the slot. */
	}
}

static int enqueue(struct node_dissem *d, struct dlink *dl, uint8_t kind, const uint8_t *id,
		   uint8_t *msg, size_t len)
{
	struct qent *e;

	if (!dl->l) {
		free(msg);
		return -ENOTCONN;
	}
	if (kind != Q_MSG && dl->qn >= NODE_DISSEM_BACKLOG_MAX) {
		d->c.backlog_dropped++;
		return -ENOBUFS;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		free(msg);
		return -ENOMEM;
	}
	e->kind = kind;
	if (id)
		memcpy(e->id, id, 32);
	e->msg = msg;
	e->len = len;
	*dl->qt = e;
	dl->qt = &e->next;
	dl->qn++;
	if (dl->qn == 1)
		flush(d, dl);
	return 0;
}

/* Returns the encoded bytes queued. */
static size_t enqueue_ids(struct node_dissem *d, struct dlink *dl, enum proto_link_type type,
			  const uint8_t (*ids)[32], size_t n)
{
	size_t total = 0;

	while (n) {
		size_t k = n < PROTO_LINK_IDS_MAX ? n : PROTO_LINK_IDS_MAX;
		uint8_t *msg;
		size_t len;

		if (proto_link_encode_ids(type, ids, k, &msg, &len) == 0 &&
		    enqueue(d, dl, Q_MSG, NULL, msg, len) == 0)
			total += len;
		ids += k;
		n -= k;
	}
	return total;
}

static void enqueue_bare(struct node_dissem *d, struct dlink *dl, enum proto_link_type type)
{
	uint8_t *msg;
	size_t len;

	if (proto_link_encode_bare(type, &msg, &len) == 0)
		enqueue(d, dl, Q_MSG, NULL, msg, len);
}

/* Turn the engine's queued actions into link messages. */
static void drain_engine(struct node_dissem *d)
{
	struct proto_gossip_action a;

	while (proto_gossip_poll(d->g, &a)) {
		struct dlink *dl = a.link < NODE_DISSEM_LINKS_MAX ? &d->links[a.link] : NULL;

		if (!dl || !dl->l)
			continue;
		switch (a.type) {
		case PROTO_LINK_PUSH:
			enqueue(d, dl, Q_PUSH, a.ids[0], NULL, 0);
			break;
		case PROTO_LINK_IHAVE:
		case PROTO_LINK_GRAFT:
			enqueue_ids(d, dl, a.type, a.ids, a.n);
			break;
		case PROTO_LINK_PRUNE:
			enqueue_bare(d, dl, PROTO_LINK_PRUNE);
			break;
		default:
			break;
		}
	}
}

/* ------------------------------------------------------------------ timer */

static void on_timer(uv_timer_t *t);

static void arm_timer(struct node_dissem *d)
{
	uint64_t now = uv_now(d->loop), at = d->next_periodic;
	uint64_t gd = proto_gossip_next_deadline(d->g), sd = proto_stem_next_deadline(d->stem);

	if (!d->timer_open || d->stopping)
		return;
	if (gd < at)
		at = gd;
	if (sd < at)
		at = sd;
	uv_timer_start(&d->timer, on_timer, at > now ? at - now : 0, 0);
}

/* ------------------------------------------------------------------ the job */

static bool have_pending(const struct node_dissem *d)
{
	return d->n_pend || d->n_puts || d->n_dels;
}

/*
 * Take a token for each admitted report that is not stored yet (a duplicate costs its signer
 * nothing); refuse those over their member's limit. Returns how many of the @k admitted
 * items (@si, with @map into j->items and @reps) remain, compacted in place.
 */
static size_t rate_limit(struct job *j, struct store_item *si, const struct proto_report *reps,
			 size_t *map, size_t k)
{
	struct node_dissem *d = j->d;
	uint8_t(*ids)[32] = NULL;
	bool *present = NULL;
	size_t out = 0;

	if (!k)
		return 0;
	ids = malloc(k * sizeof(*ids));
	present = calloc(k, sizeof(*present));
	if (ids && present) {
		for (size_t m = 0; m < k; m++)
			memcpy(ids[m], si[m].report_id, 32);
		if (store_report_has(d->store, NULL, (const uint8_t(*)[32])ids, k, present))
			memset(present, 0, k * sizeof(*present));
	}
	pthread_mutex_lock(&d->rate_lock);
	for (size_t m = 0; m < k; m++) {
		struct inb *it = &j->items[map[m]];
		const struct proto_report *r = &reps[map[m]];
		bool anon = r->prov == PROTO_PROV_ANONYMOUS;
		int rc = 1;

		if (!present || !present[m])
			rc = !ids || !present
				     ? -ENOMEM
				     : policy_rate_take(anon ? d->rate_anon : d->rate_signed,
							anon ? it->peer : r->signer, j->now_ms);
		if (rc == 1) {
			si[out] = si[m];
			map[out++] = map[m];
			continue;
		}
		it->reason = rc == 0 ? POLICY_REJECT_RATE_LIMITED : POLICY_REJECT_INTERNAL;
		it->own = !anon && memcmp(r->signer, it->peer, 32) == 0;
	}
	pthread_mutex_unlock(&d->rate_lock);
	free(ids);
	free(present);
	return out;
}

static void job_work(uv_work_t *w)
{
	struct job *j = w->data;
	struct store_item *si = j->n ? calloc(j->n, sizeof(*si)) : NULL;
	struct proto_report *reps = j->n ? calloc(j->n, sizeof(*reps)) : NULL;
	size_t *map = j->n ? calloc(j->n, sizeof(*map)) : NULL;
	size_t k = 0;

	if (j->n && (!si || !reps || !map)) {
		j->err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < j->n; i++) {
		struct inb *it = &j->items[i];
		struct policy_admit_ctx ctx = {
			.now_ms = j->now_ms,
			.arrival = it->path == IN_DIRECT ? POLICY_ARRIVAL_DIRECT
							 : POLICY_ARRIVAL_GOSSIP,
			.roster_for_epoch = node_snap_roster_cb,
			.roster_ctx = j->snap,
			.newest = j->snap->newest,
		};
		memcpy(ctx.peer, it->peer, 32);
		it->reason = policy_admit_check(&j->snap->pcfg, &ctx, it->bytes, it->len, &reps[i]);
		if (it->reason != POLICY_ACCEPT)
			continue;
		si[k].bytes = it->bytes;
		si[k].len = it->len;
		memcpy(si[k].report_id, it->id, 32);
		si[k].r = &reps[i];
		/* Who relayed an anonymous report is exactly what its signer hides: not kept. */
		if (reps[i].prov != PROTO_PROV_ANONYMOUS)
			memcpy(si[k].env.received_from, it->peer, 32);
		si[k].env.received_ms = j->now_ms;
		si[k].env.hops = 1;
		map[k++] = i;
	}
	k = rate_limit(j, si, reps, map, k);
	if (k) {
		j->err = store_ingest(j->d->store, si, k, j->now_ms);
		for (size_t m = 0; m < k; m++)
			j->items[map[m]].result = j->err ? j->err : si[m].result;
	}
	if (j->n_puts) {
		int rc = store_outbox_put(j->d->store, j->puts, j->n_puts);
		if (rc && !j->err)
			j->err = rc;
	}
	for (size_t i = 0; i < j->n_dels; i++) {
		int rc = store_outbox_del(j->d->store, j->dels[i].report_id, j->dels[i].recipient);
		if (rc && rc != STORE_E_NOT_FOUND && !j->err)
			j->err = rc;
	}
out:
	free(si);
	free(reps);
	free(map);
}

static void kick(struct node_dissem *d);
static int start_job(struct node_dissem *d);
static void stem_relay(struct node_dissem *d, const struct inb *it);
static void maybe_finish_stop(struct node_dissem *d);
static void start_wanted_recons(struct node_dissem *d);

static void send_ack(struct node_dissem *d, struct inb *it)
{
	struct dlink *dl = slot_of_member(d, it->peer);
	uint8_t *msg;
	size_t len;

	if (!dl || proto_link_encode_ack(it->id, &msg, &len))
		return;
	if (enqueue(d, dl, Q_MSG, NULL, msg, len) == 0)
		d->c.ack_sent++;
}

static void job_done(uv_work_t *w, int status)
{
	struct job *j = w->data;
	struct node_dissem *d = j->d;
	uint64_t now = uv_now(d->loop);
	size_t n_new = 0;

	if (j->err)
		log_err("dissem: storing received reports failed: %s", proto_error_str(j->err));
	for (size_t i = 0; i < j->n; i++) {
		struct inb *it = &j->items[i];
		bool ok = status == 0 && !j->err && it->reason == POLICY_ACCEPT &&
			  (it->result == STORE_NEW || it->result == STORE_DUP);

		n_new += ok && it->result == STORE_NEW;

		if (status == 0 && it->reason != POLICY_ACCEPT) {
			if (it->reason > 0 && it->reason < POLICY_REASON_COUNT)
				d->c.rejected[it->reason]++;
			struct dlink *dl = &d->links[it->link];
			/*
			 * Over a rate limit is the link's fault only when its member signed the
			 * report: an honest relay passes on what others flood.
			 */
			bool blame = it->reason != POLICY_REJECT_RATE_LIMITED || it->own;

			if (dl->l == it->l) {
				dl->rejected++;
				if (blame)
					charge(d, dl, CHARGE_REJECT);
			}
			log_debug("dissem: refused a report: %s",
				  policy_admit_reason_text(it->reason));
		} else if (it->reason == POLICY_ACCEPT && it->result < 0) {
			d->c.store_errors++;
		}
		switch (it->path) {
		case IN_GOSSIP:
			if (!d->stopping) {
				/*
				 * New to the store, or stored shortly before by catch-up or the
				 * stem (which bypass the engine): this is the engine's first copy,
				 * so it goes on along the tree. An old report already held is not
				 * gossiped again: peers whose engines forgot it would pass it on
				 * in a wave of duplicates.
				 */
				if (ok && (it->result == STORE_NEW ||
					   it->created_ms + NODE_DISSEM_FRESH_MS >= j->now_ms)) {
					proto_gossip_forward(d->g, it->id, now);
					d->c.forwarded++;
				} else if (it->reason == POLICY_REJECT_RATE_LIMITED ||
					   it->reason == POLICY_REJECT_INTERNAL) {
					/* Refused for now: a later copy may pass. */
					proto_gossip_forget(d->g, it->id, now);
				} else {
					proto_gossip_discard(d->g, it->id, now);
				}
			}
			break;
		case IN_CATCHUP:
			if (ok && it->result == STORE_NEW)
				d->c.fetched_ids++;
			break;
		case IN_DIRECT:
			if (ok && !d->stopping)
				send_ack(d, it);
			break;
		case IN_STEM:
			/*
			 * Stored now, or before (a loop of the stem, or catch-up was first): the
			 * stem router decides. An old report held long since is not put back
			 * into the stem, for the same reason as in IN_GOSSIP.
			 */
			if (ok && !d->stopping &&
			    (it->result == STORE_NEW ||
			     it->created_ms + NODE_DISSEM_FRESH_MS >= j->now_ms))
				stem_relay(d, it);
			break;
		}
		free(it->bytes);
	}
	node_snap_unref(j->snap);
	free(j->items);
	free(j->puts);
	free(j->dels);
	free(j);
	d->jobs_running--;
	if (n_new && d->commit_fn)
		d->commit_fn(d->commit_ctx);
	if (d->stopping) {
		maybe_finish_stop(d);
		return;
	}
	close_abusive(d);
	drain_engine(d);
	kick(d);
	start_wanted_recons(d);
	arm_timer(d);
}

/*
 * Start admission jobs. A second (up to NODE_DISSEM_JOBS_MAX) runs in parallel only when at
 * least half a batch waits, so a trickle still makes few large commits while a burst uses
 * more than one core for verification. Outbox changes go only with a job that runs alone,
 * which keeps a reschedule and the deletion of the same entry in order.
 */
static void kick(struct node_dissem *d)
{
	while (!d->stopping && d->jobs_running < NODE_DISSEM_JOBS_MAX && have_pending(d)) {
		if (d->jobs_running && d->n_pend < NODE_DISSEM_BATCH_MAX / 2)
			return;
		if (start_job(d))
			return;
	}
}

static int start_job(struct node_dissem *d)
{
	bool with_outbox = !d->jobs_running;
	struct job *j;
	size_t n;

	if (!d->n_pend && !with_outbox)
		return -EAGAIN;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	n = d->n_pend < NODE_DISSEM_BATCH_MAX ? d->n_pend : NODE_DISSEM_BATCH_MAX;
	if (n) {
		j->items = malloc(n * sizeof(*j->items));
		if (!j->items) {
			free(j);
			return -ENOMEM;
		}
		memcpy(j->items, d->pend, n * sizeof(*j->items));
		memmove(d->pend, d->pend + n, (d->n_pend - n) * sizeof(*d->pend));
		d->n_pend -= n;
		j->n = n;
	}
	if (with_outbox) {
		j->puts = d->puts;
		j->n_puts = d->n_puts;
		d->puts = NULL;
		d->n_puts = d->cap_puts = 0;
		j->dels = d->dels;
		j->n_dels = d->n_dels;
		d->dels = NULL;
		d->n_dels = d->cap_dels = 0;
	}
	j->d = d;
	j->snap = node_snap_ref(d->snap);
	j->now_ms = wall_ms();
	j->w.data = j;
	if (uv_queue_work(d->loop, &j->w, job_work, job_done)) {
		/* Cannot happen with a valid loop and callbacks; keep nothing half-done. */
		for (size_t i = 0; i < j->n; i++)
			free(j->items[i].bytes);
		node_snap_unref(j->snap);
		free(j->items);
		free(j->puts);
		free(j->dels);
		free(j);
		return -ENOMEM;
	}
	d->jobs_running++;
	return 0;
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	void *p;
	size_t nc;

	if (need <= *cap)
		return 0;
	nc = *cap ? *cap * 2 : 64;
	while (nc < need)
		nc *= 2;
	p = realloc(*arr, nc * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = nc;
	return 0;
}

/* Queue a received report (bytes copied) for admission; @l, @dl the link it came on. */
static int add_inbound(struct node_dissem *d, struct dlink *dl, const uint8_t *bytes, size_t len,
		       const uint8_t id[32], uint8_t path, uint64_t created_ms)
{
	struct inb *it;

	if (d->n_pend >= NODE_DISSEM_PENDING_MAX) {
		d->c.inbound_dropped++;
		return -ENOBUFS;
	}
	if (grow((void **)&d->pend, &d->cap_pend, d->n_pend + 1, sizeof(*d->pend)))
		return -ENOMEM;
	it = &d->pend[d->n_pend];
	memset(it, 0, sizeof(*it));
	it->bytes = malloc(len);
	if (!it->bytes)
		return -ENOMEM;
	memcpy(it->bytes, bytes, len);
	it->len = len;
	memcpy(it->id, id, 32);
	it->path = path;
	it->created_ms = created_ms;
	memcpy(it->peer, dl->member_id, 32);
	it->link = (uint32_t)(dl - d->links);
	it->l = dl->l;
	d->n_pend++;
	kick(d);
	return 0;
}

/* ------------------------------------------------------------------ reconciliation */

/* Index of the first hidden key >= @key (NULL: 0). */
static size_t hidden_lower(const struct node_dissem *d, const uint8_t *key)
{
	size_t a = 0, b = d->n_hidden;

	while (key && a < b) {
		size_t m = a + (b - a) / 2;

		if (memcmp(d->hidden[m], key, STORE_RECON_KEY_LEN) < 0)
			a = m + 1;
		else
			b = m;
	}
	return a;
}

/* Drop the hidden keys whose stem has ended here (fluffed, embargo over, gossip came). */
static void hidden_prune(struct node_dissem *d)
{
	size_t out = 0;

	for (size_t i = 0; i < d->n_hidden; i++)
		if (proto_stem_pending(d->stem, d->hidden[i] + 8))
			memmove(d->hidden[out++], d->hidden[i], STORE_RECON_KEY_LEN);
	d->n_hidden = out;
}

/* Hide stored report @id (created at @created_ms) from catch-up while its stem runs. */
static void hide(struct node_dissem *d, uint64_t created_ms, const uint8_t id[32])
{
	uint8_t key[STORE_RECON_KEY_LEN];
	size_t at;

	hidden_prune(d);
	store_recon_key(key, created_ms, id);
	at = hidden_lower(d, key);
	if (at < d->n_hidden && memcmp(d->hidden[at], key, sizeof(key)) == 0)
		return;
	if (grow((void **)&d->hidden, &d->cap_hidden, d->n_hidden + 1, sizeof(*d->hidden))) {
		log_warning("dissem: out of memory: an anonymous report in its stem is visible to "
			    "catch-up");
		return;
	}
	memmove(d->hidden[at + 1], d->hidden[at], (d->n_hidden - at) * sizeof(*d->hidden));
	memcpy(d->hidden[at], key, sizeof(key));
	d->n_hidden++;
}

static bool is_hidden(const struct node_dissem *d, const uint8_t key[STORE_RECON_KEY_LEN])
{
	size_t at = hidden_lower(d, key);

	return at < d->n_hidden && memcmp(d->hidden[at], key, STORE_RECON_KEY_LEN) == 0 &&
	       proto_stem_pending(d->stem, key + 8);
}

static int src_fingerprint(void *ctx, const uint8_t *lo, const uint8_t *hi, uint8_t sum[32],
			   uint64_t *count)
{
	struct node_dissem *d = ctx;
	int rc = store_recon_fingerprint(d->store, NULL, lo, hi, sum, count);

	for (size_t i = hidden_lower(d, lo); rc == 0 && i < d->n_hidden; i++) {
		if (hi && memcmp(d->hidden[i], hi, STORE_RECON_KEY_LEN) >= 0)
			break;
		/* Stored before it was hidden, so it is counted in the store's figures. */
		if (proto_stem_pending(d->stem, d->hidden[i] + 8) && *count) {
			proto_recon_sum_sub(sum, d->hidden[i] + 8);
			(*count)--;
		}
	}
	return rc;
}

/* The next key after @key in byte order among keys of the same length; false at the end. */
static bool key_next(uint8_t key[STORE_RECON_KEY_LEN])
{
	for (size_t i = STORE_RECON_KEY_LEN; i-- > 0;)
		if (++key[i] != 0)
			return true;
	return false;
}

static int src_list(void *ctx, const uint8_t *lo, const uint8_t *hi,
		    uint8_t (*keys)[PROTO_RECON_KEY_LEN], size_t cap, size_t *n)
{
	struct node_dissem *d = ctx;
	uint8_t cursor[STORE_RECON_KEY_LEN];
	size_t got = 0;

	if (!d->n_hidden)
		return store_recon_list(d->store, NULL, lo, hi, keys, cap, n);
	/* Page past the hidden keys until @cap visible ones or the end of the range. */
	for (const uint8_t *from = lo;;) {
		size_t want = cap - got, k, kept = 0;
		int rc = store_recon_list(d->store, NULL, from, hi, keys + got, want, &k);

		if (rc)
			return rc;
		for (size_t i = 0; i < k; i++)
			if (!is_hidden(d, keys[got + i]))
				memmove(keys[got + kept++], keys[got + i], STORE_RECON_KEY_LEN);
		if (k < want || !k) {
			got += kept;
			break;
		}
		memcpy(cursor, keys[got + k - 1], STORE_RECON_KEY_LEN);
		got += kept;
		if (got == cap || !key_next(cursor))
			break;
		from = cursor;
	}
	*n = got;
	return 0;
}

static void open_window(struct node_dissem *d, struct dlink *dl)
{
	dl->catchup_until = uv_now(d->loop) + NODE_DISSEM_CATCHUP_WINDOW_MS;
}

static void send_recon(struct node_dissem *d, struct dlink *dl, uint8_t *payload, size_t len)
{
	uint8_t *msg;
	size_t mlen;

	if (!payload)
		return;
	if (proto_link_encode_bin(PROTO_LINK_RECON, payload, len, &msg, &mlen) == 0) {
		d->c.recon_bytes_sent += mlen;
		enqueue(d, dl, Q_MSG, NULL, msg, mlen);
	}
	free(payload);
}

/* Push the session's "have" reports and FETCH its "need" ids. */
static void drain_session(struct node_dissem *d, struct dlink *dl, struct proto_recon *r)
{
	static uint8_t ids[PROTO_LINK_IDS_MAX][32];
	size_t n;

	for (;;) {
		if (proto_recon_have(r, ids, PROTO_LINK_IDS_MAX, &n) || !n)
			break;
		for (size_t i = 0; i < n; i++)
			enqueue(d, dl, Q_CATCHUP, ids[i], NULL, 0);
		d->c.catchup_pushed += n;
	}
	for (;;) {
		static bool present[PROTO_LINK_IDS_MAX];
		size_t k = 0;

		proto_recon_need(r, ids, PROTO_LINK_IDS_MAX, &n);
		if (!n)
			break;
		/*
		 * A peer that lies about a report's `created` can make its id look missing
		 * (proto/recon.h): never FETCH what the store already holds.
		 */
		if (store_report_has(d->store, NULL, (const uint8_t(*)[32])ids, n, present) == 0) {
			for (size_t i = 0; i < n; i++)
				if (!present[i])
					memmove(ids[k++], ids[i], 32);
			n = k;
		}
		if (!n)
			continue;
		d->c.fetch_sent++;
		dl->fetch_wait += n;
		dl->fetch_deadline = uv_now(d->loop) + NODE_DISSEM_CATCHUP_WINDOW_MS;
		/* FETCH bytes count as catch-up traffic. */
		d->c.recon_bytes_sent +=
			enqueue_ids(d, dl, PROTO_LINK_FETCH, (const uint8_t(*)[32])ids, n);
	}
}

/*
 * Catch-up sessions run one at a time per node, and the next one starts only once the
 * copies found by the previous one are stored (nothing pending, no FETCH unanswered):
 * a node that comes back with several links would otherwise fetch what it missed once per
 * link.
 */
static bool catching_up(struct node_dissem *d)
{
	uint64_t now = uv_now(d->loop);

	if (d->jobs_running || d->n_pend)
		return true;
	for (size_t i = 0; i < NODE_DISSEM_LINKS_MAX; i++) {
		struct dlink *dl = &d->links[i];
		if (!dl->l)
			continue;
		if (dl->ri || dl->rr)
			return true;
		if (dl->fetch_wait && now < dl->fetch_deadline)
			return true;
	}
	return false;
}

static void start_recon(struct node_dissem *d, struct dlink *dl);
static void on_recon(struct node_dissem *d, struct dlink *dl, const uint8_t *p, size_t len);

/* Charge @what to @dl; true (and the link marked) when it is over that budget. */
static bool charge(struct node_dissem *d, struct dlink *dl, enum charge what)
{
	uint64_t now = uv_now(d->loop);

	if (now - dl->budget_start >= PEER_BUDGET_WINDOW_MS) {
		dl->budget_start = now;
		memset(dl->budget, 0, sizeof(dl->budget));
	}
	if (++dl->budget[what] > peer_budget[what])
		dl->abusive = true;
	return dl->abusive;
}

/* Close the links marked abusive; never called from inside a link's own callbacks' frames. */
static void close_abusive(struct node_dissem *d)
{
	for (size_t i = 0; i < NODE_DISSEM_LINKS_MAX; i++) {
		struct dlink *dl = &d->links[i];

		if (dl->l && dl->abusive) {
			d->c.abusive++;
			log_warning(
				"dissem: link %llu closed: over its budget of refused reports or "
				"catch-up sessions",
				(unsigned long long)node_link_id(dl->l));
			node_link_close(dl->l, NODE_LINK_R_ABUSE);
		}
	}
}

static void start_wanted_recons(struct node_dissem *d)
{
	for (size_t i = 0; i < NODE_DISSEM_LINKS_MAX && !d->stopping; i++) {
		struct dlink *dl = &d->links[i];
		if (!dl->l || !dl->deferred)
			continue;
		if (catching_up(d))
			return;
		uint8_t *p = dl->deferred;
		dl->deferred = NULL;
		on_recon(d, dl, p, dl->deferred_len);
		free(p);
	}
	for (size_t i = 0; i < NODE_DISSEM_LINKS_MAX && !d->stopping; i++) {
		struct dlink *dl = &d->links[i];
		if (!dl->l || !dl->recon_wanted)
			continue;
		if (catching_up(d))
			return;
		dl->recon_wanted = false;
		start_recon(d, dl);
	}
}

static void start_recon(struct node_dissem *d, struct dlink *dl)
{
	uint8_t *out = NULL;
	size_t len;
	int rc;

	if (dl->ri && uv_now(d->loop) < dl->catchup_until)
		return; /* a session is still running */
	proto_recon_free(dl->ri);
	dl->ri = proto_recon_new(NULL, &d->src);
	if (!dl->ri)
		return;
	d->c.sessions++;
	open_window(d, dl);
	rc = proto_recon_initiate(dl->ri, &out, &len);
	if (rc) {
		d->c.failed++;
		log_warning("dissem: catch-up session could not start: %s", proto_error_str(rc));
		proto_recon_free(dl->ri);
		dl->ri = NULL;
		return;
	}
	send_recon(d, dl, out, len);
}

static void on_recon(struct node_dissem *d, struct dlink *dl, const uint8_t *p, size_t len)
{
	int role = proto_recon_msg_role(p, len);
	struct proto_recon **sp;
	uint8_t *out = NULL;
	size_t olen = 0;
	bool fresh;
	int rc;

	d->c.recon_bytes_recv += len + 5;
	if (role < 0) {
		d->c.failed++;
		return;
	}
	sp = role == 0 ? &dl->rr : &dl->ri;
	if (!*sp && role != 0) {
		d->c.failed++;
		return;
	}
	fresh = !*sp;
	if (fresh && catching_up(d)) {
		/*
		 * A session the peer opened while this node is still storing what another
		 * session found: answer it afterwards, or it would fetch the same reports
		 * twice. The peer waits (its session times out after a quiet window).
		 */
		uint8_t *copy = malloc(len);
		if (copy) {
			memcpy(copy, p, len);
			free(dl->deferred);
			dl->deferred = copy;
			dl->deferred_len = len;
		}
		return;
	}
	if (fresh) {
		if (role == 0 && charge(d, dl, CHARGE_SESSION))
			return;
		*sp = proto_recon_new(NULL, &d->src);
		if (!*sp)
			return;
		d->c.sessions++;
	}
	open_window(d, dl);
	rc = proto_recon_receive(*sp, p, len, &out, &olen);
	if (rc < 0 && role == 0 && !fresh) {
		/*
		 * The peer gave up the session we were answering and opened a new one (its
		 * first message does not fit the old session): answer the new one.
		 */
		proto_recon_free(*sp);
		*sp = NULL;
		if (charge(d, dl, CHARGE_FAILED) || charge(d, dl, CHARGE_SESSION))
			return;
		*sp = proto_recon_new(NULL, &d->src);
		if (!*sp)
			return;
		d->c.sessions++;
		rc = proto_recon_receive(*sp, p, len, &out, &olen);
	}
	drain_session(d, dl, *sp);
	if (rc == 0 || rc == PROTO_RECON_DONE)
		send_recon(d, dl, out, olen);
	if (rc == PROTO_RECON_DONE) {
		d->c.completed++;
		proto_recon_free(*sp);
		*sp = NULL;
		start_wanted_recons(d);
	} else if (rc < 0) {
		d->c.failed++;
		log_info("dissem: catch-up session failed: %s", proto_error_str(rc));
		proto_recon_free(*sp);
		*sp = NULL;
		if (role == 0)
			charge(d, dl, CHARGE_FAILED);
	}
}

/* ------------------------------------------------------------------ outbox and roster */

static uint64_t retry_delay(const struct node_dissem *d, uint32_t attempts)
{
	uint64_t delay = d->cfg.retry_min_ms;

	while (attempts-- > 0 && delay < d->cfg.retry_max_ms)
		delay *= 2;
	return delay < d->cfg.retry_max_ms ? delay : d->cfg.retry_max_ms;
}

/*
 * Send every due outbox entry whose recipient has an up link and reschedule it; entries of
 * recipients without a link stay due and go as soon as a link to them comes up.
 */
static void scan_outbox(struct node_dissem *d)
{
	static struct store_outbox_entry due[OUTBOX_SCAN_MAX];
	uint64_t now = wall_ms();
	size_t n = 0;
	int rc = store_outbox_due(d->store, NULL, now, due, OUTBOX_SCAN_MAX, &n);

	if (rc) {
		log_warning("dissem: reading the outbox failed: %s", proto_error_str(rc));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct dlink *dl = slot_of_member(d, due[i].recipient);
		struct store_outbox_entry *e;

		if (!dl)
			continue;
		if (grow((void **)&d->puts, &d->cap_puts, d->n_puts + 1, sizeof(*d->puts)))
			break;
		enqueue(d, dl, Q_DIRECT, due[i].report_id, NULL, 0);
		e = &d->puts[d->n_puts++];
		*e = due[i];
		e->next_attempt_ms = now + retry_delay(d, e->attempts);
		e->attempts++;
	}
	kick(d);
}

/* Send roster @epoch to @dl: one ROSTER, or ROSTER_PARTs when it does not fit one message. */
static void send_roster(struct node_dissem *d, struct dlink *dl, uint64_t epoch)
{
	uint8_t *bytes = NULL, *msg;
	size_t len, mlen;
	uint32_t total;
	int rc = 0;

	if (store_roster_get(d->store, NULL, epoch, &bytes, &len))
		return;
	if (len <= PROTO_LINK_BIN_MAX) {
		rc = proto_link_encode_bin(PROTO_LINK_ROSTER, bytes, len, &msg, &mlen);
		if (rc == 0)
			rc = enqueue(d, dl, Q_MSG, NULL, msg, mlen);
	} else {
		total = (uint32_t)((len + PROTO_LINK_PART_MAX - 1) / PROTO_LINK_PART_MAX);
		for (uint32_t i = 0; rc == 0 && i < total; i++) {
			size_t off = (size_t)i * PROTO_LINK_PART_MAX;
			size_t n =
				len - off < PROTO_LINK_PART_MAX ? len - off : PROTO_LINK_PART_MAX;

			rc = proto_link_encode_part(i, total, bytes + off, n, &msg, &mlen);
			if (rc == 0)
				rc = enqueue(d, dl, Q_MSG, NULL, msg, mlen);
		}
	}
	if (rc == 0) {
		d->c.roster_sent++;
		dl->peer_epoch = epoch;
	} else {
		log_warning("dissem: roster epoch %llu not sent on link %llu: %s",
			    (unsigned long long)epoch, (unsigned long long)node_link_id(dl->l),
			    proto_error_str(rc));
	}
	free(bytes);
}

void node_dissem_roster_adopted(struct node_dissem *d, uint64_t epoch)
{
	d->c.roster_adopted++;
	for (size_t i = 0; i < NODE_DISSEM_LINKS_MAX; i++)
		if (d->links[i].l && d->links[i].peer_epoch < epoch)
			send_roster(d, &d->links[i], epoch);
}

/* ------------------------------------------------------------------ overlay callbacks */

static void cb_up(void *ctx, struct node_link *l, int member)
{
	struct node_dissem *d = ctx;
	const struct proto_roster *nr = d->snap->newest;
	struct node_link_info info;
	struct dlink *dl = slot_of(d, NULL);
	uint32_t h;

	if (d->stopping || !dl || member < 0 || (size_t)member >= nr->n_members) {
		if (!dl)
			log_warning("dissem: more than %d links; one is left out of gossip",
				    NODE_DISSEM_LINKS_MAX);
		return;
	}
	h = (uint32_t)(dl - d->links);
	memset(dl, 0, sizeof(*dl));
	dl->l = l;
	dl->member = member;
	memcpy(dl->member_id, nr->members[member].id, 32);
	dl->qt = &dl->qh;
	node_link_info(l, &info);
	dl->peer_epoch = info.peer_epoch;
	if (proto_gossip_link_up(d->g, h, uv_now(d->loop))) {
		dl->l = NULL;
		return;
	}
	/* Cannot fail: the stem router tracks the same handles as the engine. */
	proto_stem_link_up(d->stem, h, uv_now(d->loop));
	if (dl->peer_epoch < nr->epoch)
		send_roster(d, dl, nr->epoch);
	/* One catch-up session per link: the side that dialled starts it. */
	if (node_link_outbound(l)) {
		dl->recon_wanted = true;
		start_wanted_recons(d);
	}
	drain_engine(d);
	scan_outbox(d);
	arm_timer(d);
}

/* Forget the roster parts joined so far on @dl. */
static void parts_drop(struct node_dissem *d, struct dlink *dl)
{
	d->parts_bytes -= dl->parts_len;
	free(dl->parts);
	dl->parts = NULL;
	dl->parts_len = 0;
	dl->parts_next = dl->parts_total = 0;
}

static void cb_down(void *ctx, struct node_link *l, int member, enum node_link_reason reason)
{
	struct node_dissem *d = ctx;
	struct dlink *dl = slot_of(d, l);

	(void)member;
	(void)reason;
	if (!dl)
		return;
	proto_gossip_link_down(d->g, (uint32_t)(dl - d->links), uv_now(d->loop));
	proto_stem_link_down(d->stem, (uint32_t)(dl - d->links), uv_now(d->loop));
	proto_recon_free(dl->ri);
	proto_recon_free(dl->rr);
	free(dl->deferred);
	parts_drop(d, dl);
	queue_clear(dl);
	if (dl->rejected)
		log_debug("dissem: link %llu closed after %llu refused report(s)",
			  (unsigned long long)node_link_id(l), (unsigned long long)dl->rejected);
	memset(dl, 0, sizeof(*dl));
	dl->qt = &dl->qh;
	drain_engine(d);
	arm_timer(d);
}

static void cb_drained(void *ctx, struct node_link *l, int member)
{
	struct node_dissem *d = ctx;
	struct dlink *dl = slot_of(d, l);

	(void)member;
	if (dl)
		flush(d, dl);
}

/*
 * The report's `created` (0 when it does not decode: admission refuses it whatever the path)
 * and whether it is a catch-up copy (see node/overlay/dissem.h).
 */
/* The `created` of report bytes @p, 0 when they do not decode (admission refuses them). */
static uint64_t created_of(struct node_dissem *d, const uint8_t *p, size_t len)
{
	return proto_report_decode(&d->scratch, p, len) ? 0 : d->scratch.created_ms;
}

/* The `created` of stored report @id, 0 when it cannot be read. */
static uint64_t stored_created(struct node_dissem *d, const uint8_t id[32], bool *anonymous)
{
	uint8_t *bytes = NULL;
	size_t len;
	uint64_t created = 0;

	if (anonymous)
		*anonymous = false;
	if (store_report_get(d->store, NULL, id, &bytes, &len) == 0 &&
	    proto_report_decode(&d->scratch, bytes, len) == 0) {
		created = d->scratch.created_ms;
		if (anonymous)
			*anonymous = d->scratch.prov == PROTO_PROV_ANONYMOUS;
	}
	free(bytes);
	return created;
}

/*
 * A catch-up copy (a session's "have" item, or the answer to our FETCH): stored, never
 * handed to the engine, so it can neither prune a tree link nor be gossiped on.
 */
static void on_catchup(struct node_dissem *d, struct dlink *dl, const uint8_t *p, size_t len)
{
	uint8_t id[32];

	d->c.pushes_received++; /* payload copies, gossip and catch-up alike */
	dl->received++;
	if (dl->fetch_wait)
		dl->fetch_wait--;
	proto_report_id(p, len, id);
	if (proto_gossip_seen(d->g, id)) {
		d->c.duplicates++;
		return;
	}
	d->c.catchup_received++;
	dl->catchup_until = uv_now(d->loop) + NODE_DISSEM_CATCHUP_WINDOW_MS;
	add_inbound(d, dl, p, len, id, IN_CATCHUP, created_of(d, p, len));
}

static void on_push(struct node_dissem *d, struct dlink *dl, const uint8_t *p, size_t len)
{
	uint8_t id[32];
	uint64_t now = uv_now(d->loop), created;
	int rc;

	d->c.pushes_received++;
	dl->received++;
	proto_report_id(p, len, id);
	created = created_of(d, p, len);
	/* Gossip brought it: a stem through this node has ended, its embargo too. */
	proto_stem_on_gossip(d->stem, id, now);
	rc = proto_gossip_on_push(d->g, (uint32_t)(dl - d->links), id, created, now);
	if (rc == PROTO_GOSSIP_NEW) {
		d->c.received++;
		if (add_inbound(d, dl, p, len, id, IN_GOSSIP, created))
			proto_gossip_discard(d->g, id, now);
	} else if (rc == PROTO_GOSSIP_DUPLICATE) {
		d->c.duplicates++;
	}
	drain_engine(d);
	arm_timer(d);
}

static void on_ids(struct node_dissem *d, struct dlink *dl, const struct proto_link_msg *m)
{
	static uint8_t ids[PROTO_LINK_IDS_MAX][32];
	static bool present[PROTO_LINK_IDS_MAX];
	uint32_t h = (uint32_t)(dl - d->links);
	uint64_t now = uv_now(d->loop);
	size_t n = m->u.ids.n, k = 0;

	for (size_t i = 0; i < n; i++)
		memcpy(ids[i], proto_link_id(m, i), 32);
	switch (m->type) {
	case PROTO_LINK_IHAVE:
		/* Ids already stored (by catch-up, say) need no GRAFT. */
		if (store_report_has(d->store, NULL, (const uint8_t(*)[32])ids, n, present))
			memset(present, 0, n * sizeof(*present));
		for (size_t i = 0; i < n; i++)
			if (!present[i])
				memmove(ids[k++], ids[i], 32);
		proto_gossip_on_ihave(d->g, h, (const uint8_t(*)[32])ids, k, now);
		break;
	case PROTO_LINK_GRAFT:
		proto_gossip_on_graft(d->g, h, (const uint8_t(*)[32])ids, n, now);
		break;
	case PROTO_LINK_FETCH:
		d->c.fetch_ids_recv += n;
		open_window(d, dl);
		for (size_t i = 0; i < n; i++)
			enqueue(d, dl, Q_CATCHUP, ids[i], NULL, 0);
		break;
	default:
		break;
	}
	drain_engine(d);
	arm_timer(d);
}

static void on_direct(struct node_dissem *d, struct dlink *dl, const uint8_t *p, size_t len)
{
	uint8_t id[32];

	d->c.direct_recv++;
	proto_report_id(p, len, id);
	add_inbound(d, dl, p, len, id, IN_DIRECT, 0);
}

static void on_ack(struct node_dissem *d, struct dlink *dl, const uint8_t id[32])
{
	struct del *x;

	if (grow((void **)&d->dels, &d->cap_dels, d->n_dels + 1, sizeof(*d->dels)))
		return;
	x = &d->dels[d->n_dels++];
	memcpy(x->report_id, id, 32);
	memcpy(x->recipient, dl->member_id, 32);
	d->c.acked++;
	kick(d);
}

/* ------------------------------------------------------------------ Dandelion stem */

/* Fluff report @id (stored): gossip it as if this node were its origin. */
static void stem_fluff(struct node_dissem *d, const uint8_t id[32])
{
	uint64_t now = uv_now(d->loop);

	proto_stem_on_gossip(d->stem, id, now);
	if (proto_gossip_publish(d->g, id, stored_created(d, id, NULL), now) == 0)
		d->c.stem_fluffed++;
	drain_engine(d);
	arm_timer(d);
}

/*
 * Act on a verdict of the stem router for report @id. A FORWARD that cannot be queued (a
 * backlog over its limit) is not retried: the embargo this node now keeps fluffs it later.
 */
static void stem_act(struct node_dissem *d, const uint8_t id[32], uint64_t created_ms, int verdict,
		     uint32_t link)
{
	if (verdict == PROTO_STEM_FORWARD) {
		hide(d, created_ms, id);
		if (link < NODE_DISSEM_LINKS_MAX &&
		    enqueue(d, &d->links[link], Q_STEM, id, NULL, 0) == 0)
			d->c.stem_forwarded++;
		arm_timer(d);
	} else if (verdict == PROTO_STEM_FLUFF) {
		stem_fluff(d, id);
	}
}

/* A STEM copy of @it was admitted and stored: pass it on along the stem, or fluff it. */
static void stem_relay(struct node_dissem *d, const struct inb *it)
{
	uint32_t link = 0;
	int v = PROTO_STEM_FLUFF;

	if (proto_gossip_seen(d->g, it->id))
		return; /* gossip brought it meanwhile: the stem has ended */
	/* If the link it came on went down meanwhile, this relay ends the stem itself. */
	if (d->links[it->link].l == it->l)
		v = proto_stem_on_stem(d->stem, it->link, it->id, uv_now(d->loop), &link);
	stem_act(d, it->id, it->created_ms, v < 0 ? PROTO_STEM_FLUFF : v, link);
}

static void on_stem(struct node_dissem *d, struct dlink *dl, const uint8_t *p, size_t len)
{
	uint8_t id[32];
	uint64_t created;

	d->c.stem_received++;
	proto_report_id(p, len, id);
	if (proto_gossip_seen(d->g, id))
		return; /* gossip brought it already: the stem has ended */
	created = proto_report_decode(&d->scratch, p, len) ? 0 : d->scratch.created_ms;
	add_inbound(d, dl, p, len, id, IN_STEM, created);
}

/* Embargoes due: fluff what gossip has not brought back. */
static void stem_tick(struct node_dissem *d, uint64_t now)
{
	uint8_t id[32];

	while (proto_stem_expire(d->stem, now, id)) {
		if (proto_gossip_seen(d->g, id))
			continue;
		d->c.stem_embargo++;
		stem_fluff(d, id);
	}
}

static void on_roster(struct node_dissem *d, struct dlink *dl, const uint8_t *p, size_t len)
{
	int rc;

	d->c.roster_recv++;
	if (!d->roster_fn)
		return;
	rc = d->roster_fn(d->roster_ctx, p, len);
	if (rc)
		log_debug("dissem: roster from link %llu not adopted: %s",
			  (unsigned long long)node_link_id(dl->l), proto_error_str(rc));
}

/*
 * One part of a roster sent in ROSTER_PART messages. Parts must come in order, 0 first;
 * anything else drops the parts joined so far and counts against the link like a refused
 * report. The joined roster goes through on_roster() like a ROSTER.
 */
static void on_roster_part(struct node_dissem *d, struct dlink *dl, const struct proto_link_msg *m)
{
	uint32_t index = m->u.part.index, total = m->u.part.total;
	size_t len = m->u.part.len;
	uint8_t *grown;

	if (index == 0) {
		parts_drop(d, dl);
		dl->parts_total = total;
	} else if (!dl->parts || index != dl->parts_next || total != dl->parts_total) {
		goto bad;
	}
	if (dl->parts_len + len > PROTO_ROSTER_MAX_BYTES)
		goto bad;
	if (d->parts_bytes + len > NODE_DISSEM_PARTS_BYTES_MAX) {
		log_warning("dissem: more than %u bytes of rosters arriving in parts at once; "
			    "one from link %llu dropped (it is sent again on the next link up)",
			    NODE_DISSEM_PARTS_BYTES_MAX, (unsigned long long)node_link_id(dl->l));
		parts_drop(d, dl);
		return;
	}
	grown = realloc(dl->parts, dl->parts_len + len);
	if (!grown) {
		parts_drop(d, dl);
		return;
	}
	memcpy(grown + dl->parts_len, m->u.part.p, len);
	dl->parts = grown;
	dl->parts_len += len;
	d->parts_bytes += len;
	dl->parts_next = index + 1;
	if (dl->parts_next == total) {
		on_roster(d, dl, dl->parts, dl->parts_len);
		parts_drop(d, dl);
	}
	return;
bad:
	log_debug("dissem: roster part %u/%u from link %llu out of order or too large; dropped",
		  index, total, (unsigned long long)node_link_id(dl->l));
	charge(d, dl, CHARGE_REJECT);
	parts_drop(d, dl);
}

static void cb_message(void *ctx, struct node_link *l, int member, const struct proto_link_msg *m)
{
	struct node_dissem *d = ctx;
	struct dlink *dl = slot_of(d, l);

	(void)member;
	if (!dl || d->stopping)
		return;
	switch (m->type) {
	case PROTO_LINK_PUSH:
		on_push(d, dl, m->u.bin.p, m->u.bin.len);
		break;
	case PROTO_LINK_CATCHUP:
		on_catchup(d, dl, m->u.bin.p, m->u.bin.len);
		break;
	case PROTO_LINK_IHAVE:
	case PROTO_LINK_GRAFT:
	case PROTO_LINK_FETCH:
		on_ids(d, dl, m);
		break;
	case PROTO_LINK_PRUNE:
		proto_gossip_on_prune(d->g, (uint32_t)(dl - d->links), uv_now(d->loop));
		drain_engine(d);
		break;
	case PROTO_LINK_DIRECT:
		on_direct(d, dl, m->u.bin.p, m->u.bin.len);
		break;
	case PROTO_LINK_ACK:
		on_ack(d, dl, m->u.id);
		break;
	case PROTO_LINK_RECON:
		on_recon(d, dl, m->u.bin.p, m->u.bin.len);
		break;
	case PROTO_LINK_ROSTER:
		on_roster(d, dl, m->u.bin.p, m->u.bin.len);
		break;
	case PROTO_LINK_ROSTER_PART:
		on_roster_part(d, dl, m);
		break;
	case PROTO_LINK_STEM:
		on_stem(d, dl, m->u.bin.p, m->u.bin.len);
		break;
	default:
		break;
	}
	if (dl->abusive)
		close_abusive(d); /* the link stops reading buffered frames (overlay/link.c) */
}

/* ------------------------------------------------------------------ timer and public API */

static void periodic(struct node_dissem *d, uint64_t now)
{
	d->next_periodic = now + PERIODIC_MS;
	/*
	 * The overlay's drained() fires only after a send took a queue past half its bound;
	 * a backlog that stopped just below that mark would otherwise wait for the next
	 * enqueue. Retrying here bounds that wait to a second.
	 */
	for (size_t i = 0; i < NODE_DISSEM_LINKS_MAX; i++)
		if (d->links[i].l && d->links[i].qh)
			flush(d, &d->links[i]);
	scan_outbox(d);
	hidden_prune(d);
	if (d->cfg.recon_interval_ms && now >= d->next_recon) {
		struct dlink *up[NODE_DISSEM_LINKS_MAX];
		size_t n = 0;

		d->next_recon = now + d->cfg.recon_interval_ms;
		for (size_t i = 0; i < NODE_DISSEM_LINKS_MAX; i++)
			if (d->links[i].l)
				up[n++] = &d->links[i];
		if (n)
			up[xrand(d) % n]->recon_wanted = true;
	}
	/* Sessions stuck for a whole window (a silent peer) are given up. */
	for (size_t i = 0; i < NODE_DISSEM_LINKS_MAX; i++) {
		struct dlink *dl = &d->links[i];
		if (dl->l && (dl->ri || dl->rr) && now >= dl->catchup_until) {
			d->c.failed++;
			proto_recon_free(dl->ri);
			proto_recon_free(dl->rr);
			dl->ri = dl->rr = NULL;
		}
	}
	start_wanted_recons(d);
}

static void on_timer(uv_timer_t *t)
{
	struct node_dissem *d = t->data;
	uint64_t now = uv_now(d->loop);

	proto_gossip_tick(d->g, now);
	drain_engine(d);
	stem_tick(d, now);
	if (now >= d->next_periodic)
		periodic(d, now);
	arm_timer(d);
}

static struct proto_gossip *make_engine(const struct node_dissem_config *cfg, uint64_t seed)
{
	struct proto_gossip_config gc = {
		.max_links = NODE_DISSEM_LINKS_MAX,
		.ihave_flush_ms = cfg->ihave_flush_ms,
		.graft_timeout_ms = cfg->graft_timeout_ms,
		.seed = seed,
	};

	return proto_gossip_new(&gc);
}

/* The stem's coins and successors must be unpredictable: its key comes from the OS. */
static struct proto_stem *make_stem(const struct node_dissem_config *cfg)
{
	struct proto_stem_config sc = {
		.max_links = NODE_DISSEM_LINKS_MAX,
		.fluff_permille = cfg->stem_fluff_permille,
		.embargo_ms = cfg->stem_embargo_ms,
		.max_reports = NODE_DISSEM_STEM_REPORTS_MAX,
	};
	struct proto_stem *s;

	proto_random(&sc.seed, sizeof(sc.seed));
	s = proto_stem_new(&sc);
	proto_wipe(&sc.seed, sizeof(sc.seed));
	return s;
}

struct node_dissem *node_dissem_new(uv_loop_t *loop, struct store *store, struct node_snap *snap,
				    const struct node_dissem_config *cfg,
				    node_dissem_roster_fn roster_fn, void *roster_ctx)
{
	struct node_dissem *d;

	if (check_config(cfg))
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->loop = loop;
	d->store = store;
	d->cfg = *cfg;
	d->roster_fn = roster_fn;
	d->roster_ctx = roster_ctx;
	proto_random(&d->rnd, sizeof(d->rnd));
	d->g = make_engine(cfg, d->rnd);
	d->stem = make_stem(cfg);
	d->rate_signed = policy_rate_new(&cfg->member_rate);
	d->rate_anon = policy_rate_new(&cfg->member_rate);
	if (!d->g || !d->stem || !d->rate_signed || !d->rate_anon) {
		proto_gossip_free(d->g);
		proto_stem_free(d->stem);
		policy_rate_free(d->rate_signed);
		policy_rate_free(d->rate_anon);
		free(d);
		return NULL;
	}
	pthread_mutex_init(&d->rate_lock, NULL);
	d->src.fingerprint = src_fingerprint;
	d->src.list = src_list;
	d->src.ctx = d;
	for (size_t i = 0; i < NODE_DISSEM_LINKS_MAX; i++)
		d->links[i].qt = &d->links[i].qh;
	d->snap = node_snap_ref(snap);
	return d;
}

void node_dissem_set_commit_hook(struct node_dissem *d, void (*fn)(void *ctx), void *ctx)
{
	d->commit_fn = fn;
	d->commit_ctx = ctx;
}

void node_dissem_callbacks(struct node_dissem *d, struct node_overlay_callbacks *cb)
{
	memset(cb, 0, sizeof(*cb));
	cb->up = cb_up;
	cb->down = cb_down;
	cb->message = cb_message;
	cb->drained = cb_drained;
	cb->ctx = d;
}

int node_dissem_attach(struct node_dissem *d, struct node_overlay *ov)
{
	int rc = uv_timer_init(d->loop, &d->timer);

	if (rc)
		return rc;
	d->timer.data = d;
	d->timer_open = true;
	d->ov = ov;
	d->next_periodic = uv_now(d->loop) + PERIODIC_MS;
	d->next_recon = uv_now(d->loop) + d->cfg.recon_interval_ms;
	arm_timer(d);
	return 0;
}

void node_dissem_set_snap(struct node_dissem *d, struct node_snap *snap)
{
	struct node_snap *old = d->snap;

	d->snap = node_snap_ref(snap);
	node_snap_unref(old);
}

int node_dissem_set_config(struct node_dissem *d, const struct node_dissem_config *cfg)
{
	if (check_config(cfg))
		return -EINVAL;
	/* Engine timings are fixed at creation; the rest applies at once. */
	d->cfg.recon_interval_ms = cfg->recon_interval_ms;
	d->cfg.retry_min_ms = cfg->retry_min_ms;
	d->cfg.retry_max_ms = cfg->retry_max_ms;
	d->cfg.member_rate = cfg->member_rate;
	pthread_mutex_lock(&d->rate_lock);
	policy_rate_set_config(d->rate_signed, &cfg->member_rate);
	policy_rate_set_config(d->rate_anon, &cfg->member_rate);
	pthread_mutex_unlock(&d->rate_lock);
	d->next_recon = uv_now(d->loop) + d->cfg.recon_interval_ms;
	return 0;
}

void node_dissem_published(struct node_dissem *d, const uint8_t id[32], uint8_t tlp)
{
	if (d->stopping)
		return;
	if (tlp == PROTO_TLP_CLEAR || tlp == PROTO_TLP_GREEN) {
		bool anon;
		uint64_t created = stored_created(d, id, &anon);

		if (anon) {
			uint32_t link = 0;
			int v = proto_stem_originate(d->stem, id, uv_now(d->loop), &link);

			/*
			 * Origin hiding: the first node to broadcast it must not be this one.
			 * With no link up (FLUFF) there is nobody to hide among yet and catch-up
			 * will carry it. With the stem full (a burst of more than
			 * NODE_DISSEM_STEM_REPORTS_MAX anonymous reports within an embargo)
			 * delivery wins over hiding, and the operator is told.
			 */
			d->c.stem_originated++;
			if (v < 0) {
				log_warning("dissem: anonymous report gossiped from here, not sent "
					    "into the stem: %s",
					    proto_error_str(v));
				v = PROTO_STEM_FLUFF;
			}
			stem_act(d, id, created, v, link);
			return;
		}
		if (proto_gossip_publish(d->g, id, created, uv_now(d->loop)) == 0)
			d->c.published++;
		drain_engine(d);
		arm_timer(d);
	} else {
		scan_outbox(d);
	}
}

bool node_dissem_idle(const struct node_dissem *d)
{
	return !d->jobs_running && !have_pending(d);
}

static void free_all(struct node_dissem *d)
{
	for (size_t i = 0; i < NODE_DISSEM_LINKS_MAX; i++) {
		proto_recon_free(d->links[i].ri);
		proto_recon_free(d->links[i].rr);
		free(d->links[i].deferred);
		free(d->links[i].parts);
		queue_clear(&d->links[i]);
	}
	for (size_t i = 0; i < d->n_pend; i++)
		free(d->pend[i].bytes);
	free(d->pend);
	free(d->hidden);
	free(d->puts);
	free(d->dels);
	proto_stem_free(d->stem);
	proto_gossip_free(d->g);
	policy_rate_free(d->rate_signed);
	policy_rate_free(d->rate_anon);
	pthread_mutex_destroy(&d->rate_lock);
	node_snap_unref(d->snap);
	free(d);
}

static void maybe_finish_stop(struct node_dissem *d)
{
	void (*done)(void *) = d->done;
	void *arg = d->done_arg;

	if (d->timer_open || d->jobs_running)
		return;
	free_all(d);
	if (done)
		done(arg);
}

static void on_timer_closed(uv_handle_t *h)
{
	struct node_dissem *d = h->data;

	d->timer_open = false;
	maybe_finish_stop(d);
}

void node_dissem_stop(struct node_dissem *d, void (*done)(void *arg), void *arg)
{
	if (!d) {
		if (done)
			done(arg);
		return;
	}
	d->stopping = true;
	d->done = done;
	d->done_arg = arg;
	if (d->timer_open) {
		uv_close((uv_handle_t *)&d->timer, on_timer_closed);
		return;
	}
	maybe_finish_stop(d);
}

json_t *node_dissem_status_json(const struct node_dissem *d)
{
	struct proto_gossip_stats gs;
	const struct counters *c = &d->c;
	json_t *rej = json_object(), *links = json_array(), *o;
	size_t backlog = 0;

	proto_gossip_get_stats(d->g, &gs);
	for (int i = 1; rej && i < POLICY_REASON_COUNT; i++)
		if (c->rejected[i])
			json_object_set_new(rej, policy_admit_reason_name(i),
					    json_integer((json_int_t)c->rejected[i]));
	for (size_t i = 0; links && i < NODE_DISSEM_LINKS_MAX; i++) {
		const struct dlink *dl = &d->links[i];
		if (!dl->l)
			continue;
		backlog += dl->qn;
		json_array_append_new(links, json_pack("{s:I, s:s, s:I, s:I, s:I}", "link",
						       (json_int_t)node_link_id(dl->l), "mode",
						       proto_gossip_link_state(d->g, (uint32_t)i) ==
								       PROTO_GOSSIP_LINK_EAGER
							       ? "eager"
							       : "lazy",
						       "received", (json_int_t)dl->received,
						       "rejected", (json_int_t)dl->rejected,
						       "backlog", (json_int_t)dl->qn));
	}
	o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
		      " s:I, s:o*, s:o*}",
		      "published", (json_int_t)c->published, "received", (json_int_t)c->received,
		      "duplicates", (json_int_t)c->duplicates, "forwarded",
		      (json_int_t)c->forwarded, "catchup_received", (json_int_t)c->catchup_received,
		      "pushes_received", (json_int_t)c->pushes_received, "push_sent",
		      (json_int_t)gs.push_sent, "ihave_sent", (json_int_t)gs.ihave_sent,
		      "graft_sent", (json_int_t)gs.graft_sent, "prune_sent",
		      (json_int_t)gs.prune_sent, "backlog", (json_int_t)backlog, "inbound_dropped",
		      (json_int_t)c->inbound_dropped, "backlog_dropped",
		      (json_int_t)c->backlog_dropped, "egress_denied", (json_int_t)c->egress_denied,
		      "store_errors", (json_int_t)c->store_errors, "links_closed_abusive",
		      (json_int_t)c->abusive, "rejected", rej, "links", links);
	if (!o)
		return NULL;
	json_object_set_new(
		o, "recon",
		json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "sessions",
			  (json_int_t)c->sessions, "completed", (json_int_t)c->completed, "failed",
			  (json_int_t)c->failed, "bytes_sent", (json_int_t)c->recon_bytes_sent,
			  "bytes_received", (json_int_t)c->recon_bytes_recv, "fetch_sent",
			  (json_int_t)c->fetch_sent, "fetch_ids_received",
			  (json_int_t)c->fetch_ids_recv, "pushed", (json_int_t)c->catchup_pushed,
			  "fetched_ids", (json_int_t)c->fetched_ids));
	json_object_set_new(o, "direct",
			    json_pack("{s:I, s:I, s:I, s:I}", "sent", (json_int_t)c->direct_sent,
				      "received", (json_int_t)c->direct_recv, "acked",
				      (json_int_t)c->acked, "ack_sent", (json_int_t)c->ack_sent));
	json_object_set_new(o, "stem",
			    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "originated",
				      (json_int_t)c->stem_originated, "received",
				      (json_int_t)c->stem_received, "forwarded",
				      (json_int_t)c->stem_forwarded, "fluffed",
				      (json_int_t)c->stem_fluffed, "embargo_expired",
				      (json_int_t)c->stem_embargo, "embargoed",
				      (json_int_t)proto_stem_embargoed(d->stem)));
	json_object_set_new(o, "roster",
			    json_pack("{s:I, s:I, s:I}", "sent", (json_int_t)c->roster_sent,
				      "received", (json_int_t)c->roster_recv, "adopted",
				      (json_int_t)c->roster_adopted));
	return o;
}
