/* SPDX-License-Identifier: MIT */
/*
 * sim_gossip — many Plumtree engines (proto/gossip.h) and reconciliation sessions
 * (proto/recon.h) in one process on a virtual clock, compared with plain flooding over the
 * same overlay and the same publications in the same run (DESIGN.md §5).
 *
 * Model: N nodes on a random overlay where every node links to `degree` others (a random
 * regular graph, retried until connected). Every link has a latency drawn uniformly in
 * [lat_min, lat_max] ms, and each message on it +-10 % jitter (--latency link, the
 * default); or every message draws its own latency in that range (--latency message).
 * Either way a message never overtakes an earlier one on the same link (links are TCP
 * streams), and is lost with probability --loss. Nodes process instantly; policy admits
 * every report. Each engine gets its own seed derived from the run seed, so a run is a
 * pure function of its arguments: same seed, same output.
 *
 * Phases, run once with Plumtree and once with flooding (every node pushes a new report to
 * all its links but the sender):
 *  1. healthy: R reports published from random origins, arrivals spaced uniformly in
 *     [1, 2 x --interval] ms. The first reports shape the tree; figures are given for all
 *     reports and for the reports after the first R/10.
 *  2. failure: 10 % of the nodes (random, the same for both protocols) stop processing;
 *     R more reports from live origins. Delivery is measured on the live nodes.
 *  3. catch-up (Plumtree only): the failed nodes recover; every node runs one
 *     reconciliation session with a random neighbour that stayed up (on reconnect for the
 *     returning nodes, periodic for the others), all at once; rounds repeat until every
 *     node holds every report (at most 5). Reports found missing move by PUSH (the
 *     peer's "have") or FETCH; they are not gossiped again.
 *
 * Usage: sim_gossip [--nodes N] [--reports R] [--seed S] [--degree D] [--interval MS]
 *                   [--loss P] [--latency link|message] [--graft-timeout MS]
 *                   [--graft-retry MS] [--hold MS] [--flush MS] [--origin-push-all]
 *                   [--dump-links FILE] [--burst RATE] [--service-us US]
 *                   [--graft-wait-fixed] [--trees K] [--tree-rule hash|root|seen|ecc]
 *                   [--tree-hops] [--tree-swap GAIN] [--check]
 * Without --nodes it reports N = 100 and N = 1000 (R = 1000), for both latency models
 * unless --latency names one. --check runs N = 100, R = 500 twice, checks the targets
 * (copies <= 1.2 per node per report once the tree formed, max latency <= 1.8 x flooding,
 * 100 % delivery after catch-up, <= 40 bytes of catch-up traffic per missing id,
 * identical output for the same seed) and exits 1 if one is missed. Results and their
 * discussion: docs/PERFORMANCE.md. --dump-links writes the overlay and the formed tree
 * after phase 1 (with several scenarios, the last one's) for tests/sim/tree_bounds.py.
 * --burst RATE makes phase 1's reports after the first tenth come from one origin at RATE
 * per second (the one-origin burst of tests/bench/bench_overlay.py); --service-us US makes
 * every node admit a new report in US microseconds, one at a time, before it forwards it
 * (so a burst over that rate queues at every hop, as on loaded daemons);
 * --graft-wait-fixed keeps the GRAFT wait at --graft-timeout instead of following the
 * tree's lag (the engine before issue 17's session 3).
 * --trees K, --tree-rule, --tree-hops and --tree-swap are a simulator experiment (several trees, each
 * origin picking one; see enum tree_rule below), not something the node does: the link
 * protocol carries no tree index. --dump-links then writes tree 0's link states.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/gossip.h"
#include "proto/link.h"
#include "proto/recon.h"
#include "tests/sim/itemset.h"

#define DEG_MAX 32
#define EPOCH_MS 1700000000000ull /* created ms of virtual time 0 */
#define SETTLE_MS 20000		  /* quiet time after the last publication of a phase */
#define CATCHUP_ROUNDS_MAX 5
#define TREES_MAX 16

/* ------------------------------------------------------------------ randomness */

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t rnd_below(uint64_t *s, uint32_t n)
{
	return (uint32_t)(((unsigned __int128)rnd(s) * n) >> 64);
}

/* Uniform in [0, 1) with 53 bits. */
static double rnd01(uint64_t *s)
{
	return (double)(rnd(s) >> 11) * 0x1.0p-53;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "sim_gossip: %s: %s\n", what, proto_error_str(err));
	exit(2);
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		die("calloc", -ENOMEM);
	return p;
}

/* ------------------------------------------------------------------ configuration */

enum lat_model { LAT_MESSAGE, LAT_LINK };

/*
 * --trees K (a simulator experiment, not a node feature): every node runs K engines, one
 * per tree; a report travels the tree its origin picks, and every message names its tree.
 * How the origin picks (--tree-rule), after the warm-up (the first tenth of phase 1 is
 * spread over the trees by id, so that every tree forms):
 *  - HASH: by id, as in the warm-up.
 *  - ROOT: the tree whose root is nearest: the accumulated delay its formation report
 *    (the oldest report on the tree) carried when it reached this node.
 *  - SEEN: the tree on which the farthest origin seen here is nearest: the largest
 *    accumulated delay of any report this node received on it.
 *  - ECC: the tree in which this node's farthest node is nearest, exactly, from the links
 *    eager at both ends and their mean latencies: what an exchange of distances along each
 *    tree would tell the node once converged (an oracle here, no such exchange exists).
 * The accumulated delay is a field the PUSH would carry: each hop adds its estimate of the
 * link's latency (the link's mean latency; with --latency message every link's mean is the
 * same, so it is a hop count times that mean), or 1 with --tree-hops (a hop count).
 * --tree-swap G adds Plumtree's optimisation on every tree: a node whose new report came
 * on an eager link with an accumulated delay at least G larger than that of a lazy link
 * that announced it earlier (IHAVE would carry the announcer's delay) makes that lazy link
 * eager and the eager one lazy, at both ends.
 */
enum tree_rule { RULE_HASH, RULE_ROOT, RULE_SEEN, RULE_ECC };

struct cfg {
	unsigned nodes, degree, reports, warmup;
	uint64_t seed;
	unsigned interval_ms;
	double loss;
	enum lat_model lat;
	unsigned lat_min, lat_max;
	double fail_frac;
	unsigned graft_timeout_ms, graft_retry_ms, hold_ms, flush_ms; /* 0 = engine default */
	bool origin_push_all;	/* the engine's origin_push_all: the origin's old rule */
	unsigned burst_rate;	/* phase 1 after the warm-up: one origin, this many reports/s */
	unsigned service_us;	/* each node admits a new report in this time, one at a time */
	bool graft_wait_fixed;	/* lag_max_ms = graft_timeout_ms: the old fixed wait */
	const char *dump_links; /* file for the overlay and the tree after phase 1, or NULL */
	unsigned trees;		/* --trees: engines (trees) per node [1] */
	enum tree_rule tree_rule;
	bool tree_hops;	    /* the accumulated "delay" is a hop count */
	unsigned tree_swap; /* --tree-swap: Plumtree's optimisation at this gain (ms or hops) */
};

/* ------------------------------------------------------------------ events */

enum ev_kind { EV_PUBLISH, EV_TICK, EV_MSG, EV_RECON_START, EV_ADMITTED };

/* Message types beyond proto/link.h's: a report moved by catch-up (PUSH on the wire). */
#define MSG_CATCHUP 100

struct ev {
	uint64_t t, seq;
	uint32_t kind, type;
	uint32_t to, from; /* nodes */
	uint32_t n;	   /* ids (report indexes) */
	uint32_t tree;	   /* the tree (engine) a gossip message belongs to */
	uint32_t acc;	   /* PUSH: accumulated delay (ms) from the origin, estimated */
	uint32_t one;
	uint32_t *many;
	uint8_t *bytes; /* RECON payload */
	size_t len;
};

