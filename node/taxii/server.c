/* SPDX-License-Identifier: MIT */
/*
 * TAXII 2.1 over the export environment. A request goes: authenticate (nothing is served
 * to an anonymous client, not even discovery or a 404), route, check the method and the
 * Accept header, parse the query, then answer from the in-memory index (which versions
 * match, in feed order) and the export environment (the documents of the page, rendered by
 * the same code as `chatham export --format stix21`).
 *
 * Pagination: positions 0 and 1 of every collection are the community's identity and the
 * collection's TLP marking-definition (date_added: 2 and 1 microseconds before the first
 * version's); position 2 + i is version i of the index. `next` is
 * the position of the first match not yet returned, so a walk with next visits every match
 * once, whatever is added meanwhile (new versions only ever append). A page holds at most
 * [server] max_page objects and a request inspects at most SCAN_MAX positions, so its memory
 * and time are bounded whatever the filters: when the scan budget runs out the answer says
 * more=true with a next token and the client continues.
 *
 * A rebuilt export is a new env id: either a new data file in the same directory (the node
 * discarded the export after a restore, store_export_discard()) or the same file emptied
 * in place (store_export_reset(), when export_red changes). The main thread notices either
 * (taxii_server_check_export()), indexes the new one while requests are still answered
 * from the old one, and swaps them under the generation lock, which every request holds
 * for reading. Collection ids depend on the community and the level
 * only, so they survive; date_added is a function of the documents' change times, so a
 * client's added_after cursor stays meaningful (versions it holds are not sent again,
 * later changes are). `next` positions do not survive: a token carries the generation it
 * was given in (bits 40 and up) and one of an older generation is refused with 400.
 */
#include "node/taxii/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "node/format/export_fmt.h"
#include "node/common/log.h"
#include "node/format/request.h"
#include "node/taxii/query.h"
#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/report.h"

#define MEDIA_TAXII "application/taxii+json;version=2.1"
#define MEDIA_STIX "application/stix+json;version=2.1"
#define SCAN_MAX (1u << 22)
#define REFRESH_MS 250
#define REFRESH_BATCH 20000
#define TLP20_CREATED_MS 1664582400000ull /* 2022-10-01T00:00:00.000Z */
#define IDENTITY_MS 1704067200000ull	  /* NODE_EXPORT_STIX_IDENTITY_TIME */
#define NEXT_GEN_SHIFT 40		  /* next token = generation << 40 | position */
#define NEXT_GEN_MASK ((UINT64_C(1) << 22) - 1)

/* A client source: an IPv4 address, or the /64 an IPv6 address is in. */
struct source {
	uint8_t key[9]; /* family byte, then 4 or 8 address bytes */
	unsigned conns; /* 0: slot free */
};

struct taxii_server {
	const struct taxii_config *cfg;
	/* The export generation: swapped under gen_lock held for writing; requests hold it
	 * for reading from start to end, so x and idx never change under them. */
	pthread_rwlock_t gen_lock;
	struct store_export *x;
	struct taxii_index *idx;
	uint64_t gen;
	uint64_t file_dev, file_ino; /* of x's data file */
	uint8_t env_id[16];
	struct MHD_Daemon *d;
	char community[1024];
	char identity_id[64];
	uint8_t identity_uuid[16];
	uint8_t coll_uuid[6][16]; /* per enum proto_tlp */
	char coll_id[6][37];
	uint8_t marking_uuid[6][16];
	_Atomic uint64_t last_refresh_ms;
	/* Connections per source (per_source_limit()), one slot per source, under src_lock. */
	pthread_mutex_t src_lock;
	struct source *src;
	size_t n_src; /* slots: max_connections */
	unsigned src_limit;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------ responses */

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *j,
				 const char *first, const char *last)
{
	char *text = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	struct MHD_Response *resp;
	enum MHD_Result r;

	json_decref(j);
	if (!text) {
		static const char oom[] = "{\"title\":\"out of memory\",\"http_status\":\"500\"}";
		resp = MHD_create_response_from_buffer(sizeof(oom) - 1, (void *)oom,
						       MHD_RESPMEM_PERSISTENT);
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
	} else {
		resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	}
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, MEDIA_TAXII);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (first)
		MHD_add_response_header(resp, "X-TAXII-Date-Added-First", first);
	if (last)
		MHD_add_response_header(resp, "X-TAXII-Date-Added-Last", last);
	r = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return r;
}

/* A TAXII error message (OASIS TAXII 2.1 §3.6.1). */
static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *title,
				  const char *description)
{
	char st[8];

	snprintf(st, sizeof(st), "%u", status);
	return send_json(c, status,
			 json_pack("{s:s, s:s, s:s}", "title", title, "description", description,
				   "http_status", st),
			 NULL, NULL);
}

static enum MHD_Result send_unauthorized(struct MHD_Connection *c)
{
	static const char body[] = "{\"title\":\"authentication required\",\"description\":"
				   "\"use HTTP Basic with the consumer's name and secret, or "
				   "Authorization: Bearer SECRET\",\"http_status\":\"401\"}";
	struct MHD_Response *resp = MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body,
								    MHD_RESPMEM_PERSISTENT);
	enum MHD_Result r;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, MEDIA_TAXII);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
				"Basic realm=\"chatham-taxii\", charset=\"UTF-8\"");
	r = MHD_queue_response(c, MHD_HTTP_UNAUTHORIZED, resp);
	MHD_destroy_response(resp);
	return r;
}

