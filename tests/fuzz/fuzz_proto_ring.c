/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness: anonymous provenance decoding and verification (proto/ring.h). The first
 * input byte selects a mode; the harness aborts only when an invariant is violated:
 *   0  free-form: (n, epoch, indicator, tag, ring, signature, message) cut from the input
 *      and verified; the result must be 0 or a documented ring error, and the same twice;
 *   1  tampering: the input is XORed onto a valid (signature, tag, ring, indicator, message,
 *      epoch) made at start-up; it must verify exactly when the XOR changed nothing;
 *   2  point decoding: for an encoding with the top bit clear, proto_ring_pk_check() accepts
 *      exactly when libsodium's decode + canonical encode (1·P) round-trips it unchanged and
 *      it is not the identity; with the top bit set it always rejects;
 *   3  arithmetic: the variable-time a·A + b·B equals libsodium's two multiplications and
 *      one addition, for scalars and base-point multiples taken from the input.
 * Start-up also checks that the built-in valid signature verifies (sanity).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/report.h"
#include "proto/ring.h"

#define VN 3

static struct {
	uint8_t sig[(VN + 2) * 32];
	uint8_t tag[32];
	uint8_t ring[VN][32];
	uint8_t ind[32];
	uint8_t msg[48];
	uint8_t epoch[8];
} valid;

static uint8_t ring_buf[PROTO_REPORT_RING_MAX][32];

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static bool ring_error(int rc)
{
	return rc == 0 || rc == PROTO_E_RING_SIG || rc == PROTO_E_RING_POINT ||
	       rc == PROTO_E_RING_SCALAR || rc == PROTO_E_RING_SIZE || rc == PROTO_E_RING_SIG_LEN ||
	       rc == PROTO_E_RING_DUP;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t sk[VN][32], seed[32] = {0x5e};

	(void)argc;
	(void)argv;
	if (proto_crypto_init() != 0)
		abort();
	for (int i = 0; i < VN; i++) {
		memset(sk[i], 0, 32);
		sk[i][0] = (uint8_t)(0x31 + i);
		sk[i][9] = 0x77;
		if (proto_ring_pk_from_sk(valid.ring[i], sk[i]) != 0)
			abort();
	}
	memset(valid.ind, 0x1d, sizeof(valid.ind));
	memcpy(valid.msg, "chatham/report/1 fuzz harness message bytes....", sizeof(valid.msg));
	memcpy(valid.epoch, "\0\0\0\0\0\0\0\x05", 8);
	if (proto_ring_sign_seeded(valid.sig, sizeof(valid.sig), valid.msg, sizeof(valid.msg), 5,
				   valid.ring, VN, 1, sk[1], valid.ind, seed) != 0 ||
	    proto_ring_tag(valid.tag, sk[1], valid.ind) != 0)
		abort();
	if (proto_ring_verify(valid.sig, sizeof(valid.sig), valid.msg, sizeof(valid.msg), 5,
			      valid.ring, VN, valid.ind, valid.tag) != 0)
		abort();
	proto_wipe(sk, sizeof(sk));
	return 0;
}

/* [n][epoch 8][indicator 32][tag 32][ring n*32][sig_len 2 BE][sig][message]; n = 0 allowed. */
static void mode_free(const uint8_t *d, size_t len)
{
	const uint8_t *ind, *tag, *sig;
	size_t n, sig_len;
	uint64_t epoch;
	int rc;

	if (len < 1 + 8 + 32 + 32 + 2)
		return;
	n = d[0];
	epoch = be64(d + 1);
	ind = d + 9;
	tag = d + 41;
	d += 73;
	len -= 73;
	if (n > (len - 2) / 32)
		n = (len - 2) / 32;
	memcpy(ring_buf, d, n * 32);
	d += n * 32;
	len -= n * 32;
	sig_len = ((size_t)d[0] << 8) | d[1];
	d += 2;
	len -= 2;
	if (sig_len > len)
		sig_len = len;
	sig = d;
	rc = proto_ring_verify(sig, sig_len, d + sig_len, len - sig_len, epoch,
			       (const uint8_t(*)[32])ring_buf, n, ind, tag);
	if (!ring_error(rc))
		abort();
	if (proto_ring_verify(sig, sig_len, d + sig_len, len - sig_len, epoch,
			      (const uint8_t(*)[32])ring_buf, n, ind, tag) != rc)
		abort();
}

static void mode_tamper(const uint8_t *d, size_t len)
{
	uint8_t buf[sizeof(valid)];
	bool changed = false;
	int rc;

	memcpy(buf, &valid, sizeof(buf));
	for (size_t i = 0; i < len && i < sizeof(buf); i++) {
		buf[i] ^= d[i];
		changed |= d[i] != 0;
	}
	{
		const uint8_t *sig = buf, *tag = sig + sizeof(valid.sig), *ring = tag + 32,
			      *ind = ring + VN * 32, *msg = ind + 32, *ep = msg + sizeof(valid.msg);

		rc = proto_ring_verify(sig, sizeof(valid.sig), msg, sizeof(valid.msg), be64(ep),
				       (const uint8_t(*)[32])ring, VN, ind, tag);
	}
	if (!ring_error(rc) || (rc == 0) == changed)
		abort();
}

static void mode_point(const uint8_t *d, size_t len)
{
	uint8_t s[32] = {0}, q[32], one[32] = {1};
	bool top, sodium_ok;

	memcpy(s, d, len < 32 ? len : 32);
	top = s[31] & 0x80;
	if (top) {
		if (proto_ring_pk_check(s) != PROTO_E_RING_POINT)
			abort();
		s[31] &= 0x7f;
	}
	sodium_ok = proto_ring_raw_scalarmult(q, one, s) == 0 && memcmp(q, s, 32) == 0;
	if ((proto_ring_pk_check(s) == 0) != sodium_ok)
		abort();
}

static void mode_arith(const uint8_t *d, size_t len)
{
	uint8_t in[128] = {0}, *a = in, *b = in + 32, *ka = in + 64, *kb = in + 96;
	uint8_t A[32], B[32], ta[32], tb[32], want[32], got[32];
	static const uint8_t zero[32];

	memcpy(in, d, len < sizeof(in) ? len : sizeof(in));
	for (int i = 0; i < 4; i++)
		in[32 * i + 31] &= 0x0f; /* below 2^252 < L: canonical */
	if (proto_ring_raw_scalarmult_base(A, ka) != 0 ||
	    proto_ring_raw_scalarmult_base(B, kb) != 0)
		return; /* a zero multiplier gives the identity, not a usable base */
	if (proto_ring_raw_scalarmult(ta, a, A) != 0)
		memset(ta, 0, 32);
	if (proto_ring_raw_scalarmult(tb, b, B) != 0)
		memset(tb, 0, 32);
	if (proto_ring_raw_add(want, ta, tb) != 0)
		memcpy(want, zero, 32);
	if (proto_ring_raw_double_mult_vartime(got, a, A, b, B) != 0 || memcmp(got, want, 32) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] & 3) {
	case 0:
		mode_free(data + 1, size - 1);
		break;
	case 1:
		mode_tamper(data + 1, size - 1);
		break;
	case 2:
		mode_point(data + 1, size - 1);
		break;
	default:
		mode_arith(data + 1, size - 1);
		break;
	}
	return 0;
}
