/* SPDX-License-Identifier: MIT */
#include "node/common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static atomic_int log_level = NODE_LOG_INFO;
static atomic_bool log_prefix = false;
static atomic_bool log_member_names = false;

static const char *const level_names[] = {
	[NODE_LOG_ERR] = "err",	  [NODE_LOG_WARNING] = "warning", [NODE_LOG_NOTICE] = "notice",
	[NODE_LOG_INFO] = "info", [NODE_LOG_DEBUG] = "debug",
};

/*
 * systemd documents JOURNAL_STREAM as "<device>:<inode>" of the stream it connected to
 * stdout/stderr. A child whose stderr was redirected elsewhere inherits the variable, so the
 * only reliable test is to compare it with what fd 2 actually is.
 */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void node_log_init(int level, bool force_prefix)
{
	node_log_set_level(level);
	atomic_store(&log_prefix, force_prefix || stderr_is_journal());
}

void node_log_set_level(int level)
{
	if (level < NODE_LOG_ERR)
		level = NODE_LOG_ERR;
	if (level > NODE_LOG_DEBUG)
		level = NODE_LOG_DEBUG;
	atomic_store(&log_level, level);
}

bool node_log_enabled(int level)
{
	return level <= atomic_load(&log_level);
}

void node_log_set_member_names(bool on)
{
	atomic_store(&log_member_names, on);
}

bool node_log_member_names(void)
{
	return atomic_load(&log_member_names);
}

int node_log_level_from_name(const char *name)
{
	if (!name)
		return -1;
	if (!strcasecmp(name, "error"))
		return NODE_LOG_ERR;
	if (!strcasecmp(name, "warn"))
		return NODE_LOG_WARNING;
	for (int l = NODE_LOG_ERR; l <= NODE_LOG_DEBUG; l++)
		if (!strcasecmp(name, level_names[l]))
			return l;
	return -1;
}

const char *node_log_level_name(int level)
{
	if (level < NODE_LOG_ERR || level > NODE_LOG_DEBUG)
		return "unknown";
	return level_names[level];
}

void node_log(int level, const char *fmt, ...)
{
	char line[NODE_LOG_LINE_MAX + 8];
	size_t off;
	va_list ap;
	int n, saved = errno;

	if (!node_log_enabled(level))
		return;
	if (level < NODE_LOG_ERR)
		level = NODE_LOG_ERR;
	if (level > NODE_LOG_DEBUG)
		level = NODE_LOG_DEBUG;
	if (atomic_load(&log_prefix))
		n = snprintf(line, sizeof(line), "<%d>", level);
	else
		n = snprintf(line, sizeof(line), "chatham: %s: ", level_names[level]);
	off = n > 0 ? (size_t)n : 0;

	va_start(ap, fmt);
	n = vsnprintf(line + off, NODE_LOG_LINE_MAX - off, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= NODE_LOG_LINE_MAX - off) {
		off = NODE_LOG_LINE_MAX - 1;
		memcpy(line + off - 3, "...", 3);
	} else {
		off += (size_t)n;
	}
	/* A message must stay one journal entry: embedded newlines become spaces. */
	for (size_t i = 0; i < off; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[off++] = '\n';
	while (write(STDERR_FILENO, line, off) < 0 && errno == EINTR)
		;
	errno = saved;
}
