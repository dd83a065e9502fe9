/* SPDX-License-Identifier: MIT */
/*
 * policy/skeleton.h — the canonical skeleton that redaction matches on (policy/redact.h).
 *
 * A text is mapped to a sequence of skeleton code points, each remembering the input bytes
 * it came from, in three steps:
 *
 *  1. Markup and encodings are undone, one input unit at a time: HTML tags ("<b>", "</i>",
 *     "<br/>"; of a tag with attributes only "<a": the attributes are read as text) are
 *     separators; HTML entities (named: a fixed table of the
 *     spaces, punctuation, invisible characters and Greek letters; numeric "&#65;" and
 *     "&#x41;", ';' optional; also escaped again, up to 4 times: "&amp;#65;") become their
 *     code point; percent-encoding ("%41", "%C3%A9"), also applied up to 4 times over
 *     ("%2541"), and backslash escapes ("\u0041", "\x41", "\U00000041", "\u{41}", a JSON
 *     surrogate pair "\uD835\uDC00") become their code point; the defanging words
 *     "[dot]", "(dot)", "{dot}", "[at]", "(at)", "{at}" (any case) are separators (bracketed
 *     punctuation such as "[.]" already is). The literal "[member]" (the redaction token) is
 *     a separator. Bytes that are not well-formed UTF-8 are opaque word characters that match
 *     nothing.
 *  2. Every code point goes through NFKC case folding; each resulting letter or number
 *     through the Unicode TR39 confusable skeleton (ICU's uspoof_getSkeleton), case folding
 *     again and canonical decomposition, of which letters and numbers are kept. TR39 maps a
 *     capital to a capital ('Τ' to 'T') but a small letter sometimes elsewhere ('τ' to 'ᴛ'),
 *     so the upper case of the letter is asked too and its answer wins when it is plain
 *     ASCII; either way a letter and its capital get the same skeleton. 'i' is 'l' (TR39
 *     makes 'I' and 'l' one, case folding 'I' and 'i'). Combining marks, format characters
 *     (Cf: zero width, bidi, soft hyphen...) and default-ignorable code points vanish
 *     without a trace ("Al\u00adpha" is "alpha"); everything else (spaces, punctuation,
 *     symbols, controls) is a separator, except that a symbol TR39 confuses with one ASCII
 *     letter or digit ('|' with 'l') is that letter in the decoded reading ("A|pha") and a
 *     separator in the plain one ("CERT|Alpha"), and counts in n_decoded so that both
 *     readings are made. A symbol, format character, digit or Latin letter whose Unicode
 *     name says it is an ASCII letter or digit in another dress that NFKC and TR39 leave
 *     alone is that letter: regional indicators, negative circled and squared letters,
 *     small capitals, tag characters (invisible, yet they spell), digits of other scripts.
 *  3. Separators do not appear in the skeleton; they only set boundaries. Each skeleton
 *     code point carries the boundary before it: POLICY_SKEL_HARD after a separator (or at
 *     the start), POLICY_SKEL_SOFT inside a run of letters where the case or the kind
 *     changes in the original ("certAlpha", "CERTAlpha", "Alpha2"), or 0. Japanese puts no
 *     space between words, so, as Unicode's default word rule (UAX #29) has it, each Han
 *     or Hiragana character is a word of its own and a run of Katakana one word: HARD
 *     before and after each, and at the ends of each run ("アルファから" is "アルファ" +
 *     "か" + "ら"; "アルファベット" stays one word). A hiragana character's skeleton is
 *     its katakana one's ("あるふぁ" reads "アルファ"); it stays a word of its own. HARD
 *     also after a "0x" prefix.
 *
 * The skeleton is a matching form only, never output. Thread rules: a built skeleton
 * context is immutable and may be used by any number of threads at once.
 */
#ifndef CHATHAM_POLICY_SKELETON_H
#define CHATHAM_POLICY_SKELETON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	POLICY_SKEL_NONE = 0,
	POLICY_SKEL_SOFT = 1,
	POLICY_SKEL_HARD = 2,
};

