/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_proto_noise.c — proto/noise against the published and generated vectors
 * in tests/data/noise/ (cacophony XX and XXpsk3, every vector of xxpsk0.json), and the
 * failure cases no vector covers: wrong PSK, prologue mismatch, tampering, truncation,
 * oversize, out-of-order calls, nonce exhaustion, all-zero DH, rekey, framing.
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
#include <jansson.h>

#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/noise.h"
#include "testutil.h"

/* Vector files (read with jansson) ---------------------------------------------------- */

/* The string at @key; fails the test when absent or not a string. */
static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	assert_non_null(s);
	return s;
}

/* The hex string at @key, decoded (malloc'd); fails the test when absent or not a string. */
static uint8_t *jhex(const json_t *o, const char *key, size_t *len)
{
	return tu_unhex(jstr(o, key), len);
}

/* Loads a vector file of tests/data; a missing or malformed file fails the test. */
static json_t *load_vectors(const char *rel)
{
	char *path = tu_data_path(rel);
	json_error_t err;
	json_t *root;

	root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
	if (!root)
		fail_msg("%s: %s (line %d)", path, err.text, err.line);
	assert_true(json_is_array(json_object_get(root, "vectors")));
	free(path);
	return root;
}

/* Vector replay ----------------------------------------------------------------------- */

#define BUF_MAX (PROTO_NOISE_MAX_MSG + 16)

static uint8_t *psk_of(const json_t *vec, const char *key)
{
	const json_t *a = json_object_get(vec, key);
	size_t len;
	uint8_t *psk;

	if (!a)
		return NULL;
	assert_true(json_is_array(a));
	assert_int_equal(json_array_size(a), 1);
	assert_true(json_is_string(json_array_get(a, 0)));
	psk = tu_unhex(json_string_value(json_array_get(a, 0)), &len);
	assert_int_equal(len, 32);
	return psk;
}

static bool all_handshake_payloads_empty(const json_t *msgs)
{
	for (size_t i = 0; i < 3 && i < json_array_size(msgs); i++)
		if (strlen(jstr(json_array_get(msgs, i), "payload")) != 0)
			return false;
	return true;
}

/*
 * Replays one vector. @production: drive the chatham API (proto_noise_new with the
 * community id taken from the prologue, empty handshake payloads) instead of the custom one.
 * Checks every ciphertext both ways, that the receiver recovers every payload, the
 * handshake hash on both sides and the remote static keys.
 */
static void replay(const json_t *vec, enum proto_noise_pattern pat, bool production)
{
	size_t plen, len, ilen, rlen, elen, hlen;
	uint8_t *prologue = jhex(vec, "init_prologue", &plen);
	uint8_t *rprologue = jhex(vec, "resp_prologue", &len);
	uint8_t *is = jhex(vec, "init_static", &ilen);
	uint8_t *rs = jhex(vec, "resp_static", &rlen);
	uint8_t *ie = jhex(vec, "init_ephemeral", &elen);
	uint8_t *re = jhex(vec, "resp_ephemeral", &elen);
	uint8_t *hh = jhex(vec, "handshake_hash", &hlen);
	uint8_t *ipsk = psk_of(vec, "init_psks"), *rpsk = psk_of(vec, "resp_psks");
	const json_t *msgs = json_object_get(vec, "messages");
	struct proto_noise *init, *resp;
	uint8_t *buf = malloc(BUF_MAX), *dec = malloc(BUF_MAX);
	uint8_t got[64], pk[32];

	assert_non_null(buf);
	assert_non_null(dec);
	assert_int_equal(hlen, 64);
	assert_true(json_is_array(msgs));
	assert_true(json_array_size(msgs) >= 3);
	assert_int_equal(plen, len);
	assert_memory_equal(prologue, rprologue, plen);
	if (production) {
		assert_int_equal(plen, 9 + 32);
		assert_memory_equal(prologue, "chatham/1", 9);
		init = proto_noise_new(PROTO_NOISE_INITIATOR, prologue + 9, ipsk, is, ie);
		resp = proto_noise_new(PROTO_NOISE_RESPONDER, prologue + 9, rpsk, rs, re);
	} else {
		init = proto_noise_new_custom(pat, PROTO_NOISE_INITIATOR, prologue, plen, ipsk, is,
					      ie);
		resp = proto_noise_new_custom(pat, PROTO_NOISE_RESPONDER, prologue, plen, rpsk, rs,
					      re);
	}
	assert_non_null(init);
	assert_non_null(resp);

	for (size_t i = 0; i < json_array_size(msgs); i++) {
		struct proto_noise *tx = i % 2 == 0 ? init : resp;
		struct proto_noise *rx = i % 2 == 0 ? resp : init;
		size_t pay_len, ct_len, out_len = 0, dec_len = 0;
		uint8_t *pay = jhex(json_array_get(msgs, i), "payload", &pay_len);
		uint8_t *ct = jhex(json_array_get(msgs, i), "ciphertext", &ct_len);

		if (i < 3) {
			assert_int_equal(proto_noise_status(tx), PROTO_NOISE_WRITE);
			assert_int_equal(proto_noise_status(rx), PROTO_NOISE_READ);
			if (production) {
				assert_int_equal(pay_len, 0);
				assert_int_equal(
					proto_noise_write_message(
						tx, buf, PROTO_NOISE_HANDSHAKE_MAX, &out_len),
					0);
				assert_int_equal(proto_noise_read_message(rx, ct, ct_len), 0);
			} else {
				assert_int_equal(proto_noise_write_message_payload(
							 tx, pay, pay_len, buf, BUF_MAX, &out_len),
						 0);
				assert_int_equal(proto_noise_read_message_payload(
							 rx, ct, ct_len, dec, BUF_MAX, &dec_len),
						 0);
				assert_int_equal(dec_len, pay_len);
				assert_memory_equal(dec, pay, pay_len);
			}
		} else {
			assert_int_equal(
				proto_noise_encrypt(tx, pay, pay_len, buf, BUF_MAX, &out_len), 0);
			assert_int_equal(
				proto_noise_decrypt(rx, ct, ct_len, dec, BUF_MAX, &dec_len), 0);
			assert_int_equal(dec_len, pay_len);
			assert_memory_equal(dec, pay, pay_len);
		}
		assert_int_equal(out_len, ct_len);
		assert_memory_equal(buf, ct, ct_len);
		if (i == 2) {
			assert_int_equal(proto_noise_status(init), PROTO_NOISE_TRANSPORT);
			assert_int_equal(proto_noise_status(resp), PROTO_NOISE_TRANSPORT);
			assert_int_equal(proto_noise_handshake_hash(init, got), 0);
			assert_memory_equal(got, hh, 64);
			assert_int_equal(proto_noise_handshake_hash(resp, got), 0);
			assert_memory_equal(got, hh, 64);
			proto_noise_public_key(pk, rs);
			assert_int_equal(proto_noise_remote_static(init, got), 0);
			assert_memory_equal(got, pk, 32);
			proto_noise_public_key(pk, is);
			assert_int_equal(proto_noise_remote_static(resp, got), 0);
			assert_memory_equal(got, pk, 32);
		}
		free(pay);
		free(ct);
	}
	proto_noise_free(init);
	proto_noise_free(resp);
	free(buf);
	free(dec);
	free(prologue);
	free(rprologue);
	free(is);
	free(rs);
	free(ie);
	free(re);
	free(hh);
	free(ipsk);
	free(rpsk);
}

