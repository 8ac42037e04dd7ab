/* SPDX-License-Identifier: MIT */
/* Filesystem work done as root that must never follow a link or a path a
 * user could have planted (docs/security.md). Everything starts from a
 * directory fd and resolves one component at a time with
 * openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS) or O_NOFOLLOW. */
#ifndef JSANDBOX_SAFEFS_H
#define JSANDBOX_SAFEFS_H

#include <stdbool.h>
#include <sys/types.h>

#include "jsutil.h"

/* Open an absolute admin-configured directory. Every component must be a
 * real directory (no symlinks), owned by root and not writable by group or
 * other unless sticky; with `create`, missing components are made 0755.
 * Returns the O_DIRECTORY fd or -errno. */
int js_open_trusted_dir(const char *path, bool create, struct js_err *err);

/* Open (and with `create` make) directory `name` directly under dirfd,
 * owned by uid:gid with `mode`. An existing entry must be a directory owned
 * by uid:gid; its mode is corrected. Returns the fd or -errno. */
int js_mkdir_owned_at(int dirfd, const char *name, mode_t mode, uid_t uid, gid_t gid, bool create, struct js_err *err);

/* Open a file under dirfd without following links (RESOLVE_BENEATH and
 * RESOLVE_NO_SYMLINKS for multi-component names). */
int js_openat_beneath(int dirfd, const char *name, int flags, mode_t mode);

/* Remove `name` (one file name) under dirfd and everything below it, never
 * following a symlink and never leaving the filesystem `name` is on.
 * Works at any depth and any number of entries with at most 17 fds open
 * (directories are climbed back to through ".", checked by dev and inode).
 * Missing is success. */
int js_remove_tree_at(int dirfd, const char *name, struct js_err *err);

/* Open directory `rel` (relative, '/'-separated) under rootfd, making each
 * missing component with `mode`, one at a time and never through a link:
 * a component that is a symlink or not a directory is an error that names
 * the path ("/rel" as seen from rootfd). Returns an O_RDONLY|O_DIRECTORY fd
 * or -errno. For trees a user controls (the container's layer). */
int js_mkdir_beneath(int rootfd, const char *rel, mode_t mode, struct js_err *err);

/* Open the file (or with O_DIRECTORY in flags, the directory) `rel`
 * under rootfd as if rootfd were "/", one component at a time: a symlink
 * is followed only from a directory found trustworthy, never above
 * rootfd; every directory entered and the result must be owned by root
 * and not writable by group or other (nothing a user can write decides
 * what is opened), the result a regular file or a directory. flags: O_PATH
 * or O_RDONLY, with O_DIRECTORY for a directory. With `resolved`, the path
 * reached (relative to rootfd, no link in it). Returns the fd or -errno
 * with err naming the component at fault. For host files root hands to a
 * container (the GPU driver's). */
int js_open_rootowned_beneath(int rootfd, const char *rel, int flags, char *resolved, size_t rlen, struct js_err *err);

/* Write data to dirfd/name atomically (temp file + rename), owned by root. */
int js_write_atomic_at(int dirfd, const char *name, const char *data, mode_t mode, struct js_err *err);

#endif
