/* SPDX-License-Identifier: MIT */
/*
 * The egress table is written as explicit switch arms rather than a lookup array so that
 * every (path, TLP) pair that is not spelled out falls to the final `return DENY`: a new
 * path or TLP added to an enum is denied until someone writes its rule here.
 */
#include "policy/egress.h"

#include <string.h>

#include "proto/roster.h"

static bool tlp_known(int tlp)
{
	return tlp >= PROTO_TLP_CLEAR && tlp <= PROTO_TLP_RED;
}

enum policy_egress policy_egress_check(const struct policy_config *cfg, int path, int tlp,
				       bool is_origin, bool to_recipient)
{
	if (!tlp_known(tlp))
		return POLICY_EGRESS_DENY;

	switch (path) {
	case POLICY_PATH_GOSSIP:
		if (tlp == PROTO_TLP_CLEAR || tlp == PROTO_TLP_GREEN)
			return POLICY_EGRESS_UNCHANGED;
		return POLICY_EGRESS_DENY;

	case POLICY_PATH_DIRECT:
		if (tlp == PROTO_TLP_AMBER || tlp == PROTO_TLP_AMBER_STRICT ||
		    tlp == PROTO_TLP_RED) {
			if (is_origin && to_recipient)
				return POLICY_EGRESS_UNCHANGED;
		}
		return POLICY_EGRESS_DENY;

	case POLICY_PATH_SIEM_EXPORT:
		if (tlp == PROTO_TLP_RED)
			return cfg->export_red ? POLICY_EGRESS_STRIPPED : POLICY_EGRESS_DENY;
		return POLICY_EGRESS_STRIPPED;

	case POLICY_PATH_PUBLIC_FEED:
		if (tlp == PROTO_TLP_CLEAR)
			return POLICY_EGRESS_STRIPPED;
		return POLICY_EGRESS_DENY;

	case POLICY_PATH_LOCAL_OUTPUT:
		return cfg->show_attribution ? POLICY_EGRESS_UNCHANGED : POLICY_EGRESS_STRIPPED;
	}
	return POLICY_EGRESS_DENY;
}

enum policy_egress policy_egress_check_report(const struct policy_config *cfg, int path,
					      const struct proto_report *r, const uint8_t *target)
{
	return policy_egress_check_report_in(cfg, NULL, path, r, target);
}

enum policy_egress policy_egress_check_report_in(const struct policy_config *cfg,
						 const struct proto_roster *newest, int path,
						 const struct proto_report *r,
						 const uint8_t *target)
{
	bool origin = r->prov == PROTO_PROV_ATTRIBUTED &&
		      policy_egress_answers_for(newest, cfg->own_id, r->signer);
	bool recipient = target && policy_egress_named_recipient(r, newest, target);

	return policy_egress_check(cfg, path, r->tlp, origin, recipient);
}

bool policy_egress_answers_for(const struct proto_roster *newest, const uint8_t member[32],
			       const uint8_t id[32])
{
	const uint8_t *now;

	if (memcmp(member, id, 32) == 0)
		return true;
	now = newest ? proto_roster_current_id(newest, id) : NULL;
	return now && memcmp(now, member, 32) == 0;
}

const uint8_t *policy_egress_named_recipient(const struct proto_report *r,
					     const struct proto_roster *newest,
					     const uint8_t id[32])
{
	for (size_t i = 0; i < r->n_recipients; i++)
		if (memcmp(r->recipients[i], id, 32) == 0)
			return r->recipients[i];
	for (size_t i = 0; newest && i < r->n_recipients; i++)
		if (policy_egress_answers_for(newest, id, r->recipients[i]))
			return r->recipients[i];
	return NULL;
}

enum policy_egress policy_egress_check_summary(const struct policy_config *cfg, int path,
					       const struct proto_summary *s)
{
	if (path != POLICY_PATH_SIEM_EXPORT && path != POLICY_PATH_PUBLIC_FEED &&
	    path != POLICY_PATH_LOCAL_OUTPUT)
		return POLICY_EGRESS_DENY;
	/* A summary names no member, so it is never "unchanged" data: always the view. */
	if (policy_egress_check(cfg, path, s->tlp, false, false) == POLICY_EGRESS_DENY)
		return POLICY_EGRESS_DENY;
	return POLICY_EGRESS_STRIPPED;
}

bool policy_egress_attribution_visible(const struct policy_config *cfg,
				       const struct proto_report *r)
{
	if (cfg->show_attribution)
		return true;
	return r->prov == PROTO_PROV_ATTRIBUTED && memcmp(r->signer, cfg->own_id, 32) == 0;
}

const char *policy_path_name(int path)
{
	switch (path) {
	case POLICY_PATH_GOSSIP:
		return "gossip";
	case POLICY_PATH_DIRECT:
		return "direct";
	case POLICY_PATH_SIEM_EXPORT:
		return "siem_export";
	case POLICY_PATH_PUBLIC_FEED:
		return "public_feed";
	case POLICY_PATH_LOCAL_OUTPUT:
		return "local_output";
	}
	return NULL;
}

const char *policy_egress_name(int verdict)
{
	switch (verdict) {
	case POLICY_EGRESS_DENY:
		return "deny";
	case POLICY_EGRESS_UNCHANGED:
		return "unchanged";
	case POLICY_EGRESS_STRIPPED:
		return "stripped";
	}
	return NULL;
}
