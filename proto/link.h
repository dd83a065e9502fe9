/* SPDX-License-Identifier: MIT */
/*
 * proto/link.h — link messages: what travels inside Noise transport messages once a link's
 * handshake is done (DESIGN.md §4 "Link messages").
 *
 * Every link message is one canonical msgpack array whose first element is the type (a
 * uint), followed by exactly the elements its type defines. One link message fills one
 * Noise transport message, so its encoding is at most PROTO_LINK_MAX_BYTES (65519).
 *
 *   #   name    layout                               meaning
 *   0   HELLO   [0, {0: version, 1: member id (bin 32), 2: roster epoch,
 *                    3: oldest version (optional), ...}]
 *               The first transport message each side sends. version: the newest link
 *               protocol version the sender speaks, PROTO_LINK_VERSION today, >= 1. member
 *               id: the sender's Ed25519 identity key (the node checks it matches the roster
 *               entry whose transport key authenticated the handshake). roster epoch: the
 *               newest roster the sender holds (0 = none). oldest version: the oldest
 *               version the sender still speaks, 1..version; absent means "only version"
 *               (and is how version 1 nodes, which never send it, are read). Keys 0-2 are
 *               required; keys >= 4 are extensions of later versions: this decoder checks
 *               they are canonical (ascending, depth <= 4, no floats/ext/nil) and ignores
 *               them, counting them in n_ext.
 *
 *               Compatibility rule (proto_link_version_agree()): two nodes speaking
 *               [oldest_a, newest_a] and [oldest_b, newest_b] use version
 *               min(newest_a, newest_b) if it is >= max(oldest_a, oldest_b), otherwise they
 *               do not link. A release that changes the link protocol raises
 *               PROTO_LINK_VERSION and keeps PROTO_LINK_VERSION_MIN at the previous version
 *               for at least one release, so members can upgrade one at a time.
 *   1   PING    [1, nonce (uint64)]       liveness probe.
 *   2   PONG    [2, nonce (uint64)]       answer to PING, carrying the same nonce.
 *   3   REKEY   [3]                       the sender rekeyed its sending cipher right after
 *               this message (proto/noise.h "Rekey"): the receiver must call
 *               proto_noise_rekey_recv() after decrypting it and before decrypting the next
 *               message.
 *   4   PUSH    [4, report (bin)]         eager gossip of a signed report (CLEAR/GREEN).
 *   5   IHAVE   [5, [id (bin 32), ...]]   lazy gossip: report ids the sender holds.
 *   6   GRAFT   [6, [id (bin 32), ...]]   please send these reports eagerly and keep this
 *               link in the eager (tree) set.
 *   7   PRUNE   [7]                       move this link to the lazy set (duplicate seen).
 *   8   DIRECT  [8, report (bin)]         an AMBER/AMBER+STRICT/RED report delivered to a
 *               named recipient: the link peer itself. Never forwarded.
 *   9   ACK     [9, report id (bin 32)]   DIRECT report stored (committed); stop retrying.
 *   10  STEM    [10, report (bin)]        anonymous report in its Dandelion stem phase.
 *   11  RECON   [11, message (bin)]       set reconciliation message; the payload is owned
 *               and defined by the reconciliation module.
 *   12  ROSTER  [12, signed roster (bin)] a signed roster (proto/roster.h wire form).
 *   13  FETCH   [13, [id (bin 32), ...]]  please send these reports (catch-up after RECON).
 *   14  ROSTER_PART [14, index (uint), total (uint), chunk (bin)]
 *               a signed roster too large for one ROSTER message (over PROTO_LINK_BIN_MAX
 *               bytes; proto/roster.h allows 1 MiB), cut into @total (2..PROTO_LINK_PARTS_MAX)
 *               consecutive chunks of 1..PROTO_LINK_PART_MAX bytes. The parts go in order
 *               (index 0 first) on one link; the receiver joins them and handles the result
 *               as a ROSTER. A part out of order discards what was joined so far.
 *   15  CATCHUP [15, report (bin)]      a CLEAR/GREEN report sent by catch-up (a session's
 *               "have" item or the answer to FETCH), not by gossip: the receiver stores it
 *               without passing it to its gossip engine, so it is never re-gossiped.
 *   16  OPRF_EVAL   [16, payload (bin)]  sealed sightings (proto/sealed_msg.h, which
 *   17  OPRF_ANSWER [17, payload (bin)]  defines and decodes the payloads): an OPRF
 *   18  SEALED      [18, submission (bin)] evaluation request and its answer between a
 *   19  OPRF_HOLDER [19, payload (bin)]  member and a share holder, a sealed submission
 *               (gossiped to every link), and a share holder's announcement on link-up.
 *               Their payloads are bounded only by the message limit.
 *   20  NOTICE  [20, signed notice (bin)]  a notice or status reply between member teams
 *               (proto/notice.h wire form, at most PROTO_NOTICE_MAX_BYTES), delivered to
 *               the link peer, which is the notice's `to`. Sent from a persistent outbox
 *               and retried until NOTICE_ACK; never gossiped or forwarded as is (a
 *               coordinator forwards a NEW notice signed by itself).
 *   21  NOTICE_ACK [21, notice id (bin 16)]  the NOTICE with this id is stored (committed)
 *               by the receiver; stop retrying.
 *   22  NOTICE_REFUSED [22, notice id (bin 16), reason (uint 1..255)]  the NOTICE with this
 *               id is refused for good by the receiver (enum proto_notice_refusal in
 *               proto/notice.h; a number the sender does not know is kept as a number):
 *               stop retrying. No free text: the reason is all the sender learns.
 *   23          reserved for notices; 24-31 reserved (key lifecycle, issue 13).
 * Unassigned numbers are refused as PROTO_E_LINK_MSG; new types take the next free number
 * of their reserved band, never reuse one.
 *
 * Id lists (IHAVE, GRAFT, FETCH) hold 1..PROTO_LINK_IDS_MAX ids (an empty list is
 * PROTO_E_EMPTY). bin payloads are 1 byte or more: PUSH, DIRECT, STEM and CATCHUP carry one signed
 * report, at most PROTO_REPORT_MAX_BYTES (proto/report.h); RECON and ROSTER are bounded
 * only by the message limit, PROTO_LINK_BIN_MAX (65514) bytes. Payload contents are decoded
 * by their own modules (report, roster, reconciliation), not here.
 *
 * All functions are pure and thread-safe.
 */
