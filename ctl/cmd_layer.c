/* SPDX-License-Identifier: MIT */
/* The user's layer as the admin sees it (lib/layer.h): its bound in
 * jsandboxctl check, its use in jsandboxctl status, and jsandboxctl du USER,
 * the biggest directories in it.
 *
 * du reads a tree the user controls as root: every directory is opened
 * with openat(O_DIRECTORY|O_NOFOLLOW) from its parent's fd, entries are
 * lstat'ed (fstatat AT_SYMLINK_NOFOLLOW), nothing crosses onto another
 * file system, and names are printed with anything unprintable escaped. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "container.h"
#include "ctl.h"
#include "layer.h"
#include "layer_tar.h"
#include "safefs.h"

#define DU_DEPTH_MAX  128 /* deeper directories are counted as not walked */
#define DU_SHOW_DEPTH 4	  /* directories listed: down to /a/b/c/d */
#define DU_TOP	      20

/* "12.3M" */
static void human(uint64_t v, char *buf, size_t len)
{
	const char *u = "BKMGTP";
	double d = (double)v;
	while (d >= 1024 && u[1]) {
		d /= 1024;
		u++;
	}
	if (*u == 'B')
		snprintf(buf, len, "%" PRIu64 "B", v);
	else
		snprintf(buf, len, "%.1f%c", d, *u);
}

void ctl_layer_format(const struct js_layer_usage *l, char *buf, size_t len)
{
	struct js_layer_usage lu = *l;
	if (lu.kind == JS_LAYER_NONE) {
		snprintf(buf, len, "-");
		return;
	}
	char used[16] = "?", lim[16];
	if (lu.used_known)
		human(lu.used, used, sizeof used);
	if (!lu.limit) {
		snprintf(buf, len, "%s/unbounded(%s)", used, js_layer_kind_name(lu.kind));
		return;
	}
	human(lu.limit, lim, sizeof lim);
	snprintf(buf, len, "%s/%s(%s)", used, lim, js_layer_kind_name(lu.kind));
}

/* The file system state_dir is on, or will be on once made: its nearest
 * existing ancestor. */
static int open_state_fs(const char *state_dir)
{
	char p[PATH_MAX];
	if (js_strlcpy(p, state_dir, sizeof p) < 0)
		return -ENAMETOOLONG;
	for (;;) {
		int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT)
			return fd < 0 ? -errno : fd;
		char *s = strrchr(p, '/');
		if (!s || s == p)
			return open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		*s = '\0';
	}
}

void ctl_check_layers(struct ctl_check *ck)
{
	_cleanup_free_ struct js_policy *p = malloc(sizeof *p);
	if (!p)
		return;
	if (!ck->root) {
		ctl_check_skipped(ck, "not root: the layers' bound (disk_max) on \"%s\" not checked", ck->g->state_dir);
		return;
	}
	_cleanup_close_ int fd = open_state_fs(ck->g->state_dir);
	if (fd < 0)
		return;
	char why[256];
	int m = js_layer_mechanism(fd, why, sizeof why);
	ctl_error("note: disk_max on state_dir \"%s\": %s", ck->g->state_dir, why);
	if (m >= 0)
		return;
	bool saw_default = false;
	size_t n = js_config_nsections(ck->c);
	for (size_t i = 0; i <= n; i++) {
		/* [default] last if the file has none: the built-in default. */
		const char *sec = i < n ? js_config_section(ck->c, i) : (saw_default ? NULL : "default");
		if (!sec)
			continue;
		if (!strcmp(sec, "default"))
			saw_default = true;
		char pw[512], origin[JS_ORIGIN_MAX + 4];
		snprintf(origin, sizeof origin, "[%s]", sec);
		if (ctl_section_policy(ck->c, sec, p, pw, sizeof pw) != 0 || !p->sandbox || p->disk_max.max ||
		    strcmp(p->origin[JS_KEY_DISK_MAX], origin) != 0)
			continue;
		ctl_problem(ck,
			    "%s disk_max: cannot be enforced on state_dir \"%s\" (%s): the logins it applies to are "
			    "refused",
			    origin, ck->g->state_dir, why);
	}
}

