/* SPDX-License-Identifier: MIT */
/*
 * Plumtree engine (proto/gossip.h; its header explains the protocol and where and why it
 * departs from the paper: formation on one report, pruning after a streak of duplicates,
 * holding off-tree copies until their tree copy arrives).
 *
 * State: the link table (eager/lazy/down, each link's pending IHAVE ids, duplicate streak
 * and formation mark), two bounded id maps — "seen" (every report id published, received
 * or discarded, with what is needed to forward it) and "missing" (ids announced by IHAVE
 * but not received, with their announcers and GRAFT timer) — the short list of held
 * reports, the formation candidate, and the action queue.
 *
 * Both maps are one structure: a slab of fixed-size entries threaded on an age list
 * (oldest first, for eviction and expiry) and indexed by an open-addressing hash table
 * with linear probing and backward-shift deletion. The table hashes ids with SipHash
 * under a key derived from the seed: ids in IHAVE and GRAFT come from peers, and a keyed
 * hash keeps a hostile peer from choosing ids that all collide.
 *
 * Timers are scanned rather than kept in a heap: the missing map, the held list and the
 * links with queued IHAVE ids are all small in steady state (an id is missing only while
 * its eager copy is late), and a scan keeps the structures simple to bound.
 */
#include "proto/gossip.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/array.h"

#define NIL UINT32_MAX
#define NO_LINK UINT16_MAX
#define PRUNE_REPEAT_MS 1000 /* see send_prune() */
#define LAG_SAMPLES 16	     /* see graft_wait() */
#define LAG_WINDOW_MS 10000
#define NO_LEAD UINT32_MAX
#define RECHECK_MS 100 /* see tree_recheck() */
#define HAS_MAX 8      /* see struct seen_ent */

/* Header of every map entry; the map's entries embed it first. */
struct ent {
	uint8_t id[32];
	uint32_t h; /* hash of id */
	uint32_t prev, next;
};

struct idmap {
	uint8_t *slab;
	size_t esz;
	uint32_t used, max; /* slab entries ever handed out, limit (the slab's size) */
	uint32_t free_head;
	uint32_t oldest, newest;
	uint32_t count;
	uint32_t *slots; /* entry index + 1; 0 = empty */
	uint32_t mask;
	const uint8_t *key;
};

enum seen_state { S_PENDING, S_HELD, S_FORWARDED, S_DISCARDED };

struct seen_ent {
	struct ent e;
	uint64_t t;
	uint16_t from; /* first sender, NO_LINK for our own reports */
	uint16_t tree; /* eager link the tree copy of an off-tree report came on */
	uint8_t state;
	uint8_t lazy_first; /* first copy came on a lazy link */
	uint16_t regraft;   /* link asked (after a hold) to push it again: no PRUNE for that */
	uint16_t grafted;   /* link a GRAFT for it went to before it came, or NO_LINK */
	uint32_t lead;	    /* ms its first IHAVE came before its first copy, or NO_LEAD */
	/*
	 * Links that announced it or sent a copy before it was forwarded here (the first
	 * HAS_MAX): they hold it, so do_forward() neither pushes nor announces it to them. In
	 * a burst IHAVEs run ahead of the copies, and both ends of most lazy links announced
	 * each report to the other; admission takes seconds, and a second copy often comes
	 * meanwhile. A link handle reused by a new link before the report is forwarded misses
	 * it; the catch-up session of a new link (proto/recon.h) covers that.
	 */
	uint8_t n_has;
	uint16_t has[HAS_MAX];
};

struct miss_ent {
	struct ent e;
	uint64_t deadline;
	uint64_t first;	 /* when the first IHAVE named it */
	uint32_t jitter; /* added to the first GRAFT's wait */
	uint8_t n_ann, next_ann;
	bool tree_waited; /* its GRAFT waited for the moving tree (tree_moving()) */
	uint16_t ann[PROTO_GOSSIP_ANNOUNCERS_MAX];
};

struct held {
	uint8_t id[32];
	uint64_t since, deadline;
	bool tree_waited; /* its hold was extended for the moving tree (tree_moving()) */
};

struct link {
	uint8_t state;
	uint32_t up_pos; /* index in proto_gossip.up */
	uint8_t (*q)[32];
	uint32_t nq, capq;
	uint64_t since;	     /* when the oldest queued IHAVE id was queued */
	uint32_t dup_streak; /* duplicates received since the last new report */
	bool cand_dup;	     /* brought a copy of the formation candidate after its first */
	bool pruned;	     /* a PRUNE was sent on it, at pruned_ms */
	uint64_t pruned_ms;
};

struct act {
	uint32_t link; /* NIL = cancelled by link_down */
	uint8_t type;
	uint32_t off, n;
};

struct graft_req {
	uint32_t link;
	uint32_t seq; /* keeps qsort stable */
	uint8_t id[32];
};

struct proto_gossip {
	struct proto_gossip_config cfg;
	uint8_t hkey[crypto_shorthash_KEYBYTES];
	uint64_t rng;
	struct link *links;
	uint32_t *up;
	uint32_t n_up;
	struct idmap seen, miss;
	struct held *held;
	size_t n_held, cap_held;
	struct act *acts;
	size_t n_acts, head_acts, cap_acts;
	uint8_t (*abuf)[32];
	size_t n_abuf, cap_abuf;
	struct proto_gossip_stats st;
	/* Formation: the oldest report seen in the first formation_ms shapes the tree. */
	bool formed, have_cand;
	uint64_t form_end, formed_at;
	uint8_t cand_id[32];
	uint64_t cand_created;
	/* The last lags of tree copies behind their first IHAVE, and when (graft_wait()). */
	uint32_t lag[LAG_SAMPLES];
	uint64_t lag_t[LAG_SAMPLES];
	uint32_t n_lag, lag_pos;
	uint64_t lag_median, lag_valid_until; /* cached; recomputed after that or a sample */
	/*
	 * The tree's progress (tree_moving()): its last new copy, the newest it brought, the
	 * largest recent gap between its copies and when that gap was measured.
	 */
	bool tree_seen;
	uint64_t tree_new_ms, tree_front, tree_gap, tree_gap_t;
	/*
	 * No GRAFT timer or hold ends before this (a lower bound, made exact by each tick):
	 * proto_gossip_next_deadline() runs after every link message and must not scan the
	 * thousands of ids awaited in a burst each time.
	 */
	uint64_t timers_at;
};

