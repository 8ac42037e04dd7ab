/* SPDX-License-Identifier: MIT */
#include "userinfo.h"

#include <grp.h>
#include <pwd.h>
#include <string.h>

static int fill(struct passwd *pw, struct js_user *u, struct js_err *err)
{
	memset(u, 0, sizeof *u);
	if (js_strlcpy(u->name, pw->pw_name, sizeof u->name) < 0 ||
	    js_strlcpy(u->home, pw->pw_dir, sizeof u->home) < 0 ||
	    js_strlcpy(u->shell, pw->pw_shell ? pw->pw_shell : "", sizeof u->shell) < 0)
		return js_fail(err, ENAMETOOLONG, "passwd entry of \"%s\" has an over-long field", pw->pw_name);
	/* An over-long or odd GECOS is dropped, not truncated: it only
	 * fills the container's passwd entry. */
	if (js_strlcpy(u->gecos, pw->pw_gecos ? pw->pw_gecos : "", sizeof u->gecos) < 0 || strchr(u->gecos, ':') ||
	    strchr(u->gecos, '\n'))
		u->gecos[0] = '\0';
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;

	gid_t gids[JS_USER_GROUPS_MAX * 4];
	int ng = (int)JS_ARRAY_SIZE(gids);
	if (getgrouplist(pw->pw_name, pw->pw_gid, gids, &ng) < 0)
		ng = (int)JS_ARRAY_SIZE(gids); /* more than we keep: take the first ones */
	/* primary group first */
	u->groups[0].gid = pw->pw_gid;
	u->ngroups = 1;
	for (int i = 0; i < ng && u->ngroups < JS_USER_GROUPS_MAX; i++) {
		if (gids[i] == pw->pw_gid)
			continue;
		u->groups[u->ngroups++].gid = gids[i];
	}
	for (size_t i = 0; i < u->ngroups; i++) {
		struct group grb, *gr = NULL;
		char buf[16384];
		/* The names go into the container's /etc/group: one that the
		 * name rule refuses (a ':' or newline would add lines) shows
		 * as g<gid>, like a gid without a name. */
		if (getgrgid_r(u->groups[i].gid, &grb, buf, sizeof buf, &gr) == 0 && gr &&
		    js_check_name("group name", gr->gr_name, JS_USER_NAME_MAX - 1, NULL) == 0)
			strcpy(u->groups[i].name, gr->gr_name);
		else
			snprintf(u->groups[i].name, JS_USER_NAME_MAX, "g%u", u->groups[i].gid);
	}
	return 0;
}

int js_user_by_name(const char *name, struct js_user *u, struct js_err *err)
{
	struct passwd pwb, *pw = NULL;
	char buf[16384];
	int r = getpwnam_r(name, &pwb, buf, sizeof buf, &pw);
	if (r != 0)
		return js_failm(err, r, "cannot look up user \"%s\"", name);
	if (!pw)
		return js_fail(err, ENOENT, "no such user \"%s\"", name);
	return fill(pw, u, err);
}

int js_user_by_uid(uid_t uid, struct js_user *u, struct js_err *err)
{
	struct passwd pwb, *pw = NULL;
	char buf[16384];
	int r = getpwuid_r(uid, &pwb, buf, sizeof buf, &pw);
	if (r != 0)
		return js_failm(err, r, "cannot look up uid %u", (unsigned)uid);
	if (!pw)
		return js_fail(err, ENOENT, "no passwd entry for uid %u", (unsigned)uid);
	return fill(pw, u, err);
}

size_t js_user_group_names(const struct js_user *u, const char **names, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < u->ngroups && n < cap; i++)
		names[n++] = u->groups[i].name;
	return n;
}
