/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness: admission of inbound reports (policy/admit.h) against a fixed five-member
 * roster whose keys derive from fixed seeds (seed i = {i, 0, ..., 0}, i = 1..5; this node is
 * member 1), at a fixed clock.
 *
 * Input: arrival byte (value % 4: 0 is not a valid arrival), peer byte (% 5: the link
 * peer's member), settings byte (bit 0 require_anonymous, bits 1-3 min_ring_size, bit 4 a
 * one-hour maximum report age), then the signed report bytes.
 * The harness aborts when an accepted report breaks a rule admission promises: right
 * community, known TLP, created within the skew, signer a roster member (attributed), AMBER and
 * RED only attributed and only our own local report or direct from the signer naming us;
 * when egress lets an AMBER/RED report onto gossip or a non-CLEAR one onto the public feed; or
 * when a reason code is outside the enum. The seed corpus holds valid reports made with the
 * same keys, so the fuzzer starts from inputs that pass every check.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/admit.h"
#include "policy/egress.h"
#include "policy/strip.h"
#include "proto/crypto.h"
#include "proto/keys.h"
#include "proto/roster.h"

#define NOW 1700000000000ull
#define N_MEMBERS 5

static struct proto_keys keys[N_MEMBERS];
static struct proto_roster *roster;
static struct policy_redactor *redactor;
static struct policy_config cfg;

static const struct proto_roster *lookup(void *ctx, uint64_t epoch)
{
	(void)ctx;
	return epoch == roster->epoch ? roster : NULL;
}

static void init(void)
{
	const struct proto_roster *rs[1];

	if (proto_crypto_init() != 0)
		abort();
	roster = proto_roster_new();
	if (!roster)
		abort();
	memset(roster->community, 0xC0, 32);
	roster->epoch = 1;
	for (int i = 0; i < N_MEMBERS; i++) {
		uint8_t seed[32] = {(uint8_t)(i + 1)};
		static const char *const names[N_MEMBERS] = {
			"Home CERT", "Acme CSIRT", "Globex SOC", "Initech CERT", "Umbrella CSIRT"};
		struct proto_member m;

		if (proto_keys_from_seed(&keys[i], seed) != 0)
			abort();
		memset(&m, 0, sizeof(m));
		memcpy(m.id, keys[i].id_pk, 32);
		memcpy(m.transport_pk, keys[i].tx_pk, 32);
		memcpy(m.ring_pk, keys[i].ring_pk, 32);
		m.name = (char *)names[i];
		if (proto_roster_add_member(roster, &m) != 0)
			abort();
	}
	rs[0] = roster;
	redactor = policy_redact_new(rs, 1);
	if (!redactor)
		abort();
	policy_config_init(&cfg);
	memcpy(cfg.own_id, keys[0].id_pk, 32);
	memset(cfg.community, 0xC0, 32);
}

static bool names_us(const struct proto_report *r)
{
	for (size_t i = 0; i < r->n_recipients; i++)
		if (memcmp(r->recipients[i], cfg.own_id, 32) == 0)
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct proto_report r;
	static struct policy_report_view view;
	struct policy_admit_ctx ctx;
	enum policy_reason reason;
	uint8_t settings;

	if (!roster)
		init();
	if (size < 3)
		return 0;
	memset(&ctx, 0, sizeof(ctx));
	ctx.now_ms = NOW;
	ctx.arrival = data[0] % 4;
	memcpy(ctx.peer, keys[data[1] % N_MEMBERS].id_pk, 32);
	ctx.roster_for_epoch = lookup;
	settings = data[2];
	roster->settings.require_anonymous = settings & 1;
	roster->settings.min_ring_size = (settings >> 1) & 7;
	roster->settings.max_report_age_ms = (settings & 0x10) ? 3600000 : 0;

	reason = policy_admit_check(&cfg, &ctx, data + 3, size - 3, &r);
	if ((int)reason < 0 || reason >= POLICY_REASON_COUNT)
		abort();
	if (reason != POLICY_ACCEPT)
		return 0;

	if (memcmp(r.community, cfg.community, 32) != 0 || r.tlp < PROTO_TLP_CLEAR ||
	    r.tlp > PROTO_TLP_RED || r.created_ms > NOW + cfg.max_skew_ms)
		abort();
	if (ctx.arrival < POLICY_ARRIVAL_LOCAL || ctx.arrival > POLICY_ARRIVAL_GOSSIP)
		abort();
	if ((settings & 0x10) && r.created_ms + 3600000 < NOW)
		abort();
	if (r.prov == PROTO_PROV_ATTRIBUTED) {
		if (proto_roster_find_member(roster, r.signer) < 0)
			abort();
		if (ctx.arrival == POLICY_ARRIVAL_LOCAL && memcmp(r.signer, cfg.own_id, 32) != 0)
			abort();
		if ((settings & 1) && r.tlp <= PROTO_TLP_GREEN)
			abort();
	} else {
		size_t n = r.ring_n ? r.ring_n : roster->n_members;

		if (r.tlp > PROTO_TLP_GREEN || n < roster->settings.min_ring_size)
			abort();
	}
	if (r.tlp >= PROTO_TLP_AMBER && ctx.arrival != POLICY_ARRIVAL_LOCAL &&
	    (ctx.arrival != POLICY_ARRIVAL_DIRECT || memcmp(ctx.peer, r.signer, 32) != 0 ||
	     !names_us(&r)))
		abort();

	if (r.tlp >= PROTO_TLP_AMBER && policy_egress_check_report(&cfg, POLICY_PATH_GOSSIP, &r,
								   ctx.peer) != POLICY_EGRESS_DENY)
		abort();
	if (r.tlp != PROTO_TLP_CLEAR && policy_egress_check_report(&cfg, POLICY_PATH_PUBLIC_FEED,
								   &r, NULL) != POLICY_EGRESS_DENY)
		abort();
	if (policy_strip_report(&view, &cfg, redactor, &r, NULL) == 0 && view.tlp != r.tlp)
		abort();
	return 0;
}
