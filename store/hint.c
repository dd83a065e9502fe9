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
 *
 * Readers take no lock against the writer (store/hint.h: the event loop reads the hint for
 * every report it sends, and a writer holding a lock while the scheduler keeps it off the
 * CPU stalled the loop for up to 0.2 s; docs/PERFORMANCE.md "Event-loop lag during a
 * burst"). Three rules make that safe:
 *   - an empty slot is filled fingerprint first, then its sequence with release order, so a
 *     reader that sees the sequence sees the fingerprint;
 *   - a walk is planned before anything moves, then carried out from its far end: each
 *     entry is first copied to its new place and only then overwritten in its old one, so
 *     every entry is in the table at every moment;
 *   - before each overwrite the writer bumps `moves`. A reader could still miss an entry
 *     that moved from its second bucket to its first while it read them in the other order;
 *     it then sees `moves` change and reads again. A writer stopped in mid-walk changes
 *     nothing, so readers never wait for it.
 * The stash only grows (entry first, then n_stash with release order). Swapping tables is
 * the one thing readers are excluded from: a rwlock held for a pointer store.
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
	unsigned n_stash; /* read by readers: release/acquire */
	uint64_t moves;	  /* bumped before every overwrite of an occupied slot */
	uint64_t rng;	  /* picks the slots a walk displaces */
};

