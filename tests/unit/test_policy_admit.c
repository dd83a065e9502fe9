/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_policy_admit.c — admission of inbound reports, with real signed reports
 * (Ed25519 and ring signatures) built by proto/.
 *
 * The big table crosses every TLP x attributed/anonymous x own/other signer x arrival
 * (local publish, direct from the signer, direct from another member, gossip) x whether
 * this node is a named recipient, and for each cell states the admission verdict and the
 * egress verdict of every output path. Every expected cell is written out by hand from
 * DESIGN.md §6 and the issue; none is computed by the code under test.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "policy/admit.h"
#include "policy/egress.h"
#include "proto/crypto.h"
#include "proto/crypto_test.h"
#include "proto/error.h"
#include "proto/ring.h"

#define NOW 1700000000000ull
#define N_MEMBERS 5

/* Members by role. OWN is this node. */
enum { OWN = 0, SIGNER = 1, PEER = 2, FOURTH = 3, FIFTH = 4 };

struct keys {
	uint8_t id_pk[32];
	uint8_t id_sk[64];
	uint8_t ring_pk[32];
	uint8_t ring_sk[32];
};

static struct keys keys[N_MEMBERS];
static struct proto_roster *roster1;
static uint8_t community[32];

static const struct proto_roster *lookup(void *ctx, uint64_t epoch)
{
	const struct proto_roster *const *rs = ctx;

	for (size_t i = 0; rs[i]; i++)
		if (rs[i]->epoch == epoch)
			return rs[i];
	return NULL;
}

static const struct proto_roster *only_roster1[2];

static int roster_index(const struct proto_roster *r, int role)
{
	int i = proto_roster_find_member(r, keys[role].id_pk);

	assert_true(i >= 0);
	return i;
}

static struct proto_roster *make_roster(uint64_t epoch, const int *roles, size_t n)
{
	struct proto_roster *r = proto_roster_new();

	assert_non_null(r);
	memcpy(r->community, community, 32);
	r->epoch = epoch;
	for (size_t i = 0; i < n; i++) {
		struct proto_member m;
		char name[32];

		memset(&m, 0, sizeof(m));
		snprintf(name, sizeof(name), "Member %d", roles[i]);
		memcpy(m.id, keys[roles[i]].id_pk, 32);
		proto_random(m.transport_pk, 32);
		memcpy(m.ring_pk, keys[roles[i]].ring_pk, 32);
		m.name = name;
		assert_int_equal(proto_roster_add_member(r, &m), 0);
	}
	return r;
}

static int setup(void **state)
{
	static const int all[N_MEMBERS] = {OWN, SIGNER, PEER, FOURTH, FIFTH};

	(void)state;
	assert_int_equal(proto_crypto_init(), 0);
	memset(community, 0xC0, 32);
	for (int i = 0; i < N_MEMBERS; i++) {
		proto_crypto_raw_ed25519_keypair(keys[i].id_pk, keys[i].id_sk);
		assert_int_equal(proto_ring_keypair(keys[i].ring_pk, keys[i].ring_sk), 0);
	}
	roster1 = make_roster(1, all, N_MEMBERS);
	assert_int_equal(roster1->settings.min_ring_size, 4);
	only_roster1[0] = roster1;
	only_roster1[1] = NULL;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	proto_roster_free(roster1);
	return 0;
}

static void cfg_init(struct policy_config *cfg)
{
	policy_config_init(cfg);
	memcpy(cfg->own_id, keys[OWN].id_pk, 32);
	memcpy(cfg->community, community, 32);
}

static void ctx_init(struct policy_admit_ctx *ctx, int arrival, int peer_role,
		     const struct proto_roster **rosters)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->now_ms = NOW;
	ctx->arrival = (uint8_t)arrival;
	if (peer_role >= 0)
		memcpy(ctx->peer, keys[peer_role].id_pk, 32);
	ctx->roster_for_epoch = lookup;
	ctx->roster_ctx = rosters;
}

/* Recipients as a sorted array of ids (the decoder requires ascending order). */
struct rcpt {
	uint8_t ids[4][32];
	size_t n;
};

static int cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

static void rcpt_set(struct rcpt *rc, const int *roles, size_t n)
{
	rc->n = n;
	for (size_t i = 0; i < n; i++)
		memcpy(rc->ids[i], keys[roles[i]].id_pk, 32);
	qsort(rc->ids, n, 32, cmp_id);
}

static void report_init(struct proto_report *r, int tlp, const struct rcpt *rc)
{
	static const char value[] = "evil.example";

	memset(r, 0, sizeof(*r));
	memcpy(r->community, community, 32);
	r->kind = PROTO_KIND_INDICATOR;
	r->tlp = (uint8_t)tlp;
	r->confidence = 80;
	r->created_ms = NOW - 60000;
	r->ind_type = PROTO_IND_DOMAIN;
	r->ind_value.ptr = value;
	r->ind_value.len = sizeof(value) - 1;
	r->epoch = 1;
	if (rc && rc->n) {
		memcpy(r->recipients, rc->ids, rc->n * 32);
		r->n_recipients = rc->n;
	}
}

static uint8_t *sign_attributed(struct proto_report *r, int role, size_t *len)
{
	uint8_t *buf = NULL;

	r->prov = PROTO_PROV_ATTRIBUTED;
	memcpy(r->signer, keys[role].id_pk, 32);
	assert_int_equal(proto_report_sign(r, keys[role].id_sk, &buf, len), 0);
	return buf;
}

/* The msgpack bin header for @len bytes at @p; returns the header length. */
static size_t bin_header(uint8_t *p, size_t len)
{
	if (len < 256) {
		p[0] = 0xc4;
		p[1] = (uint8_t)len;
		return 2;
	}
	p[0] = 0xc5;
	p[1] = (uint8_t)(len >> 8);
	p[2] = (uint8_t)len;
	return 3;
}

/* [body, sig] assembled by hand, so that bodies proto/ refuses to produce can be tested. */
static uint8_t *assemble_raw(const uint8_t *body, size_t body_len, const uint8_t *sig,
			     size_t sig_len, size_t *len)
{
	uint8_t *out = malloc(1 + 3 + body_len + 3 + sig_len);
	size_t o = 0;

	assert_non_null(out);
	out[o++] = 0x92;
	o += bin_header(out + o, body_len);
	memcpy(out + o, body, body_len);
	o += body_len;
	o += bin_header(out + o, sig_len);
	memcpy(out + o, sig, sig_len);
	o += sig_len;
	*len = o;
	return out;
}

/* Ring-sign @body for the ring @ring_idx (n roster indexes, or NULL for the whole roster). */
static uint8_t *ring_sign_body(const uint8_t *body, size_t body_len, const struct proto_report *r,
			       int role, const struct proto_roster *roster,
			       const uint16_t *ring_idx, size_t n, size_t *sig_len)
{
	size_t dlen = strlen(PROTO_REPORT_DOMAIN), signer_pos = (size_t)-1;
	uint8_t(*ring)[32] = malloc(n * 32);
	uint8_t *msg = malloc(dlen + body_len), *sig;
	uint8_t ind_id[32], seed[32];

	assert_non_null(ring);
	assert_non_null(msg);
	for (size_t i = 0; i < n; i++) {
		size_t idx = ring_idx ? ring_idx[i] : i;

		memcpy(ring[i], roster->members[idx].ring_pk, 32);
		if (memcmp(ring[i], keys[role].ring_pk, 32) == 0)
			signer_pos = i;
	}
	assert_true(signer_pos != (size_t)-1);
	memcpy(msg, PROTO_REPORT_DOMAIN, dlen);
	memcpy(msg + dlen, body, body_len);
	proto_report_indicator_id(r, ind_id);
	memset(seed, 0x5e, sizeof(seed));
	*sig_len = proto_ring_sig_size(n);
	sig = malloc(*sig_len);
	assert_non_null(sig);
	assert_int_equal(proto_ring_sign_seeded(sig, *sig_len, msg, dlen + body_len, r->epoch,
						(const uint8_t(*)[32])ring, n, signer_pos,
						keys[role].ring_sk, ind_id, seed),
			 0);
	free(ring);
	free(msg);
	return sig;
}

/*
 * Anonymous report signed by @role over @roster's whole member list (ring_n 0) or over the
 * roster indexes r->ring[0..r->ring_n).
 */
static uint8_t *sign_anonymous(struct proto_report *r, int role, const struct proto_roster *roster,
			       size_t *len)
{
	uint8_t *body = NULL, *sig, *out = NULL;
	uint8_t ind_id[32];
	size_t body_len, sig_len, n = r->ring_n ? r->ring_n : roster->n_members;

	r->prov = PROTO_PROV_ANONYMOUS;
	proto_report_indicator_id(r, ind_id);
	assert_int_equal(proto_ring_tag(r->link_tag, keys[role].ring_sk, ind_id), 0);
	assert_int_equal(proto_report_encode_body(r, &body, &body_len), 0);
	sig = ring_sign_body(body, body_len, r, role, roster, r->ring_n ? r->ring : NULL, n,
			     &sig_len);
	assert_int_equal(proto_report_assemble(body, body_len, sig, sig_len, &out, len), 0);
	free(body);
	free(sig);
	return out;
}

