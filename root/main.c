/* SPDX-License-Identifier: MIT */
/* jsandbox-root: the privileged work of a login, out of sshd's process.
 *
 * pam_jsandbox executes JSANDBOX_LIBEXECDIR/jsandbox-root for each step that
 * needs the policy or touches a container (rootop.h): an empty environment,
 * no arguments, /dev/null on 0-2 and one socket at JS_ROOTOP_FD. It answers
 * one request and exits. What runs here (the policy with iniparser, the
 * container's creation, cgroups, device programs, session records, the
 * teardown) is never mapped into sshd's monitor, which holds the host keys.
 *
 * Everything in the request is checked as hostile input, like bubblewrap's
 * privileged_op() and pam_namespace's helper do: the exact size, magic,
 * version and op; the pid must be this process's parent (the process that
 * made the socket, by SO_PEERCRED, too), running as root; the user is looked
 * up here with NSS and must have the uid the request says. Precise reasons
 * go to syslog (authpriv) from here; the reply carries one line for the
 * user. */
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <syslog.h>

#include "container.h"
#include "fdpass.h"
#include "policy.h"
#include "proto.h"
#include "rootop.h"
#include "safefs.h"
#include "userinfo.h"

_Static_assert(JS_ROOTOP_NAME_MAX == JS_USER_NAME_MAX, "user name sizes differ");
_Static_assert(JS_ROOTOP_CG_MAX == JS_CGROUP_MAX_HIER, "hierarchy counts differ");
_Static_assert(JS_ROOTOP_PATH_MAX == JS_CGROUP_LEAVE_MAX, "cgroup path sizes differ");
_Static_assert(sizeof((struct js_rootop_rep *)0)->msg == JS_ERR_MAX, "message sizes differ");
_Static_assert(JS_ROOTOP_CG_MAX + 1 <= JS_FDPASS_MAX, "fd passing too small for OPEN's answer");

extern char **environ;

static int reply(int sock, struct js_rootop_rep *rep, const int *fds, size_t nfds)
{
	rep->magic = JS_ROOTOP_MAGIC;
	rep->version = JS_ROOTOP_VERSION;
	rep->msg[sizeof rep->msg - 1] = '\0';
	return js_send_msg(sock, rep, sizeof *rep, fds, nfds);
}

/* A request that is not one: logged, answered with BADREQ (the module
 * refuses the session), exit status 2. */
static int bad_request(int sock, struct js_rootop_rep *rep, const char *why)
{
	syslog(LOG_ERR, "refused a request: %s", why);
	rep->status = JS_ROOTOP_BADREQ;
	snprintf(rep->msg, sizeof rep->msg, "internal error (request refused)");
	reply(sock, rep, NULL, 0);
	return 2;
}

/* Is pid running as root (real, effective and saved uid)? */
static bool pid_is_root(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof line, f)) {
		unsigned r, e, s;
		if (sscanf(line, "Uid: %u %u %u", &r, &e, &s) == 3)
			return r == 0 && e == 0 && s == 0;
	}
	return false;
}

/* The request's shape and its caller. Returns NULL or why not. */
static const char *check_request(int sock, const struct js_rootop_req *q, long n, pid_t parent)
{
	if (n != (long)sizeof *q)
		return "wrong size";
	if (q->magic != JS_ROOTOP_MAGIC || q->version != JS_ROOTOP_VERSION)
		return "wrong magic or version";
	if (q->op != JS_ROOTOP_ACCT && q->op != JS_ROOTOP_OPEN && q->op != JS_ROOTOP_CLOSE)
		return "unknown op";
	if (!memchr(q->user, '\0', sizeof q->user))
		return "user name not terminated";
	if (q->pid <= 1 || q->pid != parent)
		return "the pid is not the helper's parent";
	struct ucred cr;
	socklen_t cl = sizeof cr;
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0 || cr.pid != parent || cr.uid != 0)
		return "the socket is not the parent's";
	if (!pid_is_root(parent))
		return "the parent is not root";
	return NULL;
}

/* The policy for u: 1 sandboxed, 0 exempt, -1 unusable (why in err). */
/* The one machine-readable line per lifecycle event (docs/config.md,
 * "Logs"): "event=NAME user=USER" and the caller's key=value fields, next
 * to the sentences the admin reads. */
