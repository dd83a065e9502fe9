/* SPDX-License-Identifier: MIT */
/*
 * Noise framework (revision 34) for the XX family on libsodium: X25519, ChaCha20-Poly1305
 * (IETF, nonce = 4 zero bytes || 64-bit little-endian counter), BLAKE2b-512 with
 * HMAC-BLAKE2b (RFC 2104, block 128) inside HKDF.
 *
 * The handshake is driven by a token table, one row per message, so XX, XXpsk0 and XXpsk3
 * share every line of the state machine: the published vectors for XX and XXpsk3 exercise
 * the HKDF, MixKeyAndHash and PSK paths that chatham's XXpsk0 uses in production.
 *
 * Every message length is computed from the token row before anything is mutated, so a
 * buffer that is too small or a message of the wrong size is refused without touching the
 * session, and a message of the right size is processed exactly once.
 */
#include "proto/noise.h"

#include "proto/error.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define HASHLEN 64
#define BLOCKLEN 128
#define DHLEN 32
#define KEYLEN 32
#define TAGLEN 16
#define MAX_NONCE UINT64_MAX /* reserved by Noise §5.1 for rekey */
#define PATTERN_MSGS 3
#define TOKENS_MAX 6

enum token { T_END = 0, T_E, T_S, T_EE, T_ES, T_SE, T_SS, T_PSK };

struct pattern {
	const char *name;
	bool psk;
	uint8_t msgs[PATTERN_MSGS][TOKENS_MAX];
};

static const struct pattern patterns[] = {
	[PROTO_NOISE_PATTERN_XXPSK0] = {"Noise_XXpsk0_25519_ChaChaPoly_BLAKE2b",
					true,
					{{T_PSK, T_E}, {T_E, T_EE, T_S, T_ES}, {T_S, T_SE}}},
	[PROTO_NOISE_PATTERN_XX] = {"Noise_XX_25519_ChaChaPoly_BLAKE2b",
				    false,
				    {{T_E}, {T_E, T_EE, T_S, T_ES}, {T_S, T_SE}}},
	[PROTO_NOISE_PATTERN_XXPSK3] = {"Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b",
					true,
					{{T_E}, {T_E, T_EE, T_S, T_ES}, {T_S, T_SE, T_PSK}}},
};

struct cipher {
	uint8_t k[KEYLEN];
	uint64_t n;
	bool has_key;
};

struct proto_noise {
	const struct pattern *pat;
	enum proto_noise_role role;
	enum proto_noise_status status;
	unsigned msg; /* index of the next handshake message */

	/* SymmetricState; wiped when the handshake completes. */
	struct cipher cs;
	uint8_t ck[HASHLEN];
	uint8_t h[HASHLEN];

	/* HandshakeState; secrets wiped when the handshake completes. */
	uint8_t s_sk[DHLEN], s_pk[DHLEN];
	uint8_t e_sk[DHLEN], e_pk[DHLEN];
	uint8_t rs[DHLEN], re[DHLEN];
	uint8_t psk[KEYLEN];

	/* Transport. */
	struct cipher tx, rx;
	uint64_t rekey_messages;
	uint64_t rekey_ms;
	uint64_t rekey_base_ms;
	bool rekey_clock;
};

/* Hash and HKDF ----------------------------------------------------------------------- */

static void hmac(uint8_t out[HASHLEN], const uint8_t *key, size_t key_len, const uint8_t *d1,
		 size_t l1, const uint8_t *d2, size_t l2)
{
	crypto_generichash_blake2b_state st;
	uint8_t pad[BLOCKLEN];
	uint8_t inner[HASHLEN];

	/* Every key here (chaining key or HKDF temp key) is HASHLEN bytes, below BLOCKLEN. */
	memset(pad, 0, sizeof(pad));
	memcpy(pad, key, key_len);
	for (size_t i = 0; i < BLOCKLEN; i++)
		pad[i] ^= 0x36;
	crypto_generichash_blake2b_init(&st, NULL, 0, HASHLEN);
	crypto_generichash_blake2b_update(&st, pad, BLOCKLEN);
	if (l1)
		crypto_generichash_blake2b_update(&st, d1, l1);
	if (l2)
		crypto_generichash_blake2b_update(&st, d2, l2);
	crypto_generichash_blake2b_final(&st, inner, HASHLEN);

	for (size_t i = 0; i < BLOCKLEN; i++)
		pad[i] ^= 0x36 ^ 0x5c;
	crypto_generichash_blake2b_init(&st, NULL, 0, HASHLEN);
	crypto_generichash_blake2b_update(&st, pad, BLOCKLEN);
	crypto_generichash_blake2b_update(&st, inner, HASHLEN);
	crypto_generichash_blake2b_final(&st, out, HASHLEN);

	sodium_memzero(pad, sizeof(pad));
	sodium_memzero(inner, sizeof(inner));
	sodium_memzero(&st, sizeof(st));
}

