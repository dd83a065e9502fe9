/* SPDX-License-Identifier: MIT */
/*
 * The export environment. Its contents are a pure function of the main feed and the
 * renderer, keyed by main feed sequence, which is what makes crash recovery trivial: a
 * sync renders the entries after meta.last_seq and commits documents and last_seq together,
 * so a crash anywhere leaves either the old or the new last_seq with exactly the documents
 * that belong to it.
 *
 * Rendering happens inside a main-store read snapshot and ends before the export write
 * transaction starts, so the two environments are never locked at the same time by one
 * sync, and SIEM readers of the export never touch the main store.
 */
#include "store/export.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/crypto.h"
#include "proto/error.h"
#include "store/mdb.h"
#include "store/store.h"

#define DEFAULT_MAP_INITIAL (UINT64_C(1) << 30)
#define DEFAULT_MAP_MAX (UINT64_C(16) << 30)
#define DEFAULT_READERS 126u
#define DEFAULT_BATCH 1024u

#define mval(p, n) ((MDB_val){.mv_size = (n), .mv_data = (void *)(p)})

struct store_export {
	struct store_mdb m;
	MDB_dbi feed, meta, notices, notice_ids;
	bool has_notices; /* read-only: an export written before the notices feed has none */
};

/* Read meta key @name into @out (exactly @len bytes). STORE_E_NOT_FOUND if absent. */
static int meta_get(MDB_txn *txn, struct store_export *x, const char *name, void *out, size_t len)
{
	MDB_val k = mval(name, strlen(name)), d;
	int rc = mdb_get(txn, x->meta, &k, &d);

	if (rc != 0)
		return store_mdb_err(rc);
	if (d.mv_size != len)
		return STORE_E_CORRUPT;
	memcpy(out, d.mv_data, len);
	return 0;
}

static int meta_put(MDB_txn *txn, struct store_export *x, const char *name, const void *val,
		    size_t len)
{
	MDB_val k = mval(name, strlen(name)), d = mval(val, len);

	return store_mdb_err(mdb_put(txn, x->meta, &k, &d, 0));
}

static int check_schema(MDB_txn *txn, struct store_export *x, bool create)
{
	uint8_t ver[4];
	int rc = meta_get(txn, x, "schema", ver, 4);

	if (rc == STORE_E_NOT_FOUND && create) {
		store_be32_put(ver, STORE_EXPORT_SCHEMA_VERSION);
		return meta_put(txn, x, "schema", ver, 4);
	}
	if (rc != 0)
		return rc;
	if (store_be32_get(ver) > STORE_EXPORT_SCHEMA_VERSION)
		return STORE_E_SCHEMA_NEWER;
	return store_be32_get(ver) == 0 ? STORE_E_CORRUPT : 0;
}

struct open_ctx {
	struct store_export *x;
	const char *community;
};

static int open_body(MDB_txn *txn, void *arg)
{
	struct open_ctx *oc = arg;
	struct store_export *x = oc->x;
	uint8_t id[16];
	int rc;

	if ((rc = mdb_dbi_open(txn, "feed", MDB_CREATE, &x->feed)) != 0 ||
	    (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &x->meta)) != 0 ||
	    (rc = mdb_dbi_open(txn, "notices", MDB_CREATE, &x->notices)) != 0 ||
	    (rc = mdb_dbi_open(txn, "notice_ids", MDB_CREATE, &x->notice_ids)) != 0)
		return store_mdb_err(rc);
	rc = meta_get(txn, x, "env_id", id, sizeof(id));
	if (rc == STORE_E_NOT_FOUND) {
		/*
		 * A new environment has no schema either. One with a schema but no env_id is a
		 * main store: refuse to write export data into it.
		 */
		if (meta_get(txn, x, "schema", id, 4) != STORE_E_NOT_FOUND)
			return -EINVAL;
		proto_random(id, sizeof(id));
		rc = meta_put(txn, x, "env_id", id, sizeof(id));
	}
	if (rc != 0)
		return rc;
	if ((rc = check_schema(txn, x, true)) != 0)
		return rc;
	/* A reader of a new export sees last_seq 0, not a missing key, before the first sync. */
	rc = meta_get(txn, x, "last_seq", id, 8);
	if (rc == STORE_E_NOT_FOUND) {
		memset(id, 0, 8);
		rc = meta_put(txn, x, "last_seq", id, 8);
	}
	if (rc != 0)
		return rc;
	return meta_put(txn, x, "community", oc->community, strlen(oc->community));
}

