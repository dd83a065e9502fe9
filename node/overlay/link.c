/* SPDX-License-Identifier: MIT */
/*
 * node/overlay/link.c — one overlay connection (see link.h for the states and the contract).
 *
 * Memory: a link embeds its two handles (the TCP stream and one timer) and counts them; it
 * is released when the second close callback has run, which libuv guarantees comes after
 * the connect and write callbacks of the stream (those are called with UV_ECANCELED while
 * the stream is being destroyed). Write requests are separate allocations, each freed in its
 * own callback, so a frame's bytes stay valid until the kernel has them.
 *
 * The link's protocol decisions (the first transport message must be the HELLO, PING/PONG,
 * REKEY, the handshake deadline, keepalive and dead-link rules) are proto/linkstate's, a
 * machine without I/O that this file feeds with messages and the clock and whose actions it
 * carries out (send, close, deliver); this file keeps the socket, the frames, the Noise
 * session's encryption and the pre-authentication stage.
 *
 * The single timer carries whatever deadline matters in the current state: message 1's
 * deadline (creation + preauth_timeout_ms) in PREAUTH, then proto_linkstate_deadline(): the
 * handshake deadline (creation + handshake_timeout_ms) until UP, then the earlier of the next
 * PING and the dead-link deadline.
 *
 * PREAUTH costs an idle connection one socket, this struct and a timer: message 1 is read
 * into l->m1 (the read callback is given exactly the bytes still missing, so nothing behind
 * it is consumed), and the Noise session and the 64 KiB framer are allocated only once a
 * whole message 1 is there.
 *
 * Error handling follows the Noise rule that a session never skips a bad message: any
 * framing, handshake, decryption or decoding error closes the link at once, before anything
 * else is read from the stream.
 */
#include "node/overlay/link.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/linkstate.h"

struct node_link {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_connect_t connect;
	struct node_link_env *env;
	struct node_link *prev, *next; /* env->links */
	unsigned handles;	       /* initialised handles whose close callback has not run */
	enum node_link_state state;
	bool outbound;
	bool announced;	 /* returned to the owner: ops->closed() is owed */
	bool counted;	 /* counted in env->handshakes_in */
	bool want_drain; /* queue went above half the bound: call ops->drained() below it */
	bool grace;	 /* PREAUTH deadline passed once; closes at the next expiry */
	unsigned hs_reads;
	size_t m1_have;
	uint8_t m1[PROTO_NOISE_FRAME_HDR + PROTO_NOISE_HANDSHAKE_MAX]; /* PREAUTH: message 1 */
	struct node_gate_entry gate;
	uint64_t id;
	int tag;
	struct proto_noise *noise;
	struct proto_noise_framer *framer;
	uint8_t remote_static[32];
	struct proto_linkstate ls; /* the protocol state: timestamps, PING, the peer's HELLO */
	uint64_t ping_sent_ns;
	int64_t rtt_us;
	uint64_t bytes_in, bytes_out, msgs_in, msgs_out;
	size_t queued;			    /* memory of all write buffers (wreq_cost) */
	unsigned inflight;		    /* buffers handed to uv_write(), callback not yet run */
	struct wreq *pend_head, *pend_tail; /* buffers not yet handed over, oldest first */
	struct sockaddr_storage peer;

	/* Read budget (link.h "Read budget"): */
	uint64_t handled_iter; /* env->iter in which it last handled a frame */
	uint64_t defer_iter;   /* env->iter in which it was queued on env->deferred */
	bool deferred;	       /* reading stopped; queued on env->deferred for its turn */
	struct node_link *defer_prev, *defer_next;
	uint8_t *held;		   /* read, not yet processed: env->rbuf_len bytes while the link
				    * waits for its turn (freed when it reads again) */
	size_t held_off, held_len; /* the bytes still to process: held[held_off, held_len) */
};

/* A write buffer: one or more whole frames, pending (l->pend_*) or handed to uv_write(). */
struct wreq {
	uv_write_t req;
	struct node_link *link;
	struct wreq *next; /* pending list */
	size_t len, cap;   /* frame bytes held, room */
	uint8_t data[];
};

static const char *const reason_names[NODE_LINK_R__COUNT] = {
	[NODE_LINK_R_NONE] = "none",
#define NODE_LINK_REASON_NAME(id, name, text) [id] = name,
	NODE_LINK_REASONS(NODE_LINK_REASON_NAME)
#undef NODE_LINK_REASON_NAME
};

static const char *const reason_texts[NODE_LINK_R__COUNT] = {
	[NODE_LINK_R_NONE] = "no reason",
#define NODE_LINK_REASON_TEXT(id, name, text) [id] = text,
	NODE_LINK_REASONS(NODE_LINK_REASON_TEXT)
#undef NODE_LINK_REASON_TEXT
};

const char *node_link_reason_name(enum node_link_reason r)
{
	return (unsigned)r < NODE_LINK_R__COUNT ? reason_names[r] : "unknown";
}

const char *node_link_reason_text(enum node_link_reason r)
{
	return (unsigned)r < NODE_LINK_R__COUNT ? reason_texts[r] : "unknown";
}

