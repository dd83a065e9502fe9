/* SPDX-License-Identifier: MIT */
/*
 * Local API server. Each connection is a small state machine around one input buffer:
 *
 *   reading --(complete line)--> busy (request with the handler, reading stopped)
 *   busy --(node_api_respond)--> reading, after the remaining buffered lines were served
 *   any --(EOF)--> drain: serve buffered lines, then close once every response is written
 *
 * Memory per connection is bounded by the line limit (input) and the output limit (unsent
 * responses; reading pauses above it). A connection's memory is freed when both its handle
 * is closed and no request of it is held by the handler (a reference count of two at most).
 */
#include "node/daemon/api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/common/heap.h"
#include "node/common/log.h"
#include "node/common/pool.h"
#include "node/common/unixsock.h"
#include "node/common/workq.h"
#include "proto/error.h"

#define READ_CHUNK (64 * 1024)
#define SWEEP_MS 1000
#define MAX_PEER_GROUPS 256
#define PARSE_OFFLOAD_BYTES (64 * 1024) /* longer request lines are parsed in the pool */

struct conn {
	uv_pipe_t pipe;
	struct node_api *api;
	struct conn *prev, *next;
	unsigned refs; /* 1 for the open handle + 1 while a request is in flight */
	char *buf;     /* input: [start, len) unconsumed */
	size_t start, len, cap;
	size_t scanned; /* bytes after start known to hold no newline */
	size_t unsent;	/* response bytes queued but not yet written */
	uint64_t last_progress;
	uint64_t line_start; /* when the unfinished line's clock started (0: none) */
	uid_t uid;
	pid_t pid;
	bool busy, reading, closing, eof, skipping, in_process, close_after_write;
	bool read_only; /* admitted by [api] read_uids/read_gids only */
	bool large;	/* holds a large-request slot */
	bool served;	/* a complete line was read from it */
	bool waiting;	/* needs a slot to read on; not read meanwhile */
};

struct node_api_req {
	struct conn *c;
	json_t *id;
};

struct node_api {
	uv_loop_t *loop;
	uv_pipe_t server;
	uv_timer_t sweep;
	uv_timer_t drain; /* shutdown: force-closes clients that do not read their responses */
	bool drain_open;
	char *path;
	dev_t sock_dev;
	ino_t sock_ino;
	struct node_api_limits lim; /* the id lists point at own_ids */
	uint32_t *own_ids[4];	    /* uids, gids, read_uids, read_gids */
	node_api_handler handler;
	void *ctx;
	struct conn *conns;
	size_t n_conns;
	size_t n_closing;	     /* of them closed, their handles not yet released */
	unsigned large_in_use;	     /* NODE_API_LARGE_SLOTS held */
	struct node_pool_lane parse; /* large-line parses: at most one per CPU in the pool */
	unsigned open_handles;
	bool listening, closing;
	void (*done)(void *);
	void *done_arg;
};

struct wreq {
	uv_write_t req;
	struct conn *c;
	size_t len;
	char *text; /* the response line without its '\n', written as it is (no copy) */
};

/*
 * Free a response's text. A large one was rendered by a worker into a block glibc mapped
 * alone: it is unmapped by a worker too, not on the loop.
 */
static void text_free(uv_loop_t *loop, char *text, size_t len)
{
	if (len >= NODE_HEAP_MMAP)
		node_workq_free(loop, text);
	else
		free(text);
}

static void conn_process(struct conn *c);
static void on_api_handle_closed(uv_handle_t *h);
static void conn_close(struct conn *c);

static void api_maybe_done(struct node_api *api)
{
	if (api->closing && api->drain_open && !api->n_conns) {
		api->drain_open = false;
		uv_close((uv_handle_t *)&api->drain, on_api_handle_closed);
	}
	if (!api->closing || api->open_handles || !node_pool_lane_idle(&api->parse))
		return;
	void (*done)(void *) = api->done;
	void *arg = api->done_arg;
	for (int i = 0; i < 4; i++)
		free(api->own_ids[i]);
	free(api->path);
	free(api);
	if (done)
		done(arg);
}

