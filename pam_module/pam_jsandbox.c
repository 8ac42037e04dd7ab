/* SPDX-License-Identifier: MIT */
/* pam_jsandbox: what must happen inside sshd's monitor, and nothing more.
 *
 *   auth    optional pam_jsandbox.so      (first in the auth stack)
 *   account required pam_jsandbox.so
 *   session required pam_jsandbox.so [debug]
 *
 * Everything that needs the policy or touches a container runs in
 * jsandbox-root (root/main.c), which this module executes by its fixed path
 * with an empty environment and one socket (root/rootop.h): iniparser, the
 * container's creation, cgroups, device programs, session records and the
 * teardown are never mapped into the process that holds the host keys.
 * Here: who the user is (PAM and NSS), the request, joining the user's
 * cgroup and, for network = none, the container's network namespace with
 * what the helper sends (only this process can move itself without the
 * kernel's global migration lock), and stripping the PAM environment.
 *
 * account: the helper says whether the user is sandboxed and may be (a login
 * shell that reads no user file on the host). open_session: the helper makes
 * or joins the container and registers this process's session; the module
 * joins. close_session: the module steps out of the user's cgroup (so a full
 * pids.max there cannot stop the helper's start), then the helper
 * unregisters the session and may end the container. setcred (the auth
 * line): strip a sandboxed user's PAM environment down to the locale (see
 * hostenv.h); sshd calls it in the session's child after the whole session
 * stack ran (pam_env included) and before it builds the environment of
 * xauth, sshrc and the login shell.
 *
 * Fail closed: a sandboxed user whose request fails in any way (the helper
 * missing, crashed, silent, a short or garbled answer) gets no session;
 * since the policy is the helper's, so does every other user but root. root
 * never needs the helper and always passes.
 *
 * Runs inside sshd's privileged monitor: never exit(), never abort, log once
 * at this boundary with pam_syslog. */
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "fdpass.h"
#include "hostenv.h"
#include "jsutil.h"
#include "rootop.h"

#define ROOTOP_PATH JSANDBOX_LIBEXECDIR "/" JS_ROOTOP_NAME

struct args {
	bool debug;
};

static int parse_args(pam_handle_t *pamh, int argc, const char **argv, struct args *a)
{
	memset(a, 0, sizeof *a);
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "debug"))
			a->debug = true;
		else {
			pam_syslog(pamh, LOG_ERR, "unknown option \"%s\"", argv[i]);
			return -1;
		}
	}
	return 0;
}

#define JSANDBOX_SHELL JSANDBOX_LIBEXECDIR "/jsandbox-shell"

struct user {
	char name[JS_ROOTOP_NAME_MAX];
	uid_t uid;
	bool our_shell; /* the login shell is JSANDBOX_SHELL */
};

static int get_user(pam_handle_t *pamh, struct user *u)
{
	const char *name = NULL;
	if (pam_get_user(pamh, &name, NULL) != PAM_SUCCESS || !name || !*name) {
		pam_syslog(pamh, LOG_ERR, "cannot determine the user");
		return -1;
	}
	struct passwd pwb, *pw = NULL;
	char buf[16384];
	if (getpwnam_r(name, &pwb, buf, sizeof buf, &pw) != 0 || !pw) {
		pam_syslog(pamh, LOG_ERR, "user \"%.64s\" is unknown", name);
		return -1;
	}
	if (js_strlcpy(u->name, pw->pw_name, sizeof u->name) < 0) {
		pam_syslog(pamh, LOG_ERR, "user name \"%.64s\" is too long", name);
		return -1;
	}
	u->uid = pw->pw_uid;
	u->our_shell = pw->pw_shell && !strcmp(pw->pw_shell, JSANDBOX_SHELL);
	return 0;
}

/* What this module knows of the user between its calls (sshd's session
 * child inherits it): sandboxed or exempt, as the helper said, and where
 * to step out of the user's cgroup at close. */
#define DATA_STATE "jsandbox.state"
enum kind { KIND_SANDBOXED = 1, KIND_EXEMPT = 2 };
struct state {
	enum kind kind;
	size_t nleave;
	char leave[JS_ROOTOP_CG_MAX][JS_ROOTOP_PATH_MAX];
};

static void state_free(pam_handle_t *pamh, void *data, int error)
{
	free(data);
}

