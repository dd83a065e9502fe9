/* SPDX-License-Identifier: MIT */
/*
 * The MISP feed directory (contract and event scheme in misp_feed.h).
 *
 * Open reads hashes.csv into an index: md5(value) -> event. That file is MISP's own list of
 * where each value is, and chatham writes one line per attribute, so it is also where an
 * attribute already lives. Two indicators of one value (a type chatham does not tell
 * apart by value alone) share the index entry and so the event, which keeps every attribute
 * uuid in one event. Adds render each attribute and file it under its event; commit
 * rewrites the touched events one at a time, merging the renderings into the event read
 * from disk by attribute uuid.
 */
#include "node/format/misp_feed.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/format/export_fmt.h"
#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/indicator.h"
#include "proto/report.h"
#include "proto/summary.h"

#define FEED_FILE_MAX (256u << 20) /* an event or manifest past this is not ours */

static const struct {
	const char *tag, *colour;
} misp_tlp[] = {
	[PROTO_TLP_CLEAR] = {"tlp:clear", "#ffffff"},
	[PROTO_TLP_GREEN] = {"tlp:green", "#33ff00"},
	[PROTO_TLP_AMBER] = {"tlp:amber", "#ffc000"},
	[PROTO_TLP_AMBER_STRICT] = {"tlp:amber+strict", "#ffc000"},
	[PROTO_TLP_RED] = {"tlp:red", "#ff2b2b"},
};

/* One attribute filed by an add: its rendering until the commit. */
struct pending {
	char *text; /* compact JSON of the attribute */
	char uuid[37];
	uint32_t next; /* index + 1 of the event's next pending attribute; 0: last */
};

struct event {
	char uuid[37];
	char day[11]; /* YYYY-MM-DD of a new event's bucket; "" for one known from hashes.csv */
	int tlp;      /* bucket TLP of a new event */
	uint32_t first, last; /* pending list (index + 1), 0: untouched */
};

/* Open addressing, 16-byte keys (md5 or uuid bytes: uniformly distributed). */
struct slot {
	uint8_t key[16];
	uint32_t val; /* event index + 1; 0: empty */
	bool fresh;   /* md5 index: not yet in hashes.csv */
};

struct table {
	struct slot *s;
	size_t cap, n;
};

struct node_misp_feed {
	char dir[4096];
	const char *community;
	struct table by_md5, by_uuid;
	struct event *ev;
	size_t n_ev, cap_ev;
	struct pending *att;
	size_t n_att, cap_att;
	uint64_t fresh; /* index entries hashes.csv lacks */
};

/* ------------------------------------------------------------------ index */

static struct slot *t_find(const struct table *t, const uint8_t key[16])
{
	size_t mask = t->cap - 1, i;
	uint64_t h;

	memcpy(&h, key, 8);
	for (i = (size_t)h & mask; t->s[i].val && memcmp(t->s[i].key, key, 16); i = (i + 1) & mask)
		;
	return &t->s[i];
}

static int t_grow(struct table *t)
{
	struct table n = {.cap = t->cap ? t->cap * 2 : 1024};

	n.s = calloc(n.cap, sizeof(*n.s));
	if (!n.s)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++)
		if (t->s[i].val)
			*t_find(&n, t->s[i].key) = t->s[i];
	free(t->s);
	t->s = n.s;
	t->cap = n.cap;
	return 0;
}

/* The slot of @key, claimed (val 0 means new) after growing if needed. */
static struct slot *t_claim(struct table *t, const uint8_t key[16])
{
	struct slot *s;

	if ((t->n + 1) * 4 > t->cap * 3 && t_grow(t))
		return NULL;
	s = t_find(t, key);
	if (!s->val) {
		memcpy(s->key, key, 16);
		t->n++;
	}
	return s;
}

static int uuid_bytes(const char *u, uint8_t out[16])
{
	char hex[33];
	size_t n = 0;

	if (strlen(u) != 36 || u[8] != '-' || u[13] != '-' || u[18] != '-' || u[23] != '-')
		return -1;
	for (size_t i = 0; i < 36; i++)
		if (u[i] != '-')
			hex[n++] = u[i];
	hex[32] = '\0';
	return proto_hex_decode(out, 16, hex) ? -1 : 0;
}

