/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_proto_gossip.c — the Plumtree engine: origin pushes to all links,
 * forward/discard after admission, duplicate -> PRUNE (at once and after a streak), no
 * copy back to a link that sent one, tree
 * formation on the oldest report, IHAVE -> GRAFT after the timeout (and the next
 * announcer after that; longer while the tree lags, none while it moves), no IHAVE back to its
 * announcers, GRAFT -> PUSH, PRUNE -> lazy, off-tree copies held without
 * breaking the tree (and grafted when no tree copy comes, unless the copy came behind our
 * PRUNE), IHAVE batching, link_down
 * cleanup, bounded caches, and a spanning tree on a small network.
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
#include "proto/gossip.h"
#include "testutil.h"

#define MAXA 64

struct acts {
	size_t n;
	struct {
		uint32_t link;
		enum proto_link_type type;
		size_t n;
		uint8_t ids[8][32];
	} a[MAXA];
};

static void drain(struct proto_gossip *g, struct acts *out)
{
	struct proto_gossip_action a;

	out->n = 0;
	while (proto_gossip_poll(g, &a)) {
		assert_true(out->n < MAXA);
		out->a[out->n].link = a.link;
		out->a[out->n].type = a.type;
		out->a[out->n].n = a.n;
		for (size_t i = 0; i < a.n && i < 8; i++)
			memcpy(out->a[out->n].ids[i], a.ids[i], 32);
		out->n++;
	}
}

/* Index of the action (@type on @link), or -1. */
static int find(const struct acts *x, enum proto_link_type type, uint32_t link)
{
	for (size_t i = 0; i < x->n; i++)
		if (x->a[i].type == type && x->a[i].link == link)
			return (int)i;
	return -1;
}

static size_t count(const struct acts *x, enum proto_link_type type)
{
	size_t n = 0;

	for (size_t i = 0; i < x->n; i++)
		n += x->a[i].type == type;
	return n;
}

static void mkid(uint8_t id[32], unsigned v)
{
	memset(id, 0, 32);
	id[0] = (uint8_t)v;
	id[1] = (uint8_t)(v >> 8);
	id[31] = 0x5a;
}

#define FORM_MS 10
#define T0 100 /* after formation and its settling time: every test event happens later */

/*
 * An engine with links 0..n-1 up (all eager) and its tree formation over: a report of its
 * own at time 0 starts the formation window, which ends (pruning nothing) at FORM_MS.
 * Defaults: formation_ms FORM_MS, prune_dups 1 (the paper's rule) unless @cfg says.
 */
static struct proto_gossip *engine(const struct proto_gossip_config *cfg, unsigned n)
{
	struct proto_gossip_config c = {0};
	struct proto_gossip *g;
	struct acts x;
	uint8_t own[32];

	if (cfg)
		c = *cfg;
	if (!c.formation_ms)
		c.formation_ms = FORM_MS;
	if (!c.prune_dups)
		c.prune_dups = 1;
	g = proto_gossip_new(&c);
	assert_non_null(g);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(proto_gossip_link_up(g, i, 0), 0);
	memset(own, 0xee, sizeof(own));
	assert_int_equal(proto_gossip_publish(g, own, 1, 0), 0);
	assert_int_equal(proto_gossip_tick(g, FORM_MS), 0);
	drain(g, &x);
	assert_int_equal(count(&x, PROTO_LINK_PUSH), n);
	assert_int_equal(count(&x, PROTO_LINK_PRUNE), 0);
	return g;
}

/* The default: the origin pushes on eager links and announces on lazy ones. */
static void test_publish_eager_only(void **state)
{
	struct proto_gossip_config cfg = {.ihave_flush_ms = 20};
	struct proto_gossip *g = engine(&cfg, 4);
	struct acts x;
	uint8_t id[32];

	(void)state;
	assert_int_equal(proto_gossip_on_prune(g, 1, T0), 0);
	assert_int_equal(proto_gossip_on_prune(g, 3, T0), 0);
	mkid(id, 1);
	assert_int_equal(proto_gossip_publish(g, id, 5, T0 + 10), 0);
	drain(g, &x);
	assert_int_equal(x.n, 2);
	assert_true(find(&x, PROTO_LINK_PUSH, 0) >= 0);
	assert_true(find(&x, PROTO_LINK_PUSH, 2) >= 0);
	assert_int_equal(proto_gossip_tick(g, T0 + 30), 0);
	drain(g, &x);
	assert_int_equal(x.n, 2);
	for (uint32_t l = 1; l < 4; l += 2) {
		int i = find(&x, PROTO_LINK_IHAVE, l);

		assert_true(i >= 0);
		assert_int_equal(x.a[i].n, 1);
		assert_memory_equal(x.a[i].ids[0], id, 32);
	}
	proto_gossip_free(g);
}

static void test_publish_pushes_all(void **state)
{
	struct proto_gossip_config cfg = {.origin_push_all = true};
	struct proto_gossip *g = engine(&cfg, 4);
	struct acts x;
	uint8_t id[32];

	(void)state;
	assert_int_equal(proto_gossip_on_prune(g, 1, T0), 0);
	assert_int_equal(proto_gossip_on_prune(g, 3, T0), 0);
	assert_int_equal(proto_gossip_link_state(g, 1), PROTO_GOSSIP_LINK_LAZY);
	mkid(id, 1);
	assert_int_equal(proto_gossip_publish(g, id, 5, T0 + 10), 0);
	drain(g, &x);
	/* origin_push_all: the origin pushes to every link, lazy ones included. */
	assert_int_equal(x.n, 4);
	for (uint32_t l = 0; l < 4; l++) {
		int i = find(&x, PROTO_LINK_PUSH, l);

		assert_true(i >= 0);
		assert_int_equal(x.a[i].n, 1);
		assert_memory_equal(x.a[i].ids[0], id, 32);
	}
	assert_int_equal(proto_gossip_publish(g, id, 5, T0 + 11), PROTO_E_GOSSIP_KNOWN);
	assert_true(proto_gossip_seen(g, id));
	/* Nothing pending but the expiry of the first remembered id. */
	assert_int_equal(proto_gossip_next_deadline(g), 0 + 3600000);
	proto_gossip_free(g);
}

static void test_forward_and_duplicate(void **state)
{
	struct proto_gossip_config cfg = {.ihave_flush_ms = 30};
	struct proto_gossip *g = engine(&cfg, 4);
	struct proto_gossip_stats st;
	struct acts x;
	uint8_t id[32];
	int i;

	(void)state;
	assert_int_equal(proto_gossip_on_prune(g, 3, T0), 0); /* 0,1,2 eager; 3 lazy */
	mkid(id, 7);
	assert_int_equal(proto_gossip_on_push(g, 0, id, 5, T0 + 100), PROTO_GOSSIP_NEW);
	drain(g, &x);
	assert_int_equal(x.n, 0); /* nothing before admission */
	assert_int_equal(proto_gossip_forward(g, id, T0 + 105), 0);
	drain(g, &x);
	/* Eager links but the sender get the report; the lazy link waits for its batch. */
	assert_int_equal(x.n, 2);
	assert_true(find(&x, PROTO_LINK_PUSH, 1) >= 0);
	assert_true(find(&x, PROTO_LINK_PUSH, 2) >= 0);
	assert_int_equal(proto_gossip_next_deadline(g), T0 + 135);
	assert_int_equal(proto_gossip_tick(g, T0 + 134), 0);
	drain(g, &x);
	assert_int_equal(x.n, 0);
	assert_int_equal(proto_gossip_tick(g, T0 + 135), 0);
	drain(g, &x);
	assert_int_equal(x.n, 1);
	i = find(&x, PROTO_LINK_IHAVE, 3);
	assert_true(i >= 0);
	assert_int_equal(x.a[i].n, 1);
	assert_memory_equal(x.a[i].ids[0], id, 32);
	assert_int_equal(proto_gossip_forward(g, id, T0 + 140), PROTO_E_GOSSIP_STATE);

	/* A copy on an eager link closes a cycle: PRUNE it. */
	assert_int_equal(proto_gossip_on_push(g, 2, id, 5, T0 + 150), PROTO_GOSSIP_DUPLICATE);
	drain(g, &x);
	assert_int_equal(x.n, 1);
	assert_int_equal(x.a[0].type, PROTO_LINK_PRUNE);
	assert_int_equal(x.a[0].link, 2);
	assert_int_equal(x.a[0].n, 0);
	assert_int_equal(proto_gossip_link_state(g, 2), PROTO_GOSSIP_LINK_LAZY);
	/* A copy on a lazy link: its sender still pushes to us, so it is told again. */
	assert_int_equal(proto_gossip_on_push(g, 3, id, 5, T0 + 151), PROTO_GOSSIP_DUPLICATE);
	drain(g, &x);
	assert_int_equal(x.n, 1);
	assert_true(find(&x, PROTO_LINK_PRUNE, 3) >= 0);
	assert_int_equal(proto_gossip_link_state(g, 3), PROTO_GOSSIP_LINK_LAZY);
	proto_gossip_get_stats(g, &st);
	assert_int_equal(st.push_new, 1);
	assert_int_equal(st.push_dup, 2);
	assert_int_equal(st.prune_sent, 2);
	assert_int_equal(st.ihave_ids_sent, 1);
	proto_gossip_free(g);
}

