/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_policy_leak_corpus.c — the leak-oracle corpus (tests/data/leak-corpus/)
 * through the redactor. Each line is one report's tags and description, redacted together
 * through policy_strip_report() (the path of `query`; export views use the same joint
 * redaction):
 *   - "leak" lines: some field is redacted or dropped, the outputs read together name no
 *     member (policy_redact_names()), and, independently of the redactor's own matching, no
 *     member's name, alias or domain (letters and digits only, ASCII case folded) and no
 *     key's 8-digit hex or 16-character base64 prefix appears in them;
 *   - "keep" lines (controls): every field leaves unchanged.
 * Prints how many fields were dropped rather than redacted. A missing corpus fails.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/redact.h"
#include "policy/redact_test.h"
#include "policy/strip.h"
#include "proto/crypto.h"
#include "proto/roster.h"

#define MAX_MEMBERS 8
#define MAX_FIELDS 8
#define MAX_NEEDLES 256
#define COMPARE_MAX 48 /* fields in one comparison of the paths */

struct corpus_member {
	char name[64];
	char *aliases[4], *domains[4], *poc[2]; /* poc: team e-mail, URL */
	size_t n_aliases, n_domains, n_poc;
	uint8_t keys[3][32]; /* id, transport, ring */
};

static struct corpus_member cm[MAX_MEMBERS];
static size_t n_cm;
static char needles[MAX_NEEDLES][80]; /* letters-only folded names; key prefixes */
static bool needle_raw[MAX_NEEDLES];  /* compared byte for byte (base64) */
static size_t n_needles;

