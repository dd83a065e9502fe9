/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness: sealed sightings (proto/sealed.h). The first input byte selects a mode; the
 * harness aborts only when an invariant is violated:
 *   0  decoding: arbitrary bytes are decoded (twice, same result) and, when they decode,
 *      verified against a fixed ring; nothing may crash and a forged body never verifies
 *      unless it is byte for byte one of the valid submissions made at start-up;
 *   1  opening: a group of SHARES valid submissions (k = 3) made at start-up is mutated by
 *      the input (each 5-byte record: which share, which field, offset, XOR value) and
 *      opened. Mutated shares get a distinct ring tag, as a forger must. Whenever at least
 *      k shares are untouched the group must open, and any opening must name the sealed
 *      value: forged shares never block a group or change what it says.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/indicator.h"
#include "proto/oprf.h"
#include "proto/ring.h"
#include "proto/sealed.h"

#define MEMBERS 5
#define SHARES 5
#define K 3

static uint8_t pk[MEMBERS][32];
static uint16_t idx[MEMBERS];
static struct proto_sealed valid[SHARES];
static uint8_t *wire[SHARES];
static size_t wire_len[SHARES];

static void init(void)
{
	uint8_t sk[MEMBERS][32], key[1][32], vks[1][32], vk[32], x[32], r[32], community[32];
	struct proto_sealed_value v;

	if (proto_crypto_init() != 0)
		abort();
	memset(community, 7, sizeof community);
	for (int i = 0; i < MEMBERS; i++) {
		proto_ring_keypair(pk[i], sk[i]);
		idx[i] = (uint16_t)i;
	}
	if (proto_oprf_deal(key, vks, vk, 1, 1) != 0)
		abort();
	memset(&v, 0, sizeof v);
	if (proto_indicator_parse(&v.ind, PROTO_IND_DOMAIN, "fuzz.example", 12, NULL) != 0)
		abort();
	v.confidence = 60;
	proto_indicator_id(&v.ind, x);
	if (proto_oprf_eval_key(r, key[0], x) != 0)
		abort();
	for (int i = 0; i < SHARES; i++) {
		if (proto_sealed_seal(&wire[i], &wire_len[i], &v, r, community, 1, K, 100,
				      (const uint8_t(*)[32])pk, idx, MEMBERS, (size_t)i,
				      sk[i]) != 0 ||
		    proto_sealed_decode(wire[i], wire_len[i], &valid[i]) != 0 ||
		    proto_sealed_verify(wire[i], wire_len[i], &valid[i],
					(const uint8_t(*)[32])pk) != 0)
			abort();
	}
	proto_wipe(sk, sizeof sk);
}

static bool is_valid_wire(const uint8_t *data, size_t size)
{
	for (int i = 0; i < SHARES; i++)
		if (size == wire_len[i] && memcmp(data, wire[i], size) == 0)
			return true;
	return false;
}

static void mode_decode(const uint8_t *data, size_t size)
{
	static struct proto_sealed a, b;
	int ra = proto_sealed_decode(data, size, &a), rb = proto_sealed_decode(data, size, &b);

	if (ra != rb || (ra == 0 && memcmp(&a, &b, sizeof a) != 0))
		abort();
	if (ra == 0 && a.ring_n == MEMBERS &&
	    proto_sealed_verify(data, size, &a, (const uint8_t(*)[32])pk) == 0 &&
	    !is_valid_wire(data, size))
		abort();
}

static void mode_open(const uint8_t *data, size_t size)
{
	static struct proto_sealed s[SHARES];
	const struct proto_sealed *p[SHARES];
	struct proto_sealed_opened o;
	bool touched[SHARES] = {false};
	size_t untouched = 0;
	int rc;

	memcpy(s, valid, sizeof s);
	for (size_t off = 0; off + 5 <= size; off += 5) {
		size_t who = data[off] % SHARES, at = data[off + 2];
		uint8_t x = data[off + 4] ? data[off + 4] : 1;
		uint8_t *field;
		size_t flen;

		switch (data[off + 1] % 6) {
		case 0:
			field = s[who].u, flen = 32;
			break;
		case 1:
			field = s[who].y, flen = 32;
			break;
		case 2:
			field = s[who].check, flen = 32;
			break;
		case 3:
			field = s[who].ct, flen = s[who].ct_len;
			break;
		case 4:
			field = s[who].nonce, flen = sizeof s[who].nonce;
			break;
		default:
			field = (uint8_t *)&s[who].bucket, flen = sizeof s[who].bucket;
			break;
		}
		field[at % flen] ^= x;
		if (!touched[who]) {
			touched[who] = true;
			s[who].tag[31] ^= (uint8_t)(0x40 | who);
		}
	}
	for (int i = 0; i < SHARES; i++) {
		untouched += !touched[i];
		/* The input also picks the order in which the node holds the shares. */
		p[i] = &s[(i + (size ? data[0] : 0)) % SHARES];
	}
	rc = proto_sealed_open(&o, p, SHARES);
	if (untouched >= K && rc != 0)
		abort();
	if (rc == 0 && (strcmp(o.value.ind.value, "fuzz.example") != 0 || o.count < K ||
			o.count + o.dropped != SHARES))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;

	if (!ready) {
		init();
		ready = true;
	}
	if (size == 0)
		return 0;
	if (data[0] & 1)
		mode_open(data + 1, size - 1);
	else
		mode_decode(data + 1, size - 1);
	return 0;
}
