/* SPDX-License-Identifier: MIT */
/*
 * policy/strip.h — Chatham House stripping: the views that may leave the community boundary
 * (SIEM export, public feed, local output without show_attribution). DESIGN.md §6.
 *
 * A view carries aggregates and redacted text only. It has no field for, and is never filled
 * from: signer ids or keys, linkability tags, recipients, received-from, network addresses,
 * roster indexes. The only attribution it carries is `reported_by_us`/`ours`, which names
 * the node's own organisation and nobody else.
 *
 * Text (descriptions and tags) goes through policy/redact.h against a redactor built from
 * the node's rosters. Tags are additionally filtered:
 *   - tags beginning (after leading ASCII spaces, ASCII case-insensitive) with "org:",
 *     "source:" or "reporter:" are dropped: they exist to attribute;
 *   - a tag in cfg->tag_vocab (policy/vocab.h) is kept as it is; every other tag is
 *     redacted as text;
 *   - a tag that, once redacted, has no letter or digit left outside "[member]" tokens is
 *     dropped: all it would say is that some member was named.
 * Then every tag and the description of the view are read once more TOGETHER
 * (policy_redact_fields()): a name spelled across fields ("CERT" + "Alpha" as two tags, or
 * a tag and the description, in any order) is redacted in each field it touches; a vocabulary tag it
 * touches is dropped rather than rewritten. A field the redactor cannot make safe
 * (POLICY_REDACT_DROPPED) is left out and counted in the view's n_dropped.
 * Descriptions follow cfg->descriptions: redact (default), drop, or keep — verbatim only
 * for a TLP:CLEAR report attributed to cfg->own_id, redacted for every other report. Any
 * other value of cfg->descriptions drops (fail closed).
 *
 * Views are caller storage (large: tens of kilobytes, allocate them on the heap); every
 * string in them is NUL-terminated, owned by the view, and valid UTF-8 when the inputs were.
 * All functions are pure and thread-safe; inputs are borrowed.
 */
#ifndef CHATHAM_POLICY_STRIP_H
#define CHATHAM_POLICY_STRIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/config.h"
#include "policy/redact.h"
#include "proto/report.h"
#include "proto/summary.h"

#define POLICY_VIEW_TAGS_MAX 16 /* distinct tags kept per indicator */
#define POLICY_VIEW_TAG_MAX POLICY_REDACT_OUT_MAX(PROTO_REPORT_TAG_LEN_MAX)
#define POLICY_VIEW_DESC_MAX POLICY_REDACT_OUT_MAX(PROTO_REPORT_DESC_MAX)

/* The export view of one indicator. */
struct policy_view {
	struct proto_indicator ind; /* type and canonical value */
	uint8_t tlp;		    /* strictest TLP of the summary and the votes */
	uint8_t state;		    /* enum proto_summary_state */
	uint8_t confidence;	    /* aggregate (the summary's) */
	uint64_t first_seen_ms;
	uint64_t last_seen_ms;
	uint64_t valid_until_ms; /* 0: no expiry */
	uint32_t n_members;	 /* distinct reporting members (live indicator votes) */
	uint32_t n_sightings;
	uint32_t n_false_positive;
	bool reported_by_us; /* a live indicator vote in the input is this node's own */
	size_t n_tags;
	char tags[POLICY_VIEW_TAGS_MAX][POLICY_VIEW_TAG_MAX + 1]; /* most frequent first */
	bool has_description;
	size_t description_len;
	char description[POLICY_VIEW_DESC_MAX + 1];
	char community[PROTO_ROSTER_NAME_MAX + 1]; /* cfg->community_name */
	uint32_t n_dropped; /* tags and descriptions left out because they could not be
			     * redacted safely (never counts tags dropped by prefix) */
	/*
	 * The cfg->warnlist list the indicator matches (borrowed from it), or NULL; @withheld
	 * when it matches and cfg->export_warninglisted is off: the value must not reach a
	 * blocklist (the `plain` export, ECS threat.indicator value fields).
	 */
	const char *warninglist;
	bool withheld;
};

