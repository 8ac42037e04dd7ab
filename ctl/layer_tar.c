/* SPDX-License-Identifier: MIT */
/* A user's layer as a tar archive (layer_tar.h).
 *
 * Both directions run as root over a tree the user controls (export: the
 * live layer, where root inside can change anything while it is read) or
 * wrote (import: the archive). So:
 *   - export opens every directory with openat(O_DIRECTORY|O_NOFOLLOW) from
 *     its parent's fd and every file with O_NOFOLLOW|O_NONBLOCK, checks
 *     with fstat what it got, never opens anything but regular files and
 *     directories, and never leaves the layer's file system;
 *   - import takes each archive name apart into components (an absolute
 *     name, a ".." component refuse the archive), opens each directory
 *     with openat(O_DIRECTORY|O_NOFOLLOW) from the one above, starting at
 *     the fresh layer's upper/ (a symlink on the way refuses the archive),
 *     creates leaves with O_EXCL/mkdirat/symlinkat/mknodat (an existing
 *     entry refuses it), sets owners with fchown on the open file or
 *     fchownat(AT_SYMLINK_NOFOLLOW), makes no device but the overlay
 *     whiteout c 0:0, and maps every owner through the user's map: no id
 *     outside it is ever written.
 * A symlink's target is stored and written as bytes and never followed
 * here: it means something only inside the container. */
#include "layer_tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <endian.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define LT_PATH_MAX  16384 /* longest name in an archive, either way */
#define LT_DEPTH_MAX 400   /* deepest directory (two fds a level) */
#define LT_BUF	     (1u << 20)
#define LT_XLIST     65536 /* the kernel's XATTR_LIST_MAX */
#define LT_XVAL	     65536 /* the kernel's XATTR_SIZE_MAX */
#define OVERFLOW_ID  65534 /* nobody: what the container sees for an unmapped owner */

/* posix_acl_xattr (the kernel's uapi layout) */
#define ACL_XATTR_VERSION 0x0002
#define ACL_TAG_USER	  0x02
#define ACL_TAG_GROUP	  0x08

#define XA_CAPS "security.capability"

bool lt_xattr_kept(const char *n)
{
	if (!strcmp(n, XA_CAPS) || !strcmp(n, "system.posix_acl_access") || !strcmp(n, "system.posix_acl_default"))
		return true;
	/* overlayfs (userxattr) records in user.overlay.*; of those only the
	 * opaque directory and the xwhiteout mark are what a layer means. The
	 * others (origin, impure, redirect, metacopy, ...) name inodes of this
	 * host's image or ask overlayfs to look elsewhere: not carried, and
	 * never written from an archive. */
	if (!strncmp(n, "user.overlay.", 13))
		return !strcmp(n + 13, "opaque") || !strcmp(n + 13, "whiteout");
	return !strncmp(n, "user.", 5);
}

static void note_dropped(struct lt_stats *st, const char *name)
{
	if (!st->xattrs_dropped++)
		snprintf(st->first_dropped, sizeof st->first_dropped, "%s", name);
}

/* host id -> inside id through a keep-id map; UINT32_MAX when outside it */
static uint32_t to_inside(const struct js_idmap *m, uint32_t host)
{
	for (size_t i = 0; i < m->n; i++) {
		const struct js_extent *e = &m->ext[i];
		if (host >= e->outside && host - e->outside < e->count)
			return e->inside + (host - e->outside);
	}
	return UINT32_MAX;
}

/* Translate a security.capability value for the other side: v2 (no root
 * id: valid in every namespace) and v3 both become v3 with the root id
 * mapped (export: host -> inside, v2 as inside 0; import: inside ->
 * host). *len is the result's size. */
static int cap_translate(const void *in, size_t len, const struct js_idmap *m, bool to_host,
			 struct vfs_ns_cap_data *out)
{
	uint32_t magic;
	if (len < sizeof magic)
		return -EINVAL;
	memcpy(&magic, in, sizeof magic);
	magic = le32toh(magic);
	uint32_t rev = magic & VFS_CAP_REVISION_MASK, root = 0;
	memset(out, 0, sizeof *out);
	if (rev == VFS_CAP_REVISION_2 && len == XATTR_CAPS_SZ_2) {
		memcpy(out, in, len);
	} else if (rev == VFS_CAP_REVISION_3 && len == XATTR_CAPS_SZ_3) {
		memcpy(out, in, len);
		root = le32toh(out->rootid);
	} else {
		return -EINVAL;
	}
	if (to_host)
		root = js_idmap_to_host(m, root);
	else if (rev == VFS_CAP_REVISION_3)
		root = to_inside(m, root);
	if (root == UINT32_MAX)
		return -ERANGE;
	out->magic_etc = htole32(VFS_CAP_REVISION_3 | (magic & VFS_CAP_FLAGS_EFFECTIVE));
	out->rootid = htole32(root);
	return 0;
}

