/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: a notice form (node/format/form.h) parsed, pruned and validated. Every
 * refusal names a message; a form that validates still validates after a JSON round trip
 * (the verdict depends on the document, not on how it was spelled); every template is the
 * shape of its form and fails only because required fields are empty.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/format/form.h"
#include "proto/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct node_form_error err;
	json_error_t je;
	json_t *doc, *again;
	char *text;
	int rc;

	doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
	if (!doc)
		return 0;
	if (json_is_object(doc))
		node_form_prune(doc);
	rc = node_form_validate(doc, &err);
	if (rc && (rc != NODE_E_FIELD || err.code != rc || !err.message[0]))
		__builtin_trap();
	text = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
	again = text ? json_loads(text, JSON_DECODE_ANY, &je) : NULL;
	if (again && (node_form_validate(again, &err) == 0) != (rc == 0))
		__builtin_trap();
	json_decref(again);
	free(text);
	json_decref(doc);
	for (size_t i = 0; i < node_form_count && size == 0; i++) {
		json_t *t = node_form_template(node_form_names[i]);

		if (!t || node_form_validate(t, &err) == 0)
			__builtin_trap();
		json_decref(t);
	}
	return 0;
}