struct policy_skeleton;

/*
 * A mapped text: @len skeleton code points @cp, each from input bytes [@from, @to) and with
 * the boundary @bnd before it; @bnd[@len] is the boundary at the end (always HARD).
 * Initialise with {0}; policy_skeleton_map() appends, policy_skel_text_deinit() frees.
 */
struct policy_skel_text {
	uint32_t *cp;
	size_t *from;
	size_t *to;
	uint8_t *bnd;
	size_t len;
	size_t cap;
	size_t n_decoded; /* units markup decoding read otherwise than plain text would
			   * (tags, entities, escapes, defang words; not "[member]") */
	void *cache;	  /* private: code points above U+00FF already looked up */
};

/* policy_skeleton_new() - open the ICU services and build the table of the first 256 code
 * points. Returns NULL when out of memory or when ICU's data cannot be loaded. */
struct policy_skeleton *policy_skeleton_new(void);

/*
 * policy_skeleton_shared() - one process-wide context, built on the first call (any thread;
 * pthread_once) and never freed, so that a redactor rebuilt at every roster change or reload
 * does not pay for the ICU services and the table again. NULL when it could not be built.
 */
const struct policy_skeleton *policy_skeleton_shared(void);

/* policy_skeleton_free() - NULL is a no-op. Never on the shared context. */
void policy_skeleton_free(struct policy_skeleton *sk);

/*
 * policy_skel_text_reserve() - make room in @t for @n more code points, so that mapping
 * several texts into it allocates once (ASCII text maps to at most one code point a byte).
 * Returns 0 or -ENOMEM.
 */
int policy_skel_text_reserve(struct policy_skel_text *t, size_t n);

/* policy_skeleton_map() flag: read the text as plain text (step 1 only decodes UTF-8). */
#define POLICY_SKEL_PLAIN 1u

/*
 * policy_skeleton_map() flag: code points only, for a quick first look (policy/redact.c's
 * fast path). @cp and @len are what a map without it gives; @from holds the first byte of
 * each code point's input unit; @to is not written; @bnd is POLICY_SKEL_HARD exactly at the
 * first code point after the start or a separator (a place where mapping may start afresh
 * with the same result from there on), POLICY_SKEL_SOFT where a map without the flag may
 * put a boundary (a superset: only between two units of lower case or uncased letters,
 * not Han, Hiragana or Katakana, that do not follow an 'x' is there certainly none),
 * POLICY_SKEL_NONE elsewhere.
 */
#define POLICY_SKEL_CPS 2u

/*
 * policy_skeleton_map() flag, for tests: every unit through the general path, none through
 * the table loops that read plain ASCII a byte at a time; the result must be the same.
 */
#define POLICY_SKEL_GENERAL 4u

/*
 * policy_skeleton_map() - append the skeleton of @len bytes at @in (borrowed) to @t. Source
 * offsets are recorded as @base + offset in @in, so several fields can be mapped into one
 * text (their skeletons are separated by a HARD boundary). @flags: 0 or POLICY_SKEL_PLAIN, and
 * POLICY_SKEL_CPS, POLICY_SKEL_GENERAL.
 * Returns 0 or -ENOMEM (then @t holds a prefix and must still be deinitialised).
 */
int policy_skeleton_map(const struct policy_skeleton *sk, const char *in, size_t len, size_t base,
			unsigned flags, struct policy_skel_text *t);

/*
 * policy_skeleton_ascii() - what policy_skeleton_map() with POLICY_SKEL_CPS gives @len bytes
 * at @in (borrowed), without building a text, for text that both readings read alike: ASCII
 * whose every input unit is one byte (a letter, a digit or a separator, also '(', '%', '<'...
 * where they start no markup) or the token "[member]". The code points (all ASCII) go to
 * @cp, their boundaries (POLICY_SKEL_CPS's, as in policy_skel_text.bnd, without the one at
 * the end) to @bnd and the offset in @in of the byte each came from to @at, caller storage
 * of @len entries each. Returns how many code points (at most @len), or -1 as soon as the
 * text holds anything else (a byte >= 0x80, an entity, escape, tag or defang word, a
 * confusable symbol such as '|'): then only policy_skeleton_map() can tell, and the arrays
 * hold nothing useful. Where it returns n >= 0, policy_skeleton_map() with @base 0 gives the
 * same n code points, boundaries and @from, and counts nothing in n_decoded.
 */
