/* SPDX-License-Identifier: MIT */
/*
 * The skeleton is computed one input unit (code point, entity, escape) at a time so that
 * every skeleton code point knows exactly which input bytes it came from: a match on the
 * skeleton then hides precisely those bytes. Working per code point is exact for the TR39
 * skeleton, which is defined character by character after decomposition; the only thing
 * lost is NFKC composition across characters, and composed forms are decomposed again and
 * their marks dropped anyway.
 *
 * ICU is asked about each code point above U+00FF (a few microseconds); the first 256 are
 * computed once into a table because threat-intelligence text is mostly ASCII.
 */
#include "policy/skeleton.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/uscript.h>
#include <unicode/unorm2.h>
#include <unicode/uspoof.h>
#include <unicode/utf16.h>

#include "policy/layout.h"
#include "proto/crypto.h"

#define CP_SKEL_MAX 24	   /* skeleton code points kept per input code point */
#define OPAQUE 0xFFFFFFFFu /* the skeleton of a byte that is not UTF-8: matches nothing */

enum unit_kind { K_IGNORE = 0, K_SEP = 1, K_WORD = 2 };
/*
 * C_IDEO: a Han or Hiragana code point, a word of its own; C_KANA: Katakana, a run of which is
 * one word. Japanese puts no space between words, so without these a name glued to the
 * particle after it ("アルファから", "CERT Alphaが") would have no boundary to end at. This is
 * the default word rule of Unicode UAX #29 for those scripts (ICU's, without its dictionary):
 * a HARD boundary on both sides of each C_IDEO unit and at the ends of a C_KANA run
 * (word_unit()), so "アルファベット" (alphabet) still does not contain "アルファ".
 */
enum cp_class { C_OTHER = 0, C_UPPER = 1, C_LOWER = 2, C_DIGIT = 3, C_IDEO = 4, C_KANA = 5 };

struct cp_info {
	uint8_t kind;
	uint8_t cls;
	uint8_t n;
	uint32_t s[CP_SKEL_MAX];
	/*
	 * A separator that TR39 confuses with one ASCII letter or digit ('|' with 'l'): the
	 * letter it spells in the decoded reading ("A|pha"), 0 for none. The plain reading
	 * keeps it a separator ("CERT|Alpha").
	 */
	uint32_t alt;
};

struct policy_skeleton {
	USpoofChecker *spoof;
	const UNormalizer2 *nfkc_cf;
	const UNormalizer2 *nfd;
	struct cp_info latin[256];
	/*
	 * POLICY_SKEL_CPS's table of ASCII bytes, per reading (decoded, plain): the skeleton
	 * code point of a byte that is one (bits 24-25: what it needs, 26-27: what it gives,
	 * cps_bnd()), CPS_SEP for a separator, CPS_SLOW for anything the general path must
	 * read (markup, a confusable symbol, an ignored or longer unit).
	 */
	uint32_t cps[2][128];
	/*
	 * policy_skeleton_ascii()'s tables. @ascii: the decoded reading's cps[0] for every byte,
	 * one entry each, so that no lookup waits for the one before: the code point (bits 0-7),
	 * ASCII_CP when the byte gives one, what it needs (9-10) and gives (11-12) as
	 * cps_bnd() reads them, ASCII_SEP for a separator, or ASCII_SLOW for what the table
	 * loop of policy_skeleton_map() leaves to the general path. @ascii_bnd: the boundary of
	 * a code point from the previous byte's bits 11-13 and its own needs.
	 */
	uint32_t ascii[256];
	uint8_t ascii_bnd[32];
	/*
	 * The first look's table (look_read_bytes(), and what its lanes must agree with),
	 * from @ascii: GRAMS_CP, what the code point needs (bits 1-2) and gives (3-4) as
	 * cps_bnd() reads them and the code point (bits 8-15) when the byte gives one;
	 * 0 for a separator; GRAMS_SLOW | GRAMS_CP as ASCII_SLOW.
	 */
	uint16_t grams[256];
	/*
	 * policy_skeleton_ascii_bounds()'s classes, @latin's cls of every byte: one table of
	 * 256 bytes (4 cache lines) where @latin's entries are a cache line or more apart
	 */
	uint8_t ascii_cls[256];
	/* the first look's lanes the CPU can run whose classes agree with @grams (bit per
	 * enum policy_skel_lane: tests force each), and the one policy_skeleton_look() reads
	 * with (look_lane_preferred()) */
	unsigned look_lanes;
	enum policy_skel_lane look_lane;
};

#define ASCII_CP (1u << 8)
#define ASCII_SEP (1u << 13)
#define ASCII_SLOW (1u << 31)
#define GRAMS_CP 0x01u
#define GRAMS_SLOW 0x20u

#define CPS_SEP 0u
#define CPS_SLOW 1u
#define CPS_CP 0xFFFFFFu /* the code point's bits */

static bool gc_word(int8_t gc)
{
	return (gc >= U_UPPERCASE_LETTER && gc <= U_OTHER_LETTER) ||
	       (gc >= U_DECIMAL_DIGIT_NUMBER && gc <= U_OTHER_NUMBER);
}

static bool gc_vanish(int8_t gc)
{
	return gc == U_NON_SPACING_MARK || gc == U_ENCLOSING_MARK ||
	       gc == U_COMBINING_SPACING_MARK || gc == U_FORMAT_CHAR;
}

/* Normalise @src (@n UTF-16 units) with @norm into @dst (@cap units); -1 on error. */
static int32_t norm16(const UNormalizer2 *norm, const UChar *src, int32_t n, UChar *dst,
		      int32_t cap)
{
	UErrorCode e = U_ZERO_ERROR;
	int32_t r = unorm2_normalize(norm, src, n, dst, cap, &e);

	return U_FAILURE(e) ? -1 : r;
}

/*
 * The letters and numbers of NFD(case fold(skeleton(@c))) into @out (at most @max); returns
 * how many, or -1 when ICU refuses.
 */
static int skel_of(const struct policy_skeleton *sk, UChar32 c, uint32_t *out, int max)
{
	UChar a[8], b[64], d[64], f[128];
	int32_t na = 0, nb, nd, nf;
	UErrorCode e = U_ZERO_ERROR;
	UBool err = false;
	int n = 0;

	U16_APPEND(a, na, 8, c, err);
	nb = uspoof_getSkeleton(sk->spoof, 0, a, na, b, 64, &e);
	if (U_FAILURE(e) || err)
		return -1;
	nd = norm16(sk->nfkc_cf, b, nb, d, 64);
	nf = nd < 0 ? -1 : norm16(sk->nfd, d, nd, f, 128);
	if (nf < 0)
		return -1;
	for (int32_t i = 0; i < nf;) {
		UChar32 x;

		U16_NEXT(f, i, nf, x);
		if (gc_word(u_charType(x)) && n < max)
			out[n++] = (uint32_t)(x == 'i' ? 'l' : x);
	}
	return n;
}

static bool all_ascii(const uint32_t *s, int n)
{
	for (int i = 0; i < n; i++)
		if (s[i] >= 0x80)
			return false;
	return true;
}

/*
 * Skeleton of one case-folded letter or number @c. TR39 maps capitals to capitals ('Τ' to
 * 'T') but small letters sometimes elsewhere ('τ' to small capital 'ᴛ'), so both the letter
 * and its upper case are asked, and the upper case's answer wins when it is plain ASCII.
 * The choice depends only on the two answers, which a letter and its capital share: case
 * stays irrelevant, and lookalikes of either case meet their Latin prototype.
 */
static void skel_letter(const struct policy_skeleton *sk, UChar32 c, struct cp_info *ci)
{
	uint32_t low[CP_SKEL_MAX], up[CP_SKEL_MAX];
	int max = CP_SKEL_MAX - ci->n;
	int nl = skel_of(sk, c, low, max), nu = skel_of(sk, u_toupper(c), up, max);

	if (nu > 0 && all_ascii(up, nu)) {
		memcpy(ci->s + ci->n, up, (size_t)nu * sizeof(*up));
		ci->n = (uint8_t)(ci->n + nu);
	} else if (nl >= 0) {
		memcpy(ci->s + ci->n, low, (size_t)nl * sizeof(*low));
		ci->n = (uint8_t)(ci->n + nl);
	} else if (ci->n < CP_SKEL_MAX) { /* ICU refused: the letter stands for itself */
		ci->s[ci->n++] = (uint32_t)c;
	}
}

/* The class (enum cp_class) of an uncased code point that is not a digit. */
static uint8_t cjk_class(UChar32 c)
{
	UErrorCode e = U_ZERO_ERROR;

	if (u_getIntPropertyValue(c, UCHAR_WORD_BREAK) == U_WB_KATAKANA)
		return C_KANA;
	if (u_hasBinaryProperty(c, UCHAR_IDEOGRAPHIC) ||
	    uscript_getScript(c, &e) == USCRIPT_HIRAGANA)
		return C_IDEO;
	return C_OTHER;
}

/*
 * The ASCII letter or digit that Unicode's own name of @c says it is, in another dress that
 * neither NFKC nor TR39 undoes: "LATIN LETTER SMALL CAPITAL A" ('ᴀ'), "REGIONAL INDICATOR
 * SYMBOL LETTER A", "NEGATIVE CIRCLED LATIN CAPITAL LETTER A" ('🅐'), "TAG LATIN CAPITAL
 * LETTER A" (U+E0041, invisible, yet it spells 'A' to anyone who decodes it), "DEVANAGARI
 * DIGIT ONE", "TAG DIGIT ONE", "DINGBAT NEGATIVE CIRCLED DIGIT ONE". Only a name whose last
 * word is the letter itself, after "LETTER" or "CAPITAL" (not "TURNED A", "OPEN E", "A WITH
 * GRAVE": other letters), and for letters only a Latin one. *@cls receives its case. 0 for
 * none; only symbols, format characters, letters and numbers above U+00FF are asked.
 */
static uint32_t named_ascii(UChar32 c, uint8_t *cls)
{
	static const char *const digit[] = {"ZERO", "ONE", "TWO",   "THREE", "FOUR",
					    "FIVE", "SIX", "SEVEN", "EIGHT", "NINE"};
	int8_t gc = u_charType(c);
	UErrorCode e = U_ZERO_ERROR;
	char name[128];
	const char *last, *prev;
	int32_t n;

	if (c <= 0xFF || !(gc == U_OTHER_SYMBOL || gc == U_FORMAT_CHAR || gc_word(gc)))
		return 0;
	/* letters: only Latin ones can be named so (this keeps ICU's name lookup off other
	 * scripts' letters, whose skeletons are the common case of non-ASCII text) */
	if (gc >= U_UPPERCASE_LETTER && gc <= U_OTHER_LETTER &&
	    uscript_getScript(c, &e) != USCRIPT_LATIN)
		return 0;
	n = u_charName(c, U_UNICODE_CHAR_NAME, name, (int32_t)sizeof(name), &e);
	if (U_FAILURE(e) || n <= 0 || n >= (int32_t)sizeof(name))
		return 0;
	last = strrchr(name, ' ');
	if (!last)
		return 0;
	for (prev = last; prev > name && prev[-1] != ' '; prev--)
		;
	last++;
	if ((size_t)(last - prev) == 6 && memcmp(prev, "DIGIT ", 6) == 0) {
		for (int d = 0; d < 10; d++)
			if (strcmp(last, digit[d]) == 0) {
				*cls = C_DIGIT;
				return (uint32_t)('0' + d);
			}
		return 0;
	}
	if (last[0] < 'A' || last[0] > 'Z' || last[1] ||
	    !(((size_t)(last - prev) == 7 && memcmp(prev, "LETTER ", 7) == 0) ||
	      ((size_t)(last - prev) == 8 && memcmp(prev, "CAPITAL ", 8) == 0)) ||
	    !(strstr(name, "LATIN ") || strncmp(name, "REGIONAL INDICATOR ", 19) == 0))
		return 0;
	*cls = strstr(name, " SMALL ") ? C_LOWER : strstr(name, " CAPITAL ") ? C_UPPER : C_OTHER;
	return (uint32_t)last[0];
}

static void compute_cp(const struct policy_skeleton *sk, UChar32 c, struct cp_info *ci)
{
	UChar src[4], a[64];
	int32_t ns = 0, na;
	UBool err = false;
	bool any_sep = false;
	uint8_t cls = C_OTHER;
	uint32_t named = named_ascii(c, &cls);

	if (named) {
		compute_cp(sk, (UChar32)named, ci);
		ci->cls = cls;
		return;
	}
	/*
	 * Hiragana is the katakana it parallels (U+3041-U+3096 and the iteration marks
	 * U+309D-U+309E are U+30A1-U+30F6 and U+30FD-U+30FE, 0x60 on: the same syllables), so a
	 * katakana name written in hiragana ("あるふぁ" for "アルファ") is that name. Each
	 * hiragana character stays a word of its own (C_IDEO): the name is found glued to its
	 * particles ("あるふぁから") and, as a name in kanji is, inside a longer hiragana run.
	 */
	if ((c >= 0x3041 && c <= 0x3096) || c == 0x309D || c == 0x309E) {
		compute_cp(sk, c + 0x60, ci);
		ci->cls = C_IDEO;
		return;
	}
	memset(ci, 0, sizeof(*ci));
	if (u_isupper(c))
		ci->cls = C_UPPER;
	else if (u_islower(c))
		ci->cls = C_LOWER;
	else if (u_isdigit(c))
		ci->cls = C_DIGIT;
	else
		ci->cls = cjk_class(c);
	if (gc_vanish(u_charType(c)) ||
	    u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT)) {
		ci->kind = K_IGNORE;
		return;
	}
	/*
	 * A letter that has a case pair is first asked as its capital, before case folding:
	 * folding may turn it into another letter with another prototype (lunate sigma 'ϲ' folds
	 * to 'σ', whose prototype is 'o', while it and its capital 'Ϲ' look like 'C').
	 */
	if (u_tolower(c) != c || u_toupper(c) != c) {
		int n = skel_of(sk, u_isupper(c) ? c : u_toupper(c), ci->s, CP_SKEL_MAX);

		if (n > 0 && all_ascii(ci->s, n)) {
			ci->n = (uint8_t)n;
			ci->kind = K_WORD;
			return;
		}
	}
	U16_APPEND(src, ns, 4, c, err);
	na = err ? -1 : norm16(sk->nfkc_cf, src, ns, a, 64);
	if (na < 0) {
		ci->kind = K_SEP;
		return;
	}
	for (int32_t i = 0; i < na;) {
		UChar32 x;
		int8_t gc;

		U16_NEXT(a, i, na, x);
		gc = u_charType(x);
		if (gc_word(gc))
			skel_letter(sk, x, ci);
		else if (!gc_vanish(gc) &&
			 !u_hasBinaryProperty(x, UCHAR_DEFAULT_IGNORABLE_CODE_POINT))
			any_sep = true;
	}
	if (ci->n > 0)
		ci->kind = K_WORD;
	else
		ci->kind = any_sep ? K_SEP : K_IGNORE;
	if (ci->kind == K_SEP && !u_isUWhiteSpace(c)) {
		uint32_t one[CP_SKEL_MAX];

		if (skel_of(sk, c, one, CP_SKEL_MAX) == 1 && one[0] < 0x80 &&
		    ((one[0] >= 'a' && one[0] <= 'z') || (one[0] >= '0' && one[0] <= '9')))
			ci->alt = one[0];
	}
}

static inline bool markup_start(uint8_t c);
static unsigned cps_needs(unsigned cls);
static unsigned cps_gives(unsigned cls, uint32_t raw);
static unsigned look_lanes(const struct policy_skeleton *sk);
static enum policy_skel_lane look_lane_preferred(unsigned lanes);

struct policy_skeleton *policy_skeleton_new(void)
{
	struct policy_skeleton *sk = calloc(1, sizeof(*sk));
	UErrorCode e = U_ZERO_ERROR;

	if (!sk)
		return NULL;
	sk->spoof = uspoof_open(&e);
	if (U_FAILURE(e))
		goto fail;
	sk->nfkc_cf = unorm2_getNFKCCasefoldInstance(&e);
	if (U_FAILURE(e))
		goto fail;
	sk->nfd = unorm2_getNFDInstance(&e);
	if (U_FAILURE(e))
		goto fail;
	for (UChar32 c = 0; c < 256; c++) {
		compute_cp(sk, c, &sk->latin[c]);
		sk->ascii_cls[c] = sk->latin[c].cls;
	}
	for (int plain = 0; plain < 2; plain++)
		for (int c = 0; c < 128; c++) {
			const struct cp_info *ci = &sk->latin[c];
			uint32_t v = CPS_SLOW;

			if (ci->kind == K_SEP && !(ci->alt && !plain) &&
			    !(!plain && markup_start((uint8_t)c)))
				v = CPS_SEP;
			else if (ci->kind == K_WORD && ci->n == 1 && ci->s[0] > CPS_SLOW &&
				 ci->s[0] <= CPS_CP && !(!plain && markup_start((uint8_t)c)))
				v = ci->s[0] | cps_needs(ci->cls) << 24 |
				    cps_gives(ci->cls, (uint32_t)c) << 26;
			sk->cps[plain][c] = v;
		}
	for (unsigned c = 0; c < 256; c++) {
		uint32_t v = c < 0x80 ? sk->cps[0][c] : CPS_SLOW;

		if (v == CPS_SEP)
			sk->ascii[c] = ASCII_SEP;
		else if (v == CPS_SLOW || (v & CPS_CP) >= 0x80)
			sk->ascii[c] = ASCII_SLOW;
		else
			sk->ascii[c] =
				(v & CPS_CP) | ASCII_CP | (v >> 24 & 3) << 9 | (v >> 26 & 3) << 11;
	}
	for (unsigned prev = 0; prev < 8; prev++)
		for (unsigned needs = 0; needs < 4; needs++)
			sk->ascii_bnd[prev << 2 | needs] = prev & 4		? POLICY_SKEL_HARD
							   : (needs & prev & 3) ? POLICY_SKEL_NONE
										: POLICY_SKEL_SOFT;
	for (unsigned c = 0; c < 256; c++) {
		uint32_t a = sk->ascii[c];

		if (a & ASCII_SLOW)
			sk->grams[c] = GRAMS_SLOW | GRAMS_CP;
		else if (a & ASCII_CP)
			sk->grams[c] = (uint16_t)((a & 0xFF) << 8 | (a >> 11 & 3) << 3 |
						  (a >> 9 & 3) << 1 | GRAMS_CP);
		else
			sk->grams[c] = 0; /* a separator */
	}
	sk->look_lanes = look_lanes(sk);
	sk->look_lane = look_lane_preferred(sk->look_lanes);
	return sk;
fail:
	policy_skeleton_free(sk);
	return NULL;
}

