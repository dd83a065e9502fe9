/* SPDX-License-Identifier: MIT */
/*
 * Export writer. store_export_sync() drives the derivation and its crash safety (the export
 * key is the main feed sequence, so a sync after a crash renders exactly what is missing);
 * this module supplies the render callback and runs syncs off the loop thread. The render
 * path reads the indicator's summary and live votes from the main store, hands them to
 * policy for the Chatham House view, and formats that view; it never sees anything policy
 * did not put in the view.
 */
#include "node/daemon/exporter.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "node/common/log.h"
#include "node/common/prio.h"
#include "node/common/workq.h"
#include "node/daemon/rerender.h"
#include "node/format/export_fmt.h"
#include "node/format/request.h"
#include "policy/egress.h"
#include "policy/warnlist.h"
#include "proto/crypto.h"
#include "proto/error.h"
#include "store/sealed.h"

#define SYNC_ROUNDS 16 /* batches per pool job; then yield so shutdown is not held up */
#define VOTES_MAX 4096 /* votes read per indicator (a roster has at most 4096 members) */

struct node_exporter {
	uv_loop_t *loop;
	struct store *store;
	struct store_export *x;
	bool running, again;
	struct node_snap *again_snap;
	uint64_t last_seq;
	uint64_t errors;
	bool failed; /* the last sync ended in an error: node_exporter_retry() retries it */
	struct node_exporter_rerender rr;
};

struct sync_job {
	uv_work_t work;
	struct node_exporter *e;
	struct node_snap *snap;
	int err;
	bool more; /* stopped after SYNC_ROUNDS with entries left */
	uint64_t last_seq;
	struct node_rerender_stats rr;
};

/*
 * Copies of the signed vote reports of one indicator, or of several one after another (a
 * chunk's, node_exporter_render()), decoded. Grows as needed.
 */
struct node_exporter_votes {
	size_t n, cap;
	size_t base; /* where the indicator being collected starts: VOTES_MAX counts from it */
	size_t undecodable; /* stored reports this version's decoder refuses (skipped) */
	uint8_t **bytes;
	struct proto_report *r;
	const struct proto_report **ptr;
};

static int votes_grow(struct node_exporter_votes *v)
{
	size_t cap = v->cap ? 2 * v->cap : 8;
	uint8_t **b = realloc(v->bytes, cap * sizeof(*b));

	if (!b)
		return -ENOMEM;
	v->bytes = b;
	struct proto_report *r = realloc(v->r, cap * sizeof(*r));
	if (!r)
		return -ENOMEM;
	v->r = r;
	const struct proto_report **p = realloc(v->ptr, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	v->ptr = p;
	v->cap = cap;
	/* r moved: the pointer array is rebuilt after collection. */
	return 0;
}

static int collect_vote(void *ctx, const struct store_report_info *info, const uint8_t *bytes,
			size_t len)
{
	struct node_exporter_votes *v = ctx;
	uint8_t *copy;

	(void)info;
	if (v->n - v->base == VOTES_MAX)
		return 1;
	if (v->n == v->cap && votes_grow(v))
		return -ENOMEM;
	copy = malloc(len);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, bytes, len);
	if (proto_report_decode(&v->r[v->n], copy, len)) {
		/*
		 * It decoded at ingest, under the rules of the version that stored it; a later
		 * version may refuse it (a time past year 9999, a URL that is no longer
		 * canonical). One such report must not stop the export or a query of its
		 * indicator: it no longer votes, and it is counted and logged.
		 */
		free(copy);
		v->undecodable++;
		return 0;
	}
	v->bytes[v->n++] = copy;
	return 0;
}

/* Drop the votes held (the arrays stay for the next indicators). */
static void votes_clear(struct node_exporter_votes *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->bytes[i]);
	v->n = v->base = v->undecodable = 0;
}

static void votes_free(struct node_exporter_votes *v)
{
	votes_clear(v);
	free(v->bytes);
	free(v->r);
	free(v->ptr);
}

/*
 * The read step of a view: *@sum and the indicator's votes appended to @votes. 1, or 0
 * when the indicator is unknown or the policy denies it, or a negative error.
 */
static int view_read(const struct node_snap *snap, struct store *s, struct store_read *rd,
		     const uint8_t ind_id[32], int path, struct proto_summary *sum,
		     struct node_exporter_votes *votes)
{
	int r = store_summary_get(s, rd, ind_id, sum);

	if (r == STORE_E_NOT_FOUND)
		return 0;
	if (r)
		return r;
	if (policy_egress_check_summary(&snap->pcfg, path, sum) == POLICY_EGRESS_DENY)
		return 0;
	votes->base = votes->n;
	r = store_votes_iter(s, rd, ind_id, collect_vote, votes);
	return r < 0 ? r : 1;
}

/*
 * The @n votes of @votes from @first as pointers (votes->ptr). True, with this node's
 * linkability tag on the indicator in @tag, when an anonymous vote is among them: the tag
 * lets reported_by_us cover this node's anonymous reports. It never leaves the node, is
 * computed only when an anonymous vote is there to match, and the caller wipes it.
 */
static bool view_votes(const struct node_snap *snap, const uint8_t ind_id[32],
		       struct node_exporter_votes *votes, size_t first, size_t n, uint8_t tag[32])
{
	bool anon = false;

	for (size_t i = first; i < first + n; i++) {
		votes->ptr[i] = &votes->r[i];
		anon |= votes->r[i].prov == PROTO_PROV_ANONYMOUS;
	}
	return anon && !node_snap_own_tag(snap, ind_id, tag);
}

/* The strip step of a view: @v from *@sum and the @n votes of @votes from @first. */
static int view_strip(const struct node_snap *snap, const uint8_t ind_id[32],
		      const struct proto_summary *sum, struct node_exporter_votes *votes,
		      size_t first, size_t n, struct policy_view *v)
{
	uint8_t tag[32];
	bool own = view_votes(snap, ind_id, votes, first, n, tag);
	int r;

	r = policy_strip_view(v, &snap->pcfg, snap->redactor, sum, votes->ptr + first, n,
			      own ? tag : NULL);
	proto_wipe(tag, sizeof(tag));
	return r;
}

