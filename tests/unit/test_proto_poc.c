/* SPDX-License-Identifier: MIT */
/*
 * Points of contact and constituencies in roster entries: the field rules, a signed roster
 * round trip that keeps them byte for byte, the canonical-encoding refusals of the decoder,
 * and the constituency lookup behind `chatham poc whois` (most specific match, label and bit
 * boundaries respected).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/keys.h"
#include "proto/poc.h"
#include "proto/roster.h"

static char *L_ja[] = {"ja", "en"};
static char *L_bad[] = {"ja", "ja"};

static void test_poc_rules(void **state)
{
	struct proto_poc p = {0};
	const char *why;

	(void)state;
	assert_true(proto_poc_empty(&p));
	assert_int_equal(proto_poc_check(&p, &why), 0);
	p.email = "csirt@alpha.example";
	p.url = "https://csirt.alpha.example/contact";
	p.phone = "+81 3-1234-5678";
	p.hours = "平日 9:00-18:00 JST";
	p.tz = "Asia/Tokyo";
	p.languages = L_ja;
	p.n_languages = 2;
	p.pgp_len = 20;
	assert_int_equal(proto_poc_check(&p, &why), 0);
	assert_false(proto_poc_empty(&p));

	struct {
		const char **field;
		const char *bad;
	} cases[] = {
		{(const char **)&p.email, "csirt.alpha.example"},
		{(const char **)&p.email, "csirt@Alpha.Example"},
		{(const char **)&p.email, "a@b@alpha.example"},
		{(const char **)&p.url, "ftp://alpha.example"},
		{(const char **)&p.phone, "call us"},
		{(const char **)&p.phone, "+-()"},
		{(const char **)&p.tz, "Asia/Tokyo; rm"},
		{(const char **)&p.hours, "9-18\n"},
		{(const char **)&p.hours, ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *keep = *cases[i].field;

		*cases[i].field = cases[i].bad;
		assert_int_not_equal(proto_poc_check(&p, &why), 0);
		assert_non_null(why);
		*cases[i].field = keep;
	}
	p.languages = L_bad;
	assert_int_equal(proto_poc_check(&p, &why), PROTO_E_ROSTER_MEMBER);
	p.languages = L_ja;
	p.pgp_len = 16;
	assert_int_equal(proto_poc_check(&p, &why), PROTO_E_ROSTER_MEMBER);
}

static char *P_ok[] = {"198.51.100.0/24", "2001:db8:10::/48", "203.0.113.7"};
static char *P_hostbits[] = {"198.51.100.1/24"};
static char *P_unsorted[] = {"203.0.113.0/24", "198.51.100.0/24"};
static char *D_ok[] = {"alpha.example", "bank.example.jp"};
static char *D_upper[] = {"Alpha.example"};
static uint32_t A_ok[] = {64500, 64501};
static uint32_t A_bad[] = {64501, 64500};

static struct proto_constituency cons(void)
{
	struct proto_constituency c = {0};

	c.prefixes = P_ok;
	c.n_prefixes = 3;
	c.domains = D_ok;
	c.n_domains = 2;
	c.asns = A_ok;
	c.n_asns = 2;
	return c;
}

static void test_constituency_rules(void **state)
{
	struct proto_constituency c = cons();
	const char *why;

	(void)state;
	/* "203.0.113.7" sorts after "2001:..." as a string: sort first, as the CLI does. */
	char *sorted[3] = {P_ok[0], P_ok[1], P_ok[2]};

	c.prefixes = sorted;
	proto_constituency_sort(&c);
	assert_int_equal(proto_constituency_check(&c, &why), 0);
	c.prefixes = P_hostbits;
	c.n_prefixes = 1;
	assert_int_equal(proto_constituency_check(&c, &why), PROTO_E_ROSTER_MEMBER);
	c.prefixes = P_unsorted;
	c.n_prefixes = 2;
	assert_int_equal(proto_constituency_check(&c, &why), PROTO_E_ROSTER_MEMBER);
	c = cons();
	c.n_prefixes = 0;
	c.domains = D_upper;
	c.n_domains = 1;
	assert_int_equal(proto_constituency_check(&c, &why), PROTO_E_ROSTER_MEMBER);
	c = cons();
	c.n_prefixes = 0;
	c.asns = A_bad;
	assert_int_equal(proto_constituency_check(&c, &why), PROTO_E_ROSTER_MEMBER);
}

