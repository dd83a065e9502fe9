/* SPDX-License-Identifier: MIT */
/*
 * store/notice_test.h — a hook of the notice environment (store/notice.h) for tests; the
 * daemon does not use it. Same rules as store/notice.h.
 */
#ifndef CHATHAM_STORE_NOTICE_TEST_H
#define CHATHAM_STORE_NOTICE_TEST_H

#include "store/notice.h"

/*
 * store_notices_test_schema1() - make the notice environment @s one schema 1 wrote (an
 * older chatham): its signers database deleted and meta "schema" 1, in one transaction.
 * Close @s next (its signers handle is gone); store_notices_open() upgrades it again.
 */
int store_notices_test_schema1(struct store_notices *s);

#endif
