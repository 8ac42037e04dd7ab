/* SPDX-License-Identifier: MIT */
/* The image store (see image.h): opening and locking images_dir, the work
 * directories of builds and imports, the checks and fixes that make a tree
 * fit to be shared, and the atomic rename into place. */
#include "image.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ctl.h"
#include "safefs.h"
#include "state.h"
#include "tree.h"

/* Each user's namespace maps inside ids 0-65535 (docs/design.md, idmap.c):
 * a file of the image owned by anything else would show as nobody. */
#define IMAGE_ID_MAX 65535u

/* ---- small file helpers --------------------------------------------------- */

/* Open a path inside an image as if the image were the root: its absolute
 * symlinks (bin -> usr/bin, etc/os-release -> ../usr/lib/os-release) stay
 * inside it. */
static int open_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {
	    .flags = (uint64_t)(flags | O_CLOEXEC),
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof how);
	return fd < 0 ? -errno : (int)fd;
}

int image_open_in_root(int rootfd, const char *path, int flags)
{
	return open_in_root(rootfd, path, flags);
}

/* A fresh image id: 128 random bits as 32 lowercase hex digits. */
int image_new_id(char *out, size_t len)
{
	unsigned char rnd[IMAGE_ID_HEX / 2];
	if (len < IMAGE_ID_HEX + 1)
		return -ENAMETOOLONG;
	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
		return errno ? -errno : -EIO;
	for (size_t i = 0; i < sizeof rnd; i++)
		snprintf(out + 2 * i, 3, "%02x", rnd[i]);
	return 0;
}

/* Printable characters only: values end up in one-line output. */
void ctl_sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			*s = '?';
}

/* KEY=value from a small KEY=value file (os-release, .NAME.info), quotes
 * removed. Returns 0, or -ENOENT when the key is not there. */
int ctl_kv_lookup(const char *text, const char *key, char *out, size_t len)
{
	size_t klen = strlen(key);
	for (const char *line = text; *line;) {
		const char *eol = strchrnul(line, '\n');
		if ((size_t)(eol - line) > klen && !strncmp(line, key, klen) && line[klen] == '=') {
			const char *v = line + klen + 1;
			size_t vlen = (size_t)(eol - v);
			if (vlen >= 2 && (v[0] == '"' || v[0] == '\'') && v[vlen - 1] == v[0]) {
				v++;
				vlen -= 2;
			}
			if (vlen >= len)
				vlen = len - 1;
			memcpy(out, v, vlen);
			out[vlen] = '\0';
			ctl_sanitize(out);
			return 0;
		}
		line = *eol ? eol + 1 : eol;
	}
	return -ENOENT;
}

int ctl_read_small(int fd, char *buf, size_t len)
{
	ssize_t n = js_read_all(fd, buf, len - 1);
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	return 0;
}

/* The release of an image: VERSION_CODENAME, else VERSION_ID, else ID of
 * its os-release, else "?". */
void image_suite(int rootfd, char *out, size_t len)
{
	static const char *const files[] = {"etc/os-release", "usr/lib/os-release"};
	static const char *const keys[] = {"VERSION_CODENAME", "VERSION_ID", "ID"};
	char text[4096];
	js_strlcpy(out, "?", len);
	for (size_t i = 0; i < JS_ARRAY_SIZE(files); i++) {
		/* O_NONBLOCK and a type check: an imported image is not to
		 * stall us with a FIFO. */
		_cleanup_close_ int fd = open_in_root(rootfd, files[i], O_RDONLY | O_NONBLOCK);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || ctl_read_small(fd, text, sizeof text) < 0)
			continue;
		for (size_t k = 0; k < JS_ARRAY_SIZE(keys); k++)
			if (ctl_kv_lookup(text, keys[k], out, len) == 0 && out[0])
				return;
	}
}

/* ---- the store ---------------------------------------------------------- */

