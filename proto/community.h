/* SPDX-License-Identifier: MIT */
/*
 * proto/community.h — the public community definition (the trust anchor for roster epoch 1)
 * and the secret network key, as bytes. File I/O is node/common/keyfile.h's job.
 *
 * Community file (public, canonical msgpack, versioned):
 *     map { 0: "chatham-community", 1: version (1), 2: community id (bin 32),
 *           3: name (str), 4: steward public keys (array of bin 32), 5: threshold k (uint),
 *           6: sealed sightings (optional map, docs/SEALED.md) }
 * Rules as for the same fields of a roster (proto/roster.h): name 1..PROTO_ROSTER_NAME_MAX
 * bytes of UTF-8 without control characters; 1..PROTO_ROSTER_STEWARDS_MAX distinct valid
 * Ed25519 steward keys; 1 <= k <= number of stewards. Epoch 1 of the roster is verified with
 * proto_roster_verify(r, c->id, c->stewards, c->n_stewards, c->threshold, 0).
 *
 * Sealed sightings (key 6, absent when the community does not use them; files without it,
 * written before it existed, read as before):
 *     map { 0: k (members needed to open, PROTO_SEALED_K_MIN..MAX),
 *           1: t (OPRF share holders needed, 1..n), 2: quota (OPRF evaluations a member may
 *           ask of each share holder per UTC day, >= 1), 3: window (days a submission is
 *           kept and counted, 1..PROTO_SEALED_WINDOW_MAX), 4: V (bin 32, the OPRF key's
 *           verification key), 5: [V_1 .. V_n] (array of bin 32; V_j belongs to the
 *           holder of share j; n = 1..PROTO_ROSTER_STEWARDS_MAX) }
 * Every V_j is a valid ristretto255 point and all lie on one polynomial of degree t-1
 * through V (proto_oprf_vks_check()): any t shares evaluate the same OPRF.
 *
 * OPRF share file (SECRET, mode 0600; one per share holder, written at community init):
 *     map { 0: "chatham-oprf-share", 1: version (1), 2: community id (bin 32),
 *           3: index j (1..n), 4: share s_j (bin 32, canonical non-zero scalar),
 *           5: generation (uint >= 1; absent for the shares of community init, generation
 *              0; written by a re-sharing, proto/reshare.h) }
 *
 * Network key file (SECRET, mode 0600; the Noise PSK, DESIGN.md §4):
 *     map { 0: "chatham-network-key", 1: version (1), 2: key (bin 32),
 *           3: roster epoch that delivered the key (uint >= 1; absent: given out of band),
 *           4: previous key (bin 32, optional), 5: previous key accepted until (uint ms,
 *              present exactly when 4 is) }
 * Keys 3-5 are written by a node that adopted a roster rotating the key (proto/roster.h
 * "New network key"): during the overlap the node accepts both keys, then rewrites the
 * file with the new one only. Keys are never all-zero.
 *
 * All functions are reentrant; structs are caller storage with no heap pointers.
 */
#ifndef CHATHAM_PROTO_COMMUNITY_H
#define CHATHAM_PROTO_COMMUNITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/roster.h"

#define PROTO_COMMUNITY_MAGIC "chatham-community"
#define PROTO_NETKEY_MAGIC "chatham-network-key"
#define PROTO_OPRF_SHARE_MAGIC "chatham-oprf-share"
#define PROTO_COMMUNITY_VERSION 1
/* Longest valid community encoding, a safe read limit for files. */
#define PROTO_COMMUNITY_MAX_BYTES 4096
#define PROTO_SEALED_WINDOW_MAX 366 /* days */

/* The community's sealed-sighting settings (key 6); k == 0 means absent. */
struct proto_community_sealed {
	/* OPRF key generation of t, n and vks: 0 in a community file (the dealing), the
	 * roster's after a re-sharing (proto_community_oprf_keys()); never encoded here. */
	uint64_t generation;
	uint8_t k;
	uint8_t t;
	uint32_t quota;
	uint32_t window_days;
	uint8_t vk[32];
	size_t n;
	uint8_t vks[PROTO_ROSTER_STEWARDS_MAX][32];
};

struct proto_community {
	uint8_t id[32];
	char name[PROTO_ROSTER_NAME_MAX + 1]; /* NUL-terminated */
	uint32_t threshold;
	size_t n_stewards;
	uint8_t stewards[PROTO_ROSTER_STEWARDS_MAX][32];
	struct proto_community_sealed sealed;
};

/*
 * proto_community_check() - the rules above applied to @c (borrowed). Returns 0 or the
 * PROTO_E_* code of the first broken rule (PROTO_E_ROSTER_STEWARD for an invalid or repeated
 * steward key, PROTO_E_RANGE for k, the proto_roster_check_text() codes for the name,
 * PROTO_E_EMPTY / PROTO_E_TOO_LARGE for the steward count; for sealed settings
 * PROTO_E_SEALED_K, PROTO_E_RANGE, PROTO_E_RING_POINT or PROTO_E_OPRF_PROOF).
 */
