/* SPDX-License-Identifier: MIT */
/*
 * node/common/prio.h — the loop thread before the thread pool. The loop thread answers
 * links, the API socket and timers and needs the CPU for a few microseconds at a time, often;
 * pool threads verify, sign and commit in batches and can wait. On a machine with more
 * runnable threads than cores (several nodes, or a node beside other work) the scheduler
 * would otherwise share the CPU evenly, and every burst of pool work becomes loop lag
 * (docs/PERFORMANCE.md, "Event-loop lag"). So each pool thread lowers its own priority
 * (nice +NODE_PRIO_WORKER_NICE, Linux per-thread) the first time it runs a job; raising a
 * thread's nice needs no privilege. Work still runs at full speed when the CPU is free.
 *
 * Thread rules: node_prio_worker() is called on a pool thread, at the start of a work
 * callback; it touches only that thread.
 */
#ifndef CHATHAM_NODE_PRIO_H
#define CHATHAM_NODE_PRIO_H

#define NODE_PRIO_WORKER_NICE 5

/* node_prio_worker() - lower the calling thread's priority, once per thread. Cannot fail
 * visibly: when the kernel refuses, the thread keeps its priority. */
void node_prio_worker(void);

#endif
