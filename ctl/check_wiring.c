/* SPDX-License-Identifier: MIT */
/* jsandboxctl check: how sshd and its PAM stack are wired for sandboxed
 * users (docs/security.md, "What sshd runs on the host").
 *
 * The PAM file (default /etc/pam.d/sshd, @include and include/substack
 * followed under /etc/pam.d): all three pam_jsandbox lines present, the
 * auth line first in the auth stack (its setcred strips the environment
 * pam_env builds from ~/.pam_environment), the session line required and
 * required; no pam_env reading user files in the auth stack (that
 * environment bypasses the strip); on a host booted with systemd, no
 * pam_systemd after the session line (the user manager it starts is
 * check_hostd.c's).
 *
 * sshd's effective configuration for each sandboxed user (sshd -T -C):
 * the ForceCommand, and no setting that lets a sandboxed user make sshd
 * run or reach something on the host: X11 forwarding (xauth through
 * /bin/sh), unix-socket forwarding (host paths), ~/.ssh/environment,
 * tunnels, client variables beyond the locale. */
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "ctl.h"
#include "spawn.h"

#ifndef SSHD_PATH
#define SSHD_PATH "/usr/sbin/sshd"
#endif
#define PAM_DIR		"/etc/pam.d"
#define PAM_DEPTH_MAX	8
#define PAM_LINES_MAX	512
#define SSHD_USERS_MAX	200
#define SSHD_TIMEOUT_MS 10000

struct pam_line {
	char type[16];	  /* auth, account, session, password */
	char control[64]; /* required, optional, [success=1 ...] */
	char module[64];  /* basename */
	char args[256];
	char where[PATH_MAX + 16]; /* file:line */
};

struct pam_stack {
	struct pam_line v[PAM_LINES_MAX];
	size_t n;
	char error[PATH_MAX + 64];
};

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t l = strlen(s);
	while (l && (s[l - 1] == ' ' || s[l - 1] == '\t' || s[l - 1] == '\n' || s[l - 1] == '\r'))
		s[--l] = '\0';
	return s;
}

/* Next token; a control in [ ] is one token. */
static char *token(char **p)
{
	char *s = *p;
	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return NULL;
	char *e = s;
	if (*s == '[') {
		e = strchr(s, ']');
		e = e ? e + 1 : s + strlen(s);
	} else {
		while (*e && *e != ' ' && *e != '\t')
			e++;
	}
	if (*e)
		*e++ = '\0';
	*p = e;
	return s;
}

static void pam_read(struct pam_stack *st, const char *path, const char *only_type, int depth)
{
	if (depth > PAM_DEPTH_MAX) {
		snprintf(st->error, sizeof st->error, "%s: includes nested too deeply", path);
		return;
	}
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f) {
		if (!st->error[0])
			snprintf(st->error, sizeof st->error, "%s: %s", path, strerror(errno));
		return;
	}
	char line[1024];
	int lineno = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *p = trim(line);
		if (!*p)
			continue;
		char *type = token(&p);
		if (!type)
			continue;
		char inc[PATH_MAX];
		if (!strcmp(type, "@include")) {
			char *name = token(&p);
			if (name && snprintf(inc, sizeof inc, "%s%s%s", name[0] == '/' ? "" : PAM_DIR "/", "", name) <
					(int)sizeof inc)
				pam_read(st, inc, only_type, depth + 1);
			continue;
		}
		if (type[0] == '-')
			type++;
		char *control = token(&p);
		char *module = token(&p);
		if (!control || !module)
			continue;
		if (only_type && strcmp(type, only_type) != 0)
			continue;
		if (!strcmp(control, "include") || !strcmp(control, "substack")) {
			if (snprintf(inc, sizeof inc, "%s%s", module[0] == '/' ? "" : PAM_DIR "/", module) <
			    (int)sizeof inc)
				pam_read(st, inc, type, depth + 1);
			continue;
		}
		if (st->n == PAM_LINES_MAX)
			continue;
		struct pam_line *l = &st->v[st->n++];
		js_strlcpy(l->type, type, sizeof l->type);
		js_strlcpy(l->control, control, sizeof l->control);
		const char *base = strrchr(module, '/');
		js_strlcpy(l->module, base ? base + 1 : module, sizeof l->module);
		js_strlcpy(l->args, trim(p), sizeof l->args);
		snprintf(l->where, sizeof l->where, "%s:%d", path, lineno);
	}
}

