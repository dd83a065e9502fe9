/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the stored-value decoders (store/codec.h): a damaged database value
 * must decode to an error, never crash or read out of bounds. The first input byte picks
 * the decoder, the rest is the value. A value that decodes must re-encode to the same bytes
 * (the layouts have exactly one encoding), which catches decoders that accept slack.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/codec.h"

static void same(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	if (alen != blen || memcmp(a, b, alen) != 0)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[STORE_CODEC_SUMMARY_MAX];
	const uint8_t *v;
	uint8_t *copy;
	size_t n;

	if (size < 1)
		return 0;
	/* A heap copy of exactly the value's length lets ASan see any over-read. */
	n = size - 1;
	copy = malloc(n ? n : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, n);
	v = copy;
	switch (data[0] % 6) {
	case 0: {
		struct store_codec_summary s;

		if (store_codec_summary_decode(&s, v, n) == 0)
			same(out, store_codec_summary_encode(&s, out), v, n);
		break;
	}
	case 1: {
		struct store_codec_rmeta m;

		if (store_codec_rmeta_decode(&m, v, n) == 0)
			same(out, store_codec_rmeta_encode(&m, out), v, n);
		break;
	}
	case 2: {
		struct store_codec_vote x;

		if (store_codec_vote_decode(&x, v, n) == 0)
			same(out, store_codec_vote_encode(&x, out), v, n);
		break;
	}
	case 3: {
		struct store_codec_report r;

		if (store_codec_report_decode(&r, v, n) == 0) {
			if (r.bytes != v + STORE_CODEC_REPORT_HEAD ||
			    r.len != n - STORE_CODEC_REPORT_HEAD)
				__builtin_trap();
			same(out, store_codec_report_head_encode(&r, out), v,
			     STORE_CODEC_REPORT_HEAD);
		}
		break;
	}
	case 4: {
		struct store_codec_feed f;

		if (store_codec_feed_decode(&f, v, n) == 0)
			same(out, store_codec_feed_encode(&f, out), v, n);
		break;
	}
	default: {
		struct store_codec_outbox o;

		if (store_codec_outbox_decode(&o, v, n) == 0)
			same(out, store_codec_outbox_encode(&o, out), v, n);
		break;
	}
	}
	free(copy);
	return 0;
}
