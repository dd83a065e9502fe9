/* SPDX-License-Identifier: MIT */
/*
 * The main store: reports, the indicator set and its indexes in one LMDB environment
 * (store/store.h). This file opens it (every database in one startup transaction, the
 * schema 1 -> 2 migration, the in-memory id hint) and holds the read plumbing and lookups
 * the other files share; store/store_int.h lists which file does which job.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/crypto.h"
#include "proto/error.h"
#include "store/codec.h"
#include "store/hint.h"
#include "store/mdb.h"
#include "store/store_int.h"

#define DEFAULT_MAP_INITIAL (UINT64_C(8) << 30)
#define DEFAULT_MAP_MAX (UINT64_C(64) << 30)
#define DEFAULT_READERS 126u
#define SCHEMA_V1 1
#define SCHEMA_V2 2
#define MIGRATE_BATCH_DEFAULT 10000
#define MIGRATE_MARK_LEN 40 /* last schema-1 key moved (32) || next sequence u64 BE */

static const char *const db_names[] = {
	"reports",     "indicators",   "recon",	     "expiry", "feed",
	"outbox",      "rosters",      "meta",	     "sealed", "sealed_exp",
	"sealed_open", "sealed_quota", "recon_sums",
};

static MDB_dbi *db_slot(struct store *s, size_t i)
{
	MDB_dbi *slots[] = {
		&s->reports,	 &s->indicators,   &s->recon,	   &s->expiry, &s->feed,
		&s->outbox,	 &s->rosters,	   &s->meta,	   &s->sealed, &s->sealed_exp,
		&s->sealed_open, &s->sealed_quota, &s->recon_sums,
	};
	return slots[i];
}

/* ------------------------------------------------------------------ open/close */

struct open_ctx {
	struct store *s;
};

/*
 * The schema in meta (s->schema, 0 when none is recorded: MDB_NOTFOUND) and what an older one
 * needs (s->migrate, s->build_sums). Returns 0, MDB_NOTFOUND or a project error.
 */
static int read_schema(MDB_txn *txn, struct store *s)
{
	MDB_val k = mval("schema", 6), v;
	uint32_t have;
	int rc;

	s->migrate = s->build_sums = false;
	s->schema = 0;
	rc = mdb_get(txn, s->meta, &k, &v);
	if (rc == MDB_NOTFOUND)
		return rc;
	if (rc != 0)
		return store_mdb_err(rc);
	if (v.mv_size != 4)
		return STORE_E_CORRUPT;
	have = store_be32_get(v.mv_data);
	if (have > STORE_SCHEMA_VERSION)
		return STORE_E_SCHEMA_NEWER;
	if (have == 0)
		return STORE_E_CORRUPT;
	/* Schema 1, or schema 2 with a migration that a crash interrupted. */
	k = mval("migrate", 7);
	rc = have == SCHEMA_V1 ? 0 : mdb_get(txn, s->meta, &k, &v);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return store_mdb_err(rc);
	s->migrate = rc == 0;
	s->build_sums = have < STORE_SCHEMA_VERSION;
	s->schema = have;
	return 0;
}

static int open_body(MDB_txn *txn, void *arg)
{
	struct open_ctx *oc = arg;
	struct store *s = oc->s;
	MDB_val k, v;
	uint8_t ver[4];
	int rc;

	for (size_t i = 0; i < sizeof(db_names) / sizeof(db_names[0]); i++) {
		rc = mdb_dbi_open(txn, db_names[i], MDB_CREATE, db_slot(s, i));
		if (rc != 0)
			return store_mdb_err(rc);
	}
	k = mval("schema", 6);
	rc = read_schema(txn, s);
	if (rc == MDB_NOTFOUND) {
		store_be32_put(ver, STORE_SCHEMA_VERSION);
		v = mval(ver, 4);
		if ((rc = mdb_put(txn, s->meta, &k, &v, 0)) != 0)
			return store_mdb_err(rc);
	} else if (rc != 0) {
		return rc;
	}
	k = mval("store_id", 8);
	rc = mdb_get(txn, s->meta, &k, &v);
	if (rc == 0) {
		if (v.mv_size != sizeof(s->id))
			return STORE_E_CORRUPT;
		memcpy(s->id, v.mv_data, sizeof(s->id));
	} else if (rc == MDB_NOTFOUND) {
		proto_random(s->id, sizeof(s->id));
		v = mval(s->id, sizeof(s->id));
		if ((rc = mdb_put(txn, s->meta, &k, &v, 0)) != 0)
			return store_mdb_err(rc);
	} else {
		return store_mdb_err(rc);
	}
	return 0;
}

