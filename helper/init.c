/* SPDX-License-Identifier: MIT */
/* jsandbox-init: PID 1 of a user's container.
 *
 * Started by pam_jsandbox (exec'd as the user, fd 3 a socket to the module):
 *   1. unshare the user namespace and say so; the module writes the maps;
 *   2. receive the set-up and the idmapped image; become root inside;
 *      unshare mount/pid/ipc/uts/cgroup (and net for network = none);
 *   3. fork: the child is PID 1 of the new pid namespace; it builds the root
 *      filesystem, reports ready and serves the control socket:
 *      counts sessions (pidfds of sshd's monitors), reaps orphans, and ends
 *      the container when the last session is gone unless it lingers;
 *   4. the set-up socket stays open as the link to the creating module:
 *      closed before the module commits (state written), the container
 *      ends (see link_event). */
#include <fcntl.h>
#include <grp.h>
#include <linux/mount.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>

#include "devnodes.h"
#include "fdpass.h"
#include "harden.h"
#include "jsutil.h"
#include "proto.h"
#include "rootfs.h"

#define MAX_SESSIONS 1024
/* The fds the creator passes on --serve's command line are small. */
#define MAX_PASSED_FD 1024

struct session {
	pid_t pid;
	int pidfd;
};

static struct session sessions[MAX_SESSIONS];
static size_t nsessions;
static bool linger;

static void reply(int sock, int status, uint32_t phase, pid_t pid, const char *msg)
{
	struct js_setup_reply r = {
	    .magic = JS_SETUP_MAGIC, .version = JS_PROTO_VERSION, .status = status, .phase = phase, .pid = pid};
	if (msg)
		js_strlcpy(r.msg, msg, sizeof r.msg) < 0 ? (void)snprintf(r.msg, sizeof r.msg, "%.390s", msg) : (void)0;
	js_send_msg(sock, &r, sizeof r, NULL, 0);
}

static void loopback_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return;
	struct ifreq ifr = {0};
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
}

static uint32_t count_procs(void)
{
	DIR *d = opendir("/proc");
	uint32_t n = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		n += de->d_name[0] >= '1' && de->d_name[0] <= '9';
	if (d)
		closedir(d);
	return n;
}

static void drop_session(size_t i)
{
	close(sessions[i].pidfd);
	sessions[i] = sessions[--nsessions];
}

static void shutdown_container(void) __attribute__((noreturn));
static void shutdown_container(void)
{
	/* PID 1's kill(-1) reaches every other process of the namespace;
	 * they get no grace: linger = no means the work ends with the last
	 * session, and SIGKILL cannot be ignored by a misbehaving job. */
	kill(-1, SIGKILL);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	_exit(0);
}

static void handle_ctl(int lfd, bool *want_shutdown)
{
	int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return;
	struct timeval tv = {.tv_sec = 5};
	/* Without the time-outs a stalled client would block the init. */
	if (setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
	    setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0) {
		close(c);
		return;
	}
	/* One byte more than a request: a longer one shows as such. */
	union {
		struct js_ctl_req q;
		char raw[sizeof(struct js_ctl_req) + 1];
	} in;
	memset(&in, 0, sizeof in);
	struct js_ctl_req req;
	int fds[1];
	size_t nfds = 1;
	long n = js_recv_msg(c, &in, sizeof in, fds, &nfds);
	req = in.q;
	struct js_ctl_rep rep = {.magic = JS_SETUP_MAGIC, .version = JS_PROTO_VERSION, .linger = linger};
	if (n < 0 || js_ctl_req_check(&req, n)) {
		rep.status = -EPROTO;
	} else if (req.op == JS_CTL_OPEN) {
		if (nfds != 1) {
			rep.status = -EINVAL;
		} else if (nsessions == MAX_SESSIONS) {
			rep.status = -EMFILE;
		} else {
			sessions[nsessions++] = (struct session){.pid = req.pid, .pidfd = fds[0]};
			nfds = 0;
		}
	} else if (req.op == JS_CTL_CLOSE) {
		for (size_t i = 0; i < nsessions; i++)
			if (sessions[i].pid == req.pid) {
				drop_session(i);
				break;
			}
		if (nsessions == 0 && !linger)
			*want_shutdown = true;
	} else if (req.op != JS_CTL_STATUS) {
		rep.status = -EINVAL;
	}
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
	rep.sessions = (uint32_t)nsessions;
	rep.procs = count_procs();
	rep.shutting_down = *want_shutdown;
	js_send_msg(c, &rep, sizeof rep, NULL, 0);
	close(c);
}