/* SIEM readers need rw on the lock file and r on the data file (see export.h). */
static int set_modes(const char *dir)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/lock.mdb", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if (chmod(path, 0660) != 0)
		return -errno;
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	if (chmod(path, 0640) != 0)
		return -errno;
	return 0;
}

int store_export_open(struct store_export **out, const struct store_export_config *cfg)
{
	struct store_export *x;
	struct open_ctx oc;
	size_t init, max;
	int rc;

	*out = NULL;
	if (!cfg || !cfg->dir || !*cfg->dir || !cfg->community)
		return -EINVAL;
	if (proto_crypto_init() != 0)
		return -EIO;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	if (mkdir(cfg->dir, 0750) != 0 && errno != EEXIST) {
		rc = -errno;
		goto fail;
	}
	init = store_map_bytes(cfg->map_size_initial ? cfg->map_size_initial : DEFAULT_MAP_INITIAL,
			       SIZE_MAX);
	max = store_map_bytes(cfg->map_size_max ? cfg->map_size_max : DEFAULT_MAP_MAX, SIZE_MAX);
	rc = store_mdb_open(&x->m, cfg->dir, 0, init, max,
			    cfg->max_readers ? cfg->max_readers : DEFAULT_READERS, 4, 0640,
			    STORE_E_EXPORT_MAP_FULL);
	if (rc != 0)
		goto fail;
	if ((rc = set_modes(cfg->dir)) != 0)
		goto fail;
	oc.x = x;
	oc.community = cfg->community;
	if ((rc = store_mdb_write(&x->m, open_body, &oc)) != 0)
		goto fail;
	*out = x;
	return 0;
fail:
	store_export_close(x);
	return rc;
}

int store_export_open_readonly(struct store_export **out, const char *dir)
{
	struct store_export *x;
	MDB_txn *txn;
	int rc;

	*out = NULL;
	if (!dir || !*dir)
		return -EINVAL;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	rc = store_mdb_open(&x->m, dir, MDB_RDONLY, 0, 0, DEFAULT_READERS, 4, 0640,
			    STORE_E_EXPORT_MAP_FULL);
	if (rc == -ENOENT)
		rc = STORE_E_NOT_FOUND;
	if (rc != 0)
		goto fail;
	/*
	 * Named databases opened in a read-only transaction survive only if it commits, so this
	 * one transaction is committed rather than ended with store_mdb_read_end().
	 */
	rc = store_mdb_read_begin(&x->m, &txn);
	if (rc != 0)
		goto fail;
	if ((rc = mdb_dbi_open(txn, "feed", 0, &x->feed)) != 0 ||
	    (rc = mdb_dbi_open(txn, "meta", 0, &x->meta)) != 0 ||
	    ((rc = mdb_dbi_open(txn, "notices", 0, &x->notices)) != 0 && rc != MDB_NOTFOUND)) {
		rc = store_mdb_err(rc);
	} else {
		uint8_t id[16];

		/*
		 * Only an export has env_id: a main state dir is "no export here", whatever its
		 * own schema version says.
		 */
		x->has_notices = rc == 0; /* else written before the notices feed existed */
		rc = meta_get(txn, x, "env_id", id, sizeof(id));
	}
	if (rc == 0)
		rc = check_schema(txn, x, false);
	if (rc == 0)
		rc = store_mdb_err(mdb_txn_commit(txn));
	else
		mdb_txn_abort(txn);
	pthread_rwlock_unlock(&x->m.lock);
	if (rc != 0)
		goto fail;
	*out = x;
	return 0;
fail:
	store_export_close(x);
	return rc;
}

