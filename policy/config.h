/* SPDX-License-Identifier: MIT */
/*
 * policy/config.h — the node settings every policy decision reads (DESIGN.md §6).
 *
 * Policy is pure: it never reads a clock, a file or the network. The node fills one
 * struct policy_config from its INI file and its key bundle and passes it (borrowed) to every
 * admission, egress and stripping call. Community-wide settings (minimum ring size,
 * require_anonymous, maximum report age) are not here: they come from the signed roster
 * (struct proto_roster_settings), so every member enforces the same values.
 *
 * Thread rules: a config is plain data; concurrent readers are fine, a writer must not race
 * them (the node swaps in a new copy on SIGHUP).
 */
#ifndef CHATHAM_POLICY_CONFIG_H
#define CHATHAM_POLICY_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/roster.h"

struct policy_warnlist;

/* What happens to report descriptions in stripped views. */
enum policy_desc_mode {
	POLICY_DESC_REDACT = 0, /* default: member names, aliases, domains replaced by [member] */
	POLICY_DESC_DROP = 1,	/* no description leaves the node */
	POLICY_DESC_KEEP = 2,	/* verbatim, but only for TLP:CLEAR reports signed by this node's
				 * own organisation; every other description is redacted */
};

/* Default tolerance for a report's `created` lying in the future (clock skew between members). */
#define POLICY_DEFAULT_MAX_SKEW_MS (5ull * 60 * 1000)

struct policy_config {
	uint8_t own_id[32];    /* this node's member id (Ed25519 identity public key) */
	uint8_t community[32]; /* community id every admitted report must carry */
	char community_name[PROTO_ROSTER_NAME_MAX + 1]; /* NUL-terminated; copied into views */
	uint64_t max_skew_ms;  /* reject reports created more than this after `now` */
	uint8_t descriptions;  /* enum policy_desc_mode */
	bool export_red;       /* TLP:RED may be written to the SIEM export (default off) */
	bool show_attribution; /* local CLI/API output may name other members (default off) */
	/*
	 * Values that must never be blocked (policy/warnlist.h); borrowed, NULL: none. A view
	 * of a matching indicator is flagged, and withheld from blocklists unless
	 * @export_warninglisted.
	 */
	const struct policy_warnlist *warnlist;
	bool export_warninglisted;
};

/*
 * policy_config_init() - fill @cfg (caller storage) with the defaults: zero ids, empty
 * community name, max_skew_ms = POLICY_DEFAULT_MAX_SKEW_MS, descriptions = redact,
 * export_red = false, show_attribution = false, no warnlist, export_warninglisted = false.
 * The caller then sets own_id and community.
 */
void policy_config_init(struct policy_config *cfg);

/*
 * policy_config_set_community_name() - copy the NUL-terminated @name (borrowed) into @cfg.
 * Returns 0, or -ENAMETOOLONG when it is longer than PROTO_ROSTER_NAME_MAX bytes (@cfg is
 * then unchanged).
 */
int policy_config_set_community_name(struct policy_config *cfg, const char *name);

/*
 * policy_desc_mode_from_name() - "redact", "drop" or "keep" (ASCII case-insensitive) to the
 * enum value, or -1 for anything else. policy_desc_mode_name() is the inverse; NULL for an
 * unknown mode.
 */
int policy_desc_mode_from_name(const char *name);
const char *policy_desc_mode_name(int mode);

#endif
