/* SPDX-License-Identifier: MIT */
/*
 * Sealed sightings: k − 1 submissions never open and k always do, in any order; a member
 * sealing one value twice counts once; forged shares and ciphertexts are dropped without
 * blocking the group; tags link one member's submissions on one value only; the wire form
 * round-trips, is signed (every byte matters) and is refused when malformed. The ring floor
 * rises above every epoch that lists a member who left or whose ring key changed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/indicator.h"
#include "proto/oprf.h"
#include "proto/ring.h"
#include "proto/roster.h"
#include "proto/sealed.h"

#define MEMBERS 6

struct fx {
	uint8_t pk[MEMBERS][32];
	uint8_t sk[MEMBERS][32];
	uint16_t idx[MEMBERS];
	uint8_t community[32];
	uint8_t oprf_key[32]; /* t = 1 dealing: the share is the key (tests/unit/test_proto_oprf
			       * checks the threshold path gives the same function) */
};

static struct fx F;

static int setup(void **state)
{
	uint8_t vks[1][32], vk[32];

	(void)state;
	for (int i = 0; i < MEMBERS; i++) {
		assert_int_equal(proto_ring_keypair(F.pk[i], F.sk[i]), 0);
		F.idx[i] = (uint16_t)(i * 2); /* roster indices need not be contiguous */
	}
	proto_random(F.community, 32);
	assert_int_equal(proto_oprf_deal((uint8_t(*)[32])F.oprf_key, vks, vk, 1, 1), 0);
	return 0;
}

static void value_of(struct proto_sealed_value *v, const char *domain, uint8_t conf)
{
	memset(v, 0, sizeof *v);
	assert_int_equal(
		proto_indicator_parse(&v->ind, PROTO_IND_DOMAIN, domain, strlen(domain), NULL), 0);
	v->confidence = conf;
}

/* Member @m seals @domain with threshold @k into @out (decoded) and returns the wire bytes. */
static uint8_t *seal(int m, const char *domain, uint8_t k, uint32_t bucket, uint8_t conf,
		     struct proto_sealed *out, size_t *len)
{
	struct proto_sealed_value v;
	uint8_t x[32], r[32], *buf;
	size_t n;

	value_of(&v, domain, conf);
	proto_indicator_id(&v.ind, x);
	assert_int_equal(proto_oprf_eval_key(r, F.oprf_key, x), 0);
	assert_int_equal(proto_sealed_seal(&buf, &n, &v, r, F.community, 7, k, bucket,
					   (const uint8_t(*)[32])F.pk, F.idx, MEMBERS, (size_t)m,
					   F.sk[m]),
			 0);
	assert_int_equal(proto_sealed_decode(buf, n, out), 0);
	assert_int_equal(proto_sealed_verify(buf, n, out, (const uint8_t(*)[32])F.pk), 0);
	if (len)
		*len = n;
	return buf;
}

static void test_threshold(void **state)
{
	struct proto_sealed s[4];
	const struct proto_sealed *p[4];
	struct proto_sealed_opened o;

	(void)state;
	for (int i = 0; i < 4; i++) {
		free(seal(i, "evil.example", 3, 20000 + (uint32_t)i, (uint8_t)(40 + 10 * i), &s[i],
			  NULL));
		p[i] = &s[i];
	}
	/* Same value, same group tag and commitment; distinct points and ring tags. */
	for (int i = 1; i < 4; i++) {
		assert_memory_equal(s[i].group, s[0].group, 32);
		assert_memory_equal(s[i].check, s[0].check, 32);
		assert_memory_not_equal(s[i].tag, s[0].tag, 32);
	}
	assert_int_equal(proto_sealed_open(&o, p, 1), PROTO_E_SEALED_OPEN);
	assert_int_equal(proto_sealed_open(&o, p, 2), PROTO_E_SEALED_OPEN);
	assert_int_equal(o.count, 0); /* nothing leaks from a failed open */
	assert_int_equal(proto_sealed_open(&o, p, 3), 0);
	assert_string_equal(o.value.ind.value, "evil.example");
	assert_int_equal(o.value.ind.type, PROTO_IND_DOMAIN);
	assert_int_equal(o.count, 3);
	assert_int_equal(o.first_bucket, 20000);
	assert_int_equal(o.last_bucket, 20002);
	assert_int_equal(o.value.confidence, 50);
	assert_int_equal(o.dropped, 0);
	/* Order does not matter. */
	p[0] = &s[3];
	p[3] = &s[0];
	assert_int_equal(proto_sealed_open(&o, p, 4), 0);
	assert_int_equal(o.count, 4);
}