static void log_undecodable(const uint8_t ind_id[32], size_t n)
{
	char hex[65];

	if (!n)
		return;
	log_warning("indicator %s: %zu stored report%s no longer decode%s and do%s not count "
		    "(stored by an older version?)",
		    proto_hex_encode(hex, ind_id, 32), n, n == 1 ? "" : "s", n == 1 ? "s" : "",
		    n == 1 ? "es" : "");
}

int node_exporter_view(const struct node_snap *snap, struct store *s, struct store_read *rd,
		       const uint8_t ind_id[32], int path, struct policy_view *v,
		       struct proto_summary *sum)
{
	struct node_exporter_votes votes = {0};
	int r;

	r = view_read(snap, s, rd, ind_id, path, sum, &votes);
	if (r == 1) {
		int k = view_strip(snap, ind_id, sum, &votes, 0, votes.n, v);

		if (k < 0)
			r = k;
	}
	log_undecodable(ind_id, votes.undecodable);
	votes_free(&votes);
	return r;
}

static const char *ecs_type(int type)
{
	switch (type) {
	case PROTO_IND_IPV4:
		return "ipv4-addr";
	case PROTO_IND_IPV6:
		return "ipv6-addr";
	case PROTO_IND_DOMAIN:
		return "domain-name";
	case PROTO_IND_URL:
		return "url";
	case PROTO_IND_EMAIL:
		return "email-addr";
	default:
		return "file";
	}
}

/* ECS threat.indicator.confidence is a word; the number stays in chatham.confidence. */
static const char *ecs_confidence(unsigned c)
{
	if (c == 0)
		return "None";
	if (c < 34)
		return "Low";
	if (c < 67)
		return "Medium";
	return "High";
}

/*
 * A CIDR range's first and last address as text, and whether it holds at most
 * CIDR_EXPAND_MAX addresses. Returns 0, or -EINVAL for a value that is not a range.
 */
#define CIDR_EXPAND_MAX 256

static int cidr_bounds(const char *v, int family, char *lo, char *hi, size_t len, bool *small)
{
	uint8_t a[16], b[16];
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(v, '/');
	size_t n = family == AF_INET ? 4 : 16;
	unsigned long bits;
	char *end;

	if (!slash || (size_t)(slash - v) >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, v, (size_t)(slash - v));
	addr[slash - v] = '\0';
	bits = strtoul(slash + 1, &end, 10);
	if (*end || bits > n * 8 || inet_pton(family, addr, a) != 1)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned keep = bits >= 8 * (i + 1) ? 8
				: bits > 8 * i	    ? (unsigned)(bits - 8 * i)
						    : 0;
		uint8_t mask = (uint8_t)(0xff00u >> keep);
		a[i] &= mask;
		b[i] = (uint8_t)(a[i] | (uint8_t)~mask);
	}
	*small = n * 8 - bits <= 8; /* at most 2^8 = CIDR_EXPAND_MAX addresses */
	if (!inet_ntop(family, a, lo, (socklen_t)len) || !inet_ntop(family, b, hi, (socklen_t)len))
		return -EINVAL;
	return 0;
}

/*
 * The ECS fields that carry the indicator's value, added to @ind (threat.indicator) and @ch
 * (chatham). A CIDR range has no single ECS value: a range of at most 256 addresses is
 * expanded into threat.indicator.ip as an array (an indicator-match rule matches any of
 * them), and every range also gets chatham.ip_range {gte, lte}, which an index template
 * maps as ip_range so a range query or an ES|QL/enrich match finds the addresses inside.
 */
static int set_value_field(json_t *ind, json_t *ch, const struct proto_indicator *pi)
{
	const char *v = pi->value;

	switch (pi->type) {
	case PROTO_IND_IPV4:
	case PROTO_IND_IPV6: {
		int fam = pi->type == PROTO_IND_IPV4 ? AF_INET : AF_INET6;
		char lo[INET6_ADDRSTRLEN], hi[INET6_ADDRSTRLEN];
		bool small;
		json_t *arr;
		uint8_t a[16];

		if (!strchr(v, '/'))
			return json_object_set_new(ind, "ip", json_string(v));
		if (cidr_bounds(v, fam, lo, hi, sizeof(lo), &small))
			return 0; /* not a range we can read: chatham.value only */
		if (json_object_set_new(ch, "ip_range",
					json_pack("{s:s, s:s}", "gte", lo, "lte", hi)))
			return -1;
		if (!small)
			return 0;
		arr = json_array();
		if (!arr || inet_pton(fam, lo, a) != 1)
			return -1;
		for (unsigned k = 0; k < CIDR_EXPAND_MAX; k++) {
			char one[INET6_ADDRSTRLEN];
			if (!inet_ntop(fam, a, one, sizeof(one)) ||
			    json_array_append_new(arr, json_string(one))) {
				json_decref(arr);
				return -1;
			}
			if (!strcmp(one, hi))
				break;
			for (int i = fam == AF_INET ? 3 : 15; i >= 0 && ++a[i] == 0; i--)
				;
		}
		return json_object_set_new(ind, "ip", arr);
	}
	case PROTO_IND_DOMAIN:
		return json_object_set_new(ind, "url", json_pack("{s:s}", "domain", v));
	case PROTO_IND_URL:
		return json_object_set_new(ind, "url",
					   json_pack("{s:s, s:s}", "full", v, "original", v));
	case PROTO_IND_EMAIL:
		return json_object_set_new(ind, "email", json_pack("{s:s}", "address", v));
	case PROTO_IND_MD5:
	case PROTO_IND_SHA1:
	case PROTO_IND_SHA256:
	case PROTO_IND_SHA512:
		return json_object_set_new(
			ind, "file",
			json_pack("{s:{s:s}}", "hash", proto_indicator_type_name(pi->type), v));
	default:
		return -1;
	}
}

