/* SPDX-License-Identifier: MIT */
/* jsb-attack: the security suite's attacks, one subcommand each, run
 * inside a sandboxed user's container (built on the host, copied into the
 * user's home). Exit status: 0 when the attack was refused, 1 when it
 * worked (the line says what got through), 2 when the attack could not be
 * attempted at all (a test error, never a pass).
 *
 * Every attempt uses arguments that would succeed on an unhardened system
 * where the kernel allows it to the caller, so a refusal is the hardening's
 * doing and not a typo's. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/sched.h>
#include <linux/userfaultfd.h>
#include <mqueue.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/msg.h>
#include <sys/ptrace.h>
#include <sys/reboot.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"

static int a_mount(int argc, char **argv)
{
	const char *t = argc > 0 ? argv[0] : "/tmp";
	const char *type = argc > 1 ? argv[1] : "tmpfs";
	return judge(mount("jsb", t, type, 0, strcmp(type, "tmpfs") ? NULL : "size=1m"), "mount");
}

static int a_umount(int argc, char **argv)
{
	if (argc < 1)
		return 2;
	return judge(umount2(argv[0], MNT_DETACH), "umount");
}

static int a_fsopen(void)
{
	return judge(syscall(SYS_fsopen, "tmpfs", 0), "fsopen tmpfs");
}

static int a_mknod(int argc, char **argv)
{
	const char *p = argc > 0 ? argv[0] : "/tmp/jsb-mem";
	unlink(p);
	/* /dev/mem: the host's physical memory */
	int r = mknod(p, S_IFCHR | 0600, makedev(1, 1));
	if (r == 0) {
		int fd = open(p, O_RDONLY);
		unlink(p);
		if (fd < 0)
			return refused("open of a mknod'ed /dev/mem (the node was made)");
		return worked("mknod /dev/mem and open it");
	}
	return refused("mknod c 1:1");
}

static int a_module(void)
{
	int fd = open("/proc/self/exe", O_RDONLY);
	if (fd < 0)
		return cantry("open self");
	if (syscall(SYS_finit_module, fd, "", 0) == 0)
		return worked("finit_module");
	int e1 = errno;
	long r = syscall(SYS_init_module, "", 0, "");
	errno = r < 0 ? errno : 0;
	printf("finit_module: %s; ", strerror(e1));
	return judge(r, "init_module");
}

static int a_kexec(void)
{
	long r = syscall(SYS_kexec_load, 0, 0, NULL, 0);
	if (r == 0)
		return worked("kexec_load");
	printf("kexec_load: %s; ", strerror(errno));
	int fd = open("/proc/self/exe", O_RDONLY);
	return judge(syscall(SYS_kexec_file_load, fd, fd, 1, "", 0), "kexec_file_load");
}

static int a_keyctl(void)
{
	long r = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0);
	if (r >= 0)
		return worked("keyctl reached the user's keyring on the host");
	printf("keyctl: %s; ", strerror(errno));
	r = syscall(SYS_add_key, "user", "jsb", "x", 1, KEY_SPEC_PROCESS_KEYRING);
	return judge(r, "add_key");
}

static int a_bpf(void)
{
	struct bpf_insn prog[] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	a.insns = (uint64_t)(uintptr_t)prog;
	a.insn_cnt = 2;
	a.license = (uint64_t)(uintptr_t) "GPL";
	long r = syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof a);
	if (r >= 0)
		return worked("bpf prog load");
	printf("bpf prog: %s; ", strerror(errno));
	memset(&a, 0, sizeof a);
	a.map_type = BPF_MAP_TYPE_ARRAY;
	a.key_size = 4;
	a.value_size = 4;
	a.max_entries = 1;
	return judge(syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof a), "bpf map create");
}

/* "Shocker": a file handle for inode 2 (the root of an ext4 file system)
 * opened through any fd on that file system reaches outside a chroot or
 * a bind mount. */
