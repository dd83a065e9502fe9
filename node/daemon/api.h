/* SPDX-License-Identifier: MIT */
/*
 * node/daemon/api.h — the local API socket server: a Unix stream socket speaking newline-delimited
 * JSON (requests: node/format/request.h; publish responses: node/daemon/ingest.h; query, list,
 * status and peers responses: node/daemon/daemon.c).
 *
 * Guarantees to clients:
 *   - every request line gets exactly one response line, in request order; blank lines are
 *     ignored; a final line without a newline before the client's EOF is still a request;
 *   - a bad request (malformed JSON, unknown op, bad field, oversize line) gets
 *     {"ok":false,"error":{...}} and the connection stays usable; an oversize line is
 *     answered as soon as it passes the limit and the rest of it is skipped;
 *   - the connection is closed by the node only for: failed peer-credential check or too
 *     many connections (each after one error response), a client that leaves a line
 *     unfinished or its responses unread for client_timeout_ms, a line not finished within
 *     line_timeout_ms of its first byte (after an error response), eviction (below), a
 *     write error, shutdown.
 *
 * Protection of the node: each connection has at most one request in flight (pipelined lines
 * wait in its input buffer, and the node stops reading from it meanwhile) and stops being
 * read while more than max_output response bytes are unsent. A connection buffers up to
 * NODE_API_SMALL_BYTES of input on its own; a longer line needs one of
 * NODE_API_LARGE_SLOTS large-request slots, held until its request is answered, so at
 * most that many lines of up to max_line + 128 KiB (and their parsed requests) are in
 * memory at once; a connection waiting for a slot is not read (its client blocks in
 * write) and its line clock starts when it gets one. When max_conns connections are open,
 * a new client evicts the one whose unfinished line is oldest (else the oldest that has
 * sent nothing yet, else the one served and idle for longest) instead of being refused, so
 * slow, stuck or idle clients cannot lock others out; when every connection has a request
 * in flight, unsent responses or unserved lines, the new one is refused. Peer credentials
 * (SO_PEERCRED, SO_PEERGROUPS) are checked on accept: root, the node's own uid, uids in
 * @uids and processes whose primary or supplementary groups meet @gids are allowed.
 *
 * Thread rules: everything runs on the loop thread; node_api_respond() must be called there.
 */
#ifndef CHATHAM_NODE_API_H
#define CHATHAM_NODE_API_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "node/format/request.h"

#define NODE_API_SMALL_BYTES (128u * 1024) /* input a connection buffers without a slot */
#define NODE_API_LARGE_SLOTS 2		   /* connections holding a longer line at once */

struct node_api;
struct node_api_req;

struct node_api_limits {
	size_t max_line;	  /* bytes of one request line */
	size_t max_output;	  /* unsent response bytes before reading pauses */
	unsigned max_conns;	  /* concurrent connections */
	uint64_t timeout_ms;	  /* stalled partial line / unread responses */
	uint64_t line_timeout_ms; /* a line must be complete this long after its first byte */
	/*
	 * Who may connect (root and the node's own user always may): uids/gids every operation;
	 * read_uids/read_gids only the read-only ones (query, list, status, peers). Borrowed
	 * for the call; copied.
	 */
	const uint32_t *uids;
	size_t n_uids;
	const uint32_t *gids;
	size_t n_gids;
	const uint32_t *read_uids;
	size_t n_read_uids;
	const uint32_t *read_gids;
	size_t n_read_gids;
};

/*
 * Request handler. Called for every valid request with @req (ownership transferred to the
 * handler). The handler must call node_api_respond(@areq, ...) exactly once, during the
 * call or later on the loop thread, also when the client has gone meanwhile.
 */
typedef void (*node_api_handler)(void *ctx, struct node_api_req *areq, struct node_request *req);

/*
 * node_api_start() - bind @path (borrowed) on @loop, chmod it to @mode, listen. A stale
 * socket file left by a dead node is replaced; a live one (something accepts on it) fails
 * with -EADDRINUSE; an existing non-socket file fails with -EEXIST. On success *@out is the
 * running server. Errors are negative errno values (libuv's are translated).
 */
int node_api_start(uv_loop_t *loop, const char *path, unsigned mode,
		   const struct node_api_limits *lim, node_api_handler handler, void *ctx,
		   struct node_api **out);

/* node_api_set_limits() - apply new limits (SIGHUP); existing connections keep theirs except
 * the id lists, timeout and output limit, which apply at once. Returns 0 or -ENOMEM. */
int node_api_set_limits(struct node_api *api, const struct node_api_limits *lim);

/*
 * node_api_stop_accepting() - close the listening socket and remove the socket file; open
 * connections continue (so in-flight publishes can be answered). Idempotent.
 */
void node_api_stop_accepting(struct node_api *api);

/*
 * node_api_close() - stop accepting and close every connection: lines not yet read are
 * dropped, a connection closes once its in-flight request is answered and its responses are
 * written, and connections still open after @drain_ms are closed regardless (unsent
 * responses dropped). @api is freed once every handle's close callback ran; then
 * @done(@arg) is called (may be NULL). A request still held by the handler stays valid:
 * responding to it after its connection closed just frees it. NULL @api calls @done at once.
 */
void node_api_close(struct node_api *api, uint64_t drain_ms, void (*done)(void *arg), void *arg);

/*
 * node_api_respond() - send @resp (ownership transferred; NULL means "out of memory", which
 * is answered with a NODE_E_OVERLOAD error) as the response to @areq, adding the request's
 * "id" when it had one, and free @areq.
 */
void node_api_respond(struct node_api_req *areq, json_t *resp);

/*
 * node_api_respond_text() - like node_api_respond() for a response already serialised by
 * the caller (e.g. in a worker thread): @text is a malloc'd NUL-terminated JSON object
 * without newline that already carries the request's "id" (ownership transferred; NULL
 * means out of memory).
 */
void node_api_respond_text(struct node_api_req *areq, char *text);

/* node_api_respond_error() - node_api_respond() with an error response built from @err. */
void node_api_respond_error(struct node_api_req *areq, const struct node_req_error *err);

/* node_api_req_peer() - uid and pid of the client that sent @areq (for logs). */
void node_api_req_peer(const struct node_api_req *areq, uid_t *uid, pid_t *pid);

/* node_api_connections() - number of open client connections. */
size_t node_api_connections(const struct node_api *api);

/*
 * node_api_parse_lane() - the lane of large-line parses (lines over 64 KiB are parsed in the
 * thread pool, at most one per CPU at once: node/common/pool.h), for `status`. Borrowed;
 * valid while @api (non-NULL) is.
 */
struct node_pool_lane;
const struct node_pool_lane *node_api_parse_lane(const struct node_api *api);

#endif
