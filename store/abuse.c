/* SPDX-License-Identifier: MIT */
/*
 * Members' abuse records in the meta database (store/abuse.h).
 */
#include "store/abuse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"
#include "store/mdb.h"
#include "store/store_int.h"

#define PREFIX "abuse"
#define PREFIX_LEN 5
#define KEY_LEN (PREFIX_LEN + 32)
#define VAL_LEN 20

struct put_ctx {
	struct store *s;
	const struct store_abuse_record *r;
	size_t n;
};

static void key_of(uint8_t key[KEY_LEN], const uint8_t member[32])
{
	memcpy(key, PREFIX, PREFIX_LEN);
	memcpy(key + PREFIX_LEN, member, 32);
}

static int put_body(MDB_txn *txn, void *arg)
{
	struct put_ctx *c = arg;

	for (size_t i = 0; i < c->n; i++) {
		const struct store_abuse_record *r = &c->r[i];
		uint8_t key[KEY_LEN], val[VAL_LEN];
		MDB_val k = mval(key, KEY_LEN), d;
		int rc;

		key_of(key, r->member);
		if (!r->offences) {
			rc = mdb_del(txn, c->s->meta, &k, NULL);
			if (rc != 0 && rc != MDB_NOTFOUND)
				return store_mdb_err(rc);
			continue;
		}
		store_be32_put(val, r->offences);
		store_be64_put(val + 4, r->refused_until_ms);
		store_be64_put(val + 12, r->forgiven_ms);
		d = mval(val, VAL_LEN);
		if ((rc = mdb_put(txn, c->s->meta, &k, &d, 0)) != 0)
			return store_mdb_err(rc);
	}
	return 0;
}

int store_abuse_put(struct store *s, const struct store_abuse_record *r, size_t n)
{
	struct put_ctx c = {.s = s, .r = r, .n = n};

	if (!n)
		return 0;
	return store_mdb_write(&s->m, put_body, &c);
}

int store_abuse_list(struct store *s, struct store_abuse_record **out, size_t *n)
{
	struct store_abuse_record *arr = NULL, *p;
	size_t len = 0, cap = 0;
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k = mval(PREFIX, PREFIX_LEN), d;
	int rc, mrc;

	*out = NULL;
	*n = 0;
	if ((rc = store__read_enter(s, NULL, &txn)) != 0)
		return rc;
	rc = mdb_cursor_open(txn, s->meta, &c);
	if (rc != 0) {
		store__read_leave(s, NULL, txn);
		return store_mdb_err(rc);
	}
	for (mrc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE); mrc == 0;
	     mrc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if (k.mv_size < PREFIX_LEN || memcmp(k.mv_data, PREFIX, PREFIX_LEN) != 0)
			break;
		if (k.mv_size != KEY_LEN || d.mv_size != VAL_LEN) {
			rc = STORE_E_CORRUPT;
			goto out;
		}
		if (len == cap) {
			cap = cap ? cap * 2 : 16;
			p = realloc(arr, cap * sizeof(*arr));
			if (!p) {
				rc = -ENOMEM;
				goto out;
			}
			arr = p;
		}
		memcpy(arr[len].member, (const uint8_t *)k.mv_data + PREFIX_LEN, 32);
		arr[len].offences = store_be32_get(d.mv_data);
		arr[len].refused_until_ms = store_be64_get((const uint8_t *)d.mv_data + 4);
		arr[len].forgiven_ms = store_be64_get((const uint8_t *)d.mv_data + 12);
		len++;
	}
	rc = mrc == MDB_NOTFOUND ? 0 : store_mdb_err(mrc);
out:
	mdb_cursor_close(c);
	store__read_leave(s, NULL, txn);
	if (rc) {
		free(arr);
		return rc;
	}
	*out = arr;
	*n = len;
	return 0;
}
