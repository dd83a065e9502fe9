/* SPDX-License-Identifier: MIT */
/*
 * `chatham publish --file FILE`: parse an indicator file (node/format/import.h) and publish what
 * it holds through the running node's API socket, in batches of up to NODE_REQ_BATCH_MAX
 * reports and BATCH_BYTES_MAX bytes per request (node/format/request.h): 10,000 reports with long
 * descriptions are over 16 MiB, the node's default line limit, so a batch is split by size
 * as well as by count. The file is read in chunks and parsed as it streams; only one batch
 * (and, for JSON formats, the file) is held in memory.
 *
 * Every item ends in exactly one count: new, duplicate (the node already had that report),
 * invalid (refused by the parser, by the checks here, or by the node, each reported with its
 * place in the file and the reason) or skipped (well-formed but unsupported, e.g. a STIX
 * pattern with AND). The TLP of an item is the stricter of the file's marking and --tlp, so
 * --tlp can raise a marking but never lower one, and an item with neither is invalid: there
 * is no default TLP (fail closed).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "node/cli/apiclient.h"
#include "node/cli/cli.h"
#include "node/cli/cmd.h"
#include "node/cli/util.h"
#include "node/format/import.h"
#include "node/format/request.h"
#include "proto/error.h"
#include "proto/report.h"

#define CHUNK (1u << 16)
#define TIMEOUT_MS 600000    /* a full batch on a busy node takes seconds, not minutes */
#define SHOW_INVALID_MAX 100 /* invalid items listed without --verbose */
#define OVERLOAD_RETRIES 6
#define WHERE_MAX 128
/*
 * Request bytes per batch: far below [api] max_line_bytes (16 MiB by default, at least
 * 4 KiB) and small enough that the node parses and signs one batch in well under a second.
 * A single report never exceeds it (its fields are bounded, PROTO_REPORT_MAX_BYTES).
 */
#define BATCH_BYTES_MAX (4u << 20)
#define BATCH_BYTES_OVERHEAD 64 /* {"op":"publish","reports":[...]} and the newline */

static const char import_usage[] =
	"usage: chatham publish --file FILE [--format FORMAT] [--tlp TLP] [OPTIONS]\n\n"
	"Publish every indicator in FILE ('-': standard input) through the running node, in\n"
	"batches. Invalid items are reported with their line or position and the reason;\n"
	"the valid ones are published. A progress bar is shown when stderr is a terminal.\n\n"
	"  -f, --file FILE          the file to import\n"
	"  -F, --format FORMAT      auto (default), plain, csv, stix21, misp\n"
	"                           plain: one value per line, type detected, '#' comments\n"
	"                           csv: header naming value[,type,tlp,confidence,valid_until,\n"
	"                                tags,description]; tags separated by ';'\n"
	"                           stix21: indicators with equality patterns (OR allowed)\n"
	"                           misp: event JSON; attributes with to_ids set\n"
	"  -T, --tlp TLP            CLEAR GREEN AMBER AMBER+STRICT RED: the TLP of items the\n"
	"                           file does not mark, and the minimum for those it does\n"
	"  -k, --kind KIND          indicator (default), sighting, false_positive, revoke\n"
	"  -C, --confidence N       0-100, for items the file gives none (node default 50)\n"
	"  -u, --valid-until TIME   expiry for items without one: RFC 3339 UTC or ms\n"
	"  -l, --ttl DURATION       expiry relative to publication: seconds or s/m/h/d suffix\n"
	"  -g, --tag TAG            add a tag to every item (repeatable)\n"
	"  -d, --description TEXT   description for items without one\n"
	"  -r, --recipient ID       recipient member id for AMBER/AMBER+STRICT/RED items\n"
	"                           (repeatable; such items are invalid without one)\n"
	"      --keep-text          also import STIX labels/description and MISP tags/comments\n"
	"                           (off: free text from other tools may name organisations)\n"
	"      --allow-names        publish items whose description or tags name another\n"
	"                           member (refused per item otherwise)\n"
	"      --include-non-ids    import MISP attributes whose to_ids is false\n"
	"      --allow-warninglisted  publish values on the node's warninglists all the same\n"
	"  -b, --batch-size N       reports per request, 1-10000 (default 10000); a request\n"
	"                           is also kept under 4 MiB, whatever the count\n"
	"  -n, --dry-run            parse and check only; publish nothing, no node needed\n"
	"  -s, --socket PATH        the node's API socket (default: $CHATHAM_SOCKET, else\n"
	"                           [api] socket of the config file)\n"
	"  -c, --config FILE        config file to read the socket path from\n"
	"  -j, --json               print the summary as JSON\n"
	"  -q, --quiet              no progress bar, no per-item messages\n"
	"  -v, --verbose            list every invalid item (default: the first 100)\n"
	"  -h, --help               this text\n\n"
	"Summary: \"published N new, M duplicate, K invalid, S skipped (unsupported)\".\n"
	"Exit status: 0 when no item was invalid, 65 when some were, 1 or another status of\n"
	"chatham(1) EXIT STATUS when the import stopped early, 2 on a usage error.\n";

