/* SPDX-License-Identifier: MIT */
/* jsandboxctl status [USER], stop USER, reset USER: the running containers.
 *
 * status reads the root-owned runtime state under run_dir and asks each
 * live init over its control socket; it never trusts a bare pid (the state
 * records start time and namespace inode, js_state_pidfd checks them). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "container.h"
#include "ctl.h"
#include "proto.h"
#include "safefs.h"
#include "state.h"

static int lookup_user(const char *name, struct js_user *u)
{
	struct js_err err = {0};
	/* The name becomes file names (the layer, the cgroup): the one rule
	 * for such names, before anything looks it up or touches a file. */
	if (js_check_name("user name", name, JS_USER_NAME_MAX - 1, &err) < 0) {
		ctl_error_js(&err, "%s", "");
		return -1;
	}
	if (js_user_by_name(name, u, &err) < 0) {
		ctl_error_js(&err, "user \"%s\"", name);
		return -1;
	}
	if (u->uid == 0) {
		ctl_error("root is never sandboxed");
		return -1;
	}
	return 0;
}

int ctl_parse_one_user(int argc, char **argv, struct js_user *u)
{
	int r = ctl_parse_no_options(argc, argv);
	if (r >= 0)
		return r;
	if (argc - optind != 1)
		return ctl_usage_error("%s: expected one USER", argv[0]);
	return lookup_user(argv[optind], u) < 0 ? CTL_EXIT_FAIL : -1;
}

static void print_header(void)
{
	printf("%-16s %7s %-8s %8s %8s %6s %-6s %-12s %s\n", "USER", "UID", "STATE", "INIT", "SESSIONS", "PROCS",
	       "LINGER", "IMAGE", "LAYER");
}

/* One line for u; returns 1 when running, 0 when not, -1 on error. */
static int print_status(const struct js_config *c, const struct js_user *u, bool quiet_stopped)
{
	const struct js_global *g = js_config_global(c);
	/* LINGER is the policy's, which decides at logout, not what the init
	 * holds in its memory (root inside can change that). */
	struct js_policy pol;
	char why[512];
	const char *linger = "?";
	if (js_config_resolve_user(c, u->name, &pol, why, sizeof why) == 0)
		linger = pol.linger ? "yes" : "no";
	struct js_ctl_rep rep = {0};
	pid_t pid = 0;
	struct js_err err = {0};
	int r = js_container_status(g, u, &rep, &pid, &err);
	/* PROCS is what the user's cgroup holds, counted here as root: the
	 * container's processes and the host-side ones sshd started for a
	 * session alike. A process left with no container is shown, never
	 * hidden behind "stopped" (jsandboxctl stop kills it). */
	int procs = js_container_procs(u);
	/* An image layer is read through a mount of it: not for lines that
	 * are not printed. */
	char layer[96] = "-";
	if (!(r == -ESRCH && procs <= 0 && quiet_stopped))
		ctl_layer_summary(g, u->name, layer, sizeof layer);
	if (r == -ESRCH && procs > 0) {
		printf("%-16s %7u %-8s %8s %8s %6d %-6s %-12s %s\n", u->name, u->uid, "leftover", "-", "-", procs, "-",
		       "-", layer);
		return 1;
	}
	if (r == -ESRCH) {
		if (!quiet_stopped)
			printf("%-16s %7u %-8s %8s %8s %6s %-6s %-12s %s\n", u->name, u->uid, "stopped", "-", "-", "-",
			       "-", "-", layer);
		return 0;
	}
	if (r < 0) {
		/* Alive but not answering: say so, it is what an admin must see. */
		printf("%-16s %7u %-8s %8d %8s %6s %-6s %-12s %s\n", u->name, u->uid, "stuck", (int)pid, "?", "?", "?",
		       "?", layer);
		ctl_error_js(&err, "%s", u->name);
		return -1;
	}
	/* The image name comes from the runtime state the module wrote. */
	char image[64] = "?";
	_cleanup_close_ int rundir = js_open_trusted_dir(g->run_dir, false, NULL);
	if (rundir >= 0) {
		char name[16];
		snprintf(name, sizeof name, "%u", u->uid);
		_cleanup_close_ int udir = openat(rundir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct js_state st;
		if (udir >= 0 && js_state_read(udir, &st, NULL) == 0)
			js_strlcpy(image, st.image, sizeof image);
	}
	printf("%-16s %7u %-8s %8d %8u %6d %-6s %-12s %s\n", u->name, u->uid,
	       rep.shutting_down ? "stopping" : "running", (int)pid, rep.sessions, procs, linger, image, layer);
	return 1;
}

int cmd_status(int argc, char **argv, const struct js_config *c)
{
	int r = ctl_parse_no_options(argc, argv);
	if (r >= 0)
		return r;
	if (argc - optind > 1)
		return ctl_usage_error("status: expected at most one USER");
	const struct js_global *g = js_config_global(c);
	if (argc - optind == 1) {
		struct js_user u;
		if (lookup_user(argv[optind], &u) < 0)
			return CTL_EXIT_FAIL;
		print_header();
		return print_status(c, &u, false) < 0 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
	}
	print_header();
	struct js_err err = {0};
	int rundir = js_open_trusted_dir(g->run_dir, false, &err);
	if (rundir == -ENOENT)
		return CTL_EXIT_OK; /* nothing ever ran */
	if (rundir < 0) {
		ctl_error_js(&err, "run_dir \"%s\"", g->run_dir);
		return CTL_EXIT_FAIL;
	}
	_cleanup_closedir_ DIR *d = fdopendir(rundir);
	if (!d) {
		close(rundir);
		ctl_error("run_dir \"%s\": %s", g->run_dir, strerror(errno));
		return CTL_EXIT_FAIL;
	}
	int status = CTL_EXIT_OK;
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end;
		errno = 0;
		unsigned long uid = strtoul(e->d_name, &end, 10);
		if (errno || *end || end == e->d_name || uid == 0 || uid > UINT32_MAX)
			continue;
		struct js_user u;
		if (js_user_by_uid((uid_t)uid, &u, NULL) < 0) {
			printf("%-16s %7lu %-8s\n", "?", uid, "orphaned");
			continue;
		}
		if (js_check_name("user name", u.name, JS_USER_NAME_MAX - 1, NULL) < 0) {
			printf("%-16s %7lu %-8s\n", "?", uid, "bad-name");
			status = CTL_EXIT_FAIL;
			continue;
		}
		if (print_status(c, &u, true) < 0)
			status = CTL_EXIT_FAIL;
	}
	return status;
}

int cmd_stop(int argc, char **argv, const struct js_config *c)
{
	struct js_user u;
	int r = ctl_parse_one_user(argc, argv, &u);
	if (r >= 0)
		return r;
	struct js_err err = {0};
	if (js_container_stop(js_config_global(c), &u, &err) < 0) {
		ctl_error_js(&err, "stop %s", u.name);
		return CTL_EXIT_FAIL;
	}
	return CTL_EXIT_OK;
}

int cmd_reset(int argc, char **argv, const struct js_config *c)
{
	struct js_user u;
	int r = ctl_parse_one_user(argc, argv, &u);
	if (r >= 0)
		return r;
	struct js_err err = {0};
	if (js_container_reset(js_config_global(c), &u, &err) < 0) {
		ctl_error_js(&err, "reset %s", u.name);
		return CTL_EXIT_FAIL;
	}
	printf("%s: container stopped, writable layer removed; the next login starts from the image\n", u.name);
	return CTL_EXIT_OK;
}
