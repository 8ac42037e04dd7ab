/* SPDX-License-Identifier: MIT */
/* Making, joining and tearing down a user's container, as root.
 *
 * Layout under run_dir (all root-owned):
 *   lock            one file for every user; a byte-range lock at offset uid
 *                   serialises that user's logins (concurrent first logins
 *                   make exactly one container)
 *   <uid>/state     the init's pid, start time and namespace inodes
 *   <uid>/lower     where the init attaches the idmapped image
 *   <uid>/root      where the init mounts its overlay before pivot_root
 *   <uid>/priv/ctl  the init's control socket (root only: 0700 directory)
 * Everything under <uid> goes when the container does; the lock file stays
 * because removing a lock file that others wait on breaks the lock. */
#include "container.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/mount.h>
#include <linux/sched.h> /* struct clone_args, CLONE_INTO_CGROUP */
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>

#include "cgroup.h"
#include "devices.h"
#include "fdpass.h"
#include "gpu.h"
#include "idmap.h"
#include "layer.h"
#include "logrelay.h"
#include "overlay.h"
#include "proto.h"
#include "rebase.h"
#include "safefs.h"
#include "state.h"

#define LOCK_TIMEOUT_MS	 60000
#define SETUP_TIMEOUT_MS 30000
#define CTL_TIMEOUT_S	 10
#define KILL_TIMEOUT_MS	 10000
/* The lock's polling: from LOCK_POLL_MIN_US, doubling up to LOCK_POLL_MAX_US. */
#define LOCK_POLL_MIN_US 500
#define LOCK_POLL_MAX_US 16000
/* How long an init gets to die after SIGKILL, and to end by itself once
 * told its last session closed. */
#define INIT_KILL_WAIT_MS 5000
#define INIT_END_WAIT_MS  3000
/* Pending connections on the init's control socket. */
#define CTL_BACKLOG 64
/* A user's run directory name: the uid in decimal. */
#define UDIR_NAME_MAX 16
/* A session record's name: s.PID.START */
#define SESSION_NAME_MAX 64

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the per-user lock ---------------------------------------------- */

static int lock_user(int rundir, uint32_t uid, struct js_err *err)
{
	_cleanup_close_ int fd = openat(rundir, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return js_failm(err, errno, "cannot open the lock file");
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = uid, .l_len = 1};
	long deadline = now_ms() + LOCK_TIMEOUT_MS;
	/* Poll rather than F_OFD_SETLKW: sshd's monitor must not block without
	 * a bound. Most holders are done in a few ms (a warm login), so start
	 * short and back off to 16 ms for a container being made. */
	long wait_us = LOCK_POLL_MIN_US;
	while (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
		if (errno != EAGAIN && errno != EACCES && errno != EINTR)
			return js_failm(err, errno, "cannot take the lock");
		if (now_ms() > deadline)
			return js_fail(err, ETIMEDOUT, "timed out waiting for another login of this user");
		struct timespec ts = {0, wait_us * 1000};
		nanosleep(&ts, NULL);
		if (wait_us < LOCK_POLL_MAX_US)
			wait_us *= 2;
	}
	return js_steal_fd(&fd); /* closing the fd releases the OFD lock */
}

/* Open run_dir (trusted, made when `create`) into *rundir and take u's lock
 * in it: returns the lock fd, or -errno (-ENOENT: no run_dir, nothing ever
 * ran). */
static int lock_run_dir(const struct js_global *g, uint32_t uid, bool create, int *rundir, struct js_err *err)
{
	*rundir = js_open_trusted_dir(g->run_dir, create, err);
	if (*rundir < 0)
		return *rundir;
	return lock_user(*rundir, uid, err);
}

/* ---- small helpers -------------------------------------------------- */

/* The user's name becomes file names as root (state_dir/users/NAME, the
 * cgroup NAME): every entry point below checks it with the one rule for
 * such names before any file operation. */
static int check_user_name(const struct js_user *u, struct js_err *err)
{
	return js_check_name("user name", u->name, JS_USER_NAME_MAX - 1, err);
}

static int user_dir_name(const struct js_user *u, char *buf, size_t len)
{
	return js_snprintf(buf, len, "%u", u->uid);
}

static int proc_path_of(int dirfd, const char *name, char *buf, size_t len)
{
	return js_snprintf(buf, len, "/proc/self/fd/%d/%s", dirfd, name);
}

static int ctl_connect(int udir, struct js_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	/* The run_dir may sit on a long path; go through our own dirfd. */
	if (proc_path_of(udir, "priv/ctl", sa.sun_path, sizeof sa.sun_path) < 0)
		return js_fail(err, ENAMETOOLONG, "control socket path too long");
	_cleanup_close_ int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return js_failm(err, errno, "socket");
	struct timeval tv = {.tv_sec = CTL_TIMEOUT_S};
	if (setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
	    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
		return js_failm(err, errno, "cannot bound the wait for the container init");
	if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0)
		return js_failm(err, errno, "cannot reach the container init");
	return js_steal_fd(&s);
}

/* One request to the init, in the protocol version the runtime state says
 * it speaks (the caller has checked js_proto_compat); an answer that is
 * not exactly one of that version is not read. */
static int ctl_call(int udir, uint32_t version, char op, pid_t pid, int pass_fd, struct js_ctl_rep *rep,
		    struct js_err *err)
{
	_cleanup_close_ int s = ctl_connect(udir, err);
	if (s < 0)
		return s;
	struct js_ctl_req req = {.magic = JS_SETUP_MAGIC, .version = version, .op = op, .pid = pid};
	int r = js_send_msg(s, &req, sizeof req, pass_fd >= 0 ? &pass_fd : NULL, pass_fd >= 0 ? 1 : 0);
	if (r < 0)
		return js_failm(err, -r, "cannot talk to the container init");
	/* One byte more than an answer: a longer one shows as such. */
	union {
		struct js_ctl_rep r;
		char raw[sizeof(struct js_ctl_rep) + 1];
	} in;
	memset(&in, 0, sizeof in);
	long n = js_recv_msg(s, &in, sizeof in, NULL, NULL);
	const char *bad = js_ctl_rep_check(&in.r, n, version);
	if (bad)
		return js_fail(err, EPROTO, "the container init gave %s", bad);
	*rep = in.r;
	if (rep->status < 0)
		return js_fail(err, -rep->status, "the container init refused the request");
	return 0;
}

static bool wait_pidfd(int pidfd, int timeout_ms)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};
	int r;
	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	return r > 0;
}

/* Remove everything a dead container left: runtime files and cgroups. */
static void cleanup_stale(int rundir, int udir, const struct js_user *u)
{
	char name[UDIR_NAME_MAX];
	user_dir_name(u, name, sizeof name);
	if (udir >= 0) {
		/* Mount points under <uid> were only ever used inside the
		 * container's own mount namespace; on the host they are plain
		 * directories. */
		js_remove_tree_at(rundir, name, NULL);
	}
	/* No process of the user's outlives the container: whatever is left
	 * in the cgroup (host-side processes sshd started for a session, a
	 * setsid'd xauth child, the container's own) is killed from here, as
	 * root, by cgroup membership, before the group goes. The caller
	 * (a closing session's monitor) has stepped out or is skipped. */
	struct js_cgroup cg;
	if (js_cgroup_discover(&cg, NULL) == 0) {
		if (js_cgroup_open(&cg, u->name, NULL) == 0)
			js_cgroup_kill_all(&cg, KILL_TIMEOUT_MS, NULL);
		js_cgroup_remove(&cg, u->name, NULL);
	}
}

static int kill_and_wait(int pidfd)
{
	syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	return wait_pidfd(pidfd, INIT_KILL_WAIT_MS) ? 0 : -ETIMEDOUT;
}

/* ---- login shell rule ------------------------------------------------ */

int js_check_login_shell(const char *shell, struct js_err *err)
{
	const char *base = strrchr(shell, '/');
	if (shell[0] != '/' || !base || strcmp(base + 1, "jsandbox-shell") != 0)
		return js_fail(err, EPERM,
			       "login shell \"%s\" would run the user's start-up files on the host; "
			       "a sandboxed user's shell must be %s/jsandbox-shell",
			       shell, JSANDBOX_LIBEXECDIR);
	char dir[PATH_MAX];
	if (js_strlcpy(dir, shell, sizeof dir) < 0)
		return js_fail(err, ENAMETOOLONG, "login shell path too long");
	dir[base - shell] = '\0';
	int dfd = js_open_trusted_dir(dir[0] ? dir : "/", false, err);
	if (dfd < 0)
		return dfd;
	struct stat st;
	int r = fstatat(dfd, "jsandbox-shell", &st, AT_SYMLINK_NOFOLLOW);
	close(dfd);
	if (r < 0)
		return js_failm(err, errno, "login shell \"%s\"", shell);
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022))
		return js_fail(err, EPERM, "login shell \"%s\" is not a root-owned file writable only by root", shell);
	if (st.st_mode & (S_ISUID | S_ISGID))
		return js_fail(err, EPERM, "login shell \"%s\" must not be setuid or setgid", shell);
	return 0;
}

