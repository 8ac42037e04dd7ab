/* SPDX-License-Identifier: MIT */
/* The privileged side of a user's container: made, joined to a session,
 * and torn down by the PAM module (root). The container init itself is
 * helper/jsandbox-init.c. */
#ifndef JSANDBOX_CONTAINER_H
#define JSANDBOX_CONTAINER_H

#include <sys/types.h>

#include "jsutil.h"
#include "policy.h"
#include "userinfo.h"

struct js_ctl_rep;

/* A session opens for u (policy p): make the container unless a live one
 * exists, move session_pid into the user's cgroup, register the session.
 * *created tells whether a container was made. */
int js_session_open(const struct js_global *g, const struct js_policy *p, const struct js_user *u, pid_t session_pid,
		    bool *created, struct js_err *err);

/* The session of session_pid ends: unregister it; when it was the last one
 * and the policy (linger, as the caller resolved it now) does not linger,
 * the container and every process in the user's cgroup (host-side ones
 * included) are killed here. */
int js_session_close(const struct js_global *g, const struct js_user *u, pid_t session_pid, bool linger,
		     struct js_err *err);

/* Stop the user's container now (jsandboxctl stop) and clean up. */
int js_container_stop(const struct js_global *g, const struct js_user *u, struct js_err *err);

/* Stop the container and remove the user's writable layer (jsandboxctl
 * reset): the next login starts from the bare image. */
int js_container_reset(const struct js_global *g, const struct js_user *u, struct js_err *err);

/* Apply policy p (limits and device rules) to u's running container now,
 * under the user's lock, killing nothing; *running says whether one runs
 * (when none does there is nothing to do: the next login makes one with
 * the policy). Device nodes are not added to or removed from the
 * container's /dev (see docs/gpus.md): the rules are, and they never
 * allow more than p. */
int js_container_apply(const struct js_global *g, const struct js_policy *p, const struct js_user *u, bool *running,
		       struct js_err *err);

/* Ask a running container for its status; -ESRCH when none runs. */
int js_container_status(const struct js_global *g, const struct js_user *u, struct js_ctl_rep *rep, pid_t *init_pid,
			struct js_err *err);

/* Processes in u's cgroup, host-side ones (sshd's for a session, what
 * they left) included: the root side's count, which nothing inside can
 * change. 0 when the cgroup exists nowhere. */
int js_container_procs(const struct js_user *u);

/* Is `shell` a login shell a sandboxed user may have: the jsandbox helper
 * itself, root-owned and not writable by others all the way up? A shell that
 * reads user files at start-up (bash reads ~/.bashrc under sshd) would run
 * the user's code on the host before the helper. */
int js_check_login_shell(const char *shell, struct js_err *err);

#endif
