/* SPDX-License-Identifier: MIT */
/* What pam_jsandbox (in sshd's monitor) asks jsandbox-root, the root helper
 * it executes for every step that needs the policy or touches a container.
 *
 * The module runs JSANDBOX_LIBEXECDIR/jsandbox-root by that fixed path, with
 * an empty environment, argv = { "jsandbox-root", NULL }, stdin, stdout and
 * stderr on /dev/null and one SOCK_SEQPACKET socket at fd JS_ROOTOP_FD,
 * nothing else. It sends one struct js_rootop_req and reads one struct
 * js_rootop_rep (with fds for JS_ROOTOP_OPEN); then the helper exits.
 *
 * The helper trusts nothing in the request: the size, magic and version
 * must match exactly, the op be known, the pid be its own parent's, the
 * name pass the name rule and NSS give that name the uid the request says.
 * It answers for its parent only (getppid()): that is the process it
 * registers, moves and counts. */
#ifndef JSANDBOX_ROOTOP_H
#define JSANDBOX_ROOTOP_H

#include <stdint.h>

#define JS_ROOTOP_NAME	  "jsandbox-root"
#define JS_ROOTOP_MAGIC	  0x6a737270u /* "jsrp" */
#define JS_ROOTOP_VERSION 1
#define JS_ROOTOP_FD	  3

/* How long the module waits for an answer: the helper's own bounds (the
 * user's lock, 60 s; a container's set-up, 30 s) plus a margin. */
#define JS_ROOTOP_TIMEOUT_MS 120000

enum js_rootop_op {
	JS_ROOTOP_ACCT = 1,  /* sandboxed? a login shell that may be? */
	JS_ROOTOP_OPEN = 2,  /* make or join the container, register the session */
	JS_ROOTOP_CLOSE = 3, /* unregister; the last session may end it */
};

#define JS_ROOTOP_NAME_MAX 33 /* as JS_USER_NAME_MAX */

struct js_rootop_req {
	uint32_t magic;
	uint16_t version;
	uint16_t op;
	int32_t pid; /* the caller: must be the helper's parent */
	uint32_t uid;
	char user[JS_ROOTOP_NAME_MAX];
};

enum js_rootop_status {
	JS_ROOTOP_OK = 0,	/* a sandboxed user, and the op is done */
	JS_ROOTOP_EXEMPT = 1,	/* root or `sandbox = no`: nothing to do */
	JS_ROOTOP_REFUSED = 2,	/* a sandboxed user who may not log in now */
	JS_ROOTOP_UNUSABLE = 3, /* the policy cannot be read or resolved for the user */
	JS_ROOTOP_BADREQ = 4,	/* the request itself was refused */
};

/* At most this many cgroup hierarchies a session joins (JS_CGROUP_MAX_HIER). */
#define JS_ROOTOP_CG_MAX   16
#define JS_ROOTOP_PATH_MAX 192

enum js_rootop_flags {
	JS_ROOTOP_CREATED = 1, /* OPEN made the container */
	JS_ROOTOP_NETNS = 2,   /* the last fd is the container's network namespace */
};

/* OPEN's answer carries ncg + (flags & JS_ROOTOP_NETNS ? 1 : 0) fds: one
 * cgroup file per hierarchy to join (`tasks` or `cgroup.procs` of the
 * user's group), opened by the helper for writing; the module writes "0" to
 * each, which moves the monitor itself (for `tasks`, without the kernel's
 * global migration lock). leave[] names the file of the hierarchy's root the
 * module writes "0" to before it asks for CLOSE: out of the user's group,
 * so a full pids.max there cannot stop the helper's start. */
struct js_rootop_rep {
	uint32_t magic;
	uint16_t version;
	uint16_t op;
	int32_t status;
	uint32_t flags;
	uint32_t ncg;
	char msg[512]; /* one line for the user (as struct js_err) */
	char leave[JS_ROOTOP_CG_MAX][JS_ROOTOP_PATH_MAX];
};

#endif
