/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_proto_report.c — proto/report: every rejection class of the strict decoder
 * on hand-crafted bytes, the encoder's rules, round trips of every kind x TLP x provenance,
 * signing and verification, a one-bit flip at every bit position of a signed report, and the
 * golden vectors in tests/unit/golden/reports.txt.
 *
 * Golden vectors: the table golden[] below defines each vector from fixed seeds and fixed
 * field values; the file pins the exact signed bytes and report ids. The test rebuilds every
 * vector (Ed25519 is deterministic) and compares byte for byte, and decodes the file's bytes
 * independently. To regenerate the file after a deliberate format change (which is a
 * protocol break), run the test with CHATHAM_GOLDEN_WRITE=1.
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

#include "proto/crypto.h"
#include "proto/crypto_test.h"
#include "proto/error.h"
#include "proto/indicator.h"
#include "proto/mp.h"
#include "proto/report.h"
#include "testutil.h"

#define CREATED 1700000000000ull

/* ---- keys and a baseline report ---------------------------------------------------- */

static void seed_key(uint8_t pk[32], uint8_t sk[64], uint8_t seed_byte)
{
	uint8_t seed[32];

	memset(seed, seed_byte, sizeof(seed));
	proto_crypto_raw_ed25519_seed_keypair(pk, sk, seed);
}

static const uint8_t community[32] = {
	0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0,
	0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0,
	0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0,
};

static struct proto_str S(const char *s) {
	return (struct proto_str){.ptr = s, .len = strlen(s)};
}

/* A valid attributed CLEAR report on 192.0.2.1 signed by seed 0x01's key. */
static void
base_report(struct proto_report *r, uint8_t sk[64])
{
	uint8_t pk[32];

	memset(r, 0, sizeof(*r));
	seed_key(pk, sk, 0x01);
	memcpy(r->community, community, 32);
	r->kind = PROTO_KIND_INDICATOR;
	r->ind_type = PROTO_IND_IPV4;
	r->ind_value = S("192.0.2.1");
	r->tlp = PROTO_TLP_CLEAR;
	r->confidence = 80;
	r->created_ms = CREATED;
	r->prov = PROTO_PROV_ATTRIBUTED;
	memcpy(r->signer, pk, 32);
	r->epoch = 1;
}

static bool str_eq(struct proto_str a, struct proto_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* Field-by-field equality of two reports (sets compared in order). */
static void assert_report_eq(const struct proto_report *a, const struct proto_report *b)
{
	assert_memory_equal(a->community, b->community, 32);
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->tlp, b->tlp);
	assert_int_equal(a->confidence, b->confidence);
	assert_true(a->created_ms == b->created_ms);
	assert_true(a->valid_until_ms == b->valid_until_ms);
	assert_int_equal(a->ind_type, b->ind_type);
	assert_true(str_eq(a->ind_value, b->ind_value));
	assert_int_equal(a->n_tags, b->n_tags);
	for (size_t i = 0; i < a->n_tags; i++)
		assert_true(str_eq(a->tags[i], b->tags[i]));
	assert_true(str_eq(a->description, b->description));
	assert_int_equal(a->n_recipients, b->n_recipients);
	if (a->n_recipients)
		assert_memory_equal(a->recipients, b->recipients, 32 * a->n_recipients);
	assert_int_equal(a->prov, b->prov);
	assert_true(a->epoch == b->epoch);
	if (a->prov == PROTO_PROV_ATTRIBUTED) {
		assert_memory_equal(a->signer, b->signer, 32);
	} else {
		assert_memory_equal(a->link_tag, b->link_tag, 32);
		assert_int_equal(a->ring_n, b->ring_n);
		for (size_t i = 0; i < a->ring_n; i++)
			assert_int_equal(a->ring[i], b->ring[i]);
	}
}

/* ---- hand-crafted bodies ------------------------------------------------------------ */

struct buf {
	uint8_t b[24000];
	size_t n;
};

static void put(struct buf *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof(b->b));
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void put_hex(struct buf *b, const char *hex)
{
	size_t n;
	uint8_t *p = tu_unhex(hex, &n);

	put(b, p, n);
	free(p);
}

/* Append what the canonical writer produced. */
static void put_w(struct buf *b, struct proto_mp_writer *w)
{
	uint8_t *p;
	size_t n;

	assert_int_equal(proto_mp_writer_finish(w, &p, &n), 0);
	put(b, p, n);
	free(p);
}

static void put_uint(struct buf *b, uint64_t v)
{
	struct proto_mp_writer w;

	proto_mp_writer_init(&w);
	proto_mp_write_uint(&w, v);
	put_w(b, &w);
}

static void put_str(struct buf *b, const char *s, size_t len)
{
	struct proto_mp_writer w;

	proto_mp_writer_init(&w);
	proto_mp_write_str(&w, s, len);
	put_w(b, &w);
}

static void put_bin(struct buf *b, const void *p, size_t len)
{
	struct proto_mp_writer w;

	proto_mp_writer_init(&w);
	proto_mp_write_bin(&w, p, len);
	put_w(b, &w);
}

static void put_array(struct buf *b, size_t n)
{
	struct proto_mp_writer w;

	proto_mp_writer_init(&w);
	proto_mp_write_array(&w, n);
	put_w(b, &w);
}

static void put_map(struct buf *b, size_t n)
{
	struct proto_mp_writer w;

	proto_mp_writer_init(&w);
	proto_mp_write_map(&w, n);
	put_w(b, &w);
}

/*
 * The body under construction: a list of (key bytes, value bytes) written in list order,
 * so tests can reorder, duplicate, drop or corrupt any entry. map_hdr overrides the map
 * header when non-empty; sig_len is the length of the (zero) signature in the envelope.
 */
struct field {
	uint64_t key;
	struct buf k;
	struct buf v;
};

static struct body {
	struct field f[20];
	size_t n;
	struct buf map_hdr;
	struct buf tail; /* bytes after the map, inside the body bin */
	size_t sig_len;
} B;

static struct buf V; /* scratch value */
static uint8_t signer_pk[32];

static struct field *fld(uint64_t key)
{
	for (size_t i = 0; i < B.n; i++)
		if (B.f[i].key == key)
			return &B.f[i];
	return NULL;
}

/* Replace the value of @key with V (inserting the key in ascending position if absent). */
static void set_v(uint64_t key)
{
	struct field *f = fld(key);
	size_t i;

	if (!f) {
		assert_true(B.n < 20);
		for (i = B.n; i > 0 && B.f[i - 1].key > key; i--)
			B.f[i] = B.f[i - 1];
		f = &B.f[i];
		B.n++;
		f->key = key;
		f->k.n = 0;
		put_uint(&f->k, key);
	}
	f->v = V;
	V.n = 0;
}

static void del(uint64_t key)
{
	for (size_t i = 0; i < B.n; i++) {
		if (B.f[i].key == key) {
			memmove(&B.f[i], &B.f[i + 1], (B.n - i - 1) * sizeof(B.f[0]));
			B.n--;
			return;
		}
	}
}

static void prov_attributed(const uint8_t signer[32], uint64_t epoch)
{
	put_map(&V, 3);
	put_uint(&V, 0);
	put_uint(&V, 0);
	put_uint(&V, 1);
	put_bin(&V, signer, 32);
	put_uint(&V, 2);
	put_uint(&V, epoch);
}

static const uint8_t link_tag[32] = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
				     7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};

/* Default: the same report as base_report(), all 9 required keys. */
static void body_reset(void)
{
	uint8_t sk[64];

	memset(&B, 0, sizeof(B));
	V.n = 0;
	B.sig_len = 64;
	seed_key(signer_pk, sk, 0x01);
	put_uint(&V, 1);
	set_v(0);
	put_bin(&V, community, 32);
	set_v(1);
	put_uint(&V, PROTO_KIND_INDICATOR);
	set_v(2);
	put_uint(&V, PROTO_IND_IPV4);
	set_v(3);
	put_str(&V, "192.0.2.1", 9);
	set_v(4);
	put_uint(&V, PROTO_TLP_CLEAR);
	set_v(5);
	put_uint(&V, 80);
	set_v(6);
	put_uint(&V, CREATED);
	set_v(7);
	prov_attributed(signer_pk, 1);
	set_v(12);
}

static void body_bytes(struct buf *out)
{
	out->n = 0;
	if (B.map_hdr.n)
		put(out, B.map_hdr.b, B.map_hdr.n);
	else
		put_map(out, B.n);
	for (size_t i = 0; i < B.n; i++) {
		put(out, B.f[i].k.b, B.f[i].k.n);
		put(out, B.f[i].v.b, B.f[i].v.n);
	}
	put(out, B.tail.b, B.tail.n);
}

static struct buf ENV; /* the crafted signed encoding */

static void envelope(void)
{
	static struct buf body;
	static const uint8_t zero[PROTO_REPORT_SIG_MAX + 64];

	body_bytes(&body);
	ENV.n = 0;
	put_array(&ENV, 2);
	put_bin(&ENV, body.b, body.n);
	put_bin(&ENV, zero, B.sig_len);
}

static int decode_body(void)
{
	struct proto_report r;

	envelope();
	return proto_report_decode(&r, ENV.b, ENV.n);
}

/* ---- decoder: the baseline decodes, then one mutation per rejection class ---------- */

static void test_crafted_baseline(void **state)
{
	struct proto_report r, want;
	uint8_t sk[64];
	uint8_t *body;
	size_t body_len;

	(void)state;
	body_reset();
	envelope();
	assert_int_equal(proto_report_decode(&r, ENV.b, ENV.n), 0);
	base_report(&want, sk);
	assert_report_eq(&r, &want);
	/* The crafted body is exactly what the encoder produces for the same fields. */
	assert_int_equal(proto_report_encode_body(&want, &body, &body_len), 0);
	assert_int_equal(body_len, r.body_len);
	assert_memory_equal(body, r.body, body_len);
	free(body);
}

