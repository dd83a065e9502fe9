/* SPDX-License-Identifier: MIT */
/*
 * node_exporter_document(): what a SIEM matches on. Active indicators carry their ECS value
 * fields and event.type indicator; retired ones (withdrawn, expired, observed-only) carry
 * neither and have an expiry in event.end; CIDR ranges become matchable; the TLP version and
 * the feed name are present.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/daemon/exporter.h"
#include "proto/indicator.h"
#include "proto/report.h"
#include "proto/summary.h"

static struct policy_view *view(int type, const char *value, int state, uint64_t valid_until)
{
	struct policy_view *v = calloc(1, sizeof(*v));

	assert_non_null(v);
	v->ind.type = (uint8_t)type;
	v->ind.len = (uint16_t)strlen(value);
	strcpy(v->ind.value, value);
	v->tlp = PROTO_TLP_GREEN;
	v->state = (uint8_t)state;
	v->confidence = 70;
	v->first_seen_ms = 1700000000000ull;
	v->last_seen_ms = 1700000100000ull;
	v->valid_until_ms = valid_until;
	v->n_members = 2;
	strcpy(v->community, "Unit Community");
	return v;
}

static const uint8_t ID[32] = {1, 2, 3};
#define NOW 1700000200000ull /* 2023-11-14T22:16:40.000Z */

static json_t *doc_of(struct policy_view *v)
{
	json_t *d = node_exporter_document(v, ID, 9, NOW);

	assert_non_null(d);
	free(v);
	return d;
}

static const char *str(json_t *o, const char *a, const char *b)
{
	json_t *x = json_object_get(o, a);

	return json_string_value(b ? json_object_get(x, b) : x);
}

static void test_active(void **state)
{
	json_t *d = doc_of(
		view(PROTO_IND_IPV4, "198.51.100.7", PROTO_SUMMARY_ACTIVE, 1900000000000ull));
	json_t *ev = json_object_get(d, "event"),
	       *ti = json_object_get(json_object_get(d, "threat"), "indicator");

	(void)state;
	assert_string_equal(json_string_value(json_array_get(json_object_get(ev, "type"), 0)),
			    "indicator");
	assert_string_equal(str(ev, "end", NULL), "2030-03-17T17:46:40.000Z");
	assert_string_equal(str(d, "chatham", "ioc_expiration_date"), "2030-03-17T17:46:40.000Z");
	assert_string_equal(str(d, "chatham", "ioc_expiration_reason"), "valid_until");
	assert_string_equal(str(ti, "ip", NULL), "198.51.100.7");
	assert_string_equal(str(ti, "marking", "tlp"), "GREEN");
	assert_string_equal(str(ti, "marking", "tlp_version"), "2.0");
	assert_string_equal(str(json_object_get(d, "threat"), "feed", "name"),
			    "chatham Unit Community");
	json_decref(d);

	/* No valid_until: no expiry. */
	d = doc_of(view(PROTO_IND_DOMAIN, "evil.example", PROTO_SUMMARY_ACTIVE, 0));
	assert_null(json_object_get(json_object_get(d, "event"), "end"));
	assert_null(json_object_get(json_object_get(d, "chatham"), "ioc_expiration_date"));
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(json_object_get(json_object_get(d, "threat"), "indicator"),
					"url"),
			"domain")),
		"evil.example");
	json_decref(d);
}

