/* SPDX-License-Identifier: MIT */
/*
 * The hooks of store/store_test.h: store_verify() (the consistency check, an fsck) and the
 * debug and benchmark helpers, for tests, benchmarks and repair tools. The daemon calls none
 * of them, so the linker leaves this object out of it.
 */
#include "store/store_test.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"
#include "proto/indicator.h"
#include "store/codec.h"
#include "store/mdb.h"
#include "store/store_int.h"

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
	MDB_dbi *dbi = db ? store__db_find(s, db) : NULL;

	if (!dbi || !key || klen == 0)
		return -EINVAL;
	r.dbi = *dbi;
	return store_mdb_write(&s->m, raw_put_body, &r);
}

int store_debug_report_key(struct store *s, const uint8_t rid[32], uint8_t key[40])
{
	MDB_txn *txn;
	MDB_val d;
	int rc;

	if ((rc = store_mdb_read_begin(&s->m, &txn)) != 0)
		return rc;
	rc = store_mdb_err(store__rec_find(txn, s, rid, &d, key));
	store_mdb_read_end(&s->m, txn);
	return rc;
}

uint64_t store_debug_last_txn(struct store *s)
{
	MDB_envinfo info;

	mdb_env_info(s->m.env, &info);
	return info.me_last_txnid;
}

size_t store_debug_hint_bytes(struct store *s)
{
	return store_hint_bytes(&s->hint);
}

static void tree_of(const MDB_stat *st, struct store_debug_tree *t)
{
	t->entries = st->ms_entries;
	t->branch_pages = st->ms_branch_pages;
	t->leaf_pages = st->ms_leaf_pages;
	t->overflow_pages = st->ms_overflow_pages;
	t->depth = st->ms_depth;
}

int store_debug_tree(struct store *s, const char *db, struct store_debug_tree *t)
{
	MDB_dbi *dbi = db ? store__db_find(s, db) : NULL;
	MDB_txn *txn;
	MDB_stat st;
	int rc;

	if (!dbi || !t)
		return -EINVAL;
	if ((rc = store_mdb_read_begin(&s->m, &txn)) != 0)
		return rc;
	rc = store_mdb_err(mdb_stat(txn, *dbi, &st));
	store_mdb_read_end(&s->m, txn);
	if (rc == 0)
		tree_of(&st, t);
	return rc;
}

struct store_raw {
	struct store_mdb m;
	uint8_t *val;
	size_t val_len;
	uint64_t x; /* the key sequence, shared with store_raw_get_open() */
};

int store_raw_open(struct store_raw **out, const char *dir, size_t n_max, size_t val_len)
{
	struct store_raw *r = calloc(1, sizeof(*r));
	size_t map = ((size_t)64 << 20) + n_max * (val_len + 32 + 64) * 3;
	int rc;

	*out = NULL;
	if (!r)
		return -ENOMEM;
	r->val = malloc(val_len ? val_len : 1);
	if (!r->val) {
		free(r);
		return -ENOMEM;
	}
	memset(r->val, 0xa5, val_len);
	r->val_len = val_len;
	r->x = 0x9e3779b97f4a7c15ull;
	rc = store_mdb_open(&r->m, dir, 0, page_round(map), page_round(map), 16, 2, 0600,
			    STORE_E_MAP_FULL);
	if (rc != 0) {
		free(r->val);
		free(r);
		return rc;
	}
	*out = r;
	return 0;
}

int store_raw_put_batch(struct store_raw *r, size_t n)
{
	uint8_t key[32];
	MDB_txn *txn;
	MDB_dbi dbi;
	int rc;

	if ((rc = mdb_txn_begin(r->m.env, NULL, 0, &txn)) != 0)
		return store_mdb_err(rc);
	if ((rc = mdb_dbi_open(txn, NULL, 0, &dbi)) != 0) {
		mdb_txn_abort(txn);
		return store_mdb_err(rc);
	}
	for (size_t i = 0; i < n; i++) {
		MDB_val k = mval(key, 32), d = mval(r->val, r->val_len);

		for (int w = 0; w < 4; w++) {
			r->x ^= r->x << 13;
			r->x ^= r->x >> 7;
			r->x ^= r->x << 17;
			memcpy(key + 8 * w, &r->x, 8);
		}
		if ((rc = mdb_put(txn, dbi, &k, &d, 0)) != 0) {
			mdb_txn_abort(txn);
			return store_mdb_err(rc);
		}
	}
	return store_mdb_err(mdb_txn_commit(txn));
}

void store_raw_close(struct store_raw *r)
{
	if (!r)
		return;
	store_mdb_close(&r->m);
	free(r->val);
	free(r);
}

int store_raw_tree(const char *dir, struct store_debug_tree *t)
{
	struct store_mdb m;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_stat st;
	int rc;

	if (!dir || !t)
		return -EINVAL;
	rc = store_mdb_open(&m, dir, MDB_RDONLY, 0, 0, 16, 2, 0600, STORE_E_MAP_FULL);
	if (rc != 0)
		return rc;
	if ((rc = store_mdb_read_begin(&m, &txn)) == 0) {
		rc = store_mdb_err(mdb_dbi_open(txn, NULL, 0, &dbi));
		if (rc == 0)
			rc = store_mdb_err(mdb_stat(txn, dbi, &st));
		store_mdb_read_end(&m, txn);
	}
	if (rc == 0)
		tree_of(&st, t);
	store_mdb_close(&m);
	return rc;
}

