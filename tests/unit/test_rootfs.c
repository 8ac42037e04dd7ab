/* SPDX-License-Identifier: MIT */
/* The container's set-up in a user's layer, for real (root only): what
 * helper/rootfs.c does at a container start, run in a private mount
 * namespace over a small fake image, with links and other traps planted
 * in the layer as root inside would leave them. Issue 10 item 1: nothing
 * may be read, written or made through a link; the host files the links
 * point at never reach the container; the legitimate passwd, group,
 * shadow, sudoers entries and the home under a path the image lacks are
 * right.
 *
 * Each case builds a fresh tree under /var/tmp (a path the fake image
 * lacks, so the home's chain is made in the layer) and runs js_rootfs_build in a
 * forked child that unshares its mount namespace; the child reports, after
 * pivot_root, what the container's files hold. Without root: skipped
 * (exit 77), a failure under CI=true. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "devnodes.h"
#include "rootfs.h"

#define MARKER "JSB-HOST-SECRET-7d1f"

static char top[64];

static void put(const char *rel, const char *text, mode_t mode)
{
	char p[PATH_MAX + 64];
	snprintf(p, sizeof p, "%s/%s", top, rel);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(p, mode);
}

static void dir(const char *rel)
{
	char p[PATH_MAX + 64];
	snprintf(p, sizeof p, "%s/%s", top, rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

static void link_at(const char *target, const char *rel)
{
	char p[PATH_MAX + 64];
	snprintf(p, sizeof p, "%s/%s", top, rel);
	assert_int_equal(symlink(target, p), 0);
}

static bool exists(const char *rel)
{
	char p[PATH_MAX + 64];
	struct stat st;
	snprintf(p, sizeof p, "%s/%s", top, rel);
	return lstat(p, &st) == 0;
}

/* A fresh tree: image/ (etc with passwd, group, shadow; the usual top
 * directories), an empty layer (upper, work), staging points, a host-side
 * home for u1 under a path the image lacks, and a host secret. */
static int setup(void **state)
{
	if (geteuid() != 0)
		return 0;
	snprintf(top, sizeof top, "/var/tmp/jsb-rootfs-XXXXXX");
	if (!mkdtemp(top))
		return -1;
	chmod(top, 0755);
	static const char *const dirs[] = {"image",	"image/etc", "image/proc", "image/dev", "image/sys",
					   "image/tmp", "image/run", "image/home", "image/srv", "image/root",
					   "upper",	"work",	     "lower",	   "root",	"homes",
					   "homes/u1",	"hostdir",   "hostdir/sub"};
	for (size_t i = 0; i < JS_ARRAY_SIZE(dirs); i++)
		dir(dirs[i]);
	put("image/etc/passwd", "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1::/:/bin/false\n", 0644);
	put("image/etc/group", "root:x:0:\nshadow:x:42:\n", 0644);
	put("image/etc/shadow", "root:*:19000:0:99999:7:::\n", 0640);
	put("homes/u1/mine", "u1's file\n", 0644);
	put("secret", MARKER ":x:0:0::/:/bin/sh\n", 0644);
	return 0;
}

static int teardown(void **state)
{
	if (!top[0])
		return 0;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
	return system(cmd) == 0 ? 0 : -1;
}

struct result {
	int status; /* js_rootfs_build's */
	char msg[512];
	char passwd[2048], group[2048], shadow[2048], sudoers[512], home[256];
};

