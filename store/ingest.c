/* SPDX-License-Identifier: MIT */
/*
 * Writes of reports: store_apply() (a batch of reports, outbox puts and deletions in one
 * write transaction), store_ingest() and expiry.
 *
 * Ingest runs in two phases inside one write transaction. Phase A walks the items in order:
 * the id lookup is the dedup test (the hint already holds earlier items of the batch, so it
 * also catches a report repeated inside it), then the record with its envelope, the recon
 * entry and the outbox entries are written. Phase B groups the new reports by indicator and,
 * for each indicator, reads the summary once, writes each new report's index entry and its
 * voter's vote, applies the counters of its new reports, recomputes the vote-derived fields
 * from the votes, moves the expiry index entry and appends one feed entry
 * (store/indicator.c). Summaries are therefore only ever written in a consistent state, which
 * the strict decoder in codec.c checks on every read.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"
#include "proto/indicator.h"
#include "store/codec.h"
#include "store/hint.h"
#include "store/mdb.h"
#include "store/store_int.h"

/* ------------------------------------------------------------------ ingest */

static int validate_item(struct store_item *it)
{
	const struct proto_report *r = it->r;

	if (!r || !it->bytes || it->len == 0)
		return -EINVAL;
	if (it->len > PROTO_REPORT_MAX_BYTES)
		return PROTO_E_TOO_LARGE;
	if (r->kind > PROTO_KIND_REVOKE)
		return PROTO_E_REPORT_KIND;
	if (r->tlp < PROTO_TLP_CLEAR || r->tlp > PROTO_TLP_RED)
		return PROTO_E_REPORT_TLP;
	if (r->confidence > 100)
		return PROTO_E_REPORT_CONFIDENCE;
	if (r->ind_type < PROTO_IND_TYPE_MIN || r->ind_type > PROTO_IND_TYPE_MAX)
		return PROTO_E_IND_TYPE;
	if (!r->ind_value.ptr || r->ind_value.len == 0 || r->ind_value.len > PROTO_IND_VALUE_MAX ||
	    memchr(r->ind_value.ptr, 0, r->ind_value.len))
		return PROTO_E_IND_VALUE;
	if (r->prov > PROTO_PROV_ANONYMOUS)
		return PROTO_E_REPORT_PROVENANCE;
	if (r->valid_until_ms != 0 && r->valid_until_ms < r->created_ms)
		return PROTO_E_REPORT_TIME;
	if (it->n_outbox && (!it->outbox_to || r->tlp < PROTO_TLP_AMBER))
		return -EINVAL;
	return 0;
}

struct ingest_ctx {
	struct store *s;
	struct store_item *items;
	size_t n;
	uint64_t now;
	int *pre;      /* validation result per item (0 = valid) */
	size_t *order; /* indexes of NEW items, sorted by indicator id */
	size_t n_new;
	MDB_cursor *cur;   /* on indicators, shared by every step of the body */
	MDB_cursor *rcur;  /* on reports: every new record is appended through it */
	uint64_t next_seq; /* sequence of the next new record */
	MDB_val withdrawn; /* meta "withdrawn" for this transaction (store__withdrawn_get()) */
	struct store__recon_delta sums; /* recon_sums changes, written before the commit */
};

