/* SPDX-License-Identifier: MIT */
/*
 * The notice environment (store/notice.h). Notices are few (people write them), so every
 * read here may scan a whole database; what matters is that a notice acknowledged to its
 * sender, or a notice an operator was told is queued, is committed first.
 */
#include "store/notice.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/notice.h"
#include "store/mdb.h"
#include "store/notice_test.h"
#include "store/store.h"

#define MAP_INITIAL ((size_t)4 << 20)
#define MAP_MAX (UINT64_C(4) << 30) /* through store_map_bytes(): 4 GiB wraps a 32-bit size_t */
#define REC_HDR 9		    /* flags u8, time u64 BE */
#define OUT_KEY (16 + 32)	    /* notice id || recipient */
#define OUT_VAL (8 + 4)		    /* next attempt u64 BE, attempts u32 BE */
#define REFUSED_VAL (1 + 8 + 32)    /* reason u8, time u64 BE, recipient */

#define mval(p, n) ((MDB_val){.mv_size = (n), .mv_data = (void *)(p)})

struct store_notices {
	struct store_mdb m;
	MDB_dbi msgs, outbox, meta, refused, signers;
	uint8_t handle_key[32];
};

/*
 * The member that signed a received message (flags 0) of @len bytes at @bytes into @id;
 * false for ours, a local one, or one that does not decode (counted for nobody). The bytes
 * were verified before they were stored, so the signature is not checked again.
 */
static bool msg_signer(uint8_t flags, const uint8_t *bytes, size_t len, uint8_t id[32])
{
	struct proto_notice nt;

	if (flags || proto_notice_decode_stored(bytes, len, &nt))
		return false;
	memcpy(id, nt.from, 32);
	return true;
}

/* Add @delta (negative: take) to @id's total in signers, in @txn; a total of 0 is removed. */
static int signer_add(MDB_txn *txn, struct store_notices *s, const uint8_t id[32], int64_t delta)
{
	MDB_val k = mval(id, 32), d;
	uint8_t v[8];
	uint64_t total = 0;
	int rc = mdb_get(txn, s->signers, &k, &d);

	if (rc == 0 && d.mv_size != 8)
		return STORE_E_CORRUPT;
	if (rc != 0 && rc != MDB_NOTFOUND)
		return store_mdb_err(rc);
	if (rc == 0)
		total = store_be64_get(d.mv_data);
	if (delta < 0 && total < (uint64_t)-delta)
		return STORE_E_CORRUPT; /* a total below the messages it counts */
	total += (uint64_t)delta;
	if (total == 0)
		return store_mdb_err(mdb_del(txn, s->signers, &k, NULL));
	store_be64_put(v, total);
	d = mval(v, 8);
	return store_mdb_err(mdb_put(txn, s->signers, &k, &d, 0));
}

/*
 * Schema 1 had no signers database: build it once from the messages (no signature is
 * verified, so 100 k notices take a fraction of a second), in the transaction that writes
 * schema 2.
 */
static int signers_build(MDB_txn *txn, struct store_notices *s)
{
	MDB_cursor *cur;
	MDB_val k, d;
	uint8_t id[32];
	int rc = mdb_cursor_open(txn, s->msgs, &cur), r = 0;

	if (rc != 0)
		return store_mdb_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0 && r == 0;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		const uint8_t *p = d.mv_data;

		if (k.mv_size != 16 || d.mv_size <= REC_HDR)
			r = STORE_E_CORRUPT;
		else if (msg_signer(p[0], p + REC_HDR, d.mv_size - REC_HDR, id))
			r = signer_add(txn, s, id, (int64_t)(d.mv_size - REC_HDR));
	}
	mdb_cursor_close(cur);
	if (r)
		return r;
	return rc == MDB_NOTFOUND ? 0 : store_mdb_err(rc);
}