/* Any use of a database handle this value names fails (EINVAL): a database not created yet. */
#define NO_DBI ((MDB_dbi)-1)

/*
 * A read-only open (store_config.read_only): the handles of the databases that exist (the
 * others NO_DBI), the schema and the store id, and in s->upgrade what open_body() and the
 * steps after it would write. One read transaction, committed so that the handles stay.
 */
static int open_readonly(struct store *s)
{
	MDB_txn *txn;
	MDB_val k = mval("store_id", 8), v;
	int rc;

	s->upgrade = 0;
	if ((rc = store_mdb_read_begin(&s->m, &txn)) != 0)
		return rc;
	for (size_t i = 0; rc == 0 && i < sizeof(db_names) / sizeof(db_names[0]); i++) {
		rc = mdb_dbi_open(txn, db_names[i], 0, db_slot(s, i));
		if (rc == MDB_NOTFOUND) {
			*db_slot(s, i) = NO_DBI;
			s->upgrade |= STORE_UPGRADE_CREATE;
			rc = 0;
		}
	}
	rc = store_mdb_err(rc);
	if (rc == 0 && s->meta == NO_DBI) {
		s->upgrade |= STORE_UPGRADE_CREATE; /* nothing recorded: a new store */
	} else if (rc == 0) {
		rc = read_schema(txn, s);
		if (rc == MDB_NOTFOUND) {
			s->upgrade |= STORE_UPGRADE_CREATE; /* no schema recorded yet */
			rc = 0;
		}
		if (s->migrate)
			s->upgrade |= STORE_UPGRADE_MIGRATE;
		if (s->build_sums)
			s->upgrade |= STORE_UPGRADE_SUMS;
		s->migrate = s->build_sums = false; /* nothing is done here */
	}
	if (rc == 0 && s->meta != NO_DBI) {
		rc = mdb_get(txn, s->meta, &k, &v);
		if (rc == MDB_NOTFOUND) {
			s->upgrade |= STORE_UPGRADE_CREATE;
			rc = 0;
		} else if (rc == 0 && v.mv_size != sizeof(s->id)) {
			rc = STORE_E_CORRUPT;
		} else if (rc == 0) {
			memcpy(s->id, v.mv_data, sizeof(s->id));
		} else {
			rc = store_mdb_err(rc);
		}
	}
	if (rc == 0)
		rc = store_mdb_err(mdb_txn_commit(txn));
	else
		mdb_txn_abort(txn);
	pthread_rwlock_unlock(&s->m.lock);
	return rc;
}

unsigned store_upgrade_due(const struct store *s, uint32_t *schema)
{
	if (schema)
		*schema = s->schema;
	return s->upgrade;
}

/* ------------------------------------------------------------------ schema 1 -> 2 */

struct migrate_ctx {
	struct store *s;
	uint8_t *buf; /* one record value */
	bool done;
	uint64_t moved, total; /* records moved by the committed transactions; all records */
};

/*
 * One migration transaction: move up to migrate_batch schema-1 records (key: report id, 32
 * bytes) to their schema-2 key (sequence || report id), and record in meta "migrate" the last
 * id moved and the next sequence. The first one also sets the schema to 2, so from then on an
 * older chatham refuses the store instead of reading half of it. Each transaction moves
 * records and the mark together, so a crash at any point resumes where the last commit left
 * off; the last one deletes the mark. Values are untouched (store/codec.h "report").
 */
