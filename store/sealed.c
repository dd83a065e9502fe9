/* SPDX-License-Identifier: MIT */
/*
 * Sealed sightings in the main store (store/sealed.h). The submissions database is keyed by
 * group || ring tag so that a group is one contiguous range (opening reads it with one
 * cursor) and a member's second copy of one value is the same key (deduplication is a
 * lookup). Expiry walks a second index in bucket order.
 */
#include "store/sealed.h"

#include <errno.h>
#include <string.h>

#include "proto/error.h"
#include "proto/summary.h"
#include "store/codec.h"
#include "store/mdb.h"
#include "store/store_int.h"

#define EXP_KEY_LEN (4 + STORE_SEALED_KEY_LEN)
#define QUOTA_KEY_LEN 36
/*
 * opened_ms, updated_ms, count, first, last, confidence, type, value length, group,
 * feed sequence, value
 */
#define OPENED_FIXED (8 + 8 + 4 + 4 + 4 + 1 + 1 + 2 + 32 + 8)

/* ------------------------------------------------------------------ submissions */

struct put_ctx {
	struct store *s;
	struct store_sealed_item *items;
	size_t n;
};

static int put_body(MDB_txn *txn, void *arg)
{
	struct put_ctx *pc = arg;
	struct store *s = pc->s;
	uint8_t key[STORE_SEALED_KEY_LEN], ekey[EXP_KEY_LEN];
	MDB_val k, d, e;
	int rc;

	for (size_t i = 0; i < pc->n; i++) {
		struct store_sealed_item *it = &pc->items[i];

		it->stored = false; /* the body may run again after a map growth */
		memcpy(key, it->group, 32);
		memcpy(key + 32, it->tag, 32);
		k = mval(key, sizeof(key));
		d.mv_size = 4 + it->len;
		rc = mdb_put(txn, s->sealed, &k, &d, MDB_NOOVERWRITE | MDB_RESERVE);
		if (rc == MDB_KEYEXIST)
			continue;
		if (rc != 0)
			return store_mdb_err(rc);
		store_be32_put(d.mv_data, it->bucket);
		memcpy((uint8_t *)d.mv_data + 4, it->bytes, it->len);
		store_be32_put(ekey, it->bucket);
		memcpy(ekey + 4, key, sizeof(key));
		k = mval(ekey, sizeof(ekey));
		e = mval("", 0);
		if ((rc = mdb_put(txn, s->sealed_exp, &k, &e, 0)) != 0)
			return store_mdb_err(rc);
		it->stored = true;
	}
	return 0;
}

int store_sealed_put(struct store *s, struct store_sealed_item *items, size_t n)
{
	struct put_ctx pc = {.s = s, .items = items, .n = n};

	for (size_t i = 0; i < n; i++)
		if (!items[i].group || !items[i].tag || !items[i].bytes || !items[i].len)
			return -EINVAL;
	if (n == 0)
		return 0;
	return store_mdb_write(&s->m, put_body, &pc);
}

int store_sealed_has(struct store *s, struct store_read *rd, const uint8_t key[64])
{
	MDB_txn *txn;
	MDB_val k = mval(key, STORE_SEALED_KEY_LEN), d;
	int rc;

	if ((rc = store__read_enter(s, rd, &txn)) != 0)
		return rc;
	rc = mdb_get(txn, s->sealed, &k, &d);
	rc = rc == 0 ? 1 : rc == MDB_NOTFOUND ? 0 : store_mdb_err(rc);
	store__read_leave(s, rd, txn);
	return rc;
}

/* Walk submissions from @start (inclusive) while the key starts with @prefix (@plen bytes). */
static int walk(struct store *s, struct store_read *rd, const uint8_t *start, size_t slen,
		bool skip_start, const uint8_t *prefix, size_t plen, size_t limit,
		store_sealed_cb cb, void *ctx)
{
	MDB_txn *txn;
	MDB_cursor *c = NULL;
	MDB_val k, d;
	size_t seen = 0;
	int rc, op = MDB_SET_RANGE;

	if ((rc = store__read_cursor(s, rd, s->sealed, &txn, &c)) != 0)
		return rc;
	k = mval(start, slen);
	if (slen == 0)
		op = MDB_FIRST;
	for (rc = mdb_cursor_get(c, &k, &d, op); rc == 0;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if (k.mv_size != STORE_SEALED_KEY_LEN || d.mv_size <= 4) {
			rc = STORE_E_CORRUPT;
			goto out;
		}
		if (plen && memcmp(k.mv_data, prefix, plen) != 0)
			break;
		if (skip_start && memcmp(k.mv_data, start, slen) == 0)
			continue;
		if (limit && seen == limit)
			break;
		seen++;
		rc = cb(ctx, k.mv_data, store_be32_get(d.mv_data), (const uint8_t *)d.mv_data + 4,
			d.mv_size - 4);
		if (rc != 0)
			goto out;
	}
	rc = (rc == 0 || rc == MDB_NOTFOUND) ? (int)seen : store_mdb_err(rc);
	if (rc > 0 && !limit)
		rc = 0;
out:
	mdb_cursor_close(c);
	store__read_leave(s, rd, txn);
	return rc;
}

