/* SPDX-License-Identifier: MIT */
/* What the policy says about devices, in the form both the policy parser
 * (conf/) and the kernel pieces that apply it (lib/devices.c, lib/gpu.c)
 * use: the GPU selection of `gpus =` and the rules of `devices =`. Here,
 * so that lib/ needs nothing of conf/. */
#ifndef JSANDBOX_DEVRULE_H
#define JSANDBOX_DEVRULE_H

#include <stdbool.h>
#include <stddef.h>

#define JS_GPU_MAX 64 /* entries in one gpus = list */

enum js_gpus_kind { JS_GPUS_NONE, JS_GPUS_ALL, JS_GPUS_LIST };
enum js_gpu_ref_type { JS_GPU_INDEX, JS_GPU_PCI, JS_GPU_UUID, JS_GPU_CDI };

struct js_gpu_ref {
	enum js_gpu_ref_type type;
	unsigned index; /* JS_GPU_INDEX */
	/* JS_GPU_PCI: normalised "dddd:bb:dd.f", lower case, domain filled in.
	 * JS_GPU_UUID: "GPU-..." or "MIG-..." as written (hex lower-cased).
	 * JS_GPU_CDI: a CDI device name "vendor/class=name" as written
	 * ("nvidia.com/gpu=0", "nvidia.com/gpu=0:1", "amd.com/gpu=GPU-..."). */
	char id[96];
};

struct js_gpu_sel {
	enum js_gpus_kind kind;
	size_t n;
	struct js_gpu_ref ref[JS_GPU_MAX];
};

/* A cgroup device rule, optionally naming the node to create in the
 * container's /dev. Forms accepted in `devices =` (comma-separated):
 *   c 10:229 rwm            rule only
 *   c 10:229 rwm /dev/fuse  rule, and the node /dev/fuse inside
 *   /dev/fuse               node and rule, type and numbers taken from the
 *   /dev/fuse rw            host node when the container is made (type 0
 *                           and major/minor -1 until then)
 * major/minor -1 means '*'. */
#define JS_DEV_READ  1u
#define JS_DEV_WRITE 2u
#define JS_DEV_MKNOD 4u
struct js_dev_rule {
	char type; /* 'c', 'b', 'a', or 0 for the path form before resolution */
	long major, minor;
	unsigned access; /* JS_DEV_* bits, never 0 */
	char path[64];	 /* "" or an absolute path under /dev */
	/* A node the container gets only when the host has it (a GPU's
	 * shared or MIG nodes: nvidia-modeset, nvidia-uvm-tools,
	 * nvidia-caps/...): js_devices_build leaves it out, rule and node,
	 * when host_root/dev lacks it. Never set by the policy parser. */
	bool optional;
};

#endif
