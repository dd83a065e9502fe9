/* SPDX-License-Identifier: MIT */
/*
 * proto/parts.h — joining a roster sent in ROSTER_PART link messages (proto/link.h, type 14),
 * sans I/O: one struct proto_parts per link collects the chunks in order and hands back the
 * joined roster bytes when the last one has come. The rules are the wire's: parts come in
 * order from index 0, every part names the same total, and a part out of order (or one that
 * takes the roster over @max bytes) discards what was joined so far. A new index 0 starts
 * over. How much memory all links together may hold is the caller's policy.
 *
 * Thread rules: a struct proto_parts belongs to one thread at a time; no global state.
 */
#ifndef CHATHAM_PROTO_PARTS_H
#define CHATHAM_PROTO_PARTS_H

#include <stddef.h>
#include <stdint.h>

struct proto_parts {
	uint8_t *buf; /* the chunks joined so far (malloc'd), NULL when none */
	size_t len;
	uint32_t next, total;
};

#define PROTO_PARTS_MORE 0 /* the part was taken; more are due */
#define PROTO_PARTS_DONE 1 /* the roster is complete */

/*
 * proto_parts_add() - take part @index of @total (@p, @len bytes, borrowed) into @pp
 * (zero-initialised, or reset). Returns PROTO_PARTS_MORE; PROTO_PARTS_DONE with *@out and
 * *@out_len the joined bytes, owned by @pp and valid until its next add or reset (the caller
 * then resets it); or, with what was joined dropped: -EPROTO for a part out of order (an
 * index other than the next, 0 excepted, or a different total), PROTO_E_TOO_LARGE when the
 * joined bytes would pass @max, -ENOMEM.
 */
int proto_parts_add(struct proto_parts *pp, uint32_t index, uint32_t total, const uint8_t *p,
		    size_t len, size_t max, const uint8_t **out, size_t *out_len);

/* proto_parts_reset() - forget the parts joined so far (freeing them). */
void proto_parts_reset(struct proto_parts *pp);

#endif
