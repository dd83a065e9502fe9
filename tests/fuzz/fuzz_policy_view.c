/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness: the Chatham House views (policy/strip.h) built from fuzzed rosters and votes.
 *
 * Input: a member-count byte (1..6) and four NUL-terminated strings per member (name, alias,
 * domain, address), then a config byte (descriptions mode incl. an invalid one, own member,
 * whether a redactor exists), a summary TLP byte and a vote-count byte (1..4), then per vote
 * five bytes (kind, TLP, provenance, signer, tag count) followed by its tags and its
 * description as NUL-terminated strings.
 * The harness aborts when an invariant is violated:
 *   - policy_strip_view()/policy_strip_report() succeed on valid inputs, every string in a
 *     view is NUL-terminated at its stated length and within its buffer, at most
 *     POLICY_VIEW_TAGS_MAX tags, TLP the strictest of summary and votes;
 *   - no kept tag starts with org:/source:/reporter:, no two kept tags of a view are equal
 *     but for ASCII case (merged), and all view text is valid UTF-8 when the inputs were;
 *   - no member's plain-ASCII name, alias or domain is a whole word of a tag or description,
 *     except a description kept verbatim in keep mode from our own TLP:CLEAR report;
 *   - the staged strip (policy_strip_batch_*(), the export's) gives the view byte for byte,
 *     each of three copies of it in one batch, read by the redactor with its memo off.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/redact_test.h"
#include "policy/strip.h"
#include "proto/mp.h"
#include "proto/roster.h"
#include "fuzz_input.h"

#define MAX_MEMBERS 6
#define MAX_VOTES 4
#define STR_MAX 96

static bool alnum(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/* Whether NUL-terminated @a and @b are equal but for ASCII case. */
static bool same_but_case(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (lower((uint8_t)*a) != lower((uint8_t)*b))
			return false;
	return *a == *b;
}

static bool checkable(const char *w)
{
	size_t n = strlen(w);

	if (n == 0 || !alnum((uint8_t)w[0]) || !alnum((uint8_t)w[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!alnum((uint8_t)w[i]) && w[i] != '.')
			return false;
	for (size_t i = 0; i + 1 < n; i++)
		if (w[i] == '.' && w[i + 1] == '.')
			return false;
	return !(n == 6 && lower((uint8_t)w[0]) == 'm' && lower((uint8_t)w[1]) == 'e' &&
		 lower((uint8_t)w[2]) == 'm' && lower((uint8_t)w[3]) == 'b' &&
		 lower((uint8_t)w[4]) == 'e' && lower((uint8_t)w[5]) == 'r');
}

static bool has_word(const char *str, size_t len, const char *w)
{
	const uint8_t *s = (const uint8_t *)str;
	size_t n = strlen(w);

	for (size_t i = 0; i + n <= len; i++) {
		size_t k = 0;

		if (i > 0 && (s[i - 1] >= 0x80 || alnum(s[i - 1])))
			continue;
		while (k < n && lower(s[i + k]) == lower((uint8_t)w[k]))
			k++;
		if (k < n)
			continue;
		if (i + n < len && (s[i + n] >= 0x80 || alnum(s[i + n])))
			continue;
		return true;
	}
	return false;
}

static char mstr[MAX_MEMBERS][4][STR_MAX + 1];
static size_t n_members;
static bool inputs_utf8;

static void check_text(const char *s, size_t len, size_t cap)
{
	if (len >= cap || s[len] != '\0' || strlen(s) != len)
		abort();
	if (inputs_utf8 && !proto_mp_utf8_valid(s, len))
		abort();
}

static bool names_member(const char *s, size_t len)
{
	for (size_t i = 0; i < n_members; i++)
		for (int k = 0; k < 3; k++)
			if (checkable(mstr[i][k]) && has_word(s, len, mstr[i][k]))
				return true;
	return false;
}

static bool attributing(const char *tag)
{
	static const char *const pfx[] = {"org:", "source:", "reporter:"};

	while (*tag == ' ' || *tag == '\t')
		tag++;
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(pfx[i]), k = 0;

		while (k < n && tag[k] && lower((uint8_t)tag[k]) == (uint8_t)pfx[i][k])
			k++;
		if (k == n)
			return true;
	}
	return false;
}

/* Whether @d (len) is verbatim the description of our own TLP:CLEAR vote in keep mode. */
static bool kept_verbatim(const struct policy_config *cfg, const struct proto_report *votes,
			  size_t n_votes, const char *d, size_t len)
{
	if (cfg->descriptions != POLICY_DESC_KEEP)
		return false;
	for (size_t i = 0; i < n_votes; i++) {
		const struct proto_report *r = &votes[i];

		if (r->tlp == PROTO_TLP_CLEAR && r->prov == PROTO_PROV_ATTRIBUTED &&
		    memcmp(r->signer, cfg->own_id, 32) == 0 && r->description.len == len &&
		    memcmp(r->description.ptr, d, len) == 0)
			return true;
	}
	return false;
}

/*
 * Whether @n_votes votes @vp stripped three times in one batch give @want each time (abort
 * if not). The memo is switched off so that each copy is read. 0, or -ENOMEM.
 */
static int same_in_batch(const struct policy_view *want, const struct policy_config *cfg,
			 struct policy_redactor *rd, const struct proto_summary *s,
			 const struct proto_report *const *vp, size_t n_votes,
			 struct policy_view *got)
{
	struct policy_strip_batch *b = policy_strip_batch_new(cfg, rd);
	int rc = 0;

	if (!b)
		return -ENOMEM;
	policy_redact_memo_set(rd, false);
	for (int k = 0; k < 3 && rc == 0; k++)
		rc = policy_strip_batch_add(b, s, vp, n_votes, NULL);
	if (rc == 0) {
		policy_strip_batch_redact(b);
		for (size_t k = 0; k < policy_strip_batch_len(b) && rc == 0; k++) {
			memset(got, 0, sizeof(*got));
			rc = policy_strip_batch_view(b, k, got);
			if (rc == 0 && memcmp(got, want, sizeof(*got)) != 0)
				abort();
		}
	}
	if (rc != 0 && rc != -ENOMEM)
		abort();
	policy_redact_memo_set(rd, true);
	policy_strip_batch_free(b);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char tags[MAX_VOTES][PROTO_REPORT_TAGS_MAX][PROTO_REPORT_TAG_LEN_MAX + 1];
	static char descs[MAX_VOTES][PROTO_REPORT_DESC_MAX + 1];
	static struct proto_report votes[MAX_VOTES];
	static const char value[] = "evil.example";
	static struct policy_view view, bview;
	static struct policy_report_view rview;
	const struct proto_report *vp[MAX_VOTES];
	struct fuzz_input in = {data, size};
	struct proto_roster *r = proto_roster_new();
	const struct proto_roster *rs[1] = {r};
	struct policy_redactor *rd = NULL;
	struct policy_config cfg;
	struct proto_summary s;
	size_t n_votes, own;
	uint8_t cfg_byte, max_tlp;
	int rc;

	if (!r)
		return 0;
	inputs_utf8 = true;
	r->epoch = 1;
	n_members = 1 + fuzz_take(&in) % MAX_MEMBERS;
	for (size_t i = 0; i < n_members; i++) {
		for (int k = 0; k < 4; k++) {
			size_t len = fuzz_take_str(&in, mstr[i][k], STR_MAX);

			inputs_utf8 &= proto_mp_utf8_valid(mstr[i][k], len);
		}
		if (fuzz_roster_add(r, i, mstr[i][0], mstr[i][1], mstr[i][2], mstr[i][3]) != 0)
			goto out;
	}

	cfg_byte = fuzz_take(&in);
	policy_config_init(&cfg);
	own = (cfg_byte >> 2) % n_members;
	memcpy(cfg.own_id, r->members[own].id, 32);
	cfg.descriptions = cfg_byte & 3; /* 3 is not a mode: must behave like drop */
	policy_config_set_community_name(&cfg, "fuzz community");
	if (!(cfg_byte & 0x80)) {
		rd = policy_redact_new(rs, 1);
		if (!rd)
			goto out;
	}

	memset(&s, 0, sizeof(s));
	s.ind.type = PROTO_IND_DOMAIN;
	s.ind.len = sizeof(value) - 1;
	memcpy(s.ind.value, value, sizeof(value));
	s.tlp = (uint8_t)(1 + fuzz_take(&in) % 5);
	max_tlp = s.tlp;
	n_votes = 1 + fuzz_take(&in) % MAX_VOTES;
	for (size_t i = 0; i < n_votes; i++) {
		struct proto_report *v = &votes[i];
		size_t len;

		memset(v, 0, sizeof(*v));
		vp[i] = v;
		v->kind = fuzz_take(&in) % 4;
		v->tlp = (uint8_t)(1 + fuzz_take(&in) % 5);
		if (v->tlp > max_tlp)
			max_tlp = v->tlp;
		v->prov = fuzz_take(&in) % 2;
		memcpy(v->signer, r->members[fuzz_take(&in) % n_members].id, 32);
		if (v->prov == PROTO_PROV_ANONYMOUS)
			memset(v->link_tag, 0x5A, 32);
		v->created_ms = i * 1000;
		v->ind_type = PROTO_IND_DOMAIN;
		v->ind_value.ptr = value;
		v->ind_value.len = sizeof(value) - 1;
		v->n_tags = fuzz_take(&in) % (PROTO_REPORT_TAGS_MAX + 1);
		for (size_t t = 0; t < v->n_tags; t++) {
			len = fuzz_take_str(&in, tags[i][t], PROTO_REPORT_TAG_LEN_MAX);
			inputs_utf8 &= proto_mp_utf8_valid(tags[i][t], len);
			v->tags[t].ptr = tags[i][t];
			v->tags[t].len = len;
		}
		len = fuzz_take_str(&in, descs[i], PROTO_REPORT_DESC_MAX);
		inputs_utf8 &= proto_mp_utf8_valid(descs[i], len);
		v->description.ptr = descs[i];
		v->description.len = len;
	}

	memset(&view, 0, sizeof(view));
	rc = policy_strip_view(&view, &cfg, rd, &s, vp, n_votes, NULL);
	if (rc == -ENOMEM)
		goto out;
	if (rc == 0 && same_in_batch(&view, &cfg, rd, &s, vp, n_votes, &bview) < 0)
		goto out;
	if (rc != 0 || view.tlp != max_tlp || view.n_tags > POLICY_VIEW_TAGS_MAX)
		abort();
	for (size_t t = 0; t < view.n_tags; t++) {
		size_t len = strnlen(view.tags[t], sizeof(view.tags[t]));

		check_text(view.tags[t], len, sizeof(view.tags[t]));
		if (len == 0 || attributing(view.tags[t]) || names_member(view.tags[t], len))
			abort();
		if (!rd)
			abort(); /* nothing can be vetted without a redactor */
		for (size_t u = 0; u < t; u++)
			if (same_but_case(view.tags[u], view.tags[t]))
				abort(); /* spellings of one tag are merged */
	}
	check_text(view.description, view.description_len, sizeof(view.description));
	if (!view.has_description && view.description_len != 0)
		abort();
	if (view.has_description && (cfg.descriptions == POLICY_DESC_DROP || cfg.descriptions > 2))
		abort();
	if (names_member(view.description, view.description_len) &&
	    !kept_verbatim(&cfg, votes, n_votes, view.description, view.description_len))
		abort();

	for (size_t i = 0; i < n_votes; i++) {
		rc = policy_strip_report(&rview, &cfg, rd, &votes[i], NULL);
		if (rc == -ENOMEM)
			goto out;
		if (rc != 0 || rview.tlp != votes[i].tlp || rview.n_tags > votes[i].n_tags)
			abort();
		for (size_t t = 0; t < rview.n_tags; t++) {
			size_t len = strnlen(rview.tags[t], sizeof(rview.tags[t]));

			check_text(rview.tags[t], len, sizeof(rview.tags[t]));
			if (attributing(rview.tags[t]) || names_member(rview.tags[t], len))
				abort();
		}
		check_text(rview.description, rview.description_len, sizeof(rview.description));
		if (names_member(rview.description, rview.description_len) &&
		    !kept_verbatim(&cfg, &votes[i], 1, rview.description, rview.description_len))
			abort();
	}
out:
	policy_redact_free(rd);
	proto_roster_free(r);
	return 0;
}
