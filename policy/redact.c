/* SPDX-License-Identifier: MIT */
/*
 * Redaction maps the text to its skeleton (policy/skeleton.h), finds the member patterns in
 * the skeleton and marks the input bytes each match came from in a mask; each maximal run
 * of masked bytes becomes one "[member]". Working on a mask rather than rewriting the text
 * pattern by pattern means one pattern's replacement can never create or hide a match of
 * another. The output is then mapped and searched once more: whatever still matches there
 * drops the field, so the function's promise does not depend on the first pass being
 * perfect.
 *
 * A roster may hold hundreds of members with a dozen patterns each, and a text is at most a
 * few kilobytes, so the text is not scanned once per pattern. Patterns are indexed by the
 * hash of their first L skeleton code points, L the largest of 4, 8, 12, 16, 24, 32 not
 * longer than the pattern (for key prefixes: not longer than the shortest prefix that
 * counts); at each word boundary of the text the scan hashes the next 4, 8, ... 32 code
 * points and tries only the patterns in those buckets (one hash table per level). Names
 * sharing a long common start ("National CSIRT of ...", "CERT Member17" among 500 "CERT
 * MemberN") land in a deeper index and share a bucket with few others (12 was added when
 * 500 such 12-point names all met in one 8-point bucket; level_mask, level_mask8 and
 * level_mask12 let candidate() skip levels that hold nothing for a place's first 4, 8 and 12
 * code points).
 * Patterns shorter than 4 are tried directly at hard boundaries, literals by a plain search
 * of the input.
 *
 * Most text names nobody, so it is read in layers, each allowed to say "nobody" only where
 * the full path would find nothing (the arguments are at each layer): the first look
 * (policy_skeleton_look(): one filter of every pattern's first code points, asked at every
 * boundary, and chain_seen()), then the quick reading's hits matched in place
 * (quick_matches()), then the fast path around candidates, then map_scan(). The verifying
 * read splices the outputs' reading from the input's (spliced_hits()). After a drop, the
 * fields left are searched again as a set (verify_left()), and names of 3+ words split over
 * fields in any order drop those fields (chain_drop()).
 */
#include "policy/redact.h"
#include "policy/redact_test.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/uidna.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "policy/layout.h"
#include "policy/skeleton.h"
#include "proto/crypto.h"

enum pat_kind {
	PAT_NAME = 0,	 /* name or alias; may take a plural */
	PAT_HOST = 1,	 /* domain or address host; widens over the host name / address */
	PAT_KEY = 2,	 /* key encoding; any prefix of at least min_len */
	PAT_LITERAL = 3, /* no letter or digit: ASCII-folded bytes, searched in the input */
};

#define SHORT_LEN 4
#define N_LEVELS 6
static const size_t level_len[N_LEVELS] = {4, 8, 12, 16, 24, 32}; /* even: hash_cp2() */
#define HEX_PREFIX_MIN 8
#define B64_PREFIX_MIN 16
/*
 * A hex key prefix of at least this many digits (64 bits; key_glued() for the other
 * encodings) is a match wherever it starts at a boundary and however it ends: text glued to
 * it ("id109ab1ac4d578f48", "鍵109ab1...", "...f48xyz") does not make it another key, and a
 * chance equality with one of a roster's few thousand keys is ~2^-50 per place. Shorter
 * prefixes (8 to 15 digits: 32 to 60 bits, which hashes in a description do hit) need a
 * separator on both sides.
 */
#define KEY_GLUED_MIN 16
#define KEY_BYTES_MIN 8 /* bytes of a key written as a byte array ("0x10, 0x9a, ...") */
#define PREFILTER_BITS 18
#define GRAM_BITS 20
#define GRAM_PREFIX 64
#define START_BITS 14 /* policy_redactor.level_mask: 16 KiB */
#define LONG_START 8
#define LONG_START_BITS 14 /* policy_redactor.level_mask8 and level_mask12: 16 KiB each */
#define LONGER_START 12

#define ASCII_SLOTS 37

/* A code point's slot in ascii_prefixes: 'a'-'z', '0'-'9' each their own, other ASCII 0. */
static unsigned ascii_slot(uint32_t c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 1;
	if (c >= '0' && c <= '9')
		return c - '0' + 27;
	return 0;
}

static unsigned ascii_prefix(uint32_t a, uint32_t b, uint32_t c)
{
	return (ascii_slot(a) * ASCII_SLOTS + ascii_slot(b)) * ASCII_SLOTS + ascii_slot(c);
}

/* ascii_prefix() of three code points from policy_skeleton_ascii(), through a table. */
static unsigned ascii_prefix_quick(const uint8_t *slots, const uint8_t *c)
{
	return ((unsigned)slots[c[0] & 0x7F] * ASCII_SLOTS + slots[c[1] & 0x7F]) * ASCII_SLOTS +
	       slots[c[2] & 0x7F];
}

struct pattern {
	uint32_t *s; /* skeleton; PAT_LITERAL: folded bytes, one per element */
	size_t len;
	size_t min_len; /* PAT_KEY: shortest prefix that counts (skeleton code points) */
	uint8_t kind;
	uint32_t owner; /* index into ids */
};

/* How many code points a match of @p needs (a key's shortest prefix that counts). */
static size_t key_len(const struct pattern *p)
{
	return p->kind == PAT_KEY ? p->min_len : p->len;
}

/*
 * An index level's entry: the hash of the pattern's first level_len[] code points, where its
 * skeleton starts in policy_redactor.skel (never 0), and agree()'s first test without loading
 * the skeleton: its key_len() (0 when over UINT8_MAX: not tested here) and the low 8 bits of
 * its code point key_len() - 1.
 */
struct index_entry {
	uint64_t hash;
	uint32_t off;
	uint8_t key_len, last;
};

/*
 * Eight entries of a level's hash table in a cache line (build_table()): each entry's hash as
 * a 16-bit tag (index_tag(): what a probe compares, like the hash only a filter, agree() and
 * match_at() compare the code points; never 0, the tag of an empty slot), @key_len (0 when
 * over UINT8_MAX: not tested), the low 8 bits of the code point key_len - 1 (@last) and @off
 * (OFF_MORE in @off[0]: some entry whose probe passes this bucket lies beyond it). A probe
 * compares the eight tags at once and goes on to the next bucket only when OFF_MORE says so.
 * Eight a line keep the index small (16 bytes an entry took twice the lines, which the
 * export's other work evicts between chunks) and put most runs of one hash ("CERT Member1"
 * .. "CERT Member9" under "CERT Mem") in one line.
 */
#define BUCKET_SLOTS 8
#define OFF_MORE 0x80000000u

struct index_bucket {
	uint16_t tag[BUCKET_SLOTS];
	uint8_t key_len[BUCKET_SLOTS], last[BUCKET_SLOTS];
	uint32_t off[BUCKET_SLOTS];
} __attribute__((aligned(64)));

/* An index hash's tag (struct index_bucket): its top 16 bits, which every code point moves
 * (the lower half of hash_cp2()'s product depends on every other code point only), with the
 * lowest of them set so that no tag is an empty slot's. */
static uint16_t index_tag(uint64_t h)
{
	return (uint16_t)(h >> 48 | 1);
}

/*
 * The two words before each pattern's skeleton in policy_redactor.skel (build_arena()): its
 * index in pats with its kind in the top SKEL_KIND_BITS, then its len and key_len() in 16 bits
 * each (skel_len() and the others). agree() reads them beside the skeleton instead of
 * loading the struct pattern: a place's probe touches the table's line and, for a pattern
 * not rejected by the entry, the skeleton's, which build_arena() lays so that it spans no
 * more lines than it must (a name of up to 14 code points: one).
 */
#define SKEL_HEAD 2
#define SKEL_KIND_BITS 2
#define SKEL_PATS_MAX (UINT32_MAX >> SKEL_KIND_BITS)
#define SKEL_LEN_MAX UINT16_MAX

static inline size_t skel_len(const uint32_t *s)
{
	return s[-1] & SKEL_LEN_MAX;
}

static inline size_t skel_key(const uint32_t *s)
{
	return s[-1] >> 16;
}

static inline uint32_t skel_kind(const uint32_t *s)
{
	return s[-2] >> (32 - SKEL_KIND_BITS);
}

static inline uint32_t skel_pat(const uint32_t *s)
{
	return s[-2] & SKEL_PATS_MAX;
}

struct memo;
static struct memo *memo_new(void);

/* A name or host of at least 3 words, and one run of its words (chain_drop()). */
struct wpat {
	uint32_t *s;   /* skeleton */
	uint8_t *word; /* word[i]: a word starts at i (and word[len] = 1) */
	size_t len;
	uint32_t owner;
	bool name; /* a name or alias (may take a plural), not a host */
};

struct seq {
	uint64_t hash; /* of the code points [from, to) of wpats[w] */
	uint32_t w;
	uint16_t from, to;
};

static void memo_free(struct memo *m);

struct policy_redactor {
	const struct policy_skeleton *sk; /* policy_skeleton_shared(), never freed */
	struct pattern *pats;
	size_t n_pats, cap_pats;
	uint8_t (*ids)[32];
	size_t n_ids, cap_ids;
	/*
	 * per level: a hash table of @n_index entries in 2^@table_bits buckets, open
	 * addressing, linear probing a bucket at a time; the entries of one hash met in the
	 * order of their patterns (build_table())
	 */
	struct index_bucket *index[N_LEVELS];
	size_t n_index[N_LEVELS];
	unsigned table_bits[N_LEVELS];
	int levels; /* the levels up to the highest that holds an entry (the higher are empty) */
	uint32_t *skel;	  /* the skeletons, each after SKEL_HEAD words (NULL: each its own) */
	uint32_t *shorts; /* patterns of fewer than SHORT_LEN code points */
	size_t n_shorts;
	uint32_t *literals;
	size_t n_literals;
	/* bit set: some indexed pattern starts with the 3 code points of this slot */
	uint8_t prefixes[(1u << PREFILTER_BITS) / 8];
	/*
	 * The fast path's filters (bloom filters of 2^GRAM_BITS bits, two probes): @grams holds
	 * the first SHORT_LEN code points of every indexed pattern and every short pattern whole
	 * (tagged with the length); @partials every prefix of r code points, SHORT_LEN <= r <
	 * its index level, of each indexed pattern (tagged GRAM_PREFIX + r). @short_lens: bit L
	 * set when a short pattern has L code points.
	 */
	uint64_t *grams;
	uint64_t *partials;
	unsigned short_lens;
	/*
	 * The quick check's bit set: some indexed pattern starts with these 3 ASCII code points,
	 * each as its ascii_slot() (one bit per slot triple; patterns starting otherwise than
	 * in ASCII are left out: ASCII text never gives them).
	 */
	uint8_t ascii_prefixes[(ASCII_SLOTS * ASCII_SLOTS * ASCII_SLOTS + 7) / 8];
	uint8_t ascii_slots[128]; /* ascii_slot() of each ASCII code point */
	/*
	 * candidate()'s: bit l of entry start_slot(c) set when some pattern indexed at level l
	 * starts with the 4 code points c (levels that cannot hold an agreeing pattern are not
	 * hashed and probed).
	 */
	uint8_t level_mask[1u << START_BITS];
	/*
	 * The same for the first LONG_START code points, of the levels from LONG_START up (bit
	 * l of entry long_slot() of their index hash, level 1's): asked where a place has as
	 * many, it takes out the levels none of whose patterns starts with them. The patterns
	 * of many members share their first 4 ("CERT Member17", "CERT Member170"), rarely their
	 * first 8 across levels, and a redactor's own "[member]" starts like "Member17SOC".
	 */
	uint8_t level_mask8[1u << LONG_START_BITS];
	/*
	 * Again for the first LONGER_START, of the levels from LONGER_START up (entry
	 * long_slot() of level 2's index hash). "Member17 National CSIRT", "Member170SOC" and
	 * "member17.example" share their first 8 but not 12; a place that starts with a
	 * member's name and goes on with other words ("Member17 reported") read a bucket of
	 * each of those levels and found nothing there.
	 */
	uint8_t level_mask12[1u << LONG_START_BITS];
	/*
	 * The first look's filter (policy_skeleton_look()): the grams policy_skel_look_add()
	 * takes of every pattern but the literals (the first 4 and 8 code points, or a short
	 * one whole), where they are ASCII.
	 */
	struct policy_skel_look *look;

	uint8_t fp[32];	   /* policy_redact_fingerprint() */
	size_t max_len;	   /* longest pattern (skeleton code points; bytes for literals) */
	struct memo *memo; /* recent results (policy_redact_fields()); NULL without patterns */
	/* names and hosts of >= 3 words, and the runs of their words (chain_drop()) */
	struct wpat *wpats;
	size_t n_wpats, cap_wpats;
	struct seq *seqs;
	size_t n_seqs;
	uint64_t seq_bits[64];	/* bit hash % 4096 of every seq: most fields stop here */
	uint64_t seq_lens;	/* bit k: some seq has k code points (bit 63: 63 or more) */
	size_t seq_max;		/* code points of the longest seq */
	uint64_t seq_starts[2]; /* bit c: some seq starts with ASCII c (non-ASCII: all set) */
	uint8_t chain_tab
		[256];	 /* chain_candidates(): byte -> code point, 0 (separator), CHAIN_SLOW */
	bool chain_lane; /* chain_classes16() gives chain_tab's classes (chain_build()) */
};

#define HASH_INIT 0xcbf29ce484222325ull

static uint64_t hash_cp(uint64_t h, uint32_t cp)
{
	return (h ^ cp) * 0x100000001b3ull;
}

/*
 * The index's hash of a place or pattern, two code points a step (every level_len[] is
 * even): half the multiplications, each waiting for the one before, of hash_cp() a code
 * point at a time. Only candidate(), scan() and build_index() use it, all three alike.
 */
static uint64_t hash_cp2(uint64_t h, const uint32_t *c)
{
	return (h ^ c[0] ^ (uint64_t)c[1] << 32) * 0x100000001b3ull;
}

/* level_mask's slot of a pattern or place starting with the SHORT_LEN code points at @c. */
static uint32_t start_slot(const uint32_t *c)
{
	return (((c[0] * 0x9E3779B1u ^ c[1]) * 0x85EBCA6Bu ^ c[2]) * 0xC2B2AE35u ^ c[3]) *
		       0x27D4EB2Fu >>
	       (32 - START_BITS);
}

/* level_mask8's (level_mask12's) slot of a pattern or place whose first LONG_START
 * (LONGER_START) code points hash to @h. */
static uint32_t long_slot(uint64_t h)
{
	return (uint32_t)((h * 0xD6E8FEB86659FD93ull) >> (64 - LONG_START_BITS));
}

/* The prefilter's slot for a pattern or text position starting with @a, @b, @c. */
static uint32_t prefix_slot(uint32_t a, uint32_t b, uint32_t c)
{
	return (((a * 0x9E3779B1u) ^ b) * 0x85EBCA6Bu ^ c) * 0xC2B2AE35u >> (32 - PREFILTER_BITS);
}

/* A gram of @n code points with @tag, mixed so that both bloom probes are well spread. */
static uint64_t gram_hash(const uint32_t *c, size_t n, uint32_t tag)
{
	uint64_t h = HASH_INIT ^ (uint64_t)tag << 56;

	for (size_t i = 0; i < n; i++)
		h = hash_cp(h, c[i]);
	h ^= h >> 31;
	h *= 0x7fb5d329728ea185ull;
	h ^= h >> 27;
	h *= 0x81dadef4bc2dd44dull;
	return h ^ h >> 33;
}

static void bloom_add(uint64_t *b, uint64_t h)
{
	uint64_t mask = (1ull << GRAM_BITS) - 1, x = h & mask, y = (h >> 32) & mask;

	b[x / 64] |= 1ull << (x % 64);
	b[y / 64] |= 1ull << (y % 64);
}

POLICY_HOT
static bool bloom_has(const uint64_t *b, uint64_t h)
{
	uint64_t mask = (1ull << GRAM_BITS) - 1, x = h & mask, y = (h >> 32) & mask;

	return (b[x / 64] >> (x % 64) & 1) && (b[y / 64] >> (y % 64) & 1);
}

static int push_pattern(struct policy_redactor *rd, uint32_t *s, size_t len, size_t min_len,
			uint8_t kind)
{
	if (rd->n_pats == rd->cap_pats) {
		size_t cap = rd->cap_pats ? 2 * rd->cap_pats : 64;
		struct pattern *p = realloc(rd->pats, cap * sizeof(*p));

		if (!p) {
			free(s);
			return -ENOMEM;
		}
		rd->pats = p;
		rd->cap_pats = cap;
	}
	rd->pats[rd->n_pats] = (struct pattern){.s = s,
						.len = len,
						.min_len = min_len,
						.kind = kind,
						.owner = (uint32_t)(rd->n_ids - 1)};
	rd->n_pats++;
	return 0;
}

static bool is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/*
 * Add the skeleton of @len bytes at @s as a pattern of @kind. @prefix_chars > 0 (keys): the
 * shortest prefix that counts is the skeleton of the first @prefix_chars bytes. A name with
 * an empty skeleton becomes a literal of its trimmed, ASCII-folded bytes.
 */
static int add_text(struct policy_redactor *rd, const char *s, size_t len, uint8_t kind,
		    size_t prefix_chars)
{
	struct policy_skel_text t = {0};
	size_t min_len = 0;
	uint32_t *copy;
	int rc;

	if (len == 0)
		return 0;
	if (prefix_chars) {
		rc = policy_skeleton_map(rd->sk, s, prefix_chars < len ? prefix_chars : len, 0, 0,
					 &t);
		min_len = t.len;
		policy_skel_text_deinit(&t);
		if (rc < 0)
			return rc;
	}
	rc = policy_skeleton_map(rd->sk, s, len, 0, 0, &t);
	if (rc < 0)
		goto out;
	if (t.len == 0) {
		size_t a = 0, b = len;

		while (a < b && is_space((uint8_t)s[a]))
			a++;
		while (b > a && is_space((uint8_t)s[b - 1]))
			b--;
		if (a == b || kind != PAT_NAME)
			goto out;
		copy = malloc((b - a) * sizeof(*copy));
		if (!copy) {
			rc = -ENOMEM;
			goto out;
		}
		for (size_t i = a; i < b; i++)
			copy[i - a] = lower((uint8_t)s[i]);
		rc = push_pattern(rd, copy, b - a, 0, PAT_LITERAL);
		goto out;
	}
	copy = malloc(t.len * sizeof(*copy));
	if (!copy) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(copy, t.cp, t.len * sizeof(*copy));
	rc = push_pattern(rd, copy, t.len, min_len ? min_len : t.len, kind);
out:
	policy_skel_text_deinit(&t);
	return rc;
}

/*
 * The other spelling of an internationalised host name (UTS #46, ICU): the ASCII one
 * ("xn--bckb7m9c1507c01m.example") of a host written in Unicode ("アルファ銀行.example") and
 * the Unicode one of a host written with "xn--" labels, into @out (@cap bytes). Returns its
 * length, or 0 when the host has no other spelling (plain ASCII, or not a valid IDN).
 */
static size_t idn_other(const char *s, size_t len, char *out, size_t cap)
{
	UErrorCode e = U_ZERO_ERROR;
	UIDNAInfo info = UIDNA_INFO_INITIALIZER;
	UIDNA *idna;
	bool ascii = true, ace = false;
	int32_t n;

	for (size_t i = 0; i < len; i++)
		ascii = ascii && (uint8_t)s[i] < 0x80;
	for (size_t i = 0; ascii && i + 4 <= len; i++)
		ace = ace ||
		      ((i == 0 || s[i - 1] == '.') && (s[i] == 'x' || s[i] == 'X') &&
		       (s[i + 1] == 'n' || s[i + 1] == 'N') && s[i + 2] == '-' && s[i + 3] == '-');
	if (len > INT32_MAX || (ascii && !ace))
		return 0;
	idna = uidna_openUTS46(UIDNA_NONTRANSITIONAL_TO_ASCII | UIDNA_NONTRANSITIONAL_TO_UNICODE,
			       &e);
	if (U_FAILURE(e))
		return 0;
	n = ascii ? uidna_nameToUnicodeUTF8(idna, s, (int32_t)len, out, (int32_t)cap, &info, &e)
		  : uidna_nameToASCII_UTF8(idna, s, (int32_t)len, out, (int32_t)cap, &info, &e);
	uidna_close(idna);
	if (U_FAILURE(e) || info.errors || n <= 0 || (size_t)n >= cap)
		return 0;
	return (size_t)n;
}

/*
 * A domain or host: without a leading "*." or dots and trailing dots; also with its dots
 * spelled "dot" ("alpha[dot]example", "alpha dot example"), in every combination of its
 * first HOST_DOT_VARIANTS dots, since a writer may spell one dot and not another ("cert dot
 * alpha.example", "report.ir-portal dot example"); dots after those are spelled "dot" only
 * when all of those are (so at most 2^HOST_DOT_VARIANTS patterns a host).
 */
#define HOST_DOT_VARIANTS 6

static int add_host_spelled(struct policy_redactor *rd, const char *s, size_t len);
static int chain_add(struct policy_redactor *rd, const char *s, size_t len, bool name);

/* A host, and its other spelling when it is an internationalised name (idn_other()). */
static int add_host(struct policy_redactor *rd, const char *s, size_t len)
{
	char other[512];
	size_t n;
	int rc;

	while (len > 0 && (s[0] == '*' || s[0] == '.')) {
		s++;
		len--;
	}
	while (len > 0 && s[len - 1] == '.')
		len--;
	rc = add_host_spelled(rd, s, len);
	if (rc == 0)
		rc = chain_add(rd, s, len, false);
	if (rc == 0 && (n = idn_other(s, len, other, sizeof(other))) > 0) {
		rc = add_host_spelled(rd, other, n);
		if (rc == 0)
			rc = chain_add(rd, other, n, false);
	}
	return rc;
}

static int add_host_spelled(struct policy_redactor *rd, const char *s, size_t len)
{
	size_t dots = 0;
	unsigned spelled;
	char *dotted;
	int rc;

	rc = add_text(rd, s, len, PAT_HOST, 0);
	for (size_t i = 0; i < len; i++)
		dots += s[i] == '.';
	if (rc < 0 || dots == 0)
		return rc;
	dotted = malloc(len * 5 + 1);
	if (!dotted)
		return -ENOMEM;
	spelled = dots < HOST_DOT_VARIANTS ? (unsigned)dots : HOST_DOT_VARIANTS;
	/* @mask: which of the first dots are spelled "dot"; 0 (none) was added above */
	for (unsigned mask = 1; rc == 0 && mask < 1u << spelled; mask++) {
		size_t o = 0, d = 0;

		for (size_t i = 0; i < len; i++) {
			bool word = d < spelled ? mask >> d & 1 : mask == (1u << spelled) - 1;

			if (s[i] != '.') {
				dotted[o++] = s[i];
				continue;
			}
			d++;
			if (word) {
				memcpy(dotted + o, " dot ", 5);
				o += 5;
			} else {
				dotted[o++] = '.';
			}
		}
		rc = add_text(rd, dotted, o, PAT_HOST, 0);
	}
	free(dotted);
	return rc;
}

/* The host of "host:port", "[v6]:port", a bare host or a bare IPv6 address. */
static int add_address(struct policy_redactor *rd, const char *addr)
{
	const char *colon = strchr(addr, ':');

	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');

		if (!end)
			return add_host(rd, addr + 1, strlen(addr + 1));
		return add_host(rd, addr + 1, (size_t)(end - addr - 1));
	}
	if (colon && !strchr(colon + 1, ':'))
		return add_host(rd, addr, (size_t)(colon - addr));
	return add_host(rd, addr, strlen(addr));
}

/*
 * The hosts of a member's point of contact (proto/poc.h): the domain of its team e-mail and
 * the host of its URL. They name the team as surely as its roster domains do (a PoC is often
 * on a domain the roster does not list: a parent organisation's, a shared service's), so
 * they are host patterns like those. The roster's checks guarantee the e-mail holds one '@'
 * and the URL starts "http://" or "https://"; anything else is ignored here, not refused.
 */
