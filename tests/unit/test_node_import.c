/* SPDX-License-Identifier: MIT */
/*
 * Import parsers (node/format/import.h): plain lines, RFC 4180 CSV, STIX 2.1 bundles and MISP
 * events. Each case feeds a document and compares the exact sequence of events (status,
 * place, type, canonical value, TLP, ...) with what the header promises. Every document is
 * also fed one byte at a time and in pseudo-random chunks, which must give the same events:
 * the streaming state machines may not depend on where reads happen to split the file.
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

#include "node/format/import.h"
#include "proto/error.h"
#include "proto/report.h"
#include "testutil.h"

#define EV_MAX 256

struct ev {
	int status;
	char where[128];
	char reason[400];
	int type;
	char value[PROTO_IND_VALUE_MAX + 1];
	int tlp, confidence;
	uint64_t valid_until;
	char tags[400]; /* joined with '|' */
	char desc[PROTO_REPORT_DESC_MAX + 1];
};

struct rec {
	size_t n;
	struct ev ev[EV_MAX];
	int stop_after; /* > 0: return 99 from the callback at that event */
};

static int record(void *ctx, const struct node_import_event *e)
{
	struct rec *r = ctx;
	struct ev *v;

	if (r->n == EV_MAX)
		return 0;
	v = &r->ev[r->n++];
	memset(v, 0, sizeof(*v));
	v->status = e->status;
	snprintf(v->where, sizeof(v->where), "%s", e->where);
	if (e->reason)
		snprintf(v->reason, sizeof(v->reason), "%s", e->reason);
	if (e->status == NODE_IMPORT_OK) {
		const struct node_import_item *it = e->item;
		assert_non_null(it);
		v->type = it->ind.type;
		memcpy(v->value, it->ind.value, it->ind.len + 1);
		v->tlp = it->tlp;
		v->confidence = it->confidence;
		v->valid_until = it->valid_until_ms;
		for (size_t i = 0; i < it->n_tags; i++)
			snprintf(v->tags + strlen(v->tags), sizeof(v->tags) - strlen(v->tags),
				 "%s%s", i ? "|" : "", it->tags[i]);
		assert_int_equal(strlen(it->description), it->description_len);
		memcpy(v->desc, it->description, it->description_len + 1);
	} else {
		assert_null(e->item);
		assert_non_null(e->reason);
		assert_true(e->reason[0] != '\0');
	}
	if (r->stop_after && (int)r->n == r->stop_after)
		return 99;
	return 0;
}

/* Runs @text through a parser, fed in chunks of @chunk bytes (0: one call; -1: random). */
static int run_chunked(const struct node_import_config *cfg, const char *text, size_t len,
		       long chunk, struct rec *out, char *err, size_t errlen)
{
	struct node_import *im = node_import_new(cfg, record, out);
	uint64_t seed = 0x1234567 + len;
	size_t off = 0;
	int r = 0;

	assert_non_null(im);
	while (off < len && !r) {
		size_t n = chunk == 0 ? len : chunk < 0 ? 1 + tu_rand(&seed) % 97 : (size_t)chunk;
		if (n > len - off)
			n = len - off;
		r = node_import_feed(im, text + off, n);
		off += n;
	}
	if (!r)
		r = node_import_finish(im);
	snprintf(err, errlen, "%s", node_import_error(im));
	node_import_free(im);
	return r;
}

static void rec_equal(const struct rec *a, const struct rec *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		assert_int_equal(a->ev[i].status, b->ev[i].status);
		assert_string_equal(a->ev[i].where, b->ev[i].where);
		assert_string_equal(a->ev[i].reason, b->ev[i].reason);
		assert_int_equal(a->ev[i].type, b->ev[i].type);
		assert_string_equal(a->ev[i].value, b->ev[i].value);
		assert_int_equal(a->ev[i].tlp, b->ev[i].tlp);
		assert_int_equal(a->ev[i].confidence, b->ev[i].confidence);
		assert_string_equal(a->ev[i].tags, b->ev[i].tags);
		assert_string_equal(a->ev[i].desc, b->ev[i].desc);
	}
}

