/* SPDX-License-Identifier: MIT */
/*
 * Re-rendering after a rules change. The export is read in chunks of CHUNK documents, each
 * in its own short read snapshot (a long one would pin pages while the chunk's corrections
 * are written). A document is checked from its own text, not re-rendered from the main
 * store: an old version's text is what SIEMs hold, and only the current state can be
 * rendered from the store, which the new feed entry does.
 */
#include "node/daemon/rerender.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "node/common/log.h"
#include "policy/strip.h"
#include "proto/crypto.h"
#include "proto/error.h"

#define CHUNK 256

void node_rerender_rules(const struct node_snap *snap, uint8_t rules[NODE_RERENDER_RULES_LEN])
{
	policy_strip_rules_id(&snap->pcfg, snap->redactor, rules);
	rules[16] = snap->pcfg.export_red ? 1 : 0;
}

struct chunk {
	const struct node_snap *snap;
	struct policy_view *v;
	struct node_rerender_stats *st;
	uint64_t last; /* sequence of the last document read */
	size_t n_read;
	bool red_found; /* a RED document while export_red is off */
	struct store_export_doc docs[CHUNK];
	uint8_t ids[CHUNK][32];
	size_t n;
};

/* The description and tags of @ch as text (borrowed from the document). */
static int doc_text(json_t *ch, const char **desc, size_t *desc_len, const char **tags,
		    size_t *lens, size_t *n_tags)
{
	json_t *d = json_object_get(ch, "description"), *t = json_object_get(ch, "tags"), *e;
	size_t i;

	*desc = NULL;
	*desc_len = 0;
	*n_tags = 0;
	if (d) {
		if (!json_is_string(d))
			return -EINVAL;
		*desc = json_string_value(d);
		*desc_len = json_string_length(d);
	}
	if (t && !json_is_array(t))
		return -EINVAL;
	if (json_array_size(t) > POLICY_VIEW_TAGS_MAX)
		return -EINVAL;
	json_array_foreach(t, i, e)
	{
		if (!json_is_string(e))
			return -EINVAL;
		tags[*n_tags] = json_string_value(e);
		lens[(*n_tags)++] = json_string_length(e);
	}
	return 0;
}

/* Write the corrected text of @v into the description and tag fields of @doc. */
static int correct(json_t *doc, json_t *ch, const struct policy_view *v)
{
	json_t *ti = json_object_get(json_object_get(doc, "threat"), "indicator");
	json_t *tags = json_array();

	for (size_t i = 0; tags && i < v->n_tags; i++)
		if (json_array_append_new(tags, json_string(v->tags[i])))
			goto fail;
	if (!tags || json_object_set_new(ch, "tags", tags))
		return -ENOMEM;
	json_object_del(ch, "description");
	if (ti)
		json_object_del(ti, "description");
	if (!v->has_description)
		return 0;
	if (json_object_set_new(ch, "description",
				json_stringn(v->description, v->description_len)) ||
	    (ti && json_object_set_new(ti, "description",
				       json_stringn(v->description, v->description_len))))
		return -ENOMEM;
	return 0;
fail:
	json_decref(tags);
	return -ENOMEM;
}

