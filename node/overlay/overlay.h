/* SPDX-License-Identifier: MIT */
/*
 * node/overlay/overlay.h — the link manager of chatham's closed overlay (DESIGN.md §4, §5 "Overlay").
 *
 * An overlay listens on its configured addresses, dials the roster addresses of the members
 * it wants, and keeps at most one authenticated link (node/overlay/link.h) per member.
 *
 * Which members it dials: min(degree, number of dialable members) members chosen at random
 * among the roster members other than this node that list at least one address ("wanted"
 * members). A wanted member without a link is dialled with jittered exponential backoff:
 * after the n-th consecutive failure the next attempt waits a uniformly random time in
 * [d/2, d] with d = min(backoff_max_ms, backoff_min_ms * 2^(n-1)); successive attempts rotate
 * through the member's addresses; a link reaching UP resets the count. A wanted member that
 * failed NODE_OVERLAY_REPLACE_AFTER times in a row is replaced by another dialable member
 * when one is available (dead links are replaced). Inbound links from any roster member are
 * accepted whether or not it is wanted. Host names in roster addresses are resolved with
 * uv_getaddrinfo(); successive attempts take successive results.
 *
 * Name resolution runs in libuv's thread pool (sized by node_pool_init()), which cannot
 * cancel a getaddrinfo() once a thread runs it. So at most NODE_OVERLAY_RESOLVES_MAX
 * resolutions are in flight at once; members waiting to be resolved queue in the order they
 * came up for dialling (a community of 500 members with host names starts 3, not 500). A
 * resolution not answered within resolve_timeout_ms is given up: it stops counting against
 * the cap, so the next member in the queue starts, and its member counts a failed attempt
 * (backoff as for a failed connect). Its thread keeps running getaddrinfo() until the
 * system resolver returns (glibc: its own timeouts and attempts); its answer is then
 * dropped. At most NODE_OVERLAY_RESOLVES_MAX given-up resolutions may still be running: with
 * that many, an overdue one keeps its place until one of them returns, so name resolution
 * never holds more than 2 x NODE_OVERLAY_RESOLVES_MAX threads of libuv's pool.
 *
 * Admission: after the Noise handshake the remote static key must be the transport key of a
 * member of the current roster other than this node (NODE_LINK_R_NOT_MEMBER / _SELF), an
 * outbound link must lead to the member it dialled (NODE_LINK_R_UNEXPECTED), and the member
 * must not be refused for abuse (callbacks.refused, NODE_LINK_R_BACKOFF). The peer's HELLO
 * must carry that member's id.
 *
 * Bounds before authentication, in the spirit of WireGuard's: message 1 of XXpsk0 carries a
 * tag keyed by the network key, so an accepted connection first waits in the
 * pre-authentication pool (node/overlay/link.h PREAUTH) and holds a handshake slot only once it has
 * presented a valid message 1, within preauth_timeout_ms (NODE_LINK_R_PREAUTH otherwise).
 * The pool holds at most max_preauth connections (and at most half of max_fds), at most
 * max_preauth_per_address of them from one source address (IPv4 address, IPv6 /64); at most
 * max_handshakes inbound links are past message 1 and not yet authenticated. When any of
 * these is full, the oldest such connection is closed (NODE_LINK_R_EVICTED) and the new one
 * is kept: an honest member's connection leaves the pool within one round trip, an idle
 * outsider's is the oldest, so flooding evicts the flood. A message 1 already in the socket
 * when the connection is accepted is read at once, and at most half the pool is accepted per
 * loop iteration (the rest wait in the backlog), so every connection's socket is polled at
 * least once before later arrivals can evict it. Nothing is ever written to a connection
 * before its message 1 verified. (TCP_DEFER_ACCEPT was tried and left out: the kernel hands
 * idle connections over in bursts when its wait ends, overflowing the accept queue, and a
 * member's SYN arriving then is dropped and retried a second or three later.) Sockets: when max_fds is set and this overlay's
 * open sockets (links, closing ones included) reach it, new connections wait in the kernel's
 * backlog until a socket is released, so the node never runs out of descriptors because of
 * the overlay; should accept() fail anyway (EMFILE/ENFILE, descriptors used elsewhere), the
 * oldest pooled connections are closed to make room.
 *
 * One link per member pair — the tie-break. When a link to member M completes its handshake
 * while another authenticated link to M exists (states HELLO or UP):
 *   - both links were opened by the same side: the newer link is kept (that side only
 *     dials again after it gave the older link up, so the older one is stale);
 *   - they were opened by different sides (both dialled at once): the link opened by the
 *     member with the smaller member id (Ed25519 identity key, memcmp order) is kept.
 * The other link is closed with NODE_LINK_R_DUPLICATE. Both ends see both handshakes complete
 * and apply the same rule, so they keep the same link without exchanging anything. A link is
 * never refused before its handshake, because the responder learns who the initiator is
 * only from message 3.
 *
 * Roster updates (node_overlay_set_roster(), a strictly higher epoch) close the links of
 * members that left or whose transport key changed (NODE_LINK_R_ROSTER) and refill the wanted
 * set.
 *
 * Interface for dissemination: callbacks for link up, link down and every received link
 * message of a type other than HELLO/PING/PONG/REKEY, and node_overlay_send() to queue an
 * encoded link message on an UP link. Member indices refer to the roster last passed to
 * node_overlay_set_roster(); after a roster change re-read them with node_overlay_link_member().
 *
 * Privacy: log lines at info and above never name a member or an address; the identity of a
 * link's peer appears in node_overlay_peers_json() only with @attribution, and in debug logs.
 *
 * Lifetime: node_overlay_start() returns a running overlay; node_overlay_stop() closes it and
 * it frees itself after the last libuv close callback. Everything runs on the loop thread.
 * The process must ignore SIGPIPE (the daemon does): libuv writes to sockets with write(2),
 * and a peer that closes while a frame is being written would otherwise kill it.
 */
