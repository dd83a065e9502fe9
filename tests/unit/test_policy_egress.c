/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_policy_egress.c — the TLP egress table of DESIGN.md §6, cell by cell.
 *
 * Every expected verdict below is written out by hand from the design table; the test never
 * derives an expectation from the code under test. Columns: TLP, path, this node is the
 * origin, the target is a named recipient, then the verdict with the default config, with
 * export_red on, and with show_attribution on. D = deny, U = unchanged (signed report),
 * S = stripped view only.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "policy/egress.h"

#define TLP_CLEAR PROTO_TLP_CLEAR
#define TLP_GREEN PROTO_TLP_GREEN
#define TLP_AMBER PROTO_TLP_AMBER
#define TLP_AMBER_STRICT PROTO_TLP_AMBER_STRICT
#define TLP_RED PROTO_TLP_RED
#define PATH_GOSSIP POLICY_PATH_GOSSIP
#define PATH_DIRECT POLICY_PATH_DIRECT
#define PATH_SIEM_EXPORT POLICY_PATH_SIEM_EXPORT
#define PATH_PUBLIC_FEED POLICY_PATH_PUBLIC_FEED
#define PATH_LOCAL_OUTPUT POLICY_PATH_LOCAL_OUTPUT
#define D POLICY_EGRESS_DENY
#define U POLICY_EGRESS_UNCHANGED
#define S POLICY_EGRESS_STRIPPED

struct cell {
	int tlp;
	int path;
	int origin;
	int recipient;
	int expect_default;
	int expect_export_red;
	int expect_show_attribution;
};

