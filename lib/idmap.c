/* SPDX-License-Identifier: MIT */
#include "idmap.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A subordinate id file larger than this is refused, not read. */
#define SUBID_FILE_MAX (16 * 1024 * 1024)

struct subid_line {
	char name[64];
	uint32_t start, count;
	unsigned lineno;
};

static int parse_u32(const char *s, size_t len, uint32_t *out)
{
	uint64_t v = 0;
	if (len == 0 || len > 10)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* One "name:start:count" line; blank lines and '#' comments are skipped by
 * the caller. Returns -EINVAL for a malformed line. */
static int parse_line(const char *s, size_t len, struct subid_line *l)
{
	const char *c1 = memchr(s, ':', len);
	if (!c1)
		return -EINVAL;
	const char *c2 = memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - s));
	if (!c2)
		return -EINVAL;
	size_t nlen = (size_t)(c1 - s);
	if (nlen == 0 || nlen >= sizeof l->name)
		return -EINVAL;
	memcpy(l->name, s, nlen);
	l->name[nlen] = '\0';
	if (parse_u32(c1 + 1, (size_t)(c2 - c1 - 1), &l->start) < 0)
		return -EINVAL;
	if (parse_u32(c2 + 1, len - (size_t)(c2 + 1 - s), &l->count) < 0)
		return -EINVAL;
	return 0;
}

static bool line_matches(const struct subid_line *l, const char *name, uint32_t id)
{
	char idbuf[16];
	snprintf(idbuf, sizeof idbuf, "%u", id);
	return strcmp(l->name, name) == 0 || strcmp(l->name, idbuf) == 0;
}

/* The next line of text at *p, without its newline and trailing blanks,
 * in *line and *len; *p moves past it. false at the end of the text. */
static bool next_line(const char **p, const char **line, size_t *len)
{
	if (!**p)
		return false;
	const char *nl = strchr(*p, '\n');
	size_t n = nl ? (size_t)(nl - *p) : strlen(*p);
	*line = *p;
	*p += nl ? n + 1 : n;
	while (n > 0 && ((*line)[n - 1] == '\r' || (*line)[n - 1] == ' ' || (*line)[n - 1] == '\t'))
		n--;
	*len = n;
	return true;
}

int js_subid_find(const char *text, const char *name, uint32_t id, uint32_t own_id, struct js_subid *out,
		  struct js_err *err)
{
	struct subid_line mine = {0};
	bool found = false;
	unsigned lineno = 0;

	/* First pass: our entry (the first one that matches). */
	const char *line;
	size_t len;
	for (const char *p = text; next_line(&p, &line, &len);) {
		lineno++;
		if (len > 0 && line[0] != '#') {
			struct subid_line l;
			if (parse_line(line, len, &l) == 0 && line_matches(&l, name, id)) {
				l.lineno = lineno;
				mine = l;
				found = true;
				break;
			}
		}
	}
	if (!found)
		return js_fail(err, ENOENT, "no subordinate id range for \"%s\"", name);
	if (mine.count < JS_SUBID_MIN_COUNT)
		return js_fail(err, EINVAL, "subordinate range of \"%s\" has %u ids; at least %u are needed", name,
			       mine.count, JS_SUBID_MIN_COUNT);
	if ((uint64_t)mine.start + mine.count - 1 > UINT32_MAX - 1)
		return js_fail(err, EINVAL, "subordinate range of \"%s\" runs past the 32-bit id space", name);
	if (own_id >= mine.start && (uint64_t)own_id < (uint64_t)mine.start + mine.count)
		return js_fail(err, EINVAL, "subordinate range of \"%s\" contains the user's own id %u", name, own_id);

