/* SPDX-License-Identifier: MIT */
/*
 * store_voters_withdraw_step(): the attributed reports of members that left stop voting, when
 * the community says so (store/store.h). The removal variant of store_voters_move()'s pass,
 * in bounded transactions: each step scans the indicators database from where the last one
 * stopped, at most max_keys keys and max_changes changed indicators, always ending at an
 * indicator boundary. Per departed voter, its vote is deleted and its index entries are
 * flagged withdrawn (store_verify() then expects no vote for them); each changed
 * indicator's summary is recomputed with a feed entry, so an indicator only they backed
 * becomes WITHDRAWN and the export retires it. The withdrawn set itself (meta "withdrawn")
 * is written by the first step, so a report of a departed member that is stored while the
 * pass runs, behind or ahead of it, is flagged at ingest (store/ingest.c) and never votes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"
#include "store/codec.h"
#include "store/mdb.h"
#include "store/store_int.h"

#define WITHDRAWN_KEY "withdrawn"
#define EPOCH_KEY "withdraw_epoch"
#define KEYS_DEFAULT 65536
#define CHANGES_DEFAULT 1024

int store__withdrawn_get(MDB_txn *txn, struct store *s, MDB_val *out)
{
	MDB_val k = mval(WITHDRAWN_KEY, strlen(WITHDRAWN_KEY));
	int rc = mdb_get(txn, s->meta, &k, out);

	if (rc == MDB_NOTFOUND) {
		*out = mval(NULL, 0);
		return 0;
	}
	if (rc)
		return store_mdb_err(rc);
	return out->mv_size % 32 ? STORE_E_CORRUPT : 0;
}

static bool ids_has(const uint8_t *ids, size_t n, const uint8_t id[32])
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(ids + 32 * mid, id, 32);

		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

bool store__withdrawn_has(const MDB_val *set, const uint8_t id[32])
{
	return set->mv_size && ids_has(set->mv_data, set->mv_size / 32, id);
}

/* Merge @w's ids into meta "withdrawn" (a union: a step that runs again changes nothing). */
static int set_merge(MDB_txn *txn, struct store *s, const struct store_withdraw *w)
{
	MDB_val cur, k = mval(WITHDRAWN_KEY, strlen(WITHDRAWN_KEY)), d;
	size_t n_cur, n = 0, i = 0, j = 0;
	uint8_t *out;
	int rc = store__withdrawn_get(txn, s, &cur);

	if (rc)
		return rc;
	n_cur = cur.mv_size / 32;
	out = malloc((n_cur + w->n_ids) * 32);
	if (!out)
		return -ENOMEM;
	while (i < n_cur || j < w->n_ids) {
		const uint8_t *a = i < n_cur ? (const uint8_t *)cur.mv_data + 32 * i : NULL;
		const uint8_t *b = j < w->n_ids ? w->ids[j] : NULL;
		int c = !a ? 1 : !b ? -1 : memcmp(a, b, 32);

		memcpy(out + 32 * n++, c <= 0 ? a : b, 32);
		i += c <= 0;
		j += c >= 0;
	}
	d = mval(out, n * 32);
	rc = n == n_cur ? 0 : store_mdb_err(mdb_put(txn, s->meta, &k, &d, 0));
	free(out);
	return rc;
}

struct wd_hit {
	uint8_t key[VOTE_KEY_LEN];
	bool vote; /* a vote to delete (else an index entry to flag) */
};

struct wd_ctx {
	struct store *s;
	struct store_withdraw *w;
	size_t max_keys, max_changes;
	struct wd_hit *hits;
	size_t n_hits, cap;
	uint8_t (*inds)[32]; /* changed indicators, in key order */
	size_t n_inds;
	size_t votes, reports; /* this step's */
	bool end;	       /* the scan reached the end of the database */
	uint8_t next[VOTE_KEY_LEN];
	size_t next_len;
};

static int add_hit(struct wd_ctx *c, const MDB_val *k, bool vote)
{
	struct wd_hit *h;

	if (c->n_hits == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;

		h = realloc(c->hits, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		c->hits = h;
		c->cap = cap;
	}
	h = &c->hits[c->n_hits++];
	memcpy(h->key, k->mv_data, k->mv_size);
	h->vote = vote;
	if (c->n_inds == 0 || memcmp(c->inds[c->n_inds - 1], k->mv_data, 32)) {
		if (c->n_inds == c->max_changes) /* cannot happen: the scan stops first */
			return -EOVERFLOW;
		memcpy(c->inds[c->n_inds++], k->mv_data, 32);
	}
	return 0;
}

/*
 * Collect this step's hits, from w->resume on, until the end of the database or the first
 * indicator boundary after max_keys keys or max_changes changed indicators.
 */
static int scan(MDB_txn *txn, struct wd_ctx *c)
{
	struct store_withdraw *w = c->w;
	struct store_codec_rmeta m;
	uint8_t ind[32];
	bool have_ind = false;
	size_t seen = 0;
	MDB_cursor *cur;
	MDB_val k, d;
	int rc, err = 0;

	if ((rc = mdb_cursor_open(txn, c->s->indicators, &cur)) != 0)
		return store_mdb_err(rc);
	k = mval(w->resume, w->resume_len);
	rc = w->resume_len ? mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE)
			   : mdb_cursor_get(cur, &k, &d, MDB_FIRST);
	for (; rc == 0; rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		const uint8_t *key = k.mv_data;

		if (k.mv_size < 32 || k.mv_size > VOTE_KEY_LEN) {
			err = STORE_E_CORRUPT;
			break;
		}
		if (!have_ind || memcmp(ind, key, 32)) {
			if (have_ind && (seen >= c->max_keys || c->n_inds >= c->max_changes)) {
				memcpy(c->next, key, k.mv_size);
				c->next_len = k.mv_size;
				break;
			}
			memcpy(ind, key, 32);
			have_ind = true;
		}
		seen++;
		if (k.mv_size == VOTE_KEY_LEN && key[32] == TAG_VOTE &&
		    key[33] == PROTO_PROV_ATTRIBUTED && ids_has(*w->ids, w->n_ids, key + 34)) {
			if ((err = add_hit(c, &k, true)))
				break;
		} else if (k.mv_size == IDX_KEY_LEN && key[32] == TAG_INDEX) {
			if ((err = store_codec_rmeta_decode(&m, d.mv_data, d.mv_size)))
				break;
			if (m.prov == PROTO_PROV_ATTRIBUTED && !m.withdrawn &&
			    ids_has(*w->ids, w->n_ids, m.voter) && (err = add_hit(c, &k, false)))
				break;
		}
	}
	mdb_cursor_close(cur);
	if (err)
		return err;
	c->end = rc == MDB_NOTFOUND;
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : store_mdb_err(rc);
}

