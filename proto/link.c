/* SPDX-License-Identifier: MIT */
/*
 * Link message codec on the shared canonical msgpack reader and writer (proto/mp.h).
 *
 * The decoder reads the array header and the type, then exactly the elements that type
 * defines; an element count that does not match is refused before any element is read,
 * so one table (expected_count) decides the shape of every message.
 *
 * Id lists are not copied: a canonical bin 32 is always c4 20 followed by the 32 bytes,
 * so after validating every element the list is a fixed-stride view into the input.
 */
#include "proto/link.h"

#include "proto/error.h"
#include "proto/mp.h"
#include "proto/notice.h"
#include "proto/report.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define ID_STRIDE (2 + PROTO_LINK_ID_LEN) /* bin8 header + 32 bytes */
#define HELLO_KEYS_MAX 16
#define EXT_DEPTH_MAX 4
#define EXT_COUNT_MAX 64

static const char *const type_names[PROTO_LINK_TYPE_COUNT] = {
	[PROTO_LINK_HELLO] = "HELLO",
	[PROTO_LINK_PING] = "PING",
	[PROTO_LINK_PONG] = "PONG",
	[PROTO_LINK_REKEY] = "REKEY",
	[PROTO_LINK_PUSH] = "PUSH",
	[PROTO_LINK_IHAVE] = "IHAVE",
	[PROTO_LINK_GRAFT] = "GRAFT",
	[PROTO_LINK_PRUNE] = "PRUNE",
	[PROTO_LINK_DIRECT] = "DIRECT",
	[PROTO_LINK_ACK] = "ACK",
	[PROTO_LINK_STEM] = "STEM",
	[PROTO_LINK_RECON] = "RECON",
	[PROTO_LINK_ROSTER] = "ROSTER",
	[PROTO_LINK_FETCH] = "FETCH",
	[PROTO_LINK_ROSTER_PART] = "ROSTER_PART",
	[PROTO_LINK_CATCHUP] = "CATCHUP",
	[PROTO_LINK_OPRF_EVAL] = "OPRF_EVAL",
	[PROTO_LINK_OPRF_ANSWER] = "OPRF_ANSWER",
	[PROTO_LINK_SEALED] = "SEALED",
	[PROTO_LINK_OPRF_HOLDER] = "OPRF_HOLDER",
	[PROTO_LINK_NOTICE] = "NOTICE",
	[PROTO_LINK_NOTICE_ACK] = "NOTICE_ACK",
	[PROTO_LINK_NOTICE_REFUSED] = "NOTICE_REFUSED",
};

const char *proto_link_type_name(uint64_t type)
{
	return type < PROTO_LINK_TYPE_COUNT && type_names[type] ? type_names[type] : "UNKNOWN";
}

static bool is_sealed_type(enum proto_link_type t)
{
	return t == PROTO_LINK_OPRF_EVAL || t == PROTO_LINK_OPRF_ANSWER || t == PROTO_LINK_SEALED ||
	       t == PROTO_LINK_OPRF_HOLDER;
}

static bool is_bin_type(enum proto_link_type t)
{
	return t == PROTO_LINK_PUSH || t == PROTO_LINK_DIRECT || t == PROTO_LINK_STEM ||
	       t == PROTO_LINK_RECON || t == PROTO_LINK_ROSTER || t == PROTO_LINK_CATCHUP ||
	       is_sealed_type(t) || t == PROTO_LINK_NOTICE;
}

/* Payload limit per bin type: reports are bounded by their own codec's limit. */
_Static_assert(PROTO_NOTICE_MAX_BYTES <= PROTO_LINK_BIN_MAX, "a notice fits one NOTICE message");

static size_t bin_max(enum proto_link_type t)
{
	if (t == PROTO_LINK_NOTICE)
		return PROTO_NOTICE_MAX_BYTES;
	return t == PROTO_LINK_RECON || t == PROTO_LINK_ROSTER || is_sealed_type(t)
		       ? PROTO_LINK_BIN_MAX
		       : PROTO_REPORT_MAX_BYTES;
}

static bool is_ids_type(enum proto_link_type t)
{
	return t == PROTO_LINK_IHAVE || t == PROTO_LINK_GRAFT || t == PROTO_LINK_FETCH;
}

/* Array length (type included) that each message type must have. */
static size_t expected_count(enum proto_link_type t)
{
	if (t == PROTO_LINK_ROSTER_PART)
		return 4;
	if (t == PROTO_LINK_NOTICE_REFUSED)
		return 3;
	return t == PROTO_LINK_REKEY || t == PROTO_LINK_PRUNE ? 1 : 2;
}

static bool part_ok(uint64_t index, uint64_t total)
{
	return total >= 2 && total <= PROTO_LINK_PARTS_MAX && index < total;
}

/* Encoding ---------------------------------------------------------------------------- */

