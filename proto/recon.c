/* SPDX-License-Identifier: MIT */
/*
 * Range-based set reconciliation (proto/recon.h).
 *
 * A session is nearly stateless between rounds: every message covers the whole key space,
 * so answering one needs only the message and the item source. What a session keeps is
 * what the caller has not drained yet (need ids, have ranges), the role and the round
 * count.
 *
 * Answers are built into an output list whose encoded size is tracked as ranges are
 * appended, so the frame bound is enforced before anything is committed: when the answer
 * for the next input range would not fit (with room left for one closing FINGERPRINT),
 * the remainder of the key space becomes that FINGERPRINT and the peer continues from
 * there in the next round. proto_recon_new() refuses a msg_max too small for the largest
 * single answer, so every message makes progress.
 *
 * The item source is only ever read through fingerprint() and paged list() calls, so
 * neither a large split nor a large "have" range is held in memory.
 */
#include "proto/recon.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/link.h"
#include "proto/mp.h"
#include "proto/array.h"

#define KEY_LEN PROTO_RECON_KEY_LEN
#define ID_LEN PROTO_RECON_ID_LEN
#define TS_LEN 8
#define PAGE 256	/* keys per source list() call; >= PROTO_RECON_IDLIST_MAX */
#define FP_RANGE_MAX 72 /* largest encoded FINGERPRINT range: 1+9+34+1+18+9 */
#define TAIL_RESERVE 32 /* closing FINGERPRINT range without bound: 1+1+18+9, rounded up */
#define HEADER_MAX 5	/* array header (3) + version + role */
#define MSG_SLACK 128	/* header, one merged SKIP and the tail on top of one answer */

enum role { ROLE_NONE, ROLE_INITIATOR, ROLE_RESPONDER };
enum state { ST_ACTIVE, ST_DONE, ST_DEAD };

/* A range this side asked the peer to push in, and how many copies it may still bring. */
struct invite {
	uint8_t lo[KEY_LEN];
	uint8_t hi[KEY_LEN];
	bool hi_inf;
	uint64_t left;
};

struct have_range {
	uint8_t lo[KEY_LEN];
	uint8_t hi[KEY_LEN];
	bool hi_inf;
	size_t excl_off; /* into proto_recon.excl */
	size_t n_excl;
};

/* Reply under construction. IDLIST ranges keep an offset into ids until encoding. */
struct out {
	struct proto_recon_range *r;
	size_t *ids_off;
	uint64_t *peer; /* the peer's count of the range it answers, PROTO_RECON_COUNT_UNKNOWN */
	size_t n, cap;
	uint8_t (*ids)[ID_LEN];
	size_t n_ids, cap_ids;
	size_t bytes; /* encoded size so far, counting every bound (conservative) */
};

struct proto_recon {
	struct proto_recon_config cfg;
	struct proto_recon_source src;
	enum role role;
	enum state state;

	struct have_range *have;
	size_t n_have, have_head, cap_have;
	uint8_t (*excl)[ID_LEN];
	size_t n_excl, cap_excl;

	uint8_t (*need)[ID_LEN];
	size_t n_need, need_head, cap_need;

	struct invite *inv; /* sorted by lo once a message is encoded */
	size_t n_inv, cap_inv;
	uint64_t inv_left; /* copies still welcome over all of them (cfg.invite_max) */

	uint8_t (*page)[KEY_LEN];
	struct proto_recon_stats st;
};

_Static_assert(PAGE >= PROTO_RECON_IDLIST_MAX, "an id list is read with one list() call");

static const uint8_t zero_key[KEY_LEN];

/* Helpers for sources ------------------------------------------------------------------ */

void proto_recon_key(uint8_t key[PROTO_RECON_KEY_LEN], uint64_t created_ms, const uint8_t id[32])
{
	for (int i = 0; i < TS_LEN; i++)
		key[i] = (uint8_t)(created_ms >> (56 - 8 * i));
	memcpy(key + TS_LEN, id, ID_LEN);
}

void proto_recon_sum_add(uint8_t sum[32], const uint8_t id[32])
{
	unsigned carry = 0;

	for (int i = 0; i < 32; i++) {
		unsigned v = (unsigned)sum[i] + id[i] + carry;

		sum[i] = (uint8_t)v;
		carry = v >> 8;
	}
}

void proto_recon_sum_sub(uint8_t sum[32], const uint8_t id[32])
{
	int borrow = 0;

	for (int i = 0; i < 32; i++) {
		int v = (int)sum[i] - id[i] - borrow;

		borrow = v < 0;
		sum[i] = (uint8_t)(v + (borrow ? 256 : 0));
	}
}

void proto_recon_fingerprint(uint8_t fp[PROTO_RECON_FP_LEN], const uint8_t sum[32], uint64_t count)
{
	uint8_t le[8];
	const void *parts[2] = {sum, le};
	size_t lens[2] = {32, 8};

	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(count >> (8 * i));
	proto_hash(fp, PROTO_RECON_FP_LEN, parts, lens, 2);
}

/* Keys and bounds ---------------------------------------------------------------------- */

static uint64_t key_ts(const uint8_t *key)
{
	uint64_t v = 0;

	for (int i = 0; i < TS_LEN; i++)
		v = v << 8 | key[i];
	return v;
}

