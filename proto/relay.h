/* SPDX-License-Identifier: MIT */
/*
 * proto/relay.h — the forwarding rule: what a node does with a copy of a report that came by
 * gossip (PUSH) or by the stem (STEM) once admission and the store have spoken. Sans I/O:
 * the caller passes the outcome and the wall clock.
 *
 *   PROTO_RELAY_FORWARD  pass it on (gossip: along the tree; stem: to the stem router). Only
 *                        a copy admitted and stored that is new to the store, or that was
 *                        stored shortly before by a path that bypasses the engine (catch-up,
 *                        the stem) and was created within PROTO_RELAY_FRESH_MS. An old report
 *                        already held is not relayed again: peers whose engines forgot it
 *                        would pass it on in a wave of duplicates.
 *   PROTO_RELAY_FORGET   refused for now (a rate limit, an internal failure): a later copy
 *                        may pass, so the engine must not remember it as seen.
 *   PROTO_RELAY_DISCARD  refused for good, or an old duplicate: the engine remembers it and
 *                        sends nothing.
 */
#ifndef CHATHAM_PROTO_RELAY_H
#define CHATHAM_PROTO_RELAY_H

#include <stdbool.h>
#include <stdint.h>

/* A copy stored before is relayed only when created this recently (10 minutes). */
#define PROTO_RELAY_FRESH_MS 600000

enum proto_relay {
	PROTO_RELAY_DISCARD = 0,
	PROTO_RELAY_FORWARD = 1,
	PROTO_RELAY_FORGET = 2,
};

struct proto_relay_outcome {
	bool stored;	     /* admitted, and stored now or held before */
	bool new_to_store;   /* stored now for the first time */
	bool retry_later;    /* refused for a passing cause (rate limit, internal failure) */
	uint64_t created_ms; /* the report's `created`, 0 if it did not decode */
};

/* proto_relay_decide() - the rule above for @o at wall-clock time @now_ms. Pure. */
enum proto_relay proto_relay_decide(const struct proto_relay_outcome *o, uint64_t now_ms);

#endif
