/* SPDX-License-Identifier: MIT */
/*
 * node/overlay/overlay.c — the link manager (see overlay.h for the rules it implements).
 *
 * State: one struct member per roster member, indexed like the roster, holding the member's
 * authenticated link (at most one), our outbound attempt still in progress (at most one),
 * whether it is wanted and its backoff. Every link carries its member index as its tag
 * (node_link_tag): the member it leads to once authenticated, the member it was dialled
 * for before that, -1 for an inbound link still in its handshake.
 *
 * Scheduling: one timer runs maintain(), which refills the wanted set and dials every wanted
 * member that has no link, no attempt in progress and whose backoff has expired, then re-arms
 * itself for the earliest backoff deadline. Events that may change that picture (a link
 * closed, a roster change, new limits) only restart the timer with a zero timeout, so dialling
 * never happens from inside a link callback and nothing re-enters the link that is closing.
 *
 * Shutdown: node_overlay_stop() closes the timer, the listeners and every link and cancels
 * pending name resolutions; the overlay counts its own handles, its links (env.n_links) and
 * its resolutions, and frees itself when all three reach zero.
 */
#include "node/overlay/overlay.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "node/common/log.h"
#include "node/format/addr.h"
#include "proto/community.h"
#include "proto/crypto.h"
#include "proto/error.h"

#define READ_BUF_LEN 65536
#define ADDR_STR_MAX 64 /* "[v6]:port" */

struct listener {
	uv_tcp_t tcp;
	struct node_overlay *ov;
	bool deferred; /* a connection waits in libuv for uv_accept() (accept_must_wait()) */
};

struct member {
	struct node_link *link; /* authenticated link (HELLO or UP) */
	struct node_link *dial; /* our outbound attempt, not yet authenticated */
	bool wanted;
	unsigned demand; /* NODE_OVERLAY_DEMAND_* bits: direct traffic waits for this member */
	bool resolving;	 /* a resolution for it waits or is in flight (not given up) */
	unsigned failures;
	uint64_t next_ms; /* earliest next dial */
	unsigned addr_next;
};

/*
 * A member's name resolution: first in the waiting FIFO (wait_next), then in flight in
 * libuv's pool (the prev/next list), counted against NODE_OVERLAY_RESOLVES_MAX until it is
 * answered or given up (abandoned: its answer will be dropped).
 */
struct resolve {
	uv_getaddrinfo_t req;
	struct node_overlay *ov;
	struct resolve *prev, *next, *wait_next;
	uint8_t id[32]; /* member id: the roster may change before the answer comes */
	uint16_t port;
	bool abandoned;
	uint64_t deadline_ms; /* given up after (in flight only) */
	char host[PROTO_ROSTER_ADDR_MAX + 1];
};

struct node_overlay {
	uv_loop_t *loop;
	uv_timer_t timer;
	uv_prepare_t prepare; /* marks loop iterations for the accept and read budgets */
	uv_idle_t read_idle;  /* env.idle: active while links wait for their turn to read */
	size_t iter_accepts;  /* connections accepted since the last poll began */
	struct listener listeners[NODE_OVERLAY_LISTEN_MAX];
	size_t n_listeners;
	unsigned handles;			/* timer, prepare, idle, listeners not yet closed */
	struct resolve *resolves;		/* in flight in libuv's pool, abandoned ones too */
	unsigned n_resolves, n_abandoned;	/* in flight; of them given up */
	struct resolve *wait_head, **wait_tail; /* waiting for a place, in order */
	unsigned n_waiting;
	uint64_t resolves_started, resolves_given_up;
	bool stopping;
	void (*done)(void *arg);
	void *done_arg;

	struct node_overlay_limits lim;
	struct node_overlay_callbacks cb;
	struct node_link_env env;
	uint8_t id_pk[32], tx_pk[32];

	const struct proto_roster *roster;
	struct member *members;
	int self;

	uint64_t accepted, dials, deferred, accept_errors;
	uint64_t accept_error_ms; /* last accept() failure logged */
	uint64_t closed[NODE_LINK_R__COUNT];
	uint64_t refused[NODE_LINK_R__COUNT];  /* inbound links closed before UP */
	uint64_t reported[NODE_LINK_R__COUNT]; /* refused[] at the last summary */
	uint64_t summary_ms;

	uint8_t rbuf[READ_BUF_LEN];
	uint8_t pbuf[PROTO_NOISE_MAX_MSG];
};

static void kick(struct node_overlay *ov);

/* Addresses ------------------------------------------------------------------------- */

