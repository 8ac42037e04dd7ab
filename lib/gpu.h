/* SPDX-License-Identifier: MIT */
/* GPU discovery and the policy's `gpus =` selection.
 *
 * Discovery reads a root directory (host_root: "/" in production, a fake
 * tree in tests) and never runs a vendor tool:
 *   NVIDIA  proc/driver/nvidia/gpus/<pci>/information ("Device Minor:",
 *           "GPU UUID:", "Bus Location:", "Model:"); node /dev/nvidia<minor>;
 *           MIG capabilities under proc/driver/nvidia/capabilities/gpu<minor>/
 *   AMD     sys/class/drm/renderD<N> whose device's vendor is 0x1002;
 *           node /dev/dri/renderD<N>, and /dev/kfd shared by all AMD GPUs
 *   Intel   the same with vendor 0x8086
 * NVIDIA's own DRM render nodes (vendor 0x10de) are ignored: CUDA uses
 * /dev/nvidia<minor>.
 *
 * A GPU's index is its position among all GPUs of the host ordered by PCI
 * address (domain, bus, device, function) — never the NVIDIA device
 * minor, which the driver assigns in probe order and which need not follow
 * the bus. On an NVIDIA-only host this is nvidia-smi's default order.
 * See docs/gpus.md. */
#ifndef JSANDBOX_GPU_H
#define JSANDBOX_GPU_H

#include <stdbool.h>
#include <stddef.h>

#include "devices.h"
#include "devrule.h"
#include "jsutil.h"

enum js_gpu_vendor { JS_GPU_NVIDIA, JS_GPU_AMD, JS_GPU_INTEL, JS_GPU_VENDOR__COUNT };

/* "nvidia", "amd", "intel" */
const char *js_gpu_vendor_name(enum js_gpu_vendor v);

/* Device nodes of one GPU: its own node plus, for NVIDIA, the MIG
 * capability nodes of its GPU and compute instances. A100/H100 have at
 * most 7 GPU instances and 7 compute instances, so 32 is ample. */
#define JS_GPU_NODES_MAX 32

struct js_gpu {
	unsigned index;
	enum js_gpu_vendor vendor;
	char pci[24];	  /* normalised "dddd:bb:dd.f", lower case */
	char uuid[48];	  /* NVIDIA "GPU-xxxxxxxx-...", lower-case hex; "" otherwise */
	char model[64];	  /* NVIDIA "Model:"; "vendor 0x1002 device 0x740f" for DRM GPUs */
	long minor;	  /* NVIDIA device minor, DRM render minor */
	char procdir[32]; /* NVIDIA: its directory under proc/driver/nvidia/gpus */
	size_t nnodes;
	struct js_dev_rule node[JS_GPU_NODES_MAX]; /* type 'c', access rw, path set */
};

struct js_gpu_list {
	size_t n;
	struct js_gpu *gpu; /* ordered by PCI address; gpu[i].index == i */
	/* Nodes every GPU of a vendor needs, granted when any GPU of that
	 * vendor is: nvidiactl, nvidia-modeset, nvidia-uvm, nvidia-uvm-tools
	 * for NVIDIA; kfd for AMD; none for Intel. A node whose numbers are
	 * neither on the host nor in proc/devices (module not loaded) is
	 * left out. */
	struct js_dev_list shared[JS_GPU_VENDOR__COUNT];
};

/* Find every GPU under host_root. No GPU at all is not an error (n = 0).
 * A GPU the driver lists but whose information cannot be read is: leaving
 * it out would shift the index of every GPU after it. */
int js_gpu_discover(const char *host_root, struct js_gpu_list *out, struct js_err *err);

void js_gpu_list_free(struct js_gpu_list *l);

/* Which GPUs a selection names: granted[i] for gpu[i] (granted has
 * all->n entries; may be NULL when all->n is 0). An index, PCI address or
 * UUID that matches no GPU is an error naming it. MIG device UUIDs
 * ("MIG-...") cannot be resolved without NVML or a CDI spec and are
 * refused with a message saying how to name them. CDI names are left to
 * js_gpu_select_cdi (they mark nothing here). */
int js_gpu_resolve(const struct js_gpu_list *all, const struct js_gpu_sel *sel, bool *granted, struct js_err *err);

/* Append to `nodes` the device nodes of the GPUs sel grants, plus the
 * shared nodes of each vendor with a granted GPU (de-duplicated, access
 * rw). Nothing is appended on error. */
int js_gpu_select(const struct js_gpu_list *all, const struct js_gpu_sel *sel, struct js_dev_list *nodes,
		  struct js_err *err);

/* What sel grants on this host now, for the runtime state and status:
 * "none", or the granted GPUs' indices ("0,2"). */
int js_gpu_granted_text(const char *host_root, const struct js_gpu_sel *sel, char *buf, size_t len, struct js_err *err);

struct js_cdi_set;

/* js_gpu_select on a host with CDI specs (lib/cdi.h; cdi may be NULL or
 * empty). A discovered GPU whose vendor's kind (nvidia.com/gpu,
 * amd.com/gpu, intel.com/gpu) has a spec gets what its spec device lists
 * (the device naming its own node), not the discovered nodes; CDI names
 * ("nvidia.com/gpu=0:1") and UUIDs a spec names a device by resolve to
 * that device. Each granted device's nodes are required, its spec's
 * spec-wide nodes optional; type and numbers come from the host node
 * under host_root. A GPU whose vendor has a spec that does not list it is
 * an error (a stale spec). */
int js_gpu_select_cdi(const char *host_root, const struct js_gpu_list *all, const struct js_cdi_set *cdi,
		      const struct js_gpu_sel *sel, struct js_dev_list *nodes, struct js_err *err);

/* js_cdi_load under host_root. */
int js_gpu_load_cdi(const char *host_root, struct js_cdi_set *out, struct js_err *err);

/* Append to `nodes` one JS_NODE_NVPROC entry per granted NVIDIA GPU: a
 * detached mount (made as root) of host_root/proc/driver/nvidia/gpus/<dir>,
 * named <dir>, so the container's /proc/driver/nvidia/gpus can show only
 * those. */
int js_gpu_open_proc(const char *host_root, const struct js_gpu_sel *sel, struct js_dev_nodes *nodes,
		     struct js_err *err);

/* What a container granted GPUs gets from the host besides the device
 * nodes: js_gpu_open_proc's entries and, when an NVIDIA GPU is granted,
 * the driver's user-space files (lib/gpudrv.h: JS_NODE_FILE and
 * JS_NODE_LINK entries), found afresh at each call: by the built-in
 * discovery for NVIDIA GPUs without a CDI spec, from the specs' mounts
 * and create-symlinks hooks for CDI devices. */
int js_gpu_open_host_files(const char *host_root, const struct js_gpu_sel *sel, struct js_dev_nodes *nodes,
			   struct js_err *err);

#endif
