/* SPDX-License-Identifier: MIT */
/* Capabilities and seccomp for processes inside a container.
 *
 * Root inside is root only over the user's own namespace, but the kernel
 * still offers it interfaces that reach past that (keyrings, bpf, module
 * loading attempts, TIOCSTI into a terminal, ...). The bounding set keeps
 * what apt, dpkg and sudo need; the seccomp filter refuses the rest.
 *
 * Two users of this file: jsandbox-shell, last thing before it execs the
 * user's shell (js_harden_session), and the container's init, which holds
 * every capability of the user's namespace and is visible as PID 1 to root
 * inside (js_harden_init): it keeps only CAP_KILL and the strictest filter,
 * so that a process that ptraces it gains nothing. */
#include "harden.h"

#include <linux/sched.h>
#include <seccomp.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

/* What package management and sudo use as root inside:
 * CHOWN/FOWNER/FSETID/DAC_* (dpkg unpacking with ownership and modes),
 * SETUID/SETGID (sudo, apt's _apt sandbox user), SETPCAP (sudo and apt
 * drop privileges), KILL, NET_BIND_SERVICE (services on low ports),
 * SYS_CHROOT (some maintainer scripts), SETFCAP (packages that ship file
 * capabilities), AUDIT_WRITE (sudo's audit record), SYS_PTRACE (debugging
 * one's own processes across inside uids). Not kept: SYS_ADMIN (mounts,
 * namespaces), NET_ADMIN, SYS_MODULE, SYS_BOOT, SYS_TIME, MKNOD, ... */
const int js_kept_caps[] = {CAP_CHOWN,	    CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER,	  CAP_FSETID,
			    CAP_KILL,	    CAP_SETGID,	      CAP_SETUID,	   CAP_SETPCAP,	  CAP_NET_BIND_SERVICE,
			    CAP_SYS_CHROOT, CAP_SETFCAP,      CAP_AUDIT_WRITE,	   CAP_SYS_PTRACE};
const size_t js_nkept_caps = JS_ARRAY_SIZE(js_kept_caps);

static int trim_bounding_set(const int *keep_caps, size_t nkeep, struct js_err *err)
{
	for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++) {
		bool keep = false;
		for (size_t i = 0; i < nkeep; i++)
			keep = keep || keep_caps[i] == c;
		if (keep || !CAP_IS_SUPPORTED(c))
			continue;
		if (cap_drop_bound(c) < 0)
			return js_failm(err, errno, "cannot drop capability %d from the bounding set", c);
	}
	/* No ambient capabilities may survive exec either. */
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	return 0;
}

/* Refused whatever the policy says. */
static const char *const denied_always[] = {
    /* kernel modules, kexec, reboot, swap */
    "init_module",
    "finit_module",
    "delete_module",
    "create_module",
    "query_module",
    "get_kernel_syms",
    "kexec_load",
    "kexec_file_load",
    "reboot",
    "swapon",
    "swapoff",
    /* keyrings are not namespaced: keys and quotas are per uid on the host */
    "add_key",
    "request_key",
    "keyctl",
    /* eBPF, handles that bypass path permissions, page-fault interposition */
    "bpf",
    "open_by_handle_at",
    "name_to_handle_at",
    "userfaultfd",
    /* the host's clock, accounting, I/O ports, kernel log */
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "acct",
    "lookup_dcookie",
    "iopl",
    "ioperm",
    "uselib",
    "syslog",
    "vhangup",
    "quotactl",
    "quotactl_fd",
    "nfsservctl",
    "fanotify_init",
    /* io_uring: a large, young attack surface (as in Docker's default profile) */
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
};

/* Refused unless nested_userns = yes: in namespaces of one's own the kernel
 * confines these to what the user owns (mounts inherited from the container
 * are locked there); in the container's namespaces nothing inside holds the
 * capabilities they need, and they are refused here as well. */
static const char *const denied_unless_nested[] = {
    "mount",	"umount",  "umount2", "pivot_root", "setns",	 "fsopen",
    "fsconfig", "fsmount", "fspick",  "move_mount", "open_tree", "mount_setattr",
};

static int deny_list(scmp_filter_ctx ctx, const char *const *names, size_t n, struct js_err *err)
{
	for (size_t i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);
		if (nr == __NR_SCMP_ERROR)
			continue; /* not a syscall on this architecture */
		int r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
		if (r < 0 && r != -EDOM)
			return js_fail(err, -r, "seccomp rule for %s", names[i]);
	}
	return 0;
}

