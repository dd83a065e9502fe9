/* SPDX-License-Identifier: MIT */
/*
 * Key, community and roster files on disk: secret files are created 0600 whatever the
 * umask, refused when group/other bits are set or when they are not regular files, written
 * atomically without leftovers, and every loader reports a damaged file with a clear code.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "node/common/keyfile.h"
#include "proto/crypto.h"
#include "proto/error.h"
#include "testutil.h"

struct fx {
	char *dir;
	char path[4096];
	mode_t old_umask;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || proto_crypto_init() != 0)
		return -1;
	f->dir = tu_tmpdir();
	if (!f->dir)
		return -1;
	f->old_umask = umask(022);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	umask(f->old_umask);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static const char *at(struct fx *f, const char *name)
{
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
	return f->path;
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode;
}

static size_t dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void test_secret_mode_and_roundtrip(void **state)
{
	struct fx *f = *state;
	const uint8_t data[] = "not really a key";
	const char *p = at(f, "secret");
	uint8_t *buf;
	size_t len;

	/* With umask 0, a careless open(..., 0666) would give a world-readable file. */
	umask(0);
	assert_int_equal(node_keyfile_write_secret(p, data, sizeof(data), 0), 0);
	umask(022);
	assert_int_equal(mode_of(p), S_IFREG | 0600);
	assert_int_equal(node_keyfile_read_secret(p, &buf, &len), 0);
	assert_int_equal(len, sizeof(data));
	assert_memory_equal(buf, data, len);
	node_keyfile_free_secret(buf, len);
	assert_int_equal(dir_entries(f->dir), 1); /* no temporary file left behind */

	/* No silent replacement; with the flag, an atomic one that keeps 0600. */
	assert_int_equal(node_keyfile_write_secret(p, (const uint8_t *)"x", 1, 0), -EEXIST);
	assert_int_equal(node_keyfile_read_secret(p, &buf, &len), 0);
	assert_int_equal(len, sizeof(data));
	node_keyfile_free_secret(buf, len);
	assert_int_equal(
		node_keyfile_write_secret(p, (const uint8_t *)"x", 1, NODE_KEYFILE_OVERWRITE), 0);
	assert_int_equal(mode_of(p), S_IFREG | 0600);
	assert_int_equal(node_keyfile_read_secret(p, &buf, &len), 0);
	assert_int_equal(len, 1);
	assert_int_equal(buf[0], 'x');
	node_keyfile_free_secret(buf, len);
	assert_int_equal(dir_entries(f->dir), 1);

	/* An empty secret file reads as zero bytes. */
	assert_int_equal(node_keyfile_write_secret(at(f, "empty"), NULL, 0, 0), 0);
	assert_int_equal(node_keyfile_read_secret(f->path, &buf, &len), 0);
	assert_int_equal(len, 0);
	node_keyfile_free_secret(buf, len);
}

static void test_secret_perms_refused(void **state)
{
	static const mode_t bad[] = {0640, 0644, 0604, 0660, 0602, 0610, 0601, 0700 | 0070};
	struct fx *f = *state;
	const char *p = at(f, "key");
	uint8_t *buf = NULL;
	size_t len;

	assert_int_equal(node_keyfile_write_secret(p, (const uint8_t *)"k", 1, 0), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(chmod(p, bad[i]), 0);
		assert_int_equal(node_keyfile_read_secret(p, &buf, &len), PROTO_E_KEY_PERMS);
	}
	/* Owner-only modes are fine, read-only included. */
	assert_int_equal(chmod(p, 0400), 0);
	assert_int_equal(node_keyfile_read_secret(p, &buf, &len), 0);
	node_keyfile_free_secret(buf, len);
}

