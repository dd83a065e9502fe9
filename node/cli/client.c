/* SPDX-License-Identifier: MIT */
/*
 * API client commands: publish, revoke, sight, false-positive, query, list, status, peers.
 * Each builds one request (node/format/request.h), sends it to the running node and prints the
 * answer for a person, or the raw response line with --json. Validation is the node's job;
 * the only check made here is the one that must fail closed before anything is sent: a
 * report without --tlp.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/cli/apiclient.h"
#include "node/cli/cli.h"
#include "node/cli/cmd.h"
#include "node/cli/util.h"
#include "node/format/request.h"

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static long long jint(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* Prints the response raw (--json) and returns the exit code it implies. */
/*
 * Sends @req to the node and does what every command does alike: a transport failure, --json
 * (@raw: the response as it came) and an error response are printed here, and their exit
 * status returned with *@resp NULL. Otherwise 0, and *@resp is the ok response for the
 * caller to print and free.
 */
static int exchange(const char *cmd, const char *socket, const char *config, bool raw, json_t *req,
		    json_t **resp)
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

/* ------------------------------------------------------------------ report commands */

enum {
	OPT_SOCKET = 's',
	OPT_CONFIG = 'c',
	OPT_JSON = 'j',
	OPT_HELP = 'h',
	OPT_ALLOW_WARNINGLISTED = 256,
	OPT_VALUE,
};

static const char report_usage[] =
	"usage: chatham %s [OPTIONS] --tlp TLP VALUE\n\n"
	"%s\n\n"
	"      --value VALUE        the indicator (or give it as the argument)\n"
	"  -t, --type TYPE          ipv4 ipv6 domain url email md5 sha1 sha256 sha512\n"
	"                           (detected from the value when omitted)\n"
	"  -T, --tlp TLP            CLEAR GREEN AMBER AMBER+STRICT RED; required, there is no\n"
	"                           default (fail closed)\n"
	"%s"
	"  -C, --confidence N       0-100 (default 50)\n"
	"  -u, --valid-until TIME   expiry: RFC 3339 UTC time (2030-01-31T00:00:00Z) or ms\n"
	"  -l, --ttl DURATION       expiry relative to now: seconds, or with s/m/h/d suffix\n"
	"  -g, --tag TAG            a tag (repeatable, at most 16)\n"
	"  -d, --description TEXT   free text (redacted before it leaves the community)\n"
	"  -r, --recipient ID       member id (64 hex digits) of a recipient; AMBER,\n"
	"                           AMBER+STRICT and RED need at least one (repeatable)\n"
	"  -a, --anonymous          sign with a ring signature over the roster's members\n"
	"                           instead of this node's key (CLEAR and GREEN only); a\n"
	"                           revoke of an anonymous report must be anonymous too\n"
	"  -N, --allow-names        sign even though the description or a tag names another\n"
	"                           member (refused otherwise: outside the community every\n"
	"                           name becomes [member])\n"
	"      --allow-warninglisted  (publish) publish a value on the node's warninglists\n"
	"                           (private ranges, public resolvers, top sites, networks\n"
	"                           broader than the minimum prefix) all the same\n"
	"  -s, --socket PATH        the node's API socket (default: $CHATHAM_SOCKET, else\n"
	"                           [api] socket of the config file)\n"
	"  -c, --config FILE        config file to read the socket path from\n"
	"  -j, --json               print the node's raw JSON response\n"
	"  -h, --help               this text\n";

