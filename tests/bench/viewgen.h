/* SPDX-License-Identifier: MIT */
/*
 * tests/bench/viewgen.h — the export views that bench_store (step 4) and bench_redact
 * (views mode) redact: a roster of 500 members with 3 aliases and 2 domains each, and per
 * document a ~240-byte description and 3 tags that no other document repeats, every other
 * description (odd @i) naming two members in one of the leak corpus's spellings ("CERT
 * Member17", the alias run together "Member42NationalCSIRT", "member42.example",
 * "cert-m42.example"). Deterministic: document @i is the same in every program and run.
 */
#ifndef CHATHAM_TESTS_BENCH_VIEWGEN_H
#define CHATHAM_TESTS_BENCH_VIEWGEN_H

#include <stddef.h>

#include "proto/roster.h"

#define VIEWGEN_MEMBERS 500
/* a ~240-byte description: at most 17 tokens of <= 24 bytes, or 232 + 24 */
#define VIEWGEN_DESC 512
#define VIEWGEN_TAGS 3
#define VIEWGEN_TAG 40

/* viewgen_xorshift() - the next number of the xorshift64 generator at @s (not 0). */
uint64_t viewgen_xorshift(uint64_t *s);

/*
 * viewgen_member_add() - add to @r a member @m (its id and keys set, the rest zeroed) named
 * @text[0], with aliases @text[1..3] and domains @text[4..5] (borrowed: @r copies them).
 * Returns proto_roster_add_member()'s result.
 */
int viewgen_member_add(struct proto_roster *r, struct proto_member *m, char *const text[6]);

/* viewgen_roster() - the 500-member roster (new; proto_roster_free()), NULL out of memory. */
struct proto_roster *viewgen_roster(void);

/*
 * viewgen_doc() - document @i's description (NUL-terminated, its length returned) into
 * @desc and its tags (NUL-terminated) into @tags: two of 20 common tags (different ones) and
 * a case number.
 */
size_t viewgen_doc(size_t i, char desc[VIEWGEN_DESC], char tags[VIEWGEN_TAGS][VIEWGEN_TAG]);

#endif
