/* SPDX-License-Identifier: MIT */
/*
 * The read commands: query, list, status, peers. Each sends one request to the running node
 * and prints the answer for a person, or the raw response line with --json.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/cli/apiclient.h"
#include "node/cli/cmd.h"
#include "node/cli/util.h"

/* The options every read command takes (short letters, as the report commands'). */
enum {
	OPT_SOCKET = 's',
	OPT_CONFIG = 'c',
	OPT_JSON = 'j',
	OPT_HELP = 'h',
};

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
		       node_resp_int(ch, "seq"), node_resp_str(ch, "state"),
		       node_resp_str(json_object_get(ti, "marking"), "tlp"),
		       node_resp_str(ch, "type"), node_resp_str(ch, "value"),
		       node_resp_int(ch, "members"), node_resp_int(ch, "sightings"));
		return;
	}
	printf("%s %s\n", node_resp_str(ch, "type"), node_resp_str(ch, "value"));
	printf("  indicator id    %s\n", node_resp_str(ch, "indicator_id"));
	printf("  state           %s\n", node_resp_str(ch, "state"));
	printf("  tlp             %s\n", node_resp_str(json_object_get(ti, "marking"), "tlp"));
	printf("  confidence      %lld (%s)\n", node_resp_int(ch, "confidence"),
	       node_resp_str(ti, "confidence"));
	printf("  members         %lld\n", node_resp_int(ch, "members"));
	printf("  sightings       %lld\n", node_resp_int(ch, "sightings"));
	printf("  false positives %lld\n", node_resp_int(ch, "false_positives"));
	printf("  reported by us  %s\n",
	       json_is_true(json_object_get(ch, "reported_by_us")) ? "yes" : "no");
	printf("  first seen      %s\n", node_resp_str(ti, "first_seen"));
	printf("  last seen       %s\n", node_resp_str(ti, "last_seen"));
	if (json_object_get(ch, "valid_until"))
		printf("  valid until     %s\n", node_resp_str(ch, "valid_until"));
	if (json_array_size(tags)) {
		printf("  tags           ");
		json_array_foreach(tags, i, t)
		{
			printf(" %s", json_string_value(t));
		}
		printf("\n");
	}
	if (json_object_get(ch, "description"))
		printf("  description     %s\n", node_resp_str(ch, "description"));
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

/*
 * read_command() for a command without operands, then the exchange with the node. Takes
 * @req. Return: the exit code; the node's answer in *@resp when there is one (NULL after
 * --help, a usage error or a failed exchange).
 */
static int read_exchange(int argc, char **argv, const char *usage, const char *extra_short,
			 const struct option *extra,
			 int (*extra_cb)(int c, const char *arg, json_t *req), json_t *req,
			 json_t **resp)
{
	struct read_opts ro = {0};
	int code = read_command(argc, argv, usage, extra_short, extra, extra_cb, &ro, req);

	*resp = NULL;
	if (code == 0 && optind != argc) {
		fprintf(stderr, "chatham: %s: unexpected argument '%s'\n", argv[0], argv[optind]);
		code = NODE_CMD_EXIT_USAGE;
	}
	if (code == 0)
		code = node_apiclient_exchange(argv[0], ro.socket, ro.config, ro.raw, req, resp);
	json_decref(req);
	return code < 0 ? NODE_CMD_EXIT_OK : code;
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
	       node_resp_str(resp, "type"), *node_resp_str(resp, "type") ? " " : "",
	       node_resp_str(resp, "value"), node_resp_int(sealed, "members"),
	       node_resp_str(sealed, "first_day"), node_resp_str(sealed, "last_day"),
	       node_resp_int(sealed, "confidence"));
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
	code = node_apiclient_exchange(argv[0], ro.socket, ro.config, ro.raw, req, &resp);
	json_decref(req);
	if (!resp)
		return code;
	if (!json_is_true(json_object_get(resp, "found"))) {
		json_t *sealed = json_object_get(resp, "sealed");

		if (json_is_object(sealed)) {
			print_sealed(resp, sealed);
			code = NODE_CMD_EXIT_OK;
		} else {
			printf("not known: %s%s%s (indicator %s)\n", node_resp_str(resp, "type"),
			       *node_resp_str(resp, "type") ? " " : "",
			       node_resp_str(resp, "value"), node_resp_str(resp, "indicator_id"));
			code = NODE_CMD_EXIT_FAIL;
		}
	} else {
		print_doc(json_object_get(resp, "indicator"), true);
		rep = json_object_get(resp, "reports");
		printf("reports (%zu%s):\n", json_array_size(rep),
		       json_is_true(json_object_get(resp, "reports_truncated")) ? ", truncated"
										: "");
		if (node_resp_int(resp, "reports_undecodable"))
			printf("(%lld stored report(s) left out: this version no longer decodes "
			       "them)\n",
			       node_resp_int(resp, "reports_undecodable"));
		json_array_foreach(rep, i, r)
		{
			printf("  %s  %-14s %-12s confidence %3lld%s%s%s%s\n",
			       node_resp_str(r, "created"), node_resp_str(r, "kind"),
			       node_resp_str(r, "tlp"), node_resp_int(r, "confidence"),
			       json_is_true(json_object_get(r, "ours")) ? "  (ours)" : "",
			       json_is_true(json_object_get(r, "withdrawn")) ? "  (withdrawn)" : "",
			       json_object_get(r, "signer") ? "  by " : "",
			       node_resp_str(r, "signer"));
		}
		if (json_is_object(json_object_get(resp, "sealed")))
			print_sealed(resp, json_object_get(resp, "sealed"));
		code = NODE_CMD_EXIT_OK;
	}
	json_decref(resp);
	return code;
}