static int add_poc(struct policy_redactor *rd, const struct proto_poc *p)
{
	int rc = 0;

	if (p->email) {
		const char *at = strrchr(p->email, '@');

		if (at && at[1])
			rc = add_host(rd, at + 1, strlen(at + 1));
	}
	if (rc == 0 && p->url) {
		const char *h = strstr(p->url, "://");
		char host[PROTO_POC_TEXT_MAX + 1];
		size_t len;
		const char *at;

		if (!h)
			return 0;
		h += 3;
		len = strcspn(h, "/?#");
		/* userinfo ("user@host") is not part of the host */
		at = memchr(h, '@', len);
		while (at) {
			len -= (size_t)(at + 1 - h);
			h = at + 1;
			at = memchr(h, '@', len);
		}
		if (len == 0 || len > PROTO_POC_TEXT_MAX)
			return 0;
		memcpy(host, h, len);
		host[len] = '\0';
		rc = add_address(rd, host);
	}
	return rc;
}

/* Unpadded base64 of @in (@len bytes) into @out with the given last two characters. */
static size_t base64(char *out, const uint8_t *in, size_t len, char c62, char c63)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	size_t o = 0;

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		size_t n = len - i < 3 ? len - i : 3;

		if (n > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (n > 2)
			v |= in[i + 2];
		for (size_t k = 0; k < n + 1; k++) {
			uint32_t x = (v >> (18 - 6 * k)) & 63;

			out[o++] = x < 62 ? a[x] : (x == 62 ? c62 : c63);
		}
	}
	out[o] = '\0';
	return o;
}

/*
 * A key as the byte array programmers paste: "0x10, 0x9a, ..." (C, Go, Rust; any separators,
 * either case) and "\x10\x9a..." (a C or Python string of hex escapes, found in the plain
 * reading, where the backslashes are separators and "x10x9a..." is left). Any prefix of at
 * least KEY_BYTES_MIN bytes, up to KEY_BYTES_MAX: the whole array would be a pattern of 128
 * code points, twice the longest one else (the hex key), and every window that reads "the
 * longest pattern" would double; the bytes past it are no prefix of a key.
 */
#define KEY_BYTES_MAX 16

static int add_key_bytes(struct policy_redactor *rd, const uint8_t key[32])
{
	static const char digits[] = "0123456789abcdef";
	char enc[KEY_BYTES_MAX * 5];
	int rc = 0;

	for (int form = 0; form < 2 && rc == 0; form++) {
		size_t o = 0;

		for (int i = 0; i < KEY_BYTES_MAX; i++) {
			if (form == 0)
				enc[o++] = '0';
			enc[o++] = 'x';
			enc[o++] = digits[key[i] >> 4];
			enc[o++] = digits[key[i] & 15];
			enc[o++] = ' ';
		}
		rc = add_text(rd, enc, o - 1, PAT_KEY, KEY_BYTES_MIN * (form == 0 ? 5 : 4) - 1);
	}
	return rc;
}

static int add_key(struct policy_redactor *rd, const uint8_t key[32])
{
	char enc[65];
	size_t n;
	int rc;

	proto_hex_encode(enc, key, 32);
	rc = add_text(rd, enc, 64, PAT_KEY, HEX_PREFIX_MIN);
	if (rc == 0)
		rc = add_key_bytes(rd, key);
	if (rc < 0)
		return rc;
	n = base64(enc, key, 32, '+', '/');
	rc = add_text(rd, enc, n, PAT_KEY, B64_PREFIX_MIN);
	if (rc < 0)
		return rc;
	n = base64(enc, key, 32, '-', '_');
	return add_text(rd, enc, n, PAT_KEY, B64_PREFIX_MIN);
}

static int add_member(struct policy_redactor *rd, const struct proto_member *m)
{
	int rc = 0;

	if (rd->n_ids == rd->cap_ids) {
		size_t cap = rd->cap_ids ? 2 * rd->cap_ids : 64;
		void *p = realloc(rd->ids, cap * sizeof(*rd->ids));

		if (!p)
			return -ENOMEM;
		rd->ids = p;
		rd->cap_ids = cap;
	}
	memcpy(rd->ids[rd->n_ids++], m->id, 32);
	if (m->name)
		rc = add_text(rd, m->name, strlen(m->name), PAT_NAME, 0);
	if (rc == 0 && m->name)
		rc = chain_add(rd, m->name, strlen(m->name), true);
	for (size_t i = 0; rc == 0 && i < m->n_aliases; i++)
		if (m->aliases[i]) {
			rc = add_text(rd, m->aliases[i], strlen(m->aliases[i]), PAT_NAME, 0);
			if (rc == 0)
				rc = chain_add(rd, m->aliases[i], strlen(m->aliases[i]), true);
		}
	for (size_t i = 0; rc == 0 && i < m->n_domains; i++)
		if (m->domains[i])
			rc = add_host(rd, m->domains[i], strlen(m->domains[i]));
	for (size_t i = 0; rc == 0 && i < m->n_addrs; i++)
		if (m->addrs[i])
			rc = add_address(rd, m->addrs[i]);
	if (rc == 0)
		rc = add_poc(rd, &m->poc);
	if (rc == 0)
		rc = add_key(rd, m->id);
	if (rc == 0)
		rc = add_key(rd, m->transport_pk);
	if (rc == 0)
		rc = add_key(rd, m->ring_pk);
	return rc;
}

/* qsort has no context argument; the ids are compared through this pointer while building
 * (policy_redact_new() is not reentrant for one redactor, and nothing else uses it). */
static _Thread_local const struct policy_redactor *sorting;

static int cmp_pattern(const void *a, const void *b)
{
	const struct pattern *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	if (x->min_len != y->min_len)
		return x->min_len < y->min_len ? -1 : 1;
	for (size_t i = 0; i < x->len; i++)
		if (x->s[i] != y->s[i])
			return x->s[i] < y->s[i] ? -1 : 1;
	return memcmp(sorting->ids[x->owner], sorting->ids[y->owner], 32);
}

static int cmp_index(const void *a, const void *b)
{
	const struct index_entry *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off; /* the patterns' order (build_arena()) */
}

/*
 * The fingerprint chains one hash per pattern over the sorted, distinct patterns (their
 * owners left out: who a pattern names does not change what is redacted).
 */
static void fingerprint(struct policy_redactor *rd)
{
	uint32_t head[4] = {POLICY_REDACT_RULES_VERSION, 0, 0, 0};
	const void *parts[3] = {rd->fp, head, NULL};
	size_t lens[3] = {sizeof(rd->fp), sizeof(head), 0};

	memset(rd->fp, 0, sizeof(rd->fp));
	proto_hash(rd->fp, sizeof(rd->fp), parts + 1, lens + 1, 1);
	for (size_t i = 0; i < rd->n_pats; i++) {
		const struct pattern *p = &rd->pats[i];

		head[1] = p->kind;
		head[2] = (uint32_t)p->len;
		head[3] = (uint32_t)p->min_len;
		parts[2] = p->s;
		lens[2] = p->len * sizeof(*p->s);
		proto_hash(rd->fp, sizeof(rd->fp), parts, lens, 3);
	}
}

void policy_redact_fingerprint(const struct policy_redactor *rd, uint8_t fp[32])
{
	static const uint8_t none[] = "no roster";
	const void *part = none;
	size_t len = sizeof(none);

	if (rd) {
		memcpy(fp, rd->fp, 32);
		return;
	}
	proto_hash(fp, 32, &part, &len, 1);
}

static size_t table_slot(uint64_t h, unsigned bits)
{
	return (size_t)((h * 0x9E3779B97F4A7C15ull) >> (64 - bits));
}

/*
 * Level @l's hash table from its @n_index[@l] entries @ix (sorted by hash, then pattern): at
 * least twice as many slots as entries, in buckets of BUCKET_SLOTS (a cache line each). An
 * entry goes into the first free slot of the first bucket from its hash's that is not full,
 * and every full bucket it passed on the way is marked OFF_MORE; so the entries of one hash
 * lie in their order from that bucket on, and none lies past the first bucket without
 * OFF_MORE: a probe reads bucket after bucket up to one without it (index_probe()), nearly
 * always its first. Asked at every candidate and every scanned boundary.
 */
static int build_table(struct policy_redactor *rd, int l, const struct index_entry *ix)
{
	unsigned bits = 2;
	size_t mask;

	while (((size_t)BUCKET_SLOTS << bits) < 2 * rd->n_index[l])
		bits++;
	rd->table_bits[l] = bits;
	rd->index[l] = aligned_alloc(64, ((size_t)1 << bits) * sizeof(*rd->index[l]));
	if (!rd->index[l])
		return -ENOMEM;
	memset(rd->index[l], 0, ((size_t)1 << bits) * sizeof(*rd->index[l]));
	mask = ((size_t)1 << bits) - 1;
	for (size_t i = 0; i < rd->n_index[l]; i++) {
		size_t b = table_slot(ix[i].hash, bits), k;
		struct index_bucket *t;

		while (rd->index[l][b].off[BUCKET_SLOTS - 1]) {
			rd->index[l][b].off[0] |= OFF_MORE;
			b = (b + 1) & mask;
		}
		t = &rd->index[l][b];
		for (k = 0; t->off[k]; k++)
			;
		t->tag[k] = index_tag(ix[i].hash);
		t->off[k] = ix[i].off;
		t->key_len[k] = ix[i].key_len;
		t->last[k] = ix[i].last;
	}
	return 0;
}

/*
 * The slots of bucket @t whose entry has tag @tag (index_tag(): an empty slot's is 0, never
 * one), as bits (slot k: bit k), without a branch; *@more set when the probe goes on to the
 * next bucket (OFF_MORE).
 */
static unsigned index_probe(const struct index_bucket *t, uint16_t tag, bool *more)
{
	unsigned hit = 0;

	_Static_assert(BUCKET_SLOTS == 8, "index_probe() reads eight slots");
	*more = t->off[0] & OFF_MORE;
#if defined(__SSE2__)
	{
		__m128i eq = _mm_cmpeq_epi16(_mm_load_si128((const __m128i *)t->tag),
					     _mm_set1_epi16((short)tag));

		hit = (unsigned)_mm_movemask_epi8(_mm_packs_epi16(eq, _mm_setzero_si128()));
	}
#else
	for (unsigned k = 0; k < BUCKET_SLOTS; k++)
		hit |= (unsigned)(t->tag[k] == tag) << k;
#endif
	return hit;
}

/*
 * Of the slots @y of bucket @t (index_probe()'s, not none), those whose entry has the
 * key_len of the last of them, k, and another last code point than the place at @c has at
 * k - 1: agree()'s first test made for all of them at once, from the entries (code points
 * whose low 8 bits differ differ), where the place has k code points (@avail: in its field and
 * given). The entries of one hash mostly share key_len ("CERT Member0" .. "CERT Member9", 11
 * code points, under "CERT Mem") and only their last code point tells them apart; one at a
 * time, each took a test and a turn of a loop whose exit mispredicts. Where they do not, the
 * longer ones are the many: a hash's entries lie in their patterns' order, shorter first, and
 * under "CERT Member17" one of 12 code points comes before ten of 13 ("CERT Member170" ..
 * "CERT Member179"), so the last slot's key_len is the one to test.
 */
static unsigned index_other_last(const struct index_bucket *t, unsigned y, const uint32_t *c,
				 size_t avail)
{
	unsigned k = t->key_len[31 - __builtin_clz(y)];

	_Static_assert(BUCKET_SLOTS == 8 && offsetof(struct index_bucket, key_len) % 16 == 0 &&
			       offsetof(struct index_bucket, last) ==
				       offsetof(struct index_bucket, key_len) + 8,
		       "key_len and last: one aligned 16-byte block (_mm_load_si128())");
	if (k == 0 || k > avail)
		return 0;
#if defined(__SSE2__)
	{
		__m128i want = _mm_unpacklo_epi64(_mm_set1_epi8((char)k),
						  _mm_set1_epi8((char)(uint8_t)c[k - 1]));
		unsigned eq = (unsigned)_mm_movemask_epi8(
			_mm_cmpeq_epi8(_mm_load_si128((const __m128i *)t->key_len), want));

		return eq & ~(eq >> 8) & 0xFF;
	}
#else
	{
		unsigned other = 0;

		for (unsigned z = 0; z < BUCKET_SLOTS; z++)
			other |= (unsigned)(t->key_len[z] == k && t->last[z] != (uint8_t)c[k - 1])
				 << z;
		return other;
	}
#endif
}

/*
 * Where in the block the SKEL_HEAD words and skeleton of @len code points that would start at
 * word @o go: at @o, or at the next cache line where from @o they would span more lines than
 * they need (a name of 13 code points and its head, 60 bytes, in one line rather than two).
 * Each agree() reads a skeleton's head and the code points it compares, and the skeletons
 * of a view's few matches are cold in every view; laid end to end, most spanned two lines.
 */
static size_t arena_place(size_t o, size_t len)
{
	const size_t line = 64 / sizeof(uint32_t);
	size_t words = SKEL_HEAD + len, lines = (words + line - 1) / line;

	return o % line + words > lines * line ? (o + line - 1) / line * line : o;
}

/*
 * Every pattern's skeleton copied into one block (cache-line aligned), each after its
 * SKEL_HEAD words, in the patterns' order, placed by arena_place(); the patterns' own copies
 * freed and @s pointed into the block. A skeleton starts at SKEL_HEAD or later, so an
 * entry's @off is never 0.
 */
static int build_arena(struct policy_redactor *rd)
{
	size_t words = 0, o = 0;
	uint32_t *a;

	_Static_assert(PAT_LITERAL < 1u << SKEL_KIND_BITS, "a kind fits SKEL_KIND_BITS");
	if (rd->n_pats > SKEL_PATS_MAX)
		return -ENOMEM;
	for (size_t i = 0; i < rd->n_pats; i++) {
		/* not a roster's: its texts are of at most PROTO_ROSTER_ADDR_MAX bytes */
		if (rd->pats[i].len > SKEL_LEN_MAX)
			return -ENOMEM;
		words = arena_place(words, rd->pats[i].len) + SKEL_HEAD + rd->pats[i].len;
	}
	words = arena_place(words, 64 / sizeof(*a) - SKEL_HEAD); /* a whole number of lines */
	if (words >= OFF_MORE)
		return -ENOMEM; /* an offset must leave OFF_MORE free */
	a = aligned_alloc(64, words * sizeof(*a));
	if (!a)
		return -ENOMEM;
	for (size_t i = 0; i < rd->n_pats; i++) {
		struct pattern *p = &rd->pats[i];
		size_t at = arena_place(o, p->len);

		memset(a + o, 0, (at - o) * sizeof(*a));
		o = at;
		a[o++] = (uint32_t)i | (uint32_t)p->kind << (32 - SKEL_KIND_BITS);
		a[o++] = (uint32_t)p->len | (uint32_t)key_len(p) << 16;
		memcpy(a + o, p->s, p->len * sizeof(*a));
		free(p->s);
		p->s = a + o;
		o += p->len;
	}
	memset(a + o, 0, (words - o) * sizeof(*a));
	rd->skel = a;
	return 0;
}

static int chain_build(struct policy_redactor *rd);

static int build_levels(struct policy_redactor *rd, struct index_entry **ent)
{
	size_t o = 0;

	if (rd->n_pats == 0) {
		fingerprint(rd);
		return 0;
	}
	sorting = rd;
	qsort(rd->pats, rd->n_pats, sizeof(*rd->pats), cmp_pattern);
	for (size_t i = 0; i < rd->n_pats; i++) {
		if (o > 0 && cmp_pattern(&rd->pats[o - 1], &rd->pats[i]) == 0) {
			free(rd->pats[i].s);
			continue;
		}
		rd->pats[o++] = rd->pats[i];
	}
	sorting = NULL;
	rd->n_pats = o;
	fingerprint(rd);
	for (size_t i = 0; i < rd->n_pats; i++)
		if (rd->pats[i].len > rd->max_len)
			rd->max_len = rd->pats[i].len;
	if (build_arena(rd) != 0)
		return -ENOMEM;
	for (int l = 0; l < N_LEVELS; l++) {
		/* hash_cp2() takes two code points a step: an odd level would hash one too many */
		assert(level_len[l] % 2 == 0);
		ent[l] = calloc(rd->n_pats, sizeof(*ent[l]));
		if (!ent[l])
			return -ENOMEM;
	}
	rd->shorts = calloc(rd->n_pats, sizeof(*rd->shorts));
	rd->literals = calloc(rd->n_pats, sizeof(*rd->literals));
	rd->grams = calloc((1u << GRAM_BITS) / 64, sizeof(*rd->grams));
	rd->partials = calloc((1u << GRAM_BITS) / 64, sizeof(*rd->partials));
	rd->look = calloc(1, sizeof(*rd->look));
	if (!rd->shorts || !rd->literals || !rd->grams || !rd->partials || !rd->look)
		return -ENOMEM;
	for (size_t i = 0; i < rd->n_pats; i++) {
		const struct pattern *p = &rd->pats[i];
		size_t key_len = p->kind == PAT_KEY ? p->min_len : p->len;
		int l = N_LEVELS - 1;
		uint64_t h = HASH_INIT;
		uint32_t slot;

		if (p->kind == PAT_LITERAL) {
			rd->literals[rd->n_literals++] = (uint32_t)i;
			continue;
		}
		policy_skel_look_add(rd->look, p->s, key_len);
		if (key_len < SHORT_LEN) {
			rd->shorts[rd->n_shorts++] = (uint32_t)i;
			bloom_add(rd->grams, gram_hash(p->s, key_len, (uint32_t)key_len));
			rd->short_lens |= 1u << key_len;
			continue;
		}
		while (level_len[l] > key_len)
			l--;
		bloom_add(rd->grams, gram_hash(p->s, SHORT_LEN, SHORT_LEN));

		for (size_t r = SHORT_LEN; r < level_len[l]; r++)
			bloom_add(rd->partials, gram_hash(p->s, r, GRAM_PREFIX + (uint32_t)r));
		slot = prefix_slot(p->s[0], p->s[1], p->s[2]);
		rd->prefixes[slot / 8] |= (uint8_t)(1u << (slot % 8));
		if (p->s[0] < 0x80 && p->s[1] < 0x80 && p->s[2] < 0x80) {
			slot = ascii_prefix(p->s[0], p->s[1], p->s[2]);
			rd->ascii_prefixes[slot / 8] |= (uint8_t)(1u << (slot % 8));
		}
		for (size_t k = 0; k < level_len[l]; k += 2) {
			h = hash_cp2(h, p->s + k);
			if (k + 2 == LONG_START)
				rd->level_mask8[long_slot(h)] |= (uint8_t)(1u << l);
			if (k + 2 == LONGER_START)
				rd->level_mask12[long_slot(h)] |= (uint8_t)(1u << l);
		}
		ent[l][rd->n_index[l]++] = (struct index_entry){
			h, (uint32_t)(p->s - rd->skel), key_len <= UINT8_MAX ? (uint8_t)key_len : 0,
			(uint8_t)p->s[key_len - 1]};
		rd->level_mask[start_slot(p->s)] |= (uint8_t)(1u << l);
	}
	for (int l = 0; l < N_LEVELS; l++) {
		qsort(ent[l], rd->n_index[l], sizeof(*ent[l]), cmp_index);
		if (build_table(rd, l, ent[l]) != 0)
			return -ENOMEM;
		if (rd->n_index[l])
			rd->levels = l + 1;
	}
	return 0;
}

/* The index and the filters, from the patterns (each level's entries gathered, then hashed). */
static int build_index(struct policy_redactor *rd)
{
	struct index_entry *ent[N_LEVELS] = {NULL};
	int rc = build_levels(rd, ent);

	for (int l = 0; l < N_LEVELS; l++)
		free(ent[l]);
	return rc;
}

struct policy_redactor *policy_redact_new(const struct proto_roster *const *rosters, size_t n)
{
	struct policy_redactor *rd = calloc(1, sizeof(*rd));

	if (!rd)
		return NULL;
	rd->sk = policy_skeleton_shared();
	if (!rd->sk)
		goto fail;
	for (uint32_t c = 0; c < 128; c++)
		rd->ascii_slots[c] = (uint8_t)ascii_slot(c);
	for (size_t r = 0; r < n; r++) {
		if (!rosters[r])
			continue;
		for (size_t m = 0; m < rosters[r]->n_members; m++)
			if (add_member(rd, &rosters[r]->members[m]) != 0)
				goto fail;
	}
	if (build_index(rd) != 0 || chain_build(rd) != 0)
		goto fail;
	if (rd->n_pats > 0 && !(rd->memo = memo_new()))
		goto fail;
	return rd;
fail:
	policy_redact_free(rd);
	return NULL;
}

void policy_redact_free(struct policy_redactor *rd)
{
	if (!rd)
		return;
	for (size_t i = 0; !rd->skel && i < rd->n_pats; i++)
		free(rd->pats[i].s);
	free(rd->skel);
	free(rd->pats);
	free(rd->ids);
	for (int l = 0; l < N_LEVELS; l++)
		free(rd->index[l]);
	free(rd->shorts);
	free(rd->literals);
	free(rd->grams);
	free(rd->partials);
	free(rd->look);
	memo_free(rd->memo);
	for (size_t i = 0; i < rd->n_wpats; i++) {
		free(rd->wpats[i].s);
		free(rd->wpats[i].word);
	}
	free(rd->wpats);
	free(rd->seqs);
	free(rd);
}

size_t policy_redact_patterns(const struct policy_redactor *rd)
{
	return rd ? rd->n_pats : 0;
}

/*
 * How long a prefix of key pattern @p must be to match glued to other text (KEY_GLUED_MIN):
 * hex is the only encoding whose shortest prefix (HEX_PREFIX_MIN digits, 32 bits) is under
 * 64 bits; base64's (16 characters, fewer skeleton code points when '+' or '/' is among
 * them) and a byte array's (KEY_BYTES_MIN bytes) are 64 bits or more already.
 */
static size_t key_glued(size_t min_len)
{
	return min_len > HEX_PREFIX_MIN ? min_len : KEY_GLUED_MIN;
}

/*
 * Where a match of the pattern whose skeleton is @s (as match_at()'s; not a key) ends when its
 * code points are known to agree at skeleton index @i (and @i + its len <= @t->len): its
 * end, or 0 when the boundaries there allow none.
 */
POLICY_HOT
static size_t match_end(const uint32_t *s, const struct policy_skel_text *t, size_t i)
{
	const uint32_t *c = t->cp;
	size_t n = t->len, len = skel_len(s), e = i + len;
	uint32_t kind = skel_kind(s);

	if (len < SHORT_LEN)
		return t->bnd[i] == POLICY_SKEL_HARD && t->bnd[e] == POLICY_SKEL_HARD ? e : 0;
	if (t->bnd[e] != POLICY_SKEL_NONE)
		return e;
	if (kind != PAT_NAME)
		return 0;
	if (c[e] == 's' && t->bnd[e + 1] != POLICY_SKEL_NONE)
		return e + 1;
	if (e + 1 < n && c[e] == 'e' && c[e + 1] == 's' && t->bnd[e + 2] != POLICY_SKEL_NONE)
		return e + 2;
	return 0;
}

/*
 * Where a match of the pattern whose skeleton is @s (in policy_redactor.skel: its len,
 * key_len() and kind in the words before it, so the struct pattern is not loaded) starting
 * at skeleton index @i ends (exclusive), or 0 when there is none. The start boundary was
 * checked by the caller.
 */
POLICY_HOT
static size_t match_at(const uint32_t *s, const struct policy_skel_text *t, size_t i)
{
	const uint32_t *c = t->cp;
	size_t n = t->len, len = skel_len(s);
	uint32_t kind = skel_kind(s);

	if (kind == PAT_KEY) {
		size_t lcp = 0, min_len = skel_key(s);

		while (lcp < len && i + lcp < n && c[i + lcp] == s[lcp])
			lcp++;
		/* 64 bits or more: any boundary to anywhere ("id109ab1ac4d578f48xyz") */
		if (lcp >= min_len && lcp >= key_glued(min_len))
			return i + lcp;
		if (t->bnd[i] != POLICY_SKEL_HARD)
			return 0;
		for (size_t q = lcp; q >= min_len && q > 0; q--)
			if (t->bnd[i + q] == POLICY_SKEL_HARD)
				return i + q;
		return 0;
	}
	if (i + len > n || memcmp(c + i, s, len * sizeof(*c)) != 0)
		return 0;
	return match_end(s, t, i);
}

/* What to do with each match: the source bytes it covers, and the owner. */
struct sink {
	const uint8_t *src; /* the joined source (mask mode) */
	size_t src_len;
	uint8_t *mask; /* NULL: names mode */
	const uint8_t *except;
	uint8_t *found;
	bool named;
	/*
	 * Pair mode (pair_scan()): the text is the tail of one field and the head of another,
	 * not neighbours in the source, from skeleton index @junction on. A match is marked
	 * on each side separately, never over the bytes between the two fields.
	 */
	const struct policy_skel_text *pair;
	size_t junction;
};

