/* SPDX-License-Identifier: MIT */
/* dpkg's status text and version order (lib/dpkg.c), as the rebase worker
 * uses them: the order against dpkg's own rules (epochs, '~', numbers as
 * numbers, revisions), stanzas found by name and architecture, Conffiles,
 * and malformed text refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dpkg.h"

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

static void version_order(void **state)
{
	(void)state;
	static const struct {
		const char *a, *b;
		int want;
	} t[] = {
	    {"1.0", "1.0", 0},
	    {"1.0", "2.0", -1},
	    {"1.10", "1.9", 1},
	    {"1.0~rc1", "1.0", -1},
	    {"1.0~~", "1.0~", -1},
	    {"1.0", "1.0+b1", -1},
	    {"1:1.0", "2.0", 1},
	    {"0:1.0", "1.0", 0},
	    {"2.36-9+deb12u4", "2.36-9+deb12u7", -1},
	    {"2.36-9+deb12u10", "2.36-9+deb12u9", 1},
	    {"1.0-1", "1.0", 1},
	    {"1.0a", "1.0", 1},
	    {"1.0.", "1.0", 1},
	    {"007", "7", 0},
	    {"1.2-3-4", "1.2-3", 1},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		assert_int_equal(sign(js_dpkg_vercmp(t[i].a, t[i].b)), t[i].want);
		assert_int_equal(sign(js_dpkg_vercmp(t[i].b, t[i].a)), -t[i].want);
	}
}

static void conf(const char *path, size_t len, void *ctx)
{
	char *out = ctx;
	strncat(out, path, len);
	strcat(out, ";");
}

static void stanzas(void **state)
{
	(void)state;
	const char *src = "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nMulti-Arch: same\n"
			  "Version: 2.36-9\n\n\n"
			  "Package: nano\nStatus: deinstall ok config-files\nVersion: 7.2-1\nConffiles:\n"
			  " /etc/nanorc 0123abcd\n /etc/old 4567 obsolete\nDescription: x\n continued\n\n"
			  "Status: no package here\n\n"
			  "Package: hello\nStatus: install ok installed\nVersion: 2.10-3";
	struct js_dpkg_db db;
	assert_int_equal(js_dpkg_parse(strdup(src), strlen(src), &db), 0);
	assert_int_equal(db.n, 3);
	const struct js_dpkg_pkg *p = js_dpkg_find(&db, "libc6", "amd64");
	assert_non_null(p);
	assert_true(p->ma_same);
	assert_true(js_dpkg_installed(p));
	assert_null(js_dpkg_find(&db, "libc6", ""));
	p = js_dpkg_find(&db, "nano", "");
	assert_non_null(p);
	assert_false(js_dpkg_installed(p));
	assert_string_equal(p->status, "config-files");
	char got[128] = "";
	js_dpkg_conffiles(p, conf, got);
	assert_string_equal(got, "/etc/nanorc;/etc/old;");
	p = js_dpkg_find(&db, "hello", "");
	assert_non_null(p);
	assert_string_equal(p->version, "2.10-3");
	assert_int_equal(p->len, strlen(p->stanza));
	js_dpkg_free(&db);
}

static void malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "Package: a\x01b\nVersion: 1\n",
	    "Package: ok\nVersion: 1\x1b[2J\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct js_dpkg_db db;
		assert_int_equal(js_dpkg_parse(strdup(bad[i]), strlen(bad[i]), &db), -EINVAL);
		js_dpkg_free(&db);
	}
	char longname[400] = "Package: ";
	memset(longname + 9, 'a', 300);
	struct js_dpkg_db db;
	assert_int_equal(js_dpkg_parse(strdup(longname), strlen(longname), &db), -EINVAL);
	js_dpkg_free(&db);
}

static void relations(void **state)
{
	(void)state;
	const char *src = "Package: libfoo1\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.2-1\n\n"
			  "Package: mawk\nStatus: install ok installed\nVersion: 1.3.4\nProvides: awk\n\n"
			  "Package: python3\nStatus: install ok installed\nVersion: 3.11.2-1\n"
			  "Provides: python3-profiler (= 3.11.2-1), python3-foo\n\n"
			  "Package: gone\nStatus: deinstall ok config-files\nVersion: 1.0\n";
	struct js_dpkg_db db;
	assert_int_equal(js_dpkg_parse(strdup(src), strlen(src), &db), 0);
	char miss[128] = "";
	assert_int_equal(js_dpkg_deps_met(&db, "libfoo1 (>= 1.0), awk", miss, sizeof miss), 1);
	assert_int_equal(js_dpkg_deps_met(&db, "libfoo1:amd64 (= 1.2-1)", miss, sizeof miss), 1);
	assert_int_equal(js_dpkg_deps_met(&db, "libfoo1 (<< 1.2)", miss, sizeof miss), 0);
	assert_string_equal(miss, "libfoo1 (<< 1.2)");
	assert_int_equal(js_dpkg_deps_met(&db, "nothing | libfoo1 (>> 1.1)", miss, sizeof miss), 1);
	assert_int_equal(js_dpkg_deps_met(&db, "awk (>= 1.0)", miss, sizeof miss), 0); /* unversioned provide */
	assert_int_equal(js_dpkg_deps_met(&db, "python3-profiler (>= 3.11)", miss, sizeof miss), 1);
	assert_int_equal(js_dpkg_deps_met(&db, "python3-foo", miss, sizeof miss), 1);
	assert_int_equal(js_dpkg_deps_met(&db, "mawk,  gone (>= 1.0)", miss, sizeof miss), 0);
	assert_string_equal(miss, "gone (>= 1.0)");
	js_dpkg_free(&db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(version_order),
	    cmocka_unit_test(stanzas),
	    cmocka_unit_test(malformed),
	    cmocka_unit_test(relations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
