/* SPDX-License-Identifier: MIT */
/*
 * One indicator's derived state: its summary, the votes that decide it, the feed entry each
 * change appends and the count of summaries in meta. Ingest (store/ingest.c) and expiry
 * write through these functions, store_verify() recomputes with them.
 *
 * Vote recomputation scans the indicator's votes (one per member or tag), so its cost is the
 * number of distinct voters on that indicator, paid once per indicator per batch.
 *
 * Summary reads and writes and the vote tally take an optional cursor on the indicators
 * database. Ingest passes one cursor for all three: LMDB then searches only the current leaf
 * page when the next key is on it, instead of descending from the root each time, and an
 * indicator's summary and votes are neighbours.
 */
#include <errno.h>
#include <string.h>

#include "proto/error.h"
#include "proto/summary.h"
#include "store/codec.h"
#include "store/mdb.h"
#include "store/store_int.h"

int store__summary_get(MDB_txn *txn, struct store *s, MDB_cursor *c, const uint8_t ind[32],
		       struct store_codec_summary *v)
{
	MDB_val k = mval(ind, 32), d;
	int rc = c ? mdb_cursor_get(c, &k, &d, MDB_SET_KEY) : mdb_get(txn, s->indicators, &k, &d);

	if (rc != 0)
		return store_mdb_err(rc);
	rc = store_codec_summary_decode(v, d.mv_data, d.mv_size);
	if (rc == 0)
		memcpy(v->sum.ind_id, ind, 32);
	return rc;
}

int store__summary_put(MDB_txn *txn, struct store *s, MDB_cursor *c,
		       const struct store_codec_summary *v)
{
	uint8_t buf[STORE_CODEC_SUMMARY_MAX];
	size_t n = store_codec_summary_encode(v, buf);
	MDB_val k = mval(v->sum.ind_id, 32), d = mval(buf, n);

	if (n == 0)
		return -EINVAL;
	return store_mdb_err(c ? mdb_cursor_put(c, &k, &d, 0)
			       : mdb_put(txn, s->indicators, &k, &d, 0));
}

int store__feed_last(MDB_txn *txn, struct store *s, uint64_t *seq)
{
	MDB_cursor *c;
	MDB_val k, d;
	int rc = mdb_cursor_open(txn, s->feed, &c);

	if (rc != 0)
		return store_mdb_err(rc);
	rc = mdb_cursor_get(c, &k, &d, MDB_LAST);
	mdb_cursor_close(c);
	if (rc == MDB_NOTFOUND) {
		*seq = 0;
		return 0;
	}
	if (rc != 0)
		return store_mdb_err(rc);
	if (k.mv_size != 8)
		return STORE_E_CORRUPT;
	*seq = store_be64_get(k.mv_data);
	return 0;
}

int store__feed_append(MDB_txn *txn, struct store *s, uint64_t seq, const uint8_t ind[32],
		       uint8_t state, uint64_t now)
{
	struct store_codec_feed f = {.state = state, .time_ms = now};
	uint8_t kb[8], vb[STORE_CODEC_FEED_LEN];
	MDB_val k = mval(kb, 8), d;

	memcpy(f.ind_id, ind, 32);
	store_be64_put(kb, seq);
	d = mval(vb, store_codec_feed_encode(&f, vb));
	return store_mdb_err(mdb_put(txn, s->feed, &k, &d, MDB_APPEND));
}

/* ------------------------------------------------------------------ summary computation */

int store__votes_tally(MDB_txn *txn, struct store *s, MDB_cursor *use, const uint8_t ind[32],
		       struct vote_tally *t)
{
	MDB_cursor *c = use;
	MDB_val k, d;
	struct store_codec_vote v;
	bool unbounded = false;
	int rc;

	memset(t, 0, sizeof(*t));
	if (!c && (rc = mdb_cursor_open(txn, s->indicators, &c)) != 0)
		return store_mdb_err(rc);
	for (rc = tag_first(c, ind, TAG_VOTE, &k, &d); rc == 0;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if (!tag_in(&k, ind, TAG_VOTE))
			break;
		if (k.mv_size != VOTE_KEY_LEN) {
			rc = STORE_E_CORRUPT;
			goto out;
		}
		rc = store_codec_vote_decode(&v, d.mv_data, d.mv_size);
		if (rc != 0)
			goto out;
		if (v.kind == PROTO_KIND_INDICATOR) {
			t->n_members++;
			if (v.confidence > t->confidence)
				t->confidence = v.confidence;
			if (v.valid_until_ms == 0)
				unbounded = true;
			else if (v.valid_until_ms > t->valid_until)
				t->valid_until = v.valid_until_ms;
		} else if (v.kind == PROTO_KIND_FALSE_POSITIVE) {
			t->n_fp++;
		}
	}
	rc = (rc == MDB_NOTFOUND || rc == 0) ? 0 : store_mdb_err(rc);
	if (unbounded || t->n_members == 0)
		t->valid_until = 0;
out:
	if (!use)
		mdb_cursor_close(c);
	return rc;
}

static uint8_t state_of(const struct store_codec_summary *v, uint64_t now)
{
	const struct proto_summary *s = &v->sum;

	if (s->n_members > 0)
		return s->valid_until_ms != 0 && s->valid_until_ms <= now ? PROTO_SUMMARY_EXPIRED
									  : PROTO_SUMMARY_ACTIVE;
	return v->n_ind_reports > 0 ? PROTO_SUMMARY_WITHDRAWN : PROTO_SUMMARY_OBSERVED;
}

