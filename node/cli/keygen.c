/* SPDX-License-Identifier: MIT */
/*
 * `chatham keygen`: a member's key bundle or a steward's signing key. The secret is written
 * only through node/common/keyfile.h (0600, atomic) and wiped after use; only public keys
 * are printed.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "node/cli/cmd.h"
#include "node/cli/util.h"
#include "node/common/keyfile.h"
#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/keys.h"
#include "proto/rekey.h"

static char *pub_path(const char *path)
{
	size_t n = strlen(path);
	char *p = malloc(n + 5);

	if (p)
		snprintf(p, n + 5, "%s.pub", path);
	return p;
}

/* ------------------------------------------------------------------ keygen */

static const char keygen_usage[] =
	"usage: chatham keygen --out FILE [--name NAME] [--force] [--json]\n"
	"       chatham keygen --steward --out FILE [--force] [--json]\n"
	"       chatham keygen --rotate OLD --community FILE --out FILE [--force] [--json]\n\n"
	"Generate this member's key bundle (an Ed25519 identity key, an X25519 transport key\n"
	"and a ristretto255 ring key) or, with --steward, a steward's Ed25519 signing key.\n"
	"The secret goes to FILE (mode 0600, written atomically); the public part goes to\n"
	"FILE.pub (JSON), which is what a steward needs for `chatham roster add --key`.\n"
	"Missing directories on the way to FILE are created (mode 0700).\n"
	"Only public keys are printed.\n\n"
	"  -o, --out FILE    where to write the secret key (required)\n"
	"  -n, --name NAME   organisation name to suggest in FILE.pub (members only)\n"
	"  -S, --steward     generate a steward key instead of a member key bundle\n"
	"  -R, --rotate OLD  replace the member key bundle OLD: new keys in FILE, and in\n"
	"                    FILE.rotation a statement signed by the old and the new identity\n"
	"                    key, for the stewards (chatham roster rotate --statement)\n"
	"  -c, --community FILE  the community file (with --rotate: the statement names it)\n"
	"  -f, --force       replace FILE and FILE.pub if they exist\n"
	"  -j, --json        print the public keys as JSON\n"
	"  -h, --help        this text\n";

/*
 * Creates the missing directories on the way to @path's parent, each 0700 (they are about to
 * hold a secret key); existing ones are left as they are. Returns 0 or a negative errno
 * (-ENOTDIR when a component exists but is not a directory).
 */
static int make_parents(const char *path)
{
	char *p = strdup(path);
	struct stat st;
	int rc = 0;

	if (!p)
		return -ENOMEM;
	for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST)
			rc = -errno;
		else if (stat(p, &st) != 0)
			rc = -errno;
		else if (!S_ISDIR(st.st_mode))
			rc = -ENOTDIR;
		*s = '/';
		if (rc)
			break;
	}
	free(p);
	return rc;
}

/*
 * keygen --rotate: the statement that the bundle @old_path hands over to @k, written next to
 * @out as OUT.rotation (public); *@stmt is its malloc'd path. The old bundle is not touched.
 * Returns 0 or the command's exit code (message printed).
 */
