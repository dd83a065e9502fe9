/* SPDX-License-Identifier: MIT */
/*
 * The persistent outbox: one entry per (AMBER/RED report, recipient) until the recipient
 * acknowledged it or left the community. Ingest writes the first entries in its own
 * transaction (store/ingest.c); store_apply() uses store__outbox_put_txn() for retries.
 */
#include <errno.h>
#include <stdlib.h>
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
	if ((rc = store__read_cursor(s, rd, s->outbox, &txn, &c)) != 0)
		return rc;
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

struct outbox_sweep_ctx {
	struct store *s;
	store_outbox_fate_fn fate;
	void *ctx;
	size_t dropped, n_moves, cap_moves;
	uint8_t (*moves)[PAIR_KEY_LEN]; /* report id || new recipient */
};

static int sweep_add_move(struct outbox_sweep_ctx *oc, const uint8_t *report_id,
			  const uint8_t to[32])
{
	if (oc->n_moves == oc->cap_moves) {
		size_t cap = oc->cap_moves ? 2 * oc->cap_moves : 64;
		void *p = realloc(oc->moves, cap * sizeof(*oc->moves));

		if (!p)
			return -ENOMEM;
		oc->moves = p;
		oc->cap_moves = cap;
	}
	pair_key(oc->moves[oc->n_moves++], report_id, to);
	return 0;
}

/*
 * Moved entries are collected and written after the scan, so the cursor never walks over
 * keys this transaction inserted.
 */
static int outbox_sweep_body(MDB_txn *txn, void *arg)
{
	struct outbox_sweep_ctx *oc = arg;
	uint8_t vb[STORE_CODEC_OUTBOX_LEN], to[32];
	struct store_codec_outbox fresh = {0};
	MDB_cursor *c = NULL;
	MDB_val k, d;
	int rc;

	oc->dropped = 0; /* the body may run again after a map growth */
	oc->n_moves = 0;
	if ((rc = mdb_cursor_open(txn, oc->s->outbox, &c)) != 0)
		return store_mdb_err(rc);
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		enum store_outbox_fate f;

		if (k.mv_size != PAIR_KEY_LEN) {
			rc = STORE_E_CORRUPT;
			break;
		}
		f = oc->fate(oc->ctx, (const uint8_t *)k.mv_data + 32, to);
		if (f == STORE_OUTBOX_KEEP)
			continue;
		if (f == STORE_OUTBOX_MOVE && (rc = sweep_add_move(oc, k.mv_data, to)) != 0)
			break;
		if ((rc = mdb_cursor_del(c, 0)) != 0)
			break;
		oc->dropped += f == STORE_OUTBOX_DROP;
	}
	mdb_cursor_close(c);
	if (rc == STORE_E_CORRUPT || rc == -ENOMEM)
		return rc;
	if (rc != MDB_NOTFOUND)
		return store_mdb_err(rc);
	for (size_t i = 0; i < oc->n_moves; i++) {
		/* MDB_KEYEXIST points d at the stored value: set it again each time. */
		d = mval(vb, store_codec_outbox_encode(&fresh, vb));
		k = mval(oc->moves[i], PAIR_KEY_LEN);
		rc = mdb_put(txn, oc->s->outbox, &k, &d, MDB_NOOVERWRITE);
		if (rc != 0 && rc != MDB_KEYEXIST)
			return store_mdb_err(rc);
	}
	return 0;
}

int store_outbox_sweep(struct store *s, store_outbox_fate_fn fate, void *ctx, size_t *n_dropped,
		       size_t *n_moved)
{
	struct outbox_sweep_ctx oc = {.s = s, .fate = fate, .ctx = ctx};
	int rc = fate ? store_mdb_write(&s->m, outbox_sweep_body, &oc) : -EINVAL;

	if (n_dropped)
		*n_dropped = rc == 0 ? oc.dropped : 0;
	if (n_moved)
		*n_moved = rc == 0 ? oc.n_moves : 0;
	free(oc.moves);
	return rc;
}
