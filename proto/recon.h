/* SPDX-License-Identifier: MIT */
/*
 * proto/recon.h — catch-up by range-based set reconciliation (DESIGN.md §5), sans I/O.
 *
 * Items are the gossipable (CLEAR and GREEN) reports a node stores, as 40-byte keys
 *     key = created ms (u64 big-endian) || report id (32 bytes)
 * ordered bytewise (so by time, then id). This is the store's STORE_RECON_KEY_LEN layout
 * (store/store.h): the node plugs store_recon_fingerprint()/store_recon_list() into
 * struct proto_recon_source, the simulator an in-memory sorted array.
 *
 * Protocol (Negentropy-style). Two peers each hold a set; one session finds the symmetric
 * difference in a few round trips, at a cost close to the size of the difference. A
 * message covers the whole key space as consecutive ranges [lower, upper), the first
 * starting at the all-zero key and the last ending at +infinity; each range carries a mode:
 *   SKIP         nothing to do here (already reconciled).
 *   FINGERPRINT  the sender's fingerprint and item count of the range, where
 *                fingerprint = BLAKE2b-128(sum || count u64 LE) and sum = the report ids
 *                of the range read as 256-bit little-endian integers, added mod 2^256.
 *   IDLIST       every report id the sender holds in the range.
 * The initiator opens with its own items split into `buckets` ranges of equal count (or
 * one IDLIST when it holds at most idlist_max items). The receiver of a message answers
 * range by range:
 *   FINGERPRINT equal to its own (same count too)   -> SKIP
 *   peer count 0                                    -> everything it holds there is "have"
 *                                                      (the peer lacks it); SKIP
 *   own count <= idlist_max                         -> IDLIST of its own ids
 *   otherwise                                       -> its own items split into `buckets`
 *                                                      FINGERPRINT ranges (recursion)
 *   IDLIST                                          -> own ids not listed are "have",
 *                                                      listed ids it lacks are "need"; SKIP
 * So every difference is found by exactly one side, which then acts: it pushes its "have"
 * reports (PUSH, proto/link.h) and asks for its "need" ids (FETCH, proto/link.h). A node
 * that was offline for a while therefore sends a short id list of the little it holds in
 * the gap and receives the reports it missed with almost no id traffic.
 *
 * A reply whose ranges are all SKIP means the session is complete; it is sent as the
 * "done" message (no ranges) so the peer knows, and neither side sends anything after it.
 *
 * Frame-size bound: a reply never exceeds cfg.msg_max bytes (<= PROTO_LINK_BIN_MAX, so it
 * fits one RECON link message). When the answers would not fit, the rest of the key space
 * is sent as one FINGERPRINT range and reconciled in later rounds.
 *
 * Wire format of the RECON payload (the bin inside [11, bin], proto/link.h), canonical
 * msgpack (DESIGN.md §4):
 *     [1, role, range, range, ...]
 *   1      format version (PROTO_RECON_VERSION); anything else is PROTO_E_VERSION.
 *   role   0 = sent by the session's initiator, 1 = by its responder. Routes the message to
 *          the right session when both peers initiate at once.
 *   range  every range but the last: [ts_delta, prefix, mode, args...]
 *          the last range (upper bound +infinity): [mode, args...]
 *          Upper bound = (ts, prefix): the key ts (8 bytes BE) || prefix || zero bytes,
 *          where ts = previous bound's ts (0 for the first) + ts_delta and prefix is a bin
 *          of 0..32 bytes whose last byte is not zero (PROTO_E_RECON_BOUND otherwise, so
 *          each bound has one encoding). Bounds strictly ascend from the all-zero key.
 *          mode 0 SKIP         no args; two adjacent SKIP ranges are PROTO_E_RECON_SKIP
 *                              (they must be merged), as is a message whose only range is
 *                              a SKIP (that is the done message, written with no ranges).
 *          mode 1 FINGERPRINT  args: fingerprint (bin 16), count (uint)
 *          mode 2 IDLIST       args: ids (bin of 32*n bytes, n >= 0), strictly ascending
 *                              bytewise (PROTO_E_RECON_IDS otherwise)
 *          other modes: PROTO_E_RECON_MODE.
 *     [1, role] with no range is the done message.
 * Bounds are compact: splits between items with different timestamps need no id bytes at
 * all, others only as many id bytes as tell the two neighbouring ids apart.
 *
 * Hostile peers: every message is decoded strictly and bounded by PROTO_LINK_BIN_MAX; a
 * session fails with PROTO_E_RECON_ROUNDS after rounds_max received messages, so a peer
 * that never converges costs at most rounds_max passes over the item set. After any error
 * the session is dead: every later call returns PROTO_E_RECON_STATE. The node closes it and
 * counts the failure (a new session may start later).
 *
 * Threads: one session from one thread at a time; sessions are independent. The source's
 * callbacks run synchronously inside proto_recon_initiate(), proto_recon_receive() and
 * proto_recon_have(), on the calling thread.
 */
