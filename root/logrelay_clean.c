/* SPDX-License-Identifier: MIT */
/* The relay's treatment of one datagram (logrelay.h). */
#include "logrelay.h"

#include <string.h>
#include <syslog.h>

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* "Mmm dd hh:mm:ss " (the day padded with a space or a zero). */
static bool rfc3164_stamp(const char *p, size_t n)
{
	if (n < 16)
		return false;
	return is_alpha(p[0]) && is_alpha(p[1]) && is_alpha(p[2]) && p[3] == ' ' && (p[4] == ' ' || is_digit(p[4])) &&
	       is_digit(p[5]) && p[6] == ' ' && is_digit(p[7]) && is_digit(p[8]) && p[9] == ':' && is_digit(p[10]) &&
	       is_digit(p[11]) && p[12] == ':' && is_digit(p[13]) && is_digit(p[14]) && p[15] == ' ';
}

static int allowed_facility(int fac)
{
	switch (fac) {
	case LOG_USER:
	case LOG_DAEMON:
	case LOG_AUTH:
	case LOG_AUTHPRIV:
	case LOG_LOCAL0:
	case LOG_LOCAL1:
	case LOG_LOCAL2:
	case LOG_LOCAL3:
	case LOG_LOCAL4:
	case LOG_LOCAL5:
	case LOG_LOCAL6:
	case LOG_LOCAL7:
		return fac;
	default:
		return LOG_USER;
	}
}

int js_logrelay_clean(const char *in, size_t n, bool cut, char out[JS_LOGRELAY_LINE_MAX])
{
	int fac = LOG_USER, sev = LOG_NOTICE;
	size_t i = 0;
	if (n >= 3 && in[0] == '<') {
		int v = 0;
		size_t k = 1;
		while (k < n && k <= 3 && is_digit(in[k]))
			v = v * 10 + (in[k++] - '0');
		if (k > 1 && k < n && in[k] == '>' && v <= 191) {
			fac = allowed_facility(v & LOG_FACMASK);
			sev = v & LOG_PRIMASK;
			i = k + 1;
		}
	}
	if (sev < LOG_ERR)
		sev = LOG_ERR;
	if (rfc3164_stamp(in + i, n - i))
		i += 16;
	/* trailing NULs and line ends are framing, not text */
	while (n > i && (in[n - 1] == '\0' || in[n - 1] == '\n' || in[n - 1] == '\r'))
		n--;
	static const char mark[] = " [truncated]";
	_Static_assert(JS_LOGRELAY_TEXT_MAX + sizeof mark <= JS_LOGRELAY_LINE_MAX, "line buffer too small");
	size_t o = 0;
	for (; i < n && o < JS_LOGRELAY_TEXT_MAX; i++) {
		unsigned char c = (unsigned char)in[i];
		out[o++] = c == '\t' ? ' ' : (c < 0x20 || c > 0x7e) ? '?' : (char)c;
	}
	if (cut || i < n) {
		memcpy(out + o, mark, sizeof mark - 1);
		o += sizeof mark - 1;
	}
	out[o] = '\0';
	if (o == 0)
		memcpy(out, "(empty)", sizeof "(empty)");
	return fac | sev;
}

bool js_logrelay_user_ok(const char *name)
{
	size_t l = strlen(name);
	if (l == 0 || l > 64 || name[0] == '-' || name[0] == '.')
		return false;
	for (size_t i = 0; i < l; i++) {
		char c = name[i];
		if (!(is_alpha(c) || is_digit(c) || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}
