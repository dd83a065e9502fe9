/* SPDX-License-Identifier: MIT */
/*
 * Admission is a straight line of checks with one exit per reason, in the order admit.h
 * documents. Everything that depends only on the report's own bytes and the node's config
 * runs before the roster is consulted, and the signature (the only expensive step, a ring
 * verification costs about two scalar multiplications per ring member) runs last.
 *
 * The AMBER/RED delivery rule needs the signer's identity, which only attributed reports
 * carry; step 4 has already rejected anonymous AMBER/RED by then, so the rule never has to
 * reason about an unknown origin.
 */
#include "policy/admit.h"
#include "policy/egress.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"
#include "proto/ring.h"

static enum policy_reason check_times(const struct policy_config *cfg,
				      const struct policy_admit_ctx *ctx,
				      const struct proto_report *r, uint64_t max_age_ms)
{
	uint64_t limit = ctx->now_ms + cfg->max_skew_ms;

	if (limit < ctx->now_ms) /* saturate instead of wrapping */
		limit = UINT64_MAX;
	/*
	 * The codec refuses these already; a report handed in as a struct (not from the decoder)
	 * must not carry a time no export format can print either.
	 */
	if (r->created_ms == 0 || r->created_ms > PROTO_REPORT_TIME_MAX_MS ||
	    r->valid_until_ms > PROTO_REPORT_TIME_MAX_MS ||
	    (r->valid_until_ms != 0 && r->valid_until_ms <= r->created_ms))
		return POLICY_REJECT_ENCODING;
	if (r->created_ms > limit)
		return POLICY_REJECT_FUTURE;
	if (max_age_ms != 0 && ctx->now_ms > r->created_ms &&
	    ctx->now_ms - r->created_ms > max_age_ms)
		return POLICY_REJECT_TOO_OLD;
	return POLICY_ACCEPT;
}

static enum policy_reason check_delivery(const struct policy_config *cfg,
					 const struct policy_admit_ctx *ctx,
					 const struct proto_report *r)
{
	switch (ctx->arrival) {
	case POLICY_ARRIVAL_LOCAL:
		if (r->prov == PROTO_PROV_ATTRIBUTED && memcmp(r->signer, cfg->own_id, 32) != 0)
			return POLICY_REJECT_NOT_OWN;
		break;
	case POLICY_ARRIVAL_DIRECT:
	case POLICY_ARRIVAL_GOSSIP:
		break;
	default:
		return POLICY_REJECT_ARRIVAL;
	}
	if (r->tlp <= PROTO_TLP_GREEN)
		return POLICY_ACCEPT;
	/* AMBER, AMBER+STRICT, RED: attributed (step 4), never relayed. */
	if (ctx->arrival == POLICY_ARRIVAL_LOCAL)
		return POLICY_ACCEPT;
	/* From the signer, or from its successor (a member that replaced its keys since). */
	if (ctx->arrival != POLICY_ARRIVAL_DIRECT ||
	    !policy_egress_answers_for(ctx->newest, ctx->peer, r->signer))
		return POLICY_REJECT_RELAYED;
	/* Named, or named under an id this node's member retired with it as successor. */
	if (!policy_egress_named_recipient(r, ctx->newest, cfg->own_id))
		return POLICY_REJECT_NOT_RECIPIENT;
	return POLICY_ACCEPT;
}

