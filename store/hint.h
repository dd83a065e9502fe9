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
 * Layout: STORE_HINT_SEGMENTS independent cuckoo tables (segments), an id's segment chosen
 * by 6 bits of its hash; each is a table of buckets of 8 slots; a slot is a 32-bit sequence
 * and an 8-bit fingerprint, 5 bytes (5.56 bytes per id when filled to 90 %, as built; at
 * most 97 % before it is rebuilt bigger). An id hashes, under a random per-process key, to
 * two buckets of its segment and a fingerprint; the second bucket is computed from the
 * first and the fingerprint alone, so an entry can be moved without its id. A lookup reads
 * the two buckets (and a stash of at most 16 entries that could not be placed): at most 32
 * candidates, about 16 x load / 256 false ones per lookup (5 %), each costing the caller one
 * LMDB lookup. The slots keep too few bits of the id to rehash, so a segment never grows in
 * place: store_hint_add() says -ENOSPC, and store_hint_grow() builds that one segment a
 * quarter bigger from the ids of its own entries, which the caller reads back from its
 * records by sequence, and swaps it in while readers keep using the rest. A full build
 * (store_hint_table_new(), _put(), store_hint_swap()) is for the store's open, from the
 * record keys. Growing one segment at a time keeps the memory above the map's own to one
 * segment's (1/64 of it) and the writer's stall to reading 1/64 of the ids, where a whole
 * rebuild held two maps and read every record key.
 *
 * Threads: any number of threads may call store_hint_find() concurrently with one thread
 * (the store's writer, inside its write transaction, or store_open()) calling
 * store_hint_add(), store_hint_grow() and building and swapping tables. A lookup never waits
 * for an add (it reads again if an entry moved meanwhile, store/hint.c) nor for a swap: a
 * table or segment swapped out is freed once no lookup can still be reading it, which the
 * writer waits for (a grace period, store/hint.c). A table that is being built belongs to
 * its builder alone. store_hint_init()/deinit() are not concurrent with anything.
 */
#ifndef CHATHAM_STORE_HINT_H
#define CHATHAM_STORE_HINT_H

#include <stddef.h>
#include <stdint.h>

#define STORE_HINT_CANDIDATES_MAX 32 /* 2 buckets x 8 slots + the stash */
#define STORE_HINT_SEGMENTS 64

struct store_hint_table;

struct store_hint {
	struct store_hint_table *t; /* replaced by the writer, read atomically */
	uint64_t key;		    /* random; mixes ids into buckets and fingerprints */
	unsigned gen;		    /* parity: the counter new lookups announce themselves in */
	unsigned long readers[2];   /* lookups in progress, by the parity they read */
};

/* store_hint_init() - an empty map in caller storage. Returns 0, -ENOMEM or -errno. */
int store_hint_init(struct store_hint *h);

/* store_hint_deinit() - free the table. Safe on a zeroed or failed-init @h. */
void store_hint_deinit(struct store_hint *h);

/*
 * store_hint_add() - remember that @rid may be stored under @seq (1..UINT32_MAX). Adding a
 * pair that is already present is a no-op. Returns 0, -EINVAL (@seq 0), or -ENOSPC: @rid's
 * segment is full; nothing was added, call store_hint_grow() for @rid, then add again.
 */
int store_hint_add(struct store_hint *h, const uint8_t rid[32], uint32_t seq);

/*
 * The id of the record stored under @seq, into @id: 0, 1 if there is no such record, or a
 * negative code (which store_hint_grow() returns).
 */
typedef int (*store_hint_resolve_fn)(void *arg, uint32_t seq, uint8_t id[32]);

/*
 * store_hint_grow() - rebuild the segment @rid falls in, a quarter bigger than its entries,
 * and swap it in. Each entry's id is read back with @resolve(@arg, ...) by its sequence (in
 * ascending order); an entry whose record is gone or belongs to an id that does not hash
 * to that slot (left by an aborted write) is dropped. The writer's call, like
 * store_hint_add(). Returns 0, -ENOMEM (the segment is unchanged) or @resolve's error.
 */
int store_hint_grow(struct store_hint *h, const uint8_t rid[32], store_hint_resolve_fn resolve,
		    void *arg);

/*
 * store_hint_find() - candidate sequences of @rid: writes up to @cap of them to @seqs and
 * returns how many there are in all (at most STORE_HINT_CANDIDATES_MAX).
 */
size_t store_hint_find(struct store_hint *h, const uint8_t rid[32], uint32_t *seqs, size_t cap);

/* store_hint_bytes() - memory held by the current table (all segments). */
size_t store_hint_bytes(struct store_hint *h);

/* store_hint_count() - entries in the current table. */
size_t store_hint_count(struct store_hint *h);

/*
 * store_hint_table_new() - an empty map for @h's key, each segment sized to hold its share
 * of @entries (and four times the share's square root more) at 90 %, at least 64 slots a
 * segment. Owned by the caller until store_hint_swap(). NULL on -ENOMEM.
 */
struct store_hint_table *store_hint_table_new(const struct store_hint *h, size_t entries);

/*
 * store_hint_table_put() - store_hint_add() into a map being built (no lock taken).
 * Returns 0, -EINVAL or -ENOSPC (a segment is full: build a bigger map).
 */
int store_hint_table_put(const struct store_hint *h, struct store_hint_table *t,
			 const uint8_t rid[32], uint32_t seq);

/* store_hint_table_free() - NULL-safe. */
void store_hint_table_free(struct store_hint_table *t);

/* store_hint_swap() - make @t (owned, transferred) the current map; free the old one. */
void store_hint_swap(struct store_hint *h, struct store_hint_table *t);

#endif
