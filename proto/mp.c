/* SPDX-License-Identifier: MIT */
/*
 * Canonical msgpack writer and strict reader.
 *
 * The writer delegates to msgpack-c's packer, which always picks the shortest encoding for
 * integers and lengths (msgpack spec v5 forms, str8 included), so canonical output needs no
 * extra work. The reader is hand-written because msgpack-c's unpacker normalises what it
 * reads: it cannot tell a uint16 holding 5 from a fixint 5, and canonical checking needs
 * exactly that difference.
 */
#include "proto/mp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"

static int sbuf_write(void *data, const char *buf, size_t len)
{
	struct proto_mp_writer *w = data;

	if (w->err)
		return -1;
	if (msgpack_sbuffer_write(&w->sb, buf, len) != 0) {
		w->err = -ENOMEM;
		return -1;
	}
	return 0;
}

void proto_mp_writer_init(struct proto_mp_writer *w)
{
	msgpack_sbuffer_init(&w->sb);
	msgpack_packer_init(&w->pk, w, sbuf_write);
	w->err = 0;
}

void proto_mp_write_uint(struct proto_mp_writer *w, uint64_t v)
{
	msgpack_pack_uint64(&w->pk, v);
}

void proto_mp_write_bool(struct proto_mp_writer *w, bool v)
{
	if (v)
		msgpack_pack_true(&w->pk);
	else
		msgpack_pack_false(&w->pk);
}

void proto_mp_write_str(struct proto_mp_writer *w, const char *s, size_t len)
{
	msgpack_pack_str_with_body(&w->pk, s, len);
}

void proto_mp_write_cstr(struct proto_mp_writer *w, const char *s)
{
	proto_mp_write_str(w, s, strlen(s));
}

void proto_mp_write_cstrs(struct proto_mp_writer *w, char *const *v, size_t n)
{
	proto_mp_write_array(w, n);
	for (size_t i = 0; i < n; i++)
		proto_mp_write_cstr(w, v[i]);
}

void proto_mp_write_bin(struct proto_mp_writer *w, const void *p, size_t len)
{
	msgpack_pack_bin_with_body(&w->pk, p, len);
}

void proto_mp_write_array(struct proto_mp_writer *w, size_t n)
{
	msgpack_pack_array(&w->pk, n);
}

void proto_mp_write_map(struct proto_mp_writer *w, size_t n)
{
	msgpack_pack_map(&w->pk, n);
}

int proto_mp_writer_finish(struct proto_mp_writer *w, uint8_t **out, size_t *out_len)
{
	int err = w->err;

	if (err) {
		proto_mp_writer_deinit(w);
		return err;
	}
	if (w->sb.size == 0) {
		/* msgpack_sbuffer allocates lazily; an empty result still needs a buffer. */
		*out = malloc(1);
		if (!*out)
			return -ENOMEM;
		*out_len = 0;
		return 0;
	}
	*out_len = w->sb.size;
	*out = (uint8_t *)msgpack_sbuffer_release(&w->sb);
	return 0;
}

void proto_mp_writer_deinit(struct proto_mp_writer *w)
{
	msgpack_sbuffer_destroy(&w->sb);
	msgpack_sbuffer_init(&w->sb);
	w->err = 0;
}

void proto_mp_reader_init(struct proto_mp_reader *r, const uint8_t *buf, size_t len)
{
	r->p = buf;
	r->end = buf + len;
}

static size_t avail(const struct proto_mp_reader *r)
{
	return (size_t)(r->end - r->p);
}

static uint64_t be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * Classify a type byte we do not accept anywhere, so every rejection names its reason.
 * Returns the error for a forbidden type, or PROTO_E_TYPE for a merely unexpected one.
 */
static int bad_type(uint8_t b)
{
	if (b == 0xca || b == 0xcb)
		return PROTO_E_FLOAT;
	if (b == 0xc1 || (b >= 0xc7 && b <= 0xc9) || (b >= 0xd4 && b <= 0xd8))
		return PROTO_E_RESERVED;
	return PROTO_E_TYPE;
}