/*
 * Anonymous AMBER/RED, which proto/ refuses to encode: encode the attributed body, swap its
 * provenance map (always the last entry) for an anonymous one, ring-sign and assemble by hand.
 */
static uint8_t *sign_anonymous_restricted(struct proto_report *r, int role, size_t *len)
{
	static const uint8_t attr_prefix[] = {0x0c, 0x83, 0x00, 0x00, 0x01, 0xc4, 0x20};
	uint8_t *body = NULL, *sig, *out;
	uint8_t ind_id[32];
	size_t body_len, sig_len, tail = sizeof(attr_prefix) + 32 + 2, o;

	r->prov = PROTO_PROV_ATTRIBUTED;
	memcpy(r->signer, keys[role].id_pk, 32);
	assert_int_equal(proto_report_encode_body(r, &body, &body_len), 0);
	assert_true(body_len > tail);
	o = body_len - tail;
	assert_memory_equal(body + o, attr_prefix, sizeof(attr_prefix));
	assert_memory_equal(body + o + sizeof(attr_prefix), keys[role].id_pk, 32);
	assert_int_equal(body[body_len - 2], 0x02);
	assert_int_equal(body[body_len - 1], 0x01); /* epoch 1 */

	r->prov = PROTO_PROV_ANONYMOUS;
	memset(r->signer, 0, 32);
	proto_report_indicator_id(r, ind_id);
	assert_int_equal(proto_ring_tag(r->link_tag, keys[role].ring_sk, ind_id), 0);
	body = realloc(body, o + 1 + 7 + 2 + 32);
	assert_non_null(body);
	body[o++] = 0x0c;
	body[o++] = 0x83; /* {0: 1, 2: epoch 1, 4: bin32 tag} */
	body[o++] = 0x00;
	body[o++] = 0x01;
	body[o++] = 0x02;
	body[o++] = 0x01;
	body[o++] = 0x04;
	body[o++] = 0xc4;
	body[o++] = 0x20;
	memcpy(body + o, r->link_tag, 32);
	body_len = o + 32;
	sig = ring_sign_body(body, body_len, r, role, roster1, NULL, roster1->n_members, &sig_len);
	out = assemble_raw(body, body_len, sig, sig_len, len);
	free(body);
	free(sig);
	return out;
}

/* ---- the table ---- */

#define CLEAR PROTO_TLP_CLEAR
#define GREEN PROTO_TLP_GREEN
#define AMBER PROTO_TLP_AMBER
#define AMBER_STRICT PROTO_TLP_AMBER_STRICT
#define RED PROTO_TLP_RED
#define ATTR PROTO_PROV_ATTRIBUTED
#define ANON PROTO_PROV_ANONYMOUS
#define OTHER SIGNER
enum { LOCAL, DIRECT_SIGNER, DIRECT_OTHER, GOSSIP };
enum { NA, YES, NO };
#define ACCEPT POLICY_ACCEPT
#define NOT_OWN POLICY_REJECT_NOT_OWN
#define RELAYED POLICY_REJECT_RELAYED
#define NOT_RECIPIENT POLICY_REJECT_NOT_RECIPIENT
#define PROVENANCE POLICY_REJECT_PROVENANCE
#define D POLICY_EGRESS_DENY
#define U POLICY_EGRESS_UNCHANGED
#define S POLICY_EGRESS_STRIPPED

/*
 * signer: OWN (this node) or OTHER. named: for AMBER/AMBER+STRICT/RED, whether this node is
 * among the recipients (own reports name SIGNER and PEER; other reports name OWN and PEER,
 * or PEER and FOURTH). Egress columns: gossip; direct to PEER (a named recipient); direct to
 * FIFTH (never named); SIEM export; SIEM export with export_red; public feed; local output;
 * local output with show_attribution.
 */
struct row {
	int tlp, prov, signer, arrival, named;
	int reason;
	int gossip, direct_named, direct_unnamed, siem, siem_red, pub, local, local_attr;
};

