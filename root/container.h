/* SPDX-License-Identifier: MIT */
/* The privileged side of a user's container: made, joined to a session,
 * and torn down by jsandbox-root (root/main.c, which the PAM module
 * executes) and jsandboxctl. The container init itself is helper/init.c. */
#ifndef JSANDBOX_CONTAINER_H
#define JSANDBOX_CONTAINER_H

#include <sys/types.h>

#include "cgroup.h"
#include "idmap.h"
#include "jsutil.h"
#include "policy.h"
#include "userinfo.h"

struct js_ctl_rep;

/* How a session's process joins its container by itself (the PAM module
 * in sshd's monitor does, with what jsandbox-root sends it): write "0" to
 * each of cg_fd[0..ncg) (the user's cgroup files, see
 * js_cgroup_session_files), then setns(netns_fd, CLONE_NEWNET) when it is
 * not -1. leave[]: where a closing session writes "0" to step out. */
struct js_session_join {
	size_t ncg;
	int cg_fd[JS_CGROUP_MAX_HIER];
	char leave[JS_CGROUP_MAX_HIER][JS_CGROUP_LEAVE_MAX];
	int netns_fd;
	char gpus[128]; /* the GPUs the container holds (as in its state) */
};
void js_session_join_close(struct js_session_join *j);

/* A session opens for u (policy p): make the container unless a live one
 * exists, register session_pid's session and fill *join with what that
 * process needs to join the user's cgroup (and, for network = none, the
 * container's network namespace). *created tells whether a container was
 * made. On failure *join holds no fd. */
int js_session_open(const struct js_global *g, const struct js_policy *p, const struct js_user *u, pid_t session_pid,
		    bool *created, struct js_session_join *join, struct js_err *err);

/* The session of session_pid ends: unregister it; when it was the last one
 * and the policy (linger, as the caller resolved it now) does not linger,
 * the container and every process in the user's cgroup (host-side ones
 * included) are killed here. *ended: a live container was ended by this
 * call (for the container-stop line, reason=last-logout). */
int js_session_close(const struct js_global *g, const struct js_user *u, pid_t session_pid, bool linger, bool *ended,
		     struct js_err *err);

/* Stop the user's container now (jsandboxctl stop) and clean up; *ended
 * says whether a live one was ended (js_container_reset too). A container
 * found dead is logged here (event=container-stop reason=oom|crash). */
int js_container_stop(const struct js_global *g, const struct js_user *u, bool *ended, struct js_err *err);

/* Work on u's layer as a whole (jsandboxctl reset, layer import): called
 * under u's lock with no container of u alive and nothing of u left, with
 * state_dir and state_dir/users (root-owned, checked) open. */
typedef int js_layer_fn(const struct js_global *g, const struct js_user *u, int state, int users, void *arg,
			struct js_err *err);

/* Stop the container and remove the user's writable layer (jsandboxctl
 * reset): the next login starts from the bare image. `before` (may be
 * NULL) runs first, on the stopped layer; its failure keeps the layer. *ended as for js_container_stop. */
int js_container_reset(const struct js_global *g, const struct js_user *u, js_layer_fn *before, void *arg, bool *ended,
		       struct js_err *err);

/* fn on u's layer; refused (EBUSY) while u's container runs. */
int js_container_with_layer(const struct js_global *g, const struct js_user *u, js_layer_fn *fn, void *arg,
			    struct js_err *err);

/* u's subordinate ranges (checked as for a container start) and the
 * container's keep-id maps built from them. */
int js_container_idmaps(const struct js_user *u, struct js_subid *su, struct js_subid *sg, struct js_idmap *um,
			struct js_idmap *gm, struct js_err *err);

/* Write the container's maps (js_container_idmaps) for pid, a process
 * that has just made its user namespace. */
int js_container_write_maps(pid_t pid, const struct js_user *u, const struct js_subid *su, const struct js_subid *sg,
			    struct js_err *err);

/* A detached, read-only clone of the image directory imgdir, idmapped
 * through pid's user namespace (what the container's overlay has below). */
int js_container_idmapped_image(int imgdir, pid_t pid, struct js_err *err);

/* Apply policy p (limits and device rules) to u's running container now,
 * under the user's lock, killing nothing; *running says whether one runs
 * (when none does there is nothing to do: the next login makes one with
 * the policy). Device nodes are not added to or removed from the
 * container's /dev (see docs/gpus.md): the rules are, and they never
 * allow more than p. */
int js_container_apply(const struct js_global *g, const struct js_policy *p, const struct js_user *u, bool *running,
		       struct js_err *err);

/* Ask a running container for its status; -ESRCH when none runs,
 * -EPROTONOSUPPORT (*init_pid set) when its init speaks a protocol this
 * build cannot (started by another jsandbox version, root/proto.h). */
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
