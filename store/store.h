/* SPDX-License-Identifier: MIT */
/*
 * store/store.h — the node's durable state: one LMDB environment in the state directory
 * (DESIGN.md §7). The store keeps reports as the signed bytes it was given and maintains
 * every index in the same write transaction; it never verifies signatures (the caller
 * decodes and admits first) and never decides policy.
 *
 * Named databases (all opened in one startup transaction):
 *   reports     sequence u64 BE || report id (40) -> record: indicator id, local envelope
 *               (received from, when, hops, local flag; never leaves the node), then the
 *               signed bytes exactly as ingested (store/codec.h "report"). The sequence
 *               numbers records in the order this node stored them (1, 2, ...), so new
 *               records are appended; a record is found by id through an in-memory map
 *               from id to sequence that the store rebuilds when it opens (store/hint.h).
 *   indicators  everything about one indicator, clustered under its id:
 *                 indicator id (32)                           -> summary
 *                 indicator id || 0x01 || report id (65)      -> report meta: the
 *                                                                per-indicator report index
 *                 indicator id || 0x02 || prov || voter (66)  -> latest vote of a signer id
 *                                                                (prov 0) or link tag (1)
 *   recon       created ms u64 BE || report id (40) -> empty; CLEAR and GREEN reports only
 *   recon_sums  level u8 || time bucket u64 BE (9) -> sum of the bucket's recon ids mod
 *               2^256 (32, LE) || count u64 BE: per 1,024 ms bucket of created (level 0) and
 *               per 64 buckets of the level below (levels 1-4), kept in the write
 *               transaction of every recon insert (store/recon.c)
 *   expiry      valid_until ms u64 BE || indicator id (40) -> empty; ACTIVE indicators
 *               whose votes all carry a valid_until
 *   feed        sequence u64 BE -> change (indicator id, state after the change, time)
 *   outbox      report id || recipient member id (64) -> next attempt time, attempts
 *   rosters     epoch u64 BE -> signed roster bytes
 *   sealed, sealed_exp, sealed_open, sealed_quota   sealed sightings (store/sealed.h)
 *   meta        "schema" -> u32 BE; "store_id" -> 16 random bytes (names this store);
 *               "n_ind" -> u64 BE number of summaries; "migrate" -> progress of an
 *               unfinished migration from schema 1 (see store_open()); "abuse" || member
 *               id -> a member's abuse record (store/abuse.h)
 * The summary, report index and votes share one B-tree, envelopes live in the report record,
 * and report records are appended under sequence numbers, because durable ingest is bound by
 * the pages each commit writes: every tree keyed by a random id adds about one dirty page per
 * report (docs/PERFORMANCE.md). The indicators database is the only one left keyed by a
 * random id.
 *
 * Vote semantics (proto/summary.h): one vote per (indicator, signer id or linkability tag).
 * `indicator`, `false_positive` and `revoke` reports compete for it; the newest `created`
 * wins, a tie goes to the larger report id (so every node converges on the same vote). A
 * winning `revoke` removes the vote but is kept as a tombstone, so an older report that
 * arrives later cannot bring the vote back. `sighting` reports never vote; each distinct
 * sighting report is counted.
 *
 * Summary rules: tlp is the strictest TLP of any stored report on the indicator;
 * first/last_seen span every report's `created`; confidence is the maximum among live
 * `indicator` votes and valid_until_ms the latest of their valid_until (0 if any of them has
 * none). State: ACTIVE with at least one live `indicator` vote, EXPIRED when all of those
 * have passed valid_until (set at ingest and by store_expire()), WITHDRAWN when none is left
 * but some `indicator` report was stored, OBSERVED otherwise.
 *
 * Feed: each committed write that changes indicators appends ONE feed entry per changed
 * indicator (not one per report): a batch that adds 5 reports on one indicator yields one
 * entry. Sequences start at 1, increase by one and are never reused. The summary records the
 * sequence of its latest entry (feed_seq), so an entry with seq < summary.feed_seq has been
 * superseded.
 *
 * Durability: every write is one LMDB write transaction committed with fsync (no NOSYNC,
 * NOMETASYNC or WRITEMAP). A function that writes returns 0 only after its commit succeeded.
 * The map is address space, not disk (no MDB_WRITEMAP: the file grows as pages are written),
 * so it is reserved generously at open (map_size_initial, 8 GiB by default, at most
 * map_size_max; halved until the system grants it, e.g. under RLIMIT_AS): growing it makes
 * every read of the process wait for the transactions open at the time (store/mdb.h), the
 * event loop's included. It grows by doubling up to
 * map_size_max when full; at the cap the write fails with STORE_E_MAP_FULL, whose text
 * names the setting to raise.
 *
 * Threads: a struct store may be shared by threads (the environment is opened MDB_NOTLS).
 * Reads may run concurrently with each other and with one writer; writers serialise. A
 * struct store_read belongs to one thread at a time, and a thread holding one must not call
 * a write function (a map resize would wait for it forever) nor a read function with a NULL
 * @rd (it could deadlock against a waiting resize). Callbacks run inside the read
 * transaction: they may call read functions with the @rd they were given, nothing else.
 *
 * Errors: every function returns 0 (or a documented count) on success, else a negative
 * errno (-EINVAL for bad arguments, -ENOMEM) or a STORE_E_* code from proto/error.h:
 * STORE_E_NOT_FOUND, STORE_E_CORRUPT (a stored value failed its strict decoder),
 * STORE_E_MAP_FULL, STORE_E_READERS, STORE_E_TXN_FULL, STORE_E_LMDB, STORE_E_BUSY.
 *
 * Ownership: all pointer parameters are borrowed for the duration of the call unless a
 * comment says the result is malloc'd (then the caller free()s it). Pointers handed to
 * callbacks point into the LMDB map and are valid only during the callback.
 */
