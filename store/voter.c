/* SPDX-License-Identifier: MIT */
/*
 * store_voters_move(): a member's votes follow its successor id (store/store.h). One pass
 * over the indicators database finds the votes and report-index entries of every retired
 * id; each vote is merged into its successor's under the vote rule (newest created wins,
 * ties to the larger report id, revoke tombstones included), the index entries are
 * re-keyed to the successor so store_verify() recomputes the same votes, and each changed
 * indicator's summary is recomputed with a feed entry, so the export sees the new count.
 *
 * The pass runs in steps, one write transaction each, of at most STEP_KEYS keys looked at
 * or STEP_HITS entries changed, ending at an indicator boundary: a member with a long
 * history (a million votes) made one transaction dirty most of the database, hold the
 * writer for the whole pass (every commit of the node waited) and could fail with
 * STORE_E_TXN_FULL, every time it was retried. Steps are safe because a step changes only
 * entries of retired ids, which later steps no longer see; a report stored meanwhile under a
 * retired id (by an admission job that still had the older roster) can land behind the
 * scan, so passes repeat until one moves nothing, and only then is the epoch recorded.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"
#include "store/codec.h"
#include "store/mdb.h"
#include "store/store_int.h"

struct hit {
	uint8_t key[IDX_KEY_LEN > VOTE_KEY_LEN ? IDX_KEY_LEN : VOTE_KEY_LEN];
	size_t pair;
	bool vote; /* a vote entry (else a report-index entry) */
};

#define STEP_KEYS 65536
#define STEP_HITS 1024

struct move_ctx {
	struct store *s;
	const struct store_voter_pair *pairs;
	size_t n_pairs;
	uint64_t epoch, now;
	struct hit *hits;
	size_t n_hits, cap;
	size_t moved; /* this step's */
	/*
	 * Where the step starts (start_len 0: at the first key) and where the next one does:
	 * kept apart because store_mdb_write() runs a step again after growing the map.
	 */
	uint8_t start[VOTE_KEY_LEN], next[VOTE_KEY_LEN];
	size_t start_len, next_len;
	bool end; /* the step's scan reached the end of the database */
};

static int pair_of(const struct move_ctx *mc, const uint8_t voter[32])
{
	for (size_t i = 0; i < mc->n_pairs; i++)
		if (!memcmp(mc->pairs[i].from, voter, 32))
			return (int)i;
	return -1;
}

