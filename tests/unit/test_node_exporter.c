/* SPDX-License-Identifier: MIT */
/*
 * node_exporter_document(): what a SIEM matches on. Active indicators carry their ECS value
 * fields and event.type indicator; retired ones (withdrawn, expired, observed-only) carry
 * neither and have an expiry in event.end; CIDR ranges become matchable; the TLP version and
 * the feed name are present. node_exporter_render(), the export's callback, which takes a
 * chunk of feed entries and makes all their views before any document: each document
 * byte for byte what node_exporter_feed_document() makes of its entry alone, under its own
 * sequence, none lost, none moved; an error in the middle of a chunk writes nothing, and
 * the next sync renders every entry.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/common/snap.h"
#include "node/daemon/exporter.h"
#include "policy/config.h"
#include "policy/egress.h"
#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/indicator.h"
#include "proto/keys.h"
#include "proto/report.h"
#include "proto/roster.h"
#include "proto/summary.h"
#include "store/export.h"
#include "store/sealed.h"
#include "store/store.h"
#include "store/store_test.h"
#include "testutil.h"

static struct policy_view *view(int type, const char *value, int state, uint64_t valid_until)
{
	struct policy_view *v = calloc(1, sizeof(*v));

	assert_non_null(v);
	v->ind.type = (uint8_t)type;
	v->ind.len = (uint16_t)strlen(value);
	strcpy(v->ind.value, value);
	v->tlp = PROTO_TLP_GREEN;
	v->state = (uint8_t)state;
	v->confidence = 70;
	v->first_seen_ms = 1700000000000ull;
	v->last_seen_ms = 1700000100000ull;
	v->valid_until_ms = valid_until;
	v->n_members = 2;
	strcpy(v->community, "Unit Community");
	return v;
}

static const uint8_t ID[32] = {1, 2, 3};
#define NOW 1700000200000ull /* 2023-11-14T22:16:40.000Z */

static json_t *doc_of(struct policy_view *v)
{
	json_t *d = node_exporter_document(v, ID, 9, NOW);

	assert_non_null(d);
	free(v);
	return d;
}

static const char *str(json_t *o, const char *a, const char *b)
{
	json_t *x = json_object_get(o, a);

	return json_string_value(b ? json_object_get(x, b) : x);
}

static void test_active(void **state)
{
	json_t *d = doc_of(
		view(PROTO_IND_IPV4, "198.51.100.7", PROTO_SUMMARY_ACTIVE, 1900000000000ull));
	json_t *ev = json_object_get(d, "event"),
	       *ti = json_object_get(json_object_get(d, "threat"), "indicator");

	(void)state;
	assert_string_equal(json_string_value(json_array_get(json_object_get(ev, "type"), 0)),
			    "indicator");
	assert_string_equal(str(ev, "end", NULL), "2030-03-17T17:46:40.000Z");
	assert_string_equal(str(d, "chatham", "ioc_expiration_date"), "2030-03-17T17:46:40.000Z");
	assert_string_equal(str(d, "chatham", "ioc_expiration_reason"), "valid_until");
	assert_string_equal(str(ti, "ip", NULL), "198.51.100.7");
	assert_string_equal(str(ti, "marking", "tlp"), "GREEN");
	assert_string_equal(str(ti, "marking", "tlp_version"), "2.0");
	assert_string_equal(str(json_object_get(d, "threat"), "feed", "name"),
			    "chatham Unit Community");
	json_decref(d);

	/* No valid_until: no expiry. */
	d = doc_of(view(PROTO_IND_DOMAIN, "evil.example", PROTO_SUMMARY_ACTIVE, 0));
	assert_null(json_object_get(json_object_get(d, "event"), "end"));
	assert_null(json_object_get(json_object_get(d, "chatham"), "ioc_expiration_date"));
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(json_object_get(json_object_get(d, "threat"), "indicator"),
					"url"),
			"domain")),
		"evil.example");
	json_decref(d);
}