/* Parses @text with @cfg in one go, and checks chunked feeding and AUTO agree with it. */
static int parse(const struct node_import_config *cfg, const char *text, struct rec *out, char *err,
		 size_t errlen)
{
	size_t len = strlen(text);
	struct rec *other = calloc(1, sizeof(*other));
	char err2[256];
	int r, r2;

	assert_non_null(other);
	memset(out, 0, sizeof(*out));
	r = run_chunked(cfg, text, len, 0, out, err, errlen);
	for (long chunk = -1; chunk <= 1; chunk += 2) {
		memset(other, 0, sizeof(*other));
		r2 = run_chunked(cfg, text, len, chunk, other, err2, sizeof(err2));
		assert_int_equal(r, r2);
		assert_string_equal(err, err2);
		rec_equal(out, other);
	}
	if (cfg->format != NODE_IMPORT_AUTO) {
		struct node_import_config auto_cfg = *cfg;
		auto_cfg.format = NODE_IMPORT_AUTO;
		memset(other, 0, sizeof(*other));
		r2 = run_chunked(&auto_cfg, text, len, 0, other, err2, sizeof(err2));
		assert_int_equal(r, r2);
		rec_equal(out, other);
		assert_int_equal(node_import_detect(text, len, true), cfg->format);
	}
	free(other);
	return r;
}

struct want {
	int status;
	const char *where;
	int type;		/* OK */
	const char *value;	/* OK */
	int tlp;		/* OK */
	const char *reason_has; /* not OK: substring of the reason */
};

static void expect(const struct rec *r, const struct want *w, size_t n)
{
	for (size_t i = 0; i < n && i < r->n; i++) {
		const struct ev *e = &r->ev[i];
		if (e->status != w[i].status || strcmp(e->where, w[i].where) != 0)
			fail_msg("event %zu: got status %d at %s (%s %s), want %d at %s", i,
				 e->status, e->where, e->value, e->reason, w[i].status, w[i].where);
		if (w[i].status == NODE_IMPORT_OK) {
			assert_int_equal(e->type, w[i].type);
			assert_string_equal(e->value, w[i].value);
			assert_int_equal(e->tlp, w[i].tlp);
		} else if (w[i].reason_has && !strstr(e->reason, w[i].reason_has)) {
			fail_msg("event %zu at %s: reason \"%s\" lacks \"%s\"", i, e->where,
				 e->reason, w[i].reason_has);
		}
	}
	if (r->n != n)
		fail_msg("got %zu events, want %zu", r->n, n);
}

#define OK NODE_IMPORT_OK
#define INV NODE_IMPORT_INVALID
#define SKIP NODE_IMPORT_SKIPPED
#define WARN NODE_IMPORT_WARNING

static struct rec R;
static char ERR[256];

/* ------------------------------------------------------------------ plain */

static void test_plain(void **state)
{
	struct node_import_config cfg = {.format = NODE_IMPORT_PLAIN};
	const char *text = "\xef\xbb\xbf"
			   "# blocklist\r\n"
			   "1.2.3.4\r\n"
			   "\n"
			   "   EXAMPLE.com.   \n"
			   "10.0.0.0/8  # internal range\n"
			   "2001:DB8::1 ; comment\n"
			   "http://Example.COM/a#frag\n"
			   "example[.]com\n"
			   "two words\n"
			   "D41D8CD98F00B204E9800998ECF8427E\n"
			   "user@Example.ORG\n"
			   "999.1.1.1\n"
			   "last.example.net";
	const struct want w[] = {
		{OK, "line 2", PROTO_IND_IPV4, "1.2.3.4", 0, NULL},
		{OK, "line 4", PROTO_IND_DOMAIN, "example.com", 0, NULL},
		{OK, "line 5", PROTO_IND_IPV4, "10.0.0.0/8", 0, NULL},
		{OK, "line 6", PROTO_IND_IPV6, "2001:db8::1", 0, NULL},
		{OK, "line 7", PROTO_IND_URL, "http://example.com/a#frag", 0, NULL},
		{INV, "line 8", 0, NULL, 0, "refang"},
		{INV, "line 9", 0, NULL, 0, "one value per line"},
		{OK, "line 10", PROTO_IND_MD5, "d41d8cd98f00b204e9800998ecf8427e", 0, NULL},
		{OK, "line 11", PROTO_IND_EMAIL, "user@example.org", 0, NULL},
		{INV, "line 12", 0, NULL, 0, "999.1.1.1"},
		{OK, "line 13", PROTO_IND_DOMAIN, "last.example.net", 0, NULL},
	};

	(void)state;
	assert_int_equal(parse(&cfg, text, &R, ERR, sizeof(ERR)), 0);
	expect(&R, w, sizeof(w) / sizeof(w[0]));
	assert_int_equal(R.ev[0].confidence, -1);
	assert_int_equal(R.ev[0].tlp, 0);
}