struct reject_case {
	const char *name;
	void (*mutate)(void);
	int want;
};

#define MUT(name, ...)         \
	static void name(void) \
	{                      \
		__VA_ARGS__;   \
	}

/* unsorted and duplicate keys */
MUT(m_swap_keys, {
	struct field t = B.f[2];
	B.f[2] = B.f[3];
	B.f[3] = t;
})
MUT(m_dup_key_adjacent, {
	memmove(&B.f[3], &B.f[2], (B.n - 2) * sizeof(B.f[0]));
	B.n++;
})
MUT(m_prov_keys_unsorted, {
	put_map(&V, 3);
	put_uint(&V, 0);
	put_uint(&V, 0);
	put_uint(&V, 2);
	put_uint(&V, 1);
	put_uint(&V, 1);
	put_bin(&V, signer_pk, 32);
	set_v(12);
})
MUT(m_prov_key_dup, {
	put_map(&V, 4);
	put_uint(&V, 0);
	put_uint(&V, 0);
	put_uint(&V, 1);
	put_bin(&V, signer_pk, 32);
	put_uint(&V, 1);
	put_bin(&V, signer_pk, 32);
	put_uint(&V, 2);
	put_uint(&V, 1);
	set_v(12);
})
/* non-minimal integers and lengths */
MUT(m_nonmin_confidence, {
	put_hex(&V, "cc05");
	set_v(6);
})
MUT(m_nonmin_created, {
	put_hex(&V, "cf00000000ffffffff");
	set_v(7);
})
MUT(m_nonmin_key, {
	B.f[2].k.n = 0;
	put_hex(&B.f[2].k, "cc02");
})
MUT(m_nonmin_str_len, {
	put_hex(&V, "d909");
	put(&V, "192.0.2.1", 9);
	set_v(4);
})
MUT(m_nonmin_bin_len, {
	put_hex(&V, "c50020");
	put(&V, community, 32);
	set_v(1);
})
MUT(m_nonmin_map_hdr, { put_hex(&B.map_hdr, "de0009"); })
MUT(m_nonmin_epoch, {
	put_map(&V, 3);
	put_uint(&V, 0);
	put_uint(&V, 0);
	put_uint(&V, 1);
	put_bin(&V, signer_pk, 32);
	put_uint(&V, 2);
	put_hex(&V, "cd0001");
	set_v(12);
})
/* floats */
MUT(m_float32, {
	put_hex(&V, "ca42a00000");
	set_v(6);
})
MUT(m_float64, {
	put_hex(&V, "cb4278bcfe56800000");
	set_v(7);
})
/* invalid UTF-8 */
MUT(m_utf8_value, {
	put_str(&V, "192.0.2.\xff", 9);
	set_v(4);
})
MUT(m_utf8_desc, {
	put_str(&V, "bad \xc0\xaf slash", 12);
	set_v(10);
})
MUT(m_utf8_tag, {
	put_array(&V, 1);
	put_str(&V, "\xed\xa0\x80", 3); /* surrogate U+D800 */
	set_v(9);
})
/* bin/str confusion */
MUT(m_bin_for_str, {
	put_bin(&V, "192.0.2.1", 9);
	set_v(4);
})
MUT(m_str_for_bin, {
	put_str(&V, (const char *)community, 32);
	set_v(1);
})
MUT(m_bin_tag, {
	put_array(&V, 1);
	put_bin(&V, "c2", 2);
	set_v(9);
})
MUT(m_str_signer, {
	put_map(&V, 3);
	put_uint(&V, 0);
	put_uint(&V, 0);
	put_uint(&V, 1);
	put_str(&V, "0123456789abcdef0123456789abcdef", 32);
	put_uint(&V, 2);
	put_uint(&V, 1);
	set_v(12);
})
/* other wrong types */
MUT(m_str_kind, {
	put_str(&V, "indicator", 9);
	set_v(2);
})
MUT(m_nil_kind, {
	put_hex(&V, "c0");
	set_v(2);
})
MUT(m_negative_conf, {
	put_hex(&V, "ff");
	set_v(6);
})
MUT(m_ext_conf, {
	put_hex(&V, "d40101");
	set_v(6);
})
MUT(m_prov_array, {
	put_array(&V, 3);
	put_uint(&V, 0);
	put_bin(&V, signer_pk, 32);
	put_uint(&V, 1);
	set_v(12);
})
MUT(m_tags_map, {
	put_map(&V, 0);
	set_v(9);
})
/* unknown keys */
MUT(m_unknown_13, {
	put_uint(&V, 1);
	set_v(13);
})
MUT(m_unknown_huge, {
	put_uint(&V, 1);
	set_v(UINT64_MAX);
})
MUT(m_prov_unknown, {
	put_map(&V, 4);
	put_uint(&V, 0);
	put_uint(&V, 0);
	put_uint(&V, 1);
	put_bin(&V, signer_pk, 32);
	put_uint(&V, 2);
	put_uint(&V, 1);
	put_uint(&V, 5);
	put_uint(&V, 0);
	set_v(12);
})
MUT(m_str_key, {
	B.f[2].k.n = 0;
	put_str(&B.f[2].k, "kind", 4);
})
/* missing keys */
MUT(m_miss_version, del(0))
MUT(m_miss_community, del(1))
MUT(m_miss_kind, del(2))
MUT(m_miss_type, del(3))
MUT(m_miss_value, del(4))
MUT(m_miss_tlp, del(5))
MUT(m_miss_confidence, del(6))
MUT(m_miss_created, del(7))
MUT(m_miss_provenance, del(12))
MUT(m_miss_prov_type, {
	put_map(&V, 2);
	put_uint(&V, 1);
	put_bin(&V, signer_pk, 32);
	put_uint(&V, 2);
	put_uint(&V, 1);
	set_v(12);
})
MUT(m_miss_signer, {
	put_map(&V, 2);
	put_uint(&V, 0);
	put_uint(&V, 0);
	put_uint(&V, 2);
	put_uint(&V, 1);
	set_v(12);
})
MUT(m_miss_epoch, {
	put_map(&V, 2);
	put_uint(&V, 0);
	put_uint(&V, 0);
	put_uint(&V, 1);
	put_bin(&V, signer_pk, 32);
	set_v(12);
})
MUT(m_miss_link_tag, {
	put_map(&V, 2);
	put_uint(&V, 0);
	put_uint(&V, 1);
	put_uint(&V, 2);
	put_uint(&V, 1);
	set_v(12);
	B.sig_len = 128;
})
/* trailing bytes */
MUT(m_body_trailing, { put_hex(&B.tail, "00"); })
MUT(m_map_count_short, {
	put_map(&B.map_hdr, B.n - 1); /* last entry becomes trailing bytes */
})
/* nesting beyond the schema */
MUT(m_value_map, {
	put_map(&V, 1);
	put_uint(&V, 0);
	put_str(&V, "192.0.2.1", 9);
	set_v(4);
})
MUT(m_conf_array, {
	put_array(&V, 1);
	put_uint(&V, 80);
	set_v(6);
})
MUT(m_tag_nested, {
	put_array(&V, 1);
	put_array(&V, 1);
	put_str(&V, "c2", 2);
	set_v(9);
})
MUT(m_ring_nested, {
	put_map(&V, 4);
	put_uint(&V, 0);
	put_uint(&V, 1);
	put_uint(&V, 2);
	put_uint(&V, 1);
	put_uint(&V, 3);
	put_array(&V, 1);
	put_array(&V, 1);
	put_uint(&V, 1);
	put_uint(&V, 4);
	put_bin(&V, link_tag, 32);
	set_v(12);
	B.sig_len = 96;
})
MUT(m_map_key, {
	B.f[2].k.n = 0;
	put_map(&B.f[2].k, 0);
})
MUT(m_recipient_nested, {
	put_uint(&V, PROTO_TLP_AMBER);
	set_v(5);
	put_array(&V, 1);
	put_map(&V, 1);
	put_uint(&V, 0);
	put_bin(&V, signer_pk, 32);
	set_v(11);
})
/* sizes over the documented limits */
MUT(m_tags_17, {
	char t[4];
	put_array(&V, 17);
	for (int i = 0; i < 17; i++) {
		snprintf(t, sizeof(t), "t%02d", i);
		put_str(&V, t, 3);
	}
	set_v(9);
})
MUT(m_tag_65, {
	char t[65];
	memset(t, 'a', sizeof(t));
	put_array(&V, 1);
	put_str(&V, t, 65);
	set_v(9);
})
MUT(m_desc_2049, {
	static char d[2049];
	memset(d, 'd', sizeof(d));
	put_str(&V, d, sizeof(d));
	set_v(10);
})
MUT(m_value_2049, {
	static char d[2049];
	memset(d, 'a', sizeof(d));
	put_str(&V, d, sizeof(d));
	set_v(4);
})
MUT(m_recipients_65, {
	uint8_t id[32] = {0};
	put_uint(&V, PROTO_TLP_AMBER);
	set_v(5);
	put_array(&V, 65);
	for (int i = 0; i < 65; i++) {
		id[31] = (uint8_t)i;
		put_bin(&V, id, 32);
	}
	set_v(11);
})
MUT(m_ring_257, {
	put_map(&V, 4);
	put_uint(&V, 0);
	put_uint(&V, 1);
	put_uint(&V, 2);
	put_uint(&V, 1);
	put_uint(&V, 3);
	put_array(&V, 257);
	for (int i = 0; i < 257; i++)
		put_uint(&V, (uint64_t)i);
	put_uint(&V, 4);
	put_bin(&V, link_tag, 32);
	set_v(12);
})
MUT(m_sig_over_max, { B.sig_len = PROTO_REPORT_SIG_MAX + 32; })
/* field rules */
MUT(m_version_2, {
	put_uint(&V, 2);
	set_v(0);
})
MUT(m_kind_4, {
	put_uint(&V, 4);
	set_v(2);
})
MUT(m_type_0, {
	put_uint(&V, 0);
	set_v(3);
})
MUT(m_type_10, {
	put_uint(&V, 10);
	set_v(3);
})
MUT(m_value_noncanon, {
	put_str(&V, "192.000.2.1", 11);
	set_v(4);
})
MUT(m_value_wrong_type, {
	put_uint(&V, PROTO_IND_SHA256);
	set_v(3);
})
MUT(m_domain_upper, {
	put_uint(&V, PROTO_IND_DOMAIN);
	set_v(3);
	put_str(&V, "Example.com", 11);
	set_v(4);
})
MUT(m_tlp_0, {
	put_uint(&V, 0);
	set_v(5);
})
MUT(m_tlp_6, {
	put_uint(&V, 6);
	set_v(5);
})
MUT(m_conf_101, {
	put_uint(&V, 101);
	set_v(6);
})
MUT(m_created_0, {
	put_uint(&V, 0);
	set_v(7);
})
MUT(m_valid_until_eq, {
	put_uint(&V, CREATED);
	set_v(8);
})
MUT(m_valid_until_before, {
	put_uint(&V, CREATED - 1);
	set_v(8);
})
MUT(m_valid_until_0, {
	put_uint(&V, 0);
	set_v(8);
})
/* Year 10000 and later: no 4-digit RFC 3339 year, so no export format could print it. */
MUT(m_valid_until_year_10000, {
	put_uint(&V, PROTO_REPORT_TIME_MAX_MS + 1);
	set_v(8);
})
MUT(m_valid_until_u64_max, {
	put_uint(&V, UINT64_MAX);
	set_v(8);
})
MUT(m_created_year_10000, {
	put_uint(&V, PROTO_REPORT_TIME_MAX_MS + 1);
	set_v(7);
})
MUT(m_tags_unsorted, {
	put_array(&V, 2);
	put_str(&V, "phish", 5);
	put_str(&V, "c2", 2);
	set_v(9);
})
MUT(m_tags_dup, {
	put_array(&V, 2);
	put_str(&V, "c2", 2);
	put_str(&V, "c2", 2);
	set_v(9);
})
MUT(m_tag_prefix_order, {
	put_array(&V, 2);
	put_str(&V, "c2x", 3);
	put_str(&V, "c2", 2);
	set_v(9);
})
MUT(m_tag_control, {
	put_array(&V, 1);
	put_str(&V, "a\nb", 3);
	set_v(9);
})
MUT(m_tag_del, {
	put_array(&V, 1);
	put_str(&V, "a\x7f", 2);
	set_v(9);
})
MUT(m_tag_c1, {
	put_array(&V, 1);
	put_str(&V, "a\xc2\x85", 3);
	set_v(9);
})
MUT(m_tag_empty, {
	put_array(&V, 1);
	put_str(&V, "", 0);
	set_v(9);
})
MUT(m_tags_empty_array, {
	put_array(&V, 0);
	set_v(9);
})
MUT(m_desc_empty, {
	put_str(&V, "", 0);
	set_v(10);
})
MUT(m_clear_with_recipients, {
	put_array(&V, 1);
	put_bin(&V, signer_pk, 32);
	set_v(11);
})
MUT(m_amber_without_recipients, {
	put_uint(&V, PROTO_TLP_AMBER);
	set_v(5);
})
MUT(m_red_without_recipients, {
	put_uint(&V, PROTO_TLP_RED);
	set_v(5);
})
MUT(m_recipients_empty, {
	put_uint(&V, PROTO_TLP_AMBER);
	set_v(5);
	put_array(&V, 0);
	set_v(11);
})
MUT(m_recipients_unsorted, {
	uint8_t a[32];
	uint8_t b[32];
	memset(a, 1, 32);
	memset(b, 2, 32);
	put_uint(&V, PROTO_TLP_AMBER);
	set_v(5);
	put_array(&V, 2);
	put_bin(&V, b, 32);
	put_bin(&V, a, 32);
	set_v(11);
})
MUT(m_recipients_dup, {
	put_uint(&V, PROTO_TLP_RED);
	set_v(5);
	put_array(&V, 2);
	put_bin(&V, signer_pk, 32);
	put_bin(&V, signer_pk, 32);
	set_v(11);
})
MUT(m_recipient_short, {
	put_uint(&V, PROTO_TLP_AMBER);
	set_v(5);
	put_array(&V, 1);
	put_bin(&V, signer_pk, 31);
	set_v(11);
})
MUT(m_community_long, {
	uint8_t c[33] = {0};
	put_bin(&V, c, 33);
	set_v(1);
})
MUT(m_prov_type_2, {
	put_map(&V, 3);
	put_uint(&V, 0);
	put_uint(&V, 2);
	put_uint(&V, 1);
	put_bin(&V, signer_pk, 32);
	put_uint(&V, 2);
	put_uint(&V, 1);
	set_v(12);
})
MUT(m_epoch_0, {
	prov_attributed(signer_pk, 0);
	set_v(12);
})
MUT(m_attributed_with_tag, {
	put_map(&V, 4);
	put_uint(&V, 0);
	put_uint(&V, 0);
	put_uint(&V, 1);
	put_bin(&V, signer_pk, 32);
	put_uint(&V, 2);
	put_uint(&V, 1);
	put_uint(&V, 4);
	put_bin(&V, link_tag, 32);
	set_v(12);
})
MUT(m_anon_with_signer, {
	put_map(&V, 4);
	put_uint(&V, 0);
	put_uint(&V, 1);
	put_uint(&V, 1);
	put_bin(&V, signer_pk, 32);
	put_uint(&V, 2);
	put_uint(&V, 1);
	put_uint(&V, 4);
	put_bin(&V, link_tag, 32);
	set_v(12);
})
static void anon_prov(size_t ring_n, const uint64_t *ring)
{
	put_map(&V, ring_n ? 4 : 3);
	put_uint(&V, 0);
	put_uint(&V, 1);
	put_uint(&V, 2);
	put_uint(&V, 1);
	if (ring_n) {
		put_uint(&V, 3);
		put_array(&V, ring_n);
		for (size_t i = 0; i < ring_n; i++)
			put_uint(&V, ring[i]);
	}
	put_uint(&V, 4);
	put_bin(&V, link_tag, 32);
	set_v(12);
}
MUT(m_anon_amber, {
	put_uint(&V, PROTO_TLP_AMBER);
	set_v(5);
	put_array(&V, 1);
	put_bin(&V, signer_pk, 32);
	set_v(11);
	anon_prov(0, NULL);
	B.sig_len = 96;
})
MUT(m_anon_red, {
	put_uint(&V, PROTO_TLP_RED);
	set_v(5);
	put_array(&V, 1);
	put_bin(&V, signer_pk, 32);
	set_v(11);
	anon_prov(0, NULL);
	B.sig_len = 96;
})
MUT(m_ring_unsorted, {
	anon_prov(2, (const uint64_t[]){5, 3});
	B.sig_len = 128;
})
MUT(m_ring_dup, {
	anon_prov(2, (const uint64_t[]){3, 3});
	B.sig_len = 128;
})
MUT(m_ring_index_4096, {
	anon_prov(1, (const uint64_t[]){4096});
	B.sig_len = 96;
})
MUT(m_ring_empty, {
	put_map(&V, 4);
	put_uint(&V, 0);
	put_uint(&V, 1);
	put_uint(&V, 2);
	put_uint(&V, 1);
	put_uint(&V, 3);
	put_array(&V, 0);
	put_uint(&V, 4);
	put_bin(&V, link_tag, 32);
	set_v(12);
	B.sig_len = 96;
})
/* signature length by provenance */
MUT(m_attr_sig_63, { B.sig_len = 63; })
MUT(m_attr_sig_96, { B.sig_len = 96; })
MUT(m_anon_sig_64, {
	anon_prov(0, NULL);
	B.sig_len = 64;
})
MUT(m_anon_sig_unaligned, {
	anon_prov(0, NULL);
	B.sig_len = 100;
})
MUT(m_anon_sig_wrong_ring, {
	anon_prov(2, (const uint64_t[]){1, 2});
	B.sig_len = 160; /* ring of 3 */
})