static struct policy_skeleton *shared;
static pthread_once_t shared_once = PTHREAD_ONCE_INIT;

static void shared_init(void)
{
	shared = policy_skeleton_new();
}

const struct policy_skeleton *policy_skeleton_shared(void)
{
	pthread_once(&shared_once, shared_init);
	return shared;
}

void policy_skeleton_free(struct policy_skeleton *sk)
{
	if (!sk)
		return;
	if (sk->spoof)
		uspoof_close(sk->spoof);
	free(sk);
}

/*
 * Asking ICU costs microseconds per code point; a text in another script repeats a few dozen
 * letters, so each text keeps a small direct-mapped cache of its own (no shared state: the
 * skeleton context stays immutable and needs no lock).
 */
#define CACHE_SLOTS 128

struct cache_entry {
	uint32_t cp; /* 0: empty (only code points above U+00FF are cached) */
	struct cp_info ci;
};

static const struct cp_info *lookup(const struct policy_skeleton *sk, struct policy_skel_text *t,
				    uint32_t cp, struct cp_info *tmp)
{
	struct cache_entry *c = t->cache, *e;

	if (!c) {
		c = t->cache = calloc(CACHE_SLOTS, sizeof(*c));
		if (!c) {
			compute_cp(sk, (UChar32)cp, tmp);
			return tmp;
		}
	}
	e = &c[cp % CACHE_SLOTS];
	if (e->cp != cp) {
		compute_cp(sk, (UChar32)cp, &e->ci);
		e->cp = cp;
	}
	return &e->ci;
}

void policy_skel_text_deinit(struct policy_skel_text *t)
{
	free(t->cache);
	free(t->from); /* one block holds all four arrays (reserve()) */
	memset(t, 0, sizeof(*t));
}

/*
 * The four arrays live in one block (from, to, cp, bnd, in that order, each of t->cap
 * entries): one allocation per text instead of four, which is most of a short text's cost.
 */
static int reserve(struct policy_skel_text *t, size_t more)
{
	size_t cap;
	uint8_t *blk;
	size_t *from, *to;
	uint32_t *cp;
	uint8_t *bnd;

	if (t->len + more + 1 <= t->cap)
		return 0;
	cap = t->cap ? t->cap : 256;
	while (cap < t->len + more + 1)
		cap *= 2;
	blk = malloc(cap * (2 * sizeof(size_t) + sizeof(uint32_t) + 1));
	if (!blk)
		return -ENOMEM;
	from = (size_t *)blk;
	to = from + cap;
	cp = (uint32_t *)(to + cap);
	bnd = (uint8_t *)(cp + cap);
	if (t->cap) {
		memcpy(from, t->from, (t->len + 1) * sizeof(*from));
		memcpy(to, t->to, (t->len + 1) * sizeof(*to));
		memcpy(cp, t->cp, (t->len + 1) * sizeof(*cp));
		memcpy(bnd, t->bnd, t->len + 1);
		free(t->from);
	}
	t->from = from;
	t->to = to;
	t->cp = cp;
	t->bnd = bnd;
	t->cap = cap;
	return 0;
}

static uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

