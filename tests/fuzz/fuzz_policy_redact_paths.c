/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness: every path of the redactor against its full path (policy/redact_test.h), on
 * views written from the roster's own spellings the ways the leak corpus writes them.
 *
 * The redactor reads a view in layers (the first look, the quick reading and the matches at
 * its hits, the fast path, the verifying read, verify_left(), chain_drop(), the memo), each
 * allowed to say "nobody" only where map_scan() finds nothing; every speed-up is a new place
 * where a name could get out. The oracle (tests/fuzz/redact_paths.h) asks each path and the
 * memo for the full path's outputs, token counts and drops to the byte. The rule every path
 * shares, chain_drop() on the outputs, is checked on its own: no 3+-word name of a fixed
 * roster is left with each word a whole field (check_chains()).
 *
 * Structure-aware input:
 *   byte 0: the roster (bits 0-1: 0 the leak corpus's four members with IDN domains,
 *           addresses and points of contact, and one whose name starts with short words;
 *           1 those and 48 members named as bench_redact names its 500 ("CERT Member17",
 *           "Member17SOC", ...), whose long shared starts fill the deeper index levels;
 *           2 and 3: the first two and a member made of three
 *           NUL-terminated strings from the input (name, alias, domain: short names, names
 *           without letters, kanji, anything)); bit 2: the fields are also compared in
 *           reverse order; bit 3: also as one field;
 *   then ops, until the input ends (an op byte B is op "0123456700028467"[B % 16]):
 *     0 W        a filler word (prose, near misses, markup, escapes, Japanese, "[member]")
 *     1 L B...   L % 32 raw bytes
 *     2 S F R T  spelling S (a name, alias, host or key of the roster) written with
 *                transformations T (bits below; R seeds which characters they touch), F the
 *                key encoding and prefix length, or for names hiragana for katakana and
 *                full-width forms
 *     3          a new field (at most FIELDS_MAX: past the 32 of the stack readings)
 *     4 B        pad to byte B % 16 of a 16-byte block, of the field (B & 16) or of the
 *                view, with one of eight ASCII bytes (B >> 5)
 *     5 B C      prose up to a length near a limit of the readings (C % 4: 1024 bytes, the
 *                first look's and the quick reading's; 4096, the memo's; 256, the quick
 *                matches' window; 48, their first read) plus (int8_t)B
 *     6 S F R T P  as 2, with a new field at byte P of the spelling (a name split over
 *                fields, also inside a UTF-8 sequence)
 *     7 S R T    the words of a name or host of 3+ words, each its own field, in an order
 *                drawn from R (chain_drop()'s pieces)
 *     8 S F R T P O X  as 6, and the new field starts with spelling O (plain) and separator
 *                X % 4 ("", " ", "-", ". ") before the rest: a name split over fields with
 *                another name redacted in front of its second piece, which changes that
 *                field's head after redaction ({"Bravo Bank pha", "xyz certal"} reversed:
 *                the shape of the leak spliced_hits() had until 6dfafca)
 * With CHATHAM_FUZZ_PRINT set in the environment, each view's fields are printed (to read
 * what a seed or a crash writes: fuzz_policy_redact_paths -runs=0 FILE).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/redact.h"
#include "policy/redact_test.h"
#include "proto/roster.h"
#include "fuzz_input.h"
#include "redact_paths.h"

#define TEXT_MAX 4608 /* past the memo's 4096 */
#define FIELDS_MAX 36 /* past the stack readings' 32 */
#define STR_MAX 48
#define BENCH_MEMBERS 48

/* The leak corpus's roster (tests/data/leak-corpus/roster.txt) and a few more spellings. */
struct fixed_member {
	const char *name, *aliases[3], *domains[3], *addrs[2], *email, *url;
};

static const struct fixed_member corpus[] = {
	{"CERT Alpha",
	 {"Alpha National CSIRT", "Alpha", "\xe3\x82\xa2\xe3\x83\xab\xe3\x83\x95\xe3\x82\xa1"},
	 {"alpha.example", "cert-alpha.example",
	  "\xe3\x82\xa2\xe3\x83\xab\xe3\x83\x95\xe3\x82\xa1\xe9\x8a\x80\xe8\xa1\x8c.example"},
	 {NULL, NULL},
	 "soc@alphagroup-ir.example",
	 "https://report.ir-portal.example:8443/new"},
	{"CERT Beta",
	 {"BetaSOC", "Beta Bank CSIRT",
	  "\xe3\x83\x99\xe3\x83\xbc\xe3\x82\xbf\xe9\x8a\x80\xe8\xa1\x8c"},
	 {"beta-bank.example", "betasoc.example", NULL},
	 {"node.beta-bank.example:7401", NULL},
	 NULL,
	 NULL},
	{"Gamma Response Team",
	 {"GammaRT", "GRT",
	  "\xe3\x82\xac\xe3\x83\xb3\xe3\x83\x9e\xe5\xaf\xbe\xe5\xbf\x9c\xe3\x83\x81\xe3\x83\xbc"
	  "\xe3\x83\xa0"},
	 {"gamma.example", NULL, NULL},
	 {NULL, NULL},
	 "csirt@gamma-holding.example",
	 "https://ops:x@[2001:db8::53]/intake"},
	{"Delta CSIRT",
	 {"DeltaIR", NULL, NULL},
	 {"delta-csirt.example", NULL, NULL},
	 {"[2001:db8::7]:7401", "203.0.113.9:7401"},
	 NULL,
	 NULL},
	/*
	 * A name whose first words are short: its pieces over fields pass none of the first
	 * look's grams (two code points and four are no 8-point gram), so only the chain gate
	 * (chain_seen()) keeps the look from saying "nobody" of a chain of them.
	 */
	{"Le CERT de la Poste", {NULL, NULL, NULL}, {NULL, NULL, NULL}, {NULL, NULL}, NULL, NULL},
};
#define N_CORPUS (sizeof(corpus) / sizeof(corpus[0]))

