/* SPDX-License-Identifier: MIT */
/*
 * store/export.h — the SIEM export environment (DESIGN.md §7): a second LMDB environment in
 * its own directory that holds only stripped documents, so that SIEM readers never pin pages
 * of (or read anything from) the main store.
 *
 * Databases:
 *   feed  main feed sequence u64 BE -> one document (bytes produced by the render callback:
 *         the indicator's stripped state, or its withdrawal/expiry, as one line of JSON)
 *   notices  the notices feed, its own sequence u64 BE (from 1) -> one document: a notice
 *         this node received, rendered by the notice engine (node/daemon/notices.h) for the
 *         node's own tools; a notice whose rendering changes moves to a new sequence (its
 *         old one is deleted), so a reader that pulls after its last sequence sees every
 *         change and a full pull holds each notice once, as rendered last
 *   notice_ids  notice id (16) -> its sequence in notices
 *   meta  "schema" -> u32 BE; "last_seq" -> u64 BE, the last main feed sequence consumed
 *         (rendered or skipped); "community" -> community name (UTF-8); "store_id" -> the
 *         id of the main store it derives from; "env_id" -> 16 random bytes naming this
 *         export environment (a SIEM state file keyed on it notices a rebuilt export);
 *         "rules" -> the renderer's name for the rules its documents were rendered under
 *         (opaque here, at most STORE_EXPORT_RULES_MAX bytes; absent in an export written
 *         before rules were recorded)
 *
 * Derivation: store_export_sync() reads main feed entries after meta.last_seq, renders them
 * (a chunk of entries per render call) and writes the documents together with the new last_seq in ONE export transaction. The
 * export key is the main feed sequence, so after a crash between the main commit and the
 * export commit the next sync renders exactly the missing entries: nothing is lost and
 * nothing is duplicated. Sequences in the export feed are increasing but may have gaps
 * (entries the renderer skipped).
 *
 * Files: the directory is created 0750 if missing; data.mdb is made 0640 and lock.mdb 0660
 * so that a SIEM account in the directory's group can open the environment read-only with
 * a reader-table lock (LMDB readers need write access to lock.mdb, never to data.mdb).
 * Readers never block the writer; a reader that dies holding a slot is reclaimed at the next
 * sync (mdb_reader_check).
 *
 * Both environments are durable (fsync on every commit). Thread rules are those of
 * store/store.h: a struct store_export may be shared; writes serialise.
 * Errors: 0 or a negative errno / STORE_E_* code (proto/error.h); STORE_E_EXPORT_MAP_FULL
 * names the setting to raise.
 */
#ifndef CHATHAM_STORE_EXPORT_H
#define CHATHAM_STORE_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define STORE_EXPORT_SCHEMA_VERSION 1

struct store_export;

struct store_export_config {
	const char *dir;	   /* export directory (not the state dir) */
	const char *community;	   /* community name recorded in meta (replaced if changed) */
	uint64_t map_size_initial; /* bytes; 0 = 1 GiB (address space; see store.h) */
	uint64_t map_size_max;	   /* bytes; 0 = 16 GiB */
	unsigned max_readers;	   /* reader slots for SIEM readers; 0 = 126 */
};

/*
 * store_export_open() - open (creating if needed) the export environment for writing.
 * cfg->dir must not be the state directory (nor any environment this process has open).
 * Errors: STORE_E_SCHEMA_NEWER, STORE_E_CORRUPT, -EINVAL (missing dir/community, or @dir
 * holds a main store), -errno.
 */
int store_export_open(struct store_export **out, const struct store_export_config *cfg);

/*
 * store_export_open_readonly() - open an existing export environment read-only (MDB_RDONLY;
 * used by `chatham export`). Needs read access to data.mdb and read/write to lock.mdb.
 * Errors: STORE_E_NOT_FOUND (no export environment there), STORE_E_SCHEMA_NEWER, -errno.
 */
int store_export_open_readonly(struct store_export **out, const char *dir);

/* store_export_close() - NULL-safe. */
void store_export_close(struct store_export *x);

/*
 * Main feed entries given to one render callback, at most (store_export_sync()). 128: the
 * renderer's stages each re-warm the caches once a chunk, so a longer chunk spreads that over
 * more entries (docs/PERFORMANCE.md, session 11); its memory is node/daemon/exporter.h's.
 */
#define STORE_EXPORT_CHUNK 128

/*
 * Render callback of store_export_sync(): turn the @n (1..STORE_EXPORT_CHUNK) consecutive
 * main feed entries @e[0..@n-1], in feed order, into documents. Taking a chunk rather than
 * one entry lets a renderer run each of its stages over the whole chunk (node/daemon/
 * exporter.c: every view first, then every document), so a stage's code and tables stay
 * in the caches across entries.
 * It runs inside the main store's read snapshot @rd and may call store read functions with
 * (@s, @rd) — typically store_summary_get() and store_votes_iter() — and nothing else.
 * @docs[i] arrives NULL. On success set @docs[i] to a malloc'd buffer (ownership passes to
 * the store) and @lens[i], or leave it NULL to skip entry i (policy denies it, e.g. RED
 * with export_red off, or the entry is superseded). A negative return aborts the sync:
 * nothing is written, and the store frees whatever @docs[] holds.
 */
typedef int (*store_export_render_fn)(void *ctx, struct store *s, struct store_read *rd,
				      const struct store_feed_entry *e, size_t n, uint8_t **docs,
				      size_t *lens);

/*
 * store_export_sync() - render up to @max_batch (0 = 1024) main feed entries after the
 * export's last_seq and commit the documents and the new last_seq in one export
 * transaction. Returns the number of feed entries consumed (0 = caught up), or an error:
 * STORE_E_EXPORT_FOREIGN when the export derives from another main store (different
 * store_id, or its last_seq is beyond the main feed), the callback's error, or a store
 * error. Call it in a loop until it returns 0 to catch up completely.
 */
