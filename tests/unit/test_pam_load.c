/* SPDX-License-Identifier: MIT */
/* sshd dlopens PAM modules; a missing symbol or a leaked export would only
 * show there. Load the built module the same way and look at what it
 * exports. */
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_dlopen_now(void **state)
{
	void *h = dlopen(PAM_MODULE_PATH, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		fail_msg("dlopen: %s", dlerror());
	assert_non_null(dlsym(h, "pam_sm_open_session"));
	assert_non_null(dlsym(h, "pam_sm_close_session"));
	assert_non_null(dlsym(h, "pam_sm_acct_mgmt"));
	assert_non_null(dlsym(h, "pam_sm_authenticate"));
	assert_non_null(dlsym(h, "pam_sm_setcred"));
	/* internals stay internal */
	assert_null(dlsym(h, "js_session_open"));
	assert_null(dlsym(h, "js_config_load"));
	assert_null(dlsym(h, "iniparser_load_file_internal_does_not_exist"));
	dlclose(h);
}

/* Every defined dynamic symbol must be pam_sm_*. */
static void test_only_pam_sm_exported(void **state)
{
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "nm -D --defined-only '%s'", PAM_MODULE_PATH);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char line[512];
	int n = 0, bad = 0;
	while (fgets(line, sizeof line, p)) {
		char addr[64], type[8], name[256];
		if (sscanf(line, "%63s %7s %255s", addr, type, name) != 3)
			continue;
		if (strcmp(type, "T") && strcmp(type, "D") && strcmp(type, "B") && strcmp(type, "R"))
			continue;
		n++;
		if (strncmp(name, "pam_sm_", 7)) {
			fprintf(stderr, "unexpected export: %s", line);
			bad++;
		}
	}
	assert_int_equal(pclose(p), 0);
	assert_int_equal(n, 5); /* authenticate, setcred, acct_mgmt, open_session, close_session */
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dlopen_now),
		cmocka_unit_test(test_only_pam_sm_exported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
