/* SPDX-License-Identifier: MIT */
/* The user's writable layer and its bound (policy disk_max), enforced by
 * the kernel where the layer lives (docs/design.md, "The layer's bound"):
 *   dir     state_dir/users/<name>, a plain directory: no bound (the layer
 *           of a policy without disk_max, or one made before it applied);
 *   btrfs   state_dir/users/<name> a btrfs subvolume with a qgroup limit
 *           (state_dir on btrfs with quotas enabled);
 *   project state_dir/users/<name> a directory tagged with project id =
 *           the user's uid (FS_XFLAG_PROJINHERIT, which nothing in a user
 *           namespace can change) and that project's block limit (ext4 or
 *           XFS with enforced project quotas);
 *   image   state_dir/layers/<name>.img, a sparse ext4 image of disk_max
 *           bytes made by root (mkfs.ext4), root-only, loop-mounted by root
 *           as a detached mount (nosuid, nodev) that only the user's init
 *           attaches, on state_dir/users/<name> in its own mount namespace
 *           (any other file system).
 * The layer is hostile (the user is root inside it): nothing here follows a
 * link in it, and the image file's raw bytes are written only by mkfs and
 * the host kernel's ext4 (docs/security.md). */
#ifndef JSANDBOX_LAYER_H
#define JSANDBOX_LAYER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "jsutil.h"

enum js_layer_kind { JS_LAYER_NONE, JS_LAYER_DIR, JS_LAYER_BTRFS, JS_LAYER_IMAGE, JS_LAYER_PROJECT };

const char *js_layer_kind_name(enum js_layer_kind k);

/* Which bounded kind a new layer gets on the file system of state_dir
 * (open as statefd): JS_LAYER_BTRFS, JS_LAYER_PROJECT or JS_LAYER_IMAGE, or -errno when no
 * bound can be enforced there; why (one line) says which and why. */
int js_layer_mechanism(int statefd, char *why, size_t whylen);

/* Prepare u's layer for a container start (no container of u alive, the
 * caller holds u's lock): make it if missing (bounded when p sets
 * disk_max), apply the current disk_max (btrfs: the qgroup limit; image:
 * grown to it, never shrunk), and make upper/ and work/ owned by sid:sgid.
 * For an image layer *layer_fd is the detached mount of its file system
 * (upper/ and work/ at its root) and *kind JS_LAYER_IMAGE; otherwise
 * *layer_fd is -1 and upper/ and work/ are in users_fd/<name>. */
int js_layer_prepare(int statefd, int users_fd, uint64_t disk_max, const char *name, uid_t uid, uid_t sid, gid_t sgid,
		     enum js_layer_kind *kind, int *layer_fd, struct js_err *err);

/* A layer's size and use, for jsandboxctl status: used bytes; limit bytes
 * (0: no bound); for an image its file system's size. */
struct js_layer_usage {
	enum js_layer_kind kind; /* JS_LAYER_NONE: no layer */
	uint64_t used, limit;
	bool used_known;
};
int js_layer_usage(const char *state_dir, const char *name, struct js_layer_usage *out, struct js_err *err);

/* Open u's layer's upper directory (O_RDONLY|O_DIRECTORY) for reading as
 * root (jsandboxctl du); for an image layer through a detached mount of
 * its file system, shared with a running container's if there is one. */
int js_layer_open_upper(const char *state_dir, const char *name, struct js_err *err);

/* As a session closes: log one line (LOG_WARNING) when the layer is full
 * (95% of its bound or more), only once until it is no longer full (a
 * marker, state_dir/layers/<name>.full, root only). */
void js_layer_note_full(const char *state_dir, const char *name);

/* Remove u's layer (jsandboxctl reset): the image file or the subvolume
 * or the directory. No container of u may be alive. */
int js_layer_remove(int statefd, int users_fd, const char *name, struct js_err *err);

/* A fresh layer for u (jsandboxctl layer import), made beside the current
 * one under the name `tmp` (users/<tmp>, layers/<tmp>.img) with the same
 * kind a new layer gets now (disk_max as in js_layer_prepare), upper/ and
 * work/ owned by sid:sgid. No container of u may be alive and the caller
 * holds u's lock. Returns an O_RDONLY|O_DIRECTORY fd of its upper/ (for an
 * image through a detached mount of its file system, held by that fd). */
int js_layer_make_fresh(int statefd, int users_fd, uint64_t disk_max, const char *tmp, uid_t uid, uid_t sid, gid_t sgid,
			struct js_err *err);

/* Put the fresh layer `tmp` in place of `name`'s layer (both the
 * directory and, where there is one, the image file are exchanged, under
 * u's lock, so no container start sees a mixture), then remove the old
 * one, now under `tmp`. On failure the old layer is back in place and the
 * fresh one removed. */
int js_layer_swap_in(int statefd, int users_fd, const char *tmp, const char *name, struct js_err *err);

/* For a layer of the image kind (under the name `name`, e.g. a fresh one):
 * a new detached mount of its file system (upper/ and work/ at its root),
 * as js_layer_prepare gives an init. -ENOENT when the layer is of another
 * kind. */
int js_layer_image_mount(int statefd, const char *name, struct js_err *err);

/* ---- which image a layer was made for (docs/images.md, "Image updates") --
 * An image's id is a random value written into images_dir/.NAME.info
 * ("id=") each time the image is built, imported or updated; images made
 * before ids existed have their build time ("built=") as id. A layer's
 * base is recorded by root beside it, state_dir/layers/<name>.base
 * ("image=", "id=", and "failed=" the id an automatic rebase onto which
 * failed): never in the layer, which the user controls. */
#define JS_IMAGE_ID_MAX 48

struct js_layer_base {
	char image[JS_NAME_LEN_MAX + 1];
	char id[JS_IMAGE_ID_MAX];
	char failed[JS_IMAGE_ID_MAX]; /* "" unless a rebase onto that id failed */
};

/* The id of image `name` under images_dir (open as imagesfd). 0, or
 * -ENOENT when it has no metadata, or another -errno. */
int js_image_id(int imagesfd, const char *name, char *id, size_t len);

/* Read name's record: 0, -ENOENT when there is none, or another -errno. */
int js_layer_base_read(int statefd, const char *name, struct js_layer_base *b);

/* Write name's record (root-only, replaced atomically). */
int js_layer_base_write(int statefd, const char *name, const struct js_layer_base *b, struct js_err *err);

#endif
