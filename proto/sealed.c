/* SPDX-License-Identifier: MIT */
/*
 * proto/sealed.c — sealing and opening sealed sightings (docs/SEALED.md §3–4).
 *
 * The polynomial's higher coefficients are derived from a_0, not drawn independently, so a
 * node that recovered a candidate a_0 can regenerate the whole polynomial and test every
 * share it holds exactly: honest shares lie on it, a forged share (a member who saw g on
 * the wire but not the value) does not. Fewer than k shares still hide a_0: finding it
 * means guessing the value and evaluating the OPRF, which needs t stewards.
 */
#include "proto/sealed.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/mp.h"
#include "proto/ring.h"
#include "proto/roster.h"

#define D_SECRET "chatham/sealed/secret/1"
#define D_COEF "chatham/sealed/coef/1"
#define D_GROUP "chatham/sealed/group/1"
#define D_CHECK "chatham/sealed/check/1"
#define D_KEY "chatham/sealed/key/1"
#define D_RING "chatham/sealed/ring/1"

enum {
	K_VERSION = 0,
	K_COMMUNITY,
	K_EPOCH,
	K_K,
	K_GROUP,
	K_CHECK,
	K_U,
	K_Y,
	K_BUCKET,
	K_NONCE,
	K_CT,
	K_RING,
	K_TAG,
	K_LAST = K_TAG,
};

#define BODY_MAX (PROTO_SEALED_CT_MAX + 6 * 32 + 3 * PROTO_REPORT_RING_MAX + 128)
#define SIG_MAX ((PROTO_REPORT_RING_MAX + 1) * 32 + 32)

static void kdf(uint8_t out[32], const char *domain, const uint8_t *a, size_t alen,
		const uint8_t *b, size_t blen)
{
	const void *p[3] = {domain, a, b};
	const size_t l[3] = {strlen(domain), alen, blen};

	proto_hash(out, 32, p, l, b ? 3 : 2);
}

static void kdf_scalar(uint8_t out[32], const char *domain, const uint8_t *a, size_t alen,
		       const uint8_t *b, size_t blen)
{
	const void *p[3] = {domain, a, b};
	const size_t l[3] = {strlen(domain), alen, blen};
	uint8_t wide[64];

	proto_hash(wide, sizeof wide, p, l, b ? 3 : 2);
	crypto_core_ristretto255_scalar_reduce(out, wide);
	sodium_memzero(wide, sizeof wide);
}

static void coefs_from_a0(uint8_t (*coef)[32], uint8_t k)
{
	for (uint8_t i = 1; i < k; i++)
		kdf_scalar(coef[i], D_COEF, coef[0], 32, &i, 1);
}

int proto_sealed_derive(struct proto_sealed_secret *out, const uint8_t r[32], uint8_t k)
{
	if (k < PROTO_SEALED_K_MIN || k > PROTO_SEALED_K_MAX)
		return PROTO_E_SEALED_K;
	memset(out, 0, sizeof *out);
	out->k = k;
	kdf_scalar(out->coef[0], D_SECRET, r, 32, NULL, 0);
	coefs_from_a0(out->coef, k);
	kdf(out->group, D_GROUP, r, 32, NULL, 0);
	kdf(out->check, D_CHECK, out->coef[0], 32, NULL, 0);
	kdf(out->key, D_KEY, out->coef[0], 32, NULL, 0);
	return 0;
}

void proto_sealed_ring_id(uint8_t id[32], const uint8_t g[32])
{
	kdf(id, D_RING, g, 32, NULL, 0);
}

static void poly_eval(uint8_t out[32], const uint8_t (*coef)[32], uint8_t k, const uint8_t x[32])
{
	uint8_t acc[32];

	memcpy(acc, coef[k - 1], 32);
	for (int i = k - 2; i >= 0; i--) {
		crypto_core_ristretto255_scalar_mul(acc, acc, x);
		crypto_core_ristretto255_scalar_add(acc, acc, coef[i]);
	}
	memcpy(out, acc, 32);
	sodium_memzero(acc, sizeof acc);
}

