/* SPDX-License-Identifier: MIT */
/*
 * Export renderers. Every format but the MISP feed (node/format/misp_feed.c) is written as
 * a stream: one document in, its rendering out, so an export of millions of indicators needs
 * memory for one document plus, for STIX, a few bytes of state (which TLP markings were
 * used).
 *
 * Determinism: the same export environment, range and filter render to the same bytes.
 * Object ids come from node_export_uuid() over stable inputs (the indicator id for STIX
 * indicators, the community name for the identity, the environment id and sequence range
 * for bundles), and times come from the documents, never from the clock.
 * That makes a re-run of an export idempotent for consumers that key on ids.
 */
#include "node/format/export_fmt.h"

#include <errno.h>
#include <inttypes.h>
#include <md5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/format/misp_feed.h"
#include "node/format/request.h"
#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/indicator.h"
#include "proto/report.h"
#include "proto/summary.h"

/*
 * The identity object is the same in every export (STIX: objects with one id and one
 * `modified` must be identical), so its times are a fixed date, not the export's.
 */
#define TLP20_EXT "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
#define TLP20_CREATED "2022-10-01T00:00:00.000Z"

/* TLP 2.0 marking definitions, as published by OASIS (tests/data/stix21/tlp20). */
static const struct {
	const char *id, *name, *word;
} tlp_defs[6] = {
	[PROTO_TLP_CLEAR] = {"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
			     "TLP:CLEAR", "clear"},
	[PROTO_TLP_GREEN] = {"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
			     "TLP:GREEN", "green"},
	[PROTO_TLP_AMBER] = {"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
			     "TLP:AMBER", "amber"},
	[PROTO_TLP_AMBER_STRICT] = {"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
				    "TLP:AMBER+STRICT", "amber+strict"},
	[PROTO_TLP_RED] = {"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", "TLP:RED",
			   "red"},
};

static bool tlp_known(int tlp)
{
	return tlp >= PROTO_TLP_CLEAR && tlp <= PROTO_TLP_RED;
}

const char *node_export_stix_tlp_id(int tlp)
{
	return tlp_known(tlp) ? tlp_defs[tlp].id : NULL;
}

static const char *const format_names[] = {
	[NODE_EXPORT_JSONL] = "jsonl",	 [NODE_EXPORT_CSV] = "csv",
	[NODE_EXPORT_STIX21] = "stix21", [NODE_EXPORT_MISP_FEED] = "misp-feed",
	[NODE_EXPORT_PLAIN] = "plain",
};

int node_export_format_from_name(const char *name)
{
	for (int i = 0; i <= NODE_EXPORT_PLAIN; i++)
		if (!strcmp(name, format_names[i]))
			return i;
	return -1;
}

const char *node_export_format_name(int format)
{
	if (format < 0 || format > NODE_EXPORT_PLAIN)
		return NULL;
	return format_names[format];
}

/* ------------------------------------------------------------------ ids and hashes */

