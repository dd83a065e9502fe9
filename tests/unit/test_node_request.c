/* SPDX-License-Identifier: MIT */
/* node/request: API request validation (table-driven) and RFC 3339 times. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "node/format/request.h"
#include "proto/error.h"

static const struct {
	const char *line;
	int code;
	const char *field;
} bad[] = {
	{"", NODE_E_JSON, ""},
	{"{", NODE_E_JSON, ""},
	{"null", NODE_E_JSON, ""},
	{"[]", NODE_E_REQUEST, ""},
	{"{}", NODE_E_FIELD, "op"},
	{"{\"op\":null}", NODE_E_FIELD, "op"},
	{"{\"op\":\"PUBLISH\"}", NODE_E_OP, "op"},
	{"{\"op\":\"status\",\"op\":\"peers\"}", NODE_E_JSON, ""},
	{"{\"op\":\"status\",\"id\":1.5}", NODE_E_FIELD, "id"},
	{"{\"op\":\"status\",\"id\":[1]}", NODE_E_FIELD, "id"},
	{"{\"op\":\"status\",\"x\":1}", NODE_E_FIELD, "x"},
	{"{\"op\":\"publish\"}", NODE_E_FIELD, "value"},
	{"{\"op\":\"publish\",\"value\":5,\"tlp\":\"GREEN\"}", NODE_E_FIELD, "value"},
	{"{\"op\":\"publish\",\"value\":\"1.2.3.4\"}", PROTO_E_REPORT_TLP, "tlp"},
	{"{\"op\":\"publish\",\"value\":\"1.2.3.4\",\"tlp\":\"BLUE\"}", PROTO_E_REPORT_TLP, "tlp"},
	{"{\"op\":\"publish\",\"value\":\"1.2.3.4\",\"tlp\":1}", PROTO_E_REPORT_TLP, "tlp"},
	{"{\"op\":\"publish\",\"value\":\"1.2.3.4\",\"type\":\"ip\",\"tlp\":\"GREEN\"}",
	 PROTO_E_IND_TYPE, "type"},
	{"{\"op\":\"publish\",\"value\":\"1.2.3.4\",\"type\":\"ipv6\",\"tlp\":\"GREEN\"}",
	 PROTO_E_IND_VALUE, "value"},
	{"{\"op\":\"publish\",\"value\":\"\",\"tlp\":\"GREEN\"}", PROTO_E_IND_VALUE, "value"},
	{"{\"op\":\"publish\",\"value\":\"1.2.3.4\",\"tlp\":\"GREEN\",\"confidence\":-1}",
	 PROTO_E_REPORT_CONFIDENCE, "confidence"},
	{"{\"op\":\"publish\",\"value\":\"1.2.3.4\",\"tlp\":\"GREEN\",\"confidence\":50.0}",
	 PROTO_E_REPORT_CONFIDENCE, "confidence"},
	{"{\"op\":\"publish\",\"value\":\"1.2.3.4\",\"tlp\":\"GREEN\",\"kind\":\"x\"}",
	 PROTO_E_REPORT_KIND, "kind"},
	{"{\"op\":\"sight\",\"value\":\"1.2.3.4\",\"tlp\":\"GREEN\",\"kind\":\"revoke\"}",
	 PROTO_E_REPORT_KIND, "kind"},
	{"{\"op\":\"publish\",\"value\":\"1.2.3.4\",\"tlp\":\"GREEN\",\"ttl\":1,"
	 "\"valid_until\":99999999999999}",
	 NODE_E_FIELD, "ttl"},
	{"{\"op\":\"publish\",\"value\":\"1.2.3.4\",\"tlp\":\"GREEN\",\"ttl\":999999999999}",
	 PROTO_E_REPORT_TIME, "ttl"},
	{"{\"op\":\"publish\",\"value\":\"1.2.3.4\",\"tlp\":\"GREEN\","
	 "\"valid_until\":\"2030-02-30T00:00:00Z\"}",
	 PROTO_E_REPORT_TIME, "valid_until"},
	/* Year 10000 or later: an export could not print it (issue 13, "export poison"). */
	{"{\"op\":\"publish\",\"value\":\"1.2.3.4\",\"tlp\":\"GREEN\","
	 "\"valid_until\":9223372036854775807}",
	 PROTO_E_REPORT_TIME, "valid_until"},
	{"{\"op\":\"publish\",\"value\":\"1.2.3.4\",\"tlp\":\"GREEN\","
	 "\"valid_until\":253402300800000}",
	 PROTO_E_REPORT_TIME, "valid_until"},
	{"{\"op\":\"publish\",\"value\":\"1.2.3.4\",\"tlp\":\"GREEN\","
	 "\"valid_until\":\"9999-12-31T23:30:00-01:00\"}",
	 PROTO_E_REPORT_TIME, "valid_until"},
	{"{\"op\":\"publish\",\"value\":\"1.2.3.4\",\"tlp\":\"GREEN\",\"tags\":\"a\"}",
	 PROTO_E_REPORT_TAG, "tags"},
	{"{\"op\":\"publish\",\"value\":\"1.2.3.4\",\"tlp\":\"GREEN\",\"tags\":[\"\"]}",
	 PROTO_E_REPORT_TAG, "tags[0]"},
	{"{\"op\":\"publish\",\"value\":\"1.2.3.4\",\"tlp\":\"GREEN\",\"tags\":[\"a\",\"b\",\"c\","
	 "\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\",\"k\",\"l\",\"m\",\"n\",\"o\",\"p\",\"q\"]}",
	 PROTO_E_TOO_LARGE, "tags"},
	{"{\"op\":\"publish\",\"value\":\"1.2.3.4\",\"tlp\":\"GREEN\",\"description\":7}",
	 NODE_E_FIELD, "description"},
	{"{\"op\":\"publish\",\"value\":\"1.2.3.4\",\"tlp\":\"GREEN\",\"anonymous\":1}",
	 NODE_E_FIELD, "anonymous"},
	{"{\"op\":\"publish\",\"value\":\"1.2.3.4\",\"tlp\":\"GREEN\",\"anonymous\":\"yes\"}",
	 NODE_E_FIELD, "anonymous"},
	{"{\"op\":\"publish\",\"value\":\"1.2.3.4\",\"tlp\":\"AMBER\",\"anonymous\":true,"
	 "\"recipients\":[\"0101010101010101010101010101010101010101010101010101010101010101\"]}",
	 PROTO_E_REPORT_PROVENANCE, "anonymous"},
	{"{\"op\":\"revoke\",\"value\":\"1.2.3.4\",\"tlp\":\"red\",\"anonymous\":true}",
	 PROTO_E_REPORT_PROVENANCE, "anonymous"},
	{"{\"op\":\"publish\",\"value\":\"1.2.3.4\",\"tlp\":\"RED\",\"recipients\":[]}",
	 PROTO_E_REPORT_RECIPIENTS, "recipients"},
	{"{\"op\":\"publish\",\"value\":\"1.2.3.4\",\"tlp\":\"RED\",\"recipients\":["
	 "\"0101010101010101010101010101010101010101010101010101010101010101\","
	 "\"0101010101010101010101010101010101010101010101010101010101010101\"]}",
	 PROTO_E_REPORT_RECIPIENTS, "recipients"},
	{"{\"op\":\"publish\",\"reports\":[{\"value\":\"1.2.3.4\",\"tlp\":\"GREEN\"}],"
	 "\"value\":\"x\"}",
	 NODE_E_FIELD, "value"},
	{"{\"op\":\"query\",\"value\":\"1.2.3.4\",\"indicator_id\":\"00\"}", NODE_E_FIELD,
	 "indicator_id"},
	{"{\"op\":\"query\",\"value\":\"not a domain\"}", PROTO_E_IND_VALUE, "value"},
	{"{\"op\":\"list\",\"limit\":1001}", NODE_E_FIELD, "limit"},
	{"{\"op\":\"list\",\"since\":\"0\"}", NODE_E_FIELD, "since"},
	{"{\"op\":\"peers\",\"reports\":[]}", NODE_E_FIELD, "reports"},
	{"{\"op\":\"seal\"}", NODE_E_FIELD, "values"},
	{"{\"op\":\"seal\",\"values\":[]}", NODE_E_FIELD, "values"},
	{"{\"op\":\"seal\",\"value\":\"1.2.3.4\"}", NODE_E_FIELD, "value"},
	{"{\"op\":\"seal\",\"values\":[7]}", NODE_E_FIELD, "values[0]"},
	{"{\"op\":\"seal\",\"values\":[{\"value\":\"1.2.3.4\",\"tlp\":\"GREEN\"}]}", NODE_E_FIELD,
	 "tlp"},
	{"{\"op\":\"seal\",\"values\":[{\"value\":\"x.example\"},{\"value\":\"no pe\"}]}",
	 PROTO_E_IND_VALUE, "values[1].value"},
	{"{\"op\":\"seal\",\"values\":[{\"value\":\"x.example\",\"confidence\":101}]}",
	 PROTO_E_REPORT_CONFIDENCE, "values[0].confidence"},
};

