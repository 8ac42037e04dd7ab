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

/* The next component of the path at *p into comp; *p moves past it.
 * 1: a component, 0: the end, -ENAMETOOLONG: a component too long. */
static int next_component(const char **p, char comp[NAME_MAX + 1])
{
	while (**p == '/')
		(*p)++;
	if (!**p)
		return 0;
	const char *e = strchrnul(*p, '/');
	size_t len = (size_t)(e - *p);
	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(comp, *p, len);
	comp[len] = '\0';
	*p = e;
	return 1;
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
	char comp[NAME_MAX + 1];
	for (int c; (c = next_component(&p, comp)) != 0;) {
		if (c < 0)
			return js_fail(err, ENAMETOOLONG, "path \"%s\" has an over-long component", path);
		size_t len = strlen(comp);
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

/* ---- removing a tree with a bounded number of fds ----------------------
 *
 * An explicit stack, one entry per level from the top directory down to
 * the one being emptied, each with the (dev, ino) it was opened as and its
 * name in the level above. Only the deepest RM_OPEN_LEVELS levels keep
 * their directory stream open; a shallower one is closed and, when the walk
 * climbs back to it, reopened through ".." of the level below and accepted
 * only if it is the same (dev, ino), then read on from where it stopped.
 * So any depth costs at most RM_OPEN_LEVELS + 1 fds. Directories are
 * entered by openat(O_NOFOLLOW | O_DIRECTORY) and checked against their
 * lstat, never through a symlink, and never on another filesystem. */
#define RM_OPEN_LEVELS 16

struct rm_level {
	DIR *d;	      /* NULL while closed to keep the fd count bounded */
	long pos;     /* telldir() to read on from after a reopen */
	bool resumed; /* read on from pos since the last full scan */
	dev_t dev;
	ino_t ino;
	char *name; /* in the level above */
};

struct rm_walk {
	struct rm_level *v;
	size_t n, cap, nopen;
	dev_t dev;
	struct js_err *err;
};

static void rm_free(struct rm_walk *w)
{
	for (size_t i = 0; i < w->n; i++) {
		if (w->v[i].d)
			closedir(w->v[i].d);
		free(w->v[i].name);
	}
	free(w->v);
}

/* Push the directory fd (opened as name) as the new deepest level. */
static int rm_push(struct rm_walk *w, int fd, const char *name, const struct stat *st)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct rm_level *v = realloc(w->v, cap * sizeof *v);
		if (!v) {
			close(fd);
			return js_fail(w->err, ENOMEM, "out of memory");
		}
		w->v = v;
		w->cap = cap;
	}
	struct rm_level *l = &w->v[w->n];
	*l = (struct rm_level){.dev = st->st_dev, .ino = st->st_ino};
	l->name = strdup(name);
	l->d = l->name ? fdopendir(fd) : NULL;
	if (!l->d) {
		int e = l->name ? errno : ENOMEM;
		free(l->name);
		close(fd);
		return js_fail(w->err, e, "cannot read \"%s\"", name);
	}
	w->n++;
	w->nopen++;
	if (w->nopen > RM_OPEN_LEVELS) {
		/* the shallowest open level: the open ones are the deepest */
		struct rm_level *old = &w->v[w->n - w->nopen];
		old->pos = telldir(old->d);
		closedir(old->d);
		old->d = NULL;
		w->nopen--;
	}
	return 0;
}

/* Reopen level i (closed) through ".." of level i + 1 (open). */
static int rm_reopen_parent(struct rm_walk *w, size_t i)
{
	struct rm_level *l = &w->v[i];
	int fd = openat(dirfd(w->v[i + 1].d), "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return js_failm(w->err, errno, "cannot reopen the parent of \"%s\"", w->v[i + 1].name);
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_dev != l->dev || st.st_ino != l->ino) {
		close(fd);
		return js_fail(w->err, ESTALE, "\"%s\" was moved while it was being removed", l->name);
	}
	l->d = fdopendir(fd);
	if (!l->d) {
		int e = errno;
		close(fd);
		return js_fail(w->err, e, "cannot read \"%s\"", l->name);
	}
	seekdir(l->d, l->pos);
	l->resumed = true;
	w->nopen++;
	return 0;
}

/* One step: remove one entry of the deepest level, enter one directory, or
 * climb out of an emptied one. Returns 1 to go on, 0 when level 0 is
 * empty, -errno. */
