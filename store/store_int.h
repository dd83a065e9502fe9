/* SPDX-License-Identifier: MIT */
/*
 * store/store_int.h — the main store's own state and key layout, shared by the files that
 * implement store/store.h (and store/store_test.h) and by nothing else:
 *
 *   store.c        open/close, schema migration, the id hint, read plumbing, store_stat()
 *   indicator.c    per-indicator summaries and votes, feed appends, the indicator count
 *   ingest.c       store_apply()/store_ingest() (one write transaction per batch), expiry
 *   query.c        report, envelope and summary reads, vote/report iteration, the feed
 *   recon.c        the reconciliation index: keys, per-bucket sums, range fingerprints,
 *                  range listing
 *   outbox.c       the persistent outbox of AMBER/RED copies
 *   roster.c       signed rosters by epoch
 *   sealed.c       store/sealed.h: sealed submissions, opened groups, OPRF quotas
 *   touch.c        store_feed_touch(): new feed entries for indicators rendered again
 *   store_test.c   store_test.h: store_verify() and the debug and benchmark hooks
 *
 * Internal functions shared between these files are named store__*; they run inside a
 * transaction the caller holds (@txn) and return 0, a negative chatham code or, where said,
 * an LMDB code for store_mdb_err(). Thread rules are those of store/store.h.
 */
#ifndef CHATHAM_STORE_STORE_INT_H
#define CHATHAM_STORE_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proto/report.h"
#include "store/codec.h"
#include "store/hint.h"
#include "store/mdb.h"
#include "store/store.h"

/*
 * The indicators database clusters everything about one indicator under its id, so that a
 * batch touches one region of one B-tree per indicator instead of one page in each of
 * several trees (measured: this is what bounds durable ingest, see docs/PERFORMANCE.md):
 *   ind_id                              -> summary
 *   ind_id || TAG_INDEX || report id     -> report meta    (the per-indicator report index)
 *   ind_id || TAG_VOTE || prov || voter  -> vote           (one per signer id or link tag)
 */
#define TAG_INDEX 1
#define TAG_VOTE 2
#define IDX_KEY_LEN 65
#define VOTE_KEY_LEN 66
#define PAIR_KEY_LEN 64
#define EXPIRY_KEY_LEN 40
/*
 * Report records are keyed by sequence (u64 BE, 1, 2, ... in the order this node stored
 * them) || report id: new records are appended at the end of the B-tree, so a batch dirties
 * a few fresh pages instead of one random leaf per report. Finding a record by id goes through
 * the in-memory hint (store/hint.h), confirmed by an exact lookup of the full key. Schema 1
 * keyed records by report id alone; store_open() migrates such a store in place.
 */
#define REC_KEY_LEN 40

struct store {
	struct store_mdb m;
	int lock_fd;
	MDB_dbi reports, indicators, recon, expiry, feed, outbox, rosters, meta;
	MDB_dbi sealed, sealed_exp, sealed_open, sealed_quota; /* store/sealed.c */
	MDB_dbi recon_sums;				       /* store/recon.c */
	uint8_t id[16];
	struct store_hint hint;
	bool migrate;	      /* a schema-1 layout remains (set by open_body) */
	bool build_sums;      /* schema < 3: recon_sums is to be built (set by open_body) */
	unsigned upgrade;     /* read-only open: STORE_UPGRADE_* due (store_upgrade_due()) */
	uint32_t schema;      /* the schema found at open (0: none recorded) */
	size_t migrate_batch; /* records moved per migration transaction */
	/* store_config's progress callback, during store_open() only (NULL after). */
	void (*progress)(void *arg, const char *step, uint64_t done, uint64_t total);
	void *progress_arg;
};

struct store_read {
	struct store *s;
	MDB_txn *txn;
};

/* An MDB_val over borrowed bytes (a macro: gcc flags const-pointer calls on fresh buffers). */
#define mval(p, n) ((MDB_val){.mv_size = (n), .mv_data = (void *)(p)})

/* ------------------------------------------------------------------ keys */

static inline void rec_key(uint8_t key[REC_KEY_LEN], uint64_t seq, const uint8_t rid[32])
{
	store_be64_put(key, seq);
	memcpy(key + 8, rid, 32);
}

static inline void vote_key(uint8_t key[VOTE_KEY_LEN], const uint8_t ind[32], uint8_t prov,
			    const uint8_t voter[32])
{
	memcpy(key, ind, 32);
	key[32] = TAG_VOTE;
	key[33] = prov;
	memcpy(key + 34, voter, 32);
}