/*
 * policy_strip_view() - fill @v (caller storage) with the export view of one indicator.
 * @cfg:     own_id, descriptions mode, community name.
 * @rd:      redactor over the node's rosters (NULL: no roster held; then every description
 *           and tag that would need redaction is dropped instead, fail closed).
 * @s:       the store's summary of the indicator (counts, times, state, strictest TLP).
 * @votes:   @n_votes decoded reports of the indicator: its current votes (and, if the caller
 *           wishes, its sightings), used for tags, the description and reported_by_us.
 *           Every one must be on the summary's indicator.
 * @own_tag: optional (NULL or 32 bytes): this node's linkability tag on this indicator, so
 *           that its own anonymous reports count for reported_by_us.
 *
 * Tags: the stripped tags of all @votes, deduplicated ASCII case-insensitively, the most
 * frequent first (ties in byte order), at most POLICY_VIEW_TAGS_MAX.
 * Description: from the newest `indicator` vote that has one (else the newest vote of any
 * kind that has one; ties go to the earlier in @votes), treated per cfg->descriptions.
 *
 * Returns 0; -EINVAL when the summary's or a vote's TLP is unknown (an unmarked export is
 * never produced), the summary's indicator type is unknown, or a vote is on another
 * indicator; -ENOMEM. On error @v is zeroed.
 */
int policy_strip_view(struct policy_view *v, const struct policy_config *cfg,
		      const struct policy_redactor *rd, const struct proto_summary *s,
		      const struct proto_report *const *votes, size_t n_votes,
		      const uint8_t *own_tag);

/*
 * A batch: policy_strip_view() in stages over many views (loop fission, the export's strip
 * stage), with the same result for each view, byte for byte. The stages are those of
 * policy_strip_view() for one view: add (its checks, the texts to redact and their output
 * room), redact (policy_redact_fields() for every view added, back to back, so the
 * redactor's code and tables stay in the caches across them), then view (each view filled).
 * A batch holds up to 128 views, 512 texts and 256 KiB of output room, allocated once
 * (~310 KiB with its bookkeeping); a view too large for an empty batch gets an allocation
 * of its own until the batch is cleared. Not thread-safe (one batch per thread).
 */
struct policy_strip_batch;

/* policy_strip_batch_add() result: the batch has no room for the view; it was not added. */
#define POLICY_STRIP_FULL 1

/*
 * policy_strip_batch_new() - an empty batch stripping under @cfg and @rd (both borrowed for
 * the batch's life; @rd may be NULL, as for policy_strip_view()). NULL when out of memory.
 */
struct policy_strip_batch *policy_strip_batch_new(const struct policy_config *cfg,
						  const struct policy_redactor *rd);

/* policy_strip_batch_free() - free @b and what it holds. NULL is a no-op. */
void policy_strip_batch_free(struct policy_strip_batch *b);

/* policy_strip_batch_clear() - drop every view of @b (its room stays for the next). */
void policy_strip_batch_clear(struct policy_strip_batch *b);

/* policy_strip_batch_len() - the number of views added to @b since it was last cleared. */
size_t policy_strip_batch_len(const struct policy_strip_batch *b);

/*
 * policy_strip_batch_add() - the first stage of policy_strip_view() for one view (its
 * parameters as there), which becomes view number policy_strip_batch_len() - 1 of @b.
 * @s and @votes (the reports and their texts) stay borrowed until the view is taken
 * (policy_strip_batch_view()) or @b cleared; @own_tag is not kept.
 * Returns 0 (added); POLICY_STRIP_FULL (not added: take the views, clear @b and add it
 * again; an empty batch is never full); -EINVAL where policy_strip_view() fails with it;
 * -ENOMEM. Nothing is added on error.
 */
int policy_strip_batch_add(struct policy_strip_batch *b, const struct proto_summary *s,
			   const struct proto_report *const *votes, size_t n_votes,
			   const uint8_t *own_tag);

/* policy_strip_batch_redact() - the redaction of every view added to @b since its last call. */
void policy_strip_batch_redact(struct policy_strip_batch *b);