static const struct cell table[] = {
	{TLP_CLEAR, PATH_GOSSIP, 0, 0, U, U, U},
	{TLP_CLEAR, PATH_GOSSIP, 0, 1, U, U, U},
	{TLP_CLEAR, PATH_GOSSIP, 1, 0, U, U, U},
	{TLP_CLEAR, PATH_GOSSIP, 1, 1, U, U, U},
	{TLP_CLEAR, PATH_DIRECT, 0, 0, D, D, D},
	{TLP_CLEAR, PATH_DIRECT, 0, 1, D, D, D},
	{TLP_CLEAR, PATH_DIRECT, 1, 0, D, D, D},
	{TLP_CLEAR, PATH_DIRECT, 1, 1, D, D, D},
	{TLP_CLEAR, PATH_SIEM_EXPORT, 0, 0, S, S, S},
	{TLP_CLEAR, PATH_SIEM_EXPORT, 0, 1, S, S, S},
	{TLP_CLEAR, PATH_SIEM_EXPORT, 1, 0, S, S, S},
	{TLP_CLEAR, PATH_SIEM_EXPORT, 1, 1, S, S, S},
	{TLP_CLEAR, PATH_PUBLIC_FEED, 0, 0, S, S, S},
	{TLP_CLEAR, PATH_PUBLIC_FEED, 0, 1, S, S, S},
	{TLP_CLEAR, PATH_PUBLIC_FEED, 1, 0, S, S, S},
	{TLP_CLEAR, PATH_PUBLIC_FEED, 1, 1, S, S, S},
	{TLP_CLEAR, PATH_LOCAL_OUTPUT, 0, 0, S, S, U},
	{TLP_CLEAR, PATH_LOCAL_OUTPUT, 0, 1, S, S, U},
	{TLP_CLEAR, PATH_LOCAL_OUTPUT, 1, 0, S, S, U},
	{TLP_CLEAR, PATH_LOCAL_OUTPUT, 1, 1, S, S, U},
	{TLP_GREEN, PATH_GOSSIP, 0, 0, U, U, U},
	{TLP_GREEN, PATH_GOSSIP, 0, 1, U, U, U},
	{TLP_GREEN, PATH_GOSSIP, 1, 0, U, U, U},
	{TLP_GREEN, PATH_GOSSIP, 1, 1, U, U, U},
	{TLP_GREEN, PATH_DIRECT, 0, 0, D, D, D},
	{TLP_GREEN, PATH_DIRECT, 0, 1, D, D, D},
	{TLP_GREEN, PATH_DIRECT, 1, 0, D, D, D},
	{TLP_GREEN, PATH_DIRECT, 1, 1, D, D, D},
	{TLP_GREEN, PATH_SIEM_EXPORT, 0, 0, S, S, S},
	{TLP_GREEN, PATH_SIEM_EXPORT, 0, 1, S, S, S},
	{TLP_GREEN, PATH_SIEM_EXPORT, 1, 0, S, S, S},
	{TLP_GREEN, PATH_SIEM_EXPORT, 1, 1, S, S, S},
	{TLP_GREEN, PATH_PUBLIC_FEED, 0, 0, D, D, D},
	{TLP_GREEN, PATH_PUBLIC_FEED, 0, 1, D, D, D},
	{TLP_GREEN, PATH_PUBLIC_FEED, 1, 0, D, D, D},
	{TLP_GREEN, PATH_PUBLIC_FEED, 1, 1, D, D, D},
	{TLP_GREEN, PATH_LOCAL_OUTPUT, 0, 0, S, S, U},
	{TLP_GREEN, PATH_LOCAL_OUTPUT, 0, 1, S, S, U},
	{TLP_GREEN, PATH_LOCAL_OUTPUT, 1, 0, S, S, U},
	{TLP_GREEN, PATH_LOCAL_OUTPUT, 1, 1, S, S, U},
	{TLP_AMBER, PATH_GOSSIP, 0, 0, D, D, D},
	{TLP_AMBER, PATH_GOSSIP, 0, 1, D, D, D},
	{TLP_AMBER, PATH_GOSSIP, 1, 0, D, D, D},
	{TLP_AMBER, PATH_GOSSIP, 1, 1, D, D, D},
	{TLP_AMBER, PATH_DIRECT, 0, 0, D, D, D},
	{TLP_AMBER, PATH_DIRECT, 0, 1, D, D, D},
	{TLP_AMBER, PATH_DIRECT, 1, 0, D, D, D},
	{TLP_AMBER, PATH_DIRECT, 1, 1, U, U, U},
	{TLP_AMBER, PATH_SIEM_EXPORT, 0, 0, S, S, S},
	{TLP_AMBER, PATH_SIEM_EXPORT, 0, 1, S, S, S},
	{TLP_AMBER, PATH_SIEM_EXPORT, 1, 0, S, S, S},
	{TLP_AMBER, PATH_SIEM_EXPORT, 1, 1, S, S, S},
	{TLP_AMBER, PATH_PUBLIC_FEED, 0, 0, D, D, D},
	{TLP_AMBER, PATH_PUBLIC_FEED, 0, 1, D, D, D},
	{TLP_AMBER, PATH_PUBLIC_FEED, 1, 0, D, D, D},
	{TLP_AMBER, PATH_PUBLIC_FEED, 1, 1, D, D, D},
	{TLP_AMBER, PATH_LOCAL_OUTPUT, 0, 0, S, S, U},
	{TLP_AMBER, PATH_LOCAL_OUTPUT, 0, 1, S, S, U},
	{TLP_AMBER, PATH_LOCAL_OUTPUT, 1, 0, S, S, U},
	{TLP_AMBER, PATH_LOCAL_OUTPUT, 1, 1, S, S, U},
	{TLP_AMBER_STRICT, PATH_GOSSIP, 0, 0, D, D, D},
	{TLP_AMBER_STRICT, PATH_GOSSIP, 0, 1, D, D, D},
	{TLP_AMBER_STRICT, PATH_GOSSIP, 1, 0, D, D, D},
	{TLP_AMBER_STRICT, PATH_GOSSIP, 1, 1, D, D, D},
	{TLP_AMBER_STRICT, PATH_DIRECT, 0, 0, D, D, D},
	{TLP_AMBER_STRICT, PATH_DIRECT, 0, 1, D, D, D},
	{TLP_AMBER_STRICT, PATH_DIRECT, 1, 0, D, D, D},
	{TLP_AMBER_STRICT, PATH_DIRECT, 1, 1, U, U, U},
	{TLP_AMBER_STRICT, PATH_SIEM_EXPORT, 0, 0, S, S, S},
	{TLP_AMBER_STRICT, PATH_SIEM_EXPORT, 0, 1, S, S, S},
	{TLP_AMBER_STRICT, PATH_SIEM_EXPORT, 1, 0, S, S, S},
	{TLP_AMBER_STRICT, PATH_SIEM_EXPORT, 1, 1, S, S, S},
	{TLP_AMBER_STRICT, PATH_PUBLIC_FEED, 0, 0, D, D, D},
	{TLP_AMBER_STRICT, PATH_PUBLIC_FEED, 0, 1, D, D, D},
	{TLP_AMBER_STRICT, PATH_PUBLIC_FEED, 1, 0, D, D, D},
	{TLP_AMBER_STRICT, PATH_PUBLIC_FEED, 1, 1, D, D, D},
	{TLP_AMBER_STRICT, PATH_LOCAL_OUTPUT, 0, 0, S, S, U},
	{TLP_AMBER_STRICT, PATH_LOCAL_OUTPUT, 0, 1, S, S, U},
	{TLP_AMBER_STRICT, PATH_LOCAL_OUTPUT, 1, 0, S, S, U},
	{TLP_AMBER_STRICT, PATH_LOCAL_OUTPUT, 1, 1, S, S, U},
	{TLP_RED, PATH_GOSSIP, 0, 0, D, D, D},
	{TLP_RED, PATH_GOSSIP, 0, 1, D, D, D},
	{TLP_RED, PATH_GOSSIP, 1, 0, D, D, D},
	{TLP_RED, PATH_GOSSIP, 1, 1, D, D, D},
	{TLP_RED, PATH_DIRECT, 0, 0, D, D, D},
	{TLP_RED, PATH_DIRECT, 0, 1, D, D, D},
	{TLP_RED, PATH_DIRECT, 1, 0, D, D, D},
	{TLP_RED, PATH_DIRECT, 1, 1, U, U, U},
	{TLP_RED, PATH_SIEM_EXPORT, 0, 0, D, S, D},
	{TLP_RED, PATH_SIEM_EXPORT, 0, 1, D, S, D},
	{TLP_RED, PATH_SIEM_EXPORT, 1, 0, D, S, D},
	{TLP_RED, PATH_SIEM_EXPORT, 1, 1, D, S, D},
	{TLP_RED, PATH_PUBLIC_FEED, 0, 0, D, D, D},
	{TLP_RED, PATH_PUBLIC_FEED, 0, 1, D, D, D},
	{TLP_RED, PATH_PUBLIC_FEED, 1, 0, D, D, D},
	{TLP_RED, PATH_PUBLIC_FEED, 1, 1, D, D, D},
	{TLP_RED, PATH_LOCAL_OUTPUT, 0, 0, S, S, U},
	{TLP_RED, PATH_LOCAL_OUTPUT, 0, 1, S, S, U},
	{TLP_RED, PATH_LOCAL_OUTPUT, 1, 0, S, S, U},
	{TLP_RED, PATH_LOCAL_OUTPUT, 1, 1, S, S, U},
};

