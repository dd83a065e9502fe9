/* SPDX-License-Identifier: MIT */
/*
 * store/abuse.h — members' abuse records (policy/abuse.h "Durable part"), kept so that a
 * member refused for abuse is still refused after this node restarts.
 *
 * Layout: in the meta database, "abuse" || member id (37 bytes) -> offences u32 BE ||
 * refused_until_ms u64 BE || forgiven_ms u64 BE (20 bytes). A handful of members at most
 * (one per member that ever offended), so they share meta rather than a database of their
 * own. The store does not interpret them; policy decides what they mean.
 *
 * Thread rules: those of store/store.h (a write from any thread, never while the same thread
 * holds a read transaction).
 */
#ifndef CHATHAM_STORE_ABUSE_H
#define CHATHAM_STORE_ABUSE_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct store_abuse_record {
	uint8_t member[32];
	uint32_t offences;
	uint64_t refused_until_ms;
	uint64_t forgiven_ms;
};

/*
 * store_abuse_put() - write @n records @r (each replacing the member's earlier one) in one
 * durable transaction; a record with offences 0 deletes the member's. Returns 0 after the
 * commit, or a STORE_E_* / negative errno code (nothing written).
 */
int store_abuse_put(struct store *s, const struct store_abuse_record *r, size_t n);

/*
 * store_abuse_list() - every stored record, in member id order, into *@out (malloc'd, free()
 * it; NULL when there is none) and *@n. Returns 0, STORE_E_CORRUPT for a record of the wrong
 * size, -ENOMEM or another STORE_E_* code.
 */
int store_abuse_list(struct store *s, struct store_abuse_record **out, size_t *n);

#endif
