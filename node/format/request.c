/* SPDX-License-Identifier: MIT */
/*
 * API request validation. Everything a client can get wrong is caught here, on the loop
 * thread, before any work is queued: the ingest path then only signs and stores items that
 * are known to encode. Each check names the field at fault so an operator's script can be
 * fixed from the error alone.
 */
#include "node/format/request.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/crypto.h"
#include "proto/error.h"

static const char *const op_names[] = {
	[NODE_OP_PUBLISH] = "publish",
	[NODE_OP_REVOKE] = "revoke",
	[NODE_OP_SIGHT] = "sight",
	[NODE_OP_FALSE_POSITIVE] = "false_positive",
	[NODE_OP_QUERY] = "query",
	[NODE_OP_LIST] = "list",
	[NODE_OP_STATUS] = "status",
	[NODE_OP_PEERS] = "peers",
	[NODE_OP_NOTIFY] = "notify",
	[NODE_OP_NOTICES] = "notices",
	[NODE_OP_NOTICE_REPLY] = "notice_reply",
	[NODE_OP_SEAL] = "seal",
};
#define N_OPS (sizeof(op_names) / sizeof(op_names[0]))

/* Fields of a report object; the order is the order in which problems are reported. */
static const char *const item_fields[] = {"value",
					  "type",
					  "tlp",
					  "kind",
					  "confidence",
					  "valid_until",
					  "ttl",
					  "tags",
					  "description",
					  "anonymous",
					  "recipients",
					  "allow_names",
					  "allow_warninglisted"};
#define N_ITEM_FIELDS (sizeof(item_fields) / sizeof(item_fields[0]))

const char *node_req_op_name(int op)
{
	if (op < 0 || (size_t)op >= N_OPS)
		return NULL;
	return op_names[op];
}

bool node_req_op_is_publish(int op)
{
	return op == NODE_OP_PUBLISH || op == NODE_OP_REVOKE || op == NODE_OP_SIGHT ||
	       op == NODE_OP_FALSE_POSITIVE;
}

int node_req_error_set(struct node_req_error *err, int code, const char *field, const char *fmt,
		       ...)
{
	va_list ap;

	err->code = code;
	snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return code;
}

json_t *node_req_error_json(const struct node_req_error *err)
{
	return json_pack("{s:s, s:i, s:o, s:s}", "code", proto_error_name(err->code), "number",
			 (json_int_t)err->code, "field",
			 err->field[0] ? json_string(err->field) : json_null(), "message",
			 err->message);
}

json_t *node_req_error_response(json_t *id, const struct node_req_error *err)
{
	json_t *e = node_req_error_json(err), *r;

	if (!e)
		return NULL;
	r = json_pack("{s:b, s:o}", "ok", 0, "error", e);
	if (r && id && json_object_set(r, "id", id)) {
		json_decref(r);
		r = NULL;
	}
	return r;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *s, int n, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int node_req_ttl_parse(const char *s, long long *out)
{
	char *end;
	long long v, mul = 1;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || v <= 0)
		return -EINVAL;
	if (*end) {
		if (end[1])
			return -EINVAL;
		switch (*end) {
		case 's':
			break;
		case 'm':
			mul = 60;
			break;
		case 'h':
			mul = 3600;
			break;
		case 'd':
			mul = 86400;
			break;
		default:
			return -EINVAL;
		}
	}
	if (v > NODE_REQ_TTL_MAX / mul)
		return -ERANGE;
	*out = v * mul;
	return 0;
}

int node_req_time_parse(const char *s, uint64_t *ms)
{
	static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	unsigned y, mo, d, h, mi, sec, frac = 0, oh = 0, om = 0;
	const char *p;
	int64_t t;
	int sign = 0;

	if (strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
	    s[7] != '-' || digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
	    digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
	    digits(s + 17, 2, &sec))
		return -EINVAL;
	p = s + 19;
	if (*p == '.') {
		int n = 0;
		p++;
		while (*p >= '0' && *p <= '9') {
			if (n < 3)
				frac = frac * 10 + (unsigned)(*p - '0');
			n++;
			p++;
		}
		if (n == 0)
			return -EINVAL;
		for (; n < 3; n++)
			frac *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 ||
		    om > 59)
			return -EINVAL;
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] + (mo == 2 && leap ? 1u : 0u) || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	if (sec == 60)
		sec = 59; /* a leap second names the last second of its minute */
	t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	t -= sign * (int64_t)(oh * 3600 + om * 60);
	if (t < 0)
		return -EINVAL;
	if ((uint64_t)t * 1000 + frac > PROTO_REPORT_TIME_MAX_MS)
		return -ERANGE; /* e.g. 9999-12-31T23:30:00-01:00 */
	*ms = (uint64_t)t * 1000 + frac;
	return 0;
}

