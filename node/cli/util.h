/* SPDX-License-Identifier: MIT */
/*
 * node/cli/util.h — what the file-working commands (keygen, community, roster) share: the
 * "chatham: CMD: ..." error convention of node/cli/cmd.h, hex keys, bounded integers and JSON
 * output. Not thread-safe where noted; every function is for a command's single thread.
 */
#ifndef CHATHAM_NODE_CLI_UTIL_H
#define CHATHAM_NODE_CLI_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "proto/roster.h"

/* Prints "chatham: @cmd: <message>" on stderr; returns NODE_CMD_EXIT_FAIL. */
int node_cli_errorf(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints @msg (if any) and a pointer to `chatham @cmd --help`; returns NODE_CMD_EXIT_USAGE. */
int node_cli_usage_error(const char *cmd, const char *msg);

/*
 * A file error with the fix an operator needs ("--force replaces it" for -EEXIST), naming
 * @what and @path; returns NODE_CMD_EXIT_FAIL.
 */
int node_cli_file_error(const char *cmd, const char *what, const char *path, int err);

/* @k as 64 lower-case hex digits in @out; returns @out. */
char *node_cli_hex32(char out[65], const uint8_t k[32]);

/* Exactly 64 hex digits into @out: 0, or -EINVAL (also for NULL). */
int node_cli_parse_hex32(const char *s, uint8_t out[32]);

/* A decimal integer in [0, @max] without sign or trailing text: 0, or -EINVAL. */
int node_cli_parse_uint(const char *s, unsigned long long max, unsigned long long *out);

/*
 * node_cli_option_error() - the answer to getopt_long() returning @c '?' or ':' (every
 * optstring starts with ':' and main() clears opterr, so getopt itself prints nothing):
 * "chatham: @cmd: unknown option '-x'" or "option '--out' needs a value", then the
 * --help hint. Reads getopt's optind and optopt. Returns NODE_CMD_EXIT_USAGE.
 */
int node_cli_option_error(const char *cmd, int c, char **argv);

/*
 * node_cli_make_dir() - @dir exists as a directory afterwards: created 0750 (& ~umask), or
 * already there. Returns 0, -ENOTDIR when @dir exists and is not a directory, or -errno of
 * mkdir(2) (the parent is not created).
 */
int node_cli_make_dir(const char *dir);

/* Prints @j (stolen; NULL prints nothing) indented, ASCII-only, on stdout. */
void node_cli_print_json(json_t *j);

/*
 * Writes @j (stolen) as a public file @path (0644 & ~umask, atomic, newline-terminated)
 * through node_keyfile_write_public() with its @flags. Returns 0 or a negative error.
 */
int node_cli_write_public_json(const char *path, json_t *j, unsigned flags);

/*
 * node_cli_roster_complete() - a quorum of @r's own stewards signed it: the roster nodes
 * run with, which authorises the next epoch (not a draft).
 */
bool node_cli_roster_complete(const struct proto_roster *r);

/*
 * node_cli_roster_begin_edit() - before @cmd edits @r, read from @in and to be written to
 * @out: a complete roster becomes the draft of the next epoch (refused when @out is @in,
 * which would overwrite the complete roster; a new network key stays in its epoch), a
 * draft loses its signatures. Notes go to stderr. Returns 0 or NODE_CMD_EXIT_FAIL.
 */
int node_cli_roster_begin_edit(const char *cmd, struct proto_roster *r, const char *in,
			       const char *out);

#endif
