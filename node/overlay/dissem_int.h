/* SPDX-License-Identifier: MIT */
/*
 * node/overlay/dissem_int.h — the dissemination driver's own state, shared by the files that
 * implement node/overlay/dissem.h and by nothing else:
 *
 *   dissem.c          the gossip driver: life cycle, link callbacks and message dispatch,
 *                     per-link send queues, the timer
 *   abuse.c           members' abuse budgets (policy/abuse.h), their refusals and durable
 *                     records
 *   admission.c       the admission and commit pipeline (thread-pool jobs)
 *   catchup.c         range reconciliation sessions and FETCH
 *   outbox.c          direct delivery of AMBER/RED reports and their ACKs
 *   roster_gossip.c   rosters sent to and received from peers
 *   stem_driver.c     the Dandelion stem on links
 *   sealed.c          sealed sightings: OPRF requests and answers, sealed submissions
 *   dissem_status.c   the counters as JSON
 *
 * Thread rules: everything here runs on the loop thread, except job_work() in admission.c,
 * which reads only its job, the store and the rate limiters (under rate_lock).
 */
#ifndef CHATHAM_NODE_DISSEM_INT_H
#define CHATHAM_NODE_DISSEM_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/overlay/dissem.h"
#include "policy/abuse.h"
#include "policy/admit.h"
#include "policy/rate.h"
#include "proto/link.h"
#include "proto/parts.h"
#include "proto/recon.h"
#include "proto/report.h"
#include "store/abuse.h"
#include "store/store.h"

struct proto_gossip;
struct proto_stem;
struct node_sealed;

/* Link messages a link's backlog may hold, in units of its send_queue_max. */
#define NODE_DISSEM_MSG_BACKLOG 4

/*
 * Catch-up work a member causes (node_catchup_charge_work()), in store keys: each key a
 * fingerprint or a listing reads, NODE_DISSEM_PUSH_KEYS per report pushed by catch-up or
 * at its FETCH or GRAFT (loading, checking and encrypting one costs about that many key reads: 9 us against
 * 0.27 us, test_hostile_catchup.py on the dev build). One
 * POLICY_ABUSE_SCAN charge per pass: max(keys stored, NODE_DISSEM_SCAN_PASS_MIN).
 */
#define NODE_DISSEM_PUSH_KEYS 32
#define NODE_DISSEM_SCAN_PASS_MIN 65536
/*
 * Roster bytes sent on a peer's link up per key of catch-up work: reading and encrypting a
 * byte costs about what decrypting one does (1.8-2.4 ns for large messages, a key read
 * 29-32 ns: tests/bench/bench_ihave.py, docs/PERFORMANCE.md).
 */
#define NODE_DISSEM_ROSTER_BYTES_PER_KEY 16

enum qkind {
	Q_MSG = 0,     /* encoded link message */
	Q_PUSH = 1,    /* PUSH of a stored report, loaded when sent (egress GOSSIP) */
	Q_DIRECT = 2,  /* DIRECT of a stored report to the link peer (egress DIRECT) */
	Q_STEM = 3,    /* STEM of a stored report, loaded when sent (egress GOSSIP) */
	Q_CATCHUP = 4, /* CATCHUP of a stored report, loaded when sent (egress GOSSIP) */
};

struct qent {
	struct qent *next;
	uint8_t kind;
	uint8_t id[32];
	uint8_t *msg;
	size_t len;
};

/* An id this node FETCHed over a link; taken once its answer came (catchup.c). */
struct dlink_fetched {
	uint8_t id[32];
	bool taken;
};

struct dlink {
	struct node_link *l; /* NULL: slot free */
	int member;
	uint8_t member_id[32];
	uint64_t peer_epoch;
	struct proto_recon *ri, *rr; /* sessions we initiated / answer */
	uint64_t catchup_until;	     /* mono ms: end of the catch-up window */
	struct qent *qh, **qt;
	size_t qn;
	size_t qmsg_bytes; /* memory of the Q_MSG entries in qh (qmsg_cost()) */
	uint64_t rejected, received;
	bool recon_wanted; /* start a session here once the node is not catching up */
	bool catchup_more; /* a session here brought copies asked for: start another */
	struct dlink_fetched
		*fetched;	 /* FETCHed ids, ascending, answered ones marked (catchup.c) */
	size_t len_fetched;	 /* entries in fetched[] */
	size_t n_fetched;	 /* of them not answered yet */
	uint64_t fetch_deadline; /* mono ms: give up waiting for them */
	uint8_t *deferred;	 /* a peer's opening RECON message, answered when not busy */
	size_t deferred_len;
	struct proto_parts parts; /* a roster arriving in ROSTER_PART messages, so far */
	bool abusive;		  /* its member offended: close it (NODE_LINK_R_ABUSE) */
	uint64_t work;		  /* catch-up work (keys) not yet charged as a whole pass */
	uint64_t roster_in;	  /* newest roster epoch received here (taken or a copy) */
	uint64_t acks_owed;	  /* DIRECT copies queued here and not ACKed yet (outbox.c) */
};

