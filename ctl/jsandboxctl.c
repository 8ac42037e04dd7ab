/* SPDX-License-Identifier: MIT */
/* jsandboxctl: check the policy, show a user's policy, manage base images.
 *
 * The configuration is always JSANDBOX_CONFIG, the path compiled in: like
 * every jsandbox binary this one takes no config path from its arguments or
 * its environment (docs/config.md). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"

enum {
	CTL_ROOT = 1u << 0,   /* only root may run it */
	CTL_CONFIG = 1u << 1, /* main loads the configuration and passes it */
};

struct ctl_command {
	const char *name;
	/* One usage line per form, without "jsandboxctl NAME", '\n'-separated. */
	const char *usage;
	const char *summary;
	ctl_cmd_fn *fn;
	unsigned flags;
};

/* The table of contents. */
static const struct ctl_command commands[] = {
    {"check", "[--file CANDIDATE] [--sshd-config FILE] [--pam-file FILE]", "check the policy file and the host set-up",
     cmd_check, 0},
    {"policy", "USER", "show USER's resolved policy and where each value comes from", cmd_policy, CTL_CONFIG},
    {"image",
     "build NAME [--suite SUITE] [--include PKG,...] [--mirror URL] [--replace]\n"
     "import NAME ROOTFS.tar[.gz|.xz|.zst] [--replace]\n"
     "list\n"
     "remove NAME",
     "build, import, list and remove base images", cmd_image, CTL_CONFIG | CTL_ROOT},
    {"status", "[--json] [USER]", "show running containers (or USER's): state, use against limits, versions",
     cmd_status, CTL_CONFIG | CTL_ROOT},
    {"stop", "USER", "end USER's container and everything in it now", cmd_stop, CTL_CONFIG | CTL_ROOT},
    {"reset", "USER [--keep-backup]",
     "stop USER's container and drop their writable layer (--keep-backup: export it to state_dir/backups first)",
     cmd_reset, CTL_CONFIG | CTL_ROOT},
    {"gpus", "[--usage [--json]]",
     "list the host's GPUs, their nodes and which policy sections grant them; --usage: who holds each open", cmd_gpus,
     CTL_CONFIG},
    {"apply", "USER | --all", "apply the current policy's limits and device rules to running containers", cmd_apply,
     CTL_CONFIG | CTL_ROOT},
    {"enable", "USER|@GROUP...", "set accounts up for jsandbox: login shell, subordinate ids, /etc/shells", cmd_enable,
     CTL_CONFIG | CTL_ROOT},
    {"disable", "USER|@GROUP... | --all", "restore the recorded login shells, stop the containers (layers kept)",
     cmd_disable, CTL_CONFIG | CTL_ROOT},
    {"du", "USER", "the biggest directories of USER's writable layer", cmd_du, CTL_CONFIG | CTL_ROOT},
    {"layer",
     "export USER FILE|-\n"
     "import USER FILE|-",
     "back up USER's writable layer to a tar archive (owners as inside the container), or replace it with one",
     cmd_layer, CTL_CONFIG | CTL_ROOT},
};

