/* SPDX-License-Identifier: MIT */
/*
 * store/store_test.h — hooks for tests, benchmarks and repair tools; the daemon does not use
 * them. Same rules as store/store.h (threads, errors, ownership).
 */
#ifndef CHATHAM_STORE_STORE_TEST_H
#define CHATHAM_STORE_STORE_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/*
 * store_verify() - full consistency check (an fsck): the schema is current and no migration
 * is unfinished; every report record decodes, is found by its id under its own key (so no id
 * is stored twice) and has its index entry and, if CLEAR/GREEN, its recon entry (and nothing
 * else has); every summary equals what its index and votes imply; every vote is the winner of
 * its voter's reports; the expiry index matches the summaries; each summary's feed_seq names
 * an entry of its indicator; every outbox entry names a stored report. Linear in the store's
 * size. Returns 0, or STORE_E_CORRUPT with a short description in @why (caller storage of
 * @why_len bytes, may be NULL).
 */
int store_verify(struct store *s, char *why, size_t why_len);

/*
 * Benchmark helpers: the raw mdb_put rate of one B-tree keyed by random ids, a batch at a
 * time, so that a benchmark can interleave it with the store's own batches and both see the
 * same load. store_raw_open() creates a fresh environment in @dir sized for @n_max puts of
 * @val_len-byte values (*@out, freed by store_raw_close(), which is NULL-safe);
 * store_raw_put_batch() puts @n more 32-byte random keys (one fixed xorshift sequence) in
 * one durable commit. 0 or a negative code.
 */
struct store_raw;
int store_raw_open(struct store_raw **out, const char *dir, size_t n_max, size_t val_len);
int store_raw_put_batch(struct store_raw *r, size_t n);
void store_raw_close(struct store_raw *r);

/*
 * Benchmark helpers: one-shot lookups of the keys store_raw_put_batch() wrote into @dir, the
 * machine's LMDB limit for store_report_get() with no @rd. store_raw_get_open() opens @dir
 * read-only and lists the first @n_keys keys (*@out, freed by store_raw_get_close(), which is
 * NULL-safe); store_raw_get_run() looks up @n_gets of them chosen at random, each in its own
 * read transaction: begun and aborted (@renew false: plain LMDB use), or one transaction
 * renewed and reset around each lookup (@renew true: the cheapest one-shot LMDB allows).
 * 0 or a negative code. One thread at a time per handle.
 */
struct store_raw_get;
int store_raw_get_open(struct store_raw_get **out, const char *dir, size_t n_keys);
int store_raw_get_run(struct store_raw_get *g, size_t n_gets, bool renew);
void store_raw_get_close(struct store_raw_get *g);

/*
 * store_debug_put() - write raw bytes into named database @db ("reports", "indicators",
 * "recon", "recon_sums", "expiry", "feed", "outbox", "rosters", "meta") in one transaction, bypassing
 * every invariant. For tests that corrupt a store and for repair tools only.
 */
int store_debug_put(struct store *s, const char *db, const void *key, size_t klen, const void *val,
		    size_t vlen);

/* store_debug_report_key() - the 40-byte key of report @rid's record (store/store.h). */
int store_debug_report_key(struct store *s, const uint8_t rid[32], uint8_t key[40]);

/* store_debug_last_txn() - the id of the main environment's last committed transaction. */
uint64_t store_debug_last_txn(struct store *s);

/* store_debug_hint_bytes() - memory held by the in-memory id map (store/hint.h). */
size_t store_debug_hint_bytes(struct store *s);

/* The shape of one B-tree (LMDB's mdb_stat()): where a durable commit's page writes go. */
struct store_debug_tree {
	uint64_t entries;
	uint64_t branch_pages, leaf_pages, overflow_pages;
	unsigned depth;
};

/*
 * store_debug_tree() - the shape of named database @db (names as for store_debug_put()) in a
 * fresh read snapshot, into caller storage @t. 0, -EINVAL for an unknown name, or an LMDB
 * error.
 */
int store_debug_tree(struct store *s, const char *db, struct store_debug_tree *t);

/*
 * store_raw_tree() - the shape of the tree store_raw_put_batch() wrote into @dir, into @t.
 * 0 or a negative code.
 */
int store_raw_tree(const char *dir, struct store_debug_tree *t);

#endif
