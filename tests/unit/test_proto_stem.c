/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_proto_stem.c — the Dandelion stem router: config bounds, link events,
 * origin always forwards to its epoch relay (or fluffs with no link), a fixed successor per
 * inbound link per epoch that is never the inbound link, at most `relays` successors per
 * epoch and fresh ones across epochs, the per-hop coin's rate, DROP after the stem ended,
 * embargo ranges for relays and origins, cancellation by gossip, loops, relay replacement
 * on link down, bounded state, forgetting finished ids, and determinism by seed.
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

#include "proto/error.h"
#include "proto/stem.h"
#include "testutil.h"

#define EPOCH 600000ull
#define EMB 5000u

static void mkid(uint8_t id[32], uint32_t n)
{
	memset(id, 0, 32);
	memcpy(id, &n, sizeof(n));
	id[31] = 0xa5;
}

static struct proto_stem *mk(uint32_t permille, unsigned relays, unsigned max_reports,
			     uint64_t seed)
{
	struct proto_stem_config c = {
		.fluff_permille = permille,
		.relays = relays,
		.embargo_ms = EMB,
		.epoch_ms = EPOCH,
		.max_reports = max_reports,
		.seed = seed,
	};
	struct proto_stem *s = proto_stem_new(&c);

	assert_non_null(s);
	return s;
}

static void links_up(struct proto_stem *s, uint32_t n)
{
	for (uint32_t l = 0; l < n; l++)
		assert_int_equal(proto_stem_link_up(s, l, 0), 0);
}

static void test_config_bounds(void **state)
{
	static const struct {
		struct proto_stem_config c;
		bool ok;
	} cases[] = {
		{{0}, true},
		{{.max_links = 4096}, true},
		{{.max_links = 4097}, false},
		{{.relays = 8}, true},
		{{.relays = 9}, false},
		{{.fluff_permille = 1000}, true},
		{{.fluff_permille = 1001}, false},
		{{.embargo_ms = 3600000}, true},
		{{.embargo_ms = 3600001}, false},
		{{.max_reports = 16}, true},
		{{.max_reports = 15}, false},
		{{.max_reports = 1048577}, false},
	};

	(void)state;
	proto_stem_free(NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct proto_stem *s = proto_stem_new(&cases[i].c);

		assert_int_equal(s != NULL, cases[i].ok);
		proto_stem_free(s);
	}
	proto_stem_free(proto_stem_new(NULL));
}

static void test_link_events(void **state)
{
	struct proto_stem *s = mk(0, 0, 0, 1);
	uint8_t id[32];
	uint32_t link = 99;

	(void)state;
	assert_int_equal(proto_stem_link_up(s, 64, 0), PROTO_E_STEM_LINK);
	assert_int_equal(proto_stem_link_down(s, 3, 0), PROTO_E_STEM_LINK);
	assert_int_equal(proto_stem_link_up(s, 3, 0), 0);
	assert_int_equal(proto_stem_link_up(s, 3, 0), PROTO_E_STEM_LINK);
	mkid(id, 1);
	assert_int_equal(proto_stem_on_stem(s, 4, id, 0, &link), PROTO_E_STEM_LINK);
	assert_int_equal(proto_stem_on_stem(s, 64, id, 0, &link), PROTO_E_STEM_LINK);
	assert_int_equal(proto_stem_on_stem(s, 3, NULL, 0, &link), -EINVAL);
	assert_int_equal(proto_stem_originate(s, id, 0, NULL), -EINVAL);
	assert_int_equal(link, 99);
	assert_int_equal(proto_stem_link_down(s, 3, 0), 0);
	assert_int_equal(proto_stem_link_down(s, 3, 0), PROTO_E_STEM_LINK);
	assert_int_equal(proto_stem_tracked(s), 0);
	proto_stem_free(s);
}

