/* SPDX-License-Identifier: MIT */
/*
 * Backup and restore of the main store. The copy is LMDB's own (mdb_env_copyfd2), which
 * walks one read transaction's snapshot and, with MDB_CP_COMPACT, writes only live pages
 * renumbered from the start: the file is as small as the data and needs no free-list. The
 * running node is another process; it may grow its map meanwhile, which shows here as
 * MDB_MAP_RESIZED when the copy starts its transaction: adopt the new size and start over.
 */
#include "store/backup.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/error.h"
#include "store/mdb.h"
#include "store/notice.h"
#include "store/store.h"

#define COPY_ATTEMPTS 4

int store_backup_copy(const char *state_dir, const char *dest, uint64_t *bytes)
{
	struct store_mdb m = {0};
	struct stat st;
	int fd = -1, rc, attempt = 0;

	if (!state_dir || !dest)
		return -EINVAL;
	rc = store_mdb_open(&m, state_dir, MDB_RDONLY, 0, 0, 126, 16, 0600, STORE_E_MAP_FULL);
	if (rc == -ENOENT)
		return STORE_E_NOT_FOUND;
	if (rc)
		return rc;
	fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	do {
		if (attempt && (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)) {
			rc = -errno;
			break;
		}
		rc = mdb_env_copyfd2(m.env, fd, MDB_CP_COMPACT);
		if (rc == MDB_MAP_RESIZED)
			mdb_env_set_mapsize(m.env, 0);
	} while (rc == MDB_MAP_RESIZED && ++attempt < COPY_ATTEMPTS);
	rc = store_mdb_err(rc);
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	if (rc == 0 && bytes) {
		if (fstat(fd, &st) == 0)
			*bytes = (uint64_t)st.st_size;
		else
			rc = -errno;
	}
out:
	if (fd >= 0) {
		close(fd);
		if (rc)
			unlink(dest);
	}
	store_mdb_close(&m);
	return rc;
}

/* Copy @src to the new file @dst (0600) and fsync it. */
static int copy_file(const char *src, const char *dst)
{
	char buf[1 << 16];
	int in, out, rc = 0;
	ssize_t n;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		rc = -errno;
		close(in);
		return rc;
	}
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				rc = -errno;
				goto out;
			}
			off += w;
		}
	}
	if (rc == 0 && fsync(out) != 0)
		rc = -errno;
out:
	close(in);
	if (close(out) != 0 && rc == 0)
		rc = -errno;
	return rc;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Remove the scratch directory's files (a store's three) and the directory. */
static void scratch_remove(const char *scratch)
{
	static const char *const names[] = {"data.mdb", "lock.mdb", "store.lock"};
	char p[4096];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", scratch, names[i]);
		unlink(p);
	}
	rmdir(scratch);
}

/*
 * Read every entry of every database of the environment in @dir, in one read transaction:
 * a damaged page (bad checksum of the tree structure, a page past the end of the file)
 * surfaces as MDB_CORRUPTED or MDB_PAGE_NOTFOUND here rather than in the running node.
 */
