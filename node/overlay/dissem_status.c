/* SPDX-License-Identifier: MIT */
/* node/overlay/dissem_status.c — the dissemination counters as the `status` JSON object. */
#include "node/overlay/dissem_int.h"
#include "policy/admit.h"
#include "proto/gossip.h"
#include "proto/stem.h"

json_t *node_dissem_status_json(const struct node_dissem *d)
{
	struct proto_gossip_stats gs;
	const struct counters *c = &d->c;
	json_t *rej = json_object(), *links = json_array(), *o;
	size_t backlog = 0;

	proto_gossip_get_stats(d->g, &gs);
	for (int i = 1; rej && i < POLICY_REASON_COUNT; i++)
		if (c->rejected[i])
			json_object_set_new(rej, policy_admit_reason_name(i),
					    json_integer((json_int_t)c->rejected[i]));
	for (size_t i = 0; links && i < NODE_DISSEM_LINKS_MAX; i++) {
		const struct dlink *dl = &d->links[i];
		if (!dl->l)
			continue;
		backlog += dl->qn;
		json_array_append_new(links, json_pack("{s:I, s:s, s:I, s:I, s:I}", "link",
						       (json_int_t)node_link_id(dl->l), "mode",
						       proto_gossip_link_state(d->g, (uint32_t)i) ==
								       PROTO_GOSSIP_LINK_EAGER
							       ? "eager"
							       : "lazy",
						       "received", (json_int_t)dl->received,
						       "rejected", (json_int_t)dl->rejected,
						       "backlog", (json_int_t)dl->qn));
	}
	o = json_pack(
		"{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
		" s:I, s:I, s:I, s:o*, s:o*}",
		"published", (json_int_t)c->published, "received", (json_int_t)c->received,
		"duplicates", (json_int_t)c->duplicates, "forwarded", (json_int_t)c->forwarded,
		"catchup_received", (json_int_t)c->catchup_received, "pushes_received",
		(json_int_t)c->pushes_received, "push_sent", (json_int_t)gs.push_sent, "ihave_sent",
		(json_int_t)gs.ihave_sent, "graft_sent", (json_int_t)gs.graft_sent, "prune_sent",
		(json_int_t)gs.prune_sent, "backlog", (json_int_t)backlog, "inbound_dropped",
		(json_int_t)c->inbound_dropped, "backlog_dropped", (json_int_t)c->backlog_dropped,
		"egress_denied", (json_int_t)c->egress_denied, "store_errors",
		(json_int_t)c->store_errors, "links_closed_abusive", (json_int_t)c->abusive,
		"abuse_offences", (json_int_t)c->abuse_offences, "abuse_dropped",
		(json_int_t)c->abuse_dropped, "rejected", rej, "links", links);
	if (!o)
		return NULL;
	json_object_set_new(o, "sends_resumed", json_integer((json_int_t)c->sends_resumed));
	json_object_set_new(o, "abuse_charges",
			    json_pack("{s:I, s:I, s:I, s:I}", "reject",
				      (json_int_t)c->charges[CHARGE_REJECT], "failed",
				      (json_int_t)c->charges[CHARGE_FAILED], "session",
				      (json_int_t)c->charges[CHARGE_SESSION], "scan",
				      (json_int_t)c->charges[CHARGE_SCAN]));
	json_object_set_new(
		o, "recon",
		json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "sessions",
			  (json_int_t)c->sessions, "completed", (json_int_t)c->completed, "failed",
			  (json_int_t)c->failed, "bytes_sent", (json_int_t)c->recon_bytes_sent,
			  "bytes_received", (json_int_t)c->recon_bytes_recv, "fetch_sent",
			  (json_int_t)c->fetch_sent, "fetch_ids_received",
			  (json_int_t)c->fetch_ids_recv, "pushed", (json_int_t)c->catchup_pushed,
			  "fetched_ids", (json_int_t)c->fetched_ids, "work",
			  (json_int_t)c->recon_work, "asked", (json_int_t)c->catchup_asked));
	json_object_set_new(
		o, "tree",
		json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
			  " s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			  "prune_recv", (json_int_t)gs.prune_recv, "prune_formed",
			  (json_int_t)gs.prune_formed, "prune_offtree",
			  (json_int_t)gs.prune_offtree, "prune_lazy", (json_int_t)gs.prune_lazy,
			  "prune_streak", (json_int_t)gs.prune_streak, "graft_recv",
			  (json_int_t)gs.graft_recv, "graft_eager", (json_int_t)gs.graft_eager,
			  "link_ups", (json_int_t)gs.link_ups, "push_lazy",
			  (json_int_t)c->push_lazy, "dup_lazy", (json_int_t)gs.dup_lazy,
			  "dup_eager", (json_int_t)gs.dup_eager, "lag_samples",
			  (json_int_t)gs.lag_samples, "held", (json_int_t)gs.held, "held_expired",
			  (json_int_t)gs.held_expired, "held_behind_prune",
			  (json_int_t)gs.held_behind_prune, "prune_repeats_saved",
			  (json_int_t)gs.prune_repeats_saved, "announced_late",
			  (json_int_t)gs.announced_late, "grafted_late",
			  (json_int_t)gs.grafted_late, "graft_early", (json_int_t)gs.graft_early,
			  "recon_skipped_lag", (json_int_t)c->recon_skipped_lag, "tree_waits",
			  (json_int_t)gs.tree_waits, "ihave_saved", (json_int_t)gs.ihave_saved,
			  "push_saved", (json_int_t)gs.push_saved));
	json_object_set_new(json_object_get(o, "tree"), "formed",
			    json_boolean(proto_gossip_formed(d->g)));
	json_object_set_new(o, "direct",
			    json_pack("{s:I, s:I, s:I, s:I, s:I}", "sent",
				      (json_int_t)c->direct_sent, "received",
				      (json_int_t)c->direct_recv, "acked", (json_int_t)c->acked,
				      "ack_sent", (json_int_t)c->ack_sent, "ack_ignored",
				      (json_int_t)c->ack_ignored));
	json_object_set_new(o, "stem",
			    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "originated",
				      (json_int_t)c->stem_originated, "received",
				      (json_int_t)c->stem_received, "forwarded",
				      (json_int_t)c->stem_forwarded, "fluffed",
				      (json_int_t)c->stem_fluffed, "embargo_expired",
				      (json_int_t)c->stem_embargo, "embargoed",
				      (json_int_t)proto_stem_embargoed(d->stem)));
	json_object_set_new(o, "roster",
			    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "sent",
				      (json_int_t)c->roster_sent, "received",
				      (json_int_t)c->roster_recv, "adopted",
				      (json_int_t)c->roster_adopted, "parts_expired",
				      (json_int_t)c->roster_parts_expired, "parts_evicted",
				      (json_int_t)c->roster_parts_evicted, "copies",
				      (json_int_t)c->roster_copies, "copies_charged",
				      (json_int_t)c->roster_copies_charged));
	return o;
}