static void test_retired(void **state)
{
	static const int states[] = {PROTO_SUMMARY_WITHDRAWN, PROTO_SUMMARY_EXPIRED,
				     PROTO_SUMMARY_OBSERVED};
	static const char *const values[] = {"198.51.100.7", "evil.example", "https://e.example/",
					     "a@evil.example", "d41d8cd98f00b204e9800998ecf8427e"};
	static const int types[] = {PROTO_IND_IPV4, PROTO_IND_DOMAIN, PROTO_IND_URL,
				    PROTO_IND_EMAIL, PROTO_IND_MD5};

	(void)state;
	for (size_t s = 0; s < 3; s++) {
		for (size_t t = 0; t < 5; t++) {
			json_t *d = doc_of(view(types[t], values[t], states[s], 1690000000000ull));
			json_t *ev = json_object_get(d, "event");
			json_t *ti = json_object_get(json_object_get(d, "threat"), "indicator");
			const char *et =
				json_string_value(json_array_get(json_object_get(ev, "type"), 0));
			assert_string_equal(et, "deletion");
			assert_null(json_object_get(ti, "ip"));
			assert_null(json_object_get(ti, "url"));
			assert_null(json_object_get(ti, "email"));
			assert_null(json_object_get(ti, "file"));
			/* The value stays for dedup and display, outside threat.indicator. */
			assert_string_equal(str(d, "chatham", "value"), values[t]);
			/* Expired: its valid_until; withdrawn or observed: the change time. */
			assert_string_equal(str(ev, "end", NULL),
					    states[s] == PROTO_SUMMARY_EXPIRED
						    ? "2023-07-22T04:26:40.000Z"
						    : "2023-11-14T22:16:40.000Z");
			/* And as Elastic's threat-intel integrations carry it. */
			assert_string_equal(str(d, "chatham", "ioc_expiration_date"),
					    str(ev, "end", NULL));
			assert_string_equal(str(d, "chatham", "ioc_expiration_reason"),
					    states[s] == PROTO_SUMMARY_WITHDRAWN ? "withdrawn"
					    : states[s] == PROTO_SUMMARY_EXPIRED ? "expired"
										 : "observed");
			json_decref(d);
		}
	}
}

