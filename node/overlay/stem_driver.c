/* SPDX-License-Identifier: MIT */
/*
 * node/overlay/stem_driver.c — the Dandelion stem (proto/stem.h) on links: anonymous reports
 * this node originates or relays go to one successor or fluff into gossip; an embargo that
 * expires fluffs what gossip has not brought back.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "node/common/log.h"
#include "node/overlay/dissem_int.h"
#include "proto/gossip.h"
#include "proto/report.h"
#include "proto/stem.h"

/* Fluff report @id (stored): gossip it as if this node were its origin. */
static void stem_fluff(struct node_dissem *d, const uint8_t id[32])
{
	uint64_t now = uv_now(d->loop);

	proto_stem_on_gossip(d->stem, id, now);
	if (proto_gossip_publish(d->g, id, node_dissem_stored_created(d, id), now) == 0)
		d->c.stem_fluffed++;
	node_dissem_drain_engine(d);
	node_dissem_arm_timer(d);
}

/*
 * Act on a verdict of the stem router for report @id. A FORWARD that cannot be queued (a
 * backlog over its limit) is not retried: the embargo this node now keeps fluffs it later.
 */
void node_stem_act(struct node_dissem *d, const uint8_t id[32], uint64_t created_ms, int verdict,
		   uint32_t link)
{
	if (verdict == PROTO_STEM_FORWARD) {
		node_catchup_hide(d, created_ms, id);
		if (link < NODE_DISSEM_LINKS_MAX &&
		    node_dissem_enqueue(d, &d->links[link], Q_STEM, id, NULL, 0) == 0)
			d->c.stem_forwarded++;
		node_dissem_arm_timer(d);
	} else if (verdict == PROTO_STEM_FLUFF) {
		stem_fluff(d, id);
	}
}

/* A STEM copy of @it was admitted and stored: pass it on along the stem, or fluff it. */
void node_stem_relay(struct node_dissem *d, const struct inb *it)
{
	uint32_t link = 0;
	int v = PROTO_STEM_FLUFF;

	if (proto_gossip_seen(d->g, it->id))
		return; /* gossip brought it meanwhile: the stem has ended */
	/* If the link it came on went down meanwhile, this relay ends the stem itself. */
	if (d->links[it->link].l == it->l)
		v = proto_stem_on_stem(d->stem, it->link, it->id, uv_now(d->loop), &link);
	node_stem_act(d, it->id, it->created_ms, v < 0 ? PROTO_STEM_FLUFF : v, link);
}

void node_stem_on_stem(struct node_dissem *d, struct dlink *dl, const uint8_t *p, size_t len)
{
	uint8_t id[32];
	uint64_t created;

	d->c.stem_received++;
	proto_report_id(p, len, id);
	if (proto_gossip_seen(d->g, id))
		return; /* gossip brought it already: the stem has ended */
	created = proto_report_decode(&d->scratch, p, len) ? 0 : d->scratch.created_ms;
	node_admission_add(d, dl, p, len, id, IN_STEM, created);
}

/* Embargoes due: fluff what gossip has not brought back. */
void node_stem_tick(struct node_dissem *d, uint64_t now)
{
	uint8_t id[32];

	while (proto_stem_expire(d->stem, now, id)) {
		if (proto_gossip_seen(d->g, id))
			continue;
		d->c.stem_embargo++;
		stem_fluff(d, id);
	}
}