POLICY_HOT
static bool is_hostish(uint8_t c)
{
	return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || c == '.' || c == '-' || c == '_' || c == '@' || c == '+';
}

static bool is_word_byte(uint8_t c)
{
	return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z');
}

/*
 * A host match widens over the host name and an e-mail address around it: ASCII host bytes,
 * and any other character (an internationalised label) except those of Chinese, Japanese
 * and Korean text and full-width punctuation. Japanese writes no space after a host, and a
 * particle glued to it ("alpha.exampleからの通知") must not take the sentence with it.
 */
static bool cjk_text(uint32_t c)
{
	return (c >= 0x2E80 && c <= 0x9FFF) || (c >= 0xAC00 && c <= 0xD7AF) ||
	       (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xFE30 && c <= 0xFE4F) || c >= 0x20000 ||
	       (c >= 0xFF00 && c <= 0xFFEF &&
		!((c >= 0xFF10 && c <= 0xFF19) || (c >= 0xFF21 && c <= 0xFF3A) ||
		  (c >= 0xFF41 && c <= 0xFF5A)));
}

/* The UTF-8 character starting at @b[@i] (@len bytes): its length, and *@c; 0 when none. */
static size_t utf8_char(const uint8_t *b, size_t len, size_t i, uint32_t *c)
{
	size_t n = b[i] >= 0xF0 ? 4 : b[i] >= 0xE0 ? 3 : b[i] >= 0xC0 ? 2 : 1;

	if (n == 1 || i + n > len)
		return 0;
	*c = b[i] & (0x7F >> n);
	for (size_t j = 1; j < n; j++) {
		if ((b[i + j] & 0xC0) != 0x80)
			return 0;
		*c = *c << 6 | (b[i + j] & 0x3F);
	}
	return n;
}

/* The host character at byte @i of @b (@len bytes): its length, 0 when it is none. */
static size_t host_char_at(const uint8_t *b, size_t len, size_t i)
{
	uint32_t c;
	size_t n;

	if (b[i] < 0x80)
		return is_hostish(b[i]);
	n = utf8_char(b, len, i, &c);
	return n && !cjk_text(c) ? n : 0;
}

/* The host character ending just before byte @i of @b: its length, 0 when it is none. */
static size_t host_char_before(const uint8_t *b, size_t i)
{
	size_t j = i - 1;

	if (b[j] < 0x80)
		return is_hostish(b[j]);
	while (j > 0 && i - j < 4 && (b[j] & 0xC0) == 0x80)
		j--;
	return host_char_at(b, i, j) == i - j ? i - j : 0;
}

/* A match of the pattern whose skeleton is @ps (as match_at()'s @s) over source bytes
 * [@from, @to). */
POLICY_HOT
static void on_match(const struct policy_redactor *rd, struct sink *k, const uint32_t *ps,
		     size_t from, size_t to)
{
	if (!k->mask) {
		const uint8_t *id = rd->ids[rd->pats[skel_pat(ps)].owner];

		if (!k->except || memcmp(id, k->except, 32) != 0) {
			if (k->found && !k->named)
				memcpy(k->found, id, 32);
			k->named = true;
		}
		return;
	}
	if (skel_kind(ps) == PAT_HOST) {
		size_t s = from, e = to, n;

		while (s > 0 && (n = host_char_before(k->src, s)) > 0)
			s -= n;
		while (s < from && !is_word_byte(k->src[s]))
			s++;
		while (e < k->src_len && (n = host_char_at(k->src, k->src_len, e)) > 0)
			e += n;
		while (e > to && !is_word_byte(k->src[e - 1]))
			e--;
		from = s;
		to = e;
	}
	memset(k->mask + from, 1, to - from);
}

/* A match of the pattern whose skeleton is @ps over skeleton indices [@i, @e) of @t. */
static void hit(const struct policy_redactor *rd, struct sink *k, const uint32_t *ps,
		const struct policy_skel_text *t, size_t i, size_t e)
{
	size_t j = k->junction;

	if (!k->pair) {
		on_match(rd, k, ps, t->from[i], t->to[e - 1]);
		return;
	}
	if (e <= j)
		return; /* inside the tail: the field's own scan found it */
	if (!k->mask) {
		on_match(rd, k, ps, 0, 0);
		return;
	}
	memset(k->mask + t->from[i], 1, t->to[j - 1] - t->from[i]);
	memset(k->mask + t->from[j], 1, t->to[e - 1] - t->from[j]);
}

static void try_bucket(const struct policy_redactor *rd, int l, uint64_t h,
		       const struct policy_skel_text *t, size_t i, struct sink *k)
{
	size_t mask = ((size_t)1 << rd->table_bits[l]) - 1, b = table_slot(h, rd->table_bits[l]);
	bool more = true;

	for (; more; b = (b + 1) & mask) {
		const struct index_bucket *x = &rd->index[l][b];

		for (unsigned y = index_probe(x, index_tag(h), &more); y; y &= y - 1) {
			const uint32_t *ps = rd->skel + (x->off[__builtin_ctz(y)] & ~OFF_MORE);
			size_t e = match_at(ps, t, i);

			if (e)
				hit(rd, k, ps, t, i, e);
		}
	}
}

static void scan_literals(const struct policy_redactor *rd, const uint8_t *src, size_t len,
			  struct sink *k)
{
	for (size_t j = 0; j < rd->n_literals; j++) {
		const struct pattern *p = &rd->pats[rd->literals[j]];

		for (size_t i = 0; p->len <= len && i <= len - p->len; i++) {
			size_t q = 0, s = i, e = i + p->len;

			while (q < p->len && lower(src[i + q]) == p->s[q])
				q++;
			if (q < p->len)
				continue;
			/* hiding only part of a word would leave its rest looking like a word */
			while (s > 0 && is_word_byte(src[s - 1]))
				s--;
			while (e < len && is_word_byte(src[e]))
				e++;
			on_match(rd, k, p->s, s, e);
		}
	}
}

/* Scan matches starting at skeleton indices below @stop (t->len: all). */
static void scan(const struct policy_redactor *rd, const struct policy_skel_text *t,
		 const uint8_t *src, size_t src_len, bool skip_literals, size_t stop,
		 struct sink *k)
{
	for (size_t i = 0; i < stop; i++) {
		uint64_t h = HASH_INIT;
		size_t done = 0;
		uint32_t slot;

		if (t->bnd[i] == POLICY_SKEL_NONE)
			continue;
		slot = i + 2 < t->len ? prefix_slot(t->cp[i], t->cp[i + 1], t->cp[i + 2]) : 0;
		for (int l = 0; l < rd->levels && i + level_len[l] <= t->len &&
				(rd->prefixes[slot / 8] >> (slot % 8) & 1);
		     l++) {
			for (; done < level_len[l]; done += 2)
				h = hash_cp2(h, t->cp + i + done);
			if (rd->n_index[l])
				try_bucket(rd, l, h, t, i, k);
		}
		if (t->bnd[i] != POLICY_SKEL_HARD)
			continue;
		for (size_t j = 0; j < rd->n_shorts; j++) {
			const uint32_t *ps = rd->pats[rd->shorts[j]].s;
			size_t e = match_at(ps, t, i);

			if (e)
				hit(rd, k, ps, t, i, e);
		}
	}
	if (!skip_literals)
		scan_literals(rd, src, src_len, k);
}

/*
 * Join @n fields (the in or the out side) into one buffer, one 0x1F byte between fields
 * (a control character, so host widening and literals never cross it). *@base receives
 * each field's offset. With @mask, the same block also holds a zeroed mask of *@joined_len
 * bytes after the joined text (*@mask; freed with *@joined: one block a call), and
 * MASK_SLACK zero bytes after it, which mask_next() reads whole blocks into. The block is
 * @buf (JOIN_STACK bytes of the caller's, or NULL) when it fits: a view's few hundred bytes
 * need no allocation. Free it with join_free().
 */
#define MASK_SLACK 16
#define JOIN_STACK 1024

POLICY_HOT
static int join(const char *const *s, const size_t *len, size_t n, uint8_t **joined,
		size_t *joined_len, size_t *base, uint8_t **mask, uint8_t *buf)
{
	size_t total = n, o = 0, size;

	for (size_t i = 0; i < n; i++)
		total += len[i];
	size = mask ? 2 * total + MASK_SLACK : total ? total : 1;
	*joined = buf && size <= JOIN_STACK ? buf : malloc(size);
	if (!*joined)
		return -ENOMEM;
	if (mask) {
		*mask = *joined + total;
		memset(*mask, 0, total + MASK_SLACK);
	}
	for (size_t i = 0; i < n; i++) {
		base[i] = o;
		if (len[i])
			memcpy(*joined + o, s[i], len[i]);
		o += len[i];
		(*joined)[o++] = 0x1F;
	}
	*joined_len = o;
	return 0;
}

/* Free join()'s block @joined (NULL: none) made with the caller's @buf (or NULL). */
static void join_free(uint8_t *joined, const uint8_t *buf)
{
	if (joined != buf)
		free(joined);
}

/*
 * Fields are a set (the tags of a view have no meaningful order), so a name may be split
 * across any two of them, not only across neighbours in the joined text. For every ordered
 * pair (@a, @b) that the joined text does not already put side by side, the last
 * rd->max_len - 1 code points of @a are followed by the first rd->max_len of @b and matches
 * that start in @a's part and cross into @b's are marked in both fields. Fields @a and @b
 * occupy skeleton indices [@fs[x], @fe[x]) of @t. @pt is scratch of 2 * rd->max_len + 1
 * entries in each array.
 */
/*
 * Whether a match could start in [@ta, @ea) (the tail of one field) and cross into the field
 * at [@fb, @eb): scan()'s own first test, the prefilter bit of the 3 code points from a
 * boundary on (read across the junction), or a short pattern within the last 3 code points
 * at a hard boundary. Most pairs fail it, and then nothing is copied or looked up.
 */
static bool pair_candidate(const struct policy_redactor *rd, const struct policy_skel_text *t,
			   size_t ta, size_t ea, size_t fb, size_t eb)
{
	for (size_t p = ta; p < ea; p++) {
		uint32_t c[3];
		size_t q = p;

		if (t->bnd[p] == POLICY_SKEL_NONE)
			continue;
		if (rd->n_shorts && ea - p < SHORT_LEN && t->bnd[p] == POLICY_SKEL_HARD)
			return true;
		for (int k = 0; k < 3; k++, q++) {
			if (q < ea)
				c[k] = t->cp[q];
			else if (fb + (q - ea) < eb)
				c[k] = t->cp[fb + (q - ea)];
			else
				break;
			if (k == 2) {
				uint32_t slot = prefix_slot(c[0], c[1], c[2]);

				if (rd->prefixes[slot / 8] >> (slot % 8) & 1)
					return true;
			}
		}
	}
	return false;
}

static void pair_scan(const struct policy_redactor *rd, const struct policy_skel_text *t,
		      const size_t *fs, const size_t *fe, size_t n, struct policy_skel_text *pt,
		      struct sink *k)
{
	size_t w = rd->max_len;

	if (w == 0)
		return;
	for (size_t a = 0; a < n; a++) {
		size_t ta = fe[a] - fs[a] < w ? fs[a] : fe[a] - (w - 1);

		if (fe[a] == fs[a])
			continue;
		for (size_t b = 0; b < n; b++) {
			size_t hb = fe[b] - fs[b] < w ? fe[b] : fs[b] + w, o = 0;

			if (b == a || b == a + 1 || fe[b] == fs[b] ||
			    !pair_candidate(rd, t, ta, fe[a], fs[b], fe[b]))
				continue;
			for (size_t q = ta; q < fe[a]; q++, o++) {
				pt->cp[o] = t->cp[q];
				pt->from[o] = t->from[q];
				pt->to[o] = t->to[q];
				pt->bnd[o] = t->bnd[q];
			}
			k->junction = o;
			for (size_t q = fs[b]; q < hb; q++, o++) {
				pt->cp[o] = t->cp[q];
				pt->from[o] = t->from[q];
				pt->to[o] = t->to[q];
				pt->bnd[o] = q == fs[b] ? POLICY_SKEL_HARD : t->bnd[q];
			}
			pt->bnd[o] = t->bnd[hb];
			pt->len = o;
			k->pair = pt;
			scan(rd, pt, NULL, 0, true, k->junction, k);
			k->pair = NULL;
		}
	}
}

/*
 * Map the @n fields to the skeleton and scan it into @k. A text in which markup decoding
 * changed something is read twice, decoded and as plain text (policy/skeleton.h): "<Alpha>"
 * or "&Delta;" name a member in one reading and not in the other, and either reading may be
 * the one a person sees.
 */
static int map_scan(const struct policy_redactor *rd, const char *const *s, const size_t *len,
		    size_t n, const size_t *base, const uint8_t *joined, size_t joined_len,
		    struct sink *k)
{
	struct policy_skel_text pt = {0};
	size_t *fs = NULL, *fe = NULL, w = 2 * rd->max_len + 1;
	bool again = false;
	int rc = 0;

	if (n > 1) {
		fs = malloc(2 * n * sizeof(*fs) + w * (2 * sizeof(size_t) + sizeof(uint32_t) + 1));
		if (!fs) {
			rc = -ENOMEM;
			goto out;
		}
		fe = fs + n;
		/* The pair text's scratch, in the same allocation (written before it is read). */
		pt.from = fe + n;
		pt.to = pt.from + w;
		pt.cp = (uint32_t *)(pt.to + w);
		pt.bnd = (uint8_t *)(pt.cp + w);
	}
	for (unsigned plain = 0; plain <= (again ? 1u : 0u) && rc == 0; plain++) {
		struct policy_skel_text t = {0};

		rc = policy_skel_text_reserve(&t, joined_len);
		for (size_t i = 0; i < n && rc == 0; i++) {
			if (fs)
				fs[i] = t.len;
			rc = policy_skeleton_map(rd->sk, s[i], len[i], base[i],
						 plain ? POLICY_SKEL_PLAIN : 0, &t);
			if (fe)
				fe[i] = t.len;
		}
		if (rc == 0)
			scan(rd, &t, joined, joined_len, plain, t.len, k);
		if (rc == 0 && fs)
			pair_scan(rd, &t, fs, fe, n, &pt, k);
		again = t.n_decoded > 0;
		policy_skel_text_deinit(&t);
	}
out:
	free(fs);
	return rc;
}

/*
 * The fast path. Most text names nobody, and mapping it to the full skeleton (sources,
 * boundaries) and scanning it costs more than the rest of an export. So the fields are first
 * mapped to code points only (POLICY_SKEL_CPS), and every place where some pattern's code
 * points follow, boundaries ignored, is a candidate: found through @grams (a pattern's first
 * code points), then the index as scan() uses it. Only the stretch around a candidate is
 * mapped in full and scanned by scan() itself, from the last place before it where mapping
 * may start afresh (after a separator) to the first such place at least 3 code points past
 * its end (a plural and the boundaries match_at() reads), so each stretch has exactly the
 * skeleton, boundaries and sources the whole field has there, and yields exactly the matches
 * map_scan() finds in it. Every match map_scan() finds starts at a candidate (its code
 * points are the pattern's), so the two mark the same bytes.
 *
 * What this does not decide is left to map_scan(): literals, and any pattern that may run
 * from one field into another (read side by side or as a pair, pair_scan()): a candidate
 * whose pattern still agrees at the end of its field, a prefix of a pattern ending a field
 * (@partials, for prefixes shorter than the pattern's index level), or a gram crossing the
 * end of a field. Fields rarely end in part of a name, so this costs little.
 */

/*
 * What candidate() found at a place: @ext the length of the longest match with boundaries
 * ignored, @open set when some pattern (or a name's plural, match_at()) would run on past
 * the field's end, and the patterns that agree in full (a match with boundaries ignored):
 * the first AGREED_MAX in @p, how many in @n.
 */
#define AGREED_MAX 16

struct agreed {
	size_t ext, n;
	bool open;
	/*
	 * Set by the caller: how many code points at the place it gave (candidate() reads no
	 * further); @more set when some pattern still agreed there (ask again with more).
	 */
	size_t avail;
	bool more;
	/*
	 * Set by the caller: the place passed a gram filter already (a hit), so candidate()
	 * does not ask gram_start(), which would nearly always pass (a filter only: level_mask
	 * and the compares decide).
	 */
	bool passed;
	const uint32_t *pat[AGREED_MAX]; /* their skeletons (in policy_redactor.skel) */
};

#if defined(__SSE2__)
/* Bit i set where the code points @a[@o + i] and @b[@o + i] differ, i < 4. */
static inline __attribute__((always_inline)) unsigned differ4(const uint32_t *a, const uint32_t *b,
							      size_t o)
{
	__m128i eq = _mm_cmpeq_epi32(_mm_loadu_si128((const __m128i *)(a + o)),
				     _mm_loadu_si128((const __m128i *)(b + o)));

	return ~(unsigned)_mm_movemask_ps(_mm_castsi128_ps(eq)) & 0xF;
}
#endif

/*
 * How many of the first @m code points of @a and @b are equal before the first that differs.
 * With SSE2, four at a time, and nothing past @m is read: up to 16 (a name, a host, a key's
 * shortest prefix), as four blocks whose places are fixed by @m alone (those of 4, 8 and 12,
 * each moved back to end at @m where it would pass it, and the four that end at @m), their
 * differences gathered by place and the first taken, without a branch on where it lies; a
 * loop of a dozen steps one code point at a time mispredicted its exit. Longer, a block at a
 * time, the last overlapping the one before.
 */
static inline __attribute__((always_inline)) size_t same_prefix(const uint32_t *a,
								const uint32_t *b, size_t m)
{
	size_t j = 0;

#if defined(__SSE2__)
	if (m >= 4 && m <= 16) {
		size_t o1 = m < 8 ? m - 4 : 4, o2 = m < 12 ? m - 4 : 8, o3 = m - 4;
		unsigned d = differ4(a, b, 0) | differ4(a, b, o1) << o1 | differ4(a, b, o2) << o2 |
			     differ4(a, b, o3) << o3;

		return d ? (size_t)__builtin_ctz(d) : m;
	}
	if (m > 16) {
		unsigned ne;

		for (; j + 4 <= m; j += 4)
			if ((ne = differ4(a, b, j)) != 0)
				return j + (size_t)__builtin_ctz(ne);
		if (j == m)
			return m;
		ne = differ4(a, b, m - 4); /* all before it are equal */
		return ne ? m - 4 + (size_t)__builtin_ctz(ne) : m;
	}
#endif
	while (j < m && a[j] == b[j])
		j++;
	return j;
}

/*
 * How the pattern whose skeleton is @s (in policy_redactor.skel: its len, key_len() and kind
 * in the words before it) agrees with the @r code points at @c (up to its field's end), into
 * @g.
 */
POLICY_HOT
static void agree(const uint32_t *s, const uint32_t *c, size_t r, struct agreed *g)
{
	size_t len = skel_len(s), m = len < r ? len : r, a = 0, k = skel_key(s);
	uint32_t kind = skel_kind(s);

	/*
	 * The last code point a match needs, first: when it differs (most patterns of a bucket
	 * share the start it was found by, "CERT Member1" and "CERT Member17"), they agree on
	 * fewer than key_len() and fewer than @r code points, which records nothing below.
	 */
	if (k <= r && k <= g->avail && c[k - 1] != s[k - 1])
		return;
	a = same_prefix(c, s, m < g->avail ? m : g->avail); /* inlined once: a short agree() */
	if (m > g->avail) {
		g->more = g->more || a == g->avail;
		if (a == g->avail)
			return;
	}
	if (a == r && len > r)
		g->open = true;
	/*
	 * a name ending one before the field's end may take its plural "es" across the end
	 * (c[a] is read only where the caller gave it: a name agreeing on all @avail given is
	 * listed with ext = avail, and quick_matches() asks again with more); one test of the
	 * three equalities, rarely all true: asked one by one, they mispredicted (names agreeing
	 * in full between hosts)
	 */
	if (((r - a - 1) | (a ^ len) | (kind ^ PAT_NAME)) == 0 && a < g->avail && c[a] == 'e')
		g->open = true;
	if (a < k) /* a key's shortest prefix that counts, else the whole pattern */
		return;
	if (a > g->ext)
		g->ext = a;
	if (g->n < AGREED_MAX)
		g->pat[g->n] = s;
	g->n++;
}

/* Whether the @len code points at @c (SHORT_LEN, or a short pattern's length) start a pattern. */
POLICY_HOT
static bool gram_start(const struct policy_redactor *rd, const uint32_t *c, size_t len)
{
	if (len == SHORT_LEN) {
		uint32_t slot = prefix_slot(c[0], c[1], c[2]);

		if (!(rd->prefixes[slot / 8] >> (slot % 8) & 1))
			return false;
	}
	return bloom_has(rd->grams, gram_hash(c, len, (uint32_t)len));
}

/* The candidate at @c (@r code points to its field's end): what agree() finds there, into @g. */
POLICY_HOT
static void candidate(const struct policy_redactor *rd, const uint32_t *c, size_t r,
		      struct agreed *g)
{
	uint64_t h4, h8 = 0, h;
	size_t done = SHORT_LEN;
	unsigned levels;

	_Static_assert(LONG_START == 8 && LONGER_START == 12,
		       "level_len[1] is LONG_START, level_len[2] LONGER_START");
	g->ext = g->n = 0;
	g->open = g->more = false;
	for (size_t len = 1; rd->short_lens && len < SHORT_LEN; len++) {
		if (!(rd->short_lens >> len & 1) || r < len || !gram_start(rd, c, len))
			continue;
		for (size_t j = 0; j < rd->n_shorts; j++)
			if (key_len(&rd->pats[rd->shorts[j]]) == len)
				agree(rd->pats[rd->shorts[j]].s, c, r, g);
	}
	if (r < SHORT_LEN)
		return;
	if (!g->passed && !gram_start(rd, c, SHORT_LEN))
		return;
	levels = rd->level_mask[start_slot(c)];
	if (!levels)
		return; /* no pattern starts with these 4: none agrees, none runs on past @r */
	/*
	 * The levels some pattern starting with these 4 is indexed at, lowest first; from
	 * LONG_START up, only those where some pattern also starts with the first LONG_START,
	 * and from LONGER_START up with the first LONGER_START (a level none does holds no
	 * pattern that agrees on them, none that runs on past @r, that many or more), where
	 * the caller gave that many (quick_matches() gives fewer only when no pattern is that
	 * long). level_len[0] is SHORT_LEN, level_len[1] LONG_START, level_len[2]
	 * LONGER_START.
	 */
	h = h4 = hash_cp2(hash_cp2(HASH_INIT, c), c + 2);
	if (r >= LONG_START && g->avail >= LONG_START) {
		h = h8 = hash_cp2(hash_cp2(h4, c + 4), c + 6);
		done = LONG_START;
		levels &= 1u | rd->level_mask8[long_slot(h8)];
		if (levels >> 2 && r >= LONGER_START && g->avail >= LONGER_START) {
			h = hash_cp2(hash_cp2(h8, c + 8), c + 10);
			done = LONGER_START;
			levels &= 3u | rd->level_mask12[long_slot(h)];
		}
	}
	for (; levels; levels &= levels - 1) {
		int l = __builtin_ctz(levels);
		size_t mask = ((size_t)1 << rd->table_bits[l]) - 1, b;
		bool more = true;
		uint64_t hl;

		if (level_len[l] > r)
			break; /* and every level after it */
		for (; done < level_len[l]; done += 2)
			h = hash_cp2(h, c + done);
		/* levels 0 and 1 may have been hashed past (for level_mask8, level_mask12) */
		hl = l == 0 ? h4 : l == 1 && done > LONG_START ? h8 : h;
		for (b = table_slot(hl, rd->table_bits[l]); more; b = (b + 1) & mask) {
			const struct index_bucket *x = &rd->index[l][b];
			unsigned y = index_probe(x, index_tag(hl), &more);

			if (y)
				y &= ~index_other_last(x, y, c, r < g->avail ? r : g->avail);
			for (; y; y &= y - 1) {
				unsigned z = (unsigned)__builtin_ctz(y);
				size_t k = x->key_len[z];

				/*
				 * agree()'s first test, from the entry: where it holds, agree()
				 * returns at once, recording nothing (code points whose low 8
				 * bits differ differ), so the skeleton is not loaded; most of a
				 * hash's patterns are rejected so ("CERT Member17" among "CERT
				 * Member170" .. "CERT Member179").
				 */
				if (k && k <= r && k <= g->avail && (uint8_t)c[k - 1] != x->last[z])
					continue;
				agree(rd->skel + (x->off[z] & ~OFF_MORE), c, r, g);
			}
		}
	}
	if (r < level_len[N_LEVELS - 1] &&
	    bloom_has(rd->partials, gram_hash(c, r, GRAM_PREFIX + (uint32_t)r)))
		g->open = true;
}

