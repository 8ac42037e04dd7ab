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
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

/* What package management and sudo use as root inside, and no more than
 * rootless podman keeps by default:
 * CHOWN/FOWNER/FSETID/DAC_OVERRIDE (dpkg unpacking with ownership and
 * modes), SETUID/SETGID (sudo, apt's _apt sandbox user), SETPCAP (sudo and
 * apt drop privileges), KILL, NET_BIND_SERVICE (services on low ports),
 * SYS_CHROOT (some maintainer scripts), SETFCAP (packages that ship file
 * capabilities). Not kept unless the policy's capabilities_add names them:
 * SYS_PTRACE (root inside tracing what other inside uids run, PID 1
 * included), DAC_READ_SEARCH, AUDIT_WRITE (the audit socket refuses any
 * namespace but the host's anyway: sudo carries on without it), NET_RAW.
 * Never: SYS_ADMIN (mounts, namespaces), NET_ADMIN, SYS_MODULE, SYS_BOOT,
 * SYS_TIME, MKNOD, ... */
const int js_kept_caps[] = {CAP_CHOWN,	CAP_DAC_OVERRIDE, CAP_FOWNER,		CAP_FSETID,	CAP_KILL,   CAP_SETGID,
			    CAP_SETUID, CAP_SETPCAP,	  CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_SETFCAP};
const size_t js_nkept_caps = JS_ARRAY_SIZE(js_kept_caps);

static int trim_bounding_set(const int *keep_caps, size_t nkeep, uint64_t also, struct js_err *err)
{
	for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++) {
		bool keep = c < 64 && (also & (UINT64_C(1) << c));
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

/* Writing another process's memory: what it may reach, ptrace and
 * /proc/PID/mem reach too (gdb uses those, not this); one path less into
 * the memory of a process, PID 1's above all. process_vm_readv, which
 * profilers use, stays. */
static const char *const denied_memory[] = {"process_vm_writev"};

/* Refused as if the kernel lacked them (ENOSYS), so that programs take
 * their fallback: modify_ldt (16-bit segments for Wine and DOSEMU, a long
 * line of kernel bugs, refused by Docker's profile too) and memfd_secret
 * (memory taken out of the kernel's direct map: every use splits the
 * host's huge direct-map pages, a cost every other user pays, for a
 * feature no common program needs). */
static const char *const absent_always[] = {"modify_ldt", "memfd_secret"};

/* Refused unless nested_userns = yes: in namespaces of one's own the kernel
 * confines these to what the user owns (mounts inherited from the container
 * are locked there); in the container's namespaces nothing inside holds the
 * capabilities they need, and they are refused here as well. */
static const char *const denied_unless_nested[] = {
    "mount",	"umount",  "umount2", "pivot_root", "setns",	 "fsopen",
    "fsconfig", "fsmount", "fspick",  "move_mount", "open_tree", "mount_setattr",
};

static int deny_list_errno(scmp_filter_ctx ctx, const char *const *names, size_t n, int e, struct js_err *err)
{
	for (size_t i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);
		if (nr == __NR_SCMP_ERROR)
			continue; /* not a syscall on this architecture */
		int r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(e), nr, 0);
		if (r < 0 && r != -EDOM)
			return js_fail(err, -r, "seccomp rule for %s", names[i]);
	}
	return 0;
}

static int deny_list(scmp_filter_ctx ctx, const char *const *names, size_t n, struct js_err *err)
{
	return deny_list_errno(ctx, names, n, EPERM, err);
}

/* personality(2): the execution domain PER_LINUX or PER_LINUX32, with
 * ADDR_NO_RANDOMIZE (gdb and `setarch -R` turn address randomisation off
 * for what they start) and UNAME26, or 0xffffffff (a query) are allowed.
 * Refused: READ_IMPLIES_EXEC (every readable mapping executable),
 * MMAP_PAGE_ZERO, ADDR_COMPAT_LAYOUT, ADDR_LIMIT_*, the other flags and
 * the foreign execution domains: they only weaken what the kernel does
 * against exploits. The kernel reads a 32-bit value. libseccomp compares
 * each argument once per rule, so "anything but these" is spelled bit by
 * bit: with bit 31 clear (no domain or flag uses it), any bit outside
 * the allowed ones is refused; with bit 31 set, any bit clear is (only the
 * query has them all). */