struct opts {
	const char *file, *tlp_name, *socket, *config, *description;
	int format, tlp, kind, confidence;
	json_t *valid_until; /* integer ms or string, or NULL */
	long long ttl_s;
	json_t *tags, *recipients;
	size_t batch_size;
	bool keep_text, include_non_ids, dry_run, json, quiet, verbose, allow_names,
		allow_warninglisted;
};

struct imp {
	struct opts *o;
	const char *name; /* file name for messages */
	struct node_apiclient *client;
	json_t *batch;	    /* array of report objects */
	size_t batch_bytes; /* their encoded size, with separators */
	char (*where)[WHERE_MAX];
	uint64_t n_new, n_dup, n_invalid, n_skipped, n_valid_dry, shown;
	uint64_t n_no_tlp, n_no_rcpt; /* invalid for a missing option: listed once */
	int fatal;		      /* exit code once a fatal error stopped the import */
	/* progress */
	bool tty;
	uint64_t bytes, size;
	struct timespec start, last;
};

bool node_cli_has_file_option(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--"))
			break;
		if (!strcmp(a, "--file") || !strncmp(a, "--file=", 7) || !strncmp(a, "-f", 2))
			return true;
	}
	return false;
}

/* ------------------------------------------------------------------ progress */

static double elapsed(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void progress(struct imp *im, bool force)
{
	struct timespec now;
	uint64_t items = im->n_new + im->n_dup + im->n_invalid + im->n_skipped + im->n_valid_dry +
			 json_array_size(im->batch);
	double t;

	if (!im->tty)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!force && elapsed(&im->last, &now) < 0.1)
		return;
	im->last = now;
	t = elapsed(&im->start, &now);
	if (im->size) {
		unsigned pct = (unsigned)(im->bytes * 100 / im->size), fill = pct * 30 / 100;
		char bar[31];
		memset(bar, '#', fill);
		memset(bar + fill, '.', 30 - fill);
		bar[30] = '\0';
		fprintf(stderr, "\r[%s] %3u%%  %.1f/%.1f MiB  %" PRIu64 " items  %.0f/s ", bar, pct,
			(double)im->bytes / 1048576.0, (double)im->size / 1048576.0, items,
			t > 0 ? (double)items / t : 0.0);
	} else {
		fprintf(stderr, "\r%.1f MiB read  %" PRIu64 " items  %.0f/s ",
			(double)im->bytes / 1048576.0, items, t > 0 ? (double)items / t : 0.0);
	}
}

static void progress_clear(struct imp *im)
{
	if (im->tty)
		fprintf(stderr, "\r\033[K");
}

/* ------------------------------------------------------------------ items */

