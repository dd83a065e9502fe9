/* SPDX-License-Identifier: MIT */
/*
 * node/overlay/dissem.h — dissemination and catch-up (DESIGN.md §5): the driver that connects the
 * overlay's links (node/overlay/overlay.h) to the Plumtree engine (proto/gossip.h), to
 * reconciliation sessions (proto/recon.h) over the store, to admission (policy/admit.h) and
 * egress (policy/egress.h), and to the AMBER/RED outbox.
 *
 * Paths:
 *   gossip     PUSH/IHAVE/GRAFT/PRUNE go through one proto_gossip engine. A NEW PUSH is
 *              admitted (arrival GOSSIP, the link peer's member id) and stored off the loop
 *              thread, in batches (uv_queue_work: Ed25519 verification costs ~50 us); only
 *              after the commit is it forwarded: when it was new to the store, or stored
 *              before by catch-up or the stem and recently created (proto/relay.h).
 *              Refused reports are discarded and counted per reason and per link.
 *   catch-up   one reconciliation session per link on link up (started by the side that
 *              dialled) and every recon_interval_ms with one random up link. "have" ids
 *              are sent as CATCHUP messages, "need" ids FETCHed; a FETCH is answered with
 *              CATCHUPs. Catch-up copies are stored but never gossiped on: they bypass the
 *              engine, so they can neither prune a tree link nor be forwarded.
 *              Sessions run one at a time per node, and the next starts (or a peer's
 *              opening message is answered) only once what the previous one found is
 *              stored and every FETCH answered, so a node that returns with several links
 *              fetches each missed report once. A session quiet for a whole window fails.
 *              A session pushes at most NODE_DISSEM_CATCHUP_PUSH_MAX "have" reports; a
 *              node that received copies it asked for from a link reconciles with it again
 *              once they are stored, so a large difference comes window by window. Copies
 *              a session or FETCH asked for are exempt from the per-member rate limit;
 *              unsolicited CATCHUP copies are admitted like gossip (catchup.c).
 *   stem       network-level origin hiding for anonymous reports (DESIGN.md §4,
 *              Dandelion++), routed by one proto_stem router (proto/stem.h; same link
 *              handles as the engine): a locally published anonymous CLEAR/GREEN report is
 *              not gossiped by its origin but sent as STEM to this epoch's relay. A node
 *              receiving a STEM admits and stores it (arrival GOSSIP) and then, unless
 *              gossip brought it meanwhile, fluffs it into gossip as if it were the origin
 *              with probability cfg.stem_fluff_permille / 1000, or passes it on as
 *              STEM to the fixed successor of the link it came on. Every stem node keeps
 *              an embargo timer (relays uniform in [E, 2E), the origin in [2E, 3E), with
 *              E = cfg.stem_embargo_ms): if gossip has not brought the report back
 *              by then, it fluffs it itself; a PUSH of it cancels the embargo. No node
 *              records the link an anonymous report came from (its envelope's
 *              received_from stays zero, whatever the path).
 *   local      node_dissem_published() after the publish commit: CLEAR/GREEN enter the
 *              engine as origin; AMBER and stricter wake the outbox.
 *   direct     the outbox (filled by the publish commit, store_ingest outbox_to) is
 *              scanned every second and when a link comes up: each due entry whose
 *              recipient has an up link is sent as DIRECT (egress DIRECT check) and
 *              rescheduled with exponential backoff (retry_min_ms doubling to retry_max_ms)
 *              until the recipient's ACK deletes it. A received DIRECT is admitted with
 *              arrival DIRECT (the policy requires peer == signer and this node among the
 *              recipients), stored, never forwarded, and ACKed only after the commit.
 *   roster     on link up, a peer whose HELLO names an older epoch gets every signed roster
 *              we hold after its epoch, oldest first (ROSTER; at most
 *              NODE_DISSEM_ROSTER_CHAIN_MAX per link up), so it can verify each under the
 *              stewards of the one before. A received ROSTER is handed to the roster
 *              callback (the daemon verifies and adopts it), and once adopted it is sent on
 *              to every other up link whose peer announced an older epoch.
 *
 * Abuse: each member has budgets per window (cfg.abuse, policy/abuse.h): reports refused by
 * admission, catch-up sessions failed or abandoned, sessions opened, and passes over the
 * store its catch-up messages cost (range fingerprints and listings, reports pushed by
 * catch-up or at its FETCH or GRAFT, node/overlay/catchup.c, and the rosters its link up asks
 * for, node/overlay/roster_gossip.c; what a link caused below a whole pass is charged as
 * one when it goes down). The charge past one is
 * an offence: the member's link is closed (NODE_LINK_R_ABUSE), its reports still queued are
 * dropped unverified, and it is refused for a backoff that doubles per offence; the overlay
 * asks node_overlay_callbacks.refused right after a handshake, so a refused member's link
 * closes before it sends anything (NODE_LINK_R_BACKOFF) and it is not dialled. An admission
 * job stops verifying a member's reports once they reach what is left of its budget.
 *
 * Every report that leaves by PUSH asks policy_egress_check_report(GOSSIP) first, so only
 * CLEAR and GREEN ever go over gossip or catch-up; DIRECT asks for the DIRECT path with the
 * recipient as target.
 *
 * Flow control: messages go straight to the link while its send queue has room, else into a
 * per-link backlog (PUSH entries hold only the report id; the bytes are loaded when sent)
 * flushed by the overlay's drained() callback, so a burst never overflows a link's queue
 * (which would close it). A backlog over NODE_DISSEM_BACKLOG_MAX entries drops new PUSH
 * entries (counted; reconciliation repairs them). Sends take at most
 * NODE_DISSEM_FLUSH_SLICE_US of loop time per loop iteration (once attached); the backlogs
 * are resumed in order in the next iterations.
 *
 * Threads: everything on the loop thread except the admission+commit jobs, which read only
 * their own batch, the store and a referenced snapshot.
 */
