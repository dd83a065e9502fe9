/* SPDX-License-Identifier: MIT */
/*
 * Export renderers (node/format/export_fmt.h). Documents are made by the daemon's own builder,
 * node_exporter_document(), so these tests also pin the contract between the export writer
 * and `chatham export`. Each format's output is parsed back (jansson for JSON, a line split
 * for CSV/plain) and checked field by field: TLP 2.0 marking ids, deterministic ids, what
 * each format leaves out, and that no format names anything but the community.
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "node/format/export_fmt.h"
#include "node/format/misp_feed.h"
#include "node/daemon/exporter.h"
#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/indicator.h"
#include "proto/report.h"
#include "proto/summary.h"
#include "testutil.h"

#define COMMUNITY "Example CSIRT Network"

struct doc {
	char *text;
	json_t *json;
	struct node_export_doc d;
};

/* One document as the exporter writes it, parsed back. */
static void make_doc(struct doc *out, int type, const char *value, int tlp, int state, uint64_t seq,
		     const char *desc)
{
	struct policy_view *v = calloc(1, sizeof(*v));
	const char *why = NULL;
	uint8_t id[32];
	json_t *j;

	assert_non_null(v);
	assert_int_equal(proto_indicator_parse(&v->ind, type, value, strlen(value), NULL), 0);
	proto_indicator_id(&v->ind, id);
	v->tlp = (uint8_t)tlp;
	v->state = (uint8_t)state;
	v->confidence = 75;
	v->first_seen_ms = 1700000000123ull;
	v->last_seen_ms = 1700000500000ull;
	v->valid_until_ms = state == PROTO_SUMMARY_ACTIVE ? 1900000000000ull : 0;
	v->n_members = 3;
	v->n_sightings = 2;
	v->n_false_positive = 1;
	v->n_tags = 2;
	strcpy(v->tags[0], "c2");
	strcpy(v->tags[1], "botnet");
	if (desc) {
		v->has_description = true;
		v->description_len = strlen(desc);
		strcpy(v->description, desc);
	}
	strcpy(v->community, COMMUNITY);
	j = node_exporter_document(v, id, seq, 1700001000000ull + seq);
	assert_non_null(j);
	out->text = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(j);
	assert_non_null(out->text);
	out->json = json_loads(out->text, 0, NULL);
	assert_non_null(out->json);
	assert_int_equal(node_export_doc_parse(out->json, &out->d, &why), 0);
	free(v);
}

static void free_doc(struct doc *d)
{
	json_decref(d->json);
	free(d->text);
}

/* Renders @n docs in @format into a malloc'd string. */
static char *render(int format, struct doc *docs, size_t n, uint64_t since, uint64_t *count)
{
	struct node_export_options o = {.format = format, .community = COMMUNITY, .since = since};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct node_export_writer *w;

	assert_non_null(f);
	memset(o.env_id, 0x5a, sizeof(o.env_id));
	w = node_export_writer_new(&o, f);
	assert_non_null(w);
	for (size_t i = 0; i < n; i++)
		assert_true(node_export_writer_add(w, docs[i].text, strlen(docs[i].text),
						   &docs[i].d) >= 0);
	assert_int_equal(node_export_writer_finish(w), 0);
	if (count)
		*count = node_export_writer_count(w);
	node_export_writer_free(w);
	fclose(f);
	return buf;
}

enum { N_DOCS = 6 };
static struct doc D[N_DOCS];

static int setup(void **state)
{
	(void)state;
	if (proto_crypto_init())
		return -1;
	make_doc(&D[0], PROTO_IND_IPV4, "198.51.100.7", PROTO_TLP_GREEN, PROTO_SUMMARY_ACTIVE, 3,
		 "seen in \"phishing\", twice");
	make_doc(&D[1], PROTO_IND_URL, "http://evil.example/a,b?q='x'", PROTO_TLP_AMBER,
		 PROTO_SUMMARY_ACTIVE, 5, NULL);
	make_doc(&D[2], PROTO_IND_DOMAIN, "gone.example", PROTO_TLP_CLEAR, PROTO_SUMMARY_WITHDRAWN,
		 7, NULL);
	make_doc(&D[3], PROTO_IND_SHA256,
		 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		 PROTO_TLP_AMBER_STRICT, PROTO_SUMMARY_ACTIVE, 8, NULL);
	make_doc(&D[4], PROTO_IND_EMAIL, "x@observed.example", PROTO_TLP_GREEN,
		 PROTO_SUMMARY_OBSERVED, 9, NULL);
	make_doc(&D[5], PROTO_IND_IPV6, "2001:db8::/32", PROTO_TLP_RED, PROTO_SUMMARY_EXPIRED, 11,
		 NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < N_DOCS; i++)
		free_doc(&D[i]);
	return 0;
}