__attribute__((format(printf, 4, 5))) static void log_event(int prio, const char *event, const char *user,
							    const char *fmt, ...)
{
	char fields[1536];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(fields, sizeof fields, fmt, ap);
	va_end(ap);
	syslog(prio, "event=%s user=%s %s", event, user, fields);
}

static void log_refused(const char *user, const char *phase, const char *why)
{
	char q[600];
	log_event(LOG_ERR, "login-refused", user, "phase=%s reason=%s", phase, js_kv_quote(why, q, sizeof q));
}

/* A new container, with the limits and devices it got: the policy's
 * values and the GPUs it was granted on this host (gpus_granted). */
static void log_started(const struct js_user *u, const struct js_policy *pol, pid_t session_pid,
			const char *gpus_granted)
{
	static const enum js_key keys[] = {JS_KEY_IMAGE,    JS_KEY_GPUS,    JS_KEY_DEVICES,  JS_KEY_MEMORY_MAX,
					   JS_KEY_PIDS_MAX, JS_KEY_CPU_MAX, JS_KEY_TMP_SIZE, JS_KEY_NETWORK};
	char fields[1400] = "";
	size_t o = 0;
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		char v[512], q[600];
		if (js_policy_format(pol, keys[i], v, sizeof v) < 0)
			memcpy(v, "?", 2);
		int w = snprintf(fields + o, sizeof fields - o, " %s=%s", js_key_name(keys[i]),
				 js_kv_quote(v, q, sizeof q));
		if (w < 0 || (size_t)w >= sizeof fields - o)
			break;
		o += (size_t)w;
	}
	char gq[200];
	log_event(LOG_INFO, "container-start", u->name,
		  "uid=%u session_pid=%d version=%s protocol=%u%s gpus_granted=%s", u->uid, (int)session_pid,
		  JSANDBOX_VERSION, JS_PROTO_VERSION, fields,
		  js_kv_quote(gpus_granted[0] ? gpus_granted : "?", gq, sizeof gq));
}