#ifndef CHATHAM_NODE_DISSEM_H
#define CHATHAM_NODE_DISSEM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "node/overlay/overlay.h"
#include "node/common/snap.h"
#include "node/format/request.h"
#include "policy/abuse.h"
#include "policy/rate.h"
#include "proto/community.h"
#include "proto/community.h"
#include "store/store.h"

/* Gossip link handles. */
#define NODE_DISSEM_LINKS_MAX 256
/* Queued messages per link. */
#define NODE_DISSEM_BACKLOG_MAX 1000000
/* Reports per admission+commit job. */
#define NODE_DISSEM_BATCH_MAX 1024
/* Admission+commit jobs in parallel. */
#define NODE_DISSEM_JOBS_MAX 2
/*
 * Loop time (microseconds) that link sends may take per loop iteration; the send that
 * crosses it is the last, the rest of the queues is resumed in the next iteration.
 */
#define NODE_DISSEM_FLUSH_SLICE_US 2000
/* See "catch-up" above. */
#define NODE_DISSEM_CATCHUP_WINDOW_MS 10000
/* Bytes of rosters arriving in ROSTER_PART messages held at once, over all links. */
#define NODE_DISSEM_PARTS_BYTES_MAX (4u << 20)
/* Rosters sent to a peer behind us per link up (its missed epochs, oldest first), and the
 * epochs looked up for them at most. */
#define NODE_DISSEM_ROSTER_CHAIN_MAX 32
#define NODE_DISSEM_ROSTER_LOOKUP_MAX 4096
/* Stem: reports in their stem here at once (docs/PERFORMANCE.md). */
#define NODE_DISSEM_STEM_REPORTS_MAX 65536
/*
 * Catch-up copies one session pushes at most, and takes as asked for (node/overlay/catchup.c):
 * the window a joining node catches up in.
 */
#define NODE_DISSEM_CATCHUP_PUSH_MAX 16384
/*
 * Received reports awaiting admission; more are dropped (counted). Catch-up fills at most
 * one window of it at a time (NODE_DISSEM_CATCHUP_PUSH_MAX, sessions run one at a time).
 */