/* The index of the event @uuid, added (with @tlp/@day for a new one) when unknown. */
static int event_of(struct node_misp_feed *f, const char *uuid, int tlp, const char *day)
{
	uint8_t key[16];
	struct slot *s;
	struct event *e;

	if (uuid_bytes(uuid, key))
		return NODE_E_EXPORT;
	s = t_claim(&f->by_uuid, key);
	if (!s)
		return -ENOMEM;
	if (s->val)
		return (int)(s->val - 1);
	if (f->n_ev == f->cap_ev) {
		size_t cap = f->cap_ev ? 2 * f->cap_ev : 64;
		struct event *p = realloc(f->ev, cap * sizeof(*p));
		if (!p) {
			f->by_uuid.n--; /* leave the slot unclaimed */
			memset(s, 0, sizeof(*s));
			return -ENOMEM;
		}
		f->ev = p;
		f->cap_ev = cap;
	}
	e = &f->ev[f->n_ev];
	memset(e, 0, sizeof(*e));
	memcpy(e->uuid, uuid, 37);
	e->tlp = tlp;
	snprintf(e->day, sizeof(e->day), "%s", day);
	s->val = (uint32_t)++f->n_ev;
	return (int)(s->val - 1);
}

static int read_hashes(struct node_misp_feed *f, const char **why)
{
	char path[4200];
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *in;
	int r = 0;

	snprintf(path, sizeof(path), "%s/hashes.csv", f->dir);
	in = fopen(path, "re");
	if (!in)
		return errno == ENOENT ? 0 : -errno;
	while ((n = getline(&line, &cap, in)) > 0) {
		uint8_t md5[16];
		struct slot *s;
		size_t l = (size_t)n;
		int ev;

		while (l && (line[l - 1] == '\n' || line[l - 1] == '\r'))
			line[--l] = '\0';
		if (l != 32 + 1 + 36 || line[32] != ',') {
			r = NODE_E_EXPORT;
			break;
		}
		line[32] = '\0';
		if (proto_hex_decode(md5, 16, line)) {
			r = NODE_E_EXPORT;
			break;
		}
		ev = event_of(f, line + 33, -1, "");
		if (ev < 0) {
			r = ev;
			break;
		}
		s = t_claim(&f->by_md5, md5);
		if (!s) {
			r = -ENOMEM;
			break;
		}
		if (!s->val)
			s->val = (uint32_t)ev + 1;
	}
	if (!r && ferror(in))
		r = -EIO;
	fclose(in);
	free(line);
	if (r == NODE_E_EXPORT && why)
		*why = "hashes.csv has a line that is not \"md5,event uuid\"";
	return r;
}

int node_misp_feed_open(struct node_misp_feed **out, const char *dir, const char *community,
			const char **why)
{
	struct node_misp_feed *f = calloc(1, sizeof(*f));
	int r;

	*out = NULL;
	if (!f)
		return -ENOMEM;
	snprintf(f->dir, sizeof(f->dir), "%s", dir);
	f->community = community;
	if (t_grow(&f->by_md5) || t_grow(&f->by_uuid)) {
		node_misp_feed_free(f);
		return -ENOMEM;
	}
	r = read_hashes(f, why);
	if (r) {
		node_misp_feed_free(f);
		return r;
	}
	*out = f;
	return 0;
}

/* ------------------------------------------------------------------ attributes */

static const char *misp_type(int type)
{
	switch (type) {
	case PROTO_IND_IPV4:
	case PROTO_IND_IPV6:
		return "ip-dst";
	case PROTO_IND_DOMAIN:
		return "domain";
	case PROTO_IND_URL:
		return "url";
	case PROTO_IND_EMAIL:
		return "email-src";
	case PROTO_IND_MD5:
		return "md5";
	case PROTO_IND_SHA1:
		return "sha1";
	case PROTO_IND_SHA256:
		return "sha256";
	case PROTO_IND_SHA512:
		return "sha512";
	default:
		return NULL;
	}
}

static const char *misp_category(int type)
{
	return type == PROTO_IND_IPV4 || type == PROTO_IND_IPV6 || type == PROTO_IND_DOMAIN ||
			       type == PROTO_IND_URL
		       ? "Network activity"
		       : "Payload delivery";
}

