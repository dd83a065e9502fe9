/* SPDX-License-Identifier: MIT */
/*
 * proto/mp.h — canonical msgpack (DESIGN.md §4), shared by every proto/ codec.
 * Internal to proto/: other folders never include this header.
 *
 * Canonical means: maps with unsigned integer keys in strictly ascending order, integers and
 * lengths in their shortest encoding, `str` only for valid UTF-8 text, `bin` for bytes, no
 * floats, no negative integers, no nil, no ext types, no trailing bytes. The writer produces
 * exactly that; the reader accepts nothing else and says precisely what was wrong.
 *
 * Writer: a growable heap buffer built on msgpack-c's packer. Errors are sticky: after an
 * allocation failure every call is a no-op and proto_mp_writer_finish() returns -ENOMEM, so
 * encoders check once at the end.
 *
 * Reader: a cursor over a borrowed buffer. Every read returns 0 or a negative PROTO_E_* code;
 * string and bin results point into the buffer (borrowed, valid while the buffer is).
 */
#ifndef CHATHAM_PROTO_MP_H
#define CHATHAM_PROTO_MP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

struct proto_mp_writer {
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int err;
};

/* proto_mp_writer_init() - empty writer in caller storage. */
void proto_mp_writer_init(struct proto_mp_writer *w);

void proto_mp_write_uint(struct proto_mp_writer *w, uint64_t v);
void proto_mp_write_bool(struct proto_mp_writer *w, bool v);
void proto_mp_write_str(struct proto_mp_writer *w, const char *s, size_t len);
void proto_mp_write_cstr(struct proto_mp_writer *w, const char *s);
/* An array of the @n NUL-terminated strings @v[0..@n) (borrowed). */
void proto_mp_write_cstrs(struct proto_mp_writer *w, char *const *v, size_t n);
void proto_mp_write_bin(struct proto_mp_writer *w, const void *p, size_t len);
void proto_mp_write_array(struct proto_mp_writer *w, size_t n);
void proto_mp_write_map(struct proto_mp_writer *w, size_t n);

/*
 * proto_mp_writer_finish() - hand over the encoded bytes. On success *@out is malloc'd and
 * owned by the caller and the writer is empty. On failure (-ENOMEM) nothing is returned.
 * Either way the writer holds no memory afterwards.
 */
int proto_mp_writer_finish(struct proto_mp_writer *w, uint8_t **out, size_t *out_len);

/* proto_mp_writer_deinit() - release the buffer without handing it over (error paths). */
void proto_mp_writer_deinit(struct proto_mp_writer *w);

struct proto_mp_reader {
	const uint8_t *p;
	const uint8_t *end;
};

void proto_mp_reader_init(struct proto_mp_reader *r, const uint8_t *buf, size_t len);

/* Unsigned integer in its shortest form. PROTO_E_TYPE for anything else (incl. negatives). */
int proto_mp_read_uint(struct proto_mp_reader *r, uint64_t *v);
/* Unsigned integer that must be <= @max (PROTO_E_RANGE otherwise). */
int proto_mp_read_uint_max(struct proto_mp_reader *r, uint64_t max, uint64_t *v);
int proto_mp_read_bool(struct proto_mp_reader *r, bool *v);
/* UTF-8 str of at most @max bytes (PROTO_E_TOO_LARGE); PROTO_E_UTF8 if invalid. */
int proto_mp_read_str(struct proto_mp_reader *r, size_t max, const char **s, size_t *len);
/* bin of at most @max bytes. */
int proto_mp_read_bin(struct proto_mp_reader *r, size_t max, const uint8_t **p, size_t *len);
/* bin of exactly @n bytes, copied to @out. PROTO_E_TOO_LARGE/PROTO_E_TRUNCATED... on mismatch. */
int proto_mp_read_bin_fixed(struct proto_mp_reader *r, void *out, size_t n);
/* Array / map headers with at most @max elements / entries. */
int proto_mp_read_array(struct proto_mp_reader *r, size_t max, size_t *n);
int proto_mp_read_map(struct proto_mp_reader *r, size_t max, size_t *n);

/*
 * Map iteration with key-order checks:
 *
 *     struct proto_mp_map m;
 *     if ((err = proto_mp_map_begin(r, &m, 16)) < 0) ...
 *     while ((err = proto_mp_map_next(r, &m, &key)) > 0) { switch (key) ... }
 *     if (err < 0) ...
 *
 * proto_mp_map_next() returns 1 with the next key, 0 after the last entry, or
 * PROTO_E_KEY_DUP / PROTO_E_KEY_ORDER / a read error.
 */
struct proto_mp_map {
	size_t n;
	size_t i;
	uint64_t last;
};
int proto_mp_map_begin(struct proto_mp_reader *r, struct proto_mp_map *m, size_t max);
int proto_mp_map_next(struct proto_mp_reader *r, struct proto_mp_map *m, uint64_t *key);
/* For maps whose keys are all required, in order: the next entry must have key @want
 * (PROTO_E_KEY_MISSING otherwise). */
int proto_mp_map_expect_key(struct proto_mp_reader *r, struct proto_mp_map *m, uint64_t want);
/* No entry left in @m and nothing after it in the buffer (PROTO_E_KEY_UNKNOWN, PROTO_E_TRAILING). */
int proto_mp_map_expect_end(struct proto_mp_reader *r, struct proto_mp_map *m);

/* proto_mp_reader_finish() - 0 if the whole buffer was consumed, else PROTO_E_TRAILING. */
int proto_mp_reader_finish(const struct proto_mp_reader *r);

/* proto_mp_utf8_valid() - strict UTF-8 (no overlongs, surrogates or code points > U+10FFFF). */
bool proto_mp_utf8_valid(const char *s, size_t len);

#endif
