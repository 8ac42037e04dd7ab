/* SPDX-License-Identifier: MIT */
/* Small shared helpers: cleanup attributes, error convention, bounded I/O.
 *
 * Convention: every fallible internal function returns 0 or a
 * negative errno; a human-readable reason goes into a caller-supplied
 * struct js_err, and only the boundary (PAM glue, a main()) logs it once. */
#ifndef JSANDBOX_JSUTIL_H
#define JSANDBOX_JSUTIL_H

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#define JS_ERR_MAX 512

/* One error message, filled by the deepest function that knows the reason. */
struct js_err {
	int code; /* negative errno */
	char msg[JS_ERR_MAX];
};

/* Sets err (when not NULL) and returns -errnum (errnum is a positive errno). */
int js_fail(struct js_err *err, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Like js_fail, appending ": strerror(errnum)". */
int js_failm(struct js_err *err, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static inline void js_freep(void *p)
{
	free(*(void **)p);
}
static inline void js_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
static inline void js_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}
static inline void js_closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

#define _cleanup_free_	   __attribute__((cleanup(js_freep)))
#define _cleanup_close_	   __attribute__((cleanup(js_closep)))
#define _cleanup_fclose_   __attribute__((cleanup(js_fclosep)))
#define _cleanup_closedir_ __attribute__((cleanup(js_closedirp)))

/* Hand an fd out of a cleanup scope. */
static inline int js_steal_fd(int *fd)
{
	int r = *fd;
	*fd = -1;
	return r;
}

#define JS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* snprintf that reports truncation as -ENAMETOOLONG. */
int js_snprintf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Bounded string copy; returns -ENAMETOOLONG when src does not fit. */
int js_strlcpy(char *dst, const char *src, size_t len);
/* s as the value of a key=value log field: as is when it is one plain word,
 * else double-quoted with '"' and '\\' escaped; control characters become
 * '?', and a value too long for buf ends in "...". Returns buf (len >= 8). */
const char *js_kv_quote(const char *s, char *buf, size_t len);

/* write()/read() loops that handle EINTR and short counts. */
int js_write_all(int fd, const void *buf, size_t len);
ssize_t js_read_all(int fd, void *buf, size_t len);

/* Write a whole string to a file relative to dirfd in one write() (what
 * uid_map, cgroup files and similar kernel interfaces need). */
int js_write_file_at(int dirfd, const char *name, const char *data, struct js_err *err);

/* Read at most max-1 bytes of a small file into buf, NUL-terminated. */
int js_read_file_at(int dirfd, const char *name, char *buf, size_t max, struct js_err *err);

/* The one rule for a name that becomes a file name on the host (a user's
 * layer state_dir/users/NAME, a cgroup NAME, an image images_dir/NAME) or a
 * field of the container's passwd, group or sudoers: 1 to maxlen bytes
 * (at most JS_NAME_LEN_MAX), a letter, digit or '_' first, then letters,
 * digits, '.', '_', '-' and '@' (directory names like user@domain), and a
 * '$' only as the last byte (Samba machine accounts). So never "", "." or
 * "..", and never '/', ':', ',', '=', whitespace or a control byte.
 * `what` names the kind for the message ("user name"). Returns 0, or
 * -EINVAL with a one-line reason in err. Every name from NSS, the policy or
 * the command line passes here before any file operation uses it. */
#define JS_NAME_LEN_MAX 63
int js_check_name(const char *what, const char *name, size_t maxlen, struct js_err *err);

/* Close every fd >= lowfd except those listed in keep (keep may be NULL). */
void js_close_fds_from(int lowfd, const int *keep, size_t nkeep);

#endif
