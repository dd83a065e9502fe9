/* SPDX-License-Identifier: MIT */
/* node/config: defaults, every value type, line-numbered diagnostics, reload merging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/format/config.h"
#include "proto/error.h"

#define MAX_DIAG 32

struct diag {
	unsigned n;
	unsigned line[MAX_DIAG];
	char msg[MAX_DIAG][512];
};

static void collect(void *ctx, unsigned line, const char *msg)
{
	struct diag *d = ctx;

	if (d->n < MAX_DIAG) {
		d->line[d->n] = line;
		snprintf(d->msg[d->n], sizeof(d->msg[0]), "%s", msg);
	}
	d->n++;
}

static struct node_config *load_ok(const char *text)
{
	struct node_config *cfg = NULL;
	struct diag d = {0};
	int r = node_config_load_buffer(text, strlen(text), collect, &d, &cfg);

	if (r)
		fail_msg("unexpected error %d for %s: line %u: %s", r, text, d.line[0], d.msg[0]);
	assert_int_equal(d.n, 0);
	return cfg;
}

static void test_defaults(void **state)
{
	struct node_config *cfg;
	char buf[64];
	size_t n;

	(void)state;
	unsetenv("STATE_DIRECTORY");
	unsetenv("RUNTIME_DIRECTORY");
	unsetenv("CREDENTIALS_DIRECTORY");
	unsetenv("CONFIGURATION_DIRECTORY");
	cfg = load_ok("");
	assert_string_equal(node_config_str(cfg, NODE_STATE_DIR), "/var/lib/chatham");
	assert_string_equal(node_config_str(cfg, NODE_EXPORT_DIR), "/var/lib/chatham/export");
	assert_string_equal(node_config_str(cfg, NODE_KEY_FILE), "/etc/chatham/member.key");
	assert_string_equal(node_config_str(cfg, NODE_API_SOCKET), "/run/chatham/chatham.sock");
	assert_int_equal(node_config_int(cfg, NODE_API_SOCKET_MODE), 0660);
	assert_int_equal(node_config_int(cfg, NODE_API_MAX_LINE_BYTES), 16 << 20);
	assert_int_equal(node_config_int(cfg, NODE_API_MAX_CONNECTIONS), 64);
	assert_false(node_config_bool(cfg, NODE_POLICY_EXPORT_RED));
	assert_int_equal(node_config_enum(cfg, NODE_POLICY_DESCRIPTIONS), 0);
	assert_string_equal(node_config_str(cfg, NODE_POLICY_DESCRIPTIONS), "redact");
	assert_string_equal(node_config_str(cfg, NODE_LOG_LEVEL), "info");
	assert_string_equal(node_config_str(cfg, NODE_NETWORK_KEY_FILE),
			    "/etc/chatham/network.key");
	{
		size_t na;
		const char *const *addrs = node_config_addrs(cfg, NODE_OVERLAY_LISTEN, &na);

		assert_int_equal(na, 1);
		assert_string_equal(addrs[0], "0.0.0.0:7400");
	}
	assert_int_equal(node_config_int(cfg, NODE_OVERLAY_DEGREE), 6);
	assert_int_equal(node_config_int(cfg, NODE_OVERLAY_MAX_FRAME), 65537);
	assert_null(node_config_ids(cfg, NODE_API_ALLOWED_UIDS, &n));
	assert_int_equal(n, 0);
	for (int o = 0; o < NODE_OPT__COUNT; o++)
		assert_int_equal(node_config_line(cfg, o), 0);
	assert_string_equal(node_config_value_str(cfg, NODE_API_SOCKET_MODE, buf, sizeof(buf)),
			    "0660");
	node_config_free(cfg);
}

static void test_systemd_directories(void **state)
{
	struct node_config *cfg;

	(void)state;
	setenv("STATE_DIRECTORY", "/srv/state:/srv/other", 1);
	setenv("RUNTIME_DIRECTORY", "/run/x", 1);
	setenv("CREDENTIALS_DIRECTORY", "/run/credentials/chatham.service", 1);
	setenv("CONFIGURATION_DIRECTORY", "", 1); /* empty counts as unset */
	cfg = load_ok("[node]\n");
	assert_string_equal(node_config_str(cfg, NODE_STATE_DIR), "/srv/state");
	assert_string_equal(node_config_str(cfg, NODE_EXPORT_DIR), "/srv/state/export");
	assert_string_equal(node_config_str(cfg, NODE_API_SOCKET), "/run/x/chatham.sock");
	assert_string_equal(node_config_str(cfg, NODE_KEY_FILE),
			    "/run/credentials/chatham.service/member.key");
	assert_string_equal(node_config_str(cfg, NODE_COMMUNITY_FILE), "/etc/chatham/community");
	node_config_free(cfg);
	/* An explicit state_dir moves the derived export_dir default with it. */
	cfg = load_ok("[node]\nstate_dir = /data/chatham\n");
	assert_string_equal(node_config_str(cfg, NODE_EXPORT_DIR), "/data/chatham/export");
	assert_int_equal(node_config_line(cfg, NODE_STATE_DIR), 2);
	node_config_free(cfg);
	unsetenv("STATE_DIRECTORY");
	unsetenv("RUNTIME_DIRECTORY");
	unsetenv("CREDENTIALS_DIRECTORY");
	unsetenv("CONFIGURATION_DIRECTORY");
}