static void test_xxpsk0_vectors(void **state)
{
	json_t *root = load_vectors("noise/xxpsk0.json");
	const json_t *vecs = json_object_get(root, "vectors");
	size_t production = 0;

	(void)state;
	assert_int_equal(json_array_size(vecs), 12);
	for (size_t i = 0; i < json_array_size(vecs); i++) {
		const json_t *v = json_array_get(vecs, i);
		size_t plen;
		uint8_t *prologue = jhex(v, "init_prologue", &plen);

		assert_string_equal(jstr(v, "protocol_name"), PROTO_NOISE_PROTOCOL);
		replay(v, PROTO_NOISE_PATTERN_XXPSK0, false);
		/* Where the vector is in chatham's own shape, run the production API too. */
		if (plen == 41 && memcmp(prologue, "chatham/1", 9) == 0 &&
		    all_handshake_payloads_empty(json_object_get(v, "messages"))) {
			replay(v, PROTO_NOISE_PATTERN_XXPSK0, true);
			production++;
		}
		free(prologue);
	}
	/* Vectors 0, 2, 6, 7, 8, 9 have chatham's prologue shape and empty payloads. */
	assert_int_equal(production, 6);
	json_decref(root);
}

/* cacophony-xx.json holds the two vectors of the upstream file that are replayed here. */
static void cacophony(const char *name, enum proto_noise_pattern pat)
{
	json_t *root = load_vectors("noise/cacophony-xx.json");
	const json_t *vecs = json_object_get(root, "vectors");
	size_t found = 0;

	assert_int_equal(json_array_size(vecs), 2);
	for (size_t i = 0; i < json_array_size(vecs); i++) {
		const json_t *v = json_array_get(vecs, i);

		if (strcmp(jstr(v, "protocol_name"), name) == 0) {
			replay(v, pat, false);
			found++;
		}
	}
	assert_int_equal(found, 1);
	json_decref(root);
}

static void test_cacophony_xx(void **state)
{
	(void)state;
	cacophony("Noise_XX_25519_ChaChaPoly_BLAKE2b", PROTO_NOISE_PATTERN_XX);
}

static void test_cacophony_xxpsk3(void **state)
{
	(void)state;
	cacophony("Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b", PROTO_NOISE_PATTERN_XXPSK3);
}

/* Chatham sessions for the negative tests ---------------------------------------------- */

struct pair {
	struct proto_noise *i, *r;
	uint8_t is[32], rs[32];
	uint8_t msg[3][128]; /* room to test over-long messages */
	size_t len[3];
};

static const uint8_t community[32] = {0x11, 0x11, 0x11};
static const uint8_t netkey[32] = {0x42, 0x42, 0x42, 0x42};

static void pair_new(struct pair *p, uint64_t seed, const uint8_t *ipsk, const uint8_t *rpsk,
		     const uint8_t *icomm, const uint8_t *rcomm)
{
	uint8_t ie[32], re[32];

	memset(p, 0, sizeof(*p));
	for (size_t j = 0; j < 32; j++) {
		p->is[j] = (uint8_t)tu_rand(&seed);
		p->rs[j] = (uint8_t)tu_rand(&seed);
		ie[j] = (uint8_t)tu_rand(&seed);
		re[j] = (uint8_t)tu_rand(&seed);
	}
	p->i = proto_noise_new(PROTO_NOISE_INITIATOR, icomm ? icomm : community,
			       ipsk ? ipsk : netkey, p->is, ie);
	p->r = proto_noise_new(PROTO_NOISE_RESPONDER, rcomm ? rcomm : community,
			       rpsk ? rpsk : netkey, p->rs, re);
	assert_non_null(p->i);
	assert_non_null(p->r);
}