static int migrate_body(MDB_txn *txn, void *arg)
{
	struct migrate_ctx *mc = arg;
	struct store *s = mc->s;
	uint8_t mark[MIGRATE_MARK_LEN], ver[4], nk[REC_KEY_LEN];
	uint64_t next = 1;
	bool have_pos = false;
	MDB_cursor *c = NULL;
	MDB_val k = mval("migrate", 7), d;
	size_t moved = 0;
	int rc;

	mc->done = false;
	memset(mark, 0, sizeof(mark));
	rc = mdb_get(txn, s->meta, &k, &d);
	if (rc == 0) {
		if (d.mv_size != MIGRATE_MARK_LEN)
			return STORE_E_CORRUPT;
		memcpy(mark, d.mv_data, MIGRATE_MARK_LEN);
		next = store_be64_get(mark + 32);
		have_pos = true;
	} else if (rc != MDB_NOTFOUND) {
		return store_mdb_err(rc);
	}
	store_be32_put(ver, SCHEMA_V2); /* schema 3 follows once the sums are built */
	k = mval("schema", 6);
	d = mval(ver, 4);
	if ((rc = mdb_put(txn, s->meta, &k, &d, 0)) != 0)
		return store_mdb_err(rc);
	if ((rc = mdb_cursor_open(txn, s->reports, &c)) != 0)
		return store_mdb_err(rc);
	while (moved < s->migrate_batch) {
		/* Re-seek after each move: the puts and deletes below reshape the tree. */
		k = mval(mark, 32);
		rc = mdb_cursor_get(c, &k, &d, have_pos ? MDB_SET_RANGE : MDB_FIRST);
		while (rc == 0 && k.mv_size == REC_KEY_LEN)
			rc = mdb_cursor_get(c, &k, &d, MDB_NEXT);
		if (rc == MDB_NOTFOUND)
			break;
		if (rc != 0)
			goto out;
		if (k.mv_size != 32 ||
		    d.mv_size > STORE_CODEC_REPORT_HEAD + PROTO_REPORT_MAX_BYTES) {
			mdb_cursor_close(c);
			return STORE_E_CORRUPT;
		}
		memcpy(mark, k.mv_data, 32);
		memcpy(mc->buf, d.mv_data, d.mv_size);
		rec_key(nk, next++, mark);
		k = mval(nk, REC_KEY_LEN);
		d = mval(mc->buf, d.mv_size);
		if ((rc = mdb_put(txn, s->reports, &k, &d, MDB_NOOVERWRITE)) != 0)
			goto out;
		k = mval(mark, 32);
		if ((rc = mdb_del(txn, s->reports, &k, NULL)) != 0)
			goto out;
		have_pos = true;
		moved++;
	}
	k = mval("migrate", 7);
	if (moved == 0) {
		mc->done = true;
		rc = mdb_del(txn, s->meta, &k, NULL);
		rc = rc == MDB_NOTFOUND ? 0 : rc;
	} else {
		store_be64_put(mark + 32, next);
		d = mval(mark, MIGRATE_MARK_LEN);
		rc = mdb_put(txn, s->meta, &k, &d, 0);
	}
	mc->moved = next - 1;
	mc->total = store__db_entries(txn, s->reports);
out:
	mdb_cursor_close(c);
	return store_mdb_err(rc);
}

static int migrate(struct store *s)
{
	struct migrate_ctx mc = {.s = s};
	int rc;

	mc.buf = malloc(STORE_CODEC_REPORT_HEAD + PROTO_REPORT_MAX_BYTES);
	if (!mc.buf)
		return -ENOMEM;
	do {
		rc = store_mdb_write(&s->m, migrate_body, &mc);
		if (rc == 0 && s->progress)
			s->progress(s->progress_arg, "moving reports to schema 2", mc.moved,
				    mc.total);
	} while (rc == 0 && !mc.done);
	free(mc.buf);
	if (rc == 0)
		s->migrate = false;
	return rc;
}

/* ------------------------------------------------------------------ schema 2 -> 3 */

/*
 * Schema 3 adds recon_sums (store/recon.c). One transaction builds the whole tree from recon
 * and sets the schema, so a crash leaves either schema 2 (built again at the next open) or
 * the finished tree; older releases refuse a schema-3 store, whose sums they would not keep.
 */