static int open_body(MDB_txn *txn, void *arg)
{
	struct store_notices *s = arg;
	MDB_val k = mval("schema", 6), d;
	uint8_t ver[4];
	uint32_t have = 0; /* the schema stored; 0: a new environment */
	int rc;

	if ((rc = mdb_dbi_open(txn, "msgs", MDB_CREATE, &s->msgs)) != 0 ||
	    (rc = mdb_dbi_open(txn, "outbox", MDB_CREATE, &s->outbox)) != 0 ||
	    (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &s->meta)) != 0 ||
	    (rc = mdb_dbi_open(txn, "refused", MDB_CREATE, &s->refused)) != 0 ||
	    (rc = mdb_dbi_open(txn, "signers", MDB_CREATE, &s->signers)) != 0)
		return store_mdb_err(rc);
	rc = mdb_get(txn, s->meta, &k, &d);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return store_mdb_err(rc);
	if (rc == 0 && (d.mv_size != 4 || (have = store_be32_get(d.mv_data)) == 0))
		return STORE_E_CORRUPT;
	if (have > STORE_NOTICE_SCHEMA_VERSION)
		return STORE_E_SCHEMA_NEWER;
	if (have == 1 && (rc = signers_build(txn, s)) != 0)
		return rc;
	if (have < STORE_NOTICE_SCHEMA_VERSION) {
		store_be32_put(ver, STORE_NOTICE_SCHEMA_VERSION);
		d = mval(ver, 4);
		if ((rc = mdb_put(txn, s->meta, &k, &d, 0)) != 0)
			return store_mdb_err(rc);
	}
	k = mval("handle_key", 10);
	rc = mdb_get(txn, s->meta, &k, &d);
	if (rc == MDB_NOTFOUND) {
		proto_random(s->handle_key, 32);
		d = mval(s->handle_key, 32);
		return store_mdb_err(mdb_put(txn, s->meta, &k, &d, 0));
	}
	if (rc != 0)
		return store_mdb_err(rc);
	if (d.mv_size != 32)
		return STORE_E_CORRUPT;
	memcpy(s->handle_key, d.mv_data, 32);
	return 0;
}

int store_notices_open(struct store_notices **out, const char *dir)
{
	struct store_notices *s;
	int rc;

	*out = NULL;
	if (!dir || !*dir)
		return -EINVAL;
	if (proto_crypto_init() != 0)
		return -EIO;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		rc = -errno;
		goto fail;
	}
	rc = store_mdb_open(&s->m, dir, 0, MAP_INITIAL, store_map_bytes(MAP_MAX, SIZE_MAX), 126, 5,
			    0600, STORE_E_MAP_FULL);
	if (rc == 0)
		rc = store_mdb_write(&s->m, open_body, s);
	if (rc == 0) {
		*out = s;
		return 0;
	}
fail:
	store_notices_close(s);
	return rc;
}

void store_notices_close(struct store_notices *s)
{
	if (!s)
		return;
	store_mdb_close(&s->m);
	proto_wipe(s->handle_key, sizeof(s->handle_key));
	free(s);
}

const uint8_t *store_notices_handle_key(const struct store_notices *s)
{
	return s->handle_key;
}

/* ------------------------------------------------------------------ writes */

struct apply_ctx {
	struct store_notices *s;
	struct store_notices_batch *b;
};

static int put_out(MDB_txn *txn, struct store_notices *s, const struct store_notice_out *e)
{
	uint8_t key[OUT_KEY], val[OUT_VAL];
	MDB_val k = mval(key, sizeof(key)), d = mval(val, sizeof(val));

	memcpy(key, e->id, 16);
	memcpy(key + 16, e->recipient, 32);
	store_be64_put(val, e->next_attempt_ms);
	store_be32_put(val + 8, e->attempts);
	return store_mdb_err(mdb_put(txn, s->outbox, &k, &d, 0));
}