void node_export_uuid(char out[37], const char *ns, const void *data, size_t len)
{
	static const char domain[] = "chatham/uuid/1";
	static const uint8_t zero = 0;
	const void *parts[] = {domain, ns, &zero, data};
	const size_t lens[] = {sizeof(domain) - 1, strlen(ns), 1, len};
	uint8_t h[16];
	char hex[33];

	proto_hash(h, sizeof(h), parts, lens, 4);
	h[6] = (uint8_t)((h[6] & 0x0f) | 0x40); /* version 4 */
	h[8] = (uint8_t)((h[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	proto_hex_encode(hex, h, sizeof(h));
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

void node_export_md5_hex(const void *data, size_t len, char out[33])
{
	MD5Data(data, len, out); /* libmd: 32 lower-case hex digits and a NUL */
}

/* ------------------------------------------------------------------ documents */

static int state_from_name(const char *s)
{
	if (!strcmp(s, "active"))
		return PROTO_SUMMARY_ACTIVE;
	if (!strcmp(s, "withdrawn"))
		return PROTO_SUMMARY_WITHDRAWN;
	if (!strcmp(s, "expired"))
		return PROTO_SUMMARY_EXPIRED;
	if (!strcmp(s, "observed"))
		return PROTO_SUMMARY_OBSERVED;
	return -1;
}

const char *node_export_state_name(int state)
{
	switch (state) {
	case PROTO_SUMMARY_ACTIVE:
		return "active";
	case PROTO_SUMMARY_WITHDRAWN:
		return "withdrawn";
	case PROTO_SUMMARY_EXPIRED:
		return "expired";
	default:
		return "observed";
	}
}

static int get_count(json_t *o, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int get_time(json_t *o, const char *key, const char **s, uint64_t *ms)
{
	*s = json_string_value(json_object_get(o, key));
	if (!*s || node_req_time_parse(*s, ms))
		return -1;
	return 0;
}

int node_export_doc_parse(json_t *doc, struct node_export_doc *d, const char **why)
{
	json_t *ch = json_object_get(doc, "chatham");
	json_t *ti = json_object_get(json_object_get(doc, "threat"), "indicator");
	const char *s, *w = NULL;
	json_t *v;

	memset(d, 0, sizeof(*d));
	if (!json_is_object(ch) || !json_is_object(ti)) {
		w = "no \"chatham\" or \"threat.indicator\" object";
		goto bad;
	}
	if (get_count(ch, "seq", &d->seq)) {
		w = "chatham.seq";
		goto bad;
	}
	d->ind_id_hex = json_string_value(json_object_get(ch, "indicator_id"));
	if (!d->ind_id_hex || strlen(d->ind_id_hex) != 64 ||
	    proto_hex_decode(d->ind_id, 32, d->ind_id_hex)) {
		w = "chatham.indicator_id";
		goto bad;
	}
	s = json_string_value(json_object_get(ch, "type"));
	d->type = s ? proto_indicator_type_from_name(s) : -1;
	if (d->type < 0) {
		w = "chatham.type";
		goto bad;
	}
	d->value = json_string_value(json_object_get(ch, "value"));
	if (!d->value || !*d->value) {
		w = "chatham.value";
		goto bad;
	}
	s = json_string_value(json_object_get(ch, "state"));
	d->state = s ? state_from_name(s) : -1;
	if (d->state < 0) {
		w = "chatham.state";
		goto bad;
	}
	v = json_object_get(ch, "confidence");
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 100) {
		w = "chatham.confidence";
		goto bad;
	}
	d->confidence = (int)json_integer_value(v);
	if (get_count(ch, "members", &d->members) || get_count(ch, "sightings", &d->sightings) ||
	    get_count(ch, "false_positives", &d->false_positives)) {
		w = "chatham.members/sightings/false_positives";
		goto bad;
	}
	d->tags = json_object_get(ch, "tags");
	if (d->tags && !json_is_array(d->tags)) {
		w = "chatham.tags";
		goto bad;
	}
	v = json_object_get(ch, "description");
	d->description = json_string_value(v);
	if (v && !d->description) {
		w = "chatham.description";
		goto bad;
	}
	if (json_object_get(ch, "valid_until") &&
	    get_time(ch, "valid_until", &s, &d->valid_until_ms)) {
		w = "chatham.valid_until";
		goto bad;
	}
	s = json_string_value(json_object_get(json_object_get(ti, "marking"), "tlp"));
	d->tlp = s ? proto_tlp_from_name(s) : -1;
	if (!tlp_known(d->tlp)) {
		w = "threat.indicator.marking.tlp";
		goto bad;
	}
	if (get_time(ti, "first_seen", &d->first_seen, &d->first_seen_ms) ||
	    get_time(ti, "last_seen", &d->last_seen, &d->last_seen_ms) ||
	    get_time(ti, "modified", &d->modified, &d->modified_ms)) {
		w = "threat.indicator.first_seen/last_seen/modified";
		goto bad;
	}
	d->provider = json_string_value(json_object_get(ti, "provider"));
	v = json_object_get(ch, "warninglist");
	d->warninglist = json_string_value(v);
	if (v && !d->warninglist) {
		w = "chatham.warninglist";
		goto bad;
	}
	v = json_object_get(ch, "withheld");
	if (v && !json_is_boolean(v)) {
		w = "chatham.withheld";
		goto bad;
	}
	d->withheld = json_is_true(v);
	return 0;
bad:
	if (why)
		*why = w;
	return NODE_E_EXPORT;
}

/* ------------------------------------------------------------------ STIX patterns */

static const char *stix_path(int type)
{
	switch (type) {
	case PROTO_IND_IPV4:
		return "ipv4-addr:value";
	case PROTO_IND_IPV6:
		return "ipv6-addr:value";
	case PROTO_IND_DOMAIN:
		return "domain-name:value";
	case PROTO_IND_URL:
		return "url:value";
	case PROTO_IND_EMAIL:
		return "email-addr:value";
	case PROTO_IND_MD5:
		return "file:hashes.MD5";
	case PROTO_IND_SHA1:
		return "file:hashes.'SHA-1'";
	case PROTO_IND_SHA256:
		return "file:hashes.'SHA-256'";
	case PROTO_IND_SHA512:
		return "file:hashes.'SHA-512'";
	default:
		return NULL;
	}
}

char *node_export_stix_pattern(int type, const char *value)
{
	const char *path = stix_path(type);
	size_t n = 0, len;
	char *out;

	if (!path)
		return NULL;
	len = strlen(value);
	out = malloc(strlen(path) + 2 * len + 10);
	if (!out)
		return NULL;
	n = (size_t)sprintf(out, "[%s = '", path);
	for (size_t i = 0; i < len; i++) {
		if (value[i] == '\'' || value[i] == '\\')
			out[n++] = '\\';
		out[n++] = value[i];
	}
	strcpy(out + n, "']");
	return out;
}

/* ------------------------------------------------------------------ writer */

struct node_export_writer {
	struct node_export_options o;
	FILE *out;
	uint64_t count;
	int err;
	unsigned tlps_used; /* bit per TLP (STIX markings) */
	char identity_id[64];
};

static void w_puts(struct node_export_writer *w, const char *s)
{
	if (!w->err && fputs(s, w->out) == EOF)
		w->err = -EIO;
}

static void w_write(struct node_export_writer *w, const char *s, size_t n)
{
	if (!w->err && n && fwrite(s, 1, n, w->out) != n)
		w->err = -EIO;
}

/* Dumps @j (stolen) compactly, no newline. */
static void w_json(struct node_export_writer *w, json_t *j)
{
	if (!j) {
		if (!w->err)
			w->err = -ENOMEM;
		return;
	}
	if (!w->err && json_dumpf(j, w->out, JSON_COMPACT | JSON_ENSURE_ASCII) != 0)
		w->err = -EIO;
	json_decref(j);
}

struct node_export_writer *node_export_writer_new(const struct node_export_options *opts, FILE *out)
{
	struct node_export_writer *w;

	if (!node_export_format_name(opts->format) || !opts->community ||
	    (opts->format == NODE_EXPORT_MISP_FEED ? !opts->misp : !out))
		return NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->o = *opts;
	w->out = out;
	node_export_stix_identity_id(opts->community, w->identity_id);
	return w;
}

/*
 * CSV field: quoted when it holds a comma, quote, CR or LF (RFC 4180). A field a spreadsheet
 * would run as a formula (starting with =, +, -, @, TAB or CR: a valid e-mail address can
 * be "=1+2@x.example") is written quoted with a leading apostrophe, which spreadsheets show
 * as text and `chatham publish --format csv` removes again (OWASP's CSV injection advice).
 */
static void csv_field(struct node_export_writer *w, const char *s, bool last)
{
	static const char lead[] = "=+-@\t\r";
	/* A value that starts with the apostrophe itself gets one more, so import is exact. */
	const bool formula = (s[0] && strchr(lead, s[0])) ||
			     (s[0] == '\'' && s[1] &&
			      (strchr(lead, s[1]) || (s[1] == '\'' && s[2] && strchr(lead, s[2]))));

	if (formula || strpbrk(s, ",\"\r\n")) {
		w_puts(w, formula ? "\"'" : "\"");
		for (const char *p = s; *p; p++) {
			const char *q = strchr(p, '"');
			size_t n = q ? (size_t)(q - p) : strlen(p);
			w_write(w, p, n);
			if (!q)
				break;
			w_puts(w, "\"\"");
			p = q;
		}
		w_puts(w, "\"");
	} else {
		w_puts(w, s);
	}
	w_puts(w, last ? "\r\n" : ",");
}

static int add_csv(struct node_export_writer *w, const struct node_export_doc *d)
{
	char num[5][24];

	if (w->count == 0)
		w_puts(w, "type,value,tlp,state,confidence,first_seen,last_seen,members,sightings,"
			  "false_positives,seq\r\n");
	snprintf(num[0], sizeof(num[0]), "%d", d->confidence);
	snprintf(num[1], sizeof(num[1]), "%" PRIu64, d->members);
	snprintf(num[2], sizeof(num[2]), "%" PRIu64, d->sightings);
	snprintf(num[3], sizeof(num[3]), "%" PRIu64, d->false_positives);
	snprintf(num[4], sizeof(num[4]), "%" PRIu64, d->seq);
	csv_field(w, proto_indicator_type_name(d->type), false);
	csv_field(w, d->value, false);
	csv_field(w, proto_tlp_name(d->tlp), false);
	csv_field(w, node_export_state_name(d->state), false);
	csv_field(w, num[0], false);
	csv_field(w, d->first_seen, false);
	csv_field(w, d->last_seen, false);
	csv_field(w, num[1], false);
	csv_field(w, num[2], false);
	csv_field(w, num[3], false);
	csv_field(w, num[4], true);
	return 1;
}

static int add_plain(struct node_export_writer *w, const struct node_export_doc *d)
{
	if (d->state != PROTO_SUMMARY_ACTIVE || d->withheld)
		return 0;
	w_puts(w, d->value);
	w_puts(w, "\n");
	return 1;
}

json_t *node_export_stix_identity(const char *community)
{
	char id[64];

	node_export_stix_identity_id(community, id);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "type", "identity",
			 "spec_version", "2.1", "id", id, "created", NODE_EXPORT_STIX_IDENTITY_TIME,
			 "modified", NODE_EXPORT_STIX_IDENTITY_TIME, "name", community,
			 "identity_class", "group", "description",
			 "chatham community: indicators aggregated from its members' reports; no "
			 "member is named (Chatham House Rule).");
}

void node_export_stix_identity_id(const char *community, char out[64])
{
	char uuid[37];

	node_export_uuid(uuid, "stix/identity", community, strlen(community));
	snprintf(out, 64, "identity--%s", uuid);
}

static void stix_begin(struct node_export_writer *w)
{
	char uuid[37];
	uint8_t seed[16 + 8 + 64];
	size_t n = 16;

	memcpy(seed, w->o.env_id, 16);
	for (int i = 0; i < 8; i++)
		seed[n++] = (uint8_t)(w->o.since >> (56 - 8 * i));
	if (w->o.type_filter) {
		size_t l = strlen(w->o.type_filter);
		if (l > 64)
			l = 64;
		memcpy(seed + n, w->o.type_filter, l);
		n += l;
	}
	/*
	 * The bundle id names the export's parameters, not its contents: STIX bundles are
	 * transport wrappers that consumers do not track, so stable is enough.
	 */
	node_export_uuid(uuid, "stix/bundle", seed, n);
	w_puts(w, "{\"type\":\"bundle\",\"id\":\"bundle--");
	w_puts(w, uuid);
	w_puts(w, "\",\"objects\":[\n");
	w_json(w, node_export_stix_identity(w->o.community));
}

json_t *node_export_stix_indicator(const struct node_export_doc *d, const char *identity_id)
{
	char uuid[37], id[64];
	const char *tlp_id = node_export_stix_tlp_id(d->tlp);
	json_t *o;
	char *pattern;

	if (!tlp_id)
		return NULL;
	pattern = node_export_stix_pattern(d->type, d->value);
	if (!pattern)
		return NULL;
	node_export_uuid(uuid, "stix/indicator", d->ind_id, 32);
	snprintf(id, sizeof(id), "indicator--%s", uuid);
	/* STIX requires modified >= created; a late-arriving older report can move first_seen. */
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[s], s:s, s:s, s:s, s:s, s:i, s:[s]}",
		      "type", "indicator", "spec_version", "2.1", "id", id, "created_by_ref",
		      identity_id, "created", d->first_seen, "modified",
		      d->modified_ms >= d->first_seen_ms ? d->modified : d->first_seen, "name",
		      d->value, "indicator_types", "malicious-activity", "pattern", pattern,
		      "pattern_type", "stix", "pattern_version", "2.1", "valid_from", d->first_seen,
		      "confidence", d->confidence, "object_marking_refs", tlp_id);
	free(pattern);
	if (!o)
		return NULL;
	if (d->valid_until_ms > d->first_seen_ms) {
		char vu[40];
		node_req_time_format(d->valid_until_ms, vu, sizeof(vu));
		json_object_set_new(o, "valid_until", json_string(vu));
	}
	if (d->description && *d->description)
		json_object_set_new(o, "description", json_string(d->description));
	if (json_array_size(d->tags))
		json_object_set(o, "labels", d->tags);
	if (d->state != PROTO_SUMMARY_ACTIVE)
		json_object_set_new(o, "revoked", json_true());
	/* Aggregates only: counts of members, never who. */
	json_object_set_new(o, "x_chatham_members", json_integer((json_int_t)d->members));
	json_object_set_new(o, "x_chatham_sightings", json_integer((json_int_t)d->sightings));
	json_object_set_new(o, "x_chatham_false_positives",
			    json_integer((json_int_t)d->false_positives));
	return o;
}

static int add_stix(struct node_export_writer *w, const struct node_export_doc *d)
{
	json_t *o;

	/*
	 * Every export carries retirements: a consumer that got the indicator from another
	 * export (or a TAXII poll) must see it revoked. Observed-only indicators were never
	 * reported as indicators (a state that never follows an active one), so they are left
	 * out.
	 */
	if (d->state == PROTO_SUMMARY_OBSERVED)
		return 0;
	o = node_export_stix_indicator(d, w->identity_id);
	if (!o)
		return -ENOMEM;
	if (w->count == 0)
		stix_begin(w);
	w_puts(w, ",\n");
	w_json(w, o);
	w->tlps_used |= 1u << d->tlp;
	return 1;
}

json_t *node_export_stix_marking(int tlp)
{
	if (!tlp_known(tlp))
		return NULL;
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:{s:s, s:s}}}", "type",
			 "marking-definition", "spec_version", "2.1", "id", tlp_defs[tlp].id,
			 "created", TLP20_CREATED, "name", tlp_defs[tlp].name, "extensions",
			 TLP20_EXT, "extension_type", "property-extension", "tlp_2_0",
			 tlp_defs[tlp].word);
}

