/* SPDX-License-Identifier: MIT */
/*
 * node/overlay/abuse.c — members' abuse budgets for the dissemination driver (see
 * node/overlay/dissem.h "Abuse" and policy/abuse.h for the rules).
 *
 * The budget belongs to the member, never to a link: charges are keyed by the member id the
 * handshake authenticated, so a member that reconnects finds its window, its offences and
 * its refusal where it left them. The table uses the wall clock, like the records it hands
 * back, so that a refusal means the same after a restart. Everything here runs on the loop
 * thread; the admission jobs see only the allowances copied into them.
 */
#include <errno.h>
#include <string.h>

#include "node/common/log.h"
#include "node/format/request.h"
#include "node/overlay/dissem_int.h"
#include "proto/crypto.h"
#include "proto/roster.h"

int node_abuse_open(struct node_dissem *d, const struct policy_abuse_config *cfg)
{
	d->abuse = policy_abuse_new(cfg);
	return d->abuse ? 0 : policy_abuse_check_config(cfg) ? -EINVAL : -ENOMEM;
}

void node_abuse_close(struct node_dissem *d)
{
	policy_abuse_free(d->abuse);
	d->abuse = NULL;
}

bool node_dissem_charge(struct node_dissem *d, const uint8_t id[32], enum charge what)
{
	struct policy_abuse_record rec;
	struct dlink *dl;
	int v = policy_abuse_charge(d->abuse, id, (enum policy_abuse_charge)what,
				    node_dissem_wall_ms(), &rec);

	if (v != POLICY_ABUSE_OFFENCE)
		return v == POLICY_ABUSE_REFUSED;
	d->c.abuse_offences++;
	log_warning(
		"dissem: a member went over its budget of refused reports or catch-up "
		"sessions (offence %u): refused for %llu s",
		rec.offences,
		(unsigned long long)(policy_abuse_refused_ms(d->abuse, id, node_dissem_wall_ms()) +
				     999) /
			1000);
	dl = node_dissem_slot_of_member(d, id);
	if (dl)
		dl->abusive = true;
	return true;
}

bool node_dissem_charge_link(struct node_dissem *d, struct dlink *dl, enum charge what)
{
	return node_dissem_charge(d, dl->member_id, what);
}

/* Close the links marked abusive; never called from inside a link's own callbacks' frames. */
void node_dissem_close_abusive(struct node_dissem *d)
{
	for (size_t i = 0; i < NODE_DISSEM_LINKS_MAX; i++) {
		struct dlink *dl = &d->links[i];

		if (dl->l && dl->abusive) {
			d->c.abusive++;
			log_info("dissem: link %llu closed: its member is over its budget",
				 (unsigned long long)node_link_id(dl->l));
			node_link_close(dl->l, NODE_LINK_R_ABUSE);
		}
	}
}

uint64_t node_abuse_refused_ms(struct node_dissem *d, const uint8_t id[32])
{
	return policy_abuse_refused_ms(d->abuse, id, node_dissem_wall_ms());
}

void node_abuse_periodic(struct node_dissem *d)
{
	policy_abuse_prune(d->abuse, node_dissem_wall_ms());
}

struct each_ctx {
	const struct proto_roster *roster;
	json_t *arr;
	uint64_t now;
	bool attribution;
	int err;
};

static void each_json(void *arg, const uint8_t id[32], const struct policy_abuse_record *rec)
{
	struct each_ctx *c = arg;
	uint64_t left = rec->refused_until_ms > c->now ? rec->refused_until_ms - c->now : 0;
	char until[32], hex[65];
	json_t *o;

	node_req_time_format(rec->refused_until_ms, until, sizeof(until));
	o = json_pack("{s:I, s:s, s:f}", "offences", (json_int_t)rec->offences, "refused_until",
		      until, "refused_for_s", (double)left / 1000.0);
	if (o && c->attribution) {
		int idx = proto_roster_find_member(c->roster, id);

		proto_hex_encode(hex, id, 32);
		if (json_object_set_new(o, "member",
					json_pack("{s:s?, s:s}", "name",
						  idx >= 0 ? c->roster->members[idx].name : NULL,
						  "id", hex))) {
			json_decref(o);
			o = NULL;
		}
	}
	if (!o || json_array_append_new(c->arr, o))
		c->err = -ENOMEM;
}

json_t *node_dissem_abuse_json(const struct node_dissem *d, bool attribution)
{
	struct each_ctx c = {
		.roster = d->snap->newest,
		.arr = json_array(),
		.now = node_dissem_wall_ms(),
		.attribution = attribution,
	};

	if (!c.arr)
		return NULL;
	policy_abuse_each(d->abuse, c.now, each_json, &c);
	if (c.err) {
		json_decref(c.arr);
		return NULL;
	}
	return c.arr;
}