/* The creator link: the set-up socket to the module in sshd's monitor that
 * made this container. Before JS_PHASE_COMMIT (the module has written the
 * runtime state that names us) nothing on the host records this process
 * but its cgroup; if the link closes first, the monitor died mid-creation
 * and the container ends at once. After the commit the link counts as a
 * session until the module closes it, which it does only once the first
 * real session is registered here, so a monitor killed between the two
 * ends the container too (unless it lingers). */
static bool link_event(int link, bool *committed)
{
	struct js_setup_reply m;
	long n = js_recv_msg(link, &m, sizeof m, NULL, NULL);
	if (n == (long)sizeof m && m.magic == JS_SETUP_MAGIC && m.version == JS_PROTO_VERSION &&
	    m.phase == JS_PHASE_COMMIT && m.status == 0 && !*committed) {
		*committed = true;
		return true; /* link stays */
	}
	if (n == -EAGAIN || n == -EINTR)
		return true;
	return false; /* closed, or garbled: the link is gone */
}

static void init_loop(int lfd, int link) __attribute__((noreturn));
static void init_loop(int lfd, int link)
{
	bool committed = false;
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		_exit(1);
	static struct pollfd pfd[MAX_SESSIONS + 3];
	for (;;) {
		pfd[0] = (struct pollfd){.fd = sfd, .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = lfd, .events = POLLIN};
		for (size_t i = 0; i < nsessions; i++)
			pfd[2 + i] = (struct pollfd){.fd = sessions[i].pidfd, .events = POLLIN};
		size_t npfd = 2 + nsessions;
		pfd[npfd] = (struct pollfd){.fd = link, .events = POLLIN};
		int r = poll(pfd, npfd + (link >= 0), -1);
		if (r < 0 && errno != EINTR)
			_exit(1);
		if (r <= 0)
			continue;
		bool want_shutdown = false;
		if (pfd[0].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
				if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT || si.ssi_signo == SIGHUP)
					want_shutdown = true;
			}
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
		}
		/* A session whose sshd monitor died without pam_close_session
		 * (killed, crashed) ends here all the same. */
		bool lost = false;
		for (size_t i = npfd - 1; i >= 2; i--) {
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			for (size_t k = 0; k < nsessions; k++)
				if (sessions[k].pidfd == pfd[i].fd) {
					drop_session(k);
					lost = true;
					break;
				}
		}
		if (lost && nsessions == 0 && !linger)
			want_shutdown = true;
		if (pfd[1].revents & POLLIN)
			handle_ctl(lfd, &want_shutdown);
		/* After the control socket: the module closes the link only
		 * once its OPEN has been answered, so that session is counted. */
		if (link >= 0 && pfd[npfd].revents && !link_event(link, &committed)) {
			close(link);
			link = -1;
			if (!committed || (nsessions == 0 && !linger))
				want_shutdown = true;
		}
		if (want_shutdown)
			shutdown_container();
	}
}

/* Second stage: PID 1 after the root filesystem is built. We get here by
 * exec'ing ourselves once root inside: an exec after the uid change makes
 * the process dumpable again with its memory owned by the user's namespace,
 * which is what lets the user's helper (unprivileged) join its namespaces.
 * Before that exec it held nothing but the set-up. */