static void test_match(void **state)
{
	struct proto_constituency c = cons();
	char *sorted[3] = {P_ok[0], P_ok[1], P_ok[2]};

	(void)state;
	c.prefixes = sorted;
	proto_constituency_sort(&c);
	assert_int_equal(proto_constituency_match(&c, "198.51.100.77"), 25);
	assert_int_equal(proto_constituency_match(&c, "198.51.100.128/25"), 25);
	assert_int_equal(proto_constituency_match(&c, "198.51.0.0/16"), 0); /* wider than ours */
	assert_int_equal(proto_constituency_match(&c, "198.51.101.1"), 0);
	assert_int_equal(proto_constituency_match(&c, "203.0.113.7"), 33);
	assert_int_equal(proto_constituency_match(&c, "2001:db8:10:ff::1"), 49);
	assert_int_equal(proto_constituency_match(&c, "2001:db8:11::1"), 0);
	assert_int_equal(proto_constituency_match(&c, "alpha.example"), 102);
	assert_int_equal(proto_constituency_match(&c, "www.ALPHA.example."), 102);
	assert_int_equal(proto_constituency_match(&c, "evilalpha.example"), 0);
	assert_int_equal(proto_constituency_match(&c, "example"), 0);
	assert_int_equal(proto_constituency_match(&c, "soc@mail.bank.example.jp"), 103);
	assert_int_equal(proto_constituency_match(&c, "https://login.bank.example.jp:8443/x"), 103);
	assert_int_equal(proto_constituency_match(&c, "http://198.51.100.9/panel"), 25);
	assert_int_equal(proto_constituency_match(&c, "http://[2001:db8:10::5]/"), 49);
	assert_int_equal(proto_constituency_match(&c, "AS64501"), 1);
	assert_int_equal(proto_constituency_match(&c, "as64500"), 1);
	assert_int_equal(proto_constituency_match(&c, "AS64502"), 0);
	assert_int_equal(proto_constituency_match(&c, "AS99999999999"), 0);
	assert_int_equal(proto_constituency_match(&c, "not a value"), 0);
	assert_int_equal(proto_constituency_match(&c, ""), 0);
}

/* A one-member, one-steward roster with the directory fields set, signed. */
static struct proto_roster *roster_with_directory(uint8_t steward_sk[64])
{
	struct proto_roster *r = proto_roster_new();
	struct proto_member m = {0};
	struct proto_keys k;
	uint8_t steward_pk[32];
	char *sorted[3] = {P_ok[0], P_ok[1], P_ok[2]};

	assert_non_null(r);
	assert_int_equal(proto_keys_steward_generate(steward_pk, steward_sk), 0);
	memset(r->community, 9, 32);
	r->name = strdup("Directory Test");
	r->epoch = 1;
	r->threshold = 1;
	r->n_stewards = 1;
	r->stewards = malloc(32);
	memcpy(r->stewards[0], steward_pk, 32);
	assert_int_equal(proto_keys_generate(&k), 0);
	memcpy(m.id, k.id_pk, 32);
	memcpy(m.transport_pk, k.tx_pk, 32);
	memcpy(m.ring_pk, k.ring_pk, 32);
	proto_keys_wipe(&k);
	m.name = "CERT Alpha";
	m.poc.email = "csirt@alpha.example";
	m.poc.tz = "Asia/Tokyo";
	m.poc.languages = L_ja;
	m.poc.n_languages = 2;
	m.poc.pgp_len = 32;
	memset(m.poc.pgp, 0xAB, 32);
	m.constituency = cons();
	m.constituency.prefixes = sorted;
	proto_constituency_sort(&m.constituency);
	assert_int_equal(proto_roster_add_member(r, &m), 0);
	assert_int_equal(
		proto_roster_sign_with(r, (const uint8_t(*)[32])r->stewards, 1, 0, steward_sk), 0);
	return r;
}

