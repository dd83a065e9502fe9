/* SPDX-License-Identifier: MIT */
/*
 * node/common/warnlists.h — reading the warninglist directory ([policy] warninglist_dir) into a
 * policy_warnlist (policy/warnlist.h), shared by the snapshots that use it.
 *
 * Every regular file "NAME.txt" in the directory is one list called NAME (NAME made of
 * [a-z0-9_-]); other files are ignored. Files are read in name order, each at most
 * NODE_WARNLISTS_FILE_MAX bytes. A directory that does not exist is not an error: the
 * result then holds only the minimum prefix lengths and @dir_missing is set, so the caller
 * can warn (a build run from its tree has no installed lists).
 *
 * Thread rules: node_warnlists_load() does file I/O and may run on any thread (the reload
 * job runs it in the pool); the reference count is the loop thread's, like a snapshot's.
 */
#ifndef CHATHAM_NODE_WARNLISTS_H
#define CHATHAM_NODE_WARNLISTS_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/warnlist.h"

#define NODE_WARNLISTS_FILE_MAX (4u << 20)

struct node_warnlists {
	unsigned refs;
	struct policy_warnlist *wl; /* owned */
	size_t n_lists;		    /* files read */
	bool dir_missing;	    /* the directory does not exist */
};

/*
 * node_warnlists_load() - read @dir (borrowed) into a new object with one reference; the
 * networks must be at least @min_v4 / @min_v6 bits long. On failure *@out is NULL and @why
 * (@why_len bytes) names the file, line and reason. Returns 0, NODE_E_CONFIG (a bad list
 * name, a line that is not a valid entry, a file over the size limit), -ENOMEM, or a
 * negative errno from reading.
 */
int node_warnlists_load(const char *dir, unsigned min_v4, unsigned min_v6,
			struct node_warnlists **out, char *why, size_t why_len);

/*
 * node_data_file_read() - the whole of regular file @path (not a symlink, at most
 * NODE_WARNLISTS_FILE_MAX bytes) into a malloc'd *@out (NUL-terminated) of *@len bytes.
 * Shared with the tag vocabulary (node/common/tagvocab.h). Returns 0, -EFBIG, -EINVAL (not a
 * regular file), -ENOMEM or a negative errno.
 */
int node_data_file_read(const char *path, char **out, size_t *len);

/* node_warnlists_ref()/node_warnlists_unref() - loop thread; unref frees at zero; NULL-safe. */
struct node_warnlists *node_warnlists_ref(struct node_warnlists *w);
void node_warnlists_unref(struct node_warnlists *w);

#endif