/*
 * Read an integer-valued header of @width bytes after the type byte and check that a shorter
 * form could not have held it (@min is the smallest value this width may carry).
 */
static int read_width(struct proto_mp_reader *r, size_t width, uint64_t min, uint64_t *v)
{
	if (avail(r) < 1 + width)
		return PROTO_E_TRUNCATED;
	*v = be(r->p + 1, width);
	if (*v < min)
		return PROTO_E_NONMINIMAL;
	r->p += 1 + width;
	return 0;
}

int proto_mp_read_uint(struct proto_mp_reader *r, uint64_t *v)
{
	uint8_t b;

	if (avail(r) < 1)
		return PROTO_E_TRUNCATED;
	b = r->p[0];
	if (b <= 0x7f) {
		*v = b;
		r->p++;
		return 0;
	}
	switch (b) {
	case 0xcc:
		return read_width(r, 1, 0x80, v);
	case 0xcd:
		return read_width(r, 2, 0x100, v);
	case 0xce:
		return read_width(r, 4, 0x10000, v);
	case 0xcf:
		return read_width(r, 8, 0x100000000ull, v);
	default:
		return bad_type(b);
	}
}

int proto_mp_read_uint_max(struct proto_mp_reader *r, uint64_t max, uint64_t *v)
{
	const uint8_t *save = r->p;
	int err = proto_mp_read_uint(r, v);

	if (err)
		return err;
	if (*v > max) {
		r->p = save;
		return PROTO_E_RANGE;
	}
	return 0;
}

int proto_mp_read_bool(struct proto_mp_reader *r, bool *v)
{
	if (avail(r) < 1)
		return PROTO_E_TRUNCATED;
	if (r->p[0] != 0xc2 && r->p[0] != 0xc3)
		return bad_type(r->p[0]);
	*v = r->p[0] == 0xc3;
	r->p++;
	return 0;
}

/* Length header of str (@is_str) or bin; leaves r->p at the payload. */
static int read_len(struct proto_mp_reader *r, bool is_str, size_t *len)
{
	uint8_t b;
	uint64_t v = 0;
	int err = 0;

	if (avail(r) < 1)
		return PROTO_E_TRUNCATED;
	b = r->p[0];
	if (is_str && b >= 0xa0 && b <= 0xbf) {
		v = b & 0x1f;
		r->p++;
	} else if (is_str && b == 0xd9) {
		err = read_width(r, 1, 32, &v);
	} else if (is_str && b == 0xda) {
		err = read_width(r, 2, 0x100, &v);
	} else if (is_str && b == 0xdb) {
		err = read_width(r, 4, 0x10000, &v);
	} else if (!is_str && b == 0xc4) {
		err = read_width(r, 1, 0, &v);
	} else if (!is_str && b == 0xc5) {
		err = read_width(r, 2, 0x100, &v);
	} else if (!is_str && b == 0xc6) {
		err = read_width(r, 4, 0x10000, &v);
	} else {
		return bad_type(b);
	}
	if (err)
		return err;
	if (v > avail(r))
		return PROTO_E_TRUNCATED;
	*len = (size_t)v;
	return 0;
}

int proto_mp_read_str(struct proto_mp_reader *r, size_t max, const char **s, size_t *len)
{
	const uint8_t *save = r->p;
	size_t n;
	int err = read_len(r, true, &n);

	if (err)
		return err;
	if (n > max) {
		r->p = save;
		return PROTO_E_TOO_LARGE;
	}
	if (!proto_mp_utf8_valid((const char *)r->p, n)) {
		r->p = save;
		return PROTO_E_UTF8;
	}
	*s = (const char *)r->p;
	*len = n;
	r->p += n;
	return 0;
}

int proto_mp_read_bin(struct proto_mp_reader *r, size_t max, const uint8_t **p, size_t *len)
{
	const uint8_t *save = r->p;
	size_t n;
	int err = read_len(r, false, &n);

	if (err)
		return err;
	if (n > max) {
		r->p = save;
		return PROTO_E_TOO_LARGE;
	}
	*p = r->p;
	*len = n;
	r->p += n;
	return 0;
}