void store__summary_init(struct store_codec_summary *v, const uint8_t ind[32],
			 const struct proto_report *r)
{
	memset(v, 0, sizeof(*v));
	memcpy(v->sum.ind_id, ind, 32);
	v->sum.ind.type = r->ind_type;
	v->sum.ind.len = (uint16_t)r->ind_value.len;
	memcpy(v->sum.ind.value, r->ind_value.ptr, r->ind_value.len);
	v->sum.ind.value[r->ind_value.len] = 0;
	v->sum.tlp = r->tlp;
	v->sum.first_seen_ms = r->created_ms;
	v->sum.last_seen_ms = r->created_ms;
}

void store__summary_count(struct store_codec_summary *v, const struct proto_report *r)
{
	struct proto_summary *s = &v->sum;

	s->n_reports++;
	if (r->kind == PROTO_KIND_SIGHTING)
		s->n_sightings++;
	else if (r->kind == PROTO_KIND_INDICATOR)
		v->n_ind_reports++;
	if (r->tlp > s->tlp)
		s->tlp = r->tlp;
	if (r->created_ms < s->first_seen_ms)
		s->first_seen_ms = r->created_ms;
	if (r->created_ms > s->last_seen_ms)
		s->last_seen_ms = r->created_ms;
}

int store__summary_commit(MDB_txn *txn, struct store *s, MDB_cursor *c,
			  struct store_codec_summary *v, bool existed, uint8_t old_state,
			  uint64_t old_valid_until, uint64_t *feed_seq, uint64_t now)
{
	struct vote_tally t;
	uint8_t ek[EXPIRY_KEY_LEN];
	MDB_val k, d = mval(NULL, 0);
	int rc;

	rc = store__votes_tally(txn, s, c, v->sum.ind_id, &t);
	if (rc != 0)
		return rc;
	v->sum.n_members = t.n_members;
	v->sum.n_false_positive = t.n_fp;
	v->sum.confidence = t.confidence;
	v->sum.valid_until_ms = t.valid_until;
	v->sum.state = state_of(v, now);

	if (existed && old_state == PROTO_SUMMARY_ACTIVE && old_valid_until != 0) {
		expiry_key(ek, old_valid_until, v->sum.ind_id);
		k = mval(ek, sizeof(ek));
		rc = mdb_del(txn, s->expiry, &k, NULL);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return store_mdb_err(rc);
	}
	if (v->sum.state == PROTO_SUMMARY_ACTIVE && v->sum.valid_until_ms != 0) {
		expiry_key(ek, v->sum.valid_until_ms, v->sum.ind_id);
		k = mval(ek, sizeof(ek));
		rc = mdb_put(txn, s->expiry, &k, &d, 0);
		if (rc != 0)
			return store_mdb_err(rc);
	}
	v->sum.feed_seq = ++*feed_seq;
	rc = store__feed_append(txn, s, v->sum.feed_seq, v->sum.ind_id, v->sum.state, now);
	if (rc != 0)
		return rc;
	return store__summary_put(txn, s, c, v);
}

int store__n_ind_get(MDB_txn *txn, struct store *s, uint64_t *n)
{
	MDB_val k = mval("n_ind", 5), d;
	int rc = mdb_get(txn, s->meta, &k, &d);

	*n = 0;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return store_mdb_err(rc);
	if (d.mv_size != 8)
		return STORE_E_CORRUPT;
	*n = store_be64_get(d.mv_data);
	return 0;
}

int store__n_ind_add(MDB_txn *txn, struct store *s, uint64_t add)
{
	uint8_t vb[8];
	MDB_val k = mval("n_ind", 5), d = mval(vb, 8);
	uint64_t n;
	int rc = store__n_ind_get(txn, s, &n);

	if (rc != 0 || add == 0)
		return rc;
	store_be64_put(vb, n + add);
	return store_mdb_err(mdb_put(txn, s->meta, &k, &d, 0));
}

int store__vote_update(MDB_cursor *c, const struct store_item *it)
{
	const struct proto_report *r = it->r;
	struct store_codec_vote cur, nv;
	uint8_t key[VOTE_KEY_LEN], vb[STORE_CODEC_VOTE_LEN];
	MDB_val k = mval(key, sizeof(key)), d;
	int rc;

	vote_key(key, it->ind_id, r->prov, item_voter(it));
	rc = mdb_cursor_get(c, &k, &d, MDB_SET_KEY);
	if (rc == 0) {
		rc = store_codec_vote_decode(&cur, d.mv_data, d.mv_size);
		if (rc != 0)
			return rc;
		if (!vote_wins(r->created_ms, it->report_id, &cur))
			return 0;
	} else if (rc != MDB_NOTFOUND) {
		return store_mdb_err(rc);
	}
	nv.kind = r->kind;
	nv.tlp = r->tlp;
	nv.confidence = r->confidence;
	nv.created_ms = r->created_ms;
	nv.valid_until_ms = r->valid_until_ms;
	memcpy(nv.report_id, it->report_id, 32);
	d = mval(vb, store_codec_vote_encode(&nv, vb));
	return store_mdb_err(mdb_cursor_put(c, &k, &d, 0));
}
