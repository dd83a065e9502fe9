/* SPDX-License-Identifier: MIT */
/*
 * policy/abuse.c — member abuse budgets, backoff and forgiveness (see abuse.h).
 *
 * The table is an array of entries sorted by member id: it holds the members that were
 * charged in their current window, hold a reservation or have offences left, which is a few
 * members of a roster, never more than the roster (callers charge authenticated members
 * only) plus the stored records of former members. Lookups are binary searches; insertions
 * move the tail, which is cheap at those sizes.
 */
#include "policy/abuse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	uint8_t id[32];
	struct policy_abuse_record rec;
	uint64_t window_start; /* when the current window's first charge came */
	uint32_t count[POLICY_ABUSE__CHARGES];
	uint32_t reserved[POLICY_ABUSE__CHARGES];
};

struct policy_abuse {
	struct policy_abuse_config cfg;
	struct entry *e;
	size_t n, cap;
};

int policy_abuse_check_config(const struct policy_abuse_config *cfg)
{
	for (size_t i = 0; i < POLICY_ABUSE__CHARGES; i++)
		if (!cfg->budget[i] || cfg->budget[i] == UINT32_MAX)
			return -EINVAL;
	if (!cfg->window_ms || !cfg->backoff_ms || cfg->backoff_max_ms < cfg->backoff_ms ||
	    !cfg->forgive_ms)
		return -EINVAL;
	return 0;
}

struct policy_abuse *policy_abuse_new(const struct policy_abuse_config *cfg)
{
	struct policy_abuse *t;

	if (policy_abuse_check_config(cfg))
		return NULL;
	t = calloc(1, sizeof(*t));
	if (t)
		t->cfg = *cfg;
	return t;
}

void policy_abuse_free(struct policy_abuse *t)
{
	if (t) {
		free(t->e);
		free(t);
	}
}

int policy_abuse_set_config(struct policy_abuse *t, const struct policy_abuse_config *cfg)
{
	if (policy_abuse_check_config(cfg))
		return -EINVAL;
	t->cfg = *cfg;
	return 0;
}

/* Index of @id, or of where it would go (with *@found false). */
static size_t lookup(const struct policy_abuse *t, const uint8_t id[32], bool *found)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(t->e[mid].id, id, 32);

		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static struct entry *find(const struct policy_abuse *t, const uint8_t id[32])
{
	bool found;
	size_t i = lookup(t, id, &found);

	return found ? &t->e[i] : NULL;
}

static struct entry *find_or_add(struct policy_abuse *t, const uint8_t id[32])
{
	bool found;
	size_t i = lookup(t, id, &found);

	if (found)
		return &t->e[i];
	if (t->n == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 16;
		struct entry *p = realloc(t->e, nc * sizeof(*p));

		if (!p)
			return NULL;
		t->e = p;
		t->cap = nc;
	}
	memmove(&t->e[i + 1], &t->e[i], (t->n - i) * sizeof(*t->e));
	t->n++;
	memset(&t->e[i], 0, sizeof(*t->e));
	memcpy(t->e[i].id, id, 32);
	return &t->e[i];
}

/* A refusal never reaches further than backoff_max_ms from now (clock stepped back). */
static void clamp(const struct policy_abuse_config *cfg, struct policy_abuse_record *r,
		  uint64_t now)
{
	if (r->refused_until_ms > now && r->refused_until_ms - now > cfg->backoff_max_ms)
		r->refused_until_ms = now + cfg->backoff_max_ms;
}

/* Forgive one offence per forgive_ms since the refusal ended (or the last forgiveness). */
static void forgive(const struct policy_abuse_config *cfg, struct policy_abuse_record *r,
		    uint64_t now)
{
	uint64_t base = r->refused_until_ms > r->forgiven_ms ? r->refused_until_ms : r->forgiven_ms;
	uint64_t k;

	if (!r->offences || now <= base)
		return;
	k = (now - base) / cfg->forgive_ms;
	if (!k)
		return;
	if (k >= r->offences) {
		r->offences = 0;
		r->forgiven_ms = now;
	} else {
		r->offences -= (uint32_t)k;
		r->forgiven_ms = base + k * cfg->forgive_ms;
	}
}

static uint64_t refused_ms(const struct policy_abuse_config *cfg,
			   const struct policy_abuse_record *r, uint64_t now)
{
	uint64_t d;

	if (r->refused_until_ms <= now)
		return 0;
	d = r->refused_until_ms - now;
	return d < cfg->backoff_max_ms ? d : cfg->backoff_max_ms;
}

static bool window_over(const struct policy_abuse_config *cfg, const struct entry *e, uint64_t now)
{
	return now < e->window_start || now - e->window_start >= cfg->window_ms;
}

static uint64_t backoff(const struct policy_abuse_config *cfg, uint32_t offences)
{
	uint64_t d = cfg->backoff_ms;

	for (uint32_t k = 1; k < offences && d < cfg->backoff_max_ms; k++)
		d *= 2;
	return d < cfg->backoff_max_ms ? d : cfg->backoff_max_ms;
}