static int a_handle(int argc, char **argv)
{
	const char *on = argc > 0 ? argv[0] : "/";
	struct {
		struct file_handle h;
		unsigned char b[64];
	} fh;
	int mnt = -1;
	fh.h.handle_bytes = sizeof fh.b;
	if (syscall(SYS_name_to_handle_at, AT_FDCWD, on, &fh.h, &mnt, 0) == 0)
		printf("name_to_handle_at worked; ");
	else
		printf("name_to_handle_at: %s; ", strerror(errno));
	int dfd = open(on, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return cantry("open the mount");
	fh.h.handle_bytes = 8;
	fh.h.handle_type = 1; /* FILEID_INO32_GEN */
	uint32_t ino_gen[2] = {2, 0};
	memcpy(fh.h.f_handle, ino_gen, 8);
	return judge(syscall(SYS_open_by_handle_at, dfd, &fh.h, O_RDONLY), "open_by_handle_at inode 2");
}

static int a_userfaultfd(void)
{
	return judge(syscall(SYS_userfaultfd, O_CLOEXEC | 1 /* UFFD_USER_MODE_ONLY */), "userfaultfd");
}

static int a_perf(void)
{
	struct perf_event_attr pa;
	memset(&pa, 0, sizeof pa);
	pa.size = sizeof pa;
	pa.type = PERF_TYPE_SOFTWARE;
	pa.config = PERF_COUNT_SW_TASK_CLOCK;
	pa.exclude_kernel = 1;
	pa.exclude_hv = 1;
	return judge(syscall(SYS_perf_event_open, &pa, 0, -1, -1, 0), "perf_event_open on ourselves");
}

static int a_userns(void)
{
	if (unshare(CLONE_NEWUSER) == 0)
		return worked("unshare(CLONE_NEWUSER)");
	printf("unshare: %s; ", strerror(errno));
	struct clone_args ca;
	memset(&ca, 0, sizeof ca);
	ca.flags = CLONE_NEWUSER;
	ca.exit_signal = SIGCHLD;
	long pid = syscall(SYS_clone3, &ca, sizeof ca);
	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
	return judge(pid, "clone3(CLONE_NEWUSER)");
}

/* With nested_userns = yes: a namespace of our own, where the masks the
 * container was given are locked. */
static int a_nested_unmask(int argc, char **argv)
{
	if (argc < 1)
		return 2;
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		return cantry("unshare(CLONE_NEWUSER|CLONE_NEWNS)");
	if (mount("jsb", "/tmp", "tmpfs", 0, "size=1m") < 0)
		return cantry("a mount in our own mount namespace");
	printf("own mount namespace: tmpfs mounted on /tmp; ");
	for (int i = 0; i < argc; i++) {
		if (umount2(argv[i], 0) == 0 || umount2(argv[i], MNT_DETACH) == 0)
			return worked("unmounted a mask in a nested namespace");
		printf("umount %s: %s; ", argv[i], strerror(errno));
	}
	return judge(mount(NULL, "/proc/sys", NULL, MS_REMOUNT | MS_BIND, NULL), "remount /proc/sys read-write");
}

static int a_io_uring(void)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof p);
	return judge(syscall(SYS_io_uring_setup, 4, &p), "io_uring_setup");
}

static int a_tiocsti(void)
{
	if (!isatty(0)) {
		errno = ENOTTY;
		return cantry("TIOCSTI (stdin is no terminal)");
	}
	char c = '#';
	return judge(ioctl(0, TIOCSTI, &c), "TIOCSTI into our terminal");
}

static int a_clock(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return judge(clock_settime(CLOCK_REALTIME, &ts), "clock_settime");
}

static int a_swap(void)
{
	int fd = open("/tmp/jsb-swap", O_RDWR | O_CREAT, 0600);
	if (fd < 0)
		return cantry("swap file");
	close(fd);
	long r = swapon("/tmp/jsb-swap", 0);
	if (r == 0)
		swapoff("/tmp/jsb-swap");
	unlink("/tmp/jsb-swap");
	return judge(r, "swapon");
}

static int a_reboot(void)
{
	/* Ctrl-Alt-Del handling: harmless if it went through, refused by
	 * capability or filter. */
	return judge(reboot(RB_DISABLE_CAD), "reboot(CAD_OFF)");
}

static int a_klog(void)
{
	char buf[256];
	return judge(klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, sizeof buf), "read the kernel log");
}

