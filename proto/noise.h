/* SPDX-License-Identifier: MIT */
/*
 * proto/noise.h — chatham's Noise session, sans I/O (DESIGN.md §4 "Transport").
 *
 * Protocol: Noise_XXpsk0_25519_ChaChaPoly_BLAKE2b (Noise revision 34).
 *     -> psk, e
 *     <- e, ee, s, es
 *     -> s, se
 * Prologue: the ASCII bytes "chatham/1" followed by the 32-byte community id. PSK: the
 * community's network key, so a peer without it fails at message 1 (PROTO_E_NOISE_DECRYPT
 * on the responder) before any static key has been sent. Handshake payloads are empty, so
 * the three handshake messages are exactly 48, 96 and 64 bytes.
 *
 * Life of a session (all calls on one session from one thread at a time; distinct
 * sessions are independent, and every function is thread-safe across sessions once
 * proto_crypto_init() has returned 0):
 *
 *     n = proto_noise_new(role, community_id, network_key, static_sk, ephemeral_sk);
 *     while (proto_noise_status(n) == PROTO_NOISE_WRITE or _READ)
 *             proto_noise_write_message() / proto_noise_read_message();
 *     // PROTO_NOISE_TRANSPORT: check proto_noise_remote_static() against the roster,
 *     // then proto_noise_encrypt() / proto_noise_decrypt() link messages.
 *     proto_noise_free(n);
 *
 * Randomness and time come from the caller: the ephemeral secret is a parameter and the
 * hourly rekey is driven by proto_noise_rekey_due(now_ms). Nothing here does I/O or reads
 * a clock, so vectors, fuzzers and simulations are deterministic.
 *
 * Failure: any error while reading a handshake message, an all-zero DH result, and any
 * transport message that fails authentication leave the session PROTO_NOISE_FAILED; every
 * later call on it returns PROTO_E_NOISE_STATE and the link must be closed (TCP neither
 * drops nor reorders, so a bad message is an attack or a bug, never noise to skip). Errors
 * that happen before the session is touched (a call in the wrong state, an output buffer
 * that is too small) leave it as it was.
 *
 * Rekey (Noise §11, REKEY(k) = first 32 bytes of ENCRYPT(k, 2^64-1, "", 32 zero bytes);
 * the nonce keeps counting across a rekey):
 *  - By count: a cipher rekeys itself right after it has processed a message whose
 *    post-increment nonce is a multiple of the rekey interval (default 2^20). Sender and
 *    receiver count the same messages, so they stay in step with no signalling.
 *  - By time (hourly): needs a signal because the two clocks are not shared. The node polls
 *    proto_noise_rekey_due(n, now_ms); when it returns true it sends a REKEY link message
 *    (proto/link.h, type 3) through proto_noise_encrypt() and then calls
 *    proto_noise_rekey_send(n, now_ms). The peer, after decrypting and decoding a REKEY
 *    message and before decrypting anything else, calls proto_noise_rekey_recv(n). Each
 *    side rekeys only its own sending direction this way.
 *
 * Framing (DESIGN §4): every Noise message travels as a 2-byte big-endian length and the
 * message. proto_noise_frame_header() writes the prefix; struct proto_noise_framer cuts an
 * arbitrary byte stream into messages.
 */
#ifndef CHATHAM_PROTO_NOISE_H
#define CHATHAM_PROTO_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_NOISE_PROTOCOL "Noise_XXpsk0_25519_ChaChaPoly_BLAKE2b"
#define PROTO_NOISE_PROLOGUE_PREFIX "chatham/1" /* followed by the 32-byte community id */
#define PROTO_NOISE_KEY_LEN 32			/* X25519 keys, PSK, community id */
#define PROTO_NOISE_HASH_LEN 64			/* BLAKE2b-512: handshake hash */
#define PROTO_NOISE_TAG_LEN 16
#define PROTO_NOISE_MAX_MSG 65535 /* any Noise message, handshake or transport */
#define PROTO_NOISE_MAX_PAYLOAD (PROTO_NOISE_MAX_MSG - PROTO_NOISE_TAG_LEN) /* 65519 */
#define PROTO_NOISE_HANDSHAKE_MAX 96 /* largest chatham handshake message (message 2) */
#define PROTO_NOISE_FRAME_HDR 2
#define PROTO_NOISE_REKEY_MESSAGES (UINT64_C(1) << 20)
#define PROTO_NOISE_REKEY_MS (UINT64_C(3600) * 1000)

