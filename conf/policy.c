/* SPDX-License-Identifier: MIT */
/* Loading /etc/jsandbox.conf and resolving one user's policy from it.
 *
 * The file is read in three steps:
 *
 *  1. open() it without following a symlink and check, on the open fd, that
 *     it is a regular root-owned file nobody else can write (as doas does):
 *     the policy decides who gets a host shell, so it may only come from
 *     root;
 *  2. a strict prescan of the bytes read through that fd: one line at a
 *     time, every line must be blank, a comment, a [section] header or a
 *     `key = value` line, sections and keys must be known, nothing may be
 *     repeated, and every value is validated. This is where almost every
 *     problem is found, with the line number, section and key;
 *  3. iniparser (the project's INI parser) reads the very same bytes, and
 *     every value the policy uses is taken from iniparser and checked to be
 *     byte-for-byte the value the prescan validated. So the two parsers can
 *     never disagree silently about what the file says.
 *
 * The prescan exists because iniparser 4.1 is lenient in ways that matter
 * here: it folds section and key names to lower case ([user:Bob] would be
 * bob's section), lets a later duplicate key silently win, joins a line
 * ending in a backslash with the next one (even a comment), ignores text
 * after a closing quote and stops reading at 1023 bytes a line. */
#include "policy_internal.h"

#include "jsutil.h"

#include <fcntl.h>
#include <grp.h>
#include <iniparser.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

/* Far more than any real policy; keeps a mistaken path (a log file, a disk
 * image) from being read into sshd's memory. */
#define JS_CONF_SIZE_MAX (1024 * 1024)
/* Problems handed to the caller; more are counted and summarised, so a
 * file full of garbage gives a readable report, not a million lines. */
#define JS_PROBLEMS_SHOWN 200

enum sec_kind { SEC_GLOBAL, SEC_DEFAULT, SEC_GROUP, SEC_USER, SEC_INVALID };

enum gkey {
	GKEY_IMAGES_DIR,
	GKEY_STATE_DIR,
	GKEY_RUN_DIR,
	GKEY_HOST_ROOT,
	GKEY_HELP_CONTACT,
	GKEY_CONTAINERS_CPU_WEIGHT,
	GKEY__COUNT
};
static const char *const gkey_names[GKEY__COUNT] = {"images_dir", "state_dir",	  "run_dir",
						    "host_root",  "help_contact", "containers_cpu_weight"};
/* cgroup v2's cpu.weight range */
#define CONTAINERS_CPU_WEIGHT_MAX 10000

/* A section's key slots: the per-user keys (enum js_key), then [global]'s. */
#define SLOT_GLOBAL(g) (JS_KEY__COUNT + (unsigned)(g))
#define SLOT_COUNT     (JS_KEY__COUNT + GKEY__COUNT)
_Static_assert(SLOT_COUNT <= 32, "slots must fit struct section's repeated mask");

struct entry {
	char *value; /* as iniparser read it */
	unsigned line;
	unsigned slot;
};

struct section {
	char *name; /* as in the file without brackets: "group:gpu" */
	enum sec_kind kind;
	unsigned line;			 /* of its first header */
	unsigned first_line[SLOT_COUNT]; /* where each key was first set, 0 = not set */
	uint32_t repeated;		 /* slots set twice (1 << slot): iniparser keeps the last */
	struct entry *e;
	size_t ne, cap;
	char *problem; /* the first problem found in this section */
};

struct js_config {
	struct section *sec; /* every header, in file order, duplicates merged */
	size_t nsec, seccap;
	uint32_t *table; /* open addressing: section index + 1, 0 = empty */
	size_t tablecap; /* a power of two */
	size_t *valid;	 /* indices of the well-named sections */
	size_t nvalid;
	struct js_global global;
	bool global_bad;
	char *global_problem; /* the first problem that concerns everyone */
};

#define CUR_NONE   (-1) /* before the first header */
#define CUR_BROKEN (-2) /* after a header that could not be read */

struct load {
	const char *path;
	struct js_config *c;
	struct js_problems *pr;
	size_t shown;  /* problems this load appended to pr */
	size_t hidden; /* and those past JS_PROBLEMS_SHOWN, only counted */
	bool hidden_global;
	bool fatal; /* the file cannot be used at all */
	bool oom;
	long cur;		   /* current section index, or CUR_* */
	struct js_policy *scratch; /* values are validated into this */
};

/* ---- sections by name ---- */