#ifndef CHATHAM_STORE_STORE_H
#define CHATHAM_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/report.h"
#include "proto/summary.h"

/* 1: reports keyed by report id; 2: by sequence || report id; 3: recon_sums added. */
#define STORE_SCHEMA_VERSION 3
#define STORE_RECON_KEY_LEN 40 /* created ms u64 BE || report id */

struct store;
struct store_read;

struct store_config {
	const char *dir;	   /* state directory; created 0700 if missing (one level) */
	uint64_t map_size_initial; /* bytes; 0 = 8 GiB; an existing larger file wins */
	uint64_t map_size_max;	   /* bytes; 0 = 64 GiB; growth stops here (STORE_E_MAP_FULL) */
	unsigned max_readers;	   /* LMDB reader slots; 0 = 126 */
	size_t migrate_batch;	   /* records per schema-migration transaction; 0 = 10,000 */
	/*
	 * Called while store_open() rewrites what an older schema lacks (store_open()), every
	 * STORE_OPEN_PROGRESS_EVERY items and once at the end of each step: @step says which
	 * ("moving reports to schema 2", "building the range sums of schema 3"), @done of
	 * @total items (@done starts again when a transaction is retried after the map grew).
	 * On the opening thread, inside the open's write transaction: it must not call the
	 * store. NULL: none. A daemon tells its service manager that the start takes
	 * longer and logs progress; a 1 M-report store takes seconds (docs/PERFORMANCE.md).
	 */
	void (*progress)(void *arg, const char *step, uint64_t done, uint64_t total);
	void *progress_arg;
	/*
	 * Open an existing store without writing to it (MDB_RDONLY, no store.lock: LMDB's
	 * reader table keeps it consistent beside a writer): nothing is created, migrated or
	 * built, and store_upgrade_due() says what a read-write open would change. Only reads
	 * work (writes fail with -EROFS); on a store due an upgrade only the rosters and meta
	 * are read as this release writes them. No store there: STORE_E_NOT_FOUND.
	 */
	bool read_only;
};

#define STORE_OPEN_PROGRESS_EVERY 65536

/* What a read-write store_open() would write to a store found older (store_upgrade_due()). */
#define STORE_UPGRADE_CREATE 0x1u  /* databases, the schema or the store id to create */
#define STORE_UPGRADE_MIGRATE 0x2u /* schema-1 records to move to schema 2 */
#define STORE_UPGRADE_SUMS 0x4u	   /* recon_sums to build (schema 3) */