static void cfg_default(struct policy_config *cfg)
{
	policy_config_init(cfg);
	memset(cfg->own_id, 0xA1, 32);
	memset(cfg->community, 0xC0, 32);
}

static void test_table(void **state)
{
	struct policy_config def, red, attr;

	(void)state;
	cfg_default(&def);
	cfg_default(&red);
	red.export_red = true;
	cfg_default(&attr);
	attr.show_attribution = true;

	assert_int_equal(sizeof(table) / sizeof(table[0]), 5 * 5 * 2 * 2);
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct cell *c = &table[i];
		int got_def = policy_egress_check(&def, c->path, c->tlp, c->origin, c->recipient);
		int got_red = policy_egress_check(&red, c->path, c->tlp, c->origin, c->recipient);
		int got_attr = policy_egress_check(&attr, c->path, c->tlp, c->origin, c->recipient);

		if (got_def != c->expect_default || got_red != c->expect_export_red ||
		    got_attr != c->expect_show_attribution)
			fail_msg(
				"row %zu: %s %s origin=%d recipient=%d: got %s/%s/%s want %s/%s/%s",
				i, proto_tlp_name(c->tlp), policy_path_name(c->path), c->origin,
				c->recipient, policy_egress_name(got_def),
				policy_egress_name(got_red), policy_egress_name(got_attr),
				policy_egress_name(c->expect_default),
				policy_egress_name(c->expect_export_red),
				policy_egress_name(c->expect_show_attribution));
	}
}