struct heap {
	struct ev *v;
	size_t n, cap;
	uint64_t seq;
};

static bool ev_less(const struct ev *a, const struct ev *b)
{
	return a->t != b->t ? a->t < b->t : a->seq < b->seq;
}

static void heap_push(struct heap *h, struct ev e)
{
	size_t i;

	if (h->n == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 1024;
		h->v = realloc(h->v, h->cap * sizeof(*h->v));
		if (!h->v)
			die("heap", -ENOMEM);
	}
	e.seq = h->seq++;
	for (i = h->n++; i > 0; i = (i - 1) / 2) {
		if (!ev_less(&e, &h->v[(i - 1) / 2]))
			break;
		h->v[i] = h->v[(i - 1) / 2];
	}
	h->v[i] = e;
}

static struct ev heap_pop(struct heap *h)
{
	struct ev top = h->v[0], last = h->v[--h->n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && ev_less(&h->v[c + 1], &h->v[c]))
			c++;
		if (!ev_less(&h->v[c], &last))
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	if (h->n)
		h->v[i] = last;
	return top;
}

/* ------------------------------------------------------------------ world */

enum mode { PLUMTREE, FLOOD };

struct session {
	struct proto_recon *r;
	uint32_t peer;
	int role; /* 0 initiator, 1 responder */
	bool finished;
};

struct node {
	uint32_t nbr[DEG_MAX];
	uint32_t rev[DEG_MAX];	/* handle of this node on nbr[k]'s side */
	uint32_t lat[DEG_MAX];	/* per-link latency (LAT_LINK) */
	uint64_t last[DEG_MAX]; /* arrival time of the last message sent on each link */
	uint32_t deg;
	bool failed;
	uint64_t busy_us; /* --service-us: the node's admission is busy until then */
	struct proto_gossip *g[TREES_MAX];
	uint64_t root_t[TREES_MAX];   /* --tree-rule root: oldest report seen per tree ... */
	uint32_t root_acc[TREES_MAX]; /* ... and its accumulated delay here */
	uint32_t far[TREES_MAX];      /* --tree-rule seen: largest accumulated delay per tree */
	uint64_t tick_at;
	struct itemset items;
	struct session *ss;
	size_t n_ss;
};

struct report {
	uint8_t id[32];
	uint32_t origin;
	uint32_t tree; /* picked by its origin at publication */
	uint64_t t_pub;
};

struct delivery {
	uint32_t rep; /* relative to the phase's first report */
	uint32_t ms;
};

/* Counters of one phase of one protocol. */
struct phase_stats {
	uint64_t push_recv, push_dup, ihave_msgs, ihave_ids, graft_msgs, prune_msgs;
	uint64_t push_to_failed;
	uint64_t *push_rep; /* PUSH received per report (live nodes) */
	struct delivery *del;
	size_t n_del;
	unsigned live, reports;
};

struct catchup_stats {
	uint64_t missing_before; /* (node, report) pairs missing when catch-up starts */
	uint64_t sessions, sessions_failed, recon_msgs, recon_bytes, fetch_msgs, fetch_bytes;
	uint64_t moved; /* reports moved by catch-up */
	uint64_t moved_dup;
	unsigned rounds;
	uint64_t start_ms, last_ms, duration_ms;
	uint64_t missing_after;
};

struct world {
	const struct cfg *cfg;
	enum mode mode;
	struct node *nodes;
	struct report *reps;
	unsigned n_reps;
	uint8_t *has;	     /* nodes x reports */
	uint8_t *flood_seen; /* nodes x reports: received (flooding; admitted or queued) */
	uint32_t *acc;	     /* nodes x reports: accumulated delay of the first copy (trees) */
	uint32_t *ann_acc;   /* nodes x reports: --tree-swap: the first announcer's delay ... */
	uint8_t *ann_link;   /* ... and its link + 1 (0: not announced before the copy) */
	uint64_t *swaps;     /* --tree-swap: swaps made */
	uint64_t *per_tree;  /* reports published per tree after the warm-up */
	struct heap h;
	uint64_t now;
	uint64_t lat_rng, loss_rng, misc_rng;
	struct phase_stats *ps; /* current phase */
	struct catchup_stats *cs;
	unsigned phase_r0, phase_r1; /* reports of the current phase */
};

static uint32_t id_index(const struct world *w, const uint8_t id[32])
{
	uint32_t i = (uint32_t)id[0] | (uint32_t)id[1] << 8 | (uint32_t)id[2] << 16 |
		     (uint32_t)id[3] << 24;

	if (i >= w->n_reps || memcmp(w->reps[i].id, id, 32) != 0)
		die("unknown report id", -EINVAL);
	return i;
}

static uint8_t *has(struct world *w, uint32_t node, uint32_t rep)
{
	return &w->has[(size_t)node * w->n_reps + rep];
}

/* Overlay: a random `degree`-regular-ish graph, retried until connected. */
static void build_overlay(struct world *w, uint64_t *rng)
{
	const struct cfg *c = w->cfg;
	unsigned n = c->nodes;
	uint32_t *order = xcalloc(n, sizeof(*order)), *stack = xcalloc(n, sizeof(*stack));
	bool *seen = xcalloc(n, sizeof(*seen));

	for (;;) {
		size_t top = 0, reached = 0;

		for (unsigned i = 0; i < n; i++) {
			w->nodes[i].deg = 0;
			order[i] = i;
		}
		for (unsigned i = n; i > 1; i--) {
			uint32_t j = rnd_below(rng, i), t = order[i - 1];

			order[i - 1] = order[j];
			order[j] = t;
		}
		for (unsigned k = 0; k < n; k++) {
			struct node *a = &w->nodes[order[k]];

			for (unsigned tries = 0; a->deg < c->degree && tries < 200; tries++) {
				uint32_t v = rnd_below(rng, n);
				struct node *b = &w->nodes[v];
				bool dup = v == order[k] || b->deg >= c->degree;

				for (unsigned e = 0; e < a->deg && !dup; e++)
					dup = a->nbr[e] == v;
				if (dup)
					continue;
				a->rev[a->deg] = b->deg;
				b->rev[b->deg] = a->deg;
				a->lat[a->deg] = b->lat[b->deg] =
					c->lat_min + rnd_below(rng, c->lat_max - c->lat_min + 1);
				a->nbr[a->deg++] = v;
				b->nbr[b->deg++] = order[k];
			}
		}
		memset(seen, 0, n * sizeof(*seen));
		stack[top++] = 0;
		seen[0] = true;
		while (top) {
			struct node *a = &w->nodes[stack[--top]];

			reached++;
			for (unsigned e = 0; e < a->deg; e++)
				if (!seen[a->nbr[e]]) {
					seen[a->nbr[e]] = true;
					stack[top++] = a->nbr[e];
				}
		}
		if (reached == n)
			break;
	}
	free(order);
	free(stack);
	free(seen);
}

/* ------------------------------------------------------------------ sending */

/* Send message @e (type, tree, acc filled in) on @link of node @from. */
static void post_msg(struct world *w, uint32_t from, uint32_t link, struct ev e,
		     const uint32_t *ids, uint32_t n, uint8_t *bytes, size_t len)
{
	const struct cfg *c = w->cfg;
	struct node *a = &w->nodes[from];
	uint64_t lat;

	e.kind = EV_MSG;
	e.from = from;
	e.n = n;
	if (c->loss > 0 && rnd01(&w->loss_rng) < c->loss) {
		free(bytes);
		return;
	}
	if (c->lat == LAT_MESSAGE)
		lat = c->lat_min + rnd_below(&w->lat_rng, c->lat_max - c->lat_min + 1);
	else
		lat = a->lat[link] * (0.9 + 0.2 * rnd01(&w->lat_rng));
	/* A link is a TCP stream: messages on it arrive in the order they were sent. */
	e.t = w->now + lat;
	if (e.t < a->last[link])
		e.t = a->last[link];
	a->last[link] = e.t;
	e.to = a->nbr[link];
	if (n == 1) {
		e.one = ids[0];
	} else if (n > 1) {
		e.many = xcalloc(n, sizeof(*e.many));
		memcpy(e.many, ids, n * sizeof(*ids));
	}
	e.bytes = bytes;
	e.len = len;
	heap_push(&w->h, e);
}