static const char *addr_str(const struct sockaddr_storage *ss, char *buf, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

		uv_ip4_name(in, ip, sizeof(ip));
		snprintf(buf, cap, "%s:%u", ip, ntohs(in->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

		uv_ip6_name(in6, ip, sizeof(ip));
		snprintf(buf, cap, "[%s]:%u", ip, ntohs(in6->sin6_port));
	} else {
		snprintf(buf, cap, "unknown");
	}
	return buf;
}

/* Limits ---------------------------------------------------------------------------- */

int node_overlay_check_limits(const struct node_overlay_limits *lim)
{
	if (!lim || lim->degree < 1 || lim->degree > 1024 || lim->handshake_timeout_ms < 1 ||
	    lim->preauth_timeout_ms < 1 || lim->max_preauth < 1 ||
	    lim->max_preauth_per_address < 1 || lim->max_handshakes < 1 ||
	    lim->max_frame < NODE_LINK_FRAME_MIN || lim->max_frame > NODE_LINK_FRAME_MAX ||
	    lim->send_queue_max < 2 * NODE_LINK_FRAME_MAX || lim->keepalive_ms < 1 ||
	    lim->dead_after_ms < 1 || lim->backoff_min_ms < 1 ||
	    lim->backoff_max_ms < lim->backoff_min_ms)
		return -EINVAL;
	return 0;
}

static void apply_limits(struct node_overlay *ov, const struct node_overlay_limits *lim)
{
	ov->lim = *lim;
	if (!ov->lim.resolve_timeout_ms)
		ov->lim.resolve_timeout_ms = NODE_OVERLAY_RESOLVE_TIMEOUT_MS;
	ov->env.lim.handshake_timeout_ms = lim->handshake_timeout_ms;
	ov->env.lim.preauth_timeout_ms = lim->preauth_timeout_ms;
	ov->env.lim.max_frame = lim->max_frame;
	ov->env.lim.send_queue_max = lim->send_queue_max;
	ov->env.lim.keepalive_ms = lim->keepalive_ms;
	ov->env.lim.dead_after_ms = lim->dead_after_ms;
	ov->env.lim.rekey_ms = lim->rekey_ms;
}

void node_overlay_set_network_keys(struct node_overlay *ov, const struct proto_netkey_state *k)
{
	memcpy(ov->env.network_key, k->key, 32);
	if (k->has_previous) {
		memcpy(ov->env.previous_key, k->previous, 32);
		ov->env.previous_until_ms = k->previous_until_ms;
	} else {
		proto_wipe(ov->env.previous_key, 32);
		ov->env.previous_until_ms = 0;
	}
}

int node_overlay_set_limits(struct node_overlay *ov, const struct node_overlay_limits *lim)
{
	if (node_overlay_check_limits(lim) < 0)
		return -EINVAL;
	apply_limits(ov, lim);
	kick(ov);
	return 0;
}

/* Teardown -------------------------------------------------------------------------- */

static void maybe_finish(struct node_overlay *ov)
{
	void (*done)(void *arg) = ov->done;
	void *arg = ov->done_arg;

	if (!ov->stopping || ov->handles || ov->env.n_links || ov->n_resolves)
		return;
	proto_wipe(ov->env.network_key, sizeof(ov->env.network_key));
	proto_wipe(ov->env.previous_key, sizeof(ov->env.previous_key));
	proto_wipe(ov->env.static_sk, sizeof(ov->env.static_sk));
	node_gate_deinit(&ov->env.gate);
	free(ov->members);
	free(ov);
	if (done)
		done(arg);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct node_overlay *ov = h->data;

	ov->handles--;
	maybe_finish(ov);
}

static void on_listener_closed(uv_handle_t *h)
{
	struct node_overlay *ov = ((struct listener *)h->data)->ov;

	ov->handles--;
	maybe_finish(ov);
}

void node_overlay_stop(struct node_overlay *ov, void (*done)(void *arg), void *arg)
{
	struct node_link *l;

	if (!ov) {
		if (done)
			done(arg);
		return;
	}
	if (ov->stopping)
		return;
	ov->stopping = true;
	ov->done = done;
	ov->done_arg = arg;
	uv_close((uv_handle_t *)&ov->timer, on_handle_closed);
	uv_close((uv_handle_t *)&ov->prepare, on_handle_closed);
	uv_close((uv_handle_t *)&ov->read_idle, on_handle_closed);
	for (size_t i = 0; i < ov->n_listeners; i++)
		uv_close((uv_handle_t *)&ov->listeners[i].tcp, on_listener_closed);
	while (ov->wait_head) {
		struct resolve *r = ov->wait_head;

		ov->wait_head = r->wait_next;
		free(r);
	}
	ov->wait_tail = &ov->wait_head;
	ov->n_waiting = 0;
	for (struct resolve *r = ov->resolves; r; r = r->next)
		uv_cancel((uv_req_t *)&r->req);
	/* Closing never unlinks (links leave the list when freed), so the walk is safe. */
	for (l = ov->env.links; l; l = node_link_next(l))
		node_link_close(l, NODE_LINK_R_STOP);
	maybe_finish(ov);
}

/* Members and backoff --------------------------------------------------------------- */

/* Milliseconds member @i is still refused for abuse (callbacks.refused), 0 when it is not. */
static uint64_t refused(const struct node_overlay *ov, size_t i)
{
	return ov->cb.refused ? ov->cb.refused(ov->cb.ctx, ov->roster->members[i].id) : 0;
}

/* A member refused for abuse is neither dialled nor kept wanted until its refusal ends. */
static bool dialable(const struct node_overlay *ov, size_t i)
{
	return (int)i != ov->self && ov->roster->members[i].n_addrs > 0 && !refused(ov, i);
}

/* Whether member @i is to be dialled: wanted, or demanded by direct traffic. */
static bool to_dial(const struct node_overlay *ov, size_t i)
{
	const struct member *m = &ov->members[i];

	return m->wanted || (m->demand && dialable(ov, i));
}

static uint64_t backoff_delay(const struct node_overlay *ov, unsigned failures)
{
	uint64_t d = ov->lim.backoff_min_ms;

	for (unsigned k = 1; k < failures && d < ov->lim.backoff_max_ms; k++)
		d *= 2;
	if (d > ov->lim.backoff_max_ms)
		d = ov->lim.backoff_max_ms;
	if (d > UINT32_MAX)
		d = UINT32_MAX;
	/* Uniform in [d/2, d]: nodes that lost the same peer do not come back in lockstep. */
	return d / 2 + proto_random_u32((uint32_t)(d - d / 2) + 1);
}

static void failed(struct node_overlay *ov, struct member *m)
{
	m->failures++;
	m->addr_next++;
	m->next_ms = uv_now(ov->loop) + backoff_delay(ov, m->failures);
}

/* Pick a random dialable, unwanted member, preferring ones that have not failed repeatedly. */
static int pick_candidate(const struct node_overlay *ov)
{
	size_t n = ov->roster->n_members, good = 0, any = 0, k;
	bool prefer;

	for (size_t i = 0; i < n; i++) {
		if (!dialable(ov, i) || ov->members[i].wanted)
			continue;
		any++;
		if (ov->members[i].failures < NODE_OVERLAY_REPLACE_AFTER)
			good++;
	}
	if (!any)
		return -1;
	prefer = good > 0;
	k = proto_random_u32((uint32_t)(prefer ? good : any));
	for (size_t i = 0; i < n; i++) {
		if (!dialable(ov, i) || ov->members[i].wanted)
			continue;
		if (prefer && ov->members[i].failures >= NODE_OVERLAY_REPLACE_AFTER)
			continue;
		if (k-- == 0)
			return (int)i;
	}
	return -1;
}

static void fill_wanted(struct node_overlay *ov)
{
	size_t n = ov->roster->n_members, wanted = 0, n_dialable = 0, target;

	for (size_t i = 0; i < n; i++) {
		struct member *m = &ov->members[i];

		if (!dialable(ov, i)) {
			m->wanted = false;
			continue;
		}
		n_dialable++;
		if (!m->wanted)
			continue;
		/*
		 * Replace a member we keep failing to reach when a member that has not failed
		 * is available; the refill below picks one of those.
		 */
		if (m->failures >= NODE_OVERLAY_REPLACE_AFTER && !m->link && !m->dial &&
		    !m->resolving) {
			int c = pick_candidate(ov);

			if (c >= 0 && ov->members[c].failures < NODE_OVERLAY_REPLACE_AFTER) {
				m->wanted = false;
				continue;
			}
		}
		wanted++;
	}
	target = ov->lim.degree < n_dialable ? ov->lim.degree : n_dialable;
	/* Degree lowered at reload: give up unlinked members first, then any. */
	for (int pass = 0; pass < 2 && wanted > target; pass++)
		for (size_t i = 0; i < n && wanted > target; i++)
			if (ov->members[i].wanted && (pass == 1 || !ov->members[i].link)) {
				ov->members[i].wanted = false;
				wanted--;
			}
	while (wanted < target) {
		int c = pick_candidate(ov);

		if (c < 0)
			break;
		ov->members[c].wanted = true;
		wanted++;
	}
}

static void connect_member(struct node_overlay *ov, int idx, const struct sockaddr *sa)
{
	struct member *m = &ov->members[idx];
	struct node_link *l;
	char buf[ADDR_STR_MAX];
	int rc;

	rc = node_link_connect(&ov->env, sa, &l);
	if (rc < 0) {
		log_debug("overlay: dial %s failed: %s",
			  node_log_member_names()
				  ? addr_str((const struct sockaddr_storage *)sa, buf, sizeof(buf))
				  : "of a member",
			  proto_error_str(rc));
		failed(ov, m);
		return;
	}
	node_link_set_tag(l, idx);
	m->dial = l;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct resolve *r = (struct resolve *)req;
	struct node_overlay *ov = r->ov;
	const struct addrinfo *ai;
	unsigned n_ok = 0, pick;
	int idx;

	if (r->prev)
		r->prev->next = r->next;
	else
		ov->resolves = r->next;
	if (r->next)
		r->next->prev = r->prev;
	ov->n_resolves--;
	if (r->abandoned)
		ov->n_abandoned--;
	if (ov->stopping)
		goto out;
	/*
	 * Given up, or its member left the roster meanwhile: the answer is dropped, but its place
	 * among the resolutions in flight is free, so the queue moves at once.
	 */
	idx = !r->abandoned && ov->roster ? proto_roster_find_member(ov->roster, r->id) : -1;
	if (idx < 0) {
		kick(ov);
		goto out;
	}
	ov->members[idx].resolving = false;
	/*
	 * Successive attempts take successive results (a name may resolve to ::1 first while
	 * the member listens on 127.0.0.1 only), so one unreachable result never blocks it.
	 */
	for (ai = status == 0 ? res : NULL; ai; ai = ai->ai_next)
		n_ok += ai->ai_family == AF_INET || ai->ai_family == AF_INET6;
	pick = n_ok ? ov->members[idx].failures % n_ok : 0;
	for (ai = n_ok ? res : NULL; ai; ai = ai->ai_next)
		if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) && pick-- == 0)
			break;
	if (!ai) {
		log_debug("overlay: cannot resolve a member address: %s",
			  status < 0 ? uv_strerror(status) : "no IPv4/IPv6 address");
		failed(ov, &ov->members[idx]);
	} else if (to_dial(ov, (size_t)idx) && !ov->members[idx].link && !ov->members[idx].dial) {
		struct sockaddr_storage ss;

		memset(&ss, 0, sizeof(ss));
		memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
		if (ss.ss_family == AF_INET)
			((struct sockaddr_in *)&ss)->sin_port = htons(r->port);
		else
			((struct sockaddr_in6 *)&ss)->sin6_port = htons(r->port);
		connect_member(ov, idx, (const struct sockaddr *)&ss);
	}
	kick(ov);
