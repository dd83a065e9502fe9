/* SPDX-License-Identifier: MIT */
/*
 * Import parsers. The input is a byte stream fed in chunks of any size. A UTF-8 BOM at the
 * very start is dropped first, whatever the format. With AUTO the first bytes are held back
 * until node_import_detect() can decide, then replayed into the chosen parser.
 *
 * Plain and CSV are state machines over bytes that keep one line (plain) or one record
 * (CSV) at most, so a file of any length imports in bounded memory, and a malformed line
 * costs one INVALID event, never the rest of the file. JSON formats are collected up to
 * NODE_IMPORT_JSON_MAX and parsed with jansson at finish (its parser bounds nesting depth).
 *
 * Nothing here guesses: values go through proto_indicator_parse()/detect(), which refuse
 * defanged or otherwise doubtful values with a reason, and every field the file gives is
 * checked against the report limits (proto/report.h) so the node does not refuse later what
 * could have been reported here with its line number.
 */
#include "node/format/import.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/format/request.h"
#include "proto/error.h"

#define STIX_EQ_MAX 256 /* equalities taken from one pattern */
#define WHERE_MAX 128
#define REASON_MAX 384

static const uint8_t BOM[3] = {0xef, 0xbb, 0xbf};

enum csv_state { CSV_FIELD_START, CSV_UNQUOTED, CSV_QUOTED, CSV_QUOTED_QUOTE };

/* CSV columns chatham reads; the others are ignored. */
enum csv_col {
	COL_VALUE,
	COL_TYPE,
	COL_TLP,
	COL_CONFIDENCE,
	COL_VALID_UNTIL,
	COL_TAGS,
	COL_DESC,
	COL__N
};
static const char *const csv_col_names[COL__N] = {
	"value", "type", "tlp", "confidence", "valid_until", "tags", "description",
};

struct node_import {
	struct node_import_config cfg;
	int format;
	node_import_cb cb;
	void *ctx;
	int failed; /* sticky result once non-zero */
	char err[256];

	unsigned bom_pos; /* BOM bytes matched at the start; 3 = decided */

	/* AUTO: bytes held back until the format is known. */
	char *pend;
	size_t pend_len, pend_cap;

	/* plain line / CSV record */
	char *buf;
	size_t len;
	bool overflow;
	uint64_t line;	   /* line number of the next byte (1-based) */
	uint64_t rec_line; /* line on which the current line/record started */
	bool rec_started;

	/* CSV */
	enum csv_state st;
	size_t nfields;
	size_t fend[NODE_IMPORT_CSV_FIELDS_MAX]; /* end offset of each field in @buf */
	bool too_many_fields;
	const char *rec_err;
	bool have_header;
	size_t header_fields;
	int col[COL__N]; /* field index of each column, -1 when absent */

	/* JSON */
	char *json;
	size_t json_len, json_cap;

	struct node_import_item item;
	char where[WHERE_MAX];
	char reason[REASON_MAX];
};

/* ------------------------------------------------------------------ small helpers */

static int fail(struct node_import *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct node_import *im, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(im->err, sizeof(im->err), fmt, ap);
	va_end(ap);
	im->failed = NODE_E_IMPORT;
	return NODE_E_IMPORT;
}

/* Copies at most @max bytes of @s (@len bytes) to @dst as printable ASCII, for messages. */
static const char *clean(char *dst, size_t cap, const char *s, size_t len, size_t max)
{
	size_t o = 0;

	if (len > max)
		len = max;
	for (size_t i = 0; i < len && o + 1 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		dst[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	dst[o] = '\0';
	return dst;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static void trim(const char **s, size_t *len)
{
	while (*len && is_space(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len && is_space((*s)[*len - 1]))
		(*len)--;
}

static bool ieq(const char *a, size_t alen, const char *b)
{
	return alen == strlen(b) && strncasecmp(a, b, alen) == 0;
}

/* Largest prefix of @s no longer than @max bytes that ends on a UTF-8 character boundary. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

static void item_reset(struct node_import_item *it)
{
	it->tlp = 0;
	it->confidence = -1;
	it->valid_until_ms = 0;
	it->n_tags = 0;
	it->description_len = 0;
	it->description[0] = '\0';
}

/* Adds a tag if it is a valid, new tag. Returns 1 added, 0 duplicate, -1 invalid, -2 full. */
static int item_add_tag(struct node_import_item *it, const char *s, size_t len)
{
	if (!proto_report_tag_valid(s, len))
		return -1;
	for (size_t i = 0; i < it->n_tags; i++)
		if (strlen(it->tags[i]) == len && memcmp(it->tags[i], s, len) == 0)
			return 0;
	if (it->n_tags == PROTO_REPORT_TAGS_MAX)
		return -2;
	memcpy(it->tags[it->n_tags], s, len);
	it->tags[it->n_tags][len] = '\0';
	it->n_tags++;
	return 1;
}

/*
 * Description from free text: valid UTF-8 without NUL (it travels as a C string too); cut to
 * the limit when @cut.
 */
static int item_set_description(struct node_import_item *it, const char *s, size_t len, bool cut)
{
	if (!proto_report_text_valid(s, len) || memchr(s, '\0', len))
		return -1;
	if (len > PROTO_REPORT_DESC_MAX) {
		if (!cut)
			return -2;
		len = utf8_cut(s, len, PROTO_REPORT_DESC_MAX);
	}
	memcpy(it->description, s, len);
	it->description[len] = '\0';
	it->description_len = len;
	return 0;
}

static int emit(struct node_import *im, enum node_import_status status, const char *reason)
{
	struct node_import_event ev = {
		.status = status,
		.where = im->where,
		.reason = status == NODE_IMPORT_OK ? NULL : reason,
		.item = status == NODE_IMPORT_OK ? &im->item : NULL,
	};
	int r = im->cb(im->ctx, &ev);

	if (r)
		im->failed = r;
	return r;
}

static int emitf(struct node_import *im, enum node_import_status status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int emitf(struct node_import *im, enum node_import_status status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(im->reason, sizeof(im->reason), fmt, ap);
	va_end(ap);
	return emit(im, status, im->reason);
}

/* Parses @s as @type (0: detect) into the item and emits OK or INVALID. */
static int emit_value(struct node_import *im, int type, const char *s, size_t len)
{
	const char *reason = NULL;
	int r;

	if (len == 0)
		return emit(im, NODE_IMPORT_INVALID, "empty value");
	if (type)
		r = proto_indicator_parse(&im->item.ind, type, s, len, &reason);
	else
		r = proto_indicator_detect(&im->item.ind, s, len, &reason);
	if (r) {
		char v[48];
		return emitf(im, NODE_IMPORT_INVALID, "\"%s\"%s: %s",
			     clean(v, sizeof(v), s, len, 40), len > 40 ? "..." : "",
			     reason ? reason : proto_error_str(r));
	}
	return emit(im, NODE_IMPORT_OK, NULL);
}

static int parse_tlp(const char *s, size_t len)
{
	char b[32];

	if (len == 0 || len >= sizeof(b))
		return -1;
	memcpy(b, s, len);
	b[len] = '\0';
	return proto_tlp_from_name(b);
}

static int strictest(int a, int b)
{
	return a > b ? a : b;
}

/* RFC 3339 time or decimal milliseconds; 0 on error. */
static uint64_t parse_time(const char *s, size_t len)
{
	char b[64];
	uint64_t ms = 0;
	size_t i;

	if (len == 0 || len >= sizeof(b))
		return 0;
	for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		if (ms > (UINT64_MAX - 9) / 10)
			return 0;
		else
			ms = ms * 10 + (uint64_t)(s[i] - '0');
	if (i == len)
		return ms;
	memcpy(b, s, len);
	b[len] = '\0';
	if (node_req_time_parse(b, &ms))
		return 0;
	return ms;
}

/* ------------------------------------------------------------------ plain */

static int plain_line(struct node_import *im)
{
	const char *s = im->buf;
	size_t len = im->len;

	snprintf(im->where, sizeof(im->where), "line %llu", (unsigned long long)im->rec_line);
	if (im->overflow)
		return emitf(im, NODE_IMPORT_INVALID, "line longer than %u bytes",
			     NODE_IMPORT_LINE_MAX);
	trim(&s, &len);
	if (len == 0 || s[0] == '#')
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] == '#' || s[i] == ';') && is_space(s[i - 1])) {
			len = i;
			trim(&s, &len);
			break;
		}
	}
	for (size_t i = 0; i < len; i++)
		if (is_space(s[i]))
			return emit(im, NODE_IMPORT_INVALID,
				    "more than one word on the line (one value per line; a "
				    "comment starts with whitespace and '#')");
	item_reset(&im->item);
	return emit_value(im, 0, s, len);
}

static int plain_feed(struct node_import *im, const char *p, size_t n)
{
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;
		int r;

		if (!im->rec_started) {
			im->rec_started = true;
			im->rec_line = im->line;
		}
		if (!im->overflow) {
			if (im->len + take > NODE_IMPORT_LINE_MAX) {
				im->overflow = true;
			} else {
				memcpy(im->buf + im->len, p, take);
				im->len += take;
			}
		}
		if (!nl)
			return 0;
		r = plain_line(im);
		im->len = 0;
		im->overflow = false;
		im->rec_started = false;
		im->line++;
		if (r)
			return r;
		p = nl + 1;
		n -= take + 1;
	}
	return 0;
}