static void test_same_member_counts_once(void **state)
{
	struct proto_sealed s[4];
	const struct proto_sealed *p[4] = {&s[0], &s[1], &s[2], &s[3]};
	struct proto_sealed_opened o;

	(void)state;
	free(seal(0, "twice.example", 3, 1, 50, &s[0], NULL));
	free(seal(0, "twice.example", 3, 2, 50, &s[1], NULL)); /* again, new point */
	free(seal(1, "twice.example", 3, 2, 50, &s[2], NULL));
	assert_memory_equal(s[0].tag, s[1].tag, 32);
	assert_memory_not_equal(s[0].u, s[1].u, 32);
	assert_int_equal(proto_sealed_open(&o, p, 3), PROTO_E_SEALED_OPEN);
	free(seal(2, "twice.example", 3, 3, 50, &s[3], NULL));
	assert_int_equal(proto_sealed_open(&o, p, 4), 0);
	assert_int_equal(o.count, 3);
	assert_int_equal(o.dropped, 1);
	/* The same member's tag on another value is unrelated. */
	struct proto_sealed other;

	free(seal(0, "other.example", 3, 1, 50, &other, NULL));
	assert_memory_not_equal(other.tag, s[0].tag, 32);
	assert_memory_not_equal(other.group, s[0].group, 32);
}

static void test_forged_shares_dropped(void **state)
{
	struct proto_sealed s[6];
	const struct proto_sealed *p[6];
	struct proto_sealed_opened o;

	(void)state;
	for (int i = 0; i < 3; i++)
		free(seal(i, "forged.example", 3, 5, 50, &s[i], NULL));
	/* Member 3 saw the group tag on the wire but not the value: a random share. */
	free(seal(3, "unrelated.example", 3, 5, 50, &s[3], NULL));
	memcpy(s[3].group, s[0].group, 32);
	memcpy(s[3].check, s[0].check, 32);
	/* Member 4 copies an honest share's point but changes the value. */
	s[4] = s[1];
	s[4].y[0] ^= 1;
	s[4].tag[0] ^= 1;
	/* Member 5 names another commitment: a different polynomial altogether. */
	s[5] = s[2];
	s[5].check[0] ^= 1;
	s[5].tag[1] ^= 1;
	p[0] = &s[3];
	p[1] = &s[4];
	p[2] = &s[0];
	p[3] = &s[5];
	p[4] = &s[1];
	p[5] = &s[2];
	assert_int_equal(proto_sealed_open(&o, p, 6), 0);
	assert_string_equal(o.value.ind.value, "forged.example");
	assert_int_equal(o.count, 3);
	assert_int_equal(o.dropped, 3);
	/* Two honest and two forged are not enough. */
	p[0] = &s[3];
	p[1] = &s[4];
	p[2] = &s[0];
	p[3] = &s[2];
	assert_int_equal(proto_sealed_open(&o, p, 4), PROTO_E_SEALED_OPEN);
	/* Groups are opened one at a time. */
	struct proto_sealed x;

	free(seal(0, "another.example", 3, 5, 50, &x, NULL));
	p[3] = &x;
	assert_int_equal(proto_sealed_open(&o, p, 4), -EINVAL);
}

static void test_wire(void **state)
{
	struct proto_sealed s, d;
	uint8_t *buf;
	size_t len;

	(void)state;
	buf = seal(4, "wire.example", 2, 123, 90, &s, &len);
	assert_int_equal(s.k, 2);
	assert_int_equal(s.epoch, 7);
	assert_int_equal(s.bucket, 123);
	assert_int_equal(s.ring_n, MEMBERS);
	assert_memory_equal(s.community, F.community, 32);
	/* Every byte is covered: decoding fails, or the signature does. */
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			buf[i] ^= (uint8_t)(1u << bit);
			if (proto_sealed_decode(buf, len, &d) == 0)
				assert_int_not_equal(
					proto_sealed_verify(buf, len, &d,
							    (const uint8_t(*)[32])F.pk),
					0);
			buf[i] ^= (uint8_t)(1u << bit);
		}
	}
	/* Truncations and trailing bytes. */
	for (size_t n = 0; n < len; n++)
		assert_int_not_equal(proto_sealed_decode(buf, n, &d), 0);
	uint8_t *longer = malloc(len + 1);

	memcpy(longer, buf, len);
	longer[len] = 0;
	assert_int_equal(proto_sealed_decode(longer, len + 1, &d), PROTO_E_TRAILING);
	free(longer);
	/* Verified against another ring (another epoch's keys): refused. */
	uint8_t other[MEMBERS][32];

	memcpy(other, F.pk, sizeof other);
	memcpy(other[0], F.pk[1], 32);
	memcpy(other[1], F.pk[0], 32);
	assert_int_not_equal(proto_sealed_verify(buf, len, &s, (const uint8_t(*)[32])other), 0);
	free(buf);
}

