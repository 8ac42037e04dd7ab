/* SPDX-License-Identifier: MIT */
/* Capabilities and seccomp for processes inside a container.
 *
 * Root inside is root only over the user's own namespace, but the kernel
 * still offers it interfaces that reach past that (keyrings, bpf, module
 * loading attempts, TIOCSTI into a terminal, ...). The bounding set keeps
 * what apt, dpkg and sudo need; the seccomp filter refuses the rest. */
#include "harden.h"

#include <linux/sched.h>
#include <seccomp.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>

/* What package management and sudo use as root inside:
 * CHOWN/FOWNER/FSETID/DAC_* (dpkg unpacking with ownership and modes),
 * SETUID/SETGID (sudo, apt's _apt sandbox user), SETPCAP (sudo and apt
 * drop privileges), KILL, NET_BIND_SERVICE (services on low ports),
 * SYS_CHROOT (some maintainer scripts), SETFCAP (packages that ship file
 * capabilities), AUDIT_WRITE (sudo's audit record), SYS_PTRACE (debugging
 * one's own processes across inside uids). Not kept: SYS_ADMIN (mounts,
 * namespaces), NET_ADMIN, SYS_MODULE, SYS_BOOT, SYS_TIME, MKNOD, ... */
const int js_kept_caps[] = {CAP_CHOWN,	      CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID,
			    CAP_KILL,	      CAP_SETGID,	CAP_SETUID,	     CAP_SETPCAP, CAP_NET_BIND_SERVICE,
			    CAP_SYS_CHROOT, CAP_SETFCAP,	CAP_AUDIT_WRITE,     CAP_SYS_PTRACE};
const size_t js_nkept_caps = JS_ARRAY_SIZE(js_kept_caps);

static int trim_bounding_set(struct js_err *err)
{
	for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++) {
		bool keep = false;
		for (size_t i = 0; i < js_nkept_caps; i++)
			keep = keep || js_kept_caps[i] == c;
		if (keep || !CAP_IS_SUPPORTED(c))
			continue;
		if (cap_drop_bound(c) < 0)
			return js_failm(err, errno, "cannot drop capability %d from the bounding set", c);
	}
	/* No ambient capabilities may survive exec either. */
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	return 0;
}

static const char *const denied_syscalls[] = {
	"init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "add_key", "request_key",
	"keyctl", "bpf", "open_by_handle_at", "userfaultfd", "reboot", "swapon", "swapoff", "settimeofday",
	"clock_settime", "clock_adjtime", "adjtimex", "acct", "lookup_dcookie", "perf_event_open", "iopl", "ioperm",
	"uselib", "syslog", "vhangup", "quotactl", "nfsservctl", "mount", "umount2", "pivot_root", "setns",
	"fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
	"name_to_handle_at", "fanotify_init",
};

int js_harden_session(const struct js_policy *p, struct js_err *err)
{
	(void)p;
	int r = trim_bounding_set(err);
	if (r < 0)
		return r;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return js_fail(err, ENOMEM, "seccomp_init");
	/* sudo must still gain privileges inside: no NO_NEW_PRIVS. We hold
	 * CAP_SYS_ADMIN in the user's namespace here, which the kernel
	 * accepts instead. */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	/* The i386 and x32 entry points reach the same kernel code: close
	 * them the same way. */
	seccomp_arch_add(ctx, SCMP_ARCH_X86);
	seccomp_arch_add(ctx, SCMP_ARCH_X32);
	for (size_t i = 0; i < JS_ARRAY_SIZE(denied_syscalls); i++) {
		int nr = seccomp_syscall_resolve_name(denied_syscalls[i]);
		if (nr == __NR_SCMP_ERROR)
			continue;
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
		if (r < 0 && r != -EDOM) {
			seccomp_release(ctx);
			return js_fail(err, -r, "seccomp rule for %s", denied_syscalls[i]);
		}
	}
	/* TIOCSTI pushes input into a terminal another process reads;
	 * TIOCLINUX can do the same on a VT (CVE-2023-1523 and many before). */
	const unsigned long bad_ioctls[] = {TIOCSTI, TIOCLINUX};
	for (size_t i = 0; i < JS_ARRAY_SIZE(bad_ioctls); i++) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, bad_ioctls[i]));
		if (r < 0) {
			seccomp_release(ctx);
			return js_fail(err, -r, "seccomp ioctl rule");
		}
	}
	/* Nested user namespaces: unshare/clone with CLONE_NEWUSER refused;
	 * clone3 passes flags in memory a filter cannot read, so it reports
	 * ENOSYS and libc falls back to clone. */
	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 1,
			     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (r < 0) {
		seccomp_release(ctx);
		return js_fail(err, -r, "seccomp namespace rules");
	}
	r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		return js_fail(err, -r, "cannot load the seccomp filter");
	return 0;
}