/* Whether the user's runtime directory is gone: the container ended. */
static bool runtime_gone(const struct js_global *g, uid_t uid)
{
	char name[16];
	snprintf(name, sizeof name, "%u", (unsigned)uid);
	int rd = js_open_trusted_dir(g->run_dir, false, NULL);
	if (rd == -ENOENT)
		return true;
	if (rd < 0)
		return false;
	struct stat st;
	bool gone = fstatat(rd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
	close(rd);
	return gone;
}

/* Whom a refused user is told to contact: the policy's help_contact once a
 * configuration is loaded (checked printable ASCII by conf/), else the
 * default. */
static char contact[JS_HELP_CONTACT_MAX] = JS_HELP_CONTACT_DEFAULT;

/* The line the user sees for a refusal (the module prints it after
 * "jsandbox: "): what failed, in their terms, and whom to contact. The
 * precise reason goes to syslog only: it names files and settings that
 * are the admin's to fix. */
static void user_line(struct js_rootop_rep *rep, int op, int status, const struct js_err *err)
{
	/* A container started by a jsandbox this one cannot speak to
	 * (root/container.c, refuse_incompatible): what to do about it is the
	 * user's own business (log out everywhere), so they get it whole. */
	if (status == JS_ROOTOP_REFUSED && op == JS_ROOTOP_OPEN && err->code == -EPROTONOSUPPORT) {
		snprintf(rep->msg, sizeof rep->msg, "cannot start your container: %.260s. For help, contact %s.",
			 err->msg, contact);
		return;
	}
	const char *what = status == JS_ROOTOP_UNUSABLE ? "the sandbox configuration is unusable for you"
			   : op == JS_ROOTOP_ACCT	? "your account is not set up for the sandbox"
							: "your container could not be started";
	snprintf(rep->msg, sizeof rep->msg, "%s. For help, contact %s.", what, contact);
}

static int load_policy(const struct js_user *u, struct js_config **conf, struct js_policy *pol, struct js_err *err)
{
	struct js_problems pr = {0};
	int r = js_config_load(JSANDBOX_CONFIG, conf, &pr);
	if (r < 0 || !*conf) {
		js_fail(err, EINVAL, "%s", pr.n ? pr.p[0].msg : JSANDBOX_CONFIG ": cannot load");
		js_problems_free(&pr);
		return -1;
	}
	js_problems_free(&pr);
	memcpy(contact, js_config_global(*conf)->help_contact, sizeof contact);
	if (js_config_resolve_user(*conf, u->name, pol, err->msg, sizeof err->msg) < 0)
		return -1;
	return pol->sandbox ? 1 : 0;
}

static int do_acct(const struct js_user *u, struct js_rootop_rep *rep, struct js_err *err)
{
	struct js_config *conf = NULL;
	struct js_policy pol;
	int s = load_policy(u, &conf, &pol, err);
	js_config_free(conf);
	if (s < 0)
		return JS_ROOTOP_UNUSABLE;
	if (s == 0)
		return JS_ROOTOP_EXEMPT;
	return js_check_login_shell(u->shell, err) < 0 ? JS_ROOTOP_REFUSED : JS_ROOTOP_OK;
}

static int do_open(const struct js_user *u, pid_t parent, struct js_rootop_rep *rep, struct js_session_join *join,
		   struct js_err *err)
{
	struct js_config *conf = NULL;
	struct js_policy pol;
	int s = load_policy(u, &conf, &pol, err);
	if (s <= 0) {
		js_config_free(conf);
		return s < 0 ? JS_ROOTOP_UNUSABLE : JS_ROOTOP_EXEMPT;
	}
	bool created = false;
	int r = js_check_login_shell(u->shell, err);
	if (r == 0)
		r = js_session_open(js_config_global(conf), &pol, u, parent, &created, join, err);
	js_config_free(conf);
	if (r < 0)
		return JS_ROOTOP_REFUSED;
	if (created) {
		rep->flags |= JS_ROOTOP_CREATED;
		syslog(LOG_INFO, "user %s: container started (image %s)", u->name, pol.image);
		log_started(u, &pol, parent, join->gpus);
	}
	rep->ncg = (uint32_t)join->ncg;
	for (size_t i = 0; i < join->ncg; i++)
		memcpy(rep->leave[i], join->leave[i], sizeof rep->leave[i]);
	if (join->netns_fd >= 0)
		rep->flags |= JS_ROOTOP_NETNS;
	return JS_ROOTOP_OK;
}

static int do_close(const struct js_user *u, pid_t parent, struct js_err *err)
{
	struct js_config *conf = NULL;
	struct js_problems pr = {0};
	js_config_load(JSANDBOX_CONFIG, &conf, &pr);
	js_problems_free(&pr);
	if (!conf)
		return JS_ROOTOP_OK; /* the container ends by itself when its sessions are gone */
	/* linger comes from the policy now, never from the container: when
	 * the policy cannot be resolved the user's work does not linger. */
	struct js_policy pol;
	char why[JS_ERR_MAX];
	bool resolved = js_config_resolve_user(conf, u->name, &pol, why, sizeof why) == 0;
	if (resolved && !pol.sandbox) {
		js_config_free(conf);
		return JS_ROOTOP_EXEMPT;
	}
	bool linger = resolved && pol.linger, ended = false;
	int r = js_session_close(js_config_global(conf), u, parent, linger, &ended, err);
	/* The last session of a container that does not linger ended it
	 * (js_session_close kills it before it returns): say so once. */
	if (r == 0 && ended && runtime_gone(js_config_global(conf), u->uid))
		log_event(LOG_INFO, "container-stop", u->name, "uid=%u reason=last-logout session_pid=%d", u->uid,
			  (int)parent);
	js_config_free(conf);
	return r < 0 ? JS_ROOTOP_REFUSED : JS_ROOTOP_OK;
}

int main(int argc, char **argv)
{
	openlog(JS_ROOTOP_NAME, LOG_PID, LOG_AUTHPRIV);
	/* Only ever started by the module: no arguments, no environment, the
	 * socket at its fd. Anything else is not that start. */
	if (argc != 1 || environ[0] || getuid() != 0 || geteuid() != 0) {
		syslog(LOG_ERR, "started wrongly (arguments, environment or not root); only pam_jsandbox runs it");
		return 2;
	}
	umask(022);
	if (chdir("/") < 0) {
		syslog(LOG_ERR, "chdir /: %m");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	int sock = JS_ROOTOP_FD, type = 0;
	socklen_t tl = sizeof type;
	if (getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_SEQPACKET) {
		syslog(LOG_ERR, "started without its socket at fd %d", JS_ROOTOP_FD);
		return 2;
	}
	/* Nothing but 0-2 and the socket, whatever the starter left open. */
	js_close_fds_from(JS_ROOTOP_FD + 1, NULL, 0);
	struct timeval tv = {.tv_sec = JS_ROOTOP_TIMEOUT_MS / 1000};
	if (setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
		syslog(LOG_WARNING, "cannot bound the wait for a request: %m");

	/* One more byte than a request: a longer message shows as too long
	 * instead of being cut to size. */
	union {
		struct js_rootop_req q;
		char raw[sizeof(struct js_rootop_req) + 1];
	} in;
	memset(&in, 0, sizeof in);
	size_t nfds = 0;
	long n = js_recv_msg(sock, &in, sizeof in, NULL, &nfds);
	pid_t parent = getppid();
	struct js_rootop_rep rep;
	memset(&rep, 0, sizeof rep);
	rep.op = in.q.op;
	const char *bad = n < 0 ? "cannot read the request" : check_request(sock, &in.q, n, parent);
	if (bad)
		return bad_request(sock, &rep, bad);
	/* A pidfd of the parent, then the parent checked again: from here on
	 * the pid cannot be another process's. */
	_cleanup_close_ int ppidfd = (int)syscall(SYS_pidfd_open, parent, 0);
	if (ppidfd < 0 || getppid() != parent)
		return bad_request(sock, &rep, "the parent went away");

	struct js_err err = {0};
	struct js_user u;
	if (js_check_name("user name", in.q.user, JS_USER_NAME_MAX - 1, &err) < 0)
		return bad_request(sock, &rep, err.msg);
	if (js_user_by_name(in.q.user, &u, &err) < 0)
		return bad_request(sock, &rep, err.msg);
	if (u.uid != in.q.uid)
		return bad_request(sock, &rep, "the uid does not match the user's");
	if (u.uid == 0) {
		rep.status = JS_ROOTOP_EXEMPT; /* root is never sandboxed */
		return reply(sock, &rep, NULL, 0) < 0;
	}

	struct js_session_join join = {.netns_fd = -1};
	switch (in.q.op) {
	case JS_ROOTOP_ACCT:
		rep.status = do_acct(&u, &rep, &err);
		break;
	case JS_ROOTOP_OPEN:
		rep.status = do_open(&u, parent, &rep, &join, &err);
		break;
	default:
		rep.status = do_close(&u, parent, &err);
		break;
	}
	if (in.q.op == JS_ROOTOP_CLOSE && rep.status == JS_ROOTOP_REFUSED) {
		syslog(LOG_WARNING, "user %s: closing session: %s", u.name, err.msg);
		memcpy(rep.msg, err.msg, sizeof rep.msg);
	} else if (rep.status == JS_ROOTOP_REFUSED || rep.status == JS_ROOTOP_UNUSABLE) {
		syslog(LOG_ERR, "user %s refused: %s", u.name, err.msg);
		log_refused(u.name, in.q.op == JS_ROOTOP_ACCT ? "account" : "session", err.msg);
		user_line(&rep, in.q.op, rep.status, &err);
	}
	int fds[JS_ROOTOP_CG_MAX + 1];
	size_t nf = 0;
	for (size_t i = 0; i < join.ncg; i++)
		fds[nf++] = join.cg_fd[i];
	if (join.netns_fd >= 0)
		fds[nf++] = join.netns_fd;
	int r = reply(sock, &rep, fds, nf);
	js_session_join_close(&join);
	if (r < 0)
		syslog(LOG_ERR, "user %s: cannot answer the module: %s", u.name, strerror(-r));
	return r < 0 ? 1 : 0;
}