static void send_msg(struct world *w, uint32_t from, uint32_t link, uint32_t type,
		     const uint32_t *ids, uint32_t n, uint8_t *bytes, size_t len)
{
	struct ev e = {.type = type};

	post_msg(w, from, link, e, ids, n, bytes, len);
}

/*
 * A node's estimate of a link's latency, which it adds to a PUSH's accumulated delay: the
 * link's mean (a daemon would take half its measured round trip).
 */
static uint32_t link_estimate(const struct world *w, uint32_t node, uint32_t link)
{
	const struct cfg *c = w->cfg;

	if (c->tree_hops)
		return 1;
	if (c->lat == LAT_MESSAGE)
		return (c->lat_min + c->lat_max) / 2;
	return w->nodes[node].lat[link];
}

static uint32_t link_to(const struct node *a, uint32_t peer)
{
	for (uint32_t k = 0; k < a->deg; k++)
		if (a->nbr[k] == peer)
			return k;
	die("no such link", -EINVAL);
	return 0;
}

/* Turn the engine's queued actions into messages, and keep one tick scheduled. */
static void drain_gossip(struct world *w, uint32_t node)
{
	struct node *a = &w->nodes[node];
	struct proto_gossip_action act;
	uint32_t ids[PROTO_LINK_IDS_MAX];
	uint64_t d = UINT64_MAX;

	for (uint32_t t = 0; t < w->cfg->trees; t++) {
		uint64_t dt;

		while (proto_gossip_poll(a->g[t], &act)) {
			struct ev e = {.type = act.type, .tree = t};

			for (size_t i = 0; i < act.n; i++)
				ids[i] = id_index(w, act.ids[i]);
			if (act.type == PROTO_LINK_PUSH)
				e.acc = w->acc[(size_t)node * w->n_reps + ids[0]] +
					link_estimate(w, node, act.link);
			post_msg(w, node, act.link, e, ids, (uint32_t)act.n, NULL, 0);
		}
		dt = proto_gossip_next_deadline(a->g[t]);
		if (dt < d)
			d = dt;
	}
	if (d < a->tick_at) {
		struct ev e = {.kind = EV_TICK, .to = node, .t = d < w->now ? w->now : d};

		a->tick_at = e.t;
		heap_push(&w->h, e);
	}
}

static void deliver(struct world *w, uint32_t node, uint32_t rep)
{
	*has(w, node, rep) = 1;
	if (w->ps && rep >= w->phase_r0 && rep < w->phase_r1) {
		struct delivery *d = &w->ps->del[w->ps->n_del++];

		d->rep = rep - w->phase_r0;
		d->ms = (uint32_t)(w->now - w->reps[rep].t_pub);
	}
}

static void add_item(struct world *w, uint32_t node, uint32_t rep)
{
	uint8_t key[PROTO_RECON_KEY_LEN];

	proto_recon_key(key, EPOCH_MS + w->reps[rep].t_pub, w->reps[rep].id);
	if (itemset_add(&w->nodes[node].items, key) < 0)
		die("itemset", -ENOMEM);
}

/* ------------------------------------------------------------------ several trees */

/* Node @node holds report @rep, which came with accumulated delay @acc on its tree. */
static void note_copy(struct world *w, uint32_t node, uint32_t rep, uint32_t acc)
{
	struct node *a = &w->nodes[node];
	const struct report *r = &w->reps[rep];

	w->acc[(size_t)node * w->n_reps + rep] = acc;
	if (acc > a->far[r->tree])
		a->far[r->tree] = acc;
	/* t_pub >= 1 ms, so 0 means none yet; the first of equally old reports stays. */
	if (!a->root_t[r->tree] || r->t_pub < a->root_t[r->tree]) {
		a->root_t[r->tree] = r->t_pub;
		a->root_acc[r->tree] = acc;
	}
}

/*
 * Node @v's farthest node along tree @t: links eager at both ends, each weighed by its
 * estimated latency. UINT64_MAX when those links do not reach every node.
 */
static uint64_t tree_ecc(const struct world *w, uint32_t v, uint32_t t)
{
	unsigned n = w->cfg->nodes, reached = 0;
	uint32_t *stack = xcalloc(n, sizeof(*stack));
	uint64_t *dist = xcalloc(n, sizeof(*dist)), far = 0;
	bool *seen = xcalloc(n, sizeof(*seen));
	size_t top = 0;

	stack[top++] = v;
	seen[v] = true;
	while (top) {
		uint32_t u = stack[--top];
		const struct node *a = &w->nodes[u];

		reached++;
		if (dist[u] > far)
			far = dist[u];
		for (uint32_t k = 0; k < a->deg; k++) {
			uint32_t x = a->nbr[k];

			if (seen[x] ||
			    proto_gossip_link_state(a->g[t], k) != PROTO_GOSSIP_LINK_EAGER ||
			    proto_gossip_link_state(w->nodes[x].g[t], a->rev[k]) !=
				    PROTO_GOSSIP_LINK_EAGER)
				continue;
			seen[x] = true;
			dist[x] = dist[u] + link_estimate(w, u, k);
			stack[top++] = x;
		}
	}
	free(stack);
	free(dist);
	free(seen);
	return reached == n ? far : UINT64_MAX;
}

/* The tree origin @node gives report @rep (--trees, --tree-rule). */
static uint32_t pick_tree(const struct world *w, uint32_t node, uint32_t rep)
{
	const struct cfg *c = w->cfg;
	const struct node *a = &w->nodes[node];
	uint32_t pick = w->reps[rep].id[4] % c->trees;
	uint64_t best = UINT64_MAX;

	if (c->trees == 1 || c->tree_rule == RULE_HASH || rep < c->warmup)
		return pick;
	for (uint32_t t = 0; t < c->trees; t++) {
		uint64_t cost = UINT64_MAX;

		if (c->tree_rule == RULE_ROOT && a->root_t[t])
			cost = a->root_acc[t];
		else if (c->tree_rule == RULE_SEEN && a->far[t])
			cost = a->far[t];
		else if (c->tree_rule == RULE_ECC)
			cost = tree_ecc(w, node, t);
		if (cost < best) {
			best = cost;
			pick = t;
		}
	}
	return pick;
}

/*
 * --tree-swap: report @rep came first on eager @link with accumulated delay @acc, but a
 * lazy link announced it earlier with a delay at least tree_swap smaller: that link turns
 * eager (GRAFT) and this one lazy (PRUNE), at both ends. Locally the engine is told as if
 * the peers had asked: PRUNE from @link, and GRAFT from the other link for the report,
 * which it has forwarded already, so the engine pushes it there (one extra copy per swap,
 * as the GRAFT's answer is another).
 */
static void maybe_swap(struct world *w, uint32_t node, uint32_t rep, uint32_t link, uint32_t acc)
{
	const struct cfg *c = w->cfg;
	size_t i = (size_t)node * w->n_reps + rep;
	uint32_t t = w->reps[rep].tree, l;
	struct proto_gossip *g = w->nodes[node].g[t];
	struct ev prune = {.type = PROTO_LINK_PRUNE, .tree = t};
	struct ev graft = {.type = PROTO_LINK_GRAFT, .tree = t};
	int rc;

	if (!c->tree_swap || rep < c->warmup || !w->ann_link[i])
		return;
	l = w->ann_link[i] - 1;
	if (l == link || w->ann_acc[i] + c->tree_swap > acc ||
	    proto_gossip_link_state(g, link) != PROTO_GOSSIP_LINK_EAGER ||
	    proto_gossip_link_state(g, l) != PROTO_GOSSIP_LINK_LAZY)
		return;
	if ((rc = proto_gossip_on_prune(g, link, w->now)) < 0 ||
	    (rc = proto_gossip_on_graft(g, l, (const uint8_t(*)[32])w->reps[rep].id, 1, w->now)) <
		    0)
		die("swap", rc);
	post_msg(w, node, link, prune, NULL, 0, NULL, 0);
	post_msg(w, node, l, graft, &rep, 1, NULL, 0);
	(*w->swaps)++;
	drain_gossip(w, node);
}

