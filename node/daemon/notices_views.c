/* SPDX-License-Identifier: MIT */
/*
 * What the node shows of its notices (node/daemon/notices_int.h): the listing, the STIX 2.1
 * and MISP renderings of received notices, and the local notices it raises when another
 * member shares a CLEAR/GREEN report on a value in its own constituency. All of it runs in
 * the notice job, on the thread pool.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/common/log.h"
#include "node/daemon/notices_int.h"
#include "node/format/export_fmt.h"
#include "node/format/notice_fmt.h"
#include "policy/redact.h"
#include "proto/array.h"
#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/notice.h"
#include "proto/poc.h"
#include "proto/report.h"

#define WATCH_BATCH 10000 /* feed entries looked at per job */

struct list_ctx {
	struct job *j;
	json_t *items;
	uint8_t (*pending)[16];
	size_t n_pending, cap_pending;
	int err;
};

static int list_out(void *arg, const struct store_notice_out *e)
{
	struct list_ctx *c = arg;

	if (proto_array_grow((void **)&c->pending, &c->cap_pending, c->n_pending + 1, 16))
		return -ENOMEM;
	memcpy(c->pending[c->n_pending++], e->id, 16);
	return 0;
}

static int list_msg(void *arg, const struct store_notice_msg *m)
{
	struct list_ctx *c = arg;
	const struct proto_roster *r = c->j->snap->newest;
	struct proto_notice nt;
	char hex[33], thread[33], t1[32], t2[32];
	bool pending = false;
	json_t *o;

	if (m->flags & STORE_NOTICE_LOCAL) {
		json_t *ind = json_loadb((const char *)m->bytes, m->len, 0, NULL);

		o = ind ? json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "id",
				    proto_hex_encode(hex, m->id, 16), "thread", hex, "kind",
				    "local", "direction", "in", "created",
				    node_req_time_format(m->time_ms, t1, sizeof(t1)), "stored", t1,
				    "indicator", ind)
			: NULL;
		if (o)
			json_object_set_new(o, "message",
					    json_string("a value in this node's constituency was "
							"reported by another member"));
		return o ? json_array_append_new(c->items, o) : 0;
	}
	if (proto_notice_decode(m->bytes, m->len, &nt))
		return 0; /* stored after verification; a newer decoder may refuse it */
	for (size_t i = 0; i < c->n_pending; i++)
		pending |= !memcmp(c->pending[i], m->id, 16);
	o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:s}", "id",
		      proto_hex_encode(hex, m->id, 16), "thread",
		      proto_hex_encode(thread, nt.thread, 16), "kind",
		      nt.kind == PROTO_NOTICE_KIND_NOTICE ? "notice" : "status", "direction",
		      m->flags & STORE_NOTICE_OUT ? "out" : "in", "from",
		      node_notices_member_json(r, nt.from), "to",
		      node_notices_member_json(r, nt.to), "tlp", proto_tlp_name(nt.tlp), "created",
		      node_req_time_format(nt.created_ms, t1, sizeof(t1)), "stored",
		      node_req_time_format(m->time_ms, t2, sizeof(t2)));
	if (!o)
		return -ENOMEM;
	if (nt.has_deliver_to)
		json_object_set_new(o, "deliver_to", node_notices_member_json(r, nt.deliver_to));
	if (!(m->flags & STORE_NOTICE_OUT) && nt.kind == PROTO_NOTICE_KIND_NOTICE)
		json_object_set_new(o, "via_coordinator", json_boolean(nt.has_handle));
	if (m->flags & STORE_NOTICE_OUT)
		json_object_set_new(o, "pending", json_boolean(pending));
	if (m->refused) {
		const char *why = node_req_refusal_name(m->refused);
		char num[16];

		snprintf(num, sizeof(num), "%u", (unsigned)m->refused);
		json_object_set_new(o, "refused", json_string(why ? why : num));
	}
	if (nt.kind == PROTO_NOTICE_KIND_NOTICE) {
		json_t *form = json_loadb(nt.form, nt.form_len, 0, NULL);

		json_object_set_new(o, "form", form ? form : json_null());
	} else {
		json_object_set_new(o, "status", json_string(node_req_status_name(nt.status)));
		if (nt.comment)
			json_object_set_new(o, "comment", json_stringn(nt.comment, nt.comment_len));
	}
	json_array_append_new(c->items, o);
	return 0;
}

