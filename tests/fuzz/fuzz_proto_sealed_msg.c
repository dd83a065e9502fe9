/* SPDX-License-Identifier: MIT */
/*
 * The payloads of link messages 16, 17 and 19 (proto/sealed_msg.h; 18 is a sealed
 * submission, fuzzed by fuzz_proto_sealed): whatever decodes re-encodes to exactly the
 * input, every element of an accepted batch is a valid point, and no decoder crashes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/crypto.h"
#include "proto/ring.h"
#include "proto/sealed_msg.h"

static void same(int err, uint8_t *out, size_t out_len, const uint8_t *data, size_t size)
{
	if (err != 0 || out_len != size || memcmp(out, data, size) != 0)
		__builtin_trap();
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct proto_sealed_eval e;
	static struct proto_sealed_answer a;
	static int init;
	uint8_t *out = NULL;
	size_t out_len = 0;
	uint32_t idx;
	uint64_t gen;

	if (!init) {
		if (proto_crypto_init() != 0)
			__builtin_trap();
		init = 1;
	}
	if (proto_sealed_eval_decode(&e, data, size) == 0) {
		for (size_t i = 0; i < e.m; i++)
			if (proto_ring_pk_check(e.in[i]) != 0)
				__builtin_trap();
		same(proto_sealed_eval_encode(&e, &out, &out_len), out, out_len, data, size);
	}
	if (proto_sealed_answer_decode(&a, data, size) == 0) {
		if ((a.status == PROTO_SEALED_OK) != (a.m > 0))
			__builtin_trap();
		same(proto_sealed_answer_encode(&a, &out, &out_len), out, out_len, data, size);
	}
	if (proto_sealed_holder_decode(&idx, &gen, data, size) == 0) {
		if (idx == 0)
			__builtin_trap();
		same(proto_sealed_holder_encode(idx, gen, &out, &out_len), out, out_len, data,
		     size);
	}
	return 0;
}
