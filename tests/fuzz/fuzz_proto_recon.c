/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness: reconciliation sessions (proto/recon.h) fed by a hostile peer. The RECON
 * payload is the one input every member can send.
 *
 * Input: one flags byte, then messages, each a 2-byte big-endian length and the payload.
 *   bit 0    the smallest frame (msg_max PROTO_RECON_MSG_MIN, 4 buckets) instead of the
 *            defaults;
 *   bit 1    this side initiates (proto_recon_initiate() first; the messages then play
 *            the responder), else it responds;
 *   bits 2-3 our item set: empty, 1, 40 or 400 items (a third share their timestamp);
 *   bit 4    our source answers ranks (proto_recon_source.at), and a twin session without
 *            it gets the same messages: both must answer alike, byte for byte.
 * Every message goes through the codec and then into the session(s), in order.
 *
 * Aborts only when an invariant breaks:
 *   - a rejection is a documented code: canonical msgpack (-1000..-1099, PROTO_E_VERSION
 *     and PROTO_E_TOO_LARGE among them) or the reconciliation band (-1710..-1715);
 *   - an accepted message is canonical: re-encoding it gives exactly its bytes, and
 *     proto_recon_msg_role() agrees with the decoded role;
 *   - the session answers 0, PROTO_RECON_DONE or an error; a reply fits the frame bound,
 *     decodes and carries our role; once done or dead, it only says PROTO_E_RECON_STATE;
 *   - every "have" id is one of our items, every "need" id one that the message just
 *     received listed;
 *   - no more than rounds_max messages are accepted.
 * Seeds: tests/fuzz/corpus/proto_recon/.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/link.h"
#include "proto/recon.h"
#include "tests/sim/itemset.h"

static struct itemset sets[4];
static bool ready;

/* source.at over an itemset: the keys of rank @rank - 1 and @rank in [lo, hi). */
static int itemset_at(void *ctx, const uint8_t *lo, const uint8_t *hi, uint64_t rank,
		      uint8_t (*keys)[PROTO_RECON_KEY_LEN])
{
	struct itemset *s = ctx;
	size_t a = itemset_lower(s, lo), b = hi ? itemset_lower(s, hi) : s->n;

	if (rank == 0 || a + rank >= b)
		abort(); /* proto/recon.h: 1 <= rank < items in the range */
	memcpy(keys[0], s->k[a + rank - 1], PROTO_RECON_KEY_LEN);
	memcpy(keys[1], s->k[a + rank], PROTO_RECON_KEY_LEN);
	return 1;
}

/* The twin (bit 4) answered as the session did: same result, same bytes. */
static void check_twin(int rc, const uint8_t *out, size_t len, int rc2, uint8_t *out2, size_t len2)
{
	if (rc != rc2 || !out != !out2 || (out && (len != len2 || memcmp(out, out2, len))))
		abort();
	free(out2);
}

static void setup(void)
{
	static const unsigned sizes[4] = {0, 1, 40, 400};
	uint64_t x = 0x9e3779b97f4a7c15ull;

	if (proto_crypto_init() != 0)
		abort();
	for (int s = 0; s < 4; s++) {
		itemset_init(&sets[s]);
		for (unsigned i = 0; i < sizes[s]; i++) {
			uint8_t id[32], key[PROTO_RECON_KEY_LEN];

			for (int j = 0; j < 32; j++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				id[j] = (uint8_t)x;
			}
			proto_recon_key(key, 1000 + (i % 3 ? i : i / 3), id);
			if (itemset_add(&sets[s], key) < 0)
				abort();
		}
	}
	ready = true;
}

static bool known_code(int rc)
{
	return (rc <= -1000 && rc >= -1099) || (rc <= -1710 && rc >= -1715);
}

static bool listed(const struct proto_recon_msg *m, const uint8_t *id)
{
	for (size_t i = 0; i < m->n; i++)
		for (size_t k = 0; k < m->ranges[i].n_ids; k++)
			if (memcmp(m->ranges[i].ids + 32 * k, id, 32) == 0)
				return true;
	return false;
}

/* Codec invariants; returns whether @p decoded (then @m holds it). */
static bool codec(const uint8_t *p, size_t len, struct proto_recon_msg *m)
{
	int rc = proto_recon_msg_decode(m, p, len), role = proto_recon_msg_role(p, len);
	uint8_t *out;
	size_t out_len;

	if (rc < 0) {
		if (!known_code(rc) || m->ranges || m->n)
			abort();
		return false;
	}
	if (role != (int)m->role)
		abort();
	if (proto_recon_msg_encode(m, &out, &out_len) != 0 || out_len != len ||
	    memcmp(out, p, len) != 0)
		abort();
	free(out);
	return true;
}