static enum policy_reason verify_ring(const struct proto_report *r,
				      const struct proto_roster *roster, size_t n)
{
	uint8_t(*keys)[32] = NULL;
	uint8_t *msg = NULL;
	uint8_t ind_id[32];
	size_t dlen = strlen(PROTO_REPORT_DOMAIN);
	enum policy_reason reason = POLICY_REJECT_BAD_SIGNATURE;
	int err;

	/* A ring over more keys than a signature can carry cannot verify; don't build it. */
	if (n == 0 || n > PROTO_REPORT_RING_MAX || !r->body || !r->sig)
		return POLICY_REJECT_BAD_SIGNATURE;
	keys = malloc(n * sizeof(*keys));
	msg = malloc(dlen + r->body_len);
	if (!keys || !msg) {
		reason = POLICY_REJECT_INTERNAL;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		size_t idx = r->ring_n ? r->ring[i] : i;

		memcpy(keys[i], roster->members[idx].ring_pk, 32);
	}
	memcpy(msg, PROTO_REPORT_DOMAIN, dlen);
	memcpy(msg + dlen, r->body, r->body_len);
	proto_report_indicator_id(r, ind_id);
	err = proto_ring_verify(r->sig, r->sig_len, msg, dlen + r->body_len, r->epoch,
				(const uint8_t(*)[32])keys, n, ind_id, r->link_tag);
	if (err == 0)
		reason = POLICY_ACCEPT;
	else if (err == -ENOMEM)
		reason = POLICY_REJECT_INTERNAL;
out:
	free(keys);
	free(msg);
	return reason;
}

/*
 * Whether member @id of @roster (the report's epoch) may still speak at the report's
 * `created` time, judged by @current (the newest roster, or @roster itself): refused when
 * @id is retired there and the report was created after its not_after_ms; expelled when @id
 * is neither a member of @current nor retired there. In a ring (@ring), a key retired with
 * a successor is refused whatever the time (rotated): its member holds a newer ring key,
 * whose tag differs, so a report over the old ring, dated back before the retirement, would
 * be that member's second anonymous vote on the indicator.
 */
static enum policy_reason check_current(const struct policy_admit_ctx *ctx,
					const struct proto_roster *roster,
					const struct proto_roster *current,
					const struct proto_report *r, const uint8_t id[32],
					bool ring)
{
	const struct proto_retired *ret = proto_roster_find_retired(current, id);

	if (ret && r->created_ms > ret->not_after_ms)
		return POLICY_REJECT_REVOKED;
	if (ret)
		return ring && ret->has_successor ? POLICY_REJECT_ROTATED : POLICY_ACCEPT;
	if (ctx->newest && ctx->newest != roster && proto_roster_find_member(ctx->newest, id) < 0)
		return POLICY_REJECT_EXPELLED;
	return POLICY_ACCEPT;
}

/* Which of check_current()'s answers over a ring is named. */
static int ring_rank(enum policy_reason reason)
{
	switch (reason) {
	case POLICY_REJECT_REVOKED:
		return 3;
	case POLICY_REJECT_ROTATED:
		return 2;
	case POLICY_REJECT_EXPELLED:
		return 1;
	default:
		return 0;
	}
}

