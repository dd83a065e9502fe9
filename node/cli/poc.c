/* SPDX-License-Identifier: MIT */
/*
 * `chatham poc`: the community directory, offline from the local roster file — each member's
 * point of contact, and which member's constituency holds an address, domain or AS number
 * (proto/poc.h). It reads a file and prints; it never talks to the node or the network.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "node/cli/cmd.h"
#include "node/cli/util.h"
#include "node/common/keyfile.h"
#include "node/format/config.h"
#include "node/format/member.h"
#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/poc.h"
#include "proto/roster.h"

static const char poc_usage[] =
	"usage: chatham poc show [--roster FILE | --config FILE] [--json] [MEMBER]\n"
	"       chatham poc whois [--roster FILE | --config FILE] [--json] VALUE\n"
	"\n"
	"The community directory, read from the local roster file (no network):\n"
	"  show [MEMBER]   the point of contact (e-mail, URL, phone, hours and time zone,\n"
	"                  languages, OpenPGP fingerprint) and constituency (IP prefixes, AS\n"
	"                  numbers, domains) of MEMBER (a display name or alias, or at least 8\n"
	"                  hex digits of its member id), or of every member\n"
	"  whois VALUE     which member's constituency holds VALUE (an IPv4/IPv6 address or\n"
	"                  CIDR, a domain, URL or e-mail address, or AS<number>), the most\n"
	"                  specific first; exit 1 when none does\n"
	"\n"
	"  -r, --roster FILE   the roster (default: [node] roster_file of the config)\n"
	"  -c, --config FILE   the node's config file (default: /etc/chatham/chatham.conf)\n"
	"  -j, --json          one JSON document instead of text\n"
	"  -h, --help          this text\n"
	"The directory is for members only: it never appears in an export.\n";

static void warn_config(void *ctx, unsigned line, const char *msg)
{
	if (line)
		fprintf(stderr, "chatham: poc: %s:%u: %s\n", (const char *)ctx, line, msg);
	else
		fprintf(stderr, "chatham: poc: %s: %s\n", (const char *)ctx, msg);
}

static json_t *strs(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *member_json(const struct proto_member *m)
{
	const struct proto_poc *p = &m->poc;
	const struct proto_constituency *c = &m->constituency;
	char hex[65], pgp[65];
	json_t *o = json_object(), *pj = json_object(), *cj = json_object(), *asns = json_array();

	json_object_set_new(o, "member_id", json_string(proto_hex_encode(hex, m->id, 32)));
	json_object_set_new(o, "name", json_string(m->name));
	if (p->email)
		json_object_set_new(pj, "email", json_string(p->email));
	if (p->url)
		json_object_set_new(pj, "url", json_string(p->url));
	if (p->phone)
		json_object_set_new(pj, "phone", json_string(p->phone));
	if (p->hours)
		json_object_set_new(pj, "hours", json_string(p->hours));
	if (p->tz)
		json_object_set_new(pj, "time_zone", json_string(p->tz));
	if (p->n_languages)
		json_object_set_new(pj, "languages", strs(p->languages, p->n_languages));
	if (p->pgp_len)
		json_object_set_new(pj, "openpgp_fingerprint",
				    json_string(proto_hex_encode(pgp, p->pgp, p->pgp_len)));
	json_object_set_new(o, "poc", pj);
	json_object_set_new(cj, "prefixes", strs(c->prefixes, c->n_prefixes));
	for (size_t i = 0; i < c->n_asns; i++)
		json_array_append_new(asns, json_integer(c->asns[i]));
	json_object_set_new(cj, "asns", asns);
	json_object_set_new(cj, "domains", strs(c->domains, c->n_domains));
	json_object_set_new(o, "constituency", cj);
	return o;
}

static void print_list(const char *label, char *const *v, size_t n)
{
	if (!n)
		return;
	printf("  %-14s", label);
	for (size_t i = 0; i < n; i++)
		printf("%s%s", i ? ", " : "", v[i]);
	printf("\n");
}

static void member_text(const struct proto_member *m)
{
	const struct proto_poc *p = &m->poc;
	const struct proto_constituency *c = &m->constituency;
	char hex[65];

	printf("%s  (member %.16s)\n", m->name, proto_hex_encode(hex, m->id, 32));
	if (proto_poc_empty(p))
		printf("  no point of contact in the roster\n");
	if (p->email)
		printf("  %-14s%s\n", "e-mail", p->email);
	if (p->url)
		printf("  %-14s%s\n", "URL", p->url);
	if (p->phone)
		printf("  %-14s%s\n", "phone", p->phone);
	if (p->hours || p->tz)
		printf("  %-14s%s%s%s\n", "hours", p->hours ? p->hours : "",
		       p->hours && p->tz ? " " : "", p->tz ? p->tz : "");
	print_list("languages", p->languages, p->n_languages);
	if (p->pgp_len) {
		char pgp[65];

		printf("  %-14s%s\n", "OpenPGP", proto_hex_encode(pgp, p->pgp, p->pgp_len));
	}
	print_list("prefixes", c->prefixes, c->n_prefixes);
	if (c->n_asns) {
		printf("  %-14s", "AS numbers");
		for (size_t i = 0; i < c->n_asns; i++)
			printf("%sAS%u", i ? ", " : "", c->asns[i]);
		printf("\n");
	}
	print_list("domains", c->domains, c->n_domains);
}

static int cmp_hit(const void *a, const void *b)
{
	const unsigned *x = a, *y = b;

	return (x[0] < y[0]) - (x[0] > y[0]);
}

int node_cmd_poc(int argc, char **argv)
{
	static const struct option opts[] = {
		{"roster", required_argument, NULL, 'r'},
		{"config", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *roster = NULL, *config = NULL, *sub;
	struct node_config *cfg = NULL;
	struct proto_roster *r = NULL;
	char cfgbuf[4096];
	bool json = false;
	int opt, e, code = NODE_CMD_EXIT_FAIL;

	optind = 0;
	while ((opt = getopt_long(argc, argv, ":r:c:jh", opts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			roster = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(poc_usage, stdout);
			return NODE_CMD_EXIT_OK;
		default:
			return node_cli_option_error("poc", opt, argv);
		}
	}
	if (optind >= argc)
		return node_cli_usage_error("poc", "expected show [MEMBER] or whois VALUE");
	sub = argv[optind++];
	if (strcmp(sub, "show") && strcmp(sub, "whois"))
		return node_cli_usage_error("poc", "expected show [MEMBER] or whois VALUE");
	if (!strcmp(sub, "whois") && optind + 1 != argc)
		return node_cli_usage_error("poc", "whois takes one VALUE");
	if (!strcmp(sub, "show") && optind + 1 < argc)
		return node_cli_usage_error("poc", "show takes at most one MEMBER");
	if (roster && config)
		return node_cli_usage_error("poc", "give --roster or --config, not both");
	if (proto_crypto_init())
		return NODE_CMD_EXIT_FAIL;
	if (!roster) {
		if (!config)
			config = node_cmd_default_config(cfgbuf, sizeof(cfgbuf));
		e = node_config_load_file(config, warn_config, (void *)config, &cfg);
		if (e) {
			fprintf(stderr, "chatham: poc: no --roster, and %s: %s\n", config,
				proto_error_str(e));
			return NODE_CMD_EXIT_FAIL;
		}
		roster = node_config_str(cfg, NODE_ROSTER_FILE);
	}
	e = node_keyfile_load_roster(roster, &r);
	if (e) {
		fprintf(stderr, "chatham: poc: roster %s: %s\n", roster, proto_error_str(e));
		goto out;
	}
	if (!strcmp(sub, "show")) {
		json_t *all = json_array();
		int only = -1;

		if (optind < argc) {
			only = node_member_find(r, argv[optind]);
			if (only < 0) {
				fprintf(stderr, "chatham: poc: %s: %s\n", argv[optind],
					only == NODE_MEMBER_AMBIGUOUS
						? "matches more than one member; give more of "
						  "its id"
						: "no such member (name, alias or 8+ hex digits "
						  "of its id)");
				json_decref(all);
				goto out;
			}
		}
		for (size_t i = 0; i < r->n_members; i++) {
			if (only >= 0 && (size_t)only != i)
				continue;
			if (json)
				json_array_append_new(all, member_json(&r->members[i]));
			else
				member_text(&r->members[i]);
		}
		if (json) {
			json_dumpf(all, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			fputc('\n', stdout);
		}
		json_decref(all);
		code = NODE_CMD_EXIT_OK;
		goto out;
	}

	/* whois: every member whose constituency holds the value, most specific first. */
	unsigned(*hits)[2] = calloc(r->n_members + 1, sizeof *hits);
	size_t n = 0;
	json_t *all = json_array();

	for (size_t i = 0; hits && i < r->n_members; i++) {
		unsigned s = proto_constituency_match(&r->members[i].constituency, argv[optind]);

		if (s) {
			hits[n][0] = s;
			hits[n++][1] = (unsigned)i;
		}
	}
	if (n)
		qsort(hits, n, sizeof *hits, cmp_hit);
	for (size_t i = 0; i < n; i++) {
		if (json)
			json_array_append_new(all, member_json(&r->members[hits[i][1]]));
		else
			member_text(&r->members[hits[i][1]]);
	}
	if (json) {
		json_dumpf(all, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
	} else if (!n) {
		fprintf(stderr, "chatham: poc: no member's constituency holds %s\n", argv[optind]);
	}
	json_decref(all);
	free(hits);
	code = n ? NODE_CMD_EXIT_OK : NODE_CMD_EXIT_FAIL;
out:
	proto_roster_free(r);
	node_config_free(cfg);
	return code;
}
