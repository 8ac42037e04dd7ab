/* SPDX-License-Identifier: MIT */
/* jsandbox-user-gate UID: may systemd start user@UID.service, the host-side
 * `systemd --user` manager of this account?
 *
 * The drop-in user@.service.d/jsandbox.conf runs it as root (the "+"
 * prefix) as the service's ExecCondition. A sandboxed user's manager would
 * run, on the host and outside every limit, what the user writes from
 * inside the container into the shared home: ~/.config/systemd/user units,
 * ~/.config/environment.d, the D-Bus session bus's activation files. So:
 *
 *   exit 0  start it: root, or an account the policy exempts (sandbox = no);
 *   exit 1  skip it (systemd's "condition failed", not a failure): a
 *           sandboxed account, and also whenever the answer is unknown
 *           (no such uid, the policy unreadable or broken for this user) —
 *           a missing user manager costs little, a wrong one runs the
 *           user's code on the host.
 *
 * logind and pam_systemd carry on without the manager: the login keeps its
 * session, its scope and XDG_RUNTIME_DIR (user-runtime-dir@.service). The
 * reason goes to stderr, which systemd puts in the journal under the unit.
 * Nothing here reads the user's files or environment. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "userinfo.h"

#define GATE_START 0
#define GATE_SKIP  1

static int skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int skip(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "jsandbox: no systemd --user manager: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return GATE_SKIP;
}

int main(int argc, char **argv)
{
	if (argc != 2 || !argv[1][0] || strspn(argv[1], "0123456789") != strlen(argv[1]) || strlen(argv[1]) > 10)
		return skip("usage: jsandbox-user-gate UID (got %s)", argc > 1 ? argv[1] : "nothing");
	errno = 0;
	unsigned long uid = strtoul(argv[1], NULL, 10);
	if (errno || uid > (uid_t)-2)
		return skip("uid %s is out of range", argv[1]);
	if (uid == 0)
		return GATE_START; /* root is never sandboxed */
	struct js_user u;
	struct js_err err = {0};
	if (js_user_by_uid((uid_t)uid, &u, &err) < 0)
		return skip("uid %s: %s", argv[1], err.msg);
	struct js_problems pr = {0};
	struct js_config *c = NULL;
	if (js_config_load(JSANDBOX_CONFIG, &c, &pr) < 0 || !c) {
		skip("user %s: %s", u.name, pr.n ? pr.p[0].msg : JSANDBOX_CONFIG ": cannot load");
		js_problems_free(&pr);
		return GATE_SKIP;
	}
	js_problems_free(&pr);
	struct js_policy *pol = calloc(1, sizeof *pol);
	char why[512];
	if (!pol)
		return skip("user %s: %s", u.name, strerror(ENOMEM));
	/* As pam_jsandbox resolves it at login. */
	int r = js_config_resolve_user(c, u.name, pol, why, sizeof why);
	bool sandboxed = r < 0 || pol->sandbox;
	free(pol);
	js_config_free(c);
	if (r < 0)
		return skip("user %s: the policy cannot be resolved: %s", u.name, why);
	if (sandboxed)
		return skip("user %s is sandboxed by jsandbox (%s): their unit files would run on the host", u.name,
			    JSANDBOX_CONFIG);
	return GATE_START;
}