#ifndef CHATHAM_PROTO_RECON_H
#define CHATHAM_PROTO_RECON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_RECON_VERSION 1
#define PROTO_RECON_KEY_LEN 40 /* created ms u64 BE || report id; == STORE_RECON_KEY_LEN */
#define PROTO_RECON_ID_LEN 32
#define PROTO_RECON_FP_LEN 16
#define PROTO_RECON_MSG_MIN 2048 /* smallest allowed cfg.msg_max */
#define PROTO_RECON_BUCKETS_MAX 64
#define PROTO_RECON_IDLIST_MAX 256	     /* largest allowed cfg.idlist_max */
#define PROTO_RECON_INVITE_MAX_DEFAULT 16384 /* cfg.invite_max when 0 */
#define PROTO_RECON_COUNT_UNKNOWN UINT64_MAX /* a peer count not given */

/* proto_recon_receive() result when the session is complete. */
#define PROTO_RECON_DONE 1

enum proto_recon_mode {
	PROTO_RECON_SKIP = 0,
	PROTO_RECON_FINGERPRINT = 1,
	PROTO_RECON_IDLIST = 2,
};

/*
 * The item set, provided by the caller (borrowed by the session; must outlive it). Bounds
 * are 40-byte keys; @lo NULL means from the first item, @hi NULL means to the end; the
 * range is half-open [lo, hi). Callbacks return 0 or a negative code, which the session
 * call that invoked them returns unchanged (the session is then dead).
 */
struct proto_recon_source {
	/*
	 * fingerprint() - @sum (32 bytes, out) = sum of the report ids in [lo, hi), each read
	 * as a 256-bit little-endian integer, mod 2^256 (all zero when empty, see
	 * proto_recon_sum_add()); *@count = number of items.
	 */
	int (*fingerprint)(void *ctx, const uint8_t *lo, const uint8_t *hi, uint8_t sum[32],
			   uint64_t *count);
	/* list() - the first @cap (>= 1) keys of [lo, hi), ascending, into @keys; *@n = count. */
	int (*list)(void *ctx, const uint8_t *lo, const uint8_t *hi,
		    uint8_t (*keys)[PROTO_RECON_KEY_LEN], size_t cap, size_t *n);
	/*
	 * at() - optional (NULL: not used): the keys of rank @rank - 1 and @rank (0-based,
	 * ascending; 1 <= @rank < items in [lo, hi)) into @keys[0] and @keys[1]. Returns 1, 0
	 * when the source cannot answer here (the split then lists the range), or an error. With
	 * it a range is split into buckets of equal count by `buckets - 1` of these and a
	 * fingerprint per bucket instead of a listing of the whole range; the message is the
	 * same byte for byte.
	 */
	int (*at)(void *ctx, const uint8_t *lo, const uint8_t *hi, uint64_t rank,
		  uint8_t (*keys)[PROTO_RECON_KEY_LEN]);
	void *ctx;
};

/* Configuration. Zero fields take the default; out-of-bounds values fail proto_recon_new(). */
struct proto_recon_config {
	unsigned buckets;    /* ranges per split: 0 = 16; 2..PROTO_RECON_BUCKETS_MAX */
	unsigned idlist_max; /* answer a range with its ids at <= this many items: 0 = buckets;
				buckets..PROTO_RECON_IDLIST_MAX */
	size_t msg_max;	     /* reply size bound in bytes: 0 = PROTO_LINK_BIN_MAX;
				PROTO_RECON_MSG_MIN..PROTO_LINK_BIN_MAX */
	unsigned rounds_max; /* received messages per session: 0 = 64; >= 2 */
	size_t pending_max;  /* undrained need ids and have ranges kept, and invited ranges
				remembered: 0 = 65536; >= 16 */
	uint64_t invite_max; /* copies the peer's pushes may bring that proto_recon_invited()
				takes as asked for, over the whole session: 0 =
				PROTO_RECON_INVITE_MAX_DEFAULT */
};

