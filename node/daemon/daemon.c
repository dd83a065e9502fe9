/* SPDX-License-Identifier: MIT */
/*
 * The daemon: start-up, the API request dispatcher, status, reload, housekeeping and
 * shutdown. Rosters and network-key rotation are in rosters.c, query and list in reads.c;
 * daemon_int.h is the contract between the three.
 * Everything that touches a file or a database after start-up runs in the thread pool
 * (ingest, export, expiry, query/list, reload); the loop thread only parses requests,
 * dispatches, and answers `status` from cheap counters and an LMDB stat.
 *
 * Ownership: the daemon owns the config, the keys, every roster it accepted (rosters only
 * ever get added while running), the current snapshot reference, the store, the export
 * environment, the API server, the ingest and the exporter. Shutdown is a small state
 * machine polled by a timer: wait for the pool jobs to finish, let the export catch up,
 * drain and close the API, close the loop's own handles; uv_run() then returns and the
 * stores are closed.
 */
#include "node/daemon/daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "node/common/heap.h"
#include "node/common/keyfile.h"
#include "node/common/log.h"
#include "node/common/prio.h"
#include "node/common/tagvocab.h"
#include "node/common/warnlists.h"
#include "node/common/workq.h"
#include "node/daemon/daemon_int.h"
#include "node/daemon/exporter.h"
#include "node/daemon/ingest.h"
#include "node/daemon/notices.h"
#include "node/daemon/notify.h"
#include "node/overlay/dissem.h"
#include "node/overlay/overlay.h"
#include "policy/egress.h"
#include "proto/error.h"
#include "proto/oprf.h"
#include "store/export.h"
#include "store/notice.h"
#include "store/sealed.h"

#define HOUSEKEEPING_MS 10000
#define SHUTDOWN_POLL_MS 20
#define DRAIN_MS 3000
#define EXPIRE_MAX 10000
#define READS_IN_POOL 2 /* query/list jobs in the thread pool at once (node/common/pool.h) */

uint64_t node_daemon_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct config_report_ctx {
	const char *path;
	int level;
};

static void config_report(void *ctx, unsigned line, const char *msg)
{
	const struct config_report_ctx *c = ctx;

	if (line)
		node_log(c->level, "%s:%u: %s", c->path, line, msg);
	else
		node_log(c->level, "%s: %s", c->path, msg);
}

static void fill_policy(const struct node_daemon *d, const struct node_config *cfg,
			struct policy_config *p)
{
	policy_config_init(p);
	memcpy(p->own_id, d->keys.id_pk, 32);
	memcpy(p->community, d->community.id, 32);
	policy_config_set_community_name(p, d->community.name);
	p->max_skew_ms = (uint64_t)node_config_int(cfg, NODE_POLICY_MAX_CLOCK_SKEW_S) * 1000;
	p->descriptions =
		(uint8_t)policy_desc_mode_from_name(node_config_str(cfg, NODE_POLICY_DESCRIPTIONS));
	p->export_red = node_config_bool(cfg, NODE_POLICY_EXPORT_RED);
	p->show_attribution = node_config_bool(cfg, NODE_POLICY_SHOW_ATTRIBUTION);
	p->export_warninglisted = node_config_bool(cfg, NODE_POLICY_EXPORT_WARNINGLISTED);
}

/* Read [policy] warninglist_dir; any thread. Logs what it found or why it failed. */
static struct node_warnlists *load_warnlists(const struct node_config *cfg)
{
	const char *dir = node_config_str(cfg, NODE_POLICY_WARNINGLIST_DIR);
	struct node_warnlists *w;
	char why[512];
	int err;

	err = node_warnlists_load(dir, (unsigned)node_config_int(cfg, NODE_POLICY_MIN_PREFIX_IPV4),
				  (unsigned)node_config_int(cfg, NODE_POLICY_MIN_PREFIX_IPV6), &w,
				  why, sizeof(why));
	if (err) {
		log_err("warninglists: %s", why[0] ? why : proto_error_str(err));
		return NULL;
	}
	if (w->dir_missing)
		log_warning("warninglists: %s does not exist; only the minimum prefix lengths "
			    "guard publishing and the blocklist exports ([policy] warninglist_dir)",
			    dir);
	else
		log_info("warninglists: %zu lists, %zu entries from %s", w->n_lists,
			 policy_warnlist_size(w->wl), dir);
	return w;
}

/* Read [policy] tag_vocab_dir and tag_vocab_files; any thread. Logs as load_warnlists(). */
static struct node_tagvocab *load_tagvocab(const struct node_config *cfg)
{
	const char *dir = node_config_str(cfg, NODE_POLICY_TAG_VOCAB_DIR);
	const char *const *files;
	struct node_tagvocab *t;
	size_t n;
	char why[512];
	int err;

	files = node_config_paths(cfg, NODE_POLICY_TAG_VOCAB_FILES, &n);
	err = node_tagvocab_load(dir, files, n, &t, why, sizeof(why));
	if (err) {
		log_err("tag vocabulary: %s", why[0] ? why : proto_error_str(err));
		return NULL;
	}
	if (t->dir_missing)
		log_warning("tag vocabulary: %s does not exist ([policy] tag_vocab_dir); %zu "
			    "entries from tag_vocab_files, every other tag is redacted as text",
			    dir, policy_vocab_size(t->v));
	else
		log_info("tag vocabulary: %zu entries from %zu files", policy_vocab_size(t->v),
			 t->n_files);
	return t;
}

static struct node_snap *make_snap(const struct node_daemon *d, const struct node_config *cfg)
{
	struct policy_config p;
	struct node_snap *s;

	fill_policy(d, cfg, &p);
	s = node_snap_new(&p, (const struct proto_roster *const *)d->rosters, d->n_rosters);
	if (s) {
		s->own_ring_sk = d->keys.ring_sk;
		node_snap_set_warnlists(s, d->warnlists);
		node_snap_set_tagvocab(s, d->tagvocab);
	}
	return s;
}

static void api_limits(const struct node_config *cfg, struct node_api_limits *lim)
{
	memset(lim, 0, sizeof(*lim));
	lim->max_line = (size_t)node_config_int(cfg, NODE_API_MAX_LINE_BYTES);
	lim->max_output = (size_t)node_config_int(cfg, NODE_API_MAX_OUTPUT_BYTES);
	lim->max_conns = (unsigned)node_config_int(cfg, NODE_API_MAX_CONNECTIONS);
	lim->timeout_ms = (uint64_t)node_config_int(cfg, NODE_API_CLIENT_TIMEOUT_S) * 1000;
	lim->line_timeout_ms = (uint64_t)node_config_int(cfg, NODE_API_LINE_TIMEOUT_S) * 1000;
	lim->uids = node_config_ids(cfg, NODE_API_ALLOWED_UIDS, &lim->n_uids);
	lim->gids = node_config_ids(cfg, NODE_API_ALLOWED_GIDS, &lim->n_gids);
	lim->read_uids = node_config_ids(cfg, NODE_API_READ_UIDS, &lim->n_read_uids);
	lim->read_gids = node_config_ids(cfg, NODE_API_READ_GIDS, &lim->n_read_gids);
}

