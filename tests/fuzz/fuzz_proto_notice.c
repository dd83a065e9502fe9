/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness: notices (proto/notice.h). The first input byte selects a mode:
 *   even  the rest is decoded as wire bytes; nothing may crash, and a decode that succeeds
 *         succeeds again with the same fields (it verified a signature by the harness's key,
 *         so it can only be one the harness signed, e.g. a committed seed);
 *   odd   the rest fills a notice's fields (kind, TLP, status, times, flags, form and
 *         comment text); whatever the signer accepts must decode to the same fields, and
 *         whatever it refuses it refuses with a documented code.
 * Reply handles made with the harness's key open; the input as a handle never does.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/crypto.h"
#include "proto/crypto_test.h"
#include "proto/error.h"
#include "proto/notice.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t pk[32], sk[64], to[32], key[32];

static void init(void)
{
	uint8_t seed[32] = {7}, tsk[64];

	if (proto_crypto_init() != 0)
		abort();
	proto_crypto_raw_ed25519_seed_keypair(pk, sk, seed);
	seed[0] = 8;
	proto_crypto_raw_ed25519_seed_keypair(to, tsk, seed);
	memset(key, 0x5a, sizeof key);
}

static void mode_decode(const uint8_t *d, size_t n)
{
	struct proto_notice a, b;
	uint8_t from[32], id[16];
	int ra = proto_notice_decode(d, n, &a), rb = proto_notice_decode(d, n, &b);

	if (ra != rb || (ra == 0 && (memcmp(a.id, b.id, 16) || a.form_len != b.form_len)))
		abort();
	if (n >= PROTO_NOTICE_HANDLE_BYTES && proto_notice_handle_open(d, key, from, id) == 0)
		abort();
}

static void mode_build(const uint8_t *d, size_t n)
{
	struct proto_notice in, out;
	uint8_t *buf = NULL, from[32], id[16];
	size_t len, split;
	char *form = NULL, *comment = NULL;
	int rc;

	if (n < 8)
		return;
	memset(&in, 0, sizeof in);
	memset(in.community, 1, 32);
	memcpy(in.id, d, 4);
	memcpy(in.from, pk, 32);
	memcpy(in.to, d[4] & 1 ? pk : to, 32);
	in.kind = d[5] & 3;
	in.tlp = d[6] & 7;
	in.status = d[7] & 7;
	in.created_ms = d[4] & 2 ? 0 : (uint64_t)d[5] << 40 | d[7];
	in.has_deliver_to = d[4] & 4;
	memcpy(in.deliver_to, d[4] & 8 ? pk : to, 32);
	in.has_handle = d[4] & 16;
	proto_notice_handle_seal(in.handle, key, pk, in.id);
	d += 8;
	n -= 8;
	split = n / 2;
	form = malloc(split + 1);
	comment = malloc(n - split + 1);
	if (!form || !comment)
		goto out;
	memcpy(form, d, split);
	form[split] = 0;
	memcpy(comment, d + split, n - split);
	comment[n - split] = 0;
	in.form = (n && (d[0] & 1)) ? NULL : form;
	in.comment = (n && d[n - 1] & 1) ? comment : NULL;
	rc = proto_notice_sign(&in, sk, &buf, &len);
	if (rc) {
		if (rc != PROTO_E_KEY_MISSING && rc != PROTO_E_KEY_UNKNOWN && rc != PROTO_E_RANGE &&
		    rc != PROTO_E_REPORT_TLP && rc != PROTO_E_REPORT_TIME && rc != PROTO_E_EMPTY &&
		    rc != PROTO_E_TOO_LARGE && rc != PROTO_E_UTF8 && rc != -EINVAL)
			abort();
		goto out;
	}
	if (proto_notice_decode(buf, len, &out) != 0 || memcmp(out.id, in.id, 16) ||
	    out.kind != in.kind || out.tlp != in.tlp || out.has_handle != in.has_handle ||
	    out.has_deliver_to != in.has_deliver_to ||
	    (in.form &&
	     (out.form_len != strlen(in.form) || memcmp(out.form, in.form, out.form_len))))
		abort();
	if (out.has_handle &&
	    (proto_notice_handle_open(out.handle, key, from, id) || memcmp(from, pk, 32)))
		abort();
out:
	free(buf);
	free(form);
	free(comment);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;

	if (!ready) {
		init();
		ready = true;
	}
	if (size == 0)
		return 0;
	if (data[0] & 1)
		mode_build(data + 1, size - 1);
	else
		mode_decode(data + 1, size - 1);
	return 0;
}
