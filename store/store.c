/* SPDX-License-Identifier: MIT */
/*
 * The main store: reports, the indicator set and its indexes in one LMDB environment.
 *
 * Ingest runs in two phases inside one write transaction. Phase A walks the items in order:
 * the reports put with MDB_NOOVERWRITE is the dedup test (it also catches a report repeated
 * inside the batch), then the per-indicator index, envelope, recon entry, outbox entries and
 * the voter's vote are written. Phase B groups the new reports by indicator and, for each
 * indicator, reads the summary once, applies the counters of its new reports, recomputes
 * the vote-derived fields from the votes database, moves the expiry index entry and appends
 * one feed entry. Summaries are therefore only ever written in a consistent state, which the
 * strict decoder in codec.c checks on every read.
 *
 * Vote recomputation scans the indicator's votes (one per member or tag), so its cost is the
 * number of distinct voters on that indicator, paid once per indicator per batch.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/indicator.h"
#include "store/codec.h"
#include "store/hint.h"
#include "store/mdb.h"
#include "store/store_test.h"

#define DEFAULT_MAP_INITIAL ((size_t)64 << 20)
#define DEFAULT_MAP_MAX ((size_t)64 << 30)
#define DEFAULT_READERS 126u
/*
 * The indicators database clusters everything about one indicator under its id, so that a
 * batch touches one region of one B-tree per indicator instead of one page in each of
 * several trees (measured: this is what bounds durable ingest, see docs/PERFORMANCE.md):
 *   ind_id                              -> summary
 *   ind_id || TAG_INDEX || report id     -> report meta    (the per-indicator report index)
 *   ind_id || TAG_VOTE || prov || voter  -> vote           (one per signer id or link tag)
 */
#define TAG_INDEX 1
#define TAG_VOTE 2
#define IDX_KEY_LEN 65
#define VOTE_KEY_LEN 66
#define PAIR_KEY_LEN 64
#define EXPIRY_KEY_LEN 40
/*
 * Report records are keyed by sequence (u64 BE, 1, 2, ... in the order this node stored
 * them) || report id: new records are appended at the end of the B-tree, so a batch dirties
 * a few fresh pages instead of one random leaf per report. Finding a record by id goes through
 * the in-memory hint (store/hint.h), confirmed by an exact lookup of the full key. Schema 1
 * keyed records by report id alone; store_open() migrates such a store in place.
 */
#define REC_KEY_LEN 40
#define SCHEMA_V1 1
#define MIGRATE_BATCH_DEFAULT 10000
#define MIGRATE_MARK_LEN 40 /* last schema-1 key moved (32) || next sequence u64 BE */

struct store {
	struct store_mdb m;
	int lock_fd;
	MDB_dbi reports, indicators, recon, expiry, feed, outbox, rosters, meta;
	uint8_t id[16];
	struct store_hint hint;
	bool migrate;	      /* a schema-1 layout remains (set by open_body) */
	size_t migrate_batch; /* records moved per migration transaction */
};

struct store_read {
	struct store *s;
	MDB_txn *txn;
};

static const char *const db_names[] = {
	"reports", "indicators", "recon", "expiry", "feed", "outbox", "rosters", "meta",
};

static MDB_dbi *db_slot(struct store *s, size_t i)
{
	MDB_dbi *slots[] = {
		&s->reports, &s->indicators, &s->recon,	  &s->expiry,
		&s->feed,    &s->outbox,     &s->rosters, &s->meta,
	};
	return slots[i];
}

/* An MDB_val over borrowed bytes (a macro: gcc flags const-pointer calls on fresh buffers). */
#define mval(p, n) ((MDB_val){.mv_size = (n), .mv_data = (void *)(p)})

/* ------------------------------------------------------------------ open/close */

struct open_ctx {
	struct store *s;
};

