/* SPDX-License-Identifier: MIT */
/*
 * node/overlay/link.h — one overlay connection: a TCP stream carrying chatham's Noise session
 * (proto/noise.h) and link messages (proto/link.h). node/overlay/overlay.h owns the links and decides
 * which member a link leads to; this module knows nothing about rosters.
 *
 * Life of a link (enum node_link_state):
 *
 *   PREAUTH     inbound only: accepted, waiting for Noise message 1. Nothing is allocated for
 *               the handshake and nothing is written; only the frame header and up to
 *               PROTO_NOISE_HANDSHAKE_MAX bytes are read. The link sits in env->gate (the
 *               pre-authentication pool, node/overlay/gate.h) so the owner can bound it, and must
 *               present a whole message 1 within preauth_timeout_ms (NODE_LINK_R_PREAUTH).
 *               A message 1 whose tag verifies proves the network key: ops->admit() is then
 *               asked, and the link moves on to HANDSHAKE with our message 2 written.
 *   CONNECTING  outbound only: TCP connect in progress.
 *   HANDSHAKE   Noise_XXpsk0 handshake. Frames are limited to PROTO_NOISE_HANDSHAKE_MAX bytes.
 *               The responder never writes before it has read and authenticated message 1,
 *               so a peer without the network key gets no byte back: its first message
 *               fails (PROTO_E_NOISE_DECRYPT) and the link closes with NODE_LINK_R_NETKEY.
 *   HELLO       handshake done; ops->authenticated() accepted the remote static key; our
 *               HELLO is sent and the peer's HELLO is awaited: its first transport message
 *               must be a HELLO that ops->hello() accepts, anything else closes the link.
 *   UP          ops->up() was called; PING every keepalive_ms (its PONG gives the RTT),
 *               REKEY hourly (proto/noise.h "Rekey"), every other message type goes to
 *               ops->message(). Closed when nothing was received for dead_after_ms.
 *   CLOSING     closed, handles closing; the memory is released after the last close
 *               callback (ops->freed() is then called).
 *
 * Pre-authentication bounds: everything up to UP (connect, handshake, HELLO) must finish
 * within handshake_timeout_ms of the link's creation (NODE_LINK_R_TIMEOUT otherwise), frames
 * announcing more than the current limit close the link at once (NODE_LINK_R_FRAME), and
 * env->handshakes_in counts inbound links in HANDSHAKE (past message 1) so the owner can bound
 * them, as env->gate does the PREAUTH ones.
 *
 * Send queue: with no write in flight a frame gets a buffer of its own and goes to uv_write()
 * at once (libuv writes it synchronously when the socket has room); frames sent while writes
 * are in flight are packed into shared buffers of NODE_LINK_SEND_CHUNK bytes, handed over when
 * the last write completes (in order, one writev-sized write per buffer). The queue is the
 * memory of all those buffers — struct, capacity and NODE_LINK_ALLOC_OVERHEAD each, not just
 * frame bytes. The owner's messages (node_link_send()) may fill it to send_queue_max less
 * NODE_LINK_CONTROL_RESERVE; the rest is kept for the link's own frames (PING, PONG, REKEY),
 * so a slow peer whose queue the owner filled is not closed by the next keepalive. A send
 * that would take the queue over its limit closes the link (NODE_LINK_R_QUEUE) and fails
 * with -ENOBUFS: a peer that does not read, however small the frames it makes this node
 * send (a PING flood's PONGs), holds at most send_queue_max of the node's memory.
 *
 * Read budget: the frames of all links together get at most NODE_LINK_READ_BUDGET_US of
 * decryption and handling per loop iteration (checked before each frame, so one frame more
 * at worst). A link whose turn comes after the budget ran out stops reading (libuv would
 * otherwise read up to 32 buffers from it in one go); the bytes already read and not yet
 * handled are kept in a buffer of the link's own (env->rbuf_len bytes, allocated when it is
 * deferred and freed when it reads again, so only waiting links hold one), and it waits in a
 * queue, oldest first: the owner's next node_link_env_prepare() serves the queue from its
 * head while the new iteration's budget lasts, a link whose bytes are handled reads again,
 * one that runs out of budget goes to the back. So however many links flood the node, they
 * hold the loop for at most the budget and a frame per iteration, none starves, and the
 * other links, timers and the API are served in between; a single link alone reads as
 * fast as before (the budget is what one link's slice was). env->reads_deferred counts the
 * times a link stopped reading or went to the back of the queue, env->reads_waited the loop
 * iterations links spent waiting for their turn without handling a frame (other links had
 * spent the budget), env->read_buffers_held the links holding such a buffer now (only
 * waiting links: 0 once every link reads again).
 *
 * Ownership: links are created by node_link_accept()/node_link_connect() and owned by the
 * environment they were created in (struct node_link_env, owned by the caller and outliving
 * every link; env->links lists them). A link pointer stays valid until ops->freed() for it has
 * returned. Everything runs on the loop thread.
 */