long policy_skeleton_ascii(const struct policy_skeleton *sk, const char *in, size_t len,
			   uint8_t *cp, uint8_t *bnd, uint32_t *at);

/*
 * The first look's filter (policy_skeleton_look(); caller storage, zeroed, then
 * policy_skel_look_add() for every pattern): a blocked Bloom filter of POLICY_SKEL_LOOK_WORDS
 * 64-bit words (24 KiB), two bits of one word per gram, over grams of ASCII skeleton code
 * points in four classes. A pattern whose shortest match has L code points (its key_len) adds:
 *   L < 4:      its L code points whole (POLICY_SKEL_LOOK_SHORT, the length in the key);
 *   L >= 4:     its first 4 (POLICY_SKEL_LOOK_ANY4), and
 *     L < 8:    its first 4 again (POLICY_SKEL_LOOK_UPTO7),
 *     L >= 8:   its first 8 (POLICY_SKEL_LOOK_LONG8).
 * A match of the pattern starts with those code points, so a place whose grams are not in
 * the filter starts no match. ANY4 is looked up first at every place and the other two only
 * where it passes; the 8 code points keep the keys' random hex and base64 prefixes from
 * passing at numbers and words that merely share their first 4 (1 in ~250 places did).
 * ANY4 has the first 8 KiB to itself, so that what every place asks stays in the
 * first-level cache; the other classes share the other 16 KiB.
 */
#define POLICY_SKEL_LOOK_WORDS (3u << 10)
enum {
	POLICY_SKEL_LOOK_SHORT = 0,
	POLICY_SKEL_LOOK_ANY4 = 1,
	POLICY_SKEL_LOOK_UPTO7 = 2,
	POLICY_SKEL_LOOK_LONG8 = 3,
};

struct policy_skel_look {
	uint64_t w[POLICY_SKEL_LOOK_WORDS];
	unsigned short_lens; /* bit L (1 to 3): some pattern of L code points was added */
};

/*
 * policy_skel_look_add() - add the grams of a pattern whose skeleton @c starts with at least
 * min(@key_len, 8) code points and whose shortest match has @key_len (>= 1). A pattern with a
 * code point >= 0x80 among those is not added: ASCII text never gives it.
 */
void policy_skel_look_add(struct policy_skel_look *f, const uint32_t *c, size_t key_len);

/* Limits of policy_skeleton_look(): fields, bytes in all, places listed. */
#define POLICY_SKEL_LOOK_FIELDS 32
#define POLICY_SKEL_LOOK_BYTES 1024
#define POLICY_SKEL_LOOK_HITS 64

/* What policy_skeleton_look() found (caller storage). */
struct policy_skel_seen {
	/*
	 * The places (code point indices in the fields' readings joined, as policy_skeleton_
	 * ascii() gives each) where a gram that lies inside its field passed, in order, each
	 * once; @n_hits > POLICY_SKEL_LOOK_HITS: more than were listed.
	 */
	uint32_t hits[POLICY_SKEL_LOOK_HITS];
	size_t n_hits;
	/*
	 * Some gram that passed runs past the end of its field: on into the fields after it
	 * (the reading joined) or into the head of any other field but the next (as a pair: the
	 * tail of one field from a boundary, then the head of another).
	 */
	bool crossing;
	/*
	 * private: the reading, the fields' code points joined, one byte each with its
	 * boundary in the top bit (@o of them, then zeros), field i at [@fs[i], @fe[i])
	 */
	uint8_t c[POLICY_SKEL_LOOK_BYTES + 64];
	size_t fs[POLICY_SKEL_LOOK_FIELDS], fe[POLICY_SKEL_LOOK_FIELDS], o;
	/*
	 * private: the AVX2 lane's entries, one a byte of the fields joined (their bytes, not
	 * code points; 32 more written over past the last): 0xFF where the byte is a code
	 * point (policy_skel_seen_reading() takes the byte offsets from them); bit i of
	 * @partial: field i's are not to be used (another lane read it, or the byte loop read
	 * some of it)
	 */
	uint8_t k[POLICY_SKEL_LOOK_BYTES + 32];
	uint32_t partial;
};

