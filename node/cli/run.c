/* SPDX-License-Identifier: MIT */
/* `chatham run` and `chatham check-config`. */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/cli/cmd.h"
#include "node/cli/util.h"
#include "node/format/config.h"
#include "node/daemon/daemon.h"
#include "node/common/keyfile.h"
#include "node/common/tagvocab.h"
#include "node/common/unixsock.h"
#include "node/common/warnlists.h"
#include "node/format/addr.h"
#include "proto/community.h"
#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/keys.h"
#include "proto/roster.h"
#include "store/store.h"

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

	while ((c = getopt_long(argc, argv, ":c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'h':
			fputs(run_usage, stdout);
			return NODE_CMD_EXIT_OK;
		default:
			return node_cli_option_error("run", c, argv);
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
	"usage: chatham check-config [--syntax-only] [--effective] [FILE]\n"
	"       chatham check-config --example\n\n"
	"Parse FILE (default: $CONFIGURATION_DIRECTORY/chatham.conf, else\n"
	"/etc/chatham/chatham.conf) exactly as `chatham run` does and print every problem as\n"
	"FILE:LINE: message; then make every check `chatham run` makes before it serves: key,\n"
	"community and network key files (format, permissions), the roster file under the\n"
	"succession rule and this node's membership, the state, export and socket\n"
	"directories, the overlay's listen addresses, the warninglists, the tag vocabulary.\n"
	"Exit status 0 (\"ok\") when the node will start, 78 when it will not.\n\n"
	"  -s, --syntax-only  only parse the file (no files, directories or addresses are\n"
	"                     checked): for a file meant for another machine\n"
	"  -e, --effective    also print every option's effective value\n"
	"      --example      print a complete example configuration, every option commented\n"
	"  -h, --help         this text\n";

struct check_ctx {
	const char *path;
	unsigned n;
};

static void problem(struct check_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void problem(struct check_ctx *c, const char *fmt, ...)
{
	va_list ap;

	c->n++;
	fprintf(stderr, "%s: ", c->path);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * A directory the node creates if missing: it or its parent must be a writable directory.
 * A parent equal to @made_first (a directory the node creates before this one, already
 * checked) counts as present.
 */
static void check_dir(struct check_ctx *c, const char *opt, const char *dir, const char *made_first)
{
	char parent[4096];
	struct stat st;
	char *slash;

	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			problem(c, "%s %s is not a directory", opt, dir);
		else if (access(dir, W_OK | X_OK) != 0)
			problem(c, "%s %s is not writable by this user", opt, dir);
		return;
	}
	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (slash)
		*(slash == parent ? slash + 1 : slash) = '\0';
	if (made_first && strcmp(parent, made_first) == 0 && stat(parent, &st) != 0)
		return;
	if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode))
		problem(c, "%s %s does not exist, nor does its parent %s", opt, dir, parent);
	else if (access(parent, W_OK | X_OK) != 0)
		problem(c, "%s %s does not exist and %s is not writable by this user", opt, dir,
			parent);
}

/* Whether a node answers on the API socket @path (then its resources are in use). */
static bool node_running(const char *path)
{
	int fd = node_unixsock_connect(path);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/*
 * What `chatham run` will do to a store an older release wrote (store_upgrade_due()), said
 * as a note: the check itself opened it read-only and changed nothing.
 */
static void note_upgrade(struct check_ctx *c, const char *dir, struct store *s)
{
	uint32_t schema;
	unsigned due = store_upgrade_due(s, &schema);

	if (!due)
		return;
	if (due & (STORE_UPGRADE_MIGRATE | STORE_UPGRADE_SUMS))
		fprintf(stderr,
			"%s: note: state_dir %s: the store was written by an older release (schema "
			"%u); `chatham run` will upgrade it to schema %u at start, before it serves "
			"(%s%s%s: seconds for a million reports); this check left it as it is\n",
			c->path, dir, schema, STORE_SCHEMA_VERSION,
			due & STORE_UPGRADE_MIGRATE ? "moving its reports to schema 2" : "",
			(due & STORE_UPGRADE_MIGRATE) && (due & STORE_UPGRADE_SUMS) ? ", then "
										    : "",
			due & STORE_UPGRADE_SUMS ? "building the range sums of schema 3" : "");
	else
		fprintf(stderr,
			"%s: note: state_dir %s: `chatham run` will add to the store the databases "
			"this release keeps in it, at start; this check left it as it is\n",
			c->path, dir);
}

/*
 * The rosters a stopped node's store @s holds, as `chatham run` reads them at start: every
 * epoch it holds must read and decode (run refuses to start otherwise), and the newest 64
 * go to @held (the rule looks at no older one). 0, or an error already told as a problem.
 */
static int read_held(struct check_ctx *c, const char *dir, struct store *s,
		     struct proto_roster **held, size_t *n_held)
{
	uint64_t latest = 0, first;
	int err = store_roster_latest(s, NULL, &latest);

	if (err == STORE_E_NOT_FOUND)
		return 0;
	if (err) {
		problem(c, "state_dir %s: cannot read the rosters the store holds: %s", dir,
			proto_error_str(err));
		return err;
	}
	first = latest > 64 ? latest - 63 : 1;
	for (uint64_t e = 1; e <= latest; e++) {
		struct proto_roster *r = NULL;
		uint8_t *bytes;
		size_t len;

		err = store_roster_get(s, NULL, e, &bytes, &len);
		if (err == STORE_E_NOT_FOUND)
			continue;
		if (!err) {
			err = proto_roster_decode(&r, bytes, len);
			free(bytes);
		}
		if (err) {
			problem(c,
				"state_dir %s: the store holds roster epoch %llu, and it cannot be "
				"read: %s (`chatham run` would refuse to start; restore the store "
				"from a backup)",
				dir, (unsigned long long)e, proto_error_str(err));
			return err;
		}
		if (e >= first)
			held[(*n_held)++] = r;
		else
			proto_roster_free(r);
	}
	return 0;
}

/*
 * The roster file under the succession rule, as `chatham run` judges it: against the
 * rosters its store holds, or against the community file when there is no store yet.
 */
static void check_roster(struct check_ctx *c, const struct node_config *cfg,
			 const struct proto_community *comm, const struct proto_keys *keys,
			 bool running)
{
	const char *path = node_config_str(cfg, NODE_ROSTER_FILE);
	const char *dir = node_config_str(cfg, NODE_STATE_DIR);
	struct proto_roster *held[64] = {NULL}, *r = NULL;
	const struct proto_roster *newest = NULL;
	struct store *s = NULL;
	size_t n_held = 0;
	char data[4200], which[4300];
	int err, file_err;

	file_err = node_keyfile_load_roster(path, &r);
	snprintf(data, sizeof(data), "%s/data.mdb", dir);
	/* A node with held rosters starts without the file; a new one cannot. */
	if (file_err && (file_err != -ENOENT || access(data, F_OK) != 0)) {
		problem(c, "roster_file %s: %s", path, proto_error_str(file_err));
		return;
	}
	if (access(data, F_OK) == 0 && !running) {
		/* Read-only: a check changes nothing, not even a store an older release wrote. */
		struct store_config sc = {.dir = dir, .read_only = true};

		err = store_open(&s, &sc);
		if (err) {
			problem(c, "state_dir %s: cannot open the store: %s", dir,
				proto_error_str(err));
			goto out;
		}
		note_upgrade(c, dir, s);
		if (read_held(c, dir, s, held, &n_held))
			goto out;
		if (file_err && !n_held) {
			problem(c, "roster_file %s: %s, and the store holds no roster", path,
				proto_error_str(file_err));
			goto out;
		}
	} else if (running) {
		fprintf(stderr,
			"%s: note: a node is running with this configuration; the roster file is "
			"judged against the community file only\n",
			c->path);
	}
	/*
	 * The roster `run` will start from: the file when the rule accepts it, else the newest
	 * held (no file, or one the store already has or has newer); run refuses one of
	 * another community or without this node's key.
	 */
	if (!file_err) {
		err = proto_community_roster_judge(comm, (const struct proto_roster *const *)held,
						   n_held, r);
		if (err && err != PROTO_E_ROSTER_KNOWN && err != PROTO_E_ROSTER_EPOCH) {
			problem(c, "roster_file %s (epoch %llu) is not accepted: %s", path,
				(unsigned long long)r->epoch, proto_error_str(err));
			goto out;
		}
		newest = !err || !n_held ? r : held[n_held - 1];
	} else if (n_held) {
		newest = held[n_held - 1];
	}
	if (newest && newest == r)
		snprintf(which, sizeof(which), "roster_file %s", path);
	else if (newest)
		snprintf(which, sizeof(which),
			 "state_dir %s: the newest roster the store holds (`chatham run` would "
			 "refuse to start)",
			 dir);
	if (newest && memcmp(newest->community, comm->id, 32))
		problem(c, "%s: epoch %llu is for another community than community_file", which,
			(unsigned long long)newest->epoch);
	else if (newest && proto_roster_find_member(newest, keys->id_pk) < 0)
		problem(c, "%s: this node's key (key_file) is not a member of epoch %llu", which,
			(unsigned long long)newest->epoch);
out:
	for (size_t i = 0; i < n_held; i++)
		proto_roster_free(held[i]);
	proto_roster_free(r);
	store_close(s);
}

static void check_listen(struct check_ctx *c, const struct node_config *cfg)
{
	size_t n = 0;
	const char *const *addrs = node_config_addrs(cfg, NODE_OVERLAY_LISTEN, &n);

	for (size_t i = 0; i < n; i++) {
		struct sockaddr_storage ss;
		int one = 1, fd;

		if (node_addr_parse(addrs[i], &ss))
			continue; /* the config parser reported it */
		fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&ss,
			 ss.ss_family == AF_INET ? sizeof(struct sockaddr_in)
						 : sizeof(struct sockaddr_in6)) != 0)
			problem(c, "[overlay] listen %s cannot be bound: %s", addrs[i],
				strerror(errno));
		close(fd);
	}
}

/*
 * Every check `chatham run` makes before it serves, in its order, so that "ok" means the
 * node will start: key, community and network key files (format, permissions), the roster
 * under the succession rule, the state and export directories, the API socket's directory
 * (and that no other node listens there), the overlay's listen addresses, the warninglists,
 * the tag vocabulary.
 * When a node already runs with this file (its API socket answers), the resources it holds
 * (store, socket, listen addresses) are not counted as problems.
 */
static void check_startup(struct check_ctx *c, const struct node_config *cfg)
{
	const char *sock = node_config_str(cfg, NODE_API_SOCKET);
	bool running = node_running(sock);
	struct proto_community comm;
	struct proto_keys keys;
	uint8_t netkey[32];
	char sockdir[4096], *slash;
	int err;

	memset(&keys, 0, sizeof(keys));
	err = node_keyfile_load_member(node_config_str(cfg, NODE_KEY_FILE), &keys);
	if (err)
		problem(c, "key_file %s: %s", node_config_str(cfg, NODE_KEY_FILE),
			proto_error_str(err));
	err = node_keyfile_load_community(node_config_str(cfg, NODE_COMMUNITY_FILE), &comm);
	if (err)
		problem(c, "community_file %s: %s", node_config_str(cfg, NODE_COMMUNITY_FILE),
			proto_error_str(err));
	else
		check_roster(c, cfg, &comm, &keys, running);
	proto_wipe(&keys, sizeof(keys));
	err = node_keyfile_load_netkey(node_config_str(cfg, NODE_NETWORK_KEY_FILE), netkey);
	proto_wipe(netkey, sizeof(netkey));
	if (err == -ENOENT)
		fprintf(stderr,
			"%s: note: network_key_file %s does not exist: the node will run with the "
			"overlay off\n",
			c->path, node_config_str(cfg, NODE_NETWORK_KEY_FILE));
	else if (err)
		problem(c, "network_key_file %s: %s", node_config_str(cfg, NODE_NETWORK_KEY_FILE),
			proto_error_str(err));
	else if (!running)
		check_listen(c, cfg);
	/* The store makes the state directory before the exporter makes its own. */
	check_dir(c, "state_dir", node_config_str(cfg, NODE_STATE_DIR), NULL);
	check_dir(c, "export_dir", node_config_str(cfg, NODE_EXPORT_DIR),
		  node_config_str(cfg, NODE_STATE_DIR));
	snprintf(sockdir, sizeof(sockdir), "%s", sock);
	slash = strrchr(sockdir, '/');
	if (slash)
		*(slash == sockdir ? slash + 1 : slash) = '\0';
	if (running)
		fprintf(stderr,
			"%s: note: a node answers on %s (running with this configuration?)\n",
			c->path, sock);
	else
		check_dir(c, "[api] socket's directory", sockdir, NULL);
}

static void check_report(void *ctx, unsigned line, const char *msg)
{
	struct check_ctx *c = ctx;

	c->n++;
	if (line)
		fprintf(stderr, "%s:%u: %s\n", c->path, line, msg);
	else
		fprintf(stderr, "%s: %s\n", c->path, msg);
}

/* The warninglists are read at start like the file itself: a bad line stops the node. */
static void check_warnlists(struct check_ctx *c, const struct node_config *cfg)
{
	const char *wdir = node_config_str(cfg, NODE_POLICY_WARNINGLIST_DIR);
	struct node_warnlists *wl = NULL;
	char why[512];
	int err;

	err = node_warnlists_load(wdir, (unsigned)node_config_int(cfg, NODE_POLICY_MIN_PREFIX_IPV4),
				  (unsigned)node_config_int(cfg, NODE_POLICY_MIN_PREFIX_IPV6), &wl,
				  why, sizeof(why));
	if (err)
		problem(c, "[policy] warninglist_dir: %s", why[0] ? why : proto_error_str(err));
	else if (wl->dir_missing)
		fprintf(stderr,
			"%s: warning: [policy] warninglist_dir %s does not exist; only the minimum "
			"prefix lengths guard publishing and the blocklist exports\n",
			c->path, wdir);
	node_warnlists_unref(wl);
}

/* So is the tag vocabulary: a bad line or a missing listed file stops the node. */
static void check_tagvocab(struct check_ctx *c, const struct node_config *cfg)
{
	const char *dir = node_config_str(cfg, NODE_POLICY_TAG_VOCAB_DIR);
	const char *const *files;
	struct node_tagvocab *t = NULL;
	size_t n;
	char why[512];
	int err;

	files = node_config_paths(cfg, NODE_POLICY_TAG_VOCAB_FILES, &n);
	err = node_tagvocab_load(dir, files, n, &t, why, sizeof(why));
	if (err)
		problem(c, "[policy] tag vocabulary: %s", why[0] ? why : proto_error_str(err));
	else if (t->dir_missing)
		fprintf(stderr,
			"%s: warning: [policy] tag_vocab_dir %s does not exist; only "
			"tag_vocab_files leave unchanged, every other tag is redacted as text\n",
			c->path, dir);
	node_tagvocab_unref(t);
}

int node_cmd_check_config(int argc, char **argv)
{
	static const struct option opts[] = {{"effective", no_argument, NULL, 'e'},
					     {"syntax-only", no_argument, NULL, 's'},
					     {"example", no_argument, NULL, 'x'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	struct node_config *cfg = NULL;
	bool effective = false, example = false, syntax_only = false;
	char def[4096];
	int c, err;

	while ((c = getopt_long(argc, argv, ":seh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			syntax_only = true;
			break;
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
			return node_cli_option_error("check-config", c, argv);
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
		return err == -ENOMEM ? NODE_CMD_EXIT_FAIL : NODE_CMD_EXIT_CONFIG;
	}
	if (!syntax_only) {
		if (proto_crypto_init()) {
			fprintf(stderr, "chatham: check-config: cannot initialise libsodium\n");
			node_config_free(cfg);
			return NODE_CMD_EXIT_FAIL;
		}
		check_startup(&cc, cfg);
		check_warnlists(&cc, cfg);
		check_tagvocab(&cc, cfg);
		if (cc.n) {
			fprintf(stderr, "%s: %u problem%s: the node would not start\n", cc.path,
				cc.n, cc.n == 1 ? "" : "s");
			node_config_free(cfg);
			return NODE_CMD_EXIT_CONFIG;
		}
	}
	printf("%s: ok\n", cc.path);
	if (effective)
		node_config_write_effective(cfg, stdout);
	node_config_free(cfg);
	return NODE_CMD_EXIT_OK;
}