#define NODE_DISSEM_PENDING_MAX 65536

struct node_dissem_config {
	uint32_t ihave_flush_ms;    /* proto_gossip ihave_flush_ms (0: engine default) */
	uint32_t graft_timeout_ms;  /* proto_gossip graft_timeout_ms (0: engine default) */
	uint64_t recon_interval_ms; /* periodic catch-up with one random link; 0 = never */
	uint64_t retry_min_ms;	    /* first DIRECT retry delay, >= 1 */
	uint64_t retry_max_ms;	    /* retry delay cap, >= retry_min_ms */
	/* Stem: fluff probability per hop in 1/1000 and embargo base E ("stem" above); 0 takes
	 * proto/stem.h's default. Fixed at creation. */
	uint32_t stem_fluff_permille;
	uint32_t stem_embargo_ms;
	/* Admitted new reports per member (policy/rate.h); burst >= 1 unless per_min is 0. */
	struct policy_rate_config member_rate;
	/* Members' abuse budgets, backoff and forgiveness (policy/abuse.h). */
	struct policy_abuse_config abuse;
};

/*
 * Roster callback: the signed roster @bytes (@len, borrowed for the call) arrived on the link
 * of member @peer. The daemon answers at once from cheap checks: 0 when it took the roster
 * (one queued for verification off the loop), PROTO_E_ROSTER_KNOWN for a copy of a held
 * roster, -EBUSY/-ENOMEM when it cannot take it now, or another negative code when it
 * refused it (an older epoch, a header that does not decode). A roster taken for verification that is then refused is
 * reported with node_dissem_roster_refused(); one adopted with node_dissem_roster_adopted().
 */
typedef int (*node_dissem_roster_fn)(void *ctx, const uint8_t peer[32], const uint8_t *bytes,
				     size_t len);

struct node_dissem;

/*
 * node_dissem_new() - a driver for @store (borrowed, must outlive it) using @snap (a
 * reference is taken) for policy (its pcfg.own_id names this node; its newest roster maps
 * the overlay's member indices to member ids). @cfg is copied. @roster_fn (may be NULL:
 * received rosters are then ignored) and @roster_ctx are kept. Returns NULL when out of
 * memory or @cfg is out of bounds. Start it with node_dissem_attach() once the overlay
 * runs; before that it may be freed with node_dissem_stop(), which then completes at once.
 */
struct node_dissem *node_dissem_new(uv_loop_t *loop, struct store *store, struct node_snap *snap,
				    const struct node_dissem_config *cfg,
				    node_dissem_roster_fn roster_fn, void *roster_ctx);

/*
 * node_dissem_callbacks() - fill @cb with the overlay callbacks of @d, to pass to
 * node_overlay_start().
 */
void node_dissem_callbacks(struct node_dissem *d, struct node_overlay_callbacks *cb);

/*
 * node_dissem_set_commit_hook() - call @fn(@ctx) on the loop thread after every commit that
 * stored at least one new received report (the daemon kicks the SIEM export).
 */
void node_dissem_set_commit_hook(struct node_dissem *d, void (*fn)(void *ctx), void *ctx);

/* node_dissem_attach() - start the timers; @ov (borrowed) is used for roster changes. */
int node_dissem_attach(struct node_dissem *d, struct node_overlay *ov);

/* node_dissem_set_snap() - use @snap (a reference is taken) from now on (reload, roster). */
void node_dissem_set_snap(struct node_dissem *d, struct node_snap *snap);

/* node_dissem_set_config() - apply reloadable settings (@cfg copied). -EINVAL if out of bounds. */
int node_dissem_set_config(struct node_dissem *d, const struct node_dissem_config *cfg);

/*
 * node_dissem_published() - a locally published report @id of TLP @tlp, created at
 * @created_ms, ring-signed when @anonymous, was committed: send it into the stem
 * (anonymous) or gossip it as origin (CLEAR/GREEN), or wake the outbox (AMBER and
 * stricter, where @created_ms and @anonymous are not used). The report is not read back.
 */