out:
	uv_freeaddrinfo(res);
	free(r);
	if (ov->stopping)
		maybe_finish(ov);
}

static void dial(struct node_overlay *ov, int idx)
{
	const struct proto_member *pm = &ov->roster->members[idx];
	struct member *m = &ov->members[idx];
	const char *a = pm->addrs[m->addr_next % pm->n_addrs];
	struct sockaddr_storage ss;
	char host[PROTO_ROSTER_ADDR_MAX + 1];
	struct resolve *r;
	uint16_t port;
	bool v6;

	ov->dials++;
	if (node_addr_split(a, host, sizeof(host), &port, &v6) < 0) {
		failed(ov, m); /* the roster codec checks addresses; this is belt and braces */
		return;
	}
	if (node_addr_numeric(host, port, v6, &ss) == 0) {
		connect_member(ov, idx, (const struct sockaddr *)&ss);
		return;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		failed(ov, m);
		return;
	}
	r->ov = ov;
	r->port = port;
	memcpy(r->id, pm->id, 32);
	memcpy(r->host, host, sizeof(r->host));
	*ov->wait_tail = r;
	ov->wait_tail = &r->wait_next;
	ov->n_waiting++;
	m->resolving = true;
}

/* Starts waiting resolutions, in order, while fewer than the cap are in flight. */
static void resolve_start_waiting(struct node_overlay *ov)
{
	struct addrinfo hints;
	struct resolve *r;
	int idx, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	while (ov->wait_head && ov->n_resolves - ov->n_abandoned < NODE_OVERLAY_RESOLVES_MAX) {
		r = ov->wait_head;
		ov->wait_head = r->wait_next;
		if (!ov->wait_head)
			ov->wait_tail = &ov->wait_head;
		ov->n_waiting--;
		idx = ov->roster ? proto_roster_find_member(ov->roster, r->id) : -1;
		if (idx < 0) {
			free(r); /* left the roster meanwhile */
			continue;
		}
		ov->resolves_started++;
		rc = uv_getaddrinfo(ov->loop, &r->req, on_resolved, r->host, NULL, &hints);
		if (rc < 0) {
			log_debug("overlay: cannot start resolving a member address: %s",
				  uv_strerror(rc));
			ov->members[idx].resolving = false;
			failed(ov, &ov->members[idx]);
			free(r);
			continue;
		}
		r->deadline_ms = uv_now(ov->loop) + ov->lim.resolve_timeout_ms;
		r->prev = NULL;
		r->next = ov->resolves;
		if (ov->resolves)
			ov->resolves->prev = r;
		ov->resolves = r;
		ov->n_resolves++;
	}
}

/*
 * Gives up resolutions past their deadline while fewer than the cap of given-up ones still
 * run (overlay.h), then starts waiting ones. Returns the earliest deadline still to watch
 * (UINT64_MAX: none; with the given-up ones at their cap, the next answer kicks instead).
 */