static void test_retired(void **state)
{
	static const int states[] = {PROTO_SUMMARY_WITHDRAWN, PROTO_SUMMARY_EXPIRED,
				     PROTO_SUMMARY_OBSERVED};
	static const char *const values[] = {"198.51.100.7", "evil.example", "https://e.example/",
					     "a@evil.example", "d41d8cd98f00b204e9800998ecf8427e"};
	static const int types[] = {PROTO_IND_IPV4, PROTO_IND_DOMAIN, PROTO_IND_URL,
				    PROTO_IND_EMAIL, PROTO_IND_MD5};

	(void)state;
	for (size_t s = 0; s < 3; s++) {
		for (size_t t = 0; t < 5; t++) {
			json_t *d = doc_of(view(types[t], values[t], states[s], 1690000000000ull));
			json_t *ev = json_object_get(d, "event");
			json_t *ti = json_object_get(json_object_get(d, "threat"), "indicator");
			const char *et =
				json_string_value(json_array_get(json_object_get(ev, "type"), 0));
			assert_string_equal(et, "deletion");
			assert_null(json_object_get(ti, "ip"));
			assert_null(json_object_get(ti, "url"));
			assert_null(json_object_get(ti, "email"));
			assert_null(json_object_get(ti, "file"));
			/* The value stays for dedup and display, outside threat.indicator. */
			assert_string_equal(str(d, "chatham", "value"), values[t]);
			/* Expired: its valid_until; withdrawn or observed: the change time. */
			assert_string_equal(str(ev, "end", NULL),
					    states[s] == PROTO_SUMMARY_EXPIRED
						    ? "2023-07-22T04:26:40.000Z"
						    : "2023-11-14T22:16:40.000Z");
			/* And as Elastic's threat-intel integrations carry it. */
			assert_string_equal(str(d, "chatham", "ioc_expiration_date"),
					    str(ev, "end", NULL));
			assert_string_equal(str(d, "chatham", "ioc_expiration_reason"),
					    states[s] == PROTO_SUMMARY_WITHDRAWN ? "withdrawn"
					    : states[s] == PROTO_SUMMARY_EXPIRED ? "expired"
										 : "observed");
			json_decref(d);
		}
	}
}

