/* SPDX-License-Identifier: MIT */
/*
 * Sealed-sighting link payloads: round trips with real OPRF elements, pinned small
 * encodings, and every refusal the decoders promise (proto/sealed_msg.h).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/mp.h"
#include "proto/oprf.h"
#include "proto/sealed_msg.h"
#include "testutil.h"

/* Hex with optional spaces into @buf (at most @cap bytes); returns the length. */
static size_t tu_hex(uint8_t *buf, size_t cap, const char *h)
{
	char clean[256];
	size_t n = 0, len;
	uint8_t *out;

	for (const char *p = h; *p && n + 1 < sizeof(clean); p++)
		if (*p != ' ')
			clean[n++] = *p;
	clean[n] = 0;
	out = tu_unhex(clean, &len);
	assert_non_null(out);
	assert_true(len <= cap);
	memcpy(buf, out, len);
	free(out);
	return len;
}

static void expect_bytes(uint8_t *got, size_t got_len, const char *want_hex)
{
	uint8_t want[256];
	size_t len = tu_hex(want, sizeof(want), want_hex);

	assert_int_equal(got_len, len);
	assert_memory_equal(got, want, len);
}

static int setup(void **state)
{
	(void)state;
	return proto_crypto_init();
}

/* @m blinded elements of distinct inputs. */
static void blinded(uint8_t (*b)[32], size_t m)
{
	uint8_t x[32], rho[32];

	for (size_t i = 0; i < m; i++) {
		memset(x, 0, 32);
		memcpy(x, &i, sizeof(i));
		assert_int_equal(proto_oprf_blind(b[i], rho, x), 0);
	}
	proto_wipe(rho, 32);
}

static void test_eval_round_trip(void **state)
{
	static struct proto_sealed_eval e, d;
	uint8_t *buf;
	size_t len;

	(void)state;
	e.req = 0x1122334455ull;
	e.m = PROTO_SEALED_MSG_BATCH_MAX;
	blinded(e.in, e.m);
	assert_int_equal(proto_sealed_eval_encode(&e, &buf, &len), 0);
	/* A full batch fits one link message with the link's own framing. */
	assert_true(len <= 65514);
	assert_int_equal(proto_sealed_eval_decode(&d, buf, len), 0);
	assert_true(d.req == e.req);
	assert_int_equal(d.m, e.m);
	assert_memory_equal(d.in, e.in, e.m * 32);
	for (size_t n = 0; n < len; n += 97)
		assert_int_not_equal(proto_sealed_eval_decode(&d, buf, n), 0);
	/* One element that is not a valid point. */
	buf[len - 1] ^= 0xff;
	buf[len - 32] |= 0x01;
	assert_int_equal(proto_sealed_eval_decode(&d, buf, len), PROTO_E_RING_POINT);
	free(buf);
	e.m = 0;
	assert_int_equal(proto_sealed_eval_encode(&e, &buf, &len), -EINVAL);
	e.m = PROTO_SEALED_MSG_BATCH_MAX + 1;
	assert_int_equal(proto_sealed_eval_encode(&e, &buf, &len), -EINVAL);
}

static void test_answer_round_trip(void **state)
{
	static struct proto_sealed_answer a, d;
	static uint8_t in[4][32];
	uint8_t share[32], vk[32], shares[3][32], vks[3][32];
	uint8_t *buf;
	size_t len;

	(void)state;
	assert_int_equal(proto_oprf_deal(shares, vks, vk, 2, 3), 0);
	memcpy(share, shares[1], 32);
	blinded(in, 4);
	a.req = 9;
	a.status = PROTO_SEALED_OK;
	a.index = 2;
	a.quota_left = 99996;
	a.m = 4;
	assert_int_equal(
		proto_oprf_evaluate(a.out, a.proof, share, vks[1], (const uint8_t(*)[32])in, 4), 0);
	assert_int_equal(proto_sealed_answer_encode(&a, &buf, &len), 0);
	assert_int_equal(proto_sealed_answer_decode(&d, buf, len), 0);
	assert_true(d.req == 9 && d.status == PROTO_SEALED_OK && d.index == 2 &&
		    d.quota_left == 99996 && d.m == 4);
	assert_memory_equal(d.out, a.out, 4 * 32);
	assert_memory_equal(d.proof, a.proof, PROTO_OPRF_PROOF_BYTES);
	/* What was decoded still verifies: nothing was lost on the way. */
	assert_int_equal(proto_oprf_verify(d.proof, vks[1], (const uint8_t(*)[32])in,
					   (const uint8_t(*)[32])d.out, 4),
			 0);
	for (size_t n = 0; n < len; n++)
		assert_int_not_equal(proto_sealed_answer_decode(&d, buf, n), 0);
	free(buf);

	/* Refusals carry no elements; NO_SHARE and only it has index 0. */
	a.status = PROTO_SEALED_QUOTA;
	a.m = 0;
	a.quota_left = 0;
	assert_int_equal(proto_sealed_answer_encode(&a, &buf, &len), 0);
	expect_bytes(buf, len, "84 00 09 01 02 02 02 03 00");
	assert_int_equal(proto_sealed_answer_decode(&d, buf, len), 0);
	assert_true(d.status == PROTO_SEALED_QUOTA && d.m == 0 && d.index == 2);
	free(buf);
	a.status = PROTO_SEALED_NO_SHARE;
	assert_int_equal(proto_sealed_answer_encode(&a, &buf, &len), -EINVAL);
	a.index = 0;
	assert_int_equal(proto_sealed_answer_encode(&a, &buf, &len), 0);
	free(buf);
	a.status = PROTO_SEALED_REFUSED;
	assert_int_equal(proto_sealed_answer_encode(&a, &buf, &len), -EINVAL);
	a.index = 1;
	a.m = 1;
	assert_int_equal(proto_sealed_answer_encode(&a, &buf, &len), -EINVAL);
	proto_wipe(shares, sizeof(shares));
	proto_wipe(share, sizeof(share));
}