static int plain_finish(struct node_import *im)
{
	if (!im->rec_started)
		return 0;
	im->rec_started = false;
	return plain_line(im);
}

/* ------------------------------------------------------------------ CSV */

static const char *field(struct node_import *im, size_t i, size_t *len)
{
	size_t start = i ? im->fend[i - 1] : 0;
	const char *s = im->buf + start;

	*len = im->fend[i] - start;
	trim(&s, len);
	return s;
}

static int csv_header(struct node_import *im)
{
	char unknown[200] = "", name[40];
	size_t ulen = 0;

	if (im->overflow || im->too_many_fields)
		return fail(im, "line %llu: CSV header longer than %u bytes or %u columns",
			    (unsigned long long)im->rec_line, NODE_IMPORT_LINE_MAX,
			    NODE_IMPORT_CSV_FIELDS_MAX);
	for (int c = 0; c < COL__N; c++)
		im->col[c] = -1;
	for (size_t i = 0; i < im->nfields; i++) {
		size_t len;
		const char *s = field(im, i, &len);
		int c;

		for (c = 0; c < COL__N; c++)
			if (ieq(s, len, csv_col_names[c]))
				break;
		if (c == COL__N) {
			if (ulen < sizeof(unknown) - 1)
				ulen += (size_t)snprintf(unknown + ulen, sizeof(unknown) - ulen,
							 "%s%s", ulen ? ", " : "",
							 clean(name, sizeof(name), s, len, 32));
			continue;
		}
		if (im->col[c] >= 0)
			return fail(im, "line %llu: CSV header names column \"%s\" twice",
				    (unsigned long long)im->rec_line, csv_col_names[c]);
		im->col[c] = (int)i;
	}
	if (im->col[COL_VALUE] < 0)
		return fail(im,
			    "line %llu: CSV header has no \"value\" column (columns: type, value, "
			    "tlp, confidence, valid_until, tags, description)",
			    (unsigned long long)im->rec_line);
	im->have_header = true;
	im->header_fields = im->nfields;
	if (ulen) {
		snprintf(im->where, sizeof(im->where), "line %llu",
			 (unsigned long long)im->rec_line);
		return emitf(im, NODE_IMPORT_WARNING, "ignoring unknown CSV columns: %s", unknown);
	}
	return 0;
}

/* Splits the tags cell on ';' into the item. Returns NULL or the reason it is invalid. */
static const char *csv_tags(struct node_import *im, const char *s, size_t len)
{
	while (len > 0) {
		const char *semi = memchr(s, ';', len);
		size_t n = semi ? (size_t)(semi - s) : len;
		const char *t = s;
		size_t tl = n;

		trim(&t, &tl);
		if (tl) {
			int r = item_add_tag(&im->item, t, tl);
			if (r == -1) {
				snprintf(im->reason, sizeof(im->reason),
					 "tag of %zu bytes: tags are 1-%d bytes of UTF-8 without "
					 "control characters",
					 tl, PROTO_REPORT_TAG_LEN_MAX);
				return im->reason;
			}
			if (r == -2) {
				snprintf(im->reason, sizeof(im->reason), "more than %d tags",
					 PROTO_REPORT_TAGS_MAX);
				return im->reason;
			}
		}
		if (!semi)
			break;
		s = semi + 1;
		len -= n + 1;
	}
	return NULL;
}