/* Valid values: option line -> expected value as node_config_value_str() prints it. */
static const struct {
	const char *text;
	enum node_opt opt;
	const char *want;
} good[] = {
	{"[api]\nmax_connections = 1", NODE_API_MAX_CONNECTIONS, "1"},
	{"[policy]\ntag_vocab_files = /etc/chatham/ours.txt,/srv/b.txt  /c.txt",
	 NODE_POLICY_TAG_VOCAB_FILES, "/etc/chatham/ours.txt, /srv/b.txt, /c.txt"},
	{"[api]\nmax_connections=4096", NODE_API_MAX_CONNECTIONS, "4096"},
	{"[api]\n  max_connections = 7   ; inline comment", NODE_API_MAX_CONNECTIONS, "7"},
	{"[api]\nmax_line_bytes = 4k", NODE_API_MAX_LINE_BYTES, "4096"},
	{"[api]\nmax_line_bytes = 16M", NODE_API_MAX_LINE_BYTES, "16777216"},
	{"[api]\nmax_line_bytes = 256M", NODE_API_MAX_LINE_BYTES, "268435456"},
	{"[api]\nmax_line_bytes = 5000", NODE_API_MAX_LINE_BYTES, "5000"},
	{"[api]\nsocket_mode = 0600", NODE_API_SOCKET_MODE, "0600"},
	{"[api]\nsocket_mode = 666", NODE_API_SOCKET_MODE, "0666"},
	{"[api]\nallowed_uids = 0, 1000 1001,1000", NODE_API_ALLOWED_UIDS, "0,1000,1001"},
	{"[api]\nallowed_uids = root", NODE_API_ALLOWED_UIDS, "0"},
	{"[api]\nallowed_gids = root,5", NODE_API_ALLOWED_GIDS, "0,5"},
	{"[api]\nallowed_gids =", NODE_API_ALLOWED_GIDS, ""},
	{"[policy]\nexport_red = yes", NODE_POLICY_EXPORT_RED, "true"},
	{"[policy]\nexport_red = OFF", NODE_POLICY_EXPORT_RED, "false"},
	{"[policy]\nexport_red = 1", NODE_POLICY_EXPORT_RED, "true"},
	{"[policy]\ndescriptions = keep", NODE_POLICY_DESCRIPTIONS, "keep"},
	{"[policy]\nmax_clock_skew_s = 0", NODE_POLICY_MAX_CLOCK_SKEW_S, "0"},
	{"[log]\nlevel = debug", NODE_LOG_LEVEL, "debug"},
	{"[store]\nmap_max_mb: 1024", NODE_STORE_MAP_MAX_MB, "1024"},
	{"\xef\xbb\xbf[node]\r\nstate_dir = /x\r\n", NODE_STATE_DIR, "/x"},
	{"# comment\n; comment\n\n[node]\nkey_file = /k/member.key", NODE_KEY_FILE,
	 "/k/member.key"},
	{"[overlay]\nlisten = 127.0.0.1:7400", NODE_OVERLAY_LISTEN, "127.0.0.1:7400"},
	{"[overlay]\nlisten = 0.0.0.0:1,[::]:1  [::1]:0", NODE_OVERLAY_LISTEN,
	 "0.0.0.0:1, [::]:1, [::1]:0"},
	{"[overlay]\nlisten =", NODE_OVERLAY_LISTEN, ""},
	{"[overlay]\nmax_frame = 64k", NODE_OVERLAY_MAX_FRAME, "65536"},
	{"[overlay]\nkeepalive_ms = 59999", NODE_OVERLAY_KEEPALIVE_MS, "59999"},
	{"[overlay]\nbackoff_min_ms = 60000", NODE_OVERLAY_BACKOFF_MIN_MS, "60000"},
};