static void pair_free(struct pair *p)
{
	proto_noise_free(p->i);
	proto_noise_free(p->r);
}

/* Runs the handshake; each message is written, optionally modified by @tamper, then read. */
static int pair_handshake(struct pair *p,
			  void (*tamper)(unsigned m, uint8_t *msg, size_t *len, void *arg),
			  void *arg, unsigned *failed_at)
{
	for (unsigned m = 0; m < 3; m++) {
		struct proto_noise *tx = m % 2 == 0 ? p->i : p->r;
		struct proto_noise *rx = m % 2 == 0 ? p->r : p->i;
		int rc;

		assert_int_equal(
			proto_noise_write_message(tx, p->msg[m], sizeof(p->msg[m]), &p->len[m]), 0);
		if (tamper)
			tamper(m, p->msg[m], &p->len[m], arg);
		rc = proto_noise_read_message(rx, p->msg[m], p->len[m]);
		if (rc) {
			if (failed_at)
				*failed_at = m;
			return rc;
		}
	}
	return 0;
}

static void test_handshake_sizes_and_binding(void **state)
{
	struct pair p;
	uint8_t h1[64], h2[64], pk[32], got[32];

	(void)state;
	pair_new(&p, 1, NULL, NULL, NULL, NULL);
	assert_int_equal(pair_handshake(&p, NULL, NULL, NULL), 0);
	assert_int_equal(p.len[0], 48);
	assert_int_equal(p.len[1], 96);
	assert_int_equal(p.len[2], 64);
	assert_int_equal(proto_noise_handshake_hash(p.i, h1), 0);
	assert_int_equal(proto_noise_handshake_hash(p.r, h2), 0);
	assert_memory_equal(h1, h2, 64);
	proto_noise_public_key(pk, p.rs);
	assert_int_equal(proto_noise_remote_static(p.i, got), 0);
	assert_memory_equal(got, pk, 32);
	proto_noise_public_key(pk, p.is);
	assert_int_equal(proto_noise_remote_static(p.r, got), 0);
	assert_memory_equal(got, pk, 32);
	pair_free(&p);
}

static void test_wrong_psk_fails_at_message_1(void **state)
{
	uint8_t other[32] = {0x43};
	uint8_t pk[32];
	struct pair p;
	unsigned at = 99;

	(void)state;
	pair_new(&p, 2, NULL, other, NULL, NULL);
	assert_int_equal(pair_handshake(&p, NULL, NULL, &at), PROTO_E_NOISE_DECRYPT);
	assert_int_equal(at, 0);
	/* Message 1 is e and the tag of the empty payload: no static key can be in it. */
	assert_int_equal(p.len[0], 48);
	proto_noise_public_key(pk, p.is);
	assert_null(memmem(p.msg[0], p.len[0], pk, 32));
	assert_int_equal(proto_noise_status(p.r), PROTO_NOISE_FAILED);
	/* The responder never produced message 2, so its static key never left it. */
	assert_int_equal(proto_noise_write_message(p.r, p.msg[1], sizeof(p.msg[1]), &p.len[1]),
			 PROTO_E_NOISE_STATE);
	pair_free(&p);
}

static void test_prologue_mismatch(void **state)
{
	uint8_t other[32] = {0x11, 0x11, 0x12};
	struct pair p;
	unsigned at = 99;

	(void)state;
	pair_new(&p, 3, NULL, NULL, NULL, other);
	assert_int_equal(pair_handshake(&p, NULL, NULL, &at), PROTO_E_NOISE_DECRYPT);
	assert_int_equal(at, 0);
	pair_free(&p);
}

struct flip {
	unsigned msg;
	size_t bit;
};

static void flip_bit(unsigned m, uint8_t *msg, size_t *len, void *arg)
{
	struct flip *f = arg;

	if (m == f->msg)
		msg[f->bit / 8] ^= (uint8_t)(1u << (f->bit % 8));
}

static void test_flipped_bit_in_every_handshake_message(void **state)
{
	static const size_t sizes[3] = {48, 96, 64};

	(void)state;
	for (unsigned m = 0; m < 3; m++) {
		for (size_t bit = 0; bit < sizes[m] * 8; bit++) {
			struct flip f = {m, bit};
			struct pair p;
			unsigned at = 99;
			int rc;

			pair_new(&p, 4, NULL, NULL, NULL, NULL);
			rc = pair_handshake(&p, flip_bit, &f, &at);
			/* A flipped bit in a public key may also land on a low-order point. */
			assert_true(rc == PROTO_E_NOISE_DECRYPT || rc == PROTO_E_NOISE_DH);
			assert_int_equal(at, m);
			assert_int_equal(proto_noise_status(m % 2 == 0 ? p.r : p.i),
					 PROTO_NOISE_FAILED);
			pair_free(&p);
		}
	}
}

static void resize(unsigned m, uint8_t *msg, size_t *len, void *arg)
{
	struct flip *f = arg; /* .msg: which message, .bit: 0 shortens, 1 lengthens */

	if (m == f->msg)
		*len = f->bit ? *len + 1 : *len - 1;
}

static void test_truncated_and_extended_handshake(void **state)
{
	(void)state;
	for (unsigned m = 0; m < 3; m++) {
		for (size_t dir = 0; dir < 2; dir++) {
			struct flip f = {m, dir};
			struct pair p;
			unsigned at = 99;

			pair_new(&p, 5, NULL, NULL, NULL, NULL);
			assert_int_equal(pair_handshake(&p, resize, &f, &at), PROTO_E_NOISE_SIZE);
			assert_int_equal(at, m);
			pair_free(&p);
		}
	}
}

