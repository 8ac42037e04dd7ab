/* SPDX-License-Identifier: MIT */
#include "devnodes.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The granted nodes, received from the module with the set-up. */
static const struct js_rootfs_node *granted;
static size_t ngranted;

void js_rootfs_use_nodes(const struct js_rootfs_node *nodes, size_t n)
{
	granted = nodes;
	ngranted = n;
}

static int mkdir_one(const char *path, mode_t mode)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -errno;
	struct stat st;
	if (lstat(path, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* An empty regular file to mount a node on; in the container's own /dev
 * tmpfs, so nothing else is there to replace. */
static int make_file(const char *path)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	return fd < 0 ? -errno : 0;
}

/* mkdir -p the directories of a path relative to the new root ("dev/dri"
 * for "dev/dri/renderD128"); the names were checked by the init. */
static int ensure_parents(const char *rel)
{
	char buf[PATH_MAX];
	if (js_strlcpy(buf, rel, sizeof buf) < 0)
		return -ENAMETOOLONG;
	for (char *p = strchr(buf, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		int r = mkdir_one(buf, 0755);
		*p = '/';
		if (r < 0)
			return r;
	}
	return 0;
}

/* Attach a detached mount made by the module at rel (in the new root). */
static int attach_at(int fd, const char *rel, bool dir, struct js_err *err)
{
	int r = ensure_parents(rel);
	if (r == 0)
		r = dir ? mkdir_one(rel, 0555) : make_file(rel);
	if (r < 0)
		return js_fail(err, -r, "cannot create \"/%s\"", rel);
	if (syscall(SYS_move_mount, fd, "", AT_FDCWD, rel, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return js_failm(err, errno, "cannot attach \"/%s\"", rel);
	return 0;
}

/* /proc/driver/nvidia/gpus shows only the granted GPUs: a read-only tmpfs
 * over it holding each granted GPU's directory, bound from the host by the
 * module. On a host whose kernel has no NVIDIA driver (a fake discovery
 * tree) the directory does not exist in procfs and cannot be made there,
 * so the tmpfs goes over the nearest directory that does exist. */
int js_devnodes_nvidia_proc(struct js_err *err)
{
	size_t n = 0;
	for (size_t i = 0; i < ngranted; i++)
		n += granted[i].kind == JS_NODE_NVPROC;
	static const struct {
		const char *mnt, *sub;
	} places[] = {{"proc/driver/nvidia/gpus", ""}, {"proc/driver/nvidia", "gpus"}, {"proc/driver", "nvidia/gpus"}};
	struct stat st;
	size_t k = 0;
	while (k < JS_ARRAY_SIZE(places) && stat(places[k].mnt, &st) < 0)
		k++;
	if (k > 0 && n == 0)
		return 0; /* no driver here and nothing to show */
	if (k == JS_ARRAY_SIZE(places))
		return js_fail(err, ENOENT, "no /proc/driver to show the granted GPUs in");
	const char *mnt = places[k].mnt;
	if (mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0555,size=64k,nr_inodes=1024") < 0)
		return js_failm(err, errno, "mount a tmpfs on /%s", mnt);
	for (size_t i = 0; i < ngranted; i++) {
		if (granted[i].kind != JS_NODE_NVPROC)
			continue;
		char rel[PATH_MAX];
		snprintf(rel, sizeof rel, "%s/%s%s%s", mnt, places[k].sub, places[k].sub[0] ? "/" : "",
			 granted[i].name);
		int r = attach_at(granted[i].fd, rel, true, err);
		if (r < 0)
			return r;
	}
	if (mount(NULL, mnt, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return js_failm(err, errno, "remount /%s read-only", mnt);
	return 0;
}

int js_devnodes_attach_dev(struct js_err *err)
{
	for (size_t i = 0; i < ngranted; i++) {
		if (granted[i].kind != JS_NODE_DEV)
			continue;
		int r = attach_at(granted[i].fd, granted[i].name + 1, false, err);
		if (r < 0)
			return r;
	}
	return 0;
}
