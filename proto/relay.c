/* SPDX-License-Identifier: MIT */
#include "proto/relay.h"

enum proto_relay proto_relay_decide(const struct proto_relay_outcome *o, uint64_t now_ms)
{
	if (o->stored && (o->new_to_store || o->created_ms + PROTO_RELAY_FRESH_MS >= now_ms))
		return PROTO_RELAY_FORWARD;
	if (!o->stored && o->retry_later)
		return PROTO_RELAY_FORGET;
	return PROTO_RELAY_DISCARD;
}
