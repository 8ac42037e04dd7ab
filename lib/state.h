/* SPDX-License-Identifier: MIT */
/* Runtime state of a user's container, run_dir/<uid>/state (root-owned):
 * the init's pid together with its start time and user-namespace inode,
 * because a bare pid is never trusted (it may have been reused). */
#ifndef JSANDBOX_STATE_H
#define JSANDBOX_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "jsutil.h"

struct js_state {
	pid_t pid;
	uint64_t start;	 /* /proc/PID/stat field 22 */
	uint64_t userns; /* inode of /proc/PID/ns/user */
	uint64_t netns;	 /* inode of /proc/PID/ns/net */
	uint32_t uid;
	char user[33];
	char image[64];
	/* The jsandbox version that started the container (JSANDBOX_VERSION
	 * of its jsandbox-root; "" when a state has none). */
	char version[32];
	/* The root <-> init protocol the container's init speaks
	 * (root/proto.h, JS_PROTO_VERSION of the jsandbox that started it):
	 * 1 for a state without the line (written before the protocol had
	 * a version), 0 when the line is there but unreadable. */
	uint32_t proto;
	/* The GPUs the container was granted when it started or when the
	 * policy was last applied to it (js_gpus_format: "0,1", "none"). */
	char gpus[128];
};

int js_proc_starttime(pid_t pid, uint64_t *out);
int js_ns_inode(pid_t pid, const char *ns, uint64_t *out);

/* Writes s as it is (the creator fills in version and proto). */
int js_state_write(int dirfd, const struct js_state *s, struct js_err *err);
/* The text of a state file (modified in place), for js_state_read and the
 * unit tests: unknown lines are skipped, a missing pid, start, userns or
 * uid fails. */
int js_state_parse(char *buf, struct js_state *s, struct js_err *err);
/* Read and validate (root-owned, not writable by others). */
int js_state_read(int dirfd, struct js_state *s, struct js_err *err);

/* Is the recorded init still the same process? Returns a pidfd for it
 * (>= 0), -ESRCH when it is gone or is another process now. */
int js_state_pidfd(const struct js_state *s);

#endif
