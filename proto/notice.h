/* SPDX-License-Identifier: MIT */
/*
 * proto/notice.h — notices between member teams (notifier → [coordinator] → recipient) and
 * their status replies: the signed message, and the reply handle that lets a coordinator
 * forward a notice without naming the notifier to the recipient (Chatham House for the
 * recipient) and still route the recipient's answers back.
 *
 * Wire form: msgpack [body: bin, signature: bin 64], the signature Ed25519 by the member
 * `from` over "chatham/notice/1" || body. body = map {
 *     0: version (1),          1: community id (bin 32),
 *     2: notice id (bin 16),   3: thread id (bin 16: the id of the notice that opened it),
 *     4: kind (0 notice, 1 status),
 *     5: from (member id, bin 32: the signer),   6: to (member id, bin 32: the next hop),
 *     7: TLP (AMBER 3, AMBER+STRICT 4, RED 5: a notice is never CLEAR or GREEN),
 *     8: created (ms since the Unix epoch, <= PROTO_REPORT_TIME_MAX_MS),
 *     9: form (str: a JSON form, node/format/form.h; kind 0 only, required there),
 *    10: status (uint: 1 received, 2 investigating, 3 resolved, 4 not ours; kind 1 only),
 *    11: comment (str <= PROTO_NOTICE_COMMENT_MAX; kind 1 only, optional),
 *    12: deliver to (member id, bin 32: the final recipient, when `to` is a coordinator
 *        asked to forward; optional),
 *    13: reply handle (bin PROTO_NOTICE_HANDLE_BYTES; set by a coordinator on what it
 *        forwards, and echoed by the recipient on its replies; optional) }
 * Keys in ascending order, only those that apply, nothing else (canonical msgpack).
 *
 * The reply handle is XChaCha20-Poly1305 under a key only the coordinator holds, over the
 * notifier's member id and the notifier's notice id: opaque to the recipient, and opened
 * only by the coordinator that made it (proto_notice_handle_open()).
 *
 * Thread rules: none; functions are reentrant, pointers borrowed for the call.
 */
#ifndef CHATHAM_PROTO_NOTICE_H
#define CHATHAM_PROTO_NOTICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_NOTICE_VERSION 1
#define PROTO_NOTICE_DOMAIN "chatham/notice/1"
/* A notice travels in one link message (proto/link.h NOTICE, at most PROTO_LINK_BIN_MAX
 * bytes), so a form is at most 60 KiB of UTF-8 whatever its schema allows in characters. */
#define PROTO_NOTICE_FORM_MAX (60 * 1024)
#define PROTO_NOTICE_COMMENT_MAX 4096
#define PROTO_NOTICE_MAX_BYTES (PROTO_NOTICE_FORM_MAX + 1024)
/* nonce (24) || sealed (member id 32 + notice id 16) || tag (16) */
#define PROTO_NOTICE_HANDLE_BYTES (24 + 32 + 16 + 16)

enum proto_notice_kind { PROTO_NOTICE_KIND_NOTICE = 0, PROTO_NOTICE_KIND_STATUS = 1 };

enum proto_notice_status {
	PROTO_NOTICE_RECEIVED = 1,
	PROTO_NOTICE_INVESTIGATING = 2,
	PROTO_NOTICE_RESOLVED = 3,
	PROTO_NOTICE_NOT_OURS = 4,
};

/*
 * Why a receiver refuses a notice for good (link message NOTICE_REFUSED, proto/link.h): the
 * same notice would be refused again, so its sender stops retrying. A refusal that may pass
 * later (the sender not yet in the receiver's roster, a failure of the receiver itself) is
 * never sent: the sender keeps retrying. New reasons take the next number; a sender keeps
 * a number it does not know as a number.
 */