/* Map the user and group ids of a POSIX ACL value in place. */
static int acl_translate(unsigned char *v, size_t len, const struct lt_maps *m, bool to_host)
{
	if (len < 4 || (len - 4) % 8)
		return -EINVAL;
	uint32_t ver;
	memcpy(&ver, v, 4);
	if (le32toh(ver) != ACL_XATTR_VERSION)
		return -EINVAL;
	for (size_t o = 4; o < len; o += 8) {
		uint16_t tag;
		uint32_t id;
		memcpy(&tag, v + o, 2);
		memcpy(&id, v + o + 4, 4);
		tag = le16toh(tag);
		if (tag != ACL_TAG_USER && tag != ACL_TAG_GROUP)
			continue;
		const struct js_idmap *map = tag == ACL_TAG_USER ? &m->uid : &m->gid;
		id = le32toh(id);
		id = to_host ? js_idmap_to_host(map, id) : to_inside(map, id);
		if (id == UINT32_MAX)
			return -ERANGE;
		id = htole32(id);
		memcpy(v + o + 4, &id, 4);
	}
	return 0;
}

/* ---- export ---------------------------------------------------------------- */

struct hardlink {
	dev_t dev;
	ino_t ino;
	char *path;
};

struct ex {
	struct archive *a;
	const struct lt_maps *m;
	struct lt_stats *st;
	struct js_err *err;
	dev_t dev;
	struct hardlink *hl;
	size_t nhl, hlcap;
	char *buf;
	char *zero; /* LT_BUF of zeros: a sparse file's holes */
	char xlist[LT_XLIST];
	unsigned char xval[LT_XVAL];
};

static void note_skipped(struct ex *x, const char *path)
{
	if (!x->st->skipped++)
		snprintf(x->st->first_skipped, sizeof x->st->first_skipped, "%s", path);
}

static int ar_fail(struct archive *a, struct js_err *err, const char *what, const char *path)
{
	int e = archive_errno(a);
	return js_fail(err, e > 0 ? e : EIO, "%s \"%s\": %s", what, path,
		       archive_error_string(a) ? archive_error_string(a) : "archive error");
}