	/* Second pass: a range shared with another entry would let two users
	 * own the same host ids (each could then reach the other's files). */
	lineno = 0;
	for (const char *p = text; next_line(&p, &line, &len);) {
		lineno++;
		if (len > 0 && line[0] != '#' && lineno != mine.lineno) {
			struct subid_line l;
			if (parse_line(line, len, &l) == 0 && !line_matches(&l, name, id) && l.count > 0) {
				uint64_t a0 = mine.start, a1 = a0 + mine.count;
				uint64_t b0 = l.start, b1 = b0 + l.count;
				if (a0 < b1 && b0 < a1)
					return js_fail(
					    err, EINVAL,
					    "subordinate range of \"%s\" overlaps the one of \"%s\" (line %u)", name,
					    l.name, lineno);
			}
		}
	}
	out->start = mine.start;
	out->count = mine.count;
	return 0;
}

int js_subid_lookup(const char *path, const char *name, uint32_t id, struct js_subid *out, struct js_err *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return js_failm(err, errno, "cannot open \"%s\"", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return js_failm(err, errno, "cannot stat \"%s\"", path);
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022))
		return js_fail(err, EPERM, "\"%s\" must be a regular file owned by root and not writable by others",
			       path);
	if (st.st_size > SUBID_FILE_MAX)
		return js_fail(err, EFBIG, "\"%s\" is too large", path);
	_cleanup_free_ char *text = malloc((size_t)st.st_size + 1);
	if (!text)
		return js_fail(err, ENOMEM, "out of memory");
	ssize_t n = js_read_all(fd, text, (size_t)st.st_size);
	if (n < 0)
		return js_failm(err, (int)-n, "cannot read \"%s\"", path);
	text[n] = '\0';
	if (memchr(text, '\0', (size_t)n))
		return js_fail(err, EINVAL, "\"%s\" contains NUL bytes", path);
	int r = js_subid_find(text, name, id, id, out, err);
	if (r < 0 && err)
		js_fail(err, -r, "%s: %s", path, err->msg);
	return r;
}

static int cmp_account(const void *a, const void *b)
{
	uint32_t x = ((const struct js_account *)a)->id, y = ((const struct js_account *)b)->id;
	return x < y ? -1 : x > y;
}

static int account_add(struct js_accounts *a, size_t *cap, uint32_t id, const char *what, const char *name)
{
	if (a->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		struct js_account *v = realloc(a->v, ncap * sizeof *v);
		if (!v)
			return -ENOMEM;
		a->v = v;
		*cap = ncap;
	}
	struct js_account *e = &a->v[a->n++];
	e->id = id;
	e->what = what;
	snprintf(e->name, sizeof e->name, "%s", name ? name : "?");
	return 0;
}

int js_accounts_load(bool gids, struct js_accounts *out, struct js_err *err)
{
	*out = (struct js_accounts){0};
	size_t cap = 0, n = 0;
	int r = 0;
	setpwent();
	struct passwd *pw;
	while (r == 0 && (pw = getpwent())) {
		if (++n > JS_ACCOUNTS_MAX)
			r = -E2BIG;
		else
			r = account_add(out, &cap, gids ? pw->pw_gid : pw->pw_uid,
					gids ? "the primary group of account" : "account", pw->pw_name);
	}
	endpwent();
	if (r == 0 && gids) {
		n = 0;
		setgrent();
		struct group *gr;
		while (r == 0 && (gr = getgrent())) {
			if (++n > JS_ACCOUNTS_MAX)
				r = -E2BIG;
			else
				r = account_add(out, &cap, gr->gr_gid, "group", gr->gr_name);
		}
		endgrent();
	}
	if (r < 0) {
		js_accounts_free(out);
		if (r == -E2BIG)
			return js_fail(err, E2BIG, "more than %u %s: cannot check subordinate ranges against them",
				       JS_ACCOUNTS_MAX, gids ? "groups" : "accounts");
		return js_fail(err, -r, "out of memory");
	}
	qsort(out->v, out->n, sizeof *out->v, cmp_account);
	return 0;
}

void js_accounts_free(struct js_accounts *a)
{
	free(a->v);
	*a = (struct js_accounts){0};
}