static void stix_end(struct node_export_writer *w)
{
	if (w->count == 0)
		stix_begin(w); /* an empty export is still a valid bundle with the identity */
	for (int t = PROTO_TLP_CLEAR; t <= PROTO_TLP_RED; t++) {
		if (!(w->tlps_used & (1u << t)))
			continue;
		w_puts(w, ",\n");
		w_json(w, node_export_stix_marking(t));
	}
	w_puts(w, "\n]}\n");
}

/* MISP: the feed object files the attribute; its commit writes the directory. */
static int add_misp(struct node_export_writer *w, const struct node_export_doc *d)
{
	return node_misp_feed_add(w->o.misp, d);
}

int node_export_writer_add(struct node_export_writer *w, const char *raw, size_t raw_len,
			   const struct node_export_doc *d)
{
	int r;

	if (w->err)
		return w->err;
	switch (w->o.format) {
	case NODE_EXPORT_JSONL:
		w_write(w, raw, raw_len);
		w_puts(w, "\n");
		r = 1;
		break;
	case NODE_EXPORT_CSV:
		r = add_csv(w, d);
		break;
	case NODE_EXPORT_PLAIN:
		r = add_plain(w, d);
		break;
	case NODE_EXPORT_STIX21:
		r = add_stix(w, d);
		break;
	default:
		r = add_misp(w, d);
		break;
	}
	if (r < 0 && !w->err)
		w->err = r;
	if (w->err)
		return w->err;
	w->count += (uint64_t)r;
	return r;
}

