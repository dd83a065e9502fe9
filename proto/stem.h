/* SPDX-License-Identifier: MIT */
/*
 * proto/stem.h — the Dandelion stem phase of anonymous reports (DESIGN.md §4 "Network-level
 * origin hiding"), sans I/O.
 *
 * A ring signature hides which member signed an anonymous report, but on a flooding overlay
 * the first node to push a report to everybody is almost always its origin, so a few
 * colluding members guess the origin from who delivered the first copy ("first spy"). The
 * stem moves the start of the broadcast away from the origin: the report first travels a
 * path of single STEM messages (proto/link.h type 10), and some node on that path "fluffs"
 * it into normal gossip (proto_gossip_publish()). The origin never pushes it to all its
 * links itself. Design after Dandelion++ (Fanti et al., SIGMETRICS 2018):
 *
 *  - Epochs of epoch_ms (aligned on multiples of epoch_ms of the caller's clock). In each
 *    epoch the router picks up to `relays` up links at random as its relays, maps every
 *    inbound link, on first use, to one of them (never to itself while another choice
 *    exists), and sends all its own reports to one relay. So within an epoch a report
 *    arriving on a given link always leaves on the same link ("a fixed successor per
 *    inbound link"), which keeps repeated reports of one origin on one path instead of
 *    exposing it over many paths. Relays that go down are replaced from the other up links
 *    without redrawing the mappings; the next epoch redraws everything.
 *  - Per hop, a relay flips a coin: with probability fluff_permille/1000 it fluffs the
 *    report, otherwise it forwards it on the successor of the inbound link. So the stem
 *    length is geometric with mean 1000/fluff_permille hops. The origin never flips the
 *    coin for its own report (it always forwards), and a relay that receives a report
 *    again over the stem (a loop) flips a fresh coin, so every loop ends. (The per-epoch
 *    "fluff node" mode of Dandelion++ is not used: the per-hop coin is what chatham
 *    specifies.)
 *  - Embargo: each node on the stem, origin included, keeps a timer per report. If the
 *    report has not come back through gossip when it fires, the node fluffs it itself, so
 *    a relay that drops stem reports only delays them. A relay's timer is drawn uniformly
 *    in [embargo_ms, 2 * embargo_ms) and the origin's in [2 * embargo_ms, 3 * embargo_ms):
 *    the random spread keeps the first timer to fire from pointing at the start of the
 *    path, and the origin's longer range makes it the last node to fall back.
 *
 * The router never sees report bytes, sockets or a clock: the caller (node/overlay/dissem.c, or
 * tests/sim/sim_stem.c) feeds it link events, report ids and the time, and acts on the
 * verdicts: PROTO_STEM_FORWARD (send [10, report] on the returned link), PROTO_STEM_FLUFF
 * (hand the report to gossip as if published here: proto_gossip_publish()) or
 * PROTO_STEM_DROP (nothing to do). Reports whose embargo expired are taken one at a time
 * with proto_stem_expire() and fluffed by the caller.
 *
 * The caller's duties: admit and store a report received in a STEM message before calling
 * proto_stem_on_stem() (a refused report is never forwarded); drop a STEM whose report
 * gossip has already seen (proto_gossip_seen()) without calling the router; call
 * proto_stem_on_gossip() when a report arrives by gossip (PUSH), which ends its stem
 * phase here and cancels its embargo.
 *
 * Links are small integer handles the caller assigns, 0 .. max_links-1 (the same handles
 * as proto/gossip.h), announced with proto_stem_link_up() and withdrawn with
 * proto_stem_link_down().
 *
 * Memory is bounded by the config: at most max_reports report ids are tracked (in the
 * stem, or finished and remembered for done_ttl_ms so a late STEM copy is dropped); when
 * full, the oldest finished id is forgotten first, and with every slot in the stem a
 * relayed report is fluffed at once and an own report is refused (-ENOBUFS).
 *
 * Randomness: a ChaCha20 stream keyed from cfg.seed, so a run is reproducible from its
 * inputs. The daemon seeds it from the OS CSPRNG: an observer must not predict the coins
 * or the successors. All calls take now_ms; it must not go backwards. One router per node;
 * not thread-safe (one thread at a time).
 */
#ifndef CHATHAM_PROTO_STEM_H
#define CHATHAM_PROTO_STEM_H

#include <stdbool.h>
#include <stdint.h>

#define PROTO_STEM_LINKS_MAX 4096
#define PROTO_STEM_RELAYS_MAX 8

/* Verdicts of proto_stem_originate() and proto_stem_on_stem(). */
#define PROTO_STEM_FORWARD 1 /* send STEM on *link */
#define PROTO_STEM_FLUFF 2   /* publish into gossip now */
#define PROTO_STEM_DROP 3    /* already fluffed or seen by gossip here: nothing to do */