/*
 * A lazy link that keeps bringing copies (an origin pushes to every link) is told PRUNE
 * once per second at most, not once per copy.
 */
static void test_prune_repeat_limited(void **state)
{
	struct proto_gossip *g = engine(NULL, 2);
	struct proto_gossip_stats st;
	struct acts x;
	uint8_t id[32];

	(void)state;
	assert_int_equal(proto_gossip_on_prune(g, 1, T0), 0); /* 1 is lazy here */
	for (unsigned k = 0; k < 50; k++) {
		mkid(id, 300 + k);
		assert_int_equal(proto_gossip_on_push(g, 0, id, 5, T0 + k), PROTO_GOSSIP_NEW);
		assert_int_equal(proto_gossip_forward(g, id, T0 + k), 0);
		assert_int_equal(proto_gossip_on_push(g, 1, id, 5, T0 + k), PROTO_GOSSIP_DUPLICATE);
	}
	drain(g, &x);
	assert_int_equal(count(&x, PROTO_LINK_PRUNE), 1);
	assert_true(find(&x, PROTO_LINK_PRUNE, 1) >= 0);
	/* A second later it is told again. */
	mkid(id, 400);
	assert_int_equal(proto_gossip_on_push(g, 0, id, 5, T0 + 1000), PROTO_GOSSIP_NEW);
	assert_int_equal(proto_gossip_forward(g, id, T0 + 1000), 0);
	assert_int_equal(proto_gossip_on_push(g, 1, id, 5, T0 + 1000), PROTO_GOSSIP_DUPLICATE);
	drain(g, &x);
	assert_int_equal(count(&x, PROTO_LINK_PRUNE), 1);
	proto_gossip_get_stats(g, &st);
	assert_int_equal(st.prune_sent, 2);
	assert_int_equal(st.prune_repeats_saved, 49);
	assert_int_equal(proto_gossip_link_state(g, 0), PROTO_GOSSIP_LINK_EAGER);
	proto_gossip_free(g);
}

/* After formation an eager link is pruned only after prune_dups duplicates in a row. */
static void test_prune_streak(void **state)
{
	struct proto_gossip_config cfg = {.prune_dups = 3};
	struct proto_gossip *g = engine(&cfg, 2);
	struct acts x;
	uint8_t id[32];
	unsigned k = 200;

	(void)state;
	/* Each report first on link 0, copy on link 1: two copies, then a new one on 1. */
	for (int round = 0; round < 2; round++) {
		for (int j = 0; j < 2; j++, k++) {
			mkid(id, k);
			assert_int_equal(proto_gossip_on_push(g, 0, id, 5, T0 + k),
					 PROTO_GOSSIP_NEW);
			assert_int_equal(proto_gossip_forward(g, id, T0 + k), 0);
			assert_int_equal(proto_gossip_on_push(g, 1, id, 5, T0 + k),
					 PROTO_GOSSIP_DUPLICATE);
		}
		mkid(id, k++);
		assert_int_equal(proto_gossip_on_push(g, 1, id, 5, T0 + k), PROTO_GOSSIP_NEW);
		assert_int_equal(proto_gossip_forward(g, id, T0 + k), 0);
	}
	drain(g, &x);
	assert_int_equal(count(&x, PROTO_LINK_PRUNE), 0);
	assert_int_equal(proto_gossip_link_state(g, 1), PROTO_GOSSIP_LINK_EAGER);
	/* Three in a row do it. */
	for (int j = 0; j < 3; j++, k++) {
		mkid(id, k);
		assert_int_equal(proto_gossip_on_push(g, 0, id, 5, T0 + k), PROTO_GOSSIP_NEW);
		assert_int_equal(proto_gossip_forward(g, id, T0 + k), 0);
		assert_int_equal(proto_gossip_on_push(g, 1, id, 5, T0 + k), PROTO_GOSSIP_DUPLICATE);
	}
	drain(g, &x);
	assert_int_equal(count(&x, PROTO_LINK_PRUNE), 1);
	assert_true(find(&x, PROTO_LINK_PRUNE, 1) >= 0);
	assert_int_equal(proto_gossip_link_state(g, 1), PROTO_GOSSIP_LINK_LAZY);
	proto_gossip_free(g);
}

/*
 * A link that sent a copy while the report awaited admission holds it: forwarding sends it
 * neither a copy (eager link) nor an IHAVE (lazy link). Admission takes seconds in a
 * burst, and a second copy often comes meanwhile.
 */
static void test_no_copy_back(void **state)
{
	struct proto_gossip_config cfg = {.prune_dups = 6, .ihave_flush_ms = 20};
	struct proto_gossip *g = engine(&cfg, 4);
	struct proto_gossip_stats st;
	struct acts x;
	uint8_t id[32];

	(void)state;
	assert_int_equal(proto_gossip_on_prune(g, 3, T0), 0); /* 3 lazy, 0-2 eager */
	mkid(id, 1);
	assert_int_equal(proto_gossip_on_push(g, 0, id, 5, T0), PROTO_GOSSIP_NEW);
	assert_int_equal(proto_gossip_on_push(g, 1, id, 5, T0 + 1), PROTO_GOSSIP_DUPLICATE);
	assert_int_equal(proto_gossip_on_push(g, 3, id, 5, T0 + 2), PROTO_GOSSIP_DUPLICATE);
	drain(g, &x);
	assert_int_equal(x.n, 1); /* the lazy link's sender is told to prune */
	assert_true(find(&x, PROTO_LINK_PRUNE, 3) >= 0);
	assert_int_equal(proto_gossip_link_state(g, 1), PROTO_GOSSIP_LINK_EAGER);
	assert_int_equal(proto_gossip_forward(g, id, T0 + 3), 0);
	assert_int_equal(proto_gossip_tick(g, T0 + 100), 0);
	drain(g, &x);
	/* Only link 2 gets it: 0 sent it first, 1 and 3 sent copies. */
	assert_int_equal(x.n, 1);
	assert_true(find(&x, PROTO_LINK_PUSH, 2) >= 0);
	proto_gossip_get_stats(g, &st);
	assert_int_equal(st.push_saved, 1);
	assert_int_equal(st.ihave_saved, 1);
	assert_int_equal(st.dup_eager, 1);
	assert_int_equal(st.dup_lazy, 1);
	assert_int_equal(st.prune_lazy, 1);
	assert_int_equal(st.prune_streak, 0);

	/* Once forwarded, a copy changes nothing: the next report goes to 1 again. */
	mkid(id, 2);
	assert_int_equal(proto_gossip_on_push(g, 0, id, 5, T0 + 200), PROTO_GOSSIP_NEW);
	assert_int_equal(proto_gossip_forward(g, id, T0 + 201), 0);
	drain(g, &x);
	assert_int_equal(x.n, 2);
	assert_true(find(&x, PROTO_LINK_PUSH, 1) >= 0);
	assert_true(find(&x, PROTO_LINK_PUSH, 2) >= 0);
	proto_gossip_free(g);
}

/*
 * Formation: nothing is pruned for formation_ms after the first report; then the links
 * that brought a second copy of the OLDEST report seen meanwhile are pruned, and copies of
 * reports flooded during formation never count against a link afterwards.
 */
