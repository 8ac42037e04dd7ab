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
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
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
	return 0;
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
	    cmocka_unit_test(test_session_default),
	    cmocka_unit_test(test_session_policy_keys),
	    cmocka_unit_test(test_abstract_scope),
	    cmocka_unit_test(test_init),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
