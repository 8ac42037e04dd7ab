/* SPDX-License-Identifier: MIT */
/* jsandboxctl check: the kernel features a container needs, tried for real
 * on this host, this kernel and these file systems (a version number says
 * little: distributions backport, and a feature may need the file system's
 * support too). Each probe runs in a forked child so nothing it makes
 * (namespaces, mounts) outlives it:
 *
 *   - a user namespace;
 *   - an idmapped mount of the file system images_dir is on (open_tree +
 *     mount_setattr MOUNT_ATTR_IDMAP through a throwaway user namespace);
 *   - a userxattr overlay, made inside a user namespace as the container's
 *     init makes it, over such an idmapped lower layer, with its upper layer
 *     on state_dir's file system (and which lowerdir key this kernel takes);
 *   - the cgroup controllers the limits use (memory, pids, cpu: v2 or v1);
 *   - the device eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE), needed where no
 *     v1 devices hierarchy is mounted;
 *   - the Landlock ABI (6 scopes abstract unix sockets; below that the
 *     layer is off: a note, not a problem);
 *   - kernel.perf_event_paranoid: above 2 (Debian's kernels default to 3)
 *     the kernel refuses perf_event_open to every unprivileged process,
 *     so perf_events = yes gives no counters (a note).
 *
 * A missing feature is a problem line; a missing optional layer a note. */
#include <fcntl.h>
#include <linux/mount.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "ctl.h"
#include "devices.h"
#include "ebpf.h"
#include "overlay.h"

#define PROBE_MSG 1024

/* A probe's failure: msg gets the text, ": " and strerror(errnum); returns
 * -errnum. errnum is read before anything can change errno. */
__attribute__((format(printf, 3, 4))) static int probe_failm(char *msg, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, PROBE_MSG, fmt, ap);
	va_end(ap);
	if (n >= 0 && n < PROBE_MSG)
		snprintf(msg + n, (size_t)(PROBE_MSG - n), ": %s", strerror(errnum));
	return -errnum;
}

/* ---- running a probe in a child ---- */

/* fn runs in a child and returns 0 or a negative errno with msg set (on
 * success msg may carry a detail). The parent gets both. */
static int run_probe(int (*fn)(void *, char *), void *arg, char *msg)
{
	int p[2];
	msg[0] = 0;
	if (pipe2(p, O_CLOEXEC) < 0) {
		return probe_failm(msg, errno, "pipe");
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return probe_failm(msg, e, "fork");
	}
	if (pid == 0) {
		close(p[0]);
		char m[PROBE_MSG] = "";
		int r = fn(arg, m);
		size_t len = strlen(m);
		if (write(p[1], m, len) != (ssize_t)len)
			_exit(3);
		_exit(r < 0 ? 1 : 0);
	}
	close(p[1]);
	size_t got = 0;
	ssize_t n;
	while (got < PROBE_MSG - 1 && (n = read(p[0], msg + got, PROBE_MSG - 1 - got)) > 0)
		got += (size_t)n;
	msg[got] = 0;
	close(p[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (!msg[0])
		snprintf(msg, PROBE_MSG, "the probe died (status %d)", st);
	return -EIO;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, text, strlen(text));
	int e = errno;
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -(n < 0 ? e : EIO);
}

/* In the calling process: a new user namespace mapping root to root. */
static int enter_userns(char *msg)
{
	if (unshare(CLONE_NEWUSER) < 0) {
		return probe_failm(msg, errno, "cannot create a user namespace");
	}
	int r;
	if ((r = write_file("/proc/self/setgroups", "deny")) < 0 ||
	    (r = write_file("/proc/self/uid_map", "0 0 1")) < 0 ||
	    (r = write_file("/proc/self/gid_map", "0 0 1")) < 0) {
		return probe_failm(msg, -r, "cannot map ids in a user namespace");
	}
	return 0;
}

static int probe_userns(void *arg, char *msg)
{
	(void)arg;
	return enter_userns(msg);
}

/* A throwaway user namespace, open as *nsfd: a child that makes one and
 * waits until we hold it. */
static int throwaway_userns(int *nsfd, char *msg)
{
	int ready[2], hold[2];
	if (pipe2(ready, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(hold, O_CLOEXEC) < 0) {
		close(ready[0]);
		close(ready[1]);
		return -errno;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(ready[0]);
		close(hold[1]);
		char m[PROBE_MSG];
		char ok = enter_userns(m) == 0 ? 'y' : 'n';
		if (write(ready[1], &ok, 1) != 1)
			_exit(1);
		char c;
		(void)!read(hold[0], &c, 1); /* until the parent closes it */
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]);
	char ok = 'n';
	int r = 0;
	if (pid < 0 || read(ready[0], &ok, 1) != 1 || ok != 'y') {
		snprintf(msg, PROBE_MSG, "cannot create a user namespace");
		r = -EPERM;
	} else {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
		*nsfd = open(path, O_RDONLY | O_CLOEXEC);
		if (*nsfd < 0) {
			r = probe_failm(msg, errno, "cannot open %s", path);
		}
	}
	close(ready[0]);
	close(hold[1]);
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	return r;
}

/* An idmapped, read-only clone of the mount at dir (a detached tree). */
static int idmapped_clone(const char *dir, char *msg)
{
	_cleanup_close_ int ns = -1;
	int r = throwaway_userns(&ns, msg);
	if (r < 0)
		return r;
	_cleanup_close_ int tree = (int)syscall(SYS_open_tree, AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0) {
		return probe_failm(msg, errno, "open_tree \"%s\" (needs Linux 5.2)", dir);
	}
	struct mount_attr a = {.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV,
			       .userns_fd = (uint64_t)ns};
	if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &a, sizeof a) < 0) {
		r = -errno;
		struct statfs sf;
		long t = statfs(dir, &sf) == 0 ? (long)sf.f_type : 0;
		snprintf(msg, PROBE_MSG,
			 "cannot make an idmapped mount of \"%s\" (file system type 0x%lx): %s (idmapped mounts need "
			 "Linux 5.12 and the file system's support: ext4, xfs, btrfs; tmpfs from 6.3)",
			 dir, t, strerror(-r));
		return r;
	}
	return js_steal_fd(&tree);
}

