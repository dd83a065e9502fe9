/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_proto_recon.c — set reconciliation: sessions between two in-memory item
 * sets converge on exactly the symmetric difference (random, clustered, empty and
 * identical sets), cost few bytes for few differences, respect the frame bound, and a
 * table of malformed or hostile messages is rejected with its code.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/link.h"
#include "proto/recon.h"
#include "testutil.h"
#include "tests/sim/itemset.h"

/* Hex with optional spaces, decoded into a malloc'd buffer. */
static uint8_t *hex(const char *h, size_t *len)
{
	char *clean = malloc(strlen(h) + 1);
	size_t n = 0;
	uint8_t *out;

	assert_non_null(clean);
	for (const char *p = h; *p; p++)
		if (*p != ' ')
			clean[n++] = *p;
	clean[n] = 0;
	out = tu_unhex(clean, len);
	free(clean);
	return out;
}

/* A universe of items, each a key; sets are built from it by membership flags. */
struct universe {
	uint8_t (*k)[PROTO_RECON_KEY_LEN];
	size_t n;
};

/* @n random items; timestamps drawn from @ts_span values so that some collide. */
static void universe_init(struct universe *u, size_t n, uint64_t ts_span, uint64_t *rng)
{
	u->k = malloc(n * PROTO_RECON_KEY_LEN);
	assert_non_null(u->k);
	u->n = n;
	for (size_t i = 0; i < n; i++) {
		uint8_t id[32];

		for (int j = 0; j < 32; j += 8) {
			uint64_t v = tu_rand(rng);

			memcpy(id + j, &v, 8);
		}
		proto_recon_key(u->k[i], 1700000000000ull + tu_rand(rng) % ts_span, id);
	}
}

static void universe_free(struct universe *u)
{
	free(u->k);
}

/* Transfers of one session: keys moved to the initiator's side (to_a) or the other. */
struct result {
	struct itemset to_a, to_b;
	unsigned messages;
	size_t bytes, max_msg;
	unsigned rounds_a, rounds_b;
	size_t dup_transfers;
};

static void result_deinit(struct result *res)
{
	itemset_deinit(&res->to_a);
	itemset_deinit(&res->to_b);
}

/* The key of report @id in @s (linear; fine at test sizes with a sorted copy by id). */
struct by_id {
	uint8_t (*k)[PROTO_RECON_KEY_LEN];
	size_t n;
};

static int cmp_by_id(const void *a, const void *b)
{
	return memcmp((const uint8_t *)a + 8, (const uint8_t *)b + 8, 32);
}

static void by_id_init(struct by_id *x, const struct itemset *s)
{
	x->n = s->n;
	x->k = malloc((s->n ? s->n : 1) * PROTO_RECON_KEY_LEN);
	assert_non_null(x->k);
	if (s->n)
		memcpy(x->k, s->k, s->n * PROTO_RECON_KEY_LEN);
	qsort(x->k, x->n, PROTO_RECON_KEY_LEN, cmp_by_id);
}

static const uint8_t *by_id_get(const struct by_id *x, const uint8_t id[32])
{
	uint8_t probe[PROTO_RECON_KEY_LEN] = {0};

	memcpy(probe + 8, id, 32);
	return bsearch(probe, x->k, x->n, PROTO_RECON_KEY_LEN, cmp_by_id);
}

/* Drain one session's outputs: @mine is its own set, @theirs the peer's. */
static void drain(struct proto_recon *r, const struct by_id *mine, const struct by_id *theirs,
		  struct itemset *to_me, struct itemset *to_peer, struct result *res)
{
	uint8_t ids[37][32];
	size_t n;

	do {
		assert_int_equal(proto_recon_have(r, ids, 37, &n), 0);
		for (size_t i = 0; i < n; i++) {
			const uint8_t *k = by_id_get(mine, ids[i]);

			assert_non_null(k); /* a "have" id is one of ours */
			if (itemset_add(to_peer, k) == 0)
				res->dup_transfers++;
		}
	} while (n);
	do {
		proto_recon_need(r, ids, 37, &n);
		for (size_t i = 0; i < n; i++) {
			const uint8_t *k = by_id_get(theirs, ids[i]);

			assert_non_null(k); /* a "need" id is one the peer listed */
			if (itemset_add(to_me, k) == 0)
				res->dup_transfers++;
		}
	} while (n);
}

/*
 * Run one session, @a initiating, until both sides are done. Transfers are collected, not
 * applied, so the sets stay fixed during the session. Returns the final error (0 = both
 * completed).
 */
static int run_session(struct itemset *a, struct itemset *b, const struct proto_recon_config *cfg,
		       struct result *res)
{
	struct proto_recon_source sa = itemset_source(a), sb = itemset_source(b);
	struct proto_recon *ra = proto_recon_new(cfg, &sa), *rb = proto_recon_new(cfg, &sb);
	struct proto_recon_stats st;
	struct by_id ia, ib;
	uint8_t *msg = NULL, *reply = NULL;
	size_t len = 0, rlen = 0;
	int rc, turn = 1; /* who receives next: 1 = b */

