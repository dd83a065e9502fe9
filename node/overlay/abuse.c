/* SPDX-License-Identifier: MIT */
/*
 * node/overlay/abuse.c — members' abuse budgets for the dissemination driver (see
 * node/overlay/dissem.h "Abuse" and policy/abuse.h for the rules).
 *
 * The budget belongs to the member, never to a link: charges are keyed by the member id the
 * handshake authenticated, so a member that reconnects finds its window, its offences and
 * its refusal where it left them. The table uses the wall clock, like the records it hands
 * back, so that a refusal means the same after a restart: each offence's record is written
 * to the store (store/abuse.h) by a job in the thread pool, one at a time, and the records
 * are read back when the driver is created. Everything else here runs on the loop thread;
 * the admission jobs see only the allowances copied into them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "node/common/log.h"
#include "node/common/workq.h"
#include "node/format/request.h"
#include "node/overlay/dissem_int.h"
#include "proto/array.h"
#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/roster.h"
#include "store/abuse.h"

/* The policy's record of member @id as the store's. */
static struct store_abuse_record to_store(const uint8_t id[32], const struct policy_abuse_record *r)
{
	struct store_abuse_record s = {
		.offences = r->offences,
		.refused_until_ms = r->refused_until_ms,
		.forgiven_ms = r->forgiven_ms,
	};

	memcpy(s.member, id, 32);
	return s;
}

/* Queue @r for the next save, replacing an unsaved record of the same member. */
static int unsaved_add(struct node_dissem *d, const struct store_abuse_record *r)
{
	for (size_t i = 0; i < d->n_abuse_unsaved; i++)
		if (!memcmp(d->abuse_unsaved[i].member, r->member, 32)) {
			d->abuse_unsaved[i] = *r;
			return 0;
		}
	if (proto_array_grow((void **)&d->abuse_unsaved, &d->cap_abuse_unsaved,
			     d->n_abuse_unsaved + 1, sizeof(*d->abuse_unsaved)))
		return -ENOMEM;
	d->abuse_unsaved[d->n_abuse_unsaved++] = *r;
	return 0;
}

struct save {
	uv_work_t w;
	struct node_dissem *d;
	struct store_abuse_record *r;
	size_t n;
	int err;
};

static void save_work(uv_work_t *w)
{
	struct save *sv = w->data;

	sv->err = store_abuse_put(sv->d->store, sv->r, sv->n);
}

static void save_done(uv_work_t *w, int status)
{
	struct save *sv = w->data;
	struct node_dissem *d = sv->d;

	if (status || sv->err)
		log_err("dissem: storing %zu abuse record(s) failed: %s; a restart of this node "
			"would forget those refusals",
			sv->n, proto_error_str(status ? status : sv->err));
	free(sv->r);
	free(sv);
	d->abuse_saving = false;
	node_abuse_flush(d);
	if (d->stopping)
		node_dissem_maybe_finish_stop(d);
}

void node_abuse_flush(struct node_dissem *d)
{
	struct save *sv;

	if (d->abuse_saving || !d->n_abuse_unsaved)
		return;
	sv = calloc(1, sizeof(*sv));
	if (!sv)
		return; /* kept unsaved; the next offence or the stop tries again */
	sv->d = d;
	sv->r = d->abuse_unsaved;
	sv->n = d->n_abuse_unsaved;
	sv->w.data = sv;
	if (node_workq_queue(d->loop, &sv->w, save_work, save_done)) {
		free(sv);
		return;
	}
	d->abuse_unsaved = NULL;
	d->n_abuse_unsaved = d->cap_abuse_unsaved = 0;
	d->abuse_saving = true;
}

/*
 * The stored records are adopted; those with nothing left to remember (forgiven while the
 * node was down) are deleted by the first save.
 */
int node_abuse_open(struct node_dissem *d, const struct policy_abuse_config *cfg)
{
	struct store_abuse_record *r = NULL;
	uint64_t now = node_dissem_wall_ms();
	size_t n = 0, kept = 0;
	int rc;

	d->abuse = policy_abuse_new(cfg);
	if (!d->abuse)
		return policy_abuse_check_config(cfg) ? -EINVAL : -ENOMEM;
	rc = store_abuse_list(d->store, &r, &n);
	if (rc) {
		log_err("dissem: reading the stored abuse records failed: %s", proto_error_str(rc));
		return rc;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		struct policy_abuse_record pr =
						   {
							   .offences = r[i].offences,
							   .refused_until_ms =
								   r[i].refused_until_ms,
							   .forgiven_ms = r[i].forgiven_ms,
						   },
					   now_rec;

		rc = policy_abuse_restore(d->abuse, r[i].member, &pr, now);
		if (!rc && !policy_abuse_get(d->abuse, r[i].member, now, &now_rec)) {
			r[i].offences = 0;
			rc = unsaved_add(d, &r[i]);
		}
		kept += !rc && now_rec.offences;
	}
	free(r);
	if (kept)
		log_notice("dissem: %zu member(s) with abuse offences from earlier runs", kept);
	return rc;
}