/* HKDF(ck, ikm, n) of Noise §4.3; @o3 NULL for two outputs. */
static void hkdf(const uint8_t ck[HASHLEN], const uint8_t *ikm, size_t ikm_len, uint8_t o1[HASHLEN],
		 uint8_t o2[HASHLEN], uint8_t *o3)
{
	uint8_t temp[HASHLEN];
	uint8_t b;

	hmac(temp, ck, HASHLEN, ikm, ikm_len, NULL, 0);
	b = 1;
	hmac(o1, temp, HASHLEN, &b, 1, NULL, 0);
	b = 2;
	hmac(o2, temp, HASHLEN, o1, HASHLEN, &b, 1);
	if (o3) {
		b = 3;
		hmac(o3, temp, HASHLEN, o2, HASHLEN, &b, 1);
	}
	sodium_memzero(temp, sizeof(temp));
}

static void mix_hash(struct proto_noise *n, const uint8_t *data, size_t len)
{
	crypto_generichash_blake2b_state st;

	crypto_generichash_blake2b_init(&st, NULL, 0, HASHLEN);
	crypto_generichash_blake2b_update(&st, n->h, HASHLEN);
	if (len)
		crypto_generichash_blake2b_update(&st, data, len);
	crypto_generichash_blake2b_final(&st, n->h, HASHLEN);
}

static void cipher_init(struct cipher *c, const uint8_t *k)
{
	memcpy(c->k, k, KEYLEN);
	c->n = 0;
	c->has_key = true;
}

static void mix_key(struct proto_noise *n, const uint8_t *ikm, size_t len)
{
	uint8_t o1[HASHLEN], o2[HASHLEN];

	hkdf(n->ck, ikm, len, o1, o2, NULL);
	memcpy(n->ck, o1, HASHLEN);
	cipher_init(&n->cs, o2);
	sodium_memzero(o1, sizeof(o1));
	sodium_memzero(o2, sizeof(o2));
}

static void mix_key_and_hash(struct proto_noise *n, const uint8_t *ikm, size_t len)
{
	uint8_t o1[HASHLEN], o2[HASHLEN], o3[HASHLEN];

	hkdf(n->ck, ikm, len, o1, o2, o3);
	memcpy(n->ck, o1, HASHLEN);
	mix_hash(n, o2, HASHLEN);
	cipher_init(&n->cs, o3);
	sodium_memzero(o1, sizeof(o1));
	sodium_memzero(o2, sizeof(o2));
	sodium_memzero(o3, sizeof(o3));
}

/* CipherState ------------------------------------------------------------------------- */

static void nonce_bytes(uint8_t npub[12], uint64_t n)
{
	memset(npub, 0, 4);
	for (int i = 0; i < 8; i++)
		npub[4 + i] = (uint8_t)(n >> (8 * i));
}

/* ENCRYPT(k, n, ad, pt); the caller has checked n != MAX_NONCE except for rekey. */
static void aead_seal(const uint8_t k[KEYLEN], uint64_t n, const uint8_t *ad, size_t ad_len,
		      const uint8_t *pt, size_t len, uint8_t *out)
{
	uint8_t npub[12];

	nonce_bytes(npub, n);
	crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, pt, len, ad, ad_len, NULL, npub, k);
}