static void report_item(struct imp *im, const char *what, const char *where, const char *reason)
{
	if (im->o->quiet)
		return;
	if (!im->o->verbose && im->shown >= SHOW_INVALID_MAX) {
		im->shown++;
		return;
	}
	im->shown++;
	progress_clear(im);
	fprintf(stderr, "chatham: publish: %s: %s: %s: %s\n", im->name, where, what, reason);
}

static int invalid(struct imp *im, const char *where, const char *reason)
{
	im->n_invalid++;
	report_item(im, "invalid", where, reason);
	return 0;
}

/* Sends the batch and counts the results; a transport or request failure is fatal. */
static int flush(struct imp *im)
{
	json_t *req, *resp = NULL, *results;
	size_t n = json_array_size(im->batch);
	int err, attempt = 0;

	if (n == 0)
		return 0;
	if (im->o->dry_run) {
		im->n_valid_dry += n;
		json_array_clear(im->batch);
		im->batch_bytes = 0;
		return 0;
	}
	req = json_pack("{s:s, s:O}", "op", "publish", "reports", im->batch);
	if (!req)
		return im->fatal = node_cli_errorf("publish", "out of memory");
	for (;;) {
		err = node_apiclient_call(im->client, req, &resp);
		if (err) {
			json_decref(req);
			progress_clear(im);
			return im->fatal = node_cli_errorf("publish", "the node did not answer: %s",
							   proto_error_str(err));
		}
		if (json_is_true(json_object_get(resp, "ok")))
			break;
		const char *code =
			json_string_value(json_object_get(json_object_get(resp, "error"), "code"));
		if (code && !strcmp(code, "NODE_E_OVERLOAD") && attempt < OVERLOAD_RETRIES) {
			/* The node asked us to come back: wait 0.2 s, 0.4 s, ... then resend. */
			struct timespec ts = {0, 200000000L << attempt};
			while (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			nanosleep(&ts, NULL);
			attempt++;
			json_decref(resp);
			resp = NULL;
			continue;
		}
		json_decref(req);
		progress_clear(im);
		im->fatal = node_apiclient_print_error("publish", json_object_get(resp, "error"));
		json_decref(resp);
		return im->fatal;
	}
	json_decref(req);
	results = json_object_get(resp, "results");
	if (json_array_size(results) != n) {
		json_decref(resp);
		return im->fatal = node_cli_errorf(
			       "publish", "the node's answer has %zu results for %zu reports",
			       json_array_size(results), n);
	}
	for (size_t i = 0; i < n; i++) {
		json_t *r = json_array_get(results, i);
		if (json_is_true(json_object_get(r, "ok"))) {
			const char *res = json_string_value(json_object_get(r, "result"));
			if (res && !strcmp(res, "new"))
				im->n_new++;
			else
				im->n_dup++;
		} else {
			json_t *e = json_object_get(r, "error");
			const char *msg = json_string_value(json_object_get(e, "message"));
			const char *code = json_string_value(json_object_get(e, "code"));
			char reason[400];
			snprintf(reason, sizeof(reason), "%s (%s)", msg ? msg : "refused",
				 code ? code : "?");
			im->n_invalid++;
			report_item(im, "refused by the node", im->where[i], reason);
		}
	}
	json_decref(resp);
	json_array_clear(im->batch);
	im->batch_bytes = 0;
	return 0;
}

/* An item of the file as one report object of the publish request. */
static json_t *item_json(struct imp *im, const struct node_import_item *it, int tlp,
			 const char **why)
{
	const struct opts *o = im->o;
	json_t *j, *tags;
	size_t i;

	j = json_pack("{s:s, s:s, s:s}", "value", it->ind.value, "type",
		      proto_indicator_type_name(it->ind.type), "tlp", proto_tlp_name(tlp));
	if (!j)
		return NULL;
	if (o->kind != PROTO_KIND_INDICATOR)
		json_object_set_new(j, "kind", json_string(proto_report_kind_name(o->kind)));
	if (it->confidence >= 0)
		json_object_set_new(j, "confidence", json_integer(it->confidence));
	else if (o->confidence >= 0)
		json_object_set_new(j, "confidence", json_integer(o->confidence));
	if (it->valid_until_ms)
		json_object_set_new(j, "valid_until", json_integer((json_int_t)it->valid_until_ms));
	else if (o->valid_until)
		json_object_set(j, "valid_until", o->valid_until);
	else if (o->ttl_s)
		json_object_set_new(j, "ttl", json_integer(o->ttl_s));
	tags = json_array();
	for (i = 0; tags && i < it->n_tags; i++)
		json_array_append_new(tags, json_string(it->tags[i]));
	for (i = 0; tags && i < json_array_size(o->tags); i++) {
		const char *t = json_string_value(json_array_get(o->tags, i));
		bool dup = false;
		for (size_t k = 0; k < it->n_tags; k++)
			dup |= !strcmp(it->tags[k], t);
		if (!dup)
			json_array_append(tags, json_array_get(o->tags, i));
	}
	if (json_array_size(tags) > PROTO_REPORT_TAGS_MAX) {
		json_decref(tags);
		json_decref(j);
		*why = "more than 16 tags with those of --tag";
		return NULL;
	}
	if (json_array_size(tags))
		json_object_set(j, "tags", tags);
	json_decref(tags);
	if (it->description_len)
		json_object_set_new(j, "description",
				    json_stringn(it->description, it->description_len));
	else if (o->description)
		json_object_set_new(j, "description", json_string(o->description));
	if (tlp >= PROTO_TLP_AMBER)
		json_object_set(j, "recipients", o->recipients);
	if (o->allow_names)
		json_object_set_new(j, "allow_names", json_true());
	if (o->allow_warninglisted)
		json_object_set_new(j, "allow_warninglisted", json_true());
	return j;
}

static int on_event(void *ctx, const struct node_import_event *ev)
{
	struct imp *im = ctx;
	const struct node_import_item *it = ev->item;
	const char *why = NULL;
	json_t *j;
	int tlp;

	switch (ev->status) {
	case NODE_IMPORT_WARNING:
		if (!im->o->quiet) {
			progress_clear(im);
			fprintf(stderr, "chatham: publish: %s: %s: %s\n", im->name, ev->where,
				ev->reason);
		}
		return 0;
	case NODE_IMPORT_SKIPPED:
		im->n_skipped++;
		if (im->o->verbose) {
			progress_clear(im);
			fprintf(stderr, "chatham: publish: %s: %s: skipped: %s\n", im->name,
				ev->where, ev->reason);
		}
		return 0;
	case NODE_IMPORT_INVALID:
		return invalid(im, ev->where, ev->reason);
	case NODE_IMPORT_OK:
		break;
	}
	tlp = it->tlp > im->o->tlp ? it->tlp : im->o->tlp;
	/* These two have one cause, a missing option: say it once, count the rest. */
	if (tlp <= 0) {
		if (im->n_no_tlp++) {
			im->n_invalid++;
			return 0;
		}
		return invalid(im, ev->where,
			       "no TLP: the file does not mark this item; give --tlp (there is no "
			       "default)");
	}
	if (tlp >= PROTO_TLP_AMBER && json_array_size(im->o->recipients) == 0) {
		char reason[160];
		if (im->n_no_rcpt++) {
			im->n_invalid++;
			return 0;
		}
		snprintf(reason, sizeof(reason),
			 "TLP:%s is delivered only to named members: give --recipient MEMBER_ID",
			 proto_tlp_name(tlp));
		return invalid(im, ev->where, reason);
	}
	j = item_json(im, it, tlp, &why);
	if (!j) {
		if (why)
			return invalid(im, ev->where, why);
		return im->fatal = node_cli_errorf("publish", "out of memory");
	}
	/* Encoded as node_apiclient_call() will send it, plus the ',' before it. */
	size_t item_bytes = json_dumpb(j, NULL, 0, JSON_COMPACT) + 1;
	if (im->batch_bytes + item_bytes + BATCH_BYTES_OVERHEAD > BATCH_BYTES_MAX && flush(im)) {
		json_decref(j);
		return im->fatal;
	}
	snprintf(im->where[json_array_size(im->batch)], WHERE_MAX, "%s", ev->where);
	if (json_array_append_new(im->batch, j))
		return im->fatal = node_cli_errorf("publish", "out of memory");
	im->batch_bytes += item_bytes;
	if (json_array_size(im->batch) >= im->o->batch_size && flush(im))
		return im->fatal;
	progress(im, false);
	return 0;
}

/* ------------------------------------------------------------------ options */

enum { OPT_KEEP_TEXT = 1000, OPT_NON_IDS, OPT_ALLOW_NAMES, OPT_ALLOW_WARNINGLISTED };

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{"file", required_argument, NULL, 'f'},
		{"format", required_argument, NULL, 'F'},
		{"tlp", required_argument, NULL, 'T'},
		{"kind", required_argument, NULL, 'k'},
		{"confidence", required_argument, NULL, 'C'},
		{"valid-until", required_argument, NULL, 'u'},
		{"ttl", required_argument, NULL, 'l'},
		{"tag", required_argument, NULL, 'g'},
		{"description", required_argument, NULL, 'd'},
		{"recipient", required_argument, NULL, 'r'},
		{"keep-text", no_argument, NULL, OPT_KEEP_TEXT},
		{"allow-names", no_argument, NULL, OPT_ALLOW_NAMES},
		{"include-non-ids", no_argument, NULL, OPT_NON_IDS},
		{"allow-warninglisted", no_argument, NULL, OPT_ALLOW_WARNINGLISTED},
		{"batch-size", required_argument, NULL, 'b'},
		{"dry-run", no_argument, NULL, 'n'},
		{"socket", required_argument, NULL, 's'},
		{"config", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char *end;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":f:F:T:k:C:u:l:g:d:r:b:ns:c:jqvh", lopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'f':
			o->file = optarg;
			break;
		case 'F':
			o->format = node_import_format_from_name(optarg);
			if (o->format < 0)
				return node_cli_usage_error(
					"publish",
					"--format is one of auto, plain, csv, stix21, misp");
			break;
		case 'T':
			o->tlp = proto_tlp_from_name(optarg);
			if (o->tlp < 0)
				return node_cli_usage_error(
					"publish",
					"--tlp is one of CLEAR, GREEN, AMBER, AMBER+STRICT, "
					"RED");
			break;
		case 'k':
			o->kind = proto_report_kind_from_name(optarg);
			if (o->kind < 0)
				return node_cli_usage_error("publish",
							    "--kind is one of indicator, sighting, "
							    "false_positive, revoke");
			break;
		case 'C': {
			long v = strtol(optarg, &end, 10);
			if (*end || end == optarg || v < 0 || v > 100)
				return node_cli_usage_error("publish",
							    "--confidence must be 0-100");
			o->confidence = (int)v;
			break;
		}
		case 'u': {
			long long ms;
			uint64_t t;
			errno = 0;
			ms = strtoll(optarg, &end, 10);
			json_decref(o->valid_until);
			if (!errno && !*end && end != optarg && ms > 0)
				o->valid_until = json_integer(ms);
			else if (node_req_time_parse(optarg, &t) == 0)
				o->valid_until = json_string(optarg);
			else
				return node_cli_usage_error(
					"publish", "--valid-until takes an RFC 3339 UTC time "
						   "(2030-01-31T00:00:00Z) or milliseconds");
			break;
		}
		case 'l':
			if (node_req_ttl_parse(optarg, &o->ttl_s))
				return node_cli_usage_error(
					"publish",
					"--ttl takes seconds or a number with s/m/h/d, at "
					"most 10 years");
			break;
		case 'g':
			json_array_append_new(o->tags, json_string(optarg));
			break;
		case 'd':
			o->description = optarg;
			break;
		case 'r':
			json_array_append_new(o->recipients, json_string(optarg));
			break;
		case OPT_ALLOW_NAMES:
			o->allow_names = true;
			break;
		case OPT_KEEP_TEXT:
			o->keep_text = true;
			break;
		case OPT_NON_IDS:
			o->include_non_ids = true;
			break;
		case OPT_ALLOW_WARNINGLISTED:
			o->allow_warninglisted = true;
			break;
		case 'b': {
			long v = strtol(optarg, &end, 10);
			if (*end || end == optarg || v < 1 || v > NODE_REQ_BATCH_MAX)
				return node_cli_usage_error("publish",
							    "--batch-size takes 1-10000");
			o->batch_size = (size_t)v;
			break;
		}
		case 'n':
			o->dry_run = true;
			break;
		case 's':
			o->socket = optarg;
			break;
		case 'c':
			o->config = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			fputs(import_usage, stdout);
			return NODE_CMD_EXIT_OK;
		default:
			return node_cli_option_error("publish", c, argv);
		}
	}
	if (optind != argc)
		return node_cli_usage_error(
			"publish", "with --file, give no indicator value on the command line");
	if (!o->file)
		return node_cli_usage_error("publish", "--file FILE is required");
	if (o->valid_until && o->ttl_s)
		return node_cli_usage_error("publish",
					    "give either --valid-until or --ttl, not both");
	if (json_array_size(o->tags) > PROTO_REPORT_TAGS_MAX)
		return node_cli_usage_error("publish", "at most 16 --tag");
	if (o->format == NODE_IMPORT_PLAIN && o->tlp <= 0)
		return node_cli_usage_error(
			"publish", "--tlp is required: plain lists carry no TLP and there is no "
				   "default (CLEAR, GREEN, AMBER, AMBER+STRICT, RED)");
	return -1;
}