static int rm_step(struct rm_walk *w)
{
	struct rm_level *top = &w->v[w->n - 1];
	int dfd = dirfd(top->d);
	errno = 0;
	struct dirent *de = readdir(top->d);
	if (!de && errno)
		return js_failm(w->err, errno, "cannot read \"%s\"", top->name);
	if (!de) {
		if (top->resumed) {
			/* Read on from a saved position: one full pass more
			 * finds anything the position skipped. */
			rewinddir(top->d);
			top->resumed = false;
			return 1;
		}
		if (w->n == 1)
			return 0;
		if (!w->v[w->n - 2].d) {
			int r = rm_reopen_parent(w, w->n - 2);
			if (r < 0)
				return r;
		}
		struct rm_level *up = &w->v[w->n - 2];
		closedir(top->d);
		top->d = NULL;
		w->nopen--;
		int r = 0;
		if (unlinkat(dirfd(up->d), top->name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			r = js_failm(w->err, errno, "cannot remove \"%s\"", top->name);
		free(top->name);
		w->n--;
		return r < 0 ? r : 1;
	}
	if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
		return 1;
	struct stat st;
	if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 1 : js_failm(w->err, errno, "cannot stat \"%s\"", de->d_name);
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dfd, de->d_name, 0) < 0 && errno != ENOENT)
			return js_failm(w->err, errno, "cannot remove \"%s\"", de->d_name);
		return 1;
	}
	if (st.st_dev != w->dev)
		return js_fail(w->err, EXDEV, "\"%s\" is a mount point", de->d_name);
	int fd = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 1 : js_failm(w->err, errno, "cannot open \"%s\"", de->d_name);
	struct stat fst;
	if (fstat(fd, &fst) < 0 || fst.st_dev != st.st_dev || fst.st_ino != st.st_ino) {
		close(fd);
		return js_fail(w->err, ESTALE, "\"%s\" changed while it was being removed", de->d_name);
	}
	int r = rm_push(w, fd, de->d_name, &st);
	return r < 0 ? r : 1;
}

static bool one_component(const char *name)
{
	return name[0] && !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..");
}

int js_remove_tree_at(int dirfd, const char *name, struct js_err *err)
{
	if (!one_component(name))
		return js_fail(err, EINVAL, "\"%s\" is not a single file name", name);
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : js_failm(err, errno, "cannot stat \"%s\"", name);
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
			return js_failm(err, errno, "cannot remove \"%s\"", name);
		return 0;
	}
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return js_failm(err, errno, "cannot open \"%s\"", name);
	struct stat fst;
	if (fstat(fd, &fst) < 0 || fst.st_dev != st.st_dev || fst.st_ino != st.st_ino) {
		close(fd);
		return js_fail(err, ESTALE, "\"%s\" changed while it was being removed", name);
	}
	struct js_err local;
	struct rm_walk w = {.dev = st.st_dev, .err = err ? err : &local};
	int r = rm_push(&w, fd, name, &st);
	while (r >= 0 && (r = rm_step(&w)) > 0)
		;
	rm_free(&w);
	if (r < 0)
		return r;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return js_failm(err, errno, "cannot remove \"%s\"", name);
	return 0;
}

/* ---- making directories in a tree a user controls ------------------------ */