/* Bytes of the id part of a bound that must be sent: the rest are zero. */
static size_t prefix_len(const uint8_t *key)
{
	size_t n = ID_LEN;

	while (n > 0 && key[TS_LEN + n - 1] == 0)
		n--;
	return n;
}

/* The smallest key above @key, in place; false when @key is the largest possible key. */
static bool key_successor(uint8_t *key)
{
	for (int i = KEY_LEN - 1; i >= 0; i--)
		if (++key[i] != 0)
			return true;
	return false;
}

/*
 * The shortest bound b with @a < b <= @b: b's timestamp alone when the timestamps differ,
 * else b's timestamp and as many id bytes as tell the two ids apart.
 */
static void minimal_bound(uint8_t *out, const uint8_t *a, const uint8_t *b)
{
	size_t p = 0;

	memset(out, 0, KEY_LEN);
	memcpy(out, b, TS_LEN);
	if (memcmp(a, b, TS_LEN) != 0)
		return;
	while (p < ID_LEN && a[TS_LEN + p] == b[TS_LEN + p])
		p++;
	memcpy(out + TS_LEN, b + TS_LEN, p < ID_LEN ? p + 1 : ID_LEN);
}

/* Encoded sizes (canonical msgpack) ------------------------------------------------------ */

static size_t uint_size(uint64_t v)
{
	return v < 0x80 ? 1 : v < 0x100 ? 2 : v < 0x10000 ? 3 : v < 0x100000000ull ? 5 : 9;
}

static size_t bin_size(size_t n)
{
	return n < 0x100 ? 2 + n : n < 0x10000 ? 3 + n : 5 + n;
}

static size_t arr_size(size_t n)
{
	return n < 16 ? 1 : n < 0x10000 ? 3 : 5;
}

static size_t mode_args(enum proto_recon_mode mode)
{
	return mode == PROTO_RECON_FINGERPRINT ? 2 : mode == PROTO_RECON_IDLIST ? 1 : 0;
}

/* Size of range @rg encoded after a bound with timestamp @prev_ts, bound included. */
static size_t range_size(uint64_t prev_ts, const struct proto_recon_range *rg)
{
	size_t s = arr_size(3 + mode_args(rg->mode)) + 1;

	if (!rg->upper_inf)
		s += uint_size(key_ts(rg->upper) - prev_ts) + bin_size(prefix_len(rg->upper));
	if (rg->mode == PROTO_RECON_FINGERPRINT)
		s += bin_size(PROTO_RECON_FP_LEN) + uint_size(rg->count);
	else if (rg->mode == PROTO_RECON_IDLIST)
		s += bin_size(rg->n_ids * ID_LEN);
	return s;
}

/* Codec ------------------------------------------------------------------------------- */

void proto_recon_msg_deinit(struct proto_recon_msg *m)
{
	if (!m)
		return;
	free(m->ranges);
	m->ranges = NULL;
	m->n = 0;
}

static int check_ids(const uint8_t *ids, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (memcmp(ids + (i - 1) * ID_LEN, ids + i * ID_LEN, ID_LEN) >= 0)
			return PROTO_E_RECON_IDS;
	return 0;
}

/* Rules shared by the encoder and the decoder, checked on range @i of @m. */
static int check_range(const struct proto_recon_msg *m, size_t i)
{
	const struct proto_recon_range *rg = &m->ranges[i];
	const uint8_t *prev = i ? m->ranges[i - 1].upper : zero_key;
	bool last = i + 1 == m->n;

	if (rg->mode > PROTO_RECON_IDLIST)
		return PROTO_E_RECON_MODE;
	if (rg->upper_inf != last)
		return PROTO_E_RECON_BOUND;
	if (!last && memcmp(rg->upper, prev, KEY_LEN) <= 0)
		return PROTO_E_RECON_BOUND;
	if (rg->mode == PROTO_RECON_SKIP &&
	    (m->n == 1 || (i > 0 && m->ranges[i - 1].mode == PROTO_RECON_SKIP)))
		return PROTO_E_RECON_SKIP;
	if (rg->mode == PROTO_RECON_IDLIST) {
		if (rg->n_ids && !rg->ids)
			return -EINVAL;
		return check_ids(rg->ids, rg->n_ids);
	}
	return 0;
}

int proto_recon_msg_encode(const struct proto_recon_msg *m, uint8_t **out, size_t *out_len)
{
	struct proto_mp_writer w;
	uint64_t prev_ts = 0;
	size_t total = HEADER_MAX;
	int err;

	if (!m || !out || !out_len || m->role > 1 || (m->n && !m->ranges))
		return -EINVAL;
	for (size_t i = 0; i < m->n; i++) {
		if ((err = check_range(m, i)) < 0)
			return err;
		total += range_size(prev_ts, &m->ranges[i]);
		if (!m->ranges[i].upper_inf)
			prev_ts = key_ts(m->ranges[i].upper);
	}
	if (total > PROTO_LINK_BIN_MAX + HEADER_MAX)
		return PROTO_E_TOO_LARGE;
	prev_ts = 0;
	proto_mp_writer_init(&w);
	proto_mp_write_array(&w, 2 + m->n);
	proto_mp_write_uint(&w, PROTO_RECON_VERSION);
	proto_mp_write_uint(&w, m->role);
	for (size_t i = 0; i < m->n; i++) {
		const struct proto_recon_range *rg = &m->ranges[i];
		size_t n_el = 1 + mode_args(rg->mode) + (rg->upper_inf ? 0 : 2);

		proto_mp_write_array(&w, n_el);
		if (!rg->upper_inf) {
			uint64_t ts = key_ts(rg->upper);

			proto_mp_write_uint(&w, ts - prev_ts);
			proto_mp_write_bin(&w, rg->upper + TS_LEN, prefix_len(rg->upper));
			prev_ts = ts;
		}
		proto_mp_write_uint(&w, rg->mode);
		if (rg->mode == PROTO_RECON_FINGERPRINT) {
			proto_mp_write_bin(&w, rg->fp, PROTO_RECON_FP_LEN);
			proto_mp_write_uint(&w, rg->count);
		} else if (rg->mode == PROTO_RECON_IDLIST) {
			proto_mp_write_bin(&w, rg->ids, rg->n_ids * ID_LEN);
		}
	}
	if ((err = proto_mp_writer_finish(&w, out, out_len)) < 0)
		return err;
	if (*out_len > PROTO_LINK_BIN_MAX) {
		free(*out);
		*out = NULL;
		return PROTO_E_TOO_LARGE;
	}
	return 0;
}