static void aead_ad(uint8_t ad[32 + 32 + 1 + 4], const uint8_t g[32], const uint8_t h[32],
		    uint8_t k, uint32_t bucket)
{
	memcpy(ad, g, 32);
	memcpy(ad + 32, h, 32);
	ad[64] = k;
	ad[65] = (uint8_t)(bucket >> 24);
	ad[66] = (uint8_t)(bucket >> 16);
	ad[67] = (uint8_t)(bucket >> 8);
	ad[68] = (uint8_t)bucket;
}

static int encode_body(uint8_t **out, size_t *out_len, const struct proto_sealed *s)
{
	struct proto_mp_writer w;

	proto_mp_writer_init(&w);
	proto_mp_write_map(&w, K_LAST + 1);
	proto_mp_write_uint(&w, K_VERSION);
	proto_mp_write_uint(&w, PROTO_SEALED_VERSION);
	proto_mp_write_uint(&w, K_COMMUNITY);
	proto_mp_write_bin(&w, s->community, 32);
	proto_mp_write_uint(&w, K_EPOCH);
	proto_mp_write_uint(&w, s->epoch);
	proto_mp_write_uint(&w, K_K);
	proto_mp_write_uint(&w, s->k);
	proto_mp_write_uint(&w, K_GROUP);
	proto_mp_write_bin(&w, s->group, 32);
	proto_mp_write_uint(&w, K_CHECK);
	proto_mp_write_bin(&w, s->check, 32);
	proto_mp_write_uint(&w, K_U);
	proto_mp_write_bin(&w, s->u, 32);
	proto_mp_write_uint(&w, K_Y);
	proto_mp_write_bin(&w, s->y, 32);
	proto_mp_write_uint(&w, K_BUCKET);
	proto_mp_write_uint(&w, s->bucket);
	proto_mp_write_uint(&w, K_NONCE);
	proto_mp_write_bin(&w, s->nonce, sizeof s->nonce);
	proto_mp_write_uint(&w, K_CT);
	proto_mp_write_bin(&w, s->ct, s->ct_len);
	proto_mp_write_uint(&w, K_RING);
	proto_mp_write_array(&w, s->ring_n);
	for (size_t i = 0; i < s->ring_n; i++)
		proto_mp_write_uint(&w, s->ring[i]);
	proto_mp_write_uint(&w, K_TAG);
	proto_mp_write_bin(&w, s->tag, 32);
	return proto_mp_writer_finish(&w, out, out_len);
}

/* The signed message: domain || body, in one buffer for proto_ring_sign/verify. */
static uint8_t *signed_msg(const uint8_t *body, size_t body_len, size_t *len)
{
	size_t dl = strlen(PROTO_SEALED_SIG_DOMAIN);
	uint8_t *m = malloc(dl + body_len);

	if (!m)
		return NULL;
	memcpy(m, PROTO_SEALED_SIG_DOMAIN, dl);
	memcpy(m + dl, body, body_len);
	*len = dl + body_len;
	return m;
}

static int encode_plain(uint8_t **out, size_t *out_len, const struct proto_sealed_value *v)
{
	struct proto_mp_writer w;

	proto_mp_writer_init(&w);
	proto_mp_write_array(&w, 3);
	proto_mp_write_uint(&w, v->ind.type);
	proto_mp_write_str(&w, v->ind.value, v->ind.len);
	proto_mp_write_uint(&w, v->confidence);
	return proto_mp_writer_finish(&w, out, out_len);
}

