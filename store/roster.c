/* SPDX-License-Identifier: MIT */
/*
 * Signed rosters by epoch: the bytes as received, never rewritten (a different roster under
 * a stored epoch is refused).
 */
#include <errno.h>
#include <string.h>

#include "proto/error.h"
#include "store/codec.h"
#include "store/mdb.h"
#include "store/store_int.h"

struct roster_ctx {
	struct store *s;
	uint8_t key[8];
	const uint8_t *bytes;
	size_t len;
};

static int roster_put_body(MDB_txn *txn, void *arg)
{
	struct roster_ctx *rc_ = arg;
	MDB_val k = mval(rc_->key, 8), d;
	int rc = mdb_get(txn, rc_->s->rosters, &k, &d);

	if (rc == 0)
		return d.mv_size == rc_->len && memcmp(d.mv_data, rc_->bytes, rc_->len) == 0
			       ? 0
			       : -EEXIST;
	if (rc != MDB_NOTFOUND)
		return store_mdb_err(rc);
	d = mval(rc_->bytes, rc_->len);
	return store_mdb_err(mdb_put(txn, rc_->s->rosters, &k, &d, 0));
}

int store_roster_put(struct store *s, uint64_t epoch, const uint8_t *bytes, size_t len)
{
	struct roster_ctx rc = {.s = s, .bytes = bytes, .len = len};

	if (!bytes || len == 0)
		return -EINVAL;
	store_be64_put(rc.key, epoch);
	return store_mdb_write(&s->m, roster_put_body, &rc);
}

int store_roster_get(struct store *s, struct store_read *rd, uint64_t epoch, uint8_t **out,
		     size_t *len)
{
	uint8_t kb[8];
	MDB_txn *txn;
	MDB_val k = mval(kb, 8), d;
	int rc;

	*out = NULL;
	*len = 0;
	store_be64_put(kb, epoch);
	if ((rc = store__read_enter(s, rd, &txn)) != 0)
		return rc;
	rc = store_mdb_err(mdb_get(txn, s->rosters, &k, &d));
	if (rc == 0)
		rc = store__copy_out(&d, out, len);
	store__read_leave(s, rd, txn);
	return rc;
}

int store_roster_latest(struct store *s, struct store_read *rd, uint64_t *epoch)
{
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, d;
	int rc;

	if ((rc = store__read_enter(s, rd, &txn)) != 0)
		return rc;
	rc = mdb_cursor_open(txn, s->rosters, &c);
	if (rc == 0) {
		rc = mdb_cursor_get(c, &k, &d, MDB_LAST);
		if (rc == 0 && k.mv_size != 8)
			rc = MDB_CORRUPTED;
		if (rc == 0)
			*epoch = store_be64_get(k.mv_data);
		mdb_cursor_close(c);
	}
	store__read_leave(s, rd, txn);
	return store_mdb_err(rc);
}
