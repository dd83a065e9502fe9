/* SPDX-License-Identifier: MIT */
/*
 * The reconciliation index (CLEAR and GREEN reports by created ms || report id): its keys,
 * the additive fingerprint of a key range (the sum of the ids modulo 2^256, as
 * proto/recon.h defines it) and the listing of a range.
 *
 * Range sums come from the recon_sums tree, not from a scan of the range: for each level
 * L = 0..SUM_LEVELS-1 it holds, per non-empty time bucket of 2^(SUM_SHIFT0 + SUM_FANOUT_BITS
 * * L) ms of created, the sum of the bucket's ids (mod 2^256) and their count. Every insert
 * into recon adds its id to its bucket at every level in the same write transaction
 * (store__recon_sum_add(), gathered per bucket and written before the commit; recon has no
 * other write path: reports are never deleted, expiry leaves recon alone), so any read
 * snapshot sees sums that match its items. A range
 * [lo, hi) is then: the items of lo's and hi's finest buckets that fall inside it (a scan of
 * at most two finest buckets), plus the whole finest buckets between them, taken in the
 * canonical way from the coarsest level that fits (at most 2 x (fanout - 1) bucket entries
 * per level). A store written before the tree existed gets it built at open, in one
 * transaction (store__recon_sums_build()).
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "proto/error.h"
#include "store/codec.h"
#include "store/mdb.h"
#include "store/store_int.h"

void store_recon_key(uint8_t key[STORE_RECON_KEY_LEN], uint64_t created_ms, const uint8_t id[32])
{
	store_be64_put(key, created_ms);
	memcpy(key + 8, id, 32);
}

#define SUM_LEVELS 5
#define SUM_SHIFT0 10	  /* finest bucket: 1,024 ms */
#define SUM_FANOUT_BITS 6 /* 64 buckets of one level make one of the next */
#define SUM_KEY_LEN 9	  /* level u8 || bucket index u64 BE */
#define SUM_VAL_LEN 40	  /* sum (32, little-endian) || count u64 BE */
#define SUMS_STEP "building the range sums of schema 3" /* store_config.progress */

static unsigned level_shift(unsigned level)
{
	return SUM_SHIFT0 + SUM_FANOUT_BITS * level;
}

static void sum_key(uint8_t key[SUM_KEY_LEN], unsigned level, uint64_t bucket)
{
	key[0] = (uint8_t)level;
	store_be64_put(key + 1, bucket);
}

/* acc += id, both 256-bit little-endian. */
static void add256(uint64_t acc[4], const uint8_t id[32])
{
	unsigned __int128 carry = 0;

	for (int i = 0; i < 4; i++) {
		uint64_t limb = 0;

		for (int b = 7; b >= 0; b--)
			limb = limb << 8 | id[8 * i + b];
		carry += (unsigned __int128)acc[i] + limb;
		acc[i] = (uint64_t)carry;
		carry >>= 64;
	}
}
static void acc_store(const uint64_t acc[4], uint8_t out[32])
{
	for (int i = 0; i < 4; i++)
		for (int b = 0; b < 8; b++)
			out[8 * i + b] = (uint8_t)(acc[i] >> (8 * b));
}

int store__recon_sums_flush(MDB_txn *txn, struct store *s, struct store__recon_delta *delta)
{
	uint8_t val[SUM_VAL_LEN];
	MDB_val k, d;
	int rc;

	for (unsigned i = 0; i < delta->n; i++) {
		uint64_t acc[4], count;

		memcpy(acc, delta->e[i].acc, sizeof(acc));
		count = delta->e[i].count;
		k = mval(delta->e[i].key, SUM_KEY_LEN);
		rc = mdb_get(txn, s->recon_sums, &k, &d);
		if (rc == 0) {
			if (d.mv_size != SUM_VAL_LEN)
				return STORE_E_CORRUPT;
			add256(acc, d.mv_data); /* a stored sum: same layout as an id */
			count += store_be64_get((const uint8_t *)d.mv_data + 32);
		} else if (rc != MDB_NOTFOUND) {
			return store_mdb_err(rc);
		}
		acc_store(acc, val);
		store_be64_put(val + 32, count);
		d = mval(val, SUM_VAL_LEN);
		if ((rc = mdb_put(txn, s->recon_sums, &k, &d, 0)) != 0)
			return store_mdb_err(rc);
	}
	delta->n = 0;
	return 0;
}

