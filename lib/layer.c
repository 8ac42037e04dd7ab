/* SPDX-License-Identifier: MIT */
/* The user's writable layer and its bound (layer.h). Root-side code: the
 * layer's contents are the user's (root inside), so nothing here resolves
 * a path inside it; the image file lives in the root-only
 * state_dir/layers and only the host kernel and mkfs ever write its raw
 * bytes (docs/security.md, "The layer's bound"). */
#include "layer.h"

#include <endian.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <linux/dqblk_xfs.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <linux/quota.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>

#include "safefs.h"

#define LAYERS_DIR	 "layers"
#define IMG_SUFFIX	 ".img"
#define FULL_SUFFIX	 ".full"
#define BASE_SUFFIX	 ".base"
#define LOOP_TRIES	 16
#define EXT4_BLOCK	 4096
#define FULL_PERCENT	 95  /* the admin's line: at or above this share */
#define BTRFS_SUBVOL_INO 256 /* BTRFS_FIRST_FREE_OBJECTID: a subvolume's root */

static const char *const mkfs_paths[] = {"/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4"};
static const char *const fsck_paths[] = {"/usr/sbin/e2fsck", "/sbin/e2fsck"};
static const char *const resize_paths[] = {"/usr/sbin/resize2fs", "/sbin/resize2fs"};

const char *js_layer_kind_name(enum js_layer_kind k)
{
	switch (k) {
	case JS_LAYER_DIR:
		return "directory";
	case JS_LAYER_BTRFS:
		return "btrfs-qgroup";
	case JS_LAYER_IMAGE:
		return "image";
	case JS_LAYER_PROJECT:
		return "project-quota";
	case JS_LAYER_NONE:
		break;
	}
	return "none";
}

static const char *find_tool(const char *const *paths, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (stat(paths[i], &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0 && !(st.st_mode & 022) &&
		    (st.st_mode & 0100))
			return paths[i];
	}
	return NULL;
}

/* Run argv[0] (a root-owned tool) with a clean environment, stdin and
 * stdout on /dev/null, keeping only `keep` open; its exit status or
 * -errno. */
