/* SPDX-License-Identifier: MIT */
/* jsandboxctl check: host daemons that act on files a sandboxed user
 * controls. The home is shared with the container, so whatever the user
 * writes there from inside is read on the host by:
 *
 *   - systemd's per-user manager (user@UID.service, started by pam_systemd,
 *     by lingering, or by root): ~/.config/systemd/user units,
 *     ~/.config/environment.d, and the D-Bus session bus it starts with
 *     its activation files. Closed by jsandbox-user-gate, the
 *     ExecCondition of the user@.service drop-in: checked here per
 *     sandboxed user, on the instance systemd would start, so a later
 *     drop-in that resets ExecCondition= is noticed;
 *   - a mail transfer agent's local delivery: ~/.forward pipes and files,
 *     run as the user on the host. Postfix's own settings are read
 *     (postconf); any other MTA that delivers locally is reported;
 *   - cron and at: only jobs made on the host run there (inside, crontab
 *     writes the container's spool); a sandboxed user's host crontab or
 *     at job (made before they were sandboxed) is reported;
 *   - a display manager: a graphical login runs ~/.xsession* on the host
 *     and does not go through sshd's PAM stack at all.
 *
 * ~/.pam_environment is the auth line's (check_wiring.c). And, for the
 * container's scope (lib/sdscope.h): a user with linger = yes needs
 * logind's lingering too. */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "ctl.h"
#include "spawn.h"

#define SYSTEMCTL_PATH "/usr/bin/systemctl"
#define POSTCONF_PATH  "/usr/sbin/postconf"
#define GATE_PATH      JSANDBOX_LIBEXECDIR "/jsandbox-user-gate"
#define RUN_TIMEOUT_MS 10000
#define USERS_MAX      200

/* The value of "key=" in systemctl show's output, or "". */
static const char *show_value(const char *dump, const char *key, char *val, size_t vl)
{
	size_t kl = strlen(key);
	val[0] = '\0';
	for (const char *p = dump; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, kl) && p[kl] == '=') {
			size_t l = strcspn(p + kl + 1, "\n");
			if (l >= vl)
				l = vl - 1;
			memcpy(val, p + kl + 1, l);
			val[l] = '\0';
			break;
		}
	return val;
}

/* Does systemd's user@UID.service run the gate, as root, for this uid
 * before it starts? ExecConditionEx lists each command as
 * "{ path=P ; argv[]=P UID ; flags=privileged ; ... }" (systemd 252;
 * "privileged" is the "+" prefix: run as root, not as the user). */
static bool gate_in_effect(const char *exec, uid_t uid)
{
	char want[PATH_MAX + 64];
	snprintf(want, sizeof want, "path=%s ; argv[]=%s %u ; flags=", GATE_PATH, GATE_PATH, (unsigned)uid);
	const char *p = strstr(exec, want);
	if (!p)
		return false;
	p += strlen(want);
	size_t l = strcspn(p, " ;}");
	return l == strlen("privileged") && !strncmp(p, "privileged", l);
}

