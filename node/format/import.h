/* SPDX-License-Identifier: MIT */
/*
 * node/format/import.h — parsers for indicator files given to `chatham publish --file`: plain lines,
 * CSV, STIX 2.1 bundles and MISP event JSON. No I/O and no clock: the caller feeds bytes
 * (from a file, or a fuzzer's buffer) and receives one event per item found.
 *
 * Formats (docs/chatham.1.scd, IMPORT FORMATS, says the same for operators):
 *
 *   plain   one value per line, type detected with proto_indicator_detect(). Blank lines and
 *           lines whose first non-blank character is '#' are skipped; a '#' or ';' that
 *           follows whitespace starts a trailing comment ("1.2.3.4  # c2"). A UTF-8 BOM and
 *           CR before LF are ignored. Nothing is refanged: "example[.]com" is invalid with a
 *           reason that says so. A line of more than NODE_IMPORT_LINE_MAX bytes is invalid.
 *
 *   csv     RFC 4180 (quoted fields, "" inside quotes, line breaks inside quotes, CRLF or
 *           LF). Blank lines and '#' comment lines may precede the header. The header names
 *           the columns, in any order, case-insensitively: "value" (required), "type"
 *           (empty cell: detected), "tlp", "confidence" (0-100), "valid_until" (RFC 3339 or
 *           ms since the epoch), "tags" (separated by ';'), "description". Other columns
 *           (e.g. those of `chatham export --format csv`) are ignored with one warning
 *           event. A record of more than NODE_IMPORT_LINE_MAX bytes, or with a field count
 *           other than the header's, is invalid.
 *
 *   stix21  a bundle (or one bare indicator object). Every "indicator" with pattern_type
 *           "stix" whose pattern is one equality, or an OR of equalities (inside one
 *           observation or across observations), on ipv4-addr:value, ipv6-addr:value,
 *           domain-name:value, url:value, email-addr:value, email-message:from_ref.value or
 *           file:hashes.(MD5|SHA-1|SHA-256|SHA-512) yields one item per equality. Any other
 *           pattern (AND, FOLLOWEDBY, qualifiers, other operators, other paths) is skipped
 *           with the reason. Revoked indicators are skipped, and with @now_ms so are those
 *           whose valid_until has passed. TLP: the strictest TLP among object_marking_refs,
 *           resolved through the TLP 2.0 and TLP 1.0 marking-definition ids and through
 *           marking-definition objects of the bundle. confidence and valid_until are kept;
 *           labels (as tags) and description only with @keep_text. Objects that are not
 *           indicators are counted in one warning event.
 *
 *   misp    {"Event": {...}}, {"response": [{"Event": {...}}, ...]}, an array of those, or
 *           a bare event object. Attributes of Event.Attribute[] and Event.Object[].Attribute[]
 *           with types ip-src, ip-dst, ip-src|port, ip-dst|port, domain, hostname,
 *           hostname|port, domain|ip (two items), url, email, email-src, email-dst,
 *           email-reply-to, md5, sha1, sha256, sha512 and filename|<hash> become items;
 *           other types, deleted attributes and (unless @include_non_ids) attributes with
 *           to_ids false are skipped. TLP: the strictest "tlp:" tag of the attribute and its
 *           event. Other tags (as tags) and the comment (as description) only with
 *           @keep_text.
 *
 * JSON formats are parsed whole, so at most NODE_IMPORT_JSON_MAX bytes are buffered; plain
 * and CSV never hold more than one line or record (NODE_IMPORT_LINE_MAX) plus the item.
 *
 * Events: for each item the callback gets NODE_IMPORT_OK with the item; for each rejected
 * one NODE_IMPORT_INVALID (bad value, bad field) or NODE_IMPORT_SKIPPED (well-formed but
 * unsupported or not wanted) with a reason; NODE_IMPORT_WARNING carries a file-level remark.
 * Every event names its place ("line 12", "objects[3]", "Event.Attribute[5]").
 *
 * Errors (returned by node_import_feed()/node_import_finish()): 0; a non-zero value the
 * callback returned (parsing stops, and that value is passed through); NODE_E_IMPORT when the
 * file as a whole is unusable (not JSON, JSON over the size limit, no bundle/event, a CSV
 * header without a value column or with a repeated column), with a message from
 * node_import_error(); -ENOMEM. After an error the parser accepts no more input.
 *
 * Thread rules: a parser belongs to one thread; parsers share nothing.
 */
#ifndef CHATHAM_NODE_IMPORT_H
#define CHATHAM_NODE_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/indicator.h"
#include "proto/report.h"

