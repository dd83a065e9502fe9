/* SPDX-License-Identifier: MIT */
/*
 * Key, community and roster files: atomic creation with the final mode from the first byte,
 * permission checks on the opened descriptor, and wiping of secret buffers.
 *
 * Replacement without clobbering uses renameat2(RENAME_NOREPLACE); filesystems that do not
 * support it get link() + unlink(), which is equally atomic for the "refuse to replace" rule.
 */
#include "node/common/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/crypto.h"
#include "proto/error.h"

#define TMP_TRIES 16

static int write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Make the rename durable: fsync the directory that holds @path. */
static int fsync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd, err = 0;

	if (!slash)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (!dir)
		return -ENOMEM;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return -errno;
	if (fsync(fd) != 0 && errno != EINVAL) /* some filesystems cannot sync directories */
		err = -errno;
	close(fd);
	return err;
}

static int install(const char *tmp, const char *path, unsigned flags)
{
	if (flags & NODE_KEYFILE_OVERWRITE)
		return rename(tmp, path) == 0 ? 0 : -errno;
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	if (link(tmp, path) != 0)
		return -errno;
	unlink(tmp);
	return 0;
}

static int write_atomic(const char *path, const uint8_t *buf, size_t len, mode_t mode,
			unsigned flags)
{
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 32);
	int fd = -1, err = 0;

	if (!tmp)
		return -ENOMEM;
	for (int i = 0; i < TMP_TRIES && fd < 0; i++) {
		uint8_t rnd[6];
		char hex[13];

		proto_random(rnd, sizeof(rnd));
		snprintf(tmp, plen + 32, "%s.tmp-%s", path,
			 proto_hex_encode(hex, rnd, sizeof(rnd)));
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd < 0 && errno != EEXIST) {
			err = -errno;
			goto out;
		}
	}
	if (fd < 0) {
		err = -EEXIST;
		goto out;
	}
	if ((err = write_all(fd, buf, len)) == 0 && fsync(fd) != 0)
		err = -errno;
	if (close(fd) != 0 && err == 0)
		err = -errno;
	if (err == 0)
		err = install(tmp, path, flags);
	if (err) {
		unlink(tmp);
		goto out;
	}
	err = fsync_dir(path);
out:
	free(tmp);
	return err;
}

int node_keyfile_write_secret(const char *path, const uint8_t *buf, size_t len, unsigned flags)
{
	return write_atomic(path, buf, len, 0600, flags);
}

int node_keyfile_write_public(const char *path, const uint8_t *buf, size_t len, unsigned flags)
{
	return write_atomic(path, buf, len, 0644, flags);
}

/*
 * Read the whole regular file behind @fd into one exactly-sized buffer (never grown, so a
 * secret leaves no stale copy in freed memory). A file that grows while being read is an
 * error rather than silently truncated.
 */
static int read_fd(int fd, bool secret, size_t max, uint8_t **out, size_t *out_len)
{
	struct stat st;
	uint8_t *buf, extra;
	size_t size, got = 0;
	ssize_t n = 0;

	if (fstat(fd, &st) != 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return PROTO_E_KEY_FILETYPE;
	if (secret && (st.st_mode & 077))
		return PROTO_E_KEY_PERMS;
	if (st.st_size < 0 || (uint64_t)st.st_size > max)
		return PROTO_E_TOO_LARGE;
	size = (size_t)st.st_size;
	buf = malloc(size + 1);
	if (!buf)
		return -ENOMEM;
	while (got < size) {
		n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got == size) {
		while ((n = read(fd, &extra, 1)) < 0 && errno == EINTR)
			;
	}
	if (n < 0 || (got == size && n > 0)) {
		int err = n < 0 ? -errno : -EIO;

		proto_wipe(buf, size + 1);
		proto_wipe(&extra, 1);
		free(buf);
		return err;
	}
	buf[got] = 0;
	*out = buf;
	*out_len = got;
	return 0;
}

static int read_file(const char *path, bool secret, size_t max, uint8_t **buf, size_t *len)
{
	int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	int fd, err;

	/* O_NONBLOCK: opening a FIFO must not hang; fstat then rejects it as not regular. */
	if (secret)
		flags |= O_NOFOLLOW;
	fd = open(path, flags);
	if (fd < 0)
		return errno == ELOOP && secret ? PROTO_E_KEY_FILETYPE : -errno;
	err = read_fd(fd, secret, max, buf, len);
	close(fd);
	return err;
}

int node_keyfile_read_secret(const char *path, uint8_t **buf, size_t *len)
{
	return read_file(path, true, NODE_KEYFILE_SECRET_MAX, buf, len);
}

void node_keyfile_free_secret(uint8_t *buf, size_t len)
{
	if (!buf)
		return;
	proto_wipe(buf, len + 1);
	free(buf);
}

int node_keyfile_read_public(const char *path, uint8_t **buf, size_t *len, size_t max)
{
	return read_file(path, false, max, buf, len);
}

/*
 * The loaders and savers below differ only in their codec. A secret file's bytes are wiped
 * on every path; a loader that fails wipes the caller's key storage (@wipe, @wipe_len) so no
 * half-decoded secret is left behind.
 */
static int load_secret(const char *path, void *wipe, size_t wipe_len, uint8_t **buf, size_t *len)
{
	int err = node_keyfile_read_secret(path, buf, len);

	if (err)
		proto_wipe(wipe, wipe_len);
	return err;
}

/* Write the encoding @buf (malloc'd by a codec that returned @enc_err; freed here). */
static int save_encoded(const char *path, bool secret, int enc_err, uint8_t *buf, size_t len,
			unsigned flags)
{
	int err;

	if (enc_err)
		return enc_err;
	err = secret ? node_keyfile_write_secret(path, buf, len, flags)
		     : node_keyfile_write_public(path, buf, len, flags);
	if (secret)
		proto_wipe(buf, len);
	free(buf);
	return err;
}

int node_keyfile_load_member(const char *path, struct proto_keys *k)
{
	uint8_t *buf;
	size_t len;
	int err = load_secret(path, k, sizeof(*k), &buf, &len);

	if (err)
		return err;
	err = proto_keys_decode(k, buf, len);
	node_keyfile_free_secret(buf, len);
	return err;
}

int node_keyfile_save_member(const char *path, const struct proto_keys *k, unsigned flags)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int err = proto_keys_encode(k, &buf, &len);

	return save_encoded(path, true, err, buf, len, flags);
}

