/* SPDX-License-Identifier: MIT */
/*
 * `chatham sight --sealed`: sealed sightings (docs/SEALED.md). One value from the command
 * line, or many from a file (one value a line; a SIEM's daily list of seen addresses and
 * domains), sent to the node in requests of NODE_REQ_SEAL_MAX values: each request is one
 * batched OPRF round trip to t share holders. The node answers a request once its
 * submissions are stored and sent; a failed request stops the command with the node's
 * error (quota exhausted, too few holders), and what earlier requests sealed stays sealed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/cli/apiclient.h"
#include "node/cli/cli.h"
#include "node/cli/cmd.h"
#include "node/cli/util.h"
#include "node/format/request.h"

#define SEAL_TIMEOUT_MS 120000 /* a request waits for t holders' answers and the signing */
#define LINE_MAX_BYTES 8192

static const char sealed_usage[] =
	"usage: chatham sight --sealed [OPTIONS] (VALUE | --file FILE)\n\n"
	"Seal a sighting: the value opens, on every node, only once k distinct members\n"
	"sealed it; then every node learns the value and how many members saw it, never who.\n"
	"Before that nobody learns the value: not the share holders that evaluate the OPRF\n"
	"(they see blinded points), not the nodes that hold the submission.\n\n"
	"      --sealed             required: this is a sealed sighting\n"
	"  -t, --type TYPE          ipv4 ipv6 domain url email md5 sha1 sha256 sha512\n"
	"                           (detected from each value when omitted)\n"
	"  -C, --confidence N       0-100 (default 50)\n"
	"  -f, --file FILE          seal every value of FILE, one a line ('-': stdin; blank\n"
	"                           lines and lines starting with # are skipped), in batches\n"
	"                           of 1024 (one OPRF round trip each)\n"
	"  -s, --socket PATH        the node's API socket\n"
	"  -c, --config FILE        config file to read the socket path from\n"
	"  -j, --json               print the node's raw JSON responses\n"
	"  -h, --help               this text\n";

enum { OPT_SEALED = 256 };

bool node_cli_has_sealed_option(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--sealed"))
			return true;
	return false;
}

struct sealer {
	const char *cmd;
	struct node_apiclient *client;
	const char *type;
	long confidence;
	bool raw;
	json_t *values;
	size_t sealed, fresh, requests;
};

/* Send the values gathered so far as one seal request. */
static int flush(struct sealer *s)
{
	json_t *req, *resp = NULL;
	int r, code;

	if (!json_array_size(s->values))
		return 0;
	req = json_pack("{s:s, s:O}", "op", "seal", "values", s->values);
	if (!req) {
		fprintf(stderr, "chatham: %s: out of memory\n", s->cmd);
		return NODE_CMD_EXIT_FAIL;
	}
	r = node_apiclient_call(s->client, req, &resp);
	json_decref(req);
	if (r) {
		fprintf(stderr, "chatham: %s: no answer from the node: %s\n", s->cmd, strerror(-r));
		return NODE_CMD_EXIT_UNAVAILABLE;
	}
	if (s->raw) {
		char *text = json_dumps(resp, JSON_COMPACT);

		if (text)
			puts(text);
		free(text);
	}
	if (!json_is_true(json_object_get(resp, "ok"))) {
		if (s->sealed)
			fprintf(stderr, "chatham: %s: %zu value(s) sealed before this error\n",
				s->cmd, s->sealed);
		code = node_apiclient_print_error(s->cmd, json_object_get(resp, "error"));
		json_decref(resp);
		return code;
	}
	s->sealed += (size_t)json_integer_value(json_object_get(resp, "sealed"));
	s->fresh += (size_t)json_integer_value(json_object_get(resp, "new"));
	s->requests++;
	json_decref(resp);
	json_array_clear(s->values);
	return 0;
}

