/* SPDX-License-Identifier: MIT */
/*
 * node/taxii/server.h — chatham-taxii's HTTPS server: TAXII 2.1 (OASIS, read-only) over the
 * export environment, with libmicrohttpd and GnuTLS.
 *
 * One API root (/chatham/), one collection per TLP level in [server] collections, whose
 * objects are the STIX 2.1 indicators of the `stix21` export (node/export_fmt.h) at that
 * level, every document of the export feed being one version, plus the community's identity
 * and the level's TLP 2.0 marking-definition. Every request must authenticate (HTTP Basic
 * with the consumer's name and secret, or "Authorization: Bearer SECRET"); a consumer sees
 * only the collections it may read (node/taxii/config.h) and gets 403 on the others.
 *
 * Thread rules: requests run in libmicrohttpd's thread pool; the only shared state is the
 * index (node/taxii/index.h, locked) and read-only LMDB transactions.
 * Errors: taxii_server_start() returns NULL and logs why.
 */
#ifndef CHATHAM_NODE_TAXII_SERVER_H
#define CHATHAM_NODE_TAXII_SERVER_H

#include <stdint.h>

#include "node/taxii/config.h"
#include "node/taxii/index.h"
#include "store/export.h"

struct taxii_server;

/*
 * taxii_server_start() - listen on cfg->listen:cfg->port (0: an ephemeral port) with the PEM
 * certificate chain @cert and key @key (copied by GnuTLS; the caller wipes its copies).
 * @cfg, @x and @idx are borrowed and must outlive the server.
 */
struct taxii_server *taxii_server_start(const struct taxii_config *cfg, struct store_export *x,
					struct taxii_index *idx, const char *cert, const char *key);

/* taxii_server_port() - the port bound (useful with port 0). */
unsigned taxii_server_port(const struct taxii_server *s);

/* taxii_server_stop() - stop listening, finish the requests in flight, free. NULL-safe. */
void taxii_server_stop(struct taxii_server *s);

#endif