#ifndef CHATHAM_NODE_LINK_H
#define CHATHAM_NODE_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "node/overlay/gate.h"
#include "proto/link.h"
#include "proto/noise.h"

/* Largest frame on the wire: the 2-byte length and a PROTO_NOISE_MAX_MSG message. */
#define NODE_LINK_FRAME_MAX (PROTO_NOISE_FRAME_HDR + PROTO_NOISE_MAX_MSG)
/* Smallest configurable frame limit: a HELLO with room for extensions fits. */
#define NODE_LINK_FRAME_MIN 1024
/*
 * Frames queued behind a write in flight share buffers of this many bytes, struct included:
 * a little under 16 KiB, so that allocators with size classes (ASan's, jemalloc's) do not
 * round each one up by a quarter.
 */
#define NODE_LINK_SEND_CHUNK 16000
/* Allocator overhead counted per buffer (glibc: 8-byte header, 16-byte alignment). */
#define NODE_LINK_ALLOC_OVERHEAD 16
/*
 * Send queue memory the owner's messages leave for the link's control frames ("Send queue"
 * above): one shared buffer, what a PING or PONG needs when the last buffer is full (a
 * large frame gets a buffer of its own size); it holds some 400 of them.
 */
#define NODE_LINK_CONTROL_RESERVE (NODE_LINK_SEND_CHUNK + NODE_LINK_ALLOC_OVERHEAD)
/*
 * Time all links' frames may take per loop iteration together ("Read budget" above): as
 * long as the send slice (NODE_DISSEM_FLUSH_SLICE_US), so a loop iteration serving flooding
 * links and the answers to them stays within a few milliseconds.
 */
#define NODE_LINK_READ_BUDGET_US 2000

enum node_link_state {
	NODE_LINK_CONNECTING = 0,
	NODE_LINK_HANDSHAKE = 1,
	NODE_LINK_HELLO = 2,
	NODE_LINK_UP = 3,
	NODE_LINK_CLOSING = 4,
	NODE_LINK_PREAUTH = 5,
};

/*
 * Why a link closed: X(id, short name for APIs and stats, text for logs). The short names
 * appear in the `peers` output; never renumber or rename them.
 */
#define NODE_LINK_REASONS(X)                                                                      \
	X(NODE_LINK_R_STOP, "stop", "closed locally (shutdown)")                                  \
	X(NODE_LINK_R_EOF, "eof", "peer closed the connection")                                   \
	X(NODE_LINK_R_IO, "io", "socket error")                                                   \
	X(NODE_LINK_R_CONNECT, "connect", "TCP connect failed")                                   \
	X(NODE_LINK_R_BUSY, "busy", "refused: too many handshakes (no longer used)")              \
	X(NODE_LINK_R_TIMEOUT, "timeout",                                                         \
	  "handshake and HELLO not done within handshake_timeout_ms")                             \
	X(NODE_LINK_R_FRAME, "frame", "frame length 0 or over the limit")                         \
	X(NODE_LINK_R_NETKEY, "network_key", "first handshake message failed (no network key)")   \
	X(NODE_LINK_R_HANDSHAKE, "handshake", "invalid handshake message")                        \
	X(NODE_LINK_R_NOT_MEMBER, "not_member", "remote static key is not a roster member's")     \
	X(NODE_LINK_R_SELF, "self", "connected to this node itself")                              \
	X(NODE_LINK_R_UNEXPECTED, "unexpected_peer", "dialled member answered with another key")  \
	X(NODE_LINK_R_DECRYPT, "decrypt", "transport message failed authentication")              \
	X(NODE_LINK_R_PROTOCOL, "protocol", "malformed, unexpected or out-of-order link message") \
	X(NODE_LINK_R_QUEUE, "send_queue", "send queue over send_queue_max_bytes (slow peer)")    \
	X(NODE_LINK_R_DEAD, "dead", "nothing received for dead_after_ms")                         \
	X(NODE_LINK_R_DUPLICATE, "duplicate", "tie-break: the other link to this member is kept") \
	X(NODE_LINK_R_ROSTER, "roster", "member left the roster or changed its transport key")    \
	X(NODE_LINK_R_ABUSE, "abuse",                                                             \
	  "peer exceeded its budget of refused reports or catch-up sessions")                     \
	X(NODE_LINK_R_NOMEM, "nomem", "out of memory")                                            \
	X(NODE_LINK_R_PREAUTH, "preauth_timeout",                                                 \
	  "no valid first handshake message within preauth_timeout_ms")                           \
	X(NODE_LINK_R_EVICTED, "evicted",                                                         \
	  "oldest of a full pre-authentication pool or set of handshake slots")                   \
	X(NODE_LINK_R_VERSION, "version", "no link protocol version in common (proto/link.h)")    \
	X(NODE_LINK_R_BACKOFF, "abuse_backoff",                                                   \
	  "member refused for a while after its link was closed for abuse")