int ctl_images_open(const struct js_global *g, bool create, struct js_err *err)
{
	int fd = js_open_trusted_dir(g->images_dir, false, err);
	if (fd != -ENOENT || !create)
		return fd;
	/* Made 0700: a host user who could walk into an image could run its
	 * setuid programs (sudo, su, passwd, possibly older than the host's)
	 * against the host's own /etc, or write into its sticky directories
	 * (tmp, var/tmp) what every container then sees. Containers never
	 * need the path: the PAM module opens the image as root. */
	char parent[PATH_MAX];
	if (js_strlcpy(parent, g->images_dir, sizeof parent) < 0)
		return js_fail(err, ENAMETOOLONG, "\"%s\": path too long", g->images_dir);
	char *slash = strrchr(parent, '/');
	if (!slash || !slash[1])
		return js_fail(err, EINVAL, "\"%s\" cannot be an images_dir", g->images_dir);
	const char *base = slash + 1;
	char basecopy[NAME_MAX + 1];
	if (js_strlcpy(basecopy, base, sizeof basecopy) < 0)
		return js_fail(err, ENAMETOOLONG, "\"%s\": path too long", g->images_dir);
	if (slash == parent)
		slash[1] = '\0';
	else
		*slash = '\0';
	_cleanup_close_ int pfd = js_open_trusted_dir(parent, true, err);
	if (pfd < 0)
		return pfd;
	if (mkdirat(pfd, basecopy, 0700) < 0 && errno != EEXIST)
		return js_failm(err, errno, "cannot create \"%s\"", g->images_dir);
	return js_open_trusted_dir(g->images_dir, false, err);
}

