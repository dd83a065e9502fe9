/* SPDX-License-Identifier: MIT */
/*
 * The dissemination driver (node/overlay/dissem.h). It owns one Plumtree engine, a slot per up
 * link (gossip handle = slot index), the reconciliation sessions of each link, a backlog
 * per link, and one admission+commit pipeline for everything that arrives.
 *
 * The pipeline: inbound reports (gossip, catch-up and direct copies) and outbox changes
 * (reschedules, ACKed deletions) collect in pending arrays on the loop thread; a job in the
 * thread pool (up to NODE_DISSEM_JOBS_MAX at once, node/overlay/admission.c) takes what is
 * pending (up to NODE_DISSEM_BATCH_MAX reports), admits each report with the job's snapshot, stores the
 * accepted ones in one store_ingest() transaction and applies the outbox changes. What
 * arrives meanwhile waits for the next job, so a burst becomes few large commits (group
 * commit). Only after the job's commit does the loop forward, discard or ACK, which is the
 * "acknowledge after commit" rule of DESIGN.md §7.
 *
 * Clocks: the engine and the timers use uv_now() (monotonic ms); admission, the store and
 * the outbox use the wall clock (ms since the Unix epoch), like the publish path.
 *
 * This file is the gossip driver itself: life cycle, link callbacks and message dispatch,
 * per-link send queues and the timer. The other jobs have their own files
 * (node/overlay/dissem_int.h lists them): abuse.c, admission.c, catchup.c, outbox.c,
 * roster_gossip.c, stem_driver.c and dissem_status.c.
 */
#include "node/overlay/dissem.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/common/log.h"
#include "node/overlay/dissem_int.h"
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

#define PERIODIC_MS 1000 /* outbox scan and periodic recon check */
#define ROOM_MARGIN 128	 /* frame header, AEAD tag and slack per message */

uint64_t node_dissem_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int check_config(const struct node_dissem_config *c)
{
	if (!c->retry_min_ms || c->retry_max_ms < c->retry_min_ms)
		return -EINVAL;
	if (c->member_rate.per_min && !c->member_rate.burst)
		return -EINVAL;
	return policy_abuse_check_config(&c->abuse);
}

/* ------------------------------------------------------------------ sending */

static struct dlink *slot_of(struct node_dissem *d, const struct node_link *l)
{
	for (size_t i = 0; i < NODE_DISSEM_LINKS_MAX; i++)
		if (d->links[i].l == l)
			return &d->links[i];
	return NULL;
}

struct dlink *node_dissem_slot_of_member(struct node_dissem *d, const uint8_t id[32])
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

/* What a queued link message costs: its bytes, the entry and the allocator's overhead. */
static size_t qmsg_cost(size_t len)
{
	return len + sizeof(struct qent) + 2 * NODE_LINK_ALLOC_OVERHEAD;
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
	dl->qmsg_bytes = 0;
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
	bool bad;

	if (rc == STORE_E_NOT_FOUND)
		return 1;
	if (rc)
		return rc;
	bad = proto_report_decode(&d->scratch, bytes, len) != 0;
	/*
	 * Judged against the newest roster: a member that replaced its keys receives what was
	 * addressed to its old id, and this node still delivers what it signed under its own.
	 */
	if (bad || policy_egress_check_report_in(&d->snap->pcfg, d->snap->newest, path, &d->scratch,
						 target) == POLICY_EGRESS_DENY) {
		d->c.egress_denied++;
		free(bytes);
		return 1;
	}
	rc = proto_link_encode_bin(type, bytes, len, out, out_len);
	free(bytes);
	return rc;
}

/*
 * Sends cost a store read, an encoding and an encryption each (10-15 us on this machine): a
 * GRAFT for a thousand ids, an admitted batch forwarded on several eager links or a drained
 * link refilled to its bound made one loop iteration work 20-50 ms on the 16-node burst
 * (docs/PERFORMANCE.md). So sends stop once NODE_DISSEM_FLUSH_SLICE_US of loop time went to
 * them in this iteration (uv_now() unchanged; the idle handle's slice starts afresh); what
 * is left stays queued in order and the idle handle resumes the links in the next
 * iterations, so links and clients are served in between. Without the handle (not
 * attached) nothing is budgeted.
 */
