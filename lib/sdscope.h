/* SPDX-License-Identifier: MIT */
/* On a host booted with systemd and a pure cgroup v2 tree, the user's
 * cgroup lives in a systemd-managed, delegated unit instead of jsandbox's
 * own group at the tree's root:
 *
 *   user.slice/user-UID.slice/jsandbox-UID.scope/   systemd's (Delegate=yes)
 *   user.slice/user-UID.slice/jsandbox-UID.scope/NAME/   jsandbox's, as
 *       jsandbox/NAME is elsewhere: limits, device program, the container's
 *       processes and the sessions' sshd processes
 *
 * The scope is a transient unit made through systemd's D-Bus API
 * (StartTransientUnit, sd-bus): visible to loginctl and systemd-cgls in the
 * user's slice, PartOf=user@UID.service and BindsTo=user-runtime-dir@UID
 * .service, one of which logind stops on `loginctl terminate-user` (252:
 * user@, 256 on: user-runtime-dir@), so the container stops with the user,
 * and gone when its last process is (jsandboxctl stop, the last logout).
 * jsandbox writes only below the scope (its cgroup.subtree_control and the
 * NAME group), never systemd's own groups.
 *
 * Everywhere else (no systemd as PID 1, a hybrid or v1 tree) nothing here
 * applies and cgroup.c keeps jsandbox/NAME at each hierarchy's root. */
#ifndef JSANDBOX_SDSCOPE_H
#define JSANDBOX_SDSCOPE_H

#include <stdbool.h>
#include <stddef.h>

#include "jsutil.h"

/* Is this v2 hierarchy (its mount point) managed by systemd as PID 1? */
bool js_sd_manages(const char *v2_mountpoint);

/* The user's scope, relative to the v2 mount point:
 * "user.slice/user-UID.slice/jsandbox-UID.scope". -ENOENT for an unknown
 * user. */
int js_sd_scope_path(const char *name, char *rel, size_t len, struct js_err *err);

/* Make sure the user's scope exists (started with the calling process in
 * it, then that process moved into NAME below it), so that the scope's
 * cgroup.subtree_control can be written. Waits for systemd's job. Returns
 * 0, or a negative errno with the reason in err. */
int js_sd_scope_ensure(const char *v2_mountpoint, const char *name, struct js_err *err);

/* Does /proc/self/cgroup's v2 line name a jsandbox group (either place)? */
bool js_sd_self_in_user_group(void);

#endif