int proto_community_check(const struct proto_community *c);

/*
 * proto_community_encode() - canonical encoding of @c (borrowed). *@out is malloc'd, the
 * caller frees it. Returns 0, -ENOMEM or a proto_community_check() code.
 */
int proto_community_encode(const struct proto_community *c, uint8_t **out, size_t *out_len);

/*
 * proto_community_decode() - strict decode of @buf (borrowed) into @c (caller storage).
 * Returns 0; PROTO_E_COMMUNITY_FORMAT when @buf is not a map starting with the magic;
 * PROTO_E_VERSION for another version; a proto/mp.h code for a damaged file; or a
 * proto_community_check() code. On failure @c is zeroed.
 */
int proto_community_decode(struct proto_community *c, const uint8_t *buf, size_t len);

/*
 * proto_community_roster_judge() - the one succession rule for rosters: what a node of
 * community @c that holds the rosters @held[0..@n_held-1] (borrowed; each accepted through
 * this function, ascending by epoch, not necessarily consecutive) does with the decoded
 * roster @r (borrowed; its signatures are checked here).
 *
 *   - @r newer than every held roster: it must verify (proto_roster_verify()) against the
 *     stewards and k of the newest held roster, or of @c when nothing is held. So a roster
 *     never appoints the stewards that sign it, and adding, removing or replacing stewards
 *     or changing k takes k signatures of the stewards in office. It must also keep every
 *     key the newest held roster retired, with the same or an earlier not_after_ms: a
 *     retirement is never undone (PROTO_E_ROSTER_RETIRED). Returns 0: adopt it.
 *     When @r carries OPRF key holders (body key 10) they must be keys of @c's OPRF key
 *     (PROTO_E_KEY_MISSING when @c has no sealed settings, PROTO_E_OPRF_PROOF when they do
 *     not interpolate to V) of a generation not older than the newest held one's, the same
 *     generation only with the same keys (PROTO_E_OPRF_GENERATION).
 *   - @r of an epoch held already, with the same body (signatures may differ): a copy,
 *     PROTO_E_ROSTER_KNOWN.
 *   - @r of an epoch held already with another body, and valid under the authority that
 *     authorised the held one (the roster held before it, or @c): stewards signed two
 *     rosters for one epoch. PROTO_E_ROSTER_CONFLICT; the caller refuses it, keeps @r as
 *     evidence and tells the operator. The held roster stays (first seen wins).
 *     With another body and not valid there: the proto_roster_verify() code (a forgery).
 *   - @r older than the newest held roster, of an epoch not held: a rollback,
 *     PROTO_E_ROSTER_EPOCH (nothing to compare it with).
 *
 * Also PROTO_E_ROSTER_COMMUNITY for another community, -ENOMEM, or an encoding error of a
 * body. Reentrant.
 */
int proto_community_roster_judge(const struct proto_community *c,
				 const struct proto_roster *const *held, size_t n_held,
				 const struct proto_roster *r);

/*
 * proto_community_oprf_keys() - the sealed-sighting settings in force for a node of
 * community @c that holds the rosters @held[0..@n_held) (ascending by epoch, each accepted by
 * proto_community_roster_judge()): @c's, with generation, t, n and the verification keys of
 * the newest held roster that carries OPRF key holders (body key 10, a re-sharing) when one
 * does. All borrowed; @out is caller storage.
 */
void proto_community_oprf_keys(const struct proto_community *c,
			       const struct proto_roster *const *held, size_t n_held,
			       struct proto_community_sealed *out);

/* proto_community_netkey_generate() - 32 random bytes from the OS CSPRNG. */
void proto_community_netkey_generate(uint8_t key[32]);

/* A node's network keys, as its network key file holds them (caller storage; wipe it). */
struct proto_netkey_state {
	uint8_t key[32];	    /* the key in use */
	uint64_t epoch;		    /* roster epoch that delivered it; 0: given out of band */
	bool has_previous;	    /* the key it replaced is still accepted */
	uint8_t previous[32];	    /* when has_previous */
	uint64_t previous_until_ms; /* when has_previous: accepted while now < this */
};

/*
 * proto_community_netkey_state_encode() - the network key file bytes of @k (borrowed).
 * *@out is malloc'd; the caller wipes and frees it. Returns 0, -ENOMEM, or PROTO_E_RANGE for
 * a previous key without its time.
 */
int proto_community_netkey_state_encode(const struct proto_netkey_state *k, uint8_t **out,
					size_t *out_len);

/*
 * proto_community_netkey_state_decode() - decode a network key file into @k. Returns 0 or,
 * with @k wiped: PROTO_E_KEY_FORMAT (not a network key file, or an all-zero key),
 * PROTO_E_KEY_VERSION, PROTO_E_KEY_MISSING (key 4 without 5 or 5 without 4), PROTO_E_RANGE
 * (a zero epoch or time), PROTO_E_KEY_UNKNOWN, or a proto/mp.h code for a damaged file.
 */
