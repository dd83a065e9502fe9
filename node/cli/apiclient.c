/* SPDX-License-Identifier: MIT */
#include "node/cli/apiclient.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "node/cli/cmd.h"
#include "node/common/unixsock.h"
#include "node/format/config.h"
#include "proto/error.h"

#define DEFAULT_CONFIG "/etc/chatham/chatham.conf"

struct node_apiclient {
	int fd;
	int timeout_ms; /* -1: none */
	char *buf;	/* received bytes not yet returned: [start, len) */
	size_t start, len, cap;
};

static void warn_config(void *ctx, unsigned line, const char *msg)
{
	const char *path = ctx;

	if (line)
		fprintf(stderr, "chatham: %s:%u: %s\n", path, line, msg);
	else
		fprintf(stderr, "chatham: %s: %s\n", path, msg);
}

const char *node_apiclient_socket_path(const char *flag, const char *config, char *buf, size_t len)
{
	const char *env = getenv("CHATHAM_SOCKET"), *rt;
	struct node_config *cfg = NULL;

	if (flag) {
		snprintf(buf, len, "%s", flag);
		return buf;
	}
	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return buf;
	}
	if (!config && access(DEFAULT_CONFIG, R_OK) == 0)
		config = DEFAULT_CONFIG;
	if (config && node_config_load_file(config, warn_config, (void *)config, &cfg) == 0) {
		snprintf(buf, len, "%s", node_config_str(cfg, NODE_API_SOCKET));
		node_config_free(cfg);
		return buf;
	}
	rt = getenv("RUNTIME_DIRECTORY");
	if (rt && *rt)
		snprintf(buf, len, "%.*s/chatham.sock", (int)strcspn(rt, ":"), rt);
	else
		snprintf(buf, len, "/run/chatham/chatham.sock");
	return buf;
}

int node_apiclient_connect(const char *path, unsigned timeout_ms, struct node_apiclient **out)
{
	struct node_apiclient *c;
	int fd = node_unixsock_connect(path);

	if (fd < 0)
		return fd;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->fd = fd;
	c->timeout_ms = timeout_ms ? (int)timeout_ms : -1;
	*out = c;
	return 0;
}

void node_apiclient_close(struct node_apiclient *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c->buf);
	free(c);
}