static int run_tool(char *const argv[], int keep)
{
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 || dup2(nul, 2) < 0)
			_exit(127);
		int keepv[1] = {keep};
		js_close_fds_from(3, keepv, keep >= 0 ? 1 : 0);
		if (keep >= 0 && fcntl(keep, F_SETFD, 0) < 0)
			_exit(127);
		char *envp[] = {(char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", (char *)"LC_ALL=C", NULL};
		execve(argv[0], argv, envp);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- btrfs ------------------------------------------------------------ */

static bool is_btrfs(int fd)
{
	struct statfs sf;
	return fstatfs(fd, &sf) == 0 && sf.f_type == BTRFS_SUPER_MAGIC;
}

/* One item of the quota tree: (0, type, offset); -ENOENT when absent
 * (quotas off: no quota tree). */
static int quota_item(int fd, unsigned type, uint64_t offset, void *item, size_t len)
{
	struct btrfs_ioctl_search_args sa;
	memset(&sa, 0, sizeof sa);
	sa.key.tree_id = BTRFS_QUOTA_TREE_OBJECTID;
	sa.key.min_type = sa.key.max_type = type;
	sa.key.min_offset = sa.key.max_offset = offset;
	sa.key.max_transid = UINT64_MAX;
	sa.key.nr_items = 1;
	if (ioctl(fd, BTRFS_IOC_TREE_SEARCH, &sa) < 0)
		return -errno;
	if (sa.key.nr_items < 1)
		return -ENOENT;
	struct btrfs_ioctl_search_header h;
	memcpy(&h, sa.buf, sizeof h);
	if (h.type != type || h.offset != offset || h.len < len || sizeof h + h.len > sizeof sa.buf)
		return -ENOENT;
	memcpy(item, sa.buf + sizeof h, len);
	return 0;
}

static bool btrfs_quota_on(int fd)
{
	struct btrfs_qgroup_status_item st;
	return quota_item(fd, BTRFS_QGROUP_STATUS_KEY, 0, &st, sizeof st) == 0;
}

static int subvol_id(int subfd, uint64_t *id)
{
	struct btrfs_ioctl_ino_lookup_args a;
	memset(&a, 0, sizeof a);
	a.objectid = BTRFS_FIRST_FREE_OBJECTID;
	if (ioctl(subfd, BTRFS_IOC_INO_LOOKUP, &a) < 0)
		return -errno;
	*id = a.treeid;
	return 0;
}

/* Is users/<name> (an open directory) a btrfs subvolume's root? */
static bool is_subvol(int dfd)
{
	struct stat st;
	return is_btrfs(dfd) && fstat(dfd, &st) == 0 && st.st_ino == BTRFS_SUBVOL_INO;
}

static int btrfs_set_limit(int subfd, uint64_t max, const char *name, struct js_err *err)
{
	struct btrfs_ioctl_qgroup_limit_args a;
	memset(&a, 0, sizeof a);
	a.qgroupid = 0; /* the subvolume of subfd */
	a.lim.flags = BTRFS_QGROUP_LIMIT_MAX_RFER;
	a.lim.max_rfer = max ? max : UINT64_MAX; /* UINT64_MAX clears it */
	if (ioctl(subfd, BTRFS_IOC_QGROUP_LIMIT, &a) < 0)
		return js_failm(err, errno, "cannot set the btrfs qgroup limit of %s's layer%s", name,
				errno == ENOTCONN ? " (btrfs quotas are off: btrfs quota enable STATE_DIR)" : "");
	return 0;
}

static int btrfs_create(int users_fd, const char *name, uid_t sid, gid_t sgid, struct js_err *err)
{
	struct btrfs_ioctl_vol_args a;
	memset(&a, 0, sizeof a);
	if (js_strlcpy(a.name, name, sizeof a.name) < 0)
		return js_fail(err, ENAMETOOLONG, "user name too long");
	if (ioctl(users_fd, BTRFS_IOC_SUBVOL_CREATE, &a) < 0)
		return js_failm(err, errno, "cannot create the btrfs subvolume of %s's layer", name);
	_cleanup_close_ int d = openat(users_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d < 0 || fchown(d, sid, sgid) < 0 || fchmod(d, 0700) < 0)
		return js_failm(err, errno, "cannot hand the btrfs subvolume of %s's layer over", name);
	return 0;
}

/* ---- ext4/XFS project quotas --------------------------------------------- */

static int quotactl_fd(int fd, unsigned cmd, unsigned id, void *addr)
{
#ifdef SYS_quotactl_fd
	return (int)syscall(SYS_quotactl_fd, fd, cmd, id, addr);
#else
	(void)fd, (void)cmd, (void)id, (void)addr;
	errno = ENOSYS;
	return -1;
#endif
}

/* Project quotas accounted and enforced on fd's file system (ext4 mounted
 * with prjquota, XFS with pquota; not pqnoenforce). */
static bool project_quota_on(int fd)
{
	struct fs_quota_statv sv;
	memset(&sv, 0, sizeof sv);
	sv.qs_version = FS_QSTATV_VERSION1;
	if (quotactl_fd(fd, QCMD(Q_XGETQSTATV, PRJQUOTA), 0, &sv) < 0)
		return false;
	return (sv.qs_flags & FS_QUOTA_PDQ_ACCT) && (sv.qs_flags & FS_QUOTA_PDQ_ENFD);
}

/* Is dfd (users/<name>) tagged as project `id`, inheriting it? */
static bool is_project_dir(int dfd, uint32_t id)
{
	struct fsxattr fa;
	return ioctl(dfd, FS_IOC_FSGETXATTR, &fa) == 0 && fa.fsx_projid == id && (fa.fsx_xflags & FS_XFLAG_PROJINHERIT);
}

/* The project dfd is tagged with (inheriting), 0 when none. */
static uint32_t project_of(int dfd)
{
	struct fsxattr fa;
	if (ioctl(dfd, FS_IOC_FSGETXATTR, &fa) < 0 || !(fa.fsx_xflags & FS_XFLAG_PROJINHERIT))
		return 0;
	return fa.fsx_projid;
}

static int project_tag(int dfd, uint32_t id, const char *name, struct js_err *err)
{
	struct fsxattr fa;
	if (ioctl(dfd, FS_IOC_FSGETXATTR, &fa) < 0)
		return js_failm(err, errno, "cannot read the project of %s's layer", name);
	fa.fsx_projid = id;
	fa.fsx_xflags |= FS_XFLAG_PROJINHERIT;
	if (ioctl(dfd, FS_IOC_FSSETXATTR, &fa) < 0)
		return js_failm(err, errno, "cannot set project %u on %s's layer", id, name);
	return 0;
}

/* The project's block limit: disk_max, or none (0) for max. */
static int project_set_limit(int fd, uint32_t id, uint64_t max, const char *name, struct js_err *err)
{
	struct if_dqblk q;
	memset(&q, 0, sizeof q);
	q.dqb_bhardlimit = (max + QIF_DQBLKSIZE - 1) / QIF_DQBLKSIZE;
	q.dqb_bsoftlimit = 0;
	q.dqb_valid = QIF_BLIMITS;
	if (quotactl_fd(fd, QCMD(Q_SETQUOTA, PRJQUOTA), id, &q) < 0)
		return js_failm(err, errno, "cannot set the project quota of %s's layer (project %u)", name, id);
	return 0;
}

/* ---- image files -------------------------------------------------------- */

static int open_layers(int statefd, bool create, struct js_err *err)
{
	return js_mkdir_owned_at(statefd, LAYERS_DIR, 0700, 0, 0, create, err);
}

/* The image of `name` under layers (O_RDWR), checked: a root-owned regular
 * file with one link. -ENOENT when there is none. */
static int open_image(int layers, const char *name, struct js_err *err)
{
	char fn[NAME_MAX + 8];
	if (js_snprintf(fn, sizeof fn, "%s" IMG_SUFFIX, name) < 0)
		return js_fail(err, ENAMETOOLONG, "user name too long");
	int fd = openat(layers, fn, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : js_failm(err, errno, "layer image %s", fn);
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || st.st_nlink != 1) {
		close(fd);
		return js_fail(err, EPERM, "layer image %s is not a root-owned regular file", fn);
	}
	return fd;
}

/* A loop device already bound to the image (dev, ino): the one whose file
 * system a running container (or a concurrent jsandboxctl) mounted; a
 * second loop device on the same file would be a second super block on
 * the same bytes. Returns an O_RDONLY fd or -ENOENT. */
static int loop_find(const struct stat *ist, char *dev, size_t devlen)
{
	_cleanup_closedir_ DIR *d = opendir("/sys/block");
	if (!d)
		return -ENOENT;
	struct dirent *e;
	while ((e = readdir(d))) {
		unsigned n;
		char tail;
		if (sscanf(e->d_name, "loop%u%c", &n, &tail) != 1)
			continue;
		char path[32];
		snprintf(path, sizeof path, "/dev/loop%u", n);
		int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			continue;
		struct loop_info64 li;
		if (ioctl(fd, LOOP_GET_STATUS64, &li) == 0 && li.lo_device == (uint64_t)ist->st_dev &&
		    li.lo_inode == (uint64_t)ist->st_ino) {
			js_strlcpy(dev, path, devlen);
			return fd;
		}
		close(fd);
	}
	return -ENOENT;
}

/* Bind a free loop device to imgfd, cleared when its last user (the file
 * system) goes. Returns an O_RDONLY fd holding it. */
static int loop_attach(int imgfd, char *dev, size_t devlen, struct js_err *err)
{
	_cleanup_close_ int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return js_failm(err, errno, "cannot open /dev/loop-control");
	for (int i = 0; i < LOOP_TRIES; i++) {
		int n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0)
			return js_failm(err, errno, "no free loop device");
		char path[32];
		snprintf(path, sizeof path, "/dev/loop%d", n);
		_cleanup_close_ int rw = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
		if (rw < 0)
			return js_failm(err, errno, "cannot open %s", path);
		struct loop_config c;
		memset(&c, 0, sizeof c);
		c.fd = (uint32_t)imgfd;
		c.info.lo_flags = LO_FLAGS_AUTOCLEAR;
		if (ioctl(rw, LOOP_CONFIGURE, &c) < 0) {
			if (errno == EBUSY)
				continue; /* taken between GET_FREE and here */
			return js_failm(err, errno, "cannot bind %s to the layer image", path);
		}
		/* Held read-only: a writer of the raw device must not exist
		 * while the file system is mounted. */
		int ro = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (ro < 0)
			return js_failm(err, errno, "cannot reopen %s", path);
		js_strlcpy(dev, path, devlen);
		return ro;
	}
	return js_fail(err, EBUSY, "no free loop device after %d tries", LOOP_TRIES);
}

static int ext4_mount(const char *dev, int *mnt)
{
	_cleanup_close_ int fs = (int)syscall(SYS_fsopen, "ext4", FSOPEN_CLOEXEC);
	if (fs < 0)
		return -errno;
	if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "source", dev, 0) < 0 ||
	    syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "errors", "remount-ro", 0) < 0 ||
	    syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return -errno;
	*mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	return *mnt < 0 ? -errno : 0;
}