enum proto_noise_role {
	PROTO_NOISE_INITIATOR = 0, /* the side that opened the TCP connection */
	PROTO_NOISE_RESPONDER = 1,
};

enum proto_noise_status {
	PROTO_NOISE_WRITE = 0,	   /* handshake: our turn to call proto_noise_write_message() */
	PROTO_NOISE_READ = 1,	   /* handshake: waiting for proto_noise_read_message() */
	PROTO_NOISE_TRANSPORT = 2, /* handshake done: encrypt/decrypt */
	PROTO_NOISE_FAILED = 3,	   /* dead; free it and close the link */
};

struct proto_noise;

/*
 * proto_noise_new() - start a chatham handshake.
 * @role:         initiator or responder.
 * @community_id: 32 bytes, borrowed; goes into the prologue.
 * @network_key:  32-byte PSK, borrowed (copied, wiped on free).
 * @static_sk:    our X25519 transport secret key, borrowed (copied, wiped on free).
 * @ephemeral_sk: 32 fresh random bytes from the caller (proto_random()), borrowed (copied,
 *                wiped on free). Never reuse them for a second session.
 *
 * Returns a session in status WRITE (initiator) or READ (responder), or NULL when out of
 * memory or @role is invalid.
 */
struct proto_noise *proto_noise_new(enum proto_noise_role role, const uint8_t community_id[32],
				    const uint8_t network_key[32], const uint8_t static_sk[32],
				    const uint8_t ephemeral_sk[32]);

/* proto_noise_free() - wipe every key and free. NULL and failed sessions are fine. */
void proto_noise_free(struct proto_noise *n);

/* proto_noise_status() - where the session is; see enum proto_noise_status. */
enum proto_noise_status proto_noise_status(const struct proto_noise *n);

/*
 * proto_noise_write_message() - produce our next handshake message (empty payload).
 * @out: caller buffer of @cap bytes (PROTO_NOISE_HANDSHAKE_MAX is always enough).
 * @out_len: set to the message length (48 or 64 for the initiator, 96 for the responder).
 *
 * Returns 0; PROTO_E_NOISE_STATE when status is not WRITE; -ENOBUFS when @cap is too small
 * (session unchanged); PROTO_E_NOISE_DH when a DH result is all zero (session FAILED).
 * After the initiator's third message the status is TRANSPORT.
 */
int proto_noise_write_message(struct proto_noise *n, uint8_t *out, size_t cap, size_t *out_len);

/*
 * proto_noise_read_message() - consume the peer's next handshake message (@msg, @len,
 * borrowed). chatham handshake payloads are empty: a message of any other length than
 * the pattern's exact size is rejected before any cryptography.
 *
 * Returns 0; PROTO_E_NOISE_STATE when status is not READ (session unchanged);
 * PROTO_E_NOISE_SIZE for a wrong length; PROTO_E_NOISE_DECRYPT when a tag does not verify
 * (wrong network key, other prologue/community, tampering); PROTO_E_NOISE_DH for an
 * all-zero DH result (low-order peer key). On any error but STATE the session is FAILED.
 * After the responder reads message 3 the status is TRANSPORT.
 */
int proto_noise_read_message(struct proto_noise *n, const uint8_t *msg, size_t len);

/*
 * proto_noise_handshake_hash() - the final handshake hash h (64 bytes) into @out, for
 * channel binding. Returns 0 or PROTO_E_NOISE_STATE before TRANSPORT / after FAILED.
 */
int proto_noise_handshake_hash(const struct proto_noise *n, uint8_t out[64]);

/*
 * proto_noise_remote_static() - the peer's X25519 static public key into @out. The caller
 * must check it against the roster before trusting the link. Returns 0 or
 * PROTO_E_NOISE_STATE before TRANSPORT / after FAILED.
 */
int proto_noise_remote_static(const struct proto_noise *n, uint8_t out[32]);

/*
 * proto_noise_encrypt() - encrypt one transport message.
 * @pt/@len: payload, borrowed, @len <= PROTO_NOISE_MAX_PAYLOAD (may be 0).
 * @out/@cap: caller buffer; needs @len + 16 bytes. @out may be exactly @pt (in place);
 *            any other overlap is undefined.
 * @out_len: set to @len + 16.
 *
 * Returns 0; PROTO_E_NOISE_STATE when not TRANSPORT; PROTO_E_NOISE_SIZE when @len is too
 * large; -ENOBUFS when @cap is too small; PROTO_E_NOISE_NONCE when the send nonce reached
 * 2^64-1 (the session is then FAILED). None but NONCE change the session.
 */
