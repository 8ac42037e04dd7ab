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

/* fd numbers the init finds at exec */
#define JS_INIT_SETUP_FD 3

struct js_setup {
	uint32_t magic;
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
	int32_t status; /* 0 or -errno */
	uint32_t phase;
	int32_t pid; /* JS_PHASE_FORKED: the init's host pid */
	char msg[400];
};

enum js_ctl_op { JS_CTL_OPEN = 'O', JS_CTL_CLOSE = 'C', JS_CTL_STATUS = 'S' };

struct js_ctl_req {
	uint32_t magic;
	char op;
	int32_t pid; /* the session's monitor process (host pid) */
};
/* JS_CTL_OPEN carries a pidfd of that process */

struct js_ctl_rep {
	uint32_t magic;
	int32_t status;
	uint32_t sessions;
	uint32_t procs; /* processes in the container, init included */
	uint8_t shutting_down;
	uint8_t linger;
};

#endif
