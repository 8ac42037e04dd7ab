/* SPDX-License-Identifier: MIT */
/* ssh-agent forwarding into the container. sshd makes the forwarded agent
 * socket in the host's /tmp, which the container cannot see. A relay,
 * forked by the helper before it enters the pid namespace (so nothing inside
 * can see or trace it), listens in the container's /tmp and connects each
 * client to the host socket by a name relative to a directory fd taken
 * before the helper joined the container.
 *
 * The relay connects from the host side, where the user's processes
 * inside cannot: it must only ever reach the socket sshd made for this
 * connection, never one that SSH_AUTH_SOCK was pointed at by the user
 * (another user's service, a root daemon, the user's own systemd manager on
 * the host). See js_agent_prepare in agent.h for the checks. */
#include "agent.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harden.h"

/* Real uid and parent of a process, from /proc/PID/status. */
static int proc_uid_ppid(pid_t pid, uid_t *uid, pid_t *ppid)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	const char *u = strstr(buf, "\nUid:"), *p = strstr(buf, "\nPPid:");
	unsigned long uv, pv;
	if (!u || !p || sscanf(u, "\nUid: %lu", &uv) != 1 || sscanf(p, "\nPPid: %lu", &pv) != 1)
		return -EIO;
	*uid = (uid_t)uv;
	*ppid = (pid_t)pv;
	return 0;
}

/* Is pid this process's parent, or an ancestor reached only through
 * processes of this user? The session's sshd is our parent when sshd runs
 * us as the login shell; a login shell that runs us as its child (an
 * exempt-style set-up) puts one process of the user's own between. */
static bool is_user_ancestor(pid_t pid)
{
	pid_t p = getppid();
	for (int depth = 0; depth < 8 && p > 1; depth++) {
		uid_t uid = (uid_t)-1;
		pid_t pp = 0;
		if (proc_uid_ppid(p, &uid, &pp) < 0 || uid != getuid())
			return false;
		if (p == pid)
			return true;
		p = pp;
	}
	return false;
}

/* The listening peer of a connected unix socket: the user's, and the
 * expected process. */
static int check_peer(int s, pid_t want, pid_t *got, struct js_err *err)
{
	struct ucred cr;
	socklen_t l = sizeof cr;
	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &l) < 0)
		return js_failm(err, errno, "cannot read the listener's credentials");
	if (cr.uid != getuid())
		return js_fail(err, EPERM, "the socket's listener runs as uid %u, not as the user", (unsigned)cr.uid);
	if (want <= 0 || cr.pid != want)
		return js_fail(err, EPERM, "the socket's listener (pid %d) is not this session's sshd", (int)cr.pid);
	if (got)
		*got = cr.pid;
	return 0;
}

int js_agent_prepare(const char *host_sock, struct js_agent *a, struct js_err *err)
{
	a->dir = -1;
	if (!host_sock || host_sock[0] != '/')
		return js_fail(err, EINVAL, "not an absolute path");
	const char *slash = strrchr(host_sock, '/');
	if (js_strlcpy(a->base, slash + 1, sizeof a->base) < 0 || !a->base[0] || !strcmp(a->base, ".") ||
	    !strcmp(a->base, ".."))
		return js_fail(err, EINVAL, "not a socket name");
	char dir[PATH_MAX];
	if (js_strlcpy(dir, host_sock, sizeof dir) < 0)
		return js_fail(err, ENAMETOOLONG, "path too long");
	dir[slash - host_sock] = '\0';

	/* No link anywhere on the way, magic ones included. */
	struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
			       .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, dir[0] ? dir : "/", &how, sizeof how);
	if (fd < 0)
		return js_failm(err, errno, "cannot open its directory without following links");
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 077)) {
		close(fd);
		return js_fail(err, EPERM, "its directory is not the user's own private directory");
	}
	if (fstatat(fd, a->base, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISSOCK(st.st_mode) || st.st_uid != getuid()) {
		close(fd);
		return js_fail(err, EPERM, "not a socket owned by the user");
	}
	a->dev = st.st_dev;
	a->ino = st.st_ino;
	/* sshd names it agent.<its pid> (session.c): that process must be
	 * one of our ancestors, the session's sshd, before anything connects
	 * (a socket of the user's own on the host, such as the systemd
	 * manager's, is never even connected to). */
	char *end;
	errno = 0;
	long want = strncmp(a->base, "agent.", 6) ? 0 : strtol(a->base + 6, &end, 10);
	if (want <= 1 || errno || *end || a->base[6] == '0' || !is_user_ancestor((pid_t)want)) {
		close(fd);
		return js_fail(err, EPERM, "not named agent.<pid> after this session's sshd");
	}

	/* Who listens on it: sshd, our parent. Connect through the directory
	 * fd (the host's /proc: we have not joined anything yet). */
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (js_snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s", fd, a->base) < 0) {
		close(fd);
		return js_fail(err, ENAMETOOLONG, "socket name too long");
	}
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = errno;
		if (s >= 0)
			close(s);
		close(fd);
		return js_fail(err, e, "cannot connect: %s", strerror(e));
	}
	int r = check_peer(s, (pid_t)want, &a->listener, err);
	close(s);
	if (r < 0) {
		close(fd);
		return r;
	}
	a->dir = fd;
	return 0;
}

