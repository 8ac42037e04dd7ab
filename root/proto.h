/* SPDX-License-Identifier: MIT */
/* What the root side (jsandbox-root, root/container.c) and the container
 * init (the user) say to each other: the one-time setup over a socketpair, and the control socket
 * (run_dir/<uid>/priv/ctl, root only) that counts sessions. */
#ifndef JSANDBOX_PROTO_H
#define JSANDBOX_PROTO_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "devnode.h"
#include "userinfo.h"

#define JS_INIT_NAME "jsandbox-init"

/* The protocol's version. Every message below carries it, the runtime
 * state records the one the container's init speaks (lib/state.h, proto=),
 * and a root side meets an init of any version: it talks to it when
 * JS_PROTO_MIN <= version <= JS_PROTO_VERSION (js_proto_compat), and
 * otherwise leaves it alone and says so (docs/design.md, "Upgrades"), never
 * guessing at messages it cannot read. Rule for changes: a change of any
 * message's layout or meaning raises both numbers to the same new value;
 * an addition that an older init ignores (a new op the root side only uses
 * with inits that know it) raises only JS_PROTO_VERSION. Version 1 was the
 * unversioned protocol before this field: its runtime state has no proto=
 * line. JSANDBOX_TEST_PROTO (a CMake cache variable for the upgrade test
 * only, tests/package_upgrade.sh) builds a jsandbox whose protocol is that
 * number and that speaks no other. */
#ifdef JSANDBOX_TEST_PROTO
#define JS_PROTO_VERSION ((uint32_t)(JSANDBOX_TEST_PROTO))
#define JS_PROTO_MIN	 ((uint32_t)(JSANDBOX_TEST_PROTO))
#else
#define JS_PROTO_VERSION 2u
#define JS_PROTO_MIN	 2u
#endif
/* The protocol of a runtime state without a proto= line. */
#define JS_PROTO_UNVERSIONED 1u

/* fd numbers the init finds at exec */
#define JS_INIT_SETUP_FD 3

struct js_setup {
	uint32_t magic;
	uint32_t version; /* JS_PROTO_VERSION; the init accepts only its own */
	struct js_user user;
	char shell[PATH_MAX]; /* inside the container */
	uint8_t sudo, linger, net_none;
	uint64_t tmp_size;	  /* bytes */
	uint32_t pty_max;	  /* the container's devpts max= (policy pty_max) */
	char lower_dir[PATH_MAX]; /* staging point for the image (host path) */
	char root_dir[PATH_MAX];  /* staging point for the overlay (host path) */
	char upper_dir[PATH_MAX];
	char work_dir[PATH_MAX];
	/* How many struct js_node messages follow the set-up. */
	uint32_t nnodes;
	/* An image layer (lib/layer.h): where the init attaches its file
	 * system, the third fd, before the overlay (host path); "" none. */
	char layer_dir[PATH_MAX];
};
/* sent with the setup: [0] the idmapped image mount, [1] the ctl listener,
 * [2] an image layer's detached mount when layer_dir is set */

/* After the set-up: nnodes struct js_node messages (lib/devnode.h), each
 * with its fd but JS_NODE_LINK. */

/* JS_PHASE_COMMIT goes the other way: the module tells the init that the
 * runtime state naming it is written (struct js_setup_reply, status 0).
 * Until then the set-up socket is the init's only tie to its creator: when
 * it closes first (sshd's monitor killed mid-creation) the init ends. */
enum js_setup_phase { JS_PHASE_USERNS = 1, JS_PHASE_FORKED = 2, JS_PHASE_READY = 3, JS_PHASE_COMMIT = 4 };

struct js_setup_reply {
	uint32_t magic;
	uint32_t version; /* the sender's JS_PROTO_VERSION */
	int32_t status;	  /* 0 or -errno */
	uint32_t phase;
	int32_t pid; /* JS_PHASE_FORKED: the init's host pid */
	char msg[400];
};

enum js_ctl_op { JS_CTL_OPEN = 'O', JS_CTL_CLOSE = 'C', JS_CTL_STATUS = 'S' };

struct js_ctl_req {
	uint32_t magic;
	uint32_t version; /* the init's version (from the runtime state) */
	char op;
	int32_t pid; /* the session's monitor process (host pid) */
};
/* JS_CTL_OPEN carries a pidfd of that process */

struct js_ctl_rep {
	uint32_t magic;
	uint32_t version; /* the init's JS_PROTO_VERSION */
	int32_t status;
	uint32_t sessions;
	uint32_t procs; /* processes in the container, init included */
	uint8_t shutting_down;
	uint8_t linger;
};

/* Can this build talk to an init of protocol version v? */
enum js_proto_compat { JS_PROTO_OK = 0, JS_PROTO_OLDER = -1, JS_PROTO_NEWER = 1 };
static inline enum js_proto_compat js_proto_compat(uint32_t v)
{
	if (v < JS_PROTO_MIN)
		return JS_PROTO_OLDER;
	if (v > JS_PROTO_VERSION)
		return JS_PROTO_NEWER;
	return JS_PROTO_OK;
}

/* Is what came back (n bytes) the init's answer in the version asked?
 * NULL when it is, else why not. Nothing of a message that fails is read. */
static inline const char *js_ctl_rep_check(const struct js_ctl_rep *rep, long n, uint32_t version)
{
	if (n < 0)
		return "no answer";
	if (n != (long)sizeof *rep)
		return "an answer of the wrong size";
	if (rep->magic != JS_SETUP_MAGIC)
		return "an answer with the wrong magic";
	if (rep->version != version)
		return "an answer in another protocol version";
	return NULL;
}

/* The init's side: a request in its own version, NULL or why not. */
static inline const char *js_ctl_req_check(const struct js_ctl_req *req, long n)
{
	if (n != (long)sizeof *req)
		return "a request of the wrong size";
	if (req->magic != JS_SETUP_MAGIC)
		return "a request with the wrong magic";
	if (req->version != JS_PROTO_VERSION)
		return "a request in another protocol version";
	return NULL;
}

#endif
