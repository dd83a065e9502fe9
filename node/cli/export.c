/* SPDX-License-Identifier: MIT */
/*
 * `chatham export`: render the SIEM export environment (store/export.h) as JSON lines, CSV,
 * STIX 2.1, a MISP feed or a plain list. It opens only the export environment, read-only,
 * so it can run as the SIEM's user with nothing but read access to that directory and
 * never touches the node's store or the node itself.
 *
 * The export feed holds one document per change, so an indicator that changed three times
 * has three documents. JSON lines keeps them all (a change log); every other format is a
 * snapshot of the newest state of each indicator in the range, found in two passes over
 * one fixed range (node/format/export_fmt.h, node_export_latest): the first records each
 * indicator's newest sequence and the range's end, the second renders up to that end, so a
 * node writing meanwhile changes nothing in the output.
 *
 * Output files are written to a temporary file in the destination's directory (mode 0640:
 * exports can hold TLP:AMBER data) and renamed into place, so a consumer polling the file
 * never reads half an export.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/cli/cli.h"
#include "node/cli/cmd.h"
#include "node/cli/util.h"
#include "node/format/config.h"
#include "node/format/export_fmt.h"
#include "node/format/misp_feed.h"
#include "node/format/notice_fmt.h"
#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/indicator.h"
#include "proto/report.h"
#include "proto/roster.h"
#include "store/export.h"

static const char export_usage[] =
	"usage: chatham export --format FORMAT [--feed indicators|notices]\n"
	"           [--export-dir DIR | --config FILE] [--since SEQ | --state FILE]\n"
	"           [--type TYPE] [--out PATH] [--quiet]\n\n"
	"Write the node's SIEM export (stripped indicators, no member names) in FORMAT. Reads\n"
	"only the export directory, read-only; the node need not run.\n\n"
	"  -F, --format FORMAT   jsonl      every stored ECS document, one per line\n"
	"                        csv        one row per indicator (RFC 4180)\n"
	"                        stix21     a STIX 2.1 bundle: active indicators, retired\n"
	"                                   ones as revoked versions\n"
	"                        misp-feed  a MISP feed directory (needs --out DIR), kept up\n"
	"                                   to date: one event per TLP and first-seen day,\n"
	"                                   rewritten when its indicators change\n"
	"                        plain      the values of the active indicators (blocklist)\n"
	"  -f, --feed FEED       indicators (default) or notices: the notices this node\n"
	"                        received, as --format jsonl (one document each), stix21\n"
	"                        (incident/vulnerability + note) or misp (events); its own\n"
	"                        sequence for --since and --state\n"
	"  -e, --export-dir DIR  the export directory (default: [node] export_dir of the config)\n"
	"  -c, --config FILE     config file to read export_dir from (default:\n"
	"                        $CONFIGURATION_DIRECTORY/chatham.conf, else\n"
	"                        /etc/chatham/chatham.conf)\n"
	"  -S, --since SEQ       only changes after feed sequence SEQ (incremental export; the\n"
	"                        summary names the SEQ for the next run)\n"
	"  -t, --type TYPE       only this indicator type (ipv4 ipv6 domain url email md5 sha1\n"
	"                        sha256 sha512)\n"
	"  -o, --out PATH        file to write (default: standard output); a directory for\n"
	"                        misp-feed (created if missing)\n"
	"  -s, --state FILE      the cursor: read --since from FILE when it exists, and write\n"
	"                        the next one there after a successful export, as\n"
	"                        {\"env_id\": HEX, \"seq\": N} (chatham-siem-pull's format); a\n"
	"                        rebuilt export (another env_id) starts from the beginning\n"
	"  -q, --quiet           no summary on standard error\n"
	"  -h, --help            this text\n";

#define SKIPPED_SHOWN 10 /* unreadable documents named one by one; the rest are counted */

struct run {
	const char *cmd;
	struct store_export *x;
	uint64_t since;
	int type; /* 0: all */
	struct node_export_latest *latest;
	struct node_export_writer *w;
	uint64_t end;	  /* last sequence of the range (pass 1) */
	uint64_t docs;	  /* documents in the range that match the filter */
	uint64_t skipped; /* documents that could not be read (pass 1) */
	bool pass2;
	int err;
	char why[160];
};

