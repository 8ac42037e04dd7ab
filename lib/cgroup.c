/* SPDX-License-Identifier: MIT */
#include "cgroup.h"
#include "sdscope.h"

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define JS_CGROUP_PARENT "jsandbox"

uint64_t js_host_memory(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/meminfo", "re");
	char line[256];
	while (f && fgets(line, sizeof line, f)) {
		unsigned long long kb;
		if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
			return (uint64_t)kb * 1024;
	}
	return 0;
}

uint64_t js_cpu_weight_to_shares(uint32_t weight)
{
	/* v2 default weight 100 <-> v1 default shares 1024, linearly. */
	uint64_t s = (uint64_t)weight * 1024 / 100;
	return s < 2 ? 2 : s;
}

static bool has_ctrl(const struct js_cgroup_hier *h, const char *c)
{
	size_t l = strlen(c);
	for (const char *p = h->controllers; *p;) {
		const char *e = strchrnul(p, ',');
		if ((size_t)(e - p) == l && !strncmp(p, c, l))
			return true;
		p = *e ? e + 1 : e;
	}
	return false;
}

int js_cgroup_discover(struct js_cgroup *cg, struct js_err *err)
{
	memset(cg, 0, sizeof *cg);
	for (size_t i = 0; i < JS_CGROUP_MAX_HIER; i++)
		cg->h[i].fd = -1;
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return js_failm(err, errno, "cannot read /proc/self/mountinfo");
	char line[4096];
	while (fgets(line, sizeof line, f)) {
		/* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
		char *sep = strstr(line, " - ");
		if (!sep)
			continue;
		char fstype[32], source[256], superopts[1024];
		if (sscanf(sep + 3, "%31s %255s %1023s", fstype, source, superopts) != 3)
			continue;
		bool v2 = !strcmp(fstype, "cgroup2");
		if (!v2 && strcmp(fstype, "cgroup"))
			continue;
		char root[256], mnt[256];
		if (sscanf(line, "%*s %*s %*s %255s %255s", root, mnt) != 2)
			continue;
		if (strcmp(root, "/"))
			continue; /* a bind of a sub-cgroup, not the hierarchy */
		if (cg->n == JS_CGROUP_MAX_HIER)
			break;
		struct js_cgroup_hier *h = &cg->h[cg->n];
		h->v2 = v2;
		h->controllers[0] = '\0';
		if (!v2) {
			/* superopts: rw,memory  or rw,cpu,cpuacct  or rw,name=systemd */
			size_t off = 0;
			for (char *tok = strtok(superopts, ","); tok; tok = strtok(NULL, ",")) {
				if (!strcmp(tok, "rw") || !strcmp(tok, "ro") || strchr(tok, '=') ||
				    !strcmp(tok, "noprefix") || !strcmp(tok, "clone_children") ||
				    !strcmp(tok, "xattr") || !strcmp(tok, "nsdelegate"))
					continue;
				int w = snprintf(h->controllers + off, sizeof h->controllers - off, "%s%s",
						 off ? "," : "", tok);
				if (w > 0)
					off += (size_t)w;
			}
			if (off == 0)
				continue; /* named hierarchy without controllers */
			/* Only the controllers we set limits or rules in; a new
			 * cpuset group, say, starts with no CPUs and refuses
			 * processes until filled in. */
			if (!has_ctrl(h, "memory") && !has_ctrl(h, "pids") && !has_ctrl(h, "cpu") &&
			    !has_ctrl(h, "cpuacct") && !has_ctrl(h, "devices") && !has_ctrl(h, "freezer"))
				continue;
		}
		/* the same hierarchy can be mounted twice; keep the first */
		bool dup = false;
		for (size_t i = 0; i < cg->n; i++)
			dup = dup || (cg->h[i].v2 == v2 && !strcmp(cg->h[i].controllers, h->controllers));
		if (dup)
			continue;
		if (js_strlcpy(h->mountpoint, mnt, sizeof h->mountpoint) < 0)
			continue; /* a mount point too long to name: not ours to use */
		cg->n++;
	}
	if (cg->n == 0)
		return js_fail(err, ENOENT, "no cgroup hierarchy is mounted");
	return 0;
}

