/* SPDX-License-Identifier: MIT */
/*
 * store/mdb.h — internal LMDB plumbing shared by the main store (the files listed in
 * store/store_int.h) and the export environment (export.c). Not part of the public store
 * API: only store/ includes lmdb.h.
 *
 * What it owns:
 *   - store_mdb_err(): the ONE place where LMDB return codes become chatham codes.
 *   - An environment wrapper whose transactions all run under a process-local rwlock held
 *     shared, so that a map resize (which LMDB 0.9 allows only while this process has no
 *     transaction open) can take it exclusively. The lock prefers writers, so a resize is
 *     never starved by a stream of readers.
 *   - Reader-slot and map-size recovery: MDB_READERS_FULL -> mdb_reader_check() and retry
 *     once; MDB_MAP_RESIZED -> adopt the new size (mdb_env_set_mapsize(env, 0)) and retry
 *     once; MDB_MAP_FULL in a write -> grow the map (doubling, capped at the configured
 *     maximum) and re-run the whole write from the start.
 *
 *   - Optionally (store_mdb_read_pool()), a few read transactions kept reset between uses
 *     and renewed by the next store_mdb_read_begin(): a one-shot read then costs neither a
 *     malloc of the transaction nor a scan of the reader table under its process-shared
 *     mutex (mdb_txn_reset()/mdb_txn_renew(); MDB_NOTLS lets any thread renew them).
 *
 * Thread rules: a struct store_mdb may be used from any number of threads. A thread that
 * holds a read transaction must not start a write on the same environment (the resize path
 * would wait for that thread's shared lock forever).
 */
#ifndef CHATHAM_STORE_MDB_H
#define CHATHAM_STORE_MDB_H

#include <lmdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define STORE_MDB_POOL_MAX 8

struct store_mdb {
	MDB_env *env;
	pthread_rwlock_t lock; /* shared: any transaction of this process; exclusive: resize */
	bool lock_init;
	bool readonly;
	size_t map_max;	  /* growth cap in bytes */
	int map_full_err; /* chatham code returned when the cap is reached */
	uint64_t n_grow;  /* times the map was grown (for tests and status) */
	/* Reset read transactions waiting to be renewed (store_mdb_read_pool()). */
	pthread_mutex_t pool_lock;
	bool pool_init;
	unsigned n_pool, pool_max;
	MDB_txn *pool[STORE_MDB_POOL_MAX];
};

/*
 * store_mdb_err() - translate an LMDB/errno result into a chatham result code.
 * 0 -> 0; MDB_NOTFOUND -> STORE_E_NOT_FOUND; MDB_MAP_FULL -> STORE_E_MAP_FULL;
 * MDB_READERS_FULL -> STORE_E_READERS; MDB_CORRUPTED, MDB_PAGE_NOTFOUND, MDB_INVALID,
 * MDB_VERSION_MISMATCH -> STORE_E_CORRUPT; MDB_TXN_FULL -> STORE_E_TXN_FULL;
 * MDB_KEYEXIST -> -EEXIST; MDB_MAP_RESIZED -> -EAGAIN (callers retry); positive errno
 * values -> their negation; any other MDB_* code -> STORE_E_LMDB.
 */
int store_mdb_err(int rc);

/*
 * store_mdb_get_u64() - the big-endian u64 stored under the string @key in @dbi, read in
 * @txn; 0 when absent. Return: 0, STORE_E_CORRUPT (a value that is not 8 bytes) or a
 * mapped LMDB error.
 */
int store_mdb_get_u64(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t *v);

/*
 * store_mdb_open() - create and open an environment in directory @dir (created with mode
 * 0700 if missing, one level only). @flags are extra mdb_env_open() flags (MDB_RDONLY for
 * readers); MDB_NOTLS is always added, and MDB_NOSYNC/MDB_NOMETASYNC/MDB_WRITEMAP are
 * refused with -EINVAL: every store environment is durable. @map_initial (at most @map_max;
 * a larger one is lowered to it) is raised to the size of an existing data file by LMDB
 * itself; where the system refuses to reserve it (ENOMEM: RLIMIT_AS, a small address space)
 * it is halved until it is reserved, down to 1 MiB. @map_full_err is what a write returns once the map cannot grow past @map_max. @m is caller storage; on failure it is left closed.
 * Returns 0, -errno, STORE_E_* (via store_mdb_err()).
 */
int store_mdb_open(struct store_mdb *m, const char *dir, unsigned flags, size_t map_initial,
		   size_t map_max, unsigned max_readers, unsigned max_dbs, mode_t mode,
		   int map_full_err);

/*
 * store_mdb_read_pool() - keep up to @n (at most STORE_MDB_POOL_MAX) ended read transactions
 * of @m reset, each holding its reader slot, and renew one in store_mdb_read_begin() instead
 * of beginning a new one. Call once, after store_mdb_open() and before any other thread uses
 * @m. The slots they hold are given back when a begin finds the reader table full, and at
 * store_mdb_close(). Returns 0 or -errno.
 */
int store_mdb_read_pool(struct store_mdb *m, unsigned n);

/* store_mdb_close() - close the environment. Safe on a zeroed or half-opened @m. */
void store_mdb_close(struct store_mdb *m);

/*
 * store_mdb_read_begin() - take the shared lock and begin a read-only transaction, with the
 * reader-table and resized-map recovery described above. On success the caller must call
 * store_mdb_read_end() (which aborts the txn and drops the lock) from the same thread.
 */
int store_mdb_read_begin(struct store_mdb *m, MDB_txn **txn);
void store_mdb_read_end(struct store_mdb *m, MDB_txn *txn);

/*
 * A write body: runs inside a write transaction, returns 0 to commit or a chatham code to
 * abort. It may be run several times (after a map growth) and must therefore reset any
 * output it produces at its start. STORE_E_MAP_FULL from the body means "grow and retry".
 */
typedef int (*store_mdb_write_fn)(MDB_txn *txn, void *ctx);

/*
 * store_mdb_write() - run @fn in one write transaction and commit it durably. On
 * STORE_E_MAP_FULL (from the body or the commit) the map grows by doubling up to map_max
 * and the body is re-run; at the cap the result is m->map_full_err. Returns 0 only after
 * the commit succeeded.
 */
int store_mdb_write(struct store_mdb *m, store_mdb_write_fn fn, void *ctx);

/* One row of a sequence walk: @data (@len bytes, borrowed for the call) stored under @seq. */
typedef int (*store_mdb_seq_fn)(void *ctx, uint64_t seq, const uint8_t *data, size_t len);

/*
 * store_mdb_seq_walk() - the rows of @dbi, whose keys are 8-byte big-endian sequence numbers
 * (the feeds), with seq > @since in ascending order, each passed to @fn: at most @limit rows
 * (0 = no limit) and at most INT_MAX. Runs in @txn (any kind, borrowed). Returns the number of
 * rows passed, @fn's non-zero result as-is (it stops the walk), STORE_E_CORRUPT for a key
 * that is not 8 bytes, or a translated LMDB error. @since UINT64_MAX walks nothing.
 */
int store_mdb_seq_walk(MDB_txn *txn, MDB_dbi dbi, uint64_t since, size_t limit, store_mdb_seq_fn fn,
		       void *ctx);

/* store_mdb_map_size() - the current map size in bytes. */
size_t store_mdb_map_size(struct store_mdb *m);

/* Big-endian helpers for keys and stored values. */
static inline void store_be64_put(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static inline uint64_t store_be64_get(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static inline void store_be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t store_be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#endif
