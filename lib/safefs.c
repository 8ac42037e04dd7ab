/* SPDX-License-Identifier: MIT */
#include "safefs.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

int js_openat_beneath(int dirfd, const char *name, int flags, mode_t mode)
{
	struct open_how how = {
	    .flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW),
	    .mode = (flags & O_CREAT) ? mode : 0,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, dirfd, name, &how, sizeof how);
	if (fd < 0 && errno == ENOSYS) {
		/* Pre-5.6 kernel: only single components are safe this way. */
		if (strchr(name, '/'))
			return -EXDEV;
		fd = openat(dirfd, name, flags | O_CLOEXEC | O_NOFOLLOW, mode);
	}
	return fd < 0 ? -errno : (int)fd;
}

static int check_trusted(int fd, const char *path, struct js_err *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return js_failm(err, errno, "cannot stat \"%s\"", path);
	if (!S_ISDIR(st.st_mode))
		return js_fail(err, ENOTDIR, "\"%s\" is not a directory", path);
	if (st.st_uid != 0)
		return js_fail(err, EPERM, "\"%s\" is owned by uid %u, not root", path, (unsigned)st.st_uid);
	if ((st.st_mode & 022) && !(st.st_mode & S_ISVTX))
		return js_fail(err, EPERM, "\"%s\" is writable by group or other (mode %04o)", path,
			       (unsigned)(st.st_mode & 07777));
	return 0;
}

int js_open_trusted_dir(const char *path, bool create, struct js_err *err)
{
	if (path[0] != '/')
		return js_fail(err, EINVAL, "\"%s\" is not an absolute path", path);
	_cleanup_close_ int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return js_failm(err, errno, "cannot open \"/\"");
	char sofar[PATH_MAX] = "";
	const char *p = path;
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *e = strchrnul(p, '/');
		size_t len = (size_t)(e - p);
		char comp[NAME_MAX + 1];
		if (len > NAME_MAX)
			return js_fail(err, ENAMETOOLONG, "path \"%s\" has an over-long component", path);
		memcpy(comp, p, len);
		comp[len] = '\0';
		if (strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0)
			return js_fail(err, EINVAL, "path \"%s\" contains \"%s\"", path, comp);
		size_t sl = strlen(sofar);
		if (sl + 1 + len >= sizeof sofar)
			return js_fail(err, ENAMETOOLONG, "path \"%s\" is too long", path);
		sofar[sl] = '/';
		memcpy(sofar + sl + 1, comp, len + 1);

		int next = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST)
				return js_failm(err, errno, "cannot create \"%s\"", sofar);
			next = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (next < 0) {
			if (errno == ELOOP || errno == ENOTDIR)
				return js_fail(err, ELOOP, "\"%s\" is a symlink or not a directory", sofar);
			return js_failm(err, errno, "cannot open \"%s\"", sofar);
		}
		close(fd);
		fd = next;
		int r = check_trusted(fd, sofar, err);
		if (r < 0)
			return r;
		p = e;
	}
	/* Re-open for real use (O_PATH fds cannot be used with fchown etc.). */
	int real = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (real < 0)
		return js_failm(err, errno, "cannot open \"%s\"", path);
	return real;
}

int js_mkdir_owned_at(int dirfd, const char *name, mode_t mode, uid_t uid, gid_t gid, bool create, struct js_err *err)
{
	if (strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return js_fail(err, EINVAL, "bad directory name \"%s\"", name);
	bool made = false;
	if (create) {
		if (mkdirat(dirfd, name, 0700) == 0)
			made = true;
		else if (errno != EEXIST)
			return js_failm(err, errno, "cannot create \"%s\"", name);
	}
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP || errno == ENOTDIR)
			return js_fail(err, ELOOP, "\"%s\" is a symlink or not a directory", name);
		return js_failm(err, errno, "cannot open \"%s\"", name);
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		return js_failm(err, errno, "cannot stat \"%s\"", name);
	if (made) {
		if (fchown(fd, uid, gid) < 0)
			return js_failm(err, errno, "cannot chown \"%s\"", name);
	} else if (st.st_uid != uid || st.st_gid != gid) {
		return js_fail(err, EPERM, "\"%s\" is owned by %u:%u, expected %u:%u", name, (unsigned)st.st_uid,
			       (unsigned)st.st_gid, (unsigned)uid, (unsigned)gid);
	}
	if ((st.st_mode & 07777) != mode || made)
		if (fchmod(fd, mode) < 0)
			return js_failm(err, errno, "cannot chmod \"%s\"", name);
	return js_steal_fd(&fd);
}

static int remove_contents(int dfd, dev_t dev, int depth, struct js_err *err)
{
	if (depth > 4096)
		return js_fail(err, ELOOP, "directory tree too deep");
	int dupfd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
	if (dupfd < 0)
		return js_failm(err, errno, "dup");
	_cleanup_closedir_ DIR *d = fdopendir(dupfd);
	if (!d) {
		close(dupfd);
		return js_failm(err, errno, "fdopendir");
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			return js_failm(err, errno, "cannot stat \"%s\"", de->d_name);
		}
		if (S_ISDIR(st.st_mode)) {
			if (st.st_dev != dev)
				return js_fail(err, EXDEV, "\"%s\" is a mount point", de->d_name);
			_cleanup_close_ int sub =
			    openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0)
				return js_failm(err, errno, "cannot open \"%s\"", de->d_name);
			int r = remove_contents(sub, dev, depth + 1, err);
			if (r < 0)
				return r;
			if (unlinkat(dfd, de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT)
				return js_failm(err, errno, "cannot remove \"%s\"", de->d_name);
		} else if (unlinkat(dfd, de->d_name, 0) < 0 && errno != ENOENT) {
			return js_failm(err, errno, "cannot remove \"%s\"", de->d_name);
		}
	}
	return 0;
}

int js_remove_tree_at(int dirfd, const char *name, struct js_err *err)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : js_failm(err, errno, "cannot stat \"%s\"", name);
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
			return js_failm(err, errno, "cannot remove \"%s\"", name);
		return 0;
	}
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return js_failm(err, errno, "cannot open \"%s\"", name);
	int r = remove_contents(fd, st.st_dev, 0, err);
	if (r < 0)
		return r;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return js_failm(err, errno, "cannot remove \"%s\"", name);
	return 0;
}

int js_write_atomic_at(int dirfd, const char *name, const char *data, mode_t mode, struct js_err *err)
{
	char tmp[NAME_MAX + 1];
	if (js_snprintf(tmp, sizeof tmp, ".%s.tmp.%d", name, (int)getpid()) < 0)
		return js_fail(err, ENAMETOOLONG, "name too long");
	unlinkat(dirfd, tmp, 0);
	_cleanup_close_ int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return js_failm(err, errno, "cannot create \"%s\"", tmp);
	int r = js_write_all(fd, data, strlen(data));
	if (r == 0 && fchmod(fd, mode) < 0)
		r = -errno;
	if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dirfd, tmp, 0);
		return js_failm(err, -r, "cannot write \"%s\"", name);
	}
	return 0;
}