static void check_reply(const uint8_t *out, size_t len, size_t bound, unsigned role)
{
	struct proto_recon_msg reply;

	if (len > bound || proto_recon_msg_decode(&reply, out, len) != 0 || reply.role != role)
		abort();
	proto_recon_msg_deinit(&reply);
}

static void drain(struct proto_recon *r, const struct itemset *mine,
		  const struct proto_recon_msg *m)
{
	uint8_t ids[64][32];
	size_t n;

	do {
		if (proto_recon_have(r, ids, 64, &n) != 0)
			abort();
		for (size_t i = 0; i < n; i++)
			if (itemset_find_id(mine, ids[i]) < 0)
				abort();
	} while (n);
	/* A need id was listed (a lying peer may list one we hold under another key). */
	do {
		proto_recon_need(r, ids, 64, &n);
		for (size_t i = 0; i < n; i++)
			if (!m || !listed(m, ids[i]))
				abort();
	} while (n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_recon_config cfg = {.rounds_max = 8};
	struct proto_recon_source src, plain;
	struct proto_recon *r, *twin = NULL;
	const struct itemset *mine;
	unsigned flags, our_role, accepted = 0;
	bool over = false;
	size_t bound;
	uint8_t *out, *out2;
	size_t len, len2;
	int rc, rc2;

	if (!ready)
		setup();
	if (size < 1)
		return 0;
	flags = data[0];
	data++;
	size--;
	if (flags & 1) {
		cfg.buckets = 4;
		cfg.msg_max = PROTO_RECON_MSG_MIN;
	}
	bound = cfg.msg_max ? cfg.msg_max : PROTO_LINK_BIN_MAX;
	mine = &sets[(flags >> 2) & 3];
	src = plain = itemset_source((struct itemset *)mine);
	if (flags & 16) {
		src.at = itemset_at;
		if (!(twin = proto_recon_new(&cfg, &plain)))
			abort();
	}
	r = proto_recon_new(&cfg, &src);
	if (!r)
		abort();
	our_role = flags & 2 ? 0 : 1;
	if (our_role == 0) {
		if (proto_recon_initiate(r, &out, &len) != 0)
			abort();
		check_reply(out, len, bound, 0);
		if (twin) {
			rc2 = proto_recon_initiate(twin, &out2, &len2);
			check_twin(0, out, len, rc2, out2, len2);
		}
		free(out);
		if (proto_recon_initiate(r, &out, &len) != PROTO_E_RECON_STATE || out)
			abort();
	}
	while (size >= 2) {
		size_t mlen = (size_t)data[0] << 8 | data[1];
		struct proto_recon_msg m;
		bool ok;

		data += 2;
		size -= 2;
		if (mlen > size)
			mlen = size;
		ok = codec(data, mlen, &m);
		rc = proto_recon_receive(r, data, mlen, &out, &len);
		if (twin) {
			rc2 = proto_recon_receive(twin, data, mlen, &out2, &len2);
			check_twin(rc, out, len, rc2, out2, len2);
		}
		if (over) {
			if (rc != PROTO_E_RECON_STATE || out)
				abort();
		} else if (rc < 0) {
			if ((!known_code(rc) && rc != -ENOMEM) || out)
				abort();
			/* A well-formed message is refused only for its role or the round limit. */
			if (ok && rc != PROTO_E_RECON_STATE && rc != PROTO_E_RECON_ROUNDS)
				abort();
			if (rc == PROTO_E_RECON_ROUNDS && accepted != cfg.rounds_max)
				abort();
			over = true;
		} else {
			if (!ok || m.role == our_role || (rc != 0 && rc != PROTO_RECON_DONE))
				abort();
			if (++accepted > cfg.rounds_max)
				abort();
			if (out)
				check_reply(out, len, bound, our_role);
			else if (rc != PROTO_RECON_DONE || m.n != 0)
				abort();
			if (rc == PROTO_RECON_DONE) {
				if (!proto_recon_done(r))
					abort();
				over = true;
			}
		}
		free(out);
		drain(r, mine, ok ? &m : NULL);
		if (twin)
			drain(twin, mine, ok ? &m : NULL);
		if (ok)
			proto_recon_msg_deinit(&m);
		data += mlen;
		size -= mlen;
	}
	proto_recon_free(r);
	proto_recon_free(twin);
	return 0;
}