static void dissem_config(const struct node_config *cfg, struct node_dissem_config *dc)
{
	memset(dc, 0, sizeof(*dc));
	dc->ihave_flush_ms = (uint32_t)node_config_int(cfg, NODE_GOSSIP_IHAVE_FLUSH_MS);
	dc->graft_timeout_ms = (uint32_t)node_config_int(cfg, NODE_GOSSIP_GRAFT_TIMEOUT_MS);
	dc->recon_interval_ms = (uint64_t)node_config_int(cfg, NODE_GOSSIP_RECON_INTERVAL_S) * 1000;
	dc->retry_min_ms = (uint64_t)node_config_int(cfg, NODE_GOSSIP_DIRECT_RETRY_MIN_MS);
	dc->retry_max_ms = (uint64_t)node_config_int(cfg, NODE_GOSSIP_DIRECT_RETRY_MAX_MS);
	dc->stem_fluff_permille =
		(uint32_t)node_config_int(cfg, NODE_GOSSIP_STEM_FLUFF_PERCENT) * 10;
	dc->stem_embargo_ms = (uint32_t)node_config_int(cfg, NODE_GOSSIP_STEM_EMBARGO_MS);
	dc->member_rate.per_min = (uint32_t)node_config_int(cfg, NODE_GOSSIP_MEMBER_RATE_PER_MIN);
	dc->member_rate.burst = (uint32_t)node_config_int(cfg, NODE_GOSSIP_MEMBER_BURST);
	dc->abuse = (struct policy_abuse_config)POLICY_ABUSE_CONFIG_DEFAULT;
	dc->abuse.backoff_ms = (uint64_t)node_config_int(cfg, NODE_GOSSIP_ABUSE_BACKOFF_S) * 1000;
	dc->abuse.backoff_max_ms =
		(uint64_t)node_config_int(cfg, NODE_GOSSIP_ABUSE_BACKOFF_MAX_S) * 1000;
	if (dc->abuse.backoff_max_ms < dc->abuse.backoff_ms)
		dc->abuse.backoff_max_ms = dc->abuse.backoff_ms;
	dc->abuse.forgive_ms = (uint64_t)node_config_int(cfg, NODE_GOSSIP_ABUSE_FORGIVE_S) * 1000;
	if (dc->retry_max_ms < dc->retry_min_ms)
		dc->retry_max_ms = dc->retry_min_ms;
}

static void notices_config(const struct node_config *cfg, struct node_notices_config *nc)
{
	nc->retry_min_ms = (uint64_t)node_config_int(cfg, NODE_NOTICES_RETRY_MIN_MS);
	nc->retry_max_ms = (uint64_t)node_config_int(cfg, NODE_NOTICES_RETRY_MAX_MS);
	nc->member_quota = (uint64_t)node_config_int(cfg, NODE_NOTICES_MEMBER_QUOTA_BYTES);
}

/*
 * Sockets the overlay may hold: the descriptor limit less API clients and a reserve for the
 * stores, files, log and signals (NODE_DAEMON_FD_RESERVE). At least 16.
 */
static size_t overlay_max_fds(const struct node_config *cfg)
{
	struct rlimit rl;
	size_t other =
		(size_t)node_config_int(cfg, NODE_API_MAX_CONNECTIONS) + NODE_DAEMON_FD_RESERVE;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return 0;
	return rl.rlim_cur > other + 16 ? (size_t)(rl.rlim_cur - other) : 16;
}

/* Raise the soft descriptor limit to the hard one: an overlay under attack holds many. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_warning("cannot raise the file descriptor limit: %s", strerror(errno));
}

static void overlay_limits(const struct node_config *cfg, struct node_overlay_limits *lim)
{
	*lim = (struct node_overlay_limits)NODE_OVERLAY_LIMITS_DEFAULT;
	lim->degree = (unsigned)node_config_int(cfg, NODE_OVERLAY_DEGREE);
	lim->handshake_timeout_ms =
		(uint64_t)node_config_int(cfg, NODE_OVERLAY_HANDSHAKE_TIMEOUT_MS);
	lim->max_handshakes = (unsigned)node_config_int(cfg, NODE_OVERLAY_MAX_HANDSHAKES);
	lim->preauth_timeout_ms = (uint64_t)node_config_int(cfg, NODE_OVERLAY_PREAUTH_TIMEOUT_MS);
	lim->max_preauth = (unsigned)node_config_int(cfg, NODE_OVERLAY_MAX_PREAUTH);
	lim->max_preauth_per_address =
		(unsigned)node_config_int(cfg, NODE_OVERLAY_MAX_PREAUTH_PER_ADDRESS);
	lim->max_fds = overlay_max_fds(cfg);
	lim->max_frame = (size_t)node_config_int(cfg, NODE_OVERLAY_MAX_FRAME);
	lim->send_queue_max = (size_t)node_config_int(cfg, NODE_OVERLAY_SEND_QUEUE_MAX_BYTES);
	lim->keepalive_ms = (uint64_t)node_config_int(cfg, NODE_OVERLAY_KEEPALIVE_MS);
	lim->dead_after_ms = (uint64_t)node_config_int(cfg, NODE_OVERLAY_DEAD_AFTER_MS);
	lim->backoff_min_ms = (uint64_t)node_config_int(cfg, NODE_OVERLAY_BACKOFF_MIN_MS);
	lim->backoff_max_ms = (uint64_t)node_config_int(cfg, NODE_OVERLAY_BACKOFF_MAX_MS);
}

/* ------------------------------------------------------------------ status */

/*
 * Responses of the read ops (publish responses are described in node/daemon/ingest.h):
 *
 *   status  {"ok":true, "version", "state": "running"|"stopping", "uptime_s", "community",
 *            "member": {"id", "name"} (this node only), "roster": {"epoch", "members",
 *            "conflicts", "outbox_dropped"}, "network_key": node_daemon_netkey_json() (null when the
 *            node has no network key file), "store": {"reports", "indicators", "feed_last", "outbox", "map_size",
 *            "map_used"}, "export": {"last_seq", "errors", "rules_changes", "corrected",
 *            "rerendered", "resets"} (node_exporter_rerender_stats()), "api": {"connections"},
 *            "ingest": {"accepted", "duplicates", "rejected", "commits", "pending",
 *            "refused": {policy reason id: count}}, "reload": {"count", "failures"}},
 *            "loop": node_looplag_json() (the loop's delay since ready), "pool": {"threads",
 *            and a node_pool_lane_json() per lane: "sign", "reads", "parse", and
 *            "sealed" while the overlay runs}, and while
 *            the overlay runs "gossip": node_dissem_status_json(); "notices":
 *            node_notices_status_json() and "departed_dropped" (undelivered notices for
 *            members that left the roster, dropped at adoption)
 *   peers   {"ok":true, "overlay": "on"|"off"|"stopping", "roster_members", and with the
 *            overlay on node_overlay_peers_json()'s "peers" (one object per link: id, state,
 *            direction, uptime_s, bytes_in/out, msgs_in/out, rtt_ms, queued, version;
 *            "member" and "address" only with show_attribution), "summary", "closed" and, with
 *            show_attribution, "members"; "peers": [] when the overlay is off; "abuse":
 *            node_dissem_abuse_json() (members with offences; which member only with
 *            show_attribution) while dissemination runs}
 *   query   {"ok":true, "found":false, "indicator_id" [, "type", "value"]} or
 *           {"ok":true, "found":true, "indicator": ECS document (node/daemon/exporter.h) built
 *            for POLICY_PATH_LOCAL_OUTPUT, "reports": [{"report_id", "kind", "tlp",
 *            "confidence", "created", "valid_until"?, "ours", "tags", "description"?,
 *            "anonymous"? | "signer"? (only with show_attribution, or our own)}] (at most
 *            1000), "reports_truncated", "reports_undecodable" (stored reports this
 *            version no longer decodes: left out, and they do not vote)}; both with
 *            "sealed": the opening of a sealed sighting or null. An opened value with no
 *            report behind it is found: its document is the export's sealed view
 *            (node_exporter_feed_document()) and "reports" is empty
 *   list    {"ok":true, "items": [ECS documents of feed entries after "since" that are
 *            still their indicator's latest, opened sealed sightings included], "next": last sequence read (pass it as the
 *            next "since"), "feed_last", "more"}
 */

