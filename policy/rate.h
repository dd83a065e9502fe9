/* SPDX-License-Identifier: MIT */
/*
 * policy/rate.h — per-member token buckets for admitted reports.
 *
 * A member may sign as many valid reports as it likes; this bounds how fast any one of them
 * reaches this node's store and, through it, the rest of the community. Each key (a signer's
 * member id, or for anonymous reports the member whose link delivered them) owns a bucket of
 * @burst reports that refills at @per_min reports per minute; a report that finds its bucket
 * empty is refused (POLICY_REJECT_RATE_LIMITED) and may come again later through catch-up,
 * so a limit delays reports but loses none.
 *
 * Pure bookkeeping: time is a parameter, no I/O, no locking (callers that share a table
 * between threads serialise the calls). A key whose bucket has refilled completely carries
 * no state, so such entries are dropped whenever the table is rebuilt: its size follows the
 * members that are over or near their limit, not every member ever seen.
 */
#ifndef CHATHAM_POLICY_RATE_H
#define CHATHAM_POLICY_RATE_H

#include <stdint.h>

struct policy_rate_config {
	uint32_t per_min; /* refill rate in reports per minute; 0 = unlimited */
	uint32_t burst;	  /* bucket size in reports, >= 1 when per_min > 0 */
};

struct policy_rate;

/* policy_rate_new() - an empty table with @cfg; NULL on out of memory. */
struct policy_rate *policy_rate_new(const struct policy_rate_config *cfg);

/* policy_rate_set_config() - new limits; buckets keep their tokens, cut to the new burst. */
void policy_rate_set_config(struct policy_rate *r, const struct policy_rate_config *cfg);

/*
 * policy_rate_take() - take one report from @key's bucket at @now_ms (monotonic or wall
 * milliseconds; a clock that steps back refills nothing). Returns 1 when the report may
 * pass, 0 when the bucket is empty, -ENOMEM when a new key could not be recorded.
 */
int policy_rate_take(struct policy_rate *r, const uint8_t key[32], uint64_t now_ms);

/* policy_rate_entries() - keys currently holding state (for status and tests). */
uint64_t policy_rate_entries(const struct policy_rate *r);

void policy_rate_free(struct policy_rate *r);

#endif
