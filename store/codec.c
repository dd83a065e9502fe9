/* SPDX-License-Identifier: MIT */
/*
 * Fixed-layout codecs for stored values. The decoders are the store's defence against a
 * damaged database file: they check the exact length, the version byte, every enum range
 * and the invariants the store maintains between fields, so a value that passes can be used
 * without further checks. Field semantics are in proto/summary.h and store/store.h.
 */
#include "store/codec.h"

#include <string.h>

#include "proto/error.h"
#include "proto/report.h"
#include "store/mdb.h"

static bool tlp_ok(uint8_t tlp)
{
	return tlp >= PROTO_TLP_CLEAR && tlp <= PROTO_TLP_RED;
}

static bool times_ok(uint64_t created, uint64_t valid_until)
{
	return valid_until == 0 || valid_until >= created;
}

size_t store_codec_summary_encode(const struct store_codec_summary *v,
				  uint8_t buf[STORE_CODEC_SUMMARY_MAX])
{
	const struct proto_summary *s = &v->sum;

	if (s->ind.len == 0 || s->ind.len > PROTO_IND_VALUE_MAX)
		return 0;
	buf[0] = STORE_CODEC_V1;
	buf[1] = s->ind.type;
	buf[2] = s->state;
	buf[3] = s->tlp;
	buf[4] = s->confidence;
	store_be64_put(buf + 5, s->first_seen_ms);
	store_be64_put(buf + 13, s->last_seen_ms);
	store_be64_put(buf + 21, s->valid_until_ms);
	store_be32_put(buf + 29, s->n_members);
	store_be32_put(buf + 33, s->n_false_positive);
	store_be32_put(buf + 37, s->n_sightings);
	store_be32_put(buf + 41, s->n_reports);
	store_be32_put(buf + 45, v->n_ind_reports);
	store_be64_put(buf + 49, s->feed_seq);
	buf[57] = (uint8_t)(s->ind.len >> 8);
	buf[58] = (uint8_t)s->ind.len;
	memcpy(buf + STORE_CODEC_SUMMARY_FIXED, s->ind.value, s->ind.len);
	return STORE_CODEC_SUMMARY_FIXED + s->ind.len;
}

/* The invariants store.c maintains between the counters and the state. */
static bool summary_consistent(const struct store_codec_summary *v)
{
	const struct proto_summary *s = &v->sum;
	uint64_t voted = (uint64_t)s->n_members + s->n_false_positive;

	if (s->n_reports == 0 || voted > s->n_reports ||
	    (uint64_t)s->n_sightings + v->n_ind_reports > s->n_reports)
		return false;
	if (s->first_seen_ms > s->last_seen_ms)
		return false;
	if (s->n_members > v->n_ind_reports)
		return false;
	switch (s->state) {
	case PROTO_SUMMARY_ACTIVE:
	case PROTO_SUMMARY_EXPIRED:
		return s->n_members > 0;
	case PROTO_SUMMARY_WITHDRAWN:
		return s->n_members == 0 && v->n_ind_reports > 0 && s->confidence == 0 &&
		       s->valid_until_ms == 0;
	case PROTO_SUMMARY_OBSERVED:
		return s->n_members == 0 && v->n_ind_reports == 0 && s->confidence == 0 &&
		       s->valid_until_ms == 0;
	default:
		return false;
	}
}