/* Build and load the filter. nested: allow user namespaces and mounts in
 * them; perf: allow perf_event_open; nnp: set no_new_privs (the init never
 * gains privileges; sessions must, for sudo). */
static int load_filter(bool nested, bool perf, bool nnp, struct js_err *err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return js_fail(err, ENOMEM, "seccomp_init");
	/* Without no_new_privs the kernel wants CAP_SYS_ADMIN in our user
	 * namespace to load a filter: both callers hold it here. */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, nnp ? 1 : 0);
	/* The i386 and x32 entry points reach the same kernel code: close
	 * them the same way. */
	seccomp_arch_add(ctx, SCMP_ARCH_X86);
	seccomp_arch_add(ctx, SCMP_ARCH_X32);
	int r = deny_list(ctx, denied_always, JS_ARRAY_SIZE(denied_always), err);
	if (r == 0 && !nested)
		r = deny_list(ctx, denied_unless_nested, JS_ARRAY_SIZE(denied_unless_nested), err);
	static const char *const perf_calls[] = {"perf_event_open"};
	if (r == 0 && !perf)
		r = deny_list(ctx, perf_calls, 1, err);
	if (r < 0) {
		seccomp_release(ctx);
		return r;
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
	if (!nested) {
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
	}
	r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		return js_fail(err, -r, "cannot load the seccomp filter");
	return 0;
}

/* Landlock scoping (ABI 6, Linux 6.12), declared here because the build
 * host's headers may predate it. */
struct js_landlock_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};
#define JS_LANDLOCK_CREATE_RULESET_VERSION     (1U << 0)
#define JS_LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)

/* Abstract unix sockets belong to the network namespace: with network =
 * host every container shares them with the host and the other users (X11,
 * D-Bus, a neighbour's server). A Landlock domain scoped to abstract
 * sockets lets the session connect only to sockets made inside the same
 * domain (this session and what it starts). No file or network access
 * rights are handled: nothing else changes. Kernels without ABI 6 cannot
 * do this: docs/security.md lists it as a known limit there. */
static int scope_abstract_sockets(struct js_err *err)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, JS_LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 6)
		return 0;
	struct js_landlock_ruleset_attr a = {.scoped = JS_LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET};
	_cleanup_close_ int rs = (int)syscall(SYS_landlock_create_ruleset, &a, sizeof a, 0);
	if (rs < 0)
		return js_failm(err, errno, "cannot create the Landlock ruleset");
	/* Without no_new_privs this needs CAP_SYS_ADMIN in our namespace,
	 * which we hold until the exec. */
	if (syscall(SYS_landlock_restrict_self, rs, 0) < 0)
		return js_failm(err, errno, "cannot enter the Landlock domain");
	return 0;
}

int js_harden_session(const struct js_policy *p, struct js_err *err)
{
	int r = trim_bounding_set(js_kept_caps, js_nkept_caps, err);
	if (r < 0)
		return r;
	if (p->network == JS_NET_HOST && (r = scope_abstract_sockets(err)) < 0)
		return r;
	/* sudo must still gain privileges inside: no NO_NEW_PRIVS. */
	return load_filter(p->nested_userns, p->perf_events, false, err);
}

int js_harden_init(struct js_err *err)
{
	/* PID 1 signals the processes of its namespace (kill(-1) at the end)
	 * and does nothing else that needs a capability. */
	static const int init_caps[] = {CAP_KILL};
	int r = load_filter(false, false, true, err);
	if (r < 0)
		return r;
	r = trim_bounding_set(init_caps, JS_ARRAY_SIZE(init_caps), err);
	if (r < 0)
		return r;
	cap_t c = cap_init(); /* all clear */
	if (!c)
		return js_failm(err, errno, "cap_init");
	cap_value_t kill_cap = CAP_KILL;
	r = cap_set_flag(c, CAP_PERMITTED, 1, &kill_cap, CAP_SET);
	if (r == 0)
		r = cap_set_flag(c, CAP_EFFECTIVE, 1, &kill_cap, CAP_SET);
	if (r == 0)
		r = cap_set_proc(c);
	int e = errno;
	cap_free(c);
	if (r < 0)
		return js_failm(err, e, "cannot drop the init's capabilities");
	return 0;
}
