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
 *                                       2: max_report_age_ms (uint, 0 = unlimited),
 *                                       3: withdraw_departed (true; absent = false) },
 *                     7: members (array of member maps, ascending by member id),
 *                     8: retired keys (array of retired maps, ascending by id; optional,
 *                        absent when there are none, never an empty array),
 *                     9: new network key (netkey map; optional),
 *                     10: OPRF key holders after a re-sharing (oprf map; optional) }
 *     member  = map { 0: member id = Ed25519 identity public key (bin 32),
 *                     1: display name (str), 2: aliases (array of str, optional),
 *                     3: domains (array of str, optional), 4: X25519 transport public key
 *                     (bin 32), 5: ristretto255 ring public key (bin 32),
 *                     6: addresses ("host:port" str array, optional),
 *                     7: point of contact (map, optional), 8: constituency (map,
 *                     optional): both in proto/poc.h }
 *     retired = map { 0: retired member id (bin 32), 1: not_after_ms (uint),
 *                     2: successor member id (bin 32, optional) }
 *     netkey  = map { 0: old_until_ms (uint >= 1), 1: sealed keys (array of bin
 *                     PROTO_ROSTER_SEALED_NETKEY_LEN, exactly one per member, in the order
 *                     of the members array) }
 *
 *     oprf    = map { 0: generation (uint >= 1), 1: t (uint, 1..n),
 *                     2: [V_1 .. V_n] (array of bin 32, n = 1..PROTO_ROSTER_STEWARDS_MAX) }
 *
 * OPRF key holders (docs/SEALED.md §1, re-sharing). The sealed sightings' OPRF key s is dealt
 * at community init (the community file's key 6 holds V and V_1..V_n); after a re-sharing
 * the holders, their threshold t and their verification keys V_j change while s and V do not.
 * The newest roster that carries key 10 says which apply; older generations' shares are
 * refused from then on. A draft made from a roster keeps its key 10, so a later roster that
 * changes nothing carries the same generation again; proto_community_roster_judge() refuses a
 * lower generation, the same one with other keys, and keys that do not interpolate to the
 * community file's V. Every V_j is a valid ristretto255 point (PROTO_E_RING_POINT).
 *
 * New network key. A roster that rotates the network key (the Noise PSK) carries the new key
 * sealed to each of its members' transport keys (crypto_box_seal: an ephemeral X25519 key
 * and XSalsa20-Poly1305; proto/community.h seals and opens), so it never travels in clear and
 * only the members of this epoch can open it: a member removed in it never receives it.
 * Nodes accept the old key besides the new one until old_until_ms (ms since the Unix epoch),
 * then only the new one. Editing the members of a roster (add, remove, retire) drops the
 * sealed keys, since they no longer match the member list; the rotation is then made again.
 *
 * Retired keys. A member id that must no longer sign: a compromised key, or a member's old
 * id after it replaced its keys. Reports signed by it (attributed, or anonymous over a ring
 * that holds its ring key) are refused when `created` is after not_after_ms, and admitted
 * when not (policy/admit.h). The successor, when given, is the member id that now speaks for
 * the same member (its history continues under it). A retired id is never a member of the
 * roster that retires it, nor of any later one (it stays in the list, as every key in a
 * roster is distinct: it cannot come back as anyone's key); a successor is a member of it.
 *
 * Steward signatures are Ed25519 over "chatham/roster/1" || body; sigs are ascending by
 * steward index (an index into the stewards array of the roster that authorises this one)
 * and distinct. A roster is valid when at least k distinct stewards of the AUTHORISING
 * steward set signed it: for epoch 1 the set pinned in the node's community file, for a later
 * epoch the stewards and k of the newest roster already held (so a roster cannot appoint its
 * own stewards). Nodes keep every accepted epoch.
 *
 * Canonical rules beyond proto/mp.h, enforced identically by the encoder and the decoder (so
 * a decoded roster re-encodes to exactly the bytes it came from, and the encoder never emits
 * what the decoder would refuse):
 *   - every body key 0..7 and every settings key 0..2 is present, defaults included, so one
 *     roster has one encoding; settings key 3 only when true (PROTO_E_RANGE for false); optional member lists (2, 3, 6) are omitted when empty and
 *     never present as an empty array (PROTO_E_EMPTY);
 *   - names (community and display) are 1..PROTO_ROSTER_NAME_MAX bytes, list entries (aliases,
 *     domains, addresses) 1..PROTO_ROSTER_ADDR_MAX bytes, at most PROTO_ROSTER_ALIASES_MAX
 *     entries per list, distinct within their list; all text is UTF-8 without control
 *     characters (C0, DEL, C1; PROTO_E_ROSTER_TEXT) — so NUL never hides inside a C string;
 *   - domains are canonical domain indicators (proto/indicator.h: lower case, no trailing
 *     dot, at least two labels); addresses are "host:port" with host a dotted-quad IPv4
 *     address or an LDH host name (labels 1..63, total <= 253), or "[ipv6]:port"; port
 *     1..65535 in decimal without leading zeros;
 *   - members strictly ascending by id (memcmp order); every key in the roster — steward
 *     keys and each member's id, transport and ring key — is distinct from every other one,
 *     because one key never does two jobs and two members never share a key
 *     (PROTO_E_ROSTER_MEMBER; PROTO_E_ROSTER_STEWARD when two stewards are equal);
 *   - member ids and steward keys are valid Ed25519 public keys (canonical, prime-order
 *     subgroup), ring keys valid ristretto255 encodings (PROTO_E_ROSTER_MEMBER /
 *     PROTO_E_ROSTER_STEWARD);
 *   - retired ids strictly ascending, valid Ed25519 keys, distinct from every key of the
 *     roster; a successor is a member id of the roster (PROTO_E_ROSTER_MEMBER); at most
 *     PROTO_ROSTER_RETIRED_MAX entries (PROTO_E_TOO_LARGE);
 *   - 1 <= n_stewards <= PROTO_ROSTER_STEWARDS_MAX, 1 <= threshold <= n_stewards,
 *     1 <= n_members <= PROTO_ROSTER_MEMBERS_MAX, epoch >= 1,
 *     2 <= min_ring_size <= PROTO_ROSTER_MEMBERS_MAX (PROTO_E_RANGE / PROTO_E_EMPTY /
 *     PROTO_E_TOO_LARGE);
 *   - signatures: at most PROTO_ROSTER_STEWARDS_MAX, steward index < PROTO_ROSTER_STEWARDS_MAX
 *     (PROTO_E_ROSTER_STEWARD), strictly ascending (PROTO_E_ROSTER_DUP_SIG for a repeated
 *     index, PROTO_E_ROSTER_SIG_ORDER for a descending one). An empty signature list is
 *     valid encoding: that is a roster circulating among stewards for signing.
 *
 * roster_id = BLAKE2b-256 of the signed encoding (proto_roster_id()); it changes whenever a
 * signature is added.
 *
 * Cost: checking a member's keys takes about 65 µs (the Ed25519 prime-order subgroup check
 * dominates), so encoding, decoding and verifying each take about 0.25 s for a roster of
 * PROTO_ROSTER_MEMBERS_MAX members on one core, and a few milliseconds for typical sizes.
 * Rosters change rarely; keep decoded ones rather than decoding again.
 *
 * Building a roster in memory: start from proto_roster_new(), set the fields (every pointer
 * malloc'd, since proto_roster_free() frees them), add members with proto_roster_add_member()
 * and sign with proto_roster_sign(). Functions here are reentrant; a roster is not locked, so
 * callers that share one between threads only read it.
 */
#ifndef CHATHAM_PROTO_ROSTER_H
#define CHATHAM_PROTO_ROSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/poc.h"

#define PROTO_ROSTER_DOMAIN "chatham/roster/1"
#define PROTO_ROSTER_VERSION 1
#define PROTO_ROSTER_MAX_BYTES (1u << 20)
#define PROTO_ROSTER_MEMBERS_MAX 4096
#define PROTO_ROSTER_STEWARDS_MAX 32
#define PROTO_ROSTER_NAME_MAX 128   /* display/community name bytes */
#define PROTO_ROSTER_ALIASES_MAX 16 /* aliases, domains and addresses per member, each */
#define PROTO_ROSTER_ADDR_MAX 255   /* bytes per address/alias/domain */
#define PROTO_ROSTER_RETIRED_MAX 4096
#define PROTO_ROSTER_SEALED_NETKEY_LEN 80 /* 32-byte key + crypto_box_SEALBYTES */

/* Settings defaults, as proto_roster_new() sets them. */
#define PROTO_ROSTER_MIN_RING_DEFAULT 4
#define PROTO_ROSTER_MIN_RING_MIN 2

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
	struct proto_poc poc;			/* optional; empty when absent (proto/poc.h) */
	struct proto_constituency constituency; /* optional; empty when absent */
};