/* ------------------------------------------------------------------ requests */

static const struct taxii_consumer *authenticate(struct taxii_server *s, struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	const struct taxii_consumer *cons = NULL;

	if (!h)
		return NULL;
	if (!strncasecmp(h, "Bearer ", 7)) {
		cons = taxii_auth_check(s->cfg, NULL, h + 7);
	} else if (!strncasecmp(h, "Basic ", 6)) {
		char *pass = NULL, *user = MHD_basic_auth_get_username_password(c, &pass);
		if (user && pass)
			cons = taxii_auth_check(s->cfg, user, pass);
		if (pass) {
			explicit_bzero(pass, strlen(pass));
			MHD_free(pass);
		}
		if (user)
			MHD_free(user);
	}
	return cons;
}

/* Accept: absent, any type, application/ any, or application/taxii+json (version 2.1 or none). */
static bool accept_ok(struct MHD_Connection *c)
{
	const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept");
	char buf[512], *save = NULL, *t;

	if (!a || !*a)
		return true;
	if (strlen(a) >= sizeof(buf))
		return false;
	strcpy(buf, a);
	for (t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *p = t, *semi;
		while (*p == ' ' || *p == '\t')
			p++;
		semi = strchr(p, ';');
		size_t n = semi ? (size_t)(semi - p) : strlen(p);
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if ((n == 3 && !memcmp(p, "*/*", 3)) ||
		    (n == 13 && !memcmp(p, "application/*", 13)))
			return true;
		if (n == 22 && !strncasecmp(p, "application/taxii+json", 22)) {
			if (!semi || strstr(semi, "version=2.1"))
				return true;
		}
	}
	return false;
}

struct qctx {
	struct taxii_query *q;
	const char *why;
	int err;
};

static enum MHD_Result query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				 const char *value)
{
	struct qctx *qc = cls;

	(void)kind;
	if (taxii_query_add(qc->q, key, value, &qc->why)) {
		qc->err = -EINVAL;
		return MHD_NO;
	}
	return MHD_YES;
}

/* The TLP of collection @uuid if it is served, else 0. */
static int collection_tlp(const struct taxii_server *s, const uint8_t uuid[16])
{
	for (int t = PROTO_TLP_CLEAR; t <= PROTO_TLP_RED; t++)
		if ((s->cfg->collections >> t & 1) && !memcmp(s->coll_uuid[t], uuid, 16))
			return t;
	return 0;
}

static json_t *collection_json(const struct taxii_server *s, int tlp)
{
	char title[64], alias[32], desc[200];

	snprintf(title, sizeof(title), "%s indicators", proto_tlp_name(tlp));
	snprintf(alias, sizeof(alias), "tlp-%s", proto_tlp_name(tlp));
	for (char *p = alias; *p; p++)
		*p = *p == '+' ? '-' : (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	snprintf(desc, sizeof(desc),
		 "Indicators of community %.100s marked %s; every change is a new version, "
		 "retirements are revoked versions.",
		 s->community, proto_tlp_name(tlp));
	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:[s]}", "id", s->coll_id[tlp], "title",
			 title, "description", desc, "alias", alias, "can_read", 1, "can_write", 0,
			 "media_types", MEDIA_STIX);
}

/* ------------------------------------------------------------------ selection */

enum { ITEM_IDENTITY, ITEM_MARKING, ITEM_VERSION };

struct item {
	uint64_t pos, seq, added_us, modified_ms;
	int kind;
	uint8_t uuid[16];
};

struct walk {
	const struct taxii_server *s;
	const struct taxii_query *q;
	int tlp;
	bool all_versions;	     /* the versions endpoint */
	const struct taxii_id *only; /* the object endpoint's id, or NULL */
	struct item *items;
	size_t n, limit;
	bool more;
	uint64_t next;
};

static bool id_wanted(const struct walk *w, int type, const uint8_t uuid[16])
{
	if (w->only)
		return w->only->type == type && !memcmp(w->only->uuid, uuid, 16);
	if (!w->q->n_ids)
		return true;
	for (unsigned i = 0; i < w->q->n_ids; i++)
		if (w->q->ids[i].type == type && !memcmp(w->q->ids[i].uuid, uuid, 16))
			return true;
	return false;
}

static bool version_wanted(const struct walk *w, bool first, bool last, uint64_t modified_ms)
{
	const struct taxii_query *q = w->q;

	if (w->all_versions || (q->version_flags & TAXII_VER_ALL))
		return true;
	if (((q->version_flags & TAXII_VER_FIRST) && first) ||
	    ((q->version_flags & TAXII_VER_LAST) && last))
		return true;
	for (unsigned i = 0; i < q->n_versions; i++)
		if (q->versions_us[i] == modified_ms * 1000)
			return true;
	return false;
}

