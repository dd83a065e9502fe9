/* SPDX-License-Identifier: MIT */
/*
 * node/format/form.c — the notice-form schemas: a small JSON Schema subset validator over the
 * schemas compiled in from deploy/forms/ (see form.h for the subset and why it is closed).
 */
#include "node/format/form.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "proto/error.h"

/* Generated at build time from deploy/forms/<name>.schema.json (cmake/embed.cmake). */
extern const char node_form_src_incident[];
extern const char node_form_src_ics_incident[];
extern const char node_form_src_vuln_product[];
extern const char node_form_src_vuln_web[];

const char *const node_form_names[] = {"incident", "ics-incident", "vuln-product", "vuln-web"};
const size_t node_form_count = sizeof node_form_names / sizeof node_form_names[0];

static const char *const sources[] = {node_form_src_incident, node_form_src_ics_incident,
				      node_form_src_vuln_product, node_form_src_vuln_web};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static json_t *schemas[sizeof sources / sizeof sources[0]];

static const char *const annotations[] = {"$schema", "$id", "title", "description", NULL};
static const char *const assertions[] = {
	"type",	     "enum",	  "properties", "required", "additionalProperties",
	"minLength", "maxLength", "minItems",	"maxItems", "items",
	"format",    NULL};

static bool in_list(const char *k, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(k, *list))
			return true;
	return false;
}

/* A schema (sub)tree uses only the supported subset; anything else is a build defect. */
static bool schema_supported(const json_t *s)
{
	const char *k;
	json_t *v;

	if (!json_is_object(s))
		return false;
	json_object_foreach((json_t *)s, k, v)
	{
		if (in_list(k, annotations) || !strncmp(k, "x-", 2))
			continue;
		if (!in_list(k, assertions))
			return false;
		if (!strcmp(k, "additionalProperties") && !json_is_false(v))
			return false;
		if (!strcmp(k, "properties")) {
			const char *pk;
			json_t *pv;

			json_object_foreach(v, pk, pv) if (!schema_supported(pv)) return false;
		}
		if (!strcmp(k, "items") && !schema_supported(v))
			return false;
		if (!strcmp(k, "format") &&
		    (!json_is_string(v) || (strcmp(json_string_value(v), "date-time") &&
					    strcmp(json_string_value(v), "uri") &&
					    strcmp(json_string_value(v), "email"))))
			return false;
	}
	return true;
}

static void load(void)
{
	for (size_t i = 0; i < node_form_count; i++) {
		json_error_t je;
		json_t *s = json_loads(sources[i], 0, &je);

		/* The schemas are part of the program, checked by the unit tests: a schema that
		 * fails here is left NULL and every use of that form reports it. */
		if (s && !schema_supported(s)) {
			json_decref(s);
			s = NULL;
		}
		schemas[i] = s;
	}
}

const json_t *node_form_schema(const char *name)
{
	pthread_once(&once, load);
	for (size_t i = 0; i < node_form_count; i++)
		if (name && !strcmp(name, node_form_names[i]))
			return schemas[i];
	return NULL;
}

__attribute__((format(printf, 3, 4))) static int fail(struct node_form_error *err, const char *path,
						      const char *fmt, ...)
{
	va_list ap;

	err->code = NODE_E_FIELD;
	snprintf(err->field, sizeof err->field, "%s", path);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	return NODE_E_FIELD;
}

/* Code points of valid UTF-8 (jansson guarantees validity). */
static size_t utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static bool digits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static int num(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM), fields in range. */
static bool is_date_time(const char *s)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d;

	if (strlen(s) < 20 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
	    !digits(s + 8, 2) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2) ||
	    s[13] != ':' || !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
		return false;
	y = num(s, 4), mo = num(s + 5, 2), d = num(s + 8, 2);
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))))
		return false;
	if (num(s + 11, 2) > 23 || num(s + 14, 2) > 59 || num(s + 17, 2) > 60)
		return false;
	s += 19;
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char)*s))
			return false;
		while (isdigit((unsigned char)*s))
			s++;
	}
	if ((*s == 'Z' || *s == 'z') && s[1] == '\0')
		return true;
	return (*s == '+' || *s == '-') && digits(s + 1, 2) && s[3] == ':' && digits(s + 4, 2) &&
	       s[6] == '\0' && num(s + 1, 2) <= 23 && num(s + 4, 2) <= 59;
}

static bool is_uri(const char *s)
{
	const char *p = s;

	if (!isalpha((unsigned char)*p))
		return false;
	while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
		p++;
	if (*p != ':' || p[1] == '\0')
		return false;
	for (; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return false;
	return true;
}

static bool is_email(const char *s)
{
	const char *at = strchr(s, '@');

	if (!at || at == s || at[1] == '\0' || strchr(at + 1, '@'))
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return false;
	return true;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "integer";
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	default:
		return "null";
	}
}

static void join(char *out, size_t cap, const char *base, const char *key, long idx)
{
	if (!key)
		key = "";
	if (idx >= 0)
		snprintf(out, cap, "%s[%ld]", base, idx);
	else if (*base)
		snprintf(out, cap, "%s.%s", base, key);
	else
		snprintf(out, cap, "%s", key);
}

