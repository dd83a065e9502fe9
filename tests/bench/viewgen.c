/* SPDX-License-Identifier: MIT */
#include "viewgen.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

uint64_t viewgen_xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

int viewgen_member_add(struct proto_roster *r, struct proto_member *m, char *const text[6])
{
	char *aliases[3] = {text[1], text[2], text[3]}, *domains[2] = {text[4], text[5]};

	m->name = text[0];
	m->n_aliases = 3;
	m->aliases = aliases;
	m->n_domains = 2;
	m->domains = domains;
	return proto_roster_add_member(r, m);
}

struct proto_roster *viewgen_roster(void)
{
	static char text[VIEWGEN_MEMBERS][6][40];
	struct proto_roster *r = proto_roster_new();
	uint64_t x = 7;

	for (size_t i = 0; r && i < VIEWGEN_MEMBERS; i++) {
		struct proto_member m;
		char *t[6];

		memset(&m, 0, sizeof(m));
		for (size_t k = 0; k < 32; k++) {
			m.id[k] = (uint8_t)viewgen_xorshift(&x);
			m.transport_pk[k] = (uint8_t)viewgen_xorshift(&x);
			m.ring_pk[k] = (uint8_t)viewgen_xorshift(&x);
		}
		snprintf(text[i][0], 40, "CERT Member%zu", i);
		snprintf(text[i][1], 40, "Member%zuSOC", i);
		snprintf(text[i][2], 40, "Member%zu National CSIRT", i);
		snprintf(text[i][3], 40, "Team M%zu", i);
		snprintf(text[i][4], 40, "member%zu.example", i);
		snprintf(text[i][5], 40, "cert-m%zu.example", i);
		for (int k = 0; k < 6; k++)
			t[k] = text[i][k];
		if (viewgen_member_add(r, &m, t) != 0) {
			proto_roster_free(r);
			return NULL;
		}
	}
	return r;
}

static const char *const words[] = {
	"phishing",   "loader",	      "campaign", "beacon",	 "callback", "sandbox",
	"payload",    "dropper",      "macro",	  "invoice",	 "lure",     "credential",
	"login",      "page",	      "hosting",  "provider",	 "takedown", "observed",
	"confirmed",  "reported",     "server",	  "HTTPS",	 "TLS",	     "jitter",
	"interval",   "victims",      "sector",	  "energy",	 "finance",  "hospital",
	"affiliate",  "exfiltration", "archive",  "ISO",	 "LNK",	     "script",
	"PowerShell", "scheduled",    "task",	  "persistence", "C2",	     "fast-flux",
	"sinkholed",  "resolver",     "passive",  "DNS",	 "overlap",  "cluster",
	"actor",      "wave",	      "spam",	  "botnet",	 "the",	     "and",
	"with",	      "from",	      "via",	  "after",	 "before",   "seen",
	"since",      "of",	      "to",	  "in",
};
static const char *const tag_list[] = {
	"phishing",   "loader",	    "tlp:green",	"malware",	"c2",
	"botnet",     "ransomware", "credential-theft", "spam",		"scanning",
	"exploit",    "apt",	    "banking-trojan",	"infostealer",	"webshell",
	"bruteforce", "ddos",	    "cryptomining",	"supply-chain", "watering-hole",
};
#define N_TAGS (sizeof(tag_list) / sizeof(*tag_list))

static size_t pick(uint64_t *rng, size_t n)
{
	return (size_t)(viewgen_xorshift(rng) % n);
}

/* A member of the roster as one of the corpus's spellings, appended at @p. */
static int member(char *p, size_t cap, uint64_t *rng, size_t m)
{
	switch (pick(rng, 4)) {
	case 0:
		return snprintf(p, cap, "CERT Member%zu", m);
	case 1:
		return snprintf(p, cap, "Member%zuNationalCSIRT", m);
	case 2:
		return snprintf(p, cap, "member%zu.example", m);
	default:
		return snprintf(p, cap, "cert-m%zu.example", m);
	}
}

/* Description of document @i into @d: ~240 bytes of words and numbers. */
static size_t description(char *d, uint64_t *rng, size_t i)
{
	size_t at[2] = {SIZE_MAX, SIZE_MAX}, who[2] = {0, 0}, len = 0;
	const size_t nw = sizeof(words) / sizeof(*words);

	if (i % 2) {
		at[0] = 1 + pick(rng, 8);
		at[1] = at[0] + 1 + pick(rng, 8);
		who[0] = pick(rng, VIEWGEN_MEMBERS);
		who[1] = (who[0] + 1 + pick(rng, VIEWGEN_MEMBERS - 1)) % VIEWGEN_MEMBERS;
	}
	/* Tokens of at most 22 bytes and a separator, until 232 bytes and both names are in. */
	for (size_t t = 0; len < 232 || (i % 2 && t <= at[1]); t++) {
		static const char *const sep[] = {". ", ", ", " ", " ", " ", " ", " ", " "};
		char *p = d + len;
		size_t cap = VIEWGEN_DESC - len;

		if (t == at[0] || t == at[1])
			len += (size_t)member(p, cap, rng, who[t == at[1]]);
		else if (pick(rng, 8) == 0)
			len += (size_t)snprintf(p, cap, "%u", (unsigned)pick(rng, 100000));
		else
			len += (size_t)snprintf(p, cap, "%s", words[pick(rng, nw)]);
		len += (size_t)snprintf(d + len, VIEWGEN_DESC - len, "%s", sep[pick(rng, 8)]);
	}
	while (len > 0 && (d[len - 1] == ' ' || d[len - 1] == ',' || d[len - 1] == '.'))
		len--;
	d[len++] = '.';
	d[len] = '\0';
	return len;
}

size_t viewgen_doc(size_t i, char desc[VIEWGEN_DESC], char tags[VIEWGEN_TAGS][VIEWGEN_TAG])
{
	uint64_t rng = 0x2545f4914f6cdd1dull ^ (i * 0x9e3779b97f4a7c15ull);
	size_t t0 = pick(&rng, N_TAGS), len = description(desc, &rng, i);

	snprintf(tags[0], VIEWGEN_TAG, "%s", tag_list[t0]);
	snprintf(tags[1], VIEWGEN_TAG, "%s", tag_list[(t0 + 1 + pick(&rng, N_TAGS - 1)) % N_TAGS]);
	snprintf(tags[2], VIEWGEN_TAG, "case-%zu", 100000 + pick(&rng, 900000));
	return len;
}
