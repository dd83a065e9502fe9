/* SPDX-License-Identifier: MIT */
/*
 * node/overlay/outbox.c — direct delivery of AMBER/RED reports: the persistent outbox is
 * scanned for due entries whose recipient has a link up, each is sent as DIRECT and
 * rescheduled with exponential backoff; an ACK deletes the entry (in the next admission
 * job), and a DIRECT copy received is acknowledged once it is committed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "node/common/log.h"
#include "node/overlay/dissem_int.h"
#include "proto/array.h"
#include "proto/error.h"
#include "proto/link.h"
#include "proto/report.h"

#define OUTBOX_SCAN_MAX 1024 /* due entries handled per scan */

static uint64_t retry_delay(const struct node_dissem *d, uint32_t attempts)
{
	uint64_t delay = d->cfg.retry_min_ms;

	while (attempts-- > 0 && delay < d->cfg.retry_max_ms)
		delay *= 2;
	return delay < d->cfg.retry_max_ms ? delay : d->cfg.retry_max_ms;
}

/*
 * Send every due outbox entry whose recipient has an up link and reschedule it; entries of
 * recipients without a link stay due, their recipients are demanded from the overlay (which
 * dials them), and they go as soon as a link to them comes up.
 */
void node_outbox_scan(struct node_dissem *d)
{
	static struct store_outbox_entry due[OUTBOX_SCAN_MAX];
	uint64_t now = node_dissem_wall_ms();
	size_t n = 0;
	int rc = store_outbox_due(d->store, NULL, now, due, OUTBOX_SCAN_MAX, &n);

	if (rc) {
		log_warning("dissem: reading the outbox failed: %s", proto_error_str(rc));
		return;
	}
	node_dissem_demand_clear(d, NODE_OVERLAY_DEMAND_OUTBOX);
	for (size_t i = 0; i < n; i++) {
		struct dlink *dl = node_dissem_slot_of_member(d, due[i].recipient);
		struct store_outbox_entry *e;

		if (!dl) {
			node_dissem_demand(d, due[i].recipient, NODE_OVERLAY_DEMAND_OUTBOX);
			continue;
		}
		if (proto_array_grow((void **)&d->puts, &d->cap_puts, d->n_puts + 1,
				     sizeof(*d->puts)))
			break;
		if (node_dissem_enqueue(d, dl, Q_DIRECT, due[i].report_id, NULL, 0) == 0)
			dl->acks_owed++;
		e = &d->puts[d->n_puts++];
		*e = due[i];
		e->next_attempt_ms = now + retry_delay(d, e->attempts);
		e->attempts++;
	}
	node_admission_kick(d);
}

void node_outbox_ack(struct node_dissem *d, struct inb *it)
{
	struct dlink *dl = node_dissem_slot_of_member(d, it->peer);
	uint8_t *msg;
	size_t len;

	if (!dl || proto_link_encode_ack(it->id, &msg, &len))
		return;
	if (node_dissem_enqueue(d, dl, Q_MSG, NULL, msg, len) == 0)
		d->c.ack_sent++;
}

void node_outbox_on_direct(struct node_dissem *d, struct dlink *dl, const uint8_t *p, size_t len)
{
	uint8_t id[32];

	d->c.direct_recv++;
	proto_report_id(p, len, id);
	node_admission_add(d, dl, p, len, id, IN_DIRECT, 0);
}

/*
 * An ACK queues the deletion of an outbox entry for the next admission job. A link can owe
 * only as many ACKs as DIRECT copies were queued on it; the rest are ignored before anything
 * is queued, else a member sending ACKs for ids it was never sent (a no-op delete each) grew
 * the deletions waiting for a job without bound, which the allocator kept as heap after the
 * job (RssAnon +20 MB for 1 M ACKs, docs/PERFORMANCE.md). An honest ACK that arrives on a
 * newer link than its copy went on may be ignored too: the entry is then sent once more
 * and acknowledged on that link.
 */
void node_outbox_on_ack(struct node_dissem *d, struct dlink *dl, const uint8_t id[32])
{
	struct del *x;

	if (!dl->acks_owed) {
		d->c.ack_ignored++;
		return;
	}
	dl->acks_owed--;
	if (proto_array_grow((void **)&d->dels, &d->cap_dels, d->n_dels + 1, sizeof(*d->dels)))
		return;
	x = &d->dels[d->n_dels++];
	memcpy(x->report_id, id, 32);
	memcpy(x->recipient, dl->member_id, 32);
	d->c.acked++;
	node_admission_kick(d);
}