static void test_plain_long_line(void **state)
{
	struct node_import_config cfg = {.format = NODE_IMPORT_PLAIN};
	size_t n = NODE_IMPORT_LINE_MAX + 100;
	char *text = malloc(n + 64);
	const struct want w[] = {
		{OK, "line 1", PROTO_IND_IPV4, "1.1.1.1", 0, NULL},
		{INV, "line 2", 0, NULL, 0, "line longer than"},
		{OK, "line 3", PROTO_IND_IPV4, "2.2.2.2", 0, NULL},
	};

	(void)state;
	assert_non_null(text);
	strcpy(text, "1.1.1.1\n");
	memset(text + 8, 'a', n);
	strcpy(text + 8 + n, "\n2.2.2.2\n");
	assert_int_equal(parse(&cfg, text, &R, ERR, sizeof(ERR)), 0);
	expect(&R, w, 3);
	free(text);
}

/* ------------------------------------------------------------------ CSV */

static void test_csv(void **state)
{
	struct node_import_config cfg = {.format = NODE_IMPORT_CSV};
	const char *text = "# exported by a tool\r\n"
			   "\r\n"
			   "Value, TLP ,type,confidence,valid_until,tags,description,extra\r\n"
			   "1.2.3.4,amber,ipv4,80,2030-01-31T00:00:00Z,c2; botnet ;c2,\"multi\r\n"
			   "line, \"\"quoted\"\"\",x\r\n"
			   "example.org,,,,1900000000000,,,\r\n"
			   " \"http://a.example/?q=1,2\" , TLP:CLEAR , url , 5 , , , , \n"
			   "\n"
			   "bad..domain,green,,,,,,\n"
			   "1.2.3.4,green,ipv4\n"
			   "1.2.3.4,purple,ipv4,,,,,\n"
			   "1.2.3.4,green,ipv5,,,,,\n"
			   "1.2.3.4,green,ipv4,101,,,,\n"
			   "1.2.3.4,green,ipv4,,tomorrow,,,\n"
			   "1.2.3.4,gr\"een,ipv4,,,,,\n"
			   "\"1.2.3.4\"x,green,ipv4,,,,,\n"
			   "5.6.7.8,red,,,,,,\n";
	const struct want w[] = {
		{WARN, "line 3", 0, NULL, 0, "extra"},
		{OK, "line 4", PROTO_IND_IPV4, "1.2.3.4", PROTO_TLP_AMBER, NULL},
		{OK, "line 6", PROTO_IND_DOMAIN, "example.org", 0, NULL},
		{OK, "line 7", PROTO_IND_URL, "http://a.example/?q=1,2", PROTO_TLP_CLEAR, NULL},
		{INV, "line 9", 0, NULL, 0, "domain"},
		{INV, "line 10", 0, NULL, 0, "3 fields, the header has 8"},
		{INV, "line 11", 0, NULL, 0, "unknown TLP"},
		{INV, "line 12", 0, NULL, 0, "unknown type"},
		{INV, "line 13", 0, NULL, 0, "confidence"},
		{INV, "line 14", 0, NULL, 0, "valid_until"},
		{INV, "line 15", 0, NULL, 0, "quote inside an unquoted field"},
		{INV, "line 16", 0, NULL, 0, "after the closing quote"},
		{OK, "line 17", PROTO_IND_IPV4, "5.6.7.8", PROTO_TLP_RED, NULL},
	};

	(void)state;
	assert_int_equal(parse(&cfg, text, &R, ERR, sizeof(ERR)), 0);
	expect(&R, w, sizeof(w) / sizeof(w[0]));
	assert_int_equal(R.ev[1].confidence, 80);
	assert_int_equal(R.ev[1].valid_until, 1896048000000ull);
	assert_string_equal(R.ev[1].tags, "c2|botnet");
	assert_string_equal(R.ev[1].desc, "multi\r\nline, \"quoted\"");
	assert_int_equal(R.ev[2].valid_until, 1900000000000ull);
	assert_int_equal(R.ev[2].confidence, -1);
	assert_string_equal(R.ev[2].desc, "");
	assert_int_equal(R.ev[3].confidence, 5);
}