/* What a member is charged for against its budget (node_dissem_charge(), policy/abuse.h). */
enum charge {
	CHARGE_REJECT = POLICY_ABUSE_REJECT,   /* a report refused by admission (or its own
						  over its rate limit), a refused roster */
	CHARGE_FAILED = POLICY_ABUSE_FAILED,   /* a session it opened that failed or it abandoned */
	CHARGE_SESSION = POLICY_ABUSE_SESSION, /* any session it opened */
	CHARGE_SCAN = POLICY_ABUSE_SCAN,       /* a pass of catch-up work (NODE_DISSEM_PUSH_KEYS) */
};

enum in_path { IN_GOSSIP = 1, IN_CATCHUP = 2, IN_DIRECT = 3, IN_STEM = 4 };

struct inb {
	uint8_t *bytes;
	size_t len;
	uint8_t id[32];
	uint8_t path;
	uint64_t created_ms; /* IN_GOSSIP: the report's `created` (0 if it does not decode) */
	uint8_t peer[32];
	uint32_t link; /* slot it arrived on (counting only; may be reused by then) */
	struct node_link *l;
	int reason;
	int result;
	bool own;	/* attributed and signed by the member of the link it came on */
	bool asked;	/* IN_CATCHUP: a copy this node's catch-up asked for (catchup.c) */
	bool dropped;	/* not verified: its member is past its budget (struct allowance) */
	uint32_t allow; /* index of its member's allowance in its job's allow[] */
};

/*
 * Refusals the running admission jobs may still find in one member's reports before its
 * offence (policy_abuse_reserve()): past them a job stops verifying that member's reports, so
 * an offending member costs its budget and no more, even with thousands of reports queued.
 * One per member while jobs hold its reports, shared by those jobs (two jobs running at
 * once draw on the same count), released when the last of them is done.
 */
struct allowance {
	struct allowance *next; /* d->allowances */
	uint8_t member[32];
	uint32_t reserved; /* taken from the member's budget */
	uint32_t left;	   /* refusals still allowed: the jobs' workers count it down (atomic) */
	unsigned refs;	   /* jobs holding it (loop thread) */
};
struct del {
	uint8_t report_id[32];
	uint8_t recipient[32];
};

struct job {
	uv_work_t w;
	struct node_dissem *d;
	struct node_snap *snap;
	struct inb *items;
	size_t n;
	struct store_outbox_entry *puts;
	size_t n_puts;
	struct del *dels;
	size_t n_dels;
	struct allowance **allow; /* referenced, one per member */
	size_t n_allow;
	uint64_t now_ms;
	int err;
};

struct counters {
	uint64_t received, duplicates, forwarded, published, catchup_received, pushes_received;
	uint64_t backlog_dropped, egress_denied, inbound_dropped, abusive;
	uint64_t sends_resumed;	 /* times sends hit the iteration's budget (dissem.c flush()) */
	uint64_t abuse_offences; /* charges that went past a member's budget */
	uint64_t abuse_dropped;	 /* reports of members past their budget, dropped unverified */
	uint64_t charges[POLICY_ABUSE__CHARGES]; /* charges counted against members' budgets */
	uint64_t rejected[POLICY_REASON_COUNT];
	uint64_t sessions, completed, failed, recon_bytes_sent, recon_bytes_recv;
	uint64_t fetch_sent, fetched_ids, fetch_ids_recv, catchup_pushed;
	uint64_t recon_work; /* catch-up work caused by peers, keys (node_catchup_charge_work()) */
	uint64_t catchup_asked; /* new catch-up copies that a session or FETCH asked for */
	uint64_t direct_sent, direct_recv, acked, ack_sent;
	uint64_t ack_ignored; /* ACKs past the DIRECT copies their link was sent */
	uint64_t roster_sent, roster_recv, roster_adopted;
	uint64_t roster_parts_expired, roster_parts_evicted; /* partial rosters dropped */
	uint64_t roster_copies, roster_copies_charged;	     /* copies of held rosters received */
	uint64_t stem_originated, stem_received, stem_forwarded, stem_fluffed, stem_embargo;
	uint64_t store_errors;
	uint64_t recon_skipped_lag; /* periodic sessions skipped while the tree lagged */
	uint64_t push_lazy;	    /* queued PUSHes sent after their link turned lazy */
};

