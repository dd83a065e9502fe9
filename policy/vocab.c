/* SPDX-License-Identifier: MIT */
/*
 * Entries are kept in their canonical form (trimmed, ASCII lower case outside double
 * quotes) in one sorted array; a lookup canonicalises the tag the same way and searches.
 */
#include "policy/vocab.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/crypto.h"
#include "proto/mp.h"
#include "proto/report.h"

struct policy_vocab {
	char **e;
	size_t n, cap;
};

struct policy_vocab *policy_vocab_new(void)
{
	return calloc(1, sizeof(struct policy_vocab));
}

void policy_vocab_free(struct policy_vocab *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++)
		free(v->e[i]);
	free(v->e);
	free(v);
}

/*
 * The canonical form of @s (@len bytes) into @out (room for @len + 1): trimmed, ASCII lower
 * case outside double quotes. Returns its length, or -1 when quotes are unbalanced.
 */
static long canon(const char *s, size_t len, char *out)
{
	size_t a = 0, b = len, o = 0;
	bool quoted = false;

	while (a < b && (s[a] == ' ' || s[a] == '\t'))
		a++;
	while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\r'))
		b--;
	for (size_t i = a; i < b; i++) {
		char c = s[i];

		if (c == '"')
			quoted = !quoted;
		else if (!quoted && c >= 'A' && c <= 'Z')
			c = (char)(c + 32);
		out[o++] = c;
	}
	out[o] = '\0';
	return quoted ? -1 : (long)o;
}

static int push(struct policy_vocab *v, const char *s, size_t len)
{
	char *copy;

	if (v->n == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 64;
		char **p = realloc(v->e, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		v->e = p;
		v->cap = cap;
	}
	copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, s, len + 1);
	v->e[v->n++] = copy;
	return 0;
}

int policy_vocab_add(struct policy_vocab *v, const char *buf, size_t len, size_t *bad_line)
{
	char line[PROTO_REPORT_TAG_LEN_MAX + 1];
	size_t lineno = 0;

	for (size_t i = 0; i < len;) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - buf) : len, n = end - i;
		const char *s = buf + i;
		long c;
		int rc;

		lineno++;
		i = end + 1;
		while (n > 0 && (*s == ' ' || *s == '\t')) {
			s++;
			n--;
		}
		if (n == 0 || *s == '#' || (n == 1 && *s == '\r'))
			continue;
		if (n > PROTO_REPORT_TAG_LEN_MAX || !proto_mp_utf8_valid(s, n))
			goto bad;
		c = canon(s, n, line);
		if (c <= 0)
			goto bad;
		rc = push(v, line, (size_t)c);
		if (rc < 0)
			return rc;
		continue;
bad:
		if (bad_line)
			*bad_line = lineno;
		return -EINVAL;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int policy_vocab_seal(struct policy_vocab *v)
{
	size_t o = 0;

	if (v->n == 0)
		return 0; /* qsort() of a NULL array is undefined, even of none */
	qsort(v->e, v->n, sizeof(*v->e), cmp_str);
	for (size_t i = 0; i < v->n; i++) {
		if (o > 0 && strcmp(v->e[o - 1], v->e[i]) == 0) {
			free(v->e[i]);
			continue;
		}
		v->e[o++] = v->e[i];
	}
	v->n = o;
	return 0;
}

size_t policy_vocab_size(const struct policy_vocab *v)
{
	return v ? v->n : 0;
}

bool policy_vocab_has(const struct policy_vocab *v, const char *tag, size_t len)
{
	char buf[PROTO_REPORT_TAG_LEN_MAX + 1];
	const char *key = buf;
	long c;

	if (!v || v->n == 0 || len > PROTO_REPORT_TAG_LEN_MAX)
		return false;
	c = canon(tag, len, buf);
	if (c <= 0 || memchr(buf, '\0', (size_t)c))
		return false;
	return bsearch(&key, v->e, v->n, sizeof(*v->e), cmp_str) != NULL;
}

void policy_vocab_fingerprint(const struct policy_vocab *v, uint8_t fp[32])
{
	const void *parts[2] = {fp, NULL};
	size_t lens[2] = {32, 0};

	/* Entries are canonical, sorted and distinct once sealed; each hashed with its NUL. */
	memset(fp, 0, 32);
	for (size_t i = 0; v && i < v->n; i++) {
		parts[1] = v->e[i];
		lens[1] = strlen(v->e[i]) + 1;
		proto_hash(fp, 32, parts, lens, 2);
	}
}
