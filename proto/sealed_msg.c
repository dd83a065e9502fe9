/* SPDX-License-Identifier: MIT */
/*
 * Sealed-sighting link payloads (proto/sealed_msg.h). Keys are read in order with an
 * expectation per position, so every accepted input has exactly one encoding and the
 * encoders reproduce it (the fuzz harness checks that round trip).
 */
#include "proto/sealed_msg.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "proto/error.h"
#include "proto/mp.h"
#include "proto/ring.h"
#include "proto/roster.h"

const char *proto_sealed_status_str(unsigned status)
{
	switch (status) {
	case PROTO_SEALED_OK:
		return "ok";
	case PROTO_SEALED_NO_SHARE:
		return "no share";
	case PROTO_SEALED_QUOTA:
		return "quota exhausted";
	case PROTO_SEALED_REFUSED:
		return "refused";
	default:
		return "unknown";
	}
}

static void write_points(struct proto_mp_writer *w, const uint8_t (*p)[32], size_t m)
{
	proto_mp_write_array(w, m);
	for (size_t i = 0; i < m; i++)
		proto_mp_write_bin(w, p[i], 32);
}

int proto_sealed_eval_encode(const struct proto_sealed_eval *e, uint8_t **out, size_t *out_len)
{
	struct proto_mp_writer w;

	if (e->m == 0 || e->m > PROTO_SEALED_MSG_BATCH_MAX)
		return -EINVAL;
	proto_mp_writer_init(&w);
	proto_mp_write_map(&w, 2);
	proto_mp_write_uint(&w, 0);
	proto_mp_write_uint(&w, e->req);
	proto_mp_write_uint(&w, 1);
	write_points(&w, e->in, e->m);
	return proto_mp_writer_finish(&w, out, out_len);
}

int proto_sealed_answer_encode(const struct proto_sealed_answer *a, uint8_t **out, size_t *out_len)
{
	struct proto_mp_writer w;
	bool ok = a->status == PROTO_SEALED_OK;

	if ((unsigned)a->status > PROTO_SEALED_STATUS_MAX || a->index > PROTO_ROSTER_STEWARDS_MAX ||
	    (ok && (a->m == 0 || a->m > PROTO_SEALED_MSG_BATCH_MAX || a->index == 0)) ||
	    (!ok && a->m != 0) || ((a->status == PROTO_SEALED_NO_SHARE) != (a->index == 0)))
		return -EINVAL;
	proto_mp_writer_init(&w);
	proto_mp_write_map(&w, ok ? 6 : 4);
	proto_mp_write_uint(&w, 0);
	proto_mp_write_uint(&w, a->req);
	proto_mp_write_uint(&w, 1);
	proto_mp_write_uint(&w, a->status);
	proto_mp_write_uint(&w, 2);
	proto_mp_write_uint(&w, a->index);
	proto_mp_write_uint(&w, 3);
	proto_mp_write_uint(&w, a->quota_left);
	if (ok) {
		proto_mp_write_uint(&w, 4);
		write_points(&w, a->out, a->m);
		proto_mp_write_uint(&w, 5);
		proto_mp_write_bin(&w, a->proof, PROTO_OPRF_PROOF_BYTES);
	}
	return proto_mp_writer_finish(&w, out, out_len);
}

int proto_sealed_holder_encode(uint32_t index, uint64_t generation, uint8_t **out, size_t *out_len)
{
	struct proto_mp_writer w;

	if (index == 0 || index > PROTO_ROSTER_STEWARDS_MAX)
		return -EINVAL;
	proto_mp_writer_init(&w);
	proto_mp_write_map(&w, 1 + (generation > 0));
	proto_mp_write_uint(&w, 0);
	proto_mp_write_uint(&w, index);
	if (generation > 0) {
		proto_mp_write_uint(&w, 1);
		proto_mp_write_uint(&w, generation);
	}
	return proto_mp_writer_finish(&w, out, out_len);
}