/*
 * store_open() - open (creating if needed) the store in cfg->dir and take an exclusive
 * advisory lock on <dir>/store.lock so that one process owns it.
 * On success *@out owns the store; release with store_close().
 * A store of schema 1 is migrated in place first, in transactions of cfg->migrate_batch
 * records: the first sets the schema to 2 (an older chatham then refuses the store), each
 * records its progress in meta, so a crash at any point resumes on the next open. A store
 * of schema 2 (or one just migrated to it) then gets its recon_sums built from recon in one
 * transaction that also sets schema 3 (a crash leaves schema 2: built again); both steps
 * report their progress through cfg->progress. Then the
 * id map is built from the record keys (about 0.1 s per million reports); it takes 8 bytes
 * per slot at most 3/4 full (16 MiB at 1 M reports).
 * With cfg->read_only none of that: an existing store is opened as the struct says (no
 * store.lock, no directory, nothing written to data.mdb; LMDB still opens, and if missing
 * creates, lock.mdb for its reader table).
 * Errors: STORE_E_BUSY (another process holds the lock), STORE_E_SCHEMA_NEWER (written by a
 * newer chatham; the message says so), STORE_E_CORRUPT, STORE_E_NOT_FOUND (read_only, no
 * store there), -errno.
 */
int store_open(struct store **out, const struct store_config *cfg);

/*
 * store_upgrade_due() - for a store opened with cfg->read_only, the STORE_UPGRADE_* steps a
 * read-write open would take (0: none), and in *@schema (optional) the schema found (0: none
 * recorded). A store opened read-write has taken them: 0, and *@schema is
 * STORE_SCHEMA_VERSION.
 */
unsigned store_upgrade_due(const struct store *s, uint32_t *schema);

/*
 * store_map_bytes() - a map size wished for in @bytes (a default or a setting, given in 64
 * bits: "8 GiB" computed in a 32-bit size_t wraps to 0, which LMDB takes as its 1 MiB
 * default) rounded up to whole 4 KiB pages, but at most @limit (<= SIZE_MAX) rounded down to
 * whole pages. The stores call it with SIZE_MAX: with a 32-bit size_t every map is then at
 * most 4 GiB - 4 KiB, and the open halves what the address space cannot reserve. Pure.
 */
size_t store_map_bytes(uint64_t bytes, uint64_t limit);

/* store_close() - close the store. NULL-safe. No store_read may be open. */
void store_close(struct store *s);

/* ------------------------------------------------------------------ ingest */

/* Per-item results of store_ingest() (errors are negative codes). */
enum store_result {
	STORE_NEW = 1, /* stored; indexes and summary updated */
	STORE_DUP = 2, /* report id already stored (or earlier in the batch): nothing changed */
};

/* What this node knows about a report beyond its bytes. Never exported. */
struct store_envelope {
	uint8_t received_from[32]; /* opaque link/member id; all zero for local */
	uint64_t received_ms;
	uint16_t hops;
	bool local; /* published by this node */
};

struct store_item {
	/* In (borrowed for the call). */
	const uint8_t *bytes; /* signed encoding, 1..PROTO_REPORT_MAX_BYTES */
	size_t len;
	uint8_t report_id[32];	      /* BLAKE2b-256 of @bytes, computed by the caller */
	const struct proto_report *r; /* decoded view of @bytes (pointers may borrow @bytes) */
	struct store_envelope env;
	/*
	 * Optional: member ids (n_outbox * 32 bytes) to queue for direct delivery in the same
	 * transaction (a local AMBER/RED publish). Only allowed when r->tlp >= AMBER.
	 */
	const uint8_t *outbox_to;
	size_t n_outbox;
	/*
	 * Optional (attributed reports only; NULL: the signer): the member id whose vote this
	 * report is, when its signer is a retired id with a successor (proto_roster_successor()),
	 * so a member that replaced its keys keeps one vote per indicator.
	 */
	const uint8_t *voter;
	/* Out, valid once store_ingest() returned 0. */
	int result;	    /* STORE_NEW, STORE_DUP, or a negative code: why it was rejected */
	uint8_t ind_id[32]; /* indicator id of r (set for NEW and DUP) */
};