int store_sealed_group(struct store *s, struct store_read *rd, const uint8_t g[32],
		       store_sealed_cb cb, void *ctx)
{
	return walk(s, rd, g, 32, false, g, 32, 0, cb, ctx);
}

int store_sealed_scan(struct store *s, struct store_read *rd, const uint8_t *after, size_t limit,
		      store_sealed_cb cb, void *ctx)
{
	if (limit == 0)
		return -EINVAL;
	return walk(s, rd, after, after ? STORE_SEALED_KEY_LEN : 0, after != NULL, NULL, 0, limit,
		    cb, ctx);
}

struct expire_ctx {
	struct store *s;
	uint32_t oldest_bucket, oldest_day;
	size_t max, deleted;
};

static int expire_body(MDB_txn *txn, void *arg)
{
	struct expire_ctx *ec = arg;
	MDB_cursor *c = NULL;
	MDB_val k, d, sk;
	int rc;

	ec->deleted = 0;
	if ((rc = mdb_cursor_open(txn, ec->s->sealed_exp, &c)) != 0)
		return store_mdb_err(rc);
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if (k.mv_size != EXP_KEY_LEN) {
			rc = STORE_E_CORRUPT;
			goto out;
		}
		if (store_be32_get(k.mv_data) >= ec->oldest_bucket ||
		    (ec->max && ec->deleted == ec->max))
			break;
		sk = mval((const uint8_t *)k.mv_data + 4, STORE_SEALED_KEY_LEN);
		rc = mdb_del(txn, ec->s->sealed, &sk, NULL);
		if (rc != 0 && rc != MDB_NOTFOUND)
			goto out_mdb;
		if ((rc = mdb_cursor_del(c, 0)) != 0)
			goto out_mdb;
		ec->deleted++;
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		goto out_mdb;
	mdb_cursor_close(c);
	if ((rc = mdb_cursor_open(txn, ec->s->sealed_quota, &c)) != 0)
		return store_mdb_err(rc);
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if (k.mv_size != QUOTA_KEY_LEN) {
			rc = STORE_E_CORRUPT;
			goto out;
		}
		if (store_be32_get((const uint8_t *)k.mv_data + 32) < ec->oldest_day &&
		    (rc = mdb_cursor_del(c, 0)) != 0)
			goto out_mdb;
	}
	rc = rc == MDB_NOTFOUND ? 0 : rc;
out_mdb:
	rc = store_mdb_err(rc);
out:
	mdb_cursor_close(c);
	return rc;
}

int store_sealed_expire(struct store *s, uint32_t oldest_bucket, uint32_t oldest_day, size_t max,
			size_t *n_deleted)
{
	struct expire_ctx ec = {
		.s = s, .oldest_bucket = oldest_bucket, .oldest_day = oldest_day, .max = max};
	int rc = store_mdb_write(&s->m, expire_body, &ec);

	if (n_deleted)
		*n_deleted = rc == 0 ? ec.deleted : 0;
	return rc;
}

struct delete_ctx {
	struct store *s;
	const uint8_t (*keys)[STORE_SEALED_KEY_LEN];
	size_t n, deleted;
};

static int delete_body(MDB_txn *txn, void *arg)
{
	struct delete_ctx *dc = arg;
	uint8_t ekey[EXP_KEY_LEN];
	MDB_val k, d;
	int rc;

	dc->deleted = 0;
	for (size_t i = 0; i < dc->n; i++) {
		k = mval(dc->keys[i], STORE_SEALED_KEY_LEN);
		rc = mdb_get(txn, dc->s->sealed, &k, &d);
		if (rc == MDB_NOTFOUND)
			continue;
		if (rc != 0)
			return store_mdb_err(rc);
		if (d.mv_size < 4)
			return STORE_E_CORRUPT;
		memcpy(ekey, d.mv_data, 4); /* the bucket, big-endian as in the expiry key */
		memcpy(ekey + 4, dc->keys[i], STORE_SEALED_KEY_LEN);
		if ((rc = mdb_del(txn, dc->s->sealed, &k, NULL)) != 0)
			return store_mdb_err(rc);
		k = mval(ekey, sizeof(ekey));
		rc = mdb_del(txn, dc->s->sealed_exp, &k, NULL);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return store_mdb_err(rc);
		dc->deleted++;
	}
	return 0;
}