static inline void idx_key(uint8_t key[IDX_KEY_LEN], const uint8_t ind[32], const uint8_t rid[32])
{
	memcpy(key, ind, 32);
	key[32] = TAG_INDEX;
	memcpy(key + 33, rid, 32);
}

/* Position @c at the first key of (@ind, @tag) and say whether @k is still inside it. */
static inline int tag_first(MDB_cursor *c, const uint8_t ind[32], uint8_t tag, MDB_val *k,
			    MDB_val *d)
{
	uint8_t pfx[33];

	memcpy(pfx, ind, 32);
	pfx[32] = tag;
	*k = mval(pfx, sizeof(pfx));
	return mdb_cursor_get(c, k, d, MDB_SET_RANGE);
}

static inline bool tag_in(const MDB_val *k, const uint8_t ind[32], uint8_t tag)
{
	const uint8_t *p = k->mv_data;

	return k->mv_size > 33 && memcmp(p, ind, 32) == 0 && p[32] == tag;
}

/* The voter of a report: its signer id, or its linkability tag when anonymous. */
static inline const uint8_t *voter_of(const struct proto_report *r)
{
	return r->prov == PROTO_PROV_ATTRIBUTED ? r->signer : r->link_tag;
}

/* The voter of an item: its successor id when the caller named one (store_item.voter). */
static inline const uint8_t *item_voter(const struct store_item *it)
{
	return it->voter && it->r->prov == PROTO_PROV_ATTRIBUTED ? it->voter : voter_of(it->r);
}

static inline void pair_key(uint8_t key[PAIR_KEY_LEN], const uint8_t a[32], const uint8_t b[32])
{
	memcpy(key, a, 32);
	memcpy(key + 32, b, 32);
}

static inline void expiry_key(uint8_t key[EXPIRY_KEY_LEN], uint64_t t, const uint8_t ind[32])
{
	store_be64_put(key, t);
	memcpy(key + 8, ind, 32);
}

/* Does candidate (created, id) beat the current vote? Newest wins, ties to the larger id. */
static inline bool vote_wins(uint64_t created, const uint8_t id[32],
			     const struct store_codec_vote *cur)
{
	if (created != cur->created_ms)
		return created > cur->created_ms;
	return memcmp(id, cur->report_id, 32) > 0;
}

static inline size_t page_round(size_t n)
{
	return (n + 4095) & ~(size_t)4095;
}

/* ------------------------------------------------------------------ store.c */

/* The read transaction of @rd, or a fresh one (ended by store__read_leave()) if @rd is NULL. */
int store__read_enter(struct store *s, struct store_read *rd, MDB_txn **txn);
void store__read_leave(struct store *s, struct store_read *rd, MDB_txn *txn);

/*
 * store__read_enter() and a cursor on @dbi in that transaction. On success the caller closes
 * *@c (mdb_cursor_close) and calls store__read_leave(); on failure nothing is left open.
 * Returns 0, a store__read_enter() error, or the translated mdb_cursor_open() error.
 */
int store__read_cursor(struct store *s, struct store_read *rd, MDB_dbi dbi, MDB_txn **txn,
		       MDB_cursor **c);

/*
 * Find the record of report @rid in @txn: each candidate sequence from the hint is confirmed by
 * an exact lookup of sequence || id. Returns 0 with *@d set (and @key, if not NULL, the
 * record's key), MDB_NOTFOUND, or an LMDB/errno code (positive errno) for store_mdb_err().
 */
int store__rec_find(MDB_txn *txn, struct store *s, const uint8_t rid[32], MDB_val *d,
		    uint8_t key[REC_KEY_LEN]);

/*
 * store__hint_grow() - the id hint's segment of @rid is full (store_hint_add() said -ENOSPC):
 * rebuild that segment bigger, reading its ids back from the records visible in the write
 * transaction @txn. 0 or a negative code.
 */
int store__hint_grow(MDB_txn *txn, struct store *s, const uint8_t rid[32]);

/* A malloc'd copy of @d's bytes into *@out, *@len. -ENOMEM. */
int store__copy_out(const MDB_val *d, uint8_t **out, size_t *len);

/* Entries of database @dbi (0 if it cannot be read). */
uint64_t store__db_entries(MDB_txn *txn, MDB_dbi dbi);

/* The handle of named database @name ("reports", ... "meta"), or NULL if there is none. */
MDB_dbi *store__db_find(struct store *s, const char *name);

/* ------------------------------------------------------------------ indicator.c */