const char *node_link_state_name(enum node_link_state s)
{
	switch (s) {
	case NODE_LINK_CONNECTING:
		return "connecting";
	case NODE_LINK_HANDSHAKE:
		return "handshake";
	case NODE_LINK_HELLO:
		return "hello";
	case NODE_LINK_UP:
		return "up";
	case NODE_LINK_CLOSING:
		return "closing";
	case NODE_LINK_PREAUTH:
		return "preauth";
	}
	return "unknown";
}

static uint64_t now_ms(const struct node_link *l)
{
	return uv_now(l->env->loop);
}

/* Free @l's read buffer, if it holds one. */
static void held_free(struct node_link *l)
{
	if (!l->held)
		return;
	free(l->held);
	l->held = NULL;
	l->env->read_buffers_held--;
}

static void release(struct node_link *l)
{
	struct node_link_env *env = l->env;

	if (l->prev)
		l->prev->next = l->next;
	else
		env->links = l->next;
	if (l->next)
		l->next->prev = l->prev;
	env->n_links--;
	proto_noise_free(l->noise);
	proto_noise_framer_free(l->framer);
	held_free(l);
	l->noise = NULL;
	l->framer = NULL;
	if (env->ops->freed)
		env->ops->freed(l); /* may release env: do not touch it afterwards */
	free(l);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct node_link *l = h->data;

	if (--l->handles == 0)
		release(l);
}

/* Memory one write buffer of @cap frame bytes costs: the struct, the bytes, malloc's header. */
static size_t wreq_cost(size_t cap)
{
	return sizeof(struct wreq) + cap + NODE_LINK_ALLOC_OVERHEAD;
}

static void free_pending(struct node_link *l)
{
	struct wreq *w, *next;

	for (w = l->pend_head; w; w = next) {
		next = w->next;
		l->queued -= wreq_cost(w->cap);
		free(w);
	}
	l->pend_head = l->pend_tail = NULL;
}

/* Take @l off env->deferred, keeping what it holds; it must be listed. */
static void defer_unlist(struct node_link *l)
{
	struct node_link_env *env = l->env;

	if (l->defer_prev)
		l->defer_prev->defer_next = l->defer_next;
	else
		env->deferred = l->defer_next;
	if (l->defer_next)
		l->defer_next->defer_prev = l->defer_prev;
	else
		env->deferred_tail = l->defer_prev;
	l->defer_prev = l->defer_next = NULL;
	l->deferred = false;
}

/* Take @l off env->deferred (no-op when it is not there); its reading is not restarted. */
static void undefer(struct node_link *l)
{
	if (!l->deferred)
		return;
	defer_unlist(l);
	l->held_off = l->held_len = 0;
}

/* Close the handles; the owner hears about it only when @notify (the link was announced). */
static void shut(struct node_link *l, enum node_link_reason reason, bool notify)
{
	enum node_link_state was = l->state;

	if (was == NODE_LINK_CLOSING)
		return;
	l->state = NODE_LINK_CLOSING;
	node_gate_remove(&l->env->gate, &l->gate);
	undefer(l);
	free_pending(l);
	if (l->counted) {
		l->env->handshakes_in--;
		l->counted = false;
	}
	if (l->handles >= 1)
		uv_close((uv_handle_t *)&l->tcp, on_handle_closed);
	if (l->handles >= 2)
		uv_close((uv_handle_t *)&l->timer, on_handle_closed);
	if (notify && l->announced)
		l->env->ops->closed(l, reason, was);
}

void node_link_close(struct node_link *l, enum node_link_reason reason)
{
	if (l)
		shut(l, reason, true);
}

static void on_written(uv_write_t *req, int status);

/* Hand every pending buffer to libuv, in order. Returns 0, or negative with the link closed. */
static int flush(struct node_link *l)
{
	struct wreq *w;
	uv_buf_t b;
	int rc;

	while ((w = l->pend_head)) {
		b = uv_buf_init((char *)w->data, (unsigned)w->len);
		rc = uv_write(&w->req, (uv_stream_t *)&l->tcp, &b, 1, on_written);
		if (rc < 0) {
			node_link_close(l, NODE_LINK_R_IO); /* frees the pending buffers */
			return rc;
		}
		l->pend_head = w->next;
		if (!l->pend_head)
			l->pend_tail = NULL;
		l->inflight++;
	}
	return 0;
}

static void on_written(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct node_link *l = w->link;

	l->inflight--;
	l->queued -= wreq_cost(w->cap);
	if (status == 0)
		l->bytes_out += w->len;
	free(w);
	if (status < 0) {
		if (status != UV_ECANCELED)
			node_link_close(l, NODE_LINK_R_IO);
		return;
	}
	if (l->state == NODE_LINK_CLOSING)
		return;
	if (!l->inflight && flush(l) < 0)
		return;
	if (l->want_drain && l->state == NODE_LINK_UP &&
	    l->queued <= l->env->lim.send_queue_max / 2) {
		l->want_drain = false;
		if (l->env->ops->drained)
			l->env->ops->drained(l);
	}
}

/*
 * The queue memory a frame may bring the send queue to: the whole bound for the link's own
 * frames (handshake, HELLO, PING, PONG, REKEY), the bound less the control reserve for the
 * owner's (link.h "Send queue").
 */