static int report_command(int argc, char **argv, const char *op, const char *what)
{
	static const struct option opts[] = {
		{"value", required_argument, NULL, OPT_VALUE},
		{"type", required_argument, NULL, 't'},
		{"tlp", required_argument, NULL, 'T'},
		{"kind", required_argument, NULL, 'k'},
		{"confidence", required_argument, NULL, 'C'},
		{"valid-until", required_argument, NULL, 'u'},
		{"ttl", required_argument, NULL, 'l'},
		{"tag", required_argument, NULL, 'g'},
		{"description", required_argument, NULL, 'd'},
		{"recipient", required_argument, NULL, 'r'},
		{"anonymous", no_argument, NULL, 'a'},
		{"allow-names", no_argument, NULL, 'N'},
		{"allow-warninglisted", no_argument, NULL, OPT_ALLOW_WARNINGLISTED},
		{"socket", required_argument, NULL, OPT_SOCKET},
		{"config", required_argument, NULL, OPT_CONFIG},
		{"json", no_argument, NULL, OPT_JSON},
		{"help", no_argument, NULL, OPT_HELP},
		{NULL, 0, NULL, 0},
	};
	bool is_publish = !strcmp(op, "publish"), raw = false, anonymous = false;
	const char *socket = NULL, *config = NULL, *value = NULL, *tlp = NULL;
	json_t *req = json_pack("{s:s}", "op", op), *tags = json_array(), *rcpts = json_array();
	json_t *resp = NULL;
	int c, code = NODE_CMD_EXIT_USAGE;
	char *end;

	if (!req || !tags || !rcpts) {
		fprintf(stderr, "chatham: %s: out of memory\n", argv[0]);
		code = NODE_CMD_EXIT_FAIL;
		goto out;
	}
	while ((c = getopt_long(argc, argv, ":t:T:k:C:u:l:g:d:r:aNs:c:jh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_VALUE:
			value = optarg;
			break;
		case 't':
			json_object_set_new(req, "type", json_string(optarg));
			break;
		case 'T':
			tlp = optarg;
			break;
		case 'k':
			if (!is_publish) {
				fprintf(stderr, "chatham: %s: --kind is only for publish\n",
					argv[0]);
				goto out;
			}
			json_object_set_new(req, "kind", json_string(optarg));
			break;
		case 'C': {
			long v = strtol(optarg, &end, 10);
			if (*end || end == optarg || v < 0 || v > 100) {
				fprintf(stderr, "chatham: %s: --confidence must be 0-100\n",
					argv[0]);
				goto out;
			}
			json_object_set_new(req, "confidence", json_integer(v));
			break;
		}
		case 'u': {
			long long ms = strtoll(optarg, &end, 10);
			if (!*end && end != optarg && ms > 0)
				json_object_set_new(req, "valid_until", json_integer(ms));
			else
				json_object_set_new(req, "valid_until", json_string(optarg));
			break;
		}
		case 'l': {
			long long secs;
			if (node_req_ttl_parse(optarg, &secs)) {
				fprintf(stderr,
					"chatham: %s: --ttl takes seconds or a number with s/m/h/d, "
					"at most 10 years\n",
					argv[0]);
				goto out;
			}
			json_object_set_new(req, "ttl", json_integer(secs));
			break;
		}
		case 'g':
			json_array_append_new(tags, json_string(optarg));
			break;
		case 'd':
			json_object_set_new(req, "description", json_string(optarg));
			break;
		case 'r':
			json_array_append_new(rcpts, json_string(optarg));
			break;
		case 'a':
			anonymous = true;
			json_object_set_new(req, "anonymous", json_true());
			break;
		case 'N':
			json_object_set_new(req, "allow_names", json_true());
			break;
		case OPT_ALLOW_WARNINGLISTED:
			if (!is_publish) {
				fprintf(stderr,
					"chatham: %s: --allow-warninglisted is only for publish\n",
					argv[0]);
				goto out;
			}
			json_object_set_new(req, "allow_warninglisted", json_true());
			break;
		case OPT_SOCKET:
			socket = optarg;
			break;
		case OPT_CONFIG:
			config = optarg;
			break;
		case OPT_JSON:
			raw = true;
			break;
		case OPT_HELP:
			printf(report_usage, argv[0], what,
			       is_publish
				       ? "  -k, --kind KIND          indicator (default), sighting,\n"
					 "                           false_positive, revoke\n"
					 "  -f, --file FILE          import many indicators from FILE\n"
					 "                           (chatham publish --file - --help)\n"
			       : !strcmp(op, "sight")
				       ? "      --sealed             a sealed sighting instead: opens "
					 "only once k members\n"
					 "                           sealed the value (chatham sight "
					 "--sealed --help)\n"
				       : "");
			code = NODE_CMD_EXIT_OK;
			goto out;
		default:
			node_cli_option_error(argv[0], c, argv);
			goto out;
		}
	}
	if (!value && optind < argc)
		value = argv[optind++];
	if (optind != argc || !value) {
		fprintf(stderr, "chatham: %s: %s\n", argv[0],
			value ? "one indicator value per command" : "no indicator value given");
		goto out;
	}
	if (!tlp) {
		fprintf(stderr,
			"chatham: %s: --tlp is required: every report carries a TLP and there is no "
			"default (CLEAR, GREEN, AMBER, AMBER+STRICT, RED)\n",
			argv[0]);
		goto out;
	}
	json_object_set_new(req, "value", json_string(value));
	json_object_set_new(req, "tlp", json_string(tlp));
	if (json_array_size(tags))
		json_object_set(req, "tags", tags);
	if (json_array_size(rcpts))
		json_object_set(req, "recipients", rcpts);

	code = exchange(argv[0], socket, config, raw, req, &resp);
	if (resp) {
		printf("%s%s report %.16s... on %s %s (indicator %.16s...)\n",
		       !strcmp(jstr(resp, "result"), "new") ? "new" : "duplicate",
		       anonymous ? " anonymous" : "", jstr(resp, "report_id"), jstr(resp, "type"),
		       jstr(resp, "value"), jstr(resp, "indicator_id"));
		code = NODE_CMD_EXIT_OK;
	}
out:
	json_decref(req);
	json_decref(tags);
	json_decref(rcpts);
	json_decref(resp);
	return code;
}

int node_cmd_publish(int argc, char **argv)
{
	/* `publish --file` imports many indicators (node/cli/publish_file.c). */
	if (node_cli_has_file_option(argc, argv))
		return node_cmd_publish_file(argc, argv);
	return report_command(
		argc, argv, "publish",
		"Sign a report on an indicator with this node's key and store it; the "
		"node\nanswers once the report is committed.");
}

int node_cmd_revoke(int argc, char **argv)
{
	return report_command(
		argc, argv, "revoke",
		"Withdraw this node's earlier report on an indicator (a signed revoke "
		"report).");
}

int node_cmd_sight(int argc, char **argv)
{
	/* `sight --sealed` seals instead of publishing (node/cli/sealed.c). */
	if (node_cli_has_sealed_option(argc, argv))
		return node_cmd_sight_sealed(argc, argv);
	return report_command(
		argc, argv, "sight",
		"Report that this organisation saw the indicator (a sighting report).");
}

int node_cmd_false_positive(int argc, char **argv)
{
	return report_command(
		argc, argv, "false_positive",
		"Report that the indicator is not malicious (a false_positive report).");
}

/* ------------------------------------------------------------------ read commands */

/* Options shared by query, list, status and peers. */
struct read_opts {
	const char *socket, *config;
	bool raw;
};

static const char common_opts[] =
	"  -s, --socket PATH  the node's API socket (default: $CHATHAM_SOCKET, else [api]\n"
	"                     socket of the config file)\n"
	"  -c, --config FILE  config file to read the socket path from\n"
	"  -j, --json         print the node's raw JSON response\n"
	"  -h, --help         this text\n";

static void print_doc(json_t *doc, bool detail)
{
	json_t *ch = json_object_get(doc, "chatham");
	json_t *ti = json_object_get(json_object_get(doc, "threat"), "indicator");
	json_t *tags = json_object_get(ch, "tags"), *t;
	size_t i;

	if (!detail) {
		printf("%-8lld %-9s %-12s %-6s %s (members %lld, sightings %lld)\n",
		       jint(ch, "seq"), jstr(ch, "state"),
		       jstr(json_object_get(ti, "marking"), "tlp"), jstr(ch, "type"),
		       jstr(ch, "value"), jint(ch, "members"), jint(ch, "sightings"));
		return;
	}
	printf("%s %s\n", jstr(ch, "type"), jstr(ch, "value"));
	printf("  indicator id    %s\n", jstr(ch, "indicator_id"));
	printf("  state           %s\n", jstr(ch, "state"));
	printf("  tlp             %s\n", jstr(json_object_get(ti, "marking"), "tlp"));
	printf("  confidence      %lld (%s)\n", jint(ch, "confidence"), jstr(ti, "confidence"));
	printf("  members         %lld\n", jint(ch, "members"));
	printf("  sightings       %lld\n", jint(ch, "sightings"));
	printf("  false positives %lld\n", jint(ch, "false_positives"));
	printf("  reported by us  %s\n",
	       json_is_true(json_object_get(ch, "reported_by_us")) ? "yes" : "no");
	printf("  first seen      %s\n", jstr(ti, "first_seen"));
	printf("  last seen       %s\n", jstr(ti, "last_seen"));
	if (json_object_get(ch, "valid_until"))
		printf("  valid until     %s\n", jstr(ch, "valid_until"));
	if (json_array_size(tags)) {
		printf("  tags           ");
		json_array_foreach(tags, i, t)
		{
			printf(" %s", json_string_value(t));
		}
		printf("\n");
	}
	if (json_object_get(ch, "description"))
		printf("  description     %s\n", jstr(ch, "description"));
}

static int read_command(int argc, char **argv, const char *usage, const char *extra_short,
			const struct option *extra,
			int (*extra_cb)(int c, const char *arg, json_t *req), struct read_opts *ro,
			json_t *req)
{
	struct option opts[16];
	char shortopts[64];
	size_t n = 0;
	int c;

	for (; extra && extra[n].name; n++)
		opts[n] = extra[n];
	opts[n++] = (struct option){"socket", required_argument, NULL, OPT_SOCKET};
	opts[n++] = (struct option){"config", required_argument, NULL, OPT_CONFIG};
	opts[n++] = (struct option){"json", no_argument, NULL, OPT_JSON};
	opts[n++] = (struct option){"help", no_argument, NULL, OPT_HELP};
	opts[n] = (struct option){NULL, 0, NULL, 0};
	snprintf(shortopts, sizeof(shortopts), ":%ss:c:jh", extra_short ? extra_short : "");

	while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		switch (c) {
		case OPT_SOCKET:
			ro->socket = optarg;
			break;
		case OPT_CONFIG:
			ro->config = optarg;
			break;
		case OPT_JSON:
			ro->raw = true;
			break;
		case OPT_HELP:
			printf("%s%s", usage, common_opts);
			return -1;
		default:
			if (extra_cb && extra_cb(c, optarg, req) == 0)
				break;
			return node_cli_option_error(argv[0], c, argv);
		}
	}
	return 0;
}

