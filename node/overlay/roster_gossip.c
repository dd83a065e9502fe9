/* SPDX-License-Identifier: MIT */
/*
 * node/overlay/roster_gossip.c — rosters on links: a peer whose roster epoch is behind is
 * sent every epoch this node holds after the peer's, oldest first (ROSTER, or ROSTER_PARTs
 * when one does not fit a message), so a peer that missed a steward change verifies each
 * epoch against the one before it; a roster received is handed to the daemon's adoption
 * callback.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "node/common/log.h"
#include "node/overlay/dissem_int.h"
#include "proto/error.h"
#include "proto/link.h"
#include "proto/parts.h"
#include "proto/roster.h"

/*
 * Send held roster @epoch to @dl: one ROSTER, or ROSTER_PARTs when it does not fit one
 * message; adds its bytes to *@bytes_sent. Returns 0, 1 when this node does not hold it, or
 * < 0.
 */
static int send_one(struct node_dissem *d, struct dlink *dl, uint64_t epoch, uint64_t *bytes_sent)
{
	uint8_t *bytes = NULL, *msg;
	size_t len, mlen;
	uint32_t total;
	int rc = 0;

	rc = store_roster_get(d->store, NULL, epoch, &bytes, &len);
	if (rc == STORE_E_NOT_FOUND)
		return 1; /* an epoch this node never held (it missed it too) */
	if (rc)
		goto out;
	if (len <= PROTO_LINK_BIN_MAX) {
		rc = proto_link_encode_bin(PROTO_LINK_ROSTER, bytes, len, &msg, &mlen);
		if (rc == 0)
			rc = node_dissem_enqueue(d, dl, Q_MSG, NULL, msg, mlen);
	} else {
		total = (uint32_t)((len + PROTO_LINK_PART_MAX - 1) / PROTO_LINK_PART_MAX);
		for (uint32_t i = 0; rc == 0 && i < total; i++) {
			size_t off = (size_t)i * PROTO_LINK_PART_MAX;
			size_t n =
				len - off < PROTO_LINK_PART_MAX ? len - off : PROTO_LINK_PART_MAX;

			rc = proto_link_encode_part(i, total, bytes + off, n, &msg, &mlen);
			if (rc == 0)
				rc = node_dissem_enqueue(d, dl, Q_MSG, NULL, msg, mlen);
		}
	}
out:
	if (rc == 0) {
		d->c.roster_sent++;
		*bytes_sent += len;
		dl->peer_epoch = epoch;
	} else {
		log_warning("dissem: roster epoch %llu not sent on link %llu: %s",
			    (unsigned long long)epoch, (unsigned long long)node_link_id(dl->l),
			    proto_error_str(rc));
	}
	free(bytes);
	return rc;
}

/*
 * Every held epoch after the peer's up to @newest, oldest first. The succession rule checks
 * a roster against the newest one held, so a peer that missed a steward change needs each
 * epoch in between, not only the newest. At most NODE_DISSEM_ROSTER_CHAIN_MAX are sent per
 * call (the oldest ones: the peer adopts them in order and is offered the rest on its next
 * link up or at this node's next adoption); a send that fails stops the chain.
 */
uint64_t node_roster_gossip_send(struct node_dissem *d, struct dlink *dl, uint64_t newest)
{
	uint64_t from = dl->peer_epoch + 1, bytes = 0;
	size_t sent = 0;
	int rc;

	if (newest - dl->peer_epoch > NODE_DISSEM_ROSTER_LOOKUP_MAX)
		from = newest - NODE_DISSEM_ROSTER_LOOKUP_MAX + 1;
	for (uint64_t e = from; e <= newest && sent < NODE_DISSEM_ROSTER_CHAIN_MAX; e++) {
		rc = send_one(d, dl, e, &bytes);
		if (rc < 0)
			break;
		sent += rc == 0;
	}
	return bytes;
}

/*
 * The epochs a peer is sent on link up are its own asking (its HELLO names the epoch it
 * holds): up to NODE_DISSEM_ROSTER_CHAIN_MAX rosters of up to 1 MiB read and encrypted for
 * a handshake, again on every reconnect. They are charged to its member as catch-up work,
 * NODE_DISSEM_ROSTER_BYTES_PER_KEY bytes a key, like the reports a FETCH asks for. Rosters
 * sent because this node adopted a newer one are its own doing and not charged.
 */
void node_roster_gossip_on_up(struct node_dissem *d, struct dlink *dl, uint64_t newest)
{
	uint64_t bytes = node_roster_gossip_send(d, dl, newest);

	node_catchup_charge_work(d, dl, bytes / NODE_DISSEM_ROSTER_BYTES_PER_KEY);
}

void node_dissem_roster_adopted(struct node_dissem *d, uint64_t epoch)
{
	d->c.roster_adopted++;
	for (size_t i = 0; i < NODE_DISSEM_LINKS_MAX; i++)
		if (d->links[i].l && d->links[i].peer_epoch < epoch)
			node_roster_gossip_send(d, &d->links[i], epoch);
}

