/* SPDX-License-Identifier: MIT */
/*
 * The notice engine (notices.h). Operations queue on the loop thread; one job in the
 * thread pool takes every waiting operation, does the verification, signing and reading it
 * needs, and commits everything in ONE transaction of the notice environment; only then, back
 * on the loop, are NOTICE_ACKs sent and API requests answered. A copy acknowledged, or a
 * notice an operator was told is queued, has therefore always been committed first.
 * The listing, the renderings and the local notices are in notices_views.c.
 */
#include "node/daemon/notices.h"
#include "node/daemon/notices_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "node/common/log.h"
#include "node/common/workq.h"
#include "node/format/form.h"
#include "node/format/member.h"
#include "policy/egress.h"
#include "proto/array.h"
#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/link.h"
#include "proto/notice.h"
#include "proto/report.h"
#include "store/store.h"

#define SCAN_MS 1000

/* ------------------------------------------------------------------ helpers */

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void op_free(struct op *o)
{
	free(o->bytes);
	node_request_free(o->req);
	free(o->text);
	free(o);
}

char *node_notices_error_text(json_t *id, int code, const char *field, const char *msg)
{
	struct node_req_error e;
	json_t *r;
	char *t;

	node_req_error_set(&e, code, field, "%s", msg);
	r = node_req_error_response(id, &e);
	t = r ? json_dumps(r, JSON_COMPACT) : NULL;
	json_decref(r);
	return t;
}

char *node_notices_ok_text(json_t *id, json_t *body)
{
	char *t;

	if (!body)
		return NULL;
	json_object_set_new(body, "ok", json_true());
	if (id)
		json_object_set(body, "id", id);
	t = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	return t;
}

json_t *node_notices_member_json(const struct proto_roster *r, const uint8_t id[32])
{
	int i = r ? proto_roster_find_member(r, id) : -1;
	char hex[65];

	return json_pack("{s:s, s:s?}", "member_id", proto_hex_encode(hex, id, 32), "name",
			 i >= 0 ? r->members[i].name : NULL);
}

/* Queue a message (@bytes owned by the job when @own) for the commit. */
int node_notices_add_msg(struct job *j, const uint8_t id[16], uint8_t flags, uint8_t *bytes,
			 size_t len, bool own)
{
	struct store_notice_msg *m;
	size_t cap = j->cap_msgs;

	if (proto_array_grow((void **)&j->msgs, &j->cap_msgs, j->n_msgs + 1, sizeof(*j->msgs)) ||
	    (j->cap_msgs != cap &&
	     proto_array_grow((void **)&j->owned, &cap, j->cap_msgs, sizeof(*j->owned)))) {
		j->cap_msgs = cap; /* owned[] must hold as many as msgs[] */
		if (own)
			free(bytes);
		return -ENOMEM;
	}
	m = &j->msgs[j->n_msgs];
	memcpy(m->id, id, 16);
	m->flags = flags;
	m->time_ms = j->now;
	m->bytes = bytes;
	m->len = len;
	m->replace = false;
	j->owned[j->n_msgs++] = own ? bytes : NULL; /* freed with the job */
	return 0;
}

static int add_out(struct job *j, bool del, const uint8_t id[16], const uint8_t to[32],
		   uint64_t next, uint32_t attempts)
{
	struct store_notice_out **arr = del ? &j->dels : &j->puts;
	size_t *n = del ? &j->n_dels : &j->n_puts, *cap = del ? &j->cap_dels : &j->cap_puts;
	struct store_notice_out *e;

	if (proto_array_grow((void **)arr, cap, *n + 1, sizeof(**arr)))
		return -ENOMEM;
	e = &(*arr)[(*n)++];
	memcpy(e->id, id, 16);
	memcpy(e->recipient, to, 32);
	e->next_attempt_ms = next;
	e->attempts = attempts;
	if (!del)
		j->queued_out = true;
	return 0;
}

static int add_refusal(struct job *j, const struct op *o)
{
	struct store_notice_refusal *e;

	if (proto_array_grow((void **)&j->refusals, &j->cap_refusals, j->n_refusals + 1,
			     sizeof(*j->refusals)))
		return -ENOMEM;
	e = &j->refusals[j->n_refusals++];
	memcpy(e->id, o->id, 16);
	memcpy(e->recipient, o->peer, 32);
	e->reason = o->refusal;
	e->time_ms = j->now;
	e->applied = false;
	return 0;
}

/* Sign @nt (from this node) and queue it with an outbox entry for its `to`. */
static int send_new(struct job *j, struct proto_notice *nt)
{
	uint8_t *bytes;
	size_t len;
	int rc;

	memcpy(nt->community, j->n->community, 32);
	memcpy(nt->from, j->n->keys->id_pk, 32);
	nt->created_ms = j->now;
	rc = proto_notice_sign(nt, j->n->keys->id_sk, &bytes, &len);
	if (rc)
		return rc;
	rc = node_notices_add_msg(j, nt->id, STORE_NOTICE_OUT, bytes, len, true);
	return rc ? rc : add_out(j, false, nt->id, nt->to, 0, 0);
}

/* A NUL-terminated copy of @len bytes at @p, or NULL (no memory, or a NUL inside). */
static char *text_copy(const char *p, size_t len)
{
	char *s;

	if (memchr(p, 0, len))
		return NULL;
	s = malloc(len + 1);
	if (s) {
		memcpy(s, p, len);
		s[len] = 0;
	}
	return s;
}

/* Whether a form's JSON text @p is a valid form (node/format/form.h). */
static bool form_ok(const char *p, size_t len, char *why, size_t why_len)
{
	json_error_t je;
	json_t *doc = json_loadb(p, len, JSON_REJECT_DUPLICATES, &je);
	struct node_form_error fe;
	bool ok = doc && json_is_object(doc) && node_form_validate(doc, &fe) == 0;

	if (!ok)
		snprintf(why, why_len, "form %.96s%s%.120s", doc ? fe.field : "", doc ? ": " : "",
			 doc ? fe.message : je.text);
	json_decref(doc);
	return ok;
}

/* ------------------------------------------------------------------ quota */

