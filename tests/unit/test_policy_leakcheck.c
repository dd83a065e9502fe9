/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_policy_leakcheck.c — the integration tests' leak oracle itself
 * (tests/tools/leakcheck.h, on policy/skeleton.h), so that it cannot silently pass
 * everything: every class of spelling issue 12 lists is found in an output (also inside
 * JSON, binary and an output of several MiB, across a piece boundary), the controls of the
 * leak corpus are not, and a hit names the right pattern and bytes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "leakcheck.h"

#define KEY_HEX "a3e6fcc436ffdfc3a61ac07111e91afc9c9b084b28c7dd76a2253bdde5702200"
/* base64 of the 32 bytes above; its URL-safe form differs in '+' and '/' only */
#define KEY_B64 "o+b8xDb/38OmGsBxEeka/JybCEsox912oiU73eVwIgA="
#define KEY_B64URL "o-b8xDb_38OmGsBxEeka_JybCEsox912oiU73eVwIgA"

static struct leakcheck *lc;

static int setup(void **state)
{
	(void)state;
	lc = leakcheck_new();
	if (!lc)
		return -1;
	if (leakcheck_add(lc, LEAKCHECK_NAME, "name", "CERT Alpha") ||
	    leakcheck_add(lc, LEAKCHECK_NAME, "alias", "Alpha National CSIRT") ||
	    leakcheck_add(lc, LEAKCHECK_NAME, "short", "GRT") ||
	    leakcheck_add(lc, LEAKCHECK_NAME, "run", "BetaSOC") ||
	    leakcheck_add(lc, LEAKCHECK_HOST, "domain", "alpha.example") ||
	    leakcheck_add(lc, LEAKCHECK_HOST, "addr", "127.0.0.1:40123") ||
	    leakcheck_add(lc, LEAKCHECK_HEX, "hex", KEY_HEX) ||
	    leakcheck_add(lc, LEAKCHECK_B64, "b64", KEY_B64))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	leakcheck_free(lc);
	return 0;
}

/* The labels found in @len bytes at @s, joined with ',' in order of offset ("" for none). */
static const char *found_n(const char *s, size_t len)
{
	static char out[256];
	struct leakcheck_hit h[16];
	long n = leakcheck_scan(lc, s, len, h, 16);

	assert_true(n >= 0 && n <= 16);
	out[0] = '\0';
	for (long i = 0; i < n; i++) {
		if (strstr(out, h[i].label))
			continue;
		if (out[0])
			strcat(out, ",");
		strcat(out, h[i].label);
	}
	return out;
}

static const char *found(const char *s)
{
	return found_n(s, strlen(s));
}

static void expect(const char *text, const char *label)
{
	const char *got = found(text);

	if (!strstr(got, label)) {
		print_error("not found: %s in \"%s\" (found \"%s\")\n", label, text, got);
		fail();
	}
}