/* ------------------------------------------------------------------ helpers under test */

static void test_doc_parse(void **state)
{
	const struct node_export_doc *d = &D[0].d;
	const char *why = NULL;
	struct node_export_doc tmp;
	json_t *bad;

	(void)state;
	assert_int_equal(d->seq, 3);
	assert_int_equal(d->type, PROTO_IND_IPV4);
	assert_string_equal(d->value, "198.51.100.7");
	assert_int_equal(d->tlp, PROTO_TLP_GREEN);
	assert_int_equal(d->state, PROTO_SUMMARY_ACTIVE);
	assert_int_equal(d->confidence, 75);
	assert_int_equal(d->first_seen_ms, 1700000000123ull);
	assert_int_equal(d->last_seen_ms, 1700000500000ull);
	assert_int_equal(d->modified_ms, 1700001000003ull);
	assert_int_equal(d->valid_until_ms, 1900000000000ull);
	assert_string_equal(d->first_seen, "2023-11-14T22:13:20.123Z");
	assert_int_equal(d->members, 3);
	assert_int_equal(d->sightings, 2);
	assert_int_equal(d->false_positives, 1);
	assert_int_equal(json_array_size(d->tags), 2);
	assert_string_equal(d->description, "seen in \"phishing\", twice");
	assert_string_equal(d->provider, COMMUNITY);
	assert_int_equal(D[2].d.valid_until_ms, 0);
	assert_null(D[2].d.description);

	/* Each required field, removed or damaged, is named. */
	static const struct {
		const char *obj, *key, *why;
	} cases[] = {
		{"chatham", "seq", "chatham.seq"},
		{"chatham", "indicator_id", "chatham.indicator_id"},
		{"chatham", "type", "chatham.type"},
		{"chatham", "value", "chatham.value"},
		{"chatham", "state", "chatham.state"},
		{"chatham", "confidence", "chatham.confidence"},
		{"chatham", "members", "chatham.members/sightings/false_positives"},
		{"indicator", "first_seen", "threat.indicator.first_seen/last_seen/modified"},
		{"indicator", "marking", "threat.indicator.marking.tlp"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *o;
		bad = json_deep_copy(D[0].json);
		o = !strcmp(cases[i].obj, "chatham")
			    ? json_object_get(bad, "chatham")
			    : json_object_get(json_object_get(bad, "threat"), "indicator");
		json_object_del(o, cases[i].key);
		why = NULL;
		assert_int_equal(node_export_doc_parse(bad, &tmp, &why), NODE_E_EXPORT);
		assert_string_equal(why, cases[i].why);
		json_decref(bad);
	}
	bad = json_deep_copy(D[0].json);
	json_object_set_new(json_object_get(bad, "chatham"), "state", json_string("gone"));
	assert_int_equal(node_export_doc_parse(bad, &tmp, NULL), NODE_E_EXPORT);
	json_decref(bad);
	bad = json_string("x");
	assert_int_equal(node_export_doc_parse(bad, &tmp, &why), NODE_E_EXPORT);
	json_decref(bad);
}

static void test_md5(void **state)
{
	static const struct {
		const char *in, *hex;
	} rfc[] = {
		{"", "d41d8cd98f00b204e9800998ecf8427e"},
		{"a", "0cc175b9c0f1b6a831c399e269772661"},
		{"abc", "900150983cd24fb0d6963f7d28e17f72"},
		{"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
		{"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
		{"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
		 "57edf4a22be3c955ac49da2e2107b67a"},
	};
	/* Lengths around the 56- and 64-byte padding edges, bytes (i*7+3)&0xff (Python's
	 * hashlib computed the digests). */
	static const struct {
		size_t n;
		const char *hex;
	} edges[] = {
		{55, "52c0e574e1198de5fe3f8f11440dcb1b"},
		{56, "46c9907fc908ee68b1e7b8e71286a518"},
		{57, "1c805dd236c35cab25fcb1bc73802c51"},
		{63, "a62f6d59e837867693f042f5b8f5a236"},
		{64, "7160b8fb5e9e4023d549c3971fbaeead"},
		{65, "70bd662e7aefbda85a0f7244167b7897"},
		{119, "e84905d4214f4d1ca56c2cdcc152b143"},
		{120, "e3eb5a6c8669ea01a8c185b8abc8a5dc"},
		{128, "10b2da1a82f16d99a81a7203fe9f02cb"},
		{1000, "10046f077f2082ac19676b8079f1cb1a"},
	};
	uint8_t buf[1000];
	char hex[33];

	(void)state;
	for (size_t i = 0; i < sizeof(rfc) / sizeof(rfc[0]); i++) {
		node_export_md5_hex(rfc[i].in, strlen(rfc[i].in), hex);
		assert_string_equal(hex, rfc[i].hex);
	}
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)((i * 7 + 3) & 0xff);
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		node_export_md5_hex(buf, edges[i].n, hex);
		assert_string_equal(hex, edges[i].hex);
	}
}

static void test_uuid(void **state)
{
	char a[37], b[37], c[37];

	(void)state;
	node_export_uuid(a, "ns", "data", 4);
	node_export_uuid(b, "ns", "data", 4);
	node_export_uuid(c, "nt", "data", 4);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_int_equal(strlen(a), 36);
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			assert_int_equal(a[i], '-');
		else
			assert_non_null(strchr("0123456789abcdef", a[i]));
	}
	assert_int_equal(a[14], '4');
	assert_non_null(strchr("89ab", a[19]));
	/* The separator keeps ("ab", "c") and ("a", "bc") apart. */
	node_export_uuid(a, "ab", "c", 1);
	node_export_uuid(b, "a", "bc", 2);
	assert_string_not_equal(a, b);
}