#ifndef CHATHAM_NODE_OVERLAY_H
#define CHATHAM_NODE_OVERLAY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "node/overlay/link.h"
#include "proto/keys.h"
#include "proto/roster.h"

#define NODE_OVERLAY_LISTEN_MAX 16    /* listen addresses */
#define NODE_OVERLAY_REPLACE_AFTER 4  /* consecutive failures before a wanted member is replaced */
#define NODE_OVERLAY_SUMMARY_MS 60000 /* at most one "refused connections" notice per minute */

/* Tunables; the defaults are NODE_OVERLAY_LIMITS_DEFAULT. All reloadable. */
struct node_overlay_limits {
	unsigned degree;		  /* wanted members, 1..1024 (default 6) */
	uint64_t handshake_timeout_ms;	  /* creation -> UP (default 5000) */
	uint64_t preauth_timeout_ms;	  /* accept -> valid message 1 (default 1000) */
	unsigned max_preauth;		  /* connections in the pre-authentication pool (8192) */
	unsigned max_preauth_per_address; /* of them from one source address (default 8) */
	unsigned max_handshakes;	  /* inbound links past message 1, not yet up (64) */
	size_t max_fds;		 /* open overlay sockets, 0 = unbounded (the daemon derives it) */
	size_t max_frame;	 /* frame bytes incl. length (default NODE_LINK_FRAME_MAX) */
	size_t send_queue_max;	 /* unwritten bytes per link (default 4 MiB) */
	uint64_t keepalive_ms;	 /* PING interval (default 15000) */
	uint64_t dead_after_ms;	 /* silence before an UP link is closed (default 60000) */
	uint64_t backoff_min_ms; /* first reconnect delay (default 1000) */
	uint64_t backoff_max_ms; /* cap (default 60000), >= backoff_min_ms */
	uint64_t rekey_ms;	 /* transport rekey interval; 0 = hourly (tests shorten it) */
	uint64_t resolve_timeout_ms; /* a name resolution is given up after (default 10000;
					0 = default; tests shorten it) */
};

#define NODE_OVERLAY_RESOLVES_MAX 3	      /* name resolutions in flight at once */
#define NODE_OVERLAY_RESOLVE_TIMEOUT_MS 10000 /* default resolve_timeout_ms */

#define NODE_OVERLAY_LIMITS_DEFAULT                                                      \
	{                                                                                \
		.degree = 6, .handshake_timeout_ms = 5000, .preauth_timeout_ms = 1000,   \
		.max_preauth = 8192, .max_preauth_per_address = 8, .max_handshakes = 64, \
		.max_frame = NODE_LINK_FRAME_MAX, .send_queue_max = 4u << 20,            \
		.keepalive_ms = 15000, .dead_after_ms = 60000, .backoff_min_ms = 1000,   \
		.backoff_max_ms = 60000, .rekey_ms = 0,                                  \
		.resolve_timeout_ms = NODE_OVERLAY_RESOLVE_TIMEOUT_MS,                   \
	}

