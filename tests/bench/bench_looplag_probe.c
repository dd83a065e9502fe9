/* SPDX-License-Identifier: MIT */
/*
 * bench_looplag_probe — the machine's own loop lag: an event loop that does nothing but the
 * node's loop-lag timer (node/daemon/looplag.h). Whatever lag it sees comes from the
 * scheduler (other processes wanting the cores), not from work on its loop, so a node's lag
 * measured in the same run is judged against it (tests/bench/bench_overlay.py starts it
 * beside the burst).
 *
 * Usage: bench_looplag_probe   (runs until SIGTERM or SIGINT, then prints node_looplag_json()
 *                              on one line to stdout and exits 0)
 */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "node/daemon/looplag.h" /* and uv.h */

static void on_signal(uv_signal_t *s, int signum)
{
	(void)signum;
	uv_stop(s->loop);
}

int main(void)
{
	uv_loop_t loop;
	uv_signal_t term, intr;
	struct node_looplag lag;
	json_t *j;
	char *text;
	int rc = 1;

	if (uv_loop_init(&loop) != 0 || node_looplag_init(&lag, &loop) != 0 ||
	    uv_signal_init(&loop, &term) != 0 || uv_signal_init(&loop, &intr) != 0)
		return 1;
	uv_signal_start(&term, on_signal, SIGTERM);
	uv_signal_start(&intr, on_signal, SIGINT);
	node_looplag_start(&lag);
	uv_run(&loop, UV_RUN_DEFAULT);
	j = node_looplag_json(&lag);
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (text && printf("%s\n", text) > 0 && fflush(stdout) == 0)
		rc = 0;
	free(text);
	json_decref(j);
	node_looplag_close(&lag);
	uv_close((uv_handle_t *)&term, NULL);
	uv_close((uv_handle_t *)&intr, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop) != 0)
		rc = 1;
	return rc;
}
