/* SPDX-License-Identifier: MIT */
/*
 * The held roster chain and what follows a newer roster: adoption of rosters from links (one
 * job in the pool at a time), network-key rotation, votes of retired ids moved to their
 * successors, the reports of departed members withdrawn. The contract is in daemon_int.h.
 */
#include "node/daemon/daemon_int.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "node/common/keyfile.h"
#include "node/common/log.h"
#include "node/common/prio.h"
#include "node/common/workq.h"
#include "node/daemon/exporter.h"
#include "node/overlay/dissem.h"
#include "node/overlay/overlay.h"
#include "proto/error.h"
/* ------------------------------------------------------------------ rosters */

int node_daemon_roster_add(struct node_daemon *d, struct proto_roster *r)
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

const struct proto_roster *node_daemon_roster_newest(const struct node_daemon *d)
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

void node_daemon_netkey_begin(const struct node_daemon *d, struct netkey_update *u)
{
	memset(u, 0, sizeof(*u));
	u->on = d->netkey_on;
	if (u->on)
		u->k = d->netkeys;
}

/* After @r was adopted; in the pool or at start-up. */
void node_daemon_netkey_apply(const struct node_daemon *d, const char *path,
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
	if (proto_community_netkey_adopt(&u->k, key, r->epoch, r->netkey_old_until_ms,
					 node_daemon_now_ms())) {
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
void node_daemon_netkey_finish(struct node_daemon *d, struct netkey_update *u)
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

	j->err = store_voters_move(j->d->store, j->pairs, j->n_pairs, j->r->epoch,
				   node_daemon_now_ms(), &j->moved);
}

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
		node_daemon_voters_start(d); /* a newer roster may have come meanwhile */
}

void node_daemon_voters_start(struct node_daemon *d)
{
	const struct proto_roster *r = node_daemon_roster_newest(d);
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
	node_workq_queue(&d->loop, &j->work, voters_work, voters_done);
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
		node_daemon_withdraw_start(d); /* a newer roster may have come meanwhile */
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

void node_daemon_withdraw_start(struct node_daemon *d)
{
	const struct proto_roster *r = node_daemon_roster_newest(d);
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
	j->w.now_ms = node_daemon_now_ms();
	j->d = d;
	j->r = r;
	atomic_init(&j->cancel, false);
	j->work.data = j;
	d->withdraw = j;
	node_workq_queue(&d->loop, &j->work, withdraw_work, withdraw_done);
}

bool node_daemon_withdraw_cancel(struct node_daemon *d)
{
	if (!d->withdraw)
		return false;
	atomic_store(&d->withdraw->cancel, true);
	return true;
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
	node_daemon_writer_next(d);
}

/*
 * Housekeeping: once a rotation's overlap is over, stop accepting the previous key and
 * rewrite the network key file without it (in the pool).
 */
void node_daemon_netkey_expire(struct node_daemon *d)
{
	struct netkey_job *j;
	char hex[17];

	/*
	 * One writer of the network key file at a time: a roster or reload job may be writing
	 * a newly adopted key (node_daemon_netkey_apply()); the expiry waits for the next tick.
	 */
	if (!d->overlay || d->netkey_writing || d->roster_job || d->reloading ||
	    !d->netkeys.has_previous)
		return;
	if (!proto_community_netkey_expire(&d->netkeys, node_daemon_now_ms()))
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
	node_workq_queue(&d->loop, &j->work, netkey_write_work, netkey_write_done);
}

json_t *node_daemon_netkey_json(const struct node_daemon *d)
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
int node_daemon_roster_adopt_file(struct store *store, const struct proto_community *comm,
				  struct proto_roster *const *held, size_t n_held,
				  const char *state_dir, const char *path,
				  struct proto_roster **out)
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

int node_daemon_rosters_load(struct node_daemon *d)
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
		if (!err && (err = node_daemon_roster_add(d, r)))
			proto_roster_free(r);
		if (err) {
			log_err("store: roster epoch %llu: %s", (unsigned long long)e,
				proto_error_str(err));
			return err;
		}
	}
	if (access(path, F_OK) == 0 || !d->n_rosters) {
		err = node_daemon_roster_adopt_file(
			d->store, &d->community, d->rosters, d->n_rosters,
			node_config_str(d->cfg, NODE_STATE_DIR), path, &r);
		if (err == PROTO_E_ROSTER_CONFLICT)
			d->roster_conflicts++;
		if (err < 0 && !d->n_rosters)
			return err;
		if (err == 1 && (err = node_daemon_roster_add(d, r))) {
			proto_roster_free(r);
			return err;
		}
	}
	const struct proto_roster *nr = node_daemon_roster_newest(d);
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
		node_daemon_netkey_apply(d, node_config_str(d->cfg, NODE_NETWORK_KEY_FILE),
					 &j->netkey, j->r);
	if (!j->err && !(j->snap = node_daemon_snap_build(d, d->cfg, j->r)))
		j->err = -ENOMEM;
}

void node_daemon_roster_job_free(struct roster_job *j)
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
	if (!err && node_daemon_roster_add(d, r))
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
	node_daemon_drop_departed(d, r);
	node_daemon_netkey_finish(d, &j->netkey);
	node_daemon_sealed_keys_update(d);
	node_daemon_voters_start(d);
	node_daemon_withdraw_start(d);
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
	node_daemon_roster_job_free(j);
	if (d->stopping)
		return;
	node_daemon_writer_next(d);
}

void node_daemon_writer_next(struct node_daemon *d)
{
	if (d->reload_wanted) {
		d->reload_wanted = false;
		node_daemon_reload_start(d);
	} else {
		node_daemon_roster_job_start(d);
	}
}

/* Start the job for the first roster waiting, if none runs. */
void node_daemon_roster_job_start(struct node_daemon *d)
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
	node_daemon_netkey_begin(d, &j->netkey);
	d->roster_job = true;
	/* node_workq_queue() fails only for a NULL work callback. */
	node_workq_queue(&d->loop, &j->work, roster_work, roster_done);
}

/*
 * The cheap checks of a roster from a member; 0 to go on to the job (*@epoch_out set),
 * PROTO_E_ROSTER_KNOWN for a copy of a held roster (the dissemination driver decides whether
 * that is charged), another negative code when refused.
 */
static int roster_precheck(struct node_daemon *d, const uint8_t *bytes, size_t len,
			   uint64_t *epoch_out)
{
	const struct proto_roster *held = node_daemon_roster_newest(d);
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
			return PROTO_E_ROSTER_KNOWN;
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

int node_daemon_on_gossip_roster(void *ctx, const uint8_t peer[32], const uint8_t *bytes,
				 size_t len)
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
		return err;
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
		node_daemon_roster_job_free(
			d->rosters_waiting[at]); /* the member's new offer replaces it */
	} else {
		d->n_rosters_waiting++;
	}
	d->rosters_waiting[at] = j;
	node_daemon_roster_job_start(d);
	return 0;
}
