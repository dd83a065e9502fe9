/* SPDX-License-Identifier: MIT */
/*
 * `chatham community init`: a community's public file, its secret network key and, when
 * asked, the steward keys. `chatham community rotate-network-key`: a roster draft that
 * delivers a new network key sealed to each member (`reshare-oprf` is node/cli/reshare.c).
 * Secrets are written only through node/common/keyfile.h (0600, atomic) and wiped after use;
 * nothing secret is ever printed.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/cli/cli.h"
#include "node/cli/cmd.h"
#include "node/cli/util.h"
#include "node/common/keyfile.h"
#include "proto/community.h"
#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/oprf.h"
#include "proto/sealed.h"

/* ------------------------------------------------------------------ community init */

static const char community_usage[] =
	"usage: chatham community init --name NAME --out-dir DIR\n"
	"           (--stewards N | --steward-pk HEX ...) [--threshold K]\n"
	"           [--sealed-k K [--oprf-threshold T] [--sealed-quota N] [--sealed-window DAYS]]\n"
	"           [--force] [--json]\n\n"
	"Create a community: a random 32-byte community id, the secret network key (the Noise\n"
	"PSK every member needs), and the public community file naming the steward keys and\n"
	"the threshold K of steward signatures a roster needs. Written to DIR (created 0750 if\n"
	"missing):\n"
	"  DIR/community        public: give it to every member (config: community_file)\n"
	"  DIR/network.key      SECRET (0600): give it to every member, out of band\n"
	"  DIR/steward-N.key    SECRET (0600): one per generated steward, plus .pub files\n"
	"  DIR/oprf-share-J.key SECRET (0600): with --sealed-k, the OPRF key share of steward J\n"
	"                       (J = 1..number of stewards, in the order listed): only the node\n"
	"                       of steward J gets it (config: [sealed] oprf_share_file)\n\n"
	"  -n, --name NAME        community name (1-128 bytes)\n"
	"  -s, --stewards N       generate N steward keys here\n"
	"  -p, --steward-pk HEX   add a steward public key made elsewhere with\n"
	"                         `chatham keygen --steward` (repeatable)\n"
	"  -k, --threshold K      steward signatures a roster needs (default: 1 with one\n"
	"                         steward, else required)\n"
	"  -S, --sealed-k K       enable sealed sightings: a value opens when K (2-32)\n"
	"                         members sealed it; deals the OPRF key among the stewards\n"
	"  -T, --oprf-threshold T OPRF key shares a member needs (default: --threshold)\n"
	"  -Q, --sealed-quota N   OPRF evaluations a member may ask of each steward per UTC\n"
	"                         day (default 100000)\n"
	"  -W, --sealed-window DAYS  days a sealed sighting is kept and counted (default 30)\n"
	"  -o, --out-dir DIR      where to write the files (required)\n"
	"  -f, --force            replace existing files\n"
	"  -j, --json             print the result as JSON\n"
	"  -h, --help             this text\n";

/*
 * Deal the OPRF key of sealed sightings (docs/SEALED.md §1): one share per steward, in the
 * community file's steward order, each written to its own 0600 file; the verification keys
 * go into @c. The shares are wiped here; this process never writes the key itself.
 */
static int deal_oprf(const char *cmd, const char *dir, unsigned flags, struct proto_community *c,
		     json_t *files)
{
	uint8_t shares[PROTO_ROSTER_STEWARDS_MAX][32];
	char path[4096];
	int r;

	c->sealed.n = c->n_stewards;
	r = proto_oprf_deal(shares, c->sealed.vks, c->sealed.vk, c->sealed.t, c->sealed.n);
	if (r) {
		node_cli_errorf(cmd, "dealing the OPRF key: %s", proto_error_str(r));
		goto out;
	}
	for (size_t j = 1; j <= c->sealed.n; j++) {
		snprintf(path, sizeof(path), "%s/oprf-share-%zu.key", dir, j);
		r = node_keyfile_save_oprf_share(path, c->id, (uint32_t)j, 0, shares[j - 1], flags);
		if (r) {
			node_cli_file_error(cmd, "OPRF key share", path, r);
			goto out;
		}
		json_array_append_new(files, json_string(path));
	}
out:
	proto_wipe(shares, sizeof(shares));
	return r;
}

