/* SPDX-License-Identifier: MIT */
#include "proto/parts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"

void proto_parts_reset(struct proto_parts *pp)
{
	free(pp->buf);
	memset(pp, 0, sizeof(*pp));
}

/* Free the bytes joined so far, keeping the start time (proto_parts.h: no renewal). */
static void drop_bytes(struct proto_parts *pp)
{
	free(pp->buf);
	pp->buf = NULL;
	pp->len = 0;
	pp->next = 0;
}

int proto_parts_add(struct proto_parts *pp, uint32_t index, uint32_t total, const uint8_t *p,
		    size_t len, size_t max, uint64_t now_ms, const uint8_t **out, size_t *out_len)
{
	uint8_t *grown;

	if (index == 0) {
		drop_bytes(pp);
		if (!pp->started)
			pp->since_ms = now_ms;
		pp->started = true;
		pp->skipping = false;
		pp->total = total;
	} else if (pp->skipping && total == pp->total) {
		return PROTO_PARTS_SKIPPED;
	} else if (!pp->buf || index != pp->next || total != pp->total) {
		drop_bytes(pp);
		pp->skipping = false;
		return -EPROTO;
	}
	if (index >= total || len > max - pp->len) {
		drop_bytes(pp);
		return index >= total ? -EPROTO : PROTO_E_TOO_LARGE;
	}
	grown = realloc(pp->buf, pp->len + len ? pp->len + len : 1);
	if (!grown) {
		drop_bytes(pp);
		return -ENOMEM;
	}
	if (len)
		memcpy(grown + pp->len, p, len);
	pp->buf = grown;
	pp->len += len;
	pp->next = index + 1;
	if (pp->next < total)
		return PROTO_PARTS_MORE;
	*out = pp->buf;
	*out_len = pp->len;
	return PROTO_PARTS_DONE;
}

/* Drop @pp's bytes; its later parts are skipped. Returns the bytes freed. */
static size_t drop(struct proto_parts *pp)
{
	size_t len = pp->len;

	drop_bytes(pp);
	pp->skipping = true;
	return len;
}

void proto_parts_trim(struct proto_parts *const *pp, size_t n, size_t pool_max, uint64_t now_ms,
		      struct proto_parts_trimmed *res)
{
	struct proto_parts_trimmed r = {0};
	size_t held = 0;

	for (size_t i = 0; i < n; i++) {
		if (!pp[i] || !pp[i]->started)
			continue;
		if (now_ms > pp[i]->since_ms && now_ms - pp[i]->since_ms > PROTO_PARTS_AGE_MAX_MS) {
			if (pp[i]->buf) {
				r.freed += drop(pp[i]);
				r.expired++;
			}
			pp[i]->started = false;
		}
		held += pp[i]->len;
	}
	while (held > pool_max) {
		size_t oldest = n;

		for (size_t i = 0; i < n; i++)
			if (pp[i] && pp[i]->buf &&
			    (oldest == n || pp[i]->since_ms < pp[oldest]->since_ms))
				oldest = i;
		if (oldest == n)
			break;
		held -= pp[oldest]->len;
		r.freed += drop(pp[oldest]);
		r.evicted++;
	}
	if (res) {
		res->freed += r.freed;
		res->expired += r.expired;
		res->evicted += r.evicted;
	}
}