struct node_dissem {
	uv_loop_t *loop;
	struct store *store;
	struct node_snap *snap;
	struct node_overlay *ov;
	struct node_dissem_config cfg;
	node_dissem_roster_fn roster_fn;
	void *roster_ctx;
	void (*commit_fn)(void *ctx);
	void *commit_ctx;
	struct proto_gossip *g;
	struct proto_stem *stem; /* same link handles as g */
	struct proto_recon_source src;
	uint64_t keys_read; /* keys src has read so far (catch-up work, catchup.c) */
	bool answering, start_after_answer; /* inside node_catchup_on_recon() */
	struct dlink links[NODE_DISSEM_LINKS_MAX];
	uv_timer_t timer;
	uint64_t timer_at; /* the deadline it was last armed for (node_dissem_arm_timer()) */
	bool timer_open, stopping;
	/*
	 * Sends per loop iteration are budgeted (dissem.c, flush()): the loop time spent in
	 * sends since @flush_ms (uv_now) or since the idle handle's last slice, and the idle
	 * handle that resumes the links' queues in the next iteration once it ran out.
	 */
	uint64_t flush_ms, flush_ns;
	uv_idle_t flush_idle;
	bool flush_open;
	size_t flush_next; /* link slot the next resumption starts at */
	uint64_t next_periodic, next_recon;
	uint64_t rnd;

	struct inb *pend; /* NODE_DISSEM_PENDING_MAX entries, allocated at start */
	size_t n_pend;
	struct store_outbox_entry *puts;
	size_t n_puts, cap_puts;
	struct del *dels;
	size_t n_dels, cap_dels;
	unsigned jobs_running;

	/*
	 * Rate limits on admitted new reports (policy/rate.h), shared by the admission jobs:
	 * attributed reports per signer, anonymous ones per member whose link delivered them.
	 */
	pthread_mutex_t rate_lock;
	struct policy_rate *rate_signed, *rate_anon;

	/*
	 * Members' abuse budgets and refusals (abuse.c; loop thread only), and their durable
	 * records not yet stored: at most one job writes them at a time.
	 */
	struct policy_abuse *abuse;
	struct allowance *allowances; /* held by running admission and sealed jobs */
	struct store_abuse_record *abuse_unsaved;
	size_t n_abuse_unsaved, cap_abuse_unsaved;
	bool abuse_saving;

	/*
	 * Recon keys of the anonymous reports in their stem phase here, ascending. Catch-up
	 * must not show them before they fluff: a peer that found one in this node's set
	 * before anyone else had it would know (or, at a relay, narrow down) where it started.
	 */
	uint8_t (*hidden)[STORE_RECON_KEY_LEN];
	size_t n_hidden, cap_hidden;

	struct node_sealed *sealed;		/* sealed.c */
	struct node_dissem_notice_hooks notice; /* node_dissem_set_notice_hooks() */

	struct proto_report scratch; /* loop-thread decodes */
	struct counters c;
	void (*done)(void *);
	void *done_arg;
};

/* dissem.c: the driver ------------------------------------------------------------------ */

/* Wall clock, ms since the Unix epoch (admission, the store and the outbox use it). */
uint64_t node_dissem_wall_ms(void);

/* The up link to member @id, or NULL. */
struct dlink *node_dissem_slot_of_member(struct node_dissem *d, const uint8_t id[32]);

/*
 * node_dissem_enqueue() - queue @msg (owned, Q_MSG) or a stored report @id to load when sent
 * (Q_PUSH/Q_DIRECT/Q_STEM/Q_CATCHUP) on @dl, and send what fits. Returns 0, -ENOTCONN (slot
 * free), -ENOBUFS (backlog full, reports only) or -ENOMEM.
 * node_dissem_enqueue_ids() - @n ids in messages of @type; returns the encoded bytes queued.
 */
int node_dissem_enqueue(struct node_dissem *d, struct dlink *dl, uint8_t kind, const uint8_t *id,
			uint8_t *msg, size_t len);
size_t node_dissem_enqueue_ids(struct node_dissem *d, struct dlink *dl, enum proto_link_type type,
			       const uint8_t (*ids)[32], size_t n);

/* Turn the engine's queued actions into link messages. */
void node_dissem_drain_engine(struct node_dissem *d);

/* (Re)arm the timer for the earliest engine, stem or periodic deadline. */
void node_dissem_arm_timer(struct node_dissem *d);

/* abuse.c -------------------------------------------------------------------------------- */