/* The thread pool's size and its lanes (node/common/pool.h). */
static json_t *pool_json(const struct node_daemon *d)
{
	json_t *o = json_pack("{s:I, s:o, s:o}", "threads", (json_int_t)d->pool_threads, "sign",
			      node_pool_lane_json(node_ingest_sign_lane(d->ingest)), "reads",
			      node_pool_lane_json(&d->reads));

	if (o && d->api)
		json_object_set_new(o, "parse", node_pool_lane_json(node_api_parse_lane(d->api)));
	if (o && d->dissem)
		json_object_set_new(o, "sealed",
				    node_pool_lane_json(node_dissem_sealed_lane(d->dissem)));
	return o;
}

static json_t *status_json(struct node_daemon *d)
{
	const struct proto_roster *nr = d->snap->newest;
	struct node_ingest_stats ist;
	struct node_exporter_rerender rr;
	struct store_stat st;
	char hex[65];
	json_t *refused, *resp;
	int own = d->snap->own_index;

	node_ingest_get_stats(d->ingest, &ist);
	node_exporter_rerender_stats(d->exporter, &rr);
	if (store_stat(d->store, &st))
		memset(&st, 0, sizeof(st));
	refused = json_object();
	for (int i = 1; refused && i < POLICY_REASON_COUNT; i++)
		if (ist.refused[i])
			json_object_set_new(refused, policy_admit_reason_name(i),
					    json_integer((json_int_t)ist.refused[i]));
	resp = json_pack(
		"{s:b, s:s, s:s, s:I, s:s, s:{s:s, s:s*}, "
		"s:{s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I, s:I, s:I}, "
		"s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:{s:I}, "
		"s:{s:I, s:I, s:I, s:I, s:I, s:o}, s:{s:I, s:I}}",
		"ok", 1, "version", CHATHAM_VERSION, "state", d->stopping ? "stopping" : "running",
		"uptime_s", (json_int_t)((node_daemon_now_ms() - d->start_ms) / 1000), "community",
		d->community.name, "member", "id", proto_hex_encode(hex, d->keys.id_pk, 32), "name",
		own >= 0 ? nr->members[own].name : NULL, "roster", "epoch", (json_int_t)nr->epoch,
		"members", (json_int_t)nr->n_members, "conflicts", (json_int_t)d->roster_conflicts,
		"outbox_dropped", (json_int_t)d->outbox_departed, "outbox_readdressed",
		(json_int_t)d->outbox_readdressed, "store", "reports", (json_int_t)st.reports,
		"indicators", (json_int_t)st.indicators, "feed_last", (json_int_t)st.feed_last,
		"outbox", (json_int_t)st.outbox, "map_size", (json_int_t)st.map_size, "map_used",
		(json_int_t)st.map_used, "export", "last_seq",
		(json_int_t)node_exporter_last_seq(d->exporter), "errors",
		(json_int_t)node_exporter_errors(d->exporter), "rules_changes", (json_int_t)rr.runs,
		"corrected", (json_int_t)rr.corrected, "rerendered", (json_int_t)rr.rerendered,
		"resets", (json_int_t)rr.resets, "api", "connections",
		(json_int_t)node_api_connections(d->api), "ingest", "accepted",
		(json_int_t)ist.accepted, "duplicates", (json_int_t)ist.duplicates, "rejected",
		(json_int_t)ist.rejected, "commits", (json_int_t)ist.commits, "pending",
		(json_int_t)ist.pending_items, "refused", refused, "reload", "count",
		(json_int_t)d->reloads, "failures", (json_int_t)d->reload_failures);
	if (resp && d->overlay) {
		struct node_overlay_stats os;

		node_overlay_stats(d->overlay, &os);
		json_object_set_new(resp, "overlay",
				    json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "state",
					      "on", "links_up", (json_int_t)os.links_up, "wanted",
					      (json_int_t)os.wanted, "wanted_up",
					      (json_int_t)os.wanted_up, "handshakes_in",
					      (json_int_t)os.handshakes_in, "reads_deferred",
					      (json_int_t)os.reads_deferred, "reads_waited",
					      (json_int_t)os.reads_waited, "read_buffers_held",
					      (json_int_t)os.read_buffers_held));
	} else if (resp) {
		json_object_set_new(resp, "overlay",
				    json_pack("{s:s}", "state", d->stopping ? "stopping" : "off"));
	}
	if (resp)
		json_object_set_new(json_object_get(resp, "roster"), "withdrawn",
				    json_pack("{s:b, s:I, s:b, s:I, s:I, s:I}", "setting",
					      nr->settings.withdraw_departed, "epoch",
					      (json_int_t)d->withdraw_epoch, "running",
					      d->withdraw != NULL, "votes",
					      (json_int_t)d->withdrawn.votes, "reports",
					      (json_int_t)d->withdrawn.reports, "indicators",
					      (json_int_t)d->withdrawn.indicators));
	if (resp)
		json_object_set_new(resp, "network_key", node_daemon_netkey_json(d));
	if (resp && d->dissem)
		json_object_set_new(resp, "gossip", node_dissem_status_json(d->dissem));
	if (resp && d->dissem)
		json_object_set_new(resp, "sealed", node_dissem_sealed_json(d->dissem));
	if (resp)
		json_object_set_new(resp, "loop", node_looplag_json(&d->lag));
	if (resp)
		json_object_set_new(resp, "pool", pool_json(d));
	if (resp && d->notices)
		json_object_set_new(resp, "notices", node_notices_status_json(d->notices));
	return resp;
}

static void send_status(struct node_daemon *d)
{
	struct node_ingest_stats ist;
	struct store_stat st;
	char buf[256];

	node_ingest_get_stats(d->ingest, &ist);
	if (store_stat(d->store, &st))
		memset(&st, 0, sizeof(st));
	struct node_overlay_stats os = {0};

	if (d->overlay)
		node_overlay_stats(d->overlay, &os);
	snprintf(buf, sizeof(buf),
		 "STATUS=%s: %llu indicators, %llu reports, feed %llu, export %llu, %zu clients, "
		 "%zu links",
		 d->stopping ? "stopping" : "serving", (unsigned long long)st.indicators,
		 (unsigned long long)st.reports, (unsigned long long)st.feed_last,
		 (unsigned long long)node_exporter_last_seq(d->exporter),
		 node_api_connections(d->api), os.links_up);
	if (!strcmp(buf, d->last_status))
		return;
	memcpy(d->last_status, buf, sizeof(buf));
	node_notify(buf);
}

/* ------------------------------------------------------------------ request dispatch */

static void on_ingest_done(void *arg, char *text)
{
	node_api_respond_text(arg, text);
}

static void respond_error(struct node_api_req *areq, int code, const char *msg)
{
	struct node_req_error e;

	node_req_error_set(&e, code, NULL, "%s", msg);
	node_api_respond_error(areq, &e);
}

static void on_sealed_done(void *arg, json_t *response)
{
	node_api_respond(arg, response);
}