int store_export_sync(struct store *s, struct store_export *x, store_export_render_fn fn, void *ctx,
		      size_t max_batch);

/* store_export_last_seq() - meta last_seq (0 for a new export). */
int store_export_last_seq(struct store_export *x, uint64_t *seq);

/*
 * Document callback: @doc (@len bytes) points into the map, is valid during the call only
 * and is NOT NUL-terminated: it may end at the last byte of the data file, so a string
 * function that looks for a terminator (sscanf, strlen, strtoull) reads past the file and
 * the process gets SIGBUS. Parse it with its length (json_loadb) or copy it first. Return 0
 * to continue; a non-zero value stops the walk and is returned by store_export_iter().
 */
typedef int (*store_export_doc_cb)(void *ctx, uint64_t seq, const uint8_t *doc, size_t len);

/*
 * store_export_iter() - documents with sequence > @since, ascending, at most @limit (0 = no
 * limit), in one read snapshot. Returns the number visited, or the callback's value/error.
 */
int store_export_iter(struct store_export *x, uint64_t since, size_t limit, store_export_doc_cb cb,
		      void *ctx);

/* One notice document for store_export_notices_put(). */
struct store_export_notice {
	uint8_t id[16];
	const uint8_t *doc; /* borrowed */
	size_t len;
};

/*
 * store_export_notices_put() - in ONE export transaction, append each of @docs whose
 * notice has no document yet, or one with other bytes (which is deleted: a notice lives
 * under its newest sequence only), under the notices feed's next sequence. Documents
 * equal to the stored ones change nothing. *@appended (optional) gets the count written.
 * store_export_reset() empties the notices feed too. Errors: -EINVAL, -EROFS,
 * STORE_E_EXPORT_MAP_FULL, store errors.
 */
int store_export_notices_put(struct store_export *x, const struct store_export_notice *docs,
			     size_t n, size_t *appended);

/*
 * store_export_notices_iter() - the notices feed as store_export_iter() walks the main one
 * (sequence > @since, ascending, at most @limit; one snapshot). An export written before
 * the notices feed existed has an empty one.
 */
int store_export_notices_iter(struct store_export *x, uint64_t since, size_t limit,
			      store_export_doc_cb cb, void *ctx);

/* store_export_community() - the community name as a NUL-terminated string in @buf. */
int store_export_community(struct store_export *x, char *buf, size_t cap);

/* store_export_env_id() - the 16-byte id of this export environment. */
int store_export_env_id(struct store_export *x, uint8_t id[16]);

#define STORE_EXPORT_RULES_MAX 64

/*
 * store_export_rules() - meta "rules" into @buf (@cap bytes), its length into *@len.
 * Errors: STORE_E_NOT_FOUND (never recorded), -ENOSPC (longer than @cap), store errors.
 */
int store_export_rules(struct store_export *x, uint8_t *buf, size_t cap, size_t *len);

/* A document replacing the one stored under @seq (store_export_rewrite()). */
struct store_export_doc {
	uint64_t seq;
	const uint8_t *doc; /* borrowed */
	size_t len;
};

/*
 * store_export_rewrite() - in ONE export transaction, replace the document under each
 * @docs[i].seq by @docs[i].doc (a sequence with no document is skipped: nothing is added,
 * so the feed's sequences stay those of the main feed) and, when @rules is not NULL, set
 * meta "rules" to @rules (@rules_len <= STORE_EXPORT_RULES_MAX bytes). Used when the
 * rendering rules changed: a document already read by SIEMs is corrected in place, so its
 * old text is nowhere in the export, while the corrected current state is rendered under a
 * new sequence by store_export_sync() (the caller appends main feed entries for it first).
 * last_seq is untouched. Errors: -EINVAL, -EROFS, STORE_E_EXPORT_MAP_FULL, store errors.
 */
int store_export_rewrite(struct store_export *x, const struct store_export_doc *docs, size_t n,
			 const uint8_t *rules, size_t rules_len);

/*
 * store_export_reset() - in ONE export transaction, remove every document, set last_seq to
 * 0, give the environment a new env id and set meta "rules" to @rules (@rules_len bytes),
 * so that the next store_export_sync() calls render the whole main feed again. For rule
 * changes that must make documents disappear, which the append-only feed cannot say to a
 * reader that has them: readers keyed on the env id (chatham-siem-pull, `chatham export
 * --state`) see a rebuilt export and start over. Readers with an open snapshot keep the
 * old documents until they begin a new one. Errors: -EINVAL, -EROFS, store errors.
 */
int store_export_reset(struct store_export *x, const uint8_t *rules, size_t rules_len);

/*
 * store_export_file_id() - the device and inode of the data file @x has open. A reader that
 * keeps the export open compares them with stat() of DIR/data.mdb to notice that
 * store_export_discard() and the node's rebuild replaced it. Returns 0 or -errno.
 */
int store_export_file_id(struct store_export *x, uint64_t *dev, uint64_t *ino);

/*
 * store_export_discard() - remove the export environment in @dir (its data.mdb and
 * lock.mdb; the directory stays) so that the node builds a new one, with a new env id, at
 * its next start: after the main store was restored from a backup, the old export's
 * sequences no longer match the main feed's. Only the writer (node) calls it, with the node
 * stopped; SIEM readers that have the old files open keep reading the old data until they
 * reopen and see the new env id. *@env_id (optional) gets the removed environment's id.
 * Returns 0; STORE_E_NOT_FOUND when @dir holds no export environment (nothing removed, and
 * a main store there is never touched); -errno.
 */
int store_export_discard(const char *dir, uint8_t env_id[16]);

#endif