/* One document of either pass. A non-zero return stops store_export_iter(). */
static int visit(void *ctx, uint64_t seq, const uint8_t *doc, size_t len)
{
	struct run *run = ctx;
	struct node_export_doc d = {0};
	const char *why = "not JSON";
	json_error_t jerr;
	json_t *j;
	int r;

	if (run->pass2 && seq > run->end)
		return 1; /* past the range fixed by pass 1 */
	j = json_loadb((const char *)doc, len, 0, &jerr);
	if (!j || node_export_doc_parse(j, &d, &why)) {
		/*
		 * One unreadable document must not stop the export (a node that stored a
		 * report with a 5-digit year would otherwise break every export downstream):
		 * it is skipped, counted and named on standard error. Its indicator, when it
		 * can be read, still counts as changed at @seq, so an older state of it is not
		 * exported in its place: the indicator is left out until a newer document.
		 */
		if (!run->pass2) {
			run->skipped++;
			if (run->skipped <= SKIPPED_SHOWN)
				fprintf(stderr,
					"chatham: %s: skipped the document at sequence %" PRIu64
					": %s\n",
					run->cmd, seq, why);
			if (run->latest && d.ind_id_hex && strlen(d.ind_id_hex) == 64 &&
			    !proto_hex_decode(d.ind_id, 32, d.ind_id_hex) &&
			    (!run->type || d.type == run->type)) {
				if (seq > run->end)
					run->end = seq;
				r = node_export_latest_put(run->latest, d.ind_id, seq);
				if (r) {
					json_decref(j);
					run->err = r;
					return -1;
				}
			}
		}
		json_decref(j);
		return 0;
	}
	if (run->type && d.type != run->type) {
		json_decref(j);
		return 0;
	}
	if (!run->pass2) {
		run->docs++;
		if (seq > run->end)
			run->end = seq;
		r = run->latest ? node_export_latest_put(run->latest, d.ind_id, seq) : 0;
	} else if (!run->latest || node_export_latest_is(run->latest, d.ind_id, seq)) {
		r = node_export_writer_add(run->w, (const char *)doc, len, &d);
		r = r < 0 ? r : 0;
	} else {
		r = 0;
	}
	json_decref(j);
	if (r) {
		run->err = r;
		return -1;
	}
	return 0;
}

/* The directory part of @path ("." when it has none), into @buf. */
static const char *dir_of(const char *path, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(buf, len, ".");
	else if (slash == path)
		snprintf(buf, len, "/");
	else
		snprintf(buf, len, "%.*s", (int)(slash - path), path);
	return buf;
}

static void warn_config(void *ctx, unsigned line, const char *msg)
{
	fprintf(stderr, "chatham: export: %s:%u: %s\n", (const char *)ctx, line, msg);
}

/*
 * The cursor file: {"env_id": 32 hex digits, "seq": N}, the format of chatham-siem-pull's
 * state. Returns 0 with *@since set, 2 when the file does not exist (since 0), 1 when it
 * names another export environment (since 0: the export was rebuilt), or -EINVAL.
 */
static int state_read(const char *path, const uint8_t env_id[16], uint64_t *since)
{
	json_error_t jerr;
	json_t *j, *seq;
	uint8_t id[16];
	const char *hex;
	int r = -EINVAL;

	*since = 0;
	if (access(path, F_OK) != 0 && errno == ENOENT)
		return 2;
	j = json_load_file(path, 0, &jerr);
	hex = json_string_value(json_object_get(j, "env_id"));
	seq = json_object_get(j, "seq");
	if (hex && strlen(hex) == 32 && !proto_hex_decode(id, 16, hex) && json_is_integer(seq) &&
	    json_integer_value(seq) >= 0) {
		if (memcmp(id, env_id, 16)) {
			r = 1;
		} else {
			*since = (uint64_t)json_integer_value(seq);
			r = 0;
		}
	}
	json_decref(j);
	return r;
}