char *node_req_time_format(uint64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm)) {
		snprintf(buf, len, "invalid");
		return buf;
	}
	size_t o = strlen(buf);
	snprintf(buf + o, len - o, ".%03uZ", (unsigned)(ms % 1000));
	return buf;
}

static void item_clear(struct node_req_item *it)
{
	free(it->ind_value);
	for (size_t i = 0; i < it->n_tags; i++)
		free(it->tags[i]);
	free(it->description);
	free(it->recipients);
	memset(it, 0, sizeof(*it));
}

void node_request_free(struct node_request *req)
{
	if (!req)
		return;
	for (size_t i = 0; i < req->n_items; i++)
		item_clear(&req->items[i]);
	free(req->items);
	free(req->ind_value);
	free(req->sealed);
	free(req->form);
	free(req->to);
	free(req->to_owner_of);
	free(req->via);
	free(req->notice);
	free(req->comment);
	json_decref(req->id);
	free(req);
}

static bool in_list(const char *key, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(key, list[i]))
			return true;
	return false;
}

/* Field path "prefix" + "name" into @out. */
static const char *path(char *out, size_t len, const char *prefix, const char *name)
{
	snprintf(out, len, "%s%s", prefix, name);
	return out;
}

static int cmp32(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

static bool has_control(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

/* Parses an indicator from "value" and optional "type" of @obj. */
static int parse_indicator(json_t *obj, const char *prefix, struct proto_indicator *ind,
			   struct node_req_error *err)
{
	json_t *jv = json_object_get(obj, "value"), *jt = json_object_get(obj, "type");
	const char *reason = NULL;
	char f[64];
	int type = 0, r;

	if (jt) {
		if (!json_is_string(jt))
			return node_req_error_set(err, NODE_E_FIELD,
						  path(f, sizeof(f), prefix, "type"),
						  "type must be a string");
		type = proto_indicator_type_from_name(json_string_value(jt));
		if (type < 0)
			return node_req_error_set(
				err, PROTO_E_IND_TYPE, path(f, sizeof(f), prefix, "type"),
				"unknown indicator type '%.64s' (ipv4, ipv6, domain, url, email, md5, "
				"sha1, sha256, sha512)",
				json_string_value(jt));
	}
	if (!jv)
		return node_req_error_set(err, NODE_E_FIELD, path(f, sizeof(f), prefix, "value"),
					  "missing indicator value");
	if (!json_is_string(jv))
		return node_req_error_set(err, NODE_E_FIELD, path(f, sizeof(f), prefix, "value"),
					  "value must be a string");
	if (jt)
		r = proto_indicator_parse(ind, type, json_string_value(jv), json_string_length(jv),
					  &reason);
	else
		r = proto_indicator_detect(ind, json_string_value(jv), json_string_length(jv),
					   &reason);
	if (r == -ENOMEM)
		return r;
	if (r)
		return node_req_error_set(err, r == PROTO_E_IND_TYPE ? r : PROTO_E_IND_VALUE,
					  path(f, sizeof(f), prefix, "value"), "%s",
					  reason ? reason : proto_error_str(r));
	return 0;
}

/*
 * Validates one report object into @it. @fixed_kind is the kind the op implies (-1 for
 * publish); @top says extra request-level keys ("op", "id") are allowed. Returns 0, the
 * item's error code (also stored in it->error), or -ENOMEM.
 */
static int parse_item(json_t *obj, int fixed_kind, const char *prefix, bool top,
		      struct node_req_item *it)
{
	static const char *const top_keys[] = {"op", "id"};
	struct node_req_error *err = &it->error;
	struct proto_indicator ind;
	const char *key;
	json_t *v;
	char f[64];
	int r;

	json_object_foreach(obj, key, v)
	{
		if (in_list(key, item_fields, N_ITEM_FIELDS) || (top && in_list(key, top_keys, 2)))
			continue;
		return node_req_error_set(err, NODE_E_FIELD, path(f, sizeof(f), prefix, key),
					  "unknown field '%.48s'", key);
	}

	r = parse_indicator(obj, prefix, &ind, err);
	if (r)
		return r;
	it->ind_type = ind.type;
	it->ind_len = ind.len;
	it->ind_value = strdup(ind.value);
	if (!it->ind_value)
		return -ENOMEM;

	v = json_object_get(obj, "tlp");
	if (!v)
		return node_req_error_set(err, PROTO_E_REPORT_TLP,
					  path(f, sizeof(f), prefix, "tlp"),
					  "missing TLP: every report needs one of CLEAR, GREEN, "
					  "AMBER, AMBER+STRICT, RED");
	r = json_is_string(v) ? proto_tlp_from_name(json_string_value(v)) : -1;
	if (r < 0)
		return node_req_error_set(err, PROTO_E_REPORT_TLP,
					  path(f, sizeof(f), prefix, "tlp"),
					  "unknown TLP (CLEAR, GREEN, AMBER, AMBER+STRICT, RED)");
	it->tlp = (uint8_t)r;

	v = json_object_get(obj, "kind");
	if (fixed_kind >= 0) {
		it->kind = (uint8_t)fixed_kind;
		if (v && (!json_is_string(v) ||
			  proto_report_kind_from_name(json_string_value(v)) != fixed_kind))
			return node_req_error_set(err, PROTO_E_REPORT_KIND,
						  path(f, sizeof(f), prefix, "kind"),
						  "this op always publishes kind '%s'",
						  proto_report_kind_name(fixed_kind));
	} else if (v) {
		r = json_is_string(v) ? proto_report_kind_from_name(json_string_value(v)) : -1;
		if (r < 0)
			return node_req_error_set(
				err, PROTO_E_REPORT_KIND, path(f, sizeof(f), prefix, "kind"),
				"unknown kind (indicator, sighting, false_positive, revoke)");
		it->kind = (uint8_t)r;
	} else {
		it->kind = PROTO_KIND_INDICATOR;
	}

	it->confidence = NODE_REQ_CONFIDENCE_DEFAULT;
	v = json_object_get(obj, "confidence");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 100)
			return node_req_error_set(err, PROTO_E_REPORT_CONFIDENCE,
						  path(f, sizeof(f), prefix, "confidence"),
						  "confidence must be an integer 0-100");
		it->confidence = (uint8_t)json_integer_value(v);
	}

	v = json_object_get(obj, "valid_until");
	if (v) {
		uint64_t ms = 0;
		if (json_is_integer(v) && json_integer_value(v) > 0 &&
		    (uint64_t)json_integer_value(v) <= PROTO_REPORT_TIME_MAX_MS)
			ms = (uint64_t)json_integer_value(v);
		else if (!json_is_string(v) || node_req_time_parse(json_string_value(v), &ms))
			ms = 0;
		if (!ms)
			return node_req_error_set(
				err, PROTO_E_REPORT_TIME, path(f, sizeof(f), prefix, "valid_until"),
				"valid_until must be milliseconds since the epoch (1-%llu) or an "
				"RFC 3339 UTC time such as 2030-01-31T00:00:00Z, at most "
				"9999-12-31T23:59:59.999Z",
				(unsigned long long)PROTO_REPORT_TIME_MAX_MS);
		it->valid_until_ms = ms;
	}
	v = json_object_get(obj, "ttl");
	if (v) {
		if (it->valid_until_ms)
			return node_req_error_set(err, NODE_E_FIELD,
						  path(f, sizeof(f), prefix, "ttl"),
						  "give either ttl or valid_until, not both");
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > NODE_REQ_TTL_MAX)
			return node_req_error_set(
				err, PROTO_E_REPORT_TIME, path(f, sizeof(f), prefix, "ttl"),
				"ttl must be an integer number of seconds, 1-%lld",
				(long long)NODE_REQ_TTL_MAX);
		it->ttl_ms = (uint64_t)json_integer_value(v) * 1000;
	}

	v = json_object_get(obj, "tags");
	if (v) {
		size_t i;
		json_t *t;
		if (!json_is_array(v))
			return node_req_error_set(err, PROTO_E_REPORT_TAG,
						  path(f, sizeof(f), prefix, "tags"),
						  "tags must be an array of strings");
		if (json_array_size(v) > PROTO_REPORT_TAGS_MAX)
			return node_req_error_set(err, PROTO_E_TOO_LARGE,
						  path(f, sizeof(f), prefix, "tags"),
						  "at most %d tags", PROTO_REPORT_TAGS_MAX);
		json_array_foreach(v, i, t)
		{
			char tf[48];
			snprintf(tf, sizeof(tf), "tags[%zu]", i);
			if (!json_is_string(t) || json_string_length(t) == 0 ||
			    json_string_length(t) > PROTO_REPORT_TAG_LEN_MAX ||
			    has_control(json_string_value(t), json_string_length(t)))
				return node_req_error_set(
					err, PROTO_E_REPORT_TAG, path(f, sizeof(f), prefix, tf),
					"a tag is a string of 1-%d bytes without control characters",
					PROTO_REPORT_TAG_LEN_MAX);
			it->tags[it->n_tags] = strdup(json_string_value(t));
			if (!it->tags[it->n_tags])
				return -ENOMEM;
			it->n_tags++;
		}
	}

	v = json_object_get(obj, "description");
	if (v) {
		if (!json_is_string(v))
			return node_req_error_set(err, NODE_E_FIELD,
						  path(f, sizeof(f), prefix, "description"),
						  "description must be a string");
		if (json_string_length(v) > PROTO_REPORT_DESC_MAX)
			return node_req_error_set(
				err, PROTO_E_TOO_LARGE, path(f, sizeof(f), prefix, "description"),
				"description longer than %d bytes", PROTO_REPORT_DESC_MAX);
		if (json_string_length(v)) {
			it->description = strdup(json_string_value(v));
			if (!it->description)
				return -ENOMEM;
		}
	}

	v = json_object_get(obj, "anonymous");
	if (v) {
		if (!json_is_boolean(v))
			return node_req_error_set(err, NODE_E_FIELD,
						  path(f, sizeof(f), prefix, "anonymous"),
						  "anonymous must be true or false");
		it->anonymous = json_is_true(v);
	}

	v = json_object_get(obj, "allow_names");
	if (v) {
		if (!json_is_boolean(v))
			return node_req_error_set(err, NODE_E_FIELD,
						  path(f, sizeof(f), prefix, "allow_names"),
						  "allow_names must be true or false");
		it->allow_names = json_is_true(v);
	}
	v = json_object_get(obj, "allow_warninglisted");
	if (v) {
		if (!json_is_boolean(v))
			return node_req_error_set(err, NODE_E_FIELD,
						  path(f, sizeof(f), prefix, "allow_warninglisted"),
						  "allow_warninglisted must be true or false");
		it->allow_warninglisted = json_is_true(v);
	}
	/*
	 * AMBER and RED travel directly from the origin to each recipient, which tells every
	 * recipient who sent them: a ring signature would promise an anonymity the delivery
	 * path cannot keep, so the combination is refused rather than silently attributed.
	 */
	if (it->anonymous && it->tlp >= PROTO_TLP_AMBER)
		return node_req_error_set(
			err, PROTO_E_REPORT_PROVENANCE, path(f, sizeof(f), prefix, "anonymous"),
			"anonymous reports are only for TLP:CLEAR and TLP:GREEN; "
			"TLP:%s goes directly to its recipients, which reveals the "
			"sender",
			proto_tlp_name(it->tlp));

	v = json_object_get(obj, "recipients");
	bool needs = it->tlp >= PROTO_TLP_AMBER;
	if (v) {
		size_t i, n;
		json_t *m;
		if (!json_is_array(v))
			return node_req_error_set(err, PROTO_E_REPORT_RECIPIENTS,
						  path(f, sizeof(f), prefix, "recipients"),
						  "recipients must be an array of member ids");
		n = json_array_size(v);
		if (n > PROTO_REPORT_RECIPIENTS_MAX)
			return node_req_error_set(
				err, PROTO_E_TOO_LARGE, path(f, sizeof(f), prefix, "recipients"),
				"at most %d recipients", PROTO_REPORT_RECIPIENTS_MAX);
		if (n && !needs)
			return node_req_error_set(
				err, PROTO_E_REPORT_RECIPIENTS,
				path(f, sizeof(f), prefix, "recipients"),
				"TLP:CLEAR and TLP:GREEN reports have no recipients");
		if (n) {
			it->recipients = malloc(n * 32);
			if (!it->recipients)
				return -ENOMEM;
		}
		json_array_foreach(v, i, m)
		{
			char rf[48];
			snprintf(rf, sizeof(rf), "recipients[%zu]", i);
			if (!json_is_string(m) ||
			    proto_hex_decode(it->recipients[i], 32, json_string_value(m)))
				return node_req_error_set(
					err, PROTO_E_REPORT_RECIPIENTS,
					path(f, sizeof(f), prefix, rf),
					"a recipient is a member id of 64 hex digits");
			it->n_recipients++;
		}
		if (it->n_recipients > 1)
			qsort(it->recipients, it->n_recipients, 32, cmp32);
		for (i = 1; i < it->n_recipients; i++)
			if (!memcmp(it->recipients[i - 1], it->recipients[i], 32))
				return node_req_error_set(err, PROTO_E_REPORT_RECIPIENTS,
							  path(f, sizeof(f), prefix, "recipients"),
							  "duplicate recipient");
	}
	if (needs && it->n_recipients == 0)
		return node_req_error_set(err, PROTO_E_REPORT_RECIPIENTS,
					  path(f, sizeof(f), prefix, "recipients"),
					  "TLP:%s reports need at least one recipient member id",
					  proto_tlp_name(it->tlp));
	return 0;
}

