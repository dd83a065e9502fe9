/* SPDX-License-Identifier: MIT */
/*
 * The in-memory index of chatham-taxii (see index.h). Versions are appended in feed order
 * and never change afterwards, except that the chain links (next_same) and an indicator's
 * first/last slots are updated when a later version arrives; all of that happens under the
 * write lock. The hash table maps STIX UUIDs to indicators (open addressing, UUIDs are
 * BLAKE2b output and uniformly distributed).
 */
#include "node/taxii/index.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "node/format/export_fmt.h"
#include "proto/crypto.h"
#include "proto/report.h"
#include "proto/summary.h"

struct taxii_index {
	struct store_export *x;
	pthread_rwlock_t lock;
	pthread_mutex_t refresh; /* one refresh at a time */
	struct taxii_version *v;
	size_t nv, cv;
	struct taxii_ind *ind;
	size_t ni, ci;
	uint32_t *table; /* indicator index + 1; 0 empty */
	size_t tcap;	 /* power of two */
	uint64_t last_seq, last_added_us, bad;
};

struct taxii_index *taxii_index_new(struct store_export *x)
{
	struct taxii_index *idx = calloc(1, sizeof(*idx));

	if (!idx)
		return NULL;
	idx->x = x;
	idx->tcap = 1024;
	idx->table = calloc(idx->tcap, sizeof(*idx->table));
	if (!idx->table || pthread_rwlock_init(&idx->lock, NULL)) {
		free(idx->table);
		free(idx);
		return NULL;
	}
	pthread_mutex_init(&idx->refresh, NULL);
	return idx;
}

void taxii_index_free(struct taxii_index *idx)
{
	if (!idx)
		return;
	pthread_rwlock_destroy(&idx->lock);
	pthread_mutex_destroy(&idx->refresh);
	free(idx->v);
	free(idx->ind);
	free(idx->table);
	free(idx);
}

void taxii_index_rdlock(struct taxii_index *idx)
{
	pthread_rwlock_rdlock(&idx->lock);
}

void taxii_index_unlock(struct taxii_index *idx)
{
	pthread_rwlock_unlock(&idx->lock);
}

const struct taxii_version *taxii_index_versions(const struct taxii_index *idx, size_t *n)
{
	*n = idx->nv;
	return idx->v;
}

const struct taxii_ind *taxii_index_ind(const struct taxii_index *idx, size_t *n)
{
	*n = idx->ni;
	return idx->ind;
}

uint64_t taxii_index_bad_docs(const struct taxii_index *idx)
{
	return idx->bad;
}

static size_t slot_of(const struct taxii_index *idx, const uint8_t uuid[16])
{
	uint64_t h;
	size_t mask = idx->tcap - 1, i;

	memcpy(&h, uuid, 8);
	i = (size_t)h & mask;
	while (idx->table[i] && memcmp(idx->ind[idx->table[i] - 1].uuid, uuid, 16))
		i = (i + 1) & mask;
	return i;
}

uint32_t taxii_index_find(const struct taxii_index *idx, const uint8_t uuid[16])
{
	size_t i = slot_of(idx, uuid);

	return idx->table[i] ? idx->table[i] - 1 : TAXII_NONE;
}

