/* SPDX-License-Identifier: MIT */
/*
 * Sealed sightings in the store: deduplication by (group, ring tag), group reads, the
 * resumable scan, expiry by bucket, deletion by key (below the ring floor), the per-member
 * daily quota, opened records that only
 * grow, and that all of it survives a reopen (store/sealed.h).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/crypto.h"
#include "proto/error.h"
#include "store/sealed.h"
#include "proto/summary.h"
#include "store/store.h"
#include "store/store_test.h"
#include "testutil.h"

struct fx {
	char *dir;
	struct store *s;
};

static int reopen(struct fx *f)
{
	struct store_config cfg = {.dir = f->dir};

	store_close(f->s);
	f->s = NULL;
	return store_open(&f->s, &cfg);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || proto_crypto_init())
		return -1;
	f->dir = tu_tmpdir();
	*state = f;
	return reopen(f);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->s);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void item(struct store_sealed_item *it, uint8_t g[32], uint8_t t[32], uint8_t gb, uint8_t tb,
		 uint32_t bucket, const char *bytes)
{
	memset(g, gb, 32);
	memset(t, tb, 32);
	*it = (struct store_sealed_item){.group = g,
					 .tag = t,
					 .bucket = bucket,
					 .bytes = (const uint8_t *)bytes,
					 .len = strlen(bytes)};
}

struct seen {
	size_t n;
	char bytes[16][16];
	uint32_t bucket[16];
	uint8_t last_key[64];
};

static int collect(void *ctx, const uint8_t *key, uint32_t bucket, const uint8_t *bytes, size_t len)
{
	struct seen *s = ctx;

	assert_true(s->n < 16 && len < 16);
	memcpy(s->bytes[s->n], bytes, len);
	s->bytes[s->n][len] = 0;
	s->bucket[s->n] = bucket;
	memcpy(s->last_key, key, 64);
	s->n++;
	return 0;
}

static void test_put_group_dedup(void **state)
{
	struct fx *f = *state;
	uint8_t g[5][32], t[5][32];
	struct store_sealed_item it[5];
	struct seen seen = {0};
	uint64_t held, opened;

	item(&it[0], g[0], t[0], 0xa0, 1, 100, "a-1");
	item(&it[1], g[1], t[1], 0xa0, 2, 101, "a-2");
	item(&it[2], g[2], t[2], 0xb0, 1, 100, "b-1");
	item(&it[3], g[3], t[3], 0xa0, 1, 102, "a-1 again"); /* same member, same value */
	item(&it[4], g[4], t[4], 0x90, 3, 100, "c-3");
	assert_int_equal(store_sealed_put(f->s, it, 5), 0);
	assert_true(it[0].stored && it[1].stored && it[2].stored && !it[3].stored && it[4].stored);
	assert_int_equal(store_sealed_put(f->s, it, 1), 0);
	assert_false(it[0].stored);
	assert_int_equal(store_sealed_counts(f->s, NULL, &held, &opened), 0);
	assert_true(held == 4 && opened == 0);
	{
		uint8_t key[64];

		memcpy(key, it[2].group, 32);
		memcpy(key + 32, it[2].tag, 32);
		assert_int_equal(store_sealed_has(f->s, NULL, key), 1);
		key[63] ^= 1;
		assert_int_equal(store_sealed_has(f->s, NULL, key), 0);
	}

	memset(g[0], 0xa0, 32);
	assert_int_equal(store_sealed_group(f->s, NULL, g[0], collect, &seen), 0);
	assert_int_equal(seen.n, 2);
	assert_string_equal(seen.bytes[0], "a-1"); /* the first copy stays */
	assert_string_equal(seen.bytes[1], "a-2");
	assert_int_equal(seen.bucket[1], 101);

	/* A group nobody sealed. */
	memset(&seen, 0, sizeof(seen));
	memset(g[0], 0xa1, 32);
	assert_int_equal(store_sealed_group(f->s, NULL, g[0], collect, &seen), 0);
	assert_int_equal(seen.n, 0);
	it[0].len = 0;
	assert_int_equal(store_sealed_put(f->s, it, 1), -EINVAL);
}

