/* SPDX-License-Identifier: MIT */
/*
 * bench_redact — the redactor's cost (policy/redact.h) on a roster of 500 members with 3
 * aliases and 2 domains each, in one run:
 *   1. building the redactor (patterns of every name, alias, domain and key encoding);
 *   2. microseconds per KiB of text for three texts of 4 KiB: ASCII threat-intelligence
 *      prose naming nobody, the same prose naming members every ~100 bytes in ordinary and
 *      hostile spellings, and prose half in Cyrillic and Greek (ICU is asked per code point
 *      above U+00FF);
 *   3. the ratio of each to ICU's own NFKC case folding of the same bytes (a library limit
 *      measured in the same run: the redactor does that and more per code point).
 * The redactor's memo of recent results is switched off: each call reads its text afresh,
 * which is the cost measured (with it, every call after the first would be a lookup).
 * Usage: bench_redact [SECONDS_PER_CASE]   (default 2)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include "policy/redact.h"
#include "policy/redact_test.h"
#include "proto/roster.h"

#define MEMBERS 500
#define TEXT_LEN 4096

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t xs(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* A pronounceable word of 4..9 letters, capitalised. */
static void word(uint64_t *rs, char *out)
{
	static const char c[] = "bcdfghklmnprstvz", v[] = "aeiou";
	size_t n = 4 + xs(rs) % 6, o = 0;

	for (size_t i = 0; i < n; i++)
		out[o++] = i % 2 ? v[xs(rs) % 5] : c[xs(rs) % 16];
	out[0] = (char)(out[0] - 32);
	out[o] = '\0';
}

static char names[MEMBERS][6][48];

static struct proto_roster *roster(void)
{
	static const char *kinds[] = {"CERT", "CSIRT", "SOC", "PSIRT"};
	struct proto_roster *r = proto_roster_new();
	uint64_t rs = 0x1234567;

	for (size_t i = 0; r && i < MEMBERS; i++) {
		struct proto_member m;
		char w[16], *aliases[3], *domains[2];

		memset(&m, 0, sizeof(m));
		for (size_t k = 0; k < 32; k++) {
			m.id[k] = (uint8_t)xs(&rs);
			m.transport_pk[k] = (uint8_t)xs(&rs);
			m.ring_pk[k] = (uint8_t)xs(&rs);
		}
		word(&rs, w);
		snprintf(names[i][0], 48, "%s %s", kinds[i % 4], w);
		snprintf(names[i][1], 48, "%s%s", w, kinds[(i + 1) % 4]);
		snprintf(names[i][2], 48, "%s National %s", w, kinds[i % 4]);
		snprintf(names[i][3], 48, "Team %s %zu", w, i);
		snprintf(names[i][4], 48, "%s.example", w);
		snprintf(names[i][5], 48, "cert-%s%zu.example", w, i);
		for (char *p = names[i][4]; *p; p++)
			*p = (char)(*p | 0x20);
		for (char *p = names[i][5]; *p; p++)
			*p = (char)(*p | 0x20);
		m.name = names[i][0];
		for (int k = 0; k < 3; k++)
			aliases[k] = names[i][1 + k];
		domains[0] = names[i][4];
		domains[1] = names[i][5];
		m.n_aliases = 3;
		m.aliases = aliases;
		m.n_domains = 2;
		m.domains = domains;
		if (proto_roster_add_member(r, &m) != 0) {
			proto_roster_free(r);
			return NULL;
		}
	}
	return r;
}

static const char *const prose[] = {
	"Phishing wave delivering a loader via ISO attachments; C2 over HTTPS to ",
	"a fast-flux domain. Indicators overlap with last month's campaign against ",
	"the energy sector; confidence is moderate, hashes confirmed in two sandboxes. ",
	"Observed beaconing every 300 s with jitter, user agent mimics a browser update. ",
};

/* Spellings around a name: what comes before and after it. */
static const char *const mentions[][2] = {
	{"", ""},	    {"", "'s analysts"}, {"C.E.R.T. ", ""},
	{"", "[.]example"}, {"<b>", "</b>"},	 {"the ", "&nbsp;team"},
};

