/* SPDX-License-Identifier: MIT */
/*
 * node/daemon/ingest.h — the local publish path: validated API items become signed reports that
 * pass admission and are stored durably, and only then is the client answered.
 *
 * Pipeline (all heavy work off the loop thread, on the daemon's workers: node/common/workq.h):
 *
 *   submit (loop)   creation times, TTLs, recipients checked against the newest roster
 *   sign (pool)     per chunk of items, chunks of one request in parallel: build the report
 *                   (newest roster epoch), sign it, and run policy_admit_check() on the
 *                   signed bytes (ARRIVAL_LOCAL) exactly as for a report from a peer.
 *                   Attributed items are Ed25519-signed with this node's identity key.
 *                   Anonymous items ("anonymous": true, CLEAR/GREEN only) carry this node's
 *                   linkability tag on the indicator and a ring signature over the newest
 *                   roster's ring keys: the whole roster (ring indexes omitted), or a random
 *                   PROTO_REPORT_RING_MAX of them including this node when the roster is
 *                   larger; admission verifies the ring signature like a peer's. Refused on
 *                   the loop thread, with "field": "anonymous", when this node is not in
 *                   the newest roster (PROTO_E_REPORT_PROVENANCE), the roster lists another
 *                   ring key for it (PROTO_E_RING_SIGNER), or the ring would be smaller
 *                   than the roster's min_ring_size (PROTO_E_RING_SIZE).
 *   commit (pool)   one store_ingest() transaction for every request whose signing has
 *                   finished (group commit: requests arriving while a commit runs share the
 *                   next one); the response text is built here too
 *   answer (loop)   the response is handed to the done callback; on_commit is called
 *   announce (loop) the new reports go to the report hook in commit order, in slices of at
 *                   most NODE_INGEST_ANNOUNCE_SLICE_US, one slice per loop iteration (the
 *                   first in the commit's completion), so that a large batch does not hold
 *                   the loop for the length of its dissemination
 *
 * Creation times: every report gets the wall clock, but never less than 1 ms after the
 * previous request's (while the lead stays under a second), and within one batch each
 * repeat of an indicator 1 ms after the previous one, so "publish X; revoke X" in quick
 * succession always orders the revoke last (votes are decided by `created`).
 *
 * Responses: single report {"ok":true,"result":"new"|"duplicate",
 * "report_id","indicator_id","type","value","created"} or {"ok":false,"error":{...}};
 * batch {"ok":true,"accepted","duplicates","rejected","results":[per item the same
 * objects without "type"/"value"]}. An admission refusal is NODE_E_POLICY with the policy
 * reason id in "reason". When the store could not commit and nothing of a batch was
 * stored (disk full: ENOSPC; map at its cap: STORE_E_MAP_FULL), the batch response says
 * "ok": false with a top-level "error" as well as the per-item ones. Items are worked on
 * NODE_INGEST_RUNNING_MAX at a time (see there).
 *
 * Thread rules: all functions on the loop thread. @keys and @store must outlive the ingest.
 */
#ifndef CHATHAM_NODE_INGEST_H
#define CHATHAM_NODE_INGEST_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "node/format/request.h"
#include "node/common/snap.h"
#include "policy/admit.h"
#include "proto/keys.h"
#include "store/store.h"

/*
 * Items (reports) signed, admitted and committed at once. Each costs about 3.5 KiB while it
 * is worked on; requests beyond it wait in arrival order as parsed requests (a request
 * larger than the budget runs alone).
 */
#define NODE_INGEST_RUNNING_MAX 20000

struct node_ingest;

/*
 * Done callback: @text is the complete response (a malloc'd NUL-terminated JSON object
 * without newline, including the request's "id"; ownership passes to the callee), or NULL
 * when the response could not be built (out of memory).
 */
typedef void (*node_ingest_done_fn)(void *arg, char *text);

/* Called on the loop thread after every commit that stored at least one new report. */
typedef void (*node_ingest_commit_fn)(void *ctx);

struct node_ingest_stats {
	uint64_t accepted;   /* new reports stored */
	uint64_t duplicates; /* already stored */
	uint64_t rejected;   /* invalid items, admission refusals, store refusals */
	uint64_t commits;    /* store transactions */
	uint64_t refused[POLICY_REASON_COUNT]; /* admission refusals per reason */
	uint64_t pending_items;		       /* submitted, not yet answered */
};

/* node_ingest_new() - NULL when out of memory. */
struct node_ingest *node_ingest_new(uv_loop_t *loop, struct store *store,
				    const struct proto_keys *keys, node_ingest_commit_fn on_commit,
				    void *ctx);

/*
 * node_ingest_submit() - publish the items of @req (a publish-family request; ownership
 * transferred) under @snap (a reference is taken). @now_ms is the wall clock. @done is
 * called exactly once on the loop thread, after the thread pool has run the job (so not
 * from within this call). Returns 0, or -ENOMEM (then @req was freed and @done is not
 * called).
 */
int node_ingest_submit(struct node_ingest *ing, struct node_snap *snap, struct node_request *req,
		       uint64_t now_ms, node_ingest_done_fn done, void *arg);

/*
 * Loop time (microseconds) after which a slice of the report hook's calls stops; the hook
 * call that crosses it is the slice's last. Reports left wait for the next loop iteration.
 */
#define NODE_INGEST_ANNOUNCE_SLICE_US 2000

/*
 * A report a commit stored as new, as the ingest built it: what dissemination needs to
 * place it without reading it back from the store.
 */
struct node_ingest_report {
	uint8_t id[32];
	uint64_t created_ms; /* its signed `created` */
	uint8_t tlp;
	bool anonymous; /* ring-signed (PROTO_PROV_ANONYMOUS), else attributed to this node */
};

/*
 * Called on the loop thread for every report that a commit stored as new (@r borrowed for
 * the call), after the commit (dissemination: gossip or direct delivery): exactly once per
 * report, in commit order, in slices (NODE_INGEST_ANNOUNCE_SLICE_US), the first of them in
 * the commit's completion after the responses are handed over; on_commit may come before
 * the last slice. Reports still waiting when node_ingest_close() is called are not handed
 * over (they are stored; catch-up carries them).
 */
typedef void (*node_ingest_report_fn)(void *ctx, const struct node_ingest_report *r);

/* node_ingest_set_report_hook() - install (or with NULL @fn remove) the per-report hook. */
void node_ingest_set_report_hook(struct node_ingest *ing, node_ingest_report_fn fn, void *ctx);

/*
 * node_ingest_idle() - no request is being signed, committed or waiting, and no committed
 * report waits for the report hook.
 */
bool node_ingest_idle(const struct node_ingest *ing);

/* node_ingest_get_stats() - counters since start. */
void node_ingest_get_stats(const struct node_ingest *ing, struct node_ingest_stats *st);

/* node_ingest_sign_lane() - the lane of signing chunks (node/common/pool.h), for `status`. */
struct node_pool_lane;
const struct node_pool_lane *node_ingest_sign_lane(const struct node_ingest *ing);

/*
 * node_ingest_close() - close the ingest's loop handle (before the loop's last run; the
 * daemon does it with its own handles) and drop reports not yet handed to the report
 * hook. Later commits call the hook at once. NULL-safe, idempotent.
 */
void node_ingest_close(struct node_ingest *ing);

/*
 * node_ingest_free() - free an idle ingest (asserted), after node_ingest_close() once its
 * report hook has been called (the handle's close callback must have run: free after
 * uv_run() has returned). NULL-safe.
 */
void node_ingest_free(struct node_ingest *ing);

#endif