static void test_rejects(void **state)
{
	static const struct {
		const char *hex;
		int err;
		const char *why;
	} cases[] = {
		{"81 00 05", 0, "holder 5"},
		{"81 00 00", PROTO_E_RANGE, "holder index 0"},
		{"81 00 21", PROTO_E_RANGE, "holder index 33"},
		{"82 00 01 01 02", 0, "holder 1 of generation 2"},
		{"82 00 01 02 02", PROTO_E_KEY_UNKNOWN, "holder with an extra key"},
		{"82 00 01 01 00", PROTO_E_NONMINIMAL, "holder of generation 0 written out"},
		{"83 00 01 01 02 02 00", PROTO_E_KEY_UNKNOWN, "holder with a third key"},
		{"80", PROTO_E_KEY_MISSING, "holder without index"},
		{"81 00 05 00", PROTO_E_TRAILING, "holder with trailing bytes"},
		{"81 00 cc 05", PROTO_E_NONMINIMAL, "holder index not minimal"},
	};
	static struct proto_sealed_eval e;
	static struct proto_sealed_answer a;
	uint8_t buf[64];
	uint32_t idx;
	uint64_t gen;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = tu_hex(buf, sizeof(buf), cases[i].hex);
		int got = proto_sealed_holder_decode(&idx, &gen, buf, len);

		if (got != cases[i].err)
			fail_msg("%s: got %s, want %s", cases[i].why, proto_error_name(got),
				 proto_error_name(cases[i].err));
	}
	/* Eval: an empty batch; answers: status out of range, OK without elements. */
	assert_int_equal(
		proto_sealed_eval_decode(&e, buf, tu_hex(buf, sizeof(buf), "82 00 01 01 90")),
		PROTO_E_EMPTY);
	assert_int_equal(proto_sealed_answer_decode(
				 &a, buf, tu_hex(buf, sizeof(buf), "84 00 01 01 04 02 01 03 00")),
			 PROTO_E_RANGE);
	assert_int_equal(proto_sealed_answer_decode(
				 &a, buf, tu_hex(buf, sizeof(buf), "84 00 01 01 00 02 01 03 00")),
			 PROTO_E_KEY_MISSING);
	assert_int_equal(proto_sealed_answer_decode(
				 &a, buf, tu_hex(buf, sizeof(buf), "84 00 01 01 01 02 01 03 00")),
			 PROTO_E_RANGE);
	{
		uint8_t *out;
		size_t len;

		assert_int_equal(proto_sealed_holder_encode(0, 0, &out, &len), -EINVAL);
		assert_int_equal(proto_sealed_holder_encode(33, 0, &out, &len), -EINVAL);
		assert_int_equal(proto_sealed_holder_encode(5, 0, &out, &len), 0);
		expect_bytes(out, len, "81 00 05");
		free(out);
		/* A re-shared key's holder names its generation; an old reader's form is 0. */
		assert_int_equal(proto_sealed_holder_encode(5, 2, &out, &len), 0);
		expect_bytes(out, len, "82 00 05 01 02");
		assert_int_equal(proto_sealed_holder_decode(&idx, &gen, out, len), 0);
		assert_int_equal(idx, 5);
		assert_int_equal(gen, 2);
		free(out);
	}
	assert_string_equal(proto_sealed_status_str(PROTO_SEALED_QUOTA), "quota exhausted");
	assert_string_equal(proto_sealed_status_str(9), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eval_round_trip),
		cmocka_unit_test(test_answer_round_trip),
		cmocka_unit_test(test_rejects),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