static void test_bad_parameters(void **state)
{
	struct proto_sealed_value v;
	uint8_t r[32] = {1}, *buf;
	size_t n;
	uint16_t unsorted[MEMBERS] = {0, 2, 1, 3, 4, 5};

	(void)state;
	value_of(&v, "k.example", 50);
	assert_int_equal(proto_sealed_seal(&buf, &n, &v, r, F.community, 1, 1, 0,
					   (const uint8_t(*)[32])F.pk, F.idx, MEMBERS, 0, F.sk[0]),
			 PROTO_E_SEALED_K);
	assert_int_equal(proto_sealed_seal(&buf, &n, &v, r, F.community, 1, PROTO_SEALED_K_MAX + 1,
					   0, (const uint8_t(*)[32])F.pk, F.idx, MEMBERS, 0,
					   F.sk[0]),
			 PROTO_E_SEALED_K);
	assert_int_equal(proto_sealed_seal(&buf, &n, &v, r, F.community, 1, 3, 0,
					   (const uint8_t(*)[32])F.pk, unsorted, MEMBERS, 0,
					   F.sk[0]),
			 -EINVAL);
	/* The signer's key must be at its position in the ring. */
	assert_int_equal(proto_sealed_seal(&buf, &n, &v, r, F.community, 1, 3, 0,
					   (const uint8_t(*)[32])F.pk, F.idx, MEMBERS, 1, F.sk[0]),
			 PROTO_E_RING_SIGNER);
}

/* Members 0..@n of F with ids 0x10 + i (ascending), F.pk ring keys, at @epoch. */
static void roster_of(struct proto_roster *r, struct proto_member *m, uint64_t epoch,
		      const int *who, size_t n)
{
	memset(r, 0, sizeof(*r));
	r->epoch = epoch;
	r->n_members = n;
	r->members = m;
	for (size_t i = 0; i < n; i++) {
		memset(&m[i], 0, sizeof(m[i]));
		m[i].id[0] = (uint8_t)(0x10 + who[i]);
		memcpy(m[i].ring_pk, F.pk[who[i]], 32);
	}
}

static void test_ring_floor(void **state)
{
	struct proto_roster r[5];
	struct proto_member m[5][MEMBERS];
	const struct proto_roster *rs[5] = {&r[0], &r[1], &r[2], &r[3], &r[4]};
	const int all[] = {0, 1, 2, 3}, more[] = {0, 1, 2, 3, 4}, fewer[] = {0, 1, 3, 4};

	(void)state;
	roster_of(&r[0], m[0], 3, all, 4);
	assert_int_equal(proto_sealed_ring_floor(rs, 1), 3); /* one roster: its epoch */
	roster_of(&r[1], m[1], 4, more, 5);		     /* a member joins: no change */
	assert_int_equal(proto_sealed_ring_floor(rs, 2), 3);
	roster_of(&r[2], m[2], 6, more, 5);   /* epochs need not be contiguous */
	memcpy(m[2][1].ring_pk, F.pk[5], 32); /* member 1 rotates its ring key */
	assert_int_equal(proto_sealed_ring_floor(rs, 3), 6);
	roster_of(&r[3], m[3], 7, fewer, 4); /* member 2 leaves */
	memcpy(m[3][1].ring_pk, F.pk[5], 32);
	assert_int_equal(proto_sealed_ring_floor(rs, 4), 7);
	roster_of(&r[4], m[4], 8, fewer, 4); /* nothing changes: the floor stays */
	memcpy(m[4][1].ring_pk, F.pk[5], 32);
	assert_int_equal(proto_sealed_ring_floor(rs, 5), 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threshold),
		cmocka_unit_test(test_same_member_counts_once),
		cmocka_unit_test(test_forged_shares_dropped),
		cmocka_unit_test(test_wire),
		cmocka_unit_test(test_bad_parameters),
		cmocka_unit_test(test_ring_floor),
	};

	if (proto_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, NULL);
}
