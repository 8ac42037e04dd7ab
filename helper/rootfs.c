/* SPDX-License-Identifier: MIT */
/* The container's filesystem, built by its init (root only inside the
 * user's namespace) before pivot_root: overlay of the idmapped image and the
 * user's layer, /proc, a minimal /dev, private /tmp and /dev/shm, the user's
 * home, the host's resolv.conf and hosts, and the user's own passwd, group
 * and sudoers entries.
 *
 * The overlay's upper layer is the user's: root inside may have left any
 * file there a symlink, a FIFO or a directory, and before pivot_root an
 * absolute link would resolve against the HOST's root. So every read,
 * write, rename and mkdir in the new root goes through rootfd (the overlay's
 * root) with js_openat_beneath / js_mkdir_beneath (RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS, one component at a time for
 * mkdir): nothing follows a link, nothing resolves outside the layer. The
 * few mount(2) targets named by path are top-level directories checked
 * that way just before, and no process of the user exists during set-up to
 * change them. */
#include "rootfs.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/mount.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "devnodes.h"
#include "overlay.h"
#include "safefs.h"

static int mount_overlay(const struct js_setup *s, struct js_err *err)
{
	/* lowerdir+ where the kernel has it (6.8+), else the classic string
	 * (Debian 12's 6.1): lib/overlay.c. */
	return js_overlay_mount(s->lower_dir, s->upper_dir, s->work_dir, s->root_dir, JS_OVL_LOWER_AUTO, NULL, err);
}

/* Make sure dir exists in a filesystem set-up itself just mounted in the
 * new root (the /dev and /run tmpfs, procfs): never the user's layer,
 * which goes through rootfd (prepare_layer). Returns 0 or -errno (errno is
 * not the reason: -ENOTDIR comes from the check, not a call). */
static int ensure_dir(const char *path, mode_t mode)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -errno;
	struct stat st;
	if (lstat(path, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* /run/user/UID, the user's XDG_RUNTIME_DIR inside (what logind's
 * user-runtime-dir@ makes on a host): theirs, 0700, on the container's own
 * /run tmpfs, which set-up just mounted empty; it lives as long as the
 * container. The session sets XDG_RUNTIME_DIR to it (helper/session.c).
 * The host's /run/user/UID, if any, is never seen inside. */
static int make_runtime_dir(const struct js_user *u, struct js_err *err)
{
	char path[32];
	snprintf(path, sizeof path, "run/user/%u", (unsigned)u->uid);
	int r = ensure_dir("run/user", 0755);
	if (r == 0 && mkdir(path, 0700) < 0)
		r = -errno;
	if (r < 0)
		return js_failm(err, -r, "cannot create /%s", path);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fchown(fd, u->uid, u->gid) < 0 || fchmod(fd, 0700) < 0)
		return js_failm(err, errno, "cannot hand /%s to %s", path, u->name);
	return 0;
}

static int ensure_file(const char *path)
{
	struct stat st;
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
		unlink(path);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	return fd < 0 ? -errno : 0;
}

/* Bind src (a host path, resolved before pivot_root) onto the directory or
 * file open as tfd in the new root (`tname` for messages), optionally
 * read-only, recursively. */