static size_t queue_limit(const struct node_link *l, bool control)
{
	size_t max = l->env->lim.send_queue_max;

	return control ? max : max - NODE_LINK_CONTROL_RESERVE;
}

/*
 * Room for a frame of @n bytes (header included) at the end of the send queue: the caller
 * writes the frame there and calls frame_commit(). With nothing queued the frame gets a
 * buffer of its own size and is written at once; while writes are in flight frames are
 * appended to pending buffers of NODE_LINK_SEND_CHUNK bytes, written when the last write
 * completes. The queue's bound counts those buffers' whole cost, so a peer that does not
 * read holds at most send_queue_max bytes of this node's memory however small its frames.
 * An owner's frame (!@control) goes into the last buffer only while the queue is within its
 * limit: a buffer taken from the control reserve stays the control frames'.
 * Returns the room, or NULL with the link closed (*@rc: -ENOBUFS over the bound, -ENOMEM).
 */
static uint8_t *frame_room(struct node_link *l, size_t n, bool control, int *rc)
{
	struct wreq *t = l->pend_tail, *w;
	size_t cap, limit = queue_limit(l, control);

	if (t && t->cap - t->len >= n && l->queued <= limit)
		return t->data + t->len;
	cap = n;
	if ((l->inflight || t) && n < NODE_LINK_SEND_CHUNK - sizeof(*w))
		cap = NODE_LINK_SEND_CHUNK - sizeof(*w);
	if (l->queued + wreq_cost(cap) > limit) {
		node_link_close(l, NODE_LINK_R_QUEUE);
		*rc = -ENOBUFS;
		return NULL;
	}
	w = malloc(sizeof(*w) + cap);
	if (!w) {
		node_link_close(l, NODE_LINK_R_NOMEM);
		*rc = -ENOMEM;
		return NULL;
	}
	w->link = l;
	w->next = NULL;
	w->len = 0;
	w->cap = cap;
	if (t)
		t->next = w;
	else
		l->pend_head = w;
	l->pend_tail = w;
	l->queued += wreq_cost(cap);
	if (l->queued > l->env->lim.send_queue_max / 2)
		l->want_drain = true;
	return w->data;
}

/* The frame of @n bytes at frame_room() is complete. Returns 0, or negative (link closed). */
static int frame_commit(struct node_link *l, size_t n)
{
	proto_noise_frame_header(l->pend_tail->data + l->pend_tail->len, n - PROTO_NOISE_FRAME_HDR);
	l->pend_tail->len += n;
	return l->inflight ? 0 : flush(l);
}

/* node_link_send(), for the owner's messages or (@control) the link's own. */
static int link_send(struct node_link *l, const uint8_t *msg, size_t len, bool control)
{
	size_t n = PROTO_NOISE_FRAME_HDR + len + PROTO_NOISE_TAG_LEN, ct_len;
	uint8_t *room;
	int rc = 0;

	if (l->state != NODE_LINK_UP && l->state != NODE_LINK_HELLO)
		return -ENOTCONN;
	if (len == 0 || len > PROTO_LINK_MAX_BYTES)
		return PROTO_E_TOO_LARGE;
	/*
	 * The bound is checked before encrypting: once a message has consumed a nonce it must
	 * reach the peer or the stream is out of step, so a refused send also ends the link.
	 */
	room = frame_room(l, n, control, &rc);
	if (!room)
		return rc;
	rc = proto_noise_encrypt(l->noise, msg, len, room + PROTO_NOISE_FRAME_HDR,
				 len + PROTO_NOISE_TAG_LEN, &ct_len);
	if (rc < 0) {
		node_link_close(l, NODE_LINK_R_PROTOCOL);
		return rc;
	}
	rc = frame_commit(l, n);
	if (rc == 0)
		l->msgs_out++;
	return rc;
}

int node_link_send(struct node_link *l, const uint8_t *msg, size_t len)
{
	return link_send(l, msg, len, false);
}

/* Send an encoded link message we built ourselves (@enc malloc'd, freed here). */
static int send_owned(struct node_link *l, uint8_t *enc, size_t len, int enc_rc)
{
	int rc;

	if (enc_rc < 0) {
		node_link_close(l, NODE_LINK_R_NOMEM);
		return enc_rc;
	}
	rc = link_send(l, enc, len, true);
	free(enc);
	return rc;
}

/* Write our next handshake message. Returns 0, or negative with the link closed. */
static int handshake_write(struct node_link *l)
{
	uint8_t msg[PROTO_NOISE_HANDSHAKE_MAX], *room;
	size_t len;
	int rc = 0;

	rc = proto_noise_write_message(l->noise, msg, sizeof(msg), &len);
	if (rc < 0) {
		node_link_close(l, NODE_LINK_R_HANDSHAKE);
		return rc;
	}
	room = frame_room(l, PROTO_NOISE_FRAME_HDR + len, true, &rc);
	if (!room)
		return rc;
	memcpy(room + PROTO_NOISE_FRAME_HDR, msg, len);
	return frame_commit(l, PROTO_NOISE_FRAME_HDR + len);
}

static void on_timer(uv_timer_t *t);