/*
 * node_abuse_open() - the budgets table of @d with @cfg, and the records stored by earlier
 * runs (store/abuse.h). 0, -EINVAL, -ENOMEM or the store's code. node_abuse_close() frees
 * the table and any record not yet stored (node_dissem_stop() stores them first).
 */
int node_abuse_open(struct node_dissem *d, const struct policy_abuse_config *cfg);
void node_abuse_close(struct node_dissem *d);

/*
 * node_dissem_charge() - charge @what to member @id (node_dissem_charge_link(): to the member
 * of @dl). When that is its offence, the record is stored (asynchronously) and the member's
 * link, if up, is marked abusive. Returns true when the member is refused (now or already).
 * node_dissem_close_abusive() closes the marked links; never call it from inside a link's own
 * callback frames.
 */
bool node_dissem_charge(struct node_dissem *d, const uint8_t id[32], enum charge what);
bool node_dissem_charge_link(struct node_dissem *d, struct dlink *dl, enum charge what);
void node_dissem_close_abusive(struct node_dissem *d);

/*
 * Allowances (struct allowance) of the jobs that verify members' input in the pool (admission
 * jobs, sealed submissions), loop thread unless said otherwise:
 * node_abuse_allowance_of() - index in @allow[0..*@n_allow) of member @id's allowance, the
 * one running jobs share or a new reservation (policy_abuse_reserve()), referenced and
 * appended (at most @cap entries). Returns the index, -ENOMEM.
 * node_abuse_allowances_put() - drop the references in @allow; the last one gives the
 * reservation back; *@n_allow becomes 0.
 * node_abuse_allowance_use() / node_abuse_allowance_left() - count one refusal found in the
 * member's input / whether it may still be verified (any thread: atomic).
 */
int node_abuse_allowance_of(struct node_dissem *d, struct allowance **allow, size_t *n_allow,
			    size_t cap, const uint8_t id[32]);
void node_abuse_allowances_put(struct node_dissem *d, struct allowance **allow, size_t *n_allow);
void node_abuse_allowance_use(struct allowance *a);
bool node_abuse_allowance_left(struct allowance *a);

/* @dl goes down: the catch-up work it caused below a whole pass is charged as one. */
void node_abuse_link_down(struct node_dissem *d, struct dlink *dl);

/* How much longer (ms) member @id is refused; 0 when it is not. */
uint64_t node_abuse_refused_ms(struct node_dissem *d, const uint8_t id[32]);

/* Once a second: forget members with nothing to remember. */
void node_abuse_periodic(struct node_dissem *d);

/*
 * node_abuse_flush() - start storing the records not yet stored, unless a save runs (its end
 * starts the next). node_dissem_maybe_finish_stop() waits for d->abuse_saving.
 */
void node_abuse_flush(struct node_dissem *d);

/* The `created` of report bytes @p (0 when they do not decode), of stored report @id. */
uint64_t node_dissem_created_of(struct node_dissem *d, const uint8_t *p, size_t len);
uint64_t node_dissem_stored_created(struct node_dissem *d, const uint8_t id[32]);

/* Free everything once the timer is closed and no job runs, then call the stop callback. */
void node_dissem_maybe_finish_stop(struct node_dissem *d);

/* admission.c ---------------------------------------------------------------------------- */

/*
 * Queue a received report (bytes copied) from @dl for admission. 0, -ENOBUFS or -ENOMEM.
 * node_admission_add_catchup(): a catch-up copy (IN_CATCHUP); @asked: this node's catch-up
 * asked @dl for it, so it is exempt from the per-member rate limit.
 */
int node_admission_add(struct node_dissem *d, struct dlink *dl, const uint8_t *bytes, size_t len,
		       const uint8_t id[32], uint8_t path, uint64_t created_ms);
int node_admission_add_catchup(struct node_dissem *d, struct dlink *dl, const uint8_t *bytes,
			       size_t len, const uint8_t id[32], uint64_t created_ms, bool asked);
/* Start admission jobs for what is pending, within NODE_DISSEM_JOBS_MAX. */
void node_admission_kick(struct node_dissem *d);
/* Reports or outbox changes wait for a job. */
bool node_admission_pending(const struct node_dissem *d);

/* catchup.c ------------------------------------------------------------------------------ */