static int check_keys(json_t *obj, const char *const *allowed, size_t n, struct node_req_error *err)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v)
	{
		if (!in_list(key, allowed, n))
			return node_req_error_set(err, NODE_E_FIELD, key,
						  "unknown field '%.48s' for this op", key);
	}
	return 0;
}

static int parse_publish(json_t *root, struct node_request *req, struct node_req_error *err)
{
	static const char *const batch_keys[] = {"op", "id", "reports"};
	static const int kinds[] = {[NODE_OP_PUBLISH] = -1,
				    [NODE_OP_REVOKE] = PROTO_KIND_REVOKE,
				    [NODE_OP_SIGHT] = PROTO_KIND_SIGHTING,
				    [NODE_OP_FALSE_POSITIVE] = PROTO_KIND_FALSE_POSITIVE};
	json_t *reports = json_object_get(root, "reports");
	int kind = kinds[req->op], r;

	if (!reports) {
		req->items = calloc(1, sizeof(*req->items));
		if (!req->items)
			return -ENOMEM;
		req->n_items = 1;
		r = parse_item(root, kind, "", true, &req->items[0]);
		if (r == -ENOMEM)
			return r;
		if (r) {
			*err = req->items[0].error;
			return r;
		}
		return 0;
	}
	r = check_keys(root, batch_keys, 3, err);
	if (r) {
		snprintf(err->message, sizeof(err->message),
			 "a batch request has only op, id and reports; '%.48s' belongs in each "
			 "report",
			 err->field);
		return r;
	}
	if (!json_is_array(reports) || json_array_size(reports) == 0)
		return node_req_error_set(err, NODE_E_FIELD, "reports",
					  "reports must be a non-empty array of report objects");
	if (json_array_size(reports) > NODE_REQ_BATCH_MAX)
		return node_req_error_set(err, PROTO_E_TOO_LARGE, "reports",
					  "a batch holds at most %d reports, this one %zu",
					  NODE_REQ_BATCH_MAX, json_array_size(reports));
	req->batch = true;
	req->items = calloc(json_array_size(reports), sizeof(*req->items));
	if (!req->items)
		return -ENOMEM;
	req->n_items = json_array_size(reports);
	for (size_t i = 0; i < req->n_items; i++) {
		json_t *o = json_array_get(reports, i);
		char prefix[32];
		snprintf(prefix, sizeof(prefix), "reports[%zu].", i);
		if (!json_is_object(o)) {
			prefix[strlen(prefix) - 1] = '\0';
			node_req_error_set(&req->items[i].error, NODE_E_FIELD, prefix,
					   "each report must be a JSON object");
			continue;
		}
		r = parse_item(o, kind, prefix, false, &req->items[i]);
		if (r == -ENOMEM)
			return r;
		if (r) {
			/* Keep only the error: a rejected item owns nothing. */
			struct node_req_error e = req->items[i].error;
			item_clear(&req->items[i]);
			req->items[i].error = e;
		}
	}
	return 0;
}