/* One data record; returns 0 after emitting its event, or the callback's stop value. */
static int csv_data(struct node_import *im)
{
	struct node_import_item *it = &im->item;
	const char *s;
	size_t len;
	int type = 0, r;
	char b[48];

	if (im->overflow)
		return emitf(im, NODE_IMPORT_INVALID, "record longer than %u bytes",
			     NODE_IMPORT_LINE_MAX);
	if (im->rec_err)
		return emit(im, NODE_IMPORT_INVALID, im->rec_err);
	if (im->too_many_fields || im->nfields != im->header_fields)
		return emitf(im, NODE_IMPORT_INVALID, "%s%zu fields, the header has %zu",
			     im->too_many_fields ? "more than " : "", im->nfields,
			     im->header_fields);
	item_reset(it);
	if (im->col[COL_TYPE] >= 0) {
		s = field(im, (size_t)im->col[COL_TYPE], &len);
		if (len) {
			char name[16];
			if (len >= sizeof(name))
				type = -1;
			else {
				memcpy(name, s, len);
				name[len] = '\0';
				type = proto_indicator_type_from_name(name);
			}
			if (type < 0)
				return emitf(im, NODE_IMPORT_INVALID,
					     "unknown type \"%s\" (ipv4, ipv6, domain, url, email, "
					     "md5, sha1, sha256, sha512, or empty to detect)",
					     clean(b, sizeof(b), s, len, 32));
		}
	}
	if (im->col[COL_TLP] >= 0) {
		s = field(im, (size_t)im->col[COL_TLP], &len);
		if (len) {
			int tlp = parse_tlp(s, len);
			if (tlp < 0)
				return emitf(
					im, NODE_IMPORT_INVALID,
					"unknown TLP \"%s\" (CLEAR, GREEN, AMBER, AMBER+STRICT, "
					"RED)",
					clean(b, sizeof(b), s, len, 32));
			it->tlp = (uint8_t)tlp;
		}
	}
	if (im->col[COL_CONFIDENCE] >= 0) {
		s = field(im, (size_t)im->col[COL_CONFIDENCE], &len);
		if (len) {
			int v = 0;
			size_t i;
			for (i = 0; i < len && i < 4 && s[i] >= '0' && s[i] <= '9'; i++)
				v = v * 10 + (s[i] - '0');
			if (i != len || v > 100)
				return emitf(im, NODE_IMPORT_INVALID,
					     "confidence \"%s\" is not an integer 0-100",
					     clean(b, sizeof(b), s, len, 32));
			it->confidence = v;
		}
	}
	if (im->col[COL_VALID_UNTIL] >= 0) {
		s = field(im, (size_t)im->col[COL_VALID_UNTIL], &len);
		if (len) {
			it->valid_until_ms = parse_time(s, len);
			if (!it->valid_until_ms)
				return emitf(im, NODE_IMPORT_INVALID,
					     "valid_until \"%s\" is neither an RFC 3339 time "
					     "(2030-01-31T00:00:00Z) nor milliseconds",
					     clean(b, sizeof(b), s, len, 40));
		}
	}
	if (im->col[COL_TAGS] >= 0) {
		const char *why;
		s = field(im, (size_t)im->col[COL_TAGS], &len);
		why = csv_tags(im, s, len);
		if (why)
			return emit(im, NODE_IMPORT_INVALID, why);
	}
	if (im->col[COL_DESC] >= 0) {
		s = field(im, (size_t)im->col[COL_DESC], &len);
		r = len ? item_set_description(it, s, len, false) : 0;
		if (r == -1)
			return emit(im, NODE_IMPORT_INVALID,
				    "description is not valid UTF-8 or contains a NUL byte");
		if (r == -2)
			return emitf(im, NODE_IMPORT_INVALID, "description longer than %d bytes",
				     PROTO_REPORT_DESC_MAX);
	}
	s = field(im, (size_t)im->col[COL_VALUE], &len);
	/*
	 * `chatham export --format csv` writes a value a spreadsheet would run as a formula
	 * ("=1+2@x.example") with a leading apostrophe, and adds one to a value that already
	 * starts with an apostrophe and such a character; exactly one is dropped again here,
	 * so the export imports as is.
	 */
	if (len >= 2 && s[0] == '\'' && s[1] &&
	    (strchr("=+-@\t\r", s[1]) ||
	     (len >= 3 && s[1] == '\'' && s[2] && strchr("=+-@\t\r", s[2])))) {
		s++;
		len--;
	}
	return emit_value(im, type, s, len);
}

static int csv_record(struct node_import *im)
{
	size_t len0;
	const char *f0;
	int r;

	snprintf(im->where, sizeof(im->where), "line %llu", (unsigned long long)im->rec_line);
	f0 = im->nfields ? field(im, 0, &len0) : "";
	if (!im->nfields)
		len0 = 0;
	/* A blank line is one empty unquoted field; it separates nothing in RFC 4180. */
	if (im->nfields == 1 && len0 == 0 && !im->rec_err && !im->overflow)
		return 0;
	if (!im->have_header) {
		if (len0 > 0 && f0[0] == '#')
			return 0;
		return csv_header(im);
	}
	/* csv_data() may leave a per-item INVALID event behind; that is not a stop. */
	r = csv_data(im);
	return r;
}

static void csv_reset_record(struct node_import *im)
{
	im->len = 0;
	im->nfields = 0;
	im->overflow = false;
	im->too_many_fields = false;
	im->rec_err = NULL;
	im->rec_started = false;
	im->st = CSV_FIELD_START;
}

static void csv_end_field(struct node_import *im)
{
	if (im->nfields == NODE_IMPORT_CSV_FIELDS_MAX) {
		im->too_many_fields = true;
		return;
	}
	im->fend[im->nfields++] = im->len;
}

static void csv_put(struct node_import *im, char c)
{
	if (im->too_many_fields || im->overflow)
		return;
	if (im->len == NODE_IMPORT_LINE_MAX) {
		im->overflow = true;
		return;
	}
	im->buf[im->len++] = c;
}

static int csv_feed(struct node_import *im, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		int r;

		if (!im->rec_started) {
			im->rec_started = true;
			im->rec_line = im->line;
		}
		if (c == '\n')
			im->line++;
		switch (im->st) {
		case CSV_FIELD_START:
			if (c == '"') {
				im->st = CSV_QUOTED;
				break;
			}
			if (c == ' ' || c == '\t' || c == '\r')
				break;
			if (c == ',') {
				csv_end_field(im);
				break;
			}
			if (c == '\n')
				goto end_record;
			csv_put(im, c);
			im->st = CSV_UNQUOTED;
			break;
		case CSV_UNQUOTED:
			if (c == ',') {
				csv_end_field(im);
				im->st = CSV_FIELD_START;
			} else if (c == '\n') {
				goto end_record;
			} else {
				if (c == '"' && !im->rec_err)
					im->rec_err = "quote inside an unquoted field (quote the "
						      "whole field and double the inner quotes)";
				csv_put(im, c);
			}
			break;
		case CSV_QUOTED:
			if (c == '"')
				im->st = CSV_QUOTED_QUOTE;
			else
				csv_put(im, c);
			break;
		case CSV_QUOTED_QUOTE:
			if (c == '"') {
				csv_put(im, '"');
				im->st = CSV_QUOTED;
			} else if (c == ',') {
				csv_end_field(im);
				im->st = CSV_FIELD_START;
			} else if (c == '\n') {
				goto end_record;
			} else if (c != ' ' && c != '\t' && c != '\r') {
				if (!im->rec_err)
					im->rec_err = "text after the closing quote of a field";
				csv_put(im, c);
				im->st = CSV_UNQUOTED;
			}
			break;
		}
		continue;
end_record:
		csv_end_field(im);
		r = csv_record(im);
		csv_reset_record(im);
		if (r)
			return r;
	}
	return 0;
}

static int csv_finish(struct node_import *im)
{
	int r = 0;

	if (im->st == CSV_QUOTED) {
		snprintf(im->where, sizeof(im->where), "line %llu",
			 (unsigned long long)im->rec_line);
		if (!im->have_header)
			return fail(im, "line %llu: unterminated quoted field in the CSV header",
				    (unsigned long long)im->rec_line);
		r = emit(im, NODE_IMPORT_INVALID,
			 "unterminated quoted field: the file ends inside quotes");
		csv_reset_record(im);
		return r;
	}
	if (im->rec_started) {
		csv_end_field(im);
		r = csv_record(im);
		csv_reset_record(im);
		if (r)
			return r;
	}
	if (!im->have_header)
		return fail(im, "no CSV header found (the first line must name the columns, "
				"e.g. \"type,value,tlp\")");
	return 0;
}