static void on_request(void *ctx, struct node_api_req *areq, struct node_request *req)
{
	struct node_daemon *d = ctx;

	if (node_req_op_is_publish(req->op)) {
		if (d->stopping) {
			node_request_free(req);
			respond_error(areq, NODE_E_SHUTDOWN, "node is shutting down; retry later");
			return;
		}
		if (node_ingest_submit(d->ingest, d->snap, req, node_daemon_now_ms(),
				       on_ingest_done, areq))
			respond_error(areq, NODE_E_OVERLOAD, "out of memory");
		return;
	}
	switch (req->op) {
	case NODE_OP_STATUS:
		node_request_free(req);
		node_api_respond(areq, status_json(d));
		return;
	case NODE_OP_SEAL:
		if (!d->dissem || d->stopping) {
			node_request_free(req);
			respond_error(areq, d->stopping ? NODE_E_SHUTDOWN : NODE_E_SEALED_HOLDERS,
				      d->stopping ? "node is shutting down; retry later"
						  : "the overlay is off (no network key): no OPRF "
						    "share holder can be reached");
			return;
		}
		if (node_dissem_seal(d->dissem, req, on_sealed_done, areq)) {
			node_request_free(req);
			respond_error(areq, NODE_E_OVERLOAD, "out of memory");
		}
		return;
	case NODE_OP_PEERS: {
		bool attribution = node_config_bool(d->cfg, NODE_POLICY_SHOW_ATTRIBUTION);
		json_t *r = d->overlay ? node_overlay_peers_json(d->overlay, attribution)
				       : json_pack("{s:[]}", "peers");

		node_request_free(req);
		if (r && d->dissem &&
		    json_object_set_new(r, "abuse",
					node_dissem_abuse_json(d->dissem, attribution))) {
			json_decref(r);
			r = NULL;
		}
		if (r &&
		    (json_object_set_new(r, "ok", json_true()) ||
		     json_object_set_new(r, "overlay",
					 json_string(d->overlay	   ? "on"
						     : d->stopping ? "stopping"
								   : "off")) ||
		     json_object_set_new(r, "roster_members",
					 json_integer((json_int_t)d->snap->newest->n_members)))) {
			json_decref(r);
			r = NULL;
		}
		node_api_respond(areq, r);
		return;
	}
	case NODE_OP_NOTIFY:
	case NODE_OP_NOTICES:
	case NODE_OP_NOTICE_REPLY:
		if (d->stopping) {
			node_request_free(req);
			respond_error(areq, NODE_E_SHUTDOWN, "node is shutting down; retry later");
			return;
		}
		node_notices_submit(d->notices, req, on_ingest_done, areq);
		return;
	case NODE_OP_QUERY:
	case NODE_OP_LIST:
		if (node_daemon_read_submit(d, areq, req)) {
			node_request_free(req);
			respond_error(areq, NODE_E_OVERLOAD, "out of memory");
		}
		return;
	default:
		node_request_free(req);
		respond_error(areq, NODE_E_OP, "op not handled");
		return;
	}
}

static void on_commit(void *ctx)
{
	struct node_daemon *d = ctx;

	node_exporter_kick(d->exporter, d->snap);
	node_notices_watch(d->notices);
}

/* ------------------------------------------------------------------ reload (pool) */

struct reload_job {
	uv_work_t work;
	struct node_daemon *d;
	struct node_config *cfg;
	struct proto_roster *roster;	  /* newer roster adopted, or NULL */
	struct node_snap *snap;		  /* built here with its redactor (NULL: out of memory) */
	struct node_warnlists *warnlists; /* read here; the snapshot gets it on the loop */
	struct node_tagvocab *tagvocab;	  /* likewise */
	int held_back;
	bool conflict;		     /* the roster file conflicts with a held epoch */
	struct netkey_update netkey; /* taken at the start, applied to a roster adopted */
};

/*
 * The snapshot of @cfg over the held rosters and @extra (NULL: none), built in a pool job:
 * the redactor over every roster is the slow part. Nothing it reads changes meanwhile (one
 * reload or roster job at a time). NULL when out of memory.
 */
struct node_snap *node_daemon_snap_build(const struct node_daemon *d, const struct node_config *cfg,
					 struct proto_roster *extra)
{
	struct proto_roster **all = malloc((d->n_rosters + 1) * sizeof(*all));
	struct policy_config p;
	struct node_snap *s;
	size_t n = d->n_rosters;

	if (!all)
		return NULL;
	memcpy(all, d->rosters, n * sizeof(*all));
	if (extra)
		all[n++] = extra;
	fill_policy(d, cfg, &p);
	s = node_snap_new(&p, (const struct proto_roster *const *)all, n);
	free(all);
	if (s)
		s->own_ring_sk = d->keys.ring_sk;
	return s;
}

static void reload_work(uv_work_t *work)
{
	struct reload_job *j = work->data;
	struct node_daemon *d = j->d;
	struct config_report_ctx rc = {d->config_path, NODE_LOG_ERR};
	int err;

	node_prio_worker(); /* the loop thread first (node/common/prio.h) */

	err = node_config_load_file(d->config_path, config_report, &rc, &j->cfg);
	if (err) {
		log_err("reload: %s is not valid (%s); keeping the running configuration",
			d->config_path, proto_error_str(err));
		j->cfg = NULL;
		return;
	}
	rc.level = NODE_LOG_WARNING;
	j->held_back = node_config_merge_reload(j->cfg, d->cfg, config_report, &rc);
	if (j->held_back < 0) {
		log_err("reload: out of memory; keeping the running configuration");
		node_config_free(j->cfg);
		j->cfg = NULL;
		return;
	}
	j->warnlists = load_warnlists(j->cfg);
	j->tagvocab = j->warnlists ? load_tagvocab(j->cfg) : NULL;
	if (!j->tagvocab) {
		node_warnlists_unref(j->warnlists); /* not shared yet: the pool may free it */
		j->warnlists = NULL;
		log_err("reload: keeping the running configuration");
		node_config_free(j->cfg);
		j->cfg = NULL;
		return;
	}
	const char *path = node_config_str(j->cfg, NODE_ROSTER_FILE);
	err = node_daemon_roster_adopt_file(d->store, &d->community, d->rosters, d->n_rosters,
					    node_config_str(d->cfg, NODE_STATE_DIR), path,
					    &j->roster);
	j->conflict = err == PROTO_E_ROSTER_CONFLICT;
	if (err < 0)
		log_warning("reload: keeping roster epoch %llu",
			    (unsigned long long)node_daemon_roster_newest(d)->epoch);
	if (j->roster)
		node_daemon_netkey_apply(d, node_config_str(d->cfg, NODE_NETWORK_KEY_FILE),
					 &j->netkey, j->roster);
	j->snap = node_daemon_snap_build(d, j->cfg, j->roster);
}

static enum store_outbox_fate outbox_fate(void *ctx, const uint8_t recipient[32], uint8_t to[32])
{
	const uint8_t *now = proto_roster_current_id(ctx, recipient);

	if (!now)
		return STORE_OUTBOX_DROP;
	if (now == recipient)
		return STORE_OUTBOX_KEEP;
	memcpy(to, now, 32);
	return STORE_OUTBOX_MOVE;
}

/*
 * Departure: the undelivered AMBER/RED copies for members that are not in the newly adopted
 * roster @r would wait for a link that never comes (and take room in every outbox scan), so
 * they are dropped and counted. The reports themselves stay. A member that replaced its keys
 * did not leave: its copies are addressed to its successor (the report still names the old
 * id; policy_egress_named_recipient() lets both ends accept that), and its notices are
 * re-signed for the successor by the notices job (node_notices_roster(), which also drops
 * those of departed members). One write transaction on the loop thread, at a roster change
 * only.
 */
void node_daemon_drop_departed(struct node_daemon *d, const struct proto_roster *r)
{
	size_t n = 0, moved = 0;
	int err = store_outbox_sweep(d->store, outbox_fate, (void *)r, &n, &moved);

	node_notices_roster(d->notices, r);
	if (err) {
		log_err("roster epoch %llu: cannot drop the outbox copies for departed members: "
			"%s",
			(unsigned long long)r->epoch, proto_error_str(err));
		return;
	}
	d->outbox_departed += n;
	d->outbox_readdressed += moved;
	if (n)
		log_notice("roster epoch %llu: dropped %zu undelivered AMBER/RED cop%s for members "
			   "no longer in the roster",
			   (unsigned long long)r->epoch, n, n == 1 ? "y" : "ies");
	if (moved)
		log_notice("roster epoch %llu: %zu undelivered AMBER/RED cop%s now addressed to "
			   "the successors of members that replaced their keys",
			   (unsigned long long)r->epoch, moved, moved == 1 ? "y" : "ies");
}