/* The apostrophe `chatham export --format csv` puts before a would-be formula is dropped. */
static void test_csv_formula(void **state)
{
	struct node_import_config cfg = {.format = NODE_IMPORT_CSV};
	const char *text = "type,value,tlp\r\n"
			   "email,\"'=1+2@x.example\",green\r\n"
			   "email,'-x@evil.example,green\r\n"
			   "email,\"''=y@x.example\",green\r\n"
			   "email,'o@x.example,green\r\n";
	const struct want w[] = {
		{OK, "line 2", PROTO_IND_EMAIL, "=1+2@x.example", PROTO_TLP_GREEN, NULL},
		{OK, "line 3", PROTO_IND_EMAIL, "-x@evil.example", PROTO_TLP_GREEN, NULL},
		{OK, "line 4", PROTO_IND_EMAIL, "'=y@x.example", PROTO_TLP_GREEN, NULL},
		{OK, "line 5", PROTO_IND_EMAIL, "'o@x.example", PROTO_TLP_GREEN, NULL},
	};

	(void)state;
	assert_int_equal(parse(&cfg, text, &R, ERR, sizeof(ERR)), 0);
	expect(&R, w, sizeof(w) / sizeof(w[0]));
}

static void test_csv_file_errors(void **state)
{
	struct node_import_config cfg = {.format = NODE_IMPORT_CSV};
	static const struct {
		const char *text, *err_has;
	} cases[] = {
		{"type,tlp\n1.2.3.4,green\n", "no \"value\" column"},
		{"value,VALUE\n1.2.3.4,green\n", "twice"},
		{"# only a comment\n", "no CSV header"},
		{"", "no CSV header"},
		{"\"value,tlp\n", "unterminated quoted field in the CSV header"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&R, 0, sizeof(R));
		ERR[0] = '\0';
		assert_int_equal(run_chunked(&cfg, cases[i].text, strlen(cases[i].text), 0, &R, ERR,
					     sizeof(ERR)),
				 NODE_E_IMPORT);
		if (!strstr(ERR, cases[i].err_has))
			fail_msg("case %zu: error \"%s\" lacks \"%s\"", i, ERR, cases[i].err_has);
	}
}

static void test_csv_records(void **state)
{
	struct node_import_config cfg = {.format = NODE_IMPORT_CSV};
	char *big = malloc(NODE_IMPORT_LINE_MAX + 200);
	const char *tail = "value,tags\n"
			   "1.2.3.4,a;b;c;d;e;f;g;h;i;j;k;l;m;n;o;p;q\n"
			   "1.2.3.5,\"x\x01y\"\n"
			   "1.2.3.6,\"unterminated\n2.2.2.2,x\n";
	const struct want w[] = {
		{INV, "line 2", 0, NULL, 0, "more than 16 tags"},
		{INV, "line 3", 0, NULL, 0, "control characters"},
		{INV, "line 4", 0, NULL, 0, "ends inside quotes"},
	};
	const struct want w2[] = {
		{INV, "line 2", 0, NULL, 0, "record longer than"},
		{OK, "line 3", PROTO_IND_IPV4, "3.3.3.3", 0, NULL},
	};

	(void)state;
	assert_int_equal(parse(&cfg, tail, &R, ERR, sizeof(ERR)), 0);
	expect(&R, w, 3);

	assert_non_null(big);
	strcpy(big, "value\n\"");
	memset(big + 7, 'b', NODE_IMPORT_LINE_MAX + 10);
	strcpy(big + 7 + NODE_IMPORT_LINE_MAX + 10, "\"\n3.3.3.3\n");
	assert_int_equal(parse(&cfg, big, &R, ERR, sizeof(ERR)), 0);
	expect(&R, w2, 2);
	free(big);
}

/* ------------------------------------------------------------------ STIX */