/* ------------------------------------------------------------------ STIX 2.1 */

struct tlp_mark {
	const char *id;
	int tlp;
};

/* TLP 2.0 (tests/data/stix21/tlp20) and the TLP 1.0 ids of the STIX 2.1 specification. */
static const struct tlp_mark known_marks[] = {
	{"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", PROTO_TLP_CLEAR},
	{"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", PROTO_TLP_GREEN},
	{"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", PROTO_TLP_AMBER},
	{"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", PROTO_TLP_AMBER_STRICT},
	{"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", PROTO_TLP_RED},
	{"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", PROTO_TLP_CLEAR},
	{"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", PROTO_TLP_GREEN},
	{"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", PROTO_TLP_AMBER},
	{"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", PROTO_TLP_RED},
};

#define TLP20_EXT "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

struct stix_eq {
	int type;
	const char *value; /* into the unescape buffer */
	size_t len;
};

/* The TLP a marking-definition object of the bundle defines, or -1. */
static int marking_tlp(json_t *o)
{
	json_t *ext = json_object_get(json_object_get(o, "extensions"), TLP20_EXT);
	const char *s;

	s = json_string_value(json_object_get(ext, "tlp_2_0"));
	if (s)
		return proto_tlp_from_name(s);
	if ((s = json_string_value(json_object_get(o, "definition_type"))) && !strcmp(s, "tlp")) {
		s = json_string_value(json_object_get(json_object_get(o, "definition"), "tlp"));
		if (s)
			return proto_tlp_from_name(s);
	}
	s = json_string_value(json_object_get(o, "name"));
	if (s && !strncasecmp(s, "TLP:", 4))
		return proto_tlp_from_name(s);
	return -1;
}

static int stix_marking_lookup(json_t *bundle_marks, const char *id)
{
	for (size_t i = 0; i < sizeof(known_marks) / sizeof(known_marks[0]); i++)
		if (!strcmp(known_marks[i].id, id))
			return known_marks[i].tlp;
	json_t *v = json_object_get(bundle_marks, id);
	return v ? (int)json_integer_value(v) : -1;
}

struct pat {
	const char *p;
	char *out; /* unescaped values */
	size_t out_len;
	const char *why; /* unsupported: reason; NULL with an error: malformed */
	char why_buf[160];
};

static void pat_ws(struct pat *t)
{
	while (is_space(*t->p))
		t->p++;
}

/* Whether the keyword @kw starts at t->p as a whole word. */
static bool pat_kw(struct pat *t, const char *kw)
{
	size_t n = strlen(kw);

	if (strncmp(t->p, kw, n) != 0)
		return false;
	char c = t->p[n];
	return !(isalnum((unsigned char)c) || c == '_' || c == '-');
}

static int pat_unsupported(struct pat *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int pat_unsupported(struct pat *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->why_buf, sizeof(t->why_buf), fmt, ap);
	va_end(ap);
	t->why = t->why_buf;
	return -1;
}

static int pat_malformed(struct pat *t, const char *what)
{
	snprintf(t->why_buf, sizeof(t->why_buf), "malformed pattern: %s", what);
	t->why = NULL;
	return -2;
}

/* One path component: a name, or a quoted name ('SHA-256'). Unquoted into @dst. */
static int pat_prop(struct pat *t, char *dst, size_t cap)
{
	size_t n = 0;

	if (*t->p == '\'') {
		t->p++;
		while (*t->p && *t->p != '\'') {
			if (n + 1 < cap)
				dst[n++] = *t->p;
			t->p++;
		}
		if (*t->p != '\'')
			return pat_malformed(t, "unterminated quoted property name");
		t->p++;
	} else {
		while (isalnum((unsigned char)*t->p) || *t->p == '_' || *t->p == '-') {
			if (n + 1 < cap)
				dst[n++] = *t->p;
			t->p++;
		}
		if (n == 0)
			return pat_malformed(t, "expected a property name");
	}
	dst[n] = '\0';
	return 0;
}

static int hash_type(const char *name)
{
	char n[16];
	size_t k = 0;

	for (const char *s = name; *s && k + 1 < sizeof(n); s++)
		if (*s != '-' && *s != '_')
			n[k++] = (char)toupper((unsigned char)*s);
	n[k] = '\0';
	if (!strcmp(n, "MD5"))
		return PROTO_IND_MD5;
	if (!strcmp(n, "SHA1"))
		return PROTO_IND_SHA1;
	if (!strcmp(n, "SHA256"))
		return PROTO_IND_SHA256;
	if (!strcmp(n, "SHA512"))
		return PROTO_IND_SHA512;
	return -1;
}

/* object-type:path -> indicator type, or an unsupported reason. */
static int pat_path(struct pat *t, int *type)
{
	char obj[64], props[4][64], full[300];
	size_t n = 0, o = 0;
	int r;

	while (isalnum((unsigned char)*t->p) || *t->p == '-') {
		if (o + 1 < sizeof(obj))
			obj[o++] = *t->p;
		t->p++;
	}
	obj[o] = '\0';
	if (o == 0)
		return pat_malformed(t, "expected an object type");
	if (*t->p != ':')
		return pat_malformed(t, "expected ':' after the object type");
	t->p++;
	for (;;) {
		if (n == 4)
			return pat_unsupported(t, "object path too long");
		if (*t->p == '[')
			return pat_unsupported(t, "list index in an object path");
		r = pat_prop(t, props[n++], sizeof(props[0]));
		if (r)
			return r;
		if (*t->p == '[')
			return pat_unsupported(t, "list index in an object path");
		if (*t->p != '.')
			break;
		t->p++;
	}
	if (n == 1 && !strcmp(props[0], "value")) {
		if (!strcmp(obj, "ipv4-addr"))
			*type = PROTO_IND_IPV4;
		else if (!strcmp(obj, "ipv6-addr"))
			*type = PROTO_IND_IPV6;
		else if (!strcmp(obj, "domain-name"))
			*type = PROTO_IND_DOMAIN;
		else if (!strcmp(obj, "url"))
			*type = PROTO_IND_URL;
		else if (!strcmp(obj, "email-addr"))
			*type = PROTO_IND_EMAIL;
		else
			goto unsupported;
		return 0;
	}
	if (n == 2 && !strcmp(obj, "file") && !strcmp(props[0], "hashes")) {
		*type = hash_type(props[1]);
		if (*type < 0)
			return pat_unsupported(t, "hash algorithm \"%.32s\" is not supported",
					       props[1]);
		return 0;
	}
	if (n == 2 && !strcmp(obj, "email-message") && !strcmp(props[0], "from_ref") &&
	    !strcmp(props[1], "value")) {
		*type = PROTO_IND_EMAIL;
		return 0;
	}
unsupported:
	o = (size_t)snprintf(full, sizeof(full), "%s:", obj);
	for (size_t i = 0; i < n && o < sizeof(full); i++)
		o += (size_t)snprintf(full + o, sizeof(full) - o, "%s%s", i ? "." : "", props[i]);
	return pat_unsupported(t, "object path %.80s is not supported", full);
}

