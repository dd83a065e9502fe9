/* SPDX-License-Identifier: MIT */
/* node/taxii/query.c and config.c: routes, query parameters, timestamps, consumers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "node/taxii/config.h"
#include "node/taxii/query.h"
#include "proto/crypto.h"
#include "proto/report.h"

#define COLL "3f0e1d2c-4b5a-4968-8776-655443322110"
#define IND "indicator--0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9"

static void test_routes(void **state)
{
	static const struct {
		const char *path;
		int ep;
	} cases[] = {
		{"/taxii2/", TAXII_EP_DISCOVERY},
		{"/taxii2", TAXII_EP_DISCOVERY},
		{"/chatham/", TAXII_EP_API_ROOT},
		{"/chatham/collections/", TAXII_EP_COLLECTIONS},
		{"/chatham/collections/" COLL "/", TAXII_EP_COLLECTION},
		{"/chatham/collections/" COLL "/objects/", TAXII_EP_OBJECTS},
		{"/chatham/collections/" COLL "/manifest/", TAXII_EP_MANIFEST},
		{"/chatham/collections/" COLL "/objects/" IND "/", TAXII_EP_OBJECT},
		{"/chatham/collections/" COLL "/objects/" IND "/versions/", TAXII_EP_VERSIONS},
		{"/", TAXII_EP_NONE},
		{"", TAXII_EP_NONE},
		{"taxii2/", TAXII_EP_NONE},
		{"/other/", TAXII_EP_NONE},
		{"/chatham//collections/", TAXII_EP_NONE},
		{"/chatham/collections/not-a-uuid/objects/", TAXII_EP_NONE},
		{"/chatham/collections/" COLL "/objects/" IND "/versions/x/", TAXII_EP_NONE},
		{"/chatham/collections/" COLL "/objects/indicator-0a1b/", TAXII_EP_NONE},
		{"/chatham/collections/" COLL "/status/", TAXII_EP_NONE},
	};
	struct taxii_route r;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		taxii_route_parse(cases[i].path, &r);
		if (r.endpoint != cases[i].ep)
			fail_msg("%s: endpoint %d, want %d", cases[i].path, r.endpoint,
				 cases[i].ep);
	}
	taxii_route_parse("/chatham/collections/" COLL "/objects/" IND "/", &r);
	assert_int_equal(r.coll[0], 0x3f);
	assert_int_equal(r.coll[15], 0x10);
	assert_int_equal(r.obj.type, TAXII_TYPE_INDICATOR);
	assert_int_equal(r.obj.uuid[0], 0x0a);
	taxii_route_parse("/chatham/collections/" COLL
			  "/objects/x-custom--0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9/",
			  &r);
	assert_int_equal(r.endpoint, TAXII_EP_OBJECT);
	assert_int_equal(r.obj.type, TAXII_TYPE_OTHER);
}

static void test_times(void **state)
{
	char buf[TAXII_TIME_LEN];
	uint64_t us;

	(void)state;
	assert_int_equal(taxii_time_parse("2023-11-14T22:13:20Z", &us), 0);
	assert_int_equal(us, 1700000000000000ull);
	assert_string_equal(taxii_time_format(us, buf), "2023-11-14T22:13:20.000000Z");
	assert_int_equal(taxii_time_parse("2023-11-14T22:13:20.123456789Z", &us), 0);
	assert_int_equal(us, 1700000000123456ull);
	assert_int_equal(taxii_time_parse("2023-11-14T22:13:20.1Z", &us), 0);
	assert_int_equal(us, 1700000000100000ull);
	assert_int_equal(taxii_time_parse("2024-02-29T00:00:00Z", &us), 0);
	assert_string_equal(taxii_time_format(us, buf), "2024-02-29T00:00:00.000000Z");
	assert_int_equal(taxii_time_parse("1970-01-01T00:00:00Z", &us), 0);
	assert_int_equal(us, 0);
	static const char *const bad[] = {
		"",
		"2023-11-14",
		"2023-11-14T22:13:20",
		"2023-11-14T22:13:20+00:00",
		"2023-02-29T00:00:00Z",
		"2023-13-01T00:00:00Z",
		"2023-11-31T00:00:00Z",
		"2023-11-14T24:00:00Z",
		"2023-11-14T22:13:20.Z",
		"2023-11-14T22:13:20.1234567890Z",
		"2023-11-14T22:13:20ZZ",
		"1969-12-31T23:59:59Z",
		"2023-11-14 22:13:20Z",
		"yesterday",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (taxii_time_parse(bad[i], &us) == 0)
			fail_msg("accepted %s", bad[i]);
}

static int parse(struct taxii_query *q, const char *qs, const char **why)
{
	taxii_query_init(q);
	*why = NULL;
	return taxii_query_parse_string(q, qs, strlen(qs), why);
}

static void test_query(void **state)
{
	struct taxii_query q;
	const char *why;

	(void)state;
	assert_int_equal(parse(&q, "", &why), 0);
	assert_int_equal(q.version_flags, TAXII_VER_LAST);
	assert_true(q.spec21);
	assert_int_equal(q.limit, 0);

	assert_int_equal(
		parse(&q,
		      "added_after=2023-11-14T22:13:20.5Z&limit=10&next=7&match%5Bid%5D=" IND
		      ",identity--0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9&match[type]="
		      "indicator,malware&match[version]=first,2024-01-01T00:00:00Z&"
		      "match[spec_version]=2.0&unknown=ignored",
		      &why),
		0);
	assert_true(q.has_added_after);
	assert_int_equal(q.added_after_us, 1700000000500000ull);
	assert_int_equal(q.limit, 10);
	assert_true(q.has_next);
	assert_int_equal(q.next, 7);
	assert_int_equal(q.n_ids, 2);
	assert_int_equal(q.ids[1].type, TAXII_TYPE_IDENTITY);
	assert_int_equal(q.types, 1u << TAXII_TYPE_INDICATOR | 1u << TAXII_TYPE_OTHER);
	assert_int_equal(q.version_flags, TAXII_VER_FIRST);
	assert_int_equal(q.n_versions, 1);
	assert_false(q.spec21); /* only 2.0 asked for: nothing of ours */

	static const char *const bad[] = {
		"added_after=",
		"added_after",
		"added_after=2023-11-14T22:13:20Z&added_after=2023-11-14T22:13:20Z",
		"limit=0",
		"limit=-5",
		"limit=1x",
		"limit=2147483649",
		"limit=1&limit=1",
		"next=",
		"next=a",
		"next=99999999999999999999",
		"match[id]=",
		"match[id]=indicator--x",
		"match[id]=" IND ",",
		"match[type]=",
		"match[type]=Indicator",
		"match[type]=a,,b",
		"match[version]=latest",
		"match[version]=",
		"match[spec_version]=2.2",
		"match[created]=x",
		"match%5Bfoo%5D=1",
		"limit=%",
		"limit=%4",
		"limit=%zz",
		"limit=1%00",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(&q, bad[i], &why) == 0)
			fail_msg("accepted %s", bad[i]);
		if (!why || !*why)
			fail_msg("%s: no reason", bad[i]);
	}
	/* Limits on list sizes. */
	char big[40 * 60];
	size_t n = (size_t)snprintf(big, sizeof(big), "match[id]=");
	for (int i = 0; i < TAXII_QUERY_MAX_IDS + 1; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%s%s", i ? "," : "", IND);
	assert_int_not_equal(parse(&q, big, &why), 0);
	assert_non_null(strstr(why, "too many"));
}