/* Spellings the harness writes: those of the roster, plus the IDN hosts' other spelling. */
enum { SP_NAME, SP_HOST, SP_KEY };

struct spelling {
	const char *s; /* SP_KEY: NULL */
	uint8_t kind;
	uint8_t key[32]; /* SP_KEY */
};

#define SPELLINGS_MAX 512

struct roster {
	struct proto_roster *r;
	struct policy_redactor *rd;
	struct spelling sp[SPELLINGS_MAX];
	size_t n_sp;
};

static struct roster fixed[2];
static bool print_views; /* CHATHAM_FUZZ_PRINT set: each view's fields to stderr */
static char bench_text[BENCH_MEMBERS][6][40];
static char fuzzed[3][STR_MAX + 1];

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void spelling_add(struct roster *ro, const char *s, uint8_t kind, const uint8_t *key)
{
	if (ro->n_sp == SPELLINGS_MAX || (!s && !key))
		return;
	ro->sp[ro->n_sp] = (struct spelling){.s = s, .kind = kind};
	if (key)
		memcpy(ro->sp[ro->n_sp].key, key, 32);
	ro->n_sp++;
}

/* Add @m to @ro (its keys drawn from @x) and list its spellings. Returns 0 or -1. */
static int member_add(struct roster *ro, const struct proto_member *tmpl, uint64_t *x)
{
	struct proto_member m = *tmpl;
	const struct proto_member *in = NULL;

	for (size_t k = 0; k < 32; k++) {
		m.id[k] = (uint8_t)xorshift(x);
		m.transport_pk[k] = (uint8_t)xorshift(x);
		m.ring_pk[k] = (uint8_t)xorshift(x);
	}
	if (proto_roster_add_member(ro->r, &m) != 0)
		return -1;
	/*
	 * The roster's deep copy (at its sorted place): its strings outlive the template's and
	 * stay where they are when later members move the array; the keys are copied.
	 */
	for (size_t i = 0; i < ro->r->n_members && !in; i++)
		if (memcmp(ro->r->members[i].id, m.id, 32) == 0)
			in = &ro->r->members[i];
	if (!in)
		return -1;
	spelling_add(ro, in->name, SP_NAME, NULL);
	for (size_t i = 0; i < in->n_aliases; i++)
		spelling_add(ro, in->aliases[i], SP_NAME, NULL);
	for (size_t i = 0; i < in->n_domains; i++)
		spelling_add(ro, in->domains[i], SP_HOST, NULL);
	for (size_t i = 0; i < in->n_addrs; i++)
		spelling_add(ro, in->addrs[i], SP_HOST, NULL);
	spelling_add(ro, in->poc.email, SP_HOST, NULL);
	spelling_add(ro, in->poc.url, SP_HOST, NULL);
	spelling_add(ro, NULL, SP_KEY, in->id);
	spelling_add(ro, NULL, SP_KEY, in->transport_pk);
	spelling_add(ro, NULL, SP_KEY, in->ring_pk);
	return 0;
}

static int fixed_add(struct roster *ro, const struct fixed_member *c, uint64_t *x)
{
	struct proto_member m;
	char *aliases[3], *domains[3], *addrs[2];

	memset(&m, 0, sizeof(m));
	m.name = (char *)c->name;
	for (size_t i = 0; i < 3 && c->aliases[i]; i++)
		aliases[m.n_aliases++] = (char *)c->aliases[i];
	for (size_t i = 0; i < 3 && c->domains[i]; i++)
		domains[m.n_domains++] = (char *)c->domains[i];
	for (size_t i = 0; i < 2 && c->addrs[i]; i++)
		addrs[m.n_addrs++] = (char *)c->addrs[i];
	m.aliases = aliases;
	m.domains = domains;
	m.addrs = addrs;
	m.poc.email = (char *)c->email;
	m.poc.url = (char *)c->url;
	return member_add(ro, &m, x);
}

/* The ASCII spellings of the IDN hosts above (UTS #46; the redactor derives them too). */
static const char *const idn_ascii[] = {"xn--bckb7m9c1507c01m.example"};