int node_export_writer_finish(struct node_export_writer *w)
{
	if (w->o.format == NODE_EXPORT_STIX21)
		stix_end(w);
	else if (w->o.format == NODE_EXPORT_CSV && w->count == 0)
		w_puts(w, "type,value,tlp,state,confidence,first_seen,last_seen,members,sightings,"
			  "false_positives,seq\r\n");
	if (w->o.format == NODE_EXPORT_MISP_FEED)
		return w->err; /* node_misp_feed_commit() writes the directory */
	if (!w->err && fflush(w->out) == EOF)
		w->err = -EIO;
	if (!w->err && ferror(w->out))
		w->err = -EIO;
	return w->err;
}

uint64_t node_export_writer_count(const struct node_export_writer *w)
{
	return w->count;
}

void node_export_writer_free(struct node_export_writer *w)
{
	if (!w)
		return;
	free(w);
}

/* ------------------------------------------------------------------ newest per indicator */

struct latest_slot {
	uint8_t id[32];
	uint64_t seq; /* 0: empty (export sequences start at 1) */
};

struct node_export_latest {
	struct latest_slot *slots;
	size_t cap, n; /* cap: power of two */
};

static size_t slot_hash(const uint8_t id[32])
{
	uint64_t h;

	memcpy(&h, id, 8); /* indicator ids are BLAKE2b output: uniformly distributed */
	return (size_t)h;
}