#ifndef CHATHAM_PROTO_LINK_H
#define CHATHAM_PROTO_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_LINK_VERSION 1	   /* the newest link protocol version this code speaks */
#define PROTO_LINK_VERSION_MIN 1   /* the oldest one it still speaks */
#define PROTO_LINK_MAX_BYTES 65519 /* == PROTO_NOISE_MAX_PAYLOAD */
#define PROTO_LINK_BIN_MAX (PROTO_LINK_MAX_BYTES - 5) /* array hdr, type, bin16 header */
#define PROTO_LINK_IDS_MAX 1024
#define PROTO_LINK_ID_LEN 32
#define PROTO_LINK_PART_MAX (PROTO_LINK_MAX_BYTES - 16) /* ROSTER_PART chunk bytes */
#define PROTO_LINK_PARTS_MAX 32 /* ROSTER_PART total: 32 chunks hold more than 1 MiB */

enum proto_link_type {
	PROTO_LINK_HELLO = 0,
	PROTO_LINK_PING = 1,
	PROTO_LINK_PONG = 2,
	PROTO_LINK_REKEY = 3,
	PROTO_LINK_PUSH = 4,
	PROTO_LINK_IHAVE = 5,
	PROTO_LINK_GRAFT = 6,
	PROTO_LINK_PRUNE = 7,
	PROTO_LINK_DIRECT = 8,
	PROTO_LINK_ACK = 9,
	PROTO_LINK_STEM = 10,
	PROTO_LINK_RECON = 11,
	PROTO_LINK_ROSTER = 12,
	PROTO_LINK_FETCH = 13,
	PROTO_LINK_ROSTER_PART = 14,
	PROTO_LINK_CATCHUP = 15,
	PROTO_LINK_OPRF_EVAL = 16,
	PROTO_LINK_OPRF_ANSWER = 17,
	PROTO_LINK_SEALED = 18,
	PROTO_LINK_OPRF_HOLDER = 19,
	PROTO_LINK_NOTICE = 20,
	PROTO_LINK_NOTICE_ACK = 21,
	PROTO_LINK_NOTICE_REFUSED = 22,
	PROTO_LINK_TYPE_COUNT = 23, /* one past the highest assigned type; gaps are unassigned */
};

struct proto_link_hello {
	uint64_t version;
	uint8_t member_id[32];
	uint64_t roster_epoch;
	uint64_t min_version; /* key 3; 0 = absent (decode) / not sent (encode): only version */
	unsigned n_ext;	      /* decode: extension keys (>= 4) seen and ignored; encode: unused */
};

/*
 * A decoded link message. Views (bin.p, ids.p) borrow the buffer given to
 * proto_link_decode() and are valid only while it is.
 */
struct proto_link_msg {
	enum proto_link_type type;
	union {
		struct proto_link_hello hello; /* HELLO */
		uint64_t nonce;		       /* PING, PONG */
		struct {
			const uint8_t *p;
			size_t len;
		} bin; /* PUSH, DIRECT, STEM, RECON, ROSTER, CATCHUP, types 16-19, NOTICE */
		struct {
			const uint8_t *p; /* encoded list; read with proto_link_id() */
			size_t n;
		} ids;		       /* IHAVE, GRAFT, FETCH */
		uint8_t id[32];	       /* ACK */
		uint8_t notice_id[16]; /* NOTICE_ACK */
		struct {
			uint8_t id[16];
			uint8_t reason; /* 1..255 */
		} refused;		/* NOTICE_REFUSED */
		struct {
			uint32_t index, total;
			const uint8_t *p;
			size_t len;
		} part; /* ROSTER_PART */
	} u;
};