/* A string literal '...' with \' and \\ escapes, unescaped into t->out. */
static int pat_string(struct pat *t, struct stix_eq *eq)
{
	char *dst = t->out + t->out_len;
	size_t n = 0;

	if (*t->p != '\'') {
		if (*t->p == 'h' || *t->p == 'b' || *t->p == 't')
			return pat_unsupported(t, "comparison value is not a plain string");
		return pat_unsupported(t, "comparison value is not a string");
	}
	t->p++;
	for (;;) {
		char c = *t->p;
		if (c == '\0')
			return pat_malformed(t, "unterminated string");
		if (c == '\'')
			break;
		if (c == '\\') {
			char e = t->p[1];
			if (e != '\\' && e != '\'')
				return pat_malformed(t, "invalid escape in a string");
			c = e;
			t->p++;
		}
		dst[n++] = c;
		t->p++;
	}
	t->p++;
	dst[n] = '\0';
	eq->value = dst;
	eq->len = n;
	t->out_len += n + 1;
	return 0;
}

static int pat_comparison(struct pat *t, struct stix_eq *eq)
{
	int r;

	pat_ws(t);
	if (*t->p == '(')
		return pat_unsupported(t, "parentheses in a pattern");
	if (pat_kw(t, "NOT"))
		return pat_unsupported(t, "pattern uses NOT");
	r = pat_path(t, &eq->type);
	if (r)
		return r;
	pat_ws(t);
	if (t->p[0] == '=' && t->p[1] != '=') {
		t->p++;
	} else {
		const char *op = t->p;
		size_t n = 0;
		while (op[n] && !is_space(op[n]) && op[n] != '\'' && n < 12)
			n++;
		if (n == 0)
			return pat_malformed(t, "expected a comparison operator");
		return pat_unsupported(t, "operator %.*s is not supported (only =)", (int)n, op);
	}
	pat_ws(t);
	return pat_string(t, eq);
}

/*
 * Parses @pattern into up to STIX_EQ_MAX equalities. Returns 0, -1 (unsupported: t->why) or
 * -2 (malformed: t->why_buf).
 */
static int stix_pattern(struct pat *t, struct stix_eq *eqs, size_t *n_eqs)
{
	int r;

	*n_eqs = 0;
	pat_ws(t);
	if (*t->p != '[')
		return pat_malformed(t, "does not start with '['");
	t->p++;
	for (;;) {
		if (*n_eqs == STIX_EQ_MAX)
			return pat_unsupported(t, "more than %d comparisons", STIX_EQ_MAX);
		r = pat_comparison(t, &eqs[*n_eqs]);
		if (r)
			return r;
		(*n_eqs)++;
		pat_ws(t);
		if (pat_kw(t, "OR")) {
			t->p += 2;
			continue;
		}
		if (pat_kw(t, "AND"))
			return pat_unsupported(t, "pattern uses AND");
		if (*t->p != ']')
			return pat_malformed(t, "expected OR or ']'");
		t->p++;
		pat_ws(t);
		if (*t->p == '\0')
			return 0;
		if (pat_kw(t, "OR")) {
			t->p += 2;
			pat_ws(t);
			if (*t->p != '[')
				return pat_malformed(t, "expected '[' after OR");
			t->p++;
			continue;
		}
		if (pat_kw(t, "AND") || pat_kw(t, "FOLLOWEDBY"))
			return pat_unsupported(t, "pattern combines observations with %s",
					       pat_kw(t, "AND") ? "AND" : "FOLLOWEDBY");
		if (pat_kw(t, "WITHIN") || pat_kw(t, "REPEATS") || pat_kw(t, "START"))
			return pat_unsupported(t, "pattern has a qualifier");
		return pat_malformed(t, "unexpected text after ']'");
	}
}

/* Labels as tags (valid ones, up to the limit) and the description, with keep_text. */
static void stix_text(struct node_import *im, json_t *o)
{
	json_t *labels = json_object_get(o, "labels"), *v;
	size_t i;
	const char *d;

	if (!im->cfg.keep_text)
		return;
	json_array_foreach(labels, i, v)
	{
		const char *s = json_string_value(v);
		if (s && item_add_tag(&im->item, s, json_string_length(v)) == -2)
			break;
	}
	d = json_string_value(json_object_get(o, "description"));
	if (d)
		item_set_description(&im->item, d,
				     json_string_length(json_object_get(o, "description")), true);
}

static int stix_indicator(struct node_import *im, json_t *o, json_t *marks)
{
	struct node_import_item *it = &im->item;
	struct stix_eq eqs[STIX_EQ_MAX];
	struct pat t = {0};
	const char *pattern, *s;
	json_t *v;
	size_t n, i;
	int r, tlp = 0;

	if (json_is_true(json_object_get(o, "revoked")))
		return emit(im, NODE_IMPORT_SKIPPED, "revoked");
	s = json_string_value(json_object_get(o, "pattern_type"));
	if (json_object_get(o, "pattern_type") && (!s || strcmp(s, "stix") != 0)) {
		char b[40];
		return emitf(im, NODE_IMPORT_SKIPPED,
			     "pattern_type \"%s\" is not supported (only stix)",
			     s ? clean(b, sizeof(b), s, strlen(s), 32) : "?");
	}
	pattern = json_string_value(json_object_get(o, "pattern"));
	if (!pattern)
		return emit(im, NODE_IMPORT_INVALID, "indicator without a pattern string");

	item_reset(it);
	v = json_object_get(o, "valid_until");
	if (v) {
		s = json_string_value(v);
		if (!s || node_req_time_parse(s, &it->valid_until_ms) || !it->valid_until_ms)
			return emit(im, NODE_IMPORT_INVALID, "valid_until is not an RFC 3339 time");
		if (im->cfg.now_ms && it->valid_until_ms <= im->cfg.now_ms)
			return emit(im, NODE_IMPORT_SKIPPED, "expired (valid_until has passed)");
	}
	v = json_object_get(o, "confidence");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 100)
			return emit(im, NODE_IMPORT_INVALID, "confidence is not an integer 0-100");
		it->confidence = (int)json_integer_value(v);
	}
	json_array_foreach(json_object_get(o, "object_marking_refs"), i, v)
	{
		if (json_is_string(v))
			tlp = strictest(tlp, stix_marking_lookup(marks, json_string_value(v)));
	}
	it->tlp = (uint8_t)(tlp > 0 ? tlp : 0);
	stix_text(im, o);

	t.p = pattern;
	t.out = malloc(strlen(pattern) + 1);
	if (!t.out)
		return -ENOMEM;
	r = stix_pattern(&t, eqs, &n);
	if (r == -1)
		r = emit(im, NODE_IMPORT_SKIPPED, t.why);
	else if (r == -2)
		r = emit(im, NODE_IMPORT_INVALID, t.why_buf);
	else
		for (i = 0; i < n && !r; i++)
			r = emit_value(im, eqs[i].type, eqs[i].value, eqs[i].len);
	free(t.out);
	return r;
}