static int open_body(MDB_txn *txn, void *arg)
{
	struct open_ctx *oc = arg;
	struct store *s = oc->s;
	MDB_val k, v;
	uint8_t ver[4];
	int rc;

	s->migrate = false;
	for (size_t i = 0; i < sizeof(db_names) / sizeof(db_names[0]); i++) {
		rc = mdb_dbi_open(txn, db_names[i], MDB_CREATE, db_slot(s, i));
		if (rc != 0)
			return store_mdb_err(rc);
	}
	k = mval("schema", 6);
	rc = mdb_get(txn, s->meta, &k, &v);
	if (rc == 0) {
		uint32_t have;

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
	} else if (rc == MDB_NOTFOUND) {
		store_be32_put(ver, STORE_SCHEMA_VERSION);
		v = mval(ver, 4);
		if ((rc = mdb_put(txn, s->meta, &k, &v, 0)) != 0)
			return store_mdb_err(rc);
	} else {
		return store_mdb_err(rc);
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

/* ------------------------------------------------------------------ schema 1 -> 2 */

static void rec_key(uint8_t key[REC_KEY_LEN], uint64_t seq, const uint8_t rid[32])
{
	store_be64_put(key, seq);
	memcpy(key + 8, rid, 32);
}

struct migrate_ctx {
	struct store *s;
	uint8_t *buf; /* one record value */
	bool done;
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
	store_be32_put(ver, STORE_SCHEMA_VERSION);
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
	do
		rc = store_mdb_write(&s->m, migrate_body, &mc);
	while (rc == 0 && !mc.done);
	free(mc.buf);
	if (rc == 0)
		s->migrate = false;
	return rc;
}

/* Fill the id hint from the record keys (store/hint.h: it is never stored). */
static int hint_rebuild(struct store *s)
{
	MDB_txn *txn;
	MDB_cursor *c = NULL;
	MDB_val k, d;
	int rc;

	store_hint_clear(&s->hint);
	if ((rc = store_mdb_read_begin(&s->m, &txn)) != 0)
		return rc;
	if ((rc = store_mdb_err(mdb_cursor_open(txn, s->reports, &c))) != 0)
		goto out;
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		uint64_t seq = k.mv_size == REC_KEY_LEN ? store_be64_get(k.mv_data) : 0;

		if (seq == 0 || seq > UINT32_MAX) {
			rc = STORE_E_CORRUPT;
			goto out;
		}
		if ((rc = store_hint_add(&s->hint, (const uint8_t *)k.mv_data + 8,
					 (uint32_t)seq)) != 0)
			goto out;
	}
	rc = rc == MDB_NOTFOUND ? 0 : store_mdb_err(rc);
out:
	mdb_cursor_close(c);
	store_mdb_read_end(&s->m, txn);
	return rc;
}

static size_t page_round(size_t n)
{
	return (n + 4095) & ~(size_t)4095;
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
	map_init = page_round(cfg->map_size_initial ? cfg->map_size_initial : DEFAULT_MAP_INITIAL);
	map_max = page_round(cfg->map_size_max ? cfg->map_size_max : DEFAULT_MAP_MAX);
	rc = store_mdb_open(&s->m, cfg->dir, 0, map_init, map_max,
			    cfg->max_readers ? cfg->max_readers : DEFAULT_READERS, 16, 0600,
			    STORE_E_MAP_FULL);
	if (rc != 0)
		goto fail;
	oc.s = s;
	rc = store_mdb_write(&s->m, open_body, &oc);
	if (rc != 0)
		goto fail;
	s->migrate_batch = cfg->migrate_batch ? cfg->migrate_batch : MIGRATE_BATCH_DEFAULT;
	if (s->migrate && (rc = migrate(s)) != 0)
		goto fail;
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

static int read_enter(struct store *s, struct store_read *rd, MDB_txn **txn)
{
	if (rd) {
		*txn = rd->txn;
		return 0;
	}
	return store_mdb_read_begin(&s->m, txn);
}

static void read_leave(struct store *s, struct store_read *rd, MDB_txn *txn)
{
	if (!rd)
		store_mdb_read_end(&s->m, txn);
}

/*
 * Find the record of report @rid in @txn: each candidate sequence from the hint is confirmed by
 * an exact lookup of sequence || id. Returns 0 with *@d set (and @key, if not NULL, the
 * record's key), MDB_NOTFOUND, or an LMDB/errno code (positive errno) for store_mdb_err().
 */
static int rec_find(MDB_txn *txn, struct store *s, const uint8_t rid[32], MDB_val *d,
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

/* ------------------------------------------------------------------ small helpers */

static void vote_key(uint8_t key[VOTE_KEY_LEN], const uint8_t ind[32], uint8_t prov,
		     const uint8_t voter[32])
{
	memcpy(key, ind, 32);
	key[32] = TAG_VOTE;
	key[33] = prov;
	memcpy(key + 34, voter, 32);
}

static void idx_key(uint8_t key[IDX_KEY_LEN], const uint8_t ind[32], const uint8_t rid[32])
{
	memcpy(key, ind, 32);
	key[32] = TAG_INDEX;
	memcpy(key + 33, rid, 32);
}

/* Position @c at the first key of (@ind, @tag) and say whether @k is still inside it. */
static int tag_first(MDB_cursor *c, const uint8_t ind[32], uint8_t tag, MDB_val *k, MDB_val *d)
{
	uint8_t pfx[33];

	memcpy(pfx, ind, 32);
	pfx[32] = tag;
	*k = mval(pfx, sizeof(pfx));
	return mdb_cursor_get(c, k, d, MDB_SET_RANGE);
}

static bool tag_in(const MDB_val *k, const uint8_t ind[32], uint8_t tag)
{
	const uint8_t *p = k->mv_data;

	return k->mv_size > 33 && memcmp(p, ind, 32) == 0 && p[32] == tag;
}

/* The voter of a report: its signer id, or its linkability tag when anonymous. */
static const uint8_t *voter_of(const struct proto_report *r)
{
	return r->prov == PROTO_PROV_ATTRIBUTED ? r->signer : r->link_tag;
}

static void pair_key(uint8_t key[PAIR_KEY_LEN], const uint8_t a[32], const uint8_t b[32])
{
	memcpy(key, a, 32);
	memcpy(key + 32, b, 32);
}

static void expiry_key(uint8_t key[EXPIRY_KEY_LEN], uint64_t t, const uint8_t ind[32])
{
	store_be64_put(key, t);
	memcpy(key + 8, ind, 32);
}

void store_recon_key(uint8_t key[STORE_RECON_KEY_LEN], uint64_t created_ms, const uint8_t id[32])
{
	store_be64_put(key, created_ms);
	memcpy(key + 8, id, 32);
}

/* Does candidate (created, id) beat the current vote? Newest wins, ties to the larger id. */
static bool vote_wins(uint64_t created, const uint8_t id[32], const struct store_codec_vote *cur)
{
	if (created != cur->created_ms)
		return created > cur->created_ms;
	return memcmp(id, cur->report_id, 32) > 0;
}

/*
 * Summary reads and writes and the vote tally take an optional cursor on the indicators
 * database. Ingest passes one cursor for all three: LMDB then searches only the current leaf
 * page when the next key is on it, instead of descending from the root each time, and an
 * indicator's summary and votes are neighbours.
 */
static int get_summary(MDB_txn *txn, struct store *s, MDB_cursor *c, const uint8_t ind[32],
		       struct store_codec_summary *v)
{
	MDB_val k = mval(ind, 32), d;
	int rc = c ? mdb_cursor_get(c, &k, &d, MDB_SET_KEY) : mdb_get(txn, s->indicators, &k, &d);

	if (rc != 0)
		return store_mdb_err(rc);
	rc = store_codec_summary_decode(v, d.mv_data, d.mv_size);
	if (rc == 0)
		memcpy(v->sum.ind_id, ind, 32);
	return rc;
}

static int put_summary(MDB_txn *txn, struct store *s, MDB_cursor *c,
		       const struct store_codec_summary *v)
{
	uint8_t buf[STORE_CODEC_SUMMARY_MAX];
	size_t n = store_codec_summary_encode(v, buf);
	MDB_val k = mval(v->sum.ind_id, 32), d = mval(buf, n);

	if (n == 0)
		return -EINVAL;
	return store_mdb_err(c ? mdb_cursor_put(c, &k, &d, 0)
			       : mdb_put(txn, s->indicators, &k, &d, 0));
}

static int feed_last_txn(MDB_txn *txn, struct store *s, uint64_t *seq)
{
	MDB_cursor *c;
	MDB_val k, d;
	int rc = mdb_cursor_open(txn, s->feed, &c);

	if (rc != 0)
		return store_mdb_err(rc);
	rc = mdb_cursor_get(c, &k, &d, MDB_LAST);
	mdb_cursor_close(c);
	if (rc == MDB_NOTFOUND) {
		*seq = 0;
		return 0;
	}
	if (rc != 0)
		return store_mdb_err(rc);
	if (k.mv_size != 8)
		return STORE_E_CORRUPT;
	*seq = store_be64_get(k.mv_data);
	return 0;
}

static int feed_append(MDB_txn *txn, struct store *s, uint64_t seq, const uint8_t ind[32],
		       uint8_t state, uint64_t now)
{
	struct store_codec_feed f = {.state = state, .time_ms = now};
	uint8_t kb[8], vb[STORE_CODEC_FEED_LEN];
	MDB_val k = mval(kb, 8), d;

	memcpy(f.ind_id, ind, 32);
	store_be64_put(kb, seq);
	d = mval(vb, store_codec_feed_encode(&f, vb));
	return store_mdb_err(mdb_put(txn, s->feed, &k, &d, MDB_APPEND));
}

/* ------------------------------------------------------------------ summary computation */

/* Vote-derived fields of an indicator, from its votes database entries. */
struct vote_tally {
	uint32_t n_members, n_fp;
	uint8_t confidence;
	uint64_t valid_until; /* latest among indicator votes; 0 if any has none */
};

static int tally_votes(MDB_txn *txn, struct store *s, MDB_cursor *use, const uint8_t ind[32],
		       struct vote_tally *t)
{
	MDB_cursor *c = use;
	MDB_val k, d;
	struct store_codec_vote v;
	bool unbounded = false;
	int rc;

	memset(t, 0, sizeof(*t));
	if (!c && (rc = mdb_cursor_open(txn, s->indicators, &c)) != 0)
		return store_mdb_err(rc);
	for (rc = tag_first(c, ind, TAG_VOTE, &k, &d); rc == 0;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if (!tag_in(&k, ind, TAG_VOTE))
			break;
		if (k.mv_size != VOTE_KEY_LEN) {
			rc = STORE_E_CORRUPT;
			goto out;
		}
		rc = store_codec_vote_decode(&v, d.mv_data, d.mv_size);
		if (rc != 0)
			goto out;
		if (v.kind == PROTO_KIND_INDICATOR) {
			t->n_members++;
			if (v.confidence > t->confidence)
				t->confidence = v.confidence;
			if (v.valid_until_ms == 0)
				unbounded = true;
			else if (v.valid_until_ms > t->valid_until)
				t->valid_until = v.valid_until_ms;
		} else if (v.kind == PROTO_KIND_FALSE_POSITIVE) {
			t->n_fp++;
		}
	}
	rc = (rc == MDB_NOTFOUND || rc == 0) ? 0 : store_mdb_err(rc);
	if (unbounded || t->n_members == 0)
		t->valid_until = 0;
out:
	if (!use)
		mdb_cursor_close(c);
	return rc;
}

static uint8_t state_of(const struct store_codec_summary *v, uint64_t now)
{
	const struct proto_summary *s = &v->sum;

	if (s->n_members > 0)
		return s->valid_until_ms != 0 && s->valid_until_ms <= now ? PROTO_SUMMARY_EXPIRED
									  : PROTO_SUMMARY_ACTIVE;
	return v->n_ind_reports > 0 ? PROTO_SUMMARY_WITHDRAWN : PROTO_SUMMARY_OBSERVED;
}

static void summary_init(struct store_codec_summary *v, const uint8_t ind[32],
			 const struct proto_report *r)
{
	memset(v, 0, sizeof(*v));
	memcpy(v->sum.ind_id, ind, 32);
	v->sum.ind.type = r->ind_type;
	v->sum.ind.len = (uint16_t)r->ind_value.len;
	memcpy(v->sum.ind.value, r->ind_value.ptr, r->ind_value.len);
	v->sum.ind.value[r->ind_value.len] = 0;
	v->sum.tlp = r->tlp;
	v->sum.first_seen_ms = r->created_ms;
	v->sum.last_seen_ms = r->created_ms;
}

static void summary_count(struct store_codec_summary *v, const struct proto_report *r)
{
	struct proto_summary *s = &v->sum;

	s->n_reports++;
	if (r->kind == PROTO_KIND_SIGHTING)
		s->n_sightings++;
	else if (r->kind == PROTO_KIND_INDICATOR)
		v->n_ind_reports++;
	if (r->tlp > s->tlp)
		s->tlp = r->tlp;
	if (r->created_ms < s->first_seen_ms)
		s->first_seen_ms = r->created_ms;
	if (r->created_ms > s->last_seen_ms)
		s->last_seen_ms = r->created_ms;
}

/*
 * Recompute the vote fields and state of @v, keep the expiry index in step with the change
 * from (@old_state, @old_valid_until), append the feed entry and write the summary.
 */
static int summary_commit(MDB_txn *txn, struct store *s, MDB_cursor *c,
			  struct store_codec_summary *v, bool existed, uint8_t old_state,
			  uint64_t old_valid_until, uint64_t *feed_seq, uint64_t now)
{
	struct vote_tally t;
	uint8_t ek[EXPIRY_KEY_LEN];
	MDB_val k, d = mval(NULL, 0);
	int rc;

	rc = tally_votes(txn, s, c, v->sum.ind_id, &t);
	if (rc != 0)
		return rc;
	v->sum.n_members = t.n_members;
	v->sum.n_false_positive = t.n_fp;
	v->sum.confidence = t.confidence;
	v->sum.valid_until_ms = t.valid_until;
	v->sum.state = state_of(v, now);

	if (existed && old_state == PROTO_SUMMARY_ACTIVE && old_valid_until != 0) {
		expiry_key(ek, old_valid_until, v->sum.ind_id);
		k = mval(ek, sizeof(ek));
		rc = mdb_del(txn, s->expiry, &k, NULL);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return store_mdb_err(rc);
	}
	if (v->sum.state == PROTO_SUMMARY_ACTIVE && v->sum.valid_until_ms != 0) {
		expiry_key(ek, v->sum.valid_until_ms, v->sum.ind_id);
		k = mval(ek, sizeof(ek));
		rc = mdb_put(txn, s->expiry, &k, &d, 0);
		if (rc != 0)
			return store_mdb_err(rc);
	}
	v->sum.feed_seq = ++*feed_seq;
	rc = feed_append(txn, s, v->sum.feed_seq, v->sum.ind_id, v->sum.state, now);
	if (rc != 0)
		return rc;
	return put_summary(txn, s, c, v);
}

/* The number of summaries, kept in meta so status does not have to count them. */
static int n_ind_get(MDB_txn *txn, struct store *s, uint64_t *n)
{
	MDB_val k = mval("n_ind", 5), d;
	int rc = mdb_get(txn, s->meta, &k, &d);

	*n = 0;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return store_mdb_err(rc);
	if (d.mv_size != 8)
		return STORE_E_CORRUPT;
	*n = store_be64_get(d.mv_data);
	return 0;
}

static int n_ind_add(MDB_txn *txn, struct store *s, uint64_t add)
{
	uint8_t vb[8];
	MDB_val k = mval("n_ind", 5), d = mval(vb, 8);
	uint64_t n;
	int rc = n_ind_get(txn, s, &n);

	if (rc != 0 || add == 0)
		return rc;
	store_be64_put(vb, n + add);
	return store_mdb_err(mdb_put(txn, s->meta, &k, &d, 0));
}

/* ------------------------------------------------------------------ ingest */

static int validate_item(struct store_item *it)
{
	const struct proto_report *r = it->r;

	if (!r || !it->bytes || it->len == 0)
		return -EINVAL;
	if (it->len > PROTO_REPORT_MAX_BYTES)
		return PROTO_E_TOO_LARGE;
	if (r->kind > PROTO_KIND_REVOKE)
		return PROTO_E_REPORT_KIND;
	if (r->tlp < PROTO_TLP_CLEAR || r->tlp > PROTO_TLP_RED)
		return PROTO_E_REPORT_TLP;
	if (r->confidence > 100)
		return PROTO_E_REPORT_CONFIDENCE;
	if (r->ind_type < PROTO_IND_TYPE_MIN || r->ind_type > PROTO_IND_TYPE_MAX)
		return PROTO_E_IND_TYPE;
	if (!r->ind_value.ptr || r->ind_value.len == 0 || r->ind_value.len > PROTO_IND_VALUE_MAX ||
	    memchr(r->ind_value.ptr, 0, r->ind_value.len))
		return PROTO_E_IND_VALUE;
	if (r->prov > PROTO_PROV_ANONYMOUS)
		return PROTO_E_REPORT_PROVENANCE;
	if (r->valid_until_ms != 0 && r->valid_until_ms < r->created_ms)
		return PROTO_E_REPORT_TIME;
	if (it->n_outbox && (!it->outbox_to || r->tlp < PROTO_TLP_AMBER))
		return -EINVAL;
	return 0;
}

struct ingest_ctx {
	struct store *s;
	struct store_item *items;
	size_t n;
	uint64_t now;
	int *pre;      /* validation result per item (0 = valid) */
	size_t *order; /* indexes of NEW items, sorted by indicator id */
	size_t n_new;
	MDB_cursor *cur;   /* on indicators, shared by every step of the body */
	MDB_cursor *rcur;  /* on reports: every new record is appended through it */
	uint64_t next_seq; /* sequence of the next new record */
};

static int update_vote(MDB_cursor *c, const struct store_item *it)
{
	const struct proto_report *r = it->r;
	struct store_codec_vote cur, nv;
	uint8_t key[VOTE_KEY_LEN], vb[STORE_CODEC_VOTE_LEN];
	MDB_val k = mval(key, sizeof(key)), d;
	int rc;

	vote_key(key, it->ind_id, r->prov, voter_of(r));
	rc = mdb_cursor_get(c, &k, &d, MDB_SET_KEY);
	if (rc == 0) {
		rc = store_codec_vote_decode(&cur, d.mv_data, d.mv_size);
		if (rc != 0)
			return rc;
		if (!vote_wins(r->created_ms, it->report_id, &cur))
			return 0;
	} else if (rc != MDB_NOTFOUND) {
		return store_mdb_err(rc);
	}
	nv.kind = r->kind;
	nv.tlp = r->tlp;
	nv.confidence = r->confidence;
	nv.created_ms = r->created_ms;
	nv.valid_until_ms = r->valid_until_ms;
	memcpy(nv.report_id, it->report_id, 32);
	d = mval(vb, store_codec_vote_encode(&nv, vb));
	return store_mdb_err(mdb_cursor_put(c, &k, &d, 0));
}

/* Phase A for one valid item: returns STORE_NEW, STORE_DUP or an error. */
static int ingest_one(MDB_txn *txn, struct ingest_ctx *ic, struct store_item *it)
{
	struct store *s = ic->s;
	const struct proto_report *r = it->r;
	struct store_codec_rmeta rm;
	struct store_codec_report rec;
	struct store_codec_outbox ob = {.attempts = 0, .next_attempt_ms = ic->now};
	uint8_t key[IDX_KEY_LEN], vb[STORE_CODEC_RMETA_LEN];
	MDB_val k, d;
	int rc;

	/* The dedup test (also against earlier items of this batch: the hint has them). */
	rc = rec_find(txn, s, it->report_id, &d, NULL);
	if (rc == 0)
		return STORE_DUP;
	if (rc != MDB_NOTFOUND)
		return store_mdb_err(rc);
	if (ic->next_seq > UINT32_MAX)
		return -EOVERFLOW;
	/* Append the record, reserved in place, then tell the hint where it is. */
	rec_key(key, ic->next_seq, it->report_id);
	k = mval(key, REC_KEY_LEN);
	d = mval(NULL, STORE_CODEC_REPORT_HEAD + it->len);
	rc = mdb_cursor_put(ic->rcur, &k, &d, MDB_APPEND | MDB_RESERVE);
	if (rc != 0)
		return store_mdb_err(rc);
	rc = store_hint_add(&s->hint, it->report_id, (uint32_t)ic->next_seq++);
	if (rc != 0)
		return rc;
	memcpy(rec.ind_id, it->ind_id, 32);
	rec.env.local = it->env.local;
	rec.env.hops = it->env.hops;
	rec.env.received_ms = it->env.received_ms;
	memcpy(rec.env.received_from, it->env.received_from, 32);
	store_codec_report_head_encode(&rec, d.mv_data);
	memcpy((uint8_t *)d.mv_data + STORE_CODEC_REPORT_HEAD, it->bytes, it->len);

	rm.kind = r->kind;
	rm.tlp = r->tlp;
	rm.confidence = r->confidence;
	rm.prov = r->prov;
	rm.created_ms = r->created_ms;
	rm.valid_until_ms = r->valid_until_ms;
	memcpy(rm.voter, voter_of(r), 32);
	/* The index entry and the vote are neighbours: one cursor, one descent. */
	idx_key(key, it->ind_id, it->report_id);
	k = mval(key, IDX_KEY_LEN);
	d = mval(vb, store_codec_rmeta_encode(&rm, vb));
	if ((rc = mdb_cursor_put(ic->cur, &k, &d, 0)) != 0)
		return store_mdb_err(rc);
	if (r->kind != PROTO_KIND_SIGHTING && (rc = update_vote(ic->cur, it)) != 0)
		return rc;

	if (r->tlp <= PROTO_TLP_GREEN) {
		store_recon_key(key, r->created_ms, it->report_id);
		k = mval(key, STORE_RECON_KEY_LEN);
		d = mval(NULL, 0);
		if ((rc = mdb_put(txn, s->recon, &k, &d, 0)) != 0)
			return store_mdb_err(rc);
	}

	for (size_t j = 0; j < it->n_outbox; j++) {
		pair_key(key, it->report_id, it->outbox_to + 32 * j);
		k = mval(key, PAIR_KEY_LEN);
		d = mval(vb, store_codec_outbox_encode(&ob, vb));
		if ((rc = mdb_put(txn, s->outbox, &k, &d, 0)) != 0)
			return store_mdb_err(rc);
	}

	return STORE_NEW;
}

static int cmp_order(const void *a, const void *b, void *arg)
{
	const struct store_item *items = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = memcmp(items[x].ind_id, items[y].ind_id, 32);

	if (c)
		return c;
	return x < y ? -1 : x > y;
}

static int ingest_steps(MDB_txn *txn, struct ingest_ctx *ic);

static int ingest_body(MDB_txn *txn, void *arg)
{
	struct ingest_ctx *ic = arg;
	MDB_val k, d;
	int rc = mdb_cursor_open(txn, ic->s->indicators, &ic->cur);

	if (rc != 0)
		return store_mdb_err(rc);
	if ((rc = mdb_cursor_open(txn, ic->s->reports, &ic->rcur)) != 0) {
		rc = store_mdb_err(rc);
		goto out;
	}
	rc = mdb_cursor_get(ic->rcur, &k, &d, MDB_LAST);
	if (rc == 0 && k.mv_size == REC_KEY_LEN) {
		ic->next_seq = store_be64_get(k.mv_data) + 1;
	} else if (rc == MDB_NOTFOUND) {
		ic->next_seq = 1;
	} else {
		rc = rc ? store_mdb_err(rc) : STORE_E_CORRUPT;
		goto out;
	}
	rc = ingest_steps(txn, ic);
out:
	mdb_cursor_close(ic->rcur);
	mdb_cursor_close(ic->cur);
	ic->cur = ic->rcur = NULL;
	return rc;
}

static int ingest_steps(MDB_txn *txn, struct ingest_ctx *ic)
{
	struct store *s = ic->s;
	uint64_t seq, created = 0;
	int rc;

	ic->n_new = 0;
	for (size_t i = 0; i < ic->n; i++) {
		struct store_item *it = &ic->items[i];

		if (ic->pre[i] != 0) {
			it->result = ic->pre[i];
			continue;
		}
		rc = ingest_one(txn, ic, it);
		if (rc < 0)
			return rc;
		it->result = rc;
		if (rc == STORE_NEW)
			ic->order[ic->n_new++] = i;
	}
	if (ic->n_new == 0)
		return 0;

	rc = feed_last_txn(txn, s, &seq);
	if (rc != 0)
		return rc;
	qsort_r(ic->order, ic->n_new, sizeof(*ic->order), cmp_order, ic->items);
	for (size_t g = 0; g < ic->n_new;) {
		struct store_item *first = &ic->items[ic->order[g]];
		struct store_codec_summary v;
		bool existed;
		uint8_t old_state = 0;
		uint64_t old_vu = 0;
		size_t e;

		rc = get_summary(txn, s, ic->cur, first->ind_id, &v);
		if (rc == 0) {
			existed = true;
			old_state = v.sum.state;
			old_vu = v.sum.valid_until_ms;
		} else if (rc == STORE_E_NOT_FOUND) {
			existed = false;
			created++;
			summary_init(&v, first->ind_id, first->r);
		} else {
			return rc;
		}
		for (e = g; e < ic->n_new &&
			    memcmp(ic->items[ic->order[e]].ind_id, first->ind_id, 32) == 0;
		     e++)
			summary_count(&v, ic->items[ic->order[e]].r);
		rc = summary_commit(txn, s, ic->cur, &v, existed, old_state, old_vu, &seq, ic->now);
		if (rc != 0)
			return rc;
		g = e;
	}
	return n_ind_add(txn, s, created);
}

struct outbox_put_ctx {
	struct store *s;
	const struct store_outbox_entry *e;
	size_t n;
};

static int outbox_put_body(MDB_txn *txn, void *arg);

struct apply_ctx {
	struct ingest_ctx ic;
	struct store_batch *b;
};

static int apply_body(MDB_txn *txn, void *arg)
{
	struct apply_ctx *ac = arg;
	struct store_batch *b = ac->b;
	struct outbox_put_ctx oc = {.s = ac->ic.s, .e = b->puts, .n = b->n_puts};
	uint8_t key[PAIR_KEY_LEN];
	MDB_val k;
	int rc;

	b->n_deleted = 0;
	if (b->n_items && (rc = ingest_body(txn, &ac->ic)) != 0)
		return rc;
	if ((rc = outbox_put_body(txn, &oc)) != 0)
		return rc;
	for (size_t i = 0; i < b->n_dels; i++) {
		pair_key(key, b->dels[i].report_id, b->dels[i].recipient);
		k = mval(key, sizeof(key));
		rc = mdb_del(txn, oc.s->outbox, &k, NULL);
		if (rc == 0)
			b->n_deleted++;
		else if (rc != MDB_NOTFOUND)
			return store_mdb_err(rc);
	}
	return 0;
}

int store_apply(struct store *s, struct store_batch *b, uint64_t now_ms)
{
	struct apply_ctx ac = {.b = b};
	struct ingest_ctx *ic = &ac.ic;
	size_t n;
	int rc;

	if (!s || !b || (b->n_items && !b->items) || (b->n_puts && !b->puts) ||
	    (b->n_dels && !b->dels))
		return -EINVAL;
	n = b->n_items;
	b->n_deleted = 0;
	if (n == 0 && b->n_puts == 0 && b->n_dels == 0)
		return 0;
	*ic = (struct ingest_ctx){.s = s, .items = b->items, .n = n, .now = now_ms};
	ic->pre = calloc(n ? n : 1, sizeof(*ic->pre));
	ic->order = calloc(n ? n : 1, sizeof(*ic->order));
	if (!ic->pre || !ic->order) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct store_item *it = &b->items[i];

		it->result = 0;
		ic->pre[i] = validate_item(it);
		if (ic->pre[i] == 0)
			proto_indicator_id_raw(it->r->ind_type, it->r->ind_value.ptr,
					       it->r->ind_value.len, it->ind_id);
	}
	rc = store_mdb_write(&s->m, apply_body, &ac);
	if (rc != 0) {
		for (size_t i = 0; i < n; i++)
			b->items[i].result = 0;
		b->n_deleted = 0;
	}
out:
	free(ic->pre);
	free(ic->order);
	return rc;
}

int store_ingest(struct store *s, struct store_item *items, size_t n, uint64_t now_ms)
{
	struct store_batch b = {.items = items, .n_items = n};

	if (!s || (n && !items))
		return -EINVAL;
	return store_apply(s, &b, now_ms);
}

/* ------------------------------------------------------------------ expiry */

struct expire_ctx {
	struct store *s;
	uint64_t now;
	size_t max, done;
};

static int expire_body(MDB_txn *txn, void *arg)
{
	struct expire_ctx *ec = arg;
	struct store *s = ec->s;
	struct store_codec_summary v;
	MDB_cursor *c = NULL;
	MDB_val k, d;
	uint64_t seq, t;
	uint8_t key[EXPIRY_KEY_LEN];
	int rc;

	ec->done = 0;
	rc = feed_last_txn(txn, s, &seq);
	if (rc != 0)
		return rc;
	while (ec->max == 0 || ec->done < ec->max) {
		rc = mdb_cursor_open(txn, s->expiry, &c);
		if (rc != 0)
			return store_mdb_err(rc);
		rc = mdb_cursor_get(c, &k, &d, MDB_FIRST);
		if (rc == 0 && k.mv_size == EXPIRY_KEY_LEN)
			memcpy(key, k.mv_data, EXPIRY_KEY_LEN);
		else if (rc == 0)
			rc = STORE_E_CORRUPT;
		mdb_cursor_close(c);
		if (rc == MDB_NOTFOUND)
			break;
		if (rc != 0)
			return rc < 0 ? rc : store_mdb_err(rc);
		t = store_be64_get(key);
		if (t > ec->now)
			break;
		k = mval(key, EXPIRY_KEY_LEN);
		if ((rc = mdb_del(txn, s->expiry, &k, NULL)) != 0)
			return store_mdb_err(rc);
		rc = get_summary(txn, s, NULL, key + 8, &v);
		if (rc == STORE_E_NOT_FOUND)
			continue; /* a stale entry (store_verify reports them): drop it */
		if (rc != 0)
			return rc;
		if (v.sum.state != PROTO_SUMMARY_ACTIVE || v.sum.valid_until_ms != t)
			continue;
		v.sum.state = PROTO_SUMMARY_EXPIRED;
		v.sum.feed_seq = ++seq;
		rc = feed_append(txn, s, seq, v.sum.ind_id, v.sum.state, ec->now);
		if (rc != 0)
			return rc;
		rc = put_summary(txn, s, NULL, &v);
		if (rc != 0)
			return rc;
		ec->done++;
	}
	return 0;
}

int store_expire(struct store *s, uint64_t now_ms, size_t max, size_t *n_expired)
{
	struct expire_ctx ec = {.s = s, .now = now_ms, .max = max};
	int rc;

	if (n_expired)
		*n_expired = 0;
	rc = store_mdb_write(&s->m, expire_body, &ec);
	if (rc == 0 && n_expired)
		*n_expired = ec.done;
	return rc;
}

/* ------------------------------------------------------------------ feed touch */

struct touch_ctx {
	struct store *s;
	const uint8_t (*ids)[32];
	size_t n, done;
	uint64_t now;
};

static int touch_body(MDB_txn *txn, void *arg)
{
	struct touch_ctx *tc = arg;
	struct store_codec_summary v;
	uint64_t seq, first;
	int rc;

	tc->done = 0;
	if ((rc = feed_last_txn(txn, tc->s, &seq)) != 0)
		return rc;
	first = seq;
	for (size_t i = 0; i < tc->n; i++) {
		rc = get_summary(txn, tc->s, NULL, tc->ids[i], &v);
		if (rc == STORE_E_NOT_FOUND || (rc == 0 && v.sum.feed_seq > first))
			continue; /* unknown, or touched already in this transaction */
		if (rc != 0)
			return rc;
		v.sum.feed_seq = ++seq;
		if ((rc = feed_append(txn, tc->s, seq, v.sum.ind_id, v.sum.state, tc->now)) != 0 ||
		    (rc = put_summary(txn, tc->s, NULL, &v)) != 0)
			return rc;
		tc->done++;
	}
	return 0;
}

int store_feed_touch(struct store *s, const uint8_t (*ind_ids)[32], size_t n, uint64_t now_ms,
		     size_t *n_touched)
{
	struct touch_ctx tc = {.s = s, .ids = ind_ids, .n = n, .now = now_ms};
	int rc;

	if (n_touched)
		*n_touched = 0;
	if (!s || (n && !ind_ids))
		return -EINVAL;
	if (n == 0)
		return 0;
	rc = store_mdb_write(&s->m, touch_body, &tc);
	if (rc == 0 && n_touched)
		*n_touched = tc.done;
	return rc;
}

/* ------------------------------------------------------------------ reads */

static int copy_out(const MDB_val *d, uint8_t **out, size_t *len)
{
	*out = malloc(d->mv_size ? d->mv_size : 1);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, d->mv_data, d->mv_size);
	*len = d->mv_size;
	return 0;
}

int store_report_get(struct store *s, struct store_read *rd, const uint8_t id[32], uint8_t **out,
		     size_t *len)
{
	MDB_txn *txn;
	MDB_val d;
	int rc;

	struct store_codec_report rec;

	*out = NULL;
	*len = 0;
	if ((rc = read_enter(s, rd, &txn)) != 0)
		return rc;
	rc = store_mdb_err(rec_find(txn, s, id, &d, NULL));
	if (rc == 0)
		rc = store_codec_report_decode(&rec, d.mv_data, d.mv_size);
	if (rc == 0) {
		d = mval(rec.bytes, rec.len);
		rc = copy_out(&d, out, len);
	}
	read_leave(s, rd, txn);
	return rc;
}

int store_report_has(struct store *s, struct store_read *rd, const uint8_t (*ids)[32], size_t n,
		     bool *present)
{
	MDB_txn *txn;
	MDB_val d;
	int rc;

	if ((rc = read_enter(s, rd, &txn)) != 0)
		return rc;
	for (size_t i = 0; i < n && rc == 0; i++) {
		int g = rec_find(txn, s, ids[i], &d, NULL);

		if (g == 0 || g == MDB_NOTFOUND)
			present[i] = g == 0;
		else
			rc = store_mdb_err(g);
	}
	read_leave(s, rd, txn);
	return rc;
}

int store_envelope_get(struct store *s, struct store_read *rd, const uint8_t id[32],
		       struct store_envelope *env)
{
	struct store_codec_report rec;
	MDB_txn *txn;
	MDB_val d;
	int rc;

	if ((rc = read_enter(s, rd, &txn)) != 0)
		return rc;
	rc = store_mdb_err(rec_find(txn, s, id, &d, NULL));
	if (rc == 0)
		rc = store_codec_report_decode(&rec, d.mv_data, d.mv_size);
	read_leave(s, rd, txn);
	if (rc == 0) {
		env->local = rec.env.local;
		env->hops = rec.env.hops;
		env->received_ms = rec.env.received_ms;
		memcpy(env->received_from, rec.env.received_from, 32);
	}
	return rc;
}

int store_summary_get(struct store *s, struct store_read *rd, const uint8_t ind_id[32],
		      struct proto_summary *out)
{
	struct store_codec_summary v;
	MDB_txn *txn;
	int rc;

	if ((rc = read_enter(s, rd, &txn)) != 0)
		return rc;
	rc = get_summary(txn, s, NULL, ind_id, &v);
	read_leave(s, rd, txn);
	if (rc == 0)
		*out = v.sum;
	return rc;
}

/* Look up the signed bytes of @id and hand them to @cb. */
static int report_cb(MDB_txn *txn, struct store *s, const struct store_report_info *info,
		     store_report_cb cb, void *ctx)
{
	struct store_codec_report rec;
	MDB_val d;
	int rc = rec_find(txn, s, info->report_id, &d, NULL);

	if (rc == MDB_NOTFOUND)
		return STORE_E_CORRUPT; /* an index names a report that is not stored */
	if (rc != 0)
		return store_mdb_err(rc);
	if ((rc = store_codec_report_decode(&rec, d.mv_data, d.mv_size)) != 0)
		return rc;
	return cb(ctx, info, rec.bytes, rec.len);
}

/*
 * Walk the entries of one indicator under @tag (TAG_VOTE: current votes, revoke tombstones
 * skipped; TAG_INDEX: every report) and hand each report to @cb. Both entry kinds carry the
 * same report facts, in different records.
 */
static int iter_tagged(struct store *s, struct store_read *rd, const uint8_t ind_id[32],
		       uint8_t tag, store_report_cb cb, void *ctx)
{
	struct store_report_info info;
	MDB_txn *txn;
	MDB_cursor *c = NULL;
	MDB_val k, d;
	size_t key_len = tag == TAG_VOTE ? VOTE_KEY_LEN : IDX_KEY_LEN;
	int rc;

	if ((rc = read_enter(s, rd, &txn)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(txn, s->indicators, &c)) != 0) {
		rc = store_mdb_err(rc);
		goto out;
	}
	for (rc = tag_first(c, ind_id, tag, &k, &d); rc == 0;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if (!tag_in(&k, ind_id, tag))
			break;
		if (k.mv_size != key_len) {
			rc = STORE_E_CORRUPT;
			goto out;
		}
		if (tag == TAG_VOTE) {
			struct store_codec_vote v;

			if ((rc = store_codec_vote_decode(&v, d.mv_data, d.mv_size)) != 0)
				goto out;
			if (v.kind == PROTO_KIND_REVOKE)
				continue;
			memcpy(info.report_id, v.report_id, 32);
			info.kind = v.kind;
			info.tlp = v.tlp;
			info.confidence = v.confidence;
			info.created_ms = v.created_ms;
			info.valid_until_ms = v.valid_until_ms;
		} else {
			struct store_codec_rmeta m;

			if ((rc = store_codec_rmeta_decode(&m, d.mv_data, d.mv_size)) != 0)
				goto out;
			memcpy(info.report_id, (const uint8_t *)k.mv_data + 33, 32);
			info.kind = m.kind;
			info.tlp = m.tlp;
			info.confidence = m.confidence;
			info.created_ms = m.created_ms;
			info.valid_until_ms = m.valid_until_ms;
		}
		if ((rc = report_cb(txn, s, &info, cb, ctx)) != 0)
			goto out;
	}
	rc = (rc == MDB_NOTFOUND || rc == 0) ? 0 : store_mdb_err(rc);
out:
	mdb_cursor_close(c);
	read_leave(s, rd, txn);
	return rc;
}

int store_votes_iter(struct store *s, struct store_read *rd, const uint8_t ind_id[32],
		     store_report_cb cb, void *ctx)
{
	return iter_tagged(s, rd, ind_id, TAG_VOTE, cb, ctx);
}

int store_reports_iter(struct store *s, struct store_read *rd, const uint8_t ind_id[32],
		       store_report_cb cb, void *ctx)
{
	return iter_tagged(s, rd, ind_id, TAG_INDEX, cb, ctx);
}

/* ------------------------------------------------------------------ feed */

int store_feed_iter(struct store *s, struct store_read *rd, uint64_t since, size_t limit,
		    store_feed_cb cb, void *ctx)
{
	struct store_codec_feed f;
	struct store_feed_entry e;
	MDB_txn *txn;
	MDB_cursor *c = NULL;
	MDB_val k, d;
	uint8_t kb[8];
	int rc, count = 0;

	if (since == UINT64_MAX)
		return 0;
	if ((rc = read_enter(s, rd, &txn)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(txn, s->feed, &c)) != 0) {
		rc = store_mdb_err(rc);
		goto out;
	}
	store_be64_put(kb, since + 1);
	k = mval(kb, 8);
	for (rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
	     rc == 0 && (!limit || (size_t)count < limit);
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if (k.mv_size != 8) {
			rc = STORE_E_CORRUPT;
			goto out;
		}
		if ((rc = store_codec_feed_decode(&f, d.mv_data, d.mv_size)) != 0)
			goto out;
		e.seq = store_be64_get(k.mv_data);
		memcpy(e.ind_id, f.ind_id, 32);
		e.state = f.state;
		e.time_ms = f.time_ms;
		if ((rc = cb(ctx, &e)) != 0)
			goto out;
		if (count == INT32_MAX)
			break;
		count++;
	}
	rc = (rc == MDB_NOTFOUND || rc == 0) ? count : store_mdb_err(rc);
out:
	mdb_cursor_close(c);
	read_leave(s, rd, txn);
	return rc;
}

int store_feed_last(struct store *s, struct store_read *rd, uint64_t *seq)
{
	MDB_txn *txn;
	int rc;

	if ((rc = read_enter(s, rd, &txn)) != 0)
		return rc;
	rc = feed_last_txn(txn, s, seq);
	read_leave(s, rd, txn);
	return rc;
}

/* ------------------------------------------------------------------ reconciliation */

/* acc += id, both 256-bit little-endian. */
static void add256(uint64_t acc[4], const uint8_t id[32])
{
	unsigned __int128 carry = 0;

	for (int i = 0; i < 4; i++) {
		uint64_t limb = 0;

		for (int b = 7; b >= 0; b--)
			limb = limb << 8 | id[8 * i + b];
		carry += (unsigned __int128)acc[i] + limb;
		acc[i] = (uint64_t)carry;
		carry >>= 64;
	}
}

/* Position @c at the first key >= @lo (or the first key). */
static int range_first(MDB_cursor *c, const uint8_t *lo, MDB_val *k, MDB_val *d)
{
	if (!lo)
		return mdb_cursor_get(c, k, d, MDB_FIRST);
	*k = mval(lo, STORE_RECON_KEY_LEN);
	return mdb_cursor_get(c, k, d, MDB_SET_RANGE);
}

static bool range_in(const MDB_val *k, const uint8_t *hi)
{
	return !hi || memcmp(k->mv_data, hi, STORE_RECON_KEY_LEN) < 0;
}

int store_recon_fingerprint(struct store *s, struct store_read *rd, const uint8_t *lo,
			    const uint8_t *hi, uint8_t fp[32], uint64_t *count)
{
	uint64_t acc[4] = {0};
	uint64_t n = 0;
	MDB_txn *txn;
	MDB_cursor *c = NULL;
	MDB_val k, d;
	int rc;

	if ((rc = read_enter(s, rd, &txn)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(txn, s->recon, &c)) != 0) {
		rc = store_mdb_err(rc);
		goto out;
	}
	for (rc = range_first(c, lo, &k, &d); rc == 0; rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if (k.mv_size != STORE_RECON_KEY_LEN) {
			rc = STORE_E_CORRUPT;
			goto out;
		}
		if (!range_in(&k, hi))
			break;
		add256(acc, (const uint8_t *)k.mv_data + 8);
		n++;
	}
	rc = (rc == MDB_NOTFOUND || rc == 0) ? 0 : store_mdb_err(rc);
	if (rc == 0) {
		for (int i = 0; i < 4; i++)
			for (int b = 0; b < 8; b++)
				fp[8 * i + b] = (uint8_t)(acc[i] >> (8 * b));
		*count = n;
	}
out:
	mdb_cursor_close(c);
	read_leave(s, rd, txn);
	return rc;
}

int store_recon_list(struct store *s, struct store_read *rd, const uint8_t *lo, const uint8_t *hi,
		     uint8_t (*keys)[STORE_RECON_KEY_LEN], size_t cap, size_t *n)
{
	MDB_txn *txn;
	MDB_cursor *c = NULL;
	MDB_val k, d;
	size_t got = 0;
	int rc;

	*n = 0;
	if (cap == 0)
		return 0;
	if ((rc = read_enter(s, rd, &txn)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(txn, s->recon, &c)) != 0) {
		rc = store_mdb_err(rc);
		goto out;
	}
	for (rc = range_first(c, lo, &k, &d); rc == 0 && got < cap;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if (k.mv_size != STORE_RECON_KEY_LEN) {
			rc = STORE_E_CORRUPT;
			goto out;
		}
		if (!range_in(&k, hi))
			break;
		memcpy(keys[got++], k.mv_data, STORE_RECON_KEY_LEN);
	}
	rc = (rc == MDB_NOTFOUND || rc == 0) ? 0 : store_mdb_err(rc);
	*n = got;
out:
	mdb_cursor_close(c);
	read_leave(s, rd, txn);
	return rc;
}

/* ------------------------------------------------------------------ outbox */

static int outbox_put_body(MDB_txn *txn, void *arg)
{
	struct outbox_put_ctx *oc = arg;
	uint8_t key[PAIR_KEY_LEN], vb[STORE_CODEC_OUTBOX_LEN];
	MDB_val k, d;
	int rc;

	for (size_t i = 0; i < oc->n; i++) {
		struct store_codec_outbox ob = {.attempts = oc->e[i].attempts,
						.next_attempt_ms = oc->e[i].next_attempt_ms};

		pair_key(key, oc->e[i].report_id, oc->e[i].recipient);
		k = mval(key, sizeof(key));
		d = mval(vb, store_codec_outbox_encode(&ob, vb));
		if ((rc = mdb_put(txn, oc->s->outbox, &k, &d, 0)) != 0)
			return store_mdb_err(rc);
	}
	return 0;
}

int store_outbox_put(struct store *s, const struct store_outbox_entry *e, size_t n)
{
	struct outbox_put_ctx oc = {.s = s, .e = e, .n = n};

	if (n && !e)
		return -EINVAL;
	if (n == 0)
		return 0;
	return store_mdb_write(&s->m, outbox_put_body, &oc);
}

struct outbox_del_ctx {
	struct store *s;
	uint8_t key[PAIR_KEY_LEN];
};

static int outbox_del_body(MDB_txn *txn, void *arg)
{
	struct outbox_del_ctx *oc = arg;
	MDB_val k = mval(oc->key, sizeof(oc->key));

	return store_mdb_err(mdb_del(txn, oc->s->outbox, &k, NULL));
}

int store_outbox_del(struct store *s, const uint8_t report_id[32], const uint8_t recipient[32])
{
	struct outbox_del_ctx oc = {.s = s};

	pair_key(oc.key, report_id, recipient);
	return store_mdb_write(&s->m, outbox_del_body, &oc);
}

int store_outbox_due(struct store *s, struct store_read *rd, uint64_t now_ms,
		     struct store_outbox_entry *out, size_t cap, size_t *n)
{
	struct store_codec_outbox ob;
	MDB_txn *txn;
	MDB_cursor *c = NULL;
	MDB_val k, d;
	size_t got = 0;
	int rc;

	*n = 0;
	if (cap == 0)
		return 0;
	if ((rc = read_enter(s, rd, &txn)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(txn, s->outbox, &c)) != 0) {
		rc = store_mdb_err(rc);
		goto out;
	}
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0 && got < cap;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if (k.mv_size != PAIR_KEY_LEN) {
			rc = STORE_E_CORRUPT;
			goto out;
		}
		if ((rc = store_codec_outbox_decode(&ob, d.mv_data, d.mv_size)) != 0)
			goto out;
		if (ob.next_attempt_ms > now_ms)
			continue;
		memcpy(out[got].report_id, k.mv_data, 32);
		memcpy(out[got].recipient, (const uint8_t *)k.mv_data + 32, 32);
		out[got].next_attempt_ms = ob.next_attempt_ms;
		out[got].attempts = ob.attempts;
		got++;
	}
	rc = (rc == MDB_NOTFOUND || rc == 0) ? 0 : store_mdb_err(rc);
	*n = got;
out:
	mdb_cursor_close(c);
	read_leave(s, rd, txn);
	return rc;
}