int store_codec_summary_decode(struct store_codec_summary *v, const uint8_t *buf, size_t len)
{
	struct proto_summary *s = &v->sum;
	size_t vlen;

	if (len < STORE_CODEC_SUMMARY_FIXED + 1 || len > STORE_CODEC_SUMMARY_MAX ||
	    buf[0] != STORE_CODEC_V1)
		return STORE_E_CORRUPT;
	vlen = (size_t)buf[57] << 8 | buf[58];
	if (vlen != len - STORE_CODEC_SUMMARY_FIXED)
		return STORE_E_CORRUPT;
	if (buf[1] < PROTO_IND_TYPE_MIN || buf[1] > PROTO_IND_TYPE_MAX || !tlp_ok(buf[3]) ||
	    buf[4] > 100)
		return STORE_E_CORRUPT;
	if (memchr(buf + STORE_CODEC_SUMMARY_FIXED, 0, vlen))
		return STORE_E_CORRUPT;
	s->ind.type = buf[1];
	s->state = buf[2];
	s->tlp = buf[3];
	s->confidence = buf[4];
	s->first_seen_ms = store_be64_get(buf + 5);
	s->last_seen_ms = store_be64_get(buf + 13);
	s->valid_until_ms = store_be64_get(buf + 21);
	s->n_members = store_be32_get(buf + 29);
	s->n_false_positive = store_be32_get(buf + 33);
	s->n_sightings = store_be32_get(buf + 37);
	s->n_reports = store_be32_get(buf + 41);
	v->n_ind_reports = store_be32_get(buf + 45);
	s->feed_seq = store_be64_get(buf + 49);
	s->ind.len = (uint16_t)vlen;
	memcpy(s->ind.value, buf + STORE_CODEC_SUMMARY_FIXED, vlen);
	s->ind.value[vlen] = 0;
	if (!summary_consistent(v))
		return STORE_E_CORRUPT;
	return 0;
}

#define RMETA_WITHDRAWN 0x80u /* in the prov byte */

size_t store_codec_rmeta_encode(const struct store_codec_rmeta *v,
				uint8_t buf[STORE_CODEC_RMETA_LEN])
{
	buf[0] = STORE_CODEC_V1;
	buf[1] = v->kind;
	buf[2] = v->tlp;
	buf[3] = v->confidence;
	buf[4] = (uint8_t)(v->prov | (v->withdrawn ? RMETA_WITHDRAWN : 0));
	store_be64_put(buf + 5, v->created_ms);
	store_be64_put(buf + 13, v->valid_until_ms);
	memcpy(buf + 21, v->voter, 32);
	return STORE_CODEC_RMETA_LEN;
}

int store_codec_rmeta_decode(struct store_codec_rmeta *v, const uint8_t *buf, size_t len)
{
	if (len != STORE_CODEC_RMETA_LEN || buf[0] != STORE_CODEC_V1)
		return STORE_E_CORRUPT;
	v->withdrawn = buf[4] & RMETA_WITHDRAWN;
	v->prov = buf[4] & (uint8_t)~RMETA_WITHDRAWN;
	if (buf[1] > PROTO_KIND_REVOKE || !tlp_ok(buf[2]) || buf[3] > 100 ||
	    v->prov > PROTO_PROV_ANONYMOUS || (v->withdrawn && v->prov != PROTO_PROV_ATTRIBUTED))
		return STORE_E_CORRUPT;
	v->kind = buf[1];
	v->tlp = buf[2];
	v->confidence = buf[3];
	v->created_ms = store_be64_get(buf + 5);
	v->valid_until_ms = store_be64_get(buf + 13);
	memcpy(v->voter, buf + 21, 32);
	if (!times_ok(v->created_ms, v->valid_until_ms))
		return STORE_E_CORRUPT;
	return 0;
}

size_t store_codec_vote_encode(const struct store_codec_vote *v, uint8_t buf[STORE_CODEC_VOTE_LEN])
{
	buf[0] = STORE_CODEC_V1;
	buf[1] = v->kind;
	buf[2] = v->tlp;
	buf[3] = v->confidence;
	store_be64_put(buf + 4, v->created_ms);
	store_be64_put(buf + 12, v->valid_until_ms);
	memcpy(buf + 20, v->report_id, 32);
	return STORE_CODEC_VOTE_LEN;
}

