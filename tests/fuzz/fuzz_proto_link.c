/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness: link message decoding (proto/link.h). Aborts when an invariant breaks:
 *   - a result outside 0 / the documented negative codes;
 *   - an accepted message does not re-encode to exactly the input bytes (the decoder
 *     accepts canonical encodings only, so decode is injective and encode inverts it);
 *     the one exception is a HELLO carrying ignored extension keys, which must then
 *     re-encode to something shorter that decodes to the same fields;
 *   - views (bin payloads, ids) point outside the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"
#include "proto/link.h"

static int reencode(const struct proto_link_msg *m, uint8_t **out, size_t *len)
{
	switch (m->type) {
	case PROTO_LINK_HELLO:
		return proto_link_encode_hello(&m->u.hello, out, len);
	case PROTO_LINK_PING:
	case PROTO_LINK_PONG:
		return proto_link_encode_nonce(m->type, m->u.nonce, out, len);
	case PROTO_LINK_REKEY:
	case PROTO_LINK_PRUNE:
		return proto_link_encode_bare(m->type, out, len);
	case PROTO_LINK_ACK:
		return proto_link_encode_ack(m->u.id, out, len);
	case PROTO_LINK_NOTICE_ACK:
		return proto_link_encode_notice_ack(m->u.notice_id, out, len);
	case PROTO_LINK_NOTICE_REFUSED:
		return proto_link_encode_notice_refused(m->u.refused.id, m->u.refused.reason, out,
							len);
	case PROTO_LINK_ROSTER_PART:
		return proto_link_encode_part(m->u.part.index, m->u.part.total, m->u.part.p,
					      m->u.part.len, out, len);
	case PROTO_LINK_IHAVE:
	case PROTO_LINK_GRAFT:
	case PROTO_LINK_FETCH: {
		uint8_t(*ids)[32] = malloc(m->u.ids.n * 32);
		int rc;

		if (!ids)
			abort();
		for (size_t i = 0; i < m->u.ids.n; i++)
			memcpy(ids[i], proto_link_id(m, i), 32);
		rc = proto_link_encode_ids(m->type, (const uint8_t(*)[32])ids, m->u.ids.n, out,
					   len);
		free(ids);
		return rc;
	}
	default:
		return proto_link_encode_bin(m->type, m->u.bin.p, m->u.bin.len, out, len);
	}
}

static void check_views(const struct proto_link_msg *m, const uint8_t *data, size_t size)
{
	const uint8_t *end = data + size;

	switch (m->type) {
	case PROTO_LINK_IHAVE:
	case PROTO_LINK_GRAFT:
	case PROTO_LINK_FETCH:
		if (m->u.ids.n == 0 || m->u.ids.n > PROTO_LINK_IDS_MAX)
			abort();
		if (proto_link_id(m, 0) < data || proto_link_id(m, m->u.ids.n - 1) + 32 > end)
			abort();
		break;
	case PROTO_LINK_PUSH:
	case PROTO_LINK_DIRECT:
	case PROTO_LINK_STEM:
	case PROTO_LINK_RECON:
	case PROTO_LINK_ROSTER:
	case PROTO_LINK_CATCHUP:
	case PROTO_LINK_NOTICE:
		if (m->u.bin.len == 0 || m->u.bin.p < data || m->u.bin.p + m->u.bin.len > end)
			abort();
		break;
	case PROTO_LINK_ROSTER_PART:
		if (m->u.part.len == 0 || m->u.part.len > PROTO_LINK_PART_MAX ||
		    m->u.part.index >= m->u.part.total || m->u.part.p < data ||
		    m->u.part.p + m->u.part.len > end)
			abort();
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_link_msg m, again;
	uint8_t *out;
	size_t len;
	int rc = proto_link_decode(&m, data, size);

	if (rc > 0 || (rc < 0 && rc > -1000) || (rc < 0 && rc < -1599))
		abort();
	if (rc)
		return 0;
	if (m.type >= PROTO_LINK_TYPE_COUNT)
		abort();
	check_views(&m, data, size);
	if (reencode(&m, &out, &len) != 0)
		abort();
	if (m.type == PROTO_LINK_HELLO && m.u.hello.n_ext > 0) {
		if (len >= size || proto_link_decode(&again, out, len) != 0 ||
		    again.u.hello.version != m.u.hello.version ||
		    again.u.hello.roster_epoch != m.u.hello.roster_epoch ||
		    memcmp(again.u.hello.member_id, m.u.hello.member_id, 32) != 0 ||
		    again.u.hello.n_ext != 0)
			abort();
	} else if (len != size || memcmp(out, data, size) != 0) {
		abort();
	}
	free(out);
	return 0;
}
