/* SPDX-License-Identifier: MIT */
/*
 * Received notices as STIX 2.1 and MISP (notice_fmt.h). The form's schema drives both the
 * redaction (what is free text) and the MISP attribute types (its "format"s), so a new form
 * needs no code here.
 */
#include "node/format/notice_fmt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/format/export_fmt.h"
#include "node/format/form.h"
#include "node/format/request.h"
#include "proto/crypto.h"
#include "proto/report.h"

/* ------------------------------------------------------------------ redaction */

/* The schemas mark free text ("x-free-text": true): what a person wrote, where a member's
 * name may appear. Addresses, names of hosts and products, enums and times are not. */
static bool free_text(const json_t *schema)
{
	return json_is_true(json_object_get(schema, "x-free-text"));
}

static int redact_value(json_t *v, const json_t *schema, node_notice_redact_fn fn, void *ctx,
			bool *drop);

static int redact_object(json_t *o, const json_t *schema, node_notice_redact_fn fn, void *ctx)
{
	const json_t *props = json_object_get(schema, "properties");
	const char *key;
	json_t *v, *tmp;

	json_object_foreach_safe(o, tmp, key, v)
	{
		bool drop = false;
		int r;

		if (!strcmp(key, "form"))
			continue;
		r = redact_value(v, json_object_get(props, key), fn, ctx, &drop);
		if (r)
			return r;
		if (drop)
			json_object_del(o, key);
	}
	return 0;
}

static int redact_value(json_t *v, const json_t *schema, node_notice_redact_fn fn, void *ctx,
			bool *drop)
{
	if (!schema)
		return -EINVAL; /* validated forms have no field outside their schema */
	if (json_is_object(v))
		return redact_object(v, schema, fn, ctx);
	if (json_is_array(v)) {
		const json_t *items = free_text(schema) ? schema : json_object_get(schema, "items");

		for (size_t i = json_array_size(v); i-- > 0;) {
			bool d = false;
			int r = redact_value(json_array_get(v, i), items, fn, ctx, &d);

			if (r)
				return r;
			if (d)
				json_array_remove(v, i);
		}
		*drop = json_array_size(v) == 0;
		return 0;
	}
	if (json_is_string(v) && free_text(schema)) { /* an array's items inherit its mark */
		char *out = NULL;
		int r = fn(ctx, json_string_value(v), &out);

		if (r)
			return r;
		if (!out || !*out) {
			free(out);
			*drop = true;
			return 0;
		}
		r = json_string_set(v, out);
		free(out);
		return r ? -ENOMEM : 0;
	}
	return 0;
}

json_t *node_notice_form_redact(const json_t *form, node_notice_redact_fn fn, void *ctx)
{
	const json_t *schema = node_form_schema(json_string_value(json_object_get(form, "form")));
	json_t *copy;

	if (!schema)
		return NULL;
	copy = json_deep_copy(form);
	if (copy && redact_object(copy, schema, fn, ctx)) {
		json_decref(copy);
		return NULL;
	}
	return copy;
}

/* ------------------------------------------------------------------ fields */

/* The field at dotted @path ("affected.host") as a string, or NULL. */
static const char *str_at(const json_t *form, const char *path)
{
	char buf[128], *save = NULL, *part;
	const json_t *v = form;

	snprintf(buf, sizeof(buf), "%s", path);
	for (part = strtok_r(buf, ".", &save); part && v; part = strtok_r(NULL, ".", &save))
		v = json_object_get(v, part);
	if (json_is_array(v))
		v = json_array_get(v, 0);
	return json_string_value(v);
}

/* Name and description of a notice's STIX object, from the first fields present. */
static void summary(const json_t *form, char *name, size_t name_len, const char **desc)
{
	const char *f = json_string_value(json_object_get(form, "form"));
	const char *a, *b;

	if (!strcmp(f, "vuln-product")) {
		a = str_at(form, "product");
		b = str_at(form, "version");
		snprintf(name, name_len, "%s%s%s", a ? a : "product vulnerability", b ? " " : "",
			 b ? b : "");
		*desc = str_at(form, "threat") ? str_at(form, "threat")
					       : str_at(form, "reproduction");
	} else if (!strcmp(f, "vuln-web")) {
		a = str_at(form, "url");
		snprintf(name, name_len, "%s", a ? a : "web-site vulnerability");
		*desc = str_at(form, "why_vulnerable");
	} else {
		a = str_at(form, "affected.host");
		b = str_at(form, "purpose");
		snprintf(name, name_len, "%s notice%s%s%s%s", f, b ? ": " : "", b ? b : "",
			 a ? ", " : "", a ? a : "");
		*desc = str_at(form, "what_happened");
	}
}