static json_t *tlp_tag(int tlp)
{
	return json_pack("{s:s, s:s}", "name", misp_tlp[tlp].tag, "colour", misp_tlp[tlp].colour);
}

/* The TLP of a "tlp:..." tag name, -1 for any other name. */
static int tag_tlp(const char *name)
{
	for (int t = PROTO_TLP_CLEAR; t <= PROTO_TLP_RED; t++)
		if (name && !strcmp(name, misp_tlp[t].tag))
			return t;
	return -1;
}

static void seeded_uuid(char out[37], const char *ns, const char *community, const void *data,
			size_t len)
{
	size_t cl = strlen(community);
	uint8_t *seed = malloc(cl + 1 + len);

	if (!seed) { /* a fixed-size fallback would change ids: out of memory is rare enough */
		out[0] = '\0';
		return;
	}
	memcpy(seed, community, cl);
	seed[cl] = 0;
	memcpy(seed + cl + 1, data, len);
	node_export_uuid(out, ns, seed, cl + 1 + len);
	free(seed);
}

static json_t *render(const struct node_misp_feed *f, const struct node_export_doc *d,
		      char uuid[37])
{
	const bool active = d->state == PROTO_SUMMARY_ACTIVE;
	json_t *a, *tags;

	seeded_uuid(uuid, "misp/attribute", f->community, d->ind_id, 32);
	if (!uuid[0])
		return NULL;
	tags = json_pack("[o]", tlp_tag(d->tlp));
	if (tags && !active)
		json_array_append_new(tags, json_pack("{s:s, s:s}", "name",
						      d->state == PROTO_SUMMARY_WITHDRAWN
							      ? "chatham:state=\"withdrawn\""
							      : "chatham:state=\"expired\"",
						      "colour", "#808080"));
	/* Not for IDS: retired, or on a warninglist (the plain blocklist leaves it out too). */
	a = json_pack("{s:s, s:s, s:s, s:s, s:b, s:I, s:b, s:b, s:s, s:s, s:o}", "uuid", uuid,
		      "type", misp_type(d->type), "category", misp_category(d->type), "value",
		      d->value, "to_ids", active && !d->withheld, "timestamp",
		      (json_int_t)(d->modified_ms / 1000), "deleted", 0, "disable_correlation", 0,
		      "first_seen", d->first_seen, "last_seen", d->last_seen, "Tag", tags);
	if (a && d->description && *d->description)
		json_object_set_new(a, "comment", json_string(d->description));
	return a;
}