static void test_cidr(void **state)
{
	json_t *d, *ti, *ip, *range;

	(void)state;
	d = doc_of(view(PROTO_IND_IPV4, "192.0.2.0/30", PROTO_SUMMARY_ACTIVE, 0));
	ti = json_object_get(json_object_get(d, "threat"), "indicator");
	ip = json_object_get(ti, "ip");
	assert_true(json_is_array(ip));
	assert_int_equal(json_array_size(ip), 4);
	assert_string_equal(json_string_value(json_array_get(ip, 0)), "192.0.2.0");
	assert_string_equal(json_string_value(json_array_get(ip, 3)), "192.0.2.3");
	range = json_object_get(json_object_get(d, "chatham"), "ip_range");
	assert_string_equal(str(range, "gte", NULL), "192.0.2.0");
	assert_string_equal(str(range, "lte", NULL), "192.0.2.3");
	json_decref(d);

	d = doc_of(view(PROTO_IND_IPV4, "198.51.100.0/24", PROTO_SUMMARY_ACTIVE, 0));
	ip = json_object_get(json_object_get(json_object_get(d, "threat"), "indicator"), "ip");
	assert_int_equal(json_array_size(ip), 256);
	assert_string_equal(json_string_value(json_array_get(ip, 255)), "198.51.100.255");
	json_decref(d);

	/* Larger than 256 addresses: the range only. */
	d = doc_of(view(PROTO_IND_IPV4, "10.0.0.0/8", PROTO_SUMMARY_ACTIVE, 0));
	assert_null(
		json_object_get(json_object_get(json_object_get(d, "threat"), "indicator"), "ip"));
	range = json_object_get(json_object_get(d, "chatham"), "ip_range");
	assert_string_equal(str(range, "gte", NULL), "10.0.0.0");
	assert_string_equal(str(range, "lte", NULL), "10.255.255.255");
	json_decref(d);

	d = doc_of(view(PROTO_IND_IPV6, "2001:db8::/126", PROTO_SUMMARY_ACTIVE, 0));
	ip = json_object_get(json_object_get(json_object_get(d, "threat"), "indicator"), "ip");
	assert_int_equal(json_array_size(ip), 4);
	assert_string_equal(json_string_value(json_array_get(ip, 3)), "2001:db8::3");
	json_decref(d);

	d = doc_of(view(PROTO_IND_IPV6, "2001:db8::/32", PROTO_SUMMARY_ACTIVE, 0));
	range = json_object_get(json_object_get(d, "chatham"), "ip_range");
	assert_string_equal(str(range, "lte", NULL), "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
	json_decref(d);

	/* A retired range is not matchable either. */
	d = doc_of(view(PROTO_IND_IPV4, "192.0.2.0/30", PROTO_SUMMARY_WITHDRAWN, 0));
	assert_null(
		json_object_get(json_object_get(json_object_get(d, "threat"), "indicator"), "ip"));
	assert_null(json_object_get(json_object_get(d, "chatham"), "ip_range"));
	json_decref(d);
}

static void same_text(json_t *d)
{
	char *mine, *ref = json_dumps(d, JSON_COMPACT | JSON_ENSURE_ASCII);
	size_t len;

	assert_non_null(ref);
	assert_int_equal(node_exporter_text(d, &mine, &len), 0);
	assert_int_equal(len, strlen(ref));
	assert_memory_equal(mine, ref, len);
	free(mine);
	free(ref);
}

/*
 * node_exporter_text() writes what json_dumps(JSON_COMPACT | JSON_ENSURE_ASCII) writes: for
 * documents of every indicator type and state, with descriptions and tags that need
 * escaping, and for every escape class by itself.
 */
static void test_text_as_jansson(void **state)
{
	static const struct {
		int type;
		const char *value;
	} inds[] = {
		{PROTO_IND_IPV4, "198.51.100.7"},
		{PROTO_IND_IPV4, "198.51.100.0/24"},
		{PROTO_IND_IPV4, "198.18.0.0/15"},
		{PROTO_IND_IPV6, "2001:db8::1"},
		{PROTO_IND_IPV6, "2001:db8::/120"},
		{PROTO_IND_DOMAIN, "bad.example"},
		{PROTO_IND_URL, "https://bad.example/a?b=\"c\"&d=\\e"},
		{PROTO_IND_EMAIL, "x@bad.example"},
		{PROTO_IND_SHA256,
		 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	};
	static const int states[] = {PROTO_SUMMARY_ACTIVE, PROTO_SUMMARY_WITHDRAWN,
				     PROTO_SUMMARY_EXPIRED, PROTO_SUMMARY_OBSERVED};
	static const char desc[] = "tab\there \"quoted\" back\\slash \x01 nl\n caf\xc3\xa9 "
				   "\xe2\x82\xac \xf0\x9f\x98\x80 /slash/ \x7f end";
	static const char *tags[] = {"plain", "caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac"};
	json_t *o;
	char *out;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(inds) / sizeof(inds[0]); i++)
		for (size_t k = 0; k < sizeof(states) / sizeof(states[0]); k++) {
			struct policy_view *v = view(inds[i].type, inds[i].value, states[k],
						     k % 2 ? 0 : 1900000000000ull);

			if (i % 2) {
				v->has_description = true;
				memcpy(v->description, desc, sizeof(desc));
				v->description_len = sizeof(desc) - 1;
				v->n_tags = 3;
				for (size_t t = 0; t < 3; t++)
					strcpy(v->tags[t], tags[t]);
			}
			if (i % 3 == 0) {
				v->warninglist = "list \"one\"";
				v->withheld = k % 2;
			}
			json_t *d = doc_of(v);

			same_text(d);
			json_decref(d);
		}

	o = json_pack("{s:s%, s:[i, i, b, b, n], s:{}, s:[], s:s}", "nul", "a\0b", (size_t)3,
		      "caf\xc3\xa9 key", (json_int_t)-9223372036854775807LL - 1, (json_int_t)42, 1,
		      0, "empty", "none", "ctl", "\x1f\x08\x0c\x0d");
	assert_non_null(o);
	same_text(o);
	json_decref(o);

	o = json_pack("{s:f}", "real", 1.5); /* documents hold none: refused, not guessed */
	assert_non_null(o);
	assert_int_equal(node_exporter_text(o, &out, &len), -EINVAL);
	assert_null(out);
	json_decref(o);
}

/* ------------------------------------------------------------- the export's chunks */

#define T0 1790000000000ull
#define N_IND (3 * STORE_EXPORT_CHUNK + 5) /* three chunks and a partial one */
#define BAD (STORE_EXPORT_CHUNK + 7)	   /* its vote's bytes are another indicator's */

struct xfx {
	char *dir;
	struct store *s;
	struct proto_keys k;
	struct proto_roster *roster;
	struct node_snap *snap;
	uint8_t kind, tlp; /* put_report_by()'s report kind and TLP when not 0 */
};

/*
 * Store report @i on indicator i<n>.example, signed by @k, created at T0 + @salt: its own
 * description and tags, every third naming the roster's member, every seventh RED. With
 * @bytes_of (not NULL), the stored bytes are those of a report on @bytes_of instead: a
 * vote that no longer decodes to its own indicator, which policy_strip_view() refuses.
 */
static void put_report_by(struct xfx *f, const struct proto_keys *k, int i, uint64_t salt,
			  const char *bytes_of)
{
	struct proto_report r, dec;
	struct store_item it;
	char value[32], desc[160], tag[2][32];
	uint8_t *bytes;
	size_t len;

	snprintf(value, sizeof(value), "i%d.example", i);
	snprintf(desc, sizeof(desc), "Report %d (salt %llu) on %s%s", i, (unsigned long long)salt,
		 value, i % 3 == 0 ? ", first seen by CERT Alpha" : "");
	snprintf(tag[0], sizeof(tag[0]), "campaign-%d", i);
	snprintf(tag[1], sizeof(tag[1]), i % 3 == 1 ? "cert alpha" : "phishing");
	memset(&r, 0, sizeof(r));
	memcpy(r.community, f->roster->community, 32);
	r.kind = f->kind ? f->kind : PROTO_KIND_INDICATOR;
	r.tlp = f->tlp ? f->tlp : i % 7 == 6 ? PROTO_TLP_RED : PROTO_TLP_GREEN;
	if (r.tlp >= PROTO_TLP_AMBER) {
		r.n_recipients = 1;
		memset(r.recipients[0], 0x77, 32); /* this node */
	}
	r.confidence = (uint8_t)(i % 101);
	r.created_ms = T0 + salt;
	r.valid_until_ms = r.created_ms + 86400000;
	r.ind_type = PROTO_IND_DOMAIN;
	r.ind_value = (struct proto_str){value, strlen(value)};
	r.description = (struct proto_str){desc, strlen(desc)};
	r.n_tags = 2;
	for (int t = 0; t < 2; t++)
		r.tags[t] = (struct proto_str){tag[t], strlen(tag[t])};
	r.prov = PROTO_PROV_ATTRIBUTED;
	memcpy(r.signer, k->id_pk, 32);
	r.epoch = 1;
	if (bytes_of) {
		struct proto_report o = r;

		o.ind_value = (struct proto_str){bytes_of, strlen(bytes_of)};
		assert_int_equal(proto_report_sign(&o, k->id_sk, &bytes, &len), 0);
	} else {
		assert_int_equal(proto_report_sign(&r, k->id_sk, &bytes, &len), 0);
	}
	memset(&it, 0, sizeof(it));
	it.bytes = bytes;
	it.len = len;
	proto_report_id(bytes, len, it.report_id);
	it.r = &r;
	if (!bytes_of) {
		assert_int_equal(proto_report_decode(&dec, bytes, len), 0);
		it.r = &dec;
	}
	it.env.received_ms = r.created_ms;
	it.env.hops = 1;
	assert_int_equal(store_ingest(f->s, &it, 1, T0 + salt), 0);
	assert_int_equal(it.result, STORE_NEW);
	free(bytes);
}

static void put_report(struct xfx *f, int i, uint64_t salt, const char *bytes_of)
{
	put_report_by(f, &f->k, i, salt, bytes_of);
}

/* A sealed sighting opened on @value by 3 members (store_sealed_opened_put()). */
static void put_opened(struct xfx *f, const char *value)
{
	struct store_sealed_opened o;

	memset(&o, 0, sizeof(o));
	memset(o.group, value[1], 32);
	assert_int_equal(
		proto_indicator_parse(&o.ind, PROTO_IND_DOMAIN, value, strlen(value), NULL), 0);
	o.confidence = 60;
	o.count = 3;
	o.first_bucket = 20700;
	o.last_bucket = 20716;
	o.opened_ms = o.updated_ms = T0 + 5000;
	assert_int_equal(store_sealed_opened_put(f->s, &o, NULL), 0);
}

static int xsetup(void **state)
{
	struct xfx *f = calloc(1, sizeof(*f));
	struct store_config sc = {0};
	struct proto_member m = {0};
	struct policy_config pc;
	const struct proto_roster *ros[1];
	char path[512];

	assert_non_null(f);
	f->dir = tu_tmpdir();
	snprintf(path, sizeof(path), "%s/state", f->dir);
	sc.dir = path;
	sc.map_size_initial = 16 << 20;
	assert_int_equal(store_open(&f->s, &sc), 0);
	assert_int_equal(proto_keys_generate(&f->k), 0);
	f->roster = proto_roster_new();
	assert_non_null(f->roster);
	memset(f->roster->community, 0xc1, 32);
	f->roster->epoch = 1;
	memcpy(m.id, f->k.id_pk, 32);
	memcpy(m.transport_pk, f->k.tx_pk, 32);
	memcpy(m.ring_pk, f->k.ring_pk, 32);
	m.name = "CERT Alpha";
	assert_int_equal(proto_roster_add_member(f->roster, &m), 0);
	policy_config_init(&pc);
	memset(pc.own_id, 0x77, 32); /* another node: its member's name is redacted */
	memcpy(pc.community, f->roster->community, 32);
	assert_int_equal(policy_config_set_community_name(&pc, "Unit"), 0);
	ros[0] = f->roster;
	f->snap = node_snap_new(&pc, ros, 1);
	assert_non_null(f->snap);
	*state = f;
	return 0;
}

static int xteardown(void **state)
{
	struct xfx *f = *state;

	node_snap_unref(f->snap);
	proto_roster_free(f->roster);
	store_close(f->s);
	proto_keys_wipe(&f->k);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

#define HELD_MAX (4 * N_IND + 200)

/* What the export holds: its documents in order. */
struct held {
	uint64_t seq[HELD_MAX];
	char *doc[HELD_MAX];
	size_t len[HELD_MAX];
	size_t n;
};

static int held_cb(void *ctx, uint64_t seq, const uint8_t *doc, size_t len)
{
	struct held *h = ctx;

	assert_true(h->n < HELD_MAX);
	h->seq[h->n] = seq;
	h->doc[h->n] = malloc(len ? len : 1);
	assert_non_null(h->doc[h->n]);
	memcpy(h->doc[h->n], doc, len);
	h->len[h->n++] = len;
	return 0;
}

static void held_free(struct held *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->doc[i]);
	h->n = 0;
}

struct expect_ctx {
	struct xfx *f;
	struct store_read *rd;
	struct policy_view *v;
	struct held *h;
};

/* Each feed entry alone, as node_exporter_feed_document() renders it for the export. */
static int expect_one(void *arg, const struct store_feed_entry *e)
{
	struct expect_ctx *x = arg;
	json_t *j;
	char *text;
	size_t len;

	assert_int_equal(node_exporter_feed_document(x->f->snap, x->f->s, x->rd, e->ind_id, e->seq,
						     e->time_ms, POLICY_PATH_SIEM_EXPORT, x->v, &j),
			 0);
	if (!j)
		return 0;
	assert_int_equal(node_exporter_text(j, &text, &len), 0);
	json_decref(j);
	assert_true(x->h->n < HELD_MAX);
	x->h->seq[x->h->n] = e->seq;
	x->h->doc[x->h->n] = text;
	x->h->len[x->h->n++] = len;
	return 0;
}

#define DESCRIBED "\"description\":\"Report "

/* The export under @x holds exactly the documents of the feed's entries up to @upto. */
static void export_is_entrywise(struct xfx *f, struct store_export *x, uint64_t upto)
{
	struct held got = {0}, want = {0};
	struct expect_ctx ec = {.f = f, .h = &want};
	size_t described = 0;

	ec.v = malloc(sizeof(*ec.v));
	assert_non_null(ec.v);
	assert_int_equal(store_read_begin(f->s, &ec.rd), 0);
	assert_true(store_feed_iter(f->s, ec.rd, 0, (size_t)upto, expect_one, &ec) >= 0);
	store_read_end(ec.rd);
	assert_true(store_export_iter(x, 0, 0, held_cb, &got) >= 0);
	assert_true(want.n > N_IND / 2 || want.n > upto / 2); /* RED, superseded: none */
	assert_int_equal(got.n, want.n);
	for (size_t i = 0; i < got.n; i++) {
		assert_true(got.seq[i] == want.seq[i]);
		assert_int_equal(got.len[i], want.len[i]);
		assert_memory_equal(got.doc[i], want.doc[i], got.len[i]);
		/* the texts left, the member's name did not */
		described += memmem(got.doc[i], got.len[i], DESCRIBED, strlen(DESCRIBED)) != NULL;
		assert_null(memmem(got.doc[i], got.len[i], "Alpha", 5));
		assert_null(memmem(got.doc[i], got.len[i], "alpha", 5));
	}
	assert_true(described > got.n / 2);
	held_free(&got);
	held_free(&want);
	free(ec.v);
}

static struct store_export *open_export(struct xfx *f, const char *name)
{
	struct store_export_config xc = {.community = "Unit"};
	struct store_export *x;
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	xc.dir = path;
	xc.map_size_initial = 16 << 20;
	assert_int_equal(store_export_open(&x, &xc), 0);
	return x;
}

/* Sync @x in batches of @batch until caught up; the entries consumed. */
static int sync_all(struct xfx *f, struct store_export *x, size_t batch)
{
	struct node_exporter_render_ctx rc;
	int n, total = 0;

	assert_int_equal(node_exporter_render_init(&rc, f->snap), 0);
	while ((n = store_export_sync(f->s, x, node_exporter_render, &rc, batch)) > 0)
		total += n;
	node_exporter_render_deinit(&rc);
	assert_int_equal(n, 0);
	return total;
}

/*
 * The chunked export renders each entry as node_exporter_feed_document() does alone, under
 * its own sequence, whatever the batch (chunks of STORE_EXPORT_CHUNK, partial ones at a
 * batch's end and at the feed's): descriptions and tags redacted or not, RED denied,
 * entries superseded by a later one of their indicator, a sealed sighting with a report
 * and one without.
 */
static void test_render_chunks(void **state)
{
	struct xfx *f = *state;
	static const size_t batches[] = {0, 7, STORE_EXPORT_CHUNK, STORE_EXPORT_CHUNK + 1};
	uint64_t last;

	for (int i = 0; i < N_IND; i++) {
		put_report(f, i, (uint64_t)i, NULL);
		if (i == 10 || i == 50) {
			/* Indicators of many votes: the views read before any is stripped are
			 * fewer than a chunk's (GROUP_VOTES in exporter.c). */
			for (int v = 0; v < 70; v++) {
				struct proto_keys k;

				assert_int_equal(proto_keys_generate(&k), 0);
				put_report_by(f, &k, i + v % 2, 200000 + (uint64_t)v, NULL);
				proto_keys_wipe(&k);
			}
		}
	}
	for (int i = 0; i < N_IND; i += 5) /* superseded: a later vote, a new entry */
		put_report(f, i, 100000 + (uint64_t)i, NULL);
	/*
	 * Views that differ in each field a slot carries (exporter.c's slot_put()/slot_get()):
	 * other members' sightings and false positives, TLP CLEAR, AMBER and AMBER+STRICT, a
	 * withdrawn report. A field a slot dropped or kept from the entry before would make
	 * some document differ from its entry's alone.
	 */
	for (int i = 1; i < N_IND; i += 3) {
		static const uint8_t kinds[] = {PROTO_KIND_SIGHTING, PROTO_KIND_FALSE_POSITIVE,
						PROTO_KIND_INDICATOR};
		static const uint8_t tlps[] = {PROTO_TLP_CLEAR, PROTO_TLP_AMBER,
					       PROTO_TLP_AMBER_STRICT};
		struct proto_keys k;

		assert_int_equal(proto_keys_generate(&k), 0);
		f->kind = kinds[i % 3];
		f->tlp = tlps[(i / 3) % 3];
		put_report_by(f, &k, i, 300000 + (uint64_t)i, NULL);
		proto_keys_wipe(&k);
	}
	f->kind = PROTO_KIND_REVOKE;
	f->tlp = 0;
	for (int i = 2; i < N_IND; i += 9)
		put_report(f, i, 400000 + (uint64_t)i, NULL);
	f->kind = 0;
	put_opened(f, "i4.example");
	put_opened(f, "sealed-only.example");
	struct store_read *rd;

	assert_int_equal(store_read_begin(f->s, &rd), 0);
	assert_int_equal(store_feed_last(f->s, rd, &last), 0);
	store_read_end(rd);
	for (size_t b = 0; b < sizeof(batches) / sizeof(batches[0]); b++) {
		char name[32];
		struct store_export *x;

		snprintf(name, sizeof(name), "export%zu", b);
		x = open_export(f, name);
		assert_int_equal(sync_all(f, x, batches[b]), (int)last);
		export_is_entrywise(f, x, last);
		store_export_close(x);
	}
}

/*
 * An entry whose view fails in the middle of a chunk fails its sync: nothing of its batch
 * is written, the batches before it are; once a later vote replaces the bad one, the next
 * sync renders every entry, none lost.
 */
static void test_render_error_mid_chunk(void **state)
{
	struct xfx *f = *state;
	struct node_exporter_render_ctx rc;
	struct store_export *x = open_export(f, "export");
	struct held got = {0};
	const int good = BAD / 10 * 10; /* the entries before the batch of 10 holding BAD + 1 */
	uint64_t last;
	int n;

	for (int i = 0; i < N_IND; i++)
		put_report(f, i, (uint64_t)i, i == BAD ? "elsewhere.example" : NULL);
	assert_int_equal(node_exporter_render_init(&rc, f->snap), 0);
	/* Batches of 10: those before entry BAD + 1 commit; the next holds it. */
	for (int k = 0; k < good / 10; k++)
		assert_int_equal(store_export_sync(f->s, x, node_exporter_render, &rc, 10), 10);
	n = store_export_sync(f->s, x, node_exporter_render, &rc, 10);
	assert_true(n < 0);
	assert_int_equal(store_export_last_seq(x, &last), 0);
	assert_true(last == (uint64_t)good);
	export_is_entrywise(f, x, good);
	/* One batch for the rest: the error is in the middle of its first chunk; nothing is
	 * written. */
	n = store_export_sync(f->s, x, node_exporter_render, &rc, 0);
	assert_true(n < 0);
	assert_int_equal(store_export_last_seq(x, &last), 0);
	assert_true(last == (uint64_t)good);
	node_exporter_render_deinit(&rc);
	/* The member reports again: its bad vote is replaced, and everything renders. */
	put_report(f, BAD, 100000, NULL);
	assert_int_equal(sync_all(f, x, 0), N_IND + 1 - good);
	export_is_entrywise(f, x, N_IND + 1);
	assert_true(store_export_iter(x, 0, 0, held_cb, &got) >= 0);
	for (size_t i = 0; i < got.n; i++)
		assert_true(got.seq[i] != BAD + 1); /* superseded by the new vote's entry */
	assert_true(got.seq[got.n - 1] == N_IND + 1);
	held_free(&got);
	store_export_close(x);
}

/*
 * A read error on an entry (its sealed opening's record does not decode) fails the sync, in
 * the entrywise path and the chunked one alike: the entry is never marked exported without
 * the document it should have, and the next sync meets the same error rather than going on.
 */
static void test_render_read_error(void **state)
{
	struct xfx *f = *state;
	struct node_exporter_render_ctx rc;
	struct store_export *x = open_export(f, "export");
	struct store_read *rd;
	struct policy_view *v = malloc(sizeof(*v));
	uint8_t id[32];
	uint64_t last = 1;
	json_t *doc = NULL;

	assert_non_null(v);
	for (int i = 0; i < 5; i++)
		put_report(f, i, (uint64_t)i, NULL);
	proto_indicator_id_raw(PROTO_IND_DOMAIN, "i2.example", strlen("i2.example"), id);
	assert_int_equal(store_debug_put(f->s, "sealed_open", id, 32, "x", 1), 0);
	assert_int_equal(store_read_begin(f->s, &rd), 0);
	assert_int_equal(node_exporter_feed_document(f->snap, f->s, rd, id, 0, 0,
						     POLICY_PATH_SIEM_EXPORT, v, &doc),
			 STORE_E_CORRUPT);
	assert_null(doc);
	store_read_end(rd);
	assert_int_equal(node_exporter_render_init(&rc, f->snap), 0);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(store_export_sync(f->s, x, node_exporter_render, &rc, 0),
				 STORE_E_CORRUPT);
		assert_int_equal(store_export_last_seq(x, &last), 0);
		assert_true(last == 0);
	}
	node_exporter_render_deinit(&rc);
	store_export_close(x);
	free(v);
}