/* Point d->src (the recon source) at the store, minus the hidden keys. */
void node_catchup_source_init(struct node_dissem *d);
/* Hide stored report @id from catch-up while its stem runs; forget ended stems. */
void node_catchup_hide(struct node_dissem *d, uint64_t created_ms, const uint8_t id[32]);
void node_catchup_prune_hidden(struct node_dissem *d);
/* Extend @dl's catch-up window from now. */
void node_catchup_open_window(struct node_dissem *d, struct dlink *dl);
/* Start the deferred and wanted sessions, while the node is not catching up. */
void node_catchup_start_wanted(struct node_dissem *d);
/* Once a second: pick a random link to reconcile with, give up stuck sessions. */
void node_catchup_periodic(struct node_dissem *d, uint64_t now);
/* A RECON message, a CATCHUP copy from @dl. */
void node_catchup_on_recon(struct node_dissem *d, struct dlink *dl, const uint8_t *p, size_t len);
void node_catchup_on_copy(struct node_dissem *d, struct dlink *dl, const uint8_t *p, size_t len);
/*
 * Charge @keys of catch-up work (NODE_DISSEM_PUSH_KEYS) to the member of @dl: one CHARGE_SCAN
 * per pass. Its offence marks the link abusive (node_dissem_charge()).
 */
void node_catchup_charge_work(struct node_dissem *d, struct dlink *dl, uint64_t keys);

/* outbox.c ------------------------------------------------------------------------------- */

/* Send due outbox entries to recipients with a link up and reschedule them. */
void node_outbox_scan(struct node_dissem *d);
/* A DIRECT copy, an ACK from @dl; ACK a committed DIRECT copy @it. */
void node_outbox_on_direct(struct node_dissem *d, struct dlink *dl, const uint8_t *p, size_t len);
void node_outbox_on_ack(struct node_dissem *d, struct dlink *dl, const uint8_t id[32]);
void node_outbox_ack(struct node_dissem *d, struct inb *it);

/* roster_gossip.c ------------------------------------------------------------------------ */

/*
 * Send @dl every held roster after its peer's epoch up to @epoch (ROSTER, or ROSTER_PARTs);
 * returns the roster bytes queued. node_roster_gossip_on_up(): the same on link up, charged
 * to the peer's member as catch-up work (NODE_DISSEM_ROSTER_BYTES_PER_KEY).
 */
uint64_t node_roster_gossip_send(struct node_dissem *d, struct dlink *dl, uint64_t epoch);
void node_roster_gossip_on_up(struct node_dissem *d, struct dlink *dl, uint64_t epoch);
/* A ROSTER, a ROSTER_PART from @dl. */
void node_roster_gossip_on_roster(struct node_dissem *d, struct dlink *dl, const uint8_t *p,
				  size_t len);
void node_roster_gossip_on_part(struct node_dissem *d, struct dlink *dl,
				const struct proto_link_msg *m);
/*
 * Drop the partial rosters of all links past their age or, over NODE_DISSEM_PARTS_BYTES_MAX,
 * the oldest (proto_parts_trim()); counted. After each part taken and once a second.
 */
void node_roster_gossip_trim_parts(struct node_dissem *d, uint64_t now);

/* stem_driver.c -------------------------------------------------------------------------- */

/* Act on the stem router's verdict @verdict for stored report @id (FORWARD on @link, FLUFF). */
void node_stem_act(struct node_dissem *d, const uint8_t id[32], uint64_t created_ms, int verdict,
		   uint32_t link);
/* A STEM copy @it was admitted and stored: pass it on, or fluff it. */
void node_stem_relay(struct node_dissem *d, const struct inb *it);
/* A STEM message from @dl; embargoes due at @now. */
void node_stem_on_stem(struct node_dissem *d, struct dlink *dl, const uint8_t *p, size_t len);
void node_stem_tick(struct node_dissem *d, uint64_t now);

/* sealed.c ------------------------------------------------------------------------------- */

/* node_sealed_new() - the (disabled) sealed state of @d; 0 or -ENOMEM. node_sealed_free(). */
int node_sealed_new(struct node_dissem *d);
void node_sealed_free(struct node_dissem *d);
/* Link @dl came up (announce our share, start re-sending), went down. */
void node_sealed_on_up(struct node_dissem *d, struct dlink *dl);
void node_sealed_on_down(struct node_dissem *d, struct dlink *dl);
/* A message of type 16-19 from @dl. */
void node_sealed_on_message(struct node_dissem *d, struct dlink *dl,
			    const struct proto_link_msg *m);
/* Once a second: re-send pages, time out questions, expire. */
void node_sealed_periodic(struct node_dissem *d, uint64_t now);
/*
 * node_sealed_on_snap() - @d->snap was replaced: when its ring floor
 * (proto_sealed_ring_floor()) rose, submissions below it are refused from now on and an
 * opening job deletes the held ones and evaluates their groups again.
 */
void node_sealed_on_snap(struct node_dissem *d);

#endif