/* ------------------------------------------------------------------ gossip events */

static void on_publish(struct world *w, uint32_t node, uint32_t rep)
{
	struct node *a = &w->nodes[node];
	struct report *r = &w->reps[rep];
	int rc;

	*has(w, node, rep) = 1;
	add_item(w, node, rep);
	if (w->mode == FLOOD) {
		w->flood_seen[(size_t)node * w->n_reps + rep] = 1;
		for (uint32_t k = 0; k < a->deg; k++)
			send_msg(w, node, k, PROTO_LINK_PUSH, &rep, 1, NULL, 0);
		return;
	}
	r->tree = pick_tree(w, node, rep);
	if (rep >= w->cfg->warmup && rep < w->cfg->reports)
		w->per_tree[r->tree]++;
	note_copy(w, node, rep, 0);
	if ((rc = proto_gossip_publish(a->g[r->tree], r->id, EPOCH_MS + r->t_pub, w->now)) < 0)
		die("publish", rc);
	drain_gossip(w, node);
}

/*
 * Policy admits and the store commits a new report; only then is it forwarded. With
 * --service-us that takes the node service_us per report, one report after another (the
 * daemon's admission and commit), so a burst queues; otherwise it is instant.
 */
static void admitted(struct world *w, uint32_t node, uint32_t rep, uint32_t link)
{
	struct node *b = &w->nodes[node];
	int rc;

	deliver(w, node, rep);
	add_item(w, node, rep);
	if (w->mode == FLOOD) {
		for (uint32_t k = 0; k < b->deg; k++)
			if (k != link)
				send_msg(w, node, k, PROTO_LINK_PUSH, &rep, 1, NULL, 0);
		return;
	}
	if ((rc = proto_gossip_forward(b->g[w->reps[rep].tree], w->reps[rep].id, w->now)) < 0)
		die("forward", rc);
	drain_gossip(w, node);
}

static void admit(struct world *w, uint32_t node, uint32_t rep, uint32_t link)
{
	struct node *b = &w->nodes[node];
	struct ev e = {.kind = EV_ADMITTED, .to = node, .one = rep, .from = link};
	uint64_t start = w->now * 1000;

	if (!w->cfg->service_us) {
		admitted(w, node, rep, link);
		return;
	}
	if (b->busy_us > start)
		start = b->busy_us;
	b->busy_us = start + w->cfg->service_us;
	e.t = (b->busy_us + 999) / 1000;
	heap_push(&w->h, e);
}

static void on_push(struct world *w, const struct ev *e)
{
	struct node *b = &w->nodes[e->to];
	uint32_t link = link_to(b, e->from), rep = e->one;
	int rc;

	w->ps->push_recv++;
	if (rep >= w->phase_r0 && rep < w->phase_r1)
		w->ps->push_rep[rep - w->phase_r0]++;
	if (w->mode == FLOOD) {
		if (w->flood_seen[(size_t)e->to * w->n_reps + rep]) {
			w->ps->push_dup++;
			return;
		}
		w->flood_seen[(size_t)e->to * w->n_reps + rep] = 1;
		admit(w, e->to, rep, link);
		return;
	}
	if (e->tree != w->reps[rep].tree)
		die("PUSH on another tree than its origin's", -EINVAL);
	rc = proto_gossip_on_push(b->g[e->tree], link, w->reps[rep].id,
				  EPOCH_MS + w->reps[rep].t_pub, w->now);
	if (rc < 0)
		die("on_push", rc);
	if (rc == PROTO_GOSSIP_NEW) {
		if (*has(w, e->to, rep))
			die("engine reported a held report as new", -EINVAL);
		note_copy(w, e->to, rep, e->acc);
		admit(w, e->to, rep, link);
		if (!w->cfg->service_us)
			maybe_swap(w, e->to, rep, link, e->acc);
	} else {
		w->ps->push_dup++;
	}
	drain_gossip(w, e->to);
}

static void on_ids(struct world *w, const struct ev *e)
{
	struct node *b = &w->nodes[e->to];
	uint32_t link = link_to(b, e->from);
	const uint32_t *idx = e->n == 1 ? &e->one : e->many;
	uint8_t(*ids)[32] = xcalloc(e->n, 32);
	int rc;

	for (uint32_t i = 0; i < e->n; i++)
		memcpy(ids[i], w->reps[idx[i]].id, 32);
	if (e->type == PROTO_LINK_IHAVE && w->cfg->tree_swap) {
		for (uint32_t i = 0; i < e->n; i++) {
			size_t k = (size_t)e->to * w->n_reps + idx[i];

			if (*has(w, e->to, idx[i]) || w->ann_link[k])
				continue;
			w->ann_link[k] = (uint8_t)(link + 1);
			w->ann_acc[k] = w->acc[(size_t)e->from * w->n_reps + idx[i]] +
					link_estimate(w, e->to, link);
		}
	}
	if (e->type == PROTO_LINK_IHAVE) {
		w->ps->ihave_msgs++;
		w->ps->ihave_ids += e->n;
		rc = proto_gossip_on_ihave(b->g[e->tree], link, (const uint8_t(*)[32])ids, e->n,
					   w->now);
	} else {
		w->ps->graft_msgs++;
		rc = proto_gossip_on_graft(b->g[e->tree], link, (const uint8_t(*)[32])ids, e->n,
					   w->now);
	}
	free(ids);
	if (rc < 0)
		die("on_ihave/on_graft", rc);
	drain_gossip(w, e->to);
}

/* ------------------------------------------------------------------ catch-up */

static struct session *session_get(struct node *a, uint32_t peer, int role, bool create,
				   struct proto_recon_source *src)
{
	struct session *s;

	for (size_t i = 0; i < a->n_ss; i++)
		if (a->ss[i].peer == peer && a->ss[i].role == role && !a->ss[i].finished)
			return &a->ss[i];
	if (!create)
		return NULL;
	a->ss = realloc(a->ss, (a->n_ss + 1) * sizeof(*a->ss));
	if (!a->ss)
		die("sessions", -ENOMEM);
	s = &a->ss[a->n_ss++];
	memset(s, 0, sizeof(*s));
	s->peer = peer;
	s->role = role;
	s->r = proto_recon_new(NULL, src);
	if (!s->r)
		die("proto_recon_new", -ENOMEM);
	return s;
}

static void send_recon(struct world *w, uint32_t node, uint32_t peer, uint8_t *msg, size_t len)
{
	uint8_t *wire;
	size_t wire_len;
	int rc = proto_link_encode_bin(PROTO_LINK_RECON, msg, len, &wire, &wire_len);

	if (rc < 0)
		die("encode RECON", rc);
	free(wire);
	w->cs->recon_msgs++;
	w->cs->recon_bytes += wire_len;
	send_msg(w, node, link_to(&w->nodes[node], peer), PROTO_LINK_RECON, NULL, 0, msg, len);
}

