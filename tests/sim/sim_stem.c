/* SPDX-License-Identifier: MIT */
/*
 * sim_stem — how well the Dandelion stem (proto/stem.h) hides the origin of anonymous
 * reports from colluding members, measured against plain flooding in the same run
 * (DESIGN.md §4 "Network-level origin hiding").
 *
 * Model: N nodes on a random overlay where every node links to up to `degree` others (a
 * random regular-ish graph, retried until connected). Each link has a latency drawn once,
 * uniform in [20, 80] ms, and every message on it takes that latency +-10 % (drawn per
 * message). Nodes process instantly. A fraction of the nodes (5 % by default) are spies:
 * they follow the protocol but pool what they see. Every node runs a real proto_stem router
 * (its own seed derived from the run seed, epochs of 10 min of virtual time).
 *
 * The fluff phase is modelled as flooding: a node that gets a report by gossip for the
 * first time (or fluffs it) pushes it to every link but the sender. Plumtree (proto/
 * gossip.h) delivers the first copy along the same fastest paths once its tree has formed
 * and the origin of a broadcast pushes to all links in both, so for "who delivered the
 * first copy to a spy" flooding is the same observation; it keeps this simulator
 * independent of the gossip engine's timers.
 *
 * Reports are published one at a time from uniformly random honest origins, each run to
 * quiescence (embargo timers included), with virtual time moving on between them, so the
 * stem routers cross many epochs. Each report is run in three modes over the same overlay,
 * spies and origins:
 *  - flood:     the origin pushes to all its links (what gossip alone does);
 *  - stem:      the origin sends it into the stem; the node whose coin says so (or whose
 *               embargo fires) fluffs it into the flood;
 *  - blackhole: as stem, but spies drop every STEM they receive, so only embargo timers
 *               get those reports out (delivery and the origin's exposure under attack).
 *
 * Estimator ("first spy", as in the Dandelion papers): the spies guess that the origin is
 * the node that delivered the first copy (STEM or PUSH) of the report to any spy. Scores:
 *  - recall    = correct guesses / reports;
 *  - precision = correct guesses / guesses (a report no spy sees gets no guess);
 *  - per-node (Fanti et al.): the mean over honest nodes of (their reports guessed right /
 *    their reports) and of (guesses naming them that were right / guesses naming them).
 * Also: delivery (reports every node got), stem length (STEM hops before the fluff),
 * reports fluffed by an embargo timer, and the time until the last node had the report.
 *
 * Usage: sim_stem [--nodes N] [--reports R] [--spies PERCENT] [--degree D] [--fluff PERMILLE]
 *                 [--embargo MS] [--seed S] [--check]
 * --check runs the defaults (N = 100, 5 % spies, R = 1500) twice and checks: stem recall
 * <= 0.10, flood recall >= 0.15 (the estimator works), 100 % delivery in every mode,
 * identical figures for the same seed; exit status 1 if one is missed.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"
#include "proto/stem.h"

#define DEG_MAX 32
#define LAT_MIN 20
#define LAT_MAX 80
#define NONE UINT32_MAX

enum mode { M_FLOOD, M_STEM, M_BLACKHOLE, M_COUNT };
static const char *const mode_name[M_COUNT] = {"flood", "stem", "blackhole"};

enum ev_kind { EV_STEM, EV_PUSH, EV_TIMER };

struct cfg {
	unsigned nodes, reports, spies_pct, degree;
	uint32_t fluff_permille, embargo_ms;
	uint64_t seed;
};

struct ev {
	uint64_t t, seq;
	uint32_t kind, to, from;
	uint32_t link; /* the receiver's link handle for the sender */
};

struct node {
	unsigned deg;
	uint32_t nbr[DEG_MAX];
	uint32_t rev[DEG_MAX]; /* our index in the neighbour's list */
	uint32_t lat[DEG_MAX];
	bool spy;
	struct proto_stem *stem;
	/* per report */
	bool has, gossiped;
};

