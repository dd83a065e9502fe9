/* SPDX-License-Identifier: MIT */
/*
 * node/format/form.h — the structured notice forms of CSIRT cooperation (the NCA/JPCERT
 * workshop's incident, industrial control system incident, and product and web-site
 * vulnerability forms), as JSON Schemas kept in deploy/forms/ and compiled into the binary.
 *
 * A form is a JSON object whose "form" member names it. node_form_validate() checks one
 * against its schema and names the first field at fault ("affected.occurred_at"). The
 * schemas use a documented subset of JSON Schema 2020-12, and the loader refuses any
 * assertion keyword outside it, so the C validator can never silently accept what the
 * schema forbids (tests/integ/test_forms.py checks the same documents with ajv):
 *
 *   type      "object" | "string" | "array" | "integer" | "boolean"
 *   enum      of strings
 *   properties, required, additionalProperties (false only)
 *   minLength, maxLength   in Unicode code points, as JSON Schema counts them
 *   minItems, maxItems, items
 *   format    "date-time" (RFC 3339 with an explicit offset: "Z" or "+09:00"),
 *             "uri" (an absolute URI: scheme ":" then no whitespace or control),
 *             "email" (local@domain, one "@", no whitespace)
 * Annotations ($schema, $id, title, description, and any "x-" keyword) are ignored.
 *
 * Thread rules: the compiled-in schemas are parsed once, on first use, under a lock; after
 * that every function may be called from any thread.
 */
#ifndef CHATHAM_NODE_FORMAT_FORM_H
#define CHATHAM_NODE_FORMAT_FORM_H

#include <jansson.h>
#include <stddef.h>

/* The forms, in the order `chatham form list` prints them. */
extern const char *const node_form_names[];
extern const size_t node_form_count;

struct node_form_error {
	int code;	   /* NODE_E_FIELD, NODE_E_JSON or -ENOMEM */
	char field[256];   /* "affected.occurred_at", "source.ip[2]"; "" for the whole form */
	char message[256]; /* English, names the rule broken */
};

/*
 * node_form_schema() - the parsed schema of form @name (borrowed, valid for the process's
 * life), or NULL for an unknown form.
 */
const json_t *node_form_schema(const char *name);

/*
 * node_form_validate() - 0 when @doc (borrowed) is a valid form: its "form" names a known
 * form and it satisfies that form's schema. Else a negative code with @err filled: the first
 * violation found (at each level, a missing required field first, then the fields present in
 * document order).
 */
int node_form_validate(const json_t *doc, struct node_form_error *err);

/*
 * node_form_prune() - remove, recursively, every member of the object @doc whose value is an
 * empty string, array or object: a field left empty in a template is a field not given (a
 * required one is then reported as required). Arrays are kept as they are otherwise.
 */
void node_form_prune(json_t *doc);

/*
 * node_form_template() - an empty instance of form @name to fill in: every property with an
 * empty string, an empty array or an empty object (recursively), enums as the empty string,
 * and "form" set. New reference owned by the caller, or NULL for an unknown form / -ENOMEM.
 */
json_t *node_form_template(const char *name);

#endif