static uint64_t resolve_pump(struct node_overlay *ov, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	for (struct resolve *r = ov->resolves; r; r = r->next) {
		int idx;

		if (r->abandoned || now < r->deadline_ms ||
		    ov->n_abandoned >= NODE_OVERLAY_RESOLVES_MAX)
			continue;
		r->abandoned = true;
		ov->n_abandoned++;
		ov->resolves_given_up++;
		log_debug("overlay: resolving a member address took over %" PRIu64 " ms; given up",
			  ov->lim.resolve_timeout_ms);
		idx = ov->roster ? proto_roster_find_member(ov->roster, r->id) : -1;
		if (idx >= 0) {
			ov->members[idx].resolving = false;
			failed(ov, &ov->members[idx]);
		}
	}
	resolve_start_waiting(ov);
	if (ov->n_abandoned < NODE_OVERLAY_RESOLVES_MAX)
		for (struct resolve *r = ov->resolves; r; r = r->next)
			if (!r->abandoned && r->deadline_ms < next)
				next = r->deadline_ms;
	return next;
}

static bool refusals_pending(const struct node_overlay *ov)
{
	for (int r = 1; r < NODE_LINK_R__COUNT; r++)
		if (ov->refused[r] != ov->reported[r])
			return true;
	return false;
}

/* One notice per NODE_OVERLAY_SUMMARY_MS instead of one line per hostile connection. */
static void summarize(struct node_overlay *ov)
{
	char line[NODE_LOG_LINE_MAX];
	size_t off = 0;
	uint64_t total = 0;

	for (int r = 1; r < NODE_LINK_R__COUNT; r++) {
		uint64_t d = ov->refused[r] - ov->reported[r];

		if (!d)
			continue;
		total += d;
		if (off < sizeof(line))
			off += (size_t)snprintf(line + off, sizeof(line) - off, "%s%s %" PRIu64,
						off ? ", " : "", node_link_reason_name(r), d);
		ov->reported[r] = ov->refused[r];
	}
	ov->summary_ms = uv_now(ov->loop);
	if (total)
		log_notice("overlay: %" PRIu64 " inbound connection(s) closed before the link was "
			   "up since the last report (%s)",
			   total, line);
}

static void on_tick(uv_timer_t *t);

static void maintain(struct node_overlay *ov)
{
	uint64_t now = uv_now(ov->loop), next = UINT64_MAX;

	if (ov->stopping)
		return;
	if (ov->roster) {
		fill_wanted(ov);
		/* Overdue resolutions first: their members may be dialled again below. */
		resolve_pump(ov, now);
		for (size_t i = 0; i < ov->roster->n_members; i++) {
			struct member *m = &ov->members[i];

			if (!to_dial(ov, i) || m->link || m->dial || m->resolving)
				continue;
			if (now >= m->next_ms)
				dial(ov, (int)i);
			if (!m->dial && !m->resolving && m->next_ms < next)
				next = m->next_ms;
		}
		uint64_t deadline = resolve_pump(ov, now);

		if (deadline < next)
			next = deadline;
	}
	if (refusals_pending(ov)) {
		if (now - ov->summary_ms >= NODE_OVERLAY_SUMMARY_MS)
			summarize(ov);
		else if (ov->summary_ms + NODE_OVERLAY_SUMMARY_MS < next)
			next = ov->summary_ms + NODE_OVERLAY_SUMMARY_MS;
	}
	if (next != UINT64_MAX)
		uv_timer_start(&ov->timer, on_tick, next > now ? next - now : 1, 0);
}

static void on_tick(uv_timer_t *t)
{
	maintain(t->data);
}

static void kick(struct node_overlay *ov)
{
	if (!ov->stopping)
		uv_timer_start(&ov->timer, on_tick, 0, 0);
}

void node_overlay_demand_clear(struct node_overlay *ov, unsigned source)
{
	for (size_t i = 0; ov && ov->roster && i < ov->roster->n_members; i++)
		ov->members[i].demand &= ~source;
}

void node_overlay_demand(struct node_overlay *ov, const uint8_t id[32], unsigned source)
{
	int i = ov && ov->roster ? proto_roster_find_member(ov->roster, id) : -1;
	struct member *m;

	if (i < 0 || i == ov->self)
		return;
	m = &ov->members[i];
	if (m->demand & source)
		return;
	m->demand |= source;
	if (!m->link && !m->dial && !m->resolving)
		kick(ov);
}

/* Link callbacks -------------------------------------------------------------------- */

static struct node_overlay *owner_of(const struct node_link *l)
{
	return node_link_owner(l);
}

static bool valid_member(const struct node_overlay *ov, int idx)
{
	return ov->roster && idx >= 0 && (size_t)idx < ov->roster->n_members;
}

/* Tie-break (overlay.h): keep @fresh rather than @old, both authenticated to member @idx? */
static bool keep_fresh(const struct node_overlay *ov, const struct node_link *old,
		       const struct node_link *fresh, int idx)
{
	bool we_are_smaller;

	if (node_link_outbound(old) == node_link_outbound(fresh))
		return true;
	we_are_smaller = memcmp(ov->id_pk, ov->roster->members[idx].id, 32) < 0;
	/* The link opened by the smaller id wins; ours are the outbound ones. */
	return node_link_outbound(fresh) == we_are_smaller;
}

/*
 * @l proved the network key with message 1. Past max_handshakes, the oldest inbound link
 * still in its handshake makes room: a handshake takes one round trip, so the oldest is the
 * one most likely stalled.
 */
static enum node_link_reason on_admit(struct node_link *l)
{
	struct node_overlay *ov = owner_of(l);
	struct node_link *oldest = NULL;

	if (ov->env.handshakes_in < ov->lim.max_handshakes)
		return NODE_LINK_R_NONE;
	for (struct node_link *k = ov->env.links; k; k = node_link_next(k))
		if (!node_link_outbound(k) && node_link_state(k) == NODE_LINK_HANDSHAKE)
			oldest = k; /* the list is newest first */
	if (oldest)
		node_link_close(oldest, NODE_LINK_R_EVICTED);
	return NODE_LINK_R_NONE;
}

static enum node_link_reason on_authenticated(struct node_link *l)
{
	struct node_overlay *ov = owner_of(l);
	int idx = ov->roster ? proto_roster_find_transport(ov->roster, node_link_remote_static(l))
			     : -1;
	struct node_link *old;
	struct member *m;

