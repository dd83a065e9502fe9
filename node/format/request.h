/* SPDX-License-Identifier: MIT */
/*
 * node/format/request.h — parsing and validation of one local API request line (newline-delimited
 * JSON), with no I/O and no clock, so the fuzzer can drive it directly.
 *
 * A request is one JSON object with an "op" and, optionally, an "id" (any JSON value, echoed
 * in the response so clients can match responses to pipelined requests). Ops and fields:
 *
 *   publish | revoke | sight | false_positive
 *       Either one report given by the fields below at the top level, or "reports": an
 *       array of 1..NODE_REQ_BATCH_MAX report objects with those fields. The op fixes the
 *       kind (revoke, sighting, false_positive); publish takes an optional "kind"
 *       (default "indicator").
 *         value        string, required: the indicator
 *         type         string: ipv4 ipv6 domain url email md5 sha1 sha256 sha512;
 *                      detected from the value when absent
 *         tlp          string, required (fail closed): CLEAR GREEN AMBER AMBER+STRICT RED,
 *                      case-insensitive, optional "TLP:" prefix
 *         confidence   integer 0..100, default 50
 *         valid_until  integer milliseconds since the Unix epoch, or an RFC 3339 UTC time
 *                      "YYYY-MM-DDTHH:MM:SS[.fff]Z"; 1970-01-01T00:00:00.001Z ..
 *                      9999-12-31T23:59:59.999Z (PROTO_REPORT_TIME_MAX_MS)
 *         ttl          integer seconds 1..NODE_REQ_TTL_MAX (exclusive with valid_until)
 *         tags         array of at most 16 strings, 1..64 bytes, no control characters
 *         description  string, at most 2048 bytes
 *         anonymous    boolean, default false: sign with a linkable ring signature over
 *                      the newest roster's members instead of this node's identity key
 *                      (proto/ring.h); only for CLEAR and GREEN (PROTO_E_REPORT_PROVENANCE
 *                      on "anonymous" otherwise). An anonymous revoke withdraws this
 *                      node's anonymous report on the indicator (same linkability tag).
 *         recipients   array of member ids (64 hex digits); required for AMBER,
 *                      AMBER+STRICT and RED, refused for CLEAR and GREEN
 *         allow_names  boolean, default false: publish even though the description or a
 *                      tag names a member other than this node (NODE_E_NAMES_MEMBER
 *                      otherwise, before anything is signed; policy/redact.h decides)
 *         allow_warninglisted  boolean, default false: publish (kind indicator) a value
 *                      on the node's warninglists (policy/warnlist.h) all the same;
 *                      without it such an item fails with NODE_E_WARNINGLISTED
 *   query      "indicator_id" (64 hex digits), or "value" with optional "type"
 *   list       "since" (feed sequence, default 0), "limit" (1..NODE_REQ_LIST_MAX, default 100)
 *   seal       "values": array of 1..NODE_REQ_SEAL_MAX objects {"value", "type" (optional,
 *              detected when absent), "confidence" (0..100, default 50)}: sealed sightings
 *              (docs/SEALED.md); the whole request fails on the first bad value
 *   status, peers   no fields
 *   notify     a notice to another member team (proto/notice.h):
 *         form         object, required: a form (node/format/form.h), validated against
 *                      its schema (errors name "form.<field>"); at most
 *                      PROTO_NOTICE_FORM_MAX bytes as compact JSON
 *         tlp          string, required: AMBER, AMBER+STRICT or RED (a notice is never
 *                      CLEAR or GREEN)
 *         to           string: the recipient member (name, alias or >= 8 hex digits of
 *                      its id), or
 *         to_owner_of  string: a value (address, CIDR, domain, URL, e-mail, AS<n>) whose
 *                      owner by constituency is the recipient; exactly one of the two
 *         via          string, optional: a coordinating member that forwards the notice
 *                      under its own signature, without the notifier's identity
 *   notices    "format" (optional): "json" (default: every notice, status and local notice
 *              this node holds), "stix21" or "misp" (the notices it received, their forms
 *              redacted like descriptions, node/format/notice_fmt.h)
 *   notice_reply
 *         notice       string, required: the notice id (32 hex digits) or >= 8 of them
 *         status       string, required: received, investigating, resolved, not-ours
 *         comment      string, optional: 1..PROTO_NOTICE_COMMENT_MAX bytes
 *
 * Unknown fields are refused (a typo must not silently change meaning). In a batch every
 * item is validated on its own: a bad item gets its own error and the others go on.
 *
 * Errors: node_request_parse() fills a struct node_req_error with a code (a proto/error.h
 * value: NODE_E_JSON, NODE_E_OP, NODE_E_FIELD, PROTO_E_IND_TYPE, PROTO_E_IND_VALUE,
 * PROTO_E_REPORT_TLP, PROTO_E_REPORT_KIND, PROTO_E_REPORT_CONFIDENCE,
 * PROTO_E_REPORT_PROVENANCE, PROTO_E_REPORT_RECIPIENTS, PROTO_E_REPORT_TIME,
 * PROTO_E_REPORT_TAG, PROTO_E_TOO_LARGE), the field's path ("value", "reports[3].tlp",
 * "tags[1]"; empty when no field is at fault) and an English message. node_req_error_json() renders it as the "error" member of a response:
 * {"code": "PROTO_E_IND_VALUE", "number": -1101, "field": "value", "message": "..."}
 * ("field" is null when empty).
 *
 * Thread rules: none shared; a request may be handed to another thread as a whole.
 */