static void test_stix_pattern(void **state)
{
	static const struct {
		int type;
		const char *value, *pattern;
	} cases[] = {
		{PROTO_IND_IPV4, "1.2.3.4", "[ipv4-addr:value = '1.2.3.4']"},
		{PROTO_IND_IPV4, "10.0.0.0/8", "[ipv4-addr:value = '10.0.0.0/8']"},
		{PROTO_IND_IPV6, "2001:db8::1", "[ipv6-addr:value = '2001:db8::1']"},
		{PROTO_IND_DOMAIN, "a.example", "[domain-name:value = 'a.example']"},
		{PROTO_IND_URL, "http://a.example/it's\\x",
		 "[url:value = 'http://a.example/it\\'s\\\\x']"},
		{PROTO_IND_EMAIL, "o'brien@a.example",
		 "[email-addr:value = 'o\\'brien@a.example']"},
		{PROTO_IND_MD5, "d41d8cd98f00b204e9800998ecf8427e",
		 "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']"},
		{PROTO_IND_SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709",
		 "[file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']"},
		{PROTO_IND_SHA256, "ab", "[file:hashes.'SHA-256' = 'ab']"},
		{PROTO_IND_SHA512, "ab", "[file:hashes.'SHA-512' = 'ab']"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *p = node_export_stix_pattern(cases[i].type, cases[i].value);
		assert_non_null(p);
		assert_string_equal(p, cases[i].pattern);
		free(p);
	}
	assert_null(node_export_stix_pattern(0, "x"));
	assert_string_equal(node_export_stix_tlp_id(PROTO_TLP_AMBER_STRICT),
			    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003");
	assert_null(node_export_stix_tlp_id(0));
	assert_null(node_export_stix_tlp_id(6));
}

/* The ids in the code equal those of the OASIS TLP 2.0 files in tests/data/stix21/tlp20. */
static void test_tlp_ids_match_oasis(void **state)
{
	(void)state;
	for (int tlp = PROTO_TLP_CLEAR; tlp <= PROTO_TLP_RED; tlp++) {
		char rel[200], *path;
		const char *id = node_export_stix_tlp_id(tlp);
		json_t *b, *o;
		snprintf(rel, sizeof(rel), "stix21/tlp20/%s.json", id);
		path = tu_data_path(rel);
		b = json_load_file(path, 0, NULL);
		free(path);
		assert_non_null(b);
		o = json_array_get(json_object_get(b, "objects"), 0);
		assert_string_equal(json_string_value(json_object_get(o, "id")), id);
		char want[32];
		snprintf(want, sizeof(want), "TLP:%s", proto_tlp_name(tlp));
		assert_string_equal(json_string_value(json_object_get(o, "name")), want);
		json_decref(b);
	}
}

/* ------------------------------------------------------------------ formats */

static size_t count_lines(const char *s, const char *sep)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, sep)); p += strlen(sep))
		n++;
	return n;
}