/*
 * Quota: the bytes of the signed messages (notices and statuses) each member signed that
 * the notice store holds, per signing key (a member that replaced its keys starts a new
 * count: the roster's stewards decided that). The store keeps each signer's total, written
 * in the transaction of the messages it counts (store/notice.h signers), so nothing is
 * counted at start. A job reads a signer's total the first time one of its notices comes,
 * and adds what it puts in its batch; the figures are forgotten at the job's end, because
 * the next job reads them again from the store. Only jobs touch them, one at a time.
 */
struct quota_use {
	uint8_t id[32];
	uint64_t bytes;	  /* stored, and in the running job's batch */
	uint32_t refused; /* notices refused in the running job (one warning per job) */
};

/* @id's figure in the running job, read from the store the first time. */
static int quota_find(struct node_notices *n, const uint8_t id[32], struct quota_use **out)
{
	struct quota_use *q;
	int rc;

	for (size_t i = 0; i < n->n_quota; i++)
		if (!memcmp(n->quota[i].id, id, 32)) {
			*out = &n->quota[i];
			return 0;
		}
	if (proto_array_grow((void **)&n->quota, &n->cap_quota, n->n_quota + 1, sizeof(*n->quota)))
		return -ENOMEM;
	q = &n->quota[n->n_quota];
	if ((rc = store_notices_signer_bytes(n->st, id, &q->bytes)) != 0)
		return rc;
	memcpy(q->id, id, 32);
	q->refused = 0;
	n->n_quota++;
	*out = q;
	return 0;
}

/* ------------------------------------------------------------------ the job: receiving */

static bool in_batch(const struct job *j, const uint8_t id[16])
{
	for (size_t i = 0; i < j->n_msgs; i++)
		if (!memcmp(j->msgs[i].id, id, 16))
			return true;
	return false;
}

/* A status without a handle must answer a notice this node sent to @peer. */
static bool answers_ours(struct job *j, const struct proto_notice *s, const uint8_t peer[32])
{
	struct proto_notice t;
	uint8_t *bytes = NULL, flags = 0;
	size_t len;
	bool ok;

	if (store_notices_get(j->n->st, s->thread, &flags, &bytes, &len))
		return false;
	ok = (flags & STORE_NOTICE_OUT) && !proto_notice_decode(bytes, len, &t) &&
	     t.kind == PROTO_NOTICE_KIND_NOTICE && !memcmp(t.to, peer, 32);
	free(bytes);
	return ok;
}

/*
 * Decide on a received NOTICE (@o). Returns 0 (accepted: stored, forwarded as needed, and
 * to be acknowledged) or a refusal code with @why filled; o->blame is set when the refusal
 * is for something no honest member sends (a notice that does not decode or verify, one for
 * another community, signed by another member than the link's, or addressed to another
 * node than this one or a key this node retired), which the loop charges to the sender's
 * abuse budget. Refusals an honest sender can meet (a roster or form this node does not
 * have yet, a status for a notice this node no longer holds) are not charged: the sender
 * retries them. o->refusal is the reason to answer with NOTICE_REFUSED when the same
 * notice would be refused again whatever happens (enum proto_notice_refusal: a form this
 * node does not have, too, until an operator sends it again), 0 when it may pass later (an
 * undecodable message has no id to answer; a sender not in our roster may be in its next
 * epoch; a notice to a key this node retired is re-addressed by its sender; our own
 * failure) and the sender should go on retrying. A notice over its signer's quota is
 * refused with NODE_E_QUOTA and not answered either (the operator may raise the quota; the
 * warning is logged once per member by job_work()).
 */
static int receive(struct job *j, struct op *o, char *why, size_t why_len)
{
	const struct proto_roster *r = j->snap->newest;
	const uint8_t *own = j->n->keys->id_pk;
	struct proto_notice nt, fw;
	struct quota_use *q;
	uint8_t *dup = NULL;
	size_t dup_len;
	bool from_ok;
	int rc = proto_notice_decode(o->bytes, o->len, &nt);

	if (rc) {
		o->blame = rc != -ENOMEM;
		snprintf(why, why_len, "%s", proto_error_str(rc));
		return rc;
	}
	memcpy(o->id, nt.id, 16);
	/*
	 * Signed by the member whose link delivered it, or by an id that member replaced since
	 * (what it signed before its rotation and had not delivered yet).
	 */
	from_ok = policy_egress_answers_for(r, o->peer, nt.from);
	if (memcmp(nt.community, j->n->community, 32) || !from_ok || memcmp(nt.to, own, 32) ||
	    !proto_roster_current_id(r, nt.from)) {
		const uint8_t *succ = proto_roster_successor(r, nt.to);

		o->blame = memcmp(nt.community, j->n->community, 32) || !from_ok ||
			   (memcmp(nt.to, own, 32) && !(succ && !memcmp(succ, own, 32)));
		snprintf(why, why_len,
			 "not for this community and node, or not signed by the member whose link "
			 "delivered it");
		if (o->blame)
			o->refusal = PROTO_NOTICE_REFUSED_NOT_ADDRESSED;
		return NODE_E_POLICY;
	}
	if (in_batch(j, nt.id) || store_notices_get(j->n->st, nt.id, NULL, &dup, &dup_len) == 0) {
		free(dup);
		j->duplicates++;
		return 0; /* acknowledged again: our earlier ACK was lost */
	}
	memset(&fw, 0, sizeof(fw));
	if (nt.kind == PROTO_NOTICE_KIND_NOTICE) {
		if (!form_ok(nt.form, nt.form_len, why, why_len)) {
			o->refusal = PROTO_NOTICE_REFUSED_FORM;
			return NODE_E_FIELD;
		}
		if (nt.has_deliver_to) {
			/*
			 * Forward as a new notice of this node, under a reply handle; to the
			 * successor of a recipient that replaced its keys.
			 */
			const uint8_t *dto = proto_roster_current_id(r, nt.deliver_to);

			if (nt.has_handle || !dto || !memcmp(dto, own, 32)) {
				snprintf(why, why_len,
					 "deliver_to is not another member (or a notice already "
					 "forwarded)");
				o->refusal = PROTO_NOTICE_REFUSED_FORWARD;
				return NODE_E_POLICY;
			}
			fw.kind = PROTO_NOTICE_KIND_NOTICE;
			memcpy(fw.to, dto, 32);
			fw.tlp = nt.tlp;
			fw.form = text_copy(nt.form, nt.form_len);
			if (!fw.form) {
				snprintf(why, why_len, "form holds a NUL byte");
				o->refusal = PROTO_NOTICE_REFUSED_FORM;
				return NODE_E_FIELD;
			}
			fw.has_handle = true;
			proto_notice_handle_seal(fw.handle, store_notices_handle_key(j->n->st),
						 nt.from, nt.id);
		}
	} else if (nt.has_handle) {
		uint8_t notifier[32], nid[16];

		if (proto_notice_handle_open(nt.handle, store_notices_handle_key(j->n->st),
					     notifier, nid)) {
			snprintf(why, why_len, "reply handle not made by this node");
			o->refusal = PROTO_NOTICE_REFUSED_HANDLE;
			return PROTO_E_REPORT_SIG;
		}
		/* Pass the answer back to the notifier, in the notifier's thread. */
		fw.kind = PROTO_NOTICE_KIND_STATUS;
		memcpy(fw.to, notifier, 32);
		memcpy(fw.thread, nid, 16);
		fw.tlp = nt.tlp;
		fw.status = nt.status;
		if (nt.comment) {
			fw.comment = text_copy(nt.comment, nt.comment_len);
			if (!fw.comment) {
				snprintf(why, why_len, "comment holds a NUL byte");
				o->refusal = PROTO_NOTICE_REFUSED_FORM;
				return NODE_E_FIELD;
			}
		}
	} else if (!answers_ours(j, &nt, o->peer)) {
		snprintf(why, why_len, "status for a notice this node did not send to that member");
		o->refusal = PROTO_NOTICE_REFUSED_THREAD;
		return NODE_E_POLICY;
	}
	rc = quota_find(j->n, nt.from, &q);
	if (rc) {
		snprintf(why, why_len, "cannot count its member's stored notices: %s",
			 proto_error_str(rc));
	} else if (q->bytes + o->len > j->member_quota) {
		q->refused++;
		j->quota_refused++;
		snprintf(why, why_len, "its member's quota is full");
		rc = NODE_E_QUOTA;
	} else if ((rc = node_notices_add_msg(j, nt.id, 0, o->bytes, o->len, false)) == 0) {
		q->bytes += o->len;
	}
	if (rc == 0 && (fw.form || fw.kind == PROTO_NOTICE_KIND_STATUS)) {
		proto_random(fw.id, 16);
		if (fw.kind == PROTO_NOTICE_KIND_NOTICE)
			memcpy(fw.thread, fw.id, 16);
		rc = send_new(j, &fw);
		if (rc == 0)
			j->forwarded++;
		else
			snprintf(why, why_len, "cannot forward: %s", proto_error_str(rc));
	}
	free((char *)fw.form);
	free((char *)fw.comment);
	if (rc == 0)
		j->received++;
	return rc;
}

