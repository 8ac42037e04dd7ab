/* SPDX-License-Identifier: MIT */
/* The container's device nodes and its view of the NVIDIA driver's GPU
 * list, attached by the init from the detached mounts the module sent
 * (lib/proto.h, struct js_setup_node): the init never resolves a host path
 * for them. Defined at the end of helper/rootfs.c (the init is built from
 * init.c and rootfs.c), used by its setup_dev() with the new root as the
 * working directory. */
#ifndef JSANDBOX_DEVNODES_H
#define JSANDBOX_DEVNODES_H

#include <stddef.h>

#include "jsutil.h"
#include "proto.h"

/* A node received from the module: a js_setup_node and its fd. */
struct js_rootfs_node {
	char kind; /* JS_NODE_DEV, JS_NODE_NVPROC */
	char name[64];
	int fd;
};

/* The nodes the next rootfs build attaches (kept by the caller until the
 * build is done). */
void js_rootfs_use_nodes(const struct js_rootfs_node *nodes, size_t n);

/* Attach every JS_NODE_DEV node at its name under dev/ (making dev/dri/,
 * dev/nvidia-caps/ as needed). */
int js_devnodes_attach_dev(struct js_err *err);

/* /proc/driver/nvidia/gpus with only the granted GPUs' entries (the
 * JS_NODE_NVPROC nodes) on a read-only tmpfs; see docs/gpus.md. */
int js_devnodes_nvidia_proc(struct js_err *err);

#endif