int node_misp_feed_add(struct node_misp_feed *f, const struct node_export_doc *d)
{
	uint8_t md5[16];
	char hex[33], uuid[37], ev_uuid[37], day[11], seed[64];
	struct slot *s;
	struct pending *p;
	json_t *a;
	int ev;

	if (d->state == PROTO_SUMMARY_OBSERVED || !misp_type(d->type) || d->tlp < PROTO_TLP_CLEAR ||
	    d->tlp > PROTO_TLP_RED)
		return 0;
	node_export_md5_hex(d->value, strlen(d->value), hex);
	if (proto_hex_decode(md5, 16, hex))
		return -EINVAL;
	s = t_claim(&f->by_md5, md5);
	if (!s)
		return -ENOMEM;
	if (s->val) {
		ev = (int)(s->val - 1);
	} else {
		/* A new attribute: the event of its TLP and first_seen's UTC day. */
		snprintf(day, sizeof(day), "%.10s", d->first_seen);
		int n = snprintf(seed, sizeof(seed), "%s%c%s", misp_tlp[d->tlp].tag, 0, day);
		seeded_uuid(ev_uuid, "misp/event", f->community, seed, (size_t)n);
		if (!ev_uuid[0]) {
			f->by_md5.n--;
			memset(s, 0, sizeof(*s));
			return -ENOMEM;
		}
		ev = event_of(f, ev_uuid, d->tlp, day);
		if (ev < 0) {
			f->by_md5.n--;
			memset(s, 0, sizeof(*s));
			return ev;
		}
		s->val = (uint32_t)ev + 1;
		s->fresh = true;
		f->fresh++;
	}
	a = render(f, d, uuid);
	if (!a)
		return -ENOMEM;
	if (f->n_att == f->cap_att) {
		size_t cap = f->cap_att ? 2 * f->cap_att : 1024;
		struct pending *q = realloc(f->att, cap * sizeof(*q));
		if (!q) {
			json_decref(a);
			return -ENOMEM;
		}
		f->att = q;
		f->cap_att = cap;
	}
	p = &f->att[f->n_att];
	p->text = json_dumps(a, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(a);
	if (!p->text)
		return -ENOMEM;
	memcpy(p->uuid, uuid, 37);
	p->next = 0;
	f->n_att++;
	if (f->ev[ev].last)
		f->att[f->ev[ev].last - 1].next = (uint32_t)f->n_att;
	else
		f->ev[ev].first = (uint32_t)f->n_att;
	f->ev[ev].last = (uint32_t)f->n_att;
	return 1;
}

/* ------------------------------------------------------------------ files */

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Writes @j to DIR/@name atomically; @flags as for json_dumpfd. */
static int install_json(const char *dir, const char *name, json_t *j, size_t flags)
{
	char path[4200], tmp[4200];
	int fd = node_export_tmp_open(dir, tmp, sizeof(tmp));

	if (fd < 0)
		return fd;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (json_dumpfd(j, fd, flags) != 0 || write_all(fd, "\n", 1) != 0) {
		close(fd);
		unlink(tmp);
		return -EIO;
	}
	return node_export_tmp_install(fd, tmp, path);
}

/* A JSON object from DIR/@name: NULL with *@r = 0 when the file does not exist. */
static json_t *load_object(const char *dir, const char *name, int *r)
{
	char path[4200];
	json_error_t jerr;
	struct stat st;
	json_t *j;

	*r = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (stat(path, &st) != 0) {
		if (errno != ENOENT)
			*r = -errno;
		return NULL;
	}
	if (st.st_size > (off_t)FEED_FILE_MAX) {
		*r = NODE_E_EXPORT;
		return NULL;
	}
	j = json_load_file(path, 0, &jerr);
	if (!json_is_object(j)) {
		json_decref(j);
		*r = NODE_E_EXPORT;
		return NULL;
	}
	return j;
}

/* hashes.csv gains a line for every attribute placed in an event for the first time. */
static int write_hashes(struct node_misp_feed *f)
{
	char path[4200], tmp[4200], line[128];
	FILE *in;
	char buf[65536];
	size_t n;
	int fd, r = 0;

	if (!f->fresh)
		return 0;
	snprintf(path, sizeof(path), "%s/hashes.csv", f->dir);
	fd = node_export_tmp_open(f->dir, tmp, sizeof(tmp));
	if (fd < 0)
		return fd;
	in = fopen(path, "re");
	if (!in && errno != ENOENT)
		r = -errno;
	while (!r && in && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		r = write_all(fd, buf, n);
	if (in) {
		if (!r && ferror(in))
			r = -EIO;
		fclose(in);
	}
	for (size_t i = 0; !r && i < f->by_md5.cap; i++) {
		const struct slot *s = &f->by_md5.s[i];
		char hex[33];
		int k;

		if (!s->val || !s->fresh)
			continue;
		proto_hex_encode(hex, s->key, 16);
		k = snprintf(line, sizeof(line), "%s,%s\n", hex, f->ev[s->val - 1].uuid);
		r = write_all(fd, line, (size_t)k);
	}
	if (r) {
		close(fd);
		unlink(tmp);
		return r;
	}
	return node_export_tmp_install(fd, tmp, path);
}

static json_t *orgc(const struct node_misp_feed *f)
{
	char uuid[37];

	node_export_uuid(uuid, "misp/org", f->community, strlen(f->community));
	return json_pack("{s:s, s:s}", "name", f->community, "uuid", uuid);
}

/* A new event's head, without attributes: @tlp and @day name its bucket. */
static json_t *new_event(const struct node_misp_feed *f, const char *uuid, int tlp, const char *day)
{
	char info[600];

	snprintf(info, sizeof(info), "chatham %s: TLP:%s indicators first seen %s", f->community,
		 proto_tlp_name(tlp), day);
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:b, s:i, s:i, s:o, s:[], s:[]}", "uuid", uuid,
			 "info", info, "date", day, "timestamp", (json_int_t)0, "publish_timestamp",
			 (json_int_t)0, "published", 1, "analysis", 2, "threat_level_id", 4, "Orgc",
			 orgc(f), "Tag", "Attribute");
}

