/* SPDX-License-Identifier: MIT */
/* The container's device allow-list: which device nodes a sandboxed user
 * may open, and which of them exist in the container's /dev.
 *
 * One list feeds three consumers, so they can never disagree:
 *   - the cgroup v1 `devices` controller (devices.deny / devices.allow),
 *   - the cgroup v2 device eBPF program (lib/ebpf.c),
 *   - the container's /dev: every entry with a path is a node bound there
 *     from the host (a user namespace cannot mknod).
 *
 * The list is default deny. It holds the standard nodes (null, zero, full,
 * random, urandom, tty, ptmx and the container's own ptys), the nodes of
 * the GPUs the policy grants (lib/gpu.c) and the policy's `devices` rules.
 * See docs/gpus.md. */
#ifndef JSANDBOX_DEVICES_H
#define JSANDBOX_DEVICES_H

#include <stdbool.h>
#include <stddef.h>

#include "devnode.h"
#include "devrule.h"
#include "jsutil.h"

struct js_cgroup;

/* A growable list of rules. Each entry is a struct js_dev_rule (devrule.h):
 * type 'c', 'b' or 'a'; major/minor, -1 for '*'; JS_DEV_* access bits;
 * path "" for a rule only, or "/dev/..." for a node the container gets.
 * Entries are unique by (type, major, minor, path); adding an existing one
 * ORs the access bits. Zero-initialise, free with js_dev_list_free. */
struct js_dev_list {
	size_t n, cap;
	struct js_dev_rule *r;
};

void js_dev_list_free(struct js_dev_list *l);

/* Append a resolved rule (type c, b or a). Returns 0, -ENOMEM, -EINVAL for
 * a rule that is not resolved, or -EEXIST when the same path is already
 * listed with other numbers (two nodes racing for one name). */
int js_dev_list_add(struct js_dev_list *l, const struct js_dev_rule *r, struct js_err *err);

/* True when the list allows `access` (JS_DEV_* bits) on the node, by the
 * same rule as the kernel: one entry must cover every requested bit. */
bool js_dev_list_allows(const struct js_dev_list *l, char type, long major, long minor, unsigned access);

/* Append the standard nodes every container needs. */
int js_devices_add_defaults(struct js_dev_list *l, struct js_err *err);

/* Resolve a policy rule of the path form ("/dev/fuse", type 0) from the
 * host node host_root/dev/... — found without following any symlink, and
 * it must be a character or block device. Other rules are copied. */
int js_devices_resolve_rule(const char *host_root, const struct js_dev_rule *in, struct js_dev_rule *out,
			    struct js_err *err);

/* The whole allow-list for a policy: the defaults, the nodes of the GPUs
 * sel grants (discovered under host_root, "/" in production), then the
 * policy's devices[0..ndevices). GPUs are looked at only when the policy grants any. On
 * failure *out is empty and err names the GPU, rule or node at fault. */
int js_devices_build(const char *host_root, const struct js_gpu_sel *sel, const struct js_dev_rule *devices,
		     size_t ndevices, struct js_dev_list *out, struct js_err *err);

/* Is this one of the standard nodes of js_devices_add_defaults? Those are
 * the same on every Linux host and always come from the real /dev, never
 * from host_root (a fake discovery tree need not carry them). */
bool js_devices_is_default(const struct js_dev_rule *r);

/* What the container gets bound: each granted node (and each granted
 * NVIDIA GPU's /proc/driver/nvidia/gpus entry, and the driver's files) as
 * a detached mount made by root, to be attached by the init at `name`
 * (struct js_node, devnode.h). */
struct js_dev_nodes {
	size_t n, cap;
	struct js_node *v;
};

void js_dev_nodes_close(struct js_dev_nodes *n);

/* Append a node of `kind` with its fd (taken: closed on failure too). */
int js_dev_nodes_add(struct js_dev_nodes *n, char kind, const char *name, int fd, struct js_err *err);

/* Append a JS_NODE_LINK: the symlink `name` -> `target` in JS_DRIVER_DIR. */
int js_dev_nodes_add_link(struct js_dev_nodes *n, const char *name, const char *target, struct js_err *err);

/* For every entry of the list with a path: find the node (standard nodes
 * under "/", the others under host_root) without following any link,
 * check that it is a device of the listed type and numbers, and clone it
 * into a detached mount (nosuid, noexec). A node that is missing or has
 * other numbers is an error naming it: the container's /dev must match
 * the cgroup list exactly. */
int js_devices_open_nodes(const char *host_root, const struct js_dev_list *l, struct js_dev_nodes *out,
			  struct js_err *err);

/* The same look-ups without cloning anything (no privilege needed): every
 * node with a path is there and is exactly the device its rule names. For
 * jsandboxctl check. */
int js_devices_check_nodes(const char *host_root, const struct js_dev_list *l, struct js_err *err);

/* "c 195:0 rw", "c 136:* rw", "a *:* rwm": the cgroup v1 syntax, also how
 * jsandboxctl shows a rule. */
int js_dev_rule_format(const struct js_dev_rule *r, char *buf, size_t len);

/* Make the v1 devices cgroup at dirfd enforce exactly the list: default
 * deny plus one exception per rule (a rule of type 'a' becomes "c *:*" and
 * "b *:*", since "a" in devices.allow would mean allow-all whatever the
 * access). Re-applying to a cgroup that already has a list only removes
 * and adds the differences, removals first, so the cgroup never allows
 * more than the new list. The result is read back from devices.list and
 * compared; a mismatch is an error. */
int js_devices_apply_v1(int dirfd, const struct js_dev_list *l, struct js_err *err);

/* Apply the list in every hierarchy of the user's cgroup: v1 hierarchies
 * with the devices controller, and every cgroup v2 directory (eBPF). At
 * least one backend must enforce it, or -EOPNOTSUPP: a container without a
 * device allow-list could open every node of the host it can see. */
int js_devices_apply(const struct js_cgroup *cg, const struct js_dev_list *l, struct js_err *err);

#endif