static const char *const foreign[] = {
	"Фишинговая кампания против банков, ",
	"η καμπάνια συνεχίζεται με νέα δείγματα· ",
	"loader delivered via ISO attachments, C2 over HTTPS; ",
};

static size_t fill(char *buf, int kind)
{
	uint64_t rs = 99;
	size_t len = 0;

	while (len < TEXT_LEN - 200) {
		const char *p = kind == 2 ? foreign[xs(&rs) % 3] : prose[xs(&rs) % 4];

		len += (size_t)snprintf(buf + len, TEXT_LEN - len, "%s", p);
		if (kind == 1) {
			size_t m = xs(&rs) % MEMBERS;
			char w[64];

			size_t k = xs(&rs) % 6;

			snprintf(w, sizeof(w), "%s%s%s", mentions[k][0], names[m][xs(&rs) % 4],
				 mentions[k][1]);
			len += (size_t)snprintf(buf + len, TEXT_LEN - len, "%s ", w);
		}
	}
	return len;
}

/* Microseconds per KiB of ICU NFKC case folding of @len bytes (UTF-8 to UTF-16 and fold). */
static double icu_us_per_kib(const char *text, size_t len, double secs)
{
	static UChar u16[TEXT_LEN], folded[2 * TEXT_LEN];
	UErrorCode e = U_ZERO_ERROR;
	const UNormalizer2 *n = unorm2_getNFKCCasefoldInstance(&e);
	size_t iters = 0;
	double t = now_s(), el;

	do {
		int32_t n16 = 0;

		e = U_ZERO_ERROR;
		u_strFromUTF8(u16, TEXT_LEN, &n16, text, (int32_t)len, &e);
		unorm2_normalize(n, u16, n16, folded, 2 * TEXT_LEN, &e);
		if (U_FAILURE(e)) {
			fprintf(stderr, "bench_redact: ICU: %s\n", u_errorName(e));
			exit(1);
		}
		iters++;
	} while ((el = now_s() - t) < secs);
	return el * 1e6 / (double)iters / ((double)len / 1024);
}

int main(int argc, char **argv)
{
	static const char *const label[] = {"ASCII prose, no member", "ASCII prose + mentions",
					    "Cyrillic/Greek/ASCII prose"};
	double secs = argc > 1 ? atof(argv[1]) : 2.0;
	static char text[TEXT_LEN], out[POLICY_REDACT_OUT_MAX(TEXT_LEN) + 1];
	struct proto_roster *r = roster();
	const struct proto_roster *rs[1] = {r};
	struct policy_redactor *rd;
	double t;

	if (!r) {
		fprintf(stderr, "bench_redact: out of memory\n");
		return 1;
	}
	t = now_s();
	rd = policy_redact_new(rs, 1);
	if (!rd) {
		fprintf(stderr, "bench_redact: policy_redact_new failed\n");
		return 1;
	}
	printf("roster: %d members x (name + 3 aliases + 2 domains + 3 keys); %zu patterns, "
	       "built in %.1f ms; memo off (every call reads its text afresh)\n",
	       MEMBERS, policy_redact_patterns(rd), (now_s() - t) * 1e3);
	policy_redact_memo_set(rd, false);
	for (int kind = 0; kind < 3; kind++) {
		size_t len = fill(text, kind), iters = 0, n_red = 0, out_len;
		double el, us, icu;
		int rc = 0;

		t = now_s();
		do {
			rc = policy_redact_text(rd, text, len, out, sizeof(out), &out_len, &n_red);
			if (rc < 0) {
				fprintf(stderr, "bench_redact: redact: %d\n", rc);
				return 1;
			}
			iters++;
		} while ((el = now_s() - t) < secs);
		us = el * 1e6 / (double)iters / ((double)len / 1024);
		icu = icu_us_per_kib(text, len, secs);
		printf("%-28s %6.1f us/KiB  (%zu B, %zu redacted%s; ICU NFKC fold alone %.1f "
		       "us/KiB, ratio %.1f)\n",
		       label[kind], us, len, n_red, rc == POLICY_REDACT_DROPPED ? ", DROPPED" : "",
		       icu, us / icu);
	}
	policy_redact_free(rd);
	proto_roster_free(r);
	return 0;
}
