/* SPDX-License-Identifier: MIT */
/*
 * Dandelion stem router (proto/stem.h).
 *
 * State: the link table (up or down, and each inbound link's relay slot for the current
 * mapping generation), the relay slots of the epoch, and one bounded id map of tracked
 * reports. Every tracked report is either PENDING (in the stem here, embargo running) or
 * DONE (its stem ended here: fluffed, expired or seen by gossip), and sits on the list of
 * its state. The pending list is scanned for deadlines; it only holds reports younger than
 * three embargo periods, so it stays short. The done list is in age order, so forgetting
 * old ids and making room both take from its head.
 *
 * The map is an open-addressing table (linear probing, backward-shift deletion) over a
 * slab whose indices are stable. Ids come from peers in STEM messages, so they are hashed
 * with SipHash under a key derived from the seed.
 *
 * Relay slots rather than link handles are what inbound links map to: when a relay goes
 * down and another up link takes its slot, the links mapped to it keep a fixed successor
 * without a redraw. Only removing a slot (no replacement available) or a new epoch bumps
 * the generation and so redraws every mapping lazily.
 */
#include "proto/stem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "proto/crypto.h"
#include "proto/error.h"

#define NIL UINT32_MAX
#define NO_SLOT UINT8_MAX

enum { E_FREE = 0, E_PENDING = 1, E_DONE = 2 };

struct ent {
	uint8_t id[32];
	uint64_t t;	   /* when it entered its current state */
	uint64_t deadline; /* PENDING: embargo */
	uint32_t h;
	uint32_t prev, next; /* on the list of its state; next links the free list too */
	uint8_t state;
	uint8_t own;
};

struct slink {
	uint8_t up;
	uint8_t relay; /* this link holds a relay slot */
	uint8_t slot;  /* mapped relay slot, valid when gen matches */
	uint32_t up_pos;
	uint64_t gen;
};

struct list {
	uint32_t head, tail, n;
};

struct proto_stem {
	struct proto_stem_config cfg;
	uint8_t hkey[crypto_shorthash_KEYBYTES];
	uint8_t skey[crypto_stream_chacha20_KEYBYTES];
	uint64_t block;
	uint64_t rbuf[8];
	unsigned rleft;

	struct slink *links;
	uint32_t *up;
	uint32_t n_up;
	uint32_t relay[PROTO_STEM_RELAYS_MAX];
	unsigned n_relay;
	unsigned own_slot; /* NO_SLOT until drawn */
	uint64_t epoch;
	bool epoch_set;
	uint64_t gen;

	struct ent *ents;
	uint32_t cap, used, free_head;
	uint32_t *slots; /* entry index + 1; 0 = empty */
	uint32_t mask;
	struct list pend, done;

	struct proto_stem_stats st;
};

/* Randomness -------------------------------------------------------------------------- */

/*
 * A ChaCha20 keystream under a key hashed from the seed, consumed 64 bits at a time. Unlike
 * a small PRNG its state cannot be recovered from observed outputs, and the successors and
 * coins it draws are what an observer would like to predict.
 */
static uint64_t rnd(struct proto_stem *s)
{
	if (!s->rleft) {
		uint8_t nonce[crypto_stream_chacha20_NONCEBYTES] = {0};
		uint8_t buf[sizeof(s->rbuf)];

		for (unsigned i = 0; i < sizeof(nonce); i++)
			nonce[i] = (uint8_t)(s->block >> (8 * i));
		s->block++;
		crypto_stream_chacha20(buf, sizeof(buf), nonce, s->skey);
		memcpy(s->rbuf, buf, sizeof(buf));
		s->rleft = 8;
	}
	return s->rbuf[--s->rleft];
}

/* Uniform in [0, n) for n > 0; the multiply-shift bias is below 2^-32 for these n. */
static uint32_t rnd_below(struct proto_stem *s, uint32_t n)
{
	return (uint32_t)(((unsigned __int128)rnd(s) * n) >> 64);
}

/* Id map ------------------------------------------------------------------------------- */

static uint32_t id_hash(const struct proto_stem *s, const uint8_t id[32])
{
	uint8_t out[crypto_shorthash_BYTES];
	uint32_t h;

	crypto_shorthash(out, id, 32, s->hkey);
	memcpy(&h, out, sizeof(h));
	return h;
}

