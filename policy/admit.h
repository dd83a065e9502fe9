/* SPDX-License-Identifier: MIT */
/*
 * policy/admit.h — admission of inbound reports (DESIGN.md §6). Fail closed.
 *
 * Every report that reaches the store — published locally, delivered directly by a member,
 * or relayed by gossip/reconciliation — passes policy_admit_check() first. The answer is
 * POLICY_ACCEPT or one reason code; the node counts rejections per code and shows them in
 * `status`. Codes are stable: never renumber, only append before POLICY_REASON_COUNT.
 *
 * Checks, in this order (the first failure is the answer; cheap checks run before the
 * signature so a flood of junk costs little):
 *   1. canonical decoding (bytes entry point only): PROTO_E_REPORT_TLP -> TLP,
 *      PROTO_E_REPORT_PROVENANCE -> PROVENANCE (this is also where the decoder refuses an
 *      anonymous AMBER/RED report), PROTO_E_REPORT_SIG (signature length does not fit the
 *      provenance) -> BAD_SIGNATURE, anything else -> ENCODING;
 *   2. TLP present and known (CLEAR..RED)                                      -> TLP
 *   3. community id equals cfg->community                                       -> COMMUNITY
 *   4. provenance kind known                                                    -> PROVENANCE
 *      anonymous provenance only with CLEAR/GREEN                              -> ANON_RESTRICTED
 *   5. `created` and `valid_until` inside the codec's range (1 ms ..
 *      PROTO_REPORT_TIME_MAX_MS, valid_until > created; a report struct that did not
 *      come from the decoder can break it)                                       -> ENCODING
 *      `created` at most cfg->max_skew_ms after ctx->now_ms                     -> FUTURE
 *   6. arrival kind known                                                       -> ARRIVAL
 *      a LOCAL attributed report is signed by cfg->own_id                       -> NOT_OWN
 *   7. AMBER, AMBER+STRICT, RED: LOCAL (own report, checked in 6), or DIRECT with the link
 *      peer equal to the signer or its successor in ctx->newest (a member that replaced its
 *      keys since; else RELAYED; GOSSIP is always RELAYED), and then
 *      cfg->own_id among the recipients, or a recipient retired in ctx->newest with
 *      cfg->own_id as its successor (policy_egress_named_recipient(): a member that
 *      replaced its keys still receives what was addressed to its old id) -> NOT_RECIPIENT
 *   8. the roster of the named epoch is held (ctx->roster_for_epoch)             -> UNKNOWN_EPOCH
 *      (a NULL callback is a caller bug                                          -> INTERNAL)
 *   9. when the community's max_report_age_ms is not 0, `created` is at most that
 *      much older than ctx->now_ms                                              -> TOO_OLD
 *  10. attributed: the signer is a member of that roster                        -> NOT_MEMBER
 *      and not retired (proto/roster.h) in the settings roster with `created` after the
 *      entry's not_after_ms                                                       -> REVOKED
 *      and a member of the newest roster, or retired there (with `created` before
 *      not_after_ms: a report from before the key was retired)                   -> EXPELLED
 *      and, for CLEAR/GREEN, the community does not require anonymity           -> ATTRIBUTED
 *      (AMBER/RED cannot be anonymous, so require_anonymous does not apply to them);
 *      anonymous: every ring index names a member of that roster                -> RING_MEMBER
 *      and the ring holds at least min_ring_size keys                           -> RING_TOO_SMALL
 *      and no ring member is retired with `created` after its not_after_ms       -> REVOKED
 *      and no ring member is retired with a successor (whenever `created`)       -> ROTATED
 *      and every ring member is in the newest roster or retired there            -> EXPELLED
 *      (REVOKED outranks ROTATED, which outranks EXPELLED, whatever the ring order.
 *      A ring of an old epoch proves only that one of its members signed. Once a key
 *      in it is retired, that one may be whoever holds the retired key, so a report
 *      created after the retirement over such a ring is refused; one created before
 *      stays valid, unless the key was retired with a successor (a rotation): that member
 *      holds a new ring key with another linkability tag, and `created` is the signer's
 *      choice, so a report over the old ring could be its second vote. Such reports are
 *      refused from the retiring epoch on, whatever their date; those a node admitted
 *      before stay. The honest members publish over the newer epoch's ring.)
 *  11. the signature verifies: Ed25519 by the signer's identity key, or the linkable ring
 *      signature (proto/ring.h) over "chatham/report/1" || body with the ring keys of that
 *      roster (the whole roster in member order when the report names no ring, else the
 *      named members in index order), the report's indicator id and epoch, and a tag equal
 *      to the report's linkability tag                                           -> BAD_SIGNATURE
 *      (out of memory during ring verification                                   -> INTERNAL)
 *
 * Community settings (require_anonymous, min_ring_size, max_report_age_ms) and retired keys
 * are read from
 * ctx->newest when given (the node's newest roster: settings changes apply at once, to old
 * epochs too) and otherwise from the roster of the report's epoch.
 *
 * Pure: no clock (ctx->now_ms), no I/O. Thread-safe as long as the roster callback is.
 */