static void on_api_handle_closed(uv_handle_t *h)
{
	struct node_api *api = h->data;

	api->open_handles--;
	api_maybe_done(api);
}

static void update_reading(struct conn *c);

/* Gives a free large-request slot to the connection that has waited longest for one. */
static void wake_waiting(struct node_api *api)
{
	struct conn *first = NULL;

	if (!api || api->large_in_use >= NODE_API_LARGE_SLOTS)
		return;
	for (struct conn *c = api->conns; c; c = c->next)
		if (c->waiting && !c->closing)
			first = c; /* the list is newest first: the last one waited longest */
	if (!first)
		return;
	first->waiting = false;
	first->large = true;
	api->large_in_use++;
	/* Its clocks did not run while it waited. */
	first->line_start = first->last_progress = uv_now(api->loop);
	update_reading(first);
}

static void release_large(struct conn *c)
{
	if (!c->large)
		return;
	c->large = false;
	if (c->api) {
		c->api->large_in_use--;
		wake_waiting(c->api);
	}
}

static void conn_unref(struct conn *c)
{
	if (--c->refs)
		return;
	release_large(c);
	free(c->buf);
	free(c);
}

static void on_conn_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	struct node_api *api = c->api;

	if (c->prev)
		c->prev->next = c->next;
	else
		api->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	api->n_conns--;
	api->n_closing--;
	api->open_handles--;
	c->waiting = false;
	/*
	 * The slot goes with the connection: a request still in flight is bounded by the
	 * ingest queue, and the api may be freed before it is answered.
	 */
	release_large(c);
	c->api = NULL;
	conn_unref(c);
	api_maybe_done(api);
}

static void conn_close(struct conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	c->api->n_closing++;
	c->reading = false;
	uv_read_stop((uv_stream_t *)&c->pipe);
	uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
}

static void on_written(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct conn *c = w->c;

	c->unsent -= w->len;
	text_free(c->api->loop, w->text, w->len - 1);
	free(w);
	if (c->closing) {
		conn_unref(c);
		return;
	}
	if (status < 0) {
		log_debug("api: write to client pid %d failed: %s", (int)c->pid,
			  uv_strerror(status));
		conn_close(c);
	} else {
		c->last_progress = uv_now(c->api->loop);
		if (c->close_after_write && c->unsent == 0)
			conn_close(c);
		else
			conn_process(c);
	}
	conn_unref(c);
}

static void conn_send_text(struct conn *c, char *text);