static const struct row table[] = {
	{CLEAR, ATTR, OWN, LOCAL, NA, ACCEPT, U, D, D, S, S, S, S, U},
	{CLEAR, ATTR, OWN, DIRECT_OTHER, NA, ACCEPT, U, D, D, S, S, S, S, U},
	{CLEAR, ATTR, OWN, GOSSIP, NA, ACCEPT, U, D, D, S, S, S, S, U},
	{CLEAR, ATTR, OTHER, LOCAL, NA, NOT_OWN, U, D, D, S, S, S, S, U},
	{CLEAR, ATTR, OTHER, DIRECT_SIGNER, NA, ACCEPT, U, D, D, S, S, S, S, U},
	{CLEAR, ATTR, OTHER, DIRECT_OTHER, NA, ACCEPT, U, D, D, S, S, S, S, U},
	{CLEAR, ATTR, OTHER, GOSSIP, NA, ACCEPT, U, D, D, S, S, S, S, U},
	{CLEAR, ANON, OWN, LOCAL, NA, ACCEPT, U, D, D, S, S, S, S, U},
	{CLEAR, ANON, OWN, DIRECT_OTHER, NA, ACCEPT, U, D, D, S, S, S, S, U},
	{CLEAR, ANON, OWN, GOSSIP, NA, ACCEPT, U, D, D, S, S, S, S, U},
	{CLEAR, ANON, OTHER, LOCAL, NA, ACCEPT, U, D, D, S, S, S, S, U},
	{CLEAR, ANON, OTHER, DIRECT_SIGNER, NA, ACCEPT, U, D, D, S, S, S, S, U},
	{CLEAR, ANON, OTHER, DIRECT_OTHER, NA, ACCEPT, U, D, D, S, S, S, S, U},
	{CLEAR, ANON, OTHER, GOSSIP, NA, ACCEPT, U, D, D, S, S, S, S, U},
	{GREEN, ATTR, OWN, LOCAL, NA, ACCEPT, U, D, D, S, S, D, S, U},
	{GREEN, ATTR, OWN, DIRECT_OTHER, NA, ACCEPT, U, D, D, S, S, D, S, U},
	{GREEN, ATTR, OWN, GOSSIP, NA, ACCEPT, U, D, D, S, S, D, S, U},
	{GREEN, ATTR, OTHER, LOCAL, NA, NOT_OWN, U, D, D, S, S, D, S, U},
	{GREEN, ATTR, OTHER, DIRECT_SIGNER, NA, ACCEPT, U, D, D, S, S, D, S, U},
	{GREEN, ATTR, OTHER, DIRECT_OTHER, NA, ACCEPT, U, D, D, S, S, D, S, U},
	{GREEN, ATTR, OTHER, GOSSIP, NA, ACCEPT, U, D, D, S, S, D, S, U},
	{GREEN, ANON, OWN, LOCAL, NA, ACCEPT, U, D, D, S, S, D, S, U},
	{GREEN, ANON, OWN, DIRECT_OTHER, NA, ACCEPT, U, D, D, S, S, D, S, U},
	{GREEN, ANON, OWN, GOSSIP, NA, ACCEPT, U, D, D, S, S, D, S, U},
	{GREEN, ANON, OTHER, LOCAL, NA, ACCEPT, U, D, D, S, S, D, S, U},
	{GREEN, ANON, OTHER, DIRECT_SIGNER, NA, ACCEPT, U, D, D, S, S, D, S, U},
	{GREEN, ANON, OTHER, DIRECT_OTHER, NA, ACCEPT, U, D, D, S, S, D, S, U},
	{GREEN, ANON, OTHER, GOSSIP, NA, ACCEPT, U, D, D, S, S, D, S, U},
	{AMBER, ATTR, OWN, LOCAL, NO, ACCEPT, D, U, D, S, S, D, S, U},
	{AMBER, ATTR, OWN, DIRECT_OTHER, NO, RELAYED, D, U, D, S, S, D, S, U},
	{AMBER, ATTR, OWN, GOSSIP, NO, RELAYED, D, U, D, S, S, D, S, U},
	{AMBER, ATTR, OTHER, LOCAL, YES, NOT_OWN, D, D, D, S, S, D, S, U},
	{AMBER, ATTR, OTHER, DIRECT_SIGNER, YES, ACCEPT, D, D, D, S, S, D, S, U},
	{AMBER, ATTR, OTHER, DIRECT_OTHER, YES, RELAYED, D, D, D, S, S, D, S, U},
	{AMBER, ATTR, OTHER, GOSSIP, YES, RELAYED, D, D, D, S, S, D, S, U},
	{AMBER, ATTR, OTHER, LOCAL, NO, NOT_OWN, D, D, D, S, S, D, S, U},
	{AMBER, ATTR, OTHER, DIRECT_SIGNER, NO, NOT_RECIPIENT, D, D, D, S, S, D, S, U},
	{AMBER, ATTR, OTHER, DIRECT_OTHER, NO, RELAYED, D, D, D, S, S, D, S, U},
	{AMBER, ATTR, OTHER, GOSSIP, NO, RELAYED, D, D, D, S, S, D, S, U},
	{AMBER, ANON, OWN, LOCAL, NO, PROVENANCE, D, D, D, S, S, D, S, U},
	{AMBER, ANON, OWN, DIRECT_OTHER, NO, PROVENANCE, D, D, D, S, S, D, S, U},
	{AMBER, ANON, OWN, GOSSIP, NO, PROVENANCE, D, D, D, S, S, D, S, U},
	{AMBER, ANON, OTHER, LOCAL, YES, PROVENANCE, D, D, D, S, S, D, S, U},
	{AMBER, ANON, OTHER, DIRECT_SIGNER, YES, PROVENANCE, D, D, D, S, S, D, S, U},
	{AMBER, ANON, OTHER, DIRECT_OTHER, YES, PROVENANCE, D, D, D, S, S, D, S, U},
	{AMBER, ANON, OTHER, GOSSIP, YES, PROVENANCE, D, D, D, S, S, D, S, U},
	{AMBER, ANON, OTHER, LOCAL, NO, PROVENANCE, D, D, D, S, S, D, S, U},
	{AMBER, ANON, OTHER, DIRECT_SIGNER, NO, PROVENANCE, D, D, D, S, S, D, S, U},
	{AMBER, ANON, OTHER, DIRECT_OTHER, NO, PROVENANCE, D, D, D, S, S, D, S, U},
	{AMBER, ANON, OTHER, GOSSIP, NO, PROVENANCE, D, D, D, S, S, D, S, U},
	{AMBER_STRICT, ATTR, OWN, LOCAL, NO, ACCEPT, D, U, D, S, S, D, S, U},
	{AMBER_STRICT, ATTR, OWN, DIRECT_OTHER, NO, RELAYED, D, U, D, S, S, D, S, U},
	{AMBER_STRICT, ATTR, OWN, GOSSIP, NO, RELAYED, D, U, D, S, S, D, S, U},
	{AMBER_STRICT, ATTR, OTHER, LOCAL, YES, NOT_OWN, D, D, D, S, S, D, S, U},
	{AMBER_STRICT, ATTR, OTHER, DIRECT_SIGNER, YES, ACCEPT, D, D, D, S, S, D, S, U},
	{AMBER_STRICT, ATTR, OTHER, DIRECT_OTHER, YES, RELAYED, D, D, D, S, S, D, S, U},
	{AMBER_STRICT, ATTR, OTHER, GOSSIP, YES, RELAYED, D, D, D, S, S, D, S, U},
	{AMBER_STRICT, ATTR, OTHER, LOCAL, NO, NOT_OWN, D, D, D, S, S, D, S, U},
	{AMBER_STRICT, ATTR, OTHER, DIRECT_SIGNER, NO, NOT_RECIPIENT, D, D, D, S, S, D, S, U},
	{AMBER_STRICT, ATTR, OTHER, DIRECT_OTHER, NO, RELAYED, D, D, D, S, S, D, S, U},
	{AMBER_STRICT, ATTR, OTHER, GOSSIP, NO, RELAYED, D, D, D, S, S, D, S, U},
	{AMBER_STRICT, ANON, OWN, LOCAL, NO, PROVENANCE, D, D, D, S, S, D, S, U},
	{AMBER_STRICT, ANON, OWN, DIRECT_OTHER, NO, PROVENANCE, D, D, D, S, S, D, S, U},
	{AMBER_STRICT, ANON, OWN, GOSSIP, NO, PROVENANCE, D, D, D, S, S, D, S, U},
	{AMBER_STRICT, ANON, OTHER, LOCAL, YES, PROVENANCE, D, D, D, S, S, D, S, U},
	{AMBER_STRICT, ANON, OTHER, DIRECT_SIGNER, YES, PROVENANCE, D, D, D, S, S, D, S, U},
	{AMBER_STRICT, ANON, OTHER, DIRECT_OTHER, YES, PROVENANCE, D, D, D, S, S, D, S, U},
	{AMBER_STRICT, ANON, OTHER, GOSSIP, YES, PROVENANCE, D, D, D, S, S, D, S, U},
	{AMBER_STRICT, ANON, OTHER, LOCAL, NO, PROVENANCE, D, D, D, S, S, D, S, U},
	{AMBER_STRICT, ANON, OTHER, DIRECT_SIGNER, NO, PROVENANCE, D, D, D, S, S, D, S, U},
	{AMBER_STRICT, ANON, OTHER, DIRECT_OTHER, NO, PROVENANCE, D, D, D, S, S, D, S, U},
	{AMBER_STRICT, ANON, OTHER, GOSSIP, NO, PROVENANCE, D, D, D, S, S, D, S, U},
	{RED, ATTR, OWN, LOCAL, NO, ACCEPT, D, U, D, D, S, D, S, U},
	{RED, ATTR, OWN, DIRECT_OTHER, NO, RELAYED, D, U, D, D, S, D, S, U},
	{RED, ATTR, OWN, GOSSIP, NO, RELAYED, D, U, D, D, S, D, S, U},
	{RED, ATTR, OTHER, LOCAL, YES, NOT_OWN, D, D, D, D, S, D, S, U},
	{RED, ATTR, OTHER, DIRECT_SIGNER, YES, ACCEPT, D, D, D, D, S, D, S, U},
	{RED, ATTR, OTHER, DIRECT_OTHER, YES, RELAYED, D, D, D, D, S, D, S, U},
	{RED, ATTR, OTHER, GOSSIP, YES, RELAYED, D, D, D, D, S, D, S, U},
	{RED, ATTR, OTHER, LOCAL, NO, NOT_OWN, D, D, D, D, S, D, S, U},
	{RED, ATTR, OTHER, DIRECT_SIGNER, NO, NOT_RECIPIENT, D, D, D, D, S, D, S, U},
	{RED, ATTR, OTHER, DIRECT_OTHER, NO, RELAYED, D, D, D, D, S, D, S, U},
	{RED, ATTR, OTHER, GOSSIP, NO, RELAYED, D, D, D, D, S, D, S, U},
	{RED, ANON, OWN, LOCAL, NO, PROVENANCE, D, D, D, D, S, D, S, U},
	{RED, ANON, OWN, DIRECT_OTHER, NO, PROVENANCE, D, D, D, D, S, D, S, U},
	{RED, ANON, OWN, GOSSIP, NO, PROVENANCE, D, D, D, D, S, D, S, U},
	{RED, ANON, OTHER, LOCAL, YES, PROVENANCE, D, D, D, D, S, D, S, U},
	{RED, ANON, OTHER, DIRECT_SIGNER, YES, PROVENANCE, D, D, D, D, S, D, S, U},
	{RED, ANON, OTHER, DIRECT_OTHER, YES, PROVENANCE, D, D, D, D, S, D, S, U},
	{RED, ANON, OTHER, GOSSIP, YES, PROVENANCE, D, D, D, D, S, D, S, U},
	{RED, ANON, OTHER, LOCAL, NO, PROVENANCE, D, D, D, D, S, D, S, U},
	{RED, ANON, OTHER, DIRECT_SIGNER, NO, PROVENANCE, D, D, D, D, S, D, S, U},
	{RED, ANON, OTHER, DIRECT_OTHER, NO, PROVENANCE, D, D, D, D, S, D, S, U},
	{RED, ANON, OTHER, GOSSIP, NO, PROVENANCE, D, D, D, D, S, D, S, U},
};

