/* SPDX-License-Identifier: MIT */
/*
 * Re-sharing the OPRF key (proto/reshare.h, docs/SEALED.md §1): 2-of-3 holders reshared to
 * 2-of-3 with holder 3 replaced, through piece files, keeps the OPRF function (every pair of
 * new holders evaluates what the old ones did) and gives keys that interpolate to V; the
 * roster publishing them (body key 10) round-trips and the succession rule refuses an older
 * generation, the same generation with other keys and keys of another OPRF key; a cheating
 * piece, commitments off the dealer's key, a piece for another key and damaged files are
 * refused; the share file carries its generation.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/community.h"
#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/keys.h"
#include "proto/oprf.h"
#include "proto/reshare.h"
#include "proto/roster.h"

static int setup(void **state)
{
	(void)state;
	return proto_crypto_init();
}

struct world {
	struct proto_community c;
	uint8_t shares[3][32];
	uint8_t steward_sk[64];
	struct proto_keys holders[3]; /* new holders: members 1, 2 and 4 */
	uint8_t member_ids[3][32], tx_pks[3][32];
};

static void make_world(struct world *w)
{
	uint8_t seed[32];

	memset(w, 0, sizeof(*w));
	memset(w->c.id, 0x17, 32);
	strcpy(w->c.name, "Reshare test");
	w->c.n_stewards = 1;
	w->c.threshold = 1;
	proto_keys_steward_generate(w->c.stewards[0], w->steward_sk);
	w->c.sealed.k = 3;
	w->c.sealed.t = 2;
	w->c.sealed.quota = 100;
	w->c.sealed.window_days = 30;
	w->c.sealed.n = 3;
	assert_int_equal(proto_oprf_deal(w->shares, w->c.sealed.vks, w->c.sealed.vk, 2, 3), 0);
	assert_int_equal(proto_community_check(&w->c), 0);
	for (int i = 0; i < 3; i++) {
		memset(seed, 0x30 + i, 32);
		assert_int_equal(proto_keys_from_seed(&w->holders[i], seed), 0);
		memcpy(w->member_ids[i], w->holders[i].id_pk, 32);
		memcpy(w->tx_pks[i], w->holders[i].tx_pk, 32);
	}
}

static void free_world(struct world *w)
{
	for (int i = 0; i < 3; i++)
		proto_keys_wipe(&w->holders[i]);
	proto_wipe(w, sizeof(*w));
}

/* OPRF_s(x) through holders idx[0..t) with shares @shares[idx-1] and keys @vks[idx-1]. */
static void eval_via(uint8_t r[32], uint8_t (*shares)[32], uint8_t (*vks)[32], const uint8_t *idx,
		     size_t t, const uint8_t x[32])
{
	uint8_t b[1][32], rho[32], z[4][32], one[1][32], proof[PROTO_OPRF_PROOF_BYTES], comb[32];

	assert_int_equal(proto_oprf_blind(b[0], rho, x), 0);
	for (size_t i = 0; i < t; i++) {
		size_t j = idx[i] - 1;

		assert_int_equal(proto_oprf_evaluate(one, proof, shares[j], vks[j],
						     (const uint8_t(*)[32])b, 1),
				 0);
		assert_int_equal(proto_oprf_verify(proof, vks[j], (const uint8_t(*)[32])b,
						   (const uint8_t(*)[32])one, 1),
				 0);
		memcpy(z[i], one[0], 32);
	}
	assert_int_equal(proto_oprf_combine(comb, idx, (const uint8_t(*)[32])z, t), 0);
	assert_int_equal(proto_oprf_finalize(r, x, rho, comb), 0);
}