/* Main feed entries, copied by store_feed_iter()'s callback. */
struct feed_copy {
	struct store_feed_entry e[STORE_EXPORT_CHUNK];
	size_t n;
};

static int feed_copy_one(void *arg, const struct store_feed_entry *e)
{
	struct feed_copy *c = arg;

	assert_true(c->n < STORE_EXPORT_CHUNK);
	c->e[c->n++] = *e;
	return 0;
}

static void docs_free(uint8_t **docs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(docs[i]);
		docs[i] = NULL;
	}
}

/*
 * node_exporter_render_docs() renders only the views the last node_exporter_render_views()
 * call on the context made, once: it refuses (-EINVAL) on a fresh context, after a full
 * render, after a failed call (whose slots past the failure hold the chunk before's views),
 * for another @n or another array of entries, and after any call, refused or not; each
 * refusal sets no document. Between them the two stages render what node_exporter_render()
 * renders.
 */
static void test_render_docs_contract(void **state)
{
	struct xfx *f = *state;
	struct node_exporter_render_ctx rc;
	struct feed_copy c = {0}, bad = {0};
	struct store_feed_entry other[STORE_EXPORT_CHUNK];
	struct store_read *rd;
	uint8_t *docs[STORE_EXPORT_CHUNK] = {0}, *want[STORE_EXPORT_CHUNK] = {0};
	size_t lens[STORE_EXPORT_CHUNK], want_lens[STORE_EXPORT_CHUNK], set = 0;
	const size_t n = 12, at = 5; /* the chunk, and the entry that fails in the second */

	for (int i = 0; i < (int)n; i++)
		put_report(f, i, (uint64_t)i, NULL);
	/* A second chunk: n entries of new indicators, the at-th of a vote that fails. */
	for (int i = 0; i < (int)n; i++)
		put_report(f, (int)n + i, (uint64_t)(n + i),
			   i == (int)at ? "elsewhere.example" : NULL);
	assert_int_equal(store_read_begin(f->s, &rd), 0);
	assert_true(store_feed_iter(f->s, rd, 0, n, feed_copy_one, &c) >= 0);
	assert_int_equal(c.n, n);
	assert_true(store_feed_iter(f->s, rd, n, n, feed_copy_one, &bad) >= 0);
	assert_int_equal(bad.n, n);
	memcpy(other, c.e, sizeof(other));
	assert_int_equal(node_exporter_render_init(&rc, f->snap), 0);
	/* a fresh context has no views */
	assert_int_equal(node_exporter_render_docs(&rc, c.e, n, docs, lens), -EINVAL);
	/* the reference: both stages in one call */
	assert_int_equal(node_exporter_render(&rc, f->s, rd, c.e, n, want, want_lens), 0);
	for (size_t i = 0; i < n; i++)
		set += want[i] != NULL;
	assert_true(set > n / 2); /* RED and superseded entries have none */

	/* no views since the last render: refused */
	assert_int_equal(node_exporter_render_docs(&rc, c.e, n, docs, lens), -EINVAL);
	/* views of n entries: not of n - 1, nor of a copy of them; a refusal uses them up */
	assert_int_equal(node_exporter_render_views(&rc, f->s, rd, c.e, n), 0);
	assert_int_equal(node_exporter_render_docs(&rc, c.e, n - 1, docs, lens), -EINVAL);
	assert_int_equal(node_exporter_render_docs(&rc, c.e, n, docs, lens), -EINVAL);
	assert_int_equal(node_exporter_render_views(&rc, f->s, rd, c.e, n), 0);
	assert_int_equal(node_exporter_render_docs(&rc, other, n, docs, lens), -EINVAL);
	for (size_t i = 0; i < n; i++)
		assert_null(docs[i]);
	/* the same entries and n: the documents node_exporter_render() made, once */
	assert_int_equal(node_exporter_render_views(&rc, f->s, rd, c.e, n), 0);
	assert_int_equal(node_exporter_render_docs(&rc, c.e, n, docs, lens), 0);
	for (size_t i = 0; i < n; i++) {
		assert_true((docs[i] == NULL) == (want[i] == NULL));
		if (docs[i]) {
			assert_int_equal(lens[i], want_lens[i]);
			assert_memory_equal(docs[i], want[i], lens[i]);
		}
	}
	docs_free(docs, n);
	assert_int_equal(node_exporter_render_docs(&rc, c.e, n, docs, lens), -EINVAL);
	/*
	 * A failed call on the array a successful one was given: its slots from the failure
	 * on still hold that call's views.
	 */
	assert_int_equal(node_exporter_render_views(&rc, f->s, rd, other, n), 0);
	memcpy(other, bad.e, sizeof(other));
	assert_true(node_exporter_render_views(&rc, f->s, rd, other, n) < 0);
	assert_int_equal(node_exporter_render_docs(&rc, other, n, docs, lens), -EINVAL);
	for (size_t i = 0; i < n; i++)
		assert_null(docs[i]);
	store_read_end(rd);
	node_exporter_render_deinit(&rc);
	docs_free(want, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_active),
		cmocka_unit_test(test_retired),
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_text_as_jansson),
		cmocka_unit_test_setup_teardown(test_render_chunks, xsetup, xteardown),
		cmocka_unit_test_setup_teardown(test_render_error_mid_chunk, xsetup, xteardown),
		cmocka_unit_test_setup_teardown(test_render_read_error, xsetup, xteardown),
		cmocka_unit_test_setup_teardown(test_render_docs_contract, xsetup, xteardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
