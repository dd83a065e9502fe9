/* SPDX-License-Identifier: MIT */
/* `chatham run` and `chatham check-config`. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/cli/cmd.h"
#include "node/format/config.h"
#include "node/daemon/daemon.h"
#include "proto/error.h"

const char *node_cmd_default_config(char *buf, size_t len)
{
	const char *dir = getenv("CONFIGURATION_DIRECTORY");

	if (dir && *dir)
		snprintf(buf, len, "%.*s/chatham.conf", (int)strcspn(dir, ":"), dir);
	else
		snprintf(buf, len, "/etc/chatham/chatham.conf");
	return buf;
}

static const char run_usage[] =
	"usage: chatham run [--config FILE]\n\n"
	"Run the node in the foreground until SIGTERM or SIGINT; SIGHUP reloads the config.\n"
	"Logs go to stderr (with journald priority prefixes when stderr is the journal).\n"
	"Under systemd (Type=notify) it reports READY=1 once the store is open and the API\n"
	"socket is bound, and feeds the watchdog.\n\n"
	"  -c, --config FILE  configuration file (default: $CONFIGURATION_DIRECTORY/chatham.conf,\n"
	"                     else /etc/chatham/chatham.conf)\n"
	"  -h, --help         this text\n\n"
	"Exit status: 0 after a clean shutdown, 78 when the configuration or a file it names\n"
	"is unusable, 1 on other failures.\n";

int node_cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	char def[4096];
	const char *config = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'h':
			fputs(run_usage, stdout);
			return NODE_CMD_EXIT_OK;
		default:
			fputs(run_usage, stderr);
			return NODE_CMD_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "chatham: run: unexpected argument '%s'\n", argv[optind]);
		return NODE_CMD_EXIT_USAGE;
	}
	if (!config)
		config = node_cmd_default_config(def, sizeof(def));
	return node_daemon_run(config);
}

static const char check_usage[] =
	"usage: chatham check-config [FILE]\n"
	"       chatham check-config --example\n\n"
	"Parse FILE (default: $CONFIGURATION_DIRECTORY/chatham.conf, else\n"
	"/etc/chatham/chatham.conf) exactly as `chatham run` does and print every problem as\n"
	"FILE:LINE: message. Exit status 0 when the file is valid, 1 when it is not.\n\n"
	"  -e, --effective  also print every option's effective value\n"
	"      --example    print a complete example configuration, every option commented\n"
	"  -h, --help       this text\n";

struct check_ctx {
	const char *path;
	unsigned n;
};

static void check_report(void *ctx, unsigned line, const char *msg)
{
	struct check_ctx *c = ctx;

	c->n++;
	if (line)
		fprintf(stderr, "%s:%u: %s\n", c->path, line, msg);
	else
		fprintf(stderr, "%s: %s\n", c->path, msg);
}

int node_cmd_check_config(int argc, char **argv)
{
	static const struct option opts[] = {{"effective", no_argument, NULL, 'e'},
					     {"example", no_argument, NULL, 'x'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	struct node_config *cfg = NULL;
	bool effective = false, example = false;
	char def[4096];
	int c, err;

	while ((c = getopt_long(argc, argv, "eh", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			effective = true;
			break;
		case 'x':
			example = true;
			break;
		case 'h':
			fputs(check_usage, stdout);
			return NODE_CMD_EXIT_OK;
		default:
			fputs(check_usage, stderr);
			return NODE_CMD_EXIT_USAGE;
		}
	}
	if (example) {
		if (optind != argc) {
			fputs(check_usage, stderr);
			return NODE_CMD_EXIT_USAGE;
		}
		return node_config_write_example(stdout) ? NODE_CMD_EXIT_FAIL : NODE_CMD_EXIT_OK;
	}
	if (argc - optind > 1) {
		fputs(check_usage, stderr);
		return NODE_CMD_EXIT_USAGE;
	}
	struct check_ctx cc = {
		.path = optind < argc ? argv[optind] : node_cmd_default_config(def, sizeof(def)),
	};
	err = node_config_load_file(cc.path, check_report, &cc, &cfg);
	if (err) {
		if (err == -ENOMEM)
			fprintf(stderr, "chatham: check-config: out of memory\n");
		else
			fprintf(stderr, "%s: %u problem%s\n", cc.path, cc.n, cc.n == 1 ? "" : "s");
		return NODE_CMD_EXIT_FAIL;
	}
	printf("%s: ok\n", cc.path);
	if (effective)
		node_config_write_effective(cfg, stdout);
	node_config_free(cfg);
	return NODE_CMD_EXIT_OK;
}