int store_sealed_delete(struct store *s, const uint8_t (*keys)[STORE_SEALED_KEY_LEN], size_t n,
			size_t *n_deleted)
{
	struct delete_ctx dc = {.s = s, .keys = keys, .n = n};
	int rc = n ? store_mdb_write(&s->m, delete_body, &dc) : 0;

	if (n_deleted)
		*n_deleted = rc == 0 ? dc.deleted : 0;
	return rc;
}

/* ------------------------------------------------------------------ quota */

struct quota_ctx {
	struct store *s;
	uint8_t key[QUOTA_KEY_LEN];
	uint64_t n, quota, left;
	bool granted;
};

static int quota_body(MDB_txn *txn, void *arg)
{
	struct quota_ctx *qc = arg;
	MDB_val k = mval(qc->key, sizeof(qc->key)), d;
	uint8_t vb[8];
	uint64_t used = 0;
	int rc = mdb_get(txn, qc->s->sealed_quota, &k, &d);

	if (rc == 0) {
		if (d.mv_size != 8)
			return STORE_E_CORRUPT;
		used = store_be64_get(d.mv_data);
	} else if (rc != MDB_NOTFOUND) {
		return store_mdb_err(rc);
	}
	qc->granted = used <= qc->quota && qc->n <= qc->quota - used;
	if (!qc->granted) {
		qc->left = used < qc->quota ? qc->quota - used : 0;
		return 0;
	}
	used += qc->n;
	qc->left = qc->quota - used;
	store_be64_put(vb, used);
	d = mval(vb, sizeof(vb));
	return store_mdb_err(mdb_put(txn, qc->s->sealed_quota, &k, &d, 0));
}

int store_sealed_quota_take(struct store *s, const uint8_t member[32], uint32_t day, uint64_t n,
			    uint64_t quota, bool *granted, uint64_t *left)
{
	struct quota_ctx qc = {.s = s, .n = n, .quota = quota};
	int rc;

	memcpy(qc.key, member, 32);
	store_be32_put(qc.key + 32, day);
	rc = store_mdb_write(&s->m, quota_body, &qc);
	*granted = rc == 0 && qc.granted;
	*left = rc == 0 ? qc.left : 0;
	return rc;
}

/* ------------------------------------------------------------------ opened groups */

static size_t opened_encode(const struct store_sealed_opened *o, uint8_t *out)
{
	store_be64_put(out, o->opened_ms);
	store_be64_put(out + 8, o->updated_ms);
	store_be32_put(out + 16, o->count);
	store_be32_put(out + 20, o->first_bucket);
	store_be32_put(out + 24, o->last_bucket);
	out[28] = o->confidence;
	out[29] = o->ind.type;
	out[30] = (uint8_t)(o->ind.len >> 8);
	out[31] = (uint8_t)o->ind.len;
	memcpy(out + 32, o->group, 32);
	store_be64_put(out + 64, o->feed_seq);
	memcpy(out + OPENED_FIXED, o->ind.value, o->ind.len);
	return OPENED_FIXED + o->ind.len;
}

static int opened_decode(struct store_sealed_opened *o, const uint8_t *p, size_t len)
{
	size_t vlen;

	if (len < OPENED_FIXED)
		return STORE_E_CORRUPT;
	vlen = (size_t)p[30] << 8 | p[31];
	if (vlen > PROTO_IND_VALUE_MAX || len != OPENED_FIXED + vlen)
		return STORE_E_CORRUPT;
	memcpy(o->group, p + 32, 32);
	o->feed_seq = store_be64_get(p + 64);
	o->opened_ms = store_be64_get(p);
	o->updated_ms = store_be64_get(p + 8);
	o->count = store_be32_get(p + 16);
	o->first_bucket = store_be32_get(p + 20);
	o->last_bucket = store_be32_get(p + 24);
	o->confidence = p[28];
	o->ind.type = p[29];
	o->ind.len = (uint16_t)vlen;
	memcpy(o->ind.value, p + OPENED_FIXED, vlen);
	o->ind.value[vlen] = 0;
	return 0;
}

