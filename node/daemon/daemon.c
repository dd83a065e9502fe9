/* SPDX-License-Identifier: MIT */
/*
 * The daemon: start-up, the API request dispatcher, reload, housekeeping and shutdown.
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
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "node/common/prio.h"
#include "node/daemon/api.h"
#include "node/format/config.h"
#include "node/overlay/dissem.h"
#include "node/daemon/exporter.h"
#include "node/daemon/ingest.h"
#include "node/daemon/looplag.h"
#include "node/daemon/pool.h"
#include "node/common/keyfile.h"
#include "node/common/log.h"
#include "node/daemon/notices.h"
#include "node/daemon/notify.h"
#include "node/overlay/overlay.h"
#include "node/common/snap.h"
#include "node/common/tagvocab.h"
#include "node/common/warnlists.h"
#include "policy/egress.h"
#include "policy/strip.h"
#include "proto/community.h"
#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/oprf.h"
#include "store/export.h"
#include "store/notice.h"
#include "store/sealed.h"
#include "store/store.h"

#define HOUSEKEEPING_MS 10000
#define SHUTDOWN_POLL_MS 20
#define DRAIN_MS 3000
#define EXPIRE_MAX 10000
#define QUERY_REPORTS_MAX 1000
#define ROSTER_WAITING_MAX 64 /* rosters from links waiting for the roster job */
#define ROSTER_CHAIN_MAX 32   /* of them from one member (NODE_DISSEM_ROSTER_CHAIN_MAX) */
#define READS_IN_POOL 2	      /* query/list jobs in the thread pool at once (node/daemon/pool.h) */

struct roster_job;

struct node_daemon {
	uv_loop_t loop;
	const char *config_path;
	struct node_config *cfg;
	struct proto_keys keys;
	struct proto_community community;
	struct proto_roster **rosters; /* ascending epoch */
	uint8_t (*roster_ids)[32];     /* rosters[i]'s roster id */
	size_t n_rosters;
	/* Rosters from links: one job in the pool, one waiting per member (on_gossip_roster()). */
	bool roster_job, reload_wanted;
	struct roster_job *rosters_waiting[ROSTER_WAITING_MAX];
	size_t n_rosters_waiting;
	struct node_snap *snap;
	struct node_warnlists *warnlists; /* the newest loaded; snapshots hold references */
	struct node_tagvocab *tagvocab;	  /* likewise */
	struct store *store;
	struct store_export *xport;
	struct store_notices *notices_st; /* <state dir>/notices */
	struct node_notices *notices;
	struct node_api *api;
	struct node_ingest *ingest;
	struct node_exporter *exporter;
	struct node_overlay *overlay; /* NULL: off (no network key) or stopping */
	struct node_dissem *dissem;   /* with the overlay; NULL once stopped */
	/* The overlay's network keys as the network key file holds them (netkey_on: the file
	 * existed at start); changed only on the loop (netkey_update_finish(), expiry). */
	struct proto_netkey_state netkeys;
	bool netkey_on, netkey_writing;
	/* Votes of retired ids moved to their successors up to this roster epoch (a job). */
	uint64_t voters_epoch;
	struct withdraw_job *withdraw;	 /* running, or NULL */
	uint64_t withdraw_epoch;	 /* the last epoch whose departed members were withdrawn */
	struct store_withdraw withdrawn; /* totals since start (ids unused) */
	bool voters_job;

	uv_signal_t sig_term, sig_int, sig_hup;
	uv_timer_t watchdog, housekeeping, shutdown_poll;
	struct node_looplag lag; /* the loop's own delay, for status */
	bool handles_open;

	uint64_t start_ms;
	bool stopping, api_closing, final_export_kicked;
	bool reloading, expiring;
	unsigned reads_pending;	     /* query/list jobs in the pool or waiting in its lane */
	struct node_pool_lane reads; /* at most READS_IN_POOL of them in the pool at once */
	uint64_t reloads, reload_failures;
	uint64_t roster_conflicts;   /* rosters refused as a second roster of a held epoch */
	uint64_t outbox_departed;    /* outbox copies dropped because the recipient left */
	uint64_t outbox_readdressed; /* ... moved to the successor of a rotated recipient */
	uint64_t netkey_rotations;   /* new network keys adopted from rosters since start */
	uint64_t oprf_generation;    /* OPRF key generation the sealed driver uses */
	char last_status[256];
	int exit_code;
};

static uint64_t now_ms(void)
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

/* ------------------------------------------------------------------ rosters */

static void sealed_keys_update(struct node_daemon *d);

static int add_roster(struct node_daemon *d, struct proto_roster *r)
{
	struct proto_roster **p = realloc(d->rosters, (d->n_rosters + 1) * sizeof(*p));
	uint8_t(*ids)[32];
	uint8_t *bytes;
	size_t len;

	if (!p)
		return -ENOMEM;
	d->rosters = p;
	ids = realloc(d->roster_ids, (d->n_rosters + 1) * sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	d->roster_ids = ids;
	if (proto_roster_encode(r, &bytes, &len))
		return -ENOMEM; /* it decoded or was built by us: only memory can fail */
	proto_roster_id(bytes, len, ids[d->n_rosters]);
	free(bytes);
	d->rosters[d->n_rosters++] = r;
	return 0;
}

static const struct proto_roster *newest_roster(const struct node_daemon *d)
{
	return d->n_rosters ? d->rosters[d->n_rosters - 1] : NULL;
}

/* ------------------------------------------------------------------ network key rotation */

static char *rfc3339(char out[32], uint64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "%llu ms", (unsigned long long)ms);
	return out;
}

