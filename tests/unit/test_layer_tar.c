/* SPDX-License-Identifier: MIT */
/* The layer archive (ctl/layer_tar.c) without privilege: a map of inside
 * 0 to whoever runs the test. A tree round-trips (file data, a user.*
 * attribute, a hard link, a symlink, a FIFO, a whiteout where the file
 * system allows the unprivileged c 0:0); every hostile archive is refused
 * with a reason naming it and writes nothing outside the target. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "layer_tar.h"

static char base[] = "/tmp/jsb-test-layer-tar.XXXXXX";

static struct lt_maps maps(void)
{
	struct lt_maps m;
	memset(&m, 0, sizeof m);
	m.uid.n = m.gid.n = 1;
	m.uid.ext[0] = (struct js_extent){0, (uint32_t)getuid(), 1};
	m.gid.ext[0] = (struct js_extent){0, (uint32_t)getgid(), 1};
	return m;
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static int fresh_dir(const char *name)
{
	char p[256], cmd[300];
	snprintf(p, sizeof p, "%s/%s", base, name);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", p);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(mkdir(p, 0755), 0);
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

/* One archive entry for mk(). */
struct ent {
	const char *name;
	mode_t type;	    /* AE_IF*, 0 for a hard link */
	const char *target; /* symlink target or hard link name */
	int64_t uid;
	unsigned maj, min;
	const char *xname, *xval;
};