int store_codec_vote_decode(struct store_codec_vote *v, const uint8_t *buf, size_t len)
{
	if (len != STORE_CODEC_VOTE_LEN || buf[0] != STORE_CODEC_V1)
		return STORE_E_CORRUPT;
	if ((buf[1] != PROTO_KIND_INDICATOR && buf[1] != PROTO_KIND_FALSE_POSITIVE &&
	     buf[1] != PROTO_KIND_REVOKE) ||
	    !tlp_ok(buf[2]) || buf[3] > 100)
		return STORE_E_CORRUPT;
	v->kind = buf[1];
	v->tlp = buf[2];
	v->confidence = buf[3];
	v->created_ms = store_be64_get(buf + 4);
	v->valid_until_ms = store_be64_get(buf + 12);
	memcpy(v->report_id, buf + 20, 32);
	if (!times_ok(v->created_ms, v->valid_until_ms))
		return STORE_E_CORRUPT;
	return 0;
}

size_t store_codec_report_head_encode(const struct store_codec_report *v,
				      uint8_t buf[STORE_CODEC_REPORT_HEAD])
{
	buf[0] = STORE_CODEC_V1;
	memcpy(buf + 1, v->ind_id, 32);
	buf[33] = v->env.local ? 1 : 0;
	buf[34] = (uint8_t)(v->env.hops >> 8);
	buf[35] = (uint8_t)v->env.hops;
	store_be64_put(buf + 36, v->env.received_ms);
	memcpy(buf + 44, v->env.received_from, 32);
	return STORE_CODEC_REPORT_HEAD;
}

int store_codec_report_decode(struct store_codec_report *v, const uint8_t *buf, size_t len)
{
	if (len <= STORE_CODEC_REPORT_HEAD ||
	    len - STORE_CODEC_REPORT_HEAD > PROTO_REPORT_MAX_BYTES || buf[0] != STORE_CODEC_V1 ||
	    buf[33] > 1)
		return STORE_E_CORRUPT;
	memcpy(v->ind_id, buf + 1, 32);
	v->env.local = buf[33] == 1;
	v->env.hops = (uint16_t)(buf[34] << 8 | buf[35]);
	v->env.received_ms = store_be64_get(buf + 36);
	memcpy(v->env.received_from, buf + 44, 32);
	v->bytes = buf + STORE_CODEC_REPORT_HEAD;
	v->len = len - STORE_CODEC_REPORT_HEAD;
	return 0;
}

size_t store_codec_feed_encode(const struct store_codec_feed *v, uint8_t buf[STORE_CODEC_FEED_LEN])
{
	buf[0] = STORE_CODEC_V1;
	buf[1] = v->state;
	memcpy(buf + 2, v->ind_id, 32);
	store_be64_put(buf + 34, v->time_ms);
	return STORE_CODEC_FEED_LEN;
}

int store_codec_feed_decode(struct store_codec_feed *v, const uint8_t *buf, size_t len)
{
	if (len != STORE_CODEC_FEED_LEN || buf[0] != STORE_CODEC_V1 ||
	    buf[1] > PROTO_SUMMARY_OBSERVED)
		return STORE_E_CORRUPT;
	v->state = buf[1];
	memcpy(v->ind_id, buf + 2, 32);
	v->time_ms = store_be64_get(buf + 34);
	return 0;
}

size_t store_codec_outbox_encode(const struct store_codec_outbox *v,
				 uint8_t buf[STORE_CODEC_OUTBOX_LEN])
{
	buf[0] = STORE_CODEC_V1;
	store_be32_put(buf + 1, v->attempts);
	store_be64_put(buf + 5, v->next_attempt_ms);
	return STORE_CODEC_OUTBOX_LEN;
}

int store_codec_outbox_decode(struct store_codec_outbox *v, const uint8_t *buf, size_t len)
{
	if (len != STORE_CODEC_OUTBOX_LEN || buf[0] != STORE_CODEC_V1)
		return STORE_E_CORRUPT;
	v->attempts = store_be32_get(buf + 1);
	v->next_attempt_ms = store_be64_get(buf + 5);
	return 0;
}