static char *read_file(const char *name)
{
	const char *src = getenv("CHATHAM_SOURCE_DIR");
	char path[1024];
	FILE *f;
	char *buf;
	long n;

	assert_non_null(src); /* set by ctest: the corpus must be found, never skipped */
	snprintf(path, sizeof(path), "%s/tests/data/leak-corpus/%s", src, name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("leak corpus missing: %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void trim(char *s)
{
	size_t n = strlen(s), a = 0;

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\r'))
		s[--n] = '\0';
	while (s[a] == ' ')
		a++;
	memmove(s, s + a, n - a + 1);
}

/* Split @s at @sep into at most @max trimmed, strdup'ed parts. */
static size_t split(const char *s, char sep, char **out, size_t max)
{
	size_t n = 0;

	while (*s && n < max) {
		const char *e = strchr(s, sep);
		size_t len = e ? (size_t)(e - s) : strlen(s);

		out[n] = strndup(s, len);
		assert_non_null(out[n]);
		trim(out[n]);
		if (*out[n])
			n++;
		else
			free(out[n]);
		s += len + (e ? 1 : 0);
	}
	return n;
}

static void add_needle(const char *s, bool raw)
{
	size_t o = 0;

	assert_true(n_needles < MAX_NEEDLES);
	for (; *s && o < sizeof(needles[0]) - 1; s++) {
		char c = *s;

		if (raw) {
			needles[n_needles][o++] = c;
			continue;
		}
		if (c >= 'A' && c <= 'Z')
			c = (char)(c + 32);
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			needles[n_needles][o++] = c;
	}
	needles[n_needles][o] = '\0';
	needle_raw[n_needles] = raw;
	if (o >= 4)
		n_needles++;
}

static size_t b64(char *out, const uint8_t *in, size_t len, bool url, bool pad)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	size_t o = 0;

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		size_t n = len - i < 3 ? len - i : 3;

		if (n > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (n > 2)
			v |= in[i + 2];
		for (size_t k = 0; k < 4; k++) {
			uint32_t x = (v >> (18 - 6 * k)) & 63;

			if (k > n) {
				if (pad)
					out[o++] = '=';
				continue;
			}
			out[o++] = x < 62 ? a[x] : x == 62 ? (url ? '-' : '+') : (url ? '_' : '/');
		}
	}
	out[o] = '\0';
	return o;
}

/* The host of @url ("scheme://[user@]host[:port]/..."; IPv6 in brackets): a static copy. */
static const char *url_host(const char *url)
{
	static char host[256];
	const char *h = strstr(url, "://"), *at;
	size_t len;

	assert_non_null(h);
	h += 3;
	len = strcspn(h, "/?#");
	at = memchr(h, '@', len);
	if (at) {
		len -= (size_t)(at + 1 - h);
		h = at + 1;
	}
	if (h[0] == '[') {
		h++;
		len = strcspn(h, "]");
	} else if (memchr(h, ':', len)) {
		len = (size_t)((const char *)memchr(h, ':', len) - h);
	}
	assert_true(len < sizeof(host));
	memcpy(host, h, len);
	host[len] = '\0';
	return host;
}

static struct proto_roster *load_roster(void)
{
	char *text = read_file("roster.txt"), *lines[64];
	size_t n_lines = split(text, '\n', lines, 64);
	struct proto_roster *r = proto_roster_new();
	uint64_t x = 0x5eed;

	assert_non_null(r);
	r->epoch = 1;
	for (size_t l = 0; l < n_lines; l++) {
		char *parts[4] = {0};
		size_t n_parts;
		struct corpus_member *c;
		struct proto_member m;

		if (lines[l][0] == '#') {
			free(lines[l]);
			continue;
		}
		n_parts = split(lines[l], '|', parts, 4);
		assert_true(n_parts == 3 || n_parts == 4);
		assert_true(n_cm < MAX_MEMBERS);
		c = &cm[n_cm++];
		snprintf(c->name, sizeof(c->name), "%s", parts[0]);
		c->n_aliases = split(parts[1], ';', c->aliases, 4);
		c->n_domains = split(parts[2], ';', c->domains, 4);
		c->n_poc = n_parts == 4 ? split(parts[3], ';', c->poc, 2) : 0;
		assert_true(n_parts == 3 || c->n_poc == 2);
		for (int k = 0; k < 3; k++)
			for (int b = 0; b < 32; b++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				c->keys[k][b] = (uint8_t)x;
			}
		memset(&m, 0, sizeof(m));
		memcpy(m.id, c->keys[0], 32);
		memcpy(m.transport_pk, c->keys[1], 32);
		memcpy(m.ring_pk, c->keys[2], 32);
		m.name = c->name;
		m.n_aliases = c->n_aliases;
		m.aliases = c->aliases;
		m.n_domains = c->n_domains;
		m.domains = c->domains;
		if (c->n_poc == 2) {
			m.poc.email = c->poc[0];
			m.poc.url = c->poc[1];
			add_needle(strchr(c->poc[0], '@') + 1, false);
			add_needle(url_host(c->poc[1]), false);
		}
		assert_int_equal(proto_roster_add_member(r, &m), 0);
		add_needle(c->name, false);
		for (size_t i = 0; i < c->n_aliases; i++)
			add_needle(c->aliases[i], false);
		for (size_t i = 0; i < c->n_domains; i++)
			add_needle(c->domains[i], false);
		for (int k = 0; k < 3; k++) {
			char enc[80];

			proto_hex_encode(enc, c->keys[k], 32);
			enc[8] = '\0';
			add_needle(enc, false);
			b64(enc, c->keys[k], 32, false, false);
			enc[16] = '\0';
			add_needle(enc, true);
			b64(enc, c->keys[k], 32, true, false);
			enc[16] = '\0';
			add_needle(enc, true);
		}
		for (int i = 0; i < 4; i++)
			free(parts[i]);
		free(lines[l]);
	}
	free(text);
	assert_true(n_cm >= 3);
	return r;
}

/* The encoding @form of key @k of member @m into @out. */
static void key_form(char *out, size_t cap, const uint8_t *key, const char *form)
{
	char hex[65];

	proto_hex_encode(hex, key, 32);
	if (strcmp(form, "hex") == 0) {
		snprintf(out, cap, "%s", hex);
	} else if (strcmp(form, "HEX") == 0 || strcmp(form, "HEX16") == 0) {
		for (int i = 0; i < 64; i++)
			hex[i] = (char)(hex[i] >= 'a' ? hex[i] - 32 : hex[i]);
		snprintf(out, cap, "%.*s", form[3] ? 16 : 64, hex);
	} else if (strncmp(form, "hex", 3) == 0 && form[3] >= '0' && form[3] <= '9') {
		snprintf(out, cap, "%.*s", atoi(form + 3), hex);
	} else if (strcmp(form, "hexcolon") == 0 || strcmp(form, "hexcolon8") == 0 ||
		   strcmp(form, "hexspace") == 0) {
		size_t bytes = strcmp(form, "hexcolon") == 0 ? 32 : 8, o = 0;

		for (size_t i = 0; i < bytes; i++)
			o += (size_t)snprintf(out + o, cap - o, "%s%.2s",
					      i ? (form[3] == 's' ? " " : ":") : "", hex + 2 * i);
	} else if (strcmp(form, "0x") == 0) {
		snprintf(out, cap, "0x%.16s", hex);
	} else if (strncmp(form, "b64", 3) == 0) {
		char enc[64];

		b64(enc, key, 32, strcmp(form, "b64url") == 0, strcmp(form, "b64") == 0);
		snprintf(out, cap, "%.*s", strcmp(form, "b64_20") == 0 ? 20 : 64, enc);
	} else {
		fail_msg("unknown key form %s", form);
	}
}

/* Unescape \t \n \\ and substitute {id|tx|ring:M:FORM}; returns a malloc'ed string. */
static char *expand(const char *s)
{
	char *out = malloc(4096), kind[8], form[16];
	size_t o = 0;
	unsigned m;

	assert_non_null(out);
	while (*s) {
		if (s[0] == '\\' && s[1]) {
			out[o++] = s[1] == 't' ? '\t' : s[1] == 'n' ? '\n' : s[1];
			s += 2;
		} else if (s[0] == '{' && sscanf(s, "{%7[a-z]:%u:%15[^}]}", kind, &m, form) == 3) {
			const uint8_t *key;

			assert_true(m < n_cm);
			key = cm[m].keys[strcmp(kind, "id") == 0   ? 0
					 : strcmp(kind, "tx") == 0 ? 1
								   : 2];
			key_form(out + o, 4096 - o, key, form);
			o += strlen(out + o);
			s = strchr(s, '}') + 1;
		} else {
			out[o++] = *s++;
		}
		assert_true(o < 3000);
	}
	out[o] = '\0';
	return out;
}

/* Letters and digits of @s, ASCII case folded. */
static void fold(const char *s, size_t len, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c + 32);
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			out[o++] = c;
	}
	out[o] = '\0';
}