/* One step of a planned walk: the entry in slot @i of bucket @b moves on. */
struct step {
	uint32_t b;
	uint8_t i;
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

/* A free slot of bucket @b, or -1. */
static int free_slot(const struct bucket *b)
{
	for (int i = 0; i < SLOTS; i++)
		if (!b->seq[i])
			return i;
	return -1;
}

/* Fill free slot @i of @b: readers see the sequence only with its fingerprint. */
static void fill(struct bucket *b, int i, uint8_t fp, uint32_t seq)
{
	__atomic_store_n(&b->fp[i], fp, __ATOMIC_RELAXED);
	__atomic_store_n(&b->seq[i], seq, __ATOMIC_RELEASE);
}

/* Overwrite occupied slot @i of @b, whose entry is already elsewhere too. */
static void overwrite(struct store_hint_table *t, struct bucket *b, int i, uint8_t fp, uint32_t seq)
{
	__atomic_store_n(&t->moves, t->moves + 1, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	fill(b, i, fp, seq);
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

static bool on_path(const struct step *path, unsigned m, uint32_t b, unsigned i)
{
	for (unsigned k = 0; k < m; k++)
		if (path[k].b == b && path[k].i == i)
			return true;
	return false;
}

/*
 * Plan a walk from bucket @b: path[0..m) are the slots whose entries move, each to the
 * next one's slot, the last to *@dest_b (slot *@dest_i, or the stash when *@dest_i is -1).
 * The slots are distinct, so the plan can be carried out backwards.
 */
static unsigned plan_walk(struct store_hint_table *t, uint32_t b, struct step *path,
			  uint32_t *dest_b, int *dest_i)
{
	unsigned m = 0;

	for (;;) {
		unsigned i, k;
		uint32_t nb;
		int f;

		t->rng += 0x9e3779b97f4a7c15ull;
		i = (unsigned)(mix64(t->rng) % SLOTS);
		for (k = 0; k < SLOTS && on_path(path, m, b, (i + k) % SLOTS); k++)
			;
		if (k == SLOTS || m == KICKS_MAX) {
			/* No slot left to displace: the last one moved goes to the stash. */
			*dest_b = path[m - 1].b;
			*dest_i = -1;
			return m;
		}
		path[m].b = b;
		path[m++].i = (uint8_t)((i + k) % SLOTS);
		nb = alt(t, b, t->b[b].fp[path[m - 1].i]);
		f = free_slot(&t->b[nb]);
		if (f >= 0) {
			*dest_b = nb;
			*dest_i = f;
			return m;
		}
		b = nb;
	}
}

static int put(const struct store_hint *h, struct store_hint_table *t, const uint8_t rid[32],
	       uint32_t seq)
{
	struct step path[KICKS_MAX];
	struct pos p = pos_of(h, t, rid);
	uint32_t dest_b;
	unsigned m;
	int dest_i;

	if (seq == 0)
		return -EINVAL;
	if (present(t, p, seq))
		return 0;
	/* Full, or no stash room left for a walk that fails: nothing is changed. */
	if (t->count >= t->full || t->n_stash == STASH_MAX)
		return -ENOSPC;
	__atomic_store_n(&t->count, t->count + 1, __ATOMIC_RELAXED);
	if ((dest_i = free_slot(&t->b[p.b1])) >= 0) {
		fill(&t->b[p.b1], dest_i, p.fp, seq);
		return 0;
	}
	if ((dest_i = free_slot(&t->b[p.b2])) >= 0) {
		fill(&t->b[p.b2], dest_i, p.fp, seq);
		return 0;
	}
	t->rng += 0x9e3779b97f4a7c15ull;
	m = plan_walk(t, mix64(t->rng) & 1 ? p.b2 : p.b1, path, &dest_b, &dest_i);
	/* From the far end: copy the last entry out, then shift each one into its successor's slot. */
	{
		const struct bucket *lb = &t->b[path[m - 1].b];
		uint8_t lf = lb->fp[path[m - 1].i];
		uint32_t ls = lb->seq[path[m - 1].i];

		if (dest_i >= 0) {
			fill(&t->b[dest_b], dest_i, lf, ls);
		} else {
			t->stash[t->n_stash].bucket = dest_b;
			t->stash[t->n_stash].fp = lf;
			t->stash[t->n_stash].seq = ls;
			__atomic_store_n(&t->n_stash, t->n_stash + 1, __ATOMIC_RELEASE);
		}
	}
	for (unsigned k = m - 1; k > 0; k--) {
		const struct bucket *pb = &t->b[path[k - 1].b];

		overwrite(t, &t->b[path[k].b], path[k].i, pb->fp[path[k - 1].i],
			  pb->seq[path[k - 1].i]);
	}
	overwrite(t, &t->b[path[0].b], path[0].i, p.fp, seq);
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
	/* The writer alone changes h->t, so it needs no lock to read it. */
	return put(h, h->t, rid, seq);
}

/* Candidates of @p in @t, read once (see the overview for why a read can be repeated). */
static size_t scan(const struct store_hint_table *t, struct pos p, uint32_t *seqs, size_t cap)
{
	unsigned ns = __atomic_load_n(&t->n_stash, __ATOMIC_ACQUIRE);
	size_t n = 0;

	for (int k = 0; k < 2; k++) {
		const struct bucket *b = &t->b[k ? p.b2 : p.b1];

		if (k && p.b2 == p.b1)
			break;
		for (int i = 0; i < SLOTS; i++) {
			uint32_t s = __atomic_load_n(&b->seq[i], __ATOMIC_ACQUIRE);

			if (!s || __atomic_load_n(&b->fp[i], __ATOMIC_RELAXED) != p.fp)
				continue;
			if (n < cap)
				seqs[n] = s;
			n++;
		}
	}
	for (unsigned i = 0; i < ns; i++) {
		if (t->stash[i].fp != p.fp ||
		    (t->stash[i].bucket != p.b1 && t->stash[i].bucket != p.b2))
			continue;
		if (n < cap)
			seqs[n] = t->stash[i].seq;
		n++;
	}
	return n;
}

size_t store_hint_find(struct store_hint *h, const uint8_t rid[32], uint32_t *seqs, size_t cap)
{
	const struct store_hint_table *t;
	struct pos p;
	uint64_t moves;
	size_t n;

	pthread_rwlock_rdlock(&h->lock);
	t = h->t;
	p = pos_of(h, t, rid);
	do {
		moves = __atomic_load_n(&t->moves, __ATOMIC_ACQUIRE);
		n = scan(t, p, seqs, cap);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while (__atomic_load_n(&t->moves, __ATOMIC_RELAXED) != moves);
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
	n = __atomic_load_n(&h->t->count, __ATOMIC_RELAXED);
	pthread_rwlock_unlock(&h->lock);
	return n;
}
