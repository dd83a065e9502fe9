/* SPDX-License-Identifier: MIT */
/*
 * Community definition and network key codecs. The community file pins the stewards that
 * authorise roster epoch 1, so its rules are the roster's rules for the same fields
 * (proto_roster_check_text(), valid distinct Ed25519 steward keys, 1 <= k <= n).
 */
#include "proto/community.h"

#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/mp.h"
#include "proto/oprf.h"
#include "proto/ring.h"
#include "proto/sealed.h"

static int sealed_check(const struct proto_community_sealed *s)
{
	if (s->k < PROTO_SEALED_K_MIN || s->k > PROTO_SEALED_K_MAX)
		return PROTO_E_SEALED_K;
	if (s->n == 0 || s->n > PROTO_ROSTER_STEWARDS_MAX || s->t == 0 || s->t > s->n ||
	    s->quota == 0 || s->window_days == 0 || s->window_days > PROTO_SEALED_WINDOW_MAX)
		return PROTO_E_RANGE;
	if (proto_ring_pk_check(s->vk))
		return PROTO_E_RING_POINT;
	for (size_t i = 0; i < s->n; i++)
		if (proto_ring_pk_check(s->vks[i]))
			return PROTO_E_RING_POINT;
	return proto_oprf_vks_check((const uint8_t(*)[32])s->vks, s->n, s->t, s->vk);
}

int proto_community_check(const struct proto_community *c)
{
	size_t len = strnlen(c->name, sizeof(c->name));
	int err;

	if (len == sizeof(c->name))
		return PROTO_E_TOO_LARGE;
	if ((err = proto_roster_check_text(c->name, len, PROTO_ROSTER_NAME_MAX)))
		return err;
	if (c->n_stewards == 0)
		return PROTO_E_EMPTY;
	if (c->n_stewards > PROTO_ROSTER_STEWARDS_MAX)
		return PROTO_E_TOO_LARGE;
	for (size_t i = 0; i < c->n_stewards; i++) {
		if (!crypto_core_ed25519_is_valid_point(c->stewards[i]))
			return PROTO_E_ROSTER_STEWARD;
		for (size_t j = 0; j < i; j++)
			if (memcmp(c->stewards[i], c->stewards[j], 32) == 0)
				return PROTO_E_ROSTER_STEWARD;
	}
	if (c->threshold == 0 || c->threshold > c->n_stewards)
		return PROTO_E_RANGE;
	return c->sealed.k ? sealed_check(&c->sealed) : 0;
}

int proto_community_encode(const struct proto_community *c, uint8_t **out, size_t *out_len)
{
	struct proto_mp_writer w;
	int err = proto_community_check(c);

	if (err)
		return err;
	proto_mp_writer_init(&w);
	proto_mp_write_map(&w, c->sealed.k ? 7 : 6);
	proto_mp_write_uint(&w, 0);
	proto_mp_write_cstr(&w, PROTO_COMMUNITY_MAGIC);
	proto_mp_write_uint(&w, 1);
	proto_mp_write_uint(&w, PROTO_COMMUNITY_VERSION);
	proto_mp_write_uint(&w, 2);
	proto_mp_write_bin(&w, c->id, 32);
	proto_mp_write_uint(&w, 3);
	proto_mp_write_cstr(&w, c->name);
	proto_mp_write_uint(&w, 4);
	proto_mp_write_array(&w, c->n_stewards);
	for (size_t i = 0; i < c->n_stewards; i++)
		proto_mp_write_bin(&w, c->stewards[i], 32);
	proto_mp_write_uint(&w, 5);
	proto_mp_write_uint(&w, c->threshold);
	if (c->sealed.k) {
		const struct proto_community_sealed *s = &c->sealed;

		proto_mp_write_uint(&w, 6);
		proto_mp_write_map(&w, 6);
		proto_mp_write_uint(&w, 0);
		proto_mp_write_uint(&w, s->k);
		proto_mp_write_uint(&w, 1);
		proto_mp_write_uint(&w, s->t);
		proto_mp_write_uint(&w, 2);
		proto_mp_write_uint(&w, s->quota);
		proto_mp_write_uint(&w, 3);
		proto_mp_write_uint(&w, s->window_days);
		proto_mp_write_uint(&w, 4);
		proto_mp_write_bin(&w, s->vk, 32);
		proto_mp_write_uint(&w, 5);
		proto_mp_write_array(&w, s->n);
		for (size_t i = 0; i < s->n; i++)
			proto_mp_write_bin(&w, s->vks[i], 32);
	}
	return proto_mp_writer_finish(&w, out, out_len);
}

