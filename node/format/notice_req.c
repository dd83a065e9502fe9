/* SPDX-License-Identifier: MIT */
/*
 * The API's notice ops (node/format/request.h: notify, notice_reply). The form is checked
 * against its schema here, on the loop thread, so a malformed form is refused naming its
 * field before anything is signed or stored.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "node/format/form.h"
#include "node/format/request.h"
#include "proto/error.h"
#include "proto/notice.h"
#include "proto/report.h"

static const char *const status_names[] = {
	[PROTO_NOTICE_RECEIVED] = "received",
	[PROTO_NOTICE_INVESTIGATING] = "investigating",
	[PROTO_NOTICE_RESOLVED] = "resolved",
	[PROTO_NOTICE_NOT_OURS] = "not-ours",
};

static const char *const refusal_names[] = {
	[PROTO_NOTICE_REFUSED_NOT_ADDRESSED] = "not-addressed",
	[PROTO_NOTICE_REFUSED_FORM] = "form",
	[PROTO_NOTICE_REFUSED_FORWARD] = "forward",
	[PROTO_NOTICE_REFUSED_HANDLE] = "handle",
	[PROTO_NOTICE_REFUSED_THREAD] = "thread",
};

const char *node_req_refusal_name(int reason)
{
	if (reason < PROTO_NOTICE_REFUSED_NOT_ADDRESSED || reason > PROTO_NOTICE_REFUSED_THREAD)
		return NULL;
	return refusal_names[reason];
}

const char *node_req_status_name(int status)
{
	if (status < PROTO_NOTICE_RECEIVED || status > PROTO_NOTICE_NOT_OURS)
		return NULL;
	return status_names[status];
}

/* A non-empty string field of at most @max bytes, copied to *@out; absent leaves NULL. */
static int str_field(json_t *root, const char *name, size_t max, bool required, char **out,
		     struct node_req_error *err)
{
	json_t *v = json_object_get(root, name);

	if (!v) {
		if (required)
			return node_req_error_set(err, NODE_E_FIELD, name, "missing %s", name);
		return 0;
	}
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max)
		return node_req_error_set(err, NODE_E_FIELD, name,
					  "%s must be a string of 1-%zu bytes", name, max);
	*out = strdup(json_string_value(v));
	return *out ? 0 : -ENOMEM;
}

int node_req_parse_notify(json_t *root, struct node_request *req, struct node_req_error *err)
{
	json_t *form = json_object_get(root, "form"), *tlp = json_object_get(root, "tlp");
	struct node_form_error fe;
	int r, t;

	if (!form || !json_is_object(form))
		return node_req_error_set(err, NODE_E_FIELD, "form",
					  form ? "form must be a JSON object" : "missing form");
	if (node_form_validate(form, &fe)) {
		char field[64];

		if (fe.code == -ENOMEM)
			return -ENOMEM;
		snprintf(field, sizeof(field), "form%s%.57s", fe.field[0] ? "." : "", fe.field);
		return node_req_error_set(err, NODE_E_FIELD, field, "%s", fe.message);
	}
	req->form = json_dumps(form, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!req->form)
		return -ENOMEM;
	if (strlen(req->form) > PROTO_NOTICE_FORM_MAX)
		return node_req_error_set(err, PROTO_E_TOO_LARGE, "form",
					  "the form is %zu bytes of JSON; a notice carries at most "
					  "%d",
					  strlen(req->form), PROTO_NOTICE_FORM_MAX);
	t = tlp && json_is_string(tlp) ? proto_tlp_from_name(json_string_value(tlp)) : -1;
	if (!tlp)
		return node_req_error_set(err, PROTO_E_REPORT_TLP, "tlp",
					  "missing tlp: AMBER, AMBER+STRICT or RED");
	if (t < PROTO_TLP_AMBER)
		return node_req_error_set(err, PROTO_E_REPORT_TLP, "tlp",
					  "a notice is AMBER, AMBER+STRICT or RED (never CLEAR or "
					  "GREEN)");
	req->tlp = (uint8_t)t;
	if ((r = str_field(root, "to", 255, false, &req->to, err)) ||
	    (r = str_field(root, "to_owner_of", 2048, false, &req->to_owner_of, err)) ||
	    (r = str_field(root, "via", 255, false, &req->via, err)))
		return r;
	if (!req->to == !req->to_owner_of)
		return node_req_error_set(err, NODE_E_FIELD, req->to ? "to_owner_of" : "to",
					  "give exactly one of to and to_owner_of");
	return 0;
}

int node_req_parse_notices(json_t *root, struct node_request *req, struct node_req_error *err)
{
	static const char *const names[] = {"json", "stix21", "misp"};
	json_t *f = json_object_get(root, "format");

	if (!f)
		return 0;
	for (size_t i = 0; i < 3; i++)
		if (json_is_string(f) && !strcmp(json_string_value(f), names[i])) {
			req->format = (uint8_t)i;
			return 0;
		}
	return node_req_error_set(err, NODE_E_FIELD, "format", "format is json, stix21 or misp");
}

int node_req_parse_notice_reply(json_t *root, struct node_request *req, struct node_req_error *err)
{
	const char *st;
	size_t n;
	int r;

	if ((r = str_field(root, "notice", 32, true, &req->notice, err)))
		return r;
	n = strlen(req->notice);
	if (n < 8 || strspn(req->notice, "0123456789abcdefABCDEF") != n)
		return node_req_error_set(err, NODE_E_FIELD, "notice",
					  "notice is its id: 8 to 32 hex digits");
	st = json_string_value(json_object_get(root, "status"));
	for (int i = PROTO_NOTICE_RECEIVED; st && i <= PROTO_NOTICE_NOT_OURS; i++)
		if (!strcasecmp(st, status_names[i]))
			req->status = (uint8_t)i;
	if (!req->status)
		return node_req_error_set(err, NODE_E_FIELD, "status",
					  "status is received, investigating, resolved or "
					  "not-ours");
	return str_field(root, "comment", PROTO_NOTICE_COMMENT_MAX, false, &req->comment, err);
}
