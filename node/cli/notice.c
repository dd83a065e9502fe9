/* SPDX-License-Identifier: MIT */
/*
 * `chatham notify` and `chatham notices`: notices to other member teams through the running
 * node (node/daemon/notices.h). The form is read and checked here too, so a malformed one
 * is refused naming its field before anything is sent; the node checks it again.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/cli/apiclient.h"
#include "node/cli/cli.h"
#include "node/cli/cmd.h"
#include "node/cli/util.h"

static const char notify_usage[] =
	"usage: chatham notify --form FORM --file FILE (--to MEMBER | --to-owner-of VALUE)\n"
	"                      [--via COORDINATOR] --tlp TLP [--json]\n"
	"       chatham notify --template FORM\n"
	"\n"
	"Send a signed notice (an incident or vulnerability form) to another member team,\n"
	"delivered directly and retried until it is acknowledged; never gossiped.\n"
	"\n"
	"  -F, --form FORM          incident, ics-incident, vuln-product or vuln-web\n"
	"  -f, --file FILE          the filled form, JSON (- reads standard input)\n"
	"  -t, --to MEMBER          the recipient: a name, alias or 8+ hex digits of its id\n"
	"  -o, --to-owner-of VALUE  the member whose constituency holds VALUE (address, CIDR,\n"
	"                           domain, URL, e-mail, AS<n>; chatham poc whois)\n"
	"  -V, --via COORDINATOR    a coordinating member that forwards the notice under its\n"
	"                           own signature, without naming this node to the recipient\n"
	"  -T, --tlp TLP            AMBER, AMBER+STRICT or RED; required\n"
	"      --template FORM      print an empty FORM to fill in (as chatham form template)\n"
	"  -s, --socket PATH        the node's API socket\n"
	"  -c, --config FILE        config file to read the socket path from\n"
	"  -j, --json               print the node's raw JSON response\n"
	"  -h, --help               this text\n";

static const char notices_usage[] =
	"usage: chatham notices [--json | --format stix21|misp]\n"
	"       chatham notices reply ID --status STATUS [--comment TEXT] [--json]\n"
	"\n"
	"The notices this node sent and received, by thread (a notice and the status\n"
	"replies to it), and local notices about values in this node's constituency;\n"
	"reply answers a received notice with a status that goes back the way it came.\n"
	"\n"
	"  -f, --format FMT         stix21 or misp: the received notices for your own tools\n"
	"                           (free text redacted as [policy] descriptions says)\n"
	"  -S, --status STATUS      received, investigating, resolved or not-ours\n"
	"  -m, --comment TEXT       free text sent with the status\n"
	"  -s, --socket PATH        the node's API socket\n"
	"  -c, --config FILE        config file to read the socket path from\n"
	"  -j, --json               print the node's raw JSON response\n"
	"  -h, --help               this text\n";

enum { OPT_TEMPLATE = 256 };

/* Send @req (stolen) and print the response raw, or hand it to @print. */
static int call(const char *cmd, const char *sock, const char *config, json_t *req, bool raw,
		int (*print)(json_t *resp))
{
	json_t *resp = NULL;
	int code = node_apiclient_exchange(cmd, sock, config, raw, req, &resp);

	json_decref(req);
	if (!resp)
		return code;
	code = print(resp);
	json_decref(resp);
	return code;
}

static const char *member_text(json_t *m, char *buf, size_t len)
{
	const char *name = json_string_value(json_object_get(m, "name"));
	const char *id = json_string_value(json_object_get(m, "member_id"));

	snprintf(buf, len, "%s (%.16s)", name ? name : "not in the roster", id ? id : "?");
	return buf;
}

static int print_notified(json_t *r)
{
	char to[320], via[320];
	json_t *v = json_object_get(r, "via");

	printf("notice %s (TLP:%s) queued for %s%s%s\n",
	       json_string_value(json_object_get(r, "notice")),
	       json_string_value(json_object_get(r, "tlp")),
	       member_text(json_object_get(r, "to"), to, sizeof(to)), v ? " via " : "",
	       v ? member_text(v, via, sizeof(via)) : "");
	return NODE_CMD_EXIT_OK;
}

