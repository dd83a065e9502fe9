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
 * export generation (the environment and its index, node/taxii/index.h), read-only LMDB
 * transactions, and the generation lock that taxii_server_check_export() takes to swap it.
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
 * @cfg is borrowed and must outlive the server; @x and @idx (an index of @x) belong to the
 * server once it started (freed by taxii_server_stop(), or when a rebuild replaces them)
 * and stay the caller's when it returns NULL.
 */
struct taxii_server *taxii_server_start(const struct taxii_config *cfg, struct store_export *x,
					struct taxii_index *idx, const char *cert, const char *key);

/*
 * taxii_server_check_export() - notice a rebuilt export: when [server] export_dir's data.mdb
 * is no longer the file being served (store_export_discard() and a new export), or its env
 * id changed in place (store_export_reset()), index the new one (requests go on being
 * answered from the old one meanwhile), then swap them between requests. Collection ids
 * and date_added are functions of the community and of the documents, so they carry over;
 * `next` tokens of the old generation are refused with 400. Called periodically from one
 * thread. Returns 1 when it switched, 0 when nothing changed (also while the new export is
 * missing), a negative error when the new one cannot be read yet (retried next call; the
 * old one is still served).
 */
int taxii_server_check_export(struct taxii_server *s);

/* taxii_server_port() - the port bound (useful with port 0). */
unsigned taxii_server_port(const struct taxii_server *s);

/* taxii_server_stop() - stop listening, finish the requests in flight, free. NULL-safe. */
void taxii_server_stop(struct taxii_server *s);

#endif
