/* SPDX-License-Identifier: MIT */
/*
 * node/overlay/gate.h — the pre-authentication pool of inbound connections (overlay.h
 * "Admission"): connections that have not yet presented a valid Noise message 1.
 *
 * The pool keeps its entries in arrival order, globally and per source address, so the
 * owner can bound both by closing the oldest entry: the oldest is the one most likely idle,
 * and a member's connection leaves the pool within one round trip of its arrival. Source
 * address = the IPv4 address, or the /64 prefix of an IPv6 address (one host usually holds a
 * whole /64).
 *
 * No I/O and no clock: entries are embedded in the owner's objects (container_of), and the
 * per-source table is a hash table keyed with a random seed (attacker-chosen addresses cannot
 * aim at one bucket). A zero-filled struct node_gate is an empty pool; node_gate_deinit()
 * releases the table once it is empty. Not thread-safe; the owner serialises calls.
 */
#ifndef CHATHAM_NODE_GATE_H
#define CHATHAM_NODE_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct node_gate_src;

/* Embedded in the owner's object; all fields belong to this module. */
struct node_gate_entry {
	struct node_gate_entry *prev, *next;   /* whole pool, oldest first */
	struct node_gate_entry *sprev, *snext; /* same source, oldest first */
	struct node_gate_src *src;	       /* NULL while not in a pool */
};

struct node_gate {
	struct node_gate_entry *head, *tail; /* oldest, newest */
	size_t n;			     /* entries */
	struct node_gate_src **buckets;	     /* per-source table, n_buckets (power of 2) */
	size_t n_buckets, n_srcs;
	uint8_t seed[16];
};

/*
 * node_gate_add() - append @e (not in any pool) as the newest entry of @g, from source
 * @peer (borrowed; AF_INET, AF_INET6, or AF_UNSPEC which counts as one source of its own).
 * Returns 0 or -ENOMEM (@e is then not added).
 */
int node_gate_add(struct node_gate *g, struct node_gate_entry *e,
		  const struct sockaddr_storage *peer);

/* node_gate_remove() - take @e out of @g. No-op when @e is not in a pool. */
void node_gate_remove(struct node_gate *g, struct node_gate_entry *e);

/* node_gate_in() - is @e in a pool? */
bool node_gate_in(const struct node_gate_entry *e);

/* node_gate_oldest() - the oldest entry of @g, NULL when empty. */
struct node_gate_entry *node_gate_oldest(const struct node_gate *g);

/* node_gate_source_count() - entries from @e's source (0 when @e is not in a pool). */
size_t node_gate_source_count(const struct node_gate_entry *e);

/* node_gate_source_oldest() - the oldest entry from @e's source (NULL when @e is not in). */
struct node_gate_entry *node_gate_source_oldest(const struct node_gate_entry *e);

/* node_gate_deinit() - free the table. @g must be empty; it is then zero-filled again. */
void node_gate_deinit(struct node_gate *g);

#endif