int ctl_image_usable(int imagesfd, const char *name, struct js_err *err)
{
	struct stat st;
	if (fstatat(imagesfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? js_fail(err, ENOENT, "no image \"%s\"", name)
				       : js_failm(err, errno, "cannot stat image \"%s\"", name);
	if (!S_ISDIR(st.st_mode))
		return js_fail(err, ENOTDIR, "image \"%s\" is not a directory", name);
	if (st.st_uid != 0)
		return js_fail(err, EPERM, "image \"%s\" is owned by uid %u, not root", name, (unsigned)st.st_uid);
	if (st.st_mode & 022)
		return js_fail(err, EPERM, "image \"%s\" is writable by group or other (mode %04o)", name,
			       (unsigned)(st.st_mode & 07777));
	return 0;
}

void store_close(struct store *s)
{
	js_closep(&s->fd); /* also drops the lock */
}

/* The users whose running container was made from image `name`, as
 * "alice, bob" in buf. Returns how many, or -errno when that cannot be
 * told (then callers act as if the image were in use). */
int image_users(const struct js_global *g, const char *name, char *buf, size_t len)
{
	struct js_err err = {0};
	buf[0] = '\0';
	_cleanup_close_ int runfd = js_open_trusted_dir(g->run_dir, false, &err);
	if (runfd == -ENOENT)
		return 0;
	if (runfd < 0)
		return runfd;
	int dupfd = fcntl(runfd, F_DUPFD_CLOEXEC, 3);
	if (dupfd < 0)
		return -errno;
	_cleanup_closedir_ DIR *d = fdopendir(dupfd);
	if (!d) {
		close(dupfd);
		return -errno;
	}
	rewinddir(d); /* the dup shares runfd's offset */
	int count = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9' ||
		    strspn(de->d_name, "0123456789") != strlen(de->d_name))
			continue;
		_cleanup_close_ int ufd = openat(runfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (ufd < 0)
			continue;
		struct js_state st;
		if (js_state_read(ufd, &st, &err) < 0 || strcmp(st.image, name) != 0)
			continue;
		_cleanup_close_ int pidfd = js_state_pidfd(&st);
		if (pidfd < 0)
			continue; /* stale state of a container that is gone */
		size_t o = strlen(buf);
		snprintf(buf + o, len - o, "%s%s", count ? ", " : "", st.user[0] ? st.user : de->d_name);
		count++;
	}
	return count;
}

/* ".NAME.tmp-XXXXXX" or ".NAME.old-XXXXXX": the image name, and which. */
static bool parse_aside(const char *ent, char *name, const char **kind)
{
	size_t n = strlen(ent);
	const size_t tail = 5 + 6; /* ".tmp-" + suffix */
	if (ent[0] != '.' || n < 1 + 1 + tail || n - 1 - tail >= JS_NAME_MAX)
		return false;
	const char *t = ent + n - tail;
	if (!strncmp(t, ".tmp-", 5))
		*kind = "tmp";
	else if (!strncmp(t, ".old-", 5))
		*kind = "old";
	else
		return false;
	for (size_t i = 5; i < tail; i++) {
		char c = t[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return false;
	}
	char cand[JS_NAME_MAX];
	memcpy(cand, ent + 1, n - 1 - tail);
	cand[n - 1 - tail] = '\0';
	char why[200];
	return js_parse_name(cand, name, JS_NAME_MAX, why, sizeof why) == 0;
}

/* Under the store's lock nothing is being built, so every work directory
 * is left over from a jsandboxctl that was killed outright (SIGKILL, a
 * crash, a reboot); a tree set aside by --replace or remove goes once no
 * running container was made from that image name. */
static void store_sweep(struct store *s)
{
	int dupfd = fcntl(s->fd, F_DUPFD_CLOEXEC, 3);
	if (dupfd < 0)
		return;
	_cleanup_closedir_ DIR *d = fdopendir(dupfd);
	if (!d) {
		close(dupfd);
		return;
	}
	rewinddir(d); /* the dup shares the store fd's offset */
	char stale[64][NAME_MAX + 1];
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < JS_ARRAY_SIZE(stale)) {
		char name[JS_NAME_MAX], users[256];
		const char *kind;
		if (!parse_aside(de->d_name, name, &kind))
			continue;
		if (!strcmp(kind, "old") && image_users(s->g, name, users, sizeof users) != 0)
			continue;
		js_strlcpy(stale[n++], de->d_name, sizeof stale[0]);
	}
	for (size_t i = 0; i < n; i++) {
		struct js_err err = {0};
		if (js_remove_tree_at(s->fd, stale[i], &err) < 0)
			ctl_error_js(&err, "cannot remove the left-over \"%s/%s\"", s->dir, stale[i]);
		else
			ctl_error("removed the left-over \"%s/%s\"", s->dir, stale[i]);
	}
}

/* Open images_dir for a change: made when missing, tightened to 0700 (see
 * ctl_images_open), locked against other image commands, swept. */
int store_open(struct store *s, const struct js_global *g, bool create)
{
	struct js_err err = {0};
	s->g = g;
	s->dir = g->images_dir;
	s->fd = ctl_images_open(g, create, &err);
	if (s->fd < 0) {
		if (s->fd == -ENOENT && !create)
			ctl_error("no images: \"%s\" does not exist", g->images_dir);
		else
			ctl_error_js(&err, "images_dir \"%s\"", g->images_dir);
		return s->fd;
	}
	struct stat st;
	if (fstat(s->fd, &st) == 0 && (st.st_mode & 077)) {
		if (fchmod(s->fd, 0700) < 0) {
			ctl_errorm(errno, "cannot make \"%s\" mode 0700", s->dir);
			store_close(s);
			return -EPERM;
		}
		ctl_error("note: \"%s\" was mode %04o; made it 0700 so that host users cannot reach into the images",
			  s->dir, (unsigned)(st.st_mode & 07777));
	}
	/* One image command at a time: a build takes a while, and the sweep
	 * below must never take another build's work directory for debris. */
	if (flock(s->fd, LOCK_EX | LOCK_NB) < 0) {
		ctl_error("waiting for another image command on \"%s\"", s->dir);
		while (flock(s->fd, LOCK_EX) < 0)
			if (errno != EINTR) {
				ctl_errorm(errno, "cannot lock \"%s\"", s->dir);
				store_close(s);
				return -errno;
			}
	}
	store_sweep(s);
	return 0;
}

/* A fresh ".NAME.KIND-XXXXXX" that does not exist yet. */
static int aside_name(const char *name, const char *kind, char *out, size_t len)
{
	static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char rnd[6];
	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
		return -EIO;
	char sfx[7];
	for (size_t i = 0; i < 6; i++)
		sfx[i] = chars[rnd[i] % (sizeof chars - 1)];
	sfx[6] = '\0';
	return js_snprintf(out, len, ".%s.%s-%s", name, kind, sfx);
}

/* Move `from` (an entry of the store) out of the way under a fresh
 * .NAME.old-XXXXXX; its name goes into out. */
int store_set_aside(struct store *s, const char *from, const char *name, char *out, size_t len)
{
	for (int tries = 0; tries < 100; tries++) {
		int r = aside_name(name, "old", out, len);
		if (r < 0)
			return r;
		if (renameat2(s->fd, from, s->fd, out, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

/* ---- staging: the work directory of one build or import ----------------- */

int stage_begin(struct stage *st, struct store *s, const char *name)
{
	*st = (struct stage){.store = s};
	memcpy(st->name, name, strlen(name) + 1);
	for (int tries = 0;; tries++) {
		int r = aside_name(name, "tmp", st->work, sizeof st->work);
		if (r < 0) {
			ctl_errorm(-r, "cannot name a work directory for \"%s\"", name);
			return r;
		}
		if (mkdirat(s->fd, st->work, 0700) == 0)
			break;
		if (errno != EEXIST || tries == 100) {
			ctl_errorm(errno, "cannot create \"%s/%s\"", s->dir, st->work);
			return -errno;
		}
	}
	st->made = true;
	if (js_snprintf(st->root_rel, sizeof st->root_rel, "%s/root", st->work) < 0 ||
	    js_snprintf(st->root_path, sizeof st->root_path, "%s/%s/root", s->dir, st->work) < 0 ||
	    js_snprintf(st->tmp_path, sizeof st->tmp_path, "%s/%s/tmp", s->dir, st->work) < 0) {
		ctl_error("\"%s\": path too long", s->dir);
		return -ENAMETOOLONG;
	}
	_cleanup_close_ int wfd = openat(s->fd, st->work, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (wfd < 0 || mkdirat(wfd, "root", 0755) < 0 || mkdirat(wfd, "tmp", 0700) < 0) {
		ctl_errorm(errno, "cannot prepare \"%s/%s\"", s->dir, st->work);
		return -errno;
	}
	return 0;
}

/* Remove the work directory and everything in it. */
static void stage_discard(struct stage *st)
{
	if (!st->made)
		return;
	struct js_err err = {0};
	if (js_remove_tree_at(st->store->fd, st->work, &err) < 0)
		ctl_error_js(&err, "cannot remove \"%s/%s\" (the next image command retries)", st->store->dir,
			     st->work);
	st->made = false;
}

/* Give up: remove everything made; after a signal, die of it. */
void stage_abort(struct stage *st, struct ctl_sigs *sigs)
{
	stage_discard(st);
	if (ctl_sigs_pending(sigs)) {
		ctl_error("interrupted by SIG%s; removed the unfinished image \"%s\"",
			  sigabbrev_np(sigs->signo) ? sigabbrev_np(sigs->signo) : "?", st->name);
		ctl_sigs_die(sigs);
	}
}

struct fixup {
	dev_t dev;
	size_t devnodes;
	size_t modes;
};

static int fixup_one(const struct ctl_tree_entry *e, void *ctx, struct js_err *err)
{
	struct fixup *f = ctx;
	const struct stat *st = &e->st;
	if (st->st_uid > IMAGE_ID_MAX || st->st_gid > IMAGE_ID_MAX)
		return js_fail(err, ERANGE,
			       "\"%s\" is owned by %u:%u; an image may use only ids 0-%u (each user's namespace "
			       "maps no others)",
			       e->path, (unsigned)st->st_uid, (unsigned)st->st_gid, IMAGE_ID_MAX);
	if (S_ISDIR(st->st_mode) && st->st_dev != f->dev)
		return js_fail(err, EXDEV, "\"%s\" is a mount point", e->path);
	/* A container's /dev is its own tmpfs; device nodes in the image are
	 * never used there, and on the host they would be nodes nobody
	 * vetted. */
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
		if (unlinkat(e->dirfd, e->name, 0) < 0)
			return js_failm(err, errno, "cannot remove device node \"%s\"", e->path);
		f->devnodes++;
		return 0;
	}
	if (S_ISLNK(st->st_mode))
		return 0;
	/* The image is shared by every container: nothing in it may be
	 * writable by host groups or users. Sticky directories (tmp, var/tmp,
	 * run/lock) keep 1777: inside, each user writes them in a private
	 * layer, and only root can reach them on the host (images_dir is
	 * 0700). Nobody but root can touch this tree now, so the name still
	 * refers to what was just examined. */
	if ((st->st_mode & 022) && !(S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX))) {
		if (fchmodat(e->dirfd, e->name, st->st_mode & 07755, 0) < 0)
			return js_failm(err, errno, "cannot chmod \"%s\"", e->path);
		f->modes++;
	}
	return 0;
}

static int check_rootfs(int rootfd, const char *what, struct js_err *err)
{
	struct stat st;
	if (fstatat(rootfd, "usr", &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
		return js_fail(err, EINVAL,
			       "%s does not look like a root filesystem: no usr/ directory at its top (pack it from "
			       "inside the tree: tar -C ROOT -cf FILE .)",
			       what);
	_cleanup_close_ int sh = open_in_root(rootfd, "bin/sh", O_PATH);
	if (sh < 0)
		sh = open_in_root(rootfd, "usr/bin/sh", O_PATH);
	if (sh < 0 || fstat(sh, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111))
		return js_fail(err, EINVAL, "%s does not look like a root filesystem: no bin/sh or usr/bin/sh", what);
	_cleanup_close_ int pw = open_in_root(rootfd, "etc/passwd", O_PATH);
	if (pw < 0 || fstat(pw, &st) < 0 || !S_ISREG(st.st_mode))
		return js_fail(err, EINVAL, "%s does not look like a root filesystem: no etc/passwd", what);
	return 0;
}

/* Make the staged tree what a shared image must be, or say why it cannot. */
int stage_finish_tree(struct stage *st, const char *what, uint64_t *size)
{
	struct js_err err = {0};
	_cleanup_close_ int rootfd =
	    openat(st->store->fd, st->root_rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rootfd < 0) {
		ctl_errorm(errno, "cannot open \"%s\"", st->root_path);
		return -errno;
	}
	int r = check_rootfs(rootfd, what, &err);
	if (r < 0) {
		ctl_error("%s", err.msg);
		return r;
	}
	struct stat rst;
	if (fstat(rootfd, &rst) < 0) {
		ctl_errorm(errno, "cannot stat \"%s\"", st->root_path);
		return -errno;
	}
	struct fixup f = {.dev = rst.st_dev};
	r = ctl_tree_walk(rootfd, fixup_one, &f, &err);
	if (r < 0) {
		ctl_error_js(&err, "image \"%s\"", st->name);
		return r;
	}
	/* The image's / shows as / in every container. */
	if (fchown(rootfd, 0, 0) < 0 || fchmod(rootfd, 0755) < 0) {
		ctl_errorm(errno, "cannot make \"%s\" root-owned 0755", st->root_path);
		return -errno;
	}
	if (f.devnodes)
		ctl_error("note: removed %zu device nodes (a container's /dev is made at login)", f.devnodes);
	if (f.modes)
		ctl_error("note: removed group/other write permission from %zu files", f.modes);
	if (ctl_tree_usage(rootfd, size, &err) < 0)
		*size = 0;
	return 0;
}

/* Rename the staged tree to NAME. With replace, an existing NAME is
 * exchanged atomically (a login sees the old or the new image, never
 * neither) and the old tree removed, or set aside while containers made
 * from it still run: their mounts would lose files under them. */
int stage_commit(struct stage *st, bool replace)
{
	struct store *s = st->store;
	bool exchanged = false;
	if (replace) {
		if (renameat2(s->fd, st->root_rel, s->fd, st->name, RENAME_EXCHANGE) == 0)
			exchanged = true;
		else if (errno != ENOENT) {
			ctl_errorm(errno, "cannot replace \"%s/%s\"", s->dir, st->name);
			return -errno;
		}
	}
	if (!exchanged && renameat2(s->fd, st->root_rel, s->fd, st->name, RENAME_NOREPLACE) < 0) {
		int e = errno;
		if (e == EEXIST || e == ENOTEMPTY)
			ctl_error("image \"%s\" already exists in \"%s\" (use --replace)", st->name, s->dir);
		else
			ctl_errorm(e, "cannot rename \"%s\" to \"%s/%s\"", st->root_path, s->dir, st->name);
		return -e;
	}
	if (exchanged) {
		char users[256], aside[NAME_MAX + 1];
		int n = image_users(s->g, st->name, users, sizeof users);
		if (n != 0) {
			int r = store_set_aside(s, st->root_rel, st->name, aside, sizeof aside);
			if (r < 0)
				ctl_errorm(-r, "cannot set the old image aside");
			else if (n > 0)
				ctl_error("note: containers of %s still use the old image; it stays in \"%s/%s\" "
					  "until they have stopped (the next image command removes it then)",
					  users, s->dir, aside);
			else
				ctl_error("note: cannot tell whether containers still use the old image; it stays in "
					  "\"%s/%s\" for now",
					  s->dir, aside);
		}
	}
	stage_discard(st); /* the old tree, if not set aside, and tmp/ */
	return 0;
}

int image_write_info(struct store *s, const char *name, const char *body)
{
	char fname[NAME_MAX + 1];
	struct js_err err = {0};
	if (js_snprintf(fname, sizeof fname, ".%s.info", name) < 0)
		return -ENAMETOOLONG;
	int r = js_write_atomic_at(s->fd, fname, body, 0644, &err);
	if (r < 0)
		ctl_error_js(&err, "image \"%s\" is in place, but its metadata \"%s/%s\" is not", name, s->dir, fname);
	return r;
}

int image_read_info(int imagesfd, const char *name, char *buf, size_t len)
{
	char fname[NAME_MAX + 1];
	if (js_snprintf(fname, sizeof fname, ".%s.info", name) < 0)
		return -ENAMETOOLONG;
	_cleanup_close_ int fd = openat(imagesfd, fname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0)
		return -EPERM;
	return ctl_read_small(fd, buf, len);
}

/* Refuse early, before minutes of work, what the commit would refuse. */
int store_check_absent(struct store *s, const char *name, bool replace)
{
	struct stat st;
	if (replace || fstatat(s->fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	ctl_error("image \"%s\" already exists in \"%s\" (use --replace)", name, s->dir);
	return -EEXIST;
}
