/* SPDX-License-Identifier: MIT */
#include "node/common/tagvocab.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/common/warnlists.h"
#include "proto/error.h"
#include "proto/report.h"

static int is_vocab(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return n > 4 && e->d_name[0] != '.' && strcmp(e->d_name + n - 4, ".txt") == 0;
}

/* Add file @path to @t; @why explains a failure. */
static int add_file(struct node_tagvocab *t, const char *path, char *why, size_t why_len)
{
	char *text = NULL;
	size_t len = 0, line = 0;
	int err = node_data_file_read(path, &text, &len);

	if (err) {
		snprintf(why, why_len, "%s: %s", path,
			 err == -EFBIG ? "larger than 4 MiB" : strerror(-err));
		return err == -ENOMEM ? err : NODE_E_CONFIG;
	}
	err = policy_vocab_add(t->v, text, len, &line);
	free(text);
	if (err == -EINVAL) {
		snprintf(why, why_len,
			 "%s:%zu: not a vocabulary entry (a word or phrase, or "
			 "namespace:predicate[=\"value\"]; valid UTF-8, at most %d bytes)",
			 path, line, PROTO_REPORT_TAG_LEN_MAX);
		return NODE_E_CONFIG;
	}
	if (err)
		return err;
	t->n_files++;
	return 0;
}

int node_tagvocab_load(const char *dir, const char *const *files, size_t n_files,
		       struct node_tagvocab **out, char *why, size_t why_len)
{
	struct node_tagvocab *t = calloc(1, sizeof(*t));
	struct dirent **ents = NULL;
	int n = 0, err = 0;

	*out = NULL;
	why[0] = '\0';
	if (!t)
		return -ENOMEM;
	t->refs = 1;
	t->v = policy_vocab_new();
	if (!t->v) {
		err = -ENOMEM;
		goto out;
	}
	n = scandir(dir, &ents, is_vocab, alphasort);
	if (n < 0) {
		n = 0;
		if (errno == ENOENT) {
			t->dir_missing = true;
		} else {
			err = -errno;
			snprintf(why, why_len, "%s: %s", dir, strerror(-err));
			goto out;
		}
	}
	for (int i = 0; i < n && !err; i++) {
		char path[4352];

		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		err = add_file(t, path, why, why_len);
	}
	for (size_t i = 0; i < n_files && !err; i++)
		err = add_file(t, files[i], why, why_len);
	if (!err)
		err = policy_vocab_seal(t->v);
out:
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	if (err) {
		node_tagvocab_unref(t);
		return err;
	}
	*out = t;
	return 0;
}

struct node_tagvocab *node_tagvocab_ref(struct node_tagvocab *t)
{
	if (t)
		t->refs++;
	return t;
}

void node_tagvocab_unref(struct node_tagvocab *t)
{
	if (!t || --t->refs)
		return;
	policy_vocab_free(t->v);
	free(t);
}