static void test_origin(void **state)
{
	struct proto_stem *s = mk(1000, 2, 0, 7);
	struct proto_stem_stats st;
	uint8_t id[32];
	uint32_t link = 99, first = 99;

	(void)state;
	/* Alone: nobody to hide among, the caller fluffs. The id is then known. */
	mkid(id, 1);
	assert_int_equal(proto_stem_originate(s, id, 0, &link), PROTO_STEM_FLUFF);
	assert_int_equal(link, 99);
	assert_false(proto_stem_pending(s, id));
	assert_int_equal(proto_stem_originate(s, id, 0, &link), PROTO_E_STEM_KNOWN);

	/* With links, even at p = 1, the origin forwards, always to the same relay. */
	links_up(s, 6);
	for (uint32_t n = 2; n < 50; n++) {
		mkid(id, n);
		assert_int_equal(proto_stem_originate(s, id, 1000 + n, &link), PROTO_STEM_FORWARD);
		assert_true(link < 6);
		if (first == 99)
			first = link;
		assert_int_equal(link, first);
		assert_true(proto_stem_pending(s, id));
	}
	assert_int_equal(proto_stem_originate(s, id, 2000, &link), PROTO_E_STEM_KNOWN);
	proto_stem_get_stats(s, &st);
	assert_int_equal(st.originated, 49);
	assert_int_equal(st.forwarded, 48);
	assert_int_equal(st.fluffed_stuck, 1);
	proto_stem_free(s);
}

/* Within an epoch each inbound link has one successor, never itself; <= relays in all. */
static void test_fixed_successor(void **state)
{
	struct proto_stem *s = mk(1, 2, 65536, 11);
	uint32_t succ[6], used = 0, n = 0;
	uint8_t id[32];

	(void)state;
	links_up(s, 6);
	for (int i = 0; i < 6; i++)
		succ[i] = UINT32_MAX;
	for (uint32_t k = 0; k < 3000; k++) {
		uint32_t from = k % 6, link = 99;
		int r;

		mkid(id, k);
		r = proto_stem_on_stem(s, from, id, 10 + k, &link);
		if (r == PROTO_STEM_FLUFF)
			continue;
		assert_int_equal(r, PROTO_STEM_FORWARD);
		assert_int_not_equal(link, from);
		if (succ[from] == UINT32_MAX)
			succ[from] = link;
		assert_int_equal(link, succ[from]);
		used |= 1u << link;
		n++;
	}
	assert_true(n > 2900);
	assert_true(__builtin_popcount(used) <= 2); /* a relay's own inbound goes to the other */
	proto_stem_free(s);
}

/* Across epochs the own relay is redrawn: many epochs use more than one link. */
static void test_epochs_redraw(void **state)
{
	struct proto_stem *s = mk(0, 1, 0, 5);
	struct proto_stem_stats st;
	uint32_t used = 0, link;
	uint8_t id[32];

	(void)state;
	links_up(s, 6);
	for (uint32_t e = 0; e < 40; e++) {
		mkid(id, e);
		assert_int_equal(proto_stem_originate(s, id, e * EPOCH + 1, &link),
				 PROTO_STEM_FORWARD);
		used |= 1u << link;
	}
	assert_true(__builtin_popcount(used) >= 4);
	proto_stem_get_stats(s, &st);
	assert_int_equal(st.epochs, 40);
	proto_stem_free(s);
}

static void test_coin_rate(void **state)
{
	static const uint32_t rates[] = {100, 200, 500};

	(void)state;
	for (size_t r = 0; r < 3; r++) {
		struct proto_stem *s = mk(rates[r], 2, 65536, 3 + r);
		uint32_t fluffs = 0, link;
		uint8_t id[32];

		links_up(s, 4);
		for (uint32_t k = 0; k < 10000; k++) {
			int v;

			mkid(id, k);
			v = proto_stem_on_stem(s, k % 4, id, k, &link);
			assert_true(v == PROTO_STEM_FORWARD || v == PROTO_STEM_FLUFF);
			fluffs += v == PROTO_STEM_FLUFF;
		}
		/* 10000 draws: the standard deviation is at most 50 (0.5 %). */
		assert_in_range(fluffs, rates[r] * 10 - 250, rates[r] * 10 + 250);
		proto_stem_free(s);
	}
}