	if (idx < 0)
		return NODE_LINK_R_NOT_MEMBER;
	if (idx == ov->self)
		return NODE_LINK_R_SELF;
	if (node_link_outbound(l) && idx != node_link_tag(l))
		return NODE_LINK_R_UNEXPECTED;
	m = &ov->members[idx];
	if (m->dial == l)
		m->dial = NULL;
	node_link_set_tag(l, idx);
	/* Identified and nothing read yet: a member in its abuse backoff costs no more. */
	if (refused(ov, (size_t)idx))
		return NODE_LINK_R_BACKOFF;
	old = m->link;
	if (old && !keep_fresh(ov, old, l, idx))
		return NODE_LINK_R_DUPLICATE;
	/* Registered before the loser closes, so its closed() sees the member still linked. */
	m->link = l;
	if (old)
		node_link_close(old, NODE_LINK_R_DUPLICATE);
	return NODE_LINK_R_NONE;
}

static enum node_link_reason on_hello(struct node_link *l, const struct proto_link_hello *h)
{
	struct node_overlay *ov = owner_of(l);
	int idx = node_link_tag(l);

	if (!valid_member(ov, idx) || memcmp(h->member_id, ov->roster->members[idx].id, 32) != 0)
		return NODE_LINK_R_PROTOCOL;
	return NODE_LINK_R_NONE;
}

static size_t count_up(const struct node_overlay *ov)
{
	size_t n = 0;

	for (const struct node_link *l = ov->env.links; l; l = node_link_next(l))
		n += node_link_state(l) == NODE_LINK_UP;
	return n;
}

static void on_up(struct node_link *l)
{
	struct node_overlay *ov = owner_of(l);
	int idx = node_link_tag(l);
	char buf[ADDR_STR_MAX];
	struct node_link_info info;

	ov->members[idx].failures = 0;
	log_info("overlay: link %" PRIu64 " up (%s); %zu link(s) up", node_link_id(l),
		 node_link_outbound(l) ? "outbound" : "inbound", count_up(ov));
	if (node_log_enabled(NODE_LOG_DEBUG) && node_log_member_names()) {
		node_link_info(l, &info);
		log_debug("overlay: link %" PRIu64 " leads to member \"%s\" at %s", info.id,
			  ov->roster->members[idx].name, addr_str(&info.peer, buf, sizeof(buf)));
	}
	if (ov->cb.up)
		ov->cb.up(ov->cb.ctx, l, idx);
}

static void on_message(struct node_link *l, const struct proto_link_msg *m)
{
	struct node_overlay *ov = owner_of(l);

	if (ov->cb.message)
		ov->cb.message(ov->cb.ctx, l, node_link_tag(l), m);
}

static void on_drained(struct node_link *l)
{
	struct node_overlay *ov = owner_of(l);

	if (ov->cb.drained)
		ov->cb.drained(ov->cb.ctx, l, node_link_tag(l));
}

static void log_closed(struct node_overlay *ov, struct node_link *l, enum node_link_reason reason,
		       enum node_link_state was)
{
	struct node_link_info info;
	char buf[ADDR_STR_MAX];

	node_link_info(l, &info);
	if (reason == NODE_LINK_R_QUEUE)
		log_warning("overlay: link %" PRIu64 " closed: %s (%zu bytes, %zu of them for "
			    "control frames)",
			    info.id, node_link_reason_text(reason), ov->lim.send_queue_max,
			    (size_t)NODE_LINK_CONTROL_RESERVE);
	else if (was == NODE_LINK_UP && reason != NODE_LINK_R_STOP)
		log_info("overlay: link %" PRIu64 " down: %s", info.id,
			 node_link_reason_text(reason));
	else if (reason == NODE_LINK_R_VERSION)
		log_warning("overlay: link %" PRIu64 " refused: the peer speaks link protocol "
			    "versions %" PRIu64 "-%" PRIu64 ", this node %d-%d (upgrade the older "
			    "node)",
			    info.id, info.peer_min_version, info.peer_version,
			    PROTO_LINK_VERSION_MIN, PROTO_LINK_VERSION);
	else if (info.outbound && (reason == NODE_LINK_R_NOT_MEMBER ||
				   reason == NODE_LINK_R_UNEXPECTED || reason == NODE_LINK_R_SELF))
		log_notice("overlay: outbound link %" PRIu64 " refused: %s (check the roster's "
			   "addresses)",
			   info.id, node_link_reason_text(reason));
	if (!node_log_member_names())
		log_debug("overlay: link %" PRIu64 " (%s) closed in state %s: %s", info.id,
			  info.outbound ? "outbound" : "inbound", node_link_state_name(was),
			  node_link_reason_text(reason));
	else
		log_debug("overlay: link %" PRIu64 " (%s, %s, peer %s) closed in state %s: %s",
			  info.id, info.outbound ? "outbound" : "inbound",
			  valid_member(ov, node_link_tag(l))
				  ? ov->roster->members[node_link_tag(l)].name
				  : "unidentified",
			  addr_str(&info.peer, buf, sizeof(buf)), node_link_state_name(was),
			  node_link_reason_text(reason));
}

static void on_closed(struct node_link *l, enum node_link_reason reason, enum node_link_state was)
{
	struct node_overlay *ov = owner_of(l);
	int idx = node_link_tag(l);

	ov->closed[reason]++;
	if (!node_link_outbound(l) && was != NODE_LINK_UP)
		ov->refused[reason]++;
	log_closed(ov, l, reason, was);
	if (!valid_member(ov, idx)) {
		if (was == NODE_LINK_UP && ov->cb.down)
			ov->cb.down(ov->cb.ctx, l, -1, reason);
		kick(ov);
		return;
	}
	struct member *m = &ov->members[idx];

	if (m->link == l)
		m->link = NULL;
	if (m->dial == l)
		m->dial = NULL;
	if (was == NODE_LINK_UP && ov->cb.down)
		ov->cb.down(ov->cb.ctx, l, idx, reason);
	if (!ov->stopping && (m->wanted || m->demand) && !m->link && !m->dial && !m->resolving)
		failed(ov, m);
	kick(ov);
}

static void accept_pending(struct node_overlay *ov);

static void on_freed(struct node_link *l)
{
	struct node_overlay *ov = owner_of(l);

	if (ov->stopping)
		maybe_finish(ov);
	else
		accept_pending(ov); /* a socket was released */
}

