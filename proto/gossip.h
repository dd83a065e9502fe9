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
 *  - Origin: proto_gossip_publish() pushes the report on its eager links and announces it
 *    on its lazy links, like a relay (cfg.origin_push_all: push on every link).
 *  - Receiving a PUSH: proto_gossip_on_push() says NEW or DUPLICATE. For NEW the caller
 *    asks policy/ to admit the report, stores it, and then calls proto_gossip_forward(),
 *    or proto_gossip_discard() when policy refused it or it is not for gossip (a report
 *    that arrived by catch-up, for instance): a refused report is never forwarded, and a
 *    relay forwards the report bytes unchanged. Forwarding pushes it on every other eager
 *    link and announces it on every other lazy link, except those that announced it or sent
 *    a copy here (up to 8 remembered per report; they hold it).
 *  - A duplicate on an eager link means the eager links contain a cycle; the engine sends
 *    PRUNE on that link and makes it lazy (when: see "Pruning" below). Receiving PRUNE makes
 *    the link lazy. A duplicate on a lazy link comes from a peer that still holds this
 *    link eager (or an origin): it is answered with PRUNE at once.
 *  - An IHAVE of an id not seen starts a timer (graft_timeout_ms, plus up to half of it
 *    drawn from the seeded RNG so that nodes cut off together do not all GRAFT at once).
 *    If the report has not arrived when it fires (see "The GRAFT wait" below for a
 *    burst), the engine sends GRAFT for it to the
 *    first link that announced it and makes that link eager, then waits graft_retry_ms
 *    before trying the next announcer; with no announcer left it gives up (catch-up,
 *    proto/recon.h, will find the report). Receiving GRAFT makes the link eager and
 *    pushes every requested report that was forwarded or published here.
 *
 * Where this engine departs from the paper, and why (tests/sim measures each choice):
 *  - Formation. A fresh overlay has every link eager, so the first reports flood. The
 *    paper prunes on any duplicate; with several reports in flight that cuts each cycle
 *    once per report, at different places, and splits the tree into regions. Here a node
 *    prunes nothing for formation_ms after its first report and remembers the oldest
 *    report seen meanwhile (smallest created_ms, then id): the same report at every
 *    node, since the oldest one published reaches every node within the window. It then
 *    prunes the links that brought a second copy of that report. What is left is that
 *    report's first-arrival tree, a spanning tree of the overlay, the same at both ends
 *    of every link. formation_ms must exceed the time a report takes to cross the
 *    overlay.
 *  - Pruning. After formation it takes prune_dups duplicates in a row on a link (a new
 *    report on it resets the count), and copies of reports first seen within formation_ms
 *    of forming do not count (neighbours are still flooding). One duplicate is weak
 *    evidence while many reports are in flight, and pruning on it splits the tree the
 *    same way as above; a real cycle keeps producing duplicates. (Measured: on the first
 *    duplicate when the first copy came on another eager link, the paper's rule, made
 *    tests/sim's failure phase churn: GRAFTs ~25 x, copies 1.04 -> 1.21 at N = 1,000.)
 *  - The origin announces on lazy links. It used to push on all of them (the paper's
 *    latency shortcut): in tests/sim (N = 1,000, seeds 1-5) that changed the largest
 *    latency by -0.05..+0.1 x flooding and cost an extra copy per lazy link of the origin,
 *    the largest term of the copies on 16 real daemons (docs/PERFORMANCE.md). A report's
 *    first copy can still come on a LAZY link, off the tree (an origin with
 *    origin_push_all, a link whose PRUNE is in flight); its copy along the tree is then
 *    still on its way. Forwarding at once
 *    would meet that copy head-on and break a tree link. Instead the engine holds the
 *    report (after proto_gossip_forward()) until the tree copy arrives on an eager link,
 *    which is then neither pruned nor pushed back to, and forwards it from there like
 *    any tree copy; the off-tree sender gets a PRUNE (a no-op for an origin, the cure
 *    for a peer that holds this link eager after a PRUNE and a GRAFT crossed), at most
 *    once a second per link that is lazy already, not once per report. If no
 *    tree copy comes within hold_ms, that sender is in fact our way to the origin: the
 *    engine GRAFTs it (its answer, a copy we already have, does not count as a
 *    duplicate) and forwards the report; unless this node had sent that link a PRUNE
 *    less than lag_max_ms before the copy came (the copy was on its way behind it:
 *    grafting it again only restarted the cycle the PRUNE cut, over and over in a
 *    burst on 16 daemons); then the report is forwarded alone.
 *  - The GRAFT wait follows the tree in a burst. When lag_awaited ids or more are
 *    awaited at once (IHAVEs, and copies off the tree, run far ahead of copies queued
 *    at every hop's admission), the wait is graft_timeout_ms plus twice the median lag of
 *    the recent tree copies behind their first IHAVE (at most lag_max_ms), and the hold
 *    grows by as much. A GRAFT there only brought a copy that was on its way, made a link
 *    eager that the tree did not need, and every report pushed on it until its PRUNE
 *    arrived was a duplicate: on 16 daemons most duplicates of a one-origin burst; in
 *    tests/sim (--burst, --service-us) the GRAFTs of a burst twice over the nodes' rate
 *    went from 5,865 to 0. Outside a burst no lag counts, so a repair after a failure
 *    waits graft_timeout_ms as before (a wait that followed the lags of copies delayed by
 *    repairs upstream slowed the next repair, a loop). The tree copy of an id grafted too
 *    early is neither a cycle nor pruned on. And in a burst neither a GRAFT nor the end of a
 *    hold happens while the tree is moving (an eager link brought a new report within
 *    graft_timeout_ms) and has not passed the id over (brought one announced more than
 *    graft_timeout_ms after it), for at most lag_max_ms: a burst above the nodes' rate
 *    queues copies for tens of seconds along the tree, beyond what the lags measured
 *    cover (on 16 daemons most GRAFTs of a one-origin burst, and the duplicates they
 *    caused, came from there).
 *  - The paper's "add the sender of a new report to the eager set" is dropped for the
 *    same reason: eagerness changes only by PRUNE and GRAFT, which both ends apply.
 *  - The paper's optimisation (swap a tree link for a lazy one whose IHAVE came many
 *    hops earlier) is not implemented: PUSH carries no hop count, and with a tree shared
 *    by all origins a swap that helps one origin hurts another (measured: endless churn).
 *
 * Memory is bounded by the config: seen_max ids remembered (oldest evicted first, and
 * each for at most seen_ttl_ms), missing_max awaited ids (oldest evicted), announcers_max
 * announcers per awaited id, and the action queue, which holds only the actions of the
 * calls since the last drain (at most one action per link and report id per call). The two
 * id maps are allocated for seen_max and missing_max entries when the engine is made and
 * never grow (about 100 bytes per entry plus 4-8 bytes of slots; address space until entries
 * are used, in order), so a busy engine allocates nothing large after start.
 *
 * Timers: proto_gossip_next_deadline() says when proto_gossip_tick() next has work (IHAVE
 * batches to flush, GRAFT timers, held reports, the end of formation); calling tick earlier
 * or more often is harmless. All calls take now_ms; it must not go backwards.
 *
 * Randomness comes only from cfg.seed (GRAFT timer jitter and the id-hash key), so a run is
 * reproducible from its inputs; the node should seed it from proto_random(). One engine per
 * node; not thread-safe (one thread at a time).
 */
#ifndef CHATHAM_PROTO_GOSSIP_H
#define CHATHAM_PROTO_GOSSIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/link.h"

#define PROTO_GOSSIP_LINKS_MAX 4096
#define PROTO_GOSSIP_ANNOUNCERS_MAX 16
#define PROTO_GOSSIP_MAP_MAX (1u << 24) /* largest seen_max and missing_max */

/* proto_gossip_on_push() results. */
#define PROTO_GOSSIP_NEW 1
#define PROTO_GOSSIP_DUPLICATE 2

/*
 * Configuration. Zero fields take the default in brackets. The timers must exceed the
 * time a report takes to cross the overlay along its tree (about one second for 1,000
 * nodes at 20-80 ms per link), or spurious GRAFTs keep reshaping the tree.
 */
struct proto_gossip_config {
	unsigned max_links;	   /* link handles are 0..max_links-1 [64]; <= 4096 */
	unsigned ihave_batch;	   /* ids per IHAVE [256]; <= PROTO_LINK_IDS_MAX */
	uint32_t ihave_flush_ms;   /* longest an id waits for its IHAVE batch [20] */
	uint32_t graft_timeout_ms; /* least wait from the first IHAVE of a missing id to GRAFT
				      [1000]; longer in a burst (see above) */
	uint32_t graft_retry_ms;   /* wait after a GRAFT before grafting the next announcer [500] */
	uint32_t hold_ms;	   /* wait for the tree copy of a report first received on a lazy
				      link [2 * graft_timeout_ms]; longer in a burst */
	unsigned seen_max;	   /* report ids remembered [65536]; >= 16 */
	uint64_t seen_ttl_ms;	   /* how long an id is remembered [3600000] */
	unsigned missing_max;	   /* announced ids awaited at once [4096]; >= 16 */
	unsigned announcers_max;   /* announcers kept per awaited id [4]; <= 16 */
	unsigned prune_dups;	   /* duplicates in a row that prune an eager link [6] */
	uint32_t formation_ms;	   /* flood this long after the first report, then shape the tree
				      [1000] */
	bool origin_push_all;	   /* the origin pushes on lazy links too, instead of announcing
				      [false] */
	unsigned lag_awaited;	   /* ids awaited (announced and missing, or held) at once that
				      make a burst [256] */
	uint32_t lag_max_ms;	   /* most the GRAFT wait grows to in a burst [60000] */
	uint64_t seed;		   /* deterministic randomness */
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
	uint64_t published;	      /* proto_gossip_publish() */
	uint64_t push_new;	      /* PUSH received: NEW */
	uint64_t push_dup;	      /* PUSH received: DUPLICATE */
	uint64_t forwarded;	      /* reports forwarded (at once or after a hold) */
	uint64_t discarded;	      /* proto_gossip_discard() */
	uint64_t held;		      /* reports first received off-tree and held */
	uint64_t held_expired;	      /* ... forwarded after hold_ms without a tree copy */
	uint64_t held_behind_prune;   /* ... of which the sender was not grafted: the copy was
					 on its way behind our PRUNE */
	uint64_t push_sent;	      /* PUSH actions (publish, forward, GRAFT answers) */
	uint64_t ihave_sent;	      /* IHAVE actions */
	uint64_t ihave_ids_sent;      /* ids in them */
	uint64_t graft_sent;	      /* GRAFT actions */
	uint64_t graft_ids_sent;      /* ids in them */
	uint64_t prune_sent;	      /* PRUNE actions */
	uint64_t prune_repeats_saved; /* PRUNEs not repeated on a lazy link (send_prune()) */
	uint64_t prune_formed;	      /* PRUNEs sent by rule: formation's second copies */
	uint64_t prune_offtree;	      /* ... to the sender of a first copy off the tree */
	uint64_t prune_lazy;	      /* ... for a copy on a lazy link */
	uint64_t prune_streak;	      /* ... after prune_dups copies in a row on an eager link */
	uint64_t ihave_ids_recv;      /* ids received in IHAVE */
	uint64_t graft_ids_recv;      /* ids received in GRAFT */
	uint64_t prune_recv;	      /* PRUNE received */
	uint64_t graft_recv;	      /* GRAFT received */
	uint64_t graft_eager;	      /* ... that made a lazy link eager */
	uint64_t link_ups;	      /* proto_gossip_link_up() (a link starts eager) */
	uint64_t missing_gave_up;     /* awaited ids dropped with no announcer left */
	uint64_t missing_evicted;     /* awaited ids dropped at missing_max */
	uint64_t seen_evicted;	      /* ids forgotten at seen_max (not by age) */
	uint64_t dup_lazy;	      /* duplicates on a lazy link (its PRUNE still on its way) */
	uint64_t dup_eager;	      /* duplicates on an eager link (a cycle, or a GRAFT's) */
	uint64_t announced_late;      /* NEW reports whose IHAVE came before them */
	uint64_t grafted_late;	      /* ... after a GRAFT for them had been sent */
	uint64_t graft_early;	      /* tree copies that came after their GRAFT's answer */
	uint64_t lag_samples;	      /* tree copies timed behind their IHAVE (graft wait) */
	uint64_t tree_waits;	      /* awaited ids and held copies that waited for the tree */
	uint64_t ihave_saved;	      /* ids not announced to a link that announced them here */
	uint64_t push_saved;	      /* copies not pushed to an eager link that sent one here */
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
 * stored), created at @created_ms (the report's own field; it only orders reports for
 * formation): push it to every up link. PROTO_E_GOSSIP_KNOWN if the id was seen already;
 * -ENOMEM.
 */
int proto_gossip_publish(struct proto_gossip *g, const uint8_t id[32], uint64_t created_ms,
			 uint64_t now_ms);

/*
 * proto_gossip_on_push() - a PUSH of report @id, created at @created_ms (read from the
 * report before admission; a false value only affects the tree's shape; only read when
 * the id is not seen, so a caller may skip decoding a copy proto_gossip_seen() knows),
 * arrived on @link (up). Returns
 * PROTO_GOSSIP_NEW (the caller admits and stores it, then calls proto_gossip_forward() or
 * proto_gossip_discard()), PROTO_GOSSIP_DUPLICATE (drop the bytes), PROTO_E_GOSSIP_LINK,
 * -ENOMEM.
 */
int proto_gossip_on_push(struct proto_gossip *g, uint32_t link, const uint8_t id[32],
			 uint64_t created_ms, uint64_t now_ms);

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
 * proto_gossip_forget() - report @id, NEW from proto_gossip_on_push(), was refused for a
 * reason that may pass later (a member's rate limit): not forwarded, and its id forgotten,
 * so a later copy (gossip, catch-up, an IHAVE) is NEW again. PROTO_E_GOSSIP_STATE as for
 * forward.
 */
int proto_gossip_forget(struct proto_gossip *g, const uint8_t id[32], uint64_t now_ms);

/*
 * proto_gossip_have() - the caller holds report @id, which did not come by gossip (a
 * catch-up session brought it): stop awaiting it, so no GRAFT asks for it. Nothing else
 * changes; a later PUSH of it is still NEW to the engine. No-op for an id not awaited.
 */
void proto_gossip_have(struct proto_gossip *g, const uint8_t id[32]);

/*
 * proto_gossip_on_ihave() - @link announced @n ids (@ids borrowed). Ids already seen are
 * ignored; the caller may also filter out ids its store already holds. PROTO_E_GOSSIP_LINK,
 * -EINVAL for NULL @ids with n > 0.
 */
int proto_gossip_on_ihave(struct proto_gossip *g, uint32_t link, const uint8_t (*ids)[32], size_t n,
			  uint64_t now_ms);

/*
 * proto_gossip_on_graft() - @link asked for @n ids: the link becomes eager and every id
 * forwarded or published here is pushed to it (others are ignored). Errors as on_ihave.
 */
int proto_gossip_on_graft(struct proto_gossip *g, uint32_t link, const uint8_t (*ids)[32], size_t n,
			  uint64_t now_ms);

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

/*
 * proto_gossip_lagging() - whether copies along the tree now trail their first IHAVE by more
 * than graft_timeout_ms (the median of the recent lags that set the GRAFT wait; none in the
 * last 10 s: false), or lag_awaited ids are awaited while the tree keeps bringing new
 * reports (GRAFTs wait for it, see above). Then reports are queued along the tree (a burst
 * under load): they are on their way, and a catch-up session would race them.
 */
bool proto_gossip_lagging(struct proto_gossip *g, uint64_t now_ms);

/*
 * proto_gossip_formed() - whether the tree has taken shape here (formation_ms after the
 * first report; until then every report floods, see "Formation").
 */
bool proto_gossip_formed(const struct proto_gossip *g);

/* proto_gossip_seen() - whether @id is remembered (published, received or discarded). */
bool proto_gossip_seen(const struct proto_gossip *g, const uint8_t id[32]);

void proto_gossip_get_stats(const struct proto_gossip *g, struct proto_gossip_stats *st);

#endif