static void test_table(void **state)
{
	struct policy_config def, red, attr;
	size_t accepted = 0;

	(void)state;
	cfg_init(&def);
	cfg_init(&red);
	red.export_red = true;
	cfg_init(&attr);
	attr.show_attribution = true;
	assert_int_equal(sizeof(table) / sizeof(table[0]), 94);

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct row *row = &table[i];
		static const int own_rcpt[] = {SIGNER, PEER}, named_rcpt[] = {OWN, PEER},
				 unnamed_rcpt[] = {PEER, FOURTH};
		struct proto_report src, r;
		struct policy_admit_ctx ctx;
		struct rcpt rc = {0};
		uint8_t *buf;
		size_t len;
		int peer = -1, got;
		int eg[8];

		if (row->tlp >= AMBER) {
			if (row->signer == OWN)
				rcpt_set(&rc, own_rcpt, 2);
			else if (row->named == YES)
				rcpt_set(&rc, named_rcpt, 2);
			else
				rcpt_set(&rc, unnamed_rcpt, 2);
		}
		report_init(&src, row->tlp, &rc);
		if (row->prov == ATTR)
			buf = sign_attributed(&src, row->signer, &len);
		else if (row->tlp >= AMBER)
			buf = sign_anonymous_restricted(&src, row->signer, &len);
		else
			buf = sign_anonymous(&src, row->signer, roster1, &len);

		switch (row->arrival) {
		case DIRECT_SIGNER:
			peer = row->signer;
			break;
		case DIRECT_OTHER:
		case GOSSIP:
			peer = PEER;
			break;
		}
		ctx_init(&ctx,
			 row->arrival == LOCAL	  ? POLICY_ARRIVAL_LOCAL
			 : row->arrival == GOSSIP ? POLICY_ARRIVAL_GOSSIP
						  : POLICY_ARRIVAL_DIRECT,
			 peer, only_roster1);
		got = policy_admit_check(&def, &ctx, buf, len, &r);
		if (got != row->reason)
			fail_msg("row %zu: admission %s, want %s", i, policy_admit_reason_name(got),
				 policy_admit_reason_name(row->reason));
		accepted += got == POLICY_ACCEPT;

		eg[0] = policy_egress_check_report(&def, POLICY_PATH_GOSSIP, &src,
						   keys[PEER].id_pk);
		eg[1] = policy_egress_check_report(&def, POLICY_PATH_DIRECT, &src,
						   keys[PEER].id_pk);
		eg[2] = policy_egress_check_report(&def, POLICY_PATH_DIRECT, &src,
						   keys[FIFTH].id_pk);
		eg[3] = policy_egress_check_report(&def, POLICY_PATH_SIEM_EXPORT, &src, NULL);
		eg[4] = policy_egress_check_report(&red, POLICY_PATH_SIEM_EXPORT, &src, NULL);
		eg[5] = policy_egress_check_report(&def, POLICY_PATH_PUBLIC_FEED, &src, NULL);
		eg[6] = policy_egress_check_report(&def, POLICY_PATH_LOCAL_OUTPUT, &src, NULL);
		eg[7] = policy_egress_check_report(&attr, POLICY_PATH_LOCAL_OUTPUT, &src, NULL);
		if (eg[0] != row->gossip || eg[1] != row->direct_named ||
		    eg[2] != row->direct_unnamed || eg[3] != row->siem || eg[4] != row->siem_red ||
		    eg[5] != row->pub || eg[6] != row->local || eg[7] != row->local_attr)
			fail_msg("row %zu: egress %d %d %d %d %d %d %d %d", i, eg[0], eg[1], eg[2],
				 eg[3], eg[4], eg[5], eg[6], eg[7]);

		/* A decoded, admitted report gives the same egress as its source. */
		if (got == POLICY_ACCEPT) {
			assert_int_equal(policy_egress_check_report(&def, POLICY_PATH_DIRECT, &r,
								    keys[PEER].id_pk),
					 row->direct_named);
			assert_int_equal(policy_egress_check_report(&def, POLICY_PATH_GOSSIP, &r,
								    keys[PEER].id_pk),
					 row->gossip);
		}
		free(buf);
	}
	assert_int_equal(accepted, 32);
}

/* The view-level rule behind the PROVENANCE rows: anonymous AMBER/RED never pass. */
static void test_anonymous_restricted_view(void **state)
{
	static const int tlps[] = {AMBER, AMBER_STRICT, RED};
	static const int arrivals[] = {POLICY_ARRIVAL_LOCAL, POLICY_ARRIVAL_DIRECT,
				       POLICY_ARRIVAL_GOSSIP};
	static const int named_rcpt[] = {OWN, PEER};
	struct policy_config cfg;
	struct policy_admit_ctx ctx;
	struct proto_report r;
	struct rcpt rc;

	(void)state;
	cfg_init(&cfg);
	rcpt_set(&rc, named_rcpt, 2);
	for (size_t t = 0; t < 3; t++) {
		for (size_t a = 0; a < 3; a++) {
			report_init(&r, tlps[t], &rc);
			r.prov = PROTO_PROV_ANONYMOUS;
			ctx_init(&ctx, arrivals[a], SIGNER, only_roster1);
			assert_int_equal(policy_admit_check_report(&cfg, &ctx, &r),
					 POLICY_REJECT_ANON_RESTRICTED);
		}
	}
}

static enum policy_reason admit(const struct policy_config *cfg, const uint8_t *buf, size_t len,
				int arrival, int peer, const struct proto_roster **rosters)
{
	struct policy_admit_ctx ctx;
	struct proto_report r;

	ctx_init(&ctx, arrival, peer, rosters);
	return policy_admit_check(cfg, &ctx, buf, len, &r);
}

static void test_community(void **state)
{
	struct policy_config cfg;
	struct proto_report r;
	uint8_t *buf;
	size_t len;

	(void)state;
	cfg_init(&cfg);
	report_init(&r, CLEAR, NULL);
	r.community[0] ^= 1;
	buf = sign_attributed(&r, SIGNER, &len);
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_GOSSIP, PEER, only_roster1),
			 POLICY_REJECT_COMMUNITY);
	free(buf);
}

static void test_times(void **state)
{
	struct policy_config cfg;
	struct proto_report r;
	struct proto_roster *aged;
	const struct proto_roster *rosters[2];
	uint8_t *buf;
	size_t len;
	struct policy_admit_ctx ctx;
	struct proto_report out;

	(void)state;
	cfg_init(&cfg);

	report_init(&r, GREEN, NULL);
	r.created_ms = NOW + POLICY_DEFAULT_MAX_SKEW_MS;
	buf = sign_attributed(&r, SIGNER, &len);
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_GOSSIP, PEER, only_roster1),
			 POLICY_ACCEPT);
	free(buf);

	report_init(&r, GREEN, NULL);
	r.created_ms = NOW + POLICY_DEFAULT_MAX_SKEW_MS + 1;
	buf = sign_attributed(&r, SIGNER, &len);
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_GOSSIP, PEER, only_roster1),
			 POLICY_REJECT_FUTURE);
	cfg.max_skew_ms = POLICY_DEFAULT_MAX_SKEW_MS + 1;
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_GOSSIP, PEER, only_roster1),
			 POLICY_ACCEPT);
	/* A skew so large that now + skew wraps must not wrap into a rejection. */
	cfg.max_skew_ms = UINT64_MAX;
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_GOSSIP, PEER, only_roster1),
			 POLICY_ACCEPT);
	free(buf);
	cfg_init(&cfg);

	/* Maximum age, from the report's epoch roster... */
	roster1->settings.max_report_age_ms = 3600000;
	report_init(&r, GREEN, NULL);
	r.created_ms = NOW - 3600000;
	buf = sign_attributed(&r, SIGNER, &len);
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_GOSSIP, PEER, only_roster1),
			 POLICY_ACCEPT);
	free(buf);
	report_init(&r, GREEN, NULL);
	r.created_ms = NOW - 3600001;
	buf = sign_attributed(&r, SIGNER, &len);
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_GOSSIP, PEER, only_roster1),
			 POLICY_REJECT_TOO_OLD);
	roster1->settings.max_report_age_ms = 0;
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_GOSSIP, PEER, only_roster1),
			 POLICY_ACCEPT);

	/* ...or from the newest roster when the caller gives one. */
	{
		static const int all[N_MEMBERS] = {OWN, SIGNER, PEER, FOURTH, FIFTH};

		aged = make_roster(2, all, N_MEMBERS);
	}
	aged->settings.max_report_age_ms = 1000;
	rosters[0] = roster1;
	rosters[1] = NULL;
	ctx_init(&ctx, POLICY_ARRIVAL_GOSSIP, PEER, rosters);
	ctx.newest = aged;
	assert_int_equal(policy_admit_check(&cfg, &ctx, buf, len, &out), POLICY_REJECT_TOO_OLD);
	aged->settings.max_report_age_ms = 0;
	assert_int_equal(policy_admit_check(&cfg, &ctx, buf, len, &out), POLICY_ACCEPT);

	/*
	 * A report struct that did not come from the decoder cannot carry a time the codec
	 * refuses: a year-10000 valid_until would poison every export downstream.
	 */
	assert_int_equal(policy_admit_check_report(&cfg, &ctx, &out), POLICY_ACCEPT);
	out.valid_until_ms = PROTO_REPORT_TIME_MAX_MS + 1;
	assert_int_equal(policy_admit_check_report(&cfg, &ctx, &out), POLICY_REJECT_ENCODING);
	out.valid_until_ms = out.created_ms;
	assert_int_equal(policy_admit_check_report(&cfg, &ctx, &out), POLICY_REJECT_ENCODING);
	out.valid_until_ms = 0;
	out.created_ms = PROTO_REPORT_TIME_MAX_MS + 1;
	cfg.max_skew_ms = UINT64_MAX;
	assert_int_equal(policy_admit_check_report(&cfg, &ctx, &out), POLICY_REJECT_ENCODING);
	free(buf);
	proto_roster_free(aged);
}