static struct archive_entry *ex_entry(struct ex *x, const char *path, const struct stat *st)
{
	struct archive_entry *e = archive_entry_new();
	if (!e)
		return NULL;
	archive_entry_set_pathname(e, path);
	archive_entry_set_mode(e, st->st_mode);
	uint32_t uid = to_inside(&x->m->uid, st->st_uid), gid = to_inside(&x->m->gid, st->st_gid);
	if (uid == UINT32_MAX || gid == UINT32_MAX)
		x->st->unmapped++;
	archive_entry_set_uid(e, uid == UINT32_MAX ? OVERFLOW_ID : uid);
	archive_entry_set_gid(e, gid == UINT32_MAX ? OVERFLOW_ID : gid);
	archive_entry_set_mtime(e, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
	return e;
}

static int ex_xattrs(struct ex *x, int fd, struct archive_entry *e, const char *path)
{
	ssize_t n = flistxattr(fd, x->xlist, sizeof x->xlist);
	if (n < 0)
		return errno == ENOTSUP ? 0 : js_failm(x->err, errno, "cannot list the attributes of \"%s\"", path);
	for (ssize_t o = 0; o < n; o += (ssize_t)strlen(x->xlist + o) + 1) {
		const char *name = x->xlist + o;
		if (!lt_xattr_kept(name)) {
			note_dropped(x->st, name);
			continue;
		}
		ssize_t vl = fgetxattr(fd, name, x->xval, sizeof x->xval);
		if (vl < 0)
			continue; /* gone meanwhile */
		if (!strcmp(name, XA_CAPS)) {
			struct vfs_ns_cap_data c;
			if (cap_translate(x->xval, (size_t)vl, &x->m->uid, false, &c) < 0) {
				note_dropped(x->st, name);
				continue;
			}
			x->st->caps++;
			archive_entry_xattr_add_entry(e, name, &c, XATTR_CAPS_SZ_3);
			continue;
		}
		if (!strncmp(name, "system.posix_acl_", 17) && acl_translate(x->xval, (size_t)vl, x->m, false) < 0) {
			note_dropped(x->st, name);
			continue;
		}
		archive_entry_xattr_add_entry(e, name, x->xval, (size_t)vl);
	}
	return 0;
}

static int ex_header(struct ex *x, struct archive_entry *e, const char *path)
{
	int r = archive_write_header(x->a, e);
	if (r < ARCHIVE_WARN)
		return ar_fail(x->a, x->err, "cannot write the archive's entry for", path);
	x->st->entries++;
	return 0;
}

/* A hard link to a file already in the archive: its first path. */
static const char *ex_link_seen(struct ex *x, const struct stat *st, const char *path)
{
	for (size_t i = 0; i < x->nhl; i++)
		if (x->hl[i].dev == st->st_dev && x->hl[i].ino == st->st_ino)
			return x->hl[i].path;
	if (x->nhl == x->hlcap) {
		size_t nc = x->hlcap ? x->hlcap * 2 : 64;
		struct hardlink *v = realloc(x->hl, nc * sizeof *v);
		if (!v)
			return NULL;
		x->hl = v;
		x->hlcap = nc;
	}
	char *p = strdup(path);
	if (p)
		x->hl[x->nhl++] = (struct hardlink){st->st_dev, st->st_ino, p};
	return NULL;
}

/* Copy [from, to) of fd into the entry; from a hole (data false) zeros,
 * which the pax writer drops for a sparse entry. A file that shrank
 * meanwhile ends early: the entry is padded. */
static int ex_copy(struct ex *x, int fd, off_t from, off_t to, bool data, const char *path)
{
	while (from < to) {
		size_t want = to - from < LT_BUF ? (size_t)(to - from) : LT_BUF;
		ssize_t n = (ssize_t)want;
		if (data) {
			n = pread(fd, x->buf, want, from);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return js_failm(x->err, errno, "cannot read \"%s\"", path);
			if (n == 0)
				return 1;
		}
		if (archive_write_data(x->a, data ? x->buf : x->zero, (size_t)n) != n)
			return ar_fail(x->a, x->err, "cannot write the data of", path);
		from += n;
		if (data)
			x->st->bytes += (uint64_t)n;
	}
	return 0;
}

static int ex_data(struct ex *x, int fd, struct archive_entry *e, off_t size, const char *path)
{
	if (!archive_entry_sparse_count(e)) {
		int r = ex_copy(x, fd, 0, size, true, path);
		return r < 0 ? r : 0;
	}
	la_int64_t off, len;
	off_t cur = 0;
	archive_entry_sparse_reset(e);
	while (archive_entry_sparse_next(e, &off, &len) == ARCHIVE_OK) {
		int r = ex_copy(x, fd, cur, off, false, path);
		if (r == 0)
			r = ex_copy(x, fd, off, off + len, true, path);
		if (r)
			return r < 0 ? r : 0;
		cur = off + len;
	}
	int r = ex_copy(x, fd, cur, size, false, path);
	return r < 0 ? r : 0;
}

static int ex_file(struct ex *x, int dfd, const char *name, const char *path)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_dev != x->dev) {
		note_skipped(x, path); /* changed under us: not what was listed */
		return 0;
	}
	struct archive_entry *e = ex_entry(x, path, &st);
	if (!e)
		return js_fail(x->err, ENOMEM, "out of memory");
	const char *first = st.st_nlink > 1 ? ex_link_seen(x, &st, path) : NULL;
	int r = 0;
	if (first) {
		archive_entry_set_hardlink(e, first);
		archive_entry_set_size(e, 0);
		r = ex_header(x, e, path);
		archive_entry_free(e);
		return r;
	}
	archive_entry_set_size(e, st.st_size);
	/* A sparse file (a user's `truncate -s 1T`) is stored with its map
	 * (pax GNU.sparse): only its data is in the archive. */
	if ((uint64_t)st.st_blocks * 512 < (uint64_t)st.st_size) {
		for (off_t pos = 0; pos < st.st_size;) {
			off_t d = lseek(fd, pos, SEEK_DATA);
			if (d < 0 || d >= st.st_size)
				break; /* ENXIO: no data after pos */
			off_t h = lseek(fd, d, SEEK_HOLE);
			if (h < 0 || h > st.st_size)
				h = st.st_size;
			archive_entry_sparse_add_entry(e, d, h - d);
			pos = h;
		}
		if (!archive_entry_sparse_count(e)) /* all hole */
			archive_entry_sparse_add_entry(e, st.st_size, 0);
	}
	r = ex_xattrs(x, fd, e, path);
	if (r >= 0)
		r = ex_header(x, e, path);
	if (r >= 0)
		r = ex_data(x, fd, e, st.st_size, path);
	archive_entry_free(e);
	return r;
}

