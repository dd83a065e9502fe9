/* SPDX-License-Identifier: MIT */
#include "node/common/prio.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

void node_prio_worker(void)
{
	static _Thread_local int done;

	if (done)
		return;
	done = 1;
	/* On Linux PRIO_PROCESS with a thread id sets that thread's nice value alone. */
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), NODE_PRIO_WORKER_NICE);
}