enum node_link_reason {
	NODE_LINK_R_NONE = 0, /* "keep the link" in ops return values; never a close reason */
#define NODE_LINK_REASON_ENUM(id, name, text) id,
	NODE_LINK_REASONS(NODE_LINK_REASON_ENUM)
#undef NODE_LINK_REASON_ENUM
		NODE_LINK_R__COUNT
};

/* Short name ("eof", ...) and log text of @r; static strings, "unknown" when out of range. */
const char *node_link_reason_name(enum node_link_reason r);
const char *node_link_reason_text(enum node_link_reason r);
/* "connecting", "handshake", "hello", "up", "closing", "preauth". */
const char *node_link_state_name(enum node_link_state s);

/* Limits read by every link of an environment at the moment they apply (SIGHUP-safe). */
struct node_link_limits {
	uint64_t preauth_timeout_ms;   /* accept -> valid message 1, >= 1 */
	uint64_t handshake_timeout_ms; /* creation -> UP, >= 1 */
	size_t max_frame;	/* frame bytes incl. the 2-byte length, NODE_LINK_FRAME_MIN..MAX */
	size_t send_queue_max;	/* send queue memory per link, >= 2 * NODE_LINK_FRAME_MAX */
	uint64_t keepalive_ms;	/* PING interval on UP links, >= 1 */
	uint64_t dead_after_ms; /* close an UP link after this long without a byte, >= 1 */
	uint64_t rekey_ms;	/* hourly rekey interval; 0 = PROTO_NOISE_REKEY_MS */
};

struct node_link;

/*
 * Callbacks from a link to its owner. Every callback runs on the loop thread, from inside a
 * libuv callback of the link; the link may be closed from inside any of them
 * (node_link_close() on it or on any other link is safe), but never freed.
 */
struct node_link_ops {
	/*
	 * An inbound link presented a valid message 1 (it holds the network key) and is about
	 * to enter HANDSHAKE and count in env->handshakes_in. Return NODE_LINK_R_NONE to go on
	 * or the reason to close it with. May be NULL.
	 */
	enum node_link_reason (*admit)(struct node_link *l);
	/*
	 * The handshake completed (state is already HELLO); node_link_remote_static() holds the
	 * authenticated peer key. Return NODE_LINK_R_NONE to keep the link (our HELLO is then
	 * sent) or the reason to close it with.
	 */
	enum node_link_reason (*authenticated)(struct node_link *l);
	/* The peer's HELLO (@h borrowed for the call). NONE to go UP, or a close reason. */
	enum node_link_reason (*hello)(struct node_link *l, const struct proto_link_hello *h);
	/* The link is UP (state already UP). */
	void (*up)(struct node_link *l);
	/*
	 * A link message other than HELLO/PING/PONG/REKEY on an UP link. @m's views point into
	 * a buffer shared by the environment: valid during the call only.
	 */
	void (*message)(struct node_link *l, const struct proto_link_msg *m);
	/*
	 * Queued bytes fell to send_queue_max / 2 or below after a send had taken them above it
	 * (flow control for bulk senders). May be NULL.
	 */
	void (*drained)(struct node_link *l);
	/*
	 * The link was closed (state already CLOSING) with @reason; @was is the state it was in.
	 * Called exactly once for every link node_link_accept()/_connect() returned, never for
	 * a link whose creation failed.
	 */
	void (*closed)(struct node_link *l, enum node_link_reason reason, enum node_link_state was);
	/* The link's memory is about to be released (after its handles closed). May be NULL. */
	void (*freed)(struct node_link *l);
};