	assert_non_null(ra);
	assert_non_null(rb);
	memset(res, 0, sizeof(*res));
	itemset_init(&res->to_a);
	itemset_init(&res->to_b);
	by_id_init(&ia, a);
	by_id_init(&ib, b);
	rc = proto_recon_initiate(ra, &msg, &len);
	assert_int_equal(rc, 0);
	for (;;) {
		res->messages++;
		res->bytes += len;
		if (len > res->max_msg)
			res->max_msg = len;
		if (turn)
			rc = proto_recon_receive(rb, msg, len, &reply, &rlen);
		else
			rc = proto_recon_receive(ra, msg, len, &reply, &rlen);
		free(msg);
		msg = NULL;
		if (turn)
			drain(rb, &ib, &ia, &res->to_b, &res->to_a, res);
		else
			drain(ra, &ia, &ib, &res->to_a, &res->to_b, res);
		if (rc < 0)
			break;
		if (!reply) {
			assert_int_equal(rc, PROTO_RECON_DONE);
			break;
		}
		msg = reply;
		len = rlen;
		reply = NULL;
		turn = !turn;
	}
	if (rc >= 0) {
		assert_true(proto_recon_done(ra));
		assert_true(proto_recon_done(rb));
		rc = 0;
	}
	proto_recon_get_stats(ra, &st);
	res->rounds_a = st.rounds;
	proto_recon_get_stats(rb, &st);
	res->rounds_b = st.rounds;
	free(ia.k);
	free(ib.k);
	proto_recon_free(ra);
	proto_recon_free(rb);
	return rc;
}

/* Exactly the symmetric difference moved: to_a == b \ a and to_b == a \ b. */
static void expect_exact(const struct itemset *a, const struct itemset *b, const struct result *res)
{
	size_t a_only = 0, b_only = 0;

	assert_int_equal(res->dup_transfers, 0);
	for (size_t i = 0; i < a->n; i++)
		if (!itemset_has(b, a->k[i])) {
			a_only++;
			assert_true(itemset_has(&res->to_b, a->k[i]));
		}
	for (size_t i = 0; i < b->n; i++)
		if (!itemset_has(a, b->k[i])) {
			b_only++;
			assert_true(itemset_has(&res->to_a, b->k[i]));
		}
	assert_int_equal(res->to_b.n, a_only);
	assert_int_equal(res->to_a.n, b_only);
}

enum pattern { P_RANDOM, P_BLOCK, P_A_EMPTY, P_B_EMPTY, P_SAME };

/* Fill @a and @b from @u: shared items plus differences laid out by @p. */
static void make_sets(const struct universe *u, enum pattern p, unsigned diff_permille,
		      uint64_t *rng, struct itemset *a, struct itemset *b)
{
	itemset_init(a);
	itemset_init(b);
	for (size_t i = 0; i < u->n; i++) {
		bool in_a = true, in_b = true;

		switch (p) {
		case P_RANDOM:
			if (tu_rand(rng) % 1000 < diff_permille) {
				if (tu_rand(rng) & 1)
					in_a = false;
				else
					in_b = false;
			}
			break;
		case P_BLOCK:
			/* a was offline: it lacks a contiguous run of the universe's index. */
			in_a = i < u->n / 3 || i >= u->n / 3 + u->n * diff_permille / 1000;
			break;
		case P_A_EMPTY:
			in_a = false;
			break;
		case P_B_EMPTY:
			in_b = false;
			break;
		case P_SAME:
			break;
		}
		if (in_a)
			assert_true(itemset_add(a, u->k[i]) >= 0);
		if (in_b)
			assert_true(itemset_add(b, u->k[i]) >= 0);
	}
}

static void test_converges_table(void **state)
{
	static const struct {
		size_t n;
		uint64_t ts_span;
		enum pattern p;
		unsigned permille;
		unsigned buckets, idlist_max;
		size_t msg_max;
		unsigned rounds_max;
	} cases[] = {
		{0, 1, P_SAME, 0, 0, 0, 0, 0},
		{1, 1, P_A_EMPTY, 0, 0, 0, 0, 0},
		{1, 1, P_B_EMPTY, 0, 0, 0, 0, 0},
		{31, 10, P_RANDOM, 300, 0, 0, 0, 0},
		{33, 10, P_RANDOM, 300, 0, 0, 0, 0},
		{500, 1000000, P_RANDOM, 20, 0, 0, 0, 0},
		{500, 3, P_RANDOM, 50, 0, 0, 0, 0}, /* many equal timestamps: id-prefix bounds */
		{500, 1, P_RANDOM, 50, 2, 2, 0, 0}, /* one timestamp, binary splits */
		{3000, 100000, P_RANDOM, 5, 0, 0, 0, 0},
		{3000, 100000, P_RANDOM, 500, 0, 0, 0, 0},
		{3000, 100000, P_BLOCK, 200, 0, 0, 0, 0},
		{3000, 100000, P_A_EMPTY, 0, 0, 0, 0, 0},
		{3000, 100000, P_B_EMPTY, 0, 0, 0, 0, 0},
		{3000, 100000, P_RANDOM, 300, 4, 8, 2048, 1000}, /* tight frame: many rounds */
		{3000, 100000, P_RANDOM, 300, 64, 256, 0, 0},
		{3000, 50, P_RANDOM, 100, 16, 32, 2048, 0},
	};
	uint64_t rng = 42;

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct proto_recon_config cfg = {.buckets = cases[c].buckets,
						 .idlist_max = cases[c].idlist_max,
						 .msg_max = cases[c].msg_max,
						 .rounds_max = cases[c].rounds_max};
		size_t bound = cases[c].msg_max ? cases[c].msg_max : PROTO_LINK_BIN_MAX;
		struct universe u;
		struct itemset a, b;
		struct result res;
		int rc;

		universe_init(&u, cases[c].n, cases[c].ts_span, &rng);
		make_sets(&u, cases[c].p, cases[c].permille, &rng, &a, &b);
		rc = run_session(&a, &b, &cfg, &res);
		if (rc != 0)
			fail_msg("case %zu: %s after %u messages", c, proto_error_name(rc),
				 res.messages);
		expect_exact(&a, &b, &res);
		assert_true(res.max_msg <= bound);
		/* Swapping roles converges on the same difference too. */
		result_deinit(&res);
		assert_int_equal(run_session(&b, &a, &cfg, &res), 0);
		expect_exact(&b, &a, &res);
		result_deinit(&res);
		itemset_deinit(&a);
		itemset_deinit(&b);
		universe_free(&u);
	}
}