int store__recon_sum_add(MDB_txn *txn, struct store *s, struct store__recon_delta *delta,
			 uint64_t created_ms, const uint8_t id[32])
{
	uint8_t key[SUM_KEY_LEN];
	int rc;

	for (unsigned level = 0; level < SUM_LEVELS; level++) {
		unsigned i;

		sum_key(key, level, created_ms >> level_shift(level));
		for (i = 0; i < delta->n && memcmp(delta->e[i].key, key, SUM_KEY_LEN); i++)
			;
		if (i == STORE__RECON_DELTA_MAX) {
			if ((rc = store__recon_sums_flush(txn, s, delta)) != 0)
				return rc;
			i = 0;
		}
		if (i == delta->n) {
			memcpy(delta->e[i].key, key, SUM_KEY_LEN);
			memset(delta->e[i].acc, 0, sizeof(delta->e[i].acc));
			delta->e[i].count = 0;
			delta->n++;
		}
		add256(delta->e[i].acc, id);
		delta->e[i].count++;
	}
	return 0;
}

/* Position @c at the first key >= @lo (or the first key). */
static int range_first(MDB_cursor *c, const uint8_t *lo, MDB_val *k, MDB_val *d)
{
	if (!lo)
		return mdb_cursor_get(c, k, d, MDB_FIRST);
	*k = mval(lo, STORE_RECON_KEY_LEN);
	return mdb_cursor_get(c, k, d, MDB_SET_RANGE);
}

static bool range_in(const MDB_val *k, const uint8_t *hi)
{
	return !hi || memcmp(k->mv_data, hi, STORE_RECON_KEY_LEN) < 0;
}

/* Adds the ids of recon items in [@lo, @hi) (NULL: unbounded) by scanning them. */
static int scan_add(MDB_cursor *c, const uint8_t *lo, const uint8_t *hi, uint64_t acc[4],
		    uint64_t *n)
{
	MDB_val k, d;
	int rc;

	for (rc = range_first(c, lo, &k, &d); rc == 0; rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if (k.mv_size != STORE_RECON_KEY_LEN)
			return STORE_E_CORRUPT;
		if (!range_in(&k, hi))
			break;
		add256(acc, (const uint8_t *)k.mv_data + 8);
		(*n)++;
	}
	return rc == MDB_NOTFOUND || rc == 0 ? 0 : store_mdb_err(rc);
}

/*
 * A walk over stored bucket sums, in key order: adding every bucket to @acc and @n, or (by
 * rank) passing whole buckets while *@skip is at least their count and descending into the
 * one it falls in, down to the finest bucket (@bucket; @skip is then what to pass within it).
 */
struct bucket_walk {
	uint64_t acc[4], n;
	bool by_rank;
	uint64_t skip, bucket;
};

/*
 * The buckets [@from, @to) of @level (only non-empty ones exist). Returns 1 when a walk by
 * rank found its finest bucket, 0 when it went through (the rank lies beyond), or a chatham
 * code.
 */
static int level_walk(MDB_cursor *c, unsigned level, uint64_t from, uint64_t to,
		      struct bucket_walk *w)
{
	uint8_t lo[SUM_KEY_LEN];
	MDB_val k, d;
	int rc;

	if (from >= to)
		return 0;
	sum_key(lo, level, from);
	k = mval(lo, SUM_KEY_LEN);
	for (rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		const uint8_t *kp = k.mv_data;
		uint64_t n, b;

		if (k.mv_size != SUM_KEY_LEN || d.mv_size != SUM_VAL_LEN)
			return STORE_E_CORRUPT;
		if (kp[0] != level || (b = store_be64_get(kp + 1)) >= to)
			break;
		n = store_be64_get((const uint8_t *)d.mv_data + 32);
		if (!w->by_rank) {
			add256(w->acc, d.mv_data); /* a stored sum: same layout as an id */
			w->n += n;
			continue;
		}
		if (w->skip >= n) {
			w->skip -= n;
			continue;
		}
		if (level == 0) {
			w->bucket = b;
			return 1;
		}
		/* In this one: its children hold it (the cursor is repositioned, so return). */
		rc = level_walk(c, level - 1, b << SUM_FANOUT_BITS, (b + 1) << SUM_FANOUT_BITS, w);
		return rc == 0 ? STORE_E_CORRUPT : rc; /* sums that disagree with their children */
	}
	return rc == MDB_NOTFOUND || rc == 0 ? 0 : store_mdb_err(rc);
}