static char *netkey_hex(char out[17], const uint8_t key[32])
{
	uint8_t id[8];

	proto_community_netkey_id(key, id);
	return proto_hex_encode(out, id, sizeof(id));
}

/*
 * A roster that carries a new network key (proto/roster.h "New network key") is adopted by
 * a pool job (a roster from a link, or the roster file at reload) or at start-up. The job
 * works on a copy of the node's keys taken on the loop when it starts: it opens the key with
 * this node's transport key, records it (proto_community_netkey_adopt()) and rewrites the
 * network key file (0600, atomic) with both keys; the loop then installs the copy in the
 * overlay. The file is what a restart reads; should writing it fail, the node still uses
 * the new key, and opens it again from the held roster at its next start.
 */
struct netkey_update {
	struct proto_netkey_state k;
	bool on, changed;
};

static void netkey_update_begin(const struct node_daemon *d, struct netkey_update *u)
{
	memset(u, 0, sizeof(*u));
	u->on = d->netkey_on;
	if (u->on)
		u->k = d->netkeys;
}

/* After @r was adopted; in the pool or at start-up. */
static void netkey_update_apply(const struct node_daemon *d, const char *path,
				struct netkey_update *u, const struct proto_roster *r)
{
	uint8_t key[32];
	char hex[17], until[32];
	int err;

	if (!u->on || !r->netkey_sealed || r->epoch <= u->k.epoch)
		return;
	err = proto_community_netkey_open(r, d->keys.id_pk, d->keys.tx_sk, key);
	if (err) {
		log_err("roster epoch %llu rotates the network key, but this node cannot open "
			"the key sealed to it (%s): it keeps its key, which members accept until "
			"%s only",
			(unsigned long long)r->epoch, proto_error_str(err),
			rfc3339(until, r->netkey_old_until_ms));
		return;
	}
	if (proto_community_netkey_adopt(&u->k, key, r->epoch, r->netkey_old_until_ms, now_ms())) {
		u->changed = true;
		err = node_keyfile_save_netkey_state(path, &u->k, NODE_KEYFILE_OVERWRITE);
		if (err)
			log_err("network key file %s: cannot write the new network key %s of roster "
				"epoch %llu: %s. The node uses it until it stops and opens it again "
				"from the roster at its next start",
				path, netkey_hex(hex, key), (unsigned long long)r->epoch,
				proto_error_str(err));
	}
	proto_wipe(key, sizeof(key));
}

/* On the loop: install what the job adopted. */
static void netkey_update_finish(struct node_daemon *d, struct netkey_update *u)
{
	char hex[17], prev[17], until[32];

	if (u->changed && d->overlay) {
		d->netkeys = u->k;
		node_overlay_set_network_keys(d->overlay, &d->netkeys);
		d->netkey_rotations++;
		if (d->netkeys.has_previous)
			log_notice(
				"network key %s adopted from roster epoch %llu; the previous key "
				"%s is accepted until %s",
				netkey_hex(hex, d->netkeys.key),
				(unsigned long long)d->netkeys.epoch,
				netkey_hex(prev, d->netkeys.previous),
				rfc3339(until, d->netkeys.previous_until_ms));
		else
			log_notice("network key %s adopted from roster epoch %llu (the previous "
				   "key's overlap is over)",
				   netkey_hex(hex, d->netkeys.key),
				   (unsigned long long)d->netkeys.epoch);
	}
	proto_wipe(&u->k, sizeof(u->k));
}

/*
 * A roster whose retired ids name successors (a member that replaced its keys): the votes of
 * each retired id become its successor's on every indicator (store_voters_move(), a scan of
 * the store in the pool), so the member keeps one vote per indicator. Reports that arrive
 * later are stored under the successor at admission (store_item.voter). The store records
 * the epoch done, so a restart repeats nothing and a crash before the commit repeats it.
 */
struct voters_job {
	uv_work_t work;
	struct node_daemon *d;
	const struct proto_roster *r; /* held by d until exit */
	struct store_voter_pair *pairs;
	size_t n_pairs, moved;
	int err;
};

static void voters_work(uv_work_t *w)
{
	struct voters_job *j = w->data;

	j->err = store_voters_move(j->d->store, j->pairs, j->n_pairs, j->r->epoch, now_ms(),
				   &j->moved);
}

static void start_voters_job(struct node_daemon *d);

static void voters_done(uv_work_t *w, int status)
{
	struct voters_job *j = w->data;
	struct node_daemon *d = j->d;
	int err = status ? status : j->err;

	d->voters_job = false;
	if (err) {
		log_err("roster epoch %llu: cannot move the votes of retired ids to their "
			"successors: %s",
			(unsigned long long)j->r->epoch, proto_error_str(err));
	} else {
		d->voters_epoch = j->r->epoch;
		if (j->moved)
			log_notice(
				"roster epoch %llu: %zu vote(s) of %zu retired id(s) now count for "
				"their successors",
				(unsigned long long)j->r->epoch, j->moved, j->n_pairs);
		node_exporter_kick(d->exporter, d->snap);
	}
	free(j->pairs);
	free(j);
	if (!err && !d->stopping)
		start_voters_job(d); /* a newer roster may have come meanwhile */
}