/* ---- the policy's limits and device rules ----------------------------- */

static struct js_cgroup_limits policy_limits(const struct js_global *g, const struct js_policy *p)
{
	return (struct js_cgroup_limits){
	    .parent_cpu_weight = g->containers_cpu_weight,
	    .memory_max = p->memory_max.max	  ? 0
			  : p->memory_max.percent ? js_host_memory() / 100 * p->memory_max.value
						  : p->memory_max.value,
	    .pids_max = p->pids_max,
	    .cpu_max = p->cpu_max,
	    .cpu_weight = p->cpu_weight,
	};
}

/* Re-apply the policy to a running container's cgroup (a new login, or
 * jsandboxctl apply), under the user's lock; nothing is killed. Device
 * rules first: they are the security boundary. When the new policy's
 * device list cannot be built (a GPU that is gone, a bad name) the cgroup
 * falls back to the standard nodes only, so the container never keeps
 * more than the policy now grants, and the error is returned. */
static int apply_cgroup_policy(const struct js_global *g, const struct js_policy *p, const struct js_user *u,
			       struct js_err *err)
{
	struct js_cgroup cg;
	int r = js_cgroup_discover(&cg, err);
	if (r < 0)
		return r;
	r = js_cgroup_open(&cg, u->name, err);
	struct js_dev_list devs = {0};
	if (r >= 0)
		r = js_devices_build(g->host_root, &p->gpus, p->devices, p->ndevices, &devs, err);
	if (r < 0) {
		struct js_dev_list std = {0};
		if (js_devices_add_defaults(&std, NULL) == 0)
			js_devices_apply(&cg, &std, NULL);
		js_dev_list_free(&std);
		js_cgroup_close(&cg);
		return r;
	}
	r = js_devices_apply(&cg, &devs, err);
	js_dev_list_free(&devs);
	struct js_cgroup_limits lim = policy_limits(g, p);
	if (r >= 0)
		r = js_cgroup_create(&cg, u->name, &lim, err);
	js_cgroup_close(&cg);
	return r;
}

/* The GPUs the policy grants on this host now, as the runtime state and
 * status show them: "none" or the indices, "0,2"; "?" when they cannot be
 * found (then the device rules failed too and said why). */
static void granted_gpus(const struct js_global *g, const struct js_policy *p, char *buf, size_t len)
{
	if (js_gpu_granted_text(g->host_root, &p->gpus, buf, len, NULL) < 0)
		js_strlcpy(buf, "?", len);
}

/* A running container's record of its GPUs follows the policy applied to
 * it (a login, jsandboxctl apply). Best effort: the record is for status. */
static void note_gpus(int udir, struct js_state *st, const struct js_global *g, const struct js_policy *p)
{
	char now[sizeof st->gpus];
	granted_gpus(g, p, now, sizeof now);
	if (strcmp(now, st->gpus) != 0) {
		memcpy(st->gpus, now, sizeof now);
		js_state_write(udir, st, NULL);
	}
}

/* ---- why a container ended ---------------------------------------------- */

/* A container whose init is gone though nothing of jsandbox ended it: its
 * runtime state is still there when a login, a logout or jsandboxctl
 * stop/reset finds it (found_by). Logged before its cgroup goes, with how
 * it ended as far as root can tell: the init is no child of root, so its
 * exit status is gone with it; an OOM kill counted in the user's group
 * during the container's life reads "oom", anything else "crash" (killed
 * by a signal, or ended on one). The user can end their own init: the
 * reason is for the admin, not evidence. */
static void log_died(const struct js_state *st, const struct js_user *u, const char *found_by)
{
	int64_t ooms = -1;
	struct js_cgroup cg;
	if (js_cgroup_discover(&cg, NULL) == 0) {
		if (js_cgroup_open(&cg, u->name, NULL) == 0)
			ooms = js_cgroup_oom_kills(&cg);
		js_cgroup_close(&cg);
	}
	syslog(LOG_WARNING,
	       "event=container-stop user=%s uid=%u reason=%s init_pid=%d oom_kills=%lld found_by=%s "
	       "started_by_version=%s",
	       u->name, u->uid, ooms > 0 ? "oom" : "crash", (int)st->pid, (long long)ooms, found_by,
	       st->version[0] ? st->version : "unknown");
}

/* ---- upgrades: a container started by another jsandbox ---------------- */

/* A live container whose init speaks a protocol this build cannot
 * (root/proto.h): it is left as it is (never killed, never talked to);
 * the login is refused with what to do, and syslog gets the details. */
static int refuse_incompatible(const struct js_state *st, const struct js_policy *p, const struct js_user *u,
			       struct js_err *err)
{
	const char *by = st->version[0] ? st->version : "unknown";
	syslog(LOG_ERR,
	       "event=container-incompatible user=%s uid=%u init_pid=%d started_by_version=%s container_protocol=%u "
	       "version=%s protocol=%u min_protocol=%u action=refused",
	       u->name, u->uid, (int)st->pid, by, st->proto, JSANDBOX_VERSION, JS_PROTO_VERSION, JS_PROTO_MIN);
	if (p->linger)
		return js_fail(err, EPROTONOSUPPORT,
			       "your running container was started by jsandbox %s, which this jsandbox (%s) cannot "
			       "join; it lingers after logout: ask the administrator to run 'jsandboxctl stop %s'",
			       by, JSANDBOX_VERSION, u->name);
	return js_fail(err, EPROTONOSUPPORT,
		       "your running container was started by jsandbox %s, which this jsandbox (%s) cannot join: "
		       "log out of all your sessions and log in again (or ask the administrator to run "
		       "'jsandboxctl stop %s')",
		       by, JSANDBOX_VERSION, u->name);
}

/* ---- making the container ------------------------------------------- */

/* fork, the child born in the user's v2 group where there is one (clone3
 * CLONE_INTO_CGROUP, Linux 5.7): joining a group by a cgroup.procs write
 * takes the kernel's global migration lock and can wait out an RCU grace
 * period (5 to 15 ms), on a login's critical path. A kernel without it
 * gets a plain fork; the child then joins with js_cgroup_attach_self. */
