/* SPDX-License-Identifier: MIT */
/*
 * node/common/snap.h — an immutable snapshot of what policy decisions need: the policy settings,
 * the held rosters and the redactor built from them. Worker threads (ingest, export, query)
 * read a snapshot while the loop thread may install a newer one at SIGHUP; each job takes a
 * reference on the loop thread when it is queued and drops it on the loop thread when its
 * after-work callback runs, so reference counting needs no atomics.
 *
 * The rosters themselves are owned by the daemon, which only ever adds rosters while running
 * and frees them after the last snapshot is gone; a snapshot holds a copy of the pointer
 * array.
 */
#ifndef CHATHAM_NODE_SNAP_H
#define CHATHAM_NODE_SNAP_H

#include <stddef.h>
#include <stdint.h>

#include "policy/config.h"
#include "policy/redact.h"
#include "proto/roster.h"

struct node_warnlists;
struct node_tagvocab;

struct node_snap {
	unsigned refs; /* loop thread only */
	struct policy_config pcfg;
	const struct proto_roster **rosters; /* ascending epoch; array owned, rosters borrowed */
	size_t n_rosters;
	const struct proto_roster *newest;
	struct policy_redactor *redactor; /* owned */
	int own_index;			  /* this node's index in @newest, -1 if absent */
	/*
	 * This node's ring secret key (32 bytes), borrowed from the daemon's key bundle, which
	 * outlives every snapshot; NULL when not set. Only node_snap_own_tag() reads it.
	 */
	const uint8_t *own_ring_sk;
	/*
	 * A reference on the warninglists pcfg.warnlist points into (node/common/warnlists.h), or NULL;
	 * set with node_snap_set_warnlists().
	 */
	struct node_warnlists *warnlists;
	/* A reference on the vocabulary pcfg.tag_vocab points into, or NULL (node_snap_set_tagvocab()). */
	struct node_tagvocab *tagvocab;
};

/*
 * node_snap_new() - a snapshot with one reference. @pcfg is copied; @rosters (@n >= 1,
 * ascending epoch) are borrowed for the snapshot's life. Returns NULL when out of memory.
 */
struct node_snap *node_snap_new(const struct policy_config *pcfg,
				const struct proto_roster *const *rosters, size_t n);

/*
 * node_snap_set_warnlists() - take a reference on @w (NULL: none) and point pcfg.warnlist
 * at its list. Call once, right after node_snap_new(), on the loop thread.
 */
void node_snap_set_warnlists(struct node_snap *s, struct node_warnlists *w);

/*
 * node_snap_set_tagvocab() - take a reference on @t (NULL: none) and point pcfg.tag_vocab at
 * its vocabulary. Call once, right after node_snap_new(), on the loop thread.
 */
void node_snap_set_tagvocab(struct node_snap *s, struct node_tagvocab *t);

/* node_snap_ref()/node_snap_unref() - loop thread only; unref frees at zero. NULL-safe. */
struct node_snap *node_snap_ref(struct node_snap *s);
void node_snap_unref(struct node_snap *s);

/* node_snap_roster() - the roster of @epoch, or NULL. Any thread. */
const struct proto_roster *node_snap_roster(const struct node_snap *s, uint64_t epoch);

/*
 * node_snap_own_tag() - this node's linkability tag on indicator @ind_id into @tag, so that
 * local output can recognise its own anonymous reports (policy_strip_view()'s own_tag).
 * Costs one scalar multiplication: call it only when an anonymous report is at hand.
 * Returns 0, -ENOENT when @s has no own_ring_sk, or an error of proto_ring_tag(). Any thread.
 */
int node_snap_own_tag(const struct node_snap *s, const uint8_t ind_id[32], uint8_t tag[32]);

/* policy_roster_fn adapter: @ctx is a const struct node_snap *. */
const struct proto_roster *node_snap_roster_cb(void *ctx, uint64_t epoch);

#endif