/* Fills @it for position @pos if it matches the walk's filters. Under the read lock. */
static bool match(const struct walk *w, const struct taxii_version *v, const struct taxii_ind *ind,
		  size_t nv, uint64_t pos, struct item *it)
{
	const struct taxii_query *q = w->q;
	int type;

	if (!q->spec21 || nv == 0)
		return false;
	it->pos = pos;
	if (pos < 2) {
		it->kind = pos == 0 ? ITEM_IDENTITY : ITEM_MARKING;
		type = pos == 0 ? TAXII_TYPE_IDENTITY : TAXII_TYPE_MARKING;
		it->seq = 0;
		/* Just before the first version, so date_added stays strictly increasing. */
		it->added_us = v[0].added_us >= 2 ? v[0].added_us - 2 + pos : pos;
		it->modified_ms = pos == 0 ? IDENTITY_MS : TLP20_CREATED_MS;
		memcpy(it->uuid, pos == 0 ? w->s->identity_uuid : w->s->marking_uuid[w->tlp], 16);
		if (!version_wanted(w, true, true, it->modified_ms))
			return false;
	} else {
		const struct taxii_version *x = &v[pos - 2];
		if (x->tlp != w->tlp)
			return false;
		type = TAXII_TYPE_INDICATOR;
		it->kind = ITEM_VERSION;
		it->seq = x->seq;
		it->added_us = x->added_us;
		it->modified_ms = x->modified_ms;
		memcpy(it->uuid, ind[x->ind].uuid, 16);
		if (!version_wanted(w, ind[x->ind].first[w->tlp] == pos - 2,
				    ind[x->ind].last[w->tlp] == pos - 2, x->modified_ms))
			return false;
	}
	if (q->has_types && !(q->types >> type & 1))
		return false;
	if (!id_wanted(w, type, it->uuid))
		return false;
	if (q->has_added_after && it->added_us <= q->added_after_us)
		return false;
	return true;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The positions to inspect when ids are named: each named indicator's chain, and 0/1 for
 * the identity and the marking. Sorted. NULL with *n = 0 when none; -ENOMEM as NULL with
 * *n = SIZE_MAX.
 */
static uint64_t *id_positions(const struct walk *w, const struct taxii_version *v,
			      const struct taxii_ind *ind, size_t *n)
{
	const struct taxii_id *ids = w->only ? w->only : w->q->ids;
	unsigned nids = w->only ? 1 : w->q->n_ids;
	uint64_t *pos = NULL;
	size_t cnt = 0, cap = 0;

	*n = 0;
	for (unsigned i = 0; i < nids; i++) {
		uint64_t one = UINT64_MAX;
		if (ids[i].type == TAXII_TYPE_IDENTITY &&
		    !memcmp(ids[i].uuid, w->s->identity_uuid, 16))
			one = 0;
		else if (ids[i].type == TAXII_TYPE_MARKING &&
			 !memcmp(ids[i].uuid, w->s->marking_uuid[w->tlp], 16))
			one = 1;
		uint32_t k = ids[i].type == TAXII_TYPE_INDICATOR
				     ? taxii_index_find(w->s->idx, ids[i].uuid)
				     : TAXII_NONE;
		for (uint32_t vi = k == TAXII_NONE ? TAXII_NONE : ind[k].head;
		     one != UINT64_MAX || vi != TAXII_NONE;) {
			if (cnt == cap) {
				size_t nc = cap ? cap * 2 : 64;
				uint64_t *np =
					nc > SCAN_MAX ? NULL : realloc(pos, nc * sizeof(*pos));
				if (!np) {
					free(pos);
					*n = SIZE_MAX;
					return NULL;
				}
				pos = np;
				cap = nc;
			}
			if (one != UINT64_MAX) {
				pos[cnt++] = one;
				one = UINT64_MAX;
				continue;
			}
			if (v[vi].tlp == w->tlp)
				pos[cnt++] = (uint64_t)vi + 2;
			vi = v[vi].next_same;
		}
	}
	if (cnt)
		qsort(pos, cnt, sizeof(*pos), cmp_u64);
	*n = cnt;
	return pos;
}

/*
 * Selects up to w->limit items from the start position; sets more/next. Returns 0, -ENOMEM,
 * or -ERANGE for a `next` beyond the collection (not a token this server gave).
 */
static int select_items(struct walk *w)
{
	const struct taxii_query *q = w->q;
	const struct taxii_version *v;
	const struct taxii_ind *ind;
	size_t nv, ni, npos = 0, scanned = 0;
	uint64_t start = 0, end, *pos = NULL;
	int r = 0;

	taxii_index_rdlock(w->s->idx);
	v = taxii_index_versions(w->s->idx, &nv);
	ind = taxii_index_ind(w->s->idx, &ni);
	end = nv ? nv + 2 : 0;
	if (q->has_next) {
		if (q->next > end) {
			r = -ERANGE;
			goto out;
		}
		start = q->next;
	} else if (q->has_added_after && nv) {
		/* The identity and marking (positions 0, 1) are filtered by match(). */
		start = v[0].added_us > q->added_after_us
				? 0
				: taxii_index_after(w->s->idx, q->added_after_us) + 2;
	}
	if (w->only || q->n_ids) {
		pos = id_positions(w, v, ind, &npos);
		if (npos == SIZE_MAX) {
			r = -ENOMEM;
			goto out;
		}
	}
	for (size_t k = 0;; k++) {
		uint64_t p;
		struct item it;
		if (pos || w->only || q->n_ids) {
			if (k >= npos)
				break;
			p = pos[k];
			if (p < start)
				continue;
		} else {
			p = start + k;
			if (p >= end)
				break;
		}
		if (++scanned > SCAN_MAX) {
			w->more = true;
			w->next = p;
			break;
		}
		if (!match(w, v, ind, nv, p, &it))
			continue;
		if (w->n == w->limit) {
			w->more = true;
			w->next = p;
			break;
		}
		w->items[w->n++] = it;
	}
out:
	taxii_index_unlock(w->s->idx);
	free(pos);
	return r;
}

/* ------------------------------------------------------------------ rendering */

struct fetch {
	const struct taxii_server *s;
	struct item *items;
	size_t n, j;
	json_t *out; /* array; NULL slot order is items order */
	json_t **slot;
	int err;
};

static json_t *render_doc(const struct taxii_server *s, const uint8_t *doc, size_t len)
{
	struct node_export_doc d;
	json_error_t jerr;
	json_t *j = json_loadb((const char *)doc, len, 0, &jerr), *o = NULL;

	if (j && !node_export_doc_parse(j, &d, NULL))
		o = node_export_stix_indicator(&d, s->identity_id);
	json_decref(j);
	return o;
}

static int fetch_doc(void *ctx, uint64_t seq, const uint8_t *doc, size_t len)
{
	struct fetch *f = ctx;

	while (f->j < f->n && (f->items[f->j].kind != ITEM_VERSION || f->items[f->j].seq < seq))
		f->j++;
	if (f->j >= f->n)
		return 1;
	if (f->items[f->j].seq != seq)
		return 0;
	f->slot[f->j] = render_doc(f->s, doc, len);
	if (!f->slot[f->j]) {
		f->err = -ENOMEM;
		return -1;
	}
	f->j++;
	return f->j >= f->n ? 1 : 0;
}

/* The STIX objects of @items in order. NULL on error (*err set). */
static json_t *render_items(const struct taxii_server *s, struct item *items, size_t n, int *err)
{
	struct fetch f = {.s = s, .items = items, .n = n};
	uint64_t lo = UINT64_MAX, hi = 0;
	size_t nver = 0;
	json_t *arr = json_array();

	f.slot = calloc(n ? n : 1, sizeof(*f.slot));
	if (!arr || !f.slot) {
		*err = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		if (items[i].kind != ITEM_VERSION)
			continue;
		nver++;
		lo = items[i].seq < lo ? items[i].seq : lo;
		hi = items[i].seq > hi ? items[i].seq : hi;
	}
	/* Items are in feed order. Dense pages: one cursor walk; sparse ones: one seek each. */
	if (nver && hi - lo <= 8 * nver + 1024) {
		f.j = 0;
		if (store_export_iter(s->x, lo - 1, 0, fetch_doc, &f) < 0 && !f.err)
			f.err = -EIO;
	} else if (nver) {
		for (size_t i = 0; i < n && !f.err; i++) {
			if (items[i].kind != ITEM_VERSION)
				continue;
			f.j = i;
			if (store_export_iter(s->x, items[i].seq - 1, 1, fetch_doc, &f) < 0 &&
			    !f.err)
				f.err = -EIO;
		}
	}
	for (size_t i = 0; i < n && !f.err; i++) {
		json_t *o = items[i].kind == ITEM_IDENTITY ? node_export_stix_identity(s->community)
			    : items[i].kind == ITEM_MARKING ? node_export_stix_marking(
								      /* the collection's TLP */
								      (int)items[i].seq)
							    : f.slot[i];
		f.slot[i] = NULL;
		if (!o) {
			/* A version whose document vanished: the export was rebuilt under us. */
			f.err = items[i].kind == ITEM_VERSION ? -ESTALE : -ENOMEM;
			break;
		}
		json_array_append_new(arr, o);
	}
	if (f.err) {
		*err = f.err;
		goto fail;
	}
	free(f.slot);
	return arr;
fail:
	for (size_t i = 0; f.slot && i < n; i++)
		json_decref(f.slot[i]);
	free(f.slot);
	json_decref(arr);
	return NULL;
}

/* ------------------------------------------------------------------ endpoints */

static void maybe_refresh(struct taxii_server *s)
{
	uint64_t now = mono_ms(), last = atomic_load(&s->last_refresh_ms);
	int r;

	if (now - last < REFRESH_MS ||
	    !atomic_compare_exchange_strong(&s->last_refresh_ms, &last, now))
		return;
	r = taxii_index_refresh(s->idx, REFRESH_BATCH);
	if (r < 0)
		log_err("taxii: reading the export failed: %s", strerror(-r));
}

static enum MHD_Result serve_pages(struct taxii_server *s, struct MHD_Connection *c,
				   const struct taxii_route *rt, int tlp,
				   const struct taxii_query *q)
{
	struct walk w = {.s = s, .q = q, .tlp = tlp};
	char first[TAXII_TIME_LEN], last[TAXII_TIME_LEN], nexts[24];
	json_t *body = NULL, *list = NULL;
	int err = 0, r;

	maybe_refresh(s);
	w.limit = q->limit && q->limit < s->cfg->max_page ? q->limit : s->cfg->max_page;
	w.items = calloc(w.limit, sizeof(*w.items));
	if (!w.items)
		return send_error(c, 500, "out of memory", "try a smaller limit");
	if (rt->endpoint == TAXII_EP_OBJECT || rt->endpoint == TAXII_EP_VERSIONS)
		w.only = &rt->obj;
	w.all_versions = rt->endpoint == TAXII_EP_VERSIONS;
	r = select_items(&w);
	if (r == -ERANGE) {
		free(w.items);
		return send_error(c, 400, "bad next", "next is not a token this server gave");
	}
	if (r) {
		free(w.items);
		return send_error(c, 500, "out of memory", "try again later");
	}
	if (w.only && w.n == 0 && !w.more) {
		/* 404 only when the object has no version in this collection at all. */
		struct taxii_query all;
		struct walk probe = {.s = s,
				     .q = &all,
				     .tlp = tlp,
				     .all_versions = true,
				     .only = &rt->obj,
				     .limit = 1,
				     .items = w.items};
		taxii_query_init(&all);
		select_items(&probe);
		if (probe.n == 0) {
			free(w.items);
			return send_error(c, 404, "no such object",
					  "the object is not in this collection");
		}
	}
	/* Markings carry their TLP in seq (they have no document). */
	for (size_t i = 0; i < w.n; i++)
		if (w.items[i].kind == ITEM_MARKING)
			w.items[i].seq = (uint64_t)tlp;
	body = json_pack("{s:b}", "more", w.more);
	if (body && w.more) {
		snprintf(nexts, sizeof(nexts), "%" PRIu64,
			 (s->gen & NEXT_GEN_MASK) << NEXT_GEN_SHIFT | w.next);
		json_object_set_new(body, "next", json_string(nexts));
	}
	if (rt->endpoint == TAXII_EP_OBJECTS || rt->endpoint == TAXII_EP_OBJECT) {
		list = w.n ? render_items(s, w.items, w.n, &err) : NULL;
		if (err) {
			json_decref(body);
			free(w.items);
			log_err("taxii: rendering a page failed: %s", strerror(-err));
			return send_error(c, err == -ESTALE ? 503 : 500, "export unavailable",
					  err == -ESTALE ? "the export is being rebuilt; try again"
							 : "could not render the page");
		}
		if (list)
			json_object_set_new(body, "objects", list);
	} else if (w.n) {
		list = json_array();
		for (size_t i = 0; list && i < w.n; i++) {
			char ver[40], added[TAXII_TIME_LEN], id[300];
			const char *type = w.items[i].kind == ITEM_IDENTITY  ? "identity"
					   : w.items[i].kind == ITEM_MARKING ? "marking-definition"
									     : "indicator";
			char uuid[37], hex[33];
			static const char hx[] = "0123456789abcdef";
			for (int k = 0; k < 16; k++) {
				hex[2 * k] = hx[w.items[i].uuid[k] >> 4];
				hex[2 * k + 1] = hx[w.items[i].uuid[k] & 15];
			}
			hex[32] = '\0';
			snprintf(uuid, sizeof(uuid), "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8,
				 hex + 12, hex + 16, hex + 20);
			snprintf(id, sizeof(id), "%s--%s", type, uuid);
			node_req_time_format(w.items[i].modified_ms, ver, sizeof(ver));
			taxii_time_format(w.items[i].added_us, added);
			if (rt->endpoint == TAXII_EP_VERSIONS)
				json_array_append_new(list, json_string(ver));
			else
				json_array_append_new(list,
						      json_pack("{s:s, s:s, s:s, s:s}", "id", id,
								"date_added", added, "version", ver,
								"media_type", MEDIA_STIX));
		}
		if (list)
			json_object_set_new(
				body, rt->endpoint == TAXII_EP_VERSIONS ? "versions" : "objects",
				list);
	}
	if (w.n) {
		taxii_time_format(w.items[0].added_us, first);
		taxii_time_format(w.items[w.n - 1].added_us, last);
	}
	free(w.items);
	return send_json(c, 200, body, w.n ? first : NULL, w.n ? last : NULL);
}

static enum MHD_Result handle_locked(struct taxii_server *s, struct MHD_Connection *c,
				     const char *url, const char *method);

/* Every request runs under the generation lock (read), so a rebuilt export swaps between
 * requests, never under one. */
static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct taxii_server *s = cls;
	enum MHD_Result r;

	(void)version;
	(void)upload_data;
	if (!*con_cls) {
		/* First call: headers only. Answer now; a body is never needed. */
		*con_cls = s;
	}
	*upload_data_size = 0;
	pthread_rwlock_rdlock(&s->gen_lock);
	r = handle_locked(s, c, url, method);
	pthread_rwlock_unlock(&s->gen_lock);
	return r;
}