enum policy_reason policy_admit_check_report(const struct policy_config *cfg,
					     const struct policy_admit_ctx *ctx,
					     const struct proto_report *r)
{
	const struct proto_roster *roster, *settings_from;
	const struct proto_roster_settings *set;
	enum policy_reason reason;

	if (r->tlp < PROTO_TLP_CLEAR || r->tlp > PROTO_TLP_RED)
		return POLICY_REJECT_TLP;
	if (memcmp(r->community, cfg->community, 32) != 0)
		return POLICY_REJECT_COMMUNITY;
	if (r->prov != PROTO_PROV_ATTRIBUTED && r->prov != PROTO_PROV_ANONYMOUS)
		return POLICY_REJECT_PROVENANCE;
	if (r->prov == PROTO_PROV_ANONYMOUS && r->tlp > PROTO_TLP_GREEN)
		return POLICY_REJECT_ANON_RESTRICTED;

	/*
	 * The age limit is a community setting, but rejecting a far-future report must not wait
	 * for a roster lookup, so the skew check runs here and the age check after the lookup.
	 */
	reason = check_times(cfg, ctx, r, 0);
	if (reason != POLICY_ACCEPT)
		return reason;
	reason = check_delivery(cfg, ctx, r);
	if (reason != POLICY_ACCEPT)
		return reason;

	if (!ctx->roster_for_epoch)
		return POLICY_REJECT_INTERNAL;
	roster = ctx->roster_for_epoch(ctx->roster_ctx, r->epoch);
	if (!roster)
		return POLICY_REJECT_UNKNOWN_EPOCH;
	settings_from = ctx->newest ? ctx->newest : roster;
	set = &settings_from->settings;
	reason = check_times(cfg, ctx, r, set->max_report_age_ms);
	if (reason != POLICY_ACCEPT)
		return reason;

	/*
	 * A report names the epoch it was signed under, so old reports stay verifiable, but a
	 * member removed since then must not keep publishing under its old epoch: the signer
	 * (attributed) or every ring member (anonymous — the signer is one of them) must also be
	 * in the newest roster. A retired key is the exception with a date: what it signed
	 * before its not_after_ms stays admissible, what it signed after is refused.
	 */
	if (r->prov == PROTO_PROV_ATTRIBUTED) {
		if (proto_roster_find_member(roster, r->signer) < 0)
			return POLICY_REJECT_NOT_MEMBER;
		reason = check_current(ctx, roster, settings_from, r, r->signer, false);
		if (reason != POLICY_ACCEPT)
			return reason;
		if (set->require_anonymous && r->tlp <= PROTO_TLP_GREEN)
			return POLICY_REJECT_ATTRIBUTED;
		if (ctx->signed_here && ctx->arrival == POLICY_ARRIVAL_LOCAL &&
		    memcmp(r->signer, cfg->own_id, 32) == 0)
			return POLICY_ACCEPT;
		if (proto_report_verify_attributed(r, r->signer) != 0)
			return POLICY_REJECT_BAD_SIGNATURE;
		return POLICY_ACCEPT;
	}

	size_t n = r->ring_n ? r->ring_n : roster->n_members;

	for (size_t i = 0; i < r->ring_n; i++)
		if (r->ring[i] >= roster->n_members)
			return POLICY_REJECT_RING_MEMBER;
	if (n < set->min_ring_size)
		return POLICY_REJECT_RING_TOO_SMALL;
	if (settings_from != roster) {
		/* Whatever the ring order: REVOKED outranks ROTATED, which outranks EXPELLED. */
		enum policy_reason worst = POLICY_ACCEPT;

		for (size_t i = 0; i < n && worst != POLICY_REJECT_REVOKED; i++) {
			size_t idx = r->ring_n ? r->ring[i] : i;

			reason = check_current(ctx, roster, settings_from, r,
					       roster->members[idx].id, true);
			if (ring_rank(reason) > ring_rank(worst))
				worst = reason;
		}
		if (worst != POLICY_ACCEPT)
			return worst;
	}
	return verify_ring(r, roster, n);
}

enum policy_reason policy_admit_check(const struct policy_config *cfg,
				      const struct policy_admit_ctx *ctx, const uint8_t *buf,
				      size_t len, struct proto_report *r)
{
	int err = proto_report_decode(r, buf, len);

	switch (err) {
	case 0:
		break;
	case PROTO_E_REPORT_TLP:
		return POLICY_REJECT_TLP;
	case PROTO_E_REPORT_PROVENANCE:
		return POLICY_REJECT_PROVENANCE;
	case PROTO_E_REPORT_SIG: /* signature length does not fit the provenance */
		return POLICY_REJECT_BAD_SIGNATURE;
	default:
		return POLICY_REJECT_ENCODING;
	}
	return policy_admit_check_report(cfg, ctx, r);
}

static const char *const reason_names[] = {
#define POLICY_REASON_NAME(name, value, id, text) [value] = id,
	POLICY_REASONS(POLICY_REASON_NAME)
#undef POLICY_REASON_NAME
};

static const char *const reason_texts[] = {
#define POLICY_REASON_TEXT(name, value, id, text) [value] = text,
	POLICY_REASONS(POLICY_REASON_TEXT)
#undef POLICY_REASON_TEXT
};

const char *policy_admit_reason_name(int reason)
{
	if (reason < 0 || reason >= POLICY_REASON_COUNT || !reason_names[reason])
		return "unknown";
	return reason_names[reason];
}

const char *policy_admit_reason_text(int reason)
{
	if (reason < 0 || reason >= POLICY_REASON_COUNT || !reason_texts[reason])
		return "unknown";
	return reason_texts[reason];
}
