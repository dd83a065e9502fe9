/* SPDX-License-Identifier: MIT */
/*
 * Linkable ring signatures: round trips at every signer position, a known answer checked with
 * an independent pure-Python RFC 9496 + bLSAG implementation, RFC 9496 generator multiples and
 * bad encodings, cross-checks of the variable-time arithmetic against libsodium, every-byte
 * tampering, non-members, linkability and unlinkability of tags, wire validation of points
 * and scalars, size limits and ring picking.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/report.h"
#include "proto/ring.h"
#include "testutil.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define SIG_MAX PROTO_REPORT_SIG_MAX

/* The group order L, little endian. */
static const uint8_t order_l[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,	  0xd6,
				    0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, [31] = 0x10};

static void hex32(uint8_t out[32], const char *hex)
{
	assert_int_equal(proto_hex_decode(out, 32, hex), 0);
}

/* a + b as 256-bit little-endian integers (inputs small enough not to overflow). */
static void add256(uint8_t out[32], const uint8_t a[32], const uint8_t b[32])
{
	unsigned carry = 0;

	for (int i = 0; i < 32; i++) {
		carry += (unsigned)a[i] + b[i];
		out[i] = (uint8_t)carry;
		carry >>= 8;
	}
	assert_int_equal(carry, 0);
}

struct fixture {
	size_t n;
	uint8_t ring[PROTO_REPORT_RING_MAX][32];
	uint8_t sk[PROTO_REPORT_RING_MAX][32];
	uint8_t ind[32];
	uint8_t msg[40];
	uint64_t epoch;
};

static void fixture_init(struct fixture *f, size_t n)
{
	memset(f, 0, sizeof(*f));
	f->n = n;
	for (size_t i = 0; i < n; i++)
		assert_int_equal(proto_ring_keypair(f->ring[i], f->sk[i]), 0);
	proto_random(f->ind, sizeof(f->ind));
	memcpy(f->msg, "chatham/report/1 body bytes of a report", sizeof(f->msg));
	f->epoch = 7;
}

static int fx_sign(const struct fixture *f, uint8_t *sig, size_t signer)
{
	return proto_ring_sign(sig, SIG_MAX, f->msg, sizeof(f->msg), f->epoch, f->ring, f->n,
			       signer, f->sk[signer], f->ind);
}

static int fx_verify(const struct fixture *f, const uint8_t *sig, const uint8_t tag[32])
{
	return proto_ring_verify(sig, proto_ring_sig_size(f->n), f->msg, sizeof(f->msg), f->epoch,
				 f->ring, f->n, f->ind, tag);
}

static int setup(void **state)
{
	(void)state;
	return proto_crypto_init();
}

static void test_sizes(void **state)
{
	(void)state;
	assert_int_equal(proto_ring_sig_size(1), 2 * 32 + 32);
	assert_int_equal(proto_ring_sig_size(64), 65 * 32 + 32);
	assert_int_equal(proto_ring_sig_size(PROTO_REPORT_RING_MAX), PROTO_REPORT_SIG_MAX);
}

static void test_keys(void **state)
{
	uint8_t pk[32], sk[32], pk2[32], bad[32];
	static const char *const bad_sk[] = {
		"0000000000000000000000000000000000000000000000000000000000000000", /* zero */
		"edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010", /* L */
		"eed3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010", /* L + 1 */
		"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff1f", /* > L */
		"0100000000000000000000000000000000000000000000000000000000000080", /* top bit */
		"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", /* 2^256-1 */
	};
	static const uint8_t one[32] = {1};

	(void)state;
	assert_int_equal(proto_ring_keypair(pk, sk), 0);
	assert_int_equal(proto_ring_pk_from_sk(pk2, sk), 0);
	assert_memory_equal(pk, pk2, 32);
	assert_int_equal(proto_ring_pk_check(pk), 0);
	assert_int_equal(proto_ring_pk_from_sk(pk2, one), 0);
	hex32(bad, "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76");
	assert_memory_equal(pk2, bad, 32);
	for (size_t i = 0; i < N(bad_sk); i++) {
		uint8_t tag[32], ind[32] = {0};

		hex32(bad, bad_sk[i]);
		memset(pk2, 0xaa, 32);
		assert_int_equal(proto_ring_pk_from_sk(pk2, bad), PROTO_E_RING_SCALAR);
		assert_true(proto_ct_equal(pk2, (const uint8_t[32]){0}, 32));
		assert_int_equal(proto_ring_tag(tag, bad, ind), PROTO_E_RING_SCALAR);
	}
	proto_wipe(sk, sizeof(sk));
}

