/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_input.h — what the redaction harnesses (fuzz_policy_redact*.c,
 * fuzz_policy_view.c) share of reading their input: bytes and NUL-terminated strings taken
 * from the front (past the end, a byte is 0 and a string is empty), and a roster member
 * made of fuzzed strings. Static functions: each harness is one translation unit.
 */
#ifndef CHATHAM_TESTS_FUZZ_FUZZ_INPUT_H
#define CHATHAM_TESTS_FUZZ_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proto/roster.h"

struct fuzz_input {
	const uint8_t *p;
	size_t n;
};

/* fuzz_take() - the next byte of @in, 0 once it is used up. */
static inline uint8_t fuzz_take(struct fuzz_input *in)
{
	uint8_t b = 0;

	if (in->n > 0) {
		b = in->p[0];
		in->p++;
		in->n--;
	}
	return b;
}

/*
 * fuzz_take_str() - the bytes of @in up to its next NUL byte (taken too) or its end, into
 * @out (@max + 1 bytes) NUL-terminated; those past @max are taken and dropped. Returns the
 * length written.
 */
static inline size_t fuzz_take_str(struct fuzz_input *in, char *out, size_t max)
{
	size_t k = 0;

	while (in->n > 0) {
		uint8_t c = fuzz_take(in);

		if (c == 0)
			break;
		if (k < max)
			out[k++] = (char)c;
	}
	out[k] = '\0';
	return k;
}

/*
 * fuzz_member() - @m (zeroed first) named @name, with one alias, one domain and one address
 * from @alias, @domain and @addr where they are not empty (@addr may be NULL: none).
 * @slot: three pointers of caller storage @m points into, as it does into the strings.
 */
static inline void fuzz_member(struct proto_member *m, const char *name, const char *alias,
			       const char *domain, const char *addr, char *slot[3])
{
	memset(m, 0, sizeof(*m));
	m->name = (char *)name;
	slot[0] = (char *)alias;
	slot[1] = (char *)domain;
	slot[2] = (char *)addr;
	m->aliases = &slot[0];
	m->n_aliases = alias[0] != 0;
	m->domains = &slot[1];
	m->n_domains = domain[0] != 0;
	m->addrs = &slot[2];
	m->n_addrs = addr && addr[0] != 0;
}

/*
 * fuzz_roster_add() - add fuzz_member()'s member to @r as member @i of a fuzzed roster: its
 * id, transport key and ring key are 32 bytes of i + 1, i + 0x41 and i + 0x81. Returns
 * proto_roster_add_member()'s result (the roster's own rules refuse some strings).
 */
static inline int fuzz_roster_add(struct proto_roster *r, size_t i, const char *name,
				  const char *alias, const char *domain, const char *addr)
{
	struct proto_member m;
	char *slot[3];

	fuzz_member(&m, name, alias, domain, addr, slot);
	memset(m.id, (int)(i + 1), 32);
	memset(m.transport_pk, (int)(i + 0x41), 32);
	memset(m.ring_pk, (int)(i + 0x81), 32);
	return proto_roster_add_member(r, &m);
}

#endif
