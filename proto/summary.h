/* SPDX-License-Identifier: MIT */
/*
 * proto/summary.h — the aggregate state of one indicator, as the store keeps it and policy
 * strips it. It is defined here, below both, because store/ and policy/ may not see each
 * other (DESIGN.md §3). It holds no member identities: only counts and times.
 *
 * Votes: one per (indicator, signer id or linkability tag), the newest `created` wins. An
 * `indicator` or `false_positive` report sets the member's vote, a `revoke` removes it.
 * Sightings are counted per distinct sighting report and never replace a vote.
 */
#ifndef CHATHAM_PROTO_SUMMARY_H
#define CHATHAM_PROTO_SUMMARY_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/indicator.h"

enum proto_summary_state {
	PROTO_SUMMARY_ACTIVE = 0,    /* at least one live `indicator` vote */
	PROTO_SUMMARY_WITHDRAWN = 1, /* every `indicator` vote was revoked or turned FP */
	PROTO_SUMMARY_EXPIRED = 2,   /* every live vote passed its valid_until */
	PROTO_SUMMARY_OBSERVED = 3,  /* only sightings/false positives so far, never reported */
};

struct proto_summary {
	uint8_t ind_id[32];
	struct proto_indicator ind;
	uint8_t state;		   /* enum proto_summary_state */
	uint8_t tlp;		   /* strictest TLP of the reports counted below (enum proto_tlp) */
	uint8_t confidence;	   /* maximum confidence among live `indicator` votes */
	uint64_t first_seen_ms;	   /* smallest `created` of any report on the indicator */
	uint64_t last_seen_ms;	   /* largest `created` of any report on the indicator */
	uint64_t valid_until_ms;   /* latest valid_until among live votes; 0 = no expiry */
	uint32_t n_members;	   /* live `indicator` votes (distinct signer ids and tags) */
	uint32_t n_false_positive; /* live `false_positive` votes */
	uint32_t n_sightings;	   /* distinct sighting reports */
	uint32_t n_reports;	   /* distinct reports of any kind */
	uint64_t feed_seq;	   /* feed sequence of the last change */
};

#endif