static int mk(const char *file, const struct ent *e, size_t n)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s", base, file);
	struct archive *a = archive_write_new();
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, p), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *ae = archive_entry_new();
		archive_entry_set_pathname(ae, e[i].name);
		archive_entry_set_uid(ae, e[i].uid);
		archive_entry_set_gid(ae, 0);
		if (!e[i].type) {
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_perm(ae, 0644);
			archive_entry_set_hardlink(ae, e[i].target);
		} else {
			archive_entry_set_filetype(ae, e[i].type);
			archive_entry_set_perm(ae, e[i].type == AE_IFDIR ? 0755 : 0644);
			if (e[i].type == AE_IFLNK)
				archive_entry_set_symlink(ae, e[i].target);
			if (e[i].type == AE_IFCHR || e[i].type == AE_IFBLK) {
				archive_entry_set_rdevmajor(ae, e[i].maj);
				archive_entry_set_rdevminor(ae, e[i].min);
			}
			if (e[i].type == AE_IFREG)
				archive_entry_set_size(ae, 1);
		}
		if (e[i].xname)
			archive_entry_xattr_add_entry(ae, e[i].xname, e[i].xval, strlen(e[i].xval));
		assert_true(archive_write_header(a, ae) >= ARCHIVE_WARN);
		if (e[i].type == AE_IFREG)
			assert_int_equal(archive_write_data(a, "x", 1), 1);
		archive_entry_free(ae);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static size_t count_entries(const char *dir)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s", base, dir);
	DIR *d = opendir(p);
	assert_non_null(d);
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void test_round_trip(void **state)
{
	(void)state;
	struct lt_maps m = maps();
	int src = fresh_dir("src");
	assert_int_equal(mkdirat(src, "a", 0750), 0);
	int f = openat(src, "a/f", O_WRONLY | O_CREAT | O_EXCL, 0640);
	assert_true(f >= 0);
	assert_int_equal(write(f, "hello", 5), 5);
	bool xattrs = fsetxattr(f, "user.t", "v", 1, 0) == 0;
	/* not carried: overlayfs's own bookkeeping */
	if (xattrs)
		assert_int_equal(fsetxattr(f, "user.overlay.origin", "o", 1, 0), 0);
	close(f);
	assert_int_equal(linkat(src, "a/f", src, "a/h", 0), 0);
	assert_int_equal(symlinkat("/etc/passwd", src, "l"), 0);
	assert_int_equal(mknodat(src, "p", S_IFIFO | 0600, 0), 0);
	bool whiteout = mknodat(src, "w", S_IFCHR | 0, makedev(0, 0)) == 0;
	assert_int_equal(symlinkat("a", src, "c\303\251\001"), 0);
	/* sparse: 1 GiB with 3 bytes of data in the middle, and all hole */
	f = openat(src, "s", O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(f >= 0);
	assert_int_equal(ftruncate(f, 1 << 30), 0);
	assert_int_equal(pwrite(f, "abc", 3, 512 << 20), 3);
	close(f);
	f = openat(src, "z", O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(f >= 0);
	assert_int_equal(ftruncate(f, 1 << 30), 0);
	close(f);

	char p[256];
	snprintf(p, sizeof p, "%s/layer.tar", base);
	int out = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(out >= 0);
	struct lt_stats st;
	struct js_err err = {0};
	assert_int_equal(lt_export(src, out, &m, &st, &err), 0);
	close(out);
	assert_int_equal(st.whiteouts, whiteout ? 1 : 0);
	assert_int_equal(st.unmapped, 0);
	struct stat ast;
	assert_int_equal(stat(p, &ast), 0);
	assert_true(ast.st_size < (1 << 20)); /* the holes are not in it */
	if (xattrs)
		assert_int_equal(st.xattrs_dropped, 1);

	int dst = fresh_dir("dst");
	int in = open(p, O_RDONLY | O_CLOEXEC);
	assert_int_equal(lt_import(dst, in, &m, &st, &err), 0);
	close(in);
	char buf[16] = "";
	f = openat(dst, "a/f", O_RDONLY);
	assert_true(f >= 0);
	assert_int_equal(read(f, buf, sizeof buf), 5);
	assert_memory_equal(buf, "hello", 5);
	if (xattrs) {
		assert_int_equal(fgetxattr(f, "user.t", buf, sizeof buf), 1);
		assert_int_equal(fgetxattr(f, "user.overlay.origin", buf, sizeof buf), -1);
	}
	struct stat a, b;
	assert_int_equal(fstat(f, &a), 0);
	close(f);
	assert_int_equal(a.st_mode & 07777, 0640);
	assert_int_equal(fstatat(dst, "a/h", &b, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(fstatat(dst, "a", &b, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(b.st_mode & 07777, 0750);
	char t[64] = "";
	assert_int_equal(readlinkat(dst, "l", t, sizeof t), 11);
	assert_memory_equal(t, "/etc/passwd", 11);
	assert_int_equal(readlinkat(dst, "c\303\251\001", t, sizeof t), 1);
	assert_int_equal(fstatat(dst, "p", &b, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISFIFO(b.st_mode));
	if (whiteout) {
		assert_int_equal(fstatat(dst, "w", &b, AT_SYMLINK_NOFOLLOW), 0);
		assert_true(S_ISCHR(b.st_mode) && b.st_rdev == 0);
	}
	f = openat(dst, "s", O_RDONLY);
	assert_true(f >= 0);
	assert_int_equal(fstat(f, &b), 0);
	assert_int_equal(b.st_size, 1 << 30);
	assert_true(b.st_blocks * 512 < (1 << 20));
	assert_int_equal(pread(f, buf, 4, (512 << 20) - 1), 4);
	assert_memory_equal(buf, "\0abc", 4);
	close(f);
	assert_int_equal(fstatat(dst, "z", &b, 0), 0);
	assert_int_equal(b.st_size, 1 << 30);
	assert_true(b.st_blocks * 512 < (1 << 20));
	close(src);
	close(dst);
}

/* refused(ENTRIES, REASON): the archive is refused naming REASON, and
 * nothing appears beside the target (in base/, where the escapes aim). */
static void refused(const char *what, const struct ent *e, size_t n, const char *why)
{
	struct lt_maps m = maps();
	size_t before = count_entries(".");
	int dst = fresh_dir("target");
	int in = mk("hostile.tar", e, n);
	struct lt_stats st;
	struct js_err err = {0};
	int r = lt_import(dst, in, &m, &st, &err);
	close(in);
	close(dst);
	if (r >= 0 || !strstr(err.msg, why))
		fail_msg("%s: r=%d msg=\"%s\", expected \"%s\"", what, r, err.msg, why);
	/* target/ and hostile.tar were there or are new; nothing else */
	assert_true(count_entries(".") <= before + 2);
	char p[256];
	snprintf(p, sizeof p, "%s/escaped", base);
	assert_int_equal(access(p, F_OK), -1);
}

#define REFUSED(what, why, ...)                                                                                        \
	do {                                                                                                           \
		const struct ent e_[] = {{".", AE_IFDIR, NULL, 0, 0, 0, NULL, NULL}, __VA_ARGS__};                     \
		refused(what, e_, sizeof e_ / sizeof e_[0], why);                                                      \
	} while (0)

static void test_hostile(void **state)
{
	(void)state;
	char outside[256];
	snprintf(outside, sizeof outside, "%s", base);
	REFUSED("dotdot", "\"..\" component", {"../escaped", AE_IFREG, NULL, 0, 0, 0, NULL, NULL});
	REFUSED("inner dotdot", "\"..\" component", {"./a/../../escaped", AE_IFREG, NULL, 0, 0, 0, NULL, NULL});
	REFUSED("absolute", "absolute name", {"/tmp/escaped", AE_IFREG, NULL, 0, 0, 0, NULL, NULL});
	REFUSED("symlink then file", "symbolic link", {"./evil", AE_IFLNK, outside, 0, 0, 0, NULL, NULL},
		{"./evil/escaped", AE_IFREG, NULL, 0, 0, 0, NULL, NULL});
	REFUSED("symlink up", "symbolic link", {"./up", AE_IFLNK, "..", 0, 0, 0, NULL, NULL},
		{"./up/escaped", AE_IFDIR, NULL, 0, 0, 0, NULL, NULL});
	REFUSED("char device", "device node (c 1:3)", {"./null", AE_IFCHR, NULL, 0, 1, 3, NULL, NULL});
	REFUSED("block device", "block device", {"./sda", AE_IFBLK, NULL, 0, 8, 0, NULL, NULL});
	REFUSED("hard link absolute", "absolute name", {"./h", 0, "/etc/passwd", 0, 0, 0, NULL, NULL});
	REFUSED("hard link up", "\"..\" component", {"./h", 0, "../escaped", 0, 0, 0, NULL, NULL});
	REFUSED("hard link to a symlink", "not an earlier file", {"./s", AE_IFLNK, "/etc/passwd", 0, 0, 0, NULL, NULL},
		{"./h", 0, "./s", 0, 0, 0, NULL, NULL});
	REFUSED("through a file", "non-directory", {"./f", AE_IFREG, NULL, 0, 0, 0, NULL, NULL},
		{"./f/x", AE_IFREG, NULL, 0, 0, 0, NULL, NULL});
	REFUSED("twice", "twice", {"./f", AE_IFREG, NULL, 0, 0, 0, NULL, NULL},
		{"./f", AE_IFREG, NULL, 0, 0, 0, NULL, NULL});
	REFUSED("unmapped owner", "owner 5 is outside", {"./f", AE_IFREG, NULL, 5, 0, 0, NULL, NULL});
	REFUSED("bad opaque", "user.overlay.opaque", {"./d", AE_IFDIR, NULL, 0, 0, 0, "user.overlay.opaque", "z"});
	REFUSED("root not a directory", "not a directory", {".", AE_IFREG, NULL, 0, 0, 0, NULL, NULL});
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_hostile),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