/* The authority of held[i]: the roster held before it, or the community file for the first. */
static int verify_as(const struct proto_community *c, const struct proto_roster *const *held,
		     size_t i, const struct proto_roster *r)
{
	const struct proto_roster *a = i > 0 ? held[i - 1] : NULL;

	if (!a)
		return proto_roster_verify(r, c->id, (const uint8_t(*)[32])c->stewards,
					   c->n_stewards, c->threshold, 0);
	return proto_roster_verify(r, c->id, (const uint8_t(*)[32])a->stewards, a->n_stewards,
				   a->threshold, a->epoch);
}

/* 1 when @a and @b have the same body, 0 when not, or an encoding error. */
static int same_body(const struct proto_roster *a, const struct proto_roster *b)
{
	uint8_t *ba = NULL, *bb = NULL;
	size_t la, lb;
	int err;

	if ((err = proto_roster_encode_body(a, &ba, &la)) ||
	    (err = proto_roster_encode_body(b, &bb, &lb)))
		goto out;
	err = la == lb && memcmp(ba, bb, la) == 0;
out:
	free(ba);
	free(bb);
	return err;
}

/* The newest of @held[0..@n_held) that carries OPRF key holders (body key 10), or NULL. */
static const struct proto_roster *oprf_newest(const struct proto_roster *const *held, size_t n_held)
{
	for (size_t i = n_held; i > 0; i--)
		if (held[i - 1]->oprf_vks)
			return held[i - 1];
	return NULL;
}

/*
 * Body key 10 of a new roster: keys of the community's OPRF key (they interpolate to V), and a
 * generation not older than the one in force; the same generation only with the same keys
 * (a draft made from the previous roster carries it again).
 */
static int oprf_succession(const struct proto_community *c, const struct proto_roster *const *held,
			   size_t n_held, const struct proto_roster *r)
{
	const struct proto_roster *p = oprf_newest(held, n_held);

	if (!r->oprf_vks)
		return 0;
	if (!c->sealed.k)
		return PROTO_E_KEY_MISSING;
	if (proto_oprf_vks_check((const uint8_t(*)[32])r->oprf_vks, r->oprf_n, r->oprf_t,
				 c->sealed.vk))
		return PROTO_E_OPRF_PROOF;
	if (!p)
		return 0;
	if (r->oprf_generation < p->oprf_generation)
		return PROTO_E_OPRF_GENERATION;
	if (r->oprf_generation == p->oprf_generation &&
	    (r->oprf_t != p->oprf_t || r->oprf_n != p->oprf_n ||
	     memcmp(r->oprf_vks, p->oprf_vks, r->oprf_n * 32) != 0))
		return PROTO_E_OPRF_GENERATION;
	return 0;
}

void proto_community_oprf_keys(const struct proto_community *c,
			       const struct proto_roster *const *held, size_t n_held,
			       struct proto_community_sealed *out)
{
	const struct proto_roster *p = oprf_newest(held, n_held);

	*out = c->sealed;
	if (!c->sealed.k || !p)
		return;
	out->generation = p->oprf_generation;
	out->t = (uint8_t)p->oprf_t;
	out->n = p->oprf_n;
	memset(out->vks, 0, sizeof(out->vks));
	memcpy(out->vks, p->oprf_vks, p->oprf_n * 32);
}

int proto_community_roster_judge(const struct proto_community *c,
				 const struct proto_roster *const *held, size_t n_held,
				 const struct proto_roster *r)
{
	size_t i;
	int err;

	if (memcmp(r->community, c->id, 32) != 0)
		return PROTO_E_ROSTER_COMMUNITY;
	if (n_held == 0 || r->epoch > held[n_held - 1]->epoch) {
		const struct proto_roster *h = n_held ? held[n_held - 1] : NULL;

		for (i = 0; h && i < h->n_retired; i++) {
			const struct proto_retired *e =
				proto_roster_find_retired(r, h->retired[i].id);

			if (!e || e->not_after_ms > h->retired[i].not_after_ms)
				return PROTO_E_ROSTER_RETIRED;
		}
		err = verify_as(c, held, n_held, r);
		return err ? err : oprf_succession(c, held, n_held, r);
	}
	for (i = 0; i < n_held && held[i]->epoch != r->epoch; i++)
		;
	if (i == n_held)
		return PROTO_E_ROSTER_EPOCH;
	err = same_body(held[i], r);
	if (err < 0)
		return err;
	if (err == 1)
		return PROTO_E_ROSTER_KNOWN;
	/*
	 * Another body for an epoch we hold. Only when it is signed by the same authority as
	 * the held one is it proof that stewards equivocated; anything else is a forgery that
	 * proves nothing about them.
	 */
	err = verify_as(c, held, i, r);
	return err ? err : PROTO_E_ROSTER_CONFLICT;
}

