/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: one TAXII request line "PATH?QUERY" through node/taxii/query's path
 * router and query-parameter parser, as chatham-taxii receives them from any client. Every
 * timestamp that parses must format back to one that parses to the same instant.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/taxii/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *q;
	struct taxii_route r;
	struct taxii_query tq;
	const char *why = NULL;
	char t[TAXII_TIME_LEN];
	uint64_t us, again;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	q = strchr(s, '?');
	if (q)
		*q++ = '\0';
	taxii_route_parse(s, &r);
	if (r.endpoint < TAXII_EP_NONE || r.endpoint > TAXII_EP_MANIFEST)
		__builtin_trap();
	taxii_query_init(&tq);
	if (q && taxii_query_parse_string(&tq, q, strlen(q), &why) != 0 && !why)
		__builtin_trap(); /* every refusal has a reason for the error object */
	if (tq.n_ids > TAXII_QUERY_MAX_IDS || tq.n_versions > TAXII_QUERY_MAX_VERSIONS)
		__builtin_trap();
	if (taxii_time_parse(s, &us) == 0) {
		taxii_time_format(us, t);
		if (taxii_time_parse(t, &again) || again != us)
			__builtin_trap();
	}
	free(s);
	return 0;
}
