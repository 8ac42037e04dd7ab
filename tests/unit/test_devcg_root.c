/* SPDX-License-Identifier: MIT */
/* The device allow-list enforced by the kernel, for real (root only).
 *
 * Device nodes of a character major with no driver behind it are made in a
 * private tmpfs: when the cgroup allows one, open() reaches the missing
 * driver and fails with ENXIO; when it denies it, the device cgroup check
 * (which runs before the driver is looked up) fails it with EPERM. Each
 * check runs in a forked child that first moves itself into the cgroup
 * under test. Both backends are exercised separately — a v1 devices cgroup
 * alone, a cgroup v2 directory with our eBPF program alone — then
 * together through js_devices_apply().
 *
 * Without root, or without a hierarchy to test, a test prints "SKIP:" and
 * is skipped (exit 77 when nothing ran); with CI=true a skip is a failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "ci_skip.h"
#include "devices.h"
#include "ebpf.h"

static char tmpdir[] = "/tmp/jsb-devcg.XXXXXX";
static bool mounted;
static long major_nr = -1; /* the driverless major under test */
static char node[3][PATH_MAX];
static char v1_dir[512], v2_dir[512], v2_sub[PATH_MAX];
static char v1_mnt[256], v2_mnt[256];
static int v1_fd = -1, v2_fd = -1, sub_fd = -1;
/* ---- setup ---- */

/* A character major with no driver: 195 (NVIDIA's) unless this host has
 * the NVIDIA driver, else one of the majors devices.txt keeps for local
 * experimental use (60-63, 240-254) that nothing registered. */
static long free_major(void)
{
	char buf[16384] = "";
	int fd = open("/proc/devices", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof buf - 1);
		buf[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	char *blk = strstr(buf, "Block devices:");
	if (blk)
		*blk = '\0';
	static const long candidates[] = {195, 60, 61, 62, 63, 240, 241, 242, 243, 244};
	for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
		bool used = false;
		for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
			long m;
			if (sscanf(l, "%ld", &m) == 1 && m == candidates[i])
				used = true;
		}
		if (!used)
			return candidates[i];
	}
	return -1;
}