/*
 * policy_skeleton_look() - read @n fields (@s[i] of @len[i] bytes, borrowed) as
 * policy_skeleton_ascii() reads each (the same code points and POLICY_SKEL_CPS boundaries,
 * the same refusals), joined in order as one text, and look up @f's grams at every code
 * point that has a boundary: read on across the fields (joined), and from the last 7 code
 * points of each field on into the head of every other field but the next (pairs).
 * Returns 0 when no gram is in @f (no pattern added to @f can start a match in any of those
 * readings), 1 when some is (@g says where), -1 when policy_skeleton_ascii() would refuse a
 * field, or there are more than POLICY_SKEL_LOOK_FIELDS fields or POLICY_SKEL_LOOK_BYTES
 * bytes, or the machine is big-endian (the look reads its code points as little-endian words):
 * then @g holds nothing useful.
 */
int policy_skeleton_look(const struct policy_skeleton *sk, const char *const *s, const size_t *len,
			 size_t n, const struct policy_skel_look *f, struct policy_skel_seen *g);

/*
 * The first look's readers of the bytes. A byte at a time (the portable reading, and the
 * one for the bytes a lane leaves to it: markup, '|', non-ASCII), with the boundaries taken
 * 8 at a time without SIMD: what a build without SSE2 reads with. On x86-64, the SSE2 lane
 * (16 bytes a step) and the AVX2 lane (32 bytes a step, BMI2's pext moving the code points
 * together; it needs AVX2, BMI1, BMI2 and POPCNT), each usable only where the CPU can run
 * it and its classes agree with the context's table (checked when the context is made).
 * All give the same results.
 */
enum policy_skel_lane {
	POLICY_SKEL_LANE_BYTES = 0,
	POLICY_SKEL_LANE_SSE2 = 1,
	POLICY_SKEL_LANE_AVX2 = 2,
	POLICY_SKEL_LANES = 3,
};

/*
 * policy_skeleton_look_with() - policy_skeleton_look() read by @lane, for tests that compare
 * the readers (each against POLICY_SKEL_LANE_BYTES). Returns -1, as for a field it refuses,
 * when @sk cannot use @lane (policy_skeleton_lane_usable()).
 */
int policy_skeleton_look_with(const struct policy_skeleton *sk, enum policy_skel_lane lane,
			      const char *const *s, const size_t *len, size_t n,
			      const struct policy_skel_look *f, struct policy_skel_seen *g);

/*
 * policy_skeleton_lane_usable() - whether @sk can read with @lane: the build has it, the CPU
 * can run it, and its classes agree with @sk's table. POLICY_SKEL_LANE_BYTES always. Tests
 * force and compare every usable lane, the preferred one or not.
 */
bool policy_skeleton_lane_usable(const struct policy_skeleton *sk, enum policy_skel_lane lane);

/*
 * policy_skeleton_look_lane() - the lane policy_skeleton_look() reads with, chosen when @sk
 * is made: the widest usable one, but the SSE2 lane rather than the AVX2 one on AMD's family
 * 17h (Zen 1 and 2), whose pext is microcode (slow there, correct everywhere).
 */
enum policy_skel_lane policy_skeleton_look_lane(const struct policy_skeleton *sk);

/*
 * policy_skeleton_ascii_bounds() - the boundaries policy_skeleton_map() without flags gives a
 * text that policy_skeleton_ascii() read, without mapping it again: @in (borrowed) the text's
 * bytes, @bnd and @at (@n entries each) what policy_skeleton_ascii() gave for it. Into
 * @out[k] (caller storage of @b - @a entries) the boundary of code point @a + k, for @a <= @a
 * + k < @b <= @n (the boundary at @n, the end, is always POLICY_SKEL_HARD). Each is computed
 * on its own, from the few code points around it. The code points themselves are the
 * reading's, and each came from the one byte @at names.
 */