static int parse_query(json_t *root, struct node_request *req, struct node_req_error *err)
{
	static const char *const keys[] = {"op", "id", "indicator_id", "value", "type"};
	json_t *jid = json_object_get(root, "indicator_id");
	struct proto_indicator ind;
	int r;

	r = check_keys(root, keys, 5, err);
	if (r)
		return r;
	if (jid) {
		if (json_object_get(root, "value") || json_object_get(root, "type"))
			return node_req_error_set(err, NODE_E_FIELD, "indicator_id",
						  "give either indicator_id or value, not both");
		if (!json_is_string(jid) ||
		    proto_hex_decode(req->ind_id, 32, json_string_value(jid)))
			return node_req_error_set(err, NODE_E_FIELD, "indicator_id",
						  "indicator_id is 64 hex digits");
		return 0;
	}
	if (!json_object_get(root, "value"))
		return node_req_error_set(
			err, NODE_E_FIELD, "value",
			"query needs value (and optionally type) or indicator_id");
	r = parse_indicator(root, "", &ind, err);
	if (r)
		return r;
	proto_indicator_id(&ind, req->ind_id);
	req->has_ind = true;
	req->ind_type = ind.type;
	req->ind_value = strdup(ind.value);
	return req->ind_value ? 0 : -ENOMEM;
}

