/* SPDX-License-Identifier: MIT */
/*
 * node/daemon/notices_int.h — the notice engine's own state, shared by the two files that
 * implement node/daemon/notices.h and by nothing else:
 *
 *   notices.c        operations, the job (receiving, forwarding, notify, reply, commit),
 *                    delivery (outbox scan, ACKs), the hooks from the links, life cycle
 *   notices_views.c  what the node shows of its notices: the listing, the STIX 2.1 and
 *                    MISP renderings, and the local notices raised from the main feed
 *
 * Thread rules: struct node_notices and the queues belong to the loop thread; a struct job
 * is used by its job_work() in the thread pool, then by job_done() on the loop.
 */
#ifndef CHATHAM_NODE_NOTICES_INT_H
#define CHATHAM_NODE_NOTICES_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "node/common/snap.h"
#include "node/daemon/notices.h"
#include "node/format/request.h"
#include "proto/keys.h"
#include "store/notice.h"
#include "store/store.h"

struct peer_share; /* notices.c "Shares" */
struct quota_use;  /* notices.c "Quota" */

enum op_kind { OP_IN, OP_ACKED, OP_REFUSED, OP_RESCHED, OP_API, OP_WATCH, OP_ROSTER, OP_EXPORT };

struct op {
	struct op *next;
	uint8_t kind;
	uint8_t peer[32]; /* OP_IN: the sender; OP_ACKED, OP_REFUSED: who answered */
	uint8_t id[16];	  /* OP_IN: the notice id (once decoded); OP_ACKED, OP_REFUSED: the one
			   * answered */
	uint8_t refusal;  /* OP_IN: the reason to answer with NOTICE_REFUSED (0: none, retry
			   * or accepted); OP_REFUSED: the reason received */
	uint8_t *bytes;	  /* OP_IN */
	size_t len;
	struct store_notice_out out;	   /* OP_RESCHED */
	struct node_request *req;	   /* OP_API, owned */
	const struct proto_roster *roster; /* OP_ROSTER: adopted (borrowed from the daemon) */
	void (*done)(void *arg, char *text);
	void *arg;
	uint8_t to[32], deliver_to[32]; /* notify, resolved on the loop */
	bool has_deliver_to;
	/* results */
	bool ack;   /* OP_IN: acknowledge after the commit */
	bool blame; /* OP_IN: refused as nothing an honest member sends: charged to @peer */
	char *text; /* OP_API: the response */
};

struct job {
	uv_work_t w;
	struct node_notices *n;
	struct node_snap *snap;
	struct op *ops;
	uint64_t now;
	uint64_t member_quota; /* the config's when the job was queued */
	bool queued_out;       /* the commit added outbox entries */
	/* what the commit writes */
	struct store_notice_msg *msgs;
	uint8_t **owned; /* message bytes made in the job */
	size_t n_msgs, cap_msgs;
	struct store_notice_out *puts, *dels;
	size_t n_puts, cap_puts, n_dels, cap_dels;
	struct store_notice_refusal *refusals;
	size_t n_refusals, cap_refusals;
	bool *is_new;
	/* the constituency watch (OP_WATCH): feed entries looked at up to watch_seq */
	bool set_watch, watch_more;
	uint64_t watch_seq, raised;
	/* the newest roster adopted since the last job (OP_ROSTER), swept after the commit */
	const struct proto_roster *roster;
	bool export_notices;	/* render the received notices into the export's notices feed */
	uint8_t export_env[16]; /* OP_EXPORT: the export's env id it was queued for */
	size_t exported;	/* notices feed documents written */
	/* counters, added on the loop */
	uint64_t received, refused, duplicates, forwarded, departed, readdressed, quota_refused;
};

struct node_notices {
	uv_loop_t *loop;
	struct store_notices *st;
	struct store *main;
	const struct proto_keys *keys;
	uint8_t community[32];
	struct node_snap *const *snapp;
	struct store_export *xport;    /* the SIEM export (notices feed); NULL: none */
	struct node_snap *export_snap; /* held: the snapshot last queued for the feed */
	uint8_t export_env[16];	       /* the export env id last queued for */
	bool export_queued;
	uint64_t exported; /* notices feed documents written */
	struct node_dissem *dissem;
	struct node_notices_config cfg;
	uv_timer_t timer;
	uint64_t timer_ms;	  /* the scan timer's period: min(1 s, cfg.retry_min_ms) */
	uint64_t export_check_ms; /* uv_now() of the last export_check() */
	bool timer_open, closing;
	struct op *head, **tail;
	size_t n_pending;
	bool job_running, watch_queued;
	uint64_t received, refused, duplicates, sent, acked, ack_sent, forwarded, dropped;
	uint64_t refusals_sent;	  /* NOTICE_REFUSED sent for notices refused for good */
	uint64_t refused_by_peer; /* notices of ours a next hop refused (outbox entry ended) */
	uint64_t raised;	  /* local notices raised or updated */
	uint64_t departed, readdressed; /* node_notices_roster() */
	/* What each member's links may queue (notices.c "Shares"): */
	struct peer_share *shares;
	size_t n_shares, cap_shares;
	uint64_t ack_ignored;	/* NOTICE_ACKs and NOTICE_REFUSEDs for no NOTICE owed one */
	uint64_t share_dropped; /* NOTICEs dropped: their member's share was waiting */
	/*
	 * Bytes each signer's stored messages take (notices.c "Quota"), for the signers the
	 * running job met: read and written by that job only (jobs run one at a time, each
	 * queued after the last one ended), emptied at its end.
	 */
	struct quota_use *quota;
	size_t n_quota, cap_quota;
	uint64_t quota_refused; /* notices refused: their signer's quota was full */
};

/* notices.c: helpers for the job ------------------------------------------------------- */

/* An error / ok response line (malloc'd, NULL when out of memory); @body is stolen. */
char *node_notices_error_text(json_t *id, int code, const char *field, const char *msg);
char *node_notices_ok_text(json_t *id, json_t *body);
/* {"member_id", "name" (absent when not in @r)}; new reference. */
json_t *node_notices_member_json(const struct proto_roster *r, const uint8_t id[32]);
/* Queue a message for the job's commit (@bytes owned by the job when @own). 0 or -ENOMEM. */
int node_notices_add_msg(struct job *j, const uint8_t id[16], uint8_t flags, uint8_t *bytes,
			 size_t len, bool own);

/* notices_views.c: run in the job after the commit, or (watch) before it ----------------- */

/* The `notices` op: every notice, status and local notice; o->text is the answer. */
void node_notices_list(struct job *j, struct op *o);
/* The `notices` op with a format: the received notices as STIX 2.1 or MISP. */
void node_notices_render(struct job *j, struct op *o);
/* After the commit: the received notices into the export's notices feed (j->exported). */
int node_notices_export(struct job *j);
/* Local notices from the main feed after watch_seq (sets j->watch_seq, set_watch, more). */
void node_notices_watch_feed(struct job *j);

#endif
