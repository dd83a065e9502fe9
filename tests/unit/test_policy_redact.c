/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_policy_redact.c — redaction of free text against roster members.
 * Every expected output is written out by hand.
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
#include "policy/skeleton.h"
#include "proto/mp.h"
#include "proto/roster.h"

struct tmember {
	const char *name;
	const char *aliases[4];
	const char *domains[4];
	const char *addrs[4];
	uint8_t id_byte, tx_byte, ring_byte;
};

static size_t count(const char *const *v)
{
	size_t n = 0;

	while (n < 4 && v[n])
		n++;
	return n;
}

static struct proto_roster *roster_build(const struct tmember *tm, size_t n, uint64_t epoch)
{
	struct proto_roster *r = proto_roster_new();

	assert_non_null(r);
	r->epoch = epoch;
	for (size_t i = 0; i < n; i++) {
		struct proto_member m;

		memset(&m, 0, sizeof(m));
		memset(m.id, tm[i].id_byte, 32);
		memset(m.transport_pk, tm[i].tx_byte, 32);
		memset(m.ring_pk, tm[i].ring_byte, 32);
		m.name = (char *)tm[i].name;
		m.n_aliases = count(tm[i].aliases);
		m.aliases = (char **)tm[i].aliases;
		m.n_domains = count(tm[i].domains);
		m.domains = (char **)tm[i].domains;
		m.n_addrs = count(tm[i].addrs);
		m.addrs = (char **)tm[i].addrs;
		assert_int_equal(proto_roster_add_member(r, &m), 0);
	}
	return r;
}

static const struct tmember members[] = {
	{"Acme CERT",
	 {"ACME", "Acme Computer Emergency Response Team", "\xe3\x82\xa2\xe3\x82\xaf\xe3\x83\xa1"},
	 {"cert.acme.example", "\xe3\x82\xa2\xe3\x82\xaf\xe3\x83\xa1.example"},
	 {"192.0.2.10:4000", "[2001:db8::7]:4000", "node.acmenet.example:4000"},
	 0xAB,
	 0xCD,
	 0xEF},
	{"Soci\xc3\xa9t\xc3\xa9 G\xc3\xa9n\xc3\xa9rale CSIRT",
	 {"SG-CSIRT"},
	 {"sg.example"},
	 {0},
	 0x21,
	 0x22,
	 0x23},
	{"\xce\x95\xce\x98\xce\x9d\xce\x99\xce\x9a\xce\x9f CERT",
	 {"\xc3\x98stfold Sikkerhet", "\xc5\x81\xc3\xb3\x64\xc5\xba SOC"},
	 {"xn--bcher-kva.example"},
	 {0},
	 0x31,
	 0x32,
	 0x33},
	{"***", {0}, {"*.wild.example."}, {0}, 0x41, 0x42, 0x43},
};

static struct policy_redactor *fixture(void)
{
	struct proto_roster *r = roster_build(members, 4, 1);
	const struct proto_roster *rs[] = {r};
	struct policy_redactor *rd = policy_redact_new(rs, 1);

	proto_roster_free(r); /* the redactor keeps copies */
	assert_non_null(rd);
	return rd;
}

static const struct {
	const char *in;
	const char *out;
} cases[] = {
	/* names and aliases, whole words, any case, flexible separators */
	{"Reported by Acme CERT yesterday", "Reported by [member] yesterday"},
	{"acme-cert saw it", "[member] saw it"},
	{"ACME", "[member]"},
	{"acme, CERT", "[member]"},
	{"Acme CERTs were here", "[member] were here"}, /* plural */
	{"acmez is fine", "acmez is fine"},
	{"xacme", "xacme"},
	{"the acme-net", "the [member]-net"},
	{"\xc3\xa9"
	 "acme",
	 "\xc3\xa9"
	 "acme"},
	{"emergency response team", "emergency response team"},
	{"ACME COMPUTER   emergency/response_team!", "[member]!"},
	/* non-ASCII names, folded */
	{"la SOCI\xc3\x89T\xc3\x89 G\xc3\x89N\xc3\x89RALE csirt a dit", "la [member] a dit"},
	{"\xcf\x84\xce\xbf \xce\xb5\xce\xb8\xce\xbd\xce\xb9\xce\xba\xce\xbf cert",
	 "\xcf\x84\xce\xbf [member]"},
	{"\xc3\x98STFOLD SIKKERHET", "[member]"},
	{"\xc5\x81\xc3\x93\x44\xc5\xb9 soc", "[member]"},
	/* typographic separators and invisible characters */
	{"Acme\xe2\x80\x99s analysts", "[member]\xe2\x80\x99s analysts"},
	{"Acme\xc2\xa0"
	 "CERT",
	 "[member]"},
	{"\xe2\x80\x9c"
	 "Acme\xe2\x80\x9d",
	 "\xe2\x80\x9c[member]\xe2\x80\x9d"},
	{"Ac\xc2\xadme", "[member]"},
	{"A\xe2\x80\x8b"
	 "cme!",
	 "[member]!"},
	{"\xef\xbc\xa1\xef\xbc\xa3\xef\xbc\xad\xef\xbc\xa5", "[member]"},
	/* domains, host names, email addresses */
	{"contact soc@cert.acme.example now", "contact [member] now"},
	{"see https://mail.cert.acme.example/x?y=1", "see https://[member]/x?y=1"},
	{"host CERT.ACME.EXAMPLE.", "host [member]."},
	{"cert.acme.example.org is other", "[member] is other"},
	{"SG-CSIRT and sg.example", "[member] and [member]"},
	{"notsg.example stays", "notsg.example stays"},
	{"sg.examples stays", "sg.examples stays"},
	{"xn--bcher-kva.example", "[member]"},
	{"mail: bob.smith+x@XN--BCHER-KVA.EXAMPLE.", "mail: [member]."},
	{"x.wild.example", "[member]"},
	/* some dots spelled "dot" and others not: every combination is the host */
	{"mail cert dot acme.example now", "mail [member] now"},
	{"mail cert.acme dot example now", "mail [member] now"},
	{"mail cert[.]acme dot example now", "mail [member] now"},
	{"mail cert dot acme dot example now", "mail [member] now"},
	{"from 192.0.2 dot 10 port", "from [member] port"},
	{"node dot acmenet.example", "[member]"},
	{"wild.example-2 too", "[member] too"},
	/* address hosts */
	{"from 192.0.2.10 port", "from [member] port"},
	{"192.0.2.100 is not", "192.0.2.100 is not"},
	{"v6 2001:DB8::7 seen", "v6 [member] seen"},
	{"node.acmenet.example:4000", "[member]:4000"},
	/* key hex, either case */
	{"id ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB.", "id [member]."},
	{"tx cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd", "tx [member]"},
	/* 16 digits or more: glued to other text on either side (64 bits: never by chance) */
	{"ring efefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefef0",
	 "ring [member]0"},
	{"idABABABABABABABAB, tx cdcdcdcdcdcdcdcdxyz", "id[member], tx [member]xyz"},
	{"\xe9\x8d\xb5"
	 "efefefefefefefef\xe3\x82\x88",
	 "\xe9\x8d\xb5[member]\xe3\x82\x88"},
	/* "0x" in any spelling, also glued to a word, is a prefix */
	{"id0xabababab, \xef\xbc\x90\xef\xbd\x98"
	 "abababab",
	 "id0x[member], \xef\xbc\x90\xef\xbd\x98[member]"},
	/* 8 to 15 digits: separators on both sides */
	{"xyzCDCDCDCD and cdcdcdcd0 stay", "xyzCDCDCDCD and cdcdcdcd0 stay"},
	{"tx cdcdcdcd and cdcdcdcdcdcdcdcdcd", "tx [member] and [member]"},
	/* a key as a byte array */
	{"{0xab, 0xab, 0xAB, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab}", "{[member]}"},
	{"k = \"\\xcd\\xcd\\xcd\\xcd\\xcd\\xcd\\xcd\\xcd\";", "k = \"\\[member]\";"},
	{"{0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab}",
	 "{0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab}"},
	/*
	 * Japanese: no spaces between words. Each Han or Hiragana character is a word, a
	 * Katakana run one word (UAX #29), so a name ends at the particle glued to it; a run
	 * that goes on ("アクメベット") is another word.
	 */
	{"\xe3\x82\xa2\xe3\x82\xaf\xe3\x83\xa1\xe3\x81\x8b\xe3\x82\x89\xe9\x80\xa3\xe7\xb5\xa1",
	 "[member]\xe3\x81\x8b\xe3\x82\x89\xe9\x80\xa3\xe7\xb5\xa1"},
	{"\xef\xbd\xb1\xef\xbd\xb8\xef\xbe\x92\xe3\x81\x8c", "[member]\xe3\x81\x8c"},
	/* the katakana name written in hiragana (the parallel block), or partly */
	{"\xe3\x81\x82\xe3\x81\x8f\xe3\x82\x81\xe3\x81\x8b\xe3\x82\x89\xe9\x80\xa3\xe7\xb5\xa1",
	 "[member]\xe3\x81\x8b\xe3\x82\x89\xe9\x80\xa3\xe7\xb5\xa1"},
	{"\xe3\x82\xa2\xe3\x82\xaf\xe3\x82\x81\xe3\x81\x8c", "[member]\xe3\x81\x8c"},
	{"Acme CERT\xe3\x81\x8c\xe5\xa0\xb1\xe5\x91\x8a",
	 "[member]\xe3\x81\x8c\xe5\xa0\xb1\xe5\x91\x8a"},
	{"\xe3\x82\xa2\xe3\x82\xaf\xe3\x83\xa1\xe3\x83\x99\xe3\x83\x83\xe3\x83\x88",
	 "\xe3\x82\xa2\xe3\x82\xaf\xe3\x83\xa1\xe3\x83\x99\xe3\x83\x83\xe3\x83\x88"},
	{"\xef\xbd\xb1\xef\xbd\xb8\xef\xbe\x92\xef\xbe\x8d\xef\xbe\x9e\xef\xbd\xaf\xef\xbe\x84\xe9\xa0\x86",
	 "\xef\xbd\xb1\xef\xbd\xb8\xef\xbe\x92\xef\xbe\x8d\xef\xbe\x9e\xef\xbd\xaf\xef\xbe\x84\xe9\xa0\x86"},
	/* a host glued to Japanese: the sentence after it stays */
	{"cert.acme.example\xe3\x81\x8b\xe3\x82\x89\xe9\x80\xa3\xe7\xb5\xa1",
	 "[member]\xe3\x81\x8b\xe3\x82\x89\xe9\x80\xa3\xe7\xb5\xa1"},
	{"\xe5\xae\x9b\xe5\x85\x88soc@cert.acme.example\xe3\x81\xbe\xe3\x81\xa7",
	 "\xe5\xae\x9b\xe5\x85\x88[member]\xe3\x81\xbe\xe3\x81\xa7"},
	/* an internationalised host in either spelling */
	{"see xn--cck0a4k.example", "see [member]"},
	{"see \xe3\x82\xa2\xe3\x82\xaf\xe3\x83\xa1.example", "see [member]"},
	{"b\xc3\xbc"
	 "cher.example and B\xc3\x9c"
	 "CHER.EXAMPLE",
	 "[member] and [member]"},
	/* letters Unicode names as Latin ones: regional indicators, small capitals, tags */
	{"\xf0\x9f\x87\xa6\xf0\x9f\x87\xa8\xf0\x9f\x87\xb2\xf0\x9f\x87\xaa CERT", "[member]"},
	{"\xe1\xb4\x80\xe1\xb4\x84\xe1\xb4\x8d\xe1\xb4\x87 CERT", "[member]"},
	{"x \xf3\xa0\x81\x81\xf3\xa0\x81\x83\xf3\xa0\x81\x8d\xf3\xa0\x81\x85 y", "x [member] y"},
	/* escapes: a JSON surrogate pair (also escaped again), \U, \u{}, an entity twice */
	{"\\ud835\\udc00cme CERT and \\ud835\\\\udc00cme CERT", "[member] and [member]"},
	{"\\U00000041cme CERT, \\u{41}cme CERT", "[member], [member]"},
	{"A&amp;#67;ME CERT", "[member]"},
	/* a name without letters or digits is a plain substring */
	{"a *** b", "a [member] b"},
	{"a****b c", "[member] c"},
	/* nothing to do */
	{"", ""},
	{"phishing kit, wave 3", "phishing kit, wave 3"},
};

static void test_cases(void **state)
{
	struct policy_redactor *rd = fixture();
	char out[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = 12345;
		int rc = policy_redact_text(rd, cases[i].in, strlen(cases[i].in), out, sizeof(out),
					    &len, NULL);

		assert_int_equal(rc, 0);
		if (strcmp(out, cases[i].out) != 0)
			fail_msg("case %zu: \"%s\" -> \"%s\", want \"%s\"", i, cases[i].in, out,
				 cases[i].out);
		assert_int_equal(len, strlen(cases[i].out));
		assert_true(proto_mp_utf8_valid(out, len));
	}
	policy_redact_free(rd);
}