/*
 * Magic and version of either file: a map whose key 0 is @magic and key 1 the version.
 * Returns 0, @not_ours when the bytes are not recognisably this kind of file, @bad_version
 * for a recognised file of another version (whatever shape follows).
 */
static int read_header(struct proto_mp_reader *rd, struct proto_mp_map *m, const char *magic,
		       int not_ours, int bad_version)
{
	const char *s;
	size_t n;
	uint64_t key, v;

	if (proto_mp_map_begin(rd, m, 16) != 0 || proto_mp_map_next(rd, m, &key) != 1 || key != 0 ||
	    proto_mp_read_str(rd, 64, &s, &n) != 0 || n != strlen(magic) ||
	    memcmp(s, magic, n) != 0)
		return not_ours;
	if (proto_mp_map_next(rd, m, &key) != 1 || key != 1 || proto_mp_read_uint(rd, &v) != 0)
		return not_ours;
	return v == PROTO_COMMUNITY_VERSION ? 0 : bad_version;
}

/* Key 6: the sealed-sighting settings map (ranges are proto_community_check()'s job). */
static int read_sealed(struct proto_mp_reader *rd, struct proto_community_sealed *s)
{
	struct proto_mp_map m;
	uint64_t v;
	int err;

	if ((err = proto_mp_map_begin(rd, &m, 16)) || (err = proto_mp_map_expect_key(rd, &m, 0)) ||
	    (err = proto_mp_read_uint_max(rd, UINT8_MAX, &v)))
		return err;
	s->k = (uint8_t)v;
	if ((err = proto_mp_map_expect_key(rd, &m, 1)) ||
	    (err = proto_mp_read_uint_max(rd, UINT8_MAX, &v)))
		return err;
	s->t = (uint8_t)v;
	if ((err = proto_mp_map_expect_key(rd, &m, 2)) ||
	    (err = proto_mp_read_uint_max(rd, UINT32_MAX, &v)))
		return err;
	s->quota = (uint32_t)v;
	if ((err = proto_mp_map_expect_key(rd, &m, 3)) ||
	    (err = proto_mp_read_uint_max(rd, UINT32_MAX, &v)))
		return err;
	s->window_days = (uint32_t)v;
	if ((err = proto_mp_map_expect_key(rd, &m, 4)) ||
	    (err = proto_mp_read_bin_fixed(rd, s->vk, 32)) ||
	    (err = proto_mp_map_expect_key(rd, &m, 5)) ||
	    (err = proto_mp_read_array(rd, PROTO_ROSTER_STEWARDS_MAX, &s->n)))
		return err;
	for (size_t i = 0; i < s->n; i++)
		if ((err = proto_mp_read_bin_fixed(rd, s->vks[i], 32)))
			return err;
	if ((err = proto_mp_map_next(rd, &m, &v)) < 0)
		return err;
	return err > 0 ? PROTO_E_KEY_UNKNOWN : 0;
}

static int read_community(struct proto_mp_reader *rd, struct proto_mp_map *m,
			  struct proto_community *c)
{
	const char *name;
	size_t n;
	uint64_t k;
	int err;

