/* SPDX-License-Identifier: MIT */
/*
 * policy/warnlist: the shipped lists in deploy/warninglists load, and they and the minimum
 * prefix lengths catch the blocklist poison of issue 13 (0.0.0.0/0, ::/0, RFC 1918, public
 * resolvers, top sites) while ordinary indicators and documentation values pass.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/warnlist.h"
#include "proto/error.h"
#include "testutil.h"

static struct policy_warnlist *load_shipped(void)
{
	const char *src = getenv("CHATHAM_SOURCE_DIR");
	struct policy_warnlist *wl =
		policy_warnlist_new(POLICY_WARNLIST_MIN_PREFIX_V4, POLICY_WARNLIST_MIN_PREFIX_V6);
	char dir[4096], path[4400 + 256], name[256];
	struct dirent *e;
	size_t lists = 0;
	DIR *d;

	assert_non_null(src);
	assert_non_null(wl);
	snprintf(dir, sizeof(dir), "%s/deploy/warninglists", src);
	d = opendir(dir);
	if (!d)
		fail_msg("the shipped warninglists are missing: %s", dir);
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name), len;
		unsigned line = 0;
		const char *why = NULL;
		char *text;
		int r;

		if (n < 5 || strcmp(e->d_name + n - 4, ".txt") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		snprintf(name, sizeof(name), "%.*s", (int)(n - 4), e->d_name);
		text = (char *)tu_read_file(path, &len);
		assert_non_null(text);
		r = policy_warnlist_add(wl, name, text, len, &line, &why);
		if (r <= 0)
			fail_msg("%s: line %u: %s (%d)", path, line, why ? why : "?", r);
		free(text);
		lists++;
	}
	closedir(d);
	assert_true(lists >= 6);
	return wl;
}

static const char *match(const struct policy_warnlist *wl, int type, const char *value)
{
	struct proto_indicator ind;

	if (proto_indicator_parse(&ind, type, value, strlen(value), NULL))
		fail_msg("not an indicator: %s", value);
	return policy_warnlist_match(wl, &ind);
}

static void test_shipped(void **state)
{
	static const struct {
		int type;
		const char *value, *list; /* list NULL: must not match */
	} t[] = {
		{PROTO_IND_IPV4, "0.0.0.0/0", POLICY_WARNLIST_PREFIX},
		{PROTO_IND_IPV4, "8.0.0.0/7", POLICY_WARNLIST_PREFIX},
		{PROTO_IND_IPV4, "45.0.0.0/15", POLICY_WARNLIST_PREFIX},
		{PROTO_IND_IPV6, "::/0", POLICY_WARNLIST_PREFIX},
		{PROTO_IND_IPV6, "2a00::/12", POLICY_WARNLIST_PREFIX},
		{PROTO_IND_IPV4, "10.1.2.3", "special-ipv4"},
		{PROTO_IND_IPV4, "192.168.0.0/16", "special-ipv4"},
		{PROTO_IND_IPV4, "172.16.0.0/16", "special-ipv4"},
		{PROTO_IND_IPV4, "127.0.0.1", "special-ipv4"},
		{PROTO_IND_IPV4, "255.255.255.255", "special-ipv4"},
		{PROTO_IND_IPV4, "239.1.2.3", "multicast"},
		{PROTO_IND_IPV6, "ff02::1", "multicast"},
		{PROTO_IND_IPV6, "::1", "special-ipv6"},
		{PROTO_IND_IPV6, "fe80::1", "special-ipv6"},
		{PROTO_IND_IPV6, "::ffff:10.0.0.1", "special-ipv6"},
		{PROTO_IND_IPV4, "8.8.8.8", "public-resolvers"},
		{PROTO_IND_IPV4, "8.8.0.0/16", "public-resolvers"}, /* contains 8.8.8.8 */
		{PROTO_IND_IPV6, "2606:4700:4700::1111", "public-resolvers"},
		{PROTO_IND_DOMAIN, "dns.google", "public-resolvers"},
		{PROTO_IND_DOMAIN, "a.root-servers.net", "public-resolvers"},
		{PROTO_IND_DOMAIN, "google.com", "top-domains"},
		{PROTO_IND_DOMAIN, "www.google.com", "top-domains"},
		{PROTO_IND_URL, "https://google.com/", "top-domains"},
		{PROTO_IND_URL, "http://WWW.Google.com.:80", "top-domains"},
		{PROTO_IND_URL, "http://8.8.8.8/", "public-resolvers"},
		{PROTO_IND_URL, "http://[::1]:8080/", "special-ipv6"},
		{PROTO_IND_DOMAIN, "printer.local", "special-domains"},
		{PROTO_IND_DOMAIN, "db.corp.internal", "special-domains"},
		{PROTO_IND_SHA256,
		 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		 "empty-file-hashes"},
		{PROTO_IND_MD5, "d41d8cd98f00b204e9800998ecf8427e", "empty-file-hashes"},
		/* ordinary indicators and documentation values pass */
		{PROTO_IND_IPV4, "45.33.32.156", NULL},
		{PROTO_IND_IPV4, "45.33.0.0/16", NULL},
		{PROTO_IND_IPV4, "198.51.100.7", NULL},
		{PROTO_IND_IPV4, "203.0.113.0/24", NULL},
		{PROTO_IND_IPV4, "9.9.9.10", NULL},
		{PROTO_IND_IPV6, "2001:db8::/32", NULL},
		{PROTO_IND_IPV6, "2001:0:4136:e378:8000:63bf:3fff:fdd2", NULL}, /* Teredo */
		{PROTO_IND_DOMAIN, "mail.google.com", NULL},
		{PROTO_IND_DOMAIN, "google.com.evil.example", NULL},
		{PROTO_IND_DOMAIN, "evil.example", NULL},
		{PROTO_IND_DOMAIN, "evil.notlocal", NULL},
		{PROTO_IND_URL, "https://google.com/evil", NULL},
		{PROTO_IND_URL, "https://google.com/?q=x", NULL},
		{PROTO_IND_URL, "https://sites.google.com/", NULL},
		{PROTO_IND_EMAIL, "phish@google.com", NULL},
		{PROTO_IND_SHA1, "0000000000000000000000000000000000000001", NULL},
	};
	struct policy_warnlist *wl = load_shipped();

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *got = match(wl, t[i].type, t[i].value);

		if ((got == NULL) != (t[i].list == NULL) || (got && strcmp(got, t[i].list) != 0))
			fail_msg("%s: matched %s, want %s", t[i].value, got ? got : "nothing",
				 t[i].list ? t[i].list : "nothing");
	}
	assert_true(policy_warnlist_size(wl) > 100);
	policy_warnlist_free(wl);
}