/* ---- du ------------------------------------------------------------------ */

struct du_dir {
	char *path;
	uint64_t bytes;
};

struct du {
	dev_t dev;
	struct du_dir *v;
	size_t n, cap;
	uint64_t not_walked; /* directories deeper than DU_DEPTH_MAX */
	char path[PATH_MAX];
};

static void du_note(struct du *d, uint64_t bytes)
{
	if (d->n == d->cap) {
		size_t nc = d->cap ? d->cap * 2 : 256;
		struct du_dir *nv = realloc(d->v, nc * sizeof *nv);
		if (!nv)
			return;
		d->v = nv;
		d->cap = nc;
	}
	char *s = strdup(d->path[0] ? d->path : "/");
	if (!s)
		return;
	d->v[d->n++] = (struct du_dir){.path = s, .bytes = bytes};
}

/* Bytes allocated under dfd (a directory of the layer, its own blocks
 * included by the caller). */
static uint64_t du_walk(struct du *d, int dfd, int depth)
{
	uint64_t total = 0;
	int dup = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
	if (dup < 0)
		return 0;
	_cleanup_closedir_ DIR *dir = fdopendir(dup);
	if (!dir) {
		close(dup);
		return 0;
	}
	struct dirent *e;
	while ((e = readdir(dir))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != d->dev)
			continue;
		uint64_t bytes = (uint64_t)st.st_blocks * 512;
		if (S_ISDIR(st.st_mode)) {
			if (depth >= DU_DEPTH_MAX) {
				d->not_walked++;
			} else {
				_cleanup_close_ int sub =
				    openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
				if (sub < 0)
					sub = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (sub >= 0) {
					size_t l = strlen(d->path);
					if (l + 1 + strlen(e->d_name) < sizeof d->path) {
						d->path[l] = '/';
						strcpy(d->path + l + 1, e->d_name);
						bytes += du_walk(d, sub, depth + 1);
						if (depth < DU_SHOW_DEPTH)
							du_note(d, bytes);
						d->path[l] = '\0';
					} else {
						d->not_walked++;
					}
				}
			}
		}
		total += bytes;
	}
	return total;
}

static int du_cmp(const void *a, const void *b)
{
	const struct du_dir *x = a, *y = b;
	return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : strcmp(x->path, y->path);
}

/* A name from the user's layer, printed so that no byte of it can forge a
 * line or a terminal sequence. */
static void print_escaped(const char *s)
{
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c < 0x20 || *c >= 0x7f || *c == '\\')
			printf("\\%03o", *c);
		else
			putchar(*c);
	}
}

int cmd_du(int argc, char **argv, const struct js_config *c)
{
	struct js_user u;
	int r = ctl_parse_one_user(argc, argv, &u);
	if (r >= 0)
		return r;
	const struct js_global *g = js_config_global(c);
	struct js_err err = {0};
	_cleanup_close_ int up = js_layer_open_upper(g->state_dir, u.name, &err);
	if (up < 0) {
		ctl_error_js(&err, "du %s", u.name);
		return CTL_EXIT_FAIL;
	}
	struct stat st;
	if (fstat(up, &st) < 0) {
		ctl_errorm(errno, "du %s", u.name);
		return CTL_EXIT_FAIL;
	}
	struct du d = {.dev = st.st_dev};
	uint64_t total = du_walk(&d, up, 0) + (uint64_t)st.st_blocks * 512;
	qsort(d.v, d.n, sizeof *d.v, du_cmp);
	char h[16];
	human(total, h, sizeof h);
	printf("%8s  (all of %s's layer)\n", h, u.name);
	for (size_t i = 0; i < d.n && i < DU_TOP; i++) {
		human(d.v[i].bytes, h, sizeof h);
		printf("%8s  ", h);
		print_escaped(d.v[i].path);
		putchar('\n');
	}
	if (d.not_walked)
		printf("(%" PRIu64 " directories deeper than %d levels not counted)\n", d.not_walked, DU_DEPTH_MAX);
	for (size_t i = 0; i < d.n; i++)
		free(d.v[i].path);
	free(d.v);
	return CTL_EXIT_OK;
}

