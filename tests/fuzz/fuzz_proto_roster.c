/* SPDX-License-Identifier: MIT */
/*
 * Roster and community file decoding. Beyond "no crash, no leak", the harness checks the
 * canonical property both codecs promise: whatever decodes re-encodes to exactly the input
 * bytes. Decoded rosters are also pushed through lookups and verification against their own
 * steward set, so those run on every shape the decoder lets through.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/community.h"
#include "proto/crypto.h"
#include "proto/roster.h"

static void roster(const uint8_t *data, size_t size)
{
	struct proto_roster *r;
	uint8_t *out;
	size_t out_len;

	if (proto_roster_decode(&r, data, size) != 0)
		return;
	if (proto_roster_encode(r, &out, &out_len) != 0 || out_len != size ||
	    memcmp(out, data, size) != 0)
		__builtin_trap();
	free(out);
	for (size_t i = 0; i < r->n_members; i++) {
		if (proto_roster_find_member(r, r->members[i].id) != (int)i ||
		    proto_roster_find_transport(r, r->members[i].transport_pk) != (int)i)
			__builtin_trap();
	}
	(void)proto_roster_verify(r, r->community, (const uint8_t(*)[32])r->stewards, r->n_stewards,
				  r->threshold, 0);
	proto_roster_free(r);
}

static void community(const uint8_t *data, size_t size)
{
	struct proto_community c;
	uint8_t *out;
	size_t out_len;

	if (proto_community_decode(&c, data, size) != 0)
		return;
	if (proto_community_encode(&c, &out, &out_len) != 0 || out_len != size ||
	    memcmp(out, data, size) != 0)
		__builtin_trap();
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;

	if (!init) {
		if (proto_crypto_init() != 0)
			__builtin_trap();
		init = 1;
	}
	roster(data, size);
	community(data, size);
	return 0;
}
