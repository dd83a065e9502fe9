/* SPDX-License-Identifier: MIT */
/*
 * node/common/heap.h — glibc malloc settings for the daemon, set once at start-up.
 *
 * Every brk, mmap, munmap, mremap and mprotect of any thread takes the process's memory
 * map lock (mmap_lock) as a writer. The loop thread allocates from glibc's main heap, which
 * grows and shrinks by brk(); the worker threads allocate from their own arenas, whose heaps
 * are mapped 64 MiB at a time and made usable by mprotect() (a new heap's first step is the
 * top pad, then what each allocation needs). With glibc's defaults (top pad 128 KiB, an
 * mmap threshold that starts at 128 KiB and follows the largest mapped block freed) a
 * 16-node burst makes ~35,000 such calls per 30 s (workers' mprotect) and ~10 brk/mmap per
 * node on the loop thread, and a loop thread waiting in brk() behind a worker that the
 * scheduler took off the CPU while it held the lock slept 25 ms (docs/PERFORMANCE.md,
 * "Event-loop lag during a burst"). node_heap_tune() sets, with the values measured there:
 *  - NODE_HEAP_TOP_PAD: the main heap (the loop thread's) grows by this much beyond what it
 *    needs, a worker arena's new heap starts with it, and every heap keeps it after a trim,
 *    so heaps grow in few steps (pages never touched cost address space only);
 *  - NODE_HEAP_TRIM: a heap is trimmed only when this much is free at its top, so a burst
 *    that frees and allocates again does not shrink and regrow it;
 *  - NODE_HEAP_MMAP: a block of this size or more that a heap cannot serve from its free
 *    memory is mapped on its own (and unmapped when freed) instead of growing the heap.
 *    Fixed, because setting the other two freezes glibc's adaptive threshold at its start
 *    value (128 KiB), which maps and unmaps every buffer of that size or more; left adaptive,
 *    it climbs to the largest mapped block freed (up to 32 MiB) and keeps workers' large
 *    transient blocks in their heaps.
 * An operator's GLIBC_TUNABLES naming glibc.malloc settings win: then nothing is set.
 *
 * Thread rules: call node_heap_tune() once, before any other thread is started.
 */
#ifndef CHATHAM_NODE_HEAP_H
#define CHATHAM_NODE_HEAP_H

#define NODE_HEAP_TOP_PAD (4u << 20)
#define NODE_HEAP_TRIM (8u << 20)
#define NODE_HEAP_MMAP (1u << 20)

/*
 * node_heap_tune() - set glibc's malloc top pad, trim threshold and mmap threshold to the
 * NODE_HEAP_* values. Returns 0 when set, 1 when the environment's GLIBC_TUNABLES sets a
 * glibc.malloc tunable (nothing set), -ENOTSUP when the allocator refuses (not glibc's, or a
 * sanitizer's, which ignores mallopt()). The caller may log the result; no error is fatal.
 */
int node_heap_tune(void);

#endif
