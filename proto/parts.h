/* SPDX-License-Identifier: MIT */
/*
 * proto/parts.h — joining a roster sent in ROSTER_PART link messages (proto/link.h, type 14),
 * sans I/O: one struct proto_parts per link collects the chunks in order and hands back the
 * joined roster bytes when the last one has come. The rules are the wire's: parts come in
 * order from index 0, every part names the same total, and a part out of order (or one that
 * takes the roster over @max bytes) discards what was joined so far. A new index 0 starts
 * over.
 *
 * What all links together may hold (proto_parts_trim()): an honest sender queues a roster's
 * parts back to back, so a partial roster that is still incomplete long after its first part
 * came is held by a member that never means to finish it. Several such members could
 * otherwise fill the memory the caller grants to partial rosters and keep every honest roster
 * that travels in parts (a new member, a key rotation, a revocation) from this node. So:
 *   - a partial whose first part came more than PROTO_PARTS_AGE_MAX_MS ago is dropped. The
 *     age runs from the first part's arrival, and the sender's FIFO send queue holds the
 *     parts back to back, so what it must cover is the roster's own transfer: a 1 MiB
 *     roster (PROTO_ROSTER_MAX_BYTES) takes 84 s at 100 kbit/s. A roster dropped for age
 *     costs an honest sender a resend on its next link up (other members send it too);
 *   - past the caller's pool bound, the partial that started LONGEST AGO is dropped (not the
 *     newcomer), until the rest fits. Starting over does not make a partial young: the start
 *     time of a link's partial is kept across a new index 0 and across its own eviction,
 *     and only a roster completed, an expiry or proto_parts_reset() clears it. A roster
 *     is thus evicted only after every partial that started before it.
 * After a drop, the remaining parts of that roster (same total, index > 0) are ignored
 * (PROTO_PARTS_SKIPPED), not taken for a sender's error: an honest sender's roster may be
 * dropped under pressure too.
 *
 * Thread rules: a struct proto_parts belongs to one thread at a time; no global state, no
 * clock (now_ms is passed in, any monotonic milliseconds).
 */
#ifndef CHATHAM_PROTO_PARTS_H
#define CHATHAM_PROTO_PARTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Age (ms since its first part) past which a partial roster is dropped (see above). */
#define PROTO_PARTS_AGE_MAX_MS 120000

struct proto_parts {
	uint8_t *buf; /* the chunks joined so far (malloc'd), NULL when none */
	size_t len;
	uint32_t next, total;
	uint64_t since_ms; /* when the first part of the current partial came (if @started) */
	bool started;	   /* a partial is being joined, or was dropped before it completed */
	bool skipping;	   /* dropped: ignore parts 1.. of @total until the next index 0 */
};

#define PROTO_PARTS_MORE 0    /* the part was taken; more are due */
#define PROTO_PARTS_DONE 1    /* the roster is complete */
#define PROTO_PARTS_SKIPPED 2 /* a later part of a roster dropped by proto_parts_trim() */

/*
 * proto_parts_add() - take part @index of @total (@p, @len bytes, borrowed) into @pp
 * (zero-initialised, or reset) at @now_ms. Returns PROTO_PARTS_MORE; PROTO_PARTS_SKIPPED
 * (nothing taken); PROTO_PARTS_DONE with *@out and *@out_len the joined bytes, owned by @pp
 * and valid until its next add or reset (the caller then resets it); or, with what was
 * joined dropped: -EPROTO for a part out of order (an index other than the next, 0
 * excepted, or a different total), PROTO_E_TOO_LARGE when the joined bytes would pass @max,
 * -ENOMEM.
 */
int proto_parts_add(struct proto_parts *pp, uint32_t index, uint32_t total, const uint8_t *p,
		    size_t len, size_t max, uint64_t now_ms, const uint8_t **out, size_t *out_len);

/* proto_parts_reset() - forget the parts joined so far (freeing them) and their start. */
void proto_parts_reset(struct proto_parts *pp);

/* What one proto_parts_trim() did. */
struct proto_parts_trimmed {
	size_t freed;	  /* bytes freed */
	uint32_t expired; /* partials dropped for their age */
	uint32_t evicted; /* partials dropped to bring the pool under its bound */
};

/*
 * proto_parts_trim() - enforce the bounds above over the partials @pp[0..@n) (every link's;
 * an entry may be NULL) at @now_ms: drop those older than PROTO_PARTS_AGE_MAX_MS, then,
 * while the bytes held pass @pool_max, the one that started longest ago (the lowest index
 * among equals). Adds what it did to *@res (may be NULL).
 */
void proto_parts_trim(struct proto_parts *const *pp, size_t n, size_t pool_max, uint64_t now_ms,
		      struct proto_parts_trimmed *res);

#endif