__attribute__((format(printf, 1, 0))) static void vprint_error(const char *fmt, va_list ap)
{
	fflush(stdout);
	fputs(CTL_PROG ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void ctl_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprint_error(fmt, ap);
	va_end(ap);
}

void ctl_errorm(int errnum, const char *fmt, ...)
{
	char head[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(head, sizeof head, fmt, ap);
	va_end(ap);
	struct js_err err = {0};
	js_failm(&err, errnum ? errnum : EIO, "%s", head);
	/* no head: the reason alone, without js_failm's ": " */
	ctl_error("%s", head[0] || strncmp(err.msg, ": ", 2) ? err.msg : err.msg + 2);
}

void ctl_error_js(const struct js_err *err, const char *fmt, ...)
{
	char head[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(head, sizeof head, fmt, ap);
	va_end(ap);
	if (err->msg[0])
		ctl_error("%s%s%s", head, head[0] ? ": " : "", err->msg);
	else
		ctl_errorm(err->code ? -err->code : EIO, "%s", head);
}

const char *ctl_q(const char *s, char *buf, size_t len)
{
	return js_kv_quote(s, buf, len);
}

void ctl_log(int prio, const char *action, const char *fmt, ...)
{
	char fields[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(fields, sizeof fields, fmt, ap);
	va_end(ap);
	syslog(LOG_AUTHPRIV | prio, "action=%s by_uid=%u %s", action, (unsigned)getuid(), fields);
}

int ctl_usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprint_error(fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try '" CTL_PROG " --help'.\n");
	return CTL_EXIT_USAGE;
}

static void print_usage(FILE *f)
{
	fprintf(f, "Usage:\n");
	for (size_t i = 0; i < JS_ARRAY_SIZE(commands); i++) {
		const char *u = commands[i].usage;
		do {
			const char *nl = strchrnul(u, '\n');
			fprintf(f, "  " CTL_PROG " %s%s%.*s\n", commands[i].name, nl > u ? " " : "", (int)(nl - u), u);
			u = *nl ? nl + 1 : nl;
		} while (*u);
	}
	fprintf(f, "  " CTL_PROG " --help | --version\n\nCommands:\n");
	for (size_t i = 0; i < JS_ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nThe configuration is read from " JSANDBOX_CONFIG ". See jsandboxctl(8).\n");
}

int ctl_help(void)
{
	print_usage(stdout);
	return CTL_EXIT_OK;
}

int ctl_parse_no_options(int argc, char **argv)
{
	int i = 1;
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return ctl_help();
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (argv[i][0] == '-' && argv[i][1])
			return ctl_usage_error("%s: unknown option \"%s\"", argv[0], argv[i]);
		break;
	}
	optind = i;
	return -1;
}

/* Load the compiled-in configuration for a command that needs it. Problems
 * in some sections do not stop a command (the policy command reports the
 * ones that matter to its user); a file that cannot be used at all does. */
static int load_config(const struct ctl_command *cmd, struct js_config **out)
{
	struct js_problems pr = {0};
	int r = js_config_load(JSANDBOX_CONFIG, out, &pr);
	if (r < 0) {
		if (pr.n > 0)
			ctl_error("%s (see " CTL_PROG " check)", pr.p[0].msg); /* names the file */
		else
			ctl_errorm(-r, "cannot use \"%s\"", JSANDBOX_CONFIG);
		js_problems_free(&pr);
		return -1;
	}
	js_problems_free(&pr);
	/* The image commands act on [global] paths: never on paths from a
	 * file we could not fully trust. */
	if ((cmd->flags & CTL_ROOT) && js_config_has_global_problem(*out)) {
		ctl_error("\"%s\" has problems that affect everyone; fix them first (" CTL_PROG " check)",
			  JSANDBOX_CONFIG);
		js_config_free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	/* Whatever we create (images, metadata) gets the modes we ask for. */
	umask(022);
	openlog(CTL_PROG, LOG_PID, LOG_AUTHPRIV);

	if (argc < 2)
		return ctl_usage_error("no command given");
	const char *name = argv[1];
	if (!strcmp(name, "-h") || !strcmp(name, "--help") || !strcmp(name, "help"))
		return ctl_help();
	if (!strcmp(name, "--version")) {
		printf(CTL_PROG " " JSANDBOX_VERSION "\n");
		return CTL_EXIT_OK;
	}

	const struct ctl_command *cmd = NULL;
	for (size_t i = 0; i < JS_ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].name, name))
			cmd = &commands[i];
	if (!cmd)
		return ctl_usage_error("unknown command \"%s\"", name);

	/* Help needs neither root nor a configuration. */
	for (int i = 2; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return ctl_help();

	if ((cmd->flags & CTL_ROOT) && geteuid() != 0) {
		ctl_error("%s: must be run as root", cmd->name);
		return CTL_EXIT_FAIL;
	}

	struct js_config *c = NULL;
	if ((cmd->flags & CTL_CONFIG) && load_config(cmd, &c) < 0)
		return CTL_EXIT_FAIL;
	int status = cmd->fn(argc - 1, argv + 1, c);
	js_config_free(c);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		ctl_errorm(errno, "cannot write to standard output");
		return CTL_EXIT_FAIL;
	}
	return status;
}