#ifndef CHATHAM_POLICY_ADMIT_H
#define CHATHAM_POLICY_ADMIT_H

#include <stddef.h>
#include <stdint.h>

#include "policy/config.h"
#include "proto/report.h"
#include "proto/roster.h"

#define POLICY_REASONS(X)                                                                          \
	X(POLICY_ACCEPT, 0, "accept", "accepted")                                                  \
	X(POLICY_REJECT_ENCODING, 1, "encoding", "not a valid canonical report encoding")          \
	X(POLICY_REJECT_TLP, 2, "tlp", "TLP missing or unknown")                                   \
	X(POLICY_REJECT_PROVENANCE, 3, "provenance",                                               \
	  "invalid provenance (anonymous AMBER/RED, malformed ring or epoch)")                     \
	X(POLICY_REJECT_COMMUNITY, 4, "community", "report is for another community")              \
	X(POLICY_REJECT_ANON_RESTRICTED, 5, "anonymous_restricted",                                \
	  "anonymous provenance is allowed only for TLP:CLEAR and TLP:GREEN")                      \
	X(POLICY_REJECT_FUTURE, 6, "future", "created too far in the future")                      \
	X(POLICY_REJECT_TOO_OLD, 7, "too_old", "older than the community's maximum report age")    \
	X(POLICY_REJECT_ARRIVAL, 8, "arrival", "unknown arrival kind")                             \
	X(POLICY_REJECT_NOT_OWN, 9, "not_own", "locally published report not signed by this node") \
	X(POLICY_REJECT_RELAYED, 10, "relayed",                                                    \
	  "AMBER/RED report did not arrive directly from its signer")                              \
	X(POLICY_REJECT_NOT_RECIPIENT, 11, "not_recipient",                                        \
	  "AMBER/RED report does not name this node as a recipient")                               \
	X(POLICY_REJECT_UNKNOWN_EPOCH, 12, "unknown_epoch", "roster epoch not held")               \
	X(POLICY_REJECT_NOT_MEMBER, 13, "not_member",                                              \
	  "signer is not a member of the named roster epoch")                                      \
	X(POLICY_REJECT_ATTRIBUTED, 14, "attributed_forbidden",                                    \
	  "community requires anonymous reports")                                                  \
	X(POLICY_REJECT_RING_MEMBER, 15, "ring_member",                                            \
	  "ring names a member index outside the roster")                                          \
	X(POLICY_REJECT_RING_TOO_SMALL, 16, "ring_too_small",                                      \
	  "ring smaller than the community's minimum ring size")                                   \
	X(POLICY_REJECT_BAD_SIGNATURE, 17, "bad_signature", "signature does not verify")           \
	X(POLICY_REJECT_INTERNAL, 18, "internal",                                                  \
	  "verification could not run (out of memory or invalid arguments); retry later")          \
	X(POLICY_REJECT_EXPELLED, 19, "expelled",                                                  \
	  "signer, or a member of the ring, is not in the newest roster")                          \
	X(POLICY_REJECT_RATE_LIMITED, 20, "rate_limited",                                          \
	  "member over its report rate limit (policy/rate.h); catch-up brings it later")           \
	X(POLICY_REJECT_REVOKED, 21, "revoked",                                                    \
	  "signed with a key (or over a ring holding one) retired before the report was created")  \
	X(POLICY_REJECT_ROTATED, 22, "rotated",                                                    \
	  "over a ring holding a key its member has replaced since (a second vote)")

