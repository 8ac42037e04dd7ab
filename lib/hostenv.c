/* SPDX-License-Identifier: MIT */
#include "hostenv.h"

#include <string.h>

static bool name_ok(const char *n, size_t len)
{
	static const char *const exact[] = {"LANG", "LANGUAGE"};
	for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
		if (len == strlen(exact[i]) && !memcmp(n, exact[i], len))
			return true;
	/* LC_ALL, LC_CTYPE, ...: upper-case letters after the prefix */
	if (len <= 3 || memcmp(n, "LC_", 3) != 0)
		return false;
	for (size_t i = 3; i < len; i++)
		if (!(n[i] >= 'A' && n[i] <= 'Z') && n[i] != '_')
			return false;
	return true;
}

/* A locale name (en_US.UTF-8, de_DE@euro, C.UTF-8) or, for LANGUAGE, a
 * colon-separated list of them: no '/', so never a file the user chose. */
static bool value_ok(const char *v)
{
	size_t n = strlen(v);
	if (n == 0 || n > JS_HOSTENV_VALUE_MAX || v[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		      c == '-' || c == '.' || c == '@' || c == ':'))
			return false;
	}
	return strstr(v, "..") == NULL;
}

bool js_hostenv_keep(const char *entry)
{
	const char *eq = strchr(entry, '=');
	if (!eq)
		return false;
	return name_ok(entry, (size_t)(eq - entry)) && value_ok(eq + 1);
}