static void test_jsonl(void **state)
{
	uint64_t n;
	char *out = render(NODE_EXPORT_JSONL, D, N_DOCS, 0, &n);
	char *line, *save = NULL;
	int i = 0;

	(void)state;
	assert_int_equal(n, N_DOCS);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		assert_string_equal(line, D[i++].text);
	assert_int_equal(i, N_DOCS);
	free(out);
}

static void test_csv(void **state)
{
	uint64_t n;
	char *out = render(NODE_EXPORT_CSV, D, N_DOCS, 0, &n);

	(void)state;
	assert_int_equal(n, N_DOCS);
	assert_int_equal(count_lines(out, "\r\n"), N_DOCS + 1);
	assert_memory_equal(out,
			    "type,value,tlp,state,confidence,first_seen,last_seen,members,"
			    "sightings,false_positives,seq\r\n"
			    "ipv4,198.51.100.7,GREEN,active,75,2023-11-14T22:13:20.123Z,"
			    "2023-11-14T22:21:40.000Z,3,2,1,3\r\n"
			    "url,\"http://evil.example/a,b?q='x'\",AMBER,active,",
			    strlen("type,value,tlp,state,confidence,first_seen,last_seen,members,"
				   "sightings,false_positives,seq\r\n"
				   "ipv4,198.51.100.7,GREEN,active,75,2023-11-14T22:13:20.123Z,"
				   "2023-11-14T22:21:40.000Z,3,2,1,3\r\n"
				   "url,\"http://evil.example/a,b?q='x'\",AMBER,active,"));
	assert_non_null(strstr(out, "\r\ndomain,gone.example,CLEAR,withdrawn,"));
	assert_non_null(strstr(out, "\r\nemail,x@observed.example,GREEN,observed,"));
	assert_non_null(strstr(out, ",AMBER+STRICT,active,"));
	/* No description, tag or member name reaches the CSV. */
	assert_null(strstr(out, "phishing"));
	assert_null(strstr(out, "botnet"));
	free(out);

	/* An empty export still has its header. */
	out = render(NODE_EXPORT_CSV, D, 0, 0, &n);
	assert_int_equal(n, 0);
	assert_string_equal(out, "type,value,tlp,state,confidence,first_seen,last_seen,members,"
				 "sightings,false_positives,seq\r\n");
	free(out);
}

