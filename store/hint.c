/* SPDX-License-Identifier: MIT */
/*
 * The report id -> sequence hint (store/hint.h): 64 segments, each a cuckoo table of 8-slot
 * buckets. Bits 8..13 of an id's hash pick its segment; the rest below is about one segment.
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
 * The stash only grows (entry first, then n_stash with release order).
 *
 * Swapping in a map or a segment is an atomic pointer store; the writer frees what it
 * replaced only after a grace period, so a reader never waits, not even for a swap (a rwlock
 * held for that pointer store made the loop thread sleep up to 63 ms in one 16-node burst:
 * glibc hands a rwlock to a waiting writer, here a worker at nice +5 that the scheduler then
 * kept off the CPU). A lookup counts itself in one of two counters, picked by the parity of
 * `gen`, before it loads any pointer, and uncounts itself when done. After its store the
 * writer flips `gen` and waits for the old parity's counter to reach zero, then flips again
 * and waits for the other one: every lookup counted before the store has then ended, and one
 * counted after it (all sequentially consistent) loads the new pointer. The flips send new
 * lookups to the counter not being waited for, so a stream of them cannot starve the writer.
 * A lookup takes well under a microsecond; the writer waits longer only for one preempted
 * inside it, and it is the writer (a pool thread) that waits, not the loop.
 *
 * A segment grows by being rebuilt from its own entries: their sequences, sorted so that the
 * store reads the records in key order, are turned back into ids by the caller, and each
 * (id, sequence) that still hashes to the slot it came from is put into a table a quarter
 * bigger. Growing by a quarter instead of a half keeps the map fuller on average (about 5.65
 * bytes per id at 1 M ids grown from empty, against 6.08 with whole rebuilds by a half); it
 * costs about three id reads per id over a store's life, spread as 1/64 of the ids at a
 * time.
 */
#include "store/hint.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "proto/crypto.h"

#define SLOTS 8
#define STASH_MAX 16
#define KICKS_MAX 500
#define BUILD_PCT 90
#define FULL_PCT 97
#define MIN_BUCKETS 8 /* per segment: 64 slots, 64 x 64 in a fresh map */
#define SEG_SHIFT 8   /* hash bits 8..13 pick the segment (0..7: fingerprint) */

struct bucket {
	uint8_t fp[SLOTS];
	uint32_t seq[SLOTS]; /* 0 = empty (sequences start at 1) */
};

struct stash_ent {
	uint32_t bucket, seq;
	uint8_t fp;
};

/* One segment: a cuckoo table of its own. */
struct seg {
	struct bucket *b;
	uint32_t nb;
	size_t count, full; /* entries (slots and stash); the most before -ENOSPC */
	struct stash_ent stash[STASH_MAX];
	unsigned n_stash; /* read by readers: release/acquire */
	uint64_t moves;	  /* bumped before every overwrite of an occupied slot */
	uint64_t rng;	  /* picks the slots a walk displaces */
};

/* The map: ids are split over SEGMENTS independent tables by 6 bits of their hash. */
struct store_hint_table {
	struct seg *seg[STORE_HINT_SEGMENTS];
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

static uint32_t alt(const struct seg *t, uint32_t b, uint8_t fp)
{
	uint32_t x = range((uint32_t)(mix64(0x5bd1e995ull + fp) >> 32), t->nb);

	return x >= b ? x - b : x + t->nb - b;
}

static uint64_t hash_of(const struct store_hint *h, const uint8_t rid[32])
{
	uint64_t x = 0;

	for (int i = 0; i < 8; i++)
		x |= (uint64_t)rid[i] << (8 * i);
	return mix64((x ^ h->key) * 0x9e3779b97f4a7c15ull);
}

static unsigned seg_of(uint64_t x)
{
	return (unsigned)(x >> SEG_SHIFT) % STORE_HINT_SEGMENTS;
}

static struct pos pos_in(const struct seg *t, uint64_t x)
{
	struct pos p;

	p.fp = (uint8_t)x;
	p.b1 = range((uint32_t)(x >> 32), t->nb);
	p.b2 = alt(t, p.b1, p.fp);
	return p;
}

/*
 * Bucket arrays of MMAP_MIN bytes or more are mapped, not malloc'd: a freed segment then goes
 * back to the system at once. malloc would keep it (its mmap threshold rises to the size of
 * the first mapped block freed), and a node growing to 10 M ids held 12.7 MiB of freed
 * segments besides the 58.9 MiB map (bench_hint).
 */
#define MMAP_MIN (128 * 1024)

static struct bucket *buckets_new(size_t nb)
{
	size_t len = nb * sizeof(struct bucket);
	void *p;