/* Replace the outbox entry @e->id || @e->recipient, if there is one, by a refusal. */
static int put_refusal(MDB_txn *txn, struct store_notices *s, struct store_notice_refusal *e)
{
	uint8_t key[OUT_KEY], val[REFUSED_VAL];
	MDB_val k = mval(key, sizeof(key)), d;
	int rc;

	e->applied = false; /* the body may run again after a map growth */
	memcpy(key, e->id, 16);
	memcpy(key + 16, e->recipient, 32);
	rc = mdb_del(txn, s->outbox, &k, NULL);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return store_mdb_err(rc);
	val[0] = e->reason;
	store_be64_put(val + 1, e->time_ms);
	memcpy(val + 9, e->recipient, 32);
	k = mval(e->id, 16);
	d = mval(val, sizeof(val));
	rc = store_mdb_err(mdb_put(txn, s->refused, &k, &d, 0));
	e->applied = rc == 0;
	return rc;
}

static int apply_body(MDB_txn *txn, void *arg)
{
	struct apply_ctx *c = arg;
	struct store_notices *s = c->s;
	struct store_notices_batch *b = c->b;
	int rc;

	for (size_t i = 0; i < b->n_msgs; i++) {
		const struct store_notice_msg *m = &b->msgs[i];
		MDB_val k = mval(m->id, 16), d = {.mv_size = REC_HDR + m->len}, old;
		bool over = m->flags & STORE_NOTICE_LOCAL || m->replace;
		uint8_t id[32];

		if (b->is_new)
			b->is_new[i] = false;
		/* A message replaced leaves its signer's total (signers follows msgs). */
		rc = over ? mdb_get(txn, s->msgs, &k, &old) : MDB_NOTFOUND;
		if (rc == 0 && old.mv_size <= REC_HDR)
			return STORE_E_CORRUPT;
		if (rc == 0 &&
		    msg_signer(((const uint8_t *)old.mv_data)[0],
			       (const uint8_t *)old.mv_data + REC_HDR, old.mv_size - REC_HDR, id) &&
		    (rc = signer_add(txn, s, id, -(int64_t)(old.mv_size - REC_HDR))) != 0)
			return rc;
		if (rc != 0 && rc != MDB_NOTFOUND)
			return store_mdb_err(rc);
		rc = mdb_put(txn, s->msgs, &k, &d, (over ? 0 : MDB_NOOVERWRITE) | MDB_RESERVE);
		if (rc == MDB_KEYEXIST)
			continue;
		if (rc != 0)
			return store_mdb_err(rc);
		/* MDB_RESERVE's space is valid until the next update: filled first */
		((uint8_t *)d.mv_data)[0] = m->flags;
		store_be64_put((uint8_t *)d.mv_data + 1, m->time_ms);
		memcpy((uint8_t *)d.mv_data + REC_HDR, m->bytes, m->len);
		if (msg_signer(m->flags, m->bytes, m->len, id) &&
		    (rc = signer_add(txn, s, id, (int64_t)m->len)) != 0)
			return rc;
		if (b->is_new)
			b->is_new[i] = true;
	}
	for (size_t i = 0; i < b->n_puts; i++)
		if ((rc = put_out(txn, s, &b->puts[i])) != 0)
			return rc;
	for (size_t i = 0; i < b->n_dels; i++) {
		uint8_t key[OUT_KEY];
		MDB_val k = mval(key, sizeof(key));

		memcpy(key, b->dels[i].id, 16);
		memcpy(key + 16, b->dels[i].recipient, 32);
		rc = mdb_del(txn, s->outbox, &k, NULL);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return store_mdb_err(rc);
	}
	for (size_t i = 0; i < b->n_refusals; i++)
		if ((rc = put_refusal(txn, s, &b->refusals[i])) != 0)
			return rc;
	if (b->set_watch) {
		uint8_t v[8];
		MDB_val k = mval("watch_seq", 9), d = mval(v, 8);

		store_be64_put(v, b->watch_seq);
		if ((rc = mdb_put(txn, s->meta, &k, &d, 0)) != 0)
			return store_mdb_err(rc);
	}
	return 0;
}