#define NODE_IMPORT_LINE_MAX 65536	  /* bytes in one plain line or CSV record */
#define NODE_IMPORT_JSON_MAX (256u << 20) /* bytes of a STIX or MISP file */
#define NODE_IMPORT_CSV_FIELDS_MAX 64	  /* columns in a CSV file */

enum node_import_format {
	NODE_IMPORT_AUTO = 0, /* decided from the first bytes, see node_import_detect() */
	NODE_IMPORT_PLAIN,
	NODE_IMPORT_CSV,
	NODE_IMPORT_STIX21,
	NODE_IMPORT_MISP,
};

/* One indicator found in the file, with what the file said about it. */
struct node_import_item {
	struct proto_indicator ind; /* canonical */
	uint8_t tlp;		    /* enum proto_tlp; 0: the file gave none */
	int confidence;		    /* 0-100; -1: the file gave none */
	uint64_t valid_until_ms;    /* 0: the file gave none */
	size_t n_tags;		    /* distinct, each 1..PROTO_REPORT_TAG_LEN_MAX bytes */
	char tags[PROTO_REPORT_TAGS_MAX][PROTO_REPORT_TAG_LEN_MAX + 1];
	size_t description_len; /* 0: none; valid UTF-8 without NUL */
	char description[PROTO_REPORT_DESC_MAX + 1];
};

enum node_import_status {
	NODE_IMPORT_OK,	     /* @item is set */
	NODE_IMPORT_INVALID, /* malformed item: @reason */
	NODE_IMPORT_SKIPPED, /* unsupported or unwanted item: @reason */
	NODE_IMPORT_WARNING, /* remark about the file, not an item: @reason */
};

struct node_import_event {
	enum node_import_status status;
	const char *where;		     /* "line 12", "objects[3]", ... */
	const char *reason;		     /* NULL for NODE_IMPORT_OK */
	const struct node_import_item *item; /* NODE_IMPORT_OK only */
};

/*
 * Event callback. Everything @ev points to is valid during the call only. Return 0 to go on;
 * any other value stops parsing and is returned by the feed/finish call that was running.
 */
typedef int (*node_import_cb)(void *ctx, const struct node_import_event *ev);

struct node_import_config {
	int format;	      /* enum node_import_format */
	bool keep_text;	      /* STIX labels/description, MISP tags/comment */
	bool include_non_ids; /* MISP attributes with to_ids false */
	uint64_t now_ms;      /* skip STIX indicators expired before this; 0: keep all */
};

struct node_import;

/*
 * node_import_new() - a parser for @cfg (copied) reporting to @cb with @ctx (borrowed, must
 * outlive the parser). Returns NULL when out of memory or when @cfg->format is unknown.
 */
struct node_import *node_import_new(const struct node_import_config *cfg, node_import_cb cb,
				    void *ctx);

/*
 * node_import_feed() - parse the next @len bytes at @buf (borrowed). Plain and CSV items are
 * reported as soon as their line or record is complete; JSON formats only buffer here.
 * Returns as described in the header comment.
 */
int node_import_feed(struct node_import *im, const void *buf, size_t len);

/* node_import_finish() - end of input: report the last line or record, parse JSON. */
int node_import_finish(struct node_import *im);

/* node_import_error() - the message of the last NODE_E_IMPORT, or "" (never NULL). */
const char *node_import_error(const struct node_import *im);

/* node_import_format_of() - the format in use (the detected one after AUTO; AUTO before). */
int node_import_format_of(const struct node_import *im);

/* node_import_free() - NULL-safe. */
void node_import_free(struct node_import *im);

/*
 * node_import_buffer() - new + feed + finish + free over one buffer (for fuzzing and tests).
 * @err_out (may be NULL, @err_len bytes) receives node_import_error()'s text.
 */
int node_import_buffer(const struct node_import_config *cfg, const void *buf, size_t len,
		       node_import_cb cb, void *ctx, char *err_out, size_t err_len);

/*
 * node_import_detect() - guess the format of a file from its first @len bytes (borrowed;
 * @complete: they are the whole file). After an optional BOM and whitespace, '{' or '[' is
 * JSON: STIX when the top-level object's "type" is "bundle" or "indicator", else MISP; that
 * needs the whole file, so without @complete JSON gives NODE_IMPORT_AUTO. Text whose first
 * line that is neither blank nor a '#' comment has a comma-separated field "value" (any
 * case, optionally quoted) is CSV, anything else plain; without @complete that needs one
 * complete such line. Returns the format, or NODE_IMPORT_AUTO when undecided.
 */
int node_import_detect(const void *buf, size_t len, bool complete);

/* Names: "auto", "plain", "csv", "stix21", "misp"; from_name also takes "stix". -1 if unknown. */
const char *node_import_format_name(int format);
int node_import_format_from_name(const char *name);

#endif