struct proto_roster_settings {
	uint32_t min_ring_size;
	bool require_anonymous;
	uint64_t max_report_age_ms;
	/*
	 * Withdraw the attributed reports of members that leave (removed, or retired without a
	 * successor): they stop voting on every node. Settings key 3, present only when true,
	 * so rosters without it encode as before; a chatham older than this setting refuses a
	 * roster that has it.
	 */
	bool withdraw_departed;
};

/* A retired member id (see "Retired keys" above). */
struct proto_retired {
	uint8_t id[32];
	uint64_t not_after_ms; /* reports created after this (ms since the Unix epoch) refused */
	bool has_successor;
	uint8_t successor[32]; /* when has_successor: a member of the same roster */
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
	size_t n_retired;
	struct proto_retired *retired; /* ascending by id */
	/* New network key (body key 9): present when netkey_sealed is non-NULL, then with
	 * n_members entries, one per member in the members' order. */
	uint64_t netkey_old_until_ms;
	uint8_t (*netkey_sealed)[PROTO_ROSTER_SEALED_NETKEY_LEN];
	/* OPRF key holders (body key 10): present when oprf_vks is non-NULL (oprf_n entries). */
	uint64_t oprf_generation;
	uint32_t oprf_t;
	size_t oprf_n;
	uint8_t (*oprf_vks)[32];
	size_t n_sigs;
	uint32_t *sig_steward; /* steward index of each signature */
	uint8_t (*sigs)[64];
};

