/* SPDX-License-Identifier: MIT */
/*
 * node/format/export_fmt.h — renderers for `chatham export`: the stripped ECS documents of the
 * export environment (store/export.h; shape in node/daemon/exporter.h) as JSON lines, CSV, a STIX 2.1
 * bundle, a MISP feed, or a plain blocklist. No LMDB here: the caller walks the export
 * environment and hands each document to a writer; the MISP feed directory is kept by
 * node/format/misp_feed.h, the one piece of file I/O.
 *
 * What each format holds (documents are the latest state of an indicator; the caller keeps
 * only the newest document per indicator for every format except jsonl, see
 * node_export_latest):
 *   jsonl      every document as stored, one per line (a change log, nothing dropped)
 *   csv        RFC 4180, CRLF: header "type,value,tlp,state,confidence,first_seen,last_seen,
 *              members,sightings,false_positives,seq", one row per indicator, every state;
 *              a field starting with = + - @ TAB or CR (a spreadsheet formula) is written
 *              quoted with a leading apostrophe (one more when it already starts with an
 *              apostrophe and such a character), which node/import.c drops again
 *   plain      the values of active indicators, one per line (for blocklists), except
 *              documents with chatham.withheld (warninglisted values, policy/warnlist.h)
 *   stix21     one bundle: one `identity` for the community (the only created_by_ref), one
 *              `indicator` per active indicator and a revoked version of each withdrawn or
 *              expired one, in full and incremental exports alike (a consumer that holds it
 *              from an earlier export or from TAXII retires it; observed-only indicators,
 *              never reported as indicators, are left out), and the
 *              TLP 2.0 marking-definition objects the indicators refer to, copied from the
 *              OASIS definitions. Ids are deterministic: an indicator keeps its id across
 *              exports and a new export is a new version (a later `modified`).
 *   misp-feed  the writer files each document with the node_misp_feed of the options
 *              (stable events per TLP and first-seen day, updated in place: misp_feed.h);
 *              @out is not used.
 * Nothing names a member: the documents carry none, and renderers add only the community.
 *
 * Errors: 0 or negative: NODE_E_EXPORT (a document without a field the format needs, with a
 * reason), -EIO (a write failed; errno-based code when known), -ENOMEM.
 * Thread rules: writers and tables belong to one thread; the functions share no state.
 */
#ifndef CHATHAM_NODE_EXPORT_FMT_H
#define CHATHAM_NODE_EXPORT_FMT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum node_export_format {
	NODE_EXPORT_JSONL,
	NODE_EXPORT_CSV,
	NODE_EXPORT_STIX21,
	NODE_EXPORT_MISP_FEED,
	NODE_EXPORT_PLAIN,
};

/* Names: "jsonl", "csv", "stix21", "misp-feed", "plain". -1 / NULL if unknown. */
int node_export_format_from_name(const char *name);
const char *node_export_format_name(int format);

/*
 * node_export_state_name() - an indicator's state (enum proto_summary_state) as exported
 * documents, the API and the CSV column spell it: "active", "withdrawn", "expired", and
 * "observed" for PROTO_SUMMARY_OBSERVED or any other value. A static string.
 */
const char *node_export_state_name(int state);

/*
 * node_export_tmp_open() - a new temporary file (mode 0640) in directory @dir, its name into
 * @tmp (@len bytes), for node_export_tmp_install() to put in place once complete. Returns
 * its descriptor, or a negative errno (then nothing is left behind).
 */
int node_export_tmp_open(const char *dir, char *tmp, size_t len);

/*
 * node_export_tmp_install() - fsync and close @fd (from node_export_tmp_open()), then rename
 * @tmp over @path, so readers see the old file or the whole new one. On any failure @tmp is
 * removed. @fd is closed in every case. Returns 0 or a negative errno.
 */
int node_export_tmp_install(int fd, const char *tmp, const char *path);

/*
 * node_export_tmp_install_file() - node_export_tmp_install() for a stream @f on such a
 * descriptor (fdopen()): flushed, fsync'd and closed (fclose(), in every case), then @tmp
 * renamed over @path or removed. Returns 0 or a negative errno.
 */
int node_export_tmp_install_file(FILE *f, const char *tmp, const char *path);

/*
 * The fields of one export document that the renderers use. Strings are borrowed from the
 * jansson tree that was parsed and live as long as it does.
 */
struct node_export_doc {
	uint64_t seq;
	uint8_t ind_id[32];
	const char *ind_id_hex; /* 64 lower-case hex digits */
	int type;		/* enum proto_ind_type */
	const char *value;	/* canonical */
	int tlp;		/* enum proto_tlp */
	int state;		/* enum proto_summary_state */
	int confidence;		/* 0-100 */
	uint64_t first_seen_ms, last_seen_ms, modified_ms, valid_until_ms; /* valid_until: 0 none */
	const char *first_seen, *last_seen, *modified; /* RFC 3339 as in the document */
	uint64_t members, sightings, false_positives;
	json_t *tags;		 /* array of strings (borrowed) */
	const char *description; /* NULL: none */
	const char *provider;	 /* community name, NULL if absent */
	const char *warninglist; /* the warninglist the value is on (policy/warnlist.h), or NULL */
	bool withheld;		 /* kept out of blocklists: the plain format skips it */
};

/*
 * node_export_doc_parse() - read @doc (borrowed; @d borrows from it). Returns 0, or
 * NODE_E_EXPORT with *@why (if non-NULL) naming the missing or malformed field.
 */