/*
 * The whole finest buckets [@from, @to) (@level 0 at the first call), in the canonical
 * pieces and in key order: at each level the buckets up to the next boundary of the level
 * above, the middle from the level above, then the buckets from its last boundary. Returns
 * as level_walk().
 */
static int buckets_walk(MDB_cursor *c, unsigned level, uint64_t from, uint64_t to,
			struct bucket_walk *w)
{
	uint64_t up_from, up_to;
	int rc;

	if (from >= to)
		return 0;
	if (level + 1 == SUM_LEVELS)
		return level_walk(c, level, from, to, w);
	up_from = (from >> SUM_FANOUT_BITS) + ((from & ((1u << SUM_FANOUT_BITS) - 1)) != 0);
	up_to = to >> SUM_FANOUT_BITS;
	if (up_from >= up_to)
		return level_walk(c, level, from, to, w);
	if ((rc = level_walk(c, level, from, up_from << SUM_FANOUT_BITS, w)) != 0 ||
	    (rc = buckets_walk(c, level + 1, up_from, up_to, w)) != 0)
		return rc;
	return level_walk(c, level, up_to << SUM_FANOUT_BITS, to, w);
}

/* The recon key at which finest bucket @b starts (created = b << SUM_SHIFT0, id zero). */
static void bucket_start(uint8_t key[STORE_RECON_KEY_LEN], uint64_t b)
{
	memset(key, 0, STORE_RECON_KEY_LEN);
	store_be64_put(key, b << SUM_SHIFT0);
}

/* A read transaction (@rd's or a one-shot) with cursors on recon (*@c) and recon_sums (*@cs). */
static int cursors_open(struct store *s, struct store_read *rd, MDB_txn **txn, MDB_cursor **c,
			MDB_cursor **cs)
{
	int rc;

	*c = *cs = NULL;
	if ((rc = store__read_enter(s, rd, txn)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(*txn, s->recon, c)) != 0 ||
	    (rc = mdb_cursor_open(*txn, s->recon_sums, cs)) != 0) {
		mdb_cursor_close(*c);
		store__read_leave(s, rd, *txn);
		return store_mdb_err(rc);
	}
	return 0;
}

static void cursors_close(struct store *s, struct store_read *rd, MDB_txn *txn, MDB_cursor *c,
			  MDB_cursor *cs)
{
	mdb_cursor_close(cs);
	mdb_cursor_close(c);
	store__read_leave(s, rd, txn);
}

int store_recon_fingerprint(struct store *s, struct store_read *rd, const uint8_t *lo,
			    const uint8_t *hi, uint8_t fp[32], uint64_t *count)
{
	uint8_t edge[STORE_RECON_KEY_LEN];
	struct bucket_walk w = {.by_rank = false};
	uint64_t b_lo, b_hi;
	MDB_txn *txn;
	MDB_cursor *c, *cs;
	int rc;

	if ((rc = cursors_open(s, rd, &txn, &c, &cs)) != 0)
		return rc;
	if (lo && hi && memcmp(lo, hi, STORE_RECON_KEY_LEN) >= 0)
		goto done; /* empty */
	/*
	 * Finest buckets: lo's is [b_lo, ...), the first whole one after it b_lo + 1 (or 0 with
	 * no lower bound); hi's is b_hi, the whole ones end before it (or run to the end).
	 */
	b_lo = lo ? store_be64_get(lo) >> SUM_SHIFT0 : 0;
	b_hi = hi ? store_be64_get(hi) >> SUM_SHIFT0 : UINT64_MAX >> SUM_SHIFT0;
	if (hi && b_lo == b_hi) {
		rc = scan_add(c, lo, hi, w.acc, &w.n); /* within one finest bucket */
		goto done;
	}
	if (lo) {
		bucket_start(edge, b_lo + 1);
		if ((rc = scan_add(c, lo, edge, w.acc, &w.n)) != 0)
			goto out;
		b_lo++;
	}
	if (hi) {
		bucket_start(edge, b_hi);
		if ((rc = scan_add(c, edge, hi, w.acc, &w.n)) != 0)
			goto out;
	}
	rc = buckets_walk(cs, 0, b_lo, hi ? b_hi : b_hi + 1, &w);
done:
	if (rc == 0) {
		acc_store(w.acc, fp);
		*count = w.n;
	}
out:
	cursors_close(s, rd, txn, c, cs);
	return rc;
}