static void test_embargo(void **state)
{
	struct proto_stem *s = mk(1, 2, 0, 21);
	uint8_t id[32], own[32], out[32];
	uint32_t link;
	uint64_t d;

	(void)state;
	links_up(s, 3);
	assert_int_equal(proto_stem_next_deadline(s), UINT64_MAX);
	assert_false(proto_stem_expire(s, 1000000, out));

	/* A relay's embargo in [now + e, now + 2e). */
	for (uint32_t k = 0; k < 200; k++) {
		mkid(id, k);
		if (proto_stem_on_stem(s, 0, id, 1000, &link) != PROTO_STEM_FORWARD)
			continue;
		d = proto_stem_next_deadline(s);
		assert_in_range(d, 1000 + EMB, 1000 + 2 * EMB - 1);
		assert_false(proto_stem_expire(s, d - 1, out));
		assert_true(proto_stem_expire(s, d, out));
		assert_memory_equal(out, id, 32);
		assert_false(proto_stem_pending(s, id));
		assert_int_equal(proto_stem_next_deadline(s), UINT64_MAX);
		/* Fluffed here: a late STEM copy is dropped. */
		assert_int_equal(proto_stem_on_stem(s, 1, id, d, &link), PROTO_STEM_DROP);
	}

	/* The origin's in [now + 2e, now + 3e). */
	for (uint32_t k = 0; k < 200; k++) {
		mkid(own, 1000 + k);
		assert_int_equal(proto_stem_originate(s, own, 20000, &link), PROTO_STEM_FORWARD);
		d = proto_stem_next_deadline(s);
		assert_in_range(d, 20000 + 2 * EMB, 20000 + 3 * EMB - 1);
		assert_true(proto_stem_expire(s, 20000 + 3 * EMB, out));
		assert_memory_equal(out, own, 32);
	}

	/* Several due at once come out earliest first, one per call. */
	mkid(id, 5000);
	assert_int_equal(proto_stem_originate(s, id, 100000, &link), PROTO_STEM_FORWARD);
	mkid(own, 5001);
	assert_int_equal(proto_stem_originate(s, own, 100000 + EMB, &link), PROTO_STEM_FORWARD);
	assert_true(proto_stem_expire(s, 200000, out));
	assert_memory_equal(out, id, 32);
	assert_true(proto_stem_expire(s, 200000, out));
	assert_memory_equal(out, own, 32);
	assert_false(proto_stem_expire(s, 200000, out));
	proto_stem_free(s);
}

static void test_gossip_cancels(void **state)
{
	struct proto_stem *s = mk(1, 2, 0, 8);
	struct proto_stem_stats st;
	uint8_t id[32], other[32], out[32];
	uint32_t link;

	(void)state;
	links_up(s, 3);
	mkid(id, 1);
	assert_int_equal(proto_stem_originate(s, id, 0, &link), PROTO_STEM_FORWARD);
	mkid(other, 2);
	assert_false(proto_stem_on_gossip(s, other, 10)); /* unknown: ignored */
	assert_true(proto_stem_on_gossip(s, id, 10));
	assert_false(proto_stem_on_gossip(s, id, 11));
	assert_false(proto_stem_pending(s, id));
	assert_int_equal(proto_stem_next_deadline(s), UINT64_MAX);
	assert_false(proto_stem_expire(s, 10 * EMB, out));
	assert_int_equal(proto_stem_on_stem(s, 0, id, 20, &link), PROTO_STEM_DROP);
	proto_stem_get_stats(s, &st);
	assert_int_equal(st.cancelled, 1);
	assert_int_equal(st.dropped, 1);
	assert_int_equal(st.embargo_fired, 0);
	proto_stem_free(s);
}

static void test_loops(void **state)
{
	struct proto_stem *s = mk(1000, 2, 0, 9);
	struct proto_stem_stats st;
	uint8_t id[32];
	uint32_t link, first;
	uint64_t d;

	(void)state;
	links_up(s, 3);
	/* The origin's own report coming back over the stem is forwarded again, p = 1 or not. */
	mkid(id, 1);
	assert_int_equal(proto_stem_originate(s, id, 0, &first), PROTO_STEM_FORWARD);
	d = proto_stem_next_deadline(s);
	for (int k = 0; k < 10; k++) {
		assert_int_equal(proto_stem_on_stem(s, first, id, 10 + k, &link),
				 PROTO_STEM_FORWARD);
		assert_int_not_equal(link, first);
	}
	assert_true(proto_stem_pending(s, id));
	assert_int_equal(proto_stem_next_deadline(s), d); /* the embargo keeps running */
	proto_stem_get_stats(s, &st);
	assert_int_equal(st.stem_loops, 10);
	proto_stem_free(s);

	/* A relayed report looping back flips a fresh coin; at p = 1/1000 it forwards. */
	s = mk(1, 2, 0, 10);
	links_up(s, 3);
	mkid(id, 2);
	assert_int_equal(proto_stem_on_stem(s, 0, id, 0, &link), PROTO_STEM_FORWARD);
	assert_int_equal(proto_stem_on_stem(s, 1, id, 5, &link), PROTO_STEM_FORWARD);
	assert_int_not_equal(link, 1);
	proto_stem_free(s);
}