static enum MHD_Result handle_locked(struct taxii_server *s, struct MHD_Connection *c,
				     const char *url, const char *method)
{
	const struct taxii_consumer *cons;
	struct taxii_route rt;
	struct taxii_query q;
	struct qctx qc = {.q = &q};
	json_t *j;
	int tlp = 0;

	cons = authenticate(s, c);
	if (!cons)
		return send_unauthorized(c);
	taxii_route_parse(url, &rt);
	if (rt.endpoint == TAXII_EP_NONE)
		return send_error(c, 404, "not found", "no TAXII resource at this path");
	if (rt.endpoint >= TAXII_EP_COLLECTION) {
		tlp = collection_tlp(s, rt.coll);
		if (!tlp)
			return send_error(c, 404, "no such collection",
					  "no collection with this id on this API root");
		if (!taxii_consumer_may_read(s->cfg, cons, tlp))
			return send_error(c, 403, "forbidden",
					  "this consumer may not read this collection (its TLP "
					  "ceiling or collection list)");
	}
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		bool write = !strcmp(method, "POST") || !strcmp(method, "DELETE");
		if (write && (rt.endpoint == TAXII_EP_OBJECTS || rt.endpoint == TAXII_EP_OBJECT))
			return send_error(c, 403, "read-only collection",
					  "collections of this server cannot be written");
		return send_error(c, 405, "method not allowed", "this server answers GET only");
	}
	if (!accept_ok(c))
		return send_error(c, 406, "not acceptable", "this server answers " MEDIA_TAXII);
	taxii_query_init(&q);
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, query_arg, &qc);
	if (qc.err)
		return send_error(c, 400, "bad query parameter", qc.why);
	if (q.has_next) {
		if (q.next >> NEXT_GEN_SHIFT != (s->gen & NEXT_GEN_MASK))
			return send_error(c, 400, "bad next",
					  "the export was rebuilt since this next token was given: "
					  "continue with added_after");
		q.next &= (UINT64_C(1) << NEXT_GEN_SHIFT) - 1;
	}

	switch (rt.endpoint) {
	case TAXII_EP_DISCOVERY: {
		char root[600];
		const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
		bool host_ok = host && *host && strlen(host) < 256;
		for (const char *p = host; host_ok && *p; p++)
			host_ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
				  (*p >= '0' && *p <= '9') || strchr(".-:[]", *p);
		if (host_ok)
			snprintf(root, sizeof(root), "https://%s/%s/", host, TAXII_API_ROOT);
		else
			snprintf(root, sizeof(root), "/%s/", TAXII_API_ROOT);
		j = json_pack("{s:s, s:s, s:s, s:[s]}", "title", s->cfg->title, "description",
			      "TAXII 2.1 service of a chatham node (read-only SIEM export)",
			      "default", root, "api_roots", root);
		return send_json(c, 200, j, NULL, NULL);
	}
	case TAXII_EP_API_ROOT:
		j = json_pack("{s:s, s:s, s:[s], s:i}", "title", s->cfg->title, "description",
			      s->community, "versions", MEDIA_TAXII, "max_content_length", 0);
		return send_json(c, 200, j, NULL, NULL);
	case TAXII_EP_COLLECTIONS:
		j = json_array();
		for (int t = PROTO_TLP_CLEAR; j && t <= PROTO_TLP_RED; t++)
			if (taxii_consumer_may_read(s->cfg, cons, t))
				json_array_append_new(j, collection_json(s, t));
		return send_json(c, 200, j ? json_pack("{s:o}", "collections", j) : NULL, NULL,
				 NULL);
	case TAXII_EP_COLLECTION:
		return send_json(c, 200, collection_json(s, tlp), NULL, NULL);
	default:
		return serve_pages(s, c, &rt, tlp, &q);
	}
}

