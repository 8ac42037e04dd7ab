/* SPDX-License-Identifier: MIT */
#include "state.h"

#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "safefs.h"

/* The kernel's largest pid_max (PID_MAX_LIMIT on 64-bit). */
#define JS_PID_MAX_LIMIT 4194304

int js_proc_starttime(pid_t pid, uint64_t *out)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = js_read_all(fd, buf, sizeof buf - 1);
	if (n <= 0)
		return n < 0 ? (int)n : -EIO;
	buf[n] = '\0';
	/* comm may contain spaces and ')': parse after the last ')' */
	char *p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	p++;
	/* fields 3..22: state is field 3; starttime is field 22 */
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -EIO;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(p + 1, &end, 10);
	if (errno || end == p + 1)
		return -EIO;
	*out = v;
	return 0;
}

int js_ns_inode(pid_t pid, const char *ns, uint64_t *out)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, ns);
	if (stat(path, &st) < 0)
		return -errno;
	*out = st.st_ino;
	return 0;
}

int js_state_write(int dirfd, const struct js_state *s, struct js_err *err)
{
	char buf[768];
	if (js_snprintf(buf, sizeof buf,
			"pid=%d\nstart=%" PRIu64 "\nuserns=%" PRIu64 "\nnetns=%" PRIu64
			"\nuid=%u\nuser=%s\nimage=%s\nversion=%s\nproto=%u\ngpus=%s\n",
			(int)s->pid, s->start, s->userns, s->netns, s->uid, s->user, s->image, s->version, s->proto,
			s->gpus) < 0)
		return js_fail(err, E2BIG, "runtime state too long");
	return js_write_atomic_at(dirfd, "state", buf, 0644, err);
}

int js_state_read(int dirfd, struct js_state *s, struct js_err *err)
{
	_cleanup_close_ int fd = openat(dirfd, "state", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : js_failm(err, errno, "cannot open runtime state");
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022))
		return js_fail(err, EPERM, "runtime state file is not a root-owned regular file");
	char buf[1024];
	ssize_t n = js_read_all(fd, buf, sizeof buf - 1);
	if (n < 0)
		return js_failm(err, (int)-n, "cannot read runtime state");
	buf[n] = '\0';
	return js_state_parse(buf, s, err);
}

/* A protocol version: decimal digits only, 1 to 1000000; 0 otherwise. */
static uint32_t parse_proto(const char *v)
{
	if (!*v || strspn(v, "0123456789") != strlen(v) || strlen(v) > 7)
		return 0;
	unsigned long p = strtoul(v, NULL, 10);
	return p >= 1 && p <= 1000000 ? (uint32_t)p : 0;
}

int js_state_parse(char *buf, struct js_state *s, struct js_err *err)
{
	memset(s, 0, sizeof *s);
	s->proto = 1; /* JS_PROTO_UNVERSIONED (root/proto.h): no proto= line */
	int seen = 0;
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		const char *k = line, *v = eq + 1;
		char *end;
		errno = 0;
		if (!strcmp(k, "pid")) {
			long p = strtol(v, &end, 10);
			if (*end || p <= 1 || p > JS_PID_MAX_LIMIT)
				return js_fail(err, EINVAL, "runtime state: bad pid");
			s->pid = (pid_t)p;
			seen |= 1;
		} else if (!strcmp(k, "start")) {
			s->start = strtoull(v, &end, 10);
			seen |= 2;
		} else if (!strcmp(k, "userns")) {
			s->userns = strtoull(v, &end, 10);
			seen |= 4;
		} else if (!strcmp(k, "netns")) {
			s->netns = strtoull(v, &end, 10);
		} else if (!strcmp(k, "uid")) {
			s->uid = (uint32_t)strtoul(v, &end, 10);
			seen |= 8;
		} else if (!strcmp(k, "user")) {
			if (js_strlcpy(s->user, v, sizeof s->user) < 0)
				return js_fail(err, EINVAL, "runtime state: user name too long");
		} else if (!strcmp(k, "image")) {
			if (js_strlcpy(s->image, v, sizeof s->image) < 0)
				return js_fail(err, EINVAL, "runtime state: image name too long");
		} else if (!strcmp(k, "version")) {
			if (js_strlcpy(s->version, v, sizeof s->version) < 0)
				s->version[0] = '\0';
		} else if (!strcmp(k, "proto")) {
			s->proto = parse_proto(v);
		} else if (!strcmp(k, "gpus")) {
			if (js_strlcpy(s->gpus, v, sizeof s->gpus) < 0)
				s->gpus[0] = '\0';
		}
	}
	if (seen != 15)
		return js_fail(err, EINVAL, "runtime state is incomplete");
	return 0;
}

int js_state_pidfd(const struct js_state *s)
{
	_cleanup_close_ int pfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
	if (pfd < 0)
		return -ESRCH;
	/* The pidfd pins the process we opened; now prove it is the one the
	 * state describes (a recycled pid has another start time). */
	uint64_t start, userns;
	if (js_proc_starttime(s->pid, &start) < 0 || start != s->start)
		return -ESRCH;
	int r = js_ns_inode(s->pid, "user", &userns);
	if ((r < 0 && r != -EACCES) || (r == 0 && userns != s->userns))
		return -ESRCH;
	/* A pidfd is readable once the process has exited. A killed init
	 * stays a zombie, with its start time and namespaces still in /proc,
	 * until the host's PID 1 reaps it, which some (a VM's or container's
	 * minimal init) do late: it is no container. */
	struct pollfd p = {.fd = pfd, .events = POLLIN};
	if (poll(&p, 1, 0) > 0)
		return -ESRCH;
	int fl = fcntl(pfd, F_GETFD);
	if (fl >= 0)
		fcntl(pfd, F_SETFD, fl | FD_CLOEXEC);
	return js_steal_fd(&pfd);
}
