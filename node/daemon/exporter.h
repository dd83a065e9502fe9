/* SPDX-License-Identifier: MIT */
/*
 * node/daemon/exporter.h — keeps the SIEM export environment (store/export.h) in step with the main
 * feed, and renders the stripped ECS documents it holds.
 *
 * Each main feed entry that is still the indicator's latest and that the egress policy lets
 * out on the SIEM path (POLICY_PATH_SIEM_EXPORT: RED only with [policy] export_red) becomes
 * one JSON document built from policy_strip_view(); superseded and denied entries are
 * skipped (the export feed has gaps, never duplicates). Document shape (ECS 8.11):
 *
 *   {"@timestamp": change time, "ecs": {"version": "8.11.0"},
 *    "event": {"kind": "enrichment", "category": ["threat"],
 *              "type": ["indicator"] (active) | ["deletion"] (retired),
 *              "end": expiry: valid_until while active, the retirement time once retired},
 *    "threat": {"indicator": {
 *        "type": "ipv4-addr" | "ipv6-addr" | "domain-name" | "url" | "email-addr" | "file",
 *        value fields, ACTIVE INDICATORS ONLY (a retired one is not matchable):
 *          "ip" (a CIDR range of at most 256 addresses: the array of its addresses) |
 *          "url": {"domain"} | "url": {"full", "original"} | "email": {"address"} |
 *          "file": {"hash": {"md5"|"sha1"|"sha256"|"sha512"}},
 *        "first_seen", "last_seen", "modified", "confidence": "None"|"Low"|"Medium"|"High",
 *        "marking": {"tlp": "CLEAR"|"GREEN"|"AMBER"|"AMBER+STRICT"|"RED",
 *                    "tlp_version": "2.0"},
 *        "provider": community name, "sightings": n, "description": redacted text},
 *               "feed": {"name": "chatham <community>"}},
 *    "chatham": {"seq", "indicator_id" (the dedup key: one indicator, many documents),
 *        "type", "value", "state": "active"|"withdrawn"|"expired"|"observed",
 *        "confidence": 0-100, "members", "sightings", "false_positives", "reported_by_us",
 *        "valid_until", "tags", "description",
 *        "ip_range": {"gte", "lte"} for CIDR ranges (map as ip_range),
 *        "sealed": {"members", "first_day", "last_day", "confidence"} once the value opened
 *        as a sealed sighting (docs/SEALED.md)}}
 *
 * A sealed sighting that opened with no report behind it is exported as an indicator of
 * its own: TLP GREEN, active, members and sightings = the members that sealed it,
 * first_seen/last_seen from its days, no tags or description; never a member's name.
 *
 * Retired = withdrawn, expired, or observed (only sightings or false positives, never
 * reported as an indicator): "deletion", no value field, event.end set.
 *
 * Nothing in a document names a member other than this node ("reported_by_us").
 *
 * Before each sync renders anything, documents already in the export are brought to the
 * snapshot's rules when those changed (node/daemon/rerender.h).
 *
 * Sync runs in the thread pool, one at a time; a kick while a sync runs makes it run once
 * more afterwards. Thread rules: the node_exporter_* functions run on the loop thread;
 * node_exporter_document(), node_exporter_text(), node_exporter_view(),
 * node_exporter_feed_document() and node_exporter_render*() may run on any thread.
 */
#ifndef CHATHAM_NODE_EXPORTER_H
#define CHATHAM_NODE_EXPORTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "node/common/snap.h"
#include "policy/strip.h"
#include "store/export.h"
#include "store/store.h"

struct node_exporter;
struct store_sealed_opened;

/* node_exporter_add_sealed() - add chatham.sealed for opening @o to @doc. 0 or -1 (ENOMEM). */
int node_exporter_add_sealed(json_t *doc, const struct store_sealed_opened *o);

/* node_exporter_new() - NULL when out of memory. @s and @x must outlive the exporter. */
struct node_exporter *node_exporter_new(uv_loop_t *loop, struct store *s, struct store_export *x);

/*
 * node_exporter_kick() - make the export catch up with the main feed using the policy of
 * @snap (a reference is taken for the sync). Coalesces with a running sync.
 */
void node_exporter_kick(struct node_exporter *e, struct node_snap *snap);

/* node_exporter_idle() - no sync running or pending. */
bool node_exporter_idle(const struct node_exporter *e);

/* node_exporter_last_seq() - main feed sequence the export has consumed (after the last sync). */
uint64_t node_exporter_last_seq(const struct node_exporter *e);