static void test_identical_one_round(void **state)
{
	uint64_t rng = 7;
	struct universe u;
	struct itemset a, b;
	struct result res;

	(void)state;
	universe_init(&u, 5000, 1000000, &rng);
	make_sets(&u, P_SAME, 0, &rng, &a, &b);
	assert_int_equal(run_session(&a, &b, NULL, &res), 0);
	/* One message of 16 fingerprints, answered by the done message. */
	assert_int_equal(res.messages, 2);
	assert_int_equal(res.rounds_b, 1);
	assert_int_equal(res.rounds_a, 1);
	assert_int_equal(res.to_a.n + res.to_b.n, 0);
	assert_true(res.bytes < 16 * 40 + 10);
	result_deinit(&res);
	itemset_deinit(&a);
	itemset_deinit(&b);
	universe_free(&u);
}

static void test_few_differences_few_bytes(void **state)
{
	uint64_t rng = 99;
	struct universe u;
	struct itemset a, b;
	struct result res;
	size_t removed = 0;

	(void)state;
	universe_init(&u, 20000, 1000000000, &rng);
	make_sets(&u, P_SAME, 0, &rng, &a, &b);
	/* Three items missing from a, spread over the key space. */
	for (size_t i = 2000; i < a.n && removed < 3; i += 7000, removed++) {
		memmove(a.k[i], a.k[i + 1], (a.n - i - 1) * PROTO_RECON_KEY_LEN);
		a.n--;
	}
	assert_int_equal(run_session(&a, &b, NULL, &res), 0);
	expect_exact(&a, &b, &res);
	assert_int_equal(res.to_a.n, 3);
	/* log16(20000) levels of 16 fingerprints per difference: a few KiB, not 20000 ids. */
	assert_true(res.bytes < 8 * 1024);
	assert_true(res.messages <= 10);
	result_deinit(&res);
	itemset_deinit(&a);
	itemset_deinit(&b);
	universe_free(&u);
}

/* A node back from downtime catches up a block of 2000 reports at a few bytes per id. */
static void test_block_catch_up_cost(void **state)
{
	uint64_t rng = 5;
	struct universe u;
	struct itemset a, b;
	struct result res;

	(void)state;
	universe_init(&u, 12000, 1000000000, &rng);
	qsort(u.k, u.n, PROTO_RECON_KEY_LEN, cmp_by_id); /* index order unrelated to time */
	itemset_init(&a);
	itemset_init(&b);
	for (size_t i = 0; i < u.n; i++) {
		assert_true(itemset_add(&b, u.k[i]) >= 0);
	}
	/* a lacks the 2000 newest items. */
	for (size_t i = 0; i + 2000 < b.n; i++)
		assert_true(itemset_add(&a, b.k[i]) >= 0);
	assert_int_equal(run_session(&a, &b, NULL, &res), 0);
	expect_exact(&a, &b, &res);
	assert_int_equal(res.to_a.n, 2000);
	assert_true(res.bytes / 2000 <= 8);
	result_deinit(&res);
	itemset_deinit(&a);
	itemset_deinit(&b);
	universe_free(&u);
}

static unsigned at_calls;

/* source.at over an itemset: the keys of rank @rank - 1 and @rank in [lo, hi). */
static int itemset_at(void *ctx, const uint8_t *lo, const uint8_t *hi, uint64_t rank,
		      uint8_t (*keys)[PROTO_RECON_KEY_LEN])
{
	struct itemset *s = ctx;
	size_t a = itemset_lower(s, lo), b = hi ? itemset_lower(s, hi) : s->n;

	at_calls++;
	if (rank == 0 || a + rank >= b)
		return -EINVAL;
	memcpy(keys[0], s->k[a + rank - 1], PROTO_RECON_KEY_LEN);
	memcpy(keys[1], s->k[a + rank], PROTO_RECON_KEY_LEN);
	return 1;
}

/*
 * A split by rank (source.at: bucket bounds and one fingerprint per bucket, as the store
 * answers from its sums) sends the same bytes as the split by listing, message by message,
 * through a whole session between sets that differ in many places.
 */