int proto_link_encode_hello(const struct proto_link_hello *h, uint8_t **out, size_t *out_len)
{
	struct proto_mp_writer w;
	bool range;

	if (!h)
		return -EINVAL;
	if (h->version == 0 || h->min_version > h->version)
		return PROTO_E_RANGE;
	/*
	 * Key 3 only when it says something: a HELLO of a node that speaks one version stays
	 * byte for byte what version 1 nodes have always sent.
	 */
	range = h->min_version != 0 && h->min_version < h->version;
	proto_mp_writer_init(&w);
	proto_mp_write_array(&w, 2);
	proto_mp_write_uint(&w, PROTO_LINK_HELLO);
	proto_mp_write_map(&w, range ? 4 : 3);
	proto_mp_write_uint(&w, 0);
	proto_mp_write_uint(&w, h->version);
	proto_mp_write_uint(&w, 1);
	proto_mp_write_bin(&w, h->member_id, sizeof(h->member_id));
	proto_mp_write_uint(&w, 2);
	proto_mp_write_uint(&w, h->roster_epoch);
	if (range) {
		proto_mp_write_uint(&w, 3);
		proto_mp_write_uint(&w, h->min_version);
	}
	return proto_mp_writer_finish(&w, out, out_len);
}

bool proto_link_version_agree(const struct proto_link_hello *ours,
			      const struct proto_link_hello *theirs, uint64_t *agreed)
{
	uint64_t our_min = ours->min_version ? ours->min_version : ours->version;
	uint64_t their_min = theirs->min_version ? theirs->min_version : theirs->version;
	uint64_t v = ours->version < theirs->version ? ours->version : theirs->version;

	if (v < our_min || v < their_min)
		return false;
	*agreed = v;
	return true;
}

int proto_link_encode_nonce(enum proto_link_type type, uint64_t nonce, uint8_t **out,
			    size_t *out_len)
{
	struct proto_mp_writer w;

	if (type != PROTO_LINK_PING && type != PROTO_LINK_PONG)
		return -EINVAL;
	proto_mp_writer_init(&w);
	proto_mp_write_array(&w, 2);
	proto_mp_write_uint(&w, type);
	proto_mp_write_uint(&w, nonce);
	return proto_mp_writer_finish(&w, out, out_len);
}

int proto_link_encode_bare(enum proto_link_type type, uint8_t **out, size_t *out_len)
{
	struct proto_mp_writer w;

	if (type != PROTO_LINK_REKEY && type != PROTO_LINK_PRUNE)
		return -EINVAL;
	proto_mp_writer_init(&w);
	proto_mp_write_array(&w, 1);
	proto_mp_write_uint(&w, type);
	return proto_mp_writer_finish(&w, out, out_len);
}

int proto_link_encode_bin(enum proto_link_type type, const uint8_t *p, size_t len, uint8_t **out,
			  size_t *out_len)
{
	struct proto_mp_writer w;

	if (!is_bin_type(type) || (!p && len))
		return -EINVAL;
	if (len == 0)
		return PROTO_E_EMPTY;
	if (len > bin_max(type))
		return PROTO_E_TOO_LARGE;
	proto_mp_writer_init(&w);
	proto_mp_write_array(&w, 2);
	proto_mp_write_uint(&w, type);
	proto_mp_write_bin(&w, p, len);
	return proto_mp_writer_finish(&w, out, out_len);
}

int proto_link_encode_ids(enum proto_link_type type, const uint8_t (*ids)[32], size_t n,
			  uint8_t **out, size_t *out_len)
{
	struct proto_mp_writer w;

	if (!is_ids_type(type) || (!ids && n))
		return -EINVAL;
	if (n == 0)
		return PROTO_E_EMPTY;
	if (n > PROTO_LINK_IDS_MAX)
		return PROTO_E_TOO_LARGE;
	proto_mp_writer_init(&w);
	proto_mp_write_array(&w, 2);
	proto_mp_write_uint(&w, type);
	proto_mp_write_array(&w, n);
	for (size_t i = 0; i < n; i++)
		proto_mp_write_bin(&w, ids[i], PROTO_LINK_ID_LEN);
	return proto_mp_writer_finish(&w, out, out_len);
}

int proto_link_encode_ack(const uint8_t id[32], uint8_t **out, size_t *out_len)
{
	struct proto_mp_writer w;

	if (!id)
		return -EINVAL;
	proto_mp_writer_init(&w);
	proto_mp_write_array(&w, 2);
	proto_mp_write_uint(&w, PROTO_LINK_ACK);
	proto_mp_write_bin(&w, id, PROTO_LINK_ID_LEN);
	return proto_mp_writer_finish(&w, out, out_len);
}

