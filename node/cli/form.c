/* SPDX-License-Identifier: MIT */
/*
 * `chatham form`: the structured notice forms (node/format/form.h), offline. `list` names
 * them, `template FORM` prints an empty one to fill in, `check FILE` validates a filled one
 * and names the first field at fault. Nothing here talks to the node.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "node/cli/cli.h"
#include "node/cli/cmd.h"
#include "node/cli/util.h"
#include "node/format/form.h"

static const char form_usage[] =
	"usage: chatham form list\n"
	"       chatham form template FORM\n"
	"       chatham form check FILE|-\n"
	"\n"
	"Structured notice forms (the incident, industrial control system incident and\n"
	"product/web-site vulnerability forms of CSIRT cooperation), as JSON:\n"
	"  list            print the form names: incident, ics-incident, vuln-product, vuln-web\n"
	"  template FORM   print an empty FORM to fill in (fields left empty count as absent)\n"
	"  check FILE      validate a filled form (- reads standard input); on a problem, name\n"
	"                  the field (e.g. affected.occurred_at) and exit 65\n"
	"Times are RFC 3339 with their time zone, e.g. 2026-12-06T09:30:00+09:00.\n"
	"\n"
	"  -h, --help      this text\n";

json_t *node_cli_form_load(const char *cmd, const char *path, int *code)
{
	struct node_form_error err;
	json_error_t je;
	json_t *doc;

	doc = !strcmp(path, "-") ? json_loadf(stdin, JSON_REJECT_DUPLICATES, &je)
				 : json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!doc) {
		fprintf(stderr, "chatham: %s: %s: line %d: %s\n", cmd, path, je.line, je.text);
		/* jansson gives line -1 when the file cannot be read at all */
		*code = je.line > 0 ? NODE_CMD_EXIT_DATAERR : NODE_CMD_EXIT_FAIL;
		return NULL;
	}
	if (json_is_object(doc))
		node_form_prune(doc);
	if (node_form_validate(doc, &err)) {
		if (err.field[0])
			fprintf(stderr, "chatham: %s: %s: field %s: %s\n", cmd, path, err.field,
				err.message);
		else
			fprintf(stderr, "chatham: %s: %s: %s\n", cmd, path, err.message);
		json_decref(doc);
		*code = NODE_CMD_EXIT_DATAERR;
		return NULL;
	}
	return doc;
}

int node_cli_form_template(const char *cmd, const char *name)
{
	json_t *t = node_form_template(name);

	if (!t) {
		fprintf(stderr, "chatham: %s: unknown form %s (chatham form list names them)\n",
			cmd, name);
		return NODE_CMD_EXIT_USAGE;
	}
	json_dumpf(t, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(t);
	return NODE_CMD_EXIT_OK;
}

static int form_check(const char *path)
{
	int code;
	json_t *doc = node_cli_form_load("form", path, &code);

	if (!doc)
		return code;
	json_decref(doc);
	printf("%s: valid\n", path);
	return NODE_CMD_EXIT_OK;
}

int node_cmd_form(int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		if (opt == 'h') {
			fputs(form_usage, stdout);
			return NODE_CMD_EXIT_OK;
		}
		return node_cli_option_error("form", opt, argv);
	}
	argc -= optind;
	argv += optind;
	if (argc == 1 && !strcmp(argv[0], "list")) {
		for (size_t i = 0; i < node_form_count; i++)
			printf("%s\n", node_form_names[i]);
		return NODE_CMD_EXIT_OK;
	}
	if (argc == 2 && !strcmp(argv[0], "template"))
		return node_cli_form_template("form", argv[1]);
	if (argc == 2 && !strcmp(argv[0], "check"))
		return form_check(argv[1]);
	return node_cli_usage_error("form",
				    argc ? "expected list, template FORM or check FILE"
					 : "expected a subcommand: list, template or check");
}