static int query_opt(int c, const char *arg, json_t *req)
{
	switch (c) {
	case 't':
		return json_object_set_new(req, "type", json_string(arg));
	case 'i':
		return json_object_set_new(req, "indicator_id", json_string(arg));
	default:
		return -1;
	}
}

/* An opened sealed sighting (docs/SEALED.md): how many members, which days; never who. */
static void print_sealed(json_t *resp, json_t *sealed)
{
	printf("sealed sighting %s%s%s: %lld members sealed it, %s to %s, confidence %lld\n",
	       jstr(resp, "type"), *jstr(resp, "type") ? " " : "", jstr(resp, "value"),
	       jint(sealed, "members"), jstr(sealed, "first_day"), jstr(sealed, "last_day"),
	       jint(sealed, "confidence"));
}

int node_cmd_query(int argc, char **argv)
{
	static const struct option extra[] = {{"type", required_argument, NULL, 't'},
					      {"id", required_argument, NULL, 'i'},
					      {NULL, 0, NULL, 0}};
	static const char usage[] =
		"usage: chatham query [OPTIONS] VALUE\n"
		"       chatham query [OPTIONS] --id INDICATOR_ID\n\n"
		"Show the node's aggregate on an indicator and the reports behind it. Other\n"
		"members are not named unless [policy] show_attribution is on.\n\n"
		"  -t, --type TYPE    indicator type (detected from the value when omitted)\n"
		"  -i, --id HEX       look up by indicator id instead of value\n";
	struct read_opts ro = {0};
	json_t *req = json_pack("{s:s}", "op", "query"), *resp = NULL, *rep, *r;
	size_t i;
	int code;

	code = read_command(argc, argv, usage, "t:i:", extra, query_opt, &ro, req);
	if (code) {
		json_decref(req);
		return code < 0 ? NODE_CMD_EXIT_OK : code;
	}
	if (optind < argc)
		json_object_set_new(req, "value", json_string(argv[optind++]));
	if (optind != argc) {
		fprintf(stderr, "chatham: query: one indicator per command\n");
		json_decref(req);
		return NODE_CMD_EXIT_USAGE;
	}
	code = exchange(argv[0], ro.socket, ro.config, ro.raw, req, &resp);
	json_decref(req);
	if (!resp)
		return code;
	if (!json_is_true(json_object_get(resp, "found"))) {
		json_t *sealed = json_object_get(resp, "sealed");

		if (json_is_object(sealed)) {
			print_sealed(resp, sealed);
			code = NODE_CMD_EXIT_OK;
		} else {
			printf("not known: %s%s%s (indicator %s)\n", jstr(resp, "type"),
			       *jstr(resp, "type") ? " " : "", jstr(resp, "value"),
			       jstr(resp, "indicator_id"));
			code = NODE_CMD_EXIT_FAIL;
		}
	} else {
		print_doc(json_object_get(resp, "indicator"), true);
		rep = json_object_get(resp, "reports");
		printf("reports (%zu%s):\n", json_array_size(rep),
		       json_is_true(json_object_get(resp, "reports_truncated")) ? ", truncated"
										: "");
		if (jint(resp, "reports_undecodable"))
			printf("(%lld stored report(s) left out: this version no longer decodes "
			       "them)\n",
			       jint(resp, "reports_undecodable"));
		json_array_foreach(rep, i, r)
		{
			printf("  %s  %-14s %-12s confidence %3lld%s%s%s\n", jstr(r, "created"),
			       jstr(r, "kind"), jstr(r, "tlp"), jint(r, "confidence"),
			       json_is_true(json_object_get(r, "ours")) ? "  (ours)" : "",
			       json_object_get(r, "signer") ? "  by " : "", jstr(r, "signer"));
		}
		if (json_is_object(json_object_get(resp, "sealed")))
			print_sealed(resp, json_object_get(resp, "sealed"));
		code = NODE_CMD_EXIT_OK;
	}
	json_decref(resp);
	return code;
}