static const struct node_link_ops link_ops = {
	.admit = on_admit,
	.authenticated = on_authenticated,
	.hello = on_hello,
	.up = on_up,
	.message = on_message,
	.drained = on_drained,
	.closed = on_closed,
	.freed = on_freed,
};

/* Listening ------------------------------------------------------------------------- */

/* The pre-authentication pool's size: max_preauth, and at most half of the sockets. */
static size_t preauth_cap(const struct node_overlay *ov)
{
	size_t cap = ov->lim.max_preauth;

	if (ov->lim.max_fds && cap > ov->lim.max_fds / 2)
		cap = ov->lim.max_fds / 2 ? ov->lim.max_fds / 2 : 1;
	return cap;
}

/*
 * Accepting must wait: the overlay's sockets reached max_fds, or half the pool was accepted
 * in this loop iteration. The second keeps every connection in the pool for at least one
 * poll of its socket before later arrivals can evict it (a burst from the backlog evicts
 * older connections, never the ones it brought in itself).
 */
static bool accept_must_wait(const struct node_overlay *ov)
{
	size_t budget = preauth_cap(ov) / 2;

	return (ov->lim.max_fds && ov->env.n_links >= ov->lim.max_fds) ||
	       ov->iter_accepts >= (budget ? budget : 1);
}

/* Close the oldest pooled connection; false when the pool is empty. */
static bool evict_oldest(struct node_overlay *ov)
{
	struct node_link *old = node_link_preauth_oldest(&ov->env);

	if (old)
		node_link_close(old, NODE_LINK_R_EVICTED);
	return old != NULL;
}

/* Accept the connection libuv holds for @server into the pool, evicting as overlay.h says. */
static void accept_one(struct node_overlay *ov, uv_stream_t *server)
{
	struct node_link *l, *old;
	int rc;

	while (ov->env.gate.n >= preauth_cap(ov) && evict_oldest(ov))
		;
	ov->accepted++;
	ov->iter_accepts++;
	rc = node_link_accept(&ov->env, server, &l);
	if (rc < 0) {
		log_warning("overlay: accept failed: %s", proto_error_str(rc));
		return;
	}
	if (node_link_preauth_source_count(l) > ov->lim.max_preauth_per_address) {
		old = node_link_preauth_source_oldest(l);
		node_link_close(old, NODE_LINK_R_EVICTED);
	}
}

/* Take the connections that waited (accept_must_wait()) while there is room again. */
static void accept_pending(struct node_overlay *ov)
{
	for (size_t i = 0; i < ov->n_listeners && !accept_must_wait(ov); i++) {
		struct listener *li = &ov->listeners[i];

		if (!li->deferred)
			continue;
		li->deferred = false;
		accept_one(ov, (uv_stream_t *)&li->tcp); /* uv_accept() resumes listening */
	}
}

static void on_prepare(uv_prepare_t *p)
{
	struct node_overlay *ov = p->data;

	ov->iter_accepts = 0;
	accept_pending(ov);
	node_link_env_prepare(&ov->env);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct listener *li = server->data;
	struct node_overlay *ov = li->ov;
	uint64_t now = uv_now(ov->loop);

	if (ov->stopping)
		return;
	if (status < 0) {
		/*
		 * libuv has already dropped the backlog to get out of EMFILE. Descriptors are
		 * taken elsewhere too (API clients, files): give some back from the pool, and log
		 * once per summary period, not per connection.
		 */
		ov->accept_errors++;
		for (int k = 0; k < 16 && evict_oldest(ov); k++)
			;
		if (!ov->accept_error_ms || now - ov->accept_error_ms >= NODE_OVERLAY_SUMMARY_MS) {
			ov->accept_error_ms = now;
			log_warning("overlay: accept failed: %s (%" PRIu64 " failure(s) so far)",
				    uv_strerror(status), ov->accept_errors);
		}
		return;
	}
	if (accept_must_wait(ov)) {
		/*
		 * Not calling uv_accept() leaves the connection with libuv, which stops watching
		 * the listener until accept_pending() takes it: the rest wait in the backlog.
		 */
		li->deferred = true;
		ov->deferred++;
		return;
	}
	accept_one(ov, server);
}

static int listen_on(struct node_overlay *ov, const struct sockaddr_storage *ss)
{
	struct listener *li = &ov->listeners[ov->n_listeners];
	int rc;

	rc = uv_tcp_init(ov->loop, &li->tcp);
	if (rc < 0)
		return rc;
	li->ov = ov;
	li->tcp.data = li;
	ov->n_listeners++;
	ov->handles++;
	rc = uv_tcp_bind(&li->tcp, (const struct sockaddr *)ss,
			 ss->ss_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&li->tcp, SOMAXCONN, on_connection);
	return rc;
}