static void test_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct node_request *req = (void *)1;
		struct node_req_error err;
		json_t *id = NULL;
		int r = node_request_parse(bad[i].line, strlen(bad[i].line), &req, &id, &err);
		if (r != bad[i].code || err.code != r || strcmp(err.field, bad[i].field))
			fail_msg("%s: got %d (%s) field '%s': %s", bad[i].line, r,
				 proto_error_name(r), err.field, err.message);
		assert_null(req);
		assert_true(err.message[0] != '\0');
		json_decref(id);
	}
}

static void test_error_echoes_id(void **state)
{
	static const char line[] = "{\"op\":\"publish\",\"id\":\"abc\",\"value\":\"1.2.3.4\"}";
	struct node_request *req;
	struct node_req_error err;
	json_t *id = NULL, *resp;

	(void)state;
	assert_int_equal(node_request_parse(line, strlen(line), &req, &id, &err),
			 PROTO_E_REPORT_TLP);
	resp = node_req_error_response(id, &err);
	assert_non_null(resp);
	assert_string_equal(json_string_value(json_object_get(resp, "id")), "abc");
	assert_true(json_is_false(json_object_get(resp, "ok")));
	json_t *e = json_object_get(resp, "error");
	assert_string_equal(json_string_value(json_object_get(e, "code")), "PROTO_E_REPORT_TLP");
	assert_int_equal(json_integer_value(json_object_get(e, "number")), PROTO_E_REPORT_TLP);
	assert_string_equal(json_string_value(json_object_get(e, "field")), "tlp");
	json_decref(resp);
	json_decref(id);
}