/* ------------------------------------------------------------------ the job: renderings */

/* Free text of a form leaving the node: as [policy] descriptions says for descriptions. */
static int redact_cb(void *ctx, const char *in, char **out)
{
	const struct node_snap *snap = ctx;
	size_t len = strlen(in), cap = POLICY_REDACT_OUT_MAX(len) + 1;
	int r;

	*out = NULL;
	if (snap->pcfg.descriptions == POLICY_DESC_DROP)
		return 0;
	*out = malloc(cap);
	if (!*out)
		return -ENOMEM;
	r = policy_redact_text(snap->redactor, in, len, *out, cap, NULL, NULL);
	if (r == 0)
		return 0;
	free(*out);
	*out = NULL;
	return r == POLICY_REDACT_DROPPED ? 0 : r;
}

struct render_ctx {
	struct job *j;
	bool addressed_only; /* leave out notices this node only forwards (deliver_to) */
	struct node_notice_doc *docs;
	json_t **forms;
	size_t n, cap;
	int err;
};

static int render_one(void *arg, const struct store_notice_msg *m)
{
	struct render_ctx *c = arg;
	struct proto_notice nt;
	struct node_notice_doc *d;
	json_t *form;

	if (m->flags || proto_notice_decode(m->bytes, m->len, &nt) ||
	    nt.kind != PROTO_NOTICE_KIND_NOTICE)
		return 0; /* received notices only */
	if (c->addressed_only && nt.has_deliver_to)
		return 0; /* for another member: this node is its coordinator only */
	if (nt.tlp == PROTO_TLP_RED && !c->j->snap->pcfg.export_red)
		return 0; /* RED leaves the node only where [policy] export_red says so */
	form = json_loadb(nt.form, nt.form_len, 0, NULL);
	if (!form)
		return 0;
	if (proto_array_grow((void **)&c->docs, &c->cap, c->n + 1, sizeof(*c->docs))) {
		json_decref(form);
		return -ENOMEM;
	}
	c->forms = realloc(c->forms, c->cap * sizeof(*c->forms));
	if (!c->forms) {
		json_decref(form);
		return -ENOMEM;
	}
	d = &c->docs[c->n];
	c->forms[c->n] = node_notice_form_redact(form, redact_cb, c->j->snap);
	json_decref(form);
	if (!c->forms[c->n])
		return -ENOMEM;
	memcpy(d->id, m->id, 16);
	d->created_ms = nt.created_ms;
	d->tlp = nt.tlp;
	d->form = c->forms[c->n++];
	return 0;
}

/* The received notices as STIX 2.1 or MISP (node/format/notice_fmt.h). */
void node_notices_render(struct job *j, struct op *o)
{
	struct render_ctx c = {.j = j};
	const char *community = j->snap->pcfg.community_name;
	int rc = store_notices_iter(j->n->st, NULL, render_one, &c);
	json_t *out = NULL;

	if (rc == 0) {
		out = o->req->format == NODE_NOTICES_STIX21
			      ? node_notice_stix_bundle(c.docs, c.n, community)
			      : node_notice_misp(c.docs, c.n, community);
		if (!out)
			rc = -ENOMEM;
	}
	for (size_t i = 0; i < c.n; i++)
		json_decref(c.forms[i]);
	free(c.forms);
	free(c.docs);
	if (rc) {
		o->text = node_notices_error_text(o->req->id, rc, NULL, proto_error_str(rc));
		return;
	}
	o->text = node_notices_ok_text(
		o->req->id,
		json_pack("{s:o}", o->req->format == NODE_NOTICES_STIX21 ? "stix" : "misp", out));
}