/* ------------------------------------------------------------------ lifecycle */

static void uuid_bytes(const char *s, uint8_t out[16])
{
	if (taxii_uuid_parse(s, strlen(s), out))
		memset(out, 0, 16);
}

/*
 * libmicrohttpd's own messages: their format strings come from the library. Most are about
 * one connection (a failed TLS handshake, a per-address limit reached), so anyone who can
 * reach the port could write one log line per TCP connection, hundreds per second, for
 * free. At most MHD_LOG_BURST of them are logged per MHD_LOG_WINDOW_MS; the next logged
 * one says how many were left out. Called from every MHD thread, hence the mutex.
 */
#define MHD_LOG_BURST 10
#define MHD_LOG_WINDOW_MS 60000

static pthread_mutex_t mhd_log_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t mhd_log_window_ms;
static unsigned mhd_log_in_window;
static uint64_t mhd_log_dropped;

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	uint64_t now = mono_ms(), dropped = 0;
	bool show;
	char buf[512];

	(void)cls;
	pthread_mutex_lock(&mhd_log_lock);
	if (!mhd_log_window_ms || now - mhd_log_window_ms >= MHD_LOG_WINDOW_MS) {
		mhd_log_window_ms = now;
		mhd_log_in_window = 0;
	}
	show = mhd_log_in_window < MHD_LOG_BURST;
	if (show) {
		mhd_log_in_window++;
		dropped = mhd_log_dropped;
		mhd_log_dropped = 0;
	} else {
		mhd_log_dropped++;
	}
	pthread_mutex_unlock(&mhd_log_lock);
	if (!show)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	if (dropped)
		log_notice("taxii: %s (%" PRIu64 " earlier messages of the HTTP server left out)",
			   buf, dropped);
	else
		log_notice("taxii: %s", buf);
}