int proto_noise_encrypt(struct proto_noise *n, const uint8_t *pt, size_t len, uint8_t *out,
			size_t cap, size_t *out_len);

/*
 * proto_noise_decrypt() - authenticate and decrypt one transport message.
 * @ct/@len: Noise message, borrowed, 16 <= @len <= PROTO_NOISE_MAX_MSG.
 * @out/@cap: caller buffer of at least @len - 16 bytes; may be exactly @ct.
 * @out_len: set to the payload length.
 *
 * Returns 0; PROTO_E_NOISE_STATE when not TRANSPORT; -ENOBUFS when @cap is too small
 * (session unchanged); PROTO_E_NOISE_SIZE for a bad length, PROTO_E_NOISE_DECRYPT when
 * the tag does not verify, PROTO_E_NOISE_NONCE when the receive nonce is exhausted (these
 * three leave the session FAILED).
 */
int proto_noise_decrypt(struct proto_noise *n, const uint8_t *ct, size_t len, uint8_t *out,
			size_t cap, size_t *out_len);

/*
 * proto_noise_rekey_due() - hourly rekey clock for our sending direction. @now_ms is any
 * monotonic millisecond clock. The first call in TRANSPORT starts the interval and returns
 * false; afterwards returns true once the interval has passed since the start or the last
 * proto_noise_rekey_send(). Always false outside TRANSPORT. Does not rekey by itself.
 */
bool proto_noise_rekey_due(struct proto_noise *n, uint64_t now_ms);

/*
 * proto_noise_rekey_send() - rekey our sending cipher; call right after encrypting a REKEY
 * link message. Restarts the hourly interval at @now_ms. Returns 0 or PROTO_E_NOISE_STATE.
 */
int proto_noise_rekey_send(struct proto_noise *n, uint64_t now_ms);

/*
 * proto_noise_rekey_recv() - rekey our receiving cipher; call right after decrypting a
 * REKEY link message, before the next proto_noise_decrypt(). Returns 0 or
 * PROTO_E_NOISE_STATE.
 */
int proto_noise_rekey_recv(struct proto_noise *n);

/*
 * proto_noise_set_rekey_interval() - change the count and time rekey intervals (defaults
 * PROTO_NOISE_REKEY_MESSAGES and PROTO_NOISE_REKEY_MS). For tests and simulations: both
 * peers must use the same @messages or they fall out of step. Returns 0 or -EINVAL when
 * @messages or @ms is 0.
 */
int proto_noise_set_rekey_interval(struct proto_noise *n, uint64_t messages, uint64_t ms);

/*
 * proto_noise_test_set_nonces() - TEST HOOK: overwrite the transport send/receive nonces
 * to exercise nonce exhaustion without 2^64 messages. Never call it in production.
 * Returns 0 or PROTO_E_NOISE_STATE when not TRANSPORT.
 */
int proto_noise_test_set_nonces(struct proto_noise *n, uint64_t send_n, uint64_t recv_n);

/* proto_noise_public_key() - X25519 public key of secret @sk into @pk. */
void proto_noise_public_key(uint8_t pk[32], const uint8_t sk[32]);

/* Framing ---------------------------------------------------------------------------- */

/*
 * proto_noise_frame_header() - write the 2-byte big-endian length prefix of a @msg_len-byte
 * Noise message into @out. Returns 0 or PROTO_E_NOISE_SIZE when @msg_len is 0 or above
 * PROTO_NOISE_MAX_MSG.
 */
int proto_noise_frame_header(uint8_t out[2], size_t msg_len);

/*
 * struct proto_noise_framer - cuts a byte stream into length-prefixed messages. Opaque;
 * one per link direction, one thread at a time.
 */
struct proto_noise_framer;

/*
 * proto_noise_framer_new() - framer that accepts messages of 1..@max_len bytes
 * (@max_len <= PROTO_NOISE_MAX_MSG; 0 means PROTO_NOISE_MAX_MSG; use
 * PROTO_NOISE_HANDSHAKE_MAX during the handshake via proto_noise_framer_set_max()).
 * Returns NULL when out of memory or @max_len is too large.
 */