static int decode_plain(const uint8_t *buf, size_t len, struct proto_sealed_value *v)
{
	struct proto_mp_reader rd;
	uint64_t type, conf;
	const char *s;
	size_t n, sl;
	int err;

	proto_mp_reader_init(&rd, buf, len);
	err = proto_mp_read_array(&rd, 3, &n);
	if (!err && n != 3)
		err = PROTO_E_TYPE;
	if (!err)
		err = proto_mp_read_uint_max(&rd, PROTO_IND_TYPE_MAX, &type);
	if (!err)
		err = proto_mp_read_str(&rd, PROTO_IND_VALUE_MAX, &s, &sl);
	if (!err)
		err = proto_mp_read_uint_max(&rd, 100, &conf);
	if (!err)
		err = proto_mp_reader_finish(&rd);
	if (err)
		return err;
	/* The sealer canonicalised the value; a value that is not canonical was forged. */
	err = proto_indicator_parse(&v->ind, (int)type, s, sl, NULL);
	if (err)
		return err;
	if (v->ind.len != sl || memcmp(v->ind.value, s, sl) != 0)
		return PROTO_E_IND_VALUE;
	v->confidence = (uint8_t)conf;
	return 0;
}

int proto_sealed_make(struct proto_sealed *s, const struct proto_sealed_value *value,
		      const uint8_t r[32], const uint8_t community[32], uint64_t epoch, uint8_t k,
		      uint32_t bucket, const uint16_t *ring_idx, size_t n,
		      const uint8_t ring_sk[32])
{
	struct proto_sealed_secret sec;
	uint8_t *plain = NULL, ring_id[32], ad[69];
	size_t plain_len = 0;
	unsigned long long ct_len;
	int err;

	memset(s, 0, sizeof *s);
	if (n == 0 || n > PROTO_REPORT_RING_MAX)
		return -EINVAL;
	for (size_t i = 1; i < n; i++)
		if (ring_idx[i] <= ring_idx[i - 1])
			return -EINVAL;
	err = proto_sealed_derive(&sec, r, k);
	if (err)
		return err;
	memcpy(s->community, community, 32);
	s->epoch = epoch;
	s->k = k;
	memcpy(s->group, sec.group, 32);
	memcpy(s->check, sec.check, 32);
	do
		crypto_core_ristretto255_scalar_random(s->u);
	while (sodium_is_zero(s->u, 32));
	poly_eval(s->y, (const uint8_t(*)[32])sec.coef, k, s->u);
	s->bucket = bucket;
	proto_random(s->nonce, sizeof s->nonce);
	err = encode_plain(&plain, &plain_len, value);
	if (err)
		goto out;
	if (plain_len + crypto_aead_xchacha20poly1305_ietf_ABYTES > PROTO_SEALED_CT_MAX) {
		err = PROTO_E_TOO_LARGE;
		goto out;
	}
	aead_ad(ad, s->group, s->check, k, bucket);
	crypto_aead_xchacha20poly1305_ietf_encrypt(s->ct, &ct_len, plain, plain_len, ad, sizeof ad,
						   NULL, s->nonce, sec.key);
	s->ct_len = (uint16_t)ct_len;
	s->ring_n = (uint16_t)n;
	memcpy(s->ring, ring_idx, n * sizeof *ring_idx);
	proto_sealed_ring_id(ring_id, s->group);
	err = proto_ring_tag(s->tag, ring_sk, ring_id);
out:
	proto_wipe(&sec, sizeof sec);
	if (plain)
		proto_wipe(plain, plain_len);
	free(plain);
	if (err)
		memset(s, 0, sizeof *s);
	return err;
}

