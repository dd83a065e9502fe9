/* SPDX-License-Identifier: MIT */
/*
 * store/sealed.h — sealed sightings in the main store (docs/SEALED.md): the submissions a
 * node holds, the groups it opened, and, on a node holding an OPRF share, each member's
 * evaluations per UTC day (its quota). Four databases of the main environment, opened with
 * the others by store_open() and copied by backup like them:
 *
 *   sealed        group g (32) || ring tag (32) -> bucket u32 BE || submission bytes
 *                 one entry per (group, ring tag): a member sealing one value twice is one
 *                 entry, the first copy stays (store_sealed_put())
 *   sealed_exp    bucket u32 BE || g || ring tag -> empty       expiry order
 *   sealed_open   indicator id (32) -> opened record (store_sealed_opened, with its
 *                 group), updated when more members' shares agree; one value has one
 *                 group, so the indicator id names it and `query` finds it
 *   sealed_quota  member id (32) || day u32 BE -> evaluations u64 BE
 *
 * Thread rules and errors are those of store/store.h (0, -errno, STORE_E_*). Writes are
 * one durable transaction per call; a call with nothing to do returns 0 without writing.
 */
#ifndef CHATHAM_STORE_SEALED_H
#define CHATHAM_STORE_SEALED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/indicator.h"
#include "store/store.h"

#define STORE_SEALED_KEY_LEN 64 /* g || ring tag */

struct store_sealed_item {
	const uint8_t *group; /* 32 bytes, borrowed */
	const uint8_t *tag;   /* 32 bytes, borrowed */
	uint32_t bucket;      /* UTC day of the submission */
	const uint8_t *bytes; /* the submission's wire form, borrowed, 1 byte or more */
	size_t len;
	bool stored; /* out: true when new, false when (group, tag) was held already */
};

/* An opened group: what every node records once k members' shares agree. */
struct store_sealed_opened {
	uint8_t group[32];
	struct proto_indicator ind;
	uint8_t confidence;
	uint32_t count; /* distinct members whose shares agree */
	uint32_t first_bucket, last_bucket;
	uint64_t opened_ms; /* when this node first opened it */
	uint64_t updated_ms;
	uint64_t feed_seq; /* set by store_sealed_opened_put(): its main feed entry */
};

/*
 * store_sealed_put() - store the @n items that are new, in one transaction; each item's
 * @stored says whether it was. Returns 0 or an error (then nothing was written).
 */
int store_sealed_put(struct store *s, struct store_sealed_item *items, size_t n);

/*
 * Callback of the reads below: one stored submission. @key is its 64-byte key (g || tag),
 * @bytes its wire form; both valid during the call only. A non-zero return stops the walk
 * and is returned.
 */
typedef int (*store_sealed_cb)(void *ctx, const uint8_t *key, uint32_t bucket, const uint8_t *bytes,
			       size_t len);

/* store_sealed_has() - whether submission @key (g || ring tag) is held. 1, 0 or an error. */
int store_sealed_has(struct store *s, struct store_read *rd, const uint8_t key[64]);

/* store_sealed_group() - every held submission of group @g, in ring-tag order. */
int store_sealed_group(struct store *s, struct store_read *rd, const uint8_t g[32],
		       store_sealed_cb cb, void *ctx);

/*
 * store_sealed_scan() - up to @limit submissions after key @after (NULL: from the start),
 * in key order: a resumable walk over everything held (re-sending on link-up). Returns the
 * number visited, or an error / the callback's non-zero value.
 */
int store_sealed_scan(struct store *s, struct store_read *rd, const uint8_t *after, size_t limit,
		      store_sealed_cb cb, void *ctx);

/*
 * store_sealed_expire() - delete up to @max (0 = all) submissions whose bucket is older than
 * @oldest_bucket, and every quota counter of a day before @oldest_day. Opened records stay
 * (they are what the community learned). *@n_deleted (optional) counts submissions.
 */
int store_sealed_expire(struct store *s, uint32_t oldest_bucket, uint32_t oldest_day, size_t max,
			size_t *n_deleted);

/*
 * store_sealed_delete() - delete the held submissions among the @n keys @keys (g || ring
 * tag; keys not held are skipped), with their expiry entries, in one transaction:
 * submissions that stopped counting (below the ring floor, proto_sealed_ring_floor()).
 * *@n_deleted (optional) counts what was deleted. Returns 0 or an error (nothing deleted).
 */
int store_sealed_delete(struct store *s, const uint8_t (*keys)[STORE_SEALED_KEY_LEN], size_t n,
			size_t *n_deleted);

/*
 * store_sealed_quota_take() - a share holder charges @n evaluations to @member on UTC day
 * @day against @quota: when used + @n <= @quota they are added and *@granted is true; else
 * nothing changes and *@granted is false. *@left gets what remains after the call.
 */
int store_sealed_quota_take(struct store *s, const uint8_t member[32], uint32_t day, uint64_t n,
			    uint64_t quota, bool *granted, uint64_t *left);

/*
 * store_sealed_opened_put() - record an opening: inserted when @o->ind is new, replaced
 * when @o->count is larger than the held count (opened_ms kept from the first), otherwise
 * left alone. A write appends a main feed entry for the value's indicator id (state ACTIVE,
 * or the summary's when reports on it exist), so the SIEM export renders the opening, and
 * records its sequence in the record. *@changed (optional) says whether anything was written.
 */
int store_sealed_opened_put(struct store *s, const struct store_sealed_opened *o, bool *changed);

/*
 * store_sealed_opened_get() - the opening of the value with indicator id @ind_id;
 * STORE_E_NOT_FOUND when it is not opened.
 */
int store_sealed_opened_get(struct store *s, struct store_read *rd, const uint8_t ind_id[32],
			    struct store_sealed_opened *out);

/* store_sealed_opened_iter() - every opened record in indicator id order; @cb's non-zero stops. */
int store_sealed_opened_iter(struct store *s, struct store_read *rd,
			     int (*cb)(void *ctx, const struct store_sealed_opened *o), void *ctx);

/* store_sealed_counts() - submissions held and groups opened (database entry counts). */
int store_sealed_counts(struct store *s, struct store_read *rd, uint64_t *held, uint64_t *opened);

#endif
