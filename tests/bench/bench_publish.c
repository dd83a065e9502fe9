/* SPDX-License-Identifier: MIT */
/*
 * bench_publish — batched publishes through the local API socket of a real node, durable
 * (every batch is answered only after its store commit), against the raw Ed25519 sign rate
 * of this machine measured in the same run.
 *
 * One command: it creates a throw-away community (one steward, one member) and a config in a
 * temporary directory, starts `chatham run` from $CHATHAM_BIN (or the first argument), waits
 * until the socket answers `status`, publishes, checks that the node stored every report,
 * stops the node with SIGTERM and removes the directory.
 *
 * usage: bench_publish [CHATHAM_BIN] [--reports N] [--batch N] [--connections N]
 * Defaults: 100000 reports in batches of 10000 over 2 connections. Target: >= 20000
 * reports/s. Build it without sanitizers (the release preset) for meaningful figures.
 */
#include <errno.h>
#include <stdbool.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchclock.h"
#include "node/cli/apiclient.h" /* node's API: jansson.h comes with it */
#include "node/common/keyfile.h"
#include "proto/community.h"
#include "proto/crypto.h"
#include "proto/crypto_test.h"
#include "proto/error.h"
#include "proto/keys.h"
#include "proto/roster.h"

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_publish: %s: %s\n", what, proto_error_str(err));
	exit(1);
}