/* Configuration. Zero fields take the default in brackets. */
struct proto_stem_config {
	unsigned max_links;	 /* link handles are 0..max_links-1 [64]; <= 4096 */
	unsigned relays;	 /* relays drawn per epoch [2]; <= PROTO_STEM_RELAYS_MAX */
	uint32_t fluff_permille; /* probability p of fluffing per hop, in 1/1000 [150];
				    <= 1000 (1000: every relay fluffs, a one-hop stem) */
	uint32_t embargo_ms;	 /* embargo base, see above [5000]; <= 3600000 */
	uint64_t epoch_ms;	 /* epoch length [600000] */
	unsigned max_reports;	 /* report ids tracked at once [4096]; 16 .. 1048576 */
	uint64_t done_ttl_ms;	 /* how long a finished id is remembered [60000] */
	uint64_t seed;		 /* key of the random stream (coins, relays, timers) */
};

struct proto_stem_stats {
	uint64_t originated;	/* own reports sent into the stem */
	uint64_t stem_recv;	/* STEM arrivals handed to on_stem */
	uint64_t stem_loops;	/* ... of a report already in the stem here */
	uint64_t forwarded;	/* FORWARD verdicts (own and relayed) */
	uint64_t fluffed_coin;	/* FLUFF by the coin */
	uint64_t fluffed_stuck; /* FLUFF because no other link was up */
	uint64_t fluffed_full;	/* FLUFF because every slot was in the stem */
	uint64_t dropped;	/* DROP verdicts */
	uint64_t embargo_fired; /* reports returned by proto_stem_expire() */
	uint64_t cancelled;	/* embargoes ended by proto_stem_on_gossip() */
	uint64_t epochs;	/* relay sets drawn */
};

struct proto_stem;

/*
 * proto_stem_new() - a router with no link up. @cfg may be NULL (defaults); it is copied.
 * Returns NULL on -ENOMEM or a config out of bounds.
 */
struct proto_stem *proto_stem_new(const struct proto_stem_config *cfg);

/* proto_stem_free() - NULL-safe. */
void proto_stem_free(struct proto_stem *s);

/*
 * Link events. @link < max_links. link_up: the link must be down, link_down: up
 * (PROTO_E_STEM_LINK otherwise). A relay that goes down is replaced by a random up link
 * that is not a relay yet, if there is one; mappings to it move to the replacement.
 */
int proto_stem_link_up(struct proto_stem *s, uint32_t link, uint64_t now_ms);
int proto_stem_link_down(struct proto_stem *s, uint32_t link, uint64_t now_ms);

/*
 * proto_stem_originate() - this node publishes anonymous report @id (already admitted and
 * stored): start its stem. Returns PROTO_STEM_FORWARD with *@link set to this epoch's
 * relay for own reports (the origin's embargo starts), or PROTO_STEM_FLUFF when no link is
 * up (there is nobody to hide among: the caller publishes into gossip, where catch-up will
 * find it). Errors: PROTO_E_STEM_KNOWN when @id is
 * tracked already, -ENOBUFS when every slot is in the stem, -EINVAL for NULL pointers.
 */
int proto_stem_originate(struct proto_stem *s, const uint8_t id[32], uint64_t now_ms,
			 uint32_t *link);

/*
 * proto_stem_on_stem() - a STEM of report @id arrived on @from (up), was admitted and
 * stored. Returns PROTO_STEM_FORWARD (*@link set: never @from while another link is up),
 * PROTO_STEM_FLUFF (the coin said so, no other link is up, or no slot is free) or
 * PROTO_STEM_DROP (the stem of @id ended here already). Errors: PROTO_E_STEM_LINK, -EINVAL.
 * *@link is written only for FORWARD.
 */
int proto_stem_on_stem(struct proto_stem *s, uint32_t from, const uint8_t id[32], uint64_t now_ms,
		       uint32_t *link);

/*
 * proto_stem_on_gossip() - report @id arrived by gossip (or was fluffed by the caller
 * for another reason): its stem phase ends here and its embargo is cancelled. Returns
 * true when an embargo was pending. Unknown ids are ignored (gossip remembers them).
 */
bool proto_stem_on_gossip(struct proto_stem *s, const uint8_t id[32], uint64_t now_ms);

/*
 * proto_stem_expire() - take one report whose embargo is due at @now_ms into @id (caller
 * storage, 32 bytes): the caller fluffs it. Returns false when none is due. Call it in a
 * loop after the time reaches proto_stem_next_deadline(). Also forgets finished ids older
 * than done_ttl_ms.
 */
bool proto_stem_expire(struct proto_stem *s, uint64_t now_ms, uint8_t id[32]);

/* proto_stem_next_deadline() - earliest pending embargo; UINT64_MAX for none. */
uint64_t proto_stem_next_deadline(const struct proto_stem *s);

/* proto_stem_pending() - whether @id is in its stem phase here (embargo running). */
bool proto_stem_pending(const struct proto_stem *s, const uint8_t id[32]);

/* proto_stem_tracked() - number of ids tracked (pending or finished); <= max_reports. */
unsigned proto_stem_tracked(const struct proto_stem *s);

/* proto_stem_embargoed() - number of ids in their stem phase here (embargo running). */
unsigned proto_stem_embargoed(const struct proto_stem *s);

void proto_stem_get_stats(const struct proto_stem *s, struct proto_stem_stats *st);

#endif