/* ---- layer export / import, reset --keep-backup -------------------------- */

/* The container's maps for u, and its subordinate ranges. */
static int layer_maps(const struct js_user *u, struct lt_maps *m, struct js_subid *su, struct js_subid *sg,
		      struct js_err *err)
{
	return js_container_idmaps(u, su, sg, &m->uid, &m->gid, err);
}

static void report_stats(const char *verb, const struct js_user *u, const struct lt_stats *st, const char *where)
{
	fprintf(stderr,
		"%s: %s %s's layer: %" PRIu64 " entries, %" PRIu64 " bytes of data, %" PRIu64 " whiteouts, %" PRIu64
		" file capabilities (%s)\n",
		CTL_PROG, verb, u->name, st->entries, st->bytes, st->whiteouts, st->caps, where);
	if (st->unmapped)
		ctl_error("note: %" PRIu64
			  " entries are owned by ids outside %s's map (nobody inside): stored as 65534",
			  st->unmapped, u->name);
	if (st->skipped)
		ctl_error("note: %" PRIu64 " entries left out (sockets, changed while read, other file systems), the "
			  "first: %s",
			  st->skipped, st->first_skipped);
	if (st->xattrs_dropped)
		ctl_error("note: %" PRIu64 " extended attributes left out (only user.*, security.capability and ACLs "
			  "are carried), the first: %s",
			  st->xattrs_dropped, st->first_dropped);
}

/* Export u's layer (upper/ of whatever kind) to outfd. Refused when the
 * layer's files belong to another subordinate range than the one the
 * files say (the range changed since): its ids would be misread. */
static int layer_export_fd(const struct js_global *g, const struct js_user *u, int outfd, struct lt_stats *st,
			   struct js_err *err)
{
	struct lt_maps m;
	struct js_subid su, sg;
	int r = layer_maps(u, &m, &su, &sg, err);
	if (r < 0)
		return r;
	_cleanup_close_ int up = js_layer_open_upper(g->state_dir, u->name, err);
	if (up < 0)
		return up;
	struct stat s;
	if (fstat(up, &s) < 0)
		return js_failm(err, errno, "%s's layer", u->name);
	if (s.st_uid != su.start || s.st_gid != sg.start)
		return js_fail(err, ERANGE,
			       "%s's layer belongs to the subordinate ids %u:%u, but /etc/subuid and /etc/subgid give "
			       "%u:%u now: its owners would be misread (export before changing the range)",
			       u->name, (unsigned)s.st_uid, (unsigned)s.st_gid, su.start, sg.start);
	return lt_export(up, outfd, &m, st, err);
}

/* Open FILE for an export: "-" is standard output (not a terminal); a file
 * must not exist (O_EXCL, and never through a final symlink). */
static int open_export(const char *file, bool *made)
{
	*made = false;
	if (!strcmp(file, "-")) {
		if (isatty(1)) {
			ctl_error("layer export: standard output is a terminal: redirect it, or name a FILE");
			return -ENOTTY;
		}
		return 1;
	}
	int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		ctl_errorm(e, "layer export: \"%s\"%s", file, e == EEXIST ? " (it must not exist)" : "");
		return -e;
	}
	*made = true;
	return fd;
}

