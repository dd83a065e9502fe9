/* SPDX-License-Identifier: MIT */
/*
 * Reads of the main store: a report's bytes or envelope, whether reports are stored, an
 * indicator's summary, its current votes or every report on it, and the change feed. Each
 * runs in the caller's store_read or a read transaction of its own (store/store.h).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"
#include "store/codec.h"
#include "store/mdb.h"
#include "store/store_int.h"

int store_report_get(struct store *s, struct store_read *rd, const uint8_t id[32], uint8_t **out,
		     size_t *len)
{
	MDB_txn *txn;
	MDB_val d;
	int rc;

	struct store_codec_report rec;

	*out = NULL;
	*len = 0;
	if ((rc = store__read_enter(s, rd, &txn)) != 0)
		return rc;
	rc = store_mdb_err(store__rec_find(txn, s, id, &d, NULL));
	if (rc == 0)
		rc = store_codec_report_decode(&rec, d.mv_data, d.mv_size);
	if (rc == 0) {
		d = mval(rec.bytes, rec.len);
		rc = store__copy_out(&d, out, len);
	}
	store__read_leave(s, rd, txn);
	return rc;
}

int store_report_has(struct store *s, struct store_read *rd, const uint8_t (*ids)[32], size_t n,
		     bool *present)
{
	MDB_txn *txn;
	MDB_val d;
	int rc;

	if ((rc = store__read_enter(s, rd, &txn)) != 0)
		return rc;
	for (size_t i = 0; i < n && rc == 0; i++) {
		int g = store__rec_find(txn, s, ids[i], &d, NULL);

		if (g == 0 || g == MDB_NOTFOUND)
			present[i] = g == 0;
		else
			rc = store_mdb_err(g);
	}
	store__read_leave(s, rd, txn);
	return rc;
}

int store_envelope_get(struct store *s, struct store_read *rd, const uint8_t id[32],
		       struct store_envelope *env)
{
	struct store_codec_report rec;
	MDB_txn *txn;
	MDB_val d;
	int rc;

	if ((rc = store__read_enter(s, rd, &txn)) != 0)
		return rc;
	rc = store_mdb_err(store__rec_find(txn, s, id, &d, NULL));
	if (rc == 0)
		rc = store_codec_report_decode(&rec, d.mv_data, d.mv_size);
	store__read_leave(s, rd, txn);
	if (rc == 0) {
		env->local = rec.env.local;
		env->hops = rec.env.hops;
		env->received_ms = rec.env.received_ms;
		memcpy(env->received_from, rec.env.received_from, 32);
	}
	return rc;
}

int store_summary_get(struct store *s, struct store_read *rd, const uint8_t ind_id[32],
		      struct proto_summary *out)
{
	struct store_codec_summary v;
	MDB_txn *txn;
	int rc;

	if ((rc = store__read_enter(s, rd, &txn)) != 0)
		return rc;
	rc = store__summary_get(txn, s, NULL, ind_id, &v);
	store__read_leave(s, rd, txn);
	if (rc == 0) {
		/*
		 * Not *out = v.sum: that copies all 2 KiB of ind.value, ~16 D1 write misses for
		 * each document the export renders. The value is ind.len bytes and its NUL
		 * (store_codec_summary_decode()).
		 */
		_Static_assert(offsetof(struct proto_summary, state) ==
					       offsetof(struct proto_summary, ind) +
						       sizeof(struct proto_indicator) &&
				       sizeof(struct proto_indicator) -
						       offsetof(struct proto_indicator, value) -
						       (PROTO_IND_VALUE_MAX + 1) <
					       _Alignof(struct proto_indicator),
			       "the three copies need ind.value last in ind and state right after");
		memcpy(out, &v.sum, offsetof(struct proto_summary, ind.value));
		memcpy(out->ind.value, v.sum.ind.value, (size_t)v.sum.ind.len + 1);
		memcpy(&out->state, &v.sum.state,
		       sizeof(*out) - offsetof(struct proto_summary, state));
	}
	return rc;
}

/* Look up the signed bytes of @id and hand them to @cb. */
static int report_cb(MDB_txn *txn, struct store *s, const struct store_report_info *info,
		     store_report_cb cb, void *ctx)
{
	struct store_codec_report rec;
	MDB_val d;
	int rc = store__rec_find(txn, s, info->report_id, &d, NULL);

	if (rc == MDB_NOTFOUND)
		return STORE_E_CORRUPT; /* an index names a report that is not stored */
	if (rc != 0)
		return store_mdb_err(rc);
	if ((rc = store_codec_report_decode(&rec, d.mv_data, d.mv_size)) != 0)
		return rc;
	return cb(ctx, info, rec.bytes, rec.len);
}