static void test_roster_round_trip(void **state)
{
	uint8_t ssk[64], *buf, *buf2;
	size_t len, len2;
	struct proto_roster *r = roster_with_directory(ssk), *d = NULL;
	const struct proto_member *m;

	(void)state;
	assert_int_equal(proto_roster_encode(r, &buf, &len), 0);
	assert_int_equal(proto_roster_decode(&d, buf, len), 0);
	m = &d->members[0];
	assert_string_equal(m->poc.email, "csirt@alpha.example");
	assert_string_equal(m->poc.tz, "Asia/Tokyo");
	assert_null(m->poc.url);
	assert_int_equal(m->poc.n_languages, 2);
	assert_int_equal(m->poc.pgp_len, 32);
	assert_int_equal(m->constituency.n_prefixes, 3);
	assert_int_equal(m->constituency.n_asns, 2);
	assert_int_equal(m->constituency.asns[1], 64501);
	assert_string_equal(m->constituency.domains[1], "bank.example.jp");
	assert_int_equal(
		proto_roster_verify(d, d->community, (const uint8_t(*)[32])d->stewards, 1, 1, 0),
		0);
	assert_int_equal(proto_roster_encode(d, &buf2, &len2), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(buf2, buf, len);
	/* The stewards sign the directory: a changed e-mail no longer verifies. */
	free(d->members[0].poc.email);
	d->members[0].poc.email = strdup("csirt@evil.example");
	assert_int_not_equal(
		proto_roster_verify(d, d->community, (const uint8_t(*)[32])d->stewards, 1, 1, 0),
		0);
	free(buf);
	free(buf2);
	proto_roster_free(d);
	proto_roster_free(r);
}

static void test_decoder_refusals(void **state)
{
	uint8_t ssk[64], *buf, *bad;
	size_t len, blen;
	struct proto_roster *r = roster_with_directory(ssk), *d = NULL;
	struct proto_member *m = &r->members[0];
	char *keep;

	(void)state;
	/* The encoder refuses what the decoder would: host bits, an empty string. */
	keep = m->constituency.prefixes[0];
	m->constituency.prefixes[0] = "198.51.100.1/24";
	assert_int_equal(proto_roster_encode(r, &bad, &blen), PROTO_E_ROSTER_MEMBER);
	m->constituency.prefixes[0] = keep;
	keep = m->poc.email;
	m->poc.email = "";
	assert_int_not_equal(proto_roster_encode(r, &bad, &blen), 0);
	m->poc.email = keep;

	/* The decoder applies the same rules to bytes: an upper-case e-mail domain. */
	assert_int_equal(proto_roster_encode(r, &buf, &len), 0);
	uint8_t *at = memmem(buf, len, "@alpha.example", 14);

	assert_non_null(at);
	at[1] = 'A';
	assert_int_equal(proto_roster_decode(&d, buf, len), PROTO_E_ROSTER_MEMBER);
	assert_null(d);
	at[1] = 'a';
	/* A time zone with a space. */
	at = memmem(buf, len, "Asia/Tokyo", 10);
	assert_non_null(at);
	at[4] = ' ';
	assert_int_equal(proto_roster_decode(&d, buf, len), PROTO_E_ROSTER_MEMBER);
	at[4] = '/';
	assert_int_equal(proto_roster_decode(&d, buf, len), 0);
	proto_roster_free(d);
	free(buf);
	proto_roster_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_poc_rules),
		cmocka_unit_test(test_constituency_rules),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_roster_round_trip),
		cmocka_unit_test(test_decoder_refusals),
	};

	if (proto_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