static const struct reject_case reject_cases[] = {
	{"unsorted keys", m_swap_keys, PROTO_E_KEY_ORDER},
	{"duplicate key", m_dup_key_adjacent, PROTO_E_KEY_DUP},
	{"provenance keys unsorted", m_prov_keys_unsorted, PROTO_E_KEY_ORDER},
	{"provenance key duplicate", m_prov_key_dup, PROTO_E_KEY_DUP},
	{"non-minimal confidence", m_nonmin_confidence, PROTO_E_NONMINIMAL},
	{"non-minimal created", m_nonmin_created, PROTO_E_NONMINIMAL},
	{"non-minimal key", m_nonmin_key, PROTO_E_NONMINIMAL},
	{"non-minimal str length", m_nonmin_str_len, PROTO_E_NONMINIMAL},
	{"non-minimal bin length", m_nonmin_bin_len, PROTO_E_NONMINIMAL},
	{"non-minimal map header", m_nonmin_map_hdr, PROTO_E_NONMINIMAL},
	{"non-minimal epoch", m_nonmin_epoch, PROTO_E_NONMINIMAL},
	{"float32", m_float32, PROTO_E_FLOAT},
	{"float64", m_float64, PROTO_E_FLOAT},
	{"invalid UTF-8 value", m_utf8_value, PROTO_E_UTF8},
	{"overlong UTF-8 description", m_utf8_desc, PROTO_E_UTF8},
	{"surrogate in tag", m_utf8_tag, PROTO_E_UTF8},
	{"bin where str expected", m_bin_for_str, PROTO_E_TYPE},
	{"str where bin expected", m_str_for_bin, PROTO_E_TYPE},
	{"bin tag", m_bin_tag, PROTO_E_TYPE},
	{"str signer", m_str_signer, PROTO_E_TYPE},
	{"str kind", m_str_kind, PROTO_E_TYPE},
	{"nil kind", m_nil_kind, PROTO_E_TYPE},
	{"negative confidence", m_negative_conf, PROTO_E_TYPE},
	{"ext confidence", m_ext_conf, PROTO_E_RESERVED},
	{"provenance as array", m_prov_array, PROTO_E_TYPE},
	{"tags as map", m_tags_map, PROTO_E_TYPE},
	{"unknown key 13", m_unknown_13, PROTO_E_KEY_UNKNOWN},
	{"unknown key 2^64-1", m_unknown_huge, PROTO_E_KEY_UNKNOWN},
	{"unknown provenance key", m_prov_unknown, PROTO_E_KEY_UNKNOWN},
	{"str key", m_str_key, PROTO_E_TYPE},
	{"missing version", m_miss_version, PROTO_E_KEY_MISSING},
	{"missing community", m_miss_community, PROTO_E_KEY_MISSING},
	{"missing kind", m_miss_kind, PROTO_E_KEY_MISSING},
	{"missing type", m_miss_type, PROTO_E_KEY_MISSING},
	{"missing value", m_miss_value, PROTO_E_KEY_MISSING},
	{"missing TLP (fail closed)", m_miss_tlp, PROTO_E_REPORT_TLP},
	{"missing confidence", m_miss_confidence, PROTO_E_KEY_MISSING},
	{"missing created", m_miss_created, PROTO_E_KEY_MISSING},
	{"missing provenance", m_miss_provenance, PROTO_E_KEY_MISSING},
	{"missing provenance type", m_miss_prov_type, PROTO_E_KEY_MISSING},
	{"missing signer", m_miss_signer, PROTO_E_KEY_MISSING},
	{"missing epoch", m_miss_epoch, PROTO_E_KEY_MISSING},
	{"missing link tag", m_miss_link_tag, PROTO_E_KEY_MISSING},
	{"trailing byte in body", m_body_trailing, PROTO_E_TRAILING},
	{"map count one short", m_map_count_short, PROTO_E_TRAILING},
	{"map where str expected", m_value_map, PROTO_E_DEPTH},
	{"array where uint expected", m_conf_array, PROTO_E_DEPTH},
	{"array inside tags", m_tag_nested, PROTO_E_DEPTH},
	{"array inside ring", m_ring_nested, PROTO_E_DEPTH},
	{"map as key", m_map_key, PROTO_E_DEPTH},
	{"map inside recipients", m_recipient_nested, PROTO_E_DEPTH},
	{"17 tags", m_tags_17, PROTO_E_TOO_LARGE},
	{"65-byte tag", m_tag_65, PROTO_E_TOO_LARGE},
	{"2049-byte description", m_desc_2049, PROTO_E_TOO_LARGE},
	{"2049-byte indicator value", m_value_2049, PROTO_E_TOO_LARGE},
	{"65 recipients", m_recipients_65, PROTO_E_TOO_LARGE},
	{"ring of 257", m_ring_257, PROTO_E_TOO_LARGE},
	{"signature over the maximum", m_sig_over_max, PROTO_E_TOO_LARGE},
	{"version 2", m_version_2, PROTO_E_VERSION},
	{"kind 4", m_kind_4, PROTO_E_REPORT_KIND},
	{"indicator type 0", m_type_0, PROTO_E_IND_TYPE},
	{"indicator type 10", m_type_10, PROTO_E_IND_TYPE},
	{"non-canonical IPv4", m_value_noncanon, PROTO_E_IND_VALUE},
	{"IPv4 value under type sha256", m_value_wrong_type, PROTO_E_IND_VALUE},
	{"upper-case domain", m_domain_upper, PROTO_E_IND_VALUE},
	{"TLP 0", m_tlp_0, PROTO_E_REPORT_TLP},
	{"TLP 6", m_tlp_6, PROTO_E_REPORT_TLP},
	{"confidence 101", m_conf_101, PROTO_E_REPORT_CONFIDENCE},
	{"created 0", m_created_0, PROTO_E_REPORT_TIME},
	{"valid_until == created", m_valid_until_eq, PROTO_E_REPORT_TIME},
	{"valid_until < created", m_valid_until_before, PROTO_E_REPORT_TIME},
	{"valid_until 0 present", m_valid_until_0, PROTO_E_REPORT_TIME},
	{"valid_until in year 10000", m_valid_until_year_10000, PROTO_E_REPORT_TIME},
	{"valid_until 2^64-1", m_valid_until_u64_max, PROTO_E_REPORT_TIME},
	{"created in year 10000", m_created_year_10000, PROTO_E_REPORT_TIME},
	{"tags unsorted", m_tags_unsorted, PROTO_E_REPORT_TAG},
	{"tags duplicate", m_tags_dup, PROTO_E_REPORT_TAG},
	{"tag prefix after longer", m_tag_prefix_order, PROTO_E_REPORT_TAG},
	{"tag with newline", m_tag_control, PROTO_E_REPORT_TAG},
	{"tag with DEL", m_tag_del, PROTO_E_REPORT_TAG},
	{"tag with C1 control", m_tag_c1, PROTO_E_REPORT_TAG},
	{"empty tag", m_tag_empty, PROTO_E_REPORT_TAG},
	{"empty tags array", m_tags_empty_array, PROTO_E_EMPTY},
	{"empty description", m_desc_empty, PROTO_E_EMPTY},
	{"CLEAR with recipients", m_clear_with_recipients, PROTO_E_REPORT_RECIPIENTS},
	{"AMBER without recipients", m_amber_without_recipients, PROTO_E_REPORT_RECIPIENTS},
	{"RED without recipients", m_red_without_recipients, PROTO_E_REPORT_RECIPIENTS},
	{"empty recipients", m_recipients_empty, PROTO_E_EMPTY},
	{"recipients unsorted", m_recipients_unsorted, PROTO_E_REPORT_RECIPIENTS},
	{"recipients duplicate", m_recipients_dup, PROTO_E_REPORT_RECIPIENTS},
	{"31-byte recipient", m_recipient_short, PROTO_E_RANGE},
	{"33-byte community", m_community_long, PROTO_E_RANGE},
	{"provenance type 2", m_prov_type_2, PROTO_E_REPORT_PROVENANCE},
	{"epoch 0", m_epoch_0, PROTO_E_REPORT_PROVENANCE},
	{"attributed with link tag", m_attributed_with_tag, PROTO_E_REPORT_PROVENANCE},
	{"anonymous with signer", m_anon_with_signer, PROTO_E_REPORT_PROVENANCE},
	{"anonymous AMBER", m_anon_amber, PROTO_E_REPORT_PROVENANCE},
	{"anonymous RED", m_anon_red, PROTO_E_REPORT_PROVENANCE},
	{"ring unsorted", m_ring_unsorted, PROTO_E_REPORT_PROVENANCE},
	{"ring duplicate", m_ring_dup, PROTO_E_REPORT_PROVENANCE},
	{"ring index 4096", m_ring_index_4096, PROTO_E_RANGE},
	{"explicit empty ring", m_ring_empty, PROTO_E_EMPTY},
	{"attributed signature 63 bytes", m_attr_sig_63, PROTO_E_REPORT_SIG},
	{"attributed signature 96 bytes", m_attr_sig_96, PROTO_E_REPORT_SIG},
	{"anonymous signature 64 bytes", m_anon_sig_64, PROTO_E_REPORT_SIG},
	{"anonymous signature not 32-aligned", m_anon_sig_unaligned, PROTO_E_REPORT_SIG},
	{"anonymous signature for another ring size", m_anon_sig_wrong_ring, PROTO_E_REPORT_SIG},
};

