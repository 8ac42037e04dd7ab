/* SPDX-License-Identifier: MIT */
/* helper/harden.c for real: each case forks, the child makes a user
 * namespace of its own (all capabilities there, no privilege on the host,
 * so any user can run this), hardens itself as a session or as the init
 * would, and probes what the filter, the bounding set and the Landlock
 * scope must refuse, and what the policy keys must allow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ci_skip.h"
#include "harden.h"

/* Run fn in a child inside a fresh user namespace; its exit status. */
static int in_child(int (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uid_t uid = getuid();
		gid_t gid = getgid();
		if (unshare(CLONE_NEWUSER) < 0)
			_exit(77);
		/* mapped, as the container's namespace is: a nested namespace
		 * needs its creator's ids mapped */
		char map[64];
		FILE *f;
		snprintf(map, sizeof map, "0 %u 1\n", (unsigned)uid);
		if ((f = fopen("/proc/self/uid_map", "w")) == NULL || fputs(map, f) < 0 || fclose(f) != 0)
			_exit(78);
		if ((f = fopen("/proc/self/setgroups", "w")) == NULL || fputs("deny", f) < 0 || fclose(f) != 0)
			_exit(78);
		snprintf(map, sizeof map, "0 %u 1\n", (unsigned)gid);
		if ((f = fopen("/proc/self/gid_map", "w")) == NULL || fputs(map, f) < 0 || fclose(f) != 0)
			_exit(78);
		_exit(fn(arg));
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static int fails_with(long r, int e)
{
	return r < 0 && errno == e;
}

static long perf_self(void)
{
	struct perf_event_attr pa;
	memset(&pa, 0, sizeof pa);
	pa.size = sizeof pa;
	pa.type = PERF_TYPE_SOFTWARE;
	pa.config = PERF_COUNT_SW_TASK_CLOCK;
	pa.exclude_kernel = 1;
	pa.exclude_hv = 1;
	return syscall(SYS_perf_event_open, &pa, 0, -1, -1, 0);
}

#define PODMAN_CAPS                                                                                                    \
	((1ULL << CAP_CHOWN) | (1ULL << CAP_DAC_OVERRIDE) | (1ULL << CAP_FOWNER) | (1ULL << CAP_FSETID) |              \
	 (1ULL << CAP_KILL) | (1ULL << CAP_SETGID) | (1ULL << CAP_SETUID) | (1ULL << CAP_SETPCAP) |                    \
	 (1ULL << CAP_NET_BIND_SERVICE) | (1ULL << CAP_SYS_CHROOT) | (1ULL << CAP_SETFCAP))

static unsigned long long read_status_hex(const char *key)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	unsigned long long v = ~0ULL;
	size_t kl = strlen(key);
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, key, kl))
			v = strtoull(line + kl, NULL, 16);
	if (f)
		fclose(f);
	return v;
}

/* personality: the query, PER_LINUX(32) with ADDR_NO_RANDOMIZE or
 * UNAME26 pass; READ_IMPLIES_EXEC and the rest fail, with bit 31 set too. */
static int personality_checks(void)
{
	long orig = syscall(SYS_personality, 0xffffffffUL);
	if (orig < 0)
		return 30;
	if (syscall(SYS_personality, 0x0040000UL) < 0 || syscall(SYS_personality, 0x0060008UL) < 0 ||
	    syscall(SYS_personality, 0UL) < 0)
		return 31;
	const unsigned long bad[] = {0x0400000UL, 0x0440000UL,	0x0100000UL,  0x0200000UL,  0x0800000UL, 0x8000000UL,
				     0x0000001UL, 0x80400000UL, 0x80000000UL, 0xfffffffeUL, 0x7fffffffUL};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (!fails_with(syscall(SYS_personality, bad[i]), EPERM)) {
			fprintf(stderr, "personality(%#lx) allowed\n", bad[i]);
			return 32;
		}
	if (syscall(SYS_personality, 0xffffffffUL) != 0)
		return 33; /* nothing of the refused ones took */
	return 0;
}