static int stix_run(struct node_import *im, json_t *root)
{
	const char *type = json_string_value(json_object_get(root, "type"));
	json_t *objects, *o, *marks;
	size_t i, others = 0;
	int r = 0;

	if (type && !strcmp(type, "indicator")) {
		snprintf(im->where, sizeof(im->where), "indicator");
		return stix_indicator(im, root, NULL);
	}
	if (!type || strcmp(type, "bundle") != 0)
		return fail(im, "not a STIX 2.1 bundle (the top-level \"type\" is not \"bundle\")");
	objects = json_object_get(root, "objects");
	if (!objects)
		return 0; /* an empty bundle may omit objects */
	if (!json_is_array(objects))
		return fail(im, "STIX bundle \"objects\" is not an array");
	marks = json_object();
	if (!marks)
		return -ENOMEM;
	json_array_foreach(objects, i, o)
	{
		const char *t = json_string_value(json_object_get(o, "type"));
		const char *id = json_string_value(json_object_get(o, "id"));
		int tlp;
		if (t && id && !strcmp(t, "marking-definition") && (tlp = marking_tlp(o)) > 0)
			if (json_object_set_new(marks, id, json_integer(tlp))) {
				json_decref(marks);
				return -ENOMEM;
			}
	}
	json_array_foreach(objects, i, o)
	{
		const char *t = json_string_value(json_object_get(o, "type"));
		if (!t || strcmp(t, "indicator") != 0) {
			if (!t || strcmp(t, "marking-definition") != 0)
				others++;
			continue;
		}
		snprintf(im->where, sizeof(im->where), "objects[%zu]", i);
		r = stix_indicator(im, o, marks);
		if (r)
			break;
	}
	json_decref(marks);
	if (!r && others) {
		snprintf(im->where, sizeof(im->where), "bundle");
		r = emitf(im, NODE_IMPORT_WARNING, "ignored %zu %s", others,
			  others == 1 ? "object that is not an indicator or a marking definition"
				      : "objects that are not indicators or marking definitions");
	}
	return r;
}

/* ------------------------------------------------------------------ MISP */

struct misp_map {
	const char *misp;
	int type;  /* 0: IPv4 or IPv6 by the value */
	int part;  /* which '|' component: 0 whole, 1 first, 2 second, 3 both */
	int type2; /* type of the second component when part == 3 */
};

static const struct misp_map misp_types[] = {
	{"ip-src", 0, 0, 0},
	{"ip-dst", 0, 0, 0},
	{"ip-src|port", 0, 1, 0},
	{"ip-dst|port", 0, 1, 0},
	{"domain", PROTO_IND_DOMAIN, 0, 0},
	{"hostname", PROTO_IND_DOMAIN, 0, 0},
	{"hostname|port", PROTO_IND_DOMAIN, 1, 0},
	{"domain|ip", PROTO_IND_DOMAIN, 3, 0},
	{"url", PROTO_IND_URL, 0, 0},
	{"email", PROTO_IND_EMAIL, 0, 0},
	{"email-src", PROTO_IND_EMAIL, 0, 0},
	{"email-dst", PROTO_IND_EMAIL, 0, 0},
	{"email-reply-to", PROTO_IND_EMAIL, 0, 0},
	{"md5", PROTO_IND_MD5, 0, 0},
	{"sha1", PROTO_IND_SHA1, 0, 0},
	{"sha256", PROTO_IND_SHA256, 0, 0},
	{"sha512", PROTO_IND_SHA512, 0, 0},
	{"filename|md5", PROTO_IND_MD5, 2, 0},
	{"filename|sha1", PROTO_IND_SHA1, 2, 0},
	{"filename|sha256", PROTO_IND_SHA256, 2, 0},
	{"filename|sha512", PROTO_IND_SHA512, 2, 0},
};

/* MISP writes booleans as true/false, 0/1 or "0"/"1". -1 when absent or unreadable. */
static int misp_bool(json_t *v)
{
	const char *s;

	if (!v)
		return -1;
	if (json_is_boolean(v))
		return json_is_true(v);
	if (json_is_integer(v))
		return json_integer_value(v) != 0;
	s = json_string_value(v);
	if (!s)
		return -1;
	if (!strcmp(s, "1") || !strcasecmp(s, "true"))
		return 1;
	if (!strcmp(s, "0") || !strcasecmp(s, "false"))
		return 0;
	return -1;
}

/* Strictest "tlp:" tag of @tags (a MISP Tag array), 0 when none. */
static int misp_tags_tlp(json_t *tags)
{
	json_t *t;
	size_t i;
	int tlp = 0;

	json_array_foreach(tags, i, t)
	{
		const char *name = json_string_value(json_object_get(t, "name"));
		if (name && !strncasecmp(name, "tlp:", 4)) {
			int v = proto_tlp_from_name(name);
			if (v > 0)
				tlp = strictest(tlp, v);
		}
	}
	return tlp;
}

static void misp_tags_text(struct node_import *im, json_t *tags)
{
	json_t *t;
	size_t i;

	json_array_foreach(tags, i, t)
	{
		json_t *n = json_object_get(t, "name");
		const char *name = json_string_value(n);
		if (name && strncasecmp(name, "tlp:", 4) != 0 &&
		    item_add_tag(&im->item, name, json_string_length(n)) == -2)
			return;
	}
}

static int misp_ip_type(const char *s, size_t len)
{
	return memchr(s, ':', len) ? PROTO_IND_IPV6 : PROTO_IND_IPV4;
}