/*
 * policy_strip_batch_view() - view @k (< policy_strip_batch_len()) of @b, redacted, into @v
 * (caller storage): what policy_strip_view() gives for it. Returns 0, or the redaction's
 * error (-ENOSPC, -ENOMEM: as policy_strip_view()); on error @v is zeroed.
 */
int policy_strip_batch_view(struct policy_strip_batch *b, size_t k, struct policy_view *v);

/*
 * The stripped form of one report, for local output without show_attribution (e.g. the
 * reports behind an indicator in `chatham query`). No signer, tag, recipients or epoch.
 */
struct policy_report_view {
	uint8_t kind; /* enum proto_report_kind */
	uint8_t tlp;
	uint8_t confidence;
	uint64_t created_ms;
	uint64_t valid_until_ms;
	bool ours; /* attributed to cfg->own_id, or anonymous with the given own tag */
	size_t n_tags;
	char tags[PROTO_REPORT_TAGS_MAX][POLICY_VIEW_TAG_MAX + 1]; /* in report order */
	bool has_description;
	size_t description_len;
	char description[POLICY_VIEW_DESC_MAX + 1];
	uint32_t n_dropped; /* as in struct policy_view */
};

/*
 * policy_strip_report() - fill @v (caller storage) from @r with the same tag and description
 * rules as policy_strip_view(). @own_tag as there. Returns 0, -EINVAL (unknown TLP), -ENOMEM;
 * on error @v is zeroed.
 */
int policy_strip_report(struct policy_report_view *v, const struct policy_config *cfg,
			const struct policy_redactor *rd, const struct proto_report *r,
			const uint8_t *own_tag);

/*
 * policy_strip_rules_id() - 16 bytes into @id naming the rules that decide the text of every
 * view besides its inputs: the redactor's patterns (policy_redact_fingerprint()), the tag
 * vocabulary (policy_vocab_fingerprint()), cfg->descriptions and cfg->own_id. Views of equal
 * inputs under equal ids have equal text; when the id changes, text that already left may
 * now need redaction (policy_strip_recheck()).
 */
void policy_strip_rules_id(const struct policy_config *cfg, const struct policy_redactor *rd,
			   uint8_t id[16]);

/*
 * policy_strip_recheck() - read text that already left, a rendered view's description
 * (@desc, @desc_len bytes; NULL: none) and tags (@n_tags of them, @tags[i] with @tag_lens[i]
 * bytes), again under @cfg and @rd, with the rules policy_strip_view() applies to votes: the
 * tag prefix rule and vocabulary, every tag and the description read together, cfg->
 * descriptions (drop removes the description; keep cannot tell this node's own verbatim
 * text from a redacted one, so it redacts like redact). @v (caller storage) receives the
 * result in n_tags/tags (input order, dropped tags left out), has_description/description/
 * description_len and n_dropped; its other fields are zero.
 * The inputs must not point into @v.
 * Returns 1 when the result differs from the input (a tag or the description would now be
 * redacted or dropped), 0 when it is the same, -EINVAL when @n_tags > POLICY_VIEW_TAGS_MAX,
 * -ENOMEM. On error @v is zeroed.
 */
int policy_strip_recheck(struct policy_view *v, const struct policy_config *cfg,
			 const struct policy_redactor *rd, const char *desc, size_t desc_len,
			 const char *const *tags, const size_t *tag_lens, size_t n_tags);

/*
 * policy_strip_tag() - one tag through the tag rules: @tag (@len bytes, borrowed) into @out
 * (@cap bytes; @cap >= POLICY_VIEW_TAG_MAX + 1 suffices for any tag a report can carry).
 * Returns 1 when the tag is kept (*@out_len set, may be NULL), 0 when it is dropped (@out is
 * then ""), -ENOSPC, -ENOMEM. @rd NULL: every tag that is not dropped by prefix is dropped
 * too (nothing can be checked against a roster). The vocabulary and the cross-field check
 * are not applied here (they need the view).
 */
int policy_strip_tag(const struct policy_redactor *rd, const char *tag, size_t len, char *out,
		     size_t cap, size_t *out_len);

#endif