/*
 * store_ingest() - store @n reports in ONE durable write transaction.
 * @items: borrowed; each item's result and ind_id are written.
 * @now_ms: the node's clock, used for expiry state and feed entry times.
 *
 * A report whose fields break the store's invariants is rejected per item without failing
 * the batch: -EINVAL (NULL bytes/view, outbox on CLEAR/GREEN), PROTO_E_TOO_LARGE (len),
 * PROTO_E_REPORT_KIND, PROTO_E_REPORT_TLP, PROTO_E_REPORT_CONFIDENCE, PROTO_E_IND_TYPE,
 * PROTO_E_IND_VALUE (empty, too long or containing NUL), PROTO_E_REPORT_PROVENANCE,
 * PROTO_E_REPORT_TIME (valid_until before created). Duplicates (also within the batch) are
 * STORE_DUP and change nothing. New reports update every index; recon only gets CLEAR and
 * GREEN reports. Then one feed entry is appended per indicator that changed.
 *
 * Returns 0 once the transaction committed: only then are the results valid and may new
 * reports be acknowledged to their publisher or peer. On a negative return nothing was
 * stored and no result may be used. @n == 0 is a no-op returning 0.
 */
int store_ingest(struct store *s, struct store_item *items, size_t n, uint64_t now_ms);

struct store_outbox_entry;

/* One write transaction's worth of work: new reports and outbox changes (store_apply()). */
struct store_batch {
	struct store_item *items; /* as store_ingest(); results written */
	size_t n_items;
	const struct store_outbox_entry *puts; /* insert or replace (store_outbox_put()) */
	size_t n_puts;
	/* Entries to drop (only report_id and recipient are read); absent ones are skipped. */
	const struct store_outbox_entry *dels;
	size_t n_dels;
	size_t n_deleted; /* out: how many of @dels were present and are now gone */
};

/* A retired member id and the id that speaks for it now (proto_roster_successor()). */
struct store_voter_pair {
	uint8_t from[32];
	uint8_t to[32];
};

/*
 * store_voters_move() - make every attributed vote of each @pairs[i].from (borrowed) a vote
 * of @pairs[i].to, in durable write transactions of bounded size (at most 65,536 keys looked
 * at or 1,024 entries changed each, so other writers wait at most one of them and none can
 * fill a transaction), in passes over the indicators database until one moves nothing:
 * where both voted on an indicator
 * the vote rule keeps one (newest created, ties to the larger report id; a revoke tombstone
 * counts), the old id's vote is deleted, the index entries of its reports name the new id,
 * and the indicator's summary is recomputed with a feed entry (@now_ms: the feed time and
 * expiry state). Records @epoch as the roster epoch whose successors are applied
 * (store_voters_epoch()) after the last pass. Scans the whole indicators database at least
 * twice: run it in a worker, at a roster change. *@n_moved (may be NULL) = votes moved.
 * Idempotent: interrupted (an error, a crash), it is run again from the start, and what the
 * committed steps moved is not found again. Returns 0, -EINVAL, -ENOMEM, STORE_E_CORRUPT, or
 * an LMDB error.
 */
int store_voters_move(struct store *s, const struct store_voter_pair *pairs, size_t n_pairs,
		      uint64_t epoch, uint64_t now_ms, size_t *n_moved);

/* store_voters_epoch() - the @epoch of the last store_voters_move() (0: never). */
int store_voters_epoch(struct store *s, uint64_t *epoch);

/* A withdrawal of departed members' reports, run in steps (store_voters_withdraw_step()). */
struct store_withdraw {
	/* In: the departed member ids (borrowed, ascending, distinct) and the roster epoch. */
	const uint8_t (*ids)[32];
	size_t n_ids;
	uint64_t epoch;
	uint64_t now_ms;    /* feed time and expiry state of recomputed summaries */
	size_t max_keys;    /* keys of the indicators database looked at per step (0: 65,536) */
	size_t max_changes; /* indicators changed per step (0: 1,024) */
	/* Progress: zero before the first step, then kept by the steps. */
	uint8_t resume[66];
	size_t resume_len;
	bool done;
	/* Out, over all steps: votes deleted, index entries flagged, summaries recomputed. */
	size_t votes, reports, indicators, transactions;
};