/*
 * Connections one source may hold: a quarter of max_connections (at least one).
 * libmicrohttpd evicts nobody, so without this one client that opens max_connections
 * connections and sends nothing keeps every other client waiting for the 30 s idle
 * timeout, and for good if it keeps reconnecting. A source is an IPv4 address or an IPv6
 * /64: a host is given a whole /64 (SLAAC, privacy addresses), so counting IPv6 addresses
 * one by one would let one host take every connection (libmicrohttpd's own per-address
 * limit does). The price: clients in one IPv6 /64 share the quarter, as clients behind
 * one NAT do.
 */
static unsigned per_source_limit(unsigned max_connections)
{
	return max_connections >= 4 ? max_connections / 4 : 1;
}

/* The source key of @sa; false for a family not counted. */
static bool source_key(const struct sockaddr *sa, uint8_t key[9])
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	memset(key, 0, 9);
	if (sa->sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;

		if (!memcmp(a, v4mapped, 12)) {
			key[0] = 4;
			memcpy(key + 1, a + 12, 4);
		} else {
			key[0] = 6;
			memcpy(key + 1, a, 8);
		}
		return true;
	}
	return false;
}

/*
 * Count a new connection against its source (MHD_CONNECTION_NOTIFY_STARTED) or give it back
 * (..._CLOSED). One over the limit is shut down at once: libmicrohttpd then sees its end of
 * file and closes it, before any TLS work. Counting at the start under one lock, not in an
 * accept policy, keeps the limit exact with several threads accepting, and a connection
 * the library drops after the policy said yes could not be given back.
 */