/* Vote-derived fields of an indicator, from its votes database entries. */
struct vote_tally {
	uint32_t n_members, n_fp;
	uint8_t confidence;
	uint64_t valid_until; /* latest among indicator votes; 0 if any has none */
};

/*
 * Summary reads and writes and the vote tally take an optional cursor @c on the indicators
 * database (NULL: plain gets and puts). STORE_E_NOT_FOUND when there is no summary.
 */
int store__summary_get(MDB_txn *txn, struct store *s, MDB_cursor *c, const uint8_t ind[32],
		       struct store_codec_summary *v);
int store__summary_put(MDB_txn *txn, struct store *s, MDB_cursor *c,
		       const struct store_codec_summary *v);
int store__votes_tally(MDB_txn *txn, struct store *s, MDB_cursor *use, const uint8_t ind[32],
		       struct vote_tally *t);

/*
 * Recompute the vote fields and state of @v, keep the expiry index in step with the change
 * from (@old_state, @old_valid_until), append the feed entry (after *@feed_seq, which is
 * advanced) and write the summary.
 */
int store__summary_commit(MDB_txn *txn, struct store *s, MDB_cursor *c,
			  struct store_codec_summary *v, bool existed, uint8_t old_state,
			  uint64_t old_valid_until, uint64_t *feed_seq, uint64_t now);

/* A new summary of indicator @ind from its first report @r; then count each new report. */
void store__summary_init(struct store_codec_summary *v, const uint8_t ind[32],
			 const struct proto_report *r);
void store__summary_count(struct store_codec_summary *v, const struct proto_report *r);

/* Replace the vote of @it's voter on its indicator if @it wins (cursor on indicators). */
int store__vote_update(MDB_cursor *c, const struct store_item *it);

/* The last feed sequence (0: empty feed); append the entry @seq. */
int store__feed_last(MDB_txn *txn, struct store *s, uint64_t *seq);
int store__feed_append(MDB_txn *txn, struct store *s, uint64_t seq, const uint8_t ind[32],
		       uint8_t state, uint64_t now);

/*
 * The member ids whose attributed reports are withdrawn (store_voters_withdraw()): meta
 * "withdrawn", ascending 32-byte ids. store__withdrawn_get() sets *@out to a view valid in
 * @txn (empty when absent); STORE_E_CORRUPT when its length is not a multiple of 32.
 */
int store__withdrawn_get(MDB_txn *txn, struct store *s, MDB_val *out);
bool store__withdrawn_has(const MDB_val *set, const uint8_t id[32]);

/* The number of summaries, kept in meta so status does not have to count them. */
int store__n_ind_get(MDB_txn *txn, struct store *s, uint64_t *n);
int store__n_ind_add(MDB_txn *txn, struct store *s, uint64_t add);

/* ------------------------------------------------------------------ outbox.c */

/* Put @n outbox entries @e (replacing existing ones) in @txn. */
int store__outbox_put_txn(MDB_txn *txn, struct store *s, const struct store_outbox_entry *e,
			  size_t n);

/*
 * The changes a write transaction makes to recon_sums, gathered per bucket so that a batch
 * of reports created close together writes each bucket once (store/recon.c).
 */
#define STORE__RECON_DELTA_MAX 32
struct store__recon_delta {
	unsigned n;
	struct {
		uint8_t key[9]; /* level u8 || bucket u64 BE */
		uint64_t acc[4];
		uint64_t count;
	} e[STORE__RECON_DELTA_MAX];
};

/*
 * store__recon_sum_add() - add the recon item (@created_ms, @id), just inserted into recon in
 * @txn, to its bucket sums through @delta (empty at the start of the transaction; written to
 * the tree when full and by store__recon_sums_flush()). Every insert into recon must call it
 * in the same transaction, and the transaction must flush before it commits.
 */
int store__recon_sum_add(MDB_txn *txn, struct store *s, struct store__recon_delta *delta,
			 uint64_t created_ms, const uint8_t id[32]);

/* store__recon_sums_flush() - add what @delta holds to recon_sums in @txn; empties it. */
int store__recon_sums_flush(MDB_txn *txn, struct store *s, struct store__recon_delta *delta);

/*
 * store__recon_sums_build() - (re)build recon_sums from the whole recon tree in @txn,
 * calling s->progress (when set) as store_config says.
 */
int store__recon_sums_build(MDB_txn *txn, struct store *s);

/*
 * store__recon_sums_check() - 0 when recon_sums in @txn equals what the recon tree implies
 * (store_verify()), STORE_E_CORRUPT when not, or an error.
 */
int store__recon_sums_check(MDB_txn *txn, struct store *s);

#endif
