/* SPDX-License-Identifier: MIT */
/* Walking an image tree as root: never following a symlink, never leaving
 * the tree's filesystem. */
#ifndef JSANDBOX_CTL_TREE_H
#define JSANDBOX_CTL_TREE_H

#include <stdint.h>
#include <sys/stat.h>

#include "jsutil.h"

struct ctl_tree_entry {
	int dirfd;	  /* the directory that holds it */
	const char *name; /* its name in dirfd */
	const char *path; /* relative to the walk's root, for messages */
	struct stat st;	  /* lstat */
};

/* Called for every entry below the root, a directory before its contents.
 * Returns 0 to go on (and descend into a directory), 1 to skip a
 * directory's contents (for instance because it removed it), or -errno to
 * stop the walk. */
typedef int ctl_tree_fn(const struct ctl_tree_entry *e, void *ctx, struct js_err *err);

/* Directories on another filesystem (mount points) are passed to fn but
 * never entered. */
int ctl_tree_walk(int rootfd, ctl_tree_fn *fn, void *ctx, struct js_err *err);

/* Disk usage of a tree like du(1): allocated blocks, each inode once. */
int ctl_tree_usage(int rootfd, uint64_t *bytes, struct js_err *err);

#endif