static void test_decode_rejects(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(reject_cases) / sizeof(reject_cases[0]); i++) {
		int err;

		body_reset();
		reject_cases[i].mutate();
		err = decode_body();
		if (err != reject_cases[i].want)
			fail_msg("case \"%s\": got %s (%d), want %s (%d)", reject_cases[i].name,
				 proto_error_name(err), err, proto_error_name(reject_cases[i].want),
				 reject_cases[i].want);
	}
}

/* Mutations that are valid: the decoder accepts them (guards against over-strictness). */
MUT(ok_anon_whole_roster, {
	anon_prov(0, NULL);
	B.sig_len = 96 + 32 * 9; /* ring of 10 resolved by policy */
})
MUT(ok_anon_ring, {
	anon_prov(3, (const uint64_t[]){0, 7, 4095});
	B.sig_len = 160;
})
MUT(ok_limits, {
	static char d[2048];
	char t[64];
	uint8_t id[32] = {0};

	memset(d, 'd', sizeof(d));
	put_uint(&V, PROTO_TLP_RED);
	set_v(5);
	put_uint(&V, 100);
	set_v(6);
	put_uint(&V, PROTO_REPORT_TIME_MAX_MS);
	set_v(8);
	put_array(&V, 16);
	for (int i = 0; i < 16; i++) {
		memset(t, 'a' + i, sizeof(t));
		put_str(&V, t, sizeof(t));
	}
	set_v(9);
	put_str(&V, d, sizeof(d));
	set_v(10);
	put_array(&V, 64);
	for (int i = 0; i < 64; i++) {
		id[0] = (uint8_t)i;
		put_bin(&V, id, 32);
	}
	set_v(11);
})
MUT(ok_utf8_tags, {
	put_array(&V, 3);
	put_str(&V, "APT-29", 6);
	put_str(&V, "c2", 2);
	put_str(&V, "\xc3\x84rger \xe6\x97\xa5\xe6\x9c\xac", 13);
	set_v(9);
	put_str(&V, "line one\nline two\ttabbed \xf0\x9f\x90\x9f", 29);
	set_v(10);
})