/* The oldest partial goes, never the newcomer (proto/parts.h says why). */
void node_roster_gossip_trim_parts(struct node_dissem *d, uint64_t now)
{
	struct proto_parts *all[NODE_DISSEM_LINKS_MAX];
	struct proto_parts_trimmed r = {0};

	for (size_t i = 0; i < NODE_DISSEM_LINKS_MAX; i++)
		all[i] = d->links[i].l ? &d->links[i].parts : NULL;
	proto_parts_trim(all, NODE_DISSEM_LINKS_MAX, NODE_DISSEM_PARTS_BYTES_MAX, now, &r);
	if (r.expired || r.evicted)
		log_debug("dissem: partial rosters dropped: %u older than %u ms, %u past %u bytes",
			  r.expired, PROTO_PARTS_AGE_MAX_MS, r.evicted,
			  NODE_DISSEM_PARTS_BYTES_MAX);
	d->c.roster_parts_expired += r.expired;
	d->c.roster_parts_evicted += r.evicted;
}

/*
 * A copy of a roster this node holds costs it the reading, the decryption and the joining of
 * its parts, and completing one restarts the sender's partial (proto/parts.h: its start time
 * is renewed only then). An honest peer sends each epoch at most once a link, in ascending
 * order (its chain on link up, then each epoch it adopts), and a copy comes when this node
 * adopted the epoch elsewhere first, so a copy of an epoch newer than any this link brought
 * is free; a copy of one at or below that is never an honest peer's and is charged like a
 * refused roster, so renewing a partial by completing copies runs into the member's budget.
 */
static void on_copy(struct node_dissem *d, struct dlink *dl, uint64_t epoch)
{
	d->c.roster_copies++;
	if (epoch > dl->roster_in) {
		dl->roster_in = epoch;
		return;
	}
	d->c.roster_copies_charged++;
	log_debug("dissem: link %llu sent roster epoch %llu again; charged",
		  (unsigned long long)node_link_id(dl->l), (unsigned long long)epoch);
	node_dissem_charge_link(d, dl, CHARGE_REJECT);
}

void node_roster_gossip_on_roster(struct node_dissem *d, struct dlink *dl, const uint8_t *p,
				  size_t len)
{
	uint64_t epoch = 0;
	int rc;

	d->c.roster_recv++;
	if (!d->roster_fn)
		return;
	rc = d->roster_fn(d->roster_ctx, dl->member_id, p, len);
	if (rc && rc != PROTO_E_ROSTER_KNOWN) {
		log_debug("dissem: roster from link %llu not adopted: %s",
			  (unsigned long long)node_link_id(dl->l), proto_error_str(rc));
		/* Refused on its face (not merely "busy"): charged like a refused report. */
		if (rc != -EBUSY && rc != -ENOMEM)
			node_dissem_charge_link(d, dl, CHARGE_REJECT);
		return;
	}
	/* Taken or held: the callback has read a valid epoch from this header already. */
	if (proto_roster_peek_epoch(p, len, &epoch) < 0)
		return;
	if (rc == PROTO_E_ROSTER_KNOWN)
		on_copy(d, dl, epoch);
	else if (epoch > dl->roster_in)
		dl->roster_in = epoch;
}

void node_dissem_roster_refused(struct node_dissem *d, const uint8_t peer[32], int err)
{
	/* The member's budget, whether or not its link is still up. */
	if (err == -EBUSY || err == -ENOMEM)
		return;
	node_dissem_refused(d, peer);
}

/*
 * One part of a roster sent in ROSTER_PART messages, joined by proto/parts.h: a part out of
 * order or past PROTO_ROSTER_MAX_BYTES drops the parts joined so far and counts against the
 * link like a refused report. Past NODE_DISSEM_PARTS_BYTES_MAX over all links the partial
 * that started longest ago is dropped without blame (node_roster_gossip_trim_parts()); the
 * rest of a dropped roster is ignored. The joined roster goes through
 * node_roster_gossip_on_roster() like a ROSTER.
 */
void node_roster_gossip_on_part(struct node_dissem *d, struct dlink *dl,
				const struct proto_link_msg *m)
{
	uint32_t index = m->u.part.index, total = m->u.part.total;
	uint64_t now = uv_now(d->loop);
	const uint8_t *joined;
	size_t len;
	int rc = proto_parts_add(&dl->parts, index, total, m->u.part.p, m->u.part.len,
				 PROTO_ROSTER_MAX_BYTES, now, &joined, &len);

	if (rc == PROTO_PARTS_DONE) {
		node_roster_gossip_on_roster(d, dl, joined, len);
		proto_parts_reset(&dl->parts);
	} else if (rc == PROTO_PARTS_MORE) {
		node_roster_gossip_trim_parts(d, now);
	} else if (rc == -EPROTO || rc == PROTO_E_TOO_LARGE) {
		log_debug("dissem: roster part %u/%u from link %llu out of order or too large; "
			  "dropped",
			  index, total, (unsigned long long)node_link_id(dl->l));
		node_dissem_charge_link(d, dl, CHARGE_REJECT);
	}
}
