/* SPDX-License-Identifier: MIT */
/*
 * node/taxii/index.h — what chatham-taxii knows about the export environment, in memory:
 * every document of the export feed is one version of one STIX indicator, in feed order.
 *
 * Per version: its feed sequence, its TLP (the collection it belongs to), its STIX `modified`
 * and its TAXII date_added. date_added is the document's change time in microseconds, raised
 * to one microsecond past the previous version's when it would not be later: it is strictly
 * increasing in feed order, so `added_after` with the X-TAXII-Date-Added-Last of a page never
 * skips or repeats a version even when many documents share one millisecond, and it is a
 * pure function of the feed, so it is the same after a restart.
 * Per indicator: the STIX UUID (node_export_uuid of the indicator id) and, per TLP, its first
 * and last version, with the versions of one indicator chained.
 *
 * A document whose state is "observed" (sightings or false positives only, never reported as
 * an indicator) is not a version unless the indicator already has a version at that TLP (then
 * it retires it). Documents that do not parse are counted and left out.
 *
 * Memory: about 110 bytes per document plus 64 per indicator.
 * Thread rules: taxii_index_refresh() and the readers may run in any threads; readers take
 * taxii_index_rdlock() around every access to versions/indicators and never keep pointers
 * past taxii_index_unlock() (a refresh may move the arrays).
 * Errors: negative errno or store codes.
 */
#ifndef CHATHAM_NODE_TAXII_INDEX_H
#define CHATHAM_NODE_TAXII_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/export.h"

#define TAXII_NONE UINT32_MAX

struct taxii_version {
	uint64_t seq;
	uint64_t added_us;
	uint64_t modified_ms; /* the STIX `modified` of the rendered indicator */
	uint32_t ind;	      /* index into taxii_index_ind() */
	uint32_t next_same;   /* next version of the same indicator, TAXII_NONE at the end */
	uint8_t tlp;
};

struct taxii_ind {
	uint8_t uuid[16];
	uint32_t first[6], last[6]; /* per enum proto_tlp: version index or TAXII_NONE */
	uint32_t head;		    /* first version at any TLP */
	uint32_t tail;		    /* last version at any TLP (chain append) */
};

struct taxii_index;

/* taxii_index_new() - an empty index over @x (borrowed; must outlive the index). */
struct taxii_index *taxii_index_new(struct store_export *x);
void taxii_index_free(struct taxii_index *idx);

/*
 * taxii_index_refresh() - add the documents written since the last refresh, at most
 * @max_docs (0: all) in this call. Returns the number added (0: up to date) or an error.
 * Concurrent calls serialise; readers wait only while the new versions are appended.
 */
int taxii_index_refresh(struct taxii_index *idx, size_t max_docs);

void taxii_index_rdlock(struct taxii_index *idx);
void taxii_index_unlock(struct taxii_index *idx);

/* Under the read lock: the arrays and their lengths. */
const struct taxii_version *taxii_index_versions(const struct taxii_index *idx, size_t *n);
const struct taxii_ind *taxii_index_ind(const struct taxii_index *idx, size_t *n);

/* Under the read lock: the indicator with STIX UUID @uuid, or TAXII_NONE. */
uint32_t taxii_index_find(const struct taxii_index *idx, const uint8_t uuid[16]);

/* Under the read lock: the first version whose date_added is later than @us (binary search). */
size_t taxii_index_after(const struct taxii_index *idx, uint64_t us);

/* Documents skipped because they did not parse (each is logged once by the caller's code). */
uint64_t taxii_index_bad_docs(const struct taxii_index *idx);

#endif