int store_notices_apply(struct store_notices *s, struct store_notices_batch *b)
{
	struct apply_ctx c = {s, b};

	for (size_t i = 0; i < b->n_msgs; i++)
		if (!b->msgs[i].bytes || b->msgs[i].len == 0 ||
		    b->msgs[i].len > PROTO_NOTICE_MAX_BYTES)
			return -EINVAL;
	if (!b->n_msgs && !b->n_puts && !b->n_dels && !b->n_refusals && !b->set_watch)
		return 0;
	return store_mdb_write(&s->m, apply_body, &c);
}

/* ------------------------------------------------------------------ reads */

static int decode_msg(const MDB_val *k, const MDB_val *d, struct store_notice_msg *m)
{
	if (k->mv_size != 16 || d->mv_size <= REC_HDR)
		return STORE_E_CORRUPT;
	memcpy(m->id, k->mv_data, 16);
	m->flags = ((const uint8_t *)d->mv_data)[0];
	m->time_ms = store_be64_get((const uint8_t *)d->mv_data + 1);
	m->bytes = (const uint8_t *)d->mv_data + REC_HDR;
	m->len = d->mv_size - REC_HDR;
	m->refused = 0;
	return 0;
}

static int decode_out(const MDB_val *k, const MDB_val *d, struct store_notice_out *e)
{
	if (k->mv_size != OUT_KEY || d->mv_size != OUT_VAL)
		return STORE_E_CORRUPT;
	memcpy(e->id, k->mv_data, 16);
	memcpy(e->recipient, (const uint8_t *)k->mv_data + 16, 32);
	e->next_attempt_ms = store_be64_get(d->mv_data);
	e->attempts = store_be32_get((const uint8_t *)d->mv_data + 8);
	return 0;
}

/* Walk database @dbi calling @fn on each pair; stops at the first non-zero. */
static int walk(MDB_txn *txn, MDB_dbi dbi, int (*fn)(void *, const MDB_val *, const MDB_val *),
		void *ctx)
{
	MDB_cursor *cur;
	MDB_val k, d;
	int rc = mdb_cursor_open(txn, dbi, &cur), r = 0;

	if (rc != 0)
		return store_mdb_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0 && r == 0;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT))
		r = fn(ctx, &k, &d);
	mdb_cursor_close(cur);
	if (r)
		return r;
	return rc == MDB_NOTFOUND ? 0 : store_mdb_err(rc);
}

struct iter_ctx {
	struct store_notices *s;
	MDB_txn *txn;
	store_notices_out_cb out_cb;
	store_notices_msg_cb msg_cb;
	void *ctx;
	uint64_t now, n_msgs, n_out;
	struct store_notice_out *due;
	size_t cap, n;
};

static int iter_out(void *arg, const MDB_val *k, const MDB_val *d)
{
	struct iter_ctx *c = arg;
	struct store_notice_out e;
	int r = decode_out(k, d, &e);

	return r ? r : c->out_cb(c->ctx, &e);
}

static int iter_msg(void *arg, const MDB_val *k, const MDB_val *d)
{
	struct iter_ctx *c = arg;
	struct store_notice_msg m;
	MDB_val rk, rd;
	int r = decode_msg(k, d, &m);

	if (r)
		return r;
	rk = mval(m.id, 16);
	r = mdb_get(c->txn, c->s->refused, &rk, &rd);
	if (r == 0 && (rd.mv_size != REFUSED_VAL || ((const uint8_t *)rd.mv_data)[0] == 0))
		return STORE_E_CORRUPT;
	if (r != 0 && r != MDB_NOTFOUND)
		return store_mdb_err(r);
	m.refused = r == 0 ? ((const uint8_t *)rd.mv_data)[0] : 0;
	return c->msg_cb(c->ctx, &m);
}

int store_notices_iter(struct store_notices *s, store_notices_out_cb out_cb,
		       store_notices_msg_cb msg_cb, void *ctx)
{
	struct iter_ctx c = {.s = s, .out_cb = out_cb, .msg_cb = msg_cb, .ctx = ctx};
	MDB_txn *txn;
	int rc = store_mdb_read_begin(&s->m, &txn);

	if (rc != 0)
		return rc;
	c.txn = txn;
	if (out_cb)
		rc = walk(txn, s->outbox, iter_out, &c);
	if (rc == 0 && msg_cb)
		rc = walk(txn, s->msgs, iter_msg, &c);
	store_mdb_read_end(&s->m, txn);
	return rc;
}