struct outbox_drop_ctx {
	struct store *s;
	store_outbox_keep_fn keep;
	void *ctx;
	size_t dropped;
};

static int outbox_drop_body(MDB_txn *txn, void *arg)
{
	struct outbox_drop_ctx *oc = arg;
	MDB_cursor *c = NULL;
	MDB_val k, d;
	int rc;

	oc->dropped = 0; /* the body may run again after a map growth */
	if ((rc = mdb_cursor_open(txn, oc->s->outbox, &c)) != 0)
		return store_mdb_err(rc);
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if (k.mv_size != PAIR_KEY_LEN) {
			rc = STORE_E_CORRUPT;
			break;
		}
		if (oc->keep(oc->ctx, (const uint8_t *)k.mv_data + 32))
			continue;
		if ((rc = mdb_cursor_del(c, 0)) != 0)
			break;
		oc->dropped++;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : store_mdb_err(rc);
}

int store_outbox_drop(struct store *s, store_outbox_keep_fn keep, void *ctx, size_t *n_dropped)
{
	struct outbox_drop_ctx oc = {.s = s, .keep = keep, .ctx = ctx};
	int rc;

	if (!keep)
		return -EINVAL;
	rc = store_mdb_write(&s->m, outbox_drop_body, &oc);
	if (n_dropped)
		*n_dropped = rc == 0 ? oc.dropped : 0;
	return rc;
}