/* One loop-lag histogram of `status` (node/daemon/looplag.h): "LABEL p50 .. p99 .. max ..NOTE". */
static void print_lag(const char *label, json_t *h, const char *note)
{
	printf("%s p50 %.2f ms, p99 %.2f ms, max %.2f ms%s\n", label,
	       json_number_value(json_object_get(h, "lag_p50_ms")),
	       json_number_value(json_object_get(h, "lag_p99_ms")),
	       json_number_value(json_object_get(h, "lag_max_ms")), note);
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
	json_t *resp, *doc;
	size_t i;
	int code = read_exchange(argc, argv, usage, "S:n:", extra, list_opt,
				 json_pack("{s:s}", "op", "list"), &resp);

	if (!resp)
		return code;
	json_array_foreach(json_object_get(resp, "items"), i, doc)
	{
		print_doc(doc, false);
	}
	printf("next %lld of %lld%s\n", node_resp_int(resp, "next"),
	       node_resp_int(resp, "feed_last"),
	       json_is_true(json_object_get(resp, "more")) ? " (more: use --since)" : "");
	json_decref(resp);
	return NODE_CMD_EXIT_OK;
}

int node_cmd_status(int argc, char **argv)
{
	static const char usage[] =
		"usage: chatham status [OPTIONS]\n\n"
		"Show the running node's state, store, export and API counters.\n\n";
	json_t *resp;
	int code = read_exchange(argc, argv, usage, NULL, NULL, NULL,
				 json_pack("{s:s}", "op", "status"), &resp);

	if (!resp)
		return code;
	json_t *m = json_object_get(resp, "member"), *r = json_object_get(resp, "roster");
	json_t *s = json_object_get(resp, "store"), *i = json_object_get(resp, "ingest");
	long long up = node_resp_int(resp, "uptime_s");
	printf("chatham %s, %s for %lldh%02lldm%02llds\n", node_resp_str(resp, "version"),
	       node_resp_str(resp, "state"), up / 3600, up / 60 % 60, up % 60);
	printf("community  %s (roster epoch %lld, %lld members)\n",
	       node_resp_str(resp, "community"), node_resp_int(r, "epoch"),
	       node_resp_int(r, "members"));
	printf("member     %s (%s)\n", node_resp_str(m, "name"), node_resp_str(m, "id"));
	printf("store      %lld indicators, %lld reports, feed %lld, map %lld/%lld MiB\n",
	       node_resp_int(s, "indicators"), node_resp_int(s, "reports"),
	       node_resp_int(s, "feed_last"), node_resp_int(s, "map_used") >> 20,
	       node_resp_int(s, "map_size") >> 20);
	printf("export     feed %lld\n",
	       node_resp_int(json_object_get(resp, "export"), "last_seq"));
	printf("api        %lld connection(s)\n",
	       node_resp_int(json_object_get(resp, "api"), "connections"));
	json_t *o = json_object_get(resp, "overlay");
	if (!strcmp(node_resp_str(o, "state"), "on"))
		printf("overlay    %lld link(s) up, %lld of %lld wanted members linked\n",
		       node_resp_int(o, "links_up"), node_resp_int(o, "wanted_up"),
		       node_resp_int(o, "wanted"));
	else if (o)
		printf("overlay    %s\n", node_resp_str(o, "state"));
	json_t *nk = json_object_get(resp, "network_key"), *pk;
	if (json_is_object(nk)) {
		printf("netkey     %s", node_resp_str(nk, "id"));
		if (node_resp_int(nk, "epoch"))
			printf(" (from roster epoch %lld)", node_resp_int(nk, "epoch"));
		pk = json_object_get(nk, "previous");
		if (pk)
			printf("; previous key %s also accepted until %s", node_resp_str(pk, "id"),
			       node_resp_str(pk, "until"));
		putchar('\n');
	}
	printf("ingest     %lld accepted, %lld duplicates, %lld rejected, %lld pending\n",
	       node_resp_int(i, "accepted"), node_resp_int(i, "duplicates"),
	       node_resp_int(i, "rejected"), node_resp_int(i, "pending"));
	json_t *lag = json_object_get(resp, "loop");
	if (lag) {
		json_t *own = json_object_get(lag, "own"), *asleep = json_object_get(lag, "asleep");

		print_lag("loop lag  ", lag, "");
		if (own)
			print_lag("  own     ", own, " (run-queue wait taken out)");
		if (asleep)
			print_lag("  asleep  ", asleep, " (CPU time taken out too)");
		if (!own)
			printf("  own      unavailable (%s)\n",
			       node_resp_str(lag, "own_unavailable"));
	}
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
			       json_is_string(json_object_get(m, "name")) ? node_resp_str(m, "name")
									  : "not in the roster",
			       node_resp_str(m, "id"));
		else
			printf("abuse: a member: ");
		printf("%lld offence(s), ", node_resp_int(e, "offences"));
		if (left > 0)
			printf("refused for %.0f s (until %s)\n", left,
			       node_resp_str(e, "refused_until"));
		else
			printf("not refused (last refusal ended %s)\n",
			       node_resp_str(e, "refused_until"));
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
	const char *state = node_resp_str(resp, "overlay"), *k;
	bool attribution = false;
	size_t i, shown = 0;

	if (strcmp(state, "on")) {
		printf("overlay %s%s; the roster has %lld members\n", state,
		       strcmp(state, "off") ? "" : " (no network key file)",
		       node_resp_int(resp, "roster_members"));
		return;
	}
	printf("%lld link(s) up, %lld pending; %lld of %lld wanted members linked; the roster has "
	       "%lld members (epoch %lld)\n",
	       node_resp_int(sum, "links_up"), node_resp_int(sum, "links_pending"),
	       node_resp_int(sum, "wanted_up"), node_resp_int(sum, "wanted"),
	       node_resp_int(resp, "roster_members"), node_resp_int(sum, "roster_epoch"));
	json_array_foreach(links, i, l)
	{
		attribution |= json_object_get(l, "member") || json_object_get(l, "address");
	}
	if (json_array_size(links))
		printf("%-6s %-10s %-8s %10s %12s %12s %9s%s\n", "LINK", "STATE", "DIR", "UPTIME",
		       "BYTES_IN", "BYTES_OUT", "RTT_MS", attribution ? "  MEMBER (ADDRESS)" : "");
	json_array_foreach(links, i, l)
	{
		long long up = node_resp_int(l, "uptime_s");
		json_t *rtt = json_object_get(l, "rtt_ms");
		char upbuf[32], rttbuf[32];

		snprintf(upbuf, sizeof(upbuf), "%lldh%02lldm%02llds", up / 3600, up / 60 % 60,
			 up % 60);
		if (json_is_number(rtt))
			snprintf(rttbuf, sizeof(rttbuf), "%.2f", json_number_value(rtt));
		else
			snprintf(rttbuf, sizeof(rttbuf), "-");
		printf("%-6lld %-10s %-8s %10s %12lld %12lld %9s", node_resp_int(l, "id"),
		       node_resp_str(l, "state"), node_resp_str(l, "direction"), upbuf,
		       node_resp_int(l, "bytes_in"), node_resp_int(l, "bytes_out"), rttbuf);
		if (attribution) {
			json_t *m = json_object_get(l, "member");

			printf("  %s (%s)", m ? node_resp_str(m, "name") : "unidentified",
			       node_resp_str(l, "address"));
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
	json_t *resp;
	int code = read_exchange(argc, argv, usage, NULL, NULL, NULL,
				 json_pack("{s:s}", "op", "peers"), &resp);

	if (!resp)
		return code;
	print_peers(resp);
	json_decref(resp);
	return NODE_CMD_EXIT_OK;
}