struct score {
	uint64_t reports, guesses, correct, delivered;
	uint64_t stem_hops, embargo_fluffs, spread_ms;
	double node_recall, node_precision;
};

struct world {
	const struct cfg *c;
	struct node *nodes;
	struct ev *heap;
	size_t n_heap, cap_heap;
	uint64_t seq, now;
	uint64_t net_rng[M_COUNT]; /* one stream per mode: the flood figures do not depend on
				      the stem parameters */
	enum mode mode;
	uint8_t id[32];
	/* per report */
	uint32_t guess, n_has, hops;
	uint64_t last_has;
	bool embargo_fired;
};

/* ------------------------------------------------------------------ helpers */

static void die(const char *what, int err)
{
	fprintf(stderr, "sim_stem: %s: %s\n", what, proto_error_str(err));
	exit(2);
}

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);

	if (!p)
		die("calloc", -ENOMEM);
	return p;
}

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

/* ------------------------------------------------------------------ event queue */

static bool ev_less(const struct ev *a, const struct ev *b)
{
	return a->t != b->t ? a->t < b->t : a->seq < b->seq;
}

static void ev_push(struct world *w, struct ev e)
{
	size_t i;

	if (w->n_heap == w->cap_heap) {
		w->cap_heap = w->cap_heap ? 2 * w->cap_heap : 1024;
		w->heap = realloc(w->heap, w->cap_heap * sizeof(*w->heap));
		if (!w->heap)
			die("realloc", -ENOMEM);
	}
	e.seq = w->seq++;
	i = w->n_heap++;
	while (i && ev_less(&e, &w->heap[(i - 1) / 2])) {
		w->heap[i] = w->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	w->heap[i] = e;
}

static struct ev ev_pop(struct world *w)
{
	struct ev top = w->heap[0], last = w->heap[--w->n_heap];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= w->n_heap)
			break;
		if (c + 1 < w->n_heap && ev_less(&w->heap[c + 1], &w->heap[c]))
			c++;
		if (!ev_less(&w->heap[c], &last))
			break;
		w->heap[i] = w->heap[c];
		i = c;
	}
	if (w->n_heap)
		w->heap[i] = last;
	return top;
}

/* ------------------------------------------------------------------ overlay */