struct proto_recon_stats {
	unsigned rounds;	 /* messages received */
	unsigned sent;		 /* messages produced */
	uint64_t bytes_sent;	 /* payload bytes produced (initiate + replies) */
	uint64_t bytes_received; /* payload bytes received */
	uint64_t have_ids;	 /* ids handed out by proto_recon_have() so far */
	uint64_t need_ids;	 /* ids found missing here (queued for proto_recon_need()) */
	uint64_t dropped;	 /* need ids / have ranges / invited ranges dropped at
				    pending_max (a later session finds them again) */
	uint64_t invited_ids;	 /* copies proto_recon_invited() took as asked for */
};

struct proto_recon;

/*
 * proto_recon_new() - a session over the item set @src (borrowed, must outlive the
 * session; its ctx too). @cfg may be NULL for defaults (copied). Returns NULL on -ENOMEM or
 * an invalid config (bounds above; NULL callbacks).
 */
struct proto_recon *proto_recon_new(const struct proto_recon_config *cfg,
				    const struct proto_recon_source *src);

/* proto_recon_free() - NULL-safe. */
void proto_recon_free(struct proto_recon *r);

/*
 * proto_recon_initiate() - make this session the initiator and write its first message
 * into *@out (malloc'd, caller frees; <= msg_max bytes). Errors: PROTO_E_RECON_STATE if
 * the session already initiated or received; -ENOMEM; a source callback's error.
 */
int proto_recon_initiate(struct proto_recon *r, uint8_t **out, size_t *out_len);

/*
 * proto_recon_receive() - process one RECON payload @msg (@len bytes, borrowed) from the
 * peer. A session that has neither initiated nor received becomes the responder (the
 * message must then be role 0). After it returns, drain proto_recon_have() and
 * proto_recon_need().
 *
 * Returns:
 *   0                 *@out (malloc'd, caller frees) is the reply to send; more rounds follow.
 *   PROTO_RECON_DONE  the session is complete. *@out is the done message to send, or NULL
 *                     when the peer's message was the done message (send nothing).
 *   negative          the session is dead (*@out NULL): PROTO_E_VERSION, PROTO_E_RECON_MODE,
 *                     _BOUND, _IDS, _SKIP, msgpack codes (PROTO_E_TRUNCATED, _TRAILING,
 *                     _NONMINIMAL, _TYPE, _RANGE, _TOO_LARGE for a message over
 *                     PROTO_LINK_BIN_MAX, ...), PROTO_E_RECON_STATE (wrong role, or the
 *                     session already complete or dead), PROTO_E_RECON_ROUNDS, -ENOMEM,
 *                     or a source callback's error.
 */
int proto_recon_receive(struct proto_recon *r, const uint8_t *msg, size_t len, uint8_t **out,
			size_t *out_len);

/*
 * proto_recon_have() - hand out up to @cap ids (into caller storage @ids) of reports this
 * side holds and the peer lacks; the caller PUSHes them. Reads the source lazily, so a
 * large gap never sits in memory. *@n = ids written; 0 when none are left for now (more may
 * come after the next proto_recon_receive()). Errors: a source callback's error.
 */
int proto_recon_have(struct proto_recon *r, uint8_t (*ids)[32], size_t cap, size_t *n);

/*
 * proto_recon_need() - hand out up to @cap ids the peer holds and this side lacks; the
 * caller sends FETCH for them (at most PROTO_LINK_IDS_MAX per message). *@n = ids written.
 * "Lacks" is judged within the range the peer listed them in: a peer that lies about an
 * id's time can make us ask for a report we hold, so the caller may skip ids its store
 * has (and admits whatever arrives like any report).
 */
void proto_recon_need(struct proto_recon *r, uint8_t (*ids)[32], size_t cap, size_t *n);

