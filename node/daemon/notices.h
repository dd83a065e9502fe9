/* SPDX-License-Identifier: MIT */
/*
 * node/daemon/notices.h — notices between member teams, carried end to end: the API ops
 * (notify, notices, notice_reply; node/format/request.h), the notice environment
 * (store/notice.h) and direct delivery over the links (proto/link.h NOTICE, NOTICE_ACK).
 *
 *   notify        the recipient is resolved on the loop from the newest roster (a member,
 *                 or the owner of a value by constituency, never this node); the notice is
 *                 signed with this node's identity key and stored with an outbox entry for
 *                 its next hop (the recipient, or the coordinator given as "via", then with
 *                 the recipient as deliver_to) in one commit, and only then answered.
 *   delivery      the outbox is scanned every second (every retry_min_ms when shorter),
 *                 after every commit that queued something, and for one member when a link
 *                 to it comes up (then its entries go at once, whatever their schedule:
 *                 copies sent on an older link may be lost). Each entry whose next hop has
 *                 a link up is sent as NOTICE and rescheduled (struct node_notices_config
 *                 retry_min_ms doubling to retry_max_ms) until a NOTICE_ACK deletes it.
 *                 Never gossiped: only the next hop receives it.
 *   receiving     a NOTICE is decoded and verified and accepted only when it is for this
 *                 community, signed by the member whose link delivered it, addressed to
 *                 this node, its form valid (node/format/form.h), and, for a status, it
 *                 answers a notice this node sent to that member or carries a reply handle
 *                 this node made, and its signer's quota has room for it (below); it is
 *                 then stored and, after the commit, acknowledged (again for a copy already
 *                 held). Refused ones are logged and counted, never acknowledged; one that
 *                 would be refused again whatever happens (proto/notice.h enum
 *                 proto_notice_refusal) is answered with NOTICE_REFUSED (the notice id and
 *                 a reason code, no text), after which its sender stops: the outbox entry
 *                 is replaced, in one commit, by a record of the refusal (store/notice.h),
 *                 shown by `notices`. A refusal that may pass later (a sender not yet in
 *                 our roster, a full quota) is not answered: the sender goes on retrying.
 *   quota         messages are kept for good, so what each member may make this node store
 *                 is bounded: the signed bytes of the notices and statuses it signed that
 *                 are stored here, per signing key, as the notice store keeps it (its
 *                 signers total, written with the messages: nothing is counted at
 *                 start). A notice over member_quota (NODE_E_QUOTA) is refused as above
 *                 and not answered (counted in quota_refused, one warning per member and
 *                 job); a copy already held is still acknowledged.
 *   coordinating  a notice with deliver_to is forwarded as a NEW notice signed by this node,
 *                 carrying the form and TLP and a reply handle sealing the notifier's id
 *                 and notice id (proto/notice.h), so the recipient never learns the
 *                 notifier. A status carrying such a handle is passed back to the notifier
 *                 as a new status of this node in the notifier's thread. Both copies are
 *                 stored with the received one in the same commit as its acknowledgement.
 *   replying      notice_reply answers a received notice with a status to the member that
 *                 sent it (echoing its reply handle, if any), in its thread.
 *   local         node_notices_watch() (after every commit to the main store) looks at the
 *                 main feed after the notice store's watch_seq: an indicator whose value
 *                 lies in this node's own constituency (newest roster) and on which another
 *                 member shared a CLEAR/GREEN report gets a local notice, one per indicator,
 *                 updated in place as it changes: the summary's aggregates only (value,
 *                 type, state, TLP, confidence, counts of members, sightings, false
 *                 positives and reports, first/last seen, valid until), never a reporter.
 *                 It never leaves the node. watch_seq is committed with the notices, so a
 *                 restart neither loses nor repeats one.
 *
 * Work on the store runs in ONE job at a time in the thread pool (signing, verifying,
 * storing, listing); operations arriving meanwhile wait for the next job, at most
 * NODE_NOTICES_PENDING_MAX of them (received NOTICEs beyond it are dropped, not
 * acknowledged: the sender retries; API requests beyond it get NODE_E_OVERLOAD). So that
 * one member cannot fill that queue for the others, its links may queue a NOTICE_ACK or
 * NOTICE_REFUSED only for a NOTICE sent to it and not yet answered, at most
 * NODE_NOTICES_PEER_PENDING_MAX of them (the rest are ignored and counted), and at most
 * NODE_NOTICES_PEER_PENDING_MAX of its NOTICEs per job (the rest dropped unacknowledged,
 * and counted: an honest sender retries).
 *
 * Thread rules: every function on the loop thread. @st, @keys and the snapshot slot must
 * outlive the object.
 */
#ifndef CHATHAM_NODE_NOTICES_H
#define CHATHAM_NODE_NOTICES_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "node/common/snap.h"
#include "node/format/request.h"
#include "node/overlay/dissem.h"
#include "proto/keys.h"
#include "store/export.h"
#include "store/notice.h"
#include "store/store.h"

