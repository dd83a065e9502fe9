/* SPDX-License-Identifier: MIT */
/* tests/unit/testutil.h — helpers shared by the cmocka unit tests. */
#ifndef CHATHAM_TESTUTIL_H
#define CHATHAM_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* A fresh private temp directory (mkdtemp); removed recursively by tu_rmtree(). */
char *tu_tmpdir(void);
void tu_rmtree(const char *path);

/*
 * The path of the file @rel under tests/data ($CHATHAM_TEST_DATA, else the source tree's
 * tests/data), malloc'd. A missing file fails the test, naming it.
 */
char *tu_data_path(const char *rel);

/* Read a whole file into a malloc'd buffer (NUL-terminated); NULL on error. */
uint8_t *tu_read_file(const char *path, size_t *len);

/* Decode a hex string into a malloc'd buffer; aborts the test on malformed hex. */
uint8_t *tu_unhex(const char *hex, size_t *len);

/* Deterministic xorshift PRNG for table and property tests. */
uint64_t tu_rand(uint64_t *state);

#endif