static void test_out_of_order_calls(void **state)
{
	uint8_t buf[PROTO_NOISE_HANDSHAKE_MAX] = {0}, h[64], pk[32];
	struct pair p;
	size_t len;

	(void)state;
	pair_new(&p, 6, NULL, NULL, NULL, NULL);
	assert_int_equal(proto_noise_status(p.i), PROTO_NOISE_WRITE);
	assert_int_equal(proto_noise_status(p.r), PROTO_NOISE_READ);
	/* Wrong-turn calls are refused and change nothing. */
	assert_int_equal(proto_noise_read_message(p.i, buf, 48), PROTO_E_NOISE_STATE);
	assert_int_equal(proto_noise_write_message(p.r, buf, sizeof(buf), &len),
			 PROTO_E_NOISE_STATE);
	assert_int_equal(proto_noise_encrypt(p.i, buf, 1, buf, sizeof(buf), &len),
			 PROTO_E_NOISE_STATE);
	assert_int_equal(proto_noise_decrypt(p.r, buf, 17, buf, sizeof(buf), &len),
			 PROTO_E_NOISE_STATE);
	assert_int_equal(proto_noise_handshake_hash(p.i, h), PROTO_E_NOISE_STATE);
	assert_int_equal(proto_noise_remote_static(p.r, pk), PROTO_E_NOISE_STATE);
	assert_int_equal(proto_noise_rekey_send(p.i, 0), PROTO_E_NOISE_STATE);
	assert_int_equal(proto_noise_rekey_recv(p.i), PROTO_E_NOISE_STATE);
	assert_false(proto_noise_rekey_due(p.i, 0));
	/* A buffer one byte short is refused without consuming the turn. */
	assert_int_equal(proto_noise_write_message(p.i, buf, 47, &len), -ENOBUFS);
	assert_int_equal(proto_noise_status(p.i), PROTO_NOISE_WRITE);
	assert_int_equal(pair_handshake(&p, NULL, NULL, NULL), 0);
	/* After the handshake no handshake call is accepted. */
	assert_int_equal(proto_noise_write_message(p.i, buf, sizeof(buf), &len),
			 PROTO_E_NOISE_STATE);
	assert_int_equal(proto_noise_read_message(p.r, p.msg[2], p.len[2]), PROTO_E_NOISE_STATE);
	assert_int_equal(proto_noise_status(p.r), PROTO_NOISE_TRANSPORT);
	pair_free(&p);
}

static void transport_pair(struct pair *p, uint64_t seed)
{
	pair_new(p, seed, NULL, NULL, NULL, NULL);
	assert_int_equal(pair_handshake(p, NULL, NULL, NULL), 0);
}

/* Sends @pt from @tx to @rx and checks the round trip; returns the decrypt result. */
static int send_one(struct proto_noise *tx, struct proto_noise *rx, const uint8_t *pt, size_t len,
		    uint8_t *ct_out)
{
	uint8_t ct[256 + 16], out[256];
	size_t ct_len, out_len = 0;
	int rc;

	assert_int_equal(proto_noise_encrypt(tx, pt, len, ct, sizeof(ct), &ct_len), 0);
	assert_int_equal(ct_len, len + 16);
	if (ct_out)
		memcpy(ct_out, ct, ct_len);
	rc = proto_noise_decrypt(rx, ct, ct_len, out, sizeof(out), &out_len);
	if (rc == 0) {
		assert_int_equal(out_len, len);
		assert_memory_equal(out, pt, len);
	}
	return rc;
}

static void test_transport_errors(void **state)
{
	uint8_t *big = calloc(1, PROTO_NOISE_MAX_MSG + 2);
	uint8_t ct[64], out[64];
	struct pair p;
	size_t len;

	(void)state;
	assert_non_null(big);
	transport_pair(&p, 7);
	/* Oversize payload and buffers too small are refused without touching the session. */
	assert_int_equal(proto_noise_encrypt(p.i, big, PROTO_NOISE_MAX_PAYLOAD + 1, big,
					     PROTO_NOISE_MAX_MSG + 2, &len),
			 PROTO_E_NOISE_SIZE);
	assert_int_equal(proto_noise_encrypt(p.i, big, 5, ct, 20, &len), -ENOBUFS);
	assert_int_equal(proto_noise_encrypt(p.i, big, PROTO_NOISE_MAX_PAYLOAD, big,
					     PROTO_NOISE_MAX_MSG + 2, &len),
			 0);
	assert_int_equal(len, PROTO_NOISE_MAX_MSG);
	assert_int_equal(proto_noise_decrypt(p.r, big, len, out, 10, &len), -ENOBUFS);
	assert_int_equal(
		proto_noise_decrypt(p.r, big, PROTO_NOISE_MAX_MSG, big, PROTO_NOISE_MAX_MSG, &len),
		0);
	assert_int_equal(len, PROTO_NOISE_MAX_PAYLOAD);
	/* In-place and empty messages. */
	memcpy(ct, "hello", 5);
	assert_int_equal(proto_noise_encrypt(p.r, ct, 5, ct, sizeof(ct), &len), 0);
	assert_int_equal(proto_noise_decrypt(p.i, ct, len, ct, sizeof(ct), &len), 0);
	assert_memory_equal(ct, "hello", 5);
	assert_int_equal(send_one(p.i, p.r, ct, 0, NULL), 0);
	/* A message shorter than a tag, longer than the maximum, or truncated kills the link. */
	assert_int_equal(proto_noise_decrypt(p.r, ct, 15, out, sizeof(out), &len),
			 PROTO_E_NOISE_SIZE);
	assert_int_equal(proto_noise_status(p.r), PROTO_NOISE_FAILED);
	assert_int_equal(proto_noise_decrypt(p.r, ct, 16, out, sizeof(out), &len),
			 PROTO_E_NOISE_STATE);
	assert_int_equal(proto_noise_decrypt(p.i, big, PROTO_NOISE_MAX_MSG + 1, big,
					     PROTO_NOISE_MAX_MSG + 2, &len),
			 PROTO_E_NOISE_SIZE);
	pair_free(&p);

	transport_pair(&p, 8);
	assert_int_equal(
		proto_noise_encrypt(p.i, (const uint8_t *)"abcdef", 6, ct, sizeof(ct), &len), 0);
	assert_int_equal(proto_noise_decrypt(p.r, ct, len - 1, out, sizeof(out), &len),
			 PROTO_E_NOISE_DECRYPT);
	assert_int_equal(proto_noise_status(p.r), PROTO_NOISE_FAILED);
	assert_int_equal(proto_noise_handshake_hash(p.r, out), PROTO_E_NOISE_STATE);
	pair_free(&p);

	/* Replaying or reordering a transport message fails authentication. */
	transport_pair(&p, 9);
	{
		uint8_t c1[32], c2[32];
		uint8_t o[16];
		size_t ol;

		assert_int_equal(proto_noise_encrypt(p.i, (const uint8_t *)"1", 1, c1, 32, &len),
				 0);
		assert_int_equal(proto_noise_encrypt(p.i, (const uint8_t *)"2", 1, c2, 32, &len),
				 0);
		assert_int_equal(proto_noise_decrypt(p.r, c2, 17, o, sizeof(o), &ol),
				 PROTO_E_NOISE_DECRYPT);
	}
	pair_free(&p);
	free(big);
}

