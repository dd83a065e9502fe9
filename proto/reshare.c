/* SPDX-License-Identifier: MIT */
/*
 * Re-sharing the OPRF key (proto/reshare.h). The arithmetic is proto/oprf.c's; this module
 * adds what makes it safe to hand pieces around as files: each piece is sealed to its new
 * holder's transport key (crypto_box_seal, as a roster seals a new network key), and the
 * public commitments let every new holder check its piece, and anyone check a dealer's
 * commitments against the verification keys in force, without learning a share.
 */
#include "proto/reshare.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/mp.h"
#include "proto/oprf.h"
#include "proto/ring.h"

static bool old_set_valid(const uint8_t *set, size_t n)
{
	if (n == 0 || n > PROTO_ROSTER_STEWARDS_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (set[i] == 0 || set[i] > PROTO_ROSTER_STEWARDS_MAX ||
		    (i > 0 && set[i] <= set[i - 1]))
			return false;
	return true;
}

static bool in_set(const uint8_t *set, size_t n, uint8_t idx, size_t *pos)
{
	for (size_t i = 0; i < n; i++) {
		if (set[i] == idx) {
			if (pos)
				*pos = i;
			return true;
		}
	}
	return false;
}

int proto_reshare_deal(struct proto_reshare_piece *out, const uint8_t community[32],
		       uint64_t generation, const uint8_t share[32], uint8_t dealer,
		       const uint8_t *old_set, size_t t_old, uint8_t t_new, uint8_t n_new,
		       const uint8_t (*members)[32], const uint8_t (*transport_pks)[32])
{
	uint8_t pieces[PROTO_ROSTER_STEWARDS_MAX][32], commits[PROTO_ROSTER_STEWARDS_MAX][32];
	int err;

	if (generation == 0 || t_new == 0 || t_new > n_new || n_new > PROTO_ROSTER_STEWARDS_MAX)
		return -EINVAL;
	if (!old_set_valid(old_set, t_old) || !in_set(old_set, t_old, dealer, NULL))
		return PROTO_E_OPRF_INDEX;
	err = proto_oprf_reshare(pieces, commits, share, dealer, old_set, t_old, t_new, n_new);
	if (err)
		goto out;
	for (size_t j = 0; j < n_new; j++) {
		struct proto_reshare_piece *p = &out[j];

		memset(p, 0, sizeof(*p));
		memcpy(p->community, community, 32);
		p->generation = generation;
		p->t_old = t_old;
		memcpy(p->old_set, old_set, t_old);
		p->dealer = dealer;
		p->t_new = t_new;
		p->n_new = n_new;
		p->to = (uint8_t)(j + 1);
		memcpy(p->member, members[j], 32);
		memcpy(p->commits, commits, (size_t)t_new * 32);
		if (crypto_box_seal(p->sealed, pieces[j], 32, transport_pks[j])) {
			err = PROTO_E_ROSTER_MEMBER;
			goto out;
		}
	}
out:
	proto_wipe(pieces, sizeof(pieces));
	return err;
}

int proto_reshare_piece_encode(const struct proto_reshare_piece *p, uint8_t **out, size_t *out_len)
{
	struct proto_mp_writer w;

	if (!old_set_valid(p->old_set, p->t_old) || p->t_new == 0 || p->t_new > p->n_new ||
	    p->n_new > PROTO_ROSTER_STEWARDS_MAX || p->to == 0 || p->to > p->n_new ||
	    p->generation == 0)
		return -EINVAL;
	proto_mp_writer_init(&w);
	proto_mp_write_map(&w, 12);
	proto_mp_write_uint(&w, 0);
	proto_mp_write_cstr(&w, PROTO_RESHARE_MAGIC);
	proto_mp_write_uint(&w, 1);
	proto_mp_write_uint(&w, PROTO_RESHARE_VERSION);
	proto_mp_write_uint(&w, 2);
	proto_mp_write_bin(&w, p->community, 32);
	proto_mp_write_uint(&w, 3);
	proto_mp_write_uint(&w, p->generation);
	proto_mp_write_uint(&w, 4);
	proto_mp_write_array(&w, p->t_old);
	for (size_t i = 0; i < p->t_old; i++)
		proto_mp_write_uint(&w, p->old_set[i]);
	proto_mp_write_uint(&w, 5);
	proto_mp_write_uint(&w, p->dealer);
	proto_mp_write_uint(&w, 6);
	proto_mp_write_uint(&w, p->t_new);
	proto_mp_write_uint(&w, 7);
	proto_mp_write_uint(&w, p->n_new);
	proto_mp_write_uint(&w, 8);
	proto_mp_write_uint(&w, p->to);
	proto_mp_write_uint(&w, 9);
	proto_mp_write_bin(&w, p->member, 32);
	proto_mp_write_uint(&w, 10);
	proto_mp_write_array(&w, p->t_new);
	for (size_t i = 0; i < p->t_new; i++)
		proto_mp_write_bin(&w, p->commits[i], 32);
	proto_mp_write_uint(&w, 11);
	proto_mp_write_bin(&w, p->sealed, PROTO_RESHARE_SEALED_LEN);
	return proto_mp_writer_finish(&w, out, out_len);
}

static int read_small(struct proto_mp_reader *rd, struct proto_mp_map *m, uint64_t key, uint8_t *v)
{
	uint64_t x;
	int err;

	if ((err = proto_mp_map_expect_key(rd, m, key)) ||
	    (err = proto_mp_read_uint_max(rd, PROTO_ROSTER_STEWARDS_MAX, &x)))
		return err;
	*v = (uint8_t)x;
	return 0;
}

int proto_reshare_piece_decode(struct proto_reshare_piece *p, const uint8_t *buf, size_t len)
{
	struct proto_mp_reader rd;
	struct proto_mp_map m;
	const char *s;
	size_t n;
	uint64_t key, v;
	int err;

	memset(p, 0, sizeof(*p));
	proto_mp_reader_init(&rd, buf, len);
	if (proto_mp_map_begin(&rd, &m, 12) != 0 || proto_mp_map_next(&rd, &m, &key) != 1 ||
	    key != 0 || proto_mp_read_str(&rd, 64, &s, &n) != 0 ||
	    n != strlen(PROTO_RESHARE_MAGIC) || memcmp(s, PROTO_RESHARE_MAGIC, n) != 0 ||
	    proto_mp_map_expect_key(&rd, &m, 1) || proto_mp_read_uint(&rd, &v)) {
		err = PROTO_E_KEY_FORMAT;
		goto out;
	}
	if (v != PROTO_RESHARE_VERSION) {
		err = PROTO_E_KEY_VERSION;
		goto out;
	}
	if ((err = proto_mp_map_expect_key(&rd, &m, 2)) ||
	    (err = proto_mp_read_bin_fixed(&rd, p->community, 32)) ||
	    (err = proto_mp_map_expect_key(&rd, &m, 3)) ||
	    (err = proto_mp_read_uint(&rd, &p->generation)) ||
	    (err = proto_mp_map_expect_key(&rd, &m, 4)) ||
	    (err = proto_mp_read_array(&rd, PROTO_ROSTER_STEWARDS_MAX, &p->t_old)))
		goto out;
	for (size_t i = 0; i < p->t_old; i++) {
		if ((err = proto_mp_read_uint_max(&rd, PROTO_ROSTER_STEWARDS_MAX, &v)))
			goto out;
		p->old_set[i] = (uint8_t)v;
	}
	if ((err = read_small(&rd, &m, 5, &p->dealer)) ||
	    (err = read_small(&rd, &m, 6, &p->t_new)) ||
	    (err = read_small(&rd, &m, 7, &p->n_new)) || (err = read_small(&rd, &m, 8, &p->to)) ||
	    (err = proto_mp_map_expect_key(&rd, &m, 9)) ||
	    (err = proto_mp_read_bin_fixed(&rd, p->member, 32)) ||
	    (err = proto_mp_map_expect_key(&rd, &m, 10)) ||
	    (err = proto_mp_read_array(&rd, PROTO_ROSTER_STEWARDS_MAX, &n)))
		goto out;
	if (n != p->t_new) {
		err = PROTO_E_RANGE;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if ((err = proto_mp_read_bin_fixed(&rd, p->commits[i], 32)))
			goto out;
	if ((err = proto_mp_map_expect_key(&rd, &m, 11)) ||
	    (err = proto_mp_read_bin_fixed(&rd, p->sealed, PROTO_RESHARE_SEALED_LEN)))
		goto out;
	if ((err = proto_mp_map_next(&rd, &m, &key)) != 0) {
		err = err < 0 ? err : PROTO_E_KEY_UNKNOWN;
		goto out;
	}
	if ((err = proto_mp_reader_finish(&rd)))
		goto out;
	if (p->generation == 0 || p->t_new == 0 || p->t_new > p->n_new || p->to == 0 ||
	    p->to > p->n_new) {
		err = PROTO_E_RANGE;
		goto out;
	}
	if (!old_set_valid(p->old_set, p->t_old) ||
	    !in_set(p->old_set, p->t_old, p->dealer, NULL)) {
		err = PROTO_E_OPRF_INDEX;
		goto out;
	}
	for (size_t i = 0; i < p->t_new; i++)
		if (proto_ring_pk_check(p->commits[i])) {
			err = PROTO_E_RING_POINT;
			goto out;
		}
out:
	if (err)
		memset(p, 0, sizeof(*p));
	return err;
}

bool proto_reshare_same_round(const struct proto_reshare_piece *a,
			      const struct proto_reshare_piece *b)
{
	if (memcmp(a->community, b->community, 32) || a->generation != b->generation ||
	    a->t_old != b->t_old || memcmp(a->old_set, b->old_set, a->t_old) ||
	    a->t_new != b->t_new || a->n_new != b->n_new)
		return false;
	return a->dealer != b->dealer || !memcmp(a->commits, b->commits, (size_t)a->t_new * 32);
}

int proto_reshare_dealer_check(const struct proto_reshare_piece *p,
			       const struct proto_community_sealed *old)
{
	uint8_t lambda[32], part[32];
	size_t pos = 0;
	int err;

	if (p->generation != old->generation + 1)
		return PROTO_E_OPRF_GENERATION;
	if (p->t_old < old->t || p->old_set[p->t_old - 1] > old->n ||
	    !in_set(p->old_set, p->t_old, p->dealer, &pos))
		return PROTO_E_OPRF_INDEX;
	if ((err = proto_oprf_lagrange(lambda, p->old_set, p->t_old, pos)))
		return err;
	if (crypto_scalarmult_ristretto255(part, lambda, old->vks[p->dealer - 1]) != 0)
		return PROTO_E_RING_POINT;
	return sodium_memcmp(part, p->commits[0], 32) ? PROTO_E_OPRF_PIECE : 0;
}

int proto_reshare_vks(uint8_t (*vks)[32], const struct proto_reshare_piece *const *dealers,
		      size_t m)
{
	uint8_t part[32];
	int err;

	if (m == 0 || m != dealers[0]->t_old)
		return -EINVAL;
	for (size_t i = 0; i < m; i++)
		if (dealers[i]->dealer != dealers[0]->old_set[i] ||
		    !proto_reshare_same_round(dealers[0], dealers[i]))
			return -EINVAL;
	for (uint8_t j = 1; j <= dealers[0]->n_new; j++) {
		for (size_t i = 0; i < m; i++) {
			err = proto_oprf_commit_eval(i ? part : vks[j - 1], j,
						     (const uint8_t(*)[32])dealers[i]->commits,
						     dealers[i]->t_new);
			if (err)
				return err;
			if (i && crypto_core_ristretto255_add(vks[j - 1], vks[j - 1], part) != 0)
				return PROTO_E_RING_POINT;
		}
		if (proto_ring_pk_check(vks[j - 1]))
			return PROTO_E_RING_POINT;
	}
	return 0;
}

int proto_reshare_piece_open(uint8_t piece[32], uint8_t vk_piece[32],
			     const struct proto_reshare_piece *p, const uint8_t transport_sk[32])
{
	uint8_t pk[32];
	int err;

	crypto_scalarmult_base(pk, transport_sk);
	if (crypto_box_seal_open(piece, p->sealed, PROTO_RESHARE_SEALED_LEN, pk, transport_sk)) {
		err = PROTO_E_KEY_MISMATCH;
		goto out;
	}
	err = proto_oprf_piece_check(piece, p->to, (const uint8_t(*)[32])p->commits, p->t_new,
				     vk_piece);
	if (err == PROTO_E_OPRF_PROOF || err == PROTO_E_RING_SCALAR)
		err = PROTO_E_OPRF_PIECE;
out:
	if (err)
		proto_wipe(piece, 32);
	return err;
}
