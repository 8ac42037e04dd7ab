/* SPDX-License-Identifier: MIT */
#include "overlay.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

static int js_fsconfig(int fd, unsigned cmd, const char *key, const void *val, int aux)
{
	return (int)syscall(SYS_fsconfig, fd, cmd, key, val, aux);
}

/* One attempt with one way of naming the lower layer. Sets *stage to the
 * step that failed, for the message. */
static int try_mount(const char *const *lowers, size_t nlower, const char *upper, const char *work, const char *target,
		     bool append, const char **stage)
{
	_cleanup_close_ int fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
	if (fs < 0) {
		*stage = "fsopen overlay";
		return -errno;
	}
	/* userxattr: overlayfs cannot write trusted.* xattrs from a user
	 * namespace; without it dpkg's directory renames fail with EXDEV. */
	if (append) {
		/* one key per layer, the topmost first */
		for (size_t i = 0; i < nlower; i++)
			if (js_fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", lowers[i], 0) < 0) {
				*stage = "overlay lowerdir+";
				return -errno;
			}
	} else {
		/* "top:...:bottom"; legacy_safe checked that no path holds ':' */
		char lower[2 * PATH_MAX + 2];
		size_t off = 0;
		for (size_t i = 0; i < nlower; i++) {
			int w = snprintf(lower + off, sizeof lower - off, "%s%s", i ? ":" : "", lowers[i]);
			if (w < 0 || (size_t)w >= sizeof lower - off) {
				*stage = "overlay lowerdir (too long)";
				return -ENAMETOOLONG;
			}
			off += (size_t)w;
		}
		if (js_fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir", lower, 0) < 0) {
			*stage = "overlay lowerdir";
			return -errno;
		}
	}
	if (js_fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0) {
		*stage = "overlay upperdir";
		return -errno;
	}
	if (js_fsconfig(fs, FSCONFIG_SET_STRING, "workdir", work, 0) < 0) {
		*stage = "overlay workdir";
		return -errno;
	}
	if (js_fsconfig(fs, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0) {
		*stage = "overlay userxattr";
		return -errno;
	}
	if (js_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		*stage = "cannot create the overlay";
		return -errno;
	}
	_cleanup_close_ int mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV);
	if (mnt < 0) {
		*stage = "fsmount overlay";
		return -errno;
	}
	if (syscall(SYS_move_mount, mnt, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
		*stage = "cannot attach the overlay";
		return -errno;
	}
	return 0;
}

/* The classic option string cannot carry these (see overlay.h). */
static int legacy_safe(const char *what, const char *path, struct js_err *err)
{
	size_t bad = strcspn(path, ",:\\");
	if (path[bad])
		return js_fail(err, EINVAL,
			       "overlay %s \"%s\" holds '%c', which this kernel's overlayfs options cannot carry "
			       "(it lacks lowerdir+, Linux 6.8): use a path without ',' ':' '\\'",
			       what, path, path[bad]);
	return 0;
}

static void kernel_hint(char *buf, size_t sz)
{
	char rel[65];
	buf[0] = 0;
	if (js_kernel_at_least(JS_KERNEL_MIN_MAJOR, JS_KERNEL_MIN_MINOR, rel, sizeof rel) == 0)
		snprintf(buf, sz, " (Linux %s is older than %d.%d, the oldest jsandbox runs on)", rel,
			 JS_KERNEL_MIN_MAJOR, JS_KERNEL_MIN_MINOR);
}

int js_overlay_mount_layers(const char *const *lowers, size_t nlower, const char *upper, const char *work,
			    const char *target, enum js_ovl_lower how, enum js_ovl_lower *used, struct js_err *err)
{
	const char *stage = "";
	char hint[128];
	int r;

	if (nlower < 1 || nlower > 2)
		return js_fail(err, EINVAL, "overlay with %zu lower layers (1 or 2)", nlower);
	const char *lower = lowers[0]; /* named in messages: the topmost */
	if (how != JS_OVL_LOWER_LEGACY) {
		r = try_mount(lowers, nlower, upper, work, target, true, &stage);
		if (r == 0) {
			if (used)
				*used = JS_OVL_LOWER_APPEND;
			return 0;
		}
		if (how == JS_OVL_LOWER_APPEND || r != -EINVAL) {
			kernel_hint(hint, sizeof hint);
			return js_failm(err, -r, "%s (lower \"%s\", upper \"%s\" on \"%s\")%s", stage, lower, upper,
					target, hint);
		}
		/* EINVAL: a kernel without lowerdir+ (or a reason the classic
		 * key meets too, which it then reports). */
	}
	for (size_t i = 0; i < nlower; i++)
		if ((r = legacy_safe("lowerdir", lowers[i], err)) < 0)
			return r;
	if ((r = legacy_safe("upperdir", upper, err)) < 0 || (r = legacy_safe("workdir", work, err)) < 0)
		return r;
	r = try_mount(lowers, nlower, upper, work, target, false, &stage);
	if (r < 0) {
		kernel_hint(hint, sizeof hint);
		return js_failm(err, -r, "%s (lower \"%s\", upper \"%s\" on \"%s\", classic lowerdir%s)%s", stage,
				lower, upper, target, how == JS_OVL_LOWER_AUTO ? " after lowerdir+ was refused" : "",
				hint);
	}
	if (used)
		*used = JS_OVL_LOWER_LEGACY;
	return 0;
}

int js_overlay_mount(const char *lower, const char *upper, const char *work, const char *target, enum js_ovl_lower how,
		     enum js_ovl_lower *used, struct js_err *err)
{
	const char *const lowers[] = {lower};
	return js_overlay_mount_layers(lowers, 1, upper, work, target, how, used, err);
}

int js_kernel_at_least(int major, int minor, char *rel, size_t relsz)
{
	struct utsname u;
	if (uname(&u) < 0)
		return 1; /* cannot tell: let the feature probes speak */
	if (rel)
		snprintf(rel, relsz, "%s", u.release);
	int ma = 0, mi = 0;
	if (sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return 1;
	return ma > major || (ma == major && mi >= minor);
}