static void test_decode_accepts(void **state)
{
	static void (*const ok[])(void) = {ok_anon_whole_roster, ok_anon_ring, ok_limits,
					   ok_utf8_tags};
	struct proto_report r;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int err;

		body_reset();
		ok[i]();
		envelope();
		err = proto_report_decode(&r, ENV.b, ENV.n);
		if (err)
			fail_msg("valid case %zu rejected: %s", i, proto_error_name(err));
	}
	/* The limits case decoded every field at its maximum. */
	assert_int_equal(r.n_tags, 3);
	body_reset();
	ok_limits();
	envelope();
	assert_int_equal(proto_report_decode(&r, ENV.b, ENV.n), 0);
	assert_int_equal(r.n_tags, PROTO_REPORT_TAGS_MAX);
	assert_int_equal(r.n_recipients, PROTO_REPORT_RECIPIENTS_MAX);
	assert_int_equal(r.description.len, PROTO_REPORT_DESC_MAX);
	assert_true(r.valid_until_ms == PROTO_REPORT_TIME_MAX_MS);
	assert_int_equal(r.recipients[63][0], 63);
	body_reset();
	ok_anon_ring();
	envelope();
	assert_int_equal(proto_report_decode(&r, ENV.b, ENV.n), 0);
	assert_int_equal(r.prov, PROTO_PROV_ANONYMOUS);
	assert_int_equal(r.ring_n, 3);
	assert_int_equal(r.ring[2], 4095);
	assert_memory_equal(r.link_tag, link_tag, 32);
}

/* The envelope around the body. */
static int decode_hex(const char *hex)
{
	struct proto_report r;
	size_t n;
	uint8_t *p = tu_unhex(hex, &n);
	int err = proto_report_decode(&r, p, n);

	free(p);
	return err;
}

static void test_envelope_rejects(void **state)
{
	static uint8_t big[PROTO_REPORT_MAX_BYTES + 1];
	struct proto_report r;
	struct buf body;
	static struct buf e;
	static const uint8_t zero[64];

	(void)state;
	assert_int_equal(proto_report_decode(&r, big, 0), PROTO_E_TRUNCATED);
	assert_int_equal(decode_hex("90"), PROTO_E_KEY_MISSING);
	assert_int_equal(decode_hex("91c400"), PROTO_E_KEY_MISSING);
	assert_int_equal(decode_hex("93c400c400c400"), PROTO_E_TOO_LARGE);
	assert_int_equal(decode_hex("82c400c400"), PROTO_E_TYPE); /* map, not array */
	assert_int_equal(decode_hex("c0"), PROTO_E_TYPE);
	assert_int_equal(decode_hex("92a0c400"), PROTO_E_TYPE);	   /* body as str */
	assert_int_equal(decode_hex("92c4009000"), PROTO_E_DEPTH); /* signature as array */
	assert_int_equal(decode_hex("dc0002c400c400"), PROTO_E_NONMINIMAL);
	/* over the whole-encoding limit, checked before anything else */
	big[0] = 0x92;
	assert_int_equal(proto_report_decode(&r, big, sizeof(big)), PROTO_E_TOO_LARGE);

	body_reset();
	body_bytes(&body);
	e.n = 0;
	put_array(&e, 2);
	put_bin(&e, body.b, body.n);
	put_bin(&e, zero, 64);
	assert_int_equal(proto_report_decode(&r, e.b, e.n), 0);
	/* every strict prefix is truncated, and a byte after the envelope is trailing */
	for (size_t i = 0; i < e.n; i++)
		assert_int_not_equal(proto_report_decode(&r, e.b, i), 0);
	assert_int_equal(proto_report_decode(&r, e.b, e.n - 1), PROTO_E_TRUNCATED);
	e.b[e.n] = 0;
	assert_int_equal(proto_report_decode(&r, e.b, e.n + 1), PROTO_E_TRAILING);
	/* the body bin declared as bin16 although it fits bin8 */
	e.n = 0;
	put_array(&e, 2);
	put_hex(&e, "c500");
	put(&e, (uint8_t[]){(uint8_t)body.n}, 1);
	put(&e, body.b, body.n);
	put_bin(&e, zero, 64);
	assert_true(body.n < 256);
	assert_int_equal(proto_report_decode(&r, e.b, e.n), PROTO_E_NONMINIMAL);
}

/* ---- encoder ------------------------------------------------------------------------- */

static int encode_err(const struct proto_report *r)
{
	uint8_t *out = NULL;
	size_t len;
	int err = proto_report_encode_body(r, &out, &len);

	free(out);
	return err;
}

static void test_encode_rejects(void **state)
{
	struct proto_report r;
	uint8_t sk[64];
	uint8_t ids[2][32];
	static char big[PROTO_REPORT_DESC_MAX + 1];

	(void)state;
	memset(ids[0], 1, 32);
	memset(ids[1], 2, 32);
	memset(big, 'x', sizeof(big));

#define EXPECT(stmt, code)                              \
	do {                                            \
		base_report(&r, sk);                    \
		stmt;                                   \
		assert_int_equal(encode_err(&r), code); \
	} while (0)

	EXPECT((void)0, 0);
	EXPECT(r.kind = 4, PROTO_E_REPORT_KIND);
	EXPECT(r.ind_type = 0, PROTO_E_IND_TYPE);
	EXPECT(r.ind_type = 10, PROTO_E_IND_TYPE);
	EXPECT(r.ind_value = S("192.0.2.256"), PROTO_E_IND_VALUE);
	EXPECT(r.ind_value = S("192.000.2.1"), PROTO_E_IND_VALUE);
	EXPECT(r.ind_value = S(""), PROTO_E_IND_VALUE);
	EXPECT((r.ind_type = PROTO_IND_DOMAIN, r.ind_value = S("EXAMPLE.com")), PROTO_E_IND_VALUE);
	EXPECT(r.tlp = 0, PROTO_E_REPORT_TLP);
	EXPECT(r.tlp = 6, PROTO_E_REPORT_TLP);
	EXPECT(r.confidence = 101, PROTO_E_REPORT_CONFIDENCE);
	EXPECT(r.confidence = 100, 0);
	EXPECT(r.created_ms = 0, PROTO_E_REPORT_TIME);
	EXPECT(r.valid_until_ms = CREATED, PROTO_E_REPORT_TIME);
	EXPECT(r.valid_until_ms = CREATED + 1, 0);
	EXPECT(r.valid_until_ms = PROTO_REPORT_TIME_MAX_MS, 0);
	EXPECT(r.valid_until_ms = PROTO_REPORT_TIME_MAX_MS + 1, PROTO_E_REPORT_TIME);
	EXPECT(r.valid_until_ms = INT64_MAX, PROTO_E_REPORT_TIME);
	EXPECT((r.created_ms = PROTO_REPORT_TIME_MAX_MS + 1, r.valid_until_ms = 0),
	       PROTO_E_REPORT_TIME);
	EXPECT(r.n_tags = PROTO_REPORT_TAGS_MAX + 1, PROTO_E_TOO_LARGE);
	EXPECT((r.n_tags = 1, r.tags[0] = (struct proto_str){big, 65}), PROTO_E_TOO_LARGE);
	EXPECT((r.n_tags = 1, r.tags[0] = (struct proto_str){big, 64}), 0);
	EXPECT((r.n_tags = 1, r.tags[0] = S("")), PROTO_E_REPORT_TAG);
	EXPECT((r.n_tags = 1, r.tags[0] = S("a\tb")), PROTO_E_REPORT_TAG);
	EXPECT((r.n_tags = 1, r.tags[0] = S("\xff")), PROTO_E_UTF8);
	EXPECT((r.n_tags = 2, r.tags[0] = S("x"), r.tags[1] = S("x")), PROTO_E_REPORT_TAG);
	EXPECT(r.description = ((struct proto_str){big, 2049}), PROTO_E_TOO_LARGE);
	EXPECT(r.description = ((struct proto_str){big, 2048}), 0);
	EXPECT(r.description = S("\xe2\x82"), PROTO_E_UTF8);
	EXPECT((r.n_recipients = 1, memcpy(r.recipients, ids, sizeof(ids))),
	       PROTO_E_REPORT_RECIPIENTS);
	EXPECT(r.tlp = PROTO_TLP_AMBER, PROTO_E_REPORT_RECIPIENTS);
	EXPECT(r.tlp = PROTO_TLP_AMBER_STRICT, PROTO_E_REPORT_RECIPIENTS);
	EXPECT((r.tlp = PROTO_TLP_AMBER, r.n_recipients = 1,
		memcpy(r.recipients, ids, sizeof(ids))),
	       0);
	EXPECT((r.tlp = PROTO_TLP_RED, r.n_recipients = 2, memcpy(ids[1], ids[0], 32),
		memcpy(r.recipients, ids, sizeof(ids))),
	       PROTO_E_REPORT_RECIPIENTS);
	memset(ids[1], 2, 32);
	EXPECT((r.tlp = PROTO_TLP_RED, r.n_recipients = 65, memcpy(r.recipients, ids, sizeof(ids))),
	       PROTO_E_TOO_LARGE);
	EXPECT(r.epoch = 0, PROTO_E_REPORT_PROVENANCE);
	EXPECT(r.prov = 2, PROTO_E_REPORT_PROVENANCE);
	EXPECT((r.ring_n = 1), PROTO_E_REPORT_PROVENANCE); /* ring on an attributed report */
	EXPECT(r.prov = PROTO_PROV_ANONYMOUS, 0);
	EXPECT((r.prov = PROTO_PROV_ANONYMOUS, r.tlp = PROTO_TLP_GREEN), 0);
	EXPECT((r.prov = PROTO_PROV_ANONYMOUS, r.tlp = PROTO_TLP_AMBER, r.n_recipients = 1,
		memcpy(r.recipients, ids, sizeof(ids))),
	       PROTO_E_REPORT_PROVENANCE);
	EXPECT((r.prov = PROTO_PROV_ANONYMOUS, r.ring_n = 2, r.ring[0] = 9, r.ring[1] = 9),
	       PROTO_E_REPORT_PROVENANCE);
	EXPECT((r.prov = PROTO_PROV_ANONYMOUS, r.ring_n = 1, r.ring[0] = 4096), PROTO_E_RANGE);
	EXPECT((r.prov = PROTO_PROV_ANONYMOUS, r.ring_n = PROTO_REPORT_RING_MAX + 1),
	       PROTO_E_TOO_LARGE);
#undef EXPECT
}