/* Old holders 1 and 2 deal to the three new holders; pieces[d][j] from dealer d+1 to j+1. */
static void deal_round(struct world *w, struct proto_reshare_piece pieces[2][3])
{
	static const uint8_t old_set[2] = {1, 2};

	for (int d = 0; d < 2; d++)
		assert_int_equal(proto_reshare_deal(pieces[d], w->c.id, 1, w->shares[d],
						    (uint8_t)(d + 1), old_set, 2, 2, 3,
						    (const uint8_t(*)[32])w->member_ids,
						    (const uint8_t(*)[32])w->tx_pks),
				 0);
}

/* New holder j's share from its two pieces; returns the first error. */
static int accept_pieces(struct world *w, struct proto_reshare_piece pieces[2][3], int j,
			 uint8_t share[32], uint8_t vk[32], int *bad_dealer)
{
	uint8_t got[2][32], vkp[2][32];
	int err;

	for (int d = 0; d < 2; d++) {
		*bad_dealer = d + 1;
		if ((err = proto_reshare_dealer_check(&pieces[d][j], &w->c.sealed)) ||
		    (err = proto_reshare_piece_open(got[d], vkp[d], &pieces[d][j],
						    w->holders[j].tx_sk)))
			goto out;
	}
	*bad_dealer = 0;
	err = proto_oprf_reshare_finish(share, vk, (const uint8_t(*)[32])got,
					(const uint8_t(*)[32])vkp, 2);
out:
	proto_wipe(got, sizeof(got));
	return err;
}

static void test_reshare_keeps_the_function(void **state)
{
	struct world w;
	struct proto_reshare_piece pieces[2][3];
	const struct proto_reshare_piece *dealers[2];
	uint8_t new_shares[3][32], new_vks[3][32], vk[32], x[32], r_old[32], r_new[32];
	static const uint8_t pairs[3][2] = {{1, 2}, {1, 3}, {2, 3}};
	int bad;

	(void)state;
	make_world(&w);
	deal_round(&w, pieces);
	dealers[0] = &pieces[0][0];
	dealers[1] = &pieces[1][2]; /* any piece file of a dealer carries its commitments */
	assert_int_equal(proto_reshare_vks(new_vks, dealers, 2), 0);
	assert_int_equal(proto_oprf_vks_check((const uint8_t(*)[32])new_vks, 3, 2, w.c.sealed.vk),
			 0);
	for (int j = 0; j < 3; j++) {
		assert_int_equal(accept_pieces(&w, pieces, j, new_shares[j], vk, &bad), 0);
		assert_memory_equal(vk, new_vks[j], 32);
		assert_int_equal(proto_oprf_share_check(new_shares[j], new_vks[j]), 0);
		/* A piece is sealed to its holder only. */
		assert_int_equal(proto_reshare_piece_open(x, vk, &pieces[0][j],
							  w.holders[(j + 1) % 3].tx_sk),
				 PROTO_E_KEY_MISMATCH);
	}
	proto_random(x, 32);
	eval_via(r_old, w.shares, w.c.sealed.vks, pairs[0], 2, x);
	for (int p = 0; p < 3; p++) {
		eval_via(r_new, new_shares, new_vks, pairs[p], 2, x);
		assert_memory_equal(r_new, r_old, 32);
	}
	/* An old share is no share of the new keys. */
	assert_int_equal(proto_oprf_share_check(w.shares[2], new_vks[2]), PROTO_E_OPRF_PROOF);
	/* Missing or repeated dealers give no keys. */
	assert_int_equal(proto_reshare_vks(new_vks, dealers, 1), -EINVAL);
	dealers[1] = &pieces[0][1];
	assert_int_equal(proto_reshare_vks(new_vks, dealers, 2), -EINVAL);
	proto_wipe(new_shares, sizeof(new_shares));
	free_world(&w);
}