static int a_setns(void)
{
	/* our own namespaces: a well-formed call that needs CAP_SYS_ADMIN over
	 * them (another user's are not even visible) */
	int fd = open("/proc/self/ns/uts", O_RDONLY);
	if (fd < 0)
		return cantry("open /proc/self/ns/uts");
	return judge(setns(fd, CLONE_NEWUTS), "setns into a uts namespace");
}

/* i386 entry points (int 0x80) with i386 syscall numbers. */
static long i386_call(long nr, long a, long b, long c)
{
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return r;
}

static int a_i386(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		long k = i386_call(288 /* keyctl */, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0);
		long u = i386_call(310 /* unshare */, CLONE_NEWUSER, 0, 0);
		printf("i386 keyctl %ld, unshare %ld; ", k, u);
		fflush(stdout);
		_exit(k >= 0 || u >= 0 ? 1 : 0);
	}
	int st;
	waitpid(pid, &st, 0);
	if (WIFSIGNALED(st)) {
		printf("refused: no i386 entry at all (signal %d)\n", WTERMSIG(st));
		return 0;
	}
	errno = EPERM;
	return WEXITSTATUS(st) ? worked("i386 keyctl or unshare") : refused("i386 keyctl and unshare");
}

static int a_x32(void)
{
	return judge(syscall(0x40000000 | 250 /* keyctl */, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0),
		     "x32 keyctl");
}

/* Break out of a chroot with the classic chdir("..") loop and look for a
 * path only the host has. */
static int a_chroot_escape(int argc, char **argv)
{
	if (argc < 1)
		return 2;
	mkdir("/tmp/jsb-chroot", 0755);
	if (chroot("/tmp/jsb-chroot") < 0)
		return cantry("chroot");
	for (int i = 0; i < 256; i++)
		if (chdir("..") < 0)
			break;
	if (chroot(".") < 0)
		return cantry("chroot .");
	struct stat st;
	if (stat(argv[0], &st) == 0)
		return worked("reached a host-only path outside the container's root");
	return refused("host-only path after the chroot escape");
}

static int a_init_caps(void)
{
	FILE *f = fopen("/proc/1/status", "re");
	if (!f)
		return cantry("read /proc/1/status");
	char line[256];
	unsigned long long eff = ~0ULL, prm = ~0ULL, bnd = ~0ULL;
	int sec = -1, nnp = -1;
	while (fgets(line, sizeof line, f)) {
		sscanf(line, "CapEff: %llx", &eff);
		sscanf(line, "CapPrm: %llx", &prm);
		sscanf(line, "CapBnd: %llx", &bnd);
		sscanf(line, "Seccomp: %d", &sec);
		sscanf(line, "NoNewPrivs: %d", &nnp);
	}
	fclose(f);
	printf("PID 1: CapEff %llx CapPrm %llx CapBnd %llx Seccomp %d NoNewPrivs %d; ", eff, prm, bnd, sec, nnp);
	const unsigned long long kill_only = 1ULL << 5;
	if ((eff | prm | bnd) & ~kill_only || sec != 2 || nnp != 1)
		return worked("PID 1, traceable by root inside, holds more than CAP_KILL or no filter");
	errno = EPERM;
	return refused("nothing worth taking in PID 1");
}

static int a_read(int argc, char **argv)
{
	if (argc < 1)
		return 2;
	int fd = open(argv[0], O_RDONLY);
	if (fd < 0)
		return refused(argv[0]);
	char c;
	ssize_t n = read(fd, &c, 1);
	if (n > 0)
		return worked("read the file");
	errno = n == 0 ? 0 : errno;
	printf("refused: %s reads %s\n", argv[0], n == 0 ? "empty" : strerror(errno));
	return 0;
}

/* Write back what a file holds (a sysctl, a cgroup limit): a change of
 * nothing if it went through, and proof that it could. Or write argv[1]. */