void store_export_close(struct store_export *x)
{
	if (!x)
		return;
	store_mdb_close(&x->m);
	free(x);
}

/* ------------------------------------------------------------------ sync */

struct rendered {
	uint64_t seq;
	uint8_t *doc; /* NULL: skipped */
	size_t len;
};

struct sync_ctx {
	struct store *s;
	struct store_export *x;
	struct store_read *rd;
	store_export_render_fn fn;
	void *ctx;
	struct rendered *out;
	size_t n, cap;
	struct store_feed_entry chunk[STORE_EXPORT_CHUNK]; /* read, not yet rendered */
	size_t n_chunk;
	uint64_t last_seq;
	uint8_t store_id[16];
	bool has_store_id;
};

/* Render the entries in sc->chunk, appending them to sc->out in feed order. */
static int render_chunk(struct sync_ctx *sc)
{
	uint8_t *docs[STORE_EXPORT_CHUNK] = {NULL};
	size_t lens[STORE_EXPORT_CHUNK] = {0}, n = sc->n_chunk;
	int rc;

	sc->n_chunk = 0;
	if (n == 0)
		return 0;
	rc = sc->fn(sc->ctx, sc->s, sc->rd, sc->chunk, n, docs, lens);
	if (rc != 0) {
		for (size_t i = 0; i < n; i++)
			free(docs[i]);
		return rc < 0 ? rc : -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		struct rendered *r = &sc->out[sc->n++];

		r->seq = sc->chunk[i].seq;
		r->doc = docs[i];
		r->len = docs[i] ? lens[i] : 0;
	}
	return 0;
}

static int read_one(void *arg, const struct store_feed_entry *e)
{
	struct sync_ctx *sc = arg;

	if (sc->n + sc->n_chunk == sc->cap)
		return -EOVERFLOW; /* cannot happen: the feed walk is limited to cap */
	sc->chunk[sc->n_chunk++] = *e;
	return sc->n_chunk == STORE_EXPORT_CHUNK ? render_chunk(sc) : 0;
}

static int sync_body(MDB_txn *txn, void *arg)
{
	struct sync_ctx *sc = arg;
	struct store_export *x = sc->x;
	uint8_t kb[8];
	MDB_val k, d;
	int rc;

	for (size_t i = 0; i < sc->n; i++) {
		if (!sc->out[i].doc)
			continue;
		store_be64_put(kb, sc->out[i].seq);
		k = mval(kb, 8);
		d = mval(sc->out[i].doc, sc->out[i].len);
		if ((rc = mdb_put(txn, x->feed, &k, &d, 0)) != 0)
			return store_mdb_err(rc);
	}
	store_be64_put(kb, sc->last_seq);
	if ((rc = meta_put(txn, x, "last_seq", kb, 8)) != 0)
		return rc;
	if (!sc->has_store_id)
		return meta_put(txn, x, "store_id", sc->store_id, sizeof(sc->store_id));
	return 0;
}

/* meta last_seq and store_id of the export, in one snapshot. */
static int export_position(struct store_export *x, uint64_t *last, uint8_t sid[16], bool *has_sid)
{
	MDB_txn *txn;
	uint8_t kb[8];
	int rc;

	if ((rc = store_mdb_read_begin(&x->m, &txn)) != 0)
		return rc;
	rc = meta_get(txn, x, "last_seq", kb, 8);
	if (rc == 0)
		*last = store_be64_get(kb);
	else if (rc == STORE_E_NOT_FOUND)
		*last = 0, rc = 0;
	if (rc == 0) {
		rc = meta_get(txn, x, "store_id", sid, 16);
		*has_sid = rc == 0;
		if (rc == STORE_E_NOT_FOUND)
			rc = 0;
	}
	store_mdb_read_end(&x->m, txn);
	return rc;
}