static int aead_open(const uint8_t k[KEYLEN], uint64_t n, const uint8_t *ad, size_t ad_len,
		     const uint8_t *ct, size_t len, uint8_t *out)
{
	uint8_t npub[12];

	nonce_bytes(npub, n);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, ct, len, ad, ad_len, npub,
						      k) != 0)
		return PROTO_E_NOISE_DECRYPT;
	return 0;
}

/* Noise §11.3 REKEY for ChaChaPoly: the first 32 bytes of ENCRYPT(k, 2^64-1, "", zeros). */
static void cipher_rekey(struct cipher *c)
{
	uint8_t zeros[KEYLEN] = {0};
	uint8_t out[KEYLEN + TAGLEN];

	aead_seal(c->k, MAX_NONCE, NULL, 0, zeros, KEYLEN, out);
	memcpy(c->k, out, KEYLEN);
	sodium_memzero(out, sizeof(out));
}

/* EncryptAndHash: @out receives len (+16 when keyed) bytes. */
static int encrypt_and_hash(struct proto_noise *n, const uint8_t *pt, size_t len, uint8_t *out)
{
	size_t out_len = len;

	if (n->cs.has_key) {
		if (n->cs.n == MAX_NONCE)
			return PROTO_E_NOISE_NONCE;
		aead_seal(n->cs.k, n->cs.n, n->h, HASHLEN, pt, len, out);
		n->cs.n++;
		out_len += TAGLEN;
	} else if (len && out != pt) {
		memmove(out, pt, len);
	}
	mix_hash(n, out, out_len);
	return 0;
}

/* DecryptAndHash of @len ciphertext bytes; @out receives len (-16 when keyed) bytes. */
static int decrypt_and_hash(struct proto_noise *n, const uint8_t *ct, size_t len, uint8_t *out)
{
	uint8_t ad[HASHLEN];
	int rc;

	/* h must absorb the ciphertext, so hash it before @out (which may alias it) changes. */
	memcpy(ad, n->h, HASHLEN);
	mix_hash(n, ct, len);
	if (!n->cs.has_key) {
		if (len && out != ct)
			memmove(out, ct, len);
		return 0;
	}
	if (n->cs.n == MAX_NONCE)
		return PROTO_E_NOISE_NONCE;
	rc = aead_open(n->cs.k, n->cs.n, ad, HASHLEN, ct, len, out);
	if (rc == 0)
		n->cs.n++;
	return rc;
}

/* HandshakeState ---------------------------------------------------------------------- */

void proto_noise_public_key(uint8_t pk[32], const uint8_t sk[32])
{
	crypto_scalarmult_base(pk, sk);
}

/*
 * X25519 with the all-zero check Noise §12.1 leaves optional and chatham requires: a
 * low-order peer key would make the DH output public, so the handshake aborts instead.
 */
static int dh(uint8_t out[DHLEN], const uint8_t sk[DHLEN], const uint8_t pk[DHLEN])
{
	if (crypto_scalarmult(out, sk, pk) != 0 || sodium_is_zero(out, DHLEN))
		return PROTO_E_NOISE_DH;
	return 0;
}

static int mix_dh(struct proto_noise *n, enum token t)
{
	bool init = n->role == PROTO_NOISE_INITIATOR;
	const uint8_t *sk, *pk;
	uint8_t shared[DHLEN];
	int rc;

	switch (t) {
	case T_EE:
		sk = n->e_sk;
		pk = n->re;
		break;
	case T_ES:
		sk = init ? n->e_sk : n->s_sk;
		pk = init ? n->rs : n->re;
		break;
	case T_SE:
		sk = init ? n->s_sk : n->e_sk;
		pk = init ? n->re : n->rs;
		break;
	default:
		sk = n->s_sk;
		pk = n->rs;
		break;
	}
	rc = dh(shared, sk, pk);
	if (rc == 0)
		mix_key(n, shared, DHLEN);
	sodium_memzero(shared, sizeof(shared));
	return rc;
}

