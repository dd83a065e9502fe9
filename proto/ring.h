/* SPDX-License-Identifier: MIT */
/*
 * proto/ring.h — linkable ring signatures (bLSAG shape) on ristretto255 for anonymous
 * provenance (DESIGN.md §4).
 *
 * Keys: a ring secret key is a canonical, non-zero ristretto255 scalar x (32 bytes, little
 * endian, < L); its public key is the ristretto255 encoding of P = x·G.
 *
 * Linkability tag of a member on an indicator:
 *     H_p = ristretto255_from_hash(BLAKE2b-512("chatham/tag/1" || indicator_id))
 *     I   = x·H_p
 * One member's signatures on one indicator carry the same tag whatever the ring, message or
 * epoch, so distinct tags count distinct members; tags on different indicators are unlinkable.
 *
 * Signature bytes (proto_ring_sig_size(n) = (n+1)·32 + 32):
 *     I (32) || c_0 (32) || s_0 (32) || ... || s_{n-1} (32)
 * with I a canonical ristretto255 encoding and c_0, s_i canonical scalars (< L). The tag is
 * also carried in the report body (provenance key 4); proto_ring_verify() takes that tag and
 * rejects a signature whose I differs from it.
 *
 * Verification equation, for i = 0 .. n-1 with c_n required to equal c_0:
 *     L_i = s_i·G + c_i·P_i,    R_i = s_i·H_p + c_i·I,
 *     c_{i+1} = H_s(T || L_i || R_i)
 *     T = "chatham/ring/1" || epoch (u64 BE) || n (u32 BE) || P_0 || ... || P_{n-1}
 *         || indicator_id || I || msg_len (u64 BE) || msg
 *     H_s(x) = BLAKE2b-512(x) reduced mod L.
 * Every challenge thus binds the message (for reports: "chatham/report/1" || body, see
 * proto/report.h), the roster epoch, the exact ordered ring and the indicator.
 *
 * Rings: 1 ..= PROTO_REPORT_RING_MAX (256, proto/report.h) distinct valid public keys, in the
 * order the report names them (ascending member index). Whether a ring is large enough for
 * the community's minimum ring size is policy's decision, not this module's.
 *
 * Wire validation: every ring key and I must be the canonical RFC 9496 encoding (top bit of
 * the last byte clear) of a non-identity element; every scalar must be canonical. ristretto255
 * has no small-order elements, and encodings of small-order Edwards points are rejected.
 * Note: libsodium 1.0.18's crypto_core_ristretto255_is_valid_point() accepts the identity and
 * encodings with the top bit set (a second encoding of the same element); use
 * proto_ring_pk_check() instead wherever ring keys or tags are accepted.
 *
 * Secret-dependent work (the tag, the nonce α, s_π = α - c_π·x) runs on libsodium's
 * constant-time arithmetic. The ring arithmetic on public values (verification, and the
 * signer's decoy steps whose scalars are published in the signature) uses a variable-time
 * double-scalar multiplication in ring.c, because libsodium 1.0.18 offers none and four
 * separate constant-time multiplications per ring member are about twice as slow. The
 * position of the signer's step in the signing loop is inherent to bLSAG and not hidden
 * from an observer who can time the signer's CPU per step.
 *
 * Every function is reentrant and thread-safe once proto_crypto_init() returned 0. All
 * pointer parameters are borrowed for the duration of the call; nothing is retained.
 */
#ifndef CHATHAM_PROTO_RING_H
#define CHATHAM_PROTO_RING_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_RING_KEY_BYTES 32
#define PROTO_RING_TAG_DOMAIN "chatham/tag/1"
#define PROTO_RING_SIG_DOMAIN "chatham/ring/1"

/* proto_ring_sig_size() - signature length for a ring of @n keys: (n+1)·32 + 32. */
size_t proto_ring_sig_size(size_t n);

/*
 * proto_ring_keypair() - fresh random ring key pair from the OS CSPRNG: @sk a canonical
 * non-zero scalar, @pk = sk·G. Returns 0. @sk must be wiped (proto_wipe) by the caller.
 */
int proto_ring_keypair(uint8_t pk[32], uint8_t sk[32]);

/*
 * proto_ring_pk_from_sk() - @pk = sk·G. Used by key-bundle decoding to derive and check the
 * public half. Returns 0, or PROTO_E_RING_SCALAR when @sk is not canonical or is zero
 * (@pk is then zeroed).
 */
int proto_ring_pk_from_sk(uint8_t pk[32], const uint8_t sk[32]);

/*
 * proto_ring_tag() - the linkability tag I = sk·H_p(indicator_id) (see above) into @tag.
 * Returns 0, PROTO_E_RING_SCALAR (@sk not canonical or zero), or PROTO_E_RING_POINT when the
 * hash-to-point or the product is the identity (probability ~2^-252).
 */
int proto_ring_tag(uint8_t tag[32], const uint8_t sk[32], const uint8_t indicator_id[32]);

/*
 * proto_ring_pk_check() - 0 when @pk is acceptable as a ring key or tag under the rules above
 * (roster decoding should call it for every member's ring key), else PROTO_E_RING_POINT.
 */
int proto_ring_pk_check(const uint8_t pk[32]);

/*
 * proto_ring_index_of() - position of @pk in @ring (n keys). Returns the index (>= 0) or
 * PROTO_E_RING_SIGNER when @pk is not in the ring. Not constant-time (ring keys are public).
 */