/* Version and role: the fixed head of every message. @n_ranges may be NULL. */
static int decode_head(struct proto_mp_reader *rd, unsigned *role, size_t *n_ranges)
{
	size_t n;
	uint64_t v;
	int err;

	if ((err = proto_mp_read_array(rd, PROTO_LINK_BIN_MAX, &n)) < 0)
		return err;
	if (n < 2)
		return PROTO_E_TRUNCATED;
	if ((err = proto_mp_read_uint(rd, &v)) < 0)
		return err;
	if (v != PROTO_RECON_VERSION)
		return PROTO_E_VERSION;
	if ((err = proto_mp_read_uint_max(rd, 1, &v)) < 0)
		return err;
	*role = (unsigned)v;
	if (n_ranges)
		*n_ranges = n - 2;
	return 0;
}

static int decode_range(struct proto_mp_reader *rd, bool last, uint64_t *prev_ts,
			struct proto_recon_range *rg)
{
	size_t n_el, plen, len;
	const uint8_t *prefix, *p;
	uint64_t delta, mode;
	int err;

	memset(rg, 0, sizeof(*rg));
	if ((err = proto_mp_read_array(rd, 6, &n_el)) < 0)
		return err;
	if (n_el < (last ? 1u : 3u))
		return PROTO_E_RECON_MODE;
	rg->upper_inf = last;
	if (!last) {
		if ((err = proto_mp_read_uint(rd, &delta)) < 0)
			return err;
		if (delta > UINT64_MAX - *prev_ts)
			return PROTO_E_RECON_BOUND;
		if ((err = proto_mp_read_bin(rd, ID_LEN, &prefix, &plen)) < 0)
			return err;
		if (plen && prefix[plen - 1] == 0)
			return PROTO_E_RECON_BOUND;
		*prev_ts += delta;
		for (int i = 0; i < TS_LEN; i++)
			rg->upper[i] = (uint8_t)(*prev_ts >> (56 - 8 * i));
		memcpy(rg->upper + TS_LEN, prefix, plen);
	}
	if ((err = proto_mp_read_uint(rd, &mode)) < 0)
		return err;
	if (mode > PROTO_RECON_IDLIST)
		return PROTO_E_RECON_MODE;
	rg->mode = (enum proto_recon_mode)mode;
	if (n_el != 1 + mode_args(rg->mode) + (last ? 0 : 2))
		return PROTO_E_RECON_MODE;
	if (rg->mode == PROTO_RECON_FINGERPRINT) {
		if ((err = proto_mp_read_bin_fixed(rd, rg->fp, PROTO_RECON_FP_LEN)) < 0)
			return err;
		if ((err = proto_mp_read_uint(rd, &rg->count)) < 0)
			return err;
	} else if (rg->mode == PROTO_RECON_IDLIST) {
		if ((err = proto_mp_read_bin(rd, PROTO_LINK_BIN_MAX, &p, &len)) < 0)
			return err;
		if (len % ID_LEN)
			return PROTO_E_RECON_IDS;
		rg->ids = p;
		rg->n_ids = len / ID_LEN;
	}
	return 0;
}

int proto_recon_msg_decode(struct proto_recon_msg *m, const uint8_t *buf, size_t len)
{
	struct proto_mp_reader rd;
	uint64_t prev_ts = 0;
	size_t n;
	int err;

	if (!m)
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	if (!buf && len)
		return -EINVAL;
	if (len > PROTO_LINK_BIN_MAX)
		return PROTO_E_TOO_LARGE;
	proto_mp_reader_init(&rd, buf, len);
	if ((err = decode_head(&rd, &m->role, &n)) < 0)
		return err;
	/* Every range takes at least two bytes, so a count beyond that is a lie. */
	if (n > (size_t)(rd.end - rd.p) / 2)
		return PROTO_E_TRUNCATED;
	if (n) {
		m->ranges = calloc(n, sizeof(*m->ranges));
		if (!m->ranges)
			return -ENOMEM;
	}
	m->n = n;
	for (size_t i = 0; i < n; i++) {
		if ((err = decode_range(&rd, i + 1 == n, &prev_ts, &m->ranges[i])) < 0)
			goto fail;
		if ((err = check_range(m, i)) < 0)
			goto fail;
	}
	if ((err = proto_mp_reader_finish(&rd)) < 0)
		goto fail;
	return 0;
fail:
	proto_recon_msg_deinit(m);
	return err;
}