/* Writes the cursor atomically (temporary file, fsync, rename) with mode 0640. */
static int state_write(const char *path, const uint8_t env_id[16], uint64_t seq)
{
	char tmp[4200], dir[4096], hex[33], text[128];
	int fd, n;

	proto_hex_encode(hex, env_id, 16);
	n = snprintf(text, sizeof(text), "{\"env_id\": \"%s\", \"seq\": %" PRIu64 "}\n", hex, seq);
	fd = node_export_tmp_open(dir_of(path, dir, sizeof(dir)), tmp, sizeof(tmp));
	if (fd < 0)
		return fd;
	if (write(fd, text, (size_t)n) != n) {
		int r = errno ? -errno : -EIO;

		close(fd);
		unlink(tmp);
		return r;
	}
	return node_export_tmp_install(fd, tmp, path);
}

/* The notices feed (store/export.h): its documents after a sequence, parsed. */
struct notices_run {
	json_t *docs; /* array */
	uint64_t end;
	int err;
};

static int visit_notice(void *ctx, uint64_t seq, const uint8_t *doc, size_t len)
{
	struct notices_run *nr = ctx;
	json_t *j = json_loadb((const char *)doc, len, 0, NULL);

	if (!j || json_array_append_new(nr->docs, j)) {
		nr->err = j ? -ENOMEM : NODE_E_EXPORT;
		return -1;
	}
	nr->end = seq;
	return 0;
}

/*
 * A temporary file (mode 0640) in @out's directory, its name into @tmp (4200 bytes), to be
 * renamed to @out once complete; NULL (error printed) when it cannot be made.
 */
