/* SPDX-License-Identifier: MIT */
/* Shared helpers of the file-working commands; see node/cli/util.h. */
#include "node/cli/util.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "node/cli/cmd.h"
#include "node/common/keyfile.h"
#include "proto/crypto.h"
#include "proto/error.h"

int node_cli_errorf(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "chatham: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return NODE_CMD_EXIT_FAIL;
}

int node_cli_usage_error(const char *cmd, const char *msg)
{
	if (msg)
		fprintf(stderr, "chatham: %s: %s\n", cmd, msg);
	fprintf(stderr, "chatham: %s: see chatham %s --help\n", cmd, cmd);
	return NODE_CMD_EXIT_USAGE;
}

int node_cli_file_error(const char *cmd, const char *what, const char *path, int err)
{
	if (err == -EEXIST)
		return node_cli_errorf(cmd, "%s %s already exists (--force replaces it)", what,
				       path);
	return node_cli_errorf(cmd, "%s %s: %s", what, path, proto_error_str(err));
}

char *node_cli_hex32(char out[65], const uint8_t k[32])
{
	return proto_hex_encode(out, k, 32);
}

int node_cli_parse_hex32(const char *s, uint8_t out[32])
{
	return s && strlen(s) == 64 && proto_hex_decode(out, 32, s) == 0 ? 0 : -EINVAL;
}

int node_cli_parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno || *end || *out > max)
		return -EINVAL;
	return 0;
}

void node_cli_print_json(json_t *j)
{
	char *t = j ? json_dumps(j, JSON_INDENT(2) | JSON_ENSURE_ASCII) : NULL;

	if (t)
		puts(t);
	free(t);
	json_decref(j);
}

int node_cli_write_public_json(const char *path, json_t *j, unsigned flags)
{
	char *t = j ? json_dumps(j, JSON_INDENT(2) | JSON_ENSURE_ASCII) : NULL, *line = NULL;
	int r, n;

	json_decref(j);
	if (!t)
		return -ENOMEM;
	n = asprintf(&line, "%s\n", t);
	free(t);
	if (n < 0)
		return -ENOMEM;
	r = node_keyfile_write_public(path, (const uint8_t *)line, (size_t)n, flags);
	free(line);
	return r;
}

bool node_cli_roster_complete(const struct proto_roster *r)
{
	return r->n_sigs > 0 &&
	       proto_roster_verify(r, r->community, (const uint8_t(*)[32])r->stewards,
				   r->n_stewards, r->threshold, 0) == 0;
}

int node_cli_roster_begin_edit(const char *cmd, struct proto_roster *r, const char *in,
			       const char *out)
{
	if (node_cli_roster_complete(r)) {
		if (!strcmp(in, out))
			return node_cli_errorf(
				cmd,
				"%s is a complete roster (epoch %llu, signed by the stewards); "
				"write the epoch %llu draft to another file with --out FILE",
				in, (unsigned long long)r->epoch, (unsigned long long)r->epoch + 1);
		r->epoch++;
		proto_roster_clear_sigs(r);
		if (r->netkey_sealed)
			fprintf(stderr,
				"chatham: %s: the new network key of epoch %llu stays in that "
				"epoch; the epoch %llu draft carries none\n",
				cmd, (unsigned long long)r->epoch - 1,
				(unsigned long long)r->epoch);
		proto_roster_clear_netkey(r);
		fprintf(stderr, "chatham: %s: starting the epoch %llu draft in %s\n", cmd,
			(unsigned long long)r->epoch, out);
		return 0;
	}
	if (r->n_sigs) {
		fprintf(stderr,
			"chatham: %s: dropping %zu signature(s) of the epoch %llu draft: the "
			"stewards must sign the changed roster again\n",
			cmd, r->n_sigs, (unsigned long long)r->epoch);
		proto_roster_clear_sigs(r);
	}
	return 0;
}

int node_cli_option_error(const char *cmd, int c, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";

	if (c == ':')
		fprintf(stderr, "chatham: %s: option '%s' needs a value\n", cmd, arg);
	else if (optopt && optopt < 256 && strncmp(arg, "--", 2) != 0)
		fprintf(stderr, "chatham: %s: unknown option '-%c'\n", cmd, optopt);
	else
		fprintf(stderr, "chatham: %s: unknown or ambiguous option '%s'\n", cmd, arg);
	fprintf(stderr, "chatham: %s: see chatham %s --help\n", cmd, cmd);
	return NODE_CMD_EXIT_USAGE;
}

int node_cli_make_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0750) == 0)
		return 0;
	if (errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	return errno == EEXIST ? -ENOTDIR : -errno;
}