uint16_t node_overlay_listen_port(const struct node_overlay *ov, size_t i)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	if (i >= ov->n_listeners ||
	    uv_tcp_getsockname(&ov->listeners[i].tcp, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

int node_overlay_start(uv_loop_t *loop, const struct node_overlay_config *cfg,
		       const struct node_overlay_callbacks *cb, struct node_overlay **out)
{
	struct sockaddr_storage addrs[NODE_OVERLAY_LISTEN_MAX];
	struct node_overlay *ov;
	int rc;

	*out = NULL;
	if (!cfg->keys || !cfg->network_key || cfg->n_listen > NODE_OVERLAY_LISTEN_MAX ||
	    node_overlay_check_limits(&cfg->lim) < 0)
		return -EINVAL;
	for (size_t i = 0; i < cfg->n_listen; i++)
		if (node_addr_parse(cfg->listen[i], &addrs[i]) < 0)
			return -EINVAL;
	ov = calloc(1, sizeof(*ov));
	if (!ov)
		return -ENOMEM;
	ov->wait_tail = &ov->wait_head;
	ov->loop = loop;
	ov->self = -1;
	if (cb)
		ov->cb = *cb;
	memcpy(ov->id_pk, cfg->keys->id_pk, 32);
	memcpy(ov->tx_pk, cfg->keys->tx_pk, 32);
	ov->env.loop = loop;
	ov->env.ops = &link_ops;
	ov->env.owner = ov;
	memcpy(ov->env.community_id, cfg->community_id, 32);
	memcpy(ov->env.network_key, cfg->network_key, 32);
	memcpy(ov->env.static_sk, cfg->keys->tx_sk, 32);
	ov->env.hello.version = PROTO_LINK_VERSION;
	ov->env.hello.min_version = PROTO_LINK_VERSION_MIN;
	memcpy(ov->env.hello.member_id, cfg->keys->id_pk, 32);
	ov->env.rbuf = ov->rbuf;
	ov->env.rbuf_len = sizeof(ov->rbuf);
	ov->env.pbuf = ov->pbuf;
	apply_limits(ov, &cfg->lim);
	ov->summary_ms = uv_now(loop);
	rc = uv_timer_init(loop, &ov->timer);
	if (rc < 0) {
		proto_wipe(ov->env.network_key, 32);
		proto_wipe(ov->env.static_sk, 32);
		free(ov);
		return rc;
	}
	ov->timer.data = ov;
	ov->handles = 1;
	/* libuv documents both as always succeeding. */
	uv_prepare_init(loop, &ov->prepare);
	ov->prepare.data = ov;
	ov->handles++;
	uv_prepare_start(&ov->prepare, on_prepare);
	uv_idle_init(loop, &ov->read_idle);
	ov->read_idle.data = ov;
	ov->handles++;
	ov->env.idle = &ov->read_idle;
	for (size_t i = 0; i < cfg->n_listen; i++) {
		rc = listen_on(ov, &addrs[i]);
		if (rc < 0) {
			log_err("overlay: cannot listen on %s: %s", cfg->listen[i],
				uv_strerror(rc));
			node_overlay_stop(ov, NULL, NULL);
			return rc;
		}
		log_info("overlay: listening on %s (port %u)", cfg->listen[i],
			 node_overlay_listen_port(ov, i));
	}
	*out = ov;
	return 0;
}

/* Roster ---------------------------------------------------------------------------- */

int node_overlay_set_roster(struct node_overlay *ov, const struct proto_roster *roster)
{
	const struct proto_roster *old = ov->roster;
	struct member *nm;
	struct node_link *l;
	size_t n_doomed = 0;

	if (!roster)
		return -EINVAL;
	if (old && roster->epoch <= old->epoch)
		return PROTO_E_ROSTER_EPOCH;
	nm = calloc(roster->n_members ? roster->n_members : 1, sizeof(*nm));
	if (!nm)
		return -ENOMEM;
	for (size_t i = 0; old && i < roster->n_members; i++) {
		int j = proto_roster_find_member(old, roster->members[i].id);

		if (j < 0)
			continue;
		nm[i].wanted = ov->members[j].wanted;
		nm[i].demand = ov->members[j].demand;
		nm[i].resolving = ov->members[j].resolving;
		nm[i].failures = ov->members[j].failures;
		nm[i].next_ms = ov->members[j].next_ms;
		nm[i].addr_next = ov->members[j].addr_next;
	}
	/*
	 * Re-tag every link for the new roster before anything closes: links whose member left
	 * (or now has another transport key) get tag -2 and are closed after the switch, when
	 * their closed() can no longer touch a member.
	 */
	for (l = ov->env.links; l; l = node_link_next(l)) {
		enum node_link_state st = node_link_state(l);
		int t = node_link_tag(l), k;

		if (st == NODE_LINK_CLOSING || t < 0 || !old)
			continue;
		k = proto_roster_find_member(roster, old->members[t].id);
		if (st == NODE_LINK_HELLO || st == NODE_LINK_UP) {
			if (k < 0 || memcmp(roster->members[k].transport_pk,
					    node_link_remote_static(l), 32) != 0) {
				node_link_set_tag(l, -2);
				n_doomed++;
				continue;
			}
			nm[k].link = l;
		} else {
			if (k < 0) {
				node_link_set_tag(l, -2);
				n_doomed++;
				continue;
			}
			nm[k].dial = l;
		}
		node_link_set_tag(l, k);
	}
	free(ov->members);
	ov->members = nm;
	ov->roster = roster;
	ov->env.hello.roster_epoch = roster->epoch;
	ov->self = proto_roster_find_member(roster, ov->id_pk);
	if (ov->self < 0)
		log_warning("overlay: this node is not a member of roster epoch %" PRIu64
			    "; other members will refuse its links",
			    roster->epoch);
	else if (memcmp(roster->members[ov->self].transport_pk, ov->tx_pk, 32) != 0)
		log_warning("overlay: roster epoch %" PRIu64 " lists another transport key for "
			    "this node; other members will refuse its links",
			    roster->epoch);
	for (l = ov->env.links; l && n_doomed; l = node_link_next(l))
		if (node_link_tag(l) == -2 && node_link_state(l) != NODE_LINK_CLOSING) {
			n_doomed--;
			node_link_close(l, NODE_LINK_R_ROSTER);
		}
	log_info("overlay: roster epoch %" PRIu64 " with %zu member(s)", roster->epoch,
		 roster->n_members);
	kick(ov);
	return 0;
}

/* Dissemination interface ----------------------------------------------------------- */

int node_overlay_send(struct node_link *l, const uint8_t *msg, size_t len)
{
	if (node_link_state(l) != NODE_LINK_UP)
		return -ENOTCONN;
	return node_link_send(l, msg, len);
}

int node_overlay_link_member(const struct node_link *l)
{
	enum node_link_state st = node_link_state(l);

	if (st != NODE_LINK_HELLO && st != NODE_LINK_UP)
		return -1;
	return node_link_tag(l) >= 0 ? node_link_tag(l) : -1;
}

struct node_link *node_overlay_link_for_member(const struct node_overlay *ov, int member)
{
	struct node_link *l;

	if (!valid_member(ov, member))
		return NULL;
	l = ov->members[member].link;
	return l && node_link_state(l) == NODE_LINK_UP ? l : NULL;
}

void node_overlay_for_each_up(struct node_overlay *ov,
			      void (*fn)(void *arg, struct node_link *l, int member), void *arg)
{
	for (struct node_link *l = ov->env.links; l; l = node_link_next(l))
		if (node_link_state(l) == NODE_LINK_UP)
			fn(arg, l, node_link_tag(l));
}

/* Status ---------------------------------------------------------------------------- */

void node_overlay_stats(const struct node_overlay *ov, struct node_overlay_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->self = ov->self;
	st->handshakes_in = ov->env.handshakes_in;
	st->preauth = ov->env.gate.n;
	st->accepted = ov->accepted;
	st->deferred = ov->deferred;
	st->accept_errors = ov->accept_errors;
	st->reads_deferred = ov->env.reads_deferred;
	st->reads_waited = ov->env.reads_waited;
	st->read_buffers_held = ov->env.read_buffers_held;
	st->dials = ov->dials;
	st->resolving = ov->n_resolves - ov->n_abandoned;
	st->resolve_waiting = ov->n_waiting;
	st->resolves_abandoned = ov->n_abandoned;
	st->resolves_started = ov->resolves_started;
	st->resolves_given_up = ov->resolves_given_up;
	memcpy(st->closed, ov->closed, sizeof(st->closed));
	for (const struct node_link *l = ov->env.links; l; l = node_link_next(l)) {
		enum node_link_state s = node_link_state(l);

		if (s == NODE_LINK_UP)
			st->links_up++;
		else if (s != NODE_LINK_CLOSING && s != NODE_LINK_PREAUTH)
			st->links_pending++;
	}
	if (!ov->roster)
		return;
	st->epoch = ov->roster->epoch;
	st->members = ov->roster->n_members;
	for (size_t i = 0; i < ov->roster->n_members; i++) {
		const struct member *m = &ov->members[i];

		if (!m->wanted)
			continue;
		st->wanted++;
		if (m->link && node_link_state(m->link) == NODE_LINK_UP)
			st->wanted_up++;
	}
}

/* json_object_set_new() on a NULL value fails and the object stays consistent; count it. */
static int jset(json_t *o, const char *k, json_t *v)
{
	return json_object_set_new(o, k, v);
}

static json_t *link_json(const struct node_overlay *ov, const struct node_link *l, uint64_t now,
			 bool attribution)
{
	struct node_link_info info;
	char buf[ADDR_STR_MAX], hex[65];
	json_t *o = json_object();
	int idx = node_overlay_link_member(l), bad = 0;

	if (!o)
		return NULL;
	node_link_info(l, &info);
	bad |= jset(o, "id", json_integer((json_int_t)info.id));
	bad |= jset(o, "state", json_string(node_link_state_name(info.state)));
	bad |= jset(o, "direction", json_string(info.outbound ? "outbound" : "inbound"));
	bad |= jset(o, "uptime_s",
		    json_integer(info.up_ms ? (json_int_t)((now - info.up_ms) / 1000) : 0));
	bad |= jset(o, "bytes_in", json_integer((json_int_t)info.bytes_in));
	bad |= jset(o, "bytes_out", json_integer((json_int_t)info.bytes_out));
	bad |= jset(o, "msgs_in", json_integer((json_int_t)info.msgs_in));
	bad |= jset(o, "msgs_out", json_integer((json_int_t)info.msgs_out));
	bad |= jset(o, "rtt_ms",
		    info.rtt_us >= 0 ? json_real((double)info.rtt_us / 1000.0) : json_null());
	bad |= jset(o, "queued", json_integer((json_int_t)info.queued));
	bad |= jset(o, "version", json_integer((json_int_t)info.version));
	if (attribution) {
		if (valid_member(ov, idx)) {
			const struct proto_member *pm = &ov->roster->members[idx];

			bad |= jset(o, "member",
				    json_pack("{s:s, s:s}", "name", pm->name, "id",
					      proto_hex_encode(hex, pm->id, 32)));
		}
		bad |= jset(o, "address", json_string(addr_str(&info.peer, buf, sizeof(buf))));
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *members_json(const struct node_overlay *ov, uint64_t now)
{
	json_t *a = json_array();
	char hex[65];

	if (!a || !ov->roster)
		return a;
	for (size_t i = 0; i < ov->roster->n_members; i++) {
		const struct member *m = &ov->members[i];
		const struct proto_member *pm = &ov->roster->members[i];
		bool up = m->link && node_link_state(m->link) == NODE_LINK_UP;
		json_t *o;

		if (!m->wanted)
			continue;
		o = json_pack("{s:s, s:s, s:b, s:I, s:I}", "name", pm->name, "id",
			      proto_hex_encode(hex, pm->id, 32), "linked", up, "failures",
			      (json_int_t)m->failures, "retry_in_ms",
			      (json_int_t)(!up && m->next_ms > now ? m->next_ms - now : 0));
		if (!o || json_array_append_new(a, o) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

json_t *node_overlay_peers_json(const struct node_overlay *ov, bool attribution)
{
	struct node_overlay_stats st;
	uint64_t now = uv_now(ov->loop);
	json_t *res = json_object(), *links = json_array(), *closed = json_object(), *summary;
	int bad = !res || !links || !closed;

	node_overlay_stats(ov, &st);
	for (const struct node_link *l = ov->env.links; !bad && l; l = node_link_next(l)) {
		enum node_link_state s = node_link_state(l);
		json_t *o;

		/* Unidentified inbound connections are counted in the summary, not listed. */
		if (s == NODE_LINK_CLOSING || s == NODE_LINK_PREAUTH ||
		    (!node_link_outbound(l) && s == NODE_LINK_HANDSHAKE))
			continue;
		o = link_json(ov, l, now, attribution);
		bad |= !o || json_array_append_new(links, o) < 0;
	}
	for (int r = 1; !bad && r < NODE_LINK_R__COUNT; r++)
		bad |= jset(closed, node_link_reason_name(r),
			    json_integer((json_int_t)st.closed[r]));
	summary = json_pack(
		"{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "roster_epoch",
		(json_int_t)st.epoch, "members", (json_int_t)st.members, "wanted",
		(json_int_t)st.wanted, "wanted_up", (json_int_t)st.wanted_up, "links_up",
		(json_int_t)st.links_up, "links_pending", (json_int_t)st.links_pending, "preauth",
		(json_int_t)st.preauth, "handshakes_in", (json_int_t)st.handshakes_in, "accepted",
		(json_int_t)st.accepted, "deferred", (json_int_t)st.deferred, "accept_errors",
		(json_int_t)st.accept_errors, "dials", (json_int_t)st.dials);
	if (!bad) {
		bad |= jset(res, "summary", summary);
		summary = NULL;
		bad |= jset(res, "peers", links);
		links = NULL;
		bad |= jset(res, "closed", closed);
		closed = NULL;
		if (attribution && !bad)
			bad |= jset(res, "members", members_json(ov, now));
	}
	json_decref(summary);
	json_decref(links);
	json_decref(closed);
	if (bad) {
		json_decref(res);
		return NULL;
	}
	return res;
}