static int ex_walk(struct ex *x, int dfd, char *path, size_t plen, int depth);

static int ex_dir(struct ex *x, int fd, char *path, size_t plen, int depth)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return js_failm(x->err, errno, "\"%s\"", path);
	struct archive_entry *e = ex_entry(x, path, &st);
	if (!e)
		return js_fail(x->err, ENOMEM, "out of memory");
	int r = ex_xattrs(x, fd, e, path);
	if (r >= 0)
		r = ex_header(x, e, path);
	archive_entry_free(e);
	return r < 0 ? r : ex_walk(x, fd, path, plen, depth);
}

static int ex_walk(struct ex *x, int dfd, char *path, size_t plen, int depth)
{
	if (depth > LT_DEPTH_MAX)
		return js_fail(x->err, ELOOP, "\"%s\" is deeper than %d directories", path, LT_DEPTH_MAX);
	int dd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_closedir_ DIR *d = dd < 0 ? NULL : fdopendir(dd);
	if (!d) {
		if (dd >= 0)
			close(dd);
		return js_failm(x->err, errno, "cannot read the directory \"%s\"", path);
	}
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		const char *name = de->d_name;
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		size_t nl = strlen(name);
		if (plen + 1 + nl >= LT_PATH_MAX)
			return js_fail(x->err, ENAMETOOLONG, "a name under \"%s\" is longer than %d bytes", path,
				       LT_PATH_MAX);
		path[plen] = '/';
		memcpy(path + plen + 1, name, nl + 1);
		size_t cl = plen + 1 + nl;
		struct stat st;
		int r = 0;
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			/* gone meanwhile */
		} else if (st.st_dev != x->dev) {
			note_skipped(x, path);
		} else if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int cfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			struct stat cst;
			if (cfd < 0 || fstat(cfd, &cst) < 0 || cst.st_dev != x->dev)
				note_skipped(x, path);
			else
				r = ex_dir(x, cfd, path, cl, depth + 1);
		} else if (S_ISREG(st.st_mode)) {
			r = ex_file(x, dfd, name, path);
		} else if (S_ISLNK(st.st_mode) || S_ISFIFO(st.st_mode) || (S_ISCHR(st.st_mode) && st.st_rdev == 0)) {
			struct archive_entry *e = ex_entry(x, path, &st);
			if (!e)
				return js_fail(x->err, ENOMEM, "out of memory");
			if (S_ISLNK(st.st_mode)) {
				ssize_t n = readlinkat(dfd, name, x->buf, LT_BUF - 1);
				if (n >= 0) {
					x->buf[n] = '\0';
					archive_entry_set_symlink(e, x->buf);
				}
				r = n < 0 ? 0 : ex_header(x, e, path);
				if (n < 0)
					note_skipped(x, path);
			} else {
				if (S_ISCHR(st.st_mode)) {
					archive_entry_set_rdev(e, 0);
					x->st->whiteouts++;
				}
				r = ex_header(x, e, path);
			}
			archive_entry_free(e);
		} else {
			/* sockets, and devices nothing inside can make */
			note_skipped(x, path);
		}
		path[plen] = '\0';
		if (r < 0)
			return r;
	}
	if (errno)
		return js_failm(x->err, errno, "cannot read the directory \"%s\"", path);
	return 0;
}

int lt_export(int upfd, int outfd, const struct lt_maps *m, struct lt_stats *st, struct js_err *err)
{
	memset(st, 0, sizeof *st);
	struct stat rst;
	if (fstat(upfd, &rst) < 0)
		return js_failm(err, errno, "the layer");
	struct ex *x = calloc(1, sizeof *x);
	char *path = malloc(LT_PATH_MAX);
	int r = -ENOMEM;
	if (!x || !path || !(x->buf = malloc(LT_BUF)) || !(x->zero = calloc(1, LT_BUF)) ||
	    !(x->a = archive_write_new())) {
		js_fail(err, ENOMEM, "out of memory");
		goto out;
	}
	x->m = m;
	x->st = st;
	x->err = err;
	x->dev = rst.st_dev;
	/* pax: owners and times beyond ustar's fields, the attributes (a
	 * name that is not text in the locale goes as its bytes, marked
	 * hdrcharset=BINARY) */
	if (archive_write_set_format_pax_restricted(x->a) != ARCHIVE_OK ||
	    archive_write_add_filter_none(x->a) != ARCHIVE_OK || archive_write_open_fd(x->a, outfd) != ARCHIVE_OK) {
		r = ar_fail(x->a, err, "cannot start", "the archive");
		goto out;
	}
	strcpy(path, ".");
	r = ex_dir(x, upfd, path, 1, 0);
	if (r >= 0 && archive_write_close(x->a) != ARCHIVE_OK)
		r = ar_fail(x->a, err, "cannot finish", "the archive");
out:
	if (x) {
		if (x->a)
			archive_write_free(x->a);
		for (size_t i = 0; i < x->nhl; i++)
			free(x->hl[i].path);
		free(x->hl);
		free(x->buf);
		free(x->zero);
	}
	free(x);
	free(path);
	return r;
}

