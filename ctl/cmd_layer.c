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

#include "ctl.h"
#include "layer.h"
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
