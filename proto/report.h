/* SPDX-License-Identifier: MIT */
/*
 * proto/report.h — signed indicator reports and their canonical msgpack encoding
 * (DESIGN.md §2, §4).
 *
 * Wire form of a signed report (all canonical msgpack, DESIGN.md §4):
 *
 *     signed = array(2) [ body: bin, signature: bin ]
 *     body   = map { 0: version (1), 1: community id (bin 32), 2: kind, 3: indicator type,
 *                    4: indicator value (str, canonical), 5: tlp, 6: confidence (0-100),
 *                    7: created (ms since the Unix epoch), 8: valid_until (ms, optional),
 *                    9: tags (array of str, optional, omitted when empty),
 *                    10: description (str, optional), 11: recipients (array of member ids,
 *                    bin 32, ascending and distinct; required for AMBER, AMBER+STRICT and
 *                    RED, forbidden for CLEAR and GREEN), 12: provenance (map) }
 *     provenance (attributed) = map { 0: 0, 1: signer member id (bin 32), 2: roster epoch }
 *     provenance (anonymous)  = map { 0: 1, 2: roster epoch, 3: ring (array of member
 *                    indexes into that epoch's member list, ascending and distinct; omitted
 *                    when the ring is the whole roster), 4: linkability tag (bin 32) }
 *
 * The roster epoch named in the provenance is the one the report is verified against: nodes
 * keep every roster epoch they accepted. Anonymous provenance is allowed only for CLEAR and
 * GREEN: AMBER and RED travel directly from the origin, which reveals it to the recipient.
 *
 * The signature covers "chatham/report/1" || body: Ed25519 by the signer's identity key for
 * attributed reports (64 bytes), a linkable ring signature (proto/ring.h) for anonymous ones.
 * report_id = BLAKE2b-256(signed), i.e. of the whole canonical encoding.
 *
 * A member id is the member's Ed25519 identity public key.
 *
 * Field rules (the encoder and the decoder enforce the same ones; error in brackets):
 *   version 1 [PROTO_E_VERSION]; kind 0..3 [PROTO_E_REPORT_KIND]; indicator type known
 *   [PROTO_E_IND_TYPE] and value already canonical, i.e. proto_indicator_parse() gives back
 *   the same bytes [PROTO_E_IND_VALUE]; tlp 1..5, and a body without key 5 is refused (fail
 *   closed) [PROTO_E_REPORT_TLP]; confidence 0..100 [PROTO_E_REPORT_CONFIDENCE]; created > 0,
 *   valid_until absent or > created, both at most PROTO_REPORT_TIME_MAX_MS (the last
 *   millisecond of 9999-12-31 UTC, so every time has a 4-digit RFC 3339 year)
 *   [PROTO_E_REPORT_TIME]; tags 1..64 bytes of UTF-8 without
 *   control characters (C0, DEL, C1), ascending bytewise and distinct [PROTO_E_REPORT_TAG];
 *   recipients ascending and distinct, present exactly when tlp >= AMBER
 *   [PROTO_E_REPORT_RECIPIENTS]; provenance type 0/1, epoch >= 1, only the keys of its type,
 *   anonymous only with CLEAR/GREEN, ring indexes < PROTO_ROSTER_MEMBERS_MAX (4096)
 *   [PROTO_E_RANGE], ascending and distinct [PROTO_E_REPORT_PROVENANCE]; counts and lengths
 *   over the limits below [PROTO_E_TOO_LARGE]. Optional keys are omitted when empty: a
 *   present but empty tags/recipients/ring array or description is [PROTO_E_EMPTY], a
 *   present valid_until of 0 [PROTO_E_REPORT_TIME].
 *
 * Canonical-encoding rejections of the decoder, one code each: key order PROTO_E_KEY_ORDER,
 * duplicate key PROTO_E_KEY_DUP, non-minimal integer or length PROTO_E_NONMINIMAL, float
 * PROTO_E_FLOAT, invalid UTF-8 PROTO_E_UTF8, bin/str confusion or another wrong type
 * PROTO_E_TYPE, unknown key PROTO_E_KEY_UNKNOWN, missing key PROTO_E_KEY_MISSING, trailing
 * bytes PROTO_E_TRAILING, a container where the schema nests no further PROTO_E_DEPTH, size
 * over a limit PROTO_E_TOO_LARGE, an id that is not 32 bytes PROTO_E_RANGE.
 *
 * Signature length: 64 for attributed; (n+1)*32 + 32 for anonymous with an explicit ring of
 * n; with the ring omitted the decoder only requires a multiple of 32 of at least 96 bytes
 * (policy checks the exact size against the roster) [PROTO_E_REPORT_SIG].
 *
 * Decoded reports are views: every pointer in struct proto_report (except @recipients, see
 * there) borrows from the buffer that was decoded and is valid only while that buffer is.
 */