/*
 * A decoded report is a plain value: a copy (as exporter.c makes when it grows an array of
 * them) keeps every recipient after the original is overwritten.
 */
static void test_decoded_copy_is_complete(void **state)
{
	struct proto_report r, *d = malloc(sizeof(*d)), *copy;
	uint8_t sk[64], ids[2][32];
	uint8_t *signed_buf;
	size_t len;

	(void)state;
	assert_non_null(d);
	memset(ids[0], 7, 32);
	memset(ids[1], 5, 32);
	base_report(&r, sk);
	r.tlp = PROTO_TLP_RED;
	r.n_recipients = 2;
	memcpy(r.recipients, ids, sizeof(ids));
	assert_int_equal(proto_report_sign(&r, sk, &signed_buf, &len), 0);
	assert_int_equal(proto_report_decode(d, signed_buf, len), 0);
	copy = malloc(sizeof(*copy));
	assert_non_null(copy);
	*copy = *d;
	memset(d, 0xAA, sizeof(*d));
	free(d);
	assert_int_equal(copy->n_recipients, 2);
	assert_int_equal(copy->recipients[0][0], 5);
	assert_int_equal(copy->recipients[1][0], 7);
	free(copy);
	free(signed_buf);
}

/* The encoder sorts copies of the three sets and leaves the caller's arrays alone. */
static void test_encode_sorts(void **state)
{
	struct proto_report r, d;
	uint8_t sk[64];
	uint8_t ids[3][32];
	uint8_t *signed_buf;
	size_t len;

	(void)state;
	memset(ids[0], 9, 32);
	memset(ids[1], 3, 32);
	memset(ids[2], 6, 32);
	base_report(&r, sk);
	r.tlp = PROTO_TLP_AMBER;
	r.n_recipients = 3;
	memcpy(r.recipients, ids, sizeof(ids));
	r.n_tags = 4;
	r.tags[0] = S("phishing");
	r.tags[1] = S("c2");
	r.tags[2] = S("c");
	r.tags[3] = S("\xc3\x84");
	assert_int_equal(proto_report_sign(&r, sk, &signed_buf, &len), 0);
	assert_int_equal(proto_report_decode(&d, signed_buf, len), 0);
	assert_true(str_eq(d.tags[0], S("c")));
	assert_true(str_eq(d.tags[1], S("c2")));
	assert_true(str_eq(d.tags[2], S("phishing")));
	assert_true(str_eq(d.tags[3], S("\xc3\x84")));
	assert_int_equal(d.recipients[0][0], 3);
	assert_int_equal(d.recipients[1][0], 6);
	assert_int_equal(d.recipients[2][0], 9);
	assert_int_equal(r.recipients[0][0], 9); /* caller's order untouched */
	assert_true(str_eq(r.tags[0], S("phishing")));
	free(signed_buf);

	base_report(&r, sk);
	r.prov = PROTO_PROV_ANONYMOUS;
	r.ring_n = 3;
	r.ring[0] = 300;
	r.ring[1] = 2;
	r.ring[2] = 17;
	{
		uint8_t *body, *out;
		size_t body_len, out_len;
		uint8_t sig[(3 + 1) * 32 + 32] = {0};

		assert_int_equal(proto_report_encode_body(&r, &body, &body_len), 0);
		assert_int_equal(
			proto_report_assemble(body, body_len, sig, sizeof(sig), &out, &out_len), 0);
		assert_int_equal(proto_report_decode(&d, out, out_len), 0);
		assert_int_equal(d.ring[0], 2);
		assert_int_equal(d.ring[1], 17);
		assert_int_equal(d.ring[2], 300);
		free(out);
		/* assemble refuses a signature whose length does not fit the ring */
		assert_int_equal(proto_report_assemble(body, body_len, sig, sizeof(sig) - 32, &out,
						       &out_len),
				 PROTO_E_REPORT_SIG);
		assert_null(out);
		free(body);
	}
}

/* ---- round trips ---------------------------------------------------------------------- */

static void test_round_trips(void **state)
{
	uint8_t sk[64], pk2[32], sk2[64];
	uint8_t rcpt[2][32];
	size_t n_ok = 0;

	(void)state;
	seed_key(rcpt[0], sk2, 0x20);
	seed_key(rcpt[1], sk2, 0x21);
	if (memcmp(rcpt[0], rcpt[1], 32) > 0) {
		uint8_t t[32];

		memcpy(t, rcpt[0], 32);
		memcpy(rcpt[0], rcpt[1], 32);
		memcpy(rcpt[1], t, 32);
	}
	seed_key(pk2, sk2, 0x02);
	for (int kind = 0; kind <= PROTO_KIND_REVOKE; kind++) {
		for (int tlp = PROTO_TLP_CLEAR; tlp <= PROTO_TLP_RED; tlp++) {
			for (int prov = 0; prov <= 1; prov++) {
				for (int extras = 0; extras <= 1; extras++) {
					struct proto_report r, d;
					uint8_t *out = NULL, *body = NULL;
					size_t len, body_len;
					int err;

					base_report(&r, sk);
					r.kind = (uint8_t)kind;
					r.tlp = (uint8_t)tlp;
					r.prov = (uint8_t)prov;
					r.epoch = 3 + (uint64_t)kind;
					if (tlp >= PROTO_TLP_AMBER) {
						r.n_recipients = 2;
						memcpy(r.recipients, rcpt, 2 * 32);
					}
					if (extras) {
						r.valid_until_ms = CREATED + 86400000;
						r.n_tags = 2;
						r.tags[0] = S("botnet");
						r.tags[1] = S("c2");
						r.description = S("seen in \xe2\x80\x9c"
								  "campaign\xe2\x80\x9d");
						r.ind_type = PROTO_IND_SHA256;
						r.ind_value = S("e3b0c44298fc1c149afbf4c8996fb924"
								"27ae41e4649b934ca495991b7852b855");
					}
					if (prov == PROTO_PROV_ANONYMOUS) {
						memset(r.signer, 0, 32);
						memcpy(r.link_tag, link_tag, 32);
						r.ring_n = extras ? 2 : 0;
						r.ring[0] = 1;
						r.ring[1] = 4;
					}
					err = proto_report_encode_body(&r, &body, &body_len);
					if (prov == PROTO_PROV_ANONYMOUS && tlp > PROTO_TLP_GREEN) {
						assert_int_equal(err, PROTO_E_REPORT_PROVENANCE);
						continue;
					}
					assert_int_equal(err, 0);
					if (prov == PROTO_PROV_ATTRIBUTED) {
						assert_int_equal(
							proto_report_sign(&r, sk, &out, &len), 0);
					} else {
						uint8_t sig[5 * 32] = {0};
						size_t sig_len = extras ? 4 * 32 : 5 * 32;

						assert_int_equal(
							proto_report_assemble(body, body_len, sig,
									      sig_len, &out, &len),
							0);
					}
					assert_int_equal(proto_report_decode(&d, out, len), 0);
					assert_report_eq(&r, &d);
					/* canonical: re-encoding the decoded body gives its bytes */
					assert_int_equal(d.body_len, body_len);
					assert_memory_equal(d.body, body, body_len);
					if (prov == PROTO_PROV_ATTRIBUTED) {
						assert_int_equal(proto_report_verify_attributed(
									 &d, d.signer),
								 0);
						assert_int_equal(
							proto_report_verify_attributed(&d, pk2),
							PROTO_E_REPORT_SIG);
					} else {
						assert_int_equal(proto_report_verify_attributed(
									 &d, d.signer),
								 PROTO_E_REPORT_PROVENANCE);
					}
					n_ok++;
					free(out);
					free(body);
				}
			}
		}
	}
	/* 4 kinds x (5 TLPs attributed + 2 TLPs anonymous) x 2 field sets */
	assert_int_equal(n_ok, 4 * 7 * 2);
}

static void test_sign_rules(void **state)
{
	struct proto_report r;
	uint8_t sk[64], pk2[32], sk2[64];
	uint8_t *out = NULL;
	size_t len;

	(void)state;
	seed_key(pk2, sk2, 0x02);
	base_report(&r, sk);
	/* a key that is not r->signer's */
	assert_int_equal(proto_report_sign(&r, sk2, &out, &len), PROTO_E_REPORT_PROVENANCE);
	r.prov = PROTO_PROV_ANONYMOUS;
	assert_int_equal(proto_report_sign(&r, sk, &out, &len), PROTO_E_REPORT_PROVENANCE);
	base_report(&r, sk);
	r.confidence = 200;
	assert_int_equal(proto_report_sign(&r, sk, &out, &len), PROTO_E_REPORT_CONFIDENCE);
	assert_null(out);
	/* deterministic: same report, same key, same bytes and id */
	{
		uint8_t *a, *b, ida[32], idb[32];
		size_t la, lb;

		base_report(&r, sk);
		assert_int_equal(proto_report_sign(&r, sk, &a, &la), 0);
		assert_int_equal(proto_report_sign(&r, sk, &b, &lb), 0);
		assert_int_equal(la, lb);
		assert_memory_equal(a, b, la);
		proto_report_id(a, la, ida);
		proto_report_id(b, lb, idb);
		assert_memory_equal(ida, idb, 32);
		r.confidence = 79;
		free(b);
		assert_int_equal(proto_report_sign(&r, sk, &b, &lb), 0);
		proto_report_id(b, lb, idb);
		assert_memory_not_equal(ida, idb, 32);
		free(a);
		free(b);
	}
}