void policy_skeleton_ascii_bounds(const struct policy_skeleton *sk, const char *in,
				  const uint8_t *bnd, const uint32_t *at, size_t n, size_t a,
				  size_t b, uint8_t *out);

/*
 * policy_skel_look_reading() - policy_skeleton_look()'s look over a reading already made:
 * @total code points @cp with their POLICY_SKEL_CPS boundaries @bnd (what policy_skeleton_
 * ascii() gives the @n fields joined, or a reading built like it), field i at [@fs[i],
 * @fe[i]). Returns 0, 1 (@g says where) as policy_skeleton_look(), or -1 when there are more
 * than POLICY_SKEL_LOOK_FIELDS fields or POLICY_SKEL_LOOK_BYTES code points, a code point is
 * not ASCII or a boundary not one of the three, or the machine is big-endian.
 */
int policy_skel_look_reading(const struct policy_skel_look *f, const uint8_t *cp,
			     const uint8_t *bnd, const size_t *fs, const size_t *fe, size_t n,
			     size_t total, struct policy_skel_seen *g);

/*
 * policy_skel_seen_field() - how many code points field @i has in the reading of
 * policy_skeleton_look() (after it returned 0 or 1 into @g), and the first min(that, @max)
 * of them into @cp (caller storage of @max entries). For policy/redact.c's chain check,
 * which needs the fields' own skeletons only when they are short.
 */
size_t policy_skel_seen_field(const struct policy_skel_seen *g, size_t i, uint32_t *cp, size_t max);

/*
 * policy_skel_seen_head() - policy_skel_seen_field() with @max 1, inline (the chain check asks
 * it of every field of every view): field @i's length, and its first code point into *@c0
 * (meaningless when the length is 0).
 */
static inline size_t policy_skel_seen_head(const struct policy_skel_seen *g, size_t i, uint32_t *c0)
{
	*c0 = g->c[g->fs[i]] & 0x7Fu; /* without the boundary bit; zeros follow the reading */
	return g->fe[i] - g->fs[i];
}

/*
 * policy_skel_seen_reading() - the reading policy_skeleton_ascii() gives the @n fields (@s[i]
 * of @len[i] bytes, borrowed) that policy_skeleton_look() read into @g (it returned 0 or 1),
 * taken from @g rather than read again where it can be: the code points of field i into @cp,
 * their boundaries into @bnd and the offset in @s[i] of the byte each came from into @at,
 * from @fs[i] to @fe[i] (the fields joined; caller storage: @cp and @bnd of as many entries
 * as the fields have bytes, @at of 8 more, which may be written over, @fs and @fe of @n).
 * Returns the number of code points, or -1 when the fields are not the ones the look read
 * (then the arrays hold nothing useful).
 */
long policy_skel_seen_reading(const struct policy_skeleton *sk, const struct policy_skel_seen *g,
			      const char *const *s, const size_t *len, size_t n, uint8_t *cp,
			      uint8_t *bnd, uint32_t *at, size_t *fs, size_t *fe);

/*
 * policy_skel_seen_reading_with() - policy_skel_seen_reading() with its byte offsets counted
 * by @lane's classes (the byte loop's table for POLICY_SKEL_LANE_BYTES), for tests that
 * compare them. Returns -1 when @sk cannot use @lane (policy_skeleton_lane_usable()).
 */
long policy_skel_seen_reading_with(const struct policy_skeleton *sk, enum policy_skel_lane lane,
				   const struct policy_skel_seen *g, const char *const *s,
				   const size_t *len, size_t n, uint8_t *cp, uint8_t *bnd,
				   uint32_t *at, size_t *fs, size_t *fe);

/* policy_skel_text_deinit() - free @t's arrays and reset it to empty. */
void policy_skel_text_deinit(struct policy_skel_text *t);

#endif