static int session_default(void *arg)
{
	(void)arg;
	struct js_policy p = {.network = JS_NET_NONE};
	struct js_err err = {0};
	if (js_harden_session(&p, &err) < 0) {
		fprintf(stderr, "harden: %s\n", err.msg);
		return 10;
	}
	if (!fails_with(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0), EPERM))
		return 11;
	if (!fails_with(unshare(CLONE_NEWUSER), EPERM))
		return 12;
	if (!fails_with(syscall(SYS_clone3, NULL, 0), ENOSYS))
		return 13;
	if (!fails_with(perf_self(), EPERM))
		return 14;
	if (!fails_with(mount("x", "/tmp", "tmpfs", 0, NULL), EPERM))
		return 15;
	if (!fails_with(syscall(SYS_io_uring_setup, 1, NULL), EPERM))
		return 16;
	if (prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN) != 0 || prctl(PR_CAPBSET_READ, CAP_CHOWN) != 1)
		return 17;
	/* rootless podman's eleven, no more */
	unsigned long long bnd = read_status_hex("CapBnd:");
	if (bnd != PODMAN_CAPS) {
		fprintf(stderr, "CapBnd %llx, want %llx\n", bnd, PODMAN_CAPS);
		return 18;
	}
	if (!fails_with(syscall(SYS_modify_ldt, 0, NULL, 0), ENOSYS))
		return 19;
	if (!fails_with(syscall(SYS_memfd_secret, 0), ENOSYS))
		return 20;
	char a = 'a', b = 'b';
	struct iovec lo = {.iov_base = &a, .iov_len = 1}, re = {.iov_base = &b, .iov_len = 1};
	if (!fails_with(syscall(SYS_process_vm_writev, getpid(), &lo, 1, &re, 1, 0), EPERM))
		return 21;
	if (syscall(SYS_process_vm_readv, getpid(), &lo, 1, &re, 1, 0) != 1)
		return 22; /* profilers read: still allowed */
	return personality_checks();
}

static void test_session_default(void **state)
{
	(void)state;
	int r = in_child(session_default, NULL);
	JS_SKIP_IF(r == 77, "cannot make a user namespace here");
	assert_int_equal(r, 0);
}

static int session_open(void *arg)
{
	(void)arg;
	struct js_policy p = {.network = JS_NET_NONE, .nested_userns = true, .perf_events = true};
	struct js_err err = {0};
	/* kernel.perf_event_paranoid decides without the filter: what works
	 * before must work after */
	bool perf_before = perf_self() >= 0;
	if (js_harden_session(&p, &err) < 0)
		return 10;
	if (perf_before && perf_self() < 0)
		return 14;
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		return 11;
	if (mount("x", "/tmp", "tmpfs", 0, NULL) < 0)
		return 12; /* in a namespace of our own: allowed */
	if (!fails_with(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0), EPERM))
		return 13; /* what the keys do not open stays closed */
	return 0;
}

static int session_caps_add(void *arg)
{
	(void)arg;
	struct js_policy p = {.network = JS_NET_NONE, .caps_add = (1ULL << CAP_SYS_PTRACE) | (1ULL << CAP_SYS_ADMIN)};
	struct js_err err = {0};
	if (js_harden_session(&p, &err) < 0)
		return 10;
	/* the allow-listed one is added; one outside the list never is, even
	 * if a caller's mask had it */
	if (read_status_hex("CapBnd:") != (PODMAN_CAPS | (1ULL << CAP_SYS_PTRACE)))
		return 11;
	return 0;
}

static void test_session_caps_add(void **state)
{
	(void)state;
	int r = in_child(session_caps_add, NULL);
	if (r == 77)
		skip();
	assert_int_equal(r, 0);
}

/* From a buffer of /proc/self/status: the relay may not open files. */
static unsigned long long status_hex(const char *buf, const char *key)
{
	const char *p = strstr(buf, key);
	return p ? strtoull(p + strlen(key), NULL, 16) : ~0ULL;
}

static int relay_hardened(void *arg)
{
	(void)arg;
	struct js_err err = {0};
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (js_harden_relay(&err) < 0) {
		fprintf(stderr, "harden relay: %s\n", err.msg);
		return 10;
	}
	static char buf[8192];
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
	if (n <= 0)
		return 14;
	buf[n] = '\0';
	if (status_hex(buf, "\nCapEff:") != 0 || status_hex(buf, "\nCapPrm:") != 0 ||
	    status_hex(buf, "\nCapBnd:") != 0 || status_hex(buf, "\nCapAmb:") != 0)
		return 11;
	if (status_hex(buf, "\nSeccomp:") != 2 || status_hex(buf, "\nNoNewPrivs:") != 1)
		return 12;
	/* what a relay does */
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 13; /* socketpair is not on the list */
	return 0;
}

