/* SPDX-License-Identifier: MIT */
/*
 * Key file decoding: member bundles, steward keys, network keys (with a rotation's epoch and
 * previous key), OPRF key shares (with their generation), OPRF re-sharing piece files and key
 * rotation statements (signatures checked). Whatever decodes must re-encode to exactly the
 * input (the formats are canonical), and a failed decode must leave no secret behind in the
 * output.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/community.h"
#include "proto/crypto.h"
#include "proto/keys.h"
#include "proto/rekey.h"
#include "proto/reshare.h"

static bool zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void same(int err, uint8_t *out, size_t out_len, const uint8_t *data, size_t size)
{
	if (err != 0 || out_len != size || memcmp(out, data, size) != 0)
		__builtin_trap();
	proto_wipe(out, out_len);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	struct proto_keys k;
	struct proto_netkey_state ns;
	struct proto_rekey st;
	struct proto_reshare_piece piece;
	uint8_t pk[32], sk[64], key[32], cid[32], *out = NULL;
	uint32_t idx;
	uint64_t gen;
	size_t out_len = 0;
	int err;

	if (!init) {
		if (proto_crypto_init() != 0)
			__builtin_trap();
		init = 1;
	}
	if (proto_keys_decode(&k, data, size) == 0) {
		err = proto_keys_encode(&k, &out, &out_len);
		same(err, out, out_len, data, size);
	} else if (!zero(&k, sizeof(k))) {
		__builtin_trap();
	}
	proto_keys_wipe(&k);

	if (proto_keys_steward_decode(pk, sk, data, size) == 0) {
		err = proto_keys_steward_encode(sk, &out, &out_len);
		same(err, out, out_len, data, size);
	} else if (!zero(sk, sizeof(sk))) {
		__builtin_trap();
	}

	if (proto_community_netkey_state_decode(&ns, data, size) == 0) {
		err = proto_community_netkey_state_encode(&ns, &out, &out_len);
		same(err, out, out_len, data, size);
	} else if (!zero(&ns, sizeof(ns))) {
		__builtin_trap();
	}
	/* The one-key reader reads the key in use of every file the full reader accepts. */
	err = proto_community_netkey_decode(key, data, size);
	if (err == 0 ? memcmp(key, ns.key, 32) != 0 : !zero(key, sizeof(key)))
		__builtin_trap();
	proto_wipe(&ns, sizeof(ns));

	if (proto_community_oprf_share_decode(cid, &idx, &gen, key, data, size) == 0) {
		err = proto_community_oprf_share_encode(cid, idx, gen, key, &out, &out_len);
		same(err, out, out_len, data, size);
	} else if (!zero(key, sizeof(key))) {
		__builtin_trap();
	}
	if (proto_reshare_piece_decode(&piece, data, size) == 0) {
		err = proto_reshare_piece_encode(&piece, &out, &out_len);
		same(err, out, out_len, data, size);
	} else if (!zero(&piece, sizeof(piece))) {
		__builtin_trap();
	}
	if (proto_rekey_decode(&st, data, size) != 0 && !zero(&st, sizeof(st)))
		__builtin_trap();
	proto_wipe(sk, sizeof(sk));
	proto_wipe(key, sizeof(key));
	return 0;
}
