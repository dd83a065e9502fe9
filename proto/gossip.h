/* SPDX-License-Identifier: MIT */
/*
 * proto/gossip.h — Plumtree dissemination of CLEAR and GREEN reports (DESIGN.md §5), sans I/O.
 *
 * The engine decides which link gets which message; it never sees report bytes, sockets
 * or a clock. Report ids, link events and the current time (ms, any monotonic origin) go
 * in; actions come out of a queue the caller drains with proto_gossip_poll() after every
 * call, turning each into a link message (proto/link.h): PUSH (the caller loads the
 * report by id from its own storage), IHAVE, GRAFT or PRUNE. The same engine runs under
 * libuv in the daemon and under the virtual clock of tests/sim.
 *
 * Links are small integer handles the caller assigns, 0 .. max_links-1, announced with
 * proto_gossip_link_up() and withdrawn with proto_gossip_link_down().
 *
 * Protocol (Leitão, Pereira, Rodrigues: "Epidemic Broadcast Trees", SRDS 2007). Each link
 * is EAGER (part of the spanning tree: reports are pushed whole) or LAZY (only ids are
 * announced, in IHAVE batches). A new link starts EAGER.
 *  - Origin: proto_gossip_publish() pushes the report to ALL up links, eager and lazy.
 *  - Receiving a PUSH: proto_gossip_on_push() says NEW or DUPLICATE. For NEW the caller
 *    asks policy/ to admit the report, stores it, and then calls proto_gossip_forward(),
 *    or proto_gossip_discard() when policy refused it or it is not for gossip (a report
 *    that arrived by catch-up, for instance): a refused report is never forwarded, and a
 *    relay forwards the report bytes unchanged. Forwarding pushes it on every other eager
 *    link and announces it on every other lazy link.
 *  - A DUPLICATE on an eager link means the tree has a cycle: the engine sends PRUNE on
 *    that link and makes it lazy. Receiving PRUNE makes the link lazy.
 *  - An IHAVE of an id not seen starts a timer (graft_timeout_ms). If the report has not
 *    arrived when it fires, the engine sends GRAFT for it to the first link that
 *    announced it and makes that link eager, then waits graft_retry_ms before trying the
 *    next announcer; with no announcer left it gives up (catch-up, proto/recon.h, will
 *    find the report). Receiving GRAFT makes the link eager and pushes every requested
 *    report that was forwarded or published here.
 *  - Deviation from the paper, needed because the origin pushes to all links: a report
 *    whose first copy came over a LAZY link was injected off the tree (by its origin, or
 *    raced a PRUNE), so its copy along the tree is still on its way. Forwarding it at once
 *    would meet that copy head-on and PRUNE a tree link. Instead the engine holds it
 *    (after proto_gossip_forward()) until the copy arrives on an eager link, which is then
 *    not pruned, and forwards it from there like any tree copy; if no copy comes within
 *    hold_ms, it forwards on its own. So the origin's extra pushes never break the tree.
 *    The paper's "add the sender of a new report to the eager set" is dropped for the same
 *    reason: eagerness only changes by PRUNE and GRAFT, which both ends apply alike.
 *
 * Memory is bounded by the config: seen_max ids remembered (oldest evicted first, and
 * each for at most seen_ttl_ms), missing_max awaited ids (oldest evicted), announcers_max
 * announcers per awaited id, and the action queue, which holds only the actions of the
 * calls since the last drain (at most one action per link and report id per call).
 *
 * Timers: proto_gossip_next_deadline() says when proto_gossip_tick() next has work (IHAVE
 * batches to flush, GRAFT timers, held reports); calling tick earlier or more often is
 * harmless. All calls take now_ms; it must not go backwards.
 *
 * Randomness comes only from cfg.seed (reserved for the Dandelion stem phase), so a run is
 * reproducible from its inputs. One engine per node; not thread-safe (one thread at a time).
 */
#ifndef CHATHAM_PROTO_GOSSIP_H
#define CHATHAM_PROTO_GOSSIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/link.h"

#define PROTO_GOSSIP_LINKS_MAX 4096
#define PROTO_GOSSIP_ANNOUNCERS_MAX 16