/*
 * proto_roster_new() - an empty roster (no name, stewards, members or signatures; default
 * settings), to be filled in by the caller. Returns NULL when out of memory.
 */
struct proto_roster *proto_roster_new(void);

/*
 * proto_roster_check() - apply every rule of the canonical encoding (see above) to @r
 * (borrowed; signatures included). Returns 0, -ENOMEM, or the PROTO_E_* code of the first
 * broken rule.
 */
int proto_roster_check(const struct proto_roster *r);

/*
 * proto_roster_check_member() - the rules for one member on its own (text, lists, domains,
 * addresses, key validity, its three keys distinct). @m is borrowed. On failure *@reason (if
 * @reason is non-NULL) is set to a static English reason naming the field, for CLI messages.
 * Returns 0, PROTO_E_ROSTER_MEMBER, PROTO_E_ROSTER_TEXT, PROTO_E_UTF8, PROTO_E_EMPTY or
 * PROTO_E_TOO_LARGE.
 */
int proto_roster_check_member(const struct proto_member *m, const char **reason);

/*
 * proto_roster_check_text() - the rule for roster text (also used by the community file):
 * @len bytes at @s (borrowed), 1..@max bytes, UTF-8, no control characters.
 * Returns 0, PROTO_E_EMPTY, PROTO_E_TOO_LARGE, PROTO_E_UTF8 or PROTO_E_ROSTER_TEXT.
 */
int proto_roster_check_text(const char *s, size_t len, size_t max);

struct proto_mp_reader;

/*
 * proto_roster_read_text() - a msgpack str of 1..@max bytes that passes
 * proto_roster_check_text(), from @rd, as a new NUL-terminated string in *@out (owned by the
 * caller: free()). *@out is set only on success. Returns 0, -ENOMEM, a proto_mp_read_str()
 * error, or an error of proto_roster_check_text().
 */
int proto_roster_read_text(struct proto_mp_reader *rd, size_t max, char **out);

/*
 * proto_roster_read_texts() - a non-empty msgpack array of at most @n_max such texts (each
 * 1..@max bytes) into a new array *@v of *@n_out strings. *@v and *@n_out are set before the
 * texts are read, so after a failure the caller still owns and frees what was read with
 * proto_roster_texts_free(). Absence is the only encoding of "none": an empty array is
 * PROTO_E_EMPTY. Returns 0, -ENOMEM or the first read error.
 */
int proto_roster_read_texts(struct proto_mp_reader *rd, size_t n_max, size_t max, char ***v,
			    size_t *n_out);

/* proto_roster_texts_free() - frees the @n strings of @v (NULL entries allowed) and @v. */
void proto_roster_texts_free(char **v, size_t n);