static int a_write(int argc, char **argv)
{
	if (argc < 1)
		return 2;
	char buf[4096] = "";
	if (argc > 1) {
		snprintf(buf, sizeof buf, "%s\n", argv[1]);
	} else {
		int rfd = open(argv[0], O_RDONLY);
		ssize_t n = rfd < 0 ? -1 : read(rfd, buf, sizeof buf - 1);
		buf[n > 0 ? n : 0] = '\0';
		if (rfd >= 0)
			close(rfd);
		if (!buf[0])
			strcpy(buf, "1\n");
	}
	int fd = open(argv[0], O_WRONLY);
	if (fd < 0)
		return refused(argv[0]);
	return judge(write(fd, buf, strlen(buf)), argv[0]);
}

static int a_setfcap(int argc, char **argv)
{
	if (argc < 1)
		return 2;
	/* VFS_CAP_REVISION_2: permitted CAP_DAC_OVERRIDE (1), effective */
	uint32_t data[5] = {0x02000000 | 1 /* effective */, 1u << 1, 0, 0, 0};
	if (setxattr(argv[0], "security.capability", data, sizeof data, 0) < 0)
		return cantry("setxattr security.capability");
	printf("file capability set on %s\n", argv[0]);
	return 0;
}

/* Hold IPC objects and sockets named NAME/KEY until killed. */
static int a_hold(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	key_t key = (key_t)strtol(argv[0], NULL, 0);
	const char *name = argv[1];
	char path[128];
	if (shmget(key, 4096, IPC_CREAT | 0666) < 0 || semget(key, 1, IPC_CREAT | 0666) < 0 ||
	    msgget(key, IPC_CREAT | 0666) < 0)
		return cantry("SysV IPC");
	snprintf(path, sizeof path, "/%s", name);
	struct mq_attr ma = {.mq_maxmsg = 1, .mq_msgsize = 16};
	if (mq_open(path, O_CREAT | O_RDWR, 0666, &ma) < 0)
		return cantry("mq_open");
	snprintf(path, sizeof path, "/dev/shm/%s", name);
	int fd = open(path, O_CREAT | O_WRONLY, 0666);
	if (fd < 0)
		return cantry("/dev/shm file");
	snprintf(path, sizeof path, "/tmp/%s", name);
	int fd2 = open(path, O_CREAT | O_WRONLY, 0666);
	if (fd2 < 0)
		return cantry("/tmp file");
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t l = strlen(name);
	memcpy(sa.sun_path + 1, name, l);
	if (bind(s, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + l)) < 0 ||
	    listen(s, 4) < 0)
		return cantry("abstract socket");
	printf("holding\n");
	fflush(stdout);
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c >= 0) {
			if (write(c, "secret\n", 7) < 0)
				break;
			close(c);
		}
	}
	return 0;
}

static int a_find(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	const char *kind = argv[0], *arg = argv[1];
	key_t key = (key_t)strtol(arg, NULL, 0);
	char path[128];
	if (!strcmp(kind, "shm"))
		return judge(shmget(key, 0, 0), "find the other user's SysV shared memory");
	if (!strcmp(kind, "sem"))
		return judge(semget(key, 0, 0), "find the other user's SysV semaphore");
	if (!strcmp(kind, "msg"))
		return judge(msgget(key, 0), "find the other user's SysV message queue");
	if (!strcmp(kind, "mq")) {
		snprintf(path, sizeof path, "/%s", arg);
		return judge(mq_open(path, O_RDONLY), "open the other user's POSIX message queue");
	}
	if (!strcmp(kind, "abstract")) {
		int s = socket(AF_UNIX, SOCK_STREAM, 0);
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		size_t l = strlen(arg);
		memcpy(sa.sun_path + 1, arg, l);
		return judge(
		    connect(s, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + l)),
		    "connect to an abstract socket made outside this session");
	}
	return 2;
}

/* Look for a process by a marker in its command line, and trace a host
 * pid number. */
