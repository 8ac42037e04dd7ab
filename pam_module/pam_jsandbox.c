/* SPDX-License-Identifier: MIT */
/* pam_jsandbox: the only privileged part of jsandbox.
 *
 *   session required pam_jsandbox.so [debug]
 *
 * open_session: load the policy; for a sandboxed user make sure the user's
 * container runs (making it if needed), move this session's process into
 * the user's cgroup and register the session with the container init.
 * close_session: unregister; the last session of a non-lingering container
 * tears it down. Refuses the session (fail closed) whenever a sandboxed user
 * cannot be put in their container. root and `sandbox = no` users pass.
 *
 * Runs inside sshd's privileged monitor: never exit(), never abort, log once
 * at this boundary with pam_syslog. */
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "container.h"
#include "policy.h"
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

/* Load the user's policy. Returns 1 sandboxed, 0 exempt, -1 refused. */
static int load_policy(pam_handle_t *pamh, const struct js_user *u, struct js_config **confp, struct js_policy *pol)
{
	struct js_problems pr = {0};
	int r = js_config_load(JSANDBOX_CONFIG, confp, &pr);
	if (r < 0 || !*confp) {
		pam_syslog(pamh, LOG_ERR, "user %s refused: %s", u->name,
			   pr.n ? pr.p[0].msg : JSANDBOX_CONFIG ": cannot load");
		js_problems_free(&pr);
		return -1;
	}
	js_problems_free(&pr);
	char why[512];
	if (js_config_resolve_user(*confp, u->name, pol, why, sizeof why) < 0) {
		pam_syslog(pamh, LOG_ERR, "user %s refused: %s", u->name, why);
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
	int s = load_policy(pamh, &u, &conf, &pol);
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

	struct js_err err = {0};
	int r = js_check_login_shell(u.shell, &err);
	if (r == 0) {
		bool created = false;
		r = js_session_open(js_config_global(conf), &pol, &u, getpid(), &created, &err);
		if (r == 0 && a.debug)
			pam_syslog(pamh, LOG_DEBUG, "user %s: session %d in %s container", u.name, (int)getpid(),
				   created ? "a new" : "the running");
		if (r == 0 && created)
			pam_syslog(pamh, LOG_INFO, "user %s: container started (image %s)", u.name, pol.image);
	}
	js_config_free(conf);
	if (r < 0) {
		pam_syslog(pamh, LOG_ERR, "user %s refused: %s", u.name, err.msg);
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
	int s = load_policy(pamh, &u, &conf, &pol);
	js_config_free(conf);
	if (s <= 0)
		return PAM_IGNORE; /* exempt, or refused later by the session with a message */
	struct js_err err = {0};
	if (js_check_login_shell(u.shell, &err) < 0) {
		pam_syslog(pamh, LOG_ERR, "user %s refused: %s", u.name, err.msg);
		pam_error(pamh,
			  "jsandbox: your account is not set up for the sandbox; your administrator has been told");
		return PAM_PERM_DENIED;
	}
	return PAM_SUCCESS;
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
	struct js_err err = {0};
	int r = js_session_close(js_config_global(conf), &u, getpid(), &err);
	js_config_free(conf);
	if (r < 0) {
		pam_syslog(pamh, LOG_WARNING, "user %s: closing session: %s", u.name, err.msg);
		return PAM_SESSION_ERR;
	}
	if (a.debug)
		pam_syslog(pamh, LOG_DEBUG, "user %s: session %d closed", u.name, (int)getpid());
	return PAM_SUCCESS;
}