int proto_sealed_seal(uint8_t **out, size_t *out_len, const struct proto_sealed_value *value,
		      const uint8_t r[32], const uint8_t community[32], uint64_t epoch, uint8_t k,
		      uint32_t bucket, const uint8_t (*ring_keys)[32], const uint16_t *ring_idx,
		      size_t n, size_t signer_pos, const uint8_t ring_sk[32])
{
	struct proto_sealed *s;
	uint8_t *body = NULL, *msg = NULL, *sig = NULL, ring_id[32];
	size_t body_len, msg_len, sig_len;
	struct proto_mp_writer w;
	int err;

	*out = NULL;
	*out_len = 0;
	if (signer_pos >= n)
		return -EINVAL;
	s = malloc(sizeof *s);
	if (!s)
		return -ENOMEM;
	err = proto_sealed_make(s, value, r, community, epoch, k, bucket, ring_idx, n, ring_sk);
	if (err)
		goto out;
	err = encode_body(&body, &body_len, s);
	if (err)
		goto out;
	msg = signed_msg(body, body_len, &msg_len);
	sig_len = proto_ring_sig_size(n);
	sig = malloc(sig_len);
	if (!msg || !sig) {
		err = -ENOMEM;
		goto out;
	}
	proto_sealed_ring_id(ring_id, s->group);
	err = proto_ring_sign(sig, sig_len, msg, msg_len, epoch, ring_keys, n, signer_pos, ring_sk,
			      ring_id);
	if (err)
		goto out;
	proto_mp_writer_init(&w);
	proto_mp_write_array(&w, 2);
	proto_mp_write_bin(&w, body, body_len);
	proto_mp_write_bin(&w, sig, sig_len);
	err = proto_mp_writer_finish(&w, out, out_len);
out:
	free(body);
	free(msg);
	free(sig);
	free(s);
	return err;
}

/* Splits the envelope; @body/@sig point into @buf. */
static int split_envelope(const uint8_t *buf, size_t len, const uint8_t **body, size_t *body_len,
			  const uint8_t **sig, size_t *sig_len)
{
	struct proto_mp_reader rd;
	size_t n;
	int err;

	proto_mp_reader_init(&rd, buf, len);
	err = proto_mp_read_array(&rd, 2, &n);
	if (!err && n != 2)
		err = PROTO_E_TYPE;
	if (!err)
		err = proto_mp_read_bin(&rd, BODY_MAX, body, body_len);
	if (!err)
		err = proto_mp_read_bin(&rd, SIG_MAX, sig, sig_len);
	if (!err)
		err = proto_mp_reader_finish(&rd);
	return err;
}

static int decode_body(const uint8_t *body, size_t len, struct proto_sealed *s)
{
	struct proto_mp_reader rd;
	struct proto_mp_map m;
	uint64_t key, v;
	uint32_t seen = 0;
	const uint8_t *p;
	size_t n, pl;
	int err;

	proto_mp_reader_init(&rd, body, len);
	err = proto_mp_map_begin(&rd, &m, K_LAST + 1);
	if (err)
		return err;
	while ((err = proto_mp_map_next(&rd, &m, &key)) > 0) {
		if (key > K_LAST)
			return PROTO_E_KEY_UNKNOWN;
		seen |= 1u << key;
		switch (key) {
		case K_VERSION:
			err = proto_mp_read_uint(&rd, &v);
			if (!err && v != PROTO_SEALED_VERSION)
				err = PROTO_E_VERSION;
			break;
		case K_COMMUNITY:
			err = proto_mp_read_bin_fixed(&rd, s->community, 32);
			break;
		case K_EPOCH:
			err = proto_mp_read_uint(&rd, &s->epoch);
			if (!err && s->epoch == 0)
				err = PROTO_E_RANGE;
			break;
		case K_K:
			err = proto_mp_read_uint(&rd, &v);
			if (!err && (v < PROTO_SEALED_K_MIN || v > PROTO_SEALED_K_MAX))
				err = PROTO_E_SEALED_K;
			s->k = (uint8_t)v;
			break;
		case K_GROUP:
			err = proto_mp_read_bin_fixed(&rd, s->group, 32);
			break;
		case K_CHECK:
			err = proto_mp_read_bin_fixed(&rd, s->check, 32);
			break;
		case K_U:
		case K_Y: {
			uint8_t *dst = key == K_U ? s->u : s->y, wide[64] = {0}, red[32];

			err = proto_mp_read_bin_fixed(&rd, dst, 32);
			if (err)
				break;
			memcpy(wide, dst, 32);
			crypto_core_ristretto255_scalar_reduce(red, wide);
			if (memcmp(red, dst, 32) != 0 || (key == K_U && sodium_is_zero(dst, 32)))
				err = PROTO_E_RING_SCALAR;
			break;
		}
		case K_BUCKET:
			err = proto_mp_read_uint_max(&rd, UINT32_MAX, &v);
			s->bucket = (uint32_t)v;
			break;
		case K_NONCE:
			err = proto_mp_read_bin_fixed(&rd, s->nonce, sizeof s->nonce);
			break;
		case K_CT:
			err = proto_mp_read_bin(&rd, PROTO_SEALED_CT_MAX, &p, &pl);
			if (!err && pl < crypto_aead_xchacha20poly1305_ietf_ABYTES)
				err = PROTO_E_EMPTY;
			if (!err) {
				memcpy(s->ct, p, pl);
				s->ct_len = (uint16_t)pl;
			}
			break;
		case K_RING:
			err = proto_mp_read_array(&rd, PROTO_REPORT_RING_MAX, &n);
			if (!err && n == 0)
				err = PROTO_E_EMPTY;
			for (size_t i = 0; i < n && !err; i++) {
				err = proto_mp_read_uint_max(&rd, PROTO_ROSTER_MEMBERS_MAX - 1, &v);
				if (!err && i > 0 && v <= s->ring[i - 1])
					err = PROTO_E_RANGE;
				s->ring[i] = (uint16_t)v;
			}
			s->ring_n = (uint16_t)n;
			break;
		case K_TAG:
			err = proto_mp_read_bin_fixed(&rd, s->tag, 32);
			if (!err && proto_ring_pk_check(s->tag) != 0)
				err = PROTO_E_RING_POINT;
			break;
		}
		if (err)
			return err;
	}
	if (err)
		return err;
	if (seen != (1u << (K_LAST + 1)) - 1)
		return PROTO_E_KEY_MISSING;
	return proto_mp_reader_finish(&rd);
}

