/* SPDX-License-Identifier: MIT */
/*
 * LMDB plumbing: error translation, durable environment setup, and the retry rules for
 * reader-table exhaustion, maps resized by another process and maps that fill up.
 *
 * Every transaction of this process runs with m->lock held shared. LMDB 0.9 requires that
 * mdb_env_set_mapsize() is called while the process has no transaction open, so growing or
 * adopting a new map size takes the lock exclusively. The lock is writer-preferring so a
 * steady stream of short reads cannot starve a resize. The price: from the moment a resize
 * waits, every new transaction of the process waits too, until the transactions open then
 * (a write queued behind LMDB's writer lock, its fsync included) and the resize are done.
 * On the 16-node burst with maps that had to grow, the event loop slept up to 204 ms there
 * (docs/PERFORMANCE.md), so callers reserve the map generously at open (address space, not
 * disk: without MDB_WRITEMAP LMDB never extends the file to the map size) and a resize is
 * rare.
 */
#include "store/mdb.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "proto/error.h"

int store_mdb_get_u64(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t *v)
{
	MDB_val k = {.mv_size = strlen(key), .mv_data = (void *)key}, d;
	int rc = mdb_get(txn, dbi, &k, &d);

	*v = 0;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return store_mdb_err(rc);
	if (d.mv_size != 8)
		return STORE_E_CORRUPT;
	*v = store_be64_get(d.mv_data);
	return 0;
}

int store_mdb_err(int rc)
{
	switch (rc) {
	case 0:
		return 0;
	case MDB_NOTFOUND:
		return STORE_E_NOT_FOUND;
	case MDB_MAP_FULL:
		return STORE_E_MAP_FULL;
	case MDB_READERS_FULL:
		return STORE_E_READERS;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
		return STORE_E_CORRUPT;
	case MDB_TXN_FULL:
		return STORE_E_TXN_FULL;
	case MDB_KEYEXIST:
		return -EEXIST;
	case MDB_MAP_RESIZED:
		return -EAGAIN;
	default:
		break;
	}
	if (rc > 0 && rc < 1000)
		return -rc;
	return STORE_E_LMDB;
}

/* The smallest map store_mdb_open() falls back to when a larger one cannot be reserved. */
#define MAP_INITIAL_MIN ((size_t)1 << 20)

/* mdb_env_create() .. mdb_env_open() into @m->env (left for the caller to close). */
static int env_open(struct store_mdb *m, const char *dir, unsigned flags, size_t map_initial,
		    unsigned max_readers, unsigned max_dbs, mode_t mode)
{
	int rc = mdb_env_create(&m->env);

	if (rc != 0) {
		m->env = NULL;
		return rc;
	}
	if ((rc = mdb_env_set_maxdbs(m->env, max_dbs)) != 0 ||
	    (rc = mdb_env_set_maxreaders(m->env, max_readers)) != 0 ||
	    (!m->readonly && (rc = mdb_env_set_mapsize(m->env, map_initial)) != 0))
		return rc;
	return mdb_env_open(m->env, dir, flags | MDB_NOTLS, mode);
}

