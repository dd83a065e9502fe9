/* SPDX-License-Identifier: MIT */
/*
 * node/cli/cmd.h — the `chatham` command table. Each command is a function
 * `int node_cmd_<fn>(int argc, char **argv)` that receives its own name as argv[0], parses
 * its options with getopt_long, answers --help on stdout with exit code 0, and returns the
 * process exit code: 0 success, 1 failure (a message on stderr), 2 usage error.
 *
 * Adding a command: one X() line here (name as typed, C identifier, one-line summary) and
 * its function in a file under node/cli/; node/main.c needs no change.
 */
#ifndef CHATHAM_NODE_CMD_H
#define CHATHAM_NODE_CMD_H

#include <jansson.h>
#include <stdbool.h>

/*
 * Exit status, one per class of failure (the values of BSD's sysexits.h where one fits),
 * documented in chatham(1) EXIT STATUS:
 */
#define NODE_CMD_EXIT_OK 0
#define NODE_CMD_EXIT_FAIL 1	     /* the operation failed (a file, the store, ...) */
#define NODE_CMD_EXIT_USAGE 2	     /* bad option or argument */
#define NODE_CMD_EXIT_DATAERR 65     /* the input was refused as invalid, by chatham or the node */
#define NODE_CMD_EXIT_UNAVAILABLE 69 /* the node cannot be reached on its API socket */
#define NODE_CMD_EXIT_TEMPFAIL 75    /* the node is overloaded or shutting down: try again */
#define NODE_CMD_EXIT_NOPERM 77	     /* the node refuses this user ([api] allow lists) */
#define NODE_CMD_EXIT_CONFIG 78	     /* the configuration, or a file it names, is unusable */

/* The exit status for a failure the node answered with error number @number. */
int node_cmd_exit_for_error(int number);

/* X(name, fn, summary) */
#define NODE_COMMANDS(X)                                                                    \
	X("run", run, "run the node in the foreground (systemd: Type=notify)")              \
	X("check-config", check_config, "check a configuration file, naming every problem") \
	X("publish", publish, "publish an indicator report through the running node")       \
	X("revoke", revoke, "withdraw this node's report on an indicator")                  \
	X("sight", sight, "report a sighting of an indicator")                              \
	X("false-positive", false_positive, "report an indicator as a false positive")      \
	X("query", query, "show what the node knows about an indicator")                    \
	X("list", list, "list indicator changes from the node's feed")                      \
	X("status", status, "show the running node's status")                               \
	X("peers", peers, "show the node's overlay links")                                  \
	X("keygen", keygen, "create a member or steward key file")                          \
	X("community", community, "create a community (community file and network key)")    \
	X("roster", roster, "add, remove, sign, show or verify roster members")             \
	X("export", export, "read the SIEM export as JSON lines, CSV, STIX, MISP or lists") \
	X("form", form, "print or check incident and vulnerability notice forms")           \
	X("poc", poc, "show members' points of contact; whose constituency holds a value")  \
	X("notify", notify, "send an incident or vulnerability notice to another member")   \
	X("notices", notices, "list sent and received notices; reply with a status")        \
	X("backup", backup, "copy the node's store (and keys if asked) while it runs")      \
	X("restore", restore, "put a backup in place as the stopped node's store")

#define NODE_CMD_DECLARE(name, fn, summary) int node_cmd_##fn(int argc, char **argv);
NODE_COMMANDS(NODE_CMD_DECLARE)
#undef NODE_CMD_DECLARE

/* Default config file: $CONFIGURATION_DIRECTORY/chatham.conf, else /etc/chatham/chatham.conf. */
const char *node_cmd_default_config(char *buf, size_t len);

#endif
