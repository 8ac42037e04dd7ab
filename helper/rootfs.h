/* SPDX-License-Identifier: MIT */
#ifndef JSANDBOX_ROOTFS_H
#define JSANDBOX_ROOTFS_H

#include "jsutil.h"
#include "proto.h"

/* Build the container's root and pivot into it. Runs in the init, as root
 * of the user's namespace, in its fresh mount namespace. `nodes`: the
 * device nodes, NVIDIA proc entries and driver files the module sent
 * (checked with js_node_ok), attached where their names say. */
int js_rootfs_build(const struct js_setup *s, int image_fd, const struct js_node *nodes, size_t nnodes,
		    struct js_err *err);

#endif