/* The relay's filter: its own system calls pass, nothing else does. */
static int relay_filter(void *arg)
{
	(void)arg;
	struct js_err err = {0};
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path + 1, "jsb-relay-test", 14);
	socklen_t sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 15);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sl) < 0 || listen(l, 4) < 0)
		return 20;
	if (js_harden_relay(&err) < 0)
		return 21;
	pid_t k = fork();
	if (k < 0)
		return 22;
	if (k == 0) {
		int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c < 0 || connect(c, (struct sockaddr *)&sa, sl) < 0 || write(c, "x", 1) != 1)
			_exit(1);
		_exit(0);
	}
	int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	char b;
	if (c < 0 || read(c, &b, 1) != 1 || b != 'x')
		return 23;
	int st;
	if (waitpid(k, &st, 0) != k || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return 24;
	if (!fails_with(socket(AF_INET, SOCK_STREAM, 0), EPERM))
		return 25;
	if (!fails_with(open("/etc/passwd", O_RDONLY), EPERM) ||
	    !fails_with(openat(AT_FDCWD, "/etc/passwd", O_RDONLY), EPERM))
		return 26;
	char *argv[] = {(char *)"true", NULL};
	if (!fails_with(execve("/bin/true", argv, argv + 1), EPERM))
		return 27;
	if (!fails_with((long)(intptr_t)mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
			EPERM))
		return 28;
	if (!fails_with(unshare(CLONE_NEWNS), EPERM) || !fails_with(ptrace(PTRACE_TRACEME, 0, 0, 0), EPERM))
		return 29;
	if (!fails_with(syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), NULL, NULL, NULL, 0), EPERM))
		return 30;
	return 0;
}

static void test_relay(void **state)
{
	(void)state;
	int r = in_child(relay_hardened, NULL);
	if (r == 77)
		skip();
	assert_int_equal(r, 13);
	assert_int_equal(in_child(relay_filter, NULL), 0);
}

static void test_session_policy_keys(void **state)
{
	(void)state;
	int r = in_child(session_open, NULL);
	JS_SKIP_IF(r == 77, "cannot make a user namespace here");
	assert_int_equal(r, 0);
}

static const char abstract_name[] = "jsb-harden-test";

static int connect_abstract(void)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path + 1, abstract_name, sizeof abstract_name - 1);
	int r = connect(s, (struct sockaddr *)&sa,
			(socklen_t)(offsetof(struct sockaddr_un, sun_path) + sizeof abstract_name));
	int e = errno;
	close(s);
	errno = e;
	return r;
}

static int session_abstract(void *arg)
{
	enum js_net net = *(enum js_net *)arg;
	struct js_policy p = {.network = net};
	struct js_err err = {0};
	if (js_harden_session(&p, &err) < 0)
		return 10;
	int r = connect_abstract();
	if (net == JS_NET_HOST)
		return r < 0 && errno == EPERM ? 0 : 11;
	return r == 0 ? 0 : 12;
}

static void test_abstract_scope(void **state)
{
	(void)state;
	/* Linux before 6.12: a documented limit, but CI runs a kernel that
	 * has it. */
	JS_SKIP_IF(syscall(SYS_landlock_create_ruleset, NULL, 0, 1) < 6, "Landlock ABI 6 (Linux 6.12) needed");
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path + 1, abstract_name, sizeof abstract_name - 1);
	assert_int_equal(
	    bind(l, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + sizeof abstract_name)),
	    0);
	assert_int_equal(listen(l, 4), 0);
	enum js_net host = JS_NET_HOST, none = JS_NET_NONE;
	assert_int_equal(in_child(session_abstract, &host), 0); /* refused */
	assert_int_equal(in_child(session_abstract, &none), 0); /* own netns then: not scoped */
	close(l);
}

static int init_hardened(void *arg)
{
	(void)arg;
	struct js_err err = {0};
	if (js_harden_init(&err) < 0) {
		fprintf(stderr, "harden init: %s\n", err.msg);
		return 10;
	}
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	unsigned long long eff = ~0ULL, bnd = ~0ULL;
	int sec = -1, nnp = -1;
	while (f && fgets(line, sizeof line, f)) {
		sscanf(line, "CapEff: %llx", &eff);
		sscanf(line, "CapBnd: %llx", &bnd);
		sscanf(line, "Seccomp: %d", &sec);
		sscanf(line, "NoNewPrivs: %d", &nnp);
	}
	if (f)
		fclose(f);
	if (eff != 1ULL << CAP_KILL || bnd != 1ULL << CAP_KILL || sec != 2 || nnp != 1)
		return 11;
	if (!fails_with(mount("x", "/tmp", "tmpfs", 0, NULL), EPERM))
		return 12;
	if (!fails_with(unshare(CLONE_NEWUSER), EPERM))
		return 13;
	return 0;
}

static void test_init(void **state)
{
	(void)state;
	int r = in_child(init_hardened, NULL);
	JS_SKIP_IF(r == 77, "cannot make a user namespace here");
	assert_int_equal(r, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_session_default),  cmocka_unit_test(test_session_policy_keys),
	    cmocka_unit_test(test_session_caps_add), cmocka_unit_test(test_relay),
	    cmocka_unit_test(test_abstract_scope),   cmocka_unit_test(test_init),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
