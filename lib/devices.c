/* SPDX-License-Identifier: MIT */
#include "devices.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "cdi.h"
#include "cgroup.h"
#include "devnode.h"
#include "ebpf.h"
#include "gpu.h"
#include "safefs.h"

#define RW	(JS_DEV_READ | JS_DEV_WRITE)
#define ACC_ALL (JS_DEV_READ | JS_DEV_WRITE | JS_DEV_MKNOD)

void js_dev_list_free(struct js_dev_list *l)
{
	free(l->r);
	memset(l, 0, sizeof *l);
}

static bool same_numbers(const struct js_dev_rule *a, const struct js_dev_rule *b)
{
	return a->type == b->type && a->major == b->major && a->minor == b->minor;
}

int js_dev_list_add(struct js_dev_list *l, const struct js_dev_rule *r, struct js_err *err)
{
	/* Majors are 12 bits and minors 20 (MINORBITS in kdev_t.h). */
	if (!strchr("cba", r->type) || r->type == '\0' || r->major < -1 || r->major > 4095 || r->minor < -1 ||
	    r->minor > (1L << 20) - 1 || !(r->access & ACC_ALL) || (r->access & ~ACC_ALL))
		return js_fail(err, EINVAL, "unresolved or malformed device rule");
	if (r->path[0] && (r->type == 'a' || r->major < 0 || r->minor < 0))
		return js_fail(err, EINVAL, "device node %s needs type c or b and exact numbers", r->path);
	for (size_t i = 0; i < l->n; i++) {
		struct js_dev_rule *e = &l->r[i];
		if (r->path[0] && !strcmp(e->path, r->path) && !same_numbers(e, r))
			return js_fail(err, EEXIST,
				       "%s is granted twice with different numbers (%c %ld:%ld and %c %ld:%ld)",
				       r->path, e->type, e->major, e->minor, r->type, r->major, r->minor);
		if (same_numbers(e, r) && !strcmp(e->path, r->path)) {
			e->access |= r->access;
			e->optional = e->optional && r->optional; /* required by one: required */
			return 0;
		}
	}
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 32;
		struct js_dev_rule *n = realloc(l->r, nc * sizeof *n);
		if (!n)
			return js_fail(err, ENOMEM, "out of memory building the device list");
		l->r = n;
		l->cap = nc;
	}
	l->r[l->n++] = *r;
	return 0;
}

/* Does one rule cover the request? Same test as the v1 controller's
 * match_exception(): type ('a' matches both), major and minor ('*'
 * matches any), and every requested access bit. */
static bool rule_covers(const struct js_dev_rule *r, char type, long major, long minor, unsigned access)
{
	return (r->type == 'a' || r->type == type) && (r->major < 0 || r->major == major) &&
	       (r->minor < 0 || r->minor == minor) && (access & ~r->access) == 0;
}

bool js_dev_list_allows(const struct js_dev_list *l, char type, long major, long minor, unsigned access)
{
	for (size_t i = 0; i < l->n; i++)
		if (rule_covers(&l->r[i], type, major, minor, access))
			return true;
	return false;
}

/* What every login needs. rw, never m: the container's nodes are bound
 * from the host or come from its own devpts, and nothing inside has a
 * reason to mknod (overlayfs whiteouts, char 0:0, are exempt from the
 * device cgroup: see devcgroup_inode_mknod() and the WHITEOUT_DEV test
 * in the kernel). ptmx and the ptys belong to the container's devpts
 * instance, so they have no host node to bind. */
static const struct js_dev_rule defaults[] = {
    {'c', 1, 3, RW, "/dev/null", false},
    {'c', 1, 5, RW, "/dev/zero", false},
    {'c', 1, 7, RW, "/dev/full", false},
    {'c', 1, 8, RW, "/dev/random", false},
    {'c', 1, 9, RW, "/dev/urandom", false},
    {'c', 5, 0, RW, "/dev/tty", false},
    {'c', 5, 2, RW, "", false},	   /* /dev/ptmx -> pts/ptmx */
    {'c', 136, -1, RW, "", false}, /* /dev/pts/N: UNIX98_PTY_SLAVE_MAJOR */
};