static void test_cidr(void **state)
{
	json_t *d, *ti, *ip, *range;

	(void)state;
	d = doc_of(view(PROTO_IND_IPV4, "192.0.2.0/30", PROTO_SUMMARY_ACTIVE, 0));
	ti = json_object_get(json_object_get(d, "threat"), "indicator");
	ip = json_object_get(ti, "ip");
	assert_true(json_is_array(ip));
	assert_int_equal(json_array_size(ip), 4);
	assert_string_equal(json_string_value(json_array_get(ip, 0)), "192.0.2.0");
	assert_string_equal(json_string_value(json_array_get(ip, 3)), "192.0.2.3");
	range = json_object_get(json_object_get(d, "chatham"), "ip_range");
	assert_string_equal(str(range, "gte", NULL), "192.0.2.0");
	assert_string_equal(str(range, "lte", NULL), "192.0.2.3");
	json_decref(d);

	d = doc_of(view(PROTO_IND_IPV4, "198.51.100.0/24", PROTO_SUMMARY_ACTIVE, 0));
	ip = json_object_get(json_object_get(json_object_get(d, "threat"), "indicator"), "ip");
	assert_int_equal(json_array_size(ip), 256);
	assert_string_equal(json_string_value(json_array_get(ip, 255)), "198.51.100.255");
	json_decref(d);

	/* Larger than 256 addresses: the range only. */
	d = doc_of(view(PROTO_IND_IPV4, "10.0.0.0/8", PROTO_SUMMARY_ACTIVE, 0));
	assert_null(
		json_object_get(json_object_get(json_object_get(d, "threat"), "indicator"), "ip"));
	range = json_object_get(json_object_get(d, "chatham"), "ip_range");
	assert_string_equal(str(range, "gte", NULL), "10.0.0.0");
	assert_string_equal(str(range, "lte", NULL), "10.255.255.255");
	json_decref(d);

	d = doc_of(view(PROTO_IND_IPV6, "2001:db8::/126", PROTO_SUMMARY_ACTIVE, 0));
	ip = json_object_get(json_object_get(json_object_get(d, "threat"), "indicator"), "ip");
	assert_int_equal(json_array_size(ip), 4);
	assert_string_equal(json_string_value(json_array_get(ip, 3)), "2001:db8::3");
	json_decref(d);

	d = doc_of(view(PROTO_IND_IPV6, "2001:db8::/32", PROTO_SUMMARY_ACTIVE, 0));
	range = json_object_get(json_object_get(d, "chatham"), "ip_range");
	assert_string_equal(str(range, "lte", NULL), "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
	json_decref(d);

	/* A retired range is not matchable either. */
	d = doc_of(view(PROTO_IND_IPV4, "192.0.2.0/30", PROTO_SUMMARY_WITHDRAWN, 0));
	assert_null(
		json_object_get(json_object_get(json_object_get(d, "threat"), "indicator"), "ip"));
	assert_null(json_object_get(json_object_get(d, "chatham"), "ip_range"));
	json_decref(d);
}

static void same_text(json_t *d)
{
	char *mine, *ref = json_dumps(d, JSON_COMPACT | JSON_ENSURE_ASCII);
	size_t len;

	assert_non_null(ref);
	assert_int_equal(node_exporter_text(d, &mine, &len), 0);
	assert_int_equal(len, strlen(ref));
	assert_memory_equal(mine, ref, len);
	free(mine);
	free(ref);
}

/*
 * node_exporter_text() writes what json_dumps(JSON_COMPACT | JSON_ENSURE_ASCII) writes: for
 * documents of every indicator type and state, with descriptions and tags that need
 * escaping, and for every escape class by itself.
 */
static void test_text_as_jansson(void **state)
{
	static const struct {
		int type;
		const char *value;
	} inds[] = {
		{PROTO_IND_IPV4, "198.51.100.7"},
		{PROTO_IND_IPV4, "198.51.100.0/24"},
		{PROTO_IND_IPV4, "198.18.0.0/15"},
		{PROTO_IND_IPV6, "2001:db8::1"},
		{PROTO_IND_IPV6, "2001:db8::/120"},
		{PROTO_IND_DOMAIN, "bad.example"},
		{PROTO_IND_URL, "https://bad.example/a?b=\"c\"&d=\\e"},
		{PROTO_IND_EMAIL, "x@bad.example"},
		{PROTO_IND_SHA256,
		 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	};
	static const int states[] = {PROTO_SUMMARY_ACTIVE, PROTO_SUMMARY_WITHDRAWN,
				     PROTO_SUMMARY_EXPIRED, PROTO_SUMMARY_OBSERVED};
	static const char desc[] = "tab\there \"quoted\" back\\slash \x01 nl\n caf\xc3\xa9 "
				   "\xe2\x82\xac \xf0\x9f\x98\x80 /slash/ \x7f end";
	static const char *tags[] = {"plain", "caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac"};
	json_t *o;
	char *out;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(inds) / sizeof(inds[0]); i++)
		for (size_t k = 0; k < sizeof(states) / sizeof(states[0]); k++) {
			struct policy_view *v = view(inds[i].type, inds[i].value, states[k],
						     k % 2 ? 0 : 1900000000000ull);

			if (i % 2) {
				v->has_description = true;
				memcpy(v->description, desc, sizeof(desc));
				v->description_len = sizeof(desc) - 1;
				v->n_tags = 3;
				for (size_t t = 0; t < 3; t++)
					strcpy(v->tags[t], tags[t]);
			}
			if (i % 3 == 0) {
				v->warninglist = "list \"one\"";
				v->withheld = k % 2;
			}
			json_t *d = doc_of(v);

			same_text(d);
			json_decref(d);
		}

	o = json_pack("{s:s%, s:[i, i, b, b, n], s:{}, s:[], s:s}", "nul", "a\0b", (size_t)3,
		      "caf\xc3\xa9 key", (json_int_t)-9223372036854775807LL - 1, (json_int_t)42, 1,
		      0, "empty", "none", "ctl", "\x1f\x08\x0c\x0d");
	assert_non_null(o);
	same_text(o);
	json_decref(o);

	o = json_pack("{s:f}", "real", 1.5); /* documents hold none: refused, not guessed */
	assert_non_null(o);
	assert_int_equal(node_exporter_text(o, &out, &len), -EINVAL);
	assert_null(out);
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_active),
		cmocka_unit_test(test_retired),
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_text_as_jansson),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