/* ------------------------------------------------------------------ the job: API */

static int notify(struct job *j, struct op *o)
{
	struct proto_notice nt = {.kind = PROTO_NOTICE_KIND_NOTICE};
	const struct proto_roster *r = j->snap->newest;
	char hex[33];
	json_t *body;
	int rc;

	proto_random(nt.id, 16);
	memcpy(nt.thread, nt.id, 16);
	nt.tlp = o->req->tlp;
	nt.form = o->req->form;
	memcpy(nt.to, o->to, 32);
	nt.has_deliver_to = o->has_deliver_to;
	memcpy(nt.deliver_to, o->deliver_to, 32);
	rc = send_new(j, &nt);
	if (rc) {
		o->text = node_notices_error_text(o->req->id, rc, "form", proto_error_str(rc));
		return rc;
	}
	body = json_pack("{s:s, s:o, s:s}", "notice", proto_hex_encode(hex, nt.id, 16), "to",
			 node_notices_member_json(r, o->has_deliver_to ? o->deliver_to : o->to),
			 "tlp", proto_tlp_name(nt.tlp));
	if (body && o->has_deliver_to)
		json_object_set_new(body, "via", node_notices_member_json(r, o->to));
	o->text = node_notices_ok_text(o->req->id, body);
	return 0;
}

struct find_ctx {
	const char *prefix;
	size_t plen;
	uint8_t id[16];
	int found; /* 0 none, 1 one, 2 more */
};

static int find_in(void *arg, const struct store_notice_msg *m)
{
	struct find_ctx *c = arg;
	struct proto_notice nt;
	char hex[33];

	if (m->flags || strncasecmp(proto_hex_encode(hex, m->id, 16), c->prefix, c->plen))
		return 0;
	if (proto_notice_decode(m->bytes, m->len, &nt) || nt.kind != PROTO_NOTICE_KIND_NOTICE)
		return 0;
	memcpy(c->id, m->id, 16);
	c->found++;
	return 0;
}

static int reply(struct job *j, struct op *o)
{
	const uint8_t *to;
	struct find_ctx c = {.prefix = o->req->notice, .plen = strlen(o->req->notice)};
	struct proto_notice t, s = {.kind = PROTO_NOTICE_KIND_STATUS};
	uint8_t *bytes = NULL;
	size_t len;
	char hex[33];
	int rc = store_notices_iter(j->n->st, NULL, find_in, &c);

	if (rc == 0 && c.found != 1) {
		o->text = node_notices_error_text(
			o->req->id, STORE_E_NOT_FOUND, "notice",
			c.found ? "matches more than one received notice; give more "
				  "of its id"
				: "no received notice has that id");
		return 0;
	}
	if (rc == 0)
		rc = store_notices_get(j->n->st, c.id, NULL, &bytes, &len);
	if (rc == 0)
		rc = proto_notice_decode(bytes, len, &t);
	if (rc == 0) {
		proto_random(s.id, 16);
		memcpy(s.thread, t.thread, 16);
		/* To the member that speaks for the notifier now (it may have replaced its keys). */
		to = proto_roster_current_id(j->snap->newest, t.from);
		memcpy(s.to, to ? to : t.from, 32);
		s.tlp = t.tlp;
		s.status = o->req->status;
		s.comment = o->req->comment;
		s.has_handle = t.has_handle;
		memcpy(s.handle, t.handle, sizeof(s.handle));
		rc = send_new(j, &s);
	}
	free(bytes);
	if (rc) {
		o->text = node_notices_error_text(o->req->id, rc, NULL, proto_error_str(rc));
		return rc;
	}
	o->text = node_notices_ok_text(o->req->id,
				       json_pack("{s:s, s:s, s:o}", "status_id",
						 proto_hex_encode(hex, s.id, 16), "status",
						 node_req_status_name(s.status), "to",
						 node_notices_member_json(j->snap->newest, s.to)));
	return 0;
}