/* RFC 9496 A.1: encodings of k·B, through both the libsodium and the variable-time paths. */
static void test_rfc_multiples(void **state)
{
	static const struct {
		uint8_t k;
		const char *hex;
	} vec[] = {
		{2, "6a493210f7499cd17fecb510ae0cea23a110e8d5b901f8acadd3095c73a3b919"},
		{3, "94741f5d5d52755ece4f23f044ee27d5d1ea1e2bd196b462166b16152a9d0259"},
		{4, "da80862773358b466ffadfe0b3293ab3d9fd53c5ea6c955358f568322daf6a57"},
		{5, "e882b131016b52c1d3337080187cf768423efccbb517bb495ab812c4160ff44e"},
		{6, "f64746d3c92b13050ed8d80236a7f0007c3b3f962f5ba793d19a601ebb1df403"},
		{7, "44f53520926ec81fbd5a387845beb7df85a96a24ece18738bdcfa6a7822a176d"},
		{8, "903293d8f2287ebe10e2374dc1a53e0bc887e592699f02d077d5263cdd55601c"},
		{15, "e0c418f7c8d9c4cdd7395b93ea124f3ad99021bb681dfc3302a9d99a2e53e64e"},
		{16, "c862fced1314e81e9b77d02b847689096b4e7ded39b009b9c996982e4ecac66e"},
	};
	uint8_t b[32], want[32], got[32], k[32] = {0}, zero[32] = {0}, lm1[32];

	(void)state;
	hex32(b, "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76");
	for (size_t i = 0; i < N(vec); i++) {
		k[0] = vec[i].k;
		hex32(want, vec[i].hex);
		assert_int_equal(proto_ring_raw_scalarmult_base(got, k), 0);
		assert_memory_equal(got, want, 32);
		assert_int_equal(proto_ring_raw_double_mult_vartime(got, k, b, zero, b), 0);
		assert_memory_equal(got, want, 32);
		assert_int_equal(proto_ring_raw_double_mult_vartime(got, zero, b, k, b), 0);
		assert_memory_equal(got, want, 32);
		assert_int_equal(proto_ring_pk_check(want), 0);
	}
	/* (L-1)·B + 1·B is the identity, which encodes as zeros. */
	memcpy(lm1, order_l, 32);
	lm1[0]--;
	k[0] = 1;
	assert_int_equal(proto_ring_raw_double_mult_vartime(got, lm1, b, k, b), 0);
	assert_memory_equal(got, zero, 32);
	assert_int_equal(proto_ring_raw_double_mult_vartime(got, lm1, b, zero, b), 0);
	hex32(want, "eaffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
	assert_memory_equal(got, want, 32);
}

/*
 * Encodings that must be rejected as ring keys and tags. The first two pass libsodium
 * 1.0.18's own is_valid_point (it accepts the identity and ignores the top bit).
 */
static const struct {
	const char *hex;
	const char *why;
} bad_points[] = {
	{"0000000000000000000000000000000000000000000000000000000000000000", "identity"},
	{"e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2df6", "B with top bit"},
	{"0000000000000000000000000000000000000000000000000000000000000080", "identity, top bit"},
	{"0100000000000000000000000000000000000000000000000000000000000000", "Edwards order 1"},
	{"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "order 2; s = -1"},
	{"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", "Edwards order 8"},
	{"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85", "Edwards order 8"},
	{"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", "Edwards order 8"},
	{"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", "Edwards order 8"},
	{"00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", "non-canonical"},
	{"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "non-canonical"},
	{"f3ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "non-canonical"},
	{"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "non-canonical (p)"},
	{"01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "negative"},
	{"ed57ffd8c914fb201471d1c3d245ce3c746fcbe63a3679d51b6a516ebebe0e20", "negative"},
	{"c34c4e1826e5d403b78e246e88aa051c36ccf0aafebffe137d148a2bf9104562", "negative"},
	{"c940e5a4404157cfb1628b108db051a8d439e1a421394ec4ebccb9ec92a8ac78", "negative"},
	{"47cfc5497c53dc8e61c91d17fd626ffb1c49e2bca94eed052281b510b1117a24", "negative"},
	{"f1c6165d33367351b0da8f6e4511010c68174a03b6581212c71c0e1d026c3c72", "negative"},
	{"87260f7a2f12495118360f02c26a470f450dadf34a413d21042b43b9d93e1309", "negative"},
	{"26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371", "non-square x^2"},
	{"4eac077a713c57b4f4397629a4145982c661f48044dd3f96427d40b147d9742f", "non-square x^2"},
	{"de6a7b00deadc788eb6d6c3bb6f4a8f9ef85a67a1b3b7ab45098b4ae6a478e16", "non-square x^2"},
};

static void test_bad_points(void **state)
{
	struct fixture *f = malloc(sizeof(*f));
	uint8_t sig[SIG_MAX], tag[32], bad[32], out[32], one[32] = {1};

	(void)state;
	assert_non_null(f);
	fixture_init(f, 3);
	assert_int_equal(fx_sign(f, sig, 1), 0);
	assert_int_equal(proto_ring_tag(tag, f->sk[1], f->ind), 0);
	assert_int_equal(fx_verify(f, sig, tag), 0);
	for (size_t i = 0; i < N(bad_points); i++) {
		uint8_t saved[32], sig2[SIG_MAX];

		print_message("bad point %zu: %s\n", i, bad_points[i].why);
		hex32(bad, bad_points[i].hex);
		assert_int_equal(proto_ring_pk_check(bad), PROTO_E_RING_POINT);
		assert_int_equal(proto_ring_raw_double_mult_vartime(out, one, bad, one, f->ring[0]),
				 PROTO_E_RING_POINT);
		/* As a ring key. */
		memcpy(saved, f->ring[2], 32);
		memcpy(f->ring[2], bad, 32);
		assert_int_equal(fx_verify(f, sig, tag), PROTO_E_RING_POINT);
		assert_int_equal(fx_sign(f, sig2, 1), PROTO_E_RING_POINT);
		memcpy(f->ring[2], saved, 32);
		/* As I, in the signature and the body alike. */
		memcpy(sig2, sig, sizeof(sig2));
		memcpy(sig2, bad, 32);
		assert_int_equal(fx_verify(f, sig2, bad), PROTO_E_RING_POINT);
	}
	/* The top-bit alias of a real tag must not verify as a second tag for the same member. */
	memcpy(bad, tag, 32);
	bad[31] |= 0x80;
	memcpy(sig, bad, 32);
	assert_int_equal(fx_verify(f, sig, bad), PROTO_E_RING_POINT);
	free(f);
}

/*
 * Oracle for the strict decoder: for an encoding with the top bit clear, libsodium's decode
 * followed by its canonical encode (1·P) reproduces the input exactly when the input is a
 * canonical non-identity encoding. Random strings hit the valid case about one time in eight.
 */
static void test_decoder_oracle(void **state)
{
	uint64_t rng = 0x5eed0001;
	uint8_t s[32], q[32], one[32] = {1};
	int valid = 0;

	(void)state;
	for (int it = 0; it < 4000; it++) {
		bool sodium_ok;

		for (int i = 0; i < 32; i += 8) {
			uint64_t r = tu_rand(&rng);

			memcpy(s + i, &r, 8);
		}
		s[31] &= 0x7f;
		if (it % 4 == 0)
			s[0] &= 0xfe; /* non-negative, so more of them are valid */
		sodium_ok = proto_ring_raw_scalarmult(q, one, s) == 0 && memcmp(q, s, 32) == 0;
		assert_int_equal(proto_ring_pk_check(s) == 0, sodium_ok);
		valid += sodium_ok;
	}
	assert_true(valid > 300);
}

/* a·A + b·B by the variable-time path equals libsodium's two multiplications and one add. */
static void test_double_mult_cross_check(void **state)
{
	uint8_t a[32], A[32], b[32], B[32], ta[32], tb[32], want[32], got[32];

	(void)state;
	for (int it = 0; it < 200; it++) {
		assert_int_equal(proto_ring_keypair(A, a), 0);
		assert_int_equal(proto_ring_keypair(B, b), 0);
		if (it % 3 == 0)
			memset(a + 8, 0, 24); /* short scalars: long zero runs in the NAF */
		if (it == 1)
			memcpy(B, A, 32); /* equal bases */
		assert_int_equal(proto_ring_raw_scalarmult(ta, a, A), 0);
		assert_int_equal(proto_ring_raw_scalarmult(tb, b, B), 0);
		assert_int_equal(proto_ring_raw_add(want, ta, tb), 0);
		assert_int_equal(proto_ring_raw_double_mult_vartime(got, a, A, b, B), 0);
		assert_memory_equal(got, want, 32);
	}
}

/*
 * Known answer, verified by an independent pure-Python implementation of RFC 9496 and of the
 * transcript in ring.h (not by this code): keys, tag and a signature by member 1 of 3.
 */
static void test_known_answer(void **state)
{
	static const char *const sk_hex[3] = {
		"8e2a28c38bbb8443aa66cb610827bd2611dcbd1db5a9db2cb8559383ee10b20a",
		"623b11442a8b5e374aabeca824c489d7cb1e4b1b7ddda557874470830fa07501",
		"5620d3713b25a190cae034d9135714c745dc471fba3e33e18b99950190dfed00",
	};
	static const char *const pk_hex[3] = {
		"10edb3ce852b740204784149c609f0a7583875f9dd3a13e186e23a1aab9c336a",
		"583679d8223f88dddf753df1042ca849f6f02e7e166e604a1f8d86972e635172",
		"92c7b6cbc0ec1bb3b862199b7e8d6d016df71d4abc389255c2ed40a52fab0a2c",
	};
	static const char tag_hex[] =
		"2a94b3bcb248a82b8efb0991c3d08a11330f270dd721062558487f0d4a02ee07";
	static const char sig_hex[] =
		"2a94b3bcb248a82b8efb0991c3d08a11330f270dd721062558487f0d4a02ee07"
		"aa44c1bf210f926481669062c4d4edb1bc123532542e6b68dc8351f9ee44360f"
		"6f2f01bee887d6bdb3a885a2f7fea249c8a0b24b7caa393a6171dc4fa332a809"
		"182ac5a9a60f9edb64797c92fbd839b6d87c8145bfbc0662c7cd205df9071906"
		"4533e51c6d6d24985a41a789ca6ac159f159965fab780f152e0156299ef23b01";
	static const char msg[] = "chatham/report/1 example body";
	uint8_t sk[3][32], ring[3][32], pk[32], ind[32], tag[32], want_tag[32], *sig;
	size_t sig_len;

	(void)state;
	for (int i = 0; i < 32; i++)
		ind[i] = (uint8_t)(0xa0 + i);
	for (int i = 0; i < 3; i++) {
		hex32(sk[i], sk_hex[i]);
		hex32(ring[i], pk_hex[i]);
		assert_int_equal(proto_ring_pk_from_sk(pk, sk[i]), 0);
		assert_memory_equal(pk, ring[i], 32);
	}
	hex32(want_tag, tag_hex);
	assert_int_equal(proto_ring_tag(tag, sk[1], ind), 0);
	assert_memory_equal(tag, want_tag, 32);
	sig = tu_unhex(sig_hex, &sig_len);
	assert_int_equal(sig_len, proto_ring_sig_size(3));
	assert_int_equal(proto_ring_verify(sig, sig_len, (const uint8_t *)msg, strlen(msg), 42,
					   ring, 3, ind, tag),
			 0);
	assert_int_equal(proto_ring_verify(sig, sig_len, (const uint8_t *)msg, strlen(msg), 41,
					   ring, 3, ind, tag),
			 PROTO_E_RING_SIG);
	free(sig);
}

static void test_round_trip_every_position(void **state)
{
	static const size_t sizes[] = {1, 2, 3, 4, 7, 16};
	struct fixture *f = malloc(sizeof(*f));
	uint8_t sig[SIG_MAX], tag[32];

	(void)state;
	assert_non_null(f);
	for (size_t k = 0; k < N(sizes); k++) {
		fixture_init(f, sizes[k]);
		for (size_t s = 0; s < f->n; s++) {
			memset(sig, 0xee, sizeof(sig));
			assert_int_equal(fx_sign(f, sig, s), 0);
			assert_int_equal(proto_ring_tag(tag, f->sk[s], f->ind), 0);
			assert_memory_equal(sig, tag, 32); /* layout: I first */
			assert_int_equal(fx_verify(f, sig, tag), 0);
		}
	}
	free(f);
}

static void test_empty_message_and_max_ring(void **state)
{
	struct fixture *f = malloc(sizeof(*f));
	uint8_t sig[SIG_MAX], tag[32];
	size_t n = PROTO_REPORT_RING_MAX, s = 200;

	(void)state;
	assert_non_null(f);
	fixture_init(f, n);
	assert_int_equal(proto_ring_tag(tag, f->sk[s], f->ind), 0);
	assert_int_equal(
		proto_ring_sign(sig, sizeof(sig), NULL, 0, 1, f->ring, n, s, f->sk[s], f->ind), 0);
	assert_int_equal(
		proto_ring_verify(sig, proto_ring_sig_size(n), NULL, 0, 1, f->ring, n, f->ind, tag),
		0);
	assert_int_equal(proto_ring_verify(sig, proto_ring_sig_size(n), f->msg, 1, 1, f->ring, n,
					   f->ind, tag),
			 PROTO_E_RING_SIG);
	free(f);
}

static void test_seeded(void **state)
{
	struct fixture *f = malloc(sizeof(*f));
	uint8_t s1[SIG_MAX], s2[SIG_MAX], s3[SIG_MAX], tag[32], seed[32] = {1}, seed2[32] = {2};
	size_t len;

	(void)state;
	assert_non_null(f);
	fixture_init(f, 5);
	len = proto_ring_sig_size(5);
	assert_int_equal(proto_ring_tag(tag, f->sk[3], f->ind), 0);
	assert_int_equal(proto_ring_sign_seeded(s1, len, f->msg, sizeof(f->msg), f->epoch, f->ring,
						5, 3, f->sk[3], f->ind, seed),
			 0);
	assert_int_equal(proto_ring_sign_seeded(s2, len, f->msg, sizeof(f->msg), f->epoch, f->ring,
						5, 3, f->sk[3], f->ind, seed),
			 0);
	assert_int_equal(proto_ring_sign_seeded(s3, len, f->msg, sizeof(f->msg), f->epoch, f->ring,
						5, 3, f->sk[3], f->ind, seed2),
			 0);
	assert_memory_equal(s1, s2, len);
	assert_memory_not_equal(s1 + 32, s3 + 32, len - 32);
	assert_int_equal(fx_verify(f, s1, tag), 0);
	assert_int_equal(fx_verify(f, s3, tag), 0);
	/* Same seed, other message: the nonce must differ (else s_π - s'_π would reveal x). */
	f->msg[0] ^= 1;
	assert_int_equal(proto_ring_sign_seeded(s2, len, f->msg, sizeof(f->msg), f->epoch, f->ring,
						5, 3, f->sk[3], f->ind, seed),
			 0);
	assert_memory_not_equal(s1 + 64 + 3 * 32, s2 + 64 + 3 * 32, 32);
	assert_memory_not_equal(s1 + 64, s2 + 64, 32);
	free(f);
}

/* Changing any single byte of the signature, message, ring, tag or indicator must fail. */
static void test_tamper_every_byte(void **state)
{
	struct fixture *f = malloc(sizeof(*f));
	uint8_t sig[SIG_MAX], tag[32];
	size_t len;

	(void)state;
	assert_non_null(f);
	fixture_init(f, 4);
	len = proto_ring_sig_size(4);
	assert_int_equal(fx_sign(f, sig, 2), 0);
	assert_int_equal(proto_ring_tag(tag, f->sk[2], f->ind), 0);
	assert_int_equal(fx_verify(f, sig, tag), 0);
	for (size_t i = 0; i < len; i++) {
		uint8_t m = (uint8_t)(1u << (i % 8));

		sig[i] ^= m;
		assert_int_not_equal(fx_verify(f, sig, tag), 0);
		sig[i] ^= m;
	}
	for (size_t i = 0; i < sizeof(f->msg); i++) {
		f->msg[i] ^= 0x20;
		assert_int_equal(fx_verify(f, sig, tag), PROTO_E_RING_SIG);
		f->msg[i] ^= 0x20;
	}
	for (size_t k = 0; k < f->n; k++)
		for (size_t i = 0; i < 32; i++) {
			uint8_t m = (uint8_t)(1u << ((i + k) % 8));

			f->ring[k][i] ^= m;
			assert_int_not_equal(fx_verify(f, sig, tag), 0);
			f->ring[k][i] ^= m;
		}
	for (size_t i = 0; i < 32; i++) {
		tag[i] ^= 0x01;
		assert_int_equal(fx_verify(f, sig, tag), PROTO_E_RING_SIG);
		tag[i] ^= 0x01;
		f->ind[i] ^= 0x01;
		assert_int_equal(fx_verify(f, sig, tag), PROTO_E_RING_SIG);
		f->ind[i] ^= 0x01;
	}
	assert_int_equal(fx_verify(f, sig, tag), 0);
	free(f);
}

/* The signature binds the epoch and the exact ordered ring. */
static void test_binds_epoch_and_ring(void **state)
{
	struct fixture *f = malloc(sizeof(*f));
	uint8_t sig[SIG_MAX], tag[32], tmp[32];

	(void)state;
	assert_non_null(f);
	fixture_init(f, 4);
	assert_int_equal(fx_sign(f, sig, 0), 0);
	assert_int_equal(proto_ring_tag(tag, f->sk[0], f->ind), 0);
	f->epoch++;
	assert_int_equal(fx_verify(f, sig, tag), PROTO_E_RING_SIG);
	f->epoch--;
	memcpy(tmp, f->ring[1], 32);
	memcpy(f->ring[1], f->ring[3], 32);
	memcpy(f->ring[3], tmp, 32);
	assert_int_equal(fx_verify(f, sig, tag), PROTO_E_RING_SIG);
	memcpy(f->ring[3], f->ring[1], 32);
	memcpy(f->ring[1], tmp, 32);
	assert_int_equal(fx_verify(f, sig, tag), 0);
	/* A smaller or larger ring has another signature length. */
	assert_int_equal(proto_ring_verify(sig, proto_ring_sig_size(4), f->msg, sizeof(f->msg),
					   f->epoch, f->ring, 3, f->ind, tag),
			 PROTO_E_RING_SIG_LEN);
	assert_int_equal(proto_ring_verify(sig, proto_ring_sig_size(3), f->msg, sizeof(f->msg),
					   f->epoch, f->ring, 3, f->ind, tag),
			 PROTO_E_RING_SIG);
	free(f);
}

static void test_non_member(void **state)
{
	struct fixture *f = malloc(sizeof(*f));
	uint8_t sig[SIG_MAX], tag[32], out_pk[32], out_sk[32], saved[32], rnd[SIG_MAX];
	size_t len;

	(void)state;
	assert_non_null(f);
	fixture_init(f, 4);
	len = proto_ring_sig_size(4);
	assert_int_equal(proto_ring_keypair(out_pk, out_sk), 0);
	/* The outsider's key does not match any ring position. */
	for (size_t i = 0; i < f->n; i++)
		assert_int_equal(proto_ring_sign(sig, len, f->msg, sizeof(f->msg), f->epoch,
						 f->ring, f->n, i, out_sk, f->ind),
				 PROTO_E_RING_SIGNER);
	assert_int_equal(proto_ring_index_of(f->ring, f->n, out_pk), PROTO_E_RING_SIGNER);
	/* A member's key at the wrong index is refused too. */
	assert_int_equal(fx_sign(f, sig, 1), 0);
	assert_int_equal(proto_ring_sign(sig, len, f->msg, sizeof(f->msg), f->epoch, f->ring, f->n,
					 2, f->sk[1], f->ind),
			 PROTO_E_RING_SIGNER);
	assert_true(proto_ct_equal(sig, (const uint8_t[PROTO_REPORT_SIG_MAX]){0}, len));
	/* The outsider signs a ring with its own key in place of member 3 ... */
	memcpy(saved, f->ring[3], 32);
	memcpy(f->ring[3], out_pk, 32);
	assert_int_equal(proto_ring_sign(sig, len, f->msg, sizeof(f->msg), f->epoch, f->ring, f->n,
					 3, out_sk, f->ind),
			 0);
	assert_int_equal(proto_ring_tag(tag, out_sk, f->ind), 0);
	assert_int_equal(fx_verify(f, sig, tag), 0);
	/* ... which does not verify for the real ring. */
	memcpy(f->ring[3], saved, 32);
	assert_int_equal(fx_verify(f, sig, tag), PROTO_E_RING_SIG);
	/* Nor does a member's tag pasted onto it. */
	assert_int_equal(proto_ring_tag(tag, f->sk[3], f->ind), 0);
	memcpy(sig, tag, 32);
	assert_int_equal(fx_verify(f, sig, tag), PROTO_E_RING_SIG);
	/* Random well-formed signatures fail. */
	for (int it = 0; it < 20; it++) {
		uint8_t pk[32];

		assert_int_equal(proto_ring_keypair(pk, rnd + 32), 0);
		for (size_t i = 0; i < f->n; i++)
			assert_int_equal(proto_ring_keypair(pk, rnd + 64 + 32 * i), 0);
		memcpy(rnd, tag, 32);
		assert_int_equal(fx_verify(f, rnd, tag), PROTO_E_RING_SIG);
	}
	proto_wipe(out_sk, sizeof(out_sk));
	free(f);
}

/* Same member, same indicator: one tag, whatever the message, ring or epoch. */
static void test_linkable(void **state)
{
	struct fixture *f = malloc(sizeof(*f));
	uint8_t(*sub)[32] = malloc(3 * 32);
	uint8_t s1[SIG_MAX], s2[SIG_MAX], tag[32];

	(void)state;
	assert_non_null(f);
	assert_non_null(sub);
	fixture_init(f, 6);
	assert_int_equal(fx_sign(f, s1, 4), 0);
	/* Another report by member 4, a subset ring {1, 4, 5}, another epoch. */
	memcpy(sub[0], f->ring[1], 32);
	memcpy(sub[1], f->ring[4], 32);
	memcpy(sub[2], f->ring[5], 32);
	assert_int_equal(proto_ring_sign(s2, SIG_MAX, (const uint8_t *)"revoke", 6, 9, sub, 3, 1,
					 f->sk[4], f->ind),
			 0);
	assert_memory_equal(s1, s2, 32);
	assert_int_equal(proto_ring_tag(tag, f->sk[4], f->ind), 0);
	assert_memory_equal(s1, tag, 32);
	assert_int_equal(fx_verify(f, s1, tag), 0);
	assert_int_equal(proto_ring_verify(s2, proto_ring_sig_size(3), (const uint8_t *)"revoke", 6,
					   9, sub, 3, f->ind, tag),
			 0);
	free(sub);
	free(f);
}

/* Tags of one member on two indicators, and of two members on one, are all distinct. */
static void test_unlinkable(void **state)
{
	uint8_t pk[4][32], sk[4][32], ind[8][32], tags[4][8][32], s[SIG_MAX];
	uint8_t ring[2][32];

	(void)state;
	for (int m = 0; m < 4; m++)
		assert_int_equal(proto_ring_keypair(pk[m], sk[m]), 0);
	for (int i = 0; i < 8; i++) {
		memset(ind[i], 0, 32);
		ind[i][0] = (uint8_t)i; /* ids differing in one bit still give unrelated tags */
	}
	for (int m = 0; m < 4; m++)
		for (int i = 0; i < 8; i++)
			assert_int_equal(proto_ring_tag(tags[m][i], sk[m], ind[i]), 0);
	for (int a = 0; a < 32; a++)
		for (int b = a + 1; b < 32; b++)
			assert_memory_not_equal(tags[a / 8][a % 8], tags[b / 8][b % 8], 32);
	/* The tag inside a signature on another indicator differs from the first one. */
	memcpy(ring[0], pk[0], 32);
	memcpy(ring[1], pk[1], 32);
	assert_int_equal(proto_ring_sign(s, SIG_MAX, NULL, 0, 1, ring, 2, 0, sk[0], ind[1]), 0);
	assert_memory_equal(s, tags[0][1], 32);
	assert_int_equal(proto_ring_verify(s, proto_ring_sig_size(2), NULL, 0, 1, ring, 2, ind[1],
					   tags[0][1]),
			 0);
	/* Replayed onto another indicator with the matching tag, it fails. */
	assert_int_equal(proto_ring_verify(s, proto_ring_sig_size(2), NULL, 0, 1, ring, 2, ind[2],
					   tags[0][1]),
			 PROTO_E_RING_SIG);
	proto_wipe(sk, sizeof(sk));
}

/* c_0 and every s_i must be canonical; s + L (the same residue) is rejected. */
static void test_noncanonical_scalars(void **state)
{
	struct fixture *f = malloc(sizeof(*f));
	uint8_t sig[SIG_MAX], bad[SIG_MAX], tag[32];
	size_t len, nsc;

	(void)state;
	assert_non_null(f);
	fixture_init(f, 3);
	len = proto_ring_sig_size(3);
	nsc = f->n + 1;
	assert_int_equal(fx_sign(f, sig, 0), 0);
	assert_int_equal(proto_ring_tag(tag, f->sk[0], f->ind), 0);
	for (size_t k = 0; k < nsc; k++) {
		uint8_t *sc = bad + 32 + 32 * k;

		memcpy(bad, sig, len);
		add256(sc, sig + 32 + 32 * k, order_l);
		assert_int_equal(fx_verify(f, bad, tag), PROTO_E_RING_SCALAR);
		memcpy(sc, order_l, 32);
		assert_int_equal(fx_verify(f, bad, tag), PROTO_E_RING_SCALAR);
		memset(sc, 0xff, 32);
		assert_int_equal(fx_verify(f, bad, tag), PROTO_E_RING_SCALAR);
		memcpy(sc, sig + 32 + 32 * k, 32);
		sc[31] |= 0x80;
		assert_int_equal(fx_verify(f, bad, tag), PROTO_E_RING_SCALAR);
	}
	free(f);
}

static void test_errors(void **state)
{
	struct fixture *f = malloc(sizeof(*f));
	uint8_t sig[SIG_MAX + 32], tag[32];
	size_t len;

	(void)state;
	assert_non_null(f);
	fixture_init(f, 4);
	len = proto_ring_sig_size(4);
	assert_int_equal(fx_sign(f, sig, 0), 0);
	assert_int_equal(proto_ring_tag(tag, f->sk[0], f->ind), 0);
	/* Ring size bounds. */
	assert_int_equal(proto_ring_verify(sig, proto_ring_sig_size(0), f->msg, 1, 1, f->ring, 0,
					   f->ind, tag),
			 PROTO_E_RING_SIZE);
	assert_int_equal(
		proto_ring_sign(sig, sizeof(sig), f->msg, 1, 1, f->ring, 0, 0, f->sk[0], f->ind),
		PROTO_E_RING_SIZE);
	assert_int_equal(proto_ring_verify(sig, proto_ring_sig_size(PROTO_REPORT_RING_MAX + 1),
					   f->msg, 1, 1, f->ring, PROTO_REPORT_RING_MAX + 1, f->ind,
					   tag),
			 PROTO_E_RING_SIZE);
	assert_int_equal(proto_ring_sign(sig, sizeof(sig), f->msg, 1, 1, f->ring,
					 PROTO_REPORT_RING_MAX + 1, 0, f->sk[0], f->ind),
			 PROTO_E_RING_SIZE);
	/* Signature length. */
	assert_int_equal(proto_ring_verify(sig, len - 1, f->msg, sizeof(f->msg), f->epoch, f->ring,
					   4, f->ind, tag),
			 PROTO_E_RING_SIG_LEN);
	assert_int_equal(proto_ring_verify(sig, len + 1, f->msg, sizeof(f->msg), f->epoch, f->ring,
					   4, f->ind, tag),
			 PROTO_E_RING_SIG_LEN);
	assert_int_equal(proto_ring_sign(sig, len - 1, f->msg, sizeof(f->msg), f->epoch, f->ring, 4,
					 0, f->sk[0], f->ind),
			 PROTO_E_RING_SIG_LEN);
	/* Signer index out of range; secret key not a valid scalar. */
	assert_int_equal(proto_ring_sign(sig, len, f->msg, sizeof(f->msg), f->epoch, f->ring, 4, 4,
					 f->sk[0], f->ind),
			 PROTO_E_RING_SIGNER);
	assert_int_equal(proto_ring_sign(sig, len, f->msg, sizeof(f->msg), f->epoch, f->ring, 4, 0,
					 order_l, f->ind),
			 PROTO_E_RING_SCALAR);
	/* Duplicate ring keys, on both sides. */
	assert_int_equal(fx_sign(f, sig, 0), 0);
	memcpy(f->ring[3], f->ring[1], 32);
	assert_int_equal(fx_verify(f, sig, tag), PROTO_E_RING_DUP);
	assert_int_equal(fx_sign(f, sig, 0), PROTO_E_RING_DUP);
	assert_string_equal(proto_error_name(PROTO_E_RING_DUP), "PROTO_E_RING_DUP");
	assert_string_equal(proto_error_name(PROTO_E_RING_SIG_LEN), "PROTO_E_RING_SIG_LEN");
	free(f);
}

static void test_index_of(void **state)
{
	struct fixture *f = malloc(sizeof(*f));

	(void)state;
	assert_non_null(f);
	fixture_init(f, 5);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(proto_ring_index_of(f->ring, 5, f->ring[i]), (int)i);
	assert_int_equal(proto_ring_index_of(f->ring, 4, f->ring[4]), PROTO_E_RING_SIGNER);
	free(f);
}

static void test_pick(void **state)
{
	static const struct {
		size_t k, roster, signer;
	} ok[] = {{1, 1, 0},   {1, 10, 9},	{4, 10, 0},	     {4, 10, 5},
		  {10, 10, 3}, {256, 300, 299}, {256, 65536, 40000}, {8, 65536, 0}};
	uint16_t out[PROTO_REPORT_RING_MAX];
	unsigned count[10] = {0};

	(void)state;
	for (size_t c = 0; c < N(ok); c++) {
		int pos = proto_ring_pick(out, ok[c].k, ok[c].roster, ok[c].signer);

		assert_true(pos >= 0 && (size_t)pos < ok[c].k);
		assert_int_equal(out[pos], ok[c].signer);
		for (size_t i = 0; i < ok[c].k; i++) {
			assert_true(out[i] < ok[c].roster);
			if (i)
				assert_true(out[i - 1] < out[i]);
		}
	}
	assert_int_equal(proto_ring_pick(out, 0, 10, 0), PROTO_E_RING_SIZE);
	assert_int_equal(proto_ring_pick(out, 11, 10, 0), PROTO_E_RING_SIZE);
	assert_int_equal(proto_ring_pick(out, PROTO_REPORT_RING_MAX + 1, 1000, 0),
			 PROTO_E_RING_SIZE);
	assert_int_equal(proto_ring_pick(out, 2, 10, 10), -EINVAL);
	assert_int_equal(proto_ring_pick(out, 2, 65537, 0), -EINVAL);
	assert_int_equal(proto_ring_pick(out, 1, 0, 0), -EINVAL);
	/* Every non-signer is about equally likely: 3000 draws of 3 others out of 9. */
	for (int it = 0; it < 3000; it++) {
		assert_true(proto_ring_pick(out, 4, 10, 6) >= 0);
		for (int i = 0; i < 4; i++)
			count[out[i]]++;
	}
	for (int m = 0; m < 10; m++) {
		if (m == 6)
			assert_int_equal(count[m], 3000);
		else
			assert_in_range(count[m], 800, 1200);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_rfc_multiples),
		cmocka_unit_test(test_bad_points),
		cmocka_unit_test(test_decoder_oracle),
		cmocka_unit_test(test_double_mult_cross_check),
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_round_trip_every_position),
		cmocka_unit_test(test_empty_message_and_max_ring),
		cmocka_unit_test(test_seeded),
		cmocka_unit_test(test_tamper_every_byte),
		cmocka_unit_test(test_binds_epoch_and_ring),
		cmocka_unit_test(test_non_member),
		cmocka_unit_test(test_linkable),
		cmocka_unit_test(test_unlinkable),
		cmocka_unit_test(test_noncanonical_scalars),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_index_of),
		cmocka_unit_test(test_pick),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