/* Phase A for one valid item: returns STORE_NEW, STORE_DUP or an error. */
static int ingest_one(MDB_txn *txn, struct ingest_ctx *ic, struct store_item *it)
{
	struct store *s = ic->s;
	const struct proto_report *r = it->r;
	struct store_codec_report rec;
	struct store_codec_outbox ob = {.attempts = 0, .next_attempt_ms = ic->now};
	uint8_t key[PAIR_KEY_LEN], vb[STORE_CODEC_OUTBOX_LEN];
	MDB_val k, d;
	int rc;

	/* The dedup test (also against earlier items of this batch: the hint has them). */
	rc = store__rec_find(txn, s, it->report_id, &d, NULL);
	if (rc == 0)
		return STORE_DUP;
	if (rc != MDB_NOTFOUND)
		return store_mdb_err(rc);
	if (ic->next_seq > UINT32_MAX)
		return -EOVERFLOW;
	/* Append the record, reserved in place, then tell the hint where it is. */
	rec_key(key, ic->next_seq, it->report_id);
	k = mval(key, REC_KEY_LEN);
	d = mval(NULL, STORE_CODEC_REPORT_HEAD + it->len);
	rc = mdb_cursor_put(ic->rcur, &k, &d, MDB_APPEND | MDB_RESERVE);
	if (rc != 0)
		return store_mdb_err(rc);
	rc = store_hint_add(&s->hint, it->report_id, (uint32_t)ic->next_seq);
	/* A full segment of the hint is rebuilt bigger; then this id goes in. */
	if (rc == -ENOSPC && (rc = store__hint_grow(txn, s, it->report_id)) == 0)
		rc = store_hint_add(&s->hint, it->report_id, (uint32_t)ic->next_seq);
	if (rc != 0)
		return rc;
	ic->next_seq++;
	memcpy(rec.ind_id, it->ind_id, 32);
	rec.env.local = it->env.local;
	rec.env.hops = it->env.hops;
	rec.env.received_ms = it->env.received_ms;
	memcpy(rec.env.received_from, it->env.received_from, 32);
	store_codec_report_head_encode(&rec, d.mv_data);
	memcpy((uint8_t *)d.mv_data + STORE_CODEC_REPORT_HEAD, it->bytes, it->len);

	if (r->tlp <= PROTO_TLP_GREEN) {
		store_recon_key(key, r->created_ms, it->report_id);
		k = mval(key, STORE_RECON_KEY_LEN);
		d = mval(NULL, 0);
		rc = mdb_put(txn, s->recon, &k, &d, MDB_NOOVERWRITE);
		if (rc == 0)
			rc = store__recon_sum_add(txn, s, &ic->sums, r->created_ms, it->report_id);
		else if (rc == MDB_KEYEXIST)
			rc = 0; /* already an item, so already in the sums */
		else
			return store_mdb_err(rc);
		if (rc != 0)
			return rc;
	}

	for (size_t j = 0; j < it->n_outbox; j++) {
		pair_key(key, it->report_id, it->outbox_to + 32 * j);
		k = mval(key, PAIR_KEY_LEN);
		d = mval(vb, store_codec_outbox_encode(&ob, vb));
		if ((rc = mdb_put(txn, s->outbox, &k, &d, 0)) != 0)
			return store_mdb_err(rc);
	}

	return STORE_NEW;
}

/*
 * Phase B for one NEW item: its entry in the indicator's report index and the voter's vote.
 * Written in indicator order, after the indicator's summary was read, through the same
 * cursor: the summary, the index entries and the votes of one indicator are neighbours, so
 * only the summary read descends from the root (in input order each report cost one more
 * descent of the deepest tree).
 */
static int ingest_index(struct ingest_ctx *ic, const struct store_item *it)
{
	const struct proto_report *r = it->r;
	struct store_codec_rmeta rm;
	uint8_t key[IDX_KEY_LEN], vb[STORE_CODEC_RMETA_LEN];
	MDB_val k, d;
	int rc;

	rm.kind = r->kind;
	rm.tlp = r->tlp;
	rm.confidence = r->confidence;
	rm.prov = r->prov;
	rm.created_ms = r->created_ms;
	rm.valid_until_ms = r->valid_until_ms;
	memcpy(rm.voter, item_voter(it), 32);
	/* A departed member's report, when the community withdraws them: stored, no vote. */
	rm.withdrawn =
		r->prov == PROTO_PROV_ATTRIBUTED && store__withdrawn_has(&ic->withdrawn, rm.voter);
	idx_key(key, it->ind_id, it->report_id);
	k = mval(key, IDX_KEY_LEN);
	d = mval(vb, store_codec_rmeta_encode(&rm, vb));
	if ((rc = mdb_cursor_put(ic->cur, &k, &d, 0)) != 0)
		return store_mdb_err(rc);
	if (r->kind != PROTO_KIND_SIGHTING && !rm.withdrawn)
		return store__vote_update(ic->cur, it);
	return 0;
}

static int cmp_order(const void *a, const void *b, void *arg)
{
	const struct store_item *items = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = memcmp(items[x].ind_id, items[y].ind_id, 32);

	if (c)
		return c;
	return x < y ? -1 : x > y;
}

static int ingest_steps(MDB_txn *txn, struct ingest_ctx *ic);