static void test_formation(void **state)
{
	struct proto_gossip_config cfg = {.formation_ms = 100, .prune_dups = 1};
	struct proto_gossip *g = proto_gossip_new(&cfg);
	struct acts x;
	uint8_t newer[32], older[32], late[32];

	(void)state;
	assert_non_null(g);
	for (uint32_t l = 0; l < 5; l++)
		assert_int_equal(proto_gossip_link_up(g, l, 0), 0);
	mkid(newer, 1);
	mkid(older, 2);
	mkid(late, 3);
	assert_int_equal(proto_gossip_next_deadline(g), UINT64_MAX);
	/* A newer report first (it starts the window), flooded on links 0, 1, 2. */
	assert_int_equal(proto_gossip_on_push(g, 0, newer, 2000, 1000), PROTO_GOSSIP_NEW);
	assert_int_equal(proto_gossip_forward(g, newer, 1000), 0);
	assert_int_equal(proto_gossip_next_deadline(g), 1100);
	assert_int_equal(proto_gossip_on_push(g, 1, newer, 2000, 1010), PROTO_GOSSIP_DUPLICATE);
	assert_int_equal(proto_gossip_on_push(g, 2, newer, 2000, 1011), PROTO_GOSSIP_DUPLICATE);
	/* The older report arrives later, first on link 3, again on 4 and 0. */
	assert_int_equal(proto_gossip_on_push(g, 3, older, 1500, 1020), PROTO_GOSSIP_NEW);
	assert_int_equal(proto_gossip_forward(g, older, 1020), 0);
	assert_int_equal(proto_gossip_on_push(g, 4, older, 1500, 1030), PROTO_GOSSIP_DUPLICATE);
	assert_int_equal(proto_gossip_on_push(g, 0, older, 1500, 1031), PROTO_GOSSIP_DUPLICATE);
	drain(g, &x);
	assert_int_equal(count(&x, PROTO_LINK_PRUNE), 0); /* flooding: no PRUNE yet */
	assert_int_equal(proto_gossip_tick(g, 1099), 0);
	drain(g, &x);
	assert_int_equal(x.n, 0);
	/* The older report's tree: its second copies came on links 4 and 0. */
	assert_int_equal(proto_gossip_tick(g, 1100), 0);
	drain(g, &x);
	assert_int_equal(x.n, 2);
	assert_true(find(&x, PROTO_LINK_PRUNE, 4) >= 0);
	assert_true(find(&x, PROTO_LINK_PRUNE, 0) >= 0);
	assert_int_equal(proto_gossip_link_state(g, 1), PROTO_GOSSIP_LINK_EAGER);
	assert_int_equal(proto_gossip_link_state(g, 2), PROTO_GOSSIP_LINK_EAGER);
	assert_int_equal(proto_gossip_link_state(g, 3), PROTO_GOSSIP_LINK_EAGER);
	/* A report still flooding from neighbours that formed later: its copies are ignored. */
	assert_int_equal(proto_gossip_on_push(g, 1, late, 1600, 1150), PROTO_GOSSIP_NEW);
	assert_int_equal(proto_gossip_forward(g, late, 1150), 0);
	assert_int_equal(proto_gossip_on_push(g, 2, late, 1600, 1160), PROTO_GOSSIP_DUPLICATE);
	drain(g, &x);
	assert_int_equal(count(&x, PROTO_LINK_PRUNE), 0);
	assert_int_equal(proto_gossip_link_state(g, 2), PROTO_GOSSIP_LINK_EAGER);
	proto_gossip_free(g);
}

static void test_discard_never_forwarded(void **state)
{
	struct proto_gossip *g = engine(NULL, 3);
	struct acts x;
	uint8_t id[32];

	(void)state;
	mkid(id, 9);
	assert_int_equal(proto_gossip_on_push(g, 0, id, 5, T0), PROTO_GOSSIP_NEW);
	assert_int_equal(proto_gossip_discard(g, id, T0 + 1), 0);
	assert_int_equal(proto_gossip_forward(g, id, T0 + 2), PROTO_E_GOSSIP_STATE);
	assert_int_equal(proto_gossip_discard(g, id, T0 + 2), PROTO_E_GOSSIP_STATE);
	/* Not even on request, and announcements of it start no timer. */
	assert_int_equal(proto_gossip_on_graft(g, 1, (const uint8_t(*)[32])id, 1, T0 + 3), 0);
	assert_int_equal(proto_gossip_on_ihave(g, 2, (const uint8_t(*)[32])id, 1, T0 + 3), 0);
	assert_int_equal(proto_gossip_tick(g, 100000), 0);
	drain(g, &x);
	assert_int_equal(x.n, 0);
	/* Copies are still duplicates (a pending or refused id is seen). */
	assert_int_equal(proto_gossip_on_push(g, 2, id, 5, T0 + 5), PROTO_GOSSIP_DUPLICATE);
	mkid(id, 10);
	assert_int_equal(proto_gossip_forward(g, id, T0 + 6), PROTO_E_GOSSIP_STATE);
	proto_gossip_free(g);
}

/* A forgotten id (refused for now, e.g. rate limited) is NEW again on its next copy. */
static void test_forget(void **state)
{
	struct proto_gossip *g = engine(NULL, 3);
	struct acts x;
	uint8_t id[32];

	(void)state;
	mkid(id, 11);
	assert_int_equal(proto_gossip_forget(g, id, T0), PROTO_E_GOSSIP_STATE);
	assert_int_equal(proto_gossip_on_push(g, 0, id, 5, T0), PROTO_GOSSIP_NEW);
	assert_int_equal(proto_gossip_forget(g, id, T0 + 1), 0);
	assert_false(proto_gossip_seen(g, id));
	drain(g, &x);
	assert_int_equal(count(&x, PROTO_LINK_PUSH), 0);
	assert_int_equal(proto_gossip_forget(g, id, T0 + 2), PROTO_E_GOSSIP_STATE);
	/* An announcement of it now starts a GRAFT timer, and a copy is NEW. */
	assert_int_equal(proto_gossip_on_ihave(g, 2, (const uint8_t(*)[32])id, 1, T0 + 3), 0);
	assert_int_equal(proto_gossip_tick(g, T0 + 100000), 0);
	drain(g, &x);
	assert_int_equal(count(&x, PROTO_LINK_GRAFT), 1);
	assert_int_equal(proto_gossip_on_push(g, 1, id, 5, T0 + 100001), PROTO_GOSSIP_NEW);
	assert_int_equal(proto_gossip_forward(g, id, T0 + 100002), 0);
	assert_int_equal(proto_gossip_on_push(g, 2, id, 5, T0 + 100003), PROTO_GOSSIP_DUPLICATE);
	proto_gossip_free(g);
}

static void test_ihave_graft_timeout(void **state)
{
	struct proto_gossip_config cfg = {.graft_timeout_ms = 200, .graft_retry_ms = 100};
	struct proto_gossip *g = engine(&cfg, 4);
	struct proto_gossip_stats st;
	struct acts x;
	uint8_t ids[3][32];
	uint64_t d;
	int i;

	(void)state;
	for (int k = 0; k < 3; k++)
		mkid(ids[k], 20 + k);
	assert_int_equal(proto_gossip_on_prune(g, 2, T0), 0);
	assert_int_equal(proto_gossip_on_prune(g, 3, T0), 0);
	/* Link 2 announces two ids, link 3 the first one too, a bit later. */
	assert_int_equal(proto_gossip_on_ihave(g, 2, (const uint8_t(*)[32])ids, 2, 1000), 0);
	assert_int_equal(proto_gossip_on_ihave(g, 3, (const uint8_t(*)[32])ids, 1, 1050), 0);
	drain(g, &x);
	assert_int_equal(x.n, 0);
	/* The timer: 200 ms plus up to 100 ms of jitter. */
	d = proto_gossip_next_deadline(g);
	assert_true(d >= 1200 && d <= 1300);
	assert_int_equal(proto_gossip_tick(g, 1199), 0);
	drain(g, &x);
	assert_int_equal(x.n, 0);
	/* Timeout: one GRAFT with both ids to the first announcer, which becomes eager. */
	assert_int_equal(proto_gossip_tick(g, 1300), 0);
	drain(g, &x);
	assert_int_equal(x.n, 1);
	i = find(&x, PROTO_LINK_GRAFT, 2);
	assert_true(i >= 0);
	assert_int_equal(x.a[i].n, 2);
	assert_memory_equal(x.a[i].ids[0], ids[0], 32);
	assert_memory_equal(x.a[i].ids[1], ids[1], 32);
	assert_int_equal(proto_gossip_link_state(g, 2), PROTO_GOSSIP_LINK_EAGER);
	/* The second id arrives; the first does not: the next announcer is grafted. */
	assert_int_equal(proto_gossip_on_push(g, 2, ids[1], 5, 1350), PROTO_GOSSIP_NEW);
	assert_int_equal(proto_gossip_next_deadline(g), 1400);
	assert_int_equal(proto_gossip_tick(g, 1400), 0);
	drain(g, &x);
	assert_int_equal(x.n, 1);
	i = find(&x, PROTO_LINK_GRAFT, 3);
	assert_true(i >= 0);
	assert_int_equal(x.a[i].n, 1);
	assert_memory_equal(x.a[i].ids[0], ids[0], 32);
	/* Nobody left: give up (catch-up will find it). */
	assert_int_equal(proto_gossip_tick(g, 1500), 0);
	drain(g, &x);
	assert_int_equal(x.n, 0);
	proto_gossip_get_stats(g, &st);
	assert_int_equal(st.missing_gave_up, 1);
	assert_int_equal(st.graft_sent, 2);
	assert_int_equal(st.graft_ids_sent, 3);
	/* An id that arrives before its timer needs no GRAFT. */
	assert_int_equal(proto_gossip_on_ihave(g, 3, (const uint8_t(*)[32])ids[2], 1, 2000), 0);
	assert_int_equal(proto_gossip_on_push(g, 0, ids[2], 5, 2100), PROTO_GOSSIP_NEW);
	assert_int_equal(proto_gossip_tick(g, 5000), 0);
	drain(g, &x);
	assert_int_equal(count(&x, PROTO_LINK_GRAFT), 0);
	proto_gossip_free(g);
}

