/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness: signed report decoding (proto_report_decode), the first thing every inbound
 * report meets. Aborts only when an invariant of proto/report.h is violated:
 *   - a rejection is a PROTO_E_* code of the proto bands that proto_error_name() knows;
 *   - an accepted input is canonical: re-encoding the decoded fields gives exactly the body
 *     bytes, and re-assembling body and signature gives exactly the input (so one report has
 *     one encoding and one report_id);
 *   - every view of an accepted report lies inside the input, counts are within the limits,
 *     the sets are ascending, and the indicator value re-parses to itself;
 *   - verification of an accepted attributed report returns 0 or PROTO_E_REPORT_SIG, of an
 *     anonymous one PROTO_E_REPORT_PROVENANCE.
 * Seeds: tests/fuzz/corpus/proto_report/ (the golden vectors and mutations of them).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/indicator.h"
#include "proto/report.h"

static struct proto_report r;

static bool inside(const void *p, size_t n, const uint8_t *buf, size_t len)
{
	const uint8_t *q = p;

	return n == 0 || (q && q >= buf && q + n <= buf + len);
}

static void check_views(const uint8_t *buf, size_t len)
{
	struct proto_indicator ind;

	if (!inside(r.body, r.body_len, buf, len) || !inside(r.sig, r.sig_len, buf, len) ||
	    !inside(r.ind_value.ptr, r.ind_value.len, buf, len) ||
	    !inside(r.description.ptr, r.description.len, buf, len))
		abort();
	if (r.n_tags > PROTO_REPORT_TAGS_MAX || r.n_recipients > PROTO_REPORT_RECIPIENTS_MAX ||
	    r.ring_n > PROTO_REPORT_RING_MAX || r.description.len > PROTO_REPORT_DESC_MAX)
		abort();
	for (size_t i = 0; i < r.n_tags; i++) {
		if (!inside(r.tags[i].ptr, r.tags[i].len, buf, len) || r.tags[i].len == 0 ||
		    r.tags[i].len > PROTO_REPORT_TAG_LEN_MAX)
			abort();
	}
	for (size_t i = 1; i < r.n_recipients; i++)
		if (memcmp(r.recipients[i - 1], r.recipients[i], 32) >= 0)
			abort();
	for (size_t i = 1; i < r.ring_n; i++)
		if (r.ring[i - 1] >= r.ring[i])
			abort();
	if (r.tlp < PROTO_TLP_CLEAR || r.tlp > PROTO_TLP_RED || r.kind > PROTO_KIND_REVOKE ||
	    r.confidence > 100 || r.created_ms == 0 || r.epoch == 0)
		abort();
	if (proto_indicator_parse(&ind, r.ind_type, r.ind_value.ptr, r.ind_value.len, NULL) != 0 ||
	    ind.len != r.ind_value.len || memcmp(ind.value, r.ind_value.ptr, ind.len) != 0)
		abort();
}

static void check_canonical(const uint8_t *buf, size_t len)
{
	uint8_t *body = NULL, *whole = NULL;
	size_t body_len, whole_len;

	if (proto_report_encode_body(&r, &body, &body_len) != 0)
		abort();
	if (body_len != r.body_len || memcmp(body, r.body, body_len) != 0)
		abort();
	if (proto_report_assemble(body, body_len, r.sig, r.sig_len, &whole, &whole_len) != 0)
		abort();
	if (whole_len != len || memcmp(whole, buf, len) != 0)
		abort();
	free(body);
	free(whole);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	int err, v;

	if (!init) {
		if (proto_crypto_init() != 0)
			abort();
		init = true;
	}
	err = proto_report_decode(&r, data, size);
	if (err) {
		/* decoding allocates nothing, so only proto codes (never -errno) can come back */
		if (err > -1000 || err < -1999 || strcmp(proto_error_name(err), "EUNKNOWN") == 0)
			abort();
		return 0;
	}
	check_views(data, size);
	check_canonical(data, size);
	v = proto_report_verify_attributed(&r, r.signer);
	if (r.prov == PROTO_PROV_ATTRIBUTED ? (v != 0 && v != PROTO_E_REPORT_SIG)
					    : v != PROTO_E_REPORT_PROVENANCE)
		abort();
	return 0;
}
