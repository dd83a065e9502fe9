/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness: the Plumtree engine (proto/gossip.h) driven by gossip control messages and
 * link events from the input, as a hostile or chaotic set of peers would drive it. The
 * input is a stream of operations (link up/down, publish, PUSH received, forward/discard,
 * IHAVE, GRAFT, PRUNE, time passing) over 8 link handles and 48 report ids, with a config
 * small enough that every bound (seen_max, missing_max, announcers_max, IHAVE batches) is
 * hit and tree formation ends early. Aborts when an invariant breaks:
 *   - a call returns something its contract does not list (link_up on a link the model
 *     holds down, or any event on a link the model holds up, must succeed);
 *   - an action names a link that is down or out of range, has a type other than PUSH,
 *     IHAVE, GRAFT, PRUNE, or a wrong id count;
 *   - a PUSH carries a report this node never published nor forwarded (a discarded,
 *     refused report would then leave the node: the egress guarantee);
 *   - proto_gossip_next_deadline() lies in the past after a tick at that time.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"
#include "proto/gossip.h"

#define LINKS 8
#define IDS 48

struct input {
	const uint8_t *p;
	size_t n;
};

static bool take(struct input *in, uint8_t *b)
{
	if (!in->n)
		return false;
	*b = *in->p++;
	in->n--;
	return true;
}

static void make_id(uint8_t id[32], unsigned k)
{
	memset(id, 0, 32);
	id[0] = (uint8_t)k;
	id[31] = (uint8_t)(k * 37 + 1);
}

static void check_rc(int rc, bool must_succeed)
{
	if (must_succeed && rc < 0)
		abort();
	if (rc < 0 && rc != -ENOMEM && rc != PROTO_E_GOSSIP_LINK && rc != PROTO_E_GOSSIP_KNOWN &&
	    rc != PROTO_E_GOSSIP_STATE)
		abort();
}

static void drain(struct proto_gossip *g, const bool *up, const bool *pushable)
{
	struct proto_gossip_action a;

	while (proto_gossip_poll(g, &a)) {
		if (a.link >= LINKS || !up[a.link])
			abort();
		switch (a.type) {
		case PROTO_LINK_PUSH:
			if (a.n != 1 || !a.ids || a.ids[0][0] >= IDS || !pushable[a.ids[0][0]])
				abort();
			break;
		case PROTO_LINK_IHAVE:
		case PROTO_LINK_GRAFT:
			if (a.n == 0 || a.n > PROTO_LINK_IDS_MAX || !a.ids)
				abort();
			break;
		case PROTO_LINK_PRUNE:
			if (a.n != 0)
				abort();
			break;
		default:
			abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct proto_gossip_config cfg = {
		.max_links = LINKS,
		.ihave_batch = 4,
		.ihave_flush_ms = 5,
		.graft_timeout_ms = 20,
		.graft_retry_ms = 10,
		.seen_max = 16,
		.seen_ttl_ms = 1000,
		.missing_max = 16,
		.announcers_max = 2,
		.prune_dups = 2,
		.formation_ms = 30,
		.lag_awaited = 2, /* the burst rules (lag samples, longer waits) run too */
	};
	struct input in = {data, size};
	struct proto_gossip *g = proto_gossip_new(&cfg);
	bool up[LINKS] = {false}, pushable[IDS] = {false};
	uint8_t ids[PROTO_LINK_IDS_MAX][32];
	uint64_t now = 1000;
	uint8_t op, a, b;

	if (!g)
		return 0;
	while (take(&in, &op) && take(&in, &a)) {
		unsigned link = a % LINKS, k = (a >> 3) % IDS;
		uint8_t id[32];
		int rc;

		make_id(id, k);
		switch (op % 10) {
		case 0:
			rc = proto_gossip_link_up(g, link, now);
			check_rc(rc, !up[link]);
			if (rc == 0)
				up[link] = true;
			break;
		case 1:
			rc = proto_gossip_link_down(g, link, now);
			check_rc(rc, up[link]);
			if (rc == 0)
				up[link] = false;
			break;
		case 2:
			rc = proto_gossip_publish(g, id, 1000 + k, now);
			check_rc(rc, false);
			if (rc == 0)
				pushable[k] = true;
			break;
		case 3:
			/* The created time is the id's index: formation picks the smallest. */
			rc = proto_gossip_on_push(g, link, id, 1000 + k, now);
			if (rc != PROTO_GOSSIP_NEW && rc != PROTO_GOSSIP_DUPLICATE)
				check_rc(rc, up[link]);
			break;
		case 4:
			rc = proto_gossip_forward(g, id, now);
			check_rc(rc, false);
			if (rc == 0)
				pushable[k] = true;
			break;
		case 5:
			if (op >= 128) {
				proto_gossip_have(g, id);
				(void)proto_gossip_lagging(g, now);
			} else {
				check_rc(proto_gossip_discard(g, id, now), false);
			}
			break;
		case 6:
		case 7: {
			size_t n = 0;

			if (!take(&in, &b))
				break;
			for (unsigned i = 0; i < (b & 15u) + 1u && in.n; i++) {
				uint8_t x;

				take(&in, &x);
				make_id(ids[n++], x % IDS);
			}
			if (op % 10 == 6)
				rc = proto_gossip_on_ihave(g, link, (const uint8_t(*)[32])ids, n,
							   now);
			else
				rc = proto_gossip_on_graft(g, link, (const uint8_t(*)[32])ids, n,
							   now);
			check_rc(rc, up[link]);
			break;
		}
		case 8:
			check_rc(proto_gossip_on_prune(g, link, now), up[link]);
			break;
		default:
			now += (uint64_t)a * (op >= 128 ? 17 : 1);
			check_rc(proto_gossip_tick(g, now), false);
			drain(g, up, pushable);
			if (proto_gossip_next_deadline(g) < now)
				abort();
			break;
		}
		drain(g, up, pushable);
	}
	proto_gossip_free(g);
	return 0;
}