int node_export_doc_parse(json_t *doc, struct node_export_doc *d, const char **why);

/*
 * node_export_uuid() - a deterministic RFC 4122 version-4-format UUID string (36 characters
 * and a NUL into @out) from BLAKE2b-128("chatham/uuid/1" || @ns || 0x00 || @data): the same
 * inputs always give the same id (so re-exports update objects instead of duplicating them).
 * Why not a name-based UUIDv5 (libuuid's uuid_generate_sha1): STIX 2.1 (section 2.9) says
 * domain objects, relationships, marking/meta objects and bundles SHOULD use UUIDv4 and
 * reserves v5 for cyber-observables, and every id chatham writes is one of the former (MISP
 * takes any UUID); the version-4 form with hash bits keeps the ids stable without claiming
 * to be v5. @ns and @data are borrowed.
 */
void node_export_uuid(char out[37], const char *ns, const void *data, size_t len);

/* node_export_md5_hex() - MD5 (RFC 1321) of @len bytes at @data as 32 hex digits and a NUL:
 * MISP's hashes.csv names attribute values by it. Not for security. */
void node_export_md5_hex(const void *data, size_t len, char out[33]);

/* node_export_stix_tlp_id() - the TLP 2.0 marking-definition id of @tlp, NULL if unknown. */
const char *node_export_stix_tlp_id(int tlp);

/*
 * node_export_stix_pattern() - the STIX pattern for indicator @type/@value ("[ipv4-addr:value
 * = '1.2.3.4']", "[file:hashes.'SHA-256' = '...']"), with ' and \ escaped. Returns a malloc'd
 * string (caller frees) or NULL for an unknown type or out of memory.
 */
char *node_export_stix_pattern(int type, const char *value);

/*
 * The STIX 2.1 objects of the stix21 export, shared with the TAXII server (node/taxii) so both
 * serve the same bytes for the same document. Each returns a new reference, or NULL when
 * out of memory (or, for the indicator, for a document of an unknown type or TLP).
 *
 * node_export_stix_identity() - the community's `identity` (the only created_by_ref); its
 *   times are NODE_EXPORT_STIX_IDENTITY_TIME in every export, so it never changes version.
 * node_export_stix_identity_id() - its id ("identity--<uuid>") into @out.
 * node_export_stix_marking() - the OASIS TLP 2.0 marking-definition of @tlp.
 * node_export_stix_indicator() - the `indicator` version that document @d (borrowed)
 *   describes: id from the indicator id, `modified` the document's change time, `revoked`
 *   when its state is not active (a retirement is a new version of the same id).
 */
#define NODE_EXPORT_STIX_IDENTITY_TIME "2024-01-01T00:00:00.000Z"
json_t *node_export_stix_identity(const char *community);
void node_export_stix_identity_id(const char *community, char out[64]);
json_t *node_export_stix_marking(int tlp);
json_t *node_export_stix_indicator(const struct node_export_doc *d, const char *identity_id);

struct node_misp_feed; /* node/format/misp_feed.h */

struct node_export_options {
	int format;		     /* enum node_export_format */
	const char *community;	     /* community name (identity, Orgc); borrowed, required */
	uint8_t env_id[16];	     /* the export environment's id: seeds the bundle id */
	uint64_t since;		     /* sequence the export starts after; > 0: incremental */
	const char *type_filter;     /* indicator type name the caller filtered on, or NULL */
	struct node_misp_feed *misp; /* misp-feed: the feed the writer adds to (borrowed) */
};

struct node_export_writer;

/*
 * node_export_writer_new() - a writer of @opts->format (options copied, strings borrowed)
 * onto @out (borrowed, open for writing; NULL for misp-feed, which needs @opts->misp).
 * Nothing is written before the first add or the finish. NULL when out of memory or on a bad format.
 */
struct node_export_writer *node_export_writer_new(const struct node_export_options *opts,
						  FILE *out);

/*
 * node_export_writer_add() - render one document: @raw/@raw_len (borrowed) is its stored
 * text (used verbatim by jsonl), @d its parsed fields. Returns 1 when something was written,
 * 0 when the format leaves this document out (state, see above), or a negative error.
 */
int node_export_writer_add(struct node_export_writer *w, const char *raw, size_t raw_len,
			   const struct node_export_doc *d);

/*
 * node_export_writer_finish() - write the closing parts (bundle end, marking definitions,
 * the event's tags) and flush @out. Returns 0 or a negative error (a failed write of any
 * earlier part is reported here too).
 */
int node_export_writer_finish(struct node_export_writer *w);

/* node_export_writer_count() - documents written (the add calls that returned 1). */
uint64_t node_export_writer_count(const struct node_export_writer *w);

/* node_export_writer_free() - NULL-safe; does not close @out. */
void node_export_writer_free(struct node_export_writer *w);

/*
 * Newest document per indicator. The caller walks the export feed once to record each
 * indicator's highest sequence, then walks it again and renders a document only when
 * node_export_latest_is() says it is that indicator's newest. Memory: about 48 bytes per
 * indicator.
 */
struct node_export_latest;

struct node_export_latest *node_export_latest_new(void);
/* Records @seq for @id if it is higher than the one held. Returns 0 or -ENOMEM. */
int node_export_latest_put(struct node_export_latest *t, const uint8_t id[32], uint64_t seq);
bool node_export_latest_is(const struct node_export_latest *t, const uint8_t id[32], uint64_t seq);
size_t node_export_latest_count(const struct node_export_latest *t);
void node_export_latest_free(struct node_export_latest *t);

#endif
