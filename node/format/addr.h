/* SPDX-License-Identifier: MIT */
/*
 * node/format/addr.h — overlay addresses as written in the configuration and the roster:
 * "host:port" or "[v6]:port". Pure string and sockaddr work (no libuv, no name resolution):
 * the config parser checks listen addresses with it and the overlay dials with it.
 *
 * Thread rules: none (no state).
 */
#ifndef CHATHAM_NODE_ADDR_H
#define CHATHAM_NODE_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/*
 * node_addr_split() - split "host:port" or "[v6]:port" into @host (NUL-terminated, @cap
 * bytes) and *@port; *@v6 tells whether the host was bracketed. A bare IPv6 address without
 * brackets, an empty host, a host of @cap bytes or more and a port outside 0..65535 (or with
 * a leading zero) are refused. Returns 0 or -EINVAL.
 */
int node_addr_split(const char *s, char *host, size_t cap, uint16_t *port, bool *v6);

/*
 * node_addr_numeric() - the numeric @host (IPv4 when !@v6, IPv6 when @v6, with an optional
 * "%zone" scope) and @port into @ss. Returns 0 or -EINVAL when @host is not numeric.
 */
int node_addr_numeric(const char *host, uint16_t port, bool v6, struct sockaddr_storage *ss);

/*
 * node_addr_parse() - parse "a.b.c.d:port" or "[v6]:port" (numeric only, port 0..65535)
 * into @ss. Returns 0 or -EINVAL.
 */
int node_addr_parse(const char *s, struct sockaddr_storage *ss);

#endif