static void test_single_publish(void **state)
{
	static const char line[] =
		"{\"op\":\"publish\",\"id\":4,\"value\":\"Evil.Example.\",\"tlp\":\"tlp:amber+strict\","
		"\"confidence\":90,\"tags\":[\"c2\",\"x\"],\"description\":\"d\",\"ttl\":60,"
		"\"recipients\":[\"ff00000000000000000000000000000000000000000000000000000000000000\","
		"\"0100000000000000000000000000000000000000000000000000000000000000\"]}";
	struct node_request *req;
	struct node_req_error err;

	(void)state;
	assert_int_equal(node_request_parse(line, strlen(line), &req, NULL, &err), 0);
	assert_int_equal(req->op, NODE_OP_PUBLISH);
	assert_false(req->batch);
	assert_int_equal(json_integer_value(req->id), 4);
	assert_int_equal(req->n_items, 1);
	const struct node_req_item *it = &req->items[0];
	assert_int_equal(it->error.code, 0);
	assert_int_equal(it->kind, PROTO_KIND_INDICATOR);
	assert_int_equal(it->tlp, PROTO_TLP_AMBER_STRICT);
	assert_int_equal(it->ind_type, PROTO_IND_DOMAIN);
	assert_string_equal(it->ind_value, "evil.example");
	assert_int_equal(it->confidence, 90);
	assert_int_equal(it->ttl_ms, 60000);
	assert_int_equal(it->n_tags, 2);
	assert_string_equal(it->tags[1], "x");
	assert_string_equal(it->description, "d");
	assert_int_equal(it->n_recipients, 2);
	assert_int_equal(it->recipients[0][0], 0x01); /* sorted */
	assert_int_equal(it->recipients[1][0], 0xff);
	node_request_free(req);
}