/* The only up link is the one the report came on: fluff rather than send it back. */
static void test_stuck(void **state)
{
	struct proto_stem *s = mk(1, 1, 0, 12);
	struct proto_stem_stats st;
	uint8_t id[32];
	uint32_t link = 99;

	(void)state;
	links_up(s, 1);
	mkid(id, 1);
	assert_int_equal(proto_stem_on_stem(s, 0, id, 0, &link), PROTO_STEM_FLUFF);
	assert_int_equal(link, 99);
	assert_int_equal(proto_stem_on_stem(s, 0, id, 1, &link), PROTO_STEM_DROP);
	/* One relay slot held by the inbound link, another link up: use that one. */
	assert_int_equal(proto_stem_link_up(s, 1, 2), 0);
	mkid(id, 2);
	assert_int_equal(proto_stem_originate(s, id, 3, &link), PROTO_STEM_FORWARD);
	assert_int_equal(link, 0);
	mkid(id, 3);
	assert_int_equal(proto_stem_on_stem(s, 0, id, 4, &link), PROTO_STEM_FORWARD);
	assert_int_equal(link, 1);
	proto_stem_get_stats(s, &st);
	assert_int_equal(st.fluffed_stuck, 1);
	proto_stem_free(s);
}

static void test_relay_down(void **state)
{
	struct proto_stem *s = mk(0, 2, 0, 13);
	uint8_t id[32];
	uint32_t link, own, n = 0;

	(void)state;
	links_up(s, 5);
	mkid(id, n++);
	assert_int_equal(proto_stem_originate(s, id, 0, &own), PROTO_STEM_FORWARD);
	/* Take links down one by one: the successor is always an up link. */
	for (uint32_t down = 0; down < 5; down++) {
		if (down == own)
			continue;
		assert_int_equal(proto_stem_link_down(s, down, 1), 0);
	}
	assert_int_equal(proto_stem_link_down(s, own, 2), 0);
	mkid(id, n++);
	assert_int_equal(proto_stem_originate(s, id, 3, &link), PROTO_STEM_FLUFF);
	for (uint32_t l = 0; l < 4; l++)
		assert_int_equal(proto_stem_link_up(s, l, 4), 0);
	for (uint32_t k = 0; k < 20; k++) {
		mkid(id, n++);
		assert_int_equal(proto_stem_originate(s, id, 5, &link), PROTO_STEM_FORWARD);
		assert_true(link < 4);
		assert_int_equal(proto_stem_link_down(s, link, 6), 0);
		assert_int_equal(proto_stem_link_up(s, link, 6), 0);
	}
	/* With relays 0..3 in turn replaced, a down relay is never returned. */
	assert_int_equal(proto_stem_link_down(s, 2, 7), 0);
	for (uint32_t k = 0; k < 50; k++) {
		mkid(id, n++);
		if (proto_stem_on_stem(s, k % 2, id, 8, &link) == PROTO_STEM_FORWARD)
			assert_true(link != 2 && link != k % 2 && link < 4);
	}
	proto_stem_free(s);
}