struct proto_noise_framer *proto_noise_framer_new(size_t max_len);

/* proto_noise_framer_free() - free; NULL is fine. */
void proto_noise_framer_free(struct proto_noise_framer *f);

/*
 * proto_noise_framer_set_max() - change the limit for frames whose header has not been
 * read yet. Returns 0 or -EINVAL when @max_len is 0 or above PROTO_NOISE_MAX_MSG.
 */
int proto_noise_framer_set_max(struct proto_noise_framer *f, size_t max_len);

/*
 * proto_noise_framer_feed() - push stream bytes and pull at most one message.
 * @data/@len:  bytes received (borrowed; @len may be 0).
 * @consumed:   set to how many bytes of @data were taken. When a message is returned the
 *              rest of @data has not been looked at: call again with @data + *@consumed.
 * @msg/@msg_len: on return 1, a view of the complete message inside the framer, valid
 *              until the next call on @f.
 *
 * Returns 1 with a message, 0 when every byte was consumed and no message is complete yet,
 * or PROTO_E_NOISE_SIZE when a header announces 0 or more than the limit (the stream is
 * then unusable: close the link; later calls return the same error).
 */
int proto_noise_framer_feed(struct proto_noise_framer *f, const uint8_t *data, size_t len,
			    size_t *consumed, const uint8_t **msg, size_t *msg_len);

/* Vector and test interface ---------------------------------------------------------- */

/*
 * The production API above speaks only XXpsk0 with chatham's prologue and empty payloads.
 * The functions below run the same state machine with another XX-family pattern, any
 * prologue and handshake payloads, so the published cacophony vectors (XX, XXpsk3) and
 * xxpsk0.json check the very code the node uses. Not for production links.
 */
enum proto_noise_pattern {
	PROTO_NOISE_PATTERN_XXPSK0 = 0,
	PROTO_NOISE_PATTERN_XX = 1,
	PROTO_NOISE_PATTERN_XXPSK3 = 2,
};

/*
 * proto_noise_new_custom() - like proto_noise_new() with an explicit @pattern, a
 * @prologue of @prologue_len bytes (borrowed, may be NULL when 0) and @psk (NULL exactly
 * when the pattern has no psk token). Returns NULL on bad arguments or out of memory.
 */
struct proto_noise *proto_noise_new_custom(enum proto_noise_pattern pattern,
					   enum proto_noise_role role, const uint8_t *prologue,
					   size_t prologue_len, const uint8_t *psk,
					   const uint8_t static_sk[32],
					   const uint8_t ephemeral_sk[32]);

/*
 * proto_noise_write_message_payload() - proto_noise_write_message() carrying @payload
 * (@payload_len bytes, borrowed). Same errors, plus PROTO_E_NOISE_SIZE when the message
 * would exceed PROTO_NOISE_MAX_MSG.
 */
int proto_noise_write_message_payload(struct proto_noise *n, const uint8_t *payload,
				      size_t payload_len, uint8_t *out, size_t cap,
				      size_t *out_len);

/*
 * proto_noise_read_message_payload() - proto_noise_read_message() accepting any payload
 * length; the decrypted payload goes to @out (@cap bytes) and its length to *@out_len.
 * -ENOBUFS when @cap is smaller than the payload (checked before any state change).
 */
int proto_noise_read_message_payload(struct proto_noise *n, const uint8_t *msg, size_t len,
				     uint8_t *out, size_t cap, size_t *out_len);

/* Benchmark reference ---------------------------------------------------------------- */

/*
 * proto_noise_bench_raw_seal() / _open() - BENCHMARK REFERENCE ONLY: bare libsodium
 * ChaCha20-Poly1305 (IETF) with a caller nonce counter and no associated data, so
 * tests/bench can compare proto_noise_encrypt/decrypt with the machine's raw AEAD speed on
 * the same buffers. @out needs @len + 16 (seal) / @len - 16 (open) bytes. Return 0, or -1
 * when open fails authentication or @len < 16.
 */
int proto_noise_bench_raw_seal(const uint8_t key[32], uint64_t nonce, const uint8_t *in, size_t len,
			       uint8_t *out);
int proto_noise_bench_raw_open(const uint8_t key[32], uint64_t nonce, const uint8_t *in, size_t len,
			       uint8_t *out);

#endif
