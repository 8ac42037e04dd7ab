/* SPDX-License-Identifier: MIT */
/* Terminals for interactive sessions. sshd's pty is a host devpts node; the
 * session gets one of the container's own devpts, and we relay bytes and
 * window-size changes between the two, as lxc-attach and podman exec do. */
#include "pty.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>

int js_pty_open(int *master, int *slave, char *name, size_t len, struct js_err *err)
{
	/* Path lookups here happen in the container's mount namespace. */
	_cleanup_close_ int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return js_failm(err, errno, "cannot open the container's /dev/ptmx");
	int unlock = 0;
	if (ioctl(m, TIOCSPTLCK, &unlock) < 0)
		return js_failm(err, errno, "unlockpt");
	/* TIOCGPTPEER opens the peer through the master, not by name: no
	 * path a process inside could swap. */
	int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0)
		return js_failm(err, errno, "cannot open the pty peer");
	unsigned n;
	if (ioctl(m, TIOCGPTN, &n) < 0) {
		close(s);
		return js_failm(err, errno, "TIOCGPTN");
	}
	snprintf(name, len, "/dev/pts/%u", n);
	*slave = s;
	*master = js_steal_fd(&m);
	return 0;
}

void js_pty_copy_settings(int from, int to)
{
	struct termios t;
	struct winsize ws;
	if (tcgetattr(from, &t) == 0)
		tcsetattr(to, TCSANOW, &t);
	if (ioctl(from, TIOCGWINSZ, &ws) == 0)
		ioctl(to, TIOCSWINSZ, &ws);
}

static int pump(int from, int to)
{
	char buf[16384];
	ssize_t n = read(from, buf, sizeof buf);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)
		return -1;
	return js_write_all(to, buf, (size_t)n) < 0 ? -1 : 0;
}

/* After the child exits, output still in the master is relayed until it
 * stays quiet this long (a background process may still hold it). */
#define DRAIN_QUIET_MS 100

int js_pty_relay(int master, pid_t child, int *status)
{
	struct termios saved;
	bool raw = false;
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
		struct termios t = saved;
		cfmakeraw(&t);
		raw = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
	}
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGWINCH);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGQUIT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

	bool in_open = true, child_done = false;
	int st = 0;
	for (;;) {
		struct pollfd p[3] = {
		    {.fd = sfd, .events = POLLIN},
		    {.fd = master, .events = POLLIN},
		    {.fd = in_open ? STDIN_FILENO : -1, .events = POLLIN},
		};
		int r = poll(p, 3, child_done ? DRAIN_QUIET_MS : -1);
		if (r < 0 && errno != EINTR)
			break;
		if (r == 0 && child_done)
			break; /* the child is gone and the master drained */
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
				if (si.ssi_signo == SIGWINCH) {
					struct winsize ws;
					if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
						ioctl(master, TIOCSWINSZ, &ws);
				} else if (si.ssi_signo == SIGCHLD) {
					if (!child_done && waitpid(child, &st, WNOHANG) == child)
						child_done = true;
				} else {
					/* hang-up of the outer terminal: hang up the inner one */
					kill(child, SIGHUP);
				}
			}
		}
		if (p[1].revents & POLLIN) {
			if (pump(master, STDOUT_FILENO) < 0 && child_done)
				break;
		} else if (p[1].revents & (POLLHUP | POLLERR)) {
			if (child_done)
				break;
			/* every inner holder closed it; wait for the child */
			if (waitpid(child, &st, 0) == child)
				child_done = true;
			break;
		}
		if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (pump(STDIN_FILENO, master) < 0) {
				/* the client went away: the inner terminal hangs up */
				in_open = false;
				kill(child, SIGHUP);
			}
		}
	}
	int ret = 0;
	if (!child_done)
		while (waitpid(child, &st, 0) < 0)
			if (errno != EINTR) {
				ret = -errno;
				break;
			}
	if (raw)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
	if (sfd >= 0)
		close(sfd);
	sigprocmask(SIG_UNBLOCK, &mask, NULL);
	*status = st;
	return ret;
}