static int open_dir(const char *path)
{
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	/* A private mount namespace and a tmpfs of our own: device nodes
	 * work there however /tmp is mounted (a nodev mount would make
	 * every open EACCES), and nothing is left behind on the host. */
	if (unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
	    mount("tmpfs", tmpdir, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") == 0)
		mounted = true;
	major_nr = free_major();
	for (int i = 0; i < 3; i++) {
		snprintf(node[i], sizeof node[i], "%s/node%d", tmpdir, i);
		if (major_nr >= 0 && mknod(node[i], S_IFCHR | 0666, makedev((unsigned)major_nr, (unsigned)i)) < 0) {
			fprintf(stderr, "mknod %s: %s\n", node[i], strerror(errno));
			major_nr = -1;
		}
	}

	struct js_cgroup cg;
	struct js_err e;
	if (js_cgroup_discover(&cg, &e) == 0) {
		for (size_t i = 0; i < cg.n; i++) {
			const struct js_cgroup_hier *h = &cg.h[i];
			if (h->v2 && !v2_mnt[0])
				snprintf(v2_mnt, sizeof v2_mnt, "%s", h->mountpoint);
			if (!h->v2 && strstr(h->controllers, "devices") && !v1_mnt[0])
				snprintf(v1_mnt, sizeof v1_mnt, "%s", h->mountpoint);
		}
	}
	int pid = (int)getpid();
	if (v1_mnt[0]) {
		snprintf(v1_dir, sizeof v1_dir, "%s/jsb-test-devcg-%d", v1_mnt, pid);
		if (mkdir(v1_dir, 0755) == 0)
			v1_fd = open_dir(v1_dir);
	}
	if (v2_mnt[0]) {
		snprintf(v2_dir, sizeof v2_dir, "%s/jsb-test-devcg-%d", v2_mnt, pid);
		snprintf(v2_sub, sizeof v2_sub, "%s/sub", v2_dir);
		if (mkdir(v2_dir, 0755) == 0 && mkdir(v2_sub, 0755) == 0) {
			v2_fd = open_dir(v2_dir);
			sub_fd = open_dir(v2_sub);
		}
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	js_closep(&sub_fd);
	js_closep(&v2_fd);
	js_closep(&v1_fd);
	/* Every child has exited: the groups are empty. */
	if (v2_sub[0])
		rmdir(v2_sub);
	if (v2_dir[0])
		rmdir(v2_dir);
	if (v1_dir[0])
		rmdir(v1_dir);
	for (int i = 0; i < 3; i++)
		unlink(node[i]);
	if (mounted)
		umount2(tmpdir, MNT_DETACH);
	rmdir(tmpdir);
	return 0;
}

/* ---- helpers ---- */

static void need_nodes(void)
{
	JS_SKIP_IF(geteuid() != 0, "needs root (mknod, cgroups, bpf)");
	JS_SKIP_IF(major_nr < 0, "could not make driverless device nodes");
}

/* Join every cgroup in fds (-1 ends the list) by writing "0" to its
 * cgroup.procs, which moves the writer itself (v1 and v2 alike). */
static bool join(const int *fds)
{
	for (; *fds >= 0; fds++)
		if (js_write_file_at(*fds, "cgroup.procs", "0", NULL) < 0)
			return false;
	return true;
}

#define JOIN_FAILED 250

/* In a child inside the given cgroups, open `path` read-write: 0 when
 * it opened, else the errno. */
static int open_in_fds(const int *fds, const char *path)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (!join(fds))
			_exit(JOIN_FAILED);
		int fd = open(path, O_RDWR | O_CLOEXEC);
		_exit(fd >= 0 ? 0 : errno);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_not_equal(WEXITSTATUS(st), JOIN_FAILED);
	return WEXITSTATUS(st);
}

static int open_in(int cgfd, const char *path)
{
	int fds[] = {cgfd, -1};
	return open_in_fds(fds, path);
}

static void add(struct js_dev_list *l, char type, long major, long minor, unsigned access)
{
	struct js_dev_rule r = {.type = type, .major = major, .minor = minor, .access = access};
	struct js_err e;
	if (js_dev_list_add(l, &r, &e) < 0)
		fail_msg("add: %s", e.msg);
}

#define RW (JS_DEV_READ | JS_DEV_WRITE)

/* Defaults plus node<minor> of the test major. */
static struct js_dev_list list_granting(long minor)
{
	struct js_dev_list l = {0};
	struct js_err e;
	if (js_devices_add_defaults(&l, &e) < 0)
		fail_msg("defaults: %s", e.msg);
	add(&l, 'c', major_nr, minor, RW);
	return l;
}

static void read_devices_list(char *buf, size_t len)
{
	struct js_err e;
	if (js_read_file_at(v1_fd, "devices.list", buf, len, &e) < 0)
		fail_msg("%s", e.msg);
}

/* A child in the cgroups `fds` opens, over and over until the parent sets
 * `stop`, a node no list allows (must always be EPERM) and /dev/null,
 * which every list allows (must always open). Any other result means a
 * re-apply left a window. The counters live in a shared anonymous mapping:
 * the parent waits for the probe count to move on between re-applies, so
 * the probes interleave with the churn however the two are scheduled. */
struct probe_shared {
	atomic_long iterations, bad_denied, bad_allowed;
	atomic_int stop;
};
struct prober {
	pid_t pid;
	struct probe_shared *sh;
};

/* How long the parent waits for one probe: far longer than any probe
 * takes, only there so that a hung child fails the test. */
#define PROBE_WAIT_NS (10LL * 1000 * 1000 * 1000)

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Wait until the prober has completed a probe after `seen` (bounded). */
static void wait_probe_after(struct prober *p, long seen)
{
	long long deadline = now_ns() + PROBE_WAIT_NS;
	while (atomic_load(&p->sh->iterations) <= seen) {
		int st;
		pid_t w = waitpid(p->pid, &st, WNOHANG);
		if (w == p->pid)
			fail_msg("prober exited early (status 0x%x)", (unsigned)st);
		if (now_ns() > deadline)
			fail_msg("prober made no probe in %lld s", PROBE_WAIT_NS / 1000000000LL);
		sched_yield();
	}
}

static struct prober start_prober(const int *fds, const char *denied)
{
	struct probe_shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(sh != MAP_FAILED);
	atomic_init(&sh->iterations, 0);
	atomic_init(&sh->bad_denied, 0);
	atomic_init(&sh->bad_allowed, 0);
	atomic_init(&sh->stop, 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (!join(fds))
			_exit(JOIN_FAILED);
		/* At least one probe, then until told to stop. */
		do {
			int fd = open(denied, O_RDWR | O_CLOEXEC);
			if (fd >= 0 || errno != EPERM)
				atomic_fetch_add(&sh->bad_denied, 1);
			if (fd >= 0)
				close(fd);
			fd = open("/dev/null", O_RDWR | O_CLOEXEC);
			if (fd < 0)
				atomic_fetch_add(&sh->bad_allowed, 1);
			else
				close(fd);
			atomic_fetch_add(&sh->iterations, 1);
		} while (!atomic_load(&sh->stop));
		_exit(0);
	}
	struct prober p = {pid, sh};
	/* In place and probing before the parent starts churning. */
	wait_probe_after(&p, 0);
	return p;
}

/* Between two re-applies: the count the caller passes to the next wait. */
static long probes_so_far(const struct prober *p)
{
	return atomic_load(&p->sh->iterations);
}

struct probe_report {
	long iterations, bad_denied, bad_allowed;
};

static struct probe_report stop_prober(struct prober *p)
{
	atomic_store(&p->sh->stop, 1);
	int st;
	assert_int_equal(waitpid(p->pid, &st, 0), p->pid);
	assert_true(WIFEXITED(st));
	assert_int_not_equal(WEXITSTATUS(st), JOIN_FAILED);
	assert_int_equal(WEXITSTATUS(st), 0);
	struct probe_report r = {atomic_load(&p->sh->iterations), atomic_load(&p->sh->bad_denied),
				 atomic_load(&p->sh->bad_allowed)};
	munmap(p->sh, sizeof *p->sh);
	return r;
}

/* Re-applies per churn test; the prober completes at least one probe
 * after each. */
#define REAPPLIES 200

/* ---- cgroup v1 ---- */

static void test_v1_enforces(void **state)
{
	(void)state;
	need_nodes();
	JS_SKIP_IF(v1_fd < 0, "no cgroup v1 devices hierarchy to test (pure cgroup v2 host)");
	struct js_err e = {0};
	struct js_dev_list a = {0};
	add(&a, 'c', major_nr, 0, RW);
	if (js_devices_apply_v1(v1_fd, &a, &e) < 0)
		fail_msg("apply: %s", e.msg);
	char buf[4096], want[64];
	read_devices_list(buf, sizeof buf);
	snprintf(want, sizeof want, "c %ld:0 rw\n", major_nr);
	assert_string_equal(buf, want);
	assert_int_equal(open_in(v1_fd, node[0]), ENXIO);
	assert_int_equal(open_in(v1_fd, node[1]), EPERM);
	assert_int_equal(open_in(v1_fd, "/dev/null"), EPERM);

	/* A changed list: grant node1, no longer node0. */
	struct js_dev_list b = {0};
	add(&b, 'c', major_nr, 1, RW);
	if (js_devices_apply_v1(v1_fd, &b, &e) < 0)
		fail_msg("re-apply: %s", e.msg);
	read_devices_list(buf, sizeof buf);
	snprintf(want, sizeof want, "c %ld:1 rw\n", major_nr);
	assert_string_equal(buf, want);
	assert_int_equal(open_in(v1_fd, node[0]), EPERM);
	assert_int_equal(open_in(v1_fd, node[1]), ENXIO);
	/* Access bits count: read-only does not allow O_RDWR. */
	struct js_dev_list ro = {0};
	add(&ro, 'c', major_nr, 1, JS_DEV_READ);
	if (js_devices_apply_v1(v1_fd, &ro, &e) < 0)
		fail_msg("re-apply: %s", e.msg);
	assert_int_equal(open_in(v1_fd, node[1]), EPERM);
	/* Type a with limited access: "a" in devices.allow would allow
	 * everything, so it is written as c and b wildcards. */
	struct js_dev_list anyro = {0};
	add(&anyro, 'a', -1, -1, JS_DEV_READ);
	if (js_devices_apply_v1(v1_fd, &anyro, &e) < 0)
		fail_msg("re-apply: %s", e.msg);
	read_devices_list(buf, sizeof buf);
	assert_string_equal(buf, "c *:* r\nb *:* r\n");
	assert_int_equal(open_in(v1_fd, node[1]), EPERM);
	js_dev_list_free(&anyro);
	js_dev_list_free(&a);
	js_dev_list_free(&b);
	js_dev_list_free(&ro);
}

/* Re-applying only changes what differs: a node both lists allow stays
 * allowed throughout, a node neither allows is never allowed. */
static void test_v1_reapply_no_window(void **state)
{
	(void)state;
	need_nodes();
	JS_SKIP_IF(v1_fd < 0, "no cgroup v1 devices hierarchy to test (pure cgroup v2 host)");
	struct js_err e = {0};
	struct js_dev_list a = list_granting(0), b = list_granting(1);
	if (js_devices_apply_v1(v1_fd, &a, &e) < 0)
		fail_msg("apply: %s", e.msg);
	int fds[] = {v1_fd, -1};
	struct prober p = start_prober(fds, node[2]);
	for (int i = 0; i < REAPPLIES; i++) {
		long seen = probes_so_far(&p);
		if (js_devices_apply_v1(v1_fd, i % 2 ? &a : &b, &e) < 0)
			fail_msg("re-apply %d: %s", i, e.msg);
		wait_probe_after(&p, seen);
	}
	struct probe_report r = stop_prober(&p);
	print_message("v1: %ld probes during %d re-applies\n", r.iterations, REAPPLIES);
	assert_true(r.iterations > REAPPLIES);
	assert_int_equal(r.bad_denied, 0);
	assert_int_equal(r.bad_allowed, 0);
	/* Last applied: a (i = 199). */
	assert_int_equal(open_in(v1_fd, node[0]), ENXIO);
	assert_int_equal(open_in(v1_fd, node[1]), EPERM);
	assert_int_equal(open_in(v1_fd, "/dev/null"), 0);
	js_dev_list_free(&a);
	js_dev_list_free(&b);
}

/* ---- cgroup v2 ---- */

static void need_v2(void)
{
	need_nodes();
	JS_SKIP_IF(v2_fd < 0 || sub_fd < 0, "no cgroup v2 hierarchy to test");
}

static void test_v2_enforces(void **state)
{
	(void)state;
	need_v2();
	struct js_err e = {0};
	struct js_dev_list a = {0};
	add(&a, 'c', major_nr, 0, RW);
	if (js_ebpf_apply(v2_fd, &a, &e) < 0)
		fail_msg("apply: %s", e.msg);
	uint32_t ids[4];
	assert_int_equal(js_ebpf_query(v2_fd, ids, 4, &e), 1);
	assert_int_equal(open_in(v2_fd, node[0]), ENXIO);
	assert_int_equal(open_in(v2_fd, node[1]), EPERM);
	assert_int_equal(open_in(v2_fd, "/dev/null"), EPERM);
	js_dev_list_free(&a);
}

/* BPF_F_ALLOW_MULTI: the program on the parent runs for processes in a
 * child cgroup, and a program on the child cannot lift it. */
static void test_v2_child_cannot_escape(void **state)
{
	(void)state;
	need_v2();
	struct js_err e = {0};
	struct js_dev_list a = {0}, all = {0};
	add(&a, 'c', major_nr, 0, RW);
	if (js_ebpf_apply(v2_fd, &a, &e) < 0)
		fail_msg("apply: %s", e.msg);
	assert_int_equal(open_in(sub_fd, node[0]), ENXIO);
	assert_int_equal(open_in(sub_fd, node[1]), EPERM);

	add(&all, 'a', -1, -1, JS_DEV_READ | JS_DEV_WRITE | JS_DEV_MKNOD);
	if (js_ebpf_apply(sub_fd, &all, &e) < 0)
		fail_msg("apply to the child: %s", e.msg);
	assert_int_equal(open_in(sub_fd, node[0]), ENXIO);
	assert_int_equal(open_in(sub_fd, node[1]), EPERM);
	js_dev_list_free(&a);
	js_dev_list_free(&all);
}

/* Re-applying a changed list replaces the program with no moment without
 * one: a node no list allows is never opened while programs churn, and
 * /dev/null (in every list) never fails. */
static void test_v2_reapply_no_window(void **state)
{
	(void)state;
	need_v2();
	struct js_err e = {0};
	struct js_dev_list a = list_granting(0), b = list_granting(1);
	if (js_ebpf_apply(v2_fd, &a, &e) < 0)
		fail_msg("apply: %s", e.msg);
	uint32_t before, after;
	assert_int_equal(js_ebpf_query(v2_fd, &before, 1, &e), 1);
	int fds[] = {v2_fd, -1};
	struct prober p = start_prober(fds, node[2]);
	for (int i = 0; i < REAPPLIES; i++) {
		long seen = probes_so_far(&p);
		if (js_ebpf_apply(v2_fd, i % 2 ? &a : &b, &e) < 0)
			fail_msg("re-apply %d: %s", i, e.msg);
		wait_probe_after(&p, seen);
	}
	struct probe_report r = stop_prober(&p);
	print_message("v2: %ld probes during %d re-applies\n", r.iterations, REAPPLIES);
	assert_true(r.iterations > REAPPLIES);
	assert_int_equal(r.bad_denied, 0);
	assert_int_equal(r.bad_allowed, 0);
	/* One program of ours, a new one; the flip took effect. */
	assert_int_equal(js_ebpf_query(v2_fd, &after, 1, &e), 1);
	assert_int_not_equal(before, after);
	if (js_ebpf_apply(v2_fd, &b, &e) < 0)
		fail_msg("re-apply: %s", e.msg);
	assert_int_equal(open_in(v2_fd, node[0]), EPERM);
	assert_int_equal(open_in(v2_fd, node[1]), ENXIO);
	assert_int_equal(open_in(v2_fd, "/dev/null"), 0);
	js_dev_list_free(&a);
	js_dev_list_free(&b);
}

/* ---- both, as the module applies them ---- */

static void test_apply_everywhere(void **state)
{
	(void)state;
	need_v2();
	JS_SKIP_IF(v1_fd < 0, "no cgroup v1 devices hierarchy to test (pure cgroup v2 host)");
	struct js_err e = {0};
	struct js_cgroup none = {.n = 0};
	struct js_dev_list a = list_granting(0);
	assert_int_equal(js_devices_apply(&none, &a, &e), -EOPNOTSUPP);
	assert_non_null(strstr(e.msg, "no device controller"));

	struct js_cgroup cg = {.n = 2};
	cg.h[0] = (struct js_cgroup_hier){.v2 = false, .fd = v1_fd};
	snprintf(cg.h[0].controllers, sizeof cg.h[0].controllers, "devices");
	cg.h[1] = (struct js_cgroup_hier){.v2 = true, .fd = v2_fd};
	if (js_devices_apply(&cg, &a, &e) < 0)
		fail_msg("apply: %s", e.msg);
	int fds[] = {v1_fd, v2_fd, -1};
	assert_int_equal(open_in_fds(fds, node[0]), ENXIO);
	assert_int_equal(open_in_fds(fds, node[1]), EPERM);
	assert_int_equal(open_in_fds(fds, "/dev/null"), 0);
	/* Each backend alone denies too (the other one allows). */
	struct js_dev_list b = list_granting(1);
	if (js_devices_apply_v1(v1_fd, &b, &e) < 0)
		fail_msg("apply: %s", e.msg);
	assert_int_equal(open_in_fds(fds, node[0]), EPERM); /* v1 */
	assert_int_equal(open_in_fds(fds, node[1]), EPERM); /* v2 */
	js_dev_list_free(&a);
	js_dev_list_free(&b);
}

int main(void)
{
	if (geteuid() != 0) {
		printf("SKIP: needs root (mknod, cgroups, bpf)\n");
		if (js_test_under_ci()) {
			printf("FAIL: skipped under CI=true\n");
			return 1;
		}
		return 77;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v1_enforces),		 cmocka_unit_test(test_v1_reapply_no_window),
	    cmocka_unit_test(test_v2_enforces),		 cmocka_unit_test(test_v2_child_cannot_escape),
	    cmocka_unit_test(test_v2_reapply_no_window), cmocka_unit_test(test_apply_everywhere),
	};
	int failed = cmocka_run_group_tests(tests, setup, teardown);
	if (failed)
		return 1;
	return js_test_skipped == sizeof tests / sizeof tests[0] ? 77 : 0;
}
