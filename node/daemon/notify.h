/* SPDX-License-Identifier: MIT */
/*
 * node/daemon/notify.h — the systemd service notification protocol (sd_notify(3)), implemented
 * directly so the daemon needs no libsystemd: one datagram of "KEY=VALUE\n..." text sent to
 * the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace).
 *
 * Used for READY=1 (store open, API socket bound), STATUS=..., RELOADING=1/READY=1 around a
 * SIGHUP reload, STOPPING=1 and WATCHDOG=1. Without $NOTIFY_SOCKET every call is a no-op
 * returning 0, so `chatham run` in a terminal behaves the same.
 *
 * Thread rules: any thread; each call opens, sends and closes its own socket.
 */
#ifndef CHATHAM_NODE_NOTIFY_H
#define CHATHAM_NODE_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

/*
 * node_notify() - send @state (borrowed, e.g. "READY=1\nSTATUS=serving") to $NOTIFY_SOCKET.
 * Returns 0 when sent or when $NOTIFY_SOCKET is unset, -EINVAL for a malformed or too long
 * socket name, or the negative errno of socket()/sendmsg(). Callers log failures; a missing
 * service manager is never fatal.
 */
int node_notify(const char *state);

/* node_notifyf() - printf-style node_notify(); the text is truncated at 4 KiB. */
int node_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * node_notify_watchdog_usec() - the watchdog interval systemd asked for ($WATCHDOG_USEC),
 * or 0 when the watchdog is off or meant for another process ($WATCHDOG_PID is set and is
 * not our pid). The daemon sends WATCHDOG=1 at half this interval.
 */
uint64_t node_notify_watchdog_usec(void);

#endif
