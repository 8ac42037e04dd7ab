/* SPDX-License-Identifier: MIT */
/* Rebase: a user's layer moved onto an updated image (rebase.h).
 *
 * Root (jsandboxctl rebase, or jsandbox-root at a container start after an
 * image change) makes a fresh layer beside the old one and forks a worker
 * that becomes the user, enters a user namespace with the container's maps
 * and a mount namespace of its own, and there, as the user's inside root:
 *   - mounts the overlay "idmapped new image + the fresh layer" and
 *     chroots into it (a symlink in either tree resolves inside it);
 *   - merges the dpkg database: for each package the newer of the user's
 *     and the image's version wins (the image's after a security update,
 *     the user's when they installed a newer one), the user's own packages
 *     and removals are kept; the user's copies of the files of a package
 *     the image now provides are left out, so the image's show through;
 *   - copies everything else of the old layer in (the user's files, /opt,
 *     /usr/local, their /etc changes, deletions as deletions), merging
 *     passwd/group/shadow/gshadow, dpkg's trigger lists and apt's
 *     auto-installed marks line by line;
 *   - writes what it did to /var/log/jsandbox-rebase.log in the layer.
 * It executes nothing: any program in the layer is the user's.
 * It reads the old layer only through an fd, one component at a time,
 * never following a link. Root then swaps the fresh layer in (or, on
 * failure, removes it: the old layer is untouched) and records the image
 * the layer is now on. */
#include "rebase.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "dpkg.h"
#include "fdpass.h"
#include "idmap.h"
#include "overlay.h"
#include "safefs.h"

#define REPORT_MAX   (256u << 10) /* what root keeps of the worker's report */
#define DEPTH_MAX    256	  /* deeper trees are not carried (reported) */
#define SMALL_MAX    (16u << 20)  /* passwd-like files merged in memory */
#define LOG_IN_LAYER "var/log/jsandbox-rebase.log"

void js_rebase_result_free(struct js_rebase_result *r)
{
	free(r->report);
	r->report = NULL;
}

/* ======================================================================
 * The worker: runs as the user's inside root; every path it touches is
 * reached from a directory fd, one component at a time, never through a
 * link.
 * ====================================================================== */

struct strset {
	char **v;
	size_t n, cap;
	bool sorted;
};

#define SET_MAX (4u << 20) /* paths; a layer's lists naming more are refused */

static int set_add(struct strset *s, const char *p, size_t len)
{
	if (s->n >= SET_MAX)
		return -E2BIG;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		char **v = realloc(s->v, cap * sizeof *v);
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	char *c = strndup(p, len);
	if (!c)
		return -ENOMEM;
	s->v[s->n++] = c;
	s->sorted = false;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool set_has(struct strset *s, const char *p)
{
	if (!s->n)
		return false;
	if (!s->sorted) {
		qsort(s->v, s->n, sizeof *s->v, cmp_str);
		s->sorted = true;
	}
	return bsearch(&p, s->v, s->n, sizeof *s->v, cmp_str) != NULL;
}

static void set_free(struct strset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof *s);
}

struct worker {
	int old;   /* the old layer's upper/ */
	int root;  /* the new view's "/" */
	int out;   /* the report, to root */
	bool dpkg; /* the old layer has its own dpkg status: merge it */
	struct js_dpkg_db os, ns;
	struct strset drop;	/* paths (relative) of files left out */
	struct strset conffile; /* conffiles of packages that follow the image */
	char *log;
	size_t loglen, logcap;
	unsigned counts[6];
};

enum { C_CARRIED, C_FOLLOWED, C_NEWER, C_NOT_CARRIED, C_PROBLEM, C_OTHER };
static const char *const tags[] = {"carried", "followed", "newer", "not-carried", "problem", "note"};