static struct state *get_state(pam_handle_t *pamh)
{
	const void *d = NULL;
	if (pam_get_data(pamh, DATA_STATE, &d) == PAM_SUCCESS && d)
		return (struct state *)d;
	return NULL;
}

static void set_kind(pam_handle_t *pamh, enum kind kind)
{
	struct state *st = get_state(pamh);
	if (!st) {
		st = calloc(1, sizeof *st);
		if (!st || pam_set_data(pamh, DATA_STATE, st, state_free) != PAM_SUCCESS) {
			free(st);
			return; /* no mark: setcred asks the helper (and strips if unsure) */
		}
	}
	st->kind = kind;
}

/* ---- the helper --------------------------------------------------------- */

static void close_fds(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Start jsandbox-root on one end of a socketpair, at fd JS_ROOTOP_FD, with
 * /dev/null on 0-2, nothing else open, default signals, an empty
 * environment and no arguments. Returns its pid, or -1. */
static pid_t spawn_root(pam_handle_t *pamh, int sock)
{
	struct stat st;
	if (stat(ROOTOP_PATH, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022)) {
		pam_syslog(pamh, LOG_ERR, "%s is missing or not a root-owned file writable only by root", ROOTOP_PATH);
		return -1;
	}
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	/* dup2 onto itself clears close-on-exec (glibc, POSIX 2018) */
	int e = posix_spawn_file_actions_adddup2(&fa, sock, JS_ROOTOP_FD);
	if (!e)
		e = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (!e)
		e = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	if (!e)
		e = posix_spawn_file_actions_adddup2(&fa, 1, 2);
	if (!e)
		e = posix_spawn_file_actions_addclosefrom_np(&fa, JS_ROOTOP_FD + 1);
	if (!e)
		e = posix_spawnattr_setsigmask(&at, &none);
	if (!e)
		e = posix_spawnattr_setsigdefault(&at, &all);
	if (!e)
		e = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);
	pid_t pid = -1;
	char *argv[] = {(char *)JS_ROOTOP_NAME, NULL};
	char *envp[] = {NULL};
	if (!e)
		e = posix_spawn(&pid, ROOTOP_PATH, &fa, &at, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (e) {
		pam_syslog(pamh, LOG_ERR, "cannot start %s: %s", ROOTOP_PATH, strerror(e));
		return -1;
	}
	return pid;
}

static bool wait_readable(int fd, long deadline)
{
	for (;;) {
		long left = deadline - now_ms();
		if (left <= 0)
			return false;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, (int)left);
		if (r > 0)
			return true;
		if (r < 0 && errno != EINTR)
			return false;
	}
}

/* One request to the helper; its answer in *rep and, for OPEN, its fds in
 * fds[0..*nfds). Returns 0 for an answer of the right shape, -1 (logged)
 * for anything else: the caller then fails closed. */
static int ask_root(pam_handle_t *pamh, int op, const struct user *u, struct js_rootop_rep *rep, int *fds, size_t *nfds)
{
	*nfds = 0;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		pam_syslog(pamh, LOG_ERR, "socketpair: %m");
		return -1;
	}
	/* sshd's monitor may reap children from a SIGCHLD handler; our
	 * waitpid() must see ours, so the default holds while we work. */
	struct sigaction dfl = {.sa_handler = SIG_DFL}, old;
	sigaction(SIGCHLD, &dfl, &old);
	pid_t pid = spawn_root(pamh, sv[1]);
	close(sv[1]);
	int r = -1;
	if (pid > 0) {
		struct js_rootop_req q = {.magic = JS_ROOTOP_MAGIC,
					  .version = JS_ROOTOP_VERSION,
					  .op = (uint16_t)op,
					  .pid = getpid(),
					  .uid = u->uid};
		memcpy(q.user, u->name, sizeof q.user);
		long deadline = now_ms() + JS_ROOTOP_TIMEOUT_MS;
		size_t cap = JS_ROOTOP_CG_MAX + 1;
		long n = js_send_msg(sv[0], &q, sizeof q, NULL, 0);
		if (n == 0 && !wait_readable(sv[0], deadline))
			n = -ETIMEDOUT;
		*nfds = cap;
		if (n == 0)
			n = js_recv_msg(sv[0], rep, sizeof *rep, fds, nfds);
		else
			*nfds = 0;
		size_t want = 0;
		if (n == (long)sizeof *rep)
			want = rep->ncg + ((rep->flags & JS_ROOTOP_NETNS) ? 1 : 0);
		if (n != (long)sizeof *rep || rep->magic != JS_ROOTOP_MAGIC || rep->version != JS_ROOTOP_VERSION ||
		    rep->op != op || rep->status < JS_ROOTOP_OK || rep->status > JS_ROOTOP_BADREQ ||
		    rep->ncg > JS_ROOTOP_CG_MAX || *nfds != want) {
			pam_syslog(pamh, LOG_ERR, "user %s: no valid answer from %s (%s)", u->name, ROOTOP_PATH,
				   n < 0 ? strerror((int)-n) : "bad reply");
			close_fds(fds, *nfds);
			*nfds = 0;
			kill(pid, SIGKILL);
		} else {
			rep->msg[sizeof rep->msg - 1] = '\0';
			for (size_t i = 0; i < rep->ncg; i++)
				rep->leave[i][JS_ROOTOP_PATH_MAX - 1] = '\0';
			r = 0;
		}
		int status;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	close(sv[0]);
	sigaction(SIGCHLD, &old, NULL);
	return r;
}