static int add(struct sealer *s, const char *value)
{
	json_t *v = json_pack("{s:s, s:i}", "value", value, "confidence", (int)s->confidence);

	if (!v || (s->type && json_object_set_new(v, "type", json_string(s->type))) ||
	    json_array_append_new(s->values, v)) {
		fprintf(stderr, "chatham: %s: out of memory\n", s->cmd);
		return NODE_CMD_EXIT_FAIL;
	}
	return json_array_size(s->values) == NODE_REQ_SEAL_MAX ? flush(s) : 0;
}

/* Values of @path, one a line, trimmed; 0 or an exit code. */
static int add_file(struct sealer *s, const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char line[LINE_MAX_BYTES];
	size_t lineno = 0;
	int code = 0;

	if (!f) {
		fprintf(stderr, "chatham: %s: cannot open %s: %s\n", s->cmd, path, strerror(errno));
		return NODE_CMD_EXIT_FAIL;
	}
	while (!code && fgets(line, sizeof(line), f)) {
		char *p = line, *e;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			fprintf(stderr, "chatham: %s: %s:%zu: line longer than %d bytes\n", s->cmd,
				path, lineno, LINE_MAX_BYTES - 2);
			code = NODE_CMD_EXIT_FAIL;
			break;
		}
		while (*p == ' ' || *p == '\t')
			p++;
		e = p + strlen(p);
		while (e > p && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
			*--e = 0;
		if (!*p || *p == '#')
			continue;
		code = add(s, p);
	}
	if (!code && ferror(f)) {
		fprintf(stderr, "chatham: %s: reading %s failed\n", s->cmd, path);
		code = NODE_CMD_EXIT_FAIL;
	}
	if (f != stdin)
		fclose(f);
	return code;
}

int node_cmd_sight_sealed(int argc, char **argv)
{
	static const struct option opts[] = {
		{"sealed", no_argument, NULL, OPT_SEALED},
		{"type", required_argument, NULL, 't'},
		{"confidence", required_argument, NULL, 'C'},
		{"file", required_argument, NULL, 'f'},
		{"socket", required_argument, NULL, 's'},
		{"config", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct sealer s = {.cmd = argv[0], .confidence = 50};
	const char *socket = NULL, *config = NULL, *file = NULL;
	char path[4096], *end;
	int c, r, code = NODE_CMD_EXIT_USAGE;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":t:C:f:s:c:jh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_SEALED:
			break;
		case 't':
			s.type = optarg;
			break;
		case 'C':
			s.confidence = strtol(optarg, &end, 10);
			if (*end || end == optarg || s.confidence < 0 || s.confidence > 100) {
				fprintf(stderr, "chatham: %s: --confidence must be 0-100\n",
					argv[0]);
				return NODE_CMD_EXIT_USAGE;
			}
			break;
		case 'f':
			file = optarg;
			break;
		case 's':
			socket = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'j':
			s.raw = true;
			break;
		case 'h':
			fputs(sealed_usage, stdout);
			return NODE_CMD_EXIT_OK;
		default:
			node_cli_option_error(argv[0], c, argv);
			return NODE_CMD_EXIT_USAGE;
		}
	}
	if ((file && optind != argc) || (!file && optind != argc - 1)) {
		fprintf(stderr, "chatham: %s: give one VALUE or --file FILE\n", argv[0]);
		return NODE_CMD_EXIT_USAGE;
	}
	s.values = json_array();
	if (!s.values)
		return NODE_CMD_EXIT_FAIL;
	node_apiclient_socket_path(socket, config, path, sizeof(path));
	r = node_apiclient_connect(path, SEAL_TIMEOUT_MS, &s.client);
	if (r) {
		fprintf(stderr, "chatham: %s: cannot reach the node at %s: %s\n", argv[0], path,
			strerror(-r));
		code = NODE_CMD_EXIT_UNAVAILABLE;
		goto out;
	}
	code = file ? add_file(&s, file) : add(&s, argv[optind]);
	if (!code)
		code = flush(&s);
	if (!code && !s.raw)
		printf("sealed %zu value(s) in %zu request(s): %zu new, %zu sealed by this node "
		       "before\n",
		       s.sealed, s.requests, s.fresh, s.sealed - s.fresh);
out:
	node_apiclient_close(s.client);
	json_decref(s.values);
	return code;
}