static int serve(int argc, char **argv)
{
	if (getpid() != 1 || argc != 5)
		return 2;
	char *end, *end2;
	long fd = strtol(argv[2], &end, 10);
	long link = strtol(argv[4], &end2, 10);
	if (*end || fd < 3 || fd > MAX_PASSED_FD || fcntl((int)fd, F_SETFD, FD_CLOEXEC) < 0)
		return 2;
	if (*end2 || link < 3 || link > MAX_PASSED_FD || link == fd || fcntl((int)link, F_SETFD, FD_CLOEXEC) < 0)
		return 2;
	linger = !strcmp(argv[3], "1");
	prctl(PR_SET_NAME, "jsandbox-init");
	/* Root inside shares our uid and holds a superset of our one
	 * capability, which alone would let it ptrace us or write
	 * /proc/1/mem. Not dumpable, tracing us needs CAP_SYS_PTRACE over the
	 * user's namespace, which the session's bounding set leaves out (unless
	 * the admin adds it, capabilities_add). The user's helper on the host
	 * owns that namespace and still joins through its pidfd. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	init_loop((int)fd, (int)link);
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "--serve"))
		return serve(argc, argv);
	int sock = JS_INIT_SETUP_FD;
	if (fcntl(sock, F_SETFD, FD_CLOEXEC) < 0) {
		fprintf(stderr, "jsandbox-init: started by pam_jsandbox only\n");
		return 2;
	}
	int stype = 0;
	socklen_t sl = sizeof stype;
	if (getsockopt(sock, SOL_SOCKET, SO_TYPE, &stype, &sl) < 0 || stype != SOCK_SEQPACKET) {
		fprintf(stderr, "jsandbox-init: started by pam_jsandbox only\n");
		return 2;
	}
	/* Connected now: a warning after pivot_root (the ld cache, helper/rootfs.c)
	 * still reaches the host's /dev/log. The socket is close-on-exec. */
	openlog("jsandbox-init", LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
	struct js_err err = {0};
	int exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (exe < 0) {
		js_failm(&err, errno, "cannot open /proc/self/exe");
		reply(sock, err.code, JS_PHASE_USERNS, 0, err.msg);
		return 1;
	}

	if (unshare(CLONE_NEWUSER) < 0) {
		js_failm(&err, errno, "cannot create a user namespace");
		reply(sock, err.code, JS_PHASE_USERNS, 0, err.msg);
		return 1;
	}
	reply(sock, 0, JS_PHASE_USERNS, 0, NULL);

	static struct js_setup s;
	int fds[3];
	size_t nfds = 3;
	long n = js_recv_msg(sock, &s, sizeof s, fds, &nfds);
	s.layer_dir[sizeof s.layer_dir - 1] = '\0';
	if (n == (long)sizeof s && s.magic == JS_SETUP_MAGIC && s.version != JS_PROTO_VERSION) {
		/* jsandbox-root and this binary come from different versions
		 * (a login in the middle of a package upgrade). */
		char why[128];
		snprintf(why, sizeof why, "jsandbox-init speaks protocol %u, jsandbox-root %u", JS_PROTO_VERSION,
			 s.version);
		reply(sock, -EPROTO, JS_PHASE_FORKED, 0, why);
		return 1;
	}
	if (n != (long)sizeof s || s.magic != JS_SETUP_MAGIC || nfds != (s.layer_dir[0] ? 3u : 2u)) {
		reply(sock, -EPROTO, JS_PHASE_FORKED, 0, "bad set-up message");
		return 1;
	}
	int image_fd = fds[0], ctl_fd = fds[1], layer_fd = s.layer_dir[0] ? fds[2] : -1;
	linger = s.linger;
	static struct js_node nodes[JS_SETUP_NODES_MAX];
	if (s.nnodes > JS_SETUP_NODES_MAX) {
		reply(sock, -EPROTO, JS_PHASE_FORKED, 0, "bad set-up message");
		return 1;
	}
	for (uint32_t i = 0; i < s.nnodes; i++) {
		struct js_node *m = &nodes[i];
		int fd = -1;
		size_t one = 1;
		n = js_recv_msg(sock, m, sizeof *m, &fd, &one);
		m->name[sizeof m->name - 1] = '\0';
		m->target[sizeof m->target - 1] = '\0';
		m->fd = fd;
		/* A link travels without an fd, everything else with one. */
		bool ok = n == (long)sizeof *m && m->magic == JS_SETUP_MAGIC &&
			  one == (m->kind == JS_NODE_LINK ? 0 : 1) && js_node_ok(m);
		if (!ok) {
			reply(sock, -EPROTO, JS_PHASE_FORKED, 0, "bad device node message");
			return 1;
		}
	}

	/* Root inside (the first subordinate id on the host). */
	if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
		js_failm(&err, errno, "cannot become root in the user namespace");
		reply(sock, err.code, JS_PHASE_FORKED, 0, err.msg);
		return 1;
	}
	int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;
	if (s.net_none)
		flags |= CLONE_NEWNET;
	if (unshare(flags) < 0) {
		js_failm(&err, errno, "cannot create the container's namespaces");
		reply(sock, err.code, JS_PHASE_FORKED, 0, err.msg);
		return 1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		js_failm(&err, errno, "fork");
		reply(sock, err.code, JS_PHASE_FORKED, 0, err.msg);
		return 1;
	}
	if (pid > 0) {
		reply(sock, 0, JS_PHASE_FORKED, pid, NULL);
		_exit(0);
	}

	/* PID 1 from here on. */
	prctl(PR_SET_NAME, "jsandbox-init");
	if (s.net_none)
		loopback_up();
	/* An image layer: root mounted its file system; it goes where the
	 * overlay's upper and work directories are named, in this mount
	 * namespace only (lib/layer.h). */
	int r = 0;
	if (layer_fd >= 0) {
		if (syscall(SYS_move_mount, layer_fd, "", AT_FDCWD, s.layer_dir, MOVE_MOUNT_F_EMPTY_PATH) < 0)
			r = js_failm(&err, errno, "cannot attach the layer's file system on \"%s\"", s.layer_dir);
		close(layer_fd);
	}
	if (r == 0)
		r = js_rootfs_build(&s, image_fd, nodes, s.nnodes, &err);
	close(image_fd);
	for (uint32_t i = 0; i < s.nnodes; i++)
		if (nodes[i].fd >= 0)
			close(nodes[i].fd);
	if (r < 0) {
		syslog(LOG_ERR, "user %s: %s", s.user.name, err.msg);
		reply(sock, r, JS_PHASE_READY, 0, err.msg);
		_exit(1);
	}
	char fdarg[16], linkarg[16];
	snprintf(fdarg, sizeof fdarg, "%d", ctl_fd);
	snprintf(linkarg, sizeof linkarg, "%d", sock);
	char *nargv[] = {(char *)JS_INIT_NAME, (char *)"--serve", fdarg, (char *)(linger ? "1" : "0"), linkarg, NULL};
	char *nenvp[] = {(char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
	if (fcntl(ctl_fd, F_SETFD, 0) < 0 || fcntl(sock, F_SETFD, 0) < 0) {
		reply(sock, -errno, JS_PHASE_READY, 0, "cannot keep the control socket");
		_exit(1);
	}
	/* PID 1 is visible to root inside, who holds CAP_SYS_PTRACE: from
	 * here on it has nothing worth taking (CAP_KILL, the strictest
	 * filter, no_new_privs), and both survive the exec below. */
	if (js_harden_init(&err) < 0) {
		syslog(LOG_ERR, "user %s: %s", s.user.name, err.msg);
		reply(sock, err.code, JS_PHASE_READY, 0, err.msg);
		_exit(1);
	}
	closelog();
	/* Say ready only when nothing can fail any more but the exec. */
	reply(sock, 0, JS_PHASE_READY, 0, NULL);
	/* The set-up socket stays open across the exec: the creator link. */
	syscall(SYS_execveat, exe, "", nargv, nenvp, AT_EMPTY_PATH);
	_exit(127);
}