size_t taxii_index_after(const struct taxii_index *idx, uint64_t us)
{
	size_t lo = 0, hi = idx->nv;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (idx->v[mid].added_us <= us)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int grow_table(struct taxii_index *idx)
{
	size_t old_cap = idx->tcap;
	uint32_t *old = idx->table;

	idx->tcap *= 2;
	idx->table = calloc(idx->tcap, sizeof(*idx->table));
	if (!idx->table) {
		idx->table = old;
		idx->tcap = old_cap;
		return -ENOMEM;
	}
	for (size_t i = 0; i < old_cap; i++)
		if (old[i])
			idx->table[slot_of(idx, idx->ind[old[i] - 1].uuid)] = old[i];
	free(old);
	return 0;
}

static int reserve(void **p, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 1024;
	void *n;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	n = realloc(*p, c * size);
	if (!n)
		return -ENOMEM;
	*p = n;
	*cap = c;
	return 0;
}

/* One parsed document, collected outside the write lock. */
struct pending {
	uint64_t seq, change_ms, modified_ms;
	uint8_t uuid[16];
	uint8_t tlp, observed;
};

struct collect {
	struct pending *p;
	size_t n, cap;
	uint64_t last_seq, bad;
};

static int collect_doc(void *ctx, uint64_t seq, const uint8_t *doc, size_t len)
{
	struct collect *c = ctx;
	struct node_export_doc d;
	json_error_t jerr;
	json_t *j;
	char uuid[37];
	struct pending *p;

	c->last_seq = seq;
	j = json_loadb((const char *)doc, len, 0, &jerr);
	if (!j || node_export_doc_parse(j, &d, NULL)) {
		json_decref(j);
		c->bad++;
		goto next;
	}
	if (reserve((void **)&c->p, &c->cap, c->n + 1, sizeof(*c->p))) {
		json_decref(j);
		return -ENOMEM;
	}
	p = &c->p[c->n++];
	p->seq = seq;
	p->change_ms = d.modified_ms;
	p->modified_ms = d.modified_ms >= d.first_seen_ms ? d.modified_ms : d.first_seen_ms;
	p->tlp = (uint8_t)d.tlp;
	p->observed = d.state == PROTO_SUMMARY_OBSERVED;
	node_export_uuid(uuid, "stix/indicator", d.ind_id, 32);
	/* node_export_uuid() writes 32 hex digits in 8-4-4-4-12 groups. */
	for (int i = 0, k = 0; i < 36; i++) {
		if (uuid[i] == '-')
			continue;
		p->uuid[k++] = (uint8_t)(proto_hex_digit((unsigned char)uuid[i]) << 4 |
					 proto_hex_digit((unsigned char)uuid[i + 1]));
		i++;
	}
	json_decref(j);
next:
	return 0;
}

/* Appends @p under the write lock. */
static int append(struct taxii_index *idx, const struct pending *p)
{
	size_t s;
	uint32_t ii, vi;
	struct taxii_ind *in;
	struct taxii_version *v;

	if ((idx->ni + 1) * 4 > idx->tcap * 3 && grow_table(idx))
		return -ENOMEM;
	s = slot_of(idx, p->uuid);
	if (!idx->table[s]) {
		if (p->observed)
			return 0; /* never reported: not an indicator */
		if (idx->ni >= TAXII_NONE - 1 ||
		    reserve((void **)&idx->ind, &idx->ci, idx->ni + 1, sizeof(*idx->ind)))
			return -ENOMEM;
		in = &idx->ind[idx->ni];
		memcpy(in->uuid, p->uuid, 16);
		for (int t = 0; t < 6; t++)
			in->first[t] = in->last[t] = TAXII_NONE;
		in->head = in->tail = TAXII_NONE;
		idx->table[s] = (uint32_t)++idx->ni;
	}
	ii = idx->table[s] - 1;
	in = &idx->ind[ii];
	if (p->observed && in->last[p->tlp] == TAXII_NONE)
		return 0; /* nothing at this TLP to retire */
	if (idx->nv >= TAXII_NONE - 1 ||
	    reserve((void **)&idx->v, &idx->cv, idx->nv + 1, sizeof(*idx->v)))
		return -ENOMEM;
	vi = (uint32_t)idx->nv++;
	v = &idx->v[vi];
	v->seq = p->seq;
	v->added_us = p->change_ms * 1000;
	if (v->added_us <= idx->last_added_us)
		v->added_us = idx->last_added_us + 1;
	idx->last_added_us = v->added_us;
	v->modified_ms = p->modified_ms;
	v->ind = ii;
	v->next_same = TAXII_NONE;
	v->tlp = p->tlp;
	if (in->tail != TAXII_NONE)
		idx->v[in->tail].next_same = vi;
	else
		in->head = vi;
	in->tail = vi;
	if (in->first[p->tlp] == TAXII_NONE)
		in->first[p->tlp] = vi;
	in->last[p->tlp] = vi;
	return 0;
}

int taxii_index_refresh(struct taxii_index *idx, size_t max_docs)
{
	struct collect c = {0};
	int r;

	/* A refresh already running serves this caller too. */
	if (pthread_mutex_trylock(&idx->refresh))
		return 0;
	c.last_seq = idx->last_seq;
	r = store_export_iter(idx->x, idx->last_seq, max_docs, collect_doc, &c);
	if (r < 0)
		goto out;
	r = 0;
	pthread_rwlock_wrlock(&idx->lock);
	size_t i;
	for (i = 0; i < c.n && !r; i++)
		r = append(idx, &c.p[i]);
	if (!r) {
		idx->last_seq = c.last_seq;
		idx->bad += c.bad;
	} else if (i > 1) {
		idx->last_seq = c.p[i - 2].seq; /* appended so far; the rest next time */
	}
	pthread_rwlock_unlock(&idx->lock);
	if (!r)
		r = (int)(c.n + c.bad > INT32_MAX ? INT32_MAX : c.n + c.bad);
out:
	pthread_mutex_unlock(&idx->refresh);
	free(c.p);
	return r;
}
