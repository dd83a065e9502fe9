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
 *
 * Views mode: the cost of redaction in an export view, per view, for the views bench_store's
 * step 4 exports (tests/bench/viewgen.h: ~240-byte descriptions and 3 tags that no other
 * document repeats, its 500-member roster, the shipped tag vocabulary from deploy/tags):
 * policy_strip_view() of VIEWGEN_DOCS documents in turn, CPU time with the redactor less
 * the same views without one (the roster-less baseline: no description or tag is read),
 * separately for the views naming nobody and those naming two members, in ROUNDS rounds
 * alternating with and without so that both see the same minutes of a shared machine.
 * Under callgrind, `--toggle-collect=policy_redact_fields` counts the redactor alone.
 *
 * Usage: bench_redact [SECONDS_PER_CASE]   (default 2)
 *        bench_redact views [VIEWS [nobody|two|both [ROUNDS]]]   (default 100000 both 5)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include "policy/redact.h"
#include "policy/redact_test.h"
#include "policy/strip.h"
#include "policy/vocab.h"
#include "proto/indicator.h"
#include "proto/roster.h"
#include "benchclock.h"
#include "viewgen.h"

#define MEMBERS 500
#define TEXT_LEN 4096

/* A pronounceable word of 4..9 letters, capitalised. */
static void word(uint64_t *rs, char *out)
{
	static const char c[] = "bcdfghklmnprstvz", v[] = "aeiou";
	size_t n = 4 + viewgen_xorshift(rs) % 6, o = 0;

	for (size_t i = 0; i < n; i++)
		out[o++] = i % 2 ? v[viewgen_xorshift(rs) % 5] : c[viewgen_xorshift(rs) % 16];
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
		char w[16], *t[6];

		memset(&m, 0, sizeof(m));
		for (size_t k = 0; k < 32; k++) {
			m.id[k] = (uint8_t)viewgen_xorshift(&rs);
			m.transport_pk[k] = (uint8_t)viewgen_xorshift(&rs);
			m.ring_pk[k] = (uint8_t)viewgen_xorshift(&rs);
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
		for (int k = 0; k < 6; k++)
			t[k] = names[i][k];
		if (viewgen_member_add(r, &m, t) != 0) {
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
		const char *p = kind == 2 ? foreign[viewgen_xorshift(&rs) % 3]
					  : prose[viewgen_xorshift(&rs) % 4];

		len += (size_t)snprintf(buf + len, TEXT_LEN - len, "%s", p);
		if (kind == 1) {
			size_t m = viewgen_xorshift(&rs) % MEMBERS;
			char w[64];

			size_t k = viewgen_xorshift(&rs) % 6;

			snprintf(w, sizeof(w), "%s%s%s", mentions[k][0],
				 names[m][viewgen_xorshift(&rs) % 4], mentions[k][1]);
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
	double t = bench_now_s(), el;

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
	} while ((el = bench_now_s() - t) < secs);
	return el * 1e6 / (double)iters / ((double)len / 1024);
}

/* CPU time of the process: on a loaded machine wall-clock slices measure the scheduler. */
/* The tag vocabulary chatham ships (deploy/tags/chatham.txt), as bench_store loads it. */
static struct policy_vocab *shipped_vocab(void)
{
	static char buf[1 << 20];
	const char *path = CHATHAM_SOURCE_DIR "/deploy/tags/chatham.txt";
	struct policy_vocab *v = policy_vocab_new();
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0;

	if (!v || !f || ferror(f) || n == sizeof(buf) || policy_vocab_add(v, buf, n, NULL) != 0 ||
	    policy_vocab_seal(v) != 0) {
		fprintf(stderr, "bench_redact: %s: cannot read the shipped vocabulary\n", path);
		exit(1);
	}
	fclose(f);
	return v;
}

#define VIEWGEN_DOCS 4000 /* documents of each run: half name nobody, half two members */

struct views {
	struct proto_summary sum;
	struct proto_report r[VIEWGEN_DOCS];
	char desc[VIEWGEN_DOCS][VIEWGEN_DESC];
	char tags[VIEWGEN_DOCS][VIEWGEN_TAGS][VIEWGEN_TAG];
	struct policy_view v;
};

/* Documents 0 .. VIEWGEN_DOCS - 1 as votes of one indicator (policy_strip_view() checks it). */
static void views_build(struct views *x)
{
	static const char value[] = "h00000001.bench.example";

	memset(&x->sum, 0, sizeof(x->sum));
	x->sum.tlp = PROTO_TLP_GREEN;
	x->sum.ind.type = PROTO_IND_DOMAIN;
	memcpy(x->sum.ind.value, value, sizeof(value));
	x->sum.ind.len = sizeof(value) - 1;
	x->sum.n_members = 1;
	x->sum.n_sightings = 1;
	x->sum.confidence = 50;
	for (size_t i = 0; i < VIEWGEN_DOCS; i++) {
		struct proto_report *r = &x->r[i];

		memset(r, 0, sizeof(*r));
		r->kind = PROTO_KIND_INDICATOR;
		r->tlp = PROTO_TLP_GREEN;
		r->ind_type = PROTO_IND_DOMAIN;
		r->ind_value = (struct proto_str){(const char *)x->sum.ind.value, x->sum.ind.len};
		r->prov = PROTO_PROV_ATTRIBUTED;
		r->description.len = viewgen_doc(i, x->desc[i], x->tags[i]);
		r->description.ptr = x->desc[i];
		r->n_tags = VIEWGEN_TAGS;
		for (int k = 0; k < VIEWGEN_TAGS; k++)
			r->tags[k] = (struct proto_str){x->tags[i][k], strlen(x->tags[i][k])};
	}
}

/* CPU seconds of @n views of the documents of @kind (0 naming nobody, 1 two members). */
static double views_run(struct views *x, const struct policy_config *cfg,
			const struct policy_redactor *rd, size_t n, int kind)
{
	double t = bench_cpu_s();

	for (size_t i = 0; i < n; i++) {
		const struct proto_report *votes[1] = {&x->r[2 * (i % (VIEWGEN_DOCS / 2)) + kind]};

		if (policy_strip_view(&x->v, cfg, rd, &x->sum, votes, 1, NULL) != 0) {
			fprintf(stderr, "bench_redact: policy_strip_view failed\n");
			exit(1);
		}
	}
	return bench_cpu_s() - t;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#define VIEWS_ROUNDS_MAX 100

static int views_main(int argc, char **argv)
{
	static const char *const label[] = {"nobody", "two"};
	size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;
	const char *which = argc > 3 ? argv[3] : "both";
	size_t rounds = argc > 4 ? strtoul(argv[4], NULL, 10) : 5;
	struct views *x = malloc(sizeof(*x));
	struct proto_roster *r = viewgen_roster();
	const struct proto_roster *rs[1] = {r};
	struct policy_redactor *rd = r ? policy_redact_new(rs, 1) : NULL;
	struct policy_vocab *vocab = shipped_vocab();
	struct policy_config cfg;

	if (n == 0 || rounds == 0 || rounds > VIEWS_ROUNDS_MAX ||
	    (strcmp(which, "nobody") && strcmp(which, "two") && strcmp(which, "both"))) {
		fprintf(stderr, "usage: bench_redact views [VIEWS [nobody|two|both [ROUNDS]]]\n");
		return 2;
	}
	if (!x || !rd) {
		fprintf(stderr, "bench_redact: out of memory\n");
		return 1;
	}
	policy_redact_memo_set(rd, false);
	policy_config_init(&cfg);
	cfg.tag_vocab = vocab;
	views_build(x);
	printf("views: bench_store's export views (%d documents, ~240-byte descriptions and %d "
	       "tags, none repeated), %d-member roster (%zu patterns), shipped tag vocabulary; "
	       "memo off; redactor less roster-less baseline, CPU time, %zu views x %zu rounds\n",
	       VIEWGEN_DOCS, VIEWGEN_TAGS, VIEWGEN_MEMBERS, policy_redact_patterns(rd), n, rounds);
	for (int kind = 0; kind < 2; kind++) {
		double us[VIEWS_ROUNDS_MAX];

		if (strcmp(which, "both") && strcmp(which, label[kind]))
			continue;
		for (size_t k = 0; k < rounds; k++) {
			double with = views_run(x, &cfg, rd, n, kind);
			double without = views_run(x, &cfg, NULL, n, kind);

			us[k] = (with - without) * 1e6 / (double)n;
		}
		qsort(us, rounds, sizeof(*us), cmp_double);
		printf("views %-6s %6.3f us/view CPU  (median of %zu rounds; min %.3f, max %.3f)\n",
		       label[kind], us[rounds / 2], rounds, us[0], us[rounds - 1]);
	}
	policy_redact_free(rd);
	policy_vocab_free(vocab);
	proto_roster_free(r);
	free(x);
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const label[] = {"ASCII prose, no member", "ASCII prose + mentions",
					    "Cyrillic/Greek/ASCII prose"};
	double secs = argc > 1 ? atof(argv[1]) : 2.0;
	static char text[TEXT_LEN], out[POLICY_REDACT_OUT_MAX(TEXT_LEN) + 1];
	struct proto_roster *r;
	const struct proto_roster *rs[1];
	struct policy_redactor *rd;
	double t;

	if (argc > 1 && strcmp(argv[1], "views") == 0)
		return views_main(argc, argv);
	rs[0] = r = roster();
	if (!r) {
		fprintf(stderr, "bench_redact: out of memory\n");
		return 1;
	}
	t = bench_now_s();
	rd = policy_redact_new(rs, 1);
	if (!rd) {
		fprintf(stderr, "bench_redact: policy_redact_new failed\n");
		return 1;
	}
	printf("roster: %d members x (name + 3 aliases + 2 domains + 3 keys); %zu patterns, "
	       "built in %.1f ms; memo off (every call reads its text afresh)\n",
	       MEMBERS, policy_redact_patterns(rd), (bench_now_s() - t) * 1e3);
	policy_redact_memo_set(rd, false);
	for (int kind = 0; kind < 3; kind++) {
		size_t len = fill(text, kind), iters = 0, n_red = 0, out_len;
		double el, us, icu;
		int rc = 0;

		t = bench_now_s();
		do {
			rc = policy_redact_text(rd, text, len, out, sizeof(out), &out_len, &n_red);
			if (rc < 0) {
				fprintf(stderr, "bench_redact: redact: %d\n", rc);
				return 1;
			}
			iters++;
		} while ((el = bench_now_s() - t) < secs);
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
