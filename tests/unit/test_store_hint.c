/* SPDX-License-Identifier: MIT */
/*
 * The id -> sequence hint (store/hint.h): every added id is found under its sequence among
 * at most STORE_HINT_CANDIDATES_MAX candidates, absent ids yield few false candidates, a full
 * segment refuses with -ENOSPC and loses nothing, a rebuilt map swapped in and a segment
 * grown from its own entries keep answering (the growth drops slots whose record is gone or
 * belongs to another id, and changes nothing when the ids cannot be read), the map costs 5
 * bytes a slot, and a lookup concurrent with adds (walks, stash, segment growth) still finds
 * every id added before it began.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/hint.h"

static uint64_t rng_state = 12345;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void random_id(uint8_t id[32])
{
	for (int i = 0; i < 32; i += 8) {
		uint64_t x = rnd();

		memcpy(id + i, &x, 8);
	}
}

static bool finds(struct store_hint *h, const uint8_t id[32], uint32_t seq)
{
	uint32_t c[STORE_HINT_CANDIDATES_MAX];
	size_t n = store_hint_find(h, id, c, STORE_HINT_CANDIDATES_MAX);

	assert_true(n <= STORE_HINT_CANDIDATES_MAX);
	for (size_t i = 0; i < n; i++)
		if (c[i] == seq)
			return true;
	return false;
}

/* The records of a test: sequence i + 1 holds ids[i] for i < n (store/store.c's resolver). */
struct recs {
	uint8_t (*ids)[32];
	size_t n;
	int fail; /* answer this error instead */
};

static int resolve(void *arg, uint32_t seq, uint8_t id[32])
{
	const struct recs *r = arg;

	if (r->fail)
		return r->fail;
	if (seq == 0 || seq > r->n)
		return 1;
	memcpy(id, r->ids[seq - 1], 32);
	return 0;
}

/* Grows as the store does when it opens: on -ENOSPC, a whole map for half as many again. */
static void test_add_find_grow(void **state)
{
	enum { N = 200000 };
	uint8_t(*ids)[32] = malloc((size_t)N * 32);
	struct store_hint h;
	size_t false_cands = 0, rebuilds = 0;

	(void)state;
	assert_non_null(ids);
	assert_int_equal(store_hint_init(&h), 0);
	for (uint32_t i = 0; i < N; i++) {
		int rc;

		random_id(ids[i]);
		rc = store_hint_add(&h, ids[i], i + 1);
		if (rc == -ENOSPC) {
			struct store_hint_table *t =
				store_hint_table_new(&h, (size_t)i * 3 / 2 + 1024);

			assert_non_null(t);
			for (uint32_t j = 0; j < i; j++)
				assert_int_equal(store_hint_table_put(&h, t, ids[j], j + 1), 0);
			store_hint_swap(&h, t);
			rebuilds++;
			rc = store_hint_add(&h, ids[i], i + 1);
		}
		assert_int_equal(rc, 0);
	}
	assert_true(rebuilds >= 5);
	assert_int_equal(store_hint_count(&h), N);
	for (uint32_t i = 0; i < N; i++)
		assert_true(finds(&h, ids[i], i + 1));
	/* Adding a pair again changes nothing. */
	assert_int_equal(store_hint_add(&h, ids[7], 8), 0);
	assert_int_equal(store_hint_count(&h), N);
	assert_int_equal(store_hint_add(&h, ids[7], 0), -EINVAL);
	/* Absent ids: about 16 x load / 256 false candidates each; well under 0.1. */
	for (int i = 0; i < 100000; i++) {
		uint8_t id[32];
		uint32_t c[STORE_HINT_CANDIDATES_MAX];

		random_id(id);
		false_cands += store_hint_find(&h, id, c, STORE_HINT_CANDIDATES_MAX);
	}
	assert_true(false_cands < 10000);
	store_hint_deinit(&h);
	free(ids);
}

/*
 * A full segment says -ENOSPC without losing or changing anything; growing that segment
 * (the store's path while it runs) makes room and keeps every entry.
 */