/* ------------------------------------------------------------------ the job: roster change */

struct sweep_ctx {
	const struct proto_roster *r;
	struct store_notice_out *e; /* entries whose next hop is no longer a member */
	size_t n, cap;
};

static int sweep_one(void *arg, const struct store_notice_out *e)
{
	struct sweep_ctx *c = arg;

	if (proto_roster_current_id(c->r, e->recipient) == e->recipient)
		return 0;
	if (proto_array_grow((void **)&c->e, &c->cap, c->n + 1, sizeof(*c->e)))
		return -ENOMEM;
	c->e[c->n++] = *e;
	return 0;
}

/*
 * Re-sign our notice of outbox entry @e for @to, the successor of its next hop: the same id
 * and thread, so the recipient's duplicate check and the status replies (answers_ours())
 * keep working, and the stored message is replaced by the new one.
 */
static int reissue(struct job *j, const struct store_notice_out *e, const uint8_t to[32])
{
	struct proto_notice nt;
	uint8_t *old = NULL, *bytes = NULL, flags = 0;
	char *form = NULL, *comment = NULL;
	size_t len, blen;
	int rc = store_notices_get(j->n->st, e->id, &flags, &old, &len);

	if (rc == 0)
		rc = proto_notice_decode(old, len, &nt);
	if (rc == 0 && (!(flags & STORE_NOTICE_OUT) || memcmp(nt.to, e->recipient, 32) ||
			memcmp(nt.from, j->n->keys->id_pk, 32)))
		rc = NODE_E_POLICY; /* not a notice this node signed for that member */
	if (rc == 0) {
		/* Decoded text is borrowed and counted; signing wants it NUL-terminated. */
		memcpy(nt.to, to, 32);
		if (nt.form && !(nt.form = form = text_copy(nt.form, nt.form_len)))
			rc = -ENOMEM;
		if (nt.comment && !(nt.comment = comment = text_copy(nt.comment, nt.comment_len)))
			rc = -ENOMEM;
	}
	if (rc == 0)
		rc = proto_notice_sign(&nt, j->n->keys->id_sk, &bytes, &blen);
	free(form);
	free(comment);
	free(old);
	if (rc == 0 &&
	    (rc = node_notices_add_msg(j, e->id, STORE_NOTICE_OUT, bytes, blen, true)) == 0)
		j->msgs[j->n_msgs - 1].replace = true;
	if (rc == 0)
		rc = add_out(j, true, e->id, e->recipient, 0, 0);
	return rc ? rc : add_out(j, false, e->id, to, 0, 0);
}

/* Forget what the first commit wrote, so the job's arrays hold the sweep's batch. */
static void batch_reset(struct job *j)
{
	for (size_t i = 0; i < j->n_msgs; i++)
		free(j->owned[i]);
	free(j->is_new);
	j->is_new = NULL;
	j->n_msgs = j->n_puts = j->n_dels = 0;
	j->set_watch = false;
}

/*
 * The roster change (node_notices_roster()), after the job's own commit, in a second one:
 * entries for members that left are dropped, those for members that replaced their keys
 * re-signed for the successor.
 */
static void sweep_roster(struct job *j)
{
	struct sweep_ctx c = {.r = j->roster};
	struct store_notices_batch b;
	size_t departed = 0, moved = 0;
	int rc = store_notices_iter(j->n->st, sweep_one, NULL, &c);

	batch_reset(j);
	for (size_t i = 0; rc == 0 && i < c.n; i++) {
		const uint8_t *to = proto_roster_current_id(c.r, c.e[i].recipient);

		if (!to) {
			rc = add_out(j, true, c.e[i].id, c.e[i].recipient, 0, 0);
			departed++;
		} else if ((rc = reissue(j, &c.e[i], to)) == 0) {
			moved++;
		} else if (rc != -ENOMEM) {
			log_err("notices: cannot re-sign a notice for a member's successor: %s",
				proto_error_str(rc));
			rc = 0; /* the entry stays; the next roster change tries again */
		}
	}
	free(c.e);
	b = (struct store_notices_batch){.msgs = j->msgs,
					 .n_msgs = j->n_msgs,
					 .puts = j->puts,
					 .n_puts = j->n_puts,
					 .dels = j->dels,
					 .n_dels = j->n_dels};
	if (rc == 0)
		rc = store_notices_apply(j->n->st, &b);
	if (rc) {
		log_err("notices: roster epoch %llu: cannot update the outbox for departed or "
			"rotated members: %s",
			(unsigned long long)c.r->epoch, proto_error_str(rc));
		return;
	}
	j->departed += departed;
	j->readdressed += moved;
	j->queued_out |= moved > 0;
	if (departed)
		log_notice("roster epoch %llu: dropped %zu undelivered notice%s for members no "
			   "longer in the roster",
			   (unsigned long long)c.r->epoch, departed, departed == 1 ? "" : "s");
	if (moved)
		log_notice("roster epoch %llu: %zu undelivered notice%s re-signed for the "
			   "successors of members that replaced their keys",
			   (unsigned long long)c.r->epoch, moved, moved == 1 ? "" : "s");
}

/* ------------------------------------------------------------------ the job */

/* One warning per member whose notices the job refused for its quota. */
static void quota_log(struct job *j)
{
	struct node_notices *n = j->n;
	char hex[65];

	for (size_t i = 0; i < n->n_quota; i++) {
		struct quota_use *q = &n->quota[i];

		if (!q->refused)
			continue;
		/* Other members are named at debug only, with [log] member_names. */
		log_warning("notices: %u notice%s from another member refused: its stored "
			    "notices take %llu bytes, and its quota is %llu ([notices] "
			    "member_quota_bytes); not acknowledged, so the sender retries",
			    q->refused, q->refused == 1 ? "" : "s", (unsigned long long)q->bytes,
			    (unsigned long long)j->member_quota);
		if (node_log_member_names())
			log_debug("notices: the notices over quota came from member %.16s",
				  proto_hex_encode(hex, q->id, 32));
	}
	n->n_quota = 0; /* the next job reads the store's figures */
}