	if (len < MMAP_MIN)
		return calloc(nb, sizeof(struct bucket));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p; /* zero-filled */
}

static void buckets_free(struct bucket *b, size_t nb)
{
	size_t len = nb * sizeof(struct bucket);

	if (len < MMAP_MIN)
		free(b);
	else if (b)
		munmap(b, len);
}

/* A segment for @entries at BUILD_PCT (at least MIN_BUCKETS buckets); NULL: no memory. */
static struct seg *seg_new(const struct store_hint *h, size_t entries)
{
	struct seg *t = calloc(1, sizeof(*t));
	size_t nb = (entries * 100 + (size_t)SLOTS * BUILD_PCT - 1) / ((size_t)SLOTS * BUILD_PCT);

	if (!t)
		return NULL;
	if (nb < MIN_BUCKETS)
		nb = MIN_BUCKETS;
	if (nb > UINT32_MAX) {
		free(t);
		return NULL;
	}
	t->b = buckets_new(nb);
	if (!t->b) {
		free(t);
		return NULL;
	}
	t->nb = (uint32_t)nb;
	t->full = nb * SLOTS * FULL_PCT / 100;
	t->rng = h->key ^ nb;
	return t;
}

static void seg_free(struct seg *t)
{
	if (!t)
		return;
	buckets_free(t->b, t->nb);
	free(t);
}

static size_t seg_bytes(const struct seg *t)
{
	return sizeof(*t) + (size_t)t->nb * sizeof(struct bucket);
}

struct store_hint_table *store_hint_table_new(const struct store_hint *h, size_t entries)
{
	struct store_hint_table *t = calloc(1, sizeof(*t));
	/* A segment's share varies by about its square root: room for 4 of those more. */
	size_t each = entries / STORE_HINT_SEGMENTS, root = 1;

