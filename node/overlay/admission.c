/* SPDX-License-Identifier: MIT */
/*
 * node/overlay/admission.c — the admission and commit pipeline of the dissemination driver
 * (see node/overlay/dissem.c for the whole picture): inbound reports and outbox changes
 * collect on the loop thread; at most NODE_DISSEM_JOBS_MAX jobs run in the thread pool, each
 * admits its batch with the job's snapshot, applies the per-member rate limits, and stores the
 * accepted reports, the outbox reschedules and the ACKed deletions in one store_apply()
 * transaction. Only after the commit does the loop forward, discard or ACK (DESIGN.md §7).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "node/common/log.h"
#include "node/common/prio.h"
#include "node/common/workq.h"
#include "node/overlay/dissem_int.h"
#include "policy/admit.h"
#include "policy/rate.h"
#include "proto/error.h"
#include "proto/gossip.h"
#include "proto/relay.h"
#include "proto/report.h"
#include "proto/roster.h"

static int start_job(struct node_dissem *d);

/*
 * A report of a member past its budget, not verified: counted and freed. The gossip engine
 * forgets its id (as for a report refused for its rate), so an honest copy from another
 * member is still admitted.
 */
static void drop(struct node_dissem *d, struct inb *it)
{
	d->c.abuse_dropped++;
	if (it->path == IN_GOSSIP && !d->stopping)
		proto_gossip_forget(d->g, it->id, uv_now(d->loop));
	free(it->bytes);
	it->bytes = NULL;
}

bool node_admission_pending(const struct node_dissem *d)
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

		/*
		 * A catch-up copy this node asked for is exempt: the member serving a history
		 * (of its own reports, often) must not be refused and charged for it. What it
		 * may bring is bounded by the session's window and counts (catchup.c).
		 */
		if (it->asked)
			rc = 1;
		else if (!present || !present[m])
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

/*
 * Whether a refusal with @reason is the doing of the member whose link delivered the report
 * (@own: that member signed it). Over a rate limit only when it signed the report: an honest
 * relay passes on what others flood. Never the refusals an honest node meets when it passes
 * on (or offers in catch-up) a report it admitted earlier, because they depend on this
 * node's view of the roster and the clock: an epoch not held here yet, too old by now, a
 * key retired or rotated or a member removed since, community settings changed since (ring
 * size, attributed reports); nor this node's own failure (internal). All of those are
 * decided before any signature check, so they cost the node little.
 */
static bool blamed(enum policy_reason reason, bool own)
{
	switch (reason) {
	case POLICY_REJECT_RATE_LIMITED:
		return own;
	case POLICY_REJECT_UNKNOWN_EPOCH:
	case POLICY_REJECT_TOO_OLD:
	case POLICY_REJECT_REVOKED:
	case POLICY_REJECT_ROTATED:
	case POLICY_REJECT_EXPELLED:
	case POLICY_REJECT_RING_TOO_SMALL:
	case POLICY_REJECT_ATTRIBUTED:
	case POLICY_REJECT_INTERNAL:
		return false;
	default:
		return true;
	}
}

static void job_work(uv_work_t *w)
{
	struct job *j = w->data;
	struct store_item *si = j->n ? calloc(j->n, sizeof(*si)) : NULL;
	struct proto_report *reps = j->n ? calloc(j->n, sizeof(*reps)) : NULL;
	size_t *map = j->n ? calloc(j->n, sizeof(*map)) : NULL;
	struct store_outbox_entry *dels = NULL;
	struct store_batch b;
	size_t k = 0;

	node_prio_worker(); /* the loop thread first (node/common/prio.h) */

	if (j->n && (!si || !reps || !map)) {
		j->err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < j->n; i++) {
		struct inb *it = &j->items[i];
		struct allowance *a = j->allow[it->allow];
		struct policy_admit_ctx ctx = {
			.now_ms = j->now_ms,
			.arrival = it->path == IN_DIRECT ? POLICY_ARRIVAL_DIRECT
							 : POLICY_ARRIVAL_GOSSIP,
			.roster_for_epoch = node_snap_roster_cb,
			.roster_ctx = j->snap,
			.newest = j->snap->newest,
		};
		if (!node_abuse_allowance_left(a)) {
			it->dropped = true;
			continue;
		}
		memcpy(ctx.peer, it->peer, 32);
		it->reason = policy_admit_check(&j->snap->pcfg, &ctx, it->bytes, it->len, &reps[i]);
		if (it->reason != POLICY_ACCEPT) {
			if (blamed(it->reason, false))
				node_abuse_allowance_use(a);
			continue;
		}
		si[k].bytes = it->bytes;
		si[k].len = it->len;
		memcpy(si[k].report_id, it->id, 32);
		si[k].r = &reps[i];
		/* A retired id's votes belong to the member's current id (proto/rekey.h). */
		if (reps[i].prov == PROTO_PROV_ATTRIBUTED)
			si[k].voter = proto_roster_successor(j->snap->newest, reps[i].signer);
		/* Who relayed an anonymous report is exactly what its signer hides: not kept. */
		if (reps[i].prov != PROTO_PROV_ANONYMOUS)
			memcpy(si[k].env.received_from, it->peer, 32);
		si[k].env.received_ms = j->now_ms;
		si[k].env.hops = 1;
		map[k++] = i;
	}
	k = rate_limit(j, si, reps, map, k);
	if (j->n_dels && !(dels = calloc(j->n_dels, sizeof(*dels)))) {
		j->err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < j->n_dels; i++) {
		memcpy(dels[i].report_id, j->dels[i].report_id, 32);
		memcpy(dels[i].recipient, j->dels[i].recipient, 32);
	}
	/*
	 * One transaction for the whole job: the admitted reports, the outbox reschedules and
	 * the ACKed entries (an ACK for an entry already gone is skipped). If it fails nothing
	 * is stored; the reports are then not forwarded or ACKed, and a lost ACK only means the
	 * report is delivered and acknowledged once more.
	 */
	b = (struct store_batch){.items = si,
				 .n_items = k,
				 .puts = j->puts,
				 .n_puts = j->n_puts,
				 .dels = dels,
				 .n_dels = j->n_dels};
	j->err = store_apply(j->d->store, &b, j->now_ms);
	for (size_t m = 0; m < k; m++)
		j->items[map[m]].result = j->err ? j->err : si[m].result;
out:
	free(dels);
	free(si);
	free(reps);
	free(map);
}