	if ((err = read_header(rd, m, PROTO_COMMUNITY_MAGIC, PROTO_E_COMMUNITY_FORMAT,
			       PROTO_E_VERSION)) ||
	    (err = proto_mp_map_expect_key(rd, m, 2)) ||
	    (err = proto_mp_read_bin_fixed(rd, c->id, 32)) ||
	    (err = proto_mp_map_expect_key(rd, m, 3)) ||
	    (err = proto_mp_read_str(rd, PROTO_ROSTER_NAME_MAX, &name, &n)) ||
	    (err = proto_roster_check_text(name, n, PROTO_ROSTER_NAME_MAX)))
		return err;
	memcpy(c->name, name, n);
	c->name[n] = 0;
	if ((err = proto_mp_map_expect_key(rd, m, 4)) ||
	    (err = proto_mp_read_array(rd, PROTO_ROSTER_STEWARDS_MAX, &c->n_stewards)))
		return err;
	for (size_t i = 0; i < c->n_stewards; i++)
		if ((err = proto_mp_read_bin_fixed(rd, c->stewards[i], 32)))
			return err;
	if ((err = proto_mp_map_expect_key(rd, m, 5)) ||
	    (err = proto_mp_read_uint_max(rd, PROTO_ROSTER_STEWARDS_MAX, &k)))
		return err;
	c->threshold = (uint32_t)k;
	err = proto_mp_map_next(rd, m, &k);
	if (err < 0)
		return err;
	if (err > 0) {
		if (k != 6)
			return PROTO_E_KEY_UNKNOWN;
		if ((err = read_sealed(rd, &c->sealed)))
			return err;
		if (c->sealed.k == 0)
			return PROTO_E_SEALED_K; /* absent is written as absent, never as k = 0 */
		if ((err = proto_mp_map_expect_end(rd, m)))
			return err;
	} else if ((err = proto_mp_reader_finish(rd))) {
		return err;
	}
	return proto_community_check(c);
}

int proto_community_decode(struct proto_community *c, const uint8_t *buf, size_t len)
{
	struct proto_mp_reader rd;
	struct proto_mp_map m;
	int err;

	memset(c, 0, sizeof(*c));
	proto_mp_reader_init(&rd, buf, len);
	err = read_community(&rd, &m, c);
	if (err)
		memset(c, 0, sizeof(*c));
	return err;
}

void proto_community_netkey_generate(uint8_t key[32])
{
	randombytes_buf(key, 32);
}

int proto_community_netkey_state_encode(const struct proto_netkey_state *k, uint8_t **out,
					size_t *out_len)
{
	struct proto_mp_writer w;

	if (k->has_previous && k->previous_until_ms == 0)
		return PROTO_E_RANGE;
	/* One allocation at msgpack-c's initial size: no reallocation leaves a key copy. */
	proto_mp_writer_init(&w);
	proto_mp_write_map(&w, 3 + (k->epoch > 0) + 2 * k->has_previous);
	proto_mp_write_uint(&w, 0);
	proto_mp_write_cstr(&w, PROTO_NETKEY_MAGIC);
	proto_mp_write_uint(&w, 1);
	proto_mp_write_uint(&w, PROTO_COMMUNITY_VERSION);
	proto_mp_write_uint(&w, 2);
	proto_mp_write_bin(&w, k->key, 32);
	if (k->epoch > 0) {
		proto_mp_write_uint(&w, 3);
		proto_mp_write_uint(&w, k->epoch);
	}
	if (k->has_previous) {
		proto_mp_write_uint(&w, 4);
		proto_mp_write_bin(&w, k->previous, 32);
		proto_mp_write_uint(&w, 5);
		proto_mp_write_uint(&w, k->previous_until_ms);
	}
	return proto_mp_writer_finish(&w, out, out_len);
}

int proto_community_netkey_encode(const uint8_t key[32], uint8_t **out, size_t *out_len)
{
	struct proto_netkey_state k = {0};
	int err;

	memcpy(k.key, key, 32);
	err = proto_community_netkey_state_encode(&k, out, out_len);
	proto_wipe(&k, sizeof(k));
	return err;
}

int proto_community_netkey_state_decode(struct proto_netkey_state *k, const uint8_t *buf,
					size_t len)
{
	struct proto_mp_reader rd;
	struct proto_mp_map m;
	unsigned seen = 0;
	uint64_t key;
	int err;

	memset(k, 0, sizeof(*k));
	proto_mp_reader_init(&rd, buf, len);
	if ((err = read_header(&rd, &m, PROTO_NETKEY_MAGIC, PROTO_E_KEY_FORMAT,
			       PROTO_E_KEY_VERSION)) ||
	    (err = proto_mp_map_expect_key(&rd, &m, 2)) ||
	    (err = proto_mp_read_bin_fixed(&rd, k->key, 32)))
		goto out;
	while ((err = proto_mp_map_next(&rd, &m, &key)) > 0) {
		switch (key) {
		case 3:
			err = proto_mp_read_uint(&rd, &k->epoch);
			if (!err && k->epoch == 0)
				err = PROTO_E_RANGE;
			break;
		case 4:
			err = proto_mp_read_bin_fixed(&rd, k->previous, 32);
			k->has_previous = true;
			break;
		case 5:
			err = proto_mp_read_uint(&rd, &k->previous_until_ms);
			if (!err && k->previous_until_ms == 0)
				err = PROTO_E_RANGE;
			break;
		default:
			err = PROTO_E_KEY_UNKNOWN;
		}
		if (err)
			goto out;
		seen |= 1u << key;
	}
	if (err || (err = proto_mp_reader_finish(&rd)))
		goto out;
	if (((seen >> 4) & 1) != ((seen >> 5) & 1))
		err = PROTO_E_KEY_MISSING;
	else if (sodium_is_zero(k->key, 32) || (k->has_previous && sodium_is_zero(k->previous, 32)))
		err = PROTO_E_KEY_FORMAT;
out:
	if (err)
		proto_wipe(k, sizeof(*k));
	return err;
}