static void arm_timer(struct node_link *l, uint64_t ms)
{
	uv_timer_start(&l->timer, on_timer, ms ? ms : 1, 0);
}

static enum node_link_reason close_reason(enum proto_linkstate_close c)
{
	switch (c) {
	case PROTO_LINKSTATE_VERSION:
		return NODE_LINK_R_VERSION;
	case PROTO_LINKSTATE_TIMEOUT:
		return NODE_LINK_R_TIMEOUT;
	case PROTO_LINKSTATE_DEAD:
		return NODE_LINK_R_DEAD;
	case PROTO_LINKSTATE_OPEN:
	case PROTO_LINKSTATE_PROTOCOL:
		break;
	}
	return NODE_LINK_R_PROTOCOL;
}

/*
 * Carry out the sends and the close of @a (proto/linkstate.h), in order. A REKEY switches our
 * sending cipher right after it is encrypted. Returns 0, or negative with the link closed.
 */
static int act(struct node_link *l, const struct proto_linkstate_act *a)
{
	uint8_t *enc;
	size_t len;
	int rc;

	for (unsigned i = 0; i < a->n_send; i++) {
		const struct proto_linkstate_send *m = &a->send[i];

		enc = NULL;
		len = 0;
		rc = m->type == PROTO_LINK_REKEY
			     ? proto_link_encode_bare(m->type, &enc, &len)
			     : proto_link_encode_nonce(m->type, m->nonce, &enc, &len);
		if ((rc = send_owned(l, enc, len, rc)) < 0)
			return rc;
		if (m->type == PROTO_LINK_PING)
			l->ping_sent_ns = uv_hrtime();
		if (m->rekey_after && (rc = proto_noise_rekey_send(l->noise, now_ms(l))) < 0) {
			node_link_close(l, NODE_LINK_R_PROTOCOL);
			return rc;
		}
	}
	if (a->pong)
		l->rtt_us = (int64_t)((uv_hrtime() - l->ping_sent_ns) / 1000);
	if (a->close != PROTO_LINKSTATE_OPEN) {
		node_link_close(l, close_reason(a->close));
		return -ECONNABORTED;
	}
	return 0;
}

static uint64_t random_nonce(void)
{
	uint64_t nonce;

	proto_random(&nonce, sizeof(nonce));
	return nonce;
}

/* Arm the timer for the state machine's next deadline. */
static void arm_deadline(struct node_link *l)
{
	uint64_t now = now_ms(l), at = proto_linkstate_deadline(&l->ls);

	arm_timer(l, at > now ? at - now : 1);
}

static void on_timer(uv_timer_t *t)
{
	struct node_link *l = t->data;
	struct proto_linkstate_act a;

	if (l->state == NODE_LINK_CLOSING)
		return;
	if (l->state == NODE_LINK_PREAUTH) {
		/*
		 * libuv runs timers before it polls: after a stall of the loop the deadline would
		 * fire before a message 1 already waiting in the socket is read. One more poll
		 * first.
		 */
		if (l->grace) {
			node_link_close(l, NODE_LINK_R_PREAUTH);
			return;
		}
		l->grace = true;
		arm_timer(l, 1);
		return;
	}
	proto_linkstate_tick(&l->ls, now_ms(l), random_nonce(), &a);
	if (act(l, &a) < 0)
		return;
	arm_deadline(l);
}

static void handshake_done(struct node_link *l)
{
	const struct node_link_limits *lim = &l->env->lim;
	struct proto_link_hello hello = l->env->hello;
	enum node_link_reason r;
	uint8_t *enc = NULL;
	size_t len = 0;
	int rc;

	if (l->counted) {
		l->env->handshakes_in--;
		l->counted = false;
	}
	proto_noise_remote_static(l->noise, l->remote_static);
	proto_noise_framer_set_max(l->framer, lim->max_frame - PROTO_NOISE_FRAME_HDR);
	if (lim->rekey_ms)
		proto_noise_set_rekey_interval(l->noise, PROTO_NOISE_REKEY_MESSAGES, lim->rekey_ms);
	proto_linkstate_transport(&l->ls, l->noise);
	l->state = NODE_LINK_HELLO;
	r = l->env->ops->authenticated(l);
	if (r != NODE_LINK_R_NONE) {
		node_link_close(l, r);
		return;
	}
	if (l->state != NODE_LINK_HELLO)
		return;
	rc = proto_link_encode_hello(&hello, &enc, &len);
	send_owned(l, enc, len, rc);
}

/* Read one handshake message. Returns 0, or negative with the link closed. */
static int handshake_read(struct node_link *l, const uint8_t *msg, size_t len)
{
	int rc = proto_noise_read_message(l->noise, msg, len);

	l->hs_reads++;
	if (rc < 0) {
		/*
		 * The responder's first read is the only place where a missing network key
		 * shows: message 1's tag is keyed by the PSK. Close without writing anything.
		 */
		bool netkey = !l->outbound && l->hs_reads == 1 && rc == PROTO_E_NOISE_DECRYPT;

		node_link_close(l, netkey ? NODE_LINK_R_NETKEY : NODE_LINK_R_HANDSHAKE);
	}
	return rc;
}