struct node_overlay_config {
	const char *const *listen;  /* n_listen "ip:port" / "[ip6]:port", borrowed for the call */
	size_t n_listen;	    /* 0..NODE_OVERLAY_LISTEN_MAX (0: dial only) */
	uint8_t community_id[32];   /* Noise prologue */
	const uint8_t *network_key; /* 32 bytes, borrowed for the call (copied, wiped at free) */
	const struct proto_keys *keys; /* borrowed for the call: id_pk, tx_sk, tx_pk are copied */
	struct node_overlay_limits lim;
};

struct node_overlay;
struct proto_netkey_state;

/*
 * Callbacks to the dissemination layer (all may be NULL). @member is the peer's index in
 * the current roster. A link handle is valid from its up() until its down() returns; every
 * up() is matched by one down(), also at node_overlay_stop(). From inside any callback it is
 * safe to send on, or close, any link.
 */
struct node_overlay_callbacks {
	void (*up)(void *ctx, struct node_link *l, int member);
	void (*down)(void *ctx, struct node_link *l, int member, enum node_link_reason reason);
	/* @m's views are valid during the call only. */
	void (*message)(void *ctx, struct node_link *l, int member, const struct proto_link_msg *m);
	/* The link's queue drained to half its bound after node_overlay_send() filled it past. */
	void (*drained)(void *ctx, struct node_link *l, int member);
	/*
	 * Milliseconds member @id is still refused (0: it is not). Asked right after a link's
	 * handshake identified the member (a refused one is closed with NODE_LINK_R_BACKOFF
	 * before any HELLO is exchanged) and before dialling one (a refused member is not
	 * dialled, nor kept among the wanted ones). May be NULL.
	 */
	uint64_t (*refused)(void *ctx, const uint8_t id[32]);
	void *ctx;
};

/*
 * node_overlay_check_limits() - validate @lim (bounds above; max_frame within
 * NODE_LINK_FRAME_MIN..NODE_LINK_FRAME_MAX; send_queue_max >= 2 * NODE_LINK_FRAME_MAX; every
 * time >= 1 ms; backoff_min_ms <= backoff_max_ms). Returns 0 or -EINVAL.
 */
int node_overlay_check_limits(const struct node_overlay_limits *lim);

/*
 * node_overlay_start() - bind and listen on every address of @cfg and start the overlay
 * with no roster (it dials nobody and admits nobody until node_overlay_set_roster()).
 * @cb is copied. Returns 0 with the overlay in *@out, -EINVAL for bad limits or addresses,
 * -ENOMEM, or the negative errno of a failed bind/listen (-EADDRINUSE, ...). On failure
 * *@out is NULL; handles already opened are closed asynchronously (run the loop).
 */
int node_overlay_start(uv_loop_t *loop, const struct node_overlay_config *cfg,
		       const struct node_overlay_callbacks *cb, struct node_overlay **out);

/*
 * node_overlay_stop() - close the listeners and every link (down() is called for UP links,
 * with NODE_LINK_R_STOP), cancel pending resolutions, wipe the keys. The overlay is freed
 * once every handle's close callback has run; then @done(@arg) is called (may be NULL).
 * Do not use @ov after this returns. NULL @ov calls @done at once.
 */
void node_overlay_stop(struct node_overlay *ov, void (*done)(void *arg), void *arg);

/*
 * node_overlay_set_network_keys() - use the network keys of @k (borrowed; copied) from now
 * on: @k->key for new links and, while @k->has_previous and the wall clock is before
 * @k->previous_until_ms, the previous key too (outbound links use it, inbound message 1 is
 * accepted under either; node/overlay/link.h). Links already up are not touched: their
 * sessions no longer depend on the key. The keys replaced are wiped.
 */
void node_overlay_set_network_keys(struct node_overlay *ov, const struct proto_netkey_state *k);

/*
 * node_overlay_set_roster() - switch to @roster (borrowed: it must stay valid and unchanged
 * until the next successful call or node_overlay_stop()). Returns 0, PROTO_E_ROSTER_EPOCH
 * when its epoch is not higher than the current one (nothing changes), -ENOMEM. Links of
 * members that left are closed before this returns. When this node is not in @roster (or
 * its transport key differs) a warning is logged: peers will refuse it.
 */
int node_overlay_set_roster(struct node_overlay *ov, const struct proto_roster *roster);

/* node_overlay_set_limits() - apply new limits (SIGHUP). Returns 0 or -EINVAL. */
int node_overlay_set_limits(struct node_overlay *ov, const struct node_overlay_limits *lim);

