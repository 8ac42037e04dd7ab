/* SPDX-License-Identifier: MIT */
/* What the PAM module (root) and the container init (the user) say to each
 * other: the one-time setup over a socketpair, and the control socket
 * (run_dir/<uid>/priv/ctl, root only) that counts sessions. */
#ifndef JSANDBOX_PROTO_H
#define JSANDBOX_PROTO_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "userinfo.h"

#define JS_SETUP_MAGIC 0x6a736231u /* "jsb1" */
#define JS_INIT_NAME   "jsandbox-init"

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
	/* How many struct js_setup_node messages follow the set-up. */
	uint32_t nnodes;
	/* An image layer (lib/layer.h): where the init attaches its file
	 * system, the third fd, before the overlay (host path); "" none. */
	char layer_dir[PATH_MAX];
};
/* sent with the setup: [0] the idmapped image mount, [1] the ctl listener,
 * [2] an image layer's detached mount when layer_dir is set */

/* One granted node, sent after the set-up, each with one fd: a detached
 * mount (open_tree(OPEN_TREE_CLONE)) that root made of the node it checked
 * (found without following links, the type and numbers the cgroup allows).
 * The init only attaches it at `name`: it never resolves a host path, so
 * nothing it or the user planted can change what gets bound. */
enum js_node_kind {
	JS_NODE_DEV = 'D',    /* name: "/dev/..." in the container */
	JS_NODE_NVPROC = 'N', /* name: a directory of /proc/driver/nvidia/gpus */
};
#define JS_SETUP_NODES_MAX 512

/* A name a node may have in the container's /dev, checked on both sides:
 * "/dev/" then components of [A-Za-z0-9._+-], none "." or "..", no empty
 * one. */
static inline bool js_dev_path_ok(const char *path)
{
	if (strncmp(path, "/dev/", 5) != 0 || !path[5])
		return false;
	for (const char *c = path + 5; *c;) {
		const char *e = strchrnul(c, '/');
		size_t l = (size_t)(e - c);
		if (l == 0 || (l == 1 && c[0] == '.') || (l == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		for (const char *k = c; k < e; k++)
			if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') ||
			      *k == '.' || *k == '_' || *k == '+' || *k == '-'))
				return false;
		if (*e && !e[1])
			return false; /* trailing slash */
		c = *e ? e + 1 : e;
	}
	return true;
}
struct js_setup_node {
	uint32_t magic;
	char kind;
	char name[64];
};

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
