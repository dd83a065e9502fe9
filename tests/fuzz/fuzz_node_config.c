/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: one config file from memory through node/config's parser. */
#include <stddef.h>
#include <stdint.h>

#include "node/format/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct node_config *cfg = NULL, *again = NULL;
	char buf[4200];

	if (node_config_load_buffer((const char *)data, size, NULL, NULL, &cfg))
		return 0;
	for (int o = 0; o < NODE_OPT__COUNT; o++)
		node_config_value_str(cfg, o, buf, sizeof(buf));
	/* A reload of the same text holds nothing back. */
	if (node_config_load_buffer((const char *)data, size, NULL, NULL, &again) == 0 &&
	    node_config_merge_reload(again, cfg, NULL, NULL) != 0)
		__builtin_trap();
	node_config_free(again);
	node_config_free(cfg);
	return 0;
}
