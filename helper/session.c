/* SPDX-License-Identifier: MIT */
/* jsandbox-session, started by jsandbox-shell (shell.c), the ForceCommand
 * and a sandboxed user's login shell.
 * Never setuid. Runs as the user, joins the user's running container and
 * runs the shell, the command or the sftp server inside it.
 *
 * sshd runs it as `<login shell> -c <ForceCommand>`; since it is also the
 * login shell, that is `jsandbox-shell -c .../jsandbox-shell`, and the real
 * command is SSH_ORIGINAL_COMMAND (unset for an interactive login). Run any
 * other way (`su - alice`, a console login) it behaves as a shell would:
 * `-c CMD` runs CMD, no arguments gives a login shell, always inside.
 *
 * root and users whose policy says `sandbox = no` get their host shell the
 * same way, so admins can always log in to fix things. Everyone else gets
 * the container or one line saying why not: never a host shell. */
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <termios.h>

#include "agent.h"
#include "harden.h"
#include "policy.h"
#include "proto.h"
#include "pty.h"
#include "safefs.h"
#include "state.h"
#include "userinfo.h"

#define SFTP_SERVER  "/usr/lib/openssh/sftp-server"
#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games"

/* Whom the user is told to contact: the policy's help_contact once the
 * configuration is loaded (printable ASCII, checked by conf/). */
static char contact[JS_HELP_CONTACT_MAX] = JS_HELP_CONTACT_DEFAULT;

/* A refusal: the precise reason to syslog, one line to the user saying what
 * failed and whom to contact (the admin reads the reason in the log). */
static void deny(const char *user_line, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
static void deny(const char *user_line, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	syslog(LOG_ERR, "%s", buf);
	fprintf(stderr, "jsandbox: %s. For help, contact %s.\n", user_line, contact);
	exit(1);
}

/* The banner of an interactive login (policy banner = yes), on stderr, the
 * terminal: the limits and GPUs of the user's policy, that sudo is theirs
 * alone, whom to ask. Everything in it comes from the root-owned policy
 * file and the host, nothing from the container. */
static void print_banner(const struct js_policy *pol)
{
	char host[256] = "this host", mem[64], pids[64], gpus[256];
	if (gethostname(host, sizeof host - 1) < 0)
		snprintf(host, sizeof host, "this host");
	for (char *c = host; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
			*c = '?';
	if (js_policy_format(pol, JS_KEY_MEMORY_MAX, mem, sizeof mem) < 0)
		snprintf(mem, sizeof mem, "?");
	if (js_policy_format(pol, JS_KEY_PIDS_MAX, pids, sizeof pids) < 0)
		snprintf(pids, sizeof pids, "?");
	if (js_policy_format(pol, JS_KEY_GPUS, gpus, sizeof gpus) < 0)
		snprintf(gpus, sizeof gpus, "?");
	fprintf(stderr,
		"jsandbox: you are in your own container on %s.\n"
		"  memory %s%s, processes %s, GPUs %s\n"
		"  sudo is root in this container only: what you install stays yours.\n"
		"  Help: %s\n",
		host, !strcmp(mem, "max") ? "unlimited" : mem, pol->memory_max.percent ? " of the host's" : "",
		!strcmp(pids, "max") ? "unlimited" : pids, gpus, contact);
}

/* Environment variables passed into the session, all else is dropped. */
static const char *const env_keep[] = {
    "TERM",	  "LANG",    "LANGUAGE",    "LC_ALL", "LC_CTYPE",   "LC_COLLATE",     "LC_MESSAGES",
    "LC_NUMERIC", "LC_TIME", "LC_MONETARY", "TZ",     "SSH_CLIENT", "SSH_CONNECTION", "SSH_ORIGINAL_COMMAND",
    "COLORTERM",  "DISPLAY", NULL};

/* Values come from the ssh client (SendEnv): bounded, and no control
 * characters (terminal escapes in TERM, newlines that split a line a
 * program writes out). */
static bool env_value_ok(const char *v)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++, n++)
		if (*p < 0x20 || *p == 0x7f || n >= 4096)
			return false;
	return true;
}

struct env {
	size_t n;
	char *v[64];
};

static void env_add(struct env *e, const char *k, const char *val)
{
	if (!val || e->n + 1 >= JS_ARRAY_SIZE(e->v) || !env_value_ok(val))
		return;
	size_t l = strlen(k) + strlen(val) + 2;
	char *s = malloc(l);
	if (!s)
		return;
	snprintf(s, l, "%s=%s", k, val);
	e->v[e->n++] = s;
	e->v[e->n] = NULL;
}

