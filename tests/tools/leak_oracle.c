/* SPDX-License-Identifier: MIT */
/*
 * leak_oracle — the integration tests' leak oracle as a program (tests/tools/leakcheck.h;
 * driven by tests/integ/leakoracle.py). Test code only: not installed, not in the CLI.
 *
 *   leak_oracle PATTERNS FILE...
 *
 * PATTERNS holds one pattern a line, "KIND<TAB>LABEL<TAB>TEXT" with KIND one of name, host,
 * hex, b64 (empty lines and lines starting with '#' are skipped). Every FILE is searched for
 * every pattern; each hit is one line on stdout:
 *
 *   FILE<TAB>LABEL<TAB>OFFSET<TAB>CONTEXT
 *
 * (CONTEXT: the hit and up to 24 bytes either side, '\\', tabs, newlines and bytes outside
 * printable ASCII as \xNN). Exit status: 0 no hit, 1 some hit, 2 usage, a pattern without a
 * skeleton, an unreadable file or out of memory.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leakcheck.h"

#define MAX_HITS 1000
#define CONTEXT 24

static const struct {
	const char *name;
	enum leakcheck_kind kind;
} kinds[] = {{"name", LEAKCHECK_NAME},
	     {"host", LEAKCHECK_HOST},
	     {"hex", LEAKCHECK_HEX},
	     {"b64", LEAKCHECK_B64}};

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		size_t k;

		if (n == cap) {
			char *b = realloc(buf, cap ? 2 * cap : 65536);
			if (!b) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = b;
			cap = cap ? 2 * cap : 65536;
		}
		k = fread(buf + n, 1, cap - n, f);
		n += k;
		if (k == 0) {
			if (ferror(f)) {
				free(buf);
				buf = NULL;
			}
			break;
		}
	}
	fclose(f);
	*len = n;
	return buf;
}

static int load_patterns(struct leakcheck *lc, const char *path)
{
	size_t len;
	char *text = read_all(path, &len), *line, *save = NULL;
	int r = 0;

	if (!text) {
		fprintf(stderr, "leak_oracle: %s: %s\n", path, strerror(errno ? errno : ENOMEM));
		return -1;
	}
	text[len] = '\0'; /* read_all() leaves room: it reads until a read gives nothing */
	for (line = strtok_r(text, "\n", &save); line && r == 0;
	     line = strtok_r(NULL, "\n", &save)) {
		char *label = strchr(line, '\t'), *pat = label ? strchr(label + 1, '\t') : NULL;
		size_t k;

		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (!pat) {
			fprintf(stderr, "leak_oracle: %s: not KIND<TAB>LABEL<TAB>TEXT: %s\n", path,
				line);
			r = -1;
			break;
		}
		*label++ = '\0';
		*pat++ = '\0';
		for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			if (!strcmp(kinds[k].name, line))
				break;
		if (k == sizeof(kinds) / sizeof(kinds[0])) {
			fprintf(stderr, "leak_oracle: %s: unknown kind %s\n", path, line);
			r = -1;
			break;
		}
		r = leakcheck_add(lc, kinds[k].kind, label, pat);
		if (r < 0)
			fprintf(stderr, "leak_oracle: %s: %s %s \"%s\": %s\n", path, line, label,
				pat, r == -EINVAL ? "nothing to look for" : strerror(-r));
	}
	free(text);
	return r < 0 ? -1 : 0;
}

static void print_context(const char *data, size_t len, size_t from, size_t to)
{
	size_t a = from > CONTEXT ? from - CONTEXT : 0, b = len - to > CONTEXT ? to + CONTEXT : len;

	for (size_t i = a; i < b; i++) {
		unsigned char c = (unsigned char)data[i];

		if (c >= 0x20 && c < 0x7F && c != '\\')
			putchar(c);
		else
			printf("\\x%02x", c);
	}
}

int main(int argc, char **argv)
{
	static struct leakcheck_hit hits[MAX_HITS];
	struct leakcheck *lc;
	long total = 0;
	size_t bytes = 0;
	int rc = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: leak_oracle PATTERNS FILE...\n");
		return 2;
	}
	lc = leakcheck_new();
	if (!lc) {
		fprintf(stderr, "leak_oracle: cannot build the skeleton (ICU data?)\n");
		return 2;
	}
	if (load_patterns(lc, argv[1]) < 0 || leakcheck_patterns(lc) == 0) {
		if (leakcheck_patterns(lc) == 0)
			fprintf(stderr, "leak_oracle: %s: no pattern\n", argv[1]);
		leakcheck_free(lc);
		return 2;
	}
	for (int i = 2; i < argc && rc == 0; i++) {
		size_t len;
		char *data = read_all(argv[i], &len);
		long n;

		if (!data) {
			fprintf(stderr, "leak_oracle: %s: %s\n", argv[i],
				strerror(errno ? errno : ENOMEM));
			rc = 2;
			break;
		}
		bytes += len;
		n = leakcheck_scan(lc, data, len, hits, MAX_HITS);
		if (n < 0) {
			fprintf(stderr, "leak_oracle: %s: %s\n", argv[i], strerror((int)-n));
			rc = 2;
		}
		for (long k = 0; k < n && k < MAX_HITS; k++) {
			printf("%s\t%s\t%zu\t", argv[i], hits[k].label, hits[k].from);
			print_context(data, len, hits[k].from, hits[k].to);
			putchar('\n');
		}
		if (n > MAX_HITS)
			printf("%s\t(more)\t0\t%ld hits, %d listed\n", argv[i], n, MAX_HITS);
		total += n > 0 ? n : 0;
		free(data);
	}
	fprintf(stderr, "leak_oracle: %zu patterns, %d files, %zu bytes, %ld hits\n",
		leakcheck_patterns(lc), argc - 2, bytes, total);
	leakcheck_free(lc);
	if (fflush(stdout) != 0)
		rc = 2;
	return rc ? rc : total > 0;
}
