/* SPDX-License-Identifier: MIT */
/*
 * Local publish pipeline; the stages and their threads are described in ingest.h. A job is
 * one API request. Its items are split into chunks that the thread pool signs and admits in
 * parallel (each chunk writes only its own slots); when the last chunk of a job is back on
 * the loop thread the job joins the ready list, and the single committer takes the whole
 * ready list into one store transaction. Only one commit runs at a time, which keeps LMDB's
 * writer lock uncontended and gives natural group commit under load.
 */
#include "node/daemon/ingest.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/common/heap.h"
#include "node/common/log.h"
#include "node/common/pool.h"
#include "node/common/prio.h"
#include "node/common/workq.h"
#include "policy/warnlist.h"
#include "proto/array.h"
#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/ring.h"

#define CHUNK_ITEMS 512
/*
 * A ring signature plus its verification by admission costs milliseconds where an Ed25519
 * one costs tens of microseconds, so requests with anonymous items are cut into smaller
 * chunks: even a batch of a few dozen then spreads over the whole thread pool.
 */
#define ANON_CHUNK_ITEMS 16
#define LEAD_MAX_MS 1000 /* how far creation times may run ahead of the clock */

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

struct slot {
	uint64_t created_ms;
	uint64_t valid_until_ms;
	uint8_t *bytes; /* signed report, malloc'd; freed by the commit job */
	size_t len;
	uint8_t report_id[32];
	uint8_t ind_id[32];
	int reason; /* enum policy_reason when err == NODE_E_POLICY */
	int result; /* STORE_NEW / STORE_DUP after commit */
};

struct job {
	struct node_ingest *ing;
	struct node_request *req;
	struct node_snap *snap;
	struct slot *slots;
	/*
	 * Per chunk, the reports as admission decoded them (about 3 KiB each, borrowing the
	 * slots' bytes): allocated by the chunk's worker, freed by the commit job's, so the
	 * loop thread neither faults in nor unmaps megabytes for a large batch.
	 */
	struct proto_report **decoded;
	size_t per_chunk, n_chunks;
	size_t chunks_left;
	node_ingest_done_fn done;
	void *arg;
	char *response;
	size_t n_new;
	int store_err; /* the commit of this job's reports failed with it (0: stored) */
	struct job *next;
};

struct chunk {
	struct node_pool_work work; /* in the sign lane */
	struct job *job;
	size_t from, to;
};

struct commit {
	uv_work_t work;
	struct node_ingest *ing;
	struct job *jobs;
	uint64_t now_ms;
	int err; /* store_ingest() result */
};

struct node_ingest {
	uv_loop_t *loop;
	struct store *store;
	const struct proto_keys *keys;
	node_ingest_commit_fn on_commit;
	void *ctx;
	node_ingest_report_fn on_report;
	void *report_ctx;
	uint64_t last_created_ms;
	size_t jobs_signing;
	struct node_pool_lane sign;	     /* signing chunks in the pool: at most one per CPU */
	size_t running_items;		     /* items of started jobs, not yet answered */
	struct job *waiting, **waiting_tail; /* submitted, not started (over the budget) */
	struct job *ready, **ready_tail;
	bool committing;
	/*
	 * Committed reports not yet handed to the report hook, oldest at @ann_head, and the
	 * idle handle that hands them over one slice per loop iteration (initialised at the
	 * first commit that had more than one slice, closed by node_ingest_close()).
	 */
	struct node_ingest_report *ann;
	size_t ann_head, ann_len, ann_cap;
	uv_idle_t ann_idle;
	bool ann_open, ann_closed;
	struct node_ingest_stats st;
};

struct node_ingest *node_ingest_new(uv_loop_t *loop, struct store *store,
				    const struct proto_keys *keys, node_ingest_commit_fn on_commit,
				    void *ctx)
{
	struct node_ingest *ing = calloc(1, sizeof(*ing));

	if (!ing)
		return NULL;
	ing->loop = loop;
	ing->store = store;
	ing->keys = keys;
	ing->on_commit = on_commit;
	ing->ctx = ctx;
	ing->ready_tail = &ing->ready;
	node_pool_lane_init(&ing->sign, loop, node_pool_cpus());
	ing->waiting_tail = &ing->waiting;
	return ing;
}

void node_ingest_close(struct node_ingest *ing)
{
	if (!ing || ing->ann_closed)
		return;
	ing->ann_closed = true;
	if (ing->ann_head < ing->ann_len)
		/* Stored already: catch-up carries them to the peers. */
		log_info("ingest: %zu stored report(s) not announced to peers before stopping",
			 ing->ann_len - ing->ann_head);
	ing->ann_head = ing->ann_len = 0;
	if (ing->ann_open)
		uv_close((uv_handle_t *)&ing->ann_idle, NULL);
}