/*
 * store_voters_withdraw_step() - one durable write transaction of the withdrawal of @w->ids:
 * the ids join the store's withdrawn set (meta "withdrawn"; from that commit on store_ingest()
 * stores an attributed report whose voter is in it without a vote), then the indicators
 * database is scanned from where the previous step stopped, up to max_keys keys or
 * max_changes changed indicators (ending at an indicator boundary). Each attributed vote of
 * a withdrawn id is deleted and each of its index entries flagged withdrawn; each changed
 * indicator's summary is recomputed with a feed entry (with no votes left it is WITHDRAWN).
 * The reports themselves stay stored and counted (n_reports), so dedup and catch-up are
 * unchanged. Anonymous votes are never touched. After the last step @w->epoch is recorded
 * (store_voters_withdraw_epoch()). Bounded work per transaction, so it cannot fill a
 * transaction (STORE_E_TXN_FULL) and other writers wait at most one step; run the steps in
 * a worker. Idempotent: an interrupted withdrawal is simply run again from the start.
 * Returns 1 (call again), 0 (done), or -EINVAL (ids not ascending, or @w done), -ENOMEM,
 * STORE_E_CORRUPT, an LMDB error (that step wrote nothing; @w is unchanged).
 */
int store_voters_withdraw_step(struct store *s, struct store_withdraw *w);

/* store_voters_withdraw_epoch() - the epoch of the last completed withdrawal (0: never). */
int store_voters_withdraw_epoch(struct store *s, uint64_t *epoch);

/*
 * store_apply() - store_ingest() of b->items, then b->puts, then b->dels, in ONE durable
 * write transaction (one commit for a whole admission job, e.g. the reports that arrived on
 * the links plus the ACKs that came with them). Item validation and results are exactly as
 * store_ingest(); a delete of an entry that is not there is not an error. Returns 0 once
 * committed; on a negative return nothing was written and no result may be used. A batch
 * with nothing in it is a no-op returning 0.
 */
int store_apply(struct store *s, struct store_batch *b, uint64_t now_ms);

/*
 * store_expire() - expiry sweep: every ACTIVE indicator whose latest valid_until is <=
 * @now_ms becomes EXPIRED, with a feed entry (state EXPIRED). At most @max indicators per
 * call (0 = no limit), in one transaction. *@n_expired (optional) gets the count.
 */
int store_expire(struct store *s, uint64_t now_ms, size_t max, size_t *n_expired);

/*
 * store_feed_touch() - append a feed entry (the indicator's current state, time @now_ms) for
 * each of the @n indicators @ind_ids that has a summary, and make it the summary's feed_seq,
 * in ONE durable transaction; nothing about the indicators changes. For derived data whose
 * rendering rules changed (the SIEM export after a roster change): readers of the feed
 * "after N" see the indicator again under a new sequence. Unknown ids are skipped; an id
 * listed twice gets one entry. *@n_touched (optional) gets the number of entries appended.
 */
int store_feed_touch(struct store *s, const uint8_t (*ind_ids)[32], size_t n, uint64_t now_ms,
		     size_t *n_touched);

/* ------------------------------------------------------------------ reads */

/*
 * store_read_begin() - open a read snapshot for several reads (and for callbacks). Every
 * read function takes an optional @rd: NULL runs the read in its own short snapshot. End
 * with store_read_end() (NULL-safe) from the same thread; keep it short, a long snapshot
 * pins pages and makes the file grow.
 */
int store_read_begin(struct store *s, struct store_read **rd);
void store_read_end(struct store_read *rd);

/* store_report_get() - copy of the signed bytes of report @id into a malloc'd *@out. */
int store_report_get(struct store *s, struct store_read *rd, const uint8_t id[32], uint8_t **out,
		     size_t *len);

/* store_report_has() - @present[i] = whether report @ids[i] is stored, for @n ids. */
int store_report_has(struct store *s, struct store_read *rd, const uint8_t (*ids)[32], size_t n,
		     bool *present);