/* Counts the recon items in [@lo, @hi) by scanning them. */
static int scan_count(MDB_cursor *c, const uint8_t *lo, const uint8_t *hi, uint64_t *n)
{
	uint64_t acc[4] = {0};

	*n = 0;
	return scan_add(c, lo, hi, acc, n);
}

int store_recon_at(struct store *s, struct store_read *rd, const uint8_t *lo, const uint8_t *hi,
		   uint64_t rank, uint8_t (*keys)[STORE_RECON_KEY_LEN])
{
	uint8_t start[STORE_RECON_KEY_LEN];
	uint64_t skip = rank - 1, b_lo, b_hi, n;
	const uint8_t *from = lo;
	MDB_txn *txn;
	MDB_cursor *c, *cs;
	MDB_val k, d;
	int rc;

	if (rank == 0)
		return -EINVAL;
	if ((rc = cursors_open(s, rd, &txn, &c, &cs)) != 0)
		return rc;
	/* As store_recon_fingerprint(): lo's finest bucket, whole buckets, hi's bucket. */
	b_lo = lo ? store_be64_get(lo) >> SUM_SHIFT0 : 0;
	b_hi = hi ? store_be64_get(hi) >> SUM_SHIFT0 : UINT64_MAX >> SUM_SHIFT0;
	if (!(hi && b_lo == b_hi)) {
		if (lo) {
			bucket_start(start, b_lo + 1);
			if ((rc = scan_count(c, lo, start, &n)) != 0)
				goto out;
			if (skip >= n) {
				skip -= n;
				b_lo++;
				from = NULL;
			}
		}
		if (!from) {
			struct bucket_walk w = {.by_rank = true, .skip = skip};

			rc = buckets_walk(cs, 0, b_lo, hi ? b_hi : b_hi + 1, &w);
			if (rc < 0)
				goto out;
			skip = w.skip;
			bucket_start(start, rc == 1 ? w.bucket : b_hi); /* else: in hi's bucket */
			from = start;
		}
	}
	/* @from is at most a finest bucket (and the next item) before the item of @rank - 1. */
	rc = range_first(c, from, &k, &d);
	while (rc == 0 && skip--)
		rc = mdb_cursor_get(c, &k, &d, MDB_NEXT);
	for (int i = 0; rc == 0 && i < 2; i++) {
		if (k.mv_size != STORE_RECON_KEY_LEN) {
			rc = STORE_E_CORRUPT;
			goto out;
		}
		if (!range_in(&k, hi))
			break;
		memcpy(keys[i], k.mv_data, STORE_RECON_KEY_LEN);
		if (i == 1) {
			rc = 0;
			goto out;
		}
		rc = mdb_cursor_get(c, &k, &d, MDB_NEXT);
	}
	rc = rc == 0 || rc == MDB_NOTFOUND ? STORE_E_NOT_FOUND : store_mdb_err(rc);
out:
	cursors_close(s, rd, txn, c, cs);
	return rc;
}

/*
 * Computes every bucket sum from the recon tree in @txn and hands each (key, value) to @emit,
 * which returns 0 or a chatham code that stops the walk. Returns 0 or a chatham code.
 */
