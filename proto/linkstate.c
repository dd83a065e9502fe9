/* SPDX-License-Identifier: MIT */
/*
 * proto/linkstate.c — see linkstate.h. Every decision that was made on a link's timer and
 * message callbacks lives here, so a test can walk a link through its life with a fake
 * clock; the caller keeps only the I/O.
 */
#include "proto/linkstate.h"

#include <string.h>

#include "proto/noise.h"

void proto_linkstate_init(struct proto_linkstate *s, const struct proto_linkstate_limits *lim,
			  uint64_t now_ms)
{
	memset(s, 0, sizeof(*s));
	s->state = PROTO_LINKSTATE_HANDSHAKE;
	s->lim = *lim;
	s->created_ms = now_ms;
	s->last_rx_ms = now_ms;
}

void proto_linkstate_rx(struct proto_linkstate *s, uint64_t now_ms)
{
	s->last_rx_ms = now_ms;
}

void proto_linkstate_transport(struct proto_linkstate *s, struct proto_noise *noise)
{
	if (s->state != PROTO_LINKSTATE_HANDSHAKE)
		return;
	s->noise = noise;
	s->state = PROTO_LINKSTATE_HELLO;
}

static void act_clear(struct proto_linkstate_act *a)
{
	memset(a, 0, sizeof(*a));
}

static void act_close(struct proto_linkstate *s, struct proto_linkstate_act *a,
		      enum proto_linkstate_close why)
{
	s->state = PROTO_LINKSTATE_CLOSED;
	a->close = why;
}

static void act_send(struct proto_linkstate_act *a, enum proto_link_type type, uint64_t nonce,
		     bool rekey_after)
{
	struct proto_linkstate_send *m = &a->send[a->n_send++];

	m->type = type;
	m->nonce = nonce;
	m->rekey_after = rekey_after;
}

static void ping(struct proto_linkstate *s, uint64_t now_ms, uint64_t nonce,
		 struct proto_linkstate_act *a)
{
	act_send(a, PROTO_LINK_PING, nonce, false);
	s->ping_nonce = nonce;
	s->ping_out = true; /* a PONG for an older PING no longer matches */
	s->last_ping_ms = now_ms;
}

static void on_hello(struct proto_linkstate *s, const struct proto_link_msg *m,
		     const struct proto_link_hello *ours, struct proto_linkstate_act *a)
{
	const struct proto_link_hello *h = &m->u.hello;

	/* The peer's first transport message must be its HELLO. */
	if (m->type != PROTO_LINK_HELLO) {
		act_close(s, a, PROTO_LINKSTATE_PROTOCOL);
		return;
	}
	s->peer_epoch = h->roster_epoch;
	s->peer_version = h->version;
	s->peer_min_version = h->min_version ? h->min_version : h->version;
	if (!proto_link_version_agree(ours, h, &s->version)) {
		act_close(s, a, PROTO_LINKSTATE_VERSION);
		return;
	}
	a->hello = true;
}

static void on_up(struct proto_linkstate *s, const struct proto_link_msg *m,
		  struct proto_linkstate_act *a)
{
	switch (m->type) {
	case PROTO_LINK_HELLO:
		act_close(s, a, PROTO_LINKSTATE_PROTOCOL);
		return;
	case PROTO_LINK_PING:
		act_send(a, PROTO_LINK_PONG, m->u.nonce, false);
		return;
	case PROTO_LINK_PONG:
		if (s->ping_out && m->u.nonce == s->ping_nonce) {
			s->ping_out = false;
			a->pong = true;
		}
		return;
	case PROTO_LINK_REKEY:
		/* Before anything else is decrypted: the peer's next message uses the new key. */
		if (!s->noise || proto_noise_rekey_recv(s->noise) < 0)
			act_close(s, a, PROTO_LINKSTATE_PROTOCOL);
		return;
	default:
		a->deliver = true;
		return;
	}
}

void proto_linkstate_message(struct proto_linkstate *s, const struct proto_link_msg *m,
			     const struct proto_link_hello *ours, uint64_t now_ms,
			     struct proto_linkstate_act *a)
{
	act_clear(a);
	s->last_rx_ms = now_ms;
	if (s->state == PROTO_LINKSTATE_HELLO)
		on_hello(s, m, ours, a);
	else if (s->state == PROTO_LINKSTATE_UP)
		on_up(s, m, a);
	else if (s->state == PROTO_LINKSTATE_HANDSHAKE)
		act_close(s, a, PROTO_LINKSTATE_PROTOCOL); /* no transport message before it */
}

void proto_linkstate_up(struct proto_linkstate *s, uint64_t now_ms, uint64_t nonce,
			struct proto_linkstate_act *a)
{
	act_clear(a);
	if (s->state != PROTO_LINKSTATE_HELLO)
		return;
	s->state = PROTO_LINKSTATE_UP;
	s->up_ms = now_ms;
	if (s->noise)
		proto_noise_rekey_due(s->noise, now_ms); /* starts the hourly interval */
	ping(s, now_ms, nonce, a);
}

uint64_t proto_linkstate_deadline(const struct proto_linkstate *s)
{
	uint64_t ping_at, dead_at;

	switch (s->state) {
	case PROTO_LINKSTATE_HANDSHAKE:
	case PROTO_LINKSTATE_HELLO:
		return s->created_ms + s->lim.handshake_timeout_ms;
	case PROTO_LINKSTATE_UP:
		ping_at = s->last_ping_ms + s->lim.keepalive_ms;
		dead_at = s->last_rx_ms + s->lim.dead_after_ms;
		return ping_at < dead_at ? ping_at : dead_at;
	case PROTO_LINKSTATE_CLOSED:
		break;
	}
	return UINT64_MAX;
}

void proto_linkstate_tick(struct proto_linkstate *s, uint64_t now_ms, uint64_t nonce,
			  struct proto_linkstate_act *a)
{
	act_clear(a);
	switch (s->state) {
	case PROTO_LINKSTATE_HANDSHAKE:
	case PROTO_LINKSTATE_HELLO:
		if (now_ms >= proto_linkstate_deadline(s))
			act_close(s, a, PROTO_LINKSTATE_TIMEOUT);
		return;
	case PROTO_LINKSTATE_UP:
		break;
	case PROTO_LINKSTATE_CLOSED:
		return;
	}
	if (now_ms - s->last_rx_ms >= s->lim.dead_after_ms) {
		act_close(s, a, PROTO_LINKSTATE_DEAD);
		return;
	}
	if (now_ms - s->last_ping_ms >= s->lim.keepalive_ms)
		ping(s, now_ms, nonce, a);
	if (s->noise && proto_noise_rekey_due(s->noise, now_ms))
		act_send(a, PROTO_LINK_REKEY, 0, true);
}