/* ------------------------------------------------------------------ rosters */

struct roster_ctx {
	struct store *s;
	uint8_t key[8];
	const uint8_t *bytes;
	size_t len;
};

static int roster_put_body(MDB_txn *txn, void *arg)
{
	struct roster_ctx *rc_ = arg;
	MDB_val k = mval(rc_->key, 8), d;
	int rc = mdb_get(txn, rc_->s->rosters, &k, &d);

	if (rc == 0)
		return d.mv_size == rc_->len && memcmp(d.mv_data, rc_->bytes, rc_->len) == 0
			       ? 0
			       : -EEXIST;
	if (rc != MDB_NOTFOUND)
		return store_mdb_err(rc);
	d = mval(rc_->bytes, rc_->len);
	return store_mdb_err(mdb_put(txn, rc_->s->rosters, &k, &d, 0));
}

int store_roster_put(struct store *s, uint64_t epoch, const uint8_t *bytes, size_t len)
{
	struct roster_ctx rc = {.s = s, .bytes = bytes, .len = len};

	if (!bytes || len == 0)
		return -EINVAL;
	store_be64_put(rc.key, epoch);
	return store_mdb_write(&s->m, roster_put_body, &rc);
}

int store_roster_get(struct store *s, struct store_read *rd, uint64_t epoch, uint8_t **out,
		     size_t *len)
{
	uint8_t kb[8];
	MDB_txn *txn;
	MDB_val k = mval(kb, 8), d;
	int rc;

	*out = NULL;
	*len = 0;
	store_be64_put(kb, epoch);
	if ((rc = read_enter(s, rd, &txn)) != 0)
		return rc;
	rc = store_mdb_err(mdb_get(txn, s->rosters, &k, &d));
	if (rc == 0)
		rc = copy_out(&d, out, len);
	read_leave(s, rd, txn);
	return rc;
}

