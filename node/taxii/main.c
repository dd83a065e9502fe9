/* SPDX-License-Identifier: MIT */
/*
 * chatham-taxii: a TAXII 2.1 server over a chatham node's SIEM export (chatham-taxii(8)).
 * It opens only the export environment, read-only, and holds no chatham key: it can run as
 * its own user with nothing but read access to the export directory and its TLS key.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "node/common/log.h"
#include "node/daemon/notify.h"
#include "node/taxii/config.h"
#include "node/taxii/index.h"
#include "node/taxii/server.h"
#include "proto/crypto.h"
#include "proto/error.h"
#include "store/export.h"

#define DEFAULT_CONFIG "/etc/chatham-taxii/chatham-taxii.conf"
#define PEM_MAX (1u << 20)

static const char usage[] =
	"usage: chatham-taxii [--config FILE] [--log-level LEVEL]\n"
	"       chatham-taxii check-config [--config FILE]\n"
	"       chatham-taxii new-secret\n\n"
	"Serve a chatham node's SIEM export as TAXII 2.1 over HTTPS (read-only).\n\n"
	"  -c, --config FILE      configuration (default: $CONFIGURATION_DIRECTORY/\n"
	"                         chatham-taxii.conf, else " DEFAULT_CONFIG ")\n"
	"  -l, --log-level LEVEL  err, warning, notice, info (default), debug\n"
	"  -h, --help             this text\n"
	"  -V, --version          the version\n\n"
	"check-config   parse the configuration and exit (0 valid, 78 invalid)\n"
	"new-secret     print a new random consumer secret and the secret_hash line for it\n";

/* Reads a PEM file: @name as given when absolute, else from $CREDENTIALS_DIRECTORY. */
static char *read_pem(const char *name)
{
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	char path[4096];
	struct stat st;
	FILE *f;
	char *buf = NULL;
	size_t n;

	if (name[0] != '/' && creds)
		snprintf(path, sizeof(path), "%s/%s", creds, name);
	else
		snprintf(path, sizeof(path), "%s", name);
	f = fopen(path, "re");
	if (!f) {
		log_err("taxii: cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) || st.st_size <= 0 || st.st_size > (off_t)PEM_MAX) {
		log_err("taxii: %s is empty, unreadable or larger than 1 MiB", path);
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf) {
		n = fread(buf, 1, (size_t)st.st_size, f);
		buf[n] = '\0';
	}
	fclose(f);
	return buf;
}

static void free_pem(char *p)
{
	if (p) {
		proto_wipe(p, strlen(p));
		free(p);
	}
}

static int new_secret(void)
{
	uint8_t raw[32], h[32];
	char hex[65], hhex[65];

	if (proto_crypto_init())
		return 1;
	proto_random(raw, sizeof(raw));
	proto_hex_encode(hex, raw, sizeof(raw));
	taxii_secret_hash(hex, 64, h);
	proto_hex_encode(hhex, h, sizeof(h));
	printf("secret: %s\n", hex);
	printf("# in chatham-taxii.conf, under [consumer NAME]:\nsecret_hash = %s\n", hhex);
	proto_wipe(raw, sizeof(raw));
	proto_wipe(hex, sizeof(hex));
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"log-level", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *config = NULL, *cmd = NULL;
	char cfgbuf[4096], err[300];
	struct taxii_config *cfg = NULL;
	struct store_export *x = NULL;
	struct taxii_index *idx = NULL;
	struct taxii_server *srv = NULL;
	char *cert = NULL, *key = NULL;
	int opt, r, level = NODE_LOG_INFO, code = 1, sig;
	sigset_t set;

	node_log_init(level, false);
	while ((opt = getopt_long(argc, argv, "c:l:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 'l':
			level = node_log_level_from_name(optarg);
			if (level < 0) {
				fprintf(stderr, "chatham-taxii: unknown log level %s\n", optarg);
				return 64;
			}
			node_log_set_level(level);
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case 'V':
			printf("chatham-taxii %s\n", CHATHAM_VERSION);
			return 0;
		default:
			fputs(usage, stderr);
			return 64;
		}
	}
	if (optind < argc)
		cmd = argv[optind++];
	if (cmd && !strcmp(cmd, "new-secret") && optind == argc)
		return new_secret();
	if ((cmd && strcmp(cmd, "check-config")) || optind != argc) {
		fputs(usage, stderr);
		return 64;
	}
	if (!config) {
		const char *dir = getenv("CONFIGURATION_DIRECTORY");
		if (dir)
			snprintf(cfgbuf, sizeof(cfgbuf), "%s/chatham-taxii.conf", dir);
		else
			snprintf(cfgbuf, sizeof(cfgbuf), "%s", DEFAULT_CONFIG);
		config = cfgbuf;
	}
	if (proto_crypto_init()) {
		log_err("taxii: cannot initialise libsodium");
		return 1;
	}
	r = taxii_config_load(config, &cfg, err, sizeof(err));
	if (r) {
		log_err("taxii: %s: %s", config, err[0] ? err : strerror(-r));
		return 78; /* EX_CONFIG: restarting will not help */
	}
	if (cmd) {
		printf("%s: valid, %zu consumer%s\n", config, cfg->n_consumers,
		       cfg->n_consumers == 1 ? "" : "s");
		taxii_config_free(cfg);
		return 0;
	}
	cert = read_pem(cfg->tls_cert);
	key = read_pem(cfg->tls_key);
	if (!cert || !key) {
		code = 78;
		goto out;
	}
	r = store_export_open_readonly(&x, cfg->export_dir);
	if (r) {
		log_err("taxii: cannot open the export in %s: %s", cfg->export_dir,
			proto_error_str(r));
		goto out;
	}
	idx = taxii_index_new(x);
	if (!idx) {
		log_err("taxii: out of memory");
		goto out;
	}
	while ((r = taxii_index_refresh(idx, 100000)) > 0)
		;
	if (r < 0) {
		log_err("taxii: reading the export failed: %s", proto_error_str(r));
		goto out;
	}

	/* Signals are taken synchronously below; the server's threads inherit the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	srv = taxii_server_start(cfg, x, idx, cert, key);
	free_pem(cert);
	free_pem(key);
	cert = key = NULL;
	if (!srv)
		goto out;
	x = NULL; /* the server's now */
	{
		size_t nv, ni;
		taxii_index_rdlock(idx);
		taxii_index_versions(idx, &nv);
		taxii_index_ind(idx, &ni);
		taxii_index_unlock(idx);
		idx = NULL;
		log_info("taxii: listening on %s port %u; %zu versions of %zu indicators",
			 cfg->listen, taxii_server_port(srv), nv, ni);
	}
	node_notify("READY=1");
	for (;;) {
		/* Between signals, once a second: has the node rebuilt the export? */
		const struct timespec tick = {.tv_sec = 1};
		sig = sigtimedwait(&set, NULL, &tick);
		if (sig < 0 && (errno == EAGAIN || errno == EINTR)) {
			taxii_server_check_export(srv);
			continue;
		}
		if (sig < 0)
			break;
		if (sig == SIGHUP) {
			log_info("taxii: SIGHUP ignored: restart to reload the configuration");
			continue;
		}
		break;
	}
	node_notify("STOPPING=1");
	code = 0;
out:
	taxii_server_stop(srv);
	taxii_index_free(idx);
	store_export_close(x);
	free_pem(cert);
	free_pem(key);
	taxii_config_free(cfg);
	return code;
}