static bool is_alpha(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool valid_cp(uint32_t cp)
{
	return cp > 0 && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
}

/* Well-formed UTF-8 at @in (@len > 0): length and *@cp, or 0 when not well-formed. */
static size_t utf8_decode(const uint8_t *in, size_t len, uint32_t *cp)
{
	uint8_t c = in[0], lo = 0x80, hi = 0xBF;
	size_t n;
	uint32_t v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		v = c & 0x0F;
		lo = c == 0xE0 ? 0xA0 : 0x80;
		hi = c == 0xED ? 0x9F : 0xBF;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		v = c & 0x07;
		lo = c == 0xF0 ? 0x90 : 0x80;
		hi = c == 0xF4 ? 0x8F : 0xBF;
	} else {
		return 0;
	}
	if (len < n || in[1] < lo || in[1] > hi)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((in[i] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (in[i] & 0x3F);
	}
	*cp = v;
	return n;
}

static const struct {
	const char *name;
	uint32_t cp;
} entities[] = {
	{"nbsp", 0xA0},	     {"amp", '&'},	 {"lt", '<'},	    {"gt", '>'},
	{"quot", '"'},	     {"apos", '\''},	 {"shy", 0xAD},	    {"zwj", 0x200D},
	{"zwnj", 0x200C},    {"lrm", 0x200E},	 {"rlm", 0x200F},   {"ensp", 0x2002},
	{"emsp", 0x2003},    {"thinsp", 0x2009}, {"ndash", 0x2013}, {"mdash", 0x2014},
	{"hellip", 0x2026},  {"middot", 0xB7},	 {"period", '.'},   {"comma", ','},
	{"colon", ':'},	     {"semi", ';'},	 {"lpar", '('},	    {"rpar", ')'},
	{"lsqb", '['},	     {"rsqb", ']'},	 {"lbrack", '['},   {"rbrack", ']'},
	{"sol", '/'},	     {"bsol", '\\'},	 {"commat", '@'},   {"hyphen", 0x2010},
	{"dash", 0x2010},    {"lowbar", '_'},	 {"num", '#'},	    {"excl", '!'},
	{"quest", '?'},	     {"ast", '*'},	 {"plus", '+'},	    {"equals", '='},
	{"percnt", '%'},     {"tab", '\t'},	 {"newline", '\n'}, {"zerowidthspace", 0x200B},
	{"nobreak", 0x2060}, {"lsquo", 0x2018},	 {"rsquo", 0x2019}, {"ldquo", 0x201C},
	{"rdquo", 0x201D},   {"laquo", 0xAB},	 {"raquo", 0xBB},   {"szlig", 0xDF},
	{"aelig", 0xE6},     {"oslash", 0xF8},	 {"thorn", 0xFE},   {"eth", 0xF0},
};

static const char *const greek[] = {
	"alpha", "beta",   "gamma",   "delta", "epsilon", "zeta",    "eta",  "theta", "iota",
	"kappa", "lambda", "mu",      "nu",    "xi",	  "omicron", "pi",   "rho",   "sigmaf",
	"sigma", "tau",	   "upsilon", "phi",   "chi",	  "psi",     "omega"};

static const char *const accents[] = {"acute", "grave", "uml", "circ", "tilde", "ring", "cedil"};

/* The code point of named entity @name (@n letters), or 0. Case matters only for Greek and
 * accented letters ("&Alpha;" is capital), which is exactly what a browser does. */
static uint32_t named_entity(const uint8_t *name, size_t n)
{
	char low[16];

	if (n >= sizeof(low))
		return 0;
	for (size_t i = 0; i < n; i++)
		low[i] = (char)lower(name[i]);
	low[n] = '\0';
	for (size_t i = 0; i < sizeof(entities) / sizeof(entities[0]); i++)
		if (strcmp(low, entities[i].name) == 0)
			return entities[i].cp;
	for (size_t i = 0; i < sizeof(greek) / sizeof(greek[0]); i++)
		if (strcmp(low, greek[i]) == 0)
			return (name[0] >= 'A' && name[0] <= 'Z' ? 0x391 : 0x3B1) + (uint32_t)i;
	for (size_t i = 0; i < sizeof(accents) / sizeof(accents[0]); i++)
		if (n == 1 + strlen(accents[i]) && strcmp(low + 1, accents[i]) == 0 &&
		    is_alpha(name[0]))
			return name[0]; /* the mark vanishes in the skeleton anyway */
	return 0;
}

/* "&...;" at @in: length consumed and *@cp, or 0 when it is not an entity. */
static size_t entity(const uint8_t *in, size_t len, uint32_t *cp)
{
	size_t i = 1;
	uint32_t v = 0;

	if (len >= 3 && in[1] == '#') {
		bool hex = lower(in[2]) == 'x';
		size_t digits = 0;

		i = hex ? 3 : 2;
		for (; i < len && digits < 8; i++, digits++) {
			int d = hex ? proto_hex_digit(in[i])
				    : (in[i] >= '0' && in[i] <= '9' ? in[i] - '0' : -1);

			if (d < 0)
				break;
			v = v * (hex ? 16 : 10) + (uint32_t)d;
		}
		if (digits == 0)
			return 0;
		if (i < len && in[i] == ';')
			i++;
		*cp = valid_cp(v) ? v : OPAQUE;
		return i;
	}
	while (i < len && i < 20 && is_alpha(in[i]))
		i++;
	if (i == 1 || i >= len || in[i] != ';')
		return 0;
	v = named_entity(in + 1, i - 1);
	if (!v)
		return 0;
	*cp = v;
	return i + 1;
}

/*
 * An entity whose '&' is itself written "&amp;" (HTML escaped twice: "&amp;#83;" is "&#83;" is
 * "S"), at most @depth layers: the input bytes the unit takes and *@cp, or 0 when this is not
 * one (then "&amp;" is the '&' it says).
 */
#define ENTITY_DEPTH 4

static size_t entity_nested(const uint8_t *in, size_t len, uint32_t *cp, int depth)
{
	uint8_t buf[64];
	size_t n, k;

	if (depth == 0 || len < 7 || in[0] != '&' || lower(in[1]) != 'a' || lower(in[2]) != 'm' ||
	    lower(in[3]) != 'p' || in[4] != ';')
		return 0;
	k = len - 4 < sizeof(buf) ? len - 4 : sizeof(buf);
	buf[0] = '&';
	memcpy(buf + 1, in + 5, k - 1);
	n = entity_nested(buf, k, cp, depth - 1);
	if (!n)
		n = entity(buf, k, cp);
	return n ? n + 4 : 0;
}

/* "%XX" escapes at @in forming one UTF-8 character: length consumed and *@cp, or 0. */
static size_t percent(const uint8_t *in, size_t len, uint32_t *cp);

/*
 * Percent-encoding applied more than once ("%2541" is "%41" is "A"): an input that starts
 * with an encoded '%' ("%25") followed by two hex digits is decoded one layer, over a window
 * long enough for one encoded UTF-8 character at the next depth, and read again, at most
 * @depth layers. Returns the input bytes the unit takes, or 0 when this is not one.
 */
#define PERCENT_DEPTH 4
#define PERCENT_WINDOW (4 * 3 * 3 * 3 * 3 + 4) /* 4 bytes, each ((%25)^k)XX-encoded */

static size_t percent_nested(const uint8_t *in, size_t len, uint32_t *cp, int depth)
{
	uint8_t buf[PERCENT_WINDOW];
	size_t at[PERCENT_WINDOW + 1], o = 0, i = 0, n;

	if (depth == 0 || len < 5 || in[0] != '%' || in[1] != '2' || in[2] != '5' ||
	    proto_hex_digit(in[3]) < 0 || proto_hex_digit(in[4]) < 0)
		return 0;
	while (i < len && o < sizeof(buf)) {
		at[o] = i;
		if (in[i] == '%' && i + 2 < len && proto_hex_digit(in[i + 1]) >= 0 &&
		    proto_hex_digit(in[i + 2]) >= 0) {
			buf[o++] = (uint8_t)(proto_hex_digit(in[i + 1]) << 4 |
					     proto_hex_digit(in[i + 2]));
			i += 3;
		} else {
			buf[o++] = in[i++];
		}
	}
	at[o] = i;
	n = percent_nested(buf, o, cp, depth - 1);
	if (!n)
		n = percent(buf, o, cp);
	return n ? at[n] : 0;
}

static size_t percent(const uint8_t *in, size_t len, uint32_t *cp)
{
	uint8_t bytes[4];
	size_t k = 0, i = 0;
	uint32_t v;

	while (k < 4 && i + 2 < len && in[i] == '%' && proto_hex_digit(in[i + 1]) >= 0 &&
	       proto_hex_digit(in[i + 2]) >= 0) {
		bytes[k] = (uint8_t)(proto_hex_digit(in[i + 1]) << 4 | proto_hex_digit(in[i + 2]));
		if (k > 0 && (bytes[k] & 0xC0) != 0x80)
			break;
		k++;
		i += 3;
		if (bytes[0] < 0x80 || (k > 0 && utf8_decode(bytes, k, &v) == k))
			break;
	}
	if (k == 0)
		return 0;
	if (utf8_decode(bytes, k, &v) != k) {
		*cp = OPAQUE;
		return 3;
	}
	*cp = v;
	return 3 * k;
}

/* The value of the @n hex digits at @in, or -1 when one is not a hex digit. */
static long hex_value(const uint8_t *in, size_t n)
{
	long v = 0;

	for (size_t i = 0; i < n; i++) {
		int d = proto_hex_digit(in[i]);

		if (d < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/*
 * A backslash escape at @in: "\uXXXX" (a JSON surrogate pair "\uD835\uDC00" is one code
 * point, as JSON means it; also when escaped again, "\uD835\\uDC00"), "\UXXXXXXXX",
 * "\xXX", and "\u{X...}" / "\x{X...}" (1 to 6 digits). Length consumed and *@cp, or 0.
 */
static size_t backslash(const uint8_t *in, size_t len, uint32_t *cp)
{
	size_t n = 0;
	long v;

	if (len < 3)
		return 0;
	if ((in[1] == 'u' || in[1] == 'x') && in[2] == '{') {
		while (n < 7 && 3 + n < len && proto_hex_digit(in[3 + n]) >= 0)
			n++;
		if (n == 0 || n > 6 || 3 + n >= len || in[3 + n] != '}')
			return 0;
		v = hex_value(in + 3, n);
		*cp = valid_cp((uint32_t)v) ? (uint32_t)v : OPAQUE;
		return n + 4;
	}
	n = in[1] == 'u' ? 4 : in[1] == 'U' ? 8 : in[1] == 'x' ? 2 : 0;
	if (n == 0 || len < 2 + n || (v = hex_value(in + 2, n)) < 0)
		return 0;
	if (n == 4 && v >= 0xD800 && v <= 0xDBFF) {
		/* the low half, also when the text was escaped once more ("\\udc00") */
		size_t j = 6;
		long lo;

		while (j < len && j < 14 && in[j] == '\\')
			j++;
		if (j > 6 && j + 5 <= len && in[j] == 'u' &&
		    (lo = hex_value(in + j + 1, 4)) >= 0xDC00 && lo <= 0xDFFF) {
			*cp = 0x10000 + (uint32_t)((v - 0xD800) << 10 | (lo - 0xDC00));
			return j + 5;
		}
	}
	*cp = valid_cp((uint32_t)v) ? (uint32_t)v : OPAQUE;
	return 2 + n;
}

/* "[dot]", "(at)"... at @in: its length, or 0. */
static size_t defang_word(const uint8_t *in, size_t len)
{
	static const char open[] = "[({", close[] = "])}";
	const char *o = memchr(open, in[0], 3);
	size_t n;

	if (!o || in[0] == '\0')
		return 0;
	for (n = 1; n < len && n < 5 && is_alpha(in[n]); n++)
		;
	if (n >= len || in[n] != close[o - open])
		return 0;
	if ((n == 4 && lower(in[1]) == 'd' && lower(in[2]) == 'o' && lower(in[3]) == 't') ||
	    (n == 3 && lower(in[1]) == 'a' && lower(in[2]) == 't'))
		return n + 1;
	return 0;
}

/*
 * The start of an HTML tag at @in: "<", an optional "/" and the tag name, and the closing
 * ">" when the tag has no attributes. Its length, or 0. Attributes are left to be read as
 * text (a member's domain in an href is still found); so is a comment's content.
 */
static size_t html_tag(const uint8_t *in, size_t len)
{
	size_t i = 1;

	if (i < len && (in[i] == '/' || in[i] == '!'))
		i++;
	if (i + 1 < len && in[i - 1] == '!' && in[i] == '-' && in[i + 1] == '-')
		return i + 2;
	if (i >= len || !is_alpha(in[i]))
		return 0;
	while (i < len && (is_alpha(in[i]) || (in[i] >= '0' && in[i] <= '9') || in[i] == '-'))
		i++;
	if (i < len && in[i] == '>')
		i++;
	else if (i + 1 < len && in[i] == '/' && in[i + 1] == '>')
		i += 2;
	return i;
}

/*
 * One input unit at @in (@len > 0): its length, and either *@cp (a code point, or OPAQUE)
 * or *@sep set when the whole unit is a separator.
 */
static size_t next_unit(const uint8_t *in, size_t len, unsigned flags, uint32_t *cp, bool *sep)
{
	size_t n;

	*sep = false;
	switch ((flags & POLICY_SKEL_PLAIN) ? 0 : in[0]) {
	case '<':
		if ((n = html_tag(in, len))) {
			*sep = true;
			return n;
		}
		break;
	case '&':
		if ((n = entity_nested(in, len, cp, ENTITY_DEPTH)) || (n = entity(in, len, cp)))
			return n;
		break;
	case '%':
		if ((n = percent_nested(in, len, cp, PERCENT_DEPTH)) || (n = percent(in, len, cp)))
			return n;
		break;
	case '\\':
		if ((n = backslash(in, len, cp)))
			return n;
		break;
	case '[':
		if (len >= 8 && memcmp(in, "[member]", 8) == 0) {
			*sep = true;
			return 8;
		}
		/* fall through */
	case '(':
	case '{':
		if ((n = defang_word(in, len))) {
			*sep = true;
			return n;
		}
		break;
	}
	n = utf8_decode(in, len, cp);
	if (n == 0) {
		*cp = OPAQUE;
		n = 1;
	}
	return n;
}

/* The letter a confusable separator @ci spells (cp_info.alt), in @tmp. */
static const struct cp_info *as_letter(const struct cp_info *ci, struct cp_info *tmp)
{
	uint32_t alt = ci->alt;

	memset(tmp, 0, sizeof(*tmp));
	tmp->kind = K_WORD;
	tmp->cls = C_OTHER;
	tmp->n = 1;
	tmp->s[0] = alt;
	return tmp;
}

/* Whether next_unit() may read more than the byte @c itself (markup, escapes, defanging). */
static inline bool markup_start(uint8_t c)
{
	return c == '<' || c == '&' || c == '%' || c == '\\' || c == '[' || c == '(' || c == '{';
}

/* The boundary scanner's memory of the last two word units. */
struct bstate {
	unsigned pend;	       /* boundary owed to the next word unit */
	unsigned cls1;	       /* class of the previous word unit (C_OTHER after a separator) */
	unsigned cls2;	       /* and of the one before it */
	size_t start1;	       /* skeleton index of the previous word unit's first code point */
	unsigned prev_is_zero; /* previous unit was '0' at a boundary ("0x...", "id0x...") */
	unsigned prev_is_0x;   /* previous two units were "0x" at a boundary */
	unsigned gives;	       /* POLICY_SKEL_CPS: what the previous unit gives (cps_bnd()) */
};

static bool is_cjk(unsigned cls)
{
	return cls == C_IDEO || cls == C_KANA;
}

/* Whether word unit @ci is an 'x' (the skeleton of 'x', 'X', 'ｘ', Cyrillic 'х'...). */
static bool is_x(const struct cp_info *ci)
{
	return ci->n == 1 && ci->s[0] == 'x';
}

static void word_unit(struct policy_skel_text *t, struct bstate *b, const struct cp_info *ci,
		      size_t from, size_t to)
{
	uint8_t bnd;

	/*
	 * Japanese words (enum cp_class): HARD before a C_IDEO unit and the first of a C_KANA
	 * run, and owed after each (b->pend, so that the table loops, which never see these,
	 * give the next unit its HARD boundary); a kana that continues a run takes that back.
	 * The run continues only when no other unit came between: every separator and every
	 * other word unit sets cls1.
	 */
	if (ci->cls == C_KANA && b->cls1 == C_KANA)
		b->pend = POLICY_SKEL_NONE;
	else if (is_cjk(ci->cls))
		b->pend = POLICY_SKEL_HARD;
	bnd = (uint8_t)b->pend;

	if (bnd == POLICY_SKEL_NONE) {
		if ((b->cls1 == C_LOWER && ci->cls == C_UPPER) ||
		    ((b->cls1 == C_DIGIT) != (ci->cls == C_DIGIT)))
			bnd = POLICY_SKEL_SOFT;
		if (b->prev_is_0x) /* "0x" is a prefix, not part of the number */
			bnd = POLICY_SKEL_HARD;
		/* "CERTAlpha": the boundary is before the last capital of a run */
		if (b->cls2 == C_UPPER && b->cls1 == C_UPPER && ci->cls == C_LOWER &&
		    t->bnd[b->start1] == POLICY_SKEL_NONE)
			t->bnd[b->start1] = POLICY_SKEL_SOFT;
	}
	/* any spelling of "0x" ("０ｘ"): a digit zero, then a letter whose skeleton is 'x' */
	b->prev_is_0x = b->prev_is_zero && is_x(ci);
	b->prev_is_zero =
		bnd != POLICY_SKEL_NONE && ci->cls == C_DIGIT && ci->n == 1 && ci->s[0] == 'o';
	b->start1 = t->len;
	for (size_t k = 0; k < ci->n; k++) {
		t->cp[t->len] = ci->s[k];
		t->from[t->len] = from;
		t->to[t->len] = to;
		t->bnd[t->len] = k == 0 ? bnd : POLICY_SKEL_NONE;
		t->len++;
	}
	b->cls2 = b->cls1;
	b->cls1 = ci->cls;
	b->pend = is_cjk(ci->cls) ? POLICY_SKEL_HARD : POLICY_SKEL_NONE;
}

/*
 * A word unit in POLICY_SKEL_CPS mode: its code points and its first byte only; b->pend is
 * HARD exactly at the start and after a separator (nothing else sets it in this mode), so
 * the first code point's bnd marks a place where policy_skeleton_map() may start afresh.
 */
/*
 * POLICY_SKEL_CPS's boundaries. word_unit() puts none before a unit that follows another
 * word unit without a separator when: it is lower case or uncased and the previous unit is
 * not a digit ("Ph", "ab"), or it is a digit after a digit ("30"); unless the previous unit
 * ends "0x" (then HARD), and only an upper-case unit can be raised later ("CERTAlpha"). A
 * unit's class says which it @needs (CPS_AFTER_WORD, CPS_AFTER_DIGIT or 0 for an upper-case
 * one) and what it @gives the next (CPS_AFTER_WORD unless a digit or an 'x', CPS_AFTER_DIGIT
 * for a digit); NONE exactly when the two meet, so every boundary word_unit() may put is
 * SOFT or HARD here.
 */
#define CPS_AFTER_WORD 1u
#define CPS_AFTER_DIGIT 2u

static unsigned cps_needs(unsigned cls)
{
	if (is_cjk(cls))
		return 0;
	return cls == C_UPPER ? 0 : cls == C_DIGIT ? CPS_AFTER_DIGIT : CPS_AFTER_WORD;
}

/*
 * A C_IDEO or C_KANA unit needs and gives nothing: SOFT before and after every one (a superset
 * of word_unit()'s HARD boundaries around them; HARD here stays "after a separator", where
 * mapping may start afresh).
 */
static unsigned cps_gives(unsigned cls, uint32_t raw)
{
	if (is_cjk(cls))
		return 0;
	if (cls == C_DIGIT)
		return CPS_AFTER_DIGIT;
	return raw == 'x' || raw == 'X' ? 0 : CPS_AFTER_WORD;
}

static uint8_t cps_bnd(struct bstate *b, unsigned cls, uint32_t raw)
{
	uint8_t bnd = b->pend			    ? POLICY_SKEL_HARD
		      : (cps_needs(cls) & b->gives) ? POLICY_SKEL_NONE
						    : POLICY_SKEL_SOFT;

	b->pend = POLICY_SKEL_NONE;
	b->gives = cps_gives(cls, raw);
	return bnd;
}

static void cps_unit(struct policy_skel_text *t, struct bstate *b, const struct cp_info *ci,
		     uint32_t raw, size_t from)
{
	/* every 'x' gives nothing: word_unit() may end a "0x" prefix at it */
	uint8_t bnd = cps_bnd(b, ci->cls, is_x(ci) ? 'x' : raw);

	for (size_t k = 0; k < ci->n; k++) {
		t->cp[t->len] = ci->s[k];
		t->from[t->len] = from;
		t->bnd[t->len] = k == 0 ? bnd : POLICY_SKEL_NONE;
		t->len++;
	}
}

/*
 * The unit at @in (@len > 0 bytes), a byte the table leaves to the general path: its length
 * when the general path reads it as a separator and nothing else (one byte, or "[member]"),
 * else 0. Out of line: the table loop keeps its registers.
 */
static __attribute__((noinline)) size_t ascii_separator(const struct policy_skeleton *sk,
							const uint8_t *in, size_t len)
{
	uint32_t x;
	bool sep;
	size_t n;

	if (in[0] >= 0x80 || !markup_start(in[0]))
		return 0;
	n = next_unit(in, len, 0, &x, &sep);
	if (n == 8 && sep && memcmp(in, "[member]", 8) == 0)
		return 8;
	if (n != 1 || sep || x != in[0] || sk->latin[x].kind != K_SEP || sk->latin[x].alt)
		return 0;
	return 1;
}

/*
 * The table loop of policy_skeleton_map()'s POLICY_SKEL_CPS mode, writing bytes instead of a
 * text. A byte the table leaves to the general path (CPS_SLOW) is read here only when
 * next_unit() makes it a unit of its own that the general path turns into a plain separator
 * (a '(' that starts no defang word, a '%' without hex digits...), or when it starts
 * "[member]": exactly the cases in which the general path sets nothing but b.pend and counts
 * nothing in n_decoded. Everything else gives up.
 */
long policy_skeleton_ascii(const struct policy_skeleton *sk, const char *text, size_t len,
			   uint8_t *cp, uint8_t *bnd, uint32_t *at)
{
	const uint8_t *in = (const uint8_t *)text;
	const uint32_t *tab = sk->ascii;
	uint32_t prev = ASCII_SEP; /* a HARD boundary owed at the start, as b.pend there */
	size_t o = 0;

	if (len > UINT32_MAX)
		return -1;
	for (size_t i = 0; i < len; i++) {
		uint32_t e = tab[in[i]];

		if (e & ASCII_SLOW) {
			size_t n = ascii_separator(sk, in + i, len - i);

			if (n == 0)
				return -1;
			i += n - 1;
			prev = ASCII_SEP;
			continue;
		}
		/* written for a separator too (o < len), and overwritten by the next code point */
		cp[o] = (uint8_t)e;
		at[o] = (uint32_t)i;
		bnd[o] = sk->ascii_bnd[(prev >> 11 & 7) << 2 | (e >> 9 & 3)];
		o += e >> 8 & 1;
		prev = e;
	}
	return (long)o;
}

/*
 * The first look's filter. A gram's key holds its code points one byte each, the first in the
 * lowest byte (4 code points are the low 32 bits, 8 the whole word: the reading's bytes
 * loaded as a little-endian word), and a short gram has its length in the top byte. A gram
 * sets (and a lookup tests) two bits of one word, so a lookup is one load: a multiply, the
 * word from the top bits, which every bit of the key reaches, the two bits from bits 40 to
 * 51, below them. ANY4, asked at every boundary, has the first LOOK_ANY4_WORDS words (8 KiB) to itself
 * and hashes without a salt: that part is all a view naming nobody touches (but where ANY4
 * passes), so it stays in the first-level cache between views where the whole would not.
 * The other classes, asked only where ANY4 passed (and the rare short pattern), share the
 * rest, each with its own salt.
 */
#define LOOK_ANY4_BITS 10
#define LOOK_REST_BITS 11
#define LOOK_ANY4_WORDS (1u << LOOK_ANY4_BITS)
_Static_assert(LOOK_ANY4_WORDS + (1u << LOOK_REST_BITS) == POLICY_SKEL_LOOK_WORDS,
	       "POLICY_SKEL_LOOK_WORDS");

static const uint64_t look_salt[4] = {0x243F6A8885A308D3ull, 0, 0xA4093822299F31D0ull,
				      0x082EFA98EC4E6C89ull};

static inline uint64_t look_hash(uint64_t key, unsigned cls)
{
	return (key ^ look_salt[cls]) * 0x9E3779B97F4A7C15ull;
}

static inline size_t look_word(uint64_t h, unsigned cls)
{
	return cls == POLICY_SKEL_LOOK_ANY4
		       ? (size_t)(h >> (64 - LOOK_ANY4_BITS))
		       : LOOK_ANY4_WORDS + (size_t)(h >> (64 - LOOK_REST_BITS));
}

static inline uint64_t look_bits(uint64_t h)
{
	return 1ull << (h >> 40 & 63) | 1ull << (h >> 46 & 63);
}

static inline bool look_has(const struct policy_skel_look *f, uint64_t key, unsigned cls)
{
	uint64_t h = look_hash(key, cls), w = f->w[look_word(h, cls)];

	/* look_bits()'s two bits; as rotations, so that BMI2's rorx takes them without a copy */
	return w >> ((h >> 40 | h << 24) & 63) & w >> ((h >> 46 | h << 18) & 63) & 1;
}

static void look_put(struct policy_skel_look *f, uint64_t key, unsigned cls)
{
	uint64_t h = look_hash(key, cls);

	f->w[look_word(h, cls)] |= look_bits(h);
}

/* The key of the first 4 code points at @c, of the first 8, of the first @l < 4. */
static uint64_t look_key4(const uint8_t *c)
{
	return (uint64_t)c[0] | (uint64_t)c[1] << 8 | (uint64_t)c[2] << 16 | (uint64_t)c[3] << 24;
}

static uint64_t look_key8(const uint8_t *c)
{
	return look_key4(c) | look_key4(c + 4) << 32;
}

static inline uint64_t look_key_short(uint64_t key4, size_t l)
{
	return (key4 & ((1ull << 8 * l) - 1)) | (uint64_t)l << 56;
}

void policy_skel_look_add(struct policy_skel_look *f, const uint32_t *c, size_t key_len)
{
	size_t n = key_len < 8 ? key_len : 8;
	uint8_t a[8] = {0};

	for (size_t i = 0; i < n; i++) {
		if (c[i] >= 0x80)
			return;
		a[i] = (uint8_t)c[i];
	}
	if (key_len < 4) {
		look_put(f, look_key_short(look_key4(a), key_len), POLICY_SKEL_LOOK_SHORT);
		f->short_lens |= 1u << key_len;
		return;
	}
	look_put(f, look_key4(a), POLICY_SKEL_LOOK_ANY4);
	if (key_len < 8)
		look_put(f, look_key4(a), POLICY_SKEL_LOOK_UPTO7);
	else
		look_put(f, look_key8(a), POLICY_SKEL_LOOK_LONG8);
}

/*
 * The look's reading (struct policy_skel_seen): the fields' code points joined, without the
 * separators, one byte each: the code point (all ASCII) and LOOK_BND where it has a boundary
 * (POLICY_SKEL_CPS's: after a separator or the start of a field, where mapping may start
 * afresh, or where the code point before does not give what this one needs, cps_bnd()).
 * Zeros follow the last, so that a gram read past the end holds no code point.
 */
#define LOOK_BND 0x80u
#define LOOK_CPS4 0x7F7F7F7Full
#define LOOK_CPS8 0x7F7F7F7F7F7F7F7Full

/* The 8 bytes of the reading at @c as a word, the first in the lowest byte. */
static inline uint64_t look_load8(const uint8_t *c)
{
	uint64_t y;

	memcpy(&y, c, 8);
	return y;
}

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
/* The AVX2 lane: compiled for its target alone, chosen at run time (look_lanes()). */
#if defined(__SSE2__) && defined(__x86_64__) && defined(__GNUC__)
#define LOOK_AVX2 1
#include <immintrin.h>
#define LOOK_AVX2_TARGET __attribute__((target("avx2,bmi,bmi2,popcnt")))
#define LOOK_AVX2_INLINE inline __attribute__((always_inline, target("avx2,bmi,bmi2,popcnt")))
#endif

#if defined(__SSE2__)
/* The top bits of the 16 bytes at @c. */
static inline uint64_t look_top16(const uint8_t *c)
{
	return (unsigned)_mm_movemask_epi8(_mm_loadu_si128((const __m128i *)c));
}
#endif

/* The boundaries among the 64 bytes at @c as bits, the first lowest; @portable: without
 * SIMD (as a build without SSE2 takes them; the byte loop's look does too, so tests run it). */
static inline uint64_t look_bnd64(const uint8_t *c, bool portable)
{
	uint64_t b = 0;

#if defined(__SSE2__)
	if (!portable) {
		/* written out: GCC kept a loop over the four (~10 instructions more a call) */
		return look_top16(c) | look_top16(c + 16) << 16 | look_top16(c + 32) << 32 |
		       look_top16(c + 48) << 48;
	}
#endif
	/* each byte's bit 7 to one bit of the top byte, no two products reaching the same */
	for (unsigned k = 0; k < 64; k += 8)
		b |= ((look_load8(c + k) & 0x8080808080808080ull) * 0x0002040810204081ull >> 56)
		     << k;
	return b;
}

/* The field of code point @j (fields in order; an empty one holds none). */
static size_t look_field(const struct policy_skel_seen *g, size_t n, size_t j)
{
	size_t f = 0;

	while (f + 1 < n && j >= g->fe[f])
		f++;
	return f;
}

/* A gram of @l code points passed at code point @j of field @f: listed, or crossing when it
 * runs past the field's end. */
static void look_pass(struct policy_skel_seen *g, size_t f, size_t j, size_t l)
{
	if (j + l > g->fe[f]) {
		g->crossing = true;
		return;
	}
	if (g->n_hits > 0 && g->n_hits <= POLICY_SKEL_LOOK_HITS && g->hits[g->n_hits - 1] == j)
		return;
	if (g->n_hits < POLICY_SKEL_LOOK_HITS)
		g->hits[g->n_hits] = (uint32_t)j;
	if (g->n_hits <= POLICY_SKEL_LOOK_HITS)
		g->n_hits++;
}

/* The @r (1 to 7) code points from @p, then those of field @b's head, up to 8, as a key
 * (the first lowest, zeros after: look_key8()'s); into *@m how many there are in all (@r
 * and all of @b's). Words read past a field stay in the reading (zeros follow its end). */
POLICY_HOT
static uint64_t look_pair_key(const struct policy_skel_seen *g, size_t p, size_t r, size_t b,
			      size_t *m)
{
	size_t hl = g->fe[b] - g->fs[b];
	uint64_t head = look_load8(g->c + g->fs[b]) & LOOK_CPS8;

	if (hl < 8)
		head &= (1ull << 8 * hl) - 1;
	*m = r + hl;
	return (look_load8(g->c + p) & LOOK_CPS8 & ((1ull << 8 * r) - 1)) | head << 8 * r;
}

/*
 * Code point @j's 4 passed ANY4: the classes behind it, read on across the fields and, when
 * its 8 run past its field's end (4 to 7 left in it; fewer: look_pairs()), into the head of
 * every other field but the next.
 */
POLICY_HOT
static __attribute__((noinline)) void look_more(const struct policy_skel_look *f,
						struct policy_skel_seen *g, size_t n, size_t j)
{
	size_t k = look_field(g, n, j), fe = g->fe[k];
	uint64_t y = look_load8(g->c + j) & LOOK_CPS8;

	if (j + 4 > g->o)
		return; /* the end of the text read in the word: no gram */
	if (look_has(f, y & LOOK_CPS4, POLICY_SKEL_LOOK_UPTO7))
		look_pass(g, k, j, 4);
	if (j + 8 <= g->o && look_has(f, y, POLICY_SKEL_LOOK_LONG8))
		look_pass(g, k, j, 8);
	for (size_t b = 0; j + 4 <= fe && j + 8 > fe && b < n && !g->crossing; b++) {
		size_t m;
		uint64_t key;

		if (b == k || b == k + 1)
			continue;
		key = look_pair_key(g, j, fe - j, b, &m);
		if (m >= 8 && look_has(f, key, POLICY_SKEL_LOOK_LONG8))
			g->crossing = true;
	}
}

/* Code point @j's short grams that pass, as bit l for l code points. */
static unsigned look_short(const struct policy_skel_look *f, const struct policy_skel_seen *g,
			   size_t j)
{
	uint64_t y = look_load8(g->c + j) & LOOK_CPS4;
	unsigned pass = 0;

	for (size_t l = 1; l < 4 && j + l <= g->o; l++)
		if ((f->short_lens >> l & 1) &&
		    look_has(f, look_key_short(y, l), POLICY_SKEL_LOOK_SHORT))
			pass |= 1u << l;
	return pass;
}

/*
 * The pairs from the last 3 code points of each field @a (r of them to its end, from a
 * boundary) on into the head of every other field @b but the next: the grams of 4 and 8 that
 * start there cross into @b, and the short ones longer than r. (From 4 to 7 before the end,
 * the 4 code points are inside @a, asked in the joined reading: look_more() goes on from
 * there only where they passed.) Sets @g->crossing when one passes.
 */
POLICY_HOT
static void look_pairs(const struct policy_skel_look *f, struct policy_skel_seen *g, size_t n)
{
	bool cross = false;
	uint32_t tails = 0;

	/*
	 * Most views have no boundary among any field's last 3 code points: asked first of all
	 * the fields at once, from a word of each (its top bits; the byte at the end and any
	 * before the field's start are taken too: more places, never fewer), and such a view
	 * asks nothing else.
	 */
	for (size_t a = 0; a < n; a++) {
		uint32_t y;

		if (g->fe[a] < 3) {
			tails = LOOK_BND;
			break;
		}
		memcpy(&y, g->c + g->fe[a] - 3, 4);
		tails |= y;
	}
	if (!(tails & 0x808080u))
		return;
	for (size_t a = 0; a < n; a++) {
		size_t fs = g->fs[a], fe = g->fe[a], k = fe - fs < 3 ? fe - fs : 3;
		unsigned tb = 0; /* bit r: a boundary r code points before the end */

		if (fe >= 3) {
			/* the top bits of the 3 before the end, those before the field masked */
			uint32_t y;

			memcpy(&y, g->c + fe - 3, 4);
			tb = ((y >> 7 & 1) << 3 | (y >> 15 & 1) << 2 | (y >> 23 & 1) << 1) &
			     ((2u << k) - 2);
		} else {
			for (size_t r = 1; r <= k; r++)
				tb |= (unsigned)(g->c[fe - r] >> 7) << r;
		}
		for (; tb; tb &= tb - 1) {
			size_t r = (size_t)__builtin_ctz(tb);

			for (size_t b = 0; b < n; b++) {
				size_t m;
				uint64_t key;

				if (b == a || b == a + 1)
					continue;
				key = look_pair_key(g, fe - r, r, b, &m);
				cross |= m >= 4 &&
					 look_has(f, key & LOOK_CPS4, POLICY_SKEL_LOOK_ANY4) &&
					 (look_has(f, key & LOOK_CPS4, POLICY_SKEL_LOOK_UPTO7) ||
					  (m >= 8 && look_has(f, key, POLICY_SKEL_LOOK_LONG8)));
				for (size_t l = r + 1; f->short_lens && l < 4 && l <= m; l++)
					cross |= (f->short_lens >> l & 1) &&
						 look_has(f, look_key_short(key & LOOK_CPS4, l),
							  POLICY_SKEL_LOOK_SHORT);
			}
		}
	}
	g->crossing |= cross;
}

/*
 * The look itself, over @g's reading of @n fields: ANY4 at each boundary (the boundaries
 * taken from the bytes' top bits, 64 at a time, in order: one loop exit, mispredicted, each
 * 64 code points rather than each few), the classes behind it where it passed, short grams,
 * pairs.
 */
static inline __attribute__((always_inline)) int
look_core_in(const struct policy_skel_look *f, struct policy_skel_seen *g, size_t n, bool portable)
{
	/* room for a block's 64 places past the list's end, cut after each block */
	uint16_t cand[POLICY_SKEL_LOOK_HITS + 64], shorts[POLICY_SKEL_LOOK_HITS];
	size_t o = g->o, n_cand = 0, n_shorts = 0;
	bool many = false;

	g->n_hits = 0;
	for (size_t i = 0; i < o; i += 64) {
		/*
		 * Each place is written, and counted only when it passed, without a branch on the
		 * verdict: which places pass is the data's, so a branch on it was mispredicted at
		 * each pass, late (on a filter word often not in the first-level cache), throwing
		 * away the probes begun after it.
		 */
		for (uint64_t b = look_bnd64(g->c + i, portable); b; b &= b - 1) {
			size_t j = i + (size_t)__builtin_ctzll(b);

			cand[n_cand] = (uint16_t)j;
			n_cand += look_has(f, look_load8(g->c + j) & LOOK_CPS4,
					   POLICY_SKEL_LOOK_ANY4);
		}
		many |= n_cand > POLICY_SKEL_LOOK_HITS; /* more than can be listed */
		n_cand = n_cand < POLICY_SKEL_LOOK_HITS ? n_cand : POLICY_SKEL_LOOK_HITS;
	}
	g->crossing = many;
	for (size_t i = 0; f->short_lens && i < o; i += 64)
		for (uint64_t b = look_bnd64(g->c + i, portable); b; b &= b - 1) {
			size_t j = i + (size_t)__builtin_ctzll(b);

			if (!look_short(f, g, j))
				continue;
			if (n_shorts == POLICY_SKEL_LOOK_HITS)
				g->crossing = true;
			else
				shorts[n_shorts++] = (uint16_t)j;
		}
	/* both lists in order, so that the hits are (no short pattern: the one list) */
	for (size_t a = 0; n_shorts == 0 && a < n_cand; a++)
		look_more(f, g, n, cand[a]);
	for (size_t a = 0, b = 0; n_shorts > 0 && (a < n_cand || b < n_shorts);) {
		size_t j =
			b == n_shorts || (a < n_cand && cand[a] <= shorts[b]) ? cand[a] : shorts[b];

		if (a < n_cand && cand[a] == j) {
			look_more(f, g, n, j);
			a++;
		}
		if (b < n_shorts && shorts[b] == j) {
			size_t k = look_field(g, n, j);

			for (unsigned l = look_short(f, g, j); l; l &= l - 1)
				look_pass(g, k, j, (size_t)__builtin_ctz(l));
			b++;
		}
	}
	look_pairs(f, g, n);
	return g->n_hits > 0 || g->crossing;
}

static int look_core(const struct policy_skel_look *f, struct policy_skel_seen *g, size_t n)
{
	return look_core_in(f, g, n, false);
}

static int look_core_portable(const struct policy_skel_look *f, struct policy_skel_seen *g,
			      size_t n)
{
	return look_core_in(f, g, n, true);
}

#if defined(LOOK_AVX2)
/* look_core() after the AVX2 lane read (the CPU has BMI1 and BMI2): each boundary's probe
 * shifts by shrx, and the boundaries are taken by tzcnt and blsr (19 instructions, not ~25). */
POLICY_HOT
static LOOK_AVX2_TARGET int look_core_bmi2(const struct policy_skel_look *f,
					   struct policy_skel_seen *g, size_t n)
{
	return look_core_in(f, g, n, false);
}
#endif

/* The byte loop's place in a field: the next byte, the reading's end, the entry of the byte
 * before when it gave a code point (else 0: a separator, a unit of several bytes, the start). */
struct look_bytes {
	size_t i, o;
	unsigned prev;
};

/*
 * The portable reading, and the general one: a byte at a time through @sk->grams, a byte the
 * table leaves to ascii_separator() read there (its unit whole, so @b->i may end past @end).
 * Field @in's bytes from @b->i up to @end, their code points appended to @c at @b->o.
 * Returns 0, or -1 when policy_skeleton_ascii() refuses the field.
 */
static int look_read_bytes(const struct policy_skeleton *sk, const uint8_t *in, size_t len,
			   size_t end, uint8_t *c, struct look_bytes *b)
{
	size_t i = b->i, o = b->o;
	unsigned prev = b->prev;

	for (; i < end; i++) {
		unsigned v = sk->grams[in[i]], joined;

		if (v & GRAMS_SLOW) {
			size_t m = ascii_separator(sk, in + i, len - i);

			if (m == 0)
				return -1;
			i += m - 1;
			prev = 0;
			continue;
		}
		/* a separator's byte is written too, and overwritten by the next code point */
		joined = prev & ((v >> 1 & prev >> 3 & 3) != 0);
		c[o] = (uint8_t)(v >> 8 | (joined ? 0 : LOOK_BND));
		o += v & GRAMS_CP;
		prev = v & GRAMS_CP ? v : 0;
	}
	b->i = i;
	b->o = o;
	b->prev = prev;
	return 0;
}

#if defined(__SSE2__)
/*
 * The SSE2 lane: 16 bytes classified at a time by comparisons (SSE2 has no byte shuffle for
 * a table), as @sk->grams classifies them, and the code points moved together over the
 * separators. Its code points: a letter lower-cased, 'i' and 'I' as 'l', '0' as 'o', '1'
 * as 'l', other digits themselves; every other byte a separator, but for those it leaves to
 * the byte loop (@slow): every byte >= 0x80 and those that bit 5 set makes '%', '&', '(',
 * '<', '{' or '|' (the markup starts, '|', and a few control bytes besides). Those rules
 * are TR39's for ASCII as ICU gives them; look_lane_agrees() checks them against the table
 * when the context is built, and where they differ the lane is not used.
 */
struct look_lane {
	__m128i letter, up, lo, dg, x, canon, slow;
};

static inline void look_lane16(__m128i v, struct look_lane *r)
{
	/* bit 5 set: lower case for a letter, and every digit has it */
	__m128i u = _mm_or_si128(v, _mm_set1_epi8(0x20)), low, li, slow;

	/* ranges as signed comparisons: moved to start at -128 (bytes >= 0x80 fall outside) */
	r->letter = _mm_cmplt_epi8(_mm_add_epi8(u, _mm_set1_epi8((char)(0x80 - 'a'))),
				   _mm_set1_epi8((char)(-128 + 26)));
	r->dg = _mm_cmplt_epi8(_mm_add_epi8(v, _mm_set1_epi8((char)(0x80 - '0'))),
			       _mm_set1_epi8((char)(-128 + 10)));
	low = _mm_cmpeq_epi8(_mm_and_si128(v, _mm_set1_epi8(0x20)), _mm_set1_epi8(0x20));
	r->up = _mm_andnot_si128(low, r->letter);
	r->lo = _mm_and_si128(low, r->letter);
	r->x = _mm_cmpeq_epi8(u, _mm_set1_epi8('x'));
	li = _mm_or_si128(_mm_cmpeq_epi8(u, _mm_set1_epi8('i')),
			  _mm_cmpeq_epi8(u, _mm_set1_epi8('1')));
	r->canon = _mm_or_si128(_mm_andnot_si128(li, u), _mm_and_si128(li, _mm_set1_epi8('l')));
	r->canon = _mm_add_epi8(r->canon, _mm_and_si128(_mm_cmpeq_epi8(u, _mm_set1_epi8('0')),
							_mm_set1_epi8('o' - '0')));
	slow = _mm_or_si128(_mm_cmpeq_epi8(u, _mm_set1_epi8('%')),
			    _mm_cmpeq_epi8(u, _mm_set1_epi8('&')));
	slow = _mm_or_si128(slow, _mm_cmpeq_epi8(u, _mm_set1_epi8('(')));
	slow = _mm_or_si128(slow, _mm_cmpeq_epi8(u, _mm_set1_epi8('<')));
	slow = _mm_or_si128(slow, _mm_cmpeq_epi8(u, _mm_set1_epi8('{')));
	slow = _mm_or_si128(slow, _mm_cmpeq_epi8(u, _mm_set1_epi8('|')));
	r->slow = _mm_or_si128(slow, _mm_cmplt_epi8(v, _mm_setzero_si128()));
}

/* The carries of a field's reading from one 16 bytes to the next (the byte before gives
 * CPS_AFTER_WORD, CPS_AFTER_DIGIT), and the bytes of the last 16 left to the byte loop. */
struct look_carry {
	__m128i word, digit, slow;
};

/*
 * The 16 bytes @v, those of lanes @keep of them in the field, appended to @c at @o; returns
 * the new end (and in @k->slow the lanes of @keep left to the byte loop: then what was
 * stored is the byte loop's to write again). Boundaries: none where a lower-case letter
 * follows a letter that is no 'x' or 'X', or a digit follows a digit (cps_needs(),
 * cps_gives()); every other code point has one, the first of the field too. Each code
 * point then moves down by the number of separators before it among the 16, in steps of 1,
 * 2, 4 and 8 bytes (its count's bits, lowest first: no two meet, and the order stays), and
 * all 16 are stored at the end (past the code points, zeros: overwritten by the next 16,
 * or the zeros after the reading).
 */
static inline size_t look_block(__m128i v, __m128i keep, struct look_carry *k, uint8_t *c, size_t o)
{
	struct look_lane r;
	__m128i cp, word, nob, val, sep, d, m;

	look_lane16(v, &r);
	k->slow = _mm_and_si128(r.slow, keep);
	cp = _mm_and_si128(_mm_or_si128(r.letter, r.dg), keep);
	word = _mm_andnot_si128(r.x, r.letter);
	nob = _mm_or_si128(_mm_and_si128(r.lo, _mm_or_si128(_mm_slli_si128(word, 1),
							    _mm_srli_si128(k->word, 15))),
			   _mm_and_si128(r.dg, _mm_or_si128(_mm_slli_si128(r.dg, 1),
							    _mm_srli_si128(k->digit, 15))));
	k->word = word;
	k->digit = r.dg;
	val = _mm_and_si128(
		_mm_or_si128(r.canon, _mm_andnot_si128(nob, _mm_set1_epi8((char)LOOK_BND))), cp);
	/* the separators up to each byte: a code point's count is those before it */
	sep = _mm_andnot_si128(cp, _mm_set1_epi8(1));
	sep = _mm_add_epi8(sep, _mm_slli_si128(sep, 1));
	sep = _mm_add_epi8(sep, _mm_slli_si128(sep, 2));
	sep = _mm_add_epi8(sep, _mm_slli_si128(sep, 4));
	sep = _mm_add_epi8(sep, _mm_slli_si128(sep, 8));
	d = _mm_and_si128(sep, cp);
#define LOOK_STEP(s)                                                                            \
	m = _mm_cmpeq_epi8(_mm_and_si128(d, _mm_set1_epi8(s)), _mm_set1_epi8(s));               \
	val = _mm_or_si128(_mm_andnot_si128(m, val), _mm_srli_si128(_mm_and_si128(m, val), s)); \
	d = _mm_or_si128(_mm_andnot_si128(m, d), _mm_srli_si128(_mm_and_si128(m, d), s))
	LOOK_STEP(1);
	LOOK_STEP(2);
	LOOK_STEP(4);
#undef LOOK_STEP
	m = _mm_cmpeq_epi8(_mm_and_si128(d, _mm_set1_epi8(8)), _mm_set1_epi8(8));
	val = _mm_or_si128(_mm_andnot_si128(m, val), _mm_srli_si128(_mm_and_si128(m, val), 8));
	_mm_storeu_si128((__m128i *)(c + o), val);
	return o + 16 - ((unsigned)_mm_extract_epi16(sep, 7) >> 8);
}

/* The @len <= 16 bytes at @in, then zeros, as 16 bytes (loads of 8 or 4 that overlap: the
 * bytes are never stored and loaded again in pieces). */
static inline __m128i look_load_short(const uint8_t *in, size_t len)
{
	uint64_t lo = 0, hi = 0;

	if (len >= 8) {
		memcpy(&lo, in, 8);
		/* the last 8 past the first (none at 8 bytes: masked), without a branch on the
		 * length */
		memcpy(&hi, in + len - 8, 8);
		hi = (hi >> (8 * (16 - len) & 63)) & (0 - (uint64_t)(len > 8));
	} else if (len >= 4) {
		uint32_t a, b;

		memcpy(&a, in, 4);
		memcpy(&b, in + len - 4, 4);
		lo = a | (uint64_t)b << 8 * (len - 4);
	} else {
		for (size_t i = 0; i < len; i++)
			lo |= (uint64_t)in[i] << 8 * i;
	}
	return _mm_set_epi64x((long long)hi, (long long)lo);
}

/*
 * The byte loop's entry for the byte before @i (> 0) of @in, which ends a unit: its table
 * entry when a code point, else 0 (a separator, or the last byte of a unit the loop read
 * whole: ']' of "[member]", or a markup byte alone, which the table marks GRAMS_SLOW).
 */
static unsigned look_entry_before(const struct policy_skeleton *sk, const uint8_t *in, size_t i)
{
	unsigned v = sk->grams[in[i - 1]];

	return (v & (GRAMS_CP | GRAMS_SLOW)) == GRAMS_CP ? v : 0;
}

/* 16 bytes that the byte loop read: the lane goes on from the byte before as it left it. */
static void look_carry_bytes(struct look_carry *k, unsigned prev)
{
	k->word = _mm_set1_epi8((char)(prev >> 3 & CPS_AFTER_WORD ? 0xFF : 0));
	k->digit = _mm_set1_epi8((char)(prev >> 3 & CPS_AFTER_DIGIT ? 0xFF : 0));
}

/*
 * Field @in (@len bytes) appended to @c from @o on by the lane; the new end, or -1 when
 * policy_skeleton_ascii() refuses the field. Every load lies inside the field: 16 bytes at
 * a time, and the last few as the last 16 of the field, the lanes read before left out. 16
 * bytes with a byte the lane leaves to the byte loop (markup, '|', >= 0x80) are read by that
 * loop instead (on to the end of a unit that runs past them), and the lane goes on after
 * them: a unit the loop reads whole is a separator, so the lane's carry is the loop's last
 * code point's (look_carry_bytes()), and the byte before the field's last 16 is read in
 * the lane as itself.
 */
static long look_read_lane(const struct policy_skeleton *sk, const uint8_t *in, size_t len,
			   uint8_t *c, size_t o)
{
	const __m128i iota = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
	struct look_carry k = {_mm_setzero_si128(), _mm_setzero_si128(), _mm_setzero_si128()};
	struct look_bytes b = {0, o, 0};
	size_t at;

	if (len < 16) {
		b.o = look_block(look_load_short(in, len),
				 _mm_cmplt_epi8(iota, _mm_set1_epi8((char)len)), &k, c, o);
		if (_mm_movemask_epi8(k.slow)) {
			b.o = o;
			if (look_read_bytes(sk, in, len, len, c, &b) != 0)
				return -1;
		}
		return (long)b.o;
	}
	while (b.i + 16 <= len) {
		at = b.o;
		b.o = look_block(_mm_loadu_si128((const __m128i *)(in + b.i)), _mm_set1_epi8(-1),
				 &k, c, at);
		if (!_mm_movemask_epi8(k.slow)) {
			b.i += 16;
			continue;
		}
		/* from the byte loop's view: the entry of the byte before, when a code point */
		b.o = at;
		b.prev = b.i > 0 ? look_entry_before(sk, in, b.i) : 0;
		if (look_read_bytes(sk, in, len, b.i + 16, c, &b) != 0)
			return -1;
		look_carry_bytes(&k, b.prev);
	}
	if (b.i < len) {
		at = b.o;
		b.o = look_block(_mm_loadu_si128((const __m128i *)(in + len - 16)),
				 _mm_cmpgt_epi8(iota, _mm_set1_epi8((char)(15 - (len - b.i)))), &k,
				 c, at);
		if (_mm_movemask_epi8(k.slow)) {
			b.o = at;
			b.prev = look_entry_before(sk, in, b.i);
			if (look_read_bytes(sk, in, len, len, c, &b) != 0)
				return -1;
		}
	}
	return (long)b.o;
}

/*
 * Whether a lane's classes of the 256 bytes (@cls: up, lo, dg, x, canon, slow, each by byte,
 * 0 or not as struct look_lane's lanes) are those @sk->grams gives.
 */
enum { LC_UP, LC_LO, LC_DG, LC_X, LC_CANON, LC_SLOW, LC_N };

static bool look_classes_agree(const struct policy_skeleton *sk, uint8_t cls[LC_N][256])
{
	for (unsigned i = 0; i < 256; i++) {
		unsigned v = sk->grams[i], up = cls[LC_UP][i], lo = cls[LC_LO][i],
			 dg = cls[LC_DG][i], canon = cls[LC_CANON][i];
		unsigned kinds = !!up + !!lo + !!dg;
		unsigned needs = up ? 0 : dg ? CPS_AFTER_DIGIT : CPS_AFTER_WORD;
		unsigned gives = dg ? CPS_AFTER_DIGIT : cls[LC_X][i] ? 0 : CPS_AFTER_WORD;

		if (v & GRAMS_SLOW) {
			if (!cls[LC_SLOW][i])
				return false;
		} else if (v & GRAMS_CP) {
			if (cls[LC_SLOW][i] || kinds != 1 || canon != (v >> 8) ||
			    canon >= LOOK_BND || needs != (v >> 1 & 3) || gives != (v >> 3 & 3))
				return false;
		} else if (kinds != 0) {
			return false;
		}
	}
	return true;
}

/* Whether the SSE2 lane classifies every byte as @sk->grams does (struct look_lane). */
static bool look_lane_agrees(const struct policy_skeleton *sk)
{
	uint8_t cls[LC_N][256];

	for (unsigned c0 = 0; c0 < 256; c0 += 16) {
		uint8_t in[16];
		struct look_lane r;

		for (unsigned i = 0; i < 16; i++)
			in[i] = (uint8_t)(c0 + i);
		look_lane16(_mm_loadu_si128((const __m128i *)in), &r);
		_mm_storeu_si128((__m128i *)(cls[LC_UP] + c0), r.up);
		_mm_storeu_si128((__m128i *)(cls[LC_LO] + c0), r.lo);
		_mm_storeu_si128((__m128i *)(cls[LC_DG] + c0), r.dg);
		_mm_storeu_si128((__m128i *)(cls[LC_X] + c0), r.x);
		_mm_storeu_si128((__m128i *)(cls[LC_CANON] + c0), r.canon);
		_mm_storeu_si128((__m128i *)(cls[LC_SLOW] + c0), r.slow);
	}
	return look_classes_agree(sk, cls);
}
#endif

#if defined(LOOK_AVX2)
/*
 * The AVX2 lane: the SSE2 lane's classes and boundaries (look_block()'s), 32 bytes a step,
 * each byte classified by table lookups rather than comparisons, and the code points moved
 * together by BMI2's pext, 8 bytes at a time with each 8's code points as its mask (no
 * separator counts, no shifting steps).
 *
 * The classes. A byte's low and high nibbles each look up a byte in a 16-entry table
 * (vpshufb), and the two are ANDed (C): each bit of C is then a set of bytes whose high
 * nibble is in one set and low nibble in another. C's bits: 'i' or 'I' (LN_I), '0', '1';
 * no bit 3 (below); a digit (LN_D), a letter from 'A'-'O' or 'a'-'o' (LN_W1), 'P'-'Z' or
 * 'p'-'z' but 'x' (LN_W2), 'x' or 'X' (LN_X). Exactly the code points have one of the top
 * four bits. From C, a second lookup each: by its low nibble (bit 7 of C, 'x', zeroes the
 * entry) what to XOR into the byte ORed with 0x20 (which lower-cases a letter and leaves a
 * digit) to give its code point: 'i' as 'l', '0' as 'o', '1' as 'l'; by its top four bits
 * (C shifted down 4 within 16-bit words: the byte above brings its low bits to bits 4-7,
 * which vpshufb ignores but for bit 7, the byte above's bit 3, never set) what the code point
 * gives the next (LOOK_G_WORD unless 'x', LOOK_G_DIGIT for a digit, with LOOK_G_CP: a code
 * point) and what it needs of the one before (cps_needs(): LOOK_G_DIGIT a digit, LOOK_G_WORD
 * a letter, kept by an AND with the byte itself only where bit 5, lower case, is set; a
 * digit has bit 4). No boundary where what a code point needs meets what the one before
 * gives. The bytes left to the byte loop are a third pair of lookups: bytes >= 0x80, and
 * those that bit 5 set makes '%', '&', '(', '<', '{' or '|' (the markup starts, '|', and a
 * few control bytes besides). Those rules are TR39's for ASCII as ICU gives them;
 * look_lane32_agrees() checks them against the table when the context is built, and where
 * they differ the lane is not used.
 */
#define LOOK_G_DIGIT 0x10u
#define LOOK_G_WORD 0x20u
#define LOOK_G_CP 0x80u

struct look_lane32 {
	/* 0xFF where a code point; its code point; LOOK_G_*; what it needs; slow: bit 7 */
	__m256i cp, canon, gives, needs, slow;
};

/*
 * The lane's constants and tables, each 16 bytes twice (vpshufb looks up within each half).
 * Read through a pointer the compiler cannot see through (look_k32_hidden()): GCC 12
 * builds a 32-byte splat of an immediate in three instructions, again in every block, where
 * a load is an operand.
 */
enum { K_0F, K_20, K_7F, K_BND, K_LO, K_HI, K_CANON, K_GIVES, K_NEEDS, K_SLO, K_SHI, K_N };

/* C's bits (above; LN_, not the SSE2 check's LC_ rows) */
#define LN_I 0x01u
#define LN_0 0x02u
#define LN_1 0x04u
#define LN_D 0x10u
#define LN_W1 0x20u
#define LN_W2 0x40u
#define LN_X 0x80u
/* the slow lookups' bits: "\x05\x06\x08%&(", "\x1c<", "[\\{|", >= 0x80 */
#define LS_A 0x01u
#define LS_B 0x02u
#define LS_C 0x04u
#define LS_HIGH 0x08u

#define LOOK_R16(...)                    \
	{                                \
		__VA_ARGS__, __VA_ARGS__ \
	}
#define LOOK_R32(b) LOOK_R16(b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b)
/* by low nibble: 'i' 9, '0' 0, '1' 1, digits 0-9, W1 1-15, W2 0-10 but 8, 'x' 8 */
#define LOOK_LO(l)                                                                              \
	(((l) == 9 ? LN_I : 0) | ((l) == 0 ? LN_0 : 0) | ((l) == 1 ? LN_1 : 0) |                \
	 ((l) <= 9 ? LN_D : 0) | ((l) >= 1 ? LN_W1 : 0) | ((l) <= 10 && (l) != 8 ? LN_W2 : 0) | \
	 ((l) == 8 ? LN_X : 0))
#define LOOK_HI(h)                                   \
	((h) == 3		? LN_0 | LN_1 | LN_D \
	 : (h) == 4 || (h) == 6 ? LN_I | LN_W1       \
	 : (h) == 5 || (h) == 7 ? LN_W2 | LN_X       \
				: 0)
/* by C's low nibble: what to XOR into the byte | 0x20 */
#define LOOK_CANON(i) \
	((i) == LN_I ? 'i' ^ 'l' : (i) == LN_0 ? '0' ^ 'o' : (i) == LN_1 ? '1' ^ 'l' : 0)
/* by C's top four bits */
#define LOOK_GIVES(i)                                                        \
	((i) == LN_D >> 4			  ? LOOK_G_CP | LOOK_G_DIGIT \
	 : (i) == LN_W1 >> 4 || (i) == LN_W2 >> 4 ? LOOK_G_CP | LOOK_G_WORD  \
	 : (i) == LN_X >> 4			  ? LOOK_G_CP                \
						  : 0)
#define LOOK_NEEDS(i)                                                                \
	((i) == LN_D >> 4					      ? LOOK_G_DIGIT \
	 : (i) == LN_W1 >> 4 || (i) == LN_W2 >> 4 || (i) == LN_X >> 4 ? LOOK_G_WORD  \
								      : 0)
#define LOOK_SLO(l)                                                               \
	(((l) == 5 || (l) == 6 || (l) == 8 ? LS_A : 0) | ((l) == 12 ? LS_B : 0) | \
	 ((l) == 11 || (l) == 12 ? LS_C : 0) | LS_HIGH)
#define LOOK_SHI(h)                       \
	((h) == 0 || (h) == 2	? LS_A    \
	 : (h) == 1 || (h) == 3 ? LS_B    \
	 : (h) == 5 || (h) == 7 ? LS_C    \
	 : (h) >= 8		? LS_HIGH \
				: 0)
#define LOOK_T16(F)                                                                               \
	LOOK_R16(F(0), F(1), F(2), F(3), F(4), F(5), F(6), F(7), F(8), F(9), F(10), F(11), F(12), \
		 F(13), F(14), F(15))
static const uint8_t look_k32[K_N][32] __attribute__((aligned(32))) = {
	[K_0F] = LOOK_R32(0x0F),	  [K_20] = LOOK_R32(0x20),
	[K_7F] = LOOK_R32(0x7F),	  [K_BND] = LOOK_R32(LOOK_BND),
	[K_LO] = LOOK_T16(LOOK_LO),	  [K_HI] = LOOK_T16(LOOK_HI),
	[K_CANON] = LOOK_T16(LOOK_CANON), [K_GIVES] = LOOK_T16(LOOK_GIVES),
	[K_NEEDS] = LOOK_T16(LOOK_NEEDS), [K_SLO] = LOOK_T16(LOOK_SLO),
	[K_SHI] = LOOK_T16(LOOK_SHI),
};
#undef LOOK_T16
#undef LOOK_SHI
#undef LOOK_SLO
#undef LOOK_NEEDS
#undef LOOK_GIVES
#undef LOOK_CANON
#undef LOOK_HI
#undef LOOK_LO
#undef LOOK_R32
#undef LOOK_R16
#undef LS_HIGH
#undef LS_C
#undef LS_B
#undef LS_A
#undef LN_X
#undef LN_W2
#undef LN_W1
#undef LN_D
#undef LN_1
#undef LN_0
#undef LN_I

static inline const uint8_t (*look_k32_hidden(void))[32]
{
	const uint8_t(*k)[32] = look_k32;

	__asm__("" : "+r"(k)); /* the values unknown here: loaded, not rebuilt */
	return k;
}

#define LOOK_K(i) _mm256_load_si256((const __m256i *)k[i])

static LOOK_AVX2_INLINE void look_lane32(__m256i v, const uint8_t (*k)[32], struct look_lane32 *r)
{
	__m256i lo = _mm256_and_si256(v, LOOK_K(K_0F));
	__m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), LOOK_K(K_0F));
	__m256i c = _mm256_and_si256(_mm256_shuffle_epi8(LOOK_K(K_LO), lo),
				     _mm256_shuffle_epi8(LOOK_K(K_HI), hi));
	__m256i top = _mm256_srli_epi16(c, 4);

	r->canon = _mm256_xor_si256(_mm256_or_si256(v, LOOK_K(K_20)),
				    _mm256_shuffle_epi8(LOOK_K(K_CANON), c));
	r->gives = _mm256_shuffle_epi8(LOOK_K(K_GIVES), top);
	r->needs = _mm256_and_si256(_mm256_shuffle_epi8(LOOK_K(K_NEEDS), top), v);
	r->cp = _mm256_cmpgt_epi8(_mm256_setzero_si256(), r->gives);
	r->slow = _mm256_adds_epu8(_mm256_and_si256(_mm256_shuffle_epi8(LOOK_K(K_SLO), lo),
						    _mm256_shuffle_epi8(LOOK_K(K_SHI), hi)),
				   LOOK_K(K_7F));
}

/* The carries of a field's reading from one 32 bytes to the next: what the last gives (byte
 * 31), and the bytes of @keep left to the byte loop (bit 7). */
struct look_carry32 {
	__m256i gives, slow;
};

/* Each byte of @x moved up by one, the first taking @before's last (across the halves). */
static LOOK_AVX2_INLINE __m256i look_prev32(__m256i x, __m256i before)
{
	return _mm256_alignr_epi8(x, _mm256_permute2x128_si256(x, before, 0x03), 15);
}

/* The 8 code points of @v among the bytes of mask @m (0xFF each) stored at @c + @o, moved
 * together (zeros after them); the new end. */
static LOOK_AVX2_INLINE size_t look_pext8(uint64_t v, uint64_t m, uint8_t *c, size_t o)
{
	uint64_t y = _pext_u64(v, m);

	memcpy(c + o, &y, 8);
	return o + ((size_t)__builtin_popcountll(m) >> 3);
}

/* look_block()'s, 32 bytes @v (those of lanes @keep in the field) at a time; into *@half
 * (unless NULL) the end after the lower 16 bytes' code points, into *@kept 0xFF for each of
 * the 32 bytes (@keep or not) that is a code point, for policy_skel_seen_reading(). */
static LOOK_AVX2_INLINE size_t look_block32(__m256i v, __m256i keep, const uint8_t (*k)[32],
					    struct look_carry32 *carry, uint8_t *c, size_t o,
					    size_t *half, __m256i *kept)
{
	struct look_lane32 r;
	__m256i cp, joined, val;
	__m128i v0, v1, m0, m1;

	look_lane32(v, k, &r);
	carry->slow = _mm256_and_si256(r.slow, keep);
	*kept = r.cp;
	cp = _mm256_and_si256(r.cp, keep);
	/* no boundary where what it needs meets what the byte before gives */
	joined = _mm256_and_si256(r.needs, look_prev32(r.gives, carry->gives));
	carry->gives = r.gives;
	/* only the code points' bytes are kept (pext): the others' values do not matter */
	val = _mm256_or_si256(
		r.canon,
		_mm256_and_si256(_mm256_cmpeq_epi8(joined, _mm256_setzero_si256()), LOOK_K(K_BND)));
	v0 = _mm256_castsi256_si128(val);
	v1 = _mm256_extracti128_si256(val, 1);
	m0 = _mm256_castsi256_si128(cp);
	m1 = _mm256_extracti128_si256(cp, 1);
	o = look_pext8((uint64_t)_mm_cvtsi128_si64(v0), (uint64_t)_mm_cvtsi128_si64(m0), c, o);
	o = look_pext8((uint64_t)_mm_extract_epi64(v0, 1), (uint64_t)_mm_extract_epi64(m0, 1), c,
		       o);
	if (half)
		*half = o;
	o = look_pext8((uint64_t)_mm_cvtsi128_si64(v1), (uint64_t)_mm_cvtsi128_si64(m1), c, o);
	return look_pext8((uint64_t)_mm_extract_epi64(v1, 1), (uint64_t)_mm_extract_epi64(m1, 1), c,
			  o);
}

/* The @len < 32 bytes at @in, then zeros, as 32 bytes (every load inside the field: the
 * bytes from 16 on loaded as the last 16 and moved down by a byte shuffle). */
static LOOK_AVX2_INLINE __m256i look_load_short32(const uint8_t *in, size_t len)
{
	const __m128i iota = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
	__m128i lo, hi, sh;

	if (len < 16)
		return _mm256_set_m128i(_mm_setzero_si128(), look_load_short(in, len));
	lo = _mm_loadu_si128((const __m128i *)in);
	hi = _mm_loadu_si128((const __m128i *)(in + len - 16));
	/* byte j of the upper half is byte 32 - len + j of the last 16; past them, zeros */
	sh = _mm_add_epi8(iota, _mm_set1_epi8((char)(32 - len)));
	sh = _mm_or_si128(sh, _mm_cmpgt_epi8(sh, _mm_set1_epi8(15)));
	return _mm256_set_m128i(_mm_shuffle_epi8(hi, sh), lo);
}

static LOOK_AVX2_TARGET void look_carry_bytes32(struct look_carry32 *k, unsigned prev)
{
	k->gives = _mm256_set1_epi8((char)((prev >> 3 & CPS_AFTER_WORD ? LOOK_G_WORD : 0) |
					   (prev >> 3 & CPS_AFTER_DIGIT ? LOOK_G_DIGIT : 0)));
}

/*
 * look_read_lane()'s, 32 bytes a step (the 32 bytes around a byte it leaves to the byte
 * loop by that loop; a field under 32 bytes, whole, when it has one); @k look_k32, @iota
 * the bytes 0 to 31. Which bytes are code points, by the lane's classes, into @kp from the
 * field's first byte on (struct policy_skel_seen's @k; up to 32 entries past the field's
 * bytes are written over, which the next field's overwrite); @bit OR'd into *@partial when
 * the byte loop read some of the field (then those entries are not its reading's).
 */
static LOOK_AVX2_INLINE long look_read_lane32(const struct policy_skeleton *sk, const uint8_t *in,
					      size_t len, const uint8_t (*k)[32], __m256i iota,
					      uint8_t *c, size_t o, uint8_t *kp, uint32_t *partial,
					      uint32_t bit)
{
	struct look_carry32 cy = {_mm256_setzero_si256(), _mm256_setzero_si256()};
	struct look_bytes b = {0, o, 0};
	__m256i kept;
	size_t at;

	if (len < 32) {
		b.o = look_block32(look_load_short32(in, len),
				   _mm256_cmpgt_epi8(_mm256_set1_epi8((char)len), iota), k, &cy, c,
				   o, NULL, &kept);
		_mm256_storeu_si256((__m256i *)kp, kept); /* zeros past the field's bytes */
		if (_mm256_movemask_epi8(cy.slow)) {
			b.o = o;
			*partial |= bit;
			if (look_read_bytes(sk, in, len, len, c, &b) != 0)
				return -1;
		}
		return (long)b.o;
	}
	while (b.i + 32 <= len) {
		at = b.o;
		b.o = look_block32(_mm256_loadu_si256((const __m256i *)(in + b.i)),
				   _mm256_set1_epi8(-1), k, &cy, c, at, NULL, &kept);
		_mm256_storeu_si256((__m256i *)(kp + b.i), kept);
		if (!_mm256_movemask_epi8(cy.slow)) {
			b.i += 32;
			continue;
		}
		b.o = at;
		*partial |= bit;
		b.prev = b.i > 0 ? look_entry_before(sk, in, b.i) : 0;
		if (look_read_bytes(sk, in, len, b.i + 32, c, &b) != 0)
			return -1;
		look_carry_bytes32(&cy, b.prev);
	}
	if (b.i < len) {
		at = b.o;
		b.o = look_block32(
			_mm256_loadu_si256((const __m256i *)(in + len - 32)),
			_mm256_cmpgt_epi8(iota, _mm256_set1_epi8((char)(31 - (len - b.i)))), k, &cy,
			c, at, NULL, &kept);
		/* the bytes before @b.i again: the same classes, the same entries */
		_mm256_storeu_si256((__m256i *)(kp + len - 32), kept);
		if (_mm256_movemask_epi8(cy.slow)) {
			b.o = at;
			*partial |= bit;
			b.prev = look_entry_before(sk, in, b.i);
			if (look_read_bytes(sk, in, len, len, c, &b) != 0)
				return -1;
		}
	}
	return (long)b.o;
}

/*
 * Two short fields in one block, @a (@la < 16 bytes) in the lower half and @b (@lb <= 16) in
 * the upper, each followed by zeros: separators, so that @b's first code point has its
 * boundary as at the start of a field (no word or digit carried into it) and nothing of @a
 * reaches it. Returns the end of the reading after both, the end of @a's into *@mid, and which
 * bytes are code points into @kp as look_read_lane32() (@b's from @kp + @la on); -1 when a
 * byte is one the lane leaves to the byte loop (then each field is read by itself, which
 * writes over what this wrote).
 */
static LOOK_AVX2_INLINE long look_pair32(const uint8_t *a, size_t la, const uint8_t *b, size_t lb,
					 const uint8_t (*k)[32], uint8_t *c, size_t o, size_t *mid,
					 uint8_t *kp)
{
	struct look_carry32 cy = {_mm256_setzero_si256(), _mm256_setzero_si256()};
	__m256i kept;
	size_t e = look_block32(_mm256_set_m128i(look_load_short(b, lb), look_load_short(a, la)),
				_mm256_set1_epi8(-1), k, &cy, c, o, mid, &kept);

	/* @a's, then @b's over the zeros after @a's */
	_mm_storeu_si128((__m128i *)kp, _mm256_castsi256_si128(kept));
	_mm_storeu_si128((__m128i *)(kp + la), _mm256_extracti128_si256(kept, 1));
	return _mm256_movemask_epi8(cy.slow) ? -1 : (long)e;
}

/* look_read() by the AVX2 lane: the fields in one call, its constants loaded once; a short
 * field and the next, when that is short too, in one block (look_pair32()). */
POLICY_HOT
static LOOK_AVX2_TARGET int look_read32(const struct policy_skeleton *sk, const char *const *s,
					const size_t *len, size_t n, struct policy_skel_seen *g)
{
	const __m256i iota =
		_mm256_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
				 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31);
	const uint8_t(*k)[32] = look_k32_hidden();
	uint8_t *kp = g->k; /* the field's first byte's entry */
	size_t o = 0;

	g->partial = 0;
	for (size_t f = 0; f < n; f++) {
		long e;

		if (f + 1 < n && len[f] < 16 && len[f + 1] <= 16) {
			size_t mid;

			e = look_pair32((const uint8_t *)s[f], len[f], (const uint8_t *)s[f + 1],
					len[f + 1], k, g->c, o, &mid, kp);
			if (e >= 0) {
				g->fs[f] = o;
				g->fe[f] = g->fs[f + 1] = mid;
				o = (size_t)e;
				g->fe[f + 1] = o;
				kp += len[f] + len[f + 1];
				f++;
				continue;
			}
		}
		e = look_read_lane32(sk, (const uint8_t *)s[f], len[f], k, iota, g->c, o, kp,
				     &g->partial, 1u << f);
		if (e < 0)
			return -1;
		g->fs[f] = o;
		o = (size_t)e;
		g->fe[f] = o;
		kp += len[f];
	}
	g->o = o;
	memset(g->c + o, 0, 64);
	return 0;
}

/*
 * Whether the AVX2 lane classifies every byte as @sk->grams does: a byte the table leaves to
 * the byte loop is left to it (and is no code point: the byte after a block's first kept one
 * may follow it); a code point is one, not left, with its code point and what it needs and
 * gives; a separator gives nothing and is no code point (the lane may leave it to the loop).
 */
static LOOK_AVX2_TARGET bool look_lane32_agrees(const struct policy_skeleton *sk)
{
	for (unsigned c0 = 0; c0 < 256; c0 += 32) {
		uint8_t in[32], cp[32], canon[32], gives[32], needs[32], slow[32];
		struct look_lane32 r;

		for (unsigned i = 0; i < 32; i++)
			in[i] = (uint8_t)(c0 + i);
		look_lane32(_mm256_loadu_si256((const __m256i *)in), look_k32, &r);
		_mm256_storeu_si256((__m256i *)cp, r.cp);
		_mm256_storeu_si256((__m256i *)canon, r.canon);
		_mm256_storeu_si256((__m256i *)gives, r.gives);
		_mm256_storeu_si256((__m256i *)needs, r.needs);
		_mm256_storeu_si256((__m256i *)slow, r.slow);
		for (unsigned i = 0; i < 32; i++) {
			unsigned v = sk->grams[c0 + i];
			unsigned g = (gives[i] & LOOK_G_WORD ? CPS_AFTER_WORD : 0) |
				     (gives[i] & LOOK_G_DIGIT ? CPS_AFTER_DIGIT : 0);
			unsigned nd = (needs[i] & LOOK_G_WORD ? CPS_AFTER_WORD : 0) |
				      (needs[i] & LOOK_G_DIGIT ? CPS_AFTER_DIGIT : 0);
			bool is_cp = cp[i] == 0xFF, none = cp[i] == 0 && gives[i] == 0;

			if (cp[i] != 0 && cp[i] != 0xFF)
				return false;
			if (v & GRAMS_SLOW) {
				if (!(slow[i] & 0x80) || !none)
					return false;
			} else if (v & GRAMS_CP) {
				if ((slow[i] & 0x80) || !is_cp || canon[i] != (v >> 8) ||
				    canon[i] >= LOOK_BND || nd != (v >> 1 & 3) ||
				    g != (v >> 3 & 3) ||
				    (gives[i] & ~(LOOK_G_CP | LOOK_G_WORD | LOOK_G_DIGIT)) ||
				    (needs[i] & ~(LOOK_G_WORD | LOOK_G_DIGIT)))
					return false;
			} else if (!none) {
				return false;
			}
		}
	}
	return true;
}
#endif

/*
 * The lanes @sk can read with (bit per enum policy_skel_lane): those the build has and the
 * CPU can run whose classes agree with @sk's table. The AVX2 lane is compiled for AVX2,
 * BMI1, BMI2 and POPCNT (LOOK_AVX2_TARGET) and needs all four.
 */
static unsigned look_lanes(const struct policy_skeleton *sk)
{
	unsigned lanes = 1u << POLICY_SKEL_LANE_BYTES;

#if defined(__SSE2__)
	if (look_lane_agrees(sk))
		lanes |= 1u << POLICY_SKEL_LANE_SSE2;
#endif
#if defined(LOOK_AVX2)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") &&
	    __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt") &&
	    look_lane32_agrees(sk))
		lanes |= 1u << POLICY_SKEL_LANE_AVX2;
#endif
	(void)sk;
	return lanes;
}