/* Actions of @type on @link. */
static size_t count_on(const struct acts *x, enum proto_link_type type, uint32_t link)
{
	size_t n = 0;

	for (size_t i = 0; i < x->n; i++)
		n += x->a[i].type == type && x->a[i].link == link;
	return n;
}

/*
 * In a burst (lag_awaited other ids awaited), the GRAFT wait follows the tree's lag:
 * graft_timeout_ms plus twice the median over the recent seconds of each second's largest
 * lag of a tree copy behind its first IHAVE, also for ids announced before those copies
 * came; samples older than 10 s do not count, nor a lag while nothing else is awaited.
 * The tree copy of an id grafted too early is a sample too, and does not count towards
 * pruning its link.
 */
static void test_graft_wait_follows_lag(void **state)
{
	struct proto_gossip_config cfg = {.graft_timeout_ms = 200,
					  .graft_retry_ms = 60000,
					  .prune_dups = 2,
					  .lag_awaited = 1};
	struct proto_gossip *g = engine(&cfg, 3);
	struct proto_gossip_stats st;
	struct acts x;
	uint8_t a[32], b[32], c[32], d[32], e[32], f[32], pin[32];
	int i;

	(void)state;
	mkid(a, 40);
	mkid(b, 41);
	mkid(c, 42);
	mkid(d, 43);
	mkid(e, 44);
	mkid(f, 45);
	mkid(pin, 46);
	/* Link 0 is the tree; 1 and 2 are lazy. */
	assert_int_equal(proto_gossip_on_prune(g, 1, T0), 0);
	assert_int_equal(proto_gossip_on_prune(g, 2, T0), 0);
	/* f is the only id awaited: its lag (110 ms) is no sample. */
	assert_int_equal(proto_gossip_on_ihave(g, 2, (const uint8_t(*)[32])f, 1, 990), 0);
	assert_int_equal(proto_gossip_on_push(g, 0, f, 5, 1100), PROTO_GOSSIP_NEW);
	assert_int_equal(proto_gossip_forward(g, f, 1100), 0);
	proto_gossip_get_stats(g, &st);
	assert_int_equal(st.lag_samples, 0);
	/* pin stays awaited from now on (its GRAFT goes to link 1, never retried). */
	assert_int_equal(proto_gossip_on_ihave(g, 1, (const uint8_t(*)[32])pin, 1, 1000), 0);
	/* a: announced at 1000, its tree copy comes 180 ms later. */
	assert_int_equal(proto_gossip_on_ihave(g, 2, (const uint8_t(*)[32])a, 1, 1000), 0);
	/* b is announced meanwhile; c shows a lag of 400 ms before b's timer runs out. */
	assert_int_equal(proto_gossip_on_ihave(g, 2, (const uint8_t(*)[32])b, 1, 1100), 0);
	assert_int_equal(proto_gossip_on_ihave(g, 2, (const uint8_t(*)[32])c, 1, 1101), 0);
	assert_int_equal(proto_gossip_on_push(g, 0, a, 5, 1180), PROTO_GOSSIP_NEW);
	assert_int_equal(proto_gossip_forward(g, a, 1180), 0);
	assert_int_equal(proto_gossip_on_push(g, 0, c, 5, 1501), PROTO_GOSSIP_NEW);
	assert_int_equal(proto_gossip_forward(g, c, 1501), 0);
	drain(g, &x);
	/* One second, its largest lag 400: b waits 200 + 2 x 400 ms (+ up to 100 of jitter). */
	assert_int_equal(proto_gossip_tick(g, 2099), 0);
	drain(g, &x);
	assert_int_equal(count_on(&x, PROTO_LINK_GRAFT, 2), 0);
	/*
	 * Then longer, while the tree moves: its last copy came at 1501, and the gap before it
	 * (321 ms) makes a stall 200 + 2 x 321 ms (test_graft_waits_for_moving_tree).
	 */
	assert_int_equal(proto_gossip_tick(g, 2200), 0);
	drain(g, &x);
	assert_int_equal(count_on(&x, PROTO_LINK_GRAFT, 2), 0);
	assert_int_equal(proto_gossip_tick(g, 2500), 0);
	drain(g, &x);
	i = find(&x, PROTO_LINK_GRAFT, 2);
	assert_true(i >= 0);
	assert_int_equal(x.a[i].n, 1);
	assert_memory_equal(x.a[i].ids[0], b, 32);
	/* The answer comes first; the tree copy 1,600 ms after the IHAVE is no cycle. */
	assert_int_equal(proto_gossip_on_push(g, 2, b, 5, 2550), PROTO_GOSSIP_NEW);
	assert_int_equal(proto_gossip_forward(g, b, 2550), 0);
	assert_int_equal(proto_gossip_on_push(g, 0, b, 5, 2700), PROTO_GOSSIP_DUPLICATE);
	drain(g, &x);
	assert_int_equal(count(&x, PROTO_LINK_PRUNE), 0);
	assert_int_equal(proto_gossip_link_state(g, 0), PROTO_GOSSIP_LINK_EAGER);
	proto_gossip_get_stats(g, &st);
	assert_int_equal(st.graft_early, 1);
	assert_int_equal(st.lag_samples, 3);
	/* Seconds {400, 1600}: the upper median 1600, so d waits 200 + 2 x 1600 ms. */
	assert_int_equal(proto_gossip_on_prune(g, 2, 2700), 0);
	assert_int_equal(proto_gossip_on_ihave(g, 2, (const uint8_t(*)[32])d, 1, 2700), 0);
	assert_int_equal(proto_gossip_tick(g, 6099), 0);
	drain(g, &x);
	assert_int_equal(count_on(&x, PROTO_LINK_GRAFT, 2), 0);
	assert_int_equal(proto_gossip_tick(g, 6200), 0);
	drain(g, &x);
	assert_int_equal(count_on(&x, PROTO_LINK_GRAFT, 2), 1);
	/* 10 s after the last sample none counts: graft_timeout_ms again. */
	assert_int_equal(proto_gossip_on_prune(g, 2, 12800), 0);
	assert_int_equal(proto_gossip_on_ihave(g, 2, (const uint8_t(*)[32])e, 1, 12800), 0);
	assert_int_equal(proto_gossip_tick(g, 12999), 0);
	drain(g, &x);
	assert_int_equal(count_on(&x, PROTO_LINK_GRAFT, 2), 0);
	assert_int_equal(proto_gossip_tick(g, 13100), 0);
	drain(g, &x);
	assert_int_equal(count_on(&x, PROTO_LINK_GRAFT, 2), 1);
	proto_gossip_free(g);
}