static void test_nonce_exhaustion(void **state)
{
	const uint64_t max = UINT64_MAX;
	uint8_t pt[4] = {1, 2, 3, 4};
	uint8_t ct[64];
	struct pair p;
	size_t len;

	(void)state;
	transport_pair(&p, 10);
	assert_int_equal(proto_noise_test_set_nonces(p.i, max - 2, 0), 0);
	assert_int_equal(proto_noise_test_set_nonces(p.r, 0, max - 2), 0);
	/* Nonces 2^64-3 and 2^64-2 are usable; 2^64-1 is reserved for rekey. */
	assert_int_equal(send_one(p.i, p.r, pt, 4, NULL), 0);
	assert_int_equal(send_one(p.i, p.r, pt, 4, NULL), 0);
	assert_int_equal(proto_noise_encrypt(p.i, pt, 4, ct, sizeof(ct), &len),
			 PROTO_E_NOISE_NONCE);
	assert_int_equal(proto_noise_status(p.i), PROTO_NOISE_FAILED);
	/* The receiver refuses to use the reserved nonce too, whatever the message. */
	memset(ct, 0, sizeof(ct));
	assert_int_equal(proto_noise_decrypt(p.r, ct, 20, ct, sizeof(ct), &len),
			 PROTO_E_NOISE_NONCE);
	assert_int_equal(proto_noise_status(p.r), PROTO_NOISE_FAILED);
	pair_free(&p);
}

static void zero_e_in_msg2(unsigned m, uint8_t *msg, size_t *len, void *arg)
{
	const uint8_t *point = arg;

	if (m == 1)
		memcpy(msg, point, 32);
}

static void test_all_zero_dh_aborts(void **state)
{
	/* All zero, and a point of order 8: both give an all-zero X25519 result. */
	static const uint8_t low_order[2][32] = {
		{0},
		{0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
		 0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
		 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},
	};
	uint8_t s[32] = {7}, e[32] = {9}, buf[128];
	size_t len;

	(void)state;
	for (size_t k = 0; k < 2; k++) {
		struct pair p;
		struct proto_noise *r;
		unsigned at = 99;

		/* Initiator reading message 2 computes ee first: aborts before decrypting s. */
		pair_new(&p, 11, NULL, NULL, NULL, NULL);
		assert_int_equal(pair_handshake(&p, zero_e_in_msg2, (void *)low_order[k], &at),
				 PROTO_E_NOISE_DH);
		assert_int_equal(at, 1);
		assert_int_equal(proto_noise_status(p.i), PROTO_NOISE_FAILED);
		pair_free(&p);

		/*
		 * Writer side: in plain XX message 1 is an unencrypted e, so a low-order e can be
		 * injected; the responder then aborts while writing message 2 (ee).
		 */
		r = proto_noise_new_custom(PROTO_NOISE_PATTERN_XX, PROTO_NOISE_RESPONDER, NULL, 0,
					   NULL, s, e);
		assert_non_null(r);
		assert_int_equal(proto_noise_read_message(r, low_order[k], 32), 0);
		assert_int_equal(proto_noise_write_message(r, buf, sizeof(buf), &len),
				 PROTO_E_NOISE_DH);
		assert_int_equal(proto_noise_status(r), PROTO_NOISE_FAILED);
		proto_noise_free(r);
	}
}