/* Queues one response line. Takes ownership of @resp. */
static void conn_send(struct conn *c, json_t *resp)
{
	char *text;

	if (c->closing) {
		json_decref(resp);
		return;
	}
	text = json_dumps(resp, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(resp);
	conn_send_text(c, text);
}

/* Queues one response line. Takes ownership of @text (NULL: out of memory). */
static void conn_send_text(struct conn *c, char *text)
{
	size_t len;
	struct wreq *w;
	int r;

	if (c->closing) {
		free(text);
		return;
	}
	if (!text) {
		text = strdup("{\"ok\":false,\"error\":{\"code\":\"NODE_E_OVERLOAD\",\"number\":"
			      "-3005,\"field\":null,\"message\":\"out of memory\"}}");
		if (!text) {
			conn_close(c);
			return;
		}
	}
	len = strlen(text);
	w = malloc(sizeof(*w));
	if (!w) {
		text_free(c->api->loop, text, len);
		conn_close(c);
		return;
	}
	w->text = text;
	w->len = len + 1;
	w->c = c;
	uv_buf_t b[2] = {uv_buf_init(text, (unsigned)len), uv_buf_init((char *)"\n", 1)};
	r = uv_write(&w->req, (uv_stream_t *)&c->pipe, b, 2, on_written);
	if (r < 0) {
		text_free(c->api->loop, text, len);
		free(w);
		conn_close(c);
		return;
	}
	c->refs++; /* the write callback runs even after uv_close, with UV_ECANCELED */
	c->unsent += w->len;
}

static void conn_send_error(struct conn *c, json_t *id, int code, const char *field,
			    const char *msg)
{
	struct node_req_error e;

	node_req_error_set(&e, code, field, "%s", msg);
	conn_send(c, node_req_error_response(id, &e));
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *c = h->data;

	(void)suggested;
	if (c->start == c->len) {
		c->start = c->len = c->scanned = 0;
		if (c->cap > 4 * READ_CHUNK) {
			/* Give back the memory of a past large batch. */
			free(c->buf);
			c->buf = NULL;
			c->cap = 0;
		}
	}
	if (c->cap - c->len < READ_CHUNK) {
		/* Compact first; grow only when the pending line itself needs room. */
		if (c->start) {
			memmove(c->buf, c->buf + c->start, c->len - c->start);
			c->len -= c->start;
			c->start = 0;
		}
		if (c->cap - c->len < READ_CHUNK) {
			size_t cap = c->cap ? c->cap * 2 : 2 * READ_CHUNK;
			size_t most = c->large ? c->api->lim.max_line + 2 * READ_CHUNK
					       : NODE_API_SMALL_BYTES;
			while (cap - c->len < READ_CHUNK)
				cap *= 2;
			if (cap > most)
				cap = most; /* no doubling past what a line may need */
			if (cap - c->len < READ_CHUNK) {
				/* update_reading() stops reading before this: defensive */
				*buf = uv_buf_init(NULL, 0);
				return;
			}
			char *p = realloc(c->buf, cap);
			if (!p) {
				*buf = uv_buf_init(NULL, 0);
				return;
			}
			c->buf = p;
			c->cap = cap;
		}
	}
	*buf = uv_buf_init(c->buf + c->len, (unsigned)(c->cap - c->len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct conn *c = s->data;

	(void)buf;
	if (n == UV_ENOBUFS) {
		log_warning("api: no buffer for a client's input (out of memory); closing it");
		conn_close(c);
		return;
	}
	if (n == UV_EOF) {
		c->eof = true;
		c->reading = false;
		uv_read_stop(s);
		conn_process(c);
		return;
	}
	if (n < 0) {
		conn_close(c);
		return;
	}
	if (c->len == c->start)
		c->line_start = uv_now(c->api->loop); /* the first byte of a new line */
	c->len += (size_t)n;
	c->last_progress = uv_now(c->api->loop);
	conn_process(c);
}

static bool is_blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return false;
	return true;
}

/* Hands a parsed request to the handler, or answers the parse error. */
static void dispatch(struct conn *c, int r, struct node_request *req, json_t *id,
		     const struct node_req_error *err)
{
	struct node_api_req *areq;

	if (r == -ENOMEM) {
		json_decref(id);
		conn_send_error(c, NULL, NODE_E_OVERLOAD, NULL, "out of memory");
		return;
	}
	if (r) {
		conn_send(c, node_req_error_response(id, err));
		json_decref(id);
		return;
	}
	json_decref(id);
	if (c->read_only && req->op != NODE_OP_QUERY && req->op != NODE_OP_LIST &&
	    req->op != NODE_OP_STATUS && req->op != NODE_OP_PEERS) {
		/* Publishing operations sign as the CSIRT: not for a read-only client. */
		conn_send_error(c, req->id, NODE_E_PERM, "op",
				"permission denied: this client may only read (query, list, "
				"status, peers; [api] read_uids/read_gids); publishing needs "
				"allowed_uids or allowed_gids");
		node_request_free(req);
		return;
	}
	areq = calloc(1, sizeof(*areq));
	if (!areq) {
		node_request_free(req);
		conn_send_error(c, NULL, NODE_E_OVERLOAD, NULL, "out of memory");
		return;
	}
	areq->c = c;
	areq->id = req->id ? json_incref(req->id) : NULL;
	c->refs++;
	c->busy = true;
	c->api->handler(c->api->ctx, areq, req);
}

/*
 * Large lines (batches) are parsed in the thread pool: a 10000-report batch is megabytes of
 * JSON, and parsing it on the loop thread would hold up every other client. The line stays
 * in the connection's buffer meanwhile: the connection is busy, so nothing reads into or
 * compacts that buffer, and the job's reference keeps it alive if the client goes away.
 * Lines of 64-128 KiB need no large-request slot, so any number of connections can each
 * have one parse to run: they go through the api's parse lane (at most one per CPU in the
 * pool, the rest wait in order), and the api is freed only once the lane is idle.
 */
struct parse_job {
	struct node_pool_work work; /* in the parse lane */
	struct node_api *api;
	struct conn *c;
	const char *line;
	size_t n;
	int r;
	struct node_request *req;
	json_t *id;
	struct node_req_error err;
};

static void parse_work(uv_work_t *w)
{
	struct parse_job *j = w->data;

	j->r = node_request_parse(j->line, j->n, &j->req, &j->id, &j->err);
}

static void parse_done(uv_work_t *w, int status)
{
	struct parse_job *j = w->data;
	struct node_api *api = j->api;
	struct conn *c = j->c;

	(void)status;
	c->busy = false;
	if (c->closing) {
		node_request_free(j->req);
		json_decref(j->id);
	} else {
		dispatch(c, j->r, j->req, j->id, &j->err);
		conn_process(c);
	}
	free(j);
	conn_unref(c);
	api_maybe_done(api); /* the pool lane calls this last: @api may go now */
}

static void handle_line(struct conn *c, const char *line, size_t n)
{
	struct node_request *req = NULL;
	struct node_req_error err;
	json_t *id = NULL;
	int r;

	if (n && line[n - 1] == '\r')
		n--;
	if (is_blank(line, n))
		return;
	if (n > PARSE_OFFLOAD_BYTES) {
		struct parse_job *j = calloc(1, sizeof(*j));
		if (j) {
			j->api = c->api;
			j->c = c;
			j->line = line;
			j->n = n;
			j->work.w.data = j;
			c->refs++;
			c->busy = true;
			node_pool_submit(&c->api->parse, &j->work, parse_work, parse_done);
			return;
		}
		/* Out of memory: parse here rather than refuse a valid request. */
	}
	r = node_request_parse(line, n, &req, &id, &err);
	dispatch(c, r, req, id, &err);
}

static void update_reading(struct conn *c)
{
	struct node_api *api = c->api;
	bool want = !c->closing && !c->eof && !c->busy && c->unsent <= api->lim.max_output;

	/* A line about to outgrow the small buffer needs a large-request slot. */
	if (want && !c->large && c->len - c->start + READ_CHUNK > NODE_API_SMALL_BYTES) {
		if (api->large_in_use < NODE_API_LARGE_SLOTS) {
			api->large_in_use++;
			c->large = true;
			c->waiting = false;
		} else {
			c->waiting = true;
			want = false;
		}
	}

	if (want && !c->reading) {
		if (uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) == 0)
			c->reading = true;
		else
			conn_close(c);
	} else if (!want && c->reading) {
		uv_read_stop((uv_stream_t *)&c->pipe);
		c->reading = false;
	}
}

/*
 * Serves complete lines until a request goes asynchronous or output backs up. Responses
 * given synchronously by the handler land here again through node_api_respond(), which does
 * not recurse while this loop runs (in_process), so a buffer of many small pipelined
 * requests is served iteratively.
 */
static void conn_process(struct conn *c)
{
	struct node_api *api = c->api;

	if (c->in_process || c->closing)
		return;
	c->in_process = true;
	while (!c->busy && !c->closing && c->unsent <= api->lim.max_output) {
		char *p = c->buf + c->start + c->scanned;
		size_t avail = c->len - c->start - c->scanned;
		char *nl = avail ? memchr(p, '\n', avail) : NULL;

		if (c->skipping) {
			if (!nl) {
				c->start = c->len = c->scanned = 0;
				break;
			}
			c->start = (size_t)(nl - c->buf) + 1;
			c->scanned = 0;
			c->skipping = false;
			continue;
		}
		if (!nl) {
			c->scanned += avail;
			size_t pending = c->len - c->start;
			if (pending > api->lim.max_line) {
				char msg[128];
				snprintf(
					msg, sizeof(msg),
					"request line longer than %zu bytes ([api] max_line_bytes); "
					"skipped",
					api->lim.max_line);
				conn_send_error(c, NULL, NODE_E_LINE_TOO_LONG, NULL, msg);
				c->skipping = true;
				c->start = c->len = c->scanned = 0;
				continue;
			}
			if (c->eof && pending) {
				/* The last line, ended by EOF instead of a newline. */
				size_t s = c->start;
				c->start = c->len;
				c->scanned = 0;
				handle_line(c, c->buf + s, pending);
				continue;
			}
			break;
		}
		size_t s = c->start, n = (size_t)(nl - (c->buf + s));
		c->start = s + n + 1;
		c->scanned = 0;
		c->line_start = c->start < c->len ? uv_now(api->loop) : 0;
		c->served = true;
		if (n > api->lim.max_line) {
			char msg[128];
			snprintf(msg, sizeof(msg),
				 "request line longer than %zu bytes ([api] max_line_bytes)",
				 api->lim.max_line);
			conn_send_error(c, NULL, NODE_E_LINE_TOO_LONG, NULL, msg);
			continue;
		}
		handle_line(c, c->buf + s, n);
	}
	c->in_process = false;
	if (c->closing)
		return;
	if (c->eof && !c->busy && c->start == c->len && c->unsent == 0) {
		conn_close(c);
		return;
	}
	if (c->start == c->len)
		c->line_start = 0;
	/* Done with a large line: give its memory and its slot back. */
	if (c->large && !c->busy && c->len - c->start + READ_CHUNK <= NODE_API_SMALL_BYTES) {
		if (c->start == c->len) {
			free(c->buf);
			c->buf = NULL;
			c->start = c->len = c->cap = c->scanned = 0;
		} else if (c->cap > NODE_API_SMALL_BYTES) {
			char *p;

			memmove(c->buf, c->buf + c->start, c->len - c->start);
			c->len -= c->start;
			c->start = 0;
			p = realloc(c->buf, NODE_API_SMALL_BYTES);
			if (p) {
				c->buf = p;
				c->cap = NODE_API_SMALL_BYTES;
			}
		}
		release_large(c);
	}
	update_reading(c);
}

void node_api_respond(struct node_api_req *areq, json_t *resp)
{
	struct conn *c = areq->c;

	if (!resp) {
		struct node_req_error e;
		node_req_error_set(&e, NODE_E_OVERLOAD, NULL, "out of memory");
		resp = node_req_error_response(NULL, &e);
	}
	if (resp && areq->id)
		json_object_set(resp, "id", areq->id);
	json_decref(areq->id);
	free(areq);
	c->busy = false;
	if (!c->closing) {
		if (resp)
			conn_send(c, resp);
		else
			conn_close(c);
		conn_process(c);
	} else {
		json_decref(resp);
	}
	conn_unref(c);
}

void node_api_respond_text(struct node_api_req *areq, char *text)
{
	struct conn *c = areq->c;

	json_decref(areq->id);
	free(areq);
	c->busy = false;
	if (!c->closing) {
		conn_send_text(c, text);
		conn_process(c);
	} else {
		free(text);
	}
	conn_unref(c);
}

void node_api_respond_error(struct node_api_req *areq, const struct node_req_error *err)
{
	node_api_respond(areq, node_req_error_response(NULL, err));
}

void node_api_req_peer(const struct node_api_req *areq, uid_t *uid, pid_t *pid)
{
	*uid = areq->c->uid;
	*pid = areq->c->pid;
}

size_t node_api_connections(const struct node_api *api)
{
	return api ? api->n_conns : 0;
}

const struct node_pool_lane *node_api_parse_lane(const struct node_api *api)
{
	return &api->parse;
}

static bool id_in(uint32_t id, const uint32_t *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == id)
			return true;
	return false;
}

