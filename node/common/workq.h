/* SPDX-License-Identifier: MIT */
/*
 * node/common/workq.h — the daemon's own worker threads for its jobs, in place of libuv's
 * thread pool, so that handing a job over and getting it back never makes the event loop
 * wait for a worker.
 *
 * Why: uv_queue_work() signals libuv's pool through a pthread condition variable, and glibc's
 * (2.36) pthread_cond_signal() can wait until a worker it woke earlier has run: on a loaded
 * machine, with the workers at a lower priority (node/common/prio.h), the loop thread slept
 * there for up to 0.25 s, and for 2.2 s with the workers at the loop's priority
 * (docs/PERFORMANCE.md "Event-loop lag during a burst"). Here the loop pushes a job onto a
 * lock-free stack and posts a semaphore (neither ever waits); workers take jobs in FIFO order
 * under a mutex the loop never touches; a finished job goes onto a second lock-free stack and
 * the worker writes an eventfd that the loop polls (libuv's uv_async_send() could make the
 * loop spin until a preempted sender returns).
 *
 * One loop per process is attached; node_workq_queue() on any other loop (unit tests, the
 * dissemination fuzzer) is uv_queue_work(). getaddrinfo and file requests stay in libuv's
 * pool.
 *
 * Thread rules: attach, detach and queue on the attached loop's thread; work callbacks on a
 * worker thread; done callbacks on the loop thread, as with uv_queue_work().
 */
#ifndef CHATHAM_NODE_WORKQ_H
#define CHATHAM_NODE_WORKQ_H

#include <uv.h>

/*
 * node_workq_attach() - run jobs queued on @loop on @threads (>= 1) worker threads, started
 * now (once per process; they live until the process exits). Returns 0, -EBUSY (another
 * loop is attached) or a negative errno (no eventfd, no thread); on failure jobs go to
 * libuv's pool.
 */
int node_workq_attach(uv_loop_t *loop, unsigned threads);

/*
 * node_workq_detach() - stop watching @loop. No job may be in flight (uv_run() in default
 * mode returns only when none is: a job keeps the loop alive like a uv_work_t). Closes a
 * handle: run the loop once more before uv_loop_close(). No-op when @loop is not attached.
 */
void node_workq_detach(uv_loop_t *loop);

/*
 * node_workq_queue() - uv_queue_work() with the same contract (@w caller storage until
 * @done runs; @done gets status 0), run by the workers when @loop is attached. Returns 0 or
 * what uv_queue_work() returns (UV_EINVAL for a NULL @work).
 */
int node_workq_queue(uv_loop_t *loop, uv_work_t *w, uv_work_cb work, uv_after_work_cb done);

/*
 * node_workq_release() - @fn(@p) (ownership of @p taken; NULL: no-op) on a worker thread when
 * @loop is attached, else (or out of memory) at once; node_workq_free() is @fn = free().
 * For memory a worker allocated in blocks of NODE_HEAP_MMAP bytes or more, or in a worker's
 * malloc arena: glibc maps such a block alone, and freeing it on the loop thread would be an
 * munmap there, or an madvise when the arena's free top passes the trim threshold; either
 * takes the process's memory map lock as a writer (node/common/heap.h). @fn must be safe on
 * any thread. A small job: it keeps @loop alive until it has run.
 */
void node_workq_release(uv_loop_t *loop, void (*fn)(void *p), void *p);
void node_workq_free(uv_loop_t *loop, void *p);

#endif
