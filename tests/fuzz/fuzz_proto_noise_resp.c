/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness: the Noise responder under a hostile initiator. The input is the byte stream
 * the initiator would send: 2-byte length-prefixed frames, cut by proto_noise_framer. The
 * first frame is read as handshake message 1 (answered with message 2), the second as
 * message 3; after that every frame is decrypted and decoded as a link message (REKEY
 * triggers the receive rekey, PING is answered with an encrypted PONG). The keys are fixed,
 * so the seed corpus holds genuine sessions from an initiator with the keys below.
 *
 * Aborts when an invariant of proto/noise.h breaks: a result outside the documented set,
 * a failed read that does not leave the session FAILED, a message 2 that is not 96 bytes,
 * or a decrypted length that is not the frame length minus the tag.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/link.h"
#include "proto/noise.h"

static const uint8_t community[32] = {0x11, 0x11, 0x11, 0x11};
static const uint8_t netkey[32] = {0x42, 0x42, 0x42, 0x42};
static const uint8_t r_static[32] = {3}, r_eph[32] = {4};

static uint8_t buf[PROTO_NOISE_MAX_MSG];

static void on_transport(struct proto_noise *n, const uint8_t *msg, size_t len)
{
	struct proto_link_msg m;
	size_t out_len = 0, ct_len;
	uint8_t *pong;
	int rc = proto_noise_decrypt(n, msg, len, buf, sizeof(buf), &out_len);

	if (rc != 0) {
		if (rc != PROTO_E_NOISE_DECRYPT && rc != PROTO_E_NOISE_SIZE)
			abort();
		if (proto_noise_status(n) != PROTO_NOISE_FAILED)
			abort();
		return;
	}
	if (out_len + 16 != len)
		abort();
	if (proto_link_decode(&m, buf, out_len) != 0)
		return;
	if (m.type == PROTO_LINK_REKEY && proto_noise_rekey_recv(n) != 0)
		abort();
	if (m.type == PROTO_LINK_PING &&
	    proto_link_encode_nonce(PROTO_LINK_PONG, m.u.nonce, &pong, &len) == 0) {
		if (proto_noise_encrypt(n, pong, len, buf, sizeof(buf), &ct_len) != 0 ||
		    ct_len != len + 16)
			abort();
		free(pong);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct proto_noise *n;
	struct proto_noise_framer *f;
	uint8_t hs[PROTO_NOISE_HANDSHAKE_MAX], h[64];
	size_t len, used;
	const uint8_t *msg;
	int rc;

	if (!ready) {
		if (proto_crypto_init() != 0)
			abort();
		ready = true;
	}
	n = proto_noise_new(PROTO_NOISE_RESPONDER, community, netkey, r_static, r_eph);
	f = proto_noise_framer_new(0);
	if (!n || !f)
		abort();
	while (size > 0) {
		rc = proto_noise_framer_feed(f, data, size, &used, &msg, &len);
		if (used > size)
			abort();
		data += used;
		size -= used;
		if (rc == 0)
			break;
		if (rc != 1) {
			if (rc != PROTO_E_NOISE_SIZE)
				abort();
			break;
		}
		if (proto_noise_status(n) == PROTO_NOISE_READ) {
			rc = proto_noise_read_message(n, msg, len);
			if (rc != 0) {
				if (rc != PROTO_E_NOISE_SIZE && rc != PROTO_E_NOISE_DECRYPT &&
				    rc != PROTO_E_NOISE_DH)
					abort();
				if (proto_noise_status(n) != PROTO_NOISE_FAILED)
					abort();
				break;
			}
			if (proto_noise_status(n) == PROTO_NOISE_WRITE) {
				/* After message 1: answer; a low-order e aborts here with DH. */
				rc = proto_noise_write_message(n, hs, sizeof(hs), &len);
				if (rc == PROTO_E_NOISE_DH &&
				    proto_noise_status(n) == PROTO_NOISE_FAILED)
					break;
				if (rc != 0 || len != 96 ||
				    proto_noise_status(n) != PROTO_NOISE_READ)
					abort();
			} else if (proto_noise_status(n) != PROTO_NOISE_TRANSPORT ||
				   proto_noise_handshake_hash(n, h) != 0 ||
				   proto_noise_remote_static(n, h) != 0) {
				abort();
			}
			continue;
		}
		on_transport(n, msg, len);
		if (proto_noise_status(n) != PROTO_NOISE_TRANSPORT)
			break;
	}
	proto_noise_free(n);
	proto_noise_framer_free(f);
	return 0;
}