/* proto_gossip_on_push() results. */
#define PROTO_GOSSIP_NEW 1
#define PROTO_GOSSIP_DUPLICATE 2

/* Configuration. Zero fields take the default in brackets. */
struct proto_gossip_config {
	unsigned max_links;	   /* link handles are 0..max_links-1 [64]; <= 4096 */
	unsigned ihave_batch;	   /* ids per IHAVE [256]; <= PROTO_LINK_IDS_MAX */
	uint32_t ihave_flush_ms;   /* longest an id waits for its IHAVE batch [20] */
	uint32_t graft_timeout_ms; /* wait from the first IHAVE of a missing id to GRAFT [250] */
	uint32_t graft_retry_ms;   /* wait after a GRAFT before grafting the next announcer [150] */
	uint32_t hold_ms;	   /* wait for the tree copy of a report first received on a lazy
				      link [graft_timeout_ms] */
	unsigned seen_max;	   /* report ids remembered [65536]; >= 16 */
	uint64_t seen_ttl_ms;	   /* how long an id is remembered [3600000] */
	unsigned missing_max;	   /* announced ids awaited at once [4096]; >= 16 */
	unsigned announcers_max;   /* announcers kept per awaited id [4]; <= 16 */
	unsigned prune_dups;	   /* duplicates in a row that prune an eager link [6] */
	uint64_t seed;		   /* deterministic randomness (stem phase) */
};

enum proto_gossip_link_state {
	PROTO_GOSSIP_LINK_DOWN = 0,
	PROTO_GOSSIP_LINK_EAGER = 1,
	PROTO_GOSSIP_LINK_LAZY = 2,
};

/*
 * One output action: send a link message of @type (PROTO_LINK_PUSH, _IHAVE, _GRAFT or
 * _PRUNE) on link @link. PUSH carries exactly one id (the caller loads that report and
 * sends [4, report]); IHAVE and GRAFT carry 1..PROTO_LINK_IDS_MAX ids; PRUNE none (n = 0,
 * ids NULL). @ids is borrowed from the engine, valid until the next call on it.
 */
struct proto_gossip_action {
	uint32_t link;
	enum proto_link_type type;
	size_t n;
	const uint8_t (*ids)[32];
};

struct proto_gossip_stats {
	uint64_t published;	   /* proto_gossip_publish() */
	uint64_t push_new;	   /* PUSH received: NEW */
	uint64_t push_dup;	   /* PUSH received: DUPLICATE */
	uint64_t forwarded;	   /* reports forwarded (at once or after a hold) */
	uint64_t discarded;	   /* proto_gossip_discard() */
	uint64_t held;		   /* reports first received off-tree and held */
	uint64_t held_expired;	   /* ... forwarded after hold_ms without a tree copy */
	uint64_t push_sent;	   /* PUSH actions (publish, forward, GRAFT answers) */
	uint64_t ihave_sent;	   /* IHAVE actions */
	uint64_t ihave_ids_sent;   /* ids in them */
	uint64_t graft_sent;	   /* GRAFT actions */
	uint64_t graft_ids_sent;   /* ids in them */
	uint64_t prune_sent;	   /* PRUNE actions */
	uint64_t ihave_ids_recv;   /* ids received in IHAVE */
	uint64_t graft_ids_recv;   /* ids received in GRAFT */
	uint64_t prune_recv;	   /* PRUNE received */
	uint64_t missing_gave_up;  /* awaited ids dropped with no announcer left */
	uint64_t missing_evicted;  /* awaited ids dropped at missing_max */
	uint64_t seen_evicted;	   /* ids forgotten at seen_max (not by age) */
};

struct proto_gossip;

/*
 * proto_gossip_new() - an engine with no link up. @cfg may be NULL (defaults); it is
 * copied. Returns NULL on -ENOMEM or a config out of bounds.
 */
struct proto_gossip *proto_gossip_new(const struct proto_gossip_config *cfg);

/* proto_gossip_free() - NULL-safe; pending actions are dropped. */
void proto_gossip_free(struct proto_gossip *g);