/* store_envelope_get() - the local envelope of report @id. */
int store_envelope_get(struct store *s, struct store_read *rd, const uint8_t id[32],
		       struct store_envelope *env);

/* store_summary_get() - the summary of indicator @ind_id into caller storage @out. */
int store_summary_get(struct store *s, struct store_read *rd, const uint8_t ind_id[32],
		      struct proto_summary *out);

/* One stored report of an indicator, as its index knows it. */
struct store_report_info {
	uint8_t report_id[32];
	uint8_t kind, tlp, confidence;
	uint64_t created_ms, valid_until_ms;
	bool withdrawn; /* its signer departed and it no longer counts (store_voters_withdraw_step) */
};

/*
 * Report callback: @bytes/@len is the signed report (valid during the call). Return 0 to
 * continue, anything else to stop the iteration (the iterator then returns that value).
 */
typedef int (*store_report_cb)(void *ctx, const struct store_report_info *info,
			       const uint8_t *bytes, size_t len);

/*
 * store_votes_iter() - call @cb for each live vote of indicator @ind_id (the winning
 * `indicator` or `false_positive` report of each member or tag; revoked votes are skipped),
 * in an unspecified but stable order. Returns 0, @cb's non-zero value, or an error.
 */
int store_votes_iter(struct store *s, struct store_read *rd, const uint8_t ind_id[32],
		     store_report_cb cb, void *ctx);

/* store_reports_iter() - like store_votes_iter() for every stored report of the indicator. */
int store_reports_iter(struct store *s, struct store_read *rd, const uint8_t ind_id[32],
		       store_report_cb cb, void *ctx);

/* ------------------------------------------------------------------ feed */

struct store_feed_entry {
	uint64_t seq;
	uint8_t ind_id[32];
	uint8_t state;	  /* enum proto_summary_state right after the change */
	uint64_t time_ms; /* now_ms of the write that made it */
};

typedef int (*store_feed_cb)(void *ctx, const struct store_feed_entry *e);

/*
 * store_feed_iter() - call @cb for feed entries with seq > @since in ascending order, at most
 * @limit of them (0 = no limit). Returns the number of entries visited, or @cb's non-zero
 * value (if negative) or an error. A positive non-zero @cb value stops the walk and is
 * returned as-is.
 */
int store_feed_iter(struct store *s, struct store_read *rd, uint64_t since, size_t limit,
		    store_feed_cb cb, void *ctx);

/* store_feed_last() - the highest feed sequence, 0 when the feed is empty. */
int store_feed_last(struct store *s, struct store_read *rd, uint64_t *seq);

/* store_id() - the 16 random bytes created with this store (names it to derived data). */
void store_id(const struct store *s, uint8_t id[16]);

/* ------------------------------------------------------------------ reconciliation */

/* store_recon_key() - build the 40-byte reconciliation key of (created_ms, report id). */
void store_recon_key(uint8_t key[STORE_RECON_KEY_LEN], uint64_t created_ms, const uint8_t id[32]);

/*
 * store_recon_fingerprint() - fingerprint and count of the reconciliation items in the
 * half-open range [@lo, @hi) (keys of STORE_RECON_KEY_LEN bytes; NULL @lo = from the first
 * item, NULL @hi = to the end). @fp = sum of the items' report ids, each read as a 256-bit
 * little-endian integer, mod 2^256 (all zero for an empty range). Additive, so ranges can
 * be combined and the sum maintained incrementally; the wire protocol should hash it
 * together with @count before sending. Cost: the items of the two 1,024 ms buckets of
 * created that hold @lo and @hi, plus at most 126 stored bucket sums per level (recon_sums),
 * not the items between them.
 */
int store_recon_fingerprint(struct store *s, struct store_read *rd, const uint8_t *lo,
			    const uint8_t *hi, uint8_t fp[32], uint64_t *count);

/*
 * store_recon_list() - the first @cap keys in [@lo, @hi) into @keys (caller storage of @cap
 * keys), ascending; *@n = how many were written.
 */