/* Mount the image's file system as a detached mount (nosuid, nodev):
 * reuse the loop device a running container's mount holds, else bind a
 * new one. An unclean file system the kernel refuses is repaired with
 * e2fsck -p once (its bytes are the kernel's and mkfs's, never the
 * user's) and mounted again. The image's lock (flock on its own open file)
 * keeps two callers from binding two loop devices to it. */
static int image_mount(int imgfd, const char *name, struct js_err *err)
{
	if (flock(imgfd, LOCK_EX) < 0)
		return js_failm(err, errno, "cannot lock %s's layer image", name);
	struct stat ist;
	if (fstat(imgfd, &ist) < 0)
		return js_failm(err, errno, "%s's layer image", name);
	char dev[32];
	_cleanup_close_ int loop = loop_find(&ist, dev, sizeof dev);
	if (loop < 0) {
		/* The loop device keeps a file of its own: not imgfd, whose
		 * open file holds the lock. */
		char self[64];
		snprintf(self, sizeof self, "/proc/self/fd/%d", imgfd);
		_cleanup_close_ int bfd = open(self, O_RDWR | O_CLOEXEC);
		if (bfd < 0)
			return js_failm(err, errno, "cannot reopen %s's layer image", name);
		loop = loop_attach(bfd, dev, sizeof dev, err);
		if (loop < 0)
			return loop;
	}
	int mnt = -1;
	int r = ext4_mount(dev, &mnt);
	if (r == -EUCLEAN || r == -EINVAL || r == -EIO) {
		const char *fsck = find_tool(fsck_paths, JS_ARRAY_SIZE(fsck_paths));
		int rc = -ENOENT;
		if (fsck) {
			char *argv[] = {(char *)fsck, (char *)"-p", (char *)"-f", dev, NULL};
			rc = run_tool(argv, -1);
		}
		syslog(LOG_AUTHPRIV | LOG_WARNING, "jsandbox: %s's layer image did not mount (%s); e2fsck -p: %s%d",
		       name, strerror(-r), rc < 0 ? "not run " : "exit ", rc);
		if (rc >= 0 && rc < 4)
			r = ext4_mount(dev, &mnt);
	}
	if (r < 0)
		return js_failm(err, -r, "cannot mount %s's layer image (jsandboxctl reset %s starts it anew)", name,
				name);
	return mnt;
}

/* Make layers/<name>.img: a sparse file of `size` bytes, an ext4 file
 * system whose root belongs to sid:sgid, made by mkfs.ext4 under a
 * temporary name and renamed into place once complete. */