static int list_opt(int c, const char *arg, json_t *req)
{
	char *end;
	long long v;

	if (c != 'S' && c != 'n')
		return -1;
	v = strtoll(arg, &end, 10);
	if (*end || end == arg || v < 0)
		return -1;
	return json_object_set_new(req, c == 'S' ? "since" : "limit", json_integer(v));
}

int node_cmd_list(int argc, char **argv)
{
	static const struct option extra[] = {{"since", required_argument, NULL, 'S'},
					      {"limit", required_argument, NULL, 'n'},
					      {NULL, 0, NULL, 0}};
	static const char usage[] =
		"usage: chatham list [--since SEQ] [--limit N]\n\n"
		"List indicator changes after feed sequence SEQ (default 0), at most N (default\n"
		"100, at most 1000), as the stripped view the SIEM export also gets.\n\n"
		"  -S, --since SEQ    feed sequence to start after\n"
		"  -n, --limit N      number of feed entries to read\n";
	struct read_opts ro = {0};
	json_t *req = json_pack("{s:s}", "op", "list"), *resp = NULL, *doc;
	size_t i;
	int code;

	code = read_command(argc, argv, usage, "S:n:", extra, list_opt, &ro, req);
	if (code) {
		json_decref(req);
		return code < 0 ? NODE_CMD_EXIT_OK : code;
	}
	if (optind != argc) {
		fprintf(stderr, "chatham: list: unexpected argument '%s'\n", argv[optind]);
		json_decref(req);
		return NODE_CMD_EXIT_USAGE;
	}
	code = exchange(argv[0], ro.socket, ro.config, ro.raw, req, &resp);
	json_decref(req);
	if (!resp)
		return code;
	json_array_foreach(json_object_get(resp, "items"), i, doc)
	{
		print_doc(doc, false);
	}
	printf("next %lld of %lld%s\n", jint(resp, "next"), jint(resp, "feed_last"),
	       json_is_true(json_object_get(resp, "more")) ? " (more: use --since)" : "");
	json_decref(resp);
	return NODE_CMD_EXIT_OK;
}

