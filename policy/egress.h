/* SPDX-License-Identifier: MIT */
/*
 * policy/egress.h — TLP rules for every output path (DESIGN.md §6). Default deny.
 *
 * Every place where a report or an indicator leaves the node's store asks here first: the
 * gossip engine before pushing to a member link, the outbox before a direct delivery, the
 * SIEM export writer, the public CLEAR feed writer and the local CLI/API. The answer says
 * whether anything may go and in which form:
 *
 *   POLICY_EGRESS_DENY       nothing may go.
 *   POLICY_EGRESS_UNCHANGED  the signed report may go as it is (inside the community, where
 *                            signatures must stay valid; or local output with
 *                            show_attribution enabled).
 *   POLICY_EGRESS_STRIPPED   only the Chatham House view (policy/strip.h) may go; it always
 *                            carries the TLP, which is the marking AMBER/AMBER+STRICT exports
 *                            require.
 *
 * The table (origin = this node signed the report; recipient = the link peer is named in the
 * report's recipients):
 *
 *   TLP           gossip  direct                      SIEM export        public  local
 *   CLEAR         yes     no                          stripped           stripped  (1)
 *   GREEN         yes     no                          stripped           no        (1)
 *   AMBER         no      origin -> recipient only    stripped (marked)  no        (1)
 *   AMBER+STRICT  no      origin -> recipient only    stripped (marked)  no        (1)
 *   RED           no      origin -> recipient only    stripped if        no        (1)
 *                                                     export_red
 *   (1) stripped, or unchanged when show_attribution is on.
 *
 * CLEAR and GREEN travel on the gossip path (eager push, lazy IHAVE, reconciliation, Dandelion
 * stem: every member link); the direct path is the AMBER/RED outbox, so CLEAR/GREEN on it is
 * denied. No rule lets a non-origin forward AMBER/RED anywhere inside the community: a
 * recipient stores them and exports only the stripped view to its own SIEM.
 *
 * Unknown paths, TLP values of 0 (absent) or above RED are denied. All functions are pure and
 * thread-safe; every pointer is borrowed.
 */
#ifndef CHATHAM_POLICY_EGRESS_H
#define CHATHAM_POLICY_EGRESS_H

#include <stdbool.h>
#include <stdint.h>

#include "policy/config.h"
#include "proto/report.h"
#include "proto/roster.h"
#include "proto/summary.h"

enum policy_path {
	POLICY_PATH_GOSSIP = 1,	      /* push/IHAVE/reconcile/stem to a member link */
	POLICY_PATH_DIRECT = 2,	      /* direct delivery to one member (AMBER/RED outbox) */
	POLICY_PATH_SIEM_EXPORT = 3,  /* the export environment the local SIEM reads */
	POLICY_PATH_PUBLIC_FEED = 4,  /* the public CLEAR feed */
	POLICY_PATH_LOCAL_OUTPUT = 5, /* local CLI and API responses (and logs) */
};

enum policy_egress {
	POLICY_EGRESS_DENY = 0,
	POLICY_EGRESS_UNCHANGED = 1,
	POLICY_EGRESS_STRIPPED = 2,
};

/*
 * policy_egress_check() - the table above for one report.
 * @cfg:          node config (export_red, show_attribution).
 * @path:         enum policy_path.
 * @tlp:          the report's TLP (enum proto_tlp).
 * @is_origin:    this node signed the report (only an origin may deliver AMBER/RED).
 * @to_recipient: DIRECT only: the target member is named in the report's recipients.
 */
enum policy_egress policy_egress_check(const struct policy_config *cfg, int path, int tlp,
				       bool is_origin, bool to_recipient);

/*
 * policy_egress_check_report() - policy_egress_check() for a decoded report @r, with
 * is_origin = (@r is attributed and its signer is cfg->own_id) and to_recipient = (@target,
 * the member id of the link peer, may be NULL for paths without one, is in r->recipients).
 * An anonymous report is never "origin" here: only attributed AMBER/RED exist, and anonymous
 * CLEAR/GREEN do not depend on it.
 */
enum policy_egress policy_egress_check_report(const struct policy_config *cfg, int path,
					      const struct proto_report *r, const uint8_t *target);

/*
 * policy_egress_check_report_in() - policy_egress_check_report() judged against the newest
 * roster @newest (borrowed, may be NULL: the same as policy_egress_check_report()): this node
 * is the origin also of a report signed by an id it succeeds (policy_egress_answers_for(): it
 * replaced its keys after signing), and @target is a recipient also when it succeeds a named
 * one (policy_egress_named_recipient()).
 */
enum policy_egress policy_egress_check_report_in(const struct policy_config *cfg,
						 const struct proto_roster *newest, int path,
						 const struct proto_report *r,
						 const uint8_t *target);

/*
 * policy_egress_answers_for() - whether member @member speaks for @id now: @id itself, or
 * @id is retired in @newest (borrowed, may be NULL: equality only) and @member is its
 * current id (proto_roster_current_id()).
 */
bool policy_egress_answers_for(const struct proto_roster *newest, const uint8_t member[32],
			       const uint8_t id[32]);

/*
 * policy_egress_named_recipient() - the recipient named in @r that member @id answers for:
 * @id itself, or a retired id whose successor in @newest (followed through later rotations,
 * proto_roster_successor()) is @id and a member there. A member that replaced its keys
 * thereby still receives the AMBER/RED reports addressed to its old id: the sender passes the
 * result as policy_egress_check_report()'s @target, the receiver's admission accepts it
 * (policy_admit_check_report()). @newest (borrowed) may be NULL: only @id itself then.
 * Returns a pointer into @r->recipients, or NULL when @id answers for no recipient.
 */
const uint8_t *policy_egress_named_recipient(const struct proto_report *r,
					     const struct proto_roster *newest,
					     const uint8_t id[32]);

/*
 * policy_egress_check_summary() - the decision for an indicator's aggregate state @s, using
 * its strictest TLP (s->tlp). Summaries only ever leave the community stripped, so GOSSIP and
 * DIRECT are denied; the other paths follow the table with is_origin = false.
 */
enum policy_egress policy_egress_check_summary(const struct policy_config *cfg, int path,
					       const struct proto_summary *s);

/*
 * policy_egress_attribution_visible() - whether local output may name the signer of @r:
 * true when cfg->show_attribution is on or @r is attributed to cfg->own_id. Everything that
 * is not visible must be shown as "[member]" (or as the stripped view).
 */
bool policy_egress_attribution_visible(const struct policy_config *cfg,
				       const struct proto_report *r);

/* policy_path_name() - "gossip", "direct", "siem_export", "public_feed", "local_output"; NULL if unknown. */
const char *policy_path_name(int path);

/* policy_egress_name() - "deny", "unchanged", "stripped"; NULL if unknown. */
const char *policy_egress_name(int verdict);

#endif
