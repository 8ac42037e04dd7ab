/* SPDX-License-Identifier: MIT */
/* Running a helper program (mmdebstrap, tar) so that an interruption never
 * leaves anything of it behind, and noticing SIGINT/SIGTERM/SIGHUP at the
 * points where jsandboxctl can still undo its work. */
#ifndef JSANDBOX_CTL_SPAWN_H
#define JSANDBOX_CTL_SPAWN_H

#include <signal.h>
#include <stdbool.h>

#include "jsutil.h"

struct ctl_sigs {
	int fd;		/* signalfd for the blocked signals */
	sigset_t set;	/* the signals we took over */
	sigset_t saved; /* the mask before */
	int signo;	/* the first signal received, 0 while none */
};

/* Block SIGINT, SIGTERM and SIGHUP (those not ignored: a build started
 * under nohup keeps running on hangup) and watch them with a signalfd. */
int ctl_sigs_take(struct ctl_sigs *s, struct js_err *err);
/* Has one of them arrived? Drains the signalfd, never blocks. */
bool ctl_sigs_pending(struct ctl_sigs *s);
/* Die of the signal received, as an uninterrupted program would have, so
 * a calling shell sees WIFSIGNALED. */
__attribute__((noreturn)) void ctl_sigs_die(struct ctl_sigs *s);
/* Stop watching: signals that came meanwhile are consumed, the mask is
 * restored. */
void ctl_sigs_release(struct ctl_sigs *s);

/* Run argv[0] (an absolute path, no PATH search) with exactly envp, stdin
 * from /dev/null, stdout and stderr passed through, no other fd, in its
 * own pid and mount namespaces: it is PID 1 of the first, so when it ends
 * every process it started ends with it, and whatever it mounts lives only
 * in the second. If one of the signals in s arrives, the whole namespace is
 * killed and the call returns -EINTR once nothing of it runs any more; the
 * same happens (PR_SET_PDEATHSIG) if jsandboxctl itself is killed.
 * Returns the exit status (128+N for death by signal N) or -errno. */
int ctl_spawn_wait(const char *const argv[], const char *const envp[], struct ctl_sigs *s, struct js_err *err);

/* ctl_spawn_wait, chrooted into root (an absolute path to a root
 * filesystem, argv[0] a path inside it), with /proc of its pid namespace,
 * a minimal /dev (null, zero, full, random, urandom, tty on a tmpfs) and
 * the host's /etc/resolv.conf bound read-only onto the tree's when that is
 * a regular file, all mounted in its own mount namespace only: nothing of
 * them is written into the tree or seen by the host, and they go with it.
 * Its network is the host's; its stdout is jsandboxctl's stderr. */
int ctl_spawn_chroot_wait(const char *root, const char *const argv[], const char *const envp[], struct ctl_sigs *s,
			  struct js_err *err);

/* Run argv[0] (an absolute path) with a fixed PATH, LC_ALL=C and no pager,
 * stdin and stderr on /dev/null; its stdout (at most len - 1 bytes, within
 * timeout_ms, then it is killed) into buf. Returns the exit status, or -1
 * when it could not run, did not exit or ran out of time. */
int ctl_capture(const char *const argv[], int timeout_ms, char *buf, size_t len);

#endif