static void say(struct worker *w, int kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(struct worker *w, int kind, const char *fmt, ...)
{
	char line[1024];
	int n = snprintf(line, sizeof line, "%s ", tags[kind]);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	va_end(ap);
	for (char *c = line; *c; c++)
		if ((unsigned char)*c < ' ' || *c == 0x7f)
			*c = '?';
	strcat(line, "\n");
	size_t len = strlen(line);
	js_write_all(w->out, line, len);
	w->counts[kind]++;
	if (w->loglen + len + 1 > w->logcap) {
		size_t cap = (w->logcap ? w->logcap * 2 : 8192) + len;
		char *l = realloc(w->log, cap);
		if (!l)
			return;
		w->log = l;
		w->logcap = cap;
	}
	memcpy(w->log + w->loglen, line, len + 1);
	w->loglen += len;
}

/* A whole regular file under dirfd (never through a link), at most max
 * bytes; -ENOENT when absent. */
static int read_whole(int dirfd, const char *rel, size_t max, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	int fd = js_openat_beneath(dirfd, rel, O_RDONLY | O_NONBLOCK, 0);
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
		int e = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
		close(fd);
		return -e;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	ssize_t n = js_read_all(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n < 0) {
		free(buf);
		return (int)n;
	}
	buf[n] = '\0';
	*out = buf;
	*len = (size_t)n;
	return 0;
}

static bool exists_in(int dirfd, const char *rel)
{
	int fd = js_openat_beneath(dirfd, rel, O_PATH, 0);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static const char *const info_suffixes[] = {"list",   "md5sums", "conffiles", "postinst",  "preinst",
					    "postrm", "prerm",	 "config",    "templates", "triggers",
					    "shlibs", "symbols", "clilibs"};

/* The name dpkg gives a package's info files: PKG or PKG:ARCH. */
static void info_name(const struct js_dpkg_pkg *p, char *buf, size_t len)
{
	if (p->ma_same && p->arch[0])
		snprintf(buf, len, "%s:%s", p->name, p->arch);
	else
		snprintf(buf, len, "%s", p->name);
}

static bool layer_has_files_of(struct worker *w, const struct js_dpkg_pkg *p)
{
	char n[JS_DPKG_NAME_MAX + JS_DPKG_ARCH_MAX + 2], rel[PATH_MAX];
	info_name(p, n, sizeof n);
	snprintf(rel, sizeof rel, "var/lib/dpkg/info/%s.list", n);
	return exists_in(w->old, rel);
}

/* Leave out every file of package p in the layer: its info files, and the
 * paths of its file lists (the layer's own, from when the user's dpkg
 * wrote it, and the image's). */
static int drop_files_of(struct worker *w, const struct js_dpkg_pkg *op, const struct js_dpkg_pkg *np)
{
	char n[JS_DPKG_NAME_MAX + JS_DPKG_ARCH_MAX + 2], rel[PATH_MAX];
	const struct js_dpkg_pkg *pk[2] = {op, np};
	for (int k = 0; k < 2; k++) {
		info_name(pk[k], n, sizeof n);
		for (size_t i = 0; i < JS_ARRAY_SIZE(info_suffixes); i++) {
			snprintf(rel, sizeof rel, "var/lib/dpkg/info/%s.%s", n, info_suffixes[i]);
			if (set_add(&w->drop, rel, strlen(rel)) < 0)
				return -ENOMEM;
		}
		snprintf(rel, sizeof rel, "var/lib/dpkg/info/%s.list", n);
		int dirs[2] = {w->old, w->root};
		for (int d = 0; d < 2; d++) {
			char *text;
			size_t len;
			if (read_whole(dirs[d], rel, JS_DPKG_TEXT_MAX, &text, &len) < 0)
				continue;
			for (char *l = text; l && *l;) {
				char *nl = strchr(l, '\n');
				if (nl)
					*nl = '\0';
				while (*l == '/')
					l++;
				if (*l && set_add(&w->drop, l, strlen(l)) < 0) {
					free(text);
					return -ENOMEM;
				}
				l = nl ? nl + 1 : NULL;
			}
			free(text);
		}
	}
	return 0;
}

static void add_conffile(const char *path, size_t len, void *ctx)
{
	struct worker *w = ctx;
	while (len && *path == '/')
		path++, len--;
	if (len)
		(void)set_add(&w->conffile, path, len);
}

struct outbuf {
	char *s;
	size_t n, cap;
	bool oom;
};

static void out_add(struct outbuf *o, const char *s, size_t len)
{
	if (o->oom)
		return;
	if (o->n + len + 2 > o->cap) {
		size_t cap = (o->cap ? o->cap * 2 : 65536) + len;
		char *b = realloc(o->s, cap);
		if (!b) {
			o->oom = true;
			return;
		}
		o->s = b;
		o->cap = cap;
	}
	memcpy(o->s + o->n, s, len);
	o->n += len;
	o->s[o->n] = '\0';
}

static void out_stanza(struct outbuf *o, const struct js_dpkg_pkg *p)
{
	out_add(o, p->stanza, p->len);
	if (p->len && p->stanza[p->len - 1] != '\n')
		out_add(o, "\n", 1);
	out_add(o, "\n", 1);
}

/* Decide, package by package, and build the merged status. */
static int merge_status(struct worker *w, struct outbuf *o)
{
	/* keep[i]: the old stanza i is kept (instead of the image's, or as
	 * the user's own package) */
	bool *keep = calloc(w->os.n + 1, sizeof *keep);
	if (!keep)
		return -ENOMEM;
	for (size_t i = 0; i < w->os.n; i++) {
		const struct js_dpkg_pkg *op = &w->os.v[i];
		const struct js_dpkg_pkg *np = js_dpkg_find(&w->ns, op->name, op->arch);
		bool oi = js_dpkg_installed(op);
		if (!np) {
			if (!oi || layer_has_files_of(w, op)) {
				keep[i] = true;
				if (oi)
					say(w, C_CARRIED, "%s %s", op->name, op->version);
			} else {
				say(w, C_NOT_CARRIED, "%s %s: the image no longer has it (sudo apt-get install %s)",
				    op->name, op->version, op->name);
			}
			continue;
		}
		bool ni = js_dpkg_installed(np);
		if (!oi) {
			/* removed or purged by the user: stays so */
			keep[i] = true;
			if (ni)
				say(w, C_OTHER, "%s stays removed (the image has %s)", op->name, np->version);
			continue;
		}
		if (!ni) {
			keep[i] = layer_has_files_of(w, op);
			continue;
		}
		int c = js_dpkg_vercmp(op->version, np->version);
		if (c > 0) {
			keep[i] = true;
			say(w, C_NEWER, "%s %s kept (the image has %s)", op->name, op->version, np->version);
		} else if (c == 0) {
			keep[i] = true; /* the user's selections (holds) stay */
		} else {
			say(w, C_FOLLOWED, "%s %s -> %s", op->name, op->version, np->version);
			js_dpkg_conffiles(op, add_conffile, w);
			js_dpkg_conffiles(np, add_conffile, w);
			if (drop_files_of(w, op, np) < 0) {
				free(keep);
				return -ENOMEM;
			}
		}
	}
	for (size_t j = 0; j < w->ns.n; j++) {
		const struct js_dpkg_pkg *np = &w->ns.v[j];
		const struct js_dpkg_pkg *op = js_dpkg_find(&w->os, np->name, np->arch);
		if (op && keep[op - w->os.v])
			out_stanza(o, op);
		else
			out_stanza(o, np);
	}
	for (size_t i = 0; i < w->os.n; i++)
		if (keep[i] && !js_dpkg_find(&w->ns, w->os.v[i].name, w->os.v[i].arch))
			out_stanza(o, &w->os.v[i]);
	if (o->oom) {
		free(keep);
		return -ENOMEM;
	}
	/* The user's packages against the merged database: a relation the
	 * new image broke (an exact version of a library it updated) is what
	 * the user must repair; say which. */
	struct js_dpkg_db merged;
	char *copy = strndup(o->s ? o->s : "", o->n);
	if (copy && js_dpkg_parse(copy, o->n, &merged) == 0) {
		for (size_t i = 0; i < w->os.n; i++) {
			const struct js_dpkg_pkg *op = &w->os.v[i];
			if (!keep[i] || !js_dpkg_installed(op))
				continue;
			static const char *const rel[] = {"Pre-Depends", "Depends"};
			for (size_t k = 0; k < 2; k++) {
				char deps[8192], missing[256];
				if (js_dpkg_field(op, rel[k], deps, sizeof deps) > 0 &&
				    !js_dpkg_deps_met(&merged, deps, missing, sizeof missing))
					say(w, C_PROBLEM,
					    "%s %s: %s %s is not met on the new image (sudo apt-get -f install)",
					    op->name, op->version, k ? "depends on" : "pre-depends on", missing);
			}
		}
		js_dpkg_free(&merged);
	} else if (copy) {
		js_dpkg_free(&merged); /* the parse took the copy */
	}
	free(keep);
	return 0;
}

/* ---- writing into the new view ------------------------------------------- */

/* Write data as rel in the new view (temp file + rename), with the owner
 * and mode of `like` (a stat of the file it replaces or merges). */
static int put_file(struct worker *w, const char *rel, const char *data, size_t len, const struct stat *like)
{
	char dir[PATH_MAX];
	js_strlcpy(dir, rel, sizeof dir);
	char *slash = strrchr(dir, '/');
	const char *base = rel;
	int dfd;
	if (slash) {
		*slash = '\0';
		base = rel + (slash - dir) + 1;
		dfd = js_mkdir_beneath(w->root, dir, 0755, NULL);
	} else {
		dfd = fcntl(w->root, F_DUPFD_CLOEXEC, 3);
	}
	if (dfd < 0)
		return dfd;
	char tmp[NAME_MAX + 1];
	snprintf(tmp, sizeof tmp, ".jsandbox-rebase.%d", (int)getpid());
	unlinkat(dfd, tmp, 0);
	int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	int r = fd < 0 ? -errno : 0;
	if (r == 0 && js_write_all(fd, data, len) < 0)
		r = -EIO;
	if (r == 0 && (fchown(fd, like->st_uid, like->st_gid) < 0 || fchmod(fd, like->st_mode & 07777) < 0))
		r = -errno;
	if (fd >= 0)
		close(fd);
	if (r == 0 && renameat(dfd, tmp, dfd, base) < 0)
		r = -errno;
	if (r < 0)
		unlinkat(dfd, tmp, 0);
	close(dfd);
	return r;
}

/* old's lines added to the new view's file rel, after its own: passwd
 * and its kind by the first field (":"), others by the whole line. */
static int merge_lines(struct worker *w, const char *rel, bool by_name, const struct stat *ost)
{
	char *nt = NULL, *ot = NULL;
	size_t nl, ol;
	int r = read_whole(w->root, rel, SMALL_MAX, &nt, &nl);
	if (r < 0 && r != -ENOENT)
		return r;
	struct stat like = *ost;
	if (nt) {
		_cleanup_close_ int fd = js_openat_beneath(w->root, rel, O_PATH, 0);
		if (fd >= 0)
			fstat(fd, &like);
	}
	r = read_whole(w->old, rel, SMALL_MAX, &ot, &ol);
	if (r < 0) {
		free(nt);
		return r;
	}
	struct strset seen = {0};
	struct outbuf o = {0};
	out_add(&o, "", 0);
	for (char *l = nt; l && *l;) {
		char *e = strchr(l, '\n');
		size_t len = e ? (size_t)(e - l) : strlen(l);
		size_t key = by_name ? strcspn(l, ":\n") : len;
		if (len) {
			out_add(&o, l, len);
			out_add(&o, "\n", 1);
			(void)set_add(&seen, l, key);
		}
		l = e ? e + 1 : NULL;
	}
	unsigned added = 0;
	for (char *l = ot; l && *l;) {
		char *e = strchr(l, '\n');
		size_t len = e ? (size_t)(e - l) : strlen(l);
		size_t key = by_name ? strcspn(l, ":\n") : len;
		char k[4096];
		if (len && key < sizeof k) {
			memcpy(k, l, key);
			k[key] = '\0';
			if (!set_has(&seen, k)) {
				out_add(&o, l, len);
				out_add(&o, "\n", 1);
				added++;
			}
		}
		l = e ? e + 1 : NULL;
	}
	r = o.oom ? -ENOMEM : put_file(w, rel, o.s ? o.s : "", o.n, &like);
	free(o.s);
	set_free(&seen);
	free(nt);
	free(ot);
	return r;
}

/* apt's auto-installed marks: the user's, then the image's for packages
 * the user's file does not name. */
static int merge_extended_states(struct worker *w, const char *rel, const struct stat *ost)
{
	char *nt = NULL, *ot = NULL;
	size_t nl = 0, ol = 0;
	if (read_whole(w->old, rel, JS_DPKG_TEXT_MAX, &ot, &ol) < 0)
		return -EIO;
	(void)read_whole(w->root, rel, JS_DPKG_TEXT_MAX, &nt, &nl);
	struct js_dpkg_db a, b;
	int r = js_dpkg_parse(ot, ol, &a);
	int r2 = js_dpkg_parse(nt ? nt : strdup(""), nl, &b);
	struct outbuf o = {0};
	out_add(&o, "", 0);
	if (r == 0 && r2 == 0) {
		for (size_t i = 0; i < a.n; i++)
			out_stanza(&o, &a.v[i]);
		for (size_t i = 0; i < b.n; i++)
			if (!js_dpkg_find(&a, b.v[i].name, b.v[i].arch))
				out_stanza(&o, &b.v[i]);
		r = o.oom ? -ENOMEM : put_file(w, rel, o.s, o.n, ost);
	} else {
		r = -EINVAL;
	}
	js_dpkg_free(&a);
	js_dpkg_free(&b);
	free(o.s);
	return r;
}

/* ---- the copy ---------------------------------------------------------------- */

static bool is_one_of(const char *rel, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(rel, *list))
			return true;
	return false;
}

/* Files apt regenerates, and the backups of the merged ones: left out.
 * (The user's /etc/ld.so.cache is kept: it names the libraries of their
 * packages, and for the image's, updated in place under the same names,
 * its paths stay right; their next apt run rebuilds it. Nothing of the
 * layer or the image is executed here: the layer could have replaced any
 * program, and this worker is not a confined container.) */
static const char *const regenerated[] = {"var/cache/apt/pkgcache.bin",
					  "var/cache/apt/srcpkgcache.bin",
					  "etc/passwd-",
					  "etc/group-",
					  "etc/shadow-",
					  "etc/gshadow-",
					  LOG_IN_LAYER,
					  NULL};
static const char *const dpkg_own[] = {"var/lib/dpkg/status",
				       "var/lib/dpkg/status-old",
				       "var/lib/dpkg/available",
				       "var/lib/dpkg/available-old",
				       "var/lib/dpkg/lock",
				       "var/lib/dpkg/lock-frontend",
				       "var/lib/dpkg/triggers/Lock",
				       "var/lib/dpkg/triggers/Unincorp",
				       NULL};
static const char *const accounts[] = {"etc/passwd", "etc/group", "etc/shadow", "etc/gshadow", NULL};

/* Remove rel in the new view, whatever it is (a deletion the user made). */
static void remove_new(int newdir, const char *name)
{
	(void)js_remove_tree_at(newdir, name, NULL);
}

static void copy_xattrs(int from, int to, const char *rel, struct worker *w)
{
	char names[8192];
	ssize_t n = flistxattr(from, names, sizeof names);
	for (ssize_t i = 0; i > -1 && i < n; i += (ssize_t)strlen(names + i) + 1) {
		const char *x = names + i;
		/* overlayfs' own attributes describe the old layer, not this one */
		if (!strncmp(x, "user.overlay.", 13) || !strncmp(x, "trusted.", 8))
			continue;
		char val[65536];
		ssize_t vl = fgetxattr(from, x, val, sizeof val);
		if (vl < 0 || fsetxattr(to, x, val, (size_t)vl, 0) < 0)
			say(w, C_NOT_CARRIED, "/%s: extended attribute %s", rel, x);
	}
}

static int copy_data(int in, int out)
{
	for (;;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
		if (n == 0)
			return 0;
		if (n > 0)
			continue;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != EOPNOTSUPP && errno != ENOSYS)
			return -errno;
		break;
	}
	char buf[65536];
	for (;;) {
		ssize_t n = read(in, buf, sizeof buf);
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (js_write_all(out, buf, (size_t)n) < 0)
			return -EIO;
	}
}