/*
 * node_overlay_send() - queue @msg (@len bytes, an encoded link message, borrowed) on the UP
 * link @l. Returns 0; -ENOTCONN when @l is not UP; PROTO_E_TOO_LARGE; -ENOBUFS when the
 * link's send queue is full — the link is then closed (slow peer) and down() follows;
 * -ENOMEM.
 */
int node_overlay_send(struct node_link *l, const uint8_t *msg, size_t len);

/*
 * Demand: direct traffic (the AMBER/RED outbox, notices) waiting for a member this overlay
 * does not want among its degree. A demanded member that is dialable is dialled like a
 * wanted one (same backoff) for as long as any source demands it, so direct delivery does
 * not depend on the random choice of links. Each source re-asserts its whole set: it clears
 * its bit (node_overlay_demand_clear()) and sets it again for every member it still waits
 * for (node_overlay_demand(), by member id; unknown ids are ignored).
 */
#define NODE_OVERLAY_DEMAND_OUTBOX 1u
#define NODE_OVERLAY_DEMAND_NOTICES 2u
void node_overlay_demand_clear(struct node_overlay *ov, unsigned source);
void node_overlay_demand(struct node_overlay *ov, const uint8_t id[32], unsigned source);

/* node_overlay_link_member() - member index of an authenticated link, or -1. */
int node_overlay_link_member(const struct node_link *l);

/* node_overlay_link_for_member() - the UP link to member @member, or NULL. */
struct node_link *node_overlay_link_for_member(const struct node_overlay *ov, int member);

/*
 * node_overlay_for_each_up() - call @fn(@arg, link, member) for every UP link. @fn may send
 * but must not close links.
 */
void node_overlay_for_each_up(struct node_overlay *ov,
			      void (*fn)(void *arg, struct node_link *l, int member), void *arg);

/* node_overlay_listen_port() - the bound port of listener @i (useful with port 0), or 0. */
uint16_t node_overlay_listen_port(const struct node_overlay *ov, size_t i);

struct node_overlay_stats {
	uint64_t epoch;		/* current roster epoch, 0 = none */
	int self;		/* this node's index in the roster, -1 */
	size_t members;		/* roster members */
	size_t wanted;		/* wanted members */
	size_t wanted_up;	/* wanted members with an UP link */
	size_t links_up;	/* UP links (any direction) */
	size_t links_pending;	/* links not yet UP (connecting, handshake, hello) */
	size_t preauth;		/* inbound connections waiting for message 1 */
	unsigned handshakes_in; /* inbound handshakes in progress (past message 1) */
	uint64_t accepted;	/* inbound connections accepted */
	uint64_t deferred;	/* times accepting waited (sockets at max_fds, or half the
				   pool accepted in one loop iteration) */
	uint64_t accept_errors; /* accept() failures (EMFILE, ENFILE, ...) */
	uint64_t dials;		/* outbound connection attempts */
	uint64_t closed[NODE_LINK_R__COUNT]; /* links closed, by reason */

	/* Read budget (link.h "Read budget"): times a link's reading waited for a later loop
	 * iteration; loop iterations links waited without handling a frame (others spent it) */
	uint64_t reads_deferred;
	uint64_t reads_waited;
	size_t read_buffers_held; /* links holding a read buffer now (waiting for their turn) */

	/* Name resolution (NODE_OVERLAY_RESOLVES_MAX in flight) */
	unsigned resolving;	     /* in flight, not given up */
	unsigned resolve_waiting;    /* members queued for one */
	unsigned resolves_abandoned; /* given up, still running in libuv's pool */
	uint64_t resolves_started;   /* uv_getaddrinfo() calls */
	uint64_t resolves_given_up;  /* not answered within resolve_timeout_ms */
};

void node_overlay_stats(const struct node_overlay *ov, struct node_overlay_stats *st);

/*
 * node_overlay_peers_json() - the `peers` API result: {"peers": [link, ...], "summary":
 * {...}, "closed": {reason: count}}. Each link: id, state, direction, uptime_s, bytes_in, bytes_out,
 * msgs_in, msgs_out, rtt_ms (null before the first PONG), queued. Only with @attribution
 * ([policy] show_attribution): each link's "member" {"name", "id"} and "address", and a
 * "members" list of the wanted members with their retry state. Returns a new reference or
 * NULL when out of memory.
 */
json_t *node_overlay_peers_json(const struct node_overlay *ov, bool attribution);

#endif