static int flag_entry(MDB_txn *txn, struct wd_ctx *c, const struct wd_hit *h)
{
	struct store_codec_rmeta m;
	uint8_t vb[STORE_CODEC_RMETA_LEN];
	MDB_val k = mval(h->key, IDX_KEY_LEN), d;
	int rc = mdb_get(txn, c->s->indicators, &k, &d);

	if (rc)
		return store_mdb_err(rc);
	if ((rc = store_codec_rmeta_decode(&m, d.mv_data, d.mv_size)))
		return rc;
	m.withdrawn = true;
	d = mval(vb, store_codec_rmeta_encode(&m, vb));
	c->reports++;
	return store_mdb_err(mdb_put(txn, c->s->indicators, &k, &d, 0));
}

static int step_body(MDB_txn *txn, void *arg)
{
	struct wd_ctx *c = arg;
	uint64_t feed_seq;
	int rc;

	/* The body runs again after a map growth: start this step over. */
	c->n_hits = c->n_inds = c->votes = c->reports = c->next_len = 0;
	c->end = false;
	if ((rc = set_merge(txn, c->s, c->w)) || (rc = scan(txn, c)) ||
	    (rc = store__feed_last(txn, c->s, &feed_seq)))
		return rc;
	for (size_t i = 0; i < c->n_hits; i++) {
		if (!c->hits[i].vote) {
			rc = flag_entry(txn, c, &c->hits[i]);
		} else {
			MDB_val k = mval(c->hits[i].key, VOTE_KEY_LEN);

			rc = store_mdb_err(mdb_del(txn, c->s->indicators, &k, NULL));
			c->votes++;
		}
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < c->n_inds; i++) {
		struct store_codec_summary v;

		if ((rc = store__summary_get(txn, c->s, NULL, c->inds[i], &v)))
			return rc;
		rc = store__summary_commit(txn, c->s, NULL, &v, true, v.sum.state,
					   v.sum.valid_until_ms, &feed_seq, c->w->now_ms);
		if (rc)
			return rc;
	}
	if (c->end) {
		uint8_t eb[8];
		MDB_val k = mval(EPOCH_KEY, strlen(EPOCH_KEY)), d = mval(eb, 8);

		store_be64_put(eb, c->w->epoch);
		return store_mdb_err(mdb_put(txn, c->s->meta, &k, &d, 0));
	}
	return 0;
}

int store_voters_withdraw_step(struct store *s, struct store_withdraw *w)
{
	struct wd_ctx c = {.s = s, .w = w};
	int rc;

	if (!s || !w || (w->n_ids && !w->ids) || w->done)
		return -EINVAL;
	for (size_t i = 1; i < w->n_ids; i++)
		if (memcmp(w->ids[i - 1], w->ids[i], 32) >= 0)
			return -EINVAL;
	c.max_keys = w->max_keys ? w->max_keys : KEYS_DEFAULT;
	c.max_changes = w->max_changes ? w->max_changes : CHANGES_DEFAULT;
	c.inds = malloc(c.max_changes * sizeof(*c.inds));
	if (!c.inds)
		return -ENOMEM;
	rc = store_mdb_write(&s->m, step_body, &c);
	free(c.hits);
	free(c.inds);
	if (rc)
		return rc;
	w->votes += c.votes;
	w->reports += c.reports;
	w->indicators += c.n_inds;
	w->transactions++;
	memcpy(w->resume, c.next, c.next_len);
	w->resume_len = c.next_len;
	w->done = c.end;
	return c.end ? 0 : 1;
}

int store_voters_withdraw_epoch(struct store *s, uint64_t *epoch)
{
	MDB_txn *txn;
	int rc = store__read_enter(s, NULL, &txn);

	*epoch = 0;
	if (rc)
		return rc;
	rc = store_mdb_get_u64(txn, s->meta, EPOCH_KEY, epoch);
	store__read_leave(s, NULL, txn);
	return rc;
}
