/* SPDX-License-Identifier: MIT */
/* pam_jsandbox: the only privileged part of jsandbox.
 *
 *   auth    optional pam_jsandbox.so      (first in the auth stack)
 *   account required pam_jsandbox.so
 *   session required pam_jsandbox.so [debug]
 *
 * open_session: load the policy; for a sandboxed user make sure the user's
 * container runs (making it if needed), move this session's process into
 * the user's cgroup and register the session with the container init.
 * close_session: unregister; the last session of a non-lingering container
 * tears it down. Refuses the session (fail closed) whenever a sandboxed user
 * cannot be put in their container. root and `sandbox = no` users pass.
 * setcred (the auth line): strip a sandboxed user's PAM environment down to
 * the locale (see hostenv.h); sshd calls it in the session's child after the
 * whole session stack ran (pam_env included) and before it builds the
 * environment of xauth, sshrc and the login shell.
 *
 * Runs inside sshd's privileged monitor: never exit(), never abort, log once
 * at this boundary with pam_syslog. */
#include <fcntl.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "container.h"
#include "hostenv.h"
#include "policy.h"
#include "safefs.h"
#include "userinfo.h"

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

/* The one machine-readable line per lifecycle event (docs/config.md,
 * "Logs"): "event=NAME user=USER" and the caller's key=value fields, next
 * to the sentences the admin reads. */
__attribute__((format(printf, 5, 6))) static void log_event(pam_handle_t *pamh, int prio, const char *event,
							    const char *user, const char *fmt, ...)
{
	char fields[1536];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(fields, sizeof fields, fmt, ap);
	va_end(ap);
	pam_syslog(pamh, prio, "event=%s user=%s %s", event, user, fields);
}

static void log_refused(pam_handle_t *pamh, const char *user, const char *phase, const char *why)
{
	char q[600];
	log_event(pamh, LOG_ERR, "login-refused", user, "phase=%s reason=%s", phase, js_kv_quote(why, q, sizeof q));
}

/* Load the user's policy. Returns 1 sandboxed, 0 exempt, -1 refused. */
static int load_policy(pam_handle_t *pamh, const struct js_user *u, struct js_config **confp, struct js_policy *pol,
		       bool quiet)
{
	struct js_problems pr = {0};
	int r = js_config_load(JSANDBOX_CONFIG, confp, &pr);
	if (r < 0 || !*confp) {
		if (!quiet) {
			const char *why = pr.n ? pr.p[0].msg : JSANDBOX_CONFIG ": cannot load";
			pam_syslog(pamh, LOG_ERR, "user %s refused: %s", u->name, why);
			log_refused(pamh, u->name, "policy", why);
		}
		js_problems_free(&pr);
		return -1;
	}
	js_problems_free(&pr);
	char why[512];
	if (js_config_resolve_user(*confp, u->name, pol, why, sizeof why) < 0) {
		if (!quiet) {
			pam_syslog(pamh, LOG_ERR, "user %s refused: %s", u->name, why);
			log_refused(pamh, u->name, "policy", why);
		}
		return -1;
	}
	return pol->sandbox ? 1 : 0;
}

static int get_user(pam_handle_t *pamh, struct js_user *u)
{
	const char *name = NULL;
	if (pam_get_user(pamh, &name, NULL) != PAM_SUCCESS || !name || !*name) {
		pam_syslog(pamh, LOG_ERR, "cannot determine the user");
		return -1;
	}
	struct js_err err = {0};
	if (js_user_by_name(name, u, &err) < 0) {
		pam_syslog(pamh, LOG_ERR, "%s", err.msg);
		return -1;
	}
	return 0;
}

/* Set by open_session for a sandboxed user; sshd's children inherit it. */
#define DATA_SANDBOXED "jsandbox.sandboxed"
static int sandboxed_mark = 1;

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

/* A new container: the GPUs it was granted and the limits it got, as the
 * policy resolved them for this start. */
static void log_started(pam_handle_t *pamh, const struct js_user *u, const struct js_policy *pol)
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
	log_event(pamh, LOG_INFO, "container-start", u->name, "uid=%u session_pid=%d version=%s%s", u->uid,
		  (int)getpid(), JSANDBOX_VERSION, fields);
}

PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct args a;
	if (parse_args(pamh, argc, argv, &a) < 0)
		return PAM_SESSION_ERR;
	struct js_user u;
	if (get_user(pamh, &u) < 0)
		return PAM_SESSION_ERR;
	if (u.uid == 0) {
		if (a.debug)
			pam_syslog(pamh, LOG_DEBUG, "root is never sandboxed");
		return PAM_IGNORE;
	}
	struct js_config *conf = NULL;
	struct js_policy pol;
	int s = load_policy(pamh, &u, &conf, &pol, false);
	if (s <= 0) {
		js_config_free(conf);
		if (s < 0) {
			pam_error(pamh, "jsandbox: the sandbox configuration is unusable for you; "
					"your administrator has been told");
			return PAM_SESSION_ERR;
		}
		if (a.debug)
			pam_syslog(pamh, LOG_DEBUG, "user %s is exempt (sandbox = no)", u.name);
		return PAM_IGNORE;
	}

	pam_set_data(pamh, DATA_SANDBOXED, &sandboxed_mark, NULL);
	if (scrub_env(pamh, u.name) < 0) {
		js_config_free(conf);
		pam_error(pamh, "jsandbox: cannot prepare your session; your administrator has been told");
		return PAM_SESSION_ERR;
	}

	struct js_err err = {0};
	int r = js_check_login_shell(u.shell, &err);
	if (r == 0) {
		bool created = false;
		r = js_session_open(js_config_global(conf), &pol, &u, getpid(), &created, &err);
		if (r == 0 && a.debug)
			pam_syslog(pamh, LOG_DEBUG, "user %s: session %d in %s container", u.name, (int)getpid(),
				   created ? "a new" : "the running");
		if (r == 0 && created) {
			pam_syslog(pamh, LOG_INFO, "user %s: container started (image %s)", u.name, pol.image);
			log_started(pamh, &u, &pol);
		}
	}
	js_config_free(conf);
	if (r < 0) {
		pam_syslog(pamh, LOG_ERR, "user %s refused: %s", u.name, err.msg);
		log_refused(pamh, u.name, "session", err.msg);
		pam_error(pamh, "jsandbox: cannot start your container: %s", err.msg);
		return PAM_SESSION_ERR;
	}
	return PAM_SUCCESS;
}