static int wait_fd(struct node_apiclient *c, short events)
{
	struct pollfd p = {.fd = c->fd, .events = events};
	int r;

	do {
		r = poll(&p, 1, c->timeout_ms);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

int node_apiclient_send(struct node_apiclient *c, json_t *req)
{
	char *text = json_dumps(req, JSON_COMPACT);
	size_t len, off = 0;
	int r = 0;

	if (!text)
		return -ENOMEM;
	len = strlen(text);
	text[len++] = '\n'; /* json_dumps' NUL becomes the line end */
	while (off < len) {
		r = wait_fd(c, POLLOUT);
		if (r)
			break;
		ssize_t n = send(c->fd, text + off, len - off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			r = -errno;
			break;
		}
		off += (size_t)n;
	}
	free(text);
	return r;
}

int node_apiclient_recv(struct node_apiclient *c, json_t **resp)
{
	json_error_t jerr;
	char *nl;

	*resp = NULL;
	for (;;) {
		nl = c->len > c->start ? memchr(c->buf + c->start, '\n', c->len - c->start) : NULL;
		if (nl)
			break;
		if (c->len - c->start > NODE_APICLIENT_RESPONSE_MAX)
			return -E2BIG;
		if (c->start) {
			memmove(c->buf, c->buf + c->start, c->len - c->start);
			c->len -= c->start;
			c->start = 0;
		}
		if (c->cap - c->len < 65536) {
			size_t cap = c->cap ? 2 * c->cap : 131072;
			char *p = realloc(c->buf, cap);
			if (!p)
				return -ENOMEM;
			c->buf = p;
			c->cap = cap;
		}
		int r = wait_fd(c, POLLIN);
		if (r)
			return r;
		ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ECONNRESET;
		c->len += (size_t)n;
	}
	size_t n = (size_t)(nl - (c->buf + c->start));
	json_t *j = json_loadb(c->buf + c->start, n, 0, &jerr);
	c->start += n + 1;
	if (!j)
		return -EPROTO;
	if (!json_is_object(j)) {
		json_decref(j);
		return -EPROTO;
	}
	*resp = j;
	return 0;
}

int node_apiclient_call(struct node_apiclient *c, json_t *req, json_t **resp)
{
	int r = node_apiclient_send(c, req);

	/*
	 * A node that refuses a client (not allowed, too many connections, a line deadline)
	 * answers with an error and closes: the rest of the request then fails with EPIPE,
	 * but the node's answer is waiting to be read, and it is what the user needs to see.
	 */
	if (r == -EPIPE || r == -ECONNRESET) {
		*resp = NULL;
		return node_apiclient_recv(c, resp) == 0 ? 0 : r;
	}
	if (r)
		return r;
	return node_apiclient_recv(c, resp);
}

#define CLIENT_TIMEOUT_MS 600000 /* a batch of 10000 on a busy node takes seconds, not minutes */

int node_apiclient_request(const char *cmd, const char *socket, const char *config, json_t *req,
			   json_t **resp)
{
	struct node_apiclient *c = NULL;
	char path[4096];
	int err;

	node_apiclient_socket_path(socket, config, path, sizeof(path));
	err = node_apiclient_connect(path, CLIENT_TIMEOUT_MS, &c);
	if (err) {
		fprintf(stderr, "chatham: %s: cannot connect to %s: %s%s\n", cmd, path,
			proto_error_str(err),
			err == -ENOENT || err == -ECONNREFUSED
				? " (is the node running? see --socket)"
				: "");
		return NODE_CMD_EXIT_UNAVAILABLE;
	}
	err = node_apiclient_call(c, req, resp);
	node_apiclient_close(c);
	if (err) {
		fprintf(stderr, "chatham: %s: no response from the node: %s\n", cmd,
			proto_error_str(err));
		return NODE_CMD_EXIT_UNAVAILABLE;
	}
	return 0;
}

int node_cmd_exit_for_error(int number)
{
	switch (number) {
	case NODE_E_PERM:
		return NODE_CMD_EXIT_NOPERM;
	case NODE_E_OVERLOAD:
	case NODE_E_SHUTDOWN:
		return NODE_CMD_EXIT_TEMPFAIL;
	case NODE_E_REQUEST:
	case NODE_E_IMPORT:
	case NODE_E_JSON:
	case NODE_E_OP:
	case NODE_E_FIELD:
	case NODE_E_LINE_TOO_LONG:
	case NODE_E_POLICY:
	case NODE_E_WARNINGLISTED:
	case NODE_E_NAMES_MEMBER:
		return NODE_CMD_EXIT_DATAERR;
	default:
		/* The protocol bands: a value, report or key the node found invalid. */
		return number <= -1000 && number > -2000 ? NODE_CMD_EXIT_DATAERR
							 : NODE_CMD_EXIT_FAIL;
	}
}

int node_apiclient_print_error(const char *cmd, json_t *error)
{
	const char *code = json_string_value(json_object_get(error, "code"));
	const char *field = json_string_value(json_object_get(error, "field"));
	const char *msg = json_string_value(json_object_get(error, "message"));

	fprintf(stderr, "chatham: %s: %s%s%s (%s)\n", cmd, field ? field : "", field ? ": " : "",
		msg ? msg : "request failed", code ? code : "?");
	return node_cmd_exit_for_error((int)json_integer_value(json_object_get(error, "number")));
}

int node_apiclient_exchange(const char *cmd, const char *socket, const char *config, bool raw,
			    json_t *req, json_t **resp)
{
	json_t *r = NULL, *err;
	int code = node_apiclient_request(cmd, socket, config, req, &r);

	*resp = NULL;
	if (code)
		return code;
	err = json_object_get(r, "error");
	if (raw) {
		char *text = json_dumps(r, JSON_COMPACT);

		if (text)
			puts(text);
		free(text);
		code = json_is_true(json_object_get(r, "ok"))
			       ? NODE_CMD_EXIT_OK
			       : node_cmd_exit_for_error(
					 (int)json_integer_value(json_object_get(err, "number")));
	} else if (!json_is_true(json_object_get(r, "ok"))) {
		code = node_apiclient_print_error(cmd, err);
	} else {
		*resp = r;
		return 0;
	}
	json_decref(r);
	return code;
}