static void test_prefix_bounds(void **state)
{
	struct policy_warnlist *wl = policy_warnlist_new(8, 0);

	(void)state;
	assert_non_null(wl);
	assert_null(match(wl, PROTO_IND_IPV4, "45.0.0.0/8"));
	assert_string_equal(match(wl, PROTO_IND_IPV4, "44.0.0.0/7"), POLICY_WARNLIST_PREFIX);
	assert_null(match(wl, PROTO_IND_IPV6, "::/0")); /* 0 disables the family's check */
	policy_warnlist_free(wl);
	assert_null(policy_warnlist_new(33, 32));
	assert_null(policy_warnlist_new(16, 129));
	assert_null(policy_warnlist_match(NULL, NULL));
}

static void test_add_errors(void **state)
{
	static const char good[] = "# comment\n\n  10.0.0.0/8  # private\n.corp\nevil.example\n";
	static const char bad[] = "1.2.3.4\n\nexample.com\n1.2.3.999\n";
	struct policy_warnlist *wl = policy_warnlist_new(16, 32);
	const char *why = NULL;
	unsigned line = 0;

	(void)state;
	assert_int_equal(policy_warnlist_add(wl, "mine", good, strlen(good), &line, &why), 3);
	assert_string_equal(match(wl, PROTO_IND_DOMAIN, "a.b.corp"), "mine");
	assert_null(match(wl, PROTO_IND_DOMAIN, "acorp.example"));
	assert_int_equal(policy_warnlist_add(wl, "mine", good, strlen(good), &line, &why), -EEXIST);
	assert_int_equal(policy_warnlist_add(wl, "Bad Name", good, strlen(good), &line, &why),
			 -EINVAL);
	/* A bad line names itself, and nothing of its list is kept. */
	assert_int_equal(policy_warnlist_add(wl, "broken", bad, strlen(bad), &line, &why),
			 PROTO_E_IND_VALUE);
	assert_int_equal(line, 4);
	assert_non_null(why);
	assert_null(match(wl, PROTO_IND_IPV4, "1.2.3.4"));
	assert_int_equal(policy_warnlist_size(wl), 3);
	assert_int_equal(policy_warnlist_add(wl, "dots", ".a..b\n", 6, &line, &why),
			 PROTO_E_IND_VALUE);
	assert_int_equal(line, 1);
	policy_warnlist_free(wl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped),
		cmocka_unit_test(test_prefix_bounds),
		cmocka_unit_test(test_add_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