/* A tree copy on link 0 of a report nobody announced, forwarded, at @t. */
static void tree_copy(struct proto_gossip *g, unsigned v, uint64_t t)
{
	uint8_t id[32];
	struct acts x;

	mkid(id, v);
	assert_int_equal(proto_gossip_on_push(g, 0, id, 5, t), PROTO_GOSSIP_NEW);
	assert_int_equal(proto_gossip_forward(g, id, t), 0);
	drain(g, &x);
}

/*
 * In a burst (lag_awaited ids awaited or held), neither a GRAFT nor the end of a hold happens
 * while the tree keeps bringing new reports (within graft_timeout_ms plus twice the largest
 * recent gap between them) and has not passed the id over (brought one announced more than
 * that after it); a stalled tree, or one that passed the id over, gets the GRAFT.
 */
static void test_graft_waits_for_moving_tree(void **state)
{
	struct proto_gossip_config cfg = {
		.graft_timeout_ms = 200, .graft_retry_ms = 60000, .hold_ms = 300, .lag_awaited = 2};
	struct proto_gossip *g = engine(&cfg, 3);
	struct proto_gossip_stats st;
	struct acts x;
	uint8_t a[2][32], h[32], p[2][32], q[32];
	unsigned grafted = 0;
	uint64_t t;
	int i;

	(void)state;
	mkid(a[0], 70);
	mkid(a[1], 71);
	mkid(h, 72);
	mkid(p[0], 73);
	mkid(p[1], 74);
	mkid(q, 75);
	/* Link 0 is the tree; 1 and 2 are lazy. */
	assert_int_equal(proto_gossip_on_prune(g, 1, T0), 0);
	assert_int_equal(proto_gossip_on_prune(g, 2, T0), 0);
	/* Two ids announced on link 2, one copy off the tree on link 1, all at 1000. */
	assert_int_equal(proto_gossip_on_ihave(g, 2, (const uint8_t(*)[32])a, 2, 1000), 0);
	assert_int_equal(proto_gossip_on_push(g, 1, h, 5, 1000), PROTO_GOSSIP_NEW);
	assert_int_equal(proto_gossip_forward(g, h, 1000), 0);
	/* The tree brings other reports every 50 ms for a second: nothing is grafted. */
	for (t = 1050; t <= 2000; t += 50) {
		tree_copy(g, 1000 + (unsigned)t / 50, t);
		assert_int_equal(proto_gossip_tick(g, t), 0);
		drain(g, &x);
		assert_int_equal(count(&x, PROTO_LINK_GRAFT), 0);
	}
	assert_true(proto_gossip_lagging(g, 2000));
	proto_gossip_get_stats(g, &st);
	assert_int_equal(st.tree_waits, 3);
	assert_int_equal(st.held_expired, 0);
	/* It stalls: within 200 + 2 x 50 ms (and the jitter, on a 100 ms grid) both GRAFT. */
	assert_int_equal(proto_gossip_tick(g, 2199), 0);
	drain(g, &x);
	assert_int_equal(count(&x, PROTO_LINK_GRAFT), 0);
	assert_int_equal(proto_gossip_tick(g, 2500), 0);
	drain(g, &x);
	i = find(&x, PROTO_LINK_GRAFT, 2);
	assert_true(i >= 0);
	assert_int_equal(x.a[i].n, 2);
	i = find(&x, PROTO_LINK_GRAFT, 1);
	assert_true(i >= 0);
	assert_memory_equal(x.a[i].ids[0], h, 32);
	proto_gossip_get_stats(g, &st);
	assert_int_equal(st.held_expired, 1);

	/*
	 * The answers come, and a tree copy while nothing is awaited (that gap is no stall).
	 * Then p waits for the moving tree until it brings q, announced 500 ms after p (the
	 * stall is 200 + 2 x 100 ms now).
	 */
	for (int k = 0; k < 2; k++) {
		assert_int_equal(proto_gossip_on_push(g, 2, a[k], 5, 2550), PROTO_GOSSIP_NEW);
		assert_int_equal(proto_gossip_forward(g, a[k], 2550), 0);
	}
	tree_copy(g, 2999, 2950);
	assert_int_equal(proto_gossip_on_prune(g, 1, 3000), 0);
	assert_int_equal(proto_gossip_on_prune(g, 2, 3000), 0);
	assert_int_equal(proto_gossip_on_ihave(g, 2, (const uint8_t(*)[32])p, 2, 3000), 0);
	for (t = 3050; t <= 4200; t += 50) {
		if (t == 3500)
			assert_int_equal(proto_gossip_on_ihave(g, 1, (const uint8_t(*)[32])q, 1, t),
					 0);
		if (t == 3550) {
			assert_int_equal(proto_gossip_on_push(g, 0, q, 5, t), PROTO_GOSSIP_NEW);
			assert_int_equal(proto_gossip_forward(g, q, t), 0);
		} else {
			tree_copy(g, 2000 + (unsigned)t / 50, t);
		}
		assert_int_equal(proto_gossip_tick(g, t), 0);
		drain(g, &x);
		i = find(&x, PROTO_LINK_GRAFT, 2);
		if (i < 0)
			continue;
		/* Passed over: grafted after q came, within a stall and the grid (and jitter). */
		assert_true(t > 3550);
		for (size_t k = 0; k < x.a[i].n; k++)
			grafted +=
				!memcmp(x.a[i].ids[k], p[0], 32) + !memcmp(x.a[i].ids[k], p[1], 32);
	}
	assert_int_equal(grafted, 2);
	proto_gossip_free(g);
}

/*
 * A report is not announced to the lazy links that announced it here, before its copy came or
 * while it waited for admission; the others get their IHAVE.
 */
static void test_no_ihave_back(void **state)
{
	struct proto_gossip_config cfg = {.ihave_flush_ms = 20};
	struct proto_gossip *g = engine(&cfg, 4);
	struct proto_gossip_stats st;
	struct acts x;
	uint8_t id[32];

	(void)state;
	mkid(id, 80);
	assert_int_equal(proto_gossip_on_prune(g, 1, T0), 0);
	assert_int_equal(proto_gossip_on_prune(g, 2, T0), 0);
	assert_int_equal(proto_gossip_on_prune(g, 3, T0), 0);
	assert_int_equal(proto_gossip_on_ihave(g, 1, (const uint8_t(*)[32])id, 1, T0 + 1), 0);
	assert_int_equal(proto_gossip_on_push(g, 0, id, 5, T0 + 2), PROTO_GOSSIP_NEW);
	assert_int_equal(proto_gossip_on_ihave(g, 2, (const uint8_t(*)[32])id, 1, T0 + 3), 0);
	assert_int_equal(proto_gossip_forward(g, id, T0 + 4), 0);
	assert_int_equal(proto_gossip_tick(g, T0 + 100), 0);
	drain(g, &x);
	assert_int_equal(x.n, 1);
	assert_true(find(&x, PROTO_LINK_IHAVE, 3) >= 0);
	proto_gossip_get_stats(g, &st);
	assert_int_equal(st.ihave_saved, 2);
	proto_gossip_free(g);
}

/* An awaited id that catch-up brought is not grafted; a later PUSH of it is still NEW. */
static void test_have_stops_graft(void **state)
{
	struct proto_gossip *g = engine(NULL, 2);
	struct acts x;
	uint8_t id[32];

	(void)state;
	mkid(id, 50);
	assert_int_equal(proto_gossip_on_prune(g, 1, T0), 0);
	assert_int_equal(proto_gossip_on_ihave(g, 1, (const uint8_t(*)[32])id, 1, T0), 0);
	assert_true(proto_gossip_next_deadline(g) < T0 + 100000);
	proto_gossip_have(g, id);
	assert_int_equal(proto_gossip_tick(g, T0 + 100000), 0);
	drain(g, &x);
	assert_int_equal(count(&x, PROTO_LINK_GRAFT), 0);
	assert_false(proto_gossip_seen(g, id));
	assert_int_equal(proto_gossip_on_push(g, 0, id, 5, T0 + 100001), PROTO_GOSSIP_NEW);
	proto_gossip_free(g);
}

