/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/itemset.h — an in-memory reconciliation item set: a sorted array of 40-byte
 * keys (created ms BE || report id) behind struct proto_recon_source, with the store's
 * semantics (half-open [lo, hi), NULL = open end). Header-only; used by the simulator and
 * the recon unit tests. Fingerprints are a linear scan, like the store's.
 */
#ifndef CHATHAM_TESTS_SIM_ITEMSET_H
#define CHATHAM_TESTS_SIM_ITEMSET_H

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "proto/recon.h"

struct itemset {
	uint8_t (*k)[PROTO_RECON_KEY_LEN];
	size_t n, cap;
	unsigned fail_after; /* tests: callbacks fail with -EIO after this many calls (0 = never) */
	unsigned calls;
};

static inline void itemset_init(struct itemset *s)
{
	memset(s, 0, sizeof(*s));
}

static inline void itemset_deinit(struct itemset *s)
{
	free(s->k);
	memset(s, 0, sizeof(*s));
}

/* Index of the first key >= @key (n when none); NULL @key = 0. */
static inline size_t itemset_lower(const struct itemset *s, const uint8_t *key)
{
	size_t lo = 0, hi = s->n;

	if (!key)
		return 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (memcmp(s->k[mid], key, PROTO_RECON_KEY_LEN) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static inline bool itemset_has(const struct itemset *s, const uint8_t *key)
{
	size_t i = itemset_lower(s, key);

	return i < s->n && memcmp(s->k[i], key, PROTO_RECON_KEY_LEN) == 0;
}

/* Insert @key; returns 1 if added, 0 if present, -ENOMEM. */
static inline int itemset_add(struct itemset *s, const uint8_t *key)
{
	size_t i = itemset_lower(s, key);

	if (i < s->n && memcmp(s->k[i], key, PROTO_RECON_KEY_LEN) == 0)
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		void *q = realloc(s->k, cap * PROTO_RECON_KEY_LEN);

		if (!q)
			return -ENOMEM;
		s->k = q;
		s->cap = cap;
	}
	memmove(s->k[i + 1], s->k[i], (s->n - i) * PROTO_RECON_KEY_LEN);
	memcpy(s->k[i], key, PROTO_RECON_KEY_LEN);
	s->n++;
	return 1;
}

/* Index of the key holding report @id, or -1 (linear: tests and catch-up only). */
static inline long itemset_find_id(const struct itemset *s, const uint8_t id[32])
{
	for (size_t i = 0; i < s->n; i++)
		if (memcmp(s->k[i] + 8, id, 32) == 0)
			return (long)i;
	return -1;
}

static inline int itemset_tick(struct itemset *s)
{
	s->calls++;
	return s->fail_after && s->calls >= s->fail_after ? -EIO : 0;
}

static inline int itemset_fingerprint(void *ctx, const uint8_t *lo, const uint8_t *hi,
				      uint8_t sum[32], uint64_t *count)
{
	struct itemset *s = ctx;
	size_t a = itemset_lower(s, lo), b = hi ? itemset_lower(s, hi) : s->n;
	int err = itemset_tick(s);

	if (err)
		return err;
	memset(sum, 0, 32);
	*count = 0;
	for (size_t i = a; i < b; i++) {
		proto_recon_sum_add(sum, s->k[i] + 8);
		(*count)++;
	}
	return 0;
}

static inline int itemset_list(void *ctx, const uint8_t *lo, const uint8_t *hi,
			       uint8_t (*keys)[PROTO_RECON_KEY_LEN], size_t cap, size_t *n)
{
	struct itemset *s = ctx;
	size_t a = itemset_lower(s, lo), b = hi ? itemset_lower(s, hi) : s->n;
	int err = itemset_tick(s);

	if (err)
		return err;
	*n = 0;
	for (size_t i = a; i < b && *n < cap; i++)
		memcpy(keys[(*n)++], s->k[i], PROTO_RECON_KEY_LEN);
	return 0;
}

static inline struct proto_recon_source itemset_source(struct itemset *s)
{
	struct proto_recon_source src = {
		.fingerprint = itemset_fingerprint,
		.list = itemset_list,
		.ctx = s,
	};
	return src;
}

#endif