static int bind_path(const char *src, int tfd, const char *tname, bool ro, bool recursive, struct js_err *err)
{
	unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
	_cleanup_close_ int t = (int)syscall(SYS_open_tree, AT_FDCWD, src, flags);
	if (t < 0)
		return js_failm(err, errno, "cannot bind \"%s\"", src);
	if (ro) {
		struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};
		if (syscall(SYS_mount_setattr, t, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a, sizeof a) < 0)
			return js_failm(err, errno, "cannot make \"%s\" read-only", src);
	}
	if (syscall(SYS_move_mount, t, "", tfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return js_failm(err, errno, "cannot mount \"%s\" on \"/%s\"", src, tname);
	return 0;
}

/* Hide what the kernel would tell (or let change) from /proc and /sys
 * that no container needs, relative to the new root, after /proc and /sys
 * are mounted there. Most of it the kernel already refuses to a user
 * namespace; this is the second wall, and what it shows (empty, read-only)
 * is the same on every kernel.
 *
 * These mounts are made in the container's mount namespace, so they are
 * not locked against umount there: nothing inside may unmount them
 * because no process inside holds CAP_SYS_ADMIN over the container's
 * namespace (not in the session's bounding set; the init keeps only
 * CAP_KILL) and the seccomp filter refuses umount2. In a user namespace
 * created inside (nested_userns = yes) they are copied locked. */
static int mask_kernel_paths(struct js_err *err)
{
	/* Files that tell: a read-only /dev/null over them reads empty. (A
	 * read-only mount does not stop writes to a device node: a write
	 * goes to /dev/null, which is why the one file here made to be
	 * written, sysrq-trigger, is in ro instead.) */
	static const char *const files[] = {
	    "proc/kcore",	"proc/keys",	      "proc/key-users",	  "proc/timer_list",   "proc/timer_stats",
	    "proc/sched_debug", "proc/latency_stats", "proc/kallsyms",	  "proc/kmsg",	       "proc/kpagecount",
	    "proc/kpageflags",	"proc/kpagecgroup",   "proc/vmallocinfo", "proc/pagetypeinfo",
	};
	/* Directories: an empty read-only tmpfs over them. */
	static const char *const dirs[] = {
	    "proc/acpi",	"proc/scsi",	      "proc/asound", "sys/firmware", "sys/devices/virtual/powercap",
	    "sys/kernel/debug", "sys/kernel/tracing",
	};
	/* Read-only, still readable: sysctls, interrupt and bus settings;
	 * and sysrq-trigger, a regular proc file: opening it for writing
	 * fails with EROFS (kernels built without sysrq have none). */
	static const char *const ro[] = {"proc/sys", "proc/irq", "proc/bus", "proc/fs", "proc/sysrq-trigger"};
	struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC};
	struct stat st;

	for (size_t i = 0; i < JS_ARRAY_SIZE(files); i++) {
		if (lstat(files[i], &st) < 0)
			continue; /* not on this kernel */
		_cleanup_close_ int t =
		    (int)syscall(SYS_open_tree, AT_FDCWD, "/dev/null", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (t < 0 || syscall(SYS_mount_setattr, t, "", AT_EMPTY_PATH, &a, sizeof a) < 0 ||
		    syscall(SYS_move_mount, t, "", AT_FDCWD, files[i], MOVE_MOUNT_F_EMPTY_PATH) < 0)
			return js_failm(err, errno, "cannot mask /%s", files[i]);
	}
	for (size_t i = 0; i < JS_ARRAY_SIZE(dirs); i++) {
		if (lstat(dirs[i], &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (mount("tmpfs", dirs[i], "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "size=4k,nr_inodes=1,mode=0555") < 0)
			return js_failm(err, errno, "cannot mask /%s", dirs[i]);
	}
	struct mount_attr rda = {.attr_set =
				     MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC};
	for (size_t i = 0; i < JS_ARRAY_SIZE(ro); i++) {
		if (lstat(ro[i], &st) < 0)
			continue;
		_cleanup_close_ int t =
		    (int)syscall(SYS_open_tree, AT_FDCWD, ro[i], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
		if (t < 0 || syscall(SYS_mount_setattr, t, "", AT_EMPTY_PATH | AT_RECURSIVE, &rda, sizeof rda) < 0 ||
		    syscall(SYS_move_mount, t, "", AT_FDCWD, ro[i], MOVE_MOUNT_F_EMPTY_PATH) < 0)
			return js_failm(err, errno, "cannot make /%s read-only", ro[i]);
	}
	return 0;
}

static int setup_dev(const struct js_setup *s, const struct js_node *nodes, size_t nnodes, struct js_err *err)
{
	if (mount("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=512k,nr_inodes=4096") < 0)
		return js_failm(err, errno, "mount /dev");
	/* A user namespace cannot mknod. Exactly the nodes of the device
	 * allow-list exist: the module checked and cloned each (standard
	 * nodes, granted GPUs, policy `devices`) and the cgroup enforces the
	 * same list (lib/devices.h). ptmx and the ptys are our devpts. */
	int r = js_devnodes_attach_dev(nodes, nnodes, err);
	if (r >= 0)
		r = js_devnodes_nvidia_proc(nodes, nnodes, err);
	if (r < 0)
		return r;
	static const struct {
		const char *dir;
		mode_t mode;
	} devdirs[] = {{"dev/pts", 0755}, {"dev/shm", 01777}, {"dev/mqueue", 0755}};
	for (size_t i = 0; i < JS_ARRAY_SIZE(devdirs); i++)
		if ((r = ensure_dir(devdirs[i].dir, devdirs[i].mode)) < 0)
			return js_failm(err, -r, "cannot create /%s", devdirs[i].dir);
	/* Our own devpts: ptys opened inside are invisible to the host and
	 * host ptys invisible here. gid 5 is the image's tty group. Every
	 * devpts but the host's draws on one pool (kernel.pty.max less
	 * kernel.pty.reserve): max= (policy pty_max) keeps one user from
	 * taking the terminals of every other user's logins. */
	if (s->pty_max < 1)
		return js_fail(err, EINVAL, "pty_max missing from the set-up");
	char ptsopts[96];
	snprintf(ptsopts, sizeof ptsopts, "newinstance,ptmxmode=0666,mode=0620,gid=5,max=%u", (unsigned)s->pty_max);
	if (mount("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, ptsopts) < 0)
		return js_failm(err, errno, "mount /dev/pts");
	char opts[64];
	snprintf(opts, sizeof opts, "mode=1777,size=%llu", (unsigned long long)s->tmp_size);
	if (mount("tmpfs", "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
		return js_failm(err, errno, "mount /dev/shm");
	if (mount("mqueue", "dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		rmdir("dev/mqueue"); /* optional */
	static const struct {
		const char *target, *link;
	} links[] = {{"pts/ptmx", "dev/ptmx"},
		     {"/proc/self/fd", "dev/fd"},
		     {"/proc/self/fd/0", "dev/stdin"},
		     {"/proc/self/fd/1", "dev/stdout"},
		     {"/proc/self/fd/2", "dev/stderr"}};
	for (size_t i = 0; i < JS_ARRAY_SIZE(links); i++)
		if (symlink(links[i].target, links[i].link) < 0 && errno != EEXIST)
			return js_failm(err, errno, "symlink %s", links[i].link);
	if (mount(NULL, "dev", NULL, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NOEXEC | MS_RDONLY, NULL) < 0)
		return js_failm(err, errno, "remount /dev read-only");
	return 0;
}

/* ---- the user's layer: identity files, placeholders, the home --------- */

/* Open name under dirfd for reading only if it is a regular file, never
 * through a link (O_NONBLOCK: a FIFO must not stall the set-up). Returns
 * the fd, -ENOENT when absent, or another -errno (-ELOOP a symlink,
 * -EINVAL neither a regular file nor absent). */
static int open_regular(int dirfd, const char *name, struct stat *st)
{
	int fd = js_openat_beneath(dirfd, name, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
	if (fd < 0)
		return fd;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

/* Does name under dirfd hold exactly data (len bytes), as a regular file
 * with the given owner and mode? Then a login need not write it: a full
 * layer (ENOSPC) stops nothing that is already right. */
static bool file_holds(int dirfd, const char *name, const char *data, size_t len, uid_t uid, gid_t gid, mode_t mode)
{
	struct stat st;
	_cleanup_close_ int fd = open_regular(dirfd, name, &st);
	if (fd < 0 || st.st_uid != uid || st.st_gid != gid || (st.st_mode & 07777) != mode ||
	    (uint64_t)st.st_size != len)
		return false;
	_cleanup_free_ char *buf = malloc(len + 1);
	return buf && js_read_all(fd, buf, len + 1) == (ssize_t)len && !memcmp(buf, data, len);
}

/* Write data as name under dirfd (owner, mode) through a temporary file
 * and rename; the temporary file does not outlive a failure (it would take
 * room in a layer that may be full). Returns 0 or -errno, err set. */
static int replace_file(int dirfd, const char *dirname, const char *name, const char *data, size_t len, uid_t uid,
			gid_t gid, mode_t mode, struct js_err *err)
{
	char tmp[NAME_MAX + 1];
	snprintf(tmp, sizeof tmp, "%s.jsandbox-new", name);
	if (unlinkat(dirfd, tmp, 0) < 0 && errno != ENOENT)
		return js_failm(err, errno, "cannot remove \"/%s/%s\"", dirname, tmp);
	int fd = js_openat_beneath(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return js_failm(err, -fd, "cannot write \"/%s/%s\"", dirname, tmp);
	int r = 0;
	if (js_write_all(fd, data, len) < 0)
		r = js_failm(err, errno, "cannot write \"/%s/%s\"", dirname, tmp);
	else if (fchown(fd, uid, gid) < 0 || fchmod(fd, mode) < 0)
		r = js_failm(err, errno, "cannot set owner of \"/%s/%s\"", dirname, tmp);
	else if (close(fd) < 0) /* NFS and quotas may report the error here */
		r = js_failm(err, errno, "cannot write \"/%s/%s\"", dirname, tmp);
	else
		fd = -1;
	if (fd >= 0)
		close(fd);
	/* rename replaces the entry itself, whatever it was (a link too) */
	if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		r = js_failm(err, errno, "cannot replace \"/%s/%s\"", dirname, name);
	if (r < 0)
		unlinkat(dirfd, tmp, 0);
	return r;
}

/* The largest identity file read into memory (the layer's own is the
 * user's to fill). */
#define DB_MAX (16u << 20)

/* Rewrite a colon-separated database (passwd, group, shadow) in the
 * layer's /etc: keep the lines `keep` accepts, append `add`, and replace
 * the file by rename, with the owner and mode it had (shadow is root:shadow
 * 0640), unless it holds exactly that already. What is read is the layer's
 * own file when it is a regular file; when the entry is a link or anything
 * else, it is not read and the image's file (image_fd, read the same way)
 * is the starting point instead. */
static int rewrite_db(int etcfd, int image_fd, const char *name, mode_t dmode,
		      bool (*keep)(const char *line, const void *ctx), const void *ctx, const char *add,
		      const char *user, struct js_err *err)
{
	struct stat st = {.st_mode = dmode, .st_uid = 0, .st_gid = 0};
	int in = open_regular(etcfd, name, &st);
	if (in < 0 && in != -ENOENT) {
		syslog(LOG_WARNING,
		       "user %s: /etc/%s in the layer is not a regular file (%s); rebuilt from the image's", user, name,
		       strerror(-in));
		char ipath[64];
		snprintf(ipath, sizeof ipath, "etc/%s", name);
		st = (struct stat){.st_mode = dmode};
		in = open_regular(image_fd, ipath, &st);
		if (in < 0 && in != -ENOENT)
			return js_fail(err, -in, "the image's /etc/%s is not a regular file", name);
	}
	if (in >= 0 && (uint64_t)st.st_size > DB_MAX) {
		close(in);
		return js_fail(err, EFBIG, "/etc/%s is larger than %u MiB", name, DB_MAX >> 20);
	}
	_cleanup_fclose_ FILE *inf = in >= 0 ? fdopen(in, "re") : NULL;
	if (in >= 0 && !inf) {
		close(in);
		return js_failm(err, errno, "fdopen");
	}
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	{
		_cleanup_fclose_ FILE *out = open_memstream(&data, &len);
		if (!out)
			return js_failm(err, errno, "open_memstream");
		char *line = NULL;
		size_t cap = 0;
		while (inf && getline(&line, &cap, inf) > 0) {
			if (keep(line, ctx))
				fputs(line, out);
		}
		free(line);
		fputs(add, out);
		if (fflush(out) != 0 || len > DB_MAX)
			return js_fail(err, ENOMEM, "cannot assemble /etc/%s", name);
	}
	if (file_holds(etcfd, name, data, len, st.st_uid, st.st_gid, st.st_mode & 07777))
		return 0;
	return replace_file(etcfd, "etc", name, data, len, st.st_uid, st.st_gid, st.st_mode & 07777, err);
}

static bool field_eq(const char *line, int field, const char *val)
{
	const char *p = line;
	for (int i = 0; i < field; i++) {
		p = strchr(p, ':');
		if (!p)
			return false;
		p++;
	}
	size_t l = strcspn(p, ":\n");
	return strlen(val) == l && !strncmp(p, val, l);
}

static bool keep_passwd(const char *line, const void *ctx)
{
	const struct js_user *u = ctx;
	char uid[16];
	snprintf(uid, sizeof uid, "%u", u->uid);
	return !field_eq(line, 0, u->name) && !field_eq(line, 2, uid);
}

static bool keep_passwd_name(const char *line, const void *ctx)
{
	const struct js_user *u = ctx;
	return !field_eq(line, 0, u->name);
}

static bool keep_group(const char *line, const void *ctx)
{
	const struct js_user *u = ctx;
	for (size_t i = 0; i < u->ngroups; i++) {
		char gid[16];
		snprintf(gid, sizeof gid, "%u", u->groups[i].gid);
		if (field_eq(line, 0, u->groups[i].name) || field_eq(line, 2, gid))
			return false;
	}
	return true;
}

static int setup_identity(const struct js_setup *s, int rootfd, int image_fd, struct js_err *err)
{
	const struct js_user *u = &s->user;
	_cleanup_close_ int etcfd = js_mkdir_beneath(rootfd, "etc", 0755, err);
	if (etcfd < 0)
		return etcfd;
	char add[sizeof u->name + sizeof u->gecos + sizeof u->home + sizeof s->shell + 64];
	snprintf(add, sizeof add, "%s:x:%u:%u:%s:%s:%s\n", u->name, u->uid, u->gid, u->gecos, u->home, s->shell);
	int r = rewrite_db(etcfd, image_fd, "passwd", 0644, keep_passwd, u, add, u->name, err);
	if (r < 0)
		return r;
	/* The user's groups with the host's gids (identity-mapped), with the
	 * user as member so `id` inside shows what it shows on the host. The
	 * image's entries of the same name or gid give way. */
	size_t off = 0;
	add[0] = '\0';
	for (size_t i = 0; i < u->ngroups; i++) {
		int w = snprintf(add + off, sizeof add - off, "%s:x:%u:%s\n", u->groups[i].name, u->groups[i].gid,
				 i == 0 ? "" : u->name);
		if (w < 0 || (size_t)w >= sizeof add - off)
			break;
		off += (size_t)w;
	}
	r = rewrite_db(etcfd, image_fd, "group", 0644, keep_group, u, add, u->name, err);
	if (r < 0)
		return r;
	/* sudo's PAM account check wants a shadow entry; no password in it:
	 * sudo is passwordless by policy, and nothing else authenticates
	 * inside. */
	snprintf(add, sizeof add, "%s:*:19000:0:99999:7:::\n", u->name);
	r = rewrite_db(etcfd, image_fd, "shadow", 0640, keep_passwd_name, u, add, u->name, err);
	if (r < 0)
		return r;
	_cleanup_close_ int sudoers = js_mkdir_beneath(rootfd, "etc/sudoers.d", 0755, err);
	if (sudoers < 0)
		return sudoers;
	if (!s->sudo) {
		if (unlinkat(sudoers, "jsandbox", 0) < 0 && errno != ENOENT)
			return js_failm(err, errno, "cannot remove \"/etc/sudoers.d/jsandbox\"");
		return 0;
	}
	char rule[256];
	int rl = snprintf(rule, sizeof rule,
			  "# written by jsandbox at each container start (policy: sudo = yes)\n"
			  "%s ALL=(ALL:ALL) NOPASSWD: ALL\n",
			  u->name);
	if (rl < 0 || (size_t)rl >= sizeof rule)
		return js_fail(err, ENAMETOOLONG, "sudoers rule too long");
	if (file_holds(sudoers, "jsandbox", rule, (size_t)rl, 0, 0, 0440))
		return 0;
	return replace_file(sudoers, "etc/sudoers.d", "jsandbox", rule, (size_t)rl, 0, 0, 0440, err);
}

/* An empty regular file at etc/name to bind a host file on: a link or
 * other non-regular entry there is removed first (it is the user's own).
 * Returns an O_PATH fd of it. */
static int etc_placeholder(int rootfd, const char *name, struct js_err *err)
{
	_cleanup_close_ int etcfd = js_mkdir_beneath(rootfd, "etc", 0755, err);
	if (etcfd < 0)
		return etcfd;
	struct stat st;
	int r = fstatat(etcfd, name, &st, AT_SYMLINK_NOFOLLOW);
	if (r == 0 && !S_ISREG(st.st_mode) && unlinkat(etcfd, name, 0) < 0)
		return js_failm(err, errno, "cannot replace \"/etc/%s\"", name);
	if (r < 0 || !S_ISREG(st.st_mode)) {
		int fd = js_openat_beneath(etcfd, name, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0)
			return js_failm(err, -fd, "cannot create \"/etc/%s\"", name);
		close(fd);
	}
	int fd = js_openat_beneath(etcfd, name, O_PATH, 0);
	if (fd < 0)
		return js_failm(err, -fd, "cannot open \"/etc/%s\"", name);
	return fd;
}

/* The directories and files set-up needs in the layer, made or checked
 * through rootfd before anything is mounted in the new root: the
 * top-level mount points, the identity files, the placeholders for the
 * host's resolv.conf and hosts (fds in etc_fds, -1 when the host has
 * none). */
static const char *const etc_binds[] = {"resolv.conf", "hosts"};

static void close_etc_fds(int (*fds)[JS_ARRAY_SIZE(etc_binds)])
{
	for (size_t i = 0; i < JS_ARRAY_SIZE(*fds); i++)
		if ((*fds)[i] >= 0)
			close((*fds)[i]);
}

static int prepare_layer(const struct js_setup *s, int rootfd, int image_fd, int *etc_fds, struct js_err *err)
{
	static const struct {
		const char *name;
		mode_t mode;
	} top[] = {{"proc", 0555}, {"dev", 0755}, {"tmp", 01777}, {"run", 0755}, {"sys", 0555}, {"etc", 0755}};
	for (size_t i = 0; i < JS_ARRAY_SIZE(top); i++) {
		int fd = js_mkdir_beneath(rootfd, top[i].name, top[i].mode, err);
		if (fd < 0)
			return fd;
		close(fd);
	}
	int r = setup_identity(s, rootfd, image_fd, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < JS_ARRAY_SIZE(etc_binds); i++) {
		char host[64];
		snprintf(host, sizeof host, "/etc/%s", etc_binds[i]);
		if (access(host, R_OK) < 0)
			continue;
		etc_fds[i] = etc_placeholder(rootfd, etc_binds[i], err);
		if (etc_fds[i] < 0)
			return etc_fds[i];
	}
	return 0;
}

/* The home (a host path from the passwd entry) is bound where it is on the
 * host; its parents are made in the layer when the image lacks them (homes
 * under /srv/home), never through a link. After /tmp and /run are mounted,
 * so that a home below them is made there. Returns the mount point's fd,
 * -ENOENT when the home is not bound, or -errno. */
static int home_mountpoint(const struct js_setup *s, int rootfd, struct js_err *err)
{
	const char *home = s->user.home;
	struct stat hst;
	if (home[0] != '/' || !strcmp(home, "/") || lstat(home, &hst) < 0 || !S_ISDIR(hst.st_mode))
		return -ENOENT;
	int fd = js_mkdir_beneath(rootfd, home + 1, 0755, err);
	if (fd < 0 && err)
		js_fail(err, -fd, "in your layer: %s (an admin's jsandboxctl reset starts it anew)", err->msg);
	return fd;
}

/* Did preparing the layer fail because its file system cannot take a
 * write (full, over quota, or the overlay came up read-only because it
 * could not make its work directory there)? */
static bool layer_unwritable(int r)
{
	return r == -ENOSPC || r == -EDQUOT || r == -EROFS;
}

/* The user's layer cannot take the few writes a start needs (its file
 * system is full: another user, or this one, filled the shared state_dir).
 * The container starts anyway: the overlay goes off root_dir, a tmpfs the
 * size of /tmp goes there instead, and a new overlay on its "m" has the
 * layer, read-only, over the image, and its upper ("u", work "w") in that
 * memory. Changes outside the home last until the container stops. *root
 * becomes the new root's path. */
static int mount_in_memory(const struct js_setup *s, char *root, size_t rootsz, struct js_err *err)
{
	if (chdir("/") < 0)
		return js_failm(err, errno, "chdir /");
	if (umount2(s->root_dir, MNT_DETACH) < 0)
		return js_failm(err, errno, "cannot detach the overlay from \"%s\"", s->root_dir);
	char opts[64];
	snprintf(opts, sizeof opts, "mode=0755,size=%llu", (unsigned long long)s->tmp_size);
	if (mount("tmpfs", s->root_dir, "tmpfs", MS_NODEV, opts) < 0)
		return js_failm(err, errno, "cannot mount a tmpfs on \"%s\"", s->root_dir);
	char up[PATH_MAX], wk[PATH_MAX];
	if (js_snprintf(up, sizeof up, "%s/u", s->root_dir) < 0 ||
	    js_snprintf(wk, sizeof wk, "%s/w", s->root_dir) < 0 || js_snprintf(root, rootsz, "%s/m", s->root_dir) < 0)
		return js_fail(err, ENAMETOOLONG, "run_dir path too long");
	if (mkdir(up, 0755) < 0 || mkdir(wk, 0700) < 0 || mkdir(root, 0755) < 0)
		return js_failm(err, errno, "cannot make the in-memory layer");
	const char *const lowers[] = {s->upper_dir, s->lower_dir};
	return js_overlay_mount_layers(lowers, 2, up, wk, root, JS_OVL_LOWER_AUTO, NULL, err);
}

int js_rootfs_build(const struct js_setup *s, int image_fd, const struct js_node *nodes, size_t nnodes,
		    struct js_err *err)
{
	/* Nothing we mount may travel back to the host, nor host mounts in. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return js_failm(err, errno, "make mounts private");
	if (syscall(SYS_move_mount, image_fd, "", AT_FDCWD, s->lower_dir, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return js_failm(err, errno, "cannot attach the image at \"%s\"", s->lower_dir);
	int r = mount_overlay(s, err);
	if (r < 0)
		return r;
	char root[PATH_MAX];
	js_strlcpy(root, s->root_dir, sizeof root);
	_cleanup_close_ int rootfd = open(root, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rootfd < 0 || fchdir(rootfd) < 0)
		return js_failm(err, errno, "cannot enter the overlay at \"%s\"", root);

	__attribute__((cleanup(close_etc_fds))) int etc_fds[JS_ARRAY_SIZE(etc_binds)] = {-1, -1};
	/* overlayfs mounts read-only, and says so only in the kernel log,
	 * when it cannot make its work directory (it removes and makes it
	 * anew at each mount; a full file system has no room for that). */
	struct statvfs vfs;
	if (fstatvfs(rootfd, &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
		r = js_fail(err, EROFS, "the overlay came up read-only: it could not make its work directory in \"%s\"",
			    s->work_dir);
	else
		r = prepare_layer(s, rootfd, image_fd, etc_fds, err);
	if (layer_unwritable(r)) {
		char why[sizeof err->msg];
		js_strlcpy(why, err ? err->msg : strerror(-r), sizeof why);
		struct statvfs lv;
		bool full =
		    statvfs(s->upper_dir, &lv) == 0 && (lv.f_bavail * lv.f_frsize < (1u << 20) || lv.f_favail == 0);
		syslog(LOG_WARNING,
		       "user %s: the file system of the layer \"%s\" %s (%s); this container keeps its changes "
		       "outside the home in memory until it stops",
		       s->user.name, s->upper_dir, full ? "is full" : "takes no writes", why);
		close_etc_fds(&etc_fds);
		etc_fds[0] = etc_fds[1] = -1;
		close(rootfd);
		rootfd = -1;
		r = mount_in_memory(s, root, sizeof root, err);
		if (r == 0) {
			rootfd = open(root, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (rootfd < 0 || fchdir(rootfd) < 0)
				return js_failm(err, errno, "cannot enter the overlay at \"%s\"", root);
			r = prepare_layer(s, rootfd, image_fd, etc_fds, err);
		}
		if (r < 0) {
			if (err)
				js_fail(err, -r,
					"your layer's file system %s (%s), and a container in memory failed too: %s",
					full ? "is full" : "takes no writes", why, err->msg);
			return r;
		}
	} else if (r < 0) {
		if (err)
			js_fail(err, -r, "in your layer: %s (an admin's jsandboxctl reset starts it anew)", err->msg);
		return r;
	}

	if (mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return js_failm(err, errno, "mount /proc");
	/* sysfs of the host's network namespace cannot be mounted afresh
	 * here; a read-only bind shows devices and hides nothing writable. */
	{
		_cleanup_close_ int sysfd = js_openat_beneath(rootfd, "sys", O_PATH | O_DIRECTORY, 0);
		if (sysfd < 0)
			return js_failm(err, -sysfd, "open /sys");
		r = bind_path("/sys", sysfd, "sys", true, true, err);
		if (r < 0)
			return r;
	}
	r = mask_kernel_paths(err);
	if (r < 0)
		return r;
	r = setup_dev(s, nodes, nnodes, err);
	if (r < 0)
		return r;
	char opts[64];
	snprintf(opts, sizeof opts, "mode=1777,size=%llu", (unsigned long long)s->tmp_size);
	if (mount("tmpfs", "tmp", "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
		return js_failm(err, errno, "mount /tmp");
	if (mount("tmpfs", "run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64m") < 0)
		return js_failm(err, errno, "mount /run");
	if ((r = ensure_dir("run/lock", 01777)) < 0)
		return js_failm(err, -r, "cannot create /run/lock");
	if ((r = make_runtime_dir(&s->user, err)) < 0)
		return r;
	bool ldconfig = false;
	r = js_devnodes_driver(rootfd, nodes, nnodes, &ldconfig, err);
	if (r < 0)
		return r;

	for (size_t i = 0; i < JS_ARRAY_SIZE(etc_binds); i++) {
		if (etc_fds[i] < 0)
			continue;
		char host[64];
		snprintf(host, sizeof host, "/etc/%s", etc_binds[i]);
		r = bind_path(host, etc_fds[i], host + 1, true, false, err);
		if (r < 0)
			return r;
	}
	_cleanup_close_ int home_fd = home_mountpoint(s, rootfd, err);
	if (home_fd < 0 && home_fd != -ENOENT)
		return home_fd;
	if (home_fd >= 0) {
		r = bind_path(s->user.home, home_fd, s->user.home + 1, false, true, err);
		if (r < 0)
			return r;
	}

	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return js_failm(err, errno, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return js_failm(err, errno, "detach the host's root");
	if (chdir("/") < 0)
		return js_failm(err, errno, "chdir /");
	if (ldconfig && js_devnodes_ldconfig(err) < 0) {
		/* The login goes on: what fails is finding the driver's
		 * libraries by name, and the reason is in syslog. */
		syslog(LOG_WARNING, "user %s: %s", s->user.name, err ? err->msg : "ldconfig failed");
	}
	return 0;
}

/* ---- device nodes and the NVIDIA proc view (devnodes.h) ---- */

/* mkdir -p the directories of a path relative to the new root ("dev/dri"
 * for "dev/dri/renderD128"); the names were checked by the init. */
static int ensure_parents(const char *rel)
{
	char buf[PATH_MAX];
	if (js_strlcpy(buf, rel, sizeof buf) < 0)
		return -ENAMETOOLONG;
	for (char *p = strchr(buf, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		int r = ensure_dir(buf, 0755);
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
		r = dir ? ensure_dir(rel, 0555) : ensure_file(rel);
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
int js_devnodes_nvidia_proc(const struct js_node *granted, size_t ngranted, struct js_err *err)
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

int js_devnodes_attach_dev(const struct js_node *granted, size_t ngranted, struct js_err *err)
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

/* ---- the GPU driver's files (devnodes.h) ---- */

#define DRIVER_CONF "000-jsandbox-driver.conf"
#define DRIVER_CONF_TEXT                                                                                               \
	"# written by jsandbox at each container start: the GPU driver's libraries\n" JS_DRIVER_DIR "\n"

/* Bind a driver file outside JS_DRIVER_DIR (a tool "/usr/bin/x", the
 * persistenced socket, the firmware directory) over its place in the new
 * root: the image's entry when it has one of the same type (a regular
 * file, or a directory for a directory) there, else an empty placeholder
 * made in the user's layer, or on /run's tmpfs (anything else there, a
 * link included, is the user's own and is replaced). The bind is what the
 * container sees: the layer never holds the driver's bytes, and a file
 * the user leaves there is covered. */
static int bind_tool(int rootfd, const struct js_node *m, struct js_err *err)
{
	const char *base = strrchr(m->name, '/');
	char dir[JS_NODE_NAME_MAX + 4];
	size_t dl = (size_t)(base - m->name);
	/* /lib/firmware/...: on an image whose /lib is the usr-merge link
	 * to usr/lib, the same place is reached without following it. */
	struct stat ls;
	bool usr = !strncmp(m->name, "/lib/", 5) && fstatat(rootfd, "lib", &ls, AT_SYMLINK_NOFOLLOW) == 0 &&
		   S_ISLNK(ls.st_mode);
	snprintf(dir, sizeof dir, "%s%.*s", usr ? "usr/" : "", (int)(dl - 1), m->name + 1);
	base++;
	struct stat src;
	if (fstat(m->fd, &src) < 0)
		return js_failm(err, errno, "cannot inspect \"%s\"", m->name);
	bool isdir = S_ISDIR(src.st_mode);
	_cleanup_close_ int dfd = js_mkdir_beneath(rootfd, dir, 0755, err);
	if (dfd < 0)
		return dfd;
	struct stat st;
	int r = fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW);
	bool fits = r == 0 && (isdir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode));
	if (r == 0 && !fits) {
		if (S_ISDIR(st.st_mode)) {
			r = js_remove_tree_at(dfd, base, err);
			if (r < 0)
				return r;
		} else if (unlinkat(dfd, base, 0) < 0) {
			return js_failm(err, errno, "cannot replace \"%s\"", m->name);
		}
	}
	if (!fits) {
		if (isdir) {
			if (mkdirat(dfd, base, 0755) < 0)
				return js_failm(err, errno, "cannot create \"%s\"", m->name);
		} else {
			int fd = js_openat_beneath(dfd, base, O_WRONLY | O_CREAT | O_EXCL, 0755);
			if (fd < 0)
				return js_failm(err, -fd, "cannot create \"%s\"", m->name);
			close(fd);
		}
	}
	_cleanup_close_ int tfd = js_openat_beneath(dfd, base, O_PATH | (isdir ? O_DIRECTORY : 0), 0);
	if (tfd < 0)
		return js_failm(err, -tfd, "cannot open \"%s\"", m->name);
	if (syscall(SYS_move_mount, m->fd, "", tfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return js_failm(err, errno, "cannot attach \"%s\"", m->name);
	return 0;
}

int js_devnodes_driver(int rootfd, const struct js_node *nodes, size_t n, bool *ldconfig, struct js_err *err)
{
	bool any = false;
	for (size_t i = 0; i < n; i++)
		any = any || nodes[i].kind == JS_NODE_FILE || nodes[i].kind == JS_NODE_LINK;
	*ldconfig = false;
	if (!any) {
		/* No GPU (any more): no entry for a directory that is not
		 * there, and an ld cache without the driver's names. */
		_cleanup_close_ int cfd = js_openat_beneath(rootfd, "etc/ld.so.conf.d", O_RDONLY | O_DIRECTORY, 0);
		if (cfd >= 0 && unlinkat(cfd, DRIVER_CONF, 0) == 0)
			*ldconfig = true;
		return 0;
	}
	const char *drv = &JS_DRIVER_DIR[1];
	int r = ensure_parents(drv);
	if (r == 0)
		r = ensure_dir(drv, 0755);
	if (r < 0)
		return js_failm(err, -r, "cannot create \"%s\"", JS_DRIVER_DIR);
	if (mount("tmpfs", drv, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k,nr_inodes=4096") < 0)
		return js_failm(err, errno, "mount a tmpfs on %s", JS_DRIVER_DIR);
	_cleanup_close_ int dfd = open(drv, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return js_failm(err, errno, "cannot open %s", JS_DRIVER_DIR);
	size_t pl = strlen(JS_DRIVER_DIR "/");
	for (size_t i = 0; i < n; i++) {
		const struct js_node *m = &nodes[i];
		if (m->kind == JS_NODE_LINK) {
			if (symlinkat(m->target, dfd, m->name) < 0)
				return js_failm(err, errno, "cannot link %s/%s", JS_DRIVER_DIR, m->name);
		} else if (m->kind == JS_NODE_FILE && !strncmp(m->name, JS_DRIVER_DIR "/", pl)) {
			if ((r = attach_at(m->fd, m->name + 1, false, err)) < 0)
				return r;
		} else if (m->kind == JS_NODE_FILE) {
			if ((r = bind_tool(rootfd, m, err)) < 0)
				return r;
		}
	}
	/* Each file is a read-only bind of its own; the directory holding
	 * them and the links goes read-only too. */
	if (mount(NULL, drv, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
		return js_failm(err, errno, "remount %s read-only", JS_DRIVER_DIR);
	_cleanup_close_ int cfd = js_mkdir_beneath(rootfd, "etc/ld.so.conf.d", 0755, err);
	if (cfd < 0)
		return cfd;
	if (unlinkat(cfd, DRIVER_CONF, 0) < 0 && errno != ENOENT)
		return js_failm(err, errno, "cannot replace \"/etc/ld.so.conf.d/%s\"", DRIVER_CONF);
	_cleanup_close_ int fd = js_openat_beneath(cfd, DRIVER_CONF, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		return js_failm(err, -fd, "cannot write \"/etc/ld.so.conf.d/%s\"", DRIVER_CONF);
	if (js_write_all(fd, DRIVER_CONF_TEXT, strlen(DRIVER_CONF_TEXT)) < 0)
		return js_failm(err, errno, "cannot write \"/etc/ld.so.conf.d/%s\"", DRIVER_CONF);
	*ldconfig = true;
	return 0;
}

/* How long the image's ldconfig may take before the start goes on
 * without it. */
#define LDCONFIG_TIMEOUT_MS 30000

int js_devnodes_ldconfig(struct js_err *err)
{
	pid_t pid = fork();
	if (pid < 0)
		return js_failm(err, errno, "fork");
	if (pid == 0) {
		/* The image's binary, maybe the user's own: it gets what a
		 * process of the user's root has at most, here nothing (no
		 * capability, bounding set included, no_new_privs). */
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 || dup2(nul, 2) < 0)
			_exit(126);
		for (int c = 0; c <= CAP_LAST_CAP; c++)
			if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
				_exit(126);
		struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
		struct __user_cap_data_struct d[2];
		memset(d, 0, sizeof d);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || syscall(SYS_capset, &h, d) < 0)
			_exit(126);
		char *argv[] = {(char *)"ldconfig", (char *)"-X", NULL};
		char *envp[] = {(char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
		execve("/sbin/ldconfig", argv, envp);
		_exit(127);
	}
	_cleanup_close_ int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd p = {.fd = pfd, .events = POLLIN};
	if (pfd >= 0 && poll(&p, 1, LDCONFIG_TIMEOUT_MS) == 0)
		kill(pid, SIGKILL);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return js_failm(err, errno, "waitpid");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		return js_fail(err, EIO,
			       "the image's /sbin/ldconfig exited with %d: the GPU driver's libraries are "
			       "not in the ld cache",
			       WEXITSTATUS(status));
	return js_fail(err, ETIMEDOUT,
		       "the image's /sbin/ldconfig was killed (signal %d): the GPU driver's libraries "
		       "are not in the ld cache",
		       WTERMSIG(status));
}
