/* SPDX-License-Identifier: MIT */
/*
 * The persistent outbox: one entry per (AMBER/RED report, recipient) until the recipient
 * acknowledged it or left the community. Ingest writes the first entries in its own
 * transaction (store/ingest.c); store_apply() uses store__outbox_put_txn() for retries.
 */
#include <errno.h>
#include <string.h>

#include "proto/error.h"
#include "store/codec.h"
#include "store/mdb.h"
#include "store/store_int.h"

struct outbox_put_ctx {
	struct store *s;
	const struct store_outbox_entry *e;
	size_t n;
};

int store__outbox_put_txn(MDB_txn *txn, struct store *s, const struct store_outbox_entry *e,
			  size_t n)
{
	uint8_t key[PAIR_KEY_LEN], vb[STORE_CODEC_OUTBOX_LEN];
	MDB_val k, d;
	int rc;

	for (size_t i = 0; i < n; i++) {
		struct store_codec_outbox ob = {.attempts = e[i].attempts,
						.next_attempt_ms = e[i].next_attempt_ms};

		pair_key(key, e[i].report_id, e[i].recipient);
		k = mval(key, sizeof(key));
		d = mval(vb, store_codec_outbox_encode(&ob, vb));
		if ((rc = mdb_put(txn, s->outbox, &k, &d, 0)) != 0)
			return store_mdb_err(rc);
	}
	return 0;
}

static int outbox_put_body(MDB_txn *txn, void *arg)
{
	struct outbox_put_ctx *oc = arg;

	return store__outbox_put_txn(txn, oc->s, oc->e, oc->n);
}

int store_outbox_put(struct store *s, const struct store_outbox_entry *e, size_t n)
{
	struct outbox_put_ctx oc = {.s = s, .e = e, .n = n};

	if (n && !e)
		return -EINVAL;
	if (n == 0)
		return 0;
	return store_mdb_write(&s->m, outbox_put_body, &oc);
}

struct outbox_del_ctx {
	struct store *s;
	uint8_t key[PAIR_KEY_LEN];
};

static int outbox_del_body(MDB_txn *txn, void *arg)
{
	struct outbox_del_ctx *oc = arg;
	MDB_val k = mval(oc->key, sizeof(oc->key));

	return store_mdb_err(mdb_del(txn, oc->s->outbox, &k, NULL));
}

int store_outbox_del(struct store *s, const uint8_t report_id[32], const uint8_t recipient[32])
{
	struct outbox_del_ctx oc = {.s = s};

	pair_key(oc.key, report_id, recipient);
	return store_mdb_write(&s->m, outbox_del_body, &oc);
}

int store_outbox_due(struct store *s, struct store_read *rd, uint64_t now_ms,
		     struct store_outbox_entry *out, size_t cap, size_t *n)
{
	struct store_codec_outbox ob;
	MDB_txn *txn;
	MDB_cursor *c = NULL;
	MDB_val k, d;
	size_t got = 0;
	int rc;

	*n = 0;
	if (cap == 0)
		return 0;
	if ((rc = store__read_enter(s, rd, &txn)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(txn, s->outbox, &c)) != 0) {
		rc = store_mdb_err(rc);
		goto out;
	}
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0 && got < cap;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if (k.mv_size != PAIR_KEY_LEN) {
			rc = STORE_E_CORRUPT;
			goto out;
		}
		if ((rc = store_codec_outbox_decode(&ob, d.mv_data, d.mv_size)) != 0)
			goto out;
		if (ob.next_attempt_ms > now_ms)
			continue;
		memcpy(out[got].report_id, k.mv_data, 32);
		memcpy(out[got].recipient, (const uint8_t *)k.mv_data + 32, 32);
		out[got].next_attempt_ms = ob.next_attempt_ms;
		out[got].attempts = ob.attempts;
		got++;
	}
	rc = (rc == MDB_NOTFOUND || rc == 0) ? 0 : store_mdb_err(rc);
	*n = got;
out:
	mdb_cursor_close(c);
	store__read_leave(s, rd, txn);
	return rc;
}

struct outbox_drop_ctx {
	struct store *s;
	store_outbox_keep_fn keep;
	void *ctx;
	size_t dropped;
};

static int outbox_drop_body(MDB_txn *txn, void *arg)
{
	struct outbox_drop_ctx *oc = arg;
	MDB_cursor *c = NULL;
	MDB_val k, d;
	int rc;

	oc->dropped = 0; /* the body may run again after a map growth */
	if ((rc = mdb_cursor_open(txn, oc->s->outbox, &c)) != 0)
		return store_mdb_err(rc);
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if (k.mv_size != PAIR_KEY_LEN) {
			rc = STORE_E_CORRUPT;
			break;
		}
		if (oc->keep(oc->ctx, (const uint8_t *)k.mv_data + 32))
			continue;
		if ((rc = mdb_cursor_del(c, 0)) != 0)
			break;
		oc->dropped++;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : store_mdb_err(rc);
}

int store_outbox_drop(struct store *s, store_outbox_keep_fn keep, void *ctx, size_t *n_dropped)
{
	struct outbox_drop_ctx oc = {.s = s, .keep = keep, .ctx = ctx};
	int rc;

	if (!keep)
		return -EINVAL;
	rc = store_mdb_write(&s->m, outbox_drop_body, &oc);
	if (n_dropped)
		*n_dropped = rc == 0 ? oc.dropped : 0;
	return rc;
}
