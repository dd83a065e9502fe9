/* SPDX-License-Identifier: MIT */
/*
 * proto/roster.h — the signed member list of a community epoch (DESIGN.md §2).
 *
 * Wire form (canonical msgpack):
 *
 *     signed  = array(2) [ body: bin, sigs: array of [steward index (uint), sig (bin 64)] ]
 *     body    = map { 0: version (1), 1: community id (bin 32), 2: community name (str),
 *                     3: epoch (uint >= 1), 4: threshold k (uint >= 1),
 *                     5: stewards (array of Ed25519 public keys, bin 32, distinct),
 *                     6: settings map { 0: min_ring_size (uint, default 4),
 *                                       1: require_anonymous (bool, default false),
 *                                       2: max_report_age_ms (uint, 0 = unlimited) },
 *                     7: members (array of member maps, ascending by member id) }
 *     member  = map { 0: member id = Ed25519 identity public key (bin 32),
 *                     1: display name (str), 2: aliases (array of str, optional),
 *                     3: domains (array of str, optional), 4: X25519 transport public key
 *                     (bin 32), 5: ristretto255 ring public key (bin 32),
 *                     6: addresses ("host:port" str array, optional) }
 *
 * Steward signatures are Ed25519 over "chatham/roster/1" || body; sigs are ascending by
 * steward index (an index into the stewards array of the roster that authorises this one)
 * and distinct. A roster is valid when at least k distinct stewards of the AUTHORISING
 * steward set signed it: for epoch 1 the set pinned in the node's community file, for a later
 * epoch the stewards and k of the newest roster already held (so a roster cannot appoint its
 * own stewards). Nodes keep every accepted epoch.
 */
#ifndef CHATHAM_PROTO_ROSTER_H
#define CHATHAM_PROTO_ROSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_ROSTER_DOMAIN "chatham/roster/1"
#define PROTO_ROSTER_MAX_BYTES (1u << 20)
#define PROTO_ROSTER_MEMBERS_MAX 4096
#define PROTO_ROSTER_STEWARDS_MAX 32
#define PROTO_ROSTER_NAME_MAX 128   /* display/community name bytes */
#define PROTO_ROSTER_ALIASES_MAX 16 /* aliases, domains and addresses per member, each */
#define PROTO_ROSTER_ADDR_MAX 255   /* bytes per address/alias/domain */

struct proto_member {
	uint8_t id[32]; /* Ed25519 identity public key */
	uint8_t transport_pk[32];
	uint8_t ring_pk[32];
	char *name; /* NUL-terminated, owned by the roster */
	size_t n_aliases;
	char **aliases;
	size_t n_domains;
	char **domains;
	size_t n_addrs;
	char **addrs;
};

struct proto_roster_settings {
	uint32_t min_ring_size;
	bool require_anonymous;
	uint64_t max_report_age_ms;
};

/* A decoded roster. Every pointer is owned by it; free with proto_roster_free(). */
struct proto_roster {
	uint8_t community[32];
	char *name;
	uint64_t epoch;
	uint32_t threshold;
	size_t n_stewards;
	uint8_t (*stewards)[32];
	struct proto_roster_settings settings;
	size_t n_members;
	struct proto_member *members; /* ascending by id */
	size_t n_sigs;
	uint32_t *sig_steward; /* steward index of each signature */
	uint8_t (*sigs)[64];
};

/*
 * proto_roster_encode_body() - canonical body of @r (borrowed; n_sigs/sigs ignored). Members
 * must be ascending and distinct by id. *@out is malloc'd, caller frees.
 */
int proto_roster_encode_body(const struct proto_roster *r, uint8_t **out, size_t *out_len);

/*
 * proto_roster_encode() - the signed encoding: body plus the signatures held in @r.
 */
int proto_roster_encode(const struct proto_roster *r, uint8_t **out, size_t *out_len);

/*
 * proto_roster_decode() - strict canonical decode of a signed roster. On success *@out is a
 * new roster owned by the caller. Signatures are NOT verified here.
 */
int proto_roster_decode(struct proto_roster **out, const uint8_t *buf, size_t len);

/*
 * proto_roster_sign() - add (or replace) the signature of steward @idx (index into
 * @authority's stewards) made with @steward_sk (borrowed, 64 bytes, public half must equal
 * authority->stewards[idx]). @authority is the roster whose stewards authorise @r (for
 * epoch 1, @r itself). Keeps signatures sorted. Returns 0, -ENOMEM, PROTO_E_ROSTER_STEWARD.
 */
int proto_roster_sign(struct proto_roster *r, const struct proto_roster *authority, uint32_t idx,
		      const uint8_t steward_sk[64]);

/*
 * proto_roster_verify() - check @r against an authorising steward set (@stewards, @n_stewards,
 * @threshold: the newest held roster's, or the community file's for epoch 1) and @held_epoch
 * (0 if none held): same @community, epoch > @held_epoch, >= @threshold distinct valid steward
 * signatures, no duplicate or unknown signers. Returns 0 or PROTO_E_ROSTER_* naming the first
 * failure.
 */
int proto_roster_verify(const struct proto_roster *r, const uint8_t community[32],
			const uint8_t (*stewards)[32], size_t n_stewards, uint32_t threshold,
			uint64_t held_epoch);

/* Lookups: index of the member, or -1. */
int proto_roster_find_member(const struct proto_roster *r, const uint8_t id[32]);
int proto_roster_find_transport(const struct proto_roster *r, const uint8_t transport_pk[32]);

/* proto_roster_free() - free @r and everything it owns. NULL is a no-op. */
void proto_roster_free(struct proto_roster *r);

#endif