/* Bytes the current message adds around its payload, tracking when the cipher gets a key. */
static size_t message_overhead(const struct proto_noise *n)
{
	bool keyed = n->cs.has_key;
	size_t len = 0;

	for (const uint8_t *t = n->pat->msgs[n->msg]; t < n->pat->msgs[n->msg] + TOKENS_MAX && *t;
	     t++) {
		switch (*t) {
		case T_E:
			len += DHLEN;
			if (n->pat->psk)
				keyed = true;
			break;
		case T_S:
			len += DHLEN + (keyed ? TAGLEN : 0);
			break;
		default:
			keyed = true;
			break;
		}
	}
	return len + (keyed ? TAGLEN : 0);
}

static bool our_turn(const struct proto_noise *n)
{
	/* Messages alternate starting with the initiator. */
	return (n->msg % 2 == 0) == (n->role == PROTO_NOISE_INITIATOR);
}

static void wipe_handshake(struct proto_noise *n)
{
	sodium_memzero(&n->cs, sizeof(n->cs));
	sodium_memzero(n->ck, sizeof(n->ck));
	sodium_memzero(n->s_sk, sizeof(n->s_sk));
	sodium_memzero(n->e_sk, sizeof(n->e_sk));
	sodium_memzero(n->psk, sizeof(n->psk));
}

static void fail(struct proto_noise *n)
{
	wipe_handshake(n);
	sodium_memzero(&n->tx, sizeof(n->tx));
	sodium_memzero(&n->rx, sizeof(n->rx));
	sodium_memzero(n->h, sizeof(n->h));
	n->status = PROTO_NOISE_FAILED;
}

/* Split() after the last message; the initiator sends with the first key. */
static void split(struct proto_noise *n)
{
	uint8_t k1[HASHLEN], k2[HASHLEN];
	bool init = n->role == PROTO_NOISE_INITIATOR;

	hkdf(n->ck, NULL, 0, k1, k2, NULL);
	cipher_init(&n->tx, init ? k1 : k2);
	cipher_init(&n->rx, init ? k2 : k1);
	sodium_memzero(k1, sizeof(k1));
	sodium_memzero(k2, sizeof(k2));
	wipe_handshake(n);
	n->status = PROTO_NOISE_TRANSPORT;
}

static void advance(struct proto_noise *n)
{
	n->msg++;
	if (n->msg == PATTERN_MSGS)
		split(n);
	else
		n->status = our_turn(n) ? PROTO_NOISE_WRITE : PROTO_NOISE_READ;
}

struct proto_noise *proto_noise_new_custom(enum proto_noise_pattern pattern,
					   enum proto_noise_role role, const uint8_t *prologue,
					   size_t prologue_len, const uint8_t *psk,
					   const uint8_t static_sk[32],
					   const uint8_t ephemeral_sk[32])
{
	struct proto_noise *n;
	size_t name_len;

	if ((unsigned)pattern >= sizeof(patterns) / sizeof(patterns[0]) ||
	    (role != PROTO_NOISE_INITIATOR && role != PROTO_NOISE_RESPONDER) || !static_sk ||
	    !ephemeral_sk || (prologue_len && !prologue) || (!psk != !patterns[pattern].psk))
		return NULL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->pat = &patterns[pattern];
	n->role = role;
	n->rekey_messages = PROTO_NOISE_REKEY_MESSAGES;
	n->rekey_ms = PROTO_NOISE_REKEY_MS;

	/* InitializeSymmetric: every name in the table fits in HASHLEN, so it is padded. */
	name_len = strlen(n->pat->name);
	memcpy(n->h, n->pat->name, name_len);
	memcpy(n->ck, n->h, HASHLEN);
	mix_hash(n, prologue, prologue_len);

	memcpy(n->s_sk, static_sk, DHLEN);
	crypto_scalarmult_base(n->s_pk, n->s_sk);
	memcpy(n->e_sk, ephemeral_sk, DHLEN);
	if (psk)
		memcpy(n->psk, psk, KEYLEN);
	n->status = role == PROTO_NOISE_INITIATOR ? PROTO_NOISE_WRITE : PROTO_NOISE_READ;
	return n;
}