static void test_graft_pushes(void **state)
{
	struct proto_gossip *g = engine(NULL, 3);
	struct acts x;
	uint8_t ids[3][32];
	int i;

	(void)state;
	for (int k = 0; k < 3; k++)
		mkid(ids[k], 40 + k);
	assert_int_equal(proto_gossip_on_prune(g, 2, T0), 0);
	assert_int_equal(proto_gossip_publish(g, ids[0], 5, T0 + 1), 0);
	assert_int_equal(proto_gossip_on_push(g, 0, ids[1], 5, T0 + 1), PROTO_GOSSIP_NEW);
	drain(g, &x);
	/* GRAFT: the link is eager again and gets what we hold (not the unadmitted id). */
	assert_int_equal(proto_gossip_on_graft(g, 2, (const uint8_t(*)[32])ids, 3, T0 + 2), 0);
	drain(g, &x);
	assert_int_equal(x.n, 1);
	i = find(&x, PROTO_LINK_PUSH, 2);
	assert_true(i >= 0);
	assert_memory_equal(x.a[i].ids[0], ids[0], 32);
	assert_int_equal(proto_gossip_link_state(g, 2), PROTO_GOSSIP_LINK_EAGER);
	proto_gossip_free(g);
}

/* A report first received on a lazy link waits for its tree copy and prunes no tree link. */
static void test_off_tree_copy_held(void **state)
{
	struct proto_gossip_config cfg = {.hold_ms = 300};
	struct proto_gossip *g = engine(&cfg, 4);
	struct proto_gossip_stats st;
	struct acts x;
	uint8_t id[32], id2[32];
	int i;

	(void)state;
	assert_int_equal(proto_gossip_on_prune(g, 0, T0), 0); /* 0 lazy (the origin, say) */
	assert_int_equal(proto_gossip_on_prune(g, 3, T0), 0); /* 3 lazy */
	mkid(id, 60);
	assert_int_equal(proto_gossip_on_push(g, 0, id, 5, T0 + 100), PROTO_GOSSIP_NEW);
	assert_int_equal(proto_gossip_forward(g, id, T0 + 101), 0);
	drain(g, &x);
	assert_int_equal(x.n, 0);
	assert_int_equal(proto_gossip_next_deadline(g), T0 + 401);
	/* The tree copy on eager link 1: kept, forwarded from there, not sent back. */
	assert_int_equal(proto_gossip_on_push(g, 1, id, 5, T0 + 150), PROTO_GOSSIP_DUPLICATE);
	drain(g, &x);
	assert_int_equal(count(&x, PROTO_LINK_PUSH), 1);
	assert_true(find(&x, PROTO_LINK_PUSH, 2) >= 0);
	/* The off-tree sender is told it holds us lazy (a no-op for an origin). */
	assert_int_equal(count(&x, PROTO_LINK_PRUNE), 1);
	assert_true(find(&x, PROTO_LINK_PRUNE, 0) >= 0);
	assert_int_equal(proto_gossip_link_state(g, 1), PROTO_GOSSIP_LINK_EAGER);
	assert_int_equal(proto_gossip_tick(g, T0 + 200), 0); /* IHAVE to 3 only (0 sent it) */
	drain(g, &x);
	assert_int_equal(x.n, 1);
	assert_true(find(&x, PROTO_LINK_IHAVE, 3) >= 0);
	/* A third copy on an eager link is a real cycle. */
	assert_int_equal(proto_gossip_on_push(g, 2, id, 5, T0 + 210), PROTO_GOSSIP_DUPLICATE);
	drain(g, &x);
	assert_true(find(&x, PROTO_LINK_PRUNE, 2) >= 0);

	/* No tree copy at all: after hold_ms the sender is grafted and the report forwarded. */
	mkid(id2, 61);
	assert_int_equal(proto_gossip_on_push(g, 3, id2, 5, T0 + 1000), PROTO_GOSSIP_NEW);
	assert_int_equal(proto_gossip_forward(g, id2, T0 + 1000), 0);
	assert_int_equal(proto_gossip_tick(g, T0 + 1299), 0);
	drain(g, &x);
	assert_int_equal(x.n, 0);
	assert_int_equal(proto_gossip_tick(g, T0 + 1300), 0);
	drain(g, &x);
	i = find(&x, PROTO_LINK_GRAFT, 3);
	assert_true(i >= 0);
	assert_int_equal(x.a[i].n, 1);
	assert_memory_equal(x.a[i].ids[0], id2, 32);
	assert_int_equal(proto_gossip_link_state(g, 3), PROTO_GOSSIP_LINK_EAGER);
	assert_int_equal(count(&x, PROTO_LINK_PUSH), 1); /* link 1, the only other eager one */
	assert_true(find(&x, PROTO_LINK_PUSH, 1) >= 0);
	/* The GRAFT's answer is a copy we asked for, not a cycle. */
	assert_int_equal(proto_gossip_on_push(g, 3, id2, 5, T0 + 1350), PROTO_GOSSIP_DUPLICATE);
	drain(g, &x);
	assert_int_equal(x.n, 0);
	assert_int_equal(proto_gossip_link_state(g, 3), PROTO_GOSSIP_LINK_EAGER);
	proto_gossip_get_stats(g, &st);
	assert_int_equal(st.held, 2);
	assert_int_equal(st.held_expired, 1);
	proto_gossip_free(g);
}

/*
 * A copy that comes first on a link we pruned, less than lag_max_ms after our PRUNE, was
 * on its way behind it: when no tree copy comes, the report is forwarded and the link is
 * not grafted again. Later than that, the sender is grafted as before.
 */
static void test_held_behind_prune(void **state)
{
	struct proto_gossip_config cfg = {.hold_ms = 300, .lag_max_ms = 2000};
	struct proto_gossip *g = engine(&cfg, 3);
	struct proto_gossip_stats st;
	struct acts x;
	uint8_t a[32], b[32], c[32];

	(void)state;
	mkid(a, 70);
	assert_int_equal(proto_gossip_on_push(g, 0, a, 5, T0), PROTO_GOSSIP_NEW);
	assert_int_equal(proto_gossip_forward(g, a, T0), 0);
	assert_int_equal(proto_gossip_on_push(g, 2, a, 5, T0 + 10), PROTO_GOSSIP_DUPLICATE);
	drain(g, &x);
	assert_true(find(&x, PROTO_LINK_PRUNE, 2) >= 0); /* we prune 2 at T0 + 10 */

	mkid(b, 71);
	assert_int_equal(proto_gossip_on_push(g, 2, b, 5, T0 + 100), PROTO_GOSSIP_NEW);
	assert_int_equal(proto_gossip_forward(g, b, T0 + 100), 0);
	drain(g, &x);
	assert_int_equal(x.n, 0); /* held for its tree copy */
	assert_int_equal(proto_gossip_tick(g, T0 + 400), 0);
	drain(g, &x);
	assert_int_equal(count(&x, PROTO_LINK_GRAFT), 0);
	assert_int_equal(count(&x, PROTO_LINK_PUSH), 2);
	assert_true(find(&x, PROTO_LINK_PUSH, 0) >= 0);
	assert_true(find(&x, PROTO_LINK_PUSH, 1) >= 0);
	assert_int_equal(proto_gossip_link_state(g, 2), PROTO_GOSSIP_LINK_LAZY);

	/* Just inside lag_max_ms of the PRUNE: still not grafted. */
	mkid(c, 73);
	assert_int_equal(proto_gossip_on_push(g, 2, c, 5, T0 + 2010), PROTO_GOSSIP_NEW);
	assert_int_equal(proto_gossip_forward(g, c, T0 + 2010), 0);
	assert_int_equal(proto_gossip_tick(g, T0 + 2310), 0);
	drain(g, &x);
	assert_int_equal(count(&x, PROTO_LINK_GRAFT), 0);
	assert_int_equal(count(&x, PROTO_LINK_PUSH), 2);

	/* Long after the PRUNE: that sender is our way to the origin, grafted. */
	mkid(c, 72);
	assert_int_equal(proto_gossip_on_push(g, 2, c, 5, T0 + 5000), PROTO_GOSSIP_NEW);
	assert_int_equal(proto_gossip_forward(g, c, T0 + 5000), 0);
	assert_int_equal(proto_gossip_tick(g, T0 + 5300), 0);
	drain(g, &x);
	assert_true(find(&x, PROTO_LINK_GRAFT, 2) >= 0);
	assert_int_equal(proto_gossip_link_state(g, 2), PROTO_GOSSIP_LINK_EAGER);
	proto_gossip_get_stats(g, &st);
	assert_int_equal(st.held, 3);
	assert_int_equal(st.held_expired, 3);
	assert_int_equal(st.held_behind_prune, 2);
	proto_gossip_free(g);
}