/*
 * Whether a gram (of SHORT_LEN, or of a short pattern's length) that starts in the last code
 * points of a field, too few for the gram, and runs into the fields after it (as scan() reads
 * them) or into any other field (as pair_scan() does) is some pattern's start.
 */
static bool crossing_gram(const struct policy_redactor *rd, const struct policy_skel_text *g,
			  const size_t *fs, const size_t *fe, size_t n)
{
	for (size_t a = 0; a < n; a++) {
		for (size_t i = fe[a] - fs[a] < SHORT_LEN ? fs[a] : fe[a] - (SHORT_LEN - 1);
		     i < fe[a]; i++) {
			size_t r = fe[a] - i;

			for (size_t len = r + 1; len <= SHORT_LEN; len++) {
				uint32_t c[SHORT_LEN];

				if (len < SHORT_LEN && !(rd->short_lens >> len & 1))
					continue;
				if (i + len <= g->len && gram_start(rd, g->cp + i, len))
					return true;
				memcpy(c, g->cp + i, r * sizeof(*c));
				for (size_t b = 0; b < n; b++) {
					if (b == a || b == a + 1 || fe[b] - fs[b] < len - r)
						continue;
					memcpy(c + r, g->cp + fs[b], (len - r) * sizeof(*c));
					if (gram_start(rd, c, len))
						return true;
				}
			}
		}
	}
	return false;
}

/* Map bytes [@start, @end) of field @f (joined offsets) in full and scan them into @k. */
static int stretch(const struct policy_redactor *rd, const char *const *s, const size_t *base,
		   size_t f, size_t start, size_t end, unsigned flags, struct policy_skel_text *t,
		   struct sink *k)
{
	int rc;

	t->len = 0;
	rc = policy_skeleton_map(rd->sk, s[f] + (start - base[f]), end - start, start, flags, t);
	if (rc == 0)
		scan(rd, t, NULL, 0, true, t->len, k);
	return rc;
}

/*
 * The candidates of field @f in @g (one reading, POLICY_SKEL_CPS, fields at [@fs, @fe)),
 * each stretch around them mapped and scanned. @alone: no other field has a code point, so
 * nothing can run past this one's end. Returns 0, 1 when map_scan() must decide (a pattern
 * may run past the field), -ENOMEM.
 */
static int field_stretches(const struct policy_redactor *rd, const char *const *s,
			   const size_t *len, const size_t *base, size_t f,
			   const struct policy_skel_text *g, const size_t *fs, const size_t *fe,
			   bool alone, unsigned flags, struct policy_skel_text *t, struct sink *k)
{
	size_t w_start = 0, w_end = 0;
	bool have = false;
	int rc;

	for (size_t i = fs[f]; i < fe[f]; i++) {
		size_t ks, ke, start, end;
		struct agreed a;
		uint64_t word;

		/* no match starts where there is never a boundary: skip those 8 at a time */
		while (i + 8 <= fe[f] && (memcpy(&word, g->bnd + i, 8), word == 0))
			i += 8;
		if (i == fe[f])
			break;
		if (g->bnd[i] == POLICY_SKEL_NONE)
			continue;
		ks = i;
		a.avail = fe[f] - i;
		a.passed = false;
		candidate(rd, g->cp + i, fe[f] - i, &a);
		if (a.open && !alone)
			return 1;
		if (!a.ext)
			continue;
		while (g->bnd[ks] != POLICY_SKEL_HARD)
			ks--;
		start = ks == fs[f] ? base[f] : g->from[ks];
		for (ke = i + a.ext + 3; ke < fe[f] && g->bnd[ke] != POLICY_SKEL_HARD; ke++)
			;
		end = ke < fe[f] ? g->from[ke] : base[f] + len[f];
		if (have && start <= w_end) {
			if (end > w_end)
				w_end = end;
			continue;
		}
		if (have && (rc = stretch(rd, s, base, f, w_start, w_end, flags, t, k)) < 0)
			return rc;
		w_start = start;
		w_end = end;
		have = true;
	}
	return have ? stretch(rd, s, base, f, w_start, w_end, flags, t, k) : 0;
}

/*
 * What map_scan() would find in the @n fields, into @k (mask mode). Returns 0, -ENOMEM, or
 * 1 when it cannot tell (@k's mask may then hold some of the marks; the caller clears it
 * and runs map_scan()).
 */
static int fast_scan(const struct policy_redactor *rd, const char *const *s, const size_t *len,
		     size_t n, const size_t *base, struct sink *k)
{
	struct policy_skel_text g = {0}, t = {0};
	size_t *fs = NULL, *fe;
	bool again = false;
	int rc = 0;

	if (rd->n_literals)
		return 1;
	fs = malloc(2 * (n ? n : 1) * sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	fe = fs + n;
	for (unsigned plain = 0; plain <= (again ? 1u : 0u) && rc == 0; plain++) {
		unsigned flags = plain ? POLICY_SKEL_PLAIN : 0;

		g.len = 0;
		g.n_decoded = 0;
		for (size_t i = 0; i < n && rc == 0; i++) {
			fs[i] = g.len;
			rc = policy_skeleton_map(rd->sk, s[i], len[i], base[i],
						 flags | POLICY_SKEL_CPS, &g);
			fe[i] = g.len;
		}
		if (rc < 0)
			break;
		again = g.n_decoded > 0;
		if (crossing_gram(rd, &g, fs, fe, n)) {
			rc = 1;
			break;
		}
		for (size_t f = 0; f < n && rc == 0; f++)
			rc = field_stretches(rd, s, len, base, f, &g, fs, fe,
					     fe[f] - fs[f] == g.len, flags, &t, k);
	}
	policy_skel_text_deinit(&g);
	policy_skel_text_deinit(&t);
	free(fs);
	return rc;
}

/*
 * The quick check, ahead of the fast path. Nearly every view names nobody, and for plain ASCII
 * the fast path's own first look can be had without building a text: policy_skeleton_ascii()
 * gives the same code points and POLICY_SKEL_CPS boundaries as its map, one byte each, and
 * the same test is made at every boundary: the first SHORT_LEN code points (and those of
 * each short pattern's length) against @prefixes and @grams (after @ascii_prefixes, the
 * first 3 exactly, which most places fail), read across the fields in order and, within the
 * last SHORT_LEN - 1 code points of a field, on into every other field. A reading of at most
 * POLICY_SKEL_LOOK_FIELDS fields and POLICY_SKEL_LOOK_BYTES code points (a view's; the
 * outputs' reading that verify() splices) is tested by the first look's filter instead
 * (policy_skel_look_reading(): the same places, its grams hold the same patterns' first
 * code points, policy/skeleton.h). When nothing passes, nothing can match: the fields are
 * emitted as they are, never joined or masked.
 *
 * Why that is sound. Every match map_scan() can find starts at a boundary of the full map of
 * its text (match_at() and scan() look nowhere else), a full-map boundary is a
 * POLICY_SKEL_CPS boundary (a superset, policy/skeleton.h), and both maps give the same code
 * points. A match's first code points are those of its pattern: the first key_len() of an
 * indexed pattern (at least SHORT_LEN; @grams and @prefixes hold those of every one) or the
 * whole of a short one (@grams, tagged with its length). map_scan() reads the fields in two
 * ways: joined in order (a match may run on through any number of later fields, so the gram
 * here runs on too), and as pairs (tail of one field, head of any other that is not next:
 * a match starting in the tail either has its gram inside that field, tested in the joined
 * reading, or its gram crosses into the other field, tested here for every ordered pair).
 * Literals are searched in the bytes, so a redactor that has any leaves every text to the
 * fast path. With no decoding (policy_skeleton_ascii() refuses every text in which markup
 * decoding reads something), map_scan() makes one reading, the one tested.
 */
#define QUICK_STACK 1024 /* code points read without an allocation */
#define QUICK_FIELDS 32
#define QUICK_HITS 64 /* more: left to the fast path */
#define QUICK_SLACK 16

/*
 * The quick reading of a call's fields: code points, boundaries and byte offsets (in the
 * field) from policy_skeleton_ascii(), field i at [@fs[i], @fe[i]); and after quick_hits()
 * the boundaries whose grams passed, in order.
 */
struct quick {
	uint8_t *cp, *bnd;
	uint32_t *at;
	size_t *fs, *fe, total;
	size_t hits[QUICK_HITS], n_hits;
	bool crossing; /* some gram that passed runs past its field's end, or many passed */
	bool listed;   /* the hits are there already (first_look()), quick_hits() is not run */
	void *heap;
	/*
	 * QUICK_SLACK entries past the reading's end: splice_copy()'s and splice_ends()' blocks,
	 * and the up to 7 offsets policy_skel_seen_reading() writes past it (first_look())
	 */
	uint8_t s_cp[QUICK_STACK + QUICK_SLACK], s_bnd[QUICK_STACK + QUICK_SLACK];
	uint32_t s_at[QUICK_STACK + QUICK_SLACK];
	size_t s_f[2 * QUICK_FIELDS];
};

/*
 * Whether the @m code points at @c (at most SHORT_LEN are read) may start a pattern: the
 * SHORT_LEN gram when there are that many, and each short pattern's length L with @r < L.
 */
static bool quick_gram(const struct policy_redactor *rd, const uint8_t *c, size_t m, size_t r)
{
	uint32_t w[SHORT_LEN];
	size_t k = m < SHORT_LEN ? m : SHORT_LEN;

	for (size_t i = 0; i < k; i++)
		w[i] = c[i];
	for (size_t l = r + 1; rd->short_lens && l < SHORT_LEN && l <= k; l++)
		if (rd->short_lens >> l & 1 && gram_start(rd, w, l))
			return true;
	return k == SHORT_LEN && gram_start(rd, w, SHORT_LEN);
}

/* Field of code point @i (fs/fe ascending; empty fields hold none). */
static size_t quick_field(const struct quick *q, size_t n, size_t i)
{
	size_t f = 0;

	while (f + 1 < n && i >= q->fe[f])
		f++;
	return f;
}

static void quick_hit(struct quick *q, size_t n, size_t i, size_t gram)
{
	if (q->n_hits == QUICK_HITS || i + gram > q->fe[quick_field(q, n, i)])
		q->crossing = true;
	else
		q->hits[q->n_hits++] = i;
}

/*
 * Whether a gram from the last code points of one of @q's @n fields, read on into the head of
 * any other that is not the next (as pair_scan() reads them), passes.
 */
static bool quick_pairs(const struct policy_redactor *rd, const struct quick *q, size_t n)
{
	const uint8_t *cp = q->cp, *bnd = q->bnd;
	const size_t *fs = q->fs, *fe = q->fe;

	for (size_t a = 0; a < n; a++) {
		size_t p = fe[a] - fs[a] < SHORT_LEN ? fs[a] : fe[a] - (SHORT_LEN - 1);

		for (; p < fe[a]; p++) {
			size_t r = fe[a] - p;

			if (!bnd[p])
				continue;
			for (size_t b = 0; b < n; b++) {
				uint8_t c[SHORT_LEN];
				size_t m = r;

				if (b == a || b == a + 1)
					continue;
				memcpy(c, cp + p, r);
				for (size_t k = fs[b]; k < fe[b] && m < SHORT_LEN; k++)
					c[m++] = cp[k];
				if (m > r && quick_gram(rd, c, m, r))
					return true;
			}
		}
	}
	return false;
}

/* Put @q's hits in order (they are few, and nearly in order). */
static void quick_sort_hits(struct quick *q)
{
	for (size_t i = 1; i < q->n_hits; i++)
		for (size_t j = i; j > 0 && q->hits[j - 1] > q->hits[j]; j--) {
			size_t t = q->hits[j];

			q->hits[j] = q->hits[j - 1];
			q->hits[j - 1] = t;
		}
}

/*
 * The quick check of @q's @n fields: every boundary whose gram passes is a hit (in order);
 * one whose gram runs into the next fields or into any other (as a pair) sets @crossing.
 * Returns whether any passed.
 */
static bool quick_hits(const struct policy_redactor *rd, struct quick *q, size_t n)
{
	const uint8_t *cp = q->cp, *bnd = q->bnd;
	size_t total = q->total, *fs = q->fs, *fe = q->fe;
	struct policy_skel_seen g;

	/* the first look's test (the same places, grams that hold the same ones), when it fits */
	if (policy_skel_look_reading(rd->look, cp, bnd, fs, fe, n, total, &g) >= 0) {
		q->crossing = g.crossing || g.n_hits > POLICY_SKEL_LOOK_HITS;
		q->n_hits = g.n_hits < POLICY_SKEL_LOOK_HITS ? g.n_hits : POLICY_SKEL_LOOK_HITS;
		for (size_t h = 0; h < q->n_hits; h++)
			q->hits[h] = g.hits[h];
		return q->n_hits > 0 || q->crossing;
	}
	q->n_hits = 0;
	q->crossing = false;
	/* boundaries are a few bytes apart: visit them 8 bytes of bnd at a time */
	for (size_t w = 0; w + SHORT_LEN <= total; w += 8) {
		uint64_t word = 0;

		/* bit 0 of each byte: a boundary there (POLICY_SKEL_SOFT 1, POLICY_SKEL_HARD 2) */
		if (w + 8 <= total) {
			memcpy(&word, bnd + w, 8);
			word = (word | word >> 1) & 0x0101010101010101ull;
		} else {
			for (size_t k = 0; w + k < total; k++)
				word |= (uint64_t)(bnd[w + k] != 0) << (8 * k);
		}
		for (; word; word &= word - 1) {
			size_t i = w + (size_t)__builtin_ctzll(word) / 8;
			unsigned slot;

			if (i + SHORT_LEN > total)
				break;
			slot = ascii_prefix_quick(rd->ascii_slots, cp + i);
			if ((rd->ascii_prefixes[slot / 8] >> (slot % 8) & 1) &&
			    quick_gram(rd, cp + i, SHORT_LEN, SHORT_LEN))
				quick_hit(q, n, i, SHORT_LEN);
		}
	}
	for (size_t i = 0; rd->short_lens && i < total; i++) {
		size_t m = total - i < SHORT_LEN - 1 ? total - i : SHORT_LEN - 1;

		/* short grams only (a SHORT_LEN one was tested above) */
		if (bnd[i] && quick_gram(rd, cp + i, m, 0))
			quick_hit(q, n, i, m);
	}
	if (!q->crossing && quick_pairs(rd, q, n))
		q->crossing = true;
	quick_sort_hits(q);
	return q->n_hits > 0 || q->crossing;
}

/* quick_hits()'s tests at the one boundary @i of @q's @n fields (the grams from @i on). */
static void quick_test(const struct policy_redactor *rd, struct quick *q, size_t n, size_t i)
{
	size_t m = q->total - i < SHORT_LEN - 1 ? q->total - i : SHORT_LEN - 1;

	if (!q->bnd[i])
		return;
	if (i + SHORT_LEN <= q->total) {
		unsigned slot = ascii_prefix_quick(rd->ascii_slots, q->cp + i);

		if ((rd->ascii_prefixes[slot / 8] >> (slot % 8) & 1) &&
		    quick_gram(rd, q->cp + i, SHORT_LEN, SHORT_LEN))
			quick_hit(q, n, i, SHORT_LEN);
	}
	if (rd->short_lens && quick_gram(rd, q->cp + i, m, 0))
		quick_hit(q, n, i, m);
}

static void quick_deinit(struct quick *q)
{
	free(q->heap);
	q->heap = NULL;
}

/*
 * Read the @n fields for the quick check into @q (caller storage; quick_deinit() after a
 * 0). Returns 0, 1 when it cannot (a redactor with literals, text that is not plain ASCII:
 * the fast path reads it), -ENOMEM.
 */
static int quick_read(const struct policy_redactor *rd, const char *const *s, const size_t *len,
		      size_t n, struct quick *q)
{
	size_t total = 0, o = 0;

	q->heap = NULL;
	q->listed = false;
	if (rd->n_literals)
		return 1;
	for (size_t i = 0; i < n; i++)
		total += len[i];
	q->cp = q->s_cp;
	q->bnd = q->s_bnd;
	q->at = q->s_at;
	q->fs = q->s_f;
	if (total > QUICK_STACK || n > QUICK_FIELDS) {
		q->heap = malloc(2 * n * sizeof(*q->fs) + total * (sizeof(*q->at) + 2) + 1);
		if (!q->heap)
			return -ENOMEM;
		q->fs = q->heap;
		q->at = (uint32_t *)(q->fs + 2 * n);
		q->cp = (uint8_t *)(q->at + total);
		q->bnd = q->cp + total;
	}
	q->fe = q->fs + n;
	for (size_t i = 0; i < n; i++) {
		long m = policy_skeleton_ascii(rd->sk, s[i], len[i], q->cp + o, q->bnd + o,
					       q->at + o);

		if (m < 0) {
			quick_deinit(q);
			return 1;
		}
		q->fs[i] = o;
		o += (size_t)m;
		q->fe[i] = o;
	}
	q->total = o;
	return 0;
}

/*
 * The matches at @q's hits, found on the quick reading itself instead of mapping a stretch
 * around each hit in full and scanning it (what the fast path does, field_stretches()).
 *
 * Why that gives map_scan()'s marks. A match starts at a boundary of the full map whose
 * code points are its pattern's; that boundary is a hit (its grams pass the very test
 * candidate() starts with, and first_look() and quick_hits() list every place that passes,
 * or say @crossing), and there candidate() lists every pattern of the index buckets and
 * short patterns that agrees in full, so the pattern is among them: trying match_at() for
 * those, where the full map has a boundary, finds every match scan() finds. Whether a match
 * runs into another field is decided as in the fast path (@open, @crossing: then map_scan()).
 * match_at() is given the full map of the field from the hit on, and reads nothing past
 * the longest agreeing pattern, a plural ("es") and the boundary after it, or the field's
 * end, which is always hard. That map is not made: the reading is plain ASCII whose every
 * code point is one byte, so the full map's code points are the reading's, from the byte @at
 * names (its sources), and its boundaries are computed from the reading and those bytes by
 * policy_skeleton_ascii_bounds(), each from the code points and bytes around it, only where
 * match_at() reads. Returns 0 (marks in @k), 1 when map_scan() must decide (a gram crossing a
 * field's end, a pattern that may run past one, a pattern longer than the window, more than
 * AGREED_MAX agreeing, a word longer than the window).
 */
#define QUICK_WINDOW 256
#define QUICK_FIRST 48

#if defined(__SSE2__)
static inline __attribute__((always_inline)) void widen16(uint32_t *restrict out,
							  const uint8_t *restrict c)
{
	const __m128i z = _mm_setzero_si128();
	__m128i v = _mm_loadu_si128((const __m128i *)c);
	__m128i lo = _mm_unpacklo_epi8(v, z), hi = _mm_unpackhi_epi8(v, z);

	_mm_storeu_si128((__m128i *)out, _mm_unpacklo_epi16(lo, z));
	_mm_storeu_si128((__m128i *)(out + 4), _mm_unpackhi_epi16(lo, z));
	_mm_storeu_si128((__m128i *)(out + 8), _mm_unpacklo_epi16(hi, z));
	_mm_storeu_si128((__m128i *)(out + 12), _mm_unpackhi_epi16(hi, z));
}
#endif

/* The @m code points at @c as the uint32_t of a mapped text (16 at a time with SSE2);
 * QUICK_FIRST, what most places are given, as three blocks without a loop. */
POLICY_HOT
static void widen(uint32_t *restrict out, const uint8_t *restrict c, size_t m)
{
	size_t j = 0;

#if defined(__SSE2__)
	_Static_assert(QUICK_FIRST == 48, "three blocks");
	if (m == QUICK_FIRST) { /* most places: no loop whose exit depends on m */
		widen16(out, c);
		widen16(out + 16, c + 16);
		widen16(out + 32, c + 32);
		return;
	}
	for (; j + 16 <= m; j += 16)
		widen16(out + j, c + j);
#endif
	for (; j < m; j++)
		out[j] = c[j];
}

POLICY_HOT
static int quick_matches(const struct policy_redactor *rd, const char *const *s, const size_t *base,
			 size_t n, const struct quick *q, struct sink *k)
{
	if (q->crossing || rd->max_len + 3 > QUICK_WINDOW)
		return 1;
	for (size_t h = 0; h < q->n_hits; h++) {
		size_t i = q->hits[h], f = quick_field(q, n, i), fs = q->fs[f], r = q->fe[f] - i;
		size_t lo = SIZE_MAX, hi = 0;
		const uint8_t *fb = q->bnd + fs;
		const uint32_t *at = q->at + fs;
		uint32_t c[QUICK_WINDOW];
		uint8_t bnd[QUICK_WINDOW + 1];
		struct policy_skel_text t;
		struct agreed a;

		/*
		 * What candidate() and match_at() read: the longest pattern, a plural and a
		 * boundary, or (a prefix of a pattern near the field's end) all up to the end.
		 */
		size_t m = r < rd->max_len + 3 || r < level_len[N_LEVELS - 1] ? r : rd->max_len + 3;

		/*
		 * Most places are decided by their first QUICK_FIRST code points (the index
		 * levels read 32); a pattern that still agrees there, or a match that may read
		 * past them, has the place asked again with all of them.
		 */
		a.avail = m < QUICK_FIRST ? m : QUICK_FIRST;
		a.passed = true; /* a hit: its grams passed */
		widen(c, q->cp + i, a.avail);
		candidate(rd, c, r, &a);
		if (a.avail < m && (a.more || (a.n > 0 && a.ext + 3 > a.avail))) {
			widen(c + a.avail, q->cp + i + a.avail, m - a.avail);
			a.avail = m;
			candidate(rd, c, r, &a);
		}
		if (a.open && q->fe[f] - fs != q->total)
			return 1;
		if (a.n == 0)
			continue;
		if (a.n > AGREED_MAX)
			return 1;
		/*
		 * a hard boundary in the reading is one in the full map
		 * (policy_skeleton_ascii_bounds())
		 */
		if (fb[i - fs] == POLICY_SKEL_HARD)
			bnd[0] = POLICY_SKEL_HARD;
		else
			policy_skeleton_ascii_bounds(rd->sk, s[f], fb, at, q->fe[f] - fs, i - fs,
						     i - fs + 1, bnd);
		if (bnd[0] == POLICY_SKEL_NONE)
			continue; /* no match starts here (scan() looks only at boundaries) */
		/*
		 * The text match_at() reads: up to a plural and the boundary after it, or to the
		 * field's end (whose boundary is hard); of the boundaries, those it reads: at the
		 * end of each pattern, or of each key prefix that counts, and two on.
		 */
		t = (struct policy_skel_text){
			.cp = c, .bnd = bnd, .len = r < a.ext + 3 ? r : a.ext + 3};
		for (size_t p = 0; p < a.n; p++) {
			size_t len = skel_len(a.pat[p]), kl = skel_key(a.pat[p]);
			size_t e = len + 2 < t.len ? len + 2 : t.len - 1;

			lo = kl < lo ? kl : lo;
			hi = e + 1 > hi ? e + 1 : hi;
		}
		if (lo < hi)
			policy_skeleton_ascii_bounds(rd->sk, s[f], fb, at, q->fe[f] - fs,
						     i - fs + lo, i - fs + hi, bnd + lo);
		bnd[t.len] = POLICY_SKEL_HARD; /* read only at the field's end */
		for (size_t p = 0; p < a.n; p++) {
			/* agree() listed the pattern only where it agrees in full (a key: on
			 * key_len() or more, which match_at() reads again) */
			size_t e = skel_kind(a.pat[p]) == PAT_KEY ? match_at(a.pat[p], &t, 0)
								  : match_end(a.pat[p], &t, 0);

			if (e)
				on_match(rd, k, a.pat[p], base[f] + q->at[i],
					 base[f] + q->at[i + e - 1] + 1);
		}
	}
	return 0;
}

/*
 * Whether the @n fields certainly name nobody (the quick check above): 0 when they do not,
 * 1 when the fast path must look, -ENOMEM.
 */
static int quick_check(const struct policy_redactor *rd, const char *const *s, const size_t *len,
		       size_t n)
{
	struct quick q;
	int rc = quick_read(rd, s, len, n, &q);

	if (rc != 0)
		return rc;
	rc = quick_hits(rd, &q, n) ? 1 : 0;
	quick_deinit(&q);
	return rc;
}

/*
 * The first look, ahead of the quick check: policy_skeleton_look() reads the bytes and asks
 * @look at every boundary, read across the fields in order and, from the last code points of
 * a field, on into every other field as pairs: the places the quick check tests, with the
 * grams of every pattern (the first 4 and 8 code points, short patterns whole), so a place
 * that passes neither is no candidate either. The text that names nobody, nearly all of it,
 * costs that reading (16 bytes at a time on x86-64) and a look at each boundary. Otherwise
 * its quick reading is the look's (policy_skel_seen_reading(), not read again) and the places
 * whose grams passed are its hits, @crossing set when a gram that passed runs past its
 * field's end. Returns 0 when the fields certainly name nobody; 1 with their quick reading
 * and hits in @q (caller storage, nothing to free); 2 when the first look cannot read them
 * (quick_read() then decides whether it can).
 */
static bool chain_seen(const struct policy_redactor *rd, const struct policy_skel_seen *g,
		       size_t n);

POLICY_HOT
static int first_look(const struct policy_redactor *rd, const char *const *s, const size_t *len,
		      size_t n, struct quick *q)
{
	struct policy_skel_seen g;
	long rl;
	int rc;

	_Static_assert(QUICK_STACK >= POLICY_SKEL_LOOK_BYTES &&
			       QUICK_FIELDS >= POLICY_SKEL_LOOK_FIELDS &&
			       QUICK_HITS >= POLICY_SKEL_LOOK_HITS,
		       "the first look's reading fits the quick reading's stack arrays");
	if (rd->n_literals)
		return 2;
	rc = policy_skeleton_look(rd->sk, s, len, n, rd->look, &g);
	/* "nobody" also promises that no field may be a chain's middle piece (chain_drop()) */
	if (rc == 0 && chain_seen(rd, &g, n))
		return 2;
	if (rc <= 0)
		return rc < 0 ? 2 : 0;
	/*
	 * The quick reading is the look's own (policy_skel_seen_reading(): the same code points
	 * and boundaries policy_skeleton_ascii() gives, only the byte offsets counted again), on
	 * the stack (limits above).
	 */
	q->heap = NULL;
	q->cp = q->s_cp;
	q->bnd = q->s_bnd;
	q->at = q->s_at;
	q->fs = q->s_f;
	q->fe = q->fs + n;
	rl = policy_skel_seen_reading(rd->sk, &g, s, len, n, q->cp, q->bnd, q->at, q->fs, q->fe);
	if (rl < 0)
		return 2;
	q->total = (size_t)rl;
	q->listed = true;
	q->crossing = g.crossing || g.n_hits > POLICY_SKEL_LOOK_HITS;
	q->n_hits = g.n_hits < POLICY_SKEL_LOOK_HITS ? g.n_hits : POLICY_SKEL_LOOK_HITS;
	for (size_t h = 0; h < q->n_hits; h++)
		q->hits[h] = g.hits[h];
	return 1;
}

/* Which path redact_fields() takes (policy_redact_fields_full() and _fast_only() are tests'). */
enum path { PATH_FULL, PATH_FAST, PATH_FAST_ONLY, PATH_QUICK_ONLY };

/* Whether @a and @b hold the same reading (tests' paths check every splice against a read). */
static bool quick_same(const struct quick *a, const struct quick *b, size_t n);

/*
 * The quick reading of the @n fields into @q: quick_read()'s, with the first look's hits
 * when it found some. Returns 0 (quick_deinit() after), 1 when there is none (*@nobody set
 * when the first look found that the fields name nobody; else the fast path reads them),
 * -ENOMEM.
 */
POLICY_HOT
static int first_read(const struct policy_redactor *rd, const char *const *s, const size_t *len,
		      size_t n, struct quick *q, bool *nobody)
{
	int rc = first_look(rd, s, len, n, q);

	_Static_assert(QUICK_SLACK >= 8, "first_look()'s policy_skel_seen_reading() writes up to 7 "
					 "offsets past the reading into the stack arrays");
	*nobody = rc == 0;
	if (rc == 0)
		return 1;
	if (rc == 2)
		return quick_read(rd, s, len, n, q);
	return 0;
}

/*
 * map_scan(), or in mask mode the fast path when it can decide (the same marks). Returns 0,
 * -ENOMEM, or with PATH_FAST_ONLY 1 when the fast path cannot decide.
 */
static int scan_fields(const struct policy_redactor *rd, const char *const *s, const size_t *len,
		       size_t n, const size_t *base, const uint8_t *joined, size_t joined_len,
		       struct sink *k, enum path path)
{
	if (path != PATH_FULL) {
		int rc = fast_scan(rd, s, len, n, base, k);

		if (rc != 1 || path == PATH_FAST_ONLY)
			return rc;
		memset(k->mask, 0, joined_len);
	}
	return map_scan(rd, s, len, n, base, joined, joined_len, k);
}

/*
 * Mark what map_scan() would find in the @n fields, by the quickest path that can tell:
 * the quick check, then the matches at its hits (quick_matches()), then the fast path, then
 * map_scan() (@path PATH_FULL: map_scan() alone). @q is the fields' quick reading when @read
 * is 0, none when it is 1 (the fast path reads them). *@joined (the fields joined,
 * *@joined_len bytes, offsets in @base) is new, *@mask (as many bytes, then MASK_SLACK zero
 * bytes that mask_next() reads past its end: a mask made elsewhere must keep them) in the
 * same block (in @buf when it fits; the caller frees *@joined only, join_free()), or both
 * NULL when the quick check found nothing that could match. Returns 0, 1 when @path is PATH_FAST_ONLY or
 * PATH_QUICK_ONLY and that path cannot decide, -ENOMEM.
 */
POLICY_HOT
static int mark(const struct policy_redactor *rd, const char *const *s, const size_t *len, size_t n,
		size_t *base, enum path path, struct quick *q, int read, uint8_t **joined,
		size_t *joined_len, uint8_t **mask, uint8_t *buf)
{
	int rc;

	*joined = *mask = NULL;
	*joined_len = 0;
	if (path == PATH_FULL)
		read = 1;
	else if (read == 1 && path == PATH_QUICK_ONLY)
		return 1;
	else if (read == 0 && !(q->listed ? q->n_hits > 0 || q->crossing : quick_hits(rd, q, n)))
		return 0;
	rc = join(s, len, n, joined, joined_len, base, mask, buf);
	if (rc == 0) {
		struct sink k = {.src = *joined, .src_len = *joined_len, .mask = *mask};

		rc = read == 0 ? quick_matches(rd, s, base, n, q, &k) : 1;
		if (rc == 1 && path != PATH_QUICK_ONLY) {
			memset(*mask, 0, *joined_len);
			rc = scan_fields(rd, s, len, n, base, *joined, *joined_len, &k, path);
		}
	}
	return rc;
}

/* Where quick_splice() put the input's code points: stretch [@j, @j + @len) of the input's
 * reading at @o in the output's, in order (stretches of code points only). A stretch may go
 * on over a field's end (quick_splice() joins a field's first stretch to the last one where
 * both readings are contiguous): the fields' ends are in the reading's @fs/@fe only. */
#define SPLICE_SEGS 128
#define HIT_WINDOW 8 /* policy_skeleton_look() reads 8 (LONG8), quick_hits() SHORT_LEN */

struct splice {
	size_t n;
	bool many; /* more than SPLICE_SEGS: not listed */
	/*
	 * Every field's last SHORT_LEN - 1 code points and their boundaries, and its first
	 * HIT_WINDOW code points (all of a shorter field), are the input's: a pair whose tail is
	 * that short reads as the input's did, and a longer tail that changed lies in a window
	 * before its break (quick_splice() sets it; when false, spliced_hits() tests every
	 * field's tail and the pairs afresh).
	 */
	bool ends_same;
	struct splice_seg {
		size_t j, o, len;
	} seg[SPLICE_SEGS];
};

/*
 * The masked runs of a call's joined mask, maximal and in order: [@s[k], @e[k]) in the
 * joined text (a run may go on over a field's end into the next field). They are found once,
 * after marking (mask_runs()), and emit(), quick_splice() and the test whether anything was
 * masked walk them instead of searching the mask again and again (libc's memchr() over a
 * few bytes a call cost a redacted view ~14 calls and ~20 mispredicted branches). A view has
 * a few runs: RUNS_STACK fit in the caller's frame, more (long texts) are in @heap.
 */
#define RUNS_STACK 16

struct runs {
	size_t n, cap;
	size_t *s, *e;
	size_t *heap;
	size_t s_s[RUNS_STACK], s_e[RUNS_STACK];
};

static void runs_init(struct runs *r)
{
	r->n = 0;
	r->cap = RUNS_STACK;
	r->s = r->s_s;
	r->e = r->s_e;
	r->heap = NULL;
}

static void runs_deinit(struct runs *r)
{
	free(r->heap);
	runs_init(r);
}

/*
 * The first of [@i, @end) of @mask that is masked (@marked) or not, else @end: a block of
 * 16 (SSE2) or 8 bytes a step. Blocks may read up to MASK_SLACK bytes past @end, which
 * join() allocates and zeroes.
 */
static size_t mask_next(const uint8_t *mask, size_t i, size_t end, bool marked)
{
#if defined(__SSE2__)
	const __m128i z = _mm_setzero_si128();
	const unsigned flip = marked ? 0xFFFFu : 0;

	for (; i < end; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(mask + i));
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, z)) ^ flip;

		if (m)
			return i + (size_t)__builtin_ctz(m) < end ? i + (size_t)__builtin_ctz(m)
								  : end;
	}