static struct proto_roster *roster;
static struct policy_redactor *rd;

static int setup(void **state)
{
	const struct proto_roster *rs[1];

	(void)state;
	roster = load_roster();
	rs[0] = roster;
	rd = policy_redact_new(rs, 1);
	return rd ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	policy_redact_free(rd);
	proto_roster_free(roster);
	for (size_t i = 0; i < n_cm; i++) {
		for (size_t k = 0; k < cm[i].n_aliases; k++)
			free(cm[i].aliases[k]);
		for (size_t k = 0; k < cm[i].n_domains; k++)
			free(cm[i].domains[k]);
		for (size_t k = 0; k < cm[i].n_poc; k++)
			free(cm[i].poc[k]);
	}
	return 0;
}

static void test_corpus(void **state)
{
	char *text = read_file("corpus.txt"), *lines[512];
	size_t n_lines = split(text, '\n', lines, 512);
	size_t n_leak = 0, n_keep = 0, n_fields = 0, n_dropped = 0, n_redacted = 0, bad = 0;
	struct policy_report_view *v = malloc(sizeof(*v));
	struct policy_config cfg;

	(void)state;
	assert_non_null(rd);
	assert_non_null(v);
	policy_config_init(&cfg);
	for (size_t l = 0; l < n_lines; l++) {
		char *cols[MAX_FIELDS + 2], *in[MAX_FIELDS];
		size_t n_cols, n_f, n_tags = 0, joined_len = 0, desc_i = SIZE_MAX;
		char joined[16384], folded[16384];
		bool leak, changed, fail = false;
		struct proto_report rep;

		if (lines[l][0] == '#') {
			free(lines[l]);
			continue;
		}
		n_cols = split(lines[l], '\t', cols, MAX_FIELDS + 2);
		assert_true(n_cols >= 3);
		leak = strcmp(cols[0], "leak") == 0;
		assert_true(leak || strcmp(cols[0], "keep") == 0);
		n_f = n_cols - 2;
		memset(&rep, 0, sizeof(rep));
		rep.kind = PROTO_KIND_INDICATOR;
		rep.tlp = PROTO_TLP_GREEN;
		rep.prov = PROTO_PROV_ATTRIBUTED;
		memcpy(rep.signer, cm[n_cm - 1].keys[0], 32);
		for (size_t i = 0; i < n_f; i++) {
			const char *c = cols[2 + i];

			assert_true(strncmp(c, "tag:", 4) == 0 || strncmp(c, "desc:", 5) == 0);
			in[i] = expand(strchr(c, ':') + 1);
			if (c[0] == 't') {
				rep.tags[n_tags].ptr = in[i];
				rep.tags[n_tags++].len = strlen(in[i]);
			} else {
				rep.description.ptr = in[i];
				rep.description.len = strlen(in[i]);
				desc_i = i;
			}
		}
		rep.n_tags = n_tags;
		assert_int_equal(policy_strip_report(v, &cfg, rd, &rep, NULL), 0);
		n_fields += n_f;
		n_dropped += v->n_dropped;
		changed = v->n_tags != n_tags ||
			  (desc_i != SIZE_MAX &&
			   (!v->has_description || strcmp(v->description, in[desc_i]) != 0));
		for (size_t t = 0; t < v->n_tags && !changed; t++)
			changed = strcmp(v->tags[t], rep.tags[t].ptr) != 0;
		for (size_t t = 0; t < v->n_tags; t++) {
			joined_len +=
				(size_t)snprintf(joined + joined_len, sizeof(joined) - joined_len,
						 "%s\n", v->tags[t]);
			n_redacted += strstr(v->tags[t], POLICY_REDACT_TOKEN) != NULL;
		}
		if (v->has_description) {
			joined_len +=
				(size_t)snprintf(joined + joined_len, sizeof(joined) - joined_len,
						 "%s", v->description);
			n_redacted += strstr(v->description, POLICY_REDACT_TOKEN) != NULL;
		}
		if (leak) {
			n_leak++;
			fail = !changed ||
			       policy_redact_names(rd, joined, joined_len, NULL, NULL) != 0;
			fold(joined, joined_len, folded);
			for (size_t k = 0; k < n_needles && !fail; k++)
				fail = needle_raw[k] ? memmem(joined, joined_len, needles[k],
							      strlen(needles[k])) != NULL
						     : strstr(folded, needles[k]) != NULL;
		} else {
			n_keep++;
			fail = changed || v->n_dropped != 0;
		}
		if (fail) {
			bad++;
			fprintf(stderr, "CORPUS FAIL (%s %s):", cols[0], cols[1]);
			for (size_t i = 0; i < n_f; i++)
				fprintf(stderr, " [%s]", in[i]);
			fprintf(stderr, " -> [%.*s]\n", (int)joined_len, joined);
		}
		for (size_t i = 0; i < n_f; i++)
			free(in[i]);
		for (size_t i = 0; i < n_cols; i++)
			free(cols[i]);
		free(lines[l]);
	}
	printf("leak corpus: %zu leak lines, %zu controls; %zu fields: %zu redacted, %zu dropped "
	       "rather than redacted; %zu failures\n",
	       n_leak, n_keep, n_fields, n_redacted, n_dropped, bad);
	assert_true(n_leak >= 150);
	assert_true(n_keep >= 20);
	assert_int_equal(bad, 0);
	free(text);
	free(v);
}