static int build_sums_body(MDB_txn *txn, void *arg)
{
	struct store *s = arg;
	uint8_t ver[4];
	MDB_val k = mval("schema", 6), d = mval(ver, 4);
	int rc;

	if ((rc = store__recon_sums_build(txn, s)) != 0)
		return rc;
	store_be32_put(ver, STORE_SCHEMA_VERSION);
	return store_mdb_err(mdb_put(txn, s->meta, &k, &d, 0));
}

/*
 * Build the id hint from the record keys visible in @txn (store/hint.h: it is never stored),
 * sized for them and @extra more, and make it current: store_open(). While the store runs,
 * only the segment that fills up is rebuilt (store__hint_grow()).
 */
static int hint_fill(MDB_txn *txn, struct store *s, size_t extra)
{
	size_t want = (size_t)store__db_entries(txn, s->reports) + extra;
	struct store_hint_table *t = NULL;
	MDB_cursor *c = NULL;
	MDB_val k, d;
	int rc;

again:
	if (!(t = store_hint_table_new(&s->hint, want)))
		return -ENOMEM;
	if ((rc = store_mdb_err(mdb_cursor_open(txn, s->reports, &c))) != 0)
		goto out;
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		uint64_t seq = k.mv_size == REC_KEY_LEN ? store_be64_get(k.mv_data) : 0;

		if (seq == 0 || seq > UINT32_MAX) {
			rc = STORE_E_CORRUPT;
			goto out;
		}
		rc = store_hint_table_put(&s->hint, t, (const uint8_t *)k.mv_data + 8,
					  (uint32_t)seq);
		if (rc == -ENOSPC) {
			/* A walk that did not settle: a quarter more room. */
			mdb_cursor_close(c);
			c = NULL;
			store_hint_table_free(t);
			want += want / 4 + 1;
			goto again;
		}
		if (rc != 0)
			goto out;
	}
	rc = rc == MDB_NOTFOUND ? 0 : store_mdb_err(rc);
out:
	mdb_cursor_close(c);
	if (rc == 0)
		store_hint_swap(&s->hint, t);
	else
		store_hint_table_free(t);
	return rc;
}

struct resolve_ctx {
	MDB_cursor *c;
};

/* store_hint_resolve_fn: the id of the record under @seq, by its key's 8-byte prefix. */
static int resolve_seq(void *arg, uint32_t seq, uint8_t id[32])
{
	struct resolve_ctx *rc = arg;
	uint8_t pfx[8];
	MDB_val k, d;
	int r;

	store_be64_put(pfx, seq);
	k = mval(pfx, sizeof(pfx));
	r = mdb_cursor_get(rc->c, &k, &d, MDB_SET_RANGE);
	if (r == MDB_NOTFOUND)
		return 1;
	if (r != 0)
		return store_mdb_err(r);
	if (k.mv_size != REC_KEY_LEN)
		return STORE_E_CORRUPT;
	if (store_be64_get(k.mv_data) != seq)
		return 1;
	memcpy(id, (const uint8_t *)k.mv_data + 8, 32);
	return 0;
}

int store__hint_grow(MDB_txn *txn, struct store *s, const uint8_t rid[32])
{
	struct resolve_ctx rc;
	int r = store_mdb_err(mdb_cursor_open(txn, s->reports, &rc.c));

	if (r != 0)
		return r;
	r = store_hint_grow(&s->hint, rid, resolve_seq, &rc);
	mdb_cursor_close(rc.c);
	return r;
}

static int hint_rebuild(struct store *s)
{
	MDB_txn *txn;
	int rc;

	if ((rc = store_mdb_read_begin(&s->m, &txn)) != 0)
		return rc;
	/* Built 90 % full: about 8 % more reports fit before the first rebuild while running. */
	rc = hint_fill(txn, s, 1024);
	store_mdb_read_end(&s->m, txn);
	return rc;
}

size_t store_map_bytes(uint64_t bytes, uint64_t limit)
{
	uint64_t cap = limit & ~(uint64_t)4095;

	/* bytes < cap, a multiple of 4 KiB: rounding up neither wraps nor passes cap. */
	return (size_t)(bytes >= cap ? cap : (bytes + 4095) & ~(uint64_t)4095);
}