static int ingest_body(MDB_txn *txn, void *arg)
{
	struct ingest_ctx *ic = arg;
	MDB_val k, d;
	int rc = mdb_cursor_open(txn, ic->s->indicators, &ic->cur);

	if (rc != 0)
		return store_mdb_err(rc);
	if ((rc = mdb_cursor_open(txn, ic->s->reports, &ic->rcur)) != 0) {
		rc = store_mdb_err(rc);
		goto out;
	}
	if ((rc = store__withdrawn_get(txn, ic->s, &ic->withdrawn)) != 0)
		goto out;
	rc = mdb_cursor_get(ic->rcur, &k, &d, MDB_LAST);
	if (rc == 0 && k.mv_size == REC_KEY_LEN) {
		ic->next_seq = store_be64_get(k.mv_data) + 1;
	} else if (rc == MDB_NOTFOUND) {
		ic->next_seq = 1;
	} else {
		rc = rc ? store_mdb_err(rc) : STORE_E_CORRUPT;
		goto out;
	}
	ic->sums.n = 0;
	rc = ingest_steps(txn, ic);
	if (rc == 0)
		rc = store__recon_sums_flush(txn, ic->s, &ic->sums);
out:
	mdb_cursor_close(ic->rcur);
	mdb_cursor_close(ic->cur);
	ic->cur = ic->rcur = NULL;
	return rc;
}

static int ingest_steps(MDB_txn *txn, struct ingest_ctx *ic)
{
	struct store *s = ic->s;
	uint64_t seq, created = 0;
	int rc;

	ic->n_new = 0;
	for (size_t i = 0; i < ic->n; i++) {
		struct store_item *it = &ic->items[i];

		if (ic->pre[i] != 0) {
			it->result = ic->pre[i];
			continue;
		}
		rc = ingest_one(txn, ic, it);
		if (rc < 0)
			return rc;
		it->result = rc;
		if (rc == STORE_NEW)
			ic->order[ic->n_new++] = i;
	}
	if (ic->n_new == 0)
		return 0;

	rc = store__feed_last(txn, s, &seq);
	if (rc != 0)
		return rc;
	qsort_r(ic->order, ic->n_new, sizeof(*ic->order), cmp_order, ic->items);
	for (size_t g = 0; g < ic->n_new;) {
		struct store_item *first = &ic->items[ic->order[g]];
		struct store_codec_summary v;
		bool existed;
		uint8_t old_state = 0;
		uint64_t old_vu = 0;
		size_t e;

		rc = store__summary_get(txn, s, ic->cur, first->ind_id, &v);
		if (rc == 0) {
			existed = true;
			old_state = v.sum.state;
			old_vu = v.sum.valid_until_ms;
		} else if (rc == STORE_E_NOT_FOUND) {
			existed = false;
			created++;
			store__summary_init(&v, first->ind_id, first->r);
		} else {
			return rc;
		}
		for (e = g; e < ic->n_new &&
			    memcmp(ic->items[ic->order[e]].ind_id, first->ind_id, 32) == 0;
		     e++) {
			if ((rc = ingest_index(ic, &ic->items[ic->order[e]])) != 0)
				return rc;
			store__summary_count(&v, ic->items[ic->order[e]].r);
		}
		rc = store__summary_commit(txn, s, ic->cur, &v, existed, old_state, old_vu, &seq,
					   ic->now);
		if (rc != 0)
			return rc;
		g = e;
	}
	return store__n_ind_add(txn, s, created);
}

struct apply_ctx {
	struct ingest_ctx ic;
	struct store_batch *b;
};

static int apply_body(MDB_txn *txn, void *arg)
{
	struct apply_ctx *ac = arg;
	struct store_batch *b = ac->b;
	struct store *s = ac->ic.s;
	uint8_t key[PAIR_KEY_LEN];
	MDB_val k;
	int rc;

	b->n_deleted = 0;
	if (b->n_items && (rc = ingest_body(txn, &ac->ic)) != 0)
		return rc;
	if ((rc = store__outbox_put_txn(txn, s, b->puts, b->n_puts)) != 0)
		return rc;
	for (size_t i = 0; i < b->n_dels; i++) {
		pair_key(key, b->dels[i].report_id, b->dels[i].recipient);
		k = mval(key, sizeof(key));
		rc = mdb_del(txn, s->outbox, &k, NULL);
		if (rc == 0)
			b->n_deleted++;
		else if (rc != MDB_NOTFOUND)
			return store_mdb_err(rc);
	}
	return 0;
}