static void handle_handshake(struct node_link *l, const uint8_t *msg, size_t len)
{
	if (handshake_read(l, msg, len) < 0)
		return;
	if (proto_noise_status(l->noise) == PROTO_NOISE_WRITE && handshake_write(l) < 0)
		return;
	if (proto_noise_status(l->noise) == PROTO_NOISE_TRANSPORT)
		handshake_done(l);
}

/* The key replaced by a rotation while it is still accepted, else NULL. */
static const uint8_t *previous_key(const struct node_link_env *env)
{
	struct timespec ts;

	if (!env->previous_until_ms)
		return NULL;
	clock_gettime(CLOCK_REALTIME, &ts);
	if ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 >= env->previous_until_ms)
		return NULL;
	return env->previous_key;
}

/* A Noise session under @psk (replacing any), for this link's role. */
static int noise_new(struct node_link *l, const uint8_t *psk)
{
	struct node_link_env *env = l->env;
	uint8_t eph[32];

	proto_noise_free(l->noise);
	proto_random(eph, sizeof(eph));
	l->noise = proto_noise_new(l->outbound ? PROTO_NOISE_INITIATOR : PROTO_NOISE_RESPONDER,
				   env->community_id, psk, env->static_sk, eph);
	proto_wipe(eph, sizeof(eph));
	return l->noise ? 0 : -ENOMEM;
}

/*
 * Noise session and framer: at creation for outbound links, after message 1 for inbound.
 * While a replaced network key is still accepted, outbound links use it: every member holds
 * it, also one whose node has not adopted the rotating roster yet.
 */
static int session_new(struct node_link *l)
{
	const uint8_t *prev = l->outbound ? previous_key(l->env) : NULL;

	l->framer = proto_noise_framer_new(PROTO_NOISE_HANDSHAKE_MAX);
	if (noise_new(l, prev ? prev : l->env->network_key) < 0)
		return -ENOMEM;
	return l->framer ? 0 : -ENOMEM;
}

/*
 * A whole message 1 is in l->m1. Its tag verifies only under the network key, so from here
 * on the connection has proved it belongs to the community and may hold a handshake slot.
 */
static void preauth_done(struct node_link *l, size_t len)
{
	struct node_link_env *env = l->env;
	enum node_link_reason r;

	const uint8_t *prev = previous_key(env);

	node_gate_remove(&env->gate, &l->gate);
	if (session_new(l) < 0) {
		node_link_close(l, NODE_LINK_R_NOMEM);
		return;
	}
	/*
	 * During a rotation's overlap message 1 may be under either key: the network key
	 * first, then, on a failed tag only, a fresh session under the previous one. Message 1
	 * carries no DH, so a second try costs one AEAD check.
	 */
	if (prev && proto_noise_read_message(l->noise, l->m1 + PROTO_NOISE_FRAME_HDR, len) == 0) {
		l->hs_reads++;
	} else {
		if (prev && noise_new(l, prev) < 0) {
			node_link_close(l, NODE_LINK_R_NOMEM);
			return;
		}
		if (handshake_read(l, l->m1 + PROTO_NOISE_FRAME_HDR, len) < 0)
			return;
	}
	r = env->ops->admit ? env->ops->admit(l) : NODE_LINK_R_NONE;
	if (r != NODE_LINK_R_NONE) {
		node_link_close(l, r);
		return;
	}
	if (l->state != NODE_LINK_PREAUTH)
		return;
	l->state = NODE_LINK_HANDSHAKE;
	env->handshakes_in++;
	l->counted = true;
	arm_deadline(l);    /* the handshake's */
	handshake_write(l); /* message 2 */
}

/* PREAUTH: @n more bytes arrived in l->m1 (on_alloc asked for no more than missing). */
static void handle_preauth(struct node_link *l, size_t n)
{
	size_t len;

	l->m1_have += n;
	if (l->m1_have < PROTO_NOISE_FRAME_HDR)
		return;
	len = (size_t)l->m1[0] << 8 | l->m1[1];
	if (len == 0 || len > PROTO_NOISE_HANDSHAKE_MAX) {
		node_link_close(l, NODE_LINK_R_FRAME);
		return;
	}
	if (l->m1_have == PROTO_NOISE_FRAME_HDR + len)
		preauth_done(l, len);
}

static void go_up(struct node_link *l)
{
	struct proto_linkstate_act a;

	l->state = NODE_LINK_UP;
	proto_linkstate_up(&l->ls, now_ms(l), random_nonce(), &a); /* starts rekey clock, PING */
	if (act(l, &a) < 0)
		return;
	arm_deadline(l);
	l->env->ops->up(l);
}