/* Fast path against full path: what the two gave for one set of fields. */
struct paths {
	size_t compared, decided; /* decided: the fast path alone gave the result */
	size_t quick;		  /* the quick check found that they name nobody */
	size_t guided;		  /* the quick check and the matches at its hits decided */
};

/*
 * The quick check's promise on @n fields: when it says they name nobody, the full path finds
 * no member in them (any order, any pair). Returns what it said (0: nobody).
 */
static int quick_sound(const char *const *in, const size_t *len, size_t n)
{
	int q = policy_redact_quick(rd, in, len, n);

	assert_true(q == 0 || q == 1);
	if (q == 0 && policy_redact_names_fields(rd, in, len, n, NULL, NULL) != 0) {
		fprintf(stderr, "QUICK CHECK MISSED A NAME in %zu fields:\n", n);
		for (size_t k = 0; k < n; k++)
			fprintf(stderr, "  [%.*s]\n", (int)len[k], in[k]);
		fail();
	}
	return q;
}

/*
 * Fill @n fields' outputs and results with what no redaction gives (a full buffer of 0x5a
 * without a NUL, a length past the buffer, a token count and drop it never set), so a path
 * that leaves a field as it was cannot pass for one that wrote the right result in it.
 */
static void poison(struct policy_redact_field *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		memset(f[i].out, 0x5a, f[i].cap);
		f[i].out_len = f[i].cap;
		f[i].n_redacted = (size_t)-1;
		f[i].dropped = !f[i].dropped;
	}
}

static const char *const path_name[5] = {"full", "fast", "fast only", "quick only", "memo"};

/* Path @p's fields @fp (returned @rc) against the full path's @f0 (@rc0): the same to the byte. */
static void same_as_full(int p, const struct policy_redact_field *f0, int rc0,
			 const struct policy_redact_field *fp, int rc, const char *const *in,
			 const size_t *len, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool same = rc == rc0 && fp[i].out_len == f0[i].out_len &&
			    fp[i].n_redacted == f0[i].n_redacted &&
			    fp[i].dropped == f0[i].dropped &&
			    memcmp(fp[i].out, f0[i].out, f0[i].out_len + 1) == 0;

		if (same)
			continue;
		fprintf(stderr, "PATHS DIFFER (%s), field %zu of %zu:\n", path_name[p], i, n);
		for (size_t k = 0; k < n; k++)
			fprintf(stderr, "  in [%.*s] full [%s]%s %s [%.*s]%s\n", (int)len[k], in[k],
				f0[k].out, f0[k].dropped ? " dropped" : "", path_name[p],
				(int)(fp[k].out_len < fp[k].cap ? fp[k].out_len : 0), fp[k].out,
				fp[k].dropped ? " dropped" : "");
		fail();
	}
}

/*
 * Redact @n fields @in through policy_redact_fields() with its memo off (fast path, handing
 * over when it cannot decide) and on (a call and two repetitions: the memo remembers the
 * second and answers the third),
 * policy_redact_fields_full(), policy_redact_fields_fast_only() and _quick_only(); every
 * result the fast path and the memo give must be the full path's to the byte (outputs,
 * token counts, drops, return code). Every call writes into poisoned fields (poison()),
 * and each of the memo's three answers is checked, so an answer that writes nothing fails.
 */
static void compare(const char *const *in, const size_t *len, size_t n, struct paths *st)
{
	struct policy_redact_field f[5][COMPARE_MAX];
	int rc[5];

	assert_true(n <= COMPARE_MAX);
	for (int p = 0; p < 5; p++) {
		for (size_t i = 0; i < n; i++) {
			f[p][i] = (struct policy_redact_field){.in = in[i], .len = len[i]};
			f[p][i].cap = POLICY_REDACT_OUT_MAX(len[i]) + 1;
			f[p][i].out = malloc(f[p][i].cap);
			assert_non_null(f[p][i].out);
		}
		poison(f[p], n);
	}
	rc[0] = policy_redact_fields_full(rd, f[0], n);
	/* the fast path itself, then through the memo: a call and two repetitions */
	policy_redact_memo_set(rd, false);
	rc[1] = policy_redact_fields(rd, f[1], n);
	policy_redact_memo_set(rd, true);
	rc[2] = policy_redact_fields_fast_only(rd, f[2], n);
	rc[3] = policy_redact_fields_quick_only(rd, f[3], n);
	assert_int_equal(rc[0], 0);
	assert_true(rc[2] == 0 || rc[2] == 1);
	assert_true(rc[3] == 0 || rc[3] == 1);
	for (int k = 0; k < 3; k++) {
		if (k)
			poison(f[4], n);
		rc[4] = policy_redact_fields(rd, f[4], n);
		same_as_full(4, f[0], rc[0], f[4], rc[4], in, len, n);
	}
	st->compared++;
	st->decided += rc[2] == 0;
	st->guided += rc[3] == 0;
	if (quick_sound(in, len, n) == 0) {
		st->quick++;
		for (size_t i = 0; i < n; i++)
			assert_true(f[0][i].n_redacted == 0 && !f[0][i].dropped &&
				    f[0][i].out_len == len[i] &&
				    memcmp(f[0][i].out, in[i], len[i]) == 0);
	}
	for (int p = 1; p < 4; p++)
		if (!((p == 2 || p == 3) && rc[p] == 1))
			same_as_full(p, f[0], rc[0], f[p], rc[p], in, len, n);
	for (int p = 0; p < 5; p++)
		for (size_t i = 0; i < n; i++)
			free(f[p][i].out);
}

