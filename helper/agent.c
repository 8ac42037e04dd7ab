/* SPDX-License-Identifier: MIT */
/* ssh-agent forwarding into the container. sshd makes the forwarded agent
 * socket in the host's /tmp, which the container cannot see. A relay,
 * forked by the helper before it enters the pid namespace (so nothing inside
 * can see or trace it), listens in the container's /tmp and connects each
 * client to the host socket by a path relative to a directory fd taken
 * before the helper joined the container. */
#include "agent.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

int js_agent_prepare(const char *host_sock, char *base, size_t baselen)
{
	if (!host_sock || host_sock[0] != '/')
		return -EINVAL;
	const char *slash = strrchr(host_sock, '/');
	if (js_strlcpy(base, slash + 1, baselen) < 0 || !base[0])
		return -EINVAL;
	char dir[PATH_MAX];
	if (js_strlcpy(dir, host_sock, sizeof dir) < 0)
		return -ENAMETOOLONG;
	dir[slash - host_sock] = '\0';
	int fd = open(dir[0] ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static void relay_conn(int c, int hostdir, const char *base)
{
	int h = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	js_strlcpy(sa.sun_path, base, sizeof sa.sun_path);
	if (h < 0 || fchdir(hostdir) < 0 || connect(h, (struct sockaddr *)&sa, sizeof sa) < 0)
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

int js_agent_relay_start(int hostdir, const char *base, char *inside_path, size_t len, struct js_err *err)
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
	struct sigaction sa_term = {.sa_handler = on_term};
	sigaction(SIGTERM, &sa_term, NULL);
	sigaction(SIGHUP, &sa_term, NULL);
	signal(SIGCHLD, SIG_IGN); /* connection children reap themselves */
	while (!stop) {
		int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		pid_t k = fork();
		if (k == 0) {
			close(l);
			relay_conn(c, hostdir, base);
		}
		close(c);
	}
	unlink(inside_path);
	rmdir(dir);
	_exit(0);
}