static void test_good_values(void **state)
{
	char buf[256];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct node_config *cfg = load_ok(good[i].text);
		node_config_value_str(cfg, good[i].opt, buf, sizeof(buf));
		if (strcmp(buf, good[i].want))
			fail_msg("%s: got '%s', want '%s'", good[i].text, buf, good[i].want);
		assert_int_not_equal(node_config_line(cfg, good[i].opt), 0);
		node_config_free(cfg);
	}
}

/* Invalid files: every one must fail with a message on the given line. */
static const struct {
	const char *text;
	unsigned line;
	const char *msg; /* substring */
} bad[] = {
	{"[api]\nmax_connections = 0", 2, "below the minimum 1"},
	{"[api]\nmax_connections = 4097", 2, "above the maximum 4096"},
	{"[api]\nmax_connections = -1", 2, "not a decimal integer"},
	{"[api]\nmax_connections = 1.5", 2, "not a decimal integer"},
	{"[api]\nmax_connections = 99999999999999999999999", 2, "above the maximum"},
	{"[api]\nmax_connections =", 2, "not a decimal integer"},
	{"[api]\nmax_line_bytes = 1K", 2, "below the minimum 4096"},
	{"[api]\nmax_line_bytes = 1T", 2, "not a size"},
	{"[api]\nmax_line_bytes = 1G", 2, "above the maximum"},
	{"[api]\nmax_line_bytes = 16MB", 2, "not a size"},
	{"[api]\nmax_line_bytes = 17179869184G", 2, "above the maximum"},
	{"[api]\nsocket_mode = 0777", 2, "above the maximum 0666"},
	{"[api]\nsocket_mode = 0500", 2, "below the minimum 0600"},
	{"[api]\nsocket_mode = 0668", 2, "not an octal mode"},
	{"[api]\nallowed_uids = no-such-user-chatham", 2, "not a known user"},
	{"[api]\nallowed_gids = 4294967295", 2, "not a known group"},
	{"[policy]\nexport_red = maybe", 2, "not a boolean"},
	{"[policy]\ndescriptions = Redact", 2, "not one of redact|drop|keep"},
	{"[node]\nstate_dir = var/lib", 2, "not an absolute path"},
	{"[node]\nstate_dir =", 2, "not an absolute path"},
	{"[api]\nsocket = /0123456789/0123456789/0123456789/0123456789/0123456789/0123456789/"
	 "0123456789/0123456789/0123456789/0123456789/chatham.sock",
	 2, "longer than 107"},
	{"[node]\nfoo = 1", 2, "[node] foo: unknown option (known: state_dir"},
	{"[node]\nState_Dir = /x", 2, "unknown option"},
	{"[nodes]\nstate_dir = /x", 1, "unknown section [nodes]"},
	{"state_dir = /x", 1, "outside any [section]"},
	{"[node\nstate_dir = /x", 1, "without ']'"},
	{"[node] x\nstate_dir = /x", 1, "text after the section header"},
	{"[node]\nstate_dir /x", 2, "expected 'name = value'"},
	{"[node]\nstate_dir = /a\n\nstate_dir = /b", 4, "set twice (first at line 2)"},
	{"[api]\nmax_connections = 0\nmax_connections = 3", 3, "set twice (first at line 2)"},
	{"[node]\nstate_dir = /a\0b", 2, "NUL byte"},
	{"[policy]\ntag_vocab_files = /a, tags.txt", 2, "'tags.txt' is not an absolute path"},
	{"[overlay]\nlisten = localhost:7400", 2, "not a numeric address"},
	{"[overlay]\nlisten = 127.0.0.1", 2, "not a numeric address"},
	{"[overlay]\nlisten = 127.0.0.1:65536", 2, "not a numeric address"},
	{"[overlay]\nlisten = ::1:7400", 2, "not a numeric address"},
	{"[overlay]\nlisten = 127.0.0.1:1, 127.0.0.1:1", 2, "listed twice"},
	{"[overlay]\nlisten = 1.0.0.1:1,1.0.0.2:1,1.0.0.3:1,1.0.0.4:1,1.0.0.5:1,1.0.0.6:1,"
	 "1.0.0.7:1,1.0.0.8:1,1.0.0.9:1,1.0.0.10:1,1.0.0.11:1,1.0.0.12:1,1.0.0.13:1,1.0.0.14:1,"
	 "1.0.0.15:1,1.0.0.16:1,1.0.0.17:1",
	 2, "more than 16 addresses"},
	{"[overlay]\nmax_frame = 65538", 2, "above the maximum 65537"},
	{"[overlay]\nkeepalive_ms = 60000", 2,
	 "dead_after_ms (60000) must be greater than "
	 "keepalive_ms (60000)"},
	{"[overlay]\ndead_after_ms = 100\n\nkeepalive_ms = 200", 4,
	 "dead_after_ms (100) must be greater than keepalive_ms (200)"},
	{"[overlay]\nbackoff_max_ms = 999", 2,
	 "backoff_max_ms (999) must be at least "
	 "backoff_min_ms (1000)"},
};

