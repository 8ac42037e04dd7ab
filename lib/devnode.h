/* SPDX-License-Identifier: MIT */
/* A node the root side grants a container (a device node, a GPU's /proc
 * entry, a driver file or link): its kinds, the rules for its names and the
 * message that carries it, shared by lib/devices.c, lib/gpu.c and
 * lib/gpudrv.c (which make the nodes), the set-up protocol (root/proto.h)
 * and the init (helper/), which checks each one again (js_node_ok). */
#ifndef JSANDBOX_DEVNODE_H
#define JSANDBOX_DEVNODE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* The magic of every message of the set-up protocol (root/proto.h),
 * the node messages included. */
#define JS_SETUP_MAGIC 0x6a736231u /* "jsb1" */

/* One granted node, sent after the set-up, each with one fd: a detached
 * mount (open_tree(OPEN_TREE_CLONE)) that root made of the node it checked
 * (found without following links, the type and numbers the cgroup allows).
 * The init only attaches it at `name`: it never resolves a host path, so
 * nothing it or the user planted can change what gets bound. The GPU
 * driver's files travel the same way (docs/gpus.md). */
enum js_node_kind {
	JS_NODE_DEV = 'D',    /* name: "/dev/..." in the container */
	JS_NODE_NVPROC = 'N', /* name: a directory of /proc/driver/nvidia/gpus */
	JS_NODE_FILE = 'F',   /* name: where a driver file goes (js_node_file_ok), bound read-only */
	JS_NODE_LINK = 'L',   /* no fd: a symlink `name` -> `target` in JS_DRIVER_DIR, both plain names */
};
/* The container's directory for the GPU driver's libraries: a read-only
 * tmpfs made at each start, listed in the ld cache. */
#define JS_DRIVER_DIR	   "/run/jsandbox/driver"
#define JS_NODE_NAME_MAX   256
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
/* A plain file name: [A-Za-z0-9._+-], not "." or "..". */
static inline bool js_node_plain_name(const char *c, size_t l)
{
	if (l == 0 || (l == 1 && c[0] == '.') || (l == 2 && c[0] == '.' && c[1] == '.'))
		return false;
	for (size_t i = 0; i < l; i++)
		if (!((c[i] >= 'a' && c[i] <= 'z') || (c[i] >= 'A' && c[i] <= 'Z') || (c[i] >= '0' && c[i] <= '9') ||
		      c[i] == '.' || c[i] == '_' || c[i] == '+' || c[i] == '-'))
			return false;
	return true;
}

/* Where a driver file may be bound: a plain name in JS_DRIVER_DIR, or in
 * /usr/bin (the driver's tools); nvidia-persistenced's socket; the
 * firmware, /lib/firmware/nvidia/<version>[/<file>]. */
static inline bool js_node_file_ok(const char *path)
{
	static const char *const dirs[] = {JS_DRIVER_DIR "/", "/usr/bin/"};
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		size_t dl = strlen(dirs[i]);
		if (!strncmp(path, dirs[i], dl) && !strchr(path + dl, '/') &&
		    js_node_plain_name(path + dl, strlen(path + dl)))
			return true;
	}
	if (!strcmp(path, "/run/nvidia-persistenced/socket"))
		return true;
	static const char fw[] = "/lib/firmware/nvidia/";
	if (strncmp(path, fw, sizeof fw - 1) != 0)
		return false;
	const char *v = path + sizeof fw - 1, *s = strchr(v, '/');
	if (!s)
		return js_node_plain_name(v, strlen(v));
	return js_node_plain_name(v, (size_t)(s - v)) && !strchr(s + 1, '/') &&
	       js_node_plain_name(s + 1, strlen(s + 1));
}

/* A node the container gets: what root collects (lib/devices.h's
 * js_dev_nodes), what travels (one message each, the fd as SCM_RIGHTS;
 * the fd field's value on the wire means nothing and is replaced by the
 * received one) and what the init attaches (helper/devnodes.h). */
struct js_node {
	uint32_t magic;
	char kind; /* enum js_node_kind */
	char name[JS_NODE_NAME_MAX];
	char target[JS_NODE_NAME_MAX]; /* JS_NODE_LINK's target, else "" */
	int32_t fd;		       /* -1 for JS_NODE_LINK */
};

/* The receiving side's check of one node message: the kind is known and
 * its names are what that kind allows. */
static inline bool js_node_ok(const struct js_node *m)
{
	switch (m->kind) {
	case JS_NODE_DEV:
		return js_dev_path_ok(m->name);
	case JS_NODE_NVPROC:
		/* a PCI address as the driver names its directory */
		return m->name[0] && m->name[0] != '.' && !strchr(m->name, '/') && !m->target[0];
	case JS_NODE_FILE:
		return js_node_file_ok(m->name) && !m->target[0];
	case JS_NODE_LINK:
		return js_node_plain_name(m->name, strlen(m->name)) && js_node_plain_name(m->target, strlen(m->target));
	default:
		return false;
	}
}

#endif