static int export_to(const struct js_global *g, const struct js_user *u, const char *file, int fd, bool made,
		     struct js_err *err)
{
	struct lt_stats st;
	int r = layer_export_fd(g, u, fd, &st, err);
	if (r >= 0 && made && fsync(fd) < 0)
		r = js_failm(err, errno, "\"%s\"", file);
	if (r < 0) {
		if (made)
			unlink(file);
		return r;
	}
	report_stats("exported", u, &st, file);
	return 0;
}

static int layer_export(int argc, char **argv, const struct js_config *c)
{
	if (argc != 3)
		return ctl_usage_error("layer export: expected USER FILE (or - for standard output)");
	struct js_user u;
	if (ctl_lookup_user(argv[1], &u) < 0)
		return CTL_EXIT_FAIL;
	bool made;
	int fd = open_export(argv[2], &made);
	if (fd < 0)
		return CTL_EXIT_FAIL;
	struct js_err err = {0};
	char q[600];
	int r = export_to(js_config_global(c), &u, argv[2], fd, made, &err);
	if (made)
		close(fd);
	if (r < 0) {
		ctl_error_js(&err, "layer export %s", u.name);
		ctl_log(LOG_ERR, "layer-export", "user=%s result=failed reason=%s", u.name,
			ctl_q(err.msg, q, sizeof q));
		return CTL_EXIT_FAIL;
	}
	ctl_log(LOG_NOTICE, "layer-export", "user=%s file=%s result=ok", u.name, ctl_q(argv[2], q, sizeof q));
	return CTL_EXIT_OK;
}

struct import_arg {
	int infd;
	uint64_t disk_max;
	struct lt_stats st;
};

/* Under u's lock, no container: a fresh layer filled from the archive,
 * then swapped in; any failure removes the fresh one and keeps the old. */
static int import_fn(const struct js_global *g, const struct js_user *u, int state, int users, void *arg,
		     struct js_err *err)
{
	(void)g;
	struct import_arg *ia = arg;
	struct lt_maps m;
	struct js_subid su, sg;
	int r = layer_maps(u, &m, &su, &sg, err);
	if (r < 0)
		return r;
	/* No user name starts with a dot: never another user's layer. */
	char tmp[NAME_MAX];
	if (js_snprintf(tmp, sizeof tmp, ".%s.import", u->name) < 0)
		return js_fail(err, ENAMETOOLONG, "user name too long");
	int up = js_layer_make_fresh(state, users, ia->disk_max, tmp, u->uid, su.start, sg.start, err);
	if (up < 0)
		return up;
	r = lt_import(up, ia->infd, &m, &ia->st, err);
	if (r >= 0 && syncfs(up) < 0)
		r = js_failm(err, errno, "cannot write the imported layer out");
	close(up);
	if (r < 0) {
		(void)js_layer_remove(state, users, tmp, NULL);
		return r;
	}
	return js_layer_swap_in(state, users, tmp, u->name, err);
}

static int layer_import(int argc, char **argv, const struct js_config *c)
{
	if (argc != 3)
		return ctl_usage_error("layer import: expected USER FILE (or - for standard input)");
	struct js_user u;
	if (ctl_lookup_user(argv[1], &u) < 0)
		return CTL_EXIT_FAIL;
	struct import_arg ia = {.infd = 0};
	_cleanup_close_ int fd = -1;
	if (strcmp(argv[2], "-") != 0) {
		fd = open(argv[2], O_RDONLY | O_NOCTTY | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode))) {
			ctl_errorm(fd < 0 ? errno : EINVAL, "layer import: \"%s\"%s", argv[2],
				   fd < 0 ? "" : " is not a file");
			return CTL_EXIT_FAIL;
		}
		ia.infd = fd;
	}
	_cleanup_free_ struct js_policy *p = malloc(sizeof *p);
	char why[512];
	if (!p || js_config_resolve_user(c, u.name, p, why, sizeof why) < 0) {
		ctl_error("layer import %s: no policy: %s", u.name, p ? why : "out of memory");
		return CTL_EXIT_FAIL;
	}
	ia.disk_max = p->disk_max.max ? 0 : p->disk_max.value;
	struct js_err err = {0};
	char q[600];
	if (js_container_with_layer(js_config_global(c), &u, import_fn, &ia, &err) < 0) {
		ctl_error_js(&err, "layer import %s", u.name);
		ctl_log(LOG_ERR, "layer-import", "user=%s result=failed reason=%s", u.name,
			ctl_q(err.msg, q, sizeof q));
		return CTL_EXIT_FAIL;
	}
	report_stats("imported", &u, &ia.st, argv[2]);
	ctl_log(LOG_NOTICE, "layer-import", "user=%s file=%s result=ok", u.name, ctl_q(argv[2], q, sizeof q));
	return CTL_EXIT_OK;
}