static int check_doc(void *ctx, uint64_t seq, const uint8_t *bytes, size_t len)
{
	struct chunk *c = ctx;
	const char *desc, *tags[POLICY_VIEW_TAGS_MAX];
	size_t desc_len, lens[POLICY_VIEW_TAGS_MAX], n_tags;
	json_t *doc, *ch;
	const char *hex, *tlp;
	char *text;
	int r;

	c->last = seq;
	c->n_read++;
	c->st->checked++;
	doc = json_loadb((const char *)bytes, len, 0, NULL);
	ch = json_object_get(doc, "chatham");
	hex = json_string_value(json_object_get(ch, "indicator_id"));
	tlp = json_string_value(json_object_get(
		json_object_get(json_object_get(json_object_get(doc, "threat"), "indicator"),
				"marking"),
		"tlp"));
	if (!ch || !hex || strlen(hex) != 64 || !tlp ||
	    doc_text(ch, &desc, &desc_len, tags, lens, &n_tags)) {
		c->st->bad++;
		log_err("export: document %llu does not parse; left as it is",
			(unsigned long long)seq);
		r = 0;
		goto out;
	}
	if (!strcmp(tlp, "RED") && !c->snap->pcfg.export_red) {
		c->red_found = true;
		r = 1; /* stop: the export is reset */
		goto out;
	}
	r = policy_strip_recheck(c->v, &c->snap->pcfg, c->snap->redactor, desc, desc_len, tags,
				 lens, n_tags);
	if (r <= 0)
		goto out;
	if (proto_hex_decode(c->ids[c->n], 32, hex) != 0) {
		c->st->bad++;
		r = 0;
		goto out;
	}
	r = correct(doc, ch, c->v);
	text = r ? NULL : json_dumps(doc, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (!text) {
		r = -ENOMEM;
		goto out;
	}
	c->docs[c->n].seq = seq;
	c->docs[c->n].doc = (const uint8_t *)text;
	c->docs[c->n].len = strlen(text);
	c->n++;
	r = 0;
out:
	json_decref(doc);
	return r;
}

static void chunk_clear(struct chunk *c)
{
	for (size_t i = 0; i < c->n; i++)
		free((void *)c->docs[i].doc);
	c->n = 0;
	c->n_read = 0;
}

/* Recheck every document; *@reset when the export must be reset instead. */
static int recheck_all(struct store *s, struct store_export *x, struct chunk *c, uint64_t now_ms,
		       bool *reset)
{
	int r = 0;

	*reset = false;
	c->last = 0;
	for (;;) {
		size_t touched = 0;

		chunk_clear(c);
		r = store_export_iter(x, c->last, CHUNK, check_doc, c);
		if (r < 0)
			break;
		if (c->red_found) {
			*reset = true;
			r = 0;
			break;
		}
		if (c->n > 0) {
			/* New feed entries first: a crash after them costs a second run only. */
			r = store_feed_touch(s, (const uint8_t(*)[32])c->ids, c->n, now_ms,
					     &touched);
			if (r == 0)
				r = store_export_rewrite(x, c->docs, c->n, NULL, 0);
			if (r < 0)
				break;
			c->st->corrected += c->n;
			c->st->touched += touched;
		}
		if (c->n_read < CHUNK) {
			r = 0;
			break;
		}
	}
	chunk_clear(c);
	return r;
}

int node_rerender_run(struct store *s, struct store_export *x, const struct node_snap *snap,
		      uint64_t now_ms, struct node_rerender_stats *st)
{
	uint8_t now[NODE_RERENDER_RULES_LEN], old[STORE_EXPORT_RULES_MAX];
	size_t old_len = 0;
	uint64_t last;
	struct chunk *c = NULL;
	bool reset = false;
	int r;

	memset(st, 0, sizeof(*st));
	node_rerender_rules(snap, now);
	r = store_export_rules(x, old, sizeof(old), &old_len);
	if (r == 0 && old_len == sizeof(now) && !memcmp(old, now, sizeof(now)))
		return 0;
	if (r != 0 && r != STORE_E_NOT_FOUND && r != -ENOSPC)
		return r;
	if ((r = store_export_last_seq(x, &last)) != 0)
		return r;
	if (last == 0) /* nothing rendered yet: whatever comes is rendered under these rules */
		return store_export_rewrite(x, NULL, 0, now, sizeof(now));
	st->ran = true;
	if (old_len == sizeof(now) && old[16] != now[16]) {
		reset = true;
	} else {
		c = calloc(1, sizeof(*c));
		if (c)
			c->v = malloc(sizeof(*c->v));
		if (!c || !c->v) {
			r = -ENOMEM;
			goto out;
		}
		c->snap = snap;
		c->st = st;
		if ((r = recheck_all(s, x, c, now_ms, &reset)) < 0)
			goto out;
	}
	if (reset) {
		st->reset = true;
		r = store_export_reset(x, now, sizeof(now));
	} else {
		r = store_export_rewrite(x, NULL, 0, now, sizeof(now));
	}
out:
	if (c)
		free(c->v);
	free(c);
	return r;
}