int proto_recon_msg_role(const uint8_t *msg, size_t len)
{
	struct proto_mp_reader rd;
	unsigned role;
	int err;

	if (!msg)
		return -EINVAL;
	proto_mp_reader_init(&rd, msg, len);
	if ((err = decode_head(&rd, &role, NULL)) < 0)
		return err;
	return (int)role;
}

/* Session ------------------------------------------------------------------------------ */

struct proto_recon *proto_recon_new(const struct proto_recon_config *cfg,
				    const struct proto_recon_source *src)
{
	struct proto_recon *r;
	struct proto_recon_config c = {0};
	size_t answer_max;

	if (!src || !src->fingerprint || !src->list)
		return NULL;
	if (cfg)
		c = *cfg;
	if (!c.buckets)
		c.buckets = 16;
	if (!c.idlist_max)
		c.idlist_max = c.buckets;
	if (!c.msg_max)
		c.msg_max = PROTO_LINK_BIN_MAX;
	if (!c.rounds_max)
		c.rounds_max = 64;
	if (!c.pending_max)
		c.pending_max = 65536;
	if (!c.invite_max)
		c.invite_max = PROTO_RECON_INVITE_MAX_DEFAULT;
	if (c.buckets < 2 || c.buckets > PROTO_RECON_BUCKETS_MAX || c.idlist_max < c.buckets ||
	    c.idlist_max > PROTO_RECON_IDLIST_MAX || c.msg_max < PROTO_RECON_MSG_MIN ||
	    c.msg_max > PROTO_LINK_BIN_MAX || c.rounds_max < 2 || c.pending_max < 16)
		return NULL;
	answer_max = (size_t)c.buckets * FP_RANGE_MAX;
	if (answer_max < bin_size((size_t)c.idlist_max * ID_LEN) + 64)
		answer_max = bin_size((size_t)c.idlist_max * ID_LEN) + 64;
	if (c.msg_max < answer_max + MSG_SLACK)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->cfg = c;
	r->src = *src;
	r->inv_left = c.invite_max;
	r->page = malloc(PAGE * sizeof(*r->page));
	if (!r->page) {
		free(r);
		return NULL;
	}
	return r;
}

void proto_recon_free(struct proto_recon *r)
{
	if (!r)
		return;
	free(r->have);
	free(r->excl);
	free(r->need);
	free(r->inv);
	free(r->page);
	free(r);
}

bool proto_recon_done(const struct proto_recon *r)
{
	return r && r->state == ST_DONE;
}

void proto_recon_get_stats(const struct proto_recon *r, struct proto_recon_stats *st)
{
	*st = r->st;
}

static int src_list(struct proto_recon *r, const uint8_t *lo, const uint8_t *hi, size_t cap,
		    size_t *n)
{
	int err;

	*n = 0;
	if ((err = r->src.list(r->src.ctx, lo, hi, r->page, cap, n)) < 0)
		return err;
	if (*n > cap)
		return -EINVAL;
	return 0;
}

/* Output list ------------------------------------------------------------------------- */

static void out_free(struct out *o)
{
	free(o->r);
	free(o->ids_off);
	free(o->peer);
	free(o->ids);
}

static uint64_t out_prev_ts(const struct out *o)
{
	return o->n ? key_ts(o->r[o->n - 1].upper) : 0;
}

/* Encoded size of @o once @rg is appended, with the merge of adjacent SKIPs accounted for. */
static size_t out_bytes_with(const struct out *o, const struct proto_recon_range *rg)
{
	if (rg->mode == PROTO_RECON_SKIP && o->n && o->r[o->n - 1].mode == PROTO_RECON_SKIP) {
		uint64_t before = o->n > 1 ? key_ts(o->r[o->n - 2].upper) : 0;

		return o->bytes - range_size(before, &o->r[o->n - 1]) + range_size(before, rg);
	}
	return o->bytes + range_size(out_prev_ts(o), rg);
}

/* Append @rg (its IDLIST ids copied from @ids), merging a SKIP into a preceding SKIP. */
static int out_add(struct out *o, const struct proto_recon_range *rg, const uint8_t *ids)
{
	size_t bytes = out_bytes_with(o, rg), old_cap = o->cap;
	int err;

	if (rg->mode == PROTO_RECON_SKIP && o->n && o->r[o->n - 1].mode == PROTO_RECON_SKIP) {
		memcpy(o->r[o->n - 1].upper, rg->upper, KEY_LEN);
		o->r[o->n - 1].upper_inf = rg->upper_inf;
		o->bytes = bytes;
		return 0;
	}
	if ((err = proto_array_grow((void **)&o->r, &o->cap, o->n + 1, sizeof(*o->r))) < 0)
		return err;
	if (o->cap != old_cap || !o->ids_off) {
		size_t *q = realloc(o->ids_off, o->cap * sizeof(*q));
		uint64_t *pc;

		if (!q)
			return -ENOMEM;
		o->ids_off = q;
		if (!(pc = realloc(o->peer, o->cap * sizeof(*pc))))
			return -ENOMEM;
		o->peer = pc;
	}
	if (rg->mode == PROTO_RECON_IDLIST && rg->n_ids) {
		if ((err = proto_array_grow((void **)&o->ids, &o->cap_ids, o->n_ids + rg->n_ids,
					    ID_LEN)) < 0)
			return err;
		memcpy(o->ids[o->n_ids], ids, rg->n_ids * ID_LEN);
	}
	o->r[o->n] = *rg;
	o->r[o->n].ids = NULL;
	o->ids_off[o->n] = o->n_ids;
	o->peer[o->n] = PROTO_RECON_COUNT_UNKNOWN;
	if (rg->mode == PROTO_RECON_IDLIST)
		o->n_ids += rg->n_ids;
	o->n++;
	o->bytes = bytes;
	return 0;
}

