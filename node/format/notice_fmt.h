/* SPDX-License-Identifier: MIT */
/*
 * node/format/notice_fmt.h — received notices rendered for the recipient's own tools:
 * STIX 2.1 and MISP. Pure code (no I/O, no clock): the caller passes forms that already went
 * through redaction (node_notice_form_redact()).
 *
 * STIX 2.1: one bundle with the community's identity (the only created_by_ref, as in the
 * stix21 export), the TLP 2.0 marking-definitions used, and per notice an `incident`
 * (incident and ics-incident forms) or a `vulnerability` (vuln-product, vuln-web) named and
 * described from the form, and a `note` whose content is every field of the form as
 * "field: value" lines and whose object_refs name that object. Ids are
 * node_export_uuid()s of the notice id, so a notice keeps its ids in every rendering.
 *
 * MISP: {"response": [{"Event": ...}, ...]}, one event per notice (info names the form,
 * distribution 0: this organisation only, the TLP as a tag) holding one object named after
 * the form, one attribute per field (ip-src, hostname, url, email, datetime or text).
 *
 * Thread rules: none (node_form_schema() is thread-safe after its first use).
 */
#ifndef CHATHAM_NODE_FORMAT_NOTICE_FMT_H
#define CHATHAM_NODE_FORMAT_NOTICE_FMT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One received notice to render; @form borrowed. */
struct node_notice_doc {
	uint8_t id[16];
	uint64_t created_ms;
	uint8_t tlp; /* enum proto_tlp: AMBER, AMBER+STRICT or RED */
	const json_t *form;
};

/*
 * Redaction callback: replace the free text @in (NUL-terminated) by a malloc'd *@out, or set
 * *@out = NULL to drop the field. Returns 0 or a negative error.
 */
typedef int (*node_notice_redact_fn)(void *ctx, const char *in, char **out);

/*
 * node_notice_form_redact() - a copy of @form (borrowed) in which every free-text string (a
 * field, or an array's strings, whose schema says "x-free-text": true: what a person wrote,
 * where a member may be named) went through @fn; dropped strings are removed (an array left
 * empty too). Addresses, host and product names, enums and times are kept as they are. New reference, or
 * NULL (out of memory, unknown form, or @fn's error).
 */
json_t *node_notice_form_redact(const json_t *form, node_notice_redact_fn fn, void *ctx);

/* node_notice_stix_bundle() - the bundle of @n notices; new reference or NULL. */
json_t *node_notice_stix_bundle(const struct node_notice_doc *docs, size_t n,
				const char *community);

/* node_notice_misp() - the events of @n notices; new reference or NULL. */
json_t *node_notice_misp(const struct node_notice_doc *docs, size_t n, const char *community);

#endif