static bool same_content(int a, int b)
{
	struct stat sa, sb;
	if (fstat(a, &sa) < 0 || fstat(b, &sb) < 0 || sa.st_size != sb.st_size)
		return false;
	char x[32768], y[32768];
	for (;;) {
		ssize_t n = js_read_all(a, x, sizeof x);
		ssize_t m = js_read_all(b, y, sizeof y);
		if (n != m || n < 0)
			return false;
		if (n == 0)
			return true;
		if (memcmp(x, y, (size_t)n))
			return false;
	}
}

static int copy_tree(struct worker *w, int odir, int ndir, char *rel, size_t rlen, int depth);

static void copy_entry(struct worker *w, int odir, int ndir, const char *name, char *rel, size_t rlen, int depth)
{
	struct stat st;
	if (fstatat(odir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	/* a whiteout: the user deleted it. But not a file of a package that
	 * follows the image (the new version's file shows; such whiteouts are
	 * mostly the user's dpkg removing what an older version had), except
	 * a conffile, whose deletion dpkg itself respects. */
	if (S_ISCHR(st.st_mode) && st.st_rdev == 0) {
		if (!set_has(&w->drop, rel) || set_has(&w->conffile, rel))
			remove_new(ndir, name);
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		if (depth >= DEPTH_MAX) {
			say(w, C_NOT_CARRIED, "/%s: deeper than %d directories", rel, DEPTH_MAX);
			return;
		}
		_cleanup_close_ int od = openat(odir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (od < 0)
			return;
		struct stat nst;
		if (fstatat(ndir, name, &nst, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(nst.st_mode))
			remove_new(ndir, name);
		char opaque[4];
		ssize_t ol = fgetxattr(od, "user.overlay.opaque", opaque, sizeof opaque);
		if (ol == 1 && opaque[0] == 'y')
			remove_new(ndir, name); /* the image's contents there stay hidden */
		if (mkdirat(ndir, name, 0700) < 0 && errno != EEXIST) {
			say(w, C_NOT_CARRIED, "/%s: %s", rel, strerror(errno));
			return;
		}
		_cleanup_close_ int nd = openat(ndir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nd < 0) {
			say(w, C_NOT_CARRIED, "/%s: %s", rel, strerror(errno));
			return;
		}
		copy_tree(w, od, nd, rel, rlen, depth + 1);
		if (fchown(nd, st.st_uid, st.st_gid) < 0 || fchmod(nd, st.st_mode & 07777) < 0)
			say(w, C_NOT_CARRIED, "/%s: owner or mode: %s", rel, strerror(errno));
		copy_xattrs(od, nd, rel, w);
		struct timespec t[2] = {st.st_atim, st.st_mtim};
		futimens(nd, t);
		return;
	}
	if (set_has(&w->drop, rel) && !set_has(&w->conffile, rel))
		return; /* the image's version shows through */
	if (S_ISREG(st.st_mode)) {
		_cleanup_close_ int in = openat(odir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (in < 0)
			return;
		if (set_has(&w->conffile, rel)) {
			_cleanup_close_ int img = openat(ndir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
			if (img >= 0 && same_content(in, img))
				return;
			say(w, C_OTHER, "/%s: your changed configuration file is kept (the package's is new)", rel);
			lseek(in, 0, SEEK_SET);
		}
		remove_new(ndir, name);
		_cleanup_close_ int out =
		    openat(ndir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (out < 0 || copy_data(in, out) < 0 || fchown(out, st.st_uid, st.st_gid) < 0 ||
		    fchmod(out, st.st_mode & 07777) < 0) {
			say(w, C_NOT_CARRIED, "/%s: %s", rel, strerror(errno));
			return;
		}
		copy_xattrs(in, out, rel, w);
		struct timespec t[2] = {st.st_atim, st.st_mtim};
		futimens(out, t);
		return;
	}
	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(odir, name, target, sizeof target - 1);
		if (n < 0)
			return;
		target[n] = '\0';
		remove_new(ndir, name);
		if (symlinkat(target, ndir, name) < 0 ||
		    fchownat(ndir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0) {
			say(w, C_NOT_CARRIED, "/%s: %s", rel, strerror(errno));
			return;
		}
		struct timespec t[2] = {st.st_atim, st.st_mtim};
		utimensat(ndir, name, t, AT_SYMLINK_NOFOLLOW);
		return;
	}
	if (S_ISFIFO(st.st_mode)) {
		remove_new(ndir, name);
		if (mknodat(ndir, name, S_IFIFO | (st.st_mode & 07777), 0) < 0 ||
		    fchownat(ndir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
		    fchmodat(ndir, name, st.st_mode & 07777, 0) < 0) {
			say(w, C_NOT_CARRIED, "/%s: %s", rel, strerror(errno));
			return;
		}
		struct timespec t[2] = {st.st_atim, st.st_mtim};
		utimensat(ndir, name, t, AT_SYMLINK_NOFOLLOW);
		return;
	}
	say(w, C_NOT_CARRIED, "/%s: a socket or device", rel);
}

static int copy_tree(struct worker *w, int odir, int ndir, char *rel, size_t rlen, int depth)
{
	int dup = fcntl(odir, F_DUPFD_CLOEXEC, 3);
	DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
	if (!d) {
		if (dup >= 0)
			close(dup);
		say(w, C_NOT_CARRIED, "/%s: cannot read the directory", rel);
		return -EIO;
	}
	size_t base = strlen(rel);
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		if (!strcmp(n, ".") || !strcmp(n, ".."))
			continue;
		if (base + strlen(n) + 2 > rlen) {
			say(w, C_NOT_CARRIED, "/%s/...: path too long", rel);
			continue;
		}
		snprintf(rel + base, rlen - base, "%s%s", base ? "/" : "", n);
		if (is_one_of(rel, regenerated) || (w->dpkg && is_one_of(rel, dpkg_own))) {
			rel[base] = '\0';
			continue;
		}
		struct stat st;
		bool reg = fstatat(odir, n, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
		int r = 0;
		if (reg && is_one_of(rel, accounts))
			r = merge_lines(w, rel, true, &st);
		else if (reg && w->dpkg && !strncmp(rel, "var/lib/dpkg/triggers/", 22))
			r = merge_lines(w, rel, false, &st);
		else if (reg && w->dpkg && !strcmp(rel, "var/lib/apt/extended_states"))
			r = merge_extended_states(w, rel, &st);
		else
			copy_entry(w, odir, ndir, n, rel, rlen, depth);
		if (r < 0)
			say(w, C_NOT_CARRIED, "/%s: %s", rel, strerror(-r));
		rel[base] = '\0';
	}
	closedir(d);
	return 0;
}

static void fail_out(int out, const char *what, int e) __attribute__((noreturn));
static void fail_out(int out, const char *what, int e)
{
	char line[600];
	int n = snprintf(line, sizeof line, "error %s%s%s\n", what, e ? ": " : "", e ? strerror(e) : "");
	if (n > 0)
		js_write_all(out, line, (size_t)n);
	_exit(2);
}

static int move_to(int tree, const char *path)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (syscall(SYS_move_mount, tree, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return -errno;
	return 0;
}

#define SCRATCH "/tmp"

static void worker_main(int sock, int oldfd, int out, const struct js_user *u) __attribute__((noreturn));
static void worker_main(int sock, int oldfd, int out, const struct js_user *u)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	umask(0); /* modes are copied as they are */
	int keep[3] = {sock, oldfd, out};
	js_close_fds_from(3, keep, 3);
	/* The user, then a user namespace of the user's own: root maps it as
	 * the container's (inside root = the first subordinate id). */
	if (setgroups(0, NULL) < 0 || setresgid(u->gid, u->gid, u->gid) < 0 || setresuid(u->uid, u->uid, u->uid) < 0)
		fail_out(out, "cannot become the user", errno);
	if (unshare(CLONE_NEWUSER) < 0)
		fail_out(out, "cannot make a user namespace", errno);
	char ready = 'u';
	if (write(sock, &ready, 1) != 1)
		_exit(3);
	int fds[2] = {-1, -1};
	size_t nfds = 2;
	char msg;
	if (js_recv_msg(sock, &msg, 1, fds, &nfds) != 1 || nfds != 2 || msg != 'm')
		_exit(3);
	int tree = fds[0], layer = fds[1];
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0 || setgroups(0, NULL) < 0)
		fail_out(out, "cannot become root in the user namespace", errno);
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		fail_out(out, "cannot make a mount namespace", errno);
	if (mount("tmpfs", SCRATCH, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700,size=64k") < 0)
		fail_out(out, "cannot mount a scratch tmpfs", errno);
	int r = move_to(tree, SCRATCH "/l");
	if (r == 0)
		r = move_to(layer, SCRATCH "/y");
	if (r < 0)
		fail_out(out, "cannot attach the image and the new layer", -r);
	if (mkdir(SCRATCH "/r", 0755) < 0)
		fail_out(out, "mkdir", errno);
	struct js_err err = {0};
	if (js_overlay_mount(SCRATCH "/l", SCRATCH "/y/upper", SCRATCH "/y/work", SCRATCH "/r", JS_OVL_LOWER_AUTO, NULL,
			     &err) < 0)
		fail_out(out, err.msg, 0);
	struct worker w = {.old = oldfd, .out = out};
	w.root = open(SCRATCH "/r", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w.root < 0)
		fail_out(out, "cannot open the new view", errno);

	/* the dpkg databases: the user's (if they ran dpkg) and the image's */
	char *text;
	size_t len;
	r = read_whole(oldfd, "var/lib/dpkg/status", JS_DPKG_TEXT_MAX, &text, &len);
	if (r == 0) {
		w.dpkg = true;
		if (js_dpkg_parse(text, len, &w.os) < 0)
			fail_out(out, "your /var/lib/dpkg/status cannot be read (malformed)", 0);
		r = read_whole(w.root, "var/lib/dpkg/status", JS_DPKG_TEXT_MAX, &text, &len);
		if (r < 0)
			fail_out(out, "the image has no readable /var/lib/dpkg/status", -r);
		if (js_dpkg_parse(text, len, &w.ns) < 0)
			fail_out(out, "the image's /var/lib/dpkg/status cannot be read", 0);
	} else if (r != -ENOENT) {
		fail_out(out, "your /var/lib/dpkg/status cannot be read", -r);
	}
	struct outbuf status = {0};
	if (w.dpkg && merge_status(&w, &status) < 0)
		fail_out(out, "cannot merge the dpkg status (out of memory, or file lists naming more than 4M paths)",
			 0);

	char rel[PATH_MAX] = "";
	copy_tree(&w, oldfd, w.root, rel, sizeof rel, 0);
	if (w.dpkg) {
		struct stat like;
		if (fstatat(w.root, "var/lib/dpkg/status", &like, AT_SYMLINK_NOFOLLOW) < 0) {
			memset(&like, 0, sizeof like);
			like.st_mode = 0644;
		}
		r = put_file(&w, "var/lib/dpkg/status", status.s ? status.s : "", status.n, &like);
		if (r < 0)
			fail_out(out, "cannot write the merged dpkg status", -r);
	}

	/* what happened, for the user, in their layer */
	struct stat like = {.st_mode = 0644};
	char head[256];
	snprintf(head, sizeof head,
		 "# jsandbox: this layer was moved onto an updated image. carried, followed, newer, not-carried, "
		 "problem and note lines follow.\n");
	struct outbuf lg = {0};
	out_add(&lg, head, strlen(head));
	if (w.log)
		out_add(&lg, w.log, w.loglen);
	if (!lg.oom)
		(void)put_file(&w, LOG_IN_LAYER, lg.s, lg.n, &like);
	_exit(0);
}

/* ======================================================================
 * Root's side.
 * ====================================================================== */

int js_layer_behind(const struct js_global *g, int state, const struct js_user *u, const char *image,
		    struct js_layer_base *b, char *id, size_t idlen)
{
	_cleanup_close_ int images = js_open_trusted_dir(g->images_dir, false, NULL);
	if (images < 0)
		return images;
	int r = js_image_id(images, image, id, idlen);
	if (r < 0)
		return r;
	r = js_layer_base_read(state, u->name, b);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	return strcmp(b->image, image) != 0 || strcmp(b->id, id) != 0;
}

static void absorb_report(struct js_rebase_result *res, const char *buf, size_t n, char *last_error, size_t elen)
{
	free(res->report);
	res->report = strndup(buf, n);
	for (const char *l = buf; l && l < buf + n;) {
		const char *e = memchr(l, '\n', (size_t)(buf + n - l));
		size_t len = e ? (size_t)(e - l) : (size_t)(buf + n - l);
		if (len > 8 && !strncmp(l, "carried ", 8))
			res->carried++;
		else if (len > 9 && !strncmp(l, "followed ", 9))
			res->followed++;
		else if (len > 6 && !strncmp(l, "newer ", 6))
			res->kept_newer++;
		else if (len > 12 && !strncmp(l, "not-carried ", 12))
			res->not_carried++;
		else if (len > 8 && !strncmp(l, "problem ", 8))
			res->problems++;
		else if (len > 6 && !strncmp(l, "error ", 6))
			snprintf(last_error, elen, "%.*s", (int)(len - 6), l + 6);
		l = e ? e + 1 : NULL;
	}
}

/* Fork the worker, give it its namespace's maps and the two mounts, and
 * collect its report. 0 when it finished, else -errno with err set. */
static int run_worker(const struct js_user *u, const struct js_subid *su, const struct js_subid *sg, int img, int oldup,
		      int layer_root, struct js_rebase_result *res, struct js_err *err)
{
	int sv[2], rp[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return js_failm(err, errno, "socketpair");
	if (pipe2(rp, O_CLOEXEC) < 0) {
		close(sv[0]);
		close(sv[1]);
		return js_failm(err, errno, "pipe");
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(sv[0]), close(sv[1]), close(rp[0]), close(rp[1]);
		return js_failm(err, e, "fork");
	}
	if (pid == 0) {
		close(sv[0]);
		close(rp[0]);
		worker_main(sv[1], oldup, rp[1], u);
	}
	close(sv[1]);
	close(rp[1]);
	_cleanup_close_ int sock = sv[0];
	_cleanup_close_ int rep = rp[0];
	int r = 0;
	char c;
	if (read(sock, &c, 1) != 1 || c != 'u')
		r = js_fail(err, EPROTO, "the rebase worker did not start");
	if (r == 0)
		r = js_container_write_maps(pid, u, su, sg, err);
	_cleanup_close_ int tree = -1;
	if (r == 0)
		r = tree = js_container_idmapped_image(img, pid, err);
	if (r >= 0) {
		int fds[2] = {tree, layer_root};
		char m = 'm';
		r = js_send_msg(sock, &m, 1, fds, 2);
		if (r < 0)
			js_failm(err, -r, "cannot hand the rebase worker its mounts");
	}
	if (r < 0)
		kill(pid, SIGKILL);
	/* its report, until it ends */
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	for (;;) {
		char chunk[8192];
		ssize_t k = read(rep, chunk, sizeof chunk);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		if (!buf || n + (size_t)k > REPORT_MAX)
			continue; /* keep reading: the worker must not block */
		if (n + (size_t)k > cap) {
			char *b = realloc(buf, cap * 2);
			if (!b)
				continue;
			buf = b;
			cap *= 2;
		}
		memcpy(buf + n, chunk, (size_t)k);
		n += (size_t)k;
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	char last_error[512] = "";
	if (buf)
		absorb_report(res, buf, n, last_error, sizeof last_error);
	free(buf);
	if (r < 0)
		return r;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return js_fail(err, EIO, "the rebase of %s's layer failed: %s", u->name,
			       last_error[0]	     ? last_error
			       : WIFSIGNALED(status) ? "the worker was killed"
						     : "the worker failed");
	return 0;
}

int js_rebase_layer(const struct js_global *g, const struct js_user *u, const char *image, uint64_t disk_max,
		    bool force, int state, int users, struct js_rebase_result *res, struct js_err *err)
{
	memset(res, 0, sizeof *res);
	int r = js_check_name("image name", image, JS_NAME_LEN_MAX, err);
	if (r < 0)
		return r;
	_cleanup_close_ int images = js_open_trusted_dir(g->images_dir, false, err);
	if (images < 0)
		return images;
	_cleanup_close_ int img = openat(images, image, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (img < 0)
		return js_failm(err, errno, "image \"%s\" under \"%s\"", image, g->images_dir);
	struct stat ist;
	if (fstat(img, &ist) < 0 || ist.st_uid != 0 || (ist.st_mode & 022))
		return js_fail(err, EPERM, "image \"%s\" is not a root-owned directory", image);
	r = js_image_id(images, image, res->to, sizeof res->to);
	if (r < 0)
		return js_fail(err, -r, "image \"%s\" has no id in its metadata (%s/.%s.info)", image, g->images_dir,
			       image);
	struct js_layer_base base;
	bool recorded = js_layer_base_read(state, u->name, &base) == 0;
	if (recorded)
		js_strlcpy(res->from, base.id, sizeof res->from);
	struct js_layer_base now;
	memset(&now, 0, sizeof now);
	js_strlcpy(now.image, image, sizeof now.image);
	js_strlcpy(now.id, res->to, sizeof now.id);

	_cleanup_close_ int oldup = js_layer_open_upper(g->state_dir, u->name, NULL);
	if (oldup < 0)
		return js_layer_base_write(state, u->name, &now, err); /* no layer: nothing to carry */
	if (!force && recorded && !strcmp(base.image, image) && !strcmp(base.id, res->to))
		return 0;

	struct js_subid su, sg;
	struct js_idmap um, gm;
	r = js_container_idmaps(u, &su, &sg, &um, &gm, err);
	if (r < 0)
		return r;
	struct stat ust;
	if (fstat(oldup, &ust) < 0)
		return js_failm(err, errno, "%s's layer", u->name);
	if (ust.st_uid != su.start || ust.st_gid != sg.start)
		return js_fail(err, ERANGE,
			       "%s's layer belongs to the subordinate ids %u:%u, but /etc/subuid and /etc/subgid give "
			       "%u:%u now",
			       u->name, (unsigned)ust.st_uid, (unsigned)ust.st_gid, su.start, sg.start);

	char tmp[NAME_MAX];
	if (js_snprintf(tmp, sizeof tmp, ".%s.rebase", u->name) < 0)
		return js_fail(err, ENAMETOOLONG, "user name too long");
	(void)js_layer_remove(state, users, tmp, NULL); /* a rebase killed midway */
	_cleanup_close_ int up = js_layer_make_fresh(state, users, disk_max, tmp, u->uid, su.start, sg.start, err);
	if (up < 0)
		return up;
	_cleanup_close_ int lroot = openat(up, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
	/* An image file's file system: a detached mount of its own, as an
	 * init gets (the one behind `up` is no longer in any namespace: it
	 * can be neither moved nor cloned). Other kinds: a clone of the
	 * directory holding upper/ and work/. */
	_cleanup_close_ int clone = js_layer_image_mount(state, tmp, err);
	if (clone == -ENOENT) {
		clone = lroot < 0 ? -1
				  : (int)syscall(SYS_open_tree, lroot, "",
						 OPEN_TREE_CLOEXEC | OPEN_TREE_CLONE | AT_EMPTY_PATH);
		if (clone < 0)
			r = js_failm(err, errno, "cannot clone %s's new layer's mount", u->name);
	} else if (clone < 0) {
		r = clone;
	}
	if (r == 0) {
		struct mount_attr attr = {.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};
		if (syscall(SYS_mount_setattr, clone, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
			r = js_failm(err, errno, "cannot restrict %s's new layer's mount", u->name);
	}
	if (r == 0)
		r = run_worker(u, &su, &sg, img, oldup, clone, res, err);
	if (r == 0 && syncfs(up) < 0)
		r = js_failm(err, errno, "cannot write %s's new layer out", u->name);
	close(clone);
	clone = -1;
	close(up);
	up = -1;
	close(oldup);
	oldup = -1;
	if (r < 0) {
		(void)js_layer_remove(state, users, tmp, NULL);
		return r;
	}
	r = js_layer_swap_in(state, users, tmp, u->name, err);
	if (r < 0)
		return r;
	res->done = true;
	return js_layer_base_write(state, u->name, &now, err);
}
