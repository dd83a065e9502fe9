/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_proto_link.c — link message codec: exact encodings, round trips of every
 * type, and a table of strict-decoding rejections.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/error.h"
#include "proto/link.h"
#include "proto/notice.h"
#include "proto/report.h"
#include "testutil.h"

/* Hex with optional spaces, decoded into a malloc'd buffer. */
static uint8_t *hex(const char *h, size_t *len)
{
	char *clean = malloc(strlen(h) + 1);
	size_t n = 0;
	uint8_t *out;

	assert_non_null(clean);
	for (const char *p = h; *p; p++)
		if (*p != ' ')
			clean[n++] = *p;
	clean[n] = 0;
	out = tu_unhex(clean, len);
	free(clean);
	return out;
}

static void expect_bytes(uint8_t *got, size_t got_len, const char *want_hex)
{
	size_t len;
	uint8_t *want = hex(want_hex, &len);

	assert_int_equal(got_len, len);
	assert_memory_equal(got, want, len);
	free(want);
	free(got);
}

static void test_exact_encodings(void **state)
{
	struct proto_link_hello h = {.version = 1, .roster_epoch = 300};
	uint8_t id[32];
	uint8_t *out;
	size_t len;

	(void)state;
	memset(h.member_id, 0xab, 32);
	memset(id, 0x5a, 32);
	assert_int_equal(proto_link_encode_nonce(PROTO_LINK_PING, 5, &out, &len), 0);
	expect_bytes(out, len, "92 01 05");
	assert_int_equal(proto_link_encode_nonce(PROTO_LINK_PONG, UINT64_MAX, &out, &len), 0);
	expect_bytes(out, len, "92 02 cf ffffffffffffffff");
	assert_int_equal(proto_link_encode_bare(PROTO_LINK_REKEY, &out, &len), 0);
	expect_bytes(out, len, "91 03");
	assert_int_equal(proto_link_encode_bare(PROTO_LINK_PRUNE, &out, &len), 0);
	expect_bytes(out, len, "91 07");
	assert_int_equal(proto_link_encode_hello(&h, &out, &len), 0);
	expect_bytes(out, len,
		     "92 00 83 00 01 01 c4 20"
		     "abababababababababababababababababababababababababababababababab"
		     "02 cd 012c");
	assert_int_equal(proto_link_encode_ack(id, &out, &len), 0);
	expect_bytes(
		out, len,
		"92 09 c4 20 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a");
	assert_int_equal(
		proto_link_encode_bin(PROTO_LINK_RECON, (const uint8_t *)"xy", 2, &out, &len), 0);
	expect_bytes(out, len, "92 0b c4 02 7879");
	assert_int_equal(
		proto_link_encode_ids(PROTO_LINK_FETCH, (const uint8_t(*)[32])id, 1, &out, &len),
		0);
	expect_bytes(
		out, len,
		"92 0d 91 c4 20 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a");
	assert_int_equal(proto_link_encode_part(1, 3, (const uint8_t *)"xy", 2, &out, &len), 0);
	expect_bytes(out, len, "94 0e 01 03 c4 02 7879");
	assert_int_equal(
		proto_link_encode_bin(PROTO_LINK_NOTICE, (const uint8_t *)"xy", 2, &out, &len), 0);
	expect_bytes(out, len, "92 14 c4 02 7879");
	assert_int_equal(proto_link_encode_notice_ack(id, &out, &len), 0);
	expect_bytes(out, len, "92 15 c4 10 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a");
	assert_int_equal(proto_link_encode_notice_refused(id, 2, &out, &len), 0);
	expect_bytes(out, len, "93 16 c4 10 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a 02");
	assert_int_equal(proto_link_encode_notice_refused(id, 255, &out, &len), 0);
	expect_bytes(out, len, "93 16 c4 10 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a ccff");
	assert_int_equal(proto_link_encode_notice_refused(id, 0, &out, &len), PROTO_E_RANGE);
}