static int sums_walk(MDB_txn *txn, struct store *s,
		     int (*emit)(MDB_txn *txn, struct store *s, MDB_val *k, MDB_val *d),
		     uint64_t *emitted, bool progress)
{
	uint64_t acc[SUM_LEVELS][4], n[SUM_LEVELS], bucket[SUM_LEVELS], items = 0, total = 0;
	uint8_t key[SUM_KEY_LEN], val[SUM_VAL_LEN];
	MDB_cursor *c = NULL;
	MDB_val k, d;
	bool any = false;
	int rc;

	*emitted = 0;
	progress = progress && s->progress;
	if (progress)
		total = store__db_entries(txn, s->recon);
	if ((rc = mdb_cursor_open(txn, s->recon, &c)) != 0)
		return store_mdb_err(rc);
	/* Keys come in created order, so each level's bucket is one run: emit at its end. */
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST);; rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		uint8_t rk[STORE_RECON_KEY_LEN];
		bool end = rc == MDB_NOTFOUND;
		uint64_t created = 0;

		if (rc != 0 && !end) {
			rc = store_mdb_err(rc);
			goto out;
		}
		if (!end) {
			if (k.mv_size != STORE_RECON_KEY_LEN) {
				rc = STORE_E_CORRUPT;
				goto out;
			}
			memcpy(rk, k.mv_data, STORE_RECON_KEY_LEN);
			created = store_be64_get(rk);
		}
		for (unsigned l = 0; l < SUM_LEVELS; l++) {
			if (any && (end || created >> level_shift(l) != bucket[l])) {
				MDB_val sk = mval(key, SUM_KEY_LEN), sd = mval(val, SUM_VAL_LEN);

				sum_key(key, l, bucket[l]);
				acc_store(acc[l], val);
				store_be64_put(val + 32, n[l]);
				if ((rc = emit(txn, s, &sk, &sd)) != 0)
					goto out;
				(*emitted)++;
			}
			if (end)
				continue;
			if (!any || created >> level_shift(l) != bucket[l]) {
				bucket[l] = created >> level_shift(l);
				memset(acc[l], 0, sizeof(acc[l]));
				n[l] = 0;
			}
			add256(acc[l], rk + 8);
			n[l]++;
		}
		if (end)
			break;
		any = true;
		if (progress && ++items % STORE_OPEN_PROGRESS_EVERY == 0)
			s->progress(s->progress_arg, SUMS_STEP, items, total);
	}
	if (progress)
		s->progress(s->progress_arg, SUMS_STEP, items, total);
	rc = 0;
out:
	mdb_cursor_close(c);
	return rc;
}

static int emit_put(MDB_txn *txn, struct store *s, MDB_val *k, MDB_val *d)
{
	return store_mdb_err(mdb_put(txn, s->recon_sums, k, d, 0));
}

int store__recon_sums_build(MDB_txn *txn, struct store *s)
{
	uint64_t n;
	int rc;

	if ((rc = mdb_drop(txn, s->recon_sums, 0)) != 0)
		return store_mdb_err(rc);
	return sums_walk(txn, s, emit_put, &n, true);
}

static int emit_check(MDB_txn *txn, struct store *s, MDB_val *k, MDB_val *d)
{
	MDB_val have;
	int rc = mdb_get(txn, s->recon_sums, k, &have);

	if (rc == MDB_NOTFOUND || (rc == 0 && (have.mv_size != d->mv_size ||
					       memcmp(have.mv_data, d->mv_data, d->mv_size))))
		return STORE_E_CORRUPT;
	return store_mdb_err(rc);
}

int store__recon_sums_check(MDB_txn *txn, struct store *s)
{
	uint64_t n;
	int rc = sums_walk(txn, s, emit_check, &n, false);

	if (rc == 0 && store__db_entries(txn, s->recon_sums) != n)
		rc = STORE_E_CORRUPT; /* a sum for a bucket that has no items */
	return rc;
}

int store_recon_list(struct store *s, struct store_read *rd, const uint8_t *lo, const uint8_t *hi,
		     uint8_t (*keys)[STORE_RECON_KEY_LEN], size_t cap, size_t *n)
{
	MDB_txn *txn;
	MDB_cursor *c = NULL;
	MDB_val k, d;
	size_t got = 0;
	int rc;

	*n = 0;
	if (cap == 0)
		return 0;
	if ((rc = store__read_cursor(s, rd, s->recon, &txn, &c)) != 0)
		return rc;
	for (rc = range_first(c, lo, &k, &d); rc == 0 && got < cap;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if (k.mv_size != STORE_RECON_KEY_LEN) {
			rc = STORE_E_CORRUPT;
			goto out;
		}
		if (!range_in(&k, hi))
			break;
		memcpy(keys[got++], k.mv_data, STORE_RECON_KEY_LEN);
	}
	rc = (rc == MDB_NOTFOUND || rc == 0) ? 0 : store_mdb_err(rc);
	*n = got;
out:
	mdb_cursor_close(c);
	store__read_leave(s, rd, txn);
	return rc;
}