static void job_work(uv_work_t *w)
{
	struct job *j = w->data;
	struct store_notices_batch b;
	char why[256];
	int rc;

	for (struct op *o = j->ops; o; o = o->next) {
		switch (o->kind) {
		case OP_IN:
			o->blame = false;
			rc = receive(j, o, why, sizeof(why));
			o->ack = rc == 0;
			if (rc == NODE_E_QUOTA) {
				j->refused++; /* logged once per member below */
			} else if (rc) {
				char hex[65];
				j->refused++;
				/*
				 * Other members are named at debug only, with [log]
				 * member_names (chatham.conf(5)).
				 */
				log_warning("notices: a notice from another member was refused: "
					    "%s",
					    why);
				if (node_log_member_names())
					log_debug("notices: the refused notice came from member "
						  "%.16s",
						  proto_hex_encode(hex, o->peer, 32));
			}
			break;
		case OP_ACKED:
			add_out(j, true, o->id, o->peer, 0, 0);
			break;
		case OP_REFUSED:
			add_refusal(j, o);
			break;
		case OP_RESCHED:
			add_out(j, false, o->out.id, o->out.recipient, o->out.next_attempt_ms,
				o->out.attempts);
			break;
		case OP_API:
			if (o->req->op == NODE_OP_NOTIFY)
				notify(j, o);
			else if (o->req->op == NODE_OP_NOTICE_REPLY)
				reply(j, o);
			break;
		case OP_WATCH:
			node_notices_watch_feed(j);
			break;
		case OP_EXPORT:
			j->export_notices = true;
			break;
		case OP_ROSTER:
			if (!j->roster || o->roster->epoch > j->roster->epoch)
				j->roster = o->roster;
			break;
		}
	}
	quota_log(j);
	j->is_new = calloc(j->n_msgs ? j->n_msgs : 1, sizeof(bool));
	b = (struct store_notices_batch){.msgs = j->msgs,
					 .n_msgs = j->n_msgs,
					 .is_new = j->is_new,
					 .puts = j->puts,
					 .n_puts = j->n_puts,
					 .dels = j->dels,
					 .n_dels = j->n_dels,
					 .refusals = j->refusals,
					 .n_refusals = j->n_refusals,
					 .set_watch = j->set_watch,
					 .watch_seq = j->watch_seq};
	rc = j->is_new ? store_notices_apply(j->n->st, &b) : -ENOMEM;
	if (rc) {
		log_err("notices: cannot commit: %s", proto_error_str(rc));
		j->queued_out = false;
		j->watch_more = false;
		j->raised = 0;
		for (struct op *o = j->ops; o; o = o->next) {
			o->ack = false;
			if (o->kind == OP_API) {
				free(o->text);
				o->text = node_notices_error_text(o->req->id, rc, NULL,
								  proto_error_str(rc));
			}
		}
		goto out;
	}
	for (size_t i = 0; i < j->n_msgs; i++)
		j->export_notices |= j->is_new[i] && j->msgs[i].flags == 0;
	if (j->export_notices && j->n->xport && (rc = node_notices_export(j)) != 0)
		log_warning("notices: cannot write the notices feed of the export: %s",
			    proto_error_str(rc));
	for (struct op *o = j->ops; o; o = o->next) {
		if (o->kind != OP_API || o->req->op != NODE_OP_NOTICES)
			continue;
		if (o->req->format == NODE_NOTICES_JSON)
			node_notices_list(j, o);
		else
			node_notices_render(j, o);
	}
out:
	if (j->roster)
		sweep_roster(j);
}

static void kick(struct node_notices *n);
static void scan(struct node_notices *n, const uint8_t *peer);

/*
 * Shares: what one member's links may put in the queue, so that a member flooding it cannot
 * crowd out the other members' operations (dropped past NODE_NOTICES_PENDING_MAX, while a
 * job runs). NOTICE_ACKs and NOTICE_REFUSEDs: as many as NOTICEs were sent to it and not
 * yet answered, at most NODE_NOTICES_PEER_PENDING_MAX (an honest member answers each copy
 * once; an ACK of a copy sent before a restart is ignored too, and the copy sent again is
 * acknowledged); the rest are ignored before they queue anything. NOTICEs: at most
 * NODE_NOTICES_PEER_PENDING_MAX waiting for one job; the rest are dropped unacknowledged
 * (an honest sender retries). Members are few (a roster), so the table is searched in
 * order.
 */
struct peer_share {
	uint8_t id[32];
	uint32_t owed;	  /* NOTICEs sent to it, not yet answered (capped: see above) */
	uint32_t pending; /* its NOTICEs waiting for the next job */
};

/* @id's share; with @add, a new one when it has none (NULL when out of memory). */
static struct peer_share *share_find(struct node_notices *n, const uint8_t id[32], bool add)
{
	struct peer_share *s;

	for (size_t i = 0; i < n->n_shares; i++)
		if (!memcmp(n->shares[i].id, id, 32))
			return &n->shares[i];
	if (!add || proto_array_grow((void **)&n->shares, &n->cap_shares, n->n_shares + 1,
				     sizeof(*n->shares)))
		return NULL;
	s = &n->shares[n->n_shares++];
	memcpy(s->id, id, 32);
	s->owed = s->pending = 0;
	return s;
}

/* A job took the queue: no member has anything waiting; forget those owed nothing. */
static void shares_taken(struct node_notices *n)
{
	size_t k = 0;

	for (size_t i = 0; i < n->n_shares; i++) {
		if (!n->shares[i].owed)
			continue;
		n->shares[k] = n->shares[i];
		n->shares[k++].pending = 0;
	}
	n->n_shares = k;
}

/* An ACK or a refusal from @peer: true (and taken) when a NOTICE sent to it is owed one. */
static bool answer_owed(struct node_notices *n, const uint8_t peer[32])
{
	struct peer_share *s = share_find(n, peer, false);

	if (!s || !s->owed) {
		n->ack_ignored++;
		return false;
	}
	s->owed--;
	return true;
}