static void test_counts(void **state)
{
	struct policy_redactor *rd = fixture();
	const char *in = "Acme CERT and ACME, then sg.example";
	char out[256];
	size_t len, n;

	(void)state;
	assert_int_equal(policy_redact_text(rd, in, strlen(in), out, sizeof(out), &len, &n), 0);
	assert_string_equal(out, "[member] and [member], then [member]");
	assert_int_equal(n, 3);
	assert_int_equal(policy_redact_text(rd, "nothing", 7, out, sizeof(out), &len, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(len, 7);
	policy_redact_free(rd);
}

/* Output that does not fit is never returned truncated. */
static void test_nospace(void **state)
{
	struct policy_redactor *rd = fixture();
	const char *in = "by acme";
	char out[64];
	size_t len = 99;

	(void)state;
	/* "by [member]" is 11 bytes: 12 with the NUL. */
	assert_int_equal(policy_redact_text(rd, in, strlen(in), out, 12, &len, NULL), 0);
	assert_string_equal(out, "by [member]");
	assert_int_equal(len, 11);
	memset(out, 'Z', sizeof(out));
	assert_int_equal(policy_redact_text(rd, in, strlen(in), out, 11, &len, NULL), -ENOSPC);
	assert_string_equal(out, "");
	assert_int_equal(len, 0);
	assert_int_equal(policy_redact_text(rd, in, strlen(in), out, 3, &len, NULL), -ENOSPC);
	assert_string_equal(out, "");
	assert_int_equal(policy_redact_text(rd, in, strlen(in), out, 0, &len, NULL), -ENOSPC);
	assert_int_equal(policy_redact_text(rd, "", 0, out, 1, &len, NULL), 0);
	assert_string_equal(out, "");
	policy_redact_free(rd);
}

/* The documented bound holds for the worst expansion: one-byte matches. */
static void test_bound(void **state)
{
	static const struct tmember one[] = {{"x", {"-"}, {0}, {0}, 1, 2, 3}};
	struct proto_roster *r = roster_build(one, 1, 1);
	const struct proto_roster *rs[] = {r};
	struct policy_redactor *rd = policy_redact_new(rs, 1);
	const char *in = "x-x-x-x-x";
	size_t in_len = strlen(in), len;
	char *out = malloc(POLICY_REDACT_OUT_MAX(in_len) + 1);

	(void)state;
	assert_non_null(rd);
	assert_non_null(out);
	assert_int_equal(policy_redact_text(rd, in, in_len, out, POLICY_REDACT_OUT_MAX(in_len) + 1,
					    &len, NULL),
			 0);
	assert_string_equal(out, "[member]");
	assert_int_equal(
		policy_redact_text(rd, "x", 1, out, POLICY_REDACT_OUT_MAX(1) + 1, &len, NULL), 0);
	assert_string_equal(out, "[member]");
	assert_int_equal(len, POLICY_REDACT_OUT_MAX(1));
	free(out);
	policy_redact_free(rd);
	proto_roster_free(r);
}

/* Every roster given counts: a member who left in a later epoch is still never named. */
static void test_several_rosters(void **state)
{
	static const struct tmember old_m[] = {
		{"Departed CSIRT", {0}, {"gone.example"}, {0}, 5, 6, 7}};
	static const struct tmember new_m[] = {{"Newcomer CERT", {0}, {0}, {0}, 8, 9, 10}};
	struct proto_roster *r1 = roster_build(old_m, 1, 1), *r2 = roster_build(new_m, 1, 2);
	const struct proto_roster *rs[] = {r1, NULL, r2};
	struct policy_redactor *rd = policy_redact_new(rs, 3);
	const char *in = "departed csirt and NEWCOMER cert at www.gone.example";
	char out[256];

	(void)state;
	assert_non_null(rd);
	assert_int_equal(policy_redact_text(rd, in, strlen(in), out, sizeof(out), NULL, NULL), 0);
	assert_string_equal(out, "[member] and [member] at [member]");
	policy_redact_free(rd);

	/* The same member in two epochs yields each pattern once. */
	rs[1] = r1;
	rd = policy_redact_new(rs, 2);
	assert_non_null(rd);
	/*
	 * name, domain as written and with "dot", and per key its hex, its two byte arrays
	 * and base64 (the URL-safe base64 of these keys has no '+' or '/', so it is the same
	 * pattern)
	 */
	assert_int_equal(policy_redact_patterns(rd), 15);
	policy_redact_free(rd);
	proto_roster_free(r1);
	proto_roster_free(r2);
}

static void test_empty(void **state)
{
	struct policy_redactor *rd = policy_redact_new(NULL, 0);
	const char *in = "Acme CERT";
	char out[32];
	size_t len;

	(void)state;
	assert_non_null(rd);
	assert_int_equal(policy_redact_patterns(rd), 0);
	assert_int_equal(policy_redact_text(rd, in, strlen(in), out, sizeof(out), &len, NULL), 0);
	assert_string_equal(out, in);
	policy_redact_free(rd);
	policy_redact_free(NULL);
	assert_int_equal(policy_redact_patterns(NULL), 0);
}

/* Bytes that are not UTF-8, and NULs, never break matching around them or the bound. */
static void test_binary_input(void **state)
{
	struct policy_redactor *rd = fixture();
	const char in[] = "\xff"
			  "acme\x00"
			  "ACME\xc3"
			  "x acme \xe2\x80";
	size_t in_len = sizeof(in) - 1, len;
	char out[256];

	(void)state;
	assert_int_equal(policy_redact_text(rd, in, in_len, out, sizeof(out), &len, NULL), 0);
	/*
	 * Stray \xff and \xc3 are word characters, so "\xff" "acme" and "ACME\xc3x" are not
	 * the word "acme"; the NUL is a separator; the truncated sequence at the end is copied.
	 */
	assert_int_equal(len, 1 + 4 + 1 + 4 + 1 + 1 + 1 + 8 + 1 + 2);
	assert_memory_equal(out,
			    "\xff"
			    "acme\x00"
			    "ACME\xc3x [member] \xe2\x80",
			    len);
	policy_redact_free(rd);
}

/*
 * A character whose NFKC form is long (U+FDFA: 3 bytes, 15 skeleton letters) used to take
 * the room the skeleton keeps for the bytes after it, and the ASCII that followed was
 * written past the end of the skeleton's arrays (found by ASan in this test).
 */
static void test_expanding_units(void **state)
{
	struct policy_redactor *rd = fixture();
	char in[20 * 3 + 300 + 5 + 1], want[20 * 3 + 300 + 9 + 1], out[sizeof(in) * 8];
	size_t o = 0, len;

	(void)state;
	for (int i = 0; i < 20; i++, o += 3)
		memcpy(in + o, "\xef\xb7\xba", 3);
	memset(in + o, 'b', 300);
	o += 300;
	memcpy(want, in, o);
	memcpy(in + o, " acme", 6);
	memcpy(want + o, " [member]", 10);
	assert_int_equal(policy_redact_text(rd, in, strlen(in), out, sizeof(out), &len, NULL), 0);
	assert_string_equal(out, want);
	policy_redact_free(rd);
}

/* Hundreds of members whose names share their first words, and one very long alias. */
static void test_shared_prefixes(void **state)
{
	enum { N = 300 };
	static char names[N][64];
	static const char long_alias[] = "the one computer emergency response team that has a "
					 "remarkably long alias of twenty words in total";
	struct proto_roster *r = proto_roster_new();
	const struct proto_roster *rs[1] = {r};
	struct policy_redactor *rd;
	const char *in = "national CSIRT of country 17, National Csirt of Country "
			 "299 and national csirt of country 300, national csirt of country; "
			 "THE ONE computer emergency response team that has a remarkably long "
			 "alias of twenty words in total!";
	char out[512];

	(void)state;
	assert_non_null(r);
	for (int i = 0; i < N; i++) {
		struct proto_member m;
		char *alias[1] = {(char *)long_alias};

		memset(&m, 0, sizeof(m));
		m.id[0] = (uint8_t)(i >> 8);
		m.id[1] = (uint8_t)i;
		m.transport_pk[0] = (uint8_t)i;
		m.transport_pk[1] = 1;
		m.ring_pk[0] = (uint8_t)i;
		m.ring_pk[1] = 2;
		snprintf(names[i], sizeof(names[i]), "National CSIRT of Country %d", i);
		m.name = names[i];
		m.n_aliases = i == 42;
		m.aliases = alias;
		assert_int_equal(proto_roster_add_member(r, &m), 0);
	}
	rd = policy_redact_new(rs, 1);
	assert_non_null(rd);
	assert_int_equal(policy_redact_text(rd, in, strlen(in), out, sizeof(out), NULL, NULL), 0);
	assert_string_equal(out, "[member], [member] and national csirt of country 300, "
				 "national csirt of country; [member]!");
	/*
	 * "... Country 29" and "... Country 290" .. "299" are 11 entries of one index hash (their
	 * first 24 code points): more than a bucket holds (8), so they fill one to its last slot
	 * and go on into the next (OFF_MORE); each must still be found.
	 */
	for (int i = 289; i <= 299; i++) {
		char text[64];

		snprintf(text, sizeof(text), "see National CSIRT of Country %d.",
			 i == 289 ? 29 : i);
		assert_int_equal(
			policy_redact_text(rd, text, strlen(text), out, sizeof(out), NULL, NULL),
			0);
		assert_string_equal(out, "see [member].");
	}
	policy_redact_free(rd);
	proto_roster_free(r);
}

/*
 * Fields are a set: a name split across any two of them is found in either order, also
 * when other fields lie between them, and only the parts that spell it are redacted.
 */
static void test_fields_any_order(void **state)
{
	struct policy_redactor *rd = fixture();
	static const char *const sets[][4] = {
		/* fields (NULL-terminated), then the expected outputs */
		{"Acme", "phishing", "CERT", NULL},
		{"CERT", "phishing", "Acme", NULL},
		{"CERT", "c2", "loader", "seen by Acme"},
	};
	static const char *const want[][4] = {
		{"[member]", "phishing", "[member]", NULL},
		{"[member]", "phishing", "[member]", NULL},
		{"[member]", "c2", "loader", "seen by [member]"},
	};
	char out[4][128];

	(void)state;
	for (size_t c = 0; c < sizeof(sets) / sizeof(sets[0]); c++) {
		struct policy_redact_field f[4];
		size_t n = 0;

		memset(f, 0, sizeof(f));
		while (n < 4 && sets[c][n]) {
			f[n].in = sets[c][n];
			f[n].len = strlen(sets[c][n]);
			f[n].out = out[n];
			f[n].cap = sizeof(out[n]);
			n++;
		}
		assert_int_equal(policy_redact_fields(rd, f, n), 0);
		for (size_t i = 0; i < n; i++) {
			assert_false(f[i].dropped);
			assert_string_equal(f[i].out, want[c][i]);
		}
	}
	/* Not a split: "Acmeville" + "CERTAIN" stay. */
	{
		struct policy_redact_field f[2] = {
			{.in = "CERTAIN", .len = 7, .out = out[0], .cap = 128},
			{.in = "Acmeville", .len = 9, .out = out[1], .cap = 128}};

		assert_int_equal(policy_redact_fields(rd, f, 2), 0);
		assert_string_equal(out[0], "CERTAIN");
		assert_string_equal(out[1], "Acmeville");
	}
	policy_redact_free(rd);
}

/*
 * A name or host in three or more pieces over fields out of order (a SIEM may sort tags):
 * every field of the chain is dropped, the others stay; the publish check refuses it too.
 */
static void test_fields_chains(void **state)
{
	struct policy_redactor *rd = fixture();
	static const struct {
		const char *f[5]; /* fields, NULL-terminated */
		const char *drop; /* '!': dropped */
		int names;	  /* policy_redact_names_fields() */
	} sets[] = {
		{{"CSIRT", "G\xc3\xa9n\xc3\xa9rale", "phishing", "Soci\xc3\xa9t\xc3\xa9", NULL},
		 "!!.!",
		 1},
		{{"example", "c2", "acmenet", "node", NULL}, "!.!!", 1},
		{{"seen by Soci\xc3\xa9t\xc3\xa9", "CSIRT", "G\xc3\xa9n\xc3\xa9rale", NULL},
		 "!!!",
		 1},
		/* no chain: a piece missing, a word changed */
		{{"G\xc3\xa9n\xc3\xa9rale", "CSIRT", "phishing", NULL}, "...", 0},
		{{"Soci\xc3\xa9t\xc3\xa9", "CSIRT", "G\xc3\xa9n\xc3\xa9raux", NULL}, "...", 0},
		/* "Acme" is an alias of its own: redacted, the rest is no name */
		{{"Team", "Acme Computer", "Emergency", "Response", NULL}, "....", 1},
	};
	uint8_t sg[32];
	char out[5][256];

	(void)state;
	memset(sg, 0x21, sizeof(sg));
	for (size_t c = 0; c < sizeof(sets) / sizeof(sets[0]); c++) {
		struct policy_redact_field f[5];
		const char *s[5];
		size_t n = 0, len[5];

		memset(f, 0, sizeof(f));
		while (n < 5 && sets[c].f[n]) {
			s[n] = f[n].in = sets[c].f[n];
			len[n] = f[n].len = strlen(sets[c].f[n]);
			f[n].out = out[n];
			f[n].cap = sizeof(out[n]);
			n++;
		}
		assert_int_equal(policy_redact_fields(rd, f, n), 0);
		for (size_t i = 0; i < n; i++)
			if (f[i].dropped != (sets[c].drop[i] == '!'))
				fail_msg("set %zu field %zu \"%s\": dropped %d", c, i, s[i],
					 f[i].dropped);
		assert_int_equal(policy_redact_names_fields(rd, s, len, n, NULL, NULL),
				 sets[c].names);
	}
	/* the publisher's own name may be written so */
	{
		const char *s[] = {"CSIRT", "G\xc3\xa9n\xc3\xa9rale", "Soci\xc3\xa9t\xc3\xa9"};
		size_t len[] = {5, 10, 9};

		assert_int_equal(policy_redact_names_fields(rd, s, len, 3, sg, NULL), 0);
	}
	policy_redact_free(rd);
}

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/*
 * policy_skeleton_map()'s table loops (plain ASCII a byte at a time) against its general
 * path, unit by unit (POLICY_SKEL_GENERAL): on random texts of words in every case mix,
 * digits, "0x", separators, markup, non-ASCII letters, marks, format characters and units
 * of several code points, appended after another text at an offset, in every reading,
 * code points, sources, boundaries and decoded counts must be the same.
 */
static void test_skeleton_table_loops(void **state)
{
	static const char *const parts[] = {"CERT",
					    "Alpha",
					    "alpha",
					    "ALPHAbet",
					    "CERTAlpha",
					    "aB",
					    "Ab1",
					    "0x",
					    "0X1f",
					    "x0",
					    "00x",
					    "1l",
					    "I",
					    "m",
					    "rn",
					    "42",
					    "7a",
					    "Z9z",
					    " ",
					    "-",
					    ".",
					    "\t",
					    "_",
					    "|",
					    "(",
					    ")",
					    "[",
					    "]",
					    "<",
					    "&",
					    "%",
					    "\\",
					    "[member]",
					    "[dot]",
					    "(at)",
					    "%41",
					    "&amp;",
					    "<b>",
					    "\\u0041",
					    "\x7f",
					    "\x01",
					    "\xc3\xa9",
					    "\xce\x91",
					    "\xc2\xad",
					    "\xef\xac\x81",
					    "\xcc\x81",
					    "\xe2\x80\x8b",
					    "\xff",
					    "s"};
	static const unsigned flag_sets[] = {0, POLICY_SKEL_PLAIN, POLICY_SKEL_CPS,
					     POLICY_SKEL_CPS | POLICY_SKEL_PLAIN};
	const struct policy_skeleton *sk = policy_skeleton_shared();
	uint64_t x = 0x5eed5eed12344321ull;

	(void)state;
	assert_non_null(sk);
	for (int c = 0; c < 20000; c++) {
		char text[256];
		size_t o = 0, n_parts = 1 + xorshift(&x) % 14;

		for (size_t p = 0; p < n_parts; p++)
			o += (size_t)snprintf(
				text + o, sizeof(text) - o, "%s",
				parts[xorshift(&x) % (sizeof(parts) / sizeof(*parts))]);
		for (size_t k = 0; k < sizeof(flag_sets) / sizeof(*flag_sets); k++) {
			unsigned fl = flag_sets[k];
			struct policy_skel_text a = {0}, g = {0};

			/* after another field, as map_scan() appends them */
			assert_int_equal(policy_skeleton_map(sk, "Pre X", 5, 0, fl, &a), 0);
			assert_int_equal(policy_skeleton_map(sk, "Pre X", 5, 0,
							     fl | POLICY_SKEL_GENERAL, &g),
					 0);
			assert_int_equal(policy_skeleton_map(sk, text, o, 6, fl, &a), 0);
			assert_int_equal(
				policy_skeleton_map(sk, text, o, 6, fl | POLICY_SKEL_GENERAL, &g),
				0);
			assert_int_equal(a.len, g.len);
			assert_int_equal(a.n_decoded, g.n_decoded);
			for (size_t i = 0; i <= a.len; i++) {
				assert_int_equal(a.bnd[i], g.bnd[i]);
				if (i == a.len)
					break;
				assert_int_equal(a.cp[i], g.cp[i]);
				assert_int_equal(a.from[i], g.from[i]);
				if (!(fl & POLICY_SKEL_CPS))
					assert_int_equal(a.to[i], g.to[i]);
			}
			policy_skel_text_deinit(&a);
			policy_skel_text_deinit(&g);
		}
	}
}

/* Redact @n fields @in into @out (caller storage, 256 bytes each) by @fn. */
static int redact_into(int (*fn)(const struct policy_redactor *, struct policy_redact_field *,
				 size_t),
		       const struct policy_redactor *rd, const char *const *in, size_t n,
		       char (*out)[256], struct policy_redact_field *f)
{
	for (size_t i = 0; i < n; i++)
		f[i] = (struct policy_redact_field){
			.in = in[i], .len = strlen(in[i]), .out = out[i], .cap = 256};
	return fn(rd, f, n);
}

/*
 * The memo of recent results: a text is remembered when it comes a second time, and from
 * its third a call is answered with exactly what reading the text again gives (outputs,
 * counts, drops), a text that differs in one byte is read afresh, a redactor
 * built from another roster never sees another's results, outputs that do not fit are
 * refused as before, and results equal the full path's across more texts than the memo
 * holds.
 */
static void test_memo(void **state)
{
	static const struct tmember more[] = {{"Phishing Crew", {0}, {0}, {0}, 0x51, 0x52, 0x53}};
	struct policy_redactor *rd = fixture(), *rd2;
	struct proto_roster *r1 = roster_build(members, 4, 1), *r2 = roster_build(more, 1, 2);
	const struct proto_roster *rs[] = {r1, r2};
	const char *in[] = {"Acme", "phishing", "crew", "CERT report"};
	const char *near[] = {"Acme", "phishing", "crew", "CERX report"};
	/* "SG-CSIRT" appears only once "ACME" is redacted: the field is dropped */
	const char *dropped[] = {"phishing", "SG ACME CSIRT"};
	struct policy_redact_field f[4], g[4];
	char out[4][256], out2[4][256];
	uint64_t hits, misses;
	uint64_t x = 12;

	(void)state;
	rd2 = policy_redact_new(rs, 2);
	assert_non_null(rd2);
	assert_int_equal(redact_into(policy_redact_fields, rd, in, 4, out, f), 0);
	assert_string_equal(out[0], "[member]");
	assert_string_equal(out[1], "phishing");
	assert_string_equal(out[3], "[member] report");
	/* the second time read again and remembered, the third answered */
	for (int k = 0; k < 2; k++) {
		memset(out2, 0, sizeof(out2));
		assert_int_equal(redact_into(policy_redact_fields, rd, in, 4, out2, g), 0);
		for (size_t i = 0; i < 4; i++) {
			assert_string_equal(out2[i], out[i]);
			assert_int_equal(g[i].out_len, f[i].out_len);
			assert_int_equal(g[i].n_redacted, f[i].n_redacted);
			assert_int_equal(g[i].dropped, f[i].dropped);
		}
		policy_redact_memo_stats(rd, &hits, &misses);
		assert_int_equal(hits, (uint64_t)k);
		assert_int_equal(misses, 2);
	}

	/* one byte different: read afresh */
	assert_int_equal(redact_into(policy_redact_fields, rd, near, 4, out2, g), 0);
	assert_string_equal(out2[0], "[member]");
	assert_string_equal(out2[3], "CERX report");
	policy_redact_memo_stats(rd, &hits, &misses);
	assert_int_equal(hits, 1);

	/* another roster ("Phishing Crew" joined): its redactor reads the text itself */
	assert_int_equal(redact_into(policy_redact_fields, rd2, in, 4, out2, g), 0);
	assert_string_equal(out2[1], "[member]");
	assert_string_equal(out2[2], "[member]");
	assert_int_equal(redact_into(policy_redact_fields, rd, in, 4, out2, g), 0);
	assert_string_equal(out2[1], "phishing");

	/* a remembered drop is a drop; a remembered output that does not fit is refused */
	assert_int_equal(redact_into(policy_redact_fields, rd, dropped, 2, out, f), 0);
	assert_int_equal(redact_into(policy_redact_fields, rd, dropped, 2, out2, g), 0);
	policy_redact_memo_stats(rd, &hits, NULL);
	assert_int_equal(redact_into(policy_redact_fields, rd, dropped, 2, out2, g), 0);
	policy_redact_memo_stats(rd, &x, NULL);
	assert_int_equal(x, hits + 1);
	/* forgotten by a reset: read afresh (a miss), not answered */
	policy_redact_memo_reset(rd);
	policy_redact_memo_stats(rd, &hits, &misses);
	assert_int_equal(redact_into(policy_redact_fields, rd, dropped, 2, out2, g), 0);
	policy_redact_memo_stats(rd, &x, NULL);
	assert_int_equal(x, hits);
	policy_redact_memo_stats(rd, NULL, &x);
	assert_int_equal(x, misses + 1);
	assert_true(!f[0].dropped && f[1].dropped);
	assert_true(!g[0].dropped && g[1].dropped);
	assert_string_equal(out2[0], "phishing");
	assert_string_equal(out2[1], "");
	/*
	 * ...and no easier to get than by reading afresh: before it is dropped, the field's
	 * output ("SG [member] CSIRT") must fit, so a capacity short of it is -ENOSPC both ways.
	 */
	for (int on = 1; on >= 0; on--) {
		policy_redact_memo_set(rd, on);
		assert_int_equal(redact_into(policy_redact_fields, rd, dropped, 2, out2, g), 0);
		g[1].cap = 5;
		assert_int_equal(policy_redact_fields(rd, g, 2), -ENOSPC);
		assert_string_equal(out2[0], "");
	}
	policy_redact_memo_set(rd, true);
	assert_int_equal(redact_into(policy_redact_fields, rd, in, 4, out2, g), 0);
	g[3].cap = 15; /* "[member] report" needs 16 */
	assert_int_equal(policy_redact_fields(rd, g, 4), -ENOSPC);
	assert_string_equal(out2[0], "");

	/* switched off: the same results, nothing counted */
	policy_redact_memo_stats(rd, &hits, &misses);
	policy_redact_memo_set(rd, false);
	assert_int_equal(redact_into(policy_redact_fields, rd, in, 4, out2, g), 0);
	assert_string_equal(out2[3], "[member] report");
	policy_redact_memo_stats(rd, &x, NULL);
	assert_int_equal(x, hits);
	policy_redact_memo_set(rd, true);

	/* 600 calls of 96 texts (more than the memo's slots): always the full path's result */
	for (int t = 0; t < 600; t++) {
		static const char *const words[] = {"Acme", "CERT", "sg.example", "loader",
						    "ACME", "c2",   "Acme CERT",  "tlp:green"};
		uint64_t y = 1 + xorshift(&x) % 96;
		char text[3][64];
		const char *p[3] = {text[0], text[1], text[2]};

		for (size_t i = 0; i < 3; i++)
			snprintf(text[i], sizeof(text[i]), "%s %s %u", words[xorshift(&y) % 8],
				 words[xorshift(&y) % 8], (unsigned)(xorshift(&y) % 5));
		assert_int_equal(redact_into(policy_redact_fields, rd, p, 3, out, f), 0);
		assert_int_equal(redact_into(policy_redact_fields_full, rd, p, 3, out2, g), 0);
		for (size_t i = 0; i < 3; i++) {
			assert_string_equal(out[i], out2[i]);
			assert_int_equal(f[i].n_redacted, g[i].n_redacted);
			assert_int_equal(f[i].dropped, g[i].dropped);
		}
	}
	policy_redact_memo_stats(rd, &hits, &misses);
	assert_true(hits > 100);
	policy_redact_free(rd);
	policy_redact_free(rd2);
	proto_roster_free(r1);
	proto_roster_free(r2);
}

/*
 * A text is remembered the second time it comes, so texts that come once (an export's own
 * descriptions and tags, most of its text) leave what the memo holds alone: a repeated
 * text between 300 one-off ones is still answered. Where every miss was remembered, the
 * second call was already answered, and the one-off texts overwrote the repeated one's slot
 * (64 slots: it stays with odds (63/64)^300 < 1 %).
 */
static void test_memo_one_offs(void **state)
{
	struct policy_redactor *rd = fixture();
	const char *rep[] = {"tlp:green", "Acme loader campaign, wave 7"};
	struct policy_redact_field f[2], g[2];
	char out[2][256], out2[2][256], text[2][64];
	const char *one[] = {text[0], text[1]};
	uint64_t hits, misses, h0;

	(void)state;
	for (int k = 0; k < 2; k++)
		assert_int_equal(redact_into(policy_redact_fields, rd, rep, 2, out, f), 0);
	policy_redact_memo_stats(rd, &hits, &misses);
	assert_int_equal(hits, 0);
	assert_int_equal(misses, 2);
	for (int t = 0; t < 300; t++) {
		snprintf(text[0], sizeof(text[0]), "case-%d", t);
		snprintf(text[1], sizeof(text[1]), "loader %d seen at %d.example", t * 7, t);
		assert_int_equal(redact_into(policy_redact_fields, rd, one, 2, out2, g), 0);
	}
	policy_redact_memo_stats(rd, &h0, NULL);
	assert_int_equal(h0, 0);
	assert_int_equal(redact_into(policy_redact_fields, rd, rep, 2, out2, g), 0);
	policy_redact_memo_stats(rd, &hits, NULL);
	assert_int_equal(hits, 1);
	assert_string_equal(out2[1], "[member] loader campaign, wave 7");
	for (size_t i = 0; i < 2; i++) {
		assert_string_equal(out2[i], out[i]);
		assert_int_equal(g[i].n_redacted, f[i].n_redacted);
		assert_int_equal(g[i].dropped, f[i].dropped);
	}
	policy_redact_free(rd);
}

/* Pieces of random texts: letters, digits, separators and every kind of markup. */
static const char *const skel_parts[] = {
	"CERT",	 "Alpha", "alpha",    "0x",   "1l",    "I",   "m",	  "rn",	   "x",
	"42",	 " ",	  "-",	      ".",    ",",     ";",   "'",	  "\t",	   "_",
	"(",	 ")",	  "[",	      "]",    "{",     "}",   "<",	  ">",	   "&",
	"%",	 "\\",	  "|",	      ":",    "/",     "@",   "[member]", "[dot]", "(at)",
	"{DOT}", "[do]",  "(a)",      "%41",  "%2541", "%zz", "%4",	  "&amp;", "&#65;",
	"&x",	 "& b",	  "&;",	      "<b>",  "</i>",  "< b", "<1",	  "<!--",  "\\u0041",
	"\\x41", "\\q",	  "\xc3\xa9", "\xff", "Ab",    "aB",  "AB1c",	  "\x7f",  "\x01"};

/* A random text of 1 to @max of the @n @parts into @text (256 bytes); returns its length. */
static size_t random_text_of(char *text, uint64_t *x, size_t max, const char *const *parts,
			     size_t n)
{
	size_t o = 0, n_parts = 1 + xorshift(x) % max;

	for (size_t p = 0; p < n_parts; p++)
		o += (size_t)snprintf(text + o, 256 - o, "%s", parts[xorshift(x) % n]);
	return o;
}

/* A random text of 1 to @max skel_parts into @text (256 bytes); returns its length. */
static size_t random_text(char *text, uint64_t *x, size_t max)
{
	return random_text_of(text, x, max, skel_parts, sizeof(skel_parts) / sizeof(*skel_parts));
}

/*
 * policy_skeleton_ascii() against policy_skeleton_map(): on random texts built from letters,
 * digits, separators and every kind of markup (decoded, or only looking like it), whatever
 * it reads must be exactly what POLICY_SKEL_CPS maps (code points, boundaries, nothing
 * decoded), and the full map's code points with its boundaries a subset; what it refuses
 * must include every unit that decoding reads.
 */
static void test_skeleton_ascii(void **state)
{
	const struct policy_skeleton *sk = policy_skeleton_shared();
	uint64_t x = 0x1234abcd5678ef01ull;
	size_t read = 0, refused = 0;

	(void)state;
	assert_non_null(sk);
	for (int c = 0; c < 20000; c++) {
		char text[256];
		uint8_t cp[256], bnd[256];
		uint32_t at[256];
		size_t o = random_text(text, &x, 12);
		struct policy_skel_text t = {0}, full = {0};
		long n;

		n = policy_skeleton_ascii(sk, text, o, cp, bnd, at);
		if (n < 0) {
			refused++;
			continue;
		}
		read++;
		assert_int_equal(policy_skeleton_map(sk, text, o, 0, POLICY_SKEL_CPS, &t), 0);
		assert_int_equal(policy_skeleton_map(sk, text, o, 0, 0, &full), 0);
		assert_int_equal(t.len, (size_t)n);
		assert_int_equal(full.len, (size_t)n);
		assert_int_equal(t.n_decoded, 0);
		assert_int_equal(full.n_decoded, 0);
		for (size_t i = 0; i < (size_t)n; i++) {
			assert_int_equal(t.cp[i], cp[i]);
			assert_int_equal(full.cp[i], cp[i]);
			assert_int_equal(t.bnd[i], bnd[i]);
			assert_int_equal(t.from[i], at[i]);
			if (full.bnd[i] != POLICY_SKEL_NONE)
				assert_int_not_equal(bnd[i], POLICY_SKEL_NONE);
		}
		policy_skel_text_deinit(&t);
		policy_skel_text_deinit(&full);
	}
	printf("policy_skeleton_ascii: %zu texts read as POLICY_SKEL_CPS maps them, %zu "
	       "refused\n",
	       read, refused);
	assert_true(read >= 2000 && refused >= 2000);
	/* every unit that decoding reads is refused, alone and inside text */
	for (size_t i = 0; i < sizeof(skel_parts) / sizeof(*skel_parts); i++) {
		struct policy_skel_text t = {0};
		char text[64];
		uint8_t cp[64], bnd[64];
		uint32_t at[64];
		int len = snprintf(text, sizeof(text), "a %s b", skel_parts[i]);

		assert_int_equal(policy_skeleton_map(sk, text, (size_t)len, 0, 0, &t), 0);
		if (t.n_decoded > 0 || (uint8_t)skel_parts[i][0] >= 0x80)
			assert_int_equal(policy_skeleton_ascii(sk, text, (size_t)len, cp, bnd, at),
					 -1);
		policy_skel_text_deinit(&t);
	}
}

/*
 * Reads the @n fields @s (@len bytes each) with policy_skeleton_ascii(), joined as the looks
 * join them: code points, boundaries and byte offsets into @cp, @bnd and @at from 0 (room for
 * the sum of @len), each field's start and end in that reading into @fs and @fe. Returns the
 * reading's length, or -1 when it refuses some field (then the looks refuse the call too).
 */
static long ascii_fields(const struct policy_skeleton *sk, const char *const *s, const size_t *len,
			 size_t n, uint8_t *cp, uint8_t *bnd, uint32_t *at, size_t *fs, size_t *fe)
{
	size_t total = 0;
	bool refuse = false;

	for (size_t f = 0; f < n; f++) {
		long m = policy_skeleton_ascii(sk, s[f], len[f], cp + total, bnd + total,
					       at + total);

		refuse |= m < 0;
		fs[f] = total;
		total += m < 0 ? 0 : (size_t)m;
		fe[f] = total;
	}
	return refuse ? -1 : (long)total;
}

/* policy_skel_look_reading() over the reading policy_skeleton_ascii() gave finds what @g did. */
static void look_same(const struct policy_skel_look *filter, const uint8_t *cp, const uint8_t *bnd,
		      const size_t *fs, const size_t *fe, size_t n, size_t total, int rc,
		      const struct policy_skel_seen *g)
{
	struct policy_skel_seen *r = malloc(sizeof(*r));

	assert_non_null(r);
	assert_int_equal(policy_skel_look_reading(filter, cp, bnd, fs, fe, n, total, r), rc);
	assert_int_equal(r->n_hits, g->n_hits);
	assert_int_equal(r->crossing, g->crossing);
	for (size_t h = 0; h < g->n_hits && h < POLICY_SKEL_LOOK_HITS; h++)
		assert_int_equal(r->hits[h], g->hits[h]);
	free(r);
}

/*
 * policy_skel_seen_reading() against policy_skeleton_ascii(): on 1 to 5 random fields that
 * policy_skeleton_look() reads (an empty filter: it returns 0, its reading made), the reading
 * taken from the look is the one policy_skeleton_ascii() gives each field, joined: the same
 * code points, boundaries, byte offsets and field ends. Fields long enough for the 8-wide
 * loop and its tail, and fields with a byte read as a separator of its own or the token
 * (read by policy_skeleton_ascii() there), must both come up. The offsets counted by every
 * usable lane's classes (policy_skel_seen_reading_with()) and by the preferred one, after the
 * look by each usable lane. Fails with a boundary, a code point or an offset computed
 * otherwise, a field's end off by one, a lane of the vector loops out of place, a block's
 * bytes counted twice or not at all, the AVX2 look's entries of which bytes are code points
 * a block or a pair's half out of place or missing, or taken for a field the byte loop read
 * in part. Where the AVX2 lane is usable, fails too when fewer than 200 views, looked at by
 * it, take its whole-view reading (seen_reading_kept()) with a field of 65+ bytes: the test
 * would no longer cover that path.
 */
static const char *const seen_words[] = {"CERT", "Alpha", "alpha", "member", "42",   " ",
					 "-",	 "0x",	  "Ab",	   "aB",     "AB1c", "x"};

static void test_skeleton_seen_reading(void **state)
{
	const struct policy_skeleton *sk = policy_skeleton_shared();
	struct policy_skel_look *filter = calloc(1, sizeof(*filter));
	struct policy_skel_seen *g = malloc(sizeof(*g));
	uint64_t x = 0x5eed5eed12345678ull;
	size_t read = 0, long_fields = 0, slow_fields = 0;
	/*
	 * Fields that take seen_offsets16()'s 16-byte blocks and keep them (16+ bytes, no byte
	 * that may start markup), that take them and fall back to the byte loop (16+ bytes with
	 * such a byte), and whose last block leaves a 15-byte tail to the byte loop.
	 */
	size_t blocks = 0, blocks_slow = 0, tail15 = 0;
	/*
	 * Fields that seen_offsets32() reads in one block of fewer than 32 bytes, in whole blocks
	 * and a last one that overlaps the one before, in whole blocks only; with 33+ code points
	 * (seen_bounds32()'s 32 at a time).
	 */
	size_t short32 = 0, tail32 = 0, whole32 = 0, long32 = 0;
	/*
	 * Views the AVX2 look (forced: a host may prefer another lane) read whole (g->partial
	 * 0: the AVX2 reading is seen_reading_kept()'s) with a field of 65+ bytes (a carry
	 * across its 64-byte steps) and a reading of 33+ code points not a multiple of 32 (an
	 * overlapping last block).
	 */
	size_t kept = 0;
	const bool avx2 = policy_skeleton_lane_usable(sk, POLICY_SKEL_LANE_AVX2);

	(void)state;
	assert_non_null(sk);
	assert_non_null(filter);
	assert_non_null(g);
	for (int c = 0; c < 20000; c++) {
		char text[5][256];
		const char *s[5];
		size_t len[5], n = 1 + xorshift(&x) % 5, total, fs[5], fe[5], gfs[5], gfe[5];
		uint8_t cp[5 * 256], bnd[5 * 256], gcp[5 * 256], gbnd[5 * 256];
		uint32_t at[5 * 256], gat[5 * 256 + 8]; /* 8: policy_skel_seen_reading()'s slack */
		long rl;

		for (size_t f = 0; f < n; f++) {
			/* half of the fields of plain words, to be long */
			len[f] = xorshift(&x) % 2
					 ? random_text(text[f], &x, 12)
					 : random_text_of(text[f], &x, 24, seen_words,
							  sizeof(seen_words) / sizeof(*seen_words));
			s[f] = text[f];
		}
		rl = ascii_fields(sk, s, len, n, cp, bnd, at, fs, fe);
		if (policy_skeleton_look(sk, s, len, n, filter, g) < 0) {
			assert_true(rl < 0);
			continue;
		}
		assert_true(rl >= 0);
		total = (size_t)rl;
		read++;
		/*
		 * After the look by the lane it prefers, and again after the look by each usable
		 * lane (the AVX2 lane's keeps which bytes are code points for the reading, the
		 * others keep nothing, and a field the byte loop read in part is read again),
		 * the reading by the preferred lane and by each usable one.
		 */
		for (int lk = -1; lk < POLICY_SKEL_LANES; lk++) {
			if (lk >= 0) {
				if (!policy_skeleton_lane_usable(sk, (enum policy_skel_lane)lk))
					continue;
				memset(g, 0x5A, sizeof(*g));
				assert_int_equal(
					policy_skeleton_look_with(sk, (enum policy_skel_lane)lk, s,
								  len, n, filter, g),
					0);
			}
			if (lk == POLICY_SKEL_LANE_AVX2 && g->partial == 0 && total >= 33 &&
			    total % 32 != 0) {
				size_t f = 0;

				while (f < n && len[f] < 65)
					f++;
				kept += f < n;
			}
			/* the lane the look prefers, then each usable one forced */
			for (int l = -1; l < POLICY_SKEL_LANES; l++) {
				/* poisoned: a lane that leaves an entry unwritten must not pass on the
				 * previous lane's value */
				memset(gcp, 0xA5, sizeof(gcp));
				memset(gbnd, 0xA5, sizeof(gbnd));
				memset(gat, 0xA5, sizeof(gat));
				memset(gfs, 0xA5, sizeof(gfs));
				memset(gfe, 0xA5, sizeof(gfe));
				if (l < 0)
					rl = policy_skel_seen_reading(sk, g, s, len, n, gcp, gbnd,
								      gat, gfs, gfe);
				else if (policy_skeleton_lane_usable(sk, (enum policy_skel_lane)l))
					rl = policy_skel_seen_reading_with(
						sk, (enum policy_skel_lane)l, g, s, len, n, gcp,
						gbnd, gat, gfs, gfe);
				else
					continue;
				assert_int_equal(rl, (long)total);
				for (size_t f = 0; f < n; f++) {
					assert_int_equal(gfs[f], fs[f]);
					assert_int_equal(gfe[f], fe[f]);
				}
				assert_memory_equal(gcp, cp, total);
				assert_memory_equal(gbnd, bnd, total);
				assert_memory_equal(gat, at, total * sizeof(*at));
			}
		}
		for (size_t f = 0; f < n; f++) {
			bool slow = strpbrk(text[f], "([{<%&\\") != NULL;

			long_fields += fe[f] - fs[f] >= 9;
			slow_fields += slow;
			blocks += len[f] >= 16 && !slow;
			blocks_slow += len[f] >= 16 && slow;
			tail15 += len[f] > 16 && len[f] % 16 == 15;
			short32 += len[f] < 32 && !slow;
			tail32 += len[f] > 32 && len[f] % 32 != 0 && !slow;
			whole32 += len[f] >= 32 && len[f] % 32 == 0 && !slow;
			long32 += fe[f] - fs[f] >= 33;
		}
	}
	printf("policy_skel_seen_reading: %zu calls read, %zu fields of 9+ code points, %zu "
	       "with a byte that may start markup; of 16+ bytes %zu without, %zu with one; %zu "
	       "with a 15-byte tail; without: %zu under 32 bytes, %zu with a partial 32-byte "
	       "block, %zu in whole ones; %zu of 33+ code points; %zu read whole by the AVX2 "
	       "look with a field of 65+ bytes\n",
	       read, long_fields, slow_fields, blocks, blocks_slow, tail15, short32, tail32,
	       whole32, long32, kept);
	assert_true(read >= 1000 && long_fields >= 1000 && slow_fields >= 500);
	assert_true(blocks >= 500 && blocks_slow >= 200 && tail15 >= 50);
	assert_true(short32 >= 500 && tail32 >= 200 && whole32 >= 20 && long32 >= 200);
	assert_true(!avx2 || kept >= 200);
	free(filter);
	free(g);
}

/*
 * policy_skel_look_reading()'s entries, for readings of 0 to 80 code points (16 at a time, the
 * last 16 overlapping the ones before, and one at a time under 16): each code point with its
 * boundary in the top bit, zeros after them; and -1 when one code point is not ASCII or one
 * boundary is not one of the three, at every place. Fails with an entry left unwritten or
 * misplaced, or a bad one let through (a poisoned reading to start from).
 */
static void test_skeleton_look_reading_entries(void **state)
{
	struct policy_skel_look *filter = calloc(1, sizeof(*filter));
	struct policy_skel_seen *g = malloc(sizeof(*g));
	uint64_t x = 0x1234abcd5678ef01ull;
	size_t fs[1] = {0}, fe[1], bad = 0;
	uint8_t cp[80], bnd[80];

	(void)state;
	assert_non_null(filter);
	assert_non_null(g);
	for (size_t total = 0; total <= sizeof(cp); total++) {
		fe[0] = total;
		for (size_t j = 0; j < total; j++) {
			cp[j] = (uint8_t)(xorshift(&x) % 0x80);
			bnd[j] = (uint8_t)(xorshift(&x) % 3);
		}
		memset(g, 0xA5, sizeof(*g));
		if (__BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__) {
			assert_int_equal(
				policy_skel_look_reading(filter, cp, bnd, fs, fe, 1, total, g), -1);
			continue;
		}
		assert_int_equal(policy_skel_look_reading(filter, cp, bnd, fs, fe, 1, total, g), 0);
		for (size_t j = 0; j < total; j++)
			assert_int_equal(g->c[j], cp[j] | (bnd[j] != POLICY_SKEL_NONE ? 0x80 : 0));
		for (size_t j = total; j < total + 64; j++)
			assert_int_equal(g->c[j], 0);
		for (size_t j = 0; j < total; j++) {
			uint8_t c = cp[j], b = bnd[j];

			cp[j] = (uint8_t)(0x80 | xorshift(&x));
			bad += policy_skel_look_reading(filter, cp, bnd, fs, fe, 1, total, g) == -1;
			cp[j] = c;
			bnd[j] = (uint8_t)(POLICY_SKEL_HARD + 1 +
					   xorshift(&x) % (255 - POLICY_SKEL_HARD));
			bad += policy_skel_look_reading(filter, cp, bnd, fs, fe, 1, total, g) == -1;
			bnd[j] = b;
		}
	}
	/* every one of the 2 * (0 + 1 + ... + 80) bad readings refused */
	assert_true(bad == sizeof(cp) * (sizeof(cp) + 1) ||
		    __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__);
	free(filter);
	free(g);
}

/*
 * policy_skeleton_look() against policy_skeleton_ascii(): on 1 to 5 random fields it refuses
 * exactly what the latter refuses in some field; with an empty filter it finds nothing; with
 * one pattern added whose first code points are the reading's from a boundary (joined, on
 * across the fields, or as a pair: a field's tail from a boundary, then the head of another
 * field but the next), of a random length (short, 4 to 7, 8 or more), it finds it: listed at
 * that place when its gram lies inside the field, else as crossing; policy_skel_look_reading()
 * over the latter's reading finds the same. Fails with a gram looked up anywhere else, a
 * boundary computed otherwise, or a class of gram left out.
 */
static void test_skeleton_look(void **state)
{
	const struct policy_skeleton *sk = policy_skeleton_shared();
	struct policy_skel_look *filter = malloc(sizeof(*filter));
	struct policy_skel_seen *g = malloc(sizeof(*g));
	uint64_t x = 0x9e3779b97f4a7c15ull;
	size_t read = 0, refused = 0, found = 0, pairs = 0, crossed = 0;

	(void)state;
	assert_non_null(sk);
	assert_non_null(filter);
	assert_non_null(g);
	if (__BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__) {
		/* refused there: the fast path reads every text */
		const char *one = "CERT Alpha";
		size_t one_len = strlen(one);

		assert_int_equal(policy_skeleton_look(sk, &one, &one_len, 1, filter, g), -1);
		free(filter);
		free(g);
		return;
	}
	for (int c = 0; c < 20000; c++) {
		char text[5][256];
		const char *s[5];
		size_t len[5], n = 1 + xorshift(&x) % 5, total, fs[5], fe[5];
		uint8_t cp[5 * 256], bnd[5 * 256];
		uint32_t at[5 * 256], pat[8];
		long rl;
		int rc;

		for (size_t f = 0; f < n; f++) {
			len[f] = random_text(text[f], &x, 6);
			s[f] = text[f];
		}
		rl = ascii_fields(sk, s, len, n, cp, bnd, at, fs, fe);
		memset(filter, 0, sizeof(*filter));
		rc = policy_skeleton_look(sk, s, len, n, filter, g);
		if (rl < 0) {
			assert_int_equal(rc, -1);
			refused++;
			continue;
		}
		total = (size_t)rl;
		read++;
		assert_int_equal(rc, 0);
		assert_int_equal(g->n_hits, 0);
		assert_false(g->crossing);
		look_same(filter, cp, bnd, fs, fe, n, total, 0, g);
		/* one pattern from a random boundary, read joined: listed there, or crossing */
		for (size_t k = 0, i0 = xorshift(&x) % (total + 1); k < total; k++) {
			size_t i = (i0 + k) % total, key_len = 1 + xorshift(&x) % 12, f = 0;
			size_t gram = key_len < 4 ? key_len : key_len < 8 ? 4 : 8;
			bool listed = false;

			if (bnd[i] == POLICY_SKEL_NONE || i + gram > total)
				continue;
			while (i >= fe[f])
				f++;
			for (size_t j = 0; j < gram; j++)
				pat[j] = cp[i + j];
			policy_skel_look_add(filter, pat, key_len);
			assert_int_equal(policy_skeleton_look(sk, s, len, n, filter, g), 1);
			look_same(filter, cp, bnd, fs, fe, n, total, 1, g);
			for (size_t h = 0; h < g->n_hits && h < POLICY_SKEL_LOOK_HITS; h++)
				listed |= g->hits[h] == i;
			if (i + gram <= fe[f])
				assert_true(listed || g->n_hits > POLICY_SKEL_LOOK_HITS);
			else
				assert_true(g->crossing);
			crossed += i + gram > fe[f];
			found++;
			break;
		}
		/* one pattern from a boundary in a field's tail into the head of another */
		memset(filter, 0, sizeof(*filter));
		for (size_t a = xorshift(&x) % n, k = 0; k < n; k++, a = (a + 1) % n) {
			size_t b = xorshift(&x) % n, key_len = 1 + xorshift(&x) % 12, p, r, gram;

			gram = key_len < 4 ? key_len : key_len < 8 ? 4 : 8;
			if (b == a || b == a + 1 || fe[a] == fs[a])
				continue;
			p = fe[a] - 1 - xorshift(&x) % (fe[a] - fs[a] < 7 ? fe[a] - fs[a] : 7);
			r = fe[a] - p;
			if (bnd[p] == POLICY_SKEL_NONE || r >= gram || fe[b] - fs[b] < gram - r)
				continue;
			for (size_t j = 0; j < gram; j++)
				pat[j] = j < r ? cp[p + j] : cp[fs[b] + j - r];
			policy_skel_look_add(filter, pat, key_len);
			assert_int_equal(policy_skeleton_look(sk, s, len, n, filter, g), 1);
			assert_true(g->crossing);
			look_same(filter, cp, bnd, fs, fe, n, total, 1, g);
			pairs++;
			break;
		}
	}
	printf("policy_skeleton_look: %zu calls read, %zu refused, %zu grams found (%zu "
	       "crossing a field's end), %zu pairs\n",
	       read, refused, found, crossed, pairs);
	assert_true(read >= 2000 && refused >= 2000 && found >= 1000 && crossed >= 100 &&
		    pairs >= 100);
	free(filter);
	free(g);
}

/* Pieces that test_skeleton_look_lane() puts across the lanes' 16- and 32-byte edges. */
static const char *const lane_parts[] = {
	"CERT Alpha", "Member17NS", "CERTAlpha", "0x5bfb5c18", "5BFB5C18ab",
	"ABCdef",     "abcXYZ",	    "x7",	 "X7y",	       "12ab",
	"I1l0O",      "a-b",	    "[member]",	 "(",	       "(at)",
	"&amp;",      "%41",	    "%",	 "\xc3\xa9",   "\xe3\x82\xa2",
	"<b>",	      "a|b",	    "..",	 "  ",	       "\t",
	"\x01",	      "\x7f",	    "'",	 "Zz9",	       "0x",
	"xx",	      "iI1lL",	    "{",	 "\\",	       "m",
	"ABCD",	      "x0X1",	    "Team M5",	 "aB",	       "9a",
	"a9",	      "Xx",	    "CSIRT",	 "m42.org",    "cert-m7",
	"CamelCase",  "0XAB",	    "zZ"};

/* A field of up to @max bytes into @text (128): filler, then a piece from lane_parts[]
 * placed so that it starts a few bytes before a multiple of 16, and more of both; or (a
 * quarter) lower-case letters or digits around one byte the lane leaves to the byte loop. */
static size_t lane_field(char *text, uint64_t *x, size_t max)
{
	static const char filler[] = "abcdefghklmnopqrstuvwyzABCDEFGHKLMNOPQRSTUVWYZ23456789 ,.-";
	static const char *const seps[] = {"(", "[member]", "{", "%", "<"};
	size_t o = 0, want = xorshift(x) % (max + 1);

	/* a quarter: words and numbers without separators but for one byte the byte loop reads,
	 * so that the lane goes on after it in the middle of a word or a number */
	if (xorshift(x) % 4 == 0) {
		const char *sep = seps[xorshift(x) % (sizeof(seps) / sizeof(*seps))];
		size_t at = want ? xorshift(x) % want : 0, digits = xorshift(x) % 2;

		while (o < want) {
			if (o == at)
				for (size_t k = 0; sep[k] && o < want; k++)
					text[o++] = sep[k];
			else
				text[o++] = digits ? (char)('0' + xorshift(x) % 10)
						   : filler[xorshift(x) % 23];
		}
		return o;
	}

	while (o < want) {
		size_t edge = (o / 16 + 1) * 16, at = edge - 1 - xorshift(x) % 6;
		const char *p =
			lane_parts[xorshift(x) % (sizeof(lane_parts) / sizeof(*lane_parts))];

		while (o < at && o < want)
			text[o++] = filler[xorshift(x) % (sizeof(filler) - 1)];
		for (size_t k = 0; p[k] && o < want; k++)
			text[o++] = p[k];
	}
	return o;
}

/*
 * The two looks' results are the same (@rc each returned, @a and @b their readings of the
 * @n fields), down to the reading itself: every code point and its boundary (the private
 * part of struct policy_skel_seen, which every reader writes alike).
 */
static void lane_same(int rc, int rc_bytes, const struct policy_skel_seen *a,
		      const struct policy_skel_seen *b, size_t n)
{
	assert_int_equal(rc, rc_bytes);
	if (rc < 0)
		return;
	assert_int_equal(a->n_hits, b->n_hits);
	assert_int_equal(a->crossing, b->crossing);
	for (size_t h = 0; h < a->n_hits && h < POLICY_SKEL_LOOK_HITS; h++)
		assert_int_equal(a->hits[h], b->hits[h]);
	assert_int_equal(a->o, b->o);
	assert_memory_equal(a->c, b->c, a->o);
	for (size_t f = 0; f < n; f++) {
		assert_int_equal(a->fs[f], b->fs[f]);
		assert_int_equal(a->fe[f], b->fe[f]);
	}
}

/*
 * Every lane of policy_skeleton_look() that the CPU has (SSE2, AVX2 on x86-64), each forced
 * (policy_skeleton_look_with()), against its byte loop (POLICY_SKEL_LANE_BYTES, which takes
 * the boundaries without SIMD as a build without SSE2 does) and policy_skeleton_ascii(), on
 * fields of 0 to 80 bytes whose pieces cross the lanes' 16- and 32-byte edges: names and
 * words over two blocks, case and digit changes, "0x" and an 'x' at the edge, UTF-8
 * sequences split by it, markup, escapes and "[member]" there, and a field's last bytes
 * read in one overlapping load. With an empty filter, and with one that holds the first 4
 * code points at every boundary of the reading (so that every place with a boundary is
 * listed), all give the same result, code points of every field and hits; the hits are
 * exactly the boundaries policy_skeleton_ascii() gives, when they fit. Fails when a lane
 * reads a byte, a boundary or a field's end otherwise than the byte loop, when a lane the
 * CPU can run is not usable (so not compared), or when policy_skeleton_look() does not read
 * with the lane it should prefer. Returns what policy_skeleton_look() returned.
 */
static int look_every_lane(const struct policy_skeleton *sk, const char *const *s,
			   const size_t *len, size_t n, const struct policy_skel_look *filter,
			   struct policy_skel_seen *g, struct policy_skel_seen *gb,
			   size_t *compared)
{
	int rc = policy_skeleton_look_with(sk, POLICY_SKEL_LANE_BYTES, s, len, n, filter, gb);
	int chosen;

	for (unsigned l = POLICY_SKEL_LANE_BYTES + 1; l < POLICY_SKEL_LANES; l++) {
		if (!policy_skeleton_lane_usable(sk, (enum policy_skel_lane)l))
			continue;
		lane_same(policy_skeleton_look_with(sk, (enum policy_skel_lane)l, s, len, n, filter,
						    g),
			  rc, g, gb, n);
		compared[l]++;
	}
	/* and the lane policy_skeleton_look() chose */
	chosen = policy_skeleton_look(sk, s, len, n, filter, g);
	lane_same(chosen, rc, g, gb, n);
	return chosen;
}

static void test_skeleton_look_lane(void **state)
{
	const struct policy_skeleton *sk = policy_skeleton_shared();
	struct policy_skel_look *filter = malloc(sizeof(*filter));
	struct policy_skel_seen *g = malloc(sizeof(*g)), *gb = malloc(sizeof(*gb));
	uint64_t x = 0x2545f4914f6cdd1dull;
	size_t read = 0, refused = 0, listed = 0, lane = 0, resumed = 0, resumed32 = 0;
	size_t compared[POLICY_SKEL_LANES] = {0};
	enum policy_skel_lane preferred = POLICY_SKEL_LANE_BYTES;
	/* each field in a block of its own length: ASan sees a read past it */
	char *own[5] = {NULL};

	(void)state;
	assert_non_null(sk);
	assert_non_null(filter);
	assert_non_null(g);
	assert_non_null(gb);
	/*
	 * Every lane the CPU can run is usable, else it would be compared with nothing; and the
	 * look reads with the one it should prefer (the AVX2 lane but on AMD's family 17h).
	 * The CPU's features are asked here again, not taken from the library.
	 */
	assert_true(policy_skeleton_lane_usable(sk, POLICY_SKEL_LANE_BYTES));
#if defined(__SSE2__)
	assert_true(policy_skeleton_lane_usable(sk, POLICY_SKEL_LANE_SSE2));
	preferred = POLICY_SKEL_LANE_SSE2;
#endif
#if defined(__x86_64__) && defined(__GNUC__)
	__builtin_cpu_init();
	assert_int_equal(policy_skeleton_lane_usable(sk, POLICY_SKEL_LANE_AVX2),
			 __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") &&
				 __builtin_cpu_supports("bmi2") &&
				 __builtin_cpu_supports("popcnt"));
	if (policy_skeleton_lane_usable(sk, POLICY_SKEL_LANE_AVX2) &&
	    !__builtin_cpu_is("amdfam17h"))
		preferred = POLICY_SKEL_LANE_AVX2;
#endif
	assert_false(policy_skeleton_lane_usable(sk, POLICY_SKEL_LANES));
	assert_int_equal(policy_skeleton_look_lane(sk), preferred);
	for (int c = 0; c < 20000; c++) {
		char text[5][128];
		const char *s[5];
		size_t len[5], n = 1 + xorshift(&x) % 5, total, fs[5], fe[5];
		uint8_t cp[5 * 128], bnd[5 * 128];
		uint32_t at[5 * 128];
		size_t n_bnd = 0;
		long rl;
		int rc;

		for (size_t f = 0; f < n; f++) {
			len[f] = lane_field(text[f], &x, 80);
			free(own[f]);
			own[f] = malloc(len[f] ? len[f] : 1);
			assert_non_null(own[f]);
			memcpy(own[f], text[f], len[f]);
			s[f] = own[f];
		}
		rl = ascii_fields(sk, s, len, n, cp, bnd, at, fs, fe);
		memset(filter, 0, sizeof(*filter));
		rc = look_every_lane(sk, s, len, n, filter, g, gb, compared);
		if (rl < 0) {
			assert_int_equal(rc, -1);
			refused++;
			continue;
		}
		total = (size_t)rl;
		read++;
		assert_int_equal(rc, 0);
		for (size_t f = 0, plain = 1; f < n; f++) {
			uint32_t cps[128];

			/* read by the lane alone: no byte it leaves to the byte loop */
			for (size_t i = 0; i < len[f]; i++)
				plain &= (uint8_t)s[f][i] < 0x80 && !strchr("%&(<[\\{|", s[f][i]);
			lane += f == n - 1 && plain;
			/* a byte the loop reads, and 16 or more for the SSE2 lane to go on with */
			for (size_t i = 0; len[f] >= 32 && i < len[f]; i++)
				if (strchr("([{%<", s[f][i]) && s[f][i]) {
					resumed++;
					break;
				}
			/* one in the first 32 bytes, and a whole 32 after them for the AVX2 lane */
			for (size_t i = 0; len[f] >= 64 && i < 32; i++)
				if (strchr("([{%<", s[f][i]) && s[f][i]) {
					resumed32++;
					break;
				}

			assert_int_equal(policy_skel_seen_field(g, f, cps, 128), fe[f] - fs[f]);
			for (size_t j = fs[f]; j < fe[f]; j++)
				assert_int_equal(cps[j - fs[f]], cp[j]);
		}
		for (size_t i = 0; i < total; i++) {
			uint32_t pat[4];

			if (bnd[i] == POLICY_SKEL_NONE || i + 4 > total)
				continue;
			for (size_t j = 0; j < 4; j++)
				pat[j] = cp[i + j];
			policy_skel_look_add(filter, pat, 4);
			n_bnd++;
		}
		look_every_lane(sk, s, len, n, filter, g, gb, compared);
		if (g->n_hits > POLICY_SKEL_LOOK_HITS || g->crossing || n_bnd == 0)
			continue;
		/* nothing crossed a field's end: every boundary with 4 code points in its field */
		for (size_t i = 0, h = 0; i < total; i++) {
			size_t f = 0;

			while (i >= fe[f])
				f++;
			if (bnd[i] == POLICY_SKEL_NONE || i + 4 > fe[f])
				continue;
			assert_true(h < g->n_hits);
			while (h < g->n_hits && g->hits[h] < i)
				h++;
			assert_true(h < g->n_hits && g->hits[h] == i);
		}
		listed++;
	}
	printf("policy_skeleton_look's lanes: %zu calls read as the byte loop reads them (%zu by "
	       "a lane alone, fields where it goes on after the loop: %zu for 16 bytes, %zu for "
	       "32), %zu refused by all, %zu with every boundary listed; calls compared: SSE2 "
	       "%zu, AVX2 %zu\n",
	       read, lane, resumed, resumed32, refused, listed, compared[POLICY_SKEL_LANE_SSE2],
	       compared[POLICY_SKEL_LANE_AVX2]);
	assert_true(read >= 2000 && lane >= 1000 && resumed >= 500 && resumed32 >= 100 &&
		    refused >= 1000 && listed >= 500);
	for (size_t f = 0; f < 5; f++)
		free(own[f]);
	free(filter);
	free(g);
	free(gb);
}

/*
 * The AVX2 lane reads a field of under 16 bytes and a next one of at most 16 in one block, a
 * half each (policy/skeleton.c look_pair32()). Cases that take that path, and its edges, each
 * against the byte loop (look_every_lane()) and policy_skeleton_ascii(): a second field whose
 * first code point keeps its boundary only if nothing of the first is carried into it
 * (lower-case after a letter, a digit after a digit), a second field of exactly 16 bytes, a
 * first of 16 (not paired: its last byte would run into the second's first), a byte the lane
 * leaves to the byte loop in either field (both read again one by one), empty fields, and
 * runs of short fields (pairs, then one left). Each field in a block of its own length, so
 * that ASan sees a read past it. Fails when a pair's fields, their ends or a boundary differ.
 */
static void test_skeleton_look_pairs(void **state)
{
	static const char *const pair_cases[][6] = {
		{"ab", "cd"},
		{"12", "34"},
		{"Ab", "Cd"},
		{"0x", "ab"},
		{"ab", "x7"},
		{"abcdefghijklmno", "pqrstuvwxyzabcde"},
		{"abcdefghijklmnop", "qrstuv"},
		{"abcdefghijklmno", "pqrstuvwxyzabcdef"},
		{"ab(cd", "ef"},
		{"ab", "c|d"},
		{"ab", "c%41d"},
		{"", "ab"},
		{"ab", ""},
		{"", ""},
		{"x", "y", "z", "w", "v"},
		{"tlp", "green", "CERT Alpha 12 described at length, more than 32 bytes", "apt",
		 "c2"},
		{"member", "17", "ns", "cert-m7.example"},
	};
	const struct policy_skeleton *sk = policy_skeleton_shared();
	struct policy_skel_look *filter = calloc(1, sizeof(*filter));
	struct policy_skel_seen *g = malloc(sizeof(*g)), *gb = malloc(sizeof(*gb));
	size_t compared[POLICY_SKEL_LANES] = {0};

	(void)state;
	assert_non_null(sk);
	assert_non_null(filter);
	assert_non_null(g);
	assert_non_null(gb);
	for (size_t c = 0; c < sizeof(pair_cases) / sizeof(*pair_cases); c++) {
		char *own[6] = {NULL};
		const char *s[6];
		size_t len[6], n = 0, fs[6], fe[6];
		uint8_t cp[256], bnd[256];
		uint32_t at[256];
		long rl;
		int rc;

		for (; n < 6 && pair_cases[c][n]; n++) {
			len[n] = strlen(pair_cases[c][n]);
			own[n] = malloc(len[n] ? len[n] : 1);
			assert_non_null(own[n]);
			memcpy(own[n], pair_cases[c][n], len[n]);
			s[n] = own[n];
		}
		rl = ascii_fields(sk, s, len, n, cp, bnd, at, fs, fe);
		rc = look_every_lane(sk, s, len, n, filter, g, gb, compared);
		/* the markup and '|' pair_cases are refused by every reader alike */
		assert_int_equal(rc, rl < 0 ? -1 : 0);
		if (rl >= 0) {
			assert_int_equal(g->o, (size_t)rl);
			for (size_t f = 0; f < n; f++) {
				assert_int_equal(g->fs[f], fs[f]);
				assert_int_equal(g->fe[f], fe[f]);
			}
			for (long k = 0; k < rl; k++)
				assert_int_equal(g->c[k],
						 cp[k] | (bnd[k] != POLICY_SKEL_NONE ? 0x80 : 0));
		}
		for (size_t f = 0; f < n; f++)
			free(own[f]);
	}
	printf("look pairs: %zu cases, compared with the byte loop: SSE2 %zu, AVX2 %zu\n",
	       sizeof(pair_cases) / sizeof(*pair_cases), compared[POLICY_SKEL_LANE_SSE2],
	       compared[POLICY_SKEL_LANE_AVX2]);
	free(filter);
	free(g);
	free(gb);
}

/*
 * More places pass than the look lists: every gram in the filter (all its bits set), one
 * field of 67 to 200 words of two letters ("ab ab ..."), a boundary every two code points.
 * The first POLICY_SKEL_LOOK_HITS places are listed, in order, and @crossing says that more
 * passed (the places listed all end inside the field: only the count can say it), by every
 * lane and by policy_skel_look_reading(). Fails when the look drops the places past its list
 * without saying so (checked: the look's "many" left out), or lists them out of order.
 */
static void test_skeleton_look_many(void **state)
{
	const struct policy_skeleton *sk = policy_skeleton_shared();
	struct policy_skel_look *filter = malloc(sizeof(*filter));
	struct policy_skel_seen *g = malloc(sizeof(*g));
	char text[600];

	(void)state;
	assert_non_null(sk);
	assert_non_null(filter);
	assert_non_null(g);
	memset(filter->w, 0xFF, sizeof(filter->w));
	filter->short_lens = 0;
	for (size_t words = POLICY_SKEL_LOOK_HITS + 3; words <= 200; words += 7) {
		const char *s = text;
		size_t len = 3 * words - 1, total = 2 * words, fs = 0, fe = total;
		/* @len entries each, as policy_skeleton_ascii()'s contract asks */
		uint8_t cp[sizeof(text)], bnd[sizeof(text)];
		uint32_t at[sizeof(text)];

		if (__BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__)
			break; /* the look refuses there */
		for (size_t w = 0; w < words; w++)
			memcpy(text + 3 * w, "ab ", 3);
		assert_int_equal(policy_skeleton_ascii(sk, text, len, cp, bnd, at), (long)total);
		for (int l = -1; l < POLICY_SKEL_LANES; l++) {
			enum policy_skel_lane lane = (enum policy_skel_lane)l;
			int rc;

			if (l < 0)
				rc = policy_skel_look_reading(filter, cp, bnd, &fs, &fe, 1, total,
							      g);
			else if (policy_skeleton_lane_usable(sk, lane))
				rc = policy_skeleton_look_with(sk, lane, &s, &len, 1, filter, g);
			else
				continue;
			assert_int_equal(rc, 1);
			assert_int_equal(g->n_hits, POLICY_SKEL_LOOK_HITS);
			for (size_t h = 0; h < g->n_hits; h++)
				assert_int_equal(g->hits[h], 2 * h);
			assert_true(g->crossing);
		}
	}
	free(filter);
	free(g);
}

/*
 * policy_skeleton_ascii_bounds() against policy_skeleton_map(): on random texts of letters of
 * either case, digits, "0x" and separators (the token among them) that policy_skeleton_ascii()
 * reads, the boundaries it computes from that reading, over the whole text and between random
 * places, are the full map's. Fails with the "CERTAlpha" rule, the "0x" rule (or its chains,
 * "0x0x") or the raise of a code point by the one after it left out.
 */
static const char *const bounds_parts[] = {
	"CERT", "Alpha", "alpha", "ALPHA", "AB1c", "Ab", "aB", "ABc", "I", "m", "x", "X",
	"0",	"0x",	 "0X",	  "0x0x",  "42",   "7",	 "a1", "1a",  " ", "-", ".", "[member]"};

static void test_skeleton_ascii_bounds(void **state)
{
	const struct policy_skeleton *sk = policy_skeleton_shared();
	uint64_t x = 0x5eed0fb0u;
	size_t checked = 0, soft = 0, hard_0x = 0;

	(void)state;
	assert_non_null(sk);
	for (int c = 0; c < 20000; c++) {
		char text[256];
		uint8_t cp[256], bnd[256], out[257];
		uint32_t at[256];
		size_t o = random_text_of(text, &x, 16, bounds_parts,
					  sizeof(bounds_parts) / sizeof(*bounds_parts)),
		       a, b;
		struct policy_skel_text full = {0};
		long n;

		n = policy_skeleton_ascii(sk, text, o, cp, bnd, at);
		assert_true(n >= 0);
		assert_int_equal(policy_skeleton_map(sk, text, o, 0, 0, &full), 0);
		assert_int_equal(full.len, (size_t)n);
		for (int round = 0; n > 0 && round < 4; round++) {
			/* the whole text first, then from a random hard boundary to a random end */
			a = 0;
			b = (size_t)n;
			if (round > 0) {
				a = xorshift(&x) % (size_t)n;
				b = a + xorshift(&x) % ((size_t)n - a + 1);
			}
			memset(out, 0xEE, sizeof(out));
			policy_skeleton_ascii_bounds(sk, text, bnd, at, (size_t)n, a, b, out);
			for (size_t j = a; j < b; j++) {
				assert_int_equal(out[j - a], full.bnd[j]);
				soft += full.bnd[j] == POLICY_SKEL_SOFT;
				hard_0x += full.bnd[j] == POLICY_SKEL_HARD &&
					   bnd[j] != POLICY_SKEL_HARD;
				checked++;
			}
			assert_int_equal(out[b - a], 0xEE); /* nothing past @b - @a entries */
		}
		policy_skel_text_deinit(&full);
	}
	printf("policy_skeleton_ascii_bounds: %zu boundaries as the full map's (%zu soft, %zu "
	       "hard after \"0x\")\n",
	       checked, soft, hard_0x);
	assert_true(checked >= 100000 && soft >= 10000 && hard_0x >= 1000);
}

/*
 * Dropping a field brings its neighbours together: "ab", "ab", "abab" around a dropped field
 * read as 8 hex digits of Acme's id once the field between them is gone, though no reading of
 * the inputs holds them. The fields left must name nobody, read together; both paths agree.
 */
static void test_drop_brings_together(void **state)
{
	struct policy_redactor *rd = fixture();
	const char *in[] = {"ab", "SG ACME CSIRT", "ab", "abab"};
	struct policy_redact_field f[2][4];
	char out[2][4][64];
	const char *left[4];
	size_t left_len[4], m = 0;

	(void)state;
	for (int p = 0; p < 2; p++)
		for (int i = 0; i < 4; i++)
			f[p][i] = (struct policy_redact_field){.in = in[i],
							       .len = strlen(in[i]),
							       .out = out[p][i],
							       .cap = sizeof(out[p][i])};
	assert_int_equal(policy_redact_fields(rd, f[0], 4), 0);
	assert_int_equal(policy_redact_fields_full(rd, f[1], 4), 0);
	assert_true(f[0][1].dropped);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(f[0][i].dropped, f[1][i].dropped);
		assert_string_equal(f[0][i].out, f[1][i].out);
		if (!f[0][i].dropped) {
			left[m] = f[0][i].out;
			left_len[m++] = f[0][i].out_len;
		}
	}
	assert_int_equal(policy_redact_names_fields(rd, left, left_len, m, NULL, NULL), 0);
	policy_redact_free(rd);
}

/*
 * policy_redact_fields() on the @n fields @in must give the full path's outputs, and the full
 * path must drop exactly the fields @dropped names (a string of '0' and '1', one a field).
 */
static void as_full(struct policy_redactor *rd, const char *const *in, size_t n,
		    const char *dropped)
{
	struct policy_redact_field f[2][4];
	char out[2][4][64];

	assert_true(n <= 4 && strlen(dropped) == n);
	for (int p = 0; p < 2; p++)
		for (size_t i = 0; i < n; i++)
			f[p][i] = (struct policy_redact_field){.in = in[i],
							       .len = strlen(in[i]),
							       .out = out[p][i],
							       .cap = sizeof(out[p][i])};
	assert_int_equal(policy_redact_fields(rd, f[0], n), 0);
	assert_int_equal(policy_redact_fields_full(rd, f[1], n), 0);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(f[1][i].dropped, dropped[i] == '1');
		assert_int_equal(f[0][i].dropped, f[1][i].dropped);
		assert_string_equal(f[0][i].out, f[1][i].out);
	}
}