/*
 * Walk the entries of one indicator under @tag (TAG_VOTE: current votes, revoke tombstones
 * skipped; TAG_INDEX: every report) and hand each report to @cb. Both entry kinds carry the
 * same report facts, in different records.
 */
static int iter_tagged(struct store *s, struct store_read *rd, const uint8_t ind_id[32],
		       uint8_t tag, store_report_cb cb, void *ctx)
{
	struct store_report_info info = {0};
	MDB_txn *txn;
	MDB_cursor *c = NULL;
	MDB_val k, d;
	size_t key_len = tag == TAG_VOTE ? VOTE_KEY_LEN : IDX_KEY_LEN;
	int rc;

	if ((rc = store__read_cursor(s, rd, s->indicators, &txn, &c)) != 0)
		return rc;
	for (rc = tag_first(c, ind_id, tag, &k, &d); rc == 0;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if (!tag_in(&k, ind_id, tag))
			break;
		if (k.mv_size != key_len) {
			rc = STORE_E_CORRUPT;
			goto out;
		}
		if (tag == TAG_VOTE) {
			struct store_codec_vote v;

			if ((rc = store_codec_vote_decode(&v, d.mv_data, d.mv_size)) != 0)
				goto out;
			if (v.kind == PROTO_KIND_REVOKE)
				continue;
			memcpy(info.report_id, v.report_id, 32);
			info.kind = v.kind;
			info.tlp = v.tlp;
			info.confidence = v.confidence;
			info.created_ms = v.created_ms;
			info.valid_until_ms = v.valid_until_ms;
			info.withdrawn = false; /* a withdrawn report has no vote */
		} else {
			struct store_codec_rmeta m;

			if ((rc = store_codec_rmeta_decode(&m, d.mv_data, d.mv_size)) != 0)
				goto out;
			memcpy(info.report_id, (const uint8_t *)k.mv_data + 33, 32);
			info.kind = m.kind;
			info.tlp = m.tlp;
			info.confidence = m.confidence;
			info.created_ms = m.created_ms;
			info.valid_until_ms = m.valid_until_ms;
			info.withdrawn = m.withdrawn;
		}
		if ((rc = report_cb(txn, s, &info, cb, ctx)) != 0)
			goto out;
	}
	rc = (rc == MDB_NOTFOUND || rc == 0) ? 0 : store_mdb_err(rc);
out:
	mdb_cursor_close(c);
	store__read_leave(s, rd, txn);
	return rc;
}

int store_votes_iter(struct store *s, struct store_read *rd, const uint8_t ind_id[32],
		     store_report_cb cb, void *ctx)
{
	return iter_tagged(s, rd, ind_id, TAG_VOTE, cb, ctx);
}

int store_reports_iter(struct store *s, struct store_read *rd, const uint8_t ind_id[32],
		       store_report_cb cb, void *ctx)
{
	return iter_tagged(s, rd, ind_id, TAG_INDEX, cb, ctx);
}

/* ------------------------------------------------------------------ feed */

/* A store_feed_iter() row: the feed record under @seq decoded for the caller's callback. */
struct feed_walk {
	store_feed_cb cb;
	void *ctx;
};

static int feed_row(void *ctx, uint64_t seq, const uint8_t *data, size_t len)
{
	struct feed_walk *fw = ctx;
	struct store_codec_feed f;
	struct store_feed_entry e;
	int rc = store_codec_feed_decode(&f, data, len);

	if (rc != 0)
		return rc;
	e.seq = seq;
	memcpy(e.ind_id, f.ind_id, 32);
	e.state = f.state;
	e.time_ms = f.time_ms;
	return fw->cb(fw->ctx, &e);
}

int store_feed_iter(struct store *s, struct store_read *rd, uint64_t since, size_t limit,
		    store_feed_cb cb, void *ctx)
{
	struct feed_walk fw = {.cb = cb, .ctx = ctx};
	MDB_txn *txn;
	int rc;

	if (since == UINT64_MAX)
		return 0;
	if ((rc = store__read_enter(s, rd, &txn)) != 0)
		return rc;
	rc = store_mdb_seq_walk(txn, s->feed, since, limit, feed_row, &fw);
	store__read_leave(s, rd, txn);
	return rc;
}

int store_feed_last(struct store *s, struct store_read *rd, uint64_t *seq)
{
	MDB_txn *txn;
	int rc;

	if ((rc = store__read_enter(s, rd, &txn)) != 0)
		return rc;
	rc = store__feed_last(txn, s, seq);
	store__read_leave(s, rd, txn);
	return rc;
}