enum { ROLE_NONE, ROLE_READ, ROLE_FULL };

/* The peer's role: every operation, read-only ones, or none. */
static int peer_role(struct node_api *api, int fd, struct conn *c)
{
	const struct node_api_limits *l = &api->lim;
	struct ucred cr;
	socklen_t len = sizeof(cr);
	gid_t groups[MAX_PEER_GROUPS];
	int role = ROLE_NONE;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return ROLE_NONE;
	c->uid = cr.uid;
	c->pid = cr.pid;
	if (cr.uid == 0 || cr.uid == geteuid() || id_in(cr.uid, l->uids, l->n_uids) ||
	    id_in(cr.gid, l->gids, l->n_gids))
		return ROLE_FULL;
	if (id_in(cr.uid, l->read_uids, l->n_read_uids) ||
	    id_in(cr.gid, l->read_gids, l->n_read_gids))
		role = ROLE_READ;
	if (!l->n_gids && (role == ROLE_READ || !l->n_read_gids))
		return role;
	len = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return role;
	for (size_t i = 0; i < len / sizeof(gid_t); i++) {
		if (id_in(groups[i], l->gids, l->n_gids))
			return ROLE_FULL;
		if (id_in(groups[i], l->read_gids, l->n_read_gids))
			role = ROLE_READ;
	}
	return role;
}