int store_roster_latest(struct store *s, struct store_read *rd, uint64_t *epoch)
{
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, d;
	int rc;

	if ((rc = read_enter(s, rd, &txn)) != 0)
		return rc;
	rc = mdb_cursor_open(txn, s->rosters, &c);
	if (rc == 0) {
		rc = mdb_cursor_get(c, &k, &d, MDB_LAST);
		if (rc == 0 && k.mv_size != 8)
			rc = MDB_CORRUPTED;
		if (rc == 0)
			*epoch = store_be64_get(k.mv_data);
		mdb_cursor_close(c);
	}
	read_leave(s, rd, txn);
	return store_mdb_err(rc);
}

/* ------------------------------------------------------------------ operations */

static uint64_t db_entries(MDB_txn *txn, MDB_dbi dbi)
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
	st->reports = db_entries(txn, s->reports);
	rc = n_ind_get(txn, s, &st->indicators);
	st->recon = db_entries(txn, s->recon);
	st->outbox = db_entries(txn, s->outbox);
	if (rc == 0)
		rc = feed_last_txn(txn, s, &st->feed_last);
	store_mdb_read_end(&s->m, txn);
	return rc;
}

struct raw_ctx {
	MDB_dbi dbi;
	const void *key;
	size_t klen;
	const void *val;
	size_t vlen;
};

