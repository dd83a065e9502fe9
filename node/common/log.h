/* SPDX-License-Identifier: MIT */
/*
 * node/common/log.h — the daemon's and the CLI's logger: one line per message on stderr.
 *
 * Priorities are the syslog ones (3 err .. 7 debug). When stderr is connected to the journal
 * (systemd sets JOURNAL_STREAM to "<dev>:<inode>" of that stream and we check that it is
 * still fd 2), every line starts with the "<N>" prefix that journald's stream protocol turns
 * into the entry's priority, and carries no timestamp (the journal adds one). Otherwise
 * lines look like "chatham: warning: message" so a terminal reads them naturally; the
 * prefix form can be forced with node_log_init(level, true).
 *
 * What is never logged at any level: secret keys, the network key, and the identity of a
 * member other than this node (member ids, names, addresses, signer keys, linkability tags).
 * Code that needs a peer's identity for debugging logs it at NODE_LOG_DEBUG only, and the
 * default level is info.
 *
 * Thread rules: node_log() may be called from any thread (the ingest workers log too). Each
 * line is formatted into a local buffer and written with one write(2), so lines never
 * interleave; lines longer than NODE_LOG_LINE_MAX are truncated with "...".
 */
#ifndef CHATHAM_NODE_LOG_H
#define CHATHAM_NODE_LOG_H

#include <stdbool.h>

enum node_log_level {
	NODE_LOG_ERR = 3,
	NODE_LOG_WARNING = 4,
	NODE_LOG_NOTICE = 5,
	NODE_LOG_INFO = 6,
	NODE_LOG_DEBUG = 7,
};

#define NODE_LOG_LINE_MAX 2048

/*
 * node_log_init() - set the level (messages above it are dropped) and choose the format:
 * @force_prefix true always writes "<N>" prefixes; false writes them only when stderr is
 * the journal stream (JOURNAL_STREAM matches fd 2). May be called again (SIGHUP reload).
 */
void node_log_init(int level, bool force_prefix);

/* node_log_set_level() - change only the level. Thread-safe. */
void node_log_set_level(int level);

/* node_log_enabled() - whether a message of @level would be written. */
bool node_log_enabled(int level);

/*
 * node_log_set_member_names() - whether debug lines may name the member and the address at
 * the other end of a link ([log] member_names); off by default, when a link is named by
 * its number only. node_log_member_names() reads it. Thread-safe.
 */
void node_log_set_member_names(bool on);
bool node_log_member_names(void);

/*
 * node_log_level_from_name() - "err"/"error", "warning"/"warn", "notice", "info", "debug"
 * (case-insensitive) to the level, or -1. node_log_level_name() is the inverse.
 */
int node_log_level_from_name(const char *name);
const char *node_log_level_name(int level);

/* node_log() - log one message at @level; @fmt is printf-style; a trailing newline is added. */
void node_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) node_log(NODE_LOG_ERR, __VA_ARGS__)
#define log_warning(...) node_log(NODE_LOG_WARNING, __VA_ARGS__)
#define log_notice(...) node_log(NODE_LOG_NOTICE, __VA_ARGS__)
#define log_info(...) node_log(NODE_LOG_INFO, __VA_ARGS__)
#define log_debug(...) node_log(NODE_LOG_DEBUG, __VA_ARGS__)

#endif