static int a_ptrace(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	const char *marker = argv[0];
	pid_t pid = (pid_t)atoi(argv[1]);
	char path[64], buf[4096];
	for (int p = 1; p < 4194304; p++) {
		snprintf(path, sizeof path, "/proc/%d/cmdline", p);
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, buf, sizeof buf - 1);
		close(fd);
		for (ssize_t i = 0; i + 1 < n; i++)
			if (!buf[i])
				buf[i] = ' ';
		buf[n > 0 ? n : 0] = '\0';
		/* our own command line (and sudo's, and the shell's) names the
		 * marker too */
		if (strstr(buf, marker) && !strstr(buf, "jsb-attack ptrace"))
			return worked("the other user's process is visible");
		if (p > 100000)
			break;
	}
	if (ptrace(PTRACE_SEIZE, pid, 0, 0) == 0) {
		snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
		int fd = open(path, O_RDONLY);
		ssize_t n = fd < 0 ? 0 : read(fd, buf, sizeof buf - 1);
		buf[n > 0 ? n : 0] = '\0';
		ptrace(PTRACE_DETACH, pid, 0, 0);
		if (strstr(buf, marker))
			return worked("traced the other user's process");
		errno = ESRCH;
		return refused("that pid number is one of ours here");
	}
	return refused("ptrace the other user's host pid");
}

static int a_fill(int argc, char **argv)
{
	if (argc < 1)
		return 2;
	static char chunk[1 << 20];
	memset(chunk, 'x', sizeof chunk);
	unsigned long long total = 0;
	for (int i = 0;; i++) {
		char p[256];
		snprintf(p, sizeof p, "%s/jsb-fill.%d", argv[0], i);
		int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0)
			break;
		ssize_t n;
		while ((n = write(fd, chunk, sizeof chunk)) > 0)
			total += (unsigned long long)n;
		close(fd);
		if (n < 0)
			break;
	}
	printf("filled %llu bytes (%s)\n", total, strerror(errno));
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		fprintf(stderr, "usage: jsb-attack ATTACK [ARGS]\n");
		return 2;
	}
	const char *a = argv[1];
	int n = argc - 2;
	char **v = argv + 2;
	errno = 0;
	if (!strcmp(a, "mount"))
		return a_mount(n, v);
	if (!strcmp(a, "umount"))
		return a_umount(n, v);
	if (!strcmp(a, "fsopen"))
		return a_fsopen();
	if (!strcmp(a, "mknod"))
		return a_mknod(n, v);
	if (!strcmp(a, "module"))
		return a_module();
	if (!strcmp(a, "kexec"))
		return a_kexec();
	if (!strcmp(a, "keyctl"))
		return a_keyctl();
	if (!strcmp(a, "bpf"))
		return a_bpf();
	if (!strcmp(a, "handle"))
		return a_handle(n, v);
	if (!strcmp(a, "userfaultfd"))
		return a_userfaultfd();
	if (!strcmp(a, "perf"))
		return a_perf();
	if (!strcmp(a, "userns"))
		return a_userns();
	if (!strcmp(a, "nested-unmask"))
		return a_nested_unmask(n, v);
	if (!strcmp(a, "io_uring"))
		return a_io_uring();
	if (!strcmp(a, "tiocsti"))
		return a_tiocsti();
	if (!strcmp(a, "clock"))
		return a_clock();
	if (!strcmp(a, "swap"))
		return a_swap();
	if (!strcmp(a, "reboot"))
		return a_reboot();
	if (!strcmp(a, "klog"))
		return a_klog();
	if (!strcmp(a, "setns"))
		return a_setns();
	if (!strcmp(a, "i386"))
		return a_i386();
	if (!strcmp(a, "x32"))
		return a_x32();
	if (!strcmp(a, "chroot-escape"))
		return a_chroot_escape(n, v);
	if (!strcmp(a, "init-caps"))
		return a_init_caps();
	if (!strcmp(a, "read"))
		return a_read(n, v);
	if (!strcmp(a, "write"))
		return a_write(n, v);
	if (!strcmp(a, "setfcap"))
		return a_setfcap(n, v);
	if (!strcmp(a, "hold"))
		return a_hold(n, v);
	if (!strcmp(a, "find"))
		return a_find(n, v);
	if (!strcmp(a, "ptrace"))
		return a_ptrace(n, v);
	if (!strcmp(a, "fill"))
		return a_fill(n, v);
	fprintf(stderr, "jsb-attack: unknown attack %s\n", a);
	return 2;
}