void node_dissem_published(struct node_dissem *d, const uint8_t id[32], uint8_t tlp,
			   uint64_t created_ms, bool anonymous);

/*
 * node_dissem_roster_adopted() - the daemon adopted a roster of epoch @epoch (stored
 * under that epoch): offer it to every up link whose peer announced an older epoch.
 */
void node_dissem_roster_adopted(struct node_dissem *d, uint64_t epoch);

/*
 * node_dissem_roster_refused() - a roster from member @peer was refused with @err after
 * verification: the member is charged as for a refused report (its link may be gone).
 */
void node_dissem_roster_refused(struct node_dissem *d, const uint8_t peer[32], int err);

/*
 * node_dissem_refused() - something from member @peer that no honest member sends (a notice
 * whose signature or addressing is wrong) was refused off the loop: the member is charged as
 * for a refused report, whether or not its link is still up, and its link is closed when
 * that is its offence (policy/abuse.h). Loop thread; not from inside a link callback.
 * node_dissem_member_refused() - whether member @peer is refused for abuse now (what it
 * sends meanwhile is dropped unread).
 */
void node_dissem_refused(struct node_dissem *d, const uint8_t peer[32]);
bool node_dissem_member_refused(struct node_dissem *d, const uint8_t peer[32]);

/*
 * Notices (node/daemon/notices.h) ride on the links but not on dissemination: a NOTICE,
 * NOTICE_ACK or NOTICE_REFUSED from member @peer is handed to these hooks as is (bytes
 * borrowed for the call), and on_link_up tells when a link to @peer came up (send what waits for it).
 * All run on the loop thread; any may be NULL.
 */
struct node_dissem_notice_hooks {
	void (*on_notice)(void *ctx, const uint8_t peer[32], const uint8_t *p, size_t len);
	void (*on_ack)(void *ctx, const uint8_t peer[32], const uint8_t id[16]);
	void (*on_refused)(void *ctx, const uint8_t peer[32], const uint8_t id[16], uint8_t reason);
	void (*on_link_up)(void *ctx, const uint8_t peer[32]);
	void *ctx;
};

/* node_dissem_set_notice_hooks() - use @h (copied; NULL: none) from now on. */
void node_dissem_set_notice_hooks(struct node_dissem *d, const struct node_dissem_notice_hooks *h);

/*
 * node_dissem_send_to() - queue link message @msg (@len bytes, ownership taken) to member
 * @peer. Returns 0, -ENOTCONN when no link to it is up (@msg freed), -ENOMEM.
 */
int node_dissem_send_to(struct node_dissem *d, const uint8_t peer[32], uint8_t *msg, size_t len);

/*
 * node_dissem_demand_clear() / node_dissem_demand() - node_overlay_demand_clear() and
 * node_overlay_demand() on the attached overlay (no-ops for a NULL @d or no overlay): direct
 * traffic of @source waits for member @id, so the overlay dials it.
 */
void node_dissem_demand_clear(struct node_dissem *d, unsigned source);
void node_dissem_demand(struct node_dissem *d, const uint8_t id[32], unsigned source);

/* node_dissem_member_up() - whether a link to member @peer is up (false for a NULL @d). */
bool node_dissem_member_up(struct node_dissem *d, const uint8_t peer[32]);

/*
 * node_dissem_abuse_json() - the members with offences not yet forgiven (policy/abuse.h), for
 * `peers` "abuse": [{"offences", "refused_until" (RFC 3339, the end of the current or last
 * refusal), "refused_for_s" (0 when no longer refused), and only with @attribution "member":
 * {"name" (null when not in the newest roster), "id"}}]. New reference or NULL.
 */
json_t *node_dissem_abuse_json(const struct node_dissem *d, bool attribution);

/*
 * Sealed sightings (node/overlay/sealed.c, docs/SEALED.md).
 *
 * node_dissem_sealed_setup() - use community @c's sealed settings (none: sealed sightings
 * stay off and every seal request fails with NODE_E_SEALED_OFF); with @share_index != 0 this
 * node holds OPRF share @share (copied; checked against @c's verification keys here).
 * Returns 0 or the proto_community_oprf_share_check() error. Call once, before attach.
 */
