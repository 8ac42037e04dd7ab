/* SPDX-License-Identifier: MIT */
/* The image store: images_dir/<name>/ root filesystems, shared read-only by
 * every container, with metadata beside them in images_dir/.<name>.info.
 *
 * Everything jsandboxctl makes there while it works is a dot-directory
 * (.<name>.tmp-XXXXXX while building, .<name>.old-XXXXXX for a replaced or
 * removed tree) that is renamed into place or removed: no login ever sees a
 * half-made image. Implemented in image_store.c; the subcommands are in
 * image.c. */
#ifndef JSANDBOX_CTL_IMAGE_H
#define JSANDBOX_CTL_IMAGE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "jsutil.h"
#include "policy.h"
#include "spawn.h"

/* Open images_dir the way the PAM module does (root-owned all the way up,
 * no symlinks). With create, a missing images_dir is made 0700. */
int ctl_images_open(const struct js_global *g, bool create, struct js_err *err);

/* Is `name` under imagesfd an image a container can be made from (a
 * root-owned directory, not writable by group or other)? 0, -ENOENT, or
 * another -errno with the reason in err. */
int ctl_image_usable(int imagesfd, const char *name, struct js_err *err);

/* ---- the store, held by a command that changes it ---- */

struct store {
	const struct js_global *g;
	const char *dir; /* images_dir, for messages */
	int fd;		 /* images_dir, locked */
};

/* Open images_dir (made when missing and create is set; tightened to
 * 0700), take the store's lock (one changing image command at a time) and
 * remove what killed commands left behind. Errors are printed. */
int store_open(struct store *s, const struct js_global *g, bool create);
void store_close(struct store *s);
/* Fails (printed) when NAME exists and replace is not set. */
int store_check_absent(struct store *s, const char *name, bool replace);
/* Rename entry `from` of the store to a fresh .NAME.old-XXXXXX (into out). */
int store_set_aside(struct store *s, const char *from, const char *name, char *out, size_t len);

/* The users whose running container was made from image `name`, as
 * "alice, bob" in buf. Returns how many, or -errno when that cannot be told
 * (callers then act as if the image were in use). */
int image_users(const struct js_global *g, const char *name, char *buf, size_t len);

/* ---- a build or import in progress ---- */

struct stage {
	struct store *store;
	char name[JS_NAME_MAX];
	char work[NAME_MAX + 1];     /* .NAME.tmp-XXXXXX */
	char root_rel[NAME_MAX + 8]; /* .NAME.tmp-XXXXXX/root: the tree */
	char root_path[PATH_MAX];    /* images_dir/.NAME.tmp-XXXXXX/root */
	char tmp_path[PATH_MAX];     /* images_dir/.NAME.tmp-XXXXXX/tmp: the tool's TMPDIR */
	bool made;
};

/* Make the work directory with root/ (0755) and tmp/ (0700) in it. */
int stage_begin(struct stage *st, struct store *s, const char *name);
/* Check that the tree is a root filesystem (usr/, bin/sh, etc/passwd) and
 * make it fit to share: root-owned 0755 top, ids within 0-65535, no device
 * nodes, nothing writable by group or other but sticky directories. `what`
 * names the source in messages. *size: its disk usage. */
int stage_finish_tree(struct stage *st, const char *what, uint64_t *size);
/* Rename the tree to NAME (with replace, exchange it with the old one). */
int stage_commit(struct stage *st, bool replace);
/* Remove everything staged; if a signal in sigs arrived, die of it. */
void stage_abort(struct stage *st, struct ctl_sigs *sigs);

/* ---- metadata and contents ---- */

/* images_dir/.NAME.info, root-owned 0644, replaced atomically. */
int image_write_info(struct store *s, const char *name, const char *body);
int image_read_info(int imagesfd, const char *name, char *buf, size_t len);
/* The release of an image from its os-release: VERSION_CODENAME, else
 * VERSION_ID, else ID, else "?". */
void image_suite(int rootfd, char *out, size_t len);

/* Open a path inside an image tree as if the tree were the root (its
 * absolute symlinks stay inside it; openat2 RESOLVE_IN_ROOT, never across
 * a mount). -errno on failure. */
int image_open_in_root(int rootfd, const char *path, int flags);

/* An image's id (the id= line of .NAME.info, lib/layer.h): 32 lowercase
 * hex digits from getrandom, new for each build, import and update. */
#define IMAGE_ID_HEX 32
int image_new_id(char *out, size_t len);

/* KEY=value in a small KEY=value text, quotes removed, made printable.
 * 0 or -ENOENT. */
int ctl_kv_lookup(const char *text, const char *key, char *out, size_t len);
/* Read at most len-1 bytes of fd, NUL-terminated. */
int ctl_read_small(int fd, char *buf, size_t len);
/* Replace control characters, for values printed on one line. */
void ctl_sanitize(char *s);

#endif