static void send_ack(struct node_notices *n, const uint8_t peer[32], const uint8_t id[16])
{
	uint8_t *msg;
	size_t len;

	if (!n->dissem || proto_link_encode_notice_ack(id, &msg, &len))
		return;
	if (node_dissem_send_to(n->dissem, peer, msg, len) == 0)
		n->ack_sent++;
}

static void send_refused(struct node_notices *n, const uint8_t peer[32], const uint8_t id[16],
			 uint8_t reason)
{
	uint8_t *msg;
	size_t len;

	if (!n->dissem || proto_link_encode_notice_refused(id, reason, &msg, &len))
		return;
	if (node_dissem_send_to(n->dissem, peer, msg, len) == 0)
		n->refusals_sent++;
}

/*
 * Drop the received notices still waiting for a job whose sender is refused for abuse: a
 * member that sent a flood of forged notices costs this node no more signature checks once
 * it is over its budget.
 */
static void drop_refused(struct node_notices *n)
{
	struct op **pp = &n->head;

	n->tail = &n->head;
	while (*pp) {
		struct op *o = *pp;

		if (o->kind == OP_IN && node_dissem_member_refused(n->dissem, o->peer)) {
			struct peer_share *s = share_find(n, o->peer, false);

			if (s && s->pending)
				s->pending--;
			*pp = o->next;
			n->n_pending--;
			n->dropped++;
			op_free(o);
			continue;
		}
		pp = &o->next;
		n->tail = pp;
	}
}

static void job_done(uv_work_t *w, int status)
{
	struct job *j = w->data;
	struct node_notices *n = j->n;
	bool queued = j->queued_out, charged = false;

	(void)status;
	n->job_running = false;
	n->received += j->received;
	n->refused += j->refused;
	n->duplicates += j->duplicates;
	n->forwarded += j->forwarded;
	for (size_t i = 0; i < j->n_refusals; i++)
		n->refused_by_peer += j->refusals[i].applied;
	n->raised += j->raised;
	n->exported += j->exported;
	n->departed += j->departed;
	n->readdressed += j->readdressed;
	n->quota_refused += j->quota_refused;
	while (j->ops) {
		struct op *o = j->ops;

		j->ops = o->next;
		if (o->kind == OP_IN && o->ack)
			send_ack(n, o->peer, o->id);
		if (o->kind == OP_IN && o->refusal)
			send_refused(n, o->peer, o->id, o->refusal);
		/* The member's budget, whether or not its link is still up. */
		if (o->kind == OP_IN && o->blame && n->dissem) {
			node_dissem_refused(n->dissem, o->peer);
			charged = true;
		}
		if (o->kind == OP_API) {
			o->done(o->arg, o->text);
			o->text = NULL;
		}
		if (o->kind == OP_WATCH)
			n->watch_queued = false;
		if (o->kind == OP_EXPORT)
			n->export_queued = false;
		op_free(o);
	}
	for (size_t i = 0; i < j->n_msgs; i++)
		free(j->owned[i]);
	free(j->owned);
	free(j->msgs);
	free(j->puts);
	free(j->dels);
	free(j->refusals);
	free(j->is_new);
	node_snap_unref(j->snap);
	if (j->watch_more)
		node_notices_watch(n);
	free(j);
	if (charged && n->dissem)
		drop_refused(n);
	if (queued)
		scan(n, NULL);
	kick(n);
}

static void kick(struct node_notices *n)
{
	struct job *j;

	if (n->job_running || !n->head)
		return;
	j = calloc(1, sizeof(*j));
	if (!j)
		return; /* retried at the next operation or scan */
	j->n = n;
	j->snap = node_snap_ref(*n->snapp);
	j->ops = n->head;
	j->now = wall_ms();
	j->member_quota = n->cfg.member_quota;
	j->w.data = j;
	if (node_workq_queue(n->loop, &j->w, job_work, job_done)) {
		node_snap_unref(j->snap);
		free(j);
		return;
	}
	n->head = NULL;
	n->tail = &n->head;
	n->n_pending = 0;
	n->job_running = true;
	shares_taken(n);
}

static int enqueue(struct node_notices *n, struct op *o)
{
	if (n->closing || n->n_pending >= NODE_NOTICES_PENDING_MAX) {
		n->dropped++;
		return -ENOBUFS;
	}
	*n->tail = o;
	n->tail = &o->next;
	n->n_pending++;
	kick(n);
	return 0;
}

/* ------------------------------------------------------------------ delivery */

static uint64_t retry_delay(const struct node_notices_config *cfg, uint32_t attempts)
{
	uint64_t delay = cfg->retry_min_ms;

	while (attempts-- > 0 && delay < cfg->retry_max_ms)
		delay *= 2;
	return delay < cfg->retry_max_ms ? delay : cfg->retry_max_ms;
}

struct scan_ctx {
	struct node_notices *n;
	const uint8_t *peer;
	uint64_t now;
	struct store_notice_out due[NODE_NOTICES_SCAN_MAX];
	size_t n_due;
};

static int scan_one(void *arg, const struct store_notice_out *e)
{
	struct scan_ctx *c = arg;

	if (c->n_due == NODE_NOTICES_SCAN_MAX)
		return 1;
	if (e->next_attempt_ms <= c->now || (c->peer && !memcmp(c->peer, e->recipient, 32))) {
		if (node_dissem_member_up(c->n->dissem, e->recipient))
			c->due[c->n_due++] = *e;
		else if (!c->peer) /* the overlay dials a recipient it has no link to */
			node_dissem_demand(c->n->dissem, e->recipient, NODE_OVERLAY_DEMAND_NOTICES);
	}
	return 0;
}