static bool out_all_skip(const struct out *o)
{
	for (size_t i = 0; i < o->n; i++)
		if (o->r[i].mode != PROTO_RECON_SKIP)
			return false;
	return true;
}

static int cmp_invite(const void *a, const void *b)
{
	return memcmp(((const struct invite *)a)->lo, ((const struct invite *)b)->lo, KEY_LEN);
}

/*
 * Remember the ranges of message @o in which the peer will push what it holds: those sent
 * as IDLIST (it pushes its items there that the list lacks) or as a FINGERPRINT of count 0
 * (it pushes all it holds there). Past pending_max ranges the rest are not remembered, so
 * their copies are simply not taken as asked for.
 */
static int note_invites(struct proto_recon *r, const struct out *o)
{
	int err;

	for (size_t i = 0; i < o->n; i++) {
		const struct proto_recon_range *rg = &o->r[i];
		struct invite *v;

		if (rg->mode != PROTO_RECON_IDLIST &&
		    !(rg->mode == PROTO_RECON_FINGERPRINT && rg->count == 0))
			continue;
		if (r->n_inv >= r->cfg.pending_max) {
			r->st.dropped++;
			break;
		}
		if ((err = proto_array_grow((void **)&r->inv, &r->cap_inv, r->n_inv + 1,
					    sizeof(*r->inv))) < 0)
			return err;
		v = &r->inv[r->n_inv++];
		memcpy(v->lo, i ? o->r[i - 1].upper : zero_key, KEY_LEN);
		v->hi_inf = rg->upper_inf;
		memcpy(v->hi, rg->upper, KEY_LEN);
		v->left = o->peer[i] < r->cfg.invite_max ? o->peer[i] : r->cfg.invite_max;
	}
	if (r->n_inv > 1)
		qsort(r->inv, r->n_inv, sizeof(*r->inv), cmp_invite);
	return 0;
}

bool proto_recon_invited(struct proto_recon *r, const uint8_t key[PROTO_RECON_KEY_LEN])
{
	struct invite *v;
	size_t a = 0, b;

	if (!r || !r->inv_left)
		return false;
	/* The last invite whose lower bound is <= @key (ranges of one message are disjoint). */
	for (b = r->n_inv; a < b;) {
		size_t m = a + (b - a) / 2;

		if (memcmp(r->inv[m].lo, key, KEY_LEN) <= 0)
			a = m + 1;
		else
			b = m;
	}
	if (!a)
		return false;
	v = &r->inv[a - 1];
	if (!v->left || (!v->hi_inf && memcmp(key, v->hi, KEY_LEN) >= 0))
		return false;
	v->left--;
	r->inv_left--;
	r->st.invited_ids++;
	return true;
}

/* Encode @o (or the done message when it is all SKIP) as this session's message. */
static int out_encode(struct proto_recon *r, struct out *o, uint8_t **out, size_t *out_len)
{
	struct proto_recon_msg m = {.role = r->role == ROLE_INITIATOR ? 0 : 1};
	int err;

	if (!out_all_skip(o)) {
		m.n = o->n;
		m.ranges = o->r;
		for (size_t i = 0; i < o->n; i++)
			if (o->r[i].mode == PROTO_RECON_IDLIST)
				o->r[i].ids = o->n_ids ? o->ids[o->ids_off[i]] : NULL;
	}
	if ((err = proto_recon_msg_encode(&m, out, out_len)) < 0)
		return err;
	if (*out_len > r->cfg.msg_max) {
		free(*out);
		*out = NULL;
		return PROTO_E_TOO_LARGE;
	}
	r->st.sent++;
	r->st.bytes_sent += *out_len;
	if (m.n && (err = note_invites(r, o)) < 0) {
		free(*out);
		*out = NULL;
		return err;
	}
	return 0;
}

/* Answers ------------------------------------------------------------------------------ */

static int cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, ID_LEN);
}

static bool id_in(const uint8_t *ids, size_t n, const uint8_t *id)
{
	return n && bsearch(id, ids, n, ID_LEN, cmp_id) != NULL;
}

/*
 * answer_items() by rank (source.at): bucket b ends before the item of rank
 * count * (b + 1) / buckets, at the same minimal bound the listing below places there, and
 * its fingerprint is the source's for [its lower bound, that bound), so the ranges are the
 * ones the listing gives. Needs count >= buckets (every bucket then holds an item, as the
 * listing's buckets do). Returns 1 when done, 0 when the source cannot (list instead), or an
 * error.
 */