#ifndef CHATHAM_NODE_REQUEST_H
#define CHATHAM_NODE_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/indicator.h"
#include "proto/report.h"

#define NODE_REQ_BATCH_MAX 10000
#define NODE_REQ_LIST_MAX 1000
#define NODE_REQ_SEAL_MAX 1024 /* one OPRF_EVAL batch (proto/sealed_msg.h) */
#define NODE_REQ_LIST_DEFAULT 100
#define NODE_REQ_CONFIDENCE_DEFAULT 50
#define NODE_REQ_TTL_MAX (10ll * 366 * 24 * 3600) /* seconds */
/*
 * Shape limits checked on the text before it is parsed (memory is spent per JSON value, not
 * per byte): objects and arrays, and ',' and ':' separators, outside strings. A report
 * needs at most 3 containers (itself, tags, recipients) and 104 separators (13 fields,
 * 16 tags, 64 recipients, the ',' after it).
 */
#define NODE_REQ_CONTAINERS_MAX (3 * NODE_REQ_BATCH_MAX + 8)
#define NODE_REQ_SEPARATORS_MAX (105 * NODE_REQ_BATCH_MAX + 64)

enum node_req_op {
	NODE_OP_PUBLISH,
	NODE_OP_REVOKE,
	NODE_OP_SIGHT,
	NODE_OP_FALSE_POSITIVE,
	NODE_OP_QUERY,
	NODE_OP_LIST,
	NODE_OP_STATUS,
	NODE_OP_PEERS,
	NODE_OP_NOTIFY,
	NODE_OP_NOTICES,
	NODE_OP_NOTICE_REPLY,
	NODE_OP_SEAL,
};

/* One value to seal (op seal). */
struct node_req_sealed {
	struct proto_indicator ind; /* canonical */
	uint8_t confidence;
};

struct node_req_error {
	int code;	/* proto/error.h code, 0 when there is no error */
	char field[64]; /* path of the offending field, "" when none */
	char message[256];
};

/* One report to publish, validated. Every pointer is owned by the item. */
struct node_req_item {
	struct node_req_error error; /* code != 0: this item is rejected */
	uint8_t kind;		     /* enum proto_report_kind */
	uint8_t tlp;		     /* enum proto_tlp */
	uint8_t confidence;
	uint8_t ind_type; /* enum proto_ind_type */
	char *ind_value;  /* canonical, NUL-terminated */
	uint16_t ind_len;
	uint64_t valid_until_ms; /* absolute, 0 = none */
	uint64_t ttl_ms;	 /* relative to creation, 0 = none; exclusive with the above */
	size_t n_tags;
	char *tags[PROTO_REPORT_TAGS_MAX];
	char *description;	  /* NULL = none */
	bool anonymous;		  /* ring-signed; only with CLEAR/GREEN */
	bool allow_names;	  /* the text may name other members */
	bool allow_warninglisted; /* publish even when the value is warninglisted */
	size_t n_recipients;
	uint8_t (*recipients)[32]; /* ascending, distinct */
};