/* Send the due entries (all of @peer's when given) whose next hop has a link up. */
static void scan(struct node_notices *n, const uint8_t *peer)
{
	struct scan_ctx *c;
	int rc;

	if (!n->dissem || n->closing)
		return;
	c = malloc(sizeof(*c));
	if (!c)
		return;
	c->n = n;
	c->peer = peer;
	c->now = wall_ms();
	c->n_due = 0;
	if (!peer) /* a full scan re-asserts the recipients it waits for */
		node_dissem_demand_clear(n->dissem, NODE_OVERLAY_DEMAND_NOTICES);
	rc = store_notices_iter(n->st, scan_one, NULL, c);
	if (rc < 0)
		log_warning("notices: reading the outbox failed: %s", proto_error_str(rc));
	for (size_t i = 0; rc >= 0 && i < c->n_due; i++) {
		struct store_notice_out *e = &c->due[i];
		struct peer_share *s;
		uint8_t *bytes, *msg;
		size_t len, mlen;
		struct op *o;

		if (store_notices_get(n->st, e->id, NULL, &bytes, &len))
			continue;
		rc = proto_link_encode_bin(PROTO_LINK_NOTICE, bytes, len, &msg, &mlen);
		free(bytes);
		if (rc || node_dissem_send_to(n->dissem, e->recipient, msg, mlen)) {
			rc = 0;
			continue;
		}
		n->sent++;
		/*
		 * Capped: each copy (a retry too) owes one answer, and a member that never
		 * answers must not bank credit for an answer flood. Past the cap, or without a
		 * share, its answer is ignored and the notice sent again.
		 */
		if ((s = share_find(n, e->recipient, true)) &&
		    s->owed < NODE_NOTICES_PEER_PENDING_MAX)
			s->owed++;
		o = calloc(1, sizeof(*o));
		if (!o)
			break;
		o->kind = OP_RESCHED;
		o->out = *e;
		o->out.next_attempt_ms = c->now + retry_delay(&n->cfg, e->attempts);
		o->out.attempts = e->attempts + 1;
		if (enqueue(n, o))
			op_free(o);
	}
	free(c);
}

/*
 * Queue a rendering of every received notice into the export's notices feed when what
 * decides it changed since the last one: the snapshot (roster: redaction patterns;
 * [policy] descriptions and export_red) or the export's env id (a reset emptied it).
 */
static void export_check(struct node_notices *n)
{
	uint8_t env[16];
	struct op *o;

	if (!n->xport || n->export_queued || n->closing || store_export_env_id(n->xport, env) != 0)
		return;
	if (n->export_snap == *n->snapp && !memcmp(env, n->export_env, 16))
		return;
	o = calloc(1, sizeof(*o));
	if (!o)
		return; /* the next tick asks again */
	o->kind = OP_EXPORT;
	if (enqueue(n, o)) {
		op_free(o);
		return;
	}
	n->export_queued = true;
	node_snap_unref(n->export_snap);
	n->export_snap = node_snap_ref(*n->snapp);
	memcpy(n->export_env, env, 16);
}

static void on_timer(uv_timer_t *t)
{
	struct node_notices *n = t->data;

	scan(n, NULL);
	if (uv_now(n->loop) - n->export_check_ms >= SCAN_MS) {
		n->export_check_ms = uv_now(n->loop);
		export_check(n);
	}
}

/* ------------------------------------------------------------------ hooks from the links */

static void on_notice(void *ctx, const uint8_t peer[32], const uint8_t *p, size_t len)
{
	struct node_notices *n = ctx;
	struct peer_share *s;
	struct op *o;

	if (n->dissem && node_dissem_member_refused(n->dissem, peer)) {
		n->dropped++; /* its link is being closed */
		return;
	}
	s = share_find(n, peer, true);
	if (s && s->pending >= NODE_NOTICES_PEER_PENDING_MAX) {
		n->share_dropped++;
		return;
	}
	o = calloc(1, sizeof(*o));
	if (o)
		o->bytes = malloc(len);
	if (!s || !o || !o->bytes) {
		if (o)
			free(o->bytes);
		free(o);
		n->dropped++;
		return;
	}
	o->kind = OP_IN;
	memcpy(o->peer, peer, 32);
	memcpy(o->bytes, p, len);
	o->len = len;
	s->pending++; /* before enqueue(): a job it starts takes the queue and resets it */
	if (enqueue(n, o)) {
		s->pending--; /* not queued: nothing was reset */
		op_free(o);
	}
}

static void on_ack(void *ctx, const uint8_t peer[32], const uint8_t id[16])
{
	struct node_notices *n = ctx;
	struct op *o;

	if (!answer_owed(n, peer))
		return;
	o = calloc(1, sizeof(*o));
	if (!o)
		return;
	o->kind = OP_ACKED;
	memcpy(o->peer, peer, 32);
	memcpy(o->id, id, 16);
	n->acked++;
	if (enqueue(n, o))
		op_free(o);
}

static void on_refused(void *ctx, const uint8_t peer[32], const uint8_t id[16], uint8_t reason)
{
	struct node_notices *n = ctx;
	struct op *o;

	if (!answer_owed(n, peer))
		return;
	o = calloc(1, sizeof(*o));
	if (!o)
		return; /* the next retry is refused again */
	o->kind = OP_REFUSED;
	memcpy(o->peer, peer, 32);
	memcpy(o->id, id, 16);
	o->refusal = reason;
	if (enqueue(n, o))
		op_free(o);
}

void node_notices_watch(struct node_notices *n)
{
	struct op *o;

	if (!n || n->watch_queued || n->closing)
		return;
	o = calloc(1, sizeof(*o));
	if (!o)
		return; /* the next commit asks again */
	o->kind = OP_WATCH;
	if (enqueue(n, o)) {
		op_free(o);
		return;
	}
	n->watch_queued = true;
}

static void on_link_up(void *ctx, const uint8_t peer[32])
{
	scan(ctx, peer);
}

void node_notices_roster(struct node_notices *n, const struct proto_roster *r)
{
	struct op *o;

	if (!n || !r || n->closing)
		return;
	o = calloc(1, sizeof(*o));
	if (!o) {
		log_err("notices: out of memory: the outbox is not updated for roster epoch %llu",
			(unsigned long long)r->epoch);
		return;
	}
	/* Not through enqueue(): a full queue must not lose a roster change. */
	o->kind = OP_ROSTER;
	o->roster = r;
	*n->tail = o;
	n->tail = &o->next;
	n->n_pending++;
	kick(n);
}

void node_notices_hooks(struct node_notices *n, struct node_dissem_notice_hooks *h)
{
	h->on_notice = on_notice;
	h->on_ack = on_ack;
	h->on_refused = on_refused;
	h->on_link_up = on_link_up;
	h->ctx = n;
}

/* ------------------------------------------------------------------ API */