/* ---- import ---------------------------------------------------------------- */

struct dirtime {
	char *path;
	struct timespec mtime;
};

struct im {
	struct archive *a;
	const struct lt_maps *m;
	struct lt_stats *st;
	struct js_err *err;
	int upfd;
	uid_t root_uid; /* inside 0 on the host: implicit directories */
	gid_t root_gid;
	struct dirtime *dt;
	size_t ndt, dtcap;
};

/* The archive's name as clean components joined by '/' ("" for the
 * layer's root): leading "./" and "." or empty components dropped; an
 * absolute name or a ".." component is refused. */
static int clean_name(const char *in, char *out, size_t outlen, const char **why)
{
	size_t o = 0;
	if (!in || !*in) {
		*why = "an entry without a name";
		return -EINVAL;
	}
	if (in[0] == '/') {
		*why = "an absolute name";
		return -EINVAL;
	}
	for (const char *p = in; *p;) {
		const char *s = strchr(p, '/');
		size_t n = s ? (size_t)(s - p) : strlen(p);
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			*why = "a \"..\" component";
			return -EINVAL;
		}
		if (n > NAME_MAX) {
			*why = "a component longer than NAME_MAX";
			return -EINVAL;
		}
		if (n && !(n == 1 && p[0] == '.')) {
			if (o + (o ? 1 : 0) + n >= outlen) {
				*why = "a name too long";
				return -EINVAL;
			}
			if (o)
				out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
		while (*p == '/')
			p++;
	}
	out[o] = '\0';
	return 0;
}

/* Open the directory that holds rel's last component, one component at a
 * time from the layer's root, never through a link; with `make`, missing
 * ones are made (0755, inside root's). *leaf points into rel. */