static bool flush_budget_spent(struct node_dissem *d, uint64_t t0)
{
	d->flush_ns += uv_hrtime() - t0;
	return d->flush_open && d->flush_ns >= NODE_DISSEM_FLUSH_SLICE_US * 1000ull;
}

static void flush_budget_begin(struct node_dissem *d)
{
	if (uv_now(d->loop) != d->flush_ms) {
		d->flush_ms = uv_now(d->loop);
		d->flush_ns = 0;
	}
}

static void on_flush_idle(uv_idle_t *h);

static void flush_resume_later(struct node_dissem *d)
{
	if (!d->flush_open || d->stopping || uv_is_active((uv_handle_t *)&d->flush_idle))
		return;
	d->c.sends_resumed++;
	uv_idle_start(&d->flush_idle, on_flush_idle);
}

/*
 * Send what the link's queue has room for, within the iteration's budget; stops early if
 * the link goes down.
 */
static void flush(struct node_dissem *d, struct dlink *dl)
{
	struct node_link *l = dl->l;

	flush_budget_begin(d);
	if (dl->qh && d->flush_open && d->flush_ns >= NODE_DISSEM_FLUSH_SLICE_US * 1000ull) {
		flush_resume_later(d);
		return;
	}
	while (dl->l == l && dl->qh) {
		uint64_t t0 = uv_hrtime();
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
		if (e->kind == Q_MSG)
			dl->qmsg_bytes -= qmsg_cost(e->len);
		if (rc == 0) {
			if (e->kind == Q_PUSH &&
			    proto_gossip_link_state(d->g, (uint32_t)(dl - d->links)) ==
				    PROTO_GOSSIP_LINK_LAZY)
				d->c.push_lazy++;
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
		if (flush_budget_spent(d, t0) && dl->l == l && dl->qh) {
			flush_resume_later(d);
			return;
		}
	}
}

/* The next iteration's slice: resume every link with a queue, round robin. */
static void on_flush_idle(uv_idle_t *h)
{
	struct node_dissem *d = h->data;

	uv_idle_stop(h);
	d->flush_ms = uv_now(d->loop);
	d->flush_ns = 0;
	for (size_t k = 0; k < NODE_DISSEM_LINKS_MAX && !d->stopping; k++) {
		struct dlink *dl = &d->links[(d->flush_next + k) % NODE_DISSEM_LINKS_MAX];

		if (!dl->l || !dl->qh)
			continue;
		flush(d, dl);
		if (uv_is_active((uv_handle_t *)h)) {
			/* Out of budget again: this link first next time. */
			d->flush_next = (size_t)(dl - d->links);
			return;
		}
	}
}

int node_dissem_enqueue(struct node_dissem *d, struct dlink *dl, uint8_t kind, const uint8_t *id,
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
	/*
	 * Link messages wait here once the link's own send queue is full, so a peer that does
	 * not read would make them pile up without bound (an ACK for every DIRECT copy it
	 * sends, a GRAFT answer for every IHAVE): past NODE_DISSEM_MSG_BACKLOG x send_queue_max
	 * of them the link is closed as the link closes its own queue (NODE_LINK_R_QUEUE). The
	 * factor leaves an honest peer room for the announcements that queue behind a long
	 * catch-up.
	 */
	if (kind == Q_MSG && dl->qmsg_bytes + qmsg_cost(len) >
				     NODE_DISSEM_MSG_BACKLOG * node_link_send_queue_max(dl->l)) {
		free(msg);
		node_link_close(dl->l, NODE_LINK_R_QUEUE);
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
	if (kind == Q_MSG)
		dl->qmsg_bytes += qmsg_cost(len);
	*dl->qt = e;
	dl->qt = &e->next;
	dl->qn++;
	if (dl->qn == 1)
		flush(d, dl);
	return 0;
}

/* Returns the encoded bytes queued. */
size_t node_dissem_enqueue_ids(struct node_dissem *d, struct dlink *dl, enum proto_link_type type,
			       const uint8_t (*ids)[32], size_t n)
{
	size_t total = 0;

	while (n) {
		size_t k = n < PROTO_LINK_IDS_MAX ? n : PROTO_LINK_IDS_MAX;
		uint8_t *msg;
		size_t len;

		if (proto_link_encode_ids(type, ids, k, &msg, &len) == 0 &&
		    node_dissem_enqueue(d, dl, Q_MSG, NULL, msg, len) == 0)
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
		node_dissem_enqueue(d, dl, Q_MSG, NULL, msg, len);
}

/* Turn the engine's queued actions into link messages. */
void node_dissem_drain_engine(struct node_dissem *d)
{
	struct proto_gossip_action a;

	while (proto_gossip_poll(d->g, &a)) {
		struct dlink *dl = a.link < NODE_DISSEM_LINKS_MAX ? &d->links[a.link] : NULL;

		if (!dl || !dl->l)
			continue;
		switch (a.type) {
		case PROTO_LINK_PUSH:
			node_dissem_enqueue(d, dl, Q_PUSH, a.ids[0], NULL, 0);
			break;
		case PROTO_LINK_IHAVE:
		case PROTO_LINK_GRAFT:
			node_dissem_enqueue_ids(d, dl, a.type, a.ids, a.n);
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

void node_dissem_arm_timer(struct node_dissem *d)
{
	uint64_t now = uv_now(d->loop), at = d->next_periodic;
	uint64_t gd = proto_gossip_next_deadline(d->g), sd = proto_stem_next_deadline(d->stem);

	if (!d->timer_open || d->stopping)
		return;
	if (gd < at)
		at = gd;
	if (sd < at)
		at = sd;
	/* Called after every link message: most calls find the deadline armed already. */
	if (at == d->timer_at && uv_is_active((uv_handle_t *)&d->timer))
		return;
	d->timer_at = at;
	uv_timer_start(&d->timer, on_timer, at > now ? at - now : 0, 0);
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
		node_roster_gossip_on_up(d, dl, nr->epoch);
	/* One catch-up session per link: the side that dialled starts it. */
	if (node_link_outbound(l)) {
		dl->recon_wanted = true;
		node_catchup_start_wanted(d);
	}
	node_sealed_on_up(d, dl);
	node_dissem_drain_engine(d);
	node_outbox_scan(d);
	node_dissem_arm_timer(d);
	if (d->notice.on_link_up)
		d->notice.on_link_up(d->notice.ctx, dl->member_id);
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
	node_abuse_link_down(d, dl);
	proto_recon_free(dl->ri);
	proto_recon_free(dl->rr);
	free(dl->deferred);
	free(dl->fetched);
	proto_parts_reset(&dl->parts);
	node_sealed_on_down(d, dl);
	queue_clear(dl);
	if (dl->rejected)
		log_debug("dissem: link %llu closed after %llu refused report(s)",
			  (unsigned long long)node_link_id(l), (unsigned long long)dl->rejected);
	memset(dl, 0, sizeof(*dl));
	dl->qt = &dl->qh;
	node_dissem_drain_engine(d);
	node_dissem_arm_timer(d);
}

static uint64_t cb_refused(void *ctx, const uint8_t id[32])
{
	return node_abuse_refused_ms(ctx, id);
}

static void cb_drained(void *ctx, struct node_link *l, int member)
{
	struct node_dissem *d = ctx;
	struct dlink *dl = slot_of(d, l);

	(void)member;
	if (dl)
		flush(d, dl);
}

/* The `created` of report bytes @p, 0 when they do not decode (admission refuses them). */
uint64_t node_dissem_created_of(struct node_dissem *d, const uint8_t *p, size_t len)
{
	return proto_report_decode(&d->scratch, p, len) ? 0 : d->scratch.created_ms;
}

/* The `created` of stored report @id, 0 when it cannot be read. */
uint64_t node_dissem_stored_created(struct node_dissem *d, const uint8_t id[32])
{
	uint8_t *bytes = NULL;
	size_t len;
	uint64_t created = 0;

	if (store_report_get(d->store, NULL, id, &bytes, &len) == 0)
		created = node_dissem_created_of(d, bytes, len);
	free(bytes);
	return created;
}

static void on_push(struct node_dissem *d, struct dlink *dl, const uint8_t *p, size_t len)
{
	uint8_t id[32];
	uint64_t now = uv_now(d->loop), created;
	int rc;

	d->c.pushes_received++;
	dl->received++;
	proto_report_id(p, len, id);
	/* A copy of a report seen already costs a hash lookup, not a decode. */
	created = proto_gossip_seen(d->g, id) ? 0 : node_dissem_created_of(d, p, len);
	/* Gossip brought it: a stem through this node has ended, its embargo too. */
	proto_stem_on_gossip(d->stem, id, now);
	rc = proto_gossip_on_push(d->g, (uint32_t)(dl - d->links), id, created, now);
	if (rc == PROTO_GOSSIP_NEW) {
		d->c.received++;
		if (node_admission_add(d, dl, p, len, id, IN_GOSSIP, created))
			proto_gossip_discard(d->g, id, now);
	} else if (rc == PROTO_GOSSIP_DUPLICATE) {
		d->c.duplicates++;
	}
	node_dissem_drain_engine(d);
	node_dissem_arm_timer(d);
}

/*
 * Every id a GRAFT names that the engine holds is answered with a PUSH, a store read and an
 * encryption, however often the GRAFT repeats it: the answers are charged to the member as
 * catch-up work, like the copies a FETCH asks for (node_catchup_charge_work()).
 */
static void on_graft(struct node_dissem *d, struct dlink *dl, const uint8_t (*ids)[32], size_t n,
		     uint64_t now)
{
	struct proto_gossip_stats st0, st1;

	proto_gossip_get_stats(d->g, &st0);
	proto_gossip_on_graft(d->g, (uint32_t)(dl - d->links), ids, n, now);
	proto_gossip_get_stats(d->g, &st1);
	node_catchup_charge_work(d, dl, (st1.push_sent - st0.push_sent) * NODE_DISSEM_PUSH_KEYS);
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
		on_graft(d, dl, (const uint8_t(*)[32])ids, n, now);
		break;
	case PROTO_LINK_FETCH:
		d->c.fetch_ids_recv += n;
		node_catchup_open_window(d, dl);
		for (size_t i = 0; i < n; i++)
			node_dissem_enqueue(d, dl, Q_CATCHUP, ids[i], NULL, 0);
		node_catchup_charge_work(d, dl, n * NODE_DISSEM_PUSH_KEYS);
		break;
	default:
		break;
	}
	node_dissem_drain_engine(d);
	node_dissem_arm_timer(d);
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
		node_catchup_on_copy(d, dl, m->u.bin.p, m->u.bin.len);
		break;
	case PROTO_LINK_IHAVE:
	case PROTO_LINK_GRAFT:
	case PROTO_LINK_FETCH:
		on_ids(d, dl, m);
		break;
	case PROTO_LINK_PRUNE:
		proto_gossip_on_prune(d->g, (uint32_t)(dl - d->links), uv_now(d->loop));
		node_dissem_drain_engine(d);
		break;
	case PROTO_LINK_DIRECT:
		node_outbox_on_direct(d, dl, m->u.bin.p, m->u.bin.len);
		break;
	case PROTO_LINK_ACK:
		node_outbox_on_ack(d, dl, m->u.id);
		break;
	case PROTO_LINK_RECON:
		node_catchup_on_recon(d, dl, m->u.bin.p, m->u.bin.len);
		break;
	case PROTO_LINK_ROSTER:
		node_roster_gossip_on_roster(d, dl, m->u.bin.p, m->u.bin.len);
		break;
	case PROTO_LINK_ROSTER_PART:
		node_roster_gossip_on_part(d, dl, m);
		break;
	case PROTO_LINK_STEM:
		node_stem_on_stem(d, dl, m->u.bin.p, m->u.bin.len);
		break;
	case PROTO_LINK_NOTICE:
		if (d->notice.on_notice)
			d->notice.on_notice(d->notice.ctx, dl->member_id, m->u.bin.p, m->u.bin.len);
		break;
	case PROTO_LINK_NOTICE_ACK:
		if (d->notice.on_ack)
			d->notice.on_ack(d->notice.ctx, dl->member_id, m->u.notice_id);
		break;
	case PROTO_LINK_NOTICE_REFUSED:
		if (d->notice.on_refused)
			d->notice.on_refused(d->notice.ctx, dl->member_id, m->u.refused.id,
					     m->u.refused.reason);
		break;
	case PROTO_LINK_OPRF_EVAL:
	case PROTO_LINK_OPRF_ANSWER:
	case PROTO_LINK_SEALED:
	case PROTO_LINK_OPRF_HOLDER:
		node_sealed_on_message(d, dl, m);
		break;
	default:
		break;
	}
	if (dl->abusive)
		node_dissem_close_abusive(
			d); /* the link stops reading buffered frames (overlay/link.c) */
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
	node_outbox_scan(d);
	node_catchup_periodic(d, now);
	node_abuse_periodic(d);
	node_sealed_periodic(d, now);
	node_roster_gossip_trim_parts(d, now);
}

static void on_timer(uv_timer_t *t)
{
	struct node_dissem *d = t->data;
	uint64_t now = uv_now(d->loop);

	proto_gossip_tick(d->g, now);
	node_dissem_drain_engine(d);
	node_stem_tick(d, now);
	if (now >= d->next_periodic)
		periodic(d, now);
	node_dissem_arm_timer(d);
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
	/*
	 * The admission queue at its bound, once: a burst would otherwise grow it on the loop
	 * thread by doublings of megabytes (remaps under the process's mmap_lock; see
	 * node/common/heap.h). Address space until used; it is used from its start.
	 */
	d->pend = malloc(NODE_DISSEM_PENDING_MAX * sizeof(*d->pend));
	if (!d->g || !d->stem || !d->rate_signed || !d->rate_anon || !d->pend ||
	    node_abuse_open(d, &cfg->abuse) || node_sealed_new(d)) {
		node_sealed_free(d);
		node_abuse_close(d);
		proto_gossip_free(d->g);
		proto_stem_free(d->stem);
		policy_rate_free(d->rate_signed);
		policy_rate_free(d->rate_anon);
		free(d->pend);
		free(d);
		return NULL;
	}
	pthread_mutex_init(&d->rate_lock, NULL);
	node_catchup_source_init(d);
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
	cb->refused = cb_refused;
	cb->ctx = d;
}

int node_dissem_attach(struct node_dissem *d, struct node_overlay *ov)
{
	int rc = uv_timer_init(d->loop, &d->timer);

	if (rc)
		return rc;
	d->timer.data = d;
	d->timer_open = true;
	uv_idle_init(d->loop, &d->flush_idle); /* cannot fail on an initialised loop */
	d->flush_idle.data = d;
	d->flush_open = true;
	d->ov = ov;
	d->next_periodic = uv_now(d->loop) + PERIODIC_MS;
	d->next_recon = uv_now(d->loop) + d->cfg.recon_interval_ms;
	node_dissem_arm_timer(d);
	return 0;
}

void node_dissem_set_snap(struct node_dissem *d, struct node_snap *snap)
{
	struct node_snap *old = d->snap;

	d->snap = node_snap_ref(snap);
	node_snap_unref(old);
	node_sealed_on_snap(d);
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
	d->cfg.abuse = cfg->abuse;
	policy_abuse_set_config(d->abuse, &cfg->abuse); /* checked above */
	d->next_recon = uv_now(d->loop) + d->cfg.recon_interval_ms;
	return 0;
}

void node_dissem_published(struct node_dissem *d, const uint8_t id[32], uint8_t tlp,
			   uint64_t created, bool anonymous)
{
	if (d->stopping)
		return;
	if (tlp == PROTO_TLP_CLEAR || tlp == PROTO_TLP_GREEN) {
		if (anonymous) {
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
			node_stem_act(d, id, created, v, link);
			return;
		}
		if (proto_gossip_publish(d->g, id, created, uv_now(d->loop)) == 0)
			d->c.published++;
		node_dissem_drain_engine(d);
		node_dissem_arm_timer(d);
	} else {
		node_outbox_scan(d);
	}
}

void node_dissem_set_notice_hooks(struct node_dissem *d, const struct node_dissem_notice_hooks *h)
{
	memset(&d->notice, 0, sizeof(d->notice));
	if (h)
		d->notice = *h;
}

void node_dissem_demand_clear(struct node_dissem *d, unsigned source)
{
	if (d && d->ov && !d->stopping)
		node_overlay_demand_clear(d->ov, source);
}

void node_dissem_demand(struct node_dissem *d, const uint8_t id[32], unsigned source)
{
	if (d && d->ov && !d->stopping)
		node_overlay_demand(d->ov, id, source);
}

bool node_dissem_member_up(struct node_dissem *d, const uint8_t peer[32])
{
	return d && !d->stopping && node_dissem_slot_of_member(d, peer);
}

int node_dissem_send_to(struct node_dissem *d, const uint8_t peer[32], uint8_t *msg, size_t len)
{
	struct dlink *dl = d->stopping ? NULL : node_dissem_slot_of_member(d, peer);

	if (!dl) {
		free(msg);
		return -ENOTCONN;
	}
	return node_dissem_enqueue(d, dl, Q_MSG, NULL, msg, len);
}

bool node_dissem_idle(const struct node_dissem *d)
{
	return !d->jobs_running && !node_admission_pending(d);
}

static void free_all(struct node_dissem *d)
{
	for (size_t i = 0; i < NODE_DISSEM_LINKS_MAX; i++) {
		proto_recon_free(d->links[i].ri);
		proto_recon_free(d->links[i].rr);
		free(d->links[i].deferred);
		free(d->links[i].fetched);
		proto_parts_reset(&d->links[i].parts);
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
	node_abuse_close(d);
	node_sealed_free(d);
	pthread_mutex_destroy(&d->rate_lock);
	node_snap_unref(d->snap);
	free(d);
}

void node_dissem_maybe_finish_stop(struct node_dissem *d)
{
	void (*done)(void *) = d->done;
	void *arg = d->done_arg;

	if (d->timer_open || d->flush_open || d->jobs_running || d->abuse_saving)
		return;
	free_all(d);
	if (done)
		done(arg);
}

static void on_timer_closed(uv_handle_t *h)
{
	struct node_dissem *d = h->data;

	d->timer_open = false;
	node_dissem_maybe_finish_stop(d);
}

static void on_flush_idle_closed(uv_handle_t *h)
{
	struct node_dissem *d = h->data;

	d->flush_open = false;
	node_dissem_maybe_finish_stop(d);
}

void node_dissem_stop(struct node_dissem *d, void (*done)(void *arg), void *arg)
{
	if (!d) {
		if (done)
			done(arg);
		return;
	}
	d->stopping = true;
	/*
	 * The overlay stopped first and is freed by now; the notices' timer may still ask for
	 * demands until the daemon closes it.
	 */
	d->ov = NULL;
	d->done = done;
	d->done_arg = arg;
	node_abuse_flush(d); /* offences not yet stored; maybe_finish_stop() waits for it */
	if (d->flush_open)
		uv_close((uv_handle_t *)&d->flush_idle, on_flush_idle_closed);
	if (d->timer_open) {
		uv_close((uv_handle_t *)&d->timer, on_timer_closed);
		return;
	}
	node_dissem_maybe_finish_stop(d);
}