#else
	const uint64_t hi = 0x8080808080808080ull, lo7 = 0x7F7F7F7F7F7F7F7Full;

	for (; i < end; i += 8) {
		uint64_t w, nz, m;

		memcpy(&w, mask + i, 8);
		nz = (((w & lo7) + lo7) | w) & hi; /* the top bit of each byte that is not 0 */
		m = marked ? nz : nz ^ hi;
		if (m) {
			size_t k = (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
					    ? (size_t)__builtin_ctzll(m)
					    : (size_t)__builtin_clzll(m)) /
				   8;

			return i + k < end ? i + k : end;
		}
	}
#endif
	return end;
}

/* @mask's runs over [0, @len) into @r (runs_init()ed; runs_deinit() after). 0, -ENOMEM. */
static int mask_runs(const uint8_t *mask, size_t len, struct runs *r)
{
	r->n = 0;
	for (size_t i = mask_next(mask, 0, len, true); i < len; i = mask_next(mask, i, len, true)) {
		size_t e = mask_next(mask, i, len, false);

		if (r->n == r->cap) {
			size_t cap = 4 * r->cap, *h = malloc(2 * cap * sizeof(*h));

			if (!h)
				return -ENOMEM;
			memcpy(h, r->s, r->n * sizeof(*h));
			memcpy(h + cap, r->e, r->n * sizeof(*h));
			free(r->heap);
			r->heap = h;
			r->s = h;
			r->e = h + cap;
			r->cap = cap;
		}
		r->s[r->n] = i;
		r->e[r->n++] = e;
		i = e;
	}
	return 0;
}

/* The first of @r's runs from @k on that does not end before @b (a field's first byte). */
static size_t runs_from(const struct runs *r, size_t k, size_t b)
{
	while (k < r->n && r->e[k] <= b)
		k++;
	return k;
}

/*
 * The first of [@j, @end) whose offset in @at (ascending) is @r or more, else @end. A binary
 * search whose halves are picked without a branch (a conditional move): which half is taken
 * is as good as random, and a view splices a few such searches.
 */
static size_t first_at(const uint32_t *at, size_t j, size_t end, size_t r)
{
	size_t n = end - j;

	/* the answer lies in [@j, @j + @n] */
	while (n > 1) {
		size_t half = n / 2;

		j = at[j + half - 1] < r ? j + half : j;
		n -= half;
	}
	return j + (n == 1 && at[j] < r);
}

/* @m offsets from @from, each plus @d (modulo 2^32), into @to (4 at a time, as widen()). */
static void shift(uint32_t *restrict to, const uint32_t *restrict from, size_t m, uint32_t d)
{
	size_t j = 0;

	for (; j + 4 <= m; j += 4)
		for (size_t k = 0; k < 4; k++)
			to[j + k] = from[j + k] + d;
	for (; j < m; j++)
		to[j] = from[j] + d;
}

/*
 * Copy the @m code points of @in's reading from @j into @q's at @o, each offset plus @d
 * (modulo 2^32). When the readings are on the stack (arrays of QUICK_STACK + QUICK_SLACK
 * entries, and a reading of at most QUICK_STACK), 16 a step with SSE2: a step may read and
 * write up to 15 entries past the stretch, which the next stretch overwrites or which lie
 * past the reading's end; a stretch is a loop of a few steps (shift() and two memcpy()s
 * of a few bytes each cost ~15 mispredicted branches a redacted view).
 */
static void splice_copy(struct quick *q, size_t o, const struct quick *in, size_t j, size_t m,
			uint32_t d)
{
#if defined(__SSE2__)
	if (!in->heap) {
		const __m128i dv = _mm_set1_epi32((int)d);

		for (size_t k = 0; k < m; k += 16) {
			const __m128i *ia = (const __m128i *)(in->at + j + k);
			__m128i *qa = (__m128i *)(q->at + o + k);

			_mm_storeu_si128((__m128i *)(q->cp + o + k),
					 _mm_loadu_si128((const __m128i *)(in->cp + j + k)));
			_mm_storeu_si128((__m128i *)(q->bnd + o + k),
					 _mm_loadu_si128((const __m128i *)(in->bnd + j + k)));
			for (int w = 0; w < 4; w++)
				_mm_storeu_si128(qa + w,
						 _mm_add_epi32(_mm_loadu_si128(ia + w), dv));
		}
		return;
	}
#endif
	shift(q->at + o, in->at + j, m, d);
	memcpy(q->cp + o, in->cp + j, m);
	memcpy(q->bnd + o, in->bnd + j, m);
}

/*
 * The lazy splice's copy (quick_splice() without @full, splice_none()): of the @m code
 * points of @in's reading from @j, only the code points and boundaries that spliced_hits()
 * may read, at @o in @cp and @bnd (splice_ends(): @q's): the stretch's first 16 and last 16
 * (all of a shorter one), as one or two blocks of 16 (SSE2), which may write up to 15
 * entries past the stretch (the next stretch overwrites them, or they lie past the
 * reading's end). Both readings on the stack (their QUICK_SLACK). Every place that
 * spliced_hits() tests lies within HIT_WINDOW - 1 code points before a break or a field's
 * end, and its tests read at most SHORT_LEN - 1 code points past it, or a field's first
 * SHORT_LEN - 1 (quick_pairs()): so each code point it reads is among the last
 * HIT_WINDOW - 1 or the first SHORT_LEN of its stretch.
 */
static inline __attribute__((always_inline)) void
splice_ends_to(uint8_t *cp, uint8_t *bnd, size_t o, const struct quick *in, size_t j, size_t m)
{
#if defined(__SSE2__)
	_mm_storeu_si128((__m128i *)(cp + o), _mm_loadu_si128((const __m128i *)(in->cp + j)));
	_mm_storeu_si128((__m128i *)(bnd + o), _mm_loadu_si128((const __m128i *)(in->bnd + j)));
	if (m > 16) {
		o += m - 16;
		j += m - 16;
		_mm_storeu_si128((__m128i *)(cp + o),
				 _mm_loadu_si128((const __m128i *)(in->cp + j)));
		_mm_storeu_si128((__m128i *)(bnd + o),
				 _mm_loadu_si128((const __m128i *)(in->bnd + j)));
	}
#else
	size_t h = m < 16 ? m : 16;

	memcpy(cp + o, in->cp + j, h);
	memcpy(bnd + o, in->bnd + j, h);
	if (m > 16) {
		memcpy(cp + o + m - 16, in->cp + j + m - 16, 16);
		memcpy(bnd + o + m - 16, in->bnd + j + m - 16, 16);
	}
#endif
}

static inline __attribute__((always_inline)) void
splice_ends(struct quick *q, size_t o, const struct quick *in, size_t j, size_t m)
{
	splice_ends_to(q->cp, q->bnd, o, in, j, m);
}

/*
 * The first of [@j, @end) whose offset in @at is @r or more, else @end, where @at[@j] (when
 * @j < @end) is @from or more, @from <= @r. Offsets ascend by one byte at least from one
 * code point to the next (each its own byte of a plain-ASCII reading), so the answer lies
 * within @r - @from places of @j: a view's searches look at the bytes of one run, or of the
 * text up to it, not at its field's whole reading. Should an offset not ascend so, the rest
 * of the range is searched as before (never a wrong answer).
 */
static size_t first_at_from(const uint32_t *at, size_t j, size_t end, size_t from, size_t r)
{
	size_t k = first_at(at, j, r - from < end - j ? j + (r - from) : end, r);

	return k < end && at[k] < r ? first_at(at, k, end, r) : k;
}

/*
 * Note the stretch [@j, @j + @m) of the input's reading at @o in the output's in @sp: it goes
 * on from the last one when @join (it starts a field, no token before it) and the two
 * readings are contiguous there, so spliced_hits() walks fewer, longer stretches with the
 * same breaks.
 */
static inline __attribute__((always_inline)) void splice_seg(struct splice *sp, size_t j, size_t o,
							     size_t m, bool join)
{
	if (join && sp->n > 0 && sp->seg[sp->n - 1].j + sp->seg[sp->n - 1].len == j)
		sp->seg[sp->n - 1].len += m;
	else if (sp->n == SPLICE_SEGS)
		sp->many = true;
	else
		sp->seg[sp->n++] = (struct splice_seg){j, o, m};
}

/*
 * The quick reading of the outputs @f, spliced from @in, the inputs' (fields joined at
 * @base, first-pass marks in the runs @r), instead of read again. An output is its input
 * with each maximal run of masked bytes replaced by POLICY_REDACT_TOKEN; a run covers whole
 * units (a match covers its code points' units and what lies between them, host widening only
 * letters, digits and ".-_@+", never part of a token or of a byte policy_skeleton_ascii()
 * reads otherwise than alone), and policy_skeleton_ascii() reads the token as a separator
 * that no byte before it reads into (none of '(' '%' '<' '&' '\\' '[' '{' starts markup with
 * a '['). A code point's boundary there depends only on the byte before it. So the output's
 * reading is the input's without the code points of masked bytes, the first code point
 * after a run at a HARD boundary (after the token), every other as it was, each offset
 * moved by what the tokens before it changed. A field no run reaches (most of a view's) is
 * its input's reading as it was, one stretch. Returns 0, 1 when the outputs are not what
 * that says (then the caller reads them), -ENOMEM.
 */
POLICY_HOT
static int quick_splice(const struct quick *in, size_t n, const size_t *base, const struct runs *r,
			const struct policy_redact_field *f, struct quick *q, struct splice *sp,
			bool full)
{
	size_t o = 0;

	full = full || in->heap; /* splice_ends()' blocks need both readings' stack slack */
	sp->n = 0;
	sp->many = false;
	sp->ends_same = true;

	q->heap = NULL;
	q->listed = false;
	q->cp = q->s_cp;
	q->bnd = q->s_bnd;
	q->at = q->s_at;
	q->fs = q->s_f;
	if (in->heap) {
		q->heap = malloc(2 * n * sizeof(*q->fs) + in->total * (sizeof(*q->at) + 2) + 1);
		if (!q->heap)
			return -ENOMEM;
		q->fs = q->heap;
		q->at = (uint32_t *)(q->fs + 2 * n);
		q->cp = (uint8_t *)(q->at + in->total);
		q->bnd = q->cp + in->total;
	}
	q->fe = q->fs + n;
	for (size_t i = 0, x = 0; i < n; i++) {
		size_t len = f[i].len, j = in->fs[i], fe = in->fe[i], fb = base[i];
		size_t b = 0,
		       ob = 0; /* where the unmasked stretch starts, in the input and output */

		x = runs_from(r, x, fb);
		q->fs[i] = o;
		if (x == r->n || r->s[x] >= fb + len) {
			/* no run in the field: the input's reading, offsets and all */
			if (f[i].out_len != len)
				goto differ;
			if (full)
				splice_copy(q, o, in, j, fe - j, 0);
			else if (fe > j)
				splice_ends(q, o, in, j, fe - j);
			if (fe > j)
				splice_seg(sp, j, o, fe - j, true);
			o += fe - j;
			q->fe[i] = o;
			continue;
		}
		for (size_t y = x;; y++) {
			/* the next run's start in the field (runs from @x on end after @fb) */
			size_t rs = y < r->n && r->s[y] < fb + len
					    ? (r->s[y] > fb ? r->s[y] - fb : 0)
					    : len;
			size_t e, first = o, j0 = j;

			/* the stretch's code points, offsets moved by what the tokens changed */
			j = rs == len ? fe : first_at_from(in->at, j, fe, b, rs);
			o += j - j0;
			if (full)
				splice_copy(q, first, in, j0, j - j0, (uint32_t)(ob - b));
			else if (j > j0)
				splice_ends(q, first, in, j0, j - j0);
			if (j > j0)
				splice_seg(sp, j0, first, j - j0, b == 0);
			if (b > 0 && o > first && in->at[j0] == b)
				q->bnd[first] = POLICY_SKEL_HARD; /* right after a token */
			/* a head shorter than the look's window, a tail whose boundary may differ */
			if ((b == 0 && rs < len && j - j0 < HIT_WINDOW) ||
			    (b > 0 && rs == len && j - j0 < SHORT_LEN))
				sp->ends_same = false;
			ob += rs - b;
			if (rs == len)
				break;
			e = (r->e[y] < fb + len ? r->e[y] : fb + len) - fb;
			j = first_at_from(in->at, j, fe, rs, e);
			ob += POLICY_REDACT_TOKEN_LEN;
			b = e;
		}
		q->fe[i] = o;
		if (ob != f[i].out_len)
			goto differ;
	}
	q->total = o;
	return 0;
differ:
	quick_deinit(q);
	return 1;
}

/* The first of field @f's last HIT_WINDOW - 1 places in @q (its first when it is shorter). */
static size_t tail_start(const struct quick *q, size_t f)
{
	return q->fe[f] - q->fs[f] < HIT_WINDOW - 1 ? q->fs[f] : q->fe[f] - (HIT_WINDOW - 1);
}

/*
 * Add the places [@a, @b) to the tested windows @lo/@hi (*@nt of them), joining it to the
 * last when they meet; @a is never below the last window's start.
 */
POLICY_HOT
static void window_add(size_t *lo, size_t *hi, size_t *nt, size_t a, size_t b)
{
	if (*nt > 0 && a <= hi[*nt - 1]) {
		if (b > hi[*nt - 1])
			hi[*nt - 1] = b;
	} else if (a < b) {
		lo[*nt] = a;
		hi[(*nt)++] = b;
	}
}

/*
 * The hits of the outputs' reading @q, spliced from the inputs' @in (@sp: where each stretch
 * went), without testing every boundary again. A place whose code points from there on (the
 * HIT_WINDOW that the first pass's test of a place reads at most, as many as there are) are
 * the input's in the same order, nothing taken out between or after them up to there, and
 * whose boundary is the input's, reads the same grams in the same field as that place of
 * the input (field ends are between the same code points), so it passes exactly where the
 * input's passed, which are @in's hits: those are carried over. Every other place is tested
 * afresh (quick_test()): the place where a stretch starts after code points were taken out,
 * or after a token forced its boundary, and the HIT_WINDOW - 1 before it, and the last
 * HIT_WINDOW - 1 when the input's last code points were taken out.
 *
 * Pairs. A place in a field's last HIT_WINDOW - 1 code points is also read on into the head
 * of every other field (the look's pair tests read a tail of up to HIT_WINDOW - 1 code points
 * from a boundary, look_more(), and another field's first ones), so where some field's head
 * or tail changed (!@sp->ends_same) its carried-over verdict may be wrong ("xyz certal" with
 * "Bravo Bank pha" becoming "[member] pha": CERT Alpha). Then the last HIT_WINDOW - 1 places
 * of every field are tested afresh too, and the pairs as quick_hits() tests them
 * (quick_pairs()). That is quick_hits()'s own test at those places, which is sound on its
 * own: a match starting there with a tail of SHORT_LEN or more code points has its first
 * SHORT_LEN in the field (quick_test() passes it; quick_matches() then sees a pattern that
 * runs past the field's end and leaves the view to the fast path), one with a shorter tail
 * is a pair quick_pairs() tests. Returns false, listing nothing, when @in's hits are
 * incomplete (@crossing) or @sp is, or when some field's ends changed and there are more
 * than QUICK_FIELDS fields: then quick_hits() reads @q as it reads an input.
 */
