/* SPDX-License-Identifier: MIT */
/*
 * node/cli/apiclient.h — blocking client of the local API socket, for CLI commands and tools.
 * One request line out, one response line in (requests: node/format/request.h; publish responses: node/daemon/ingest.h).
 *
 * Thread rules: a client belongs to one thread. Blocking I/O is right here: the CLI does
 * nothing else while it waits.
 */
#ifndef CHATHAM_NODE_APICLIENT_H
#define CHATHAM_NODE_APICLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct node_apiclient;

/* Longest response line accepted (a batch of 10000 per-item results fits easily). */
#define NODE_APICLIENT_RESPONSE_MAX (64u << 20)

/*
 * node_apiclient_socket_path() - which socket a CLI command talks to: @flag (--socket) if
 * non-NULL, else $CHATHAM_SOCKET, else [api] socket of the config file @config (--config;
 * when NULL, /etc/chatham/chatham.conf if it exists), else the built-in default
 * ($RUNTIME_DIRECTORY/chatham.sock or /run/chatham/chatham.sock). Writes into @buf (@len
 * bytes) and returns it; a config file that does not parse is skipped with a warning on
 * stderr.
 */
const char *node_apiclient_socket_path(const char *flag, const char *config, char *buf, size_t len);

/*
 * node_apiclient_connect() - connect to the socket at @path. @timeout_ms bounds every later
 * send and receive (0 = no limit). On success *@out owns the connection.
 * Returns 0 or a negative errno (-ENOENT: no node listening there, -EACCES, -ECONNREFUSED,
 * -ENAMETOOLONG).
 */
int node_apiclient_connect(const char *path, unsigned timeout_ms, struct node_apiclient **out);

/* node_apiclient_close() - close the connection. NULL is a no-op. */
void node_apiclient_close(struct node_apiclient *c);

/*
 * node_apiclient_send() - write @req (borrowed) as one compact JSON line.
 * node_apiclient_recv() - read the next response line and parse it; *@resp is a new
 * reference. Returns 0, -EPIPE/-ECONNRESET when the node closed the connection, -ETIMEDOUT,
 * -EPROTO for a response that is not a JSON object, -E2BIG for one over
 * NODE_APICLIENT_RESPONSE_MAX, -ENOMEM.
 */
int node_apiclient_send(struct node_apiclient *c, json_t *req);
int node_apiclient_recv(struct node_apiclient *c, json_t **resp);

/*
 * node_apiclient_call() - send @req and receive its response. Same errors; but when the
 * node closed the connection while the request was being sent (it refused the client:
 * NODE_E_PERM, NODE_E_OVERLOAD), the error response it sent first is returned as the
 * response instead of -EPIPE.
 */
int node_apiclient_call(struct node_apiclient *c, json_t *req, json_t **resp);

/*
 * node_apiclient_request() - for a CLI command named @cmd: connect to the node's socket
 * (node_apiclient_socket_path() from @socket and @config), send @req (borrowed) and receive
 * the response in *@resp (new reference). On a transport failure prints
 * "chatham: CMD: ..." to stderr and returns NODE_CMD_EXIT_UNAVAILABLE (node/cli/cmd.h);
 * returns 0 when a response (ok or not) was received.
 *
 * node_apiclient_print_error() - print the "error" object of a failed response as
 * "chatham: CMD: FIELD: MESSAGE (CODE)" on stderr. Returns the exit status of the error's
 * class, node_cmd_exit_for_error().
 */
int node_apiclient_request(const char *cmd, const char *socket, const char *config, json_t *req,
			   json_t **resp);
int node_apiclient_print_error(const char *cmd, json_t *error);

/*
 * node_apiclient_exchange() - node_apiclient_request() plus what every command does alike
 * with the answer: a transport failure, --json (@raw: the response printed as it came) and
 * an error response are printed here and their exit status returned, with *@resp NULL.
 * Otherwise returns 0 and *@resp is the ok response for the caller to print and free.
 * @req stays the caller's.
 */
int node_apiclient_exchange(const char *cmd, const char *socket, const char *config, bool raw,
			    json_t *req, json_t **resp);

/* A response field as a string ("" when absent or not a string) or an integer (0). */
static inline const char *node_resp_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static inline long long node_resp_int(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

#endif
