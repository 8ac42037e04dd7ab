/* SPDX-License-Identifier: MIT */
/* jsb-caps: the capability and seccomp probes of t_62, run inside a
 * sandboxed user's container (built on the host, copied into the home).
 * Same exit convention as jsb-attack: 0 when what it tries was refused, 1
 * when it went through (the line says what), 2 when it could not be tried.
 * The debugger probes (gdb-own) are the legitimate use that must keep
 * working: there 1 (it worked) is what the test wants. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"

/* Root inside against PID 1, the container's init: attach as a debugger
 * would, and write its memory through /proc/1/mem. */
static int p_init(void)
{
	int bad = 0;
	if (ptrace(PTRACE_SEIZE, 1, 0, 0) == 0) {
		ptrace(PTRACE_DETACH, 1, 0, 0);
		bad |= worked("PTRACE_SEIZE of PID 1");
	} else {
		refused("PTRACE_SEIZE of PID 1");
	}
	int fd = open("/proc/1/mem", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		bad |= worked("opened /proc/1/mem for writing");
	} else {
		refused("open /proc/1/mem for writing");
	}
	char a = 0, b = 0;
	struct iovec lo = {.iov_base = &a, .iov_len = 1}, re = {.iov_base = &b, .iov_len = 1};
	if (process_vm_writev(1, &lo, 1, &re, 1, 0) >= 0 || errno == EFAULT)
		bad |= worked("process_vm_writev into PID 1");
	else
		refused("process_vm_writev into PID 1");
	return bad;
}

static volatile uint64_t marker = 0x1122334455667788ULL;

/* What gdb does to a process of one's own (same uid, no capability
 * needed): attach to a running child, read and write its memory with
 * PTRACE_PEEKDATA/POKEDATA and /proc/PID/mem, switch address-space
 * randomisation off as gdb does for what it starts, detach. Exit 1 (the
 * debugger's work went through) is what a working system gives. */
static int p_gdb_own(void)
{
	int ready[2];
	if (pipe(ready) < 0)
		return cantry("pipe");
	pid_t k = fork();
	if (k < 0)
		return cantry("fork");
	if (k == 0) {
		close(ready[0]);
		if (write(ready[1], "r", 1) != 1)
			_exit(3);
		for (;;)
			pause();
	}
	close(ready[1]);
	char c;
	if (read(ready[0], &c, 1) != 1)
		return cantry("start the child");
	int st;
	int ok = 1;
	if (ptrace(PTRACE_ATTACH, k, 0, 0) < 0) {
		refused("PTRACE_ATTACH to one's own child");
		ok = 0;
	} else if (waitpid(k, &st, 0) != k || !WIFSTOPPED(st)) {
		refused("the traced child did not stop");
		ok = 0;
	} else {
		errno = 0;
		long w = ptrace(PTRACE_PEEKDATA, k, (void *)&marker, 0);
		if (errno || (uint64_t)w != marker) {
			refused("PTRACE_PEEKDATA");
			ok = 0;
		}
		if (ok && ptrace(PTRACE_POKEDATA, k, (void *)&marker, (void *)0x0102030405060708ULL) < 0) {
			refused("PTRACE_POKEDATA");
			ok = 0;
		}
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/mem", (int)k);
		int fd = open(path, O_RDWR | O_CLOEXEC);
		uint64_t v = 0;
		if (ok && (fd < 0 || pread(fd, &v, sizeof v, (off_t)(uintptr_t)&marker) != (ssize_t)sizeof v ||
			   v != 0x0102030405060708ULL)) {
			refused("read back through /proc/PID/mem");
			ok = 0;
		}
		if (fd >= 0)
			close(fd);
		ptrace(PTRACE_DETACH, k, 0, 0);
	}
	kill(k, SIGKILL);
	waitpid(k, &st, 0);
	int cur = personality(0xffffffff);
	if (ok && (cur < 0 || personality((unsigned long)cur | ADDR_NO_RANDOMIZE) < 0)) {
		refused("personality(ADDR_NO_RANDOMIZE), which gdb sets for what it runs");
		ok = 0;
	}
	return ok ? worked("attach, peek, poke, /proc/PID/mem and ADDR_NO_RANDOMIZE on one's own process") : 0;
}

/* The system calls the session's filter now refuses. */
static int p_seccomp(void)
{
	int bad = 0;
	if (syscall(SYS_modify_ldt, 0, NULL, 0) >= 0)
		bad |= worked("modify_ldt");
	else
		refused("modify_ldt");
	long fd = syscall(SYS_memfd_secret, 0);
	if (fd >= 0 || errno != ENOSYS)
		bad |= worked("memfd_secret (or refused otherwise than as absent)");
	else
		refused("memfd_secret");
	int cur = personality(0xffffffff);
	if (personality((unsigned long)cur | READ_IMPLIES_EXEC) >= 0 && (personality(0xffffffff) & READ_IMPLIES_EXEC))
		bad |= worked("personality(READ_IMPLIES_EXEC)");
	else
		refused("personality(READ_IMPLIES_EXEC)");
	/* with bit 31 set the kernel would take the low bits just the same */
	if (personality(0x80000000u | READ_IMPLIES_EXEC) >= 0 && (personality(0xffffffff) & READ_IMPLIES_EXEC))
		bad |= worked("personality(0x80000000 | READ_IMPLIES_EXEC)");
	else
		refused("personality(0x80000000 | READ_IMPLIES_EXEC)");
	pid_t k = fork();
	if (k == 0) {
		pause();
		_exit(0);
	}
	char a = 'a', b = 'b';
	struct iovec lo = {.iov_base = &a, .iov_len = 1}, re = {.iov_base = &b, .iov_len = 1};
	if (process_vm_writev(k, &lo, 1, &re, 1, 0) >= 0)
		bad |= worked("process_vm_writev into one's own child");
	else
		refused("process_vm_writev");
	kill(k, SIGKILL);
	waitpid(k, NULL, 0);
	return bad;
}

/* Root inside tracing a process of the user's own uid (needs
 * CAP_SYS_PTRACE): pid given. */
static int p_other_uid(const char *pid)
{
	pid_t p = (pid_t)atoi(pid);
	if (p <= 1)
		return 2;
	if (ptrace(PTRACE_SEIZE, p, 0, 0) == 0) {
		ptrace(PTRACE_DETACH, p, 0, 0);
		return worked("traced a process of another uid inside");
	}
	return refused("ptrace a process of another uid inside");
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc < 2)
		return 2;
	if (!strcmp(argv[1], "init"))
		return p_init();
	if (!strcmp(argv[1], "gdb-own"))
		return p_gdb_own();
	if (!strcmp(argv[1], "seccomp"))
		return p_seccomp();
	if (!strcmp(argv[1], "other-uid") && argc > 2)
		return p_other_uid(argv[2]);
	fprintf(stderr, "jsb-caps: unknown probe %s\n", argv[1]);
	return 2;
}