int cmd_layer(int argc, char **argv, const struct js_config *c)
{
	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
		return ctl_help();
	if (argc < 2)
		return ctl_usage_error("layer: expected export or import");
	/* VERB [--] USER FILE: before "--" nothing may look like an option
	 * ("-" alone is standard input or output) */
	const char *verb = argv[1];
	bool ex = !strcmp(verb, "export");
	if (!ex && strcmp(verb, "import") != 0)
		return ctl_usage_error("layer: unknown command \"%s\"", verb);
	char *args[3] = {argv[1], NULL, NULL};
	int n = 1;
	bool opts = true;
	for (int i = 2; i < argc; i++) {
		if (opts && !strcmp(argv[i], "--")) {
			opts = false;
			continue;
		}
		if (opts && argv[i][0] == '-' && argv[i][1])
			return ctl_usage_error("layer %s: unknown option \"%s\"", verb, argv[i]);
		if (n == 3)
			return ctl_usage_error("layer %s: expected USER FILE", verb);
		args[n++] = argv[i];
	}
	return ex ? layer_export(n, args, c) : layer_import(n, args, c);
}

/* reset --keep-backup: the stopped layer exported first, to
 * state_dir/backups/<name>-<UTC time>.tar (0700 root, the file 0600). */
struct backup_arg {
	char path[PATH_MAX];
};

static int backup_fn(const struct js_global *g, const struct js_user *u, int state, int users, void *arg,
		     struct js_err *err)
{
	(void)users;
	struct backup_arg *ba = arg;
	_cleanup_close_ int up = js_layer_open_upper(g->state_dir, u->name, NULL);
	if (up < 0)
		return 0; /* no layer: nothing to keep */
	_cleanup_close_ int dir = js_mkdir_owned_at(state, "backups", 0700, 0, 0, true, err);
	if (dir < 0)
		return dir;
	char fn[NAME_MAX], stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", gmtime_r(&now, &tm));
	if (js_snprintf(fn, sizeof fn, "%s-%s.tar", u->name, stamp) < 0 ||
	    js_snprintf(ba->path, sizeof ba->path, "%s/backups/%s", g->state_dir, fn) < 0)
		return js_fail(err, ENAMETOOLONG, "backup name too long");
	_cleanup_close_ int fd = openat(dir, fn, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return js_failm(err, errno, "cannot create \"%s\"", ba->path);
	struct lt_stats st;
	int r = layer_export_fd(g, u, fd, &st, err);
	if (r >= 0 && fsync(fd) < 0)
		r = js_failm(err, errno, "\"%s\"", ba->path);
	if (r < 0) {
		unlinkat(dir, fn, 0);
		return r;
	}
	report_stats("exported", u, &st, ba->path);
	return 0;
}

int ctl_reset_backup(const struct js_global *g, const struct js_user *u, char *path, size_t len, bool *ended,
		     struct js_err *err)
{
	struct backup_arg ba = {""};
	int r = js_container_reset(g, u, backup_fn, &ba, ended, err);
	js_strlcpy(path, ba.path, len);
	return r;
}