struct node_export_latest *node_export_latest_new(void)
{
	struct node_export_latest *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->cap = 1024;
	t->slots = calloc(t->cap, sizeof(*t->slots));
	if (!t->slots) {
		free(t);
		return NULL;
	}
	return t;
}

static struct latest_slot *latest_find(const struct node_export_latest *t, const uint8_t id[32])
{
	size_t mask = t->cap - 1, i = slot_hash(id) & mask;

	while (t->slots[i].seq && memcmp(t->slots[i].id, id, 32) != 0)
		i = (i + 1) & mask;
	return &t->slots[i];
}

static int latest_grow(struct node_export_latest *t)
{
	struct node_export_latest n = {.cap = t->cap * 2};

	n.slots = calloc(n.cap, sizeof(*n.slots));
	if (!n.slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i].seq)
			*latest_find(&n, t->slots[i].id) = t->slots[i];
	free(t->slots);
	t->slots = n.slots;
	t->cap = n.cap;
	return 0;
}

int node_export_latest_put(struct node_export_latest *t, const uint8_t id[32], uint64_t seq)
{
	struct latest_slot *s;

	if (seq == 0)
		return -EINVAL;
	if ((t->n + 1) * 4 > t->cap * 3 && latest_grow(t))
		return -ENOMEM;
	s = latest_find(t, id);
	if (!s->seq) {
		memcpy(s->id, id, 32);
		t->n++;
	}
	if (seq > s->seq)
		s->seq = seq;
	return 0;
}