/* Reports are verified against the roster of the epoch they name. */
static void test_epochs(void **state)
{
	static const int without_signer[] = {OWN, PEER, FOURTH, FIFTH};
	struct proto_roster *r2 = make_roster(2, without_signer, 4);
	const struct proto_roster *both[3] = {roster1, r2, NULL};
	const struct proto_roster *only2[2] = {r2, NULL};
	struct policy_config cfg;
	struct proto_report r;
	uint8_t *buf;
	size_t len;

	(void)state;
	cfg_init(&cfg);
	report_init(&r, CLEAR, NULL);
	buf = sign_attributed(&r, SIGNER, &len); /* names epoch 1 */
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_GOSSIP, PEER, both), POLICY_ACCEPT);
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_GOSSIP, PEER, only2),
			 POLICY_REJECT_UNKNOWN_EPOCH);
	free(buf);

	report_init(&r, CLEAR, NULL);
	r.epoch = 2;
	buf = sign_attributed(&r, SIGNER, &len);
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_GOSSIP, PEER, both),
			 POLICY_REJECT_NOT_MEMBER);
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_GOSSIP, PEER, only_roster1),
			 POLICY_REJECT_UNKNOWN_EPOCH);
	free(buf);

	report_init(&r, CLEAR, NULL);
	r.epoch = 2;
	buf = sign_attributed(&r, PEER, &len);
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_GOSSIP, PEER, both), POLICY_ACCEPT);
	free(buf);

	/* An anonymous report over epoch 2's ring does not verify as epoch 1's. */
	report_init(&r, CLEAR, NULL);
	r.epoch = 2;
	buf = sign_anonymous(&r, PEER, r2, &len);
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_GOSSIP, PEER, both), POLICY_ACCEPT);
	free(buf);
	proto_roster_free(r2);
}

static int cmp_u16(const void *a, const void *b);

/* A member removed in a newer epoch cannot keep publishing under the epoch it was in. */
static void test_expelled(void **state)
{
	static const int without_signer[] = {OWN, PEER, FOURTH, FIFTH};
	struct proto_roster *r2 = make_roster(2, without_signer, 4);
	const struct proto_roster *both[3] = {roster1, r2, NULL};
	struct policy_config cfg;
	struct policy_admit_ctx ctx;
	struct proto_report r, out;
	uint8_t *buf;
	size_t len;

	(void)state;
	cfg_init(&cfg);
	ctx_init(&ctx, POLICY_ARRIVAL_GOSSIP, PEER, both);
	ctx.newest = r2;

	report_init(&r, CLEAR, NULL); /* epoch 1, signed by the member epoch 2 removed */
	buf = sign_attributed(&r, SIGNER, &len);
	assert_int_equal(policy_admit_check(&cfg, &ctx, buf, len, &out), POLICY_REJECT_EXPELLED);
	free(buf);

	report_init(&r, CLEAR, NULL); /* epoch 1, by a member still in epoch 2 */
	buf = sign_attributed(&r, PEER, &len);
	assert_int_equal(policy_admit_check(&cfg, &ctx, buf, len, &out), POLICY_ACCEPT);
	free(buf);

	/* Epoch 1's whole ring includes the removed member: refused, whoever signed. */
	report_init(&r, CLEAR, NULL);
	buf = sign_anonymous(&r, PEER, roster1, &len);
	assert_int_equal(policy_admit_check(&cfg, &ctx, buf, len, &out), POLICY_REJECT_EXPELLED);
	free(buf);

	/* A ring of epoch 1 made only of members still present is fine. */
	report_init(&r, CLEAR, NULL);
	r.ring_n = 4;
	r.ring[0] = (uint16_t)roster_index(roster1, OWN);
	r.ring[1] = (uint16_t)roster_index(roster1, PEER);
	r.ring[2] = (uint16_t)roster_index(roster1, FOURTH);
	r.ring[3] = (uint16_t)roster_index(roster1, FIFTH);
	qsort(r.ring, 4, sizeof(r.ring[0]), cmp_u16);
	buf = sign_anonymous(&r, PEER, roster1, &len);
	assert_int_equal(policy_admit_check(&cfg, &ctx, buf, len, &out), POLICY_ACCEPT);
	free(buf);
	proto_roster_free(r2);
}

/*
 * Epoch 2 without SIGNER and epoch 3 without SIGNER and FIFTH, both retiring SIGNER's key at
 * *@e (NOW - 30 s), with PEER as its successor when @successor.
 */
static void retired_rosters(bool successor, struct proto_retired *e, struct proto_roster **r2,
			    struct proto_roster **r3)
{
	static const int without_signer[] = {OWN, PEER, FOURTH, FIFTH};
	static const int without_two[] = {OWN, PEER, FOURTH};

	*e = (struct proto_retired){.not_after_ms = NOW - 30000, .has_successor = successor};
	memcpy(e->id, keys[SIGNER].id_pk, 32);
	if (successor)
		memcpy(e->successor, keys[PEER].id_pk, 32);
	*r2 = make_roster(2, without_signer, 4);
	*r3 = make_roster(3, without_two, 3);
	assert_int_equal(proto_roster_retire(*r2, e), 0);
	assert_int_equal(proto_roster_retire(*r3, e), 0);
}

/*
 * A key retired in epoch 2 (SIGNER's, its successor PEER): what it signed after not_after_ms
 * is refused (revoked), what it signed before stays admissible attributed (and is not
 * "expelled"); over an epoch-1 ring it is refused whenever it was dated (rotated: the
 * member has a new ring key, so this could be its second vote); REVOKED outranks ROTATED,
 * which outranks EXPELLED, in a ring. test_retired_no_successor: without a successor an
 * epoch-1 ring signed before the time stays admissible.
 */
static void test_revoked(void **state)
{
	struct proto_roster *r2, *r3;
	struct proto_retired e;
	struct policy_config cfg;
	struct policy_admit_ctx ctx;
	struct proto_report r, out;
	uint8_t *buf;
	size_t len;

	(void)state;
	retired_rosters(true, &e, &r2, &r3);
	const struct proto_roster *both[3] = {roster1, r2, NULL};
	const struct proto_roster *three[4] = {roster1, r2, r3, NULL};

	cfg_init(&cfg);
	ctx_init(&ctx, POLICY_ARRIVAL_GOSSIP, PEER, both);
	ctx.newest = r2;

	report_init(&r, CLEAR, NULL); /* created NOW - 60 s: before the retirement */
	buf = sign_attributed(&r, SIGNER, &len);
	assert_int_equal(policy_admit_check(&cfg, &ctx, buf, len, &out), POLICY_ACCEPT);
	free(buf);
	report_init(&r, CLEAR, NULL);
	r.created_ms = NOW - 29999; /* after */
	buf = sign_attributed(&r, SIGNER, &len);
	assert_int_equal(policy_admit_check(&cfg, &ctx, buf, len, &out), POLICY_REJECT_REVOKED);
	/* Without the newest roster the node cannot know, and epoch 1 still holds the key. */
	ctx.newest = NULL;
	assert_int_equal(policy_admit_check(&cfg, &ctx, buf, len, &out), POLICY_ACCEPT);
	ctx.newest = r2;
	free(buf);
	report_init(&r, CLEAR, NULL);
	r.created_ms = e.not_after_ms; /* the boundary belongs to "before" */
	buf = sign_attributed(&r, SIGNER, &len);
	assert_int_equal(policy_admit_check(&cfg, &ctx, buf, len, &out), POLICY_ACCEPT);
	free(buf);

	/*
	 * Epoch 1's whole ring holds the rotated key: refused even dated before the rotation,
	 * signed by the rotated member's old key (its second anonymous vote, review finding 5)
	 * or by anyone else in the ring (indistinguishable).
	 */
	report_init(&r, CLEAR, NULL);
	buf = sign_anonymous(&r, SIGNER, roster1, &len);
	assert_int_equal(policy_admit_check(&cfg, &ctx, buf, len, &out), POLICY_REJECT_ROTATED);
	free(buf);
	report_init(&r, CLEAR, NULL);
	r.created_ms = e.not_after_ms - 1;
	buf = sign_anonymous(&r, PEER, roster1, &len);
	assert_int_equal(policy_admit_check(&cfg, &ctx, buf, len, &out), POLICY_REJECT_ROTATED);
	/* Without the newest roster the node cannot know. */
	ctx.newest = NULL;
	assert_int_equal(policy_admit_check(&cfg, &ctx, buf, len, &out), POLICY_ACCEPT);
	ctx.newest = r2;
	free(buf);
	report_init(&r, CLEAR, NULL);
	r.created_ms = NOW - 1000;
	buf = sign_anonymous(&r, PEER, roster1, &len);
	assert_int_equal(policy_admit_check(&cfg, &ctx, buf, len, &out), POLICY_REJECT_REVOKED);
	/* Epoch 3 also dropped FIFTH (expelled, listed after SIGNER in no particular order):
	 * the revoked key is named, whatever the ring order. */
	ctx_init(&ctx, POLICY_ARRIVAL_GOSSIP, PEER, three);
	ctx.newest = r3;
	assert_int_equal(policy_admit_check(&cfg, &ctx, buf, len, &out), POLICY_REJECT_REVOKED);
	free(buf);
	report_init(&r, CLEAR, NULL); /* before the retirement: rotated outranks expelled */
	buf = sign_anonymous(&r, PEER, roster1, &len);
	assert_int_equal(policy_admit_check(&cfg, &ctx, buf, len, &out), POLICY_REJECT_ROTATED);
	free(buf);
	proto_roster_free(r2);
	proto_roster_free(r3);
}