static FILE *open_tmp(const char *cmd, const char *out, char *tmp)
{
	char odir[4096];
	FILE *f = NULL;
	int fd;

	fd = node_export_tmp_open(dir_of(out, odir, sizeof(odir)), tmp, 4200);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		node_cli_errorf(cmd, "cannot write in %s: %s", odir,
				strerror(fd < 0 ? -fd : errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		tmp[0] = '\0';
		return NULL;
	}
	return f;
}

/* Write @len bytes of @text to @out (a temporary file renamed into place) or stdout. */
static int emit(const char *cmd, const char *out, const char *text, size_t len)
{
	char tmp[4200];
	FILE *f;
	int r;

	if (!out)
		return fwrite(text, 1, len, stdout) == len && fflush(stdout) == 0 ? 0 : -EIO;
	f = open_tmp(cmd, out, tmp);
	if (!f)
		return -EIO;
	r = fwrite(text, 1, len, f) == len ? 0 : -(errno ? errno : EIO);
	if (r) {
		fclose(f);
		unlink(tmp);
	} else {
		r = node_export_tmp_install_file(f, tmp, out);
	}
	if (r) {
		node_cli_errorf(cmd, "writing %s failed: %s", out, strerror(-r));
		return -EIO;
	}
	return 0;
}

/*
 * `export --feed notices`: the notices this node received, after @since in the notices
 * feed, as JSON lines (the stored documents), one STIX 2.1 bundle or MISP events
 * (node/format/notice_fmt.h). Returns the exit status.
 */
static int export_notices(const char *cmd, struct store_export *x, const char *format,
			  uint64_t since, const char *out, const char *state,
			  const uint8_t env_id[16], const char *community, bool quiet)
{
	struct notices_run nr = {.docs = json_array(), .end = since};
	struct node_notice_doc *docs = NULL;
	size_t n = 0;
	char *text = NULL;
	json_t *rendered = NULL;
	int r, code = NODE_CMD_EXIT_FAIL;

	r = nr.docs ? store_export_notices_iter(x, since, 0, visit_notice, &nr) : -ENOMEM;
	if (r < 0 || nr.err) {
		node_cli_errorf(cmd, "cannot read the notices feed: %s",
				proto_error_str(nr.err ? nr.err : r));
		goto out;
	}
	n = json_array_size(nr.docs);
	if (!strcmp(format, "jsonl")) {
		size_t cap = 1, len = 0;

		for (size_t i = 0; i < n; i++) {
			char *line = json_dumps(json_array_get(nr.docs, i),
						JSON_COMPACT | JSON_SORT_KEYS);
			char *grown = line ? realloc(text, cap + strlen(line) + 1) : NULL;

			if (!grown) {
				free(line);
				node_cli_errorf(cmd, "out of memory");
				goto out;
			}
			text = grown;
			cap += strlen(line) + 1;
			memcpy(text + len, line, strlen(line));
			len += strlen(line);
			text[len++] = '\n';
			free(line);
		}
		r = emit(cmd, out, text ? text : "", len);
	} else {
		docs = calloc(n ? n : 1, sizeof(*docs));
		if (!docs) {
			node_cli_errorf(cmd, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			json_t *d = json_array_get(nr.docs, i);
			const char *id = json_string_value(json_object_get(d, "id"));
			const char *tlp = json_string_value(json_object_get(d, "tlp"));

			docs[i].form = json_object_get(d, "form");
			docs[i].created_ms =
				(uint64_t)json_integer_value(json_object_get(d, "created_ms"));
			docs[i].tlp = (uint8_t)(tlp ? proto_tlp_from_name(tlp) : 0);
			if (!id || proto_hex_decode(docs[i].id, 16, id) ||
			    !json_is_object(docs[i].form) || !tlp || proto_tlp_from_name(tlp) < 0) {
				node_cli_errorf(cmd,
						"the notices feed holds an unreadable document");
				goto out;
			}
		}
		rendered = !strcmp(format, "stix21") ? node_notice_stix_bundle(docs, n, community)
						     : node_notice_misp(docs, n, community);
		text = rendered ? json_dumps(rendered, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
		if (text) {
			size_t len = strlen(text);
			char *grown = realloc(text, len + 2);

			if (grown) {
				memcpy(grown + len, "\n", 2);
				text = grown;
			}
		}
		if (!text) {
			node_cli_errorf(cmd, "out of memory");
			goto out;
		}
		r = emit(cmd, out, text, strlen(text));
	}
	if (r) {
		if (r == -EIO && !out)
			node_cli_errorf(cmd, "writing standard output failed");
		goto out;
	}
	if (state) {
		r = state_write(state, env_id, nr.end);
		if (r) {
			node_cli_errorf(cmd, "the export is written, but the cursor %s is not: %s",
					state, proto_error_str(r));
			goto out;
		}
	}
	if (!quiet)
		fprintf(stderr,
			"chatham: export: %zu notice%s after sequence %" PRIu64
			" of the notices feed%s%s; next incremental export: --since %" PRIu64 "\n",
			n, n == 1 ? "" : "s", since, out ? " to " : "", out ? out : "", nr.end);
	code = NODE_CMD_EXIT_OK;
out:
	json_decref(rendered);
	free(text);
	free(docs);
	json_decref(nr.docs);
	return code;
}

int node_cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'F'},
		{"export-dir", required_argument, NULL, 'e'},
		{"config", required_argument, NULL, 'c'},
		{"since", required_argument, NULL, 'S'},
		{"type", required_argument, NULL, 't'},
		{"out", required_argument, NULL, 'o'},
		{"quiet", no_argument, NULL, 'q'},
		{"state", required_argument, NULL, 's'},
		{"feed", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cmd = "export", *dir = NULL, *config = NULL, *out = NULL, *type_name = NULL;
	const char *state = NULL, *format = NULL;
	bool since_given = false, notices = false;
	struct node_export_options o = {.format = -1};
	struct node_config *cfg = NULL;
	struct run run = {.cmd = cmd};
	char community[PROTO_ROSTER_NAME_MAX * 4 + 1], tmp[4200], cfgbuf[4096];
	struct node_misp_feed_stats mst = {0};
	const char *why = NULL;
	bool quiet = false;
	FILE *f = NULL;
	int opt, r, code = NODE_CMD_EXIT_FAIL;
	char *end;

	tmp[0] = '\0';
	optind = 0;
	while ((opt = getopt_long(argc, argv, ":F:e:c:S:t:o:s:f:qh", opts, NULL)) != -1) {
		switch (opt) {
		case 'F':
			format = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "notices") && strcmp(optarg, "indicators"))
				return node_cli_usage_error("export",
							    "--feed is indicators or notices");
			notices = !strcmp(optarg, "notices");
			break;
		case 'e':
			dir = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'S':
			errno = 0;
			run.since = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || optarg[0] == '-')
				return node_cli_usage_error("export",
							    "--since takes a feed sequence number");
			since_given = true;
			break;
		case 's':
			state = optarg;
			break;
		case 't':
			type_name = optarg;
			run.type = proto_indicator_type_from_name(optarg);
			if (run.type < 0)
				return node_cli_usage_error(
					"export", "--type is one of ipv4 ipv6 domain url email md5 "
						  "sha1 sha256 sha512");
			break;
		case 'o':
			out = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			fputs(export_usage, stdout);
			return NODE_CMD_EXIT_OK;
		default:
			return node_cli_option_error("export", opt, argv);
		}
	}
	if (optind != argc)
		return node_cli_usage_error("export", "unexpected argument");
	if (!format)
		return node_cli_usage_error("export", "--format is required");
	if (notices && strcmp(format, "jsonl") && strcmp(format, "stix21") &&
	    strcmp(format, "misp"))
		return node_cli_usage_error(
			"export", "--feed notices: --format is one of jsonl, stix21, misp");
	if (notices && type_name)
		return node_cli_usage_error("export", "--type is for the indicators feed");
	o.format = notices ? NODE_EXPORT_JSONL : node_export_format_from_name(format);
	if (o.format < 0)
		return node_cli_usage_error(
			"export", "--format is one of jsonl, csv, stix21, misp-feed, plain");
	if (state && since_given)
		return node_cli_usage_error("export",
					    "--since and --state both give the start: use one");
	if (o.format == NODE_EXPORT_MISP_FEED && !out)
		return node_cli_usage_error("export",
					    "misp-feed writes a directory: give --out DIR");
	if (!dir) {
		if (!config)
			config = node_cmd_default_config(cfgbuf, sizeof(cfgbuf));
		r = node_config_load_file(config, warn_config, (void *)config, &cfg);
		if (r)
			return node_cli_errorf(cmd, "no --export-dir, and %s gives none: %s",
					       config, proto_error_str(r));
		dir = node_config_str(cfg, NODE_EXPORT_DIR);
	}
	if (proto_crypto_init())
		return node_cli_errorf(cmd, "cannot initialise libsodium");

	r = store_export_open_readonly(&run.x, dir);
	if (r) {
		node_cli_errorf(cmd, "cannot open the export in %s: %s%s", dir, proto_error_str(r),
				r == STORE_E_NOT_FOUND
					? " (the node creates it at its first start; "
					  "check [node] export_dir)"
					: "");
		goto out;
	}
	r = store_export_community(run.x, community, sizeof(community));
	if (!r)
		r = store_export_env_id(run.x, o.env_id);
	if (r) {
		node_cli_errorf(cmd, "cannot read the export's metadata: %s", proto_error_str(r));
		goto out;
	}
	if (state) {
		r = state_read(state, o.env_id, &run.since);
		if (r < 0) {
			node_cli_errorf(
				cmd,
				"%s is not a cursor state file ({\"env_id\": HEX, \"seq\": N})",
				state);
			goto out;
		}
		if (r == 1 && !quiet)
			fprintf(stderr,
				"chatham: export: %s names another export environment (the "
				"export was rebuilt): starting from its first document\n",
				state);
	}
	if (notices) {
		code = export_notices(cmd, run.x, format, run.since, out, state, o.env_id,
				      community, quiet);
		goto out;
	}
	o.community = community;
	o.since = run.since;
	o.type_filter = type_name;

	/* Pass 1: the range, and the newest document of each indicator in it. */
	if (o.format != NODE_EXPORT_JSONL) {
		run.latest = node_export_latest_new();
		if (!run.latest) {
			node_cli_errorf(cmd, "out of memory");
			goto out;
		}
	}
	r = store_export_iter(run.x, run.since, 0, visit, &run);
	if (r < 0 || run.err) {
		node_cli_errorf(cmd, "%s",
				run.err == NODE_E_EXPORT ? run.why
							 : proto_error_str(run.err ? run.err : r));
		goto out;
	}

	/* The destination: the MISP feed directory, or a temporary file beside the output. */
	if (o.format == NODE_EXPORT_MISP_FEED) {
		r = node_cli_make_dir(out);
		if (!r)
			r = node_misp_feed_open(&o.misp, out, community, &why);
		if (r) {
			node_cli_errorf(cmd, "cannot update the MISP feed in %s: %s", out,
					why ? why : proto_error_str(r));
			goto out;
		}
	} else if (out) {
		f = open_tmp(cmd, out, tmp);
		if (!f)
			goto out;
	} else {
		f = stdout;
	}

	/* Pass 2: render. */
	run.w = node_export_writer_new(&o, f);
	if (!run.w) {
		node_cli_errorf(cmd, "out of memory");
		goto out_tmp;
	}
	run.pass2 = true;
	r = run.end ? store_export_iter(run.x, run.since, 0, visit, &run) : 0;
	if (r < 0 || run.err) {
		node_cli_errorf(cmd, "%s",
				run.err == NODE_E_EXPORT ? run.why
							 : proto_error_str(run.err ? run.err : r));
		goto out_tmp;
	}
	r = node_export_writer_finish(run.w);
	if (r) {
		node_cli_errorf(cmd, "writing %s failed: %s", out ? out : "standard output",
				proto_error_str(r));
		goto out_tmp;
	}
	if (o.misp) {
		r = node_misp_feed_commit(o.misp, &mst, &why);
		if (r) {
			node_cli_errorf(cmd, "cannot update the MISP feed in %s: %s", out,
					why ? why : proto_error_str(r));
			goto out_tmp;
		}
	} else if (out) {
		r = node_export_tmp_install_file(f, tmp, out);
		f = NULL;
		tmp[0] = '\0'; /* installed, or removed */
		if (r) {
			node_cli_errorf(cmd, "writing %s failed: %s", out, strerror(-r));
			goto out_tmp;
		}
	}
	if (run.skipped)
		fprintf(stderr,
			"chatham: export: %" PRIu64 " unreadable document%s skipped%s; the "
			"rest is exported\n",
			run.skipped, run.skipped == 1 ? "" : "s",
			run.skipped > SKIPPED_SHOWN ? " (the first ones are named above)" : "");
	if (state) {
		r = state_write(state, o.env_id, run.end > run.since ? run.end : run.since);
		if (r) {
			node_cli_errorf(cmd, "the export is written, but the cursor %s is not: %s",
					state, proto_error_str(r));
			goto out_tmp;
		}
	}
	if (!quiet) {
		uint64_t n = node_export_writer_count(run.w);
		char feed[160] = "";
		if (o.misp)
			snprintf(feed, sizeof(feed),
				 " (MISP attributes: %" PRIu64 " new, %" PRIu64 " changed, %" PRIu64
				 " unchanged; %" PRIu64 " event%s written)",
				 mst.added, mst.changed, mst.unchanged, mst.events,
				 mst.events == 1 ? "" : "s");
		fprintf(stderr,
			"chatham: export: %" PRIu64 " %s from %" PRIu64
			" change%s after sequence %" PRIu64
			"%s%s%s; next incremental export: --since %" PRIu64 "\n",
			n, o.format == NODE_EXPORT_JSONL ? "documents" : "indicators", run.docs,
			run.docs == 1 ? "" : "s", run.since, out ? " to " : "", out ? out : "",
			feed, run.end > run.since ? run.end : run.since);
	}
	code = NODE_CMD_EXIT_OK;
out_tmp:
	if (f && f != stdout)
		fclose(f);
	if (out && tmp[0])
		unlink(tmp);
out:
	node_export_writer_free(run.w);
	node_misp_feed_free(o.misp);
	node_export_latest_free(run.latest);
	store_export_close(run.x);
	node_config_free(cfg);
	return code;
}