static uint32_t map_find(const struct proto_stem *s, const uint8_t id[32])
{
	uint32_t h = id_hash(s, id), p = h & s->mask;

	while (s->slots[p]) {
		const struct ent *e = &s->ents[s->slots[p] - 1];

		if (e->h == h && memcmp(e->id, id, 32) == 0)
			return s->slots[p] - 1;
		p = (p + 1) & s->mask;
	}
	return NIL;
}

static void slot_put(struct proto_stem *s, uint32_t i)
{
	uint32_t p = s->ents[i].h & s->mask;

	while (s->slots[p])
		p = (p + 1) & s->mask;
	s->slots[p] = i + 1;
}

/* Backward-shift deletion keeps every probe sequence unbroken without tombstones. */
static void slot_del(struct proto_stem *s, uint32_t i)
{
	uint32_t p = s->ents[i].h & s->mask;

	while (s->slots[p] != i + 1)
		p = (p + 1) & s->mask;
	for (uint32_t q = (p + 1) & s->mask; s->slots[q]; q = (q + 1) & s->mask) {
		uint32_t home = s->ents[s->slots[q] - 1].h & s->mask;

		/* Move q's entry into the hole at p unless its home lies cyclically in (p, q]. */
		if (((q - home) & s->mask) >= ((q - p) & s->mask)) {
			s->slots[p] = s->slots[q];
			p = q;
		}
	}
	s->slots[p] = 0;
}

static void list_push(struct proto_stem *s, struct list *l, uint32_t i)
{
	s->ents[i].prev = l->tail;
	s->ents[i].next = NIL;
	if (l->tail != NIL)
		s->ents[l->tail].next = i;
	else
		l->head = i;
	l->tail = i;
	l->n++;
}

static void list_del(struct proto_stem *s, struct list *l, uint32_t i)
{
	struct ent *e = &s->ents[i];

	if (e->prev != NIL)
		s->ents[e->prev].next = e->next;
	else
		l->head = e->next;
	if (e->next != NIL)
		s->ents[e->next].prev = e->prev;
	else
		l->tail = e->prev;
	l->n--;
}

static void ent_forget(struct proto_stem *s, uint32_t i)
{
	struct ent *e = &s->ents[i];

	slot_del(s, i);
	list_del(s, e->state == E_PENDING ? &s->pend : &s->done, i);
	e->state = E_FREE;
	e->next = s->free_head;
	s->free_head = i;
}

static void ent_finish(struct proto_stem *s, uint32_t i, uint64_t now_ms)
{
	list_del(s, &s->pend, i);
	s->ents[i].state = E_DONE;
	s->ents[i].t = now_ms;
	list_push(s, &s->done, i);
}

static void forget_old(struct proto_stem *s, uint64_t now_ms)
{
	while (s->done.head != NIL && now_ms - s->ents[s->done.head].t >= s->cfg.done_ttl_ms)
		ent_forget(s, s->done.head);
}

static int grow(struct proto_stem *s)
{
	uint32_t ncap = s->cap * 2 < s->cfg.max_reports ? s->cap * 2 : s->cfg.max_reports;
	uint32_t nmask = s->mask;
	uint32_t *ns = NULL;
	struct ent *ne;

	/* The table stays at most half full, so probes stay short and always end. */
	while ((size_t)ncap * 2 > (size_t)nmask + 1)
		nmask = nmask * 2 + 1;
	if (nmask != s->mask) {
		ns = calloc((size_t)nmask + 1, sizeof(*ns));
		if (!ns)
			return -ENOMEM;
	}
	ne = realloc(s->ents, (size_t)ncap * sizeof(*ne));
	if (!ne) {
		free(ns);
		return -ENOMEM;
	}
	s->ents = ne;
	s->cap = ncap;
	if (ns) {
		free(s->slots);
		s->slots = ns;
		s->mask = nmask;
		for (uint32_t i = 0; i < s->used; i++)
			if (s->ents[i].state != E_FREE)
				slot_put(s, i);
	}
	return 0;
}

/*
 * A free entry for @id, made room for by forgetting the oldest finished id when every
 * slot is taken. Returns the index, NIL when all max_reports entries are pending, or NIL
 * with *err = -ENOMEM.
 */