struct store_raw_get {
	struct store_mdb m;
	MDB_dbi dbi;
	MDB_txn *reset; /* the renewed transaction of store_raw_get_run(.., true) */
	uint8_t (*keys)[32];
	size_t n_keys;
	uint64_t r; /* which key next */
};

int store_raw_get_open(struct store_raw_get **out, const char *dir, size_t n_keys)
{
	struct store_raw_get *g;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	MDB_txn *txn;
	int rc;

	*out = NULL;
	if (n_keys == 0)
		return -EINVAL;
	if (!(g = calloc(1, sizeof(*g))) || !(g->keys = malloc(n_keys * 32))) {
		free(g);
		return -ENOMEM;
	}
	g->n_keys = n_keys;
	g->r = 88172645463325252ull;
	/* The keys store_raw_put_batch() wrote: the same xorshift sequence. */
	for (size_t i = 0; i < n_keys; i++)
		for (int w = 0; w < 4; w++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			memcpy(g->keys[i] + 8 * w, &x, 8);
		}
	rc = store_mdb_open(&g->m, dir, MDB_RDONLY, 0, 0, 16, 2, 0600, STORE_E_MAP_FULL);
	if (rc == 0 && (rc = store_mdb_read_begin(&g->m, &txn)) == 0) {
		rc = store_mdb_err(mdb_dbi_open(txn, NULL, 0, &g->dbi));
		store_mdb_read_end(&g->m, txn);
	}
	if (rc == 0)
		rc = store_mdb_err(mdb_txn_begin(g->m.env, NULL, MDB_RDONLY, &g->reset));
	if (rc == 0) {
		mdb_txn_reset(g->reset);
		*out = g;
	} else {
		store_raw_get_close(g);
	}
	return rc;
}

int store_raw_get_run(struct store_raw_get *g, size_t n_gets, bool renew)
{
	MDB_txn *txn;
	MDB_val k, d;
	int rc = 0;

	for (size_t i = 0; i < n_gets && rc == 0; i++) {
		g->r ^= g->r << 13;
		g->r ^= g->r >> 7;
		g->r ^= g->r << 17;
		k = mval(g->keys[g->r % g->n_keys], 32);
		if (renew) {
			if ((rc = store_mdb_err(mdb_txn_renew(g->reset))) != 0)
				break;
			rc = store_mdb_err(mdb_get(g->reset, g->dbi, &k, &d));
			mdb_txn_reset(g->reset);
		} else {
			if ((rc = store_mdb_read_begin(&g->m, &txn)) != 0)
				break;
			rc = store_mdb_err(mdb_get(txn, g->dbi, &k, &d));
			store_mdb_read_end(&g->m, txn);
		}
	}
	return rc;
}

void store_raw_get_close(struct store_raw_get *g)
{
	if (!g)
		return;
	if (g->reset)
		mdb_txn_abort(g->reset);
	store_mdb_close(&g->m);
	free(g->keys);
	free(g);
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
		if (m->kind != PROTO_KIND_SIGHTING && !m->withdrawn) /* withdrawn: no vote */
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
	rc = store__votes_tally(v->txn, s, NULL, ind, &t);
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
	if (store__rec_find(v->txn, s, e.rid, &rdv, NULL) != 0 ||
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
		if (store__rec_find(v->txn, s, rid, &d2, found) != 0 ||
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
		    store__rec_find(v->txn, v->s, k.mv_data, &rd, NULL) != 0) {
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
	if ((rc = store__feed_last(v.txn, s, &v.feed_last)) != 0)
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
	if (store__db_entries(v.txn, s->feed) != v.feed_last) {
		rc = vrf_fail(&v, "feed has gaps: %llu entries, last sequence %llu",
			      (unsigned long long)store__db_entries(v.txn, s->feed),
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
	if ((rc = store__n_ind_get(v.txn, s, &n_ind)) != 0)
		goto out;
	if (n_ind != v.n_groups) {
		rc = vrf_fail(&v, "indicator count %llu, %llu summaries", (unsigned long long)n_ind,
			      (unsigned long long)v.n_groups);
		goto out;
	}
	if (store__db_entries(v.txn, s->recon) != v.n_recon_expected) {
		rc = vrf_fail(&v, "recon index has entries for no CLEAR/GREEN report");
		goto out;
	}
	if ((rc = store__recon_sums_check(v.txn, s)) != 0) {
		if (rc == STORE_E_CORRUPT)
			vrf_fail(&v, "recon_sums do not match the recon index");
		goto out;
	}
	if (store__db_entries(v.txn, s->expiry) != v.n_expiry_expected) {
		rc = vrf_fail(&v, "stale expiry index entries");
		goto out;
	}
	rc = vrf_outbox(&v);
out:
	store_mdb_read_end(&s->m, v.txn);
	free(v.grp);
	return rc;
}