static void test_not_regular(void **state)
{
	struct fx *f = *state;
	char target[4096];
	uint8_t *buf;
	size_t len;

	snprintf(target, sizeof(target), "%s", at(f, "real"));
	assert_int_equal(node_keyfile_write_secret(target, (const uint8_t *)"k", 1, 0), 0);
	/* A symlink to a perfectly good 0600 file is still refused for secrets... */
	assert_int_equal(symlink(target, at(f, "link")), 0);
	assert_int_equal(node_keyfile_read_secret(f->path, &buf, &len), PROTO_E_KEY_FILETYPE);
	/* ...but followed for public files. */
	assert_int_equal(node_keyfile_read_public(f->path, &buf, &len, 16), 0);
	assert_int_equal(len, 1);
	free(buf);

	assert_int_equal(mkdir(at(f, "dir"), 0700), 0);
	assert_int_equal(node_keyfile_read_secret(f->path, &buf, &len), PROTO_E_KEY_FILETYPE);
	assert_int_equal(node_keyfile_read_public(f->path, &buf, &len, 16), PROTO_E_KEY_FILETYPE);

	/* A FIFO must be refused without blocking on open. */
	assert_int_equal(mkfifo(at(f, "fifo"), 0600), 0);
	assert_int_equal(node_keyfile_read_secret(f->path, &buf, &len), PROTO_E_KEY_FILETYPE);

	assert_int_equal(node_keyfile_read_secret(at(f, "missing"), &buf, &len), -ENOENT);
	assert_int_equal(node_keyfile_write_secret(at(f, "nodir/key"), (const uint8_t *)"k", 1, 0),
			 -ENOENT);
}

static void test_size_limits(void **state)
{
	struct fx *f = *state;
	uint8_t *big = calloc(1, NODE_KEYFILE_SECRET_MAX + 1), *buf;
	size_t len;

	assert_int_equal(
		node_keyfile_write_secret(at(f, "big"), big, NODE_KEYFILE_SECRET_MAX + 1, 0), 0);
	assert_int_equal(node_keyfile_read_secret(f->path, &buf, &len), PROTO_E_TOO_LARGE);
	assert_int_equal(node_keyfile_read_public(f->path, &buf, &len, NODE_KEYFILE_SECRET_MAX),
			 PROTO_E_TOO_LARGE);
	assert_int_equal(node_keyfile_read_public(f->path, &buf, &len, NODE_KEYFILE_SECRET_MAX + 1),
			 0);
	assert_int_equal(len, NODE_KEYFILE_SECRET_MAX + 1);
	assert_int_equal(buf[len], 0); /* the spare NUL */
	free(buf);
	free(big);
}

/* Overwrite part of a file in place (keeping its mode) to simulate damage. */
static void damage(const char *path, long off, const void *bytes, size_t n)
{
	FILE *fp = fopen(path, "r+b");

	assert_non_null(fp);
	assert_int_equal(fseek(fp, off, off < 0 ? SEEK_END : SEEK_SET), 0);
	assert_int_equal(fwrite(bytes, 1, n, fp), n);
	fclose(fp);
}

/* Flip the low bit of the byte at @off (from the end when negative). */
static void flip(const char *path, long off)
{
	FILE *fp = fopen(path, "r+b");
	int c;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, off, off < 0 ? SEEK_END : SEEK_SET), 0);
	c = fgetc(fp);
	assert_int_not_equal(c, EOF);
	assert_int_equal(fseek(fp, -1, SEEK_CUR), 0);
	assert_int_equal(fputc(c ^ 1, fp), c ^ 1);
	fclose(fp);
}