#define NODE_NOTICES_PENDING_MAX 1024
#define NODE_NOTICES_SCAN_MAX 256	 /* outbox entries sent per scan */
#define NODE_NOTICES_PEER_PENDING_MAX 64 /* one member's NOTICEs waiting for a job */

struct node_notices;

/* What [notices] in chatham.conf(5) sets (node/format/config.h). */
struct node_notices_config {
	uint64_t retry_min_ms; /* first retry delay of an unacknowledged notice, >= 1 */
	uint64_t retry_max_ms; /* its upper bound (raised to retry_min_ms when lower) */
	uint64_t member_quota; /* bytes of signed messages stored per signing member */
};

/* The defaults of chatham.conf(5), which node_notices_new() starts with. */
#define NODE_NOTICES_CONFIG_DEFAULT                                                             \
	{                                                                                       \
		.retry_min_ms = 2000, .retry_max_ms = 60000, .member_quota = (uint64_t)64 << 20 \
	}

/*
 * node_notices_new() - the notice engine over @st and the main store @main (both borrowed;
 * @main only read, for local notices), signing with @keys (borrowed)
 * for community @community (copied). *@snapp is the daemon's current snapshot (read when a
 * job is queued; a reference is held while it runs). Starts its scan timer on @loop.
 * Returns NULL when out of memory.
 */
struct node_notices *node_notices_new(uv_loop_t *loop, struct store_notices *st, struct store *main,
				      const struct proto_keys *keys, const uint8_t community[32],
				      struct node_snap *const *snapp);

/* node_notices_watch() - the main store committed something: look for local notices. NULL-safe. */
void node_notices_watch(struct node_notices *n);

/*
 * node_notices_set_export() - write the notices addressed to this node (not those it only
 * forwards as a coordinator) into @x's notices feed
 * (store/export.h; borrowed, must outlive @n; NULL: none): every notice a job stores, and
 * all of them again when the snapshot (roster, [policy]) or the export's env id (a reset)
 * changed, checked every second, rendered as node/format/notice_fmt.h's documents:
 * {"id", "created", "created_ms", "tlp", "form"} with the form's free text redacted like descriptions,
 * RED only with [policy] export_red. NULL-safe.
 */
void node_notices_set_export(struct node_notices *n, struct store_export *x);

/*
 * node_notices_set_config() - use @cfg (copied) from now on: entries already scheduled keep
 * their next attempt; the next job checks the new quota. NULL-safe.
 */
void node_notices_set_config(struct node_notices *n, const struct node_notices_config *cfg);

/* node_notices_set_dissem() - send through @d from now on (NULL: the links are gone). NULL-safe. */
void node_notices_set_dissem(struct node_notices *n, struct node_dissem *d);

/*
 * node_notices_roster() - roster @r (borrowed; the daemon keeps every adopted roster until
 * exit) was adopted. The next job, after its own commit, goes over the outbox in a second
 * commit: entries whose next hop left @r are dropped (the notices stay), entries whose next
 * hop replaced its keys are re-signed for its successor (same notice id and thread, new
 * `to`) and addressed to it. Jobs run one at a time, so this also catches an entry that a
 * job built on the previous roster committed after the change. NULL-safe.
 */
void node_notices_roster(struct node_notices *n, const struct proto_roster *r);

/* node_notices_hooks() - fill @h with the hooks to pass to node_dissem_set_notice_hooks(). */
void node_notices_hooks(struct node_notices *n, struct node_dissem_notice_hooks *h);

/*
 * node_notices_submit() - run API request @req (ownership taken; op notify, notices or
 * notice_reply) and call @done(@arg, text) once with the response line (malloc'd, NULL when
 * out of memory; ownership passes). @done may run before this returns (a refusal found on
 * the loop thread).
 */
void node_notices_submit(struct node_notices *n, struct node_request *req,
			 void (*done)(void *arg, char *text), void *arg);

/*
 * node_notices_status_json() - {"raised" (local notices raised or updated), "stored",
 * "outbox", "received", "refused", "duplicates", "sent", "acked", "ack_sent", "forwarded",
 * "dropped", "departed_dropped" (outbox entries of members that left), "readdressed"
 * (notices re-signed for a successor), "refusals_sent" (NOTICE_REFUSED answers),
 * "refused_by_peer" (notices of ours a next hop refused for good), "exported" (notices feed
 * documents written), "ack_ignored" (NOTICE_ACK/NOTICE_REFUSED for no notice of ours awaiting
 * that member's answer), "share_dropped" (NOTICEs past a member's share of the pending
 * jobs), "quota_refused" (notices refused because their signer's quota was full), "idle"
 * (node_notices_idle())}. New reference or NULL.
 */
json_t *node_notices_status_json(struct node_notices *n);

/* node_notices_idle() - no job runs and no operation waits. */
bool node_notices_idle(const struct node_notices *n);

/* node_notices_close() - stop: close the timer; later work is dropped. NULL-safe. */
void node_notices_close(struct node_notices *n);

/* node_notices_free() - free once closed, its timer's close callback run and idle. NULL-safe. */
void node_notices_free(struct node_notices *n);

#endif
