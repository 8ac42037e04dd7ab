/* SPDX-License-Identifier: MIT */
/* A user's layer as a tar archive (jsandboxctl layer export/import): the
 * upper directory's tree with owners as the ids they have inside the
 * container, the extended attributes the container can make and overlayfs
 * needs (docs/images.md, "Backup and move"), overlay whiteouts as character
 * devices 0/0. The archive format is libarchive's (POSIX pax); everything
 * that touches the file system is here and works from directory fds,
 * never following a link (docs/security.md, "Layer export and import"). */
#ifndef JSANDBOX_LAYER_TAR_H
#define JSANDBOX_LAYER_TAR_H

#include <stdint.h>

#include "idmap.h"
#include "jsutil.h"

struct lt_maps {
	struct js_idmap uid, gid; /* inside -> host, the container's maps */
};

struct lt_stats {
	uint64_t entries, bytes, whiteouts, caps;
	uint64_t unmapped;	 /* export: owners outside the maps, as 65534 */
	uint64_t skipped;	 /* export: sockets, devices other than whiteouts */
	uint64_t xattrs_dropped; /* attributes left out (see lt_xattr_kept) */
	char first_dropped[96];	 /* the first of them, for the report */
	char first_skipped[256]; /* the first skipped entry's path */
};

/* Is the extended attribute `name` carried (exported and imported)? */
bool lt_xattr_kept(const char *name);

/* Write the tree under upfd (a layer's upper/) to outfd as a tar archive. */
int lt_export(int upfd, int outfd, const struct lt_maps *m, struct lt_stats *st, struct js_err *err);

/* Read the tar archive on infd into upfd (the empty upper/ of a fresh
 * layer). Refuses the whole archive at its first bad entry (err names it):
 * the caller removes what was written. */
int lt_import(int upfd, int infd, const struct lt_maps *m, struct lt_stats *st, struct js_err *err);

#endif