int proto_link_encode_notice_ack(const uint8_t id[16], uint8_t **out, size_t *out_len)
{
	struct proto_mp_writer w;

	if (!id)
		return -EINVAL;
	proto_mp_writer_init(&w);
	proto_mp_write_array(&w, 2);
	proto_mp_write_uint(&w, PROTO_LINK_NOTICE_ACK);
	proto_mp_write_bin(&w, id, 16);
	return proto_mp_writer_finish(&w, out, out_len);
}

int proto_link_encode_notice_refused(const uint8_t id[16], uint8_t reason, uint8_t **out,
				     size_t *out_len)
{
	struct proto_mp_writer w;

	if (!id)
		return -EINVAL;
	if (reason == 0)
		return PROTO_E_RANGE;
	proto_mp_writer_init(&w);
	proto_mp_write_array(&w, 3);
	proto_mp_write_uint(&w, PROTO_LINK_NOTICE_REFUSED);
	proto_mp_write_bin(&w, id, 16);
	proto_mp_write_uint(&w, reason);
	return proto_mp_writer_finish(&w, out, out_len);
}

int proto_link_encode_part(uint32_t index, uint32_t total, const uint8_t *p, size_t len,
			   uint8_t **out, size_t *out_len)
{
	struct proto_mp_writer w;

	if (!p && len)
		return -EINVAL;
	if (!part_ok(index, total))
		return PROTO_E_RANGE;
	if (len == 0)
		return PROTO_E_EMPTY;
	if (len > PROTO_LINK_PART_MAX)
		return PROTO_E_TOO_LARGE;
	proto_mp_writer_init(&w);
	proto_mp_write_array(&w, 4);
	proto_mp_write_uint(&w, PROTO_LINK_ROSTER_PART);
	proto_mp_write_uint(&w, index);
	proto_mp_write_uint(&w, total);
	proto_mp_write_bin(&w, p, len);
	return proto_mp_writer_finish(&w, out, out_len);
}

/* Decoding ---------------------------------------------------------------------------- */

static int decode_part(struct proto_mp_reader *r, struct proto_link_msg *m)
{
	uint64_t index, total;
	size_t len;
	int err;

	if ((err = proto_mp_read_uint(r, &index)) || (err = proto_mp_read_uint(r, &total)))
		return err;
	if (!part_ok(index, total))
		return PROTO_E_RANGE;
	if ((err = proto_mp_read_bin(r, PROTO_LINK_PART_MAX, &m->u.part.p, &len)))
		return err;
	if (len == 0)
		return PROTO_E_EMPTY;
	m->u.part.index = (uint32_t)index;
	m->u.part.total = (uint32_t)total;
	m->u.part.len = len;
	return 0;
}

/*
 * Validate and skip one HELLO extension value. Only the canonical value kinds are allowed
 * (uint, bool, str, bin, array, map with ascending uint keys); nesting and counts are
 * bounded so a hostile peer cannot make this loop long or deep.
 */
static int skip_value(struct proto_mp_reader *r, int depth)
{
	const char *s;
	const uint8_t *p;
	size_t n;
	uint64_t u;
	bool b;
	uint8_t t;
	int err;

	if (depth > EXT_DEPTH_MAX)
		return PROTO_E_DEPTH;
	if (r->p >= r->end)
		return PROTO_E_TRUNCATED;
	t = r->p[0];
	if (t <= 0x7f || (t >= 0xcc && t <= 0xcf))
		return proto_mp_read_uint(r, &u);
	if (t == 0xc2 || t == 0xc3)
		return proto_mp_read_bool(r, &b);
	if ((t >= 0xa0 && t <= 0xbf) || (t >= 0xd9 && t <= 0xdb))
		return proto_mp_read_str(r, PROTO_LINK_MAX_BYTES, &s, &n);
	if (t >= 0xc4 && t <= 0xc6)
		return proto_mp_read_bin(r, PROTO_LINK_MAX_BYTES, &p, &n);
	if ((t >= 0x90 && t <= 0x9f) || t == 0xdc || t == 0xdd) {
		err = proto_mp_read_array(r, EXT_COUNT_MAX, &n);
		for (size_t i = 0; !err && i < n; i++)
			err = skip_value(r, depth + 1);
		return err;
	}
	if ((t >= 0x80 && t <= 0x8f) || t == 0xde || t == 0xdf) {
		struct proto_mp_map m;

		err = proto_mp_map_begin(r, &m, EXT_COUNT_MAX);
		while (!err && (err = proto_mp_map_next(r, &m, &u)) > 0)
			err = skip_value(r, depth + 1);
		return err;
	}
	/* Floats, nil, ext, negative ints: let the reader name the reason. */
	return proto_mp_read_uint(r, &u);
}