json_t *node_exporter_document(const struct policy_view *v, const uint8_t ind_id[32], uint64_t seq,
			       uint64_t time_ms)
{
	char ts[40], first[40], last[40], until[40], end[40], hex[65],
		feed[PROTO_ROSTER_NAME_MAX + 16];
	json_t *doc = NULL, *ind = NULL, *ch = NULL, *tags = NULL, *ev = NULL;
	const char *tlp = proto_tlp_name(v->tlp);
	const bool live = v->state == PROTO_SUMMARY_ACTIVE;
	uint64_t end_ms;

	if (!tlp)
		return NULL; /* never an unmarked document */
	node_req_time_format(time_ms, ts, sizeof(ts));
	node_req_time_format(v->first_seen_ms, first, sizeof(first));
	node_req_time_format(v->last_seen_ms, last, sizeof(last));
	snprintf(feed, sizeof(feed), "chatham %s", v->community);

	ind = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:s, s:I}", "type",
			ecs_type(v->ind.type), "first_seen", first, "last_seen", last, "modified",
			ts, "confidence", ecs_confidence(v->confidence), "marking", "tlp", tlp,
			"tlp_version", "2.0", "provider", v->community, "sightings",
			(json_int_t)v->n_sightings);
	if (!ind)
		goto fail;
	if (v->has_description &&
	    json_object_set_new(ind, "description",
				json_stringn(v->description, v->description_len)))
		goto fail;

	tags = json_array();
	for (size_t i = 0; tags && i < v->n_tags; i++)
		if (json_array_append_new(tags, json_string(v->tags[i])))
			goto fail;
	ch = json_pack("{s:I, s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:I, s:b, s:O}", "seq",
		       (json_int_t)seq, "indicator_id", proto_hex_encode(hex, ind_id, 32), "type",
		       proto_indicator_type_name(v->ind.type), "value", v->ind.value, "state",
		       node_export_state_name(v->state), "confidence", (int)v->confidence,
		       "members", (json_int_t)v->n_members, "sightings", (json_int_t)v->n_sightings,
		       "false_positives", (json_int_t)v->n_false_positive, "reported_by_us",
		       (int)v->reported_by_us, "tags", tags);
	if (!ch)
		goto fail;
	/*
	 * Only an active indicator is matchable: a retired one (withdrawn, expired, or only
	 * ever observed or flagged false-positive) carries no threat.indicator value field,
	 * so indicator-match rules cannot hit it, and its event.type is "deletion", not
	 * "indicator". Its expiry (event.end) is when it stopped being valid.
	 */
	/* A withheld (warninglisted) value gets no ECS value field either (chatham.value names it). */
	if (live && !v->withheld && set_value_field(ind, ch, &v->ind))
		goto fail;
	if (v->valid_until_ms &&
	    json_object_set_new(
		    ch, "valid_until",
		    json_string(node_req_time_format(v->valid_until_ms, until, sizeof(until)))))
		goto fail;
	if (v->has_description &&
	    json_object_set_new(ch, "description",
				json_stringn(v->description, v->description_len)))
		goto fail;
	if (v->warninglist &&
	    (json_object_set_new(ch, "warninglist", json_string(v->warninglist)) ||
	     json_object_set_new(ch, "withheld", json_boolean(v->withheld))))
		goto fail;

	ev = json_pack("{s:s, s:[s], s:[s]}", "kind", "enrichment", "category", "threat", "type",
		       live ? "indicator" : "deletion");
	if (!ev)
		goto fail;
	end_ms = live ? v->valid_until_ms
		      : (v->state == PROTO_SUMMARY_EXPIRED && v->valid_until_ms ? v->valid_until_ms
										: time_ms);
	if (end_ms &&
	    json_object_set_new(ev, "end",
				json_string(node_req_time_format(end_ms, end, sizeof(end)))))
		goto fail;
	/*
	 * The same expiry the way Elastic's threat-intel integrations carry it
	 * (<dataset>.ioc_expiration_date and .ioc_expiration_reason, which their latest-IOC
	 * transforms drop indicators by): chatham.ioc_expiration_date and why.
	 */
	if (end_ms && (json_object_set_new(ch, "ioc_expiration_date", json_string(end)) ||
		       json_object_set_new(ch, "ioc_expiration_reason",
					   json_string(live ? "valid_until"
							    : node_export_state_name(v->state)))))
		goto fail;

	doc = json_pack("{s:s, s:{s:s}, s:O, s:{s:O, s:{s:s}}, s:O}", "@timestamp", ts, "ecs",
			"version", "8.11.0", "event", ev, "threat", "indicator", ind, "feed",
			"name", feed, "chatham", ch);
fail:
	json_decref(ind);
	json_decref(ch);
	json_decref(tags);
	json_decref(ev);
	return doc;
}

/*
 * The export view of an opened sealed sighting with no report behind it (docs/SEALED.md):
 * TLP GREEN (the community learned it together), active, its members counted as members
 * and as sightings, first and last seen from its days; no tags, no description, nobody's
 * name. Warninglists apply as to any indicator.
 */
static void sealed_view(const struct node_snap *snap, const struct store_sealed_opened *o,
			struct policy_view *v)
{
	memset(v, 0, sizeof(*v));
	v->ind = o->ind;
	v->tlp = PROTO_TLP_GREEN;
	v->state = PROTO_SUMMARY_ACTIVE;
	v->confidence = o->confidence;
	v->first_seen_ms = (uint64_t)o->first_bucket * 86400000;
	v->last_seen_ms = (uint64_t)o->last_bucket * 86400000;
	v->n_members = o->count;
	v->n_sightings = o->count;
	snprintf(v->community, sizeof(v->community), "%s", snap->pcfg.community_name);
	v->warninglist = policy_warnlist_match(snap->pcfg.warnlist, &v->ind);
	v->withheld = v->warninglist && !snap->pcfg.export_warninglisted;
}

