/* SPDX-License-Identifier: MIT */
/* The cost of one jsandbox-root request, the way pam_jsandbox makes it:
 * posix_spawn of the helper with an empty environment, /dev/null on 0-2
 * and one SOCK_SEQPACKET socket at fd 3, one request, one answer, waitpid.
 * It times N such requests one after the other and prints the median, the
 * minimum and the 90th percentile in microseconds (docs/benchmarks.md,
 * "The root helper's exec").
 *
 *   cc -O2 -Iroot -o build-bench/helper_exec bench/helper_exec.c
 *   build-bench/helper_exec HELPER USER N [acct|bad]
 *
 * As root (the helper answers only a root parent). HELPER is a built
 * jsandbox-root: it reads the configuration compiled into it, so USER
 * should be one that configuration exempts (the account phase of an exempt
 * login, which starts nothing) or refuses. `bad` sends a request with a
 * wrong magic: the helper's exec, its libraries and one syslog line, no
 * policy. Also runs any other program in HELPER's place (its reply is then
 * absent), which times a bare exec for comparison. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pwd.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rootop.h"

static long now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

/* One request; its duration in microseconds, or -1. *status: the answer's
 * status, -1 without one. */
static long one(const char *helper, const struct js_rootop_req *q, int *status)
{
	long t0 = now_us();
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("socketpair");
		return -1;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv[1], JS_ROOTOP_FD);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	char *argv[] = {(char *)JS_ROOTOP_NAME, NULL};
	char *envp[] = {NULL};
	pid_t pid;
	int e = posix_spawn(&pid, helper, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(sv[1]);
	if (e) {
		fprintf(stderr, "%s: %s\n", helper, strerror(e));
		close(sv[0]);
		return -1;
	}
	struct js_rootop_req req = *q;
	req.pid = getpid();
	struct js_rootop_rep rep;
	*status = -1;
	if (send(sv[0], &req, sizeof req, MSG_NOSIGNAL) == (ssize_t)sizeof req &&
	    recv(sv[0], &rep, sizeof rep, 0) == (ssize_t)sizeof rep)
		*status = rep.status;
	int ws;
	while (waitpid(pid, &ws, 0) < 0)
		;
	close(sv[0]);
	return now_us() - t0;
}

int main(int argc, char **argv)
{
	if (argc < 4 || argc > 5 || (argc == 5 && strcmp(argv[4], "acct") && strcmp(argv[4], "bad"))) {
		fprintf(stderr, "usage: %s HELPER USER N [acct|bad]\n", argv[0]);
		return 2;
	}
	const char *helper = argv[1];
	struct passwd *pw = getpwnam(argv[2]);
	int n = atoi(argv[3]);
	if (!pw || strlen(argv[2]) >= JS_ROOTOP_NAME_MAX || n < 1) {
		fprintf(stderr, "%s: unknown or over-long user, or N < 1\n", argv[0]);
		return 2;
	}
	struct js_rootop_req q = {
	    .magic = JS_ROOTOP_MAGIC, .version = JS_ROOTOP_VERSION, .op = JS_ROOTOP_ACCT, .uid = pw->pw_uid};
	if (argc == 5 && !strcmp(argv[4], "bad"))
		q.magic = 0;
	memcpy(q.user, argv[2], strlen(argv[2]) + 1);
	long *t = calloc((size_t)n, sizeof *t);
	if (!t)
		return 1;
	int status = -1;
	for (int i = 0; i < n; i++)
		if ((t[i] = one(helper, &q, &status)) < 0)
			return 1;
	qsort(t, (size_t)n, sizeof *t, cmp_long);
	printf("%s %s: %d requests, answer status %d: median %ld us, min %ld, p90 %ld\n", helper, argv[2], n, status,
	       t[n / 2], t[0], t[(n * 9) / 10]);
	free(t);
	return 0;
}