static void test_member_keys(void **state)
{
	struct fx *f = *state;
	struct proto_keys k, l;
	uint8_t pk[32], sk[64];
	char path[4096];

	assert_int_equal(proto_keys_generate(&k), 0);
	snprintf(path, sizeof(path), "%s", at(f, "member.key"));
	assert_int_equal(node_keyfile_save_member(path, &k, 0), 0);
	assert_int_equal(mode_of(path), S_IFREG | 0600);
	assert_int_equal(node_keyfile_load_member(path, &l), 0);
	assert_memory_equal(&l, &k, sizeof(k));
	assert_int_equal(node_keyfile_save_member(path, &k, 0), -EEXIST);

	/* The last 32 bytes are the ring sk: all zero is not a usable scalar... */
	damage(path, -32, (const uint8_t[32]){0}, 32);
	assert_int_equal(node_keyfile_load_member(path, &l), PROTO_E_RING_SCALAR);
	/* ...and a flipped bit in the stored identity public half is a mismatch. The identity
	 * sk starts at byte 26 (map, key 0, 19-byte magic str, key 1, version, key 2, bin8
	 * header); its public half at 26 + 32. */
	assert_int_equal(node_keyfile_save_member(path, &k, NODE_KEYFILE_OVERWRITE), 0);
	flip(path, 26 + 40);
	assert_int_equal(node_keyfile_load_member(path, &l), PROTO_E_KEY_MISMATCH);
	assert_int_equal(truncate(path, 20), 0);
	assert_int_not_equal(node_keyfile_load_member(path, &l), 0);
	assert_int_equal(truncate(path, 0), 0);
	assert_int_equal(node_keyfile_load_member(path, &l), PROTO_E_KEY_FORMAT);

	/* A steward key file is not a member key file. */
	assert_int_equal(proto_keys_steward_generate(pk, sk), 0);
	assert_int_equal(node_keyfile_save_steward(at(f, "steward.key"), sk, 0), 0);
	assert_int_equal(mode_of(f->path), S_IFREG | 0600);
	assert_int_equal(node_keyfile_load_member(f->path, &l), PROTO_E_KEY_FORMAT);
	assert_int_equal(node_keyfile_load_steward(f->path, pk, sk), 0);
	assert_int_equal(node_keyfile_load_steward(path, pk, sk), PROTO_E_KEY_FORMAT);
	assert_true(pk[0] == 0 && sk[0] == 0 && sk[63] == 0);

	/* Loading refuses a group-readable bundle before decoding anything. */
	assert_int_equal(node_keyfile_save_member(path, &k, NODE_KEYFILE_OVERWRITE), 0);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(node_keyfile_load_member(path, &l), PROTO_E_KEY_PERMS);
	proto_keys_wipe(&k);
	proto_keys_wipe(&l);
}

static void test_netkey(void **state)
{
	struct fx *f = *state;
	uint8_t key[32], got[32];

	proto_community_netkey_generate(key);
	assert_int_equal(node_keyfile_save_netkey(at(f, "network.key"), key, 0), 0);
	assert_int_equal(mode_of(f->path), S_IFREG | 0600);
	assert_int_equal(node_keyfile_load_netkey(f->path, got), 0);
	assert_memory_equal(got, key, 32);
	assert_int_equal(chmod(f->path, 0604), 0);
	assert_int_equal(node_keyfile_load_netkey(f->path, got), PROTO_E_KEY_PERMS);
	proto_wipe(key, sizeof(key));
	proto_wipe(got, sizeof(got));
}

static void test_oprf_share(void **state)
{
	struct fx *f = *state;
	uint8_t cid[32], share[32], got_cid[32], got[32];
	uint32_t idx = 0;
	uint64_t gen = 1;

	memset(cid, 0x5a, 32);
	memset(share, 0, 32);
	share[0] = 7; /* a canonical non-zero scalar */
	assert_int_equal(
		node_keyfile_save_oprf_share(at(f, "oprf-share-2.key"), cid, 2, 0, share, 0), 0);
	assert_int_equal(mode_of(f->path), S_IFREG | 0600);
	assert_int_equal(node_keyfile_load_oprf_share(f->path, got_cid, &idx, &gen, got), 0);
	assert_int_equal(idx, 2);
	assert_int_equal(gen, 0);
	assert_memory_equal(got_cid, cid, 32);
	assert_memory_equal(got, share, 32);
	assert_int_equal(node_keyfile_save_oprf_share(f->path, cid, 2, 0, share, 0), -EEXIST);
	assert_int_equal(chmod(f->path, 0640), 0);
	assert_int_equal(node_keyfile_load_oprf_share(f->path, got_cid, &idx, &gen, got),
			 PROTO_E_KEY_PERMS);
	proto_wipe(got, sizeof(got));
}