static void test_rekey_by_count_in_step(void **state)
{
	uint8_t pt[8] = "payload", a[32], b[32];
	struct pair p, ref;

	(void)state;
	/* Two sessions with identical keys; only p rekeys every 4 messages. */
	transport_pair(&p, 12);
	transport_pair(&ref, 12);
	assert_int_equal(proto_noise_set_rekey_interval(p.i, 4, PROTO_NOISE_REKEY_MS), 0);
	assert_int_equal(proto_noise_set_rekey_interval(p.r, 4, PROTO_NOISE_REKEY_MS), 0);
	assert_int_equal(proto_noise_set_rekey_interval(p.r, 0, 1), -EINVAL);
	for (int k = 0; k < 4 * 5 + 3; k++) {
		assert_int_equal(send_one(p.i, p.r, pt, sizeof(pt), a), 0);
		assert_int_equal(send_one(ref.i, ref.r, pt, sizeof(pt), b), 0);
		/* Same key up to message 3; from message 4 on the rekeyed key differs. */
		if (k < 4)
			assert_memory_equal(a, b, sizeof(pt) + 16);
		else
			assert_memory_not_equal(a, b, sizeof(pt) + 16);
		assert_int_equal(send_one(p.r, p.i, pt, sizeof(pt), NULL), 0);
	}
	pair_free(&p);
	pair_free(&ref);

	/* Out of step (receiver counts 5) must fail at the first rekeyed message. */
	transport_pair(&p, 13);
	assert_int_equal(proto_noise_set_rekey_interval(p.i, 4, PROTO_NOISE_REKEY_MS), 0);
	assert_int_equal(proto_noise_set_rekey_interval(p.r, 5, PROTO_NOISE_REKEY_MS), 0);
	for (int k = 0; k < 4; k++)
		assert_int_equal(send_one(p.i, p.r, pt, sizeof(pt), NULL), 0);
	assert_int_equal(send_one(p.i, p.r, pt, sizeof(pt), NULL), PROTO_E_NOISE_DECRYPT);
	pair_free(&p);
}

static void test_rekey_default_interval_2_20(void **state)
{
	const uint64_t interval = PROTO_NOISE_REKEY_MESSAGES;
	uint8_t pt[3] = "abc", a[32], b[32];
	struct pair p, ref;

	(void)state;
	assert_int_equal(interval, 1u << 20);
	transport_pair(&p, 14);
	transport_pair(&ref, 14);
	assert_int_equal(proto_noise_set_rekey_interval(ref.i, UINT64_MAX, 1), 0);
	assert_int_equal(proto_noise_set_rekey_interval(ref.r, UINT64_MAX, 1), 0);
	/* Jump both pairs to 3 messages before the 2^20th, then cross it. */
	assert_int_equal(proto_noise_test_set_nonces(p.i, interval - 3, 0), 0);
	assert_int_equal(proto_noise_test_set_nonces(p.r, 0, interval - 3), 0);
	assert_int_equal(proto_noise_test_set_nonces(ref.i, interval - 3, 0), 0);
	assert_int_equal(proto_noise_test_set_nonces(ref.r, 0, interval - 3), 0);
	for (int k = 0; k < 8; k++) {
		assert_int_equal(send_one(p.i, p.r, pt, 3, a), 0);
		assert_int_equal(send_one(ref.i, ref.r, pt, 3, b), 0);
		/* Nonces 2^20-3 .. 2^20-1 use the first key; from nonce 2^20 the new one. */
		if (k < 3)
			assert_memory_equal(a, b, 19);
		else
			assert_memory_not_equal(a, b, 19);
	}
	pair_free(&p);
	pair_free(&ref);
}

static void test_rekey_hourly_signalled(void **state)
{
	const uint64_t t0 = 1000000, hour = PROTO_NOISE_REKEY_MS;
	uint8_t pt[4] = "ping", ct[32], out[32];
	struct pair p;
	size_t len;

	(void)state;
	transport_pair(&p, 15);
	assert_false(proto_noise_rekey_due(p.i, t0)); /* starts the clock */
	assert_false(proto_noise_rekey_due(p.i, t0 + hour - 1));
	assert_false(proto_noise_rekey_due(p.i, t0 - 5)); /* a clock that steps back */
	assert_true(proto_noise_rekey_due(p.i, t0 + hour));
	/* The REKEY link message goes out under the old key, then the sender rekeys. */
	assert_int_equal(proto_noise_encrypt(p.i, pt, 4, ct, sizeof(ct), &len), 0);
	assert_int_equal(proto_noise_rekey_send(p.i, t0 + hour), 0);
	assert_false(proto_noise_rekey_due(p.i, t0 + hour));
	assert_false(proto_noise_rekey_due(p.i, t0 + 2 * hour - 1));
	assert_true(proto_noise_rekey_due(p.i, t0 + 2 * hour));
	assert_int_equal(proto_noise_decrypt(p.r, ct, len, out, sizeof(out), &len), 0);
	assert_int_equal(proto_noise_rekey_recv(p.r), 0);
	for (int k = 0; k < 3; k++) {
		assert_int_equal(send_one(p.i, p.r, pt, 4, NULL), 0);
		assert_int_equal(send_one(p.r, p.i, pt, 4, NULL), 0); /* other way: untouched */
	}
	pair_free(&p);

	/* A receiver that misses the REKEY signal fails the next message. */
	transport_pair(&p, 16);
	assert_int_equal(send_one(p.i, p.r, pt, 4, NULL), 0);
	assert_int_equal(proto_noise_rekey_send(p.i, t0), 0);
	assert_int_equal(send_one(p.i, p.r, pt, 4, NULL), PROTO_E_NOISE_DECRYPT);
	pair_free(&p);
}