/* A redactor of @n members from @tm (the fixture's roster has a literal pattern: every text
 * to the fast path, where these tests need the quick one). */
static struct policy_redactor *redactor_of(const struct tmember *tm, size_t n)
{
	struct proto_roster *r = roster_build(tm, n, 1);
	const struct proto_roster *rs[] = {r};
	struct policy_redactor *rd = policy_redact_new(rs, 1);

	assert_non_null(rd);
	proto_roster_free(r);
	return rd;
}

/*
 * Redaction changes a field's tail, and only then does it name a member with the head of a
 * field that is not the next: "ab ACME" loses "ACME" and ends "ab", which with "ababab" (a
 * third field) reads 8 hex digits of Acme's id between separators; neither input pair held
 * them. The verifying read must test that pair again (the quick path splices the outputs'
 * reading and carries the inputs' hits over): both fields dropped, every path as the full
 * path. Fails when the spliced reading's pairs are not tested again (no other test did).
 */
static void test_pair_after_redaction(void **state)
{
	static const struct tmember acme[] = {
		{"Acme CERT", {"ACME"}, {NULL}, {NULL}, 0xAB, 0xCD, 0xEF}};
	struct policy_redactor *rd = redactor_of(acme, 1);
	const char *in[] = {"ab ACME", "tlp green", "ababab z"};

	(void)state;
	as_full(rd, in, 3, "101");
	policy_redact_free(rd);
}

