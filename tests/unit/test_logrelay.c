/* SPDX-License-Identifier: MIT */
/* What the container's /dev/log relay makes of one datagram
 * (root/logrelay_clean.c): the sender's header parsed, never trusted; one
 * line of printable ASCII, bounded; the priority clamped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <syslog.h>

#include <cmocka.h>

#include "logrelay.h"

static int clean(const char *in, size_t n, bool cut, char *out)
{
	memset(out, 'Z', JS_LOGRELAY_LINE_MAX);
	return js_logrelay_clean(in, n, cut, out);
}

#define S(x) x, sizeof(x) - 1

static void test_sudo_line(void **state)
{
	(void)state;
	char out[JS_LOGRELAY_LINE_MAX];
	int pri = clean(S("<85>Dec  3 17:00:00 sudo:    alice : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/usr/bin/true"),
			false, out);
	assert_int_equal(pri, LOG_AUTHPRIV | LOG_NOTICE);
	assert_string_equal(out, "sudo:    alice : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/usr/bin/true");
	/* a zero-padded day, a trailing newline and NULs */
	pri = clean(S("<38>Jan 03 01:02:03 prog: hi\n\0\0"), false, out);
	assert_int_equal(pri, LOG_AUTH | LOG_INFO);
	assert_string_equal(out, "prog: hi");
}

static void test_priority_clamped(void **state)
{
	(void)state;
	char out[JS_LOGRELAY_LINE_MAX];
	/* kern.emerg: facility to user, severity to err */
	assert_int_equal(clean(S("<0>boom"), false, out), LOG_USER | LOG_ERR);
	assert_string_equal(out, "boom");
	/* authpriv.alert (sudo's failures) -> authpriv.err */
	assert_int_equal(clean(S("<81>x"), false, out), LOG_AUTHPRIV | LOG_ERR);
	/* mail, cron, syslog, out-of-range: user */
	assert_int_equal(clean(S("<22>x"), false, out), LOG_USER | LOG_INFO);
	assert_int_equal(clean(S("<46>x"), false, out), LOG_USER | LOG_INFO);
	assert_int_equal(clean(S("<191>x"), false, out), LOG_LOCAL7 | LOG_DEBUG);
	/* not a header: kept as text, default user.notice */
	assert_int_equal(clean(S("<192>x"), false, out), LOG_USER | LOG_NOTICE);
	assert_string_equal(out, "<192>x");
	assert_int_equal(clean(S("<1234>x"), false, out), LOG_USER | LOG_NOTICE);
	assert_string_equal(out, "<1234>x");
	assert_int_equal(clean(S("<>x"), false, out), LOG_USER | LOG_NOTICE);
	assert_int_equal(clean(S("<13"), false, out), LOG_USER | LOG_NOTICE);
	assert_string_equal(out, "<13");
	assert_int_equal(clean(S("plain"), false, out), LOG_USER | LOG_NOTICE);
	assert_string_equal(out, "plain");
}

static void test_control_and_binary(void **state)
{
	(void)state;
	char out[JS_LOGRELAY_LINE_MAX];
	clean(S("<13>a\nb\rc\td\x1b[31me\x7f\xff\x80\0f"), false, out);
	/* one line, no escape sequence, no NUL cut */
	assert_string_equal(out, "a?b?c d?[31me????f");
	/* every byte value */
	char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (char)i;
	clean(all, sizeof all, false, out);
	for (const char *p = out; *p; p++)
		assert_true(*p >= 0x20 && *p <= 0x7e);
	/* only framing: "(empty)" */
	clean(S("<13>\n\0"), false, out);
	assert_string_equal(out, "(empty)");
	clean("", 0, false, out);
	assert_string_equal(out, "(empty)");
}

static void test_bounded(void **state)
{
	(void)state;
	static char big[JS_LOGRELAY_IN_MAX];
	char out[JS_LOGRELAY_LINE_MAX];
	memset(big, 'A', sizeof big);
	clean(big, sizeof big, true, out);
	assert_int_equal(strlen(out), JS_LOGRELAY_TEXT_MAX + strlen(" [truncated]"));
	assert_string_equal(out + JS_LOGRELAY_TEXT_MAX, " [truncated]");
	/* longer than the text bound but not cut by the read */
	clean(big, JS_LOGRELAY_TEXT_MAX + 1, false, out);
	assert_string_equal(out + JS_LOGRELAY_TEXT_MAX, " [truncated]");
	/* exactly the bound: whole, unmarked */
	clean(big, JS_LOGRELAY_TEXT_MAX, false, out);
	assert_int_equal(strlen(out), JS_LOGRELAY_TEXT_MAX);
}

static void test_user_names(void **state)
{
	(void)state;
	assert_true(js_logrelay_user_ok("alice"));
	assert_true(js_logrelay_user_ok("jsbt_alice"));
	assert_true(js_logrelay_user_ok("a.b-c"));
	assert_false(js_logrelay_user_ok(""));
	assert_false(js_logrelay_user_ok("-x"));
	assert_false(js_logrelay_user_ok(".x"));
	assert_false(js_logrelay_user_ok("bob]: x"));
	assert_false(js_logrelay_user_ok("a b"));
	assert_false(js_logrelay_user_ok("a\nb"));
	char longname[66];
	memset(longname, 'a', 65);
	longname[65] = '\0';
	assert_false(js_logrelay_user_ok(longname));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sudo_line),	       cmocka_unit_test(test_priority_clamped),
	    cmocka_unit_test(test_control_and_binary), cmocka_unit_test(test_bounded),
	    cmocka_unit_test(test_user_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