/* Default deny: anything outside the enums gets nothing, whatever the other inputs. */
static void test_unknown_denied(void **state)
{
	static const int bad_tlps[] = {0, 6, 7, 255, -1};
	static const int bad_paths[] = {0, 6, 7, 255, -1};
	struct policy_config cfg;

	(void)state;
	cfg_default(&cfg);
	cfg.export_red = true;
	cfg.show_attribution = true;
	for (size_t t = 0; t < sizeof(bad_tlps) / sizeof(bad_tlps[0]); t++)
		for (int path = 0; path <= 6; path++)
			for (int o = 0; o < 2; o++)
				for (int r = 0; r < 2; r++)
					assert_int_equal(
						policy_egress_check(&cfg, path, bad_tlps[t], o, r),
						D);
	for (size_t p = 0; p < sizeof(bad_paths) / sizeof(bad_paths[0]); p++)
		for (int tlp = PROTO_TLP_CLEAR; tlp <= PROTO_TLP_RED; tlp++)
			for (int o = 0; o < 2; o++)
				for (int r = 0; r < 2; r++)
					assert_int_equal(
						policy_egress_check(&cfg, bad_paths[p], tlp, o, r),
						D);
}

/*
 * policy_egress_check_report() derives origin and recipient from the report itself: origin
 * only for an attributed report signed by own_id, recipient only for a target in the list.
 */
static void test_check_report(void **state)
{
	struct policy_config cfg;
	struct proto_report r;
	uint8_t rcpt[2][32], other[32], stranger[32];

	(void)state;
	cfg_default(&cfg);
	memset(rcpt[0], 0x10, 32);
	memset(rcpt[1], 0x20, 32);
	memset(other, 0xB2, 32);
	memset(stranger, 0x30, 32);
	memset(&r, 0, sizeof(r));
	r.tlp = PROTO_TLP_AMBER;
	r.prov = PROTO_PROV_ATTRIBUTED;
	memcpy(r.signer, cfg.own_id, 32);
	memcpy(r.recipients, rcpt, sizeof(rcpt));
	r.n_recipients = 2;

	assert_int_equal(policy_egress_check_report(&cfg, PATH_DIRECT, &r, rcpt[0]), U);
	assert_int_equal(policy_egress_check_report(&cfg, PATH_DIRECT, &r, rcpt[1]), U);
	assert_int_equal(policy_egress_check_report(&cfg, PATH_DIRECT, &r, stranger), D);
	assert_int_equal(policy_egress_check_report(&cfg, PATH_DIRECT, &r, NULL), D);
	assert_int_equal(policy_egress_check_report(&cfg, PATH_GOSSIP, &r, rcpt[0]), D);
	assert_int_equal(policy_egress_check_report(&cfg, PATH_SIEM_EXPORT, &r, NULL), S);

	/* A recipient holding someone else's AMBER report may not pass it on, even to another
	 * named recipient. */
	memcpy(r.signer, other, 32);
	assert_int_equal(policy_egress_check_report(&cfg, PATH_DIRECT, &r, rcpt[0]), D);

	/* Anonymous is never origin (and anonymous AMBER is never admitted anyway). */
	r.prov = PROTO_PROV_ANONYMOUS;
	memcpy(r.signer, cfg.own_id, 32);
	assert_int_equal(policy_egress_check_report(&cfg, PATH_DIRECT, &r, rcpt[0]), D);

	r.prov = PROTO_PROV_ATTRIBUTED;
	r.tlp = PROTO_TLP_RED;
	assert_int_equal(policy_egress_check_report(&cfg, PATH_DIRECT, &r, rcpt[1]), U);
	assert_int_equal(policy_egress_check_report(&cfg, PATH_SIEM_EXPORT, &r, NULL), D);
	cfg.export_red = true;
	assert_int_equal(policy_egress_check_report(&cfg, PATH_SIEM_EXPORT, &r, NULL), S);

	r.tlp = PROTO_TLP_CLEAR;
	r.n_recipients = 0;
	assert_int_equal(policy_egress_check_report(&cfg, PATH_DIRECT, &r, rcpt[0]), D);
	assert_int_equal(policy_egress_check_report(&cfg, PATH_GOSSIP, &r, rcpt[0]), U);
	assert_int_equal(policy_egress_check_report(&cfg, PATH_PUBLIC_FEED, &r, NULL), S);
}