static int rotation_statement(const char *cmd, const char *old_path, const char *community,
			      const struct proto_keys *k, const char *out, unsigned flags,
			      char **stmt)
{
	struct proto_community c;
	struct proto_keys old;
	struct timespec ts;
	uint8_t *buf = NULL;
	size_t len, n = strlen(out) + sizeof(".rotation");
	int r;

	r = node_keyfile_load_community(community, &c);
	if (r)
		return node_cli_file_error(cmd, "community file", community, r);
	r = node_keyfile_load_member(old_path, &old);
	if (r)
		return node_cli_file_error(cmd, "member key", old_path, r);
	clock_gettime(CLOCK_REALTIME, &ts);
	r = proto_rekey_sign(c.id, &old, k, (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, &buf,
			     &len);
	proto_keys_wipe(&old);
	if (r)
		return node_cli_errorf(cmd, "cannot sign the rotation statement: %s",
				       proto_error_str(r));
	*stmt = malloc(n);
	if (!*stmt) {
		free(buf);
		return node_cli_errorf(cmd, "out of memory");
	}
	snprintf(*stmt, n, "%s.rotation", out);
	r = node_keyfile_write_public(*stmt, buf, len, flags);
	free(buf);
	if (r)
		return node_cli_file_error(cmd, "rotation statement", *stmt, r);
	return 0;
}

int node_cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{"out", required_argument, NULL, 'o'},
		{"name", required_argument, NULL, 'n'},
		{"steward", no_argument, NULL, 'S'},
		{"rotate", required_argument, NULL, 'R'},
		{"community", required_argument, NULL, 'c'},
		{"force", no_argument, NULL, 'f'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cmd = argv[0], *out = NULL, *name = NULL, *rotate = NULL, *community = NULL;
	bool steward = false, force = false, json = false;
	unsigned flags;
	char *pub = NULL, *stmt = NULL, a[65], b[65], c[65];
	struct proto_keys k;
	uint8_t spk[32], ssk[64];
	json_t *info;
	int opt, r, code = NODE_CMD_EXIT_FAIL;

	optind = 0;
	while ((opt = getopt_long(argc, argv, ":o:n:SR:c:fjh", opts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			out = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'S':
			steward = true;
			break;
		case 'R':
			rotate = optarg;
			break;
		case 'c':
			community = optarg;
			break;
		case 'f':
			force = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(keygen_usage, stdout);
			return NODE_CMD_EXIT_OK;
		default:
			return node_cli_option_error(cmd, opt, argv);
		}
	}
	if (optind != argc)
		return node_cli_usage_error(cmd, "unexpected argument");
	if (!out)
		return node_cli_usage_error(cmd,
					    "--out FILE is required (secrets are never printed)");
	if (steward && name)
		return node_cli_usage_error(cmd, "--name is for member keys");
	if (rotate && (steward || !community))
		return node_cli_usage_error(cmd, "--rotate OLD needs --community FILE and makes "
						 "member keys");
	if (community && !rotate)
		return node_cli_usage_error(cmd, "--community is for --rotate");
	if (rotate) {
		struct stat so, sr;

		/* The new bundle is written before the old key signs the statement. */
		if (!strcmp(out, rotate) || (stat(out, &so) == 0 && stat(rotate, &sr) == 0 &&
					     so.st_dev == sr.st_dev && so.st_ino == sr.st_ino))
			return node_cli_usage_error(cmd, "--out must not be the old key file that "
							 "--rotate reads");
	}
	if (name && proto_roster_check_text(name, strlen(name), PROTO_ROSTER_NAME_MAX))
		return node_cli_usage_error(cmd,
					    "--name must be 1-128 bytes of UTF-8 without control "
					    "characters");
	if (proto_crypto_init())
		return node_cli_errorf(cmd, "cannot initialise libsodium");
	flags = force ? NODE_KEYFILE_OVERWRITE : 0;
	pub = pub_path(out);
	if (!pub)
		return node_cli_errorf(cmd, "out of memory");
	if (!force && access(pub, F_OK) == 0) {
		code = node_cli_file_error(cmd, "public key file", pub, -EEXIST);
		goto out;
	}
	r = make_parents(out);
	if (r) {
		code = node_cli_file_error(cmd, "directory of", out, r);
		goto out;
	}

	if (steward) {
		proto_keys_steward_generate(spk, ssk);
		r = node_keyfile_save_steward(out, ssk, flags);
		proto_wipe(ssk, sizeof(ssk));
		if (r) {
			code = node_cli_file_error(cmd, "steward key", out, r);
			goto out;
		}
		info = json_pack("{s:s, s:i, s:s}", "chatham", "steward-public-key", "version", 1,
				 "steward_pk", node_cli_hex32(a, spk));
	} else {
		proto_keys_generate(&k);
		r = node_keyfile_save_member(out, &k, flags);
		if (!r && rotate) {
			int sr = rotation_statement(cmd, rotate, community, &k, out, flags, &stmt);

			if (sr) {
				proto_keys_wipe(&k);
				code = sr;
				goto out;
			}
		}
		node_cli_hex32(a, k.id_pk);
		node_cli_hex32(b, k.tx_pk);
		node_cli_hex32(c, k.ring_pk);
		proto_keys_wipe(&k);
		if (r) {
			code = node_cli_file_error(cmd, "member key", out, r);
			goto out;
		}
		info = json_pack("{s:s, s:i, s:s, s:s, s:s}", "chatham", "member-public-key",
				 "version", 1, "member_id", a, "transport_pk", b, "ring_pk", c);
		if (info && name)
			json_object_set_new(info, "name", json_string(name));
		if (info && stmt)
			json_object_set_new(info, "replaces", json_string(stmt));
	}
	r = node_cli_write_public_json(pub, json_incref(info), flags);
	if (r) {
		json_decref(info);
		code = node_cli_file_error(cmd, "public key file", pub, r);
		goto out;
	}
	if (json) {
		if (stmt)
			json_object_set_new(info, "rotation_file", json_string(stmt));
		json_object_set_new(info, "key_file", json_string(out));
		json_object_set_new(info, "public_file", json_string(pub));
		node_cli_print_json(info);
	} else {
		json_decref(info);
		if (steward) {
			printf("steward key written to %s (mode 0600), public key to %s\n"
			       "steward public key: %s\n",
			       out, pub, a);
		} else {
			printf("member key written to %s (mode 0600), public keys to %s\n"
			       "member id:     %s\n"
			       "transport key: %s\n"
			       "ring key:      %s\n"
			       "Send %s to the stewards: chatham roster add --key %s --name NAME\n",
			       out, pub, a, b, c, pub, pub);
			if (stmt)
				printf("Key rotation statement: %s. Send it to the stewards (chatham roster "
				       "rotate --statement %s); once the node has the roster that accepts it, "
				       "point member_key_file at %s and restart the node\n",
				       stmt, stmt, out);
		}
	}
	code = NODE_CMD_EXIT_OK;
out:
	free(pub);
	free(stmt);
	return code;
}