POLICY_HOT
static bool spliced_hits(const struct policy_redactor *rd, const struct quick *in,
			 const struct splice *sp, struct quick *q, size_t n)
{
	size_t lo[SPLICE_SEGS + 1 + QUICK_FIELDS], hi[SPLICE_SEGS + 1 + QUICK_FIELDS];
	size_t nt = 0, prev = 0, t = 0, f = 0, tails = sp->ends_same ? 0 : n;

	if (in->crossing || sp->many || tails > QUICK_FIELDS)
		return false;
	/* the tested places, in order: [lo, hi) before and at each break, and the fields' tails */
	for (size_t k = 0; k <= sp->n; k++) {
		size_t o = k < sp->n ? sp->seg[k].o : q->total;
		size_t j = k < sp->n ? sp->seg[k].j : in->total;

		if (j != prev || (k < sp->n && q->bnd[o] != in->bnd[j])) {
			size_t a = o < HIT_WINDOW - 1 ? 0 : o - (HIT_WINDOW - 1);

			for (; f < tails && tail_start(q, f) <= a; f++)
				window_add(lo, hi, &nt, tail_start(q, f), q->fe[f]);
			window_add(lo, hi, &nt, a, o < q->total ? o + 1 : q->total);
		}
		if (k < sp->n)
			prev = sp->seg[k].j + sp->seg[k].len;
	}
	for (; f < tails; f++)
		window_add(lo, hi, &nt, tail_start(q, f), q->fe[f]);
	q->n_hits = 0;
	q->crossing = false;
	for (size_t r = 0; r < nt; r++)
		for (size_t i = lo[r]; i < hi[r]; i++)
			quick_test(rd, q, n, i);
	/* the input's hits that were not taken out, where they are in the output */
	for (size_t h = 0, k = 0; h < in->n_hits; h++) {
		size_t j = in->hits[h], i;

		while (k < sp->n && j >= sp->seg[k].j + sp->seg[k].len)
			k++;
		if (k == sp->n)
			break;
		if (j < sp->seg[k].j)
			continue;
		i = sp->seg[k].o + (j - sp->seg[k].j);
		while (t < nt && hi[t] <= i)
			t++;
		if (t < nt && lo[t] <= i)
			continue; /* tested */
		quick_hit(q, n, i, 1);
	}
	if (tails && !q->crossing && quick_pairs(rd, q, n))
		q->crossing = true;
	quick_sort_hits(q);
	q->listed = true;
	return true;
}

/* Whether @a and @b hold the same reading (tests' paths check every splice against a read). */
static bool quick_same(const struct quick *a, const struct quick *b, size_t n)
{
	return a->total == b->total && memcmp(a->fs, b->fs, 2 * n * sizeof(*a->fs)) == 0 &&
	       memcmp(a->cp, b->cp, a->total) == 0 && memcmp(a->bnd, b->bnd, a->total) == 0 &&
	       memcmp(a->at, b->at, a->total * sizeof(*a->at)) == 0;
}

/*
 * Write field @f's bytes of @src [@b, @b + f->len) with each masked run as a token: @r's
 * runs (NULL: none) from *@k on, cut at the field's ends; *@k is left at the first that
 * does not end before the field (it may go on into the next).
 */
static int emit(struct policy_redact_field *f, const uint8_t *src, const struct runs *r, size_t *k,
		size_t b)
{
	size_t o = 0, nred = 0, i = b, e = b + f->len, x = r ? (*k = runs_from(r, *k, b)) : 0;

	if (!r || x == r->n || r->s[x] >= e) {
		if (f->cap < f->len + 1)
			return -ENOSPC;
		if (f->len)
			memcpy(f->out, src + b, f->len);
		f->out[f->len] = '\0';
		f->out_len = f->len;
		f->n_redacted = 0;
		return 0;
	}
	for (;; x++) {
		/* the unmasked bytes up to the next run (or the end), then the run's token */
		size_t run = (x < r->n && r->s[x] < e ? (r->s[x] > i ? r->s[x] : i) : e) - i;

		if (run >= f->cap || o >= f->cap - run)
			return -ENOSPC;
		memcpy(f->out + o, src + i, run);
		o += run;
		i += run;
		if (i == e)
			break;
		i = r->e[x] < e ? r->e[x] : e;
		if (f->cap < POLICY_REDACT_TOKEN_LEN + 1 ||
		    o > f->cap - POLICY_REDACT_TOKEN_LEN - 1)
			return -ENOSPC;
		memcpy(f->out + o, POLICY_REDACT_TOKEN, POLICY_REDACT_TOKEN_LEN);
		o += POLICY_REDACT_TOKEN_LEN;
		nred++;
		if (i == e)
			break;
	}
	if (f->cap == 0)
		return -ENOSPC;
	f->out[o] = '\0';
	f->out_len = o;
	f->n_redacted = nred;
	return 0;
}

/*
 * For the tests' quick path: 0 when @mask (the @n fields joined at @base; NULL: nothing
 * marked) holds exactly the marks map_scan() makes in them, else -EPROTO (or -ENOMEM).
 */
static int marks_as_full(const struct policy_redactor *rd, const char *const *s, const size_t *len,
			 size_t n, size_t *base, const uint8_t *mask)
{
	uint8_t *joined, *full;
	size_t joined_len;
	int rc = mark(rd, s, len, n, base, PATH_FULL, NULL, 1, &joined, &joined_len, &full, NULL);

	for (size_t i = 0; rc == 0 && i < joined_len; i++)
		if ((mask ? mask[i] : 0) != full[i])
			rc = -EPROTO;
	join_free(joined, NULL); /* and @full, in its block */
	return rc;
}

/*
 * Complete the lazy splice @q of the outputs @f (quick_splice() without @full, then
 * spliced_hits()) into the whole reading, keeping what spliced_hits() listed on it: the whole
 * splice lists the same (lazy_same() checks it on the tests' path), so it is not listed
 * again. The list is kept here, not left to quick_splice(), so that nothing quick_splice()
 * may reset can turn a listed hit into "nothing could match". Returns quick_splice()'s.
 */
static int splice_whole(const struct quick *in, size_t n, const size_t *base, const struct runs *r,
			const struct policy_redact_field *f, struct quick *q, struct splice *sp)
{
	bool listed = q->listed, crossing = listed && q->crossing;
	size_t hits[QUICK_HITS], n_hits = listed ? q->n_hits : 0;
	int rc;

	memcpy(hits, q->hits, n_hits * sizeof(*hits));
	quick_deinit(q);
	if ((rc = quick_splice(in, n, base, r, f, q, sp, true)) != 0)
		return rc;
	/* not listed (spliced_hits() could not): mark() lists the whole reading */
	memcpy(q->hits, hits, n_hits * sizeof(*hits));
	q->n_hits = n_hits;
	q->crossing = crossing;
	q->listed = listed;
	return 0;
}

/*
 * Whether the verifying read has nothing to read further, decided at the outputs' breaks
 * alone (most calls that redacted something): true only where spliced_hits() would list
 * nothing on the outputs' reading spliced from @in (the @n outputs @f, fields joined at
 * @base, first-pass marks in the runs @r), and without splicing that reading whole. It is
 * decided here when each run lies inside one field, with HIT_WINDOW code points or more of
 * the field before its first run and SHORT_LEN or more after its last (so the fields' ends
 * are the input's: spliced_hits() tests no tails and no pairs), the fields' readings follow
 * one another from the first code point to the last, and a field holds at most
 * SPLICE_BREAKS runs. Then a field without runs reads as its input did, and in a field with
 * runs spliced_hits()' windows are the HIT_WINDOW - 1 places before each break and the one
 * at it, each of whose tests reads at most SHORT_LEN code points of that field's output
 * reading; that reading (code points and boundaries, the first after a token HARD when its
 * byte is the run's end, as quick_splice() makes it) is made in @cp and @bnd (QUICK_STACK +
 * QUICK_SLACK bytes each, the caller's) and the windows are tested there as quick_test()
 * tests them. Every other place keeps its input's verdict, so each of the input's hits that
 * was not taken out must lie in a window. Anything else (a test that passes, a hit
 * elsewhere, a case not covered) gives false, and the caller splices. The tests' path
 * checks that true means spliced_hits() lists nothing on the whole splice (lazy_same()).
 */
#define SPLICE_BREAKS 16

/*
 * quick_test()'s tests at the places @c/@b [0, HIT_WINDOW) (code points and boundaries; each
 * test reads SHORT_LEN code points at most), where @pass (bit p: place p is a boundary whose
 * ASCII prefix is some pattern's) says that a SHORT_LEN gram may start: whether one passes.
 * Out of line: inlined, it nearly doubled the lines splice_none() runs a view.
 */
POLICY_HOT
static __attribute__((noinline)) bool
window_grams(const struct policy_redactor *rd, const uint8_t *c, const uint8_t *b, unsigned pass)
{
	for (; pass; pass &= pass - 1)
		if (quick_gram(rd, c + __builtin_ctz(pass), SHORT_LEN, SHORT_LEN))
			return true;
	for (size_t p = 0; rd->short_lens && p < HIT_WINDOW; p++)
		if (b[p] && quick_gram(rd, c + p, SHORT_LEN - 1, 0))
			return true;
	return false;
}

/*
 * window_passes()' prefilter, a byte at a time: bit p set when place p of @c/@b [0,
 * HIT_WINDOW) is a boundary whose ASCII prefix (ascii_prefix_quick(), reading @c[p .. p + 2])
 * is some pattern's. The build without SSE2 uses it; the tests compare it with the lane
 * (policy_redact_window_pass()).
 */
static unsigned window_pass_bytes(const struct policy_redactor *rd, const uint8_t *c,
				  const uint8_t *b)
{
	unsigned pass = 0, sl[HIT_WINDOW + 2];

	/* each code point's slot looked up once */
	for (size_t p = 0; p < HIT_WINDOW + 2; p++)
		sl[p] = rd->ascii_slots[c[p] & 0x7F];
	for (size_t p = 0; p < HIT_WINDOW; p++) {
		unsigned is = b[p] != 0,
			 slot = ((sl[p] * ASCII_SLOTS + sl[p + 1]) * ASCII_SLOTS + sl[p + 2]) & -is;

		pass |= (is & (unsigned)(rd->ascii_prefixes[slot / 8] >> (slot % 8))) << p;
	}
	return pass;
}

#if defined(__SSE2__)
/*
 * window_pass_bytes() with SSE2, reading 16 code points at @c (the 10 the places read and 6
 * more, whose lanes feed no result: the caller's QUICK_SLACK) and HIT_WINDOW boundaries at @b.
 * Inlined into splice_none(), as before it was split out for the tests.
 */
static inline __attribute__((always_inline)) unsigned
window_pass_lane(const struct policy_redactor *rd, const uint8_t *c, const uint8_t *b)
{
	/*
	 * Each code point's ascii_slot() by compares, the places' prefixes in 16-bit lanes,
	 * their bytes of @ascii_prefixes looked up one by one and their bits tested together.
	 */
	const __m128i z = _mm_setzero_si128();
	const __m128i v = _mm_and_si128(_mm_loadu_si128((const __m128i *)c), _mm_set1_epi8(0x7F));
	const __m128i lw = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('a' - 1)),
					 _mm_cmplt_epi8(v, _mm_set1_epi8('z' + 1)));
	const __m128i dg = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
					 _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
	const __m128i sl =
		_mm_or_si128(_mm_and_si128(lw, _mm_sub_epi8(v, _mm_set1_epi8('a' - 1))),
			     _mm_and_si128(dg, _mm_sub_epi8(v, _mm_set1_epi8('0' - 27))));
	const __m128i nb = _mm_cmpeq_epi8(_mm_loadl_epi64((const __m128i *)b), z);
	__m128i ix = _mm_add_epi16(
		_mm_add_epi16(_mm_mullo_epi16(_mm_unpacklo_epi8(sl, z),
					      _mm_set1_epi16(ASCII_SLOTS * ASCII_SLOTS)),
			      _mm_mullo_epi16(_mm_unpacklo_epi8(_mm_srli_si128(sl, 1), z),
					      _mm_set1_epi16(ASCII_SLOTS))),
		_mm_unpacklo_epi8(_mm_srli_si128(sl, 2), z));
	__m128i k, bit, at;
	uint64_t by;

	ix = _mm_andnot_si128(_mm_unpacklo_epi8(nb, nb), ix); /* no boundary: slot 0 */
	at = _mm_srli_epi16(ix, 3);
	/*
	 * The 8 bitmap bytes gathered in a register (through memory, 8 byte stores read back as
	 * one 8-byte load could not be forwarded from the store buffer: a stall each window).
	 */
#define WINDOW_BYTE(p) ((uint64_t)rd->ascii_prefixes[_mm_extract_epi16(at, p)] << (8 * (p)))
	by = WINDOW_BYTE(0) | WINDOW_BYTE(1) | WINDOW_BYTE(2) | WINDOW_BYTE(3) | WINDOW_BYTE(4) |
	     WINDOW_BYTE(5) | WINDOW_BYTE(6) | WINDOW_BYTE(7);
#undef WINDOW_BYTE
	/* 1 << (ix & 7) as (1 + k0) * (1 + 3 k1) * (1 + 15 k2) of its three bits */
	k = _mm_and_si128(ix, _mm_set1_epi16(7));
	bit = _mm_mullo_epi16(_mm_add_epi16(_mm_and_si128(k, _mm_set1_epi16(1)), _mm_set1_epi16(1)),
			      _mm_add_epi16(_mm_mullo_epi16(_mm_and_si128(_mm_srli_epi16(k, 1),
									  _mm_set1_epi16(1)),
							    _mm_set1_epi16(3)),
					    _mm_set1_epi16(1)));
	bit = _mm_mullo_epi16(
		bit, _mm_add_epi16(_mm_mullo_epi16(_mm_srli_epi16(k, 2), _mm_set1_epi16(15)),
				   _mm_set1_epi16(1)));
	bit = _mm_cmpeq_epi16(
		_mm_and_si128(_mm_unpacklo_epi8(_mm_set_epi64x(0, (long long)by), z), bit), z);
	return ~(unsigned)_mm_movemask_epi8(_mm_packs_epi16(bit, bit)) &
	       ~(unsigned)_mm_movemask_epi8(nb) & ((1u << HIT_WINDOW) - 1);
}
#endif

/*
 * Whether a test of quick_test()'s passes at one of the HIT_WINDOW places up to and with @o
 * (@o >= HIT_WINDOW - 1) of a reading in @cp and @bnd (a test reads SHORT_LEN code points at
 * most; each must be there, and with SSE2 the 16 from @o - HIT_WINDOW + 1 are read). The
 * places' boundaries and ASCII prefixes are looked up for all of them and combined without a
 * branch: whether a place is a boundary and whether its prefix is some pattern's are as good
 * as random, and a branch on each cost splice_none() ~5 mispredictions a view naming members
 * (bench_redact views, callgrind). A place that is no boundary looks up slot 0, so that the
 * table's lines other places need are all it reads. The grams are tested only at the places
 * that pass both (or when short patterns exist).
 */
static bool window_passes(const struct policy_redactor *rd, const uint8_t *cp, const uint8_t *bnd,
			  size_t o)
{
	const uint8_t *c = cp + o - (HIT_WINDOW - 1), *b = bnd + o - (HIT_WINDOW - 1);
#if defined(__SSE2__)
	unsigned pass = window_pass_lane(rd, c, b);
#else
	unsigned pass = window_pass_bytes(rd, c, b);
#endif

	return (pass || rd->short_lens) && window_grams(rd, c, b, pass);
}

int policy_redact_window_pass(const struct policy_redactor *rd, const uint8_t *cp,
			      const uint8_t *bnd, bool lane)
{
#if defined(__SSE2__)
	if (lane)
		return (int)window_pass_lane(rd, cp, bnd);
#else
	if (lane)
		return -1;
#endif
	return (int)window_pass_bytes(rd, cp, bnd);
}

static bool splice_none(const struct policy_redactor *rd, const struct quick *in, size_t n,
			const size_t *base, const struct runs *r,
			const struct policy_redact_field *f, uint8_t *cp, uint8_t *bnd)
{
	size_t x = 0, h = 0;

	if (in->crossing || in->heap || n == 0 || in->fs[0] != 0 || in->fe[n - 1] != in->total)
		return false;
	for (size_t i = 0; i < n; i++) {
		size_t len = f[i].len, j = in->fs[i], fe = in->fe[i], fb = base[i];
		size_t b = 0, ob = 0, o = 0, brk[SPLICE_BREAKS], nt = 0;

		if ((i > 0 && j != in->fe[i - 1]) || (h < in->n_hits && in->hits[h] < j))
			return false;
		x = runs_from(r, x, fb);
		if (x == r->n || r->s[x] >= fb + len) {
			/* no run: the input's reading, where the input's hits are not tested */
			if (f[i].out_len != len || (h < in->n_hits && in->hits[h] < fe))
				return false;
			continue;
		}
		for (;; x++) {
			bool last = x == r->n || r->s[x] >= fb + len;
			size_t rs, k, g;

			/* a run inside the field, away from its ends (else its ends changed) */
			if (!last && (r->s[x] <= fb || r->e[x] >= fb + len || nt == SPLICE_BREAKS))
				return false;
			rs = last ? len : r->s[x] - fb;
			/*
			 * The run's first code point: most runs start at a match, whose first
			 * code point is a hit (the first at @rs or more if the one before it is
			 * below); else searched.
			 */
			for (g = h; !last && g < in->n_hits && in->hits[g] < fe &&
				    in->at[in->hits[g]] < rs;)
				g++;
			if (last)
				k = fe;
			else if (g < in->n_hits && in->hits[g] < fe && in->at[in->hits[g]] == rs &&
				 (in->hits[g] == j || in->at[in->hits[g] - 1] < rs))
				k = in->hits[g];
			else
				k = first_at_from(in->at, j, fe, b, rs);
			/* the field's head: HIT_WINDOW code points; its tail: SHORT_LEN */
			if ((b == 0 && k - j < HIT_WINDOW) || (last && k - j < SHORT_LEN))
				return false;
			/*
			 * The input's hits in the stretch: at its first place after a token (the
			 * last break's window), or in the HIT_WINDOW - 1 before the next break.
			 */
			for (; h < in->n_hits && in->hits[h] < k; h++)
				if (!(b > 0 && in->hits[h] == j) &&
				    (last || in->hits[h] + (HIT_WINDOW - 1) < k))
					return false;
			if (k > j)
				splice_ends_to(cp, bnd, o, in, j, k - j);
			if (b > 0 && k > j && in->at[j] == b)
				bnd[o] = POLICY_SKEL_HARD; /* right after a token */
			o += k - j;
			ob += rs - b;
			if (last)
				break;
			brk[nt++] = o;
			b = r->e[x] - fb;
			j = first_at_from(in->at, k, fe, rs, b);
			/* the input's hits in the run: taken out */
			while (h < in->n_hits && in->hits[h] < j)
				h++;
			ob += POLICY_REDACT_TOKEN_LEN;
		}
		if (ob != f[i].out_len)
			return false;
		/* the windows, read as the splice reads them (a test reads SHORT_LEN at most) */
		for (size_t t = 0; t < nt; t++)
			if (window_passes(rd, cp, bnd, brk[t]))
				return false;
	}
	return h == in->n_hits;
}

/*
 * PATH_QUICK_ONLY's check of a spliced reading @q of the @n outputs @s against reading them:
 * 0 the same, -EPROTO not (or they cannot be read). Out of line: a test path's second
 * struct quick (~7 KiB) would otherwise sit in verify()'s frame on every call.
 */
static __attribute__((noinline)) int quick_reread_same(const struct policy_redactor *rd,
						       const char *const *s, const size_t *len,
						       size_t n, const struct quick *q)
{
	struct quick r;
	int rc;

	if (quick_read(rd, s, len, n, &r) != 0)
		return -EPROTO;
	rc = quick_same(q, &r, n) ? 0 : -EPROTO;
	quick_deinit(&r);
	return rc;
}

/*
 * PATH_QUICK_ONLY's check of the lazy splice (quick_splice() without @full) of the outputs
 * @f from @in (joined at @base, marks in the runs @r): spliced_hits() must list on it what it
 * lists on the whole splice, and splice_whole() must complete it into the whole splice with
 * that list; splice_none() may say "nothing" only where that list is empty. 0 the same,
 * -EPROTO not, -ENOMEM. Out of line, as quick_reread_same(): two struct quick.
 */
static __attribute__((noinline)) int lazy_same(const struct policy_redactor *rd,
					       const struct quick *in, size_t n, const size_t *base,
					       const struct runs *r,
					       const struct policy_redact_field *f)
{
	uint8_t ncp[QUICK_STACK + QUICK_SLACK], nbnd[QUICK_STACK + QUICK_SLACK];
	struct quick l, w;
	struct splice ls, ws;
	int rl = quick_splice(in, n, base, r, f, &l, &ls, false);
	int rw = quick_splice(in, n, base, r, f, &w, &ws, true);
	bool hl = rl == 0 && spliced_hits(rd, in, &ls, &l, n);
	bool hw = rw == 0 && spliced_hits(rd, in, &ws, &w, n);
	int rc = rl < 0 ? rl : rw < 0 ? rw : 0;

	if (rc == 0 && (rl != rw || hl != hw ||
			(hl && (l.n_hits != w.n_hits || l.crossing != w.crossing ||
				memcmp(l.hits, w.hits, l.n_hits * sizeof(*l.hits)) != 0))))
		rc = -EPROTO;
	/* nothing at the breaks alone (splice_none()): the whole splice lists nothing */
	if (rc == 0 && splice_none(rd, in, n, base, r, f, ncp, nbnd) &&
	    !(rw == 0 && hw && w.n_hits == 0 && !w.crossing))
		rc = -EPROTO;
	/* completed as verify() completes it: the whole reading, and the lazy list kept */
	if (rc == 0 && rl == 0) {
		int rs = splice_whole(in, n, base, r, f, &l, &ls);

		if (rs < 0)
			rc = rs;
		else if (rs != 0 || !quick_same(&l, &w, n) || l.listed != hw ||
			 (hl && (l.n_hits != w.n_hits || l.crossing != w.crossing ||
				 memcmp(l.hits, w.hits, l.n_hits * sizeof(*l.hits)) != 0)))
			rc = -EPROTO;
		rl = rs; /* not 0: @l was freed */
	}
	if (rl == 0)
		quick_deinit(&l);
	if (rw == 0)
		quick_deinit(&w);
	return rc;
}

/*
 * Search the outputs again; drop every field that a remaining match touches. @in: the
 * inputs' quick reading (NULL: there was none) and @in_runs their masked runs (joined at
 * @base), from which the outputs' reading is spliced rather than read (quick_splice()).
 *
 * Never inlined into redact_fields(): its struct quick and struct splice (~10 KiB) would
 * make every call's frame that much larger, views that name nobody included, and with
 * -fstack-clash-protection each 4 KiB of a frame is probed (written) on entry: redact_fields()
 * was ~27 KiB, six probes a call, each a line a view touched only for that (bench_store
 * views, callgrind). Called only when something was redacted.
 */