/* Summaries by their strictest TLP; never onto member links, never unchanged. */
static void test_summary(void **state)
{
	static const struct {
		int tlp;
		int path;
		int expect_default;
		int expect_red_attr; /* export_red and show_attribution both on */
	} rows[] = {
		{TLP_CLEAR, PATH_GOSSIP, D, D},
		{TLP_CLEAR, PATH_DIRECT, D, D},
		{TLP_CLEAR, PATH_SIEM_EXPORT, S, S},
		{TLP_CLEAR, PATH_PUBLIC_FEED, S, S},
		{TLP_CLEAR, PATH_LOCAL_OUTPUT, S, S},
		{TLP_GREEN, PATH_GOSSIP, D, D},
		{TLP_GREEN, PATH_DIRECT, D, D},
		{TLP_GREEN, PATH_SIEM_EXPORT, S, S},
		{TLP_GREEN, PATH_PUBLIC_FEED, D, D},
		{TLP_GREEN, PATH_LOCAL_OUTPUT, S, S},
		{TLP_AMBER, PATH_GOSSIP, D, D},
		{TLP_AMBER, PATH_DIRECT, D, D},
		{TLP_AMBER, PATH_SIEM_EXPORT, S, S},
		{TLP_AMBER, PATH_PUBLIC_FEED, D, D},
		{TLP_AMBER, PATH_LOCAL_OUTPUT, S, S},
		{TLP_AMBER_STRICT, PATH_GOSSIP, D, D},
		{TLP_AMBER_STRICT, PATH_DIRECT, D, D},
		{TLP_AMBER_STRICT, PATH_SIEM_EXPORT, S, S},
		{TLP_AMBER_STRICT, PATH_PUBLIC_FEED, D, D},
		{TLP_AMBER_STRICT, PATH_LOCAL_OUTPUT, S, S},
		{TLP_RED, PATH_GOSSIP, D, D},
		{TLP_RED, PATH_DIRECT, D, D},
		{TLP_RED, PATH_SIEM_EXPORT, D, S},
		{TLP_RED, PATH_PUBLIC_FEED, D, D},
		{TLP_RED, PATH_LOCAL_OUTPUT, S, S},
		{0, PATH_SIEM_EXPORT, D, D},
		{0, PATH_LOCAL_OUTPUT, D, D},
		{6, PATH_SIEM_EXPORT, D, D},
		{TLP_CLEAR, 0, D, D},
		{TLP_CLEAR, 6, D, D},
	};
	struct policy_config def, on;
	struct proto_summary s;

	(void)state;
	cfg_default(&def);
	cfg_default(&on);
	on.export_red = true;
	on.show_attribution = true;
	memset(&s, 0, sizeof(s));
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		s.tlp = (uint8_t)rows[i].tlp;
		assert_int_equal(policy_egress_check_summary(&def, rows[i].path, &s),
				 rows[i].expect_default);
		assert_int_equal(policy_egress_check_summary(&on, rows[i].path, &s),
				 rows[i].expect_red_attr);
	}
}

