/* SPDX-License-Identifier: MIT */
/*
 * node/common/tagvocab.h — reading the tag vocabulary ([policy] tag_vocab_dir and
 * tag_vocab_files) into a policy_vocab (policy/vocab.h), shared by the snapshots that use it.
 *
 * Every regular file "*.txt" of the directory (the vocabulary chatham ships, in name order)
 * and then every listed file (the community's own) is read, each at most
 * NODE_WARNLISTS_FILE_MAX bytes, into one sealed vocabulary. A directory that does not
 * exist is not an error (a build run from its tree has no installed data): @dir_missing is
 * set so the caller can warn. A listed file that is missing or does not parse is an error:
 * the operator named it.
 *
 * Thread rules: node_tagvocab_load() does file I/O and may run on any thread (the reload
 * job runs it in the pool); the reference count is the loop thread's, like a snapshot's.
 */
#ifndef CHATHAM_NODE_TAGVOCAB_H
#define CHATHAM_NODE_TAGVOCAB_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/vocab.h"

struct node_tagvocab {
	unsigned refs;
	struct policy_vocab *v; /* owned, sealed */
	size_t n_files;		/* files read */
	bool dir_missing;	/* the directory does not exist */
};

/*
 * node_tagvocab_load() - read @dir and then the @n_files @files (all borrowed) into a new
 * object with one reference. On failure *@out is NULL and @why (@why_len bytes) names the
 * file, line and reason. Returns 0, NODE_E_CONFIG (a line that is not a valid entry, a file
 * over the size limit, a listed file that cannot be read), -ENOMEM, or a negative errno
 * from reading the directory.
 */
int node_tagvocab_load(const char *dir, const char *const *files, size_t n_files,
		       struct node_tagvocab **out, char *why, size_t why_len);

/* node_tagvocab_ref()/node_tagvocab_unref() - loop thread; unref frees at zero; NULL-safe. */
struct node_tagvocab *node_tagvocab_ref(struct node_tagvocab *t);
void node_tagvocab_unref(struct node_tagvocab *t);

#endif