static void handle_transport(struct node_link *l, const uint8_t *msg, size_t len)
{
	struct node_link_env *env = l->env;
	struct proto_linkstate_act a;
	struct proto_link_msg m;
	enum node_link_reason r;
	size_t plen;

	if (proto_noise_decrypt(l->noise, msg, len, env->pbuf, PROTO_NOISE_MAX_MSG, &plen) < 0) {
		node_link_close(l, NODE_LINK_R_DECRYPT);
		return;
	}
	if (proto_link_decode(&m, env->pbuf, plen) < 0) {
		node_link_close(l, NODE_LINK_R_PROTOCOL);
		return;
	}
	l->msgs_in++;
	proto_linkstate_message(&l->ls, &m, &env->hello, now_ms(l), &a);
	if (act(l, &a) < 0)
		return;
	if (a.deliver) {
		env->ops->message(l, &m);
		return;
	}
	if (!a.hello)
		return;
	r = env->ops->hello(l, &m.u.hello);
	if (r != NODE_LINK_R_NONE) {
		node_link_close(l, r);
		return;
	}
	if (l->state == NODE_LINK_HELLO)
		go_up(l);
}

/* PREAUTH: bytes of message 1 still missing: the header first, then the message it announces. */
static size_t preauth_missing(const struct node_link *l)
{
	size_t want = l->m1_have < PROTO_NOISE_FRAME_HDR
			      ? PROTO_NOISE_FRAME_HDR
			      : PROTO_NOISE_FRAME_HDR + ((size_t)l->m1[0] << 8 | l->m1[1]);

	return want - l->m1_have;
}

/* Links left deferred keep this handle active, so the loop polls without waiting. */
static void on_idle(uv_idle_t *h)
{
	(void)h;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct node_link *l = h->data;

	if (l->state != NODE_LINK_PREAUTH) {
		*buf = uv_buf_init((char *)l->env->rbuf, (unsigned)l->env->rbuf_len);
		return;
	}
	*buf = uv_buf_init((char *)l->m1 + l->m1_have, (unsigned)preauth_missing(l));
}

/*
 * Read what is already in the socket of a link just accepted. A member writes message 1
 * right after connecting, so it is usually there: the link then leaves the pool before the
 * owner accepts the next connection, and no later arrival can evict it. What is not there
 * yet comes through the normal read callback (libuv's epoll is level-triggered).
 */
static void preauth_read_now(struct node_link *l)
{
	uv_os_fd_t fd;

	if (uv_fileno((const uv_handle_t *)&l->tcp, &fd) < 0)
		return;
	while (l->state == NODE_LINK_PREAUTH) {
		size_t want = preauth_missing(l);
		ssize_t n = recv(fd, l->m1 + l->m1_have, want, MSG_DONTWAIT);

		if (n <= 0)
			return; /* nothing yet, EOF or an error: the read callback reports it */
		l->bytes_in += (uint64_t)n;
		proto_linkstate_rx(&l->ls, now_ms(l));
		handle_preauth(l, (size_t)n);
		if ((size_t)n < want)
			return;
	}
}

static bool budget_spent(const struct node_link_env *env)
{
	return env->iter_ns >= NODE_LINK_READ_BUDGET_US * 1000ull;
}

/*
 * Cut @len bytes of stream into frames and handle them while the iteration's read budget
 * lasts; *@spent is set when it ran out with bytes left. The budget is checked before each
 * frame and starts at zero, so the first link served in an iteration handles at least one
 * frame and the streams always move on. Returns the bytes consumed; the link may be closed
 * on return (any error closes it; frames behind that point are not processed).
 */
static size_t consume(struct node_link *l, const uint8_t *data, size_t len, bool *spent)
{
	struct node_link_env *env = l->env;
	uint64_t t = uv_hrtime(), now;
	size_t off = 0;

	*spent = false;
	while (off < len && l->state != NODE_LINK_CLOSING) {
		const uint8_t *msg;
		size_t used, mlen;
		int rc;

		if (budget_spent(env)) {
			*spent = true;
			break;
		}
		rc = proto_noise_framer_feed(l->framer, data + off, len - off, &used, &msg, &mlen);
		off += used;
		if (rc < 0) {
			node_link_close(l, NODE_LINK_R_FRAME);
			break;
		}
		if (rc == 0)
			break;
		l->handled_iter = env->iter;
		if (l->state == NODE_LINK_HANDSHAKE)
			handle_handshake(l, msg, mlen);
		else
			handle_transport(l, msg, mlen);
		now = uv_hrtime();
		env->iter_ns += now - t;
		t = now;
	}
	return off;
}

/* Queue @l behind every link already waiting for its turn to read (round robin). */
static void defer_append(struct node_link *l)
{
	struct node_link_env *env = l->env;

	l->deferred = true;
	l->defer_iter = env->iter;
	l->defer_next = NULL;
	l->defer_prev = env->deferred_tail;
	if (env->deferred_tail)
		env->deferred_tail->defer_next = l;
	else
		env->deferred = l;
	env->deferred_tail = l;
	env->reads_deferred++;
}

/*
 * The iteration's read budget ran out with @len bytes of @l (@rest, in env->rbuf) read and
 * not yet processed: stop reading, keep them, and wait for the link's turn in a later
 * node_link_env_prepare(). Out of memory closes the link.
 */