/* A community with one steward and one member whose key the node uses. */
static void make_fixture(const char *dir)
{
	struct proto_community c = {.threshold = 1, .n_stewards = 1};
	struct proto_keys k;
	struct proto_roster *r = proto_roster_new();
	uint8_t ssk[64];
	char path[512];
	int err;

	if (!r)
		die("roster", -ENOMEM);
	proto_random(c.id, 32);
	snprintf(c.name, sizeof(c.name), "bench community");
	proto_keys_steward_generate(c.stewards[0], ssk);
	proto_keys_generate(&k);
	snprintf(path, sizeof(path), "%s/member.key", dir);
	if ((err = node_keyfile_save_member(path, &k, 0)))
		die(path, err);
	snprintf(path, sizeof(path), "%s/community", dir);
	if ((err = node_keyfile_save_community(path, &c, 0)))
		die(path, err);

	struct proto_member m = {.name = "Bench CERT"};
	memcpy(m.id, k.id_pk, 32);
	memcpy(m.transport_pk, k.tx_pk, 32);
	memcpy(m.ring_pk, k.ring_pk, 32);
	memcpy(r->community, c.id, 32);
	r->name = strdup(c.name);
	r->epoch = 1;
	r->threshold = 1;
	r->n_stewards = 1;
	r->stewards = malloc(32);
	if (!r->name || !r->stewards)
		die("roster", -ENOMEM);
	memcpy(r->stewards[0], c.stewards[0], 32);
	if ((err = proto_roster_add_member(r, &m)) ||
	    (err = proto_roster_sign_with(r, (const uint8_t(*)[32])c.stewards, 1, 0, ssk)))
		die("roster", err);
	snprintf(path, sizeof(path), "%s/roster", dir);
	if ((err = node_keyfile_save_roster(path, r, 0)))
		die(path, err);
	proto_roster_free(r);
	proto_keys_wipe(&k);
	proto_wipe(ssk, sizeof(ssk));

	snprintf(path, sizeof(path), "%s/chatham.conf", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		die(path, -errno);
	fprintf(f,
		"[node]\nstate_dir = %s/state\nexport_dir = %s/export\nkey_file = %s/member.key\n"
		"community_file = %s/community\nroster_file = %s/roster\n"
		"[api]\nsocket = %s/api.sock\n[store]\nmap_size_mb = 1024\n[log]\nlevel = notice\n",
		dir, dir, dir, dir, dir, dir);
	fclose(f);
}

/*
 * Ed25519 signatures (and verifications) per second on one core over report-sized
 * messages, for about @secs seconds each.
 */
static double raw_ed25519_rate(double secs, bool verify)
{
	uint8_t pk[32], sk[64], sig[64], msg[300];
	double t0, t;
	long n = 0;
	int bad = 0;

	proto_crypto_raw_ed25519_keypair(pk, sk);
	proto_random(msg, sizeof(msg));
	proto_crypto_raw_ed25519_sign(sig, msg, sizeof(msg), sk);
	t0 = bench_now_s();
	do {
		for (int i = 0; i < 256; i++, n++) {
			if (verify) {
				bad |= proto_crypto_raw_ed25519_verify(sig, msg, sizeof(msg), pk);
			} else {
				msg[0] = (uint8_t)n;
				proto_crypto_raw_ed25519_sign(sig, msg, sizeof(msg), sk);
			}
		}
		t = bench_now_s() - t0;
	} while (t < secs);
	proto_wipe(sk, sizeof(sk));
	if (bad)
		die("raw verify", -EINVAL);
	return (double)n / t;
}

static double cpu_s(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

struct worker {
	pthread_t th;
	const char *sock;
	long first, count, batch; /* report numbers [first, first + count) */
	long accepted, rejected;
	double max_batch_s;
	int err;
};

/* Distinct indicators: 10.a.b.c addresses and, above 2^24, domains. */
static int indicator(char *buf, size_t len, long i)
{
	if (i < (1L << 24))
		return snprintf(buf, len, "10.%ld.%ld.%ld", (i >> 16) & 255, (i >> 8) & 255,
				i & 255);
	return snprintf(buf, len, "n%ld.bench.example", i);
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct node_apiclient *c = NULL;
	size_t cap = (size_t)w->batch * 96 + 64;
	char *line = malloc(cap);

	w->err = line ? node_apiclient_connect(w->sock, 600000, &c) : -ENOMEM;
	for (long done = 0; !w->err && done < w->count;) {
		long n = w->count - done < w->batch ? w->count - done : w->batch;
		size_t o = (size_t)snprintf(line, cap, "{\"op\":\"publish\",\"reports\":[");
		for (long i = 0; i < n; i++) {
			char v[64];
			indicator(v, sizeof(v), w->first + done + i);
			o += (size_t)snprintf(line + o, cap - o,
					      "%s{\"value\":\"%s\",\"tlp\":\"GREEN\","
					      "\"confidence\":70,\"tags\":[\"bench\"]}",
					      i ? "," : "", v);
		}
		o += (size_t)snprintf(line + o, cap - o, "]}");
		/* node_apiclient_send() takes JSON; send the prepared line as raw JSON text. */
		json_error_t jerr;
		json_t *req = json_loadb(line, o, 0, &jerr), *resp = NULL;
		double t0 = bench_now_s();
		if (!req) {
			w->err = -EINVAL;
			break;
		}
		w->err = node_apiclient_call(c, req, &resp);
		json_decref(req);
		if (w->err)
			break;
		double dt = bench_now_s() - t0;
		if (dt > w->max_batch_s)
			w->max_batch_s = dt;
		if (!json_is_true(json_object_get(resp, "ok"))) {
			w->err = -EPROTO;
			json_decref(resp);
			break;
		}
		w->accepted += (long)json_integer_value(json_object_get(resp, "accepted"));
		w->rejected += (long)json_integer_value(json_object_get(resp, "rejected"));
		json_decref(resp);
		done += n;
	}
	node_apiclient_close(c);
	free(line);
	return NULL;
}

static json_t *status(const char *sock)
{
	struct node_apiclient *c;
	json_t *req = json_pack("{s:s}", "op", "status"), *resp = NULL;

	if (node_apiclient_connect(sock, 5000, &c) == 0) {
		if (node_apiclient_call(c, req, &resp))
			resp = NULL;
		node_apiclient_close(c);
	}
	json_decref(req);
	return resp;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"reports", required_argument, NULL, 'n'},
					     {"batch", required_argument, NULL, 'b'},
					     {"connections", required_argument, NULL, 'c'},
					     {NULL, 0, NULL, 0}};
	const char *bin = getenv("CHATHAM_BIN");
	long reports = 100000, batch = 10000, conns = 2;
	char dir[] = "/tmp/chatham-bench-XXXXXX", sock[600], conf[600], cmd[700];
	int c;

	while ((c = getopt_long(argc, argv, "n:b:c:", opts, NULL)) != -1) {
		long v = strtol(optarg, NULL, 10);
		if (v <= 0) {
			fprintf(stderr, "bench_publish: --%s must be positive\n",
				c == 'n'   ? "reports"
				: c == 'b' ? "batch"
					   : "connections");
			return 2;
		}
		if (c == 'n')
			reports = v;
		else if (c == 'b')
			batch = v > 10000 ? 10000 : v;
		else
			conns = v > 16 ? 16 : v;
	}
	if (optind < argc)
		bin = argv[optind];
	if (!bin || access(bin, X_OK)) {
		fprintf(stderr,
			"usage: bench_publish [CHATHAM_BIN] [--reports N] [--batch N] "
			"[--connections N]\n(or set CHATHAM_BIN to the chatham executable)\n");
		return 2;
	}
	if (proto_crypto_init() || !mkdtemp(dir)) {
		perror("bench_publish: setup");
		return 1;
	}
	make_fixture(dir);
	snprintf(sock, sizeof(sock), "%s/api.sock", dir);
	snprintf(conf, sizeof(conf), "%s/chatham.conf", dir);

	pid_t pid = fork();
	if (pid == 0) {
		execl(bin, bin, "run", "--config", conf, (char *)NULL);
		_exit(127);
	}
	json_t *st = NULL;
	for (int i = 0; i < 3000 && !st; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			fprintf(stderr, "bench_publish: the node exited during start-up\n");
			return 1;
		}
		st = status(sock);
		if (!st)
			usleep(10000);
	}
	json_decref(st);

	printf("chatham publish benchmark: %ld reports, batches of %ld, %ld connection(s), "
	       "%ld CPU(s)\n",
	       reports, batch, conns, sysconf(_SC_NPROCESSORS_ONLN));
	double sign_rate = raw_ed25519_rate(1.0, false);
	double verify_rate = raw_ed25519_rate(1.0, true);
	double self_cpu0 = cpu_s(RUSAGE_SELF);

	struct worker *w = calloc((size_t)conns, sizeof(*w));
	long per = reports / conns, first = 0;
	double t0 = bench_now_s();
	for (long i = 0; i < conns; i++) {
		w[i].sock = sock;
		w[i].batch = batch;
		w[i].first = first;
		w[i].count = i == conns - 1 ? reports - first : per;
		first += w[i].count;
		pthread_create(&w[i].th, NULL, work, &w[i]);
	}
	long accepted = 0, rejected = 0;
	double max_batch = 0;
	int err = 0;
	for (long i = 0; i < conns; i++) {
		pthread_join(w[i].th, NULL);
		accepted += w[i].accepted;
		rejected += w[i].rejected;
		if (w[i].max_batch_s > max_batch)
			max_batch = w[i].max_batch_s;
		if (w[i].err)
			err = w[i].err;
	}
	double elapsed = bench_now_s() - t0;
	double client_cpu = cpu_s(RUSAGE_SELF) - self_cpu0;
	st = status(sock);
	long stored =
		(long)json_integer_value(json_object_get(json_object_get(st, "store"), "reports"));
	json_decref(st);

	kill(pid, SIGTERM);
	int wst = 0;
	waitpid(pid, &wst, 0);
	double node_cpu = cpu_s(RUSAGE_CHILDREN); /* the node is our only child */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_publish: could not remove %s\n", dir);
	free(w);

	if (err) {
		fprintf(stderr, "bench_publish: publishing failed: %s\n", proto_error_str(err));
		return 1;
	}
	double rate = (double)accepted / elapsed;
	printf("raw Ed25519 on one core: %.0f signs/s, %.0f verifies/s\n", sign_rate, verify_rate);
	printf("published: %ld accepted, %ld rejected, %ld stored, in %.2f s\n", accepted, rejected,
	       stored, elapsed);
	printf("throughput: %.0f reports/s durable (target >= 20000: %s)\n", rate,
	       rate >= 20000 ? "met" : "NOT met");
	printf("ratio to the raw sign rate: %.2f; slowest batch round trip %.3f s\n",
	       rate / sign_rate, max_batch);
	/*
	 * Every published report is signed; admission then runs every check but the
	 * re-verification of that fresh signature (policy/admit.h, signed_here), so one sign is
	 * the crypto floor of the node's CPU per report. The verify rate is printed as the
	 * machine's reference for inbound reports, which are verified.
	 */
	printf("node CPU per report: %.1f us (sign floor %.1f us); client CPU per "
	       "report: %.1f us; CPUs busy on average: %.2f\n",
	       node_cpu * 1e6 / (double)reports, 1e6 / sign_rate,
	       client_cpu * 1e6 / (double)reports, (node_cpu + client_cpu) / elapsed);
	printf("node exit status after SIGTERM: %d\n",
	       WIFEXITED(wst) ? WEXITSTATUS(wst) : 128 + WTERMSIG(wst));
	return accepted == reports && stored == reports && WIFEXITED(wst) && !WEXITSTATUS(wst) ? 0
											       : 1;
}