int proto_community_netkey_decode(uint8_t key[32], const uint8_t *buf, size_t len)
{
	struct proto_netkey_state k;
	int err = proto_community_netkey_state_decode(&k, buf, len);

	if (err)
		sodium_memzero(key, 32);
	else
		memcpy(key, k.key, 32);
	proto_wipe(&k, sizeof(k));
	return err;
}

/*
 * Rotation. crypto_box_seal() is X25519 with an ephemeral key plus XSalsa20-Poly1305, and a
 * member's transport key is an X25519 key already (the Noise static key), so the new key is
 * sealed to exactly the key that member authenticates its links with.
 */
int proto_community_netkey_seal(struct proto_roster *r, const uint8_t key[32],
				uint64_t old_until_ms)
{
	uint8_t(*sealed)[PROTO_ROSTER_SEALED_NETKEY_LEN];

	if (r->n_members == 0 || old_until_ms == 0 || sodium_is_zero(key, 32))
		return -EINVAL;
	sealed = calloc(r->n_members, sizeof(*sealed));
	if (!sealed)
		return -ENOMEM;
	for (size_t i = 0; i < r->n_members; i++) {
		if (crypto_box_seal(sealed[i], key, 32, r->members[i].transport_pk)) {
			free(sealed);
			return PROTO_E_ROSTER_MEMBER;
		}
	}
	proto_roster_clear_netkey(r);
	proto_roster_clear_sigs(r);
	r->netkey_sealed = sealed;
	r->netkey_old_until_ms = old_until_ms;
	return 0;
}

int proto_community_netkey_open(const struct proto_roster *r, const uint8_t member_id[32],
				const uint8_t transport_sk[32], uint8_t key[32])
{
	int i = proto_roster_find_member(r, member_id);
	uint8_t pk[32];
	int err = 0;

	sodium_memzero(key, 32);
	if (!r->netkey_sealed)
		return -ENOENT;
	if (i < 0)
		return PROTO_E_ROSTER_NOT_MEMBER;
	crypto_scalarmult_base(pk, transport_sk);
	if (memcmp(pk, r->members[i].transport_pk, 32))
		return PROTO_E_KEY_MISMATCH;
	if (crypto_box_seal_open(key, r->netkey_sealed[i], PROTO_ROSTER_SEALED_NETKEY_LEN, pk,
				 transport_sk) ||
	    sodium_is_zero(key, 32))
		err = PROTO_E_NETKEY_SEALED;
	if (err)
		sodium_memzero(key, 32);
	return err;
}

bool proto_community_netkey_adopt(struct proto_netkey_state *k, const uint8_t key[32],
				  uint64_t epoch, uint64_t old_until_ms, uint64_t now_ms)
{
	if (epoch <= k->epoch)
		return false;
	k->epoch = epoch;
	if (proto_ct_equal(k->key, key, 32))
		return true; /* given out of band already: only the epoch is new */
	if (now_ms < old_until_ms) {
		memcpy(k->previous, k->key, 32);
		k->previous_until_ms = old_until_ms;
		k->has_previous = true;
	} else {
		proto_wipe(k->previous, 32);
		k->previous_until_ms = 0;
		k->has_previous = false;
	}
	memcpy(k->key, key, 32);
	return true;
}

bool proto_community_netkey_expire(struct proto_netkey_state *k, uint64_t now_ms)
{
	if (!k->has_previous || now_ms < k->previous_until_ms)
		return false;
	proto_wipe(k->previous, 32);
	k->previous_until_ms = 0;
	k->has_previous = false;
	return true;
}