static void reload_done(uv_work_t *work, int status)
{
	struct reload_job *j = work->data;
	struct node_daemon *d = j->d;
	struct node_snap *snap;
	struct node_api_limits lim;
	struct node_notices_config nc;

	(void)status;
	d->reloading = false;
	d->roster_conflicts += j->conflict;
	if (!j->cfg) {
		d->reload_failures++;
		proto_roster_free(j->roster);
		goto out;
	}
	snap = j->snap;
	if (j->roster) {
		if (node_daemon_roster_add(d, j->roster)) {
			log_err("reload: out of memory adopting roster epoch %llu",
				(unsigned long long)j->roster->epoch);
			node_snap_unref(snap); /* it holds the roster about to be freed */
			snap = NULL;
			proto_roster_free(j->roster);
		} else {
			log_notice("roster epoch %llu adopted (%zu members)",
				   (unsigned long long)j->roster->epoch, j->roster->n_members);
			/* The daemon keeps every adopted roster until exit: the overlay borrows it. */
			if (d->overlay && node_overlay_set_roster(d->overlay, j->roster))
				log_err("overlay: out of memory switching to roster epoch %llu",
					(unsigned long long)j->roster->epoch);
			if (proto_roster_find_member(j->roster, d->keys.id_pk) < 0)
				log_err("this node is not a member of roster epoch %llu: its "
					"publishes will be refused",
					(unsigned long long)j->roster->epoch);
			node_daemon_drop_departed(d, j->roster);
			node_daemon_netkey_finish(d, &j->netkey);
			node_daemon_sealed_keys_update(d);
			node_daemon_voters_start(d);
			node_daemon_withdraw_start(d);
		}
	}
	node_warnlists_unref(d->warnlists);
	d->warnlists = j->warnlists;
	j->warnlists = NULL;
	node_tagvocab_unref(d->tagvocab);
	d->tagvocab = j->tagvocab;
	j->tagvocab = NULL;
	if (!snap) {
		snap = make_snap(d, j->cfg); /* the job's ran out of memory: try once more here */
	} else {
		node_snap_set_warnlists(snap, d->warnlists); /* refcounts are the loop's */
		node_snap_set_tagvocab(snap, d->tagvocab);
	}
	api_limits(j->cfg, &lim);
	if (!snap || node_api_set_limits(d->api, &lim)) {
		node_snap_unref(snap);
		log_err("reload: out of memory; keeping the running configuration");
		node_config_free(j->cfg);
		d->reload_failures++;
		goto out;
	}
	node_snap_unref(d->snap);
	d->snap = snap;
	node_config_free(d->cfg);
	d->cfg = j->cfg;
	if (d->dissem) {
		struct node_dissem_config dc;

		dissem_config(d->cfg, &dc);
		node_dissem_set_snap(d->dissem, d->snap);
		node_dissem_set_config(d->dissem, &dc);
		if (j->roster && node_daemon_roster_newest(d) == j->roster)
			node_dissem_roster_adopted(d->dissem, j->roster->epoch);
	}
	notices_config(d->cfg, &nc);
	node_notices_set_config(d->notices, &nc);
	if (d->overlay) {
		struct node_overlay_limits ol;

		overlay_limits(d->cfg, &ol);
		if (node_overlay_set_limits(d->overlay, &ol))
			log_err("reload: [overlay] limits refused; keeping the running ones");
	}
	node_log_set_level(node_log_level_from_name(node_config_str(d->cfg, NODE_LOG_LEVEL)));
	node_log_set_member_names(node_config_bool(d->cfg, NODE_LOG_MEMBER_NAMES));
	d->reloads++;
	log_notice("configuration reloaded from %s%s", d->config_path,
		   j->held_back ? " (some changes need a restart, see above)" : "");
	node_exporter_kick(d->exporter, d->snap); /* export_red or redaction may have changed */
out:
	proto_wipe(&j->netkey, sizeof(j->netkey));
	free(j);
	d->last_status[0] = '\0';
	node_notify("READY=1");
	send_status(d);
	/* A SIGHUP that came during this reload, else rosters that waited for it. */
	if (d->stopping)
		return;
	node_daemon_writer_next(d);
}

void node_daemon_reload_start(struct node_daemon *d)
{
	struct reload_job *j;

	if (d->stopping)
		return;
	if (d->reloading) {
		log_notice("reload already in progress; it runs again when done");
		d->reload_wanted =
			true; /* the file may have changed since the running one read it */
		return;
	}
	if (d->roster_job || d->netkey_writing) {
		/* after the roster job (both change the roster chain) or the key file write */
		d->reload_wanted = true;
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		log_err("reload: out of memory");
		return;
	}
	j->d = d;
	j->work.data = j;
	node_daemon_netkey_begin(d, &j->netkey);
	d->reloading = true;
	node_notifyf("RELOADING=1\nSTATUS=reloading %s", d->config_path);
	log_info("reloading %s", d->config_path);
	if (node_workq_queue(&d->loop, &j->work, reload_work, reload_done)) {
		d->reloading = false;
		free(j);
		node_notify("READY=1");
	}
}

/* ------------------------------------------------------------------ housekeeping */

struct expire_job {
	uv_work_t work;
	struct node_daemon *d;
	uint64_t now;
	size_t n;
	int err;
};

static void expire_work(uv_work_t *work)
{
	struct expire_job *j = work->data;

	node_prio_worker(); /* the loop thread first (node/common/prio.h) */

	j->err = store_expire(j->d->store, j->now, EXPIRE_MAX, &j->n);
}

static void expire_done(uv_work_t *work, int status)
{
	struct expire_job *j = work->data;
	struct node_daemon *d = j->d;

	(void)status;
	d->expiring = false;
	if (j->err)
		log_err("store: expiry sweep failed: %s", proto_error_str(j->err));
	else if (j->n) {
		log_info("%zu indicator(s) expired", j->n);
		node_exporter_kick(d->exporter, d->snap);
	}
	free(j);
}

static void on_housekeeping(uv_timer_t *t)
{
	struct node_daemon *d = t->data;
	struct expire_job *j;

	send_status(d);
	if (d->stopping)
		return;
	node_daemon_netkey_expire(d);
	node_exporter_retry(d->exporter, d->snap);
	if (d->expiring)
		return;
	j = calloc(1, sizeof(*j));
	if (!j)
		return;
	j->d = d;
	j->now = node_daemon_now_ms();
	j->work.data = j;
	d->expiring = true;
	if (node_workq_queue(&d->loop, &j->work, expire_work, expire_done)) {
		d->expiring = false;
		free(j);
	}
}

static void on_watchdog(uv_timer_t *t)
{
	(void)t;
	node_notify("WATCHDOG=1");
}

/* ------------------------------------------------------------------ shutdown */

static void close_own_handles(struct node_daemon *d)
{
	if (!d->handles_open)
		return;
	d->handles_open = false;
	uv_close((uv_handle_t *)&d->sig_term, NULL);
	uv_close((uv_handle_t *)&d->sig_int, NULL);
	uv_close((uv_handle_t *)&d->sig_hup, NULL);
	uv_close((uv_handle_t *)&d->watchdog, NULL);
	uv_close((uv_handle_t *)&d->housekeeping, NULL);
	uv_close((uv_handle_t *)&d->shutdown_poll, NULL);
	node_looplag_close(&d->lag);
	node_notices_close(d->notices);
	node_ingest_close(d->ingest);
}

static void on_api_closed(void *arg)
{
	struct node_daemon *d = arg;

	d->api = NULL;
	close_own_handles(d);
}