static int answer_by_rank(struct proto_recon *r, const uint8_t *lo, const uint8_t *hi,
			  uint64_t count, struct out *a)
{
	struct proto_recon_range rg = {.mode = PROTO_RECON_FINGERPRINT};
	uint8_t lower[KEY_LEN], pair[2][KEY_LEN], sum[32];
	unsigned buckets = r->cfg.buckets;
	size_t mark = a->n, mark_bytes = a->bytes;
	uint64_t n;
	int err;

	memcpy(lower, lo, KEY_LEN);
	for (unsigned b = 0; b < buckets; b++) {
		bool last = b + 1 == buckets;

		if (!last) {
			uint64_t rank = (uint64_t)((unsigned __int128)count * (b + 1) / buckets);

			if ((err = r->src.at(r->src.ctx, lo, hi, rank, pair)) <= 0) {
				a->n = mark; /* nothing of a partial split stays */
				a->bytes = mark_bytes;
				return err;
			}
			minimal_bound(rg.upper, pair[0], pair[1]);
			rg.upper_inf = false;
		} else {
			rg.upper_inf = !hi;
			if (hi)
				memcpy(rg.upper, hi, KEY_LEN);
		}
		if ((err = r->src.fingerprint(r->src.ctx, lower, rg.upper_inf ? NULL : rg.upper,
					      sum, &n)) < 0)
			return err;
		proto_recon_fingerprint(rg.fp, sum, n);
		rg.count = n;
		if ((err = out_add(a, &rg, NULL)) < 0)
			return err;
		memcpy(lower, rg.upper, KEY_LEN);
	}
	return 1;
}

/*
 * A range whose fingerprints differ, answered from this side's @count items in
 * [@lo, @hi): its id list when small, else its items split into `buckets` ranges of equal
 * count, each with its fingerprint. The answers go to the scratch list @a.
 */
static int answer_items(struct proto_recon *r, const uint8_t *lo, const uint8_t *hi, uint64_t count,
			struct out *a)
{
	struct proto_recon_range rg = {0};
	uint8_t cursor[KEY_LEN], prev[KEY_LEN], sum[32] = {0};
	uint64_t idx = 0, in_bucket = 0;
	unsigned bucket = 0, buckets = r->cfg.buckets;
	size_t n;
	int err;

	if (count <= r->cfg.idlist_max) {
		uint8_t ids[PROTO_RECON_IDLIST_MAX][ID_LEN];

		if ((err = src_list(r, lo, hi, r->cfg.idlist_max, &n)) < 0)
			return err;
		for (size_t i = 0; i < n; i++)
			memcpy(ids[i], r->page[i] + TS_LEN, ID_LEN);
		qsort(ids, n, ID_LEN, cmp_id);
		rg.mode = PROTO_RECON_IDLIST;
		rg.n_ids = n;
		rg.upper_inf = !hi;
		if (hi)
			memcpy(rg.upper, hi, KEY_LEN);
		return out_add(a, &rg, ids[0]);
	}
	if (r->src.at && count >= buckets && (err = answer_by_rank(r, lo, hi, count, a)) != 0)
		return err < 0 ? err : 0;
	memcpy(cursor, lo, KEY_LEN);
	rg.mode = PROTO_RECON_FINGERPRINT;
	for (;;) {
		bool more;

		if ((err = src_list(r, cursor, hi, PAGE, &n)) < 0)
			return err;
		for (size_t i = 0; i < n; i++) {
			const uint8_t *k = r->page[i];

			/* Bucket b holds items [b*count/B, (b+1)*count/B). */
			if (bucket + 1 < buckets && in_bucket &&
			    idx >= (uint64_t)((unsigned __int128)count * (bucket + 1) / buckets)) {
				minimal_bound(rg.upper, prev, k);
				rg.upper_inf = false;
				proto_recon_fingerprint(rg.fp, sum, in_bucket);
				rg.count = in_bucket;
				if ((err = out_add(a, &rg, NULL)) < 0)
					return err;
				memset(sum, 0, sizeof(sum));
				in_bucket = 0;
				bucket++;
			}
			proto_recon_sum_add(sum, k + TS_LEN);
			in_bucket++;
			idx++;
			memcpy(prev, k, KEY_LEN);
		}
		more = n == PAGE;
		if (more) {
			memcpy(cursor, r->page[n - 1], KEY_LEN);
			more = key_successor(cursor);
		}
		if (!more)
			break;
	}
	/* The last bucket runs to the range's end (it absorbs items that arrived meanwhile). */
	rg.upper_inf = !hi;
	if (hi)
		memcpy(rg.upper, hi, KEY_LEN);
	proto_recon_fingerprint(rg.fp, sum, in_bucket);
	rg.count = in_bucket;
	return out_add(a, &rg, NULL);
}

static int add_have(struct proto_recon *r, const uint8_t *lo, const uint8_t *hi,
		    const uint8_t *excl, size_t n_excl)
{
	struct have_range *h;
	int err;

	if (r->n_have - r->have_head >= r->cfg.pending_max) {
		r->st.dropped++;
		return 0;
	}
	if ((err = proto_array_grow((void **)&r->have, &r->cap_have, r->n_have + 1,
				    sizeof(*r->have))) < 0)
		return err;
	if (n_excl && (err = proto_array_grow((void **)&r->excl, &r->cap_excl, r->n_excl + n_excl,
					      ID_LEN)) < 0)
		return err;
	h = &r->have[r->n_have++];
	memcpy(h->lo, lo, KEY_LEN);
	h->hi_inf = !hi;
	if (hi)
		memcpy(h->hi, hi, KEY_LEN);
	h->excl_off = r->n_excl;
	h->n_excl = n_excl;
	if (n_excl)
		memcpy(r->excl[r->n_excl], excl, n_excl * ID_LEN);
	r->n_excl += n_excl;
	return 0;
}