static void test_community_and_roster(void **state)
{
	struct fx *f = *state;
	struct proto_community c, d;
	struct proto_roster *r = proto_roster_new(), *l;
	struct proto_keys k;
	struct proto_member m = {.name = "Member One"};
	uint8_t sk[64], *a, *b;
	size_t alen, blen;
	char rpath[4096];

	memset(&c, 0, sizeof(c));
	memset(c.id, 0x42, 32);
	strcpy(c.name, "Test Community");
	c.n_stewards = 1;
	c.threshold = 1;
	assert_int_equal(proto_keys_steward_generate(c.stewards[0], sk), 0);
	assert_int_equal(node_keyfile_save_community(at(f, "community"), &c, 0), 0);
	assert_int_equal(mode_of(f->path), S_IFREG | 0644); /* umask 022 */
	assert_int_equal(node_keyfile_load_community(f->path, &d), 0);
	assert_memory_equal(&d, &c, sizeof(c));
	assert_int_equal(node_keyfile_save_community(f->path, &c, 0), -EEXIST);
	damage(f->path, 0, "\x85", 1); /* a map of 5 entries: no room for the threshold */
	assert_int_equal(node_keyfile_load_community(f->path, &d), PROTO_E_KEY_MISSING);
	damage(f->path, 0, "\x90", 1);
	assert_int_equal(node_keyfile_load_community(f->path, &d), PROTO_E_COMMUNITY_FORMAT);

	memcpy(r->community, c.id, 32);
	r->name = strdup(c.name);
	r->epoch = 1;
	r->threshold = 1;
	r->n_stewards = 1;
	r->stewards = malloc(32);
	memcpy(r->stewards[0], c.stewards[0], 32);
	assert_int_equal(proto_keys_generate(&k), 0);
	memcpy(m.id, k.id_pk, 32);
	memcpy(m.transport_pk, k.tx_pk, 32);
	memcpy(m.ring_pk, k.ring_pk, 32);
	proto_keys_wipe(&k);
	assert_int_equal(proto_roster_add_member(r, &m), 0);
	assert_int_equal(proto_roster_sign(r, r, 0, sk), 0);
	snprintf(rpath, sizeof(rpath), "%s", at(f, "roster-1"));
	assert_int_equal(node_keyfile_save_roster(rpath, r, 0), 0);
	assert_int_equal(node_keyfile_load_roster(rpath, &l), 0);
	assert_int_equal(proto_roster_verify(l, c.id, (const uint8_t(*)[32])c.stewards,
					     c.n_stewards, c.threshold, 0),
			 0);
	assert_int_equal(proto_roster_encode(r, &a, &alen), 0);
	assert_int_equal(proto_roster_encode(l, &b, &blen), 0);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	proto_roster_free(l);
	free(a);
	free(b);

	/* A corrupt roster file: a clear decode error and no roster. */
	flip(rpath, -1);
	assert_int_equal(node_keyfile_load_roster(rpath, &l), 0); /* a signature byte: decodes */
	assert_int_not_equal(proto_roster_verify(l, c.id, (const uint8_t(*)[32])c.stewards,
						 c.n_stewards, c.threshold, 0),
			     0);
	proto_roster_free(l);
	assert_int_equal(truncate(rpath, 10), 0);
	l = (struct proto_roster *)1;
	assert_int_equal(node_keyfile_load_roster(rpath, &l), PROTO_E_TRUNCATED);
	assert_null(l);
	/* Replacing a roster file is atomic and allowed with the flag. */
	assert_int_equal(node_keyfile_save_roster(rpath, r, NODE_KEYFILE_OVERWRITE), 0);
	assert_int_equal(node_keyfile_load_roster(rpath, &l), 0);
	proto_roster_free(l);
	proto_roster_free(r);
	proto_wipe(sk, sizeof(sk));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_secret_mode_and_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_perms_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_regular, setup, teardown),
		cmocka_unit_test_setup_teardown(test_size_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_member_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_netkey, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oprf_share, setup, teardown),
		cmocka_unit_test_setup_teardown(test_community_and_roster, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
