/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: one chatham-taxii configuration file through node/taxii/config. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/taxii/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), err[300];
	struct taxii_config *c = NULL;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (taxii_config_parse(s, &c, err, sizeof(err)) == 0) {
		if (!c || c->n_consumers == 0 || !c->listen || !c->export_dir)
			__builtin_trap();
		for (size_t i = 0; i < c->n_consumers; i++)
			taxii_auth_check(c, c->consumers[i].name, "x");
	}
	taxii_config_free(c);
	free(s);
	return 0;
}