static void test_full(void **state)
{
	enum { N = 64 * 64 };
	uint8_t(*ids)[32] = malloc((size_t)N * 32);
	struct store_hint h;
	struct recs r = {.ids = ids};
	size_t bytes;
	uint32_t n = 0;
	int rc = 0;

	(void)state;
	assert_non_null(ids);
	assert_int_equal(store_hint_init(&h), 0);
	while (n < N) {
		random_id(ids[n]);
		rc = store_hint_add(&h, ids[n], n + 1);
		if (rc != 0)
			break;
		n++;
	}
	assert_int_equal(rc, -ENOSPC);
	/* The smallest map: 64 segments of 8 buckets of 8 slots, each full at 97 % (62). */
	assert_true(n >= 62 && n < 64 * 62);
	assert_int_equal(store_hint_count(&h), n);
	assert_int_equal(store_hint_add(&h, ids[n], n + 1), -ENOSPC);
	assert_false(finds(&h, ids[n], n + 1));
	for (uint32_t i = 0; i < n; i++)
		assert_true(finds(&h, ids[i], i + 1));
	/* Ids that cannot be read back: the segment stays as it was. */
	bytes = store_hint_bytes(&h);
	r.n = n;
	r.fail = -EIO;
	assert_int_equal(store_hint_grow(&h, ids[n], resolve, &r), -EIO);
	assert_int_equal(store_hint_bytes(&h), bytes);
	assert_int_equal(store_hint_add(&h, ids[n], n + 1), -ENOSPC);
	r.fail = 0;
	assert_int_equal(store_hint_grow(&h, ids[n], resolve, &r), 0);
	assert_true(store_hint_bytes(&h) > bytes);
	assert_int_equal(store_hint_add(&h, ids[n], n + 1), 0);
	assert_int_equal(store_hint_count(&h), n + 1);
	for (uint32_t i = 0; i <= n; i++)
		assert_true(finds(&h, ids[i], i + 1));
	store_hint_deinit(&h);
	free(ids);
}

/* Grows as the store does while it runs: on -ENOSPC, the full segment from its own entries. */
static void test_grow_segments(void **state)
{
	enum { N = 200000 };
	uint8_t(*ids)[32] = malloc((size_t)N * 32);
	struct store_hint h;
	struct recs r = {.ids = ids};
	size_t grows = 0;

	(void)state;
	assert_non_null(ids);
	assert_int_equal(store_hint_init(&h), 0);
	for (uint32_t i = 0; i < N; i++) {
		int rc;

		random_id(ids[i]);
		rc = store_hint_add(&h, ids[i], i + 1);
		if (rc == -ENOSPC) {
			r.n = i; /* the records so far: this one is not stored yet */
			assert_int_equal(store_hint_grow(&h, ids[i], resolve, &r), 0);
			grows++;
			rc = store_hint_add(&h, ids[i], i + 1);
		}
		assert_int_equal(rc, 0);
	}
	/* Every segment grew several times, one at a time. */
	assert_true(grows >= 64 * 5);
	assert_int_equal(store_hint_count(&h), N);
	for (uint32_t i = 0; i < N; i++)
		assert_true(finds(&h, ids[i], i + 1));
	/* Grown by a quarter at 97 %: at most 5 x 1.25 / 0.97 / 0.9 bytes per id and a bit. */
	assert_true(store_hint_bytes(&h) < (size_t)N * 75 / 10);
	store_hint_deinit(&h);
	free(ids);
}

/*
 * Slots left by aborted writes: one names a sequence whose record holds another id, one a
 * sequence with no record. Growing the segment drops both and keeps the live entries.
 */
static void test_grow_drops_stale(void **state)
{
	enum { N = 1000 };
	uint8_t(*ids)[32] = malloc((size_t)(N + 1) * 32);
	struct store_hint h;
	struct recs r = {.ids = ids, .n = N};
	uint8_t *x;

	(void)state;
	assert_non_null(ids);
	assert_int_equal(store_hint_init(&h), 0);
	for (uint32_t i = 0; i <= N; i++)
		random_id(ids[i]);
	for (uint32_t i = 0; i < N; i++) {
		int rc = store_hint_add(&h, ids[i], i + 1);

		if (rc == -ENOSPC) {
			assert_int_equal(store_hint_grow(&h, ids[i], resolve, &r), 0);
			rc = store_hint_add(&h, ids[i], i + 1);
		}
		assert_int_equal(rc, 0);
	}
	/* ids[N] was never stored: its slots name sequence 5 (ids[4]'s) and N + 7 (none). */
	x = ids[N];
	assert_int_equal(store_hint_add(&h, x, 5), 0);
	assert_int_equal(store_hint_add(&h, x, N + 7), 0);
	assert_true(finds(&h, x, 5) && finds(&h, x, N + 7));
	assert_int_equal(store_hint_count(&h), N + 2);
	assert_int_equal(store_hint_grow(&h, x, resolve, &r), 0);
	assert_false(finds(&h, x, 5));
	assert_false(finds(&h, x, N + 7));
	assert_int_equal(store_hint_count(&h), N);
	for (uint32_t i = 0; i < N; i++)
		assert_true(finds(&h, ids[i], i + 1));
	store_hint_deinit(&h);
	free(ids);
}