static int add_hit(struct move_ctx *mc, const MDB_val *k, size_t pair, bool vote)
{
	struct hit *h;

	if (mc->n_hits == mc->cap) {
		size_t cap = mc->cap ? mc->cap * 2 : 64;

		h = realloc(mc->hits, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		mc->hits = h;
		mc->cap = cap;
	}
	h = &mc->hits[mc->n_hits++];
	memcpy(h->key, k->mv_data, k->mv_size);
	h->pair = pair;
	h->vote = vote;
	return 0;
}

/*
 * This step's hits, from mc->start on, until the end of the database or the first indicator
 * boundary after STEP_KEYS keys or STEP_HITS hits (mc->next then names that boundary).
 */
static int find(MDB_txn *txn, struct move_ctx *mc)
{
	struct store_codec_rmeta m;
	uint8_t ind[32];
	bool have_ind = false;
	size_t seen = 0;
	MDB_cursor *c;
	MDB_val k, d;
	int rc, p, err = 0;

	mc->n_hits = 0;
	if ((rc = mdb_cursor_open(txn, mc->s->indicators, &c)) != 0)
		return store_mdb_err(rc);
	k = mval(mc->start, mc->start_len);
	for (rc = mdb_cursor_get(c, &k, &d, mc->start_len ? MDB_SET_RANGE : MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		const uint8_t *key = k.mv_data;

		if (k.mv_size < 32 || k.mv_size > VOTE_KEY_LEN) {
			err = STORE_E_CORRUPT;
			break;
		}
		if (!have_ind || memcmp(ind, key, 32)) {
			if (have_ind && (seen >= STEP_KEYS || mc->n_hits >= STEP_HITS)) {
				memcpy(mc->next, key, k.mv_size);
				mc->next_len = k.mv_size;
				break;
			}
			memcpy(ind, key, 32);
			have_ind = true;
		}
		seen++;
		if (k.mv_size == VOTE_KEY_LEN && key[32] == TAG_VOTE &&
		    key[33] == PROTO_PROV_ATTRIBUTED && (p = pair_of(mc, key + 34)) >= 0) {
			if ((err = add_hit(mc, &k, (size_t)p, true)))
				break;
		} else if (k.mv_size == IDX_KEY_LEN && key[32] == TAG_INDEX) {
			if ((err = store_codec_rmeta_decode(&m, d.mv_data, d.mv_size)))
				break;
			if (m.prov == PROTO_PROV_ATTRIBUTED && (p = pair_of(mc, m.voter)) >= 0 &&
			    (err = add_hit(mc, &k, (size_t)p, false)))
				break;
		}
	}
	mdb_cursor_close(c);
	if (err)
		return err;
	mc->end = rc == MDB_NOTFOUND;
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : store_mdb_err(rc);
}

/* Re-key one report-index entry to the successor. */
static int move_meta(MDB_txn *txn, struct move_ctx *mc, const struct hit *h)
{
	struct store_codec_rmeta m;
	uint8_t vb[STORE_CODEC_RMETA_LEN];
	MDB_val k = mval(h->key, IDX_KEY_LEN), d;
	int rc = mdb_get(txn, mc->s->indicators, &k, &d);

	if (rc)
		return store_mdb_err(rc);
	if ((rc = store_codec_rmeta_decode(&m, d.mv_data, d.mv_size)))
		return rc;
	memcpy(m.voter, mc->pairs[h->pair].to, 32);
	d = mval(vb, store_codec_rmeta_encode(&m, vb));
	return store_mdb_err(mdb_put(txn, mc->s->indicators, &k, &d, 0));
}

/* Merge one vote into the successor's and recompute the indicator. */
static int move_vote(MDB_txn *txn, struct move_ctx *mc, const struct hit *h, uint64_t *feed_seq)
{
	struct store *s = mc->s;
	struct store_codec_vote from, to;
	struct store_codec_summary v;
	uint8_t tkey[VOTE_KEY_LEN];
	MDB_val k = mval(h->key, VOTE_KEY_LEN), tk = mval(tkey, VOTE_KEY_LEN), d;
	int rc = mdb_get(txn, s->indicators, &k, &d);

	if (rc)
		return store_mdb_err(rc);
	if ((rc = store_codec_vote_decode(&from, d.mv_data, d.mv_size)))
		return rc;
	vote_key(tkey, h->key, PROTO_PROV_ATTRIBUTED, mc->pairs[h->pair].to);
	rc = mdb_get(txn, s->indicators, &tk, &d);
	if (rc == 0) {
		if ((rc = store_codec_vote_decode(&to, d.mv_data, d.mv_size)))
			return rc;
		rc = vote_wins(from.created_ms, from.report_id, &to) ? MDB_NOTFOUND : 0;
	}
	if (rc == MDB_NOTFOUND) {
		uint8_t vb[STORE_CODEC_VOTE_LEN];

		d = mval(vb, store_codec_vote_encode(&from, vb));
		rc = mdb_put(txn, s->indicators, &tk, &d, 0);
	}
	if (rc || (rc = mdb_del(txn, s->indicators, &k, NULL)))
		return store_mdb_err(rc);
	mc->moved++;
	if ((rc = store__summary_get(txn, s, NULL, h->key, &v)))
		return rc;
	return store__summary_commit(txn, s, NULL, &v, true, v.sum.state, v.sum.valid_until_ms,
				     feed_seq, mc->now);
}

/* One step of a pass (find()), in one write transaction. */
static int step_body(MDB_txn *txn, void *arg)
{
	struct move_ctx *mc = arg;
	uint64_t feed_seq;
	int rc;

	mc->moved = 0;
	if ((rc = find(txn, mc)) || (rc = store__feed_last(txn, mc->s, &feed_seq)))
		return rc;
	for (size_t i = 0; i < mc->n_hits; i++) {
		rc = mc->hits[i].vote ? move_vote(txn, mc, &mc->hits[i], &feed_seq)
				      : move_meta(txn, mc, &mc->hits[i]);
		if (rc)
			return rc;
	}
	return 0;
}

static int epoch_body(MDB_txn *txn, void *arg)
{
	struct move_ctx *mc = arg;
	uint8_t eb[8];
	MDB_val k = mval("voters_epoch", 12), d = mval(eb, 8);

	store_be64_put(eb, mc->epoch);
	return store_mdb_err(mdb_put(txn, mc->s->meta, &k, &d, 0));
}

int store_voters_move(struct store *s, const struct store_voter_pair *pairs, size_t n_pairs,
		      uint64_t epoch, uint64_t now_ms, size_t *n_moved)
{
	struct move_ctx mc = {
		.s = s, .pairs = pairs, .n_pairs = n_pairs, .epoch = epoch, .now = now_ms};
	size_t moved = 0, pass_moved;
	int rc;

	if (!s || (n_pairs && !pairs))
		return -EINVAL;
	do {
		pass_moved = 0;
		mc.start_len = 0;
		do {
			rc = store_mdb_write(&s->m, step_body, &mc);
			if (rc)
				goto out;
			pass_moved += mc.moved;
			memcpy(mc.start, mc.next, mc.next_len);
			mc.start_len = mc.next_len;
		} while (!mc.end);
		moved += pass_moved;
	} while (pass_moved);
	rc = store_mdb_write(&s->m, epoch_body, &mc);
out:
	free(mc.hits);
	if (n_moved)
		*n_moved = rc ? 0 : moved;
	return rc;
}

int store_voters_epoch(struct store *s, uint64_t *epoch)
{
	MDB_txn *txn;
	int rc = store__read_enter(s, NULL, &txn);

	*epoch = 0;
	if (rc)
		return rc;
	rc = store_mdb_get_u64(txn, s->meta, "voters_epoch", epoch);
	store__read_leave(s, NULL, txn);
	return rc;
}