int proto_sealed_decode(const uint8_t *buf, size_t len, struct proto_sealed *out)
{
	const uint8_t *body, *sig;
	size_t body_len, sig_len;
	int err;

	memset(out, 0, sizeof *out);
	err = split_envelope(buf, len, &body, &body_len, &sig, &sig_len);
	if (err)
		return err;
	err = decode_body(body, body_len, out);
	if (!err && sig_len != proto_ring_sig_size(out->ring_n))
		err = PROTO_E_RING_SIG_LEN;
	return err;
}

int proto_sealed_verify(const uint8_t *buf, size_t len, const struct proto_sealed *s,
			const uint8_t (*ring_keys)[32])
{
	const uint8_t *body, *sig;
	size_t body_len, sig_len, msg_len;
	uint8_t ring_id[32], *msg;
	int err;

	err = split_envelope(buf, len, &body, &body_len, &sig, &sig_len);
	if (err)
		return err;
	msg = signed_msg(body, body_len, &msg_len);
	if (!msg)
		return -ENOMEM;
	proto_sealed_ring_id(ring_id, s->group);
	err = proto_ring_verify(sig, sig_len, msg, msg_len, s->epoch, ring_keys, s->ring_n, ring_id,
				s->tag);
	free(msg);
	return err;
}

/* a_0 = Σ λ_i y_i with λ_i = Π_{j≠i} u_j / (u_j − u_i); -1 when two points coincide. */
static int interpolate_a0(uint8_t a0[32], const struct proto_sealed *const *sh, uint8_t k)
{
	uint8_t acc[32] = {0}, num[32], den[32], diff[32], inv[32], term[32];

	for (uint8_t i = 0; i < k; i++) {
		memset(num, 0, 32);
		num[0] = 1;
		memcpy(den, num, 32);
		for (uint8_t j = 0; j < k; j++) {
			if (j == i)
				continue;
			crypto_core_ristretto255_scalar_mul(num, num, sh[j]->u);
			crypto_core_ristretto255_scalar_sub(diff, sh[j]->u, sh[i]->u);
			crypto_core_ristretto255_scalar_mul(den, den, diff);
		}
		if (crypto_core_ristretto255_scalar_invert(inv, den) != 0)
			return -1;
		crypto_core_ristretto255_scalar_mul(term, num, inv);
		crypto_core_ristretto255_scalar_mul(term, term, sh[i]->y);
		crypto_core_ristretto255_scalar_add(acc, acc, term);
	}
	memcpy(a0, acc, 32);
	return 0;
}

