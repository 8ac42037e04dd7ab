/* SPDX-License-Identifier: MIT */
#include "jsutil.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

__attribute__((format(printf, 4, 0))) static int vfail(struct js_err *err, int errnum, bool with_strerror,
						       const char *fmt, va_list ap)
{
	if (errnum <= 0)
		errnum = EIO;
	if (err) {
		/* Format aside: callers wrap an earlier message with
		 * js_fail(err, e, "...: %s", err->msg), and vsnprintf into its
		 * own argument garbles it. */
		char msg[sizeof err->msg];
		int n = vsnprintf(msg, sizeof msg, fmt, ap);
		if (with_strerror && n >= 0 && (size_t)n < sizeof msg)
			snprintf(msg + n, sizeof msg - (size_t)n, ": %s", strerror(errnum));
		memcpy(err->msg, msg, sizeof msg);
		err->code = -errnum;
	}
	return -errnum;
}

int js_fail(struct js_err *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vfail(err, errnum, false, fmt, ap);
	va_end(ap);
	return r;
}

int js_failm(struct js_err *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vfail(err, errnum, true, fmt, ap);
	va_end(ap);
	return r;
}

int js_snprintf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

const char *js_kv_quote(const char *s, char *buf, size_t len)
{
	if (len < 8)
		return "?";
	bool plain = s[0] != '\0';
	for (const char *p = s; *p; p++)
		if (*p == ' ' || *p == '"' || *p == '\\' || *p == '=' || (unsigned char)*p < 0x20 || *p == 0x7f)
			plain = false;
	size_t o = 0;
	if (!plain)
		buf[o++] = '"';
	/* room for an escaped character, "...", the closing quote and NUL */
	for (const char *p = s; *p; p++) {
		if (o + 7 >= len) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		unsigned char ch = (unsigned char)*p;
		if (ch == '"' || ch == '\\')
			buf[o++] = '\\';
		buf[o++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
	}
	if (!plain)
		buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

int js_strlcpy(char *dst, const char *src, size_t len)
{
	size_t n = strlen(src);
	if (len == 0)
		return -ENAMETOOLONG;
	if (n >= len) {
		dst[0] = '\0';
		return -ENAMETOOLONG;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

int js_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t js_read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int js_write_file_at(int dirfd, const char *name, const char *data, struct js_err *err)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return js_failm(err, errno, "cannot open \"%s\"", name);
	size_t len = strlen(data);
	ssize_t n;
	do
		n = write(fd, data, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return js_failm(err, errno, "cannot write \"%s\" to \"%s\"", data, name);
	if ((size_t)n != len)
		return js_fail(err, EIO, "short write to \"%s\"", name);
	return 0;
}

int js_read_file_at(int dirfd, const char *name, char *buf, size_t max, struct js_err *err)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return js_failm(err, errno, "cannot open \"%s\"", name);
	ssize_t n = js_read_all(fd, buf, max - 1);
	if (n < 0)
		return js_failm(err, (int)-n, "cannot read \"%s\"", name);
	buf[n] = '\0';
	return (int)n;
}

void js_close_fds_from(int lowfd, const int *keep, size_t nkeep)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d) {
		/* No /proc: close a bounded range the slow way. */
		for (int fd = lowfd; fd < 65536; fd++) {
			bool k = false;
			for (size_t i = 0; i < nkeep; i++)
				k = k || keep[i] == fd;
			if (!k)
				close(fd);
		}
		return;
	}
	int dfd = dirfd(d);
	int fds[1024];
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < JS_ARRAY_SIZE(fds)) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);
		if (*end || end == de->d_name || fd < lowfd || fd == dfd)
			continue;
		fds[n++] = (int)fd;
	}
	closedir(d);
	for (size_t j = 0; j < n; j++) {
		bool k = false;
		for (size_t i = 0; i < nkeep; i++)
			k = k || keep[i] == fds[j];
		if (!k)
			close(fds[j]);
	}
	if (n == JS_ARRAY_SIZE(fds))
		js_close_fds_from(lowfd, keep, nkeep);
}

int js_check_name(const char *what, const char *name, size_t maxlen, struct js_err *err)
{
	if (maxlen > JS_NAME_LEN_MAX)
		maxlen = JS_NAME_LEN_MAX;
	size_t len = strnlen(name, maxlen + 1);
	bool ok = len > 0 && len <= maxlen;
	for (size_t i = 0; ok && i < len; i++) {
		char c = name[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (i == 0)
			ok = alnum || c == '_';
		else
			ok = alnum || c == '_' || c == '.' || c == '-' || c == '@' || (c == '$' && i == len - 1);
	}
	if (ok)
		return 0;
	/* The name itself, made printable, so the admin sees which one. */
	char shown[2 * JS_NAME_LEN_MAX + 4];
	size_t o = 0, i = 0;
	for (; name[i] && o + 5 < sizeof shown; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < ' ' || c >= 0x7f || c == '"' || c == '\\')
			o += (size_t)snprintf(shown + o, sizeof shown - o, "\\x%02x", c);
		else
			shown[o++] = (char)c;
	}
	shown[o] = '\0';
	return js_fail(err, EINVAL,
		       "%s \"%s%s\" cannot be used as a file name: expected 1 to %zu characters, a letter, digit "
		       "or '_' first, then letters, digits, '.', '_', '-', '@' (and '$' only at the end)",
		       what, shown, name[i] ? "..." : "", maxlen);
}