/* Resolve the members of a notify request on the loop; a refusal is answered at once. */
static int resolve(struct node_notices *n, struct op *o, char **text)
{
	const struct proto_roster *r = (*n->snapp)->newest;
	struct node_request *q = o->req;
	const char *field = q->to ? "to" : "to_owner_of";
	int to = q->to ? node_member_find(r, q->to) : node_member_owner_of(r, q->to_owner_of);
	int via = q->via ? node_member_find(r, q->via) : -1;
	const char *why = NULL;

	if (to == NODE_MEMBER_AMBIGUOUS)
		why = q->to ? "matches more than one member; give more of its id"
			    : "two members' constituencies hold it equally; give --to";
	else if (to < 0)
		why = q->to ? "no such member (name, alias or 8+ hex digits of its id)"
			    : "no member's constituency holds it";
	else if (!memcmp(r->members[to].id, n->keys->id_pk, 32))
		why = q->to ? "that is this node" : "it is in this node's own constituency";
	if (!why && q->via) {
		field = "via";
		if (via < 0)
			why = via == NODE_MEMBER_AMBIGUOUS
				      ? "matches more than one member; give more of its id"
				      : "no such member (name, alias or 8+ hex digits of its id)";
		else if (via == to || !memcmp(r->members[via].id, n->keys->id_pk, 32))
			why = "the coordinator must be a third member";
	}
	if (why) {
		*text = node_notices_error_text(q->id, NODE_E_FIELD, field, why);
		return -EINVAL;
	}
	if (q->via) {
		memcpy(o->to, r->members[via].id, 32);
		memcpy(o->deliver_to, r->members[to].id, 32);
		o->has_deliver_to = true;
	} else {
		memcpy(o->to, r->members[to].id, 32);
	}
	return 0;
}

void node_notices_submit(struct node_notices *n, struct node_request *req,
			 void (*done)(void *arg, char *text), void *arg)
{
	struct op *o = calloc(1, sizeof(*o));
	char *text = NULL;

	if (!o) {
		node_request_free(req);
		done(arg, NULL);
		return;
	}
	o->kind = OP_API;
	o->req = req;
	o->done = done;
	o->arg = arg;
	if (req->op == NODE_OP_NOTIFY && resolve(n, o, &text)) {
		op_free(o);
		done(arg, text);
		return;
	}
	if (enqueue(n, o)) {
		text = node_notices_error_text(req->id, NODE_E_OVERLOAD, NULL,
					       "too many notice operations waiting; retry later");
		op_free(o);
		done(arg, text);
	}
}

/* ------------------------------------------------------------------ life cycle */

struct node_notices *node_notices_new(uv_loop_t *loop, struct store_notices *st, struct store *main,
				      const struct proto_keys *keys, const uint8_t community[32],
				      struct node_snap *const *snapp)
{
	struct node_notices *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->loop = loop;
	n->st = st;
	n->main = main;
	n->keys = keys;
	memcpy(n->community, community, 32);
	n->snapp = snapp;
	n->tail = &n->head;
	n->cfg = (struct node_notices_config)NODE_NOTICES_CONFIG_DEFAULT;
	n->timer_ms = SCAN_MS;
	n->export_check_ms = uv_now(loop);
	uv_timer_init(loop, &n->timer);
	n->timer.data = n;
	n->timer_open = true;
	uv_timer_start(&n->timer, on_timer, n->timer_ms, n->timer_ms);
	return n;
}

void node_notices_set_config(struct node_notices *n, const struct node_notices_config *cfg)
{
	uint64_t period;

	if (!n || !cfg)
		return;
	n->cfg = *cfg;
	if (n->cfg.retry_min_ms < 1)
		n->cfg.retry_min_ms = 1;
	if (n->cfg.retry_max_ms < n->cfg.retry_min_ms)
		n->cfg.retry_max_ms = n->cfg.retry_min_ms;
	/* A retry is due no sooner than the scan that finds it: scan as often as retries come. */
	period = n->cfg.retry_min_ms < SCAN_MS ? n->cfg.retry_min_ms : SCAN_MS;
	if (period != n->timer_ms && !n->closing) {
		n->timer_ms = period;
		uv_timer_start(&n->timer, on_timer, period, period);
	}
}

void node_notices_set_dissem(struct node_notices *n, struct node_dissem *d)
{
	if (n)
		n->dissem = d;
}

void node_notices_set_export(struct node_notices *n, struct store_export *x)
{
	if (n)
		n->xport = x;
}

json_t *node_notices_status_json(struct node_notices *n)
{
	uint64_t msgs = 0, outbox = 0;

	store_notices_count(n->st, &msgs, &outbox);
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
			 "s:I, s:I, s:I, s:I, s:I, s:b}",
			 "raised", (json_int_t)n->raised, "stored", (json_int_t)msgs, "outbox",
			 (json_int_t)outbox, "received", (json_int_t)n->received, "refused",
			 (json_int_t)n->refused, "duplicates", (json_int_t)n->duplicates, "sent",
			 (json_int_t)n->sent, "acked", (json_int_t)n->acked, "ack_sent",
			 (json_int_t)n->ack_sent, "forwarded", (json_int_t)n->forwarded, "dropped",
			 (json_int_t)n->dropped, "departed_dropped", (json_int_t)n->departed,
			 "readdressed", (json_int_t)n->readdressed, "refusals_sent",
			 (json_int_t)n->refusals_sent, "refused_by_peer",
			 (json_int_t)n->refused_by_peer, "exported", (json_int_t)n->exported,
			 "ack_ignored", (json_int_t)n->ack_ignored, "share_dropped",
			 (json_int_t)n->share_dropped, "quota_refused",
			 (json_int_t)n->quota_refused, "idle", node_notices_idle(n));
}

bool node_notices_idle(const struct node_notices *n)
{
	return !n || (!n->job_running && !n->head);
}

static void on_timer_closed(uv_handle_t *h)
{
	struct node_notices *n = h->data;

	n->timer_open = false;
}

void node_notices_close(struct node_notices *n)
{
	if (!n || n->closing)
		return;
	n->closing = true;
	n->dissem = NULL;
	uv_close((uv_handle_t *)&n->timer, on_timer_closed);
}

void node_notices_free(struct node_notices *n)
{
	if (!n)
		return;
	while (n->head) {
		struct op *o = n->head;

		n->head = o->next;
		op_free(o); /* the API is gone by now: nobody waits for an answer */
	}
	node_snap_unref(n->export_snap);
	free(n->shares);
	free(n->quota);
	free(n);
}
