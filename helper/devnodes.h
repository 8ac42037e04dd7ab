/* SPDX-License-Identifier: MIT */
/* The container's device nodes, its view of the NVIDIA driver's GPU list
 * and the GPU driver's files, attached by the init from the detached
 * mounts the module sent (lib/devnode.h, struct js_node): the init never
 * resolves a host path for them. Defined at the end of helper/rootfs.c
 * (the init is built from init.c and rootfs.c), used by js_rootfs_build()
 * with the new root as the working directory. */
#ifndef JSANDBOX_DEVNODES_H
#define JSANDBOX_DEVNODES_H

#include <stdbool.h>
#include <stddef.h>

#include "jsutil.h"
#include "proto.h"

/* Attach every JS_NODE_DEV node at its name under dev/ (making dev/dri/,
 * dev/nvidia-caps/ as needed). */
int js_devnodes_attach_dev(const struct js_node *nodes, size_t n, struct js_err *err);

/* /proc/driver/nvidia/gpus with only the granted GPUs' entries (the
 * JS_NODE_NVPROC nodes) on a read-only tmpfs; see docs/gpus.md. */
int js_devnodes_nvidia_proc(const struct js_node *nodes, size_t n, struct js_err *err);

/* The GPU driver's files (JS_NODE_FILE, JS_NODE_LINK): the libraries and
 * their links on a read-only tmpfs at JS_DRIVER_DIR, the tools bound
 * read-only over /usr/bin/<name> (rootfd: the new root, for the
 * placeholders in the user's layer), and the ld.so.conf.d entry naming
 * JS_DRIVER_DIR written (or, with no driver file, removed). *ldconfig is
 * set when the ld cache must be rebuilt (js_devnodes_ldconfig, after
 * pivot_root). */
int js_devnodes_driver(int rootfd, const struct js_node *nodes, size_t n, bool *ldconfig, struct js_err *err);

/* Rebuild the container's ld cache with the image's own ldconfig, run as
 * the container's root with no capability and no_new_privs (it is a
 * binary of the user's layer). */
int js_devnodes_ldconfig(struct js_err *err);

#endif