static json_int_t int_of(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_string(v)) /* MISP itself writes timestamps as strings */
		return strtoll(json_string_value(v), NULL, 10);
	return 0;
}

/*
 * The head of an event whose file is missing: the bucket of a new one, or for an event
 * hashes.csv names but whose file is gone, the TLP and first_seen day of its first
 * attribute.
 */
static json_t *missing_event(const struct node_misp_feed *f, const struct event *e)
{
	json_t *a, *ev;
	char day[11];
	int tlp;

	if (e->day[0])
		return new_event(f, e->uuid, e->tlp, e->day);
	a = json_loads(f->att[e->first - 1].text, 0, NULL);
	if (!a)
		return NULL;
	snprintf(day, sizeof(day), "%.10s", json_string_value(json_object_get(a, "first_seen")));
	tlp = tag_tlp(json_string_value(
		json_object_get(json_array_get(json_object_get(a, "Tag"), 0), "name")));
	ev = new_event(f, e->uuid, tlp < 0 ? PROTO_TLP_RED : tlp, day);
	json_decref(a);
	return ev;
}

/*
 * Merges the pending attributes into @ev's attribute list (@attrs). Returns 1 when
 * something changed, 0 when not, or an error.
 */
static int merge_attrs(struct node_misp_feed *f, const struct event *e, json_t *attrs,
		       struct node_misp_feed_stats *st)
{
	json_t *idx = json_object(), *a; /* attribute uuid -> position */
	int r = 0;
	size_t i;

	if (!idx)
		return -ENOMEM;
	json_array_foreach(attrs, i, a)
	{
		const char *u = json_string_value(json_object_get(a, "uuid"));
		if (u && json_object_set_new(idx, u, json_integer((json_int_t)i))) {
			r = -ENOMEM;
			goto out;
		}
	}
	for (uint32_t k = e->first; k; k = f->att[k - 1].next) {
		struct pending *p = &f->att[k - 1];
		json_t *n = json_loads(p->text, 0, NULL), *pos;
		json_int_t ts;

		if (!n) {
			r = -ENOMEM;
			goto out;
		}
		ts = int_of(n, "timestamp");
		pos = json_object_get(idx, p->uuid);
		if (pos) {
			size_t at = (size_t)json_integer_value(pos);
			json_int_t old_ts = int_of(json_array_get(attrs, at), "timestamp");

			/* The same rendering but for the time: nothing changed for MISP. */
			json_object_set_new(n, "timestamp", json_integer(old_ts));
			if (json_equal(json_array_get(attrs, at), n)) {
				json_decref(n);
				st->unchanged++;
				continue;
			}
			/* MISP takes an attribute only with a newer timestamp than its copy's. */
			json_object_set_new(n, "timestamp",
					    json_integer(ts > old_ts ? ts : old_ts + 1));
			json_array_set_new(attrs, at, n);
			st->changed++;
		} else {
			if (json_object_set_new(idx, p->uuid,
						json_integer((json_int_t)json_array_size(attrs))) ||
			    json_array_append_new(attrs, n)) {
				r = -ENOMEM;
				goto out;
			}
			st->added++;
		}
		r = 1;
	}
out:
	json_decref(idx);
	return r;
}

/* The event's time and TLP after a change: its newest attribute, its strictest tag. */
static int event_stamp(json_t *ev, json_t *attrs)
{
	json_int_t max_ts = 0, ev_ts = int_of(ev, "timestamp");
	int strictest = -1;
	json_t *a, *t, *tags;
	size_t i, j;

	json_array_foreach(attrs, i, a)
	{
		json_int_t ts = int_of(a, "timestamp");

		if (ts > max_ts)
			max_ts = ts;
		json_array_foreach(json_object_get(a, "Tag"), j, t)
		{
			int tlp = tag_tlp(json_string_value(json_object_get(t, "name")));
			if (tlp > strictest)
				strictest = tlp;
		}
	}
	if (max_ts <= ev_ts)
		max_ts = ev_ts + 1; /* MISP's fetcher wants a newer event than its copy */
	tags = strictest >= 0 ? json_pack("[o]", tlp_tag(strictest)) : json_array();
	if (!tags || json_object_set_new(ev, "Tag", tags) ||
	    json_object_set_new(ev, "timestamp", json_integer(max_ts)) ||
	    json_object_set_new(ev, "publish_timestamp", json_integer(max_ts)))
		return -ENOMEM;
	return 0;
}

