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
 * The single timer carries whatever deadline matters in the current state: the
 * pre-authentication deadline (creation + handshake_timeout_ms) until UP, then the earlier
 * of the next PING and the dead-link deadline.
 *
 * Error handling follows the Noise rule that a session never skips a bad message: any
 * framing, handshake, decryption or decoding error closes the link at once, before anything
 * else is read from the stream.
 */
#include "node/overlay/link.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/crypto.h"
#include "proto/error.h"

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
	bool ping_out;	 /* a PING is waiting for its PONG */
	unsigned hs_reads;
	uint64_t id;
	int tag;
	struct proto_noise *noise;
	struct proto_noise_framer *framer;
	uint8_t remote_static[32];
	uint64_t created_ms, up_ms, last_rx_ms, last_ping_ms;
	uint64_t ping_nonce, ping_sent_ns;
	int64_t rtt_us;
	uint64_t bytes_in, bytes_out, msgs_in, msgs_out;
	size_t queued;
	uint64_t peer_epoch;
	struct sockaddr_storage peer;
};

struct wreq {
	uv_write_t req;
	struct node_link *link;
	size_t len;
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
	}
	return "unknown";
}

static uint64_t now_ms(const struct node_link *l)
{
	return uv_now(l->env->loop);
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

/* Close the handles; the owner hears about it only when @notify (the link was announced). */
static void shut(struct node_link *l, enum node_link_reason reason, bool notify)
{
	enum node_link_state was = l->state;

	if (was == NODE_LINK_CLOSING)
		return;
	l->state = NODE_LINK_CLOSING;
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

static void on_written(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct node_link *l = w->link;

	l->queued -= w->len;
	if (status == 0)
		l->bytes_out += w->len;
	free(w);
	if (status < 0) {
		if (status != UV_ECANCELED)
			node_link_close(l, NODE_LINK_R_IO);
		return;
	}
	if (l->want_drain && l->state == NODE_LINK_UP &&
	    l->queued <= l->env->lim.send_queue_max / 2) {
		l->want_drain = false;
		if (l->env->ops->drained)
			l->env->ops->drained(l);
	}
}

/*
 * Allocate a write request with room for a frame of @msg_len message bytes; the caller
 * fills w->data + 2 with the message. NULL when out of memory.
 */
static struct wreq *wreq_new(size_t msg_len)
{
	struct wreq *w = malloc(sizeof(*w) + PROTO_NOISE_FRAME_HDR + msg_len);

	if (w)
		w->len = PROTO_NOISE_FRAME_HDR + msg_len;
	return w;
}

/* Hand a filled frame to libuv. Takes ownership of @w. On failure the link is closed. */
static int queue_frame(struct node_link *l, struct wreq *w)
{
	uv_buf_t b;
	int rc;

	proto_noise_frame_header(w->data, w->len - PROTO_NOISE_FRAME_HDR);
	w->link = l;
	b = uv_buf_init((char *)w->data, (unsigned)w->len);
	rc = uv_write(&w->req, (uv_stream_t *)&l->tcp, &b, 1, on_written);
	if (rc < 0) {
		free(w);
		node_link_close(l, NODE_LINK_R_IO);
		return rc;
	}
	l->queued += w->len;
	if (l->queued > l->env->lim.send_queue_max / 2)
		l->want_drain = true;
	return 0;
}

/* Would a frame of @msg_len message bytes take the queue over its bound? Then close. */
static int check_room(struct node_link *l, size_t msg_len)
{
	if (l->queued + PROTO_NOISE_FRAME_HDR + msg_len > l->env->lim.send_queue_max) {
		node_link_close(l, NODE_LINK_R_QUEUE);
		return -ENOBUFS;
	}
	return 0;
}

int node_link_send(struct node_link *l, const uint8_t *msg, size_t len)
{
	struct wreq *w;
	size_t ct_len;
	int rc;

	if (l->state != NODE_LINK_UP && l->state != NODE_LINK_HELLO)
		return -ENOTCONN;
	if (len == 0 || len > PROTO_LINK_MAX_BYTES)
		return PROTO_E_TOO_LARGE;
	/*
	 * The bound is checked before encrypting: once a message has consumed a nonce it must
	 * reach the peer or the stream is out of step, so a refused send also ends the link.
	 */
	rc = check_room(l, len + PROTO_NOISE_TAG_LEN);
	if (rc < 0)
		return rc;
	w = wreq_new(len + PROTO_NOISE_TAG_LEN);
	if (!w) {
		node_link_close(l, NODE_LINK_R_NOMEM);
		return -ENOMEM;
	}
	rc = proto_noise_encrypt(l->noise, msg, len, w->data + PROTO_NOISE_FRAME_HDR,
				 len + PROTO_NOISE_TAG_LEN, &ct_len);
	if (rc < 0) {
		free(w);
		node_link_close(l, NODE_LINK_R_PROTOCOL);
		return rc;
	}
	rc = queue_frame(l, w);
	if (rc == 0)
		l->msgs_out++;
	return rc;
}

/* Send an encoded link message we built ourselves (@enc malloc'd, freed here). */
static int send_owned(struct node_link *l, uint8_t *enc, size_t len, int enc_rc)
{
	int rc;

	if (enc_rc < 0) {
		node_link_close(l, NODE_LINK_R_NOMEM);
		return enc_rc;
	}
	rc = node_link_send(l, enc, len);
	free(enc);
	return rc;
}

/* Write our next handshake message. Returns 0, or negative with the link closed. */
static int handshake_write(struct node_link *l)
{
	uint8_t msg[PROTO_NOISE_HANDSHAKE_MAX];
	struct wreq *w;
	size_t len;
	int rc;

	rc = proto_noise_write_message(l->noise, msg, sizeof(msg), &len);
	if (rc < 0) {
		node_link_close(l, NODE_LINK_R_HANDSHAKE);
		return rc;
	}
	rc = check_room(l, len);
	if (rc < 0)
		return rc;
	w = wreq_new(len);
	if (!w) {
		node_link_close(l, NODE_LINK_R_NOMEM);
		return -ENOMEM;
	}
	memcpy(w->data + PROTO_NOISE_FRAME_HDR, msg, len);
	return queue_frame(l, w);
}

static void on_timer(uv_timer_t *t);

static void arm_timer(struct node_link *l, uint64_t ms)
{
	uv_timer_start(&l->timer, on_timer, ms ? ms : 1, 0);
}

static int send_ping(struct node_link *l)
{
	uint8_t *enc = NULL;
	size_t len = 0;
	int rc;

	proto_random(&l->ping_nonce, sizeof(l->ping_nonce));
	rc = proto_link_encode_nonce(PROTO_LINK_PING, l->ping_nonce, &enc, &len);
	rc = send_owned(l, enc, len, rc);
	if (rc < 0)
		return rc;
	l->ping_out = true;
	l->ping_sent_ns = uv_hrtime();
	l->last_ping_ms = now_ms(l);
	return 0;
}

static int send_rekey(struct node_link *l, uint64_t now)
{
	uint8_t *enc = NULL;
	size_t len = 0;
	int rc;

	rc = proto_link_encode_bare(PROTO_LINK_REKEY, &enc, &len);
	rc = send_owned(l, enc, len, rc);
	if (rc < 0)
		return rc;
	rc = proto_noise_rekey_send(l->noise, now);
	if (rc < 0)
		node_link_close(l, NODE_LINK_R_PROTOCOL);
	return rc;
}

/* UP: the earlier of the next PING and the dead-link deadline. */
static void arm_keepalive(struct node_link *l)
{
	const struct node_link_limits *lim = &l->env->lim;
	uint64_t now = now_ms(l), ping_at = l->last_ping_ms + lim->keepalive_ms,
		 dead_at = l->last_rx_ms + lim->dead_after_ms,
		 at = ping_at < dead_at ? ping_at : dead_at;

	arm_timer(l, at > now ? at - now : 1);
}

static void on_timer(uv_timer_t *t)
{
	struct node_link *l = t->data;
	const struct node_link_limits *lim = &l->env->lim;
	uint64_t now = now_ms(l);

	if (l->state == NODE_LINK_CLOSING)
		return;
	if (l->state != NODE_LINK_UP) {
		node_link_close(l, NODE_LINK_R_TIMEOUT);
		return;
	}
	if (now - l->last_rx_ms >= lim->dead_after_ms) {
		node_link_close(l, NODE_LINK_R_DEAD);
		return;
	}
	if (now - l->last_ping_ms >= lim->keepalive_ms && send_ping(l) < 0)
		return;
	if (proto_noise_rekey_due(l->noise, now) && send_rekey(l, now) < 0)
		return;
	arm_keepalive(l);
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

static void handle_handshake(struct node_link *l, const uint8_t *msg, size_t len)
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
		return;
	}
	if (proto_noise_status(l->noise) == PROTO_NOISE_WRITE && handshake_write(l) < 0)
		return;
	if (proto_noise_status(l->noise) == PROTO_NOISE_TRANSPORT)
		handshake_done(l);
}

static void go_up(struct node_link *l)
{
	uint64_t now = now_ms(l);

	l->state = NODE_LINK_UP;
	l->up_ms = now;
	proto_noise_rekey_due(l->noise, now); /* starts the hourly interval */
	if (send_ping(l) < 0)
		return;
	arm_keepalive(l);
	l->env->ops->up(l);
}

static void handle_up(struct node_link *l, const struct proto_link_msg *m)
{
	uint8_t *enc = NULL;
	size_t len = 0;
	int rc;

	switch (m->type) {
	case PROTO_LINK_HELLO:
		node_link_close(l, NODE_LINK_R_PROTOCOL);
		return;
	case PROTO_LINK_PING:
		rc = proto_link_encode_nonce(PROTO_LINK_PONG, m->u.nonce, &enc, &len);
		send_owned(l, enc, len, rc);
		return;
	case PROTO_LINK_PONG:
		/* A PONG for an older PING (superseded by a later one) is ignored. */
		if (l->ping_out && m->u.nonce == l->ping_nonce) {
			l->ping_out = false;
			l->rtt_us = (int64_t)((uv_hrtime() - l->ping_sent_ns) / 1000);
		}
		return;
	case PROTO_LINK_REKEY:
		if (proto_noise_rekey_recv(l->noise) < 0)
			node_link_close(l, NODE_LINK_R_PROTOCOL);
		return;
	default:
		l->env->ops->message(l, m);
		return;
	}
}

static void handle_transport(struct node_link *l, const uint8_t *msg, size_t len)
{
	struct node_link_env *env = l->env;
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
	if (l->state == NODE_LINK_UP) {
		handle_up(l, &m);
		return;
	}
	/* HELLO state: the peer's first transport message must be its HELLO. */
	if (m.type != PROTO_LINK_HELLO) {
		node_link_close(l, NODE_LINK_R_PROTOCOL);
		return;
	}
	l->peer_epoch = m.u.hello.roster_epoch;
	r = env->ops->hello(l, &m.u.hello);
	if (r != NODE_LINK_R_NONE) {
		node_link_close(l, r);
		return;
	}
	if (l->state == NODE_LINK_HELLO)
		go_up(l);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct node_link *l = h->data;

	*buf = uv_buf_init((char *)l->env->rbuf, (unsigned)l->env->rbuf_len);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct node_link *l = s->data;
	const uint8_t *data = (const uint8_t *)buf->base;
	size_t off = 0;

	if (nread < 0) {
		node_link_close(l, nread == UV_EOF ? NODE_LINK_R_EOF : NODE_LINK_R_IO);
		return;
	}
	if (nread == 0 || l->state == NODE_LINK_CLOSING)
		return;
	l->bytes_in += (uint64_t)nread;
	l->last_rx_ms = now_ms(l);
	/* A handler may close the link; frames behind that point must not be processed. */
	while (off < (size_t)nread && l->state != NODE_LINK_CLOSING) {
		const uint8_t *msg;
		size_t used, mlen;
		int rc = proto_noise_framer_feed(l->framer, data + off, (size_t)nread - off, &used,
						 &msg, &mlen);

		off += used;
		if (rc < 0) {
			node_link_close(l, NODE_LINK_R_FRAME);
			return;
		}
		if (rc == 0)
			return;
		if (l->state == NODE_LINK_HANDSHAKE)
			handle_handshake(l, msg, mlen);
		else
			handle_transport(l, msg, mlen);
		if (l->state == NODE_LINK_CLOSING)
			return;
	}
}

/* A link with both handles initialised, in CONNECTING state, listed in @env. */
static int link_new(struct node_link_env *env, bool outbound, struct node_link **out)
{
	uint8_t eph[32];
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
	l->framer = proto_noise_framer_new(PROTO_NOISE_HANDSHAKE_MAX);
	proto_random(eph, sizeof(eph));
	l->noise = proto_noise_new(outbound ? PROTO_NOISE_INITIATOR : PROTO_NOISE_RESPONDER,
				   env->community_id, env->network_key, env->static_sk, eph);
	proto_wipe(eph, sizeof(eph));
	if (!l->framer || !l->noise) {
		rc = -ENOMEM;
		goto fail;
	}
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
	l->created_ms = uv_now(env->loop);
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

/* Both directions: reading, no Nagle delay for small messages, pre-auth deadline. */
static int link_begin(struct node_link *l)
{
	int rc;

	uv_tcp_nodelay(&l->tcp, 1);
	rc = uv_read_start((uv_stream_t *)&l->tcp, on_alloc, on_read);
	if (rc < 0)
		return rc;
	l->state = NODE_LINK_HANDSHAKE;
	return 0;
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
	if (link_begin(l) < 0) {
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
	if (rc == 0)
		rc = link_begin(l);
	if (rc < 0) {
		shut(l, NODE_LINK_R_IO, false);
		return rc;
	}
	if (uv_tcp_getpeername(&l->tcp, (struct sockaddr *)&l->peer, &len) < 0)
		l->peer.ss_family = AF_UNSPEC;
	env->handshakes_in++;
	l->counted = true;
	arm_timer(l, env->lim.handshake_timeout_ms);
	l->announced = true;
	*out = l;
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

size_t node_link_room(const struct node_link *l)
{
	size_t max = l->env->lim.send_queue_max;

	if (l->state == NODE_LINK_CLOSING || l->queued >= max)
		return 0;
	return max - l->queued;
}

void node_link_info(const struct node_link *l, struct node_link_info *info)
{
	memset(info, 0, sizeof(*info));
	info->id = l->id;
	info->state = l->state;
	info->outbound = l->outbound;
	info->created_ms = l->created_ms;
	info->up_ms = l->up_ms;
	info->bytes_in = l->bytes_in;
	info->bytes_out = l->bytes_out;
	info->msgs_in = l->msgs_in;
	info->msgs_out = l->msgs_out;
	info->rtt_us = l->rtt_us;
	info->queued = l->queued;
	info->peer_epoch = l->peer_epoch;
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