struct scratch {
	const char *images; /* an existing directory on images_dir's file system */
	char lower[PATH_MAX + 32];
	char top[PATH_MAX + 32]; /* on state_dir's file system: upper, work, merged, at */
};

static int probe_idmap(void *arg, char *msg)
{
	struct scratch *s = arg;
	int t = idmapped_clone(s->images, msg);
	if (t < 0)
		return t;
	close(t);
	return 0;
}

static int probe_overlay(void *arg, char *msg)
{
	struct scratch *s = arg;
	/* Our own mount namespace (root's), for the idmapped lower layer as
	 * the module attaches the image. */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		return probe_failm(msg, errno, "cannot make a private mount namespace");
	}
	_cleanup_close_ int tree = idmapped_clone(s->lower, msg);
	if (tree < 0)
		return tree;
	char at[PATH_MAX + 64], upper[PATH_MAX + 64], work[PATH_MAX + 64], merged[PATH_MAX + 64], f[PATH_MAX + 96];
	snprintf(at, sizeof at, "%s/at", s->top);
	snprintf(upper, sizeof upper, "%s/upper", s->top);
	snprintf(work, sizeof work, "%s/work", s->top);
	snprintf(merged, sizeof merged, "%s/merged", s->top);
	if (syscall(SYS_move_mount, tree, "", AT_FDCWD, at, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
		return probe_failm(msg, errno, "cannot attach an idmapped mount");
	}
	/* As the container's init: root of a user namespace of its own, in a
	 * mount namespace that namespace owns. */
	int r = enter_userns(msg);
	if (r < 0)
		return r;
	if (unshare(CLONE_NEWNS) < 0) {
		return probe_failm(msg, errno, "cannot make a mount namespace in a user namespace");
	}
	struct js_err err = {0};
	enum js_ovl_lower used = JS_OVL_LOWER_AUTO;
	r = js_overlay_mount(at, upper, work, merged, JS_OVL_LOWER_AUTO, &used, &err);
	if (r < 0) {
		snprintf(msg, PROBE_MSG, "overlay with userxattr in a user namespace over an idmapped layer: %s",
			 err.msg);
		return r;
	}
	snprintf(f, sizeof f, "%s/probe", merged);
	int fd = open(f, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return probe_failm(msg, errno, "overlay: the lower layer's file is not visible");
	}
	close(fd);
	snprintf(f, sizeof f, "%s/written", merged);
	fd = open(f, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		return probe_failm(msg, errno, "overlay: cannot write through it");
	}
	close(fd);
	snprintf(msg, PROBE_MSG, "%s", used == JS_OVL_LOWER_APPEND ? "lowerdir+" : "classic lowerdir");
	return 0;
}

