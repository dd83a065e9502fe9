/* SPDX-License-Identifier: MIT */
/*
 * `chatham backup` and `chatham restore` (store/backup.h does the store work).
 *
 * A backup directory holds data.mdb (the consistent, compacted copy of the main store) and,
 * only with --keys, member.key and network.key (secrets, 0600). The directory is created
 * 0700. The export environment is never backed up: it is derived from the main store, and
 * restore removes it so the node builds a new one (new env id) from the restored feed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/cli/cli.h"
#include "node/cli/cmd.h"
#include "node/cli/util.h"
#include "node/common/keyfile.h"
#include "node/format/config.h"
#include "proto/crypto.h"
#include "proto/error.h"
#include "store/backup.h"
#include "store/export.h"

static const char backup_usage[] =
	"usage: chatham backup --out DIR [--config FILE] [--keys]\n\n"
	"Copy the node's store (a consistent, compacted copy, taken while the node runs) to\n"
	"DIR/data.mdb, and its notices to DIR/notices.mdb. DIR is created 0700; every file in\n"
	"it is 0600.\n\n"
	"  -o, --out DIR       the backup directory (must not hold a backup yet)\n"
	"  -c, --config FILE   the node's configuration (default: /etc/chatham/chatham.conf)\n"
	"  -k, --keys          also copy the member key and the network key (SECRETS)\n"
	"  -h, --help          this text\n";

static const char restore_usage[] =
	"usage: chatham restore --from DIR [--config FILE] [--keys] [--force]\n\n"
	"Make the backup in DIR the node's store (and its notices, when the backup holds\n"
	"them). The node must be stopped. The backup is\n"
	"verified first; a store already there is kept as data.mdb.before-restore (only with\n"
	"--force). The export environment is removed: the node rebuilds it, with a new env id,\n"
	"when it starts, and catches up with its peers.\n\n"
	"  -f, --from DIR      the backup directory (from chatham backup)\n"
	"  -c, --config FILE   the node's configuration (default: /etc/chatham/chatham.conf)\n"
	"  -k, --keys          also put the backed-up member and network keys in place\n"
	"                      (never over existing key files)\n"
	"      --force         replace an existing store\n"
	"  -h, --help          this text\n";

static void warn_config(void *ctx, unsigned line, const char *msg)
{
	fprintf(stderr, "chatham: %s:%u: %s\n", (const char *)ctx, line, msg);
}

static int load_config(const char *cmd, const char *path, struct node_config **cfg)
{
	char buf[4096];
	int r;

	if (!path)
		path = node_cmd_default_config(buf, sizeof(buf));
	r = node_config_load_file(path, warn_config, (void *)path, cfg);
	if (r)
		return node_cli_errorf(cmd, "%s: %s", path, proto_error_str(r));
	return 0;
}

/* Copy the secret file @src to @dst (0600, never over an existing file). */
static int copy_secret(const char *cmd, const char *what, const char *src, const char *dst)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r = node_keyfile_read_secret(src, &buf, &len);

	if (!r)
		r = node_keyfile_write_secret(dst, buf, len, 0);
	if (buf)
		node_keyfile_free_secret(buf, len);
	if (r)
		return node_cli_errorf(cmd, "%s: %s -> %s: %s", what, src, dst, proto_error_str(r));
	printf("%s copied to %s (0600)\n", what, dst);
	return 0;
}

static int path_join(char *out, size_t cap, const char *dir, const char *name)
{
	return (size_t)snprintf(out, cap, "%s/%s", dir, name) >= cap ? -ENAMETOOLONG : 0;
}

