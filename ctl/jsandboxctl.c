/* SPDX-License-Identifier: MIT */
/* jsandboxctl: check the policy, show a user's policy, manage base images.
 *
 * The configuration is always JSANDBOX_CONFIG, the path compiled in: like
 * every jsandbox binary this one takes no config path from its arguments or
 * its environment (docs/config.md). */
#include <ctype.h>
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
	/* What `jsandboxctl NAME --help` adds below the usage: the options
	 * and operands, one per line, each "  WORD  what it does". */
	const char *details;
	ctl_cmd_fn *fn;
	unsigned flags;
};

/* The table of contents. */
static const struct ctl_command commands[] = {
    {"check", "[--file CANDIDATE] [--sshd-config FILE] [--pam-file FILE]", "check the policy file and the host set-up",
     "  --file CANDIDATE     check CANDIDATE as if it were " JSANDBOX_CONFIG " (before it goes live)\n"
     "  --sshd-config FILE   sshd's configuration to check (default /etc/ssh/sshd_config)\n"
     "  --pam-file FILE      sshd's PAM service file to check (default /etc/pam.d/sshd)\n"
     "Exits 0 when there is no problem, 1 with one line per problem.",
     cmd_check, 0},
    {"policy", "USER", "show USER's resolved policy and where each value comes from",
     "  USER   a user name; the [user:], [group:] or [default] section that applies is shown", cmd_policy, CTL_CONFIG},
    {"image",
     "build NAME [--suite SUITE] [--include PKG,...] [--mirror URL] [--replace]\n"
     "import NAME ROOTFS.tar[.gz|.xz|.zst] [--replace]\n"
     "list [--names|--json]\n"
     "remove NAME\n"
     "update NAME [--rebuild]",
     "build, import, list, remove and update base images",
     "  build NAME        a Debian base image with mmdebstrap (sudo and the base packages)\n"
     "    --suite SUITE   the Debian suite (default: the host's)\n"
     "    --include PKG   more packages, comma-separated (repeatable)\n"
     "    --mirror URL    the apt mirror (repeatable)\n"
     "    --replace       replace an existing image of that name\n"
     "  import NAME TAR   a root file system from a tar archive\n"
     "  list              one line per image: name, suite, disk usage, date, layers, users behind\n"
     "    --names         the names alone, one a line\n"
     "    --json          one JSON array (with each image's id and the users behind it)\n"
     "  remove NAME       remove an image (refused while running containers use it)\n"
     "  update NAME       apt full-upgrade of a copy, swapped in with a new id (as --replace);\n"
     "                    prints the packages that changed, or that the image is up to date\n"
     "    --rebuild       a fresh mmdebstrap build from the recipe in the image's metadata",
     cmd_image, CTL_CONFIG | CTL_ROOT},
    {"status", "[--json] [USER]", "show running containers (or USER's): state, use against limits, versions",
     "  --json   one JSON document for monitoring instead of the table\n"
     "  USER     only USER's container",
     cmd_status, CTL_CONFIG | CTL_ROOT},
    {"stop", "USER", "end USER's container and everything in it now",
     "  USER   the user whose container ends (their writable layer is kept)", cmd_stop, CTL_CONFIG | CTL_ROOT},
    {"reset", "USER [--keep-backup]", "stop USER's container and drop their writable layer",
     "  USER            the user whose container ends and whose layer (everything they installed) is removed\n"
     "  --keep-backup   first export the layer to state_dir/backups/USER-<time>.tar (the path is printed)",
     cmd_reset, CTL_CONFIG | CTL_ROOT},
    {"rebase", "USER | --all [--force]",
     "move layers onto the current version of their image, keeping what the users installed",
     "  USER      one user's layer (refused while their container runs: it follows at its next start)\n"
     "  --all     every layer that is behind its image (see image list)\n"
     "  --force   redo it even when the layer is on the image's current version",
     cmd_rebase, CTL_CONFIG | CTL_ROOT},
    {"gpus", "[--usage [--json]]",
     "list the host's GPUs, their nodes and which policy sections grant them; --usage: who holds each open",
     "  --usage   which processes of which users hold each GPU's nodes open\n"
     "  --json    the --usage report as JSON",
     cmd_gpus, CTL_CONFIG},
    {"apply", "USER | --all", "apply the current policy's limits and device rules to running containers",
     "  USER    one running container\n"
     "  --all   every running container",
     cmd_apply, CTL_CONFIG | CTL_ROOT},
    {"enable", "USER|@GROUP...", "set accounts up for jsandbox: login shell, subordinate ids, /etc/shells",
     "  USER     an account: its login shell becomes jsandbox-shell (the old one is recorded)\n"
     "  @GROUP   every member of GROUP",
     cmd_enable, CTL_CONFIG | CTL_ROOT},
    {"disable", "USER|@GROUP... | --all", "restore the recorded login shells, stop the containers (layers kept)",
     "  USER     an account enabled before: its recorded login shell comes back\n"
     "  @GROUP   every member of GROUP\n"
     "  --all    every account enable recorded (the uninstall path)",
     cmd_disable, CTL_CONFIG | CTL_ROOT},
    {"du", "USER", "the biggest directories of USER's writable layer", "  USER   the user whose layer is measured",
     cmd_du, CTL_CONFIG | CTL_ROOT},
    {"layer",
     "export USER FILE|-\n"
     "import USER FILE|-",
     "back up USER's writable layer to a tar archive (owners as inside the container), or replace it with one",
     "  export USER FILE   write the layer as a tar archive (FILE must not exist; - is stdout)\n"
     "  import USER FILE   replace the layer with the archive's content (refused while the container runs)",
     cmd_layer, CTL_CONFIG | CTL_ROOT},
};

