/* SPDX-License-Identifier: MIT */
#include "node/common/heap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

int node_heap_tune(void)
{
	const char *tun = getenv("GLIBC_TUNABLES");

	if (tun && strstr(tun, "glibc.malloc."))
		return 1;
#ifdef __GLIBC__
	/* mallopt() returns 1 on success; a sanitizer's interceptor returns 0 and sets nothing. */
	if (mallopt(M_MMAP_THRESHOLD, (int)NODE_HEAP_MMAP) == 1 &&
	    mallopt(M_TOP_PAD, (int)NODE_HEAP_TOP_PAD) == 1 &&
	    mallopt(M_TRIM_THRESHOLD, (int)NODE_HEAP_TRIM) == 1)
		return 0;
#endif
	return -ENOTSUP;
}