static void test_framer(void **state)
{
	uint8_t stream[3 * 2 + 5 + 1 + 300], hdr[2];
	struct proto_noise_framer *f = proto_noise_framer_new(300);
	const uint8_t *msg;
	size_t n = 0, used, mlen, got = 0;
	size_t want[3] = {5, 1, 300};

	(void)state;
	assert_non_null(f);
	assert_null(proto_noise_framer_new(PROTO_NOISE_MAX_MSG + 1));
	assert_int_equal(proto_noise_frame_header(hdr, 0), PROTO_E_NOISE_SIZE);
	assert_int_equal(proto_noise_frame_header(hdr, PROTO_NOISE_MAX_MSG + 1),
			 PROTO_E_NOISE_SIZE);
	assert_int_equal(proto_noise_frame_header(hdr, PROTO_NOISE_MAX_MSG), 0);
	assert_int_equal(hdr[0], 0xff);
	assert_int_equal(hdr[1], 0xff);
	for (size_t k = 0; k < 3; k++) {
		assert_int_equal(proto_noise_frame_header(stream + n, want[k]), 0);
		n += 2;
		memset(stream + n, (int)('a' + k), want[k]);
		n += want[k];
	}
	assert_int_equal(n, sizeof(stream));
	/* One byte at a time, then everything in one chunk: same three messages. */
	for (size_t k = 0; k < n; k++) {
		int rc = proto_noise_framer_feed(f, stream + k, 1, &used, &msg, &mlen);

		assert_int_equal(used, 1);
		if (rc == 1) {
			assert_int_equal(mlen, want[got]);
			assert_int_equal(msg[0], 'a' + got);
			assert_int_equal(msg[mlen - 1], 'a' + got);
			got++;
		} else {
			assert_int_equal(rc, 0);
		}
	}
	assert_int_equal(got, 3);
	got = 0;
	for (size_t off = 0; off < n; off += used) {
		int rc = proto_noise_framer_feed(f, stream + off, n - off, &used, &msg, &mlen);

		assert_int_equal(rc, 1);
		assert_int_equal(mlen, want[got++]);
	}
	assert_int_equal(got, 3);
	assert_int_equal(proto_noise_framer_feed(f, NULL, 0, &used, &msg, &mlen), 0);
	/* Over the limit: the stream is dead for good. */
	assert_int_equal(proto_noise_framer_set_max(f, 299), 0);
	assert_int_equal(proto_noise_framer_set_max(f, 0), -EINVAL);
	assert_int_equal(proto_noise_framer_feed(f, stream + 2 + 5 + 2 + 1, 2, &used, &msg, &mlen),
			 PROTO_E_NOISE_SIZE);
	assert_int_equal(used, 2);
	assert_int_equal(proto_noise_framer_feed(f, stream, 7, &used, &msg, &mlen),
			 PROTO_E_NOISE_SIZE);
	proto_noise_framer_free(f);

	/* A zero-length frame is refused. */
	f = proto_noise_framer_new(0);
	assert_non_null(f);
	memset(hdr, 0, 2);
	assert_int_equal(proto_noise_framer_feed(f, hdr, 2, &used, &msg, &mlen),
			 PROTO_E_NOISE_SIZE);
	proto_noise_framer_free(f);
	proto_noise_framer_free(NULL);
}

static void test_framed_session_end_to_end(void **state)
{
	/* Initiator frames everything into one stream; the responder cuts and processes it. */
	uint8_t *stream = malloc(4096);
	struct proto_noise_framer *f = proto_noise_framer_new(PROTO_NOISE_HANDSHAKE_MAX);
	uint8_t is[32] = {1}, ie[32] = {2}, rs[32] = {3}, re[32] = {4};
	struct proto_noise *i = proto_noise_new(PROTO_NOISE_INITIATOR, community, netkey, is, ie);
	struct proto_noise *r = proto_noise_new(PROTO_NOISE_RESPONDER, community, netkey, rs, re);
	uint8_t m[PROTO_NOISE_HANDSHAKE_MAX], out[64];
	const uint8_t *msg;
	size_t len, used, mlen, n = 0, olen;

	(void)state;
	assert_non_null(stream);
	assert_non_null(f);
	assert_int_equal(proto_noise_write_message(i, m, sizeof(m), &len), 0);
	assert_int_equal(proto_noise_frame_header(stream, len), 0);
	memcpy(stream + 2, m, len);
	assert_int_equal(proto_noise_framer_feed(f, stream, len + 2, &used, &msg, &mlen), 1);
	assert_int_equal(proto_noise_read_message(r, msg, mlen), 0);
	assert_int_equal(proto_noise_write_message(r, m, sizeof(m), &len), 0);
	assert_int_equal(proto_noise_read_message(i, m, len), 0);
	/* Message 3 and two transport messages in one chunk. */
	assert_int_equal(proto_noise_write_message(i, stream + 2, 100, &len), 0);
	assert_int_equal(proto_noise_frame_header(stream, len), 0);
	n = 2 + len;
	for (int k = 0; k < 2; k++) {
		assert_int_equal(proto_noise_encrypt(i, (const uint8_t *)"link", 4, stream + n + 2,
						     64, &len),
				 0);
		assert_int_equal(proto_noise_frame_header(stream + n, len), 0);
		n += 2 + len;
	}
	assert_int_equal(proto_noise_framer_feed(f, stream, n, &used, &msg, &mlen), 1);
	assert_int_equal(proto_noise_read_message(r, msg, mlen), 0);
	assert_int_equal(proto_noise_framer_set_max(f, PROTO_NOISE_MAX_MSG), 0);
	for (size_t off = used; off < n; off += used) {
		assert_int_equal(
			proto_noise_framer_feed(f, stream + off, n - off, &used, &msg, &mlen), 1);
		assert_int_equal(proto_noise_decrypt(r, msg, mlen, out, sizeof(out), &olen), 0);
		assert_int_equal(olen, 4);
		assert_memory_equal(out, "link", 4);
	}
	proto_noise_free(i);
	proto_noise_free(r);
	proto_noise_framer_free(f);
	free(stream);
}