static const char stix_bundle[] =
	"{\"type\":\"bundle\",\"id\":\"bundle--1\",\"objects\":["
	"{\"type\":\"identity\",\"id\":\"identity--x\",\"name\":\"ACME\"},"
	"{\"type\":\"marking-definition\",\"id\":\"marking-definition--aaaa\","
	" \"definition_type\":\"tlp\",\"definition\":{\"tlp\":\"amber\"}},"
	/* 2: TLP 2.0 GREEN, confidence, valid_until, labels */
	"{\"type\":\"indicator\",\"pattern_type\":\"stix\",\"confidence\":70,"
	" \"valid_until\":\"2031-01-01T00:00:00Z\",\"labels\":[\"c2\",\"\"],"
	" \"description\":\"desc\","
	" \"object_marking_refs\":[\"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb\"],"
	" \"pattern\":\"[ ipv4-addr:value = '10.0.0.1' ]\"},"
	/* 3: OR inside and across observations, bundle-defined AMBER + TLP 1.0 WHITE */
	"{\"type\":\"indicator\",\"pattern_type\":\"stix\","
	" \"object_marking_refs\":[\"marking-definition--aaaa\","
	"  \"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9\"],"
	" \"pattern\":\"[domain-name:value = 'Evil.Example' OR url:value = "
	"'http://x.example/it\\\\'s'] OR [file:hashes.'SHA-256' = "
	"'EF537F25C895BFA782526529A9B63D97AA631564D5D789C2B765448C8635FB6C']\"},"
	/* 4-9: unsupported patterns */
	"{\"type\":\"indicator\",\"pattern\":\"[ipv4-addr:value = '1.1.1.1' AND "
	"ipv4-addr:value = '1.1.1.2']\"},"
	"{\"type\":\"indicator\",\"pattern\":\"[ipv4-addr:value = '1.1.1.1'] FOLLOWEDBY "
	"[ipv4-addr:value = '1.1.1.2']\"},"
	"{\"type\":\"indicator\",\"pattern\":\"[ipv4-addr:value = '1.1.1.1'] WITHIN 5 SECONDS\"},"
	"{\"type\":\"indicator\",\"pattern\":\"[email-message:subject MATCHES 'x']\"},"
	"{\"type\":\"indicator\",\"pattern\":\"[ipv4-addr:value != '1.1.1.1']\"},"
	"{\"type\":\"indicator\",\"pattern_type\":\"sigma\",\"pattern\":\"x\"},"
	/* 10-13: revoked, expired, malformed pattern, bad value */
	"{\"type\":\"indicator\",\"revoked\":true,\"pattern\":\"[ipv4-addr:value = '1.1.1.1']\"},"
	"{\"type\":\"indicator\",\"valid_until\":\"2001-01-01T00:00:00Z\","
	" \"pattern\":\"[ipv4-addr:value = '1.1.1.1']\"},"
	"{\"type\":\"indicator\",\"pattern\":\"[ipv4-addr:value = '1.1.1.1'\"},"
	"{\"type\":\"indicator\",\"pattern\":\"[ipv4-addr:value = '1.1.1.300']\"},"
	/* 14: MD5 unquoted, email-message sender */
	"{\"type\":\"indicator\",\"pattern\":\"[file:hashes.md5 = "
	"'001dd76872d80801692ff942308c64e6' OR email-message:from_ref.value = 'A@B.example']\"},"
	"{\"type\":\"malware\",\"name\":\"x\"}"
	"]}";

static void test_stix(void **state)
{
	struct node_import_config cfg = {.format = NODE_IMPORT_STIX21, .now_ms = 1700000000000ull};
	const struct want w[] = {
		{OK, "objects[2]", PROTO_IND_IPV4, "10.0.0.1", PROTO_TLP_GREEN, NULL},
		{OK, "objects[3]", PROTO_IND_DOMAIN, "evil.example", PROTO_TLP_AMBER, NULL},
		{OK, "objects[3]", PROTO_IND_URL, "http://x.example/it's", PROTO_TLP_AMBER, NULL},
		{OK, "objects[3]", PROTO_IND_SHA256,
		 "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c",
		 PROTO_TLP_AMBER, NULL},
		{SKIP, "objects[4]", 0, NULL, 0, "AND"},
		{SKIP, "objects[5]", 0, NULL, 0, "FOLLOWEDBY"},
		{SKIP, "objects[6]", 0, NULL, 0, "qualifier"},
		{SKIP, "objects[7]", 0, NULL, 0, "email-message:subject"},
		{SKIP, "objects[8]", 0, NULL, 0, "operator !="},
		{SKIP, "objects[9]", 0, NULL, 0, "sigma"},
		{SKIP, "objects[10]", 0, NULL, 0, "revoked"},
		{SKIP, "objects[11]", 0, NULL, 0, "expired"},
		{INV, "objects[12]", 0, NULL, 0, "malformed pattern"},
		{INV, "objects[13]", 0, NULL, 0, "1.1.1.300"},
		{OK, "objects[14]", PROTO_IND_MD5, "001dd76872d80801692ff942308c64e6", 0, NULL},
		{OK, "objects[14]", PROTO_IND_EMAIL, "A@b.example", 0, NULL},
		{WARN, "bundle", 0, NULL, 0, "ignored 2 objects"},
	};

	(void)state;
	assert_int_equal(parse(&cfg, stix_bundle, &R, ERR, sizeof(ERR)), 0);
	expect(&R, w, sizeof(w) / sizeof(w[0]));
	assert_int_equal(R.ev[0].confidence, 70);
	assert_int_equal(R.ev[0].valid_until, 1924992000000ull);
	assert_string_equal(R.ev[0].tags, ""); /* no keep_text */
	assert_string_equal(R.ev[0].desc, "");

	cfg.keep_text = true;
	assert_int_equal(parse(&cfg, stix_bundle, &R, ERR, sizeof(ERR)), 0);
	assert_string_equal(R.ev[0].tags, "c2"); /* the empty label is left out */
	assert_string_equal(R.ev[0].desc, "desc");

	/* Without a clock nothing is "expired". */
	cfg.now_ms = 0;
	assert_int_equal(parse(&cfg, stix_bundle, &R, ERR, sizeof(ERR)), 0);
	assert_int_equal(R.ev[11].status, OK);
}