static int roster_init(struct roster *ro, size_t n_corpus, size_t n_bench, const char *extra[3])
{
	const struct proto_roster *rs[1];
	uint64_t x = 0x5eed;

	memset(ro, 0, sizeof(*ro));
	ro->r = proto_roster_new();
	if (!ro->r)
		return -1;
	ro->r->epoch = 1;
	for (size_t i = 0; i < n_corpus; i++)
		if (fixed_add(ro, &corpus[i], &x) != 0)
			return -1;
	spelling_add(ro, idn_ascii[0], SP_HOST, NULL);
	for (size_t i = 0; i < n_bench; i++) {
		struct proto_member m;
		char *t[6];

		snprintf(bench_text[i][0], 40, "CERT Member%zu", i);
		snprintf(bench_text[i][1], 40, "Member%zuSOC", i);
		snprintf(bench_text[i][2], 40, "Member%zu National CSIRT", i);
		snprintf(bench_text[i][3], 40, "Team M%zu", i);
		snprintf(bench_text[i][4], 40, "member%zu.example", i);
		snprintf(bench_text[i][5], 40, "cert-m%zu.example", i);
		for (int k = 0; k < 6; k++)
			t[k] = bench_text[i][k];
		memset(&m, 0, sizeof(m));
		m.name = t[0];
		m.aliases = t + 1;
		m.n_aliases = 3;
		m.domains = t + 4;
		m.n_domains = 2;
		if (member_add(ro, &m, &x) != 0)
			return -1;
	}
	if (extra) {
		struct proto_member m;
		char *slot[3];

		fuzz_member(&m, extra[0], extra[1], extra[2], NULL, slot);
		if (member_add(ro, &m, &x) != 0)
			return -1; /* the roster's own rules refuse it: nothing to redact */
	}
	rs[0] = ro->r;
	ro->rd = policy_redact_new(rs, 1);
	return ro->rd ? 0 : -1;
}

static void roster_deinit(struct roster *ro)
{
	policy_redact_free(ro->rd);
	proto_roster_free(ro->r);
	memset(ro, 0, sizeof(*ro));
}

static void check_chains(const struct policy_redact_field *f, size_t n);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	print_views = getenv("CHATHAM_FUZZ_PRINT") != NULL;
	paths_check = check_chains;
	if (roster_init(&fixed[0], N_CORPUS, 0, NULL) != 0 ||
	    roster_init(&fixed[1], N_CORPUS, BENCH_MEMBERS, NULL) != 0) {
		fprintf(stderr, "fuzz_policy_redact_paths: cannot build the rosters\n");
		abort();
	}
	return 0;
}

/* ---- the view being written ---- */

struct view {
	char b[TEXT_MAX];
	size_t len;
	size_t cut[FIELDS_MAX + 1]; /* field i: [cut[i], cut[i + 1]), the last to @len */
	size_t n;		    /* fields begun (the first always) */
};

static void put(struct view *v, const char *s, size_t n)
{
	if (v->len + n > TEXT_MAX)
		n = TEXT_MAX - v->len;
	memcpy(v->b + v->len, s, n);
	v->len += n;
}

static void puts_(struct view *v, const char *s)
{
	put(v, s, strlen(s));
}

