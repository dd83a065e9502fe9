/* SPDX-License-Identifier: MIT */
/*
 * node/common/keyfile.h — reading and writing key, community and roster files.
 *
 * Secret files (member key bundle, steward key, network key) are created with
 * open(O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW, 0600) under a random temporary name in the
 * destination's directory, written, fsync'd, then renamed into place and the directory
 * fsync'd, so a crash leaves either the old file or the new one and a key never exists with
 * wider permissions, not even for an instant. Loading refuses a secret file that is a symlink
 * or not a regular file (PROTO_E_KEY_FILETYPE) and one with any group/other permission bit
 * (PROTO_E_KEY_PERMS, checked with fstat on the opened descriptor, so the check and the read
 * are of the same file). The owner is not checked: a service may read a root-owned 0600 file
 * it was given. Secret buffers are wiped before they are freed, on every path.
 *
 * Public files (community definition, rosters) are written the same atomic way with mode 0644
 * (less the umask). They may be reached through a symlink but must be regular files.
 *
 * Writers refuse to replace an existing file (-EEXIST) unless @flags has
 * NODE_KEYFILE_OVERWRITE; the replacement is still atomic.
 *
 * Errors: 0, a negative errno from the system call that failed (-ENOENT, -EACCES, -EEXIST,
 * -EIO, ...), PROTO_E_KEY_FILETYPE, PROTO_E_KEY_PERMS, PROTO_E_TOO_LARGE (file over the
 * reader's limit), or the decoder's PROTO_E_* code for a file that is not what it should be.
 *
 * Blocking file I/O: call from the CLI or at daemon start-up, never on the loop thread.
 * Reentrant; no global state.
 */
#ifndef CHATHAM_NODE_KEYFILE_H
#define CHATHAM_NODE_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/community.h"
#include "proto/keys.h"
#include "proto/roster.h"

#define NODE_KEYFILE_OVERWRITE 0x1u

/* Largest secret file read (key bundles are < 256 bytes). */
#define NODE_KEYFILE_SECRET_MAX 4096

/*
 * node_keyfile_write_secret() - atomically write @len bytes at @buf (borrowed) to @path with
 * mode 0600, as described above.
 */
int node_keyfile_write_secret(const char *path, const uint8_t *buf, size_t len, unsigned flags);

/*
 * node_keyfile_read_secret() - read the secret file @path (at most NODE_KEYFILE_SECRET_MAX
 * bytes). On success *@buf is a malloc'd copy the caller releases with
 * node_keyfile_free_secret(*@buf, *@len).
 */
int node_keyfile_read_secret(const char *path, uint8_t **buf, size_t *len);

/* node_keyfile_free_secret() - wipe and free a buffer from node_keyfile_read_secret(). */
void node_keyfile_free_secret(uint8_t *buf, size_t len);

/* node_keyfile_write_public() - atomically write a public file (mode 0644 & ~umask). */
int node_keyfile_write_public(const char *path, const uint8_t *buf, size_t len, unsigned flags);

/*
 * node_keyfile_read_public() - read the regular file @path (symlinks followed) of at most
 * @max bytes into *@buf (malloc'd, caller frees; one spare NUL byte after *@len bytes).
 */
int node_keyfile_read_public(const char *path, uint8_t **buf, size_t *len, size_t max);

/* Member key bundle (proto/keys.h). @k is caller storage; wipe it with proto_keys_wipe(). */
int node_keyfile_load_member(const char *path, struct proto_keys *k);
int node_keyfile_save_member(const char *path, const struct proto_keys *k, unsigned flags);

/* Steward key (proto/keys.h). */
int node_keyfile_load_steward(const char *path, uint8_t pk[32], uint8_t sk[64]);
int node_keyfile_save_steward(const char *path, const uint8_t sk[64], unsigned flags);

/* Network key (proto/community.h), secret. */
int node_keyfile_load_netkey(const char *path, uint8_t key[32]);
int node_keyfile_save_netkey(const char *path, const uint8_t key[32], unsigned flags);
/* The network key file with a rotation's state (proto_netkey_state); wipe @k after use. */
int node_keyfile_load_netkey_state(const char *path, struct proto_netkey_state *k);
int node_keyfile_save_netkey_state(const char *path, const struct proto_netkey_state *k,
				   unsigned flags);

/*
 * OPRF key share of a sealed-sighting share holder (proto/community.h), secret, of OPRF key
 * generation @generation (0: dealt at community init). Loading decodes; whether the share
 * belongs to the keys in force is the caller's check (proto_oprf_share_check()).
 */
int node_keyfile_load_oprf_share(const char *path, uint8_t community[32], uint32_t *index,
				 uint64_t *generation, uint8_t share[32]);
int node_keyfile_save_oprf_share(const char *path, const uint8_t community[32], uint32_t index,
				 uint64_t generation, const uint8_t share[32], unsigned flags);

/* Community definition (proto/community.h), public. */
int node_keyfile_load_community(const char *path, struct proto_community *c);
int node_keyfile_save_community(const char *path, const struct proto_community *c, unsigned flags);

/*
 * Signed roster (proto/roster.h), public. Loading decodes but does not verify: the caller
 * verifies against its authorising steward set. *@r is owned by the caller
 * (proto_roster_free()); NULL on failure.
 */
int node_keyfile_load_roster(const char *path, struct proto_roster **r);
int node_keyfile_save_roster(const char *path, const struct proto_roster *r, unsigned flags);

#endif
