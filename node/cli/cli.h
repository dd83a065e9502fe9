/* SPDX-License-Identifier: MIT */
/*
 * node/cli/cli.h — the operator commands that work on files rather than on a running node:
 * keys (node/cli/keygen.c), community (community.c), rosters (roster.c), `export` from the SIEM export environment
 * (node/cli/export.c) and `publish --file` (node/cli/publish_file.c, which talks to the node).
 *
 * Each function follows node/cli/cmd.h's convention: argv[0] is the command's own name, options
 * are parsed with getopt_long (optind is reset, so commands may run one after another in one
 * process), --help prints usage on stdout and returns 0, and the result is the process exit
 * code: NODE_CMD_EXIT_OK, NODE_CMD_EXIT_FAIL (a message "chatham: CMD: ..." on stderr) or
 * NODE_CMD_EXIT_USAGE. Secrets are never printed and are wiped after use.
 *
 *   keygen      [--steward] --out FILE [--name NAME] [--force] [--json]
 *   community   init --name NAME (--stewards N | --steward-pk HEX...) [--threshold K]
 *               --out-dir DIR [--force] [--json]; rotate-network-key; reshare-oprf
 *   roster      add | remove | sign | show | verify (see chatham(1))
 *   export      --export-dir DIR --format FMT [--since SEQ] [--type TYPE] [--out PATH]
 *   backup      --out DIR [--config FILE] [--keys]; restore --from DIR [--keys] [--force]
 *   publish --file FILE [--format F] [--tlp TLP] ...   (node_cmd_publish_file)
 *
 * Public key files written by keygen (FILE.pub, JSON) and read by `roster add --key`:
 *   {"chatham": "member-public-key", "version": 1, "member_id": HEX, "transport_pk": HEX,
 *    "ring_pk": HEX, "name": NAME (optional)}
 *   {"chatham": "steward-public-key", "version": 1, "steward_pk": HEX}
 */
#ifndef CHATHAM_NODE_CLI_H
#define CHATHAM_NODE_CLI_H

#include <jansson.h>
#include <stdbool.h>

int node_cmd_keygen(int argc, char **argv);
int node_cmd_community(int argc, char **argv);
/* `community reshare-oprf deal|publish|accept` (node/cli/reshare.c); argv[0] "reshare-oprf". */
int node_cli_community_reshare(int argc, char **argv);
int node_cmd_roster(int argc, char **argv);
int node_cmd_export(int argc, char **argv);
int node_cmd_backup(int argc, char **argv);  /* node/cli/backup.c */
int node_cmd_restore(int argc, char **argv); /* node/cli/backup.c */

/*
 * node_cmd_publish_file() - `chatham publish --file FILE ...`: the whole publish argv
 * (argv[0] "publish"); the single-indicator publish command hands over to it when it sees
 * --file.
 */
int node_cmd_publish_file(int argc, char **argv);

/*
 * node_cmd_sight_sealed() - `chatham sight --sealed ...` (node/cli/sealed.c): the whole sight
 * argv; the sight command hands over to it when node_cli_has_sealed_option() sees --sealed.
 */
int node_cmd_sight_sealed(int argc, char **argv);
bool node_cli_has_sealed_option(int argc, char **argv);

/*
 * node_cli_form_load() - read the form in file @path ("-": standard input), drop its empty
 * fields (node_form_prune()) and validate it. Returns the document (new reference), or NULL
 * after printing "chatham: CMD: PATH: field F: why" on stderr with the exit code in *@code
 * (NODE_CMD_EXIT_DATAERR for a form refused, NODE_CMD_EXIT_FAIL for a file not read).
 * node_cli_form_template() - print an empty form @name; the exit code (usage error for an
 * unknown form, with a message).
 */
json_t *node_cli_form_load(const char *cmd, const char *path, int *code);
int node_cli_form_template(const char *cmd, const char *name);

/* node_cli_has_file_option() - whether @argv (a publish command line) has -f/--file. */
bool node_cli_has_file_option(int argc, char **argv);

#endif