static void test_cheating_piece(void **state)
{
	struct world w;
	struct proto_reshare_piece pieces[2][3], forged;
	struct proto_community_sealed gen1;
	uint8_t share[32], vk[32], other[2][32];
	int bad;

	(void)state;
	make_world(&w);
	deal_round(&w, pieces);
	/* Dealer 2 seals a wrong value to holder 3 (dealer 1's piece): caught against its
	 * commitments. */
	memcpy(pieces[1][2].sealed, pieces[0][2].sealed, PROTO_RESHARE_SEALED_LEN);
	assert_int_equal(accept_pieces(&w, pieces, 2, share, vk, &bad), PROTO_E_OPRF_PIECE);
	assert_int_equal(bad, 2);
	/* Dealer 1 deals a share of its own choosing with consistent commitments: its
	 * commitments do not start at its part of the key. */
	deal_round(&w, pieces);
	{
		static const uint8_t old_set[2] = {1, 2};
		struct proto_reshare_piece fake[3];

		proto_random(other[1], 32);
		other[1][31] &= 0x0f;
		assert_int_equal(proto_reshare_deal(fake, w.c.id, 1, other[1], 1, old_set, 2, 2, 3,
						    (const uint8_t(*)[32])w.member_ids,
						    (const uint8_t(*)[32])w.tx_pks),
				 0);
		memcpy(pieces[0], fake, sizeof(fake));
	}
	assert_int_equal(accept_pieces(&w, pieces, 0, share, vk, &bad), PROTO_E_OPRF_PIECE);
	assert_int_equal(bad, 1);
	/* The old set must hold t of the holders in force, the generation must follow. */
	forged = pieces[1][0];
	forged.t_old = 1;
	forged.old_set[0] = 2;
	assert_int_equal(proto_reshare_dealer_check(&forged, &w.c.sealed), PROTO_E_OPRF_INDEX);
	forged = pieces[1][0];
	forged.generation = 2;
	assert_int_equal(proto_reshare_dealer_check(&forged, &w.c.sealed), PROTO_E_OPRF_GENERATION);
	gen1 = w.c.sealed;
	gen1.generation = 1;
	assert_int_equal(proto_reshare_dealer_check(&pieces[1][0], &gen1), PROTO_E_OPRF_GENERATION);
	proto_wipe(other, sizeof(other));
	free_world(&w);
}