static int raw_put_body(MDB_txn *txn, void *arg)
{
	struct raw_ctx *r = arg;
	MDB_val k = mval(r->key, r->klen), d = mval(r->val, r->vlen);

	return store_mdb_err(mdb_put(txn, r->dbi, &k, &d, 0));
}

int store_debug_put(struct store *s, const char *db, const void *key, size_t klen, const void *val,
		    size_t vlen)
{
	struct raw_ctx r = {.key = key, .klen = klen, .val = val, .vlen = vlen};
	size_t i;

	for (i = 0; i < sizeof(db_names) / sizeof(db_names[0]); i++)
		if (strcmp(db, db_names[i]) == 0)
			break;
	if (i == sizeof(db_names) / sizeof(db_names[0]) || !key || klen == 0)
		return -EINVAL;
	r.dbi = *db_slot(s, i);
	return store_mdb_write(&s->m, raw_put_body, &r);
}

int store_debug_report_key(struct store *s, const uint8_t rid[32], uint8_t key[40])
{
	MDB_txn *txn;
	MDB_val d;
	int rc;

	if ((rc = store_mdb_read_begin(&s->m, &txn)) != 0)
		return rc;
	rc = store_mdb_err(rec_find(txn, s, rid, &d, key));
	store_mdb_read_end(&s->m, txn);
	return rc;
}

