/* SPDX-License-Identifier: MIT */
/* jsandboxctl: the admin tool. Each subcommand is one function with the
 * signature below, listed in the table in jsandboxctl.c; adding one is a
 * new file with its cmd_ function and one line in that table. */
#ifndef JSANDBOX_CTL_H
#define JSANDBOX_CTL_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <syslog.h>

#include "jsutil.h"
#include "policy.h"
#include "userinfo.h"

#define CTL_PROG "jsandboxctl"

/* Exit statuses of every subcommand. */
#define CTL_EXIT_OK    0
#define CTL_EXIT_FAIL  1
#define CTL_EXIT_USAGE 2

/* A subcommand. argv[0] is its own name ("image"), argc >= 1. c is the
 * loaded configuration when the table entry asks for one (CTL_CONFIG),
 * NULL otherwise. Returns one of the CTL_EXIT_* statuses; errors have
 * already been printed. */
typedef int ctl_cmd_fn(int argc, char **argv, const struct js_config *c);

ctl_cmd_fn cmd_check;
ctl_cmd_fn cmd_policy;
ctl_cmd_fn cmd_image;
ctl_cmd_fn cmd_status;
ctl_cmd_fn cmd_stop;
ctl_cmd_fn cmd_reset;
ctl_cmd_fn cmd_gpus;
ctl_cmd_fn cmd_apply;
ctl_cmd_fn cmd_enable;
ctl_cmd_fn cmd_disable;
ctl_cmd_fn cmd_du;
ctl_cmd_fn cmd_layer;
ctl_cmd_fn cmd_rebase;

/* A user's layer for status (cmd_layer.c): "used/bound(kind)", "-" when
 * there is none. */
struct js_layer_usage;
/* jsandboxctl reset USER --keep-backup: export the stopped layer to
 * state_dir/backups (path: where, "" when there was no layer), then reset. */
struct js_global;
int ctl_reset_backup(const struct js_global *g, const struct js_user *u, char *path, size_t len, bool *ended,
		     struct js_err *err);
void ctl_layer_format(const struct js_layer_usage *lu, char *buf, size_t len);

/* The device list a policy resolves to, one rule a line (cmd_devices.c);
 * -1 when it cannot be built (then logins are refused). */
int ctl_print_devices(const struct js_global *g, const struct js_policy *p);

/* "jsandboxctl: <message>" on stderr, one line. */
void ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* ctl_error for a failed call: the message, then ": " and the reason for
 * errnum (a positive errno), made by js_failm as everywhere else. */
void ctl_errorm(int errnum, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same for a struct js_err, with a prefix such as the operation. */
void ctl_error_js(const struct js_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One syslog line (facility authpriv, tag jsandboxctl) for an admin
 * action: "action=ACTION by_uid=UID " then the caller's key=value fields.
 * A value that may hold spaces goes through ctl_q. */
void ctl_log(int prio, const char *action, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* event=container-stop reason=REASON for a container an admin action
 * (stop, reset, disable) ended; nothing when none was running. */
void ctl_log_stopped(const struct js_user *u, bool ended, const char *reason);
/* s as a key=value value (js_kv_quote): as is when it is one word, else in double quotes
 * with '"' and '\\' escaped and control characters as '?'. Returns buf. */
const char *ctl_q(const char *s, char *buf, size_t len);
/* Bad usage: the message, a pointer to --help, and CTL_EXIT_USAGE. */
int ctl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Usage text on stdout, CTL_EXIT_OK (for -h/--help). */
int ctl_help(void);

/* Options of a subcommand that takes none but -h: returns -1 to go on
 * (optind then indexes the first operand), or the exit status to return. */
int ctl_parse_no_options(int argc, char **argv);

/* Options and the one USER operand of a subcommand (stop, reset, apply):
 * returns -1 to go on with *u filled (an existing user other than root), or
 * the exit status to return (usage, unknown user: already printed). */
int ctl_parse_one_user(int argc, char **argv, struct js_user *u);

/* A user named on the command line: the name rule for names that become
 * file names, then NSS; root is refused. -1 with the error printed. */
int ctl_lookup_user(const char *name, struct js_user *u);

/* run_dir as a directory stream for listing the users' runtime entries:
 * 0 with *d set, -ENOENT when it does not exist (nothing ever ran), -1
 * with the error printed. */
int ctl_open_run_dir(const struct js_global *g, DIR **d);

/* The policy a section gives, as the PAM module resolves it: a [user:]
 * section for that user (with their real groups when the account exists), a
 * [group:] section for a member of that group alone, [default] for anyone
 * else. Returns 0, -1 with why set, or 1 for a section without a policy
 * ([global]). */
int ctl_section_policy(const struct js_config *c, const char *sec, struct js_policy *p, char *why, size_t wl);

/* ---- jsandboxctl check ---------------------------------------------------
 * Every check is a function appended to the list in cmd_check.c. It reports
 * each problem with ctl_problem (one line on stdout, already naming the
 * section, key or path) and never exits. */
struct ctl_check {
	const struct js_config *c;
	const struct js_global *g;
	const char *config_path;
	bool root;		 /* running as root: everything can be inspected */
	size_t nproblems;	 /* problems reported so far, the file's included */
	const char *pam_file;	 /* sshd's PAM service file (--pam-file) */
	const char *sshd_config; /* sshd's configuration (--sshd-config) */
};
/* The layers' bound: which mechanism enforces disk_max on state_dir, and a
 * problem for each section that sets it where none can (cmd_layer.c). */
void ctl_check_layers(struct ctl_check *ck);

/* The sshd and PAM wiring for sandboxed users (check_wiring.c). */
void ctl_check_wiring(struct ctl_check *ck);
/* Host daemons that act on files a sandboxed user controls: systemd's user
 * manager, mail, cron/at, display managers (check_hostd.c). */
void ctl_check_host_daemons(struct ctl_check *ck);
/* The kernel features, tried on this host (check_kernel.c). */
void ctl_check_kernel(struct ctl_check *ck);
/* The range of regular accounts (login.defs UID_MIN/UID_MAX). */
void ctl_regular_uids(uid_t *lo, uid_t *hi);
/* A shell that lets nobody in (nologin, false). */
bool ctl_cannot_log_in(const char *shell);

void ctl_problem(struct ctl_check *ck, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A check that cannot look at something (not root): one note on stderr,
 * not a problem. */
void ctl_check_skipped(struct ctl_check *ck, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