int store_mdb_open(struct store_mdb *m, const char *dir, unsigned flags, size_t map_initial,
		   size_t map_max, unsigned max_readers, unsigned max_dbs, mode_t mode,
		   int map_full_err)
{
	pthread_rwlockattr_t attr;
	int rc;

	memset(m, 0, sizeof(*m));
	if (flags & (MDB_NOSYNC | MDB_NOMETASYNC | MDB_WRITEMAP | MDB_MAPASYNC))
		return -EINVAL;
	if (map_initial > map_max)
		map_initial = map_max;
	m->map_max = map_max;
	m->map_full_err = map_full_err;
	m->readonly = (flags & MDB_RDONLY) != 0;

	if (pthread_rwlockattr_init(&attr) != 0)
		return -ENOMEM;
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	rc = pthread_rwlock_init(&m->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	if (rc != 0)
		return -rc;
	m->lock_init = true;

	if (!m->readonly && mkdir(dir, 0700) != 0 && errno != EEXIST)
		return -errno;
	/*
	 * The map reserved at open is a wish, not a need (the map grows as written): where the
	 * system will not reserve that much address space (ENOMEM: RLIMIT_AS, a small address
	 * space), ask for half until it does, down to MAP_INITIAL_MIN.
	 */
	while ((rc = env_open(m, dir, flags, map_initial, max_readers, max_dbs, mode)) == ENOMEM &&
	       !m->readonly && map_initial / 2 >= MAP_INITIAL_MIN) {
		mdb_env_close(m->env);
		m->env = NULL;
		map_initial /= 2;
	}
	if (rc != 0)
		goto fail;
	return 0;
fail:
	store_mdb_close(m);
	return store_mdb_err(rc);
}

int store_mdb_read_pool(struct store_mdb *m, unsigned n)
{
	int rc;

	if (m->pool_init)
		return -EINVAL;
	if ((rc = pthread_mutex_init(&m->pool_lock, NULL)) != 0)
		return -rc;
	m->pool_init = true;
	m->pool_max = n < STORE_MDB_POOL_MAX ? n : STORE_MDB_POOL_MAX;
	return 0;
}

/* Abort every pooled transaction, which gives its reader slot back. */
static void pool_drain(struct store_mdb *m)
{
	if (!m->pool_init)
		return;
	pthread_mutex_lock(&m->pool_lock);
	while (m->n_pool)
		mdb_txn_abort(m->pool[--m->n_pool]);
	pthread_mutex_unlock(&m->pool_lock);
}

void store_mdb_close(struct store_mdb *m)
{
	if (!m)
		return;
	pool_drain(m);
	if (m->pool_init)
		pthread_mutex_destroy(&m->pool_lock);
	m->pool_init = false;
	if (m->env)
		mdb_env_close(m->env);
	m->env = NULL;
	if (m->lock_init)
		pthread_rwlock_destroy(&m->lock);
	m->lock_init = false;
}

size_t store_mdb_map_size(struct store_mdb *m)
{
	MDB_envinfo info;

	if (mdb_env_info(m->env, &info) != 0)
		return 0;
	return info.me_mapsize;
}

/*
 * Adopt a map size another process set (new_size 0) or grow ours. Called with no lock held;
 * takes the lock exclusively so no transaction of this process is open meanwhile.
 */
static int resize(struct store_mdb *m, size_t new_size)
{
	int rc;

	pthread_rwlock_wrlock(&m->lock);
	rc = mdb_env_set_mapsize(m->env, new_size);
	if (rc == 0 && new_size)
		m->n_grow++;
	pthread_rwlock_unlock(&m->lock);
	return store_mdb_err(rc);
}

/*
 * Begin a transaction with the lock held shared. Stale reader slots left by dead processes
 * are reclaimed once; a map grown by another process is adopted once. Any other failure is
 * returned with the lock released.
 */
static int txn_begin(struct store_mdb *m, unsigned flags, MDB_txn **txn)
{
	bool checked_readers = false, adopted_map = false;
	int rc;

	for (;;) {
		pthread_rwlock_rdlock(&m->lock);
		rc = mdb_txn_begin(m->env, NULL, flags, txn);
		if (rc == 0)
			return 0;
		pthread_rwlock_unlock(&m->lock);
		if (rc == MDB_READERS_FULL && !checked_readers) {
			int dead = 0;

			checked_readers = true;
			pool_drain(m);
			mdb_reader_check(m->env, &dead);
			continue;
		}
		if (rc == MDB_MAP_RESIZED && !adopted_map) {
			adopted_map = true;
			rc = resize(m, 0);
			if (rc != 0)
				return rc;
			continue;
		}
		return store_mdb_err(rc);
	}
}

/* A pooled transaction renewed under the shared lock, or NULL (lock not held). */
static MDB_txn *pool_take(struct store_mdb *m)
{
	MDB_txn *t = NULL;

	if (!m->pool_init)
		return NULL;
	pthread_rwlock_rdlock(&m->lock);
	pthread_mutex_lock(&m->pool_lock);
	if (m->n_pool)
		t = m->pool[--m->n_pool];
	pthread_mutex_unlock(&m->pool_lock);
	if (t && mdb_txn_renew(t) == 0)
		return t;
	/* A map resized by another process, say: the full path below deals with it. */
	if (t)
		mdb_txn_abort(t);
	pthread_rwlock_unlock(&m->lock);
	return NULL;
}

int store_mdb_read_begin(struct store_mdb *m, MDB_txn **txn)
{
	if ((*txn = pool_take(m)) != NULL)
		return 0;
	return txn_begin(m, MDB_RDONLY, txn);
}

void store_mdb_read_end(struct store_mdb *m, MDB_txn *txn)
{
	if (!txn)
		return;
	if (m->pool_init) {
		mdb_txn_reset(txn);
		pthread_mutex_lock(&m->pool_lock);
		if (m->n_pool < m->pool_max) {
			m->pool[m->n_pool++] = txn;
			txn = NULL;
		}
		pthread_mutex_unlock(&m->pool_lock);
	}
	if (txn)
		mdb_txn_abort(txn);
	pthread_rwlock_unlock(&m->lock);
}

/* The next map size after a map-full, or 0 when the cap has been reached. */
static size_t next_size(struct store_mdb *m)
{
	size_t cur = store_mdb_map_size(m), next;

	if (cur >= m->map_max)
		return 0;
	next = cur > m->map_max / 2 ? m->map_max : cur * 2;
	return next;
}

int store_mdb_write(struct store_mdb *m, store_mdb_write_fn fn, void *ctx)
{
	MDB_txn *txn;
	size_t grow;
	int rc;

	if (m->readonly)
		return -EROFS;
	for (;;) {
		rc = txn_begin(m, 0, &txn);
		if (rc != 0)
			return rc;
		rc = fn(txn, ctx);
		if (rc == 0)
			rc = store_mdb_err(mdb_txn_commit(txn));
		else
			mdb_txn_abort(txn);
		pthread_rwlock_unlock(&m->lock);
		if (rc != STORE_E_MAP_FULL)
			return rc;
		grow = next_size(m);
		if (grow == 0)
			return m->map_full_err;
		rc = resize(m, grow);
		if (rc != 0)
			return rc;
	}
}

int store_mdb_seq_walk(MDB_txn *txn, MDB_dbi dbi, uint64_t since, size_t limit, store_mdb_seq_fn fn,
		       void *ctx)
{
	MDB_cursor *c = NULL;
	MDB_val k, d;
	uint8_t kb[8];
	int rc, count = 0;

	if (since == UINT64_MAX)
		return 0;
	if ((rc = mdb_cursor_open(txn, dbi, &c)) != 0)
		return store_mdb_err(rc);
	store_be64_put(kb, since + 1);
	k = (MDB_val){.mv_size = sizeof(kb), .mv_data = kb};
	for (rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
	     rc == 0 && (!limit || (size_t)count < limit) && count < INT_MAX;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if (k.mv_size != 8) {
			rc = STORE_E_CORRUPT;
			goto out;
		}
		if ((rc = fn(ctx, store_be64_get(k.mv_data), d.mv_data, d.mv_size)) != 0)
			goto out;
		count++;
	}
	rc = (rc == MDB_NOTFOUND || rc == 0) ? count : store_mdb_err(rc);
out:
	mdb_cursor_close(c);
	return rc;
}