static void on_connection(uv_stream_t *server, int status)
{
	struct node_api *api = server->data;
	struct conn *c;
	uv_os_fd_t fd;
	int role;

	if (status < 0) {
		log_warning("api: accept failed: %s", uv_strerror(status));
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c || uv_pipe_init(api->loop, &c->pipe, 0)) {
		free(c);
		log_warning("api: out of memory accepting a client");
		return;
	}
	c->pipe.data = c;
	c->api = api;
	c->refs = 1;
	c->next = api->conns;
	if (api->conns)
		api->conns->prev = c;
	api->conns = c;
	api->n_conns++;
	api->open_handles++;
	c->last_progress = uv_now(api->loop);
	if (uv_accept(server, (uv_stream_t *)&c->pipe) < 0 ||
	    uv_fileno((uv_handle_t *)&c->pipe, &fd) < 0) {
		conn_close(c);
		return;
	}
	role = peer_role(api, fd, c);
	if (role == ROLE_NONE) {
		log_notice("api: refused a client with uid %u (pid %d): not in [api] allowed_uids, "
			   "allowed_gids, read_uids or read_gids",
			   (unsigned)c->uid, (int)c->pid);
		c->close_after_write = true;
		conn_send_error(c, NULL, NODE_E_PERM, NULL,
				"permission denied: this uid is not allowed by [api] allowed_uids, "
				"allowed_gids, read_uids or read_gids");
		return;
	}
	c->read_only = role == ROLE_READ;
	/* Connections already closed leave in this iteration: they hold no slot. */
	if (api->n_conns - api->n_closing > api->lim.max_conns) {
		/*
		 * Full: the client whose unfinished line is oldest makes room (else the oldest
		 * one that has not sent a line yet, else the one served and idle for longest),
		 * so clients that connect and trickle, hold a partial line, send nothing or
		 * keep served connections open cannot lock the others out. Closing an idle
		 * served connection loses nothing: no request of it is in flight and its
		 * responses are written. A client with a request in flight, responses to read
		 * or lines still to be served is never chosen: when all are such, the new
		 * client is refused.
		 */
		struct conn *victim = NULL, *idle = NULL;

		for (struct conn *o = api->conns; o; o = o->next) {
			if (o == c || o->closing || o->busy || o->unsent)
				continue;
			if (!o->line_start && o->served) {
				if (o->len == o->start &&
				    (!idle || o->last_progress <= idle->last_progress))
					idle = o;
				continue;
			}
			uint64_t t = o->line_start ? o->line_start : o->last_progress;
			uint64_t vt = victim ? (victim->line_start ? victim->line_start
								   : victim->last_progress)
					     : 0;
			if (!victim || (o->line_start && !victim->line_start) ||
			    (!o->line_start == !victim->line_start && t <= vt))
				victim = o;
		}
		if (!victim)
			victim = idle;
		if (victim) {
			log_notice("api: %u connections open ([api] max_connections): closing the "
				   "client (pid %d) %s",
				   api->lim.max_conns, (int)victim->pid,
				   victim->line_start ? "whose line has been unfinished longest"
				   : victim->served   ? "that has been idle for longest"
						      : "that has sent nothing for longest");
			conn_close(victim);
			log_debug("api: client connected (uid %u, pid %d)", (unsigned)c->uid,
				  (int)c->pid);
			update_reading(c);
			return;
		}
		log_warning("api: refused a client: %u connections open ([api] max_connections)",
			    api->lim.max_conns);
		c->close_after_write = true;
		conn_send_error(c, NULL, NODE_E_OVERLOAD, NULL,
				"too many connections ([api] max_connections); try again later");
		return;
	}
	log_debug("api: client connected (uid %u, pid %d)", (unsigned)c->uid, (int)c->pid);
	update_reading(c);
}

