/* SPDX-License-Identifier: MIT */
/*
 * The reconciliation index (CLEAR and GREEN reports by created ms || report id): its keys,
 * the additive fingerprint of a key range (the sum of the ids modulo 2^256, as
 * proto/recon.h defines it) and the listing of a range.
 */
#include <stdbool.h>
#include <string.h>

#include "proto/error.h"
#include "store/codec.h"
#include "store/mdb.h"
#include "store/store_int.h"

void store_recon_key(uint8_t key[STORE_RECON_KEY_LEN], uint64_t created_ms, const uint8_t id[32])
{
	store_be64_put(key, created_ms);
	memcpy(key + 8, id, 32);
}

/* acc += id, both 256-bit little-endian. */
static void add256(uint64_t acc[4], const uint8_t id[32])
{
	unsigned __int128 carry = 0;

	for (int i = 0; i < 4; i++) {
		uint64_t limb = 0;

		for (int b = 7; b >= 0; b--)
			limb = limb << 8 | id[8 * i + b];
		carry += (unsigned __int128)acc[i] + limb;
		acc[i] = (uint64_t)carry;
		carry >>= 64;
	}
}
/* Position @c at the first key >= @lo (or the first key). */
static int range_first(MDB_cursor *c, const uint8_t *lo, MDB_val *k, MDB_val *d)
{
	if (!lo)
		return mdb_cursor_get(c, k, d, MDB_FIRST);
	*k = mval(lo, STORE_RECON_KEY_LEN);
	return mdb_cursor_get(c, k, d, MDB_SET_RANGE);
}

static bool range_in(const MDB_val *k, const uint8_t *hi)
{
	return !hi || memcmp(k->mv_data, hi, STORE_RECON_KEY_LEN) < 0;
}

int store_recon_fingerprint(struct store *s, struct store_read *rd, const uint8_t *lo,
			    const uint8_t *hi, uint8_t fp[32], uint64_t *count)
{
	uint64_t acc[4] = {0};
	uint64_t n = 0;
	MDB_txn *txn;
	MDB_cursor *c = NULL;
	MDB_val k, d;
	int rc;

	if ((rc = store__read_enter(s, rd, &txn)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(txn, s->recon, &c)) != 0) {
		rc = store_mdb_err(rc);
		goto out;
	}
	for (rc = range_first(c, lo, &k, &d); rc == 0; rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if (k.mv_size != STORE_RECON_KEY_LEN) {
			rc = STORE_E_CORRUPT;
			goto out;
		}
		if (!range_in(&k, hi))
			break;
		add256(acc, (const uint8_t *)k.mv_data + 8);
		n++;
	}
	rc = (rc == MDB_NOTFOUND || rc == 0) ? 0 : store_mdb_err(rc);
	if (rc == 0) {
		for (int i = 0; i < 4; i++)
			for (int b = 0; b < 8; b++)
				fp[8 * i + b] = (uint8_t)(acc[i] >> (8 * b));
		*count = n;
	}
out:
	mdb_cursor_close(c);
	store__read_leave(s, rd, txn);
	return rc;
}

int store_recon_list(struct store *s, struct store_read *rd, const uint8_t *lo, const uint8_t *hi,
		     uint8_t (*keys)[STORE_RECON_KEY_LEN], size_t cap, size_t *n)
{
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
	if ((rc = mdb_cursor_open(txn, s->recon, &c)) != 0) {
		rc = store_mdb_err(rc);
		goto out;
	}
	for (rc = range_first(c, lo, &k, &d); rc == 0 && got < cap;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if (k.mv_size != STORE_RECON_KEY_LEN) {
			rc = STORE_E_CORRUPT;
			goto out;
		}
		if (!range_in(&k, hi))
			break;
		memcpy(keys[got++], k.mv_data, STORE_RECON_KEY_LEN);
	}
	rc = (rc == MDB_NOTFOUND || rc == 0) ? 0 : store_mdb_err(rc);
	*n = got;
out:
	mdb_cursor_close(c);
	store__read_leave(s, rd, txn);
	return rc;
}