/*
 * Shared state of the links of one owner. The owner fills the fields marked "owner" before
 * creating links and may change lim, hello.roster_epoch and ops->ctx-like data at any time;
 * the rest belongs to this module. Buffers: rbuf (read buffer, any size >= 4096) and pbuf
 * (plaintext, PROTO_NOISE_MAX_MSG bytes) are used only inside a libuv read callback or
 * node_link_env_prepare(), so all links of an environment share them. The owner calls
 * node_link_env_prepare() once per loop iteration before the poll (from a uv_prepare_t) and
 * lends an initialised idle handle (idle), which this module starts while links wait for
 * their turn to read; the owner closes it after the last link.
 */
struct node_link_env {
	uv_loop_t *loop;		 /* owner */
	const struct node_link_ops *ops; /* owner */
	void *owner;			 /* owner; read back with node_link_owner() */
	struct node_link_limits lim;	 /* owner */
	uint8_t community_id[32];	 /* owner: Noise prologue */
	uint8_t network_key[32];	 /* owner: PSK; the owner wipes it */
	/* owner: the key network_key replaced, still accepted while the wall clock (ms since
	 * the Unix epoch) is before previous_until_ms (0: none); the owner wipes it. Meanwhile
	 * outbound links use it (every member still holds it) and inbound message 1 is tried
	 * under network_key, then under it. */
	uint8_t previous_key[32];
	uint64_t previous_until_ms;
	uint8_t static_sk[32];	       /* owner: our X25519 transport secret; the owner wipes it */
	struct proto_link_hello hello; /* owner: our HELLO (version, member id, roster epoch) */
	uint8_t *rbuf;		       /* owner */
	size_t rbuf_len;	       /* owner */
	uint8_t *pbuf;		       /* owner, PROTO_NOISE_MAX_MSG bytes */
	uv_idle_t *idle;	       /* owner: initialised; started and stopped here */
	/* This module's: */
	struct node_link *links; /* every link not yet freed, newest first */
	size_t n_links;		 /* links not yet freed (closing ones included): open sockets */
	unsigned handshakes_in;	 /* inbound links in HANDSHAKE */
	uint64_t next_id;	 /* last link id handed out */
	struct node_gate gate;	 /* links in PREAUTH; node_gate_deinit() it after the last */

	/* Read budget (this module's): */
	uint64_t iter;	  /* node_link_env_prepare() calls: the loop iteration */
	uint64_t iter_ns; /* time the links' frames took in this iteration */
	struct node_link *deferred, *deferred_tail; /* links waiting to read, oldest first */
	uint64_t reads_deferred;  /* a link stopped reading or was queued again: budget spent */
	uint64_t reads_waited;	  /* iterations links waited in the queue without a frame */
	size_t read_buffers_held; /* links holding a read buffer (rbuf_len bytes) now */
};

/*
 * node_link_env_prepare() - a new loop iteration begins with a new read budget: links
 * waiting for their turn handle the bytes they hold, oldest first, and read again (or go to
 * the back of the queue when the budget runs out again; those not reached keep their place). Call it from the owner's uv_prepare_t callback,
 * on every iteration, before any link of @env exists until after the last is freed.
 */
void node_link_env_prepare(struct node_link_env *env);