POLICY_HOT
static __attribute__((noinline)) int verify(const struct policy_redactor *rd,
					    struct policy_redact_field *f, size_t n, const char **s,
					    size_t *len, size_t *base, enum path path,
					    const struct quick *in, const struct runs *in_runs)
{
	uint8_t *joined = NULL, *mask = NULL;
	size_t joined_len = 0;
	struct splice sp;
	struct quick q;
	int rc, read = 1;

	q.heap = NULL;
	for (size_t i = 0; i < n; i++) {
		s[i] = f[i].out;
		len[i] = f[i].out_len;
	}
	if (in) {
		/*
		 * Most verifying reads find nothing to read further: splice_none() says so at
		 * the breaks alone where it can; else the lazy splice copies only what
		 * spliced_hits() reads. When it lists something (or cannot), the whole
		 * reading is spliced for quick_matches() or quick_hits() (splice_whole(), the
		 * lazy list kept). The tests' path splices whole (quick_reread_same() checks
		 * every entry), and checks that the lazy splice lists the same and completes into
		 * the same.
		 */
		bool lazy = !in->heap && path != PATH_QUICK_ONLY;
		int same = path == PATH_QUICK_ONLY && !in->heap
				   ? lazy_same(rd, in, n, base, in_runs, f)
				   : 0;

		if (lazy && splice_none(rd, in, n, base, in_runs, f, q.s_cp, q.s_bnd)) {
			rc = 0;
			goto out;
		} else if (same != 0) {
			read = same;
		} else if ((read = quick_splice(in, n, base, in_runs, f, &q, &sp, !lazy)) == 0 &&
			   !(spliced_hits(rd, in, &sp, &q, n) && q.n_hits == 0 && !q.crossing) &&
			   lazy) {
			read = splice_whole(in, n, base, in_runs, f, &q, &sp);
		}
	}
	if (read == 1 && path != PATH_FULL)
		read = quick_read(rd, s, len, n, &q);
	else if (read == 0 && path == PATH_QUICK_ONLY && quick_reread_same(rd, s, len, n, &q) != 0)
		read = -EPROTO;
	if (read < 0) {
		rc = read;
		goto out;
	}
	rc = mark(rd, s, len, n, base, path, &q, read, &joined, &joined_len, &mask, NULL);
	if (rc == 0 && path == PATH_QUICK_ONLY)
		rc = marks_as_full(rd, s, len, n, base, mask);
	if (rc != 0 || !mask)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (!memchr(mask + base[i], 1, len[i]))
			continue;
		f[i].dropped = true;
		f[i].out[0] = '\0';
		f[i].out_len = 0;
		f[i].n_redacted = 0;
	}
out:
	if (read == 0)
		quick_deinit(&q);
	join_free(joined, NULL); /* and @mask, in its block */
	return rc;
}

/*
 * Dropping a field brings the fields around it together: a reader of the output sees the
 * fields left side by side, and "ab", "ab", "abab" on either side of a dropped field spell a
 * key prefix that no reading of the inputs held. So once verify() dropped something, the
 * fields left are searched again as a set (map_scan(): in order and as pairs), and every
 * field a match touches is dropped too, until a round drops nothing (at most @n rounds).
 * Both paths run this on the same outputs, so they still agree. @s, @len and @base are
 * scratch of @n entries.
 */
static int verify_left(const struct policy_redactor *rd, struct policy_redact_field *f, size_t n,
		       const char **s, size_t *len, size_t *base)
{
	size_t *at = malloc((n ? n : 1) * sizeof(*at));
	bool more = true;
	int rc = at ? 0 : -ENOMEM;

	while (rc == 0 && more) {
		uint8_t *joined = NULL, *mask = NULL;
		size_t m = 0, joined_len = 0;

		more = false;
		for (size_t i = 0; i < n; i++) {
			if (f[i].dropped)
				continue;
			s[m] = f[i].out;
			len[m] = f[i].out_len;
			at[m++] = i;
		}
		rc = m ? join(s, len, m, &joined, &joined_len, base, &mask, NULL) : 0;
		if (rc == 0 && m) {
			struct sink k = {.src = joined, .src_len = joined_len, .mask = mask};

			rc = map_scan(rd, s, len, m, base, joined, joined_len, &k);
		}
		for (size_t j = 0; rc == 0 && j < m; j++) {
			struct policy_redact_field *g = &f[at[j]];

			if (!memchr(mask + base[j], 1, len[j]))
				continue;
			g->dropped = true;
			g->out[0] = '\0';
			g->out_len = 0;
			g->n_redacted = 0;
			more = true;
		}
		join_free(joined, NULL); /* and @mask, in its block */
	}
	free(at);
	return rc;
}

/*
 * Names in three or more pieces. The fields are a set, and a SIEM may show tags in any order
 * (sorted, most often): tags "Team", "Gamma", "Response" read "Gamma Response Team" there,
 * yet scan() reads them in the order given and pair_scan() joins two at a time. A chain is
 * the tail of one field (from a boundary), one or more whole fields each made of whole words
 * of the pattern ("Response", "National", "alpha" of "cert-alpha.example"), and the head of
 * another field (to a boundary), in some order. Only names and hosts of at least 3 words can
 * have a middle piece; their words are kept (struct wpat), and every run of their words that
 * can be a middle one is hashed (struct seq, sorted). chain_drop() runs on the outputs of a
 * call, on every path alike (so the paths still agree byte for byte): it hashes each field
 * short enough to be a middle piece, and only when one is a word run of some pattern does it
 * map the fields and look for a chain through it; every field of a chain is dropped, never
 * rewritten (its pieces are whole fields or field ends, which a mask cannot part from the
 * rest of a reader's view). Not covered: pieces cut inside a word across three or more
 * fields out of order, and keys (a key in three shuffled parts).
 */
#define CHAIN_WORDS 16	   /* words of a pattern that a chain is looked for in */
#define CHAIN_STEPS 100000 /* tries of one call; past that, every middle candidate is dropped */
#define CHAIN_SLOW 0xFF	   /* chain_tab: a byte that may start markup, an escape or a defang word */
#define CHAIN_FIELDS 64	   /* fields looked at (a view has at most 17) */

static uint64_t chain_hash(const uint32_t *c, size_t n)
{
	uint64_t h = HASH_INIT;

	for (size_t i = 0; i < n; i++)
		h = hash_cp(h, c[i]);
	return hash_cp(h, (uint32_t)n);
}

/* Keep the words of name (@name) or host @s (@len bytes) when it has at least 3. */
static int chain_add(struct policy_redactor *rd, const char *s, size_t len, bool name)
{
	struct policy_skel_text t = {0};
	struct wpat *w;
	size_t words = 0;
	int rc = policy_skeleton_map(rd->sk, s, len, 0, 0, &t);

	for (size_t i = 0; rc == 0 && i < t.len; i++)
		words += t.bnd[i] != POLICY_SKEL_NONE;
	if (rc < 0 || words < 3 || words > CHAIN_WORDS || t.len > UINT16_MAX)
		goto out;
	if (rd->n_wpats == rd->cap_wpats) {
		size_t cap = rd->cap_wpats ? 2 * rd->cap_wpats : 16;
		void *p = realloc(rd->wpats, cap * sizeof(*rd->wpats));

		if (!p) {
			rc = -ENOMEM;
			goto out;
		}
		rd->wpats = p;
		rd->cap_wpats = cap;
	}
	w = &rd->wpats[rd->n_wpats];
	w->s = malloc(t.len * sizeof(*w->s));
	w->word = malloc(t.len + 1);
	if (!w->s || !w->word) {
		free(w->s);
		free(w->word);
		rc = -ENOMEM;
		goto out;
	}
	memcpy(w->s, t.cp, t.len * sizeof(*w->s));
	for (size_t i = 0; i < t.len; i++)
		w->word[i] = t.bnd[i] != POLICY_SKEL_NONE;
	w->word[t.len] = 1;
	w->len = t.len;
	w->owner = (uint32_t)(rd->n_ids - 1);
	w->name = name;
	rd->n_wpats++;
out:
	policy_skel_text_deinit(&t);
	return rc;
}

static int cmp_seq(const void *a, const void *b)
{
	const struct seq *x = a, *y = b;

	return x->hash < y->hash ? -1 : x->hash > y->hash;
}

/*
 * chain_candidates()'s count 16 bytes a step: which of the 16 bytes at @b are code points by
 * chain_tab (bit j: byte j; ASCII letters and digits) and which are CHAIN_SLOW (into *@slow:
 * bytes from 0x80 and those that may start markup, an escape or a defang word), by
 * comparisons (SSE2). Used only when they give chain_tab's classes for every byte
 * (@rd->chain_lane, chain_lane_agrees()); without SSE2 nothing (*@slow all set: the byte
 * loop counts).
 */
static inline __attribute__((always_inline)) unsigned chain_classes16(const uint8_t *b,
								      unsigned *slow)
{
#if defined(__SSE2__)
	__m128i v = _mm_loadu_si128((const __m128i *)b);
	__m128i lc = _mm_or_si128(v, _mm_set1_epi8(0x20)); /* a letter's lower case */
	__m128i cp = _mm_or_si128(_mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
						_mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1))),
				  _mm_and_si128(_mm_cmpgt_epi8(lc, _mm_set1_epi8('a' - 1)),
						_mm_cmplt_epi8(lc, _mm_set1_epi8('z' + 1))));
	/* 0x80 and up; '%' '&' '(' '<'; '[' or '{', '\\' or '|' (each as lc, 0x20 set) */
	__m128i sl =
		_mm_or_si128(_mm_or_si128(_mm_cmplt_epi8(v, _mm_setzero_si128()),
					  _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('%')),
						       _mm_cmpeq_epi8(v, _mm_set1_epi8('&')))),
			     _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('(')),
						       _mm_cmpeq_epi8(v, _mm_set1_epi8('<'))),
					  _mm_or_si128(_mm_cmpeq_epi8(lc, _mm_set1_epi8('{')),
						       _mm_cmpeq_epi8(lc, _mm_set1_epi8('|')))));

	*slow = (unsigned)_mm_movemask_epi8(sl);
	return (unsigned)_mm_movemask_epi8(cp);
#else
	(void)b;
	*slow = 0xFFFFu;
	return 0;
#endif
}

/* The bits set in @x (< 2^16), without the CPU's popcount (the baseline build has none). */
static inline unsigned popcount16(unsigned x)
{
	x -= x >> 1 & 0x5555u;
	x = (x & 0x3333u) + (x >> 2 & 0x3333u);
	x = (x + (x >> 4)) & 0x0F0Fu;
	return (x + (x >> 8)) & 0x1Fu;
}

/* Whether chain_classes16() gives @tab's classes (code point, CHAIN_SLOW, separator) for
 * every byte value. */
static bool chain_lane_agrees(const uint8_t *tab)
{
#if defined(__SSE2__)
	for (unsigned c = 0; c < 256; c += 16) {
		uint8_t b[16];
		unsigned slow, cp;

		for (unsigned j = 0; j < 16; j++)
			b[j] = (uint8_t)(c + j);
		cp = chain_classes16(b, &slow);
		for (unsigned j = 0; j < 16; j++) {
			uint8_t x = tab[c + j];

			if ((slow >> j & 1) != (x == CHAIN_SLOW) ||
			    (cp >> j & 1) != (x != 0 && x != CHAIN_SLOW))
				return false;
		}
	}
	return true;
#else
	(void)tab;
	return false;
#endif
}

/* The word runs that can be middle pieces: not the first word, not the last. */
static int chain_build(struct policy_redactor *rd)
{
	size_t n = 0, cap = 0;

	for (unsigned c = 0; c < 128; c++) {
		uint8_t b = (uint8_t)c, cp, bnd;
		uint32_t at;
		long k = strchr("<&%\\[({", c) && c
				 ? -1
				 : policy_skeleton_ascii(rd->sk, (const char *)&b, 1, &cp, &bnd,
							 &at);

		rd->chain_tab[c] = k < 0 ? CHAIN_SLOW : k == 0 ? 0 : cp;
	}
	memset(rd->chain_tab + 128, CHAIN_SLOW, 128);
	rd->chain_lane = chain_lane_agrees(rd->chain_tab);
	/* W words have (W - 2)(W - 1) / 2 inner runs */
	for (size_t w = 0; w < rd->n_wpats; w++) {
		size_t words = 0;

		for (size_t i = 0; i < rd->wpats[w].len; i++)
			words += rd->wpats[w].word[i];
		cap += (words - 2) * (words - 1) / 2;
	}
	if (cap == 0)
		return 0;
	rd->seqs = malloc(cap * sizeof(*rd->seqs));
	if (!rd->seqs)
		return -ENOMEM;
	for (size_t w = 0; w < rd->n_wpats; w++) {
		const struct wpat *p = &rd->wpats[w];

		for (size_t a = 1; a < p->len; a++) {
			if (!p->word[a])
				continue;
			for (size_t b = a + 1; b < p->len; b++) {
				if (!p->word[b])
					continue;
				rd->seqs[n++] = (struct seq){chain_hash(p->s + a, b - a),
							     (uint32_t)w, (uint16_t)a, (uint16_t)b};
			}
		}
	}
	rd->n_seqs = n;
	qsort(rd->seqs, n, sizeof(*rd->seqs), cmp_seq);
	for (size_t i = 0; i < n; i++) {
		const struct seq *q = &rd->seqs[i];
		uint32_t c = rd->wpats[q->w].s[q->from];
		size_t k = (size_t)(q->to - q->from);

		rd->seq_bits[q->hash / 64 % 64] |= 1ull << q->hash % 64;
		rd->seq_lens |= 1ull << (k < 63 ? k : 63);
		if (k > rd->seq_max)
			rd->seq_max = k;
		if (c < 128)
			rd->seq_starts[c / 64] |= 1ull << c % 64;
		else
			rd->seq_starts[0] = rd->seq_starts[1] = ~0ull;
	}
	return 0;
}

/*
 * The first entry of @rd->seqs with hash @h (of @k code points), or n_seqs when there is none
 * (also when @k cannot be a middle piece: none, or not shorter than the longest pattern).
 */
POLICY_HOT
static size_t seq_hashed(const struct policy_redactor *rd, uint64_t h, size_t k)
{
	size_t lo = 0, hi = rd->n_seqs;

	if (k == 0 || k >= rd->max_len || !(rd->seq_bits[h / 64 % 64] >> h % 64 & 1))
		return rd->n_seqs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (rd->seqs[mid].hash < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < rd->n_seqs && rd->seqs[lo].hash == h ? lo : rd->n_seqs;
}

/* seq_hashed() of the @k code points at @c. */
static size_t seq_first(const struct policy_redactor *rd, const uint32_t *c, size_t k)
{
	return seq_hashed(rd, chain_hash(c, k), k);
}

/* One search: the fields as mapped (field i at [@fs[i], @fe[i]) of @t). */
struct chain {
	const struct policy_skel_text *t;
	const size_t *fs, *fe;
	size_t n;
	uint64_t middle; /* fields whose whole skeleton is a word run of some pattern */
	const struct wpat *w;
	uint64_t found; /* the fields of the chain found */
	long steps;
};

static bool piece_is(const struct chain *c, size_t f, const uint32_t *s, size_t n)
{
	return c->fe[f] - c->fs[f] == n && memcmp(c->t->cp + c->fs[f], s, n * sizeof(*s)) == 0;
}

/* The pattern's code points [@e, len) from whole middle fields and the head of a field. */
static bool chain_right(struct chain *c, size_t e, uint64_t used)
{
	const struct wpat *w = c->w;
	size_t rest = w->len - e;
	bool shorts = w->len < SHORT_LEN;

	if (--c->steps < 0)
		return false;
	for (size_t b = 0; b < c->n; b++) {
		size_t fb = c->fs[b], m = c->fe[b] - fb;
		uint8_t end;

		if (used >> b & 1 || m < rest ||
		    memcmp(c->t->cp + fb, w->s + e, rest * sizeof(*w->s)) != 0)
			continue;
		/* as match_at() ends a match (@t's boundary after a field is HARD) */
		end = c->t->bnd[fb + rest];
		if (!shorts && end == POLICY_SKEL_NONE && w->name) {
			const uint32_t *x = c->t->cp + fb + rest;

			if ((m > rest && x[0] == 's' && c->t->bnd[fb + rest + 1]) ||
			    (m > rest + 1 && x[0] == 'e' && x[1] == 's' &&
			     c->t->bnd[fb + rest + 2]))
				end = POLICY_SKEL_SOFT; /* a plural */
		}
		if (shorts ? end != POLICY_SKEL_HARD : end == POLICY_SKEL_NONE)
			continue;
		c->found = used | (uint64_t)1 << b;
		return true;
	}
	for (size_t m = 0; m < c->n; m++) {
		size_t k = c->fe[m] - c->fs[m];

		if (used >> m & 1 || !(c->middle >> m & 1) || k >= rest || !w->word[e + k] ||
		    !piece_is(c, m, w->s + e, k))
			continue;
		if (chain_right(c, e + k, used | (uint64_t)1 << m))
			return true;
	}
	return false;
}

/* The pattern's code points [0, @s) from the tail of a field and whole middle fields, the
 * rest from @e on by chain_right(). */
static bool chain_left(struct chain *c, size_t s, size_t e, uint64_t used)
{
	const struct wpat *w = c->w;
	bool shorts = w->len < SHORT_LEN;

	if (--c->steps < 0)
		return false;
	for (size_t a = 0; a < c->n; a++) {
		size_t p;

		if (used >> a & 1 || c->fe[a] - c->fs[a] < s)
			continue;
		p = c->fe[a] - s;
		if ((shorts ? c->t->bnd[p] != POLICY_SKEL_HARD
			    : c->t->bnd[p] == POLICY_SKEL_NONE) ||
		    memcmp(c->t->cp + p, w->s, s * sizeof(*w->s)) != 0)
			continue;
		if (chain_right(c, e, used | (uint64_t)1 << a))
			return true;
	}
	for (size_t m = 0; m < c->n; m++) {
		size_t k = c->fe[m] - c->fs[m];

		if (used >> m & 1 || !(c->middle >> m & 1) || k >= s || !w->word[s - k] ||
		    !piece_is(c, m, w->s + s - k, k))
			continue;
		if (chain_left(c, s - k, e, used | (uint64_t)1 << m))
			return true;
	}
	return false;
}

/*
 * The chains among @n fields (@s, @len; at most 64) in one reading (@plain): the fields of
 * those found (of any owner but @except) into *@drop, bit i for field i, and the owner of the
 * first into @found (32 bytes, may be NULL). Returns whether the reading decoded something
 * (then the plain one must be read too), or -ENOMEM.
 */
static int chain_find(const struct policy_redactor *rd, const char *const *s, const size_t *len,
		      size_t n, bool plain, const uint8_t *except, uint64_t *drop, uint8_t *found)
{
	struct policy_skel_text t = {0};
	size_t fs[64], fe[64];
	struct chain c = {.t = &t, .fs = fs, .fe = fe, .n = n, .steps = CHAIN_STEPS};
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		fs[i] = t.len;
		rc = policy_skeleton_map(rd->sk, s[i], len[i], 0, plain ? POLICY_SKEL_PLAIN : 0,
					 &t);
		fe[i] = t.len;
	}
	if (rc < 0)
		goto out;
	/* the middle candidates first, so that a chain may run through several */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++) {
			size_t k = fe[i] - fs[i];
			uint64_t h = chain_hash(t.cp + fs[i], k);

			for (size_t lo = seq_first(rd, t.cp + fs[i], k);
			     lo < rd->n_seqs && rd->seqs[lo].hash == h; lo++) {
				const struct seq *q = &rd->seqs[lo];
				uint64_t used = (uint64_t)1 << i;

				c.w = &rd->wpats[q->w];
				if (!piece_is(&c, i, c.w->s + q->from, q->to - q->from) ||
				    (except && memcmp(rd->ids[c.w->owner], except, 32) == 0))
					continue;
				if (pass == 0)
					c.middle |= used;
				else if (chain_left(&c, q->from, q->to, used)) {
					if (found && !*drop)
						memcpy(found, rd->ids[c.w->owner], 32);
					*drop |= c.found;
				}
			}
		}
	if (c.steps < 0)
		*drop |= c.middle; /* fail closed: no middle piece is left, so no chain */
	rc = t.n_decoded > 0;
out:
	policy_skel_text_deinit(&t);
	return rc;
}

/*
 * Whether any field among @n (@s, @len) may be a middle piece (the first test of
 * chain_find(), without building a text). A byte of plain ASCII that starts no markup, escape
 * or defang word is one unit of its own, a code point (@rd->chain_tab, as policy_skeleton_
 * ascii() reads it) or a separator (0); the redaction token is a separator too. So the code
 * points of such a field are counted in one pass, which stops once there are more than
 * @rd->seq_max of them, and hashed only when there are not: a middle piece is a whole field
 * whose skeleton is some word run (chain_find()'s piece_is()), so it has a seq's length,
 * and a field longer than every seq is none (a description is given up after its first
 * ~30 bytes, not read to the longest pattern's length, ~130 code points with the keys'
 * byte arrays). A field with another byte is read by policy_skeleton_ascii(); one that
 * cannot be read so counts as a candidate. The fields of bit i of @skip (i < 64) are not
 * looked at: their caller knows already that they are none (chain_drop()).
 */
#define CHAIN_READ 1024

/* Whether the redaction token (a separator) is at byte @j of the @len at @b. */
static bool chain_token(const uint8_t *b, size_t len, size_t j)
{
	return len - j >= POLICY_REDACT_TOKEN_LEN &&
	       memcmp(b + j, POLICY_REDACT_TOKEN, POLICY_REDACT_TOKEN_LEN) == 0;
}

/*
 * Whether field @s (@len bytes), which has a byte the count leaves, may be a middle piece:
 * read by policy_skeleton_ascii(). Out of line, so that its 10 KiB of arrays (and the stack
 * probes that come with them) are paid only by the rare field that needs them.
 */
static __attribute__((noinline)) bool chain_field_read(const struct policy_redactor *rd,
						       const char *s, size_t len)
{
	uint8_t cp[CHAIN_READ], bnd[CHAIN_READ];
	uint32_t c32[CHAIN_READ], at[CHAIN_READ];
	long m;

	if (len > CHAIN_READ)
		return true;
	m = policy_skeleton_ascii(rd->sk, s, len, cp, bnd, at);
	if (m < 0)
		return true;
	for (long q = 0; q < m; q++)
		c32[q] = cp[q];
	return seq_first(rd, c32, (size_t)m) < rd->n_seqs;
}

/*
 * Whether some seq has @k code points and starts with @c0 (the first test of a middle piece,
 * before any hashing: a field that fails it is none).
 */
static bool chain_may_start(const struct policy_redactor *rd, uint32_t c0, size_t k)
{
	return k > 0 && (rd->seq_lens >> (k < 63 ? k : 63) & 1) &&
	       (rd->seq_starts[c0 / 64 % 2] >> c0 % 64 & 1);
}

/* The first code point of the @len bytes at @b that chain_candidates() counted whole (every
 * CHAIN_SLOW byte among them starts the redaction token); 0 when there is none. */
static uint32_t chain_first(const uint8_t *tab, const uint8_t *b, size_t len)
{
	for (size_t q = 0; q < len; q++) {
		uint8_t x = tab[b[q]];

		if (x == CHAIN_SLOW)
			q += POLICY_REDACT_TOKEN_LEN - 1;
		else if (x)
			return x;
	}
	return 0;
}

static inline __attribute__((always_inline)) bool
chain_candidates_with(const struct policy_redactor *rd, const char *const *s, const size_t *len,
		      size_t n, uint64_t skip, bool lane)
{
	const uint8_t *tab = rd->chain_tab;
	size_t max = rd->seq_max + 1; /* a field of this many code points is no middle piece */

	if (rd->n_seqs == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *b = (const uint8_t *)s[i];
		uint64_t h = HASH_INIT;
		size_t k = 0, j = 0;

		if (i < 64 && (skip >> i & 1))
			continue;
		/*
		 * count first (a description stops after ~30 bytes), hash only a short field; 16
		 * bytes a step where the lane agrees with chain_tab: the code points up to the
		 * first CHAIN_SLOW byte counted at once, that byte then as the byte loop takes it
		 * (the token skipped, any other stops the count). The count may pass @max within
		 * a step: a field counted so far is none either way (the byte loop stops there).
		 */
		while (lane && len[i] - j >= 16 && k < max) {
			unsigned slow, cp = chain_classes16(b + j, &slow);

			k += popcount16(slow ? cp & ((slow & -slow) - 1) : cp);
			if (!slow) {
				j += 16;
				continue;
			}
			j += (size_t)__builtin_ctz(slow);
			if (k >= max || !chain_token(b, len[i], j))
				break;
			j += POLICY_REDACT_TOKEN_LEN;
		}
		for (; j < len[i] && k < max; j++) {
			uint8_t x = tab[b[j]];

			if (__builtin_expect(x == CHAIN_SLOW, 0)) {
				if (!chain_token(b, len[i], j))
					break;
				j += POLICY_REDACT_TOKEN_LEN - 1;
				continue;
			}
			k += x != 0;
		}
		if (k >= max)
			continue;
		if (j == len[i]) {
			if (!chain_may_start(rd, chain_first(tab, b, len[i]), k))
				continue;
			for (size_t q = 0; q < len[i]; q++) {
				uint8_t x = tab[b[q]];

				if (x == CHAIN_SLOW)
					q += POLICY_REDACT_TOKEN_LEN - 1;
				else if (x)
					h = hash_cp(h, x);
			}
			if (seq_hashed(rd, hash_cp(h, (uint32_t)k), k) < rd->n_seqs)
				return true;
			continue;
		}
		if (chain_field_read(rd, s[i], len[i]))
			return true;
	}
	return false;
}