void node_abuse_close(struct node_dissem *d)
{
	policy_abuse_free(d->abuse);
	d->abuse = NULL;
	free(d->abuse_unsaved);
	d->abuse_unsaved = NULL;
	d->n_abuse_unsaved = d->cap_abuse_unsaved = 0;
}

bool node_dissem_charge(struct node_dissem *d, const uint8_t id[32], enum charge what)
{
	static const char *const budget_of[POLICY_ABUSE__CHARGES] = {
		[CHARGE_REJECT] = "refused reports",
		[CHARGE_FAILED] = "failed catch-up sessions",
		[CHARGE_SESSION] = "catch-up sessions",
		[CHARGE_SCAN] = "catch-up work",
	};
	struct policy_abuse_record rec;
	struct dlink *dl;
	int v = policy_abuse_charge(d->abuse, id, (enum policy_abuse_charge)what,
				    node_dissem_wall_ms(), &rec);

	if (v == POLICY_ABUSE_WITHIN || v == POLICY_ABUSE_OFFENCE)
		d->c.charges[what]++;
	if (v != POLICY_ABUSE_OFFENCE)
		return v == POLICY_ABUSE_REFUSED;
	d->c.abuse_offences++;
	log_warning(
		"dissem: a member went over its budget of %s (offence %u): refused for %llu s",
		budget_of[what], rec.offences,
		(unsigned long long)(policy_abuse_refused_ms(d->abuse, id, node_dissem_wall_ms()) +
				     999) /
			1000);
	/* Stored off the loop; until then (milliseconds) a restart would forget it. */
	struct store_abuse_record sr = to_store(id, &rec);

	if (unsaved_add(d, &sr))
		log_err("dissem: out of memory: an abuse record will not be stored");
	node_abuse_flush(d);
	dl = node_dissem_slot_of_member(d, id);
	if (dl)
		dl->abusive = true;
	return true;
}

bool node_dissem_charge_link(struct node_dissem *d, struct dlink *dl, enum charge what)
{
	return node_dissem_charge(d, dl->member_id, what);
}

/*
 * Catch-up work is charged in whole passes (node_catchup_charge_work()), and what a link
 * caused below a pass is counted on the link: a member that reconnected before each pass
 * filled up would never be charged (e.g. FETCHes of 2,047 ids, 65,504 keys, per link: the
 * node reads and pushes for nothing). So the rest is charged as one pass when the link goes
 * down. An honest link rarely goes down, and one pass is a thousandth of the budget.
 */
void node_abuse_link_down(struct node_dissem *d, struct dlink *dl)
{
	if (!dl->work || d->stopping) /* our own stop is not the member's reconnect */
		return;
	dl->work = 0;
	node_dissem_charge_link(d, dl, CHARGE_SCAN);
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

void node_abuse_allowance_use(struct allowance *a)
{
	uint32_t v = __atomic_load_n(&a->left, __ATOMIC_RELAXED);

	while (v && !__atomic_compare_exchange_n(&a->left, &v, v - 1, false, __ATOMIC_RELAXED,
						 __ATOMIC_RELAXED))
		;
}

bool node_abuse_allowance_left(struct allowance *a)
{
	return __atomic_load_n(&a->left, __ATOMIC_RELAXED) != 0;
}

int node_abuse_allowance_of(struct node_dissem *d, struct allowance **allow, size_t *n_allow,
			    size_t cap, const uint8_t id[32])
{
	struct allowance *a;
	int64_t left;

	for (size_t i = 0; i < *n_allow; i++)
		if (!memcmp(allow[i]->member, id, 32))
			return (int)i;
	if (*n_allow == cap)
		return -ENOMEM;
	for (a = d->allowances; a; a = a->next)
		if (!memcmp(a->member, id, 32))
			break;
	if (!a) {
		a = calloc(1, sizeof(*a));
		if (!a)
			return -ENOMEM;
		left = policy_abuse_reserve(d->abuse, id, POLICY_ABUSE_REJECT,
					    node_dissem_wall_ms());
		if (left < 0) {
			free(a);
			return (int)left;
		}
		memcpy(a->member, id, 32);
		a->reserved = a->left = (uint32_t)left;
		a->next = d->allowances;
		d->allowances = a;
	}
	a->refs++;
	allow[*n_allow] = a;
	return (int)(*n_allow)++;
}

void node_abuse_allowances_put(struct node_dissem *d, struct allowance **allow, size_t *n_allow)
{
	for (size_t i = 0; i < *n_allow; i++) {
		struct allowance *a = allow[i], **pp;

		if (--a->refs)
			continue;
		policy_abuse_release(d->abuse, a->member, POLICY_ABUSE_REJECT, a->reserved);
		for (pp = &d->allowances; *pp != a; pp = &(*pp)->next)
			;
		*pp = a->next;
		free(a);
	}
	*n_allow = 0;
}

void node_dissem_refused(struct node_dissem *d, const uint8_t peer[32])
{
	if (d->stopping)
		return;
	node_dissem_charge(d, peer, CHARGE_REJECT);
	node_dissem_close_abusive(d);
}

bool node_dissem_member_refused(struct node_dissem *d, const uint8_t peer[32])
{
	return node_abuse_refused_ms(d, peer) != 0;
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