int proto_ring_index_of(const uint8_t (*ring)[32], size_t n, const uint8_t pk[32]);

/*
 * proto_ring_pick() - choose a uniformly random ring of @k distinct member indexes out of a
 * roster of @roster_n members that includes @signer, written to @out (k entries) in
 * ascending order (the order proto/report.h requires). Randomness from the OS CSPRNG.
 * Returns the position of @signer in @out (>= 0), PROTO_E_RING_SIZE when k is 0, over
 * PROTO_REPORT_RING_MAX or over @roster_n, or -EINVAL when @signer >= @roster_n or
 * @roster_n > 65536.
 */
int proto_ring_pick(uint16_t *out, size_t k, size_t roster_n, size_t signer);

/*
 * proto_ring_sign() - sign @msg (@msg_len bytes, may be NULL when 0) for roster @epoch with
 * the ring @ring of @n public keys, where @ring[@signer_index] is the public key of @sk, on
 * the indicator @indicator_id. Writes proto_ring_sig_size(n) bytes to @sig; @sig_len is the
 * capacity of @sig. Nonces come from the OS CSPRNG, hedged with the secret key and the whole
 * transcript (see proto_ring_sign_seeded()).
 *
 * Returns 0 or:
 *   PROTO_E_RING_SIZE     n is 0 or over PROTO_REPORT_RING_MAX
 *   PROTO_E_RING_SIG_LEN  @sig_len < proto_ring_sig_size(n)
 *   PROTO_E_RING_POINT    a ring key is not a valid ristretto255 encoding
 *   PROTO_E_RING_DUP      two ring keys are equal
 *   PROTO_E_RING_SCALAR   @sk is not canonical or is zero
 *   PROTO_E_RING_SIGNER   @signer_index >= n, or @ring[@signer_index] is not the public
 *                         key of @sk
 *   -ENOMEM
 * On any failure after the size checks, the first proto_ring_sig_size(n) bytes of @sig are
 * zeroed.
 */
int proto_ring_sign(uint8_t *sig, size_t sig_len, const uint8_t *msg, size_t msg_len,
		    uint64_t epoch, const uint8_t (*ring)[32], size_t n, size_t signer_index,
		    const uint8_t sk[32], const uint8_t indicator_id[32]);

/*
 * proto_ring_sign_seeded() - proto_ring_sign() with the nonces derived deterministically
 * from @seed (32 bytes), the secret key and the transcript T. Same inputs and seed give the
 * same signature (for tests, fuzz seeds and vectors). Reusing a seed across different
 * messages does not leak the key, because the nonce also depends on T. Same errors.
 */
int proto_ring_sign_seeded(uint8_t *sig, size_t sig_len, const uint8_t *msg, size_t msg_len,
			   uint64_t epoch, const uint8_t (*ring)[32], size_t n, size_t signer_index,
			   const uint8_t sk[32], const uint8_t indicator_id[32],
			   const uint8_t seed[32]);

/*
 * proto_ring_verify() - verify @sig (@sig_len bytes) on @msg for roster @epoch, ring @ring
 * (n keys, in signing order), indicator @indicator_id and the tag @tag from the report body.
 *
 * Returns 0 when the signature is valid and its I equals @tag, else the first problem found:
 *   PROTO_E_RING_SIZE     n is 0 or over PROTO_REPORT_RING_MAX
 *   PROTO_E_RING_SIG_LEN  @sig_len != proto_ring_sig_size(n)
 *   PROTO_E_RING_POINT    a ring key or the I in @sig is not a valid ristretto255 encoding
 *   PROTO_E_RING_DUP      two ring keys are equal
 *   PROTO_E_RING_SCALAR   c_0 or an s_i is not canonical
 *   PROTO_E_RING_SIG      I differs from @tag, or the ring equation does not close
 *   -ENOMEM
 */
int proto_ring_verify(const uint8_t *sig, size_t sig_len, const uint8_t *msg, size_t msg_len,
		      uint64_t epoch, const uint8_t (*ring)[32], size_t n,
		      const uint8_t indicator_id[32], const uint8_t tag[32]);

/*
 * Raw primitives, exposed for the benchmark (which compares the ring against the machine's
 * own scalar-multiplication speed) and for tests that cross-check the variable-time
 * arithmetic against libsodium. Not for wire data: the libsodium ones use its lax decoder.
 *
 * proto_ring_raw_scalarmult():       q = n·p (libsodium, constant time)
 * proto_ring_raw_scalarmult_base():  q = n·G (libsodium, constant time)
 * proto_ring_raw_add():              r = p + q (libsodium)
 *   Return 0, or -1 when an input is invalid or the result is the identity.
 * proto_ring_raw_double_mult_vartime(): r = a·A + b·B (ring.c, variable time, public data
 *   only; A and B pass proto_ring_pk_check(), a and b canonical). The identity encodes as 32
 *   zero bytes. Returns 0, PROTO_E_RING_POINT or PROTO_E_RING_SCALAR.
 */
int proto_ring_raw_scalarmult(uint8_t q[32], const uint8_t n[32], const uint8_t p[32]);
int proto_ring_raw_scalarmult_base(uint8_t q[32], const uint8_t n[32]);
int proto_ring_raw_add(uint8_t r[32], const uint8_t p[32], const uint8_t q[32]);
int proto_ring_raw_double_mult_vartime(uint8_t r[32], const uint8_t a[32], const uint8_t A[32],
				       const uint8_t b[32], const uint8_t B[32]);

#endif