/*
 * proto_roster_encode_body() - canonical body of @r (borrowed; n_sigs/sigs ignored). Members
 * must be ascending and distinct by id. *@out is malloc'd, caller frees.
 * Returns 0, -ENOMEM, or the PROTO_E_* code of the first broken rule (proto_roster_check()).
 */
int proto_roster_encode_body(const struct proto_roster *r, uint8_t **out, size_t *out_len);

/*
 * proto_roster_encode() - the signed encoding: body plus the signatures held in @r.
 * Same results as proto_roster_encode_body(), plus the signature-list errors.
 */
int proto_roster_encode(const struct proto_roster *r, uint8_t **out, size_t *out_len);

/*
 * proto_roster_decode() - strict canonical decode of a signed roster (@buf borrowed, nothing
 * retained). On success *@out is a new roster owned by the caller. Signatures are NOT
 * verified here. Returns 0, -ENOMEM, PROTO_E_TOO_LARGE when @len > PROTO_ROSTER_MAX_BYTES,
 * PROTO_E_VERSION, a proto/mp.h decoding error, or the PROTO_E_ROSTER_* / PROTO_E_* code of the
 * first broken rule. On failure *@out is NULL.
 */
int proto_roster_decode(struct proto_roster **out, const uint8_t *buf, size_t len);

/*
 * proto_roster_sign() - add (or replace) the signature of steward @idx (index into
 * @authority's stewards) made with @steward_sk (borrowed, 64 bytes, public half must equal
 * authority->stewards[idx]). @authority is the roster whose stewards authorise @r (for
 * epoch 1, @r itself). Keeps signatures sorted. Returns 0, -ENOMEM, PROTO_E_ROSTER_STEWARD,
 * or an encoding error of @r's body.
 */
int proto_roster_sign(struct proto_roster *r, const struct proto_roster *authority, uint32_t idx,
		      const uint8_t steward_sk[64]);

/*
 * proto_roster_sign_with() - proto_roster_sign() against an explicit authorising steward set
 * (@stewards, @n_stewards; e.g. the community file's for epoch 1).
 */
int proto_roster_sign_with(struct proto_roster *r, const uint8_t (*stewards)[32], size_t n_stewards,
			   uint32_t idx, const uint8_t steward_sk[64]);

/*
 * proto_roster_verify() - check @r against an authorising steward set (@stewards, @n_stewards,
 * @threshold: the newest held roster's, or the community file's for epoch 1) and @held_epoch
 * (0 if none held): same @community, epoch > @held_epoch, >= @threshold distinct valid steward
 * signatures, no duplicate or unknown signers. Every signature present must verify: a bad one
 * fails the roster even when the others reach k, so garbage never rides along.
 *
 * Checks in this order and returns the first failure: -EINVAL for an unusable authority
 * (@n_stewards 0 or over PROTO_ROSTER_STEWARDS_MAX, @threshold 0 or over @n_stewards, two
 * equal authority keys); PROTO_E_ROSTER_COMMUNITY; PROTO_E_ROSTER_EPOCH; per signature
 * PROTO_E_ROSTER_STEWARD (index >= @n_stewards) and PROTO_E_ROSTER_DUP_SIG; an encoding error
 * of the body; PROTO_E_ROSTER_SIG; PROTO_E_ROSTER_QUORUM. Returns 0 when valid.
 */
int proto_roster_verify(const struct proto_roster *r, const uint8_t community[32],
			const uint8_t (*stewards)[32], size_t n_stewards, uint32_t threshold,
			uint64_t held_epoch);

/*
 * proto_roster_verify_sig() - whether signature @i of @r verifies under @steward_pk (borrowed)
 * over PROTO_ROSTER_DOMAIN || body: for diagnosing one signature (`chatham roster verify`);
 * deciding about a roster is proto_roster_verify()'s job. Returns 0, PROTO_E_ROSTER_SIG,
 * -EINVAL (@i >= n_sigs), or an encoding error of the body.
 */
int proto_roster_verify_sig(const struct proto_roster *r, size_t i, const uint8_t steward_pk[32]);

