/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: one API request line through node/request's parser and validator. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/format/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct node_request *req = NULL;
	struct node_req_error err;
	json_t *id = NULL, *resp;
	int r;

	r = node_request_parse((const char *)data, size, &req, &id, &err);
	if (r) {
		/* Every refusal names a code and a message, and renders. */
		if (r != -12 && (err.code != r || !err.message[0] || req))
			__builtin_trap();
		resp = node_req_error_response(id, &err);
		char *text = resp ? json_dumps(resp, JSON_COMPACT) : NULL;
		free(text);
		json_decref(resp);
		json_decref(id);
		return 0;
	}
	/* Accepted items are what the ingest path relies on: canonical and within limits. */
	for (size_t i = 0; i < req->n_items; i++) {
		const struct node_req_item *it = &req->items[i];
		if (it->error.code)
			continue;
		if (!it->ind_value || strlen(it->ind_value) != it->ind_len || !it->tlp ||
		    it->tlp > PROTO_TLP_RED || it->confidence > 100 ||
		    it->n_tags > PROTO_REPORT_TAGS_MAX ||
		    (it->tlp >= PROTO_TLP_AMBER) != (it->n_recipients > 0))
			__builtin_trap();
	}
	json_decref(id);
	node_request_free(req);
	return 0;
}