static void start_voters_job(struct node_daemon *d)
{
	const struct proto_roster *r = newest_roster(d);
	struct voters_job *j;
	size_t n = 0;

	if (d->voters_job || d->stopping || !r || r->epoch <= d->voters_epoch)
		return;
	for (size_t i = 0; i < r->n_retired; i++)
		n += r->retired[i].has_successor;
	if (n == 0) {
		d->voters_epoch = r->epoch;
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j || !(j->pairs = calloc(n, sizeof(*j->pairs)))) {
		free(j);
		log_err("out of memory moving the votes of retired ids");
		return;
	}
	for (size_t i = 0; i < r->n_retired; i++) {
		const uint8_t *to = proto_roster_successor(r, r->retired[i].id);

		if (!r->retired[i].has_successor || !to)
			continue;
		memcpy(j->pairs[j->n_pairs].from, r->retired[i].id, 32);
		memcpy(j->pairs[j->n_pairs++].to, to, 32);
	}
	j->d = d;
	j->r = r;
	j->work.data = j;
	d->voters_job = true;
	uv_queue_work(&d->loop, &j->work, voters_work, voters_done);
}

/*
 * Departure with the community's withdraw_departed setting: the attributed reports of every
 * member that left (a member of a held roster, or a retired id, with no current id in the
 * newest roster: removed, or revoked without a successor) stop voting on this node. The
 * store does it in bounded steps (store_voters_withdraw_step()), all in one pool job;
 * other writers get the store between steps. Anonymous reports stay: nobody can tell whose
 * they are, which is the point of them. The store records the epoch done.
 */
struct withdraw_job {
	uv_work_t work;
	struct node_daemon *d;
	const struct proto_roster *r; /* held by d until exit */
	uint8_t (*ids)[32];
	struct store_withdraw w;
	atomic_bool cancel; /* set on the loop at shutdown; the job stops between steps */
	int err;
};

static void withdraw_work(uv_work_t *w)
{
	struct withdraw_job *j = w->data;
	int rc;

	while ((rc = store_voters_withdraw_step(j->d->store, &j->w)) == 1)
		if (atomic_load(&j->cancel))
			break;
	j->err = rc < 0 ? rc : 0;
}

static void start_withdraw_job(struct node_daemon *d);

static void withdraw_done(uv_work_t *w, int status)
{
	struct withdraw_job *j = w->data;
	struct node_daemon *d = j->d;
	int err = status ? status : j->err;

	d->withdraw = NULL;
	d->withdrawn.votes += j->w.votes;
	d->withdrawn.reports += j->w.reports;
	d->withdrawn.indicators += j->w.indicators;
	d->withdrawn.transactions += j->w.transactions;
	if (err)
		log_err("roster epoch %llu: cannot withdraw the reports of departed members: %s",
			(unsigned long long)j->r->epoch, proto_error_str(err));
	else if (j->w.done)
		d->withdraw_epoch = j->r->epoch;
	if (j->w.done)
		log_notice("roster epoch %llu: reports of %zu departed member id(s) withdrawn: %zu "
			   "vote(s) removed, %zu report(s) no longer count, %zu indicator(s) "
			   "recomputed, in %zu transaction(s)",
			   (unsigned long long)j->r->epoch, j->w.n_ids, j->w.votes, j->w.reports,
			   j->w.indicators, j->w.transactions);
	if (j->w.indicators)
		node_exporter_kick(d->exporter, d->snap);
	free(j->ids);
	free(j);
	if (!err && !d->stopping)
		start_withdraw_job(d); /* a newer roster may have come meanwhile */
}