/*
 * chain_drop() on the outputs of a call that redacted something asks a field whose output is
 * its input on the inputs' quick reading, and counts only the others. Here the chain
 * node.acmenet.example is seen only by chain_drop() (no reading in order or as a pair holds
 * its three words): with its middle piece a field that left unchanged beside one that was
 * redacted, and with its middle piece a field that is a piece only once "ACME" is taken out
 * (its input is none). All three pieces are dropped, as by the full path. Fails when a field
 * left unchanged is never taken for a middle piece, and when a redacted field is judged by
 * its input (each checked).
 */
static void test_chain_after_redaction(void **state)
{
	struct policy_redactor *rd = redactor_of(members, 3);
	const char *same[] = {"ACME", "example host", "seen on node", "acmenet"};
	const char *changed[] = {"example host", "seen on node", "acmenet ACME"};

	(void)state;
	as_full(rd, same, 4, "0111");
	as_full(rd, changed, 3, "111");
	policy_redact_free(rd);
}

/*
 * chain_drop()'s first test, its count 16 bytes a step against its byte loop
 * (policy_redact_chain_candidates()): on 1 to 3 random fields of the fixture's words (its
 * names of three or more words), the redaction token, bytes that may start markup, an escape
 * or a defang word, non-ASCII and separators, the same answer. Both answers must come up, and
 * fields whose first 16 bytes hold a token or another such byte, and fields with more code
 * points than the longest word run. Fails when the step counts a code point after the first
 * such byte, takes another byte for the token, or skips a byte past a token (each checked;
 * a token's last byte left to the byte loop is a separator there, the same count).
 */