/*
 * proto_link_decode() - strictly decode one link message from @buf (@len bytes, borrowed).
 * @m: caller storage, filled on success (views into @buf); unspecified on failure.
 *
 * Returns 0; PROTO_E_TOO_LARGE when @len > PROTO_LINK_MAX_BYTES or a list/bin is over
 * its limit; PROTO_E_LINK_MSG for an unknown type or an element count that does not
 * match the type; PROTO_E_EMPTY for an empty id list or bin payload; PROTO_E_TRAILING for
 * bytes after the array; PROTO_E_RANGE for a ROSTER_PART whose index or total is out of
 * range or a NOTICE_REFUSED reason outside 1..255; or the canonical-msgpack code of the first bad value
 * (PROTO_E_TRUNCATED, PROTO_E_NONMINIMAL, PROTO_E_TYPE, PROTO_E_RANGE for a HELLO
 * version 0 or an id shorter than 32 bytes, PROTO_E_TOO_LARGE for one longer,
 * PROTO_E_KEY_ORDER/_DUP, PROTO_E_KEY_MISSING, PROTO_E_DEPTH, PROTO_E_FLOAT,
 * PROTO_E_RESERVED, PROTO_E_UTF8).
 */
int proto_link_decode(struct proto_link_msg *m, const uint8_t *buf, size_t len);

/*
 * proto_link_id() - the @i-th id (i < m->u.ids.n) of a decoded IHAVE/GRAFT/FETCH, as a
 * pointer to 32 bytes inside the decoded buffer (borrowed, same lifetime).
 */
const uint8_t *proto_link_id(const struct proto_link_msg *m, size_t i);

/*
 * Encoders. Each writes the canonical encoding into *@out (malloc'd, owned by the caller,
 * free()) and its length into *@out_len. They return 0, -ENOMEM, -EINVAL for a @type that
 * does not have that layout or a NULL pointer with a non-zero count, PROTO_E_EMPTY for an
 * empty id list or bin payload, PROTO_E_TOO_LARGE when a list or payload is over its
 * limit, PROTO_E_RANGE for a HELLO version of 0 or a min_version over version.
 */
int proto_link_encode_hello(const struct proto_link_hello *h, uint8_t **out, size_t *out_len);

/*
 * proto_link_version_agree() - the compatibility rule (see HELLO above) between our HELLO
 * @ours and the peer's decoded HELLO @theirs (both borrowed; a min_version of 0 means "only
 * version"). Returns true and the version the link uses in *@agreed, or false when the two
 * ranges do not overlap (*@agreed untouched): the link must not be used.
 */
bool proto_link_version_agree(const struct proto_link_hello *ours,
			      const struct proto_link_hello *theirs, uint64_t *agreed);

/* PING or PONG (@type) with @nonce. */
int proto_link_encode_nonce(enum proto_link_type type, uint64_t nonce, uint8_t **out,
			    size_t *out_len);

/* REKEY or PRUNE (@type): the bare type. */
int proto_link_encode_bare(enum proto_link_type type, uint8_t **out, size_t *out_len);

/*
 * PUSH, DIRECT, STEM, RECON, ROSTER, CATCHUP, OPRF_EVAL, OPRF_ANSWER, SEALED, OPRF_HOLDER
 * or NOTICE (@type) with @len bytes of @p (borrowed).
 */
int proto_link_encode_bin(enum proto_link_type type, const uint8_t *p, size_t len, uint8_t **out,
			  size_t *out_len);

/* IHAVE, GRAFT or FETCH (@type) with @n ids (@ids borrowed, n * 32 bytes). */
int proto_link_encode_ids(enum proto_link_type type, const uint8_t (*ids)[32], size_t n,
			  uint8_t **out, size_t *out_len);

/* ACK of report @id. */
int proto_link_encode_ack(const uint8_t id[32], uint8_t **out, size_t *out_len);

/* NOTICE_ACK of notice @id. */
int proto_link_encode_notice_ack(const uint8_t id[16], uint8_t **out, size_t *out_len);

/* NOTICE_REFUSED of notice @id for @reason (1..255; PROTO_E_RANGE for 0). */
int proto_link_encode_notice_refused(const uint8_t id[16], uint8_t reason, uint8_t **out,
				     size_t *out_len);

/*
 * ROSTER_PART @index of @total with @len bytes of @p (borrowed). PROTO_E_RANGE unless
 * index < total and 2 <= total <= PROTO_LINK_PARTS_MAX; PROTO_E_EMPTY / PROTO_E_TOO_LARGE
 * for a chunk of 0 or over PROTO_LINK_PART_MAX bytes.
 */
int proto_link_encode_part(uint32_t index, uint32_t total, const uint8_t *p, size_t len,
			   uint8_t **out, size_t *out_len);

/* proto_link_type_name() - "HELLO", "PING", ... or "UNKNOWN"; static string, for logs. */
const char *proto_link_type_name(uint64_t type);

#endif