/* ------------------------------------------------------------------ command */

int node_cmd_publish_file(int argc, char **argv)
{
	struct opts o = {.format = NODE_IMPORT_AUTO,
			 .tlp = 0,
			 .kind = PROTO_KIND_INDICATOR,
			 .confidence = -1,
			 .batch_size = NODE_REQ_BATCH_MAX};
	struct imp im = {.o = &o};
	struct node_import_config icfg = {0};
	struct node_import *parser = NULL;
	char path[4096], *buf = NULL;
	FILE *f = NULL;
	struct stat st;
	int code = NODE_CMD_EXIT_FAIL, r;

	o.tags = json_array();
	o.recipients = json_array();
	if (!o.tags || !o.recipients) {
		code = node_cli_errorf("publish", "out of memory");
		goto out;
	}
	r = parse_opts(argc, argv, &o);
	if (r >= 0) {
		code = r;
		goto out;
	}
	im.name = strcmp(o.file, "-") ? o.file : "(stdin)";
	f = strcmp(o.file, "-") ? fopen(o.file, "rbe") : stdin;
	if (!f) {
		code = node_cli_errorf("publish", "cannot open %s: %s", o.file, strerror(errno));
		goto out;
	}
	if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode))
		im.size = (uint64_t)st.st_size;
	im.tty = !o.quiet && isatty(STDERR_FILENO);
	clock_gettime(CLOCK_MONOTONIC, &im.start);
	im.last = im.start;

	im.batch = json_array();
	im.where = calloc(o.batch_size, WHERE_MAX);
	buf = malloc(CHUNK);
	icfg.format = o.format;
	icfg.keep_text = o.keep_text;
	icfg.include_non_ids = o.include_non_ids;
	icfg.now_ms = (uint64_t)time(NULL) * 1000;
	parser = node_import_new(&icfg, on_event, &im);
	if (!im.batch || !im.where || !buf || !parser) {
		code = node_cli_errorf("publish", "out of memory");
		goto out;
	}
	if (!o.dry_run) {
		node_apiclient_socket_path(o.socket, o.config, path, sizeof(path));
		r = node_apiclient_connect(path, TIMEOUT_MS, &im.client);
		if (r) {
			code = node_cli_errorf(
				"publish", "cannot connect to %s: %s%s", path, proto_error_str(r),
				r == -ENOENT || r == -ECONNREFUSED
					? " (is the node running? see --socket; --dry-run "
					  "checks the file without a node)"
					: "");
			code = NODE_CMD_EXIT_UNAVAILABLE;
			goto out;
		}
	}

	r = 0;
	while (!r) {
		size_t n = fread(buf, 1, CHUNK, f);
		if (n == 0) {
			if (ferror(f)) {
				progress_clear(&im);
				code = node_cli_errorf("publish", "reading %s: %s", im.name,
						       strerror(errno));
				goto out;
			}
			r = node_import_finish(parser);
			break;
		}
		im.bytes += n;
		r = node_import_feed(parser, buf, n);
		progress(&im, false);
	}
	if (!r && !im.fatal)
		r = flush(&im);
	progress_clear(&im);
	if (im.fatal) {
		code = im.fatal;
		goto summary;
	}
	if (r == NODE_E_IMPORT) {
		code = node_cli_errorf("publish", "%s: %s", im.name, node_import_error(parser));
		goto summary;
	}
	if (r) {
		code = node_cli_errorf("publish", "%s: %s", im.name, proto_error_str(r));
		goto summary;
	}
	code = im.n_invalid ? NODE_CMD_EXIT_DATAERR : NODE_CMD_EXIT_OK;