/* Advance the k-combination @c of [0, @m) in lexicographic order; false after the last. */
static bool next_comb(size_t *c, size_t k, size_t m)
{
	size_t i = k;

	while (i-- > 0) {
		if (c[i] < m - k + i) {
			c[i]++;
			for (size_t j = i + 1; j < k; j++)
				c[j] = c[j - 1] + 1;
			return true;
		}
	}
	return false;
}

static int cmp_u(const void *a, const void *b)
{
	const struct proto_sealed *x = *(const struct proto_sealed *const *)a;
	const struct proto_sealed *y = *(const struct proto_sealed *const *)b;

	int c = memcmp(x->u, y->u, 32);

	return c ? c : memcmp(x->tag, y->tag, 32);
}

int proto_sealed_open(struct proto_sealed_opened *out, const struct proto_sealed *const *subs,
		      size_t m)
{
	const struct proto_sealed **cand = NULL, *pick[PROTO_SEALED_K_MAX];
	struct proto_sealed_value *vals = NULL;
	uint8_t coef[PROTO_SEALED_K_MAX][32], check[32], key[32], ad[69], fy[32];
	uint8_t *plain = NULL;
	size_t nc = 0, comb[PROTO_SEALED_K_MAX], best = 0, best_n = 0, win, win_n = 0;
	bool opened = false, *ok = NULL;
	uint8_t k;
	int err = PROTO_E_SEALED_OPEN;

	memset(out, 0, sizeof *out);
	if (m == 0)
		return PROTO_E_SEALED_OPEN;
	cand = calloc(m, sizeof *cand);
	vals = calloc(m, sizeof *vals);
	plain = malloc(PROTO_SEALED_CT_MAX);
	if (!cand || !vals || !plain) {
		err = -ENOMEM;
		goto out;
	}
	/* The (k, h) named by most distinct ring tags is the candidate polynomial. */
	for (size_t i = 0; i < m; i++) {
		size_t same = 0;

		if (memcmp(subs[i]->group, subs[0]->group, 32) != 0) {
			err = -EINVAL;
			goto out;
		}
		for (size_t j = 0; j < m; j++)
			same += subs[j]->k == subs[i]->k &&
				memcmp(subs[j]->check, subs[i]->check, 32) == 0;
		if (same > best_n) {
			best_n = same;
			best = i;
		}
	}
	for (size_t i = 0; i < m; i++) {
		bool dup = false;

		if (subs[i]->k != subs[best]->k ||
		    memcmp(subs[i]->check, subs[best]->check, 32) != 0) {
			out->dropped++;
			continue;
		}
		/* Only the ring tag deduplicates: a verified tag is its member's alone, while a
		 * point u can be copied from another member's share to displace it. */
		for (size_t j = 0; j < nc && !dup; j++)
			dup = memcmp(cand[j]->tag, subs[i]->tag, 32) == 0;
		if (dup) {
			out->dropped++;
			continue;
		}
		cand[nc++] = subs[i];
	}
	k = subs[best]->k;
	if (nc < k)
		goto out;
	/* Deterministic order, so every node tries the same subsets and opens the same way. */
	qsort(cand, nc, sizeof *cand, cmp_u);
	for (size_t i = 0; i < k; i++)
		comb[i] = i;
	for (int tries = 0; tries < PROTO_SEALED_OPEN_TRIES; tries++) {
		for (size_t i = 0; i < k; i++)
			pick[i] = cand[comb[i]];
		if (interpolate_a0(coef[0], pick, k) == 0) {
			kdf(check, D_CHECK, coef[0], 32, NULL, 0);
			if (sodium_memcmp(check, subs[best]->check, 32) == 0) {
				opened = true;
				break;
			}
		}
		if (!next_comb(comb, k, nc))
			break;
	}
	if (!opened)
		goto out;
	coefs_from_a0(coef, k);
	kdf(key, D_KEY, coef[0], 32, NULL, 0);

	/* Every candidate on the polynomial whose ciphertext opens casts a vote for a value. */
	ok = calloc(nc, sizeof *ok);
	if (!ok) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nc; i++) {
		unsigned long long pl;

		poly_eval(fy, (const uint8_t(*)[32])coef, k, cand[i]->u);
		if (sodium_memcmp(fy, cand[i]->y, 32) != 0)
			continue;
		aead_ad(ad, cand[i]->group, cand[i]->check, k, cand[i]->bucket);
		if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &pl, NULL, cand[i]->ct,
							       cand[i]->ct_len, ad, sizeof ad,
							       cand[i]->nonce, key) != 0)
			continue;
		if (decode_plain(plain, (size_t)pl, &vals[i]) != 0)
			continue;
		ok[i] = true;
	}
	/* The value most of them name (ties: the smaller type, then value) is the sighting. */
	win = nc;
	for (size_t i = 0; i < nc; i++) {
		size_t same = 0;

		if (!ok[i])
			continue;
		for (size_t j = 0; j < nc; j++)
			same += ok[j] && vals[j].ind.type == vals[i].ind.type &&
				strcmp(vals[j].ind.value, vals[i].ind.value) == 0;
		if (same > win_n || (same == win_n && win < nc &&
				     (vals[i].ind.type < vals[win].ind.type ||
				      (vals[i].ind.type == vals[win].ind.type &&
				       strcmp(vals[i].ind.value, vals[win].ind.value) < 0)))) {
			win_n = same;
			win = i;
		}
	}
	if (win_n >= k) {
		unsigned conf = 0;

		out->value.ind = vals[win].ind;
		out->first_bucket = UINT32_MAX;
		for (size_t i = 0; i < nc; i++) {
			if (!ok[i] || vals[i].ind.type != vals[win].ind.type ||
			    strcmp(vals[i].ind.value, vals[win].ind.value) != 0) {
				out->dropped++;
				continue;
			}
			out->count++;
			conf += vals[i].confidence;
			if (cand[i]->bucket < out->first_bucket)
				out->first_bucket = cand[i]->bucket;
			if (cand[i]->bucket > out->last_bucket)
				out->last_bucket = cand[i]->bucket;
		}
		/* The mean confidence, rounded down: no single member's figure is revealed. */
		out->value.confidence = (uint8_t)(conf / out->count);
		err = 0;
	}
out:
	free(ok);
	sodium_memzero(coef, sizeof coef);
	sodium_memzero(key, sizeof key);
	if (plain)
		sodium_memzero(plain, PROTO_SEALED_CT_MAX);
	if (vals)
		sodium_memzero(vals, m * sizeof *vals);
	free(plain);
	free(vals);
	free(cand);
	if (err)
		memset(out, 0, sizeof *out);
	return err;
}

uint64_t proto_sealed_ring_floor(const struct proto_roster *const *rosters, size_t n)
{
	const struct proto_roster *newest = rosters[n - 1];

	/* Newest first: the first epoch with a stale member fixes the floor above it. */
	for (size_t i = n - 1; i-- > 0;) {
		const struct proto_roster *r = rosters[i];

		for (size_t m = 0; m < r->n_members; m++) {
			int now = proto_roster_find_member(newest, r->members[m].id);

			/* Public keys: memcmp is enough. */
			if (now < 0 ||
			    memcmp(newest->members[now].ring_pk, r->members[m].ring_pk, 32) != 0)
				return rosters[i + 1]->epoch;
		}
	}
	return rosters[0]->epoch;
}