static void notify_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			      enum MHD_ConnectionNotificationCode toe)
{
	struct taxii_server *s = cls;
	const union MHD_ConnectionInfo *ci;
	struct source *slot = NULL, *free_slot = NULL;
	uint8_t key[9];

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		slot = *socket_context;
		if (slot) {
			pthread_mutex_lock(&s->src_lock);
			slot->conns--;
			pthread_mutex_unlock(&s->src_lock);
			*socket_context = NULL;
		}
		return;
	}
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!ci || !ci->client_addr || !source_key(ci->client_addr, key))
		return;
	pthread_mutex_lock(&s->src_lock);
	for (size_t i = 0; i < s->n_src && !slot; i++) {
		if (s->src[i].conns && !memcmp(s->src[i].key, key, sizeof(key)))
			slot = &s->src[i];
		else if (!s->src[i].conns && !free_slot)
			free_slot = &s->src[i];
	}
	if (!slot && free_slot) {
		slot = free_slot;
		memcpy(slot->key, key, sizeof(key));
	}
	if (slot && slot->conns >= s->src_limit)
		slot = NULL;
	if (slot)
		slot->conns++;
	pthread_mutex_unlock(&s->src_lock);
	*socket_context = slot;
	if (!slot) {
		ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci)
			shutdown(ci->connect_fd, SHUT_RDWR);
	}
}

/* Collection ids name the community and the level: the same across export rebuilds. */
static void collection_ids(struct taxii_server *s)
{
	size_t cl = strlen(s->community);

	for (int t = PROTO_TLP_CLEAR; t <= PROTO_TLP_RED; t++) {
		uint8_t seed[sizeof(s->community) + 2];
		const char *mid = node_export_stix_tlp_id(t);

		memcpy(seed, s->community, cl);
		seed[cl] = 0;
		seed[cl + 1] = (uint8_t)t;
		node_export_uuid(s->coll_id[t], "taxii/collection", seed, cl + 2);
		uuid_bytes(s->coll_id[t], s->coll_uuid[t]);
		uuid_bytes(mid + strlen("marking-definition--"), s->marking_uuid[t]);
	}
}

struct taxii_server *taxii_server_start(const struct taxii_config *cfg, struct store_export *x,
					struct taxii_index *idx, const char *cert, const char *key)
{
	struct taxii_server *s = calloc(1, sizeof(*s));
	struct sockaddr_storage ss;
	unsigned flags =
		MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	int r;