/* ---- helpers for the scratch space ---- */

/* The nearest existing directory at or above path (check makes nothing
 * where the admin has not yet). */
static void existing_ancestor(const char *path, char *out, size_t len)
{
	snprintf(out, len, "%s", path);
	struct stat st;
	while (stat(out, &st) < 0 || !S_ISDIR(st.st_mode)) {
		char *sl = strrchr(out, '/');
		if (!sl || sl == out) {
			snprintf(out, len, "/");
			return;
		}
		*sl = 0;
	}
}

static void remove_tree(const char *dir)
{
	if (!dir[0])
		return;
	pid_t pid = fork();
	if (pid == 0) {
		execl("/bin/rm", "rm", "-rf", "--one-file-system", "--", dir, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
}

static int mkdirs(const char *top, const char *const *sub, size_t n)
{
	char p[PATH_MAX + 64];
	for (size_t i = 0; i < n; i++) {
		snprintf(p, sizeof p, "%s/%s", top, sub[i]);
		if (mkdir(p, 0700) < 0)
			return -errno;
	}
	return 0;
}

/* ---- cgroups, eBPF, Landlock ---- */

static void check_cgroups(struct ctl_check *ck, char *summary, size_t slen, bool *need_ebpf)
{
	struct js_cgroup cg;
	struct js_err err = {0};
	*need_ebpf = true;
	if (js_cgroup_discover(&cg, &err) < 0) {
		ctl_problem(ck, "kernel: %s", err.msg);
		return;
	}
	static const char *const want[] = {"memory", "pids", "cpu"};
	bool have[3] = {false, false, false};
	bool v1 = false;
	for (size_t i = 0; i < cg.n; i++) {
		const struct js_cgroup_hier *h = &cg.h[i];
		char list[512] = "";
		if (h->v2) {
			char p[300];
			snprintf(p, sizeof p, "%s/cgroup.controllers", h->mountpoint);
			FILE *f = fopen(p, "re");
			if (f) {
				if (!fgets(list, sizeof list, f))
					list[0] = 0;
				fclose(f);
			}
		} else {
			v1 = true;
			snprintf(list, sizeof list, "%s", h->controllers);
			if (strstr(h->controllers, "devices"))
				*need_ebpf = false;
		}
		for (size_t w = 0; w < 3; w++) {
			const char *p = list;
			size_t l = strlen(want[w]);
			while ((p = strstr(p, want[w]))) {
				bool start = p == list || p[-1] == ' ' || p[-1] == ',';
				bool end = p[l] == 0 || p[l] == ' ' || p[l] == ',' || p[l] == '\n';
				if (start && end)
					have[w] = true;
				p += l;
			}
		}
	}
	char missing[64] = "";
	for (size_t w = 0; w < 3; w++)
		if (!have[w])
			snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s%s",
				 missing[0] ? ", " : "", want[w]);
	if (cg.n == 0)
		ctl_problem(ck, "kernel: no cgroup hierarchy is mounted (limits and the device list need one)");
	else if (missing[0])
		ctl_problem(ck, "kernel: cgroup controllers missing in every hierarchy: %s (their limits cannot apply)",
			    missing);
	snprintf(summary + strlen(summary), slen - strlen(summary), ", cgroup %s", v1 ? "v1/hybrid" : "v2");
	js_cgroup_close(&cg);
}

static int probe_ebpf(void *arg, char *msg)
{
	(void)arg;
	struct js_dev_list l = {0};
	struct js_bpf_prog p = {0};
	struct js_err err = {0};
	int r = js_devices_add_defaults(&l, &err);
	if (r >= 0)
		r = js_ebpf_build(&l, &p, &err);
	if (r >= 0) {
		r = js_ebpf_load(&p, &err);
		if (r >= 0)
			close(r);
	}
	js_bpf_prog_free(&p);
	js_dev_list_free(&l);
	if (r < 0)
		snprintf(msg, PROBE_MSG, "%s", err.msg);
	return r < 0 ? r : 0;
}

void ctl_check_kernel(struct ctl_check *ck)
{
	char rel[65], msg[PROBE_MSG], summary[512];
	if (!js_kernel_at_least(JS_KERNEL_MIN_MAJOR, JS_KERNEL_MIN_MINOR, rel, sizeof rel))
		ctl_problem(ck,
			    "kernel: Linux %s is older than %d.%d, the oldest jsandbox runs on (overlayfs over "
			    "idmapped layers)",
			    rel, JS_KERNEL_MIN_MAJOR, JS_KERNEL_MIN_MINOR);
	snprintf(summary, sizeof summary, "Linux %s", rel);
	if (!ck->root) {
		ctl_check_skipped(ck, "not root: cannot try this kernel's features (namespaces, mounts, eBPF)");
		return;
	}

	if (run_probe(probe_userns, NULL, msg) < 0) {
		ctl_problem(ck, "kernel: %s (every container needs one)", msg);
		return; /* every probe below needs one */
	}
	snprintf(summary + strlen(summary), sizeof summary - strlen(summary), ": user namespaces");

	struct scratch s = {0};
	char images[PATH_MAX], state[PATH_MAX];
	existing_ancestor(ck->g->images_dir, images, sizeof images);
	existing_ancestor(ck->g->state_dir, state, sizeof state);
	s.images = images;
	if (run_probe(probe_idmap, &s, msg) < 0)
		ctl_problem(ck, "kernel: [global] images_dir: %s", msg);
	else
		snprintf(summary + strlen(summary), sizeof summary - strlen(summary), ", idmapped mounts");

	/* The overlay's scratch space: its lower layer on images_dir's file
	 * system, the rest on state_dir's; removed after. */
	static const char *const top_dirs[] = {"at", "upper", "work", "merged"};
	snprintf(s.lower, sizeof s.lower, "%s/.jsandbox-check.XXXXXX", images);
	snprintf(s.top, sizeof s.top, "%s/.jsandbox-check.XXXXXX", state);
	bool lower_made = mkdtemp(s.lower) != NULL, top_made = lower_made && mkdtemp(s.top) != NULL;
	char probe[PATH_MAX + 64];
	snprintf(probe, sizeof probe, "%s/probe", s.lower);
	int pfd = lower_made ? open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644) : -1;
	if (pfd >= 0)
		close(pfd);
	if (!top_made || pfd < 0 || mkdirs(s.top, top_dirs, JS_ARRAY_SIZE(top_dirs)) < 0)
		ctl_problem(ck, "kernel: cannot make scratch directories under \"%s\" and \"%s\": %s", images, state,
			    strerror(errno));
	else if (run_probe(probe_overlay, &s, msg) < 0)
		ctl_problem(ck, "kernel: %s", msg);
	else
		snprintf(summary + strlen(summary), sizeof summary - strlen(summary), ", overlay (%.40s)", msg);
	if (lower_made)
		remove_tree(s.lower);
	if (top_made)
		remove_tree(s.top);

	bool need_ebpf;
	check_cgroups(ck, summary, sizeof summary, &need_ebpf);
	if (run_probe(probe_ebpf, NULL, msg) < 0) {
		if (need_ebpf)
			ctl_problem(
			    ck, "kernel: %s (no v1 devices hierarchy either: the device list cannot be enforced)", msg);
		else
			ctl_check_skipped(ck, "kernel: %s (the v1 devices hierarchy is used instead)", msg);
	} else {
		snprintf(summary + strlen(summary), sizeof summary - strlen(summary), ", device eBPF");
	}

	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, 1U /* LANDLOCK_CREATE_RULESET_VERSION */);
	if (abi < 6)
		ctl_check_skipped(ck,
				  "kernel: Landlock ABI %ld (6 needed, Linux 6.12): with network = host, abstract unix "
				  "sockets are not scoped to the container",
				  abi < 0 ? 0 : abi);
	else
		snprintf(summary + strlen(summary), sizeof summary - strlen(summary), ", Landlock ABI %ld", abi);

	int paranoid = 0;
	FILE *pf = fopen("/proc/sys/kernel/perf_event_paranoid", "re");
	if (pf) {
		if (fscanf(pf, "%d", &paranoid) != 1)
			paranoid = 0;
		fclose(pf);
	}
	if (paranoid > 2)
		ctl_check_skipped(
		    ck,
		    "kernel: perf_event_paranoid = %d: perf_event_open is refused to every unprivileged "
		    "process, so perf_events = yes gives no counters (sysctl kernel.perf_event_paranoid=2 "
		    "lets them through)",
		    paranoid);
	ctl_check_skipped(ck, "kernel: %s", summary);
}
