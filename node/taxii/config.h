/* SPDX-License-Identifier: MIT */
/*
 * node/taxii/config.h — chatham-taxii's configuration file (INI, chatham-taxii(8)) and its
 * consumers' credentials.
 *
 *   [server]
 *   listen = 127.0.0.1           address to bind (IPv4 or IPv6 literal)
 *   port = 9443                  0: an ephemeral port (tests), logged at start
 *   export_dir = /var/lib/chatham/export   the node's SIEM export ([node] export_dir)
 *   tls_cert = PATH, tls_key = PATH         PEM; relative names are read from
 *                                            $CREDENTIALS_DIRECTORY when it is set
 *   collections = CLEAR GREEN AMBER          the TLP levels served, one collection each
 *   max_page = 1000                          objects per page at most (limit is clamped)
 *   threads = 4                              request threads
 *   max_connections = 64
 *   title = ...                              discovery and API root title
 *
 *   [consumer NAME]                          one per SIEM/TIP; NAME is the Basic user name
 *   secret_hash = 64 hex digits              taxii_secret_hash() of its secret
 *   tlp_ceiling = GREEN                      strictest TLP it may read
 *   collections = CLEAR GREEN                the collections (TLP levels) it may read
 *
 * A consumer reads a collection only when the collection is served, listed for it, and no
 * stricter than its ceiling. Secrets are random (chatham-taxii new-secret: 32 bytes, 64 hex
 * digits), so a fast keyed hash is enough to keep them out of the file: only the hash is
 * stored, and comparisons are constant-time over every consumer.
 *
 * Errors: -EINVAL with a message naming the line in @err; -ENOMEM; -errno from reading.
 * Ownership: taxii_config_free() frees everything; strings are owned by the config.
 */
#ifndef CHATHAM_NODE_TAXII_CONFIG_H
#define CHATHAM_NODE_TAXII_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TAXII_CONSUMER_NAME_MAX 64
#define TAXII_SECRET_HEX 64 /* a secret is 32 random bytes written as hex */
#define TAXII_CONSUMERS_MAX 256

struct taxii_consumer {
	char name[TAXII_CONSUMER_NAME_MAX + 1];
	uint8_t hash[32];
	int ceiling;	      /* enum proto_tlp */
	unsigned collections; /* bit per enum proto_tlp */
};

struct taxii_config {
	char *listen, *export_dir, *tls_cert, *tls_key, *title;
	unsigned port;
	unsigned collections; /* bit per enum proto_tlp served */
	unsigned max_page, threads, max_connections;
	struct taxii_consumer consumers[TAXII_CONSUMERS_MAX];
	size_t n_consumers;
};

/* taxii_config_parse() - @text (NUL-terminated). On success *@out is a new config. */
int taxii_config_parse(const char *text, struct taxii_config **out, char *err, size_t errlen);

/* taxii_config_load() - read and parse the file @path (at most 1 MiB). */
int taxii_config_load(const char *path, struct taxii_config **out, char *err, size_t errlen);

void taxii_config_free(struct taxii_config *c);

/*
 * taxii_secret_hash() - BLAKE2b-256("chatham/taxii/secret/1" || @secret) of the @len bytes
 * at @secret (borrowed).
 */
void taxii_secret_hash(const char *secret, size_t len, uint8_t out[32]);

/*
 * taxii_auth_check() - the consumer whose secret is @secret and, when @user is non-NULL
 * (HTTP Basic), whose name is @user; NULL if none. Every consumer's hash is compared in
 * constant time whatever matches, so the time taken tells nothing about which part failed.
 */
const struct taxii_consumer *taxii_auth_check(const struct taxii_config *c, const char *user,
					      const char *secret);

/* taxii_consumer_may_read() - @cons may read the collection of TLP @tlp under @c. */
bool taxii_consumer_may_read(const struct taxii_config *c, const struct taxii_consumer *cons,
			     int tlp);

#endif