static void job_done(uv_work_t *w, int status)
{
	struct job *j = w->data;
	struct node_dissem *d = j->d;
	uint64_t now = uv_now(d->loop);
	size_t n_new = 0;

	if (j->err)
		log_err("dissem: storing received reports failed: %s", proto_error_str(j->err));
	node_abuse_allowances_put(d, j->allow, &j->n_allow);
	for (size_t i = 0; i < j->n; i++) {
		struct inb *it = &j->items[i];

		if (status == 0 && it->dropped) {
			drop(d, it);
			continue;
		}
		bool ok = status == 0 && !j->err && it->reason == POLICY_ACCEPT &&
			  (it->result == STORE_NEW || it->result == STORE_DUP);

		n_new += ok && it->result == STORE_NEW;
		struct proto_relay_outcome out = {
			.stored = ok,
			.new_to_store = ok && it->result == STORE_NEW,
			.retry_later = it->reason == POLICY_REJECT_RATE_LIMITED ||
				       it->reason == POLICY_REJECT_INTERNAL,
			.created_ms = it->created_ms,
		};
		enum proto_relay relay = proto_relay_decide(&out, j->now_ms);

		if (status == 0 && it->reason != POLICY_ACCEPT) {
			if (it->reason > 0 && it->reason < POLICY_REASON_COUNT)
				d->c.rejected[it->reason]++;
			struct dlink *dl = &d->links[it->link];
			/* Charged to the member even when its link is gone meanwhile. */
			bool blame = blamed(it->reason, it->own);

			if (dl->l == it->l)
				dl->rejected++;
			if (blame)
				node_dissem_charge(d, it->peer, CHARGE_REJECT);
			log_debug("dissem: refused a report: %s",
				  policy_admit_reason_text(it->reason));
		} else if (it->reason == POLICY_ACCEPT && it->result < 0) {
			d->c.store_errors++;
		}
		switch (it->path) {
		case IN_GOSSIP:
			/* The engine's first copy: the forwarding rule (proto/relay.h) decides. */
			if (d->stopping)
				break;
			if (relay == PROTO_RELAY_FORWARD) {
				proto_gossip_forward(d->g, it->id, now);
				d->c.forwarded++;
			} else if (relay == PROTO_RELAY_FORGET) {
				proto_gossip_forget(d->g, it->id, now);
			} else {
				proto_gossip_discard(d->g, it->id, now);
			}
			break;
		case IN_CATCHUP:
			if (ok && it->result == STORE_NEW)
				d->c.fetched_ids++;
			/* Stored (now or before): an IHAVE of it needs no GRAFT any more. */
			if (ok)
				proto_gossip_have(d->g, it->id);
			break;
		case IN_DIRECT:
			if (ok && !d->stopping)
				node_outbox_ack(d, it);
			break;
		case IN_STEM:
			/*
			 * Stored now, or before (a loop of the stem, or catch-up was first): the
			 * stem router decides, unless the forwarding rule keeps an old report
			 * held long since out of the stem.
			 */
			if (!d->stopping && relay == PROTO_RELAY_FORWARD)
				node_stem_relay(d, it);
			break;
		}
		free(it->bytes);
	}
	node_snap_unref(j->snap);
	free(j->items);
	free(j->allow);
	free(j->puts);
	free(j->dels);
	free(j);
	d->jobs_running--;
	if (n_new && d->commit_fn)
		d->commit_fn(d->commit_ctx);
	if (d->stopping) {
		node_dissem_maybe_finish_stop(d);
		return;
	}
	node_dissem_close_abusive(d);
	node_dissem_drain_engine(d);
	node_admission_kick(d);
	node_catchup_start_wanted(d);
	node_dissem_arm_timer(d);
}

