/* SPDX-License-Identifier: MIT */
/*
 * The report id -> sequence hint (store/hint.h): a cuckoo table of 8-slot buckets.
 *
 * An id's 64-bit hash h (its first 8 bytes mixed with the per-process key) gives the first
 * bucket from its high half and the fingerprint from its low byte. The second bucket is
 * (X(fp) - b1) mod nb, where X depends on the fingerprint only: applied to the second bucket
 * it gives the first back, so an entry that must make room can be moved to its other bucket
 * knowing only where it is and its fingerprint (Fan et al., "Cuckoo Filter", CoNEXT 2014,
 * with a subtraction instead of an xor so that the bucket count need not be a power of two).
 * An insertion that finds both buckets full moves entries along a random walk of at most
 * KICKS_MAX steps; the entry left over at the end goes to the stash. With 8 slots a bucket,
 * walks are short below 97 % load, which is where the table is declared full.
 */
#include "store/hint.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "proto/crypto.h"

#define SLOTS 8
#define STASH_MAX 16
#define KICKS_MAX 500
#define BUILD_PCT 90
#define FULL_PCT 97
#define MIN_BUCKETS 64

struct bucket {
	uint8_t fp[SLOTS];
	uint32_t seq[SLOTS]; /* 0 = empty (sequences start at 1) */
};

struct stash_ent {
	uint32_t bucket, seq;
	uint8_t fp;
};

struct store_hint_table {
	struct bucket *b;
	uint32_t nb;
	size_t count, full; /* entries (slots and stash); the most before -ENOSPC */
	struct stash_ent stash[STASH_MAX];
	unsigned n_stash;
	uint64_t rng; /* picks the slots a walk displaces */
};

struct pos {
	uint32_t b1, b2;
	uint8_t fp;
};

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint32_t range(uint32_t x, uint32_t n)
{
	return (uint32_t)(((uint64_t)x * n) >> 32);
}

static uint32_t alt(const struct store_hint_table *t, uint32_t b, uint8_t fp)
{
	uint32_t x = range((uint32_t)(mix64(0x5bd1e995ull + fp) >> 32), t->nb);

	return x >= b ? x - b : x + t->nb - b;
}

static struct pos pos_of(const struct store_hint *h, const struct store_hint_table *t,
			 const uint8_t rid[32])
{
	uint64_t x = 0;
	struct pos p;

	for (int i = 0; i < 8; i++)
		x |= (uint64_t)rid[i] << (8 * i);
	x = mix64((x ^ h->key) * 0x9e3779b97f4a7c15ull);
	p.fp = (uint8_t)x;
	p.b1 = range((uint32_t)(x >> 32), t->nb);
	p.b2 = alt(t, p.b1, p.fp);
	return p;
}

struct store_hint_table *store_hint_table_new(const struct store_hint *h, size_t entries)
{
	struct store_hint_table *t = calloc(1, sizeof(*t));
	size_t nb = (entries * 100 + (size_t)SLOTS * BUILD_PCT - 1) / ((size_t)SLOTS * BUILD_PCT);

	if (!t)
		return NULL;
	if (nb < MIN_BUCKETS)
		nb = MIN_BUCKETS;
	if (nb > UINT32_MAX) {
		free(t);
		return NULL;
	}
	t->b = calloc(nb, sizeof(*t->b));
	if (!t->b) {
		free(t);
		return NULL;
	}
	t->nb = (uint32_t)nb;
	t->full = nb * SLOTS * FULL_PCT / 100;
	t->rng = h->key ^ nb;
	return t;
}

void store_hint_table_free(struct store_hint_table *t)
{
	if (!t)
		return;
	free(t->b);
	free(t);
}

static bool slot_free(struct bucket *b, uint8_t fp, uint32_t seq)
{
	for (int i = 0; i < SLOTS; i++)
		if (!b->seq[i]) {
			b->fp[i] = fp;
			b->seq[i] = seq;
			return true;
		}
	return false;
}

static bool present(const struct store_hint_table *t, struct pos p, uint32_t seq)
{
	for (int i = 0; i < SLOTS; i++)
		if ((t->b[p.b1].seq[i] == seq && t->b[p.b1].fp[i] == p.fp) ||
		    (t->b[p.b2].seq[i] == seq && t->b[p.b2].fp[i] == p.fp))
			return true;
	for (unsigned i = 0; i < t->n_stash; i++)
		if (t->stash[i].seq == seq && t->stash[i].fp == p.fp &&
		    (t->stash[i].bucket == p.b1 || t->stash[i].bucket == p.b2))
			return true;
	return false;
}