static void test_plain(void **state)
{
	uint64_t n;
	char *out = render(NODE_EXPORT_PLAIN, D, N_DOCS, 0, &n);

	(void)state;
	assert_int_equal(n, 3);
	assert_string_equal(out,
			    "198.51.100.7\n"
			    "http://evil.example/a,b?q='x'\n"
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n");
	free(out);
}

static json_t *find_by_type(json_t *objects, const char *type, size_t nth)
{
	json_t *o;
	size_t i;

	json_array_foreach(objects, i, o)
	{
		if (!strcmp(json_string_value(json_object_get(o, "type")), type) && nth-- == 0)
			return o;
	}
	return NULL;
}

static size_t count_type(json_t *objects, const char *type)
{
	size_t n = 0;

	while (find_by_type(objects, type, n))
		n++;
	return n;
}

static void test_stix(void **state)
{
	uint64_t n;
	char *out = render(NODE_EXPORT_STIX21, D, N_DOCS, 0, &n), *again;
	json_t *b = json_loads(out, 0, NULL), *objs, *ident, *ind, *o;
	const char *ident_id;
	size_t i;

	(void)state;
	assert_non_null(b);
	/* Three active indicators and, in a full export too, two revoked (retired) ones. */
	assert_int_equal(n, 5);
	assert_string_equal(json_string_value(json_object_get(b, "type")), "bundle");
	assert_int_equal(strncmp(json_string_value(json_object_get(b, "id")), "bundle--", 8), 0);
	objs = json_object_get(b, "objects");
	assert_int_equal(count_type(objs, "identity"), 1);
	assert_int_equal(count_type(objs, "indicator"), 5);
	assert_int_equal(count_type(objs, "marking-definition"), 5);
	assert_int_equal(json_array_size(objs), 11);
	size_t revoked_full = 0;
	json_array_foreach(objs, i, o)
	{
		if (json_is_true(json_object_get(o, "revoked")))
			revoked_full++;
	}
	assert_int_equal(revoked_full, 2);
	assert_null(strstr(out, "observed.example"));

	ident = find_by_type(objs, "identity", 0);
	ident_id = json_string_value(json_object_get(ident, "id"));
	assert_string_equal(json_string_value(json_object_get(ident, "name")), COMMUNITY);
	json_array_foreach(objs, i, o)
	{
		json_t *cbr = json_object_get(o, "created_by_ref");
		if (cbr)
			assert_string_equal(json_string_value(cbr), ident_id);
	}

	ind = find_by_type(objs, "indicator", 0);
	assert_string_equal(json_string_value(json_object_get(ind, "pattern")),
			    "[ipv4-addr:value = '198.51.100.7']");
	assert_string_equal(json_string_value(json_object_get(ind, "pattern_type")), "stix");
	assert_string_equal(json_string_value(json_object_get(ind, "valid_from")),
			    "2023-11-14T22:13:20.123Z");
	assert_string_equal(json_string_value(json_object_get(ind, "created")),
			    "2023-11-14T22:13:20.123Z");
	assert_string_equal(json_string_value(json_object_get(ind, "modified")), D[0].d.modified);
	assert_string_equal(json_string_value(json_object_get(ind, "valid_until")),
			    "2030-03-17T17:46:40.000Z");
	assert_int_equal(json_integer_value(json_object_get(ind, "confidence")), 75);
	assert_string_equal(
		json_string_value(json_array_get(json_object_get(ind, "indicator_types"), 0)),
		"malicious-activity");
	assert_string_equal(
		json_string_value(json_array_get(json_object_get(ind, "object_marking_refs"), 0)),
		"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb");
	assert_string_equal(json_string_value(json_object_get(ind, "description")),
			    "seen in \"phishing\", twice");
	assert_int_equal(json_array_size(json_object_get(ind, "labels")), 2);
	assert_null(json_object_get(ind, "revoked"));
	/* The indicator id is the indicator's, whatever the export. */
	char uuid[37], want[64];
	node_export_uuid(uuid, "stix/indicator", D[0].d.ind_id, 32);
	snprintf(want, sizeof(want), "indicator--%s", uuid);
	assert_string_equal(json_string_value(json_object_get(ind, "id")), want);

	o = find_by_type(objs, "marking-definition", 1); /* CLEAR comes first */
	assert_string_equal(json_string_value(json_object_get(o, "name")), "TLP:GREEN");
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(
				json_object_get(o, "extensions"),
				"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"),
			"tlp_2_0")),
		"green");

	/* Same input, same bytes. */
	again = render(NODE_EXPORT_STIX21, D, N_DOCS, 0, NULL);
	assert_string_equal(out, again);
	free(again);
	json_decref(b);
	free(out);

	/* Incremental: withdrawn and expired ones come as revoked versions; observed never. */
	out = render(NODE_EXPORT_STIX21, D, N_DOCS, 2, &n);
	b = json_loads(out, 0, NULL);
	assert_non_null(b);
	objs = json_object_get(b, "objects");
	assert_int_equal(n, 5);
	assert_int_equal(count_type(objs, "indicator"), 5);
	assert_int_equal(count_type(objs, "marking-definition"), 5);
	size_t revoked = 0;
	json_array_foreach(objs, i, o)
	{
		if (json_is_true(json_object_get(o, "revoked")))
			revoked++;
	}
	assert_int_equal(revoked, 2);
	assert_null(strstr(out, "observed.example"));
	json_decref(b);
	free(out);

	/* An empty export is a valid bundle holding the identity. */
	out = render(NODE_EXPORT_STIX21, D, 0, 0, &n);
	b = json_loads(out, 0, NULL);
	assert_non_null(b);
	assert_int_equal(json_array_size(json_object_get(b, "objects")), 1);
	json_decref(b);
	free(out);
}

static char *read_text(const char *dir, const char *name)
{
	char path[4096];
	size_t len;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return (char *)tu_read_file(path, &len);
}