static void test_piece_codec(void **state)
{
	struct world w;
	struct proto_reshare_piece pieces[2][3], got;
	uint8_t *buf, *buf2;
	size_t len, len2;

	(void)state;
	make_world(&w);
	deal_round(&w, pieces);
	assert_int_equal(proto_reshare_piece_encode(&pieces[1][2], &buf, &len), 0);
	assert_int_equal(proto_reshare_piece_decode(&got, buf, len), 0);
	assert_memory_equal(&got, &pieces[1][2], sizeof(got));
	assert_true(proto_reshare_same_round(&got, &pieces[1][0]));
	assert_false(proto_reshare_same_round(&got, &pieces[0][0]) &&
		     memcmp(got.commits, pieces[0][0].commits, 64) == 0);
	assert_int_equal(proto_reshare_piece_encode(&got, &buf2, &len2), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(buf2, buf, len);
	free(buf2);
	for (size_t n = 0; n < len; n++)
		assert_int_not_equal(proto_reshare_piece_decode(&got, buf, n), 0);
	/* A commitment that is not a point. */
	for (size_t i = 0; i + 32 <= len; i++) {
		if (memcmp(buf + i, pieces[1][2].commits[1], 32) == 0) {
			memset(buf + i, 0xff, 32);
			assert_int_equal(proto_reshare_piece_decode(&got, buf, len),
					 PROTO_E_RING_POINT);
			break;
		}
	}
	free(buf);
	/* Another kind of file. */
	assert_int_equal(proto_community_oprf_share_encode(w.c.id, 1, 0, w.shares[0], &buf, &len),
			 0);
	assert_int_equal(proto_reshare_piece_decode(&got, buf, len), PROTO_E_KEY_FORMAT);
	proto_wipe(buf, len);
	free(buf);
	got = pieces[0][0];
	got.to = 4;
	assert_int_equal(proto_reshare_piece_encode(&got, &buf, &len), -EINVAL);
	free_world(&w);
}

static void test_share_generation(void **state)
{
	struct world w;
	uint8_t id[32], got[32], *buf;
	uint32_t idx;
	uint64_t gen = 9;
	size_t len;

	(void)state;
	make_world(&w);
	assert_int_equal(proto_community_oprf_share_encode(w.c.id, 2, 0, w.shares[1], &buf, &len),
			 0);
	assert_int_equal(proto_community_oprf_share_decode(id, &idx, &gen, got, buf, len), 0);
	assert_int_equal(gen, 0);
	proto_wipe(buf, len);
	free(buf);
	assert_int_equal(proto_community_oprf_share_encode(w.c.id, 2, 7, w.shares[1], &buf, &len),
			 0);
	assert_int_equal(proto_community_oprf_share_decode(id, &idx, &gen, got, buf, len), 0);
	assert_int_equal(gen, 7);
	assert_int_equal(idx, 2);
	assert_memory_equal(got, w.shares[1], 32);
	for (size_t n = 0; n < len; n++)
		assert_int_not_equal(proto_community_oprf_share_decode(id, &idx, &gen, got, buf, n),
				     0);
	proto_wipe(buf, len);
	free(buf);
	free_world(&w);
}

/* A roster of @w's community at @epoch, one member, signed by the one steward. */
static struct proto_roster *roster_at(struct world *w, uint64_t epoch)
{
	struct proto_roster *r = proto_roster_new();
	struct proto_member m = {.name = "Member"};

	assert_non_null(r);
	memcpy(r->community, w->c.id, 32);
	r->name = strdup(w->c.name);
	r->epoch = epoch;
	r->threshold = 1;
	r->n_stewards = 1;
	r->stewards = malloc(32);
	memcpy(r->stewards[0], w->c.stewards[0], 32);
	memcpy(m.id, w->holders[0].id_pk, 32);
	memcpy(m.transport_pk, w->holders[0].tx_pk, 32);
	memcpy(m.ring_pk, w->holders[0].ring_pk, 32);
	assert_int_equal(proto_roster_add_member(r, &m), 0);
	return r;
}

static void sign(struct proto_roster *r, struct world *w)
{
	assert_int_equal(
		proto_roster_sign_with(r, (const uint8_t(*)[32])w->c.stewards, 1, 0, w->steward_sk),
		0);
}

#define JUDGE(c, held, n, r) \
	proto_community_roster_judge(c, (const struct proto_roster *const *)(held), n, r)

static void test_roster_publishes_keys(void **state)
{
	struct world w;
	struct proto_reshare_piece pieces[2][3];
	const struct proto_reshare_piece *dealers[2];
	struct proto_roster *held[3], *r, *dec;
	struct proto_community_sealed in_force;
	uint8_t vks[3][32], other[3][32], other_vk[32], *buf;
	size_t len;

	(void)state;
	make_world(&w);
	deal_round(&w, pieces);
	dealers[0] = &pieces[0][0];
	dealers[1] = &pieces[1][0];
	assert_int_equal(proto_reshare_vks(vks, dealers, 2), 0);

	held[0] = roster_at(&w, 1);
	sign(held[0], &w);
	assert_int_equal(JUDGE(&w.c, held, 0, held[0]), 0);
	proto_community_oprf_keys(&w.c, (const struct proto_roster *const *)held, 1, &in_force);
	assert_int_equal(in_force.generation, 0);
	assert_memory_equal(in_force.vks, w.c.sealed.vks, 3 * 32);

	/* Epoch 2 publishes generation 1: round trip, adopted, in force. */
	held[1] = roster_at(&w, 2);
	assert_int_equal(proto_roster_set_oprf(held[1], 1, 2, (const uint8_t(*)[32])vks, 3), 0);
	sign(held[1], &w);
	assert_int_equal(proto_roster_encode(held[1], &buf, &len), 0);
	assert_int_equal(proto_roster_decode(&dec, buf, len), 0);
	assert_int_equal(dec->oprf_generation, 1);
	assert_int_equal(dec->oprf_t, 2);
	assert_int_equal(dec->oprf_n, 3);
	assert_memory_equal(dec->oprf_vks, vks, 3 * 32);
	for (size_t n = 0; n < len; n++) {
		struct proto_roster *bad = NULL;

		assert_int_not_equal(proto_roster_decode(&bad, buf, n), 0);
		assert_null(bad);
	}
	free(buf);
	proto_roster_free(dec);
	assert_int_equal(JUDGE(&w.c, held, 1, held[1]), 0);
	proto_community_oprf_keys(&w.c, (const struct proto_roster *const *)held, 2, &in_force);
	assert_int_equal(in_force.generation, 1);
	assert_int_equal(in_force.t, 2);
	assert_int_equal(in_force.k, 3);
	assert_memory_equal(in_force.vks, vks, 3 * 32);

	/* Epoch 3 without key 10 keeps generation 1 in force; with the same one, too. */
	r = roster_at(&w, 3);
	sign(r, &w);
	assert_int_equal(JUDGE(&w.c, held, 2, r), 0);
	held[2] = r;
	proto_community_oprf_keys(&w.c, (const struct proto_roster *const *)held, 3, &in_force);
	assert_int_equal(in_force.generation, 1);
	r = roster_at(&w, 4);
	assert_int_equal(proto_roster_set_oprf(r, 1, 2, (const uint8_t(*)[32])vks, 3), 0);
	sign(r, &w);
	assert_int_equal(JUDGE(&w.c, held, 3, r), 0);
	/* The same generation with other keys, an older one, keys of another OPRF key, a
	 * t that does not fit: refused. */
	assert_int_equal(proto_oprf_deal(other, other, other_vk, 2, 3), 0);
	assert_int_equal(proto_roster_set_oprf(r, 1, 2, (const uint8_t(*)[32])other, 3), 0);
	sign(r, &w);
	assert_int_equal(JUDGE(&w.c, held, 3, r), PROTO_E_OPRF_PROOF);
	assert_int_equal(proto_roster_set_oprf(r, 1, 2, (const uint8_t(*)[32])w.c.sealed.vks, 3),
			 0);
	sign(r, &w);
	assert_int_equal(JUDGE(&w.c, held, 3, r), PROTO_E_OPRF_GENERATION);
	assert_int_equal(proto_roster_set_oprf(r, 2, 2, (const uint8_t(*)[32])w.c.sealed.vks, 3),
			 0);
	sign(r, &w);
	assert_int_equal(JUDGE(&w.c, held, 3, r), 0); /* a later generation may be anything valid */
	proto_roster_free(r);
	r = roster_at(&w, 4);
	assert_int_equal(proto_roster_set_oprf(r, 3, 1, (const uint8_t(*)[32])vks, 3), 0);
	sign(r, &w);
	assert_int_equal(JUDGE(&w.c, held, 3, r), PROTO_E_OPRF_PROOF);
	/* Generation 0 is not a re-sharing. */
	r->oprf_generation = 0;
	assert_int_equal(proto_roster_encode(r, &buf, &len), PROTO_E_RANGE);
	/* A community without sealed sightings has no OPRF key to re-share. */
	r->oprf_generation = 3;
	r->oprf_t = 2;
	sign(r, &w);
	w.c.sealed.k = 0;
	assert_int_equal(JUDGE(&w.c, held, 3, r), PROTO_E_KEY_MISSING);
	proto_roster_free(r);
	for (int i = 0; i < 3; i++)
		proto_roster_free(held[i]);
	free_world(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reshare_keeps_the_function),
		cmocka_unit_test(test_cheating_piece),
		cmocka_unit_test(test_piece_codec),
		cmocka_unit_test(test_share_generation),
		cmocka_unit_test(test_roster_publishes_keys),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