bool node_export_latest_is(const struct node_export_latest *t, const uint8_t id[32], uint64_t seq)
{
	const struct latest_slot *s = latest_find(t, id);

	return s->seq && s->seq == seq;
}

size_t node_export_latest_count(const struct node_export_latest *t)
{
	return t->n;
}

void node_export_latest_free(struct node_export_latest *t)
{
	if (!t)
		return;
	free(t->slots);
	free(t);
}

int node_export_tmp_open(const char *dir, char *tmp, size_t len)
{
	int fd;

	snprintf(tmp, len, "%s/.chatham-export-XXXXXX", dir);
	fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0640) != 0) {
		int e = -errno;

		close(fd);
		unlink(tmp);
		return e;
	}
	return fd;
}

/* The temporary file @tmp, written and closed with result @r, renamed over @path or removed. */
static int tmp_put(int r, const char *tmp, const char *path)
{
	if (!r && rename(tmp, path) != 0)
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}

int node_export_tmp_install(int fd, const char *tmp, const char *path)
{
	int r = fsync(fd) != 0 ? -errno : 0;

	if (close(fd) != 0 && !r)
		r = -errno;
	return tmp_put(r, tmp, path);
}

int node_export_tmp_install_file(FILE *f, const char *tmp, const char *path)
{
	int r = fflush(f) != 0 || fsync(fileno(f)) != 0 ? -errno : 0;

	if (fclose(f) != 0 && !r)
		r = -errno;
	return tmp_put(r, tmp, path);
}
