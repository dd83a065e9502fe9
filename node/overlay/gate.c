/* SPDX-License-Identifier: MIT */
/*
 * node/overlay/gate.c — the pre-authentication pool (see gate.h).
 *
 * Per-source records live in a chained hash table that doubles when it holds more sources
 * than buckets, so chains stay short on average; the bucket of a source comes from a keyed
 * BLAKE2b of its 17-byte key, so an outsider choosing addresses cannot pile them into one
 * chain. A record is freed when its last entry leaves.
 */
#include "node/overlay/gate.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "proto/crypto.h"

#define KEY_LEN 17 /* family byte + 16 address bytes */
#define MIN_BUCKETS 64

struct node_gate_src {
	struct node_gate_src *chain;
	struct node_gate_entry *head, *tail; /* oldest, newest */
	size_t n;
	uint64_t hash;
	uint8_t key[KEY_LEN];
};

static void source_key(const struct sockaddr_storage *ss, uint8_t key[KEY_LEN])
{
	memset(key, 0, KEY_LEN);
	key[0] = (uint8_t)ss->ss_family;
	if (ss->ss_family == AF_INET)
		memcpy(key + 1, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	else if (ss->ss_family == AF_INET6)
		memcpy(key + 1, &((const struct sockaddr_in6 *)ss)->sin6_addr, 8); /* the /64 */
}

static uint64_t key_hash(const struct node_gate *g, const uint8_t key[KEY_LEN])
{
	const void *parts[2] = {g->seed, key};
	const size_t lens[2] = {sizeof(g->seed), KEY_LEN};
	uint8_t h[16];
	uint64_t v;

	proto_hash(h, sizeof(h), parts, lens, 2);
	memcpy(&v, h, sizeof(v));
	return v;
}

static int grow(struct node_gate *g)
{
	size_t n = g->n_buckets ? g->n_buckets * 2 : MIN_BUCKETS;
	struct node_gate_src **b = calloc(n, sizeof(*b));

	if (!b)
		return -ENOMEM;
	if (!g->n_buckets)
		proto_random(g->seed, sizeof(g->seed));
	for (size_t i = 0; i < g->n_buckets; i++) {
		struct node_gate_src *s = g->buckets[i], *next;

		for (; s; s = next) {
			next = s->chain;
			s->chain = b[s->hash & (n - 1)];
			b[s->hash & (n - 1)] = s;
		}
	}
	free(g->buckets);
	g->buckets = b;
	g->n_buckets = n;
	return 0;
}

static struct node_gate_src *find_or_add(struct node_gate *g, const uint8_t key[KEY_LEN])
{
	struct node_gate_src *s;
	uint64_t h;

	if ((g->n_srcs >= g->n_buckets) && grow(g) < 0 && !g->n_buckets)
		return NULL;
	h = key_hash(g, key);
	for (s = g->buckets[h & (g->n_buckets - 1)]; s; s = s->chain)
		if (s->hash == h && memcmp(s->key, key, KEY_LEN) == 0)
			return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->hash = h;
	memcpy(s->key, key, KEY_LEN);
	s->chain = g->buckets[h & (g->n_buckets - 1)];
	g->buckets[h & (g->n_buckets - 1)] = s;
	g->n_srcs++;
	return s;
}

static void drop_source(struct node_gate *g, struct node_gate_src *s)
{
	struct node_gate_src **p = &g->buckets[s->hash & (g->n_buckets - 1)];

	while (*p != s)
		p = &(*p)->chain;
	*p = s->chain;
	g->n_srcs--;
	free(s);
}

int node_gate_add(struct node_gate *g, struct node_gate_entry *e,
		  const struct sockaddr_storage *peer)
{
	uint8_t key[KEY_LEN];
	struct node_gate_src *s;

	source_key(peer, key);
	s = find_or_add(g, key);
	if (!s)
		return -ENOMEM;
	e->src = s;
	e->next = NULL;
	e->prev = g->tail;
	if (g->tail)
		g->tail->next = e;
	else
		g->head = e;
	g->tail = e;
	g->n++;
	e->snext = NULL;
	e->sprev = s->tail;
	if (s->tail)
		s->tail->snext = e;
	else
		s->head = e;
	s->tail = e;
	s->n++;
	return 0;
}

void node_gate_remove(struct node_gate *g, struct node_gate_entry *e)
{
	struct node_gate_src *s = e->src;

	if (!s)
		return;
	if (e->prev)
		e->prev->next = e->next;
	else
		g->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		g->tail = e->prev;
	g->n--;
	if (e->sprev)
		e->sprev->snext = e->snext;
	else
		s->head = e->snext;
	if (e->snext)
		e->snext->sprev = e->sprev;
	else
		s->tail = e->sprev;
	if (--s->n == 0)
		drop_source(g, s);
	memset(e, 0, sizeof(*e));
}

bool node_gate_in(const struct node_gate_entry *e)
{
	return e->src != NULL;
}

struct node_gate_entry *node_gate_oldest(const struct node_gate *g)
{
	return g->head;
}

size_t node_gate_source_count(const struct node_gate_entry *e)
{
	return e->src ? e->src->n : 0;
}

struct node_gate_entry *node_gate_source_oldest(const struct node_gate_entry *e)
{
	return e->src ? e->src->head : NULL;
}

void node_gate_deinit(struct node_gate *g)
{
	free(g->buckets);
	memset(g, 0, sizeof(*g));
}