/*
 * The OASIS example bundles, counted independently (one item per equality): every equality
 * on a supported path is an item, AND and other paths are skipped, and poisonivy.json has
 * one value with a space in it ("domain autuo.xicp.net"), which must be reported, not fixed.
 */
static void test_stix_examples(void **state)
{
	static const struct {
		const char *file;
		size_t ok, invalid, skipped;
	} files[] = {
		{"stix21/examples/indicator-for-c2-ip-address.json", 1, 0, 0},
		{"stix21/examples/threat-reports/apt1.json", 10, 0, 2},
		{"stix21/examples/threat-reports/poisonivy.json", 64, 1, 2},
	};
	struct node_import_config cfg = {.format = NODE_IMPORT_AUTO};

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *path = tu_data_path(files[i].file);
		size_t len, n[4] = {0};
		uint8_t *data;

		data = tu_read_file(path, &len);
		free(path);
		assert_non_null(data);
		memset(&R, 0, sizeof(R));
		assert_int_equal(run_chunked(&cfg, (char *)data, len, 4096, &R, ERR, sizeof(ERR)),
				 0);
		free(data);
		for (size_t k = 0; k < R.n; k++) {
			n[R.ev[k].status]++;
			if (R.ev[k].status == INV)
				assert_non_null(strstr(R.ev[k].reason, "whitespace"));
		}
		if (n[OK] != files[i].ok || n[INV] != files[i].invalid ||
		    n[SKIP] != files[i].skipped)
			fail_msg("%s: %zu ok, %zu invalid, %zu skipped", files[i].file, n[OK],
				 n[INV], n[SKIP]);
	}
}