static int community_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{"name", required_argument, NULL, 'n'},
		{"stewards", required_argument, NULL, 's'},
		{"steward-pk", required_argument, NULL, 'p'},
		{"threshold", required_argument, NULL, 'k'},
		{"sealed-k", required_argument, NULL, 'S'},
		{"oprf-threshold", required_argument, NULL, 'T'},
		{"sealed-quota", required_argument, NULL, 'Q'},
		{"sealed-window", required_argument, NULL, 'W'},
		{"out-dir", required_argument, NULL, 'o'},
		{"force", no_argument, NULL, 'f'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cmd = "community init", *name = NULL, *dir = NULL;
	unsigned long long n_gen = 0, threshold = 0, sealed_k = 0, oprf_t = 0, quota = 100000;
	unsigned long long window = 30;
	bool force = false, json = false, have_k = false, sealed_opts = false;
	struct proto_community c = {0};
	uint8_t netkey[32], ssk[64];
	char path[4096], hex[65];
	json_t *res = NULL, *files = NULL;
	unsigned flags;
	size_t n_given = 0;
	int opt, r;

	optind = 0;
	while ((opt = getopt_long(argc, argv, ":n:s:p:k:S:T:Q:W:o:fjh", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			name = optarg;
			break;
		case 's':
			if (node_cli_parse_uint(optarg, PROTO_ROSTER_STEWARDS_MAX, &n_gen))
				return node_cli_usage_error("community", "--stewards takes 0-32");
			break;
		case 'p':
			if (n_given == PROTO_ROSTER_STEWARDS_MAX)
				return node_cli_usage_error("community", "at most 32 stewards");
			if (node_cli_parse_hex32(optarg, c.stewards[n_given]))
				return node_cli_usage_error(
					"community",
					"--steward-pk takes 64 hex digits (the steward_pk "
					"of a keygen --steward .pub file)");
			n_given++;
			break;
		case 'k':
			if (node_cli_parse_uint(optarg, PROTO_ROSTER_STEWARDS_MAX, &threshold) ||
			    !threshold)
				return node_cli_usage_error("community", "--threshold takes 1-32");
			have_k = true;
			break;
		case 'S':
			if (node_cli_parse_uint(optarg, PROTO_SEALED_K_MAX, &sealed_k) ||
			    sealed_k < PROTO_SEALED_K_MIN)
				return node_cli_usage_error("community", "--sealed-k takes 2-32");
			break;
		case 'T':
			sealed_opts = true;
			if (node_cli_parse_uint(optarg, PROTO_ROSTER_STEWARDS_MAX, &oprf_t) ||
			    !oprf_t)
				return node_cli_usage_error("community",
							    "--oprf-threshold takes 1-32");
			break;
		case 'Q':
			sealed_opts = true;
			if (node_cli_parse_uint(optarg, UINT32_MAX, &quota) || !quota)
				return node_cli_usage_error("community",
							    "--sealed-quota takes 1-4294967295");
			break;
		case 'W':
			sealed_opts = true;
			if (node_cli_parse_uint(optarg, PROTO_SEALED_WINDOW_MAX, &window) ||
			    !window)
				return node_cli_usage_error("community",
							    "--sealed-window takes 1-366 days");
			break;
		case 'o':
			dir = optarg;
			break;
		case 'f':
			force = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(community_usage, stdout);
			return NODE_CMD_EXIT_OK;
		default:
			return node_cli_option_error("community", opt, argv);
		}
	}
	if (optind != argc)
		return node_cli_usage_error("community", "unexpected argument");
	if (!name || !dir)
		return node_cli_usage_error("community", "--name and --out-dir are required");
	if (n_gen + n_given == 0)
		return node_cli_usage_error("community",
					    "no stewards: give --stewards N or --steward-pk");
	if (n_gen + n_given > PROTO_ROSTER_STEWARDS_MAX)
		return node_cli_usage_error("community", "at most 32 stewards");
	if (!have_k) {
		if (n_gen + n_given > 1)
			return node_cli_usage_error("community",
						    "--threshold K is required with more than "
						    "one steward");
		threshold = 1;
	}
	if (threshold > n_gen + n_given)
		return node_cli_usage_error("community",
					    "--threshold is larger than the number of stewards");
	if (!sealed_k && sealed_opts)
		return node_cli_usage_error("community", "--oprf-threshold, --sealed-quota and "
							 "--sealed-window need --sealed-k");
	if (sealed_k && !oprf_t)
		oprf_t = threshold;
	if (oprf_t > n_gen + n_given)
		return node_cli_usage_error(
			"community", "--oprf-threshold is larger than the number of stewards");
	if (proto_crypto_init())
		return node_cli_errorf(cmd, "cannot initialise libsodium");
	r = proto_roster_check_text(name, strlen(name), PROTO_ROSTER_NAME_MAX);
	if (r)
		return node_cli_errorf(cmd,
				       "--name: %s (1-128 bytes of UTF-8, no control characters)",
				       proto_error_str(r));
	r = node_cli_make_dir(dir);
	if (r)
		return node_cli_errorf(cmd, "cannot create %s: %s", dir, proto_error_str(r));
	flags = force ? NODE_KEYFILE_OVERWRITE : 0;

	proto_random(c.id, sizeof(c.id));
	snprintf(c.name, sizeof(c.name), "%s", name);
	c.threshold = (uint32_t)threshold;
	c.n_stewards = n_given;
	res = json_pack("{s:s, s:s, s:i, s:i}", "community_id", node_cli_hex32(hex, c.id), "name",
			name, "threshold", (int)threshold, "stewards", (int)(n_given + n_gen));
	files = json_array();
	if (!res || !files) {
		r = -ENOMEM;
		goto fail;
	}
	for (unsigned long long i = 0; i < n_gen; i++) {
		uint8_t *pk = c.stewards[c.n_stewards];
		proto_keys_steward_generate(pk, ssk);
		snprintf(path, sizeof(path), "%s/steward-%llu.key", dir, i + 1);
		r = node_keyfile_save_steward(path, ssk, flags);
		proto_wipe(ssk, sizeof(ssk));
		if (r) {
			node_cli_file_error(cmd, "steward key", path, r);
			goto fail_quiet;
		}
		json_array_append_new(files, json_string(path));
		snprintf(path, sizeof(path), "%s/steward-%llu.key.pub", dir, i + 1);
		r = node_cli_write_public_json(path,
					       json_pack("{s:s, s:i, s:s}", "chatham",
							 "steward-public-key", "version", 1,
							 "steward_pk", node_cli_hex32(hex, pk)),
					       flags);
		if (r) {
			node_cli_file_error(cmd, "steward public key", path, r);
			goto fail_quiet;
		}
		c.n_stewards++;
	}
	if (sealed_k) {
		c.sealed.k = (uint8_t)sealed_k;
		c.sealed.t = (uint8_t)oprf_t;
		c.sealed.quota = (uint32_t)quota;
		c.sealed.window_days = (uint32_t)window;
		if ((r = deal_oprf(cmd, dir, flags, &c, files)))
			goto fail_quiet;
		json_object_set_new(res, "sealed",
				    json_pack("{s:i, s:i, s:i, s:I, s:i}", "k", (int)sealed_k,
					      "oprf_threshold", (int)oprf_t, "oprf_shares",
					      (int)c.sealed.n, "quota", (json_int_t)quota,
					      "window_days", (int)window));
	}
	r = proto_community_check(&c);
	if (r) {
		node_cli_errorf(cmd, "%s%s", proto_error_str(r),
				r == PROTO_E_ROSTER_STEWARD
					? " (a --steward-pk is invalid or repeated)"
					: "");
		goto fail_quiet;
	}
	proto_community_netkey_generate(netkey);
	snprintf(path, sizeof(path), "%s/network.key", dir);
	r = node_keyfile_save_netkey(path, netkey, flags);
	proto_wipe(netkey, sizeof(netkey));
	if (r) {
		node_cli_file_error(cmd, "network key", path, r);
		goto fail_quiet;
	}
	json_array_append_new(files, json_string(path));
	snprintf(path, sizeof(path), "%s/community", dir);
	r = node_keyfile_save_community(path, &c, flags);
	if (r) {
		node_cli_file_error(cmd, "community file", path, r);
		goto fail_quiet;
	}
	json_array_insert_new(files, 0, json_string(path));

	if (json) {
		json_t *pks = json_array();
		for (size_t i = 0; i < c.n_stewards; i++)
			json_array_append_new(pks, json_string(node_cli_hex32(hex, c.stewards[i])));
		json_object_set_new(res, "steward_pks", pks);
		json_object_set(res, "files", files);
		node_cli_print_json(res);
	} else {
		printf("community \"%s\"\ncommunity id: %s\nstewards: %zu, threshold %llu\n",
		       c.name, node_cli_hex32(hex, c.id), c.n_stewards, threshold);
		for (size_t i = 0; i < c.n_stewards; i++)
			printf("  steward %zu: %s\n", i, node_cli_hex32(hex, c.stewards[i]));
		if (sealed_k)
			printf("sealed sightings: k %llu, OPRF key shared %llu of %zu (oprf-share-J.key "
			       "goes to the node of steward J-1 above), quota %llu a day, window "
			       "%llu days\n",
			       sealed_k, oprf_t, c.sealed.n, quota, window);
		printf("files:\n");
		for (size_t i = 0; i < json_array_size(files); i++)
			printf("  %s\n", json_string_value(json_array_get(files, i)));
		printf("Next: each member runs `chatham keygen`; a steward builds the roster with "
		       "`chatham roster add --community %s/community --roster ROSTER ...`\n",
		       dir);
		json_decref(res);
	}
	json_decref(files);
	return NODE_CMD_EXIT_OK;
fail:
	node_cli_errorf(cmd, "%s", proto_error_str(r));
fail_quiet:
	json_decref(res);
	json_decref(files);
	return NODE_CMD_EXIT_FAIL;
}

/* ------------------------------------------------------------------ rotate-network-key */

static const char rotate_usage[] =
	"usage: chatham community rotate-network-key --roster FILE [--out FILE]\n"
	"           [--overlap DURATION] [--json]\n\n"
	"Make a roster draft that rotates the community's network key (the Noise PSK every\n"
	"member holds): a new random key, sealed to each member's transport key in the\n"
	"roster, so it is never written in clear and a member left out of the roster never\n"
	"receives it. Nodes that adopt the roster accept the old key besides the new one\n"
	"until the overlap ends, then only the new one, and rewrite their network key file.\n"
	"A complete roster FILE starts the next epoch's draft (--out another file); a draft\n"
	"is rotated in place. Remove departing members first: changing the members\n"
	"afterwards drops the new key. Then K stewards sign the draft (roster sign).\n\n"
	"  -r, --roster FILE        the roster to start from\n"
	"  -o, --out FILE           where to write the draft (default: FILE)\n"
	"  -w, --overlap DURATION   how long the old key stays accepted, from now: seconds,\n"
	"                           or a number with s, m, h or d (default 7d, 1s-366d)\n"
	"  -j, --json               print the result as JSON\n"
	"  -h, --help               this text\n";

/* "N", "Ns", "Nm", "Nh" or "Nd" in 1 s .. 366 days; milliseconds, or 0 when invalid. */
static uint64_t parse_duration_ms(const char *s)
{
	static const struct {
		char unit;
		uint64_t ms;
	} units[] = {{'s', 1000}, {'m', 60000}, {'h', 3600000}, {'d', 86400000}};
	unsigned long long v = 0;
	uint64_t mul = 1000;
	size_t n = strlen(s);
	char num[16];

	if (n == 0 || n >= sizeof(num))
		return 0;
	memcpy(num, s, n + 1);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (num[n - 1] == units[i].unit) {
			mul = units[i].ms;
			num[--n] = '\0';
		}
	}
	if (n == 0 || node_cli_parse_uint(num, 366ull * 86400, &v) || v == 0 ||
	    v * mul > 366ull * 86400000)
		return 0;
	return v * mul;
}