int store_apply(struct store *s, struct store_batch *b, uint64_t now_ms)
{
	struct apply_ctx ac = {.b = b};
	struct ingest_ctx *ic = &ac.ic;
	size_t n;
	int rc;

	if (!s || !b || (b->n_items && !b->items) || (b->n_puts && !b->puts) ||
	    (b->n_dels && !b->dels))
		return -EINVAL;
	n = b->n_items;
	b->n_deleted = 0;
	if (n == 0 && b->n_puts == 0 && b->n_dels == 0)
		return 0;
	*ic = (struct ingest_ctx){.s = s, .items = b->items, .n = n, .now = now_ms};
	ic->pre = calloc(n ? n : 1, sizeof(*ic->pre));
	ic->order = calloc(n ? n : 1, sizeof(*ic->order));
	if (!ic->pre || !ic->order) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct store_item *it = &b->items[i];

		it->result = 0;
		ic->pre[i] = validate_item(it);
		if (ic->pre[i] == 0)
			proto_indicator_id_raw(it->r->ind_type, it->r->ind_value.ptr,
					       it->r->ind_value.len, it->ind_id);
	}
	rc = store_mdb_write(&s->m, apply_body, &ac);
	if (rc != 0) {
		for (size_t i = 0; i < n; i++)
			b->items[i].result = 0;
		b->n_deleted = 0;
	}
out:
	free(ic->pre);
	free(ic->order);
	return rc;
}

int store_ingest(struct store *s, struct store_item *items, size_t n, uint64_t now_ms)
{
	struct store_batch b = {.items = items, .n_items = n};

	if (!s || (n && !items))
		return -EINVAL;
	return store_apply(s, &b, now_ms);
}

/* ------------------------------------------------------------------ expiry */

struct expire_ctx {
	struct store *s;
	uint64_t now;
	size_t max, done;
};

static int expire_body(MDB_txn *txn, void *arg)
{
	struct expire_ctx *ec = arg;
	struct store *s = ec->s;
	struct store_codec_summary v;
	MDB_cursor *c = NULL;
	MDB_val k, d;
	uint64_t seq, t;
	uint8_t key[EXPIRY_KEY_LEN];
	int rc;

	ec->done = 0;
	rc = store__feed_last(txn, s, &seq);
	if (rc != 0)
		return rc;
	while (ec->max == 0 || ec->done < ec->max) {
		rc = mdb_cursor_open(txn, s->expiry, &c);
		if (rc != 0)
			return store_mdb_err(rc);
		rc = mdb_cursor_get(c, &k, &d, MDB_FIRST);
		if (rc == 0 && k.mv_size == EXPIRY_KEY_LEN)
			memcpy(key, k.mv_data, EXPIRY_KEY_LEN);
		else if (rc == 0)
			rc = STORE_E_CORRUPT;
		mdb_cursor_close(c);
		if (rc == MDB_NOTFOUND)
			break;
		if (rc != 0)
			return rc < 0 ? rc : store_mdb_err(rc);
		t = store_be64_get(key);
		if (t > ec->now)
			break;
		k = mval(key, EXPIRY_KEY_LEN);
		if ((rc = mdb_del(txn, s->expiry, &k, NULL)) != 0)
			return store_mdb_err(rc);
		rc = store__summary_get(txn, s, NULL, key + 8, &v);
		if (rc == STORE_E_NOT_FOUND)
			continue; /* a stale entry (store_verify reports them): drop it */
		if (rc != 0)
			return rc;
		if (v.sum.state != PROTO_SUMMARY_ACTIVE || v.sum.valid_until_ms != t)
			continue;
		v.sum.state = PROTO_SUMMARY_EXPIRED;
		v.sum.feed_seq = ++seq;
		rc = store__feed_append(txn, s, seq, v.sum.ind_id, v.sum.state, ec->now);
		if (rc != 0)
			return rc;
		rc = store__summary_put(txn, s, NULL, &v);
		if (rc != 0)
			return rc;
		ec->done++;
	}
	return 0;
}

int store_expire(struct store *s, uint64_t now_ms, size_t max, size_t *n_expired)
{
	struct expire_ctx ec = {.s = s, .now = now_ms, .max = max};
	int rc;

	if (n_expired)
		*n_expired = 0;
	rc = store_mdb_write(&s->m, expire_body, &ec);
	if (rc == 0 && n_expired)
		*n_expired = ec.done;
	return rc;
}
