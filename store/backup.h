/* SPDX-License-Identifier: MIT */
/*
 * store/backup.h — backup and restore of the main store (the state directory's LMDB
 * environment) and of the notice environment beside it, for `chatham backup` and
 * `chatham restore`.
 *
 * A backup is one file: a compacted copy of data.mdb taken inside one LMDB read transaction
 * (mdb_env_copyfd2 with MDB_CP_COMPACT), so it is consistent — every committed report,
 * index, vote, feed entry, outbox entry and roster as of one commit — while the node keeps
 * running and writing. It is made from a second process: the node's store lock (store.lock)
 * is not needed by a reader, and LMDB readers never block the writer.
 *
 * A restore puts such a file in place as the state directory's data.mdb. It needs the node
 * stopped (it takes the store lock, STORE_E_BUSY otherwise), checks the file first (it must
 * be readable page by page in every database and open as a main store), and replaces data.mdb atomically (copy to a
 * temporary file, fsync, rename, fsync the directory). A data.mdb already there is kept
 * beside it as data.mdb.before-restore, never deleted.
 *
 * The restored store keeps its store id, so an export environment derived from it before
 * the backup would look like its own; but feed sequences after the backup point are issued
 * again for other changes. The caller therefore rebuilds the export environment (removes
 * it; the node makes a new one, with a new env id, at its next start: SIEM readers see the
 * new env id and read it from the start). node/ does that, not this module.
 *
 * Files are created 0600. Errors: 0 or a negative errno / STORE_E_* code (proto/error.h).
 * Thread-safe (no shared state).
 */
#ifndef CHATHAM_STORE_BACKUP_H
#define CHATHAM_STORE_BACKUP_H

#include <stddef.h>
#include <stdint.h>

/*
 * store_backup_copy() - write a consistent, compacted copy of the main store in @state_dir
 * to the new file @dest (created 0600 with O_EXCL: never overwrites; removed again on
 * failure), and fsync it. *@bytes (optional) gets the file size.
 * Errors: STORE_E_NOT_FOUND (no store in @state_dir), -EEXIST (@dest exists), -errno,
 * STORE_E_* from LMDB.
 */
int store_backup_copy(const char *state_dir, const char *dest, uint64_t *bytes);

/*
 * store_backup_restore() - make the backup file @src the main store of @state_dir (created
 * 0700 if missing). @src is checked first: it is copied into a scratch directory
 * @state_dir/restore.tmp, read entry by entry in every database, and opened as a
 * store (@why gets the reason, @why_len bytes, when it fails). Then it becomes data.mdb as described above.
 * Errors: STORE_E_BUSY (a node runs on @state_dir), STORE_E_CORRUPT (the file is not a
 * sound store; @why says why), STORE_E_SCHEMA_NEWER, -errno.
 */
int store_backup_restore(const char *src, const char *state_dir, char *why, size_t why_len);

/*
 * store_backup_restore_notices() - the same for the notice environment (store/notice.h):
 * the backup file @src (a store_backup_copy() of @state_dir/notices) becomes
 * @state_dir/notices/data.mdb, checked to open as a notice store first, under the node's
 * store lock, keeping a data.mdb already there as data.mdb.before-restore. Same errors.
 */
int store_backup_restore_notices(const char *src, const char *state_dir, char *why, size_t why_len);

#endif