/* The account phase: the one check that cannot wait for the session. When
 * pam_open_session fails, OpenSSH does not drop the connection; it
 * restricts it and still runs the ForceCommand through the login shell —
 * and bash reads ~/.bashrc on the host for that. A sandboxed user whose
 * login shell would do so is refused here, where a failure ends the login.
 *
 *   account required pam_jsandbox.so */
PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct args a;
	if (parse_args(pamh, argc, argv, &a) < 0)
		return PAM_AUTH_ERR;
	struct js_user u;
	if (get_user(pamh, &u) < 0)
		return PAM_USER_UNKNOWN;
	if (u.uid == 0)
		return PAM_IGNORE;
	struct js_config *conf = NULL;
	struct js_policy pol;
	int s = load_policy(pamh, &u, &conf, &pol, false);
	js_config_free(conf);
	if (s <= 0)
		return PAM_IGNORE; /* exempt, or refused later by the session with a message */
	struct js_err err = {0};
	if (js_check_login_shell(u.shell, &err) < 0) {
		pam_syslog(pamh, LOG_ERR, "user %s refused: %s", u.name, err.msg);
		log_refused(pamh, u.name, "account", err.msg);
		pam_error(pamh,
			  "jsandbox: your account is not set up for the sandbox; your administrator has been told");
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
 * the user's files, wherever its line is, goes here. A user the session
 * marked is sandboxed; without the mark (the monitor's own call before the
 * session) the policy says, and a policy that cannot be read counts as
 * sandboxed: removing variables never lets anyone in. */
PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct args a;
	if (parse_args(pamh, argc, argv, &a) < 0)
		return PAM_CRED_ERR;
	struct js_user u;
	if (get_user(pamh, &u) < 0)
		return PAM_USER_UNKNOWN;
	if (u.uid == 0)
		return PAM_IGNORE;
	const void *mark = NULL;
	if (pam_get_data(pamh, DATA_SANDBOXED, &mark) != PAM_SUCCESS || mark != &sandboxed_mark) {
		struct js_config *conf = NULL;
		struct js_policy pol;
		int s = load_policy(pamh, &u, &conf, &pol, true);
		js_config_free(conf);
		if (s == 0)
			return PAM_IGNORE;
	}
	return scrub_env(pamh, u.name) < 0 ? PAM_CRED_ERR : PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct args a;
	if (parse_args(pamh, argc, argv, &a) < 0)
		return PAM_SESSION_ERR;
	struct js_user u;
	if (get_user(pamh, &u) < 0 || u.uid == 0)
		return PAM_IGNORE;
	struct js_config *conf = NULL;
	struct js_problems pr = {0};
	js_config_load(JSANDBOX_CONFIG, &conf, &pr);
	js_problems_free(&pr);
	if (!conf)
		return PAM_IGNORE; /* the container ends by itself when its sessions are gone */
	/* linger comes from the policy now, never from the container: when
	 * the policy cannot be resolved the user's work does not linger. */
	struct js_policy pol;
	char why[512];
	bool linger = js_config_resolve_user(conf, u.name, &pol, why, sizeof why) == 0 && pol.linger;
	struct js_err err = {0};
	int r = js_session_close(js_config_global(conf), &u, getpid(), linger, &err);
	/* The last session of a container that does not linger ended it
	 * (js_session_close kills it before it returns): say so once. */
	bool ended = false;
	if (r == 0 && !linger) {
		/* its runtime directory goes with it */
		char name[16];
		snprintf(name, sizeof name, "%u", u.uid);
		int rd = js_open_trusted_dir(js_config_global(conf)->run_dir, false, NULL);
		struct stat st;
		ended =
		    rd == -ENOENT || (rd >= 0 && fstatat(rd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT);
		if (rd >= 0)
			close(rd);
	}
	js_config_free(conf);
	if (r < 0) {
		pam_syslog(pamh, LOG_WARNING, "user %s: closing session: %s", u.name, err.msg);
		return PAM_SESSION_ERR;
	}
	if (ended)
		log_event(pamh, LOG_INFO, "container-stop", u.name, "uid=%u reason=last-logout session_pid=%d", u.uid,
			  (int)getpid());
	if (a.debug)
		pam_syslog(pamh, LOG_DEBUG, "user %s: session %d closed", u.name, (int)getpid());
	return PAM_SUCCESS;
}