int node_keyfile_load_steward(const char *path, uint8_t pk[32], uint8_t sk[64])
{
	uint8_t *buf;
	size_t len;
	int err = load_secret(path, sk, 64, &buf, &len);

	if (err)
		return err;
	err = proto_keys_steward_decode(pk, sk, buf, len);
	node_keyfile_free_secret(buf, len);
	return err;
}

int node_keyfile_save_steward(const char *path, const uint8_t sk[64], unsigned flags)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int err = proto_keys_steward_encode(sk, &buf, &len);

	return save_encoded(path, true, err, buf, len, flags);
}

int node_keyfile_load_netkey(const char *path, uint8_t key[32])
{
	uint8_t *buf;
	size_t len;
	int err = load_secret(path, key, 32, &buf, &len);

	if (err)
		return err;
	err = proto_community_netkey_decode(key, buf, len);
	node_keyfile_free_secret(buf, len);
	return err;
}

int node_keyfile_save_netkey(const char *path, const uint8_t key[32], unsigned flags)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int err = proto_community_netkey_encode(key, &buf, &len);

	return save_encoded(path, true, err, buf, len, flags);
}

int node_keyfile_load_oprf_share(const char *path, uint8_t community[32], uint32_t *index,
				 uint64_t *generation, uint8_t share[32])
{
	uint8_t *buf;
	size_t len;
	int err = load_secret(path, share, 32, &buf, &len);

	if (err)
		return err;
	err = proto_community_oprf_share_decode(community, index, generation, share, buf, len);
	node_keyfile_free_secret(buf, len);
	return err;
}

int node_keyfile_save_oprf_share(const char *path, const uint8_t community[32], uint32_t index,
				 uint64_t generation, const uint8_t share[32], unsigned flags)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int err =
		proto_community_oprf_share_encode(community, index, generation, share, &buf, &len);

	return save_encoded(path, true, err, buf, len, flags);
}

int node_keyfile_load_netkey_state(const char *path, struct proto_netkey_state *k)
{
	uint8_t *buf;
	size_t len;
	int err = load_secret(path, k, sizeof(*k), &buf, &len);

	if (err)
		return err;
	err = proto_community_netkey_state_decode(k, buf, len);
	node_keyfile_free_secret(buf, len);
	return err;
}

int node_keyfile_save_netkey_state(const char *path, const struct proto_netkey_state *k,
				   unsigned flags)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int err = proto_community_netkey_state_encode(k, &buf, &len);

	return save_encoded(path, true, err, buf, len, flags);
}

int node_keyfile_load_community(const char *path, struct proto_community *c)
{
	uint8_t *buf;
	size_t len;
	int err = node_keyfile_read_public(path, &buf, &len, PROTO_COMMUNITY_MAX_BYTES);

	if (err)
		return err;
	err = proto_community_decode(c, buf, len);
	free(buf);
	return err;
}

int node_keyfile_save_community(const char *path, const struct proto_community *c, unsigned flags)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int err = proto_community_encode(c, &buf, &len);

	return save_encoded(path, false, err, buf, len, flags);
}

int node_keyfile_load_roster(const char *path, struct proto_roster **r)
{
	uint8_t *buf;
	size_t len;
	int err;

	*r = NULL;
	err = node_keyfile_read_public(path, &buf, &len, PROTO_ROSTER_MAX_BYTES);
	if (err)
		return err;
	err = proto_roster_decode(r, buf, len);
	free(buf);
	return err;
}

int node_keyfile_save_roster(const char *path, const struct proto_roster *r, unsigned flags)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int err = proto_roster_encode(r, &buf, &len);

	return save_encoded(path, false, err, buf, len, flags);
}
