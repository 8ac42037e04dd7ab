/* SPDX-License-Identifier: MIT */
/* Skipping a unit test the one way the suite does it. A test that cannot
 * run here (no root, an old kernel, no hierarchy to test) calls
 * JS_SKIP_IF(cond, "why"): cmocka's skip() with the reason printed, except
 * under CI=true, where nothing may be skipped and the skip is a failure
 * (as tests/e2e/report.sh does for the shell tests). Include after
 * <cmocka.h>. */
#ifndef JSB_TEST_CI_SKIP_H
#define JSB_TEST_CI_SKIP_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* How many tests of this program were skipped (main can exit 77 when all
 * were). */
static unsigned js_test_skipped;

static inline bool js_test_under_ci(void)
{
	const char *ci = getenv("CI");
	return ci && !strcmp(ci, "true");
}

#define JS_SKIP_IF(cond, ...)                                                                                          \
	do {                                                                                                           \
		if (cond) {                                                                                            \
			if (js_test_under_ci())                                                                        \
				fail_msg("FAIL: skipped under CI=true: " __VA_ARGS__);                                 \
			print_message("SKIP: " __VA_ARGS__);                                                           \
			print_message("\n");                                                                           \
			js_test_skipped++;                                                                             \
			skip();                                                                                        \
		}                                                                                                      \
	} while (0)

#endif