static void put_cp(struct view *v, uint32_t c)
{
	char u[4];
	size_t n;

	if (c < 0x80) {
		u[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		u[0] = (char)(0xC0 | c >> 6);
		u[1] = (char)(0x80 | (c & 0x3F));
		n = 2;
	} else if (c < 0x10000) {
		u[0] = (char)(0xE0 | c >> 12);
		u[1] = (char)(0x80 | (c >> 6 & 0x3F));
		u[2] = (char)(0x80 | (c & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | c >> 18);
		u[1] = (char)(0x80 | (c >> 12 & 0x3F));
		u[2] = (char)(0x80 | (c >> 6 & 0x3F));
		u[3] = (char)(0x80 | (c & 0x3F));
		n = 4;
	}
	put(v, u, n);
}

static void new_field(struct view *v)
{
	if (v->n < FIELDS_MAX)
		v->cut[v->n++] = v->len;
}

static const char *const fillers[] = {
	/* prose and near misses of the roster's names */
	"phishing ",
	"loader ",
	"the ",
	"campaign ",
	"observed ",
	"via ",
	"and ",
	" ",
	", ",
	"alphabet ",
	"Alphanumeric ",
	"betamax ",
	"gamma-ray ",
	"deltas ",
	"CERTs ",
	"member ",
	"membership ",
	"certificate ",
	"alpha-numeric ",
	"Beta",
	"Gamma",
	"Delta",
	"CERT",
	"Alpha",
	"National ",
	"CSIRT ",
	"Team ",
	"Response ",
	"Bank ",
	"SOC ",
	"IR ",
	"GRT",
	"grt ",
	"example",
	".example ",
	"ir-portal ",
	"report.",
	"cert-",
	"s ",
	"'s ",
	/* the token the redactor writes, markup, escapes, defang words */
	"[member]",
	"[member] ",
	"&amp;",
	"&nbsp;",
	"&#65;",
	"&#x41;",
	"&lt;b&gt;",
	"<b>",
	"</b>",
	"<i>",
	"<!-- -->",
	"<a href=\"x\">",
	"</a>",
	"%20",
	"%2541",
	"%",
	"&",
	"&#",
	"\\u0041",
	"\\x41",
	"\\",
	"[.]",
	"(dot)",
	" dot ",
	"[dot]",
	"hxxps://",
	"https://",
	"@",
	":",
	"/",
	"|",
	"-",
	".",
	"_",
	"\t",
	"\n",
	"\r\n",
	/* numbers that look like key prefixes, and byte arrays */
	"0x",
	"0x10, ",
	"deadbeef ",
	"0123456789abcdef ",
	"ab:cd:ef:01 ",
	"sha256 ",
	"e3b0c44298fc1c149afbf4c8996fb924 ",
	"AAAAAAAAAAAAAAAAAAAA ",
	"+/",
	"-_",
	"== ",
	/* Japanese: particles, a longer katakana word, a kanji compound, punctuation */
	"\xe3\x81\x8b\xe3\x82\x89",
	"\xe3\x81\x8c",
	"\xe3\x81\xae",
	"\xe3\x82\x92",
	"\xe3\x81\xaf",
	"\xe3\x81\xab",
	"\xe3\x81\xa8",
	"\xe3\x82\xa2\xe3\x83\xab\xe3\x83\x95\xe3\x82\xa1\xe3\x83\x99\xe3\x83\x83\xe3\x83\x88",
	"\xe6\x96\xb0",
	"\xe9\x8a\x80\xe8\xa1\x8c",
	"\xe3\x80\x82",
	"\xe3\x80\x81",
	"\xe3\x83\xbb",
	"\xe9\x8d\xb5",
	/* other scripts, combining marks, bad UTF-8 */
	"\xc3\xa9",
	"e\xcc\x81",
	"\xd0\xb0",
	"\xce\xbf",
	"\xef\xbc\xa1",
	"\xf0\x9f\x98\x80",
	"\xe2\x80\x8b",
	"\xc2\xad",
	"\xff",
	"\xe2\x80",
	"\xc0\xaf",
	"\xed\xa0\x80",
};
#define N_FILLERS (sizeof(fillers) / sizeof(fillers[0]))

/* Prose for op 5 (bench_redact's words): nothing in it names a member. */
static const char *const prose[] = {
	"phishing", "loader", "campaign", "beacon",  "callback", "sandbox", "payload",
	"dropper",  "macro",  "invoice",  "lure",    "login",	 "page",    "hosting",
	"server",   "HTTPS",  "TLS",	  "victims", "sector",	 "energy",  "finance",
	"the",	    "and",    "with",	  "from",    "via",	 "after",   "seen",
};
#define N_PROSE (sizeof(prose) / sizeof(prose[0]))

enum {
	T_CASE = 1,    /* flip the case of some letters */
	T_LOOK = 2,    /* confusables for some characters */
	T_SEP = 4,     /* separators or invisible characters between some */
	T_ESC = 8,     /* some characters as entities, percent-encoding or escapes */
	T_DEFANG = 16, /* dots written as defang words */
	T_WRAP = 32,   /* wrapped in markup or a URL */
	T_SUFFIX = 64, /* a plural, a possessive or a Japanese particle after it */
	T_GLUE = 128,  /* text glued before it (no boundary) */
};

/* A confusable of ASCII @c (0: none), picked by @r. */
static uint32_t confusable(uint8_t c, uint64_t r)
{
	static const char from[] = "aceopxyijsABEHKMNOPTXYC";
	static const uint32_t cyr[] = {0x430, 0x441, 0x435, 0x43E, 0x440, 0x445, 0x443, 0x456,
				       0x458, 0x455, 0x410, 0x412, 0x415, 0x41D, 0x41A, 0x41C,
				       0x39D, 0x39F, 0x420, 0x3A4, 0x3A7, 0x3A5, 0x421};
	static const uint32_t small_caps[26] = {
		0x1D00, 0x299,	0x1D04, 0x1D05, 0x1D07, 0xA730, 0x262,	0x29C,	0x26A,
		0x1D0A, 0x1D0B, 0x29F,	0x1D0D, 0x274,	0x1D0F, 0x1D18, 0xA7AF, 0x280,
		0xA731, 0x1D1B, 0x1D1C, 0x1D20, 0x1D21, 0x78,	0x28F,	0x1D22};
	bool lo = c >= 'a' && c <= 'z', up = c >= 'A' && c <= 'Z', dig = c >= '0' && c <= '9';
	uint8_t l = (uint8_t)(up ? c + 32 : c);

	switch (r % 11) {
	case 0: {
		const char *p = strchr(from, c);

		return p && c ? cyr[p - from] : 0;
	}
	case 1: /* mathematical bold */
		return up    ? 0x1D400 + (uint32_t)(c - 'A')
		       : lo  ? 0x1D41A + (uint32_t)(c - 'a')
		       : dig ? 0x1D7CE + (uint32_t)(c - '0')
			     : 0;
	case 2: /* circled */
		return up ? 0x24B6 + (uint32_t)(c - 'A') : lo ? 0x24D0 + (uint32_t)(c - 'a') : 0;
	case 3: /* negative circled, regional indicators */
		return (up || lo) ? (r & 16 ? 0x1F150 : 0x1F1E6) + (uint32_t)(l - 'a') : 0;
	case 4:
		return (up || lo) ? small_caps[l - 'a'] : 0;
	case 5: /* tag characters (invisible) */
		return c >= 0x20 && c < 0x7F ? 0xE0000 + c : 0;
	case 6: /* full-width */
		return c > 0x20 && c < 0x7F ? 0xFF01 + (uint32_t)(c - '!') : 0;
	case 7: /* digits of other scripts */
		return dig ? (r & 16 ? 0x660 : 0x966) + (uint32_t)(c - '0') : 0;
	case 8: /* the lookalikes TR39 merges: 0/o, 1/l/I/| */
		return c == 'o' || c == 'O'   ? '0'
		       : c == '0'	      ? 'o'
		       : c == 'l' || c == 'I' ? (r & 16 ? '1' : '|')
		       : c == '1'	      ? 'l'
					      : 0;
	case 9: /* mathematical sans-serif bold */
		return up    ? 0x1D5D4 + (uint32_t)(c - 'A')
		       : lo  ? 0x1D5EE + (uint32_t)(c - 'a')
		       : dig ? 0x1D7EC + (uint32_t)(c - '0')
			     : 0;
	default: /* Greek */
		return c == 'o'	  ? 0x3BF
		       : c == 'a' ? 0x3B1
		       : c == 'A' ? 0x391
		       : c == 'B' ? 0x392
		       : c == 'T' ? 0x3A4
		       : c == 'E' ? 0x395
		       : c == 'i' ? 0x3B9
		       : c == 'v' ? 0x3BD
				  : 0;
	}
}

static const char *const seps[] = {
	" ",
	"-",
	".",
	"_",
	"/",
	"\xc2\xad",
	"\xe2\x80\x8b",
	"\xe2\x80\x8c",
	"\xe2\x80\x8d",
	"\xe2\x81\xa0",
	"\xef\xbb\xbf",
	"&nbsp;",
	"&shy;",
	"%20",
	"%C2%AD",
	"<b>",
	"</b>",
	"<br/>",
	"<!-- x -->",
	"|",
	"\t",
	"\n",
	"\xc2\xb7",
	"\xe2\x80\x89",
	"\xe3\x80\x80",
	"\xe3\x83\xbb",
	"&#8203;",
	"\\u200b",
	"**",
	"`",
	"%E2%80%8B",
	"  ",
};
#define N_SEPS (sizeof(seps) / sizeof(seps[0]))

static const char *const dots[] = {
	"[.]",	 "(.)",	  "{.}",   "[dot]",	   "(dot)",	   " dot ",
	" DOT ", "[DOT]", "<dot>", "\xef\xbc\x8e", "\xe3\x80\x82", "&#46;",
	"%2E",	 "\\.",	  " . ",   "[.",	   ".]",	   "dot",
};
#define N_DOTS (sizeof(dots) / sizeof(dots[0]))

static const char *const wraps[][2] = {
	{"<b>", "</b>"},
	{"<a href=\"x\">", "</a>"},
	{"**", "**"},
	{"`", "`"},
	{"[", "](http://x)"},
	{"\"", "\""},
	{"(", ")"},
	{"<span class=x>", "</span>"},
	{"hxxps://", "/"},
	{"https://", ":443/p"},
	{"@", ""},
	{"#", ""},
	{"&lt;", "&gt;"},
	{"<![CDATA[", "]]>"},
	{"\xe3\x80\x8c", "\xe3\x80\x8d"},
	{"<p>", "</p>"},
};
#define N_WRAPS (sizeof(wraps) / sizeof(wraps[0]))

static const char *const suffixes[] = {
	"s",
	"'s",
	"es",
	"\xe2\x80\x99s",
	"\xe3\x81\x8b\xe3\x82\x89",
	"\xe3\x81\x8c",
	"\xe3\x81\xae",
	"\xe3\x82\x92",
	"\xe3\x81\xaf",
	"\xe3\x81\xab",
	"\xe3\x81\xa8",
	"\xe3\x82\x82",
	"\xe3\x81\xa7",
	"\xe3\x81\x95\xe3\x82\x93",
	"\xe3\x83\x81\xe3\x83\xbc\xe3\x83\xa0",
	"-team",
	".",
	",",
	":",
	"!",
	"sx",
	"ing",
};
#define N_SUFFIXES (sizeof(suffixes) / sizeof(suffixes[0]))

static const char *const glues[] = {
	"x", "id",	     "key",	     "the",	     "a", "0",
	"9", "\xe9\x8d\xb5", "\xe6\x96\xb0", "\xe3\x82\xa2", "_", "\xc3\xa9",
	"f", "ab",
};
#define N_GLUES (sizeof(glues) / sizeof(glues[0]))

/* One character @c of a spelling, with the transformations @tr where @r picks them. */
static void spell_char(struct view *v, uint8_t c, uint8_t tr, uint64_t *r)
{
	uint64_t x = xorshift(r);
	char buf[24];

	if ((tr & T_CASE) && (x & 1) && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
		c ^= 0x20;
	if ((tr & T_LOOK) && x % 3 == 1) {
		uint32_t u = confusable(c, x >> 8);

		if (u) {
			put_cp(v, u);
			return;
		}
	}
	if ((tr & T_ESC) && x % 5 == 2) {
		switch ((x >> 8) % 8) {
		case 0:
			snprintf(buf, sizeof(buf), "&#%u;", c);
			break;
		case 1:
			snprintf(buf, sizeof(buf), "&#x%x;", c);
			break;
		case 2:
			snprintf(buf, sizeof(buf), "&#X%X;", c);
			break;
		case 3:
			snprintf(buf, sizeof(buf), "%%%02X", c);
			break;
		case 4: /* percent-encoded twice */
			snprintf(buf, sizeof(buf), "%%25%02X", c);
			break;
		case 5:
			snprintf(buf, sizeof(buf), "\\u%04x", c);
			break;
		case 6:
			snprintf(buf, sizeof(buf), "\\x%02x", c);
			break;
		default:
			snprintf(buf, sizeof(buf), "&#0%u;", c);
			break;
		}
		puts_(v, buf);
		return;
	}
	put(v, (const char *)&c, 1);
}

/*
 * The first @bytes bytes of hex digits @hex into @out, each pair after @pre and, but the
 * first, after @sep, while @margin more bytes fit in @cap (a long one is cut at a pair).
 * Returns the length written.
 */
static size_t hex_pairs(char *out, size_t cap, const char *hex, size_t bytes, const char *sep,
			const char *pre, size_t margin)
{
	size_t o = 0;

	for (size_t i = 0; i < bytes && o + margin < cap; i++)
		o += (size_t)snprintf(out + o, cap - o, "%s%s%.2s", i ? sep : "", pre, hex + 2 * i);
	return o;
}

/* The bytes of spelling @sp, before transformations, into @out (NUL-terminated). */
static size_t spelling_bytes(const struct spelling *sp, uint8_t form, uint8_t seed, char *out,
			     size_t cap)
{
	static const char hexd[] = "0123456789abcdef";
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0, bytes = 8 + seed % 25, digits = 8 + seed % 57;
	char hex[65], enc[48];
	bool url = false;

	if (sp->kind != SP_KEY) {
		snprintf(out, cap, "%s", sp->s);
		return strlen(out);
	}
	for (size_t i = 0; i < 32; i++) {
		hex[2 * i] = hexd[sp->key[i] >> 4];
		hex[2 * i + 1] = hexd[sp->key[i] & 15];
	}
	hex[64] = '\0';
	switch (form % 12) {
	case 0: /* hex, any prefix */
		o = (size_t)snprintf(out, cap, "%.*s", (int)digits, hex);
		break;
	case 1: /* upper-case hex */
		o = (size_t)snprintf(out, cap, "%.*s", (int)digits, hex);
		for (size_t i = 0; i < o; i++)
			out[i] = (char)(out[i] >= 'a' ? out[i] - 32 : out[i]);
		break;
	case 2: /* aa:bb:..., aa bb ..., aa-bb-... */
	case 3:
	case 10:
		o = hex_pairs(out, cap, hex, bytes,
			      form % 12 == 2   ? ":"
			      : form % 12 == 3 ? " "
					       : "-",
			      "", 4);
		break;
	case 4:
		o = (size_t)snprintf(out, cap, "0x%.*s", (int)digits, hex);
		break;
	case 5: /* a byte array: 0x10, 0x9a, ... */
	case 11:
		o = hex_pairs(out, cap, hex, bytes,
			      seed & 1	 ? ","
			      : seed & 2 ? " "
					 : ", ",
			      form % 12 == 11 ? "0X" : "0x", 8);
		break;
	case 6: /* a C string of hex escapes */
		o = hex_pairs(out, cap, hex, bytes, "", "\\x", 5);
		break;
	default: { /* base64 (7, 9) and base64url (8), padded or a prefix */
		size_t n = 0;

		url = form % 12 == 8;
		for (size_t i = 0; i < 32; i += 3) {
			uint32_t w = (uint32_t)sp->key[i] << 16;
			size_t k = 32 - i < 3 ? 32 - i : 3;

			if (k > 1)
				w |= (uint32_t)sp->key[i + 1] << 8;
			if (k > 2)
				w |= sp->key[i + 2];
			for (size_t j = 0; j < k + 1; j++) {
				char ch = b64[w >> (18 - 6 * j) & 63];

				enc[n++] = url && ch == '+' ? '-' : url && ch == '/' ? '_' : ch;
			}
		}
		if (form % 12 == 7 && seed & 1)
			enc[n++] = '=';
		enc[n] = '\0';
		if (seed & 2)
			n = 16 + seed % 28 < n ? 16 + seed % 28 : n;
		o = (size_t)snprintf(out, cap, "%.*s", (int)n, enc);
		break;
	}
	}
	return o < cap ? o : cap - 1;
}

/* Katakana U+30A1..U+30F6 as hiragana (the two blocks are parallel). */
static void hiragana(char *s, size_t n)
{
	for (size_t i = 0; i + 2 < n; i++) {
		uint32_t c;

		if ((uint8_t)s[i] != 0xE3)
			continue;
		c = 0x3000 | ((uint32_t)(s[i + 1] & 0x3F) << 6) | (uint32_t)(s[i + 2] & 0x3F);
		if (c >= 0x30A1 && c <= 0x30F6) {
			c -= 0x60;
			s[i + 1] = (char)(0x80 | (c >> 6 & 0x3F));
			s[i + 2] = (char)(0x80 | (c & 0x3F));
		}
		i += 2;
	}
}

/* Spelling @sp with form @form and transformations @tr (where @seed picks them). */
static void spell(struct view *v, const struct spelling *sp, uint8_t form, uint8_t seed, uint8_t tr)
{
	char s[160];
	size_t n = spelling_bytes(sp, form, seed, s, sizeof(s));
	uint64_t r = 0x9e3779b97f4a7c15ull ^ ((uint64_t)seed << 8 | form);
	size_t w = (size_t)(seed ^ tr);

	if (sp->kind != SP_KEY && (form & 1))
		hiragana(s, n);
	if (tr & T_GLUE)
		puts_(v, glues[w % N_GLUES]);
	if (tr & T_WRAP)
		puts_(v, wraps[w % N_WRAPS][0]);
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)s[i];

		if (c == '.' && (tr & T_DEFANG)) {
			puts_(v, dots[xorshift(&r) % N_DOTS]);
			continue;
		}
		if (c >= 0x80) { /* a multi-byte character is copied whole */
			size_t k = 1;

			while (i + k < n && ((uint8_t)s[i + k] & 0xC0) == 0x80)
				k++;
			put(v, s + i, k);
			i += k - 1;
		} else if (sp->kind != SP_KEY && (form & 2) && c > 0x20 && c < 0x7F) {
			put_cp(v, 0xFF01 + (uint32_t)(c - '!'));
		} else {
			spell_char(v, c, tr, &r);
		}
		if ((tr & T_SEP) && i + 1 < n && xorshift(&r) % 3 == 0)
			puts_(v, seps[xorshift(&r) % N_SEPS]);
	}
	if (tr & T_WRAP)
		puts_(v, wraps[w % N_WRAPS][1]);
	if (tr & T_SUFFIX)
		puts_(v, suffixes[(w >> 2) % N_SUFFIXES]);
}

/* Prose up to @target bytes in all (nothing when the view is longer already). */
static void grow(struct view *v, size_t target)
{
	size_t k = v->len;

	if (target > TEXT_MAX)
		target = TEXT_MAX;
	while (v->len < target) {
		const char *w = prose[k++ % N_PROSE];
		size_t n = strlen(w);

		if (v->len + n + 1 > target) {
			put(v, "xxxxxxxxxxxxxxxx", target - v->len);
			break;
		}
		put(v, w, n);
		put(v, " ", 1);
	}
}

/* The words of @s (separated by spaces, or dots for a host) each into a field of its own. */
static void chain(struct view *v, const struct spelling *sp, uint8_t seed, uint8_t tr)
{
	const char *w[16];
	size_t wl[16], n = 0, order[16];
	char sep = sp->kind == SP_HOST ? '.' : ' ';
	uint64_t r = 0x2545f4914f6cdd1dull ^ seed;

	for (const char *p = sp->s; *p && n < 16;) {
		const char *e = strchr(p, sep);
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len) {
			w[n] = p;
			wl[n++] = len;
		}
		p += len + (e ? 1 : 0);
	}
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	for (size_t i = n; i > 1; i--) {
		size_t j = xorshift(&r) % i, t = order[i - 1];

		order[i - 1] = order[j];
		order[j] = t;
	}
	for (size_t i = 0; i < n; i++) {
		struct spelling one = {.kind = SP_NAME};
		char word[STR_MAX + 1];

		snprintf(word, sizeof(word), "%.*s", (int)wl[order[i]], w[order[i]]);
		one.s = word;
		if (i > 0 ||
		    !(tr & T_GLUE)) /* glued: the first piece is the current field's tail */
			new_field(v);
		spell(v, &one, 0, seed, tr & (T_CASE | T_LOOK | T_ESC));
	}
	if (!(tr & T_SUFFIX)) /* else the last piece is the next field's head */
		new_field(v);
}