int js_subid_check_accounts(const struct js_subid *r, const struct js_accounts *a, const char *kind, const char *file,
			    const char *owner, struct js_err *err)
{
	/* the first account id >= r->start */
	size_t lo = 0, hi = a->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a->v[mid].id < r->start)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == a->n || (uint64_t)a->v[lo].id >= (uint64_t)r->start + r->count)
		return 0;
	const struct js_account *e = &a->v[lo];
	return js_fail(err, EINVAL,
		       "subordinate %s range of \"%s\" in %s (%u-%u) contains %s %u of %s \"%s\": root in the "
		       "container would own its files",
		       kind, owner, file, r->start, (uint32_t)(r->start + (r->count - 1)), kind, e->id, e->what,
		       e->name);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static int add_extent(struct js_idmap *m, uint32_t in, uint32_t out, uint32_t count, struct js_err *err)
{
	if (count == 0)
		return 0;
	if (m->n >= JS_IDMAP_MAX_EXTENTS)
		return js_fail(err, E2BIG, "id map needs more than %d extents", JS_IDMAP_MAX_EXTENTS);
	m->ext[m->n++] = (struct js_extent){in, out, count};
	return 0;
}

int js_idmap_keepid(const struct js_subid *sub, const uint32_t *identity, size_t nidentity, struct js_idmap *out,
		    struct js_err *err)
{
	uint32_t ids[JS_IDMAP_MAX_IDENTITY];
	size_t n = 0;
	for (size_t i = 0; i < nidentity; i++) {
		uint32_t v = identity[i];
		if (v == 0 || v == UINT32_MAX)
			continue;
		if (v >= sub->start && (uint64_t)v < (uint64_t)sub->start + sub->count)
			return js_fail(err, EINVAL, "id %u lies inside the subordinate range %u-%u", v, sub->start,
				       sub->start + sub->count - 1);
		bool dup = false;
		for (size_t j = 0; j < n; j++)
			dup = dup || ids[j] == v;
		if (dup)
			continue;
		if (n == JS_ARRAY_SIZE(ids))
			return js_fail(err, E2BIG, "more than %d ids to keep", JS_IDMAP_MAX_IDENTITY);
		ids[n++] = v;
	}
	qsort(ids, n, sizeof ids[0], cmp_u32);

	memset(out, 0, sizeof *out);
	uint64_t cursor = 0;
	uint64_t subcur = sub->start;
	uint64_t remaining = sub->count;
	for (size_t i = 0; i < n; i++) {
		if (cursor < ids[i] && remaining > 0) {
			uint64_t take = ids[i] - cursor;
			if (take > remaining)
				take = remaining;
			int r = add_extent(out, (uint32_t)cursor, (uint32_t)subcur, (uint32_t)take, err);
			if (r < 0)
				return r;
			cursor += take;
			subcur += take;
			remaining -= take;
		}
		int r = add_extent(out, ids[i], ids[i], 1, err);
		if (r < 0)
			return r;
		cursor = (uint64_t)ids[i] + 1;
	}
	if (remaining > 0) {
		if (cursor + remaining > UINT32_MAX)
			remaining = UINT32_MAX - cursor;
		int r = add_extent(out, (uint32_t)cursor, (uint32_t)subcur, (uint32_t)remaining, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int js_idmap_format(const struct js_idmap *m, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < m->n; i++) {
		int w =
		    snprintf(buf + off, len - off, "%u %u %u\n", m->ext[i].inside, m->ext[i].outside, m->ext[i].count);
		if (w < 0 || (size_t)w >= len - off)
			return -ENAMETOOLONG;
		off += (size_t)w;
	}
	return 0;
}

uint32_t js_idmap_to_host(const struct js_idmap *m, uint32_t inside)
{
	for (size_t i = 0; i < m->n; i++)
		if (inside >= m->ext[i].inside && (uint64_t)inside < (uint64_t)m->ext[i].inside + m->ext[i].count)
			return m->ext[i].outside + (inside - m->ext[i].inside);
	return UINT32_MAX;
}