static void test_attribution_visible(void **state)
{
	struct policy_config cfg;
	struct proto_report r;

	(void)state;
	cfg_default(&cfg);
	memset(&r, 0, sizeof(r));
	r.tlp = PROTO_TLP_GREEN;
	r.prov = PROTO_PROV_ATTRIBUTED;
	memcpy(r.signer, cfg.own_id, 32);
	assert_true(policy_egress_attribution_visible(&cfg, &r));
	r.signer[31] ^= 1;
	assert_false(policy_egress_attribution_visible(&cfg, &r));
	r.prov = PROTO_PROV_ANONYMOUS;
	assert_false(policy_egress_attribution_visible(&cfg, &r));
	cfg.show_attribution = true;
	assert_true(policy_egress_attribution_visible(&cfg, &r));
	r.prov = PROTO_PROV_ATTRIBUTED;
	assert_true(policy_egress_attribution_visible(&cfg, &r));
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(policy_path_name(PATH_GOSSIP), "gossip");
	assert_string_equal(policy_path_name(PATH_DIRECT), "direct");
	assert_string_equal(policy_path_name(PATH_SIEM_EXPORT), "siem_export");
	assert_string_equal(policy_path_name(PATH_PUBLIC_FEED), "public_feed");
	assert_string_equal(policy_path_name(PATH_LOCAL_OUTPUT), "local_output");
	assert_null(policy_path_name(0));
	assert_null(policy_path_name(6));
	assert_string_equal(policy_egress_name(D), "deny");
	assert_string_equal(policy_egress_name(U), "unchanged");
	assert_string_equal(policy_egress_name(S), "stripped");
	assert_null(policy_egress_name(3));
}

static void test_config(void **state)
{
	struct policy_config cfg;
	char longname[PROTO_ROSTER_NAME_MAX + 2];

	(void)state;
	memset(&cfg, 0x5A, sizeof(cfg));
	policy_config_init(&cfg);
	assert_int_equal(cfg.descriptions, POLICY_DESC_REDACT);
	assert_false(cfg.export_red);
	assert_false(cfg.show_attribution);
	assert_int_equal(cfg.max_skew_ms, POLICY_DEFAULT_MAX_SKEW_MS);
	assert_string_equal(cfg.community_name, "");

	assert_int_equal(policy_desc_mode_from_name("redact"), POLICY_DESC_REDACT);
	assert_int_equal(policy_desc_mode_from_name("DROP"), POLICY_DESC_DROP);
	assert_int_equal(policy_desc_mode_from_name("Keep"), POLICY_DESC_KEEP);
	assert_int_equal(policy_desc_mode_from_name("kept"), -1);
	assert_int_equal(policy_desc_mode_from_name(""), -1);
	assert_string_equal(policy_desc_mode_name(POLICY_DESC_DROP), "drop");
	assert_null(policy_desc_mode_name(3));
	assert_null(policy_desc_mode_name(-1));

	assert_int_equal(policy_config_set_community_name(&cfg, "FIRST EU"), 0);
	assert_string_equal(cfg.community_name, "FIRST EU");
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(policy_config_set_community_name(&cfg, longname), -ENAMETOOLONG);
	assert_string_equal(cfg.community_name, "FIRST EU");
	longname[PROTO_ROSTER_NAME_MAX] = '\0';
	assert_int_equal(policy_config_set_community_name(&cfg, longname), 0);
	assert_int_equal(strlen(cfg.community_name), PROTO_ROSTER_NAME_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_unknown_denied),
		cmocka_unit_test(test_check_report),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_attribution_visible),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