static void relay_conn(int c, const struct js_agent *a)
{
	/* The same inode as checked at login, then the same listener. */
	struct stat st;
	if (fstatat(a->dir, a->base, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISSOCK(st.st_mode) || st.st_dev != a->dev ||
	    st.st_ino != a->ino)
		_exit(1);
	int h = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	js_strlcpy(sa.sun_path, a->base, sizeof sa.sun_path);
	if (h < 0 || fchdir(a->dir) < 0 || connect(h, (struct sockaddr *)&sa, sizeof sa) < 0)
		_exit(1);
	struct js_err err = {0};
	if (check_peer(h, a->listener, NULL, &err) < 0)
		_exit(1);
	char buf[16384];
	struct pollfd p[2] = {{.fd = c, .events = POLLIN}, {.fd = h, .events = POLLIN}};
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(p[i].fd, buf, sizeof buf);
			if (n <= 0 || js_write_all(p[1 - i].fd, buf, (size_t)n) < 0)
				_exit(0);
		}
	}
	_exit(0);
}

static volatile sig_atomic_t stop;
static void on_term(int sig)
{
	stop = sig;
}

/* Close every fd from 3 up but the two kept. */
static void close_all_but(int x, int y)
{
	int lo = x < y ? x : y, hi = x < y ? y : x;
	if (lo > 3)
		syscall(SYS_close_range, 3u, (unsigned)lo - 1, 0u);
	if (hi > lo + 1)
		syscall(SYS_close_range, (unsigned)lo + 1, (unsigned)hi - 1, 0u);
	syscall(SYS_close_range, (unsigned)hi + 1, ~0u, 0u);
}

int js_agent_relay_start(const struct js_agent *a, char *inside_path, size_t len, struct js_err *err)
{
	char dir[] = "/tmp/jsandbox-agent.XXXXXX";
	if (!mkdtemp(dir))
		return js_failm(err, errno, "cannot create the agent directory");
	if (js_snprintf(inside_path, len, "%s/agent", dir) < 0)
		return js_fail(err, ENAMETOOLONG, "agent path");
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	js_strlcpy(sa.sun_path, inside_path, sizeof sa.sun_path);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(l, 16) < 0) {
		rmdir(dir);
		return js_failm(err, errno, "cannot listen on the agent socket");
	}
	chmod(inside_path, 0600);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		return js_failm(err, errno, "fork");
	if (pid > 0) {
		close(l);
		return 0;
	}
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(0);
	/* Nothing of the session's: not its stdio (sshd's channel), not the
	 * helper's descriptors. */
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int i = 0; i < 3 && null >= 0; i++)
		dup2(null, i);
	close_all_but(l, a->dir);
	struct sigaction sa_term = {.sa_handler = on_term};
	sigaction(SIGTERM, &sa_term, NULL);
	sigaction(SIGHUP, &sa_term, NULL);
	signal(SIGCHLD, SIG_IGN); /* connection children reap themselves */
	struct js_err herr = {0};
	if (js_harden_relay(&herr) < 0) {
		unlink(inside_path);
		rmdir(dir);
		_exit(1);
	}
	while (!stop) {
		int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		pid_t k = fork();
		if (k == 0) {
			close(l);
			relay_conn(c, a);
		}
		close(c);
	}
	unlink(inside_path);
	rmdir(dir);
	_exit(0);
}