static const char *const chain_parts[] = {"Acme",
					  "Computer",
					  "Emergency",
					  "Response",
					  "Team",
					  "acmenet",
					  "node",
					  "example",
					  "CSIRT",
					  "G\xc3\xa9n\xc3\xa9rale",
					  "Soci\xc3\xa9t\xc3\xa9",
					  " ",
					  "-",
					  ".",
					  "[member]",
					  "[member",
					  "(",
					  "%",
					  "&",
					  "<",
					  "|",
					  "{",
					  "\\",
					  "[",
					  "x",
					  "42",
					  "Ab"};

static void test_chain_candidates_lane(void **state)
{
	struct policy_redactor *rd = fixture();
	uint64_t x = 0xc4a1c4a1c4a1c4a1ull;
	size_t yes = 0, no = 0, slow16 = 0, long_fields = 0;

	(void)state;
	for (int c = 0; c < 40000; c++) {
		char text[3][256];
		const char *s[3];
		size_t len[3], n = 1 + (size_t)c % 3;
		int bytes, lane;

		for (size_t f = 0; f < n; f++) {
			len[f] = random_text_of(text[f], &x, 1 + xorshift(&x) % 20, chain_parts,
						sizeof(chain_parts) / sizeof(*chain_parts));
			s[f] = text[f];
			slow16 += len[f] >= 16 && strcspn(text[f], "[(%&<|{\\\xc3") < 16;
			long_fields += len[f] >= 64;
		}
		bytes = policy_redact_chain_candidates(rd, s, len, n, false);
		lane = policy_redact_chain_candidates(rd, s, len, n, true);
#if defined(__SSE2__)
		if (lane < 0)
			fail_msg(
				"no lane: chain_classes16() disagrees with the fixture's chain_tab");
#else
		if (lane < 0)
			skip(); /* no lane in this build */
#endif
		if (bytes != lane)
			fail_msg(
				"\"%.*s\" \"%.*s\" \"%.*s\" (%zu fields): byte loop %d, 16 a step %d",
				(int)len[0], text[0], n > 1 ? (int)len[1] : 0, text[1],
				n > 2 ? (int)len[2] : 0, text[2], n, bytes, lane);
		yes += bytes == 1;
		no += bytes == 0;
	}
	printf("policy_redact_chain_candidates: %zu candidates, %zu none; %zu fields of 16+ "
	       "bytes with a byte that may start markup in their first 16, %zu of 64+ bytes\n",
	       yes, no, slow16, long_fields);
	assert_true(yes > 1000 && no > 1000 && slow16 > 1000 && long_fields > 1000);
	policy_redact_free(rd);
}

