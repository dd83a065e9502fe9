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
 * Decoded reports are views: every pointer in struct proto_report borrows from the buffer
 * that was decoded and is valid only while that buffer is.
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
	const uint8_t *recipients; /* n_recipients * 32 bytes, ascending */

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
 * Validates every field against the limits and rules above (kind, tlp, confidence,
 * recipients vs TLP, canonical indicator, UTF-8 of tags and description).
 * On success *@out is a malloc'd buffer owned by the caller (free()), *@out_len its length.
 * Returns 0, -ENOMEM, or the PROTO_E_* code of the first invalid field.
 */
int proto_report_encode_body(const struct proto_report *r, uint8_t **out, size_t *out_len);

/*
 * proto_report_sign() - encode the body of @r (attributed provenance; r->signer must equal the
 * public half of @sk) and sign it with the Ed25519 identity secret key @sk (borrowed, 64
 * bytes). On success *@out (malloc'd, caller frees) holds the complete signed encoding.
 */
int proto_report_sign(const struct proto_report *r, const uint8_t sk[64], uint8_t **out,
		      size_t *out_len);

/*
 * proto_report_assemble() - build the signed encoding from an already-encoded @body and a
 * signature (used by anonymous publishing, whose ring signature is made in proto/ring.h).
 */
int proto_report_assemble(const uint8_t *body, size_t body_len, const uint8_t *sig, size_t sig_len,
			  uint8_t **out, size_t *out_len);

/*
 * proto_report_decode() - strict canonical decode of a signed report in @buf (borrowed; @r
 * borrows from it). Checks encoding, limits and field rules but NOT the signature.
 * Returns 0 or a PROTO_E_* code naming the first problem.
 */
int proto_report_decode(struct proto_report *r, const uint8_t *buf, size_t len);

/*
 * proto_report_verify_attributed() - verify the Ed25519 signature of a decoded attributed
 * report against @identity_pk (the signer's identity key, normally r->signer itself).
 * Returns 0, PROTO_E_REPORT_PROVENANCE if @r is anonymous, or PROTO_E_REPORT_SIG.
 */
int proto_report_verify_attributed(const struct proto_report *r, const uint8_t identity_pk[32]);

/* proto_report_id() - report_id = BLAKE2b-256 of the signed encoding @buf. */
void proto_report_id(const uint8_t *buf, size_t len, uint8_t id[32]);

/* proto_report_indicator_id() - indicator id of a decoded report. */
void proto_report_indicator_id(const struct proto_report *r, uint8_t id[32]);

/* Names: "indicator"/"sighting"/..., "CLEAR"/"GREEN"/"AMBER"/"AMBER+STRICT"/"RED". NULL if unknown. */
const char *proto_report_kind_name(int kind);
int proto_report_kind_from_name(const char *name); /* -1 if unknown */
const char *proto_tlp_name(int tlp);
int proto_tlp_from_name(
	const char *name); /* case-insensitive, accepts "TLP:" prefix; -1 if unknown */

#endif
