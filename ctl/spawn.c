/* SPDX-License-Identifier: MIT */
#include "spawn.h"

#include <fcntl.h>
#include <linux/sched.h> /* struct clone_args, CLONE_PIDFD */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

static const int watched[] = {SIGINT, SIGTERM, SIGHUP};

int ctl_sigs_take(struct ctl_sigs *s, struct js_err *err)
{
	s->fd = -1;
	s->signo = 0;
	sigemptyset(&s->set);
	for (size_t i = 0; i < JS_ARRAY_SIZE(watched); i++) {
		struct sigaction sa;
		/* A blocked signal is queued even when ignored: leave the
		 * ignored ones alone, or nohup would stop protecting us. */
		if (sigaction(watched[i], NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
			continue;
		sigaddset(&s->set, watched[i]);
	}
	if (sigprocmask(SIG_BLOCK, &s->set, &s->saved) < 0)
		return js_failm(err, errno, "cannot block signals");
	s->fd = signalfd(-1, &s->set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s->fd < 0) {
		int e = errno;
		sigprocmask(SIG_SETMASK, &s->saved, NULL);
		return js_failm(err, e, "signalfd");
	}
	return 0;
}

bool ctl_sigs_pending(struct ctl_sigs *s)
{
	struct signalfd_siginfo si;
	while (s->fd >= 0 && read(s->fd, &si, sizeof si) == (ssize_t)sizeof si)
		if (!s->signo)
			s->signo = (int)si.ssi_signo;
	return s->signo != 0;
}

void ctl_sigs_die(struct ctl_sigs *s)
{
	int sig = s->signo ? s->signo : SIGTERM;
	fflush(stdout);
	fflush(stderr);
	signal(sig, SIG_DFL);
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, sig);
	raise(sig); /* stays pending until unblocked */
	sigprocmask(SIG_UNBLOCK, &one, NULL);
	_exit(128 + sig);
}

void ctl_sigs_release(struct ctl_sigs *s)
{
	if (s->fd >= 0) {
		/* Whatever came after the point of no return is consumed
		 * here rather than delivered when the mask goes back. */
		ctl_sigs_pending(s);
		close(s->fd);
		s->fd = -1;
		sigprocmask(SIG_SETMASK, &s->saved, NULL);
	}
}

/* In the child, in its fresh mount namespace: chroot into root and give
 * the programs there what mmdebstrap gives a chroot: /proc of the new pid
 * namespace, a minimal /dev on a tmpfs, and the host's /etc/resolv.conf
 * bound read-only onto the tree's (when that is a regular file; the caller
 * makes sure it is). All of it on top of the tree, in this namespace only:
 * nothing is written into the tree and everything goes when it ends. */
static int chroot_setup(const char *root)
{
	static const struct {
		const char *name;
		unsigned major, minor;
	} nodes[] = {{"null", 1, 3},   {"zero", 1, 5},	  {"full", 1, 7},
		     {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
	static const struct {
		const char *name, *target;
	} links[] = {{"fd", "/proc/self/fd"},
		     {"stdin", "/proc/self/fd/0"},
		     {"stdout", "/proc/self/fd/1"},
		     {"stderr", "/proc/self/fd/2"}};
	struct stat st;
	int resolv = open("/etc/resolv.conf", O_PATH | O_CLOEXEC);
	if (chroot(root) < 0 || chdir("/") < 0) {
		dprintf(2, CTL_PROG ": cannot chroot into \"%s\": %m\n", root);
		return -1;
	}
	/* Paths resolve inside the tree from here on. */
	if (lstat("/proc", &st) < 0 || !S_ISDIR(st.st_mode) || lstat("/dev", &st) < 0 || !S_ISDIR(st.st_mode)) {
		dprintf(2, CTL_PROG ": \"%s\" has no /proc or /dev directory\n", root);
		return -1;
	}
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 ||
	    mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=1m") < 0) {
		dprintf(2, CTL_PROG ": cannot mount /proc and /dev in \"%s\": %m\n", root);
		return -1;
	}
	for (size_t i = 0; i < JS_ARRAY_SIZE(nodes); i++) {
		char path[32];
		snprintf(path, sizeof path, "/dev/%s", nodes[i].name);
		if (mknod(path, S_IFCHR | 0666, makedev(nodes[i].major, nodes[i].minor)) < 0 || chmod(path, 0666) < 0) {
			dprintf(2, CTL_PROG ": cannot make %s in the chroot: %m\n", path);
			return -1;
		}
	}
	for (size_t i = 0; i < JS_ARRAY_SIZE(links); i++) {
		char path[32];
		snprintf(path, sizeof path, "/dev/%s", links[i].name);
		if (symlink(links[i].target, path) < 0) {
			dprintf(2, CTL_PROG ": cannot make %s in the chroot: %m\n", path);
			return -1;
		}
	}
	if (mkdir("/dev/pts", 0755) < 0 || mkdir("/dev/shm", 01777) < 0 || chmod("/dev/shm", 01777) < 0) {
		dprintf(2, CTL_PROG ": cannot make /dev/pts and /dev/shm in the chroot: %m\n");
		return -1;
	}
	/* Read-only: a maintainer script rewriting the chroot's resolv.conf
	 * must not write the host's. */
	if (resolv >= 0 && lstat("/etc/resolv.conf", &st) == 0 && S_ISREG(st.st_mode)) {
		char src[40];
		snprintf(src, sizeof src, "/proc/self/fd/%d", resolv);
		if (mount(src, "/etc/resolv.conf", NULL, MS_BIND, NULL) < 0 ||
		    mount(NULL, "/etc/resolv.conf", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
			  NULL) < 0) {
			dprintf(2, CTL_PROG ": cannot provide /etc/resolv.conf in the chroot: %m\n");
			return -1;
		}
	}
	if (resolv >= 0)
		close(resolv);
	return 0;
}

/* In the child, right after clone3. No atfork handler ran, which is fine
 * for a single-threaded parent; still, nothing here allocates. */
__attribute__((noreturn)) static void child_exec(const char *root, const char *const argv[], const char *const envp[],
						 const sigset_t *mask)
{
	/* Mounts made by the program (mmdebstrap mounts /proc, /sys and /dev
	 * in the chroot) stay in this namespace and vanish with it, whatever
	 * way it ends; none propagates back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		dprintf(2, CTL_PROG ": cannot make the helper's mounts private: %m\n");
		_exit(127);
	}
	/* jsandboxctl killed by SIGKILL: take the build down with it rather
	 * than let it write on into a directory nobody will rename. (Dying in
	 * the few instructions before this call is not covered; the next
	 * image command sweeps the work directory then.) */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	int null = open("/dev/null", O_RDONLY);
	if (null < 0 || dup2(null, 0) < 0) {
		dprintf(2, CTL_PROG ": cannot open /dev/null: %m\n");
		_exit(127);
	}
	/* In a chroot (image update) the programs' output goes to stderr:
	 * jsandboxctl's stdout is its report alone. */
	if (root && (dup2(2, 1) < 0 || chroot_setup(root) < 0))
		_exit(127);
	syscall(SYS_close_range, 3U, ~0U, 0U);
	sigprocmask(SIG_SETMASK, mask, NULL);
	execve(argv[0], (char *const *)argv, (char *const *)envp);
	dprintf(2, CTL_PROG ": cannot run \"%s\": %m\n", argv[0]);
	_exit(127);
}

static int spawn_wait(const char *root, const char *const argv[], const char *const envp[], struct ctl_sigs *s,
		      struct js_err *err)
{
	int pidfd = -1;
	struct clone_args ca = {
	    .flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_PIDFD,
	    .pidfd = (uint64_t)(uintptr_t)&pidfd,
	    .exit_signal = SIGCHLD,
	};
	fflush(stdout);
	fflush(stderr);
	long pid = syscall(SYS_clone3, &ca, sizeof ca);
	if (pid < 0)
		return js_failm(err, errno, "cannot start \"%s\"", argv[0]);
	if (pid == 0)
		child_exec(root, argv, envp, &s->saved);
	_cleanup_close_ int pfd = pidfd;

	bool killed = false;
	int poll_errno = 0;
	for (;;) {
		struct pollfd p[2] = {{.fd = pfd, .events = POLLIN}, {.fd = s->fd, .events = POLLIN}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			/* Cannot wait properly: do not leave it running. */
			poll_errno = errno;
			syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
			break;
		}
		if ((p[1].revents & POLLIN) && ctl_sigs_pending(s) && !killed) {
			/* SIGKILL to PID 1 of the namespace ends every process
			 * in it; nothing there gets to write any more. */
			syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
			killed = true;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
			break;
	}
	/* The namespace's init is reaped only after every other process of
	 * its namespace has gone: once this returns, nothing of it runs. */
	siginfo_t si = {0};
	while (waitid(P_PID, (id_t)pid, &si, WEXITED) < 0) {
		if (errno != EINTR)
			return js_failm(err, errno, "cannot wait for \"%s\"", argv[0]);
	}
	if (poll_errno)
		return js_failm(err, poll_errno, "cannot watch \"%s\"", argv[0]);
	if (killed)
		return -EINTR;
	if (si.si_code == CLD_EXITED)
		return si.si_status;
	return 128 + si.si_status;
}

int ctl_spawn_wait(const char *const argv[], const char *const envp[], struct ctl_sigs *s, struct js_err *err)
{
	return spawn_wait(NULL, argv, envp, s, err);
}

int ctl_spawn_chroot_wait(const char *root, const char *const argv[], const char *const envp[], struct ctl_sigs *s,
			  struct js_err *err)
{
	return spawn_wait(root, argv, envp, s, err);
}

int ctl_capture(const char *const argv[], int timeout_ms, char *buf, size_t len)
{
	buf[0] = '\0';
	int out[2];
	if (pipe2(out, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(out[0]);
		close(out[1]);
		return -1;
	}
	if (pid == 0) {
		/* stdin and stderr on /dev/null, stdout on the pipe, nothing
		 * else: the program gets no descriptor of jsandboxctl's. */
		int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (devnull < 0 || dup2(out[1], 1) < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 2) < 0)
			_exit(127);
		syscall(SYS_close_range, 3U, ~0U, 0U);
		const char *envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "SYSTEMD_PAGER=", "LC_ALL=C", NULL};
		execve(argv[0], (char *const *)argv, (char *const *)envp);
		_exit(127);
	}
	close(out[1]);
	size_t n = 0;
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	bool timed_out = false;
	for (;;) {
		struct pollfd p = {.fd = out[0], .events = POLLIN};
		clock_gettime(CLOCK_MONOTONIC, &now);
		long left = timeout_ms - ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
			timed_out = true;
			break;
		}
		ssize_t r = read(out[0], buf + n, len - 1 - n);
		if (r <= 0 || (n += (size_t)r) == len - 1)
			break;
	}
	buf[n] = '\0';
	close(out[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (timed_out || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}