static int write_knob(int dfd, const char *knob, const char *val, struct js_err *err)
{
	struct js_err e;
	int r = js_write_file_at(dfd, knob, val, &e);
	if (r < 0)
		return js_fail(err, -r, "cgroup: %s", e.msg);
	return 0;
}

static int apply_limits(struct js_cgroup_hier *h, const struct js_cgroup_limits *lim, struct js_err *err)
{
	char v[64];
	int r = 0;
	if (h->v2) {
		/* v2 knobs exist only where the controller is enabled (not in
		 * the hybrid layout's controller-less unified tree). */
		if (faccessat(h->fd, "memory.max", F_OK, 0) == 0) {
			lim->memory_max ? snprintf(v, sizeof v, "%" PRIu64, lim->memory_max)
					: snprintf(v, sizeof v, "max");
			if ((r = write_knob(h->fd, "memory.max", v, err)) < 0)
				return r;
			write_knob(h->fd, "memory.swap.max", lim->memory_max ? "0" : "max", NULL);
		}
		if (faccessat(h->fd, "pids.max", F_OK, 0) == 0) {
			lim->pids_max ? snprintf(v, sizeof v, "%" PRIu64, lim->pids_max) : snprintf(v, sizeof v, "max");
			if ((r = write_knob(h->fd, "pids.max", v, err)) < 0)
				return r;
		}
		if (faccessat(h->fd, "cpu.max", F_OK, 0) == 0) {
			lim->cpu_max ? snprintf(v, sizeof v, "%u 100000", lim->cpu_max * 1000u)
				     : snprintf(v, sizeof v, "max 100000");
			if ((r = write_knob(h->fd, "cpu.max", v, err)) < 0)
				return r;
			snprintf(v, sizeof v, "%u", lim->cpu_weight ? lim->cpu_weight : 100);
			if ((r = write_knob(h->fd, "cpu.weight", v, err)) < 0)
				return r;
		}
		return 0;
	}
	if (has_ctrl(h, "memory")) {
		/* v1 wants a number; "-1" is unlimited. */
		lim->memory_max ? snprintf(v, sizeof v, "%" PRIu64, lim->memory_max) : snprintf(v, sizeof v, "-1");
		if ((r = write_knob(h->fd, "memory.limit_in_bytes", v, err)) < 0)
			return r;
		/* Without swap accounting this knob is absent; that is fine. */
		if (faccessat(h->fd, "memory.memsw.limit_in_bytes", F_OK, 0) == 0)
			write_knob(h->fd, "memory.memsw.limit_in_bytes", v, NULL);
	}
	if (has_ctrl(h, "pids")) {
		lim->pids_max ? snprintf(v, sizeof v, "%" PRIu64, lim->pids_max) : snprintf(v, sizeof v, "max");
		if ((r = write_knob(h->fd, "pids.max", v, err)) < 0)
			return r;
	}
	if (has_ctrl(h, "cpu")) {
		if ((r = write_knob(h->fd, "cpu.cfs_period_us", "100000", err)) < 0)
			return r;
		lim->cpu_max ? snprintf(v, sizeof v, "%u", lim->cpu_max * 1000u) : snprintf(v, sizeof v, "-1");
		if ((r = write_knob(h->fd, "cpu.cfs_quota_us", v, err)) < 0)
			return r;
		snprintf(v, sizeof v, "%" PRIu64, js_cpu_weight_to_shares(lim->cpu_weight ? lim->cpu_weight : 100));
		if ((r = write_knob(h->fd, "cpu.shares", v, err)) < 0)
			return r;
	}
	return 0;
}

/* On a pure v2 host the controllers must be enabled top-down before the
 * user's directory gets their knobs. */