struct field {
	char path[128];
	const char *value;
	const json_t *schema;
};

struct fields {
	struct field *v;
	size_t n, cap;
};

/* Every string leaf of @v (schema @schema) under @prefix, in document order. */
static int flatten(struct fields *out, const json_t *v, const json_t *schema, const char *prefix)
{
	if (json_is_object(v)) {
		const char *key;
		json_t *x;

		json_object_foreach((json_t *)v, key, x)
		{
			char p[128];
			int r;

			if (!*prefix && !strcmp(key, "form"))
				continue;
			snprintf(p, sizeof(p), "%s%s%s", prefix, *prefix ? "." : "", key);
			r = flatten(out, x,
				    json_object_get(json_object_get(schema, "properties"), key), p);
			if (r)
				return r;
		}
		return 0;
	}
	if (json_is_array(v)) {
		size_t i;
		json_t *x;

		json_array_foreach(v, i, x)
		{
			int r = flatten(out, x, json_object_get(schema, "items"), prefix);
			if (r)
				return r;
		}
		return 0;
	}
	if (!json_is_string(v))
		return 0;
	if (out->n == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 16;
		struct field *f = realloc(out->v, cap * sizeof(*f));

		if (!f)
			return -ENOMEM;
		out->v = f;
		out->cap = cap;
	}
	snprintf(out->v[out->n].path, sizeof(out->v[out->n].path), "%s", prefix);
	out->v[out->n].value = json_string_value(v);
	out->v[out->n++].schema = schema;
	return 0;
}

static int fields_of(const json_t *form, struct fields *out)
{
	const json_t *schema = node_form_schema(json_string_value(json_object_get(form, "form")));

	memset(out, 0, sizeof(*out));
	return schema ? flatten(out, form, schema, "") : -EINVAL;
}

/* ------------------------------------------------------------------ STIX */

static int add_notice_stix(json_t *objs, const struct node_notice_doc *d, const char *ident,
			   bool *tlp_used)
{
	const char *f = json_string_value(json_object_get(d->form, "form"));
	bool vuln = !strncmp(f, "vuln-", 5);
	char uuid[37], id[96], note_id[96], when[32], name[512];
	const char *desc = NULL;
	struct fields fl;
	json_t *obj, *note;
	size_t len = 0;
	char *content;
	int r = fields_of(d->form, &fl);

	if (r)
		return r;
	for (size_t i = 0; i < fl.n; i++)
		len += strlen(fl.v[i].path) + strlen(fl.v[i].value) + 3;
	content = malloc(len + strlen(f) + 16);
	if (!content) {
		free(fl.v);
		return -ENOMEM;
	}
	len = (size_t)sprintf(content, "form: %s\n", f);
	for (size_t i = 0; i < fl.n; i++)
		len += (size_t)sprintf(content + len, "%s: %s\n", fl.v[i].path, fl.v[i].value);
	free(fl.v);
	node_export_uuid(uuid, "notice/object", d->id, 16);
	snprintf(id, sizeof(id), "%s--%s", vuln ? "vulnerability" : "incident", uuid);
	node_export_uuid(uuid, "notice/note", d->id, 16);
	snprintf(note_id, sizeof(note_id), "note--%s", uuid);
	node_req_time_format(d->created_ms, when, sizeof(when));
	summary(d->form, name, sizeof(name), &desc);
	obj = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[s]}", "type",
			vuln ? "vulnerability" : "incident", "spec_version", "2.1", "id", id,
			"created", when, "modified", when, "name", name, "created_by_ref", ident,
			"object_marking_refs", node_export_stix_tlp_id(d->tlp));
	if (obj && desc)
		json_object_set_new(obj, "description", json_string(desc));
	note = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[s], s:s, s:[s]}", "type", "note",
			 "spec_version", "2.1", "id", note_id, "created", when, "modified", when,
			 "abstract", f, "content", content, "object_refs", id, "created_by_ref",
			 ident, "object_marking_refs", node_export_stix_tlp_id(d->tlp));
	free(content);
	if (!obj || !note || json_array_append_new(objs, obj) ||
	    json_array_append_new(objs, note)) {
		json_decref(note);
		return -ENOMEM;
	}
	tlp_used[d->tlp] = true;
	return 0;
}

