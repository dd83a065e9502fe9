/* SPDX-License-Identifier: MIT */
/*
 * proto/linkstate.h — the state machine of one overlay link after its Noise handshake began,
 * sans I/O: what a link does with each decrypted link message, when it pings, rekeys, gives
 * up waiting or declares the peer dead. The caller (node/overlay/link.c) owns the socket, the
 * frames and the Noise session's encryption; it feeds this machine events with the time
 * (@now_ms, any monotonic millisecond clock) and fresh randomness (@nonce), and carries out
 * the actions it returns, in order. tests/unit/test_proto_linkstate.c drives it alone.
 *
 * States:
 *   HANDSHAKE  Noise messages flow; closed with TIMEOUT at created + handshake_timeout_ms.
 *   HELLO      the handshake is complete (proto_linkstate_transport()): the peer's first
 *              transport message must be its HELLO (anything else: PROTOCOL), and the two
 *              versions must agree (proto_link_version_agree(); else VERSION). Same deadline.
 *   UP         proto_linkstate_up() after the owner accepted the HELLO. Every message is
 *              answered or delivered: a second HELLO is PROTOCOL; PING is answered with a
 *              PONG of its nonce; a PONG whose nonce is the outstanding PING's is matched (an
 *              older PING's PONG is ignored); REKEY switches the receiving cipher
 *              (proto_noise_rekey_recv(); failure is PROTOCOL); everything else is delivered
 *              to the owner. A PING goes out every keepalive_ms; a link that received
 *              nothing for dead_after_ms is DEAD. The sending direction is rekeyed when
 *              proto_noise_rekey_due() says so: a REKEY message under the old key, then the
 *              new key for everything after it.
 *   CLOSED     a close action was returned; nothing more happens.
 *
 * Thread rules: a struct proto_linkstate belongs to one thread. It borrows the Noise session
 * given to proto_linkstate_transport() until the link is freed.
 */
#ifndef CHATHAM_PROTO_LINKSTATE_H
#define CHATHAM_PROTO_LINKSTATE_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/link.h"

struct proto_noise;

enum proto_linkstate_state {
	PROTO_LINKSTATE_HANDSHAKE = 0,
	PROTO_LINKSTATE_HELLO = 1,
	PROTO_LINKSTATE_UP = 2,
	PROTO_LINKSTATE_CLOSED = 3,
};

/* Why the machine closes a link (the caller maps it to its own reasons). */
enum proto_linkstate_close {
	PROTO_LINKSTATE_OPEN = 0,     /* no close */
	PROTO_LINKSTATE_PROTOCOL = 1, /* a message out of place, or a REKEY that failed */
	PROTO_LINKSTATE_VERSION = 2,  /* no version both sides speak */
	PROTO_LINKSTATE_TIMEOUT = 3,  /* not UP by created + handshake_timeout_ms */
	PROTO_LINKSTATE_DEAD = 4,     /* nothing received for dead_after_ms */
};

struct proto_linkstate_limits {
	uint64_t handshake_timeout_ms; /* creation -> UP */
	uint64_t keepalive_ms;	       /* PING interval once UP */
	uint64_t dead_after_ms;	       /* silence after which the link is dead */
};

/* A link message the caller must encode and send (PING, PONG or REKEY), in order. */
struct proto_linkstate_send {
	enum proto_link_type type;
	uint64_t nonce;	  /* PING, PONG */
	bool rekey_after; /* REKEY: call proto_noise_rekey_send() right after encrypting it */
};

/* What the caller does after an event, in this order: send, then close or deliver. */
struct proto_linkstate_act {
	struct proto_linkstate_send send[2];
	unsigned n_send;
	enum proto_linkstate_close close; /* != OPEN: close the link (after the sends) */
	bool deliver;			  /* UP: hand the message to the owner */
	bool hello;			  /* HELLO: the peer's HELLO passed; owner decides, then
					   * proto_linkstate_up() */
	bool pong;			  /* the outstanding PING was answered (measure RTT) */
};

struct proto_linkstate {
	enum proto_linkstate_state state;
	struct proto_linkstate_limits lim;
	struct proto_noise *noise; /* borrowed, from proto_linkstate_transport() */
	uint64_t created_ms, up_ms, last_rx_ms, last_ping_ms;
	uint64_t ping_nonce;
	bool ping_out; /* a PING waits for its PONG */
	uint64_t peer_epoch, peer_version, peer_min_version, version; /* from the HELLO */
};

/* proto_linkstate_init() - a link created at @now_ms, in HANDSHAKE. Caller storage. */
void proto_linkstate_init(struct proto_linkstate *s, const struct proto_linkstate_limits *lim,
			  uint64_t now_ms);

/* proto_linkstate_rx() - bytes arrived at @now_ms (any state): the peer is alive. */
void proto_linkstate_rx(struct proto_linkstate *s, uint64_t now_ms);

/*
 * proto_linkstate_transport() - the handshake completed: HANDSHAKE -> HELLO. @noise (in
 * TRANSPORT, borrowed) is the session REKEY messages switch. The caller sends its HELLO.
 */
void proto_linkstate_transport(struct proto_linkstate *s, struct proto_noise *noise);

/*
 * proto_linkstate_message() - a decrypted, decoded link message @m (borrowed) at @now_ms, in
 * HELLO or UP; @ours is this node's HELLO (its versions). Fills @a (see the states above).
 * In HELLO a passing HELLO sets a->hello and records the peer's epoch and versions and the
 * agreed version; the state stays HELLO until proto_linkstate_up().
 */
void proto_linkstate_message(struct proto_linkstate *s, const struct proto_link_msg *m,
			     const struct proto_link_hello *ours, uint64_t now_ms,
			     struct proto_linkstate_act *a);

/*
 * proto_linkstate_up() - the owner accepted the HELLO: HELLO -> UP at @now_ms. Starts the
 * hourly rekey clock and sends the first PING with @nonce (random, from the caller).
 */
void proto_linkstate_up(struct proto_linkstate *s, uint64_t now_ms, uint64_t nonce,
			struct proto_linkstate_act *a);

/*
 * proto_linkstate_deadline() - when the machine next wants proto_linkstate_tick() (absolute,
 * in the clock of @now_ms): HANDSHAKE/HELLO: created + handshake_timeout_ms; UP: the earlier
 * of the next PING and the dead-link deadline; CLOSED: UINT64_MAX.
 */
uint64_t proto_linkstate_deadline(const struct proto_linkstate *s);

/*
 * proto_linkstate_tick() - time passed to @now_ms: closes with TIMEOUT or DEAD when their
 * deadline has come, else in UP sends a PING (with @nonce, random from the caller) when one
 * is due and a REKEY when proto_noise_rekey_due() says so. Early calls do nothing.
 */
void proto_linkstate_tick(struct proto_linkstate *s, uint64_t now_ms, uint64_t nonce,
			  struct proto_linkstate_act *a);

#endif