static void test_spellings_found(void **state)
{
	static const char *name[] = {
		"Reported by CERT Alpha yesterday",
		"cert alpha saw it",
		"CERTAlpha saw it",
		"certalpha saw it",
		"CERT_ALPHA, C.E.R.T. Alpha, C E R T Alpha",
		"CERT Alpha's analysts",
		"both CERT Alphas agree",
		"\xd0\xa1\xd0\x95R\xd0\xa2 \xd0\x90l\xd1\x80h\xd0\xb0", /* Cyrillic lookalikes */
		"C\xce\x95R\xce\xa4 \xce\x91lph\xce\xb1",		/* Greek lookalikes */
		"\xcf\xb9"
		"ERT Alpha, \xcf\xb2"
		"ert alpha", /* lunate sigma (fixed in 4c6c616) */
		"\xf0\x9d\x90\x82\xf0\x9d\x90\x84\xf0\x9d\x90\x91\xf0\x9d\x90\x93 Alpha", /* bold */
		"\xef\xbc\xa3\xef\xbc\xa5\xef\xbc\xb2\xef\xbc\xb4 Alpha", /* full-width */
		"CERT Al\xc2\xadpha",					  /* soft hyphen */
		"CERT Al\xe2\x80\x8bpha",				  /* zero width */
		"CERT Alph\x61\xcc\x81",				  /* combining mark */
		"CERT&nbsp;Alpha",
		"<b>CERT</b> Alpha",
		"CERT%20Alpha",
		"CERT%2520Alpha",
		"CERT \\u0041lpha",
		"{\"tags\":[\"CERT\",\"Alpha\"],\"description\":\"x\"}", /* side by side in JSON */
		"\x05"
		"CERT\xa3"
		"Alpha\xff", /* between length prefixes */
	};
	static const char *alias[] = {
		"the AlphaNationalCSIRT team",
		"alpha-national-csirt confirmed",
		"Alpha National CSIRT's report",
	};
	static const char *other[][2] = {
		{"per GRT", "short"},
		{"per G.R.T.", "short"},
		{"two BetaSOCs", "run"},
		{"ask Beta SOC", "run"},
		{"ask beta-soc", "run"},
		{"ask BETA_SOC", "run"},
		{"mail soc@alpha.example", "domain"},
		{"alpha[.]example", "domain"},
		{"alpha(.)example", "domain"},
		{"alpha[dot]example", "domain"},
		{"alpha dot example", "domain"},
		{"hxxps://portal.alpha[.]example/x", "domain"},
		{"ALPHA.EXAMPLE", "domain"},
		{"peer 127.0.0.1:40123 up", "addr"},
		{"id a3e6fcc436ffdfc3 signed", "hex"},
		{"id A3E6FCC436FFDFC3 signed", "hex"},
		{"id a3e6fcc4", "hex"},
		{"0xa3e6fcc436ffdfc3", "hex"},
		{"a3e6fcc436ffdfc3zz runs on: 16 digits end anywhere", "hex"},
		{"\xe9\x8d\xb5"
		 "a3e6fcc4\xe3\x82\x92",
		 "hex"},
		{"a3:e6:fc:c4:36:ff:df:c3", "hex"},
		{"a3 e6 fc c4 36 ff", "hex"},
		{"k=" KEY_HEX, "hex"},
		{"key " KEY_B64, "b64"},
		{"key " KEY_B64URL, "b64"},
		{"key o+b8xDb/38OmGsBx...", "b64"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(name) / sizeof(name[0]); i++)
		expect(name[i], "name");
	for (size_t i = 0; i < sizeof(alias) / sizeof(alias[0]); i++)
		expect(alias[i], "alias");
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		expect(other[i][0], other[i][1]);
}

static void test_controls_not_found(void **state)
{
	static const char *text[] = {
		"alphabet.example is a different site",
		"alphanumeric characters only, sorted in alphabetical order",
		"notalpha.example is unrelated",
		"certalphabet CERTAlphabet",
		"betasocial.example is unrelated",
		"ogrt and grtx are tokens",
		"a CERT report, the National CSIRT network, a SOC analyst",
		"deadbeefcafebabe is a sample hash",
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"first seen by [member] at 09:00",
		"CERT [member] and [member] National CSIRT",
		"id a3e6fcc too short",
		"a3e6fcc436ffdfzz runs on without a separator",
		"key o+b8xDb/38OmGsB too short",
		"127.0.0.1:40124 and 27.0.0.1:40123",
		"alpha.examples.net",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++) {
		const char *got = found(text[i]);

		if (got[0]) {
			print_error("control tripped: \"%s\" (found \"%s\")\n", text[i], got);
			fail();
		}
	}
}

static void test_hit_bytes(void **state)
{
	const char *s = "{\"description\":\"seen by C.E.R.T.&nbsp;Alpha's team\"}";
	struct leakcheck_hit h[4];
	long n;

	(void)state;
	n = leakcheck_scan(lc, s, strlen(s), h, 4);
	assert_int_equal(n, 1);
	assert_string_equal(h[0].label, "name");
	assert_int_equal(h[0].from, strchr(s, 'C') - s);
	assert_int_equal(h[0].to, strstr(s, "'s") - s);
	assert_int_equal(leakcheck_scan(lc, "", 0, h, 4), 0);
}

/* An output of 3 MiB is read in pieces: a name on either side of a cut, and across one. */
static void test_large_output(void **state)
{
	size_t len = 3u << 20;
	char *big = malloc(len);
	struct leakcheck_hit h[8];
	const char *leak = "CERT     Alpha";
	size_t at[] = {17, (1u << 20) - 9, (1u << 20) - 3, (2u << 20) - 400, len - 20};

	(void)state;
	assert_non_null(big);
	for (size_t i = 0; i < len; i++)
		big[i] = "lorem ipsum dolor sit amet, alphabet soup\n"[i % 42];
	assert_string_equal(found_n(big, len), "");
	for (size_t k = 0; k < sizeof(at) / sizeof(at[0]); k++) {
		long n;

		for (size_t i = 0; i < len; i++)
			big[i] = "lorem ipsum dolor sit amet, alphabet soup\n"[i % 42];
		big[at[k] - 1] = ' ';
		memcpy(big + at[k], leak, strlen(leak));
		big[at[k] + strlen(leak)] = ' ';
		n = leakcheck_scan(lc, big, len, h, 8);
		assert_int_equal(n, 1);
		assert_int_equal(h[0].from, at[k]);
	}
	free(big);
}

static void test_bad_patterns(void **state)
{
	struct leakcheck *x = leakcheck_new();

	(void)state;
	assert_non_null(x);
	assert_int_equal(leakcheck_add(x, LEAKCHECK_NAME, "n", "***"), -EINVAL);
	assert_int_equal(leakcheck_add(x, LEAKCHECK_HEX, "h", "a3e6fcc"), -EINVAL);
	assert_int_equal(leakcheck_add(x, LEAKCHECK_HEX, "h", "a3e6fcg436"), -EINVAL);
	assert_int_equal(leakcheck_add(x, LEAKCHECK_B64, "b", "o+b8xDb/38OmGsB="), -EINVAL);
	assert_int_equal(leakcheck_patterns(x), 0);
	assert_int_equal(leakcheck_add(x, LEAKCHECK_HOST, "d", "*.a.b.example"), 0);
	assert_int_equal(leakcheck_patterns(x), 4); /* "*." dropped; 2 dots, each "." or "dot" */
	leakcheck_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spellings_found), cmocka_unit_test(test_controls_not_found),
		cmocka_unit_test(test_hit_bytes),	cmocka_unit_test(test_large_output),
		cmocka_unit_test(test_bad_patterns),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