int node_dissem_sealed_setup(struct node_dissem *d, const struct proto_community *c,
			     uint32_t share_index, const uint8_t share[32]);

/*
 * node_dissem_sealed_rekey() - the OPRF keys in force changed (@set, from
 * proto_community_oprf_keys(): a roster re-shared the key) and this node holds share
 * @share_index of them (@share copied; checked by the caller) or none (0). Applied at once
 * when no sealed job runs, else at the next periodic tick without one. No-op when sealed
 * sightings are off.
 */
void node_dissem_sealed_rekey(struct node_dissem *d, const struct proto_community_sealed *set,
			      uint32_t share_index, const uint8_t share[32]);

/* Answer to a seal request: @response (a new reference, or NULL when out of memory). */
typedef void (*node_dissem_seal_cb)(void *arg, json_t *response);

/*
 * node_dissem_seal() - seal the values of @req (op seal; ownership passes here) and answer
 * through @cb(@arg) once every submission is stored and sent, or with the error: the OPRF
 * evaluated by t share holders, each answer checked by its DLEQ proof (a wrong one is
 * logged and another holder asked), quota refusals reported with what is left. Returns 0
 * (@cb will be called exactly once) or -ENOMEM (@cb is not called; @req is still the
 * caller's).
 */
int node_dissem_seal(struct node_dissem *d, struct node_request *req, node_dissem_seal_cb cb,
		     void *arg);

/*
 * node_dissem_sealed_json() - status "sealed": settings, submissions held, groups opened,
 * quota left at each holder that answered, counters. New reference or NULL.
 */
json_t *node_dissem_sealed_json(struct node_dissem *d);

/*
 * node_dissem_sealed_lane() - the lane of the seal requests' pool jobs (blinding, then
 * verifying, sealing and storing: at most one per CPU in the pool at once,
 * node/common/pool.h), for `status`. Borrowed; lives as long as @d.
 */
struct node_pool_lane;
const struct node_pool_lane *node_dissem_sealed_lane(const struct node_dissem *d);

/* node_dissem_idle() - no admission/commit job is running or pending. */
bool node_dissem_idle(const struct node_dissem *d);

/*
 * node_dissem_stop() - stop accepting input, close the timer, let a running job finish,
 * then free @d and call @done(@arg). The overlay must be stopped first (or at the same
 * time): dissem no longer sends after this. NULL @d calls @done at once.
 */
void node_dissem_stop(struct node_dissem *d, void (*done)(void *arg), void *arg);

/*
 * node_dissem_status_json() - the "gossip" object of `status`: {"published", "received",
 * "duplicates", "forwarded", "catchup_received", "pushes_received" (report payloads that
 * came by PUSH or CATCHUP, duplicates included), "push_sent",
 * "ihave_sent", "graft_sent", "prune_sent", "backlog", "inbound_dropped" (over
 * NODE_DISSEM_PENDING_MAX), "backlog_dropped", "egress_denied", "store_errors",
 * "links_closed_abusive", "abuse_offences" (charges past a member's budget), "abuse_dropped"
 * (reports of members past their budget, dropped unverified),
 * "rejected": {reason: n}, "links": [{"link", "mode", "received", "rejected", "backlog"}],
 * "recon": {"sessions", "completed", "failed", "bytes_sent", "bytes_received",
 * "fetch_sent", "fetch_ids_received", "pushed" (catch-up copies sent), "fetched_ids", "work"
 * (catch-up work peers caused, in store keys: NODE_DISSEM_PUSH_KEYS per report pushed),
 * "asked" (new catch-up copies received that a session or FETCH of ours asked for)}
 * (bytes: RECON messages both ways plus FETCH sent), "direct": {"sent", "received", "acked", "ack_sent"},
 * "stem": {"originated", "received", "forwarded", "fluffed", "embargo_expired",
 * "embargoed"}, "roster": {"sent", "received", "adopted"}}. New reference or NULL.
 */
json_t *node_dissem_status_json(const struct node_dissem *d);

#endif
