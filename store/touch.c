/* SPDX-License-Identifier: MIT */
/*
 * store_feed_touch(): new feed entries for indicators whose derived data must be rendered
 * again (the SIEM export after its rules changed). Only the feed and the summaries'
 * feed_seq are written; counts, votes, state and the expiry index stay as they are, so a
 * touched indicator is exactly what it was, under a later sequence.
 */
#include <errno.h>

#include "proto/error.h"
#include "store/codec.h"
#include "store/mdb.h"
#include "store/store_int.h"

struct touch_ctx {
	struct store *s;
	const uint8_t (*ids)[32];
	size_t n, done;
	uint64_t now;
};

static int touch_body(MDB_txn *txn, void *arg)
{
	struct touch_ctx *tc = arg;
	struct store_codec_summary v;
	uint64_t seq, first;
	int rc;

	tc->done = 0;
	if ((rc = store__feed_last(txn, tc->s, &seq)) != 0)
		return rc;
	first = seq;
	for (size_t i = 0; i < tc->n; i++) {
		rc = store__summary_get(txn, tc->s, NULL, tc->ids[i], &v);
		if (rc == STORE_E_NOT_FOUND || (rc == 0 && v.sum.feed_seq > first))
			continue; /* unknown, or touched already in this transaction */
		if (rc != 0)
			return rc;
		v.sum.feed_seq = ++seq;
		if ((rc = store__feed_append(txn, tc->s, seq, v.sum.ind_id, v.sum.state,
					     tc->now)) != 0 ||
		    (rc = store__summary_put(txn, tc->s, NULL, &v)) != 0)
			return rc;
		tc->done++;
	}
	return 0;
}

int store_feed_touch(struct store *s, const uint8_t (*ind_ids)[32], size_t n, uint64_t now_ms,
		     size_t *n_touched)
{
	struct touch_ctx tc = {.s = s, .ids = ind_ids, .n = n, .now = now_ms};
	int rc;

	if (n_touched)
		*n_touched = 0;
	if (!s || (n && !ind_ids))
		return -EINVAL;
	if (n == 0)
		return 0;
	rc = store_mdb_write(&s->m, touch_body, &tc);
	if (rc == 0 && n_touched)
		*n_touched = tc.done;
	return rc;
}
