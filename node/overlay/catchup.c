/* SPDX-License-Identifier: MIT */
/*
 * node/overlay/catchup.c — catch-up: range reconciliation sessions (proto/recon.h) over the
 * store's range fingerprints, one at a time per node, the FETCH of what a session found
 * missing, and the anonymous reports hidden from catch-up while their stem runs.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "node/common/log.h"
#include "node/overlay/dissem_int.h"
#include "proto/array.h"
#include "proto/error.h"
#include "proto/gossip.h"
#include "proto/link.h"
#include "proto/recon.h"
#include "proto/report.h"
#include "proto/stem.h"

static void start_recon(struct node_dissem *d, struct dlink *dl);

/*
 * Every session pushes at most NODE_DISSEM_CATCHUP_PUSH_MAX of its "have" reports, and takes
 * as many copies pushed to it as asked for (proto_recon_invited()): catch-up comes in
 * windows. A node that received new copies from a link reconciles with it again once they
 * are stored (node_catchup_start_wanted()), so a large difference is caught up window by
 * window, never faster than this node admits it, and nothing is dropped at its admission
 * queue and sent again.
 */
static const struct proto_recon_config session_cfg = {
	.invite_max = NODE_DISSEM_CATCHUP_PUSH_MAX,
};

static uint64_t xrand(struct node_dissem *d)
{
	uint64_t z = (d->rnd += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Index of the first hidden key >= @key (NULL: 0). */
static size_t hidden_lower(const struct node_dissem *d, const uint8_t *key)
{
	size_t a = 0, b = d->n_hidden;

	while (key && a < b) {
		size_t m = a + (b - a) / 2;

		if (memcmp(d->hidden[m], key, STORE_RECON_KEY_LEN) < 0)
			a = m + 1;
		else
			b = m;
	}
	return a;
}

/* Drop the hidden keys whose stem has ended here (fluffed, embargo over, gossip came). */
void node_catchup_prune_hidden(struct node_dissem *d)
{
	size_t out = 0;

	for (size_t i = 0; i < d->n_hidden; i++)
		if (proto_stem_pending(d->stem, d->hidden[i] + 8))
			memmove(d->hidden[out++], d->hidden[i], STORE_RECON_KEY_LEN);
	d->n_hidden = out;
}

/* Hide stored report @id (created at @created_ms) from catch-up while its stem runs. */
void node_catchup_hide(struct node_dissem *d, uint64_t created_ms, const uint8_t id[32])
{
	uint8_t key[STORE_RECON_KEY_LEN];
	size_t at;

	node_catchup_prune_hidden(d);
	store_recon_key(key, created_ms, id);
	at = hidden_lower(d, key);
	if (at < d->n_hidden && memcmp(d->hidden[at], key, sizeof(key)) == 0)
		return;
	if (proto_array_grow((void **)&d->hidden, &d->cap_hidden, d->n_hidden + 1,
			     sizeof(*d->hidden))) {
		log_warning("dissem: out of memory: an anonymous report in its stem is visible to "
			    "catch-up");
		return;
	}
	memmove(d->hidden[at + 1], d->hidden[at], (d->n_hidden - at) * sizeof(*d->hidden));
	memcpy(d->hidden[at], key, sizeof(key));
	d->n_hidden++;
}

static bool is_hidden(const struct node_dissem *d, const uint8_t key[STORE_RECON_KEY_LEN])
{
	size_t at = hidden_lower(d, key);

	return at < d->n_hidden && memcmp(d->hidden[at], key, STORE_RECON_KEY_LEN) == 0 &&
	       proto_stem_pending(d->stem, key + 8);
}

static int src_fingerprint(void *ctx, const uint8_t *lo, const uint8_t *hi, uint8_t sum[32],
			   uint64_t *count)
{
	struct node_dissem *d = ctx;
	int rc = store_recon_fingerprint(d->store, NULL, lo, hi, sum, count);

	if (rc == 0)
		d->keys_read += *count;
	for (size_t i = hidden_lower(d, lo); rc == 0 && i < d->n_hidden; i++) {
		if (hi && memcmp(d->hidden[i], hi, STORE_RECON_KEY_LEN) >= 0)
			break;
		/* Stored before it was hidden, so it is counted in the store's figures. */
		if (proto_stem_pending(d->stem, d->hidden[i] + 8) && *count) {
			proto_recon_sum_sub(sum, d->hidden[i] + 8);
			(*count)--;
		}
	}
	return rc;
}

/*
 * Bucket bounds by rank from the store's sums (store_recon_at()); with keys hidden by the
 * stem phase the ranks would count them, so the split lists the range instead (0). The
 * work is charged by the fingerprints of the buckets, which together read what a listing
 * would.
 */
static int src_at(void *ctx, const uint8_t *lo, const uint8_t *hi, uint64_t rank,
		  uint8_t (*keys)[PROTO_RECON_KEY_LEN])
{
	struct node_dissem *d = ctx;
	int rc;

	if (d->n_hidden)
		return 0;
	rc = store_recon_at(d->store, NULL, lo, hi, rank, keys);
	return rc < 0 ? rc : 1;
}

/* The next key after @key in byte order among keys of the same length; false at the end. */
static bool key_next(uint8_t key[STORE_RECON_KEY_LEN])
{
	for (size_t i = STORE_RECON_KEY_LEN; i-- > 0;)
		if (++key[i] != 0)
			return true;
	return false;
}

static int src_list(void *ctx, const uint8_t *lo, const uint8_t *hi,
		    uint8_t (*keys)[PROTO_RECON_KEY_LEN], size_t cap, size_t *n)
{
	struct node_dissem *d = ctx;
	uint8_t cursor[STORE_RECON_KEY_LEN];
	size_t got = 0;

	if (!d->n_hidden) {
		int rc = store_recon_list(d->store, NULL, lo, hi, keys, cap, n);

		if (rc == 0)
			d->keys_read += *n;
		return rc;
	}
	/* Page past the hidden keys until @cap visible ones or the end of the range. */
	for (const uint8_t *from = lo;;) {
		size_t want = cap - got, k, kept = 0;
		int rc = store_recon_list(d->store, NULL, from, hi, keys + got, want, &k);

		if (rc)
			return rc;
		d->keys_read += k;
		for (size_t i = 0; i < k; i++)
			if (!is_hidden(d, keys[got + i]))
				memmove(keys[got + kept++], keys[got + i], STORE_RECON_KEY_LEN);
		if (k < want || !k) {
			got += kept;
			break;
		}
		memcpy(cursor, keys[got + k - 1], STORE_RECON_KEY_LEN);
		got += kept;
		if (got == cap || !key_next(cursor))
			break;
		from = cursor;
	}
	*n = got;
	return 0;
}

void node_catchup_open_window(struct node_dissem *d, struct dlink *dl)
{
	dl->catchup_until = uv_now(d->loop) + NODE_DISSEM_CATCHUP_WINDOW_MS;
}

static void send_recon(struct node_dissem *d, struct dlink *dl, uint8_t *payload, size_t len)
{
	uint8_t *msg;
	size_t mlen;

	if (!payload)
		return;
	if (proto_link_encode_bin(PROTO_LINK_RECON, payload, len, &msg, &mlen) == 0) {
		d->c.recon_bytes_sent += mlen;
		node_dissem_enqueue(d, dl, Q_MSG, NULL, msg, mlen);
	}
	free(payload);
}

static int cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

static int cmp_fetched(const void *key, const void *el)
{
	return memcmp(key, ((const struct dlink_fetched *)el)->id, 32);
}

/*
 * Remember ids FETCHed from @dl until answered, so that exactly their answers count as
 * asked for. Past NODE_DISSEM_PENDING_MAX outstanding ids the rest are fetched all the same
 * but not remembered (their answers are then admitted like gossip). The batch is sorted
 * alone and merged in one pass that also drops answered entries: O(held + n log n) per
 * FETCH, never a sort of everything held.
 */
static void note_fetched(struct dlink *dl, const uint8_t (*ids)[32], size_t n)
{
	uint8_t(*batch)[32] = NULL;
	struct dlink_fetched *merged = NULL;
	size_t nb = 0, i = 0, j = 0, out = 0;

	if (!n || dl->n_fetched + n > NODE_DISSEM_PENDING_MAX)
		return;
	batch = malloc(n * 32);
	merged = malloc((dl->n_fetched + n) * sizeof(*merged));
	if (!batch || !merged)
		goto out;
	memcpy(batch, ids, n * 32);
	qsort(batch, n, 32, cmp_id);
	for (size_t k = 0; k < n; k++)
		if (!nb || memcmp(batch[nb - 1], batch[k], 32) != 0)
			memmove(batch[nb++], batch[k], 32);
	while (i < dl->len_fetched || j < nb) {
		int c;

		if (i < dl->len_fetched && dl->fetched[i].taken) {
			i++;
			continue;
		}
		if (i == dl->len_fetched)
			c = 1;
		else if (j == nb)
			c = -1;
		else
			c = memcmp(dl->fetched[i].id, batch[j], 32);
		if (c <= 0) {
			merged[out++] = dl->fetched[i++];
			j += c == 0;
		} else {
			memcpy(merged[out].id, batch[j++], 32);
			merged[out++].taken = false;
		}
	}
	free(dl->fetched);
	dl->fetched = merged;
	merged = NULL;
	dl->len_fetched = dl->n_fetched = out;
out:
	free(batch);
	free(merged);
}

/* Whether @id was FETCHed from @dl and not answered yet; marks it answered. */
static bool take_fetched(struct dlink *dl, const uint8_t id[32])
{
	struct dlink_fetched *hit = dl->len_fetched ? bsearch(id, dl->fetched, dl->len_fetched,
							      sizeof(*hit), cmp_fetched)
						    : NULL;

	if (!hit || hit->taken)
		return false;
	hit->taken = true;
	dl->n_fetched--;
	return true;
}

/* Forget every FETCHed id of @dl (given up). */
static void forget_fetched(struct dlink *dl)
{
	dl->len_fetched = dl->n_fetched = 0;
}

/*
 * Push the session's "have" reports, at most NODE_DISSEM_CATCHUP_PUSH_MAX over the session
 * (the rest is left to the next session), and FETCH its "need" ids.
 */
static void drain_session(struct node_dissem *d, struct dlink *dl, struct proto_recon *r)
{
	static uint8_t ids[PROTO_LINK_IDS_MAX][32];
	struct proto_recon_stats st;
	size_t n;

	for (;;) {
		size_t room;

		proto_recon_get_stats(r, &st);
		if (st.have_ids >= NODE_DISSEM_CATCHUP_PUSH_MAX)
			break;
		room = NODE_DISSEM_CATCHUP_PUSH_MAX - st.have_ids;
		if (room > PROTO_LINK_IDS_MAX)
			room = PROTO_LINK_IDS_MAX;
		if (proto_recon_have(r, ids, room, &n) || !n)
			break;
		for (size_t i = 0; i < n; i++)
			node_dissem_enqueue(d, dl, Q_CATCHUP, ids[i], NULL, 0);
		d->c.catchup_pushed += n;
	}
	for (;;) {
		static bool present[PROTO_LINK_IDS_MAX];
		size_t k = 0;

		proto_recon_need(r, ids, PROTO_LINK_IDS_MAX, &n);
		if (!n)
			break;
		/*
		 * A peer that lies about a report's `created` can make its id look missing
		 * (proto/recon.h): never FETCH what the store already holds.
		 */
		if (store_report_has(d->store, NULL, (const uint8_t(*)[32])ids, n, present) == 0) {
			for (size_t i = 0; i < n; i++)
				if (!present[i])
					memmove(ids[k++], ids[i], 32);
			n = k;
		}
		if (!n)
			continue;
		d->c.fetch_sent++;
		note_fetched(dl, (const uint8_t(*)[32])ids, n);
		dl->fetch_deadline = uv_now(d->loop) + NODE_DISSEM_CATCHUP_WINDOW_MS;
		/* FETCH bytes count as catch-up traffic. */
		d->c.recon_bytes_sent += node_dissem_enqueue_ids(d, dl, PROTO_LINK_FETCH,
								 (const uint8_t(*)[32])ids, n);
	}
}

/*
 * Catch-up sessions run one at a time per node, and the next one starts only once the
 * copies found by the previous one are stored (nothing pending, no FETCH unanswered):
 * a node that comes back with several links would otherwise fetch what it missed once per
 * link.
 */
static bool catching_up(struct node_dissem *d)
{
	uint64_t now = uv_now(d->loop);

	if (d->jobs_running || d->n_pend)
		return true;
	for (size_t i = 0; i < NODE_DISSEM_LINKS_MAX; i++) {
		struct dlink *dl = &d->links[i];
		if (!dl->l)
			continue;
		if (dl->ri || dl->rr)
			return true;
		if (dl->n_fetched && now < dl->fetch_deadline)
			return true;
	}
	return false;
}

/*
 * Whether a session a peer opened waits: while this node stores what another session
 * found, and while the tree lags (proto_gossip_lagging(): reports queued along it are on
 * their way, and answering now would fetch them twice; measured on 16 daemons,
 * docs/PERFORMANCE.md).
 */
static bool answer_waits(struct node_dissem *d)
{
	return catching_up(d) || proto_gossip_lagging(d->g, uv_now(d->loop));
}

void node_catchup_start_wanted(struct node_dissem *d)
{
	if (d->answering) { /* node_catchup_on_recon() starts them once its work is charged */
		d->start_after_answer = true;
		return;
	}
	for (size_t i = 0; i < NODE_DISSEM_LINKS_MAX && !d->stopping; i++) {
		struct dlink *dl = &d->links[i];
		if (!dl->l || !dl->deferred)
			continue;
		if (answer_waits(d))
			return;
		uint8_t *p = dl->deferred;
		dl->deferred = NULL;
		node_catchup_on_recon(d, dl, p, dl->deferred_len);
		free(p);
	}
	for (size_t i = 0; i < NODE_DISSEM_LINKS_MAX && !d->stopping; i++) {
		struct dlink *dl = &d->links[i];
		if (!dl->l)
			continue;
		/* Its last session brought new copies: there may be more (a window's worth). */
		if (dl->catchup_more && !dl->ri && !dl->rr)
			dl->recon_wanted = true;
		if (!dl->recon_wanted)
			continue;
		if (catching_up(d))
			return;
		dl->recon_wanted = false;
		start_recon(d, dl);
	}
}

static void start_recon(struct node_dissem *d, struct dlink *dl)
{
	uint8_t *out = NULL;
	size_t len;
	int rc;

	if (dl->ri && uv_now(d->loop) < dl->catchup_until)
		return; /* a session is still running */
	dl->catchup_more = false;
	proto_recon_free(dl->ri);
	dl->ri = proto_recon_new(&session_cfg, &d->src);
	if (!dl->ri)
		return;
	d->c.sessions++;
	node_catchup_open_window(d, dl);
	rc = proto_recon_initiate(dl->ri, &out, &len);
	if (rc) {
		d->c.failed++;
		log_warning("dissem: catch-up session could not start: %s", proto_error_str(rc));
		proto_recon_free(dl->ri);
		dl->ri = NULL;
		return;
	}
	send_recon(d, dl, out, len);
}

/*
 * Range fingerprints were passes over the store's keys on the loop (since schema 3 they add
 * stored bucket sums, but are still charged as the keys they cover, so the budget below
 * means what it did), and a range the peer claims to hold nothing of makes this node push
 * every report in it: one RECON message of a few bytes costs up to two passes plus a push
 * of the whole store, and sessions that complete are charged only as sessions. So the work
 * is charged too, in passes (one CHARGE_SCAN per max(keys stored,
 * NODE_DISSEM_SCAN_PASS_MIN) keys, carried over between messages on the link): its budget (policy/abuse.h) is eight times what the costliest
 * honest session can cost (rounds_max rounds of two passes), because a join comes in
 * windows of one session each, and each session passes over the whole store again (a
 * joiner storing 20,000 reports a second costs ~250 passes a minute); the floor keeps
 * rounds over a small store (milliseconds each) from ever adding up to an offence.
 */
void node_catchup_charge_work(struct node_dissem *d, struct dlink *dl, uint64_t keys)
{
	struct store_stat st;
	uint64_t pass = NODE_DISSEM_SCAN_PASS_MIN;

	d->c.recon_work += keys;
	if (!dl->l) /* closed meanwhile (a send failed): its slot is cleared */
		return;
	dl->work += keys;
	if (dl->work < pass)
		return;
	if (store_stat(d->store, &st) == 0 && st.recon > pass)
		pass = st.recon;
	while (dl->l && dl->work >= pass) {
		dl->work -= pass;
		if (node_dissem_charge_link(d, dl, CHARGE_SCAN))
			break;
	}
}

static void recon_message(struct node_dissem *d, struct dlink *dl, const uint8_t *p, size_t len);

void node_catchup_on_recon(struct node_dissem *d, struct dlink *dl, const uint8_t *p, size_t len)
{
	uint64_t keys0 = d->keys_read, pushed0 = d->c.catchup_pushed;

	d->answering = true;
	recon_message(d, dl, p, len);
	d->answering = false;
	node_catchup_charge_work(d, dl,
				 d->keys_read - keys0 +
					 (d->c.catchup_pushed - pushed0) * NODE_DISSEM_PUSH_KEYS);
	/* After the charge: the sessions this starts are other links' work, or our own. */
	if (d->start_after_answer) {
		d->start_after_answer = false;
		node_catchup_start_wanted(d);
	}
}

static void recon_message(struct node_dissem *d, struct dlink *dl, const uint8_t *p, size_t len)
{
	int role = proto_recon_msg_role(p, len);
	struct proto_recon **sp;
	uint8_t *out = NULL;
	size_t olen = 0;
	bool fresh;
	int rc;

	d->c.recon_bytes_recv += len + 5;
	if (role < 0) {
		d->c.failed++;
		return;
	}
	sp = role == 0 ? &dl->rr : &dl->ri;
	if (!*sp && role != 0) {
		d->c.failed++;
		return;
	}
	fresh = !*sp;
	if (fresh && role == 0 && dl->ri) {
		/*
		 * Both ends opened a session with each other, and each would answer the other's
		 * only after its own ended (answer_waits()): both stall until they time out, which
		 * a joining node's sessions, one per window, met every recon_interval_s. One of
		 * the two goes, the same one at both ends: the session the member with the
		 * larger id opened.
		 */
		if (memcmp(d->snap->pcfg.own_id, dl->member_id, 32) < 0)
			return; /* ours goes on; the peer drops its own */
		proto_recon_free(dl->ri);
		dl->ri = NULL;
	}
	if (fresh && answer_waits(d)) {
		/*
		 * A session the peer opened while this node is still storing what another
		 * session found, or while the tree lags: answer it afterwards, or it would
		 * fetch the same reports twice. The peer waits (its session times out after
		 * a quiet window).
		 */
		uint8_t *copy = malloc(len);
		if (copy) {
			memcpy(copy, p, len);
			free(dl->deferred);
			dl->deferred = copy;
			dl->deferred_len = len;
		}
		return;
	}
	if (fresh) {
		if (role == 0 && node_dissem_charge_link(d, dl, CHARGE_SESSION))
			return;
		*sp = proto_recon_new(&session_cfg, &d->src);
		if (!*sp)
			return;
		d->c.sessions++;
	}
	node_catchup_open_window(d, dl);
	rc = proto_recon_receive(*sp, p, len, &out, &olen);
	if (rc < 0 && role == 0 && !fresh) {
		/*
		 * The peer gave up the session we were answering and opened a new one (its
		 * first message does not fit the old session): answer the new one.
		 */
		proto_recon_free(*sp);
		*sp = NULL;
		if (node_dissem_charge_link(d, dl, CHARGE_FAILED) ||
		    node_dissem_charge_link(d, dl, CHARGE_SESSION))
			return;
		*sp = proto_recon_new(&session_cfg, &d->src);
		if (!*sp)
			return;
		d->c.sessions++;
		rc = proto_recon_receive(*sp, p, len, &out, &olen);
	}
	drain_session(d, dl, *sp);
	if (rc == 0 || rc == PROTO_RECON_DONE)
		send_recon(d, dl, out, olen);
	if (rc == PROTO_RECON_DONE) {
		d->c.completed++;
		proto_recon_free(*sp);
		*sp = NULL;
		node_catchup_start_wanted(d);
	} else if (rc < 0) {
		d->c.failed++;
		log_info("dissem: catch-up session failed: %s", proto_error_str(rc));
		proto_recon_free(*sp);
		*sp = NULL;
		if (role == 0)
			node_dissem_charge_link(d, dl, CHARGE_FAILED);
	}
}

/*
 * A catch-up copy (a session's "have" item, or the answer to our FETCH): stored, never
 * handed to the engine, so it can neither prune a tree link nor be gossiped on.
 *
 * Asked for or not: a copy in a range this node's session on the link invited the peer to
 * push in (proto_recon_invited(), within the counts the peer gave and the session's window),
 * or one of the ids this node FETCHed from it, is exempt from the per-member rate limit
 * (admission.c): a member that holds a large history must not be refused, and charged, for
 * serving it. Anything else sent as CATCHUP is unsolicited and admitted like gossip, so
 * CATCHUP is no way around a member's limit.
 */
void node_catchup_on_copy(struct node_dissem *d, struct dlink *dl, const uint8_t *p, size_t len)
{
	uint8_t id[32], key[STORE_RECON_KEY_LEN];
	uint64_t created;
	bool asked;

	d->c.pushes_received++; /* payload copies, gossip and catch-up alike */
	dl->received++;
	proto_report_id(p, len, id);
	created = node_dissem_created_of(d, p, len);
	store_recon_key(key, created, id);
	asked = take_fetched(dl, id) || proto_recon_invited(dl->ri, key) ||
		proto_recon_invited(dl->rr, key);
	if (proto_gossip_seen(d->g, id)) {
		d->c.duplicates++;
		return;
	}
	d->c.catchup_received++;
	d->c.catchup_asked += asked;
	dl->catchup_more |= asked;
	dl->catchup_until = uv_now(d->loop) + NODE_DISSEM_CATCHUP_WINDOW_MS;
	node_admission_add_catchup(d, dl, p, len, id, created, asked);
}

void node_catchup_source_init(struct node_dissem *d)
{
	d->src.fingerprint = src_fingerprint;
	d->src.list = src_list;
	d->src.at = src_at;
	d->src.ctx = d;
}

void node_catchup_periodic(struct node_dissem *d, uint64_t now)
{
	node_catchup_prune_hidden(d);
	if (d->cfg.recon_interval_ms && now >= d->next_recon) {
		struct dlink *up[NODE_DISSEM_LINKS_MAX];
		size_t n = 0;

		d->next_recon = now + d->cfg.recon_interval_ms;
		for (size_t i = 0; i < NODE_DISSEM_LINKS_MAX; i++)
			if (d->links[i].l)
				up[n++] = &d->links[i];
		/*
		 * Not while the tree lags (answer_waits()). Sessions at link-up still
		 * start; a lagging peer answers them later.
		 */
		if (n && !proto_gossip_lagging(d->g, now))
			up[xrand(d) % n]->recon_wanted = true;
		else if (n)
			d->c.recon_skipped_lag++;
	}
	/* Sessions stuck for a whole window (a silent peer) are given up, unanswered FETCHes too. */
	for (size_t i = 0; i < NODE_DISSEM_LINKS_MAX; i++) {
		struct dlink *dl = &d->links[i];
		if (dl->l && dl->n_fetched && now >= dl->fetch_deadline)
			forget_fetched(dl);
		if (dl->l && (dl->ri || dl->rr) && now >= dl->catchup_until) {
			d->c.failed++;
			proto_recon_free(dl->ri);
			proto_recon_free(dl->rr);
			dl->ri = dl->rr = NULL;
		}
	}
	node_catchup_start_wanted(d);
}
