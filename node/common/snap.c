/* SPDX-License-Identifier: MIT */
#include "node/common/snap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "node/common/tagvocab.h"
#include "node/common/warnlists.h"
#include "proto/ring.h"

struct node_snap *node_snap_new(const struct policy_config *pcfg,
				const struct proto_roster *const *rosters, size_t n)
{
	struct node_snap *s;

	if (!n)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->refs = 1;
	s->pcfg = *pcfg;
	s->rosters = malloc(n * sizeof(*s->rosters));
	s->redactor = policy_redact_new(rosters, n);
	if (!s->rosters || !s->redactor) {
		free(s->rosters);
		policy_redact_free(s->redactor);
		free(s);
		return NULL;
	}
	memcpy(s->rosters, rosters, n * sizeof(*s->rosters));
	s->n_rosters = n;
	s->newest = rosters[n - 1];
	s->own_index = proto_roster_find_member(s->newest, pcfg->own_id);
	return s;
}

void node_snap_set_warnlists(struct node_snap *s, struct node_warnlists *w)
{
	s->warnlists = node_warnlists_ref(w);
	s->pcfg.warnlist = w ? w->wl : NULL;
}

void node_snap_set_tagvocab(struct node_snap *s, struct node_tagvocab *t)
{
	s->tagvocab = node_tagvocab_ref(t);
	s->pcfg.tag_vocab = t ? t->v : NULL;
}

struct node_snap *node_snap_ref(struct node_snap *s)
{
	if (s)
		s->refs++;
	return s;
}

void node_snap_unref(struct node_snap *s)
{
	if (!s || --s->refs)
		return;
	node_warnlists_unref(s->warnlists);
	node_tagvocab_unref(s->tagvocab);
	policy_redact_free(s->redactor);
	free(s->rosters);
	free(s);
}

const struct proto_roster *node_snap_roster(const struct node_snap *s, uint64_t epoch)
{
	size_t lo = 0, hi = s->n_rosters;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->rosters[mid]->epoch == epoch)
			return s->rosters[mid];
		if (s->rosters[mid]->epoch < epoch)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct proto_roster *node_snap_roster_cb(void *ctx, uint64_t epoch)
{
	return node_snap_roster(ctx, epoch);
}

int node_snap_own_tag(const struct node_snap *s, const uint8_t ind_id[32], uint8_t tag[32])
{
	if (!s->own_ring_sk)
		return -ENOENT;
	return proto_ring_tag(tag, s->own_ring_sk, ind_id);
}