/* Every corpus line as its fields, reversed, one at a time, and run together. */
static void test_paths_corpus(void **state)
{
	char *text = read_file("corpus.txt"), *lines[512];
	size_t n_lines = split(text, '\n', lines, 512);
	struct paths st = {0};

	(void)state;
	for (size_t l = 0; l < n_lines; l++) {
		char *cols[MAX_FIELDS + 2], *in[MAX_FIELDS], *rev[MAX_FIELDS], all[16384];
		size_t n_cols, n_f, len[MAX_FIELDS], rlen[MAX_FIELDS], all_len = 0;
		const char *one;

		if (lines[l][0] == '#') {
			free(lines[l]);
			continue;
		}
		n_cols = split(lines[l], '\t', cols, MAX_FIELDS + 2);
		n_f = n_cols - 2;
		for (size_t i = 0; i < n_f; i++) {
			in[i] = expand(strchr(cols[2 + i], ':') + 1);
			len[i] = strlen(in[i]);
			all_len += (size_t)snprintf(all + all_len, sizeof(all) - all_len, "%s%s",
						    i ? " " : "", in[i]);
		}
		for (size_t i = 0; i < n_f; i++) {
			rev[i] = in[n_f - 1 - i];
			rlen[i] = len[n_f - 1 - i];
		}
		compare((const char *const *)in, len, n_f, &st);
		compare((const char *const *)rev, rlen, n_f, &st);
		for (size_t i = 0; i < n_f && n_f > 1; i++)
			compare((const char *const *)&in[i], &len[i], 1, &st);
		one = all;
		compare(&one, &all_len, 1, &st);
		for (size_t i = 0; i < n_f; i++)
			free(in[i]);
		for (size_t i = 0; i < n_cols; i++)
			free(cols[i]);
		free(lines[l]);
	}
	free(text);
	printf("fast path vs full path, leak corpus: %zu comparisons, %zu decided by the fast "
	       "path alone (%zu by the quick check and the matches at its hits, %zu of them by the "
	       "check alone), all equal\n",
	       st.compared, st.decided, st.guided, st.quick);
	assert_true(st.compared >= 600);
	assert_true(st.decided * 2 >= st.compared);
}

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* compare() on the @o bytes of @text cut at random places into @n (1..6) fields. */
static void compare_cut(const char *text, size_t o, size_t n, uint64_t *x, struct paths *st)
{
	const char *in[6];
	size_t cut[7], len[6];

	cut[0] = 0;
	cut[n] = o;
	for (size_t i = 1; i < n; i++)
		cut[i] = o ? rnd(x) % (o + 1) : 0;
	for (size_t i = 1; i < n; i++) /* sort the cuts */
		for (size_t j = i; j > 1 && cut[j - 1] > cut[j]; j--) {
			size_t t = cut[j];

			cut[j] = cut[j - 1];
			cut[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++) {
		in[i] = text + cut[i];
		len[i] = cut[i + 1] - cut[i];
	}
	compare(in, len, n, st);
}

/* A member's name, alias or domain, or a key's encoding, spelled as an evader might. */
static void spell(char *out, size_t cap, size_t *o, uint64_t *x)
{
	static const char *const forms[] = {"hex",	"HEX16", "hex8", "hex12",  "hexcolon8",
					    "hexspace", "0x",	 "b64",	 "b64url", "b64_20"};
	static const char *const seps[] = {" ",	     "-",     ".",     "_",    "\u00ad", "\u200b",
					   "&nbsp;", "%20",   "<b>",   "</b>", "|",	 "[.]",
					   "[dot]",  "&#46;", "%2520", ""};
	static const char *const cyr[][2] = {{"a", "\u0430"}, {"e", "\u0435"}, {"o", "\u043e"},
					     {"p", "\u0440"}, {"c", "\u0441"}, {"A", "\u0410"},
					     {"E", "\u0415"}, {"T", "\u0422"}, {"C", "\u0421"},
					     {"B", "\u0412"}, {"M", "\u041c"}, {"l", "|"}};
	const struct corpus_member *m = &cm[rnd(x) % n_cm];
	char word[160];
	unsigned pick = (unsigned)(rnd(x) % 8);

	if (pick == 7) {
		key_form(word, sizeof(word), m->keys[rnd(x) % 3], forms[rnd(x) % 10]);
	} else if (pick == 6 && m->n_poc) {
		snprintf(word, sizeof(word), "%s", m->poc[rnd(x) % m->n_poc]);
	} else if (pick >= 4 && m->n_domains) {
		snprintf(word, sizeof(word), "%s", m->domains[rnd(x) % m->n_domains]);
	} else if (pick >= 2 && m->n_aliases) {
		snprintf(word, sizeof(word), "%s", m->aliases[rnd(x) % m->n_aliases]);
	} else {
		snprintf(word, sizeof(word), "%s", m->name);
	}
	for (size_t i = 0; word[i] && *o + 16 < cap; i++) {
		unsigned t = (unsigned)(rnd(x) % 16);
		const char *put = NULL;
		char c = word[i];

		if (t == 0) {
			c = (char)(c >= 'a' && c <= 'z'	  ? c - 32
				   : c >= 'A' && c <= 'Z' ? c + 32
							  : c);
		} else if (t == 1) {
			for (size_t k = 0; k < sizeof(cyr) / sizeof(cyr[0]); k++)
				if (c == cyr[k][0][0])
					put = cyr[k][1];
		} else if (t == 2 && i > 0) {
			const char *sep = seps[rnd(x) % (sizeof(seps) / sizeof(seps[0]))];

			*o += (size_t)snprintf(out + *o, cap - *o, "%s", sep);
		} else if (t == 3 && c == '.') {
			put = rnd(x) % 2 ? "[.]" : "(dot)";
		} else if (t == 4) {
			*o += (size_t)snprintf(out + *o, cap - *o, "%%%02X", (unsigned char)c);
			continue;
		}
		if (put)
			*o += (size_t)snprintf(out + *o, cap - *o, "%s", put);
		else
			out[(*o)++] = c;
	}
	if (rnd(x) % 4 == 0 && *o + 3 < cap)
		*o += (size_t)snprintf(out + *o, cap - *o, "%s", rnd(x) % 2 ? "s" : "'s");
}

/*
 * Random texts from the corpus roster's names, aliases, domains and keys (spelled with case
 * changes, lookalikes, separators, markup, escapes, plurals), filler words and bytes, cut
 * into 1 to 6 fields at random places (also inside a name, so that names run across fields).
 */
static void test_paths_random(void **state)
{
	static const char *const filler[] = {
		"phishing",    " ",    "alphabet", "the ",    "certificate", ".example",
		"membership ", "beta", "CERT",	   "Alpha",   "0x",	     "ab:cd",
		"Gamma",       "GRT",  " grt",	   "soc",     ", ",	     "[member]",
		"&amp;",       "%",    "&#65;",	   "\\u0041", "%2541",	     "<i>",
		"\xc3\xa9",    "\xff", "\xe2\x80", "Delta",   "IR",	     "\n",
		"s",	       "SOC",  "National", "CSIRT",   "Team",	     "bank",
		"-",	       "."};
	struct paths st = {0};
	uint64_t x = 0x9e3779b97f4a7c15ull;

	(void)state;
	for (int c = 0; c < 20000; c++) {
		char text[2048];
		size_t o = 0, n = 1 + rnd(&x) % 6, parts = 1 + rnd(&x) % 8;

		for (size_t p = 0; p < parts && o + 300 < sizeof(text); p++) {
			if (rnd(&x) % 3 == 0)
				spell(text, sizeof(text) - 1, &o, &x);
			else
				o += (size_t)snprintf(
					text + o, sizeof(text) - o, "%s",
					filler[rnd(&x) % (sizeof(filler) / sizeof(filler[0]))]);
		}
		text[o] = '\0';
		compare_cut(text, o, n, &x, &st);
	}
	printf("fast path vs full path, random texts: %zu comparisons, %zu decided by the fast "
	       "path alone (%zu by the quick check and the matches at its hits, %zu of them by the "
	       "check alone), all equal\n",
	       st.compared, st.decided, st.guided, st.quick);
	/* names cut across fields are handed to the full path; the rest must be compared */
	assert_true(st.decided * 4 >= st.compared);
}

/*
 * The ASCII spellings of every member's names, aliases, domains, point-of-contact hosts and
 * keys (hex whole and as the CLI prints it, colon- and space-separated, 0x, base64 and
 * base64url) into @out (at most @max); returns how many.
 */
static size_t ascii_needles(char (*out)[160], size_t max)
{
	static const char *const forms[] = {"hex", "HEX16", "hex8",   "hexcolon8", "hexspace",
					    "0x",  "b64",   "b64url", "b64_20"};
	size_t n = 0;

	for (size_t m = 0; m < n_cm; m++) {
		const struct corpus_member *c = &cm[m];

		if (n < max)
			snprintf(out[n++], 160, "%.150s", c->name);
		for (size_t i = 0; i < c->n_aliases && n < max; i++)
			snprintf(out[n++], 160, "%.150s", c->aliases[i]);
		for (size_t i = 0; i < c->n_domains && n < max; i++)
			snprintf(out[n++], 160, "%.150s", c->domains[i]);
		for (size_t i = 0; i < c->n_poc && n < max; i++)
			snprintf(out[n++], 160, "%.150s", c->poc[i]);
		for (size_t k = 0; k < 3; k++)
			for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]) && n < max; f++)
				key_form(out[n++], 160, c->keys[k], forms[f]);
	}
	return n;
}