size_t store_debug_hint_bytes(struct store *s)
{
	return store_hint_bytes(&s->hint);
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int store_raw_put_rate(const char *dir, size_t n, size_t batch, size_t val_len, double *per_sec)
{
	struct store_mdb m;
	MDB_txn *txn;
	MDB_dbi dbi;
	uint8_t key[32], *val;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	size_t map = ((size_t)64 << 20) + n * (val_len + 32 + 64) * 3, done = 0;
	double t0;
	int rc;

	*per_sec = 0;
	if (batch == 0 || n == 0)
		return -EINVAL;
	val = malloc(val_len ? val_len : 1);
	if (!val)
		return -ENOMEM;
	memset(val, 0xa5, val_len);
	rc = store_mdb_open(&m, dir, 0, page_round(map), page_round(map), 16, 2, 0600,
			    STORE_E_MAP_FULL);
	if (rc != 0)
		goto out_free;
	t0 = now_sec();
	while (done < n) {
		MDB_val k = mval(key, 32), d = mval(val, val_len);

		if ((rc = mdb_txn_begin(m.env, NULL, 0, &txn)) != 0)
			break;
		if ((rc = mdb_dbi_open(txn, NULL, 0, &dbi)) != 0) {
			mdb_txn_abort(txn);
			break;
		}
		for (size_t i = 0; i < batch && done < n; i++, done++) {
			for (int w = 0; w < 4; w++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				memcpy(key + 8 * w, &x, 8);
			}
			if ((rc = mdb_put(txn, dbi, &k, &d, 0)) != 0)
				break;
		}
		if (rc != 0) {
			mdb_txn_abort(txn);
			break;
		}
		if ((rc = mdb_txn_commit(txn)) != 0)
			break;
	}
	if (rc == 0)
		*per_sec = (double)n / (now_sec() - t0);
	rc = store_mdb_err(rc);
	store_mdb_close(&m);
out_free:
	free(val);
	return rc;
}

int store_raw_get_rate(const char *dir, size_t n_keys, size_t n_gets, double *per_sec)
{
	struct store_mdb m;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k, d;
	uint8_t(*keys)[32];
	uint64_t x = 0x9e3779b97f4a7c15ull, r = 88172645463325252ull;
	double t0;
	int rc;

	*per_sec = 0;
	if (n_keys == 0 || n_gets == 0)
		return -EINVAL;
	keys = malloc(n_keys * 32);
	if (!keys)
		return -ENOMEM;
	/* The keys store_raw_put_rate() wrote: the same xorshift sequence. */
	for (size_t i = 0; i < n_keys; i++)
		for (int w = 0; w < 4; w++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			memcpy(keys[i] + 8 * w, &x, 8);
		}
	rc = store_mdb_open(&m, dir, MDB_RDONLY, 0, 0, 16, 2, 0600, STORE_E_MAP_FULL);
	if (rc != 0)
		goto out;
	if ((rc = store_mdb_read_begin(&m, &txn)) == 0) {
		rc = store_mdb_err(mdb_dbi_open(txn, NULL, 0, &dbi));
		store_mdb_read_end(&m, txn);
	}
	t0 = now_sec();
	for (size_t i = 0; i < n_gets && rc == 0; i++) {
		r ^= r << 13;
		r ^= r >> 7;
		r ^= r << 17;
		k = mval(keys[r % n_keys], 32);
		if ((rc = store_mdb_read_begin(&m, &txn)) != 0)
			break;
		rc = store_mdb_err(mdb_get(txn, dbi, &k, &d));
		store_mdb_read_end(&m, txn);
	}
	if (rc == 0)
		*per_sec = (double)n_gets / (now_sec() - t0);
	store_mdb_close(&m);
out:
	free(keys);
	return rc;
}

/* ------------------------------------------------------------------ verify */

struct vrf_entry {
	uint8_t rid[32];
	struct store_codec_rmeta m;
};

struct vrf {
	struct store *s;
	MDB_txn *txn;
	char *why;
	size_t why_len;
	uint64_t feed_last;
	uint64_t n_index, n_recon_expected, n_expiry_expected, n_groups;
	/* the indicator being walked */
	bool in_group;
	uint8_t ind[32];
	struct store_codec_summary sum;
	uint64_t n_votes;
	struct vrf_entry *grp;
	size_t n_grp, cap_grp;
};

__attribute__((format(printf, 2, 3))) static int vrf_fail(struct vrf *v, const char *fmt, ...)
{
	va_list ap;

	if (v->why && v->why_len) {
		va_start(ap, fmt);
		vsnprintf(v->why, v->why_len, fmt, ap);
		va_end(ap);
	}
	return STORE_E_CORRUPT;
}

static int cmp_voter(const void *a, const void *b)
{
	const struct vrf_entry *x = a, *y = b;
	int c = (int)x->m.prov - (int)y->m.prov;

	return c ? c : memcmp(x->m.voter, y->m.voter, 32);
}

static bool has_key(struct vrf *v, MDB_dbi dbi, const void *key, size_t klen)
{
	MDB_val k = mval(key, klen), d;

	return mdb_get(v->txn, dbi, &k, &d) == 0;
}

/*
 * Check the indicator just walked: its votes are exactly the winners among its index
 * entries, and its summary is what the entries and votes imply.
 */
static int vrf_group(struct vrf *v)
{
	struct store *s = v->s;
	const uint8_t *ind = v->ind;
	struct store_codec_summary *sum = &v->sum, want;
	struct vrf_entry *cand;
	size_t n_cand = 0, n_winners = 0;
	struct vote_tally t;
	uint8_t key[VOTE_KEY_LEN], idc[32];
	MDB_val k, d;
	int rc;

	memset(&want, 0, sizeof(want));
	want.sum.first_seen_ms = UINT64_MAX;
	cand = malloc((v->n_grp ? v->n_grp : 1) * sizeof(*cand));
	if (!cand)
		return -ENOMEM;
	for (size_t i = 0; i < v->n_grp; i++) {
		const struct store_codec_rmeta *m = &v->grp[i].m;

		want.sum.n_reports++;
		want.sum.n_sightings += m->kind == PROTO_KIND_SIGHTING;
		want.n_ind_reports += m->kind == PROTO_KIND_INDICATOR;
		if (m->tlp > want.sum.tlp)
			want.sum.tlp = m->tlp;
		if (m->created_ms < want.sum.first_seen_ms)
			want.sum.first_seen_ms = m->created_ms;
		if (m->created_ms > want.sum.last_seen_ms)
			want.sum.last_seen_ms = m->created_ms;
		if (m->kind != PROTO_KIND_SIGHTING)
			cand[n_cand++] = v->grp[i];
	}
	qsort(cand, n_cand, sizeof(*cand), cmp_voter);
	for (size_t i = 0; i < n_cand;) {
		size_t best = i, j;
		struct store_codec_vote cur, got;

		for (j = i + 1; j < n_cand && cmp_voter(&cand[i], &cand[j]) == 0; j++) {
			cur.created_ms = cand[best].m.created_ms;
			memcpy(cur.report_id, cand[best].rid, 32);
			if (vote_wins(cand[j].m.created_ms, cand[j].rid, &cur))
				best = j;
		}
		vote_key(key, ind, cand[best].m.prov, cand[best].m.voter);
		k = mval(key, VOTE_KEY_LEN);
		rc = mdb_get(v->txn, s->indicators, &k, &d);
		if (rc != 0 || store_codec_vote_decode(&got, d.mv_data, d.mv_size) != 0 ||
		    memcmp(got.report_id, cand[best].rid, 32) != 0 ||
		    got.kind != cand[best].m.kind || got.created_ms != cand[best].m.created_ms ||
		    got.valid_until_ms != cand[best].m.valid_until_ms) {
			free(cand);
			return vrf_fail(v, "vote of a voter is missing or not its newest report");
		}
		n_winners++;
		i = j;
	}
	free(cand);
	if (n_winners != v->n_votes)
		return vrf_fail(v, "%llu votes for %zu voters", (unsigned long long)v->n_votes,
				n_winners);

	proto_indicator_id_raw(sum->sum.ind.type, sum->sum.ind.value, sum->sum.ind.len, idc);
	if (memcmp(idc, ind, 32) != 0)
		return vrf_fail(v, "summary value does not hash to its indicator id");
	if (sum->sum.n_reports != want.sum.n_reports ||
	    sum->sum.n_sightings != want.sum.n_sightings ||
	    sum->n_ind_reports != want.n_ind_reports || sum->sum.tlp != want.sum.tlp ||
	    sum->sum.first_seen_ms != want.sum.first_seen_ms ||
	    sum->sum.last_seen_ms != want.sum.last_seen_ms)
		return vrf_fail(v, "summary counters disagree with the report index");
	rc = tally_votes(v->txn, s, NULL, ind, &t);
	if (rc != 0)
		return vrf_fail(v, "votes unreadable (%s)", proto_error_str(rc));
	if (sum->sum.n_members != t.n_members || sum->sum.n_false_positive != t.n_fp ||
	    sum->sum.confidence != t.confidence || sum->sum.valid_until_ms != t.valid_until)
		return vrf_fail(v, "summary vote fields disagree with the votes");
	if (sum->sum.state == PROTO_SUMMARY_EXPIRED && t.valid_until == 0)
		return vrf_fail(v, "expired indicator without valid_until");
	if (sum->sum.state == PROTO_SUMMARY_ACTIVE && sum->sum.valid_until_ms != 0) {
		uint8_t ek[EXPIRY_KEY_LEN];

		expiry_key(ek, sum->sum.valid_until_ms, ind);
		if (!has_key(v, s->expiry, ek, sizeof(ek)))
			return vrf_fail(v, "active indicator missing from the expiry index");
		v->n_expiry_expected++;
	}
	if (sum->sum.feed_seq == 0 || sum->sum.feed_seq > v->feed_last)
		return vrf_fail(v, "summary feed_seq %llu outside the feed",
				(unsigned long long)sum->sum.feed_seq);
	{
		struct store_codec_feed f;
		uint8_t kb[8];

		store_be64_put(kb, sum->sum.feed_seq);
		k = mval(kb, 8);
		if (mdb_get(v->txn, s->feed, &k, &d) != 0 ||
		    store_codec_feed_decode(&f, d.mv_data, d.mv_size) != 0 ||
		    memcmp(f.ind_id, ind, 32) != 0 || f.state != sum->sum.state)
			return vrf_fail(v, "summary feed_seq does not name its latest feed entry");
	}
	v->n_groups++;
	return 0;
}

/* One index entry of the current indicator: its report, recon entry, and meta. */
static int vrf_index_entry(struct vrf *v, const MDB_val *k, const MDB_val *d)
{
	struct store *s = v->s;
	struct store_codec_report rec;
	struct vrf_entry e;
	uint8_t rk[STORE_RECON_KEY_LEN];
	MDB_val rdv;

	memcpy(e.rid, (const uint8_t *)k->mv_data + 33, 32);
	if (store_codec_rmeta_decode(&e.m, d->mv_data, d->mv_size) != 0)
		return vrf_fail(v, "index value corrupt");
	if (rec_find(v->txn, s, e.rid, &rdv, NULL) != 0 ||
	    store_codec_report_decode(&rec, rdv.mv_data, rdv.mv_size) != 0 ||
	    memcmp(rec.ind_id, v->ind, 32) != 0)
		return vrf_fail(v, "index names a report that is not stored under this indicator");
	store_recon_key(rk, e.m.created_ms, e.rid);
	if (has_key(v, s->recon, rk, sizeof(rk)) != (e.m.tlp <= PROTO_TLP_GREEN))
		return vrf_fail(v, "recon index entry %s for a %s report",
				e.m.tlp <= PROTO_TLP_GREEN ? "missing" : "present",
				proto_tlp_name(e.m.tlp) ? proto_tlp_name(e.m.tlp) : "?");
	v->n_recon_expected += e.m.tlp <= PROTO_TLP_GREEN;
	v->n_index++;
	if (v->n_grp == v->cap_grp) {
		size_t nc = v->cap_grp ? 2 * v->cap_grp : 64;
		void *p = realloc(v->grp, nc * sizeof(*v->grp));

		if (!p)
			return -ENOMEM;
		v->grp = p;
		v->cap_grp = nc;
	}
	v->grp[v->n_grp++] = e;
	return 0;
}

/* Walk the indicators database: summary, then index entries, then votes, per indicator. */
static int vrf_indicators(struct vrf *v)
{
	MDB_cursor *c;
	MDB_val k, d;
	int rc;

	rc = mdb_cursor_open(v->txn, v->s->indicators, &c);
	if (rc != 0)
		return store_mdb_err(rc);
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		const uint8_t *p = k.mv_data;

		if (k.mv_size == 32) {
			if (v->in_group && (rc = vrf_group(v)) != 0)
				break;
			v->in_group = true;
			memcpy(v->ind, p, 32);
			v->n_grp = 0;
			v->n_votes = 0;
			if (store_codec_summary_decode(&v->sum, d.mv_data, d.mv_size) != 0) {
				rc = vrf_fail(v, "summary corrupt");
				break;
			}
			continue;
		}
		if (!v->in_group || k.mv_size < 33 || memcmp(p, v->ind, 32) != 0) {
			rc = vrf_fail(v, "index entry or vote of an indicator without a summary");
			break;
		}
		if (p[32] == TAG_INDEX && k.mv_size == IDX_KEY_LEN) {
			if ((rc = vrf_index_entry(v, &k, &d)) != 0)
				break;
		} else if (p[32] == TAG_VOTE && k.mv_size == VOTE_KEY_LEN) {
			v->n_votes++;
		} else {
			rc = vrf_fail(v, "unknown key in the indicators database");
			break;
		}
	}
	mdb_cursor_close(c);
	if (rc == MDB_NOTFOUND)
		rc = v->in_group ? vrf_group(v) : 0;
	return rc > 0 ? store_mdb_err(rc) : rc;
}