/*
 * The notices addressed to this node (received directly or from a coordinator; not those
 * it only forwards as a coordinator) into the export's notices feed: one compact JSON
 * document each,
 * {"id", "created", "created_ms", "tlp", "form"} (keys sorted, so equal renderings are equal bytes and
 * store_export_notices_put() leaves them be), the form redacted as for `notices --format`.
 */
int node_notices_export(struct job *j)
{
	struct render_ctx c = {.j = j, .addressed_only = true};
	struct store_export_notice *docs = NULL;
	size_t n_docs = 0;
	int rc = store_notices_iter(j->n->st, NULL, render_one, &c);

	if (rc == 0 && c.n) {
		docs = calloc(c.n, sizeof(*docs));
		rc = docs ? 0 : -ENOMEM;
	}
	for (size_t i = 0; rc == 0 && i < c.n; i++) {
		char hex[33], t[32];
		json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:O}", "id",
				      proto_hex_encode(hex, c.docs[i].id, 16), "created",
				      node_req_time_format(c.docs[i].created_ms, t, sizeof(t)),
				      "created_ms", (json_int_t)c.docs[i].created_ms, "tlp",
				      proto_tlp_name(c.docs[i].tlp), "form", c.forms[i]);
		char *text = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

		json_decref(o);
		if (!text) {
			rc = -ENOMEM;
			break;
		}
		memcpy(docs[i].id, c.docs[i].id, 16);
		docs[i].doc = (const uint8_t *)text;
		docs[i].len = strlen(text);
		n_docs++;
	}
	if (rc == 0)
		rc = store_export_notices_put(j->n->xport, docs, n_docs, &j->exported);
	for (size_t i = 0; i < n_docs; i++)
		free((void *)docs[i].doc);
	free(docs);
	for (size_t i = 0; i < c.n; i++)
		json_decref(c.forms[i]);
	free(c.forms);
	free(c.docs);
	return rc;
}

static int by_thread_then_time(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int t = strcmp(json_string_value(json_object_get(x, "thread")),
		       json_string_value(json_object_get(y, "thread")));

	return t ? t
		 : strcmp(json_string_value(json_object_get(x, "created")),
			  json_string_value(json_object_get(y, "created")));
}