enum proto_notice_refusal {
	PROTO_NOTICE_REFUSED_NOT_ADDRESSED = 1, /* another community or `to`, or not signed by
						 * the member whose link delivered it */
	PROTO_NOTICE_REFUSED_FORM = 2,		/* the form is not valid under its schema (or
						 * a status's comment holds a NUL) */
	PROTO_NOTICE_REFUSED_FORWARD = 3,	/* deliver_to names no other member, or the
						 * notice was already forwarded once */
	PROTO_NOTICE_REFUSED_HANDLE = 4,	/* a reply handle the receiver did not make */
	PROTO_NOTICE_REFUSED_THREAD = 5,	/* a status for no notice the receiver sent */
};

/* A notice or status reply. Text pointers: owned by the caller when encoding; when
 * decoded, they point into the buffer given to proto_notice_decode() (borrowed). */
struct proto_notice {
	uint8_t community[32];
	uint8_t id[16];
	uint8_t thread[16];
	uint8_t kind;
	uint8_t from[32];
	uint8_t to[32];
	uint8_t tlp;
	uint64_t created_ms;
	const char *form; /* NUL-terminated when encoding; form_len bytes when decoded */
	size_t form_len;
	uint8_t status;
	const char *comment;
	size_t comment_len;
	bool has_deliver_to;
	uint8_t deliver_to[32];
	bool has_handle;
	uint8_t handle[PROTO_NOTICE_HANDLE_BYTES];
};

/*
 * proto_notice_sign() - check @n, encode it and sign it with @sk (the Ed25519 secret key of
 * n->from). *@out (malloc'd, caller frees) holds the wire bytes.
 * Returns 0, -EINVAL when @sk is not n->from's key, the decoder's errors for a field out of
 * its rules (PROTO_E_REPORT_TLP, PROTO_E_REPORT_TIME, PROTO_E_TOO_LARGE, PROTO_E_UTF8,
 * PROTO_E_KEY_MISSING, PROTO_E_RANGE), -ENOMEM.
 */
int proto_notice_sign(const struct proto_notice *n, const uint8_t sk[64], uint8_t **out,
		      size_t *out_len);

/*
 * proto_notice_decode() - strict decode of @buf/@len into @n (text fields borrowed from
 * @buf) and verify the signature against n->from. Returns 0 or the first problem: a
 * proto/mp.h decoding error, PROTO_E_VERSION, PROTO_E_KEY_UNKNOWN/MISSING, PROTO_E_RANGE,
 * PROTO_E_REPORT_TLP, PROTO_E_REPORT_TIME, PROTO_E_TOO_LARGE, PROTO_E_UTF8,
 * PROTO_E_REPORT_SIG (the signature). Whether `from` and `to` are members, and whether the
 * node is `to`, is the caller's (admission's) to decide.
 */
int proto_notice_decode(const uint8_t *buf, size_t len, struct proto_notice *n);

/*
 * proto_notice_decode_stored() - proto_notice_decode() without the signature check, for
 * bytes that proto_notice_decode() accepted before (a store's own records: reading their
 * signer costs no Ed25519 verification). Same errors, without PROTO_E_REPORT_SIG's check of
 * the signature itself. Never for bytes from a link or a file.
 */
int proto_notice_decode_stored(const uint8_t *buf, size_t len, struct proto_notice *n);

/*
 * proto_notice_handle_seal() - a coordinator's reply handle for a notice it forwards: the
 * notifier's member id @from and notice id @id sealed under the coordinator's own 32-byte
 * @key (secret, kept by the coordinator). Random nonce.
 */
void proto_notice_handle_seal(uint8_t handle[PROTO_NOTICE_HANDLE_BYTES], const uint8_t key[32],
			      const uint8_t from[32], const uint8_t id[16]);

/*
 * proto_notice_handle_open() - 0 and the notifier's @from and notice @id when @handle was
 * made with @key; PROTO_E_REPORT_SIG when it was not (forged, altered, another
 * coordinator's).
 */
int proto_notice_handle_open(const uint8_t handle[PROTO_NOTICE_HANDLE_BYTES], const uint8_t key[32],
			     uint8_t from[32], uint8_t id[16]);

#endif