static int parse_seal(json_t *root, struct node_request *req, struct node_req_error *err)
{
	static const char *const keys[] = {"op", "id", "values"};
	static const char *const value_keys[] = {"value", "type", "confidence"};
	json_t *values = json_object_get(root, "values");
	char prefix[32], f[64];
	int r;

	r = check_keys(root, keys, 3, err);
	if (r)
		return r;
	if (!json_is_array(values) || json_array_size(values) == 0)
		return node_req_error_set(err, NODE_E_FIELD, "values",
					  "values must be a non-empty array of value objects");
	if (json_array_size(values) > NODE_REQ_SEAL_MAX)
		return node_req_error_set(err, PROTO_E_TOO_LARGE, "values",
					  "a seal request holds at most %d values, this one %zu",
					  NODE_REQ_SEAL_MAX, json_array_size(values));
	req->sealed = calloc(json_array_size(values), sizeof(*req->sealed));
	if (!req->sealed)
		return -ENOMEM;
	req->n_sealed = json_array_size(values);
	for (size_t i = 0; i < req->n_sealed; i++) {
		json_t *o = json_array_get(values, i), *c;
		struct node_req_sealed *v = &req->sealed[i];

		snprintf(prefix, sizeof(prefix), "values[%zu].", i);
		if (!json_is_object(o)) {
			prefix[strlen(prefix) - 1] = '\0';
			return node_req_error_set(err, NODE_E_FIELD, prefix,
						  "each value must be a JSON object");
		}
		if ((r = check_keys(o, value_keys, 3, err)))
			return r;
		if ((r = parse_indicator(o, prefix, &v->ind, err)))
			return r;
		v->confidence = NODE_REQ_CONFIDENCE_DEFAULT;
		c = json_object_get(o, "confidence");
		if (c) {
			if (!json_is_integer(c) || json_integer_value(c) < 0 ||
			    json_integer_value(c) > 100)
				return node_req_error_set(err, PROTO_E_REPORT_CONFIDENCE,
							  path(f, sizeof(f), prefix, "confidence"),
							  "confidence is an integer 0-100");
			v->confidence = (uint8_t)json_integer_value(c);
		}
	}
	return 0;
}