static void defer_reads(struct node_link *l, const uint8_t *rest, size_t len)
{
	struct node_link_env *env = l->env;

	if (!l->held) {
		if (!(l->held = malloc(env->rbuf_len))) {
			node_link_close(l, NODE_LINK_R_NOMEM);
			return;
		}
		env->read_buffers_held++;
	}
	memcpy(l->held, rest, len);
	l->held_off = 0;
	l->held_len = len;
	uv_read_stop((uv_stream_t *)&l->tcp);
	if (l->handled_iter != env->iter)
		env->reads_waited++;
	defer_append(l);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct node_link *l = s->data;
	const uint8_t *data = (const uint8_t *)buf->base;
	size_t off;
	bool spent;

	if (nread < 0) {
		node_link_close(l, nread == UV_EOF ? NODE_LINK_R_EOF : NODE_LINK_R_IO);
		return;
	}
	if (nread == 0 || l->state == NODE_LINK_CLOSING)
		return;
	l->bytes_in += (uint64_t)nread;
	proto_linkstate_rx(&l->ls, now_ms(l));
	if (l->state == NODE_LINK_PREAUTH) {
		handle_preauth(l, (size_t)nread);
		return;
	}
	off = consume(l, data, (size_t)nread, &spent);
	if (spent && l->state != NODE_LINK_CLOSING)
		defer_reads(l, data + off, (size_t)nread - off);
}

void node_link_env_prepare(struct node_link_env *env)
{
	struct node_link *l;

	env->iter++;
	env->iter_ns = 0;
	/*
	 * Oldest first, while the budget lasts; a link queued again in this iteration waits for
	 * the next one. The head is taken afresh each time because handling a link's frames may
	 * close (and so unlist) any other link.
	 */
	while ((l = env->deferred) && l->defer_iter != env->iter && !budget_spent(env)) {
		bool spent = false;
		size_t used = 0;

		defer_unlist(l);
		if (l->held_off < l->held_len)
			used = consume(l, l->held + l->held_off, l->held_len - l->held_off, &spent);
		if (l->state == NODE_LINK_CLOSING)
			continue;
		l->held_off += used;
		if (spent) {
			defer_append(l); /* with what is left, behind the links waiting */
			continue;
		}
		held_free(l); /* reading again: a link holds the buffer only while it waits */
		l->held_off = l->held_len = 0;
		if (uv_read_start((uv_stream_t *)&l->tcp, on_alloc, on_read) < 0)
			node_link_close(l, NODE_LINK_R_IO);
	}
	/* The links not reached wait an iteration more: others spent this one's budget. */
	for (l = env->deferred; l && l->defer_iter != env->iter; l = l->defer_next)
		env->reads_waited++;
	if (env->deferred)
		uv_idle_start(env->idle, on_idle);
	else
		uv_idle_stop(env->idle);
}

/*
 * A link with both handles initialised, in CONNECTING state, listed in @env. Outbound links
 * get their Noise session now, inbound ones after message 1.
 */
static int link_new(struct node_link_env *env, bool outbound, struct node_link **out)
{
	struct node_link *l;
	int rc;

	*out = NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->env = env;
	l->outbound = outbound;
	l->tag = -1;
	l->rtt_us = -1;
	l->state = NODE_LINK_CONNECTING;
	l->peer.ss_family = AF_UNSPEC;
	rc = outbound ? session_new(l) : 0;
	if (rc < 0)
		goto fail;
	rc = uv_tcp_init(env->loop, &l->tcp);
	if (rc < 0)
		goto fail;
	l->tcp.data = l;
	l->timer.data = l;
	l->handles = 1;
	/* Listed from here on: release() unlinks it whatever happens next. */
	l->next = env->links;
	if (env->links)
		env->links->prev = l;
	env->links = l;
	env->n_links++;
	l->id = ++env->next_id;
	proto_linkstate_init(&l->ls,
			     &(struct proto_linkstate_limits){
				     .handshake_timeout_ms = env->lim.handshake_timeout_ms,
				     .keepalive_ms = env->lim.keepalive_ms,
				     .dead_after_ms = env->lim.dead_after_ms,
			     },
			     uv_now(env->loop));
	rc = uv_timer_init(env->loop, &l->timer);
	if (rc < 0) {
		shut(l, NODE_LINK_R_IO, false);
		return rc;
	}
	l->handles = 2;
	*out = l;
	return 0;
fail:
	proto_noise_free(l->noise);
	proto_noise_framer_free(l->framer);
	free(l);
	return rc;
}

/* Both directions: reading, no Nagle delay for small messages; then @state. */
static int link_begin(struct node_link *l, enum node_link_state state)
{
	int rc;

	uv_tcp_nodelay(&l->tcp, 1);
	l->state = state; /* before reading: on_alloc() looks at it */
	rc = uv_read_start((uv_stream_t *)&l->tcp, on_alloc, on_read);
	if (rc < 0)
		l->state = NODE_LINK_CONNECTING;
	return rc;
}

static void on_connect(uv_connect_t *req, int status)
{
	struct node_link *l = req->data;

	if (l->state == NODE_LINK_CLOSING)
		return; /* UV_ECANCELED while closing */
	if (status < 0) {
		node_link_close(l, NODE_LINK_R_CONNECT);
		return;
	}
	if (link_begin(l, NODE_LINK_HANDSHAKE) < 0) {
		node_link_close(l, NODE_LINK_R_IO);
		return;
	}
	handshake_write(l); /* message 1 */
}