/* chatham.sealed of an opening of @count members over days @first..@last (day numbers). */
static int add_sealed(json_t *doc, uint32_t count, uint32_t first_bucket, uint32_t last_bucket,
		      uint8_t confidence)
{
	char first[16], last[16];
	time_t t;
	struct tm tm;

	t = (time_t)first_bucket * 86400;
	gmtime_r(&t, &tm);
	strftime(first, sizeof(first), "%Y-%m-%d", &tm);
	t = (time_t)last_bucket * 86400;
	gmtime_r(&t, &tm);
	strftime(last, sizeof(last), "%Y-%m-%d", &tm);
	return json_object_set_new(json_object_get(doc, "chatham"), "sealed",
				   json_pack("{s:i, s:s, s:s, s:i}", "members", (int)count,
					     "first_day", first, "last_day", last, "confidence",
					     confidence));
}

int node_exporter_add_sealed(json_t *doc, const struct store_sealed_opened *o)
{
	return add_sealed(doc, o->count, o->first_bucket, o->last_bucket, o->confidence);
}

/*
 * The sealed opening of @ind_id into @o: 1 when the value is opened, 0 when not, or a
 * negative error. A read error fails the render (the sync writes nothing and retries), so
 * an entry is never marked exported without the document or chatham.sealed it should have.
 */
static int opened_get(struct store *s, struct store_read *rd, const uint8_t ind_id[32],
		      struct store_sealed_opened *o)
{
	int r = store_sealed_opened_get(s, rd, ind_id, o);

	return r == 0 ? 1 : r == STORE_E_NOT_FOUND ? 0 : r;
}

/*
 * After a view step that made no view: 1 when @ind_id has no summary (a sealed sighting
 * alone, rendered from its opening), 0 when it has one (its policy denies: nothing, fail
 * closed), or a negative read error (the render fails rather than skip the entry).
 */
static int no_summary(struct store *s, struct store_read *rd, const uint8_t ind_id[32],
		      struct proto_summary *sum)
{
	int r = store_summary_get(s, rd, ind_id, sum);

	return r == STORE_E_NOT_FOUND ? 1 : r;
}

/*
 * The view step of node_exporter_feed_document(): 1 when the entry has a document, with
 * @v filled, *@seq and *@time_ms the document's, *@opened and @o the sealed opening of the
 * value; 0 when it has none; or a negative error.
 */
static int feed_view(const struct node_snap *snap, struct store *s, struct store_read *rd,
		     const uint8_t ind_id[32], uint64_t *seq, uint64_t *time_ms, int path,
		     struct policy_view *v, struct store_sealed_opened *o, bool *opened)
{
	struct proto_summary sum;
	int r;

	if ((r = opened_get(s, rd, ind_id, o)) < 0)
		return r;
	*opened = r;
	r = node_exporter_view(snap, s, rd, ind_id, path, v, &sum);
	if (r < 0)
		return r;
	if (r == 0) {
		/* No summary: a sealed sighting alone; a summary policy denies: nothing (fail closed). */
		if (!*opened || (r = no_summary(s, rd, ind_id, &sum)) <= 0)
			return r;
		sealed_view(snap, o, v);
		sum.feed_seq = 0;
		sum.last_seen_ms = o->updated_ms;
	}
	if (*seq == 0) {
		/* The current state, under the indicator's latest feed entry. */
		*seq = *opened && o->feed_seq > sum.feed_seq ? o->feed_seq : sum.feed_seq;
		*time_ms = sum.last_seen_ms;
	} else if (sum.feed_seq > *seq || (*opened && o->feed_seq > *seq)) {
		return 0; /* a later entry of the same indicator renders its current state */
	}
	return 1;
}

int node_exporter_feed_document(const struct node_snap *snap, struct store *s,
				struct store_read *rd, const uint8_t ind_id[32], uint64_t seq,
				uint64_t time_ms, int path, struct policy_view *v, json_t **doc)
{
	struct store_sealed_opened o;
	bool opened;
	int r;

	*doc = NULL;
	r = feed_view(snap, s, rd, ind_id, &seq, &time_ms, path, v, &o, &opened);
	if (r <= 0)
		return r;
	*doc = node_exporter_document(v, ind_id, seq, time_ms);
	if (!*doc)
		return -ENOMEM;
	if (opened && node_exporter_add_sealed(*doc, &o)) {
		json_decref(*doc);
		*doc = NULL;
		return -ENOMEM;
	}
	return 0;
}

/*
 * The document's text, written here rather than by json_dumps(): with JSON_ENSURE_ASCII
 * jansson decodes every byte through its UTF-8 iterator and grows its buffer from 16 bytes
 * by doubling, and that was 8 % of the daemons' CPU in a burst, where every node writes a
 * document per report (perf, issue 17). The bytes are the same as json_dumps() with
 * JSON_COMPACT | JSON_ENSURE_ASCII (keys in insertion order, \uXXXX in upper case,
 * surrogate pairs above the BMP); test_node_exporter compares the two.
 */
/* The growable text of node_exporter_text(). */
struct text {
	char *p;
	size_t n, cap;
	int err;
};

static void put(struct text *t, const char *s, size_t n)
{
	if (t->err)
		return;
	if (t->n + n > t->cap) {
		size_t cap = t->cap ? t->cap : 1024;
		char *p;

		while (cap < t->n + n)
			cap *= 2;
		if (!(p = realloc(t->p, cap))) {
			t->err = -ENOMEM;
			return;
		}
		t->p = p;
		t->cap = cap;
	}
	memcpy(t->p + t->n, s, n);
	t->n += n;
}

