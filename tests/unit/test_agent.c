/* SPDX-License-Identifier: MIT */
/* helper/agent.c, js_agent_prepare: SSH_AUTH_SOCK is trusted only for the
 * socket the session's sshd made. Here the test process plays sshd (the
 * parent of the child that calls js_agent_prepare, as sshd is the
 * helper's parent) and listens on sockets laid out as sshd does and as an
 * attacker would. No privilege needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"

static char base[64];

static int listen_at(const char *path)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(s, 8), 0);
	return s;
}

/* No connection is waiting on listener l. */
static bool untouched(int l)
{
	int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (c >= 0) {
		close(c);
		return false;
	}
	return errno == EAGAIN || errno == EWOULDBLOCK;
}

/* js_agent_prepare(path) in a child of ours: 0 on success with the
 * listener being us, else the errno it failed with. */
static int prepare_in_child(const char *path)
{
	pid_t me = getpid();
	pid_t k = fork();
	assert_true(k >= 0);
	if (k == 0) {
		struct js_agent a;
		struct js_err err = {0};
		int r = js_agent_prepare(path, &a, &err);
		if (r < 0) {
			fprintf(stderr, "  prepare %s: %s\n", path, err.msg);
			_exit(-r & 0xff);
		}
		_exit(a.listener == me && a.dir >= 0 ? 0 : 200);
	}
	int st;
	assert_int_equal(waitpid(k, &st, 0), k);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static int setup(void **state)
{
	(void)state;
	snprintf(base, sizeof base, "/tmp/jsb-agent-test.XXXXXX");
	assert_non_null(mkdtemp(base));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static void mkpriv(const char *name, mode_t mode, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", base, name);
	assert_int_equal(mkdir(out, mode), 0);
	assert_int_equal(chmod(out, mode), 0);
}

/* As sshd makes it: a 0700 directory of ours, agent.<sshd's pid>. */
static void test_sshds_socket(void **state)
{
	(void)state;
	char d[128], p[192];
	mkpriv("ssh-good", 0700, d, sizeof d);
	snprintf(p, sizeof p, "%s/agent.%d", d, (int)getpid());
	int l = listen_at(p);
	assert_int_equal(prepare_in_child(p), 0);
	assert_false(untouched(l)); /* it did connect: the peer check */
	close(l);
}

/* The user's own socket that is not sshd's (/run/user/UID/bus): refused
 * before anything connects. */
static void test_other_name_never_connected(void **state)
{
	(void)state;
	char d[128], p[192];
	mkpriv("bus", 0700, d, sizeof d);
	snprintf(p, sizeof p, "%s/bus", d);
	int l = listen_at(p);
	assert_int_equal(prepare_in_child(p), EPERM);
	assert_true(untouched(l));
	close(l);
	/* named agent.<pid> after a process that is not an ancestor */
	snprintf(p, sizeof p, "%s/agent.%d", d, (int)getpid() + 100000);
	l = listen_at(p);
	assert_int_equal(prepare_in_child(p), EPERM);
	assert_true(untouched(l));
	close(l);
}

/* Named after sshd, but someone else listens: the kernel's word
 * (SO_PEERCRED) decides. */
static void test_wrong_listener(void **state)
{
	(void)state;
	char d[128], p[192];
	mkpriv("ssh-fake", 0700, d, sizeof d);
	snprintf(p, sizeof p, "%s/agent.%d", d, (int)getpid());
	int ready[2];
	assert_int_equal(pipe(ready), 0);
	pid_t k = fork();
	assert_true(k >= 0);
	if (k == 0) {
		listen_at(p);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	char c;
	assert_int_equal(read(ready[0], &c, 1), 1);
	assert_int_equal(prepare_in_child(p), EPERM);
	kill(k, SIGKILL);
	waitpid(k, NULL, 0);
	close(ready[0]);
	close(ready[1]);
}

/* Links: the socket a symlink, a directory on the way a symlink; and a
 * directory others may enter. */
static void test_links_and_modes(void **state)
{
	(void)state;
	char d[128], p[192], q[192];
	mkpriv("ssh-real", 0700, d, sizeof d);
	snprintf(p, sizeof p, "%s/agent.%d", d, (int)getpid());
	int l = listen_at(p);
	/* a link to sshd's socket in another private directory */
	char d2[128];
	mkpriv("ssh-link", 0700, d2, sizeof d2);
	snprintf(q, sizeof q, "%s/agent.%d", d2, (int)getpid());
	assert_int_equal(symlink(p, q), 0);
	assert_int_equal(prepare_in_child(q), EPERM);
	/* a link to the directory */
	snprintf(q, sizeof q, "%s/dirlink", base);
	assert_int_equal(symlink(d, q), 0);
	snprintf(q, sizeof q, "%s/dirlink/agent.%d", base, (int)getpid());
	assert_int_equal(prepare_in_child(q), ELOOP);
	assert_true(untouched(l));
	/* group or others may enter the directory */
	assert_int_equal(chmod(d, 0750), 0);
	assert_int_equal(prepare_in_child(p), EPERM);
	assert_true(untouched(l));
	assert_int_equal(chmod(d, 0700), 0);
	assert_int_equal(prepare_in_child(p), 0);
	close(l);
	/* not absolute, not a name */
	assert_int_equal(prepare_in_child("agent.1"), EINVAL);
	snprintf(q, sizeof q, "%s/", d);
	assert_int_equal(prepare_in_child(q), EINVAL);
}

/* The relay, end to end: prepared as the helper does, started in a user
 * namespace of its own (as after joining the container's, where it holds
 * every capability until js_harden_relay), it carries bytes both ways to
 * the "sshd" socket under its seccomp filter. */
static void test_relay_carries(void **state)
{
	(void)state;
	char d[128], p[192];
	mkpriv("ssh-relay", 0700, d, sizeof d);
	snprintf(p, sizeof p, "%s/agent.%d", d, (int)getpid());
	int l = listen_at(p);
	int res[2];
	assert_int_equal(pipe(res), 0);
	uid_t uid = getuid();
	pid_t k = fork();
	assert_true(k >= 0);
	if (k == 0) {
		struct js_agent a;
		struct js_err err = {0};
		char in[96], map[64], got[8] = "";
		if (js_agent_prepare(p, &a, &err) < 0 || unshare(CLONE_NEWUSER) < 0)
			_exit(1);
		snprintf(map, sizeof map, "%u %u 1\n", (unsigned)uid, (unsigned)uid);
		int m = open("/proc/self/uid_map", O_WRONLY | O_CLOEXEC);
		if (m < 0 || write(m, map, strlen(map)) < 0)
			_exit(2);
		close(m);
		if (js_agent_relay_start(&a, in, sizeof in, &err) < 0)
			_exit(3);
		int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		snprintf(sa.sun_path, sizeof sa.sun_path, "%s", in);
		if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof sa) < 0 || write(c, "ping", 4) != 4 ||
		    read(c, got, 4) != 4)
			_exit(4);
		if (write(res[1], got, 4) != 4)
			_exit(5);
		_exit(0);
	}
	/* the prepare-time probe, then the relay's connection */
	int fl = fcntl(l, F_GETFL);
	assert_int_equal(fcntl(l, F_SETFL, fl & ~O_NONBLOCK), 0);
	int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	assert_true(c >= 0);
	close(c);
	c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	assert_true(c >= 0);
	char b[8] = "";
	assert_int_equal(read(c, b, 4), 4);
	assert_memory_equal(b, "ping", 4);
	assert_int_equal(write(c, "pong", 4), 4);
	int st;
	assert_int_equal(waitpid(k, &st, 0), k);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(read(res[0], b, 4), 4);
	assert_memory_equal(b, "pong", 4);
	close(c);
	close(l);
	close(res[0]);
	close(res[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sshds_socket),   cmocka_unit_test(test_other_name_never_connected),
	    cmocka_unit_test(test_wrong_listener), cmocka_unit_test(test_links_and_modes),
	    cmocka_unit_test(test_relay_carries),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