/* The quick check on @n fields, and on every 5th call the whole comparison of the paths. */
static void check_case(const char *const *in, const size_t *len, size_t n, struct paths *st,
		       size_t *named)
{
	int q = quick_sound(in, len, n);

	st->quick += q == 0;
	*named += policy_redact_names_fields(rd, in, len, n, NULL, NULL) == 1;
	if (st->compared++ % 5 == 0) {
		struct paths sub = {0};

		compare(in, len, n, &sub);
		st->decided += sub.decided;
		st->guided += sub.guided;
	}
}

/*
 * The quick check against the full path where it is most likely to err: every member
 * spelling split at every position into two fields (in order, reversed, with a field
 * between them, with words around), split into three fields, and every near miss (a
 * character changed, dropped or doubled). Where it says "nobody", the full path must agree;
 * it must also say it often enough to matter (near misses mostly name nobody).
 */
static void test_quick_splits(void **state)
{
	static char needle[MAX_NEEDLES][160];
	size_t n_nd = ascii_needles(needle, MAX_NEEDLES), named = 0, near = 0, near_quick = 0;
	struct paths st = {0};

	(void)state;
	assert_true(n_nd >= 40);
	for (size_t k = 0; k < n_nd; k++) {
		const char *w = needle[k];
		size_t wl = strlen(w);

		for (size_t cut = 1; cut < wl; cut++) {
			char a[200], b[200];
			const char *in[3];
			size_t len[3];

			in[0] = w;
			len[0] = cut;
			in[1] = w + cut;
			len[1] = wl - cut;
			check_case(in, len, 2, &st, &named);
			in[0] = w + cut;
			len[0] = wl - cut;
			in[1] = w;
			len[1] = cut;
			check_case(in, len, 2, &st, &named);
			in[0] = w;
			len[0] = cut;
			in[1] = "phishing";
			len[1] = 8;
			in[2] = w + cut;
			len[2] = wl - cut;
			check_case(in, len, 3, &st, &named);
			len[0] = (size_t)snprintf(a, sizeof(a), "seen at %.*s", (int)cut, w);
			len[1] = (size_t)snprintf(b, sizeof(b), "%s today", w + cut);
			in[0] = a;
			in[1] = b;
			check_case(in, len, 2, &st, &named);
			for (size_t cut2 = cut + 1; wl <= 24 && cut2 < wl; cut2++) {
				in[0] = w;
				len[0] = cut;
				in[1] = w + cut;
				len[1] = cut2 - cut;
				in[2] = w + cut2;
				len[2] = wl - cut2;
				check_case(in, len, 3, &st, &named);
			}
		}
		for (size_t i = 0; i < wl; i++)
			for (int how = 0; how < 3; how++) {
				char t[200];
				const char *one = t;
				size_t o = 0, before = st.quick;

				memcpy(t, w, i);
				o = i;
				if (how == 0)
					t[o++] = w[i] == 'q' ? 'z' : 'q';
				else if (how == 2)
					o += (size_t)snprintf(t + o, 3, "%c%c", w[i], w[i]);
				memcpy(t + o, w + i + 1, wl - i - 1);
				o += wl - i - 1;
				check_case(&one, &o, 1, &st, &named);
				near++;
				near_quick += st.quick > before;
			}
	}
	printf("quick check, %zu member spellings split and misspelt: %zu cases, %zu naming a "
	       "member (none said clean), %zu of %zu near misses settled by the quick check; "
	       "every 5th case compared with the full path: %zu decided by the fast path, %zu by "
	       "the quick check and the matches at its hits, all equal\n",
	       n_nd, st.compared, named, near_quick, near, st.decided, st.guided);
	assert_true(st.guided * 20 >= st.compared / 5);
	assert_true(named * 2 >= st.compared - near);
	/* a change after the first letters keeps the first gram: the fast path decides those */
	assert_true(near_quick * 10 >= near);
}