static void test_json_file_errors(void **state)
{
	static const struct {
		int format;
		const char *text, *err_has;
	} cases[] = {
		{NODE_IMPORT_STIX21, "{\"type\":\"bundle\",", "not valid JSON: line 1"},
		{NODE_IMPORT_STIX21, "{\"type\":\"report\"}", "not a STIX 2.1 bundle"},
		{NODE_IMPORT_STIX21, "{\"type\":\"bundle\",\"objects\":{}}", "not an array"},
		{NODE_IMPORT_MISP, "{\"something\":1}", "no MISP event"},
		{NODE_IMPORT_MISP, "[1,2,3]", "no MISP event"},
		{NODE_IMPORT_AUTO, "{\"a\":", "not valid JSON"},
		{NODE_IMPORT_AUTO, "  [[[[[[[[", "not valid JSON"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct node_import_config cfg = {.format = cases[i].format};
		memset(&R, 0, sizeof(R));
		assert_int_equal(run_chunked(&cfg, cases[i].text, strlen(cases[i].text), 3, &R, ERR,
					     sizeof(ERR)),
				 NODE_E_IMPORT);
		if (!strstr(ERR, cases[i].err_has))
			fail_msg("case %zu: error \"%s\" lacks \"%s\"", i, ERR, cases[i].err_has);
	}
}

/* ------------------------------------------------------------------ MISP */

static const char misp_event[] =
	"{\"Event\":{\"info\":\"x\",\"Tag\":[{\"name\":\"tlp:green\"},{\"name\":\"apt\"}],"
	"\"Attribute\":["
	"{\"type\":\"ip-dst\",\"value\":\"198.51.100.7\",\"to_ids\":true},"
	"{\"type\":\"ip-src\",\"value\":\"2001:db8::7\",\"to_ids\":\"1\","
	" \"Tag\":[{\"name\":\"tlp:amber\"}],\"comment\":\"seen\"},"
	"{\"type\":\"domain|ip\",\"value\":\"bad.example|192.0.2.1\",\"to_ids\":1},"
	"{\"type\":\"filename|sha1\",\"value\":\"x.exe|da39a3ee5e6b4b0d3255bfef95601890afd80709\","
	" \"to_ids\":true},"
	"{\"type\":\"ip-dst|port\",\"value\":\"203.0.113.9|443\",\"to_ids\":true},"
	"{\"type\":\"comment\",\"value\":\"free text\",\"to_ids\":false},"
	"{\"type\":\"url\",\"value\":\"http://a.example/\",\"to_ids\":false},"
	"{\"type\":\"domain\",\"value\":\"gone.example\",\"to_ids\":true,\"deleted\":true},"
	"{\"type\":\"domain\",\"value\":\"bad_domain\",\"to_ids\":true},"
	"{\"type\":\"md5\"},"
	"\"junk\""
	"],\"Object\":[{\"name\":\"file\",\"Attribute\":["
	"{\"type\":\"sha256\",\"value\":"
	"\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\",\"to_ids\":true,"
	" \"Tag\":[{\"name\":\"tlp:clear\"}]}"
	"]}]}}";

static void test_misp(void **state)
{
	struct node_import_config cfg = {.format = NODE_IMPORT_MISP};
	const struct want w[] = {
		{OK, "Event.Attribute[0]", PROTO_IND_IPV4, "198.51.100.7", PROTO_TLP_GREEN, NULL},
		{OK, "Event.Attribute[1]", PROTO_IND_IPV6, "2001:db8::7", PROTO_TLP_AMBER, NULL},
		{OK, "Event.Attribute[2]", PROTO_IND_DOMAIN, "bad.example", PROTO_TLP_GREEN, NULL},
		{OK, "Event.Attribute[2]", PROTO_IND_IPV4, "192.0.2.1", PROTO_TLP_GREEN, NULL},
		{OK, "Event.Attribute[3]", PROTO_IND_SHA1,
		 "da39a3ee5e6b4b0d3255bfef95601890afd80709", PROTO_TLP_GREEN, NULL},
		{OK, "Event.Attribute[4]", PROTO_IND_IPV4, "203.0.113.9", PROTO_TLP_GREEN, NULL},
		{SKIP, "Event.Attribute[5]", 0, NULL, 0, "\"comment\" is not supported"},
		{SKIP, "Event.Attribute[6]", 0, NULL, 0, "to_ids is false"},
		{SKIP, "Event.Attribute[7]", 0, NULL, 0, "deleted"},
		{INV, "Event.Attribute[8]", 0, NULL, 0, "bad_domain"},
		{INV, "Event.Attribute[9]", 0, NULL, 0, "without a \"value\""},
		{INV, "Event.Attribute[10]", 0, NULL, 0, "not a JSON object"},
		{OK, "Event.Object[0].Attribute[0]", PROTO_IND_SHA256,
		 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		 PROTO_TLP_GREEN, NULL},
	};

	(void)state;
	assert_int_equal(parse(&cfg, misp_event, &R, ERR, sizeof(ERR)), 0);
	expect(&R, w, sizeof(w) / sizeof(w[0]));
	assert_string_equal(R.ev[1].desc, "");
	assert_string_equal(R.ev[1].tags, "");

	cfg.keep_text = true;
	cfg.include_non_ids = true;
	assert_int_equal(parse(&cfg, misp_event, &R, ERR, sizeof(ERR)), 0);
	assert_string_equal(R.ev[1].desc, "seen");
	assert_string_equal(R.ev[1].tags, "apt");
	assert_int_equal(R.ev[7].status, OK);
	assert_string_equal(R.ev[7].value, "http://a.example/");
}

static void test_misp_wrappers(void **state)
{
	struct node_import_config cfg = {.format = NODE_IMPORT_MISP};
	const char *resp = "{\"response\":[{\"Event\":{\"info\":\"a\",\"Attribute\":["
			   "{\"type\":\"domain\",\"value\":\"a.example\",\"to_ids\":true}]}},"
			   "{\"Event\":{\"info\":\"b\",\"Attribute\":["
			   "{\"type\":\"domain\",\"value\":\"b.example\",\"to_ids\":true}]}}]}";
	const char *list = "[{\"Event\":{\"Attribute\":[{\"type\":\"hostname\",\"value\":"
			   "\"c.example\"}]}},{\"info\":\"bare\",\"Attribute\":[{\"type\":"
			   "\"email-src\",\"value\":\"x@D.example\"}]}]";
	const struct want w1[] = {
		{OK, "response[0].Event.Attribute[0]", PROTO_IND_DOMAIN, "a.example", 0, NULL},
		{OK, "response[1].Event.Attribute[0]", PROTO_IND_DOMAIN, "b.example", 0, NULL},
	};
	const struct want w2[] = {
		{OK, "[0].Event.Attribute[0]", PROTO_IND_DOMAIN, "c.example", 0, NULL},
		{OK, "[1].Attribute[0]", PROTO_IND_EMAIL, "x@d.example", 0, NULL},
	};

	(void)state;
	assert_int_equal(parse(&cfg, resp, &R, ERR, sizeof(ERR)), 0);
	expect(&R, w1, 2);
	assert_int_equal(parse(&cfg, list, &R, ERR, sizeof(ERR)), 0);
	expect(&R, w2, 2);
}

/* ------------------------------------------------------------------ detection and control */

static void test_detect(void **state)
{
	static const struct {
		const char *text;
		bool complete;
		int want;
	} cases[] = {
		{"1.2.3.4\n", true, NODE_IMPORT_PLAIN},
		{"1.2.3.4", false, NODE_IMPORT_AUTO},
		{"1.2.3.4\n", false, NODE_IMPORT_PLAIN},
		{"# c\n\ntype,value\n", false, NODE_IMPORT_CSV},
		{"\xef\xbb\xbf\"Value\",tlp\n", false, NODE_IMPORT_CSV},
		{"# c\n", false, NODE_IMPORT_AUTO},
		{"# c\n", true, NODE_IMPORT_PLAIN},
		{"", true, NODE_IMPORT_PLAIN},
		{"{\"type\":\"bundle\"}", false, NODE_IMPORT_AUTO},
		{"  {\"type\":\"bundle\"}", true, NODE_IMPORT_STIX21},
		{"{\"type\":\"indicator\"}", true, NODE_IMPORT_STIX21},
		{"{\"Event\":{}}", true, NODE_IMPORT_MISP},
		{"[{\"Event\":{}}]", true, NODE_IMPORT_MISP},
		{"{broken", true, NODE_IMPORT_MISP},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (node_import_detect(cases[i].text, strlen(cases[i].text), cases[i].complete) !=
		    cases[i].want)
			fail_msg("case %zu (%s)", i, cases[i].text);

	assert_int_equal(node_import_format_from_name("STIX"), NODE_IMPORT_STIX21);
	assert_int_equal(node_import_format_from_name("misp"), NODE_IMPORT_MISP);
	assert_int_equal(node_import_format_from_name("xml"), -1);
	assert_string_equal(node_import_format_name(NODE_IMPORT_CSV), "csv");
	assert_null(node_import_format_name(42));
}

static void test_auto_format(void **state)
{
	struct node_import_config cfg = {.format = NODE_IMPORT_AUTO};
	struct node_import *im;
	struct rec *r = calloc(1, sizeof(*r));

	(void)state;
	assert_non_null(r);
	im = node_import_new(&cfg, record, r);
	assert_non_null(im);
	assert_int_equal(node_import_format_of(im), NODE_IMPORT_AUTO);
	assert_int_equal(node_import_feed(im, misp_event, strlen(misp_event)), 0);
	assert_int_equal(node_import_finish(im), 0);
	assert_int_equal(node_import_format_of(im), NODE_IMPORT_MISP);
	node_import_free(im);

	memset(r, 0, sizeof(*r));
	assert_int_equal(
		node_import_buffer(&cfg, stix_bundle, strlen(stix_bundle), record, r, NULL, 0), 0);
	assert_int_equal(r->ev[0].status, OK);
	assert_string_equal(r->ev[0].value, "10.0.0.1");
	free(r);
}

static void test_callback_stop(void **state)
{
	struct node_import_config cfg = {.format = NODE_IMPORT_PLAIN};
	const char *text = "1.1.1.1\n2.2.2.2\n3.3.3.3\n";
	struct node_import *im;

	(void)state;
	memset(&R, 0, sizeof(R));
	R.stop_after = 2;
	im = node_import_new(&cfg, record, &R);
	assert_non_null(im);
	assert_int_equal(node_import_feed(im, text, strlen(text)), 99);
	assert_int_equal(R.n, 2);
	/* After a stop the parser takes nothing more. */
	assert_int_equal(node_import_feed(im, "4.4.4.4\n", 8), 99);
	assert_int_equal(node_import_finish(im), 99);
	assert_int_equal(R.n, 2);
	node_import_free(im);
	R.stop_after = 0;

	cfg.format = 17;
	assert_null(node_import_new(&cfg, record, &R));
	node_import_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_plain_long_line),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_csv_formula),
		cmocka_unit_test(test_csv_file_errors),
		cmocka_unit_test(test_csv_records),
		cmocka_unit_test(test_stix),
		cmocka_unit_test(test_stix_examples),
		cmocka_unit_test(test_json_file_errors),
		cmocka_unit_test(test_misp),
		cmocka_unit_test(test_misp_wrappers),
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_auto_format),
		cmocka_unit_test(test_callback_stop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