static void test_split_by_rank_same_wire(void **state)
{
	uint64_t rng = 11;
	struct universe u;
	struct itemset a, b;
	struct proto_recon_source sa, sb, sa_at, sb_at;
	struct proto_recon *r[2][2]; /* [listing, by rank][initiator, responder] */
	uint8_t *msg[2], *reply[2];
	size_t len[2], rlen[2];
	int rc[2], turn = 1, rounds = 0;
	size_t found = 0, want = 0;

	(void)state;
	universe_init(&u, 12000, 1000000000, &rng);
	itemset_init(&a);
	itemset_init(&b);
	for (size_t i = 0; i < u.n; i++) {
		if (i % 37 != 0)
			assert_true(itemset_add(&a, u.k[i]) >= 0);
		if (i % 53 != 0)
			assert_true(itemset_add(&b, u.k[i]) >= 0);
		want += (i % 37 == 0) != (i % 53 == 0); /* in one set only */
	}
	sa = sa_at = itemset_source(&a);
	sb = sb_at = itemset_source(&b);
	sa_at.at = sb_at.at = itemset_at;
	r[0][0] = proto_recon_new(NULL, &sa);
	r[0][1] = proto_recon_new(NULL, &sb);
	r[1][0] = proto_recon_new(NULL, &sa_at);
	r[1][1] = proto_recon_new(NULL, &sb_at);
	at_calls = 0;
	for (int v = 0; v < 2; v++)
		assert_int_equal(proto_recon_initiate(r[v][0], &msg[v], &len[v]), 0);
	for (;;) {
		assert_int_equal(len[0], len[1]);
		assert_memory_equal(msg[0], msg[1], len[0]);
		for (int v = 0; v < 2; v++) {
			rc[v] = proto_recon_receive(r[v][turn], msg[v], len[v], &reply[v],
						    &rlen[v]);
			free(msg[v]);
		}
		/* Both found the same "have" and "need" ids, in the same order. */
		for (;;) {
			uint8_t ids[2][37][32];
			size_t nh[2], nn[2];

			for (int v = 0; v < 2; v++) {
				assert_int_equal(proto_recon_have(r[v][turn], ids[v], 37, &nh[v]),
						 0);
				if (v && nh[0])
					assert_memory_equal(ids[0], ids[1], nh[0] * 32);
			}
			assert_int_equal(nh[0], nh[1]);
			for (int v = 0; v < 2; v++) {
				proto_recon_need(r[v][turn], ids[v], 37, &nn[v]);
				if (v && nn[0] && nn[0] == nn[1])
					assert_memory_equal(ids[0], ids[1], nn[0] * 32);
			}
			assert_int_equal(nn[0], nn[1]);
			found += nh[0] + nn[0];
			if (!nh[0] && !nn[0])
				break;
		}
		assert_int_equal(rc[0], rc[1]);
		assert_true(rc[0] >= 0);
		assert_int_equal(!reply[0], !reply[1]);
		if (!reply[0])
			break;
		for (int v = 0; v < 2; v++) {
			msg[v] = reply[v];
			len[v] = rlen[v];
		}
		turn = !turn;
		rounds++;
	}
	assert_true(rounds >= 2);
	assert_true(at_calls > 0);
	assert_int_equal(found, want);
	for (int v = 0; v < 2; v++)
		for (int side = 0; side < 2; side++)
			proto_recon_free(r[v][side]);
	itemset_deinit(&a);
	itemset_deinit(&b);
	universe_free(&u);
}

static void test_first_message_layout(void **state)
{
	struct itemset s;
	struct proto_recon_source src;
	struct proto_recon *r;
	uint8_t *out, id[32] = {0}, key[40];
	size_t len;

	(void)state;
	itemset_init(&s);
	src = itemset_source(&s);
	/* Empty set: one IDLIST with no ids over the whole space. */
	r = proto_recon_new(NULL, &src);
	assert_non_null(r);
	assert_int_equal(proto_recon_initiate(r, &out, &len), 0);
	assert_int_equal(len, 7);
	assert_memory_equal(out, "\x93\x01\x00\x92\x02\xc4\x00", 7);
	free(out);
	assert_int_equal(proto_recon_initiate(r, &out, &len), PROTO_E_RECON_STATE);
	proto_recon_free(r);
	/* Two items: their ids ascending, whatever their time order. */
	id[0] = 0xbb;
	proto_recon_key(key, 5, id);
	itemset_add(&s, key);
	id[0] = 0xaa;
	proto_recon_key(key, 9, id);
	itemset_add(&s, key);
	r = proto_recon_new(NULL, &src);
	assert_int_equal(proto_recon_initiate(r, &out, &len), 0);
	assert_int_equal(len, 7 + 64);
	assert_memory_equal(out, "\x93\x01\x00\x92\x02\xc4\x40\xaa", 8);
	assert_int_equal(out[7 + 32], 0xbb);
	free(out);
	proto_recon_free(r);
	itemset_deinit(&s);
}

