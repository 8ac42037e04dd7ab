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
	/* The jsandbox version whose module wrote the state, i.e. started the
	 * container (js_state_write fills it in; "" when an older one did). */
	char version[32];
};

int js_proc_starttime(pid_t pid, uint64_t *out);
int js_ns_inode(pid_t pid, const char *ns, uint64_t *out);

int js_state_write(int dirfd, const struct js_state *s, struct js_err *err);
/* Read and validate (root-owned, not writable by others). */
int js_state_read(int dirfd, struct js_state *s, struct js_err *err);

/* Is the recorded init still the same process? Returns a pidfd for it
 * (>= 0), -ESRCH when it is gone or is another process now. */
int js_state_pidfd(const struct js_state *s);

#endif
