/* SPDX-License-Identifier: MIT */
#include "policy/config.h"

#include <errno.h>
#include <strings.h>
#include <string.h>

void policy_config_init(struct policy_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_skew_ms = POLICY_DEFAULT_MAX_SKEW_MS;
	cfg->descriptions = POLICY_DESC_REDACT;
}

int policy_config_set_community_name(struct policy_config *cfg, const char *name)
{
	size_t len = strlen(name);

	if (len > PROTO_ROSTER_NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(cfg->community_name, name, len + 1);
	return 0;
}

static const char *const desc_names[] = {
	[POLICY_DESC_REDACT] = "redact",
	[POLICY_DESC_DROP] = "drop",
	[POLICY_DESC_KEEP] = "keep",
};

int policy_desc_mode_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(desc_names) / sizeof(desc_names[0]); i++)
		if (strcasecmp(name, desc_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *policy_desc_mode_name(int mode)
{
	if (mode < 0 || (size_t)mode >= sizeof(desc_names) / sizeof(desc_names[0]))
		return NULL;
	return desc_names[mode];
}
