/* SPDX-License-Identifier: MIT */
/* A device node the root side grants a container: its kind and the rule for
 * its name, shared by lib/devices.c, lib/gpu.c (which make the nodes), the
 * set-up protocol (root/proto.h) and the init (helper/), which checks the
 * name again. */
#ifndef JSANDBOX_DEVNODE_H
#define JSANDBOX_DEVNODE_H

#include <stdbool.h>
#include <string.h>

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
#endif