int proto_community_netkey_state_decode(struct proto_netkey_state *k, const uint8_t *buf,
					size_t len);

/*
 * proto_community_netkey_seal() - make @r rotate the network key to @key (borrowed): seal it
 * to every member's transport key and accept the old key until @old_until_ms. Replaces any
 * earlier new key of @r and drops its signatures. Returns 0, -EINVAL (no members, a zero
 * time or key), -ENOMEM, or PROTO_E_ROSTER_MEMBER for a transport key that cannot be sealed
 * to.
 */
int proto_community_netkey_seal(struct proto_roster *r, const uint8_t key[32],
				uint64_t old_until_ms);

/*
 * proto_community_netkey_open() - the new network key @r delivers to member @member_id,
 * opened with its transport secret @transport_sk (borrowed). Returns 0 with @key set, or
 * with @key zeroed: -ENOENT (@r carries no new key), PROTO_E_ROSTER_NOT_MEMBER,
 * PROTO_E_KEY_MISMATCH (@transport_sk is not the member's transport key in @r), or
 * PROTO_E_NETKEY_SEALED (the sealed key does not open, or opens to zeros).
 */
int proto_community_netkey_open(const struct proto_roster *r, const uint8_t member_id[32],
				const uint8_t transport_sk[32], uint8_t key[32]);

/*
 * proto_community_netkey_adopt() - the node opened @key from roster @epoch, which accepts
 * the old key until @old_until_ms; at wall-clock time @now_ms. Nothing changes when @epoch
 * is not newer than @k->epoch (adopted already). Otherwise the epoch is recorded and, when
 * @key differs from the key in use, it becomes the key in use and the old one the previous
 * key (until @old_until_ms; dropped at once when that is past). Returns whether @k changed
 * (the file is to be rewritten).
 */
bool proto_community_netkey_adopt(struct proto_netkey_state *k, const uint8_t key[32],
				  uint64_t epoch, uint64_t old_until_ms, uint64_t now_ms);

/*
 * proto_community_netkey_expire() - drop (and wipe) the previous key once @now_ms reaches
 * its time. Returns whether @k changed.
 */
bool proto_community_netkey_expire(struct proto_netkey_state *k, uint64_t now_ms);

/*
 * proto_community_netkey_id() - a public 8-byte name of @key for status and logs: a BLAKE2b
 * hash under its own domain, which says which key is in use without revealing it.
 */
void proto_community_netkey_id(const uint8_t key[32], uint8_t id[8]);

/*
 * proto_community_netkey_encode() - the secret network key file bytes. *@out is malloc'd;
 * the caller wipes (proto_wipe) and frees it. Returns 0 or -ENOMEM.
 */
int proto_community_netkey_encode(const uint8_t key[32], uint8_t **out, size_t *out_len);

/*
 * proto_community_netkey_decode() - decode a network key file. Returns 0 or, with @key
 * wiped: PROTO_E_KEY_FORMAT (not a network key file, or an all-zero key), PROTO_E_KEY_VERSION,
 * or a proto/mp.h code for a damaged file.
 */
int proto_community_netkey_decode(uint8_t key[32], const uint8_t *buf, size_t len);

/*
 * proto_community_oprf_share_encode() - the secret OPRF share file of holder @index (1..n)
 * of community @community, OPRF key generation @generation (0: the dealing). *@out is
 * malloc'd; the caller wipes and frees it. Returns 0, -EINVAL for index 0, -ENOMEM.
 */
int proto_community_oprf_share_encode(const uint8_t community[32], uint32_t index,
				      uint64_t generation, const uint8_t share[32], uint8_t **out,
				      size_t *out_len);

/*
 * proto_community_oprf_share_decode() - decode an OPRF share file (*@generation 0 when key 5
 * is absent). Returns 0 or, with @share wiped: PROTO_E_KEY_FORMAT (not a share file), PROTO_E_KEY_VERSION, PROTO_E_RANGE
 * (index 0 or over PROTO_ROSTER_STEWARDS_MAX), PROTO_E_RING_SCALAR (zero or non-canonical
 * share), or a proto/mp.h code. Whether the share belongs to a community file is
 * proto_community_oprf_share_check()'s question.
 */
int proto_community_oprf_share_decode(uint8_t community[32], uint32_t *index, uint64_t *generation,
				      uint8_t share[32], const uint8_t *buf, size_t len);

/*
 * proto_community_oprf_share_check() - 0 when share @index/@share of community @community
 * is share @index of @c's OPRF key (same community, sealed settings present, @index <= n,
 * share·G = V_index). PROTO_E_ROSTER_COMMUNITY, PROTO_E_KEY_MISSING (no sealed settings),
 * PROTO_E_RANGE, PROTO_E_OPRF_PROOF otherwise.
 */
int proto_community_oprf_share_check(const struct proto_community *c, const uint8_t community[32],
				     uint32_t index, const uint8_t share[32]);

#endif
