/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the policy parser. Each input is written to a private
 * file and loaded the way the PAM module loads /etc/jsandbox.conf (only the
 * owner differs: the fuzzing user instead of root), then resolved for a
 * user in a few groups and rendered back; the same bytes also go through
 * every value parser. Crashes, leaks and undefined behaviour are the
 * findings (the build has ASan and UBSan). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static void values(const char *s)
{
	char why[256], out[256];
	bool b;
	struct js_amount a;
	uint64_t u;
	uint32_t pct;
	static struct js_gpu_sel g;
	static struct js_dev_rule d[JS_DEV_MAX];
	size_t n;
	js_parse_bool(s, &b, why, sizeof why);
	js_parse_size(s, true, true, &a, why, sizeof why);
	js_parse_size(s, false, false, &a, why, sizeof why);
	js_parse_uint(s, 16, 4194304, true, &u, why, sizeof why);
	js_parse_percent(s, 1, 100000, true, &pct, why, sizeof why);
	js_parse_gpus(s, &g, why, sizeof why);
	js_parse_devices(s, d, &n, why, sizeof why);
	js_parse_name(s, out, sizeof out, why, sizeof why);
	js_parse_abspath(s, out, sizeof out, why, sizeof why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!path[0]) {
		const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
		snprintf(path, sizeof path, "%.40s/jsb-fuzz-XXXXXX", dir);
		int fd = mkstemp(path);
		if (fd < 0)
			abort();
		close(fd);
	}
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
		abort();
	close(fd);

	struct js_config *c = NULL;
	struct js_problems pr = {0};
	if (js_config_load_owner(path, geteuid(), &c, &pr) == 0 && c) {
		static const char *const groups[] = {"gpu", "students", "users"};
		static const char *const users[] = {"alice", "bob", "root"};
		for (size_t i = 0; i < 3; i++) {
			struct js_policy p;
			char why[512], buf[4096];
			if (js_config_resolve(c, users[i], groups, 3 - i, &p, why, sizeof why) == 0)
				for (unsigned k = 0; k < JS_KEY__COUNT; k++)
					js_policy_format(&p, (enum js_key)k, buf, sizeof buf);
		}
		for (size_t i = 0; i < js_config_nsections(c); i++)
			(void)js_config_section(c, i);
		(void)js_config_global(c);
		(void)js_config_has_global_problem(c);
		js_config_free(c);
	}
	js_problems_free(&pr);

	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	values(s);
	free(s);
	return 0;
}