/* splitmix64 over the seeded state: deterministic, not for secrets. */
static uint64_t rnd(struct proto_gossip *g)
{
	uint64_t z = (g->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t rnd_below(struct proto_gossip *g, uint32_t n)
{
	return (uint32_t)(((unsigned __int128)rnd(g) * n) >> 64);
}

/* Id maps ------------------------------------------------------------------------------ */

static struct ent *E(const struct idmap *m, uint32_t i)
{
	return (struct ent *)(m->slab + (size_t)i * m->esz);
}

static uint32_t id_hash(const uint8_t *key, const uint8_t id[32])
{
	uint8_t out[crypto_shorthash_BYTES];
	uint32_t h;

	crypto_shorthash(out, id, 32, key);
	memcpy(&h, out, sizeof(h));
	return h;
}

/*
 * A map is sized for its limit when made: the slab for max entries, the slot table for max
 * ids at most half full. It never grows. A node's maps fill in its first bursts, on the loop
 * thread; growing them there copied megabytes into fresh pages at each doubling and moved
 * the process's break or remapped (brk/mmap/mremap take the process's mmap_lock as a
 * writer, and a worker's mprotect or mmap holding it kept the loop asleep for tens of ms:
 * docs/PERFORMANCE.md, "Event-loop lag during a burst"). The allocations are address space
 * until used: slab entries are handed out in order, so resident memory follows use, and the
 * slot table is zeroed memory, touched where ids land.
 */
static uint32_t map_mask_for(uint32_t max)
{
	uint64_t n = 64;

	while (n < 2 * (uint64_t)max)
		n *= 2;
	return (uint32_t)(n - 1);
}

static int map_init(struct idmap *m, size_t esz, uint32_t max, const uint8_t *key)
{
	memset(m, 0, sizeof(*m));
	m->esz = esz;
	m->max = max;
	m->key = key;
	m->free_head = m->oldest = m->newest = NIL;
	m->mask = map_mask_for(max);
	m->slots = calloc((size_t)m->mask + 1, sizeof(*m->slots));
	m->slab = malloc((size_t)max * esz);
	return m->slots && m->slab ? 0 : -ENOMEM;
}

static void map_deinit(struct idmap *m)
{
	free(m->slab);
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

static uint32_t map_find(const struct idmap *m, const uint8_t id[32])
{
	uint32_t h = id_hash(m->key, id), p = h & m->mask;

	while (m->slots[p]) {
		struct ent *e = E(m, m->slots[p] - 1);

		if (e->h == h && memcmp(e->id, id, 32) == 0)
			return m->slots[p] - 1;
		p = (p + 1) & m->mask;
	}
	return NIL;
}

static void slot_put(uint32_t *slots, uint32_t mask, uint32_t h, uint32_t i)
{
	uint32_t p = h & mask;

	while (slots[p])
		p = (p + 1) & mask;
	slots[p] = i + 1;
}

static void map_remove(struct idmap *m, uint32_t i)
{
	struct ent *e = E(m, i);
	uint32_t p = e->h & m->mask, q;

	while (m->slots[p] != i + 1)
		p = (p + 1) & m->mask;
	/* Backward-shift deletion: pull later members of the probe run into the hole. */
	for (q = p;;) {
		uint32_t home;

		q = (q + 1) & m->mask;
		if (!m->slots[q])
			break;
		home = E(m, m->slots[q] - 1)->h & m->mask;
		if (q > p ? (home > p && home <= q) : (home > p || home <= q))
			continue;
		m->slots[p] = m->slots[q];
		p = q;
	}
	m->slots[p] = 0;
	if (e->prev != NIL)
		E(m, e->prev)->next = e->next;
	else
		m->oldest = e->next;
	if (e->next != NIL)
		E(m, e->next)->prev = e->prev;
	else
		m->newest = e->prev;
	e->next = m->free_head;
	m->free_head = i;
	m->count--;
}

/*
 * A new zeroed entry for @id (not present), newest in age order. When the map is full the
 * oldest entry is removed first and *@evicted set. Cannot fail: the map is sized for max.
 */
static void *map_insert(struct idmap *m, const uint8_t id[32], bool *evicted)
{
	uint32_t i;
	struct ent *e;

	*evicted = false;
	if (m->count >= m->max) {
		map_remove(m, m->oldest);
		*evicted = true;
	}
	if (m->free_head != NIL) {
		i = m->free_head;
		m->free_head = E(m, i)->next;
	} else {
		i = m->used++;
	}
	e = E(m, i);
	memset(e, 0, m->esz);
	memcpy(e->id, id, 32);
	e->h = id_hash(m->key, id);
	e->prev = m->newest;
	e->next = NIL;
	if (m->newest != NIL)
		E(m, m->newest)->next = i;
	else
		m->oldest = i;
	m->newest = i;
	slot_put(m->slots, m->mask, e->h, i);
	m->count++;
	return e;
}

static void *map_get(const struct idmap *m, const uint8_t id[32])
{
	uint32_t i = map_find(m, id);

	return i == NIL ? NULL : E(m, i);
}

static void map_del(struct idmap *m, const uint8_t id[32])
{
	uint32_t i = map_find(m, id);

	if (i != NIL)
		map_remove(m, i);
}

/* Actions ------------------------------------------------------------------------------ */

static int act_add(struct proto_gossip *g, uint32_t link, enum proto_link_type type,
		   const uint8_t (*ids)[32], size_t n)
{
	struct act *a;
	int err;

	if ((err = proto_array_grow((void **)&g->acts, &g->cap_acts, g->n_acts + 1,
				    sizeof(*g->acts))) < 0)
		return err;
	if (n && (err = proto_array_grow((void **)&g->abuf, &g->cap_abuf, g->n_abuf + n, 32)) < 0)
		return err;
	a = &g->acts[g->n_acts++];
	a->link = link;
	a->type = (uint8_t)type;
	a->off = (uint32_t)g->n_abuf;
	a->n = (uint32_t)n;
	if (n)
		memcpy(g->abuf[g->n_abuf], ids, n * 32);
	g->n_abuf += n;
	return 0;
}

static int push(struct proto_gossip *g, uint32_t link, const uint8_t id[32])
{
	g->st.push_sent++;
	return act_add(g, link, PROTO_LINK_PUSH, (const uint8_t(*)[32])id, 1);
}

static int flush_ihave(struct proto_gossip *g, uint32_t link)
{
	struct link *l = &g->links[link];
	int err;

	if (!l->nq)
		return 0;
	if ((err = act_add(g, link, PROTO_LINK_IHAVE, (const uint8_t(*)[32])l->q, l->nq)) < 0)
		return err;
	g->st.ihave_sent++;
	g->st.ihave_ids_sent += l->nq;
	l->nq = 0;
	return 0;
}

static int queue_ihave(struct proto_gossip *g, uint32_t link, const uint8_t id[32], uint64_t now)
{
	struct link *l = &g->links[link];
	int err;

	if (l->nq == l->capq) {
		size_t cap = l->capq;

		if ((err = proto_array_grow((void **)&l->q, &cap, l->nq + 1, 32)) < 0)
			return err;
		l->capq = (uint32_t)cap;
	}
	if (!l->nq)
		l->since = now;
	memcpy(l->q[l->nq++], id, 32);
	return l->nq >= g->cfg.ihave_batch ? flush_ihave(g, link) : 0;
}

/*
 * How long an announced id may stay missing before it is grafted. Under load (a burst that
 * queues at every hop's admission) a report's copy along the tree can come seconds after
 * an IHAVE that took a shorter path; a GRAFT then only brings a copy that is on its way
 * anyway, makes a link eager that the tree does not need, and every report pushed on it
 * until its PRUNE arrives is a duplicate (measured on 16 daemons: most of the duplicates
 * of a one-origin burst). So in a burst the wait follows the lag the tree shows:
 * graft_timeout_ms plus twice the median, over the last LAG_SAMPLES seconds that had
 * samples (within LAG_WINDOW_MS), of each second's largest lag of a tree copy behind its
 * first IHAVE, at most lag_max_ms, and
 * an awaited id is measured against the wait of the moment it would be grafted, not of
 * its IHAVE. The copy along the tree of a report first received off the tree (held) is a
 * sample too, and the hold follows the same lag (hold_wait()). A burst is told by the
 * reports awaited: a lag counts only while at least lag_awaited other announced ids are
 * missing or held here (IHAVEs and off-tree copies run far ahead of copies queued along
 * the tree). Without that rule, copies that came late because a repair
 * upstream took a GRAFT (nodes failed, few ids awaited) made the next repair slower still,
 * a loop: in tests/sim (N = 1,000) the largest latency after a failure went from 3.2 s to
 * 15-19 s when every lag counted, 5-9 s with the median; with the rule no lag counts there.
 * Each second's largest lag, because a daemon's tree copies come in admission batches
 * seconds apart: the first of a batch waited the whole gap, and a wait that did not cover
 * it grafted on every gap (the median of single lags did, on 16 daemons); the median over
 * seconds, so that one slow second does not set it. Copies that a GRAFT brought are not
 * samples (their tree copy, if it still comes,
 * is); a cut tree sends no samples, so the wait falls back to graft_timeout_ms within
 * LAG_WINDOW_MS, and catch-up (proto/recon.h) backs it up.
 */
static uint64_t graft_wait(struct proto_gossip *g, uint64_t now)
{
	uint64_t w;

	if (now >= g->lag_valid_until) {
		uint32_t v[LAG_SAMPLES], n = 0;
		uint64_t until = UINT64_MAX;

		for (uint32_t i = 0; i < g->n_lag; i++) {
			if (g->lag_t[i] + LAG_WINDOW_MS <= now)
				continue;
			if (g->lag_t[i] + LAG_WINDOW_MS < until)
				until = g->lag_t[i] + LAG_WINDOW_MS;
			/* Insertion sort: at most LAG_SAMPLES values. */
			uint32_t k = n++;

			for (; k > 0 && v[k - 1] > g->lag[i]; k--)
				v[k] = v[k - 1];
			v[k] = g->lag[i];
		}
		g->lag_median = n ? v[n / 2] : 0;
		g->lag_valid_until = until;
	}
	w = g->cfg.graft_timeout_ms + 2 * g->lag_median;
	return w > g->cfg.lag_max_ms ? g->cfg.lag_max_ms : w;
}

/*
 * How long an off-tree copy is held for its tree copy: hold_ms, plus what the GRAFT wait
 * has grown by while the tree lags.
 */
static uint64_t hold_wait(struct proto_gossip *g, uint64_t now)
{
	return g->cfg.hold_ms + (graft_wait(g, now) - g->cfg.graft_timeout_ms);
}

static void lag_sample(struct proto_gossip *g, uint64_t lag, uint64_t now)
{
	if (g->miss.count + g->n_held < g->cfg.lag_awaited)
		return;
	uint32_t last = (g->lag_pos + LAG_SAMPLES - 1) % LAG_SAMPLES;
	uint32_t v = lag > UINT32_MAX ? UINT32_MAX : (uint32_t)lag;

	g->st.lag_samples++;
	g->lag_valid_until = 0;
	if (g->n_lag && g->lag_t[last] / 1000 == now / 1000) {
		if (v > g->lag[last])
			g->lag[last] = v; /* the largest lag of this second */
		return;
	}
	g->lag[g->lag_pos] = v;
	g->lag_t[g->lag_pos] = now;
	g->lag_pos = (g->lag_pos + 1) % LAG_SAMPLES;
	if (g->n_lag < LAG_SAMPLES)
		g->n_lag++;
}

/*
 * The tree keeps delivering. A burst from one origin at a rate above the nodes' admission
 * rate queues its copies at every hop: on 16 daemons the tree copies of a 20,000-report
 * burst trailed their IHAVEs by up to 40 s, far past what graft_wait() learns (an awaited
 * id evicted at missing_max is no sample, so in the middle of such a burst the wait fell
 * back to graft_timeout_ms), and off-tree copies held for their tree copy were grafted
 * after hold_wait(). Each such GRAFT made a link eager that the tree did not need; each
 * PRUNE that followed let hundreds of copies through while it crossed, and some of them
 * were held and grafted again: most of the duplicates of the burst. So in a burst (at
 * least lag_awaited ids awaited or held) neither a GRAFT nor the end of a hold happens
 * while the tree is moving: an eager link brought a new report (not the answer to a
 * GRAFT) within the stall time, and the id was not passed over, that is the tree has not
 * brought a report announced (or first copied off the tree) more than the stall time after
 * it. Copies along one tree keep their order, so an id announced after the newest the tree
 * brought is still queued behind it. The stall time is graft_timeout_ms plus twice the
 * largest gap between new tree copies in a burst within LAG_WINDOW_MS: a daemon's copies
 * come in admission batches, seconds apart in a burst. When the tree stalls, or passes an id over,
 * or an id waits lag_max_ms, the GRAFT goes out as before; outside a burst nothing changes.
 */
static void tree_progress(struct proto_gossip *g, uint64_t first, uint64_t now)
{
	/* A gap counts in a burst only: between bursts the tree is idle, not slow. */
	if (g->tree_seen && g->miss.count + g->n_held >= g->cfg.lag_awaited) {
		uint64_t gap = now - g->tree_new_ms;

		if (gap >= g->tree_gap || g->tree_gap_t + LAG_WINDOW_MS <= now) {
			g->tree_gap = gap;
			g->tree_gap_t = now;
		}
	}
	g->tree_seen = true;
	g->tree_new_ms = now;
	if (first != UINT64_MAX && first > g->tree_front)
		g->tree_front = first;
}

static uint64_t tree_stall_ms(const struct proto_gossip *g)
{
	uint64_t t = g->cfg.graft_timeout_ms + 2 * g->tree_gap;

	return t > g->cfg.lag_max_ms ? g->cfg.lag_max_ms : t;
}

static bool tree_moving(const struct proto_gossip *g, uint64_t now)
{
	return g->tree_seen && now < g->tree_new_ms + tree_stall_ms(g) &&
	       g->miss.count + g->n_held >= g->cfg.lag_awaited;
}

/* Whether an id first announced (or copied off the tree) at @first may wait for the tree. */
static bool tree_wait_for(const struct proto_gossip *g, uint64_t first, uint64_t now)
{
	return tree_moving(g, now) && first + tree_stall_ms(g) >= g->tree_front &&
	       now < first + g->cfg.lag_max_ms;
}

/*
 * When an id that waits for the moving tree is looked at again: once the tree would count
 * as stalled, on a RECHECK_MS grid (plus @jitter, also on it) so that the thousands of ids
 * awaited in a burst share a few timer deadlines instead of one each.
 */
static uint64_t tree_recheck(const struct proto_gossip *g, uint32_t jitter)
{
	uint64_t t = g->tree_new_ms + tree_stall_ms(g);

	return t + (RECHECK_MS - t % RECHECK_MS) + (jitter - jitter % RECHECK_MS);
}

static void timer_at(struct proto_gossip *g, uint64_t t)
{
	if (t < g->timers_at)
		g->timers_at = t;
}

/* Engine ------------------------------------------------------------------------------- */

struct proto_gossip *proto_gossip_new(const struct proto_gossip_config *cfg)
{
	struct proto_gossip_config c = {0};
	struct proto_gossip *g;
	uint8_t seed_le[8];
	const void *parts[2] = {"chatham/gossip/hash/1", seed_le};
	size_t lens[2] = {21, 8};

	if (cfg)
		c = *cfg;
	if (!c.max_links)
		c.max_links = 64;
	if (!c.ihave_batch)
		c.ihave_batch = 256;
	if (!c.ihave_flush_ms)
		c.ihave_flush_ms = 20;
	if (!c.graft_timeout_ms)
		c.graft_timeout_ms = 1000;
	if (!c.graft_retry_ms)
		c.graft_retry_ms = 500;
	if (!c.lag_max_ms)
		c.lag_max_ms = 60000;
	if (!c.lag_awaited)
		c.lag_awaited = 256;
	if (c.lag_max_ms < c.graft_timeout_ms)
		c.lag_max_ms = c.graft_timeout_ms;
	if (!c.hold_ms)
		c.hold_ms = 2 * c.graft_timeout_ms;
	if (!c.seen_max)
		c.seen_max = 65536;
	if (!c.seen_ttl_ms)
		c.seen_ttl_ms = 3600000;
	if (!c.missing_max)
		c.missing_max = 4096;
	if (!c.announcers_max)
		c.announcers_max = 4;
	if (!c.prune_dups)
		c.prune_dups = 6;
	if (!c.formation_ms)
		c.formation_ms = 1000;
	if (c.max_links > PROTO_GOSSIP_LINKS_MAX || c.ihave_batch > PROTO_LINK_IDS_MAX ||
	    c.seen_max < 16 || c.missing_max < 16 || c.seen_max > PROTO_GOSSIP_MAP_MAX ||
	    c.missing_max > PROTO_GOSSIP_MAP_MAX || c.announcers_max > PROTO_GOSSIP_ANNOUNCERS_MAX)
		return NULL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->cfg = c;
	g->timers_at = UINT64_MAX;
	for (int i = 0; i < 8; i++)
		seed_le[i] = (uint8_t)(c.seed >> (8 * i));
	proto_hash(g->hkey, sizeof(g->hkey), parts, lens, 2);
	g->rng = c.seed;
	g->links = calloc(c.max_links, sizeof(*g->links));
	g->up = calloc(c.max_links, sizeof(*g->up));
	if (!g->links || !g->up ||
	    map_init(&g->seen, sizeof(struct seen_ent), c.seen_max, g->hkey) ||
	    map_init(&g->miss, sizeof(struct miss_ent), c.missing_max, g->hkey)) {
		proto_gossip_free(g);
		return NULL;
	}
	return g;
}

void proto_gossip_free(struct proto_gossip *g)
{
	if (!g)
		return;
	if (g->links)
		for (uint32_t i = 0; i < g->cfg.max_links; i++)
			free(g->links[i].q);
	free(g->links);
	free(g->up);
	map_deinit(&g->seen);
	map_deinit(&g->miss);
	free(g->held);
	free(g->acts);
	free(g->abuf);
	free(g);
}

static bool link_ok(const struct proto_gossip *g, uint32_t link)
{
	return link < g->cfg.max_links && g->links[link].state != PROTO_GOSSIP_LINK_DOWN;
}

int proto_gossip_link_up(struct proto_gossip *g, uint32_t link, uint64_t now_ms)
{
	if (link >= g->cfg.max_links || g->links[link].state != PROTO_GOSSIP_LINK_DOWN)
		return PROTO_E_GOSSIP_LINK;
	g->st.link_ups++;
	g->links[link].state = PROTO_GOSSIP_LINK_EAGER;
	g->links[link].cand_dup = false;
	g->links[link].dup_streak = 0;
	g->links[link].pruned = false;
	g->links[link].nq = 0;
	g->links[link].up_pos = g->n_up;
	g->up[g->n_up++] = link;
	return 0;
}

int proto_gossip_link_down(struct proto_gossip *g, uint32_t link, uint64_t now_ms)
{
	struct link *l;
	uint32_t last;

	if (!link_ok(g, link))
		return PROTO_E_GOSSIP_LINK;
	l = &g->links[link];
	l->state = PROTO_GOSSIP_LINK_DOWN;
	l->nq = 0;
	last = g->up[--g->n_up];
	g->up[l->up_pos] = last;
	g->links[last].up_pos = l->up_pos;
	for (size_t i = g->head_acts; i < g->n_acts; i++)
		if (g->acts[i].link == link)
			g->acts[i].link = NIL;
	for (uint32_t i = g->miss.oldest; i != NIL; i = E(&g->miss, i)->next) {
		struct miss_ent *m = (struct miss_ent *)E(&g->miss, i);
		uint8_t k = 0;

		/* Keep the untried announcers in order, minus this link. */
		for (uint8_t j = m->next_ann; j < m->n_ann; j++)
			if (m->ann[j] != link)
				m->ann[k++] = m->ann[j];
		m->n_ann = k;
		m->next_ann = 0;
	}
	return 0;
}

enum proto_gossip_link_state proto_gossip_link_state(const struct proto_gossip *g, uint32_t link)
{
	return link < g->cfg.max_links ? (enum proto_gossip_link_state)g->links[link].state
				       : PROTO_GOSSIP_LINK_DOWN;
}

/* Forget ids older than the TTL. */
static void expire_seen(struct proto_gossip *g, uint64_t now)
{
	while (g->seen.oldest != NIL) {
		struct seen_ent *s = (struct seen_ent *)E(&g->seen, g->seen.oldest);

		if (s->t + g->cfg.seen_ttl_ms > now)
			break;
		map_remove(&g->seen, g->seen.oldest);
	}
}

/*
 * Remember @id, first received on @link (NO_LINK: published here). When an IHAVE announced
 * it before, its copy along the tree is a lag sample (graft_wait()), unless a GRAFT for it
 * went out already: then the lead is kept for the tree copy that may still come.
 */
static void has_add(struct seen_ent *s, uint32_t link)
{
	for (uint8_t i = 0; i < s->n_has; i++)
		if (s->has[i] == link)
			return;
	if (s->n_has < HAS_MAX)
		s->has[s->n_has++] = (uint16_t)link;
}

static bool has_link(const struct seen_ent *s, uint32_t link)
{
	for (uint8_t i = 0; i < s->n_has; i++)
		if (s->has[i] == link)
			return true;
	return false;
}

static struct seen_ent *seen_add(struct proto_gossip *g, const uint8_t id[32], uint32_t link,
				 uint64_t now)
{
	bool eager = link != NO_LINK && g->links[link].state == PROTO_GOSSIP_LINK_EAGER;
	bool answer = false;
	struct seen_ent *s;
	struct miss_ent *m;
	bool evicted;

	expire_seen(g, now);
	s = map_insert(&g->seen, id, &evicted);
	if (evicted)
		g->st.seen_evicted++;
	s->t = now;
	s->from = s->tree = s->regraft = s->grafted = NO_LINK;
	s->lead = NO_LEAD;
	m = map_get(&g->miss, id);
	if (m) {
		uint64_t first = m->first;

		for (uint8_t j = 0; j < m->next_ann; j++)
			answer |= m->ann[j] == link;
		for (uint8_t j = 0; j < m->n_ann; j++)
			has_add(s, m->ann[j]);
		g->st.announced_late++;
		if (m->next_ann) {
			g->st.grafted_late++;
			s->grafted = m->ann[0];
			s->lead = now - first > UINT32_MAX - 1 ? UINT32_MAX - 1
							       : (uint32_t)(now - first);
		}
		map_del(&g->miss, id); /* m is gone; the lag counts with the other ids awaited */
		if (eager && !answer) {
			lag_sample(g, now - first, now);
			tree_progress(g, first, now);
		}
	} else if (eager) {
		tree_progress(g, UINT64_MAX, now);
	}
	return s;
}

/* Push on eager links, announce on lazy ones, skipping the links that sent it to us. */
static int do_forward(struct proto_gossip *g, struct seen_ent *s, uint64_t now)
{
	uint8_t id[32];
	int err;

	memcpy(id, s->e.id, 32);
	s->state = S_FORWARDED;
	g->st.forwarded++;
	for (uint32_t i = 0; i < g->n_up; i++) {
		uint32_t link = g->up[i];

		if (link == s->from || link == s->tree)
			continue;
		if (has_link(s, link)) {
			if (g->links[link].state == PROTO_GOSSIP_LINK_EAGER)
				g->st.push_saved++;
			else
				g->st.ihave_saved++;
			continue;
		} else if (g->links[link].state == PROTO_GOSSIP_LINK_EAGER) {
			err = push(g, link, id);
		} else {
			err = queue_ihave(g, link, id, now);
		}
		if (err < 0)
			return err;
	}
	return 0;
}

static void held_remove(struct proto_gossip *g, const uint8_t id[32])
{
	for (size_t i = 0; i < g->n_held; i++)
		if (memcmp(g->held[i].id, id, 32) == 0) {
			g->held[i] = g->held[--g->n_held];
			return;
		}
}

/*
 * Make @link lazy and send it a PRUNE. A link that is lazy here already and still brings
 * copies belongs to an origin (which pushes to every link) or has our PRUNE on its way:
 * telling it again more than once per PRUNE_REPEAT_MS would only cost messages (one per
 * report of a busy origin).
 */
static int send_prune(struct proto_gossip *g, uint32_t link, uint64_t now_ms, uint64_t *why)
{
	struct link *l = &g->links[link];
	bool was_lazy = l->state == PROTO_GOSSIP_LINK_LAZY;

	l->state = PROTO_GOSSIP_LINK_LAZY;
	l->dup_streak = 0;
	if (was_lazy && l->pruned && now_ms < l->pruned_ms + PRUNE_REPEAT_MS) {
		g->st.prune_repeats_saved++;
		return 0;
	}
	l->pruned = true;
	l->pruned_ms = now_ms;
	g->st.prune_sent++;
	(*why)++;
	return act_add(g, link, PROTO_LINK_PRUNE, NULL, 0);
}

/*
 * Formation. A fresh overlay starts with every link eager, so the first reports flood.
 * Pruning on the duplicates of whichever report came first at each node would shape
 * every region of the network after another report (those published close together)
 * and cut the links between the regions. Instead, for formation_ms after its first report
 * a node prunes nothing and notes the oldest report it saw (created time, then id): the
 * same report at every node, since the oldest one published reaches everybody within the
 * window. Then it prunes the links that brought a second copy of that report, leaving
 * exactly that report's first-arrival tree, which is a spanning tree of the overlay.
 */
static void form_candidate(struct proto_gossip *g, const uint8_t id[32], uint64_t created,
			   uint64_t now)
{
	if (g->formed)
		return;
	if (!g->form_end)
		g->form_end = now + g->cfg.formation_ms;
	if (g->have_cand && (created > g->cand_created ||
			     (created == g->cand_created && memcmp(id, g->cand_id, 32) >= 0)))
		return;
	g->have_cand = true;
	g->cand_created = created;
	memcpy(g->cand_id, id, 32);
	for (uint32_t i = 0; i < g->n_up; i++)
		g->links[g->up[i]].cand_dup = false;
}

static int form_finish(struct proto_gossip *g, uint64_t now)
{
	int err;

	if (g->formed || !g->form_end || now < g->form_end)
		return 0;
	g->formed = true;
	g->formed_at = now;
	for (uint32_t i = 0; i < g->n_up; i++) {
		struct link *l = &g->links[g->up[i]];

		if (!l->cand_dup || l->state != PROTO_GOSSIP_LINK_EAGER)
			continue;
		if ((err = send_prune(g, g->up[i], now, &g->st.prune_formed)) < 0)
			return err;
	}
	return 0;
}

int proto_gossip_publish(struct proto_gossip *g, const uint8_t id[32], uint64_t created_ms,
			 uint64_t now_ms)
{
	struct seen_ent *s;
	int err;

	if (map_get(&g->seen, id))
		return PROTO_E_GOSSIP_KNOWN;
	s = seen_add(g, id, NO_LINK, now_ms);
	s->state = S_FORWARDED;
	g->st.published++;
	form_candidate(g, id, created_ms, now_ms);
	for (uint32_t i = 0; i < g->n_up; i++) {
		uint32_t link = g->up[i];

		if (g->cfg.origin_push_all || g->links[link].state == PROTO_GOSSIP_LINK_EAGER)
			err = push(g, link, id);
		else
			err = queue_ihave(g, link, id, now_ms);
		if (err < 0)
			return err;
	}
	return 0;
}

/*
 * A copy came on eager @link after its first: the eager links hold a cycle, and @link is
 * pruned once it has brought prune_dups copies in a row and nothing new. A single
 * duplicate is weak evidence while many reports are in flight: where the two ways around
 * a cycle meet moves from report to report, and with many origins several nodes of the
 * cycle would cut it at once and split the tree (the paper's rule, pruning on the first
 * duplicate, measured in tests/sim: failure-phase GRAFTs went from ~3,700 to ~95,000 at
 * N = 1,000, docs/PERFORMANCE.md). Copies of reports first seen within formation_ms of
 * forming do not count: neighbours shape their trees up to formation_ms apart and flood
 * until then.
 */
static int prune_eager(struct proto_gossip *g, const struct seen_ent *s, uint32_t link,
		       uint64_t now)
{
	if (!g->formed || s->t < g->formed_at + g->cfg.formation_ms ||
	    ++g->links[link].dup_streak < g->cfg.prune_dups)
		return 0;
	return send_prune(g, link, now, &g->st.prune_streak);
}

int proto_gossip_on_push(struct proto_gossip *g, uint32_t link, const uint8_t id[32],
			 uint64_t created_ms, uint64_t now_ms)
{
	struct link *l;
	struct seen_ent *s;
	int err;

	if (!link_ok(g, link))
		return PROTO_E_GOSSIP_LINK;
	l = &g->links[link];
	s = map_get(&g->seen, id);
	if (!s) {
		s = seen_add(g, id, link, now_ms);
		s->state = S_PENDING;
		s->from = (uint16_t)link;
		s->lazy_first = l->state == PROTO_GOSSIP_LINK_LAZY;
		l->dup_streak = 0;
		g->st.push_new++;
		form_candidate(g, id, created_ms, now_ms);
		return PROTO_GOSSIP_NEW;
	}
	g->st.push_dup++;
	if (!g->formed && g->have_cand && memcmp(id, g->cand_id, 32) == 0)
		l->cand_dup = true;
	/* The sender holds it: do_forward() sends it neither a copy nor an IHAVE. */
	if (s->state == S_PENDING || s->state == S_HELD)
		has_add(s, link);
	if (s->lazy_first && s->tree == NO_LINK && s->from != link &&
	    l->state == PROTO_GOSSIP_LINK_EAGER) {
		/*
		 * The tree copy of a report that first came off the tree: expected, not a
		 * cycle, so this link stays. The off-tree sender is told to prune us: a no-op
		 * for an origin (we are lazy there already), and the cure when it holds us
		 * eager by mistake (a PRUNE and a GRAFT that crossed).
		 */
		s->tree = (uint16_t)link;
		if (s->state == S_HELD)
			held_remove(g, id); /* before the sample: it counts the others awaited */
		lag_sample(g, now_ms - s->t, now_ms);
		tree_progress(g, s->t, now_ms);
		if (link_ok(g, s->from) && g->links[s->from].state == PROTO_GOSSIP_LINK_LAZY &&
		    (err = send_prune(g, s->from, now_ms, &g->st.prune_offtree)) < 0)
			return err;
		if (s->state == S_HELD && (err = do_forward(g, s, now_ms)) < 0)
			return err;
		return PROTO_GOSSIP_DUPLICATE;
	}
	/*
	 * On a lazy link the sender holds us eager (or is an origin): tell it to stop. On an
	 * eager link the copy closes a cycle (see prune_eager()).
	 */
	if (s->regraft == link) {
		s->regraft = NO_LINK; /* the answer to our own GRAFT after a hold */
		return PROTO_GOSSIP_DUPLICATE;
	}
	if (s->lead != NO_LEAD && s->grafted != NO_LINK && link != s->grafted &&
	    l->state == PROTO_GOSSIP_LINK_EAGER) {
		/*
		 * The tree copy of a report we grafted: the GRAFT was early (graft_wait()
		 * learns the lag from it), and this copy says nothing about a cycle.
		 */
		lag_sample(g, now_ms - s->t + s->lead, now_ms);
		s->lead = NO_LEAD;
		g->st.graft_early++;
		return PROTO_GOSSIP_DUPLICATE;
	}
	if (l->state != PROTO_GOSSIP_LINK_EAGER) {
		g->st.dup_lazy++;
		err = send_prune(g, link, now_ms, &g->st.prune_lazy);
	} else {
		g->st.dup_eager++;
		err = prune_eager(g, s, link, now_ms);
	}
	return err < 0 ? err : PROTO_GOSSIP_DUPLICATE;
}

int proto_gossip_forward(struct proto_gossip *g, const uint8_t id[32], uint64_t now_ms)
{
	struct seen_ent *s = map_get(&g->seen, id);
	int err;

	if (!s || s->state != S_PENDING)
		return PROTO_E_GOSSIP_STATE;
	if (s->lazy_first && s->tree == NO_LINK) {
		if ((err = proto_array_grow((void **)&g->held, &g->cap_held, g->n_held + 1,
					    sizeof(*g->held))) < 0)
			return err;
		memcpy(g->held[g->n_held].id, id, 32);
		g->held[g->n_held].tree_waited = false;
		g->held[g->n_held].since = now_ms;
		g->held[g->n_held].deadline = now_ms + hold_wait(g, now_ms);
		timer_at(g, g->held[g->n_held++].deadline);
		s->state = S_HELD;
		g->st.held++;
		return 0;
	}
	return do_forward(g, s, now_ms);
}

int proto_gossip_discard(struct proto_gossip *g, const uint8_t id[32], uint64_t now_ms)
{
	struct seen_ent *s = map_get(&g->seen, id);

	if (!s || s->state != S_PENDING)
		return PROTO_E_GOSSIP_STATE;
	s->state = S_DISCARDED;
	g->st.discarded++;
	return 0;
}

int proto_gossip_forget(struct proto_gossip *g, const uint8_t id[32], uint64_t now_ms)
{
	int rc = proto_gossip_discard(g, id, now_ms);

	if (rc == 0)
		map_del(&g->seen, id);
	return rc;
}

void proto_gossip_have(struct proto_gossip *g, const uint8_t id[32])
{
	map_del(&g->miss, id);
}

int proto_gossip_on_ihave(struct proto_gossip *g, uint32_t link, const uint8_t (*ids)[32], size_t n,
			  uint64_t now_ms)
{
	if (!link_ok(g, link))
		return PROTO_E_GOSSIP_LINK;
	if (!ids && n)
		return -EINVAL;
	g->st.ihave_ids_recv += n;
	for (size_t i = 0; i < n; i++) {
		struct seen_ent *s = map_get(&g->seen, ids[i]);
		struct miss_ent *m;
		bool evicted, known = false;

		if (s) {
			/* Not forwarded yet (admission runs): not to be announced back there. */
			if (s->state == S_PENDING || s->state == S_HELD)
				has_add(s, link);
			continue;
		}
		m = map_get(&g->miss, ids[i]);
		if (!m) {
			m = map_insert(&g->miss, ids[i], &evicted);
			if (evicted)
				g->st.missing_evicted++;
			/* Jitter spreads the GRAFTs of nodes cut off together: the first one
			   to graft often repairs the others before their timers fire. */
			m->first = now_ms;
			m->jitter = rnd_below(g, g->cfg.graft_timeout_ms / 2 + 1);
			m->deadline = now_ms + graft_wait(g, now_ms) + m->jitter;
			timer_at(g, m->deadline);
		}
		for (uint8_t j = 0; j < m->n_ann; j++)
			known |= m->ann[j] == link;
		if (!known && m->n_ann < g->cfg.announcers_max)
			m->ann[m->n_ann++] = (uint16_t)link;
	}
	return 0;
}

int proto_gossip_on_graft(struct proto_gossip *g, uint32_t link, const uint8_t (*ids)[32], size_t n,
			  uint64_t now_ms)
{
	int err;

	if (!link_ok(g, link))
		return PROTO_E_GOSSIP_LINK;
	if (!ids && n)
		return -EINVAL;
	g->st.graft_recv++;
	if (g->links[link].state != PROTO_GOSSIP_LINK_EAGER)
		g->st.graft_eager++;
	g->links[link].state = PROTO_GOSSIP_LINK_EAGER;
	g->st.graft_ids_recv += n;
	for (size_t i = 0; i < n; i++) {
		struct seen_ent *s = map_get(&g->seen, ids[i]);

		if (s && (s->state == S_FORWARDED || s->state == S_HELD) &&
		    (err = push(g, link, ids[i])) < 0)
			return err;
	}
	return 0;
}

int proto_gossip_on_prune(struct proto_gossip *g, uint32_t link, uint64_t now_ms)
{
	if (!link_ok(g, link))
		return PROTO_E_GOSSIP_LINK;
	g->links[link].state = PROTO_GOSSIP_LINK_LAZY;
	g->links[link].dup_streak = 0;
	g->st.prune_recv++;
	return 0;
}

static int cmp_graft(const void *a, const void *b)
{
	const struct graft_req *x = a, *y = b;

	if (x->link != y->link)
		return x->link < y->link ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * GRAFT timers: ask the next announcer of every overdue id, one GRAFT per link. *@at becomes
 * at most the earliest deadline left.
 */
static int run_grafts(struct proto_gossip *g, uint64_t now, uint64_t *at)
{
	struct graft_req *req = NULL;
	size_t n = 0, cap = 0;
	uint32_t i = g->miss.oldest;
	int err = 0;

	while (i != NIL) {
		struct miss_ent *m = (struct miss_ent *)E(&g->miss, i);
		uint32_t next = m->e.next;
		bool gone = false;

		if (m->deadline <= now && !m->next_ann &&
		    m->first + graft_wait(g, now) + m->jitter > now) {
			/* The tree's lag grew since it was announced: wait for that. */
			m->deadline = m->first + graft_wait(g, now) + m->jitter;
		} else if (m->deadline <= now && !m->next_ann && tree_wait_for(g, m->first, now)) {
			m->deadline = tree_recheck(g, m->jitter);
			if (!m->tree_waited)
				g->st.tree_waits++;
			m->tree_waited = true;
		} else if (m->deadline <= now) {
			if (m->next_ann >= m->n_ann) {
				g->st.missing_gave_up++;
				map_remove(&g->miss, i);
				gone = true;
			} else {
				uint32_t link = m->ann[m->next_ann++];

				if ((err = proto_array_grow((void **)&req, &cap, n + 1,
							    sizeof(*req))) < 0)
					goto out;
				req[n].link = link;
				req[n].seq = (uint32_t)n;
				memcpy(req[n].id, m->e.id, 32);
				n++;
				m->deadline = now + g->cfg.graft_retry_ms;
			}
		}
		if (!gone && m->deadline < *at)
			*at = m->deadline;
		i = next;
	}
	if (n > 1)
		qsort(req, n, sizeof(*req), cmp_graft);
	for (size_t a = 0; a < n;) {
		uint32_t link = req[a].link;
		size_t b = a;
		uint8_t(*ids)[32];

		while (b < n && req[b].link == link && b - a < PROTO_LINK_IDS_MAX)
			b++;
		if ((err = proto_array_grow((void **)&g->abuf, &g->cap_abuf, g->n_abuf + (b - a),
					    32)) < 0)
			goto out;
		if ((err = act_add(g, link, PROTO_LINK_GRAFT, NULL, 0)) < 0)
			goto out;
		ids = &g->abuf[g->n_abuf];
		for (size_t k = a; k < b; k++)
			memcpy(ids[k - a], req[k].id, 32);
		g->acts[g->n_acts - 1].n = (uint32_t)(b - a);
		g->n_abuf += b - a;
		g->links[link].state = PROTO_GOSSIP_LINK_EAGER;
		g->st.graft_sent++;
		g->st.graft_ids_sent += b - a;
		a = b;
	}
out:
	free(req);
	return err;
}

/*
 * Whether a copy that came first on lazy @link at @since may have been sent before our
 * PRUNE of that link reached its sender: we sent one before @since, and less than
 * lag_max_ms (or a hold's wait, if longer) before. A PRUNE waits behind what is queued on
 * its link already: seconds in a burst, tens of seconds with 600-byte reports. The copies
 * behind it include reports the pruned link brought faster than the tree: grafting it
 * again when the tree copy was slow to come made the link eager again, its duplicates
 * pruned it again, and so on (on 16 daemons 591-1,541 such GRAFTs in a one-origin burst
 * under load). Such a copy is forwarded without a GRAFT; the link's IHAVEs and the GRAFT
 * timers still repair a tree that is in fact cut, and a sender that keeps pushing is told
 * PRUNE again (send_prune()).
 */
static bool behind_prune(struct proto_gossip *g, uint32_t link, uint64_t since, uint64_t now)
{
	const struct link *l = &g->links[link];

	uint64_t w = hold_wait(g, now);

	if (w < g->cfg.lag_max_ms)
		w = g->cfg.lag_max_ms;
	return l->pruned && since >= l->pruned_ms && since - l->pruned_ms <= w;
}

int proto_gossip_tick(struct proto_gossip *g, uint64_t now_ms)
{
	uint64_t at = UINT64_MAX;
	int err;

	expire_seen(g, now_ms);
	if ((err = form_finish(g, now_ms)) < 0)
		return err;
	for (size_t i = 0; i < g->n_held;) {
		struct seen_ent *s = map_get(&g->seen, g->held[i].id);

		if (s && s->state != S_HELD)
			s = NULL;
		if (s && g->held[i].deadline <= now_ms &&
		    g->held[i].since + hold_wait(g, now_ms) > now_ms)
			g->held[i].deadline = g->held[i].since + hold_wait(g, now_ms);
		if (s && g->held[i].deadline <= now_ms &&
		    tree_wait_for(g, g->held[i].since, now_ms)) {
			g->held[i].deadline = tree_recheck(g, 0);
			if (!g->held[i].tree_waited)
				g->st.tree_waits++;
			g->held[i].tree_waited = true;
		}
		if (s && g->held[i].deadline > now_ms) {
			if (g->held[i].deadline < at)
				at = g->held[i].deadline;
			i++;
			continue;
		}
		uint64_t since = g->held[i].since;

		g->held[i] = g->held[--g->n_held];
		if (s) {
			/*
			 * No tree copy came: the link that sent it is in fact our way to its
			 * origin (it holds us eager by mistake, or the tree is cut), so graft
			 * it, as the paper does for the sender of any new report, but with a
			 * GRAFT so that both ends agree. Its answer is a copy we expect. Not
			 * when the copy may have been on its way behind our own PRUNE of that
			 * link (behind_prune()).
			 */
			bool behind =
				link_ok(g, s->from) && behind_prune(g, s->from, since, now_ms);

			if (behind)
				g->st.held_behind_prune++;
			if (link_ok(g, s->from) && !behind &&
			    g->links[s->from].state == PROTO_GOSSIP_LINK_LAZY) {
				g->links[s->from].state = PROTO_GOSSIP_LINK_EAGER;
				s->regraft = s->from;
				g->st.graft_sent++;
				g->st.graft_ids_sent++;
				if ((err = act_add(g, s->from, PROTO_LINK_GRAFT,
						   (const uint8_t(*)[32])s->e.id, 1)) < 0)
					return err;
			}
			g->st.held_expired++;
			if ((err = do_forward(g, s, now_ms)) < 0)
				return err;
		}
	}
	if ((err = run_grafts(g, now_ms, &at)) < 0)
		return err;
	g->timers_at = at;
	for (uint32_t i = 0; i < g->n_up; i++) {
		struct link *l = &g->links[g->up[i]];

		if (l->nq && l->since + g->cfg.ihave_flush_ms <= now_ms &&
		    (err = flush_ihave(g, g->up[i])) < 0)
			return err;
	}
	return 0;
}

uint64_t proto_gossip_next_deadline(const struct proto_gossip *g)
{
	uint64_t d = UINT64_MAX;

	if (g->seen.oldest != NIL)
		d = ((struct seen_ent *)E(&g->seen, g->seen.oldest))->t + g->cfg.seen_ttl_ms;
	if ((g->miss.count || g->n_held) && g->timers_at < d)
		d = g->timers_at;
	if (!g->formed && g->form_end && g->form_end < d)
		d = g->form_end;
	for (uint32_t i = 0; i < g->n_up; i++) {
		const struct link *l = &g->links[g->up[i]];

		if (l->nq && l->since + g->cfg.ihave_flush_ms < d)
			d = l->since + g->cfg.ihave_flush_ms;
	}
	return d;
}

bool proto_gossip_poll(struct proto_gossip *g, struct proto_gossip_action *a)
{
	while (g->head_acts < g->n_acts) {
		const struct act *x = &g->acts[g->head_acts++];

		if (x->link == NIL)
			continue;
		a->link = x->link;
		a->type = (enum proto_link_type)x->type;
		a->n = x->n;
		a->ids = x->n ? (const uint8_t(*)[32])g->abuf[x->off] : NULL;
		return true;
	}
	g->head_acts = g->n_acts = 0;
	g->n_abuf = 0;
	return false;
}

bool proto_gossip_lagging(struct proto_gossip *g, uint64_t now_ms)
{
	graft_wait(g, now_ms);
	return g->lag_median > g->cfg.graft_timeout_ms || tree_moving(g, now_ms);
}

bool proto_gossip_formed(const struct proto_gossip *g)
{
	return g->formed;
}

bool proto_gossip_seen(const struct proto_gossip *g, const uint8_t id[32])
{
	return map_get(&g->seen, id) != NULL;
}

void proto_gossip_get_stats(const struct proto_gossip *g, struct proto_gossip_stats *st)
{
	*st = g->st;
}