static void test_bad_values(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct node_config *cfg = NULL;
		struct diag d = {0};
		size_t len = strlen(bad[i].text);
		if (strstr(bad[i].msg, "NUL"))
			len += 2; /* the literal continues after its embedded NUL */
		int r = node_config_load_buffer(bad[i].text, len, collect, &d, &cfg);
		if (r != NODE_E_CONFIG || cfg)
			fail_msg("%s: accepted (r=%d)", bad[i].text, r);
		bool found = false;
		for (unsigned k = 0; k < d.n && k < MAX_DIAG; k++)
			if (d.line[k] == bad[i].line && strstr(d.msg[k], bad[i].msg))
				found = true;
		if (!found)
			fail_msg("%s: no '%s' at line %u (first: %u: %s)", bad[i].text, bad[i].msg,
				 bad[i].line, d.line[0], d.msg[0]);
	}
}

static void test_every_error_reported(void **state)
{
	static const char text[] = "[node]\n"		    /* 1 */
				   "state_dir = relative\n" /* 2 */
				   "[api]\n"		    /* 3 */
				   "max_connections = 0\n"  /* 4 */
				   "junk\n"		    /* 5 */
				   "[bogus]\n"		    /* 6 */
				   "anything = 1\n"	    /* 7 */
				   "[policy]\n"		    /* 8 */
				   "export_red = 2\n";	    /* 9 */
	static const unsigned want[] = {2, 4, 5, 6, 9};
	struct node_config *cfg = NULL;
	struct diag d = {0};

	(void)state;
	assert_int_equal(node_config_load_buffer(text, sizeof(text) - 1, collect, &d, &cfg),
			 NODE_E_CONFIG);
	assert_null(cfg);
	assert_int_equal(d.n, 5);
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(d.line[i], want[i]);
}