/*
 * A key retired WITHOUT a successor (stolen, the member gone): an epoch-1 ring holding it
 * stays admissible for what was signed before not_after_ms (nobody has a second key to vote
 * with), revoked after; and a member dropped meanwhile is still named (expelled).
 */
static void test_retired_no_successor(void **state)
{
	struct proto_roster *r2, *r3;
	struct proto_retired e;
	struct policy_config cfg;
	struct policy_admit_ctx ctx;
	struct proto_report r, out;
	uint8_t *buf;
	size_t len;

	(void)state;
	retired_rosters(false, &e, &r2, &r3);
	const struct proto_roster *both[3] = {roster1, r2, NULL};
	const struct proto_roster *three[4] = {roster1, r2, r3, NULL};

	cfg_init(&cfg);
	ctx_init(&ctx, POLICY_ARRIVAL_GOSSIP, PEER, both);
	ctx.newest = r2;
	report_init(&r, CLEAR, NULL); /* created NOW - 60 s: before the retirement */
	buf = sign_anonymous(&r, PEER, roster1, &len);
	assert_int_equal(policy_admit_check(&cfg, &ctx, buf, len, &out), POLICY_ACCEPT);
	ctx_init(&ctx, POLICY_ARRIVAL_GOSSIP, PEER, three);
	ctx.newest = r3;
	assert_int_equal(policy_admit_check(&cfg, &ctx, buf, len, &out), POLICY_REJECT_EXPELLED);
	free(buf);
	report_init(&r, CLEAR, NULL);
	r.created_ms = NOW - 1000;
	buf = sign_anonymous(&r, PEER, roster1, &len);
	assert_int_equal(policy_admit_check(&cfg, &ctx, buf, len, &out), POLICY_REJECT_REVOKED);
	free(buf);
	proto_roster_free(r2);
	proto_roster_free(r3);
}

/*
 * An AMBER report for FIFTH, whose member replaced its keys: epoch 2 retires FIFTH with OWN
 * as its successor. OWN then receives it (a DIRECT copy from the signer) and the signer's
 * egress target check accepts OWN for it (policy_egress_named_recipient()); without the
 * successor, or judged by epoch 1, OWN is no recipient. A retired id whose successor left
 * too answers for no one.
 */
static void test_rotated_recipient(void **state)
{
	static const int without_fifth[] = {OWN, SIGNER, PEER, FOURTH};
	static const int only_fifth[] = {FIFTH};
	static const int without_peer[] = {OWN, SIGNER, FOURTH};
	struct proto_roster *r2 = make_roster(2, without_fifth, 4);
	struct proto_roster *r3 = make_roster(3, without_fifth, 4);
	struct proto_roster *r4 = make_roster(4, without_peer, 3);
	const struct proto_roster *both[3] = {roster1, r2, NULL};
	struct proto_retired e = {.not_after_ms = NOW, .has_successor = true};
	struct policy_config cfg;
	struct policy_admit_ctx ctx;
	struct proto_report r, out;
	struct rcpt rc;
	uint8_t *buf;
	size_t len;

	(void)state;
	memcpy(e.id, keys[FIFTH].id_pk, 32);
	memcpy(e.successor, keys[OWN].id_pk, 32);
	assert_int_equal(proto_roster_retire(r2, &e), 0);
	cfg_init(&cfg);
	rcpt_set(&rc, only_fifth, 1);
	report_init(&r, AMBER, &rc);
	buf = sign_attributed(&r, SIGNER, &len);
	ctx_init(&ctx, POLICY_ARRIVAL_DIRECT, SIGNER, both);
	ctx.newest = roster1;
	assert_int_equal(policy_admit_check(&cfg, &ctx, buf, len, &out),
			 POLICY_REJECT_NOT_RECIPIENT);
	ctx.newest = r2;
	assert_int_equal(policy_admit_check(&cfg, &ctx, buf, len, &out), POLICY_ACCEPT);
	ctx.newest = NULL;
	assert_int_equal(policy_admit_check(&cfg, &ctx, buf, len, &out),
			 POLICY_REJECT_NOT_RECIPIENT);
	free(buf);

	assert_ptr_equal(policy_egress_named_recipient(&out, r2, keys[OWN].id_pk),
			 out.recipients[0]);
	assert_ptr_equal(policy_egress_named_recipient(&out, NULL, keys[FIFTH].id_pk),
			 out.recipients[0]);
	assert_null(policy_egress_named_recipient(&out, NULL, keys[OWN].id_pk));
	assert_null(policy_egress_named_recipient(&out, roster1, keys[OWN].id_pk));
	assert_null(policy_egress_named_recipient(&out, r2, keys[PEER].id_pk));

	/*
	 * The origin side: a report FIFTH signed for PEER before it replaced its keys by OWN's.
	 * OWN is its origin for egress, and PEER admits the DIRECT copy from OWN; judged by
	 * epoch 1 neither holds.
	 */
	{
		static const int only_peer[] = {PEER};
		struct proto_report src, got;
		struct rcpt rp;

		rcpt_set(&rp, only_peer, 1);
		report_init(&src, AMBER, &rp);
		buf = sign_attributed(&src, FIFTH, &len);
		assert_int_equal(proto_report_decode(&got, buf, len), 0);
		assert_int_equal(policy_egress_check_report_in(&cfg, r2, POLICY_PATH_DIRECT, &got,
							       keys[PEER].id_pk),
				 POLICY_EGRESS_UNCHANGED);
		assert_int_equal(policy_egress_check_report_in(&cfg, roster1, POLICY_PATH_DIRECT,
							       &got, keys[PEER].id_pk),
				 POLICY_EGRESS_DENY);
		assert_true(policy_egress_answers_for(r2, keys[OWN].id_pk, keys[FIFTH].id_pk));
		assert_false(policy_egress_answers_for(NULL, keys[OWN].id_pk, keys[FIFTH].id_pk));
		memcpy(cfg.own_id, keys[PEER].id_pk, 32);
		ctx_init(&ctx, POLICY_ARRIVAL_DIRECT, OWN, both);
		ctx.newest = r2;
		assert_int_equal(policy_admit_check(&cfg, &ctx, buf, len, &out), POLICY_ACCEPT);
		ctx.newest = roster1;
		assert_int_equal(policy_admit_check(&cfg, &ctx, buf, len, &out),
				 POLICY_REJECT_RELAYED);
		free(buf);
		/* The checks below use out as decoded from the first report: decode it again. */
		cfg_init(&cfg);
	}
	report_init(&r, AMBER, &rc);
	buf = sign_attributed(&r, SIGNER, &len);
	ctx_init(&ctx, POLICY_ARRIVAL_DIRECT, SIGNER, both);
	ctx.newest = r2;
	assert_int_equal(policy_admit_check(&cfg, &ctx, buf, len, &out), POLICY_ACCEPT);
	free(buf); /* out's recipients are its own copy */
	/* Retired without a successor: it left. */
	e.has_successor = false;
	assert_int_equal(proto_roster_retire(r3, &e), 0);
	assert_null(policy_egress_named_recipient(&out, r3, keys[OWN].id_pk));
	/* The successor is no member any more either. */
	e.has_successor = true;
	memcpy(e.successor, keys[PEER].id_pk, 32);
	assert_int_equal(proto_roster_retire(r4, &e), 0);
	assert_null(policy_egress_named_recipient(&out, r4, keys[PEER].id_pk));
	proto_roster_free(r4);
	proto_roster_free(r2);
	proto_roster_free(r3);
}