int store_notices_get(struct store_notices *s, const uint8_t id[16], uint8_t *flags,
		      uint8_t **bytes, size_t *len)
{
	MDB_val k = mval(id, 16), d;
	struct store_notice_msg m;
	MDB_txn *txn;
	int rc = store_mdb_read_begin(&s->m, &txn);

	*bytes = NULL;
	if (rc != 0)
		return rc;
	rc = store_mdb_err(mdb_get(txn, s->msgs, &k, &d));
	if (rc == 0)
		rc = decode_msg(&k, &d, &m);
	if (rc == 0) {
		*bytes = malloc(m.len);
		if (!*bytes) {
			rc = -ENOMEM;
		} else {
			memcpy(*bytes, m.bytes, m.len);
			*len = m.len;
			if (flags)
				*flags = m.flags;
		}
	}
	store_mdb_read_end(&s->m, txn);
	return rc;
}

static int due_one(void *arg, const struct store_notice_out *e)
{
	struct iter_ctx *c = arg;

	if (e->next_attempt_ms <= c->now && c->n < c->cap)
		c->due[c->n++] = *e;
	return 0;
}

int store_notices_due(struct store_notices *s, uint64_t now_ms, struct store_notice_out *out,
		      size_t cap, size_t *n)
{
	struct iter_ctx c = {.now = now_ms, .due = out, .cap = cap};
	int rc;

	c.ctx = &c;
	rc = store_notices_iter(s, due_one, NULL, &c);
	*n = rc == 0 ? c.n : 0;
	return rc;
}

int store_notices_watch_seq(struct store_notices *s, uint64_t *seq)
{
	MDB_txn *txn;
	int rc = store_mdb_read_begin(&s->m, &txn);

	*seq = 0;
	if (rc != 0)
		return rc;
	rc = store_mdb_get_u64(txn, s->meta, "watch_seq", seq);
	store_mdb_read_end(&s->m, txn);
	return rc;
}

static int schema1_body(MDB_txn *txn, void *arg)
{
	struct store_notices *s = arg;
	MDB_val k = mval("schema", 6), d;
	uint8_t ver[4];
	int rc = mdb_drop(txn, s->signers, 1);

	if (rc != 0)
		return store_mdb_err(rc);
	store_be32_put(ver, 1);
	d = mval(ver, 4);
	return store_mdb_err(mdb_put(txn, s->meta, &k, &d, 0));
}

int store_notices_test_schema1(struct store_notices *s)
{
	return store_mdb_write(&s->m, schema1_body, s);
}

int store_notices_signer_bytes(struct store_notices *s, const uint8_t id[32], uint64_t *bytes)
{
	MDB_val k = mval(id, 32), d;
	MDB_txn *txn;
	int rc = store_mdb_read_begin(&s->m, &txn);

	*bytes = 0;
	if (rc != 0)
		return rc;
	rc = mdb_get(txn, s->signers, &k, &d);
	if (rc == 0 && d.mv_size != 8)
		rc = STORE_E_CORRUPT;
	else if (rc == 0)
		*bytes = store_be64_get(d.mv_data);
	else
		rc = rc == MDB_NOTFOUND ? 0 : store_mdb_err(rc);
	store_mdb_read_end(&s->m, txn);
	return rc;
}

int store_notices_count(struct store_notices *s, uint64_t *msgs, uint64_t *outbox)
{
	MDB_stat st;
	MDB_txn *txn;
	int rc = store_mdb_read_begin(&s->m, &txn);

	if (rc != 0)
		return rc;
	rc = store_mdb_err(mdb_stat(txn, s->msgs, &st));
	if (rc == 0) {
		*msgs = st.ms_entries;
		rc = store_mdb_err(mdb_stat(txn, s->outbox, &st));
		*outbox = st.ms_entries;
	}
	store_mdb_read_end(&s->m, txn);
	return rc;
}