void node_ingest_free(struct node_ingest *ing)
{
	if (!ing)
		return;
	assert(node_ingest_idle(ing));
	assert(!ing->ann_open || ing->ann_closed);
	free(ing->ann);
	free(ing);
}

void node_ingest_set_report_hook(struct node_ingest *ing, node_ingest_report_fn fn, void *ctx)
{
	ing->on_report = fn;
	ing->report_ctx = ctx;
}

bool node_ingest_idle(const struct node_ingest *ing)
{
	return !ing->jobs_signing && !ing->ready && !ing->committing && !ing->waiting &&
	       ing->ann_head == ing->ann_len;
}

void node_ingest_get_stats(const struct node_ingest *ing, struct node_ingest_stats *st)
{
	*st = ing->st;
}

const struct node_pool_lane *node_ingest_sign_lane(const struct node_ingest *ing)
{
	return &ing->sign;
}

/* Frees what only signing and the commit need: the signed bytes and the decoded reports. */
static void job_release_reports(struct job *j)
{
	if (j->decoded)
		for (size_t c = 0; c < j->n_chunks; c++) {
			free(j->decoded[c]);
			j->decoded[c] = NULL;
		}
	if (j->slots)
		for (size_t i = 0; i < j->req->n_items; i++) {
			free(j->slots[i].bytes);
			j->slots[i].bytes = NULL;
		}
}

static void request_free(void *req)
{
	node_request_free(req);
}

static void job_free(struct job *j)
{
	if (!j)
		return;
	job_release_reports(j);
	free(j->decoded);
	free(j->slots);
	free(j->response);
	/*
	 * A batch's request was parsed by a worker of the parse lane: its items array (5.3 MB
	 * for 10,000 reports) is a block mapped alone, its strings fill that worker's malloc
	 * arena. Freed on the loop, that was an munmap there and, once the arena's free top
	 * passed glibc's trim threshold, an madvise; so a large one is freed by a worker.
	 */
	if (j->req && j->req->n_items * sizeof(*j->req->items) >= NODE_HEAP_MMAP)
		node_workq_release(j->ing->loop, request_free, j->req);
	else
		node_request_free(j->req);
	node_snap_unref(j->snap);
	free(j);
}

/* Field path of an item's field: "tlp" for a single report, "reports[3].tlp" in a batch. */
static void item_field(const struct job *j, size_t i, const char *name, char *out, size_t len)
{
	if (j->req->batch)
		snprintf(out, len, "reports[%zu]%s%s", i, *name ? "." : "", name);
	else
		snprintf(out, len, "%s", name);
}

