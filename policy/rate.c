/* SPDX-License-Identifier: MIT */
/*
 * Token buckets in an open-addressing table keyed by 32-byte ids (hashes or public keys, so
 * their first bytes already spread well). Tokens are kept in units of 1/60000 report: a
 * millisecond then refills exactly per_min units and a report costs 60000, with no rounding.
 */
#include "policy/rate.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define UNIT 60000ull /* token units per report */
#define MIN_SLOTS 16

struct bucket {
	uint8_t key[32];
	uint64_t tokens; /* in UNITs, <= burst * UNIT */
	uint64_t last_ms;
	bool used;
};

struct policy_rate {
	struct policy_rate_config cfg;
	struct bucket *slots;
	size_t cap, n; /* cap a power of two */
};

static uint64_t cap_units(const struct policy_rate *r)
{
	return (uint64_t)(r->cfg.burst ? r->cfg.burst : 1) * UNIT;
}

/* Refill @b up to @now_ms; returns whether it is full. */
static bool refill(const struct policy_rate *r, struct bucket *b, uint64_t now_ms)
{
	uint64_t cap = cap_units(r), elapsed;

	if (now_ms > b->last_ms) {
		elapsed = now_ms - b->last_ms;
		if (elapsed >= (cap - b->tokens) / r->cfg.per_min + 1)
			b->tokens = cap;
		else
			b->tokens += elapsed * r->cfg.per_min;
		b->last_ms = now_ms;
	}
	if (b->tokens > cap)
		b->tokens = cap;
	return b->tokens == cap;
}

static size_t hash(const uint8_t key[32])
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));
	return (size_t)(h ^ (h >> 29));
}

static struct bucket *find(struct bucket *slots, size_t cap, const uint8_t key[32])
{
	size_t i = hash(key) & (cap - 1);

	while (slots[i].used && memcmp(slots[i].key, key, 32) != 0)
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

/* Rebuild into a table sized for the entries that still carry state at @now_ms. */
static int rebuild(struct policy_rate *r, uint64_t now_ms)
{
	size_t live = 0, cap = MIN_SLOTS;
	struct bucket *slots;

	for (size_t i = 0; i < r->cap; i++)
		if (r->slots[i].used && !refill(r, &r->slots[i], now_ms))
			live++;
	while (cap < 4 * (live + 1))
		cap *= 2;
	slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < r->cap; i++) {
		struct bucket *b = &r->slots[i];

		if (b->used && b->tokens < cap_units(r))
			*find(slots, cap, b->key) = *b;
	}
	free(r->slots);
	r->slots = slots;
	r->cap = cap;
	r->n = live;
	return 0;
}

struct policy_rate *policy_rate_new(const struct policy_rate_config *cfg)
{
	struct policy_rate *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->cfg = *cfg;
	r->slots = calloc(MIN_SLOTS, sizeof(*r->slots));
	if (!r->slots) {
		free(r);
		return NULL;
	}
	r->cap = MIN_SLOTS;
	return r;
}

void policy_rate_set_config(struct policy_rate *r, const struct policy_rate_config *cfg)
{
	r->cfg = *cfg;
	for (size_t i = 0; i < r->cap; i++)
		if (r->slots[i].used && r->slots[i].tokens > cap_units(r))
			r->slots[i].tokens = cap_units(r);
}

int policy_rate_take(struct policy_rate *r, const uint8_t key[32], uint64_t now_ms)
{
	struct bucket *b;

	if (r->cfg.per_min == 0)
		return 1;
	b = find(r->slots, r->cap, key);
	if (!b->used) {
		if (2 * (r->n + 1) > r->cap) {
			if (rebuild(r, now_ms) != 0)
				return -ENOMEM;
			b = find(r->slots, r->cap, key);
		}
		memcpy(b->key, key, 32);
		b->tokens = cap_units(r);
		b->last_ms = now_ms;
		b->used = true;
		r->n++;
	}
	refill(r, b, now_ms);
	if (b->tokens < UNIT)
		return 0;
	b->tokens -= UNIT;
	return 1;
}

uint64_t policy_rate_entries(const struct policy_rate *r)
{
	return r->n;
}

void policy_rate_free(struct policy_rate *r)
{
	if (!r)
		return;
	free(r->slots);
	free(r);
}