/* Is cmd our own path (the ForceCommand)? */
static bool is_self(const char *cmd)
{
	size_t l = strlen(cmd);
	while (l > 0 && (cmd[l - 1] == ' ' || cmd[l - 1] == '\t'))
		l--;
	if (l == 0 || memchr(cmd, ' ', l))
		return false;
	const char *base = memrchr(cmd, '/', l);
	base = base ? base + 1 : cmd;
	return (size_t)(cmd + l - base) == strlen("jsandbox-shell") && !strncmp(base, "jsandbox-shell", 14);
}

/* sftp: the subsystem command line is the host's; in the container it is
 * the image's sftp-server. internal-sftp is sshd's own and exists only in
 * sshd, so it becomes the sftp-server too. */
static char *map_subsystem(const char *cmd)
{
	static const char *names[] = {"internal-sftp", SFTP_SERVER, "/usr/libexec/openssh/sftp-server",
				      "/usr/libexec/sftp-server"};
	for (size_t i = 0; i < JS_ARRAY_SIZE(names); i++) {
		size_t l = strlen(names[i]);
		if (!strncmp(cmd, names[i], l) && (cmd[l] == '\0' || cmd[l] == ' ')) {
			size_t n = strlen(SFTP_SERVER) + strlen(cmd + l) + 8;
			char *s = malloc(n);
			if (s)
				snprintf(s, n, "exec %s%s", SFTP_SERVER, cmd + l);
			return s;
		}
	}
	return NULL;
}

static void exec_host_shell(const struct js_user *u, const char *cmd) __attribute__((noreturn));
static void exec_host_shell(const struct js_user *u, const char *cmd)
{
	const char *shell = u->shell;
	const char *base = strrchr(shell, '/');
	if (!shell[0] || (base && !strcmp(base + 1, "jsandbox-shell")))
		shell = "/bin/sh";
	base = strrchr(shell, '/');
	base = base ? base + 1 : shell;
	_cleanup_free_ char *sub = cmd ? map_subsystem(cmd) : NULL;
	if (cmd) {
		execl(shell, base, "-c", sub ? sub : cmd, (char *)NULL);
	} else {
		char argv0[PATH_MAX + 2];
		snprintf(argv0, sizeof argv0, "-%s", base);
		execl(shell, argv0, (char *)NULL);
	}
	deny("cannot start your shell", "user %s: exec %s: %m", u->name, shell);
}

/* Join every namespace of the container's init in one setns(pidfd). */
static int join_container(const struct js_state *st, int pidfd, struct js_err *err)
{
	/* Not the pid namespace yet: the agent relay is forked first, and it
	 * must stay outside it where nothing inside can see it. */
	int flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;
	uint64_t mynet = 0;
	if (js_ns_inode(getpid(), "net", &mynet) == 0 && mynet != st->netns)
		flags |= CLONE_NEWNET; /* network = none: its own namespace */
	if (setns(pidfd, flags) < 0)
		return js_failm(err, errno, "cannot join the container");
	return 0;
}

