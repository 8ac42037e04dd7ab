/* SPDX-License-Identifier: MIT */
/* jsandboxctl rebase USER|--all [--force]: move users' layers onto the
 * current version of their image (root/rebase.c does the work; a container
 * start does the same by itself after an image change). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "ctl.h"
#include "layer.h"
#include "rebase.h"
#include "safefs.h"

struct rebase_arg {
	const char *image;
	uint64_t disk_max;
	bool force;
	struct js_rebase_result res;
};

static int rebase_fn(const struct js_global *g, const struct js_user *u, int state, int users, void *arg,
		     struct js_err *err)
{
	struct rebase_arg *a = arg;
	return js_rebase_layer(g, u, a->image, a->disk_max, a->force, state, users, &a->res, err);
}

/* The report's lines worth the admin's eye: what was not carried over,
 * what the checks found, the user's newer versions kept. */
static void print_findings(const char *user, const char *report)
{
	for (const char *l = report; l && *l;) {
		const char *e = strchr(l, '\n');
		int len = e ? (int)(e - l) : (int)strlen(l);
		if (!strncmp(l, "not-carried ", 12) || !strncmp(l, "problem ", 8) || !strncmp(l, "newer ", 6))
			printf("%s:   %.*s\n", user, len, l);
		l = e ? e + 1 : NULL;
	}
}

/* 0 rebased or nothing to do, 1 deferred (running), -1 failed */
static int rebase_one(const struct js_config *c, const struct js_user *u, bool force, bool quiet_current)
{
	const struct js_global *g = js_config_global(c);
	_cleanup_free_ struct js_policy *p = malloc(sizeof *p);
	char why[512], q[600];
	if (!p || js_config_resolve_user(c, u->name, p, why, sizeof why) < 0) {
		ctl_error("rebase %s: no policy: %s", u->name, p ? why : "out of memory");
		return -1;
	}
	if (!p->sandbox) {
		if (!quiet_current)
			printf("%s: not sandboxed by the policy: nothing to do\n", u->name);
		return 0;
	}
	struct rebase_arg a = {.image = p->image, .disk_max = p->disk_max.max ? 0 : p->disk_max.value, .force = force};
	struct js_err err = {0};
	int r = js_container_with_layer(g, u, rebase_fn, &a, &err);
	if (r == -EBUSY) {
		printf("%s: container running: its layer follows image \"%s\" at its next start (or: " CTL_PROG
		       " stop %s, then rebase)\n",
		       u->name, p->image, u->name);
		js_rebase_result_free(&a.res);
		return 1;
	}
	if (r < 0) {
		ctl_error_js(&err, "rebase %s", u->name);
		ctl_log(LOG_ERR, "rebase", "user=%s image=%s result=failed reason=%s", u->name, p->image,
			ctl_q(err.msg, q, sizeof q));
		if (a.res.report)
			print_findings(u->name, a.res.report);
		js_rebase_result_free(&a.res);
		return -1;
	}
	if (!a.res.done) {
		if (!quiet_current)
			printf("%s: layer already on image \"%s\" (id %s)\n", u->name, p->image, a.res.to);
	} else {
		printf("%s: layer moved onto image \"%s\" (id %s): %u packages follow the image, %u of the user's "
		       "carried, %u newer kept, %u not carried over, %u problems\n",
		       u->name, p->image, a.res.to, a.res.followed, a.res.carried, a.res.kept_newer, a.res.not_carried,
		       a.res.problems);
		print_findings(u->name, a.res.report);
		ctl_log(a.res.problems || a.res.not_carried ? LOG_WARNING : LOG_NOTICE, "rebase",
			"user=%s image=%s from=%s to=%s followed=%u carried=%u newer=%u not_carried=%u problems=%u "
			"result=ok",
			u->name, p->image, a.res.from[0] ? a.res.from : "-", a.res.to, a.res.followed, a.res.carried,
			a.res.kept_newer, a.res.not_carried, a.res.problems);
	}
	js_rebase_result_free(&a.res);
	return 0;
}

static int rebase_all(const struct js_config *c, bool force)
{
	const struct js_global *g = js_config_global(c);
	struct js_err err = {0};
	_cleanup_close_ int state = js_open_trusted_dir(g->state_dir, false, &err);
	if (state == -ENOENT) {
		printf("no layers (\"%s\" does not exist)\n", g->state_dir);
		return CTL_EXIT_OK;
	}
	if (state < 0) {
		ctl_error_js(&err, "state_dir \"%s\"", g->state_dir);
		return CTL_EXIT_FAIL;
	}
	int ufd = openat(state, "users", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_closedir_ DIR *d = ufd >= 0 ? fdopendir(ufd) : NULL;
	if (!d) {
		if (ufd >= 0)
			close(ufd);
		printf("no layers\n");
		return CTL_EXIT_OK;
	}
	unsigned n = 0, failed = 0, deferred = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		/* dot names are ours (a layer being made or swapped) */
		if (e->d_name[0] == '.')
			continue;
		if (js_check_name("user name", e->d_name, JS_USER_NAME_MAX - 1, NULL) < 0)
			continue;
		struct js_user u;
		if (js_user_by_name(e->d_name, &u, &err) < 0) {
			ctl_error("rebase: layer \"%s\" belongs to no user (skipped)", e->d_name);
			continue;
		}
		n++;
		int r = rebase_one(c, &u, force, true);
		failed += r < 0;
		deferred += r > 0;
	}
	printf("%u layers: %u failed, %u deferred to their next start\n", n, failed, deferred);
	return failed ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}

int cmd_rebase(int argc, char **argv, const struct js_config *c)
{
	bool force = false, all = false, opts = true;
	const char *name = NULL;
	for (int i = 1; i < argc; i++) {
		if (opts && !strcmp(argv[i], "--")) {
			opts = false;
			continue;
		}
		if (opts && (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")))
			return ctl_help();
		if (opts && !strcmp(argv[i], "--force"))
			force = true;
		else if (opts && !strcmp(argv[i], "--all"))
			all = true;
		else if (opts && argv[i][0] == '-' && argv[i][1])
			return ctl_usage_error("rebase: unknown option \"%s\"", argv[i]);
		else if (name)
			return ctl_usage_error("rebase: expected one USER or --all");
		else
			name = argv[i];
	}
	if (all == (name != NULL))
		return ctl_usage_error("rebase: expected one USER or --all");
	if (all)
		return rebase_all(c, force);
	struct js_user u;
	if (ctl_lookup_user(name, &u) < 0)
		return CTL_EXIT_FAIL;
	int r = rebase_one(c, &u, force, false);
	return r < 0 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}