/*
 * proto_recon_invited() - whether a report the peer pushed to us while this session runs,
 * with recon key @key (created ms || id, borrowed), is one this session asked for: @key
 * falls in a range this side's messages sent as IDLIST or as a FINGERPRINT of count 0 (the
 * ranges where the peer pushes what it holds and the list lacks), that range has brought
 * fewer copies than the peer's count there (when the peer gave one: we answered its
 * FINGERPRINT with our id list), and fewer than cfg.invite_max copies came over the whole
 * session. A true answer counts the copy against both. A peer answers a message's ranges
 * before it sends its next message, so every copy it pushes for a round arrives while the
 * session is still open. Anything else the peer pushes (outside those ranges, or
 * past the counts) is unsolicited: false. NULL @r: false.
 */
bool proto_recon_invited(struct proto_recon *r, const uint8_t key[PROTO_RECON_KEY_LEN]);

/* proto_recon_done() - true once the session is complete (not when it failed). */
bool proto_recon_done(const struct proto_recon *r);

void proto_recon_get_stats(const struct proto_recon *r, struct proto_recon_stats *st);

/*
 * proto_recon_msg_role() - the role field (0 initiator, 1 responder) of payload @msg,
 * read from its header only, so the node can route it to a session before decoding.
 * Negative PROTO_E_* code when the header is malformed.
 */
int proto_recon_msg_role(const uint8_t *msg, size_t len);

/* ------------------------------------------------------------------ message codec */

/* One range of a decoded message; its lower bound is the previous range's upper bound. */
struct proto_recon_range {
	uint8_t upper[PROTO_RECON_KEY_LEN]; /* ignored when upper_inf */
	bool upper_inf;			    /* true exactly for the last range */
	enum proto_recon_mode mode;
	uint8_t fp[PROTO_RECON_FP_LEN]; /* FINGERPRINT */
	uint64_t count;			/* FINGERPRINT */
	const uint8_t *ids;		/* IDLIST: n_ids * 32 bytes, borrowed */
	size_t n_ids;
};

struct proto_recon_msg {
	unsigned role; /* 0 initiator, 1 responder */
	size_t n;      /* 0 = the done message */
	struct proto_recon_range *ranges;
};

/*
 * proto_recon_msg_decode() - strictly decode payload @buf (@len bytes, borrowed). On
 * success @m->ranges is malloc'd (free with proto_recon_msg_deinit()) and IDLIST views
 * point into @buf. Errors as proto_recon_receive() lists for malformed messages; @m is
 * left empty.
 */
int proto_recon_msg_decode(struct proto_recon_msg *m, const uint8_t *buf, size_t len);

/*
 * proto_recon_msg_encode() - canonical encoding of @m into *@out (malloc'd). The ranges
 * must obey the decoder's rules (ascending bounds, only the last one infinite, merged
 * SKIPs, ascending ids); errors: -EINVAL for a NULL pointer or role > 1, the decoder's
 * code for a rule broken, PROTO_E_TOO_LARGE beyond PROTO_LINK_BIN_MAX, -ENOMEM.
 */
int proto_recon_msg_encode(const struct proto_recon_msg *m, uint8_t **out, size_t *out_len);

/* proto_recon_msg_deinit() - free the ranges array; NULL-safe, idempotent. */
void proto_recon_msg_deinit(struct proto_recon_msg *m);

/* ------------------------------------------------------------------ helpers for sources */

/* proto_recon_key() - @key = created_ms (8 bytes BE) || @id. */
void proto_recon_key(uint8_t key[PROTO_RECON_KEY_LEN], uint64_t created_ms, const uint8_t id[32]);

/* proto_recon_sum_add() / _sub() - @sum += / -= @id as 256-bit little-endian, mod 2^256. */
void proto_recon_sum_add(uint8_t sum[32], const uint8_t id[32]);
void proto_recon_sum_sub(uint8_t sum[32], const uint8_t id[32]);

/* proto_recon_fingerprint() - @fp = BLAKE2b-128(@sum || @count as u64 LE). */
void proto_recon_fingerprint(uint8_t fp[PROTO_RECON_FP_LEN], const uint8_t sum[32], uint64_t count);

#endif