static bool has_arg(const struct pam_line *l, const char *arg)
{
	size_t al = strlen(arg);
	for (const char *p = l->args; (p = strstr(p, arg)); p += al)
		if ((p == l->args || p[-1] == ' ' || p[-1] == '\t') && (p[al] == '\0' || p[al] == ' ' || p[al] == '\t'))
			return true;
	return false;
}

static void check_pam_stack(struct ctl_check *ck)
{
	_cleanup_free_ struct pam_stack *st = calloc(1, sizeof *st);
	if (!st)
		return;
	pam_read(st, ck->pam_file, NULL, 0);
	if (st->error[0]) {
		ctl_problem(ck, "PAM %s", st->error);
		if (st->n == 0)
			return;
	}
	const struct pam_line *js_auth = NULL, *js_acct = NULL, *js_sess = NULL;
	size_t first_auth = SIZE_MAX, sess_at = SIZE_MAX;
	for (size_t i = 0; i < st->n; i++) {
		const struct pam_line *l = &st->v[i];
		if (!strcmp(l->type, "auth") && first_auth == SIZE_MAX)
			first_auth = i;
		if (strcmp(l->module, "pam_jsandbox.so") != 0)
			continue;
		if (!strcmp(l->type, "auth") && !js_auth) {
			js_auth = l;
			if (i != first_auth)
				ctl_problem(
				    ck,
				    "PAM %s: \"auth optional pam_jsandbox.so\" is not the first auth line; a module "
				    "before it can end the stack so that its setcred, which keeps "
				    "~/.pam_environment and the like out of what sshd runs on the host, never runs",
				    l->where);
		} else if (!strcmp(l->type, "account") && !js_acct) {
			js_acct = l;
		} else if (!strcmp(l->type, "session") && !js_sess) {
			js_sess = l;
			sess_at = i;
			if (strcmp(l->control, "required") != 0 && strcmp(l->control, "requisite") != 0)
				ctl_problem(
				    ck,
				    "PAM %s: the session line is \"%s\"; it must be \"required\", or a user whose "
				    "container cannot start gets a session anyway",
				    l->where, l->control);
		}
	}
	if (!js_auth)
		ctl_problem(ck,
			    "PAM %s: no \"auth optional pam_jsandbox.so\" line (first in the auth stack): without it "
			    "variables that pam_env reads from ~/.pam_environment reach xauth and sshrc on the host",
			    ck->pam_file);
	if (!js_acct)
		ctl_problem(ck,
			    "PAM %s: no \"account required pam_jsandbox.so\" line: a sandboxed user with a host "
			    "login shell is not refused before it runs",
			    ck->pam_file);
	if (!js_sess)
		ctl_problem(ck, "PAM %s: no \"session required pam_jsandbox.so\" line: nobody is put in a container",
			    ck->pam_file);
	for (size_t i = 0; i < st->n; i++) {
		const struct pam_line *l = &st->v[i];
		bool user_env = !strcmp(l->module, "pam_env.so") && has_arg(l, "user_readenv=1");
		if (user_env && !strcmp(l->type, "auth"))
			ctl_problem(ck,
				    "PAM %s: pam_env with user_readenv=1 in the auth stack: the environment it reads "
				    "from ~/.pam_environment reaches sshd's host-side programs unfiltered",
				    l->where);
		if (user_env && !strcmp(l->type, "session") && !js_auth && js_sess && i > sess_at)
			ctl_problem(ck,
				    "PAM %s: pam_env with user_readenv=1 runs after pam_jsandbox's session line and no "
				    "auth line strips its variables: a user's LD_PRELOAD reaches xauth on the host",
				    l->where);
		/* Only where systemd runs (sd_booted): elsewhere the module
		 * does nothing. Before pam_jsandbox's session line it is what
		 * INSTALL.md wants (logind's session, XDG_RUNTIME_DIR; the user
		 * manager it would start is gated: check_hostd.c); after it,
		 * logind moves sshd's session process into its session scope,
		 * out of the user's container cgroup. */
		if (!strcmp(l->module, "pam_systemd.so") && !strcmp(l->type, "session") && js_sess && i > sess_at &&
		    access("/run/systemd/system", F_OK) == 0)
			ctl_problem(ck,
				    "PAM %s: pam_systemd runs after pam_jsandbox's session line: it moves the session "
				    "out of the user's cgroup (put it before, as common-session does)",
				    l->where);
	}
}

