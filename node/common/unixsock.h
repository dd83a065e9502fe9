/* SPDX-License-Identifier: MIT */
/*
 * node/common/unixsock.h — a blocking connection to a Unix stream socket (the API socket):
 * the client's connection, and the probes that ask whether a node answers on a path
 * (`chatham run`'s checks, the daemon's stale-socket removal at start). Any thread.
 */
#ifndef CHATHAM_NODE_UNIXSOCK_H
#define CHATHAM_NODE_UNIXSOCK_H

/*
 * node_unixsock_connect() - a blocking SOCK_STREAM connection (close-on-exec) to the socket
 * at @path (borrowed). Returns the descriptor (the caller closes it), -ENAMETOOLONG when
 * @path does not fit a sockaddr_un, or -errno of socket(2) or connect(2) (-ECONNREFUSED:
 * nobody listens; -ENOENT: no such file).
 */
int node_unixsock_connect(const char *path);

#endif