int node_cmd_notify(int argc, char **argv)
{
	static const struct option opts[] = {
		{"form", required_argument, NULL, 'F'},
		{"file", required_argument, NULL, 'f'},
		{"to", required_argument, NULL, 't'},
		{"to-owner-of", required_argument, NULL, 'o'},
		{"via", required_argument, NULL, 'V'},
		{"tlp", required_argument, NULL, 'T'},
		{"template", required_argument, NULL, OPT_TEMPLATE},
		{"socket", required_argument, NULL, 's'},
		{"config", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *form = NULL, *file = NULL, *to = NULL, *owner = NULL, *via = NULL, *tlp = NULL;
	const char *sock = NULL, *config = NULL, *fname;
	bool raw = false;
	json_t *doc, *req;
	int c, code;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":F:f:t:o:V:T:s:c:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'F':
			form = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		case 't':
			to = optarg;
			break;
		case 'o':
			owner = optarg;
			break;
		case 'V':
			via = optarg;
			break;
		case 'T':
			tlp = optarg;
			break;
		case OPT_TEMPLATE:
			return node_cli_form_template("notify", optarg);
		case 's':
			sock = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'j':
			raw = true;
			break;
		case 'h':
			fputs(notify_usage, stdout);
			return NODE_CMD_EXIT_OK;
		default:
			return node_cli_option_error("notify", c, argv);
		}
	}
	if (optind < argc)
		return node_cli_usage_error("notify", "unexpected argument");
	if (!form || !file)
		return node_cli_usage_error("notify", "--form FORM and --file FILE are required");
	if (!tlp)
		return node_cli_usage_error("notify",
					    "--tlp is required (AMBER, AMBER+STRICT or RED)");
	if (!to == !owner)
		return node_cli_usage_error("notify", "give exactly one of --to and --to-owner-of");
	doc = node_cli_form_load("notify", file, &code);
	if (!doc)
		return code;
	fname = json_string_value(json_object_get(doc, "form"));
	if (!fname || strcmp(fname, form)) {
		fprintf(stderr, "chatham: notify: %s: field form: is \"%s\", not --form %s\n", file,
			fname ? fname : "", form);
		json_decref(doc);
		return NODE_CMD_EXIT_DATAERR;
	}
	req = json_pack("{s:s, s:o, s:s}", "op", "notify", "form", doc, "tlp", tlp);
	if (req && to)
		json_object_set_new(req, "to", json_string(to));
	if (req && owner)
		json_object_set_new(req, "to_owner_of", json_string(owner));
	if (req && via)
		json_object_set_new(req, "via", json_string(via));
	if (!req) {
		fprintf(stderr, "chatham: notify: out of memory\n");
		return NODE_CMD_EXIT_FAIL;
	}
	return call("notify", sock, config, req, raw, print_notified);
}

