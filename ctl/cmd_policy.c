/* SPDX-License-Identifier: MIT */
/* jsandboxctl policy USER: the policy a login of USER would get now, with
 * the section each value comes from. It resolves exactly as the PAM module
 * does (js_config_resolve_user), so what it prints is what a login gets. */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

/* "alice, gpu, docker" from getgrouplist, for the header line. */
static void group_names(const struct passwd *pw, char *buf, size_t len)
{
	int n = 64;
	buf[0] = '\0';
	_cleanup_free_ gid_t *gids = NULL;
	for (;;) {
		free(gids);
		gids = malloc((size_t)n * sizeof *gids);
		if (!gids)
			return;
		int want = n;
		if (getgrouplist(pw->pw_name, pw->pw_gid, gids, &want) >= 0) {
			n = want;
			break;
		}
		/* too small: want says how many there are */
		if (want <= n || want > 65536)
			return;
		n = want;
	}
	size_t o = 0;
	for (int i = 0; i < n && o < len; i++) {
		struct group *gr = getgrgid(gids[i]);
		int w = gr ? snprintf(buf + o, len - o, "%s%s", i ? ", " : "", gr->gr_name)
			   : snprintf(buf + o, len - o, "%s%u", i ? ", " : "", (unsigned)gids[i]);
		if (w < 0)
			break;
		o += (size_t)w;
	}
}

int cmd_policy(int argc, char **argv, const struct js_config *c)
{
	int r = ctl_parse_no_options(argc, argv);
	if (r >= 0)
		return r;
	if (argc - optind != 1)
		return ctl_usage_error("policy: expected one USER");
	const char *user = argv[optind];

	errno = 0;
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		if (errno)
			ctl_errorm(errno, "cannot look up user \"%s\"", user);
		else
			ctl_error("no user \"%s\"", user);
		return CTL_EXIT_FAIL;
	}
	/* Copies: the group lookups below may reuse getpwnam's buffer. */
	char name[JS_NAME_MAX * 2];
	uid_t uid = pw->pw_uid;
	js_strlcpy(name, pw->pw_name, sizeof name);
	char groups[1024];
	group_names(pw, groups, sizeof groups);
	printf("user %s (uid %u), groups: %s\n", name, (unsigned)uid, groups[0] ? groups : "(none)");
	if (uid == 0) {
		printf("%s has uid 0: root is always exempt, never sandboxed\n", name);
		return CTL_EXIT_OK;
	}

	_cleanup_free_ struct js_policy *p = malloc(sizeof *p);
	char why[512];
	if (!p) {
		ctl_error("out of memory");
		return CTL_EXIT_FAIL;
	}
	if (js_config_resolve_user(c, name, p, why, sizeof why) < 0) {
		ctl_error("cannot resolve the policy of \"%s\": %s; logins of %s are refused", name,
			  why[0] ? why : "unknown reason", name);
		return CTL_EXIT_FAIL;
	}
	for (unsigned k = 0; k < JS_KEY__COUNT; k++) {
		char val[1024];
		if (js_policy_format(p, (enum js_key)k, val, sizeof val) < 0)
			js_strlcpy(val, "?", sizeof val);
		const char *origin = p->origin[k];
		if (!strcmp(origin, "built-in"))
			printf("%-10s = %-20s (built-in default)\n", js_key_name((enum js_key)k), val);
		else
			printf("%-10s = %-20s (from %s)\n", js_key_name((enum js_key)k), val, origin);
	}
	if (!p->sandbox) {
		printf("%s is exempt (sandbox = no): logins run on the host, unsandboxed\n", name);
		return CTL_EXIT_OK;
	}
	return ctl_print_devices(js_config_global(c), p) < 0 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}