summary:
	if (!o.quiet && im.n_no_tlp > 1)
		fprintf(stderr, "chatham: publish: %" PRIu64 " items in all have no TLP (--tlp)\n",
			im.n_no_tlp);
	if (!o.quiet && im.n_no_rcpt > 1)
		fprintf(stderr,
			"chatham: publish: %" PRIu64 " AMBER/RED items in all have no recipient "
			"(--recipient)\n",
			im.n_no_rcpt);
	if (!o.quiet && !o.verbose && im.shown > SHOW_INVALID_MAX)
		fprintf(stderr,
			"chatham: publish: %" PRIu64 " more invalid items not listed "
			"(--verbose lists all)\n",
			im.shown - SHOW_INVALID_MAX);
	if (o.json) {
		json_t *s = json_pack(
			"{s:s, s:b, s:I, s:I, s:I, s:I, s:b}", "format",
			node_import_format_name(node_import_format_of(parser)), "dry_run",
			o.dry_run, "new", (json_int_t)im.n_new, "duplicate", (json_int_t)im.n_dup,
			"invalid", (json_int_t)im.n_invalid, "skipped", (json_int_t)im.n_skipped,
			"stopped_early", code != NODE_CMD_EXIT_OK && code != NODE_CMD_EXIT_DATAERR);
		if (s && o.dry_run)
			json_object_set_new(s, "valid", json_integer((json_int_t)im.n_valid_dry));
		char *t = s ? json_dumps(s, JSON_COMPACT) : NULL;
		if (t)
			puts(t);
		free(t);
		json_decref(s);
	} else if (o.dry_run) {
		printf("dry run (%s): %" PRIu64 " valid, %" PRIu64 " invalid, %" PRIu64
		       " skipped (unsupported); nothing published\n",
		       node_import_format_name(node_import_format_of(parser)), im.n_valid_dry,
		       im.n_invalid, im.n_skipped);
	} else {
		printf("published %" PRIu64 " new, %" PRIu64 " duplicate, %" PRIu64
		       " invalid, %" PRIu64 " skipped (unsupported)%s\n",
		       im.n_new, im.n_dup, im.n_invalid, im.n_skipped,
		       code != NODE_CMD_EXIT_OK && code != NODE_CMD_EXIT_DATAERR
			       ? "; stopped early, the rest of the file was not published"
			       : "");
	}
out:
	if (f && f != stdin)
		fclose(f);
	node_import_free(parser);
	node_apiclient_close(im.client);
	json_decref(im.batch);
	free(im.where);
	free(buf);
	json_decref(o.tags);
	json_decref(o.recipients);
	json_decref(o.valid_until);
	return code;
}
