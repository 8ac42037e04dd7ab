/* SPDX-License-Identifier: MIT */
/* The user's cgroup: jsandbox/<user> in every mounted hierarchy, cgroup v2
 * (unified) and v1 (legacy/hybrid) alike, root-owned and never delegated:
 * nothing inside the container may raise its limits or move processes. */
#ifndef JSANDBOX_CGROUP_H
#define JSANDBOX_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "jsutil.h"

#define JS_CGROUP_MAX_HIER 16

struct js_cgroup_limits {
	uint64_t memory_max; /* bytes, 0 = no limit */
	uint64_t pids_max;   /* 0 = no limit */
	uint32_t cpu_max;    /* percent of one CPU, 0 = no limit */
	uint32_t cpu_weight; /* 1..10000 */
	/* The weight of the group holding every container (jsandbox/) against
	 * the host's own processes, 1..10000 (v2 scale); 0 leaves it. Not
	 * used where systemd holds the containers (sdscope.h). */
	uint32_t parent_cpu_weight;
};

struct js_cgroup_hier {
	bool v2;
	char controllers[128]; /* v1: "memory", "cpu,cpuacct"; v2: "" */
	char mountpoint[256];
	int fd; /* the user's directory in this hierarchy, or -1 */
};

struct js_cgroup {
	size_t n;
	struct js_cgroup_hier h[JS_CGROUP_MAX_HIER];
};

/* Find the cgroup hierarchies mounted on this host (from mountinfo). */
int js_cgroup_discover(struct js_cgroup *cg, struct js_err *err);

/* Create (or open) jsandbox/<name> everywhere and apply limits. */
int js_cgroup_create(struct js_cgroup *cg, const char *name, const struct js_cgroup_limits *lim, struct js_err *err);

/* Open jsandbox/<name> where it exists (no creation). */
int js_cgroup_open(struct js_cgroup *cg, const char *name, struct js_err *err);

/* Move pid into the user's cgroup in every hierarchy. */
int js_cgroup_attach(const struct js_cgroup *cg, pid_t pid, struct js_err *err);

/* The user's open v2 directory, for a child born into it (clone3 with
 * CLONE_INTO_CGROUP: no migration, so none of the global lock and RCU
 * grace period a cgroup.procs write costs); -1 when there is none. */
int js_cgroup_v2_fd(const struct js_cgroup *cg);

/* The calling process, single-threaded, joins the user's cgroup in every
 * hierarchy but v2 when it was born there: v1 through `tasks` "0" (the
 * caller alone, without the global lock), v2 through cgroup.procs. */
int js_cgroup_attach_self(const struct js_cgroup *cg, bool born_in_v2, struct js_err *err);

/* The files through which a session's process (sshd's monitor) joins the
 * user's cgroup itself: in each hierarchy it should join, `tasks` (v1, a
 * single-threaded pid: writing "0" there moves the writer without the
 * kernel's global migration lock) or `cgroup.procs`, opened for writing
 * into fds[]; on a hybrid host not the controller-less unified tree. The
 * same hierarchy root's file goes into leave[] (where a closing session
 * writes "0" to step out). Every fd in fds[0..*n) is the caller's to close,
 * on failure too. */
#define JS_CGROUP_LEAVE_MAX 192
int js_cgroup_session_files(const struct js_cgroup *cg, pid_t pid, int *fds, char (*leave)[JS_CGROUP_LEAVE_MAX],
			    size_t *n, struct js_err *err);

/* Move pid back to the root of every hierarchy (a closing session's own
 * process, so the user's group can be removed). */
int js_cgroup_detach(const struct js_cgroup *cg, pid_t pid, struct js_err *err);

/* Number of distinct processes in the user's cgroup over every hierarchy
 * it exists in (the container's and the session's host-side ones alike);
 * 0 when it exists nowhere. Root-side truth: nothing inside can change it. */
int js_cgroup_count_all(const struct js_cgroup *cg);

/* How many processes the OOM killer killed in the user's group since it
 * was made (memory.events of v2, memory.oom_control of v1: oom_kill);
 * -1 when no hierarchy with the memory controller says. */
int64_t js_cgroup_oom_kills(const struct js_cgroup *cg);

/* Kill every process in jsandbox/<name> in every hierarchy, except the
 * caller (which should have stepped out first): cgroup.kill where v2 has
 * it, otherwise SIGKILL to each member, frozen first where a v1 freezer
 * hierarchy is mounted, until every hierarchy is empty. Bounded by
 * timeout_ms; -ETIMEDOUT if processes remain. The groups must be open
 * (js_cgroup_open). */
int js_cgroup_kill_all(const struct js_cgroup *cg, int timeout_ms, struct js_err *err);

/* Remove jsandbox/<name> everywhere it is empty, retrying (bounded, while
 * it has no member) the EBUSY a just-killed group gives; -EBUSY if
 * processes remain. */
int js_cgroup_remove(struct js_cgroup *cg, const char *name, struct js_err *err);

/* Whether jsandbox/<name> exists in any hierarchy; its path into where. */
bool js_cgroup_exists(const struct js_cgroup *cg, const char *name, char *where, size_t len);

void js_cgroup_close(struct js_cgroup *cg);

/* The host's total memory in bytes (for percentage limits). */
uint64_t js_host_memory(void);

/* Translate a v2 weight (1..10000, default 100) to v1 cpu.shares. */
uint64_t js_cpu_weight_to_shares(uint32_t weight);

#endif
