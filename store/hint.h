/* SPDX-License-Identifier: MIT */
/*
 * store/hint.h — internal to store/: the in-memory map from a report id to the sequence
 * number under which its record is stored (store.c: the reports database is keyed by
 * sequence || report id, so that new records are appended instead of being scattered over a
 * B-tree keyed by random ids; docs/ARCHITECTURE.md "Store layout").
 *
 * The map is a hint, never the truth: a lookup returns CANDIDATE sequences and the caller
 * confirms each with one exact LMDB lookup of sequence || id. A slot left behind by an
 * aborted write names a record that does not exist (or another report's) and is harmless.
 * The store fills the map from the reports database when it opens, so it is never durable.
 *
 * Layout: a cuckoo table of buckets of 8 slots; a slot is a 32-bit sequence and an 8-bit
 * fingerprint, 5 bytes (5.56 bytes per id when filled to 90 %, as built; at most 97 %
 * before it is rebuilt bigger). An id hashes, under a random per-process key, to two
 * buckets and a fingerprint; the second bucket is computed from the first and the
 * fingerprint alone, so an entry can be moved without its id. A lookup reads the two
 * buckets (and a stash of at most 16 entries that could not be placed): at most 32
 * candidates, about 16 x load / 256 false ones per lookup (5 %), each costing the caller
 * one LMDB lookup. The slots keep too few bits of the id to rehash, so the table never grows
 * in place: store_hint_add() says -ENOSPC and the store builds a bigger table from the
 * record keys (store_hint_table_new(), _put(), store_hint_swap()) while readers keep using
 * the old one.
 *
 * Threads: any number of threads may call store_hint_find() concurrently with one thread
 * (the store's writer, inside its write transaction, or store_open()) calling
 * store_hint_add() and building and swapping tables. A lookup never waits for an add (it
 * reads again if an entry moved meanwhile, store/hint.c); a rwlock excludes lookups only
 * while a table is swapped in. A table that is being built belongs to its builder alone.
 * store_hint_init()/deinit() are not concurrent with anything.
 */
#ifndef CHATHAM_STORE_HINT_H
#define CHATHAM_STORE_HINT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_HINT_CANDIDATES_MAX 32 /* 2 buckets x 8 slots + the stash */

struct store_hint_table;

struct store_hint {
	pthread_rwlock_t lock;
	struct store_hint_table *t;
	uint64_t key; /* random; mixes ids into buckets and fingerprints */
	int lock_ok;
};

/* store_hint_init() - an empty map in caller storage. Returns 0, -ENOMEM or -errno. */
int store_hint_init(struct store_hint *h);

/* store_hint_deinit() - free the table. Safe on a zeroed or failed-init @h. */
void store_hint_deinit(struct store_hint *h);

/*
 * store_hint_add() - remember that @rid may be stored under @seq (1..UINT32_MAX). Adding a
 * pair that is already present is a no-op. Returns 0, -EINVAL (@seq 0), or -ENOSPC: the
 * table is full; nothing was added, build a bigger one and swap it in, then add again.
 */
int store_hint_add(struct store_hint *h, const uint8_t rid[32], uint32_t seq);

/*
 * store_hint_find() - candidate sequences of @rid: writes up to @cap of them to @seqs and
 * returns how many there are in all (at most STORE_HINT_CANDIDATES_MAX).
 */
size_t store_hint_find(struct store_hint *h, const uint8_t rid[32], uint32_t *seqs, size_t cap);

/* store_hint_bytes() - memory held by the current table. */
size_t store_hint_bytes(struct store_hint *h);

/* store_hint_count() - entries in the current table. */
size_t store_hint_count(struct store_hint *h);

/*
 * store_hint_table_new() - an empty table for @h's key, sized to hold @entries at 90 %
 * (at least 512 slots). Owned by the caller until store_hint_swap(). NULL on -ENOMEM.
 */
struct store_hint_table *store_hint_table_new(const struct store_hint *h, size_t entries);

/*
 * store_hint_table_put() - store_hint_add() into a table being built (no lock taken).
 * Returns 0, -EINVAL or -ENOSPC (build a bigger one).
 */
int store_hint_table_put(const struct store_hint *h, struct store_hint_table *t,
			 const uint8_t rid[32], uint32_t seq);

/* store_hint_table_free() - NULL-safe. */
void store_hint_table_free(struct store_hint_table *t);

/* store_hint_swap() - make @t (owned, transferred) the current table; free the old one. */
void store_hint_swap(struct store_hint *h, struct store_hint_table *t);

#endif