int store_export_sync(struct store *s, struct store_export *x, store_export_render_fn fn, void *ctx,
		      size_t max_batch)
{
	struct sync_ctx sc = {.s = s, .x = x, .fn = fn, .ctx = ctx};
	uint8_t main_id[16], sid[16];
	uint64_t last, main_last;
	int rc, dead;

	if (!s || !x || !fn)
		return -EINVAL;
	if (x->m.readonly)
		return -EROFS;
	if (max_batch == 0)
		max_batch = DEFAULT_BATCH;
	if (max_batch > INT_MAX)
		max_batch = INT_MAX;
	mdb_reader_check(x->m.env, &dead);
	if ((rc = export_position(x, &last, sid, &sc.has_store_id)) != 0)
		return rc;
	store_id(s, main_id);
	if (sc.has_store_id && memcmp(sid, main_id, 16) != 0)
		return STORE_E_EXPORT_FOREIGN;
	memcpy(sc.store_id, main_id, 16);

	sc.out = calloc(max_batch, sizeof(*sc.out));
	if (!sc.out)
		return -ENOMEM;
	sc.cap = max_batch;
	if ((rc = store_read_begin(s, &sc.rd)) != 0)
		goto out;
	rc = store_feed_last(s, sc.rd, &main_last);
	if (rc == 0 && last > main_last)
		rc = STORE_E_EXPORT_FOREIGN;
	if (rc == 0)
		rc = store_feed_iter(s, sc.rd, last, max_batch, read_one, &sc);
	if (rc >= 0)
		rc = render_chunk(&sc); /* the last, partial chunk */
	store_read_end(sc.rd);
	if (rc < 0)
		goto out;
	if (sc.n == 0 && sc.has_store_id) {
		rc = 0;
		goto out;
	}
	sc.last_seq = sc.n ? sc.out[sc.n - 1].seq : last;
	rc = store_mdb_write(&x->m, sync_body, &sc);
	if (rc == 0)
		rc = (int)sc.n;
out:
	for (size_t i = 0; i < sc.n; i++)
		free(sc.out[i].doc);
	free(sc.out);
	return rc;
}

/* ------------------------------------------------------------------ rules */

int store_export_rules(struct store_export *x, uint8_t *buf, size_t cap, size_t *len)
{
	MDB_txn *txn;
	MDB_val k = mval("rules", 5), d;
	int rc;

	*len = 0;
	if ((rc = store_mdb_read_begin(&x->m, &txn)) != 0)
		return rc;
	rc = store_mdb_err(mdb_get(txn, x->meta, &k, &d));
	if (rc == 0 && d.mv_size > cap)
		rc = -ENOSPC;
	if (rc == 0) {
		memcpy(buf, d.mv_data, d.mv_size);
		*len = d.mv_size;
	}
	store_mdb_read_end(&x->m, txn);
	return rc;
}

struct rewrite_ctx {
	struct store_export *x;
	const struct store_export_doc *docs;
	size_t n;
	const uint8_t *rules;
	size_t rules_len;
	bool reset;
};

static int rewrite_body(MDB_txn *txn, void *arg)
{
	struct rewrite_ctx *rc = arg;
	struct store_export *x = rc->x;
	uint8_t kb[8], id[16];
	MDB_val k, d;
	int r;

	if (rc->reset) {
		if ((r = mdb_drop(txn, x->feed, 0)) != 0 ||
		    (r = mdb_drop(txn, x->notices, 0)) != 0 ||
		    (r = mdb_drop(txn, x->notice_ids, 0)) != 0)
			return store_mdb_err(r);
		memset(kb, 0, 8);
		proto_random(id, sizeof(id));
		if ((r = meta_put(txn, x, "last_seq", kb, 8)) != 0 ||
		    (r = meta_put(txn, x, "env_id", id, sizeof(id))) != 0)
			return r;
	}
	for (size_t i = 0; i < rc->n; i++) {
		store_be64_put(kb, rc->docs[i].seq);
		k = mval(kb, 8);
		r = mdb_get(txn, x->feed, &k, &d);
		if (r == MDB_NOTFOUND)
			continue;
		d = mval(rc->docs[i].doc, rc->docs[i].len);
		if (r != 0 || (r = mdb_put(txn, x->feed, &k, &d, 0)) != 0)
			return store_mdb_err(r);
	}
	return rc->rules ? meta_put(txn, x, "rules", rc->rules, rc->rules_len) : 0;
}