static int misp_attribute(struct node_import *im, json_t *a, json_t *event)
{
	struct node_import_item *it = &im->item;
	json_t *tv = json_object_get(a, "type"), *vv = json_object_get(a, "value");
	const char *type = json_string_value(tv), *value = json_string_value(vv), *bar;
	const struct misp_map *m = NULL;
	size_t vlen, l1;
	char b[48];
	int r, to_ids;

	if (!json_is_object(a))
		return emit(im, NODE_IMPORT_INVALID, "attribute is not a JSON object");
	if (!type)
		return emit(im, NODE_IMPORT_INVALID, "attribute without a \"type\" string");
	if (!value)
		return emit(im, NODE_IMPORT_INVALID, "attribute without a \"value\" string");
	vlen = json_string_length(vv);
	if (misp_bool(json_object_get(a, "deleted")) == 1)
		return emit(im, NODE_IMPORT_SKIPPED, "deleted attribute");
	for (size_t i = 0; i < sizeof(misp_types) / sizeof(misp_types[0]); i++)
		if (!strcmp(misp_types[i].misp, type))
			m = &misp_types[i];
	if (!m)
		return emitf(im, NODE_IMPORT_SKIPPED, "MISP type \"%s\" is not supported",
			     clean(b, sizeof(b), type, strlen(type), 32));
	to_ids = misp_bool(json_object_get(a, "to_ids"));
	if (to_ids == 0 && !im->cfg.include_non_ids)
		return emit(im, NODE_IMPORT_SKIPPED,
			    "to_ids is false (--include-non-ids imports such attributes)");

	item_reset(it);
	it->tlp = (uint8_t)strictest(misp_tags_tlp(json_object_get(event, "Tag")),
				     misp_tags_tlp(json_object_get(a, "Tag")));
	if (im->cfg.keep_text) {
		json_t *c = json_object_get(a, "comment");
		misp_tags_text(im, json_object_get(a, "Tag"));
		misp_tags_text(im, json_object_get(event, "Tag"));
		if (json_string_value(c) && json_string_length(c))
			item_set_description(it, json_string_value(c), json_string_length(c), true);
	}
	if (m->part == 0)
		return emit_value(im, m->type ? m->type : misp_ip_type(value, vlen), value, vlen);
	bar = memchr(value, '|', vlen);
	if (!bar)
		return emitf(im, NODE_IMPORT_INVALID, "value of MISP type %s has no '|'", m->misp);
	l1 = (size_t)(bar - value);
	if (m->part == 1)
		return emit_value(im, m->type ? m->type : misp_ip_type(value, l1), value, l1);
	if (m->part == 2)
		return emit_value(im, m->type, bar + 1, vlen - l1 - 1);
	r = emit_value(im, m->type, value, l1);
	if (r)
		return r;
	return emit_value(im, misp_ip_type(bar + 1, vlen - l1 - 1), bar + 1, vlen - l1 - 1);
}

static int misp_event(struct node_import *im, json_t *ev, const char *prefix)
{
	json_t *a, *obj;
	size_t i, j;
	int r;

	json_array_foreach(json_object_get(ev, "Attribute"), i, a)
	{
		snprintf(im->where, sizeof(im->where), "%s.Attribute[%zu]", prefix, i);
		r = misp_attribute(im, a, ev);
		if (r)
			return r;
	}
	json_array_foreach(json_object_get(ev, "Object"), j, obj)
	{
		json_array_foreach(json_object_get(obj, "Attribute"), i, a)
		{
			snprintf(im->where, sizeof(im->where), "%s.Object[%zu].Attribute[%zu]",
				 prefix, j, i);
			r = misp_attribute(im, a, ev);
			if (r)
				return r;
		}
	}
	return 0;
}

static bool misp_looks_like_event(json_t *o)
{
	return json_is_object(o) &&
	       (json_is_array(json_object_get(o, "Attribute")) ||
		json_is_array(json_object_get(o, "Object")) || json_object_get(o, "info"));
}

/* One element of a list: {"Event": {...}} or a bare event. */
static int misp_element(struct node_import *im, json_t *e, const char *prefix, size_t *found)
{
	char p[64];
	json_t *ev = json_object_get(e, "Event");

	if (json_is_object(ev)) {
		snprintf(p, sizeof(p), "%s.Event", prefix);
		(*found)++;
		return misp_event(im, ev, p);
	}
	if (misp_looks_like_event(e)) {
		(*found)++;
		return misp_event(im, e, prefix);
	}
	return 0;
}

static int misp_run(struct node_import *im, json_t *root)
{
	json_t *e, *resp = json_object_get(root, "response");
	size_t i, found = 0;
	char p[64];
	int r = 0;

	if (json_is_array(root)) {
		json_array_foreach(root, i, e)
		{
			snprintf(p, sizeof(p), "[%zu]", i);
			r = misp_element(im, e, p, &found);
			if (r)
				return r;
		}
	} else if (json_is_object(json_object_get(root, "Event"))) {
		found++;
		r = misp_event(im, json_object_get(root, "Event"), "Event");
	} else if (json_is_array(resp)) {
		json_array_foreach(resp, i, e)
		{
			snprintf(p, sizeof(p), "response[%zu]", i);
			r = misp_element(im, e, p, &found);
			if (r)
				return r;
		}
	} else if (misp_looks_like_event(root)) {
		found++;
		r = misp_event(im, root, "Event");
	}
	if (r)
		return r;
	if (!found)
		return fail(im, "no MISP event found (expected {\"Event\": {...}}, {\"response\": "
				"[...]} or a list of events)");
	return 0;
}

/* ------------------------------------------------------------------ JSON */

static int json_feed(struct node_import *im, const char *p, size_t n)
{
	if (n > NODE_IMPORT_JSON_MAX - im->json_len)
		return fail(im, "file larger than %u MiB, the limit for JSON formats",
			    NODE_IMPORT_JSON_MAX >> 20);
	if (im->json_len + n > im->json_cap) {
		size_t cap = im->json_cap ? im->json_cap : 65536;
		while (cap < im->json_len + n)
			cap *= 2;
		if (cap > NODE_IMPORT_JSON_MAX)
			cap = NODE_IMPORT_JSON_MAX;
		char *b = realloc(im->json, cap);
		if (!b)
			return im->failed = -ENOMEM;
		im->json = b;
		im->json_cap = cap;
	}
	memcpy(im->json + im->json_len, p, n);
	im->json_len += n;
	return 0;
}

static bool json_is_stix(json_t *root)
{
	const char *t = json_string_value(json_object_get(root, "type"));
	return t && (!strcmp(t, "bundle") || !strcmp(t, "indicator"));
}

static int json_finish(struct node_import *im)
{
	json_error_t jerr;
	json_t *root;
	int r;

	root = json_loadb(im->json ? im->json : "", im->json_len, 0, &jerr);
	free(im->json);
	im->json = NULL;
	im->json_len = im->json_cap = 0;
	if (!root)
		return fail(im, "not valid JSON: line %d, column %d: %s", jerr.line, jerr.column,
			    jerr.text);
	if (im->format == NODE_IMPORT_AUTO)
		im->format = json_is_stix(root) ? NODE_IMPORT_STIX21 : NODE_IMPORT_MISP;
	r = im->format == NODE_IMPORT_STIX21 ? stix_run(im, root) : misp_run(im, root);
	json_decref(root);
	return r;
}

/* ------------------------------------------------------------------ dispatch */

static const char *skip_bom_ws(const char *p, const char *end)
{
	if (end - p >= 3 && !memcmp(p, BOM, 3))
		p += 3;
	while (p < end && is_space(*p))
		p++;
	return p;
}

/* Whether the line [s, e) is a CSV header naming a "value" column. */
static bool line_has_value_column(const char *s, const char *e)
{
	while (s <= e) {
		const char *c = memchr(s, ',', (size_t)(e - s));
		const char *fe = c ? c : e;
		const char *f = s;
		size_t len = (size_t)(fe - s);

		trim(&f, &len);
		if (len >= 2 && f[0] == '"' && f[len - 1] == '"') {
			f++;
			len -= 2;
		}
		if (ieq(f, len, "value"))
			return true;
		if (!c)
			break;
		s = c + 1;
	}
	return false;
}