static int add_need(struct proto_recon *r, const uint8_t *id)
{
	int err;

	if (r->n_need - r->need_head >= r->cfg.pending_max) {
		r->st.dropped++;
		return 0;
	}
	if ((err = proto_array_grow((void **)&r->need, &r->cap_need, r->n_need + 1, ID_LEN)) < 0)
		return err;
	memcpy(r->need[r->n_need++], id, ID_LEN);
	r->st.need_ids++;
	return 0;
}

/*
 * The peer's complete id list @ids (@n, ascending) for [@lo, @hi): ids it lists that this
 * side lacks are needed; this side's ids it does not list become a have range (read again
 * lazily by proto_recon_have(), skipping the listed ids).
 */
static int take_idlist(struct proto_recon *r, const uint8_t *lo, const uint8_t *hi,
		       const uint8_t *ids, size_t n)
{
	uint8_t cursor[KEY_LEN];
	bool *found = NULL;
	uint64_t own = 0, matched = 0;
	size_t got;
	int err = 0;

	if (n && !(found = calloc(n, sizeof(*found))))
		return -ENOMEM;
	memcpy(cursor, lo, KEY_LEN);
	for (;;) {
		bool more;

		if ((err = src_list(r, cursor, hi, PAGE, &got)) < 0)
			goto out;
		for (size_t i = 0; i < got; i++) {
			const uint8_t *hit =
				n ? bsearch(r->page[i] + TS_LEN, ids, n, ID_LEN, cmp_id) : NULL;

			own++;
			if (hit && !found[(size_t)(hit - ids) / ID_LEN]) {
				found[(size_t)(hit - ids) / ID_LEN] = true;
				matched++;
			}
		}
		more = got == PAGE;
		if (more) {
			memcpy(cursor, r->page[got - 1], KEY_LEN);
			more = key_successor(cursor);
		}
		if (!more)
			break;
	}
	for (size_t i = 0; i < n; i++)
		if (!found[i] && (err = add_need(r, ids + i * ID_LEN)) < 0)
			goto out;
	if (own > matched)
		err = add_have(r, lo, hi, ids, n);
out:
	free(found);
	return err;
}

/*
 * Append the closing FINGERPRINT of everything from @lo on: the ranges this message had no
 * room to answer are reconciled from there in the next round.
 */
static int add_tail(struct proto_recon *r, const uint8_t *lo, struct out *o)
{
	struct proto_recon_range rg = {.mode = PROTO_RECON_FINGERPRINT, .upper_inf = true};
	uint8_t sum[32];
	uint64_t count;
	int err;

	if ((err = r->src.fingerprint(r->src.ctx, lo, NULL, sum, &count)) < 0)
		return err;
	proto_recon_fingerprint(rg.fp, sum, count);
	rg.count = count;
	return out_add(o, &rg, NULL);
}

/* Whether a message of @bytes fits, keeping room for the closing range unless @last. */
static bool fits(const struct proto_recon *r, size_t bytes, bool last)
{
	return HEADER_MAX + bytes + (last ? 0 : TAIL_RESERVE) <= r->cfg.msg_max;
}

/* Copy the answers in scratch list @a onto @o (fixing their IDLIST id pointers). */
static int out_append(struct out *o, struct out *a)
{
	int err;

	for (size_t i = 0; i < a->n; i++) {
		const uint8_t *ids = a->r[i].mode == PROTO_RECON_IDLIST && a->r[i].n_ids
					     ? a->ids[a->ids_off[i]]
					     : NULL;

		if ((err = out_add(o, &a->r[i], ids)) < 0)
			return err;
		o->peer[o->n - 1] = a->peer[i];
	}
	return 0;
}

/* Size of @o once the answers in @a (never SKIP, so nothing merges) are appended. */
static size_t out_bytes_with_all(const struct out *o, const struct out *a)
{
	size_t s = o->bytes;
	uint64_t prev = out_prev_ts(o);

	for (size_t i = 0; i < a->n; i++) {
		s += range_size(prev, &a->r[i]);
		if (!a->r[i].upper_inf)
			prev = key_ts(a->r[i].upper);
	}
	return s;
}

