/* SPDX-License-Identifier: MIT */
/* The root side's teardown of a user's cgroup (js_cgroup_kill_all), for
 * real (root only): a group is made under jsandbox/ in every hierarchy,
 * filled with processes that try to get away (setsid, a double fork, a
 * child that keeps forking), and must be empty after the call, in every
 * hierarchy. A caller that is itself in the group is spared while the
 * others die (a session's monitor that has not stepped out yet).
 *
 * Without root it prints "SKIP:" and exits 77; with CI=true a skip fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"

static char name[64];

static bool under_ci(void)
{
	const char *ci = getenv("CI");
	return ci && !strcmp(ci, "true");
}

/* A child that joins the group, reports, and tries to outlive it. kind 0:
 * sleeps; 1: setsid and a double fork (the grandchild is an orphan); 2:
 * forks again and again. Writes one byte to `ready` per process. */
static pid_t spawn(struct js_cgroup *cg, int kind, int ready)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	if (js_cgroup_attach(cg, getpid(), NULL) < 0)
		_exit(2);
	if (kind == 1) {
		setsid();
		if (fork() != 0)
			_exit(0);
		if (write(ready, "g", 1) != 1)
			_exit(3);
		for (;;)
			pause();
	}
	if (write(ready, "c", 1) != 1)
		_exit(3);
	if (kind == 2) {
		for (;;) {
			pid_t k = fork();
			if (k == 0) {
				pause();
				_exit(0);
			}
			usleep(1000);
		}
	}
	for (;;)
		pause();
}

static int setup(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		if (under_ci())
			fail_msg("FAIL: skipped under CI=true: needs root");
		print_message("SKIP: needs root\n");
		exit(77);
	}
	snprintf(name, sizeof name, "jsbt-unit-kill-%d", (int)getpid());
	return 0;
}

static void make_group(struct js_cgroup *cg)
{
	struct js_err err = {0};
	assert_int_equal(js_cgroup_discover(cg, &err), 0);
	struct js_cgroup_limits lim = {.cpu_weight = 100};
	if (js_cgroup_create(cg, name, &lim, &err) < 0)
		fail_msg("cannot make the test group: %s", err.msg);
}

static void remove_group(struct js_cgroup *cg)
{
	assert_int_equal(js_cgroup_remove(cg, name, NULL), 0);
}

static void test_everything_dies(void **state)
{
	(void)state;
	struct js_cgroup cg;
	make_group(&cg);
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t kids[3];
	for (int k = 0; k < 3; k++)
		kids[k] = spawn(&cg, k, p[1]);
	close(p[1]);
	char b;
	for (int n = 0; n < 3; n++) /* the sleeper, the orphan, the forker */
		assert_int_equal(read(p[0], &b, 1), 1);
	close(p[0]);
	assert_true(js_cgroup_count_all(&cg) >= 3);
	struct js_err err = {0};
	int r = js_cgroup_kill_all(&cg, 5000, &err);
	if (r < 0)
		fail_msg("kill_all: %s", err.msg);
	assert_int_equal(js_cgroup_count_all(&cg), 0);
	for (int k = 0; k < 3; k++) {
		int st;
		assert_int_equal(waitpid(kids[k], &st, 0), kids[k]);
		/* kind 1 exited by itself after its double fork */
		if (k != 1)
			assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	}
	remove_group(&cg);
}

static void test_caller_spared(void **state)
{
	(void)state;
	struct js_cgroup cg;
	make_group(&cg);
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t caller = fork();
	assert_true(caller >= 0);
	if (caller == 0) {
		/* In the group itself, like a monitor that has not left. */
		close(p[0]);
		if (js_cgroup_attach(&cg, getpid(), NULL) < 0)
			_exit(10);
		int q[2];
		if (pipe(q) < 0)
			_exit(11);
		pid_t other = spawn(&cg, 0, q[1]);
		char c;
		if (read(q[0], &c, 1) != 1)
			_exit(12);
		if (js_cgroup_kill_all(&cg, 5000, NULL) < 0)
			_exit(13);
		int st;
		if (waitpid(other, &st, 0) != other || !WIFSIGNALED(st))
			_exit(14);
		if (js_cgroup_count_all(&cg) != 1)
			_exit(15);
		_exit(0); /* still alive: spared */
	}
	close(p[1]);
	close(p[0]);
	int st;
	assert_int_equal(waitpid(caller, &st, 0), caller);
	if (!WIFEXITED(st))
		fail_msg("the caller was killed (signal %d)", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(js_cgroup_count_all(&cg), 0);
	remove_group(&cg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_everything_dies),
	    cmocka_unit_test(test_caller_spared),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