static int im_parent(struct im *x, char *rel, bool make, const char **leaf, const char *shown)
{
	int fd = openat(x->upfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return js_failm(x->err, errno, "the fresh layer");
	char *p = rel;
	for (char *s; (s = strchr(p, '/')); p = s + 1) {
		*s = '\0';
		int n = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (n < 0 && errno == ENOENT && make) {
			if (mkdirat(fd, p, 0755) == 0 &&
			    fchownat(fd, p, x->root_uid, x->root_gid, AT_SYMLINK_NOFOLLOW) < 0) {
				*s = '/';
				close(fd);
				return js_failm(x->err, errno, "cannot make the directories of \"%s\"", shown);
			}
			n = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		int e = errno;
		struct stat cst;
		/* O_NOFOLLOW|O_DIRECTORY on a symlink says ENOTDIR: which? */
		if (n < 0 && (e == ENOTDIR || e == ELOOP) && fstatat(fd, p, &cst, AT_SYMLINK_NOFOLLOW) == 0)
			e = S_ISLNK(cst.st_mode) ? ELOOP : ENOTDIR;
		*s = '/';
		close(fd);
		if (n < 0) {
			if (e == ELOOP)
				return js_fail(x->err, ELOOP, "refused: \"%s\" goes through a symbolic link", shown);
			if (e == ENOTDIR)
				return js_fail(x->err, ENOTDIR, "refused: \"%s\" goes through a non-directory", shown);
			return js_fail(x->err, e, "\"%s\": %s", shown, strerror(e));
		}
		fd = n;
	}
	*leaf = p;
	return fd;
}

static int im_id(struct im *x, la_int64_t id, bool gid, uint32_t *host, const char *shown)
{
	uint32_t h =
	    id < 0 || id >= UINT32_MAX ? UINT32_MAX : js_idmap_to_host(gid ? &x->m->gid : &x->m->uid, (uint32_t)id);
	if (h == UINT32_MAX)
		return js_fail(x->err, ERANGE, "refused: \"%s\": %s %" PRId64 " is outside the user's id map", shown,
			       gid ? "group" : "owner", (int64_t)id);
	*host = h;
	return 0;
}

/* The entry's attributes on fd (a regular file or a directory), after its
 * owner and mode: a file's capability last (fchown clears it). */
static int im_xattrs(struct im *x, struct archive_entry *e, int fd, bool reg, const char *shown)
{
	const char *name;
	const void *val;
	size_t size;
	unsigned char buf[LT_XVAL];
	bool have_cap = false;
	struct vfs_ns_cap_data cap;
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &val, &size) == ARCHIVE_OK) {
		if (!lt_xattr_kept(name) || size > sizeof buf) {
			note_dropped(x->st, name);
			continue;
		}
		if (!strcmp(name, XA_CAPS)) {
			if (!reg)
				return js_fail(x->err, EINVAL, "refused: \"%s\": a file capability on a directory",
					       shown);
			int r = cap_translate(val, size, &x->m->uid, true, &cap);
			if (r < 0)
				return js_fail(x->err, -r, "refused: \"%s\": %s", shown,
					       r == -ERANGE ? "a file capability's root id is outside the user's map"
							    : "a malformed file capability");
			have_cap = true;
			continue;
		}
		if (!strcmp(name, "user.overlay.opaque") &&
		    (size != 1 || (((const char *)val)[0] != 'y' && ((const char *)val)[0] != 'x')))
			return js_fail(x->err, EINVAL, "refused: \"%s\": user.overlay.opaque is not \"y\" or \"x\"",
				       shown);
		memcpy(buf, val, size);
		if (!strncmp(name, "system.posix_acl_", 17)) {
			int r = acl_translate(buf, size, x->m, true);
			if (r < 0)
				return js_fail(x->err, -r, "refused: \"%s\": %s", shown,
					       r == -ERANGE ? "an ACL names an id outside the user's map"
							    : "a malformed ACL");
		}
		if (fsetxattr(fd, name, buf, size, 0) < 0)
			return js_failm(x->err, errno, "cannot set %s on \"%s\"", name, shown);
	}
	if (have_cap) {
		if (fsetxattr(fd, XA_CAPS, &cap, XATTR_CAPS_SZ_3, 0) < 0)
			return js_failm(x->err, errno, "cannot set the file capability of \"%s\"", shown);
		x->st->caps++;
	}
	return 0;
}

/* Owner, mode, attributes of an open regular file or directory. */
static int im_attrs(struct im *x, struct archive_entry *e, int fd, uint32_t uid, uint32_t gid, mode_t perm, bool reg,
		    const char *shown)
{
	if (fchown(fd, uid, gid) < 0 || fchmod(fd, perm) < 0)
		return js_failm(x->err, errno, "cannot set the owner or mode of \"%s\"", shown);
	return im_xattrs(x, e, fd, reg, shown);
}

static int im_data(struct im *x, int fd, la_int64_t size, const char *shown)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	int r;
	while ((r = archive_read_data_block(x->a, &buf, &len, &off)) == ARCHIVE_OK) {
		for (size_t done = 0; done < len;) {
			ssize_t n = pwrite(fd, (const char *)buf + done, len - done, (off_t)(off + (la_int64_t)done));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return js_failm(x->err, errno, "cannot write \"%s\"", shown);
			done += (size_t)n;
		}
		x->st->bytes += len;
	}
	if (r != ARCHIVE_EOF)
		return ar_fail(x->a, x->err, "cannot read the data of", shown);
	if (ftruncate(fd, (off_t)size) < 0)
		return js_failm(x->err, errno, "cannot write \"%s\"", shown);
	return 0;
}