static void slurp(const char *path, char *buf, size_t len)
{
	buf[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
}

/* Run the set-up in a child with its own mount namespace. */
static void build(struct result *res)
{
	memset(res, 0, sizeof *res);
	struct result *shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(shared != MAP_FAILED);
	memset(shared, 0, sizeof *shared);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) < 0)
			_exit(3);
		char img[PATH_MAX];
		snprintf(img, sizeof img, "%s/image", top);
		int image_fd = (int)syscall(SYS_open_tree, AT_FDCWD, img, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (image_fd < 0)
			_exit(4);
		static struct js_setup s;
		s.magic = JS_SETUP_MAGIC;
		snprintf(s.user.name, sizeof s.user.name, "u1");
		s.user.uid = s.user.gid = 12345;
		snprintf(s.user.home, sizeof s.user.home, "%s/homes/u1", top);
		s.user.ngroups = 1;
		s.user.groups[0].gid = 12345;
		snprintf(s.user.groups[0].name, sizeof s.user.groups[0].name, "u1");
		snprintf(s.shell, sizeof s.shell, "/bin/sh");
		s.sudo = 1;
		s.tmp_size = 1 << 20;
		s.pty_max = 16;
		snprintf(s.lower_dir, sizeof s.lower_dir, "%s/lower", top);
		snprintf(s.root_dir, sizeof s.root_dir, "%s/root", top);
		snprintf(s.upper_dir, sizeof s.upper_dir, "%s/upper", top);
		snprintf(s.work_dir, sizeof s.work_dir, "%s/work", top);
		struct js_err err = {0};
		shared->status = js_rootfs_build(&s, image_fd, NULL, 0, &err);
		snprintf(shared->msg, sizeof shared->msg, "%s", err.msg);
		if (shared->status == 0) {
			slurp("/etc/passwd", shared->passwd, sizeof shared->passwd);
			slurp("/etc/group", shared->group, sizeof shared->group);
			slurp("/etc/shadow", shared->shadow, sizeof shared->shadow);
			slurp("/etc/sudoers.d/jsandbox", shared->sudoers, sizeof shared->sudoers);
			char h[PATH_MAX + 8];
			snprintf(h, sizeof h, "%s/mine", s.user.home);
			slurp(h, shared->home, sizeof shared->home);
		}
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) != 0)
		fail_msg("set-up child exited %d", WEXITSTATUS(st));
	*res = *shared;
	munmap(shared, sizeof *shared);
}

#define NEED_ROOT()                                                                                                    \
	do {                                                                                                           \
		if (geteuid() != 0) {                                                                                  \
			const char *ci = getenv("CI");                                                                 \
			if (ci && !strcmp(ci, "true"))                                                                 \
				fail_msg("skipped under CI=true: needs root");                                         \
			skip();                                                                                        \
		}                                                                                                      \
	} while (0)

static void assert_identity_ok(const struct result *r)
{
	if (r->status != 0)
		fail_msg("set-up failed: %s", r->msg);
	char want[PATH_MAX + 64];
	snprintf(want, sizeof want, "u1:x:12345:12345::%s/homes/u1:/bin/sh\n", top);
	assert_non_null(strstr(r->passwd, want));
	assert_non_null(strstr(r->passwd, "root:x:0:0:root:/root:/bin/sh\n"));
	assert_non_null(strstr(r->group, "u1:x:12345:\n"));
	assert_non_null(strstr(r->group, "root:x:0:\n"));
	assert_non_null(strstr(r->shadow, "u1:*:"));
	assert_non_null(strstr(r->sudoers, "u1 ALL=(ALL:ALL) NOPASSWD: ALL"));
	assert_string_equal(r->home, "u1's file\n");
	assert_null(strstr(r->passwd, MARKER));
	assert_null(strstr(r->group, MARKER));
	assert_null(strstr(r->shadow, MARKER));
}

/* The legitimate set-up: identity files, sudoers, and a home under
 * /tmp/.../homes/u1 (a chain the image lacks, made in the layer). */
static void test_plain(void **state)
{
	NEED_ROOT();
	struct result r;
	build(&r);
	assert_identity_ok(&r);
	/* the chain was made in the layer, not on the host's side */
	char rel[PATH_MAX];
	snprintf(rel, sizeof rel, "upper%s/homes/u1", top);
	assert_true(exists(rel));
}

/* passwd -> an absolute host path, group -> a relative one climbing out
 * of the overlay, shadow a FIFO: none is read, each is replaced by a
 * regular file built from the image's, and the start does not stall. */