int store_export_rewrite(struct store_export *x, const struct store_export_doc *docs, size_t n,
			 const uint8_t *rules, size_t rules_len)
{
	struct rewrite_ctx rc = {
		.x = x, .docs = docs, .n = n, .rules = rules, .rules_len = rules_len};

	if (!x || (n && !docs) || (rules && (rules_len == 0 || rules_len > STORE_EXPORT_RULES_MAX)))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!docs[i].doc || !docs[i].len)
			return -EINVAL;
	if (x->m.readonly)
		return -EROFS;
	if (n == 0 && !rules)
		return 0;
	return store_mdb_write(&x->m, rewrite_body, &rc);
}

int store_export_reset(struct store_export *x, const uint8_t *rules, size_t rules_len)
{
	struct rewrite_ctx rc = {.x = x, .rules = rules, .rules_len = rules_len, .reset = true};

	if (!x || !rules || rules_len == 0 || rules_len > STORE_EXPORT_RULES_MAX)
		return -EINVAL;
	if (x->m.readonly)
		return -EROFS;
	return store_mdb_write(&x->m, rewrite_body, &rc);
}

/* ------------------------------------------------------------------ readers */

int store_export_last_seq(struct store_export *x, uint64_t *seq)
{
	uint8_t sid[16];
	bool has;

	return export_position(x, seq, sid, &has);
}

static int iter_db(struct store_export *x, bool notices, uint64_t since, size_t limit,
		   store_export_doc_cb cb, void *ctx)
{
	MDB_txn *txn;
	int rc;

	if (since == UINT64_MAX)
		return 0;
	if ((rc = store_mdb_read_begin(&x->m, &txn)) != 0)
		return rc;
	if (notices && !x->m.readonly)
		x->has_notices = true;
	if (notices && !x->has_notices)
		rc = 0; /* written before the notices feed: it is empty */
	else
		rc = store_mdb_seq_walk(txn, notices ? x->notices : x->feed, since, limit, cb, ctx);
	store_mdb_read_end(&x->m, txn);
	return rc;
}

int store_export_iter(struct store_export *x, uint64_t since, size_t limit, store_export_doc_cb cb,
		      void *ctx)
{
	return iter_db(x, false, since, limit, cb, ctx);
}

int store_export_notices_iter(struct store_export *x, uint64_t since, size_t limit,
			      store_export_doc_cb cb, void *ctx)
{
	return iter_db(x, true, since, limit, cb, ctx);
}

struct notices_ctx {
	struct store_export *x;
	const struct store_export_notice *docs;
	size_t n, appended;
};

/* Put each document under a new sequence unless its notice's newest one is equal. */
static int notices_body(MDB_txn *txn, void *arg)
{
	struct notices_ctx *c = arg;
	struct store_export *x = c->x;
	MDB_cursor *cur;
	MDB_val k, d;
	uint64_t last = 0;
	uint8_t kb[8];
	int r;

	c->appended = 0; /* the body may run again after a map growth */
	if ((r = mdb_cursor_open(txn, x->notices, &cur)) != 0)
		return store_mdb_err(r);
	r = mdb_cursor_get(cur, &k, &d, MDB_LAST);
	mdb_cursor_close(cur);
	if (r == 0 && k.mv_size != 8)
		return STORE_E_CORRUPT;
	if (r == 0)
		last = store_be64_get(k.mv_data);
	else if (r != MDB_NOTFOUND)
		return store_mdb_err(r);
	for (size_t i = 0; i < c->n; i++) {
		const struct store_export_notice *e = &c->docs[i];
		MDB_val ik = mval(e->id, 16), iv;

		r = mdb_get(txn, x->notice_ids, &ik, &iv);
		if (r == 0) {
			if (iv.mv_size != 8)
				return STORE_E_CORRUPT;
			memcpy(kb, iv.mv_data, 8);
			k = mval(kb, 8);
			r = mdb_get(txn, x->notices, &k, &d);
			if (r == 0 && d.mv_size == e->len && !memcmp(d.mv_data, e->doc, e->len))
				continue;
			/* Changed (rules, redaction): the old text leaves every later pull. */
			r = mdb_del(txn, x->notices, &k, NULL);
			if (r != 0 && r != MDB_NOTFOUND)
				return store_mdb_err(r);
		} else if (r != MDB_NOTFOUND) {
			return store_mdb_err(r);
		}
		store_be64_put(kb, ++last);
		k = mval(kb, 8);
		d = mval(e->doc, e->len);
		iv = mval(kb, 8);
		if ((r = mdb_put(txn, x->notices, &k, &d, MDB_APPEND)) != 0 ||
		    (r = mdb_put(txn, x->notice_ids, &ik, &iv, 0)) != 0)
			return store_mdb_err(r);
		c->appended++;
	}
	return 0;
}