/* One UTF-8 sequence at @s (@len bytes left): its length and *@cp, or 0 if invalid. */
static size_t utf8_one(const unsigned char *s, size_t len, uint32_t *cp)
{
	size_t n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
	uint32_t v;

	if (!n || n > len || s[0] > 0xf4)
		return 0;
	v = s[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if ((n == 2 && v < 0x80) || (n == 3 && v < 0x800) || (n == 4 && v < 0x10000) ||
	    v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

/* A JSON string the way jansson writes it with JSON_ENSURE_ASCII. */
static void put_string(struct text *t, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t run = 0;

	put(t, "\"", 1);
	for (size_t i = 0; i < len;) {
		char esc[16];
		const char *e = esc;
		size_t k = 1;
		uint32_t cp = s[i];

		if (cp >= 0x20 && cp < 0x80 && cp != '"' && cp != '\\') {
			i++;
			run++;
			continue;
		}
		put(t, (const char *)s + i - run, run);
		run = 0;
		if (cp >= 0x80 && !(k = utf8_one(s + i, len - i, &cp))) {
			t->err = -EINVAL;
			return;
		}
		switch (cp) {
		case '"':
			e = "\\\"";
			break;
		case '\\':
			e = "\\\\";
			break;
		case '\b':
			e = "\\b";
			break;
		case '\f':
			e = "\\f";
			break;
		case '\n':
			e = "\\n";
			break;
		case '\r':
			e = "\\r";
			break;
		case '\t':
			e = "\\t";
			break;
		default:
			if (cp < 0x10000)
				snprintf(esc, sizeof(esc), "\\u%04X", (unsigned)cp);
			else
				snprintf(esc, sizeof(esc), "\\u%04X\\u%04X",
					 (unsigned)(0xd800 | ((cp - 0x10000) >> 10)),
					 (unsigned)(0xdc00 | ((cp - 0x10000) & 0x3ff)));
		}
		put(t, e, strlen(e));
		i += k;
	}
	put(t, (const char *)s + len - run, run);
	put(t, "\"", 1);
}

static void put_value(struct text *t, const json_t *j)
{
	char num[32];
	size_t i = 0;
	const char *key;
	json_t *v;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		put(t, "{", 1);
		json_object_foreach((json_t *)j, key, v)
		{
			if (i++)
				put(t, ",", 1);
			put_string(t, key, strlen(key));
			put(t, ":", 1);
			put_value(t, v);
		}
		put(t, "}", 1);
		break;
	case JSON_ARRAY:
		put(t, "[", 1);
		json_array_foreach(j, i, v)
		{
			if (i)
				put(t, ",", 1);
			put_value(t, v);
		}
		put(t, "]", 1);
		break;
	case JSON_STRING:
		put_string(t, json_string_value(j), json_string_length(j));
		break;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(j));
		put(t, num, strlen(num));
		break;
	case JSON_TRUE:
		put(t, "true", 4);
		break;
	case JSON_FALSE:
		put(t, "false", 5);
		break;
	case JSON_NULL:
		put(t, "null", 4);
		break;
	default:
		t->err = -EINVAL; /* no reals in a document */
	}
}

int node_exporter_text(const json_t *doc, char **out, size_t *len)
{
	struct text t = {0};

	*out = NULL;
	*len = 0;
	put_value(&t, doc);
	if (t.err) {
		free(t.p);
		return t.err;
	}
	*out = t.p;
	*len = t.n;
	return 0;
}

/*
 * Loop fission (node_exporter_render()). Rendered one at a time, each document ran the
 * store reads and vote decoding, the redactor (~30 KiB of code and its tables) and the ECS
 * rendering (jansson, the text writer) in turn; together they do not fit the 32 KiB L1
 * caches, so every document fetched each one's lines again (callgrind, per document of
 * bench_store's export: 1,064 instruction and 896 data L1 misses, of which the redactor's
 * policy_redact_fields() 196 and 174; outside the export it misses ~50 instruction lines).
 * So a chunk goes through three stages, each over all its entries: read (summary, votes
 * decoded), strip, render. The strip stage is three passes again (policy_strip_batch_*(),
 * the stages of policy_strip_view()): each view's checks and the texts it redacts, then the
 * redactor alone over all of them, then each view filled and put in its slot. Run a view
 * at a time, the checks, the tag merge, the copies and libc between the redactor's calls
 * evicted its code: the views with the redactor took ~51 L1 instruction misses a view more
 * than the same export without it (54.8 against 3.9, bench_store views, callgrind); with
 * the redactor in its own pass, ~10 more.
 * Between the stages an entry lives in a slot and the context's arrays: its summary, its
 * votes among a group's, then the fields of struct policy_view that
 * node_exporter_document() reads and its texts in the context's arena. slot_put() and
 * slot_get() must copy every field node_exporter_document() reads; test_node_exporter
 * compares the chunked export with node_exporter_feed_document(), entry by entry. The order
 * of what an entry does is that of feed_view(): an error fails the call wherever it comes,
 * as it failed the sync before.
 */
struct node_exporter_slot {
	int got;	       /* view_read()'s result */
	size_t vote_first;     /* the entry's votes in the context's votes */
	size_t vote_n;	       /* ... */
	size_t undecodable;    /* ... and how many did not decode */
	bool doc;	       /* the entry has a document */
	bool opened;	       /* ... with chatham.sealed */
	uint64_t seq, time_ms; /* the document's */
	uint32_t sealed_count, sealed_first, sealed_last;
	uint8_t sealed_confidence;
	uint64_t sealed_feed_seq, sealed_updated_ms;
	uint8_t type, tlp, state, confidence;
	bool reported_by_us, has_description, withheld;
	uint64_t first_seen_ms, last_seen_ms, valid_until_ms;
	uint32_t n_members, n_sightings, n_false_positive;
	const char *warninglist; /* borrowed from the snapshot's warninglists */
	size_t n_tags;
	/* offsets into the arena: each text NUL-terminated there */
	size_t value, value_len, description, description_len, community;
	size_t tags[POLICY_VIEW_TAGS_MAX];
};

/* Room in the arena for @len more bytes. 0 or -ENOMEM. */
static int arena_reserve(struct node_exporter_render_ctx *rc, size_t len)
{
	size_t cap = rc->text_cap ? rc->text_cap : 4096;
	char *t;

	if (rc->text_cap - rc->text_len >= len)
		return 0;
	while (cap - rc->text_len < len)
		cap *= 2;
	if (!(t = realloc(rc->text, cap)))
		return -ENOMEM;
	rc->text = t;
	rc->text_cap = cap;
	return 0;
}

/* Append @len bytes at @p and a NUL to the arena (room reserved); returns their offset. */
static size_t arena_add(struct node_exporter_render_ctx *rc, const char *p, size_t len)
{
	size_t off = rc->text_len;

	memcpy(rc->text + off, p, len);
	rc->text[off + len] = '\0';
	rc->text_len += len + 1;
	return off;
}

/*
 * The view's fields and texts into the slot and the arena: the texts' room reserved once
 * for all of them (a view with the redactor keeps its tags and description besides the
 * value and the community; each text with its own room check cost ~40 instructions,
 * bench_store views, callgrind), the tags' as much as any can take, so that each is copied
 * in one pass (stpcpy(), not strlen() then memcpy()).
 */
static int slot_put(struct node_exporter_render_ctx *rc, struct node_exporter_slot *sl,
		    const struct policy_view *v)
{
	size_t community_len = strlen(v->community), need;
	int r;

	sl->type = v->ind.type;
	sl->tlp = v->tlp;
	sl->state = v->state;
	sl->confidence = v->confidence;
	sl->first_seen_ms = v->first_seen_ms;
	sl->last_seen_ms = v->last_seen_ms;
	sl->valid_until_ms = v->valid_until_ms;
	sl->n_members = v->n_members;
	sl->n_sightings = v->n_sightings;
	sl->n_false_positive = v->n_false_positive;
	sl->reported_by_us = v->reported_by_us;
	sl->has_description = v->has_description;
	sl->withheld = v->withheld;
	sl->warninglist = v->warninglist;
	sl->n_tags = v->n_tags;
	sl->value_len = v->ind.len;
	sl->description_len = v->has_description ? v->description_len : 0;
	need = sl->value_len + sl->description_len + community_len + 3 +
	       v->n_tags * sizeof(v->tags[0]);
	if ((r = arena_reserve(rc, need)) < 0)
		return r;
	sl->value = arena_add(rc, v->ind.value, sl->value_len);
	sl->description = arena_add(rc, v->description, sl->description_len);
	sl->community = arena_add(rc, v->community, community_len);
	for (size_t i = 0; i < v->n_tags; i++) {
		sl->tags[i] = rc->text_len;
		rc->text_len = (size_t)(stpcpy(rc->text + rc->text_len, v->tags[i]) - rc->text) + 1;
	}
	return 0;
}

/* The slot's view back into @v: every field node_exporter_document() reads, nothing else. */
static void slot_get(const struct node_exporter_render_ctx *rc, const struct node_exporter_slot *sl,
		     struct policy_view *v)
{
	v->ind.type = sl->type;
	v->ind.len = (uint16_t)sl->value_len;
	memcpy(v->ind.value, rc->text + sl->value, sl->value_len + 1);
	v->tlp = sl->tlp;
	v->state = sl->state;
	v->confidence = sl->confidence;
	v->first_seen_ms = sl->first_seen_ms;
	v->last_seen_ms = sl->last_seen_ms;
	v->valid_until_ms = sl->valid_until_ms;
	v->n_members = sl->n_members;
	v->n_sightings = sl->n_sightings;
	v->n_false_positive = sl->n_false_positive;
	v->reported_by_us = sl->reported_by_us;
	v->has_description = sl->has_description;
	v->description_len = sl->description_len;
	memcpy(v->description, rc->text + sl->description, sl->description_len + 1);
	strcpy(v->community, rc->text + sl->community);
	v->warninglist = sl->warninglist;
	v->withheld = sl->withheld;
	v->n_tags = sl->n_tags;
	for (size_t i = 0; i < sl->n_tags; i++)
		strcpy(v->tags[i], rc->text + sl->tags[i]);
}

int node_exporter_render_init(struct node_exporter_render_ctx *rc, const struct node_snap *snap)
{
	memset(rc, 0, sizeof(*rc));
	rc->snap = snap;
	rc->view = malloc(sizeof(*rc->view));
	rc->slots = calloc(STORE_EXPORT_CHUNK, sizeof(*rc->slots));
	rc->sums = calloc(STORE_EXPORT_CHUNK, sizeof(*rc->sums));
	rc->votes = calloc(1, sizeof(*rc->votes));
	rc->batch = policy_strip_batch_new(&snap->pcfg, snap->redactor);
	if (!rc->view || !rc->slots || !rc->sums || !rc->votes || !rc->batch) {
		node_exporter_render_deinit(rc);
		return -ENOMEM;
	}
	return 0;
}

void node_exporter_render_deinit(struct node_exporter_render_ctx *rc)
{
	if (rc->votes)
		votes_free(rc->votes);
	free(rc->votes);
	policy_strip_batch_free(rc->batch);
	free(rc->view);
	free(rc->slots);
	free(rc->sums);
	free(rc->text);
	memset(rc, 0, sizeof(*rc));
}

/*
 * Votes a group of entries may hold between reading and stripping; a group ends at the
 * entry that reaches it (so at most GROUP_VOTES - 1 + VOTES_MAX decoded reports are held,
 * ~3 KiB each, as one indicator alone may hold VOTES_MAX).
 */
#define GROUP_VOTES 64

/*
 * Stage 1 of node_exporter_render() for entries @i.. of @e: read them (summary, votes)
 * until the chunk ends or the votes held reach GROUP_VOTES. Returns the entry after the
 * group, or a negative error.
 */
static int read_group(struct node_exporter_render_ctx *rc, struct store *s, struct store_read *rd,
		      const struct store_feed_entry *e, size_t i, size_t n)
{
	struct node_exporter_votes *votes = rc->votes;
	struct store_sealed_opened o;

	votes_clear(votes);
	while (i < n) {
		struct node_exporter_slot *sl = &rc->slots[i];
		size_t undecodable = votes->undecodable;
		int r;

		if ((r = opened_get(s, rd, e[i].ind_id, &o)) < 0)
			return r;
		if ((sl->opened = r)) {
			sl->sealed_count = o.count;
			sl->sealed_first = o.first_bucket;
			sl->sealed_last = o.last_bucket;
			sl->sealed_confidence = o.confidence;
			sl->sealed_feed_seq = o.feed_seq;
			sl->sealed_updated_ms = o.updated_ms;
		}
		sl->vote_first = votes->n;
		r = view_read(rc->snap, s, rd, e[i].ind_id, POLICY_PATH_SIEM_EXPORT, &rc->sums[i],
			      votes);
		sl->vote_n = votes->n - sl->vote_first;
		sl->undecodable = votes->undecodable - undecodable;
		if (r < 0) {
			log_undecodable(e[i].ind_id, sl->undecodable);
			return r;
		}
		sl->got = r;
		i++;
		if (votes->n >= GROUP_VOTES)
			break;
	}
	return (int)i;
}

/*
 * Stage 2, first part, for entries @i.. of @end (read by read_group()): the views that have a
 * summary into the context's strip batch (policy_strip_batch_add(): the checks, the texts to
 * redact), until the batch is full. Returns the entry after the last one added; *@err a
 * view's error, or 0.
 */
static size_t add_group(struct node_exporter_render_ctx *rc, const struct store_feed_entry *e,
			size_t i, size_t end, int *err)
{
	*err = 0;
	policy_strip_batch_clear(rc->batch);
	for (; i < end; i++) {
		const struct node_exporter_slot *sl = &rc->slots[i];
		uint8_t tag[32];
		bool own;
		int r;

		if (sl->got != 1)
			continue;
		own = view_votes(rc->snap, e[i].ind_id, rc->votes, sl->vote_first, sl->vote_n, tag);
		r = policy_strip_batch_add(rc->batch, &rc->sums[i], rc->votes->ptr + sl->vote_first,
					   sl->vote_n, own ? tag : NULL);
		proto_wipe(tag, sizeof(tag));
		if (r == POLICY_STRIP_FULL)
			break;
		if (r < 0) {
			*err = r;
			break;
		}
	}
	return i;
}

/*
 * Stage 2 for entries @i..@end - 1 (read by read_group()): each entry's view, as
 * feed_view() makes it, into its slot. In three passes over as many views as the strip
 * batch holds (all of a group's, at bench_store's sizes): their checks and texts
 * (add_group()), the redactor over all of them alone (policy_strip_batch_redact()), then
 * each entry's view taken and put in its slot. An error fails the call at the entry where
 * one view at a time failed it: the views before it are taken first, in order.
 */
static int strip_group(struct node_exporter_render_ctx *rc, struct store *s, struct store_read *rd,
		       const struct store_feed_entry *e, size_t i, size_t end)
{
	while (i < end) {
		int err;
		size_t k = 0, stop = add_group(rc, e, i, end, &err);

		policy_strip_batch_redact(rc->batch);
		for (; i < stop; i++) {
			struct node_exporter_slot *sl = &rc->slots[i];
			struct proto_summary *sum = &rc->sums[i];
			int r = sl->got;

			sl->doc = false;
			sl->seq = e[i].seq;
			sl->time_ms = e[i].time_ms;
			if (r == 1) {
				int v = policy_strip_batch_view(rc->batch, k++, rc->view);

				log_undecodable(e[i].ind_id, sl->undecodable);
				if (v < 0)
					return v;
			} else {
				struct store_sealed_opened o;

				/*
				 * No summary: a sealed sighting alone; a summary policy denies:
				 * nothing (fail closed). The opening is read again (the same
				 * snapshot) for its value: rare, and a slot need not hold 2 KiB
				 * for it.
				 */
				if (!sl->opened)
					continue;
				if ((r = no_summary(s, rd, e[i].ind_id, sum)) <= 0) {
					if (r < 0)
						return r;
					continue;
				}
				if ((r = store_sealed_opened_get(s, rd, e[i].ind_id, &o)) != 0)
					return r == STORE_E_NOT_FOUND ? STORE_E_CORRUPT : r;
				sealed_view(rc->snap, &o, rc->view);
				sum->feed_seq = 0;
				sum->last_seen_ms = o.updated_ms;
			}
			if (sum->feed_seq > sl->seq ||
			    (sl->opened && sl->sealed_feed_seq > sl->seq))
				continue; /* a later entry renders the indicator's current state */
			sl->doc = true;
			if ((r = slot_put(rc, sl, rc->view)) < 0)
				return r;
		}
		if (err < 0) {
			log_undecodable(e[i].ind_id, rc->slots[i].undecodable);
			return err;
		}
	}
	return 0;
}

int node_exporter_render_views(struct node_exporter_render_ctx *rc, struct store *s,
			       struct store_read *rd, const struct store_feed_entry *e, size_t n)
{
	int r = 0;

	rc->views_e = NULL;
	rc->views_n = 0;
	if (n > STORE_EXPORT_CHUNK)
		return -EINVAL;
	rc->text_len = 0;
	/* Stages 1 and 2: the views, read a group at a time, then stripped back to back. */
	for (size_t i = 0; i < n && r >= 0;) {
		int end = read_group(rc, s, rd, e, i, n);

		if (end < 0)
			r = end;
		else
			r = strip_group(rc, s, rd, e, i, (size_t)end);
		i = (size_t)end;
	}
	policy_strip_batch_clear(rc->batch);
	votes_clear(rc->votes);
	if (r < 0)
		return r;
	rc->views_e = e;
	rc->views_n = n;
	return 0;
}

int node_exporter_render_docs(struct node_exporter_render_ctx *rc, const struct store_feed_entry *e,
			      size_t n, uint8_t **docs, size_t *lens)
{
	int r;

	const struct store_feed_entry *views_e = rc->views_e;
	size_t views_n = rc->views_n;

	/*
	 * Only the views of the last successful render_views() call for these entries, and
	 * once (any call, refused or not, uses them up): past a failed or shorter call's last
	 * view, the slots hold an earlier chunk's (its doc flags and arena offsets, into a text
	 * arena since reset), and a document would be made of them.
	 */
	rc->views_e = NULL;
	rc->views_n = 0;
	if (!views_e || e != views_e || n != views_n)
		return -EINVAL;
	/* Stage 3: the documents and their text. */
	for (size_t i = 0; i < n; i++) {
		const struct node_exporter_slot *sl = &rc->slots[i];
		json_t *j;
		char *text;

		if (!sl->doc)
			continue;
		slot_get(rc, sl, rc->view);
		j = node_exporter_document(rc->view, e[i].ind_id, sl->seq, sl->time_ms);
		if (!j)
			return -ENOMEM;
		if (sl->opened && add_sealed(j, sl->sealed_count, sl->sealed_first, sl->sealed_last,
					     sl->sealed_confidence)) {
			json_decref(j);
			return -ENOMEM;
		}
		r = node_exporter_text(j, &text, &lens[i]);
		json_decref(j);
		if (r < 0)
			return r;
		docs[i] = (uint8_t *)text;
	}
	return 0;
}

int node_exporter_render(void *ctx, struct store *s, struct store_read *rd,
			 const struct store_feed_entry *e, size_t n, uint8_t **docs, size_t *lens)
{
	int r = node_exporter_render_views(ctx, s, rd, e, n);

	return r < 0 ? r : node_exporter_render_docs(ctx, e, n, docs, lens);
}

static void sync_work(uv_work_t *w)
{
	struct sync_job *job = w->data;
	struct node_exporter_render_ctx rc;
	int r = 0;

	node_prio_worker(); /* the loop thread first (node/common/prio.h) */

	struct timespec ts;

	/*
	 * Documents already exported follow the snapshot's rules before anything new is
	 * rendered under them (node/daemon/rerender.h); a no-op while the rules stay the same.
	 */
	clock_gettime(CLOCK_REALTIME, &ts);
	r = node_rerender_run(job->e->store, job->e->x, job->snap,
			      (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000,
			      &job->rr);
	if (r < 0) {
		job->err = r;
		return;
	}
	if (node_exporter_render_init(&rc, job->snap)) {
		job->err = -ENOMEM;
		return;
	}
	for (int round = 0; round < SYNC_ROUNDS; round++) {
		r = store_export_sync(job->e->store, job->e->x, node_exporter_render, &rc,
				      NODE_EXPORTER_SYNC_BATCH);
		if (r <= 0)
			break;
		if (round == SYNC_ROUNDS - 1)
			job->more = true;
	}
	job->err = r < 0 ? r : 0;
	node_exporter_render_deinit(&rc);
	if (store_export_last_seq(job->e->x, &job->last_seq))
		job->last_seq = 0;
}

static void start_sync(struct node_exporter *e, struct node_snap *snap);

static void sync_done(uv_work_t *w, int status)
{
	struct sync_job *job = w->data;
	struct node_exporter *e = job->e;
	struct node_snap *next;

	(void)status;
	e->running = false;
	e->failed = job->err != 0;
	if (job->err) {
		e->errors++;
		log_err("export: sync failed: %s%s", proto_error_str(job->err),
			job->err == -ENOSPC ? " (free space on the disk of [node] export_dir; "
					      "the export is retried every 10 s)"
					    : "; retried every 10 s");
	}
	if (job->rr.ran) {
		e->rr.runs++;
		e->rr.corrected += job->rr.corrected;
		e->rr.rerendered += job->rr.touched;
		e->rr.resets += job->rr.reset;
		if (job->rr.reset)
			log_notice(
				"export: [policy] export_red changed: export rebuilt under a new "
				"env id (SIEM readers start over)");
		else
			log_notice("export: redaction rules changed: %llu documents checked, %llu "
				   "corrected in place, %llu indicators rendered again under new "
				   "sequences%s",
				   (unsigned long long)job->rr.checked,
				   (unsigned long long)job->rr.corrected,
				   (unsigned long long)job->rr.touched,
				   job->rr.bad ? " (some documents did not parse, see above)" : "");
	}
	if (job->last_seq || job->rr.reset)
		e->last_seq = job->last_seq;
	if (job->more || e->again) {
		next = e->again_snap ? e->again_snap : node_snap_ref(job->snap);
		e->again_snap = NULL;
		e->again = false;
		start_sync(e, next);
		node_snap_unref(next);
	}
	node_snap_unref(job->snap);
	free(job);
}

static void start_sync(struct node_exporter *e, struct node_snap *snap)
{
	struct sync_job *job = calloc(1, sizeof(*job));

	if (!job) {
		log_err("export: out of memory starting a sync; retrying at the next change");
		return;
	}
	job->e = e;
	job->snap = node_snap_ref(snap);
	job->work.data = job;
	e->running = true;
	int r = node_workq_queue(e->loop, &job->work, sync_work, sync_done);
	assert(r == 0);
	(void)r;
}

void node_exporter_kick(struct node_exporter *e, struct node_snap *snap)
{
	if (e->running) {
		e->again = true;
		node_snap_unref(e->again_snap);
		e->again_snap = node_snap_ref(snap);
		return;
	}
	start_sync(e, snap);
}

struct node_exporter *node_exporter_new(uv_loop_t *loop, struct store *s, struct store_export *x)
{
	struct node_exporter *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->loop = loop;
	e->store = s;
	e->x = x;
	if (store_export_last_seq(x, &e->last_seq))
		e->last_seq = 0;
	return e;
}

void node_exporter_retry(struct node_exporter *e, struct node_snap *snap)
{
	if (e->failed && !e->running)
		start_sync(e, snap);
}

bool node_exporter_idle(const struct node_exporter *e)
{
	return !e->running && !e->again;
}

uint64_t node_exporter_last_seq(const struct node_exporter *e)
{
	return e->last_seq;
}

uint64_t node_exporter_errors(const struct node_exporter *e)
{
	return e->errors;
}

void node_exporter_rerender_stats(const struct node_exporter *e, struct node_exporter_rerender *out)
{
	*out = e->rr;
}

void node_exporter_free(struct node_exporter *e)
{
	if (!e)
		return;
	assert(node_exporter_idle(e));
	node_snap_unref(e->again_snap);
	free(e);
}