/*
 * The lane policy_skeleton_look() reads with, among @lanes: the widest, but the SSE2 lane
 * rather than the AVX2 one on AMD's family 17h (Zen 1 and 2), whose pext is microcode
 * taking a cycle or more a mask bit (the AVX2 lane is still correct there, and tested).
 */
static enum policy_skel_lane look_lane_preferred(unsigned lanes)
{
#if defined(LOOK_AVX2)
	if ((lanes >> POLICY_SKEL_LANE_AVX2 & 1) && !__builtin_cpu_is("amdfam17h"))
		return POLICY_SKEL_LANE_AVX2;
#endif
	if (lanes >> POLICY_SKEL_LANE_SSE2 & 1)
		return POLICY_SKEL_LANE_SSE2;
	return POLICY_SKEL_LANE_BYTES;
}

/*
 * The @n fields read into @g by @lane (16 or 32 bytes with a byte that needs more by the
 * byte loop), or a byte at a time. Returns 0, or -1 when policy_skeleton_ascii() refuses a
 * field.
 */
static int look_read(const struct policy_skeleton *sk, const char *const *s, const size_t *len,
		     size_t n, enum policy_skel_lane lane, struct policy_skel_seen *g)
{
	size_t o = 0;

#if defined(LOOK_AVX2)
	if (lane == POLICY_SKEL_LANE_AVX2)
		return look_read32(sk, s, len, n, g);
#endif
	g->partial = UINT32_MAX; /* no entries in @g->k */
	for (size_t k = 0; k < n; k++) {
		const uint8_t *in = (const uint8_t *)s[k];
		struct look_bytes b = {0, o, 0};
		long e;

		g->fs[k] = o;
#if defined(__SSE2__)
		if (lane == POLICY_SKEL_LANE_SSE2)
			e = look_read_lane(sk, in, len[k], g->c, o);
		else
#endif
			e = look_read_bytes(sk, in, len[k], len[k], g->c, &b) != 0 ? -1 : (long)b.o;
		if (e < 0)
			return -1;
		o = (size_t)e;
		g->fe[k] = o;
	}
	g->o = o;
	memset(g->c + o, 0, 64);
	return 0;
}

