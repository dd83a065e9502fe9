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

int proto_parts_add(struct proto_parts *pp, uint32_t index, uint32_t total, const uint8_t *p,
		    size_t len, size_t max, const uint8_t **out, size_t *out_len)
{
	uint8_t *grown;

	if (index == 0) {
		proto_parts_reset(pp);
		pp->total = total;
	} else if (!pp->buf || index != pp->next || total != pp->total) {
		proto_parts_reset(pp);
		return -EPROTO;
	}
	if (index >= total || len > max - pp->len) {
		proto_parts_reset(pp);
		return index >= total ? -EPROTO : PROTO_E_TOO_LARGE;
	}
	grown = realloc(pp->buf, pp->len + len ? pp->len + len : 1);
	if (!grown) {
		proto_parts_reset(pp);
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