/* ---- sshd -T ------------------------------------------------------------ */

/* Run sshd -T for one user; its output into buf. Returns 0 or -1 with the
 * reason in why. */
static int sshd_dump(const char *config, const char *user, char *buf, size_t len, char *why, size_t wl)
{
	char spec[256];
	if (snprintf(spec, sizeof spec, "user=%s,host=localhost,addr=127.0.0.1", user) >= (int)sizeof spec) {
		snprintf(why, wl, "user name too long");
		return -1;
	}
	const char *argv[] = {SSHD_PATH, "-T", "-f", config, "-C", spec, NULL};
	/* Its exit status says nothing more than its output does. */
	(void)ctl_capture(argv, SSHD_TIMEOUT_MS, buf, len);
	size_t n = strlen(buf);
	if (n == 0 || !strstr(buf, "\nusepam ")) {
		snprintf(why, wl, "%s -T -f %s -C %s printed no configuration (is the file valid? sshd -t -f %s)",
			 SSHD_PATH, config, spec, config);
		return -1;
	}
	return 0;
}

/* The value of keyword kw in sshd -T output (first line), or NULL. */
static const char *sshd_value(const char *dump, const char *kw, char *val, size_t vl)
{
	size_t kl = strlen(kw);
	for (const char *p = dump; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, kw, kl) && p[kl] == ' ') {
			const char *v = p + kl + 1;
			size_t l = strcspn(v, "\n");
			if (l >= vl)
				l = vl - 1;
			memcpy(val, v, l);
			val[l] = '\0';
			return val;
		}
	}
	return NULL;
}

static bool acceptenv_safe(const char *pat)
{
	static const char *const ok[] = {"LANG", "LANGUAGE", "LC_*", "TERM", "COLORTERM"};
	for (size_t i = 0; i < JS_ARRAY_SIZE(ok); i++)
		if (!strcmp(pat, ok[i]))
			return true;
	/* LC_ALL, LC_CTYPE, ...: one locale variable by name */
	if (!strncmp(pat, "LC_", 3) && pat[3]) {
		for (const char *c = pat + 3; *c; c++)
			if (!((*c >= 'A' && *c <= 'Z') || *c == '_'))
				return false;
		return true;
	}
	return false;
}

#define FINDINGS_MAX 32
struct finding {
	char msg[400];
	char first[JS_USER_NAME_MAX];
	size_t users;
};

static void note(struct finding *f, size_t *nf, const char *user, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void note(struct finding *f, size_t *nf, const char *user, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < *nf; i++)
		if (!strcmp(f[i].msg, msg)) {
			f[i].users++;
			return;
		}
	if (*nf == FINDINGS_MAX)
		return;
	js_strlcpy(f[*nf].msg, msg, sizeof f[*nf].msg);
	js_strlcpy(f[*nf].first, user, sizeof f[*nf].first);
	f[*nf].users = 1;
	(*nf)++;
}

