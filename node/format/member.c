/* SPDX-License-Identifier: MIT */
/* Naming members and finding a value's owner (node/format/member.h). */
#include "node/format/member.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "proto/crypto.h"
#include "proto/poc.h"

int node_member_find(const struct proto_roster *r, const char *q)
{
	size_t ql = strlen(q);
	bool hex = ql >= 8 && ql <= 64 && strspn(q, "0123456789abcdefABCDEF") == ql;
	int found = NODE_MEMBER_NONE;

	for (size_t i = 0; i < r->n_members; i++) {
		const struct proto_member *m = &r->members[i];
		bool hit = !strcasecmp(m->name, q);
		char idhex[65];

		for (size_t a = 0; !hit && a < m->n_aliases; a++)
			hit = !strcasecmp(m->aliases[a], q);
		if (!hit && hex)
			hit = !strncasecmp(proto_hex_encode(idhex, m->id, 32), q, ql);
		if (!hit)
			continue;
		if (found >= 0)
			return NODE_MEMBER_AMBIGUOUS;
		found = (int)i;
	}
	return found;
}

int node_member_owner_of(const struct proto_roster *r, const char *value)
{
	unsigned best = 0;
	int found = NODE_MEMBER_NONE;

	for (size_t i = 0; i < r->n_members; i++) {
		unsigned s = proto_constituency_match(&r->members[i].constituency, value);

		if (!s || s < best)
			continue;
		found = s == best ? NODE_MEMBER_AMBIGUOUS : (int)i;
		best = s;
	}
	return found;
}

const char *node_member_describe(const struct proto_roster *r, const uint8_t id[32], char *buf,
				 size_t len)
{
	int i = r ? proto_roster_find_member(r, id) : -1;
	char hex[65];

	proto_hex_encode(hex, id, 32);
	if (i >= 0)
		snprintf(buf, len, "%s (member %.16s)", r->members[i].name, hex);
	else
		snprintf(buf, len, "member %.16s (not in the roster)", hex);
	return buf;
}