static void v2_enable_controllers(int dfd)
{
	char avail[512];
	if (js_read_file_at(dfd, "cgroup.controllers", avail, sizeof avail, NULL) < 0)
		return;
	const char *want[] = {"memory", "pids", "cpu"};
	for (size_t i = 0; i < JS_ARRAY_SIZE(want); i++) {
		if (!strstr(avail, want[i]))
			continue;
		char v[32];
		snprintf(v, sizeof v, "+%s", want[i]);
		js_write_file_at(dfd, "cgroup.subtree_control", v, NULL);
	}
}

/* The directory below a hierarchy's mount that holds the user's group:
 * jsandbox, or on a systemd host's v2 tree the user's delegated scope
 * (sdscope.h). */
static int user_parent(const struct js_cgroup_hier *h, const char *name, char *parent, size_t len, struct js_err *err)
{
	if (h->v2 && js_sd_manages(h->mountpoint))
		return js_sd_scope_path(name, parent, len, err);
	return js_strlcpy(parent, JS_CGROUP_PARENT, len) < 0 ? js_fail(err, ENAMETOOLONG, "name too long") : 0;
}

/* The containers' common group against the host's own processes: a host
 * task weighs 100 (v1: 1024 shares) on the root's run queue, and so does
 * the whole jsandbox group unless set lower, so one user's CPU-bound
 * processes would take a core's half from sshd and every login. */
static void set_parent_weight(const struct js_cgroup_hier *h, int pfd, uint32_t weight)
{
	char v[32];
	if (h->v2 && faccessat(pfd, "cpu.weight", F_OK, 0) == 0) {
		snprintf(v, sizeof v, "%u", weight);
		write_knob(pfd, "cpu.weight", v, NULL);
	} else if (!h->v2 && has_ctrl(h, "cpu")) {
		snprintf(v, sizeof v, "%" PRIu64, js_cpu_weight_to_shares(weight));
		write_knob(pfd, "cpu.shares", v, NULL);
	}
}

static int open_user_dir(struct js_cgroup_hier *h, const char *name, const struct js_cgroup_limits *create,
			 struct js_err *err)
{
	_cleanup_close_ int mfd = open(h->mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0)
		return js_failm(err, errno, "cannot open \"%s\"", h->mountpoint);
	char parent[128];
	bool sd = h->v2 && js_sd_manages(h->mountpoint);
	int r = user_parent(h, name, parent, sizeof parent, err);
	if (r < 0)
		return r == -ENOENT && !create ? -ENOENT : r;
	if (create && sd && (r = js_sd_scope_ensure(h->mountpoint, name, err)) < 0)
		return r;
	if (create && !sd && mkdirat(mfd, parent, 0755) < 0 && errno != EEXIST)
		return js_failm(err, errno, "cannot create \"%s/%s\"", h->mountpoint, parent);
	_cleanup_close_ int pfd = openat(mfd, parent, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0)
		return errno == ENOENT ? -ENOENT : js_failm(err, errno, "cannot open \"%s/%s\"", h->mountpoint, parent);
	if (create && h->v2) {
		/* systemd enables the controllers down to a delegated scope;
		 * the root's cgroup.subtree_control is its own */
		if (!sd)
			v2_enable_controllers(mfd);
		v2_enable_controllers(pfd);
	}
	if (create && !sd && create->parent_cpu_weight)
		set_parent_weight(h, pfd, create->parent_cpu_weight);
	if (create && mkdirat(pfd, name, 0755) < 0 && errno != EEXIST)
		return js_failm(err, errno, "cannot create \"%s/%s/%s\"", h->mountpoint, parent, name);
	int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT
				       : js_failm(err, errno, "cannot open \"%s/%s/%s\"", h->mountpoint, parent, name);
	return fd;
}