void node_notices_list(struct job *j, struct op *o)
{
	struct list_ctx c = {.j = j, .items = json_array()};
	json_t *sorted;
	size_t n;
	int rc = c.items ? store_notices_iter(j->n->st, list_out, list_msg, &c) : -ENOMEM;

	free(c.pending);
	if (rc) {
		json_decref(c.items);
		o->text = node_notices_error_text(o->req->id, rc, NULL, proto_error_str(rc));
		return;
	}
	/* Threads together, oldest first within each. */
	n = json_array_size(c.items);
	json_t **v = calloc(n ? n : 1, sizeof(*v));
	sorted = json_array();
	if (!v || !sorted) {
		free(v);
		json_decref(sorted);
		json_decref(c.items);
		return;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(c.items, i);
	qsort(v, n, sizeof(*v), by_thread_then_time);
	for (size_t i = 0; i < n; i++)
		json_array_append(sorted, v[i]);
	free(v);
	json_decref(c.items);
	o->text = node_notices_ok_text(o->req->id, json_pack("{s:o}", "notices", sorted));
}

/* ------------------------------------------------------------------ the job: local notices */

struct watch_ctx {
	struct job *j;
	struct store_read *rd;
	const struct proto_constituency *own;
	size_t n_seen;
};

struct origin_ctx {
	struct store *s;
	struct store_read *rd;
	uint32_t shared; /* CLEAR/GREEN reports that came from other members */
};

static int count_shared(void *arg, const struct store_report_info *info, const uint8_t *bytes,
			size_t len)
{
	struct origin_ctx *c = arg;
	struct store_envelope env;

	(void)bytes;
	(void)len;
	if (info->tlp <= PROTO_TLP_GREEN && !info->withdrawn &&
	    store_envelope_get(c->s, c->rd, info->report_id, &env) == 0 && !env.local)
		c->shared++;
	return 0;
}

/*
 * One changed indicator of the main feed: when its value lies in this node's constituency
 * and another member shared a CLEAR/GREEN report on it, raise (or update) the local notice
 * of that indicator, made of the summary's aggregates only: no report, signer or link.
 */
static int watch_one(void *arg, const struct store_feed_entry *e)
{
	struct watch_ctx *w = arg;
	struct job *j = w->j;
	struct origin_ctx oc = {.s = j->n->main, .rd = w->rd};
	struct proto_summary sum;
	char hex[65], t[4][32];
	json_t *o;
	char *text;
	int rc;

	j->watch_seq = e->seq;
	w->n_seen++;
	rc = store_summary_get(j->n->main, w->rd, e->ind_id, &sum);
	if (rc == STORE_E_NOT_FOUND || (rc == 0 && sum.feed_seq > e->seq))
		return 0; /* a later entry of the same indicator decides */
	if (rc)
		return rc;
	if (!proto_constituency_match(w->own, sum.ind.value))
		return 0;
	rc = store_reports_iter(j->n->main, w->rd, e->ind_id, count_shared, &oc);
	if (rc || !oc.shared)
		return rc;
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:s, s:s, s:s?}",
		      "indicator_id", proto_hex_encode(hex, e->ind_id, 32), "type",
		      proto_indicator_type_name(sum.ind.type), "value", sum.ind.value, "tlp",
		      proto_tlp_name(sum.tlp), "state", node_export_state_name(sum.state),
		      "confidence", (int)sum.confidence, "members", (int)sum.n_members, "sightings",
		      (int)sum.n_sightings, "false_positives", (int)sum.n_false_positive, "reports",
		      (int)sum.n_reports, "first_seen",
		      node_req_time_format(sum.first_seen_ms, t[0], sizeof(t[0])), "last_seen",
		      node_req_time_format(sum.last_seen_ms, t[1], sizeof(t[1])), "valid_until",
		      sum.valid_until_ms
			      ? node_req_time_format(sum.valid_until_ms, t[2], sizeof(t[2]))
			      : NULL);
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text)
		return -ENOMEM;
	rc = node_notices_add_msg(j, e->ind_id, STORE_NOTICE_LOCAL, (uint8_t *)text, strlen(text),
				  true);
	if (rc == 0)
		j->raised++;
	return rc;
}

/* Look at up to WATCH_BATCH feed entries after watch_seq. */
void node_notices_watch_feed(struct job *j)
{
	const struct proto_roster *r = j->snap->newest;
	int own = j->snap->own_index;
	struct watch_ctx w = {.j = j};
	uint64_t last = 0;
	int rc = store_notices_watch_seq(j->n->st, &j->watch_seq);

	if (rc == 0)
		rc = store_read_begin(j->n->main, &w.rd);
	if (rc == 0)
		rc = store_feed_last(j->n->main, w.rd, &last);
	if (rc == 0 && last > j->watch_seq) {
		if (own < 0 || proto_constituency_empty(&r->members[own].constituency)) {
			j->watch_seq = last; /* nothing of ours can be in it */
		} else {
			w.own = &r->members[own].constituency;
			rc = store_feed_iter(j->n->main, w.rd, j->watch_seq, WATCH_BATCH, watch_one,
					     &w);
			rc = rc < 0 ? rc : 0;
		}
		j->set_watch = rc == 0;
		j->watch_more = rc == 0 && j->watch_seq < last;
	}
	store_read_end(w.rd);
	if (rc)
		log_warning("notices: reading the feed for local notices failed: %s",
			    proto_error_str(rc));
}