enum policy_reason {
#define POLICY_REASON_ENUM(name, value, id, text) name = (value),
	POLICY_REASONS(POLICY_REASON_ENUM)
#undef POLICY_REASON_ENUM
		POLICY_REASON_COUNT
};

/* How the report reached this node. */
enum policy_arrival {
	POLICY_ARRIVAL_LOCAL = 1,  /* published through the local API/CLI */
	POLICY_ARRIVAL_DIRECT = 2, /* direct delivery message on a member link */
	POLICY_ARRIVAL_GOSSIP = 3, /* gossip, reconciliation or stem on a member link */
};

/*
 * The roster of @epoch, or NULL when it is not held. The returned roster is borrowed and
 * must stay valid until the admission call returns. @ctx is policy_admit_ctx.roster_ctx.
 */
typedef const struct proto_roster *(*policy_roster_fn)(void *ctx, uint64_t epoch);

struct policy_admit_ctx {
	uint64_t now_ms;  /* the node's clock, ms since the Unix epoch */
	uint8_t arrival;  /* enum policy_arrival */
	uint8_t peer[32]; /* DIRECT/GOSSIP: member id of the authenticated link peer */
	policy_roster_fn roster_for_epoch; /* required */
	void *roster_ctx;		   /* passed to roster_for_epoch */
	const struct proto_roster *newest; /* optional (borrowed): source of community settings */
	/*
	 * LOCAL only: the caller signed this report itself, in this process, with this node's
	 * identity key, just before asking. The Ed25519 re-verification (about 50 us, most of the
	 * cost of a local publish) is then skipped; every other check still runs. Ignored for any
	 * other arrival or signer, so a report from outside can never use it.
	 */
	bool signed_here;
};

/*
 * policy_admit_check() - decode the signed report in @buf (@len bytes, borrowed) into @r
 * (caller storage; it borrows from @buf afterwards) and run every check above.
 * @cfg and @ctx are borrowed. Returns POLICY_ACCEPT or the first POLICY_REJECT_* that applies;
 * @r is only meaningful when decoding succeeded (any reason other than ENCODING, TLP or
 * PROVENANCE from step 1).
 */
enum policy_reason policy_admit_check(const struct policy_config *cfg,
				      const struct policy_admit_ctx *ctx, const uint8_t *buf,
				      size_t len, struct proto_report *r);

/*
 * policy_admit_check_report() - steps 2-11 for a report already decoded by
 * proto_report_decode() (@r borrowed, and the buffer it borrows from must still be valid:
 * the signature check reads r->body and r->sig).
 */
enum policy_reason policy_admit_check_report(const struct policy_config *cfg,
					     const struct policy_admit_ctx *ctx,
					     const struct proto_report *r);

/*
 * policy_admit_reason_name() - stable machine-readable id ("bad_signature"), for counters and
 * API responses; policy_admit_reason_text() - operator text ("signature does not verify").
 * Both return static strings; "unknown" for a value outside the enum.
 */
const char *policy_admit_reason_name(int reason);
const char *policy_admit_reason_text(int reason);

#endif