static void test_ihave_batches(void **state)
{
	struct proto_gossip_config cfg = {.ihave_batch = 3, .ihave_flush_ms = 50};
	struct proto_gossip *g = engine(&cfg, 2);
	struct acts x;
	uint8_t id[32];

	(void)state;
	assert_int_equal(proto_gossip_on_prune(g, 1, T0), 0);
	for (unsigned k = 0; k < 7; k++) {
		mkid(id, 100 + k);
		assert_int_equal(proto_gossip_on_push(g, 0, id, 5, T0 + 10 + k), PROTO_GOSSIP_NEW);
		assert_int_equal(proto_gossip_forward(g, id, T0 + 10 + k), 0);
	}
	drain(g, &x);
	/* Two full batches at once, the seventh id when its wait is over. */
	assert_int_equal(x.n, 2);
	assert_int_equal(x.a[0].n, 3);
	assert_int_equal(x.a[1].n, 3);
	assert_int_equal(x.a[1].ids[2][0], 105);
	assert_int_equal(proto_gossip_next_deadline(g), T0 + 16 + 50);
	assert_int_equal(proto_gossip_tick(g, T0 + 66), 0);
	drain(g, &x);
	assert_int_equal(x.n, 1);
	assert_int_equal(x.a[0].n, 1);
	assert_int_equal(x.a[0].ids[0][0], 106);
	proto_gossip_free(g);
}

static void test_link_events(void **state)
{
	struct proto_gossip_config cfg = {.max_links = 8, .graft_timeout_ms = 100};
	struct proto_gossip *g = engine(&cfg, 3);
	struct acts x;
	uint8_t id[32], id2[32];

	(void)state;
	mkid(id, 1);
	assert_int_equal(proto_gossip_link_up(g, 1, T0), PROTO_E_GOSSIP_LINK);
	assert_int_equal(proto_gossip_link_up(g, 8, T0), PROTO_E_GOSSIP_LINK);
	assert_int_equal(proto_gossip_link_down(g, 5, T0), PROTO_E_GOSSIP_LINK);
	assert_int_equal(proto_gossip_on_push(g, 5, id, 5, T0), PROTO_E_GOSSIP_LINK);
	assert_int_equal(proto_gossip_on_push(g, 100, id, 5, T0), PROTO_E_GOSSIP_LINK);
	assert_int_equal(proto_gossip_on_ihave(g, 5, (const uint8_t(*)[32])id, 1, T0),
			 PROTO_E_GOSSIP_LINK);
	assert_int_equal(proto_gossip_on_graft(g, 5, (const uint8_t(*)[32])id, 1, T0),
			 PROTO_E_GOSSIP_LINK);
	assert_int_equal(proto_gossip_on_prune(g, 5, T0), PROTO_E_GOSSIP_LINK);
	assert_int_equal(proto_gossip_on_ihave(g, 1, NULL, 1, T0), -EINVAL);
	assert_int_equal(proto_gossip_link_state(g, 100), PROTO_GOSSIP_LINK_DOWN);

	/* Undrained actions for a link that goes down are dropped. */
	assert_int_equal(proto_gossip_publish(g, id, 5, T0 + 1), 0);
	assert_int_equal(proto_gossip_link_down(g, 1, T0 + 2), 0);
	drain(g, &x);
	assert_int_equal(x.n, 2);
	assert_int_equal(find(&x, PROTO_LINK_PUSH, 1), -1);
	/* A link that went down is no announcer any more. */
	mkid(id2, 2);
	assert_int_equal(proto_gossip_on_ihave(g, 2, (const uint8_t(*)[32])id2, 1, T0 + 10), 0);
	assert_int_equal(proto_gossip_on_ihave(g, 0, (const uint8_t(*)[32])id2, 1, T0 + 20), 0);
	assert_int_equal(proto_gossip_link_down(g, 2, T0 + 30), 0);
	assert_int_equal(proto_gossip_tick(g, T0 + 200), 0);
	drain(g, &x);
	assert_int_equal(x.n, 1);
	assert_true(find(&x, PROTO_LINK_GRAFT, 0) >= 0);
	/* Back up: eager again, and it gets new reports. */
	assert_int_equal(proto_gossip_link_up(g, 1, T0 + 300), 0);
	assert_int_equal(proto_gossip_link_state(g, 1), PROTO_GOSSIP_LINK_EAGER);
	mkid(id, 3);
	assert_int_equal(proto_gossip_publish(g, id, 5, T0 + 301), 0);
	drain(g, &x);
	assert_int_equal(x.n, 2);
	assert_true(find(&x, PROTO_LINK_PUSH, 1) >= 0);
	assert_true(find(&x, PROTO_LINK_PUSH, 0) >= 0);
	proto_gossip_free(g);
	proto_gossip_free(NULL);
}