struct proto_noise *proto_noise_new(enum proto_noise_role role, const uint8_t community_id[32],
				    const uint8_t network_key[32], const uint8_t static_sk[32],
				    const uint8_t ephemeral_sk[32])
{
	uint8_t prologue[sizeof(PROTO_NOISE_PROLOGUE_PREFIX) - 1 + 32];
	size_t plen = sizeof(PROTO_NOISE_PROLOGUE_PREFIX) - 1;

	if (!community_id || !network_key)
		return NULL;
	memcpy(prologue, PROTO_NOISE_PROLOGUE_PREFIX, plen);
	memcpy(prologue + plen, community_id, 32);
	return proto_noise_new_custom(PROTO_NOISE_PATTERN_XXPSK0, role, prologue, sizeof(prologue),
				      network_key, static_sk, ephemeral_sk);
}

void proto_noise_free(struct proto_noise *n)
{
	if (!n)
		return;
	sodium_memzero(n, sizeof(*n));
	free(n);
}

enum proto_noise_status proto_noise_status(const struct proto_noise *n)
{
	return n->status;
}

int proto_noise_write_message_payload(struct proto_noise *n, const uint8_t *payload,
				      size_t payload_len, uint8_t *out, size_t cap, size_t *out_len)
{
	size_t need, off = 0;
	int rc = 0;

	if (n->status != PROTO_NOISE_WRITE)
		return PROTO_E_NOISE_STATE;
	need = message_overhead(n);
	if (payload_len > PROTO_NOISE_MAX_MSG - need)
		return PROTO_E_NOISE_SIZE;
	need += payload_len;
	if (cap < need)
		return -ENOBUFS;

	for (const uint8_t *t = n->pat->msgs[n->msg]; t < n->pat->msgs[n->msg] + TOKENS_MAX && *t;
	     t++) {
		switch (*t) {
		case T_E:
			crypto_scalarmult_base(n->e_pk, n->e_sk);
			memcpy(out + off, n->e_pk, DHLEN);
			off += DHLEN;
			mix_hash(n, n->e_pk, DHLEN);
			if (n->pat->psk)
				mix_key(n, n->e_pk, DHLEN);
			break;
		case T_S:
			rc = encrypt_and_hash(n, n->s_pk, DHLEN, out + off);
			off += DHLEN + (n->cs.has_key ? TAGLEN : 0);
			break;
		case T_PSK:
			mix_key_and_hash(n, n->psk, KEYLEN);
			break;
		default:
			rc = mix_dh(n, *t);
			break;
		}
		if (rc)
			goto out;
	}
	rc = encrypt_and_hash(n, payload, payload_len, out + off);
	if (rc)
		goto out;
	*out_len = need;
	advance(n);
out:
	if (rc)
		fail(n);
	return rc;
}

int proto_noise_write_message(struct proto_noise *n, uint8_t *out, size_t cap, size_t *out_len)
{
	return proto_noise_write_message_payload(n, NULL, 0, out, cap, out_len);
}

static int read_message(struct proto_noise *n, const uint8_t *msg, size_t len, bool any_payload,
			uint8_t *out, size_t cap, size_t *out_len)
{
	size_t overhead, payload_len, off = 0;
	int rc = 0;

	if (n->status != PROTO_NOISE_READ)
		return PROTO_E_NOISE_STATE;
	overhead = message_overhead(n);
	if (len > PROTO_NOISE_MAX_MSG || len < overhead || (!any_payload && len != overhead)) {
		rc = PROTO_E_NOISE_SIZE;
		goto out;
	}
	payload_len = len - overhead;
	if (payload_len > cap)
		return -ENOBUFS;

	for (const uint8_t *t = n->pat->msgs[n->msg]; t < n->pat->msgs[n->msg] + TOKENS_MAX && *t;
	     t++) {
		switch (*t) {
		case T_E:
			memcpy(n->re, msg + off, DHLEN);
			off += DHLEN;
			mix_hash(n, n->re, DHLEN);
			if (n->pat->psk)
				mix_key(n, n->re, DHLEN);
			break;
		case T_S: {
			size_t sl = DHLEN + (n->cs.has_key ? TAGLEN : 0);

			rc = decrypt_and_hash(n, msg + off, sl, n->rs);
			off += sl;
			break;
		}
		case T_PSK:
			mix_key_and_hash(n, n->psk, KEYLEN);
			break;
		default:
			rc = mix_dh(n, *t);
			break;
		}
		if (rc)
			goto out;
	}
	rc = decrypt_and_hash(n, msg + off, len - off, out);
	if (rc)
		goto out;
	if (out_len)
		*out_len = payload_len;
	advance(n);
out:
	if (rc)
		fail(n);
	return rc;
}