static void check_user_managers(struct ctl_check *ck)
{
	if (access("/run/systemd/system", F_OK) < 0)
		return; /* not booted with systemd: no user managers */
	if (!ck->root) {
		ctl_check_skipped(ck, "not root: the systemd user managers of sandboxed users not checked");
		return;
	}
	_cleanup_free_ struct js_policy *pol = malloc(sizeof *pol);
	_cleanup_free_ char *dump = malloc(64 * 1024);
	if (!pol || !dump)
		return;
	uid_t lo, hi;
	ctl_regular_uids(&lo, &hi);
	size_t checked = 0, open_users = 0;
	char first[JS_USER_NAME_MAX] = "";
	setpwent();
	struct passwd *pw;
	while ((pw = getpwent())) {
		char name[JS_USER_NAME_MAX], why[512], unit[64], v[4096];
		if (pw->pw_uid == 0 || pw->pw_uid < lo || pw->pw_uid > hi ||
		    js_strlcpy(name, pw->pw_name, sizeof name) < 0 ||
		    js_config_resolve_user(ck->c, name, pol, why, sizeof why) < 0 || !pol->sandbox)
			continue;
		if (checked++ == USERS_MAX)
			break;
		snprintf(unit, sizeof unit, "user@%u.service", (unsigned)pw->pw_uid);
		const char *argv[] = {SYSTEMCTL_PATH, "show", "-p", "ExecConditionEx", "-p", "ActiveState", unit, NULL};
		if (ctl_capture(argv, RUN_TIMEOUT_MS, dump, 64 * 1024) != 0) {
			ctl_problem(ck,
				    "systemd: %s show %s failed: cannot tell whether %s's host-side systemd --user "
				    "manager is kept from starting",
				    SYSTEMCTL_PATH, unit, name);
			break;
		}
		if (!strcmp(show_value(dump, "ActiveState", v, sizeof v), "active") || !strcmp(v, "activating") ||
		    !strcmp(v, "reloading"))
			ctl_problem(ck,
				    "systemd: %s (user %s's systemd --user manager) is %s on the host: it runs "
				    "their ~/.config/systemd/user units outside the container; stop it "
				    "(systemctl stop %s)",
				    unit, name, v, unit);
		/* The container's scope is bound to user-runtime-dir@UID, which
		 * logind stops a few seconds after the last logout unless
		 * logind lingers for the user (lib/sdscope.h). */
		char lf[PATH_MAX];
		snprintf(lf, sizeof lf, "/var/lib/systemd/linger/%s", name);
		if (pol->linger && access(lf, F_OK) < 0)
			ctl_problem(
			    ck,
			    "systemd: user %s has linger = yes but logind does not linger for them: logind stops "
			    "their container's scope after their last logout (loginctl enable-linger %s)",
			    name, name);
		if (!gate_in_effect(show_value(dump, "ExecConditionEx", v, sizeof v), pw->pw_uid)) {
			if (!open_users++)
				js_strlcpy(first, name, sizeof first);
		}
	}
	endpwent();
	if (open_users)
		ctl_problem(ck,
			    "systemd: user@.service does not run \"+%s %%i\" as its ExecCondition for %s%s: "
			    "pam_systemd (or lingering) starts a systemd --user manager on the host that runs "
			    "the user's own ~/.config/systemd/user units and ~/.config/environment.d outside the "
			    "container; install jsandbox's drop-in user@.service.d/jsandbox.conf and run "
			    "systemctl daemon-reload (INSTALL.md)",
			    GATE_PATH, first, open_users > 1 ? " and other sandboxed users" : "");
}

/* ---- mail ---------------------------------------------------------------- */

/* Postfix reads ~/.forward unless forward_path is empty; from it, command
 * and file deliveries only where allow_mail_to_commands/_files name
 * "forward". */
static void check_postfix(struct ctl_check *ck)
{
	char out[4096];
	const char *argv[] = {POSTCONF_PATH,	     "-h", "forward_path", "allow_mail_to_commands",
			      "allow_mail_to_files", NULL};
	if (ctl_capture(argv, RUN_TIMEOUT_MS, out, sizeof out) != 0) {
		ctl_problem(ck,
			    "mail: postfix is installed and %s failed: cannot tell whether it runs sandboxed "
			    "users' ~/.forward on the host",
			    POSTCONF_PATH);
		return;
	}
	/* one line per parameter, in order; an empty value is an empty line */
	char *p = out;
	const char *fp = strsep(&p, "\n");
	const char *cmds = p ? strsep(&p, "\n") : NULL;
	const char *files = p ? strsep(&p, "\n") : NULL;
	if (!fp || !cmds || !files) {
		ctl_problem(ck, "mail: %s -h printed something unexpected", POSTCONF_PATH);
		return;
	}
	if (!fp[0])
		return; /* forward_path empty: ~/.forward is never read */
	if (strstr(cmds, "forward") || strstr(files, "forward"))
		ctl_problem(
		    ck,
		    "mail: postfix delivers to commands and files named in ~/.forward (allow_mail_to_commands "
		    "= %s, allow_mail_to_files = %s): a sandboxed user writes that file from inside and postfix "
		    "runs it as them on the host; set forward_path = (empty) or drop \"forward\" from both",
		    cmds, files);
}

