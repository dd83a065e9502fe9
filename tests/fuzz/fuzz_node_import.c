/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness: import parsers (node/format/import.h). Input layout: byte 0 selects the format
 * (low 3 bits mod 5: auto, plain, csv, stix21, misp) and options (bit 3 keep_text, bit 4
 * include_non_ids, bit 5 a fixed "now" for STIX expiry); byte 1 sets the chunk size of a
 * second, streamed run (1..256 bytes); the rest is the file.
 *
 * The harness aborts only when a promise of node/format/import.h is broken:
 *   - the result is 0 or NODE_E_IMPORT with a message (callbacks never stop here);
 *   - every OK item holds a canonical indicator (re-parsing it as its type gives the same
 *     bytes), a TLP of 0..5, confidence -1..100, distinct valid tags and a valid UTF-8
 *     description within the limits; every other event has a reason and no item;
 *   - feeding the file in one call and in small chunks gives the same events, in order
 *     (a digest over every field), and the same result.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/format/import.h"
#include "proto/error.h"
#include "proto/indicator.h"
#include "proto/mp.h"
#include "proto/report.h"

struct digest {
	uint64_t h, n;
};

static void mix(struct digest *d, const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		d->h = (d->h ^ b[i]) * 0x100000001b3ull; /* FNV-1a */
	d->h = (d->h ^ 0xff) * 0x100000001b3ull;
}

static void check_item(const struct node_import_item *it)
{
	struct proto_indicator again;

	if (it->ind.len == 0 || it->ind.len != strlen(it->ind.value))
		abort();
	if (proto_indicator_parse(&again, it->ind.type, it->ind.value, it->ind.len, NULL) != 0 ||
	    again.len != it->ind.len || memcmp(again.value, it->ind.value, it->ind.len) != 0)
		abort();
	if (it->tlp > PROTO_TLP_RED || it->confidence < -1 || it->confidence > 100)
		abort();
	if (it->n_tags > PROTO_REPORT_TAGS_MAX)
		abort();
	for (size_t i = 0; i < it->n_tags; i++) {
		size_t l = strlen(it->tags[i]);
		if (l == 0 || l > PROTO_REPORT_TAG_LEN_MAX || !proto_mp_utf8_valid(it->tags[i], l))
			abort();
		for (size_t k = 0; k < i; k++)
			if (!strcmp(it->tags[i], it->tags[k]))
				abort();
	}
	if (it->description_len > PROTO_REPORT_DESC_MAX ||
	    it->description_len != strlen(it->description) ||
	    !proto_mp_utf8_valid(it->description, it->description_len))
		abort();
}

static int on_event(void *ctx, const struct node_import_event *ev)
{
	struct digest *d = ctx;

	d->n++;
	mix(d, &ev->status, sizeof(ev->status));
	if (!ev->where || !ev->where[0])
		abort();
	mix(d, ev->where, strlen(ev->where));
	if (ev->status == NODE_IMPORT_OK) {
		const struct node_import_item *it = ev->item;
		if (!it || ev->reason)
			abort();
		check_item(it);
		mix(d, it->ind.value, it->ind.len);
		mix(d, &it->ind.type, 1);
		mix(d, &it->tlp, 1);
		mix(d, &it->confidence, sizeof(it->confidence));
		mix(d, &it->valid_until_ms, sizeof(it->valid_until_ms));
		for (size_t i = 0; i < it->n_tags; i++)
			mix(d, it->tags[i], strlen(it->tags[i]));
		mix(d, it->description, it->description_len);
	} else {
		if (ev->item || !ev->reason || !ev->reason[0])
			abort();
		mix(d, ev->reason, strlen(ev->reason));
	}
	return 0;
}

static int run(const struct node_import_config *cfg, const uint8_t *data, size_t size, size_t chunk,
	       struct digest *d, char *err, size_t errlen)
{
	struct node_import *im = node_import_new(cfg, on_event, d);
	size_t off = 0;
	int r = 0;

	if (!im)
		abort();
	while (off < size && !r) {
		size_t n = chunk && chunk < size - off ? chunk : size - off;
		r = node_import_feed(im, data + off, n);
		off += n;
	}
	if (!r)
		r = node_import_finish(im);
	if (r != 0 && r != NODE_E_IMPORT)
		abort();
	if (r == NODE_E_IMPORT && !node_import_error(im)[0])
		abort();
	snprintf(err, errlen, "%s", node_import_error(im));
	node_import_free(im);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct node_import_config cfg = {0};
	struct digest a = {0xcbf29ce484222325ull, 0}, b = a;
	char ea[256], eb[256];
	size_t chunk;
	int ra, rb;

	if (size < 2)
		return 0;
	cfg.format = (data[0] & 7) % 5;
	cfg.keep_text = data[0] & 8;
	cfg.include_non_ids = data[0] & 16;
	cfg.now_ms = (data[0] & 32) ? 1700000000000ull : 0;
	chunk = (size_t)data[1] + 1;
	data += 2;
	size -= 2;

	ra = run(&cfg, data, size, 0, &a, ea, sizeof(ea));
	rb = run(&cfg, data, size, chunk, &b, eb, sizeof(eb));
	if (ra != rb || a.n != b.n || a.h != b.h || strcmp(ea, eb) != 0)
		abort();
	return 0;
}
