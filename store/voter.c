/* SPDX-License-Identifier: MIT */
/*
 * store_voters_move(): a member's votes follow its successor id (store/store.h). One pass
 * over the indicators database finds the votes and report-index entries of every retired
 * id; each vote is merged into its successor's under the vote rule (newest created wins,
 * ties to the larger report id, revoke tombstones included), the index entries are
 * re-keyed to the successor so store_verify() recomputes the same votes, and each changed
 * indicator's summary is recomputed with a feed entry, so the export sees the new count.
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

struct move_ctx {
	struct store *s;
	const struct store_voter_pair *pairs;
	size_t n_pairs;
	uint64_t epoch, now;
	struct hit *hits;
	size_t n_hits, cap;
	size_t moved;
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

static int find(MDB_txn *txn, struct move_ctx *mc)
{
	struct store_codec_rmeta m;
	MDB_cursor *c;
	MDB_val k, d;
	int rc, p, err = 0;

	mc->n_hits = 0;
	if ((rc = mdb_cursor_open(txn, mc->s->indicators, &c)) != 0)
		return store_mdb_err(rc);
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		const uint8_t *key = k.mv_data;

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
	return rc == MDB_NOTFOUND ? 0 : store_mdb_err(rc);
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

static int move_body(MDB_txn *txn, void *arg)
{
	struct move_ctx *mc = arg;
	uint8_t eb[8];
	MDB_val k = mval("voters_epoch", 12), d = mval(eb, 8);
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
	store_be64_put(eb, mc->epoch);
	return store_mdb_err(mdb_put(txn, mc->s->meta, &k, &d, 0));
}

int store_voters_move(struct store *s, const struct store_voter_pair *pairs, size_t n_pairs,
		      uint64_t epoch, uint64_t now_ms, size_t *n_moved)
{
	struct move_ctx mc = {
		.s = s, .pairs = pairs, .n_pairs = n_pairs, .epoch = epoch, .now = now_ms};
	int rc;

	if (!s || (n_pairs && !pairs))
		return -EINVAL;
	rc = store_mdb_write(&s->m, move_body, &mc);
	free(mc.hits);
	if (n_moved)
		*n_moved = rc ? 0 : mc.moved;
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
