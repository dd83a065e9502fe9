/* SPDX-License-Identifier: MIT */
/*
 * policy/layout.h — where policy/'s export-view code goes in the binary (internal to
 * policy/: redact.c, skeleton.c, strip.c).
 *
 * POLICY_HOT marks the functions every export view runs: policy_strip_view() and its
 * helpers, and the redactor's per-view path (the first look and its reading, the matches
 * at the quick reading's hits, marking, the verifying read and its splice, the chain gate;
 * a function inlined into a marked one goes with it). GCC puts a hot function in .text.hot,
 * which the linker gathers into one stretch for the whole program, so the ~25 KiB a view
 * runs sit together and fall evenly on the 64 sets of the 32 KiB, 8-way L1 instruction
 * cache instead of between the roster build, the full path, the test paths and the rest of
 * the daemon (a view naming two members took 80 L1 instruction misses, 12-17 with this;
 * docs/PERFORMANCE.md, "Redaction", session 12 code). A function that runs in only some
 * views (map_scan(), fast_scan(), quick_hits(), verify_left(), chain_find(), the memo's
 * copy-in) is not marked: it would spread the stretch over more sets; nor are the look's
 * SSE2 and byte lanes, which run only where AVX2 is missing. GCC's hot attribute
 * also tells its inliner that the function's calls are hot; with GCC 12.2 at -O2 the
 * redactor ran the same number of instructions per view with and without it (callgrind).
 * A new per-view function wants the mark; one that stops being per-view wants it removed.
 */
#ifndef CHATHAM_POLICY_LAYOUT_H
#define CHATHAM_POLICY_LAYOUT_H

#define POLICY_HOT __attribute__((hot))

#endif
