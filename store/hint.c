/* SPDX-License-Identifier: MIT */
/*
 * The report id -> sequence hint (store/hint.h): linear probing over 8-byte slots.
 *
 * Slots are only ever added (a rebuild clears the whole table), so a probe stops at the first
 * empty slot. Growth rehashes from the slots themselves: the 32-bit prefix they keep is all
 * that the home slot depends on.
 */
#include "store/hint.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/crypto.h"

#define INITIAL_BITS 16

static uint32_t prefix_of(const uint8_t rid[32])
{
	return (uint32_t)rid[0] << 24 | (uint32_t)rid[1] << 16 | (uint32_t)rid[2] << 8 | rid[3];
}

static size_t home(const struct store_hint *h, uint32_t prefix)
{
	uint64_t x = (prefix ^ h->key) * 0x9e3779b97f4a7c15ull;

	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ull;
	return (size_t)(x >> (64 - h->bits));
}

int store_hint_init(struct store_hint *h)
{
	int rc;

	memset(h, 0, sizeof(*h));
	rc = pthread_rwlock_init(&h->lock, NULL);
	if (rc != 0)
		return -rc;
	h->lock_ok = 1;
	h->bits = INITIAL_BITS;
	h->slot = calloc((size_t)1 << h->bits, sizeof(*h->slot));
	if (!h->slot) {
		store_hint_deinit(h);
		return -ENOMEM;
	}
	proto_random((uint8_t *)&h->key, sizeof(h->key));
	return 0;
}

void store_hint_deinit(struct store_hint *h)
{
	if (!h)
		return;
	free(h->slot);
	h->slot = NULL;
	if (h->lock_ok)
		pthread_rwlock_destroy(&h->lock);
	h->lock_ok = 0;
}

void store_hint_clear(struct store_hint *h)
{
	pthread_rwlock_wrlock(&h->lock);
	memset(h->slot, 0, ((size_t)1 << h->bits) * sizeof(*h->slot));
	h->used = 0;
	pthread_rwlock_unlock(&h->lock);
}

static void put_slot(uint64_t *slot, size_t mask, size_t i, uint64_t v)
{
	while (slot[i])
		i = (i + 1) & mask;
	slot[i] = v;
}

/* Double the table; called with the lock held exclusively. */
static int grow(struct store_hint *h)
{
	unsigned nb = h->bits + 1;
	size_t n = (size_t)1 << h->bits, mask = ((size_t)1 << nb) - 1;
	uint64_t *ns = calloc(mask + 1, sizeof(*ns)), *old = h->slot;

	if (!ns)
		return -ENOMEM;
	h->slot = ns;
	h->bits = nb;
	for (size_t i = 0; i < n; i++)
		if (old[i])
			put_slot(ns, mask, home(h, (uint32_t)(old[i] >> 32)), old[i]);
	free(old);
	return 0;
}

int store_hint_add(struct store_hint *h, const uint8_t rid[32], uint32_t seq)
{
	uint32_t p = prefix_of(rid);
	uint64_t v = (uint64_t)p << 32 | seq;
	size_t mask, i;
	int rc = 0;

	if (seq == 0)
		return -EINVAL;
	pthread_rwlock_wrlock(&h->lock);
	if ((h->used + 1) * 4 > ((size_t)3 << h->bits) && (rc = grow(h)) != 0)
		goto out;
	mask = ((size_t)1 << h->bits) - 1;
	for (i = home(h, p); h->slot[i]; i = (i + 1) & mask)
		if (h->slot[i] == v)
			goto out;
	h->slot[i] = v;
	h->used++;
out:
	pthread_rwlock_unlock(&h->lock);
	return rc;
}

size_t store_hint_find(struct store_hint *h, const uint8_t rid[32], uint32_t *seqs, size_t cap)
{
	uint32_t p = prefix_of(rid);
	size_t mask, n = 0;

	pthread_rwlock_rdlock(&h->lock);
	mask = ((size_t)1 << h->bits) - 1;
	for (size_t i = home(h, p); h->slot[i]; i = (i + 1) & mask) {
		if ((uint32_t)(h->slot[i] >> 32) != p)
			continue;
		if (n < cap)
			seqs[n] = (uint32_t)h->slot[i];
		n++;
	}
	pthread_rwlock_unlock(&h->lock);
	return n;
}

size_t store_hint_bytes(struct store_hint *h)
{
	size_t n;

	pthread_rwlock_rdlock(&h->lock);
	n = ((size_t)1 << h->bits) * sizeof(*h->slot);
	pthread_rwlock_unlock(&h->lock);
	return n;
}