/*
 * The fields' code points are read into one reading (struct policy_skel_seen), by a lane 16
 * or 32 bytes at a time where it can (the bytes around markup, '|' or non-ASCII by the
 * byte loop), else a byte at a time: the code points without the separators, each with its
 * boundary. Only at each boundary is the filter asked: ANY4 (one load); the places where it
 * passes are listed and the classes behind it asked after.
 *
 * Why every place where a match can start is asked. A match starts at a boundary of the
 * full map, and every such boundary is a POLICY_SKEL_CPS boundary, which every reader
 * gives exactly as policy_skeleton_ascii() does (its code points; a boundary after a
 * separator or the start, and where cps_bnd() puts one). There its pattern's grams
 * (policy_skel_look_add()) are the code points read from there on: in the fields joined (a
 * match may run on through the fields after its own), asked here at every boundary; or, for
 * a match that starts in one field's tail and runs into the head of another that is not next
 * (map_scan()'s pairs), asked by look_pairs() from the last 3 code points and by look_more()
 * from 4 to 7 before the end (a gram is at most 8 long; one that ends inside the field was
 * asked in the joined reading, the same code points).
 */
POLICY_HOT
static int look_fields(const struct policy_skeleton *sk, const char *const *s, const size_t *len,
		       size_t n, const struct policy_skel_look *f, enum policy_skel_lane lane,
		       struct policy_skel_seen *g)
{
	size_t total = 0;

