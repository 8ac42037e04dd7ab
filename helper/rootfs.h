/* SPDX-License-Identifier: MIT */
#ifndef JSANDBOX_ROOTFS_H
#define JSANDBOX_ROOTFS_H

#include "jsutil.h"
#include "proto.h"

/* A node received from the module (struct js_setup_node and its fd). */
struct js_rootfs_node {
	char kind; /* JS_NODE_DEV, JS_NODE_NVPROC */
	char name[64];
	int fd;
};

/* The nodes js_rootfs_build attaches in /dev and /proc/driver/nvidia/gpus
 * (kept by the caller until the build is done). */
void js_rootfs_use_nodes(const struct js_rootfs_node *nodes, size_t n);

/* Build the container's root and pivot into it. Runs in the init, as root
 * of the user's namespace, in its fresh mount namespace. */
int js_rootfs_build(const struct js_setup *s, int image_fd, struct js_err *err);

#endif