static int parse_list(json_t *root, struct node_request *req, struct node_req_error *err)
{
	static const char *const keys[] = {"op", "id", "since", "limit"};
	json_t *v;
	int r;

	r = check_keys(root, keys, 4, err);
	if (r)
		return r;
	req->limit = NODE_REQ_LIST_DEFAULT;
	v = json_object_get(root, "since");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return node_req_error_set(err, NODE_E_FIELD, "since",
						  "since is a feed sequence number >= 0");
		req->since = (uint64_t)json_integer_value(v);
	}
	v = json_object_get(root, "limit");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > NODE_REQ_LIST_MAX)
			return node_req_error_set(err, NODE_E_FIELD, "limit",
						  "limit is an integer 1-%d", NODE_REQ_LIST_MAX);
		req->limit = (uint32_t)json_integer_value(v);
	}
	return 0;
}

/*
 * The JSON tree jansson builds costs about 100-250 bytes per value whatever its text costs:
 * "{}," is 3 bytes and an object of about 250, so a 15 MiB line of empty objects took
 * 1.9 GB before any field was looked at. One pass over the text counts containers and
 * separators (outside strings) and refuses a line that no valid request needs, so the tree
 * of any parsed line stays within a bound of its own (docs/ARCHITECTURE.md).
 */
