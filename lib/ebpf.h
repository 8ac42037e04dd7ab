/* SPDX-License-Identifier: MIT */
/* The cgroup v2 device controller: cgroup v2 has no devices.allow; the
 * kernel instead runs BPF_PROG_TYPE_CGROUP_DEVICE programs attached to the
 * cgroup and its ancestors on every open() and mknod() of a device node
 * (devcgroup_check_permission()). This file generates that program from
 * the allow-list itself — raw instructions, no libbpf, no compiler — loads
 * it with bpf(2) and attaches it.
 *
 * Attachment is BPF_F_ALLOW_MULTI on a root-owned cgroup: the kernel then
 * runs every ALLOW_MULTI program of the cgroup and of its ancestors, and a
 * device is allowed only if all of them allow it, so a child cgroup can add
 * restrictions but never lift ours (unlike BPF_F_ALLOW_OVERRIDE, where a
 * child's program replaces the parent's). Loading and attaching need
 * CAP_SYS_ADMIN (and CAP_BPF); unprivileged bpf() is off on this host
 * anyway, and only the PAM module (root) calls this. */
#ifndef JSANDBOX_EBPF_H
#define JSANDBOX_EBPF_H

#include <stddef.h>
#include <stdint.h>

#include "devices.h"
#include "jsutil.h"

struct bpf_insn; /* <linux/bpf.h> */

/* The name our programs carry (bpf_prog_info.name, bpftool prog show):
 * how a re-apply tells its own earlier program from anyone else's. */
#define JS_EBPF_PROG_NAME "jsandbox_dev"

struct js_bpf_prog {
	size_t n, cap;
	struct bpf_insn *insn;
};

void js_bpf_prog_free(struct js_bpf_prog *p);

/* Generate the program for a list: default deny; for each rule, in order,
 * "type matches (unless 'a'), every requested access bit is in the rule,
 * major matches (unless *), minor matches (unless *)" returns 1 (allow).
 * Rules after one that allows everything are not emitted (the verifier
 * rejects unreachable instructions). */
int js_ebpf_build(const struct js_dev_list *l, struct js_bpf_prog *out, struct js_err *err);

/* Load a program; returns its fd (the kernel makes every bpf fd
 * O_CLOEXEC). On failure the verifier's log, or its tail, is in err. */
int js_ebpf_load(const struct js_bpf_prog *p, struct js_err *err);

/* Attach prog_fd to the cgroup v2 directory cgfd with BPF_F_ALLOW_MULTI,
 * replacing any program of ours (by name) attached there before, without
 * a moment with no program:
 *   - one of ours attached: BPF_F_REPLACE swaps it for the new one in a
 *     single update of the cgroup's effective program array (Linux 5.6);
 *   - none: plain attach;
 *   - on a kernel without BPF_F_REPLACE (EINVAL), or with several of ours
 *     left by an interrupted apply: attach the new one first, then detach
 *     the old ones. While both are attached a device must pass both, so
 *     the cgroup briefly allows the intersection of the two lists, never
 *     more than either.
 * Programs attached by others are left alone. The caller serialises
 * applies to one cgroup (the per-user lock). */
int js_ebpf_attach(int cgfd, int prog_fd, struct js_err *err);

/* Build, load and attach: the cgroup at cgfd enforces exactly the list. */
int js_ebpf_apply(int cgfd, const struct js_dev_list *l, struct js_err *err);

/* Ids of our programs attached directly to cgfd (not inherited ones), for
 * checks and `jsandboxctl status`. Returns how many are attached (which
 * may exceed max; ids holds the first max). */
int js_ebpf_query(int cgfd, uint32_t *ids, size_t max, struct js_err *err);

#endif