/* 5 bytes a slot, built 90 % full: 1 M ids take less than 6 MiB. */
static void test_size(void **state)
{
	struct store_hint h;
	struct store_hint_table *t;

	(void)state;
	assert_int_equal(store_hint_init(&h), 0);
	t = store_hint_table_new(&h, 1000000);
	assert_non_null(t);
	store_hint_swap(&h, t);
	assert_true(store_hint_bytes(&h) >= 1000000 * 5);
	/* Each segment has room for 4 square roots more than its share: 3.2 % at 1 M. */
	assert_true(store_hint_bytes(&h) <= 1000000 * 5 * 100 / 90 * 104 / 100);
	store_hint_deinit(&h);
}

/*
 * One thread adds ids as the store's writer does (growing a segment on -ENOSPC, now and
 * then swapping in a whole map instead, so walks and the stash are used near 97 %) while another looks up ids added before
 * its lookup began. Lookups take no lock against adds (store/hint.c), so a miss would be a
 * lookup that read an entry's buckets while a walk moved it.
 */
enum { CN = 300000 };

struct conc {
	struct store_hint h;
	uint8_t (*ids)[32];
	size_t done; /* ids[0..done) are in: release by the writer */
	int stop;    /* set by the writer at the end */
	size_t looked, missed;
};

static void *conc_reader(void *arg)
{
	struct conc *c = arg;
	uint64_t x = 99;

	for (;;) {
		int stop = __atomic_load_n(&c->stop, __ATOMIC_ACQUIRE);
		size_t k = __atomic_load_n(&c->done, __ATOMIC_ACQUIRE), j;
		uint32_t cand[STORE_HINT_CANDIDATES_MAX];
		size_t n;
		bool hit = false;

		if (k == 0)
			continue;
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		/* Half of the lookups among the newest ids, which the next walks move most. */
		j = (x >> 33) % (x & 1 ? k : (k < 64 ? k : 64));
		if (!(x & 1))
			j = k - 1 - j;
		n = store_hint_find(&c->h, c->ids[j], cand, STORE_HINT_CANDIDATES_MAX);
		for (size_t i = 0; i < n && i < STORE_HINT_CANDIDATES_MAX; i++)
			hit |= cand[i] == j + 1;
		c->looked++;
		c->missed += !hit;
		if (stop)
			return NULL;
	}
}

static void test_concurrent_find(void **state)
{
	struct conc *c = calloc(1, sizeof(*c));
	pthread_t th;

	(void)state;
	assert_non_null(c);
	c->ids = malloc((size_t)CN * 32);
	assert_non_null(c->ids);
	for (size_t i = 0; i < CN; i++)
		random_id(c->ids[i]);
	assert_int_equal(store_hint_init(&c->h), 0);
	assert_int_equal(pthread_create(&th, NULL, conc_reader, c), 0);
	for (size_t i = 0; i < CN; i++) {
		int rc = store_hint_add(&c->h, c->ids[i], (uint32_t)i + 1);

		if (rc == -ENOSPC) {
			struct recs r = {.ids = c->ids, .n = i};

			/* Every few thousand adds a whole map, as when the store opens. */
			if (i % 8 == 0) {
				struct store_hint_table *t = store_hint_table_new(
					&c->h, store_hint_count(&c->h) * 3 / 2 + 1024);

				assert_non_null(t);
				for (size_t j = 0; j < i; j++)
					assert_int_equal(
						store_hint_table_put(&c->h, t, c->ids[j], j + 1),
						0);
				store_hint_swap(&c->h, t);
			} else {
				assert_int_equal(store_hint_grow(&c->h, c->ids[i], resolve, &r), 0);
			}
			rc = store_hint_add(&c->h, c->ids[i], (uint32_t)i + 1);
		}
		assert_int_equal(rc, 0);
		__atomic_store_n(&c->done, i + 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&c->stop, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(c->looked > 0);
	assert_int_equal(c->missed, 0);
	store_hint_deinit(&c->h);
	free(c->ids);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_find_grow), cmocka_unit_test(test_full),
		cmocka_unit_test(test_grow_segments), cmocka_unit_test(test_grow_drops_stale),
		cmocka_unit_test(test_size),	      cmocka_unit_test(test_concurrent_find),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