	if (!s)
		return NULL;
	s->cfg = cfg;
	/* At most max_connections connections, so never more sources than that. */
	s->n_src = cfg->max_connections;
	s->src_limit = per_source_limit(cfg->max_connections);
	s->src = calloc(s->n_src, sizeof(*s->src));
	if (!s->src || pthread_mutex_init(&s->src_lock, NULL)) {
		free(s->src);
		free(s);
		return NULL;
	}
	r = store_export_community(x, s->community, sizeof(s->community));
	if (!r)
		r = store_export_env_id(x, s->env_id);
	if (!r)
		r = store_export_file_id(x, &s->file_dev, &s->file_ino);
	if (r || pthread_rwlock_init(&s->gen_lock, NULL)) {
		log_err("taxii: cannot read the export's metadata");
		pthread_mutex_destroy(&s->src_lock);
		free(s->src);
		free(s);
		return NULL;
	}
	node_export_stix_identity_id(s->community, s->identity_id);
	uuid_bytes(s->identity_id + strlen("identity--"), s->identity_uuid);
	collection_ids(s);
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, cfg->listen, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)cfg->port);
	} else if (inet_pton(AF_INET6, cfg->listen, &((struct sockaddr_in6 *)&ss)->sin6_addr) ==
		   1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)cfg->port);
		flags |= MHD_USE_IPv6;
	} else {
		log_err("taxii: listen = %s is not an IPv4 or IPv6 address", cfg->listen);
		goto fail;
	}
	/* The logger comes first, so that MHD's messages about the options below use it. */
	s->d = MHD_start_daemon(
		flags, (uint16_t)cfg->port, NULL, NULL, handle, s, MHD_OPTION_EXTERNAL_LOGGER,
		mhd_log, NULL, MHD_OPTION_SOCK_ADDR, &ss, MHD_OPTION_HTTPS_MEM_CERT, cert,
		MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_HTTPS_PRIORITIES,
		"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2", MHD_OPTION_THREAD_POOL_SIZE,
		(unsigned)cfg->threads, MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
		MHD_OPTION_NOTIFY_CONNECTION, notify_connection, s, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)30, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
		MHD_OPTION_END);
	if (!s->d) {
		log_err("taxii: cannot listen on %s port %u (address in use, or the certificate "
			"and key do not load)",
			cfg->listen, cfg->port);
		goto fail;
	}
	s->x = x;
	s->idx = idx;
	return s;
fail:
	pthread_rwlock_destroy(&s->gen_lock);
	pthread_mutex_destroy(&s->src_lock);
	free(s->src);
	free(s);
	return NULL;
}

int taxii_server_check_export(struct taxii_server *s)
{
	char path[4200], old_hex[33], new_hex[33], community[sizeof(s->community)];
	struct store_export *x = NULL, *old_x;
	struct taxii_index *idx = NULL, *old_idx;
	uint8_t env_id[16];
	uint64_t dev = s->file_dev, ino = s->file_ino;
	size_t nv, ni;
	struct stat st;
	bool same_file;
	int r;

	snprintf(path, sizeof(path), "%s/data.mdb", s->cfg->export_dir);
	if (stat(path, &st) != 0)
		return 0; /* discarded, not rebuilt yet: the old one is still served */
	same_file = (uint64_t)st.st_dev == s->file_dev && (uint64_t)st.st_ino == s->file_ino;
	if (same_file) {
		/* The same file, reset in place under a new env id (store_export_reset()). */
		if (store_export_env_id(s->x, env_id) || !memcmp(env_id, s->env_id, 16))
			return 0;
		x = s->x;
	} else {
		/* A new data file. The node may still be creating it: failures are retried. */
		r = store_export_open_readonly(&x, s->cfg->export_dir);
		if (!r)
			r = store_export_env_id(x, env_id);
		if (!r)
			r = store_export_community(x, community, sizeof(community));
		if (!r)
			r = store_export_file_id(x, &dev, &ino);
		if (r)
			goto out;
		if (strcmp(community, s->community)) {
			log_err("taxii: the export in %s now belongs to community \"%s\", not "
				"\"%s\": still serving the old one; restart chatham-taxii to serve "
				"the new one",
				s->cfg->export_dir, community, s->community);
			s->file_dev = dev; /* said once */
			s->file_ino = ino;
			r = 0;
			goto out;
		}
	}
	idx = taxii_index_new(x);
	if (!idx) {
		r = -ENOMEM;
		goto out;
	}
	while ((r = taxii_index_refresh(idx, 100000)) > 0)
		;
	if (r < 0)
		goto out;
	pthread_rwlock_wrlock(&s->gen_lock);
	old_x = s->x;
	old_idx = s->idx;
	s->x = x;
	s->idx = idx;
	s->gen++;
	s->file_dev = dev;
	s->file_ino = ino;
	proto_hex_encode(old_hex, s->env_id, 16);
	memcpy(s->env_id, env_id, 16);
	pthread_rwlock_unlock(&s->gen_lock);
	taxii_index_free(old_idx);
	if (!same_file)
		store_export_close(old_x);
	proto_hex_encode(new_hex, env_id, 16);
	taxii_index_rdlock(idx);
	taxii_index_versions(idx, &nv);
	taxii_index_ind(idx, &ni);
	taxii_index_unlock(idx);
	log_info("taxii: the export was rebuilt (env id %s, was %s): now serving %zu versions "
		 "of %zu indicators; next tokens given before are refused",
		 new_hex, old_hex, nv, ni);
	return 1;
out:
	if (r)
		log_debug("taxii: a new export in %s is not readable yet: %s", s->cfg->export_dir,
			  proto_error_str(r));
	taxii_index_free(idx);
	if (!same_file)
		store_export_close(x);
	return r;
}

unsigned taxii_server_port(const struct taxii_server *s)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);

	return i ? i->port : 0;
}

void taxii_server_stop(struct taxii_server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->d);
	taxii_index_free(s->idx);
	store_export_close(s->x);
	pthread_rwlock_destroy(&s->gen_lock);
	pthread_mutex_destroy(&s->src_lock);
	free(s->src);
	free(s);
}