/* A word of ASCII prose for the long texts. */
static const char *prose(uint64_t *x)
{
	static const char *const w[] = {"phishing ", "loader ", "campaign ", "beaconing ",
					"sandbox, ", "the ",	"energy ",   "sector; ",
					"C2 ",	     "over ",	"HTTPS ",    "(ISO) ",
					"100% ",     "a < b ",	"R&D ",	     "fast-flux. ",
					"[1] ",	     "{json} ", "wave ",     "hashes "};

	return w[rnd(x) % (sizeof(w) / sizeof(w[0]))];
}

/*
 * Long texts (past the quick check's stack buffers) and views of many fields (past its
 * stack field arrays): a spelling at the start, the end, across the end of one long field
 * and the start of another, between two tags 30 apart; and the same without it.
 */
static void test_quick_long(void **state)
{
	static char needle[MAX_NEEDLES][160];
	size_t n_nd = ascii_needles(needle, MAX_NEEDLES), named = 0;
	struct paths st = {0};
	uint64_t x = 0x2545F4914F6CDD1Dull;

	(void)state;
	for (size_t k = 0; k < n_nd; k += 3) {
		const char *w = needle[k];
		size_t wl = strlen(w), cut = wl / 2;
		static char a[6000], b[6000];
		const char *in[40], *one = a;
		size_t len[40], la = 0, lb = 0;

		while (la < 3000)
			la += (size_t)snprintf(a + la, sizeof(a) - la, "%s", prose(&x));
		lb = la;
		la += (size_t)snprintf(a + la, sizeof(a) - la, "%.*s", (int)cut, w);
		lb = (size_t)snprintf(b, sizeof(b), "%s %.*s", w + cut, (int)lb, a);
		in[0] = a;
		len[0] = la;
		in[1] = b;
		len[1] = lb;
		check_case(in, len, 2, &st, &named);
		check_case(&one, &la, 1, &st, &named);
		len[0] = la - cut;
		check_case(in, len, 1, &st, &named);
		for (size_t t = 0; t < 40; t++) {
			in[t] = prose(&x);
			len[t] = strlen(in[t]) - 1;
		}
		in[3] = w;
		len[3] = cut;
		in[33] = w + cut;
		len[33] = wl - cut;
		check_case(in, len, 40, &st, &named);
		in[33] = "loader";
		len[33] = 6;
		check_case(in, len, 40, &st, &named);
	}
	printf("quick check, long texts and many fields: %zu cases, %zu naming a member, %zu "
	       "settled by the quick check\n",
	       st.compared, named, st.quick);
	assert_true(named >= n_nd / 3);
	assert_true(st.quick > 0);
}