int proto_noise_read_message(struct proto_noise *n, const uint8_t *msg, size_t len)
{
	uint8_t none;

	return read_message(n, msg, len, false, &none, 0, NULL);
}

int proto_noise_read_message_payload(struct proto_noise *n, const uint8_t *msg, size_t len,
				     uint8_t *out, size_t cap, size_t *out_len)
{
	return read_message(n, msg, len, true, out, cap, out_len);
}

int proto_noise_handshake_hash(const struct proto_noise *n, uint8_t out[64])
{
	if (n->status != PROTO_NOISE_TRANSPORT)
		return PROTO_E_NOISE_STATE;
	memcpy(out, n->h, HASHLEN);
	return 0;
}

int proto_noise_remote_static(const struct proto_noise *n, uint8_t out[32])
{
	if (n->status != PROTO_NOISE_TRANSPORT)
		return PROTO_E_NOISE_STATE;
	memcpy(out, n->rs, DHLEN);
	return 0;
}

/* Transport --------------------------------------------------------------------------- */

/* Count-based rekey: both ends see the same nonce sequence, so they rekey in step. */
static void after_message(struct proto_noise *n, struct cipher *c)
{
	c->n++;
	if (c->n % n->rekey_messages == 0)
		cipher_rekey(c);
}

int proto_noise_encrypt(struct proto_noise *n, const uint8_t *pt, size_t len, uint8_t *out,
			size_t cap, size_t *out_len)
{
	if (n->status != PROTO_NOISE_TRANSPORT)
		return PROTO_E_NOISE_STATE;
	if (len > PROTO_NOISE_MAX_PAYLOAD)
		return PROTO_E_NOISE_SIZE;
	if (cap < len + TAGLEN)
		return -ENOBUFS;
	if (n->tx.n == MAX_NONCE) {
		fail(n);
		return PROTO_E_NOISE_NONCE;
	}
	aead_seal(n->tx.k, n->tx.n, NULL, 0, pt, len, out);
	after_message(n, &n->tx);
	*out_len = len + TAGLEN;
	return 0;
}

int proto_noise_decrypt(struct proto_noise *n, const uint8_t *ct, size_t len, uint8_t *out,
			size_t cap, size_t *out_len)
{
	int rc;

	if (n->status != PROTO_NOISE_TRANSPORT)
		return PROTO_E_NOISE_STATE;
	if (len >= TAGLEN && len <= PROTO_NOISE_MAX_MSG && cap < len - TAGLEN)
		return -ENOBUFS;
	if (len < TAGLEN || len > PROTO_NOISE_MAX_MSG) {
		rc = PROTO_E_NOISE_SIZE;
	} else if (n->rx.n == MAX_NONCE) {
		rc = PROTO_E_NOISE_NONCE;
	} else {
		rc = aead_open(n->rx.k, n->rx.n, NULL, 0, ct, len, out);
	}
	if (rc) {
		fail(n);
		return rc;
	}
	after_message(n, &n->rx);
	*out_len = len - TAGLEN;
	return 0;
}

bool proto_noise_rekey_due(struct proto_noise *n, uint64_t now_ms)
{
	if (n->status != PROTO_NOISE_TRANSPORT)
		return false;
	if (!n->rekey_clock) {
		n->rekey_clock = true;
		n->rekey_base_ms = now_ms;
		return false;
	}
	return now_ms >= n->rekey_base_ms && now_ms - n->rekey_base_ms >= n->rekey_ms;
}

int proto_noise_rekey_send(struct proto_noise *n, uint64_t now_ms)
{
	if (n->status != PROTO_NOISE_TRANSPORT)
		return PROTO_E_NOISE_STATE;
	cipher_rekey(&n->tx);
	n->rekey_clock = true;
	n->rekey_base_ms = now_ms;
	return 0;
}