static void judge_sshd(const char *dump, const char *user, struct finding *f, size_t *nf)
{
	char v[PATH_MAX];
	const char *fc = sshd_value(dump, "forcecommand", v, sizeof v);
	if (!fc || strcmp(fc, JSANDBOX_LIBEXECDIR "/jsandbox-shell") != 0)
		note(f, nf, user, "ForceCommand is %s, not %s/jsandbox-shell", fc ? fc : "none", JSANDBOX_LIBEXECDIR);
	if (sshd_value(dump, "usepam", v, sizeof v) && strcmp(v, "yes") != 0)
		note(f, nf, user, "UsePAM %s: pam_jsandbox never runs", v);
	bool no_fwd = sshd_value(dump, "disableforwarding", v, sizeof v) && !strcmp(v, "yes");
	if (!no_fwd && sshd_value(dump, "x11forwarding", v, sizeof v) && !strcmp(v, "yes"))
		note(f, nf, user,
		     "X11Forwarding yes: for ssh -X, sshd runs xauth through /bin/sh on the host, as the user, "
		     "before the container is entered");
	if (!no_fwd && sshd_value(dump, "allowstreamlocalforwarding", v, sizeof v) && strcmp(v, "no") != 0)
		note(f, nf, user,
		     "AllowStreamLocalForwarding %s: ssh -L/-R with unix sockets reach and create host paths "
		     "outside the container",
		     v);
	if (sshd_value(dump, "permituserenvironment", v, sizeof v) && strcmp(v, "no") != 0)
		note(f, nf, user,
		     "PermitUserEnvironment %s: ~/.ssh/environment (written from inside) sets variables such as "
		     "LD_PRELOAD for what sshd runs on the host",
		     v);
	if (sshd_value(dump, "permittunnel", v, sizeof v) && strcmp(v, "no") != 0)
		note(f, nf, user, "PermitTunnel %s: tun/tap devices in the host's network", v);
	for (const char *p = dump; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, "acceptenv ", 10) != 0)
			continue;
		char pat[128];
		size_t l = strcspn(p + 10, "\n");
		if (l >= sizeof pat)
			l = sizeof pat - 1;
		memcpy(pat, p + 10, l);
		pat[l] = '\0';
		if (!acceptenv_safe(pat))
			note(f, nf, user,
			     "AcceptEnv %s: the client sets variables for what sshd runs on the host (only the "
			     "locale and TERM are safe)",
			     pat);
	}
}

static void check_sshd(struct ctl_check *ck)
{
	if (!ck->root) {
		ctl_check_skipped(ck, "not root: sshd's configuration (%s) not checked", ck->sshd_config);
		return;
	}
	if (access(SSHD_PATH, X_OK) < 0) {
		ctl_check_skipped(ck, "%s not found: sshd's configuration not checked", SSHD_PATH);
		return;
	}
	_cleanup_free_ struct js_policy *pol = malloc(sizeof *pol);
	_cleanup_free_ char *dump = malloc(256 * 1024);
	_cleanup_free_ struct finding *f = calloc(FINDINGS_MAX, sizeof *f);
	if (!pol || !dump || !f)
		return;
	size_t nf = 0, checked = 0, more = 0;
	uid_t lo, hi;
	ctl_regular_uids(&lo, &hi);
	setpwent();
	struct passwd *pw;
	while ((pw = getpwent())) {
		if (pw->pw_uid == 0 || pw->pw_uid < lo || pw->pw_uid > hi || ctl_cannot_log_in(pw->pw_shell))
			continue;
		char name[JS_USER_NAME_MAX];
		char why[512];
		if (js_strlcpy(name, pw->pw_name, sizeof name) < 0 ||
		    js_config_resolve_user(ck->c, name, pol, why, sizeof why) < 0 || !pol->sandbox)
			continue;
		if (checked == SSHD_USERS_MAX) {
			more++;
			continue;
		}
		checked++;
		if (sshd_dump(ck->sshd_config, name, dump, 256 * 1024, why, sizeof why) < 0) {
			ctl_problem(ck, "sshd %s: %s", ck->sshd_config, why);
			break;
		}
		judge_sshd(dump, name, f, &nf);
	}
	endpwent();
	for (size_t i = 0; i < nf; i++) {
		if (f[i].users > 1)
			ctl_problem(ck, "sshd %s (users %s and %zu more): %s", ck->sshd_config, f[i].first,
				    f[i].users - 1, f[i].msg);
		else
			ctl_problem(ck, "sshd %s (user %s): %s", ck->sshd_config, f[i].first, f[i].msg);
	}
	if (more)
		ctl_check_skipped(ck, "sshd's configuration checked for the first %d sandboxed users, not for %zu more",
				  SSHD_USERS_MAX, more);
}

void ctl_check_wiring(struct ctl_check *ck)
{
	check_pam_stack(ck);
	check_sshd(ck);
}