/* Write "0" to a cgroup file: moves the writer. */
static int move_self(int fd)
{
	return write(fd, "0", 1) == 1 ? 0 : -1;
}

/* Out of the user's cgroup: back to each hierarchy's root. */
static void leave_cgroup(pam_handle_t *pamh, const struct state *st)
{
	for (size_t i = 0; st && i < st->nleave; i++) {
		int fd = open(st->leave[i], O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || move_self(fd) < 0)
			pam_syslog(pamh, LOG_WARNING, "cannot step out of the user's cgroup (%s): %m", st->leave[i]);
		if (fd >= 0)
			close(fd);
	}
}

/* Join what OPEN sent: the user's cgroup files, then the network
 * namespace. On failure everything joined is left again. */
static int join(pam_handle_t *pamh, const struct user *u, const struct js_rootop_rep *rep, const int *fds)
{
	struct state *st = get_state(pamh);
	if (!st) {
		pam_syslog(pamh, LOG_ERR, "user %s: out of memory", u->name);
		return -1;
	}
	st->nleave = rep->ncg;
	memcpy(st->leave, rep->leave, sizeof st->leave);
	for (size_t i = 0; i < rep->ncg; i++) {
		if (move_self(fds[i]) < 0) {
			pam_syslog(pamh, LOG_ERR, "user %s: cannot join the user's cgroup: %m", u->name);
			leave_cgroup(pamh, st);
			return -1;
		}
	}
	if ((rep->flags & JS_ROOTOP_NETNS) && setns(fds[rep->ncg], CLONE_NEWNET) < 0) {
		pam_syslog(pamh, LOG_ERR, "user %s: cannot join the container's network namespace: %m", u->name);
		leave_cgroup(pamh, st);
		return -1;
	}
	return 0;
}

/* Drop every PAM environment variable of a sandboxed user that may not
 * reach the host side (js_hostenv_keep), then make sure none is left.
 * Returns 0, or -1 when something could not be removed. */
static int scrub_env(pam_handle_t *pamh, const char *user)
{
	char dropped[256] = "";
	size_t dl = 0;
	int r = 0;
	for (int pass = 0; pass < 2; pass++) {
		char **list = pam_getenvlist(pamh);
		if (!list) {
			pam_syslog(pamh, LOG_ERR, "user %s: cannot read the PAM environment", user);
			return -1;
		}
		for (char **e = list; *e; e++) {
			if (!js_hostenv_keep(*e)) {
				char *eq = strchr(*e, '=');
				if (eq)
					*eq = '\0';
				if (pass == 1 || pam_putenv(pamh, *e) != PAM_SUCCESS) {
					r = -1;
					pam_syslog(pamh, LOG_ERR,
						   "user %s: cannot remove \"%.64s\" from the PAM environment", user,
						   *e);
				} else if (dl + strlen(*e) + 3 < sizeof dropped) {
					dl += (size_t)snprintf(dropped + dl, sizeof dropped - dl, "%s%s",
							       dl ? ", " : "", *e);
				}
			}
			memset(*e, 0, strlen(*e));
			free(*e);
		}
		free(list);
		if (r < 0)
			return r;
	}
	if (dl)
		pam_syslog(pamh, LOG_NOTICE, "user %s: not passed to programs sshd runs on the host: %s", user,
			   dropped);
	return 0;
}

PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct args a;
	if (parse_args(pamh, argc, argv, &a) < 0)
		return PAM_SESSION_ERR;
	struct user u;
	if (get_user(pamh, &u) < 0)
		return PAM_SESSION_ERR;
	if (u.uid == 0) {
		if (a.debug)
			pam_syslog(pamh, LOG_DEBUG, "root is never sandboxed");
		return PAM_IGNORE;
	}
	/* The account phase of this same login asked the helper a moment ago
	 * and it said exempt: no second helper for the session (an exempt
	 * login then costs one exec, in the account phase). */
	const struct state *st = get_state(pamh);
	if (st && st->kind == KIND_EXEMPT) {
		if (a.debug)
			pam_syslog(pamh, LOG_DEBUG, "user %s is exempt (sandbox = no, as the account phase found)",
				   u.name);
		return PAM_IGNORE;
	}
	struct js_rootop_rep rep;
	int fds[JS_ROOTOP_CG_MAX + 1];
	size_t nfds = 0;
	if (ask_root(pamh, JS_ROOTOP_OPEN, &u, &rep, fds, &nfds) < 0) {
		set_kind(pamh, KIND_SANDBOXED);
		scrub_env(pamh, u.name);
		pam_error(pamh, "jsandbox: your container could not be started. For help, contact your administrator.");
		return PAM_SESSION_ERR;
	}
	if (rep.status == JS_ROOTOP_EXEMPT) {
		set_kind(pamh, KIND_EXEMPT);
		if (a.debug)
			pam_syslog(pamh, LOG_DEBUG, "user %s is exempt (sandbox = no)", u.name);
		return PAM_IGNORE;
	}
	/* Sandboxed, or unsure: the PAM environment goes either way. */
	set_kind(pamh, KIND_SANDBOXED);
	int r = scrub_env(pamh, u.name);
	if (rep.status == JS_ROOTOP_OK && r == 0)
		r = join(pamh, &u, &rep, fds);
	close_fds(fds, nfds);
	/* A refusal's line comes from jsandbox-root: what failed and whom to
	 * contact (the policy's help_contact); the reason is in syslog. */
	if (rep.status == JS_ROOTOP_BADREQ) {
		pam_error(pamh, "jsandbox: your container could not be started. For help, contact your administrator.");
		return PAM_SESSION_ERR;
	}
	if (rep.status != JS_ROOTOP_OK) {
		pam_error(pamh, "jsandbox: %s", rep.msg);
		return PAM_SESSION_ERR;
	}
	if (r < 0) {
		pam_error(pamh, "jsandbox: your session could not be prepared. For help, contact your administrator.");
		return PAM_SESSION_ERR;
	}
	if (a.debug)
		pam_syslog(pamh, LOG_DEBUG, "user %s: session %d in %s container", u.name, (int)getpid(),
			   (rep.flags & JS_ROOTOP_CREATED) ? "a new" : "the running");
	return PAM_SUCCESS;
}

/* The account phase: the one check that cannot wait for the session. When
 * pam_open_session fails, OpenSSH does not drop the connection; it
 * restricts it and still runs the ForceCommand through the login shell —
 * and bash reads ~/.bashrc on the host for that. A sandboxed user whose
 * login shell would do so is refused here, where a failure ends the login;
 * so is every user but root when the helper cannot say.
 *
 *   account required pam_jsandbox.so */
PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct args a;
	if (parse_args(pamh, argc, argv, &a) < 0)
		return PAM_AUTH_ERR;
	struct user u;
	if (get_user(pamh, &u) < 0)
		return PAM_USER_UNKNOWN;
	if (u.uid == 0)
		return PAM_IGNORE;
	/* A login shell that is jsandbox-shell itself, a root-owned file only
	 * root writes, passes whatever the policy says: it runs no user file
	 * on the host, sandboxed or not. Then the helper need not run here
	 * (one exec less per login); the session asks it. Its directory is
	 * the one jsandbox-root is executed from, which the module trusts
	 * anyway. The user counts as sandboxed until the session says
	 * otherwise: setcred before the session strips the PAM environment. */
	struct stat st;
	if (u.our_shell && stat(JSANDBOX_SHELL, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0 &&
	    !(st.st_mode & (022 | S_ISUID | S_ISGID))) {
		set_kind(pamh, KIND_SANDBOXED);
		return PAM_SUCCESS;
	}
	struct js_rootop_rep rep;
	int fds[JS_ROOTOP_CG_MAX + 1];
	size_t nfds = 0;
	if (ask_root(pamh, JS_ROOTOP_ACCT, &u, &rep, fds, &nfds) < 0 || rep.status == JS_ROOTOP_BADREQ) {
		close_fds(fds, nfds);
		pam_error(pamh, "jsandbox: your account could not be checked. For help, contact your administrator.");
		return PAM_PERM_DENIED;
	}
	close_fds(fds, nfds);
	if (rep.status == JS_ROOTOP_EXEMPT) {
		set_kind(pamh, KIND_EXEMPT);
		return PAM_IGNORE;
	}
	set_kind(pamh, KIND_SANDBOXED);
	if (rep.status == JS_ROOTOP_UNUSABLE)
		return PAM_IGNORE; /* refused by the session, with a message */
	if (rep.status == JS_ROOTOP_REFUSED) {
		pam_error(pamh, "jsandbox: %s", rep.msg);
		return PAM_PERM_DENIED;
	}
	return PAM_SUCCESS;
}

/* The auth line exists for setcred only: it authenticates nobody. */
PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return PAM_IGNORE;
}

/* OpenSSH calls pam_setcred in the session's child, as root, after the
 * session stack ran in the monitor and before it builds the environment
 * for xauth, /etc/ssh/sshrc and the login shell (platform.c,
 * platform_setusercontext_post_groups). Whatever pam_env put there from
 * the user's files, wherever its line is, goes here. The mark that account
 * or the session set says whether the user is sandboxed; without one the
 * helper says, and a helper that cannot counts as sandboxed: removing
 * variables never lets anyone in. */
PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct args a;
	if (parse_args(pamh, argc, argv, &a) < 0)
		return PAM_CRED_ERR;
	struct user u;
	if (get_user(pamh, &u) < 0)
		return PAM_USER_UNKNOWN;
	if (u.uid == 0)
		return PAM_IGNORE;
	const struct state *st = get_state(pamh);
	if (st && st->kind == KIND_EXEMPT)
		return PAM_IGNORE;
	if (!st) {
		struct js_rootop_rep rep;
		int fds[JS_ROOTOP_CG_MAX + 1];
		size_t nfds = 0;
		int r = ask_root(pamh, JS_ROOTOP_ACCT, &u, &rep, fds, &nfds);
		close_fds(fds, nfds);
		if (r == 0 && rep.status == JS_ROOTOP_EXEMPT)
			return PAM_IGNORE;
	}
	return scrub_env(pamh, u.name) < 0 ? PAM_CRED_ERR : PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct args a;
	if (parse_args(pamh, argc, argv, &a) < 0)
		return PAM_SESSION_ERR;
	struct user u;
	if (get_user(pamh, &u) < 0 || u.uid == 0)
		return PAM_IGNORE;
	const struct state *st = get_state(pamh);
	if (st && st->kind == KIND_EXEMPT)
		return PAM_IGNORE;
	/* Out of the user's cgroup before anything starts: the user may have
	 * used up its pids.max, and the helper is this process's child. */
	leave_cgroup(pamh, st);
	struct js_rootop_rep rep;
	int fds[JS_ROOTOP_CG_MAX + 1];
	size_t nfds = 0;
	int r = ask_root(pamh, JS_ROOTOP_CLOSE, &u, &rep, fds, &nfds);
	close_fds(fds, nfds);
	if (r < 0 || rep.status == JS_ROOTOP_REFUSED || rep.status == JS_ROOTOP_BADREQ)
		return PAM_SESSION_ERR; /* logged by the helper, or above */
	if (a.debug)
		pam_syslog(pamh, LOG_DEBUG, "user %s: session %d closed", u.name, (int)getpid());
	return PAM_SUCCESS;
}
