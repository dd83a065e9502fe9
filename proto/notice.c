/* SPDX-License-Identifier: MIT */
/*
 * proto/notice.c — signed notices and status replies between member teams (notice.h).
 * One rule set serves the encoder and the decoder (check()), so what is signed always
 * decodes and a decoded notice re-encodes to the bytes it came from.
 */
#include "proto/notice.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "proto/error.h"
#include "proto/mp.h"
#include "proto/report.h"

enum {
	K_VERSION = 0,
	K_COMMUNITY,
	K_ID,
	K_THREAD,
	K_KIND,
	K_FROM,
	K_TO,
	K_TLP,
	K_CREATED,
	K_FORM,
	K_STATUS,
	K_COMMENT,
	K_DELIVER_TO,
	K_HANDLE,
	K_LAST = K_HANDLE,
};

#define REQUIRED                                                                     \
	((1u << K_VERSION) | (1u << K_COMMUNITY) | (1u << K_ID) | (1u << K_THREAD) | \
	 (1u << K_KIND) | (1u << K_FROM) | (1u << K_TO) | (1u << K_TLP) | (1u << K_CREATED))

static int check(const struct proto_notice *n, uint32_t present)
{
	if ((present & REQUIRED) != REQUIRED)
		return PROTO_E_KEY_MISSING;
	if (n->kind > PROTO_NOTICE_KIND_STATUS)
		return PROTO_E_RANGE;
	if (n->tlp < PROTO_TLP_AMBER || n->tlp > PROTO_TLP_RED)
		return PROTO_E_REPORT_TLP;
	if (n->created_ms == 0 || n->created_ms > PROTO_REPORT_TIME_MAX_MS)
		return PROTO_E_REPORT_TIME;
	if (n->kind == PROTO_NOTICE_KIND_NOTICE) {
		if (!(present & (1u << K_FORM)))
			return PROTO_E_KEY_MISSING;
		if (present & ((1u << K_STATUS) | (1u << K_COMMENT)))
			return PROTO_E_KEY_UNKNOWN;
		if (n->form_len == 0)
			return PROTO_E_EMPTY;
		if (n->form_len > PROTO_NOTICE_FORM_MAX)
			return PROTO_E_TOO_LARGE;
		if (!proto_mp_utf8_valid(n->form, n->form_len))
			return PROTO_E_UTF8;
	} else {
		if (!(present & (1u << K_STATUS)))
			return PROTO_E_KEY_MISSING;
		if (present & (1u << K_FORM))
			return PROTO_E_KEY_UNKNOWN;
		if (n->status < PROTO_NOTICE_RECEIVED || n->status > PROTO_NOTICE_NOT_OURS)
			return PROTO_E_RANGE;
		if ((present & (1u << K_COMMENT)) &&
		    (n->comment_len == 0 || n->comment_len > PROTO_NOTICE_COMMENT_MAX))
			return n->comment_len ? PROTO_E_TOO_LARGE : PROTO_E_EMPTY;
		if ((present & (1u << K_COMMENT)) &&
		    !proto_mp_utf8_valid(n->comment, n->comment_len))
			return PROTO_E_UTF8;
	}
	/* Sending to oneself, or asking a coordinator to deliver to itself, is never right. */
	if (!memcmp(n->from, n->to, 32) ||
	    (n->has_deliver_to &&
	     (!memcmp(n->deliver_to, n->to, 32) || !memcmp(n->deliver_to, n->from, 32))))
		return PROTO_E_RANGE;
	return 0;
}

static uint32_t present_of(const struct proto_notice *n)
{
	uint32_t p = REQUIRED;

	if (n->form)
		p |= 1u << K_FORM;
	if (n->kind == PROTO_NOTICE_KIND_STATUS)
		p |= 1u << K_STATUS;
	if (n->comment)
		p |= 1u << K_COMMENT;
	if (n->has_deliver_to)
		p |= 1u << K_DELIVER_TO;
	if (n->has_handle)
		p |= 1u << K_HANDLE;
	return p;
}

static uint8_t *signed_msg(const uint8_t *body, size_t len, size_t *out_len)
{
	size_t dl = strlen(PROTO_NOTICE_DOMAIN);
	uint8_t *m = malloc(dl + len);

	if (!m)
		return NULL;
	memcpy(m, PROTO_NOTICE_DOMAIN, dl);
	memcpy(m + dl, body, len);
	*out_len = dl + len;
	return m;
}

