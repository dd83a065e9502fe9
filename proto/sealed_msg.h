/* SPDX-License-Identifier: MIT */
/*
 * proto/sealed_msg.h — the payloads of the sealed-sighting link messages (proto/link.h types
 * 16-19, docs/SEALED.md §5). Each is one canonical msgpack map:
 *
 *   16 OPRF_EVAL    { 0: request id (uint64, the asker's), 1: [B_1 .. B_m] (bin 32 each,
 *                     1..PROTO_SEALED_MSG_BATCH_MAX blinded elements) }
 *                   a member asks the link peer, an OPRF share holder, to evaluate its share
 *                   on every B_i.
 *   17 OPRF_ANSWER  { 0: request id, 1: status (enum proto_sealed_status), 2: share index j
 *                     (0 with NO_SHARE), 3: evaluations the asker may still ask of this
 *                     holder today (after this one), 4: [Z_1 .. Z_m] (bin 32 each, present
 *                     only with OK, as many as asked), 5: DLEQ proof (bin 64, only with OK) }
 *   18 SEALED       one sealed submission, proto/sealed.h wire form (decoded there).
 *   19 OPRF_HOLDER  { 0: share index j (1..PROTO_ROSTER_STEWARDS_MAX), 1: OPRF key generation
 *                     of the share (uint >= 1, absent for generation 0: the dealing) } sent
 *                   on link-up, and again when the keys in force change, by a node holding
 *                   OPRF share j: where members send OPRF_EVAL (members of another
 *                   generation ask elsewhere). A false claim gains nothing; its answers
 *                   fail their DLEQ proof.
 *
 * Decoders are strict (canonical msgpack, keys ascending, no unknown keys, counts within
 * limits, every point a valid canonical ristretto255 element) and copy into caller storage;
 * nothing is kept. Pure, reentrant, thread-safe once proto_crypto_init() returned 0.
 * Errors: the proto/mp.h codes, PROTO_E_KEY_MISSING/UNKNOWN, PROTO_E_EMPTY (no elements),
 * PROTO_E_TOO_LARGE, PROTO_E_RANGE (status or index out of range, answer counts that do not
 * fit the status), PROTO_E_RING_POINT; encoders return 0, -EINVAL or -ENOMEM.
 */
#ifndef CHATHAM_PROTO_SEALED_MSG_H
#define CHATHAM_PROTO_SEALED_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "proto/oprf.h"

/* Elements per OPRF_EVAL: 1024 * 34 bytes fit one link message with room to spare. */
#define PROTO_SEALED_MSG_BATCH_MAX 1024

enum proto_sealed_status {
	PROTO_SEALED_OK = 0,
	PROTO_SEALED_NO_SHARE = 1, /* the peer holds no OPRF share */
	PROTO_SEALED_QUOTA = 2,	   /* the asker's quota for today would be exceeded: nothing done */
	PROTO_SEALED_REFUSED = 3,  /* bad request, or the holder cannot evaluate now */
	PROTO_SEALED_STATUS_MAX = 3,
};

struct proto_sealed_eval {
	uint64_t req;
	size_t m;
	uint8_t in[PROTO_SEALED_MSG_BATCH_MAX][32];
};

struct proto_sealed_answer {
	uint64_t req;
	enum proto_sealed_status status;
	uint32_t index;
	uint64_t quota_left;
	size_t m; /* 0 unless OK */
	uint8_t out[PROTO_SEALED_MSG_BATCH_MAX][32];
	uint8_t proof[PROTO_OPRF_PROOF_BYTES];
};

/* Encoders: *@out is malloc'd (caller frees). -EINVAL for counts/status/index out of range. */
int proto_sealed_eval_encode(const struct proto_sealed_eval *e, uint8_t **out, size_t *out_len);
int proto_sealed_answer_encode(const struct proto_sealed_answer *a, uint8_t **out, size_t *out_len);
int proto_sealed_holder_encode(uint32_t index, uint64_t generation, uint8_t **out, size_t *out_len);

/* Decoders of @buf/@len (borrowed) into caller storage; on failure the output is unspecified. */
int proto_sealed_eval_decode(struct proto_sealed_eval *e, const uint8_t *buf, size_t len);
int proto_sealed_answer_decode(struct proto_sealed_answer *a, const uint8_t *buf, size_t len);
int proto_sealed_holder_decode(uint32_t *index, uint64_t *generation, const uint8_t *buf,
			       size_t len);

/* proto_sealed_status_str() - "ok", "no share", "quota exhausted", "refused"; static. */
const char *proto_sealed_status_str(unsigned status);

#endif