static int walk_all(const char *dir)
{
	struct store_mdb m = {0};
	MDB_txn *txn = NULL;
	MDB_cursor *names = NULL, *c = NULL;
	MDB_val k, d;
	MDB_dbi main_db, db;
	char name[64];
	int rc;

	rc = store_mdb_open(&m, dir, MDB_RDONLY, 0, 0, 126, 16, 0600, STORE_E_MAP_FULL);
	if (rc)
		return rc;
	if ((rc = store_mdb_read_begin(&m, &txn)) != 0)
		goto out;
	if ((rc = mdb_dbi_open(txn, NULL, 0, &main_db)) != 0 ||
	    (rc = mdb_cursor_open(txn, main_db, &names)) != 0)
		goto done;
	for (rc = mdb_cursor_get(names, &k, &d, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(names, &k, &d, MDB_NEXT)) {
		if (k.mv_size == 0 || k.mv_size >= sizeof(name))
			continue; /* not a database name */
		memcpy(name, k.mv_data, k.mv_size);
		name[k.mv_size] = 0;
		if ((rc = mdb_dbi_open(txn, name, 0, &db)) != 0 ||
		    (rc = mdb_cursor_open(txn, db, &c)) != 0)
			break;
		while ((rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) == 0)
			;
		mdb_cursor_close(c);
		if (rc != MDB_NOTFOUND)
			break;
	}
	mdb_cursor_close(names);
done:
	rc = rc == MDB_NOTFOUND ? 0 : store_mdb_err(rc);
	store_mdb_read_end(&m, txn);
out:
	store_mdb_close(&m);
	return rc;
}

/* The first step of every check: walk_all(), a failure explained in @why (when @why_len). */
static int check_readable(const char *scratch, char *why, size_t why_len)
{
	int rc = walk_all(scratch);

	if (rc && why_len)
		snprintf(why, why_len, "not a readable LMDB environment: %s", proto_error_str(rc));
	return rc == STORE_E_NOT_FOUND ? STORE_E_CORRUPT : rc;
}

/*
 * Check the copy in @scratch: every page of every database readable, and it opens as a main
 * store of a schema this build reads (store_open() refuses a newer one, or an export).
 */
static int check_copy(const char *scratch, char *why, size_t why_len)
{
	struct store_config cfg = {.dir = scratch};
	struct store *s = NULL;
	int rc = check_readable(scratch, why, why_len);

	if (rc)
		return rc;
	rc = store_open(&s, &cfg);
	if (rc && why_len)
		snprintf(why, why_len, "does not open as a chatham store: %s", proto_error_str(rc));
	store_close(s);
	return rc;
}

/* The notice environment's check: it opens as one (its schema and handle key read). */
static int check_notices(const char *scratch, char *why, size_t why_len)
{
	struct store_notices *s = NULL;
	int rc = check_readable(scratch, why, why_len);

	if (rc)
		return rc;
	rc = store_notices_open(&s, scratch);
	if (rc && why_len)
		snprintf(why, why_len, "does not open as a notice store: %s", proto_error_str(rc));
	store_notices_close(s);
	return rc;
}

/*
 * Put the backup file @src in place as @env_dir's data.mdb, checked by @check first, under
 * the node's store lock in @state_dir (see store_backup_restore()).
 */
static int restore_env(const char *src, const char *state_dir, const char *env_dir,
		       int (*check)(const char *scratch, char *why, size_t why_len), char *why,
		       size_t why_len)
{
	char lock[4096], scratch[4096], copy[4096], data[4096], old[4096], lmdb_lock[4096];
	struct stat st;
	int lock_fd = -1, rc;

	if (!src || !state_dir)
		return -EINVAL;
	if (why_len)
		why[0] = '\0';
	if ((size_t)snprintf(lock, sizeof(lock), "%s/store.lock", state_dir) >= sizeof(lock) ||
	    (size_t)snprintf(copy, sizeof(copy), "%s/restore.tmp/data.mdb", env_dir) >=
		    sizeof(copy))
		return -ENAMETOOLONG;
	snprintf(scratch, sizeof(scratch), "%s/restore.tmp", env_dir);
	snprintf(data, sizeof(data), "%s/data.mdb", env_dir);
	snprintf(old, sizeof(old), "%s/data.mdb.before-restore", env_dir);
	snprintf(lmdb_lock, sizeof(lmdb_lock), "%s/lock.mdb", env_dir);
	if (mkdir(state_dir, 0700) != 0 && errno != EEXIST)
		return -errno;
	if (mkdir(env_dir, 0700) != 0 && errno != EEXIST)
		return -errno;
	lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock_fd < 0)
		return -errno;
	if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
		rc = errno == EWOULDBLOCK ? STORE_E_BUSY : -errno;
		goto out;
	}
	if (stat(src, &st) != 0) {
		rc = -errno;
		goto out;
	}
	if (stat(data, &st) == 0 && stat(old, &st) == 0) {
		rc = -EEXIST; /* never delete an earlier store: the operator moves it */
		if (why_len)
			snprintf(why, why_len, "%s exists from an earlier restore; move it away",
				 old);
		goto out;
	}
	scratch_remove(scratch);
	if (mkdir(scratch, 0700) != 0) {
		rc = -errno;
		goto out;
	}
	if ((rc = copy_file(src, copy)) || (rc = check(scratch, why, why_len)))
		goto out;
	if (stat(data, &st) == 0 && rename(data, old) != 0) {
		rc = -errno;
		goto out;
	}
	if (rename(copy, data) != 0) {
		rc = -errno;
		goto out;
	}
	/* The old reader table described the old file; LMDB makes a new one at the next open. */
	unlink(lmdb_lock);
	rc = fsync_dir(env_dir);
out:
	scratch_remove(scratch);
	if (lock_fd >= 0)
		close(lock_fd);
	return rc;
}

int store_backup_restore(const char *src, const char *state_dir, char *why, size_t why_len)
{
	return restore_env(src, state_dir, state_dir, check_copy, why, why_len);
}

int store_backup_restore_notices(const char *src, const char *state_dir, char *why, size_t why_len)
{
	char dir[4096];

	if (!state_dir)
		return -EINVAL;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/notices", state_dir) >= sizeof(dir))
		return -ENAMETOOLONG;
	return restore_env(src, state_dir, dir, check_notices, why, why_len);
}