static uint32_t ent_new(struct proto_stem *s, const uint8_t id[32], uint64_t now_ms, int *err)
{
	uint32_t i;

	*err = 0;
	forget_old(s, now_ms);
	if (s->free_head == NIL && s->used == s->cap) {
		if (s->cap < s->cfg.max_reports) {
			*err = grow(s);
			if (*err)
				return NIL;
		} else if (s->done.head != NIL) {
			ent_forget(s, s->done.head);
		} else {
			return NIL;
		}
	}
	if (s->free_head != NIL) {
		i = s->free_head;
		s->free_head = s->ents[i].next;
	} else {
		i = s->used++;
	}
	memset(&s->ents[i], 0, sizeof(s->ents[i]));
	memcpy(s->ents[i].id, id, 32);
	s->ents[i].h = id_hash(s, id);
	s->ents[i].t = now_ms;
	slot_put(s, i);
	return i;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static void ent_track(struct proto_stem *s, uint32_t i, int state, uint64_t deadline)
{
	s->ents[i].state = (uint8_t)state;
	s->ents[i].deadline = deadline;
	list_push(s, state == E_PENDING ? &s->pend : &s->done, i);
}

/* Relays -------------------------------------------------------------------------------- */

static void up_swap(struct proto_stem *s, uint32_t a, uint32_t b)
{
	uint32_t la = s->up[a], lb = s->up[b];

	s->up[a] = lb;
	s->up[b] = la;
	s->links[lb].up_pos = a;
	s->links[la].up_pos = b;
}

static void relays_clear(struct proto_stem *s)
{
	for (unsigned k = 0; k < s->n_relay; k++)
		s->links[s->relay[k]].relay = 0;
	s->n_relay = 0;
	s->own_slot = NO_SLOT;
	s->gen++;
}

/* A uniformly random up link that holds no relay slot (@held up links hold one), or NIL. */
static uint32_t pick_non_relay(struct proto_stem *s, uint32_t held)
{
	uint32_t k;

	if (s->n_up <= held)
		return NIL;
	k = rnd_below(s, s->n_up - held);
	for (uint32_t j = 0; j < s->n_up; j++) {
		if (s->links[s->up[j]].relay)
			continue;
		if (k-- == 0)
			return s->up[j];
	}
	return NIL;
}

/*
 * Enter the epoch of @now_ms (drawing a fresh relay set by a partial Fisher-Yates shuffle
 * of the up links), or top up the current set when fewer relays than wanted are held
 * because links came up after the draw.
 */
static void relays_refresh(struct proto_stem *s, uint64_t now_ms)
{
	uint64_t e = now_ms / s->cfg.epoch_ms;
	unsigned want = s->cfg.relays < s->n_up ? s->cfg.relays : s->n_up;

	if (!s->epoch_set || e != s->epoch) {
		relays_clear(s);
		s->epoch = e;
		s->epoch_set = true;
		s->st.epochs++;
		for (unsigned k = 0; k < want; k++) {
			up_swap(s, k, k + rnd_below(s, s->n_up - k));
			s->relay[k] = s->up[k];
			s->links[s->up[k]].relay = 1;
		}
		s->n_relay = want;
	}
	while (s->n_relay < want) {
		uint32_t l = pick_non_relay(s, s->n_relay);

		s->relay[s->n_relay++] = l;
		s->links[l].relay = 1;
	}
	if (s->n_relay && (s->own_slot == NO_SLOT || s->own_slot >= s->n_relay))
		s->own_slot = rnd_below(s, s->n_relay);
}

/*
 * The successor of inbound link @from (NIL for own reports), or NIL when no link other
 * than @from is up. With a single relay slot that is @from itself, another up link is
 * drawn per call: the config asked for one relay and the alternative is to stop the stem.
 */
static uint32_t successor(struct proto_stem *s, uint32_t from, uint64_t now_ms)
{
	struct slink *fl;
	uint32_t l;

	relays_refresh(s, now_ms);
	if (!s->n_relay)
		return NIL;
	if (from == NIL)
		return s->relay[s->own_slot];
	fl = &s->links[from];
	if (fl->gen != s->gen || fl->slot >= s->n_relay) {
		fl->slot = (uint8_t)rnd_below(s, s->n_relay);
		fl->gen = s->gen;
	}
	for (unsigned k = 0; k < s->n_relay; k++) {
		l = s->relay[(fl->slot + k) % s->n_relay];
		if (l != from)
			return l;
	}
	if (s->n_up < 2)
		return NIL;
	l = s->up[rnd_below(s, s->n_up - 1)];
	return l != from ? l : s->up[s->n_up - 1];
}

/* API ------------------------------------------------------------------------------------ */

struct proto_stem *proto_stem_new(const struct proto_stem_config *cfg)
{
	struct proto_stem_config c = cfg ? *cfg : (struct proto_stem_config){0};
	struct proto_stem *s;
	uint8_t seed_le[8], k[64];
	const void *parts[2] = {"chatham/stem/1", seed_le};
	size_t lens[2] = {14, sizeof(seed_le)};

	if (!c.max_links)
		c.max_links = 64;
	if (!c.relays)
		c.relays = 2;
	if (!c.fluff_permille)
		c.fluff_permille = 150;
	if (!c.embargo_ms)
		c.embargo_ms = 5000;
	if (!c.epoch_ms)
		c.epoch_ms = 600000;
	if (!c.max_reports)
		c.max_reports = 4096;
	if (!c.done_ttl_ms)
		c.done_ttl_ms = 60000;
	if (c.max_links > PROTO_STEM_LINKS_MAX || c.relays > PROTO_STEM_RELAYS_MAX ||
	    c.fluff_permille > 1000 || c.embargo_ms > 3600000 || c.max_reports < 16 ||
	    c.max_reports > 1048576)
		return NULL;
	if (proto_crypto_init())
		return NULL;

	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->cfg = c;
	for (unsigned i = 0; i < sizeof(seed_le); i++)
		seed_le[i] = (uint8_t)(c.seed >> (8 * i));
	proto_hash(k, sizeof(k), parts, lens, 2);
	memcpy(s->skey, k, sizeof(s->skey));
	memcpy(s->hkey, k + 32, sizeof(s->hkey));
	proto_wipe(k, sizeof(k));
	s->own_slot = NO_SLOT;
	s->gen = 1;
	s->free_head = NIL;
	s->pend = (struct list){NIL, NIL, 0};
	s->done = (struct list){NIL, NIL, 0};
	s->cap = c.max_reports < 64 ? c.max_reports : 64;
	s->mask = 127;
	s->links = calloc(c.max_links, sizeof(*s->links));
	s->up = calloc(c.max_links, sizeof(*s->up));
	s->ents = calloc(s->cap, sizeof(*s->ents));
	s->slots = calloc((size_t)s->mask + 1, sizeof(*s->slots));
	if (!s->links || !s->up || !s->ents || !s->slots) {
		proto_stem_free(s);
		return NULL;
	}
	return s;
}

void proto_stem_free(struct proto_stem *s)
{
	if (!s)
		return;
	free(s->links);
	free(s->up);
	free(s->ents);
	free(s->slots);
	proto_wipe(s, sizeof(*s));
	free(s);
}

int proto_stem_link_up(struct proto_stem *s, uint32_t link, uint64_t now_ms)
{
	(void)now_ms;
	if (link >= s->cfg.max_links || s->links[link].up)
		return PROTO_E_STEM_LINK;
	s->links[link] = (struct slink){.up = 1, .up_pos = s->n_up, .gen = 0};
	s->up[s->n_up++] = link;
	return 0;
}

int proto_stem_link_down(struct proto_stem *s, uint32_t link, uint64_t now_ms)
{
	struct slink *l;

	(void)now_ms;
	if (link >= s->cfg.max_links || !s->links[link].up)
		return PROTO_E_STEM_LINK;
	l = &s->links[link];
	up_swap(s, l->up_pos, s->n_up - 1);
	s->n_up--;
	l->up = 0;
	if (l->relay) {
		unsigned k = 0;
		uint32_t repl;

		while (s->relay[k] != link)
			k++;
		l->relay = 0;
		repl = pick_non_relay(s, s->n_relay - 1);
		if (repl != NIL) {
			s->relay[k] = repl;
			s->links[repl].relay = 1;
		} else {
			s->relay[k] = s->relay[--s->n_relay];
			s->own_slot = NO_SLOT;
			s->gen++;
			if (s->n_relay)
				s->own_slot = rnd_below(s, s->n_relay);
		}
	}
	return 0;
}

int proto_stem_originate(struct proto_stem *s, const uint8_t id[32], uint64_t now_ms,
			 uint32_t *link)
{
	uint32_t i, succ;
	uint64_t e;
	int err;

	if (!s || !id || !link)
		return -EINVAL;
	if (map_find(s, id) != NIL)
		return PROTO_E_STEM_KNOWN;
	i = ent_new(s, id, now_ms, &err);
	if (i == NIL)
		return err ? err : -ENOBUFS;
	s->ents[i].own = 1;
	s->st.originated++;
	succ = successor(s, NIL, now_ms);
	if (succ == NIL) {
		ent_track(s, i, E_DONE, 0);
		s->st.fluffed_stuck++;
		return PROTO_STEM_FLUFF;
	}
	e = s->cfg.embargo_ms;
	ent_track(s, i, E_PENDING, add_sat(now_ms, 2 * e + rnd_below(s, (uint32_t)e)));
	s->st.forwarded++;
	*link = succ;
	return PROTO_STEM_FORWARD;
}

int proto_stem_on_stem(struct proto_stem *s, uint32_t from, const uint8_t id[32], uint64_t now_ms,
		       uint32_t *link)
{
	uint32_t i, succ;
	uint64_t e = s ? s->cfg.embargo_ms : 0;
	bool loop = false, coin;
	int err;

	if (!s || !id || !link)
		return -EINVAL;
	if (from >= s->cfg.max_links || !s->links[from].up)
		return PROTO_E_STEM_LINK;
	s->st.stem_recv++;
	i = map_find(s, id);
	if (i != NIL && s->ents[i].state == E_DONE) {
		s->st.dropped++;
		return PROTO_STEM_DROP;
	}
	if (i != NIL) {
		/* A loop: the report is pending here already. Its embargo keeps running. */
		loop = true;
		s->st.stem_loops++;
		coin = !s->ents[i].own && rnd_below(s, 1000) < s->cfg.fluff_permille;
	} else {
		coin = rnd_below(s, 1000) < s->cfg.fluff_permille;
		i = ent_new(s, id, now_ms, &err);
		if (i == NIL && err)
			return err;
		if (i == NIL) {
			s->st.fluffed_full++;
			return PROTO_STEM_FLUFF;
		}
	}
	succ = coin ? NIL : successor(s, from, now_ms);
	if (coin || succ == NIL) {
		if (loop)
			ent_finish(s, i, now_ms);
		else
			ent_track(s, i, E_DONE, 0);
		if (coin)
			s->st.fluffed_coin++;
		else
			s->st.fluffed_stuck++;
		return PROTO_STEM_FLUFF;
	}
	if (!loop)
		ent_track(s, i, E_PENDING, add_sat(now_ms, e + rnd_below(s, (uint32_t)e)));
	s->st.forwarded++;
	*link = succ;
	return PROTO_STEM_FORWARD;
}

bool proto_stem_on_gossip(struct proto_stem *s, const uint8_t id[32], uint64_t now_ms)
{
	uint32_t i = map_find(s, id);

	if (i == NIL || s->ents[i].state != E_PENDING)
		return false;
	ent_finish(s, i, now_ms);
	s->st.cancelled++;
	return true;
}

bool proto_stem_expire(struct proto_stem *s, uint64_t now_ms, uint8_t id[32])
{
	uint32_t best = NIL;

	forget_old(s, now_ms);
	for (uint32_t i = s->pend.head; i != NIL; i = s->ents[i].next)
		if (s->ents[i].deadline <= now_ms &&
		    (best == NIL || s->ents[i].deadline < s->ents[best].deadline))
			best = i;
	if (best == NIL)
		return false;
	memcpy(id, s->ents[best].id, 32);
	ent_finish(s, best, now_ms);
	s->st.embargo_fired++;
	return true;
}

uint64_t proto_stem_next_deadline(const struct proto_stem *s)
{
	uint64_t d = UINT64_MAX;

	for (uint32_t i = s->pend.head; i != NIL; i = s->ents[i].next)
		if (s->ents[i].deadline < d)
			d = s->ents[i].deadline;
	return d;
}

bool proto_stem_pending(const struct proto_stem *s, const uint8_t id[32])
{
	uint32_t i = map_find(s, id);

	return i != NIL && s->ents[i].state == E_PENDING;
}

unsigned proto_stem_tracked(const struct proto_stem *s)
{
	return s->pend.n + s->done.n;
}

unsigned proto_stem_embargoed(const struct proto_stem *s)
{
	return s->pend.n;
}

void proto_stem_get_stats(const struct proto_stem *s, struct proto_stem_stats *st)
{
	*st = s->st;
}