/* "anonymous" is a per-item boolean, refused with AMBER and stricter, default false. */
static void test_anonymous(void **state)
{
	static const char line[] =
		"{\"op\":\"revoke\",\"reports\":[{\"value\":\"1.2.3.4\",\"tlp\":\"GREEN\","
		"\"anonymous\":true},{\"value\":\"1.2.3.4\",\"tlp\":\"CLEAR\",\"anonymous\":false},"
		"{\"value\":\"1.2.3.4\",\"tlp\":\"CLEAR\"},"
		"{\"value\":\"1.2.3.4\",\"tlp\":\"AMBER+STRICT\",\"anonymous\":true,"
		"\"recipients\":[\"0101010101010101010101010101010101010101010101010101010101010101\"]}]}";
	struct node_request *req;
	struct node_req_error err;

	(void)state;
	assert_int_equal(node_request_parse(line, strlen(line), &req, NULL, &err), 0);
	assert_int_equal(req->n_items, 4);
	assert_int_equal(req->items[0].error.code, 0);
	assert_true(req->items[0].anonymous);
	assert_int_equal(req->items[0].kind, PROTO_KIND_REVOKE);
	assert_int_equal(req->items[1].error.code, 0);
	assert_false(req->items[1].anonymous);
	assert_int_equal(req->items[2].error.code, 0);
	assert_false(req->items[2].anonymous);
	assert_int_equal(req->items[3].error.code, PROTO_E_REPORT_PROVENANCE);
	assert_string_equal(req->items[3].error.field, "reports[3].anonymous");
	assert_non_null(strstr(req->items[3].error.message, "CLEAR and TLP:GREEN"));
	node_request_free(req);
}

static void test_batch_and_kinds(void **state)
{
	static const char line[] =
		"{\"op\":\"false_positive\",\"reports\":["
		"{\"value\":\"1.2.3.4\",\"tlp\":\"CLEAR\"},"
		"{\"value\":\"1.2.3.400\",\"tlp\":\"CLEAR\"},"
		"7,"
		"{\"value\":\"d41d8cd98f00b204e9800998ecf8427e\",\"tlp\":\"green\","
		"\"valid_until\":\"2030-01-31T00:00:00.5+01:00\"}]}";
	struct node_request *req;
	struct node_req_error err;

	(void)state;
	assert_int_equal(node_request_parse(line, strlen(line), &req, NULL, &err), 0);
	assert_true(req->batch);
	assert_int_equal(req->n_items, 4);
	assert_int_equal(req->items[0].kind, PROTO_KIND_FALSE_POSITIVE);
	assert_int_equal(req->items[0].ind_type, PROTO_IND_IPV4);
	assert_int_equal(req->items[1].error.code, PROTO_E_IND_VALUE);
	assert_string_equal(req->items[1].error.field, "reports[1].value");
	assert_null(req->items[1].ind_value); /* a rejected item owns nothing */
	assert_int_equal(req->items[2].error.code, NODE_E_FIELD);
	assert_string_equal(req->items[2].error.field, "reports[2]");
	assert_int_equal(req->items[3].ind_type, PROTO_IND_MD5);
	assert_int_equal(req->items[3].valid_until_ms, 1896044400500ull);
	node_request_free(req);
}

static void test_query_list(void **state)
{
	static const char q1[] = "{\"op\":\"query\",\"value\":\"2001:DB8::1\"}";
	static const char q2[] =
		"{\"op\":\"query\",\"indicator_id\":"
		"\"00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\"}";
	static const char l1[] = "{\"op\":\"list\",\"since\":5,\"limit\":1000}";
	struct node_request *req;
	struct node_req_error err;

	(void)state;
	assert_int_equal(node_request_parse(q1, strlen(q1), &req, NULL, &err), 0);
	assert_true(req->has_ind);
	assert_int_equal(req->ind_type, PROTO_IND_IPV6);
	assert_string_equal(req->ind_value, "2001:db8::1");
	node_request_free(req);
	assert_int_equal(node_request_parse(q2, strlen(q2), &req, NULL, &err), 0);
	assert_false(req->has_ind);
	assert_int_equal(req->ind_id[31], 0xff);
	node_request_free(req);
	assert_int_equal(node_request_parse(l1, strlen(l1), &req, NULL, &err), 0);
	assert_int_equal(req->since, 5);
	assert_int_equal(req->limit, 1000);
	node_request_free(req);
}