/* After a session call: push its "have" reports and FETCH its "need" ids. */
static void drain_recon(struct world *w, uint32_t node, struct session *s)
{
	uint8_t ids[PROTO_LINK_IDS_MAX][32];
	uint32_t idx[PROTO_LINK_IDS_MAX];
	uint32_t link = link_to(&w->nodes[node], s->peer);
	size_t n;
	int rc;

	do {
		if ((rc = proto_recon_have(s->r, ids, PROTO_LINK_IDS_MAX, &n)) < 0)
			die("recon have", rc);
		for (size_t i = 0; i < n; i++) {
			idx[0] = id_index(w, ids[i]);
			send_msg(w, node, link, MSG_CATCHUP, idx, 1, NULL, 0);
		}
	} while (n);
	for (;;) {
		uint8_t *wire;
		size_t wire_len;

		proto_recon_need(s->r, ids, PROTO_LINK_IDS_MAX, &n);
		if (!n)
			break;
		if ((rc = proto_link_encode_ids(PROTO_LINK_FETCH, (const uint8_t(*)[32])ids, n,
						&wire, &wire_len)) < 0)
			die("encode FETCH", rc);
		free(wire);
		w->cs->fetch_msgs++;
		w->cs->fetch_bytes += wire_len;
		for (size_t i = 0; i < n; i++)
			idx[i] = id_index(w, ids[i]);
		send_msg(w, node, link, PROTO_LINK_FETCH, idx, (uint32_t)n, NULL, 0);
	}
}

static void session_end(struct world *w, struct session *s, int rc)
{
	s->finished = true;
	if (rc < 0)
		w->cs->sessions_failed++;
}

static void on_recon_start(struct world *w, const struct ev *e)
{
	struct node *a = &w->nodes[e->to];
	struct proto_recon_source src = itemset_source(&a->items);
	struct session *s = session_get(a, e->one, 0, true, &src);
	uint8_t *msg;
	size_t len;
	int rc = proto_recon_initiate(s->r, &msg, &len);

	if (rc < 0)
		die("recon initiate", rc);
	w->cs->sessions++;
	send_recon(w, e->to, e->one, msg, len);
}

static void on_recon(struct world *w, const struct ev *e)
{
	struct node *a = &w->nodes[e->to];
	struct proto_recon_source src = itemset_source(&a->items);
	int role = proto_recon_msg_role(e->bytes, e->len);
	struct session *s;
	uint8_t *reply;
	size_t len;
	int rc;

	if (role < 0)
		die("recon role", role);
	w->cs->last_ms = w->now;
	/* A message from the initiator goes to our responder session, and vice versa. */
	s = session_get(a, e->from, role == 0 ? 1 : 0, role == 0, &src);
	if (!s)
		die("recon reply without a session", -EINVAL);
	rc = proto_recon_receive(s->r, e->bytes, e->len, &reply, &len);
	drain_recon(w, e->to, s);
	if (reply)
		send_recon(w, e->to, e->from, reply, len);
	if (rc != 0)
		session_end(w, s, rc);
}

static void on_fetch(struct world *w, const struct ev *e)
{
	const uint32_t *idx = e->n == 1 ? &e->one : e->many;
	uint32_t link = link_to(&w->nodes[e->to], e->from);

	for (uint32_t i = 0; i < e->n; i++)
		if (*has(w, e->to, idx[i]))
			send_msg(w, e->to, link, MSG_CATCHUP, &idx[i], 1, NULL, 0);
}

static void on_catchup(struct world *w, const struct ev *e)
{
	w->cs->last_ms = w->now;
	if (*has(w, e->to, e->one)) {
		w->cs->moved_dup++;
		return;
	}
	w->cs->moved++;
	*has(w, e->to, e->one) = 1;
	add_item(w, e->to, e->one);
}

/* ------------------------------------------------------------------ event loop */

static void free_ev(struct ev *e)
{
	free(e->many);
	free(e->bytes);
}

/* Run events until none is left before @until. */
static void run(struct world *w, uint64_t until)
{
	while (w->h.n && w->h.v[0].t <= until) {
		struct ev e = heap_pop(&w->h);
		struct node *b = &w->nodes[e.to];
		int rc;

		w->now = e.t;
		if (e.kind == EV_TICK) {
			if (e.t != b->tick_at)
				continue; /* superseded */
			b->tick_at = UINT64_MAX;
			if (b->failed)
				continue;
			for (uint32_t t = 0; t < w->cfg->trees; t++)
				if ((rc = proto_gossip_tick(b->g[t], w->now)) < 0)
					die("tick", rc);
			drain_gossip(w, e.to);
			continue;
		}
		if (b->failed) {
			if (e.kind == EV_MSG && e.type == PROTO_LINK_PUSH)
				w->ps->push_to_failed++;
			free_ev(&e);
			continue;
		}
		if (e.kind == EV_PUBLISH) {
			on_publish(w, e.to, e.one);
		} else if (e.kind == EV_ADMITTED) {
			admitted(w, e.to, e.one, e.from);
		} else if (e.kind == EV_RECON_START) {
			on_recon_start(w, &e);
		} else {
			switch (e.type) {
			case PROTO_LINK_PUSH:
				on_push(w, &e);
				break;
			case PROTO_LINK_IHAVE:
			case PROTO_LINK_GRAFT:
				on_ids(w, &e);
				break;
			case PROTO_LINK_PRUNE:
				w->ps->prune_msgs++;
				rc = proto_gossip_on_prune(b->g[e.tree], link_to(b, e.from),
							   w->now);
				if (rc < 0)
					die("on_prune", rc);
				drain_gossip(w, e.to);
				break;
			case PROTO_LINK_RECON:
				on_recon(w, &e);
				break;
			case PROTO_LINK_FETCH:
				on_fetch(w, &e);
				break;
			case MSG_CATCHUP:
				on_catchup(w, &e);
				break;
			default:
				die("unknown message", -EINVAL);
			}
		}
		free_ev(&e);
	}
	if (w->now < until && !w->h.n)
		w->now = until;
}

/* ------------------------------------------------------------------ phases */

/* Publish reports [r0, r1) at their times and run until SETTLE_MS after the last one. */
static void gossip_phase(struct world *w, unsigned r0, unsigned r1, struct phase_stats *ps)
{
	uint64_t last = 0;

	memset(ps, 0, sizeof(*ps));
	ps->reports = r1 - r0;
	for (unsigned i = 0; i < w->cfg->nodes; i++)
		ps->live += !w->nodes[i].failed;
	ps->del = xcalloc((size_t)ps->live * ps->reports, sizeof(*ps->del));
	ps->push_rep = xcalloc(ps->reports, sizeof(*ps->push_rep));
	w->ps = ps;
	w->phase_r0 = r0;
	w->phase_r1 = r1;
	for (unsigned r = r0; r < r1; r++) {
		struct ev e = {.kind = EV_PUBLISH,
			       .t = w->reps[r].t_pub,
			       .to = w->reps[r].origin,
			       .one = r};

		heap_push(&w->h, e);
		last = w->reps[r].t_pub;
	}
	run(w, last + SETTLE_MS);
	w->ps = NULL;
}

static uint64_t count_missing(struct world *w)
{
	uint64_t missing = 0;

	for (unsigned i = 0; i < w->cfg->nodes; i++)
		for (unsigned r = 0; r < w->n_reps; r++)
			missing += !*has(w, i, r);
	return missing;
}

/*
 * The failed nodes recover; every node runs a session with a random neighbour (on
 * reconnect for the recovered, periodic for the others). Rounds repeat while any node
 * misses a report.
 */
