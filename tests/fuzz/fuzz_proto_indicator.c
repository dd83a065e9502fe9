/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness: indicator parsing. Every input is parsed as every type and through detect();
 * the harness aborts only when an invariant of proto/indicator.h is violated:
 *   - success: printable-ASCII canonical value of the stated length, reason NULL, and the
 *     canonical value re-parses to itself (canonicalisation is idempotent);
 *   - failure: PROTO_E_IND_VALUE, a non-empty reason, @out left empty;
 *   - the id is deterministic and proto_indicator_id() == proto_indicator_id_raw();
 *   - ipv4/ipv6 accept exactly what glibc's inet_pton() accepts for a bare address and
 *     print what inet_ntop() prints, so the reason walker never disagrees with libc.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proto/error.h"
#include "proto/indicator.h"

static struct proto_indicator ind, again;

static void check_ok(int type)
{
	uint8_t id1[32], id2[32], id3[32];
	const char *reason = "unset";

	if (ind.type != type || ind.len == 0 || ind.len > PROTO_IND_VALUE_MAX ||
	    ind.len != strlen(ind.value))
		abort();
	for (size_t i = 0; i < ind.len; i++)
		if ((unsigned char)ind.value[i] <= 0x20 || (unsigned char)ind.value[i] >= 0x7f)
			abort();
	if (proto_indicator_parse(&again, type, ind.value, ind.len, &reason) != 0 || reason)
		abort();
	if (again.len != ind.len || memcmp(again.value, ind.value, ind.len) != 0)
		abort();
	proto_indicator_id(&ind, id1);
	proto_indicator_id(&again, id2);
	proto_indicator_id_raw(type, ind.value, ind.len, id3);
	if (memcmp(id1, id2, 32) != 0 || memcmp(id1, id3, 32) != 0)
		abort();
}

static void check_fail(int rc, const char *reason)
{
	if (rc != PROTO_E_IND_VALUE || !reason || !reason[0])
		abort();
	if (ind.type != 0 || ind.len != 0 || ind.value[0] != '\0')
		abort();
	/* Reached only when the reason walker and inet_pton()/inet_ntop() disagree. */
	if (strcmp(reason, "invalid IPv6 address") == 0 ||
	    strcmp(reason, "invalid IPv4 address") == 0)
		abort();
}

/* Differential check against libc for bare addresses (no '/', no NUL, short enough). */
static void check_libc(int type, const uint8_t *data, size_t size, int rc)
{
	char buf[64], text[INET6_ADDRSTRLEN];
	uint8_t a[16];
	int af = type == PROTO_IND_IPV4 ? AF_INET : AF_INET6;
	bool libc_ok;

	if (size >= sizeof(buf) || memchr(data, '\0', size) || memchr(data, '/', size))
		return;
	memcpy(buf, data, size);
	buf[size] = '\0';
	libc_ok = inet_pton(af, buf, a) == 1;
	if (libc_ok != (rc == 0))
		abort();
	if (libc_ok && (!inet_ntop(af, a, text, sizeof(text)) || strcmp(text, ind.value) != 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	const char *reason;
	int rc;

	for (int type = PROTO_IND_TYPE_MIN; type <= PROTO_IND_TYPE_MAX; type++) {
		reason = "unset";
		rc = proto_indicator_parse(&ind, type, in, size, &reason);
		if (rc == 0 && !reason)
			check_ok(type);
		else if (rc == 0)
			abort();
		else
			check_fail(rc, reason);
		if (type == PROTO_IND_IPV4 || type == PROTO_IND_IPV6)
			check_libc(type, data, size, rc);
	}

	reason = "unset";
	rc = proto_indicator_detect(&ind, in, size, &reason);
	if (rc == 0 && !reason)
		check_ok(ind.type);
	else if (rc == 0)
		abort();
	else
		check_fail(rc, reason);
	return 0;
}