/* The child's wait status in *st; -errno when it cannot be waited for. */
static int wait_child(pid_t child, int *st)
{
	while (waitpid(child, st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* How long a session killed by SIGKILL waits for the container init's
 * pidfd to say the whole container went (a stop or a reset), rather than
 * the session's own process alone. */
#define CONTAINER_GONE_WAIT_MS 200

static void exit_like(int st, const char *user, int init_pidfd) __attribute__((noreturn));
static void exit_like(int st, const char *user, int init_pidfd)
{
	if (WIFEXITED(st))
		exit(WEXITSTATUS(st));
	int sig = WIFSIGNALED(st) ? WTERMSIG(st) : SIGKILL;
	struct pollfd p = {.fd = init_pidfd, .events = POLLIN};
	if (sig == SIGKILL && poll(&p, 1, CONTAINER_GONE_WAIT_MS) > 0) {
		/* The whole container went: say so rather than die silently. */
		syslog(LOG_ERR, "user %s: container ended during the session", user);
		fprintf(stderr, "\r\njsandbox: your container was stopped; log in again to get a new one\r\n");
		exit(255);
	}
	signal(sig, SIG_DFL);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(SIG_UNBLOCK, &s, NULL);
	raise(sig);
	exit(128 + sig);
}

int main(int argc, char **argv)
{
	/* Started by jsandbox-shell (shell.c), which scrubbed the
	 * loader's variables: keep its name for ps and pgrep. */
	prctl(PR_SET_NAME, "jsandbox-shell", 0, 0, 0);
	/* Nothing inherited beyond stdio reaches the container. */
	js_close_fds_from(3, NULL, 0);
	/* Once joined, this process and its child hold every capability of
	 * the user's namespace until the exec; root inside has CAP_SYS_PTRACE
	 * there. Not dumpable, only a tracer privileged over the host's
	 * namespace may attach (the exec of the session makes it dumpable). */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* Connect now, on the host: after joining the container, /dev/log is
	 * the container's (absent, or the user's own socket). */
	openlog("jsandbox-shell", LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
	umask(022);

	const char *cmd = NULL;
	bool login = argv[0] && argv[0][0] == '-';
	if (argc >= 3 && !strcmp(argv[1], "-c")) {
		cmd = argv[2];
		if (is_self(cmd))
			cmd = getenv("SSH_ORIGINAL_COMMAND");
	} else if (argc == 1 && !login) {
		/* The ForceCommand run by a login shell that execs it (an
		 * exempt user's bash -c PATH): the client's command, if any, is
		 * SSH_ORIGINAL_COMMAND. */
		cmd = getenv("SSH_ORIGINAL_COMMAND");
	} else if (argc == 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))) {
		printf("jsandbox-shell %s\n", JSANDBOX_VERSION);
		return 0;
	} else if (argc > 1 && !login) {
		fprintf(stderr, "usage: jsandbox-shell [-c COMMAND] | -V | --version\n");
		return 2;
	}

	struct js_user u;
	struct js_err err = {0};
	if (js_user_by_uid(getuid(), &u, &err) < 0)
		deny("who are you?", "uid %u: %s", (unsigned)getuid(), err.msg);
	if (u.uid == 0)
		exec_host_shell(&u, cmd); /* root is never sandboxed */

	struct js_problems pr = {0};
	struct js_config *conf = NULL;
	int r = js_config_load(JSANDBOX_CONFIG, &conf, &pr);
	if (r < 0 || !conf)
		deny("the sandbox configuration is unusable", "user %s refused: %s", u.name,
		     pr.n ? pr.p[0].msg : JSANDBOX_CONFIG ": cannot load");
	js_problems_free(&pr);
	memcpy(contact, js_config_global(conf)->help_contact, sizeof contact);
	struct js_policy pol;
	char why[512];
	if (js_config_resolve_user(conf, u.name, &pol, why, sizeof why) < 0)
		deny("the sandbox configuration is unusable for you", "user %s refused: %s", u.name, why);
	if (!pol.sandbox)
		exec_host_shell(&u, cmd);

	/* Sandboxed from here: the container the PAM module made, or nothing. */
	_cleanup_close_ int rundir = js_open_trusted_dir(js_config_global(conf)->run_dir, false, &err);
	if (rundir < 0)
		deny("your container is not running", "user %s: %s (is pam_jsandbox in the PAM session stack?)", u.name,
		     err.msg);
	char uidname[16];
	snprintf(uidname, sizeof uidname, "%u", u.uid);
	_cleanup_close_ int udir = openat(rundir, uidname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct js_state st;
	if (udir < 0 || js_state_read(udir, &st, &err) < 0 || st.uid != u.uid)
		deny("your container is not running",
		     "user %s: no runtime state under %s (is pam_jsandbox in the PAM session stack?)", u.name,
		     js_config_global(conf)->run_dir);
	_cleanup_close_ int pidfd = js_state_pidfd(&st);
	if (pidfd < 0)
		deny("your container has ended; log in again", "user %s: container init %d is gone", u.name,
		     (int)st.pid);
	/* The module refuses such a container before this runs; a session
	 * started some other way does not enter one either (root/proto.h). */
	if (js_proto_compat(st.proto) != JS_PROTO_OK)
		deny("your running container was started by another jsandbox version; log out of all your sessions",
		     "user %s: container init %d speaks protocol %u, this jsandbox-session %u-%u", u.name, (int)st.pid,
		     st.proto, JS_PROTO_MIN, JS_PROTO_VERSION);

	/* Things to take from the host side before entering. SSH_AUTH_SOCK
	 * is the user's to set as much as sshd's: the relay is started only
	 * for the socket sshd made for this connection (agent.h). */
	const char *agent_env = getenv("SSH_AUTH_SOCK");
	struct js_agent agent = {.dir = -1};
	if (agent_env && js_agent_prepare(agent_env, &agent, &err) < 0) {
		syslog(LOG_WARNING, "user %s: agent forwarding refused: SSH_AUTH_SOCK=%s: %s", u.name,
		       env_value_ok(agent_env) ? agent_env : "(unprintable)", err.msg);
		fprintf(stderr, "jsandbox: agent forwarding is off for this session: SSH_AUTH_SOCK is not "
				"this connection's agent socket\n");
	}
	_cleanup_close_ int agent_dir = agent.dir;
	bool want_pty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) && (!cmd || getenv("SSH_TTY"));

	struct env env = {0};
	for (size_t i = 0; env_keep[i]; i++)
		env_add(&env, env_keep[i], getenv(env_keep[i]));
	env_add(&env, "HOME", u.home);
	env_add(&env, "USER", u.name);
	env_add(&env, "LOGNAME", u.name);
	env_add(&env, "SHELL", pol.shell);
	env_add(&env, "PATH", DEFAULT_PATH);
	_cleanup_free_ char *sub = cmd ? map_subsystem(cmd) : NULL;

	/* Interactive logins only: a command, sftp or scp speak a protocol on
	 * these streams that one more line would break. */
	if (pol.banner && !cmd && isatty(STDIN_FILENO) && isatty(STDERR_FILENO))
		print_banner(&pol);

	if (join_container(&st, pidfd, &err) < 0)
		deny("cannot enter your container", "user %s: %s", u.name, err.msg);
	/* In the container's mount namespace now: its /run/user/UID (made by
	 * set-up, helper/rootfs.c) is the session's XDG_RUNTIME_DIR, as
	 * pam_systemd's is on a host, while it is the user's directory (root
	 * inside may have removed or replaced it). */
	char rtdir[32];
	struct stat rst;
	snprintf(rtdir, sizeof rtdir, "/run/user/%u", (unsigned)u.uid);
	if (lstat(rtdir, &rst) == 0 && S_ISDIR(rst.st_mode) && rst.st_uid == u.uid)
		env_add(&env, "XDG_RUNTIME_DIR", rtdir);

	char inside_agent[PATH_MAX];
	if (agent_dir >= 0 && js_agent_relay_start(&agent, inside_agent, sizeof inside_agent, &err) == 0)
		env_add(&env, "SSH_AUTH_SOCK", inside_agent);
	if (setns(pidfd, CLONE_NEWPID) < 0)
		deny("cannot enter your container", "user %s: join pid namespace: %m", u.name);

	int master = -1, slave = -1;
	char ptyname[64];
	if (want_pty) {
		if (js_pty_open(&master, &slave, ptyname, sizeof ptyname, &err) < 0)
			deny("cannot open a terminal in your container", "user %s: %s", u.name, err.msg);
		js_pty_copy_settings(STDIN_FILENO, slave);
		env_add(&env, "SSH_TTY", ptyname);
	}

	const char *shell = pol.shell;
	const char *base = strrchr(shell, '/');
	base = base ? base + 1 : shell;
	char argv0[PATH_MAX + 2];
	snprintf(argv0, sizeof argv0, "-%s", base);

	pid_t child = fork();
	if (child < 0)
		deny("cannot start your session", "user %s: fork: %m", u.name);
	if (child == 0) {
		/* In the container's pid namespace now. */
		if (want_pty) {
			setsid();
			if (ioctl(slave, TIOCSCTTY, 0) < 0)
				_exit(126);
			dup2(slave, 0);
			dup2(slave, 1);
			dup2(slave, 2);
			if (slave > 2)
				close(slave);
			close(master);
		}
		if (chdir(u.home) < 0 && chdir("/") < 0)
			_exit(126);
		int hr = js_harden_session(&pol, &err);
		if (hr < 0) {
			fprintf(stderr, "jsandbox: cannot secure your session\n");
			syslog(LOG_ERR, "user %s: %s", u.name, err.msg);
			_exit(126);
		}
		if (cmd)
			execle(shell, base, "-c", sub ? sub : cmd, (char *)NULL, env.v);
		else
			execle(shell, argv0, (char *)NULL, env.v);
		fprintf(stderr, "jsandbox: cannot run %s in your container: %s\n", shell, strerror(errno));
		_exit(127);
	}
	int status, wr;
	if (want_pty) {
		close(slave);
		wr = js_pty_relay(master, child, &status);
	} else {
		/* Forward termination requests; the child has our stdio. */
		signal(SIGINT, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
		wr = wait_child(child, &status);
	}
	if (wr < 0) {
		syslog(LOG_ERR, "user %s: cannot wait for the session: %s", u.name, strerror(-wr));
		exit(255);
	}
	exit_like(status, u.name, pidfd);
}