POLICY_HOT
static bool chain_candidates(const struct policy_redactor *rd, const char *const *s,
			     const size_t *len, size_t n, uint64_t skip)
{
	return chain_candidates_with(rd, s, len, n, skip, rd->chain_lane);
}

int policy_redact_chain_candidates(const struct policy_redactor *rd, const char *const *s,
				   const size_t *len, size_t n, bool lane)
{
	if (lane && !rd->chain_lane)
		return -1;
	return chain_candidates_with(rd, s, len, n, 0, lane);
}

/* Whether field @i of @g, its first @cap code points, starts a word run. Out of line: its
 * 4 KiB array is not in first_look()'s frame (a stack probe a view). */
static __attribute__((noinline)) bool chain_seen_field(const struct policy_redactor *rd,
						       const struct policy_skel_seen *g, size_t i,
						       size_t cap)
{
	uint32_t cp[CHAIN_READ];

	return seq_first(rd, cp, policy_skel_seen_field(g, i, cp, cap)) < rd->n_seqs;
}

/*
 * chain_candidates() on the first look's reading @g of @n fields, which holds each field's
 * code points already: only the short ones are hashed.
 */
static bool chain_seen(const struct policy_redactor *rd, const struct policy_skel_seen *g, size_t n)
{
	if (n < 3 || rd->n_seqs == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		size_t cap = rd->max_len < CHAIN_READ ? rd->max_len : CHAIN_READ;
		uint32_t c0;
		size_t k = policy_skel_seen_head(g, i, &c0);

		/* the length and the first code point of some word run, before any hashing */
		if (k >= rd->max_len || !chain_may_start(rd, c0, k))
			continue;
		if (k >= cap || chain_seen_field(rd, g, i, cap))
			return true;
	}
	return false;
}

/*
 * The chains among @n fields (names mode): 1 when one names a member other than @except
 * (its id into @found, when not NULL), 0, -ENOMEM.
 */
static int chain_names(const struct policy_redactor *rd, const char *const *s, const size_t *len,
		       size_t n, const uint8_t *except, uint8_t *found)
{
	uint64_t drop = 0;
	int rc;

	if (n < 3 || !chain_candidates(rd, s, len, n < CHAIN_FIELDS ? n : CHAIN_FIELDS, 0))
		return 0;
	if (n > CHAIN_FIELDS)
		n = CHAIN_FIELDS;
	rc = chain_find(rd, s, len, n, false, except, &drop, found);
	if (rc == 1 && !drop)
		rc = chain_find(rd, s, len, n, true, except, &drop, found);
	return rc < 0 ? rc : drop != 0;
}

/*
 * Whether field @i of the inputs' quick reading @in may be a middle piece: chain_seen()'s test
 * of a field (its length and first code point, then its hash when it is short), on the code
 * points read already. That reading is the one chain_candidates() counts (policy_skeleton_
 * ascii()'s code points, which chain_tab gives byte by byte), so a field it finds none is
 * none there either. The hash out of line: most fields fail the first test, and this runs
 * inside redact_fields().
 */
POLICY_HOT
static __attribute__((noinline)) bool chain_read_hash(const struct policy_redactor *rd,
						      const uint8_t *c, size_t k)
{
	uint64_t h = HASH_INIT;

	for (size_t j = 0; j < k; j++)
		h = hash_cp(h, c[j]);
	return seq_hashed(rd, hash_cp(h, (uint32_t)k), k) < rd->n_seqs;
}

static bool chain_read_field(const struct policy_redactor *rd, const struct quick *in, size_t i)
{
	size_t k = in->fe[i] - in->fs[i];
	const uint8_t *c = in->cp + in->fs[i];

	return k > 0 && k < rd->max_len && chain_may_start(rd, c[0], k) &&
	       chain_read_hash(rd, c, k);
}

/*
 * Drop every field of a chain among the outputs left; a dropped field brings the others
 * together, so they are read again as a set (verify_left()) and for chains, until nothing
 * more is dropped. @s and @len: scratch of @n entries, as verify_left() uses them. @in: the
 * inputs' quick reading (NULL: there was none). Most fields of a redacted view leave as they
 * came (nothing redacted in them, not dropped): such a field is asked on @in's code points
 * (chain_read_field()), not counted again from its bytes; only the others are.
 */
static int chain_drop(const struct policy_redactor *rd, struct policy_redact_field *f, size_t n,
		      const char **s, size_t *len, size_t *base, const struct quick *in)
{
	for (;;) {
		size_t at[CHAIN_FIELDS], m = 0;
		uint64_t drop = 0, same = 0;
		bool read = false;
		int rc;

		for (size_t i = 0; i < n && m < CHAIN_FIELDS; i++) {
			if (f[i].dropped)
				continue;
			if (in && f[i].n_redacted == 0 && f[i].out_len == f[i].len) {
				read = read || chain_read_field(rd, in, i);
				same |= (uint64_t)1 << m;
			}
			s[m] = f[i].out;
			len[m] = f[i].out_len;
			at[m++] = i;
		}
		if (m < 3 || (!read && !chain_candidates(rd, s, len, m, same)))
			return 0;
		rc = chain_find(rd, s, len, m, false, NULL, &drop, NULL);
		if (rc == 1)
			rc = chain_find(rd, s, len, m, true, NULL, &drop, NULL);
		if (rc < 0)
			return rc;
		if (!drop)
			return 0;
		for (size_t j = 0; j < m; j++) {
			struct policy_redact_field *g = &f[at[j]];

			if (!(drop >> j & 1))
				continue;
			g->dropped = true;
			g->out[0] = '\0';
			g->out_len = 0;
			g->n_redacted = 0;
		}
		if ((rc = verify_left(rd, f, n, s, len, base)) != 0)
			return rc;
	}
}

POLICY_HOT
static int redact_fields(const struct policy_redactor *rd, struct policy_redact_field *f, size_t n,
			 enum path path)
{
	/* the fields' pointers, lengths and offsets: on the stack for a view's few fields */
	const char *stack_s[QUICK_FIELDS], **s = stack_s;
	size_t stack_l[2 * QUICK_FIELDS], *len = stack_l, *base;
	uint8_t *joined = NULL, *mask = NULL, jbuf[JOIN_STACK];
	size_t joined_len = 0, k = 0;
	bool active = rd && rd->n_pats > 0, nobody = false;
	struct quick q;
	struct runs runs;
	int rc = 0, read = 1;

	q.heap = NULL;
	runs_init(&runs);
	/* every output is written below (emit()), or reset at out: when something failed */
	if (n > QUICK_FIELDS) {
		s = calloc(n, sizeof(*s));
		len = calloc(2 * n, sizeof(*len));
		if (!s || !len) {
			rc = -ENOMEM;
			goto out;
		}
	}
	base = len + n;
	for (size_t i = 0; i < n; i++) {
		s[i] = f[i].in;
		len[i] = f[i].len;
		f[i].dropped = false;
	}
	if (active && path != PATH_FULL && (read = first_read(rd, s, len, n, &q, &nobody)) < 0) {
		rc = read;
		goto out;
	}
	/* no mask: the first look or the quick check found nothing, and the text leaves as it is */
	if (nobody)
		active = false;
	if (active && (rc = mark(rd, s, len, n, base, path, &q, read, &joined, &joined_len, &mask,
				 jbuf)) != 0)
		goto out;
	if (mask && (rc = mask_runs(mask, joined_len, &runs)) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		rc = mask ? emit(&f[i], joined, &runs, &k, base[i])
			  : emit(&f[i], (const uint8_t *)f[i].in, NULL, &k, 0);
		if (rc < 0)
			goto out;
	}
	/*
	 * Unchanged outputs are the inputs, in which the first pass found nothing; only verify()
	 * drops a field here.
	 */
	if (runs.n > 0) {
		rc = verify(rd, f, n, s, len, base, path, read == 0 ? &q : NULL, &runs);
		for (size_t i = 0; rc == 0 && i < n; i++)
			if (f[i].dropped) {
				rc = verify_left(rd, f, n, s, len, base);
				break;
			}
	}
	/*
	 * On the outputs, whatever the path: names in three or more pieces out of order. When
	 * the first look found that the fields name nobody, they are the outputs and it found
	 * no middle piece among them either (first_look()).
	 */
	if (rc == 0 && rd && rd->n_seqs > 0 && n >= 3 && !nobody)
		rc = chain_drop(rd, f, n, s, len, base, read == 0 ? &q : NULL);
out:
	if (rc != 0)
		for (size_t i = 0; i < n; i++) {
			if (f[i].cap > 0)
				f[i].out[0] = '\0';
			f[i].out_len = f[i].n_redacted = 0;
			f[i].dropped = false;
		}
	if (read == 0)
		quick_deinit(&q);
	runs_deinit(&runs);
	join_free(joined, jbuf); /* and @mask, in its block */
	if (s != stack_s)
		free(s);
	if (len != stack_l)
		free(len);
	return rc;
}

/*
 * The memo: the results of the last calls of policy_redact_fields(), so that the same text
 * is not read again. An export renders many views whose text repeats (one description on
 * every indicator of a campaign, the same few tags), and a result depends on nothing but the
 * redactor and the fields' bytes: it lives in the redactor, and a roster change builds a new
 * redactor with an empty memo, so a result is never reused under other rules (each redactor
 * is its own generation). A hit is the exact result of redacting the same bytes again (the
 * inputs are compared in full; the hash only picks the slot), verifying read included.
 * MEMO_SLOTS direct-mapped slots, each holding one call of at most MEMO_FIELDS fields and
 * MEMO_TEXT_MAX input bytes (outputs at most 8 times that): at most ~2.3 MiB, usually a few
 * tens of KiB. The redactor is shared by threads: one mutex, held for a compare and a copy
 * (a miss at a slot that holds another key takes none: memo_get()).
 *
 * A result is remembered when its text comes a second time, not the first: a slot also
 * keeps the key of the last text that missed there (@seen), and only a miss whose key is
 * that one copies its result in. Most of an export's text is seen once (each indicator's
 * own description and tags), and copying every such result into a slot (inputs and
 * outputs, a second lock) cost ~470 instructions and ~25 L1 data misses a view that no
 * later call used (bench_store 2000 DIR views, callgrind); and each such copy pushed out
 * what the slot held, so a campaign's description between one-off texts was soon gone. A
 * repeated text is now read twice (not once) before the memo answers it; one-off texts
 * leave remembered results alone (they overwrite only @seen). A second read of the same
 * text is the same full read, so what the memo answers is unchanged.
 */
#define MEMO_SLOTS 64
#define MEMO_FIELDS QUICK_FIELDS
#define MEMO_TEXT_MAX 4096

struct memo_field {
	size_t len, out_len, n_redacted;
	bool dropped;
};

struct memo_entry {
	uint64_t hash; /* written under the lock, read atomically without it (memo_get()) */
	uint64_t seen; /* atomic: the key of the last call that missed here, not remembered */
	size_t n;
	/* one block of @size bytes: @n fields, then their inputs one after another, then their outputs */
	struct memo_field *f;
	size_t size;
};

struct memo {
	pthread_mutex_t lock;
	bool off; /* policy_redact_memo_set(); policy_redact_fields() reads it without the lock */
	uint64_t hits, misses; /* atomic */
	struct memo_entry slot[MEMO_SLOTS];
};

static struct memo *memo_new(void)
{
	struct memo *m = calloc(1, sizeof(*m));

	if (m && pthread_mutex_init(&m->lock, NULL) != 0) {
		free(m);
		return NULL;
	}
	return m;
}

static void memo_free(struct memo *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < MEMO_SLOTS; i++)
		free(m->slot[i].f);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/*
 * Whether a call with fields @f may be remembered, and its slot key into *@h: the fields'
 * lengths and two words of each, mixed by one multiply per word and one at the end. The
 * words hold every byte of a field of up to 16 bytes (its first and last 8, or 4, which may
 * overlap; of 1 to 3 bytes the first, middle and last); of a longer field they are its
 * first and last 8 bytes, each folded with one of the two 8 between. A key only picks the
 * slot (memo_get() compares the inputs in full), so two texts that share it merely take
 * turns in that slot; hashing every byte cost a text seen for the first time more than the
 * slot was worth, and so did the four words mixed by four multiplies each field before
 * (~200 instructions a view of four fields, bench_store views, callgrind).
 */
static bool memo_key(const struct policy_redact_field *f, size_t n, uint64_t *h)
{
	const uint64_t k = 0x9E3779B97F4A7C15ull;
	uint64_t x = HASH_INIT ^ n;
	size_t total = 0;

	if (n == 0 || n > MEMO_FIELDS)
		return false;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = (const uint8_t *)f[i].in;
		size_t len = f[i].len;
		uint64_t a = 0, b = 0;

		total += len;
		if (total > MEMO_TEXT_MAX)
			return false;
		if (len >= 8) {
			memcpy(&a, p, 8);
			memcpy(&b, p + len - 8, 8);
			if (len > 16) {
				uint64_t c, d;

				memcpy(&c, p + (len - 8) / 3, 8);
				memcpy(&d, p + (len - 8) / 3 * 2, 8);
				a ^= c << 32 | c >> 32;
				b ^= d << 32 | d >> 32;
			}
		} else if (len >= 4) {
			uint32_t c, d;

			memcpy(&c, p, 4);
			memcpy(&d, p + len - 4, 4);
			a = c;
			b = d;
		} else if (len) {
			a = (uint64_t)p[0] | (uint64_t)p[len / 2] << 8 | (uint64_t)p[len - 1] << 16;
		}
		x = (x ^ len ^ a) * k;
		x = ((x << 23 | x >> 41) ^ b) * k;
	}
	x ^= x >> 29;
	x *= k;
	*h = x ^ x >> 32;
	return true;
}

static struct memo_entry *memo_slot(struct memo *m, uint64_t h)
{
	return &m->slot[h % MEMO_SLOTS];
}

/* What memo_get() did: only MEMO_ANSWERED has written the outputs. */
enum memo_got { MEMO_OFF, MEMO_ANSWERED, MEMO_FIRST, MEMO_AGAIN };

/*
 * The remembered result for @f (hash @h) into @f, when there is one that fits its outputs
 * (MEMO_ANSWERED); else MEMO_AGAIN when its key missed here last time too (remember the
 * result), MEMO_FIRST when it did not (nothing to remember yet), or MEMO_OFF.
 *
 * A slot that holds another key is a miss without the lock (most calls of an export: its
 * text comes once): a slot's key is written under the lock but read atomically, and a
 * result written just after that read is merely missed once. Only a slot holding the key
 * is locked and its inputs compared. The last key that missed (@seen) and the counts are
 * atomic, since misses update them unlocked: @seen is only a hint (a lost update remembers
 * a text one call later or earlier; a remembered result is always compared in full).
 */
static enum memo_got memo_get(struct memo *m, uint64_t h, struct policy_redact_field *f, size_t n)
{
	struct memo_entry *e = memo_slot(m, h);
	const char *p;
	enum memo_got got = MEMO_AGAIN;

	if (__atomic_load_n(&e->hash, __ATOMIC_RELAXED) != h)
		goto miss;
	pthread_mutex_lock(&m->lock);
	if (m->off) {
		pthread_mutex_unlock(&m->lock);
		return MEMO_OFF;
	}
	if (!e->f || e->hash != h || e->n != n)
		goto miss_locked;
	p = (const char *)(e->f + n);
	/*
	 * A dropped field's output is "", but read afresh it is first written in full: a
	 * capacity short of that is -ENOSPC, so only one that fits any output is answered here.
	 */
	for (size_t i = 0; i < n; i++) {
		if (e->f[i].len != f[i].len || f[i].cap < e->f[i].out_len + 1 ||
		    (e->f[i].dropped && f[i].cap < POLICY_REDACT_OUT_MAX(f[i].len) + 1) ||
		    (f[i].len && memcmp(p, f[i].in, f[i].len) != 0))
			goto miss_locked;
		p += f[i].len;
	}
	for (size_t i = 0; i < n; i++) {
		if (e->f[i].out_len)
			memcpy(f[i].out, p, e->f[i].out_len);
		f[i].out[e->f[i].out_len] = '\0';
		f[i].out_len = e->f[i].out_len;
		f[i].n_redacted = e->f[i].n_redacted;
		f[i].dropped = e->f[i].dropped;
		p += e->f[i].out_len;
	}
	pthread_mutex_unlock(&m->lock);
	__atomic_fetch_add(&m->hits, 1, __ATOMIC_RELAXED);
	return MEMO_ANSWERED;
miss_locked:
	pthread_mutex_unlock(&m->lock);
miss:
	__atomic_fetch_add(&m->misses, 1, __ATOMIC_RELAXED);
	if (__atomic_load_n(&e->seen, __ATOMIC_RELAXED) != h) {
		__atomic_store_n(&e->seen, h, __ATOMIC_RELAXED);
		got = MEMO_FIRST;
	}
	return got;
}

/* The result in @f into @blk (memo_put()'s layout). */
static void memo_fill(struct memo_field *blk, const struct policy_redact_field *f, size_t n)
{
	char *p = (char *)(blk + n);

	for (size_t i = 0; i < n; i++) {
		blk[i] = (struct memo_field){f[i].len, f[i].out_len, f[i].n_redacted, f[i].dropped};
		if (f[i].len)
			memcpy(p, f[i].in, f[i].len);
		p += f[i].len;
	}
	for (size_t i = 0; i < n; i++) {
		if (f[i].out_len)
			memcpy(p, f[i].out, f[i].out_len);
		p += f[i].out_len;
	}
}

/*
 * Remember the result in @f (hash @h); out of memory, it is simply not remembered. The
 * slot's block is overwritten in place when it is large enough (most calls of an export are
 * alike in size), so a miss costs a copy, not an allocation and a free.
 */
static void memo_put(struct memo *m, uint64_t h, const struct policy_redact_field *f, size_t n)
{
	size_t size = n * sizeof(struct memo_field);
	struct memo_field *blk, *old;
	struct memo_entry *e;

	for (size_t i = 0; i < n; i++)
		size += f[i].len + f[i].out_len;
	pthread_mutex_lock(&m->lock);
	e = memo_slot(m, h);
	if (!m->off && e->f && e->size >= size) {
		memo_fill(e->f, f, n);
		e->n = n;
		__atomic_store_n(&e->hash, h, __ATOMIC_RELAXED);
		__atomic_store_n(&e->seen, 0, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&m->lock);
		return;
	}
	pthread_mutex_unlock(&m->lock);
	blk = malloc(size);
	if (!blk)
		return;
	memo_fill(blk, f, n);
	pthread_mutex_lock(&m->lock);
	old = blk;
	if (!m->off) {
		old = e->f;
		e->n = n;
		e->f = blk;
		e->size = size;
		__atomic_store_n(&e->hash, h, __ATOMIC_RELAXED);
		__atomic_store_n(&e->seen, 0, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&m->lock);
	free(old);
}

void policy_redact_memo_set(struct policy_redactor *rd, bool on)
{
	if (!rd || !rd->memo)
		return;
	pthread_mutex_lock(&rd->memo->lock);
	__atomic_store_n(&rd->memo->off, !on, __ATOMIC_RELAXED); /* read unlocked too */
	pthread_mutex_unlock(&rd->memo->lock);
}

void policy_redact_memo_reset(struct policy_redactor *rd)
{
	if (!rd || !rd->memo)
		return;
	pthread_mutex_lock(&rd->memo->lock);
	for (size_t i = 0; i < MEMO_SLOTS; i++) {
		struct memo_entry *e = &rd->memo->slot[i];

		free(e->f);
		e->f = NULL;
		e->n = e->size = 0;
		__atomic_store_n(&e->hash, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&e->seen, 0, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&rd->memo->lock);
}

void policy_redact_memo_stats(const struct policy_redactor *rd, uint64_t *hits, uint64_t *misses)
{
	uint64_t h = 0, m = 0;

	if (rd && rd->memo) {
		h = __atomic_load_n(&rd->memo->hits, __ATOMIC_RELAXED);
		m = __atomic_load_n(&rd->memo->misses, __ATOMIC_RELAXED);
	}
	if (hits)
		*hits = h;
	if (misses)
		*misses = m;
}

POLICY_HOT
int policy_redact_fields(const struct policy_redactor *rd, struct policy_redact_field *f, size_t n)
{
	uint64_t h = 0;
	enum memo_got got = MEMO_OFF;
	int rc;

	/* a memo switched off (policy_redact_memo_set()) costs no key and no lock */
	if (rd && rd->memo && !__atomic_load_n(&rd->memo->off, __ATOMIC_RELAXED) &&
	    memo_key(f, n, &h))
		got = memo_get(rd->memo, h, f, n);

	if (got == MEMO_ANSWERED)
		return 0;
	rc = redact_fields(rd, f, n, PATH_FAST);
	if (rc == 0 && got == MEMO_AGAIN)
		memo_put(rd->memo, h, f, n);
	return rc;
}

int policy_redact_fields_full(const struct policy_redactor *rd, struct policy_redact_field *f,
			      size_t n)
{
	return redact_fields(rd, f, n, PATH_FULL);
}

int policy_redact_fields_fast_only(const struct policy_redactor *rd, struct policy_redact_field *f,
				   size_t n)
{
	return redact_fields(rd, f, n, PATH_FAST_ONLY);
}

int policy_redact_fields_quick_only(const struct policy_redactor *rd, struct policy_redact_field *f,
				    size_t n)
{
	return redact_fields(rd, f, n, PATH_QUICK_ONLY);
}

int policy_redact_quick(const struct policy_redactor *rd, const char *const *s, const size_t *len,
			size_t n)
{
	struct quick q;

	int rc;

	if (!rd || rd->n_pats == 0 || first_look(rd, s, len, n, &q) == 0)
		return 0;
	rc = quick_check(rd, s, len, n);
	/* the quick check reads no chains: a middle piece among the fields leaves them open */
	if (rc == 0 && n >= 3 && chain_candidates(rd, s, len, n, 0))
		rc = 1;
	return rc;
}

int policy_redact_text(const struct policy_redactor *rd, const char *in, size_t len, char *out,
		       size_t cap, size_t *out_len, size_t *n_redacted)
{
	struct policy_redact_field f = {.in = in, .len = len, .out = out, .cap = cap};
	int rc = policy_redact_fields(rd, &f, 1);

	if (out_len)
		*out_len = f.out_len;
	if (n_redacted)
		*n_redacted = f.n_redacted;
	if (rc < 0)
		return rc;
	return f.dropped ? POLICY_REDACT_DROPPED : 0;
}

int policy_redact_names_fields(const struct policy_redactor *rd, const char *const *s,
			       const size_t *len, size_t n, const uint8_t *except, uint8_t *found)
{
	struct sink k = {.except = except, .found = found};
	size_t *base = calloc(n ? n : 1, sizeof(*base));
	uint8_t *joined = NULL;
	size_t joined_len = 0;
	int rc;

	if (!base)
		return -ENOMEM;
	rc = !rd || rd->n_pats == 0 ? 0 : join(s, len, n, &joined, &joined_len, base, NULL, NULL);
	if (rc == 0 && rd && rd->n_pats > 0)
		rc = map_scan(rd, s, len, n, base, joined, joined_len, &k);
	if (rc == 0 && !k.named && rd && rd->n_seqs > 0 &&
	    (rc = chain_names(rd, s, len, n, except, found)) == 1) {
		k.named = true;
		rc = 0;
	}
	free(joined);
	free(base);
	return rc < 0 ? rc : k.named ? 1 : 0;
}

int policy_redact_names(const struct policy_redactor *rd, const char *in, size_t len,
			const uint8_t *except, uint8_t *found)
{
	struct sink k = {.except = except, .found = found};
	size_t base = 0;
	int rc;

	if (!rd || rd->n_pats == 0 || len == 0)
		return 0;
	rc = map_scan(rd, &in, &len, 1, &base, (const uint8_t *)in, len, &k);
	return rc < 0 ? rc : k.named ? 1 : 0;
}
