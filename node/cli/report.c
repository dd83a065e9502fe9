/* SPDX-License-Identifier: MIT */
/*
 * The report commands: publish, revoke, sight, false-positive. Each builds one report request
 * (node/format/request.h), sends it to the running node and prints the answer for a person,
 * or the raw response line with --json. Validation is the node's job; the only check made
 * here is the one that must fail closed before anything is sent: a report without --tlp.
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

	code = node_apiclient_exchange(argv[0], socket, config, raw, req, &resp);
	if (resp) {
		printf("%s%s report %.16s... on %s %s (indicator %.16s...)\n",
		       !strcmp(node_resp_str(resp, "result"), "new") ? "new" : "duplicate",
		       anonymous ? " anonymous" : "", node_resp_str(resp, "report_id"),
		       node_resp_str(resp, "type"), node_resp_str(resp, "value"),
		       node_resp_str(resp, "indicator_id"));
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
