/* SPDX-License-Identifier: MIT */
/*
 * store/codec.h — byte layouts of the values the store keeps in LMDB, and their strict
 * decoders. Decoding a corrupted or truncated value returns STORE_E_CORRUPT; it never reads
 * out of bounds and never aborts (fuzzed by tests/fuzz/fuzz_store_codec.c).
 *
 * Every value starts with a format version byte (STORE_CODEC_V1); integers are big-endian;
 * each layout has an exact length (the summary: exact length for its value length). Encoders
 * write into caller storage of at least the documented size and never fail on values that
 * the matching decoder would accept; they return the encoded length, or 0 when the input is
 * outside what the format can represent (a programmer error upstream).
 *
 * Layouts (offsets in bytes):
 *   summary   0 ver | 1 ind type | 2 state | 3 tlp | 4 confidence | 5 first_seen u64 |
 *             13 last_seen u64 | 21 valid_until u64 | 29 n_members u32 | 33 n_fp u32 |
 *             37 n_sightings u32 | 41 n_reports u32 | 45 n_ind_reports u32 |
 *             49 feed_seq u64 | 57 value_len u16 | 59 value (value_len bytes, no NUL)
 *   rmeta     0 ver | 1 kind | 2 tlp | 3 confidence | 4 prov | 5 created u64 |
 *             13 valid_until u64 | 21 voter (32: signer id or link tag)         = 53
 *   vote      0 ver | 1 kind | 2 tlp | 3 confidence | 4 created u64 | 12 valid_until u64 |
 *             20 report_id (32)                                                  = 52
 *   report    0 ver | 1 ind_id (32) | 33 flags (bit 0: local) | 34 hops u16 |
 *             36 received_ms u64 | 44 received_from (32) | 76 signed bytes (>= 1 byte)
 *   feed      0 ver | 1 state | 2 ind_id (32) | 34 time_ms u64                   = 42
 *   outbox    0 ver | 1 attempts u32 | 5 next_attempt_ms u64                      = 13
 */
#ifndef CHATHAM_STORE_CODEC_H
#define CHATHAM_STORE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/summary.h"

#define STORE_CODEC_V1 1

#define STORE_CODEC_SUMMARY_FIXED 59
#define STORE_CODEC_SUMMARY_MAX (STORE_CODEC_SUMMARY_FIXED + PROTO_IND_VALUE_MAX)
#define STORE_CODEC_RMETA_LEN 53
#define STORE_CODEC_VOTE_LEN 52
#define STORE_CODEC_REPORT_HEAD 76 /* the signed bytes follow */
#define STORE_CODEC_FEED_LEN 42
#define STORE_CODEC_OUTBOX_LEN 13

/* The stored indicator record: the public summary plus what is needed to maintain it. */
struct store_codec_summary {
	struct proto_summary sum; /* ind_id is the LMDB key: not encoded, left untouched */
	uint32_t n_ind_reports;	  /* `indicator` reports ever stored (tells WITHDRAWN apart) */
};

/* One stored report as the per-indicator index knows it (enough to recompute votes). */
struct store_codec_rmeta {
	uint8_t kind, tlp, confidence, prov;
	uint64_t created_ms, valid_until_ms;
	uint8_t voter[32]; /* attributed: signer member id; anonymous: linkability tag */
	/*
	 * Attributed only: the voter departed and the community withdraws such reports
	 * (store_voters_withdraw()): the report stays stored and counted, but never votes.
	 * Encoded as bit 7 of the prov byte (absent in stores that never withdrew anything).
	 */
	bool withdrawn;
};

/* The latest report of one (indicator, voter), including revoke tombstones. */
struct store_codec_vote {
	uint8_t kind, tlp, confidence;
	uint64_t created_ms, valid_until_ms;
	uint8_t report_id[32];
};

struct store_codec_envelope {
	bool local;
	uint16_t hops;
	uint64_t received_ms;
	uint8_t received_from[32];
};

/* A stored report: its indicator, its local envelope and the signed bytes (a view). */
struct store_codec_report {
	uint8_t ind_id[32];
	struct store_codec_envelope env;
	const uint8_t *bytes; /* decode: borrows from the decoded buffer */
	size_t len;
};

struct store_codec_feed {
	uint8_t state; /* enum proto_summary_state after the change */
	uint8_t ind_id[32];
	uint64_t time_ms;
};

struct store_codec_outbox {
	uint32_t attempts;
	uint64_t next_attempt_ms;
};

size_t store_codec_summary_encode(const struct store_codec_summary *v,
				  uint8_t buf[STORE_CODEC_SUMMARY_MAX]);
int store_codec_summary_decode(struct store_codec_summary *v, const uint8_t *buf, size_t len);

size_t store_codec_rmeta_encode(const struct store_codec_rmeta *v,
				uint8_t buf[STORE_CODEC_RMETA_LEN]);
int store_codec_rmeta_decode(struct store_codec_rmeta *v, const uint8_t *buf, size_t len);

size_t store_codec_vote_encode(const struct store_codec_vote *v, uint8_t buf[STORE_CODEC_VOTE_LEN]);
int store_codec_vote_decode(struct store_codec_vote *v, const uint8_t *buf, size_t len);

/* Writes the 76-byte head; the caller places v->len signed bytes right after it. */
size_t store_codec_report_head_encode(const struct store_codec_report *v,
				      uint8_t buf[STORE_CODEC_REPORT_HEAD]);
int store_codec_report_decode(struct store_codec_report *v, const uint8_t *buf, size_t len);

size_t store_codec_feed_encode(const struct store_codec_feed *v, uint8_t buf[STORE_CODEC_FEED_LEN]);
int store_codec_feed_decode(struct store_codec_feed *v, const uint8_t *buf, size_t len);

size_t store_codec_outbox_encode(const struct store_codec_outbox *v,
				 uint8_t buf[STORE_CODEC_OUTBOX_LEN]);
int store_codec_outbox_decode(struct store_codec_outbox *v, const uint8_t *buf, size_t len);

#endif
