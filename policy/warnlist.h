/* SPDX-License-Identifier: MIT */
/*
 * policy/warnlist.h — values that must never be blocked, in the style of MISP warninglists.
 *
 * A firewall loads the `plain` export as a blocklist, so one report on 0.0.0.0/0, a
 * community's resolver, an RFC 1918 range or a top site blocks far more than any attacker.
 * A warnlist names such values; the node refuses to publish one (unless the publisher
 * overrides it explicitly) and keeps a received one out of the blocklist formats (it is
 * still admitted, stored and counted: a report is evidence even when it must not be
 * enforced).
 *
 * A value matches when
 *   - ipv4/ipv6 (address or CIDR): its prefix is shorter than the family's minimum
 *     (list name POLICY_WARNLIST_PREFIX), or it overlaps a listed address or range (inside
 *     it, equal, or containing it: 8.0.0.0/7 contains 8.8.8.8);
 *   - domain: it equals a listed name or "www." + a listed name, or it ends in a listed
 *     suffix (an entry written ".localhost" matches "a.b.localhost");
 *   - url: its path is "/" with no query or fragment (the URL names the whole site) and its
 *     host matches as a domain or an address would;
 *   - email, hashes: it equals a listed value (e.g. the hashes of the empty file).
 *
 * Lists are text, one entry a line: an indicator value of any type (the type is detected as
 * proto_indicator_detect() does; canonicalised), or "." + a domain for a suffix entry.
 * Blank lines are skipped and "#" starts a comment (whole line or after whitespace).
 * The shipped lists live in deploy/warninglists/ (installed to
 * /usr/share/chatham/warninglists; [policy] warninglist_dir chooses another directory).
 *
 * Pure: no I/O (the node reads the files and hands their text in), no clock. A warnlist is
 * built on one thread and then read-only: any number of threads may call
 * policy_warnlist_match() on it.
 */
#ifndef CHATHAM_POLICY_WARNLIST_H
#define CHATHAM_POLICY_WARNLIST_H

#include <stddef.h>

#include "proto/indicator.h"

/* Default minimum prefix lengths: one allocation of a regional registry or a large ISP. */
#define POLICY_WARNLIST_MIN_PREFIX_V4 16
#define POLICY_WARNLIST_MIN_PREFIX_V6 32

/* The list name reported for a network broader than the family's minimum prefix. */
#define POLICY_WARNLIST_PREFIX "prefix_too_broad"

#define POLICY_WARNLIST_NAME_MAX 64 /* bytes of a list name: [a-z0-9_-] */

struct policy_warnlist;

/*
 * policy_warnlist_new() - an empty warnlist whose networks must be at least @min_v4 (0..32)
 * and @min_v6 (0..128) bits long (0 disables the check for the family). Returns NULL when
 * out of memory or a bound is out of range.
 */
struct policy_warnlist *policy_warnlist_new(unsigned min_v4, unsigned min_v6);

/* policy_warnlist_free() - NULL-safe. */
void policy_warnlist_free(struct policy_warnlist *wl);

/*
 * policy_warnlist_add() - parse list @name (1..POLICY_WARNLIST_NAME_MAX bytes of [a-z0-9_-],
 * borrowed, copied) from @text (@len bytes, borrowed) and add its entries.
 * Returns the number of entries added, -EINVAL for a bad name, PROTO_E_IND_VALUE for a
 * line that is no valid entry (*@bad_line is then its 1-based number and *@reason, if
 * non-NULL, a static reason; nothing of the list is added), -EEXIST when a list of that
 * name was added before, -ENOMEM.
 */
int policy_warnlist_add(struct policy_warnlist *wl, const char *name, const char *text, size_t len,
			unsigned *bad_line, const char **reason);

/*
 * policy_warnlist_match() - the name of the first list @ind (borrowed, canonical) matches,
 * or NULL. The name is owned by @wl and valid while it is. A NULL @wl matches nothing.
 */
const char *policy_warnlist_match(const struct policy_warnlist *wl,
				  const struct proto_indicator *ind);

/* policy_warnlist_size() - entries held (all lists). */
size_t policy_warnlist_size(const struct policy_warnlist *wl);

#endif