/*
 * node_exporter_retry() - start a sync if the last one failed (disk full, map full) and
 * none runs: the export catches up by itself once the cause is gone, without waiting for
 * the next change. The daemon calls it from its housekeeping timer. Loop thread.
 */
void node_exporter_retry(struct node_exporter *e, struct node_snap *snap);

/* node_exporter_errors() - failed syncs since start (each is logged). */
uint64_t node_exporter_errors(const struct node_exporter *e);

/* Re-rendering after rules changes since start (node/daemon/rerender.h). */
struct node_exporter_rerender {
	uint64_t runs;	     /* syncs that found the rules changed */
	uint64_t corrected;  /* documents corrected in place */
	uint64_t rerendered; /* indicators rendered again under new sequences */
	uint64_t resets;     /* exports rebuilt because export_red changed */
};

/* node_exporter_rerender_stats() - the counts above into @out. Loop thread. */
void node_exporter_rerender_stats(const struct node_exporter *e,
				  struct node_exporter_rerender *out);

/* node_exporter_free() - free an idle exporter (asserted). NULL-safe. */
void node_exporter_free(struct node_exporter *e);

/*
 * node_exporter_document() - the document above for view @v of indicator @ind_id, feed
 * sequence @seq changed at @time_ms. New reference, or NULL when out of memory.
 */
json_t *node_exporter_document(const struct policy_view *v, const uint8_t ind_id[32], uint64_t seq,
			       uint64_t time_ms);

/*
 * node_exporter_text() - @doc as compact JSON, byte for byte what json_dumps() writes with
 * JSON_COMPACT | JSON_ENSURE_ASCII, without a terminating NUL. On 0, *@out (@len bytes) is
 * the caller's to free(). -ENOMEM, or -EINVAL for a value a document never holds (a real
 * number, a string that is not UTF-8). Pure; any thread.
 */
int node_exporter_text(const json_t *doc, char **out, size_t *len);

/*
 * node_exporter_view() - build the stripped view of indicator @ind_id as of read snapshot
 * @rd for egress @path (POLICY_PATH_SIEM_EXPORT or POLICY_PATH_LOCAL_OUTPUT) under @snap.
 * @v is caller storage (heap: it is large); *@sum receives the summary.
 * Returns 1 when a view was built, 0 when the indicator is unknown or the policy denies it,
 * or a negative error.
 */
int node_exporter_view(const struct node_snap *snap, struct store *s, struct store_read *rd,
		       const uint8_t ind_id[32], int path, struct policy_view *v,
		       struct proto_summary *sum);

/*
 * node_exporter_feed_document() - the document of indicator @ind_id for egress @path, as
 * the export, `list` and `query` show it: its stripped view (node_exporter_view()) with
 * "chatham.sealed" when the value was opened as a sealed sighting, or, with no report
 * behind an opened value, the sealed sighting alone (TLP GREEN, its members counted,
 * nobody named). @seq/@time_ms name the feed entry being rendered: *@doc stays NULL when
 * a later entry of the indicator supersedes it; @seq 0 asks for the current state under
 * the indicator's latest entry. *@doc is a new reference, or NULL when there is nothing to
 * show (unknown, or the policy denies it). @v is caller storage as above. Any thread.
 * Returns 0 or a negative error (then *@doc is NULL).
 */
int node_exporter_feed_document(const struct node_snap *snap, struct store *s,
				struct store_read *rd, const uint8_t ind_id[32], uint64_t seq,
				uint64_t time_ms, int path, struct policy_view *v, json_t **doc);

/*
 * Main feed entries an export sync renders and commits at a time (store_export_sync()'s
 * @max_batch): 8 chunks of STORE_EXPORT_CHUNK. bench_store exports in the same batches.
 */
#define NODE_EXPORTER_SYNC_BATCH 1024

struct node_exporter_slot;
struct node_exporter_votes;

/*
 * What node_exporter_render() needs, for one sync: node_exporter_render_init() sets it up,
 * node_exporter_render_deinit() frees it. The fields are node_exporter_render()'s.
 */