/* signed_here skips only the re-verification of this node's own, locally signed reports. */
static void test_signed_here(void **state)
{
	struct policy_config cfg;
	struct policy_admit_ctx ctx;
	struct proto_report r, out;
	uint8_t *buf;
	size_t len;

	(void)state;
	cfg_init(&cfg);
	report_init(&r, CLEAR, NULL);
	buf = sign_attributed(&r, OWN, &len);
	buf[len - 1] ^= 1; /* break the signature */
	ctx_init(&ctx, POLICY_ARRIVAL_LOCAL, -1, only_roster1);
	assert_int_equal(policy_admit_check(&cfg, &ctx, buf, len, &out),
			 POLICY_REJECT_BAD_SIGNATURE);
	ctx.signed_here = true;
	assert_int_equal(policy_admit_check(&cfg, &ctx, buf, len, &out), POLICY_ACCEPT);
	/* From a link the flag means nothing. */
	ctx_init(&ctx, POLICY_ARRIVAL_GOSSIP, PEER, only_roster1);
	ctx.signed_here = true;
	assert_int_equal(policy_admit_check(&cfg, &ctx, buf, len, &out),
			 POLICY_REJECT_BAD_SIGNATURE);
	free(buf);

	/* Nor for a local report signed by someone else (it is refused as not ours first). */
	report_init(&r, CLEAR, NULL);
	buf = sign_attributed(&r, SIGNER, &len);
	ctx_init(&ctx, POLICY_ARRIVAL_LOCAL, -1, only_roster1);
	ctx.signed_here = true;
	assert_int_equal(policy_admit_check(&cfg, &ctx, buf, len, &out), POLICY_REJECT_NOT_OWN);
	free(buf);
}

static void test_not_member(void **state)
{
	struct policy_config cfg;
	struct proto_report r;
	uint8_t pk[32], sk[64], *buf = NULL;
	size_t len;

	(void)state;
	cfg_init(&cfg);
	proto_crypto_raw_ed25519_keypair(pk, sk);
	report_init(&r, CLEAR, NULL);
	r.prov = PROTO_PROV_ATTRIBUTED;
	memcpy(r.signer, pk, 32);
	assert_int_equal(proto_report_sign(&r, sk, &buf, &len), 0);
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_GOSSIP, PEER, only_roster1),
			 POLICY_REJECT_NOT_MEMBER);
	free(buf);
	proto_wipe(sk, sizeof(sk));
}

static void test_bad_signatures(void **state)
{
	struct policy_config cfg;
	struct proto_report r;
	uint8_t *buf, *body = NULL, *sig_body;
	uint8_t sig[64];
	size_t len, body_len, dlen = strlen(PROTO_REPORT_DOMAIN);

	(void)state;
	cfg_init(&cfg);

	/* Attributed: last signature byte flipped. */
	report_init(&r, CLEAR, NULL);
	buf = sign_attributed(&r, SIGNER, &len);
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_GOSSIP, PEER, only_roster1),
			 POLICY_ACCEPT);
	buf[len - 1] ^= 0x01;
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_GOSSIP, PEER, only_roster1),
			 POLICY_REJECT_BAD_SIGNATURE);
	free(buf);

	/* Attributed to PEER but signed by SIGNER: a forged attribution. */
	report_init(&r, CLEAR, NULL);
	r.prov = PROTO_PROV_ATTRIBUTED;
	memcpy(r.signer, keys[PEER].id_pk, 32);
	assert_int_equal(proto_report_encode_body(&r, &body, &body_len), 0);
	sig_body = malloc(dlen + body_len);
	assert_non_null(sig_body);
	memcpy(sig_body, PROTO_REPORT_DOMAIN, dlen);
	memcpy(sig_body + dlen, body, body_len);
	proto_crypto_raw_ed25519_sign(sig, sig_body, dlen + body_len, keys[SIGNER].id_sk);
	buf = assemble_raw(body, body_len, sig, sizeof(sig), &len);
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_GOSSIP, PEER, only_roster1),
			 POLICY_REJECT_BAD_SIGNATURE);
	free(buf);
	/* The same bytes signed by PEER pass: the forgery above failed only on the key. */
	proto_crypto_raw_ed25519_sign(sig, sig_body, dlen + body_len, keys[PEER].id_sk);
	buf = assemble_raw(body, body_len, sig, sizeof(sig), &len);
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_GOSSIP, PEER, only_roster1),
			 POLICY_ACCEPT);
	free(buf);
	free(sig_body);
	free(body);

	/* Anonymous: a flipped scalar byte. */
	report_init(&r, GREEN, NULL);
	buf = sign_anonymous(&r, SIGNER, roster1, &len);
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_GOSSIP, PEER, only_roster1),
			 POLICY_ACCEPT);
	buf[len - 5] ^= 0x01;
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_GOSSIP, PEER, only_roster1),
			 POLICY_REJECT_BAD_SIGNATURE);
	free(buf);
}

/* The tag in the body must be the signature's: else one member could count twice. */
static void test_ring_tag_mismatch(void **state)
{
	struct policy_config cfg;
	struct proto_report r;
	uint8_t *body = NULL, *sig, *buf, real_tag[32], ind_id[32];
	size_t body_len, sig_len, len;

	(void)state;
	cfg_init(&cfg);
	report_init(&r, CLEAR, NULL);
	r.prov = PROTO_PROV_ANONYMOUS;
	proto_report_indicator_id(&r, ind_id);
	assert_int_equal(proto_ring_tag(real_tag, keys[SIGNER].ring_sk, ind_id), 0);
	/* The tag of another member's key in the body, the signer's I in the signature. */
	assert_int_equal(proto_ring_tag(r.link_tag, keys[FOURTH].ring_sk, ind_id), 0);
	assert_int_equal(proto_report_encode_body(&r, &body, &body_len), 0);
	sig = ring_sign_body(body, body_len, &r, SIGNER, roster1, NULL, N_MEMBERS, &sig_len);
	assert_memory_equal(sig, real_tag, 32);
	buf = assemble_raw(body, body_len, sig, sig_len, &len);
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_GOSSIP, PEER, only_roster1),
			 POLICY_REJECT_BAD_SIGNATURE);
	free(buf);
	free(sig);
	free(body);
}

static void set_tag(struct proto_report *r, int role)
{
	uint8_t ind_id[32];

	proto_report_indicator_id(r, ind_id);
	assert_int_equal(proto_ring_tag(r->link_tag, keys[role].ring_sk, ind_id), 0);
}

static int cmp_u16(const void *a, const void *b)
{
	uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;

	return x < y ? -1 : x > y;
}

static void test_rings(void **state)
{
	struct policy_config cfg;
	struct proto_report r;
	uint8_t *buf, *body = NULL, *sig;
	size_t len, body_len, sig_len;
	uint16_t four[4];
	int s = roster_index(roster1, SIGNER);

	(void)state;
	cfg_init(&cfg);

	/* Whole roster (5 keys) against min_ring_size 5 and 6. */
	report_init(&r, CLEAR, NULL);
	buf = sign_anonymous(&r, SIGNER, roster1, &len);
	roster1->settings.min_ring_size = 5;
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_GOSSIP, PEER, only_roster1),
			 POLICY_ACCEPT);
	roster1->settings.min_ring_size = 6;
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_GOSSIP, PEER, only_roster1),
			 POLICY_REJECT_RING_TOO_SMALL);
	roster1->settings.min_ring_size = 4;
	free(buf);

	/* An explicit ring of 3 including the signer: below the default minimum of 4. */
	report_init(&r, CLEAR, NULL);
	r.ring_n = 3;
	for (size_t i = 0; i < 3; i++)
		r.ring[i] = (uint16_t)((s + i) % N_MEMBERS);
	qsort(r.ring, 3, sizeof(r.ring[0]), cmp_u16);
	buf = sign_anonymous(&r, SIGNER, roster1, &len);
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_GOSSIP, PEER, only_roster1),
			 POLICY_REJECT_RING_TOO_SMALL);
	roster1->settings.min_ring_size = 3;
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_GOSSIP, PEER, only_roster1),
			 POLICY_ACCEPT);
	roster1->settings.min_ring_size = 4;
	free(buf);

	/* A ring index past the roster's end. */
	report_init(&r, CLEAR, NULL);
	r.prov = PROTO_PROV_ANONYMOUS;
	r.ring_n = 4;
	r.ring[0] = 0;
	r.ring[1] = 1;
	r.ring[2] = 2;
	r.ring[3] = 7;
	set_tag(&r, SIGNER);
	assert_int_equal(proto_report_encode_body(&r, &body, &body_len), 0);
	for (size_t i = 0; i < 4; i++)
		four[i] = (uint16_t)((s + i) % N_MEMBERS);
	qsort(four, 4, sizeof(four[0]), cmp_u16);
	sig = ring_sign_body(body, body_len, &r, SIGNER, roster1, four, 4, &sig_len);
	buf = assemble_raw(body, body_len, sig, sig_len, &len);
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_GOSSIP, PEER, only_roster1),
			 POLICY_REJECT_RING_MEMBER);
	free(buf);
	free(sig);
	free(body);
	body = NULL;

	/* No ring named (the whole roster, 5 keys) but a signature over 4 keys. */
	report_init(&r, CLEAR, NULL);
	r.prov = PROTO_PROV_ANONYMOUS;
	set_tag(&r, SIGNER);
	assert_int_equal(proto_report_encode_body(&r, &body, &body_len), 0);
	sig = ring_sign_body(body, body_len, &r, SIGNER, roster1, four, 4, &sig_len);
	buf = assemble_raw(body, body_len, sig, sig_len, &len);
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_GOSSIP, PEER, only_roster1),
			 POLICY_REJECT_BAD_SIGNATURE);
	free(buf);
	free(sig);
	free(body);
}