/* Runs one misp-feed export of @n docs into @dir, as `chatham export` does. */
static int misp_run(const char *dir, struct doc **docs, size_t n, struct node_misp_feed_stats *st)
{
	struct node_export_options o = {.format = NODE_EXPORT_MISP_FEED, .community = COMMUNITY};
	struct node_export_writer *w;
	const char *why = NULL;
	int r;

	r = node_misp_feed_open(&o.misp, dir, COMMUNITY, &why);
	if (r)
		return r;
	w = node_export_writer_new(&o, NULL);
	assert_non_null(w);
	for (size_t i = 0; i < n; i++)
		assert_true(node_export_writer_add(w, docs[i]->text, strlen(docs[i]->text),
						   &docs[i]->d) >= 0);
	assert_int_equal(node_export_writer_finish(w), 0);
	r = node_misp_feed_commit(o.misp, st, &why);
	node_export_writer_free(w);
	node_misp_feed_free(o.misp);
	return r;
}

static json_t *load_json(const char *dir, const char *name)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return json_load_file(p, 0, NULL);
}

/* The event (in @man's events) whose attributes hold @value; its attribute in *@attr. */
static json_t *misp_find(const char *dir, json_t *man, const char *value, json_t **attr,
			 const char **ev_uuid)
{
	const char *uuid;
	json_t *entry;

	json_object_foreach(man, uuid, entry)
	{
		char name[64];
		json_t *root, *a;
		size_t i;

		snprintf(name, sizeof(name), "%s.json", uuid);
		root = load_json(dir, name);
		assert_non_null(root);
		json_array_foreach(json_object_get(json_object_get(root, "Event"), "Attribute"), i,
				   a)
		{
			if (!strcmp(json_string_value(json_object_get(a, "value")), value)) {
				*attr = a;
				*ev_uuid = uuid;
				return root;
			}
		}
		json_decref(root);
	}
	fail_msg("%s is in no event of the feed", value);
	return NULL;
}

static const char *tag0(json_t *o)
{
	return json_string_value(
		json_object_get(json_array_get(json_object_get(o, "Tag"), 0), "name"));
}

static json_int_t ts_of(json_t *o)
{
	return json_integer_value(json_object_get(o, "timestamp"));
}