static int remember_dir(struct im *x, const char *rel, struct archive_entry *e)
{
	if (x->ndt == x->dtcap) {
		size_t nc = x->dtcap ? x->dtcap * 2 : 256;
		struct dirtime *v = realloc(x->dt, nc * sizeof *v);
		if (!v)
			return js_fail(x->err, ENOMEM, "out of memory");
		x->dt = v;
		x->dtcap = nc;
	}
	char *p = strdup(rel);
	if (!p)
		return js_fail(x->err, ENOMEM, "out of memory");
	x->dt[x->ndt++] = (struct dirtime){p, {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
	return 0;
}

static int im_entry(struct im *x, struct archive_entry *e, char *rel, const char *shown)
{
	const char *why = NULL;
	const char *hl = archive_entry_hardlink(e);
	mode_t type = archive_entry_filetype(e);
	mode_t perm = archive_entry_perm(e) & 07777;
	uint32_t uid = 0, gid = 0;
	int r = im_id(x, archive_entry_uid(e), false, &uid, shown);
	if (r >= 0)
		r = im_id(x, archive_entry_gid(e), true, &gid, shown);
	if (r < 0)
		return r;
	struct timespec ts[2] = {{0, UTIME_OMIT}, {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
	if (!*rel) { /* the layer's root */
		if (hl || type != AE_IFDIR)
			return js_fail(x->err, EINVAL, "refused: the archive's root \"%s\" is not a directory", shown);
		r = im_attrs(x, e, x->upfd, uid, gid, perm, false, shown);
		if (r >= 0)
			x->st->entries++;
		return r < 0 ? r : remember_dir(x, rel, e);
	}
	if (!hl && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK && type != AE_IFIFO && type != AE_IFCHR)
		return js_fail(x->err, EINVAL, "refused: \"%s\" is a %s", shown,
			       type == AE_IFBLK	   ? "block device"
			       : type == AE_IFSOCK ? "socket"
						   : "file of unknown type");
	if (!hl && type == AE_IFCHR && (archive_entry_rdevmajor(e) || archive_entry_rdevminor(e)))
		return js_fail(
		    x->err, EPERM,
		    "refused: \"%s\" is a device node (c %lu:%lu): only overlay whiteouts (c 0:0) are allowed", shown,
		    (unsigned long)archive_entry_rdevmajor(e), (unsigned long)archive_entry_rdevminor(e));
	const char *leaf;
	_cleanup_close_ int pfd = im_parent(x, rel, true, &leaf, shown);
	if (pfd < 0)
		return pfd;
	if (hl) {
		char *trel = malloc(LT_PATH_MAX);
		if (!trel)
			return js_fail(x->err, ENOMEM, "out of memory");
		const char *tleaf;
		int tfd = -1;
		struct stat st;
		r = clean_name(hl, trel, LT_PATH_MAX, &why);
		if (r < 0 || !*trel)
			r = js_fail(x->err, EINVAL, "refused: \"%s\" is a hard link to %s", shown,
				    why ? why : "the layer's root");
		else if ((tfd = im_parent(x, trel, false, &tleaf, shown)) < 0)
			r = tfd;
		else if (fstatat(tfd, tleaf, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			r = js_fail(x->err, EINVAL, "refused: \"%s\" is a hard link to what is not an earlier file",
				    shown);
		else if (linkat(tfd, tleaf, pfd, leaf, 0) < 0)
			r = js_failm(x->err, errno, "cannot link \"%s\"", shown);
		if (tfd >= 0)
			close(tfd);
		free(trel);
		if (r >= 0)
			x->st->entries++;
		return r;
	}
	switch (type) {
	case AE_IFDIR: {
		if (mkdirat(pfd, leaf, 0700) < 0) {
			struct stat st;
			if (errno != EEXIST || fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
				return js_failm(x->err, errno == EEXIST ? EEXIST : errno,
						"refused: \"%s\" (a directory) is there already", shown);
		}
		_cleanup_close_ int fd = openat(pfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return js_failm(x->err, errno, "\"%s\"", shown);
		r = im_attrs(x, e, fd, uid, gid, perm, false, shown);
		if (r >= 0)
			r = remember_dir(x, rel, e);
		break;
	}
	case AE_IFREG: {
		_cleanup_close_ int fd =
		    openat(pfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
		if (fd < 0)
			return errno == EEXIST
				   ? js_fail(x->err, EEXIST, "refused: \"%s\" is in the archive twice", shown)
				   : js_failm(x->err, errno, "cannot create \"%s\"", shown);
		r = im_data(x, fd, archive_entry_size(e), shown);
		if (r >= 0)
			r = im_attrs(x, e, fd, uid, gid, perm, true, shown);
		if (r >= 0 && futimens(fd, ts) < 0)
			r = js_failm(x->err, errno, "\"%s\"", shown);
		break;
	}
	case AE_IFLNK: {
		const char *target = archive_entry_symlink(e);
		if (!target || !*target || strlen(target) >= PATH_MAX)
			return js_fail(x->err, EINVAL, "refused: \"%s\" is a symbolic link without a usable target",
				       shown);
		if (archive_entry_xattr_count(e))
			note_dropped(x->st, "(attributes of a symbolic link)");
		if (symlinkat(target, pfd, leaf) < 0)
			return errno == EEXIST
				   ? js_fail(x->err, EEXIST, "refused: \"%s\" is in the archive twice", shown)
				   : js_failm(x->err, errno, "cannot create \"%s\"", shown);
		if (fchownat(pfd, leaf, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ||
		    utimensat(pfd, leaf, ts, AT_SYMLINK_NOFOLLOW) < 0)
			r = js_failm(x->err, errno, "\"%s\"", shown);
		break;
	}
	default: { /* a FIFO or a whiteout; no set-id bits on either */
		dev_t dev = 0;
		if (archive_entry_xattr_count(e))
			note_dropped(x->st, "(attributes of a FIFO or whiteout)");
		if (mknodat(pfd, leaf, (type == AE_IFIFO ? S_IFIFO : S_IFCHR) | (perm & 0777), dev) < 0)
			return errno == EEXIST
				   ? js_fail(x->err, EEXIST, "refused: \"%s\" is in the archive twice", shown)
				   : js_failm(x->err, errno, "cannot create \"%s\"", shown);
		if (fchownat(pfd, leaf, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ||
		    utimensat(pfd, leaf, ts, AT_SYMLINK_NOFOLLOW) < 0)
			r = js_failm(x->err, errno, "\"%s\"", shown);
		if (type == AE_IFCHR)
			x->st->whiteouts++;
		break;
	}
	}
	if (r >= 0)
		x->st->entries++;
	return r;
}

/* Directories' times last: their entries' creation changed them. */
static int im_dir_times(struct im *x)
{
	for (size_t i = x->ndt; i-- > 0;) {
		struct timespec ts[2] = {{0, UTIME_OMIT}, x->dt[i].mtime};
		int fd;
		if (!*x->dt[i].path) {
			fd = openat(x->upfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		} else {
			const char *leaf;
			_cleanup_close_ int pfd = im_parent(x, x->dt[i].path, false, &leaf, x->dt[i].path);
			if (pfd < 0)
				return pfd;
			fd = openat(pfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd < 0)
			return js_failm(x->err, errno, "\"%s\"", x->dt[i].path);
		int r = futimens(fd, ts);
		close(fd);
		if (r < 0)
			return js_failm(x->err, errno, "\"%s\"", x->dt[i].path);
	}
	return 0;
}

int lt_import(int upfd, int infd, const struct lt_maps *m, struct lt_stats *st, struct js_err *err)
{
	memset(st, 0, sizeof *st);
	struct im x = {.m = m, .st = st, .err = err, .upfd = upfd};
	x.root_uid = js_idmap_to_host(&m->uid, 0);
	x.root_gid = js_idmap_to_host(&m->gid, 0);
	if (x.root_uid == (uid_t)-1 || x.root_gid == (gid_t)-1)
		return js_fail(err, EINVAL, "the user's map has no inside root");
	char *rel = malloc(LT_PATH_MAX);
	char *shown = malloc(LT_PATH_MAX);
	mode_t mask = umask(0);
	int r = -ENOMEM;
	if (!rel || !shown || !(x.a = archive_read_new())) {
		js_fail(err, ENOMEM, "out of memory");
		goto out;
	}
	/* tar only (ustar, pax, GNU), uncompressed: no other reader of
	 * libarchive's, no external decompressor is ever started */
	if (archive_read_support_format_tar(x.a) != ARCHIVE_OK ||
	    archive_read_open_fd(x.a, infd, 65536) != ARCHIVE_OK) {
		r = ar_fail(x.a, err, "cannot read", "the archive");
		goto out;
	}
	struct archive_entry *e;
	for (;;) {
		int h = archive_read_next_header(x.a, &e);
		if (h == ARCHIVE_EOF)
			break;
		if (h < ARCHIVE_WARN) {
			r = ar_fail(x.a, err, "refused: a bad header after",
				    st->entries ? "the last good entry" : "the start");
			goto out;
		}
		const char *name = archive_entry_pathname(e);
		snprintf(shown, LT_PATH_MAX, "%s", name ? name : "");
		const char *why = NULL;
		if (clean_name(name, rel, LT_PATH_MAX, &why) < 0) {
			r = js_fail(err, EINVAL, "refused: \"%s\" has %s", shown, why);
			goto out;
		}
		r = im_entry(&x, e, rel, shown);
		if (r < 0)
			goto out;
	}
	r = im_dir_times(&x);
out:
	umask(mask);
	if (x.a)
		archive_read_free(x.a);
	for (size_t i = 0; i < x.ndt; i++)
		free(x.dt[i].path);
	free(x.dt);
	free(rel);
	free(shown);
	return r;
}