/* Answer every range of the peer's message @m into @o. */
static int answer(struct proto_recon *r, const struct proto_recon_msg *m, struct out *o)
{
	struct out a = {0};
	int err = 0;

	for (size_t i = 0; i < m->n; i++) {
		const struct proto_recon_range *in = &m->ranges[i];
		const uint8_t *lo = i ? m->ranges[i - 1].upper : zero_key;
		const uint8_t *hi = in->upper_inf ? NULL : in->upper;
		struct proto_recon_range skip = {.mode = PROTO_RECON_SKIP};
		bool last = i + 1 == m->n;
		uint8_t sum[32], fp[PROTO_RECON_FP_LEN];
		uint64_t count;

		skip.upper_inf = in->upper_inf;
		memcpy(skip.upper, in->upper, KEY_LEN);
		a.n = a.n_ids = 0;
		switch (in->mode) {
		case PROTO_RECON_SKIP:
			if (!fits(r, out_bytes_with(o, &skip), last))
				goto tail;
			err = out_add(o, &skip, NULL);
			break;
		case PROTO_RECON_IDLIST:
			if (!fits(r, out_bytes_with(o, &skip), last))
				goto tail;
			if ((err = take_idlist(r, lo, hi, in->ids, in->n_ids)) == 0)
				err = out_add(o, &skip, NULL);
			break;
		case PROTO_RECON_FINGERPRINT:
			if ((err = r->src.fingerprint(r->src.ctx, lo, hi, sum, &count)) < 0)
				break;
			proto_recon_fingerprint(fp, sum, count);
			if (count == in->count && proto_ct_equal(fp, in->fp, sizeof(fp))) {
				err = out_add(o, &skip, NULL);
			} else if (in->count == 0) {
				if (!fits(r, out_bytes_with(o, &skip), last))
					goto tail;
				if ((err = add_have(r, lo, hi, NULL, 0)) == 0)
					err = out_add(o, &skip, NULL);
			} else {
				if ((err = answer_items(r, lo, hi, count, &a)) < 0)
					break;
				/* Our id list: the peer pushes at most the count it gave. */
				if (a.n == 1 && a.r[0].mode == PROTO_RECON_IDLIST)
					a.peer[0] = in->count;
				if (!fits(r, out_bytes_with_all(o, &a), last))
					goto tail;
				err = out_append(o, &a);
			}
			break;
		}
		if (err < 0)
			break;
		continue;
tail:
		err = add_tail(r, lo, o);
		break;
	}
	out_free(&a);
	return err;
}

static int die(struct proto_recon *r, int err)
{
	r->state = ST_DEAD;
	return err;
}

int proto_recon_initiate(struct proto_recon *r, uint8_t **out, size_t *out_len)
{
	struct out o = {0};
	uint8_t sum[32];
	uint64_t count;
	int err;

	if (!r || !out || !out_len)
		return -EINVAL;
	*out = NULL;
	if (r->state != ST_ACTIVE || r->role != ROLE_NONE)
		return PROTO_E_RECON_STATE;
	r->role = ROLE_INITIATOR;
	if ((err = r->src.fingerprint(r->src.ctx, NULL, NULL, sum, &count)) < 0)
		return die(r, err);
	if ((err = answer_items(r, zero_key, NULL, count, &o)) == 0)
		err = out_encode(r, &o, out, out_len);
	out_free(&o);
	return err < 0 ? die(r, err) : 0;
}

int proto_recon_receive(struct proto_recon *r, const uint8_t *msg, size_t len, uint8_t **out,
			size_t *out_len)
{
	struct proto_recon_msg m;
	struct out o = {0};
	int err;

	if (!r || !out || !out_len)
		return -EINVAL;
	*out = NULL;
	if (r->state != ST_ACTIVE)
		return PROTO_E_RECON_STATE;
	if ((err = proto_recon_msg_decode(&m, msg, len)) < 0)
		return die(r, err);
	if ((r->role == ROLE_INITIATOR) != (m.role == 1)) {
		proto_recon_msg_deinit(&m);
		return die(r, PROTO_E_RECON_STATE);
	}
	if (r->role == ROLE_NONE)
		r->role = ROLE_RESPONDER;
	r->st.bytes_received += len;
	if (++r->st.rounds > r->cfg.rounds_max) {
		proto_recon_msg_deinit(&m);
		return die(r, PROTO_E_RECON_ROUNDS);
	}
	if (m.n == 0) {
		r->state = ST_DONE;
		return PROTO_RECON_DONE;
	}
	err = answer(r, &m, &o);
	proto_recon_msg_deinit(&m);
	if (err == 0)
		err = out_encode(r, &o, out, out_len);
	if (err == 0 && out_all_skip(&o)) {
		r->state = ST_DONE;
		err = PROTO_RECON_DONE;
	}
	out_free(&o);
	return err < 0 ? die(r, err) : err;
}

int proto_recon_have(struct proto_recon *r, uint8_t (*ids)[32], size_t cap, size_t *n)
{
	int err;

	*n = 0;
	while (*n < cap && r->have_head < r->n_have) {
		struct have_range *h = &r->have[r->have_head];
		const uint8_t *excl = h->n_excl ? r->excl[h->excl_off] : NULL;
		size_t want = cap - *n < PAGE ? cap - *n : PAGE, got;
		bool done;

		if ((err = src_list(r, h->lo, h->hi_inf ? NULL : h->hi, want, &got)) < 0)
			return err;
		for (size_t i = 0; i < got; i++) {
			if (id_in(excl, h->n_excl, r->page[i] + TS_LEN))
				continue;
			memcpy(ids[(*n)++], r->page[i] + TS_LEN, ID_LEN);
		}
		done = got < want;
		if (!done) {
			memcpy(h->lo, r->page[got - 1], KEY_LEN);
			done = !key_successor(h->lo);
		}
		if (done && ++r->have_head == r->n_have)
			r->have_head = r->n_have = r->n_excl = 0;
	}
	r->st.have_ids += *n;
	return 0;
}

void proto_recon_need(struct proto_recon *r, uint8_t (*ids)[32], size_t cap, size_t *n)
{
	size_t k = r->n_need - r->need_head;

	if (k > cap)
		k = cap;
	if (k)
		memcpy(ids, r->need[r->need_head], k * ID_LEN);
	r->need_head += k;
	if (r->need_head == r->n_need)
		r->need_head = r->n_need = 0;
	*n = k;
}