struct opened_ctx {
	struct store *s;
	const struct store_sealed_opened *o;
	bool changed;
};

static int opened_body(MDB_txn *txn, void *arg)
{
	struct opened_ctx *oc = arg;
	struct store_sealed_opened held, rec = *oc->o;
	uint8_t vb[OPENED_FIXED + PROTO_IND_VALUE_MAX], id[32], state = PROTO_SUMMARY_ACTIVE;
	struct store_codec_summary sv;
	MDB_val k = mval(id, 32), d;
	uint64_t seq;
	int rc;

	proto_indicator_id(&rec.ind, id);
	rc = mdb_get(txn, oc->s->sealed_open, &k, &d);
	oc->changed = false;
	if (rc == 0) {
		if ((rc = opened_decode(&held, d.mv_data, d.mv_size)) != 0)
			return rc;
		if (held.count >= rec.count)
			return 0;
		rec.opened_ms = held.opened_ms;
	} else if (rc != MDB_NOTFOUND) {
		return store_mdb_err(rc);
	}
	/*
	 * A feed entry makes the exporter render the opening (as the indicator's state when
	 * reports on it exist too); its sequence in the record lets the exporter skip older
	 * entries of the same opening.
	 */
	if ((rc = store__feed_last(txn, oc->s, &seq)) != 0)
		return rc;
	rc = store__summary_get(txn, oc->s, NULL, id, &sv);
	if (rc == 0)
		state = sv.sum.state;
	else if (rc != STORE_E_NOT_FOUND)
		return rc;
	rec.feed_seq = seq + 1;
	if ((rc = store__feed_append(txn, oc->s, rec.feed_seq, id, state, rec.updated_ms)) != 0)
		return rc;
	d = mval(vb, opened_encode(&rec, vb));
	if ((rc = mdb_put(txn, oc->s->sealed_open, &k, &d, 0)) != 0)
		return store_mdb_err(rc);
	oc->changed = true;
	return 0;
}

int store_sealed_opened_put(struct store *s, const struct store_sealed_opened *o, bool *changed)
{
	struct opened_ctx oc = {.s = s, .o = o};
	int rc;

	if (o->ind.len > PROTO_IND_VALUE_MAX)
		return -EINVAL;
	rc = store_mdb_write(&s->m, opened_body, &oc);
	if (changed)
		*changed = rc == 0 && oc.changed;
	return rc;
}

int store_sealed_opened_get(struct store *s, struct store_read *rd, const uint8_t ind_id[32],
			    struct store_sealed_opened *out)
{
	MDB_txn *txn;
	MDB_val k = mval(ind_id, 32), d;
	int rc;

	if ((rc = store__read_enter(s, rd, &txn)) != 0)
		return rc;
	rc = mdb_get(txn, s->sealed_open, &k, &d);
	rc = rc == 0 ? opened_decode(out, d.mv_data, d.mv_size) : store_mdb_err(rc);
	store__read_leave(s, rd, txn);
	return rc;
}

int store_sealed_opened_iter(struct store *s, struct store_read *rd,
			     int (*cb)(void *ctx, const struct store_sealed_opened *o), void *ctx)
{
	struct store_sealed_opened o;
	MDB_txn *txn;
	MDB_cursor *c = NULL;
	MDB_val k, d;
	int rc;

	if ((rc = store__read_cursor(s, rd, s->sealed_open, &txn, &c)) != 0)
		return rc;
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if (k.mv_size != 32) {
			rc = STORE_E_CORRUPT;
			goto out;
		}
		if ((rc = opened_decode(&o, d.mv_data, d.mv_size)) != 0 || (rc = cb(ctx, &o)) != 0)
			goto out;
	}
	rc = rc == MDB_NOTFOUND ? 0 : store_mdb_err(rc);
out:
	mdb_cursor_close(c);
	store__read_leave(s, rd, txn);
	return rc;
}

int store_sealed_counts(struct store *s, struct store_read *rd, uint64_t *held, uint64_t *opened)
{
	MDB_txn *txn;
	MDB_stat st;
	int rc;

	if ((rc = store__read_enter(s, rd, &txn)) != 0)
		return rc;
	if ((rc = mdb_stat(txn, s->sealed, &st)) == 0) {
		*held = st.ms_entries;
		if ((rc = mdb_stat(txn, s->sealed_open, &st)) == 0)
			*opened = st.ms_entries;
	}
	store__read_leave(s, rd, txn);
	return store_mdb_err(rc);
}