static int cmp_id32(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/* Add @id to @j->ids (capacity @cap) unless it answers for a member of @r. */
static void add_departed(struct withdraw_job *j, size_t cap, const struct proto_roster *r,
			 const uint8_t id[32])
{
	if (j->w.n_ids < cap && !proto_roster_current_id(r, id))
		memcpy(j->ids[j->w.n_ids++], id, 32);
}

static void start_withdraw_job(struct node_daemon *d)
{
	const struct proto_roster *r = newest_roster(d);
	struct withdraw_job *j;
	size_t cap = 0, n = 0;

	if (d->withdraw || d->stopping || !r || r->epoch <= d->withdraw_epoch)
		return;
	if (!r->settings.withdraw_departed) {
		d->withdraw_epoch = r->epoch;
		return;
	}
	for (size_t i = 0; i < d->n_rosters; i++)
		cap += d->rosters[i]->n_members;
	cap += r->n_retired;
	j = calloc(1, sizeof(*j));
	if (!j || !(j->ids = calloc(cap ? cap : 1, 32))) {
		free(j);
		log_err("out of memory withdrawing the reports of departed members");
		return;
	}
	for (size_t i = 0; i < d->n_rosters; i++)
		for (size_t k = 0; k < d->rosters[i]->n_members; k++)
			add_departed(j, cap, r, d->rosters[i]->members[k].id);
	for (size_t i = 0; i < r->n_retired; i++)
		add_departed(j, cap, r, r->retired[i].id);
	qsort(j->ids, j->w.n_ids, 32, cmp_id32);
	for (size_t i = 0; i < j->w.n_ids; i++) /* distinct */
		if (n == 0 || memcmp(j->ids[n - 1], j->ids[i], 32))
			memmove(j->ids[n++], j->ids[i], 32);
	j->w.n_ids = n;
	if (n == 0) {
		d->withdraw_epoch = r->epoch;
		free(j->ids);
		free(j);
		return;
	}
	j->w.ids = (const uint8_t(*)[32])j->ids;
	j->w.epoch = r->epoch;
	j->w.now_ms = now_ms();
	j->d = d;
	j->r = r;
	atomic_init(&j->cancel, false);
	j->work.data = j;
	d->withdraw = j;
	uv_queue_work(&d->loop, &j->work, withdraw_work, withdraw_done);
}

struct netkey_job {
	uv_work_t work;
	struct node_daemon *d;
	struct proto_netkey_state k;
	char *path;
	int err;
};

static void netkey_write_work(uv_work_t *w)
{
	struct netkey_job *j = w->data;

	j->err = node_keyfile_save_netkey_state(j->path, &j->k, NODE_KEYFILE_OVERWRITE);
}

static void start_reload(struct node_daemon *d);
static void start_roster_job(struct node_daemon *d);

static void netkey_write_done(uv_work_t *w, int status)
{
	struct netkey_job *j = w->data;

	struct node_daemon *d = j->d;

	d->netkey_writing = false;
	if (status || j->err)
		log_err("network key file %s: cannot drop the previous key: %s (it is no longer "
			"accepted all the same; the next start drops it again)",
			j->path, status ? uv_strerror(status) : proto_error_str(j->err));
	proto_wipe(&j->k, sizeof(j->k));
	free(j->path);
	free(j);
	/* Roster and reload jobs that may write the file waited for this write. */
	if (d->reload_wanted) {
		d->reload_wanted = false;
		start_reload(d);
	} else {
		start_roster_job(d);
	}
}

/*
 * Housekeeping: once a rotation's overlap is over, stop accepting the previous key and
 * rewrite the network key file without it (in the pool).
 */
static void netkey_expire(struct node_daemon *d)
{
	struct netkey_job *j;
	char hex[17];

	/*
	 * One writer of the network key file at a time: a roster or reload job may be writing
	 * a newly adopted key (netkey_update_apply()); the expiry waits for the next tick.
	 */
	if (!d->overlay || d->netkey_writing || d->roster_job || d->reloading ||
	    !d->netkeys.has_previous)
		return;
	if (!proto_community_netkey_expire(&d->netkeys, now_ms()))
		return;
	node_overlay_set_network_keys(d->overlay, &d->netkeys);
	log_notice("the previous network key's overlap is over: only network key %s is "
		   "accepted",
		   netkey_hex(hex, d->netkeys.key));
	j = calloc(1, sizeof(*j));
	if (!j || !(j->path = strdup(node_config_str(d->cfg, NODE_NETWORK_KEY_FILE)))) {
		free(j);
		return;
	}
	j->d = d;
	j->k = d->netkeys;
	j->work.data = j;
	d->netkey_writing = true;
	uv_queue_work(&d->loop, &j->work, netkey_write_work, netkey_write_done);
}

static json_t *netkey_json(const struct node_daemon *d)
{
	char hex[17], prev[17], until[32];

	if (!d->netkey_on)
		return json_null();
	if (!d->netkeys.has_previous)
		return json_pack("{s:s, s:I, s:I}", "id", netkey_hex(hex, d->netkeys.key), "epoch",
				 (json_int_t)d->netkeys.epoch, "rotations",
				 (json_int_t)d->netkey_rotations);
	return json_pack("{s:s, s:I, s:I, s:{s:s, s:s, s:I}}", "id",
			 netkey_hex(hex, d->netkeys.key), "epoch", (json_int_t)d->netkeys.epoch,
			 "rotations", (json_int_t)d->netkey_rotations, "previous", "id",
			 netkey_hex(prev, d->netkeys.previous), "until",
			 rfc3339(until, d->netkeys.previous_until_ms), "until_ms",
			 (json_int_t)d->netkeys.previous_until_ms);
}

/*
 * The succession rule (proto_community_roster_judge()) applied to @r, which came from
 * @origin ("roster file PATH", "a member"), against the held chain @held[0..@n_held-1].
 * Returns 0 to adopt, or the rule's code. A conflict (stewards signed two rosters for one
 * epoch) is the one outcome that is never benign: it is logged at error level with both
 * roster ids, and @r is kept as evidence in @state_dir as roster-conflict-EPOCH-ID (written
 * once per distinct roster). Runs on the loop thread or in the reload job; it touches
 * nothing shared.
 */
static int judge_roster(const struct proto_community *comm, struct proto_roster *const *held,
			size_t n_held, const char *state_dir, const struct proto_roster *r,
			const char *origin)
{
	uint8_t *bytes = NULL, id[32], hid[32];
	char path[4096], hex[65], hhex[65];
	size_t len;
	int err = proto_community_roster_judge(comm, (const struct proto_roster *const *)held,
					       n_held, r),
	    werr;

	if (err != PROTO_E_ROSTER_CONFLICT)
		return err;
	memset(hid, 0, sizeof(hid));
	for (size_t i = 0; i < n_held; i++) {
		if (held[i]->epoch == r->epoch && !proto_roster_encode(held[i], &bytes, &len)) {
			proto_roster_id(bytes, len, hid);
			free(bytes);
			bytes = NULL;
		}
	}
	werr = proto_roster_encode(r, &bytes, &len);
	if (!werr) {
		proto_roster_id(bytes, len, id);
		snprintf(path, sizeof(path), "%s/roster-conflict-%llu-%s", state_dir,
			 (unsigned long long)r->epoch, proto_hex_encode(hex, id, 32));
		werr = node_keyfile_write_public(path, bytes, len, 0);
		if (werr == -EEXIST)
			werr = 0;
	}
	log_err("ROSTER CONFLICT: %s offers epoch %llu as roster id %s, but this node holds "
		"roster id %s for that epoch, and the stewards in office signed both. Refused; "
		"the node keeps the roster it had. Evidence: %s%s. Ask the stewards why two "
		"rosters of one epoch exist",
		origin, (unsigned long long)r->epoch, werr ? "(unknown)" : hex,
		proto_hex_encode(hhex, hid, 32), werr ? "not kept: " : path,
		werr ? proto_error_str(werr) : "");
	free(bytes);
	return err;
}

/*
 * Reads @path and decides whether it is a roster to adopt under the succession rule against
 * the held chain. Returns 1 with *@out (caller owns) and its signed bytes stored, 0 when the
 * file holds nothing newer (an older epoch, or a copy of a held one), or a negative error
 * (logged; PROTO_E_ROSTER_CONFLICT for a conflicting roster). Runs at start-up and in the
 * reload job (pool thread; the held chain is not changed meanwhile).
 */
static int adopt_roster_file(struct store *store, const struct proto_community *comm,
			     struct proto_roster *const *held, size_t n_held, const char *state_dir,
			     const char *path, struct proto_roster **out)
{
	struct proto_roster *r = NULL;
	uint8_t *bytes = NULL;
	char origin[4200];
	size_t len;
	int err;

	*out = NULL;
	err = node_keyfile_load_roster(path, &r);
	if (err) {
		log_err("roster file %s: %s", path, proto_error_str(err));
		return err;
	}
	snprintf(origin, sizeof(origin), "roster file %s", path);
	err = judge_roster(comm, held, n_held, state_dir, r, origin);
	if (err == PROTO_E_ROSTER_KNOWN || err == PROTO_E_ROSTER_EPOCH) {
		if (r->epoch < held[n_held - 1]->epoch)
			log_notice(
				"roster file %s has epoch %llu; keeping the newer epoch %llu from "
				"the store",
				path, (unsigned long long)r->epoch,
				(unsigned long long)held[n_held - 1]->epoch);
		proto_roster_free(r);
		return 0;
	}
	if (err) {
		if (err != PROTO_E_ROSTER_CONFLICT)
			log_err("roster file %s (epoch %llu) does not verify against %s: %s", path,
				(unsigned long long)r->epoch,
				n_held ? "the stewards of the newest held roster"
				       : "the community file's stewards",
				proto_error_str(err));
		proto_roster_free(r);
		return err;
	}
	err = proto_roster_encode(r, &bytes, &len);
	if (!err)
		err = store_roster_put(store, r->epoch, bytes, len);
	free(bytes);
	if (err) {
		log_err("cannot keep roster epoch %llu in the store: %s",
			(unsigned long long)r->epoch, proto_error_str(err));
		proto_roster_free(r);
		return err;
	}
	*out = r;
	return 1;
}

static int load_rosters(struct node_daemon *d)
{
	const char *path = node_config_str(d->cfg, NODE_ROSTER_FILE);
	struct proto_roster *r;
	uint64_t latest = 0;
	int err;

	err = store_roster_latest(d->store, NULL, &latest);
	if (err && err != STORE_E_NOT_FOUND) {
		log_err("store: cannot read the held rosters: %s", proto_error_str(err));
		return err;
	}
	for (uint64_t e = 1; latest && e <= latest; e++) {
		uint8_t *bytes;
		size_t len;
		err = store_roster_get(d->store, NULL, e, &bytes, &len);
		if (err == STORE_E_NOT_FOUND)
			continue;
		if (!err) {
			err = proto_roster_decode(&r, bytes, len);
			free(bytes);
		}
		if (!err && (err = add_roster(d, r)))
			proto_roster_free(r);
		if (err) {
			log_err("store: roster epoch %llu: %s", (unsigned long long)e,
				proto_error_str(err));
			return err;
		}
	}
	if (access(path, F_OK) == 0 || !d->n_rosters) {
		err = adopt_roster_file(d->store, &d->community, d->rosters, d->n_rosters,
					node_config_str(d->cfg, NODE_STATE_DIR), path, &r);
		if (err == PROTO_E_ROSTER_CONFLICT)
			d->roster_conflicts++;
		if (err < 0 && !d->n_rosters)
			return err;
		if (err == 1 && (err = add_roster(d, r))) {
			proto_roster_free(r);
			return err;
		}
	}
	const struct proto_roster *nr = newest_roster(d);
	if (memcmp(nr->community, d->community.id, 32)) {
		log_err("roster epoch %llu is for another community than %s",
			(unsigned long long)nr->epoch,
			node_config_str(d->cfg, NODE_COMMUNITY_FILE));
		return PROTO_E_ROSTER_COMMUNITY;
	}
	if (proto_roster_find_member(nr, d->keys.id_pk) < 0) {
		char hex[65];
		log_err("this node's key (member id %s, from %s) is not a member of roster epoch "
			"%llu",
			proto_hex_encode(hex, d->keys.id_pk, 32),
			node_config_str(d->cfg, NODE_KEY_FILE), (unsigned long long)nr->epoch);
		return PROTO_E_ROSTER_NOT_MEMBER;
	}
	return 0;
}

/* ------------------------------------------------------------------ status */

/*
 * Responses of the read ops (publish responses are described in node/daemon/ingest.h):
 *
 *   status  {"ok":true, "version", "state": "running"|"stopping", "uptime_s", "community",
 *            "member": {"id", "name"} (this node only), "roster": {"epoch", "members",
 *            "conflicts", "outbox_dropped"}, "network_key": netkey_json() (null when the
 *            node has no network key file), "store": {"reports", "indicators", "feed_last", "outbox", "map_size",
 *            "map_used"}, "export": {"last_seq", "errors", "rules_changes", "corrected",
 *            "rerendered", "resets"} (node_exporter_rerender_stats()), "api": {"connections"},
 *            "ingest": {"accepted", "duplicates", "rejected", "commits", "pending",
 *            "refused": {policy reason id: count}}, "reload": {"count", "failures"}},
 *            "loop": node_looplag_json() (the loop's delay since ready), and while
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
		"uptime_s", (json_int_t)((now_ms() - d->start_ms) / 1000), "community",
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
				    json_pack("{s:s, s:I, s:I, s:I, s:I}", "state", "on",
					      "links_up", (json_int_t)os.links_up, "wanted",
					      (json_int_t)os.wanted, "wanted_up",
					      (json_int_t)os.wanted_up, "handshakes_in",
					      (json_int_t)os.handshakes_in));
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
		json_object_set_new(resp, "network_key", netkey_json(d));
	if (resp && d->dissem)
		json_object_set_new(resp, "gossip", node_dissem_status_json(d->dissem));
	if (resp && d->dissem)
		json_object_set_new(resp, "sealed", node_dissem_sealed_json(d->dissem));
	if (resp)
		json_object_set_new(resp, "loop", node_looplag_json(&d->lag));
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

/* ------------------------------------------------------------------ query and list (pool) */

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
		if (node_ingest_submit(d->ingest, d->snap, req, now_ms(), on_ingest_done, areq))
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
	case NODE_OP_LIST: {
		struct read_job *j = calloc(1, sizeof(*j));
		if (!j) {
			node_request_free(req);
			respond_error(areq, NODE_E_OVERLOAD, "out of memory");
			return;
		}
		j->d = d;
		j->snap = node_snap_ref(d->snap);
		j->req = req;
		j->areq = areq;
		j->work.w.data = j;
		d->reads_pending++;
		node_pool_submit(&d->reads, &j->work, read_work, read_done);
		return;
	}
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
static struct node_snap *build_snap(const struct node_daemon *d, const struct node_config *cfg,
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
	err = adopt_roster_file(d->store, &d->community, d->rosters, d->n_rosters,
				node_config_str(d->cfg, NODE_STATE_DIR), path, &j->roster);
	j->conflict = err == PROTO_E_ROSTER_CONFLICT;
	if (err < 0)
		log_warning("reload: keeping roster epoch %llu",
			    (unsigned long long)newest_roster(d)->epoch);
	if (j->roster)
		netkey_update_apply(d, node_config_str(d->cfg, NODE_NETWORK_KEY_FILE), &j->netkey,
				    j->roster);
	j->snap = build_snap(d, j->cfg, j->roster);
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
static void drop_departed(struct node_daemon *d, const struct proto_roster *r)
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
		if (add_roster(d, j->roster)) {
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
			drop_departed(d, j->roster);
			netkey_update_finish(d, &j->netkey);
			sealed_keys_update(d);
			start_voters_job(d);
			start_withdraw_job(d);
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
		if (j->roster && newest_roster(d) == j->roster)
			node_dissem_roster_adopted(d->dissem, j->roster->epoch);
	}
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
	if (d->reload_wanted) {
		d->reload_wanted = false;
		start_reload(d);
	} else {
		start_roster_job(d);
	}
}

static void start_reload(struct node_daemon *d)
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
	netkey_update_begin(d, &j->netkey);
	d->reloading = true;
	node_notifyf("RELOADING=1\nSTATUS=reloading %s", d->config_path);
	log_info("reloading %s", d->config_path);
	if (uv_queue_work(&d->loop, &j->work, reload_work, reload_done)) {
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
	netkey_expire(d);
	node_exporter_retry(d->exporter, d->snap);
	if (d->expiring)
		return;
	j = calloc(1, sizeof(*j));
	if (!j)
		return;
	j->d = d;
	j->now = now_ms();
	j->work.data = j;
	d->expiring = true;
	if (uv_queue_work(&d->loop, &j->work, expire_work, expire_done)) {
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
	if (d->withdraw) {
		atomic_store(&d->withdraw->cancel, true); /* the next start does it again */
		return;
	}
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
		start_reload(d);
	else
		begin_shutdown(d, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* ------------------------------------------------------------------ start-up */

static int open_stores(struct node_daemon *d)
{
	struct store_config sc = {
		.dir = node_config_str(d->cfg, NODE_STATE_DIR),
		.map_size_initial = (size_t)node_config_int(d->cfg, NODE_STORE_MAP_SIZE_MB) << 20,
		.map_size_max = (size_t)node_config_int(d->cfg, NODE_STORE_MAP_MAX_MB) << 20,
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

/*
 * The overlay: network key, listeners, then the newest roster (dialling starts on the next
 * loop iteration). A missing network key file leaves the overlay off, with a warning.
 * Returns 0 or a process exit code.
 */
/*
 * Rosters from links (node/overlay/dissem.h roster gossip). A member can send any number of
 * rosters, each up to PROTO_ROSTER_MAX_BYTES, so the loop thread only does what is cheap:
 * a copy of a held roster (same roster id) is known at once, and a roster whose epoch is
 * older than every held one, or older than the newest without being a held epoch (a
 * rollback), is refused from its header (proto_roster_peek()) without decoding its members.
 * The rest — decoding, the succession rule with its signature checks, the conflict evidence,
 * the durable store write and the new snapshot with its redactor — runs in one job in the
 * thread pool; only the installation of the result is back on the loop. One job runs at a
 * time, for the waiting roster of the lowest epoch (a peer sends the epochs we missed oldest
 * first, and each is verified under the stewards of the one before). Each member may have
 * up to ROSTER_CHAIN_MAX rosters of distinct epochs waiting (a second offer of an epoch
 * replaces the first), so a member that floods rosters holds that many slots, not the loop.
 * A refusal is reported to the dissemination driver (node_dissem_roster_refused()), which
 * charges the member's link.
 */
struct roster_job {
	uv_work_t work;
	struct node_daemon *d;
	uint8_t peer[32];
	uint64_t epoch; /* from the header (proto_roster_peek_epoch()) */
	uint8_t *bytes;
	size_t len;
	/* Results (the job reads d's rosters and configuration, unchanged while it runs): */
	struct netkey_update netkey; /* taken when the job starts */
	struct proto_roster *r;
	struct node_snap *snap;
	int err;
};

static void roster_work(uv_work_t *w)
{
	struct roster_job *j = w->data;
	struct node_daemon *d = j->d;

	node_prio_worker(); /* the loop thread first (node/common/prio.h) */

	j->err = proto_roster_decode(&j->r, j->bytes, j->len);
	if (!j->err)
		j->err = judge_roster(&d->community, d->rosters, d->n_rosters,
				      node_config_str(d->cfg, NODE_STATE_DIR), j->r, "a member");
	if (!j->err)
		j->err = store_roster_put(d->store, j->r->epoch, j->bytes, j->len);
	if (!j->err)
		netkey_update_apply(d, node_config_str(d->cfg, NODE_NETWORK_KEY_FILE), &j->netkey,
				    j->r);
	if (!j->err && !(j->snap = build_snap(d, d->cfg, j->r)))
		j->err = -ENOMEM;
}

static void roster_job_free(struct roster_job *j)
{
	proto_wipe(&j->netkey, sizeof(j->netkey));
	free(j->bytes);
	free(j);
}

static void roster_done(uv_work_t *w, int status)
{
	struct roster_job *j = w->data;
	struct node_daemon *d = j->d;
	struct proto_roster *r = j->r;
	int err = status ? status : j->err;

	d->roster_job = false;
	if (!err && add_roster(d, r))
		err = -ENOMEM;
	if (err) {
		if (err == PROTO_E_ROSTER_CONFLICT)
			d->roster_conflicts++;
		log_debug("roster from a member not adopted: %s", proto_error_str(err));
		/* A copy adopted meanwhile from another member (both sent their chain) is no
		 * fault of the sender. */
		if (d->dissem && err != PROTO_E_ROSTER_KNOWN)
			node_dissem_roster_refused(d->dissem, j->peer, err);
		node_snap_unref(j->snap);
		proto_roster_free(r);
		goto next;
	}
	log_notice("roster epoch %llu received from a member and adopted (%zu members)",
		   (unsigned long long)r->epoch, r->n_members);
	if (proto_roster_find_member(r, d->keys.id_pk) < 0)
		log_err("this node is not a member of roster epoch %llu: its publishes will be "
			"refused",
			(unsigned long long)r->epoch);
	drop_departed(d, r);
	netkey_update_finish(d, &j->netkey);
	sealed_keys_update(d);
	start_voters_job(d);
	start_withdraw_job(d);
	if (j->snap) {
		node_snap_set_warnlists(j->snap, d->warnlists); /* refcounts are the loop's */
		node_snap_set_tagvocab(j->snap, d->tagvocab);
		node_snap_unref(d->snap);
		d->snap = j->snap;
		if (d->dissem)
			node_dissem_set_snap(d->dissem, d->snap);
	} else {
		log_err("out of memory switching to roster epoch %llu",
			(unsigned long long)r->epoch);
	}
	if (d->overlay && node_overlay_set_roster(d->overlay, r))
		log_err("overlay: out of memory switching to roster epoch %llu",
			(unsigned long long)r->epoch);
	if (d->dissem)
		node_dissem_roster_adopted(d->dissem, r->epoch);
	node_exporter_kick(d->exporter, d->snap);
next:
	roster_job_free(j);
	if (d->stopping)
		return;
	if (d->reload_wanted) {
		d->reload_wanted = false;
		start_reload(d);
	} else {
		start_roster_job(d);
	}
}

/* Start the job for the first roster waiting, if none runs. */
static void start_roster_job(struct node_daemon *d)
{
	struct roster_job *j;
	size_t low = 0;

	if (d->roster_job || d->reloading || d->netkey_writing || d->stopping ||
	    !d->n_rosters_waiting)
		return;
	for (size_t i = 1; i < d->n_rosters_waiting; i++)
		if (d->rosters_waiting[i]->epoch < d->rosters_waiting[low]->epoch)
			low = i;
	j = d->rosters_waiting[low];
	memmove(d->rosters_waiting + low, d->rosters_waiting + low + 1,
		(--d->n_rosters_waiting - low) * sizeof(*d->rosters_waiting));
	j->work.data = j;
	netkey_update_begin(d, &j->netkey);
	d->roster_job = true;
	/* uv_queue_work() fails only for a NULL work callback. */
	uv_queue_work(&d->loop, &j->work, roster_work, roster_done);
}

/*
 * The cheap checks of a roster from a member; 0 to go on to the job (*@epoch_out set), 1
 * when known.
 */
static int roster_precheck(struct node_daemon *d, const uint8_t *bytes, size_t len,
			   uint64_t *epoch_out)
{
	const struct proto_roster *held = newest_roster(d);
	uint8_t id[32];
	uint64_t epoch;
	bool held_epoch = false;
	int err = proto_roster_peek_epoch(bytes, len, &epoch);

	if (err)
		return err;
	proto_roster_id(bytes, len, id);
	for (size_t i = 0; i < d->n_rosters; i++) {
		if (d->rosters[i]->epoch != epoch)
			continue;
		held_epoch = true;
		if (!memcmp(id, d->roster_ids[i], 32))
			return 1; /* a copy of a held roster */
	}
	if (epoch < held->epoch && !held_epoch) {
		log_warning("a member sent roster epoch %llu, older than the held epoch %llu, "
			    "of an epoch this node never held: refused (a rollback)",
			    (unsigned long long)epoch, (unsigned long long)held->epoch);
		return PROTO_E_ROSTER_EPOCH;
	}
	*epoch_out = epoch;
	return 0;
}

static int on_gossip_roster(void *ctx, const uint8_t peer[32], const uint8_t *bytes, size_t len)
{
	struct node_daemon *d = ctx;
	struct roster_job *j;
	size_t at, n_peer = 0;
	uint64_t epoch = 0;
	int err;

	if (d->stopping)
		return -EBUSY;
	err = roster_precheck(d, bytes, len, &epoch);
	if (err)
		return err < 0 ? err : 0;
	for (at = 0; at < d->n_rosters_waiting; at++) {
		if (memcmp(d->rosters_waiting[at]->peer, peer, 32))
			continue;
		if (d->rosters_waiting[at]->epoch == epoch)
			break;
		n_peer++;
	}
	if (at == d->n_rosters_waiting && (at == ROSTER_WAITING_MAX || n_peer == ROSTER_CHAIN_MAX))
		return -EBUSY; /* offered again on the member's next link up */
	j = calloc(1, sizeof(*j));
	if (!j || !(j->bytes = malloc(len))) {
		free(j);
		return -ENOMEM;
	}
	memcpy(j->bytes, bytes, len);
	j->len = len;
	memcpy(j->peer, peer, 32);
	j->epoch = epoch;
	j->d = d;
	if (at < d->n_rosters_waiting) {
		roster_job_free(d->rosters_waiting[at]); /* the member's new offer replaces it */
	} else {
		d->n_rosters_waiting++;
	}
	d->rosters_waiting[at] = j;
	start_roster_job(d);
	return 0;
}

/* A locally published report was committed: gossip it or deliver it directly. */
static void on_published(void *ctx, const uint8_t id[32], uint8_t tlp)
{
	struct node_daemon *d = ctx;

	if (d->dissem)
		node_dissem_published(d->dissem, id, tlp);
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
static void sealed_keys_update(struct node_daemon *d)
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
	netkey_update_begin(d, &u);
	for (size_t i = 0; i < d->n_rosters; i++)
		netkey_update_apply(d, path, &u, d->rosters[i]);
	d->netkeys = u.k;
	if (u.changed)
		log_notice("network key adopted from held roster epoch %llu at start",
			   (unsigned long long)d->netkeys.epoch);
	proto_wipe(&u, sizeof(u));
	if (proto_community_netkey_expire(&d->netkeys, now_ms()) &&
	    (err = node_keyfile_save_netkey_state(path, &d->netkeys, NODE_KEYFILE_OVERWRITE)))
		log_err("network key file %s: cannot drop the previous key: %s", path,
			proto_error_str(err));
	dissem_config(d->cfg, &dc);
	d->dissem = node_dissem_new(&d->loop, d->store, d->snap, &dc, on_gossip_roster, d);
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
	if (node_overlay_set_roster(d->overlay, newest_roster(d))) {
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
	err = load_rosters(d);
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
		start_voters_job(d);
	err = store_voters_withdraw_epoch(d->store, &d->withdraw_epoch);
	if (err)
		log_err("store: cannot read which departed members' reports were withdrawn: %s",
			proto_error_str(err));
	else
		start_withdraw_job(d);
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
		roster_job_free(d->rosters_waiting[i]);
	proto_keys_wipe(&d->keys);
	proto_wipe(&d->netkeys, sizeof(d->netkeys));
	node_config_free(d->cfg);
}

int node_daemon_run(const char *config_path)
{
	struct node_daemon *d = calloc(1, sizeof(*d));
	int code, err;

	if (!d) {
		log_err("out of memory");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	log_info("thread pool: %u threads", node_pool_init()); /* before anything is queued */
	d->config_path = config_path;
	d->start_ms = now_ms();
	err = uv_loop_init(&d->loop);
	if (err) {
		log_err("cannot create the event loop: %s", uv_strerror(err));
		free(d);
		return 1;
	}
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