/* The command being run: ctl_help and ctl_usage_error speak of it. */
static const struct ctl_command *current;

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
	if (current)
		fprintf(stderr, "Try '" CTL_PROG " %s --help'.\n", current->name);
	else
		fprintf(stderr, "Try '" CTL_PROG " --help'.\n");
	return CTL_EXIT_USAGE;
}

/* Each usage form of cmd, one line each: "  jsandboxctl NAME FORM". */
static void print_forms(FILE *f, const struct ctl_command *cmd)
{
	const char *u = cmd->usage;
	do {
		const char *nl = strchrnul(u, '\n');
		fprintf(f, "  " CTL_PROG " %s%s%.*s\n", cmd->name, nl > u ? " " : "", (int)(nl - u), u);
		u = *nl ? nl + 1 : nl;
	} while (*u);
}

static void print_usage(FILE *f)
{
	fprintf(f, "Usage:\n");
	for (size_t i = 0; i < JS_ARRAY_SIZE(commands); i++)
		print_forms(f, &commands[i]);
	fprintf(f, "  " CTL_PROG " COMMAND --help\n  " CTL_PROG " --help | -V | --version\n\nCommands:\n");
	for (size_t i = 0; i < JS_ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nThe configuration is read from " JSANDBOX_CONFIG ". See jsandboxctl(8).\n");
}

/* One command's help: its forms, what it does, its options. */
static void print_command_usage(FILE *f, const struct ctl_command *cmd)
{
	fprintf(f, "Usage:\n");
	print_forms(f, cmd);
	fprintf(f, "\n%c%s.\n", toupper((unsigned char)cmd->summary[0]), cmd->summary + 1);
	if (cmd->details[0])
		fprintf(f, "\n%s\n", cmd->details);
	fprintf(f, "\n%s. See jsandboxctl(8).\n",
		(cmd->flags & CTL_ROOT) ? "Only root may run it"
					: "Any user who can read the configuration may run it");
}

int ctl_help(void)
{
	if (current)
		print_command_usage(stdout, current);
	else
		print_usage(stdout);
	return CTL_EXIT_OK;
}

static const struct ctl_command *find_command(const char *name)
{
	for (size_t i = 0; i < JS_ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
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
	if (!strcmp(name, "-h") || !strcmp(name, "--help"))
		return ctl_help();
	if (!strcmp(name, "-V") || !strcmp(name, "--version")) {
		printf(CTL_PROG " " JSANDBOX_VERSION "\n");
		return CTL_EXIT_OK;
	}
	/* "help" alone: the overview; "help COMMAND": that command's help. */
	if (!strcmp(name, "help")) {
		if (argc > 3)
			return ctl_usage_error("help: expected at most one COMMAND");
		if (argc == 3 && !(current = find_command(argv[2])))
			return ctl_usage_error("help: unknown command \"%s\"", argv[2]);
		return ctl_help();
	}

	const struct ctl_command *cmd = find_command(name);
	if (!cmd)
		return ctl_usage_error("unknown command \"%s\"", name);
	current = cmd;

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