static int put(const struct store_hint *h, struct store_hint_table *t, const uint8_t rid[32],
	       uint32_t seq)
{
	struct pos p = pos_of(h, t, rid);
	uint32_t b;
	uint8_t fp = p.fp;

	if (seq == 0)
		return -EINVAL;
	if (present(t, p, seq))
		return 0;
	/* Full, or no stash room left for a walk that fails: nothing is changed. */
	if (t->count >= t->full || t->n_stash == STASH_MAX)
		return -ENOSPC;
	t->count++;
	if (slot_free(&t->b[p.b1], fp, seq) || slot_free(&t->b[p.b2], fp, seq))
		return 0;
	t->rng += 0x9e3779b97f4a7c15ull;
	b = mix64(t->rng) & 1 ? p.b2 : p.b1;
	for (int k = 0; k < KICKS_MAX; k++) {
		unsigned i;
		uint32_t s;
		uint8_t f;

		t->rng += 0x9e3779b97f4a7c15ull;
		i = (unsigned)(mix64(t->rng) % SLOTS);
		f = t->b[b].fp[i];
		s = t->b[b].seq[i];
		t->b[b].fp[i] = fp;
		t->b[b].seq[i] = seq;
		fp = f;
		seq = s;
		b = alt(t, b, fp);
		if (slot_free(&t->b[b], fp, seq))
			return 0;
	}
	t->stash[t->n_stash].bucket = b;
	t->stash[t->n_stash].fp = fp;
	t->stash[t->n_stash++].seq = seq;
	return 0;
}

int store_hint_table_put(const struct store_hint *h, struct store_hint_table *t,
			 const uint8_t rid[32], uint32_t seq)
{
	return put(h, t, rid, seq);
}

int store_hint_init(struct store_hint *h)
{
	int rc;

	memset(h, 0, sizeof(*h));
	rc = pthread_rwlock_init(&h->lock, NULL);
	if (rc != 0)
		return -rc;
	h->lock_ok = 1;
	proto_random((uint8_t *)&h->key, sizeof(h->key));
	h->t = store_hint_table_new(h, 0);
	if (!h->t) {
		store_hint_deinit(h);
		return -ENOMEM;
	}
	return 0;
}

void store_hint_deinit(struct store_hint *h)
{
	if (!h)
		return;
	store_hint_table_free(h->t);
	h->t = NULL;
	if (h->lock_ok)
		pthread_rwlock_destroy(&h->lock);
	h->lock_ok = 0;
}

void store_hint_swap(struct store_hint *h, struct store_hint_table *t)
{
	struct store_hint_table *old;

	pthread_rwlock_wrlock(&h->lock);
	old = h->t;
	h->t = t;
	pthread_rwlock_unlock(&h->lock);
	store_hint_table_free(old);
}

int store_hint_add(struct store_hint *h, const uint8_t rid[32], uint32_t seq)
{
	int rc;

	pthread_rwlock_wrlock(&h->lock);
	rc = put(h, h->t, rid, seq);
	pthread_rwlock_unlock(&h->lock);
	return rc;
}

size_t store_hint_find(struct store_hint *h, const uint8_t rid[32], uint32_t *seqs, size_t cap)
{
	const struct store_hint_table *t;
	struct pos p;
	size_t n = 0;

	pthread_rwlock_rdlock(&h->lock);
	t = h->t;
	p = pos_of(h, t, rid);
	for (int k = 0; k < 2; k++) {
		const struct bucket *b = &t->b[k ? p.b2 : p.b1];

		if (k && p.b2 == p.b1)
			break;
		for (int i = 0; i < SLOTS; i++) {
			if (!b->seq[i] || b->fp[i] != p.fp)
				continue;
			if (n < cap)
				seqs[n] = b->seq[i];
			n++;
		}
	}
	for (unsigned i = 0; i < t->n_stash; i++) {
		if (t->stash[i].fp != p.fp ||
		    (t->stash[i].bucket != p.b1 && t->stash[i].bucket != p.b2))
			continue;
		if (n < cap)
			seqs[n] = t->stash[i].seq;
		n++;
	}
	pthread_rwlock_unlock(&h->lock);
	return n;
}

size_t store_hint_bytes(struct store_hint *h)
{
	size_t n;

	pthread_rwlock_rdlock(&h->lock);
	n = sizeof(*h->t) + (size_t)h->t->nb * sizeof(struct bucket);
	pthread_rwlock_unlock(&h->lock);
	return n;
}

size_t store_hint_count(struct store_hint *h)
{
	size_t n;

	pthread_rwlock_rdlock(&h->lock);
	n = h->t->count;
	pthread_rwlock_unlock(&h->lock);
	return n;
}