static void catchup_phase(struct world *w, struct catchup_stats *cs)
{
	unsigned n = w->cfg->nodes;
	uint64_t start = w->now;
	struct phase_stats none = {0};

	memset(cs, 0, sizeof(*cs));
	w->cs = cs;
	w->ps = &none; /* nothing is gossiped here; counters go nowhere */
	w->phase_r0 = w->phase_r1 = 0;
	bool *was_failed = xcalloc(n, sizeof(*was_failed));

	cs->missing_before = count_missing(w);
	for (unsigned i = 0; i < n; i++) {
		was_failed[i] = w->nodes[i].failed;
		w->nodes[i].failed = false;
	}
	while (cs->rounds < CATCHUP_ROUNDS_MAX && count_missing(w)) {
		for (unsigned i = 0; i < n; i++) {
			struct node *a = &w->nodes[i];
			struct ev e = {.kind = EV_RECON_START, .to = i, .t = w->now + 1};
			uint32_t live[DEG_MAX], n_live = 0;

			/* A returning node picks a neighbour that stayed up, if it has one. */
			for (uint32_t k = 0; k < a->deg; k++)
				if (!was_failed[a->nbr[k]])
					live[n_live++] = a->nbr[k];
			if (n_live)
				e.one = live[rnd_below(&w->misc_rng, n_live)];
			else
				e.one = a->nbr[rnd_below(&w->misc_rng, a->deg)];
			heap_push(&w->h, e);
		}
		cs->rounds++;
		/* Gossip timers keep ticking but have nothing to do: stop at the last session. */
		run(w, w->now + 600000);
	}
	cs->duration_ms = cs->last_ms > start ? cs->last_ms - start : 0;
	cs->missing_after = count_missing(w);
	free(was_failed);
	w->cs = NULL;
	w->ps = NULL;
}

struct result {
	struct phase_stats healthy[2], failure[2];
	struct catchup_stats catchup;
	struct proto_gossip_stats gs; /* summed over nodes, Plumtree */
	uint64_t per_tree[TREES_MAX]; /* phase 1 after the warm-up, Plumtree */
	uint64_t swaps;		      /* --tree-swap, Plumtree */
};

static void world_free(struct world *w)
{
	for (unsigned i = 0; i < w->cfg->nodes; i++) {
		struct node *a = &w->nodes[i];

		for (uint32_t t = 0; t < w->cfg->trees; t++)
			proto_gossip_free(a->g[t]);
		itemset_deinit(&a->items);
		for (size_t k = 0; k < a->n_ss; k++)
			proto_recon_free(a->ss[k].r);
		free(a->ss);
	}
	while (w->h.n) {
		struct ev e = heap_pop(&w->h);

		free_ev(&e);
	}
	free(w->h.v);
	free(w->nodes);
	free(w->has);
	free(w->flood_seen);
	free(w->acc);
	free(w->ann_acc);
	free(w->ann_link);
}

static void add_stats(struct proto_gossip_stats *sum, const struct proto_gossip_stats *s)
{
	const uint64_t *a = (const uint64_t *)s;
	uint64_t *b = (uint64_t *)sum;

	for (size_t i = 0; i < sizeof(*s) / sizeof(uint64_t); i++)
		b[i] += a[i];
}

/*
 * The overlay and the tree Plumtree formed, after the healthy phase, for
 * tests/sim/tree_bounds.py: one line per link, "a b latency_ms state_at_a state_at_b" with
 * the engine's link states (1 eager, 2 lazy), then one line "origins o1 o2 ..." naming the
 * origins of the phase's reports in order.
 */
static void dump_links(const struct world *w, const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		die(path, -errno);
	for (unsigned i = 0; i < w->cfg->nodes; i++) {
		const struct node *a = &w->nodes[i];

		for (uint32_t k = 0; k < a->deg; k++)
			if (i < a->nbr[k])
				fprintf(f, "%u %u %u %d %d\n", i, a->nbr[k], a->lat[k],
					(int)proto_gossip_link_state(a->g[0], k),
					(int)proto_gossip_link_state(w->nodes[a->nbr[k]].g[0],
								     a->rev[k]));
	}
	fprintf(f, "origins");
	for (unsigned r = 0; r < w->cfg->reports; r++)
		fprintf(f, " %u", w->reps[r].origin);
	fprintf(f, "\n");
	if (fclose(f) != 0)
		die(path, -errno);
}

/* One protocol over the template's overlay, failure set and publications. */
static void run_mode(enum mode mode, const struct world *tmpl, const bool *fail_set,
		     struct result *res)
{
	const struct cfg *c = tmpl->cfg;
	struct world w = *tmpl;
	unsigned n = c->nodes;

	w.mode = mode;
	w.nodes = xcalloc(n, sizeof(*w.nodes));
	memcpy(w.nodes, tmpl->nodes, n * sizeof(*w.nodes));
	w.has = xcalloc((size_t)n * w.n_reps, 1);
	w.flood_seen = xcalloc((size_t)n * w.n_reps, 1);
	w.acc = xcalloc((size_t)n * w.n_reps, sizeof(*w.acc));
	w.per_tree = res->per_tree;
	w.swaps = &res->swaps;
	if (c->tree_swap) {
		w.ann_acc = xcalloc((size_t)n * w.n_reps, sizeof(*w.ann_acc));
		w.ann_link = xcalloc((size_t)n * w.n_reps, sizeof(*w.ann_link));
	}
	memset(&w.h, 0, sizeof(w.h));
	w.now = 0;
	w.lat_rng = c->seed ^ 0x1a7e1a7e;
	w.loss_rng = c->seed ^ 0x10551055;
	w.misc_rng = c->seed ^ 0x31573157;
	for (unsigned i = 0; i < n; i++) {
		struct node *a = &w.nodes[i];
		struct proto_gossip_config gc = {
			.max_links = DEG_MAX,
			.seen_max = 2 * w.n_reps + 64,
			.missing_max = 2 * w.n_reps + 64,
			.graft_timeout_ms = c->graft_timeout_ms,
			.graft_retry_ms = c->graft_retry_ms,
			.hold_ms = c->hold_ms,
			.ihave_flush_ms = c->flush_ms,
			.origin_push_all = c->origin_push_all,
			.lag_max_ms = c->graft_wait_fixed
					      ? (c->graft_timeout_ms ? c->graft_timeout_ms : 1000)
					      : 0,
		};

		a->tick_at = UINT64_MAX;
		itemset_init(&a->items);
		for (uint32_t t = 0; t < c->trees && mode == PLUMTREE; t++) {
			/* Tree 0's seed is the one engine's of a run without --trees. */
			gc.seed = (c->seed * 1000003u + i) ^ (t * 0x9e3779b97f4a7c15ull);
			a->g[t] = proto_gossip_new(&gc);
			if (!a->g[t])
				die("proto_gossip_new", -ENOMEM);
			for (uint32_t k = 0; k < a->deg; k++)
				if (proto_gossip_link_up(a->g[t], k, 0) < 0)
					die("link_up", -EINVAL);
		}
	}
	gossip_phase(&w, 0, c->reports, &res->healthy[mode]);
	if (mode == PLUMTREE && c->dump_links)
		dump_links(&w, c->dump_links);
	for (unsigned i = 0; i < n; i++)
		w.nodes[i].failed = fail_set[i];
	gossip_phase(&w, c->reports, 2 * c->reports, &res->failure[mode]);
	if (mode == PLUMTREE) {
		catchup_phase(&w, &res->catchup);
		memset(&res->gs, 0, sizeof(res->gs));
		for (unsigned i = 0; i < n; i++) {
			struct proto_gossip_stats s;

			for (uint32_t t = 0; t < c->trees; t++) {
				proto_gossip_get_stats(w.nodes[i].g[t], &s);
				add_stats(&res->gs, &s);
			}
		}
	}
	world_free(&w);
}

/* ------------------------------------------------------------------ figures */

struct figures {
	double copies;	 /* PUSH received per live node per report */
	double delivery; /* first deliveries / (live nodes - origin) x reports */
	uint32_t p50, p99, max;
};

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Figures over the phase's reports from index @from on (to skip the tree's warm-up). */
static struct figures figures(const struct phase_stats *ps, unsigned from)
{
	struct figures f = {0};
	uint32_t *lat = xcalloc(ps->n_del, sizeof(*lat));
	uint64_t pushes = 0;
	size_t n = 0;
	unsigned reps = ps->reports > from ? ps->reports - from : 0;

