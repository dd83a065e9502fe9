/* SPDX-License-Identifier: MIT */
#include "node/common/prio.h"

#include <errno.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

void node_prio_worker(void)
{
	static _Thread_local int done;
	id_t tid = (id_t)syscall(SYS_gettid);
	int now;

	if (done)
		return;
	done = 1;
	/*
	 * Relative to the thread's own nice value (inherited from the process), not to 0: a
	 * node started at nice 10 (systemd Nice=, nice(1)) would otherwise set its workers to
	 * 5, above the loop thread when privileged, and an unprivileged one would be refused.
	 * On Linux PRIO_PROCESS with a thread id reads and sets that thread's nice alone.
	 */
	errno = 0;
	now = getpriority(PRIO_PROCESS, tid);
	if (now == -1 && errno)
		return;
	setpriority(PRIO_PROCESS, tid,
		    now + NODE_PRIO_WORKER_NICE > 19 ? 19 : now + NODE_PRIO_WORKER_NICE);
}