int js_cgroup_create(struct js_cgroup *cg, const char *name, const struct js_cgroup_limits *lim, struct js_err *err)
{
	for (size_t i = 0; i < cg->n; i++) {
		struct js_cgroup_hier *h = &cg->h[i];
		if (h->fd < 0) {
			int fd = open_user_dir(h, name, lim, err);
			if (fd < 0)
				return fd;
			h->fd = fd;
		}
		int r = apply_limits(h, lim, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int js_cgroup_open(struct js_cgroup *cg, const char *name, struct js_err *err)
{
	for (size_t i = 0; i < cg->n; i++) {
		if (cg->h[i].fd >= 0)
			continue;
		int fd = open_user_dir(&cg->h[i], name, NULL, err);
		if (fd < 0 && fd != -ENOENT)
			return fd;
		cg->h[i].fd = fd;
	}
	return 0;
}

int js_cgroup_attach(const struct js_cgroup *cg, pid_t pid, struct js_err *err)
{
	char v[32];
	snprintf(v, sizeof v, "%d", (int)pid);
	for (size_t i = 0; i < cg->n; i++) {
		if (cg->h[i].fd < 0)
			continue;
		int r = write_knob(cg->h[i].fd, "cgroup.procs", v, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int js_cgroup_v2_fd(const struct js_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++)
		if (cg->h[i].v2 && cg->h[i].fd >= 0)
			return cg->h[i].fd;
	return -1;
}

int js_cgroup_attach_self(const struct js_cgroup *cg, bool born_in_v2, struct js_err *err)
{
	for (size_t i = 0; i < cg->n; i++) {
		const struct js_cgroup_hier *h = &cg->h[i];
		if (h->fd < 0 || (h->v2 && born_in_v2))
			continue;
		int r = write_knob(h->fd, h->v2 ? "cgroup.procs" : "tasks", "0", err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Moving a process between cgroups through cgroup.procs takes the kernel's
 * global cgroup_threadgroup_rwsem for writing, and the first writer after a
 * quiet spell waits for an RCU grace period: 5 to 15 ms on a 2-core VM, and
 * on every login, since each login is a new sshd monitor. Writing "0" to a
 * v1 hierarchy's `tasks` moves only the calling thread and skips that lock;
 * for a single-threaded caller the thread is the whole process. */
static bool single_threaded(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char line[256];
	while (f && fgets(line, sizeof line, f)) {
		unsigned n;
		if (sscanf(line, "Threads: %u", &n) == 1)
			return n == 1;
	}
	return false;
}

/* A v2 directory without controllers (the hybrid layout's unified tree)
 * limits nothing. */
static bool v2_no_controllers(int dfd)
{
	char buf[256];
	if (js_read_file_at(dfd, "cgroup.controllers", buf, sizeof buf, NULL) < 0)
		return false;
	for (const char *p = buf; *p; p++)
		if (*p != ' ' && *p != '\n')
			return false;
	return true;
}

int js_cgroup_session_files(const struct js_cgroup *cg, pid_t pid, int *fds, char (*leave)[JS_CGROUP_LEAVE_MAX],
			    size_t *n, struct js_err *err)
{
	*n = 0;
	bool single = single_threaded(pid);
	/* On a hybrid host, limits and device rules live in v1; the
	 * controller-less unified tree adds nothing but the grace period its
	 * cgroup.procs write costs, so a session skips it there (the init,
	 * and so the container's cgroup namespace, is in it all the same).
	 * Where v2 has controllers, or no v1 devices hierarchy enforces the
	 * device rules, the session joins v2 too. */
	bool v1_devices = false;
	for (size_t i = 0; i < cg->n; i++)
		v1_devices = v1_devices || (!cg->h[i].v2 && cg->h[i].fd >= 0 && has_ctrl(&cg->h[i], "devices"));
	for (size_t i = 0; i < cg->n; i++) {
		const struct js_cgroup_hier *h = &cg->h[i];
		if (h->fd < 0)
			continue;
		if (h->v2 && v1_devices && v2_no_controllers(h->fd))
			continue;
		const char *file = single && !h->v2 ? "tasks" : "cgroup.procs";
		if (js_snprintf(leave[*n], JS_CGROUP_LEAVE_MAX, "%s/%s", h->mountpoint, file) < 0)
			return js_fail(err, ENAMETOOLONG, "cgroup mount point %s: path too long", h->mountpoint);
		int fd = openat(h->fd, file, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return js_failm(err, errno, "cannot open %s of the user's cgroup in %s", file, h->mountpoint);
		fds[(*n)++] = fd;
	}
	return 0;
}

/* Is the calling process in a jsandbox group of the v2 hierarchy (either
 * place: sdscope.h)? */
static bool self_in_v2_jsandbox(void)
{
	return js_sd_self_in_user_group();
}

int js_cgroup_detach(const struct js_cgroup *cg, pid_t pid, struct js_err *err)
{
	char v[32];
	snprintf(v, sizeof v, "%d", (int)pid);
	bool self = pid == getpid() && single_threaded(pid);
	int ret = 0;
	for (size_t i = 0; i < cg->n; i++) {
		if (self && cg->h[i].v2 && !self_in_v2_jsandbox())
			continue; /* never joined it (js_cgroup_session_files) */
		_cleanup_close_ int mfd = open(cg->h[i].mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (mfd < 0)
			continue;
		int r;
		if (self && !cg->h[i].v2)
			r = write_knob(mfd, "tasks", "0", err);
		else
			r = write_knob(mfd, "cgroup.procs", v, err);
		if (r < 0 && ret == 0)
			ret = r;
	}
	return ret;
}

#define RMDIR_RETRY_US 2000000L
/* Polling for the kernel to finish with a group: the first wait, doubled
 * up to the longest. */
#define BACKOFF_FIRST_US 200L
#define BACKOFF_MAX_US	 20000L

/* Whether pfd/name/cgroup.procs lists any process. */
static bool has_members(int pfd, const char *name)
{
	char path[300];
	if (snprintf(path, sizeof path, "%s/cgroup.procs", name) >= (int)sizeof path)
		return false;
	_cleanup_close_ int fd = openat(pfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char buf[16];
	return fd >= 0 && js_read_all(fd, buf, sizeof buf) > 0;
}

bool js_cgroup_exists(const struct js_cgroup *cg, const char *name, char *where, size_t len)
{
	for (size_t i = 0; i < cg->n; i++) {
		char path[600], parent[128];
		if (user_parent(&cg->h[i], name, parent, sizeof parent, NULL) < 0 ||
		    snprintf(path, sizeof path, "%s/%s/%s", cg->h[i].mountpoint, parent, name) >= (int)sizeof path)
			continue;
		struct stat st;
		if (lstat(path, &st) == 0) {
			if (where) /* for messages: truncation is harmless */
				snprintf(where, len, "%s", path);
			return true;
		}
	}
	return false;
}

int js_cgroup_remove(struct js_cgroup *cg, const char *name, struct js_err *err)
{
	int ret = 0;
	for (size_t i = 0; i < cg->n; i++) {
		js_closep(&cg->h[i].fd);
		cg->h[i].fd = -1;
		_cleanup_close_ int mfd = open(cg->h[i].mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (mfd < 0)
			continue;
		char parent[128];
		if (user_parent(&cg->h[i], name, parent, sizeof parent, NULL) < 0)
			continue;
		_cleanup_close_ int pfd = openat(mfd, parent, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (pfd < 0)
			continue;
		/* EBUSY right after the last member was killed: the kernel
		 * releases a dead task's membership a little after it leaves
		 * cgroup.procs. Retry, bounded, while the group has no member. */
		int r = unlinkat(pfd, name, AT_REMOVEDIR);
		for (long wait_us = BACKOFF_FIRST_US, spent = 0; r < 0 && errno == EBUSY && spent < RMDIR_RETRY_US;
		     spent += wait_us, wait_us = wait_us < BACKOFF_MAX_US ? wait_us * 2 : wait_us) {
			if (has_members(pfd, name))
				break; /* a live member: EBUSY is the answer */
			struct timespec ts = {0, wait_us * 1000};
			nanosleep(&ts, NULL);
			r = unlinkat(pfd, name, AT_REMOVEDIR);
		}
		if (r < 0 && errno != ENOENT && ret == 0)
			ret = js_failm(err, errno, "cannot remove cgroup \"%s/%s/%s\"", cg->h[i].mountpoint, parent,
				       name);
	}
	return ret;
}

void js_cgroup_close(struct js_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++) {
		js_closep(&cg->h[i].fd);
		cg->h[i].fd = -1;
	}
}

/* ---- the root side's view and teardown of the user's group ------------ */

/* Read cgroup.procs of one hierarchy; calls fn for each pid. Returns the
 * number of pids, or -errno. */
static int for_each_member(int dfd, void (*fn)(pid_t, void *), void *arg)
{
	_cleanup_close_ int fd = openat(dfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	_cleanup_fclose_ FILE *f = fdopen(fd, "re");
	if (!f)
		return -errno;
	fd = -1;
	int n = 0;
	long pid;
	while (fscanf(f, "%ld", &pid) == 1) {
		if (pid > 0) {
			n++;
			if (fn)
				fn((pid_t)pid, arg);
		}
	}
	return n;
}

struct pidset {
	pid_t v[4096];
	size_t n;
	bool overflow;
};

static void pidset_add(pid_t pid, void *arg)
{
	struct pidset *s = arg;
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == pid)
			return;
	if (s->n < JS_ARRAY_SIZE(s->v))
		s->v[s->n++] = pid;
	else
		s->overflow = true;
}

int js_cgroup_count_all(const struct js_cgroup *cg)
{
	_cleanup_free_ struct pidset *s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	int most = 0;
	for (size_t i = 0; i < cg->n; i++) {
		if (cg->h[i].fd < 0)
			continue;
		int n = for_each_member(cg->h[i].fd, pidset_add, s);
		if (n > most)
			most = n;
	}
	return s->overflow ? most : (int)s->n;
}

/* "oom_kill N" in a memory.events (v2) or memory.oom_control (v1) text. */
static int64_t oom_kill_count(const char *text)
{
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, "oom_kill ", 9) != 0)
			continue;
		char *end;
		errno = 0;
		unsigned long long v = strtoull(p + 9, &end, 10);
		if (errno || end == p + 9 || (*end != '\n' && *end != '\0') || v > INT64_MAX)
			return -1;
		return (int64_t)v;
	}
	return -1;
}

int64_t js_cgroup_oom_kills(const struct js_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++) {
		const struct js_cgroup_hier *h = &cg->h[i];
		const char *file = h->v2 ? "memory.events" : has_ctrl(h, "memory") ? "memory.oom_control" : NULL;
		char buf[1024];
		if (h->fd < 0 || !file || js_read_file_at(h->fd, file, buf, sizeof buf, NULL) <= 0)
			continue;
		int64_t n = oom_kill_count(buf);
		if (n >= 0)
			return n;
	}
	return -1;
}

/* Is pid (through its pidfd, so not a recycled one) in group `rel` of the
 * hierarchy h? /proc/PID/cgroup: "ID:CONTROLLERS:/PATH". */
static bool member_of(pid_t pid, const struct js_cgroup_hier *h, const char *rel)
{
	char path[64], line[4096];
	snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof line, f)) {
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c1 = '\0';
		*c2 = '\0';
		const char *id = line, *ctrl = c1 + 1;
		bool match = h->v2 ? !strcmp(id, "0") && !*ctrl : !strcmp(ctrl, h->controllers);
		if (!match)
			continue;
		char *p = c2 + 1;
		p[strcspn(p, "\n")] = '\0';
		return !strcmp(p, rel);
	}
	return false;
}

struct killer {
	const struct js_cgroup_hier *h;
	char rel[300];
	pid_t self;
};

static void kill_member(pid_t pid, void *arg)
{
	struct killer *k = arg;
	if (pid == k->self)
		return;
	/* A pidfd first: if the pid was reused since cgroup.procs was read,
	 * the membership check below sees the new process and skips it, and
	 * the signal can only ever reach the process the pidfd holds. */
	_cleanup_close_ int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0 || !member_of(pid, k->h, k->rel))
		return;
	syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
}

static bool v1_freeze(int dfd, bool on)
{
	if (js_write_file_at(dfd, "freezer.state", on ? "FROZEN" : "THAWED", NULL) < 0)
		return false;
	return true;
}

int js_cgroup_kill_all(const struct js_cgroup *cg, int timeout_ms, struct js_err *err)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t self = getpid();
	/* the group's name: the same in every hierarchy */
	char rel[300] = "";
	for (size_t i = 0; i < cg->n && !rel[0]; i++) {
		if (cg->h[i].fd < 0)
			continue;
		char link[64], target[PATH_MAX];
		snprintf(link, sizeof link, "/proc/self/fd/%d", cg->h[i].fd);
		ssize_t n = readlink(link, target, sizeof target - 1);
		size_t ml = strlen(cg->h[i].mountpoint);
		if (n > 0 && (size_t)n > ml && !strncmp(target, cg->h[i].mountpoint, ml)) {
			target[n] = '\0';
			if (js_strlcpy(rel, target + ml, sizeof rel) < 0)
				continue; /* too long to be ours (rel stays empty) */
		}
	}
	if (!rel[0])
		return 0; /* the group exists nowhere */
	/* cgroup.kill spares nobody: only where the caller is not a member
	 * (a session's monitor that has not stepped out yet); elsewhere the
	 * loop below, which skips the caller, does the work. */
	for (size_t i = 0; i < cg->n; i++)
		if (cg->h[i].fd >= 0 && cg->h[i].v2 && !member_of(self, &cg->h[i], rel) &&
		    faccessat(cg->h[i].fd, "cgroup.kill", F_OK, 0) == 0)
			js_write_file_at(cg->h[i].fd, "cgroup.kill", "1", NULL);
	/* Never freeze a group the caller is in: it would stop itself. */
	int freezer = -1;
	for (size_t i = 0; i < cg->n; i++)
		if (cg->h[i].fd >= 0 && !cg->h[i].v2 && has_ctrl(&cg->h[i], "freezer") &&
		    !member_of(self, &cg->h[i], rel))
			freezer = cg->h[i].fd;
	for (long wait_us = BACKOFF_FIRST_US;; wait_us = wait_us < BACKOFF_MAX_US ? wait_us * 2 : wait_us) {
		/* Frozen, no member can fork or exit between the read and the
		 * kill; SIGKILL reaches frozen tasks and they die on thaw. */
		bool frozen = freezer >= 0 && v1_freeze(freezer, true);
		for (size_t i = 0; i < cg->n; i++) {
			if (cg->h[i].fd < 0)
				continue;
			struct killer k = {.h = &cg->h[i], .self = self};
			memcpy(k.rel, rel, sizeof k.rel); /* same size */
			for_each_member(cg->h[i].fd, kill_member, &k);
		}
		if (frozen)
			v1_freeze(freezer, false);
		int others = 0;
		for (size_t i = 0; i < cg->n; i++) {
			if (cg->h[i].fd < 0)
				continue;
			_cleanup_close_ int fd = openat(cg->h[i].fd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
			char buf[64];
			ssize_t n = fd >= 0 ? js_read_all(fd, buf, sizeof buf - 1) : 0;
			if (n > 0) {
				buf[n] = '\0';
				/* the caller alone does not count */
				char me[24];
				int ml = snprintf(me, sizeof me, "%d\n", (int)self);
				if (!(n == ml && !strcmp(buf, me)))
					others++;
			}
		}
		if (others == 0)
			return 0;
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms > timeout_ms)
			return js_fail(err, ETIMEDOUT, "processes remain in cgroup %s after %d ms", rel, timeout_ms);
		struct timespec ts = {0, wait_us * 1000};
		nanosleep(&ts, NULL);
	}
}