/*
 * Merges event @e's pending attributes into its file (written only when something changed)
 * and makes its entry in @man (borrowed) match the event. *@man_dirty is set when the entry
 * changed: also for an event written by a run that stopped before its manifest.
 */
static int merge_event(struct node_misp_feed *f, struct event *e, json_t *man, bool *man_dirty,
		       struct node_misp_feed_stats *st)
{
	char name[48];
	json_t *root, *ev, *attrs, *entry;
	int r;

	snprintf(name, sizeof(name), "%s.json", e->uuid);
	root = load_object(f->dir, name, &r);
	if (r)
		return r;
	if (!root) {
		root = json_pack("{s:o}", "Event", missing_event(f, e));
		if (!root)
			return -ENOMEM;
	}
	ev = json_object_get(root, "Event");
	attrs = json_object_get(ev, "Attribute");
	if (!json_is_object(ev) || !json_is_array(attrs)) {
		r = NODE_E_EXPORT;
		goto out;
	}
	r = merge_attrs(f, e, attrs, st);
	if (r == 1) {
		r = event_stamp(ev, attrs);
		if (!r)
			r = install_json(f->dir, name, root, JSON_COMPACT | JSON_ENSURE_ASCII);
		if (r)
			goto out;
		st->events++;
	} else if (r) {
		goto out;
	}
	/* The manifest entry: what MISP's fetcher filters on and compares with its copy. */
	entry = json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:I}", "Orgc",
			  json_object_get(ev, "Orgc"), "Tag", json_object_get(ev, "Tag"), "info",
			  json_object_get(ev, "info"), "date", json_object_get(ev, "date"),
			  "analysis", json_object_get(ev, "analysis"), "threat_level_id",
			  json_object_get(ev, "threat_level_id"), "timestamp",
			  int_of(ev, "timestamp"));
	if (!entry) {
		r = NODE_E_EXPORT; /* a field missing: an event file not written by chatham */
		goto out;
	}
	if (json_equal(entry, json_object_get(man, e->uuid))) {
		json_decref(entry);
	} else if (json_object_set_new(man, e->uuid, entry)) {
		r = -ENOMEM;
		goto out;
	} else {
		*man_dirty = true;
	}
out:
	json_decref(root);
	return r;
}

int node_misp_feed_commit(struct node_misp_feed *f, struct node_misp_feed_stats *st,
			  const char **why)
{
	struct node_misp_feed_stats dummy;
	json_t *man;
	bool any = false;
	int r;

	if (!st)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	man = load_object(f->dir, "manifest.json", &r);
	if (r) {
		if (r == NODE_E_EXPORT && why)
			*why = "manifest.json is not a MISP manifest (a JSON object)";
		return r;
	}
	if (!man && !(man = json_object()))
		return -ENOMEM;
	/* hashes.csv first: it only gains lines, so a crash after it loses no placement. */
	r = write_hashes(f);
	for (size_t i = 0; !r && i < f->n_ev; i++) {
		if (!f->ev[i].first)
			continue;
		r = merge_event(f, &f->ev[i], man, &any, st);
		if (r == NODE_E_EXPORT && why)
			*why = "an event file there is not a MISP event ({\"Event\": {...}})";
	}
	/* The manifest last: it names only events already in place. */
	if (!r && any)
		r = install_json(f->dir, "manifest.json", man,
				 JSON_INDENT(1) | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	json_decref(man);
	if (!r) {
		int fd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (fsync(fd) != 0 && errno != EINVAL)
			r = -errno;
		close(fd);
	}
	return r;
}

void node_misp_feed_free(struct node_misp_feed *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n_att; i++)
		free(f->att[i].text);
	free(f->att);
	free(f->ev);
	free(f->by_md5.s);
	free(f->by_uuid.s);
	free(f);
}
