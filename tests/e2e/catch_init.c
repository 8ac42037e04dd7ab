/* SPDX-License-Identifier: MIT */
/* t_40's catcher: stop a container's init (PID 1 of its pid namespace) the
 * moment it appears in a cgroup, before it has built its root file system
 * and reported ready.
 *
 *   catch_init CGROUP.PROCS TIMEOUT_MS
 *
 * Reads CGROUP.PROCS (which may not exist yet) over and over; the first
 * process whose NSpid line ends in 1 gets SIGSTOP and its host pid is
 * printed. Exit 0 when one was stopped, 1 at the timeout. The init
 * appears at its clone and reports ready only after many mounts; a loop
 * of reads without forks closes that gap, where t_40's shell loop (a grep
 * per process) missed it on a fast, quiet machine. */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

static ssize_t read_all(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/* Is PID the first process of a pid namespace below ours? */
static int is_ns_init(long pid)
{
	char path[64], st[4096];
	snprintf(path, sizeof path, "/proc/%ld/status", pid);
	if (read_all(path, st, sizeof st) < 0)
		return 0;
	char *l = strstr(st, "\nNSpid:");
	if (!l)
		return 0;
	l += 7;
	char *end = strchr(l, '\n');
	if (end)
		*end = '\0';
	int fields = 0;
	long last = -1;
	for (char *save = NULL, *t = strtok_r(l, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		fields++;
		last = strtol(t, NULL, 10);
	}
	return fields > 1 && last == 1;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: catch_init CGROUP.PROCS TIMEOUT_MS\n");
		return 2;
	}
	long deadline = now_ms() + strtol(argv[2], NULL, 10);
	static char procs[1 << 16];
	while (now_ms() < deadline) {
		if (read_all(argv[1], procs, sizeof procs) > 0) {
			for (char *save = NULL, *t = strtok_r(procs, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
				long pid = strtol(t, NULL, 10);
				if (pid > 0 && is_ns_init(pid) && kill((pid_t)pid, SIGSTOP) == 0) {
					printf("%ld\n", pid);
					return 0;
				}
			}
		}
		sched_yield();
	}
	return 1;
}