static void test_require_anonymous(void **state)
{
	static const int named_rcpt[] = {OWN, PEER};
	struct policy_config cfg;
	struct proto_report r;
	struct rcpt rc;
	uint8_t *buf;
	size_t len;

	(void)state;
	cfg_init(&cfg);
	roster1->settings.require_anonymous = true;

	report_init(&r, GREEN, NULL);
	buf = sign_attributed(&r, SIGNER, &len);
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_GOSSIP, PEER, only_roster1),
			 POLICY_REJECT_ATTRIBUTED);
	free(buf);

	report_init(&r, CLEAR, NULL);
	buf = sign_attributed(&r, OWN, &len);
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_LOCAL, -1, only_roster1),
			 POLICY_REJECT_ATTRIBUTED);
	free(buf);

	report_init(&r, GREEN, NULL);
	buf = sign_anonymous(&r, SIGNER, roster1, &len);
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_GOSSIP, PEER, only_roster1),
			 POLICY_ACCEPT);
	free(buf);

	/* AMBER can only be attributed; the setting does not forbid it. */
	rcpt_set(&rc, named_rcpt, 2);
	report_init(&r, AMBER, &rc);
	buf = sign_attributed(&r, SIGNER, &len);
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_DIRECT, SIGNER, only_roster1),
			 POLICY_ACCEPT);
	free(buf);
	roster1->settings.require_anonymous = false;
}

/* Hand-made bodies with the TLP missing or out of range: fail closed, with its own reason. */
static void test_tlp_missing(void **state)
{
	static const char value[] = "evil.example";
	struct policy_config cfg;
	struct proto_report r;
	uint8_t *body = NULL, *buf, *p;
	size_t body_len, len, off;

	(void)state;
	cfg_init(&cfg);
	report_init(&r, CLEAR, NULL);
	r.prov = PROTO_PROV_ATTRIBUTED;
	memcpy(r.signer, keys[SIGNER].id_pk, 32);
	assert_int_equal(proto_report_encode_body(&r, &body, &body_len), 0);
	p = memmem(body, body_len, value, sizeof(value) - 1);
	assert_non_null(p);
	off = (size_t)(p - body) + sizeof(value) - 1;
	assert_int_equal(body[off], 0x05); /* key 5: tlp */
	assert_int_equal(body[off + 1], PROTO_TLP_CLEAR);

	body[off + 1] = 6; /* unknown TLP */
	buf = assemble_raw(body, body_len, (const uint8_t[64]){0}, 64, &len);
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_GOSSIP, PEER, only_roster1),
			 POLICY_REJECT_TLP);
	free(buf);
	body[off + 1] = 0;
	buf = assemble_raw(body, body_len, (const uint8_t[64]){0}, 64, &len);
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_GOSSIP, PEER, only_roster1),
			 POLICY_REJECT_TLP);
	free(buf);

	/* Remove the pair and shrink the fixmap count. */
	assert_int_equal(body[0] & 0xf0, 0x80);
	body[0]--;
	memmove(body + off, body + off + 2, body_len - off - 2);
	body_len -= 2;
	buf = assemble_raw(body, body_len, (const uint8_t[64]){0}, 64, &len);
	assert_int_equal(admit(&cfg, buf, len, POLICY_ARRIVAL_GOSSIP, PEER, only_roster1),
			 POLICY_REJECT_TLP);
	free(buf);
	free(body);

	/* A decoded view with no TLP. */
	{
		struct policy_admit_ctx ctx;

		report_init(&r, 0, NULL);
		ctx_init(&ctx, POLICY_ARRIVAL_GOSSIP, PEER, only_roster1);
		assert_int_equal(policy_admit_check_report(&cfg, &ctx, &r), POLICY_REJECT_TLP);
		r.tlp = 6;
		assert_int_equal(policy_admit_check_report(&cfg, &ctx, &r), POLICY_REJECT_TLP);
		r.tlp = CLEAR;
		r.prov = 2;
		assert_int_equal(policy_admit_check_report(&cfg, &ctx, &r),
				 POLICY_REJECT_PROVENANCE);
	}
}

static void test_encoding(void **state)
{
	static const uint8_t junk[] = {0x92, 0xc4, 0x01, 0x00, 0xc4, 0x00};
	struct policy_config cfg;
	struct proto_report r;
	uint8_t *buf, *longer;
	size_t len;

	(void)state;
	cfg_init(&cfg);
	assert_int_equal(admit(&cfg, junk, sizeof(junk), POLICY_ARRIVAL_GOSSIP, PEER, only_roster1),
			 POLICY_REJECT_ENCODING);
	assert_int_equal(admit(&cfg, junk, 0, POLICY_ARRIVAL_GOSSIP, PEER, only_roster1),
			 POLICY_REJECT_ENCODING);

	report_init(&r, CLEAR, NULL);
	buf = sign_attributed(&r, SIGNER, &len);
	assert_int_equal(admit(&cfg, buf, len - 1, POLICY_ARRIVAL_GOSSIP, PEER, only_roster1),
			 POLICY_REJECT_ENCODING);
	longer = malloc(len + 1);
	assert_non_null(longer);
	memcpy(longer, buf, len);
	longer[len] = 0;
	assert_int_equal(admit(&cfg, longer, len + 1, POLICY_ARRIVAL_GOSSIP, PEER, only_roster1),
			 POLICY_REJECT_ENCODING);
	free(longer);
	free(buf);
}

static void test_arrival_and_callback(void **state)
{
	struct policy_config cfg;
	struct policy_admit_ctx ctx;
	struct proto_report r, out;
	uint8_t *buf;
	size_t len;

	(void)state;
	cfg_init(&cfg);
	report_init(&r, CLEAR, NULL);
	buf = sign_attributed(&r, SIGNER, &len);
	assert_int_equal(admit(&cfg, buf, len, 0, PEER, only_roster1), POLICY_REJECT_ARRIVAL);
	assert_int_equal(admit(&cfg, buf, len, 4, PEER, only_roster1), POLICY_REJECT_ARRIVAL);
	ctx_init(&ctx, POLICY_ARRIVAL_GOSSIP, PEER, only_roster1);
	ctx.roster_for_epoch = NULL;
	assert_int_equal(policy_admit_check(&cfg, &ctx, buf, len, &out), POLICY_REJECT_INTERNAL);
	free(buf);
}

static void test_reason_names(void **state)
{
	(void)state;
	assert_int_equal(POLICY_ACCEPT, 0);
	for (int i = 0; i < POLICY_REASON_COUNT; i++) {
		const char *name = policy_admit_reason_name(i);

		assert_string_not_equal(name, "unknown");
		assert_string_not_equal(policy_admit_reason_text(i), "unknown");
		for (int k = 0; k < i; k++)
			assert_string_not_equal(name, policy_admit_reason_name(k));
	}
	assert_string_equal(policy_admit_reason_name(-1), "unknown");
	assert_string_equal(policy_admit_reason_name(POLICY_REASON_COUNT), "unknown");
	assert_string_equal(policy_admit_reason_text(POLICY_REASON_COUNT), "unknown");
	assert_string_equal(policy_admit_reason_name(POLICY_REJECT_BAD_SIGNATURE), "bad_signature");
	assert_string_equal(policy_admit_reason_text(POLICY_REJECT_BAD_SIGNATURE),
			    "signature does not verify");
	assert_string_equal(policy_admit_reason_name(POLICY_REJECT_TLP), "tlp");
	assert_string_equal(policy_admit_reason_name(POLICY_REJECT_UNKNOWN_EPOCH), "unknown_epoch");
	/* Stable numbers: they appear in counters and API responses. */
	assert_int_equal(POLICY_REJECT_BAD_SIGNATURE, 17);
	assert_int_equal(POLICY_REJECT_EXPELLED, 19);
	assert_int_equal(POLICY_REJECT_RATE_LIMITED, 20);
	assert_int_equal(POLICY_REJECT_REVOKED, 21);
	assert_int_equal(POLICY_REJECT_ROTATED, 22);
	assert_int_equal(POLICY_REASON_COUNT, 23);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_anonymous_restricted_view),
		cmocka_unit_test(test_community),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_epochs),
		cmocka_unit_test(test_expelled),
		cmocka_unit_test(test_revoked),
		cmocka_unit_test(test_retired_no_successor),
		cmocka_unit_test(test_rotated_recipient),
		cmocka_unit_test(test_signed_here),
		cmocka_unit_test(test_not_member),
		cmocka_unit_test(test_bad_signatures),
		cmocka_unit_test(test_ring_tag_mismatch),
		cmocka_unit_test(test_rings),
		cmocka_unit_test(test_require_anonymous),
		cmocka_unit_test(test_tlp_missing),
		cmocka_unit_test(test_encoding),
		cmocka_unit_test(test_arrival_and_callback),
		cmocka_unit_test(test_reason_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