/* The signature covers the domain prefix: a raw Ed25519 signature of the body alone fails. */
static void test_domain_separation(void **state)
{
	struct proto_report r, d;
	uint8_t sk[64], sig[64], msg[PROTO_REPORT_MAX_BYTES + 16];
	uint8_t *body, *out;
	size_t body_len, len;

	(void)state;
	base_report(&r, sk);
	assert_int_equal(proto_report_encode_body(&r, &body, &body_len), 0);
	proto_crypto_raw_ed25519_sign(sig, body, body_len, sk);
	assert_int_equal(proto_report_assemble(body, body_len, sig, 64, &out, &len), 0);
	assert_int_equal(proto_report_decode(&d, out, len), 0);
	assert_int_equal(proto_report_verify_attributed(&d, r.signer), PROTO_E_REPORT_SIG);
	free(out);
	/* with the prefix it verifies */
	memcpy(msg, PROTO_REPORT_DOMAIN, 16);
	memcpy(msg + 16, body, body_len);
	proto_crypto_raw_ed25519_sign(sig, msg, 16 + body_len, sk);
	assert_int_equal(proto_report_assemble(body, body_len, sig, 64, &out, &len), 0);
	assert_int_equal(proto_report_decode(&d, out, len), 0);
	assert_int_equal(proto_report_verify_attributed(&d, r.signer), 0);
	free(out);
	free(body);
}

/* ---- one-bit flips ---------------------------------------------------------------------- */

static void test_bit_flips(void **state)
{
	struct proto_report r, d;
	uint8_t sk[64], pk_orig[32];
	uint8_t ids[2][32];
	uint8_t *out;
	size_t len, by_decode = 0, by_verify = 0;

	(void)state;
	memset(ids[0], 0x11, 32);
	memset(ids[1], 0x22, 32);
	base_report(&r, sk);
	memcpy(pk_orig, r.signer, 32);
	r.tlp = PROTO_TLP_AMBER;
	r.n_recipients = 2;
	memcpy(r.recipients, ids, sizeof(ids));
	r.valid_until_ms = CREATED + 1000;
	r.n_tags = 2;
	r.tags[0] = S("c2");
	r.tags[1] = S("ransomware");
	r.description = S("beaconing every 60 s");
	r.ind_type = PROTO_IND_URL;
	r.ind_value = S("https://example.com/x?y=1");
	assert_int_equal(proto_report_sign(&r, sk, &out, &len), 0);
	assert_int_equal(proto_report_decode(&d, out, len), 0);
	assert_int_equal(proto_report_verify_attributed(&d, pk_orig), 0);

	for (size_t bit = 0; bit < len * 8; bit++) {
		uint8_t *m = malloc(len);

		assert_non_null(m);
		memcpy(m, out, len);
		m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (proto_report_decode(&d, m, len) != 0) {
			by_decode++;
		} else {
			/* the signer named in the (flipped) report, and the real signer */
			if (proto_report_verify_attributed(&d, d.signer) == 0 ||
			    proto_report_verify_attributed(&d, pk_orig) == 0)
				fail_msg("bit %zu flipped and the report still verifies", bit);
			by_verify++;
		}
		free(m);
	}
	assert_int_equal(by_decode + by_verify, len * 8);
	/* both layers did real work: the signature bits alone are 512 verify failures */
	assert_true(by_verify >= 512);
	assert_true(by_decode > 0);
	print_message("bit flips: %zu bits, %zu rejected by decode, %zu by verify\n", len * 8,
		      by_decode, by_verify);
	free(out);
}

/* ---- ids, names ---------------------------------------------------------------------- */

static void test_ids(void **state)
{
	struct proto_report r, d;
	uint8_t sk[64], id1[32], id2[32];
	uint8_t *out;
	size_t len;

	(void)state;
	base_report(&r, sk);
	assert_int_equal(proto_report_sign(&r, sk, &out, &len), 0);
	assert_int_equal(proto_report_decode(&d, out, len), 0);
	proto_report_indicator_id(&d, id1);
	proto_indicator_id_raw(PROTO_IND_IPV4, "192.0.2.1", 9, id2);
	assert_memory_equal(id1, id2, 32);
	{
		const void *parts[1] = {out};
		size_t lens[1] = {len};

		proto_report_id(out, len, id1);
		proto_hash(id2, 32, parts, lens, 1);
		assert_memory_equal(id1, id2, 32);
	}
	free(out);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(proto_report_kind_name(PROTO_KIND_INDICATOR), "indicator");
	assert_string_equal(proto_report_kind_name(PROTO_KIND_SIGHTING), "sighting");
	assert_string_equal(proto_report_kind_name(PROTO_KIND_FALSE_POSITIVE), "false_positive");
	assert_string_equal(proto_report_kind_name(PROTO_KIND_REVOKE), "revoke");
	assert_null(proto_report_kind_name(4));
	assert_null(proto_report_kind_name(-1));
	assert_int_equal(proto_report_kind_from_name("revoke"), PROTO_KIND_REVOKE);
	assert_int_equal(proto_report_kind_from_name("False_Positive"), PROTO_KIND_FALSE_POSITIVE);
	assert_int_equal(proto_report_kind_from_name("revoked"), -1);
	assert_int_equal(proto_report_kind_from_name(""), -1);
	assert_int_equal(proto_report_kind_from_name(NULL), -1);
	for (int t = PROTO_TLP_CLEAR; t <= PROTO_TLP_RED; t++)
		assert_int_equal(proto_tlp_from_name(proto_tlp_name(t)), t);
	assert_string_equal(proto_tlp_name(PROTO_TLP_AMBER_STRICT), "AMBER+STRICT");
	assert_null(proto_tlp_name(0));
	assert_null(proto_tlp_name(6));
	assert_int_equal(proto_tlp_from_name("tlp:amber+strict"), PROTO_TLP_AMBER_STRICT);
	assert_int_equal(proto_tlp_from_name("TLP:RED"), PROTO_TLP_RED);
	assert_int_equal(proto_tlp_from_name("green"), PROTO_TLP_GREEN);
	assert_int_equal(proto_tlp_from_name("TLP:WHITE"), PROTO_TLP_CLEAR);
	assert_int_equal(proto_tlp_from_name("amber strict"), -1);
	assert_int_equal(proto_tlp_from_name("TLP:"), -1);
	assert_int_equal(proto_tlp_from_name(NULL), -1);
}

/* ---- golden vectors --------------------------------------------------------------------- */

/*
 * Each vector: fixed seeds (signer seed byte; recipients by seed byte), fixed values. Anonymous
 * vectors pin the body encoding only: their signature is all zeros of the right length (an
 * all-zero linkability point is never a valid ring signature), so the file cannot be mistaken
 * for a source of valid anonymous reports.
 */
struct golden {
	const char *name;
	uint8_t kind, tlp, conf, type, prov;
	const char *value;
	uint64_t created, valid_until, epoch;
	const char *tags[PROTO_REPORT_TAGS_MAX];
	const char *desc;
	uint8_t signer_seed;
	uint8_t rcpt_seeds[PROTO_REPORT_RECIPIENTS_MAX];
	size_t n_rcpt;
	uint16_t ring[4];
	size_t ring_n;
	bool maxed; /* fill tags, description and recipients to their limits */
};

static const struct golden golden[] = {
	{.name = "indicator-clear-ipv4",
	 .kind = 0,
	 .tlp = 1,
	 .conf = 80,
	 .type = PROTO_IND_IPV4,
	 .value = "192.0.2.1",
	 .created = CREATED,
	 .epoch = 1,
	 .signer_seed = 0x01},
	{.name = "sighting-green-domain-tags",
	 .kind = 1,
	 .tlp = 2,
	 .conf = 55,
	 .type = PROTO_IND_DOMAIN,
	 .value = "malicious.example",
	 .created = CREATED + 1,
	 .valid_until = CREATED + 86400000,
	 .epoch = 2,
	 .tags = {"phishing", "c2"},
	 .signer_seed = 0x02},
	{.name = "false-positive-amber-url",
	 .kind = 2,
	 .tlp = 3,
	 .conf = 0,
	 .type = PROTO_IND_URL,
	 .value = "https://cdn.example.org/Path/To?Q=1#frag",
	 .created = CREATED + 2,
	 .epoch = 3,
	 .desc = "shared hosting; the URL is benign",
	 .signer_seed = 0x03,
	 .rcpt_seeds = {0x10, 0x11},
	 .n_rcpt = 2},
	{.name = "revoke-red-sha256",
	 .kind = 3,
	 .tlp = 5,
	 .conf = 100,
	 .type = PROTO_IND_SHA256,
	 .value = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
	 .created = CREATED + 3,
	 .epoch = 1,
	 .signer_seed = 0x01,
	 .rcpt_seeds = {0x12},
	 .n_rcpt = 1},
	{.name = "indicator-amber-strict-email",
	 .kind = 0,
	 .tlp = 4,
	 .conf = 90,
	 .type = PROTO_IND_EMAIL,
	 .value = "Billing.Dept@example.net",
	 .created = CREATED + 4,
	 .valid_until = CREATED + 5,
	 .epoch = 7,
	 .tags = {"bec"},
	 .desc = "Wire-fraud sender, \xc3\xa9t\xc3\xa9 2023",
	 .signer_seed = 0x02,
	 .rcpt_seeds = {0x13, 0x10, 0x11},
	 .n_rcpt = 3},
	{.name = "indicator-green-ipv6-cidr",
	 .kind = 0,
	 .tlp = 2,
	 .conf = 65,
	 .type = PROTO_IND_IPV6,
	 .value = "2001:db8::/32",
	 .created = CREATED + 5,
	 .epoch = 1,
	 .tags = {"scanner", "\xe6\x97\xa5\xe6\x9c\xac"},
	 .signer_seed = 0x03},
	{.name = "sighting-clear-md5",
	 .kind = 1,
	 .tlp = 1,
	 .conf = 30,
	 .type = PROTO_IND_MD5,
	 .value = "d41d8cd98f00b204e9800998ecf8427e",
	 .created = CREATED + 6,
	 .epoch = 1,
	 .signer_seed = 0x01},
	{.name = "indicator-clear-sha1",
	 .kind = 0,
	 .tlp = 1,
	 .conf = 70,
	 .type = PROTO_IND_SHA1,
	 .value = "da39a3ee5e6b4b0d3255bfef95601890afd80709",
	 .created = CREATED + 7,
	 .epoch = 1,
	 .signer_seed = 0x02},
	{.name = "indicator-green-sha512",
	 .kind = 0,
	 .tlp = 2,
	 .conf = 75,
	 .type = PROTO_IND_SHA512,
	 .value = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
		  "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
	 .created = CREATED + 8,
	 .epoch = 1,
	 .signer_seed = 0x03},
	{.name = "indicator-red-limits",
	 .kind = 0,
	 .tlp = 5,
	 .conf = 100,
	 .type = PROTO_IND_DOMAIN,
	 .value = "xn--bcher-kva.example",
	 .created = PROTO_REPORT_TIME_MAX_MS - 1,
	 .valid_until = PROTO_REPORT_TIME_MAX_MS,
	 .epoch = UINT64_MAX,
	 .signer_seed = 0x01,
	 .n_rcpt = 64,
	 .maxed = true},
	{.name = "anon-clear-whole-roster",
	 .kind = 0,
	 .tlp = 1,
	 .conf = 60,
	 .type = PROTO_IND_IPV4,
	 .prov = 1,
	 .value = "198.51.100.0/24",
	 .created = CREATED + 9,
	 .epoch = 4},
	{.name = "anon-green-ring",
	 .kind = 1,
	 .tlp = 2,
	 .conf = 40,
	 .type = PROTO_IND_DOMAIN,
	 .prov = 1,
	 .value = "evil.example",
	 .created = CREATED + 10,
	 .valid_until = CREATED + 20,
	 .epoch = 4,
	 .tags = {"botnet"},
	 .desc = "seen by several members",
	 .ring = {2, 5, 9, 4095},
	 .ring_n = 4},
};