static int check(const json_t *s, const json_t *v, const char *path, struct node_form_error *err)
{
	json_t *t = json_object_get(s, "type"), *e = json_object_get(s, "enum"), *x;
	char sub[256];
	int rc;

	if (t && strcmp(json_string_value(t), type_name(v)) != 0)
		return fail(err, path, "must be a %s, not a %s", json_string_value(t),
			    type_name(v));
	if (e) {
		size_t i;
		json_t *ev;
		bool found = false;

		json_array_foreach(e, i, ev) found |= json_equal(ev, v);
		if (!found) {
			char list[200] = "";

			json_array_foreach(e, i, ev)
			{
				size_t l = strlen(list);

				snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "",
					 json_string_value(ev) ? json_string_value(ev) : "?");
			}
			return fail(err, path, "must be one of: %s", list);
		}
	}
	if (json_is_string(v)) {
		const char *str = json_string_value(v);
		size_t len = utf8_len(str);
		const char *f;

		if ((x = json_object_get(s, "minLength")) && len < (size_t)json_integer_value(x))
			return fail(err, path,
				    len ? "is too short (at least %lld characters)"
					: "must not be empty",
				    (long long)json_integer_value(x));
		if ((x = json_object_get(s, "maxLength")) && len > (size_t)json_integer_value(x))
			return fail(err, path, "is too long (at most %lld characters)",
				    (long long)json_integer_value(x));
		if (strlen(str) != json_string_length(v))
			return fail(err, path, "contains a NUL character");
		f = json_string_value(json_object_get(s, "format"));
		if (f) {
			if (!strcmp(f, "date-time") && !is_date_time(str))
				return fail(err, path,
					    "must be an RFC 3339 date and time with its time zone, "
					    "e.g. 2026-12-06T09:30:00+09:00");
			if (!strcmp(f, "uri") && !is_uri(str))
				return fail(err, path, "must be an absolute URI (scheme:...)");
			if (!strcmp(f, "email") && !is_email(str))
				return fail(err, path, "must be an e-mail address");
		}
	}
	if (json_is_array(v)) {
		size_t i, n = json_array_size(v);
		json_t *item, *is = json_object_get(s, "items");

		if ((x = json_object_get(s, "minItems")) && n < (size_t)json_integer_value(x))
			return fail(err, path, "needs at least %lld items",
				    (long long)json_integer_value(x));
		if ((x = json_object_get(s, "maxItems")) && n > (size_t)json_integer_value(x))
			return fail(err, path, "has more than %lld items",
				    (long long)json_integer_value(x));
		json_array_foreach((json_t *)v, i, item)
		{
			if (!is)
				break;
			join(sub, sizeof sub, path, NULL, (long)i);
			rc = check(is, item, sub, err);
			if (rc)
				return rc;
		}
	}
	if (json_is_object(v)) {
		json_t *props = json_object_get(s, "properties"),
		       *req = json_object_get(s, "required");
		const char *k;
		json_t *pv;
		size_t i;

		json_array_foreach(req, i, pv)
		{
			const char *name = json_string_value(pv);

			if (!json_object_get(v, name)) {
				join(sub, sizeof sub, path, name, -1);
				return fail(err, sub, "is required");
			}
		}
		json_object_foreach((json_t *)v, k, pv)
		{
			json_t *ps = props ? json_object_get(props, k) : NULL;

			join(sub, sizeof sub, path, k, -1);
			if (!ps) {
				if (json_is_false(json_object_get(s, "additionalProperties")))
					return fail(err, sub, "is not a field of this form");
				continue;
			}
			rc = check(ps, pv, sub, err);
			if (rc)
				return rc;
		}
	}
	return 0;
}

int node_form_validate(const json_t *doc, struct node_form_error *err)
{
	const json_t *schema;
	const char *name;

	memset(err, 0, sizeof *err);
	if (!json_is_object(doc))
		return fail(err, "", "a form is a JSON object");
	name = json_string_value(json_object_get(doc, "form"));
	if (!name)
		return fail(err, "form",
			    "is required: one of incident, ics-incident, "
			    "vuln-product, vuln-web");
	schema = node_form_schema(name);
	if (!schema) {
		if (node_form_schema(node_form_names[0]) || strcmp(name, node_form_names[0]))
			for (size_t i = 0; i < node_form_count; i++)
				if (!strcmp(name, node_form_names[i]))
					return fail(err, "form", "schema of %s failed to load",
						    name);
		return fail(err, "form",
			    "unknown form \"%.64s\": one of incident, ics-incident, "
			    "vuln-product, vuln-web",
			    name);
	}
	return check(schema, doc, "", err);
}

static json_t *empty_of(const json_t *s)
{
	const char *t = json_string_value(json_object_get(s, "type"));
	json_t *props;

	if (t && !strcmp(t, "array"))
		return json_array();
	if (t && !strcmp(t, "object")) {
		json_t *o = json_object(), *pv;
		const char *k;

		props = json_object_get(s, "properties");
		json_object_foreach(props, k, pv) json_object_set_new(o, k, empty_of(pv));
		return o;
	}
	return json_string("");
}

void node_form_prune(json_t *doc)
{
	const char *k;
	json_t *v;
	void *tmp;

	json_object_foreach_safe(doc, tmp, k, v)
	{
		if (json_is_object(v))
			node_form_prune(v);
		if ((json_is_string(v) && json_string_length(v) == 0) ||
		    (json_is_array(v) && json_array_size(v) == 0) ||
		    (json_is_object(v) && json_object_size(v) == 0))
			json_object_del(doc, k);
	}
}

json_t *node_form_template(const char *name)
{
	const json_t *s = node_form_schema(name);
	json_t *o;

	if (!s)
		return NULL;
	o = empty_of(s);
	if (o)
		json_object_set_new(o, "form", json_string(name));
	return o;
}