int node_link_connect(struct node_link_env *env, const struct sockaddr *addr,
		      struct node_link **out)
{
	struct node_link *l;
	int rc;

	*out = NULL;
	if (addr->sa_family != AF_INET && addr->sa_family != AF_INET6)
		return -EAFNOSUPPORT;
	rc = link_new(env, true, &l);
	if (rc < 0)
		return rc;
	memcpy(&l->peer, addr,
	       addr->sa_family == AF_INET ? sizeof(struct sockaddr_in)
					  : sizeof(struct sockaddr_in6));
	l->connect.data = l;
	rc = uv_tcp_connect(&l->connect, &l->tcp, addr, on_connect);
	if (rc < 0) {
		shut(l, NODE_LINK_R_CONNECT, false);
		return rc;
	}
	arm_timer(l, env->lim.handshake_timeout_ms);
	l->announced = true;
	*out = l;
	return 0;
}

int node_link_accept(struct node_link_env *env, uv_stream_t *server, struct node_link **out)
{
	struct node_link *l;
	int len = sizeof(struct sockaddr_storage);
	int rc;

	*out = NULL;
	rc = link_new(env, false, &l);
	if (rc < 0)
		return rc;
	rc = uv_accept(server, (uv_stream_t *)&l->tcp);
	if (rc == 0 && uv_tcp_getpeername(&l->tcp, (struct sockaddr *)&l->peer, &len) < 0)
		l->peer.ss_family = AF_UNSPEC;
	if (rc == 0)
		rc = node_gate_add(&env->gate, &l->gate, &l->peer);
	if (rc == 0)
		rc = link_begin(l, NODE_LINK_PREAUTH);
	if (rc < 0) {
		shut(l, NODE_LINK_R_IO, false);
		return rc;
	}
	arm_timer(l, env->lim.preauth_timeout_ms < env->lim.handshake_timeout_ms
			     ? env->lim.preauth_timeout_ms
			     : env->lim.handshake_timeout_ms);
	l->announced = true;
	*out = l;
	preauth_read_now(l); /* may move it on, or close it */
	return 0;
}

enum node_link_state node_link_state(const struct node_link *l)
{
	return l->state;
}

bool node_link_outbound(const struct node_link *l)
{
	return l->outbound;
}

uint64_t node_link_id(const struct node_link *l)
{
	return l->id;
}

void *node_link_owner(const struct node_link *l)
{
	return l->env->owner;
}

const uint8_t *node_link_remote_static(const struct node_link *l)
{
	return l->remote_static;
}

size_t node_link_queued(const struct node_link *l)
{
	return l->queued;
}

size_t node_link_send_queue_max(const struct node_link *l)
{
	return l->env->lim.send_queue_max;
}

size_t node_link_room(const struct node_link *l)
{
	size_t max = queue_limit(l, false), fixed = sizeof(struct wreq) + NODE_LINK_ALLOC_OVERHEAD;
	size_t avail, fresh, tail;

	if (l->state == NODE_LINK_CLOSING || l->queued > max)
		return 0;
	/* The largest frame frame_room() takes: in the pending buffer, or in a new one. */
	avail = max - l->queued;
	fresh = avail > fixed ? avail - fixed : 0;
	if ((l->inflight || l->pend_tail) &&
	    avail < NODE_LINK_SEND_CHUNK + NODE_LINK_ALLOC_OVERHEAD)
		fresh = 0; /* a new buffer would be a whole chunk */
	tail = l->pend_tail ? l->pend_tail->cap - l->pend_tail->len : 0;
	return fresh > tail ? fresh : tail;
}

void node_link_info(const struct node_link *l, struct node_link_info *info)
{
	memset(info, 0, sizeof(*info));
	info->id = l->id;
	info->state = l->state;
	info->outbound = l->outbound;
	info->created_ms = l->ls.created_ms;
	info->up_ms = l->ls.up_ms;
	info->bytes_in = l->bytes_in;
	info->bytes_out = l->bytes_out;
	info->msgs_in = l->msgs_in;
	info->msgs_out = l->msgs_out;
	info->rtt_us = l->rtt_us;
	info->queued = l->queued;
	info->peer_epoch = l->ls.peer_epoch;
	info->peer_version = l->ls.peer_version;
	info->peer_min_version = l->ls.peer_min_version;
	info->version = l->ls.version;
	info->peer = l->peer;
}

struct node_link *node_link_next(const struct node_link *l)
{
	return l->next;
}

int node_link_tag(const struct node_link *l)
{
	return l->tag;
}

void node_link_set_tag(struct node_link *l, int tag)
{
	l->tag = tag;
}

struct node_link *node_link_preauth_oldest(const struct node_link_env *env)
{
	struct node_gate_entry *e = node_gate_oldest(&env->gate);

	return e ? (struct node_link *)((char *)e - offsetof(struct node_link, gate)) : NULL;
}

struct node_link *node_link_preauth_source_oldest(const struct node_link *l)
{
	struct node_gate_entry *e = node_gate_source_oldest(&l->gate);

	return e ? (struct node_link *)((char *)e - offsetof(struct node_link, gate)) : NULL;
}

size_t node_link_preauth_source_count(const struct node_link *l)
{
	return node_gate_source_count(&l->gate);
}