struct node_request {
	enum node_req_op op;
	json_t *id; /* the request's "id" (a new reference) or NULL */
	/* publish/revoke/sight/false_positive */
	bool batch; /* "reports" was given: answer per item */
	size_t n_items;
	struct node_req_item *items;
	/* query: the indicator id; @has_ind when the query named a value */
	uint8_t ind_id[32];
	bool has_ind;
	uint8_t ind_type;
	char *ind_value;
	/* list */
	uint64_t since;
	uint32_t limit;
	/* seal */
	size_t n_sealed;
	struct node_req_sealed *sealed;
	/* notify: form (compact JSON text), to / to_owner_of (one), via (optional); owned */
	char *form, *to, *to_owner_of, *via;
	uint8_t tlp;
	/* notice_reply: notice (hex id or prefix), status (enum proto_notice_status), comment */
	char *notice, *comment;
	uint8_t status;
	/* notices: enum node_req_notices_format */
	uint8_t format;
};

enum node_req_notices_format {
	NODE_NOTICES_JSON = 0,
	NODE_NOTICES_STIX21 = 1,
	NODE_NOTICES_MISP = 2,
};

/*
 * node_request_parse() - parse and validate one request line @line (@len bytes, borrowed,
 * without the newline). A line over the shape limits above is refused with
 * PROTO_E_TOO_LARGE before anything is allocated. On success *@out is a new request owned by the caller
 * (node_request_free()) and 0 is returned. On failure *@out is NULL, @err is filled and its
 * code returned; when the line was a JSON object its "id", if any, is still returned in
 * *@id_out (a new reference, caller json_decref()s) so the error response can echo it.
 * -ENOMEM is returned without filling @err.
 */
int node_request_parse(const char *line, size_t len, struct node_request **out, json_t **id_out,
		       struct node_req_error *err);

/*
 * node_req_parse_notify(), node_req_parse_notice_reply(), node_req_parse_notices() - the
 * fields of those ops from @root into @req (for node_request_parse(); errors as it
 * describes).
 */
int node_req_parse_notify(json_t *root, struct node_request *req, struct node_req_error *err);
int node_req_parse_notice_reply(json_t *root, struct node_request *req, struct node_req_error *err);
int node_req_parse_notices(json_t *root, struct node_request *req, struct node_req_error *err);

/* node_req_status_name() - "received", "investigating", "resolved", "not-ours"; NULL. */
const char *node_req_status_name(int status);

/*
 * node_req_refusal_name() - a NOTICE_REFUSED reason (enum proto_notice_refusal):
 * "not-addressed", "form", "forward", "handle", "thread"; NULL for a number not known.
 */
const char *node_req_refusal_name(int reason);

/*
 * node_request_free() - free @req and everything it owns. NULL is a no-op. Any thread: the
 * JSON id it holds is reference-counted atomically by jansson.
 */
void node_request_free(struct node_request *req);

/* node_req_op_name() - "publish", "revoke", ...; NULL for an unknown op. */
const char *node_req_op_name(int op);

/* node_req_op_is_publish() - whether @op stores reports (publish/revoke/sight/false_positive). */
bool node_req_op_is_publish(int op);

/* node_req_error_set() - fill @err; printf-style message. Returns @code. */
int node_req_error_set(struct node_req_error *err, int code, const char *field, const char *fmt,
		       ...) __attribute__((format(printf, 4, 5)));

/* node_req_error_json() - the "error" object for @err (new reference), or NULL on ENOMEM. */
json_t *node_req_error_json(const struct node_req_error *err);

/*
 * node_req_error_response() - a complete error response {"ok": false, "id": @id (omitted
 * when NULL), "error": {...}}. New reference or NULL on ENOMEM.
 */
json_t *node_req_error_response(json_t *id, const struct node_req_error *err);

/*
 * node_req_time_parse() - an RFC 3339 UTC time "YYYY-MM-DDTHH:MM:SS[.fraction]Z" (or with
 * a numeric offset "+hh:mm") into milliseconds since the Unix epoch. Returns 0, -EINVAL, or
 * -ERANGE for a time after PROTO_REPORT_TIME_MAX_MS (9999-12-31T23:59:59.999Z).
 */
int node_req_time_parse(const char *s, uint64_t *ms);

/*
 * node_req_ttl_parse() - a positive duration for --ttl: seconds, or a number with one of the
 * suffixes s, m, h, d. Returns 0 with *@seconds set, -EINVAL for bad syntax, -ERANGE above
 * NODE_REQ_TTL_MAX.
 */
int node_req_ttl_parse(const char *s, long long *seconds);

/* node_req_time_format() - @ms as "YYYY-MM-DDTHH:MM:SS.fffZ" into @buf (>= 25 bytes). */
char *node_req_time_format(uint64_t ms, char *buf, size_t len);

#endif