#define N_GOLDEN (sizeof(golden) / sizeof(golden[0]))

/* Storage a vector's report borrows from while it is encoded. */
struct golden_store {
	uint8_t rcpt[PROTO_REPORT_RECIPIENTS_MAX][32];
	char tags[PROTO_REPORT_TAGS_MAX][PROTO_REPORT_TAG_LEN_MAX];
	char desc[PROTO_REPORT_DESC_MAX];
	uint8_t sk[64];
};

/* Build and sign (or assemble) vector @g; *out is malloc'd. */
static void golden_build(const struct golden *g, struct golden_store *st, uint8_t **out,
			 size_t *len)
{
	struct proto_report r;
	uint8_t pk[32], sk[64];

	memset(&r, 0, sizeof(r));
	memcpy(r.community, community, 32);
	r.kind = g->kind;
	r.tlp = g->tlp;
	r.confidence = g->conf;
	r.ind_type = g->type;
	r.ind_value = S(g->value);
	r.created_ms = g->created;
	r.valid_until_ms = g->valid_until;
	r.epoch = g->epoch;
	r.prov = g->prov;
	for (size_t i = 0; i < PROTO_REPORT_TAGS_MAX && g->tags[i]; i++)
		r.tags[r.n_tags++] = S(g->tags[i]);
	if (g->desc)
		r.description = S(g->desc);
	for (size_t i = 0; i < g->n_rcpt; i++)
		seed_key(st->rcpt[i], sk, g->maxed ? (uint8_t)(0x40 + i) : g->rcpt_seeds[i]);
	r.n_recipients = g->n_rcpt;
	memcpy(r.recipients, st->rcpt, g->n_rcpt * 32);
	if (g->maxed) {
		/* every tag 64 bytes, reverse order (the encoder sorts), description 2048 bytes */
		for (size_t i = 0; i < PROTO_REPORT_TAGS_MAX; i++) {
			for (size_t k = 0; k < PROTO_REPORT_TAG_LEN_MAX; k++)
				st->tags[i][k] = (char)('a' + (PROTO_REPORT_TAGS_MAX - i + k) % 26);
			r.tags[i] = (struct proto_str){st->tags[i], PROTO_REPORT_TAG_LEN_MAX};
		}
		r.n_tags = PROTO_REPORT_TAGS_MAX;
		for (size_t k = 0; k < PROTO_REPORT_DESC_MAX; k++)
			st->desc[k] = (char)(' ' + k % 95);
		r.description = (struct proto_str){st->desc, PROTO_REPORT_DESC_MAX};
	}
	if (g->prov == PROTO_PROV_ATTRIBUTED) {
		seed_key(pk, st->sk, g->signer_seed);
		memcpy(r.signer, pk, 32);
		assert_int_equal(proto_report_sign(&r, st->sk, out, len), 0);
	} else {
		static const uint8_t zero_sig[(PROTO_REPORT_RING_MAX + 1) * 32 + 32];
		uint8_t *body;
		size_t body_len;
		/* whole-roster vectors: a ring of 8 as policy would resolve it */
		size_t n = g->ring_n ? g->ring_n : 8;

		for (size_t i = 0; i < 32; i++)
			r.link_tag[i] = (uint8_t)(0xa0 + i);
		r.ring_n = g->ring_n;
		memcpy(r.ring, g->ring, sizeof(g->ring));
		assert_int_equal(proto_report_encode_body(&r, &body, &body_len), 0);
		assert_int_equal(proto_report_assemble(body, body_len, zero_sig, (n + 1) * 32 + 32,
						       out, len),
				 0);
		free(body);
	}
}

static char *golden_path(void)
{
	const char *src = getenv("CHATHAM_SOURCE_DIR");
	char *p;

	if (asprintf(&p, "%s/tests/unit/golden/reports.txt", src ? src : ".") < 0)
		return NULL;
	return p;
}

static void golden_write(const char *path)
{
	static struct golden_store st;
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fprintf(f,
		"# chatham signed report golden vectors, checked by tests/unit/test_proto_report.c\n"
		"# (which defines them; regenerate with CHATHAM_GOLDEN_WRITE=1 only for a\n"
		"# deliberate, versioned format change). One vector a line:\n"
		"#   name hex(signed encoding) hex(report_id)\n"
		"# Keys: Ed25519 seed = 32 bytes of one value (signers 0x01-0x03, recipients\n"
		"# 0x10-0x13 and 0x40-0x7f). anon-* vectors pin the body encoding only: their\n"
		"# ring signature is all zeros and never verifies.\n");
	for (size_t i = 0; i < N_GOLDEN; i++) {
		uint8_t *out, id[32];
		size_t len;
		char *hex, idhex[65];

		golden_build(&golden[i], &st, &out, &len);
		proto_report_id(out, len, id);
		hex = malloc(2 * len + 1);
		assert_non_null(hex);
		fprintf(f, "%s %s %s\n", golden[i].name, proto_hex_encode(hex, out, len),
			proto_hex_encode(idhex, id, 32));
		free(hex);
		free(out);
	}
	assert_int_equal(fclose(f), 0);
}

static void test_golden(void **state)
{
	static struct golden_store st;
	char *path = golden_path();
	char *text, *line, *save = NULL;
	size_t n_checked = 0;
	bool seen[N_GOLDEN] = {false};

	(void)state;
	assert_non_null(path);
	if (getenv("CHATHAM_GOLDEN_WRITE"))
		golden_write(path);
	text = (char *)tu_read_file(path, NULL);
	if (!text)
		fail_msg("cannot read %s", path);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[64], idhex[65];
		char *hex;
		uint8_t *bytes, *rebuilt, id[32], want_id[32];
		size_t len, rebuilt_len, gi;
		struct proto_report d;

		if (line[0] == '#' || line[0] == '\0')
			continue;
		hex = malloc(strlen(line) + 1);
		assert_non_null(hex);
		if (sscanf(line, "%63s %s %64s", name, hex, idhex) != 3)
			fail_msg("malformed golden line: %.40s", line);
		for (gi = 0; gi < N_GOLDEN; gi++)
			if (strcmp(golden[gi].name, name) == 0)
				break;
		if (gi == N_GOLDEN)
			fail_msg("golden vector %s is not defined by the test", name);
		assert_false(seen[gi]);
		seen[gi] = true;
		bytes = tu_unhex(hex, &len);
		assert_int_equal(proto_hex_decode(want_id, 32, idhex), 0);

		/* the file's bytes: id, strict decode, signature */
		proto_report_id(bytes, len, id);
		if (memcmp(id, want_id, 32) != 0)
			fail_msg("%s: report_id of the stored bytes changed", name);
		assert_int_equal(proto_report_decode(&d, bytes, len), 0);
		if (d.prov == PROTO_PROV_ATTRIBUTED)
			assert_int_equal(proto_report_verify_attributed(&d, d.signer), 0);

		/* the definition: rebuilt and re-signed it gives the same bytes */
		golden_build(&golden[gi], &st, &rebuilt, &rebuilt_len);
		if (rebuilt_len != len || memcmp(rebuilt, bytes, len) != 0)
			fail_msg("%s: encoding changed (%zu bytes now, %zu in the file)", name,
				 rebuilt_len, len);
		free(rebuilt);
		free(bytes);
		free(hex);
		n_checked++;
	}
	assert_int_equal(n_checked, N_GOLDEN);
	free(text);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crafted_baseline),
		cmocka_unit_test(test_decode_rejects),
		cmocka_unit_test(test_decode_accepts),
		cmocka_unit_test(test_envelope_rejects),
		cmocka_unit_test(test_encode_rejects),
		cmocka_unit_test(test_encode_sorts),
		cmocka_unit_test(test_decoded_copy_is_complete),
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_sign_rules),
		cmocka_unit_test(test_domain_separation),
		cmocka_unit_test(test_bit_flips),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_golden),
	};

	if (proto_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