static void test_bounded_caches(void **state)
{
	struct proto_gossip_config cfg = {
		.seen_max = 16, .seen_ttl_ms = 1000, .missing_max = 16, .graft_timeout_ms = 10};
	struct proto_gossip *g = engine(&cfg, 1);
	struct proto_gossip_stats st;
	struct acts x;
	uint8_t id[32];

	(void)state;
	for (unsigned k = 0; k < 40; k++) {
		mkid(id, k);
		assert_int_equal(proto_gossip_publish(g, id, 5, T0 + k), 0);
	}
	drain(g, &x);
	proto_gossip_get_stats(g, &st);
	assert_int_equal(st.seen_evicted, 25); /* the formation report went first */
	for (unsigned k = 0; k < 40; k++) {
		mkid(id, k);
		assert_int_equal(proto_gossip_seen(g, id), k >= 24);
	}
	/* Age: everything is forgotten after the TTL. */
	assert_int_equal(proto_gossip_tick(g, T0 + 39 + 1000), 0);
	for (unsigned k = 0; k < 40; k++) {
		mkid(id, k);
		assert_false(proto_gossip_seen(g, id));
	}
	/* Awaited ids: the oldest go first. */
	for (unsigned k = 0; k < 40; k++) {
		mkid(id, 1000 + k);
		assert_int_equal(proto_gossip_on_ihave(g, 0, (const uint8_t(*)[32])id, 1, 2000), 0);
	}
	proto_gossip_get_stats(g, &st);
	assert_int_equal(st.missing_evicted, 24);
	assert_int_equal(proto_gossip_tick(g, 2015), 0);
	{
		struct proto_gossip_action a;
		size_t n = 0;

		while (proto_gossip_poll(g, &a)) {
			assert_int_equal(a.type, PROTO_LINK_GRAFT);
			assert_int_equal(a.n, 16);
			assert_int_equal(a.ids[0][0], (1000 + 24) & 0xff);
			n++;
		}
		assert_int_equal(n, 1);
	}
	/* Invalid configs. */
	{
		struct proto_gossip_config bad[] = {
			{.max_links = PROTO_GOSSIP_LINKS_MAX + 1},
			{.ihave_batch = PROTO_LINK_IDS_MAX + 1},
			{.seen_max = 15},
			{.missing_max = 3},
			{.seen_max = PROTO_GOSSIP_MAP_MAX + 1},
			{.missing_max = PROTO_GOSSIP_MAP_MAX + 1},
			{.announcers_max = PROTO_GOSSIP_ANNOUNCERS_MAX + 1},
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			assert_null(proto_gossip_new(&bad[i]));
	}
	proto_gossip_free(g);
}

/*
 * Large maps (allocated for their limit at start, proto/gossip.c map_init): filled past the
 * limit, every id kept is found and exactly the oldest are evicted; awaited ids likewise.
 */
static void test_bounded_caches_large(void **state)
{
	const unsigned seen_max = 40000, n_pub = 50000, miss_max = 6000, n_ihave = 8000;
	struct proto_gossip_config cfg = {.seen_max = seen_max,
					  .seen_ttl_ms = 100000000,
					  .missing_max = miss_max,
					  .graft_timeout_ms = 100000000};
	struct proto_gossip *g = engine(&cfg, 1);
	struct proto_gossip_stats st;
	struct acts x;
	uint8_t id[32];

	(void)state;
	for (unsigned k = 0; k < n_pub; k++) {
		mkid(id, k);
		id[2] = (uint8_t)(k >> 16);
		assert_int_equal(proto_gossip_publish(g, id, 5, T0 + k / 1000), 0);
		drain(g, &x);
	}
	proto_gossip_get_stats(g, &st);
	assert_int_equal(st.seen_evicted, n_pub + 1 - seen_max); /* + the formation report */
	for (unsigned k = 0; k < n_pub; k++) {
		mkid(id, k);
		id[2] = (uint8_t)(k >> 16);
		assert_int_equal(proto_gossip_seen(g, id), k >= n_pub - seen_max);
	}
	for (unsigned k = 0; k < n_ihave; k++) {
		mkid(id, k);
		id[2] = 0x80;
		assert_int_equal(proto_gossip_on_ihave(g, 0, (const uint8_t(*)[32])id, 1, T0 + 100),
				 0);
		drain(g, &x);
	}
	proto_gossip_get_stats(g, &st);
	assert_int_equal(st.missing_evicted, n_ihave - miss_max);
	proto_gossip_free(g);
}

/*
 * A spanning tree: N engines on a fixed graph, messages delivered in FIFO order with one
 * step of latency each. After formation, a report from any origin reaches every node with
 * exactly one copy per node plus the origin's extra pushes to its lazy links, and the
 * eager links of both ends agree on a spanning tree.
 */
#define TN 12
#define TQ 4096

struct tmsg {
	unsigned from, to;
	enum proto_link_type type;
	size_t n;
	uint8_t ids[4][32];
};

struct tnet {
	struct proto_gossip *g[TN];
	int link_of[TN][TN]; /* handle on node a for its link to node b, or -1 */
	unsigned peer[TN][TN];
	struct tmsg q[TQ];
	size_t head, tail;
	unsigned pushes, dups, got[TN];
};

static void tnet_out(struct tnet *t, unsigned node)
{
	struct proto_gossip_action a;

	while (proto_gossip_poll(t->g[node], &a)) {
		struct tmsg *m = &t->q[t->tail++ % TQ];

		assert_true(t->tail - t->head < TQ);
		assert_true(a.n <= 4);
		m->from = node;
		m->to = t->peer[node][a.link];
		m->type = a.type;
		m->n = a.n;
		if (a.n)
			memcpy(m->ids, a.ids, a.n * 32);
	}
}

static void tnet_run(struct tnet *t, uint64_t *now)
{
	while (t->head != t->tail) {
		struct tmsg m = t->q[t->head++ % TQ];
		struct proto_gossip *g = t->g[m.to];
		uint32_t link = (uint32_t)t->link_of[m.to][m.from];
		int rc;

		(*now)++;
		switch (m.type) {
		case PROTO_LINK_PUSH:
			t->pushes++;
			rc = proto_gossip_on_push(g, link, m.ids[0],
						  m.ids[0][1] * 256 + m.ids[0][0], *now);
			if (rc == PROTO_GOSSIP_NEW) {
				t->got[m.to]++;
				assert_int_equal(proto_gossip_forward(g, m.ids[0], *now), 0);
			} else {
				assert_int_equal(rc, PROTO_GOSSIP_DUPLICATE);
				t->dups++;
			}
			break;
		case PROTO_LINK_IHAVE:
			assert_int_equal(proto_gossip_on_ihave(g, link, (const uint8_t(*)[32])m.ids,
							       m.n, *now),
					 0);
			break;
		case PROTO_LINK_GRAFT:
			assert_int_equal(proto_gossip_on_graft(g, link, (const uint8_t(*)[32])m.ids,
							       m.n, *now),
					 0);
			break;
		case PROTO_LINK_PRUNE:
			assert_int_equal(proto_gossip_on_prune(g, link, *now), 0);
			break;
		default:
			fail();
		}
		tnet_out(t, m.to);
		if (t->head == t->tail) {
			/* Quiet: let every timer run. */
			*now += 1000;
			for (unsigned i = 0; i < TN; i++) {
				assert_int_equal(proto_gossip_tick(t->g[i], *now), 0);
				tnet_out(t, i);
			}
		}
	}
}

static void test_tree_formation(void **state)
{
	static const unsigned edges[][2] = {
		{0, 1},	 {1, 2},   {2, 3},  {3, 4}, {4, 5}, {5, 6}, {6, 7},  {7, 8}, {8, 9},
		{9, 10}, {10, 11}, {11, 0}, {0, 6}, {1, 7}, {2, 9}, {3, 10}, {4, 8}, {5, 11},
	};
	struct proto_gossip_config cfg = {
		.ihave_flush_ms = 5, .graft_timeout_ms = 5000, .formation_ms = 100};
	struct tnet *t = calloc(1, sizeof(*t));
	uint64_t now = 0;
	uint64_t rng = 17;
	unsigned eager_edges = 0, degree[TN] = {0};

	(void)state;
	assert_non_null(t);
	memset(t->link_of, -1, sizeof(t->link_of));
	for (unsigned i = 0; i < TN; i++) {
		cfg.seed = i;
		t->g[i] = proto_gossip_new(&cfg);
		assert_non_null(t->g[i]);
	}
	for (size_t e = 0; e < sizeof(edges) / sizeof(edges[0]); e++) {
		unsigned a = edges[e][0], b = edges[e][1];

		t->link_of[a][b] = (int)degree[a];
		t->peer[a][degree[a]] = b;
		assert_int_equal(proto_gossip_link_up(t->g[a], degree[a]++, 0), 0);
		t->link_of[b][a] = (int)degree[b];
		t->peer[b][degree[b]] = a;
		assert_int_equal(proto_gossip_link_up(t->g[b], degree[b]++, 0), 0);
	}
	for (unsigned r = 0; r < 30; r++) {
		unsigned origin = (unsigned)(tu_rand(&rng) % TN);
		uint8_t id[32];

		mkid(id, 500 + r); /* created = 500 + r: the first report is the oldest */
		memset(t->got, 0, sizeof(t->got));
		t->pushes = t->dups = 0;
		assert_int_equal(proto_gossip_publish(t->g[origin], id, 500 + r, now), 0);
		tnet_out(t, origin);
		tnet_run(t, &now);
		for (unsigned i = 0; i < TN; i++)
			assert_int_equal(t->got[i], i != origin);
		if (r == 0) /* formation: the first report floods */
			assert_int_equal(t->pushes, 2 * 18 - (TN - 1));
		else /* one copy per node: the origin announces on its lazy links */
			assert_int_equal(t->pushes, TN - 1);
	}
	for (unsigned a = 0; a < TN; a++)
		for (unsigned b = 0; b < TN; b++) {
			int la = t->link_of[a][b], lb = t->link_of[b][a];

			if (la < 0)
				continue;
			assert_int_equal(proto_gossip_link_state(t->g[a], (uint32_t)la),
					 proto_gossip_link_state(t->g[b], (uint32_t)lb));
			if (a < b && proto_gossip_link_state(t->g[a], (uint32_t)la) ==
					     PROTO_GOSSIP_LINK_EAGER)
				eager_edges++;
		}
	assert_int_equal(eager_edges, TN - 1);
	for (unsigned i = 0; i < TN; i++)
		proto_gossip_free(t->g[i]);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_publish_eager_only),
		cmocka_unit_test(test_publish_pushes_all),
		cmocka_unit_test(test_forward_and_duplicate),
		cmocka_unit_test(test_prune_streak),
		cmocka_unit_test(test_no_copy_back),
		cmocka_unit_test(test_formation),
		cmocka_unit_test(test_discard_never_forwarded),
		cmocka_unit_test(test_forget),
		cmocka_unit_test(test_prune_repeat_limited),
		cmocka_unit_test(test_ihave_graft_timeout),
		cmocka_unit_test(test_graft_wait_follows_lag),
		cmocka_unit_test(test_graft_waits_for_moving_tree),
		cmocka_unit_test(test_no_ihave_back),
		cmocka_unit_test(test_have_stops_graft),
		cmocka_unit_test(test_graft_pushes),
		cmocka_unit_test(test_off_tree_copy_held),
		cmocka_unit_test(test_held_behind_prune),
		cmocka_unit_test(test_ihave_batches),
		cmocka_unit_test(test_link_events),
		cmocka_unit_test(test_bounded_caches),
		cmocka_unit_test(test_bounded_caches_large),
		cmocka_unit_test(test_tree_formation),
	};

	if (proto_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
