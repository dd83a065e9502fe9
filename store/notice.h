/* SPDX-License-Identifier: MIT */
/*
 * store/notice.h — the notice environment: notices and status replies between member teams
 * (proto/notice.h) that this node sent or received, their outbox, and the key of this
 * node's coordinator reply handles. A third LMDB environment, in <state dir>/notices (0700),
 * so notices never share a database with reports: nothing that reads the main store (the
 * SIEM export, catch-up, gossip) can ever reach them.
 *
 * Databases:
 *   msgs    notice id (16) -> flags (u8: STORE_NOTICE_OUT when this node signed it,
 *           STORE_NOTICE_LOCAL for a local notice that never travels), time (u64 BE: when
 *           this node stored it), then the message: the signed wire bytes of a notice or
 *           status, or for a local notice its JSON text
 *   outbox  notice id (16) || next hop member id (32) -> next attempt ms (u64 BE), attempts
 *           (u32 BE); an entry lives until the next hop acknowledges the notice
 *   refused notice id (16) -> reason (u8, enum proto_notice_refusal), time (u64 BE: when the
 *           refusal was stored), next hop member id (32): a notice this node sent that the
 *           next hop refused for good (link NOTICE_REFUSED); its outbox entry is gone
 *   signers member id (32) -> u64 BE: the bytes of the messages in msgs that this node
 *           received (flags 0) and that member signed (its `from`), written in the same
 *           transaction as each message that changes it; no entry for 0. The notice
 *           quota (node/daemon/notices.h) reads it, so no start-up scan is needed. Schema 1
 *           had none: the first open by this build builds it from msgs, once.
 *   meta    "schema" -> u32 BE; "handle_key" -> 32 random bytes (secret: the key of the
 *           reply handles this node makes as a coordinator, proto_notice_handle_seal());
 *           "watch_seq" -> u64 BE, the last main-store feed sequence looked at for local
 *           notices (absent: 0)
 *
 * Durability and threads are those of store/store.h: every write is one durable
 * transaction, a struct store_notices may be shared by threads, writes serialise.
 * Errors: 0 or a negative errno / STORE_E_* code (proto/error.h).
 * Ownership: pointers borrowed for the call unless stated; callback views point into the
 * map and are valid during the callback only.
 */
#ifndef CHATHAM_STORE_NOTICE_H
#define CHATHAM_STORE_NOTICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_NOTICE_SCHEMA_VERSION 2 /* 2: signers */
#define STORE_NOTICE_OUT 0x01u	      /* signed by this node (sent or to be sent) */
#define STORE_NOTICE_LOCAL 0x02u      /* raised by this node for itself; JSON, never sent */

struct store_notices;

/*
 * store_notices_open() - open (creating if needed) the notice environment in @dir (created
 * 0700 if missing, one level). Reads the handle key, creating it on first open; upgrades a
 * schema 1 environment (builds signers).
 * Errors: STORE_E_SCHEMA_NEWER, STORE_E_CORRUPT, -EINVAL, -errno.
 */
int store_notices_open(struct store_notices **out, const char *dir);

/* store_notices_close() - NULL-safe; wipes the handle key held in memory. */
void store_notices_close(struct store_notices *s);

/* store_notices_handle_key() - the 32-byte coordinator handle key (borrowed, secret). */
const uint8_t *store_notices_handle_key(const struct store_notices *s);

struct store_notice_msg {
	uint8_t id[16];
	uint8_t flags;	      /* STORE_NOTICE_OUT | STORE_NOTICE_LOCAL */
	uint64_t time_ms;     /* when this node stored it */
	const uint8_t *bytes; /* wire bytes (or JSON for LOCAL), 1..PROTO_NOTICE_MAX_BYTES */
	size_t len;
	bool replace;	 /* store_notices_apply(): overwrite a stored one of this id (re-signed) */
	uint8_t refused; /* store_notices_iter(): the next hop's refusal reason; 0: none */
};

