/* SPDX-License-Identifier: MIT */
/*
 * Signed reports: canonical encoder, strict decoder, Ed25519 attribution.
 *
 * One rule set, two directions. Every semantic rule (kind, TLP, confidence, times, tags,
 * description, recipients against TLP, provenance against TLP, canonical indicator) lives in
 * validate(), which both the encoder and the decoder run, so nothing the encoder produces can
 * be refused by a peer's decoder and nothing a decoder accepts could not have been encoded.
 * The decoder additionally enforces what only exists on the wire: key order, shortest forms,
 * types, nesting, absent-versus-empty and the envelope around the body.
 *
 * Canonical order of the three sets (tags, recipients, ring): ascending and distinct, by
 * bytes for tags and ids, numerically for ring indexes. The encoder sorts a copy, so callers
 * need not care; the decoder refuses any other order, so one report has one encoding and one
 * report_id.
 *
 * The decoder is built for the hot path (every inbound report passes through it before the
 * signature check): no allocation, every string is a view into the input, and the only copies
 * are fixed 32-byte ids and the recipient list, which the wire interleaves with bin headers.
 *
 * Error choice for the classes the codec rejects (each has its own code):
 *   unsorted keys PROTO_E_KEY_ORDER, duplicate keys PROTO_E_KEY_DUP, non-minimal integers
 *   PROTO_E_NONMINIMAL, floats PROTO_E_FLOAT, invalid UTF-8 PROTO_E_UTF8, bin where str is
 *   expected or str where bin is expected (and any other wrong scalar) PROTO_E_TYPE, unknown
 *   keys PROTO_E_KEY_UNKNOWN, missing keys PROTO_E_KEY_MISSING (TLP: PROTO_E_REPORT_TLP, fail
 *   closed), trailing bytes PROTO_E_TRAILING, a container where the schema allows no more
 *   nesting PROTO_E_DEPTH, sizes and counts over the limits PROTO_E_TOO_LARGE, an id or tag
 *   that is not exactly 32 bytes PROTO_E_RANGE.
 */
#include "proto/report.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/indicator.h"
#include "proto/mp.h"
#include "proto/roster.h"

#define DOMAIN_LEN (sizeof(PROTO_REPORT_DOMAIN) - 1)
#define ED25519_SIG_LEN 64
#define RING_SIG_LEN(n) (((n) + 1) * 32 + 32) /* proto_ring_sig_size(), proto/ring.h */

/* Body map keys (report.h). */
enum {
	K_VERSION = 0,
	K_COMMUNITY = 1,
	K_KIND = 2,
	K_TYPE = 3,
	K_VALUE = 4,
	K_TLP = 5,
	K_CONFIDENCE = 6,
	K_CREATED = 7,
	K_VALID_UNTIL = 8,
	K_TAGS = 9,
	K_DESCRIPTION = 10,
	K_RECIPIENTS = 11,
	K_PROVENANCE = 12,
	K_BODY_LAST = K_PROVENANCE,
};

/* Provenance map keys. */
enum {
	P_TYPE = 0,
	P_SIGNER = 1,
	P_EPOCH = 2,
	P_RING = 3,
	P_TAG = 4,
	P_LAST = P_TAG,
};

#define REPORT_VERSION 1

/*
 * Overhead of the envelope around a body with an attributed signature: array(2) header,
 * bin16 header of the body (a body never fits bin8 once it gets near the limit) and the bin8
 * header of the 64-byte signature. Used to refuse, at encode time, a body whose signed form
 * would be over PROTO_REPORT_MAX_BYTES.
 */
#define ENVELOPE_MIN (1 + 3 + 2 + ED25519_SIG_LEN)

/* ---- validation shared by encoder and decoder ---- */

static bool tag_text_ok(const struct proto_str *t)
{
	const uint8_t *s = (const uint8_t *)t->ptr;

	if (!proto_mp_utf8_valid(t->ptr, t->len))
		return false;
	for (size_t i = 0; i < t->len; i++) {
		/* C0 controls, DEL, and C1 controls (U+0080..U+009F, encoded C2 80..C2 9F). */
		if (s[i] < 0x20 || s[i] == 0x7f)
			return false;
		if (s[i] == 0xc2 && i + 1 < t->len && s[i + 1] <= 0x9f)
			return false;
	}
	return true;
}