static void test_round_trip_every_type(void **state)
{
	static const uint8_t payload[] = "signed report bytes";
	uint8_t ids[3][32];
	struct proto_link_msg m;
	uint64_t seed = 7;
	uint8_t *out;
	size_t len;

	(void)state;
	for (size_t i = 0; i < 3; i++)
		for (size_t j = 0; j < 32; j++)
			ids[i][j] = (uint8_t)tu_rand(&seed);

	for (uint64_t t = 0; t < PROTO_LINK_TYPE_COUNT; t++) {
		enum proto_link_type type = (enum proto_link_type)t;
		struct proto_link_hello h = {.version = 3, .roster_epoch = 1ull << 40};
		int rc;

		memcpy(h.member_id, ids[1], 32);
		switch (type) {
		case PROTO_LINK_HELLO:
			rc = proto_link_encode_hello(&h, &out, &len);
			break;
		case PROTO_LINK_PING:
		case PROTO_LINK_PONG:
			rc = proto_link_encode_nonce(type, 0x1234567890ull + t, &out, &len);
			break;
		case PROTO_LINK_REKEY:
		case PROTO_LINK_PRUNE:
			rc = proto_link_encode_bare(type, &out, &len);
			break;
		case PROTO_LINK_IHAVE:
		case PROTO_LINK_GRAFT:
		case PROTO_LINK_FETCH:
			rc = proto_link_encode_ids(type, (const uint8_t(*)[32])ids, 3, &out, &len);
			break;
		case PROTO_LINK_ACK:
			rc = proto_link_encode_ack(ids[2], &out, &len);
			break;
		case PROTO_LINK_NOTICE_ACK:
			rc = proto_link_encode_notice_ack(ids[2], &out, &len);
			break;
		case PROTO_LINK_NOTICE_REFUSED:
			rc = proto_link_encode_notice_refused(ids[2], 7, &out, &len);
			break;
		case PROTO_LINK_ROSTER_PART:
			rc = proto_link_encode_part(30, 31, payload, sizeof(payload), &out, &len);
			break;
		default:
			rc = proto_link_encode_bin(type, payload, sizeof(payload), &out, &len);
			break;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(proto_link_decode(&m, out, len), 0);
		assert_int_equal(m.type, type);
		assert_string_not_equal(proto_link_type_name(t), "UNKNOWN");
		switch (type) {
		case PROTO_LINK_HELLO:
			assert_true(m.u.hello.version == 3);
			assert_true(m.u.hello.roster_epoch == 1ull << 40);
			assert_memory_equal(m.u.hello.member_id, ids[1], 32);
			assert_int_equal(m.u.hello.n_ext, 0);
			break;
		case PROTO_LINK_PING:
		case PROTO_LINK_PONG:
			assert_true(m.u.nonce == 0x1234567890ull + t);
			break;
		case PROTO_LINK_REKEY:
		case PROTO_LINK_PRUNE:
			break;
		case PROTO_LINK_IHAVE:
		case PROTO_LINK_GRAFT:
		case PROTO_LINK_FETCH:
			assert_int_equal(m.u.ids.n, 3);
			for (size_t i = 0; i < 3; i++)
				assert_memory_equal(proto_link_id(&m, i), ids[i], 32);
			break;
		case PROTO_LINK_ACK:
			assert_memory_equal(m.u.id, ids[2], 32);
			break;
		case PROTO_LINK_NOTICE_ACK:
			assert_memory_equal(m.u.notice_id, ids[2], 16);
			break;
		case PROTO_LINK_NOTICE_REFUSED:
			assert_memory_equal(m.u.refused.id, ids[2], 16);
			assert_int_equal(m.u.refused.reason, 7);
			break;
		case PROTO_LINK_ROSTER_PART:
			assert_int_equal(m.u.part.index, 30);
			assert_int_equal(m.u.part.total, 31);
			assert_int_equal(m.u.part.len, sizeof(payload));
			assert_memory_equal(m.u.part.p, payload, sizeof(payload));
			assert_true(m.u.part.p > out && m.u.part.p < out + len);
			break;
		default:
			assert_int_equal(m.u.bin.len, sizeof(payload));
			assert_memory_equal(m.u.bin.p, payload, sizeof(payload));
			/* The view points into the encoded buffer, not a copy. */
			assert_true(m.u.bin.p > out && m.u.bin.p < out + len);
			break;
		}
		free(out);
	}
	assert_string_equal(proto_link_type_name(PROTO_LINK_TYPE_COUNT), "UNKNOWN");
	assert_string_equal(proto_link_type_name(UINT64_MAX), "UNKNOWN");
}

#define ID32 "c4 20 0000000000000000000000000000000000000000000000000000000000000000"
#define MEMBER "01 " ID32

static void test_decode_rejects(void **state)
{
	static const struct {
		const char *hex;
		int err;
		const char *why;
	} cases[] = {
		{"", PROTO_E_TRUNCATED, "empty input"},
		{"90", PROTO_E_LINK_MSG, "empty array"},
		{"91 7f", PROTO_E_LINK_MSG, "type 127 is unassigned"},
		{"92 17 c4 01 78", PROTO_E_LINK_MSG, "type 23 is unassigned"},
		{"92 16 c4 10 00000000000000000000000000000000", PROTO_E_LINK_MSG,
		 "NOTICE_REFUSED without a reason"},
		{"93 16 c4 10 00000000000000000000000000000000 00", PROTO_E_RANGE,
		 "NOTICE_REFUSED reason 0"},
		{"93 16 c4 10 00000000000000000000000000000000 cd0100", PROTO_E_RANGE,
		 "NOTICE_REFUSED reason 256"},
		{"93 16 c4 10 00000000000000000000000000000000 cc05", PROTO_E_NONMINIMAL,
		 "NOTICE_REFUSED non-minimal reason"},
		{"93 16 c4 0f 000000000000000000000000000000 01", PROTO_E_RANGE,
		 "NOTICE_REFUSED with a 15-byte id"},
		{"93 16 c4 10 00000000000000000000000000000000 a1 78", PROTO_E_TYPE,
		 "NOTICE_REFUSED reason as str"},
		{"92 15 c4 20 "
		 "0000000000000000000000000000000000000000000000000000000000000000",
		 PROTO_E_TOO_LARGE, "NOTICE_ACK with a 32-byte id"},
		{"92 14 c4 00", PROTO_E_EMPTY, "empty NOTICE"},
		{"92 0f c4 00", PROTO_E_EMPTY, "empty CATCHUP"},
		{"92 0e c4 01 78", PROTO_E_LINK_MSG, "ROSTER_PART without index and total"},
		{"94 0e 02 02 c4 01 78", PROTO_E_RANGE, "ROSTER_PART index == total"},
		{"94 0e 00 01 c4 01 78", PROTO_E_RANGE, "ROSTER_PART of one part"},
		{"94 0e 00 21 c4 01 78", PROTO_E_RANGE, "ROSTER_PART of 33 parts"},
		{"94 0e 00 02 c4 00", PROTO_E_EMPTY, "empty ROSTER_PART chunk"},
		{"94 0e 00 02 a1 78", PROTO_E_TYPE, "ROSTER_PART chunk as str"},
		{"94 0e 00 cc 02 c4 01 78", PROTO_E_NONMINIMAL, "ROSTER_PART non-minimal total"},
		{"92 cf 0000000100000000 00", PROTO_E_LINK_MSG, "huge type"},
		{"91 01", PROTO_E_LINK_MSG, "PING without nonce"},
		{"93 01 05 05", PROTO_E_LINK_MSG, "PING with an extra element"},
		{"92 03 00", PROTO_E_LINK_MSG, "REKEY with an element"},
		{"92 01", PROTO_E_TRUNCATED, "array count beyond input"},
		{"01", PROTO_E_TYPE, "not an array"},
		{"81 00 01", PROTO_E_TYPE, "a map, not an array"},
		{"92 01 cc 05", PROTO_E_NONMINIMAL, "non-minimal nonce"},
		{"92 cc 01 05", PROTO_E_NONMINIMAL, "non-minimal type"},
		{"dc 0002 01 05", PROTO_E_NONMINIMAL, "array16 for two elements"},
		{"92 01 05 00", PROTO_E_TRAILING, "trailing byte"},
		{"92 a1 31 05", PROTO_E_TYPE, "type is a str"},
		{"92 01 ca 00000000", PROTO_E_FLOAT, "float nonce"},
		{"92 01 ff", PROTO_E_TYPE, "negative nonce"},
		{"92 01 c0", PROTO_E_TYPE, "nil nonce"},
		{"92 01 d4 00 00", PROTO_E_RESERVED, "ext nonce"},
		{"92 01 cf 0000", PROTO_E_TRUNCATED, "truncated uint64"},
		{"92 04 c4 00", PROTO_E_EMPTY, "empty PUSH"},
		{"92 04 a1 78", PROTO_E_TYPE, "PUSH as str"},
		{"92 04 c4 05 7878", PROTO_E_TRUNCATED, "bin longer than input"},
		{"92 0c c5 0005 7878787878", PROTO_E_NONMINIMAL, "bin16 for 5 bytes"},
		{"92 05 90", PROTO_E_EMPTY, "empty IHAVE"},
		{"92 06 c4 20 00", PROTO_E_TYPE, "GRAFT ids not an array"},
		{"92 0d 91 c4 1f 00000000000000000000000000000000000000000000000000000000000000",
		 PROTO_E_RANGE, "31-byte id"},
		{"92 0d 91 c4 21 000000000000000000000000000000000000000000000000000000000000000000",
		 PROTO_E_TOO_LARGE, "33-byte id"},
		{"92 05 92 " ID32, PROTO_E_TRUNCATED, "second id missing"},
		{"92 09 c4 1f 00000000000000000000000000000000000000000000000000000000000000",
		 PROTO_E_RANGE, "ACK with 31-byte id"},
		{"92 09 90", PROTO_E_TYPE, "ACK id not bin"},
		{"92 00 82 00 01 " MEMBER, PROTO_E_KEY_MISSING, "HELLO without epoch"},
		{"92 00 82 01 " ID32 " 02 05", PROTO_E_KEY_MISSING, "HELLO without version"},
		{"92 00 83 00 01 02 05 " MEMBER, PROTO_E_KEY_MISSING, "HELLO keys 0,2,1"},
		{"92 00 83 00 01 00 01 02 05", PROTO_E_KEY_DUP, "HELLO duplicate key"},
		{"92 00 83 00 00 " MEMBER " 02 05", PROTO_E_RANGE, "HELLO version 0"},
		{"92 00 83 00 01 01 a1 78 02 05", PROTO_E_TYPE, "HELLO member id as str"},
		{"92 00 83 00 01 01 c4 01 00 02 05", PROTO_E_RANGE, "HELLO short member id"},
		{"92 00 84 00 01 " MEMBER " 02 05 04 ca 00000000", PROTO_E_FLOAT,
		 "HELLO float extension"},
		{"92 00 84 00 01 " MEMBER " 02 05 04 c0", PROTO_E_TYPE, "HELLO nil extension"},
		{"92 00 84 00 01 " MEMBER " 02 05 04 91919191 01", PROTO_E_DEPTH,
		 "HELLO extension too deep"},
		{"92 00 84 00 01 " MEMBER " 02 05 04 a2 c328", PROTO_E_UTF8,
		 "HELLO extension invalid UTF-8"},
		{"92 00 84 00 01 " MEMBER " 02 05 04 82 01 01 01 02", PROTO_E_KEY_DUP,
		 "HELLO extension map duplicate key"},
		{"92 00 85 00 01 " MEMBER " 02 05 04 01 03 01", PROTO_E_KEY_ORDER,
		 "HELLO extension keys out of order"},
		{"92 00 83 00 01 " MEMBER " 03 05", PROTO_E_KEY_MISSING,
		 "HELLO extension instead of epoch"},
		{"92 00 90", PROTO_E_TYPE, "HELLO body is an array"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct proto_link_msg m;
		size_t len;
		uint8_t *buf = hex(cases[i].hex, &len);
		int rc = proto_link_decode(&m, buf, len);

		if (rc != cases[i].err)
			fail_msg("case %zu (%s): got %s, want %s", i, cases[i].why,
				 proto_error_name(rc), proto_error_name(cases[i].err));
		free(buf);
	}
}

static void test_hello_extensions_ignored(void **state)
{
	struct proto_link_msg m;
	size_t len;
	uint8_t *buf = hex("92 00 86 00 02 " MEMBER " 02 07 04 c3 09 82 00 a0 05 92 c4 01 ff 90"
			   " 7f c4 00",
			   &len);

	(void)state;
	assert_int_equal(proto_link_decode(&m, buf, len), 0);
	assert_int_equal(m.type, PROTO_LINK_HELLO);
	assert_true(m.u.hello.version == 2);
	assert_true(m.u.hello.roster_epoch == 7);
	assert_int_equal(m.u.hello.n_ext, 3);
	free(buf);
}

/*
 * HELLO key 3, the oldest version the sender speaks: sent only when it differs from the
 * newest (so a one-version HELLO is byte for byte a version 1 HELLO), checked on decode, and
 * the compatibility rule between two ranges.
 */
static void test_hello_version_range(void **state)
{
	struct proto_link_hello h = {.version = 3, .min_version = 1, .roster_epoch = 5}, one;
	struct proto_link_msg m;
	uint8_t *out, *buf;
	size_t len, len1;
	uint64_t v = 99;

	(void)state;
	assert_int_equal(proto_link_encode_hello(&h, &out, &len), 0);
	assert_int_equal(proto_link_decode(&m, out, len), 0);
	assert_true(m.u.hello.version == 3 && m.u.hello.min_version == 1);
	assert_int_equal(m.u.hello.n_ext, 0);
	free(out);

	/* min_version == version or 0: the three-key HELLO of version 1 nodes. */
	one = (struct proto_link_hello){.version = 3, .roster_epoch = 5};
	assert_int_equal(proto_link_encode_hello(&one, &buf, &len1), 0);
	h.min_version = 3;
	assert_int_equal(proto_link_encode_hello(&h, &out, &len), 0);
	assert_int_equal(len, len1);
	assert_memory_equal(out, buf, len);
	assert_int_equal(proto_link_decode(&m, out, len), 0);
	assert_true(m.u.hello.min_version == 0);
	free(out);
	free(buf);

	h.min_version = 4;
	assert_int_equal(proto_link_encode_hello(&h, &out, &len), PROTO_E_RANGE);
	buf = hex("92 00 84 00 02 " MEMBER " 02 07 03 00", &len);
	assert_int_equal(proto_link_decode(&m, buf, len), PROTO_E_RANGE);
	free(buf);
	buf = hex("92 00 84 00 02 " MEMBER " 02 07 03 03", &len);
	assert_int_equal(proto_link_decode(&m, buf, len), PROTO_E_RANGE);
	free(buf);
	buf = hex("92 00 84 00 02 " MEMBER " 02 07 03 c3", &len);
	assert_int_equal(proto_link_decode(&m, buf, len), PROTO_E_TYPE);
	free(buf);

	/* The rule: min(newest) if it is >= max(oldest). */
	struct {
		uint64_t a_min, a_max, b_min, b_max;
		bool ok;
		uint64_t v;
	} cases[] = {
		{0, 1, 0, 1, true, 1}, /* two version 1 nodes */
		{1, 2, 0, 1, true, 1}, /* this release (1-2) with the previous (1 only) */
		{0, 1, 1, 2, true, 1}, /* and the other way round */
		{2, 3, 1, 2, true, 2},	{1, 3, 1, 5, true, 3},
		{0, 2, 0, 1, false, 0}, /* 2 only vs 1 only */
		{3, 4, 1, 2, false, 0}, /* a node two releases ahead */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct proto_link_hello a = {.version = cases[i].a_max,
					     .min_version = cases[i].a_min};
		struct proto_link_hello b = {.version = cases[i].b_max,
					     .min_version = cases[i].b_min};

		v = 99;
		assert_int_equal(proto_link_version_agree(&a, &b, &v), cases[i].ok);
		assert_true(v == (cases[i].ok ? cases[i].v : 99));
		v = 99;
		assert_int_equal(proto_link_version_agree(&b, &a, &v), cases[i].ok);
	}
}

static void test_limits(void **state)
{
	size_t big_len = PROTO_LINK_BIN_MAX + 1;
	uint8_t *big = calloc(1, big_len + 16);
	uint8_t(*ids)[32] = calloc(PROTO_LINK_IDS_MAX + 1, 32);
	struct proto_link_msg m;
	uint8_t *out;
	size_t len;

	(void)state;
	assert_non_null(big);
	assert_non_null(ids);
	/* Reports travel in PUSH/DIRECT/STEM up to the report limit, no further. */
	assert_int_equal(
		proto_link_encode_bin(PROTO_LINK_PUSH, big, PROTO_REPORT_MAX_BYTES, &out, &len), 0);
	assert_int_equal(proto_link_decode(&m, out, len), 0);
	free(out);
	assert_int_equal(
		proto_link_encode_bin(PROTO_LINK_STEM, big, PROTO_REPORT_MAX_BYTES + 1, &out, &len),
		PROTO_E_TOO_LARGE);
	/* A hand-built oversized DIRECT is refused by the decoder too. */
	big[0] = 0x92;
	big[1] = PROTO_LINK_DIRECT;
	big[2] = 0xc5;
	big[3] = (uint8_t)((PROTO_REPORT_MAX_BYTES + 1) >> 8);
	big[4] = (uint8_t)(PROTO_REPORT_MAX_BYTES + 1);
	assert_int_equal(proto_link_decode(&m, big, 5 + PROTO_REPORT_MAX_BYTES + 1),
			 PROTO_E_TOO_LARGE);
	memset(big, 0, 5);

	/* A NOTICE carries a notice of up to PROTO_NOTICE_MAX_BYTES, which fits one message. */
	assert_int_equal(
		proto_link_encode_bin(PROTO_LINK_NOTICE, big, PROTO_NOTICE_MAX_BYTES, &out, &len),
		0);
	assert_true(len <= PROTO_LINK_MAX_BYTES);
	assert_int_equal(proto_link_decode(&m, out, len), 0);
	assert_int_equal(m.u.bin.len, PROTO_NOTICE_MAX_BYTES);
	free(out);
	assert_int_equal(proto_link_encode_bin(PROTO_LINK_NOTICE, big, PROTO_NOTICE_MAX_BYTES + 1,
					       &out, &len),
			 PROTO_E_TOO_LARGE);

	/* RECON/ROSTER fill a whole transport message at most. */
	assert_int_equal(
		proto_link_encode_bin(PROTO_LINK_ROSTER, big, PROTO_LINK_BIN_MAX, &out, &len), 0);
	assert_int_equal(len, PROTO_LINK_MAX_BYTES);
	assert_int_equal(proto_link_decode(&m, out, len), 0);
	assert_int_equal(m.u.bin.len, PROTO_LINK_BIN_MAX);
	free(out);
	assert_int_equal(proto_link_encode_bin(PROTO_LINK_RECON, big, big_len, &out, &len),
			 PROTO_E_TOO_LARGE);
	/* A ROSTER_PART of the largest chunk fits one transport message; one more byte not. */
	assert_int_equal(proto_link_encode_part(PROTO_LINK_PARTS_MAX - 1, PROTO_LINK_PARTS_MAX, big,
						PROTO_LINK_PART_MAX, &out, &len),
			 0);
	assert_true(len <= PROTO_LINK_MAX_BYTES);
	assert_int_equal(proto_link_decode(&m, out, len), 0);
	assert_int_equal(m.u.part.len, PROTO_LINK_PART_MAX);
	free(out);
	assert_int_equal(proto_link_encode_part(0, 2, big, PROTO_LINK_PART_MAX + 1, &out, &len),
			 PROTO_E_TOO_LARGE);
	assert_true((size_t)PROTO_LINK_PARTS_MAX * PROTO_LINK_PART_MAX >= (1u << 20));
	assert_int_equal(proto_link_decode(&m, big, PROTO_LINK_MAX_BYTES + 1), PROTO_E_TOO_LARGE);

	assert_int_equal(proto_link_encode_ids(PROTO_LINK_IHAVE, (const uint8_t(*)[32])ids,
					       PROTO_LINK_IDS_MAX, &out, &len),
			 0);
	assert_true(len <= PROTO_LINK_MAX_BYTES);
	assert_int_equal(proto_link_decode(&m, out, len), 0);
	assert_int_equal(m.u.ids.n, PROTO_LINK_IDS_MAX);
	free(out);
	assert_int_equal(proto_link_encode_ids(PROTO_LINK_IHAVE, (const uint8_t(*)[32])ids,
					       PROTO_LINK_IDS_MAX + 1, &out, &len),
			 PROTO_E_TOO_LARGE);
	/* And a hand-built list of 1025 ids (array16 header 0x0401). */
	big[0] = 0x92;
	big[1] = PROTO_LINK_IHAVE;
	big[2] = 0xdc;
	big[3] = 0x04;
	big[4] = 0x01;
	assert_int_equal(proto_link_decode(&m, big, 5 + 1025 * 34), PROTO_E_TOO_LARGE);
	free(big);
	free(ids);
}

static void test_encode_errors(void **state)
{
	struct proto_link_hello h = {.version = 0};
	uint8_t id[1][32] = {{0}};
	uint8_t *out = NULL;
	size_t len;

	(void)state;
	assert_int_equal(proto_link_encode_hello(&h, &out, &len), PROTO_E_RANGE);
	assert_int_equal(proto_link_encode_hello(NULL, &out, &len), -EINVAL);
	assert_int_equal(proto_link_encode_nonce(PROTO_LINK_REKEY, 1, &out, &len), -EINVAL);
	assert_int_equal(proto_link_encode_bare(PROTO_LINK_PING, &out, &len), -EINVAL);
	assert_int_equal(proto_link_encode_bin(PROTO_LINK_IHAVE, id[0], 32, &out, &len), -EINVAL);
	assert_int_equal(proto_link_encode_bin(PROTO_LINK_PUSH, NULL, 3, &out, &len), -EINVAL);
	assert_int_equal(proto_link_encode_bin(PROTO_LINK_PUSH, id[0], 0, &out, &len),
			 PROTO_E_EMPTY);
	assert_int_equal(
		proto_link_encode_ids(PROTO_LINK_PUSH, (const uint8_t(*)[32])id, 1, &out, &len),
		-EINVAL);
	assert_int_equal(
		proto_link_encode_ids(PROTO_LINK_GRAFT, (const uint8_t(*)[32])id, 0, &out, &len),
		PROTO_E_EMPTY);
	assert_int_equal(proto_link_encode_ack(NULL, &out, &len), -EINVAL);
	assert_int_equal(proto_link_encode_part(0, 1, id[0], 1, &out, &len), PROTO_E_RANGE);
	assert_int_equal(proto_link_encode_part(2, 2, id[0], 1, &out, &len), PROTO_E_RANGE);
	assert_int_equal(proto_link_encode_part(0, PROTO_LINK_PARTS_MAX + 1, id[0], 1, &out, &len),
			 PROTO_E_RANGE);
	assert_int_equal(proto_link_encode_part(0, 2, id[0], 0, &out, &len), PROTO_E_EMPTY);
	assert_int_equal(proto_link_encode_part(0, 2, NULL, 1, &out, &len), -EINVAL);
	assert_null(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_encodings),
		cmocka_unit_test(test_round_trip_every_type),
		cmocka_unit_test(test_decode_rejects),
		cmocka_unit_test(test_hello_extensions_ignored),
		cmocka_unit_test(test_hello_version_range),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_encode_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