	for (unsigned r = from; r < ps->reports; r++)
		pushes += ps->push_rep[r];
	for (size_t i = 0; i < ps->n_del; i++)
		if (ps->del[i].rep >= from)
			lat[n++] = ps->del[i].ms;
	qsort(lat, n, sizeof(*lat), cmp_u32);
	if (reps) {
		f.copies = (double)pushes / ((double)ps->live * reps);
		f.delivery = (double)n / ((double)(ps->live - 1) * reps);
	}
	if (n) {
		f.p50 = lat[(n - 1) / 2];
		f.p99 = lat[(size_t)((double)(n - 1) * 0.99)];
		f.max = lat[n - 1];
	}
	free(lat);
	return f;
}

static void free_phase(struct phase_stats *ps)
{
	free(ps->del);
	free(ps->push_rep);
}

static void row2(FILE *out, const char *label, double a, double b, int prec)
{
	fprintf(out, "  %-44s %10.*f %10.*f\n", label, prec, a, prec, b);
}

static void row1(FILE *out, const char *label, double a, int prec)
{
	fprintf(out, "  %-44s %10.*f\n", label, prec, a);
}

/* ------------------------------------------------------------------ one scenario */

struct verdict {
	double copies, latency_ratio, delivery_after, bytes_per_missing;
	bool ok;
};

static void scenario(const struct cfg *c, FILE *out, struct verdict *v)
{
	struct world w = {.cfg = c};
	struct result *res = xcalloc(1, sizeof(*res));
	uint64_t rng = c->seed, t = 1000, t_us = 0;
	unsigned n = c->nodes, failed = 0;
	bool *fail_set = xcalloc(n, sizeof(*fail_set));
	struct figures fh[2], fl[2], ff[2];
	const struct catchup_stats *cs = &res->catchup;
	double per_missing;

	w.nodes = xcalloc(n, sizeof(*w.nodes));
	build_overlay(&w, &rng);
	while (failed < (unsigned)(c->fail_frac * n + 0.5)) {
		uint32_t x = rnd_below(&rng, n);

		if (!fail_set[x]) {
			fail_set[x] = true;
			failed++;
		}
	}
	w.n_reps = 2 * c->reports;
	w.reps = xcalloc(w.n_reps, sizeof(*w.reps));
	for (unsigned r = 0; r < w.n_reps; r++) {
		struct report *rep = &w.reps[r];
		uint8_t seed_le[12];
		const void *parts[1] = {seed_le};
		size_t lens[1] = {sizeof(seed_le)};

		for (int i = 0; i < 8; i++)
			seed_le[i] = (uint8_t)(c->seed >> (8 * i));
		for (int i = 0; i < 4; i++)
			seed_le[8 + i] = (uint8_t)(r >> (8 * i));
		proto_hash(rep->id, 32, parts, lens, 1);
		memcpy(rep->id, &seed_le[8], 4); /* the index, for id_index() */
		do
			rep->origin = rnd_below(&rng, n);
		while (r >= c->reports && fail_set[rep->origin]);
		/* Arrivals uniform in [1, 2 x interval]; phase 2 starts once phase 1 settled. */
		if (r == c->reports)
			t += SETTLE_MS + 1000;
		if (c->burst_rate && r >= c->warmup && r < c->reports) {
			/* One origin (the warm-up's last) publishes back to back. */
			if (r == c->warmup)
				t_us = (t + SETTLE_MS) * 1000;
			rep->origin = w.reps[c->warmup - 1].origin;
			t_us += 1000000 / c->burst_rate;
			t = t_us / 1000;
		} else {
			t += 1 + rnd_below(&rng, 2 * c->interval_ms);
		}
		rep->t_pub = t;
	}
	run_mode(PLUMTREE, &w, fail_set, res);
	run_mode(FLOOD, &w, fail_set, res);
	for (int m = 0; m < 2; m++) {
		fh[m] = figures(&res->healthy[m], 0);
		fl[m] = figures(&res->healthy[m], c->warmup < c->reports ? c->warmup : 0);
		ff[m] = figures(&res->failure[m], 0);
	}
	per_missing =
		cs->moved ? (double)(cs->recon_bytes + cs->fetch_bytes) / (double)cs->moved : 0;

	fprintf(out,
		"nodes %u, degree %u, reports %u + %u, seed %" PRIu64
		", latency %u-%u ms per %s, loss %.3f, mean interval %u ms\n",
		n, c->degree, c->reports, c->reports, c->seed, c->lat_min, c->lat_max,
		c->lat == LAT_MESSAGE ? "message" : "link (+-10 % per message)", c->loss,
		c->interval_ms);
	if (c->burst_rate)
		fprintf(out, "phase 1 after the first %u reports: one origin, %u reports/s\n",
			c->warmup, c->burst_rate);
	if (c->service_us)
		fprintf(out, "admission: %u us per new report at every node, one at a time\n",
			c->service_us);
	if (c->trees > 1) {
		static const char *const rules[] = {"hash", "root", "seen", "ecc"};

		fprintf(out,
			"%u trees (simulator experiment), the origin picks by %s%s; reports per tree "
			"after the first %u:",
			c->trees, rules[c->tree_rule], c->tree_hops ? " (hop counts)" : "",
			c->warmup);
		for (uint32_t k = 0; k < c->trees; k++)
			fprintf(out, " %" PRIu64, res->per_tree[k]);
		fprintf(out, "\n");
	}
	if (c->tree_swap)
		fprintf(out,
			"Plumtree's optimisation at a gain of %u (simulator experiment): %" PRIu64
			" swaps\n",
			c->tree_swap, res->swaps);
	fprintf(out, "%-46s %10s %10s\n", "", "plumtree", "flooding");
	fprintf(out, "healthy, all %u reports (the first ones shape the tree)\n", c->reports);
	row2(out, "payload copies / node / report", fh[0].copies, fh[1].copies, 3);
	row2(out, "delivery", fh[0].delivery, fh[1].delivery, 5);
	row2(out, "latency p50 ms", fh[0].p50, fh[1].p50, 0);
	row2(out, "latency p99 ms", fh[0].p99, fh[1].p99, 0);
	row2(out, "latency max ms", fh[0].max, fh[1].max, 0);
	fprintf(out, "healthy, reports %u.. (tree formed)\n", c->warmup);
	row2(out, "payload copies / node / report", fl[0].copies, fl[1].copies, 3);
	row2(out, "latency p50 ms", fl[0].p50, fl[1].p50, 0);
	row2(out, "latency p99 ms", fl[0].p99, fl[1].p99, 0);
	row2(out, "latency max ms", fl[0].max, fl[1].max, 0);
	row1(out, "max latency plumtree / flooding", fl[1].max ? (double)fl[0].max / fl[1].max : 0,
	     2);
	row1(out, "IHAVE msgs / node / report",
	     (double)res->healthy[0].ihave_msgs / ((double)n * c->reports), 3);
	row1(out, "IHAVE ids / node / report",
	     (double)res->healthy[0].ihave_ids / ((double)n * c->reports), 3);
	row1(out, "GRAFT msgs (all reports)", (double)res->healthy[0].graft_msgs, 0);
	row1(out, "PRUNE msgs (all reports)", (double)res->healthy[0].prune_msgs, 0);
	fprintf(out, "failure: %u of %u nodes stop, %u reports from live origins\n", failed, n,
		c->reports);
	row2(out, "delivery to live nodes (before catch-up)", ff[0].delivery, ff[1].delivery, 5);
	row2(out, "payload copies / live node / report", ff[0].copies, ff[1].copies, 3);
	row2(out, "latency p50 ms", ff[0].p50, ff[1].p50, 0);
	row2(out, "latency p99 ms", ff[0].p99, ff[1].p99, 0);
	row2(out, "latency max ms", ff[0].max, ff[1].max, 0);
	row1(out, "GRAFT msgs", (double)res->failure[0].graft_msgs, 0);
	row1(out, "IHAVE ids / live node / report",
	     (double)res->failure[0].ihave_ids / ((double)(n - failed) * c->reports), 3);
	fprintf(out, "catch-up: the failed nodes return; every node reconciles with a random\n"
		     "neighbour that stayed up, in rounds until nothing is missing\n");
	row1(out, "(node, report) pairs missing before", (double)cs->missing_before, 0);
	row1(out, "rounds", cs->rounds, 0);
	row1(out, "sessions", (double)cs->sessions, 0);
	row1(out, "sessions failed", (double)cs->sessions_failed, 0);
	row1(out, "reports moved", (double)cs->moved, 0);
	row1(out, "reports moved again (concurrent sessions)", (double)cs->moved_dup, 0);
	row1(out, "RECON messages", (double)cs->recon_msgs, 0);
	row1(out, "RECON bytes (link messages)", (double)cs->recon_bytes, 0);
	row1(out, "FETCH messages", (double)cs->fetch_msgs, 0);
	row1(out, "FETCH bytes (link messages)", (double)cs->fetch_bytes, 0);
	row1(out, "RECON+FETCH bytes per report moved", per_missing, 1);
	row1(out, "ms from start to the last session's end", (double)cs->duration_ms, 0);
	row1(out, "(node, report) pairs missing after", (double)cs->missing_after, 0);
	fprintf(out,
		"engine totals: held %" PRIu64 " (%" PRIu64
		" without tree copy), GRAFT ids %" PRIu64 ", gave up %" PRIu64 "\n",
		res->gs.held, res->gs.held_expired, res->gs.graft_ids_sent,
		res->gs.missing_gave_up);
	fprintf(out,
		"duplicates: %" PRIu64 " on lazy links, %" PRIu64 " on eager links; new reports "
		"announced first %" PRIu64 " (%" PRIu64 " after a GRAFT; %" PRIu64
		" tree copies came after it); lag samples %" PRIu64 "\n",
		res->gs.dup_lazy, res->gs.dup_eager, res->gs.announced_late, res->gs.grafted_late,
		res->gs.graft_early, res->gs.lag_samples);

	v->copies = fl[0].copies;
	v->latency_ratio = fl[1].max ? (double)fl[0].max / fl[1].max : 0;
	v->delivery_after = 1.0 - (double)cs->missing_after / ((double)n * w.n_reps);
	v->bytes_per_missing = per_missing;
	v->ok = v->copies <= 1.2 && v->latency_ratio <= 1.8 && cs->missing_after == 0 &&
		per_missing <= 40;
	for (int m = 0; m < 2; m++) {
		free_phase(&res->healthy[m]);
		free_phase(&res->failure[m]);
	}
	free(res);
	free(fail_set);
	free(w.nodes);
	free(w.reps);
}

