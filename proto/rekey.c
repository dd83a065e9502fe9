/* SPDX-License-Identifier: MIT */
/*
 * Key rotation statements (proto/rekey.h). The new key signs too, so a statement can only
 * name keys its author holds: without that, a member could claim another member's fresh key
 * as its successor and have that member's history merged into its own.
 */
#include "proto/rekey.h"

#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/mp.h"
#include "proto/ring.h"

static int check(const struct proto_rekey *s)
{
	const uint8_t *k[5] = {s->community, s->old_id, s->new_id, s->new_transport_pk,
			       s->new_ring_pk};

	if (s->created_ms == 0)
		return PROTO_E_RANGE;
	if (!crypto_core_ed25519_is_valid_point(s->old_id) ||
	    !crypto_core_ed25519_is_valid_point(s->new_id) || proto_ring_pk_check(s->new_ring_pk))
		return PROTO_E_ROSTER_MEMBER;
	for (size_t i = 1; i < 5; i++)
		for (size_t j = 1; j < i; j++)
			if (memcmp(k[i], k[j], 32) == 0)
				return PROTO_E_ROSTER_MEMBER;
	return 0;
}

static int encode_body(const struct proto_rekey *s, uint8_t **out, size_t *out_len)
{
	struct proto_mp_writer w;
	int err = check(s);

	if (err)
		return err;
	proto_mp_writer_init(&w);
	proto_mp_write_map(&w, 7);
	proto_mp_write_uint(&w, 0);
	proto_mp_write_uint(&w, PROTO_REKEY_VERSION);
	proto_mp_write_uint(&w, 1);
	proto_mp_write_bin(&w, s->community, 32);
	proto_mp_write_uint(&w, 2);
	proto_mp_write_bin(&w, s->old_id, 32);
	proto_mp_write_uint(&w, 3);
	proto_mp_write_bin(&w, s->new_id, 32);
	proto_mp_write_uint(&w, 4);
	proto_mp_write_bin(&w, s->new_transport_pk, 32);
	proto_mp_write_uint(&w, 5);
	proto_mp_write_bin(&w, s->new_ring_pk, 32);
	proto_mp_write_uint(&w, 6);
	proto_mp_write_uint(&w, s->created_ms);
	return proto_mp_writer_finish(&w, out, out_len);
}

/* PROTO_REKEY_DOMAIN || @body in a new buffer. */
static uint8_t *message(const uint8_t *body, size_t len, size_t *msg_len)
{
	size_t dl = sizeof(PROTO_REKEY_DOMAIN) - 1;
	uint8_t *m = malloc(dl + len);

	if (!m)
		return NULL;
	memcpy(m, PROTO_REKEY_DOMAIN, dl);
	memcpy(m + dl, body, len);
	*msg_len = dl + len;
	return m;
}

int proto_rekey_sign(const uint8_t community[32], const struct proto_keys *old_keys,
		     const struct proto_keys *new_keys, uint64_t created_ms, uint8_t **out,
		     size_t *out_len)
{
	struct proto_rekey s;
	struct proto_mp_writer w;
	uint8_t *body = NULL, *msg = NULL, sig[2][64];
	size_t body_len, msg_len;
	int err;

	memcpy(s.community, community, 32);
	memcpy(s.old_id, old_keys->id_pk, 32);
	memcpy(s.new_id, new_keys->id_pk, 32);
	memcpy(s.new_transport_pk, new_keys->tx_pk, 32);
	memcpy(s.new_ring_pk, new_keys->ring_pk, 32);
	s.created_ms = created_ms;
	if (!memcmp(old_keys->tx_pk, new_keys->tx_pk, 32) ||
	    !memcmp(old_keys->ring_pk, new_keys->ring_pk, 32))
		return PROTO_E_ROSTER_MEMBER;
	if ((err = encode_body(&s, &body, &body_len)))
		return err;
	msg = message(body, body_len, &msg_len);
	if (!msg) {
		err = -ENOMEM;
		goto out;
	}
	crypto_sign_detached(sig[0], NULL, msg, msg_len, old_keys->id_sk);
	crypto_sign_detached(sig[1], NULL, msg, msg_len, new_keys->id_sk);
	proto_mp_writer_init(&w);
	proto_mp_write_array(&w, 3);
	proto_mp_write_bin(&w, body, body_len);
	proto_mp_write_bin(&w, sig[0], 64);
	proto_mp_write_bin(&w, sig[1], 64);
	err = proto_mp_writer_finish(&w, out, out_len);
out:
	free(body);
	free(msg);
	return err;
}