#ifndef CHATHAM_PROTO_REPORT_H
#define CHATHAM_PROTO_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/indicator.h"

/* Documented limits; the decoder rejects anything over them with PROTO_E_TOO_LARGE. */
#define PROTO_REPORT_MAX_BYTES 16384   /* whole signed encoding */
#define PROTO_REPORT_TAGS_MAX 16       /* tags per report */
#define PROTO_REPORT_TAG_LEN_MAX 64    /* bytes per tag (UTF-8, no control characters) */
#define PROTO_REPORT_DESC_MAX 2048     /* description bytes (UTF-8) */
#define PROTO_REPORT_RECIPIENTS_MAX 64 /* named recipients of an AMBER/RED report */
#define PROTO_REPORT_RING_MAX 256      /* members in an anonymous report's ring */
#define PROTO_REPORT_SIG_MAX ((PROTO_REPORT_RING_MAX + 1) * 32 + 32)
/*
 * Latest time any report field may name: 9999-12-31T23:59:59.999Z in ms since the Unix epoch
 * (earliest: 1 ms after the epoch). A later time would need a 5-digit year, which RFC 3339,
 * STIX and most SIEM parsers refuse; the API, this codec and admission all enforce it.
 */
#define PROTO_REPORT_TIME_MAX_MS 253402300799999ull

#define PROTO_REPORT_DOMAIN "chatham/report/1"

enum proto_report_kind {
	PROTO_KIND_INDICATOR = 0,      /* the indicator is malicious */
	PROTO_KIND_SIGHTING = 1,       /* seen here */
	PROTO_KIND_FALSE_POSITIVE = 2, /* not malicious */
	PROTO_KIND_REVOKE = 3,	       /* withdraw my earlier report on this indicator */
};

/* TLP 2.0. Ordered from least to most restrictive, so max() gives the strictest. 0 = absent. */
enum proto_tlp {
	PROTO_TLP_CLEAR = 1,
	PROTO_TLP_GREEN = 2,
	PROTO_TLP_AMBER = 3,
	PROTO_TLP_AMBER_STRICT = 4,
	PROTO_TLP_RED = 5,
};

enum proto_provenance {
	PROTO_PROV_ATTRIBUTED = 0,
	PROTO_PROV_ANONYMOUS = 1,
};

struct proto_str {
	const char *ptr; /* not NUL-terminated */
	size_t len;
};

struct proto_report {
	uint8_t community[32];
	uint8_t kind; /* enum proto_report_kind */
	uint8_t tlp;  /* enum proto_tlp */
	uint8_t confidence;
	uint64_t created_ms;
	uint64_t valid_until_ms; /* 0: no expiry */
	uint8_t ind_type;	 /* enum proto_ind_type */
	struct proto_str ind_value;
	size_t n_tags;
	struct proto_str tags[PROTO_REPORT_TAGS_MAX];
	struct proto_str description; /* len 0: none */
	size_t n_recipients;
	/*
	 * The first n_recipients member ids. Encoding: filled by the caller, any order (the
	 * encoder sorts a copy). Decoding: filled in wire order. Held in the struct itself (the
	 * wire form interleaves the ids with bin headers), so a copy of the struct is complete.
	 */
	uint8_t recipients[PROTO_REPORT_RECIPIENTS_MAX][32];

	uint8_t prov;			      /* enum proto_provenance */
	uint8_t signer[32];		      /* attributed: member id */
	uint64_t epoch;			      /* roster epoch the report is verified against */
	size_t ring_n;			      /* anonymous: 0 = whole roster of @epoch */
	uint16_t ring[PROTO_REPORT_RING_MAX]; /* anonymous: member indexes, ascending */
	uint8_t link_tag[32];		      /* anonymous: linkability tag */

	/* Filled by proto_report_decode(): borrowed from the decoded buffer. */
	const uint8_t
		*body; /* canonical body bytes (what the signature covers, after the prefix) */
	size_t body_len;
	const uint8_t *sig;
	size_t sig_len;
};