static int check_shape(const char *s, size_t n, struct node_req_error *err)
{
	size_t containers = 0, separators = 0;
	bool in_str = false;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"')
			in_str = true;
		else if (c == '{' || c == '[')
			containers++;
		else if (c == ',' || c == ':')
			separators++;
	}
	if (containers > NODE_REQ_CONTAINERS_MAX || separators > NODE_REQ_SEPARATORS_MAX)
		return node_req_error_set(
			err, PROTO_E_TOO_LARGE, NULL,
			"request has %zu objects/arrays and %zu values; a request "
			"may have at most %d and %d (a full batch of %d reports "
			"never needs more)",
			containers, separators, NODE_REQ_CONTAINERS_MAX, NODE_REQ_SEPARATORS_MAX,
			NODE_REQ_BATCH_MAX);
	return 0;
}

int node_request_parse(const char *line, size_t len, struct node_request **out, json_t **id_out,
		       struct node_req_error *err)
{
	static const char *const bare_keys[] = {"op", "id"};
	struct node_request *req = NULL;
	json_error_t jerr;
	json_t *root, *id, *op;
	const char *opname;
	int r;

	*out = NULL;
	if (id_out)
		*id_out = NULL;
	memset(err, 0, sizeof(*err));
	r = check_shape(line, len, err);
	if (r)
		return r;
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return node_req_error_set(err, NODE_E_JSON, NULL, "malformed JSON at column %d: %s",
					  jerr.column, jerr.text);
	if (!json_is_object(root)) {
		r = node_req_error_set(err, NODE_E_REQUEST, NULL,
				       "a request is a JSON object with an \"op\"");
		goto out;
	}
	id = json_object_get(root, "id");
	if (id && !(json_is_string(id) && json_string_length(id) <= 256) && !json_is_integer(id)) {
		r = node_req_error_set(err, NODE_E_FIELD, "id",
				       "id must be an integer or a string of at most 256 bytes");
		goto out;
	}
	if (id && id_out)
		*id_out = json_incref(id);
	op = json_object_get(root, "op");
	if (!op || !json_is_string(op)) {
		r = node_req_error_set(err, NODE_E_FIELD, "op",
				       op ? "op must be a string" : "missing op");
		goto out;
	}
	opname = json_string_value(op);
	req = calloc(1, sizeof(*req));
	if (!req) {
		r = -ENOMEM;
		goto out;
	}
	req->op = N_OPS;
	for (size_t i = 0; i < N_OPS; i++)
		if (!strcmp(opname, op_names[i]))
			req->op = (enum node_req_op)i;
	switch (req->op) {
	case NODE_OP_PUBLISH:
	case NODE_OP_REVOKE:
	case NODE_OP_SIGHT:
	case NODE_OP_FALSE_POSITIVE:
		r = parse_publish(root, req, err);
		break;
	case NODE_OP_QUERY:
		r = parse_query(root, req, err);
		break;
	case NODE_OP_LIST:
		r = parse_list(root, req, err);
		break;
	case NODE_OP_SEAL:
		r = parse_seal(root, req, err);
		break;
	case NODE_OP_STATUS:
	case NODE_OP_PEERS:
		r = check_keys(root, bare_keys, 2, err);
		break;
	case NODE_OP_NOTICES:
		r = check_keys(root, (const char *const[]){"op", "id", "format"}, 3, err);
		if (!r)
			r = node_req_parse_notices(root, req, err);
		break;
	case NODE_OP_NOTIFY:
		r = check_keys(root,
			       (const char *const[]){"op", "id", "form", "tlp", "to", "to_owner_of",
						     "via"},
			       7, err);
		if (!r)
			r = node_req_parse_notify(root, req, err);
		break;
	case NODE_OP_NOTICE_REPLY:
		r = check_keys(root,
			       (const char *const[]){"op", "id", "notice", "status", "comment"}, 5,
			       err);
		if (!r)
			r = node_req_parse_notice_reply(root, req, err);
		break;
	default:
		r = node_req_error_set(
			err, NODE_E_OP, "op",
			"unknown op '%.48s' (publish, revoke, sight, false_positive, "
			"query, list, status, peers, notify, notices, notice_reply, seal)",
			opname);
		break;
	}
	if (r)
		goto out;
	if (id)
		req->id = json_incref(id);
	*out = req;
	req = NULL;
out:
	node_request_free(req);
	json_decref(root);
	return r;
}