#define JS_PER_LINUX32	     0x0008u
#define JS_UNAME26	     0x0020000u
#define JS_ADDR_NO_RANDOMIZE 0x0040000u
#define JS_PER_ALLOWED_BITS  (JS_PER_LINUX32 | JS_UNAME26 | JS_ADDR_NO_RANDOMIZE)
static int personality_rules(scmp_filter_ctx ctx, struct js_err *err)
{
	const uint32_t top = 0x80000000u;
	for (unsigned b = 0; b < 31; b++) {
		uint32_t bit = UINT32_C(1) << b;
		int r = 0;
		if (!(bit & JS_PER_ALLOWED_BITS))
			r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(personality), 1,
					     SCMP_A0(SCMP_CMP_MASKED_EQ, top | bit, bit));
		if (r == 0)
			r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(personality), 1,
					     SCMP_A0(SCMP_CMP_MASKED_EQ, top | bit, top));
		if (r < 0)
			return js_fail(err, -r, "seccomp personality rule");
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
	if (r == 0)
		r = deny_list(ctx, denied_memory, JS_ARRAY_SIZE(denied_memory), err);
	if (r == 0)
		r = deny_list_errno(ctx, absent_always, JS_ARRAY_SIZE(absent_always), ENOSYS, err);
	if (r == 0)
		r = personality_rules(ctx, err);
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
	int r = trim_bounding_set(js_kept_caps, js_nkept_caps, p->caps_add & JS_CAPS_ADDABLE, err);
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
	r = trim_bounding_set(init_caps, JS_ARRAY_SIZE(init_caps), 0, err);
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

/* The agent relay (helper/agent.c) runs on the host side of the container,
 * outside its pid namespace, as the user but inside the user's namespace
 * with every capability there. What it does: accept on its listening
 * socket, fork one child per client, stat and connect to sshd's socket by
 * name under a directory fd, read the peer's credentials, copy bytes both
 * ways, exit. It keeps no capability, may never gain one, and may make only
 * those system calls: anything else fails with EPERM. */
int js_harden_relay(struct js_err *err)
{
	int r = trim_bounding_set(NULL, 0, 0, err);
	if (r < 0)
		return r;
	cap_t c = cap_init(); /* all clear */
	if (!c)
		return js_failm(err, errno, "cap_init");
	r = cap_set_proc(c);
	int e = errno;
	cap_free(c);
	if (r < 0)
		return js_failm(err, e, "cannot drop the relay's capabilities");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return js_failm(err, errno, "no_new_privs");

	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (!ctx)
		return js_fail(err, ENOMEM, "seccomp_init");
	/* Only the native entry points: any other architecture kills (the
	 * default for a foreign architecture). */
	static const char *const allowed[] = {
	    "read",	     "write",		"readv",	  "writev",	     "close",	   "poll",
	    "ppoll",	     "accept",		"accept4",	  "connect",	     "getsockopt", "shutdown",
	    "fchdir",	     "newfstatat",	"fstat",	  "statx",	     "exit",	   "exit_group",
	    "rt_sigaction",  "rt_sigreturn",	"rt_sigprocmask", "restart_syscall", "getpid",	   "getppid",
	    "gettid",	     "set_robust_list", "getuid",	  "geteuid",	     "futex",	   "brk",
	    "munmap",	     "madvise",		"unlink",	  "unlinkat",	     "rmdir",	   "wait4",
	    "clock_gettime", "getrandom",	"sigaltstack",
	};
	for (size_t i = 0; i < JS_ARRAY_SIZE(allowed) && r == 0; i++) {
		int nr = seccomp_syscall_resolve_name(allowed[i]);
		if (nr == __NR_SCMP_ERROR)
			continue;
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	}
	/* Unix sockets only; fork without new namespaces (clone3 is refused:
	 * its flags are out of the filter's reach, glibc's fork uses clone);
	 * memory for malloc, never executable. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0));
	const uint64_t newns = CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS |
			       CLONE_NEWCGROUP | CLONE_NEWTIME;
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, newns, 0));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		return js_fail(err, -r, "cannot load the relay's seccomp filter");
	return 0;
}
