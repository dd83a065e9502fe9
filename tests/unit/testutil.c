/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto/crypto.h"

char *tu_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *p;

	if (!base || !*base)
		base = "/tmp";
	if (asprintf(&p, "%s/chatham-test-XXXXXX", base) < 0)
		return NULL;
	if (!mkdtemp(p)) {
		free(p);
		return NULL;
	}
	return p;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void tu_rmtree(const char *path)
{
	if (path)
		nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *tu_data_path(const char *rel)
{
	const char *base = getenv("CHATHAM_TEST_DATA");
	char *p;

	if (!base || !*base)
		base = CHATHAM_TEST_DATA_DIR;
	if (asprintf(&p, "%s/%s", base, rel) < 0)
		fail_msg("out of memory");
	if (access(p, R_OK) != 0)
		fail_msg("test data %s is missing (tests/data/%s)", p, rel);
	return p;
}

uint8_t *tu_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		goto out;
	buf = malloc((size_t)n + 1);
	if (!buf)
		goto out;
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[n] = 0;
	if (len)
		*len = (size_t)n;
out:
	fclose(f);
	return buf;
}

uint8_t *tu_unhex(const char *hex, size_t *len)
{
	size_t n = strlen(hex);
	uint8_t *out;

	if (n % 2)
		abort();
	out = malloc(n / 2 + 1);
	if (!out)
		abort();
	for (size_t i = 0; i < n / 2; i++) {
		int hi = proto_hex_digit((unsigned char)hex[2 * i]),
		    lo = proto_hex_digit((unsigned char)hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			abort();
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return out;
}

uint64_t tu_rand(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}