int policy_abuse_charge(struct policy_abuse *t, const uint8_t id[32], enum policy_abuse_charge what,
			uint64_t now_ms, struct policy_abuse_record *rec)
{
	struct entry *e = find_or_add(t, id);

	if (!e)
		return -ENOMEM;
	clamp(&t->cfg, &e->rec, now_ms);
	forgive(&t->cfg, &e->rec, now_ms);
	if (refused_ms(&t->cfg, &e->rec, now_ms))
		return POLICY_ABUSE_REFUSED;
	if (window_over(&t->cfg, e, now_ms)) {
		e->window_start = now_ms;
		memset(e->count, 0, sizeof(e->count));
	}
	if (++e->count[what] <= t->cfg.budget[what])
		return POLICY_ABUSE_WITHIN;
	if (e->rec.offences < UINT32_MAX)
		e->rec.offences++;
	e->rec.refused_until_ms = now_ms + backoff(&t->cfg, e->rec.offences);
	/* The refusal is the consequence; the budget starts afresh after it. */
	e->window_start = now_ms;
	memset(e->count, 0, sizeof(e->count));
	if (rec)
		*rec = e->rec;
	return POLICY_ABUSE_OFFENCE;
}

uint64_t policy_abuse_refused_ms(const struct policy_abuse *t, const uint8_t id[32],
				 uint64_t now_ms)
{
	const struct entry *e = find(t, id);

	return e ? refused_ms(&t->cfg, &e->rec, now_ms) : 0;
}

int64_t policy_abuse_reserve(struct policy_abuse *t, const uint8_t id[32],
			     enum policy_abuse_charge what, uint64_t now_ms)
{
	struct entry *e = find_or_add(t, id);
	uint32_t count, left, avail;

	if (!e)
		return -ENOMEM;
	if (refused_ms(&t->cfg, &e->rec, now_ms))
		return 0;
	count = window_over(&t->cfg, e, now_ms) ? 0 : e->count[what];
	left = t->cfg.budget[what] + 1 -
	       (count <= t->cfg.budget[what] ? count : t->cfg.budget[what]);
	avail = left > e->reserved[what] ? left - e->reserved[what] : 0;
	if (e->reserved[what] > UINT32_MAX - avail)
		e->reserved[what] = UINT32_MAX;
	else
		e->reserved[what] += avail;
	return avail;
}

void policy_abuse_release(struct policy_abuse *t, const uint8_t id[32],
			  enum policy_abuse_charge what, uint32_t n)
{
	struct entry *e = find(t, id);

	if (e)
		e->reserved[what] -= n < e->reserved[what] ? n : e->reserved[what];
}

int policy_abuse_restore(struct policy_abuse *t, const uint8_t id[32],
			 const struct policy_abuse_record *rec, uint64_t now_ms)
{
	struct policy_abuse_record r = *rec;
	struct entry *e;

	clamp(&t->cfg, &r, now_ms);
	forgive(&t->cfg, &r, now_ms);
	if (!r.offences && !refused_ms(&t->cfg, &r, now_ms))
		return 0;
	e = find_or_add(t, id);
	if (!e)
		return -ENOMEM;
	e->rec = r;
	return 0;
}

bool policy_abuse_get(const struct policy_abuse *t, const uint8_t id[32], uint64_t now_ms,
		      struct policy_abuse_record *rec)
{
	const struct entry *e = find(t, id);

	memset(rec, 0, sizeof(*rec));
	if (!e)
		return false;
	*rec = e->rec;
	clamp(&t->cfg, rec, now_ms);
	forgive(&t->cfg, rec, now_ms);
	if (!rec->offences) {
		memset(rec, 0, sizeof(*rec));
		return false;
	}
	return true;
}

void policy_abuse_each(const struct policy_abuse *t, uint64_t now_ms,
		       void (*fn)(void *arg, const uint8_t id[32],
				  const struct policy_abuse_record *rec),
		       void *arg)
{
	for (size_t i = 0; i < t->n; i++) {
		struct policy_abuse_record r;

		if (policy_abuse_get(t, t->e[i].id, now_ms, &r))
			fn(arg, t->e[i].id, &r);
	}
}

size_t policy_abuse_prune(struct policy_abuse *t, uint64_t now_ms)
{
	size_t out = 0;

	for (size_t i = 0; i < t->n; i++) {
		struct entry *e = &t->e[i];
		bool idle = window_over(&t->cfg, e, now_ms);

		clamp(&t->cfg, &e->rec, now_ms);
		forgive(&t->cfg, &e->rec, now_ms);
		for (size_t k = 0; k < POLICY_ABUSE__CHARGES; k++)
			idle = idle && !e->reserved[k];
		if (idle && !e->rec.offences && !refused_ms(&t->cfg, &e->rec, now_ms))
			continue;
		if (out != i)
			t->e[out] = *e;
		out++;
	}
	t->n = out;
	return out;
}