int store_export_notices_put(struct store_export *x, const struct store_export_notice *docs,
			     size_t n, size_t *appended)
{
	struct notices_ctx c = {.x = x, .docs = docs, .n = n};
	int rc;

	if (appended)
		*appended = 0;
	if (!x || (n && !docs))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!docs[i].doc || !docs[i].len)
			return -EINVAL;
	if (x->m.readonly)
		return -EROFS;
	if (n == 0)
		return 0;
	rc = store_mdb_write(&x->m, notices_body, &c);
	if (rc == 0 && appended)
		*appended = c.appended;
	return rc;
}

int store_export_community(struct store_export *x, char *buf, size_t cap)
{
	MDB_txn *txn;
	MDB_val k = mval("community", 9), d;
	int rc;

	if (cap == 0)
		return -EINVAL;
	if ((rc = store_mdb_read_begin(&x->m, &txn)) != 0)
		return rc;
	rc = store_mdb_err(mdb_get(txn, x->meta, &k, &d));
	if (rc == 0 && d.mv_size >= cap)
		rc = -ENOSPC;
	if (rc == 0) {
		memcpy(buf, d.mv_data, d.mv_size);
		buf[d.mv_size] = 0;
	}
	store_mdb_read_end(&x->m, txn);
	return rc;
}

int store_export_env_id(struct store_export *x, uint8_t id[16])
{
	MDB_txn *txn;
	int rc;

	if ((rc = store_mdb_read_begin(&x->m, &txn)) != 0)
		return rc;
	rc = meta_get(txn, x, "env_id", id, 16);
	store_mdb_read_end(&x->m, txn);
	return rc;
}

int store_export_file_id(struct store_export *x, uint64_t *dev, uint64_t *ino)
{
	struct stat st;
	int fd, rc = mdb_env_get_fd(x->m.env, &fd);

	if (rc)
		return store_mdb_err(rc);
	if (fstat(fd, &st) != 0)
		return -errno;
	*dev = (uint64_t)st.st_dev;
	*ino = (uint64_t)st.st_ino;
	return 0;
}

int store_export_discard(const char *dir, uint8_t env_id[16])
{
	struct store_export *x = NULL;
	uint8_t id[16];
	char p[4096];
	int rc;

	if (!dir)
		return -EINVAL;
	/* Opening it read-only proves it is an export (it has an env_id), not a main store. */
	rc = store_export_open_readonly(&x, dir);
	if (rc == 0)
		rc = store_export_env_id(x, id);
	store_export_close(x);
	if (rc)
		return rc;
	if ((size_t)snprintf(p, sizeof(p), "%s/data.mdb", dir) >= sizeof(p))
		return -ENAMETOOLONG;
	if (unlink(p) != 0)
		return -errno;
	snprintf(p, sizeof(p), "%s/lock.mdb", dir);
	if (unlink(p) != 0 && errno != ENOENT)
		return -errno;
	if (env_id)
		memcpy(env_id, id, 16);
	return 0;
}