static void check_mail(struct ctl_check *ck)
{
	if (access("/usr/sbin/postfix", X_OK) == 0) {
		check_postfix(ck);
		return;
	}
	/* The MTAs Debian packages that deliver local mail through ~/.forward
	 * (nullmailer, msmtp-mta, dma relay only). */
	static const char *const mtas[][2] = {
	    {"/usr/sbin/exim4", "exim4 (set forbid_pipe and forbid_file on its userforward router, or remove it)"},
	    {"/usr/sbin/sendmail-mta", "sendmail"},
	    {"/usr/sbin/smtpd", "OpenSMTPD"},
	    {"/usr/sbin/courier-mta", "Courier"},
	};
	for (size_t i = 0; i < JS_ARRAY_SIZE(mtas); i++)
		if (access(mtas[i][0], X_OK) == 0)
			ctl_problem(ck,
				    "mail: %s is installed: its local delivery reads ~/.forward, which a sandboxed "
				    "user writes from inside, and runs the pipes and files it names as the user on "
				    "the host (outside the container); make it ignore ~/.forward or remove it",
				    mtas[i][1]);
}

/* ---- cron, at, display managers ------------------------------------------ */

static bool is_sandboxed(struct ctl_check *ck, const struct passwd *pw, struct js_policy *pol)
{
	char name[JS_USER_NAME_MAX], why[512];
	return pw->pw_uid != 0 && js_strlcpy(name, pw->pw_name, sizeof name) == 0 &&
	       js_config_resolve_user(ck->c, name, pol, why, sizeof why) == 0 && pol->sandbox;
}

static void check_spools(struct ctl_check *ck)
{
	static const char *const spools[][2] = {
	    {"/var/spool/cron/crontabs", "a crontab"},
	    {"/var/spool/cron/atjobs", "an at job"},
	};
	_cleanup_free_ struct js_policy *pol = malloc(sizeof *pol);
	if (!pol)
		return;
	for (size_t i = 0; i < JS_ARRAY_SIZE(spools); i++) {
		_cleanup_closedir_ DIR *d = opendir(spools[i][0]);
		if (!d) {
			if (errno == EACCES)
				ctl_check_skipped(ck, "not root: %s not checked", spools[i][0]);
			continue;
		}
		struct dirent *e;
		while ((e = readdir(d))) {
			struct stat st;
			if (e->d_name[0] == '.' || fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISREG(st.st_mode))
				continue;
			struct passwd *pw = getpwuid(st.st_uid);
			if (pw && is_sandboxed(ck, pw, pol))
				ctl_problem(ck,
					    "cron: %s/%s is %s of sandboxed user %s: it runs on the host, outside "
					    "the container (remove it: crontab -r -u %s, atrm)",
					    spools[i][0], e->d_name, spools[i][1], pw->pw_name, pw->pw_name);
		}
	}
}

static void check_display_manager(struct ctl_check *ck)
{
	char dm[PATH_MAX] = "";
	_cleanup_fclose_ FILE *f = fopen("/etc/X11/default-display-manager", "re");
	if (!f || !fgets(dm, sizeof dm, f))
		return;
	dm[strcspn(dm, "\n")] = '\0';
	if (dm[0] && access(dm, X_OK) == 0)
		ctl_problem(ck,
			    "login: a display manager (%s) is installed: a graphical login does not go through "
			    "sshd's PAM stack, so it is not sandboxed, and it runs ~/.xsession* (written from inside) "
			    "on the host",
			    dm);
}

void ctl_check_host_daemons(struct ctl_check *ck)
{
	check_user_managers(ck);
	check_mail(ck);
	check_spools(ck);
	check_display_manager(ck);
}