static void test_seal(void **state)
{
	static const char s1[] =
		"{\"op\":\"seal\",\"id\":3,\"values\":[{\"value\":\"Evil.Example.\"},"
		"{\"value\":\"198.18.0.1\",\"type\":\"ipv4\",\"confidence\":90}]}";
	struct node_request *req;
	struct node_req_error err;
	char *big;
	size_t n = 0;

	(void)state;
	assert_int_equal(node_request_parse(s1, strlen(s1), &req, NULL, &err), 0);
	assert_int_equal(req->op, NODE_OP_SEAL);
	assert_int_equal(req->n_sealed, 2);
	assert_string_equal(req->sealed[0].ind.value, "evil.example");
	assert_int_equal(req->sealed[0].ind.type, PROTO_IND_DOMAIN);
	assert_int_equal(req->sealed[0].confidence, NODE_REQ_CONFIDENCE_DEFAULT);
	assert_int_equal(req->sealed[1].confidence, 90);
	assert_string_equal(node_req_op_name(req->op), "seal");
	assert_false(node_req_op_is_publish(req->op));
	node_request_free(req);
	/* One value more than a request may hold. */
	big = malloc(64 + 32 * (NODE_REQ_SEAL_MAX + 1));
	assert_non_null(big);
	n += (size_t)sprintf(big, "{\"op\":\"seal\",\"values\":[");
	for (int i = 0; i <= NODE_REQ_SEAL_MAX; i++)
		n += (size_t)sprintf(big + n, "%s{\"value\":\"a%d.example\"}", i ? "," : "", i);
	n += (size_t)sprintf(big + n, "]}");
	assert_int_equal(node_request_parse(big, n, &req, NULL, &err), PROTO_E_TOO_LARGE);
	assert_null(req);
	free(big);
}

/* Issue 13: a line no valid request needs is refused before jansson builds its tree. */
static void test_shape_limits(void **state)
{
	size_t n = NODE_REQ_CONTAINERS_MAX + 1, len = 0;
	char *line = malloc(32 + 3 * n);
	struct node_request *req = NULL;
	struct node_req_error err;
	json_t *id = NULL;

	(void)state;
	assert_non_null(line);
	len += (size_t)sprintf(line, "{\"op\":\"publish\",\"reports\":[");
	for (size_t i = 0; i < n - 2; i++)
		len += (size_t)sprintf(line + len, "{},");
	len += (size_t)sprintf(line + len, "{}]}");
	assert_int_equal(node_request_parse(line, len, &req, &id, &err), PROTO_E_TOO_LARGE);
	assert_null(req);
	assert_non_null(strstr(err.message, "objects/arrays"));
	/* the same characters inside a string (even after an escaped quote) are text */
	len = (size_t)sprintf(line, "{\"op\":\"publish\",\"tlp\":\"GREEN\",\"value\":\"\\\"");
	memset(line + len, '{', n);
	len += n;
	len += (size_t)sprintf(line + len, "\"}");
	assert_int_equal(node_request_parse(line, len, &req, &id, &err), PROTO_E_IND_VALUE);
	json_decref(id);
	free(line);
}

static void test_times(void **state)
{
	static const struct {
		const char *s;
		int r;
		uint64_t ms;
	} t[] = {
		{"1970-01-01T00:00:00Z", 0, 0},
		{"2000-02-29T12:34:56.789Z", 0, 951827696789ull},
		{"2024-12-31T23:59:60Z", 0, 1735689599000ull},
		{"2030-01-01t00:00:00z", 0, 1893456000000ull},
		{"2030-01-01T01:00:00+01:00", 0, 1893456000000ull},
		{"2030-01-01T00:00:00.1234Z", 0, 1893456000123ull},
		{"1969-12-31T23:59:59Z", -EINVAL, 0},
		{"2023-02-29T00:00:00Z", -EINVAL, 0},
		{"2030-13-01T00:00:00Z", -EINVAL, 0},
		{"2030-01-01T24:00:00Z", -EINVAL, 0},
		{"2030-01-01T00:00:00", -EINVAL, 0},
		{"2030-01-01T00:00:00.Z", -EINVAL, 0},
		{"2030-01-01 00:00:00Z", -EINVAL, 0},
		{"2030-01-01T00:00:00Zjunk", -EINVAL, 0},
		{"9999-12-31T23:59:59.999Z", 0, PROTO_REPORT_TIME_MAX_MS},
		{"9999-12-31T23:59:59.999-00:01", -ERANGE, 0},
	};
	char buf[40];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t ms = 12345;
		int r = node_req_time_parse(t[i].s, &ms);
		if (r != t[i].r || (r == 0 && ms != t[i].ms))
			fail_msg("%s: r=%d ms=%llu", t[i].s, r, (unsigned long long)ms);
	}
	assert_string_equal(node_req_time_format(951827696789ull, buf, sizeof(buf)),
			    "2000-02-29T12:34:56.789Z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_error_echoes_id),
		cmocka_unit_test(test_single_publish),
		cmocka_unit_test(test_anonymous),
		cmocka_unit_test(test_batch_and_kinds),
		cmocka_unit_test(test_query_list),
		cmocka_unit_test(test_seal),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_shape_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
