/* SPDX-License-Identifier: MIT */
/* The container's overlay (image below, the user's layer above), mounted
 * with the new mount API on every kernel jsandbox runs on, and the kernel
 * minimum behind it. */
#ifndef JSANDBOX_OVERLAY_H
#define JSANDBOX_OVERLAY_H

#include "jsutil.h"

/* How the lower layer is named to overlayfs.
 *   AUTO:   "lowerdir+" (Linux 6.8+: the path as is, any character), and
 *           where the kernel refuses that key (EINVAL: 6.1 takes the key at
 *           fsconfig and rejects it at create, 6.5-6.7 reject it at
 *           fsconfig), the classic "lowerdir" string.
 *   APPEND: "lowerdir+" only.
 *   LEGACY: the classic "lowerdir" string only: overlayfs splits it at ':'
 *           and unescapes '\\', and the VFS joins options with ','; paths
 *           holding any of those are refused (EINVAL, with the reason). */
enum js_ovl_lower {
	JS_OVL_LOWER_AUTO,
	JS_OVL_LOWER_APPEND,
	JS_OVL_LOWER_LEGACY,
};

/* Mount an overlay of lower, upper and work (userxattr, nodev) on target.
 * Returns 0 or a negative errno with err set; *used (when not NULL) says
 * which key worked (APPEND or LEGACY). */
int js_overlay_mount(const char *lower, const char *upper, const char *work, const char *target, enum js_ovl_lower how,
		     enum js_ovl_lower *used, struct js_err *err);

/* The same with nlower (1 or 2) lower layers, lowers[0] the topmost (a
 * read-only view of the user's layer over the image, below an upper in
 * memory: helper/rootfs.c when the layer's file system is full). */
int js_overlay_mount_layers(const char *const *lowers, size_t nlower, const char *upper, const char *work,
			    const char *target, enum js_ovl_lower how, enum js_ovl_lower *used, struct js_err *err);

/* The oldest kernel jsandbox runs on: overlayfs over idmapped layers came in
 * Linux 5.19 (everything else it needs is older, or optional with a
 * fallback: cgroup.kill 5.14, Landlock scoping 6.12, lowerdir+ 6.8). */
#define JS_KERNEL_MIN_MAJOR 5
#define JS_KERNEL_MIN_MINOR 19

/* Is the running kernel (uname -r) at least major.minor? 1 yes, 0 no, and
 * the release string in rel (when not NULL, size relsz). */
int js_kernel_at_least(int major, int minor, char *rel, size_t relsz);

#endif