static int image_create(int layers, const char *name, uint64_t size, uid_t sid, gid_t sgid, struct js_err *err)
{
	const char *mkfs = find_tool(mkfs_paths, JS_ARRAY_SIZE(mkfs_paths));
	if (!mkfs)
		return js_fail(err, ENOENT, "mkfs.ext4 (e2fsprogs) is missing: it makes bounded layers");
	char fn[NAME_MAX + 8], tmp[NAME_MAX + 16];
	if (js_snprintf(fn, sizeof fn, "%s" IMG_SUFFIX, name) < 0 || js_snprintf(tmp, sizeof tmp, ".%s.new", name) < 0)
		return js_fail(err, ENAMETOOLONG, "user name too long");
	if (unlinkat(layers, tmp, 0) < 0 && errno != ENOENT)
		return js_failm(err, errno, "cannot remove a stale %s", tmp);
	_cleanup_close_ int fd = openat(layers, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return js_failm(err, errno, "cannot create %s's layer image", name);
	size -= size % EXT4_BLOCK;
	if (ftruncate(fd, (off_t)size) < 0) {
		unlinkat(layers, tmp, 0);
		return js_failm(err, errno, "cannot size %s's layer image", name);
	}
	char ext[96], path[32];
	snprintf(ext, sizeof ext, "root_owner=%u:%u,lazy_itable_init=1,nodiscard", (unsigned)sid, (unsigned)sgid);
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	char *argv[] = {(char *)mkfs, (char *)"-q", (char *)"-F",	 (char *)"-m", (char *)"0", (char *)"-E",
			ext,	      (char *)"-L", (char *)"jsb-layer", path,	       NULL};
	int rc = run_tool(argv, fd);
	if (rc != 0) {
		unlinkat(layers, tmp, 0);
		return js_fail(err, EIO, "mkfs.ext4 failed for %s's layer image (%s %d)", name,
			       rc < 0 ? "error" : "exit", rc < 0 ? -rc : rc);
	}
	if (fsync(fd) < 0 || renameat(layers, tmp, layers, fn) < 0) {
		unlinkat(layers, tmp, 0);
		return js_failm(err, errno, "cannot put %s's layer image in place", name);
	}
	return 0;
}

/* Grow an unused image to `size` (the policy was raised), before it is
 * mounted: the file, then its file system with e2fsck -f -p and resize2fs
 * (offline: online growth needs CAP_SYS_RESOURCE, which not every host's
 * root keeps). Both read bytes only mkfs and the host kernel wrote. An
 * image still in use (a loop device bound: a container ending, a
 * jsandboxctl status) grows at a later start. Never shrinks. */
static void image_grow(int imgfd, uint64_t size, const char *name)
{
	struct stat st;
	size -= size % EXT4_BLOCK;
	if (fstat(imgfd, &st) < 0 || size == (uint64_t)st.st_size)
		return;
	if (size < (uint64_t)st.st_size) {
		syslog(LOG_AUTHPRIV | LOG_NOTICE,
		       "jsandbox: %s's layer image stays at %" PRIu64 " bytes above disk_max %" PRIu64
		       " (images never shrink; jsandboxctl reset %s makes a new one)",
		       name, (uint64_t)st.st_size, size, name);
		return;
	}
	const char *fsck = find_tool(fsck_paths, JS_ARRAY_SIZE(fsck_paths));
	const char *resize = find_tool(resize_paths, JS_ARRAY_SIZE(resize_paths));
	if (!fsck || !resize) {
		syslog(LOG_AUTHPRIV | LOG_WARNING,
		       "jsandbox: cannot grow %s's layer image: e2fsck or resize2fs missing", name);
		return;
	}
	if (flock(imgfd, LOCK_EX) < 0)
		return;
	char dev[32];
	_cleanup_close_ int loop = loop_find(&st, dev, sizeof dev);
	if (loop >= 0) {
		syslog(LOG_AUTHPRIV | LOG_NOTICE,
		       "jsandbox: %s's layer image is in use (%s): it grows at a later start", name, dev);
		return;
	}
	char path[32];
	snprintf(path, sizeof path, "/proc/self/fd/%d", imgfd);
	int rc = -1;
	if (ftruncate(imgfd, (off_t)size) == 0) {
		char *fa[] = {(char *)fsck, (char *)"-f", (char *)"-p", path, NULL};
		rc = run_tool(fa, imgfd);
		if (rc >= 0 && rc < 4) {
			char *ra[] = {(char *)resize, path, NULL};
			rc = run_tool(ra, imgfd);
		} else {
			rc = rc < 0 ? rc : 1000 + rc;
		}
	}
	if (rc != 0) {
		/* Back to the size its file system has; tried again at the
		 * next start. */
		if (ftruncate(imgfd, st.st_size) < 0)
			rc = -errno;
		syslog(LOG_AUTHPRIV | LOG_WARNING,
		       "jsandbox: cannot grow %s's layer image to %" PRIu64 " bytes (%s %d)", name, size,
		       rc >= 1000 ? "e2fsck exit" : "resize2fs exit", rc >= 1000 ? rc - 1000 : rc);
		return;
	}
	syslog(LOG_AUTHPRIV | LOG_NOTICE, "jsandbox: %s's layer image grown to %" PRIu64 " bytes", name, size);
}

/* ---- the mechanism, the layer ------------------------------------------ */

int js_layer_mechanism(int statefd, char *why, size_t whylen)
{
	if (is_btrfs(statefd)) {
		if (btrfs_quota_on(statefd)) {
			snprintf(why, whylen, "btrfs with quotas on: a subvolume per layer, bounded by its qgroup");
			return JS_LAYER_BTRFS;
		}
	} else if (project_quota_on(statefd)) {
		snprintf(why, whylen,
			 "project quotas enforced: a directory per layer, project id = the user's uid, bounded by its "
			 "project quota");
		return JS_LAYER_PROJECT;
	}
	const char *mkfs = find_tool(mkfs_paths, JS_ARRAY_SIZE(mkfs_paths));
	int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	int e = errno;
	if (ctl >= 0)
		close(ctl);
	if (!mkfs || ctl < 0) {
		if (!mkfs)
			snprintf(why, whylen, "no mechanism: image files need mkfs.ext4 (e2fsprogs), which is missing");
		else
			snprintf(why, whylen, "no mechanism: image files need loop devices: /dev/loop-control: %s",
				 strerror(e));
		return -EOPNOTSUPP;
	}
	snprintf(why, whylen, "%s: an ext4 image file per layer (state_dir/layers), loop-mounted by root",
		 is_btrfs(statefd) ? "btrfs with quotas off (btrfs quota enable for qgroups)" : "this file system");
	return JS_LAYER_IMAGE;
}

int js_layer_prepare(int statefd, int users_fd, uint64_t disk_max, const char *name, uid_t uid, uid_t sid, gid_t sgid,
		     enum js_layer_kind *kind, int *layer_fd, struct js_err *err)
{
	*layer_fd = -1;
	*kind = JS_LAYER_DIR;
	bool bounded = disk_max != 0;
	_cleanup_close_ int layers = open_layers(statefd, false, NULL);
	_cleanup_close_ int img = -ENOENT;
	if (layers >= 0) {
		img = open_image(layers, name, err);
		if (img < 0 && img != -ENOENT)
			return img;
	}
	struct stat st;
	bool have_dir = fstatat(users_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (img < 0 && !have_dir && bounded) {
		char why[256];
		int m = js_layer_mechanism(statefd, why, sizeof why);
		if (m < 0)
			return js_fail(err, -m, "disk_max cannot be enforced on state_dir: %s", why);
		if (m == JS_LAYER_BTRFS) {
			int r = btrfs_create(users_fd, name, sid, sgid, err);
			if (r < 0)
				return r;
		} else if (m == JS_LAYER_PROJECT) {
			/* Tagged while still empty: everything made in it
			 * later (upper/, work/, the user's files) inherits. */
			_cleanup_close_ int d = js_mkdir_owned_at(users_fd, name, 0700, sid, sgid, true, err);
			if (d < 0)
				return d;
			int r = project_tag(d, (uint32_t)uid, name, err);
			if (r < 0)
				return r;
		} else {
			if (layers < 0) {
				layers = open_layers(statefd, true, err);
				if (layers < 0)
					return layers;
			}
			int r = image_create(layers, name, disk_max, sid, sgid, err);
			if (r < 0)
				return r;
			img = open_image(layers, name, err);
			if (img < 0)
				return img;
		}
	}
	if (img >= 0) {
		if (bounded)
			image_grow(img, disk_max, name);
		_cleanup_close_ int mnt = image_mount(img, name, err);
		if (mnt < 0)
			return mnt;
		_cleanup_close_ int up = js_mkdir_owned_at(mnt, "upper", 0755, sid, sgid, true, err);
		if (up < 0)
			return up;
		_cleanup_close_ int wk = js_mkdir_owned_at(mnt, "work", 0700, sid, sgid, true, err);
		if (wk < 0)
			return wk;
		*kind = JS_LAYER_IMAGE;
		*layer_fd = js_steal_fd(&mnt);
		return 0;
	}
	_cleanup_close_ int d = openat(users_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d >= 0 && is_subvol(d)) {
		*kind = JS_LAYER_BTRFS;
		return btrfs_set_limit(d, disk_max, name, err);
	}
	if (d >= 0 && is_project_dir(d, (uint32_t)uid)) {
		*kind = JS_LAYER_PROJECT;
		return project_set_limit(d, (uint32_t)uid, disk_max, name, err);
	}
	if (bounded)
		syslog(LOG_AUTHPRIV | LOG_WARNING,
		       "jsandbox: %s's layer is a plain directory made before disk_max applied: not bounded "
		       "(jsandboxctl reset %s makes a bounded one)",
		       name, name);
	return 0;
}

/* users/<name> of state_dir, opened as root for reading: the directory
 * fds of a layer; -ENOENT when missing. */
static int open_state(const char *state_dir, int *users, struct js_err *err)
{
	int state = js_open_trusted_dir(state_dir, false, err);
	if (state < 0)
		return state;
	*users = openat(state, "users", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return state;
}

int js_layer_usage(const char *state_dir, const char *name, struct js_layer_usage *out, struct js_err *err)
{
	memset(out, 0, sizeof *out);
	_cleanup_close_ int users = -1;
	_cleanup_close_ int state = open_state(state_dir, &users, err);
	if (state < 0)
		return state == -ENOENT ? 0 : state;
	_cleanup_close_ int layers = open_layers(state, false, NULL);
	if (layers >= 0) {
		_cleanup_close_ int img = open_image(layers, name, err);
		if (img >= 0) {
			out->kind = JS_LAYER_IMAGE;
			_cleanup_close_ int mnt = image_mount(img, name, err);
			if (mnt < 0)
				return mnt;
			struct statfs sf;
			if (fstatfs(mnt, &sf) < 0)
				return js_failm(err, errno, "statfs of %s's layer", name);
			out->limit = (uint64_t)sf.f_blocks * (uint64_t)sf.f_bsize;
			out->used = (uint64_t)(sf.f_blocks - sf.f_bfree) * (uint64_t)sf.f_bsize;
			out->used_known = true;
			return 0;
		}
		if (img != -ENOENT)
			return img;
	}
	if (users < 0)
		return 0;
	_cleanup_close_ int d = openat(users, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d < 0)
		return 0;
	out->kind = JS_LAYER_DIR;
	uint32_t prj = project_of(d);
	if (prj) {
		struct if_dqblk q;
		memset(&q, 0, sizeof q);
		if (quotactl_fd(d, QCMD(Q_GETQUOTA, PRJQUOTA), prj, &q) < 0)
			return 0;
		out->kind = JS_LAYER_PROJECT;
		out->used = q.dqb_curspace;
		out->used_known = true;
		out->limit = q.dqb_bhardlimit * QIF_DQBLKSIZE;
		return 0;
	}
	if (!is_subvol(d))
		return 0;
	out->kind = JS_LAYER_BTRFS;
	uint64_t id;
	if (subvol_id(d, &id) < 0)
		return js_failm(err, errno, "btrfs subvolume id of %s's layer", name);
	struct btrfs_qgroup_info_item info;
	struct btrfs_qgroup_limit_item lim;
	/* qgroup numbers are brought up to date when a transaction commits */
	(void)syncfs(d);
	if (quota_item(d, BTRFS_QGROUP_INFO_KEY, id, &info, sizeof info) == 0) {
		out->used = le64toh(info.rfer);
		out->used_known = true;
	}
	if (quota_item(d, BTRFS_QGROUP_LIMIT_KEY, id, &lim, sizeof lim) == 0 &&
	    (le64toh(lim.flags) & BTRFS_QGROUP_LIMIT_MAX_RFER))
		out->limit = le64toh(lim.max_rfer);
	return 0;
}

int js_layer_open_upper(const char *state_dir, const char *name, struct js_err *err)
{
	_cleanup_close_ int users = -1;
	_cleanup_close_ int state = open_state(state_dir, &users, err);
	if (state < 0)
		return state;
	_cleanup_close_ int layers = open_layers(state, false, NULL);
	if (layers >= 0) {
		_cleanup_close_ int img = open_image(layers, name, err);
		if (img >= 0) {
			_cleanup_close_ int mnt = image_mount(img, name, err);
			if (mnt < 0)
				return mnt;
			int up = openat(mnt, "upper", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			return up < 0 ? js_failm(err, errno, "%s's layer has no upper directory", name) : up;
		}
		if (img != -ENOENT)
			return img;
	}
	if (users < 0)
		return js_fail(err, ENOENT, "%s has no layer", name);
	_cleanup_close_ int d = openat(users, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d < 0)
		return js_fail(err, ENOENT, "%s has no layer", name);
	int up = openat(d, "upper", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return up < 0 ? js_failm(err, errno, "%s's layer has no upper directory", name) : up;
}

void js_layer_note_full(const char *state_dir, const char *name)
{
	struct js_layer_usage u;
	if (js_layer_usage(state_dir, name, &u, NULL) < 0 || !u.limit || !u.used_known)
		return;
	bool full = u.used >= u.limit / 100 * FULL_PERCENT;
	char marker[NAME_MAX + 8];
	if (js_snprintf(marker, sizeof marker, "%s" FULL_SUFFIX, name) < 0)
		return;
	_cleanup_close_ int state = js_open_trusted_dir(state_dir, false, NULL);
	_cleanup_close_ int layers = state < 0 ? -1 : open_layers(state, full, NULL);
	if (layers < 0)
		return;
	if (!full) {
		unlinkat(layers, marker, 0);
		return;
	}
	int fd = openat(layers, marker, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return; /* said already, or cannot say it only once */
	close(fd);
	/* What the user's writes fail with: ENOSPC from an image's file
	 * system (and XFS for a project), EDQUOT from a btrfs qgroup and an
	 * ext4 project quota. */
	const char *says = u.kind == JS_LAYER_IMAGE ? "\"No space left on device\""
			   : u.kind == JS_LAYER_BTRFS
			       ? "\"Disk quota exceeded\""
			       : "\"Disk quota exceeded\" (ext4) or \"No space left on device\" (XFS)";
	syslog(LOG_AUTHPRIV | LOG_WARNING,
	       "jsandbox: %s's layer is full: %" PRIu64 " MiB used of %" PRIu64
	       " MiB (disk_max, %s): writes there fail with %s",
	       name, u.used >> 20, u.limit >> 20, js_layer_kind_name(u.kind), says);
}

int js_layer_remove(int statefd, int users_fd, const char *name, struct js_err *err)
{
	_cleanup_close_ int layers = open_layers(statefd, false, NULL);
	if (layers >= 0) {
		char fn[NAME_MAX + 8];
		if (js_snprintf(fn, sizeof fn, "%s" IMG_SUFFIX, name) < 0)
			return js_fail(err, ENAMETOOLONG, "user name too long");
		/* A file system still mounted from it (a container ending)
		 * keeps the inode; a new image is a new inode. */
		if (unlinkat(layers, fn, 0) < 0 && errno != ENOENT)
			return js_failm(err, errno, "cannot remove %s's layer image", name);
		if (js_snprintf(fn, sizeof fn, "%s" FULL_SUFFIX, name) == 0)
			unlinkat(layers, fn, 0);
		/* A new layer is made for whatever image it starts on. */
		if (js_snprintf(fn, sizeof fn, "%s" BASE_SUFFIX, name) == 0)
			unlinkat(layers, fn, 0);
	}
	_cleanup_close_ int d = openat(users_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d >= 0 && is_subvol(d)) {
		uint64_t id = 0;
		subvol_id(d, &id);
		struct btrfs_ioctl_vol_args a;
		memset(&a, 0, sizeof a);
		js_strlcpy(a.name, name, sizeof a.name);
		if (ioctl(users_fd, BTRFS_IOC_SNAP_DESTROY, &a) < 0)
			return js_failm(err, errno, "cannot remove the btrfs subvolume of %s's layer", name);
		/* Its qgroup stays behind on kernels that do not drop it. */
		struct btrfs_ioctl_qgroup_create_args q = {.create = 0, .qgroupid = id};
		if (id)
			(void)ioctl(statefd, BTRFS_IOC_QGROUP_CREATE, &q);
		return 0;
	}
	uint32_t prj = d >= 0 ? project_of(d) : 0;
	int r = js_remove_tree_at(users_fd, name, err);
	if (r == 0 && prj) {
		/* The project's limit goes with the layer. */
		(void)project_set_limit(statefd, prj, 0, name, NULL);
	}
	return r;
}

/* ---- a fresh layer put in place of the old one (layer import) ----------- */

/* The fresh layer's upper/ (and work/), or -errno. */
static int make_fresh(int statefd, int users_fd, uint64_t disk_max, const char *tmp, uid_t uid, uid_t sid, gid_t sgid,
		      struct js_err *err)
{
	enum js_layer_kind kind;
	_cleanup_close_ int mnt = -1;
	int r = js_layer_prepare(statefd, users_fd, disk_max, tmp, uid, sid, sgid, &kind, &mnt, err);
	if (r < 0)
		return r;
	_cleanup_close_ int mine = js_mkdir_owned_at(users_fd, tmp, 0700, sid, sgid, true, err);
	if (mine < 0)
		return mine;
	if (kind == JS_LAYER_IMAGE) {
		/* The fd of upper/ holds the detached mount (and so the loop
		 * device) until it is closed. */
		int up = openat(mnt, "upper", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		return up < 0 ? js_failm(err, errno, "the fresh layer image has no upper directory") : up;
	}
	_cleanup_close_ int up = js_mkdir_owned_at(mine, "upper", 0755, sid, sgid, true, err);
	if (up < 0)
		return up;
	_cleanup_close_ int wk = js_mkdir_owned_at(mine, "work", 0700, sid, sgid, true, err);
	if (wk < 0)
		return wk;
	return js_steal_fd(&up);
}

int js_layer_make_fresh(int statefd, int users_fd, uint64_t disk_max, const char *tmp, uid_t uid, uid_t sid, gid_t sgid,
			struct js_err *err)
{
	/* Whatever an interrupted import left under that name goes first. */
	int r = js_layer_remove(statefd, users_fd, tmp, err);
	if (r < 0)
		return r;
	int up = make_fresh(statefd, users_fd, disk_max, tmp, uid, sid, sgid, err);
	if (up < 0)
		(void)js_layer_remove(statefd, users_fd, tmp, NULL);
	return up;
}

/* Exchange a and b in dirfd, or rename the one that exists to the other's
 * name; nothing when neither exists. */
static int swap_names(int dirfd, const char *a, const char *b)
{
	struct stat st;
	bool ha = fstatat(dirfd, a, &st, AT_SYMLINK_NOFOLLOW) == 0;
	bool hb = fstatat(dirfd, b, &st, AT_SYMLINK_NOFOLLOW) == 0;
	int r = 0;
	if (ha && hb)
		r = renameat2(dirfd, a, dirfd, b, RENAME_EXCHANGE);
	else if (ha)
		r = renameat2(dirfd, a, dirfd, b, RENAME_NOREPLACE);
	else if (hb)
		r = renameat2(dirfd, b, dirfd, a, RENAME_NOREPLACE);
	return r < 0 ? -errno : 0;
}

int js_layer_swap_in(int statefd, int users_fd, const char *tmp, const char *name, struct js_err *err)
{
	int r = swap_names(users_fd, tmp, name);
	if (r < 0)
		return js_fail(err, -r, "cannot put the imported layer in place of %s's: %s", name, strerror(-r));
	_cleanup_close_ int layers = open_layers(statefd, false, NULL);
	if (layers >= 0) {
		char ft[NAME_MAX + 8], fn[NAME_MAX + 8];
		if (js_snprintf(ft, sizeof ft, "%s" IMG_SUFFIX, tmp) < 0 ||
		    js_snprintf(fn, sizeof fn, "%s" IMG_SUFFIX, name) < 0)
			r = -ENAMETOOLONG;
		else
			r = swap_names(layers, ft, fn);
		if (r < 0) {
			/* Back as it was: the directories exchanged again. */
			int u = swap_names(users_fd, tmp, name);
			return js_fail(err, -r, "cannot put the imported layer image in place of %s's: %s%s", name,
				       strerror(-r), u < 0 ? " (and the layer directories are now exchanged)" : "");
		}
		if (js_snprintf(fn, sizeof fn, "%s" FULL_SUFFIX, name) == 0)
			unlinkat(layers, fn, 0);
		/* A new layer is made for whatever image it starts on. */
		if (js_snprintf(fn, sizeof fn, "%s" BASE_SUFFIX, name) == 0)
			unlinkat(layers, fn, 0);
	}
	struct js_err e2 = {0};
	if (js_layer_remove(statefd, users_fd, tmp, &e2) < 0)
		syslog(LOG_AUTHPRIV | LOG_WARNING,
		       "jsandbox: %s's previous layer, now under the name %s, was not removed: %s (the next "
		       "import removes it)",
		       name, tmp, e2.msg);
	return 0;
}

int js_layer_image_mount(int statefd, const char *name, struct js_err *err)
{
	_cleanup_close_ int layers = open_layers(statefd, false, NULL);
	if (layers < 0)
		return -ENOENT;
	_cleanup_close_ int img = open_image(layers, name, err);
	if (img < 0)
		return img;
	return image_mount(img, name, err);
}

/* ---- the image a layer was made for -------------------------------------- */

/* The value of `key` in a "key=value" per line text, bounded by len; the
 * value must be a plain token (letters, digits, '-', '_', '.', ':'). */
static int kv_token(const char *text, const char *key, char *out, size_t len)
{
	size_t kl = strlen(key);
	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		if (strncmp(l, key, kl) != 0 || l[kl] != '=')
			continue;
		const char *v = l + kl + 1;
		size_t n = strcspn(v, "\n");
		if (n == 0 || n >= len)
			return -EINVAL;
		for (size_t i = 0; i < n; i++) {
			char c = v[i];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
			      c == '_' || c == '.' || c == ':'))
				return -EINVAL;
		}
		memcpy(out, v, n);
		out[n] = '\0';
		return 0;
	}
	return -ENOENT;
}

int js_image_id(int imagesfd, const char *name, char *id, size_t len)
{
	char fn[NAME_MAX + 1], text[8192];
	if (js_snprintf(fn, sizeof fn, ".%s.info", name) < 0)
		return -ENAMETOOLONG;
	int r = js_read_file_at(imagesfd, fn, text, sizeof text, NULL);
	if (r < 0)
		return r;
	r = kv_token(text, "id", id, len);
	if (r == -ENOENT)
		r = kv_token(text, "built", id, len);
	return r;
}

int js_layer_base_read(int statefd, const char *name, struct js_layer_base *b)
{
	memset(b, 0, sizeof *b);
	_cleanup_close_ int layers = open_layers(statefd, false, NULL);
	if (layers < 0)
		return layers;
	char fn[NAME_MAX + 1], text[512];
	if (js_snprintf(fn, sizeof fn, "%s" BASE_SUFFIX, name) < 0)
		return -ENAMETOOLONG;
	int r = js_read_file_at(layers, fn, text, sizeof text, NULL);
	if (r < 0)
		return r;
	r = kv_token(text, "image", b->image, sizeof b->image);
	if (r == 0)
		r = kv_token(text, "id", b->id, sizeof b->id);
	if (r < 0)
		return r == -ENOENT ? -EINVAL : r;
	if (kv_token(text, "failed", b->failed, sizeof b->failed) < 0)
		b->failed[0] = '\0';
	return 0;
}

int js_layer_base_write(int statefd, const char *name, const struct js_layer_base *b, struct js_err *err)
{
	_cleanup_close_ int layers = open_layers(statefd, true, err);
	if (layers < 0)
		return layers;
	char fn[NAME_MAX + 1], tmp[NAME_MAX + 1], text[512];
	if (js_snprintf(fn, sizeof fn, "%s" BASE_SUFFIX, name) < 0 ||
	    js_snprintf(tmp, sizeof tmp, ".%s" BASE_SUFFIX ".tmp", name) < 0)
		return js_fail(err, ENAMETOOLONG, "user name too long");
	int n = snprintf(text, sizeof text, "image=%s\nid=%s\n%s%s%s", b->image, b->id, b->failed[0] ? "failed=" : "",
			 b->failed, b->failed[0] ? "\n" : "");
	if (n < 0 || (size_t)n >= sizeof text)
		return js_fail(err, ENAMETOOLONG, "layer record too long");
	unlinkat(layers, tmp, 0);
	_cleanup_close_ int fd = openat(layers, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return js_failm(err, errno, "cannot write %s's layer record", name);
	if (js_write_all(fd, text, (size_t)n) < 0 || fsync(fd) < 0 || renameat(layers, tmp, layers, fn) < 0) {
		int e = errno;
		unlinkat(layers, tmp, 0);
		return js_failm(err, e, "cannot write %s's layer record", name);
	}
	return 0;
}