bool js_devices_is_default(const struct js_dev_rule *r)
{
	for (size_t i = 0; i < JS_ARRAY_SIZE(defaults); i++)
		if (same_numbers(&defaults[i], r) && !strcmp(defaults[i].path, r->path))
			return true;
	return false;
}

int js_devices_add_defaults(struct js_dev_list *l, struct js_err *err)
{
	for (size_t i = 0; i < JS_ARRAY_SIZE(defaults); i++) {
		int r = js_dev_list_add(l, &defaults[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}

int js_devices_resolve_rule(const char *host_root, const struct js_dev_rule *in, struct js_dev_rule *out,
			    struct js_err *err)
{
	if (in->type != 0) {
		*out = *in;
		return 0;
	}
	if (strncmp(in->path, "/dev/", 5) != 0)
		return js_fail(err, EINVAL, "device path \"%s\" is not under /dev/", in->path);
	_cleanup_close_ int rootfd = open(host_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return js_failm(err, errno, "cannot open device discovery root \"%s\"", host_root);
	/* /dev has user-writable corners (/dev/shm, /dev/mqueue): a symlink
	 * planted there must not turn "/dev/shm/x" into /dev/sda. No
	 * symlink is followed, the final one included, and the lookup
	 * cannot leave host_root. */
	_cleanup_close_ int fd = js_openat_beneath(rootfd, in->path + 1, O_PATH, 0);
	if (fd < 0)
		return js_failm(err, -fd, "device %s", in->path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return js_failm(err, errno, "device %s", in->path);
	if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
		return js_fail(err, EINVAL, "%s is not a device node", in->path);
	*out = *in;
	out->type = S_ISCHR(st.st_mode) ? 'c' : 'b';
	out->major = (long)major(st.st_rdev);
	out->minor = (long)minor(st.st_rdev);
	return 0;
}

/* Leave out, rule and node, each optional node host_root/dev lacks. What
 * is there stays, and is checked like any other when it is opened. */
static int drop_absent(const char *host_root, struct js_dev_list *l, struct js_err *err)
{
	_cleanup_close_ int rootfd = -1;
	size_t k = 0;
	for (size_t i = 0; i < l->n; i++) {
		const struct js_dev_rule *r = &l->r[i];
		if (r->optional && r->path[0] && rootfd < 0 &&
		    (rootfd = open(host_root, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
			return js_failm(err, errno, "cannot open device discovery root \"%s\"", host_root);
		if (r->optional && r->path[0]) {
			int fd = js_openat_beneath(rootfd, r->path + 1, O_PATH, 0);
			if (fd == -ENOENT)
				continue;
			if (fd >= 0)
				close(fd);
		}
		l->r[k++] = l->r[i];
	}
	l->n = k;
	return 0;
}

int js_devices_build(const char *host_root, const struct js_gpu_sel *sel, const struct js_dev_rule *devices,
		     size_t ndevices, struct js_dev_list *out, struct js_err *err)
{
	memset(out, 0, sizeof *out);
	int r = js_devices_add_defaults(out, err);
	if (r >= 0 && sel->kind != JS_GPUS_NONE) {
		struct js_gpu_list gpus;
		struct js_cdi_set cdi;
		r = js_gpu_discover(host_root, &gpus, err);
		if (r >= 0) {
			/* Only a user granted a GPU reads the CDI specs: a
			 * malformed one refuses those logins, nobody else's. */
			r = js_gpu_load_cdi(host_root, &cdi, err);
			if (r >= 0) {
				r = js_gpu_select_cdi(host_root, &gpus, &cdi, sel, out, err);
				js_cdi_set_free(&cdi);
			}
			js_gpu_list_free(&gpus);
		}
	}
	for (size_t i = 0; r >= 0 && i < ndevices; i++) {
		struct js_dev_rule rule;
		r = js_devices_resolve_rule(host_root, &devices[i], &rule, err);
		if (r >= 0) {
			rule.optional = false;
			r = js_dev_list_add(out, &rule, err);
		}
	}
	if (r >= 0)
		r = drop_absent(host_root, out, err);
	if (r < 0)
		js_dev_list_free(out);
	return r < 0 ? r : 0;
}

/* ---- the nodes the container gets ---- */

void js_dev_nodes_close(struct js_dev_nodes *n)
{
	for (size_t i = 0; i < n->n; i++)
		if (n->v[i].fd >= 0)
			close(n->v[i].fd);
	free(n->v);
	memset(n, 0, sizeof *n);
}

static struct js_node *nodes_push(struct js_dev_nodes *n, struct js_err *err)
{
	if (n->n == n->cap) {
		size_t nc = n->cap ? n->cap * 2 : 16;
		struct js_node *v = realloc(n->v, nc * sizeof *v);
		if (!v) {
			js_fail(err, ENOMEM, "out of memory");
			return NULL;
		}
		n->v = v;
		n->cap = nc;
	}
	struct js_node *e = &n->v[n->n];
	memset(e, 0, sizeof *e);
	e->magic = JS_SETUP_MAGIC;
	e->fd = -1;
	return e;
}

int js_dev_nodes_add(struct js_dev_nodes *n, char kind, const char *name, int fd, struct js_err *err)
{
	struct js_node *e = nodes_push(n, err);
	if (!e) {
		close(fd);
		return -ENOMEM;
	}
	e->kind = kind;
	if (js_strlcpy(e->name, name, sizeof e->name) < 0) {
		close(fd);
		return js_fail(err, ENAMETOOLONG, "name \"%s\" too long", name);
	}
	e->fd = fd;
	n->n++;
	return 0;
}

int js_dev_nodes_add_link(struct js_dev_nodes *n, const char *name, const char *target, struct js_err *err)
{
	struct js_node *e = nodes_push(n, err);
	if (!e)
		return -ENOMEM;
	e->kind = JS_NODE_LINK;
	if (js_strlcpy(e->name, name, sizeof e->name) < 0 || js_strlcpy(e->target, target, sizeof e->target) < 0)
		return js_fail(err, ENAMETOOLONG, "link \"%s\" too long", name);
	n->n++;
	return 0;
}

/* The node of rule r under rootfd, as an O_PATH fd, checked to be exactly
 * the device the rule names. */
static int find_node(int rootfd, const char *root, const struct js_dev_rule *r, struct js_err *err)
{
	if (!js_dev_path_ok(r->path))
		return js_fail(err, EINVAL, "device path \"%s\" is not a plain name under /dev/", r->path);
	/* The same walk as js_devices_resolve_rule: no symlink anywhere, the
	 * last component included, and never out of the root. */
	_cleanup_close_ int fd = js_openat_beneath(rootfd, r->path + 1, O_PATH, 0);
	if (fd < 0)
		return js_failm(err, -fd, "device node %s (under \"%s\")", r->path, root);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return js_failm(err, errno, "device node %s", r->path);
	char t = S_ISCHR(st.st_mode) ? 'c' : S_ISBLK(st.st_mode) ? 'b' : 0;
	if (t != r->type || (long)major(st.st_rdev) != r->major || (long)minor(st.st_rdev) != r->minor)
		return js_fail(err, EINVAL,
			       "device node %s (under \"%s\") is not %c %ld:%ld as the allow-list says; "
			       "refusing a /dev that differs from the cgroup rules",
			       r->path, root, r->type, r->major, r->minor);
	return js_steal_fd(&fd);
}

static int clone_node(int rootfd, const char *root, const struct js_dev_rule *r, struct js_err *err)
{
	_cleanup_close_ int fd = find_node(rootfd, root, r, err);
	if (fd < 0)
		return fd;
	_cleanup_close_ int tree =
	    (int)syscall(SYS_open_tree, fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree < 0)
		return js_failm(err, errno, "cannot clone device node %s", r->path);
	struct mount_attr a = {.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC};
	if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &a, sizeof a) < 0)
		return js_failm(err, errno, "cannot set the mount flags of %s", r->path);
	return js_steal_fd(&tree);
}

/* Every node of the list with a path, found without following links:
 * standard nodes under "/", the others under host_root. With out, each is
 * cloned into a detached mount and added there; without, only checked. */
static int each_node(const char *host_root, const struct js_dev_list *l, struct js_dev_nodes *out, struct js_err *err)
{
	_cleanup_close_ int hostfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int rootfd = open(host_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (hostfd < 0 || rootfd < 0)
		return js_failm(err, errno, "cannot open device discovery root \"%s\"", host_root);
	for (size_t i = 0; i < l->n; i++) {
		const struct js_dev_rule *r = &l->r[i];
		if (!r->path[0])
			continue;
		bool std = js_devices_is_default(r);
		int dfd = std ? hostfd : rootfd;
		const char *root = std ? "/" : host_root;
		int fd = out ? clone_node(dfd, root, r, err) : find_node(dfd, root, r, err);
		if (fd < 0)
			return fd;
		if (!out) {
			close(fd);
			continue;
		}
		int rc = js_dev_nodes_add(out, JS_NODE_DEV, r->path, fd, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int js_devices_check_nodes(const char *host_root, const struct js_dev_list *l, struct js_err *err)
{
	return each_node(host_root, l, NULL, err);
}

int js_devices_open_nodes(const char *host_root, const struct js_dev_list *l, struct js_dev_nodes *out,
			  struct js_err *err)
{
	return each_node(host_root, l, out, err);
}

static void fmt_access(unsigned a, char s[4])
{
	size_t k = 0;
	/* The kernel's order (devices.list prints r, w, m). */
	if (a & JS_DEV_READ)
		s[k++] = 'r';
	if (a & JS_DEV_WRITE)
		s[k++] = 'w';
	if (a & JS_DEV_MKNOD)
		s[k++] = 'm';
	s[k] = '\0';
}

int js_dev_rule_format(const struct js_dev_rule *r, char *buf, size_t len)
{
	char maj[24] = "*", min[24] = "*", acc[4];
	if (r->major >= 0)
		snprintf(maj, sizeof maj, "%ld", r->major);
	if (r->minor >= 0)
		snprintf(min, sizeof min, "%ld", r->minor);
	fmt_access(r->access, acc);
	return js_snprintf(buf, len, "%c %s:%s %s", r->type ? r->type : '?', maj, min, acc);
}

/* ---- cgroup v1 ---- */

/* The v1 exception set a list amounts to: one entry per (type, major,
 * minor) with the access bits OR-ed, as dev_exception_add() merges them;
 * type 'a' split into c and b (see devices.h). */
static int v1_set(const struct js_dev_list *l, struct js_dev_list *set, struct js_err *err)
{
	for (size_t i = 0; i < l->n; i++) {
		struct js_dev_rule e = l->r[i];
		e.path[0] = '\0';
		const char *types = e.type == 'a' ? "cb" : (e.type == 'b' ? "b" : "c");
		for (const char *t = types; *t; t++) {
			e.type = *t;
			int r = js_dev_list_add(set, &e, err);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* Parse devices.list. *allow_all is set for "a *:* rwm", which the kernel
 * shows for a cgroup whose default is allow (a fresh one). */
static int v1_read(int dirfd, struct js_dev_list *set, bool *allow_all, struct js_err *err)
{
	char buf[65536];
	struct js_err e;
	int n = js_read_file_at(dirfd, "devices.list", buf, sizeof buf, &e);
	if (n < 0)
		return js_fail(err, -n, "cgroup: %s", e.msg);
	*allow_all = false;
	for (char *line = buf, *next; *line; line = next) {
		next = strchrnul(line, '\n');
		if (*next)
			*next++ = '\0';
		if (!*line)
			continue;
		char type, maj[16], min[16], acc[8];
		if (sscanf(line, "%c %15[0-9*]:%15[0-9*] %7s", &type, maj, min, acc) != 4)
			return js_fail(err, EIO, "cgroup: unexpected devices.list line \"%s\"", line);
		if (type == 'a') {
			*allow_all = true;
			continue;
		}
		struct js_dev_rule r = {.type = type};
		r.major = maj[0] == '*' ? -1 : strtol(maj, NULL, 10);
		r.minor = min[0] == '*' ? -1 : strtol(min, NULL, 10);
		for (const char *c = acc; *c; c++)
			r.access |= *c == 'r' ? JS_DEV_READ : *c == 'w' ? JS_DEV_WRITE : *c == 'm' ? JS_DEV_MKNOD : 0;
		int rc = js_dev_list_add(set, &r, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static unsigned v1_access_of(const struct js_dev_list *set, const struct js_dev_rule *r)
{
	for (size_t i = 0; i < set->n; i++)
		if (same_numbers(&set->r[i], r))
			return set->r[i].access;
	return 0;
}

static int v1_write(int dirfd, const char *knob, const struct js_dev_rule *r, unsigned access, struct js_err *err)
{
	struct js_dev_rule w = *r;
	w.access = access;
	char line[64];
	js_dev_rule_format(&w, line, sizeof line);
	struct js_err e;
	int rc = js_write_file_at(dirfd, knob, line, &e);
	return rc < 0 ? js_fail(err, -rc, "cgroup: %s", e.msg) : 0;
}

int js_devices_apply_v1(int dirfd, const struct js_dev_list *l, struct js_err *err)
{
	struct js_dev_list want = {0}, have = {0};
	bool allow_all;
	int r = v1_set(l, &want, err);
	if (r >= 0)
		r = v1_read(dirfd, &have, &allow_all, err);
	if (r >= 0 && allow_all) {
		/* Default allow (a new cgroup): "a" into devices.deny makes it
		 * default deny with no exception. The kernel refuses that
		 * (EINVAL) once the cgroup has children. */
		struct js_err e;
		r = js_write_file_at(dirfd, "devices.deny", "a", &e);
		if (r < 0)
			r = js_fail(err, -r, "cgroup: %s", e.msg);
		js_dev_list_free(&have);
	}
	/* Removals first, then additions: in between the cgroup allows the
	 * intersection of the old and new lists, never more than either.
	 * In default-deny mode a line written to devices.deny removes those
	 * access bits from the exception with the same type and numbers
	 * (dev_exception_rm()). */
	for (size_t i = 0; r >= 0 && i < have.n; i++) {
		unsigned extra = have.r[i].access & ~v1_access_of(&want, &have.r[i]);
		if (extra)
			r = v1_write(dirfd, "devices.deny", &have.r[i], extra, err);
	}
	for (size_t i = 0; r >= 0 && i < want.n; i++) {
		unsigned missing = want.r[i].access & ~v1_access_of(&have, &want.r[i]);
		if (missing)
			r = v1_write(dirfd, "devices.allow", &want.r[i], missing, err);
	}
	/* Read back: the kernel is the judge of what is enforced. */
	js_dev_list_free(&have);
	if (r >= 0)
		r = v1_read(dirfd, &have, &allow_all, err);
	if (r >= 0) {
		bool same = !allow_all && have.n == want.n;
		for (size_t i = 0; same && i < want.n; i++)
			same = v1_access_of(&have, &want.r[i]) == want.r[i].access;
		if (!same)
			r = js_fail(err, EIO, "cgroup: devices.list does not match the allow-list after writing it");
	}
	js_dev_list_free(&want);
	js_dev_list_free(&have);
	return r < 0 ? r : 0;
}

static bool v1_has_devices(const char *controllers)
{
	for (const char *p = controllers; *p;) {
		const char *e = strchrnul(p, ',');
		if (e - p == 7 && !strncmp(p, "devices", 7))
			return true;
		p = *e ? e + 1 : e;
	}
	return false;
}

int js_devices_apply(const struct js_cgroup *cg, const struct js_dev_list *l, struct js_err *err)
{
	size_t enforced = 0;
	for (size_t i = 0; i < cg->n; i++) {
		const struct js_cgroup_hier *h = &cg->h[i];
		if (h->fd < 0)
			continue;
		int r;
		if (h->v2)
			r = js_ebpf_apply(h->fd, l, err);
		else if (v1_has_devices(h->controllers))
			r = js_devices_apply_v1(h->fd, l, err);
		else
			continue;
		if (r < 0)
			return r;
		enforced++;
	}
	if (!enforced)
		return js_fail(err, EOPNOTSUPP,
			       "no device controller for the user's cgroup (neither cgroup v2 nor a v1 devices "
			       "hierarchy): refusing to run without a device allow-list");
	return 0;
}