/*
 * Start admission jobs. A second (up to NODE_DISSEM_JOBS_MAX) runs in parallel only when at
 * least half a batch waits, so a trickle still makes few large commits while a burst uses
 * more than one core for verification. Outbox changes go only with a job that runs alone,
 * which keeps a reschedule and the deletion of the same entry in order.
 */
void node_admission_kick(struct node_dissem *d)
{
	while (!d->stopping && d->jobs_running < NODE_DISSEM_JOBS_MAX &&
	       node_admission_pending(d)) {
		if (d->jobs_running && d->n_pend < NODE_DISSEM_BATCH_MAX / 2)
			return;
		if (start_job(d))
			return;
	}
}

/*
 * Take up to NODE_DISSEM_BATCH_MAX pending reports, in order, into @j: those of members
 * refused for abuse are dropped unverified; the others carry their member's allowance.
 */
static int take_pending(struct node_dissem *d, struct job *j)
{
	size_t take = 0, keep = 0, cap, i;

	cap = d->n_pend < NODE_DISSEM_BATCH_MAX ? d->n_pend : NODE_DISSEM_BATCH_MAX;
	j->items = malloc(cap * sizeof(*j->items));
	j->allow = malloc(cap * sizeof(*j->allow));
	if (!j->items || !j->allow)
		return -ENOMEM;
	for (i = 0; i < d->n_pend && take < cap; i++) {
		struct inb *it = &d->pend[i];
		int a;

		if (node_abuse_refused_ms(d, it->peer)) {
			drop(d, it);
			continue;
		}
		a = node_abuse_allowance_of(d, j->allow, &j->n_allow, cap, it->peer);
		if (a < 0) {
			d->pend[keep++] = *it;
			continue;
		}
		it->allow = (uint32_t)a;
		j->items[take++] = *it;
	}
	memmove(d->pend + keep, d->pend + i, (d->n_pend - i) * sizeof(*d->pend));
	d->n_pend = keep + (d->n_pend - i);
	j->n = take;
	return 0;
}

static void job_free_unstarted(struct node_dissem *d, struct job *j)
{
	node_abuse_allowances_put(d, j->allow, &j->n_allow);
	for (size_t i = 0; i < j->n; i++)
		free(j->items[i].bytes);
	free(j->items);
	free(j->allow);
	free(j);
}

static int start_job(struct node_dissem *d)
{
	bool with_outbox = !d->jobs_running;
	struct job *j;

	if (!d->n_pend && !with_outbox)
		return -EAGAIN;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	if (d->n_pend && take_pending(d, j)) {
		job_free_unstarted(d, j);
		return -ENOMEM;
	}
	if (!j->n && !with_outbox) {
		job_free_unstarted(d, j);
		return -EAGAIN;
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
	j->now_ms = node_dissem_wall_ms();
	j->w.data = j;
	if (node_workq_queue(d->loop, &j->w, job_work, job_done)) {
		/* Cannot happen with a valid loop and callbacks; keep nothing half-done. */
		node_snap_unref(j->snap);
		free(j->puts);
		free(j->dels);
		job_free_unstarted(d, j);
		return -ENOMEM;
	}
	d->jobs_running++;
	return 0;
}

/* Queue a received report (bytes copied) for admission; @l, @dl the link it came on. */
static int add_pending(struct node_dissem *d, struct dlink *dl, const uint8_t *bytes, size_t len,
		       const uint8_t id[32], uint8_t path, uint64_t created_ms, bool asked)
{
	struct inb *it;

	if (d->n_pend >= NODE_DISSEM_PENDING_MAX) {
		d->c.inbound_dropped++;
		return -ENOBUFS;
	}
	it = &d->pend[d->n_pend]; /* allocated for NODE_DISSEM_PENDING_MAX (node_dissem_new) */
	memset(it, 0, sizeof(*it));
	it->bytes = malloc(len);
	if (!it->bytes)
		return -ENOMEM;
	memcpy(it->bytes, bytes, len);
	it->len = len;
	memcpy(it->id, id, 32);
	it->path = path;
	it->asked = asked;
	it->created_ms = created_ms;
	memcpy(it->peer, dl->member_id, 32);
	it->link = (uint32_t)(dl - d->links);
	it->l = dl->l;
	d->n_pend++;
	node_admission_kick(d);
	return 0;
}

int node_admission_add(struct node_dissem *d, struct dlink *dl, const uint8_t *bytes, size_t len,
		       const uint8_t id[32], uint8_t path, uint64_t created_ms)
{
	return add_pending(d, dl, bytes, len, id, path, created_ms, false);
}

int node_admission_add_catchup(struct node_dissem *d, struct dlink *dl, const uint8_t *bytes,
			       size_t len, const uint8_t id[32], uint64_t created_ms, bool asked)
{
	return add_pending(d, dl, bytes, len, id, IN_CATCHUP, created_ms, asked);
}