static int print_notices(json_t *r)
{
	json_t *items = json_object_get(r, "notices"), *it;
	const char *thread = "";
	size_t i;

	if (!json_array_size(items))
		printf("no notices\n");
	json_array_foreach(items, i, it)
	{
		const char *th = json_string_value(json_object_get(it, "thread"));
		const char *kind = json_string_value(json_object_get(it, "kind"));
		bool out = !strcmp(json_string_value(json_object_get(it, "direction")), "out");
		char who[320];

		if (!strcmp(kind, "local")) {
			json_t *ind = json_object_get(it, "indicator");

			printf("%slocal notice %s  %s: %s %s is in this node's constituency: %s, "
			       "TLP:%s, %lld member(s), %lld sighting(s), confidence %lld, last seen "
			       "%s\n",
			       i ? "\n" : "", json_string_value(json_object_get(it, "id")),
			       json_string_value(json_object_get(it, "stored")),
			       json_string_value(json_object_get(ind, "type")),
			       json_string_value(json_object_get(ind, "value")),
			       json_string_value(json_object_get(ind, "state")),
			       json_string_value(json_object_get(ind, "tlp")),
			       (long long)json_integer_value(json_object_get(ind, "members")),
			       (long long)json_integer_value(json_object_get(ind, "sightings")),
			       (long long)json_integer_value(json_object_get(ind, "confidence")),
			       json_string_value(json_object_get(ind, "last_seen")));
			thread = "";
			continue;
		}
		if (strcmp(th, thread))
			printf("%sthread %s\n", i ? "\n" : "", th);
		thread = th;
		printf("  %s  %s %s %s  TLP:%s", json_string_value(json_object_get(it, "created")),
		       json_string_value(json_object_get(it, "id")), out ? "to  " : "from",
		       member_text(json_object_get(it, out ? "to" : "from"), who, sizeof(who)),
		       json_string_value(json_object_get(it, "tlp")));
		if (!strcmp(kind, "notice")) {
			json_t *f = json_object_get(it, "form");
			json_t *dt = json_object_get(it, "deliver_to");

			printf("  %s", json_string_value(json_object_get(f, "form")));
			if (dt)
				printf(" for %s", member_text(dt, who, sizeof(who)));
			if (json_is_true(json_object_get(it, "via_coordinator")))
				printf(" (forwarded by a coordinator)");
		} else {
			const char *cm = json_string_value(json_object_get(it, "comment"));

			printf("  status %s%s%s", json_string_value(json_object_get(it, "status")),
			       cm ? ": " : "", cm ? cm : "");
		}
		if (json_is_true(json_object_get(it, "pending")))
			printf("  [not yet delivered]");
		if (json_is_string(json_object_get(it, "refused")))
			printf("  [refused by the next hop: %s]",
			       json_string_value(json_object_get(it, "refused")));
		printf("\n");
	}
	return NODE_CMD_EXIT_OK;
}

static int print_rendered(json_t *r)
{
	json_t *doc = json_object_get(r, "stix");

	json_dumpf(doc ? doc : json_object_get(r, "misp"), stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	return NODE_CMD_EXIT_OK;
}

static int print_replied(json_t *r)
{
	char to[320];

	printf("status %s (%s) queued for %s\n", json_string_value(json_object_get(r, "status_id")),
	       json_string_value(json_object_get(r, "status")),
	       member_text(json_object_get(r, "to"), to, sizeof(to)));
	return NODE_CMD_EXIT_OK;
}

int node_cmd_notices(int argc, char **argv)
{
	static const struct option opts[] = {
		{"status", required_argument, NULL, 'S'}, {"comment", required_argument, NULL, 'm'},
		{"format", required_argument, NULL, 'f'}, {"socket", required_argument, NULL, 's'},
		{"config", required_argument, NULL, 'c'}, {"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},	  {NULL, 0, NULL, 0},
	};
	const char *status = NULL, *comment = NULL, *sock = NULL, *config = NULL, *format = NULL;
	bool raw = false;
	json_t *req;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":S:m:f:s:c:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'S':
			status = optarg;
			break;
		case 'm':
			comment = optarg;
			break;
		case 'f':
			format = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'j':
			raw = true;
			break;
		case 'h':
			fputs(notices_usage, stdout);
			return NODE_CMD_EXIT_OK;
		default:
			return node_cli_option_error("notices", c, argv);
		}
	}
	if (optind == argc) {
		if (status || comment)
			return node_cli_usage_error("notices",
						    "--status and --comment belong to reply");
		if (format && (raw || (strcmp(format, "stix21") && strcmp(format, "misp"))))
			return node_cli_usage_error("notices",
						    "--format is stix21 or misp, without --json");
		req = json_pack("{s:s}", "op", "notices");
		if (req && format)
			json_object_set_new(req, "format", json_string(format));
		return call("notices", sock, config, req, raw,
			    format ? print_rendered : print_notices);
	}
	if (format)
		return node_cli_usage_error("notices", "--format does not go with reply");
	if (strcmp(argv[optind], "reply") || optind + 2 != argc)
		return node_cli_usage_error("notices", "expected no argument, or reply ID");
	if (!status)
		return node_cli_usage_error(
			"notices", "reply needs --status received|investigating|resolved|not-ours");
	req = json_pack("{s:s, s:s, s:s}", "op", "notice_reply", "notice", argv[optind + 1],
			"status", status);
	if (req && comment)
		json_object_set_new(req, "comment", json_string(comment));
	return call("notices", sock, config, req, raw, print_replied);
}