/*
 * The verifying read's window prefilter (splice_none()'s window_passes()): its SSE2 lane and
 * its byte loop give the same bits on windows made of pieces of the fixture's names, digits,
 * separators and other bytes (high bits included, which both read & 0x7F), boundaries at
 * random. Some windows must pass and some not, and every place must pass in some window.
 */
static void test_window_pass_lane(void **state)
{
	static const char *const parts[] = {
		"acme", "cert", "csirt", "emergency", "wild", "example", "soc",	 "zeta", "42", "7",
		" ",	".",	"\x01",	 "\x80",      "\xc3", "\xe1",	 "\xff", "q",	 "x"};
	struct policy_redactor *rd = fixture();
	uint64_t x = 0x5eed5eed5eed5eedull;
	size_t any = 0, none = 0;
	unsigned places = 0;

	(void)state;
	for (int w = 0; w < 200000; w++) {
		uint8_t cp[16], bnd[8];
		int bytes, lane;

		for (size_t i = 0; i < sizeof(cp);) {
			const char *p = parts[xorshift(&x) % (sizeof(parts) / sizeof(*parts))];

			for (; *p && i < sizeof(cp); p++)
				cp[i++] = (uint8_t)*p;
		}
		for (size_t i = 0; i < sizeof(bnd); i++)
			bnd[i] = xorshift(&x) % 3 ? 0 : (uint8_t)(1 + xorshift(&x) % 2);
		bytes = policy_redact_window_pass(rd, cp, bnd, false);
		lane = policy_redact_window_pass(rd, cp, bnd, true);
#if defined(__SSE2__)
		if (lane < 0)
			fail_msg("no lane in an SSE2 build");
#else
		if (lane < 0)
			skip(); /* no lane in this build */
#endif
		if (bytes != lane)
			fail_msg("window %d: byte loop %#x, lane %#x", w, bytes, lane);
		any += bytes != 0;
		none += bytes == 0;
		places |= (unsigned)bytes;
	}
	printf("policy_redact_window_pass: %zu windows passed, %zu not\n", any, none);
	assert_true(any > 1000 && none > 1000 && places == 0xFF);
	policy_redact_free(rd);
}

