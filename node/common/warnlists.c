/* SPDX-License-Identifier: MIT */
#include "node/common/warnlists.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/error.h"

int node_data_file_read(const char *path, char **out, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t have = 0;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		err = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto out;
	}
	if ((unsigned long long)st.st_size > NODE_WARNLISTS_FILE_MAX) {
		err = -EFBIG;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	while (have < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + have, (size_t)st.st_size - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			goto out;
		}
		have += (size_t)n;
	}
	buf[have] = '\0';
	*out = buf;
	*len = have;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return err;
}

static int is_list(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return n > 4 && e->d_name[0] != '.' && strcmp(e->d_name + n - 4, ".txt") == 0;
}

int node_warnlists_load(const char *dir, unsigned min_v4, unsigned min_v6,
			struct node_warnlists **out, char *why, size_t why_len)
{
	struct node_warnlists *w = calloc(1, sizeof(*w));
	struct dirent **ents = NULL;
	int n = 0, err = 0;

	*out = NULL;
	why[0] = '\0';
	if (!w)
		return -ENOMEM;
	w->refs = 1;
	w->wl = policy_warnlist_new(min_v4, min_v6);
	if (!w->wl) {
		free(w);
		return -ENOMEM;
	}
	n = scandir(dir, &ents, is_list, alphasort);
	if (n < 0) {
		if (errno == ENOENT) {
			w->dir_missing = true;
			*out = w;
			return 0;
		}
		err = -errno;
		snprintf(why, why_len, "%s: %s", dir, strerror(-err));
		n = 0;
		goto out;
	}
	for (int i = 0; i < n && !err; i++) {
		char path[4352], name[POLICY_WARNLIST_NAME_MAX + 1];
		size_t stem = strlen(ents[i]->d_name) - 4, len = 0;
		const char *reason = NULL;
		unsigned line = 0;
		char *text = NULL;
		int r;

		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		if (stem > POLICY_WARNLIST_NAME_MAX) {
			snprintf(why, why_len, "%s: list name longer than %d bytes", path,
				 POLICY_WARNLIST_NAME_MAX);
			err = NODE_E_CONFIG;
			break;
		}
		memcpy(name, ents[i]->d_name, stem);
		name[stem] = '\0';
		err = node_data_file_read(path, &text, &len);
		if (err) {
			snprintf(why, why_len, "%s: %s", path,
				 err == -EFBIG ? "larger than 4 MiB" : strerror(-err));
			break;
		}
		r = policy_warnlist_add(w->wl, name, text, len, &line, &reason);
		free(text);
		if (r == PROTO_E_IND_VALUE) {
			snprintf(why, why_len, "%s:%u: %s", path, line,
				 reason ? reason : "invalid");
			err = NODE_E_CONFIG;
		} else if (r == -EINVAL) {
			snprintf(why, why_len, "%s: a list name is made of a-z, 0-9, '_' and '-'",
				 path);
			err = NODE_E_CONFIG;
		} else if (r < 0) {
			snprintf(why, why_len, "%s: %s", path, proto_error_str(r));
			err = r;
		} else {
			w->n_lists++;
		}
	}
out:
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	if (err) {
		node_warnlists_unref(w);
		return err;
	}
	*out = w;
	return 0;
}

struct node_warnlists *node_warnlists_ref(struct node_warnlists *w)
{
	if (w)
		w->refs++;
	return w;
}

void node_warnlists_unref(struct node_warnlists *w)
{
	if (!w || --w->refs)
		return;
	policy_warnlist_free(w->wl);
	free(w);
}