	/* the code points are read as little-endian words (look_load8()) */
	if (__BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__ || n > POLICY_SKEL_LOOK_FIELDS)
		return -1;
	for (size_t k = 0; k < n; k++)
		total += len[k];
	if (total > POLICY_SKEL_LOOK_BYTES || look_read(sk, s, len, n, lane, g) != 0)
		return -1;
#if defined(LOOK_AVX2)
	if (lane == POLICY_SKEL_LANE_AVX2)
		return look_core_bmi2(f, g, n);
#endif
	return lane == POLICY_SKEL_LANE_BYTES ? look_core_portable(f, g, n) : look_core(f, g, n);
}

POLICY_HOT
int policy_skeleton_look(const struct policy_skeleton *sk, const char *const *s, const size_t *len,
			 size_t n, const struct policy_skel_look *f, struct policy_skel_seen *g)
{
	return look_fields(sk, s, len, n, f, sk->look_lane, g);
}

int policy_skeleton_look_with(const struct policy_skeleton *sk, enum policy_skel_lane lane,
			      const char *const *s, const size_t *len, size_t n,
			      const struct policy_skel_look *f, struct policy_skel_seen *g)
{
	if (!policy_skeleton_lane_usable(sk, lane))
		return -1;
	return look_fields(sk, s, len, n, f, lane, g);
}

bool policy_skeleton_lane_usable(const struct policy_skeleton *sk, enum policy_skel_lane lane)
{
	return (unsigned)lane < POLICY_SKEL_LANES && (sk->look_lanes >> lane & 1);
}

enum policy_skel_lane policy_skeleton_look_lane(const struct policy_skeleton *sk)
{
	return sk->look_lane;
}

#if defined(__SSE2__)
/*
 * The look's entries of the 16 code points at @cp with their boundaries @bnd, stored at @c;
 * into @bad, OR'd in, a byte with its top bit set where a code point is not ASCII or a
 * boundary is not one of the three (adding 125 with saturation takes exactly those past 127).
 */
static inline __m128i look_entries16(const uint8_t *cp, const uint8_t *bnd, uint8_t *c, __m128i bad)
{
	__m128i x = _mm_loadu_si128((const __m128i *)cp), b = _mm_loadu_si128((const __m128i *)bnd);
	__m128i none = _mm_cmpeq_epi8(b, _mm_setzero_si128());

	_mm_storeu_si128((__m128i *)c,
			 _mm_or_si128(x, _mm_andnot_si128(none, _mm_set1_epi8((char)LOOK_BND))));
	return _mm_or_si128(bad, _mm_or_si128(x, _mm_adds_epu8(b, _mm_set1_epi8(125))));
}
#endif

/*
 * The entries are made 16 at a time with SSE2 (the last 16 of a reading of 16 or more as the
 * 16 that end it, those before them again, the same values), else one at a time: verify()'s
 * spliced readings, a few hundred code points each, are what comes here.
 */
int policy_skel_look_reading(const struct policy_skel_look *f, const uint8_t *cp,
			     const uint8_t *bnd, const size_t *fs, const size_t *fe, size_t n,
			     size_t total, struct policy_skel_seen *g)
{
	size_t j = 0;

	if (__BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__ || n > POLICY_SKEL_LOOK_FIELDS ||
	    total > POLICY_SKEL_LOOK_BYTES)
		return -1;
#if defined(__SSE2__)
	if (total >= 16) {
		__m128i bad = _mm_setzero_si128();

		for (; j + 16 <= total; j += 16)
			bad = look_entries16(cp + j, bnd + j, g->c + j, bad);
		if (j < total)
			bad = look_entries16(cp + total - 16, bnd + total - 16, g->c + total - 16,
					     bad);
		if (_mm_movemask_epi8(bad))
			return -1;
		j = total;
	}
#endif
	for (; j < total; j++) {
		if (bnd[j] > POLICY_SKEL_HARD || cp[j] >= LOOK_BND)
			return -1;
		g->c[j] = (uint8_t)(cp[j] | (bnd[j] != POLICY_SKEL_NONE ? LOOK_BND : 0));
	}
	for (size_t k = 0; k < n; k++) {
		g->fs[k] = fs[k];
		g->fe[k] = fe[k];
	}
	g->o = total;
	g->partial = UINT32_MAX; /* no entries in @g->k */
	memset(g->c + total, 0, 64);
	return look_core(f, g, n);
}

int policy_skel_text_reserve(struct policy_skel_text *t, size_t n)
{
	return reserve(t, n);
}