static const struct tmember alpha_bravo[] = {
	{"CERT Alpha", {NULL}, {NULL}, {NULL}, 0x12, 0x34, 0x56},
	{"Bravo Bank", {NULL}, {NULL}, {NULL}, 0x78, 0x9A, 0xBC}};

/*
 * A pair whose head changed past its first 4 code points: "rtal Bravo Bank pha amber" loses
 * "Bravo Bank", and its head "rtal" now runs on into "pha", so with the first field's tail
 * "ce" the pair reads CERT Alpha. In the input that pair read "certalbr", which the first
 * look's 8-code-point filter rejects; the verifying read must test the pair again (the
 * splice may carry a pair's verdict over only where its first HIT_WINDOW code points are the
 * input's).
 */
static void test_pair_head_after_redaction(void **state)
{
	struct policy_redactor *rd = redactor_of(alpha_bravo, 2);
	const char *in[] = {"xyz ce", "tlp green", "rtal Bravo Bank pha amber"};

	(void)state;
	as_full(rd, in, 3, "101");
	policy_redact_free(rd);
}

/*
 * The same with the pair's tail 4 to 7 code points long, in a field the splice left alone:
 * "xyz certal" ends in "certal", and "Bravo Bank pha amber" loses "Bravo Bank", so its head
 * becomes "pha": the pair reads CERT Alpha. The first look tested that tail with the 8-code-
 * point pair filter (look_more()), against the input's head "bravobankpha", and passed
 * nothing there; quick_pairs() reads tails of at most SHORT_LEN - 1. So a carried-over "no"
 * for a place in some other field's tail is wrong once a head changed: the verifying read
 * tests every field's last HIT_WINDOW - 1 places again, and the pairs. Fails when
 * spliced_hits() carries hits over a changed head without those tests (the fast path then
 * emitted "[member] pha amber" / "xyz certal").
 */