static void build_overlay(struct world *w, uint64_t *rng)
{
	unsigned n = w->c->nodes, d = w->c->degree;
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

			for (unsigned tries = 0; a->deg < d && tries < 200; tries++) {
				uint32_t v = rnd_below(rng, n);
				struct node *b = &w->nodes[v];
				bool dup = v == order[k] || b->deg >= d;

				for (unsigned e = 0; e < a->deg && !dup; e++)
					dup = a->nbr[e] == v;
				if (dup)
					continue;
				a->rev[a->deg] = b->deg;
				b->rev[b->deg] = a->deg;
				a->lat[a->deg] = b->lat[b->deg] =
					LAT_MIN + rnd_below(rng, LAT_MAX - LAT_MIN + 1);
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

/* ------------------------------------------------------------------ protocol */

/* Send a message from @from over its link @link: latency of the link +-10 %. */
static void send_on(struct world *w, uint32_t from, uint32_t link, enum ev_kind kind)
{
	const struct node *a = &w->nodes[from];
	uint32_t lat = a->lat[link], jit = lat / 10;

	ev_push(w,
		(struct ev){.t = w->now + lat - jit + rnd_below(&w->net_rng[w->mode], 2 * jit + 1),
			    .kind = kind,
			    .to = a->nbr[link],
			    .from = from,
			    .link = a->rev[link]});
}

static void mark_has(struct world *w, uint32_t v)
{
	if (!w->nodes[v].has) {
		w->nodes[v].has = true;
		w->n_has++;
		w->last_has = w->now;
	}
}

static void schedule_timer(struct world *w, uint32_t v)
{
	uint64_t d = proto_stem_next_deadline(w->nodes[v].stem);

	if (d != UINT64_MAX)
		ev_push(w, (struct ev){.t = d, .kind = EV_TIMER, .to = v, .from = NONE});
}

/* @v broadcasts the report: flood to every link but @except (NONE for all). */
static void flood(struct world *w, uint32_t v, uint32_t except)
{
	struct node *a = &w->nodes[v];

	a->gossiped = true;
	mark_has(w, v);
	if (w->mode != M_FLOOD)
		proto_stem_on_gossip(a->stem, w->id, w->now);
	for (unsigned l = 0; l < a->deg; l++)
		if (a->nbr[l] != except)
			send_on(w, v, l, EV_PUSH);
}

static void stem_verdict(struct world *w, uint32_t v, int r, uint32_t link)
{
	if (r == PROTO_STEM_FORWARD) {
		w->hops++;
		send_on(w, v, link, EV_STEM);
		schedule_timer(w, v);
	} else if (r == PROTO_STEM_FLUFF) {
		flood(w, v, NONE);
	} else if (r != PROTO_STEM_DROP) {
		die("stem", r);
	}
}

static void publish(struct world *w, uint32_t origin)
{
	uint32_t link = 0;
	int r;

	if (w->mode == M_FLOOD) {
		flood(w, origin, NONE);
		return;
	}
	mark_has(w, origin);
	r = proto_stem_originate(w->nodes[origin].stem, w->id, w->now, &link);
	if (r < 0)
		die("originate", r);
	stem_verdict(w, origin, r, link);
}

static void observe(struct world *w, const struct ev *e)
{
	if (w->nodes[e->to].spy && w->guess == NONE && !w->nodes[e->from].spy)
		w->guess = e->from;
}

static void handle(struct world *w, const struct ev *e)
{
	struct node *a = &w->nodes[e->to];
	uint8_t id[32];
	uint32_t link = 0;
	int r;

	switch (e->kind) {
	case EV_PUSH:
		observe(w, e);
		if (!a->gossiped)
			flood(w, e->to, e->from);
		break;
	case EV_STEM:
		observe(w, e);
		/* A node drops a STEM of a report gossip already brought (proto/stem.h). */
		if (a->gossiped || (w->mode == M_BLACKHOLE && a->spy))
			break;
		mark_has(w, e->to);
		r = proto_stem_on_stem(a->stem, e->link, w->id, w->now, &link);
		if (r < 0)
			die("on_stem", r);
		stem_verdict(w, e->to, r, link);
		break;
	case EV_TIMER:
		while (proto_stem_expire(a->stem, w->now, id)) {
			w->embargo_fired = true;
			if (!a->gossiped)
				flood(w, e->to, NONE);
		}
		break;
	}
}

/* ------------------------------------------------------------------ runs */

static void run_mode(struct world *w, enum mode m, uint32_t origin, uint64_t t0, struct score *sc,
		     uint64_t *guessed, uint64_t *right_for)
{
	unsigned n = w->c->nodes;

	w->mode = m;
	w->now = t0;
	w->guess = NONE;
	w->n_has = 0;
	w->hops = 0;
	w->embargo_fired = false;
	w->last_has = t0;
	for (unsigned v = 0; v < n; v++)
		w->nodes[v].has = w->nodes[v].gossiped = false;
	publish(w, origin);
	while (w->n_heap) {
		struct ev e = ev_pop(w);

		w->now = e.t;
		handle(w, &e);
	}
	sc->reports++;
	sc->delivered += w->n_has == n;
	sc->spread_ms += w->last_has - t0;
	sc->stem_hops += w->hops;
	sc->embargo_fluffs += w->embargo_fired;
	if (w->guess != NONE) {
		sc->guesses++;
		guessed[w->guess]++;
		if (w->guess == origin) {
			sc->correct++;
			right_for[origin]++;
		}
	}
}

/* One whole run; fills sc[M_COUNT]. Deterministic in cfg. */
static void run(const struct cfg *c, struct score sc[M_COUNT])
{
	struct world w = {.c = c};
	uint64_t rng = c->seed, t = 0;
	unsigned n = c->nodes, n_spies = (c->nodes * c->spies_pct + 50) / 100;
	uint64_t *origins = xcalloc(n, sizeof(*origins));
	uint64_t *guessed = xcalloc((size_t)M_COUNT * n, sizeof(*guessed));
	uint64_t *right = xcalloc((size_t)M_COUNT * n, sizeof(*right));

	w.nodes = xcalloc(n, sizeof(*w.nodes));
	for (int m = 0; m < M_COUNT; m++)
		w.net_rng[m] = rnd(&rng);
	build_overlay(&w, &rng);
	for (unsigned k = 0; k < n_spies;) {
		uint32_t v = rnd_below(&rng, n);

		if (!w.nodes[v].spy) {
			w.nodes[v].spy = true;
			k++;
		}
	}
	for (unsigned v = 0; v < n; v++) {
		struct proto_stem_config sc_cfg = {
			.fluff_permille = c->fluff_permille,
			.embargo_ms = c->embargo_ms,
			.seed = rnd(&rng),
		};
		int err;

		w.nodes[v].stem = proto_stem_new(&sc_cfg);
		if (!w.nodes[v].stem)
			die("proto_stem_new", -EINVAL);
		for (unsigned l = 0; l < w.nodes[v].deg; l++) {
			err = proto_stem_link_up(w.nodes[v].stem, l, 0);
			if (err)
				die("link_up", err);
		}
	}
	memset(sc, 0, M_COUNT * sizeof(*sc));
	for (unsigned r = 0; r < c->reports; r++) {
		uint32_t origin;

		do
			origin = rnd_below(&rng, n);
		while (w.nodes[origin].spy);
		origins[origin]++;
		memset(w.id, 0, sizeof(w.id));
		memcpy(w.id, &r, sizeof(r));
		/* Each mode needs its own id: the routers remember ids across modes. */
		t += 1000 + rnd_below(&rng, 60000);
		for (int m = 0; m < M_COUNT; m++) {
			w.id[31] = (uint8_t)m;
			run_mode(&w, (enum mode)m, origin, t, &sc[m], guessed + (size_t)m * n,
				 right + (size_t)m * n);
			if (w.now > t)
				t = w.now;
		}
	}
	for (int m = 0; m < M_COUNT; m++) {
		unsigned with_reports = 0, named = 0;

		for (unsigned v = 0; v < n; v++) {
			uint64_t g = guessed[(size_t)m * n + v], ok = right[(size_t)m * n + v];

			if (origins[v]) {
				with_reports++;
				sc[m].node_recall += (double)ok / (double)origins[v];
			}
			if (g) {
				named++;
				sc[m].node_precision += (double)ok / (double)g;
			}
		}
		sc[m].node_recall /= with_reports ? with_reports : 1;
		sc[m].node_precision /= named ? named : 1;
	}
	for (unsigned v = 0; v < n; v++)
		proto_stem_free(w.nodes[v].stem);
	free(w.nodes);
	free(w.heap);
	free(origins);
	free(guessed);
	free(right);
}

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

static void print_scores(const struct cfg *c, const struct score sc[M_COUNT])
{
	printf("nodes %u, degree %u, spies %u %%, reports %u, fluff p = %.3f, embargo %u ms, "
	       "seed %" PRIu64 "\n",
	       c->nodes, c->degree, c->spies_pct, c->reports, c->fluff_permille / 1000.0,
	       c->embargo_ms, c->seed);
	printf("%-10s %8s %9s %11s %12s %9s %10s %9s %11s\n", "mode", "recall", "precision",
	       "node-recall", "node-precis.", "delivery", "stem-hops", "embargo", "spread-ms");
	for (int m = 0; m < M_COUNT; m++)
		printf("%-10s %8.4f %9.4f %11.4f %12.4f %9.4f %10.2f %9.4f %11.1f\n", mode_name[m],
		       ratio(sc[m].correct, sc[m].reports), ratio(sc[m].correct, sc[m].guesses),
		       sc[m].node_recall, sc[m].node_precision,
		       ratio(sc[m].delivered, sc[m].reports), ratio(sc[m].stem_hops, sc[m].reports),
		       ratio(sc[m].embargo_fluffs, sc[m].reports),
		       ratio(sc[m].spread_ms, sc[m].reports));
}

static unsigned long parse_ul(const char *opt, const char *v, unsigned long lo, unsigned long hi)
{
	char *end;
	unsigned long x;

	if (!v) {
		fprintf(stderr, "sim_stem: %s needs a value\n", opt);
		exit(2);
	}
	errno = 0;
	x = strtoul(v, &end, 10);
	if (errno || *end || end == v || x < lo || x > hi) {
		fprintf(stderr, "sim_stem: %s must be in %lu..%lu\n", opt, lo, hi);
		exit(2);
	}
	return x;
}

int main(int argc, char **argv)
{
	struct cfg c = {.nodes = 100,
			.reports = 1500,
			.spies_pct = 5,
			.degree = 6,
			.fluff_permille = 150,
			.embargo_ms = 5000,
			.seed = 1};
	struct score a[M_COUNT], b[M_COUNT];
	bool check = false, ok = true;

	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(o, "--check")) {
			check = true;
			continue;
		}
		if (!strcmp(o, "--nodes"))
			c.nodes = (unsigned)parse_ul(o, v, 10, 100000);
		else if (!strcmp(o, "--reports"))
			c.reports = (unsigned)parse_ul(o, v, 1, 10000000);
		else if (!strcmp(o, "--spies"))
			c.spies_pct = (unsigned)parse_ul(o, v, 1, 50);
		else if (!strcmp(o, "--degree"))
			c.degree = (unsigned)parse_ul(o, v, 2, DEG_MAX);
		else if (!strcmp(o, "--fluff"))
			c.fluff_permille = (uint32_t)parse_ul(o, v, 1, 1000);
		else if (!strcmp(o, "--embargo"))
			c.embargo_ms = (uint32_t)parse_ul(o, v, 1, 3600000);
		else if (!strcmp(o, "--seed"))
			c.seed = parse_ul(o, v, 0, ULONG_MAX);
		else {
			fprintf(stderr,
				"usage: sim_stem [--nodes N] [--reports R] [--spies PERCENT] "
				"[--degree D] [--fluff PERMILLE] [--embargo MS] [--seed S] "
				"[--check]\n");
			return 2;
		}
		i++;
	}
	run(&c, a);
	print_scores(&c, a);
	if (!check)
		return 0;

	run(&c, b);
	if (memcmp(a, b, sizeof(a)) != 0) {
		printf("FAIL: a second run with the same seed gave other figures\n");
		ok = false;
	}
	if (ratio(a[M_STEM].correct, a[M_STEM].reports) > 0.10) {
		printf("FAIL: recall with the stem %.4f > 0.10\n",
		       ratio(a[M_STEM].correct, a[M_STEM].reports));
		ok = false;
	}
	if (ratio(a[M_FLOOD].correct, a[M_FLOOD].reports) < 0.15) {
		printf("FAIL: recall of flooding %.4f < 0.15: the estimator is not working\n",
		       ratio(a[M_FLOOD].correct, a[M_FLOOD].reports));
		ok = false;
	}
	for (int m = 0; m < M_COUNT; m++)
		if (a[m].delivered != a[m].reports) {
			printf("FAIL: %s delivered %" PRIu64 " of %" PRIu64 " reports to all\n",
			       mode_name[m], a[m].delivered, a[m].reports);
			ok = false;
		}
	printf("%s\n", ok ? "check: ok" : "check: FAILED");
	return ok ? 0 : 1;
}
