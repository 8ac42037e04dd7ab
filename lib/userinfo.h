/* SPDX-License-Identifier: MIT */
/* The user a session is for: passwd entry and groups, copied out of the
 * NSS buffers so it can be sent to the container init. */
#ifndef JSANDBOX_USERINFO_H
#define JSANDBOX_USERINFO_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "jsutil.h"

#define JS_USER_NAME_MAX   33
#define JS_USER_GROUPS_MAX 64

struct js_group {
	uint32_t gid;
	char name[JS_USER_NAME_MAX];
};

struct js_user {
	char name[JS_USER_NAME_MAX];
	uint32_t uid, gid;
	char home[PATH_MAX];
	char shell[PATH_MAX]; /* the host login shell */
	char gecos[128];
	size_t ngroups; /* groups[0] is the primary group */
	struct js_group groups[JS_USER_GROUPS_MAX];
};

int js_user_by_name(const char *name, struct js_user *u, struct js_err *err);
int js_user_by_uid(uid_t uid, struct js_user *u, struct js_err *err);

/* Group names as an array of pointers into u (for js_config_resolve). */
size_t js_user_group_names(const struct js_user *u, const char **names, size_t cap);

#endif