static void test_identity_links(void **state)
{
	NEED_ROOT();
	dir("upper/etc");
	char target[PATH_MAX];
	snprintf(target, sizeof target, "%s/secret", top);
	link_at(target, "upper/etc/passwd");
	link_at("../../../../../../../../../../../../..", "upper/etc/up");
	snprintf(target, sizeof target, "../../../../../../../../../../../../..%s/secret", top);
	link_at(target, "upper/etc/group");
	char fifo[PATH_MAX];
	snprintf(fifo, sizeof fifo, "%s/upper/etc/shadow", top);
	assert_int_equal(mkfifo(fifo, 0644), 0);
	struct result r;
	build(&r);
	assert_identity_ok(&r);
	struct stat st;
	char p[PATH_MAX + 64];
	snprintf(p, sizeof p, "%s/upper/etc/passwd", top);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	snprintf(p, sizeof p, "%s/secret", top);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_size, strlen(MARKER ":x:0:0::/:/bin/sh\n"));
}

/* sudoers.d/jsandbox a link to a host file: removed, never written through */
static void test_sudoers_file_link(void **state)
{
	NEED_ROOT();
	dir("upper/etc");
	dir("upper/etc/sudoers.d");
	char target[PATH_MAX];
	snprintf(target, sizeof target, "%s/secret", top);
	link_at(target, "upper/etc/sudoers.d/jsandbox");
	link_at(target, "upper/etc/resolv.conf");
	struct result r;
	build(&r);
	assert_identity_ok(&r);
	char sec[256];
	slurp(target, sec, sizeof sec);
	assert_string_equal(sec, MARKER ":x:0:0::/:/bin/sh\n");
}

/* A link in the home's parent chain, to a host directory the set-up could
 * write: refused, naming the path, and nothing made there. */
static void test_home_chain_link(void **state)
{
	NEED_ROOT();
	char rel[PATH_MAX], target[PATH_MAX];
	/* upper<top> made as real directories, then homes -> hostdir */
	snprintf(rel, sizeof rel, "%s/upper", top);
	char cmd[PATH_MAX * 2];
	snprintf(cmd, sizeof cmd, "mkdir -p '%s%s'", rel, top);
	assert_int_equal(system(cmd), 0);
	snprintf(rel, sizeof rel, "upper%s/homes", top);
	snprintf(target, sizeof target, "%s/hostdir", top);
	link_at(target, rel);
	struct result r;
	build(&r);
	assert_int_not_equal(r.status, 0);
	assert_non_null(strstr(r.msg, "is a symbolic link or not a directory"));
	assert_non_null(strstr(r.msg, "/homes\""));
	assert_false(exists("hostdir/u1"));
}

/* /etc and /etc/sudoers.d as links to a host directory: refused */
static void test_etc_dir_links(void **state)
{
	NEED_ROOT();
	char target[PATH_MAX];
	snprintf(target, sizeof target, "%s/hostdir", top);
	link_at(target, "upper/etc");
	struct result r;
	build(&r);
	assert_int_not_equal(r.status, 0);
	assert_non_null(strstr(r.msg, "\"/etc\" is a symbolic link"));
	assert_false(exists("hostdir/passwd"));
	assert_false(exists("hostdir/passwd.jsandbox-new"));
}

static void test_sudoers_dir_link(void **state)
{
	NEED_ROOT();
	char target[PATH_MAX];
	snprintf(target, sizeof target, "%s/hostdir/sub", top);
	dir("upper/etc");
	link_at(target, "upper/etc/sudoers.d");
	struct result r;
	build(&r);
	assert_int_not_equal(r.status, 0);
	assert_non_null(strstr(r.msg, "\"/etc/sudoers.d\" is a symbolic link"));
	assert_false(exists("hostdir/sub/jsandbox"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_identity_links, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sudoers_file_link, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_home_chain_link, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_etc_dir_links, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sudoers_dir_link, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