static void test_handshake_oversize(void **state)
{
	uint8_t *big = calloc(1, PROTO_NOISE_MAX_MSG + 1), *out = malloc(PROTO_NOISE_MAX_MSG + 1);
	uint8_t s[32] = {1}, e[32] = {2};
	struct proto_noise *i, *r;
	size_t len, plen;

	(void)state;
	assert_non_null(big);
	assert_non_null(out);
	/* XX message 1 is e (32 bytes) and a plaintext payload: 65503 payload bytes fit. */
	i = proto_noise_new_custom(PROTO_NOISE_PATTERN_XX, PROTO_NOISE_INITIATOR, NULL, 0, NULL, s,
				   e);
	r = proto_noise_new_custom(PROTO_NOISE_PATTERN_XX, PROTO_NOISE_RESPONDER, NULL, 0, NULL, s,
				   e);
	assert_non_null(i);
	assert_non_null(r);
	assert_int_equal(proto_noise_write_message_payload(i, big, PROTO_NOISE_MAX_MSG - 31, out,
							   PROTO_NOISE_MAX_MSG + 1, &len),
			 PROTO_E_NOISE_SIZE);
	assert_int_equal(proto_noise_write_message_payload(i, big, PROTO_NOISE_MAX_MSG - 32, out,
							   PROTO_NOISE_MAX_MSG - 1, &len),
			 -ENOBUFS);
	assert_int_equal(proto_noise_status(i), PROTO_NOISE_WRITE);
	assert_int_equal(proto_noise_write_message_payload(i, big, PROTO_NOISE_MAX_MSG - 32, out,
							   PROTO_NOISE_MAX_MSG, &len),
			 0);
	assert_int_equal(len, PROTO_NOISE_MAX_MSG);
	/* The reader refuses a payload buffer too small without consuming the message... */
	assert_int_equal(proto_noise_read_message_payload(r, out, len, big, 100, &plen), -ENOBUFS);
	assert_int_equal(proto_noise_status(r), PROTO_NOISE_READ);
	/* ...and a message over the Noise maximum outright. */
	assert_int_equal(proto_noise_read_message_payload(r, out, PROTO_NOISE_MAX_MSG + 1, big,
							  PROTO_NOISE_MAX_MSG + 1, &plen),
			 PROTO_E_NOISE_SIZE);
	assert_int_equal(proto_noise_status(r), PROTO_NOISE_FAILED);
	proto_noise_free(i);
	proto_noise_free(r);
	free(big);
	free(out);
}

static void test_bad_arguments(void **state)
{
	uint8_t k[32] = {0};

	(void)state;
	assert_null(proto_noise_new((enum proto_noise_role)7, k, k, k, k));
	assert_null(proto_noise_new(PROTO_NOISE_INITIATOR, NULL, k, k, k));
	assert_null(proto_noise_new_custom(PROTO_NOISE_PATTERN_XX, PROTO_NOISE_INITIATOR, NULL, 0,
					   k, k, k)); /* XX takes no PSK */
	assert_null(proto_noise_new_custom(PROTO_NOISE_PATTERN_XXPSK3, PROTO_NOISE_INITIATOR, NULL,
					   0, NULL, k, k)); /* psk3 needs one */
	assert_null(proto_noise_new_custom((enum proto_noise_pattern)9, PROTO_NOISE_INITIATOR, NULL,
					   0, NULL, k, k));
	proto_noise_free(NULL);
}

static void test_raw_aead_reference(void **state)
{
	uint8_t key[32] = {5}, pt[40] = "raw", ct[56], out[40];

	(void)state;
	assert_int_equal(proto_noise_bench_raw_seal(key, 3, pt, sizeof(pt), ct), 0);
	assert_int_equal(proto_noise_bench_raw_open(key, 3, ct, sizeof(ct), out), 0);
	assert_memory_equal(out, pt, sizeof(pt));
	assert_int_equal(proto_noise_bench_raw_open(key, 4, ct, sizeof(ct), out), -1);
	assert_int_equal(proto_noise_bench_raw_open(key, 3, ct, 15, out), -1);
}

static int setup(void **state)
{
	(void)state;
	return proto_crypto_init();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xxpsk0_vectors),
		cmocka_unit_test(test_cacophony_xx),
		cmocka_unit_test(test_cacophony_xxpsk3),
		cmocka_unit_test(test_handshake_sizes_and_binding),
		cmocka_unit_test(test_wrong_psk_fails_at_message_1),
		cmocka_unit_test(test_prologue_mismatch),
		cmocka_unit_test(test_flipped_bit_in_every_handshake_message),
		cmocka_unit_test(test_truncated_and_extended_handshake),
		cmocka_unit_test(test_out_of_order_calls),
		cmocka_unit_test(test_transport_errors),
		cmocka_unit_test(test_nonce_exhaustion),
		cmocka_unit_test(test_all_zero_dh_aborts),
		cmocka_unit_test(test_rekey_by_count_in_step),
		cmocka_unit_test(test_rekey_default_interval_2_20),
		cmocka_unit_test(test_rekey_hourly_signalled),
		cmocka_unit_test(test_framer),
		cmocka_unit_test(test_framed_session_end_to_end),
		cmocka_unit_test(test_handshake_oversize),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_raw_aead_reference),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