void proto_community_netkey_id(const uint8_t key[32], uint8_t id[8])
{
	static const char domain[] = "chatham/netkey-id/1";
	const void *parts[2] = {domain, key};
	const size_t lens[2] = {sizeof(domain) - 1, 32};
	uint8_t h[16];

	proto_hash(h, sizeof(h), parts, lens, 2);
	memcpy(id, h, 8);
}

int proto_community_oprf_share_encode(const uint8_t community[32], uint32_t index,
				      uint64_t generation, const uint8_t share[32], uint8_t **out,
				      size_t *out_len)
{
	struct proto_mp_writer w;

	if (index == 0)
		return -EINVAL;
	proto_mp_writer_init(&w);
	proto_mp_write_map(&w, 5 + (generation > 0));
	proto_mp_write_uint(&w, 0);
	proto_mp_write_cstr(&w, PROTO_OPRF_SHARE_MAGIC);
	proto_mp_write_uint(&w, 1);
	proto_mp_write_uint(&w, PROTO_COMMUNITY_VERSION);
	proto_mp_write_uint(&w, 2);
	proto_mp_write_bin(&w, community, 32);
	proto_mp_write_uint(&w, 3);
	proto_mp_write_uint(&w, index);
	proto_mp_write_uint(&w, 4);
	proto_mp_write_bin(&w, share, 32);
	if (generation > 0) {
		proto_mp_write_uint(&w, 5);
		proto_mp_write_uint(&w, generation);
	}
	return proto_mp_writer_finish(&w, out, out_len);
}

/* A canonical (< L: reducing it changes nothing) non-zero scalar. */
static bool scalar_valid(const uint8_t s[32])
{
	uint8_t wide[64] = {0}, red[32];
	bool ok;

	memcpy(wide, s, 32);
	crypto_core_ristretto255_scalar_reduce(red, wide);
	ok = sodium_memcmp(red, s, 32) == 0 && !sodium_is_zero(s, 32);
	sodium_memzero(wide, sizeof(wide));
	sodium_memzero(red, sizeof(red));
	return ok;
}

int proto_community_oprf_share_decode(uint8_t community[32], uint32_t *index, uint64_t *generation,
				      uint8_t share[32], const uint8_t *buf, size_t len)
{
	struct proto_mp_reader rd;
	struct proto_mp_map m;
	uint64_t j = 0, key;
	int err;

	proto_mp_reader_init(&rd, buf, len);
	if ((err = read_header(&rd, &m, PROTO_OPRF_SHARE_MAGIC, PROTO_E_KEY_FORMAT,
			       PROTO_E_KEY_VERSION)) ||
	    (err = proto_mp_map_expect_key(&rd, &m, 2)) ||
	    (err = proto_mp_read_bin_fixed(&rd, community, 32)) ||
	    (err = proto_mp_map_expect_key(&rd, &m, 3)) || (err = proto_mp_read_uint(&rd, &j)) ||
	    (err = proto_mp_map_expect_key(&rd, &m, 4)) ||
	    (err = proto_mp_read_bin_fixed(&rd, share, 32)))
		goto out;
	/* Key 5, the generation, is written only by a re-sharing (absent: 0, the dealing). */
	*generation = 0;
	if ((err = proto_mp_map_next(&rd, &m, &key)) < 0)
		goto out;
	if (err > 0) {
		if (key != 5) {
			err = PROTO_E_KEY_UNKNOWN;
			goto out;
		}
		if ((err = proto_mp_read_uint(&rd, generation)) ||
		    (err = proto_mp_map_expect_end(&rd, &m)))
			goto out;
		if (*generation == 0) {
			err = PROTO_E_NONMINIMAL;
			goto out;
		}
	} else if ((err = proto_mp_reader_finish(&rd))) {
		goto out;
	}
	if (j == 0 || j > PROTO_ROSTER_STEWARDS_MAX)
		err = PROTO_E_RANGE;
	else if (!scalar_valid(share))
		err = PROTO_E_RING_SCALAR;
	*index = (uint32_t)j;
out:
	if (err)
		sodium_memzero(share, 32);
	return err;
}

int proto_community_oprf_share_check(const struct proto_community *c, const uint8_t community[32],
				     uint32_t index, const uint8_t share[32])
{
	if (memcmp(c->id, community, 32) != 0)
		return PROTO_E_ROSTER_COMMUNITY;
	if (!c->sealed.k)
		return PROTO_E_KEY_MISSING;
	if (index == 0 || index > c->sealed.n)
		return PROTO_E_RANGE;
	return proto_oprf_share_check(share, c->sealed.vks[index - 1]);
}