static uint64_t name_hash(const char *s, size_t n)
{
	uint64_t h = UINT64_C(14695981039346656037); /* FNV-1a */
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

static long sec_find(const struct js_config *c, const char *name, size_t n)
{
	if (!c->tablecap)
		return -1;
	size_t mask = c->tablecap - 1;
	for (size_t i = name_hash(name, n) & mask;; i = (i + 1) & mask) {
		uint32_t v = c->table[i];
		if (!v)
			return -1;
		const char *s = c->sec[v - 1].name;
		if (strncmp(s, name, n) == 0 && s[n] == '\0')
			return (long)v - 1;
	}
}

static void table_put(uint32_t *table, size_t cap, const struct section *sec, size_t idx)
{
	size_t mask = cap - 1;
	size_t i = name_hash(sec[idx].name, strlen(sec[idx].name)) & mask;
	while (table[i])
		i = (i + 1) & mask;
	table[i] = (uint32_t)(idx + 1);
}

/* Appends a section and indexes it; returns its index or -ENOMEM. */
static long sec_add(struct js_config *c, const char *name, size_t n, enum sec_kind kind, unsigned line)
{
	if (c->nsec >= UINT32_MAX - 1)
		return -ENOMEM;
	if (c->nsec == c->seccap) {
		size_t cap = c->seccap ? c->seccap * 2 : 16;
		struct section *s = realloc(c->sec, cap * sizeof *s);
		if (!s)
			return -ENOMEM;
		c->sec = s;
		c->seccap = cap;
	}
	/* Keep the table at most half full so probes stay short. */
	if ((c->nsec + 1) * 2 > c->tablecap) {
		size_t cap = c->tablecap ? c->tablecap * 2 : 64;
		uint32_t *t = calloc(cap, sizeof *t);
		if (!t)
			return -ENOMEM;
		for (size_t i = 0; i < c->nsec; i++)
			table_put(t, cap, c->sec, i);
		free(c->table);
		c->table = t;
		c->tablecap = cap;
	}
	struct section *s = &c->sec[c->nsec];
	*s = (struct section){.kind = kind, .line = line};
	s->name = strndup(name, n);
	if (!s->name)
		return -ENOMEM;
	table_put(c->table, c->tablecap, c->sec, c->nsec);
	return (long)c->nsec++;
}

static int sec_add_entry(struct section *s, unsigned slot, unsigned line, const char *value)
{
	if (s->ne == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4;
		struct entry *e = realloc(s->e, cap * sizeof *e);
		if (!e)
			return -ENOMEM;
		s->e = e;
		s->cap = cap;
	}
	char *v = strdup(value);
	if (!v)
		return -ENOMEM;
	s->e[s->ne++] = (struct entry){.value = v, .line = line, .slot = slot};
	return 0;
}

/* ---- problems ---- */

void js_problems_free(struct js_problems *pr)
{
	if (!pr)
		return;
	free(pr->p);
	*pr = (struct js_problems){0};
}

static bool kind_is_global(enum sec_kind k)
{
	/* [default] applies to everyone, [global] configures everyone's
	 * paths, and a section whose name could not be understood might
	 * have been meant for anyone. */
	return k == SEC_GLOBAL || k == SEC_DEFAULT || k == SEC_INVALID;
}

static void push_problem(struct load *L, const struct js_problem *p);

/* Records one problem: "PATH:LINE: [SECTION] KEY: message". sec < 0 or a
 * section everyone depends on makes it global; fatal means the file cannot
 * be used at all (unreadable, unsafe, not INI). */
static void problem(struct load *L, long sec, unsigned line, const char *key, bool fatal, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static void problem(struct load *L, long sec, unsigned line, const char *key, bool fatal, const char *fmt, ...)
{
	struct js_problem p = {0};
	struct section *s = sec >= 0 ? &L->c->sec[sec] : NULL;
	size_t n = 0;
	int k;

	p.global = fatal || !s || kind_is_global(s->kind);
	if (s && s->kind != SEC_INVALID)
		snprintf(p.section, sizeof p.section, "%s", s->name);

	k = line ? snprintf(p.msg, sizeof p.msg, "%s:%u: ", L->path, line)
		 : snprintf(p.msg, sizeof p.msg, "%s: ", L->path);
	n = k > 0 ? (size_t)k : 0;
	if (s && n < sizeof p.msg) {
		k = snprintf(p.msg + n, sizeof p.msg - n, "[%s] ", s->name);
		n += k > 0 ? (size_t)k : 0;
	}
	if (key && n < sizeof p.msg) {
		k = snprintf(p.msg + n, sizeof p.msg - n, "%s: ", key);
		n += k > 0 ? (size_t)k : 0;
	}
	if (n < sizeof p.msg) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(p.msg + n, sizeof p.msg - n, fmt, ap);
		va_end(ap);
	}

	if (fatal)
		L->fatal = true;
	if (p.global) {
		L->c->global_bad = true;
		if (!L->c->global_problem && !(L->c->global_problem = strdup(p.msg)))
			L->oom = true;
	} else if (!s->problem && !(s->problem = strdup(p.msg))) {
		L->oom = true;
	}

	if (L->shown >= JS_PROBLEMS_SHOWN) {
		L->hidden++;
		L->hidden_global |= p.global;
		return;
	}
	push_problem(L, &p);
}

static void push_problem(struct load *L, const struct js_problem *p)
{
	if (!L->pr)
		return;
	if (L->pr->n == L->pr->cap) {
		size_t cap = L->pr->cap ? L->pr->cap * 2 : 8;
		struct js_problem *np = realloc(L->pr->p, cap * sizeof *np);
		if (!np) {
			L->oom = true;
			return;
		}
		L->pr->p = np;
		L->pr->cap = cap;
	}
	L->pr->p[L->pr->n++] = *p;
	L->shown++;
}

/* A value quoted for a message: printable, and cut short when long. */
static const char *quoted(const char *v, char *buf, size_t len)
{
	size_t n = 0, i = 0;
	for (; v[i] && n + 4 < len; i++)
		buf[n++] = (v[i] >= 0x20 && v[i] < 0x7f) ? v[i] : '?';
	if (v[i] && n >= 3)
		memcpy(buf + n - 3, "...", 3);
	buf[n] = '\0';
	return buf;
}

/* ---- step 1: open and read safely ---- */

static const char *file_type(mode_t m)
{
	return S_ISDIR(m)    ? "a directory"
	       : S_ISFIFO(m) ? "a FIFO"
	       : S_ISCHR(m)  ? "a character device"
	       : S_ISBLK(m)  ? "a block device"
	       : S_ISSOCK(m) ? "a socket"
			     : "of an unknown type";
}

static int read_config(struct load *L, uid_t owner, int *fdp, char **bufp, size_t *lenp)
{
	/* O_NOFOLLOW: whoever can plant a symlink must not choose the policy.
	 * O_NONBLOCK: opening a FIFO must not hang the login. */
	_cleanup_close_ int fd = open(L->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		int e = errno;
		struct stat lst;
		/* ELOOP is also what a symlink loop higher up gives. */
		if (e == ELOOP && lstat(L->path, &lst) == 0 && S_ISLNK(lst.st_mode))
			problem(L, -1, 0, NULL, true,
				"refusing config: it is a symbolic link (symlinks are not followed)");
		else
			problem(L, -1, 0, NULL, true, "cannot open: %s", strerror(e));
		return -e;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		problem(L, -1, 0, NULL, true, "cannot stat: %s", strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		problem(L, -1, 0, NULL, true, "refusing config: %s, not a regular file", file_type(st.st_mode));
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	}
	if (st.st_uid != owner) {
		if (owner == 0)
			problem(L, -1, 0, NULL, true, "refusing config: owned by uid %u, not root",
				(unsigned)st.st_uid);
		else
			problem(L, -1, 0, NULL, true, "refusing config: owned by uid %u, not uid %u",
				(unsigned)st.st_uid, (unsigned)owner);
		return -EPERM;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		problem(L, -1, 0, NULL, true, "refusing config: writable by group or other (mode %04o)",
			(unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	if (st.st_size > JS_CONF_SIZE_MAX) {
		problem(L, -1, 0, NULL, true, "refusing config: too large (%lld bytes, at most %d)",
			(long long)st.st_size, JS_CONF_SIZE_MAX);
		return -EFBIG;
	}
	/* One byte more than fstat said, to notice a file growing under us. */
	size_t cap = (size_t)st.st_size + 1;
	_cleanup_free_ char *buf = malloc(cap + 1);
	if (!buf) {
		L->oom = true;
		return -ENOMEM;
	}
	ssize_t n = js_read_all(fd, buf, cap);
	if (n < 0) {
		problem(L, -1, 0, NULL, true, "cannot read: %s", strerror((int)-n));
		return (int)n;
	}
	if ((size_t)n != (size_t)st.st_size) {
		problem(L, -1, 0, NULL, true, "the file changed while it was read; try again");
		return -EAGAIN;
	}
	buf[n] = '\0';
	*bufp = buf;
	buf = NULL;
	*lenp = (size_t)n;
	*fdp = js_steal_fd(&fd);
	return 0;
}

/* Only text: NUL and control bytes (other than tab and a CR before LF) and
 * broken UTF-8 mean a wrong or damaged file, and iniparser, which reads
 * with fgets(), would quietly cut a line at a NUL. Stops at the first bad
 * byte: one line says it, not a screenful. */
static int check_bytes(struct load *L, const unsigned char *b, size_t len)
{
	unsigned line = 1;
	if (len >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf) {
		problem(L, -1, 1, NULL, true, "the file starts with a UTF-8 byte order mark; save it without one");
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = b[i];
		if (c == '\n') {
			line++;
			continue;
		}
		if (c == '\t' || (c >= 0x20 && c < 0x7f))
			continue;
		if (c == '\r' && (i + 1 == len || b[i + 1] == '\n'))
			continue;
		if (c == 0) {
			problem(L, -1, line, NULL, true, "contains a NUL byte: this is not a text file");
			return -EINVAL;
		}
		if (c < 0x80) {
			problem(L, -1, line, NULL, true, "contains control character 0x%02x: this is not a text file",
				c);
			return -EINVAL;
		}
		/* A UTF-8 sequence: lead byte C2..F4, then 1 to 3 continuations. */
		size_t more = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : 0;
		bool ok = more > 0 && i + more < len;
		for (size_t j = 1; ok && j <= more; j++)
			ok = (b[i + j] & 0xc0) == 0x80;
		if (!ok) {
			problem(L, -1, line, NULL, true, "invalid UTF-8: this is not a text file");
			return -EINVAL;
		}
		i += more;
	}
	return 0;
}

/* ---- step 2: the prescan ---- */

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool has_upper(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			return true;
	return false;
}

static bool valid_key_name(const char *s)
{
	if (!(*s >= 'a' && *s <= 'z'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static void scan_header(struct load *L, const char *s, size_t n, unsigned line)
{
	const char *close = memchr(s, ']', n);
	L->cur = CUR_BROKEN;
	if (!close) {
		problem(L, -1, line, NULL, true, "section header is not closed with ']'");
		return;
	}
	if (close != s + n - 1) {
		problem(L, -1, line, NULL, true, "unexpected text after ']' (a comment must be on a line of its own)");
		return;
	}
	const char *name = s + 1;
	size_t nl = (size_t)(close - name);
	while (nl && blank(*name))
		name++, nl--;
	while (nl && blank(name[nl - 1]))
		nl--;
	if (nl == 0) {
		problem(L, -1, line, NULL, true, "empty section name");
		return;
	}

	enum sec_kind kind = SEC_INVALID;
	if (has_upper(name, nl)) {
		problem(L, -1, line, NULL, false,
			"[%.*s]: section names must be lower case (iniparser folds them to lower case, but user "
			"and group names are case sensitive)",
			(int)nl, name);
	} else if (nl == 6 && memcmp(name, "global", 6) == 0) {
		kind = SEC_GLOBAL;
	} else if (nl == 7 && memcmp(name, "default", 7) == 0) {
		kind = SEC_DEFAULT;
	} else if ((nl > 6 && memcmp(name, "group:", 6) == 0) || (nl > 5 && memcmp(name, "user:", 5) == 0)) {
		bool group = name[0] == 'g';
		size_t pl = group ? 6 : 5;
		if (js_valid_account_name(name + pl, nl - pl))
			kind = group ? SEC_GROUP : SEC_USER;
		else
			problem(
			    L, -1, line, NULL, false,
			    "[%.*s]: invalid %s name \"%.*s\" (expected a lower-case letter or '_', then lower-case "
			    "letters, digits, '_', '.' or '-', optionally ending in '$', at most 32 characters)",
			    (int)nl, name, group ? "group" : "user", (int)(nl - pl), name + pl);
	} else {
		problem(L, -1, line, NULL, false,
			"[%.*s]: unknown section (expected [global], [default], [group:NAME] or [user:NAME])", (int)nl,
			name);
	}

	long idx = sec_find(L->c, name, nl);
	if (idx >= 0) {
		/* iniparser merges a repeated section into the first one; do
		 * the same, so that keys repeated across both are caught. */
		problem(L, -1, line, NULL, false, "[%.*s]: duplicate section (first on line %u)", (int)nl, name,
			L->c->sec[idx].line);
		L->cur = idx;
		return;
	}
	idx = sec_add(L->c, name, nl, kind, line);
	if (idx < 0) {
		L->oom = true;
		return;
	}
	L->cur = idx;
}

static void check_key(struct load *L, const char *key, const char *value, unsigned line)
{
	char q[80], why[400];

	if (L->cur == CUR_BROKEN)
		return; /* the header already said what is wrong */
	if (L->cur == CUR_NONE) {
		problem(L, -1, line, key, false, "key outside any section (put it under [default] or another section)");
		return;
	}
	struct section *s = &L->c->sec[L->cur];
	if (s->kind == SEC_INVALID)
		return;
	if (!valid_key_name(key)) {
		problem(L, L->cur, line, NULL, false,
			"invalid key name \"%s\" (key names are lower-case letters, digits and '_')",
			quoted(key, q, sizeof q));
		return;
	}

	enum js_key k = JS_KEY__COUNT;
	bool per_user = js_key_lookup(key, &k) == 0;
	int g = -1;
	for (unsigned i = 0; i < GKEY__COUNT; i++)
		if (strcmp(key, gkey_names[i]) == 0)
			g = (int)i;
	unsigned slot;
	if (s->kind == SEC_GLOBAL) {
		if (g < 0) {
			if (per_user)
				problem(L, L->cur, line, key, false,
					"not valid in [global] (it belongs in [default], [group:NAME] or [user:NAME])");
			else
				problem(L, L->cur, line, key, false,
					"unknown key (valid keys in [global]: images_dir, state_dir, run_dir, "
					"host_root, help_contact, containers_cpu_weight)");
			return;
		}
		slot = SLOT_GLOBAL(g);
	} else {
		if (!per_user) {
			if (g >= 0)
				problem(L, L->cur, line, key, false, "only valid in [global]");
			else
				problem(L, L->cur, line, key, false,
					"unknown key (valid keys: sandbox, image, gpus, devices, memory_max, pids_max, "
					"cpu_max, cpu_weight, tmp_size, network, sudo, linger, shell, nested_userns, "
					"perf_events, pty_max, capabilities_add, disk_max, banner)");
			return;
		}
		slot = (unsigned)k;
	}
	if (s->first_line[slot]) {
		s->repeated |= UINT32_C(1) << slot;
		problem(L, L->cur, line, key, false, "duplicate key (first on line %u)", s->first_line[slot]);
		return;
	}
	s->first_line[slot] = line;

	int r;
	if (slot < JS_KEY__COUNT) {
		r = js_policy_apply(L->scratch, k, value, why, sizeof why);
		if (r < 0)
			problem(L, L->cur, line, key, false, "invalid %s \"%s\" (%s)", js_key_noun(k),
				quoted(value, q, sizeof q), why);
	} else if (g == GKEY_HELP_CONTACT) {
		char contact[JS_HELP_CONTACT_MAX];
		r = js_parse_contact(value, contact, sizeof contact, why, sizeof why);
		if (r < 0)
			problem(L, L->cur, line, key, false, "invalid contact \"%s\" (%s)", quoted(value, q, sizeof q),
				why);
	} else if (slot == SLOT_GLOBAL(GKEY_CONTAINERS_CPU_WEIGHT)) {
		uint64_t u;
		r = js_parse_uint(value, 1, CONTAINERS_CPU_WEIGHT_MAX, false, &u, why, sizeof why);
		if (r < 0)
			problem(L, L->cur, line, key, false, "invalid weight \"%s\" (%s)", quoted(value, q, sizeof q),
				why);
	} else {
		char path[PATH_MAX];
		r = js_parse_abspath(value, path, sizeof path, why, sizeof why);
		if (r < 0)
			problem(L, L->cur, line, key, false, "invalid path \"%s\" (%s)", quoted(value, q, sizeof q),
				why);
	}
	if (r == -ENOMEM || sec_add_entry(s, slot, line, value) < 0)
		L->oom = true;
}

/* key = value, the value read the way iniparser reads it: up to a ';' or
 * '#' and blank-stripped, or between a pair of quotes, kept verbatim. */
static void scan_key(struct load *L, const char *s, size_t n, const char *eq, unsigned line)
{
	char key[JS_CONF_LINE_MAX + 1], value[JS_CONF_LINE_MAX + 1];
	size_t kl = (size_t)(eq - s);
	while (kl && blank(s[kl - 1]))
		kl--;
	if (kl == 0) {
		problem(L, -1, line, NULL, true, "missing key name before '='");
		return;
	}
	const char *v = eq + 1, *end = s + n, *vend;
	while (v < end && blank(*v))
		v++;
	if (v < end && (*v == '"' || *v == '\'')) {
		const char *closeq = memchr(v + 1, *v, (size_t)(end - v - 1));
		if (!closeq) {
			problem(L, -1, line, NULL, true, "unterminated quoted value");
			return;
		}
		const char *rest = closeq + 1;
		while (rest < end && blank(*rest))
			rest++;
		if (rest < end && *rest != '#' && *rest != ';') {
			problem(L, -1, line, NULL, true, "unexpected text after the closing quote");
			return;
		}
		v++;
		vend = closeq;
	} else {
		vend = v;
		while (vend < end && *vend != '#' && *vend != ';')
			vend++;
		while (vend > v && blank(vend[-1]))
			vend--;
	}
	memcpy(key, s, kl);
	key[kl] = '\0';
	memcpy(value, v, (size_t)(vend - v));
	value[vend - v] = '\0';
	check_key(L, key, value, line);
}

static void scan_line(struct load *L, const char *s, size_t n, unsigned line)
{
	if (n > JS_CONF_LINE_MAX) {
		problem(L, -1, line, NULL, true, "line too long (%zu bytes, at most %d)", n, JS_CONF_LINE_MAX);
		return;
	}
	while (n && blank(*s))
		s++, n--;
	while (n && blank(s[n - 1]))
		n--;
	if (n == 0)
		return;
	/* Checked before comments: iniparser joins even a comment line ending
	 * in '\' with the next line, which would then silently vanish. */
	if (s[n - 1] == '\\') {
		problem(L, -1, line, NULL, true,
			"line ends with a backslash (continuation lines are not supported; iniparser would "
			"join this line with the next)");
		return;
	}
	if (s[0] == '#' || s[0] == ';')
		return;
	if (s[0] == '[') {
		scan_header(L, s, n, line);
		return;
	}
	const char *eq = memchr(s, '=', n);
	if (!eq) {
		problem(L, -1, line, NULL, true, "syntax error: expected \"[section]\", \"key = value\" or a comment");
		return;
	}
	scan_key(L, s, n, eq, line);
}

static void prescan(struct load *L, const char *buf, size_t len)
{
	unsigned line = 0;
	for (size_t pos = 0; pos < len && !L->oom;) {
		const char *ls = buf + pos;
		const char *nl = memchr(ls, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - ls) : len - pos;
		pos += ll + (nl ? 1 : 0);
		line++;
		if (ll && ls[ll - 1] == '\r') /* CRLF, as a Windows editor writes */
			ll--;
		scan_line(L, ls, ll, line);
	}
}

/* ---- step 3: iniparser ---- */

/* iniparser reports through one process-wide callback; route it to the
 * load running in this thread (a load in another thread at the same moment
 * could reset the callback early: its messages would then go to stderr,
 * but the load still fails, since iniparser returns no dictionary). */
static __thread struct load *ini_load;

static int ini_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int ini_error(const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* Its messages span lines ("...:\n-> line\n"): make them one. */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	for (size_t l = strlen(msg); l && msg[l - 1] == ' ';)
		msg[--l] = '\0';
	if (ini_load)
		problem(ini_load, -1, 0, NULL, true, "%s", msg);
	return n;
}

/* iniparser only loads by path. Give it a private copy of the bytes the
 * prescan checked, in a memfd: reading the path again could see another
 * file (renamed in place) or another version (edited in place), and
 * /proc/self/fd/N of our own fd could see the latter. Where memfds are not
 * available, reopen our validated fd through /proc and rely on the
 * value-by-value comparison below. */
static dictionary *ini_parse(struct load *L, int fd, const char *buf, size_t len)
{
	_cleanup_close_ int mfd = memfd_create("jsandbox.conf", MFD_CLOEXEC);
	if (mfd >= 0 && (js_write_all(mfd, buf, len) < 0 || lseek(mfd, 0, SEEK_SET) < 0)) {
		close(mfd);
		mfd = -1;
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", mfd >= 0 ? mfd : fd);

	ini_load = L;
	iniparser_set_error_callback(ini_error);
	dictionary *d = iniparser_load(path);
	iniparser_set_error_callback(NULL);
	ini_load = NULL;
	if (!d && !L->fatal)
		problem(L, -1, 0, NULL, true, "iniparser could not read %s (is /proc mounted?)", path);
	return d;
}

static void compare_with_iniparser(struct load *L, dictionary *d)
{
	char full[256], q[80];
	for (size_t i = 0; i < L->c->nsec && !L->oom; i++) {
		struct section *s = &L->c->sec[i];
		for (size_t j = 0; j < s->ne; j++) {
			struct entry *e = &s->e[j];
			/* A repeated key already blocks its section, and there
			 * iniparser's last value differs from our first one. */
			if (s->repeated & (UINT32_C(1) << e->slot))
				continue;
			const char *key = e->slot < JS_KEY__COUNT ? js_key_name((enum js_key)e->slot)
								  : gkey_names[e->slot - JS_KEY__COUNT];
			snprintf(full, sizeof full, "%s:%s", s->name, key);
			const char *v = iniparser_getstring(d, full, NULL);
			if (!v || strcmp(v, e->value) != 0) {
				problem(L, -1, e->line, NULL, false,
					"[%s] %s: iniparser read this line differently (%s%s%s); rewrite it plainly",
					s->name, key, v ? "as \"" : "not at all", v ? quoted(v, q, sizeof q) : "",
					v ? "\"" : "");
				continue;
			}
			/* From here on the value is iniparser's. */
			char *copy = strdup(v);
			if (!copy) {
				L->oom = true;
				return;
			}
			free(e->value);
			e->value = copy;
		}
	}
}

static void apply_global(struct load *L)
{
	struct js_global *g = &L->c->global;
	char why[300];
	long idx = sec_find(L->c, "global", 6);
	if (idx < 0)
		return;
	struct section *s = &L->c->sec[idx];
	for (size_t j = 0; j < s->ne; j++) {
		char *dst = NULL;
		switch (s->e[j].slot - JS_KEY__COUNT) {
		case GKEY_IMAGES_DIR:
			dst = g->images_dir;
			break;
		case GKEY_STATE_DIR:
			dst = g->state_dir;
			break;
		case GKEY_RUN_DIR:
			dst = g->run_dir;
			break;
		case GKEY_HOST_ROOT:
			dst = g->host_root;
			break;
		case GKEY_CONTAINERS_CPU_WEIGHT: {
			uint64_t u;
			if (js_parse_uint(s->e[j].value, 1, CONTAINERS_CPU_WEIGHT_MAX, false, &u, why, sizeof why) == 0)
				g->containers_cpu_weight = (uint32_t)u;
			continue;
		}
		case GKEY_HELP_CONTACT:
			js_parse_contact(s->e[j].value, g->help_contact, sizeof g->help_contact, why, sizeof why);
			continue;
		default:
			continue;
		}
		/* Already reported by the prescan when invalid; the default
		 * stays, and the global problem stops every sandboxed login. */
		char path[PATH_MAX];
		if (js_parse_abspath(s->e[j].value, path, sizeof path, why, sizeof why) == 0)
			memcpy(dst, path, strlen(path) + 1);
	}
}

void js_config_free(struct js_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nsec; i++) {
		for (size_t j = 0; j < c->sec[i].ne; j++)
			free(c->sec[i].e[j].value);
		free(c->sec[i].e);
		free(c->sec[i].name);
		free(c->sec[i].problem);
	}
	free(c->sec);
	free(c->table);
	free(c->valid);
	free(c->global_problem);
	free(c);
}

int js_config_load_owner(const char *path, uid_t owner, struct js_config **out, struct js_problems *pr)
{
	struct load L = {.path = path, .pr = pr, .cur = CUR_NONE};
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	L.c = calloc(1, sizeof *L.c);
	L.scratch = malloc(sizeof *L.scratch);
	if (!L.c || !L.scratch) {
		free(L.c);
		free(L.scratch);
		return -ENOMEM;
	}
	strcpy(L.c->global.images_dir, "/var/lib/jsandbox/images");
	strcpy(L.c->global.state_dir, "/var/lib/jsandbox");
	strcpy(L.c->global.run_dir, "/run/jsandbox");
	strcpy(L.c->global.host_root, "/");
	L.c->global.containers_cpu_weight = JS_CONTAINERS_CPU_WEIGHT_DEFAULT;
	strcpy(L.c->global.help_contact, JS_HELP_CONTACT_DEFAULT);
	js_policy_defaults(L.scratch);

	r = read_config(&L, owner, &fd, &buf, &len);
	if (r == 0)
		r = check_bytes(&L, (const unsigned char *)buf, len);
	if (r == 0)
		prescan(&L, buf, len);
	if (r == 0 && !L.fatal && !L.oom) {
		dictionary *d = ini_parse(&L, fd, buf, len);
		if (d) {
			compare_with_iniparser(&L, d);
			iniparser_freedict(d);
		}
	}
	if (r == 0 && !L.fatal && !L.oom)
		apply_global(&L);
	if (r == 0 && !L.fatal && !L.oom) {
		L.c->valid = calloc(L.c->nsec ? L.c->nsec : 1, sizeof *L.c->valid);
		if (!L.c->valid)
			L.oom = true;
		for (size_t i = 0; L.c->valid && i < L.c->nsec; i++)
			if (L.c->sec[i].kind != SEC_INVALID)
				L.c->valid[L.c->nvalid++] = i;
	}
	if (L.hidden) {
		struct js_problem p = {.global = L.hidden_global};
		snprintf(p.msg, sizeof p.msg, "%s: %zu more problems not shown", path, L.hidden);
		push_problem(&L, &p);
	}
	free(L.scratch);
	if (L.oom)
		r = -ENOMEM;
	else if (r == 0 && L.fatal)
		r = -EINVAL;
	if (r < 0) {
		js_config_free(L.c);
		return r;
	}
	*out = L.c;
	return 0;
}

int js_config_load(const char *path, struct js_config **out, struct js_problems *pr)
{
	return js_config_load_owner(path, 0, out, pr);
}

const struct js_global *js_config_global(const struct js_config *c)
{
	return &c->global;
}

bool js_config_has_global_problem(const struct js_config *c)
{
	return c->global_bad;
}

size_t js_config_nsections(const struct js_config *c)
{
	return c->nvalid;
}

const char *js_config_section(const struct js_config *c, size_t i)
{
	return i < c->nvalid ? c->sec[c->valid[i]].name : NULL;
}

/* ---- resolution ---- */

static int resolve_fail(char *err_msg, size_t err_len, const char *msg)
{
	if (err_msg && err_len)
		snprintf(err_msg, err_len, "%s", msg);
	return -EINVAL;
}

static int apply_section(const struct section *s, struct js_policy *p, char *err_msg, size_t err_len)
{
	char why[400], msg[600];
	if (s->problem)
		return resolve_fail(err_msg, err_len, s->problem);
	for (size_t j = 0; j < s->ne; j++) {
		enum js_key k = (enum js_key)s->e[j].slot;
		if (s->e[j].slot >= JS_KEY__COUNT)
			continue;
		/* Validated at load time; a failure here would be a bug, and
		 * like any other it refuses rather than half-applies. */
		if (js_policy_apply(p, k, s->e[j].value, why, sizeof why) < 0) {
			snprintf(msg, sizeof msg, "[%s] %s: %s", s->name, js_key_name(k), why);
			return resolve_fail(err_msg, err_len, msg);
		}
		snprintf(p->origin[k], sizeof p->origin[k], "[%s]", s->name);
	}
	return 0;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

int js_config_resolve(const struct js_config *c, const char *user, const char *const *groups, size_t ngroups,
		      struct js_policy *out, char *err_msg, size_t err_len)
{
	char name[JS_NAME_MAX + 8];
	int r;

	if (err_msg && err_len)
		err_msg[0] = '\0';
	if (!c)
		return resolve_fail(err_msg, err_len, "no policy loaded");
	if (!user || !*user || strlen(user) >= JS_NAME_MAX)
		return resolve_fail(err_msg, err_len, "invalid user name");
	if (c->global_bad)
		return resolve_fail(err_msg, err_len, c->global_problem ? c->global_problem : "invalid policy");

	/* Built on the heap and copied out at the end: *out is never left
	 * half-resolved. */
	_cleanup_free_ struct js_policy *p = malloc(sizeof *p);
	_cleanup_free_ size_t *gi = malloc((ngroups ? ngroups : 1) * sizeof *gi);
	if (!p || !gi)
		return -ENOMEM;
	js_policy_defaults(p);
	memcpy(p->user, user, strlen(user) + 1);

	long idx = sec_find(c, "default", 7);
	if (idx >= 0 && (r = apply_section(&c->sec[idx], p, err_msg, err_len)) < 0)
		return r;

	/* Group sections in file order, whatever the order of the groups:
	 * the order an admin sees in the file is the order that counts. */
	size_t n = 0;
	for (size_t i = 0; i < ngroups; i++) {
		if (!groups[i] || js_snprintf(name, sizeof name, "group:%s", groups[i]) < 0)
			continue;
		idx = sec_find(c, name, strlen(name));
		if (idx >= 0 && c->sec[idx].kind == SEC_GROUP)
			gi[n++] = (size_t)idx;
	}
	qsort(gi, n, sizeof *gi, cmp_size);
	for (size_t i = 0; i < n; i++) {
		if (i && gi[i] == gi[i - 1])
			continue;
		if ((r = apply_section(&c->sec[gi[i]], p, err_msg, err_len)) < 0)
			return r;
	}

	snprintf(name, sizeof name, "user:%s", user);
	idx = sec_find(c, name, strlen(name));
	if (idx >= 0 && c->sec[idx].kind == SEC_USER && (r = apply_section(&c->sec[idx], p, err_msg, err_len)) < 0)
		return r;

	*out = *p;
	return 0;
}

/* The user's group names from NSS. A lookup error fails the resolution: a
 * group section may restrict as well as grant, so a membership we could not
 * see must not quietly loosen a policy. */
static int user_group_names(const char *user, char ***namesp, size_t *np, char *err_msg, size_t err_len)
{
	char msg[300];
	long bs = sysconf(_SC_GETPW_R_SIZE_MAX);
	size_t blen = bs > 0 ? (size_t)bs : 16384;
	_cleanup_free_ char *buf = NULL;
	struct passwd pw, *pwp = NULL;
	int r;

	for (;;) {
		char *nb = realloc(buf, blen);
		if (!nb)
			return -ENOMEM;
		buf = nb;
		r = getpwnam_r(user, &pw, buf, blen, &pwp);
		if (r != ERANGE || blen >= (1u << 24))
			break;
		blen *= 2;
	}
	if (r != 0 || !pwp) {
		snprintf(msg, sizeof msg, "user %s: %s", user, r ? strerror(r) : "no such user");
		resolve_fail(err_msg, err_len, msg);
		return r ? -r : -ENOENT;
	}

	/* getgrouplist() says how many it needs when the array is short. */
	int ng = 64;
	_cleanup_free_ gid_t *gids = NULL;
	for (int tries = 0;; tries++) {
		gid_t *g = realloc(gids, (size_t)ng * sizeof *g);
		if (!g)
			return -ENOMEM;
		gids = g;
		int want = ng;
		if (getgrouplist(user, pw.pw_gid, gids, &want) >= 0) {
			ng = want;
			break;
		}
		if (tries > 8 || want > (1 << 20)) {
			snprintf(msg, sizeof msg, "user %s: cannot list groups", user);
			return resolve_fail(err_msg, err_len, msg);
		}
		ng = want > ng ? want : ng * 2;
	}

	char **names = calloc((size_t)ng + 1, sizeof *names);
	if (!names)
		return -ENOMEM;
	size_t n = 0;
	long gs = sysconf(_SC_GETGR_R_SIZE_MAX);
	size_t glen = gs > 0 ? (size_t)gs : 16384;
	_cleanup_free_ char *gbuf = malloc(glen);
	r = gbuf ? 0 : ENOMEM;
	for (int i = 0; i < ng && r == 0; i++) {
		struct group gr, *grp = NULL;
		while ((r = getgrgid_r(gids[i], &gr, gbuf, glen, &grp)) == ERANGE && glen < (1u << 24)) {
			char *nb = realloc(gbuf, glen * 2);
			if (!nb) {
				r = ENOMEM;
				break;
			}
			gbuf = nb;
			glen *= 2;
		}
		if (r == 0 && grp && !(names[n++] = strdup(grp->gr_name)))
			r = ENOMEM;
		/* r == 0 with no entry: a gid without a name cannot be
		 * named by any [group:] section either. */
	}
	if (r != 0) {
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		snprintf(msg, sizeof msg, "user %s: cannot look up groups: %s", user, strerror(r));
		resolve_fail(err_msg, err_len, msg);
		return -r;
	}
	*namesp = names;
	*np = n;
	return 0;
}

int js_config_resolve_user(const struct js_config *c, const char *user, struct js_policy *out, char *err_msg,
			   size_t err_len)
{
	char **names = NULL;
	size_t n = 0;
	if (err_msg && err_len)
		err_msg[0] = '\0';
	if (!c)
		return resolve_fail(err_msg, err_len, "no policy loaded");
	if (!user || !*user)
		return resolve_fail(err_msg, err_len, "invalid user name");
	int r = user_group_names(user, &names, &n, err_msg, err_len);
	if (r < 0)
		return r;
	r = js_config_resolve(c, user, (const char *const *)names, n, out, err_msg, err_len);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}