/*
 * proto_report_encode_body() - canonical body encoding of @r (borrowed; body/sig ignored).
 * Validates every field against the limits and rules above. Tags, recipients and ring may be
 * given in any order: the encoder sorts copies (the caller's arrays are not modified);
 * duplicates are refused. Fields of the other provenance type are ignored (signer for
 * anonymous, link_tag for attributed), but a ring on an attributed report is refused.
 * On success *@out is a malloc'd buffer owned by the caller (free()), *@out_len its length.
 * Returns 0, -ENOMEM, -EINVAL (description.len > 0 with a NULL pointer), or the PROTO_E_*
 * code of the first invalid field. Thread-safe; allocates only the result.
 */
int proto_report_encode_body(const struct proto_report *r, uint8_t **out, size_t *out_len);

/*
 * proto_report_sign() - encode the body of @r (attributed provenance; r->signer must equal the
 * public half of @sk) and sign PROTO_REPORT_DOMAIN || body with the Ed25519 identity secret
 * key @sk (borrowed, 64 bytes, libsodium layout seed || pk). Deterministic: the same report
 * and key give the same bytes. On success *@out (malloc'd, caller frees) holds the complete
 * signed encoding. Returns 0, PROTO_E_REPORT_PROVENANCE (anonymous, or signer != public half
 * of @sk), or an error of proto_report_encode_body(); nothing is allocated on failure.
 */
int proto_report_sign(const struct proto_report *r, const uint8_t sk[64], uint8_t **out,
		      size_t *out_len);

/*
 * proto_report_assemble() - build the signed encoding from an already-encoded @body and a
 * signature @sig (both borrowed; used by anonymous publishing, whose ring signature is made
 * in proto/ring.h). The result is checked with proto_report_decode(), so only bytes a peer
 * would accept are produced (the signature itself is not verified). On success *@out
 * (malloc'd, caller frees) holds the signed encoding; on failure *@out is NULL.
 * Returns 0, -ENOMEM or the decoder's PROTO_E_* code.
 */
int proto_report_assemble(const uint8_t *body, size_t body_len, const uint8_t *sig, size_t sig_len,
			  uint8_t **out, size_t *out_len);

/*
 * proto_report_decode() - strict canonical decode of a signed report in @buf (borrowed; @r
 * borrows from it). Checks encoding, limits, field rules and the signature's length, but NOT
 * the signature. The length limit PROTO_REPORT_MAX_BYTES is checked before anything else.
 * Allocates nothing; about 0.5 us for a typical report (docs/PERFORMANCE.md).
 * Returns 0 or a PROTO_E_* code naming the first problem; @r is unspecified on failure.
 */
int proto_report_decode(struct proto_report *r, const uint8_t *buf, size_t len);

/*
 * proto_report_verify_attributed() - verify the Ed25519 signature over PROTO_REPORT_DOMAIN ||
 * body of a decoded attributed report against @identity_pk (the signer's identity key,
 * normally r->signer itself; whether that key belongs to a roster member is policy's
 * question). Returns 0, PROTO_E_REPORT_PROVENANCE if @r is anonymous, or PROTO_E_REPORT_SIG.
 */
int proto_report_verify_attributed(const struct proto_report *r, const uint8_t identity_pk[32]);

/*
 * proto_report_tag_valid() - whether @s (@len bytes, borrowed) is acceptable as a tag:
 * 1..PROTO_REPORT_TAG_LEN_MAX bytes of valid UTF-8 without control characters (C0, DEL, C1).
 * proto_report_text_valid() - whether @s is valid UTF-8 (the rule for descriptions, apart
 * from their length). Importers use these to refuse what the codec would refuse.
 */
bool proto_report_tag_valid(const char *s, size_t len);
bool proto_report_text_valid(const char *s, size_t len);

/* proto_report_id() - report_id = BLAKE2b-256 of the signed encoding @buf. */
void proto_report_id(const uint8_t *buf, size_t len, uint8_t id[32]);

/* proto_report_indicator_id() - indicator id of a decoded report. */
void proto_report_indicator_id(const struct proto_report *r, uint8_t id[32]);

/* Names: "indicator"/"sighting"/..., "CLEAR"/"GREEN"/"AMBER"/"AMBER+STRICT"/"RED". NULL if unknown. */
const char *proto_report_kind_name(int kind);
int proto_report_kind_from_name(const char *name); /* -1 if unknown */
const char *proto_tlp_name(int tlp);
/*
 * proto_tlp_from_name() - case-insensitive, optional "TLP:" prefix; TLP 1.0's "WHITE" is read
 * as CLEAR. -1 if unknown. proto_report_kind_from_name() is case-insensitive too.
 */
int proto_tlp_from_name(const char *name);

#endif