/*
 * Link events. @link < max_links. link_up: the link must be down (PROTO_E_GOSSIP_LINK
 * otherwise); it becomes eager. link_down: the link must be up; its queued IHAVE ids and
 * undrained actions are dropped and it is forgotten as an announcer.
 */
int proto_gossip_link_up(struct proto_gossip *g, uint32_t link, uint64_t now_ms);
int proto_gossip_link_down(struct proto_gossip *g, uint32_t link, uint64_t now_ms);

/* proto_gossip_link_state() - DOWN for a handle out of range. */
enum proto_gossip_link_state proto_gossip_link_state(const struct proto_gossip *g, uint32_t link);

/*
 * proto_gossip_publish() - this node is the origin of report @id (already admitted and
 * stored): push it to every up link. PROTO_E_GOSSIP_KNOWN if the id was seen already;
 * -ENOMEM.
 */
int proto_gossip_publish(struct proto_gossip *g, const uint8_t id[32], uint64_t now_ms);

/*
 * proto_gossip_on_push() - a PUSH of report @id arrived on @link (up). Returns
 * PROTO_GOSSIP_NEW (the caller admits and stores it, then calls proto_gossip_forward() or
 * proto_gossip_discard()), PROTO_GOSSIP_DUPLICATE (drop the bytes), PROTO_E_GOSSIP_LINK,
 * -ENOMEM.
 */
int proto_gossip_on_push(struct proto_gossip *g, uint32_t link, const uint8_t id[32],
			 uint64_t now_ms);

/*
 * proto_gossip_forward() - report @id, NEW from proto_gossip_on_push(), was admitted and
 * stored: gossip it on. PROTO_E_GOSSIP_STATE if @id is not awaiting that decision (never
 * received, already decided, or evicted meanwhile).
 */
int proto_gossip_forward(struct proto_gossip *g, const uint8_t id[32], uint64_t now_ms);

/*
 * proto_gossip_discard() - report @id, NEW from proto_gossip_on_push(), must not be
 * forwarded. Its id stays seen, so copies are recognised as duplicates. PROTO_E_GOSSIP_STATE
 * as for forward.
 */
int proto_gossip_discard(struct proto_gossip *g, const uint8_t id[32], uint64_t now_ms);

/*
 * proto_gossip_on_ihave() - @link announced @n ids (@ids borrowed). Ids already seen are
 * ignored; the caller may also filter out ids its store already holds. PROTO_E_GOSSIP_LINK,
 * -EINVAL for NULL @ids with n > 0.
 */
int proto_gossip_on_ihave(struct proto_gossip *g, uint32_t link, const uint8_t (*ids)[32],
			  size_t n, uint64_t now_ms);

/*
 * proto_gossip_on_graft() - @link asked for @n ids: the link becomes eager and every id
 * forwarded or published here is pushed to it (others are ignored). Errors as on_ihave.
 */
int proto_gossip_on_graft(struct proto_gossip *g, uint32_t link, const uint8_t (*ids)[32],
			  size_t n, uint64_t now_ms);

/* proto_gossip_on_prune() - @link sent PRUNE: it becomes lazy. PROTO_E_GOSSIP_LINK. */
int proto_gossip_on_prune(struct proto_gossip *g, uint32_t link, uint64_t now_ms);

/*
 * proto_gossip_tick() - run the timers due at @now_ms: flush IHAVE batches, send GRAFTs,
 * release held reports, forget expired ids. Returns 0 or -ENOMEM.
 */
int proto_gossip_tick(struct proto_gossip *g, uint64_t now_ms);

/* proto_gossip_next_deadline() - earliest time tick() has work; UINT64_MAX for none. */
uint64_t proto_gossip_next_deadline(const struct proto_gossip *g);

/*
 * proto_gossip_poll() - take the oldest queued action into @a. Returns true, or false
 * when the queue is empty. Drain it after every call on the engine.
 */
bool proto_gossip_poll(struct proto_gossip *g, struct proto_gossip_action *a);

/* proto_gossip_seen() - whether @id is remembered (published, received or discarded). */
bool proto_gossip_seen(const struct proto_gossip *g, const uint8_t id[32]);

void proto_gossip_get_stats(const struct proto_gossip *g, struct proto_gossip_stats *st);

#endif