/* An array of 1..max valid points into @p; its count in *@m. */
static int read_points(struct proto_mp_reader *rd, uint8_t (*p)[32], size_t max, size_t *m)
{
	int err = proto_mp_read_array(rd, max, m);

	if (err)
		return err;
	if (*m == 0)
		return PROTO_E_EMPTY;
	for (size_t i = 0; i < *m; i++) {
		if ((err = proto_mp_read_bin_fixed(rd, p[i], 32)))
			return err;
		if (proto_ring_pk_check(p[i]))
			return PROTO_E_RING_POINT;
	}
	return 0;
}

int proto_sealed_eval_decode(struct proto_sealed_eval *e, const uint8_t *buf, size_t len)
{
	struct proto_mp_reader rd;
	struct proto_mp_map m;
	int err;

	proto_mp_reader_init(&rd, buf, len);
	if ((err = proto_mp_map_begin(&rd, &m, 16)) ||
	    (err = proto_mp_map_expect_key(&rd, &m, 0)) ||
	    (err = proto_mp_read_uint(&rd, &e->req)) ||
	    (err = proto_mp_map_expect_key(&rd, &m, 1)) ||
	    (err = read_points(&rd, e->in, PROTO_SEALED_MSG_BATCH_MAX, &e->m)))
		return err;
	return proto_mp_map_expect_end(&rd, &m);
}

int proto_sealed_answer_decode(struct proto_sealed_answer *a, const uint8_t *buf, size_t len)
{
	struct proto_mp_reader rd;
	struct proto_mp_map m;
	uint64_t v;
	int err;

	a->m = 0;
	proto_mp_reader_init(&rd, buf, len);
	if ((err = proto_mp_map_begin(&rd, &m, 16)) ||
	    (err = proto_mp_map_expect_key(&rd, &m, 0)) ||
	    (err = proto_mp_read_uint(&rd, &a->req)) ||
	    (err = proto_mp_map_expect_key(&rd, &m, 1)) ||
	    (err = proto_mp_read_uint_max(&rd, PROTO_SEALED_STATUS_MAX, &v)))
		return err;
	a->status = (enum proto_sealed_status)v;
	if ((err = proto_mp_map_expect_key(&rd, &m, 2)) ||
	    (err = proto_mp_read_uint_max(&rd, PROTO_ROSTER_STEWARDS_MAX, &v)))
		return err;
	a->index = (uint32_t)v;
	if ((a->status == PROTO_SEALED_NO_SHARE) != (a->index == 0))
		return PROTO_E_RANGE;
	if ((err = proto_mp_map_expect_key(&rd, &m, 3)) ||
	    (err = proto_mp_read_uint(&rd, &a->quota_left)))
		return err;
	if (a->status == PROTO_SEALED_OK) {
		if ((err = proto_mp_map_expect_key(&rd, &m, 4)) ||
		    (err = read_points(&rd, a->out, PROTO_SEALED_MSG_BATCH_MAX, &a->m)) ||
		    (err = proto_mp_map_expect_key(&rd, &m, 5)) ||
		    (err = proto_mp_read_bin_fixed(&rd, a->proof, PROTO_OPRF_PROOF_BYTES)))
			return err;
	}
	return proto_mp_map_expect_end(&rd, &m);
}

int proto_sealed_holder_decode(uint32_t *index, uint64_t *generation, const uint8_t *buf,
			       size_t len)
{
	struct proto_mp_reader rd;
	struct proto_mp_map m;
	uint64_t v, key;
	int err;

	proto_mp_reader_init(&rd, buf, len);
	if ((err = proto_mp_map_begin(&rd, &m, 16)) ||
	    (err = proto_mp_map_expect_key(&rd, &m, 0)) ||
	    (err = proto_mp_read_uint_max(&rd, PROTO_ROSTER_STEWARDS_MAX, &v)))
		return err;
	if (v == 0)
		return PROTO_E_RANGE;
	*index = (uint32_t)v;
	*generation = 0;
	if ((err = proto_mp_map_next(&rd, &m, &key)) < 0)
		return err;
	if (err == 0)
		return proto_mp_reader_finish(&rd);
	if (key != 1)
		return PROTO_E_KEY_UNKNOWN;
	if ((err = proto_mp_read_uint(&rd, generation)))
		return err;
	if (*generation == 0)
		return PROTO_E_NONMINIMAL; /* generation 0 is written by leaving key 1 out */
	return proto_mp_map_expect_end(&rd, &m);
}
