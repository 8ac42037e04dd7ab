/* SPDX-License-Identifier: MIT */
/* lib/overlay.c for real: a userxattr overlay mounted in a private user and
 * mount namespace (as the container's init does), once with the classic
 * "lowerdir" key that Debian 12's 6.1 needs (the fallback, forced here so a
 * new kernel tests it too), once the way the helper does (lowerdir+ where
 * the kernel has it, else the fallback), and the classic key's refusal of
 * paths it cannot carry. Each mount is proved by a file of the lower layer
 * read through it and a file written through it landing in the upper
 * layer. Root only (exit 77 otherwise; with CI=true a skip fails). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ci_skip.h"
#include "overlay.h"

struct result {
	int r;
	int used;
	long ftype;
	int read_lower;	  /* the lower layer's file read through the overlay */
	int wrote_upper;  /* a file written through it is in the upper layer */
	int lower_intact; /* ...and not in the lower one */
	char msg[JS_ERR_MAX];
};

static struct result *res;
static char top[96];
/* A directory name for the layers, changed per case. */
static const char *lname = "lower";

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(top, sizeof top, "/var/tmp/jsb-ovl-test.XXXXXX");
	assert_non_null(mkdtemp(top));
	char p[256];
	const char *sub[] = {"upper", "work", "merged"};
	snprintf(p, sizeof p, "%s/%s", top, lname);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof p, "%s/%s/from-lower", top, lname);
	put(p, "image\n");
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s/%s", top, sub[i]);
		assert_int_equal(mkdir(p, 0755), 0);
	}
	memset(res, 0, sizeof *res);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf --one-file-system '%s'", top);
	return system(cmd) == 0 ? 0 : -1;
}

static int write_self(const char *file, const char *text)
{
	int fd = open(file, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* In a child: a user namespace mapping root to root (the container's init
 * is root of its own namespace too) and a mount namespace it owns, then the
 * overlay; the child reports through res. */
static void mount_in_child(enum js_ovl_lower how)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0 || write_self("/proc/self/setgroups", "deny") < 0 ||
		    write_self("/proc/self/uid_map", "0 0 1") < 0 || write_self("/proc/self/gid_map", "0 0 1") < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
			snprintf(res->msg, sizeof res->msg, "namespace set-up: %s", strerror(errno));
			res->r = -errno;
			_exit(2);
		}
		char lower[192], upper[128], work[128], merged[128], p[256];
		snprintf(lower, sizeof lower, "%s/%s", top, lname);
		snprintf(upper, sizeof upper, "%s/upper", top);
		snprintf(work, sizeof work, "%s/work", top);
		snprintf(merged, sizeof merged, "%s/merged", top);
		struct js_err err = {0};
		enum js_ovl_lower used = JS_OVL_LOWER_AUTO;
		res->r = js_overlay_mount(lower, upper, work, merged, how, &used, &err);
		res->used = (int)used;
		snprintf(res->msg, sizeof res->msg, "%s", err.msg);
		if (res->r < 0)
			_exit(0);
		struct statfs sf;
		if (statfs(merged, &sf) == 0)
			res->ftype = (long)sf.f_type;
		char buf[16] = {0};
		snprintf(p, sizeof p, "%s/from-lower", merged);
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		res->read_lower = fd >= 0 && read(fd, buf, sizeof buf - 1) > 0 && !strcmp(buf, "image\n");
		if (fd >= 0)
			close(fd);
		snprintf(p, sizeof p, "%s/made-inside", merged);
		fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		res->wrote_upper = fd >= 0 && write(fd, "x", 1) == 1;
		if (fd >= 0)
			close(fd);
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) != 0)
		fail_msg("child: %s", res->msg);
	/* Back on the host: the layers as the kernel left them. */
	char p[256];
	struct stat sb;
	snprintf(p, sizeof p, "%s/upper/made-inside", top);
	res->wrote_upper = res->wrote_upper && stat(p, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == 1;
	snprintf(p, sizeof p, "%s/%s/made-inside", top, lname);
	res->lower_intact = stat(p, &sb) < 0 && errno == ENOENT;
}

static void assert_real_overlay(void)
{
	if (res->r < 0)
		fail_msg("overlay failed: %s", res->msg);
	assert_int_equal(res->ftype, OVERLAYFS_SUPER_MAGIC);
	assert_true(res->read_lower);
	assert_true(res->wrote_upper);
	assert_true(res->lower_intact);
}

/* Debian 12's path: the classic key, on whatever kernel runs the test. */
static void test_legacy_key(void **state)
{
	(void)state;
	mount_in_child(JS_OVL_LOWER_LEGACY);
	assert_real_overlay();
	assert_int_equal(res->used, JS_OVL_LOWER_LEGACY);
}

/* The helper's path: lowerdir+ on 6.8+, the classic key below. */
static void test_auto(void **state)
{
	(void)state;
	mount_in_child(JS_OVL_LOWER_AUTO);
	assert_real_overlay();
	int expect = js_kernel_at_least(6, 8, NULL, 0) ? JS_OVL_LOWER_APPEND : JS_OVL_LOWER_LEGACY;
	assert_int_equal(res->used, expect);
}

/* A lower path the classic option string would split (':') is refused with
 * the reason, and nothing is mounted. */
static void test_legacy_refuses_separators(void **state)
{
	(void)state;
	mount_in_child(JS_OVL_LOWER_LEGACY);
	assert_int_equal(res->r, -EINVAL);
	assert_non_null(strstr(res->msg, "holds ':'"));
	assert_false(res->wrote_upper);
}

/* lowerdir+ takes the same path as it is (on kernels that have it). */
static void test_append_takes_separators(void **state)
{
	(void)state;
	JS_SKIP_IF(!js_kernel_at_least(6, 8, NULL, 0), "this kernel has no lowerdir+ (Linux 6.8)");
	mount_in_child(JS_OVL_LOWER_APPEND);
	assert_real_overlay();
	assert_int_equal(res->used, JS_OVL_LOWER_APPEND);
}

static int setup_plain(void **state)
{
	lname = "lower";
	return setup(state);
}

static int setup_odd(void **state)
{
	lname = "low:er,x";
	return setup(state);
}

int main(void)
{
	if (geteuid() != 0) {
		if (js_test_under_ci()) {
			fprintf(stderr, "FAIL: test_overlay needs root (CI=true)\n");
			return 1;
		}
		fprintf(stderr, "SKIP: test_overlay needs root\n");
		return 77;
	}
	res = mmap(NULL, sizeof *res, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_legacy_key, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_auto, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_legacy_refuses_separators, setup_odd, teardown),
	    cmocka_unit_test_setup_teardown(test_append_takes_separators, setup_odd, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