static void test_codec_round_trip(void **state)
{
	struct proto_recon_range rg[4] = {0};
	struct proto_recon_msg m = {.role = 1, .n = 4, .ranges = rg}, d;
	uint8_t ids[64] = {0}, *out, *again;
	size_t len, len2, want_len;
	uint8_t *want;

	(void)state;
	/* (ts 300, no id bytes) SKIP; (ts 300, id 01 02) FP; (ts 301, id 00 07) IDLIST; inf SKIP */
	rg[0].mode = PROTO_RECON_SKIP;
	rg[0].upper[6] = 0x01;
	rg[0].upper[7] = 0x2c;
	rg[1].mode = PROTO_RECON_FINGERPRINT;
	memcpy(rg[1].upper, rg[0].upper, 8);
	rg[1].upper[8] = 1;
	rg[1].upper[9] = 2;
	memset(rg[1].fp, 0xee, 16);
	rg[1].count = 200;
	rg[2].mode = PROTO_RECON_IDLIST;
	rg[2].upper[6] = 0x01;
	rg[2].upper[7] = 0x2d;
	rg[2].upper[9] = 7;
	ids[31] = 1;
	ids[63] = 2;
	rg[2].ids = ids;
	rg[2].n_ids = 2;
	rg[3].mode = PROTO_RECON_SKIP;
	rg[3].upper_inf = true;
	assert_int_equal(proto_recon_msg_encode(&m, &out, &len), 0);
	want = hex("96 01 01"
		   "93 cd012c c400 00"
		   "95 00 c4020102 01 c410eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee ccc8"
		   "94 01 c4020007 02 c440"
		   "0000000000000000000000000000000000000000000000000000000000000001"
		   "0000000000000000000000000000000000000000000000000000000000000002"
		   "91 00",
		   &want_len);
	assert_int_equal(len, want_len);
	assert_memory_equal(out, want, len);
	assert_int_equal(proto_recon_msg_role(out, len), 1);
	assert_int_equal(proto_recon_msg_decode(&d, out, len), 0);
	assert_int_equal(d.n, 4);
	assert_memory_equal(d.ranges[1].upper, rg[1].upper, 40);
	assert_int_equal(d.ranges[1].count, 200);
	assert_int_equal(d.ranges[2].n_ids, 2);
	assert_true(d.ranges[3].upper_inf);
	assert_int_equal(proto_recon_msg_encode(&d, &again, &len2), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(again, out, len);
	proto_recon_msg_deinit(&d);
	proto_recon_msg_deinit(&d);
	free(again);
	free(out);
	free(want);
	/* Encoder refuses what the decoder would. */
	rg[3].mode = PROTO_RECON_SKIP;
	rg[2].mode = PROTO_RECON_SKIP;
	assert_int_equal(proto_recon_msg_encode(&m, &out, &len), PROTO_E_RECON_SKIP);
	rg[2].mode = PROTO_RECON_IDLIST;
	ids[63] = 1;
	assert_int_equal(proto_recon_msg_encode(&m, &out, &len), PROTO_E_RECON_IDS);
	ids[63] = 2;
	rg[1].upper[7] = 0x2b; /* below the previous bound */
	assert_int_equal(proto_recon_msg_encode(&m, &out, &len), PROTO_E_RECON_BOUND);
	rg[1].upper[7] = 0x2c;
	rg[3].upper_inf = false;
	assert_int_equal(proto_recon_msg_encode(&m, &out, &len), PROTO_E_RECON_BOUND);
	m.role = 2;
	assert_int_equal(proto_recon_msg_encode(&m, &out, &len), -EINVAL);
}

static void test_decode_rejects(void **state)
{
	static const struct {
		const char *hex;
		int err;
	} cases[] = {
		{"92 01 00", 0},			/* done message */
		{"92 02 00", PROTO_E_VERSION},		/* version 2 */
		{"92 01 02", PROTO_E_RANGE},		/* role 2 */
		{"91 01", PROTO_E_TRUNCATED},		/* no role */
		{"92 01", PROTO_E_TRUNCATED},		/* role missing */
		{"93 01 00 91 00", PROTO_E_RECON_SKIP}, /* lone SKIP is the done message */
		{"93 01 00 91 03", PROTO_E_RECON_MODE},
		{"93 01 00 92 02 c400", 0},			/* empty IDLIST over everything */
		{"93 01 00 93 00 c400 00", PROTO_E_RECON_MODE}, /* last range with a bound */
		{"93 01 00 93 01 c400 00", PROTO_E_RANGE},	/* ... reads as a short fp */
		{"94 01 00 93 01 c400 00 91 00", PROTO_E_RECON_SKIP},
		{"94 01 00 93 01 c400 02 c400 91 00",
		 PROTO_E_RECON_MODE}, /* IDLIST + bound: 4 els */
		{"94 01 00 93 00 c400 00 91 02 c400", PROTO_E_RECON_BOUND}, /* bound == zero key */
		{"94 01 00 93 01 c40100 00 91 02 c400", PROTO_E_RECON_BOUND}, /* trailing zero id */
		{"95 01 00 93 05 c400 00 94 00 c400 02 c400 91 00",
		 PROTO_E_RECON_BOUND}, /* equal */
		{"94 01 00 93 cfffffffffffffffff c400 02 c400 91 00", PROTO_E_RECON_MODE},
		{"95 01 00 94 cfffffffffffffffff c400 02 c400 94 01 c400 02 c400 91 00",
		 PROTO_E_RECON_BOUND},			       /* timestamp overflow */
		{"93 01 00 92 02 c401 00", PROTO_E_RECON_IDS}, /* ids not a multiple of 32 */
		{"93 01 00 92 02 c440"
		 "0000000000000000000000000000000000000000000000000000000000000002"
		 "0000000000000000000000000000000000000000000000000000000000000001",
		 PROTO_E_RECON_IDS}, /* descending */
		{"93 01 00 92 02 c440"
		 "0000000000000000000000000000000000000000000000000000000000000001"
		 "0000000000000000000000000000000000000000000000000000000000000001",
		 PROTO_E_RECON_IDS}, /* duplicate */
		{"93 01 00 93 01 c40f000000000000000000000000000000 00", PROTO_E_RANGE}, /* fp 15 */
		{"93 01 00 93 01 c410 00000000000000000000000000000000 cc05", PROTO_E_NONMINIMAL},
		{"93 01 00 93 01 c410 00000000000000000000000000000000 05", 0},
		{"93 01 00 93 01 c410 00000000000000000000000000000000 05 00", PROTO_E_TRAILING},
		{"93 01 00 93 01 c410 00000000000000000000000000000000", PROTO_E_TRUNCATED},
		{"dc0002 01 00", PROTO_E_NONMINIMAL},
		{"dd00000002 01 00", PROTO_E_NONMINIMAL},
		{"9f 01 00 91 02 c400", PROTO_E_TRUNCATED}, /* count larger than the bytes */
		{"93 01 00 92 02 a0", PROTO_E_TYPE},	    /* str instead of bin */
		{"93 01 00 92 02 c0", PROTO_E_TYPE},	    /* nil */
		{"93 01 00 92 02 ca00000000", PROTO_E_FLOAT},
		{"80", PROTO_E_TYPE},
		{"", PROTO_E_TRUNCATED},
		{"94 01 00 93 01 c421" /* 33-byte prefix */
		 "010101010101010101010101010101010101010101010101010101010101010101 00 91 02 c400",
		 PROTO_E_TOO_LARGE},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct proto_recon_msg m;
		size_t len;
		uint8_t *buf = hex(cases[i].hex, &len);
		int rc = proto_recon_msg_decode(&m, buf, len);

		if (rc != cases[i].err)
			fail_msg("case %zu (%s): got %d (%s), want %d", i, cases[i].hex, rc,
				 proto_error_name(rc), cases[i].err);
		if (rc == 0) {
			uint8_t *out;
			size_t out_len;

			assert_int_equal(proto_recon_msg_encode(&m, &out, &out_len), 0);
			assert_int_equal(out_len, len);
			assert_memory_equal(out, buf, len);
			free(out);
		} else {
			assert_null(m.ranges);
		}
		proto_recon_msg_deinit(&m);
		free(buf);
	}
}

static void test_oversized_message(void **state)
{
	uint8_t *buf = calloc(1, PROTO_LINK_BIN_MAX + 1);
	struct proto_recon_msg m;

	(void)state;
	assert_non_null(buf);
	assert_int_equal(proto_recon_msg_decode(&m, buf, PROTO_LINK_BIN_MAX + 1),
			 PROTO_E_TOO_LARGE);
	free(buf);
}

/* A bad message kills the session; later calls say so. */
static void test_session_errors(void **state)
{
	struct itemset s;
	struct proto_recon_source src;
	struct proto_recon *r;
	uint8_t *out;
	size_t len;
	uint8_t done_resp[] = {0x92, 0x01, 0x01}, done_init[] = {0x92, 0x01, 0x00};
	uint8_t bad[] = {0x93, 0x01, 0x00, 0x91, 0x07};

	(void)state;
	itemset_init(&s);
	src = itemset_source(&s);
	/* A fresh session can only be opened by the initiator's message. */
	r = proto_recon_new(NULL, &src);
	assert_int_equal(proto_recon_receive(r, done_resp, 3, &out, &len), PROTO_E_RECON_STATE);
	assert_null(out);
	assert_int_equal(proto_recon_receive(r, done_init, 3, &out, &len), PROTO_E_RECON_STATE);
	assert_false(proto_recon_done(r));
	proto_recon_free(r);
	/* The initiator refuses another initiator's message. */
	r = proto_recon_new(NULL, &src);
	assert_int_equal(proto_recon_initiate(r, &out, &len), 0);
	free(out);
	assert_int_equal(proto_recon_receive(r, done_init, 3, &out, &len), PROTO_E_RECON_STATE);
	proto_recon_free(r);
	/* Malformed: the code, then STATE. */
	r = proto_recon_new(NULL, &src);
	assert_int_equal(proto_recon_receive(r, bad, sizeof(bad), &out, &len), PROTO_E_RECON_MODE);
	assert_int_equal(proto_recon_receive(r, done_init, 3, &out, &len), PROTO_E_RECON_STATE);
	proto_recon_free(r);
	/* The done message ends the session; nothing after it. */
	r = proto_recon_new(NULL, &src);
	assert_int_equal(proto_recon_receive(r, done_init, 3, &out, &len), PROTO_RECON_DONE);
	assert_null(out);
	assert_true(proto_recon_done(r));
	assert_int_equal(proto_recon_receive(r, done_init, 3, &out, &len), PROTO_E_RECON_STATE);
	proto_recon_free(r);
	/* A failing source fails the call and the session. */
	s.fail_after = 1;
	r = proto_recon_new(NULL, &src);
	assert_int_equal(proto_recon_initiate(r, &out, &len), -EIO);
	assert_null(out);
	proto_recon_free(r);
	itemset_deinit(&s);
	/* Invalid configs. */
	{
		struct proto_recon_config bad_cfg[] = {
			{.buckets = 1},
			{.buckets = 65},
			{.buckets = 16, .idlist_max = 8},
			{.idlist_max = 257},
			{.msg_max = 1000},
			{.msg_max = PROTO_LINK_BIN_MAX + 1},
			{.buckets = 64, .msg_max = 4096}, /* 64 fingerprints may not fit */
			{.rounds_max = 1},
		};

		for (size_t i = 0; i < sizeof(bad_cfg) / sizeof(bad_cfg[0]); i++)
			assert_null(proto_recon_new(&bad_cfg[i], &src));
		src.list = NULL;
		assert_null(proto_recon_new(NULL, &src));
	}
}

/*
 * A hostile peer that never converges: it answers every message with a fresh random
 * fingerprint of everything. The session gives up at rounds_max.
 */
static void test_round_limit(void **state)
{
	struct proto_recon_config cfg = {.rounds_max = 5};
	struct itemset s;
	struct proto_recon_source src;
	struct proto_recon *r;
	struct proto_recon_range rg = {.mode = PROTO_RECON_FINGERPRINT, .upper_inf = true};
	struct proto_recon_msg m = {.role = 0, .n = 1, .ranges = &rg};
	uint64_t rng = 3;
	struct universe u;
	int rc = 0;
	unsigned rounds = 0;

	(void)state;
	universe_init(&u, 2000, 1000000, &rng);
	itemset_init(&s);
	for (size_t i = 0; i < u.n; i++)
		itemset_add(&s, u.k[i]);
	src = itemset_source(&s);
	r = proto_recon_new(&cfg, &src);
	while (rc == 0 && rounds < 100) {
		uint8_t *msg, *out;
		size_t len, out_len;

		for (int i = 0; i < 16; i++)
			rg.fp[i] = (uint8_t)tu_rand(&rng);
		rg.count = 2000;
		assert_int_equal(proto_recon_msg_encode(&m, &msg, &len), 0);
		rc = proto_recon_receive(r, msg, len, &out, &out_len);
		free(msg);
		free(out);
		rounds++;
	}
	assert_int_equal(rc, PROTO_E_RECON_ROUNDS);
	assert_int_equal(rounds, 6);
	proto_recon_free(r);
	itemset_deinit(&s);
	universe_free(&u);
}

/* A peer claiming an empty range gets everything we hold there, paged lazily. */
static void test_have_paging_and_pending_cap(void **state)
{
	struct proto_recon_config cfg = {.pending_max = 16};
	struct itemset s;
	struct proto_recon_source src;
	struct proto_recon *r;
	struct proto_recon_range rg = {.mode = PROTO_RECON_FINGERPRINT, .upper_inf = true};
	struct proto_recon_range lists[40];
	struct proto_recon_msg m = {.role = 0, .n = 1, .ranges = &rg};
	struct proto_recon_stats st;
	uint8_t ids[7][32], *msg, *out, peer_ids[40][32];
	size_t len, out_len, n, total = 0;
	uint64_t rng = 11;
	struct universe u;

	(void)state;
	universe_init(&u, 1000, 1000000, &rng);
	itemset_init(&s);
	for (size_t i = 0; i < u.n; i++)
		itemset_add(&s, u.k[i]);
	src = itemset_source(&s);
	r = proto_recon_new(&cfg, &src);
	proto_recon_fingerprint(rg.fp, (uint8_t[32]){0}, 0);
	rg.count = 0;
	assert_int_equal(proto_recon_msg_encode(&m, &msg, &len), 0);
	assert_int_equal(proto_recon_receive(r, msg, len, &out, &out_len), PROTO_RECON_DONE);
	assert_memory_equal(out, "\x92\x01\x01", 3);
	free(out);
	free(msg);
	do {
		assert_int_equal(proto_recon_have(r, ids, 7, &n), 0);
		total += n;
	} while (n);
	assert_int_equal(total, 1000);
	proto_recon_free(r);

	/* 40 IDLIST ranges of unknown ids: only pending_max need ids are kept. */
	r = proto_recon_new(&cfg, &src);
	memset(lists, 0, sizeof(lists));
	for (int i = 0; i < 40; i++) {
		memset(peer_ids[i], 0, 32);
		peer_ids[i][0] = (uint8_t)i;
		lists[i].mode = PROTO_RECON_IDLIST;
		lists[i].ids = peer_ids[i];
		lists[i].n_ids = 1;
		lists[i].upper_inf = i == 39;
		lists[i].upper[7] = (uint8_t)(i + 1); /* ts 1..39: below every item */
	}
	m.ranges = lists;
	m.n = 40;
	assert_int_equal(proto_recon_msg_encode(&m, &msg, &len), 0);
	assert_int_equal(proto_recon_receive(r, msg, len, &out, &out_len), PROTO_RECON_DONE);
	free(out);
	free(msg);
	proto_recon_get_stats(r, &st);
	assert_int_equal(st.need_ids, 16);
	assert_true(st.dropped >= 24);
	proto_recon_need(r, peer_ids, 40, &n);
	assert_int_equal(n, 16);
	proto_recon_free(r);
	itemset_deinit(&s);
	universe_free(&u);
}

static void test_helpers(void **state)
{
	uint8_t sum[32], id[32], fp[16], want[16];
	uint8_t key[40];

	(void)state;
	for (int i = 0; i < 32; i++)
		sum[i] = (uint8_t)i;
	proto_recon_fingerprint(fp, sum, 5);
	{
		size_t l;
		uint8_t *w = tu_unhex("9788c5698351390834d1460abb088765", &l);

		memcpy(want, w, 16);
		free(w);
	}
	assert_memory_equal(fp, want, 16);
	/* Sums wrap mod 2^256 and subtraction undoes addition. */
	memset(sum, 0xff, 32);
	memset(id, 0, 32);
	id[0] = 1;
	proto_recon_sum_add(sum, id);
	for (int i = 0; i < 32; i++)
		assert_int_equal(sum[i], 0);
	proto_recon_sum_sub(sum, id);
	for (int i = 0; i < 32; i++)
		assert_int_equal(sum[i], 0xff);
	proto_recon_key(key, 0x0102030405060708ull, id);
	assert_memory_equal(key, "\x01\x02\x03\x04\x05\x06\x07\x08\x01", 9);
}

/*
 * One session between a joiner @j (holding @js) and a server holding @ss, the joiner
 * initiating when @j_first. After each message the server receives, it pushes its "have"
 * ids, at most @push_max over the session (as node/overlay/catchup.c does), and each pushed
 * key is checked with proto_recon_invited() on the joiner's session before the joiner
 * receives the server's next message. Returns the keys pushed; *@invited counts the true
 * answers. The sessions stay open (caller frees) so the caller can probe them further.
 */
static size_t join_session(struct itemset *js, struct itemset *ss, bool j_first, uint64_t push_max,
			   const struct proto_recon_config *cfg, struct proto_recon **jr,
			   struct proto_recon **sr, size_t *invited)
{
	struct proto_recon_source ja = itemset_source(js), sa = itemset_source(ss);
	struct by_id is;
	uint8_t *msg = NULL, *reply = NULL, ids[64][32];
	size_t len = 0, rlen, n, pushed = 0;
	bool to_server = j_first;
	int rc;

	*jr = proto_recon_new(cfg, &ja);
	*sr = proto_recon_new(cfg, &sa);
	assert_non_null(*jr);
	assert_non_null(*sr);
	*invited = 0;
	by_id_init(&is, ss);
	assert_int_equal(proto_recon_initiate(j_first ? *jr : *sr, &msg, &len), 0);
	for (;;) {
		rc = proto_recon_receive(to_server ? *sr : *jr, msg, len, &reply, &rlen);
		free(msg);
		assert_true(rc >= 0);
		while (to_server && pushed < push_max) {
			size_t cap = push_max - pushed < 64 ? push_max - pushed : 64;

			assert_int_equal(proto_recon_have(*sr, ids, cap, &n), 0);
			if (!n)
				break;
			for (size_t i = 0; i < n; i++) {
				const uint8_t *k = by_id_get(&is, ids[i]);

				assert_non_null(k);
				*invited += proto_recon_invited(*jr, k);
			}
			pushed += n;
		}
		if (!reply)
			break;
		msg = reply;
		len = rlen;
		to_server = !to_server;
	}
	free(is.k);
	return pushed;
}

/*
 * proto_recon_invited() says yes exactly to the copies the joiner's own messages asked the
 * peer to push, within the peer's counts and the session's invite_max; never to a copy no
 * session asked for (node/overlay/catchup.c exempts only those from the rate limit).
 */
static void test_invited_only_what_was_asked(void **state)
{
	struct proto_recon_config cfg = {.invite_max = 1000};
	struct itemset js, ss, same;
	struct proto_recon *jr, *sr;
	struct proto_recon_stats st;
	struct universe u;
	uint64_t rng = 17;
	size_t invited, pushed;
	uint8_t fresh[PROTO_RECON_KEY_LEN], id[32];

	(void)state;
	universe_init(&u, 3000, 100000000, &rng);
	itemset_init(&js);
	itemset_init(&ss);
	for (size_t i = 0; i < u.n; i++)
		assert_true(itemset_add(&ss, u.k[i]) >= 0);

	/* No session, or one that sent nothing yet: nothing is asked for. */
	assert_false(proto_recon_invited(NULL, u.k[0]));
	{
		struct proto_recon_source ja = itemset_source(&js);

		jr = proto_recon_new(&cfg, &ja);
		assert_false(proto_recon_invited(jr, u.k[0]));
		proto_recon_free(jr);
	}

	/* An empty joiner opens (an id list of nothing: "send me all"): one window is asked. */
	pushed = join_session(&js, &ss, true, cfg.invite_max, &cfg, &jr, &sr, &invited);
	assert_int_equal(pushed, 1000);
	assert_int_equal(invited, 1000);
	/* Past the window, a copy is unsolicited even inside the asked range. */
	assert_false(proto_recon_invited(jr, u.k[1]));
	proto_recon_get_stats(jr, &st);
	assert_int_equal(st.invited_ids, 1000);
	proto_recon_free(jr);
	proto_recon_free(sr);

	/* The server opens: the joiner answers its ranges with id lists, naming its counts. */
	pushed = join_session(&js, &ss, false, cfg.invite_max, &cfg, &jr, &sr, &invited);
	assert_int_equal(pushed, 1000);
	assert_int_equal(invited, 1000);
	assert_false(proto_recon_invited(jr, u.k[2]));
	proto_recon_free(jr);
	proto_recon_free(sr);

	/*
	 * Within a large window, each range takes no more than the count the server gave for
	 * it: the whole set is asked for once, and a second copy of anything is not.
	 */
	cfg.invite_max = 100000;
	pushed = join_session(&js, &ss, false, 100000, &cfg, &jr, &sr, &invited);
	assert_int_equal(pushed, 3000);
	assert_int_equal(invited, 3000);
	for (size_t i = 0; i < 50; i++)
		assert_false(proto_recon_invited(jr, ss.k[i * 60]));
	/* A report younger than everything the server counted: its range's count is used up. */
	memset(id, 0xab, sizeof(id));
	proto_recon_key(fresh, 1700000000000ull + 200000000, id);
	assert_false(proto_recon_invited(jr, fresh));
	proto_recon_free(jr);
	proto_recon_free(sr);

	/* Identical sets: every range is SKIP, so no copy at all is asked for. */
	itemset_init(&same);
	for (size_t i = 0; i < u.n; i++)
		assert_true(itemset_add(&same, u.k[i]) >= 0);
	pushed = join_session(&same, &ss, true, 100000, &cfg, &jr, &sr, &invited);
	assert_int_equal(pushed, 0);
	assert_false(proto_recon_invited(jr, u.k[0]));
	assert_false(proto_recon_invited(jr, fresh));
	proto_recon_free(jr);
	proto_recon_free(sr);
	itemset_deinit(&same);
	itemset_deinit(&js);
	itemset_deinit(&ss);
	universe_free(&u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_helpers),
		cmocka_unit_test(test_codec_round_trip),
		cmocka_unit_test(test_decode_rejects),
		cmocka_unit_test(test_oversized_message),
		cmocka_unit_test(test_split_by_rank_same_wire),
		cmocka_unit_test(test_first_message_layout),
		cmocka_unit_test(test_session_errors),
		cmocka_unit_test(test_identical_one_round),
		cmocka_unit_test(test_converges_table),
		cmocka_unit_test(test_few_differences_few_bytes),
		cmocka_unit_test(test_block_catch_up_cost),
		cmocka_unit_test(test_round_limit),
		cmocka_unit_test(test_have_paging_and_pending_cap),
		cmocka_unit_test(test_invited_only_what_was_asked),
	};

	if (proto_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