int js_mkdir_beneath(int rootfd, const char *rel, mode_t mode, struct js_err *err)
{
	int fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return js_failm(err, errno, "dup");
	const char *p = rel;
	char comp[NAME_MAX + 1];
	for (int c; (c = next_component(&p, comp)) != 0;) {
		if (c < 0) {
			close(fd);
			return js_fail(err, ENAMETOOLONG, "\"/%s\" has an over-long component", rel);
		}
		int plen = (int)(p - rel);
		if (!one_component(comp)) {
			close(fd);
			return js_fail(err, EINVAL, "\"/%.*s\": \"%s\" is not a directory name", plen, rel, comp);
		}
		int next = js_openat_beneath(fd, comp, O_RDONLY | O_DIRECTORY, 0);
		if (next == -ENOENT) {
			/* mkdirat never follows a link in its last component */
			if (mkdirat(fd, comp, mode) < 0 && errno != EEXIST) {
				int e2 = errno;
				close(fd);
				return js_failm(err, e2, "cannot create \"/%.*s\"", plen, rel);
			}
			next = js_openat_beneath(fd, comp, O_RDONLY | O_DIRECTORY, 0);
		}
		close(fd);
		if (next == -ELOOP || next == -ENOTDIR)
			return js_fail(err, -next, "\"/%.*s\" is a symbolic link or not a directory", plen, rel);
		if (next < 0)
			return js_failm(err, -next, "cannot open \"/%.*s\"", plen, rel);
		fd = next;
	}
	return fd;
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

/* How deep and how many links js_open_rootowned_beneath goes. */
#define TRUSTED_DEPTH 48
#define TRUSTED_HOPS  40

static const char *untrusted(const struct stat *st)
{
	if (st->st_uid != 0)
		return "is not owned by root";
	if (st->st_mode & 022)
		return "is writable by group or other";
	return NULL;
}

int js_open_rootowned_beneath(int rootfd, const char *rel, int flags, char *resolved, size_t rlen, struct js_err *err)
{
	/* rest: what is still to walk; a link's target is put in front. */
	char rest[2 * PATH_MAX], tmp[2 * PATH_MAX];
	if (js_strlcpy(rest, rel, sizeof rest) < 0)
		return js_fail(err, ENAMETOOLONG, "\"/%s\": path too long", rel);
	int fds[TRUSTED_DEPTH];
	static __thread char names[TRUSTED_DEPTH][NAME_MAX + 1];
	size_t d = 0;
	int hops = 0, r = 0, out = -1;
	fds[0] = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
	if (fds[0] < 0)
		return js_failm(err, errno, "dup");
	char *p = rest;
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p) {
			r = js_fail(err, EISDIR, "\"/%s\" names a directory", rel);
			break;
		}
		char *e = strchrnul(p, '/');
		char c[NAME_MAX + 1];
		if ((size_t)(e - p) > NAME_MAX) {
			r = js_fail(err, ENAMETOOLONG, "\"/%s\": name too long", rel);
			break;
		}
		memcpy(c, p, (size_t)(e - p));
		c[e - p] = '\0';
		p = e;
		while (*p == '/')
			p++;
		bool last = !*p;
		if (!strcmp(c, ".") && !last)
			continue;
		if (!strcmp(c, "..") && last) {
			r = js_fail(err, EINVAL, "\"/%s\" ends in \"..\"", rel);
			break;
		}
		if (!strcmp(c, "..")) {
			if (d > 0)
				close(fds[d--]); /* never above the root, like RESOLVE_IN_ROOT */
			continue;
		}
		int fd = openat(fds[d], c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0) {
			r = js_failm(err, errno, "\"/%s\"", rel);
			if (fd >= 0)
				close(fd);
			break;
		}
		if (S_ISLNK(st.st_mode)) {
			/* In a directory only root can write (checked when it
			 * was entered): the link is root's. Its target is
			 * walked the same way, from the root when absolute. */
			char target[PATH_MAX];
			ssize_t n = readlinkat(fd, "", target, sizeof target - 1);
			close(fd);
			if (n <= 0 || ++hops > TRUSTED_HOPS) {
				r = js_fail(err, ELOOP, "\"/%s\": unreadable link or too many links", rel);
				break;
			}
			target[n] = '\0';
			if (js_snprintf(tmp, sizeof tmp, "%s/%s", target, p) < 0) {
				r = js_fail(err, ENAMETOOLONG, "\"/%s\": path too long", rel);
				break;
			}
			memcpy(rest, tmp, sizeof rest);
			p = rest;
			if (target[0] == '/')
				while (d > 0)
					close(fds[d--]);
			continue;
		}
		bool want_dir = !last || (flags & O_DIRECTORY);
		const char *bad = want_dir && !S_ISDIR(st.st_mode)    ? "is not a directory"
				  : !want_dir && !S_ISREG(st.st_mode) ? "is not a regular file"
								      : untrusted(&st);
		if (bad) {
			close(fd);
			r = js_fail(err, EPERM, "\"/%s\": \"%s\" %s", rel, c, bad);
			break;
		}
		if (d + 1 == TRUSTED_DEPTH) {
			close(fd);
			r = js_fail(err, ENAMETOOLONG, "\"/%s\": too deep", rel);
			break;
		}
		fds[++d] = fd;
		memcpy(names[d], c, sizeof c);
		if (!last)
			continue;
		if (resolved) {
			size_t off = 0;
			resolved[0] = '\0';
			for (size_t k = 1; k <= d && r == 0; k++) {
				int w = snprintf(resolved + off, rlen - off, "%s%s", k > 1 ? "/" : "", names[k]);
				if (w < 0 || (size_t)w >= rlen - off)
					r = js_fail(err, ENAMETOOLONG, "\"/%s\": resolved path too long", rel);
				else
					off += (size_t)w;
			}
		}
		if (r == 0 && !(flags & O_PATH)) {
			/* The O_PATH fd checked is the inode; open that one. */
			char self[64];
			snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
			int o = open(self, (flags & ~O_DIRECTORY) | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
			if (o < 0)
				r = js_failm(err, errno, "\"/%s\"", rel);
			else {
				fds[d] = o;
				close(fd);
			}
		}
		if (r == 0) {
			out = fds[d];
			fds[d] = -1;
		}
		break;
	}
	for (size_t k = 0; k <= d; k++)
		if (fds[k] >= 0)
			close(fds[k]);
	return out >= 0 ? out : r < 0 ? r : -EIO;
}