static void on_shutdown_poll(uv_timer_t *t)
{
	struct node_daemon *d = t->data;

	if (d->api_closing)
		return;
	if (node_daemon_withdraw_cancel(d))
		return;
	if (!node_ingest_idle(d->ingest) || d->reloading || d->expiring || d->reads_pending ||
	    d->roster_job || d->dissem || d->netkey_writing || d->voters_job ||
	    !node_notices_idle(d->notices))
		return;
	if (!d->final_export_kicked) {
		d->final_export_kicked = true;
		node_exporter_kick(d->exporter, d->snap);
	}
	if (!node_exporter_idle(d->exporter))
		return;
	d->api_closing = true;
	uv_timer_stop(t);
	node_api_close(d->api, DRAIN_MS, on_api_closed, d);
}

static void on_dissem_stopped(void *arg)
{
	struct node_daemon *d = arg;

	d->dissem = NULL;
	node_notices_set_dissem(d->notices, NULL);
}

static void on_overlay_stopped(void *arg)
{
	struct node_daemon *d = arg;

	node_dissem_stop(d->dissem, on_dissem_stopped, d);
}

static void begin_shutdown(struct node_daemon *d, const char *why)
{
	if (d->stopping)
		return;
	d->stopping = true;
	log_notice("stopping (%s)", why);
	node_notify("STOPPING=1\nSTATUS=stopping");
	node_api_stop_accepting(d->api);
	/*
	 * Links close now; the overlay frees itself in its last close callback, and then the
	 * dissemination driver stops (it sees every link go down first).
	 */
	node_overlay_stop(d->overlay, on_overlay_stopped, d);
	d->overlay = NULL;
	uv_timer_stop(&d->housekeeping);
	uv_timer_start(&d->shutdown_poll, on_shutdown_poll, 0, SHUTDOWN_POLL_MS);
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct node_daemon *d = s->data;

	if (signum == SIGHUP)
		node_daemon_reload_start(d);
	else
		begin_shutdown(d, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* ------------------------------------------------------------------ start-up */

/*
 * [store] @name (option @opt) in bytes, computed in 64 bits: a 32-bit size_t holds less than
 * the option allows (and than its default), so the store caps it (store_map_bytes()); said
 * once here rather than as a surprise map size in `status`.
 */
static uint64_t map_option(struct node_daemon *d, enum node_opt opt, const char *name)
{
	uint64_t b = (uint64_t)node_config_int(d->cfg, opt) << 20;

	if (store_map_bytes(b, SIZE_MAX) < b)
		log_warning("[store] %s = %" PRIu64 " MiB is more than this system's address "
			    "space can map; the store uses %zu MiB",
			    name, b >> 20, store_map_bytes(b, SIZE_MAX) >> 20);
	return b;
}

/*
 * store_config.progress: opening a store written by an older release rewrites it first
 * (store_open(): the range sums of schema 3 are built from every CLEAR/GREEN report), before
 * READY=1, and on a large store that can outlast systemd's start timeout (TimeoutStartSec=,
 * 90 s by default). So at the first report and then every OPEN_PROGRESS_MS the service
 * manager is asked for OPEN_EXTEND_US more from now (EXTEND_TIMEOUT_USEC, sd_notify(3)) and
 * the progress is logged; the last report of a step is logged too.
 */
#define OPEN_PROGRESS_MS 5000
#define OPEN_EXTEND_US 30000000 /* 6 x the interval: a loaded host may be late */

static void open_progress(void *arg, const char *step, uint64_t done, uint64_t total)
{
	uint64_t *next_ms = arg, now = uv_hrtime() / 1000000;
	unsigned pct = total ? (unsigned)(done * 100 / total) : 100;

	if (now < *next_ms && done < total)
		return;
	*next_ms = now + OPEN_PROGRESS_MS;
	log_notice("store: upgrading the store written by an older release, %s: %" PRIu64
		   " of %" PRIu64 " (%u %%)",
		   step, done, total, pct);
	node_notifyf("EXTEND_TIMEOUT_USEC=%u\nSTATUS=upgrading the store: %s, %u %%",
		     OPEN_EXTEND_US, step, pct);
}

static int open_stores(struct node_daemon *d)
{
	uint64_t progress_next = 0;
	struct store_config sc = {
		.dir = node_config_str(d->cfg, NODE_STATE_DIR),
		.map_size_initial = map_option(d, NODE_STORE_MAP_SIZE_MB, "map_size_mb"),
		.map_size_max = map_option(d, NODE_STORE_MAP_MAX_MB, "map_max_mb"),
		.progress = open_progress,
		.progress_arg = &progress_next,
	};
	int err;

	char dir[4096];

	err = store_open(&d->store, &sc);
	if (err) {
		log_err("cannot open the store in %s: %s", sc.dir, proto_error_str(err));
		return err;
	}
	if (snprintf(dir, sizeof(dir), "%s/notices", sc.dir) >= (int)sizeof(dir))
		err = -ENAMETOOLONG;
	else
		err = store_notices_open(&d->notices_st, dir);
	if (err)
		log_err("cannot open the notice store in %s: %s", dir, proto_error_str(err));
	return err;
}

static int open_export(struct node_daemon *d)
{
	struct store_export_config xc = {
		.dir = node_config_str(d->cfg, NODE_EXPORT_DIR),
		.community = d->community.name,
	};
	int err = store_export_open(&d->xport, &xc);

	if (err)
		log_err("cannot open the export environment in %s: %s", xc.dir,
			proto_error_str(err));
	return err;
}

static int start_loop_handles(struct node_daemon *d)
{
	uint64_t wd = node_notify_watchdog_usec();
	int err;

	uv_signal_init(&d->loop, &d->sig_term);
	uv_signal_init(&d->loop, &d->sig_int);
	uv_signal_init(&d->loop, &d->sig_hup);
	uv_timer_init(&d->loop, &d->watchdog);
	uv_timer_init(&d->loop, &d->housekeeping);
	uv_timer_init(&d->loop, &d->shutdown_poll);
	node_looplag_init(&d->lag, &d->loop); /* cannot fail on an initialised loop */
	d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
	d->watchdog.data = d->housekeeping.data = d->shutdown_poll.data = d;
	d->handles_open = true;
	if ((err = uv_signal_start(&d->sig_term, on_signal, SIGTERM)) ||
	    (err = uv_signal_start(&d->sig_int, on_signal, SIGINT)) ||
	    (err = uv_signal_start(&d->sig_hup, on_signal, SIGHUP))) {
		log_err("cannot install signal handlers: %s", uv_strerror(err));
		return err;
	}
	if (wd) {
		uint64_t every = wd / 2000 ? wd / 2000 : 1;
		uv_timer_start(&d->watchdog, on_watchdog, every, every);
		log_info("watchdog: pinging systemd every %llu ms", (unsigned long long)every);
	}
	uv_timer_start(&d->housekeeping, on_housekeeping, HOUSEKEEPING_MS, HOUSEKEEPING_MS);
	return 0;
}

/* A locally published report was committed: gossip it or deliver it directly. */
static void on_published(void *ctx, const struct node_ingest_report *r)
{
	struct node_daemon *d = ctx;

	if (d->dissem)
		node_dissem_published(d->dissem, r->id, r->tlp, r->created_ms, r->anonymous);
}

/*
 * This node's OPRF share for the keys in force @set (the community file's, or the newest
 * roster's after a re-sharing): its index, or 0 when the share file is absent, of another
 * generation or does not fit. A share of an older generation is superseded (the holder wipes
 * it); one of a newer generation waits for the roster that publishes its keys (the file is
 * read again when a roster changes the keys). Returns 0, or at start (@starting) a config
 * error for a file that is damaged, of another community, or not a share of the keys.
 */
static int sealed_share(struct node_daemon *d, const struct proto_community_sealed *set,
			bool starting, uint8_t share[32], uint32_t *index)
{
	const char *path = node_config_str(d->cfg, NODE_OPRF_SHARE_FILE);
	uint8_t cid[32];
	uint64_t gen = 0;
	uint32_t idx = 0;
	int err = node_keyfile_load_oprf_share(path, cid, &idx, &gen, share);

	*index = 0;
	if (err == -ENOENT)
		return 0;
	if (err) {
		log_err("OPRF share file %s: %s", path, proto_error_str(err));
	} else if (memcmp(cid, d->community.id, 32) != 0) {
		err = PROTO_E_ROSTER_COMMUNITY;
		log_err("OPRF share file %s belongs to another community", path);
	} else if (gen < set->generation) {
		log_warning("OPRF share file %s holds a share of generation %llu, superseded by "
			    "generation %llu: this node no longer answers OPRF requests (wipe the "
			    "file)",
			    path, (unsigned long long)gen, (unsigned long long)set->generation);
		err = 0;
		idx = 0;
	} else if (gen > set->generation) {
		log_notice("OPRF share file %s holds a share of generation %llu; it is used once "
			   "a roster publishes that generation (%llu in force)",
			   path, (unsigned long long)gen, (unsigned long long)set->generation);
		err = 0;
		idx = 0;
	} else if (!set->k || idx > set->n ||
		   (err = proto_oprf_share_check(share, set->vks[idx - 1]))) {
		err = err ? err : PROTO_E_RANGE;
		log_err("OPRF share file %s does not belong to the OPRF keys in force "
			"(generation %llu): %s",
			path, (unsigned long long)gen, proto_error_str(err));
	} else {
		*index = idx;
		return 0;
	}
	proto_wipe(share, 32);
	return err && starting ? NODE_DAEMON_EXIT_CONFIG : 0;
}

/*
 * The OPRF keys in force after the held rosters changed: when a roster re-shared the key,
 * the share file is read again (a new holder wrote its new share there with `chatham
 * community reshare-oprf accept`) and the sealed-sighting driver switches. The file is
 * small and this happens once per re-sharing, so it is read on the loop.
 */
void node_daemon_sealed_keys_update(struct node_daemon *d)
{
	struct proto_community_sealed set;
	uint8_t share[32];
	uint32_t idx;

	if (!d->dissem || !d->community.sealed.k)
		return;
	proto_community_oprf_keys(&d->community, (const struct proto_roster *const *)d->rosters,
				  d->n_rosters, &set);
	if (set.generation == d->oprf_generation)
		return;
	d->oprf_generation = set.generation;
	sealed_share(d, &set, false, share, &idx);
	node_dissem_sealed_rekey(d->dissem, &set, idx, share);
	proto_wipe(share, sizeof(share));
}

/*
 * Sealed sightings: the community's settings with the OPRF keys in force, and this node's
 * share of them when the share file holds one. A share that belongs to neither stops the
 * start: answering with it would only ever fail members' DLEQ checks.
 */
static int sealed_setup(struct node_daemon *d)
{
	struct proto_community_sealed set;
	uint8_t share[32];
	uint32_t idx = 0;
	int err;

	proto_community_oprf_keys(&d->community, (const struct proto_roster *const *)d->rosters,
				  d->n_rosters, &set);
	if (d->community.sealed.k && (err = sealed_share(d, &set, true, share, &idx)))
		return err;
	err = node_dissem_sealed_setup(d->dissem, &d->community, 0, NULL);
	if (err) {
		log_err("sealed sightings: %s", proto_error_str(err));
		return NODE_DAEMON_EXIT_CONFIG;
	}
	d->oprf_generation = set.generation;
	node_dissem_sealed_rekey(d->dissem, &set, idx, share);
	proto_wipe(share, sizeof(share));
	if (d->community.sealed.k)
		log_info("sealed sightings: k %u, OPRF generation %llu, %u of %zu holders%s", set.k,
			 (unsigned long long)set.generation, set.t, set.n,
			 idx ? ", this node holds a share" : "");
	return 0;
}

/*
 * The overlay: network key, listeners, then the newest roster (dialling starts on the next
 * loop iteration). A missing network key file leaves the overlay off, with a warning.
 * Returns 0 or a process exit code.
 */
static int start_overlay(struct node_daemon *d)
{
	const char *path = node_config_str(d->cfg, NODE_NETWORK_KEY_FILE);
	struct node_overlay_callbacks cb;
	struct node_dissem_config dc;
	struct node_overlay_config oc;
	struct netkey_update u;
	int err;

	err = node_keyfile_load_netkey_state(path, &d->netkeys);
	if (err == -ENOENT) {
		log_warning("network key file %s does not exist: the overlay is off and this node "
			    "links with no other member",
			    path);
		return 0;
	}
	if (err) {
		log_err("network key file %s: %s", path, proto_error_str(err));
		return NODE_DAEMON_EXIT_CONFIG;
	}
	/* Rotations in held rosters the file does not record yet (a crash before the file
	 * was written, or a write that failed), then the end of an overlap passed meanwhile. */
	d->netkey_on = true;
	node_daemon_netkey_begin(d, &u);
	for (size_t i = 0; i < d->n_rosters; i++)
		node_daemon_netkey_apply(d, path, &u, d->rosters[i]);
	d->netkeys = u.k;
	if (u.changed)
		log_notice("network key adopted from held roster epoch %llu at start",
			   (unsigned long long)d->netkeys.epoch);
	proto_wipe(&u, sizeof(u));
	if (proto_community_netkey_expire(&d->netkeys, node_daemon_now_ms()) &&
	    (err = node_keyfile_save_netkey_state(path, &d->netkeys, NODE_KEYFILE_OVERWRITE)))
		log_err("network key file %s: cannot drop the previous key: %s", path,
			proto_error_str(err));
	dissem_config(d->cfg, &dc);
	d->dissem =
		node_dissem_new(&d->loop, d->store, d->snap, &dc, node_daemon_on_gossip_roster, d);
	if (!d->dissem) {
		log_err("out of memory");
		return 1;
	}
	err = sealed_setup(d);
	if (err) {
		node_dissem_stop(d->dissem, NULL, NULL);
		d->dissem = NULL;
		return err;
	}
	node_dissem_callbacks(d->dissem, &cb);
	node_dissem_set_commit_hook(d->dissem, on_commit, d);
	{
		struct node_dissem_notice_hooks nh;

		node_notices_hooks(d->notices, &nh);
		node_dissem_set_notice_hooks(d->dissem, &nh);
		node_notices_set_dissem(d->notices, d->dissem);
	}
	node_ingest_set_report_hook(d->ingest, on_published, d);
	memset(&oc, 0, sizeof(oc));
	oc.listen = node_config_addrs(d->cfg, NODE_OVERLAY_LISTEN, &oc.n_listen);
	memcpy(oc.community_id, d->community.id, 32);
	oc.network_key = d->netkeys.key;
	oc.keys = &d->keys;
	overlay_limits(d->cfg, &oc.lim);
	err = node_overlay_start(&d->loop, &oc, &cb, &d->overlay);
	if (!err)
		node_overlay_set_network_keys(d->overlay, &d->netkeys);
	if (err) {
		log_err("overlay: cannot start: %s", proto_error_str(err));
		node_dissem_stop(d->dissem, NULL, NULL); /* not attached: frees at once */
		d->dissem = NULL;
		return err == -EINVAL ? NODE_DAEMON_EXIT_CONFIG : 1;
	}
	if (node_overlay_set_roster(d->overlay, node_daemon_roster_newest(d))) {
		log_err("overlay: out of memory");
		return 1;
	}
	err = node_dissem_attach(d->dissem, d->overlay);
	if (err) {
		log_err("gossip: cannot start its timer: %s", uv_strerror(err));
		return 1;
	}
	return 0;
}

/*
 * Why the API socket @path cannot be bound (@err), with the fix: run by hand, the default
 * directory /run/chatham (which systemd's RuntimeDirectory= makes) is usually missing or
 * not writable, which bind() reports only as "Permission denied" or "No such file".
 */
static void log_api_listen_error(const char *path, int err)
{
	char dir[4096];
	struct stat st;
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	if (err == -EADDRINUSE)
		log_err("cannot listen on %s: another node is already listening there", path);
	else if ((err == -ENOENT || err == -EACCES) && slash && stat(dir, &st) != 0)
		log_err("cannot listen on %s: the directory %s does not exist (the systemd unit "
			"makes it; by hand, set [api] socket to a path in a directory this user "
			"can write)",
			path, dir);
	else if (err == -EACCES)
		log_err("cannot listen on %s: this user may not create it in %s (set [api] socket "
			"to a path in a directory this user can write)",
			path, dir);
	else
		log_err("cannot listen on %s: %s", path, proto_error_str(err));
}

static int start(struct node_daemon *d)
{
	struct config_report_ctx rc = {d->config_path, NODE_LOG_ERR};
	struct node_api_limits lim;
	struct node_notices_config nc;
	const char *path;
	int err;

	err = node_config_load_file(d->config_path, config_report, &rc, &d->cfg);
	if (err) {
		log_err("%s: configuration not usable (chatham check-config %s lists every problem)",
			d->config_path, d->config_path);
		return NODE_DAEMON_EXIT_CONFIG;
	}
	node_log_init(node_log_level_from_name(node_config_str(d->cfg, NODE_LOG_LEVEL)), false);
	node_log_set_member_names(node_config_bool(d->cfg, NODE_LOG_MEMBER_NAMES));
	raise_fd_limit();
	if (proto_crypto_init()) {
		log_err("cannot initialise libsodium");
		return 1;
	}
	path = node_config_str(d->cfg, NODE_KEY_FILE);
	err = node_keyfile_load_member(path, &d->keys);
	if (err) {
		log_err("key file %s: %s", path, proto_error_str(err));
		return NODE_DAEMON_EXIT_CONFIG;
	}
	path = node_config_str(d->cfg, NODE_COMMUNITY_FILE);
	err = node_keyfile_load_community(path, &d->community);
	if (err) {
		log_err("community file %s: %s", path, proto_error_str(err));
		return NODE_DAEMON_EXIT_CONFIG;
	}
	if (open_stores(d))
		return 1;
	err = node_daemon_rosters_load(d);
	if (err)
		return err == -ENOMEM || err == STORE_E_LMDB ? 1 : NODE_DAEMON_EXIT_CONFIG;
	d->warnlists = load_warnlists(d->cfg);
	if (!d->warnlists)
		return NODE_DAEMON_EXIT_CONFIG;
	d->tagvocab = load_tagvocab(d->cfg);
	if (!d->tagvocab)
		return NODE_DAEMON_EXIT_CONFIG;
	d->snap = make_snap(d, d->cfg);
	if (!d->snap) {
		log_err("out of memory");
		return 1;
	}
	if (open_export(d))
		return 1;
	d->ingest = node_ingest_new(&d->loop, d->store, &d->keys, on_commit, d);
	d->exporter = node_exporter_new(&d->loop, d->store, d->xport);
	if (!d->ingest || !d->exporter) {
		log_err("out of memory");
		return 1;
	}
	if (start_loop_handles(d))
		return 1;
	d->notices = node_notices_new(&d->loop, d->notices_st, d->store, &d->keys, d->community.id,
				      &d->snap);
	if (!d->notices) {
		log_err("out of memory");
		return 1;
	}
	node_notices_set_export(d->notices, d->xport);
	notices_config(d->cfg, &nc);
	node_notices_set_config(d->notices, &nc);
	path = node_config_str(d->cfg, NODE_API_SOCKET);
	api_limits(d->cfg, &lim);
	err = node_api_start(&d->loop, path,
			     (unsigned)node_config_int(d->cfg, NODE_API_SOCKET_MODE), &lim,
			     on_request, d, &d->api);
	if (err) {
		log_api_listen_error(path, err);
		return 1;
	}
	err = store_voters_epoch(d->store, &d->voters_epoch);
	if (err)
		log_err("store: cannot read which successors' votes were moved: %s",
			proto_error_str(err));
	else
		node_daemon_voters_start(d);
	err = store_voters_withdraw_epoch(d->store, &d->withdraw_epoch);
	if (err)
		log_err("store: cannot read which departed members' reports were withdrawn: %s",
			proto_error_str(err));
	else
		node_daemon_withdraw_start(d);
	return start_overlay(d);
}

/* Frees everything start() may have created; handles must already be closed. */
static void teardown(struct node_daemon *d)
{
	node_ingest_free(d->ingest);
	node_exporter_free(d->exporter);
	node_snap_unref(d->snap);
	node_warnlists_unref(d->warnlists);
	node_tagvocab_unref(d->tagvocab);
	node_notices_free(d->notices);
	store_notices_close(d->notices_st);
	store_export_close(d->xport);
	store_close(d->store);
	for (size_t i = 0; i < d->n_rosters; i++)
		proto_roster_free(d->rosters[i]);
	free(d->rosters);
	free(d->roster_ids);
	for (size_t i = 0; i < d->n_rosters_waiting; i++)
		node_daemon_roster_job_free(d->rosters_waiting[i]);
	proto_keys_wipe(&d->keys);
	proto_wipe(&d->netkeys, sizeof(d->netkeys));
	node_config_free(d->cfg);
}

int node_daemon_run(const char *config_path)
{
	struct node_daemon *d = calloc(1, sizeof(*d));
	unsigned threads;
	int code, err;

	if (!d) {
		log_err("out of memory");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	err = node_heap_tune(); /* before any thread exists (node/common/heap.h) */
	if (err < 0)
		log_debug("malloc settings left as they are: %s", strerror(-err));
	else if (err > 0)
		log_info("malloc settings from GLIBC_TUNABLES");
	threads = node_pool_init(); /* before anything is queued */
	log_info("thread pool: %u threads", threads);
	d->pool_threads = threads;
	d->config_path = config_path;
	d->start_ms = node_daemon_now_ms();
	err = uv_loop_init(&d->loop);
	if (err) {
		log_err("cannot create the event loop: %s", uv_strerror(err));
		free(d);
		return 1;
	}
	err = node_workq_attach(&d->loop, threads);
	if (err)
		log_warning("jobs go to libuv's thread pool: %s", strerror(-err));
	node_pool_lane_init(&d->reads, &d->loop, READS_IN_POOL);
	code = start(d);
	if (code == 0) {
		const struct proto_roster *nr = d->snap->newest;
		log_notice(
			"chatham %s ready: community %s, roster epoch %llu (%zu members), API on "
			"%s",
			CHATHAM_VERSION, d->community.name, (unsigned long long)nr->epoch,
			nr->n_members, node_config_str(d->cfg, NODE_API_SOCKET));
		node_notify("READY=1");
		node_looplag_start(&d->lag); /* start-up work is not lag */
		send_status(d);
		node_exporter_kick(d->exporter, d->snap);
		node_notices_watch(d->notices); /* what was stored before a crash */
	} else {
		/* Unwind what started: nothing was queued to the pool yet. */
		node_overlay_stop(d->overlay, on_overlay_stopped, d);
		d->overlay = NULL;
		node_api_close(d->api, 0, NULL, NULL);
		d->api = NULL;
		close_own_handles(d);
	}
	uv_run(&d->loop, UV_RUN_DEFAULT);
	node_workq_detach(&d->loop); /* no job is in flight: it would have kept uv_run() going */
	uv_run(&d->loop, UV_RUN_DEFAULT);

	teardown(d);
	err = uv_loop_close(&d->loop);
	if (err) {
		log_err("event loop closed with handles still open: %s", uv_strerror(err));
		if (code == 0)
			code = 1;
	} else if (code == 0) {
		log_notice("stopped cleanly");
	}
	free(d);
	return code;
}
