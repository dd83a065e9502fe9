/* SPDX-License-Identifier: MIT */
/*
 * store/hint.h — internal to store/: the in-memory map from a report id to the sequence
 * number under which its record is stored (store.c: the reports database is keyed by
 * sequence || report id, so that new records are appended instead of being scattered over a
 * B-tree keyed by random ids; docs/ARCHITECTURE.md "Store layout").
 *
 * The map is a hint, never the truth: each slot holds the first 32 bits of a report id and a
 * 32-bit sequence, so a lookup returns CANDIDATE sequences and the caller confirms each with
 * one exact LMDB lookup of sequence || id. A slot left behind by an aborted write names a
 * record that does not exist (or another report's) and is harmless. The store rebuilds the
 * map from the reports database when it opens, so it never has to be made durable.
 *
 * Slots are 8 bytes in an open-addressing table (linear probing) whose size is a power of two,
 * grown by doubling at 3/4 load: 16 MiB at 1 M reports, 128 MiB at 10 M. The home slot comes
 * from the id prefix mixed with a random per-process key, so ids ground to share low bits do
 * not pile up in one run; ids sharing all 32 prefix bits (2^32 work each) only cost extra
 * candidates.
 *
 * Threads: any number of threads may call store_hint_find() concurrently with one thread
 * calling store_hint_add() (the store's writer, inside its write transaction); a rwlock
 * serialises them. store_hint_init()/deinit() are not concurrent with anything.
 */
#ifndef CHATHAM_STORE_HINT_H
#define CHATHAM_STORE_HINT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct store_hint {
	pthread_rwlock_t lock;
	uint64_t *slot; /* prefix << 32 | seq; 0 = empty (sequences start at 1) */
	unsigned bits;	/* table size = 1 << bits */
	size_t used;
	uint64_t key; /* random; mixes the home slot */
	int lock_ok;
};

/* store_hint_init() - an empty map in caller storage. Returns 0, -ENOMEM or -errno. */
int store_hint_init(struct store_hint *h);

/* store_hint_deinit() - free the table. Safe on a zeroed or failed-init @h. */
void store_hint_deinit(struct store_hint *h);

/* store_hint_clear() - drop every slot (before a rebuild), keeping the table. */
void store_hint_clear(struct store_hint *h);

/*
 * store_hint_add() - remember that @rid may be stored under @seq (1..UINT32_MAX). Adding a
 * pair that is already present is a no-op. Grows the table when needed.
 * Returns 0, -EINVAL (@seq 0), -ENOMEM (the table could not grow; nothing was added).
 */
int store_hint_add(struct store_hint *h, const uint8_t rid[32], uint32_t seq);

/*
 * store_hint_find() - candidate sequences of @rid: writes up to @cap of them to @seqs and
 * returns how many there are in all (which may exceed @cap: call again with more room).
 */
size_t store_hint_find(struct store_hint *h, const uint8_t rid[32], uint32_t *seqs, size_t cap);

/* store_hint_bytes() - memory held by the table. */
size_t store_hint_bytes(struct store_hint *h);

#endif
