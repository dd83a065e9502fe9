/* SPDX-License-Identifier: MIT */
/*
 * store/backup: a copy restores to the same store (same reports, same store id), files are
 * 0600, and every refusal: copy over an existing file, copy of no store, restore while the
 * store is open, restore of a damaged file, a second restore over an earlier one's kept
 * store. store_export_discard() removes an export and never a main store.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto/crypto.h"
#include "proto/error.h"
#include "store/backup.h"
#include "store/export.h"
#include "store/store.h"
#include "store/store_test.h"
#include "testutil.h"

#define T0 1700000000000ull

static char *path(const char *dir, const char *name)
{
	char *p;

	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

static void put(struct store *s, unsigned i)
{
	struct proto_report r;
	struct store_item it;
	char value[64], bytes[96];
	const void *parts[1];
	size_t lens[1];

	snprintf(value, sizeof(value), "host%u.example.org", i);
	memset(&r, 0, sizeof(r));
	r.kind = PROTO_KIND_INDICATOR;
	r.tlp = PROTO_TLP_GREEN;
	r.confidence = 50;
	r.created_ms = T0 + i;
	r.ind_type = PROTO_IND_DOMAIN;
	r.ind_value.ptr = value;
	r.ind_value.len = strlen(value);
	r.prov = PROTO_PROV_ATTRIBUTED;
	memset(r.signer, 7, 32);
	memset(&it, 0, sizeof(it));
	it.len = (size_t)snprintf(bytes, sizeof(bytes), "report %u", i);
	it.bytes = (const uint8_t *)bytes;
	parts[0] = bytes;
	lens[0] = it.len;
	proto_hash(it.report_id, 32, parts, lens, 1);
	it.r = &r;
	assert_int_equal(store_ingest(s, &it, 1, T0), 0);
	assert_int_equal(it.result, STORE_NEW);
}

static struct store *open_store(const char *dir)
{
	struct store_config c = {.dir = dir};
	struct store *s = NULL;

	assert_int_equal(store_open(&s, &c), 0);
	return s;
}

static int setup(void **state)
{
	(void)state;
	return proto_crypto_init();
}

static void test_copy_and_restore(void **state)
{
	char *dir = tu_tmpdir(), *a = path(dir, "a"), *b = path(dir, "b"), *file;
	uint8_t id_a[16], id_b[16];
	struct store *s = open_store(a);
	struct store_stat st;
	struct stat fs;
	uint64_t bytes = 0;
	char why[128];

	(void)state;
	for (unsigned i = 0; i < 300; i++)
		put(s, i);
	store_id(s, id_a);
	store_close(s);
	file = path(dir, "backup.mdb");
	assert_int_equal(store_backup_copy(a, file, &bytes), 0);
	assert_int_equal(stat(file, &fs), 0);
	assert_int_equal(fs.st_mode & 0777, 0600);
	assert_int_equal((uint64_t)fs.st_size, bytes);
	assert_int_equal(store_backup_copy(a, file, NULL), -EEXIST);

	assert_int_equal(store_backup_restore(file, b, why, sizeof(why)), 0);
	s = open_store(b);
	assert_int_equal(store_stat(s, &st), 0);
	assert_int_equal(st.reports, 300);
	store_id(s, id_b);
	assert_memory_equal(id_a, id_b, 16);
	assert_int_equal(store_verify(s, why, sizeof(why)), 0);

	/* The node is running on b: no restore. */
	assert_int_equal(store_backup_restore(file, b, why, sizeof(why)), STORE_E_BUSY);
	store_close(s);
	{
		char *data = path(b, "data.mdb");

		assert_int_equal(stat(data, &fs), 0);
		assert_int_equal(fs.st_mode & 0777, 0600);
		free(data);
	}

	/* A restore over a store keeps it beside; a second one would have to drop it: no. */
	assert_int_equal(store_backup_restore(file, b, why, sizeof(why)), 0);
	{
		char *kept = path(b, "data.mdb.before-restore");

		assert_int_equal(stat(kept, &fs), 0);
		free(kept);
	}
	assert_int_equal(store_backup_restore(file, b, why, sizeof(why)), -EEXIST);
	assert_non_null(strstr(why, "before-restore"));

	tu_rmtree(dir);
	free(file);
	free(a);
	free(b);
	free(dir);
}

static void test_refusals(void **state)
{
	char *dir = tu_tmpdir(), *a = path(dir, "a"), *b = path(dir, "b"), *junk, *file;
	char why[128];
	FILE *f;

	(void)state;
	file = path(dir, "none.mdb");
	assert_int_equal(store_backup_copy(a, file, NULL), STORE_E_NOT_FOUND);
	assert_int_not_equal(access(file, F_OK), 0);

	junk = path(dir, "junk.mdb");
	f = fopen(junk, "w");
	assert_non_null(f);
	for (int i = 0; i < 8192; i++)
		fputc(i * 7, f);
	fclose(f);
	assert_int_not_equal(store_backup_restore(junk, b, why, sizeof(why)), 0);
	assert_true(why[0] != '\0');
	{
		char *data = path(b, "data.mdb"), *tmp = path(b, "restore.tmp");

		assert_int_not_equal(access(data, F_OK), 0); /* nothing put in place */
		assert_int_not_equal(access(tmp, F_OK), 0);  /* scratch removed */
		free(data);
		free(tmp);
	}
	assert_int_equal(store_backup_restore(file, b, why, sizeof(why)), -ENOENT);

	tu_rmtree(dir);
	free(junk);
	free(file);
	free(a);
	free(b);
	free(dir);
}

static void test_export_discard(void **state)
{
	char *dir = tu_tmpdir(), *a = path(dir, "a"), *x = path(dir, "x"), *p;
	struct store_export_config xc = {.dir = x, .community = "C"};
	struct store_export *xe = NULL;
	struct store *s = open_store(a);
	uint8_t id[16], got[16];

	(void)state;
	assert_int_equal(store_export_open(&xe, &xc), 0);
	assert_int_equal(store_export_env_id(xe, id), 0);
	store_export_close(xe);
	store_close(s);

	/* A main store is never taken for an export. */
	assert_int_equal(store_export_discard(a, NULL), STORE_E_NOT_FOUND);
	p = path(a, "data.mdb");
	assert_int_equal(access(p, F_OK), 0);
	free(p);

	assert_int_equal(store_export_discard(x, got), 0);
	assert_memory_equal(id, got, 16);
	p = path(x, "data.mdb");
	assert_int_not_equal(access(p, F_OK), 0);
	free(p);
	assert_int_equal(store_export_discard(x, NULL), STORE_E_NOT_FOUND);

	/* The next open makes a new environment with a new id. */
	assert_int_equal(store_export_open(&xe, &xc), 0);
	assert_int_equal(store_export_env_id(xe, got), 0);
	assert_memory_not_equal(id, got, 16);
	store_export_close(xe);

	tu_rmtree(dir);
	free(a);
	free(x);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copy_and_restore),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_export_discard),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