int node_cmd_status(int argc, char **argv)
{
	static const char usage[] =
		"usage: chatham status [OPTIONS]\n\n"
		"Show the running node's state, store, export and API counters.\n\n";
	struct read_opts ro = {0};
	json_t *req = json_pack("{s:s}", "op", "status"), *resp = NULL;
	int code;

	code = read_command(argc, argv, usage, NULL, NULL, NULL, &ro, req);
	if (code || optind != argc) {
		json_decref(req);
		if (!code)
			fprintf(stderr, "chatham: status: unexpected argument '%s'\n",
				argv[optind]);
		return code < 0 ? NODE_CMD_EXIT_OK : NODE_CMD_EXIT_USAGE;
	}
	code = exchange(argv[0], ro.socket, ro.config, ro.raw, req, &resp);
	json_decref(req);
	if (!resp)
		return code;
	json_t *m = json_object_get(resp, "member"), *r = json_object_get(resp, "roster");
	json_t *s = json_object_get(resp, "store"), *i = json_object_get(resp, "ingest");
	long long up = jint(resp, "uptime_s");
	printf("chatham %s, %s for %lldh%02lldm%02llds\n", jstr(resp, "version"),
	       jstr(resp, "state"), up / 3600, up / 60 % 60, up % 60);
	printf("community  %s (roster epoch %lld, %lld members)\n", jstr(resp, "community"),
	       jint(r, "epoch"), jint(r, "members"));
	printf("member     %s (%s)\n", jstr(m, "name"), jstr(m, "id"));
	printf("store      %lld indicators, %lld reports, feed %lld, map %lld/%lld MiB\n",
	       jint(s, "indicators"), jint(s, "reports"), jint(s, "feed_last"),
	       jint(s, "map_used") >> 20, jint(s, "map_size") >> 20);
	printf("export     feed %lld\n", jint(json_object_get(resp, "export"), "last_seq"));
	printf("api        %lld connection(s)\n",
	       jint(json_object_get(resp, "api"), "connections"));
	json_t *o = json_object_get(resp, "overlay");
	if (!strcmp(jstr(o, "state"), "on"))
		printf("overlay    %lld link(s) up, %lld of %lld wanted members linked\n",
		       jint(o, "links_up"), jint(o, "wanted_up"), jint(o, "wanted"));
	else if (o)
		printf("overlay    %s\n", jstr(o, "state"));
	json_t *nk = json_object_get(resp, "network_key"), *pk;
	if (json_is_object(nk)) {
		printf("netkey     %s", jstr(nk, "id"));
		if (jint(nk, "epoch"))
			printf(" (from roster epoch %lld)", jint(nk, "epoch"));
		pk = json_object_get(nk, "previous");
		if (pk)
			printf("; previous key %s also accepted until %s", jstr(pk, "id"),
			       jstr(pk, "until"));
		putchar('\n');
	}
	printf("ingest     %lld accepted, %lld duplicates, %lld rejected, %lld pending\n",
	       jint(i, "accepted"), jint(i, "duplicates"), jint(i, "rejected"), jint(i, "pending"));
	json_t *lag = json_object_get(resp, "loop");
	if (lag)
		printf("loop lag   p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		       json_number_value(json_object_get(lag, "lag_p50_ms")),
		       json_number_value(json_object_get(lag, "lag_p99_ms")),
		       json_number_value(json_object_get(lag, "lag_max_ms")));
	json_decref(resp);
	return NODE_CMD_EXIT_OK;
}