int proto_mp_read_bin_fixed(struct proto_mp_reader *r, void *out, size_t n)
{
	const uint8_t *p;
	size_t len;
	int err = proto_mp_read_bin(r, n, &p, &len);

	if (err)
		return err;
	if (len != n)
		return PROTO_E_RANGE;
	memcpy(out, p, n);
	return 0;
}

/* Header of an array (@fix_base 0x90, 0xdc, 0xdd) or a map (0x80, 0xde, 0xdf). */
static int read_container(struct proto_mp_reader *r, uint8_t fix_base, uint8_t b16, uint8_t b32,
			  size_t max, size_t *n)
{
	const uint8_t *save = r->p;
	uint8_t b;
	uint64_t v;
	int err = 0;

	if (avail(r) < 1)
		return PROTO_E_TRUNCATED;
	b = r->p[0];
	if (b >= fix_base && b <= fix_base + 0x0f) {
		v = b & 0x0f;
		r->p++;
	} else if (b == b16) {
		err = read_width(r, 2, 16, &v);
	} else if (b == b32) {
		err = read_width(r, 4, 0x10000, &v);
	} else {
		return bad_type(b);
	}
	if (err)
		return err;
	if (v > max) {
		r->p = save;
		return PROTO_E_TOO_LARGE;
	}
	/* Every element takes at least one byte: a count beyond the input is a lie. */
	if (v > avail(r)) {
		r->p = save;
		return PROTO_E_TRUNCATED;
	}
	*n = (size_t)v;
	return 0;
}

int proto_mp_read_array(struct proto_mp_reader *r, size_t max, size_t *n)
{
	return read_container(r, 0x90, 0xdc, 0xdd, max, n);
}

int proto_mp_read_map(struct proto_mp_reader *r, size_t max, size_t *n)
{
	return read_container(r, 0x80, 0xde, 0xdf, max, n);
}

int proto_mp_map_begin(struct proto_mp_reader *r, struct proto_mp_map *m, size_t max)
{
	m->i = 0;
	m->last = 0;
	return proto_mp_read_map(r, max, &m->n);
}

int proto_mp_map_next(struct proto_mp_reader *r, struct proto_mp_map *m, uint64_t *key)
{
	int err;

	if (m->i == m->n)
		return 0;
	err = proto_mp_read_uint(r, key);
	if (err)
		return err;
	if (m->i > 0 && *key == m->last)
		return PROTO_E_KEY_DUP;
	if (m->i > 0 && *key < m->last)
		return PROTO_E_KEY_ORDER;
	m->last = *key;
	m->i++;
	return 1;
}

int proto_mp_map_expect_key(struct proto_mp_reader *r, struct proto_mp_map *m, uint64_t want)
{
	uint64_t key;
	int err = proto_mp_map_next(r, m, &key);

	if (err < 0)
		return err;
	return err == 0 || key != want ? PROTO_E_KEY_MISSING : 0;
}

int proto_mp_map_expect_end(struct proto_mp_reader *r, struct proto_mp_map *m)
{
	uint64_t key;
	int err = proto_mp_map_next(r, m, &key);

	if (err < 0)
		return err;
	return err > 0 ? PROTO_E_KEY_UNKNOWN : proto_mp_reader_finish(r);
}

int proto_mp_reader_finish(const struct proto_mp_reader *r)
{
	return r->p == r->end ? 0 : PROTO_E_TRAILING;
}

bool proto_mp_utf8_valid(const char *str, size_t len)
{
	const uint8_t *s = (const uint8_t *)str;
	size_t i = 0;

	while (i < len) {
		uint8_t c = s[i];
		uint32_t cp;
		size_t n;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false; /* continuation byte, overlong lead (c0/c1) or > f4 */
		}
		if (len - i - 1 < n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}