struct node_exporter_render_ctx {
	const struct node_snap *snap;	   /* the policy documents are rendered under (borrowed) */
	struct policy_view *view;	   /* one view at a time (owned; heap: it is large) */
	struct node_exporter_slot *slots;  /* a chunk's views between the stages (owned) */
	struct proto_summary *sums;	   /* the chunk's summaries (owned) */
	struct node_exporter_votes *votes; /* the votes of a group of the chunk's entries (owned) */
	struct policy_strip_batch *batch; /* their views between the strip stage's passes (owned) */
	char *text;			  /* the views' texts (owned): grows to a chunk's, kept */
	size_t text_len, text_cap;
	/* the entries of the last successful node_exporter_render_views(), until rendered */
	const struct store_feed_entry *views_e; /* (borrowed: compared, never read) */
	size_t views_n;
};

/* node_exporter_render_init() - set up @rc for syncs under @snap (borrowed). 0 or -ENOMEM. */
int node_exporter_render_init(struct node_exporter_render_ctx *rc, const struct node_snap *snap);

/* node_exporter_render_deinit() - free what @rc owns. Safe on a zeroed or failed init. */
void node_exporter_render_deinit(struct node_exporter_render_ctx *rc);

/*
 * node_exporter_render() - the store_export_render_fn (store/export.h) of every export
 * sync: each of the @n main feed entries @e as its SIEM document (node_exporter_feed_document()
 * on POLICY_PATH_SIEM_EXPORT, written by node_exporter_text()), byte for byte, or @docs[i]
 * NULL when the entry is superseded or policy denies it. In three stages over the chunk
 * (loop fission), so that the code and tables of each stay in the L1 caches across its
 * entries: read every entry's summary and votes (a group of the chunk at a time: at most
 * 63 + 4096 decoded votes are held, ~3 KiB each, where one indicator alone may hold 4096),
 * strip every view (a group's in the passes of policy_strip_batch_*(): the redactor runs
 * alone over them), render every document. Views are kept compact between the stages (only
 * what a document reads, ~250 bytes and the texts). Memory per export sync, for the
 * context: one view (27 KiB), the strip batch (~310 KiB, more while a view too large for
 * it is stripped), the chunk's summaries (STORE_EXPORT_CHUNK = 128 x 2.1 KiB = 268 KiB),
 * its slots (128 x ~330 bytes), and the arena of its texts (~45 KiB for ordinary texts, at
 * most 128 x ~27 KiB = 3.4 MiB for the longest; the sync's documents, up to 1,024 of them,
 * hold more). An error in any stage fails the whole call, as an error of one entry did when
 * entries came one at a time: the sync writes nothing. @ctx is a struct
 * node_exporter_render_ctx set up by node_exporter_render_init(). It is
 * node_exporter_render_views() and then node_exporter_render_docs(). Exposed so that
 * bench_store measures the daemon's own export path. Any thread (one context per thread).
 */
int node_exporter_render(void *ctx, struct store *s, struct store_read *rd,
			 const struct store_feed_entry *e, size_t n, uint8_t **docs, size_t *lens);

/*
 * node_exporter_render_views() - stages 1 and 2 of node_exporter_render() (read, strip) for
 * its @n entries @e (borrowed) in snapshot @rd: the chunk's views into @rc, for
 * node_exporter_render_docs() to render. 0, or a negative error: -EINVAL when @n exceeds
 * STORE_EXPORT_CHUNK, -ENOMEM, a store error (store/store.h) from reading an entry, or
 * policy_strip_view()'s. After an error @rc holds no views node_exporter_render_docs() will
 * take. Exposed so that bench_store can time the stages the redactor runs in as the export
 * runs them. Any thread (one context per thread).
 */
int node_exporter_render_views(struct node_exporter_render_ctx *rc, struct store *s,
			       struct store_read *rd, const struct store_feed_entry *e, size_t n);

/*
 * node_exporter_render_docs() - stage 3 of node_exporter_render(): the documents of the
 * views the last node_exporter_render_views() call on @rc made, into @docs/@lens as
 * node_exporter_render() sets them: @docs[i] a heap text (the caller's to free) for each
 * entry with a document; the entries without one are left untouched, so @docs[0..@n-1] must
 * arrive NULL. Once per node_exporter_render_views() call: -EINVAL unless the last one on
 * @rc succeeded for the same @e (the same array) and @n and no node_exporter_render_docs()
 * call, refused or not, has followed it (the views of a failed or shorter call are another
 * chunk's); -ENOMEM, or node_exporter_text()'s error. On an error the documents already set are the caller's to
 * free. Any thread (one context per thread).
 */
int node_exporter_render_docs(struct node_exporter_render_ctx *rc, const struct store_feed_entry *e,
			      size_t n, uint8_t **docs, size_t *lens);

#endif