/*
 * One line per member with abuse offences not yet forgiven; which member only when the node
 * sent it ([policy] show_attribution).
 */
static void print_abuse(json_t *abuse)
{
	json_t *e;
	size_t i;

	json_array_foreach(abuse, i, e)
	{
		json_t *m = json_object_get(e, "member");
		double left = json_number_value(json_object_get(e, "refused_for_s"));

		if (m)
			printf("abuse: %s (%.16s): ",
			       json_is_string(json_object_get(m, "name")) ? jstr(m, "name")
									  : "not in the roster",
			       jstr(m, "id"));
		else
			printf("abuse: a member: ");
		printf("%lld offence(s), ", jint(e, "offences"));
		if (left > 0)
			printf("refused for %.0f s (until %s)\n", left, jstr(e, "refused_until"));
		else
			printf("not refused (last refusal ended %s)\n", jstr(e, "refused_until"));
	}
}

/*
 * One line per link. MEMBER and ADDRESS columns appear only when the node sent them
 * ([policy] show_attribution), so the default output can be pasted into a ticket.
 */
static void print_peers(json_t *resp)
{
	json_t *sum = json_object_get(resp, "summary"), *links = json_object_get(resp, "peers");
	json_t *closed = json_object_get(resp, "closed"), *l, *v;
	const char *state = jstr(resp, "overlay"), *k;
	bool attribution = false;
	size_t i, shown = 0;

	if (strcmp(state, "on")) {
		printf("overlay %s%s; the roster has %lld members\n", state,
		       strcmp(state, "off") ? "" : " (no network key file)",
		       jint(resp, "roster_members"));
		return;
	}
	printf("%lld link(s) up, %lld pending; %lld of %lld wanted members linked; the roster has "
	       "%lld members (epoch %lld)\n",
	       jint(sum, "links_up"), jint(sum, "links_pending"), jint(sum, "wanted_up"),
	       jint(sum, "wanted"), jint(resp, "roster_members"), jint(sum, "roster_epoch"));
	json_array_foreach(links, i, l)
	{
		attribution |= json_object_get(l, "member") || json_object_get(l, "address");
	}
	if (json_array_size(links))
		printf("%-6s %-10s %-8s %10s %12s %12s %9s%s\n", "LINK", "STATE", "DIR", "UPTIME",
		       "BYTES_IN", "BYTES_OUT", "RTT_MS", attribution ? "  MEMBER (ADDRESS)" : "");
	json_array_foreach(links, i, l)
	{
		long long up = jint(l, "uptime_s");
		json_t *rtt = json_object_get(l, "rtt_ms");
		char upbuf[32], rttbuf[32];

		snprintf(upbuf, sizeof(upbuf), "%lldh%02lldm%02llds", up / 3600, up / 60 % 60,
			 up % 60);
		if (json_is_number(rtt))
			snprintf(rttbuf, sizeof(rttbuf), "%.2f", json_number_value(rtt));
		else
			snprintf(rttbuf, sizeof(rttbuf), "-");
		printf("%-6lld %-10s %-8s %10s %12lld %12lld %9s", jint(l, "id"), jstr(l, "state"),
		       jstr(l, "direction"), upbuf, jint(l, "bytes_in"), jint(l, "bytes_out"),
		       rttbuf);
		if (attribution) {
			json_t *m = json_object_get(l, "member");

			printf("  %s (%s)", m ? jstr(m, "name") : "unidentified",
			       jstr(l, "address"));
		}
		printf("\n");
	}
	json_object_foreach(closed, k, v)
	{
		if (!json_integer_value(v))
			continue;
		printf("%s%s %lld", shown++ ? ", " : "closed since start: ", k,
		       (long long)json_integer_value(v));
	}
	if (shown)
		printf("\n");
	print_abuse(json_object_get(resp, "abuse"));
}

int node_cmd_peers(int argc, char **argv)
{
	static const char usage[] =
		"usage: chatham peers [OPTIONS]\n\n"
		"Show the node's overlay links: state, direction, uptime, bytes in and out and\n"
		"round-trip time of each, why links were closed since the node started, and\n"
		"members refused for abuse (offences, until when).\n"
		"Which member a link leads to is shown only when the node's config sets\n"
		"[policy] show_attribution = true, so the default output can go into a ticket.\n\n";
	struct read_opts ro = {0};
	json_t *req = json_pack("{s:s}", "op", "peers"), *resp = NULL;
	int code;

	code = read_command(argc, argv, usage, NULL, NULL, NULL, &ro, req);
	if (code || optind != argc) {
		json_decref(req);
		if (!code)
			fprintf(stderr, "chatham: peers: unexpected argument '%s'\n", argv[optind]);
		return code < 0 ? NODE_CMD_EXIT_OK : NODE_CMD_EXIT_USAGE;
	}
	code = exchange(argv[0], ro.socket, ro.config, ro.raw, req, &resp);
	json_decref(req);
	if (!resp)
		return code;
	print_peers(resp);
	json_decref(resp);
	return NODE_CMD_EXIT_OK;
}
