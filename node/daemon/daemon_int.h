/* SPDX-License-Identifier: MIT */
/*
 * The daemon's private contract between its files (node/daemon/): daemon.c (start-up, the
 * API request dispatcher, status, reload, housekeeping, shutdown), rosters.c (the held
 * roster chain, rosters from links, network-key rotation, votes of retired ids, withdrawal
 * of departed members) and reads.c (query and list in the thread pool). Everything here runs
 * on the loop thread unless its comment names the pool.
 */
#ifndef NODE_DAEMON_DAEMON_INT_H
#define NODE_DAEMON_DAEMON_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <uv.h>

#include "node/common/pool.h"
#include "node/common/snap.h"
#include "node/daemon/api.h"
#include "node/daemon/looplag.h"
#include "node/format/config.h"
#include "node/format/request.h"
#include "proto/community.h"
#include "proto/crypto.h"
#include "proto/keys.h"
#include "proto/roster.h"
#include "store/store.h"

#define ROSTER_WAITING_MAX 64 /* rosters from links waiting for the roster job */
#define ROSTER_CHAIN_MAX 32   /* of them from one member (NODE_DISSEM_ROSTER_CHAIN_MAX) */

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
	unsigned pool_threads;	     /* node_pool_init() */
	uint64_t reloads, reload_failures;
	uint64_t roster_conflicts;   /* rosters refused as a second roster of a held epoch */
	uint64_t outbox_departed;    /* outbox copies dropped because the recipient left */
	uint64_t outbox_readdressed; /* ... moved to the successor of a rotated recipient */
	uint64_t netkey_rotations;   /* new network keys adopted from rosters since start */
	uint64_t oprf_generation;    /* OPRF key generation the sealed driver uses */
	char last_status[256];
	int exit_code;
};

/* Wall-clock milliseconds (CLOCK_REALTIME). Any thread. */
uint64_t node_daemon_now_ms(void);

/* daemon.c */
/*
 * The snapshot of @cfg over the held rosters and @extra (NULL: none); in a pool job (the
 * redactor is the slow part). NULL when out of memory.
 */
struct node_snap *node_daemon_snap_build(const struct node_daemon *d, const struct node_config *cfg,
					 struct proto_roster *extra);
/* Start a reload job (configuration, roster file, warninglists) unless one runs. */
void node_daemon_reload_start(struct node_daemon *d);
/* Drop or readdress outbox copies whose recipient left or rotated in @r. */
void node_daemon_drop_departed(struct node_daemon *d, const struct proto_roster *r);
/* Re-read the OPRF share when a roster changed the sealed-sighting keys. */
void node_daemon_sealed_keys_update(struct node_daemon *d);

/* rosters.c */
/* Append @r (owned from now on) to the held chain; -ENOMEM. */
int node_daemon_roster_add(struct node_daemon *d, struct proto_roster *r);
/* The held roster of the highest epoch, NULL before the first. */
const struct proto_roster *node_daemon_roster_newest(const struct node_daemon *d);
/* Network-key rotation: begin on the loop, apply in the pool (or at start-up), finish on
 * the loop (installs the adopted key in the overlay and wipes @u). */
void node_daemon_netkey_begin(const struct node_daemon *d, struct netkey_update *u);
void node_daemon_netkey_apply(const struct node_daemon *d, const char *path,
			      struct netkey_update *u, const struct proto_roster *r);
void node_daemon_netkey_finish(struct node_daemon *d, struct netkey_update *u);
/* Housekeeping: drop the previous network key once its overlap is over. */
void node_daemon_netkey_expire(struct node_daemon *d);
/* The network keys for `status` (ids, epoch, rotations), or JSON null when off. */
json_t *node_daemon_netkey_json(const struct node_daemon *d);
/* Jobs that follow a newer roster: retired ids' votes to their successors, departed
 * members' reports withdrawn. Each starts unless it runs or has nothing to do. */
void node_daemon_voters_start(struct node_daemon *d);
void node_daemon_withdraw_start(struct node_daemon *d);
/* Shutdown: ask a running withdraw job to stop between steps (the next start does the rest);
 * true while one runs. */
bool node_daemon_withdraw_cancel(struct node_daemon *d);
/*
 * Adopt the roster file @path under the succession rule against @held[0..@n_held-1]: 1 with
 * *@out (caller owns, stored durably), 0 when it holds nothing newer, or a negative error
 * (logged). At start-up and in the reload job.
 */
int node_daemon_roster_adopt_file(struct store *store, const struct proto_community *comm,
				  struct proto_roster *const *held, size_t n_held,
				  const char *state_dir, const char *path,
				  struct proto_roster **out);
/* Start-up: the held chain from the store, then the roster file; 0 or a logged error. */
int node_daemon_rosters_load(struct node_daemon *d);
/* Rosters from links (node_dissem_new()'s roster callback) and their one job at a time. */
int node_daemon_on_gossip_roster(void *ctx, const uint8_t peer[32], const uint8_t *bytes,
				 size_t len);
void node_daemon_roster_job_start(struct node_daemon *d);
/*
 * After a writer of the held rosters or the network key file finished (a reload, a roster
 * job, a network key write; one runs at a time): a reload that was asked for meanwhile,
 * else the next waiting roster.
 */
void node_daemon_writer_next(struct node_daemon *d);
void node_daemon_roster_job_free(struct roster_job *j);

/* reads.c */
/* Answer a query or list request (@req owned) from the thread pool's read lane; -ENOMEM. */
int node_daemon_read_submit(struct node_daemon *d, struct node_api_req *areq,
			    struct node_request *req);

#endif
