/* SPDX-License-Identifier: MIT */
/*
 * node/format/misp_feed.h — the MISP feed directory that `chatham export --format misp-feed`
 * keeps up to date: DIR/<event uuid>.json ({"Event": {...}}), DIR/manifest.json (event uuid ->
 * Orgc, Tag, info, date, analysis, threat_level_id, timestamp) and DIR/hashes.csv
 * ("md5(value),event uuid" per attribute), the layout MISP's feed fetcher reads: manifest
 * first, then every event whose manifest timestamp is newer than its own copy; within an
 * event it updates the attributes it holds by uuid when their timestamp is newer.
 *
 * Events are stable, and the directory is their state:
 *   - An indicator is one attribute, uuid = node_export_uuid("misp/attribute", community ||
 *     0x00 || indicator id): the same in every export, and after an export rebuild.
 *   - A new attribute goes into the event of its TLP and the UTC day of its first_seen
 *     ("chatham COMMUNITY: TLP:GREEN indicators first seen 2026-12-06"), uuid =
 *     node_export_uuid("misp/event", community || 0x00 || "tlp:green" || 0x00 || day). Once
 *     written, an attribute stays in its event (hashes.csv says where, so a first_seen that
 *     moves earlier or a TLP that rises never moves it: MISP refuses one attribute uuid in
 *     two events). The event's own TLP tag is the strictest of its attributes' tags; every
 *     attribute carries its own.
 *   - A change rewrites the whole event with the attribute updated in place: a retired
 *     (withdrawn or expired) indicator keeps its uuid and event, gets to_ids false and the
 *     tag chatham:state="withdrawn" or ="expired"; a withheld one (warninglisted) is not for
 *     IDS either. Its timestamp, and the event's, rise strictly (by one second past the old
 *     one if the change time is not later), so MISP takes the new version. An attribute whose
 *     rendering did not change is left alone, and an event without changes is not written:
 *     re-running an export writes nothing.
 *   - Files are replaced atomically (temporary file, fsync, rename; mode 0640), hashes.csv
 *     first (it only ever gains lines), then the events, then manifest.json, so a reader
 *     that follows the manifest never misses an event and a crash loses no placement.
 * Memory: the hashes.csv index (about 40 bytes per attribute in the feed), each added
 * attribute's rendering until the commit (about 400 bytes), and one event at a time.
 *
 * Errors: NODE_E_EXPORT (a feed file that is not what chatham writes: the directory is not
 * overwritten), -errno, -ENOMEM. Thread rules: one thread per feed object.
 */
#ifndef CHATHAM_NODE_MISP_FEED_H
#define CHATHAM_NODE_MISP_FEED_H

#include <stdint.h>

#include "node/format/export_fmt.h"

struct node_misp_feed;

struct node_misp_feed_stats {
	uint64_t added;	    /* attributes new to the feed */
	uint64_t changed;   /* attributes rewritten (retired, counts, tags...) */
	uint64_t unchanged; /* attributes offered whose rendering was already there */
	uint64_t events;    /* event files written */
};

/*
 * node_misp_feed_open() - read the feed in @dir (which must exist; an empty directory is an
 * empty feed) for updating by @community (borrowed until free). *@why (if non-NULL) names
 * the file that made it fail with NODE_E_EXPORT. Returns 0 with *@out set, or an error.
 */
int node_misp_feed_open(struct node_misp_feed **out, const char *dir, const char *community,
			const char **why);

/*
 * node_misp_feed_add() - file the newest document @d (borrowed) of an indicator for the next
 * commit. Returns 1 when it will be in the feed, 0 when the feed leaves it out (an
 * observed-only indicator, never reported as one), -ENOMEM. One call per indicator per
 * commit (the caller passes each indicator's newest document, node_export_latest).
 */
int node_misp_feed_add(struct node_misp_feed *f, const struct node_export_doc *d);

/*
 * node_misp_feed_commit() - write what the adds changed (see above) and fill *@st (if
 * non-NULL). *@why as for open. After an error the directory holds a consistent feed
 * (older events, or some events already new).
 */
int node_misp_feed_commit(struct node_misp_feed *f, struct node_misp_feed_stats *st,
			  const char **why);

/* node_misp_feed_free() - NULL-safe. */
void node_misp_feed_free(struct node_misp_feed *f);

#endif
