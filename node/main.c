/* SPDX-License-Identifier: MIT */
/* chatham — command dispatcher. The commands live in node/cli/cmd.h's table. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "node/cli/cmd.h"
#include "node/common/log.h"

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct cmd cmds[] = {
#define NODE_CMD_ENTRY(name, fn, summary) {name, node_cmd_##fn, summary},
	NODE_COMMANDS(NODE_CMD_ENTRY)
#undef NODE_CMD_ENTRY
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: chatham COMMAND [OPTIONS] [ARGS]\n"
		"       chatham COMMAND --help\n"
		"       chatham --version\n\n"
		"Peer-to-peer threat-indicator exchange for CSIRTs (TLP, Chatham House Rule).\n\n"
		"Commands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-16s %s\n", cmds[i].name, cmds[i].summary);
}

static const struct cmd *find(const char *name)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const struct cmd *c;

	node_log_init(NODE_LOG_INFO, false);
	opterr = 0; /* each command names a bad option itself (node_cli_option_error) */
	if (argc < 2) {
		usage(stderr);
		return NODE_CMD_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return NODE_CMD_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("chatham %s\n", CHATHAM_VERSION);
		return NODE_CMD_EXIT_OK;
	}
	if (!strcmp(argv[1], "help")) {
		if (argc < 3) {
			usage(stdout);
			return NODE_CMD_EXIT_OK;
		}
		c = find(argv[2]);
		if (!c) {
			fprintf(stderr,
				"chatham: unknown command '%s' (chatham --help lists them)\n",
				argv[2]);
			return NODE_CMD_EXIT_USAGE;
		}
		char *help_argv[] = {argv[2], "--help", NULL};
		return c->fn(2, help_argv);
	}
	c = find(argv[1]);
	if (!c) {
		fprintf(stderr, "chatham: unknown command '%s' (chatham --help lists them)\n",
			argv[1]);
		return NODE_CMD_EXIT_USAGE;
	}
	return c->fn(argc - 1, argv + 1);
}