/*
 * Every report record decodes, is found by its id (through the hint, under its own sequence:
 * so no id is stored twice) and has its index entry under the indicator it names.
 */
static int vrf_reports(struct vrf *v, uint64_t *n_reports)
{
	struct store *s = v->s;
	struct store_codec_report rec;
	uint8_t key[IDX_KEY_LEN], found[REC_KEY_LEN];
	MDB_cursor *c;
	MDB_val k, d, d2;
	int rc;

	*n_reports = 0;
	rc = mdb_cursor_open(v->txn, s->reports, &c);
	if (rc != 0)
		return store_mdb_err(rc);
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		const uint8_t *rid = (const uint8_t *)k.mv_data + 8;

		if (k.mv_size != REC_KEY_LEN || store_be64_get(k.mv_data) == 0 ||
		    store_codec_report_decode(&rec, d.mv_data, d.mv_size) != 0) {
			rc = vrf_fail(v, "report record corrupt");
			break;
		}
		if (rec_find(v->txn, s, rid, &d2, found) != 0 ||
		    memcmp(found, k.mv_data, REC_KEY_LEN) != 0) {
			rc = vrf_fail(v, "report record not found by its id (stored twice?)");
			break;
		}
		idx_key(key, rec.ind_id, rid);
		if (!has_key(v, s->indicators, key, sizeof(key))) {
			rc = vrf_fail(v, "report missing from its indicator's index");
			break;
		}
		(*n_reports)++;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc > 0 ? store_mdb_err(rc) : rc;
}

static int vrf_outbox(struct vrf *v)
{
	MDB_cursor *c;
	MDB_val k, d;
	struct store_codec_outbox ob;
	MDB_val rd;
	int rc = mdb_cursor_open(v->txn, v->s->outbox, &c);

	if (rc != 0)
		return store_mdb_err(rc);
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if (k.mv_size != PAIR_KEY_LEN ||
		    store_codec_outbox_decode(&ob, d.mv_data, d.mv_size) ||
		    rec_find(v->txn, v->s, k.mv_data, &rd, NULL) != 0) {
			rc = vrf_fail(v, "outbox entry corrupt or for a report not stored");
			break;
		}
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc > 0 ? store_mdb_err(rc) : rc;
}

int store_verify(struct store *s, char *why, size_t why_len)
{
	struct vrf v = {.s = s, .why = why, .why_len = why_len};
	uint64_t n_reports, n_ind;
	int rc;

	if (why && why_len)
		why[0] = 0;
	if ((rc = store_mdb_read_begin(&s->m, &v.txn)) != 0)
		return rc;
	if ((rc = feed_last_txn(v.txn, s, &v.feed_last)) != 0)
		goto out;
	{
		MDB_val k = mval("schema", 6), d;

		if (mdb_get(v.txn, s->meta, &k, &d) != 0 || d.mv_size != 4 ||
		    store_be32_get(d.mv_data) != STORE_SCHEMA_VERSION) {
			rc = vrf_fail(&v, "schema version is not %d", STORE_SCHEMA_VERSION);
			goto out;
		}
		k = mval("migrate", 7);
		if (mdb_get(v.txn, s->meta, &k, &d) == 0) {
			rc = vrf_fail(&v, "a schema migration is unfinished");
			goto out;
		}
	}
	if (db_entries(v.txn, s->feed) != v.feed_last) {
		rc = vrf_fail(&v, "feed has gaps: %llu entries, last sequence %llu",
			      (unsigned long long)db_entries(v.txn, s->feed),
			      (unsigned long long)v.feed_last);
		goto out;
	}
	if ((rc = vrf_indicators(&v)) != 0)
		goto out;
	if ((rc = vrf_reports(&v, &n_reports)) != 0)
		goto out;
	/*
	 * Each report has its own entry under the indicator it names, and every entry names a
	 * report stored under that indicator: equal counts make that a one-to-one match.
	 */
	if (v.n_index != n_reports) {
		rc = vrf_fail(&v, "%llu reports but %llu index entries",
			      (unsigned long long)n_reports, (unsigned long long)v.n_index);
		goto out;
	}
	if ((rc = n_ind_get(v.txn, s, &n_ind)) != 0)
		goto out;
	if (n_ind != v.n_groups) {
		rc = vrf_fail(&v, "indicator count %llu, %llu summaries", (unsigned long long)n_ind,
			      (unsigned long long)v.n_groups);
		goto out;
	}
	if (db_entries(v.txn, s->recon) != v.n_recon_expected) {
		rc = vrf_fail(&v, "recon index has entries for no CLEAR/GREEN report");
		goto out;
	}
	if (db_entries(v.txn, s->expiry) != v.n_expiry_expected) {
		rc = vrf_fail(&v, "stale expiry index entries");
		goto out;
	}
	rc = vrf_outbox(&v);
out:
	store_mdb_read_end(&s->m, v.txn);
	free(v.grp);
	return rc;
}