/*
 * The chain rule, checked on the outputs by itself (every path runs chain_drop(), so the
 * comparison cannot see it): no name of 3+ words of the roster being compared may be left
 * with each of its words a whole field of its own, in any order ("Team", "Gamma",
 * "Response"; ASCII case and spaces around ignored).
 */
static const struct roster *checking;

static bool field_is(const struct policy_redact_field *f, const char *w, size_t wl)
{
	const char *s = f->out;
	size_t n = f->out_len;

	while (n > 0 && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (f->dropped || n != wl)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((s[i] | 0x20) != (w[i] | 0x20) ||
		    !((w[i] | 0x20) >= 'a' && (w[i] | 0x20) <= 'z'))
			return false;
	return true;
}

static void check_chains(const struct policy_redact_field *f, size_t n)
{
	for (size_t k = 0; checking && k < checking->n_sp; k++) {
		const struct spelling *sp = &checking->sp[k];
		uint64_t used = 0;
		size_t words = 0, found = 0;

		if (sp->kind != SP_NAME)
			continue;
		for (const char *p = sp->s; *p;) {
			size_t wl = strcspn(p, " ");

			if (wl) {
				words++;
				for (size_t i = 0; i < n && i < 64; i++)
					if (!(used >> i & 1) && field_is(&f[i], p, wl)) {
						used |= 1ull << i;
						found++;
						break;
					}
			}
			p += wl + (p[wl] == ' ');
		}
		if (words >= 3 && found == words) {
			fprintf(stderr,
				"CHAIN LEFT: every word of \"%s\" is a field of the outputs\n",
				sp->s);
			for (size_t i = 0; i < n; i++) {
				fprintf(stderr, "  [%zu] %s", i, f[i].dropped ? "DROPPED " : "");
				paths_dump_bytes(f[i].out, f[i].out_len);
				fputc('\n', stderr);
			}
			abort();
		}
	}
}

static void compare_view(struct policy_redactor *rd, const struct view *v, uint8_t flags)
{
	const char *in[FIELDS_MAX];
	size_t len[FIELDS_MAX], n = v->n;

	for (size_t i = 0; i < n; i++) {
		in[i] = v->b + v->cut[i];
		len[i] = (i + 1 < n ? v->cut[i + 1] : v->len) - v->cut[i];
		if (print_views) {
			fprintf(stderr, "  [%zu] ", i);
			paths_dump_bytes(in[i], len[i]);
			fputc('\n', stderr);
		}
	}
	paths_compare(rd, in, len, n);
	if ((flags & 4) && n > 1) {
		const char *rin[FIELDS_MAX];
		size_t rlen[FIELDS_MAX];

		for (size_t i = 0; i < n; i++) {
			rin[i] = in[n - 1 - i];
			rlen[i] = len[n - 1 - i];
		}
		paths_compare(rd, rin, rlen, n);
	}
	if ((flags & 8) && n > 1) {
		const char *all = v->b;
		size_t all_len = v->len;

		paths_compare(rd, &all, &all_len, 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct view v;
	struct fuzz_input in = {data, size};
	struct roster own, *ro;
	uint8_t flags = fuzz_take(&in);

	if ((flags & 3) >= 2) {
		const char *extra[3];

		for (int k = 0; k < 3; k++) {
			fuzz_take_str(&in, fuzzed[k], STR_MAX);
			extra[k] = fuzzed[k];
		}
		if (roster_init(&own, 2, 0, extra) != 0) {
			roster_deinit(&own);
			return 0;
		}
		ro = &own;
	} else {
		ro = &fixed[flags & 1];
		/* a fresh memo, as @own's: what an input finds does not hang on the ones before */
		policy_redact_memo_reset(ro->rd);
	}
	v.len = 0;
	v.n = 1;
	v.cut[0] = 0;
	while (in.n > 0 && v.len < TEXT_MAX) {
		/* a new field and prose to a limit are each 1 op in 16: they cost the most */
		static const uint8_t ops[16] = {0, 1, 2, 3, 4, 5, 6, 7, 0, 0, 2, 2, 8, 4, 6, 7};
		uint8_t op = ops[fuzz_take(&in) % 16], a, f, s, t;

		switch (op) {
		case 0:
			puts_(&v, fillers[fuzz_take(&in) % N_FILLERS]);
			break;
		case 1:
			a = fuzz_take(&in) % 32;
			for (uint8_t k = 0; k < a && in.n > 0; k++) {
				char c = (char)fuzz_take(&in);

				put(&v, &c, 1);
			}
			break;
		case 2:
		case 6: {
			size_t at, mark;

			a = fuzz_take(&in);
			f = fuzz_take(&in);
			s = fuzz_take(&in);
			t = fuzz_take(&in);
			at = op == 6 ? fuzz_take(&in) : 0;
			mark = v.len;
			spell(&v, &ro->sp[a % ro->n_sp], f, s, t);
			if (op == 6 && v.n < FIELDS_MAX) {
				/* move the spelling's tail past a new field's start */
				at = mark + at % (v.len - mark + 1);
				v.cut[v.n++] = at;
			}
			break;
		}
		case 8: {
			static const char *const between[4] = {"", " ", "-", ". "};
			static char rest[TEXT_MAX];
			size_t at, mark, n;
			uint8_t o, x;

			a = fuzz_take(&in);
			f = fuzz_take(&in);
			s = fuzz_take(&in);
			t = fuzz_take(&in);
			at = fuzz_take(&in);
			o = fuzz_take(&in);
			x = fuzz_take(&in);
			mark = v.len;
			spell(&v, &ro->sp[a % ro->n_sp], f, s, t);
			if (v.n >= FIELDS_MAX)
				break;
			/* the spelling's tail moves past a new field's start and another spelling */
			at = mark + at % (v.len - mark + 1);
			n = v.len - at;
			memcpy(rest, v.b + at, n);
			v.len = at;
			v.cut[v.n++] = at;
			spell(&v, &ro->sp[o % ro->n_sp], 0, s, 0);
			puts_(&v, between[x % 4]);
			put(&v, rest, n);
			break;
		}
		case 3:
			new_field(&v);
			break;
		case 4: {
			uint8_t b = fuzz_take(&in);
			size_t from = b & 16 ? v.cut[v.n - 1] : 0;
			static const char pads[] = " x.0-_A\n";

			while ((v.len - from) % 16 != (size_t)(b & 15) && v.len < TEXT_MAX)
				put(&v, &pads[b >> 5], 1);
			break;
		}
		case 5: {
			static const size_t limits[] = {1024, 4096, 256, 48};
			int8_t d = (int8_t)fuzz_take(&in);

			grow(&v, (size_t)((long)limits[fuzz_take(&in) % 4] + d));
			break;
		}
		default: { /* 7 */
			size_t k = fuzz_take(&in) % ro->n_sp;

			s = fuzz_take(&in);
			t = fuzz_take(&in);
			/* the next spelling of 3+ words from @k on */
			for (size_t j = 0; j < ro->n_sp; j++) {
				const struct spelling *sp = &ro->sp[(k + j) % ro->n_sp];
				size_t words = 1;

				if (sp->kind == SP_KEY)
					continue;
				for (const char *p = sp->s; *p; p++)
					words += *p == (sp->kind == SP_HOST ? '.' : ' ');
				if (words >= 3) {
					chain(&v, sp, s, t);
					break;
				}
			}
			break;
		}
		}
	}
	/* a fuzzed name's words may be too short or too few to make a chain: fixed rosters only */
	checking = ro == &own ? NULL : ro;
	compare_view(ro->rd, &v, flags);
	if (ro == &own)
		roster_deinit(&own);
	return 0;
}