	if (!t)
		return NULL;
	while (root * root < each)
		root++;
	for (unsigned i = 0; i < STORE_HINT_SEGMENTS; i++)
		if (!(t->seg[i] = seg_new(h, each + 4 * root))) {
			store_hint_table_free(t);
			return NULL;
		}
	return t;
}

void store_hint_table_free(struct store_hint_table *t)
{
	if (!t)
		return;
	for (unsigned i = 0; i < STORE_HINT_SEGMENTS; i++)
		seg_free(t->seg[i]);
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
static void overwrite(struct seg *t, struct bucket *b, int i, uint8_t fp, uint32_t seq)
{
	__atomic_store_n(&t->moves, t->moves + 1, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	fill(b, i, fp, seq);
}

static bool present(const struct seg *t, struct pos p, uint32_t seq)
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
static unsigned plan_walk(struct seg *t, uint32_t b, struct step *path, uint32_t *dest_b,
			  int *dest_i)
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

/* Put (@x's position, @seq) into segment @t: 0, -EINVAL or -ENOSPC (nothing changed). */
static int put(struct seg *t, uint64_t x, uint32_t seq)
{
	struct step path[KICKS_MAX];
	struct pos p = pos_in(t, x);
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
	uint64_t x = hash_of(h, rid);

	return put(t->seg[seg_of(x)], x, seq);
}

int store_hint_init(struct store_hint *h)
{
	memset(h, 0, sizeof(*h));
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
}

/* A lookup begins: returns the counter it is counted in, for read_end(). */
static unsigned read_begin(struct store_hint *h)
{
	unsigned g = __atomic_load_n(&h->gen, __ATOMIC_SEQ_CST) & 1;

	__atomic_fetch_add(&h->readers[g], 1, __ATOMIC_SEQ_CST);
	return g;
}

static void read_end(struct store_hint *h, unsigned g)
{
	__atomic_fetch_sub(&h->readers[g], 1, __ATOMIC_RELEASE);
}

static void wait_zero(const unsigned long *n)
{
	for (unsigned spins = 0; __atomic_load_n(n, __ATOMIC_SEQ_CST) != 0; spins++) {
		if (spins < 64) {
			sched_yield();
		} else {
			struct timespec ts = {0, 50000};

			nanosleep(&ts, NULL);
		}
	}
}

/* After a pointer store: returns once no lookup can still be reading what it replaced. */
static void grace_period(struct store_hint *h)
{
	for (int k = 0; k < 2; k++) {
		unsigned g = __atomic_fetch_add(&h->gen, 1, __ATOMIC_SEQ_CST) & 1;

		wait_zero(&h->readers[g]);
	}
}

void store_hint_swap(struct store_hint *h, struct store_hint_table *t)
{
	struct store_hint_table *old = h->t;

	__atomic_store_n(&h->t, t, __ATOMIC_SEQ_CST);
	grace_period(h);
	store_hint_table_free(old);
}

int store_hint_add(struct store_hint *h, const uint8_t rid[32], uint32_t seq)
{
	/* The writer alone changes h->t and its segments, so it needs no lock to read them. */
	return store_hint_table_put(h, h->t, rid, seq);
}

/*
 * Sort @v[@n] ascending with @tmp[@n] as scratch: a radix sort a byte at a time (qsort's
 * callback per comparison was a tenth of a segment's growth).
 */
static void sort_u32(uint32_t *v, uint32_t *tmp, size_t n)
{
	for (unsigned shift = 0; shift < 32; shift += 8) {
		size_t count[257] = {0};
		uint32_t *swap;

		for (size_t i = 0; i < n; i++)
			count[(v[i] >> shift & 0xff) + 1]++;
		for (unsigned d = 0; d < 256; d++)
			count[d + 1] += count[d];
		for (size_t i = 0; i < n; i++)
			tmp[count[v[i] >> shift & 0xff]++] = v[i];
		swap = v;
		v = tmp;
		tmp = swap;
	}
	/* Four passes: the sorted copy is back in the caller's @v. */
}

/*
 * The sequences held by segment @t, ascending (the resolver then walks the records in key
 * order), into a malloc'd array *@out of *@n. -ENOMEM.
 */
static int seg_seqs(const struct seg *t, uint32_t **out, size_t *n)
{
	size_t k = 0, cap = t->count + 1;
	uint32_t *v = malloc(2 * cap * sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (uint32_t b = 0; b < t->nb; b++)
		for (int i = 0; i < SLOTS; i++)
			if (t->b[b].seq[i] && k < cap)
				v[k++] = t->b[b].seq[i];
	for (unsigned i = 0; i < t->n_stash && k < cap; i++)
		v[k++] = t->stash[i].seq;
	sort_u32(v, v + cap, k);
	*out = v;
	*n = k;
	return 0;
}

int store_hint_grow(struct store_hint *h, const uint8_t rid[32], store_hint_resolve_fn resolve,
		    void *arg)
{
	unsigned sg = seg_of(hash_of(h, rid));
	struct seg *old = h->t->seg[sg], *t = NULL;
	size_t want = old->count + old->count / 4 + 64, n = 0;
	uint32_t *seqs = NULL;
	int rc = seg_seqs(old, &seqs, &n);

	if (rc != 0)
		return rc;
again:
	if (!(t = seg_new(h, want))) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t id[32];
		uint64_t x;

		/* Adjacent copies of one sequence (a stale slot and the live one): once. */
		if (i && seqs[i] == seqs[i - 1])
			continue;
		rc = resolve(arg, seqs[i], id);
		if (rc == 1)
			continue; /* no record: a slot left by an aborted write */
		if (rc != 0)
			goto out;
		x = hash_of(h, id);
		/* The record belongs to another id than the slot's: stale too, dropped. */
		if (seg_of(x) != sg || !present(old, pos_in(old, x), seqs[i]))
			continue;
		rc = put(t, x, seqs[i]);
		if (rc == -ENOSPC) {
			/* A walk that did not settle: a quarter more room. */
			seg_free(t);
			want += want / 4 + 1;
			goto again;
		}
		if (rc != 0)
			goto out;
	}
	__atomic_store_n(&h->t->seg[sg], t, __ATOMIC_SEQ_CST);
	grace_period(h);
	t = old;
	rc = 0;
out:
	seg_free(t);
	free(seqs);
	return rc;
}

/* Candidates of @p in @t, read once (see the overview for why a read can be repeated). */
static size_t scan(const struct seg *t, struct pos p, uint32_t *seqs, size_t cap)
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
	const struct seg *t;
	uint64_t x = hash_of(h, rid), moves;
	struct pos p;
	size_t n;
	unsigned g = read_begin(h);

	t = __atomic_load_n(&__atomic_load_n(&h->t, __ATOMIC_SEQ_CST)->seg[seg_of(x)],
			    __ATOMIC_SEQ_CST);
	p = pos_in(t, x);
	do {
		moves = __atomic_load_n(&t->moves, __ATOMIC_ACQUIRE);
		n = scan(t, p, seqs, cap);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while (__atomic_load_n(&t->moves, __ATOMIC_RELAXED) != moves);
	read_end(h, g);
	return n;
}

size_t store_hint_bytes(struct store_hint *h)
{
	size_t n = sizeof(*h->t);
	unsigned g = read_begin(h);
	const struct store_hint_table *t = __atomic_load_n(&h->t, __ATOMIC_SEQ_CST);

	for (unsigned i = 0; i < STORE_HINT_SEGMENTS; i++)
		n += seg_bytes(__atomic_load_n(&t->seg[i], __ATOMIC_SEQ_CST));
	read_end(h, g);
	return n;
}

size_t store_hint_count(struct store_hint *h)
{
	size_t n = 0;

	unsigned g = read_begin(h);
	const struct store_hint_table *t = __atomic_load_n(&h->t, __ATOMIC_SEQ_CST);

	for (unsigned i = 0; i < STORE_HINT_SEGMENTS; i++)
		n += __atomic_load_n(&__atomic_load_n(&t->seg[i], __ATOMIC_SEQ_CST)->count,
				     __ATOMIC_RELAXED);
	read_end(h, g);
	return n;
}