/*
 * proto_roster_peek_epoch() - the epoch of the signed roster encoding @buf (@len bytes,
 * borrowed) from its header alone: the outer array, the body's version, community and name
 * are read and nothing after the epoch (no members, no signature check). For deciding
 * cheaply whether a roster is worth decoding; a roster that passes must still go through
 * proto_roster_decode() and proto_roster_verify(). Returns 0 with *@epoch set,
 * PROTO_E_TOO_LARGE, PROTO_E_VERSION, PROTO_E_KEY_MISSING or a msgpack reading error.
 */
int proto_roster_peek_epoch(const uint8_t *buf, size_t len, uint64_t *epoch);

/* proto_roster_id() - roster_id = BLAKE2b-256 of the signed encoding @buf. */
void proto_roster_id(const uint8_t *buf, size_t len, uint8_t id[32]);

/* Lookups: index of the member, or -1. find_member is a binary search (members are sorted). */
int proto_roster_find_member(const struct proto_roster *r, const uint8_t id[32]);
int proto_roster_find_transport(const struct proto_roster *r, const uint8_t transport_pk[32]);

/* proto_roster_find_retired() - the retired entry of @id in @r, or NULL (binary search). */
const struct proto_retired *proto_roster_find_retired(const struct proto_roster *r,
						      const uint8_t id[32]);

/*
 * proto_roster_successor() - the member id that speaks for @id now: @id's retired entry's
 * successor, followed through later retirements (at most n_retired steps, so a cycle a
 * roster could never pass check for ends anyway). NULL when @id is not retired or has no
 * successor. The pointer borrows @r.
 */
const uint8_t *proto_roster_successor(const struct proto_roster *r, const uint8_t id[32]);

/*
 * proto_roster_current_id() - the member id that answers for @id in @r: @id itself when it
 * is a member, else its successor (proto_roster_successor()) when that is a member, else
 * NULL (@id left, or its successor did). Returns @id or a pointer borrowing @r.
 */
const uint8_t *proto_roster_current_id(const struct proto_roster *r, const uint8_t id[32]);

/*
 * proto_roster_retire() - retire @e->id (borrowed entry) in @r: the member of that id, if
 * present, is removed, and the entry inserted at its sorted place or, when @e->id is retired
 * already, replaces the old entry. Every signature and the new network key are dropped. The entry is not checked
 * here (encode does that). Returns 0, -ENOMEM, or PROTO_E_TOO_LARGE at
 * PROTO_ROSTER_RETIRED_MAX entries.
 */
int proto_roster_retire(struct proto_roster *r, const struct proto_retired *e);

/*
 * proto_roster_add_member() - insert a deep copy of @m (borrowed) at its sorted place. The
 * body changes, so every signature in @r is dropped, and so is the new network key. The member is not checked here (encode
 * and proto_roster_check_member() do that). Returns 0, -ENOMEM, PROTO_E_TOO_LARGE at
 * PROTO_ROSTER_MEMBERS_MAX members, PROTO_E_ROSTER_MEMBER when the id is already present,
 * -EINVAL when a list count is non-zero but its array is NULL.
 */
int proto_roster_add_member(struct proto_roster *r, const struct proto_member *m);

/*
 * proto_roster_remove_member() - remove the member @id and drop every signature and the
 * new network key.
 * Returns 0 or PROTO_E_ROSTER_NOT_MEMBER.
 */
int proto_roster_remove_member(struct proto_roster *r, const uint8_t id[32]);

/* proto_roster_clear_sigs() - drop every signature (after editing the body in place). */
void proto_roster_clear_sigs(struct proto_roster *r);

/* proto_roster_clear_netkey() - drop the new network key (body key 9), if any. */
void proto_roster_clear_netkey(struct proto_roster *r);

/* proto_roster_clear_oprf() - drop the OPRF key holders (body key 10), if any. */
void proto_roster_clear_oprf(struct proto_roster *r);

/*
 * proto_roster_set_oprf() - make @r carry OPRF key holders: generation @generation (>= 1),
 * threshold @t and the @n verification keys @vks (copied). Drops every signature. Checked
 * when encoded. Returns 0, -EINVAL (@n 0 or over PROTO_ROSTER_STEWARDS_MAX) or -ENOMEM.
 */
int proto_roster_set_oprf(struct proto_roster *r, uint64_t generation, uint32_t t,
			  const uint8_t (*vks)[32], size_t n);

/* proto_roster_free() - free @r and everything it owns. NULL is a no-op. */
void proto_roster_free(struct proto_roster *r);

#endif