int store_recon_list(struct store *s, struct store_read *rd, const uint8_t *lo, const uint8_t *hi,
		     uint8_t (*keys)[STORE_RECON_KEY_LEN], size_t cap, size_t *n);

/*
 * store_recon_at() - the keys of rank @rank - 1 and @rank (0-based, in ascending order) among
 * the items of [@lo, @hi) into @keys[0] and @keys[1] (caller storage of 2 keys): where an
 * equal-count split of the range puts a bound. Cost as store_recon_fingerprint()'s plus the
 * items of one 1,024 ms bucket, not the items before @rank. Errors: -EINVAL (@rank 0),
 * STORE_E_NOT_FOUND (the range holds @rank items or fewer).
 */
int store_recon_at(struct store *s, struct store_read *rd, const uint8_t *lo, const uint8_t *hi,
		   uint64_t rank, uint8_t (*keys)[STORE_RECON_KEY_LEN]);

/* ------------------------------------------------------------------ outbox */

struct store_outbox_entry {
	uint8_t report_id[32];
	uint8_t recipient[32]; /* member id */
	uint64_t next_attempt_ms;
	uint32_t attempts;
};

/* store_outbox_put() - insert or replace @n entries (e.g. reschedule) in one transaction. */
int store_outbox_put(struct store *s, const struct store_outbox_entry *e, size_t n);

/* store_outbox_del() - drop an entry once acknowledged. STORE_E_NOT_FOUND if absent. */
int store_outbox_del(struct store *s, const uint8_t report_id[32], const uint8_t recipient[32]);

/*
 * store_outbox_due() - up to @cap entries with next_attempt_ms <= @now_ms into @out;
 * *@n = count. Scans the whole outbox (it holds only undelivered AMBER/RED copies).
 */
int store_outbox_due(struct store *s, struct store_read *rd, uint64_t now_ms,
		     struct store_outbox_entry *out, size_t cap, size_t *n);

/*
 * What becomes of the outbox entries for @recipient (a member id) at a roster change: kept,
 * dropped (a member that left), or moved to the member id written to @to (a member that
 * replaced its keys: its successor). Called inside a write transaction: no store calls.
 */
enum store_outbox_fate { STORE_OUTBOX_KEEP, STORE_OUTBOX_DROP, STORE_OUTBOX_MOVE };
typedef enum store_outbox_fate (*store_outbox_fate_fn)(void *ctx, const uint8_t recipient[32],
						       uint8_t to[32]);

/*
 * store_outbox_sweep() - in one transaction, decide every outbox entry with @fate: DROP
 * deletes it, MOVE re-addresses it (the entry for the same report and @to, due at once with
 * no attempts; one already there is kept as it is). *@n_dropped and *@n_moved (optional) get
 * the counts. Returns 0, -EINVAL (no @fate), -ENOMEM, or a store error (nothing changed).
 */
int store_outbox_sweep(struct store *s, store_outbox_fate_fn fate, void *ctx, size_t *n_dropped,
		       size_t *n_moved);

/* ------------------------------------------------------------------ rosters */

/*
 * store_roster_put() - keep the signed roster of @epoch. Storing the same bytes again is a
 * no-op; different bytes for a stored epoch are refused with -EEXIST.
 */
int store_roster_put(struct store *s, uint64_t epoch, const uint8_t *bytes, size_t len);

/* store_roster_get() - malloc'd copy of the roster of @epoch. STORE_E_NOT_FOUND if absent. */
int store_roster_get(struct store *s, struct store_read *rd, uint64_t epoch, uint8_t **out,
		     size_t *len);

/* store_roster_latest() - the highest stored epoch; STORE_E_NOT_FOUND if none. */
int store_roster_latest(struct store *s, struct store_read *rd, uint64_t *epoch);

/* ------------------------------------------------------------------ operations */

struct store_stat {
	size_t map_size;  /* current map size, bytes */
	size_t map_used;  /* bytes of the map in use (last page number * page size) */
	uint64_t n_grow;  /* map growths since open */
	uint64_t reports; /* entries in reports */
	uint64_t indicators;
	uint64_t recon;
	uint64_t outbox;
	uint64_t feed_last;
};

int store_stat(struct store *s, struct store_stat *st);

#endif