int policy_skeleton_map(const struct policy_skeleton *sk, const char *text, size_t len, size_t base,
			unsigned flags, struct policy_skel_text *t)
{
	const uint8_t *in = (const uint8_t *)text;
	struct bstate b = {.pend = POLICY_SKEL_HARD};
	struct cp_info tmp;

	/*
	 * Room for one code point per byte to come (ASCII never grows) is kept at all times: a
	 * unit that gives more ("\uFDFA" is 3 bytes, 15 code points) reserves its own and again
	 * one per remaining byte, so the ASCII paths below never need to check.
	 */
	if (reserve(t, len) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < len;) {
		uint32_t cp = 0;
		bool sep = false;
		size_t n;
		const struct cp_info *ci;

		if ((flags & (POLICY_SKEL_CPS | POLICY_SKEL_GENERAL)) == POLICY_SKEL_CPS) {
			/* cps_unit() and the separator case below, for the bytes the table knows */
			const uint32_t *tab = sk->cps[(flags & POLICY_SKEL_PLAIN) ? 1 : 0];
			uint32_t *cpo = t->cp;
			size_t *fro = t->from, o = t->len;
			uint8_t *bo = t->bnd;
			unsigned pend = b.pend, gives = b.gives;

			for (; i < len; i++) {
				uint32_t v;

				if (in[i] >= 0x80 || (v = tab[in[i]]) == CPS_SLOW)
					break;
				if (v == CPS_SEP) {
					pend = POLICY_SKEL_HARD;
					continue;
				}
				cpo[o] = v & CPS_CP;
				fro[o] = base + i;
				bo[o] = pend		    ? POLICY_SKEL_HARD
					: (v >> 24 & gives) ? POLICY_SKEL_NONE
							    : POLICY_SKEL_SOFT;
				gives = v >> 26 & 3;
				pend = POLICY_SKEL_NONE;
				o++;
			}
			t->len = o;
			b.pend = pend;
			b.gives = gives;
			if (i == len)
				break;
		}

		if (!(flags & (POLICY_SKEL_CPS | POLICY_SKEL_GENERAL))) {
			/*
			 * word_unit() and the separator case below for the ASCII bytes that are one
			 * unit of one code point or a plain separator, the state in locals; anything
			 * else goes on below, one unit, and comes back here.
			 */
			uint32_t *cpo = t->cp;
			size_t *fro = t->from, *too = t->to, o = t->len, start1 = b.start1;
			uint8_t *bo = t->bnd;
			unsigned pend = b.pend, cls1 = b.cls1, cls2 = b.cls2;
			unsigned zero = b.prev_is_zero, zero_x = b.prev_is_0x;

			for (; i < len; i++) {
				const struct cp_info *x;
				unsigned bnd;
				uint8_t c = in[i];

				if (c >= 0x80 || (!(flags & POLICY_SKEL_PLAIN) && markup_start(c)))
					break;
				x = &sk->latin[c];
				if (x->kind == K_SEP && !(x->alt && !(flags & POLICY_SKEL_PLAIN))) {
					pend = POLICY_SKEL_HARD;
					cls1 = cls2 = C_OTHER;
					zero = zero_x = false;
					continue;
				}
				if (x->kind != K_WORD || x->n != 1)
					break;
				bnd = pend;
				if (bnd == POLICY_SKEL_NONE) {
					if ((cls1 == C_LOWER && x->cls == C_UPPER) ||
					    ((cls1 == C_DIGIT) != (x->cls == C_DIGIT)))
						bnd = POLICY_SKEL_SOFT;
					if (zero_x)
						bnd = POLICY_SKEL_HARD;
					if (cls2 == C_UPPER && cls1 == C_UPPER &&
					    x->cls == C_LOWER && bo[start1] == POLICY_SKEL_NONE)
						bo[start1] = POLICY_SKEL_SOFT;
				}
				zero_x = zero && (c == 'x' || c == 'X');
				zero = bnd != POLICY_SKEL_NONE && c == '0';
				start1 = o;
				cpo[o] = x->s[0];
				fro[o] = base + i;
				too[o] = base + i + 1;
				bo[o] = (uint8_t)bnd;
				o++;
				cls2 = cls1;
				cls1 = x->cls;
				pend = POLICY_SKEL_NONE;
			}
			t->len = o;
			b.start1 = start1;
			b.pend = pend;
			b.cls1 = cls1;
			b.cls2 = cls2;
			b.prev_is_zero = zero;
			b.prev_is_0x = zero_x;
			if (i == len)
				break;
		}

		/*
		 * Most text is ASCII without markup: its units are single bytes, looked up in the
		 * table directly (what next_unit() would return, without its calls).
		 */
		if (in[i] < 0x80 && ((flags & POLICY_SKEL_PLAIN) || !markup_start(in[i]))) {
			ci = &sk->latin[in[i]];
			if (ci->kind == K_SEP && ci->alt && !(flags & POLICY_SKEL_PLAIN)) {
				ci = as_letter(ci, &tmp);
				t->n_decoded++;
			}
			if (ci->kind == K_WORD) {
				if (ci->n > 1 && reserve(t, ci->n + (len - i - 1)) < 0)
					return -ENOMEM;
				if (flags & POLICY_SKEL_CPS)
					cps_unit(t, &b, ci, in[i], base + i);
				else
					word_unit(t, &b, ci, base + i, base + i + 1);
			} else if (ci->kind == K_SEP) {
				b.pend = POLICY_SKEL_HARD;
				b.cls1 = b.cls2 = C_OTHER;
				b.prev_is_zero = b.prev_is_0x = false;
			}
			i++;
			continue;
		}
		n = next_unit(in + i, len - i, flags, &cp, &sep);

		if (n > 1 && in[i] && strchr("<&%\\[({", in[i]) &&
		    !(n == 8 && memcmp(in + i, "[member]", 8) == 0))
			t->n_decoded++;

		if (sep) {
			b.pend = POLICY_SKEL_HARD;
			b.cls1 = b.cls2 = C_OTHER;
			b.prev_is_zero = b.prev_is_0x = false;
			i += n;
			continue;
		}
		if (cp == OPAQUE) {
			tmp.kind = K_WORD;
			tmp.cls = C_OTHER;
			tmp.n = 1;
			tmp.s[0] = OPAQUE;
			ci = &tmp;
		} else if (cp < 256) {
			ci = &sk->latin[cp];
		} else {
			ci = lookup(sk, t, cp, &tmp);
		}
		if (ci->kind == K_SEP && ci->alt && !(flags & POLICY_SKEL_PLAIN)) {
			ci = as_letter(ci, &tmp);
			t->n_decoded++;
		}
		if (ci->kind == K_SEP) {
			b.pend = POLICY_SKEL_HARD;
			b.cls1 = b.cls2 = C_OTHER;
			b.prev_is_zero = b.prev_is_0x = false;
		} else if (ci->kind == K_WORD) {
			if (reserve(t, ci->n + (len - i - n)) < 0)
				return -ENOMEM;
			if (flags & POLICY_SKEL_CPS)
				cps_unit(t, &b, ci, cp, base + i);
			else
				word_unit(t, &b, ci, base + i, base + i + n);
		}
		i += n;
	}
	t->bnd[t->len] = POLICY_SKEL_HARD;
	return 0;
}

size_t policy_skel_seen_field(const struct policy_skel_seen *g, size_t i, uint32_t *cp, size_t max)
{
	size_t n = g->fe[i] - g->fs[i];

	for (size_t j = 0; j < n && j < max; j++)
		cp[j] = g->c[g->fs[i] + j] & ~LOOK_BND;
	return n;
}

#if defined(__SSE2__)
/* For each 4 bits: the places (0-3) of the bits set, a byte each, the lowest first; and how many. */
static const uint32_t seen_nib_at[16] = {0,	 0,	   0x01,     0x0100,	0x02,	0x0200,
					 0x0201, 0x020100, 0x03,     0x0300,	0x0301, 0x030100,
					 0x0302, 0x030200, 0x030201, 0x03020100};
static const uint8_t seen_nib_n[16] = {0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4};

/* The offsets @base + 0..3 of the code points that the 4 bits @nib mark, stored at @at. */
static inline size_t seen_put4(uint32_t *at, unsigned nib, __m128i base)
{
	__m128i x = _mm_cvtsi32_si128((int)seen_nib_at[nib]);

	x = _mm_unpacklo_epi16(_mm_unpacklo_epi8(x, _mm_setzero_si128()), _mm_setzero_si128());
	_mm_storeu_si128((__m128i *)at, _mm_add_epi32(x, base));
	return seen_nib_n[nib];
}

/*
 * The offsets of the code points of field @in's first (@l / 16) * 16 bytes into @at, 16
 * bytes at a time classified by the SSE2 lane's classes (look_lane16(): a code point is a
 * letter or a digit, as @grams says where that lane agrees with it; whichever lane the look
 * read with), the offsets of each 4 bytes' code points from seen_nib_at[] and stored 4 at
 * a time (those past the code points are overwritten by the next store: a store of 4 at
 * the count so far, which is at most the bytes before, stays inside the 16 bytes'
 * offsets). Returns the count, or -1 when one of those bytes is one the lane leaves to the
 * byte loop (the @grams entries decide then: a GRAMS_SLOW byte is among them, a separator
 * such as '|' may be).
 */
static long seen_offsets16(const uint8_t *in, size_t l, uint32_t *at)
{
	__m128i slow = _mm_setzero_si128();
	size_t c = 0;

	for (size_t i = 0; i + 16 <= l; i += 16) {
		__m128i base = _mm_set1_epi32((int)i), four = _mm_set1_epi32(4);
		struct look_lane r;
		unsigned mk;

		look_lane16(_mm_loadu_si128((const __m128i *)(in + i)), &r);
		slow = _mm_or_si128(slow, r.slow);
		mk = (unsigned)_mm_movemask_epi8(_mm_or_si128(r.letter, r.dg));
		c += seen_put4(at + c, mk & 15, base);
		base = _mm_add_epi32(base, four);
		c += seen_put4(at + c, mk >> 4 & 15, base);
		base = _mm_add_epi32(base, four);
		c += seen_put4(at + c, mk >> 8 & 15, base);
		base = _mm_add_epi32(base, four);
		c += seen_put4(at + c, mk >> 12, base);
	}
	return _mm_movemask_epi8(slow) ? -1 : (long)c;
}
#endif

#if defined(LOOK_AVX2)
/*
 * The offsets @b + 0..7 of the code points among 8 bytes (@m: 0xFF for each code point's
 * byte, the first lowest) gathered by pext from the byte places 0-7, widened and stored at
 * @at + @c: all 8 lanes, or (@exact) only as many as there are code points (a masked store:
 * nothing past them). Returns the new count.
 */
static LOOK_AVX2_INLINE size_t seen_put8(uint32_t *at, size_t c, uint64_t m, size_t b, bool exact)
{
	const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
	uint64_t idx = _pext_u64(0x0706050403020100ull, m);
	size_t k = (size_t)__builtin_popcountll(m) >> 3;
	__m256i x = _mm256_add_epi32(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)idx)),
				     _mm256_set1_epi32((int)b));

	if (exact)
		_mm256_maskstore_epi32((int *)(at + c),
				       _mm256_cmpgt_epi32(_mm256_set1_epi32((int)k), lanes), x);
	else
		_mm256_storeu_si256((__m256i *)(at + c), x);
	return c + k;
}

/* The 32 bytes' code points (@cp: 0xFF each) from byte @b on: their offsets at @at + @c. */
static LOOK_AVX2_INLINE size_t seen_put32(uint32_t *at, size_t c, __m256i cp, size_t b, bool exact)
{
	__m128i lo = _mm256_castsi256_si128(cp), hi = _mm256_extracti128_si256(cp, 1);

	c = seen_put8(at, c, (uint64_t)_mm_cvtsi128_si64(lo), b, exact);
	c = seen_put8(at, c, (uint64_t)_mm_extract_epi64(lo, 1), b + 8, exact);
	c = seen_put8(at, c, (uint64_t)_mm_cvtsi128_si64(hi), b + 16, exact);
	return seen_put8(at, c, (uint64_t)_mm_extract_epi64(hi, 1), b + 24, exact);
}

/*
 * seen_offsets16()'s, by the AVX2 lane's classes (look_lane32()), for the whole field: 32
 * bytes a step, the offsets of each 8 bytes' code points gathered by BMI2's pext with the
 * code points' bytes as its mask and stored 8 at a time. The lanes past the code points are
 * written too: a store of 8 at the count so far, which is at most the bytes before it, ends
 * inside the first @l entries of @at, the field's byte count, not its code points. So those
 * stores may run past this field's code points into the entries of the fields after it (or
 * past the reading's last code point), which is safe only because (a) the caller's @at holds
 * as many entries as the fields have bytes (policy_skel_seen_reading()'s contract, and the
 * byte loops below write every byte's offset the same way) and (b) the fields are read in
 * order, so the next field's offsets overwrite them. The last < 32 bytes are loaded as
 * look_read_lane32() loads them (the 32 that end the field, those read already masked out; a
 * field under 32 bytes with zeros after it), and their offsets stored through a mask, no lane
 * past the last code point (a store of 8 there could run past the field's bytes). Returns the
 * count, or -1 as seen_offsets16().
 */
static LOOK_AVX2_TARGET long seen_offsets32(const uint8_t *in, size_t l, uint32_t *at)
{
	const __m256i iota =
		_mm256_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
				 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31);
	const uint8_t(*k)[32] = look_k32_hidden();
	__m256i slow = _mm256_setzero_si256(), v, keep;
	struct look_lane32 r;
	size_t c = 0, i = 0, b;

	for (; i + 32 <= l; i += 32) {
		look_lane32(_mm256_loadu_si256((const __m256i *)(in + i)), k, &r);
		slow = _mm256_or_si256(slow, r.slow);
		c = seen_put32(at, c, r.cp, i, false);
	}
	if (i < l) {
		if (l >= 32) {
			b = l - 32;
			v = _mm256_loadu_si256((const __m256i *)(in + b));
			keep = _mm256_cmpgt_epi8(iota, _mm256_set1_epi8((char)(31 - (l - i))));
		} else {
			b = 0;
			v = look_load_short32(in, l);
			keep = _mm256_cmpgt_epi8(_mm256_set1_epi8((char)l), iota);
		}
		look_lane32(v, k, &r);
		slow = _mm256_or_si256(slow, _mm256_and_si256(r.slow, keep));
		c = seen_put32(at, c, _mm256_and_si256(r.cp, keep), b, true);
	}
	return _mm256_movemask_epi8(slow) ? -1 : (long)c;
}

/*
 * The offsets of the code points among the 8 bytes whose entries (0xFF a code point's byte)
 * are at @kp + 8 * @q, those bytes at @base + 8 * @q + 0..7 (@base broadcast), stored at @at
 * + @c as seen_put8() does; loaded as a word, not taken out of a vector. Returns the count.
 */
static LOOK_AVX2_INLINE size_t seen_kept8(uint32_t *at, size_t c, const uint8_t *kp, unsigned q,
					  __m256i base)
{
	uint64_t m, idx;

	memcpy(&m, kp + 8 * q, 8);
	idx = _pext_u64(0x0706050403020100ull + 0x0808080808080808ull * q, m);
	_mm256_storeu_si256(
		(__m256i *)(at + c),
		_mm256_add_epi32(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)idx)), base));
	return c + ((size_t)__builtin_popcountll(m) >> 3);
}

/* seen_put32()'s for a whole block at byte @b of the field, its entries at @kp. */
static LOOK_AVX2_INLINE size_t seen_kept32(uint32_t *at, size_t c, const uint8_t *kp, size_t b)
{
	const __m256i base = _mm256_set1_epi32((int)b);

	c = seen_kept8(at, c, kp, 0, base);
	c = seen_kept8(at, c, kp, 1, base);
	c = seen_kept8(at, c, kp, 2, base);
	return seen_kept8(at, c, kp, 3, base);
}

/*
 * seen_offsets32()'s offsets of a field of @l bytes that the look's lane read whole, from
 * which of its bytes are code points as the look kept them (@kp, from the field's first
 * byte: look_read_lane32(), look_pair32()) instead of loading and classifying the bytes
 * again. The same blocks and stores (the whole ones by seen_kept32()); the entries past the
 * field's bytes, another field's, masked out. Returns the count.
 */
POLICY_HOT
static LOOK_AVX2_TARGET size_t seen_offsets_kept(const uint8_t *kp, size_t l, uint32_t *at)
{
	const __m256i iota =
		_mm256_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
				 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31);
	size_t c = 0, i = 0;

	for (; i + 32 <= l; i += 32)
		c = seen_kept32(at, c, kp + i, i);
	if (i < l) {
		size_t b = l >= 32 ? l - 32 : 0;
		__m256i keep =
			l >= 32 ? _mm256_cmpgt_epi8(iota, _mm256_set1_epi8((char)(31 - (l - i))))
				: _mm256_cmpgt_epi8(_mm256_set1_epi8((char)l), iota);

		c = seen_put32(
			at, c,
			_mm256_and_si256(_mm256_loadu_si256((const __m256i *)(kp + b)), keep), b,
			true);
	}
	return c;
}

/*
 * seen_offsets_kept()'s offsets, for seen_reading_kept(): the whole 32-byte blocks as there,
 * then 8 bytes a step, the last < 8 with the entries past the field's bytes cleared, each
 * step one store of 8 offsets (no masked store, no block of 32 ending at the field's end: a
 * field of a few bytes, a tag, costs a step or two). A store at the count so far ends at most
 * 7 entries past the field's byte count: into the next field's entries, which its own
 * overwrite, or up to 7 past the reading's bytes (policy_skel_seen_reading()'s 8 entries of
 * slack). Returns the count.
 */
static LOOK_AVX2_INLINE size_t seen_offsets_kept8(const uint8_t *kp, size_t l, uint32_t *at)
{
	size_t c = 0, i = 0;

	for (; i + 32 <= l; i += 32)
		c = seen_kept32(at, c, kp + i, i);
	for (; i < l; i += 8) {
		uint64_t m, idx;

		memcpy(&m, kp + i, 8);
		m = _bzhi_u64(m, (unsigned)(l - i < 8 ? 8 * (l - i) : 64));
		idx = _pext_u64(0x0706050403020100ull, m);
		_mm256_storeu_si256(
			(__m256i *)(at + c),
			_mm256_add_epi32(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)idx)),
					 _mm256_set1_epi32((int)i)));
		c += (size_t)__builtin_popcountll(m) >> 3;
	}
	return c;
}

/*
 * The code points @c8 and boundaries @b8 of a field's 32 code points from @j (>= 1) on, from
 * the look's entries @e and the offsets @a32, as seen_bounds8() takes 8.
 */
static LOOK_AVX2_INLINE void seen_bounds32(const uint8_t *e, const uint32_t *a32, uint8_t *c8,
					   uint8_t *b8, size_t j)
{
	const __m256i one = _mm256_set1_epi32(1), order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
	__m256i nx[4], next, x, bit;

	for (size_t q = 0; q < 4; q++) {
		__m256i a = _mm256_loadu_si256((const __m256i *)(a32 + j + 8 * q));
		__m256i p = _mm256_loadu_si256((const __m256i *)(a32 + j + 8 * q - 1));

		nx[q] = _mm256_cmpeq_epi32(_mm256_sub_epi32(a, p), one);
	}
	/* packed within each 128-bit half: dwords n0lo n1lo n2lo n3lo n0hi .. n3hi */
	next = _mm256_packs_epi16(_mm256_packs_epi32(nx[0], nx[1]),
				  _mm256_packs_epi32(nx[2], nx[3]));
	next = _mm256_permutevar8x32_epi32(next, order);
	x = _mm256_loadu_si256((const __m256i *)(e + j));
	bit = _mm256_and_si256(_mm256_srli_epi16(x, 7), _mm256_set1_epi8(1));
	_mm256_storeu_si256((__m256i *)(b8 + j),
			    _mm256_or_si256(_mm256_and_si256(next, bit),
					    _mm256_andnot_si256(next, _mm256_set1_epi8(2))));
	_mm256_storeu_si256((__m256i *)(c8 + j), _mm256_and_si256(x, _mm256_set1_epi8(0x7F)));
}

