/* SPDX-License-Identifier: MIT */
/*
 * `query` and `list`: answered from a read transaction in the thread pool (the read lane,
 * READS_IN_POOL jobs at once), through the policy view of the snapshot taken at submission.
 */
#include "node/daemon/daemon_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/daemon/exporter.h"
#include "policy/egress.h"
#include "policy/strip.h"
#include "proto/error.h"
#include "store/sealed.h"
#define QUERY_REPORTS_MAX 1000

struct read_job {
	struct node_pool_work work; /* in the read lane */
	struct node_daemon *d;
	struct node_snap *snap;
	struct node_request *req;
	struct node_api_req *areq;
	char *text;
};

struct report_walk {
	const struct node_snap *snap;
	const uint8_t *own_tag; /* this node's tag on the indicator, NULL until needed */
	uint8_t own_tag_buf[32];
	const uint8_t *ind_id;
	struct policy_report_view *rv;
	json_t *arr;
	size_t n;
	size_t undecodable; /* stored reports this version's decoder refuses (skipped) */
	bool truncated;
};

static const char *member_name(const struct node_snap *snap, const struct proto_report *r)
{
	const struct proto_roster *ros = node_snap_roster(snap, r->epoch);
	int idx = ros ? proto_roster_find_member(ros, r->signer) : -1;

	return idx >= 0 ? ros->members[idx].name : "[unknown member]";
}

static int walk_report(void *ctx, const struct store_report_info *info, const uint8_t *bytes,
		       size_t len)
{
	struct report_walk *w = ctx;
	struct proto_report r;
	char ts[40], until[40], rid[65];
	json_t *o, *tags;

	if (w->n == QUERY_REPORTS_MAX) {
		w->truncated = true;
		return 1;
	}
	if (proto_report_decode(&r, bytes, len)) {
		/*
		 * Stored under an older version's rules (node_exporter_view() skips it too): one
		 * such report must not make its indicator unreadable. Counted in the answer.
		 */
		w->undecodable++;
		return 0;
	}
	/* "ours" for this node's anonymous reports: our tag, computed at the first one. */
	if (r.prov == PROTO_PROV_ANONYMOUS && !w->own_tag &&
	    !node_snap_own_tag(w->snap, w->ind_id, w->own_tag_buf))
		w->own_tag = w->own_tag_buf;
	if (policy_strip_report(w->rv, &w->snap->pcfg, w->snap->redactor, &r, w->own_tag))
		return 0; /* unknown TLP: never shown */
	tags = json_array();
	for (size_t i = 0; tags && i < w->rv->n_tags; i++)
		json_array_append_new(tags, json_string(w->rv->tags[i]));
	o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:b, s:o*}", "report_id",
		      proto_hex_encode(rid, info->report_id, 32), "kind",
		      proto_report_kind_name(w->rv->kind), "tlp", proto_tlp_name(w->rv->tlp),
		      "confidence", (int)w->rv->confidence, "created",
		      node_req_time_format(w->rv->created_ms, ts, sizeof(ts)), "ours",
		      (int)w->rv->ours, "tags", tags);
	if (!o)
		return -ENOMEM;
	if (w->rv->valid_until_ms)
		json_object_set_new(o, "valid_until",
				    json_string(node_req_time_format(w->rv->valid_until_ms, until,
								     sizeof(until))));
	if (w->rv->has_description)
		json_object_set_new(o, "description",
				    json_stringn(w->rv->description, w->rv->description_len));
	/* Names another member only when the operator enabled show_attribution. */
	if (info->withdrawn) /* its member left; it no longer counts (withdraw_departed) */
		json_object_set_new(o, "withdrawn", json_true());
	if (r.prov == PROTO_PROV_ANONYMOUS)
		json_object_set_new(o, "anonymous", json_true());
	else if (policy_egress_attribution_visible(&w->snap->pcfg, &r))
		json_object_set_new(o, "signer", json_string(member_name(w->snap, &r)));
	if (json_array_append_new(w->arr, o))
		return -ENOMEM;
	w->n++;
	return 0;
}

static json_t *query_reports_json(struct read_job *j, struct store_read *rd, struct policy_view *v);

/* UTC day @day (days since 1970) as "YYYY-MM-DD" in @buf. */
static const char *day_str(char buf[16], uint32_t day)
{
	time_t t = (time_t)day * 86400;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 16, "%Y-%m-%d", &tm);
	return buf;
}

/*
 * The sealed sighting of @ind_id once opened: how many members sealed it and on which days,
 * never who (docs/SEALED.md). NULL when it is not opened (or cannot be read).
 */
static json_t *sealed_opened_json(struct node_daemon *d, struct store_read *rd,
				  const uint8_t ind_id[32])
{
	struct store_sealed_opened o;
	char first[16], last[16];

	if (store_sealed_opened_get(d->store, rd, ind_id, &o) != 0)
		return NULL;
	return json_pack("{s:i, s:s, s:s, s:i}", "members", (int)o.count, "first_day",
			 day_str(first, o.first_bucket), "last_day", day_str(last, o.last_bucket),
			 "confidence", o.confidence);
}

static json_t *query_json(struct read_job *j, struct store_read *rd, struct policy_view *v)
{
	json_t *resp = query_reports_json(j, rd, v);

	if (resp && json_is_true(json_object_get(resp, "ok"))) {
		json_t *sealed = sealed_opened_json(j->d, rd, j->req->ind_id);

		json_object_set_new(resp, "sealed", sealed ? sealed : json_null());
	}
	return resp;
}