static pid_t fork_into_user_cgroup(const struct js_cgroup *cg, bool *born_in_v2)
{
	*born_in_v2 = false;
	int v2 = js_cgroup_v2_fd(cg);
	if (v2 >= 0) {
		struct clone_args ca = {
		    .flags = CLONE_INTO_CGROUP,
		    .exit_signal = SIGCHLD,
		    .cgroup = (uint64_t)v2,
		};
		pid_t child = (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
		if (child >= 0) {
			*born_in_v2 = true;
			return child;
		}
	}
	return fork();
}

/* A child of jsandbox-root about to exec a helper: no blocked or handled
 * signal of the parent's, a session of its own. */
static void child_reset_signals(void)
{
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	setsid();
}

/* ... and stdin, stdout and stderr on /dev/null, in /. */
static int child_null_stdio_root(void)
{
	int devnull = open("/dev/null", O_RDWR);
	if (devnull >= 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		if (devnull > 2)
			close(devnull);
	}
	return chdir("/");
}

static void child_exec_init(int sock, const struct js_user *u, const struct js_cgroup *cg, bool born_in_v2)
    __attribute__((noreturn));
static void child_exec_init(int sock, const struct js_user *u, const struct js_cgroup *cg, bool born_in_v2)
{
	/* Into the user's cgroup first, still root and before anything else:
	 * from its first instruction as the user the process (and all it
	 * forks) is in the group that status counts and stop kills, whatever
	 * happens to sshd's monitor from here on. (Born into the v2 one; v1
	 * through `tasks`, which moves this single thread without the global
	 * migration lock.) */
	if (js_cgroup_attach_self(cg, born_in_v2, NULL) < 0)
		_exit(126);
	/* We are a copy of sshd's privileged monitor: nothing of it may reach
	 * the user. New session, no inherited fds, default signals, then drop
	 * to the user and exec at once (exec makes the process dumpable again
	 * only with the new, harmless image). */
	child_reset_signals();
	if (sock != JS_INIT_SETUP_FD) {
		if (dup2(sock, JS_INIT_SETUP_FD) < 0)
			_exit(126);
	} else {
		fcntl(sock, F_SETFD, 0);
	}
	js_close_fds_from(JS_INIT_SETUP_FD + 1, NULL, 0);
	if (child_null_stdio_root() < 0)
		_exit(126);
	gid_t gids[JS_USER_GROUPS_MAX];
	for (size_t i = 0; i < u->ngroups; i++)
		gids[i] = u->groups[i].gid;
	if (setgroups(u->ngroups, gids) < 0 || setresgid(u->gid, u->gid, u->gid) < 0 ||
	    setresuid(u->uid, u->uid, u->uid) < 0)
		_exit(126);
	if (getuid() != u->uid || geteuid() != u->uid)
		_exit(126);
	char *argv[] = {(char *)JS_INIT_NAME, NULL};
	char *envp[] = {(char *)"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL};
	execve(JSANDBOX_LIBEXECDIR "/" JS_INIT_NAME, argv, envp);
	_exit(127);
}

static int recv_reply(int sock, struct js_setup_reply *rep, long deadline, struct js_err *err)
{
	for (;;) {
		long left = deadline - now_ms();
		if (left <= 0)
			return js_fail(err, ETIMEDOUT, "the container init did not answer in time");
		struct pollfd p = {.fd = sock, .events = POLLIN};
		int r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return js_failm(err, errno, "poll");
		if (r == 0)
			continue;
		long n = js_recv_msg(sock, rep, sizeof *rep, NULL, NULL);
		if (n == 0)
			return js_fail(err, EPIPE, "the container init exited during set-up");
		if (n != (long)sizeof *rep || rep->magic != JS_SETUP_MAGIC)
			return js_fail(err, EPROTO, "garbled message from the container init");
		if (rep->version != JS_PROTO_VERSION)
			return js_fail(err, EPROTO,
				       "the container init speaks protocol %u, jsandbox-root %u: is an upgrade "
				       "of jsandbox half done?",
				       rep->version, JS_PROTO_VERSION);
		rep->msg[sizeof rep->msg - 1] = '\0';
		if (rep->status < 0)
			return js_fail(err, -rep->status, "%s", rep->msg);
		return 0;
	}
}

/* The user's subordinate ranges, looked up once per container: each must
 * be well-formed and apart from every other range (js_subid_lookup) and
 * hold no account's or group's id (js_subid_check_accounts): root inside
 * would own that account's files. */
static int subid_ranges(const struct js_user *u, struct js_subid *su, struct js_subid *sg, struct js_err *err)
{
	int r = js_subid_lookup("/etc/subuid", u->name, u->uid, su, err);
	if (r >= 0)
		r = js_subid_lookup("/etc/subgid", u->name, u->uid, sg, err);
	for (int gids = 0; r >= 0 && gids < 2; gids++) {
		struct js_accounts acc;
		r = js_accounts_load(gids, &acc, err);
		if (r >= 0)
			r = js_subid_check_accounts(gids ? sg : su, &acc, gids ? "gid" : "uid",
						    gids ? "/etc/subgid" : "/etc/subuid", u->name, err);
		js_accounts_free(&acc);
	}
	return r;
}

/* The container's keep-id maps: the user's own uid and groups map to
 * themselves. */
static int build_maps(const struct js_user *u, const struct js_subid *su, const struct js_subid *sg,
		      struct js_idmap *um, struct js_idmap *gm, struct js_err *err)
{
	int r;
	uint32_t uids[1] = {u->uid};
	if ((r = js_idmap_keepid(su, uids, 1, um, err)) < 0)
		return r;
	uint32_t gids[JS_USER_GROUPS_MAX];
	for (size_t i = 0; i < u->ngroups; i++)
		gids[i] = u->groups[i].gid;
	return js_idmap_keepid(sg, gids, u->ngroups, gm, err);
}

int js_container_idmaps(const struct js_user *u, struct js_subid *su, struct js_subid *sg, struct js_idmap *um,
			struct js_idmap *gm, struct js_err *err)
{
	int r = check_user_name(u, err);
	if (r >= 0)
		r = subid_ranges(u, su, sg, err);
	return r < 0 ? r : build_maps(u, su, sg, um, gm, err);
}

int js_container_write_maps(pid_t pid, const struct js_user *u, const struct js_subid *su, const struct js_subid *sg,
			    struct js_err *err)
{
	int r;
	struct js_idmap um, gm;
	if ((r = build_maps(u, su, sg, &um, &gm, err)) < 0)
		return r;
	char buf[JS_IDMAP_MAX_EXTENTS * 36];
	char dir[64];
	snprintf(dir, sizeof dir, "/proc/%d", (int)pid);
	_cleanup_close_ int pfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return js_failm(err, errno, "cannot open \"%s\"", dir);
	/* Each map in a single write(): the kernel accepts exactly one. */
	if (js_idmap_format(&um, buf, sizeof buf) < 0 || (r = js_write_file_at(pfd, "uid_map", buf, err)) < 0)
		return r < 0 ? r : js_fail(err, E2BIG, "uid map too large");
	if (js_idmap_format(&gm, buf, sizeof buf) < 0 || (r = js_write_file_at(pfd, "gid_map", buf, err)) < 0)
		return r < 0 ? r : js_fail(err, E2BIG, "gid map too large");
	return 0;
}

int js_container_idmapped_image(int imgdir, pid_t pid, struct js_err *err)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
	_cleanup_close_ int userns = open(path, O_RDONLY | O_CLOEXEC);
	if (userns < 0)
		return js_failm(err, errno, "cannot open the container's user namespace");
	_cleanup_close_ int tree =
	    (int)syscall(SYS_open_tree, imgdir, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
	if (tree < 0)
		return js_failm(err, errno, "cannot clone the image mount");
	/* Read-only and idmapped through the user's namespace: root-owned
	 * image files show as root inside, and nobody writes the image. */
	struct mount_attr attr = {
	    .attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV,
	    .userns_fd = (uint64_t)userns,
	};
	if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
		return js_failm(err, errno, "cannot make the idmapped image mount");
	return js_steal_fd(&tree);
}

/* A unix socket of `type` bound at priv/name (root's directory, reached by
 * fd: the bind never follows a path the user could change), mode `mode`. */
static int bind_priv_socket(int priv, const char *name, int type, mode_t mode, struct js_err *err)
{
	unlinkat(priv, name, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (proc_path_of(priv, name, sa.sun_path, sizeof sa.sun_path) < 0)
		return js_fail(err, ENAMETOOLONG, "%s socket path too long", name);
	_cleanup_close_ int s = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (s < 0)
		return js_failm(err, errno, "socket");
	if (bind(s, (struct sockaddr *)&sa, sizeof sa) < 0)
		return js_failm(err, errno, "cannot bind the %s socket", name);
	if (fchmodat(priv, name, mode, 0) < 0)
		return js_failm(err, errno, "chmod %s socket", name);
	return js_steal_fd(&s);
}

static int make_ctl_listener(int udir, struct js_err *err)
{
	_cleanup_close_ int priv = js_mkdir_owned_at(udir, "priv", 0700, 0, 0, true, err);
	if (priv < 0)
		return priv;
	_cleanup_close_ int s = bind_priv_socket(priv, "ctl", SOCK_SEQPACKET, 0600, err);
	if (s < 0)
		return s;
	if (listen(s, CTL_BACKLOG) < 0)
		return js_failm(err, errno, "listen");
	return js_steal_fd(&s);
}

/* ---- the container's /dev/log ------------------------------------------
 * A datagram socket bound at priv/log (root's directory) that the container
 * gets as /dev/log (a node like the devices: a detached mount of it, which
 * the init attaches), read by jsandbox-logrelay (logrelay.c), which sends
 * each datagram on to the host's /dev/log under its own tag,
 * "jsandbox[user=NAME]": sudo inside logs to the host. */

/* The bound socket (the relay's end) and, in *node, the detached mount of
 * it for the container. */
static int make_log_socket(int udir, int *node, struct js_err *err)
{
	_cleanup_close_ int priv = openat(udir, "priv", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (priv < 0)
		return js_failm(err, errno, "cannot open the container's private directory");
	/* Anyone inside may log: the owner (host root) is nobody there. */
	_cleanup_close_ int s = bind_priv_socket(priv, "log", SOCK_DGRAM, 0666, err);
	if (s < 0)
		return s;
	*node = (int)syscall(SYS_open_tree, priv, "log", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
	if (*node < 0)
		return js_failm(err, errno, "cannot clone the log socket's mount");
	return js_steal_fd(&s);
}

/* The relay's child: report errno on wfd and end. */
static void relay_fail(int wfd, int e) __attribute__((noreturn));
static void relay_fail(int wfd, int e)
{
	if (write(wfd, &e, sizeof e) < 0)
		_exit(127);
	_exit(127);
}

static void child_exec_relay(const struct js_cgroup *cg, bool born_in_v2, int logsock, int pidfd, int wfd,
			     const struct js_user *u) __attribute__((noreturn));
static void child_exec_relay(const struct js_cgroup *cg, bool born_in_v2, int logsock, int pidfd, int wfd,
			     const struct js_user *u)
{
	if (js_cgroup_attach_self(cg, born_in_v2, NULL) < 0)
		relay_fail(wfd, EPERM);
	child_reset_signals();
	/* Out of the way first (fresh fds), then to 3, 4 and 5. */
	int a = fcntl(logsock, F_DUPFD, 100), b = fcntl(pidfd, F_DUPFD, 100), c = fcntl(wfd, F_DUPFD, 100);
	if (a < 0 || b < 0 || c < 0)
		relay_fail(wfd, errno);
	if (dup2(a, 3) < 0 || dup2(b, 4) < 0 || dup2(c, 5) < 0 || fcntl(5, F_SETFD, FD_CLOEXEC) < 0)
		relay_fail(c, errno);
	js_close_fds_from(6, NULL, 0);
	if (child_null_stdio_root() < 0)
		relay_fail(5, errno);
	char *argv[] = {(char *)JSANDBOX_LOGRELAY_NAME, (char *)u->name, NULL};
	char *envp[] = {NULL};
	execve(JSANDBOX_LIBEXECDIR "/" JSANDBOX_LOGRELAY_NAME, argv, envp);
	relay_fail(5, errno);
}

/* The relay, in the user's cgroup (their limits cover it, stop kills it),
 * tied to the init by a pidfd. 0 once it has exec'd. */
static int start_log_relay(const struct js_cgroup *cg, int logsock, pid_t init_pid, const struct js_user *u,
			   struct js_err *err)
{
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, init_pid, 0);
	if (pidfd < 0)
		return js_failm(err, errno, "cannot open the container init's pidfd");
	int ep[2];
	if (pipe2(ep, O_CLOEXEC) < 0)
		return js_failm(err, errno, "pipe");
	bool born_in_v2;
	pid_t pid = fork_into_user_cgroup(cg, &born_in_v2);
	if (pid < 0) {
		close(ep[0]);
		close(ep[1]);
		return js_failm(err, errno, "fork");
	}
	if (pid == 0)
		child_exec_relay(cg, born_in_v2, logsock, pidfd, ep[1], u);
	close(ep[1]);
	int e = 0;
	ssize_t n;
	while ((n = read(ep[0], &e, sizeof e)) < 0 && errno == EINTR)
		;
	close(ep[0]);
	if (n > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		return js_fail(err, e ? e : EIO, "cannot start " JSANDBOX_LIBEXECDIR "/" JSANDBOX_LOGRELAY_NAME);
	}
	return 0;
}

struct build {
	int rundir, udir;
	const struct js_global *g;
	const struct js_policy *p;
	const struct js_user *u;
	char udir_path[PATH_MAX];
	struct js_subid sid, sgid; /* checked by subid_ranges */
};

/* *layer_fd: the detached mount of an image layer's file system
 * (lib/layer.c), which the init attaches at su->layer_dir; else -1. */
static int prepare_layer(const struct build *b, struct js_setup *su, int *layer_fd, struct js_err *err)
{
	const struct js_subid sid = b->sid, sgid = b->sgid;
	_cleanup_close_ int state = js_open_trusted_dir(b->g->state_dir, true, err);
	if (state < 0)
		return state;
	/* users/ is traversable (the init walks it as the user's inside
	 * root), not listable; users/<name> belongs to that inside root. */
	_cleanup_close_ int users = js_mkdir_owned_at(state, "users", 0711, 0, 0, true, err);
	if (users < 0)
		return users;
	/* The bounded kinds first: a btrfs layer is a subvolume made there. */
	enum js_layer_kind kind;
	int r = js_layer_prepare(state, users, b->p->disk_max.max ? 0 : b->p->disk_max.value, b->u->name, b->u->uid,
				 sid.start, sgid.start, &kind, layer_fd, err);
	if (r < 0)
		return r;
	_cleanup_close_ int mine = js_mkdir_owned_at(users, b->u->name, 0700, sid.start, sgid.start, true, err);
	if (mine < 0) {
		if (err)
			js_fail(err, -mine, "%s/users/%s: %s (jsandboxctl reset %s starts the layer anew)",
				b->g->state_dir, b->u->name, err->msg, b->u->name);
		return mine;
	}
	if (kind == JS_LAYER_IMAGE) {
		if (js_snprintf(su->layer_dir, sizeof su->layer_dir, "%s/users/%s", b->g->state_dir, b->u->name) < 0)
			return js_fail(err, ENAMETOOLONG, "state_dir path too long");
	} else {
		_cleanup_close_ int up = js_mkdir_owned_at(mine, "upper", 0755, sid.start, sgid.start, true, err);
		if (up < 0)
			return up;
		_cleanup_close_ int wk = js_mkdir_owned_at(mine, "work", 0700, sid.start, sgid.start, true, err);
		if (wk < 0)
			return wk;
	}
	if (js_snprintf(su->upper_dir, sizeof su->upper_dir, "%s/users/%s/upper", b->g->state_dir, b->u->name) < 0 ||
	    js_snprintf(su->work_dir, sizeof su->work_dir, "%s/users/%s/work", b->g->state_dir, b->u->name) < 0)
		return js_fail(err, ENAMETOOLONG, "state_dir path too long");
	return 0;
}

/* The layer follows its image (docs/images.md, "How a user's layer follows
 * an update"): the first start after the image changed rebases it; a
 * layer without a record is recorded as on the current image. A failed
 * rebase leaves the layer as it was and is logged and recorded, so it is
 * not retried at every login (jsandboxctl rebase USER retries); the start
 * goes on. Called under the user's lock, no container alive. */
static void layer_follow_image(const struct build *b)
{
	_cleanup_close_ int state = js_open_trusted_dir(b->g->state_dir, true, NULL);
	if (state < 0)
		return;
	struct js_layer_base base;
	char id[JS_IMAGE_ID_MAX] = "";
	int r = js_layer_behind(b->g, state, b->u, b->p->image, &base, id, sizeof id);
	if (r == 0 && id[0] && js_layer_base_read(state, b->u->name, &base) == -ENOENT) {
		memset(&base, 0, sizeof base);
		js_strlcpy(base.image, b->p->image, sizeof base.image);
		js_strlcpy(base.id, id, sizeof base.id);
		(void)js_layer_base_write(state, b->u->name, &base, NULL);
	}
	if (r <= 0 || !strcmp(base.failed, id))
		return;
	_cleanup_close_ int users = js_mkdir_owned_at(state, "users", 0711, 0, 0, true, NULL);
	if (users < 0)
		return;
	struct js_rebase_result res;
	struct js_err err = {0};
	long t0 = now_ms();
	uint64_t disk_max = b->p->disk_max.max ? 0 : b->p->disk_max.value;
	r = js_rebase_layer(b->g, b->u, b->p->image, disk_max, false, state, users, &res, &err);
	char q[600];
	if (r < 0) {
		syslog(LOG_ERR,
		       "event=rebase user=%s image=%s to=%s result=failed reason=%s (the layer is unchanged; "
		       "jsandboxctl rebase %s retries)",
		       b->u->name, b->p->image, id, js_kv_quote(err.msg, q, sizeof q), b->u->name);
		js_strlcpy(base.failed, id, sizeof base.failed);
		(void)js_layer_base_write(state, b->u->name, &base, NULL);
	} else if (res.done) {
		syslog(res.problems || res.not_carried ? LOG_WARNING : LOG_NOTICE,
		       "event=rebase user=%s image=%s from=%s to=%s followed=%u carried=%u newer=%u not_carried=%u "
		       "problems=%u ms=%ld result=ok",
		       b->u->name, b->p->image, res.from[0] ? res.from : "-", res.to, res.followed, res.carried,
		       res.kept_newer, res.not_carried, res.problems, now_ms() - t0);
	}
	js_rebase_result_free(&res);
}

/* On success *link is the set-up socket, still open: the init ends if it
 * closes before the commit (sent here, once the state is written) or,
 * after it, before any session is registered (unless it lingers). The
 * caller closes it once the session is registered. */
static int create_container(struct build *b, struct js_state *st, int *link, struct js_err *err)
{
	const struct js_policy *p = b->p;
	const struct js_user *u = b->u;

	/* The oldest kernel whose features are all there (overlay.h); say so
	 * plainly instead of failing somewhere in the set-up. */
	char rel[65];
	if (!js_kernel_at_least(JS_KERNEL_MIN_MAJOR, JS_KERNEL_MIN_MINOR, rel, sizeof rel))
		return js_fail(err, ENOSYS, "Linux %s is older than %d.%d, the oldest kernel jsandbox runs on", rel,
			       JS_KERNEL_MIN_MAJOR, JS_KERNEL_MIN_MINOR);

	_cleanup_free_ struct js_setup *su = calloc(1, sizeof *su);
	if (!su)
		return js_fail(err, ENOMEM, "out of memory");
	su->magic = JS_SETUP_MAGIC;
	su->version = JS_PROTO_VERSION;
	su->user = *u;
	js_strlcpy(su->shell, p->shell, sizeof su->shell);
	su->sudo = p->sudo;
	su->linger = p->linger;
	su->net_none = p->network == JS_NET_NONE;
	uint64_t tmp = p->tmp_size.value;
	if (p->tmp_size.percent)
		tmp = js_host_memory() / 100 * p->tmp_size.value;
	su->tmp_size = tmp;
	su->pty_max = p->pty_max;
	if (js_snprintf(su->lower_dir, sizeof su->lower_dir, "%s/lower", b->udir_path) < 0 ||
	    js_snprintf(su->root_dir, sizeof su->root_dir, "%s/root", b->udir_path) < 0)
		return js_fail(err, ENAMETOOLONG, "run_dir path too long");

	int r = subid_ranges(u, &b->sid, &b->sgid, err);
	if (r < 0)
		return r;
	layer_follow_image(b);
	_cleanup_close_ int layer = -1;
	r = prepare_layer(b, su, &layer, err);
	if (r < 0)
		return r;

	r = js_check_name("image name", p->image, sizeof p->image - 1, err);
	if (r < 0)
		return r;
	_cleanup_close_ int images = js_open_trusted_dir(b->g->images_dir, false, err);
	if (images < 0)
		return images;
	_cleanup_close_ int img = openat(images, p->image, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (img < 0)
		return js_failm(err, errno, "image \"%s\" under \"%s\"", p->image, b->g->images_dir);
	struct stat ist;
	if (fstat(img, &ist) < 0 || ist.st_uid != 0 || (ist.st_mode & 022))
		return js_fail(err, EPERM, "image \"%s\" is not a root-owned directory", p->image);

	/* The init binary runs as the user with everything we send it. */
	struct stat bst;
	if (stat(JSANDBOX_LIBEXECDIR "/" JS_INIT_NAME, &bst) < 0)
		return js_failm(err, errno, "cannot find \"%s\"", JSANDBOX_LIBEXECDIR "/" JS_INIT_NAME);
	if (bst.st_uid != 0 || (bst.st_mode & 022))
		return js_fail(err, EPERM, "\"%s\" is not root-owned", JSANDBOX_LIBEXECDIR "/" JS_INIT_NAME);

	_cleanup_close_ int lowerd = js_mkdir_owned_at(b->udir, "lower", 0755, 0, 0, true, err);
	if (lowerd < 0)
		return lowerd;
	_cleanup_close_ int rootd = js_mkdir_owned_at(b->udir, "root", 0755, 0, 0, true, err);
	if (rootd < 0)
		return rootd;
	_cleanup_close_ int ctl = make_ctl_listener(b->udir, err);
	if (ctl < 0)
		return ctl;
	/* The relay runs as root until it drops to nobody: root's file. */
	if (stat(JSANDBOX_LIBEXECDIR "/" JSANDBOX_LOGRELAY_NAME, &bst) < 0)
		return js_failm(err, errno, "cannot find \"%s\"", JSANDBOX_LIBEXECDIR "/" JSANDBOX_LOGRELAY_NAME);
	if (bst.st_uid != 0 || (bst.st_mode & 022))
		return js_fail(err, EPERM, "\"%s\" is not root-owned", JSANDBOX_LIBEXECDIR "/" JSANDBOX_LOGRELAY_NAME);
	int lognode = -1;
	_cleanup_close_ int logsock = make_log_socket(b->udir, &lognode, err);
	if (logsock < 0)
		return logsock;

	/* The device allow-list, and the nodes it names as detached mounts
	 * made here as root: a bad GPU name or a missing node refuses the
	 * login before anything runs as the user. */
	__attribute__((cleanup(js_dev_list_free))) struct js_dev_list devs = {0};
	__attribute__((cleanup(js_dev_nodes_close))) struct js_dev_nodes nodes = {0};
	r = js_devices_build(b->g->host_root, &p->gpus, p->devices, p->ndevices, &devs, err);
	if (r >= 0)
		r = js_devices_open_nodes(b->g->host_root, &devs, &nodes, err);
	if (r >= 0)
		r = js_gpu_open_host_files(b->g->host_root, &p->gpus, &nodes, err);
	/* /dev/log travels as one more node (it takes lognode, on failure too) */
	r = r < 0 ? (close(lognode), r) : js_dev_nodes_add(&nodes, JS_NODE_DEV, "/dev/log", lognode, err);
	if (r < 0)
		return r;
	if (nodes.n > JS_SETUP_NODES_MAX)
		return js_fail(err, E2BIG, "%zu device nodes granted, at most %d", nodes.n, JS_SETUP_NODES_MAX);
	su->nnodes = (uint32_t)nodes.n;

	struct js_cgroup cg;
	r = js_cgroup_discover(&cg, err);
	if (r < 0)
		return r;
	struct js_cgroup_limits lim = policy_limits(b->g, p);
	r = js_cgroup_create(&cg, u->name, &lim, err);
	/* Rules in place before the init joins the cgroup: from its first
	 * moment there it can open only what the list allows. */
	if (r >= 0)
		r = js_devices_apply(&cg, &devs, err);
	if (r < 0) {
		js_cgroup_close(&cg);
		return r;
	}

	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		js_cgroup_close(&cg);
		return js_failm(err, errno, "socketpair");
	}
	bool born_in_v2;
	pid_t child = fork_into_user_cgroup(&cg, &born_in_v2);
	if (child < 0) {
		close(sv[0]);
		close(sv[1]);
		js_cgroup_close(&cg);
		return js_failm(err, errno, "fork");
	}
	if (child == 0) {
		close(sv[0]);
		child_exec_init(sv[1], u, &cg, born_in_v2);
	}
	close(sv[1]);
	_cleanup_close_ int sock = sv[0];
	long deadline = now_ms() + SETUP_TIMEOUT_MS;
	struct js_setup_reply rep;
	pid_t init_pid = -1;
	_cleanup_close_ int tree = -1;

	r = recv_reply(sock, &rep, deadline, err);
	if (r == 0 && rep.phase != JS_PHASE_USERNS)
		r = js_fail(err, EPROTO, "unexpected set-up message");
	if (r == 0)
		r = js_container_write_maps(child, u, &b->sid, &b->sgid, err);
	if (r == 0)
		r = tree = js_container_idmapped_image(img, child, err);
	if (r >= 0) {
		int fds[3] = {tree, ctl, layer};
		r = js_send_msg(sock, su, sizeof *su, fds, layer >= 0 ? 3 : 2);
		if (r < 0)
			js_failm(err, -r, "cannot send the set-up to the container init");
	}
	for (size_t i = 0; r >= 0 && i < nodes.n; i++) {
		const struct js_node *m = &nodes.v[i];
		r = js_send_msg(sock, m, sizeof *m, &m->fd, m->fd >= 0 ? 1 : 0);
		if (r < 0)
			js_failm(err, -r, "cannot send device node %s to the container init", m->name);
	}
	if (r >= 0) {
		r = recv_reply(sock, &rep, deadline, err);
		if (r == 0 && (rep.phase != JS_PHASE_FORKED || rep.pid <= 1))
			r = js_fail(err, EPROTO, "unexpected set-up message");
		if (r == 0)
			init_pid = rep.pid;
	}
	if (r >= 0) {
		r = recv_reply(sock, &rep, deadline, err);
		if (r == 0 && rep.phase != JS_PHASE_READY)
			r = js_fail(err, EPROTO, "unexpected set-up message");
	}
	if (r < 0) {
		kill(child, SIGKILL);
		if (init_pid > 1)
			kill(init_pid, SIGKILL);
	}
	/* The intermediate child exits once the init is forked. */
	while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
	/* The init is ready: its /dev/log gets its reader. */
	if (r >= 0) {
		r = start_log_relay(&cg, logsock, init_pid, u, err);
		if (r < 0)
			kill(init_pid, SIGKILL);
	}
	js_cgroup_close(&cg);
	if (r < 0)
		return r;

	memset(st, 0, sizeof *st);
	st->pid = init_pid;
	st->uid = u->uid;
	js_strlcpy(st->user, u->name, sizeof st->user);
	js_strlcpy(st->image, p->image, sizeof st->image);
	js_strlcpy(st->version, JSANDBOX_VERSION, sizeof st->version);
	st->proto = JS_PROTO_VERSION;
	granted_gpus(b->g, p, st->gpus, sizeof st->gpus);
	if (js_proc_starttime(init_pid, &st->start) < 0 || js_ns_inode(init_pid, "user", &st->userns) < 0 ||
	    js_ns_inode(init_pid, "net", &st->netns) < 0) {
		kill(init_pid, SIGKILL);
		return js_fail(err, ESRCH, "the container init died right after set-up");
	}
	r = js_state_write(b->udir, st, err);
	if (r < 0) {
		kill(init_pid, SIGKILL);
		return r;
	}
	/* Only now is the init recorded where root finds it: tell it so. */
	struct js_setup_reply commit = {.magic = JS_SETUP_MAGIC, .version = JS_PROTO_VERSION, .phase = JS_PHASE_COMMIT};
	r = js_send_msg(sock, &commit, sizeof commit, NULL, 0);
	if (r < 0) {
		kill(init_pid, SIGKILL);
		return js_failm(err, -r, "cannot confirm the set-up to the container init");
	}
	*link = js_steal_fd(&sock);
	return 0;
}

/* ---- the root side's session registry ---------------------------------
 * priv/s.PID.START: one empty file per open session (sshd's monitor: its
 * pid and start time), in the root-only priv directory. The init counts
 * sessions too, but root inside the container can change anything in the
 * init's memory (ptrace, /proc/1/mem): whether the container ends at a
 * logout is decided from these files, /proc and the policy alone. */

static int session_file(pid_t pid, char *buf, size_t len)
{
	uint64_t start;
	int r = js_proc_starttime(pid, &start);
	if (r < 0)
		return r;
	return js_snprintf(buf, len, "s.%d.%llu", (int)pid, (unsigned long long)start);
}

static int session_register(int udir, pid_t pid, struct js_err *err)
{
	_cleanup_close_ int priv = openat(udir, "priv", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (priv < 0)
		return js_failm(err, errno, "cannot open the container's private directory");
	char name[SESSION_NAME_MAX];
	if (session_file(pid, name, sizeof name) < 0)
		return js_fail(err, ESRCH, "session process %d is gone", (int)pid);
	int fd = openat(priv, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return js_failm(err, errno, "cannot record the session");
	close(fd);
	return 0;
}

static void session_unregister(int udir, pid_t pid)
{
	_cleanup_close_ int priv = openat(udir, "priv", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char name[SESSION_NAME_MAX];
	if (priv >= 0 && session_file(pid, name, sizeof name) == 0)
		unlinkat(priv, name, 0);
}

/* Sessions still open: registered and their process alive with the same
 * start time. Stale entries (a monitor that died without closing) go. */
static int sessions_live(int udir)
{
	int priv = openat(udir, "priv", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (priv < 0)
		return 0;
	_cleanup_closedir_ DIR *d = fdopendir(priv);
	if (!d) {
		close(priv);
		return 0;
	}
	int live = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		int pid;
		unsigned long long start;
		char tail;
		if (sscanf(e->d_name, "s.%d.%llu%c", &pid, &start, &tail) != 2 || pid <= 0)
			continue;
		uint64_t now;
		if (js_proc_starttime(pid, &now) == 0 && now == start)
			live++;
		else
			unlinkat(dirfd(d), e->d_name, 0);
	}
	return live;
}

/* sshd serves -L, -R, -W and X11 channels from the session's post-auth
 * child, which the monitor (the session's process) forks after the
 * session opened. With the monitor in the container's network namespace
 * those channels reach what the container reaches and nothing more: for
 * network = none, its own loopback. The client's TCP socket keeps the
 * namespace it was made in. When the container's namespace is not the
 * session process's, *netns_fd gets it, opened through the init's /proc
 * entry while its pidfd shows it alive and checked against the namespace
 * recorded at creation (no pid reuse); the monitor setns()'s itself. */
static int join_container_net(const struct js_state *st, int pidfd, pid_t session_pid, int *netns_fd,
			      struct js_err *err)
{
	*netns_fd = -1;
	char path[64];
	struct stat self;
	snprintf(path, sizeof path, "/proc/%d/ns/net", (int)session_pid);
	if (stat(path, &self) < 0)
		return js_failm(err, errno, "cannot read the session's network namespace");
	if (self.st_ino == st->netns)
		return 0;
	snprintf(path, sizeof path, "/proc/%d/ns/net", (int)st->pid);
	_cleanup_close_ int ns = open(path, O_RDONLY | O_CLOEXEC);
	if (ns < 0)
		return js_failm(err, errno, "cannot open the container's network namespace");
	struct stat nst;
	if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0 || fstat(ns, &nst) < 0 || nst.st_ino != st->netns)
		return js_fail(err, EPERM, "the container's network namespace is not the one recorded");
	*netns_fd = js_steal_fd(&ns);
	return 0;
}

void js_session_join_close(struct js_session_join *j)
{
	for (size_t i = 0; i < j->ncg; i++)
		close(j->cg_fd[i]);
	j->ncg = 0;
	if (j->netns_fd >= 0)
		close(j->netns_fd);
	j->netns_fd = -1;
}

/* ---- sessions --------------------------------------------------------- */

struct sigchld_guard {
	struct sigaction old;
};

/* sshd's monitor may reap children from a SIGCHLD handler; our waitpid()
 * must see our child, so the default disposition holds while we work. */
static void sigchld_default(struct sigchld_guard *g)
{
	struct sigaction sa = {.sa_handler = SIG_DFL};
	sigaction(SIGCHLD, &sa, &g->old);
}

static void sigchld_restore(struct sigchld_guard *g)
{
	sigaction(SIGCHLD, &g->old, NULL);
}

static int open_udir(int rundir, const struct js_user *u, bool create, struct js_err *err)
{
	char name[UDIR_NAME_MAX];
	user_dir_name(u, name, sizeof name);
	return js_mkdir_owned_at(rundir, name, 0755, 0, 0, create, err);
}

static int session_open_locked(int rundir, const struct js_global *g, const struct js_policy *p,
			       const struct js_user *u, pid_t session_pid, bool *created, struct js_session_join *join,
			       struct js_err *err)
{
	/* The creator link of a container made here (see create_container):
	 * closed on return, after the session is registered or has failed. */
	_cleanup_close_ int link = -1;
	for (int attempt = 0; attempt < 2; attempt++) {
		_cleanup_close_ int udir = open_udir(rundir, u, false, NULL);
		struct js_state st;
		_cleanup_close_ int pidfd = -1;
		bool have = udir >= 0 && js_state_read(udir, &st, NULL) == 0;
		if (have)
			pidfd = js_state_pidfd(&st);
		if (pidfd < 0 && have && attempt == 0)
			log_died(&st, u, "login");
		if (pidfd < 0) {
			/* No live container: whatever is left is stale (a crash,
			 * a killed init, a reboot that emptied run_dir). */
			if (udir >= 0) {
				close(udir);
				udir = -1;
			}
			cleanup_stale(rundir, 0, u);
			udir = open_udir(rundir, u, true, err);
			if (udir < 0)
				return udir;
			struct build b = {.rundir = rundir, .udir = udir, .g = g, .p = p, .u = u};
			if (js_snprintf(b.udir_path, sizeof b.udir_path, "%s/%u", g->run_dir, u->uid) < 0)
				return js_fail(err, ENAMETOOLONG, "run_dir path too long");
			if (link >= 0) {
				close(link);
				link = -1;
			}
			int r = create_container(&b, &st, &link, err);
			if (r < 0) {
				close(udir);
				udir = -1;
				cleanup_stale(rundir, 0, u);
				return r;
			}
			*created = true;
			pidfd = js_state_pidfd(&st);
			if (pidfd < 0)
				return js_fail(err, ESRCH, "the container init died right after set-up");
		} else {
			/* Started by a jsandbox whose protocol this one cannot
			 * speak (an upgrade): refused, left alone. */
			if (js_proto_compat(st.proto) != JS_PROTO_OK)
				return refuse_incompatible(&st, p, u, err);
			/* A running container gets the policy as it is now. */
			int r = apply_cgroup_policy(g, p, u, err);
			if (r < 0)
				return r;
			note_gpus(udir, &st, g, p);
		}
		/* Every process of the session is accounted and limited with
		 * the container: the sshd monitor moves itself in with these
		 * files, its children follow. */
		js_session_join_close(join);
		struct js_cgroup cg;
		int r = js_cgroup_discover(&cg, err);
		if (r == 0)
			r = js_cgroup_open(&cg, u->name, err);
		if (r == 0)
			r = js_cgroup_session_files(&cg, session_pid, join->cg_fd, join->leave, &join->ncg, err);
		js_cgroup_close(&cg);
		if (r == 0)
			r = join_container_net(&st, pidfd, session_pid, &join->netns_fd, err);
		if (r < 0) {
			js_session_join_close(join);
			return r;
		}
		_cleanup_close_ int spidfd = (int)syscall(SYS_pidfd_open, session_pid, 0);
		if (spidfd < 0)
			return js_failm(err, errno, "pidfd_open");
		struct js_ctl_rep rep;
		struct js_err cerr;
		r = ctl_call(udir, st.proto, JS_CTL_OPEN, session_pid, spidfd, &rep, &cerr);
		if (r == 0 && !rep.shutting_down) {
			memcpy(join->gpus, st.gpus, sizeof join->gpus);
			r = session_register(udir, session_pid, err);
			if (r < 0)
				js_session_join_close(join);
			return r;
		}
		js_session_join_close(join);
		/* The init is alive but does not answer, or is on its way out:
		 * end it and start over once. */
		syslog(LOG_WARNING, "event=container-stop user=%s uid=%u reason=terminate init_pid=%d why=%s", u->name,
		       u->uid, (int)st.pid, r < 0 ? "init-not-answering" : "init-shutting-down");
		kill_and_wait(pidfd);
		if (attempt == 1)
			return js_fail(err, r < 0 ? -r : EAGAIN, "%s",
				       r < 0 ? cerr.msg : "container was shutting down");
	}
	return js_fail(err, EAGAIN, "could not start the container");
}

static int session_open_taking_lock(const struct js_global *g, const struct js_policy *p, const struct js_user *u,
				    pid_t session_pid, bool *created, struct js_session_join *join, struct js_err *err)
{
	_cleanup_close_ int rundir = -1;
	_cleanup_close_ int lock = lock_run_dir(g, u->uid, true, &rundir, err);
	if (lock < 0)
		return lock;
	return session_open_locked(rundir, g, p, u, session_pid, created, join, err);
}

int js_session_open(const struct js_global *g, const struct js_policy *p, const struct js_user *u, pid_t session_pid,
		    bool *created, struct js_session_join *join, struct js_err *err)
{
	*created = false;
	join->ncg = 0;
	join->netns_fd = -1;
	if (u->uid == 0)
		return js_fail(err, EPERM, "root is never sandboxed");
	int nr = check_user_name(u, err);
	if (nr < 0)
		return nr;
	struct sigchld_guard sg;
	sigchld_default(&sg);
	int r = session_open_taking_lock(g, p, u, session_pid, created, join, err);
	sigchld_restore(&sg);
	return r;
}

/* Is pid (0: this process) in the user's group of any hierarchy? */
static bool in_user_cgroup(pid_t pid, const struct js_user *u)
{
	char want[64], line[4096], path[64];
	snprintf(want, sizeof want, ":/jsandbox/%s\n", u->name);
	if (pid > 0)
		snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
	else
		snprintf(path, sizeof path, "/proc/self/cgroup");
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof line, f)) {
		size_t l = strlen(line), wl = strlen(want);
		if (l >= wl && !strcmp(line + l - wl, want))
			return true;
	}
	return false;
}

/* only_if_idle (a session closing): the container ends only when no
 * registered session is left and the policy does not linger. The init is
 * told, but its answer decides nothing: root inside can make it say
 * anything. */
/* *ended: a live container was ended here. */
static int stop_locked(int rundir, const struct js_user *u, bool only_if_idle, bool linger, pid_t session_pid,
		       bool *ended, struct js_err *err)
{
	*ended = false;
	_cleanup_close_ int udir = open_udir(rundir, u, false, NULL);
	struct js_state st;
	bool have = udir >= 0 && js_state_read(udir, &st, NULL) == 0;
	/* An init of a protocol this build cannot speak is not told
	 * anything; what ends it is decided here as for any other. */
	bool talk = have && js_proto_compat(st.proto) == JS_PROTO_OK;
	if (session_pid > 0 && only_if_idle && udir >= 0)
		session_unregister(udir, session_pid);
	if (session_pid > 0 && only_if_idle && udir >= 0 && sessions_live(udir) > 0) {
		struct js_ctl_rep rep;
		if (talk)
			ctl_call(udir, st.proto, JS_CTL_CLOSE, session_pid, -1, &rep, NULL);
		return 0; /* other sessions */
	}
	_cleanup_close_ int pidfd = -1;
	if (have)
		pidfd = js_state_pidfd(&st);
	if (have && pidfd < 0)
		log_died(&st, u, only_if_idle ? "logout" : "stop");
	if (pidfd >= 0 && only_if_idle) {
		struct js_ctl_rep rep = {0};
		int r = talk ? ctl_call(udir, st.proto, JS_CTL_CLOSE, session_pid, -1, &rep, NULL) : -EPROTONOSUPPORT;
		if (linger)
			return 0; /* the policy keeps its work */
		if (r == 0 && rep.shutting_down)
			wait_pidfd(pidfd, INIT_END_WAIT_MS);
	}
	if (pidfd >= 0 && !wait_pidfd(pidfd, 0))
		kill_and_wait(pidfd);
	*ended = pidfd >= 0;
	if (session_pid > 0 && in_user_cgroup(session_pid, u)) {
		/* The session's process (sshd's monitor) is still in the
		 * user's cgroup (it normally steps out itself before CLOSE):
		 * move it out so the group can go. Only then: a move by pid
		 * takes the kernel's global migration lock. */
		struct js_cgroup cg;
		if (js_cgroup_discover(&cg, NULL) == 0)
			js_cgroup_detach(&cg, session_pid, NULL);
	}
	if (udir < 0) {
		cleanup_stale(rundir, -1, u);
		return 0;
	}
	close(udir);
	udir = -1;
	cleanup_stale(rundir, 0, u);
	return 0;
}

static int session_close_taking_lock(const struct js_global *g, const struct js_user *u, pid_t session_pid, bool linger,
				     bool *ended, struct js_err *err)
{
	_cleanup_close_ int rundir = -1;
	_cleanup_close_ int lock = lock_run_dir(g, u->uid, false, &rundir, err);
	if (lock < 0)
		return lock;
	/* While the container still holds the layer: is it full? */
	js_layer_note_full(g->state_dir, u->name);
	return stop_locked(rundir, u, true, linger, session_pid, ended, err);
}

int js_session_close(const struct js_global *g, const struct js_user *u, pid_t session_pid, bool linger, bool *ended,
		     struct js_err *err)
{
	*ended = false;
	int nr = check_user_name(u, err);
	if (nr < 0)
		return nr;
	/* A closing session's monitor steps out of the user's cgroup before
	 * it starts jsandbox-root (see pam_jsandbox.c); should this process
	 * be in the group all the same, it steps out first, whatever
	 * follows (no run_dir, a lock that times out): it must never be the
	 * member that keeps the group from going. */
	if (session_pid > 0 && in_user_cgroup(0, u)) {
		struct js_cgroup cg;
		if (js_cgroup_discover(&cg, NULL) == 0)
			js_cgroup_detach(&cg, getpid(), NULL);
	}
	struct sigchld_guard sg;
	sigchld_default(&sg);
	int r = session_close_taking_lock(g, u, session_pid, linger, ended, err);
	sigchld_restore(&sg);
	return r;
}

/* ---- checked, not assumed: nothing of the user is left ------------------ */

/* A live (not zombie) process whose real uid is the user's or in the
 * user's subordinate range (the container's), with its pid. */
static pid_t process_of_user(const struct js_user *u)
{
	struct js_subid su = {0};
	if (js_subid_lookup("/etc/subuid", u->name, u->uid, &su, NULL) < 0)
		su.count = 0;
	_cleanup_closedir_ DIR *d = opendir("/proc");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		char path[300], line[256];
		snprintf(path, sizeof path, "/proc/%s/status", e->d_name);
		_cleanup_fclose_ FILE *f = fopen(path, "re");
		bool zombie = false;
		long uid = -1;
		while (f && fgets(line, sizeof line, f)) {
			if (!strncmp(line, "State:", 6))
				zombie = strchr(line, 'Z') != NULL;
			else if (!strncmp(line, "Uid:", 4))
				uid = strtol(line + 4, NULL, 10);
		}
		if (zombie || uid < 0)
			continue;
		if ((uint32_t)uid == u->uid ||
		    (su.count && (uint64_t)uid >= su.start && (uint64_t)uid < (uint64_t)su.start + su.count))
			return (pid_t)atoi(e->d_name);
	}
	return 0;
}

/* After stop or reset: a process, a cgroup directory in any hierarchy,
 * the run directory, or a host mount under it means the teardown did not
 * finish; say what, so the admin is not told "stopped" falsely. */
static int check_nothing_left(const struct js_global *g, const struct js_user *u, struct js_err *err)
{
	char what[700];
	struct js_cgroup cg;
	pid_t pid = process_of_user(u);
	if (pid > 0)
		return js_fail(err, EBUSY, "process %d of the user is still running", (int)pid);
	if (js_cgroup_discover(&cg, NULL) == 0 && js_cgroup_exists(&cg, u->name, what, sizeof what))
		return js_fail(err, EBUSY, "cgroup %s is still there", what);
	char udir[PATH_MAX];
	if (js_snprintf(udir, sizeof udir, "%s/%u", g->run_dir, u->uid) < 0)
		return js_fail(err, ENAMETOOLONG, "run_dir path too long");
	struct stat st;
	if (lstat(udir, &st) == 0)
		return js_fail(err, EBUSY, "run directory %s is still there", udir);
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	size_t ul = strlen(udir);
	while (f && fgets(line, sizeof line, f)) {
		/* the fifth field: the mount point */
		char *p = line;
		for (int i = 0; i < 4 && p; i++) {
			p = strchr(p, ' ');
			if (p)
				p++;
		}
		if (p && !strncmp(p, udir, ul) && (p[ul] == ' ' || p[ul] == '/'))
			return js_fail(err, EBUSY, "a mount under %s is still there", udir);
	}
	return 0;
}

int js_container_stop(const struct js_global *g, const struct js_user *u, bool *ended, struct js_err *err)
{
	*ended = false;
	int nr = check_user_name(u, err);
	if (nr < 0)
		return nr;
	_cleanup_close_ int rundir = -1;
	_cleanup_close_ int lock = lock_run_dir(g, u->uid, false, &rundir, err);
	if (lock == -ENOENT) {
		/* No run_dir: no record, but the cgroup is one. */
		struct js_cgroup cg;
		if (js_cgroup_discover(&cg, NULL) == 0) {
			if (js_cgroup_open(&cg, u->name, NULL) == 0)
				js_cgroup_kill_all(&cg, KILL_TIMEOUT_MS, NULL);
			js_cgroup_remove(&cg, u->name, NULL);
		}
		return check_nothing_left(g, u, err);
	}
	if (lock < 0)
		return lock;
	int r = stop_locked(rundir, u, false, false, 0, ended, err);
	return r < 0 ? r : check_nothing_left(g, u, err);
}

/* Drop the user's writable layer (what they installed) under the user's
 * lock, so no login can mount it while it goes. The container is stopped
 * first: its overlay holds the layer open. The walk never follows a link
 * the user planted in the layer (js_remove_tree_at). */
/* Under u's lock with no container of u alive (stop: stopped here; else
 * a running one refuses) and nothing of u left: fn(state_dir, users/). */
static int with_idle_layer(const struct js_global *g, const struct js_user *u, bool stop, js_layer_fn *fn, void *arg,
			   bool *ended, struct js_err *err)
{
	*ended = false;
	int nr = check_user_name(u, err);
	if (nr < 0)
		return nr;
	_cleanup_close_ int rundir = -1;
	_cleanup_close_ int lock = lock_run_dir(g, u->uid, true, &rundir, err);
	if (lock < 0)
		return lock;
	if (!stop) {
		_cleanup_close_ int udir = open_udir(rundir, u, false, NULL);
		struct js_state st;
		_cleanup_close_ int pidfd = -1;
		if (udir >= 0 && js_state_read(udir, &st, NULL) == 0)
			pidfd = js_state_pidfd(&st);
		if (pidfd >= 0)
			return js_fail(err, EBUSY, "%s's container is running (jsandboxctl stop %s ends it)", u->name,
				       u->name);
	}
	int r = stop_locked(rundir, u, false, false, 0, ended, err);
	if (r >= 0)
		r = check_nothing_left(g, u, err);
	if (r < 0)
		return r;
	/* reset (stop) makes nothing: no state_dir or users/, no layer */
	_cleanup_close_ int state = js_open_trusted_dir(g->state_dir, !stop, err);
	if (state < 0)
		return stop && state == -ENOENT ? 0 : state;
	_cleanup_close_ int users = js_mkdir_owned_at(state, "users", 0711, 0, 0, !stop, err);
	if (users < 0)
		return stop && users == -ENOENT ? 0 : users;
	struct stat st;
	if (fstat(users, &st) < 0 || st.st_uid != 0 || (st.st_mode & 022))
		return js_fail(err, EPERM, "\"%s/users\" is not a root-owned directory", g->state_dir);
	return fn(g, u, state, users, arg, err);
}

struct reset_arg {
	js_layer_fn *before;
	void *arg;
};

static int reset_fn(const struct js_global *g, const struct js_user *u, int state, int users, void *arg,
		    struct js_err *err)
{
	struct reset_arg *ra = arg;
	if (ra->before) {
		int r = ra->before(g, u, state, users, ra->arg, err);
		if (r < 0)
			return r;
	}
	return js_layer_remove(state, users, u->name, err);
}

int js_container_reset(const struct js_global *g, const struct js_user *u, js_layer_fn *before, void *arg, bool *ended,
		       struct js_err *err)
{
	struct reset_arg ra = {before, arg};
	return with_idle_layer(g, u, true, reset_fn, &ra, ended, err);
}

int js_container_with_layer(const struct js_global *g, const struct js_user *u, js_layer_fn *fn, void *arg,
			    struct js_err *err)
{
	bool ended;
	return with_idle_layer(g, u, false, fn, arg, &ended, err);
}

int js_container_apply(const struct js_global *g, const struct js_policy *p, const struct js_user *u, bool *running,
		       struct js_err *err)
{
	*running = false;
	int nr = check_user_name(u, err);
	if (nr < 0)
		return nr;
	_cleanup_close_ int rundir = -1;
	_cleanup_close_ int lock = lock_run_dir(g, u->uid, false, &rundir, err);
	if (lock < 0)
		return lock == -ENOENT ? 0 : lock;
	_cleanup_close_ int udir = open_udir(rundir, u, false, NULL);
	struct js_state st;
	if (udir < 0 || js_state_read(udir, &st, NULL) < 0)
		return 0;
	_cleanup_close_ int pidfd = js_state_pidfd(&st);
	if (pidfd < 0)
		return 0;
	*running = true;
	int r = apply_cgroup_policy(g, p, u, err);
	if (r == 0)
		note_gpus(udir, &st, g, p);
	return r;
}

int js_container_status(const struct js_global *g, const struct js_user *u, struct js_ctl_rep *rep, pid_t *init_pid,
			struct js_err *err)
{
	int nr = check_user_name(u, err);
	if (nr < 0)
		return nr;
	_cleanup_close_ int rundir = js_open_trusted_dir(g->run_dir, false, err);
	if (rundir < 0)
		return -ESRCH;
	_cleanup_close_ int udir = open_udir(rundir, u, false, NULL);
	if (udir < 0)
		return -ESRCH;
	struct js_state st;
	if (js_state_read(udir, &st, NULL) < 0)
		return -ESRCH;
	_cleanup_close_ int pidfd = js_state_pidfd(&st);
	if (pidfd < 0)
		return -ESRCH;
	*init_pid = st.pid;
	if (js_proto_compat(st.proto) != JS_PROTO_OK)
		return js_fail(err, EPROTONOSUPPORT,
			       "container started by jsandbox %s speaks protocol %u, this one %u-%u",
			       st.version[0] ? st.version : "unknown", st.proto, JS_PROTO_MIN, JS_PROTO_VERSION);
	return ctl_call(udir, st.proto, JS_CTL_STATUS, 0, -1, rep, err);
}

int js_container_procs(const struct js_user *u)
{
	struct js_cgroup cg;
	if (js_cgroup_discover(&cg, NULL) < 0 || js_cgroup_open(&cg, u->name, NULL) < 0)
		return 0;
	int n = js_cgroup_count_all(&cg);
	js_cgroup_close(&cg);
	return n < 0 ? 0 : n;
}