static void test_long_line(void **state)
{
	size_t n = NODE_CONFIG_LINE_MAX + 100;
	char *text = malloc(n + 64);
	struct node_config *cfg = NULL;
	struct diag d = {0};

	(void)state;
	strcpy(text, "[node]\nstate_dir = /");
	memset(text + strlen(text), 'a', n);
	strcpy(text + 20 + n, "\n[log]\nlevel = debug\n");
	assert_int_equal(node_config_load_buffer(text, strlen(text), collect, &d, &cfg),
			 NODE_E_CONFIG);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.line[0], 2);
	assert_non_null(strstr(d.msg[0], "longer than"));
	free(text);
}

static void test_file_errors(void **state)
{
	struct node_config *cfg = NULL;
	struct diag d = {0};

	(void)state;
	assert_int_equal(node_config_load_file("/nonexistent/chatham.conf", collect, &d, &cfg),
			 NODE_E_CONFIG);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.line[0], 0);
	assert_non_null(strstr(d.msg[0], "cannot open"));
}

static void test_merge_reload(void **state)
{
	struct node_config *running, *next;
	struct diag d = {0};
	char buf[256];

	(void)state;
	running = load_ok("[node]\nstate_dir = /a\n[api]\nmax_connections = 5\n");
	next = load_ok("[node]\nstate_dir = /b\n[api]\nmax_connections = 9\nsocket_mode = 0600\n");
	/* state_dir, the export_dir derived from it, socket_mode */
	assert_int_equal(node_config_merge_reload(next, running, collect, &d), 3);
	assert_int_equal(d.n, 3);
	assert_int_equal(d.line[0], 2);
	assert_non_null(strstr(d.msg[0], "[node] state_dir changed to '/b'; keeping '/a'"));
	assert_int_equal(d.line[1], 0);
	assert_non_null(strstr(d.msg[1], "[node] export_dir changed"));
	assert_int_equal(d.line[2], 5);
	assert_string_equal(node_config_str(next, NODE_STATE_DIR), "/a");
	assert_string_equal(node_config_value_str(next, NODE_API_SOCKET_MODE, buf, sizeof(buf)),
			    "0660");
	/* reloadable options take the new value */
	assert_int_equal(node_config_int(next, NODE_API_MAX_CONNECTIONS), 9);
	assert_string_equal(node_config_str(next, NODE_EXPORT_DIR), "/a/export");
	node_config_free(running);
	node_config_free(next);
}

static void test_example_round_trip(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct node_config *cfg;

	(void)state;
	assert_non_null(f);
	assert_int_equal(node_config_write_example(f), 0);
	fclose(f);
	/* every option appears once, commented out, with its help */
	for (int o = 0; o < NODE_OPT__COUNT; o++) {
		char key[96];
		snprintf(key, sizeof(key), "\n#%s =", node_config_opt_name(o));
		char *p = strstr(buf, key);
		assert_non_null(p);
		assert_null(strstr(p + 1, key));
	}
	cfg = load_ok(buf);
	node_config_free(cfg);
	/* uncommenting every "#name =" line gives a valid file that sets every option */
	for (char *p = buf; (p = strstr(p, "\n#")); p++)
		if (p[2] >= 'a' && p[2] <= 'z')
			p[1] = ' ';
	cfg = load_ok(buf);
	for (int o = 0; o < NODE_OPT__COUNT; o++)
		if (node_config_line(cfg, o) == 0)
			fail_msg("%s not set by the uncommented example", node_config_opt_name(o));
	node_config_free(cfg);
	free(buf);
}

static void test_effective_dump(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct node_config *cfg = load_ok("[api]\nmax_connections = 3\n");

	(void)state;
	assert_int_equal(node_config_write_effective(cfg, f), 0);
	fclose(f);
	assert_non_null(strstr(buf, "[api]\n"));
	assert_non_null(strstr(buf, "max_connections = 3 ; line 2\n"));
	assert_non_null(strstr(buf, "max_line_bytes = 16777216 ; default\n"));
	free(buf);
	node_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_systemd_directories),
		cmocka_unit_test(test_good_values),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_every_error_reported),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_merge_reload),
		cmocka_unit_test(test_example_round_trip),
		cmocka_unit_test(test_effective_dump),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