/*
 * Differential test of the quick check of plain ASCII (the first look, the quick check and the
 * matches at its hits): random ASCII texts from every member spelling (names, aliases, domains,
 * hosts, keys as hex, prefixes of 8-20 hex digits, colon- and space-separated, 0x, base64)
 * with case flips, ASCII separators put in, plurals, and near misses (a letter changed,
 * dropped, doubled or added: "alphabet" for "Alpha"), between words, numbers, hex and base64
 * look-alikes, "[member]" and bytes that only sometimes start markup ('(', '%', '&', '<'),
 * cut into 1 to 6 fields at random places: every result equals the full path's (compare()).
 */
static void test_paths_ascii(void **state)
{
	static char needle[MAX_NEEDLES][160];
	static const char *const filler[] = {"phishing ",
					     "the ",
					     "C2 ",
					     "12345 ",
					     "0x1f ",
					     "deadbeef ",
					     "a1b2c3d4e5f6a7b8 ",
					     "QUJDREVGR0hJSktMTU5PUA ",
					     "cert ",
					     "CERT ",
					     "team ",
					     "soc ",
					     "National ",
					     "[member] ",
					     "( ",
					     "100% ",
					     "R&D ",
					     "a < b ",
					     "fast-flux.",
					     "ab:cd:ef ",
					     "case-123456 ",
					     "es ",
					     "s ",
					     "'s ",
					     "\n",
					     ", ",
					     "example ",
					     ".example ",
					     "alphabet ",
					     "betamax ",
					     "2024 "};
	static const char *const seps[] = {" ", "-", ".", "_", ":", "/", "  ", ""};
	size_t n_nd = ascii_needles(needle, MAX_NEEDLES);
	struct paths st = {0};
	uint64_t x = 0xc2b2ae3d27d4eb4full;

	(void)state;
	for (int c = 0; c < 20000; c++) {
		char text[2048];
		size_t o = 0, n = 1 + rnd(&x) % 6, parts = 1 + rnd(&x) % 8;

		for (size_t p = 0; p < parts && o + 400 < sizeof(text); p++) {
			const char *w = needle[rnd(&x) % n_nd];
			size_t wl = strlen(w),
			       miss = rnd(&x) % 3 == 0 ? rnd(&x) % (wl + 1) : SIZE_MAX;

			if (rnd(&x) % 2) {
				o += (size_t)snprintf(
					text + o, sizeof(text) - o, "%s",
					filler[rnd(&x) % (sizeof(filler) / sizeof(filler[0]))]);
				continue;
			}
			/* key forms are long: sometimes only a prefix of one */
			if (rnd(&x) % 4 == 0 && wl > 8)
				wl = 8 + rnd(&x) % (wl - 7);
			for (size_t i = 0; i < wl; i++) {
				char ch = w[i];
				unsigned t = (unsigned)(rnd(&x) % 12);

				if (i == miss) {
					unsigned how = (unsigned)(rnd(&x) % 4);

					if (how == 1)
						continue; /* dropped */
					if (how == 2)
						text[o++] = ch; /* doubled */
					if (how == 0)
						ch = ch == 'q' ? 'z' : 'q'; /* changed */
					if (how == 3)
						text[o++] = "bx7s"[rnd(&x) % 4]; /* added */
				}
				if (t == 0 && ch >= 'a' && ch <= 'z')
					ch = (char)(ch - 32);
				else if (t == 1 && ch >= 'A' && ch <= 'Z')
					ch = (char)(ch + 32);
				else if (t == 2 && i > 0)
					o += (size_t)snprintf(
						text + o, sizeof(text) - o, "%s",
						seps[rnd(&x) % (sizeof(seps) / sizeof(seps[0]))]);
				text[o++] = ch;
			}
			if (rnd(&x) % 4 == 0)
				o += (size_t)snprintf(
					text + o, sizeof(text) - o, "%s",
					(const char *[]){"s", "es", "'s", "bet"}[rnd(&x) % 4]);
			o += (size_t)snprintf(text + o, sizeof(text) - o, "%s",
					      seps[rnd(&x) % (sizeof(seps) / sizeof(seps[0]))]);
		}
		text[o] = '\0';
		compare_cut(text, o, n, &x, &st);
	}
	printf("fast path vs full path, random ASCII texts: %zu comparisons, %zu decided by the "
	       "fast path alone (%zu by the quick check and the matches at its hits, %zu of them "
	       "by the check alone), all equal\n",
	       st.compared, st.decided, st.guided, st.quick);
	assert_true(st.guided * 3 >= st.compared);
	assert_true(st.quick * 20 >= st.compared);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),	     cmocka_unit_test(test_paths_corpus),
		cmocka_unit_test(test_paths_random), cmocka_unit_test(test_quick_splits),
		cmocka_unit_test(test_quick_long),   cmocka_unit_test(test_paths_ascii),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
