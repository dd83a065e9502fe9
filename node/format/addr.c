/* SPDX-License-Identifier: MIT */
#include "node/format/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define ADDR_STR_MAX 64 /* "[v6]:port" */

int node_addr_split(const char *s, char *host, size_t cap, uint16_t *port, bool *v6)
{
	const char *h = s, *colon, *end;
	size_t hlen;
	char *endp;
	unsigned long p;

	*v6 = s[0] == '[';
	if (*v6) {
		end = strchr(s, ']');
		if (!end || end[1] != ':')
			return -EINVAL;
		h = s + 1;
		hlen = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		hlen = (size_t)(colon - s);
		if (memchr(s, ':', hlen))
			return -EINVAL; /* bare IPv6 without brackets */
	}
	if (hlen == 0 || hlen >= cap || colon[1] < '0' || colon[1] > '9')
		return -EINVAL;
	errno = 0;
	p = strtoul(colon + 1, &endp, 10);
	if (errno || *endp || p > 65535 || (colon[1] == '0' && colon[2]))
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (uint16_t)p;
	return 0;
}

int node_addr_numeric(const char *host, uint16_t port, bool v6, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (!v6) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
			return -EINVAL;
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		return 0;
	}

	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	char ip[ADDR_STR_MAX];
	const char *zone = strchr(host, '%');
	size_t len = zone ? (size_t)(zone - host) : strlen(host);

	/* As libuv's uv_ip6_addr(), which this replaces: "%zone" names the scope's interface. */
	if (len >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, host, len);
	ip[len] = '\0';
	if (inet_pton(AF_INET6, ip, &in6->sin6_addr) != 1)
		return -EINVAL;
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	if (zone)
		in6->sin6_scope_id = if_nametoindex(zone + 1);
	return 0;
}

int node_addr_parse(const char *s, struct sockaddr_storage *ss)
{
	char host[ADDR_STR_MAX];
	uint16_t port;
	bool v6;

	if (!s || node_addr_split(s, host, sizeof(host), &port, &v6) < 0)
		return -EINVAL;
	return node_addr_numeric(host, port, v6, ss);
}
