/* SPDX-License-Identifier: MIT */
/* jsandbox-logrelay: the container's /dev/log, forwarded to the host's.
 *
 * jsandbox-root starts one per container (root/container.c,
 * start_log_relay) in the user's cgroup, with
 *   fd 3: the datagram socket bound at run_dir/<uid>/priv/log, the node the
 *         container sees as /dev/log;
 *   fd 4: a pidfd of the container's init: the relay ends with it;
 *   argv[1]: the user's name, checked by jsandbox-root.
 * Everything that arrives on fd 3 comes from the user (root in their
 * container controls every byte, every sender and the rate), so it is
 * handled as hostile input:
 *   - the relay first drops to nobody/nogroup with no capabilities, no new
 *     privileges and not dumpable: a bug here gains nothing on the host;
 *   - one recv of a bounded buffer per datagram; a longer one is cut
 *     (MSG_TRUNC says so) and marked "[truncated]";
 *   - the "<PRI>" is parsed, not trusted: the facility must be one a
 *     program uses (user, daemon, auth, authpriv, local0-7, else user) and
 *     the severity is at most err (no emerg/alert/crit from a user: those
 *     go to every terminal on many hosts);
 *   - the sender's timestamp and every control or non-ASCII byte go:
 *     control bytes become '?', so one datagram is one line and no escape
 *     sequence reaches a terminal that shows the log;
 *   - the tag is ours: the line is sent with ident "jsandbox[user=NAME]"
 *     through syslog(3); whatever the user writes comes after ": " and
 *     cannot replace it;
 *   - a token bucket (RATE_PER_S, BURST): datagrams beyond it are read
 *     and dropped, and the count is reported once the bucket refills;
 *   - no path is ever opened on the user's behalf: the relay knows two
 *     fds and the host's /dev/log. */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "logrelay.h"

#define SOCK_FD	 3
#define PIDFD_FD 4

/* Sustained rate and burst, per container. sudo logs one line a command. */
#define RATE_PER_S 20
#define BURST	   100

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void drop_privileges(void)
{
	/* nobody/nogroup by number: NSS is not needed and not trusted here. */
	const uid_t nobody = 65534;
	const gid_t nogroup = 65534;
	if (setgroups(0, NULL) < 0 || setresgid(nogroup, nogroup, nogroup) < 0 ||
	    setresuid(nobody, nobody, nobody) < 0 || getuid() != nobody || geteuid() != nobody)
		_exit(126);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		_exit(126);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int main(int argc, char **argv)
{
	if (argc != 2 || getuid() != 0 || !js_logrelay_user_ok(argv[1])) {
		fprintf(stderr, "jsandbox-logrelay: started by jsandbox-root only\n");
		return 2;
	}
	int type = 0;
	socklen_t tl = sizeof type;
	if (getsockopt(SOCK_FD, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_DGRAM) {
		fprintf(stderr, "jsandbox-logrelay: started by jsandbox-root only\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	drop_privileges();

	char ident[JS_LOGRELAY_IDENT_MAX];
	snprintf(ident, sizeof ident, "jsandbox[user=%s]", argv[1]);
	/* LOG_NDELAY: connected now; syslog(3) reconnects if the daemon
	 * restarts. No LOG_PID: the relay's pid says nothing. */
	openlog(ident, LOG_NDELAY, LOG_USER);

	static char in[JS_LOGRELAY_IN_MAX];
	static char line[JS_LOGRELAY_LINE_MAX];
	uint64_t last = now_ms();
	uint64_t tokens_ms = (uint64_t)BURST * 1000u; /* tokens, in thousandths */
	unsigned long dropped = 0;
	struct pollfd pf[2] = {{.fd = SOCK_FD, .events = POLLIN}, {.fd = PIDFD_FD, .events = POLLIN}};
	for (;;) {
		/* With drops to report, wake up when a token is back. */
		int r = poll(pf, 2, dropped ? 1000 / RATE_PER_S + 1 : -1);
		if (r < 0 && errno != EINTR)
			return 1;
		if (pf[1].revents)
			return 0; /* the init is gone: so is the container */
		uint64_t t = now_ms();
		tokens_ms += (t - last) * RATE_PER_S;
		if (tokens_ms > (uint64_t)BURST * 1000u)
			tokens_ms = (uint64_t)BURST * 1000u;
		last = t;
		if (dropped && tokens_ms >= 1000u) {
			tokens_ms -= 1000u;
			syslog(LOG_USER | LOG_WARNING, "%lu messages dropped (more than %d a second)", dropped,
			       RATE_PER_S);
			dropped = 0;
		}
		if (r <= 0 || !(pf[0].revents & POLLIN))
			continue;
		ssize_t n = recv(SOCK_FD, in, sizeof in, MSG_TRUNC | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return 1;
		}
		if (tokens_ms < 1000u) {
			dropped++;
			continue;
		}
		tokens_ms -= 1000u;
		bool cut = (size_t)n > sizeof in;
		int pri = js_logrelay_clean(in, cut ? sizeof in : (size_t)n, cut, line);
		syslog(pri, "%s", line);
	}
}