int proto_noise_rekey_recv(struct proto_noise *n)
{
	if (n->status != PROTO_NOISE_TRANSPORT)
		return PROTO_E_NOISE_STATE;
	cipher_rekey(&n->rx);
	return 0;
}

int proto_noise_set_rekey_interval(struct proto_noise *n, uint64_t messages, uint64_t ms)
{
	if (!messages || !ms)
		return -EINVAL;
	n->rekey_messages = messages;
	n->rekey_ms = ms;
	return 0;
}

int proto_noise_test_set_nonces(struct proto_noise *n, uint64_t send_n, uint64_t recv_n)
{
	if (n->status != PROTO_NOISE_TRANSPORT)
		return PROTO_E_NOISE_STATE;
	n->tx.n = send_n;
	n->rx.n = recv_n;
	return 0;
}

/* Framing ----------------------------------------------------------------------------- */

struct proto_noise_framer {
	size_t max;
	size_t want; /* length of the message being read; 0 while reading the header */
	size_t have; /* bytes of the header or message buffered so far */
	uint8_t hdr[PROTO_NOISE_FRAME_HDR];
	bool broken;
	uint8_t buf[]; /* PROTO_NOISE_MAX_MSG bytes, so the limit can be raised later */
};

int proto_noise_frame_header(uint8_t out[2], size_t msg_len)
{
	if (msg_len == 0 || msg_len > PROTO_NOISE_MAX_MSG)
		return PROTO_E_NOISE_SIZE;
	out[0] = (uint8_t)(msg_len >> 8);
	out[1] = (uint8_t)msg_len;
	return 0;
}

struct proto_noise_framer *proto_noise_framer_new(size_t max_len)
{
	struct proto_noise_framer *f;

	if (max_len > PROTO_NOISE_MAX_MSG)
		return NULL;
	f = calloc(1, sizeof(*f) + PROTO_NOISE_MAX_MSG);
	if (!f)
		return NULL;
	f->max = max_len ? max_len : PROTO_NOISE_MAX_MSG;
	return f;
}

void proto_noise_framer_free(struct proto_noise_framer *f)
{
	free(f);
}

int proto_noise_framer_set_max(struct proto_noise_framer *f, size_t max_len)
{
	if (max_len == 0 || max_len > PROTO_NOISE_MAX_MSG)
		return -EINVAL;
	f->max = max_len;
	return 0;
}

int proto_noise_framer_feed(struct proto_noise_framer *f, const uint8_t *data, size_t len,
			    size_t *consumed, const uint8_t **msg, size_t *msg_len)
{
	size_t used = 0;

	*consumed = 0;
	if (f->broken)
		return PROTO_E_NOISE_SIZE;
	while (used < len) {
		if (f->want == 0) {
			f->hdr[f->have++] = data[used++];
			if (f->have < PROTO_NOISE_FRAME_HDR)
				continue;
			f->want = (size_t)f->hdr[0] << 8 | f->hdr[1];
			f->have = 0;
			if (f->want == 0 || f->want > f->max) {
				f->broken = true;
				*consumed = used;
				return PROTO_E_NOISE_SIZE;
			}
			continue;
		}
		size_t take = f->want - f->have;

		if (take > len - used)
			take = len - used;
		memcpy(f->buf + f->have, data + used, take);
		f->have += take;
		used += take;
		if (f->have == f->want) {
			*msg = f->buf;
			*msg_len = f->want;
			f->want = 0;
			f->have = 0;
			*consumed = used;
			return 1;
		}
	}
	*consumed = used;
	return 0;
}

/* Benchmark reference ----------------------------------------------------------------- */

int proto_noise_bench_raw_seal(const uint8_t key[32], uint64_t nonce, const uint8_t *in, size_t len,
			       uint8_t *out)
{
	aead_seal(key, nonce, NULL, 0, in, len, out);
	return 0;
}

int proto_noise_bench_raw_open(const uint8_t key[32], uint64_t nonce, const uint8_t *in, size_t len,
			       uint8_t *out)
{
	if (len < TAGLEN)
		return -1;
	return aead_open(key, nonce, NULL, 0, in, len, out) == 0 ? 0 : -1;
}
