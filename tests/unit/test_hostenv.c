/* SPDX-License-Identifier: MIT */
/* What of a sandboxed user's PAM environment may reach sshd's host-side
 * programs (lib/hostenv.c): the locale with plain values, nothing else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hostenv.h"

static void test_locale_kept(void **state)
{
	(void)state;
	assert_true(js_hostenv_keep("LANG=en_US.UTF-8"));
	assert_true(js_hostenv_keep("LANG=C"));
	assert_true(js_hostenv_keep("LANGUAGE=en_US:en"));
	assert_true(js_hostenv_keep("LC_ALL=de_DE@euro"));
	assert_true(js_hostenv_keep("LC_MESSAGES=C.UTF-8"));
	assert_true(js_hostenv_keep("LC_PAPER=en_GB.utf8"));
}

static void test_everything_else_dropped(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "LD_PRELOAD=/home/a/x.so",
	    "LD_AUDIT=/home/a/x.so",
	    "LD_LIBRARY_PATH=/home/a",
	    "GCONV_PATH=/home/a",
	    "BASH_ENV=/home/a/rc",
	    "ENV=/home/a/rc",
	    "SHELLOPTS=xtrace",
	    "PATH=/home/a:/usr/bin",
	    "TMPDIR=/home/a",
	    "XDG_RUNTIME_DIR=/home/a",
	    "SSH_AUTH_SOCK=/run/x.sock",
	    "PYTHONPATH=/home/a",
	    "TZ=:/home/a/tz",
	    "LC_=C",
	    "LC_all=C",
	    "LANGX=C",
	    "LANG",
	    "=C",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		print_message("%s\n", bad[i]);
		assert_false(js_hostenv_keep(bad[i]));
	}
}

static void test_locale_values_are_names_not_paths(void **state)
{
	(void)state;
	assert_false(js_hostenv_keep("LC_ALL=/home/a/locale"));
	assert_false(js_hostenv_keep("LANG=../../home/a/locale"));
	assert_false(js_hostenv_keep("LANG=.hidden"));
	assert_false(js_hostenv_keep("LANG=en..US"));
	assert_false(js_hostenv_keep("LANG="));
	assert_false(js_hostenv_keep("LANG=en US"));
	assert_false(js_hostenv_keep("LANG=en\nLD_PRELOAD=/x"));
	assert_false(js_hostenv_keep("LANG=C;id"));
	char big[JS_HOSTENV_VALUE_MAX + 16] = "LANG=";
	memset(big + 5, 'a', JS_HOSTENV_VALUE_MAX + 1);
	big[5 + JS_HOSTENV_VALUE_MAX + 1] = '\0';
	assert_false(js_hostenv_keep(big));
	big[5 + JS_HOSTENV_VALUE_MAX] = '\0';
	assert_true(js_hostenv_keep(big));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_locale_kept),
	    cmocka_unit_test(test_everything_else_dropped),
	    cmocka_unit_test(test_locale_values_are_names_not_paths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
