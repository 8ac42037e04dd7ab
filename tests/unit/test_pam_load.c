/* SPDX-License-Identifier: MIT */
/* sshd dlopens PAM modules; a missing symbol or a leaked export would only
 * show there. Load the built module the same way and look at what it
 * exports, with the dynamic loader and with nm on the file. */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const char *const pam_sm[] = {"pam_sm_authenticate", "pam_sm_setcred", "pam_sm_acct_mgmt", "pam_sm_open_session",
				     "pam_sm_close_session"};
#define N_PAM_SM (sizeof pam_sm / sizeof pam_sm[0])

static bool is_pam_sm(const char *name)
{
	for (size_t i = 0; i < N_PAM_SM; i++)
		if (!strcmp(name, pam_sm[i]))
			return true;
	return false;
}

/* Run `nm ARGS MODULE` and call fn for each symbol line (type, name). */
static void each_symbol(const char *args, void (*fn)(char type, const char *name, void *arg), void *arg)
{
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "nm %s '%s'", args, PAM_MODULE_PATH);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char line[512];
	while (fgets(line, sizeof line, p)) {
		char addr[64], type[8], name[256];
		if (sscanf(line, "%63s %7s %255s", addr, type, name) == 3 && type[1] == '\0')
			fn(type[0], name, arg);
	}
	assert_int_equal(pclose(p), 0);
}

struct internals {
	void *handle;
	int n;
};

/* Each function the module carries from lib/ and conf/ (js_*): in the
 * file, and not reachable through the handle sshd gets. */
static void check_internal(char type, const char *name, void *arg)
{
	struct internals *in = arg;
	if ((type != 't' && type != 'T') || strncmp(name, "js_", 3))
		return;
	in->n++;
	if (dlsym(in->handle, name))
		fail_msg("internal function %s is reachable with dlsym", name);
}

static void test_dlopen_now(void **state)
{
	(void)state;
	void *h = dlopen(PAM_MODULE_PATH, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		fail_msg("dlopen: %s", dlerror());
	for (size_t i = 0; i < N_PAM_SM; i++)
		if (!dlsym(h, pam_sm[i]))
			fail_msg("%s is not exported", pam_sm[i]);
	/* internals stay internal: every js_* function in the module's
	 * symbol table (the build does not strip it), looked up by name */
	struct internals in = {h, 0};
	each_symbol("--defined-only", check_internal, &in);
	print_message("%d internal js_* functions, none exported\n", in.n);
	assert_true(in.n > 0);
	dlclose(h);
}

struct exports {
	int n, bad;
};

static void check_export(char type, const char *name, void *arg)
{
	struct exports *ex = arg;
	ex->n++;
	if (!is_pam_sm(name)) {
		fprintf(stderr, "unexpected export: %c %s\n", type, name);
		ex->bad++;
	}
}

/* Every defined dynamic symbol, whatever its type, is one of the five. */
static void test_only_pam_sm_exported(void **state)
{
	(void)state;
	struct exports ex = {0, 0};
	each_symbol("-D --defined-only", check_export, &ex);
	assert_int_equal(ex.bad, 0);
	assert_int_equal(ex.n, N_PAM_SM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dlopen_now),
	    cmocka_unit_test(test_only_pam_sm_exported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