static int read_body(struct proto_rekey *s, const uint8_t *buf, size_t len)
{
	struct proto_mp_reader rd;
	struct proto_mp_map m;
	uint64_t key, v;
	unsigned seen = 0;
	int err;

	proto_mp_reader_init(&rd, buf, len);
	if ((err = proto_mp_map_begin(&rd, &m, 7)))
		return err;
	while ((err = proto_mp_map_next(&rd, &m, &key)) > 0) {
		switch (key) {
		case 0:
			err = proto_mp_read_uint(&rd, &v);
			if (!err && v != PROTO_REKEY_VERSION)
				err = PROTO_E_VERSION;
			break;
		case 1:
			err = proto_mp_read_bin_fixed(&rd, s->community, 32);
			break;
		case 2:
			err = proto_mp_read_bin_fixed(&rd, s->old_id, 32);
			break;
		case 3:
			err = proto_mp_read_bin_fixed(&rd, s->new_id, 32);
			break;
		case 4:
			err = proto_mp_read_bin_fixed(&rd, s->new_transport_pk, 32);
			break;
		case 5:
			err = proto_mp_read_bin_fixed(&rd, s->new_ring_pk, 32);
			break;
		case 6:
			err = proto_mp_read_uint(&rd, &s->created_ms);
			break;
		default:
			err = PROTO_E_KEY_UNKNOWN;
		}
		if (err)
			return err;
		seen |= 1u << key;
	}
	if (err)
		return err;
	if (seen != 0x7f)
		return PROTO_E_KEY_MISSING;
	if ((err = proto_mp_reader_finish(&rd)))
		return err;
	return check(s);
}

int proto_rekey_decode(struct proto_rekey *s, const uint8_t *buf, size_t len)
{
	struct proto_mp_reader rd;
	const uint8_t *body;
	uint8_t sig[2][64], *msg = NULL;
	size_t n, body_len, msg_len;
	int err;

	memset(s, 0, sizeof(*s));
	if (len > PROTO_REKEY_MAX_BYTES)
		return PROTO_E_TOO_LARGE;
	proto_mp_reader_init(&rd, buf, len);
	if ((err = proto_mp_read_array(&rd, 3, &n)))
		goto out;
	if (n != 3) {
		err = PROTO_E_KEY_MISSING;
		goto out;
	}
	if ((err = proto_mp_read_bin(&rd, PROTO_REKEY_MAX_BYTES, &body, &body_len)) ||
	    (err = proto_mp_read_bin_fixed(&rd, sig[0], 64)) ||
	    (err = proto_mp_read_bin_fixed(&rd, sig[1], 64)) ||
	    (err = proto_mp_reader_finish(&rd)) || (err = read_body(s, body, body_len)))
		goto out;
	msg = message(body, body_len, &msg_len);
	if (!msg) {
		err = -ENOMEM;
		goto out;
	}
	if (crypto_sign_verify_detached(sig[0], msg, msg_len, s->old_id) != 0 ||
	    crypto_sign_verify_detached(sig[1], msg, msg_len, s->new_id) != 0)
		err = PROTO_E_REKEY_SIG;
out:
	free(msg);
	if (err)
		memset(s, 0, sizeof(*s));
	return err;
}