int store_open(struct store **out, const struct store_config *cfg)
{
	struct store *s;
	struct open_ctx oc;
	char *lockpath = NULL;
	size_t map_init, map_max;
	int rc;

	*out = NULL;
	if (!cfg || !cfg->dir || !*cfg->dir)
		return -EINVAL;
	if (proto_crypto_init() != 0)
		return -EIO;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->lock_fd = -1;
	if ((rc = store_hint_init(&s->hint)) != 0) {
		free(s);
		return rc;
	}
	if (cfg->read_only) {
		/* As the backup and the export readers: no store.lock, no directory made. */
		rc = store_mdb_open(&s->m, cfg->dir, MDB_RDONLY, 0, 0,
				    cfg->max_readers ? cfg->max_readers : DEFAULT_READERS, 16, 0600,
				    STORE_E_MAP_FULL);
		if (rc == -ENOENT)
			rc = STORE_E_NOT_FOUND;
		if (rc == 0)
			rc = open_readonly(s);
		if (rc == 0)
			rc = store_mdb_read_pool(&s->m, STORE_MDB_POOL_MAX);
		/* The id map reads the records: only in the layout this release writes. */
		if (rc == 0 && !s->upgrade)
			rc = hint_rebuild(s);
		if (rc != 0)
			goto fail;
		*out = s;
		return 0;
	}
	/*
	 * 0750, as systemd's StateDirectoryMode= in deploy/chatham.service: the export directory
	 * inside it must be reachable by the SIEM's group. The store's own files are 0600.
	 */
	if (mkdir(cfg->dir, 0750) != 0 && errno != EEXIST) {
		rc = -errno;
		goto fail;
	}
	if (asprintf(&lockpath, "%s/store.lock", cfg->dir) < 0) {
		lockpath = NULL;
		rc = -ENOMEM;
		goto fail;
	}
	s->lock_fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0) {
		rc = -errno;
		goto fail;
	}
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		rc = errno == EWOULDBLOCK ? STORE_E_BUSY : -errno;
		goto fail;
	}
	map_init = store_map_bytes(
		cfg->map_size_initial ? cfg->map_size_initial : DEFAULT_MAP_INITIAL, SIZE_MAX);
	map_max =
		store_map_bytes(cfg->map_size_max ? cfg->map_size_max : DEFAULT_MAP_MAX, SIZE_MAX);
	rc = store_mdb_open(&s->m, cfg->dir, 0, map_init, map_max,
			    cfg->max_readers ? cfg->max_readers : DEFAULT_READERS, 16, 0600,
			    STORE_E_MAP_FULL);
	/* One-shot reads (store_report_get(NULL), ...) renew a pooled transaction. */
	if (rc == 0)
		rc = store_mdb_read_pool(&s->m, STORE_MDB_POOL_MAX);
	if (rc != 0)
		goto fail;
	oc.s = s;
	rc = store_mdb_write(&s->m, open_body, &oc);
	if (rc != 0)
		goto fail;
	s->migrate_batch = cfg->migrate_batch ? cfg->migrate_batch : MIGRATE_BATCH_DEFAULT;
	s->progress = cfg->progress;
	s->progress_arg = cfg->progress_arg;
	if (s->migrate && (rc = migrate(s)) != 0)
		goto fail;
	if (s->build_sums && (rc = store_mdb_write(&s->m, build_sums_body, s)) != 0)
		goto fail;
	s->build_sums = false;
	s->progress = NULL;
	s->schema = STORE_SCHEMA_VERSION;
	if ((rc = hint_rebuild(s)) != 0)
		goto fail;
	free(lockpath);
	*out = s;
	return 0;
fail:
	free(lockpath);
	store_close(s);
	return rc;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	store_mdb_close(&s->m);
	store_hint_deinit(&s->hint);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s);
}

void store_id(const struct store *s, uint8_t id[16])
{
	memcpy(id, s->id, sizeof(s->id));
}

/* ------------------------------------------------------------------ read plumbing */