static int decode_hello(struct proto_mp_reader *r, struct proto_link_hello *h)
{
	struct proto_mp_map m;
	uint64_t key;
	unsigned seen = 0;
	int err;

	memset(h, 0, sizeof(*h));
	err = proto_mp_map_begin(r, &m, HELLO_KEYS_MAX);
	while (!err && (err = proto_mp_map_next(r, &m, &key)) > 0) {
		/* Keys ascend, so a required key is missing exactly when a later one comes first. */
		if (seen < 3 && key != seen)
			return PROTO_E_KEY_MISSING;
		switch (key) {
		case 0:
			err = proto_mp_read_uint(r, &h->version);
			if (!err && h->version == 0)
				err = PROTO_E_RANGE;
			break;
		case 1:
			err = proto_mp_read_bin_fixed(r, h->member_id, sizeof(h->member_id));
			break;
		case 2:
			err = proto_mp_read_uint(r, &h->roster_epoch);
			break;
		case 3:
			/* Written only when it says something (oldest < newest): one encoding. */
			err = proto_mp_read_uint(r, &h->min_version);
			if (!err && (h->min_version == 0 || h->min_version >= h->version))
				err = PROTO_E_RANGE;
			break;
		default:
			err = skip_value(r, 1);
			h->n_ext++;
			break;
		}
		if (seen < 3)
			seen++;
	}
	if (err)
		return err;
	return seen < 3 ? PROTO_E_KEY_MISSING : 0;
}

static int decode_ids(struct proto_mp_reader *r, struct proto_link_msg *m)
{
	size_t n;
	int err = proto_mp_read_array(r, PROTO_LINK_IDS_MAX, &n);

	if (err)
		return err;
	if (n == 0)
		return PROTO_E_EMPTY;
	m->u.ids.p = r->p;
	m->u.ids.n = n;
	for (size_t i = 0; i < n; i++) {
		uint8_t id[PROTO_LINK_ID_LEN];

		err = proto_mp_read_bin_fixed(r, id, sizeof(id));
		if (err)
			return err;
	}
	return 0;
}

static int decode_refused(struct proto_mp_reader *r, struct proto_link_msg *m)
{
	uint64_t reason;
	int err = proto_mp_read_bin_fixed(r, m->u.refused.id, sizeof(m->u.refused.id));

	if (!err)
		err = proto_mp_read_uint(r, &reason);
	if (!err && (reason == 0 || reason > UINT8_MAX))
		err = PROTO_E_RANGE;
	if (!err)
		m->u.refused.reason = (uint8_t)reason;
	return err;
}

int proto_link_decode(struct proto_link_msg *m, const uint8_t *buf, size_t len)
{
	struct proto_mp_reader r;
	uint64_t type;
	size_t n, blen;
	int err;

	if (len > PROTO_LINK_MAX_BYTES)
		return PROTO_E_TOO_LARGE;
	proto_mp_reader_init(&r, buf, len);
	err = proto_mp_read_array(&r, 16, &n);
	if (err)
		return err;
	if (n == 0)
		return PROTO_E_LINK_MSG;
	err = proto_mp_read_uint(&r, &type);
	if (err)
		return err;
	if (type >= PROTO_LINK_TYPE_COUNT || !type_names[type] ||
	    n != expected_count((enum proto_link_type)type))
		return PROTO_E_LINK_MSG;
	memset(m, 0, sizeof(*m));
	m->type = (enum proto_link_type)type;

	switch (m->type) {
	case PROTO_LINK_HELLO:
		err = decode_hello(&r, &m->u.hello);
		break;
	case PROTO_LINK_PING:
	case PROTO_LINK_PONG:
		err = proto_mp_read_uint(&r, &m->u.nonce);
		break;
	case PROTO_LINK_REKEY:
	case PROTO_LINK_PRUNE:
		break;
	case PROTO_LINK_ACK:
		err = proto_mp_read_bin_fixed(&r, m->u.id, sizeof(m->u.id));
		break;
	case PROTO_LINK_NOTICE_ACK:
		err = proto_mp_read_bin_fixed(&r, m->u.notice_id, sizeof(m->u.notice_id));
		break;
	case PROTO_LINK_NOTICE_REFUSED:
		err = decode_refused(&r, m);
		break;
	case PROTO_LINK_IHAVE:
	case PROTO_LINK_GRAFT:
	case PROTO_LINK_FETCH:
		err = decode_ids(&r, m);
		break;
	case PROTO_LINK_ROSTER_PART:
		err = decode_part(&r, m);
		break;
	default: /* the bin types */
		err = proto_mp_read_bin(&r, bin_max(m->type), &m->u.bin.p, &blen);
		m->u.bin.len = blen;
		if (!err && blen == 0)
			err = PROTO_E_EMPTY;
		break;
	}
	if (err)
		return err;
	return proto_mp_reader_finish(&r);
}

const uint8_t *proto_link_id(const struct proto_link_msg *m, size_t i)
{
	return m->u.ids.p + i * ID_STRIDE + 2;
}