/* Closes clients that stalled: a partial line or unread responses without progress. */
static void on_sweep(uv_timer_t *t)
{
	struct node_api *api = t->data;
	uint64_t now = uv_now(api->loop);

	for (struct conn *c = api->conns, *next; c; c = next) {
		next = c->next;
		if (c->closing || c->busy || c->waiting)
			continue; /* a waiting client is not at fault: the node does not read it */
		if (c->line_start && !c->skipping && api->lim.line_timeout_ms &&
		    now - c->line_start > api->lim.line_timeout_ms) {
			char msg[160];

			log_notice("api: closing a client (pid %d) whose request line was not "
				   "finished within %llu ms ([api] line_timeout_s)",
				   (int)c->pid, (unsigned long long)api->lim.line_timeout_ms);
			snprintf(msg, sizeof(msg),
				 "request line not finished within %llu s ([api] line_timeout_s); "
				 "closing",
				 (unsigned long long)(api->lim.line_timeout_ms / 1000));
			c->close_after_write = true;
			c->eof = true;	   /* nothing more is read from it */
			c->start = c->len; /* the partial line is dropped */
			c->line_start = 0;
			conn_send_error(c, NULL, NODE_E_OVERLOAD, NULL, msg);
			update_reading(c);
			continue;
		}
		bool stalled = c->unsent > 0 || c->len > c->start || c->skipping;
		if (stalled && now - c->last_progress > api->lim.timeout_ms) {
			log_notice("api: closing a stalled client (pid %d) after %llu ms ([api] "
				   "client_timeout_s)",
				   (int)c->pid, (unsigned long long)api->lim.timeout_ms);
			conn_close(c);
		}
	}
}