static void test_misp_feed(void **state)
{
	static const char *const want_tag[] = {"tlp:green",	   "tlp:amber", "tlp:clear",
					       "tlp:amber+strict", NULL,	"tlp:red"};
	char *dir = tu_tmpdir(), *hashes, *hashes2, *man_text, *man_text2, md5[33], line[80];
	struct doc *all[N_DOCS], retired, amber, *one[1];
	struct node_misp_feed_stats st;
	json_t *man, *root, *a, *ev;
	const char *uu, *uu2;
	json_int_t a_ts, ev_ts;
	char ev_uuid[37], a_uuid[37];

	(void)state;
	assert_non_null(dir);
	for (int i = 0; i < N_DOCS; i++)
		all[i] = &D[i];
	assert_int_equal(misp_run(dir, all, N_DOCS, &st), 0);
	/* Observed-only is left out; one event per TLP (all first seen on one day). */
	assert_int_equal(st.added, 5);
	assert_int_equal(st.events, 5);
	man = load_json(dir, "manifest.json");
	assert_int_equal(json_object_size(man), 5);
	hashes = read_text(dir, "hashes.csv");
	assert_int_equal(count_lines(hashes, "\n"), 5);
	for (int i = 0; i < N_DOCS; i++) {
		if (!want_tag[i])
			continue;
		root = misp_find(dir, man, D[i].d.value, &a, &uu);
		ev = json_object_get(root, "Event");
		/* TLP per attribute, and the event's tag is the strictest of its attributes. */
		assert_string_equal(tag0(a), want_tag[i]);
		assert_string_equal(tag0(ev), want_tag[i]);
		assert_string_equal(tag0(json_object_get(man, uu)), want_tag[i]);
		assert_string_equal(json_string_value(json_object_get(ev, "date")), "2023-11-14");
		assert_int_equal(ts_of(json_object_get(man, uu)), ts_of(ev));
		assert_string_equal(
			json_string_value(json_object_get(json_object_get(ev, "Orgc"), "name")),
			COMMUNITY);
		/* Retired: not for IDS, and the retirement is a visible tag. */
		assert_int_equal(json_is_true(json_object_get(a, "to_ids")),
				 D[i].d.state == PROTO_SUMMARY_ACTIVE);
		if (D[i].d.state != PROTO_SUMMARY_ACTIVE)
			assert_string_equal(
				json_string_value(json_object_get(
					json_array_get(json_object_get(a, "Tag"), 1), "name")),
				D[i].d.state == PROTO_SUMMARY_WITHDRAWN
					? "chatham:state=\"withdrawn\""
					: "chatham:state=\"expired\"");
		node_export_md5_hex(D[i].d.value, strlen(D[i].d.value), md5);
		snprintf(line, sizeof(line), "%s,%s\n", md5, uu);
		assert_non_null(strstr(hashes, line));
		json_decref(root);
	}

	/* The same export again writes nothing. */
	man_text = read_text(dir, "manifest.json");
	assert_int_equal(misp_run(dir, all, N_DOCS, &st), 0);
	assert_int_equal(st.unchanged, 5);
	assert_int_equal(st.events + st.added + st.changed, 0);
	man_text2 = read_text(dir, "manifest.json");
	assert_string_equal(man_text, man_text2);
	free(man_text2);

	/* A revoke: the same attribute uuid in the same event, to_ids false, newer times
	 * although the change is within the same second (MISP takes only newer ones). */
	root = misp_find(dir, man, D[0].d.value, &a, &uu);
	snprintf(ev_uuid, sizeof(ev_uuid), "%s", uu);
	snprintf(a_uuid, sizeof(a_uuid), "%s", json_string_value(json_object_get(a, "uuid")));
	a_ts = ts_of(a);
	ev_ts = ts_of(json_object_get(root, "Event"));
	json_decref(root);
	make_doc(&retired, PROTO_IND_IPV4, "198.51.100.7", PROTO_TLP_GREEN, PROTO_SUMMARY_WITHDRAWN,
		 20, NULL);
	assert_int_equal(retired.d.modified_ms / 1000, (uint64_t)a_ts);
	one[0] = &retired;
	assert_int_equal(misp_run(dir, one, 1, &st), 0);
	assert_int_equal(st.changed, 1);
	assert_int_equal(st.events, 1);
	json_decref(man);
	man = load_json(dir, "manifest.json");
	assert_int_equal(json_object_size(man), 5);
	root = misp_find(dir, man, D[0].d.value, &a, &uu2);
	assert_string_equal(uu2, ev_uuid);
	assert_string_equal(json_string_value(json_object_get(a, "uuid")), a_uuid);
	assert_true(json_is_false(json_object_get(a, "to_ids")));
	assert_true(ts_of(a) > a_ts);
	assert_true(ts_of(json_object_get(root, "Event")) > ev_ts);
	assert_int_equal(ts_of(json_object_get(man, ev_uuid)),
			 ts_of(json_object_get(root, "Event")));
	json_decref(root);
	hashes2 = read_text(dir, "hashes.csv");
	assert_string_equal(hashes, hashes2); /* no new placement */
	free(hashes2);

	/* A TLP that rises keeps the attribute in its event; the event's tag follows. */
	make_doc(&amber, PROTO_IND_IPV4, "198.51.100.7", PROTO_TLP_AMBER, PROTO_SUMMARY_ACTIVE, 21,
		 NULL);
	one[0] = &amber;
	assert_int_equal(misp_run(dir, one, 1, &st), 0);
	json_decref(man);
	man = load_json(dir, "manifest.json");
	root = misp_find(dir, man, D[0].d.value, &a, &uu2);
	assert_string_equal(uu2, ev_uuid);
	assert_string_equal(tag0(a), "tlp:amber");
	assert_string_equal(tag0(json_object_get(root, "Event")), "tlp:amber");
	assert_string_equal(tag0(json_object_get(man, ev_uuid)), "tlp:amber");
	assert_true(json_is_true(json_object_get(a, "to_ids")));
	json_decref(root);

	/* A manifest lost after its events were written is made whole by the next run. */
	{
		char p[4096];
		FILE *f;
		snprintf(p, sizeof(p), "%s/manifest.json", dir);
		f = fopen(p, "w");
		fputs("{}", f);
		fclose(f);
		assert_int_equal(misp_run(dir, all + 1, 1, &st), 0);
		assert_int_equal(st.events, 0);
		json_decref(man);
		man = load_json(dir, "manifest.json");
		assert_int_equal(json_object_size(man), 1);
		root = misp_find(dir, man, D[1].d.value, &a, &uu2);
		json_decref(root);
	}
	/* Files that are not the feed's are refused, not overwritten. */
	{
		char p[4096];
		FILE *f;
		snprintf(p, sizeof(p), "%s/manifest.json", dir);
		f = fopen(p, "w");
		fputs("[1]", f);
		fclose(f);
		assert_int_equal(misp_run(dir, all, 1, &st), NODE_E_EXPORT);
		snprintf(p, sizeof(p), "%s/hashes.csv", dir);
		f = fopen(p, "a");
		fputs("not,a,hash\n", f);
		fclose(f);
		assert_int_equal(misp_run(dir, all, 1, &st), NODE_E_EXPORT);
	}
	json_decref(man);
	free_doc(&retired);
	free_doc(&amber);
	free(man_text);
	free(hashes);
	tu_rmtree(dir);
	free(dir);
}