/*
 * seen_bounds32() over a field's code points from @j (>= 1) to @m, when there are more than
 * 32: the last < 32 as the 32 that end the field (those before them again, the same values).
 * Returns where it stopped (@m, or @j for a field of 32 or fewer: the 8-wide loop's).
 */
POLICY_HOT
static LOOK_AVX2_TARGET size_t seen_bounds_field32(const uint8_t *e, const uint32_t *a32,
						   uint8_t *c8, uint8_t *b8, size_t j, size_t m)
{
	if (m <= 32)
		return j;
	for (; j + 32 <= m; j += 32)
		seen_bounds32(e, a32, c8, b8, j);
	if (j < m)
		seen_bounds32(e, a32, c8, b8, m - 32);
	return m;
}

/*
 * The HARD boundaries of a reading whose fields the AVX2 look read whole, as bits (bit j of
 * @hard: code point j of the fields joined), from the look's entries alone (@kp: 0xFF for
 * each byte of the fields, in order, that is a code point): a field's code point has a HARD
 * boundary exactly where the byte before it in its field is no code point, or it is the
 * field's first byte (what seen_bounds8() finds from the offsets: two code points in a row
 * whose offsets are not one apart). 64 bytes a step: the block's code-point bytes as a mask,
 * those after no code point as another, the second gathered by the first (pext), appended at
 * the field's place in @hard (zeroed by the caller, POLICY_SKEL_LOOK_BYTES / 64 + 3 words).
 * Returns the number of code points, or -1 when a field has not as many as the look read
 * (@g's @fs, @fe).
 */
static LOOK_AVX2_INLINE long seen_hard_kept(const struct policy_skel_seen *g, const size_t *len,
					    size_t n, uint64_t *hard)
{
	const uint8_t *kp = g->k;
	size_t p = 0; /* code points so far */

	for (size_t k = 0; k < n; k++) {
		size_t l = len[k];
		uint64_t carry = 0; /* the byte before the block is a code point */

		for (size_t i = 0; i < l; i += 64) {
			/* the field's bytes only: the entries after them are the next field's */
			uint64_t kb = (uint32_t)_mm256_movemask_epi8(
				_mm256_loadu_si256((const __m256i *)(kp + i)));
			uint64_t hb;

			if (l - i > 32)
				kb |= (uint64_t)(uint32_t)_mm256_movemask_epi8(
					      _mm256_loadu_si256((const __m256i *)(kp + i + 32)))
				      << 32;
			kb = _bzhi_u64(kb, (unsigned)(l - i < 64 ? l - i : 64));
			hb = _pext_u64(kb & ~(kb << 1 | carry), kb);
			hard[p / 64] |= hb << (p % 64);
			hard[p / 64 + 1] |= hb >> 1 >> (63 - p % 64);
			p += (size_t)__builtin_popcountll(kb);
			carry = kb >> 63;
		}
		kp += l;
		if (p != g->fe[k])
			return -1;
	}
	return (long)p;
}

/*
 * The code points @c8 and boundaries @b8 of the reading's 32 code points from @j on, from the
 * look's entries @e (the fields joined) and the HARD bits @hard (seen_hard_kept()): HARD where
 * the bit is set, else SOFT at LOOK_BND, else NONE.
 */
static LOOK_AVX2_INLINE void seen_bounds_bits32(const uint8_t *e, const uint64_t *hard, uint8_t *c8,
						uint8_t *b8, size_t j)
{
	const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2,
						2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
	const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
	uint64_t w;
	__m256i h, x;

	memcpy(&w, (const uint8_t *)hard + j / 8, 8);
	h = _mm256_shuffle_epi8(_mm256_set1_epi32((int)(uint32_t)(w >> (j % 8))), spread);
	h = _mm256_cmpeq_epi8(_mm256_and_si256(h, bit), bit); /* 0xFF: HARD */
	x = _mm256_loadu_si256((const __m256i *)(e + j));
	_mm256_storeu_si256(
		(__m256i *)(b8 + j),
		_mm256_or_si256(_mm256_and_si256(h, _mm256_set1_epi8(POLICY_SKEL_HARD)),
				_mm256_andnot_si256(h, _mm256_and_si256(_mm256_srli_epi16(x, 7),
									_mm256_set1_epi8(1)))));
	_mm256_storeu_si256((__m256i *)(c8 + j), _mm256_and_si256(x, _mm256_set1_epi8(0x7F)));
}

/* seen_hard_kept()'s words: POLICY_SKEL_LOOK_BYTES / 64 + 3, in whole 32-byte stores */
#define SEEN_HARD_WORDS ((POLICY_SKEL_LOOK_BYTES / 64 + 3 + 3) & ~(size_t)3)

/*
 * seen_reading() when the AVX2 look read every field whole (no bit of @g's @partial): the
 * offsets of each field from the look's entries (seen_offsets_kept8()), and the code points
 * and boundaries of all fields at once, 32 a step (the last 32 of the reading again when it
 * does not end on a step; a reading under 32 one at a time), from the look's reading and the
 * HARD bits that seen_hard_kept() takes from its entries: the offsets are not read. Returns
 * the number of code points, or -1 as seen_reading().
 */
POLICY_HOT
static LOOK_AVX2_TARGET long seen_reading_kept(const struct policy_skel_seen *g, const size_t *len,
					       size_t n, uint8_t *cp, uint8_t *bnd, uint32_t *at,
					       size_t *fs, size_t *fe)
{
	uint64_t hard[SEEN_HARD_WORDS] __attribute__((aligned(32)));
	const uint8_t *kp = g->k;
	size_t o, j = 0;
	long rl;

	/* zeroed by stores of 32 bytes: "= {0}" became a rep stos, which starts slowly */
	for (size_t w = 0; w < SEEN_HARD_WORDS; w += 4)
		_mm256_store_si256((__m256i *)(hard + w), _mm256_setzero_si256());
	rl = seen_hard_kept(g, len, n, hard);
	if (rl < 0)
		return -1;
	o = (size_t)rl;
	for (size_t k = 0; k < n; k++) {
		seen_offsets_kept8(kp, len[k], at + g->fs[k]);
		kp += len[k];
		fs[k] = g->fs[k];
		fe[k] = g->fe[k];
	}
	if (o >= 32) {
		for (; j + 32 <= o; j += 32)
			seen_bounds_bits32(g->c, hard, cp, bnd, j);
		if (j < o)
			seen_bounds_bits32(g->c, hard, cp, bnd, o - 32);
		return (long)o;
	}
	for (; j < o; j++) {
		cp[j] = g->c[j] & ~LOOK_BND;
		bnd[j] = hard[j / 64] >> (j % 64) & 1 ? POLICY_SKEL_HARD
			 : g->c[j] & LOOK_BND	      ? POLICY_SKEL_SOFT
						      : POLICY_SKEL_NONE;
	}
	return (long)o;
}
#endif

#if defined(__SSE2__)
/*
 * The code points @c8 and boundaries @b8 of a field's 8 code points from @j (>= 1) on, from
 * the look's entries @e and the offsets @a32: the code point, then HARD (2) where the offsets
 * are not one apart, else SOFT (1) at LOOK_BND, else NONE (0).
 */
static inline void seen_bounds8(const uint8_t *e, const uint32_t *a32, uint8_t *c8, uint8_t *b8,
				size_t j)
{
	const __m128i one = _mm_set1_epi32(1);
	__m128i a0 = _mm_loadu_si128((const __m128i *)(a32 + j));
	__m128i a1 = _mm_loadu_si128((const __m128i *)(a32 + j + 4));
	__m128i p0 = _mm_loadu_si128((const __m128i *)(a32 + j - 1));
	__m128i p1 = _mm_loadu_si128((const __m128i *)(a32 + j + 3));
	__m128i next = _mm_packs_epi32(_mm_cmpeq_epi32(_mm_sub_epi32(a0, p0), one),
				       _mm_cmpeq_epi32(_mm_sub_epi32(a1, p1), one));
	__m128i x = _mm_loadl_epi64((const __m128i *)(e + j)), bit;

	/* next: 0xFF where the code point follows the one before directly */
	next = _mm_packs_epi16(next, next);
	bit = _mm_and_si128(_mm_srli_epi16(x, 7), _mm_set1_epi8(1));
	_mm_storel_epi64(
		(__m128i *)(b8 + j),
		_mm_or_si128(_mm_and_si128(next, bit), _mm_andnot_si128(next, _mm_set1_epi8(2))));
	_mm_storel_epi64((__m128i *)(c8 + j), _mm_and_si128(x, _mm_set1_epi8(0x7F)));
}
#endif

/*
 * The look's reading is the one policy_skeleton_ascii() gives (policy_skeleton_look()'s
 * promise): its code points, and LOOK_BND exactly where that reading puts a boundary, SOFT
 * or HARD. HARD is where a separator or the field's start comes before (b.pend), which in a
 * field whose every unit is one byte is where the byte before is no code point: where the
 * offsets of two code points in a row are not one apart. The byte offsets are not kept by
 * the look (a store a code point that a text naming nobody would pay for). The AVX2 look keeps
 * which bytes are code points instead (one 32-byte store a block, struct policy_skel_seen's
 * @k): from them the AVX2 lane takes the offsets of a field that look's lane read whole
 * (seen_offsets_kept()), loading no byte of the field again. Otherwise they are counted
 * here, a code point for each byte whose @grams entry has GRAMS_CP, by @lane's classes, which
 * agree with @grams where the lane is usable: the AVX2 lane's 32 bytes at a time, the whole
 * field (seen_offsets32()), or the SSE2 lane's 16 at a time (seen_offsets16()) and the rest a
 * byte at a time, or all a byte at a time. A field with a byte the table leaves to
 * ascii_separator() (GRAMS_SLOW: a unit may be longer than a byte) is read by
 * policy_skeleton_ascii() instead. The code points and boundaries are then taken 32 at a time
 * (seen_bounds32(), the AVX2 lane) or 8 at a time (SSE2), the last block of a field ending at
 * its end (overlapping the one before), so that only a field of up to 8 code points takes
 * them one at a time. When the AVX2 look read every field whole, the callers take
 * seen_reading_kept() instead (the boundaries too from the look's entries); this reads the
 * rest: another lane's look, or a call with a field the byte loop read in part.
 */
POLICY_HOT
static long seen_reading(const struct policy_skeleton *sk, enum policy_skel_lane lane,
			 const struct policy_skel_seen *g, const char *const *s, const size_t *len,
			 size_t n, uint8_t *cp, uint8_t *bnd, uint32_t *at, size_t *fs, size_t *fe)
{
	const uint16_t *restrict grams = sk->grams;
	const uint8_t *kp = g->k; /* the look's entries of field k's bytes */
	size_t o = 0;

	(void)lane; /* a build without SSE2 counts every byte */
	(void)kp;
	for (size_t k = 0; k < n; k++) {
		const uint8_t *restrict in = (const uint8_t *)s[k];
		const uint8_t *restrict e = g->c + g->fs[k];
		uint8_t *restrict c8 = cp + o, *restrict b8 = bnd + o;
		uint32_t *restrict a32 = at + o;
		size_t m = g->fe[k] - g->fs[k], l = len[k], c = 0, i = 0, j = 1;
		unsigned slow = 0;

#if defined(LOOK_AVX2)
		if (lane == POLICY_SKEL_LANE_AVX2) {
			/* the look's entries when its lane read the field whole, else the bytes */
			long lc = g->partial >> k & 1 ? seen_offsets32(in, l, a32)
						      : (long)seen_offsets_kept(kp, l, a32);

			kp += l;

			/* a byte left to the byte loop: the whole field is counted a byte at a time */
			if (lc >= 0) {
				c = (size_t)lc;
				i = l;
			}
		}
#endif
#if defined(__SSE2__)
		if (lane == POLICY_SKEL_LANE_SSE2 && l >= 16) {
			long lc = seen_offsets16(in, l, a32);

			if (lc >= 0) {
				c = (size_t)lc;
				i = l / 16 * 16;
			}
		}
#endif
		/* every byte's offset is written; a separator's is overwritten by the next one's */
		for (; i + 4 <= l; i += 4) {
			unsigned v = grams[in[i]], w = grams[in[i + 1]];
			unsigned x = grams[in[i + 2]], y = grams[in[i + 3]];

			a32[c] = (uint32_t)i;
			c += v & GRAMS_CP;
			a32[c] = (uint32_t)i + 1;
			c += w & GRAMS_CP;
			a32[c] = (uint32_t)i + 2;
			c += x & GRAMS_CP;
			a32[c] = (uint32_t)i + 3;
			c += y & GRAMS_CP;
			slow |= v | w | x | y;
		}
		for (; i < l; i++) {
			unsigned v = grams[in[i]];

			a32[c] = (uint32_t)i;
			c += v & GRAMS_CP;
			slow |= v;
		}
		fs[k] = o;
		o += m;
		fe[k] = o;
		if (slow & GRAMS_SLOW) {
			if (policy_skeleton_ascii(sk, s[k], l, c8, b8, a32) != (long)m)
				return -1;
			continue;
		}
		if (c != m)
			return -1;
		if (m == 0)
			continue;
		c8[0] = e[0] & ~LOOK_BND;
		b8[0] = POLICY_SKEL_HARD;
#if defined(LOOK_AVX2)
		if (lane == POLICY_SKEL_LANE_AVX2)
			j = seen_bounds_field32(e, a32, c8, b8, j, m);
#endif
#if defined(__SSE2__)
		for (; j + 8 <= m; j += 8)
			seen_bounds8(e, a32, c8, b8, j);
		/* the last < 8 as the 8 that end the field (those before them again, the same) */
		if (j < m && m > 8) {
			seen_bounds8(e, a32, c8, b8, m - 8);
			j = m;
		}
#endif
		for (; j < m; j++) {
			c8[j] = e[j] & ~LOOK_BND;
			b8[j] = a32[j] - a32[j - 1] != 1 ? POLICY_SKEL_HARD
				: e[j] & LOOK_BND	 ? POLICY_SKEL_SOFT
							 : POLICY_SKEL_NONE;
		}
	}
	return (long)o;
}

/* seen_reading_kept() where the AVX2 look read every field whole, else seen_reading(). */
POLICY_HOT
long policy_skel_seen_reading(const struct policy_skeleton *sk, const struct policy_skel_seen *g,
			      const char *const *s, const size_t *len, size_t n, uint8_t *cp,
			      uint8_t *bnd, uint32_t *at, size_t *fs, size_t *fe)
{
#if defined(LOOK_AVX2)
	if (sk->look_lane == POLICY_SKEL_LANE_AVX2 && g->partial == 0)
		return seen_reading_kept(g, len, n, cp, bnd, at, fs, fe);
#endif
	return seen_reading(sk, sk->look_lane, g, s, len, n, cp, bnd, at, fs, fe);
}

long policy_skel_seen_reading_with(const struct policy_skeleton *sk, enum policy_skel_lane lane,
				   const struct policy_skel_seen *g, const char *const *s,
				   const size_t *len, size_t n, uint8_t *cp, uint8_t *bnd,
				   uint32_t *at, size_t *fs, size_t *fe)
{
	if (!policy_skeleton_lane_usable(sk, lane))
		return -1;
#if defined(LOOK_AVX2)
	if (lane == POLICY_SKEL_LANE_AVX2 && g->partial == 0)
		return seen_reading_kept(g, len, n, cp, bnd, at, fs, fe);
#endif
	return seen_reading(sk, lane, g, s, len, n, cp, bnd, at, fs, fe);
}

/*
 * The boundaries word_unit() and the table loop above give, from what policy_skeleton_ascii()
 * read, one code point at a time. Each code point there is one byte that is one unit (a
 * letter or a digit), so its class is that byte's, and the reading's HARD boundaries are
 * exactly where a separator or the start came before it (b.pend), where word_unit() resets
 * its memory: so a code point's boundary depends only on the code points since the last of
 * those, as below.
 *
 * Which boundary a code point has is the text's, so no branch is taken on it (each was
 * mispredicted about as often as the case or kind changes): the classes of the code points
 * before and after are read unconditionally (the first's own where there is none before: it
 * has a HARD boundary, the start of its field; the last's own where there is none after) and
 * the verdicts combined. Only "0x" (word_unit()'s prev_is_0x), rare, is a branch, taken
 * where the code point before is an 'x'.
 */
_Static_assert(POLICY_SKEL_NONE == 0 && POLICY_SKEL_SOFT == 1 && POLICY_SKEL_HARD == 2,
	       "policy_skeleton_ascii_bounds()'s arithmetic");

POLICY_HOT
void policy_skeleton_ascii_bounds(const struct policy_skeleton *sk, const char *in,
				  const uint8_t *bnd, const uint32_t *at, size_t n, size_t a,
				  size_t b, uint8_t *out)
{
	const uint8_t *text = (const uint8_t *)in, *cls = sk->ascii_cls;

	for (size_t j = a; j < b; j++) {
		size_t jp = j > 0 ? j - 1 : j, jn = j + 1 < n ? j + 1 : j;
		unsigned c1 = text[at[jp]], k = cls[text[at[j]]], k1 = cls[c1];
		bool hard = bnd[j] == POLICY_SKEL_HARD, soft;

		/*
		 * After "0x" whose '0' has a boundary: the '0' is a digit, so it has one exactly
		 * after a separator or after a code point that is no digit (its own "0x" rule
		 * needs an 'x' before it, no digit either).
		 */
		if ((c1 | 0x20) == 'x' && j >= 2 && bnd[j - 1] != POLICY_SKEL_HARD &&
		    text[at[j - 2]] == '0' &&
		    (bnd[j - 2] == POLICY_SKEL_HARD || text[at[j - 3]] < '0' ||
		     text[at[j - 3]] > '9'))
			hard = true;
		/* not the first code point, nor after a separator: the one before is in its word;
		 * "CERTAlpha": the boundary is before the last capital of a run */
		soft = ((k1 == C_LOWER) & (k == C_UPPER)) | ((k1 == C_DIGIT) != (k == C_DIGIT)) |
		       ((jn != j) & (bnd[jn] != POLICY_SKEL_HARD) & (k1 == C_UPPER) &
			(k == C_UPPER) & (cls[text[at[jn]]] == C_LOWER));
		/* HARD, else SOFT, else NONE, by arithmetic: a conditional here became a branch */
		out[j - a] = (uint8_t)((unsigned)hard << 1 | (soft & !hard));
	}
}