json_t *node_notice_stix_bundle(const struct node_notice_doc *docs, size_t n, const char *community)
{
	bool tlp_used[PROTO_TLP_RED + 1] = {false};
	json_t *objs = json_array(), *ident = node_export_stix_identity(community), *b;
	char ident_id[64], uuid[37], bid[64];
	uint8_t seed[16] = {0};

	if (!objs || !ident || json_array_append_new(objs, ident))
		goto fail;
	node_export_stix_identity_id(community, ident_id);
	for (size_t i = 0; i < n; i++) {
		if (docs[i].tlp > PROTO_TLP_RED ||
		    add_notice_stix(objs, &docs[i], ident_id, tlp_used))
			goto fail;
		for (size_t k = 0; k < 16; k++)
			seed[k] ^= docs[i].id[k];
	}
	for (int t = 0; t <= PROTO_TLP_RED; t++)
		if (tlp_used[t] && json_array_append_new(objs, node_export_stix_marking(t)))
			goto fail;
	node_export_uuid(uuid, "notice/bundle", seed, sizeof(seed));
	snprintf(bid, sizeof(bid), "bundle--%s", uuid);
	b = json_pack("{s:s, s:s, s:o}", "type", "bundle", "id", bid, "objects", objs);
	return b;
fail:
	json_decref(objs);
	return NULL;
}

/* ------------------------------------------------------------------ MISP */

static const char *misp_type(const struct field *f)
{
	const char *fmt = json_string_value(json_object_get(f->schema, "format"));
	const char *leaf = strrchr(f->path, '.');

	leaf = leaf ? leaf + 1 : f->path;
	if (!strcmp(leaf, "ip"))
		return "ip-src";
	if (!strcmp(leaf, "hostname"))
		return "hostname";
	if (fmt && !strcmp(fmt, "date-time"))
		return "datetime";
	if (fmt && !strcmp(fmt, "uri"))
		return "url";
	if (fmt && !strcmp(fmt, "email"))
		return "email";
	return "text";
}

static json_t *misp_event(const struct node_notice_doc *d, const char *community)
{
	const char *f = json_string_value(json_object_get(d->form, "form"));
	char uuid[37], ouuid[37], when[32], day[11], info[600], name[512], tag[32], ts[24];
	const char *desc = NULL;
	struct fields fl;
	json_t *attrs = json_array(), *ev;

	if (!attrs || fields_of(d->form, &fl)) {
		json_decref(attrs);
		return NULL;
	}
	snprintf(ts, sizeof(ts), "%llu", (unsigned long long)(d->created_ms / 1000));
	for (size_t i = 0; i < fl.n; i++) {
		uint8_t key[16 + 128 + 8];
		size_t kl = strlen(fl.v[i].path);
		char au[37];

		memcpy(key, d->id, 16);
		memcpy(key + 16, fl.v[i].path, kl);
		memcpy(key + 16 + kl, &i, sizeof(uint32_t));
		node_export_uuid(au, "notice/misp-attribute", key, 16 + kl + sizeof(uint32_t));
		if (json_array_append_new(attrs,
					  json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:i}",
						    "uuid", au, "type", misp_type(&fl.v[i]),
						    "category", "Other", "object_relation",
						    fl.v[i].path, "value", fl.v[i].value, "to_ids",
						    0, "timestamp", ts, "distribution", 5))) {
			free(fl.v);
			json_decref(attrs);
			return NULL;
		}
	}
	free(fl.v);
	node_export_uuid(uuid, "notice/misp-event", d->id, 16);
	node_export_uuid(ouuid, "notice/misp-object", d->id, 16);
	node_req_time_format(d->created_ms, when, sizeof(when));
	snprintf(day, sizeof(day), "%.10s", when);
	summary(d->form, name, sizeof(name), &desc);
	snprintf(info, sizeof(info), "chatham %s notice: %s", community, name);
	snprintf(tag, sizeof(tag), "tlp:%s", proto_tlp_name(d->tlp));
	for (char *p = tag; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	ev = json_pack("{s:s, s:s, s:s, s:s, s:b, s:i, s:i, s:i, s:{s:s}, s:[{s:s}], s:[], "
		       "s:[{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:o}]}",
		       "uuid", uuid, "info", info, "date", day, "timestamp", ts, "published", 0,
		       "analysis", 0, "threat_level_id", 4, "distribution", 0, "Orgc", "name",
		       community, "Tag", "name", tag, "Attribute", "Object", "name", f, "uuid",
		       ouuid, "meta-category", "misc", "template_version", "1", "description",
		       desc ? desc : name, "distribution", 5, "timestamp", ts, "Attribute", attrs);
	return ev ? json_pack("{s:o}", "Event", ev) : NULL;
}

json_t *node_notice_misp(const struct node_notice_doc *docs, size_t n, const char *community)
{
	json_t *list = json_array();

	for (size_t i = 0; list && i < n; i++) {
		json_t *ev = docs[i].tlp <= PROTO_TLP_RED ? misp_event(&docs[i], community) : NULL;

		if (!ev || json_array_append_new(list, ev)) {
			json_decref(list);
			return NULL;
		}
	}
	return list ? json_pack("{s:o}", "response", list) : NULL;
}