static void test_latest(void **state)
{
	struct node_export_latest *t = node_export_latest_new();
	uint8_t id[32];

	(void)state;
	assert_non_null(t);
	for (uint32_t i = 0; i < 5000; i++) {
		memset(id, 0, sizeof(id));
		memcpy(id, &i, sizeof(i));
		id[31] = 1;
		assert_int_equal(node_export_latest_put(t, id, 10 + i), 0);
		assert_int_equal(node_export_latest_put(t, id, 5), 0); /* lower: ignored */
	}
	assert_int_equal(node_export_latest_count(t), 5000);
	for (uint32_t i = 0; i < 5000; i++) {
		memset(id, 0, sizeof(id));
		memcpy(id, &i, sizeof(i));
		id[31] = 1;
		assert_true(node_export_latest_is(t, id, 10 + i));
		assert_false(node_export_latest_is(t, id, 5));
		assert_int_equal(node_export_latest_put(t, id, 100000 + i), 0);
		assert_false(node_export_latest_is(t, id, 10 + i));
		assert_true(node_export_latest_is(t, id, 100000 + i));
	}
	memset(id, 0xee, sizeof(id));
	assert_false(node_export_latest_is(t, id, 1));
	assert_int_equal(node_export_latest_put(t, id, 0), -EINVAL);
	assert_int_equal(node_export_latest_count(t), 5000);
	node_export_latest_free(t);
	node_export_latest_free(NULL);
}

static void test_names(void **state)
{
	(void)state;
	assert_int_equal(node_export_format_from_name("misp-feed"), NODE_EXPORT_MISP_FEED);
	assert_int_equal(node_export_format_from_name("stix21"), NODE_EXPORT_STIX21);
	assert_int_equal(node_export_format_from_name("STIX"), -1);
	assert_string_equal(node_export_format_name(NODE_EXPORT_PLAIN), "plain");
	assert_null(node_export_format_name(-1));
	struct node_export_options o = {.format = 99, .community = "x"};
	assert_null(node_export_writer_new(&o, stdout));
	o.format = NODE_EXPORT_CSV;
	o.community = NULL;
	assert_null(node_export_writer_new(&o, stdout));
}

/* A write error anywhere surfaces at finish at the latest. */
static void test_write_error(void **state)
{
	struct node_export_options o = {.format = NODE_EXPORT_JSONL, .community = COMMUNITY};
	FILE *f = fopen("/dev/full", "w");
	struct node_export_writer *w;
	int r = 0;

	(void)state;
	if (!f) {
		print_message("skipping: no /dev/full\n");
		return;
	}
	setvbuf(f, NULL, _IONBF, 0);
	w = node_export_writer_new(&o, f);
	assert_non_null(w);
	for (int i = 0; i < N_DOCS && r >= 0; i++)
		r = node_export_writer_add(w, D[i].text, strlen(D[i].text), &D[i].d);
	assert_int_equal(r, -EIO);
	assert_int_equal(node_export_writer_finish(w), -EIO);
	node_export_writer_free(w);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doc_parse),
		cmocka_unit_test(test_md5),
		cmocka_unit_test(test_uuid),
		cmocka_unit_test(test_stix_pattern),
		cmocka_unit_test(test_tlp_ids_match_oasis),
		cmocka_unit_test(test_jsonl),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_stix),
		cmocka_unit_test(test_misp_feed),
		cmocka_unit_test(test_latest),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_write_error),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