struct store_notice_out {
	uint8_t id[16];
	uint8_t recipient[32]; /* the next hop's member id */
	uint64_t next_attempt_ms;
	uint32_t attempts;
};

/* A next hop's refusal of a notice (link NOTICE_REFUSED). */
struct store_notice_refusal {
	uint8_t id[16];
	uint8_t recipient[32]; /* the member that refused it */
	uint8_t reason;	       /* 1..255 */
	uint64_t time_ms;
	bool applied; /* out: an outbox entry id || recipient existed and is replaced by the
		       * refusal */
};

/* One write transaction (store_notices_apply()). */
struct store_notices_batch {
	const struct store_notice_msg *msgs; /* stored unless their id is (the first wins) */
	size_t n_msgs;
	bool *is_new;			     /* out, optional: per msg, whether it was stored now */
	const struct store_notice_out *puts; /* insert or replace */
	size_t n_puts;
	const struct store_notice_out *dels; /* id and recipient read; absent ones skipped */
	size_t n_dels;
	struct store_notice_refusal *refusals; /* applied only where the outbox waits for
						* that recipient (a refusal of nothing we sent
						* it changes nothing) */
	size_t n_refusals;
	bool set_watch; /* write watch_seq */
	uint64_t watch_seq;
};

/*
 * store_notices_apply() - b->msgs, then b->puts, then b->dels, then b->refusals (and
 * watch_seq) in ONE durable
 * write transaction; 0 only after the commit (then b->is_new is valid). A message with
 * STORE_NOTICE_LOCAL or @replace set replaces one of its id (a local notice is updated in
 * place, a notice re-signed for a new recipient); any other is stored only if its id is not.
 * signers follows: a received message stored adds its length to its signer's total, one
 * replaced takes its old length off. -EINVAL for a message of 0 or over
 * PROTO_NOTICE_MAX_BYTES bytes (nothing written).
 */
int store_notices_apply(struct store_notices *s, struct store_notices_batch *b);

/* Called per stored message; return 0 to go on, anything else to stop (and return it). */
typedef int (*store_notices_msg_cb)(void *ctx, const struct store_notice_msg *m);
/* Called per outbox entry; same convention. */
typedef int (*store_notices_out_cb)(void *ctx, const struct store_notice_out *e);

/*
 * store_notices_iter() - in ONE read snapshot: @out_cb (may be NULL) for every outbox entry,
 * then @msg_cb (may be NULL) for every message, both in key order. Returns 0, a callback's
 * non-zero value, or an error.
 */
int store_notices_iter(struct store_notices *s, store_notices_out_cb out_cb,
		       store_notices_msg_cb msg_cb, void *ctx);

/* store_notices_get() - malloc'd copy of message @id into *@bytes; STORE_E_NOT_FOUND. */
int store_notices_get(struct store_notices *s, const uint8_t id[16], uint8_t *flags,
		      uint8_t **bytes, size_t *len);

/*
 * store_notices_due() - up to @cap outbox entries with next_attempt_ms <= @now_ms into @out
 * (caller storage), *@n = count. Scans the whole outbox (undelivered notices only).
 */
int store_notices_due(struct store_notices *s, uint64_t now_ms, struct store_notice_out *out,
		      size_t cap, size_t *n);

/* store_notices_watch_seq() - meta watch_seq (0 when never written). */
int store_notices_watch_seq(struct store_notices *s, uint64_t *seq);

/*
 * store_notices_signer_bytes() - *@bytes = the signers total of member @id (0 when it signed
 * no received message held). STORE_E_CORRUPT for a malformed entry.
 */
int store_notices_signer_bytes(struct store_notices *s, const uint8_t id[32], uint64_t *bytes);

/* store_notices_count() - messages and outbox entries held. */
int store_notices_count(struct store_notices *s, uint64_t *msgs, uint64_t *outbox);

#endif