static int copy_ids(uint32_t **dst, size_t *n_dst, const uint32_t *src, size_t n)
{
	uint32_t *p = NULL;

	if (n) {
		p = malloc(n * sizeof(*p));
		if (!p)
			return -ENOMEM;
		memcpy(p, src, n * sizeof(*p));
	}
	free(*dst);
	*dst = p;
	*n_dst = n;
	return 0;
}

int node_api_set_limits(struct node_api *api, const struct node_api_limits *lim)
{
	const uint32_t *in[4] = {lim->uids, lim->gids, lim->read_uids, lim->read_gids};
	const size_t n_in[4] = {lim->n_uids, lim->n_gids, lim->n_read_uids, lim->n_read_gids};
	uint32_t *ids[4] = {NULL, NULL, NULL, NULL};
	size_t n[4] = {0, 0, 0, 0};

	for (int i = 0; i < 4; i++) {
		if (copy_ids(&ids[i], &n[i], in[i], n_in[i])) {
			for (int k = 0; k < i; k++)
				free(ids[k]);
			return -ENOMEM;
		}
	}
	for (int i = 0; i < 4; i++) {
		free(api->own_ids[i]);
		api->own_ids[i] = ids[i];
	}
	api->lim = *lim;
	api->lim.uids = ids[0];
	api->lim.n_uids = n[0];
	api->lim.gids = ids[1];
	api->lim.n_gids = n[1];
	api->lim.read_uids = ids[2];
	api->lim.n_read_uids = n[2];
	api->lim.read_gids = ids[3];
	api->lim.n_read_gids = n[3];
	return 0;
}