int store_read_begin(struct store *s, struct store_read **out)
{
	struct store_read *rd;
	int rc;

	*out = NULL;
	rd = calloc(1, sizeof(*rd));
	if (!rd)
		return -ENOMEM;
	rc = store_mdb_read_begin(&s->m, &rd->txn);
	if (rc != 0) {
		free(rd);
		return rc;
	}
	rd->s = s;
	*out = rd;
	return 0;
}

void store_read_end(struct store_read *rd)
{
	if (!rd)
		return;
	store_mdb_read_end(&rd->s->m, rd->txn);
	free(rd);
}

int store__read_enter(struct store *s, struct store_read *rd, MDB_txn **txn)
{
	if (rd) {
		*txn = rd->txn;
		return 0;
	}
	return store_mdb_read_begin(&s->m, txn);
}

void store__read_leave(struct store *s, struct store_read *rd, MDB_txn *txn)
{
	if (!rd)
		store_mdb_read_end(&s->m, txn);
}

int store__read_cursor(struct store *s, struct store_read *rd, MDB_dbi dbi, MDB_txn **txn,
		       MDB_cursor **c)
{
	int rc = store__read_enter(s, rd, txn);

	if (rc != 0)
		return rc;
	if ((rc = mdb_cursor_open(*txn, dbi, c)) != 0) {
		store__read_leave(s, rd, *txn);
		return store_mdb_err(rc);
	}
	return 0;
}

int store__rec_find(MDB_txn *txn, struct store *s, const uint8_t rid[32], MDB_val *d,
		    uint8_t key[REC_KEY_LEN])
{
	uint32_t few[8], *seqs = few;
	uint8_t kb[REC_KEY_LEN];
	size_t n = store_hint_find(&s->hint, rid, few, 8), cap = 8;
	MDB_val k = mval(kb, REC_KEY_LEN);
	int rc = MDB_NOTFOUND;

	if (n > cap) {
		/* Ids sharing their first 32 bits: rare unless ground on purpose. */
		seqs = malloc(n * sizeof(*seqs));
		if (!seqs)
			return ENOMEM;
		cap = n;
		n = store_hint_find(&s->hint, rid, seqs, cap);
	}
	for (size_t i = 0; i < n && i < cap && rc == MDB_NOTFOUND; i++) {
		rec_key(kb, seqs[i], rid);
		rc = mdb_get(txn, s->reports, &k, d);
	}
	if (rc == 0 && key)
		memcpy(key, kb, REC_KEY_LEN);
	if (seqs != few)
		free(seqs);
	return rc;
}

MDB_dbi *store__db_find(struct store *s, const char *name)
{
	for (size_t i = 0; i < sizeof(db_names) / sizeof(db_names[0]); i++)
		if (strcmp(name, db_names[i]) == 0)
			return db_slot(s, i);
	return NULL;
}

int store__copy_out(const MDB_val *d, uint8_t **out, size_t *len)
{
	*out = malloc(d->mv_size ? d->mv_size : 1);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, d->mv_data, d->mv_size);
	*len = d->mv_size;
	return 0;
}

/* ------------------------------------------------------------------ operations */

uint64_t store__db_entries(MDB_txn *txn, MDB_dbi dbi)
{
	MDB_stat st;

	return mdb_stat(txn, dbi, &st) == 0 ? st.ms_entries : 0;
}

int store_stat(struct store *s, struct store_stat *st)
{
	MDB_envinfo info;
	MDB_stat est;
	MDB_txn *txn;
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = store_mdb_read_begin(&s->m, &txn)) != 0)
		return rc;
	mdb_env_info(s->m.env, &info);
	mdb_env_stat(s->m.env, &est);
	st->map_size = info.me_mapsize;
	st->map_used = (info.me_last_pgno + 1) * (size_t)est.ms_psize;
	st->n_grow = s->m.n_grow;
	st->reports = store__db_entries(txn, s->reports);
	rc = store__n_ind_get(txn, s, &st->indicators);
	st->recon = store__db_entries(txn, s->recon);
	st->outbox = store__db_entries(txn, s->outbox);
	if (rc == 0)
		rc = store__feed_last(txn, s, &st->feed_last);
	store_mdb_read_end(&s->m, txn);
	return rc;
}