static void test_scan_and_expire(void **state)
{
	struct fx *f = *state;
	uint8_t g[6][32], t[6][32];
	struct store_sealed_item it[6];
	struct seen seen = {0};
	size_t n = 0;
	uint64_t held, opened;
	int rc;

	for (uint8_t i = 0; i < 6; i++)
		item(&it[i], g[i], t[i], (uint8_t)(0x10 * (i + 1)), i, 200 + i, "x");
	assert_int_equal(store_sealed_put(f->s, it, 6), 0);
	/* Pages of 4 then the rest, resuming after the last key seen. */
	assert_int_equal(store_sealed_scan(f->s, NULL, NULL, 4, collect, &seen), 4);
	rc = store_sealed_scan(f->s, NULL, seen.last_key, 4, collect, &seen);
	assert_int_equal(rc, 2);
	assert_int_equal(seen.n, 6);
	assert_int_equal(store_sealed_scan(f->s, NULL, seen.last_key, 4, collect, &seen), 0);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(seen.bucket[i], 200 + i);

	/* Buckets before 203 go; a limit of 2 takes the oldest two first. */
	assert_int_equal(store_sealed_expire(f->s, 203, 0, 2, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_sealed_expire(f->s, 203, 0, 0, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_sealed_counts(f->s, NULL, &held, &opened), 0);
	assert_int_equal(held, 3);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_sealed_scan(f->s, NULL, NULL, 10, collect, &seen), 3);
	assert_int_equal(seen.bucket[0], 203);
	/* Expired is gone for good: the same submission can be stored again. */
	assert_int_equal(store_sealed_put(f->s, it, 1), 0);
	assert_true(it[0].stored);
}

static void test_delete(void **state)
{
	struct fx *f = *state;
	uint8_t g[3][32], t[3][32], keys[3][64];
	struct store_sealed_item it[3];
	struct seen seen = {0};
	size_t n = 9;
	uint64_t held, opened;

	for (uint8_t i = 0; i < 3; i++) {
		item(&it[i], g[i], t[i], 0x40, i, 300 + i, "d");
		memcpy(keys[i], g[i], 32);
		memcpy(keys[i] + 32, t[i], 32);
	}
	assert_int_equal(store_sealed_put(f->s, it, 3), 0);
	keys[1][63] ^= 0xff; /* not held: skipped */
	assert_int_equal(store_sealed_delete(f->s, (const uint8_t(*)[64])keys, 2, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_sealed_delete(f->s, (const uint8_t(*)[64])keys, 0, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_sealed_counts(f->s, NULL, &held, &opened), 0);
	assert_int_equal(held, 2);
	assert_int_equal(store_sealed_scan(f->s, NULL, NULL, 10, collect, &seen), 2);
	assert_int_equal(seen.bucket[0], 301);
	/* Its expiry entry went with it: expiring everything deletes exactly the other two. */
	assert_int_equal(store_sealed_expire(f->s, 1000, 0, 0, &n), 0);
	assert_int_equal(n, 2);
	/* And it can be stored again (a new copy under a current epoch). */
	assert_int_equal(store_sealed_put(f->s, it, 1), 0);
	assert_true(it[0].stored);
	{
		char why[256];

		if (store_verify(f->s, why, sizeof(why)) != 0)
			fail_msg("store_verify: %s", why);
	}
}

static void test_quota(void **state)
{
	struct fx *f = *state;
	uint8_t m1[32], m2[32];
	bool granted;
	uint64_t left;

	memset(m1, 1, 32);
	memset(m2, 2, 32);
	assert_int_equal(store_sealed_quota_take(f->s, m1, 500, 60, 100, &granted, &left), 0);
	assert_true(granted && left == 40);
	/* Over the quota: refused whole, nothing charged. */
	assert_int_equal(store_sealed_quota_take(f->s, m1, 500, 41, 100, &granted, &left), 0);
	assert_true(!granted && left == 40);
	assert_int_equal(store_sealed_quota_take(f->s, m1, 500, 40, 100, &granted, &left), 0);
	assert_true(granted && left == 0);
	assert_int_equal(store_sealed_quota_take(f->s, m1, 500, 1, 100, &granted, &left), 0);
	assert_true(!granted && left == 0);
	/* Per member and per day; and it survives a restart. */
	assert_int_equal(store_sealed_quota_take(f->s, m2, 500, 100, 100, &granted, &left), 0);
	assert_true(granted && left == 0);
	assert_int_equal(reopen(f), 0);
	assert_int_equal(store_sealed_quota_take(f->s, m1, 500, 1, 100, &granted, &left), 0);
	assert_false(granted);
	assert_int_equal(store_sealed_quota_take(f->s, m1, 501, 1, 100, &granted, &left), 0);
	assert_true(granted && left == 99);
	/* A lowered quota (the community file changed) refuses what is over it. */
	assert_int_equal(store_sealed_quota_take(f->s, m1, 501, 1, 1, &granted, &left), 0);
	assert_true(!granted && left == 0);
	/* Expiry drops the counters of days before the oldest kept. */
	assert_int_equal(store_sealed_expire(f->s, 0, 501, 0, NULL), 0);
	assert_int_equal(store_sealed_quota_take(f->s, m1, 500, 100, 100, &granted, &left), 0);
	assert_true(granted);
	assert_int_equal(store_sealed_quota_take(f->s, m1, 501, 100, 100, &granted, &left), 0);
	assert_false(granted);
}

static int count_opened(void *ctx, const struct store_sealed_opened *o)
{
	(void)o;
	(*(size_t *)ctx)++;
	return 0;
}

static int feed_ind(void *ctx, const struct store_feed_entry *e)
{
	assert_memory_equal(e->ind_id, ctx, 32);
	assert_int_equal(e->state, PROTO_SUMMARY_ACTIVE);
	return 0;
}

static void test_opened(void **state)
{
	struct fx *f = *state;
	struct store_sealed_opened o = {0}, got;
	uint8_t id[32];
	uint64_t seq = 0;
	bool changed;
	size_t n = 0;
	uint64_t held, opened;

	memset(o.group, 0x42, 32);
	o.ind.type = 1;
	strcpy(o.ind.value, "198.51.100.7");
	o.ind.len = (uint16_t)strlen(o.ind.value);
	o.confidence = 80;
	o.count = 3;
	o.first_bucket = 20000;
	o.last_bucket = 20001;
	o.opened_ms = o.updated_ms = 1000;
	proto_indicator_id(&o.ind, id);
	assert_int_equal(store_sealed_opened_get(f->s, NULL, id, &got), STORE_E_NOT_FOUND);
	assert_int_equal(store_sealed_opened_put(f->s, &o, &changed), 0);
	assert_true(changed);
	assert_int_equal(store_feed_last(f->s, NULL, &seq), 0);
	assert_true(seq == 1);
	/* The same count again, or fewer: nothing changes. */
	o.updated_ms = 2000;
	assert_int_equal(store_sealed_opened_put(f->s, &o, &changed), 0);
	assert_false(changed);
	o.count = 2;
	assert_int_equal(store_sealed_opened_put(f->s, &o, &changed), 0);
	assert_false(changed);
	/* More members: the count grows, the first opening time stays. */
	o.count = 4;
	o.opened_ms = 2000;
	o.last_bucket = 20002;
	assert_int_equal(store_sealed_opened_put(f->s, &o, &changed), 0);
	assert_true(changed);
	assert_int_equal(reopen(f), 0);
	assert_int_equal(store_sealed_opened_get(f->s, NULL, id, &got), 0);
	assert_memory_equal(got.group, o.group, 32);
	/* Two writes, two feed entries, each naming the indicator; the record has the last. */
	assert_int_equal(store_feed_last(f->s, NULL, &seq), 0);
	assert_true(seq == 2 && got.feed_seq == 2);
	assert_int_equal(store_feed_iter(f->s, NULL, 0, 0, feed_ind, id), 2);
	{
		char why[256] = "";

		if (store_verify(f->s, why, sizeof(why)) != 0)
			fail_msg("store_verify: %s", why);
	}
	assert_int_equal(got.count, 4);
	assert_true(got.opened_ms == 1000 && got.updated_ms == 2000);
	assert_true(got.first_bucket == 20000 && got.last_bucket == 20002);
	assert_string_equal(got.ind.value, "198.51.100.7");
	assert_int_equal(got.ind.len, 12);
	assert_true(got.confidence == 80 && got.ind.type == 1);
	assert_int_equal(store_sealed_opened_iter(f->s, NULL, count_opened, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_sealed_counts(f->s, NULL, &held, &opened), 0);
	assert_true(held == 0 && opened == 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_group_dedup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_and_expire, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quota, setup, teardown),
		cmocka_unit_test_setup_teardown(test_opened, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
