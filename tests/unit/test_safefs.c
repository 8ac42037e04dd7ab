/* SPDX-License-Identifier: MIT */
/* Root-side file primitives on trees a user controls: removal at any depth
 * with a bounded number of fds and without following links
 * (js_remove_tree_at), mkdir -p that never goes through a link
 * (js_mkdir_beneath), and the one rule for names that become file names
 * (js_check_name). Runs as any user, in a private temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "safefs.h"

static char top[64];
static int topfd = -1;

static int setup(void **state)
{
	snprintf(top, sizeof top, "/tmp/jsb-safefs-XXXXXX");
	if (!mkdtemp(top))
		return -1;
	topfd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return topfd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	close(topfd);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
	return system(cmd) == 0 ? 0 : -1;
}

static void put_file(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
}

/* A chain `depth` directories deep below dfd/name, a file at each level,
 * made with two fds at a time. */
static void make_chain(int dfd, const char *name, int depth)
{
	assert_int_equal(mkdirat(dfd, name, 0755), 0);
	int cur = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(cur >= 0);
	for (int i = 0; i < depth; i++) {
		put_file(cur, "f");
		assert_int_equal(mkdirat(cur, "d", 0755), 0);
		int next = openat(cur, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		assert_true(next >= 0);
		close(cur);
		cur = next;
	}
	close(cur);
}

static int count_open_fds(void)
{
	int n = 0;
	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

/* 5000 levels under RLIMIT_NOFILE 64: the old recursive walk held two fds
 * a level and stopped at 4096 levels. */
static void test_remove_deep_low_nofile(void **state)
{
	make_chain(topfd, "deep", 5000);
	struct rlimit old, low = {.rlim_cur = 64};
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low.rlim_max = old.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	int before = count_open_fds();
	struct js_err e = {0};
	int r = js_remove_tree_at(topfd, "deep", &e);
	int after = count_open_fds();
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	if (r < 0)
		fail_msg("js_remove_tree_at: %s", e.msg);
	assert_int_equal(after, before);
	struct stat st;
	assert_int_equal(fstatat(topfd, "deep", &st, AT_SYMLINK_NOFOLLOW), -1);
	assert_int_equal(errno, ENOENT);
}

/* Wide and deep at once: 60 siblings each 40 levels deep, so the walk
 * closes and reopens the wide directory (through "..") for every sibling
 * and must still find every entry. */
static void test_remove_wide_and_deep(void **state)
{
	assert_int_equal(mkdirat(topfd, "wide", 0755), 0);
	int w = openat(topfd, "wide", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(w >= 0);
	for (int i = 0; i < 60; i++) {
		char n[16];
		snprintf(n, sizeof n, "s%02d", i);
		make_chain(w, n, 40);
		snprintf(n, sizeof n, "file%02d", i);
		put_file(w, n);
	}
	close(w);
	struct js_err e = {0};
	if (js_remove_tree_at(topfd, "wide", &e) < 0)
		fail_msg("js_remove_tree_at: %s", e.msg);
	struct stat st;
	assert_int_equal(fstatat(topfd, "wide", &st, AT_SYMLINK_NOFOLLOW), -1);
}

/* Links to a directory and a file outside the tree: removed as links, what
 * they point at stays. */
static void test_remove_keeps_link_targets(void **state)
{
	assert_int_equal(mkdirat(topfd, "decoy", 0755), 0);
	int d = openat(topfd, "decoy", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	put_file(d, "keep");
	close(d);
	make_chain(topfd, "victim", 3);
	char target[128];
	snprintf(target, sizeof target, "%s/decoy", top);
	assert_int_equal(symlinkat(target, topfd, "victim/d/dirlink"), 0);
	snprintf(target, sizeof target, "%s/decoy/keep", top);
	assert_int_equal(symlinkat(target, topfd, "victim/d/d/filelink"), 0);
	assert_int_equal(symlinkat("..", topfd, "victim/d/d/d/up"), 0);
	struct js_err e = {0};
	if (js_remove_tree_at(topfd, "victim", &e) < 0)
		fail_msg("js_remove_tree_at: %s", e.msg);
	struct stat st;
	assert_int_equal(fstatat(topfd, "decoy/keep", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(fstatat(topfd, "victim", &st, AT_SYMLINK_NOFOLLOW), -1);
	/* the top itself a link: the link goes, not its target */
	assert_int_equal(symlinkat("decoy", topfd, "toplink"), 0);
	assert_int_equal(js_remove_tree_at(topfd, "toplink", &e), 0);
	assert_int_equal(fstatat(topfd, "decoy/keep", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(js_remove_tree_at(topfd, "decoy", &e), 0);
	assert_int_equal(js_remove_tree_at(topfd, "missing", &e), 0);
}

/* "." would have removed every sibling (jsandboxctl reset . did), ".."
 * the parent's; a '/' walks elsewhere. Nothing is touched. */
static void test_remove_refuses_non_names(void **state)
{
	make_chain(topfd, "sib", 1);
	static const char *const bad[] = {".", "..", "sib/d", "", "/tmp"};
	for (size_t i = 0; i < JS_ARRAY_SIZE(bad); i++) {
		struct js_err e = {0};
		assert_int_equal(js_remove_tree_at(topfd, bad[i], &e), -EINVAL);
		assert_non_null(strstr(e.msg, "not a single file name"));
	}
	struct stat st;
	assert_int_equal(fstatat(topfd, "sib/d", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(js_remove_tree_at(topfd, "sib", NULL), 0);
}

static void test_mkdir_beneath(void **state)
{
	struct js_err e = {0};
	int fd = js_mkdir_beneath(topfd, "srv/home/alice", 0755, &e);
	if (fd < 0)
		fail_msg("js_mkdir_beneath: %s", e.msg);
	struct stat a, b;
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(fstatat(topfd, "srv/home/alice", &b, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(a.st_ino == b.st_ino && S_ISDIR(b.st_mode));
	close(fd);
	/* existing: opened again, no error */
	fd = js_mkdir_beneath(topfd, "srv/home", 0755, &e);
	assert_true(fd >= 0);
	close(fd);

	/* a link in the chain, absolute or relative: refused, and nothing
	 * is made where it points */
	assert_int_equal(mkdirat(topfd, "elsewhere", 0755), 0);
	char target[128];
	snprintf(target, sizeof target, "%s/elsewhere", top);
	assert_int_equal(symlinkat(target, topfd, "srv/abs"), 0);
	assert_int_equal(symlinkat("../elsewhere", topfd, "srv/rel"), 0);
	/* (O_NOFOLLOW | O_DIRECTORY on a link: ENOTDIR, or ELOOP) */
	int r = js_mkdir_beneath(topfd, "srv/abs/bob", 0755, &e);
	assert_true(r == -ELOOP || r == -ENOTDIR);
	assert_non_null(strstr(e.msg, "\"/srv/abs\" is a symbolic link"));
	r = js_mkdir_beneath(topfd, "srv/rel/bob", 0755, &e);
	assert_true(r == -ELOOP || r == -ENOTDIR);
	assert_int_equal(fstatat(topfd, "elsewhere/bob", &b, AT_SYMLINK_NOFOLLOW), -1);
	/* a file in the chain, and ".." */
	put_file(topfd, "srv/file");
	assert_int_equal(js_mkdir_beneath(topfd, "srv/file/x", 0755, &e), -ENOTDIR);
	assert_int_equal(js_mkdir_beneath(topfd, "srv/../elsewhere/x", 0755, &e), -EINVAL);
	assert_int_equal(fstatat(topfd, "elsewhere/x", &b, AT_SYMLINK_NOFOLLOW), -1);
	assert_int_equal(js_remove_tree_at(topfd, "srv", NULL), 0);
	assert_int_equal(js_remove_tree_at(topfd, "elsewhere", NULL), 0);
}

static void test_check_name(void **state)
{
	static const char *const good[] = {"alice", "a",    "_svc",   "Bob.Smith", "user-1", "alice@example.com",
					   "host$", "0day", "x_y.z-w"};
	static const char *const bad[] = {
	    "",	    ".",   "..",   ".hidden",
	    "-rf",  "a/b", "a b",  "a:b",
	    "a\nb", "a,b", "a$b",  "$",
	    "@x",   "é",   "a\tb", "1234567890123456789012345678901234567890123456789012345678901234"};
	struct js_err e;
	for (size_t i = 0; i < JS_ARRAY_SIZE(good); i++)
		if (js_check_name("user name", good[i], 63, &e) != 0)
			fail_msg("\"%s\" refused: %s", good[i], e.msg);
	for (size_t i = 0; i < JS_ARRAY_SIZE(bad); i++)
		if (js_check_name("user name", bad[i], 63, &e) != -EINVAL)
			fail_msg("\"%s\" accepted", bad[i]);
	/* the message names the kind and shows the name, control bytes escaped */
	assert_int_equal(js_check_name("user name", "a\nb", 32, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "user name \"a\\x0ab\""));
	/* maxlen below the global bound */
	assert_int_equal(js_check_name("user name", "abcdef", 5, &e), -EINVAL);
	assert_int_equal(js_check_name("user name", "abcde", 5, &e), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_remove_deep_low_nofile),
	    cmocka_unit_test(test_remove_wide_and_deep),
	    cmocka_unit_test(test_remove_keeps_link_targets),
	    cmocka_unit_test(test_remove_refuses_non_names),
	    cmocka_unit_test(test_mkdir_beneath),
	    cmocka_unit_test(test_check_name),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