static void test_bounded(void **state)
{
	struct proto_stem *s = mk(1, 2, 16, 14);
	struct proto_stem_stats st;
	uint8_t id[32], out[32];
	uint32_t link, n;

	(void)state;
	links_up(s, 3);
	for (n = 0; n < 16; n++) {
		mkid(id, n);
		assert_int_equal(proto_stem_originate(s, id, 0, &link), PROTO_STEM_FORWARD);
	}
	assert_int_equal(proto_stem_tracked(s), 16);
	assert_int_equal(proto_stem_embargoed(s), 16);
	mkid(id, n);
	assert_int_equal(proto_stem_originate(s, id, 0, &link), -ENOBUFS);
	assert_int_equal(proto_stem_on_stem(s, 0, id, 0, &link), PROTO_STEM_FLUFF);
	assert_false(proto_stem_pending(s, id));
	/* Once their stems end, finished ids make room, oldest first. */
	for (uint32_t k = 0; k < 16; k++)
		assert_true(proto_stem_expire(s, 4 * EMB, out));
	assert_int_equal(proto_stem_embargoed(s), 0);
	assert_int_equal(proto_stem_tracked(s), 16);
	for (n = 100; n < 200; n++) {
		mkid(id, n);
		assert_int_equal(proto_stem_originate(s, id, 4 * EMB, &link), PROTO_STEM_FORWARD);
		assert_true(proto_stem_tracked(s) <= 16);
		assert_true(proto_stem_on_gossip(s, id, 4 * EMB));
	}
	mkid(id, 199);
	assert_int_equal(proto_stem_on_stem(s, 0, id, 4 * EMB, &link), PROTO_STEM_DROP);
	mkid(id, 100);
	assert_int_not_equal(proto_stem_on_stem(s, 0, id, 4 * EMB, &link), PROTO_STEM_DROP);
	proto_stem_get_stats(s, &st);
	assert_int_equal(st.fluffed_full, 1);
	proto_stem_free(s);
}

static void test_done_ttl(void **state)
{
	struct proto_stem_config c = {.done_ttl_ms = 1000, .fluff_permille = 1, .seed = 15};
	struct proto_stem *s = proto_stem_new(&c);
	uint8_t id[32], out[32];
	uint32_t link;

	(void)state;
	assert_non_null(s);
	links_up(s, 3);
	mkid(id, 1);
	assert_int_equal(proto_stem_originate(s, id, 0, &link), PROTO_STEM_FORWARD);
	assert_true(proto_stem_on_gossip(s, id, 100));
	assert_int_equal(proto_stem_tracked(s), 1);
	assert_false(proto_stem_expire(s, 1099, out));
	assert_int_equal(proto_stem_tracked(s), 1);
	assert_false(proto_stem_expire(s, 1100, out));
	assert_int_equal(proto_stem_tracked(s), 0);
	proto_stem_free(s);
}

/* Same seed and inputs, same verdicts; another seed differs somewhere. */
static void run_script(uint64_t seed, uint32_t *trace, size_t n)
{
	struct proto_stem *s = mk(300, 2, 0, seed);
	uint8_t id[32], out[32];
	uint64_t rng = 77;

	links_up(s, 8);
	for (size_t k = 0; k < n; k++) {
		uint32_t link = 0xffff, from = (uint32_t)(tu_rand(&rng) % 8);
		int v;

		mkid(id, (uint32_t)(tu_rand(&rng) % 64));
		if (k % 3)
			v = proto_stem_on_stem(s, from, id, k * 100, &link);
		else
			v = proto_stem_originate(s, id, k * 100, &link);
		while (proto_stem_expire(s, k * 100, out))
			v += 7;
		trace[k] = (uint32_t)v * 65536u + link;
	}
	proto_stem_free(s);
}

static void test_deterministic(void **state)
{
	uint32_t a[400], b[400], c[400];

	(void)state;
	run_script(42, a, 400);
	run_script(42, b, 400);
	run_script(43, c, 400);
	assert_memory_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, c, sizeof(a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_bounds), cmocka_unit_test(test_link_events),
		cmocka_unit_test(test_origin),	      cmocka_unit_test(test_fixed_successor),
		cmocka_unit_test(test_epochs_redraw), cmocka_unit_test(test_coin_rate),
		cmocka_unit_test(test_embargo),	      cmocka_unit_test(test_gossip_cancels),
		cmocka_unit_test(test_loops),	      cmocka_unit_test(test_stuck),
		cmocka_unit_test(test_relay_down),    cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_done_ttl),      cmocka_unit_test(test_deterministic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