/* Removes a socket file nobody listens on; refuses to touch a live one or a non-socket. */
static int clear_stale(const char *path)
{
	struct stat st;
	int fd;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = node_unixsock_connect(path);
	if (fd >= 0) {
		close(fd);
		return -EADDRINUSE;
	}
	if (fd != -ECONNREFUSED)
		return fd;
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

int node_api_start(uv_loop_t *loop, const char *path, unsigned mode,
		   const struct node_api_limits *lim, node_api_handler handler, void *ctx,
		   struct node_api **out)
{
	struct node_api *api;
	struct stat st;
	int r;

	r = clear_stale(path);
	if (r)
		return r;
	api = calloc(1, sizeof(*api));
	if (!api)
		return -ENOMEM;
	api->loop = loop;
	node_pool_lane_init(&api->parse, loop, node_pool_cpus());
	api->handler = handler;
	api->ctx = ctx;
	api->path = strdup(path);
	if (!api->path || node_api_set_limits(api, lim)) {
		free(api->path);
		free(api);
		return -ENOMEM;
	}
	r = uv_pipe_init(loop, &api->server, 0);
	if (r) {
		for (int i = 0; i < 4; i++)
			free(api->own_ids[i]);
		free(api->path);
		free(api);
		return r;
	}
	api->server.data = api;
	api->open_handles++;
	r = uv_timer_init(loop, &api->sweep);
	if (r) {
		/* api is freed by the close callback. */
		api->closing = true;
		uv_close((uv_handle_t *)&api->server, on_api_handle_closed);
		return r;
	}
	api->sweep.data = api;
	api->open_handles++;
	uv_timer_init(loop, &api->drain); /* cannot fail once the loop is valid */
	api->drain.data = api;
	api->drain_open = true;
	api->open_handles++;
	api->listening = true;
	r = uv_pipe_bind(&api->server, path);
	if (r == 0 && chmod(path, mode) < 0)
		r = -errno;
	if (r == 0 && stat(path, &st) == 0) {
		api->sock_dev = st.st_dev;
		api->sock_ino = st.st_ino;
	}
	if (r == 0)
		r = uv_listen((uv_stream_t *)&api->server, 128, on_connection);
	if (r == 0)
		r = uv_timer_start(&api->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
	if (r) {
		node_api_close(api, 0, NULL, NULL);
		return r;
	}
	*out = api;
	return 0;
}

void node_api_stop_accepting(struct node_api *api)
{
	struct stat st;

	if (!api || !api->listening)
		return;
	api->listening = false;
	/* Only unlink the file we bound: a successor may already have replaced it. */
	if (stat(api->path, &st) == 0 && st.st_dev == api->sock_dev && st.st_ino == api->sock_ino)
		unlink(api->path);
	uv_close((uv_handle_t *)&api->server, on_api_handle_closed);
	uv_close((uv_handle_t *)&api->sweep, on_api_handle_closed);
}

static void on_drain_timeout(uv_timer_t *t)
{
	struct node_api *api = t->data;

	if (api->n_conns)
		log_notice("api: closing %zu client(s) that did not read their responses",
			   api->n_conns);
	for (struct conn *c = api->conns; c; c = c->next)
		conn_close(c);
	api_maybe_done(api);
}

void node_api_close(struct node_api *api, uint64_t drain_ms, void (*done)(void *arg), void *arg)
{
	if (!api) {
		if (done)
			done(arg);
		return;
	}
	api->done = done;
	api->done_arg = arg;
	node_api_stop_accepting(api);
	api->closing = true;
	for (struct conn *c = api->conns, *next; c; c = next) {
		next = c->next;
		/* Unread requests are dropped; what was answered is still delivered. */
		c->eof = true;
		c->start = c->len;
		c->skipping = false;
		if (!c->busy && !c->unsent)
			conn_close(c);
		else
			update_reading(c);
	}
	if (api->drain_open && api->n_conns)
		uv_timer_start(&api->drain, on_drain_timeout, drain_ms, 0);
	api_maybe_done(api);
}