int proto_notice_sign(const struct proto_notice *in, const uint8_t sk[64], uint8_t **out,
		      size_t *out_len)
{
	struct proto_notice n = *in;
	struct proto_mp_writer w;
	uint8_t *body = NULL, *msg = NULL, pk[32], sig[64];
	size_t body_len, msg_len;
	uint32_t present;
	int err;

	*out = NULL;
	*out_len = 0;
	if (n.kind == PROTO_NOTICE_KIND_NOTICE && n.form)
		n.form_len = strlen(n.form);
	if (n.comment)
		n.comment_len = strlen(n.comment);
	present = present_of(&n);
	err = check(&n, present);
	if (err)
		return err;
	crypto_sign_ed25519_sk_to_pk(pk, sk);
	if (sodium_memcmp(pk, n.from, 32) != 0)
		return -EINVAL;
	proto_mp_writer_init(&w);
	proto_mp_write_map(&w, (size_t)__builtin_popcount(present));
	proto_mp_write_uint(&w, K_VERSION);
	proto_mp_write_uint(&w, PROTO_NOTICE_VERSION);
	proto_mp_write_uint(&w, K_COMMUNITY);
	proto_mp_write_bin(&w, n.community, 32);
	proto_mp_write_uint(&w, K_ID);
	proto_mp_write_bin(&w, n.id, 16);
	proto_mp_write_uint(&w, K_THREAD);
	proto_mp_write_bin(&w, n.thread, 16);
	proto_mp_write_uint(&w, K_KIND);
	proto_mp_write_uint(&w, n.kind);
	proto_mp_write_uint(&w, K_FROM);
	proto_mp_write_bin(&w, n.from, 32);
	proto_mp_write_uint(&w, K_TO);
	proto_mp_write_bin(&w, n.to, 32);
	proto_mp_write_uint(&w, K_TLP);
	proto_mp_write_uint(&w, n.tlp);
	proto_mp_write_uint(&w, K_CREATED);
	proto_mp_write_uint(&w, n.created_ms);
	if (present & (1u << K_FORM)) {
		proto_mp_write_uint(&w, K_FORM);
		proto_mp_write_str(&w, n.form, n.form_len);
	}
	if (present & (1u << K_STATUS)) {
		proto_mp_write_uint(&w, K_STATUS);
		proto_mp_write_uint(&w, n.status);
	}
	if (present & (1u << K_COMMENT)) {
		proto_mp_write_uint(&w, K_COMMENT);
		proto_mp_write_str(&w, n.comment, n.comment_len);
	}
	if (present & (1u << K_DELIVER_TO)) {
		proto_mp_write_uint(&w, K_DELIVER_TO);
		proto_mp_write_bin(&w, n.deliver_to, 32);
	}
	if (present & (1u << K_HANDLE)) {
		proto_mp_write_uint(&w, K_HANDLE);
		proto_mp_write_bin(&w, n.handle, PROTO_NOTICE_HANDLE_BYTES);
	}
	err = proto_mp_writer_finish(&w, &body, &body_len);
	if (err)
		return err;
	msg = signed_msg(body, body_len, &msg_len);
	if (!msg) {
		err = -ENOMEM;
		goto out;
	}
	crypto_sign_ed25519_detached(sig, NULL, msg, msg_len, sk);
	proto_mp_writer_init(&w);
	proto_mp_write_array(&w, 2);
	proto_mp_write_bin(&w, body, body_len);
	proto_mp_write_bin(&w, sig, sizeof sig);
	err = proto_mp_writer_finish(&w, out, out_len);
out:
	free(body);
	free(msg);
	return err;
}

static int decode_body(const uint8_t *body, size_t len, struct proto_notice *n)
{
	struct proto_mp_reader rd;
	struct proto_mp_map m;
	uint64_t key, v;
	uint32_t present = 0;
	int err;

	memset(n, 0, sizeof *n);
	proto_mp_reader_init(&rd, body, len);
	err = proto_mp_map_begin(&rd, &m, K_LAST + 1);
	if (err)
		return err;
	while ((err = proto_mp_map_next(&rd, &m, &key)) > 0) {
		if (key > K_LAST)
			return PROTO_E_KEY_UNKNOWN;
		present |= 1u << key;
		switch (key) {
		case K_VERSION:
			err = proto_mp_read_uint(&rd, &v);
			if (!err && v != PROTO_NOTICE_VERSION)
				err = PROTO_E_VERSION;
			break;
		case K_COMMUNITY:
			err = proto_mp_read_bin_fixed(&rd, n->community, 32);
			break;
		case K_ID:
			err = proto_mp_read_bin_fixed(&rd, n->id, 16);
			break;
		case K_THREAD:
			err = proto_mp_read_bin_fixed(&rd, n->thread, 16);
			break;
		case K_KIND:
			err = proto_mp_read_uint_max(&rd, 255, &v);
			n->kind = (uint8_t)v;
			break;
		case K_FROM:
			err = proto_mp_read_bin_fixed(&rd, n->from, 32);
			break;
		case K_TO:
			err = proto_mp_read_bin_fixed(&rd, n->to, 32);
			break;
		case K_TLP:
			err = proto_mp_read_uint_max(&rd, 255, &v);
			n->tlp = (uint8_t)v;
			break;
		case K_CREATED:
			err = proto_mp_read_uint(&rd, &n->created_ms);
			break;
		case K_FORM:
			err = proto_mp_read_str(&rd, PROTO_NOTICE_FORM_MAX, &n->form, &n->form_len);
			break;
		case K_STATUS:
			err = proto_mp_read_uint_max(&rd, 255, &v);
			n->status = (uint8_t)v;
			break;
		case K_COMMENT:
			err = proto_mp_read_str(&rd, PROTO_NOTICE_COMMENT_MAX, &n->comment,
						&n->comment_len);
			break;
		case K_DELIVER_TO:
			err = proto_mp_read_bin_fixed(&rd, n->deliver_to, 32);
			n->has_deliver_to = true;
			break;
		case K_HANDLE:
			err = proto_mp_read_bin_fixed(&rd, n->handle, PROTO_NOTICE_HANDLE_BYTES);
			n->has_handle = true;
			break;
		}
		if (err)
			return err;
	}
	if (err)
		return err;
	err = proto_mp_reader_finish(&rd);
	return err ? err : check(n, present);
}