static int community_rotate(int argc, char **argv)
{
	static const struct option opts[] = {
		{"roster", required_argument, NULL, 'r'},  {"out", required_argument, NULL, 'o'},
		{"overlap", required_argument, NULL, 'w'}, {"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},	   {NULL, 0, NULL, 0},
	};
	const char *cmd = "community rotate-network-key", *in = NULL, *out = NULL;
	uint64_t overlap_ms = 7ull * 86400000, until;
	struct proto_roster *r = NULL;
	struct timespec ts;
	uint8_t key[32], id[8];
	char hex[17], when[32];
	bool json = false;
	time_t t;
	int opt, err, code = NODE_CMD_EXIT_FAIL;

	optind = 0;
	while ((opt = getopt_long(argc, argv, ":r:o:w:jh", opts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			in = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'w':
			overlap_ms = parse_duration_ms(optarg);
			if (!overlap_ms)
				return node_cli_usage_error(cmd,
							    "--overlap takes 1s-366d (a number "
							    "of seconds, or with s, m, h or d)");
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(rotate_usage, stdout);
			return NODE_CMD_EXIT_OK;
		default:
			return node_cli_option_error("community rotate-network-key", opt, argv);
		}
	}
	if (optind != argc)
		return node_cli_usage_error(cmd, "unexpected argument");
	if (!in)
		return node_cli_usage_error(cmd, "--roster FILE is required");
	if (!out)
		out = in;
	if (proto_crypto_init())
		return node_cli_errorf(cmd, "cannot initialise libsodium");
	err = node_keyfile_load_roster(in, &r);
	if (err)
		return node_cli_file_error(cmd, "roster", in, err);
	if (node_cli_roster_begin_edit(cmd, r, in, out))
		goto out;
	clock_gettime(CLOCK_REALTIME, &ts);
	until = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + overlap_ms;
	proto_community_netkey_generate(key);
	proto_community_netkey_id(key, id);
	err = proto_community_netkey_seal(r, key, until);
	proto_wipe(key, sizeof(key));
	if (err) {
		node_cli_errorf(cmd, "cannot seal the new key: %s", proto_error_str(err));
		goto out;
	}
	err = node_keyfile_save_roster(out, r, NODE_KEYFILE_OVERWRITE);
	if (err) {
		node_cli_errorf(cmd, "cannot write %s: %s", out, proto_error_str(err));
		goto out;
	}
	t = (time_t)(until / 1000);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	proto_hex_encode(hex, id, sizeof(id));
	if (json) {
		node_cli_print_json(json_pack("{s:s, s:I, s:s, s:I, s:s, s:I}", "roster", out,
					      "epoch", (json_int_t)r->epoch, "network_key_id", hex,
					      "members", (json_int_t)r->n_members, "old_key_until",
					      when, "old_key_until_ms", (json_int_t)until));
	} else {
		printf("%s: epoch %llu draft rotates the network key to %s, sealed to %zu "
		       "members; the old key is accepted until %s\n",
		       out, (unsigned long long)r->epoch, hex, r->n_members, when);
		printf("Next: %u steward(s) sign it (`chatham roster sign --roster %s "
		       "--previous ROSTER --steward-key FILE`), then it goes to the nodes as any "
		       "roster does\n",
		       r->threshold, out);
	}
	code = NODE_CMD_EXIT_OK;
out:
	proto_roster_free(r);
	return code;
}

int node_cmd_community(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(community_usage, argc < 2 ? stderr : stdout);
		fputs("\n", argc < 2 ? stderr : stdout);
		fputs(rotate_usage, argc < 2 ? stderr : stdout);
		fputs("\n       chatham community reshare-oprf deal|publish|accept ... "
		      "(chatham community reshare-oprf --help)\n",
		      argc < 2 ? stderr : stdout);
		return argc < 2 ? NODE_CMD_EXIT_USAGE : NODE_CMD_EXIT_OK;
	}
	if (!strcmp(argv[1], "init"))
		return community_init(argc - 1, argv + 1);
	if (!strcmp(argv[1], "rotate-network-key"))
		return community_rotate(argc - 1, argv + 1);
	if (!strcmp(argv[1], "reshare-oprf"))
		return node_cli_community_reshare(argc - 1, argv + 1);
	fprintf(stderr,
		"chatham: community: unknown subcommand '%s' (init, rotate-network-key or "
		"reshare-oprf)\n",
		argv[1]);
	return NODE_CMD_EXIT_USAGE;
}
