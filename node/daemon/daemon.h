/* SPDX-License-Identifier: MIT */
/*
 * node/daemon/daemon.h — `chatham run`: the node's event loop and its life cycle.
 *
 * Start-up, in order (any failure is logged with what to fix and ends the process):
 *   1. the config file (node/format/config.h); 2. the member key file, the community file; 3. the
 *   store (state_dir); 4. the rosters: every epoch held in the store plus roster_file when it
 *   is newer and verifies (epoch 1 against the community file's stewards, later epochs
 *   against the newest held roster's, or the community file's when none is held); this
 *   node's key must be a member of the newest; 5. the export environment (export_dir);
 *   6. the API socket; 7. the overlay (node/overlay/overlay.h): the network key file, the [overlay]
 *   listeners, then dialling the newest roster's members — a missing network key file
 *   leaves the overlay off with a warning. Then READY=1 is sent to systemd, the export
 *   catches up in the background, and the loop runs.
 *
 * Signals: SIGTERM/SIGINT shut down cleanly — STOPPING=1, the overlay closes its listeners
 * and links, the API stops accepting,
 * publishes still being signed or committed finish and are answered (new ones get
 * NODE_E_SHUTDOWN), the export catches up with the last commit, clients get up to 3 s to
 * read their responses, every handle is closed, the stores are closed and uv_loop_close()
 * must return 0. SIGHUP reloads off the loop thread: a config with any error is refused
 * whole (each error logged with its line) and the running one stays; otherwise reloadable
 * options apply at once, non-reloadable changes are logged as needing a restart, and a newer
 * roster_file that verifies is adopted (the overlay then closes the links of members that
 * left). RELOADING=1 / READY=1 bracket the reload.
 *
 * Housekeeping every 10 s: the expiry sweep (store_expire, off the loop thread), and a
 * STATUS= line to systemd. WATCHDOG=1 is sent at half of $WATCHDOG_USEC from a loop timer,
 * so a stalled loop is noticed.
 *
 * File descriptors: at start the soft RLIMIT_NOFILE is raised to the hard limit; the overlay
 * may hold all of it but [api] max_connections and NODE_DAEMON_FD_RESERVE (node/overlay.h
 * max_fds), and half of that at most for connections not yet past Noise message 1.
 *
 * Exit codes: 0 after a clean shutdown, NODE_DAEMON_EXIT_CONFIG (78, EX_CONFIG) when the
 * configuration or a file it names is unusable (the unit does not restart on it), 1 for any
 * other failure.
 */
#ifndef CHATHAM_NODE_DAEMON_H
#define CHATHAM_NODE_DAEMON_H

#define NODE_DAEMON_EXIT_CONFIG 78
#define NODE_DAEMON_FD_RESERVE 64 /* descriptors kept for stores, files, log, signals */

/*
 * node_daemon_run() - run the node with the config file @config_path (borrowed) until it is
 * told to stop. Returns the process exit code above. Call once per process: it installs
 * signal handlers and sets SIGPIPE to ignored.
 */
int node_daemon_run(const char *config_path);

#endif
