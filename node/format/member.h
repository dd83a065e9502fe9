/* SPDX-License-Identifier: MIT */
/*
 * node/format/member.h — naming members the way operators do: by display name or alias
 * (case-insensitive), or by at least 8 hex digits of the member id; and finding the member
 * whose constituency holds a value (proto/poc.h). Pure code over a roster (borrowed).
 * Thread rules: none.
 */
#ifndef CHATHAM_NODE_FORMAT_MEMBER_H
#define CHATHAM_NODE_FORMAT_MEMBER_H

#include "proto/roster.h"

#define NODE_MEMBER_NONE (-1)	   /* no member matches */
#define NODE_MEMBER_AMBIGUOUS (-2) /* more than one does */

/* node_member_find() - the index in @r of the member @q names, or NODE_MEMBER_NONE/AMBIGUOUS. */
int node_member_find(const struct proto_roster *r, const char *q);

/*
 * node_member_owner_of() - the index of the member whose constituency holds @value most
 * specifically (proto_constituency_match()), NODE_MEMBER_NONE when none does, or
 * NODE_MEMBER_AMBIGUOUS when two members hold it equally specifically.
 */
int node_member_owner_of(const struct proto_roster *r, const char *value);

/* node_member_describe() - "name (member 0123456789abcdef)" into @buf (>= 128 bytes). */
const char *node_member_describe(const struct proto_roster *r, const uint8_t id[32], char *buf,
				 size_t len);

#endif
