/* SPDX-License-Identifier: MIT */
/*
 * node/daemon/rerender.h — documents already in the SIEM export follow the rules they must
 * be rendered under now. The export environment records the rules its documents were
 * rendered under (store/export.h meta "rules": policy_strip_rules_id() of the snapshot, one
 * byte for [policy] export_red). When the node's rules differ (a roster epoch added a member,
 * an alias, a domain, a key; the tag vocabulary or `descriptions` changed; a new chatham
 * redacts differently; export_red was switched), before rendering anything new:
 *
 *   - export_red switched: the export is reset (store_export_reset(): no documents, a new
 *     env id) and rendered again from the whole main feed. Documents that must disappear
 *     (RED ones) cannot be taken back from a reader through an append-only feed without
 *     publishing the RED value again, so readers keyed on the env id start over instead.
 *   - otherwise every document is read again (policy_strip_recheck() on its description and
 *     tags). One whose text the new rules would redact or drop is corrected in place (its
 *     sequence and everything else kept, so a full pull no longer holds the old text), and
 *     its indicator gets a new main feed entry (store_feed_touch()), which the export then
 *     renders from the main store under a new sequence: an incremental reader receives the
 *     corrected current state. A document of RED with export_red off (an export from before
 *     rules were recorded) resets the export as above.
 *
 * Crash safety: feed entries are appended before the corrections are written and the rules
 * are recorded last, so a crash anywhere makes the next run start over, and a document
 * already corrected is simply not touched again. The whole run happens in the exporter's
 * sync job (thread pool), never on the loop.
 */
#ifndef CHATHAM_NODE_RERENDER_H
#define CHATHAM_NODE_RERENDER_H

#include <stdbool.h>
#include <stdint.h>

#include "node/common/snap.h"
#include "store/export.h"
#include "store/store.h"

#define NODE_RERENDER_RULES_LEN 17

/* node_rerender_rules() - the rules of @snap as the export records them. */
void node_rerender_rules(const struct node_snap *snap, uint8_t rules[NODE_RERENDER_RULES_LEN]);

struct node_rerender_stats {
	uint64_t checked;   /* documents read again */
	uint64_t corrected; /* documents corrected in place */
	uint64_t touched;   /* indicators given a new feed entry */
	uint64_t bad;	    /* documents that did not parse (left as they are, logged) */
	bool reset;	    /* the export was reset (export_red switched) */
	bool ran;	    /* the rules had changed */
};

/*
 * node_rerender_run() - bring the documents of @x to the rules of @snap as above; nothing
 * when they are recorded as current. @now_ms is the time of the new feed entries. Any
 * thread but the loop; the caller serialises it with every other writer of @x (the
 * exporter's one sync job). *@st (caller storage) gets the counts.
 * Returns 0, or a store or -ENOMEM error (then the rules stay unrecorded and the next call
 * starts over).
 */
int node_rerender_run(struct store *s, struct store_export *x, const struct node_snap *snap,
		      uint64_t now_ms, struct node_rerender_stats *st);

#endif