/* The strict decode of @buf into @n; the signature's bytes and the body's into @sig/@body. */
static int decode_wire(const uint8_t *buf, size_t len, struct proto_notice *n, const uint8_t **sig,
		       const uint8_t **body, size_t *body_len)
{
	struct proto_mp_reader rd;
	size_t nb, sig_len;
	int err;

	memset(n, 0, sizeof *n);
	if (len > PROTO_NOTICE_MAX_BYTES)
		return PROTO_E_TOO_LARGE;
	proto_mp_reader_init(&rd, buf, len);
	err = proto_mp_read_array(&rd, 2, &nb);
	if (!err && nb != 2)
		err = PROTO_E_TYPE;
	if (!err)
		err = proto_mp_read_bin(&rd, PROTO_NOTICE_MAX_BYTES, body, body_len);
	if (!err)
		err = proto_mp_read_bin(&rd, 64, sig, &sig_len);
	if (!err && sig_len != 64)
		err = PROTO_E_REPORT_SIG;
	if (!err)
		err = proto_mp_reader_finish(&rd);
	if (!err)
		err = decode_body(*body, *body_len, n);
	return err;
}

int proto_notice_decode_stored(const uint8_t *buf, size_t len, struct proto_notice *n)
{
	const uint8_t *body, *sig;
	size_t body_len;

	return decode_wire(buf, len, n, &sig, &body, &body_len);
}

int proto_notice_decode(const uint8_t *buf, size_t len, struct proto_notice *n)
{
	const uint8_t *body, *sig;
	size_t body_len, msg_len;
	uint8_t *msg;
	int err = decode_wire(buf, len, n, &sig, &body, &body_len);

	if (err)
		return err;
	msg = signed_msg(body, body_len, &msg_len);
	if (!msg)
		return -ENOMEM;
	err = crypto_sign_ed25519_verify_detached(sig, msg, msg_len, n->from) == 0
		      ? 0
		      : PROTO_E_REPORT_SIG;
	free(msg);
	if (err)
		memset(n, 0, sizeof *n);
	return err;
}

void proto_notice_handle_seal(uint8_t handle[PROTO_NOTICE_HANDLE_BYTES], const uint8_t key[32],
			      const uint8_t from[32], const uint8_t id[16])
{
	uint8_t plain[48];

	memcpy(plain, from, 32);
	memcpy(plain + 32, id, 16);
	randombytes_buf(handle, 24);
	crypto_aead_xchacha20poly1305_ietf_encrypt(handle + 24, NULL, plain, sizeof plain,
						   (const uint8_t *)PROTO_NOTICE_DOMAIN,
						   strlen(PROTO_NOTICE_DOMAIN), NULL, handle, key);
}

int proto_notice_handle_open(const uint8_t handle[PROTO_NOTICE_HANDLE_BYTES], const uint8_t key[32],
			     uint8_t from[32], uint8_t id[16])
{
	uint8_t plain[48];

	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    plain, NULL, NULL, handle + 24, PROTO_NOTICE_HANDLE_BYTES - 24,
		    (const uint8_t *)PROTO_NOTICE_DOMAIN, strlen(PROTO_NOTICE_DOMAIN), handle,
		    key) != 0)
		return PROTO_E_REPORT_SIG;
	memcpy(from, plain, 32);
	memcpy(id, plain + 32, 16);
	sodium_memzero(plain, sizeof plain);
	return 0;
}