static void item_fail(struct job *j, size_t i, int code, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void item_fail(struct job *j, size_t i, int code, const char *name, const char *fmt, ...)
{
	struct node_req_error *e = &j->req->items[i].error;
	char field[64];
	va_list ap;

	item_field(j, i, name, field, sizeof(field));
	e->code = code;
	snprintf(e->field, sizeof(e->field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ sign + admit (pool) */

/*
 * Anonymous provenance: a linkable ring signature (proto/ring.h) over the ring keys of the
 * newest roster. The ring is the whole roster (indexes omitted from the report) unless the
 * roster is larger than a report's ring may be; then it is a uniformly random set of
 * PROTO_REPORT_RING_MAX members that includes this node. check_item() made sure this node
 * is in the roster with our ring key and that the ring meets min_ring_size.
 */
static int sign_anonymous(struct job *j, struct proto_report *r, struct slot *s)
{
	const struct proto_roster *ros = j->snap->newest;
	const struct proto_keys *keys = j->ing->keys;
	size_t n = ros->n_members, k = n, signer = (size_t)j->snap->own_index;
	uint8_t ind_id[32], (*ring)[32] = NULL, *body = NULL, *msg = NULL, *sig = NULL;
	size_t body_len, sig_len, dom = strlen(PROTO_REPORT_DOMAIN);
	int err;

	r->prov = PROTO_PROV_ANONYMOUS;
	r->ring_n = 0;
	if (n > PROTO_REPORT_RING_MAX) {
		k = PROTO_REPORT_RING_MAX;
		err = proto_ring_pick(r->ring, k, n, signer);
		if (err < 0)
			return err;
		r->ring_n = k;
		signer = (size_t)err;
	}
	proto_indicator_id_raw(r->ind_type, r->ind_value.ptr, r->ind_value.len, ind_id);
	err = proto_ring_tag(r->link_tag, keys->ring_sk, ind_id);
	if (err)
		return err;
	err = proto_report_encode_body(r, &body, &body_len);
	if (err)
		return err;
	sig_len = proto_ring_sig_size(k);
	ring = malloc(k * sizeof(*ring));
	msg = malloc(dom + body_len);
	sig = malloc(sig_len);
	if (!ring || !msg || !sig) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t m = 0; m < k; m++)
		memcpy(ring[m], ros->members[r->ring_n ? r->ring[m] : m].ring_pk, 32);
	memcpy(msg, PROTO_REPORT_DOMAIN, dom);
	memcpy(msg + dom, body, body_len);
	err = proto_ring_sign(sig, sig_len, msg, dom + body_len, r->epoch,
			      (const uint8_t(*)[32])ring, k, signer, keys->ring_sk, ind_id);
	if (!err)
		err = proto_report_assemble(body, body_len, sig, sig_len, &s->bytes, &s->len);
out:
	free(ring);
	free(msg);
	free(sig);
	free(body);
	return err;
}

/*
 * Whether item @it's tags and description, read together (one name may be split across
 * any two of them, as redaction reads them), name a member other than this node. Stopping it here,
 * before signing, is cheaper than redacting it later: the report would stay as written
 * inside the community, but every export would carry "[member]" where the author meant a
 * name. 1: named, 0: not, -ENOMEM.
 */
static int names_other_member(const struct job *j, const struct node_req_item *it)
{
	const char *text[PROTO_REPORT_TAGS_MAX + 1];
	size_t len[PROTO_REPORT_TAGS_MAX + 1], n = 0;

	if (it->allow_names || !j->snap->redactor)
		return 0;
	for (size_t t = 0; t < it->n_tags && n < PROTO_REPORT_TAGS_MAX; t++) {
		text[n] = it->tags[t];
		len[n++] = strlen(it->tags[t]);
	}
	if (it->description) {
		text[n] = it->description;
		len[n++] = strlen(it->description);
	}
	if (n == 0)
		return 0;
	return policy_redact_names_fields(j->snap->redactor, text, len, n, j->ing->keys->id_pk,
					  NULL);
}

static int sign_item(struct job *j, size_t i, struct slot *s, struct proto_report *dec)
{
	const struct node_req_item *it = &j->req->items[i];
	const struct node_snap *snap = j->snap;
	struct proto_report r;
	int err;

	err = names_other_member(j, it);
	if (err)
		return err < 0 ? err : NODE_E_NAMES_MEMBER;

	memset(&r, 0, sizeof(r));
	memcpy(r.community, snap->pcfg.community, 32);
	r.kind = it->kind;
	r.tlp = it->tlp;
	r.confidence = it->confidence;
	r.created_ms = s->created_ms;
	r.valid_until_ms = s->valid_until_ms;
	r.ind_type = it->ind_type;
	r.ind_value.ptr = it->ind_value;
	r.ind_value.len = it->ind_len;
	r.n_tags = it->n_tags;
	for (size_t t = 0; t < it->n_tags; t++) {
		r.tags[t].ptr = it->tags[t];
		r.tags[t].len = strlen(it->tags[t]);
	}
	if (it->description) {
		r.description.ptr = it->description;
		r.description.len = strlen(it->description);
	}
	r.n_recipients = it->n_recipients;
	/* More than PROTO_REPORT_RECIPIENTS_MAX: the encoder refuses the count. */
	if (it->n_recipients && it->n_recipients <= PROTO_REPORT_RECIPIENTS_MAX)
		memcpy(r.recipients, it->recipients, it->n_recipients * 32);
	r.epoch = snap->newest->epoch;
	if (it->anonymous) {
		err = sign_anonymous(j, &r, s);
	} else {
		r.prov = PROTO_PROV_ATTRIBUTED;
		memcpy(r.signer, j->ing->keys->id_pk, 32);
		err = proto_report_sign(&r, j->ing->keys->id_sk, &s->bytes, &s->len);
	}
	if (err)
		return err;
	proto_report_id(s->bytes, s->len, s->report_id);

	struct policy_admit_ctx actx = {
		.now_ms = s->created_ms,
		.arrival = POLICY_ARRIVAL_LOCAL,
		.roster_for_epoch = node_snap_roster_cb,
		.roster_ctx = (void *)snap,
		.newest = snap->newest,
		/*
		 * Attributed: proto_report_sign() above, with our identity key. A ring signature
		 * is verified like any peer's, so a fault in the signing path can never store
		 * a report the rest of the community would refuse.
		 */
		.signed_here = !it->anonymous,
	};
	s->reason = policy_admit_check(&snap->pcfg, &actx, s->bytes, s->len, dec);
	if (s->reason != POLICY_ACCEPT)
		return NODE_E_POLICY;
	proto_report_indicator_id(dec, s->ind_id);
	return 0;
}

static void chunk_work(uv_work_t *w)
{
	struct chunk *c = w->data;
	struct job *j = c->job;
	struct proto_report *dec = calloc(c->to - c->from, sizeof(*dec));
	double t0 = mono_ms();

	j->decoded[c->from / j->per_chunk] = dec;
	for (size_t i = c->from; i < c->to; i++) {
		struct node_req_item *it = &j->req->items[i];
		struct slot *s = &j->slots[i];
		int err;

		if (it->error.code)
			continue;
		err = dec ? sign_item(j, i, s, &dec[i - c->from]) : -ENOMEM;
		if (err == NODE_E_NAMES_MEMBER)
			/* no name here: this message is logged, and logs leave the community */
			item_fail(j, i, err, "description",
				  "the description or a tag names another member of the "
				  "community: outside it every name is replaced by [member]; "
				  "publish with allow_names (chatham publish --allow-names) to "
				  "sign it as written");
		else if (err == NODE_E_POLICY)
			item_fail(j, i, err, "", "refused by admission policy: %s (%s)",
				  policy_admit_reason_text(s->reason),
				  policy_admit_reason_name(s->reason));
		else if (err)
			item_fail(j, i, err, "", "cannot build the report: %s",
				  proto_error_str(err));
	}
	log_debug("ingest: signed and admitted %zu report(s) in %.1f ms", c->to - c->from,
		  mono_ms() - t0);
}

static void start_commit(struct node_ingest *ing);
static void start_waiting(struct node_ingest *ing);

static void chunk_done(uv_work_t *w, int status)
{
	struct chunk *c = w->data;
	struct job *j = c->job;

	if (status == UV_ECANCELED)
		for (size_t i = c->from; i < c->to; i++)
			if (!j->req->items[i].error.code)
				item_fail(j, i, NODE_E_SHUTDOWN, "", "node is shutting down");
	free(c);
	if (--j->chunks_left)
		return;
	j->ing->jobs_signing--;
	j->next = NULL;
	*j->ing->ready_tail = j;
	j->ing->ready_tail = &j->next;
	start_commit(j->ing);
}

/* ------------------------------------------------------------------ commit (pool) */

static json_t *item_result(const struct job *j, size_t i, bool with_value)
{
	const struct node_req_item *it = &j->req->items[i];
	const struct slot *s = &j->slots[i];
	char rid[65], iid[65], ts[40];

	if (it->error.code) {
		json_t *e = node_req_error_json(&it->error);
		if (e && it->error.code == NODE_E_POLICY)
			json_object_set_new(e, "reason",
					    json_string(policy_admit_reason_name(s->reason)));
		return json_pack("{s:b, s:o*}", "ok", 0, "error", e);
	}
	json_t *o = json_pack("{s:b, s:s, s:s, s:s, s:s}", "ok", 1, "result",
			      s->result == STORE_NEW ? "new" : "duplicate", "report_id",
			      proto_hex_encode(rid, s->report_id, 32), "indicator_id",
			      proto_hex_encode(iid, s->ind_id, 32), "created",
			      node_req_time_format(s->created_ms, ts, sizeof(ts)));
	if (o && with_value) {
		json_object_set_new(o, "type",
				    json_string(proto_indicator_type_name(it->ind_type)));
		json_object_set_new(o, "value", json_string(it->ind_value));
	}
	return o;
}

/* Builds the job's response text (runs in the pool; jansson objects are not shared). */
static void build_response(struct job *j)
{
	json_t *resp;

	if (!j->req->batch) {
		const struct node_req_item *it = &j->req->items[0];
		resp = it->error.code ? node_req_error_response(NULL, &it->error)
				      : item_result(j, 0, true);
		if (resp && it->error.code == NODE_E_POLICY)
			json_object_set_new(
				json_object_get(resp, "error"), "reason",
				json_string(policy_admit_reason_name(j->slots[0].reason)));
	} else {
		size_t acc = 0, dup = 0, rej = 0;
		json_t *results = json_array();
		for (size_t i = 0; results && i < j->req->n_items; i++) {
			if (j->req->items[i].error.code)
				rej++;
			else if (j->slots[i].result == STORE_NEW)
				acc++;
			else
				dup++;
			if (json_array_append_new(results, item_result(j, i, false))) {
				json_decref(results);
				results = NULL;
			}
		}
		resp = results ? json_pack("{s:b, s:I, s:I, s:I, s:o}", "ok", 1, "accepted",
					   (json_int_t)acc, "duplicates", (json_int_t)dup,
					   "rejected", (json_int_t)rej, "results", results)
			       : NULL;
		/*
		 * Nothing of the batch was stored because the store failed (disk or map full):
		 * that is the request's failure, not one of its items, so say so at the top
		 * level; a client that only looks at "ok" must not count it as done.
		 */
		if (resp && j->store_err && !acc && !dup) {
			struct node_req_error e;

			node_req_error_set(&e, j->store_err, NULL,
					   "nothing of this batch was stored: %s%s",
					   proto_error_str(j->store_err),
					   j->store_err == -ENOSPC
						   ? " (free space on the disk of [node] state_dir)"
						   : "");
			json_object_set_new(resp, "ok", json_false());
			json_object_set_new(resp, "error", node_req_error_json(&e));
		}
	}
	if (resp && j->req->id)
		json_object_set(resp, "id", j->req->id);
	j->response = resp ? json_dumps(resp, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	json_decref(resp);
}

static void commit_work(uv_work_t *w)
{
	struct commit *cm = w->data;
	struct store_item *items;
	size_t n = 0, k = 0;

	node_prio_worker(); /* the loop thread first (node/common/prio.h) */

	for (struct job *j = cm->jobs; j; j = j->next)
		for (size_t i = 0; i < j->req->n_items; i++)
			n += !j->req->items[i].error.code;
	double t0 = mono_ms(), t1 = t0;
	items = n ? calloc(n, sizeof(*items)) : NULL;
	if (n && !items) {
		cm->err = -ENOMEM;
	} else if (n) {
		for (struct job *j = cm->jobs; j; j = j->next) {
			for (size_t i = 0; i < j->req->n_items; i++) {
				const struct node_req_item *it = &j->req->items[i];
				struct slot *s = &j->slots[i];
				struct store_item *si;
				if (it->error.code)
					continue;
				si = &items[k++];
				si->bytes = s->bytes;
				si->len = s->len;
				memcpy(si->report_id, s->report_id, 32);
				si->r = &j->decoded[i / j->per_chunk][i % j->per_chunk];
				si->env.received_ms = s->created_ms;
				si->env.local = true;
				if (it->tlp >= PROTO_TLP_AMBER && it->n_recipients) {
					si->outbox_to = it->recipients[0];
					si->n_outbox = it->n_recipients;
				}
			}
		}
		cm->err = store_ingest(cm->ing->store, items, n, cm->now_ms);
		t1 = mono_ms();
	}
	k = 0;
	for (struct job *j = cm->jobs; j; j = j->next) {
		for (size_t i = 0; i < j->req->n_items; i++) {
			struct node_req_item *it = &j->req->items[i];
			struct slot *s = &j->slots[i];
			if (it->error.code)
				continue;
			const struct store_item *si = &items[k++];
			int res = cm->err ? cm->err : si->result;
			if (cm->err)
				j->store_err = cm->err;
			if (res == STORE_NEW || res == STORE_DUP) {
				s->result = res;
				memcpy(s->ind_id, si->ind_id, 32);
				j->n_new += res == STORE_NEW;
			} else if (res == STORE_E_MAP_FULL) {
				item_fail(j, i, res, "", "%s", proto_error_str(res));
			} else {
				item_fail(j, i, res, "", "not stored: %s", proto_error_str(res));
			}
		}
		build_response(j);
		job_release_reports(j);
	}
	free(items);
	log_debug("ingest: stored %zu report(s) in %.1f ms, responses built in %.1f ms", n, t1 - t0,
		  mono_ms() - t1);
}

/* ------------------------------------------------------------------ announce (loop) */

/*
 * Committed new reports reach the report hook (the dissemination driver: gossip, stem or
 * outbox) in order, in slices of at most NODE_INGEST_ANNOUNCE_SLICE_US of loop time, one
 * slice per loop iteration; the first slice runs in the commit's completion, so a small
 * publish is handed over at once as before. Each hand-over costs the driver an encrypted
 * send per eager link (a store read each): a 5,000-report batch in one callback was 75-85
 * ms of the loop thread's CPU on the 16-node burst (docs/PERFORMANCE.md), every link and
 * client of the node waiting meanwhile. The idle handle keeps the loop polling without
 * blocking while slices remain, so links and clients are served between them. The hook
 * gets the report's `created` and provenance from the ingest, which built the report, so
 * the driver does not read it back from the store (and decode it) to learn them.
 */
static void announce_slice(struct node_ingest *ing)
{
	uint64_t t0 = uv_hrtime();

	while (ing->ann_head < ing->ann_len) {
		struct node_ingest_report a = ing->ann[ing->ann_head++];

		if (ing->on_report)
			ing->on_report(ing->report_ctx, &a);
		if (uv_hrtime() - t0 >= NODE_INGEST_ANNOUNCE_SLICE_US * 1000ull)
			break;
	}
	if (ing->ann_head < ing->ann_len)
		return;
	ing->ann_head = ing->ann_len = 0;
	if (ing->ann_cap > 4096) {
		/* Give back the memory of a large batch. */
		free(ing->ann);
		ing->ann = NULL;
		ing->ann_cap = 0;
	}
}

static void on_announce(uv_idle_t *h)
{
	struct node_ingest *ing = h->data;

	announce_slice(ing);
	if (ing->ann_head == ing->ann_len)
		uv_idle_stop(h);
}

static void announce_add(struct node_ingest *ing, const struct node_ingest_report *r)
{
	if (!ing->on_report)
		return;
	if (ing->ann_closed) {
		ing->on_report(ing->report_ctx, r);
		return;
	}
	if (ing->ann_len == ing->ann_cap && ing->ann_head) {
		memmove(ing->ann, ing->ann + ing->ann_head,
			(ing->ann_len - ing->ann_head) * sizeof(*ing->ann));
		ing->ann_len -= ing->ann_head;
		ing->ann_head = 0;
	}
	if (proto_array_grow((void **)&ing->ann, &ing->ann_cap, ing->ann_len + 1,
			     sizeof(*ing->ann))) {
		/* Out of memory: hand it over now (out of order, which gossip does not mind). */
		ing->on_report(ing->report_ctx, r);
		return;
	}
	ing->ann[ing->ann_len++] = *r;
}

/* Runs the first slice now and the rest in later loop iterations. */
static void announce_start(struct node_ingest *ing)
{
	if (ing->ann_head == ing->ann_len)
		return;
	announce_slice(ing);
	if (ing->ann_head == ing->ann_len)
		return;
	if (!ing->ann_open) {
		uv_idle_init(ing->loop, &ing->ann_idle); /* cannot fail on an initialised loop */
		ing->ann_idle.data = ing;
		ing->ann_open = true;
	}
	uv_idle_start(&ing->ann_idle, on_announce);
}

static void commit_done(uv_work_t *w, int status)
{
	struct commit *cm = w->data;
	struct node_ingest *ing = cm->ing;
	size_t n_new = 0;

	if (status == UV_ECANCELED) {
		/* Never started: nothing was stored. Answer every item as refused. */
		for (struct job *j = cm->jobs; j; j = j->next) {
			for (size_t i = 0; i < j->req->n_items; i++)
				if (!j->req->items[i].error.code)
					item_fail(j, i, NODE_E_SHUTDOWN, "",
						  "node is shutting down");
			build_response(j);
		}
	} else if (cm->err) {
		log_err("store: commit of a publish batch failed: %s", proto_error_str(cm->err));
	}
	ing->st.commits++;
	for (struct job *j = cm->jobs, *next; j; j = next) {
		next = j->next;
		for (size_t i = 0; i < j->req->n_items; i++) {
			const struct node_req_item *it = &j->req->items[i];
			if (it->error.code) {
				ing->st.rejected++;
				if (it->error.code == NODE_E_POLICY &&
				    j->slots[i].reason < POLICY_REASON_COUNT)
					ing->st.refused[j->slots[i].reason]++;
			} else if (j->slots[i].result == STORE_NEW) {
				struct node_ingest_report r = {
					.created_ms = j->slots[i].created_ms,
					.tlp = it->tlp,
					.anonymous = it->anonymous,
				};

				memcpy(r.id, j->slots[i].report_id, 32);
				ing->st.accepted++;
				announce_add(ing, &r);
			} else {
				ing->st.duplicates++;
			}
		}
		ing->st.pending_items -= j->req->n_items;
		ing->running_items -= j->req->n_items;
		n_new += j->n_new;
		char *text = j->response;
		j->response = NULL;
		j->done(j->arg, text);
		job_free(j);
	}
	free(cm);
	ing->committing = false;
	announce_start(ing);
	if (n_new && ing->on_commit)
		ing->on_commit(ing->ctx);
	start_commit(ing);
	start_waiting(ing);
}

static void start_commit(struct node_ingest *ing)
{
	struct commit *cm;

	if (ing->committing || !ing->ready)
		return;
	cm = calloc(1, sizeof(*cm));
	if (!cm) {
		/* Retried when the next job becomes ready; nothing is lost meanwhile. */
		log_err("ingest: out of memory starting a commit");
		return;
	}
	cm->ing = ing;
	cm->jobs = ing->ready;
	cm->now_ms = 0;
	for (struct job *j = cm->jobs; j; j = j->next)
		for (size_t i = 0; i < j->req->n_items; i++)
			if (j->slots[i].created_ms > cm->now_ms)
				cm->now_ms = j->slots[i].created_ms;
	cm->work.data = cm;
	ing->ready = NULL;
	ing->ready_tail = &ing->ready;
	ing->committing = true;
	/* node_workq_queue() fails only for a NULL work callback. */
	int r = node_workq_queue(ing->loop, &cm->work, commit_work, commit_done);
	assert(r == 0);
	(void)r;
}

/* ------------------------------------------------------------------ submit (loop) */

struct dup_key {
	uint64_t hash;
	size_t idx;
};

static uint64_t item_hash(const struct node_req_item *it)
{
	uint64_t h = 1469598103934665603ull ^ it->ind_type;

	for (size_t i = 0; i < it->ind_len; i++) {
		h ^= (unsigned char)it->ind_value[i];
		h *= 1099511628211ull;
	}
	return h;
}

static int cmp_dup(const void *a, const void *b)
{
	const struct dup_key *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * Gives each repeat of an indicator within the batch a creation time 1 ms after the
 * previous one. Returns the largest offset used, or -ENOMEM.
 */
static long spread_repeats(struct job *j, uint64_t base)
{
	size_t n = j->req->n_items, m = 0;
	struct dup_key *keys;
	long lead = 0;

	for (size_t i = 0; i < n; i++)
		j->slots[i].created_ms = base;
	if (n < 2)
		return 0;
	keys = malloc(n * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!j->req->items[i].error.code)
			keys[m++] = (struct dup_key){item_hash(&j->req->items[i]), i};
	qsort(keys, m, sizeof(*keys), cmp_dup);
	for (size_t a = 0; a < m;) {
		size_t b = a + 1;
		while (b < m && keys[b].hash == keys[a].hash)
			b++;
		/* Within one hash run, count earlier items with the very same indicator. */
		for (size_t x = a + 1; x < b; x++) {
			const struct node_req_item *ix = &j->req->items[keys[x].idx];
			long k = 0;
			for (size_t y = a; y < x; y++) {
				const struct node_req_item *iy = &j->req->items[keys[y].idx];
				if (iy->ind_type == ix->ind_type && iy->ind_len == ix->ind_len &&
				    !memcmp(iy->ind_value, ix->ind_value, ix->ind_len))
					k++;
			}
			j->slots[keys[x].idx].created_ms = base + (uint64_t)k;
			if (k > lead)
				lead = k;
		}
		a = b;
	}
	free(keys);
	return lead;
}

/*
 * Whether this node can sign item @i anonymously under the newest roster; fails the item
 * with the reason an operator can act on otherwise. The ring size rule is the one
 * admission applies (policy/admit.h, RING_TOO_SMALL), checked here to name the numbers.
 */
static bool check_anonymous(struct job *j, size_t i)
{
	const struct proto_roster *newest = j->snap->newest;
	int own = j->snap->own_index;
	size_t k = newest->n_members;

	if (own < 0) {
		item_fail(j, i, PROTO_E_REPORT_PROVENANCE, "anonymous",
			  "this node is not a member of roster epoch %llu: it cannot sign "
			  "anonymously",
			  (unsigned long long)newest->epoch);
		return false;
	}
	if (!proto_ct_equal(newest->members[own].ring_pk, j->ing->keys->ring_pk, 32)) {
		item_fail(j, i, PROTO_E_RING_SIGNER, "anonymous",
			  "roster epoch %llu lists another ring key for this node than the one "
			  "in its key file",
			  (unsigned long long)newest->epoch);
		return false;
	}
	if (k > PROTO_REPORT_RING_MAX)
		k = PROTO_REPORT_RING_MAX;
	if (k < newest->settings.min_ring_size) {
		item_fail(j, i, PROTO_E_RING_SIZE, "anonymous",
			  "the community's minimum ring size is %u members but roster epoch %llu "
			  "has %zu: too few members to hide among",
			  (unsigned)newest->settings.min_ring_size,
			  (unsigned long long)newest->epoch, k);
		return false;
	}
	return true;
}

static void check_item(struct job *j, size_t i)
{
	struct node_req_item *it = &j->req->items[i];
	struct slot *s = &j->slots[i];
	const struct proto_roster *newest = j->snap->newest;

	if (it->error.code)
		return;
	if (it->ttl_ms)
		s->valid_until_ms = s->created_ms + it->ttl_ms;
	else
		s->valid_until_ms = it->valid_until_ms;
	if (s->valid_until_ms && s->valid_until_ms <= s->created_ms) {
		item_fail(j, i, PROTO_E_REPORT_TIME, "valid_until",
			  "valid_until is not in the future");
		return;
	}
	if (it->anonymous && !check_anonymous(j, i))
		return;
	/*
	 * Only a claim of maliciousness puts a value into blocklists: a sighting, a false
	 * positive or a revoke of a warninglisted value stays allowed.
	 */
	if (it->kind == PROTO_KIND_INDICATOR && !it->allow_warninglisted) {
		struct proto_indicator ind = {.type = it->ind_type, .len = it->ind_len};
		const char *list;

		memcpy(ind.value, it->ind_value, (size_t)it->ind_len + 1);
		list = policy_warnlist_match(j->snap->pcfg.warnlist, &ind);
		if (list && !strcmp(list, POLICY_WARNLIST_PREFIX)) {
			item_fail(
				j, i, NODE_E_WARNINGLISTED, "value",
				"the network is broader than [policy] min_prefix_ipv4/ipv6 allow "
				"(as a blocklist entry it blocks far more than one attacker); set "
				"allow_warninglisted to publish it anyway");
			return;
		}
		if (list) {
			item_fail(j, i, NODE_E_WARNINGLISTED, "value",
				  "the value is on the warninglist \"%s\" (values that must never "
				  "be blocked); set allow_warninglisted to publish it anyway",
				  list);
			return;
		}
	}
	for (size_t r = 0; r < it->n_recipients; r++) {
		if (proto_roster_find_member(newest, it->recipients[r]) < 0) {
			char hex[65];
			item_fail(j, i, PROTO_E_REPORT_RECIPIENTS, "recipients",
				  "recipient %.16s... is not a member of roster epoch %llu",
				  proto_hex_encode(hex, it->recipients[r], 32),
				  (unsigned long long)newest->epoch);
			return;
		}
	}
}

/* Signs and admits @j in the pool. On -ENOMEM @j is freed (with its request). */
static int job_start(struct job *j, uint64_t now_ms)
{
	struct node_ingest *ing = j->ing;
	struct node_request *req = j->req;
	size_t n = req->n_items, n_chunks;
	uint64_t base;
	long lead;

	j->slots = calloc(n, sizeof(*j->slots));
	if (!j->slots)
		goto oom;

	base = now_ms;
	if (ing->last_created_ms >= base && ing->last_created_ms - base < LEAD_MAX_MS)
		base = ing->last_created_ms + 1;
	lead = spread_repeats(j, base);
	if (lead < 0)
		goto oom;
	ing->last_created_ms = base + (uint64_t)lead;
	for (size_t i = 0; i < n; i++)
		check_item(j, i);

	size_t per_chunk = CHUNK_ITEMS;
	for (size_t i = 0; i < n; i++)
		if (req->items[i].anonymous && !req->items[i].error.code)
			per_chunk = ANON_CHUNK_ITEMS;
	n_chunks = (n + per_chunk - 1) / per_chunk;
	j->per_chunk = per_chunk;
	j->n_chunks = n_chunks;
	j->decoded = calloc(n_chunks, sizeof(*j->decoded));
	struct chunk **chunks = j->decoded ? calloc(n_chunks, sizeof(*chunks)) : NULL;
	if (!chunks)
		goto oom;
	for (size_t c = 0; c < n_chunks; c++) {
		chunks[c] = calloc(1, sizeof(**chunks));
		if (!chunks[c]) {
			for (size_t d = 0; d < c; d++)
				free(chunks[d]);
			free(chunks);
			goto oom;
		}
	}
	ing->jobs_signing++;
	ing->running_items += n;
	j->chunks_left = n_chunks;
	for (size_t c = 0; c < n_chunks; c++) {
		struct chunk *ch = chunks[c];
		ch->job = j;
		ch->from = c * per_chunk;
		ch->to = ch->from + per_chunk < n ? ch->from + per_chunk : n;
		ch->work.w.data = ch;
		node_pool_submit(&ing->sign, &ch->work, chunk_work, chunk_done);
	}
	free(chunks);
	return 0;
oom:
	job_free(j);
	return -ENOMEM;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool fits(const struct node_ingest *ing, size_t n)
{
	return ing->running_items == 0 || ing->running_items + n <= NODE_INGEST_RUNNING_MAX;
}

/* Starts queued requests, in arrival order, while they fit. */
static void start_waiting(struct node_ingest *ing)
{
	while (ing->waiting && fits(ing, ing->waiting->req->n_items)) {
		struct job *j = ing->waiting;
		size_t n = j->req->n_items;
		node_ingest_done_fn done = j->done;
		void *arg = j->arg;

		ing->waiting = j->next;
		if (!ing->waiting)
			ing->waiting_tail = &ing->waiting;
		j->next = NULL;
		if (job_start(j, wall_ms())) {
			ing->st.pending_items -= n;
			done(arg, NULL); /* answered "out of memory"; the job is gone */
		}
	}
}

int node_ingest_submit(struct node_ingest *ing, struct node_snap *snap, struct node_request *req,
		       uint64_t now_ms, node_ingest_done_fn done, void *arg)
{
	struct job *j = calloc(1, sizeof(*j));
	size_t n = req->n_items;
	int r;

	if (!j) {
		node_request_free(req);
		return -ENOMEM;
	}
	j->ing = ing;
	j->req = req;
	j->snap = node_snap_ref(snap);
	j->done = done;
	j->arg = arg;
	ing->st.pending_items += n;
	if (ing->waiting || !fits(ing, n)) {
		/*
		 * Signing slots and decoded reports cost about 3.5 KiB per item: only
		 * NODE_INGEST_RUNNING_MAX items are worked on at once, later requests wait
		 * here as parsed requests, in order.
		 */
		*ing->waiting_tail = j;
		ing->waiting_tail = &j->next;
		return 0;
	}
	r = job_start(j, now_ms);
	if (r)
		ing->st.pending_items -= n;
	return r;
}