int node_cmd_backup(int argc, char **argv)
{
	static const struct option opts[] = {
		{"out", required_argument, NULL, 'o'},
		{"config", required_argument, NULL, 'c'},
		{"keys", no_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cmd = "backup", *out = NULL, *config = NULL, *netkey;
	struct node_config *cfg = NULL;
	bool keys = false;
	char path[4096], src[4096];
	uint64_t bytes = 0;
	int opt, r, code = NODE_CMD_EXIT_FAIL;

	optind = 0;
	while ((opt = getopt_long(argc, argv, ":o:c:kh", opts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			out = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'k':
			keys = true;
			break;
		case 'h':
			fputs(backup_usage, stdout);
			return NODE_CMD_EXIT_OK;
		default:
			return node_cli_option_error("backup", opt, argv);
		}
	}
	if (optind != argc || !out) {
		fprintf(stderr, "chatham: backup: %s\n",
			optind != argc ? "unexpected argument" : "--out DIR is required");
		return NODE_CMD_EXIT_USAGE;
	}
	if (load_config(cmd, config, &cfg))
		return NODE_CMD_EXIT_FAIL;
	if (proto_crypto_init()) {
		node_cli_errorf(cmd, "cannot initialise libsodium");
		goto out;
	}
	if (mkdir(out, 0700) != 0 && errno != EEXIST) {
		node_cli_errorf(cmd, "cannot create %s: %s", out, strerror(errno));
		goto out;
	}
	if (path_join(path, sizeof(path), out, "data.mdb")) {
		node_cli_errorf(cmd, "%s: path too long", out);
		goto out;
	}
	r = store_backup_copy(node_config_str(cfg, NODE_STATE_DIR), path, &bytes);
	if (r) {
		node_cli_errorf(cmd, "cannot copy the store in %s to %s: %s%s",
				node_config_str(cfg, NODE_STATE_DIR), path, proto_error_str(r),
				r == -EEXIST ? " (a backup is there already: choose another --out)"
					     : "");
		goto out;
	}
	printf("store of %s copied to %s: %llu bytes, consistent as of one commit\n",
	       node_config_str(cfg, NODE_STATE_DIR), path, (unsigned long long)bytes);
	/* The notices live in their own environment (store/notice.h), if the node made one. */
	if (path_join(src, sizeof(src), node_config_str(cfg, NODE_STATE_DIR), "notices") ||
	    path_join(path, sizeof(path), out, "notices.mdb")) {
		node_cli_errorf(cmd, "%s: path too long", out);
		goto out;
	}
	r = store_backup_copy(src, path, &bytes);
	if (r && r != STORE_E_NOT_FOUND) {
		node_cli_errorf(cmd, "cannot copy the notices in %s to %s: %s", src, path,
				proto_error_str(r));
		goto out;
	}
	if (r == 0)
		printf("notices of %s copied to %s: %llu bytes\n", src, path,
		       (unsigned long long)bytes);
	if (keys) {
		if (path_join(path, sizeof(path), out, "member.key") ||
		    copy_secret(cmd, "member key", node_config_str(cfg, NODE_KEY_FILE), path))
			goto out;
		netkey = node_config_str(cfg, NODE_NETWORK_KEY_FILE);
		if (netkey && *netkey &&
		    (path_join(path, sizeof(path), out, "network.key") ||
		     copy_secret(cmd, "network key", netkey, path)))
			goto out;
	}
	code = NODE_CMD_EXIT_OK;
out:
	node_config_free(cfg);
	return code;
}

int node_cmd_restore(int argc, char **argv)
{
	static const struct option opts[] = {
		{"from", required_argument, NULL, 'f'}, {"config", required_argument, NULL, 'c'},
		{"keys", no_argument, NULL, 'k'},	{"force", no_argument, NULL, 'F'},
		{"help", no_argument, NULL, 'h'},	{NULL, 0, NULL, 0},
	};
	const char *cmd = "restore", *from = NULL, *config = NULL, *state, *netkey;
	struct node_config *cfg = NULL;
	bool keys = false, force = false;
	char path[4096], why[256], hex[33];
	uint8_t env_id[16];
	struct stat st;
	int opt, r, code = NODE_CMD_EXIT_FAIL;

	optind = 0;
	while ((opt = getopt_long(argc, argv, ":f:c:kh", opts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			from = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'k':
			keys = true;
			break;
		case 'F':
			force = true;
			break;
		case 'h':
			fputs(restore_usage, stdout);
			return NODE_CMD_EXIT_OK;
		default:
			return node_cli_option_error("restore", opt, argv);
		}
	}
	if (optind != argc || !from) {
		fprintf(stderr, "chatham: restore: %s\n",
			optind != argc ? "unexpected argument" : "--from DIR is required");
		return NODE_CMD_EXIT_USAGE;
	}
	if (load_config(cmd, config, &cfg))
		return NODE_CMD_EXIT_FAIL;
	if (proto_crypto_init()) {
		node_cli_errorf(cmd, "cannot initialise libsodium");
		goto out;
	}
	state = node_config_str(cfg, NODE_STATE_DIR);
	if (path_join(path, sizeof(path), state, "data.mdb")) {
		node_cli_errorf(cmd, "%s: path too long", state);
		goto out;
	}
	if (stat(path, &st) == 0 && !force) {
		node_cli_errorf(
			cmd,
			"%s holds a store already; give --force to replace it (it is kept as "
			"data.mdb.before-restore)",
			state);
		goto out;
	}
	/* Keys first: they are never overwritten, so a refusal here changes nothing. */
	if (keys) {
		if (path_join(path, sizeof(path), from, "member.key") ||
		    copy_secret(cmd, "member key", path, node_config_str(cfg, NODE_KEY_FILE)))
			goto out;
		netkey = node_config_str(cfg, NODE_NETWORK_KEY_FILE);
		if (path_join(path, sizeof(path), from, "network.key")) {
			node_cli_errorf(cmd, "%s: path too long", from);
			goto out;
		}
		if (netkey && *netkey && access(path, F_OK) == 0 &&
		    copy_secret(cmd, "network key", path, netkey))
			goto out;
	}
	if (path_join(path, sizeof(path), from, "data.mdb")) {
		node_cli_errorf(cmd, "%s: path too long", from);
		goto out;
	}
	r = store_backup_restore(path, state, why, sizeof(why));
	if (r) {
		node_cli_errorf(cmd, "cannot restore %s into %s: %s%s%s", path, state,
				proto_error_str(r), why[0] ? ": " : "", why);
		if (r == STORE_E_BUSY)
			fprintf(stderr, "chatham: restore: stop the node first\n");
		goto out;
	}
	printf("store restored from %s into %s\n", path, state);
	if (path_join(path, sizeof(path), from, "notices.mdb")) {
		node_cli_errorf(cmd, "%s: path too long", from);
		goto out;
	}
	if (access(path, F_OK) == 0) {
		r = store_backup_restore_notices(path, state, why, sizeof(why));
		if (r) {
			node_cli_errorf(cmd, "cannot restore the notices %s into %s: %s%s%s", path,
					state, proto_error_str(r), why[0] ? ": " : "", why);
			goto out;
		}
		printf("notices restored from %s\n", path);
	}
	r = store_export_discard(node_config_str(cfg, NODE_EXPORT_DIR), env_id);
	if (r == 0) {
		printf("export environment %s in %s removed: the node rebuilds it with a new env "
		       "id when it starts\n",
		       proto_hex_encode(hex, env_id, 16), node_config_str(cfg, NODE_EXPORT_DIR));
	} else if (r != STORE_E_NOT_FOUND) {
		node_cli_errorf(
			cmd,
			"the store is restored, but the old export environment in %s could not be "
			"removed: %s; remove its data.mdb and lock.mdb before starting the node",
			node_config_str(cfg, NODE_EXPORT_DIR), proto_error_str(r));
		goto out;
	}
	code = NODE_CMD_EXIT_OK;
out:
	node_config_free(cfg);
	return code;
}