#define CONF                                     \
	"[server]\n"                             \
	"listen = 127.0.0.1\n"                   \
	"export_dir = /var/lib/chatham/export\n" \
	"tls_cert = tls.crt\n"                   \
	"tls_key = tls.key\n"                    \
	"collections = CLEAR GREEN AMBER RED\n"  \
	"[consumer siem]\n"                      \
	"secret_hash = %s\n"                     \
	"tlp_ceiling = GREEN\n"                  \
	"collections = CLEAR GREEN AMBER\n"      \
	"[consumer tip]\n"                       \
	"secret_hash = %s\n"                     \
	"tlp_ceiling = AMBER+STRICT\n"           \
	"collections = GREEN AMBER+STRICT\n"

static void test_config(void **state)
{
	char text[1024], err[300], h1[65], h2[65];
	uint8_t h[32];
	struct taxii_config *c;
	const struct taxii_consumer *a, *b;

	(void)state;
	taxii_secret_hash("one", 3, h);
	proto_hex_encode(h1, h, 32);
	taxii_secret_hash("two", 3, h);
	proto_hex_encode(h2, h, 32);
	snprintf(text, sizeof(text), CONF, h1, h2);
	assert_int_equal(taxii_config_parse(text, &c, err, sizeof(err)), 0);
	assert_int_equal(c->n_consumers, 2);
	assert_int_equal(c->port, 9443);
	assert_int_equal(c->max_page, 1000);

	a = taxii_auth_check(c, "siem", "one");
	b = taxii_auth_check(c, NULL, "two");
	assert_non_null(a);
	assert_string_equal(a->name, "siem");
	assert_non_null(b);
	assert_string_equal(b->name, "tip");
	assert_null(taxii_auth_check(c, "tip", "one"));	  /* another's secret */
	assert_null(taxii_auth_check(c, "siem", "one ")); /* not the secret */
	assert_null(taxii_auth_check(c, "nobody", "one"));
	assert_null(taxii_auth_check(c, NULL, ""));

	/* Served, listed for it, and within its ceiling. */
	assert_true(taxii_consumer_may_read(c, a, PROTO_TLP_CLEAR));
	assert_true(taxii_consumer_may_read(c, a, PROTO_TLP_GREEN));
	assert_false(taxii_consumer_may_read(c, a, PROTO_TLP_AMBER));	     /* above its ceiling */
	assert_false(taxii_consumer_may_read(c, b, PROTO_TLP_AMBER_STRICT)); /* not served */
	assert_false(taxii_consumer_may_read(c, b, PROTO_TLP_CLEAR));	     /* not listed */
	assert_true(taxii_consumer_may_read(c, b, PROTO_TLP_GREEN));
	assert_false(taxii_consumer_may_read(c, b, PROTO_TLP_RED));
	taxii_config_free(c);

	static const char *const bad[] = {
		"[server]\nlisten = 127.0.0.1\n",
		"[server]\nlisten=a\nexport_dir=b\ntls_cert=c\ntls_key=d\n",
		"[server]\nlisten=a\nexport_dir=b\ntls_cert=c\ntls_key=d\n[consumer x]\n"
		"secret_hash=00\ntlp_ceiling=GREEN\ncollections=GREEN\n",
		"[server]\nlisten=a\nexport_dir=b\ntls_cert=c\ntls_key=d\n[consumer x]\n"
		"tlp_ceiling=GREEN\ncollections=GREEN\n",
		"[server]\nlisten=a\nexport_dir=b\ntls_cert=c\ntls_key=d\nport=70000\n",
		"[server]\nlisten=a\nexport_dir=b\ntls_cert=c\ntls_key=d\ncollections=PURPLE\n",
		"[server]\nbogus=1\n",
		"[other]\nx=1\n",
		"no section = 1\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (taxii_config_parse(bad[i], &c, err, sizeof(err)) == 0)
			fail_msg("accepted config %zu", i);
		if (!err[0])
			fail_msg("config %zu: no message", i);
	}
	/* A consumer defined twice is refused. */
	snprintf(text, sizeof(text), CONF, h1, h2);
	strcat(text, "[consumer siem]\nsecret_hash = ");
	strcat(text, h1);
	strcat(text, "\ntlp_ceiling = RED\ncollections = RED\n");
	assert_int_not_equal(taxii_config_parse(text, &c, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "twice"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_config),
	};
	proto_crypto_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