/* A snapshot of one link for status output. */
struct node_link_info {
	uint64_t id; /* unique within the environment, from 1 */
	enum node_link_state state;
	bool outbound;
	uint64_t created_ms;	      /* uv_now() when the link was created */
	uint64_t up_ms;		      /* uv_now() when it went UP; 0 before */
	uint64_t bytes_in, bytes_out; /* TCP payload bytes read / written (frames included) */
	uint64_t msgs_in, msgs_out;   /* link messages received / sent (handshake excluded) */
	int64_t rtt_us;		      /* last PING->PONG round trip; -1 before the first PONG */
	size_t queued;		      /* send queue memory (link.h "Send queue") */
	uint64_t peer_epoch;	      /* roster epoch from the peer's HELLO; 0 before */
	uint64_t peer_version;	      /* newest link version in the peer's HELLO; 0 before */
	uint64_t peer_min_version;    /* its oldest one (= peer_version when not sent) */
	uint64_t version;	      /* the version the link uses; 0 before HELLO */
	struct sockaddr_storage peer; /* remote address (AF_UNSPEC when unknown) */
};

/*
 * node_link_accept() - accept one pending connection of @server into a new inbound link in
 * PREAUTH state, the newest entry of env->gate, and read the part of message 1 that is
 * already there: when it is whole and valid, ops->admit() runs and the link is in HANDSHAKE
 * by the time this returns; when it is invalid, the link is already closed (ops->closed()
 * called). Returns 0 and the link in *@out, or a negative errno (-ENOMEM, libuv errors
 * translated). On failure *@out is NULL and no callback is ever called for it (a half-made
 * link is released on its own).
 */
int node_link_accept(struct node_link_env *env, uv_stream_t *server, struct node_link **out);

/*
 * node_link_connect() - start an outbound link to @addr (borrowed; AF_INET or AF_INET6) in
 * CONNECTING state. Returns 0 and the link in *@out, or a negative errno as above. A connect
 * that fails later closes the link with NODE_LINK_R_CONNECT.
 */
int node_link_connect(struct node_link_env *env, const struct sockaddr *addr,
		      struct node_link **out);

/*
 * node_link_close() - close @l with @reason (not NONE): its state becomes CLOSING, pending
 * writes are dropped, ops->closed() is called before this returns. No-op on a closing link.
 */
void node_link_close(struct node_link *l, enum node_link_reason reason);

/*
 * node_link_send() - encrypt one encoded link message (@msg, @len bytes, borrowed) and queue
 * it. Allowed in HELLO (the owner's own HELLO only) and UP.
 * Returns 0; -ENOTCONN in any other state; PROTO_E_TOO_LARGE when @len is 0 or over
 * PROTO_LINK_MAX_BYTES; -ENOBUFS when the queue would exceed send_queue_max less
 * NODE_LINK_CONTROL_RESERVE (the link is then closed with NODE_LINK_R_QUEUE and logged);
 * -ENOMEM or a write error (the link is then closed too).
 */
int node_link_send(struct node_link *l, const uint8_t *msg, size_t len);

/* Accessors. */
enum node_link_state node_link_state(const struct node_link *l);
bool node_link_outbound(const struct node_link *l);
uint64_t node_link_id(const struct node_link *l);
void *node_link_owner(const struct node_link *l);
/* The authenticated remote static key (32 bytes, owned by @l); all zero before HELLO. */
const uint8_t *node_link_remote_static(const struct node_link *l);
/*
 * Send queue memory, and the largest frame (2-byte header, message and tag) a send can queue
 * now without going over send_queue_max less the control reserve (0 when closing): what
 * node_link_send() takes for a message of up to room - 18 bytes.
 */
size_t node_link_queued(const struct node_link *l);
size_t node_link_room(const struct node_link *l);
/* The environment's send_queue_max (bytes). */
size_t node_link_send_queue_max(const struct node_link *l);
void node_link_info(const struct node_link *l, struct node_link_info *info);
/* The next link of the environment's list (env->links is the first); NULL at the end. */
struct node_link *node_link_next(const struct node_link *l);

/*
 * The pre-authentication pool: the oldest PREAUTH link of @env, and of @l's source address
 * (NULL when none / @l is not in PREAUTH); links in PREAUTH from @l's source address.
 */
struct node_link *node_link_preauth_oldest(const struct node_link_env *env);
struct node_link *node_link_preauth_source_oldest(const struct node_link *l);
size_t node_link_preauth_source_count(const struct node_link *l);

/* An integer the owner attaches to a link (the overlay's member index); -1 initially. */
int node_link_tag(const struct node_link *l);
void node_link_set_tag(struct node_link *l, int tag);

#endif