/* Run a scenario into a string (so two runs can be compared byte for byte). */
static char *scenario_text(const struct cfg *c, struct verdict *v)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		die("open_memstream", -errno);
	scenario(c, f, v);
	fclose(f);
	return buf;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: sim_gossip [--nodes N] [--reports R] [--seed S] [--degree D]\n"
		"                  [--interval MS] [--loss P] [--latency link|message]\n"
		"                  [--graft-timeout MS] [--graft-retry MS] [--hold MS]\n"
		"                  [--flush MS] [--origin-push-all] [--dump-links FILE]\n"
		"                  [--burst RATE] [--service-us US] [--graft-wait-fixed]\n"
		"                  [--trees K] [--tree-rule hash|root|seen|ecc] [--tree-hops]\n"
		"                  [--tree-swap GAIN] [--check]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct cfg c = {
		.degree = 6,
		.seed = 1,
		.interval_ms = 50,
		.lat = LAT_LINK,
		.lat_min = 20,
		.lat_max = 80,
		.fail_frac = 0.10,
		.trees = 1,
		.tree_rule = RULE_HASH,
	};
	unsigned nodes = 0, reports = 0;
	bool check = false, lat_given = false;
	int status = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--check")) {
			check = true;
			continue;
		}
		if (!strcmp(a, "--origin-push-all")) {
			c.origin_push_all = true;
			continue;
		}
		if (!strcmp(a, "--graft-wait-fixed")) {
			c.graft_wait_fixed = true;
			continue;
		}
		if (!strcmp(a, "--tree-hops")) {
			c.tree_hops = true;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--nodes"))
			nodes = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--reports"))
			reports = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--seed"))
			c.seed = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--degree"))
			c.degree = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--interval"))
			c.interval_ms = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--graft-timeout"))
			c.graft_timeout_ms = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--graft-retry"))
			c.graft_retry_ms = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--hold"))
			c.hold_ms = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--flush"))
			c.flush_ms = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--loss"))
			c.loss = strtod(v, NULL);
		else if (!strcmp(a, "--burst"))
			c.burst_rate = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--service-us"))
			c.service_us = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--dump-links"))
			c.dump_links = v;
		else if (!strcmp(a, "--tree-swap"))
			c.tree_swap = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--trees"))
			c.trees = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--tree-rule") && !strcmp(v, "hash"))
			c.tree_rule = RULE_HASH;
		else if (!strcmp(a, "--tree-rule") && !strcmp(v, "root"))
			c.tree_rule = RULE_ROOT;
		else if (!strcmp(a, "--tree-rule") && !strcmp(v, "seen"))
			c.tree_rule = RULE_SEEN;
		else if (!strcmp(a, "--tree-rule") && !strcmp(v, "ecc"))
			c.tree_rule = RULE_ECC;
		else if (!strcmp(a, "--latency") && !strcmp(v, "message"))
			c.lat = LAT_MESSAGE, lat_given = true;
		else if (!strcmp(a, "--latency") && !strcmp(v, "link"))
			c.lat = LAT_LINK, lat_given = true;
		else
			usage();
	}
	if (c.degree < 2 || c.degree > DEG_MAX || c.loss < 0 || c.loss >= 1 || !c.interval_ms ||
	    !c.trees || c.trees > TREES_MAX || (nodes && nodes <= c.degree) ||
	    (reports && reports < 10))
		usage();
	if (proto_crypto_init() != 0)
		die("crypto init", -EIO);
	if (check) {
		struct verdict v1, v2;
		char *a, *b;

		c.nodes = nodes ? nodes : 100;
		c.reports = reports ? reports : 500;
		c.warmup = c.reports / 10;
		a = scenario_text(&c, &v1);
		b = scenario_text(&c, &v2);
		fputs(a, stdout);
		printf("check: copies %.3f per node per report <= 1.2: %s\n", v1.copies,
		       v1.copies <= 1.2 ? "ok" : "FAIL");
		printf("check: max latency %.2f x flooding <= 1.8: %s\n", v1.latency_ratio,
		       v1.latency_ratio <= 1.8 ? "ok" : "FAIL");
		printf("check: delivery after catch-up %.6f == 1: %s\n", v1.delivery_after,
		       v1.delivery_after == 1.0 ? "ok" : "FAIL");
		printf("check: catch-up %.1f B per missing id <= 40: %s\n", v1.bytes_per_missing,
		       v1.bytes_per_missing <= 40 ? "ok" : "FAIL");
		printf("check: same seed, same output: %s\n", strcmp(a, b) == 0 ? "ok" : "FAIL");
		status = v1.ok && strcmp(a, b) == 0 ? 0 : 1;
		free(a);
		free(b);
		return status;
	}
	/* The full report: both sizes, per-link latency, then per-message latency. */
	for (int m = 0; m < 2; m++) {
		if (lat_given && m)
			break;
		if (!lat_given)
			c.lat = m ? LAT_MESSAGE : LAT_LINK;
		for (unsigned n = 100; n <= 1000; n *= 10) {
			struct verdict v;

			if (nodes && n != 100)
				break;
			c.nodes = nodes ? nodes : n;
			c.reports = reports ? reports : 1000;
			c.warmup = c.reports / 10;
			scenario(&c, stdout, &v);
			printf("targets (copies <= 1.2, max latency <= 1.8 x flooding, full delivery "
			       "after catch-up, <= 40 B per missing id): %s\n\n",
			       v.ok ? "met" : "MISSED");
			fflush(stdout);
		}
	}
	return status;
}