bool proto_report_tag_valid(const char *s, size_t len)
{
	struct proto_str t = {s, len};

	return len > 0 && len <= PROTO_REPORT_TAG_LEN_MAX && tag_text_ok(&t);
}

bool proto_report_text_valid(const char *s, size_t len)
{
	return proto_mp_utf8_valid(s, len);
}

/* Bytewise lexicographic order; a proper prefix sorts first. */
static int str_cmp(const struct proto_str *a, const struct proto_str *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = n ? memcmp(a->ptr, b->ptr, n) : 0;

	if (c)
		return c;
	return (a->len > b->len) - (a->len < b->len);
}

static int str_cmp_q(const void *a, const void *b)
{
	return str_cmp(a, b);
}

static int id_cmp_q(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

static int u16_cmp_q(const void *a, const void *b)
{
	uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;

	return (x > y) - (x < y);
}

/*
 * Indicator value must already be in canonical form: parsing it for its type must give back
 * the same bytes. A value that parses but canonicalises to something else is refused, or two
 * encodings of one indicator would carry different report ids.
 */
static int check_indicator(int type, const struct proto_str *v)
{
	struct proto_indicator ind;
	int err;

	if (type < PROTO_IND_TYPE_MIN || type > PROTO_IND_TYPE_MAX)
		return PROTO_E_IND_TYPE;
	if (!v->ptr || v->len == 0 || v->len > PROTO_IND_VALUE_MAX)
		return PROTO_E_IND_VALUE;
	err = proto_indicator_parse(&ind, type, v->ptr, v->len, NULL);
	if (err)
		return err == PROTO_E_IND_TYPE ? err : PROTO_E_IND_VALUE;
	if (ind.len != v->len || memcmp(ind.value, v->ptr, v->len) != 0)
		return PROTO_E_IND_VALUE;
	return 0;
}

/*
 * Every semantic rule of report.h. @tags, @rcpt and @ring are the sets in canonical order
 * (the decoder passes the struct's own arrays, the encoder sorted copies); order and
 * distinctness are checked here so both directions agree on them.
 */
static int validate(const struct proto_report *r, const struct proto_str *tags, const uint8_t *rcpt,
		    const uint16_t *ring)
{
	int err;

	if (r->kind > PROTO_KIND_REVOKE)
		return PROTO_E_REPORT_KIND;
	err = check_indicator(r->ind_type, &r->ind_value);
	if (err)
		return err;
	if (r->tlp < PROTO_TLP_CLEAR || r->tlp > PROTO_TLP_RED)
		return PROTO_E_REPORT_TLP;
	if (r->confidence > 100)
		return PROTO_E_REPORT_CONFIDENCE;
	if (r->created_ms == 0 || r->created_ms > PROTO_REPORT_TIME_MAX_MS ||
	    r->valid_until_ms > PROTO_REPORT_TIME_MAX_MS)
		return PROTO_E_REPORT_TIME;
	if (r->valid_until_ms != 0 && r->valid_until_ms <= r->created_ms)
		return PROTO_E_REPORT_TIME;

	if (r->n_tags > PROTO_REPORT_TAGS_MAX)
		return PROTO_E_TOO_LARGE;
	for (size_t i = 0; i < r->n_tags; i++) {
		if (tags[i].len > PROTO_REPORT_TAG_LEN_MAX)
			return PROTO_E_TOO_LARGE;
		if (tags[i].len == 0 || !tags[i].ptr)
			return PROTO_E_REPORT_TAG;
		if (!proto_mp_utf8_valid(tags[i].ptr, tags[i].len))
			return PROTO_E_UTF8;
		if (!tag_text_ok(&tags[i]))
			return PROTO_E_REPORT_TAG;
		if (i > 0 && str_cmp(&tags[i - 1], &tags[i]) >= 0)
			return PROTO_E_REPORT_TAG;
	}

	if (r->description.len > PROTO_REPORT_DESC_MAX)
		return PROTO_E_TOO_LARGE;
	if (r->description.len && !proto_mp_utf8_valid(r->description.ptr, r->description.len))
		return PROTO_E_UTF8;

	if (r->n_recipients > PROTO_REPORT_RECIPIENTS_MAX)
		return PROTO_E_TOO_LARGE;
	if ((r->tlp >= PROTO_TLP_AMBER) != (r->n_recipients > 0))
		return PROTO_E_REPORT_RECIPIENTS;
	if (r->n_recipients && !rcpt)
		return PROTO_E_REPORT_RECIPIENTS;
	for (size_t i = 1; i < r->n_recipients; i++)
		if (memcmp(rcpt + 32 * (i - 1), rcpt + 32 * i, 32) >= 0)
			return PROTO_E_REPORT_RECIPIENTS;

	if (r->epoch == 0)
		return PROTO_E_REPORT_PROVENANCE;
	switch (r->prov) {
	case PROTO_PROV_ATTRIBUTED:
		if (r->ring_n)
			return PROTO_E_REPORT_PROVENANCE;
		break;
	case PROTO_PROV_ANONYMOUS:
		/* AMBER/RED go directly from the origin to named recipients: no anonymity. */
		if (r->tlp > PROTO_TLP_GREEN)
			return PROTO_E_REPORT_PROVENANCE;
		if (r->ring_n > PROTO_REPORT_RING_MAX)
			return PROTO_E_TOO_LARGE;
		for (size_t i = 0; i < r->ring_n; i++) {
			if (ring[i] >= PROTO_ROSTER_MEMBERS_MAX)
				return PROTO_E_RANGE;
			if (i > 0 && ring[i - 1] >= ring[i])
				return PROTO_E_REPORT_PROVENANCE;
		}
		break;
	default:
		return PROTO_E_REPORT_PROVENANCE;
	}
	return 0;
}

/* ---- encoder ---- */

static void write_body(struct proto_mp_writer *w, const struct proto_report *r,
		       const struct proto_str *tags, const uint8_t *rcpt, const uint16_t *ring)
{
	size_t n = 9; /* version community kind type value tlp confidence created provenance */

	n += r->valid_until_ms != 0;
	n += r->n_tags != 0;
	n += r->description.len != 0;
	n += r->n_recipients != 0;

	proto_mp_write_map(w, n);
	proto_mp_write_uint(w, K_VERSION);
	proto_mp_write_uint(w, REPORT_VERSION);
	proto_mp_write_uint(w, K_COMMUNITY);
	proto_mp_write_bin(w, r->community, 32);
	proto_mp_write_uint(w, K_KIND);
	proto_mp_write_uint(w, r->kind);
	proto_mp_write_uint(w, K_TYPE);
	proto_mp_write_uint(w, r->ind_type);
	proto_mp_write_uint(w, K_VALUE);
	proto_mp_write_str(w, r->ind_value.ptr, r->ind_value.len);
	proto_mp_write_uint(w, K_TLP);
	proto_mp_write_uint(w, r->tlp);
	proto_mp_write_uint(w, K_CONFIDENCE);
	proto_mp_write_uint(w, r->confidence);
	proto_mp_write_uint(w, K_CREATED);
	proto_mp_write_uint(w, r->created_ms);
	if (r->valid_until_ms) {
		proto_mp_write_uint(w, K_VALID_UNTIL);
		proto_mp_write_uint(w, r->valid_until_ms);
	}
	if (r->n_tags) {
		proto_mp_write_uint(w, K_TAGS);
		proto_mp_write_array(w, r->n_tags);
		for (size_t i = 0; i < r->n_tags; i++)
			proto_mp_write_str(w, tags[i].ptr, tags[i].len);
	}
	if (r->description.len) {
		proto_mp_write_uint(w, K_DESCRIPTION);
		proto_mp_write_str(w, r->description.ptr, r->description.len);
	}
	if (r->n_recipients) {
		proto_mp_write_uint(w, K_RECIPIENTS);
		proto_mp_write_array(w, r->n_recipients);
		for (size_t i = 0; i < r->n_recipients; i++)
			proto_mp_write_bin(w, rcpt + 32 * i, 32);
	}
	proto_mp_write_uint(w, K_PROVENANCE);
	if (r->prov == PROTO_PROV_ATTRIBUTED) {
		proto_mp_write_map(w, 3);
		proto_mp_write_uint(w, P_TYPE);
		proto_mp_write_uint(w, PROTO_PROV_ATTRIBUTED);
		proto_mp_write_uint(w, P_SIGNER);
		proto_mp_write_bin(w, r->signer, 32);
		proto_mp_write_uint(w, P_EPOCH);
		proto_mp_write_uint(w, r->epoch);
	} else {
		proto_mp_write_map(w, r->ring_n ? 4 : 3);
		proto_mp_write_uint(w, P_TYPE);
		proto_mp_write_uint(w, PROTO_PROV_ANONYMOUS);
		proto_mp_write_uint(w, P_EPOCH);
		proto_mp_write_uint(w, r->epoch);
		if (r->ring_n) {
			proto_mp_write_uint(w, P_RING);
			proto_mp_write_array(w, r->ring_n);
			for (size_t i = 0; i < r->ring_n; i++)
				proto_mp_write_uint(w, ring[i]);
		}
		proto_mp_write_uint(w, P_TAG);
		proto_mp_write_bin(w, r->link_tag, 32);
	}
}

/*
 * Sorted copies of the three sets live here while encoding (about 3 KiB: on the stack of
 * the encoder, never on the heap).
 */
struct sorted_sets {
	struct proto_str tags[PROTO_REPORT_TAGS_MAX];
	uint8_t rcpt[PROTO_REPORT_RECIPIENTS_MAX * 32];
	uint16_t ring[PROTO_REPORT_RING_MAX];
};

static int sort_sets(const struct proto_report *r, struct sorted_sets *s)
{
	if (r->n_tags > PROTO_REPORT_TAGS_MAX || r->n_recipients > PROTO_REPORT_RECIPIENTS_MAX ||
	    r->ring_n > PROTO_REPORT_RING_MAX)
		return PROTO_E_TOO_LARGE;
	if (r->n_tags) {
		memcpy(s->tags, r->tags, r->n_tags * sizeof(s->tags[0]));
		for (size_t i = 0; i < r->n_tags; i++)
			if (!s->tags[i].ptr)
				return PROTO_E_REPORT_TAG;
		qsort(s->tags, r->n_tags, sizeof(s->tags[0]), str_cmp_q);
	}
	if (r->n_recipients) {
		memcpy(s->rcpt, r->recipients, r->n_recipients * 32);
		qsort(s->rcpt, r->n_recipients, 32, id_cmp_q);
	}
	if (r->ring_n) {
		memcpy(s->ring, r->ring, r->ring_n * sizeof(s->ring[0]));
		qsort(s->ring, r->ring_n, sizeof(s->ring[0]), u16_cmp_q);
	}
	return 0;
}

int proto_report_encode_body(const struct proto_report *r, uint8_t **out, size_t *out_len)
{
	struct sorted_sets s;
	struct proto_mp_writer w;
	int err;

	if (r->description.len && !r->description.ptr)
		return -EINVAL;
	err = sort_sets(r, &s);
	if (err)
		return err;
	err = validate(r, s.tags, s.rcpt, s.ring);
	if (err)
		return err;
	proto_mp_writer_init(&w);
	write_body(&w, r, s.tags, s.rcpt, s.ring);
	err = proto_mp_writer_finish(&w, out, out_len);
	if (err)
		return err;
	if (*out_len + ENVELOPE_MIN > PROTO_REPORT_MAX_BYTES) {
		free(*out);
		*out = NULL;
		return PROTO_E_TOO_LARGE;
	}
	return 0;
}

static int assemble(const uint8_t *body, size_t body_len, const uint8_t *sig, size_t sig_len,
		    uint8_t **out, size_t *out_len)
{
	struct proto_mp_writer w;
	int err;

	proto_mp_writer_init(&w);
	proto_mp_write_array(&w, 2);
	proto_mp_write_bin(&w, body, body_len);
	proto_mp_write_bin(&w, sig, sig_len);
	err = proto_mp_writer_finish(&w, out, out_len);
	if (err)
		return err;
	if (*out_len > PROTO_REPORT_MAX_BYTES) {
		free(*out);
		*out = NULL;
		return PROTO_E_TOO_LARGE;
	}
	return 0;
}

/*
 * The signed message is PROTO_REPORT_DOMAIN || body. libsodium's Ed25519 takes one
 * contiguous message (it hashes R || A || M, and verification hashes the message again), so
 * the prefix cannot be fed separately; a copy of the body into a stack buffer is a few
 * hundred bytes and far cheaper than the curve arithmetic.
 */
struct signed_msg {
	uint8_t buf[DOMAIN_LEN + PROTO_REPORT_MAX_BYTES];
	size_t len;
};

static int signed_msg_build(struct signed_msg *m, const uint8_t *body, size_t body_len)
{
	if (body_len > PROTO_REPORT_MAX_BYTES)
		return PROTO_E_TOO_LARGE;
	memcpy(m->buf, PROTO_REPORT_DOMAIN, DOMAIN_LEN);
	memcpy(m->buf + DOMAIN_LEN, body, body_len);
	m->len = DOMAIN_LEN + body_len;
	return 0;
}

int proto_report_sign(const struct proto_report *r, const uint8_t sk[64], uint8_t **out,
		      size_t *out_len)
{
	struct signed_msg m;
	uint8_t pk[32];
	uint8_t sig[ED25519_SIG_LEN];
	uint8_t *body = NULL;
	size_t body_len;
	int err;

	if (r->prov != PROTO_PROV_ATTRIBUTED)
		return PROTO_E_REPORT_PROVENANCE;
	/*
	 * libsodium's secret key carries the public key in its second half and signs with it;
	 * comparing that half catches a report filled in for another member's id.
	 */
	crypto_sign_ed25519_sk_to_pk(pk, sk);
	if (!proto_ct_equal(pk, r->signer, 32))
		return PROTO_E_REPORT_PROVENANCE;
	err = proto_report_encode_body(r, &body, &body_len);
	if (err)
		return err;
	err = signed_msg_build(&m, body, body_len);
	if (err)
		goto out;
	crypto_sign_detached(sig, NULL, m.buf, m.len, sk);
	err = assemble(body, body_len, sig, sizeof(sig), out, out_len);
out:
	free(body);
	return err;
}

int proto_report_assemble(const uint8_t *body, size_t body_len, const uint8_t *sig, size_t sig_len,
			  uint8_t **out, size_t *out_len)
{
	struct proto_report *r;
	int err;

	err = assemble(body, body_len, sig, sig_len, out, out_len);
	if (err)
		return err;
	/*
	 * Refuse to produce bytes that a peer would refuse: the body must be a valid canonical
	 * body and the signature length must fit its provenance. The struct is heap-allocated
	 * because it is large and this is not a hot path.
	 */
	r = malloc(sizeof(*r));
	if (!r) {
		err = -ENOMEM;
	} else {
		err = proto_report_decode(r, *out, *out_len);
		free(r);
	}
	if (err) {
		free(*out);
		*out = NULL;
	}
	return err;
}

/* ---- decoder ---- */

/*
 * A read of a scalar failed with PROTO_E_TYPE: if the byte there opens an array or a map, the
 * input nests deeper than the schema allows at this position, which is its own class.
 * The mp reader leaves the cursor on the offending byte after a type error.
 */
static int scalar_err(const struct proto_mp_reader *rd, int err)
{
	uint8_t b;

	if (err != PROTO_E_TYPE || rd->p >= rd->end)
		return err;
	b = rd->p[0];
	if ((b >= 0x80 && b <= 0x9f) || (b >= 0xdc && b <= 0xdf))
		return PROTO_E_DEPTH;
	return err;
}

static int rd_uint(struct proto_mp_reader *rd, uint64_t *v)
{
	return scalar_err(rd, proto_mp_read_uint(rd, v));
}

static int rd_str(struct proto_mp_reader *rd, size_t max, struct proto_str *s)
{
	return scalar_err(rd, proto_mp_read_str(rd, max, &s->ptr, &s->len));
}

/* Exactly 32 bytes of bin; any other length is out of range for an id. */
static int rd_id(struct proto_mp_reader *rd, uint8_t out[32])
{
	const uint8_t *p;
	size_t len;
	int err = proto_mp_read_bin(rd, 32, &p, &len);

	if (err == PROTO_E_TOO_LARGE)
		return PROTO_E_RANGE;
	if (err)
		return scalar_err(rd, err);
	if (len != 32)
		return PROTO_E_RANGE;
	memcpy(out, p, 32);
	return 0;
}

static int rd_map_next(struct proto_mp_reader *rd, struct proto_mp_map *m, uint64_t *key)
{
	int err = proto_mp_map_next(rd, m, key);

	return err < 0 ? scalar_err(rd, err) : err;
}

static int decode_provenance(struct proto_report *r, struct proto_mp_reader *rd)
{
	struct proto_mp_map m;
	uint64_t key, v;
	unsigned seen = 0;
	int err;

	/* The count is bounded by the input; extra entries fail as unknown keys below. */
	err = proto_mp_map_begin(rd, &m, PROTO_REPORT_MAX_BYTES);
	if (err)
		return err;
	while ((err = rd_map_next(rd, &m, &key)) > 0) {
		if (key > P_LAST)
			return PROTO_E_KEY_UNKNOWN;
		if (key != P_TYPE && !(seen & 1u << P_TYPE))
			return PROTO_E_KEY_MISSING;
		switch (key) {
		case P_TYPE:
			err = rd_uint(rd, &v);
			if (!err && v > PROTO_PROV_ANONYMOUS)
				err = PROTO_E_REPORT_PROVENANCE;
			if (!err)
				r->prov = (uint8_t)v;
			break;
		case P_SIGNER:
			if (r->prov != PROTO_PROV_ATTRIBUTED)
				return PROTO_E_REPORT_PROVENANCE;
			err = rd_id(rd, r->signer);
			break;
		case P_EPOCH:
			err = rd_uint(rd, &r->epoch);
			if (!err && r->epoch == 0)
				err = PROTO_E_REPORT_PROVENANCE;
			break;
		case P_RING: {
			size_t n;

			if (r->prov != PROTO_PROV_ANONYMOUS)
				return PROTO_E_REPORT_PROVENANCE;
			err = proto_mp_read_array(rd, PROTO_REPORT_RING_MAX, &n);
			if (err)
				break;
			if (n == 0)
				return PROTO_E_EMPTY; /* the whole roster is written by omission */
			for (size_t i = 0; i < n && !err; i++) {
				err = rd_uint(rd, &v);
				if (!err && v >= PROTO_ROSTER_MEMBERS_MAX)
					err = PROTO_E_RANGE;
				if (!err && i > 0 && v <= r->ring[i - 1])
					err = PROTO_E_REPORT_PROVENANCE;
				if (!err)
					r->ring[i] = (uint16_t)v;
			}
			r->ring_n = n;
			break;
		}
		case P_TAG:
			if (r->prov != PROTO_PROV_ANONYMOUS)
				return PROTO_E_REPORT_PROVENANCE;
			err = rd_id(rd, r->link_tag);
			break;
		}
		if (err)
			return err;
		seen |= 1u << key;
	}
	if (err < 0)
		return err;
	if (!(seen & 1u << P_TYPE) || !(seen & 1u << P_EPOCH))
		return PROTO_E_KEY_MISSING;
	if (r->prov == PROTO_PROV_ATTRIBUTED && !(seen & 1u << P_SIGNER))
		return PROTO_E_KEY_MISSING;
	if (r->prov == PROTO_PROV_ANONYMOUS && !(seen & 1u << P_TAG))
		return PROTO_E_KEY_MISSING;
	return 0;
}

static int decode_tags(struct proto_report *r, struct proto_mp_reader *rd)
{
	size_t n;
	int err = proto_mp_read_array(rd, PROTO_REPORT_TAGS_MAX, &n);

	if (err)
		return err;
	if (n == 0)
		return PROTO_E_EMPTY; /* no tags is written by omitting the key */
	for (size_t i = 0; i < n; i++) {
		err = rd_str(rd, PROTO_REPORT_TAG_LEN_MAX, &r->tags[i]);
		if (err)
			return err;
	}
	r->n_tags = n;
	return 0;
}

static int decode_recipients(struct proto_report *r, struct proto_mp_reader *rd)
{
	size_t n;
	int err = proto_mp_read_array(rd, PROTO_REPORT_RECIPIENTS_MAX, &n);

	if (err)
		return err;
	if (n == 0)
		return PROTO_E_EMPTY;
	for (size_t i = 0; i < n; i++) {
		err = rd_id(rd, r->recipients[i]);
		if (err)
			return err;
	}
	r->n_recipients = n;
	return 0;
}

/* Keys every body must carry; TLP is among them but has its own error (fail closed). */
#define REQUIRED_KEYS                                                                        \
	(1u << K_VERSION | 1u << K_COMMUNITY | 1u << K_KIND | 1u << K_TYPE | 1u << K_VALUE | \
	 1u << K_CONFIDENCE | 1u << K_CREATED | 1u << K_PROVENANCE)

static int decode_body(struct proto_report *r, const uint8_t *body, size_t len)
{
	struct proto_mp_reader rd;
	struct proto_mp_map m;
	uint64_t key, v;
	unsigned seen = 0;
	int err;

	proto_mp_reader_init(&rd, body, len);
	err = proto_mp_map_begin(&rd, &m, PROTO_REPORT_MAX_BYTES);
	if (err)
		return err;
	while ((err = rd_map_next(&rd, &m, &key)) > 0) {
		if (key > K_BODY_LAST)
			return PROTO_E_KEY_UNKNOWN;
		switch (key) {
		case K_VERSION:
			err = rd_uint(&rd, &v);
			if (!err && v != REPORT_VERSION)
				err = PROTO_E_VERSION;
			break;
		case K_COMMUNITY:
			err = rd_id(&rd, r->community);
			break;
		case K_KIND:
			err = rd_uint(&rd, &v);
			if (!err && v > PROTO_KIND_REVOKE)
				err = PROTO_E_REPORT_KIND;
			r->kind = (uint8_t)v;
			break;
		case K_TYPE:
			err = rd_uint(&rd, &v);
			if (!err && (v < PROTO_IND_TYPE_MIN || v > PROTO_IND_TYPE_MAX))
				err = PROTO_E_IND_TYPE;
			r->ind_type = (uint8_t)v;
			break;
		case K_VALUE:
			err = rd_str(&rd, PROTO_IND_VALUE_MAX, &r->ind_value);
			break;
		case K_TLP:
			err = rd_uint(&rd, &v);
			if (!err && (v < PROTO_TLP_CLEAR || v > PROTO_TLP_RED))
				err = PROTO_E_REPORT_TLP;
			r->tlp = (uint8_t)v;
			break;
		case K_CONFIDENCE:
			err = rd_uint(&rd, &v);
			if (!err && v > 100)
				err = PROTO_E_REPORT_CONFIDENCE;
			r->confidence = (uint8_t)v;
			break;
		case K_CREATED:
			err = rd_uint(&rd, &r->created_ms);
			break;
		case K_VALID_UNTIL:
			err = rd_uint(&rd, &r->valid_until_ms);
			/* 0 means "no expiry" in the struct, so on the wire it can only be absent. */
			if (!err && r->valid_until_ms == 0)
				err = PROTO_E_REPORT_TIME;
			break;
		case K_TAGS:
			err = decode_tags(r, &rd);
			break;
		case K_DESCRIPTION:
			err = rd_str(&rd, PROTO_REPORT_DESC_MAX, &r->description);
			if (!err && r->description.len == 0)
				err = PROTO_E_EMPTY;
			break;
		case K_RECIPIENTS:
			err = decode_recipients(r, &rd);
			break;
		case K_PROVENANCE:
			err = decode_provenance(r, &rd);
			break;
		}
		if (err)
			return err;
		seen |= 1u << key;
	}
	if (err < 0)
		return err;
	err = proto_mp_reader_finish(&rd);
	if (err)
		return err;
	if ((seen & REQUIRED_KEYS) != REQUIRED_KEYS)
		return PROTO_E_KEY_MISSING;
	if (!(seen & 1u << K_TLP))
		return PROTO_E_REPORT_TLP;
	return validate(r, r->tags, r->recipients[0], r->ring);
}

/* Reset the scalar fields and the views; the large arrays are only read up to their counts. */
static void report_reset(struct proto_report *r)
{
	memset(r->community, 0, sizeof(r->community));
	r->kind = 0;
	r->tlp = 0;
	r->confidence = 0;
	r->created_ms = 0;
	r->valid_until_ms = 0;
	r->ind_type = 0;
	r->ind_value = (struct proto_str){0};
	r->n_tags = 0;
	r->description = (struct proto_str){0};
	r->n_recipients = 0;
	r->prov = 0;
	memset(r->signer, 0, sizeof(r->signer));
	r->epoch = 0;
	r->ring_n = 0;
	memset(r->link_tag, 0, sizeof(r->link_tag));
	r->body = NULL;
	r->body_len = 0;
	r->sig = NULL;
	r->sig_len = 0;
}

int proto_report_decode(struct proto_report *r, const uint8_t *buf, size_t len)
{
	struct proto_mp_reader rd;
	size_t n;
	int err;

	report_reset(r);
	if (len > PROTO_REPORT_MAX_BYTES)
		return PROTO_E_TOO_LARGE;
	proto_mp_reader_init(&rd, buf, len);
	err = proto_mp_read_array(&rd, 2, &n);
	if (err)
		return err;
	if (n != 2)
		return PROTO_E_KEY_MISSING; /* body or signature absent */
	err = proto_mp_read_bin(&rd, PROTO_REPORT_MAX_BYTES, &r->body, &r->body_len);
	if (err)
		return scalar_err(&rd, err);
	err = proto_mp_read_bin(&rd, PROTO_REPORT_SIG_MAX, &r->sig, &r->sig_len);
	if (err)
		return scalar_err(&rd, err);
	err = proto_mp_reader_finish(&rd);
	if (err)
		return err;
	err = decode_body(r, r->body, r->body_len);
	if (err)
		return err;
	/*
	 * Signature length by provenance: Ed25519 is 64 bytes, a ring signature over n keys
	 * (n+1)*32 + 32 (proto/ring.h). An anonymous report whose ring is omitted (the whole
	 * roster) has a ring size the decoder cannot know, so only the shape is checked then:
	 * whole 32-byte words, at least a one-key ring. Policy checks the exact length against
	 * the resolved ring.
	 */
	if (r->prov == PROTO_PROV_ATTRIBUTED) {
		if (r->sig_len != ED25519_SIG_LEN)
			return PROTO_E_REPORT_SIG;
	} else if (r->ring_n) {
		if (r->sig_len != RING_SIG_LEN(r->ring_n))
			return PROTO_E_REPORT_SIG;
	} else if (r->sig_len < RING_SIG_LEN(1) || r->sig_len % 32 != 0) {
		return PROTO_E_REPORT_SIG;
	}
	return 0;
}

int proto_report_verify_attributed(const struct proto_report *r, const uint8_t identity_pk[32])
{
	struct signed_msg m;

	if (r->prov != PROTO_PROV_ATTRIBUTED)
		return PROTO_E_REPORT_PROVENANCE;
	if (!r->sig || r->sig_len != ED25519_SIG_LEN || !r->body)
		return PROTO_E_REPORT_SIG;
	if (signed_msg_build(&m, r->body, r->body_len) != 0)
		return PROTO_E_REPORT_SIG;
	if (crypto_sign_verify_detached(r->sig, m.buf, m.len, identity_pk) != 0)
		return PROTO_E_REPORT_SIG;
	return 0;
}

void proto_report_id(const uint8_t *buf, size_t len, uint8_t id[32])
{
	const void *parts[1] = {buf};
	size_t lens[1] = {len};

	proto_hash(id, 32, parts, lens, 1);
}

void proto_report_indicator_id(const struct proto_report *r, uint8_t id[32])
{
	proto_indicator_id_raw(r->ind_type, r->ind_value.ptr, r->ind_value.len, id);
}

/* ---- names ---- */

static const char *const kind_names[] = {
	[PROTO_KIND_INDICATOR] = "indicator",
	[PROTO_KIND_SIGHTING] = "sighting",
	[PROTO_KIND_FALSE_POSITIVE] = "false_positive",
	[PROTO_KIND_REVOKE] = "revoke",
};

static const char *const tlp_names[] = {
	[PROTO_TLP_CLEAR] = "CLEAR", [PROTO_TLP_GREEN] = "GREEN",
	[PROTO_TLP_AMBER] = "AMBER", [PROTO_TLP_AMBER_STRICT] = "AMBER+STRICT",
	[PROTO_TLP_RED] = "RED",
};

const char *proto_report_kind_name(int kind)
{
	if (kind < 0 || kind > PROTO_KIND_REVOKE)
		return NULL;
	return kind_names[kind];
}

int proto_report_kind_from_name(const char *name)
{
	if (!name)
		return -1;
	for (int k = 0; k <= PROTO_KIND_REVOKE; k++)
		if (strcasecmp(name, kind_names[k]) == 0)
			return k;
	return -1;
}

const char *proto_tlp_name(int tlp)
{
	if (tlp < PROTO_TLP_CLEAR || tlp > PROTO_TLP_RED)
		return NULL;
	return tlp_names[tlp];
}

int proto_tlp_from_name(const char *name)
{
	if (!name)
		return -1;
	if (strncasecmp(name, "TLP:", 4) == 0)
		name += 4;
	for (int t = PROTO_TLP_CLEAR; t <= PROTO_TLP_RED; t++)
		if (strcasecmp(name, tlp_names[t]) == 0)
			return t;
	/* TLP 1.0's WHITE became CLEAR in TLP 2.0; older MISP and STIX data still says WHITE. */
	if (strcasecmp(name, "WHITE") == 0)
		return PROTO_TLP_CLEAR;
	return -1;
}
