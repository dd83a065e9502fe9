/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness: the stem router (proto/stem.h) under random event sequences. The first
 * bytes choose a config (small links and report limits so that eviction and "full" paths
 * are reached); every following 3-byte record is one event: link up/down, originate,
 * STEM arrival, gossip arrival, or a step of the clock followed by the expire loop. A
 * shadow of the up links and of the pending ids checks the contract; the harness aborts
 * only when an invariant is violated:
 *   - errors only where the header names them (bad link handle, known id, full);
 *   - FORWARD names an up link, never the inbound link; FLUFF of an own report only with
 *     no link up;
 *   - proto_stem_pending() agrees with the shadow: set by FORWARD of a new id, cleared by
 *     gossip and by expiry, which returns only due pending ids, earliest deadline first;
 *   - proto_stem_next_deadline() is the earliest pending deadline, later than the clock
 *     once the expire loop is done; no more than max_reports ids are tracked.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"
#include "proto/stem.h"

#define LINKS 8
#define IDS 64

static void mkid(uint8_t id[32], unsigned n)
{
	memset(id, 0x11, 32);
	id[0] = (uint8_t)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_stem_config c = {0};
	struct proto_stem *s;
	bool up[LINKS] = {0}, pend[IDS] = {0};
	unsigned n_up = 0;
	uint64_t now = 0;
	uint8_t id[32], out[32] = {0};

	if (size < 4)
		return 0;
	c.max_links = LINKS;
	c.relays = data[0] % 4;
	c.fluff_permille = data[1] < 250 ? (uint32_t)data[1] * 4 : 1000;
	c.embargo_ms = 1 + data[2] % 100;
	c.epoch_ms = 1 + (uint64_t)data[3] * 10;
	c.max_reports = 16 + data[0] % 8;
	c.done_ttl_ms = 1 + data[2];
	c.seed = data[1];
	s = proto_stem_new(&c);
	if (!s)
		abort();
	data += 4;
	size -= 4;

	for (; size >= 3; data += 3, size -= 3) {
		unsigned op = data[0] % 6, l = data[1] % (LINKS + 1), n = data[2] % IDS;
		uint32_t link = UINT32_MAX;
		int r;

		mkid(id, n);
		switch (op) {
		case 0:
			r = proto_stem_link_up(s, l, now);
			if (l >= LINKS || up[l] ? r != PROTO_E_STEM_LINK : r != 0)
				abort();
			if (!r) {
				up[l] = true;
				n_up++;
			}
			break;
		case 1:
			r = proto_stem_link_down(s, l, now);
			if (l >= LINKS || !up[l] ? r != PROTO_E_STEM_LINK : r != 0)
				abort();
			if (!r) {
				up[l] = false;
				n_up--;
			}
			break;
		case 2:
			r = proto_stem_originate(s, id, now, &link);
			if (pend[n] && r != PROTO_E_STEM_KNOWN)
				abort();
			if (r == PROTO_STEM_FORWARD) {
				if (link >= LINKS || !up[link] || pend[n])
					abort();
				pend[n] = true;
			} else if (r == PROTO_STEM_FLUFF) {
				if (n_up || pend[n])
					abort();
			} else if (r != PROTO_E_STEM_KNOWN && r != -ENOBUFS) {
				abort();
			}
			break;
		case 3:
			r = proto_stem_on_stem(s, l, id, now, &link);
			if (l >= LINKS || !up[l]) {
				if (r != PROTO_E_STEM_LINK)
					abort();
				break;
			}
			if (r == PROTO_STEM_FORWARD) {
				if (link >= LINKS || !up[link] || link == l)
					abort();
				pend[n] = true;
			} else if (r == PROTO_STEM_FLUFF) {
				pend[n] = false;
			} else if (r == PROTO_STEM_DROP) {
				if (pend[n])
					abort();
			} else {
				abort();
			}
			break;
		case 4:
			if (proto_stem_on_gossip(s, id, now) != pend[n])
				abort();
			pend[n] = false;
			break;
		case 5:
			now += (uint64_t)data[1] * data[2];
			for (;;) {
				uint64_t d = proto_stem_next_deadline(s);
				bool got = proto_stem_expire(s, now, out);
				unsigned k = out[0];

				if (got != (d <= now))
					abort();
				if (!got)
					break;
				if (memcmp(out + 1, id + 1, 31) != 0 || k >= IDS || !pend[k])
					abort();
				pend[k] = false;
			}
			break;
		}
		for (unsigned k = 0; k < IDS; k++) {
			mkid(id, k);
			if (proto_stem_pending(s, id) != pend[k])
				abort();
		}
		if (proto_stem_tracked(s) > c.max_reports)
			abort();
	}
	proto_stem_free(s);
	return 0;
}
