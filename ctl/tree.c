/* SPDX-License-Identifier: MIT */
#include "tree.h"

#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

/* Deeper than any real root filesystem, and bounded so that the walk's
 * open directory fds (one per level) stay well under RLIMIT_NOFILE. */
#define TREE_DEPTH_MAX 256

struct walk {
	ctl_tree_fn *fn;
	void *ctx;
	dev_t dev;
	char path[PATH_MAX];
	struct js_err *err;
};

static int walk_dir(struct walk *w, int dfd, size_t plen, int depth)
{
	if (depth > TREE_DEPTH_MAX)
		return js_fail(w->err, ELOOP, "\"%s\": more than %d levels deep", w->path, TREE_DEPTH_MAX);
	int dupfd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
	if (dupfd < 0)
		return js_failm(w->err, errno, "\"%s\"", w->path);
	_cleanup_closedir_ DIR *d = fdopendir(dupfd);
	if (!d) {
		int e = errno;
		close(dupfd);
		return js_failm(w->err, e, "cannot read \"%s\"", w->path);
	}
	/* A dup shares the file offset: start from the top whatever read
	 * the fd before. */
	rewinddir(d);
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			if (errno)
				return js_failm(w->err, errno, "cannot read \"%s\"", plen ? w->path : ".");
			return 0;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		struct ctl_tree_entry e = {.dirfd = dfd, .name = de->d_name, .path = w->path};
		size_t nlen = strlen(de->d_name);
		if (plen + 1 + nlen >= sizeof w->path)
			return js_fail(w->err, ENAMETOOLONG, "path too long below \"%s\"", w->path);
		if (plen)
			w->path[plen] = '/';
		memcpy(w->path + plen + (plen ? 1 : 0), de->d_name, nlen + 1);
		size_t sub = plen + (plen ? 1 : 0) + nlen;

		if (fstatat(dfd, de->d_name, &e.st, AT_SYMLINK_NOFOLLOW) < 0)
			return js_failm(w->err, errno, "cannot stat \"%s\"", w->path);
		int r = w->fn(&e, w->ctx, w->err);
		if (r < 0)
			return r;
		if (r == 0 && S_ISDIR(e.st.st_mode) && e.st.st_dev == w->dev) {
			_cleanup_close_ int sfd =
			    openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sfd < 0)
				return js_failm(w->err, errno, "cannot open \"%s\"", w->path);
			r = walk_dir(w, sfd, sub, depth + 1);
			if (r < 0)
				return r;
		}
		w->path[plen] = '\0';
	}
}

int ctl_tree_walk(int rootfd, ctl_tree_fn *fn, void *ctx, struct js_err *err)
{
	struct walk w = {.fn = fn, .ctx = ctx, .err = err};
	struct stat st;
	if (fstat(rootfd, &st) < 0)
		return js_failm(err, errno, "fstat");
	w.dev = st.st_dev;
	return walk_dir(&w, rootfd, 0, 0);
}

/* Inodes with more than one link, counted once: a small open-addressing
 * set of (dev, ino). */
struct inoset {
	size_t n, cap;
	struct {
		dev_t dev;
		ino_t ino;
	} * v;
};

static size_t ino_slot(const struct inoset *s, dev_t dev, ino_t ino)
{
	size_t h = (size_t)(ino * 0x9e3779b97f4a7c15ull ^ dev);
	size_t i = h & (s->cap - 1);
	while (s->v[i].ino && !(s->v[i].ino == ino && s->v[i].dev == dev))
		i = (i + 1) & (s->cap - 1);
	return i;
}

/* 1 when newly added, 0 when seen before, -ENOMEM. */
static int ino_add(struct inoset *s, dev_t dev, ino_t ino)
{
	if (ino == 0)
		return 1; /* 0 marks a free slot; no real file has it */
	if ((s->n + 1) * 2 > s->cap) {
		struct inoset bigger = {.cap = s->cap ? s->cap * 2 : 256};
		bigger.v = calloc(bigger.cap, sizeof *bigger.v);
		if (!bigger.v)
			return -ENOMEM;
		for (size_t i = 0; i < s->cap; i++)
			if (s->v[i].ino) {
				size_t j = ino_slot(&bigger, s->v[i].dev, s->v[i].ino);
				bigger.v[j] = s->v[i];
				bigger.n++;
			}
		free(s->v);
		*s = bigger;
	}
	size_t i = ino_slot(s, dev, ino);
	if (s->v[i].ino)
		return 0;
	s->v[i].dev = dev;
	s->v[i].ino = ino;
	s->n++;
	return 1;
}

struct usage {
	uint64_t bytes;
	struct inoset seen;
};

static int usage_one(const struct ctl_tree_entry *e, void *ctx, struct js_err *err)
{
	struct usage *u = ctx;
	if (e->st.st_nlink > 1 && !S_ISDIR(e->st.st_mode)) {
		int r = ino_add(&u->seen, e->st.st_dev, e->st.st_ino);
		if (r < 0)
			return js_fail(err, ENOMEM, "out of memory");
		if (r == 0)
			return 0;
	}
	u->bytes += (uint64_t)e->st.st_blocks * 512;
	return 0;
}

int ctl_tree_usage(int rootfd, uint64_t *bytes, struct js_err *err)
{
	struct usage u = {0};
	struct stat st;
	if (fstat(rootfd, &st) < 0)
		return js_failm(err, errno, "fstat");
	u.bytes = (uint64_t)st.st_blocks * 512;
	int r = ctl_tree_walk(rootfd, usage_one, &u, err);
	free(u.seen.v);
	*bytes = u.bytes;
	return r;
}