static void test_pair_long_tail_after_redaction(void **state)
{
	struct policy_redactor *rd = redactor_of(alpha_bravo, 2);
	const char *two[] = {"Bravo Bank pha amber", "xyz certal"};
	const char *three[] = {"Bravo Bank pha", "tlp green", "xyz certal"};
	const char *control[] = {"Bravo Bank xpha amber", "xyz certal"};

	(void)state;
	as_full(rd, two, 2, "11");
	as_full(rd, three, 3, "101");
	as_full(rd, control, 2, "00");
	policy_redact_free(rd);
}

/*
 * The verifying read splices lazily (verify(): of each stretch of the outputs' reading only
 * the first and last code points, which the places it tests read), so a stretch longer than
 * its 16-code-point blocks must have both ends copied. "observed in the wave of CERT Bravo
 * Bank Alpha" loses "Bravo Bank" and reads CERT Alpha across the token from 4 code points
 * before the break, at the end of a 23-code-point stretch; the same at the head of a long
 * stretch after the token, and (a changed head elsewhere) in a long field's last code points
 * read as a pair. Fails when the lazy splice copies only a stretch's first 16 (the fast path
 * then emitted the name).
 */
static void test_lazy_splice_ends(void **state)
{
	struct policy_redactor *rd = redactor_of(alpha_bravo, 2);
	const char *tail[] = {"observed in the wave of CERT Bravo Bank Alpha"};
	const char *head[] = {"CERT Bravo Bank Alpha observed in the wave"};
	const char *pair[] = {"Bravo Bank pha amber", "the wave was seen by xyz certal"};
	const char *control[] = {"observed in the wave of CERT Bravo Bank xAlpha"};

	(void)state;
	as_full(rd, tail, 1, "1");
	as_full(rd, head, 1, "1");
	as_full(rd, pair, 2, "11");
	as_full(rd, control, 1, "0");
	policy_redact_free(rd);
}

/*
 * The lazy splice's hit list is kept when verify() completes the reading (it is not listed
 * again): "CERT Alph Bravo Bank a" loses "Bravo Bank" and reads CERT Alpha from its first
 * place, which lies more than HIT_WINDOW - 1 code points before the break, so only the
 * input's hit there, carried over, names it; in a long field, and with "xa" (no name) as the
 * control. Fails when the kept list is lost on the way to the whole splice (checked: verify()
 * without splice_whole()'s restore and quick_splice() resetting @q's hits; the default path
 * then emitted "CERT Alph [member] a"), and when spliced_hits() carries no hit over.
 */
static void test_lazy_list_kept(void **state)
{
	struct policy_redactor *rd = redactor_of(alpha_bravo, 2);
	const char *carried[] = {"CERT Alph Bravo Bank a"};
	const char *lng[] = {"observed in the wave of CERT Alph Bravo Bank a, twice"};
	const char *two[] = {"tlp green", "CERT Alph Bravo Bank a"};
	const char *control[] = {"CERT Alph Bravo Bank xa"};

	(void)state;
	as_full(rd, carried, 1, "1");
	as_full(rd, lng, 1, "1");
	as_full(rd, two, 2, "01");
	as_full(rd, control, 1, "0");
	policy_redact_free(rd);
}

/*
 * Redact @n fields @in by the fast path, the full path and the tests' quick-only path (which
 * also checks its spliced reading against a read of the outputs and its marks against the
 * full path's): each output must be @want's, with @red tokens in all.
 */
static void heap_case(const struct policy_redactor *rd, const char *const *in, size_t n,
		      const char *const *want, size_t red)
{
	enum { CAP = 2048 };
	struct policy_redact_field *f = calloc(3 * n, sizeof(*f));
	char *out = calloc(3 * n, CAP);

	assert_non_null(f);
	assert_non_null(out);
	for (size_t p = 0; p < 3; p++)
		for (size_t i = 0; i < n; i++)
			f[p * n + i] = (struct policy_redact_field){.in = in[i],
								    .len = strlen(in[i]),
								    .out = out + (p * n + i) * CAP,
								    .cap = CAP};
	assert_int_equal(policy_redact_fields(rd, f, n), 0);
	assert_int_equal(policy_redact_fields_full(rd, f + n, n), 0);
	/* 0: the quick path decided, its splice read as the outputs do, its marks the full's */
	assert_int_equal(policy_redact_fields_quick_only(rd, f + 2 * n, n), 0);
	for (size_t p = 0; p < 3; p++) {
		size_t got = 0;

		for (size_t i = 0; i < n; i++) {
			assert_false(f[p * n + i].dropped);
			assert_string_equal(f[p * n + i].out, want[i]);
			got += f[p * n + i].n_redacted;
		}
		assert_int_equal(got, red);
	}
	free(out);
	free(f);
}

/*
 * The redactor's heap fallbacks, against outputs written here (the paths share emit() and
 * the runs, so comparing them alone would miss a fault in both): more masked runs in one
 * call than the runs list holds on the stack (mask_runs() grows it), a masked view whose
 * joined text and mask pass join()'s frame buffer, and more fields than the quick reading
 * keeps on the stack (the input's reading and the splice's on the heap: splice_copy()'s
 * copy without slack).
 */
static void test_redact_heap_paths(void **state)
{
	static const struct tmember acme[] = {
		{"Acme CERT", {"ACME"}, {NULL}, {NULL}, 0xAB, 0xCD, 0xEF}};
	struct proto_roster *r = roster_build(acme, 1, 1);
	const struct proto_roster *rs[] = {r};
	struct policy_redactor *rd = policy_redact_new(rs, 1);
	char a_in[512] = "", a_want[1024] = "", b_in[1024] = "", b_want[1024] = "";
	char c_in[40][16], c_want[40][32];
	const char *in[40], *want[40];

	(void)state;
	assert_non_null(rd);
	proto_roster_free(r);
	/* (a) 20 runs in one field: past RUNS_STACK (16) */
	for (int k = 0; k < 20; k++) {
		strcat(a_in, k ? " x ACME" : "ACME");
		strcat(a_want, k ? " x " POLICY_REDACT_TOKEN : POLICY_REDACT_TOKEN);
	}
	in[0] = a_in;
	want[0] = a_want;
	heap_case(rd, in, 1, want, 20);
	/* (b) one name in 600 bytes: 2 * 601 + 16 bytes of text and mask, past JOIN_STACK */
	for (int k = 0; strlen(b_in) < 600; k++) {
		strcat(b_in, k == 40 ? "ACME " : "lorem ");
		strcat(b_want, k == 40 ? POLICY_REDACT_TOKEN " " : "lorem ");
	}
	assert_true(strlen(b_in) > 600);
	in[0] = b_in;
	want[0] = b_want;
	heap_case(rd, in, 1, want, 1);
	/* (c) 40 fields, past QUICK_FIELDS (32), the name in the 30th */
	for (int i = 0; i < 40; i++) {
		snprintf(c_in[i], sizeof(c_in[i]), i == 29 ? "see ACME here" : "tag%d", i);
		snprintf(c_want[i], sizeof(c_want[i]),
			 i == 29 ? "see " POLICY_REDACT_TOKEN " here" : "tag%d", i);
		in[i] = c_in[i];
		want[i] = c_want[i];
	}
	heap_case(rd, in, 40, want, 1);
	policy_redact_free(rd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drop_brings_together),
		cmocka_unit_test(test_pair_after_redaction),
		cmocka_unit_test(test_chain_after_redaction),
		cmocka_unit_test(test_chain_candidates_lane),
		cmocka_unit_test(test_window_pass_lane),
		cmocka_unit_test(test_pair_head_after_redaction),
		cmocka_unit_test(test_pair_long_tail_after_redaction),
		cmocka_unit_test(test_lazy_splice_ends),
		cmocka_unit_test(test_lazy_list_kept),
		cmocka_unit_test(test_redact_heap_paths),
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_nospace),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_several_rosters),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_binary_input),
		cmocka_unit_test(test_expanding_units),
		cmocka_unit_test(test_shared_prefixes),
		cmocka_unit_test(test_fields_any_order),
		cmocka_unit_test(test_fields_chains),
		cmocka_unit_test(test_skeleton_ascii),
		cmocka_unit_test(test_skeleton_look),
		cmocka_unit_test(test_skeleton_look_lane),
		cmocka_unit_test(test_skeleton_look_pairs),
		cmocka_unit_test(test_skeleton_look_many),
		cmocka_unit_test(test_skeleton_seen_reading),
		cmocka_unit_test(test_skeleton_look_reading_entries),
		cmocka_unit_test(test_memo),
		cmocka_unit_test(test_memo_one_offs),
		cmocka_unit_test(test_skeleton_table_loops),
		cmocka_unit_test(test_skeleton_ascii_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