int node_import_detect(const void *buf, size_t len, bool complete)
{
	const char *p = buf, *end;

	if (len == 0)
		return complete ? NODE_IMPORT_PLAIN : NODE_IMPORT_AUTO;
	end = p + len;
	p = skip_bom_ws(p, end);
	if (p == end)
		return complete ? NODE_IMPORT_PLAIN : NODE_IMPORT_AUTO;
	if (*p == '{' || *p == '[') {
		json_t *root;
		int f;
		if (!complete)
			return NODE_IMPORT_AUTO;
		root = json_loadb(buf, len, 0, NULL);
		f = json_is_stix(root) ? NODE_IMPORT_STIX21 : NODE_IMPORT_MISP;
		json_decref(root);
		return f;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *s = p;
		size_t l = (size_t)(le - p);

		if (!nl && !complete)
			return NODE_IMPORT_AUTO;
		trim(&s, &l);
		if (l && s[0] != '#')
			return line_has_value_column(s, s + l) ? NODE_IMPORT_CSV
							       : NODE_IMPORT_PLAIN;
		if (!nl)
			break;
		p = nl + 1;
	}
	return complete ? NODE_IMPORT_PLAIN : NODE_IMPORT_AUTO;
}

static int route(struct node_import *im, const char *p, size_t n)
{
	switch (im->format) {
	case NODE_IMPORT_PLAIN:
		return plain_feed(im, p, n);
	case NODE_IMPORT_CSV:
		return csv_feed(im, p, n);
	default:
		return json_feed(im, p, n);
	}
}

/* Decides an AUTO format from the held-back bytes and replays them. */
static int auto_decide(struct node_import *im, bool complete)
{
	const char *p;
	int f, r;

	if (im->pend_len == 0) {
		if (complete)
			im->format =
				NODE_IMPORT_PLAIN; /* an empty file has no items in any format */
		return 0;
	}
	f = node_import_detect(im->pend, im->pend_len, complete);
	p = skip_bom_ws(im->pend, im->pend + im->pend_len);
	if (f == NODE_IMPORT_AUTO) {
		/* JSON is decided at finish; text that shows no first line soon is plain. */
		if (p < im->pend + im->pend_len && (*p == '{' || *p == '['))
			f = NODE_IMPORT_AUTO;
		else if (im->pend_len > 2 * NODE_IMPORT_LINE_MAX)
			f = NODE_IMPORT_PLAIN;
		else
			return 0;
	}
	if (f == NODE_IMPORT_STIX21 || f == NODE_IMPORT_MISP)
		f = NODE_IMPORT_AUTO; /* json_finish() decides from the parsed tree */
	im->format = f == NODE_IMPORT_AUTO ? -1 : f;
	r = route(im, im->pend, im->pend_len);
	free(im->pend);
	im->pend = NULL;
	im->pend_len = im->pend_cap = 0;
	if (im->format == -1)
		im->format = NODE_IMPORT_AUTO;
	return r;
}

static int feed_data(struct node_import *im, const char *p, size_t n)
{
	int r;

	if (n == 0)
		return 0;
	if (im->format != NODE_IMPORT_AUTO || im->json)
		return route(im, p, n);
	if (im->pend_len + n > im->pend_cap) {
		size_t cap = im->pend_cap ? im->pend_cap : 4096;
		while (cap < im->pend_len + n)
			cap *= 2;
		char *b = realloc(im->pend, cap);
		if (!b)
			return im->failed = -ENOMEM;
		im->pend = b;
		im->pend_cap = cap;
	}
	memcpy(im->pend + im->pend_len, p, n);
	im->pend_len += n;
	r = auto_decide(im, false);
	return r;
}

int node_import_feed(struct node_import *im, const void *buf, size_t len)
{
	const char *p = buf;
	int r;

	if (im->failed)
		return im->failed;
	/* The BOM is matched across chunk boundaries; a partial match that fails is replayed. */
	while (im->bom_pos < 3 && len > 0) {
		if ((uint8_t)*p == BOM[im->bom_pos]) {
			im->bom_pos++;
			p++;
			len--;
			continue;
		}
		unsigned matched = im->bom_pos;
		im->bom_pos = 3;
		r = feed_data(im, (const char *)BOM, matched);
		if (r)
			return r;
	}
	r = feed_data(im, p, len);
	return r ? r : im->failed;
}

int node_import_finish(struct node_import *im)
{
	int r;

	if (im->failed)
		return im->failed;
	if (im->bom_pos < 3) {
		unsigned matched = im->bom_pos;
		im->bom_pos = 3;
		r = feed_data(im, (const char *)BOM, matched);
		if (r)
			return r;
	}
	if (im->format == NODE_IMPORT_AUTO && !im->json) {
		r = auto_decide(im, true);
		if (r)
			return r;
		if (im->format == NODE_IMPORT_AUTO && !im->json)
			im->format = NODE_IMPORT_PLAIN; /* empty input */
	}
	switch (im->format) {
	case NODE_IMPORT_PLAIN:
		r = plain_finish(im);
		break;
	case NODE_IMPORT_CSV:
		r = csv_finish(im);
		break;
	default:
		r = json_finish(im);
		break;
	}
	if (r && !im->failed)
		im->failed = r;
	return r;
}

struct node_import *node_import_new(const struct node_import_config *cfg, node_import_cb cb,
				    void *ctx)
{
	struct node_import *im;

	if (cfg->format < NODE_IMPORT_AUTO || cfg->format > NODE_IMPORT_MISP || !cb)
		return NULL;
	im = calloc(1, sizeof(*im));
	if (!im)
		return NULL;
	im->buf = malloc(NODE_IMPORT_LINE_MAX + 1);
	if (!im->buf) {
		free(im);
		return NULL;
	}
	im->cfg = *cfg;
	im->format = cfg->format;
	im->cb = cb;
	im->ctx = ctx;
	im->line = 1;
	return im;
}

const char *node_import_error(const struct node_import *im)
{
	return im->err;
}

int node_import_format_of(const struct node_import *im)
{
	return im->format;
}

void node_import_free(struct node_import *im)
{
	if (!im)
		return;
	free(im->buf);
	free(im->pend);
	free(im->json);
	free(im);
}

int node_import_buffer(const struct node_import_config *cfg, const void *buf, size_t len,
		       node_import_cb cb, void *ctx, char *err_out, size_t err_len)
{
	struct node_import *im = node_import_new(cfg, cb, ctx);
	int r;

	if (!im)
		return -ENOMEM;
	r = node_import_feed(im, buf, len);
	if (!r)
		r = node_import_finish(im);
	if (err_out && err_len)
		snprintf(err_out, err_len, "%s", im->err);
	node_import_free(im);
	return r;
}

static const char *const format_names[] = {"auto", "plain", "csv", "stix21", "misp"};

const char *node_import_format_name(int format)
{
	if (format < 0 || format > NODE_IMPORT_MISP)
		return NULL;
	return format_names[format];
}

int node_import_format_from_name(const char *name)
{
	for (int i = 0; i <= NODE_IMPORT_MISP; i++)
		if (!strcasecmp(name, format_names[i]))
			return i;
	if (!strcasecmp(name, "stix") || !strcasecmp(name, "stix2"))
		return NODE_IMPORT_STIX21;
	return -1;
}