static json_t *query_reports_json(struct read_job *j, struct store_read *rd, struct policy_view *v)
{
	const struct node_request *req = j->req;
	char hex[65];
	json_t *resp, *doc;
	int r;

	/* An opened sealed sighting with no report behind it is found too (no reports). */
	r = node_exporter_feed_document(j->snap, j->d->store, rd, req->ind_id, 0, 0,
					POLICY_PATH_LOCAL_OUTPUT, v, &doc);
	if (r < 0) {
		struct node_req_error e;
		node_req_error_set(&e, r, NULL, "query failed: %s", proto_error_str(r));
		return node_req_error_response(NULL, &e);
	}
	if (!doc) {
		resp = json_pack("{s:b, s:b, s:s}", "ok", 1, "found", 0, "indicator_id",
				 proto_hex_encode(hex, req->ind_id, 32));
		if (resp && req->has_ind) {
			json_object_set_new(resp, "type",
					    json_string(proto_indicator_type_name(req->ind_type)));
			json_object_set_new(resp, "value", json_string(req->ind_value));
		}
		return resp;
	}
	struct report_walk w = {.snap = j->snap, .ind_id = req->ind_id, .arr = json_array()};
	w.rv = malloc(sizeof(*w.rv));
	if (!doc || !w.arr || !w.rv) {
		json_decref(doc);
		json_decref(w.arr);
		free(w.rv);
		return NULL;
	}
	r = store_reports_iter(j->d->store, rd, req->ind_id, walk_report, &w);
	free(w.rv);
	if (r < 0) {
		json_decref(doc);
		json_decref(w.arr);
		struct node_req_error e;
		node_req_error_set(&e, r, NULL, "query failed: %s", proto_error_str(r));
		return node_req_error_response(NULL, &e);
	}
	return json_pack("{s:b, s:b, s:o, s:o, s:b, s:I}", "ok", 1, "found", 1, "indicator", doc,
			 "reports", w.arr, "reports_truncated", (int)w.truncated,
			 "reports_undecodable", (json_int_t)w.undecodable);
}

struct list_walk {
	struct read_job *j;
	struct store_read *rd;
	struct policy_view *v;
	json_t *items;
	uint64_t last;
	int err;
};

static int walk_feed(void *ctx, const struct store_feed_entry *e)
{
	struct list_walk *w = ctx;
	json_t *doc;
	int r;

	w->last = e->seq;
	/* As the export renders it (sealed sightings included); NULL: denied or superseded. */
	r = node_exporter_feed_document(w->j->snap, w->j->d->store, w->rd, e->ind_id, e->seq,
					e->time_ms, POLICY_PATH_LOCAL_OUTPUT, w->v, &doc);
	if (r < 0)
		return r;
	if (doc && json_array_append_new(w->items, doc))
		return -ENOMEM;
	return 0;
}

static json_t *list_json(struct read_job *j, struct store_read *rd, struct policy_view *v)
{
	struct list_walk w = {
		.j = j, .rd = rd, .v = v, .items = json_array(), .last = j->req->since};
	uint64_t feed_last = 0;
	int r;

	if (!w.items)
		return NULL;
	r = store_feed_iter(j->d->store, rd, j->req->since, j->req->limit, walk_feed, &w);
	if (r >= 0)
		r = store_feed_last(j->d->store, rd, &feed_last);
	if (r < 0) {
		struct node_req_error e;
		json_decref(w.items);
		node_req_error_set(&e, r, NULL, "list failed: %s", proto_error_str(r));
		return node_req_error_response(NULL, &e);
	}
	return json_pack("{s:b, s:o, s:I, s:I, s:b}", "ok", 1, "items", w.items, "next",
			 (json_int_t)w.last, "feed_last", (json_int_t)feed_last, "more",
			 (int)(w.last < feed_last));
}

static void read_work(uv_work_t *work)
{
	struct read_job *j = work->data;
	struct store_read *rd = NULL;
	struct policy_view *v = malloc(sizeof(*v));
	json_t *resp = NULL;
	int r;

	if (!v)
		return;
	r = store_read_begin(j->d->store, &rd);
	if (r) {
		struct node_req_error e;
		node_req_error_set(&e, r, NULL, "store read failed: %s", proto_error_str(r));
		resp = node_req_error_response(NULL, &e);
	} else {
		resp = j->req->op == NODE_OP_QUERY ? query_json(j, rd, v) : list_json(j, rd, v);
		store_read_end(rd);
	}
	free(v);
	if (resp && j->req->id)
		json_object_set(resp, "id", j->req->id);
	j->text = resp ? json_dumps(resp, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	json_decref(resp);
}

static void read_done(uv_work_t *work, int status)
{
	struct read_job *j = work->data;

	(void)status;
	j->d->reads_pending--;
	node_api_respond_text(j->areq, j->text);
	node_request_free(j->req);
	node_snap_unref(j->snap);
	free(j);
}

int node_daemon_read_submit(struct node_daemon *d, struct node_api_req *areq,
			    struct node_request *req)
{
	struct read_job *j = calloc(1, sizeof(*j));

	if (!j)
		return -ENOMEM;
	j->d = d;
	j->snap = node_snap_ref(d->snap);
	j->req = req;
	j->areq = areq;
	j->work.w.data = j;
	d->reads_pending++;
	node_pool_submit(&d->reads, &j->work, read_work, read_done);
	return 0;
}
