/* SPDX-License-Identifier: MIT */
/* Unit tests of the policy library (conf/): loading, validation, merge
 * order, problem reporting and formatting. Every file is written under a
 * fresh temporary directory and loaded with the current euid as the
 * required owner, so the tests run as root and as an ordinary user. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "jsutil.h"
#include "policy.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define G (UINT64_C(1) << 30)
#define M (UINT64_C(1) << 20)
#define K (UINT64_C(1) << 10)
#define T (UINT64_C(1) << 40)

static char tmpdir[] = "/tmp/jsb-policy-test.XXXXXX";
static unsigned file_counter;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int group_setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A new file with these bytes, mode 0644 whatever the umask. The path is
 * valid until the next call. */
static const char *write_file_n(const char *data, size_t len, mode_t mode)
{
	static char path[256];
	snprintf(path, sizeof path, "%s/conf%u", tmpdir, ++file_counter);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		assert_true(n > 0);
		off += (size_t)n;
	}
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

static const char *write_file(const char *text)
{
	return write_file_n(text, strlen(text), 0644);
}

/* Loads text as a config owned by us. */
static int load_text(const char *text, struct js_config **c, struct js_problems *pr)
{
	const char *path = write_file(text);
	return js_config_load_owner(path, geteuid(), c, pr);
}

/* Loads text that must load (problems or not). */
static struct js_config *load_ok(const char *text, struct js_problems *pr)
{
	struct js_config *c = NULL;
	int r = load_text(text, &c, pr);
	if (r != 0) {
		for (size_t i = 0; i < pr->n; i++)
			fprintf(stderr, "  problem: %s\n", pr->p[i].msg);
	}
	assert_int_equal(r, 0);
	assert_non_null(c);
	return c;
}

/* Loads text that must load without any problem. */
static struct js_config *load_clean(const char *text)
{
	struct js_problems pr = {0};
	struct js_config *c = load_ok(text, &pr);
	for (size_t i = 0; i < pr.n; i++)
		fprintf(stderr, "  unexpected problem: %s\n", pr.p[i].msg);
	assert_int_equal(pr.n, 0);
	js_problems_free(&pr);
	return c;
}

/* The index of the first problem whose message contains every string, or -1. */
static long find_problem(const struct js_problems *pr, const char *a, const char *b, const char *c)
{
	for (size_t i = 0; i < pr->n; i++) {
		const char *m = pr->p[i].msg;
		if ((!a || strstr(m, a)) && (!b || strstr(m, b)) && (!c || strstr(m, c)))
			return (long)i;
	}
	return -1;
}

static void dump_problems(const struct js_problems *pr)
{
	for (size_t i = 0; i < pr->n; i++)
		fprintf(stderr, "  problem: %s%s\n", pr->p[i].msg, pr->p[i].global ? " (global)" : "");
}

static void expect_problem(const struct js_problems *pr, const char *a, const char *b, const char *c)
{
	if (find_problem(pr, a, b, c) < 0) {
		fprintf(stderr, "no problem with \"%s\" \"%s\" \"%s\" among:\n", a ? a : "", b ? b : "", c ? c : "");
		dump_problems(pr);
		fail();
	}
}

static int resolve(const struct js_config *c, const char *user, const char *g1, const char *g2, struct js_policy *p,
		   char *err, size_t errlen)
{
	const char *groups[2];
	size_t n = 0;
	if (g1)
		groups[n++] = g1;
	if (g2)
		groups[n++] = g2;
	return js_config_resolve(c, user, groups, n, p, err, errlen);
}

/* Loads "[user:alice]\nKEY = VALUE\n"; returns 0 and alice's policy when
 * the value is accepted, -1 when a problem names the section and key. */
static int try_value(const char *key, const char *value, struct js_policy *p)
{
	char text[2048], err[512];
	struct js_problems pr = {0};
	snprintf(text, sizeof text, "[user:alice]\n%s = %s\n", key, value);
	struct js_config *c = load_ok(text, &pr);
	int ret;
	if (pr.n == 0) {
		assert_int_equal(resolve(c, "alice", NULL, NULL, p, err, sizeof err), 0);
		ret = 0;
	} else {
		char want[128];
		snprintf(want, sizeof want, "[user:alice] %s: ", key);
		expect_problem(&pr, ":2: ", want, NULL);
		assert_false(pr.p[0].global);
		assert_string_equal(pr.p[0].section, "user:alice");
		/* The section is broken: alice is refused, with that message. */
		assert_int_equal(resolve(c, "alice", NULL, NULL, p, err, sizeof err), -EINVAL);
		assert_non_null(strstr(err, want));
		ret = -1;
	}
	js_problems_free(&pr);
	js_config_free(c);
	return ret;
}

static void accept_value(const char *key, const char *value, struct js_policy *p)
{
	if (try_value(key, value, p) != 0) {
		fprintf(stderr, "%s = %s was refused\n", key, value);
		fail();
	}
}

static void refuse_value(const char *key, const char *value)
{
	struct js_policy p;
	if (try_value(key, value, &p) != -1) {
		fprintf(stderr, "%s = %s was accepted\n", key, value);
		fail();
	}
}

static void format_is(const struct js_policy *p, enum js_key k, const char *want)
{
	char buf[4096];
	assert_int_equal(js_policy_format(p, k, buf, sizeof buf), 0);
	assert_string_equal(buf, want);
}

/* ---- files and their safety ---- */

static void test_empty_file_defaults(void **state)
{
	(void)state;
	struct js_config *c = load_clean("");
	struct js_policy p;
	char err[512];
	assert_false(js_config_has_global_problem(c));
	assert_int_equal(js_config_nsections(c), 0);
	assert_int_equal(resolve(c, "alice", "users", NULL, &p, err, sizeof err), 0);
	assert_string_equal(p.user, "alice");
	assert_true(p.sandbox);
	assert_true(p.sudo);
	assert_false(p.linger);
	assert_false(p.nested_userns);
	assert_false(p.perf_events);
	assert_string_equal(p.image, "default");
	assert_int_equal(p.gpus.kind, JS_GPUS_NONE);
	assert_int_equal(p.ndevices, 0);
	assert_true(p.memory_max.percent);
	assert_int_equal(p.memory_max.value, 80);
	assert_int_equal(p.pids_max, 4096);
	assert_int_equal(p.cpu_max, 0);
	assert_int_equal(p.cpu_weight, 100);
	assert_false(p.tmp_size.percent);
	assert_false(p.tmp_size.max);
	assert_int_equal(p.tmp_size.value, G);
	assert_int_equal(p.network, JS_NET_HOST);
	assert_string_equal(p.shell, "/bin/bash");
	for (int k = 0; k < JS_KEY__COUNT; k++)
		assert_string_equal(p.origin[k], "built-in");
	const struct js_global *g = js_config_global(c);
	assert_string_equal(g->images_dir, "/var/lib/jsandbox/images");
	assert_string_equal(g->state_dir, "/var/lib/jsandbox");
	assert_string_equal(g->run_dir, "/run/jsandbox");
	assert_string_equal(g->host_root, "/");
	assert_int_equal(g->containers_cpu_weight, JS_CONTAINERS_CPU_WEIGHT_DEFAULT);
	js_config_free(c);
}

static void test_comments_blank_lines_only(void **state)
{
	(void)state;
	struct js_config *c = load_clean("# a comment\n\n   ; another\n\t# indented\n\n");
	assert_false(js_config_has_global_problem(c));
	js_config_free(c);
}

static void test_missing_file(void **state)
{
	(void)state;
	struct js_config *c = (struct js_config *)&c; /* must be reset to NULL */
	struct js_problems pr = {0};
	char path[300];
	snprintf(path, sizeof path, "%s/does-not-exist", tmpdir);
	assert_int_equal(js_config_load_owner(path, geteuid(), &c, &pr), -ENOENT);
	assert_null(c);
	assert_int_equal(pr.n, 1);
	assert_true(pr.p[0].global);
	expect_problem(&pr, path, "cannot open", "No such file");
	js_problems_free(&pr);
}

static void test_symlink_refused(void **state)
{
	(void)state;
	const char *target = write_file("[default]\nsandbox = yes\n");
	char link[300];
	snprintf(link, sizeof link, "%s/link%u", tmpdir, ++file_counter);
	assert_int_equal(symlink(target, link), 0);
	struct js_config *c = NULL;
	struct js_problems pr = {0};
	assert_int_equal(js_config_load_owner(link, geteuid(), &c, &pr), -ELOOP);
	assert_null(c);
	expect_problem(&pr, link, "refusing config", "symbolic link");
	assert_true(pr.p[0].global);
	js_problems_free(&pr);
}

static void refuse_mode(mode_t mode, const char *want)
{
	const char *path = write_file_n("[default]\n", 10, mode);
	struct js_config *c = NULL;
	struct js_problems pr = {0};
	assert_int_equal(js_config_load_owner(path, geteuid(), &c, &pr), -EPERM);
	assert_null(c);
	expect_problem(&pr, path, "writable by group or other", want);
	js_problems_free(&pr);
}

static void test_group_writable_refused(void **state)
{
	(void)state;
	refuse_mode(0664, "(mode 0664)");
	refuse_mode(0620, "(mode 0620)");
}

static void test_world_writable_refused(void **state)
{
	(void)state;
	refuse_mode(0646, "(mode 0646)");
	refuse_mode(0666, "(mode 0666)");
}

static void test_readonly_modes_accepted(void **state)
{
	(void)state;
	static const mode_t modes[] = {0600, 0644, 0400, 0444, 0640};
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		const char *path = write_file_n("[default]\n", 10, modes[i]);
		struct js_config *c = NULL;
		struct js_problems pr = {0};
		assert_int_equal(js_config_load_owner(path, geteuid(), &c, &pr), 0);
		assert_int_equal(pr.n, 0);
		js_config_free(c);
	}
}

static void test_wrong_owner_refused(void **state)
{
	(void)state;
	const char *path = write_file("[default]\nsandbox = yes\n");
	struct js_config *c = NULL;
	struct js_problems pr = {0};
	char want[64];
	if (geteuid() == 0) {
		/* As root: give it away, then ask for root. */
		assert_int_equal(chown(path, 4242, (gid_t)-1), 0);
		assert_int_equal(js_config_load(path, &c, &pr), -EPERM);
		snprintf(want, sizeof want, "owned by uid 4242, not root");
	} else {
		assert_int_equal(js_config_load_owner(path, 0, &c, &pr), -EPERM);
		snprintf(want, sizeof want, "owned by uid %u, not root", (unsigned)geteuid());
	}
	assert_null(c);
	expect_problem(&pr, path, "refusing config", want);
	assert_true(pr.p[0].global);
	js_problems_free(&pr);
	/* And the required owner is not simply "whoever owns it". */
	assert_int_equal(js_config_load_owner(path, geteuid() + 1, &c, &pr), -EPERM);
	expect_problem(&pr, "refusing config: owned by uid", NULL, NULL);
	js_problems_free(&pr);
}

static void test_directory_refused(void **state)
{
	(void)state;
	char path[300];
	snprintf(path, sizeof path, "%s/dir%u", tmpdir, ++file_counter);
	assert_int_equal(mkdir(path, 0755), 0);
	struct js_config *c = NULL;
	struct js_problems pr = {0};
	assert_true(js_config_load_owner(path, geteuid(), &c, &pr) < 0);
	assert_null(c);
	expect_problem(&pr, path, "a directory", "not a regular file");
	js_problems_free(&pr);
}

static void test_fifo_refused(void **state)
{
	(void)state;
	char path[300];
	snprintf(path, sizeof path, "%s/fifo%u", tmpdir, ++file_counter);
	assert_int_equal(mkfifo(path, 0644), 0);
	struct js_config *c = NULL;
	struct js_problems pr = {0};
	/* Must not block waiting for a writer. */
	assert_true(js_config_load_owner(path, geteuid(), &c, &pr) < 0);
	assert_null(c);
	expect_problem(&pr, path, "FIFO", "not a regular file");
	js_problems_free(&pr);
}

static void test_too_large_refused(void **state)
{
	(void)state;
	size_t len = 1024 * 1024 + 1;
	char *big = malloc(len);
	assert_non_null(big);
	memset(big, '#', len);
	for (size_t i = 79; i < len; i += 80)
		big[i] = '\n';
	const char *path = write_file_n(big, len, 0644);
	free(big);
	struct js_config *c = NULL;
	struct js_problems pr = {0};
	assert_int_equal(js_config_load_owner(path, geteuid(), &c, &pr), -EFBIG);
	assert_null(c);
	expect_problem(&pr, "too large", "1048577 bytes", NULL);
	js_problems_free(&pr);
}

static void test_binary_garbage_refused(void **state)
{
	(void)state;
	unsigned char buf[4096];
	unsigned seed = 12345;
	for (size_t i = 0; i < sizeof buf; i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (unsigned char)(seed >> 16);
	}
	buf[100] = 0;
	const char *path = write_file_n((const char *)buf, sizeof buf, 0644);
	struct js_config *c = NULL;
	struct js_problems pr = {0};
	assert_int_equal(js_config_load_owner(path, geteuid(), &c, &pr), -EINVAL);
	assert_null(c);
	/* One clear line, not one per garbage line. */
	assert_int_equal(pr.n, 1);
	expect_problem(&pr, path, "not a text file", NULL);
	assert_true(pr.p[0].global);
	js_problems_free(&pr);
}

static void test_nul_byte_line_number(void **state)
{
	(void)state;
	static const char text[] = "[default]\nsandbox = yes\nimage = a\0b\n";
	const char *path = write_file_n(text, sizeof text - 1, 0644);
	struct js_config *c = NULL;
	struct js_problems pr = {0};
	assert_int_equal(js_config_load_owner(path, geteuid(), &c, &pr), -EINVAL);
	assert_null(c);
	expect_problem(&pr, ":3: ", "NUL byte", NULL);
	js_problems_free(&pr);
}

static void test_control_chars_and_bad_utf8_refused(void **state)
{
	(void)state;
	struct js_config *c = NULL;
	struct js_problems pr = {0};
	assert_int_equal(load_text("[default]\nimage = a\033b\n", &c, &pr), -EINVAL);
	expect_problem(&pr, ":2: ", "control character 0x1b", NULL);
	js_problems_free(&pr);
	assert_int_equal(load_text("[default]\n# caf\xe9\n", &c, &pr), -EINVAL);
	expect_problem(&pr, ":2: ", "invalid UTF-8", NULL);
	js_problems_free(&pr);
	assert_int_equal(load_text("\xef\xbb\xbf[default]\n", &c, &pr), -EINVAL);
	expect_problem(&pr, ":1: ", "byte order mark", NULL);
	js_problems_free(&pr);
	/* A lone CR inside a line is not a line ending. */
	assert_int_equal(load_text("[default]\rsandbox = no\n", &c, &pr), -EINVAL);
	expect_problem(&pr, "control character 0x0d", NULL, NULL);
	js_problems_free(&pr);
	/* UTF-8 in a comment is fine. */
	c = load_clean("# café, naïve — ok\n[default]\n");
	js_config_free(c);
}

static void test_crlf_accepted(void **state)
{
	(void)state;
	struct js_config *c = load_clean("# policy\r\n[default]\r\nmemory_max = 8G\r\nshell = /bin/sh\r\n\r\n"
					 "[user:alice]\r\ncpu_max = 200%\r\nlinger = yes");
	struct js_policy p;
	char err[512];
	assert_int_equal(resolve(c, "alice", NULL, NULL, &p, err, sizeof err), 0);
	assert_int_equal(p.memory_max.value, 8 * G);
	assert_string_equal(p.shell, "/bin/sh");
	assert_int_equal(p.cpu_max, 200);
	assert_true(p.linger);
	js_config_free(c);
}

/* ---- syntax ---- */

static void test_syntax_error_names_line(void **state)
{
	(void)state;
	struct js_config *c = NULL;
	struct js_problems pr = {0};
	assert_int_equal(load_text("[default]\nsandbox = yes\nthis is not ini\n[user:bob]\n", &c, &pr), -EINVAL);
	assert_null(c);
	expect_problem(&pr, ":3: ", "syntax error", NULL);
	assert_true(pr.p[0].global);
	js_problems_free(&pr);
	/* Every syntax problem is reported, not just the first. */
	assert_int_equal(load_text("[default]\nfoo\n\nbar\n", &c, &pr), -EINVAL);
	expect_problem(&pr, ":2: ", "syntax error", NULL);
	expect_problem(&pr, ":4: ", "syntax error", NULL);
	js_problems_free(&pr);
	assert_int_equal(load_text("[default]\n = value\n", &c, &pr), -EINVAL);
	expect_problem(&pr, ":2: ", "missing key name", NULL);
	js_problems_free(&pr);
}

static void test_truncated_header(void **state)
{
	(void)state;
	struct js_config *c = NULL;
	struct js_problems pr = {0};
	assert_int_equal(load_text("[default]\nsandbox = yes\n[user:al", &c, &pr), -EINVAL);
	assert_null(c);
	expect_problem(&pr, ":3: ", "not closed", NULL);
	js_problems_free(&pr);
	assert_int_equal(load_text("[user:al] # comment\n", &c, &pr), -EINVAL);
	expect_problem(&pr, ":1: ", "after ']'", NULL);
	js_problems_free(&pr);
	assert_int_equal(load_text("[]\n", &c, &pr), -EINVAL);
	expect_problem(&pr, ":1: ", "empty section name", NULL);
	js_problems_free(&pr);
}

static void test_truncated_value_at_eof(void **state)
{
	(void)state;
	struct js_problems pr = {0};
	/* No newline at the end, nothing after '=': the file is readable, the
	 * value is not. */
	struct js_config *c = load_ok("[user:al]\nmemory_max = ", &pr);
	expect_problem(&pr, ":2: ", "[user:al] memory_max: invalid size \"\"", NULL);
	assert_false(pr.p[0].global);
	struct js_policy p;
	char err[512];
	assert_int_equal(resolve(c, "al", NULL, NULL, &p, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "memory_max"));
	assert_int_equal(resolve(c, "bob", NULL, NULL, &p, err, sizeof err), 0);
	js_problems_free(&pr);
	js_config_free(c);
}

static void test_backslash_continuation_refused(void **state)
{
	(void)state;
	struct js_config *c = NULL;
	struct js_problems pr = {0};
	/* iniparser would join the comment with the next line and so hide
	 * memory_max; the prescan refuses the file instead. */
	assert_int_equal(load_text("[user:bob]\n# windows path C:\\\nmemory_max = 1G\n", &c, &pr), -EINVAL);
	assert_null(c);
	expect_problem(&pr, ":2: ", "backslash", NULL);
	js_problems_free(&pr);
}

static void test_quotes_and_inline_comments(void **state)
{
	(void)state;
	struct js_config *c = load_clean("[user:alice]\n"
					 "memory_max = 8G   # eight gigabytes\n"
					 "pids_max = 100 ; a comment\n"
					 "shell = \"/bin/sh\"\n"
					 "image = 'base-1.0' # quoted\n"
					 "devices = \"\"\n"
					 "network=none\n");
	struct js_policy p;
	char err[512];
	assert_int_equal(resolve(c, "alice", NULL, NULL, &p, err, sizeof err), 0);
	assert_int_equal(p.memory_max.value, 8 * G);
	assert_int_equal(p.pids_max, 100);
	assert_string_equal(p.shell, "/bin/sh");
	assert_string_equal(p.image, "base-1.0");
	assert_int_equal(p.ndevices, 0);
	assert_int_equal(p.network, JS_NET_NONE);
	js_config_free(c);

	struct js_problems pr = {0};
	assert_int_equal(load_text("[default]\nshell = \"/bin/sh\" trailing\n", &c, &pr), -EINVAL);
	expect_problem(&pr, ":2: ", "after the closing quote", NULL);
	js_problems_free(&pr);
	assert_int_equal(load_text("[default]\nshell = \"/bin/sh\n", &c, &pr), -EINVAL);
	expect_problem(&pr, ":2: ", "unterminated", NULL);
	js_problems_free(&pr);
	/* Spaces kept inside quotes make the value invalid, not silently trimmed. */
	c = load_ok("[user:alice]\npids_max = \" 100\"\n", &pr);
	expect_problem(&pr, "[user:alice] pids_max: invalid number \" 100\"", NULL, NULL);
	js_problems_free(&pr);
	js_config_free(c);
}

static void test_line_too_long(void **state)
{
	(void)state;
	char text[1200];
	memset(text, 0, sizeof text);
	strcpy(text, "[default]\n# ");
	memset(text + strlen(text), 'x', 1050);
	strcat(text, "\n");
	struct js_config *c = NULL;
	struct js_problems pr = {0};
	assert_int_equal(load_text(text, &c, &pr), -EINVAL);
	expect_problem(&pr, ":2: ", "line too long", NULL);
	js_problems_free(&pr);
}

static void test_huge_values(void **state)
{
	(void)state;
	char value[900];
	memset(value, '9', sizeof value - 1);
	value[sizeof value - 1] = '\0';
	refuse_value("pids_max", value);
	refuse_value("memory_max", value);
	refuse_value("cpu_max", "99999999999999999999999%");
	memset(value, 'a', sizeof value - 1);
	refuse_value("image", value);
	value[0] = '/';
	refuse_value("shell", "/a/../../../../b");
	/* The message quotes a long value cut short, still one line. */
	char text[1100];
	struct js_problems pr = {0};
	memset(value, 'x', sizeof value - 1);
	snprintf(text, sizeof text, "[user:z]\nimage = %s\n", value);
	struct js_config *c = load_ok(text, &pr);
	expect_problem(&pr, "[user:z] image: invalid image name", "...", NULL);
	assert_null(strchr(pr.p[0].msg, '\n'));
	js_problems_free(&pr);
	js_config_free(c);
}

/* ---- sections and keys ---- */

static void test_unknown_key(void **state)
{
	(void)state;
	struct js_problems pr = {0};
	struct js_config *c = load_ok("[user:bob]\nmemroy_max = 1G\n[user:alice]\nsudo = no\n", &pr);
	expect_problem(&pr, ":2: ", "[user:bob] memroy_max: unknown key", "memory_max");
	assert_false(pr.p[0].global);
	assert_string_equal(pr.p[0].section, "user:bob");
	assert_false(js_config_has_global_problem(c));
	struct js_policy p;
	char err[512];
	assert_int_equal(resolve(c, "bob", NULL, NULL, &p, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "memroy_max"));
	assert_int_equal(resolve(c, "alice", NULL, NULL, &p, err, sizeof err), 0);
	assert_false(p.sudo);
	js_problems_free(&pr);
	js_config_free(c);
}

static void test_invalid_key_names(void **state)
{
	(void)state;
	struct js_problems pr = {0};
	struct js_config *c = load_ok("[user:bob]\nMemory_Max = 1G\n[user:carol]\nmemory-max = 1G\n", &pr);
	expect_problem(&pr, ":2: ", "[user:bob]", "invalid key name \"Memory_Max\"");
	expect_problem(&pr, ":4: ", "[user:carol]", "invalid key name \"memory-max\"");
	js_problems_free(&pr);
	js_config_free(c);
}

static void test_unknown_section(void **state)
{
	(void)state;
	struct js_problems pr = {0};
	struct js_config *c = load_ok("[defaults]\nsandbox = no\n[user:alice]\n", &pr);
	expect_problem(&pr, ":1: ", "[defaults]", "unknown section");
	assert_true(pr.p[0].global);
	assert_true(js_config_has_global_problem(c));
	struct js_policy p;
	char err[512];
	/* Global: nobody resolves, not even alice with her own section. */
	assert_int_equal(resolve(c, "alice", NULL, NULL, &p, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "[defaults]"));
	js_problems_free(&pr);
	js_config_free(c);
}

static void test_invalid_section_names(void **state)
{
	(void)state;
	static const char *const bad[] = {"user:",     "user:1bob",  "group:a b",
					  "user:b@d",  "user:x$y",   "user:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
					  "users:bob", "group:bob:x"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[128];
		struct js_problems pr = {0};
		snprintf(text, sizeof text, "[%s]\nsandbox = no\n", bad[i]);
		struct js_config *c = load_ok(text, &pr);
		char want[80];
		snprintf(want, sizeof want, "[%s]", bad[i]);
		expect_problem(&pr, ":1: ", want, NULL);
		assert_true(js_config_has_global_problem(c));
		assert_int_equal(js_config_nsections(c), 0);
		js_problems_free(&pr);
		js_config_free(c);
	}
	/* The valid corner cases. */
	struct js_config *c =
	    load_clean("[user:_x]\n[user:a.b-c_d]\n[user:host$]\n[group:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n"
		       "[ user:spaced ]\n");
	assert_int_equal(js_config_nsections(c), 5);
	assert_string_equal(js_config_section(c, 2), "user:host$");
	assert_string_equal(js_config_section(c, 4), "user:spaced");
	assert_null(js_config_section(c, 5));
	js_config_free(c);
}

static void test_uppercase_section(void **state)
{
	(void)state;
	struct js_problems pr = {0};
	struct js_config *c = load_ok("[user:Bob]\nsandbox = no\n", &pr);
	expect_problem(&pr, ":1: ", "[user:Bob]", "lower case");
	assert_true(pr.p[0].global);
	struct js_policy p;
	char err[512];
	/* Not even "bob" may get an exemption from it. */
	assert_int_equal(resolve(c, "bob", NULL, NULL, &p, err, sizeof err), -EINVAL);
	js_problems_free(&pr);
	js_config_free(c);
	c = load_ok("[Default]\n", &pr);
	expect_problem(&pr, "[Default]", "lower case", NULL);
	js_problems_free(&pr);
	js_config_free(c);
}

static void test_duplicate_key(void **state)
{
	(void)state;
	struct js_problems pr = {0};
	struct js_config *c = load_ok("[default]\n\n[user:bob]\nmemory_max = 1G\n\nmemory_max = 2G\n", &pr);
	expect_problem(&pr, ":6: ", "[user:bob] memory_max: duplicate key (first on line 4)", NULL);
	assert_int_equal(pr.n, 1);
	assert_false(pr.p[0].global);
	assert_false(js_config_has_global_problem(c));
	struct js_policy p;
	char err[512];
	assert_int_equal(resolve(c, "bob", NULL, NULL, &p, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "duplicate key"));
	assert_int_equal(resolve(c, "carol", NULL, NULL, &p, err, sizeof err), 0);
	js_problems_free(&pr);
	js_config_free(c);
}

static void test_duplicate_section(void **state)
{
	(void)state;
	struct js_problems pr = {0};
	struct js_config *c = load_ok("[user:bob]\nmemory_max = 1G\n[user:alice]\n[user:bob]\nmemory_max = 2G\n", &pr);
	expect_problem(&pr, ":4: ", "[user:bob]: duplicate section (first on line 1)", NULL);
	/* The two are one section, as iniparser sees them: the key repeats. */
	expect_problem(&pr, ":5: ", "[user:bob] memory_max: duplicate key (first on line 2)", NULL);
	assert_true(js_config_has_global_problem(c));
	assert_int_equal(js_config_nsections(c), 2);
	js_problems_free(&pr);
	js_config_free(c);
}

static void test_key_outside_section(void **state)
{
	(void)state;
	struct js_problems pr = {0};
	struct js_config *c = load_ok("# policy\nsandbox = no\n[default]\n", &pr);
	expect_problem(&pr, ":2: ", "sandbox: key outside any section", NULL);
	assert_true(pr.p[0].global);
	struct js_policy p;
	char err[512];
	assert_int_equal(resolve(c, "alice", NULL, NULL, &p, err, sizeof err), -EINVAL);
	js_problems_free(&pr);
	js_config_free(c);
}

static void test_global_section_keys(void **state)
{
	(void)state;
	struct js_config *c = load_clean("[global]\nimages_dir = /srv/js//images/\nstate_dir = /srv/./js\n"
					 "run_dir = /run/js\nhost_root = /\n");
	const struct js_global *g = js_config_global(c);
	assert_string_equal(g->images_dir, "/srv/js/images");
	assert_string_equal(g->state_dir, "/srv/js");
	assert_string_equal(g->run_dir, "/run/js");
	assert_string_equal(g->host_root, "/");
	js_config_free(c);

	c = load_clean("[global]\ncontainers_cpu_weight = 250\n");
	assert_int_equal(js_config_global(c)->containers_cpu_weight, 250);
	js_config_free(c);
	static const char *const bad_weight[] = {"0", "10001", "-5", "ten", "1.5", ""};
	for (size_t i = 0; i < sizeof bad_weight / sizeof bad_weight[0]; i++) {
		char text[256];
		struct js_problems pr = {0};
		snprintf(text, sizeof text, "[global]\ncontainers_cpu_weight = \"%s\"\n", bad_weight[i]);
		c = load_ok(text, &pr);
		expect_problem(&pr, ":2: ", "[global] containers_cpu_weight: invalid weight", NULL);
		assert_true(js_config_has_global_problem(c));
		assert_int_equal(js_config_global(c)->containers_cpu_weight, JS_CONTAINERS_CPU_WEIGHT_DEFAULT);
		js_problems_free(&pr);
		js_config_free(c);
	}

	static const char *const bad[] = {"relative/path", "/srv/../etc", "", "/srv/with space", "~/x"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[256];
		struct js_problems pr = {0};
		snprintf(text, sizeof text, "[global]\nstate_dir = \"%s\"\n", bad[i]);
		c = load_ok(text, &pr);
		expect_problem(&pr, ":2: ", "[global] state_dir: invalid path", NULL);
		assert_true(pr.p[0].global);
		assert_true(js_config_has_global_problem(c));
		/* The bad value is not used. */
		assert_string_equal(js_config_global(c)->state_dir, "/var/lib/jsandbox");
		js_problems_free(&pr);
		js_config_free(c);
	}
}

static void test_keys_in_wrong_section(void **state)
{
	(void)state;
	struct js_problems pr = {0};
	struct js_config *c = load_ok("[global]\nmemory_max = 1G\n[user:bob]\nrun_dir = /run/x\n", &pr);
	expect_problem(&pr, ":2: ", "[global] memory_max", "[default], [group:NAME] or [user:NAME]");
	expect_problem(&pr, ":4: ", "[user:bob] run_dir", "only valid in [global]");
	js_problems_free(&pr);
	js_config_free(c);
	c = load_ok("[global]\nfoo = 1\n", &pr);
	expect_problem(&pr, "[global] foo: unknown key", NULL, NULL);
	js_problems_free(&pr);
	js_config_free(c);
}

/* ---- values ---- */

static void test_bool_values(void **state)
{
	(void)state;
	struct js_policy p;
	accept_value("sandbox", "no", &p);
	assert_false(p.sandbox);
	accept_value("sudo", "no", &p);
	assert_false(p.sudo);
	accept_value("linger", "yes", &p);
	assert_true(p.linger);
	accept_value("nested_userns", "yes", &p);
	assert_true(p.nested_userns);
	assert_false(p.perf_events);
	accept_value("perf_events", "yes", &p);
	assert_true(p.perf_events);
	assert_false(p.nested_userns);
	static const char *const bad[] = {"Yes", "YES", "true", "1", "on", "y", "nope", "\"\"", "\"yes \""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		refuse_value("sandbox", bad[i]);
		refuse_value("linger", bad[i]);
		refuse_value("nested_userns", bad[i]);
		refuse_value("perf_events", bad[i]);
	}
	bool b = true;
	char why[256];
	assert_int_equal(js_parse_bool("no", &b, why, sizeof why), 0);
	assert_false(b);
	assert_int_equal(js_parse_bool("false", &b, why, sizeof why), -EINVAL);
	assert_non_null(strstr(why, "\"yes\" or \"no\""));
}

static void test_image_values(void **state)
{
	(void)state;
	struct js_policy p;
	accept_value("image", "ubuntu-24.04_gpu", &p);
	assert_string_equal(p.image, "ubuntu-24.04_gpu");
	char name[80];
	memset(name, 'a', 63);
	name[63] = '\0';
	accept_value("image", name, &p);
	strcat(name, "a");
	refuse_value("image", name);
	refuse_value("image", "../etc");
	refuse_value("image", ".hidden");
	refuse_value("image", "-x");
	refuse_value("image", "a/b");
	refuse_value("image", "");
}

static void test_gpus_none_all(void **state)
{
	(void)state;
	struct js_policy p;
	accept_value("gpus", "all", &p);
	assert_int_equal(p.gpus.kind, JS_GPUS_ALL);
	format_is(&p, JS_KEY_GPUS, "all");
	accept_value("gpus", "none", &p);
	assert_int_equal(p.gpus.kind, JS_GPUS_NONE);
	format_is(&p, JS_KEY_GPUS, "none");
	refuse_value("gpus", "");
	refuse_value("gpus", "None");
	refuse_value("gpus", "any");
}

static void test_gpus_indices(void **state)
{
	(void)state;
	struct js_policy p;
	accept_value("gpus", "0,2, 63 ,007", &p);
	assert_int_equal(p.gpus.kind, JS_GPUS_LIST);
	assert_int_equal(p.gpus.n, 4);
	assert_int_equal(p.gpus.ref[0].type, JS_GPU_INDEX);
	assert_int_equal(p.gpus.ref[2].index, 63);
	assert_int_equal(p.gpus.ref[3].index, 7);
	format_is(&p, JS_KEY_GPUS, "0,2,63,7");
	refuse_value("gpus", "64");
	refuse_value("gpus", "-1");
	refuse_value("gpus", "+1");
	refuse_value("gpus", "0x1");
	refuse_value("gpus", "1 2");
	refuse_value("gpus", "99999999999999999999999");
	refuse_value("gpus", "18446744073709551617"); /* 2^64 + 1 wraps to 1 */
}

static void test_gpus_pci(void **state)
{
	(void)state;
	struct js_policy p;
	accept_value("gpus", "3B:00.0,0001:af:1f.7,00000000:5E:00.0", &p);
	assert_int_equal(p.gpus.n, 3);
	assert_int_equal(p.gpus.ref[0].type, JS_GPU_PCI);
	assert_string_equal(p.gpus.ref[0].id, "0000:3b:00.0");
	assert_string_equal(p.gpus.ref[1].id, "0001:af:1f.7");
	assert_string_equal(p.gpus.ref[2].id, "0000:5e:00.0");
	format_is(&p, JS_KEY_GPUS, "0000:3b:00.0,0001:af:1f.7,0000:5e:00.0");
	refuse_value("gpus", "3b:00");	    /* no function */
	refuse_value("gpus", "3b:20.0");    /* device > 0x1f */
	refuse_value("gpus", "3b:00.8");    /* function > 7 */
	refuse_value("gpus", "3g:00.0");    /* not hex */
	refuse_value("gpus", "3:00.0");	    /* bus is two digits */
	refuse_value("gpus", "00:3b:00.0"); /* domain is 4 to 8 digits */
	refuse_value("gpus", "0000:3b:00.0.1");
	char why[256];
	struct js_gpu_sel sel;
	assert_int_equal(js_parse_gpus("0000:3b:00", &sel, why, sizeof why), -EINVAL);
	assert_non_null(strstr(why, "PCI address"));
}

static void test_gpus_uuid(void **state)
{
	(void)state;
	struct js_policy p;
	accept_value("gpus", "GPU-4F9E7C1A-0B2D-4E6F-8A9B-0C1D2E3F4A5B, MIG-00112233-4455-6677-8899-aabbccddeeff", &p);
	assert_int_equal(p.gpus.n, 2);
	assert_int_equal(p.gpus.ref[0].type, JS_GPU_UUID);
	assert_string_equal(p.gpus.ref[0].id, "GPU-4f9e7c1a-0b2d-4e6f-8a9b-0c1d2e3f4a5b");
	assert_string_equal(p.gpus.ref[1].id, "MIG-00112233-4455-6677-8899-aabbccddeeff");
	refuse_value("gpus", "GPU-4f9e7c1a-0b2d-4e6f-8a9b-0c1d2e3f4a5");   /* short */
	refuse_value("gpus", "GPU-4f9e7c1a-0b2d-4e6f-8a9b-0c1d2e3f4a5bb"); /* long */
	refuse_value("gpus", "GPU-4f9e7c1a0b2d-4e6f-8a9b-0c1d2e3f4a5b-");  /* layout */
	refuse_value("gpus", "GPU-zf9e7c1a-0b2d-4e6f-8a9b-0c1d2e3f4a5b");  /* not hex */
	refuse_value("gpus", "XYZ-4f9e7c1a-0b2d-4e6f-8a9b-0c1d2e3f4a5b");
}

/* CDI names: vendor/class=name, kept as written. */
static void test_gpus_cdi(void **state)
{
	(void)state;
	struct js_policy p;
	accept_value("gpus",
		     "nvidia.com/gpu=0:1, amd.com/gpu=0,nvidia.com/gpu=MIG-dddddddd-0000-0000-0000-000000000011", &p);
	assert_int_equal(p.gpus.n, 3);
	assert_int_equal(p.gpus.ref[0].type, JS_GPU_CDI);
	assert_string_equal(p.gpus.ref[0].id, "nvidia.com/gpu=0:1");
	assert_string_equal(p.gpus.ref[1].id, "amd.com/gpu=0");
	format_is(&p, JS_KEY_GPUS,
		  "nvidia.com/gpu=0:1,amd.com/gpu=0,nvidia.com/gpu=MIG-dddddddd-0000-0000-0000-000000000011");
	refuse_value("gpus", "nvidia.com=0");	    /* no class */
	refuse_value("gpus", "nvidia.com/gpu=");    /* no name */
	refuse_value("gpus", "nvidia.com/gpu=:0");  /* a name starts alphanumeric */
	refuse_value("gpus", "nvidia.com/gpu=a/b"); /* no slash in a name */
	refuse_value("gpus", "/gpu=0");		    /* no vendor */
	refuse_value("gpus", "nvidia.com/gpu=0,nvidia.com/gpu=0");
	struct js_gpu_sel sel;
	char why[256];
	assert_int_equal(js_parse_gpus("nvidia.com/g pu=0", &sel, why, sizeof why), -EINVAL);
	assert_non_null(strstr(why, "CDI device name"));
}

static void test_gpus_duplicates(void **state)
{
	(void)state;
	refuse_value("gpus", "0,1,0");
	refuse_value("gpus", "1,01");
	refuse_value("gpus", "3b:00.0,0000:3B:00.0");
	refuse_value("gpus", "GPU-4f9e7c1a-0b2d-4e6f-8a9b-0c1d2e3f4a5b,GPU-4F9E7C1A-0B2D-4E6F-8A9B-0C1D2E3F4A5B");
	struct js_gpu_sel sel;
	char why[256];
	assert_int_equal(js_parse_gpus("2,2", &sel, why, sizeof why), -EINVAL);
	assert_non_null(strstr(why, "twice"));
}

static void test_gpus_mixing_and_empty_entries(void **state)
{
	(void)state;
	struct js_gpu_sel sel;
	char why[256];
	assert_int_equal(js_parse_gpus("none,0", &sel, why, sizeof why), -EINVAL);
	assert_non_null(strstr(why, "cannot be combined"));
	assert_int_equal(js_parse_gpus("1,all", &sel, why, sizeof why), -EINVAL);
	assert_int_equal(js_parse_gpus("all,none", &sel, why, sizeof why), -EINVAL);
	assert_int_equal(js_parse_gpus("0,,1", &sel, why, sizeof why), -EINVAL);
	assert_non_null(strstr(why, "empty entry"));
	assert_int_equal(js_parse_gpus("0,", &sel, why, sizeof why), -EINVAL);
	assert_int_equal(js_parse_gpus(",0", &sel, why, sizeof why), -EINVAL);
	assert_int_equal(js_parse_gpus("  1 ,\t2  ", &sel, why, sizeof why), 0);
	assert_int_equal(sel.n, 2);
	refuse_value("gpus", "none, 1");
}

static void test_gpus_max_entries(void **state)
{
	(void)state;
	char list[1024] = "";
	for (int i = 0; i < 64; i++)
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s%d", i ? "," : "", i);
	struct js_policy p;
	accept_value("gpus", list, &p);
	assert_int_equal(p.gpus.n, JS_GPU_MAX);
	strcat(list, ",0000:3b:00.0");
	struct js_gpu_sel sel;
	char why[256];
	assert_int_equal(js_parse_gpus(list, &sel, why, sizeof why), -EINVAL);
	assert_non_null(strstr(why, "too many"));
	refuse_value("gpus", list);
}

static void test_devices_forms(void **state)
{
	(void)state;
	struct js_policy p;
	accept_value("devices", "c 10:229 rwm, c 10:229 rw /dev/fuse2 , /dev/net/tun, /dev/kvm rwm, b *:* m, a *:* r",
		     &p);
	assert_int_equal(p.ndevices, 6);
	assert_int_equal(p.devices[0].type, 'c');
	assert_int_equal(p.devices[0].major, 10);
	assert_int_equal(p.devices[0].minor, 229);
	assert_int_equal(p.devices[0].access, JS_DEV_READ | JS_DEV_WRITE | JS_DEV_MKNOD);
	assert_string_equal(p.devices[0].path, "");
	assert_string_equal(p.devices[1].path, "/dev/fuse2");
	assert_int_equal(p.devices[1].access, JS_DEV_READ | JS_DEV_WRITE);
	/* Path form: resolved from the host node later. */
	assert_int_equal(p.devices[2].type, 0);
	assert_int_equal(p.devices[2].major, -1);
	assert_int_equal(p.devices[2].minor, -1);
	assert_int_equal(p.devices[2].access, JS_DEV_READ | JS_DEV_WRITE);
	assert_string_equal(p.devices[2].path, "/dev/net/tun");
	assert_int_equal(p.devices[3].access, JS_DEV_READ | JS_DEV_WRITE | JS_DEV_MKNOD);
	assert_int_equal(p.devices[4].type, 'b');
	assert_int_equal(p.devices[4].major, -1);
	assert_int_equal(p.devices[4].access, JS_DEV_MKNOD);
	assert_int_equal(p.devices[5].type, 'a');
	format_is(&p, JS_KEY_DEVICES,
		  "c 10:229 rwm, c 10:229 rw /dev/fuse2, /dev/net/tun rw, /dev/kvm rwm, b *:* m, a *:* r");
	accept_value("devices", "c 4095:1048575 mwr", &p);
	format_is(&p, JS_KEY_DEVICES, "c 4095:1048575 rwm");
	accept_value("devices", "none", &p);
	assert_int_equal(p.ndevices, 0);
	format_is(&p, JS_KEY_DEVICES, "none");
	accept_value("devices", "", &p);
	assert_int_equal(p.ndevices, 0);
}

static void test_devices_invalid(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "x 10:229 rwm",
	    "c 4096:0 rw",
	    "c 0:1048576 rw",
	    "c 10:229 rr",
	    "c 10:229",
	    "c 10 rw",
	    "c 10:229 rwx",
	    "c -1:2 rw",
	    "c 0x10:1 rw",
	    "a 1:2 rw",
	    "a *:* rw /dev/x",
	    "c *:1 rw /dev/x",
	    "c 10:229 rw fuse",
	    "/dev/../etc/passwd",
	    "/dev//fuse",
	    "/dev/fuse/",
	    "/etc/passwd",
	    "/dev/",
	    "/dev/fuse rwmx",
	    "/dev/fuse rw extra",
	    "/dev/fu se",
	    "none, c 1:3 rw",
	    "c 1:3 rw,,c 1:5 rw",
	    "c 1:3 rw,",
	    "/dev/a,/dev/a",
	    "c 10:229 rw /dev/a/./b",
	    "/dev/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		refuse_value("devices", bad[i]);
	char list[1100] = "";
	for (int i = 0; i < 33; i++)
		snprintf(list + strlen(list), sizeof list - strlen(list), "%sc 1:%d rw", i ? "," : "", i);
	struct js_dev_rule rules[JS_DEV_MAX];
	size_t n = 99;
	char why[256];
	assert_int_equal(js_parse_devices(list, rules, &n, why, sizeof why), -EINVAL);
	assert_non_null(strstr(why, "too many"));
	assert_int_equal(n, 99); /* untouched on failure */
	*strrchr(list, ',') = '\0';
	assert_int_equal(js_parse_devices(list, rules, &n, why, sizeof why), 0);
	assert_int_equal(n, JS_DEV_MAX);
}

static void test_memory_max_suffixes(void **state)
{
	(void)state;
	struct js_policy p;
	static const struct {
		const char *in;
		uint64_t bytes;
		const char *out;
	} ok[] = {
	    {"4194304", 4 * M, "4M"},	  {"4096K", 4 * M, "4M"},
	    {"4097k", 4097 * K, "4097K"}, {"8G", 8 * G, "8G"},
	    {"8g", 8 * G, "8G"},	  {"1536M", 1536 * M, "1536M"},
	    {"2t", 2 * T, "2T"},	  {"1024T", 1024 * T, "1024T"},
	    {"0008G", 8 * G, "8G"},	  {"4194305", 4194305, "4194305"},
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		accept_value("memory_max", ok[i].in, &p);
		assert_false(p.memory_max.max);
		assert_false(p.memory_max.percent);
		assert_int_equal(p.memory_max.value, ok[i].bytes);
		format_is(&p, JS_KEY_MEMORY_MAX, ok[i].out);
	}
}

static void test_memory_max_bounds(void **state)
{
	(void)state;
	refuse_value("memory_max", "0");
	refuse_value("memory_max", "1");
	refuse_value("memory_max", "4194303");
	refuse_value("memory_max", "3M");
	refuse_value("memory_max", "1025T");
	refuse_value("memory_max", "1048577G");
	refuse_value("memory_max", "99999999999999999999T");
	refuse_value("memory_max", "18446744073709551616");
	refuse_value("memory_max", "18446744082299486208"); /* 2^64 + 8G wraps to 8G */
	refuse_value("memory_max", "16777216T");	    /* wraps 64 bits when shifted */
	struct js_problems pr = {0};
	struct js_config *c = load_ok("[user:bob]\nmemory_max = 2M\n", &pr);
	expect_problem(&pr, "[user:bob] memory_max: invalid size \"2M\"", "at least 4M", NULL);
	js_problems_free(&pr);
	js_config_free(c);
	struct js_amount a;
	char why[256];
	assert_int_equal(js_parse_size("99999999999999999999T", true, true, &a, why, sizeof why), -EINVAL);
	assert_non_null(strstr(why, "too large"));
	assert_int_equal(js_parse_size("16777216T", true, true, &a, why, sizeof why), -EINVAL);
	assert_int_equal(js_parse_size("16777215T", true, true, &a, why, sizeof why), 0);
}

static void test_memory_max_percent_and_max(void **state)
{
	(void)state;
	struct js_policy p;
	accept_value("memory_max", "1%", &p);
	assert_true(p.memory_max.percent);
	assert_int_equal(p.memory_max.value, 1);
	accept_value("memory_max", "100%", &p);
	assert_int_equal(p.memory_max.value, 100);
	format_is(&p, JS_KEY_MEMORY_MAX, "100%");
	accept_value("memory_max", "max", &p);
	assert_true(p.memory_max.max);
	format_is(&p, JS_KEY_MEMORY_MAX, "max");
	refuse_value("memory_max", "0%");
	refuse_value("memory_max", "101%");
	refuse_value("memory_max", "%");
	refuse_value("memory_max", "50 %");
	refuse_value("memory_max", "50%%");
	refuse_value("memory_max", "MAX");
	refuse_value("memory_max", "-1");
}

static void test_size_garbage(void **state)
{
	(void)state;
	static const char *const bad[] = {"12X",  "1KB", "1GiB", "-1G", "+1G",	   "0x10M",
					  "1.5G", "1G1", "G",	 "1 G", "\" 8G\"", "8G8G"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		refuse_value("memory_max", bad[i]);
		refuse_value("tmp_size", bad[i]);
	}
	struct js_problems pr = {0};
	struct js_config *c = load_ok("[default]\n[user:bob]\nmemory_max = 12X\n", &pr);
	expect_problem(&pr,
		       ":3: [user:bob] memory_max: invalid size \"12X\" (expected a number with optional K, M, G or T "
		       "suffix, a percentage such as 50%, or \"max\")",
		       NULL, NULL);
	js_problems_free(&pr);
	js_config_free(c);
}

static void test_pids_max(void **state)
{
	(void)state;
	struct js_policy p;
	accept_value("pids_max", "16", &p);
	assert_int_equal(p.pids_max, 16);
	accept_value("pids_max", "4194304", &p);
	assert_int_equal(p.pids_max, 4194304);
	accept_value("pids_max", "00100", &p);
	assert_int_equal(p.pids_max, 100);
	format_is(&p, JS_KEY_PIDS_MAX, "100");
	accept_value("pids_max", "max", &p);
	assert_int_equal(p.pids_max, 0);
	format_is(&p, JS_KEY_PIDS_MAX, "max");
	/* 2^64 + 100 would wrap to a valid 100 without the overflow check. */
	static const char *const bad[] = {"0",	 "1",	 "15",	"4194305", "-16",
					  "+16", "0x20", "16k", "1e3",	   "18446744073709551716"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		refuse_value("pids_max", bad[i]);
	uint64_t v;
	char why[256];
	assert_int_equal(js_parse_uint("15", 16, 100, false, &v, why, sizeof why), -EINVAL);
	assert_non_null(strstr(why, "16 to 100"));
	assert_int_equal(js_parse_uint("max", 16, 100, false, &v, why, sizeof why), -EINVAL);
}

static void test_cpu_max(void **state)
{
	(void)state;
	struct js_policy p;
	accept_value("cpu_max", "1%", &p);
	assert_int_equal(p.cpu_max, 1);
	accept_value("cpu_max", "400%", &p);
	assert_int_equal(p.cpu_max, 400);
	format_is(&p, JS_KEY_CPU_MAX, "400%");
	accept_value("cpu_max", "100000%", &p);
	assert_int_equal(p.cpu_max, 100000);
	accept_value("cpu_max", "max", &p);
	assert_int_equal(p.cpu_max, 0);
	format_is(&p, JS_KEY_CPU_MAX, "max");
	static const char *const bad[] = {"0%", "100001%", "400", "4.5%", "-1%", "%", "400%%", "4294967297%"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		refuse_value("cpu_max", bad[i]);
}

static void test_cpu_weight(void **state)
{
	(void)state;
	struct js_policy p;
	accept_value("cpu_weight", "1", &p);
	assert_int_equal(p.cpu_weight, 1);
	accept_value("cpu_weight", "10000", &p);
	assert_int_equal(p.cpu_weight, 10000);
	format_is(&p, JS_KEY_CPU_WEIGHT, "10000");
	refuse_value("cpu_weight", "0");
	refuse_value("cpu_weight", "10001");
	refuse_value("cpu_weight", "max");
	refuse_value("cpu_weight", "50%");
}

static void test_tmp_size(void **state)
{
	(void)state;
	struct js_policy p;
	accept_value("tmp_size", "1M", &p);
	assert_int_equal(p.tmp_size.value, M);
	accept_value("tmp_size", "1024T", &p);
	accept_value("tmp_size", "25%", &p);
	assert_true(p.tmp_size.percent);
	format_is(&p, JS_KEY_TMP_SIZE, "25%");
	refuse_value("tmp_size", "max");
	refuse_value("tmp_size", "1048575");
	refuse_value("tmp_size", "0");
	refuse_value("tmp_size", "1025T");
	refuse_value("tmp_size", "0%");
}

static void test_disk_max(void **state)
{
	(void)state;
	struct js_policy p;
	accept_value("disk_max", "64M", &p);
	assert_false(p.disk_max.max);
	assert_int_equal(p.disk_max.value, 64 * M);
	format_is(&p, JS_KEY_DISK_MAX, "64M");
	accept_value("disk_max", "20G", &p);
	format_is(&p, JS_KEY_DISK_MAX, "20G");
	accept_value("disk_max", "1024T", &p);
	accept_value("disk_max", "max", &p);
	assert_true(p.disk_max.max);
	format_is(&p, JS_KEY_DISK_MAX, "max");
	refuse_value("disk_max", "63M");
	refuse_value("disk_max", "0");
	refuse_value("disk_max", "50%");
	refuse_value("disk_max", "1025T");
	refuse_value("disk_max", "20X");
}

static void test_pty_max(void **state)
{
	(void)state;
	struct js_policy p;
	accept_value("sandbox", "yes", &p);
	assert_int_equal(p.pty_max, 128);
	accept_value("pty_max", "1", &p);
	assert_int_equal(p.pty_max, 1);
	accept_value("pty_max", "65536", &p);
	format_is(&p, JS_KEY_PTY_MAX, "65536");
	refuse_value("pty_max", "0");
	refuse_value("pty_max", "65537");
	refuse_value("pty_max", "max");
	refuse_value("pty_max", "-1");
	refuse_value("pty_max", "12k");
}

static void test_capabilities_add(void **state)
{
	(void)state;
	struct js_policy p;
	accept_value("sandbox", "yes", &p);
	assert_int_equal(p.caps_add, 0);
	format_is(&p, JS_KEY_CAPABILITIES_ADD, "none");
	accept_value("capabilities_add", "SYS_PTRACE", &p);
	assert_int_equal(p.caps_add, UINT64_C(1) << 19);
	accept_value("capabilities_add", "cap_dac_read_search,NET_RAW , Audit_Write", &p);
	assert_int_equal(p.caps_add, (UINT64_C(1) << 2) | (UINT64_C(1) << 13) | (UINT64_C(1) << 29));
	format_is(&p, JS_KEY_CAPABILITIES_ADD, "AUDIT_WRITE,DAC_READ_SEARCH,NET_RAW");
	assert_int_equal(p.caps_add & ~JS_CAPS_ADDABLE, 0);
	accept_value("capabilities_add", "none", &p);
	assert_int_equal(p.caps_add, 0);
	/* Nothing outside the allow-list, however spelt. */
	const char *bad[] = {"SYS_ADMIN",
			     "CAP_SYS_ADMIN",
			     "SYS_PTRACE,SYS_ADMIN",
			     "NET_ADMIN",
			     "SYS_MODULE",
			     "MKNOD",
			     "all",
			     "21",
			     "SYS_PTRACE,",
			     ",SYS_PTRACE",
			     "SYS_PTRACE SYS_PTRACE",
			     "CAP_",
			     "SYS_PTRACEX",
			     "none,SYS_PTRACE"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		refuse_value("capabilities_add", bad[i]);
}

static void test_network_and_shell(void **state)
{
	(void)state;
	struct js_policy p;
	accept_value("network", "none", &p);
	assert_int_equal(p.network, JS_NET_NONE);
	format_is(&p, JS_KEY_NETWORK, "none");
	accept_value("network", "host", &p);
	assert_int_equal(p.network, JS_NET_HOST);
	refuse_value("network", "private");
	refuse_value("network", "Host");
	accept_value("shell", "/usr/bin//zsh/", &p);
	assert_string_equal(p.shell, "/usr/bin/zsh");
	format_is(&p, JS_KEY_SHELL, "/usr/bin/zsh");
	refuse_value("shell", "bash");
	refuse_value("shell", "/bin/../bin/bash");
	refuse_value("shell", "");
	char out[16], why[256];
	assert_int_equal(js_parse_abspath("/a/./b/", out, sizeof out, why, sizeof why), 0);
	assert_string_equal(out, "/a/b");
	assert_int_equal(js_parse_abspath("///", out, sizeof out, why, sizeof why), 0);
	assert_string_equal(out, "/");
	assert_int_equal(js_parse_abspath("/aaaaaaaaaaaaaaaaaaaaa", out, sizeof out, why, sizeof why), -EINVAL);
	assert_non_null(strstr(why, "too long"));
}

/* ---- merging and who is blocked ---- */

static const char merge_conf[] = "[user:alice]\n"
				 "cpu_weight = 300\n"
				 "[group:gpu]\n"
				 "gpus = 0,1\n"
				 "memory_max = 64G\n"
				 "cpu_weight = 200\n"
				 "[default]\n"
				 "memory_max = 8G\n"
				 "pids_max = 1024\n"
				 "gpus = none\n"
				 "[group:video]\n"
				 "memory_max = 16G\n"
				 "linger = yes\n"
				 "[group:admins]\n"
				 "sandbox = no\n";

static void test_merge_order(void **state)
{
	(void)state;
	struct js_config *c = load_clean(merge_conf);
	struct js_policy p;
	char err[512];
	/* [default] first although it is not first in the file, then gpu and
	 * video in file order whatever the order of the groups, then alice. */
	assert_int_equal(resolve(c, "alice", "video", "gpu", &p, err, sizeof err), 0);
	assert_int_equal(p.memory_max.value, 16 * G);
	assert_string_equal(p.origin[JS_KEY_MEMORY_MAX], "[group:video]");
	assert_int_equal(p.pids_max, 1024);
	assert_string_equal(p.origin[JS_KEY_PIDS_MAX], "[default]");
	assert_int_equal(p.gpus.kind, JS_GPUS_LIST);
	assert_string_equal(p.origin[JS_KEY_GPUS], "[group:gpu]");
	assert_int_equal(p.cpu_weight, 300);
	assert_string_equal(p.origin[JS_KEY_CPU_WEIGHT], "[user:alice]");
	assert_true(p.linger);
	assert_string_equal(p.origin[JS_KEY_LINGER], "[group:video]");
	assert_string_equal(p.origin[JS_KEY_SHELL], "built-in");
	assert_true(p.sandbox);

	/* Only gpu: its memory wins over [default]. */
	assert_int_equal(resolve(c, "bob", "gpu", NULL, &p, err, sizeof err), 0);
	assert_int_equal(p.memory_max.value, 64 * G);
	assert_int_equal(p.cpu_weight, 200);
	assert_false(p.linger);
	assert_string_equal(p.user, "bob");

	/* No groups: [default] only. */
	assert_int_equal(resolve(c, "carol", NULL, NULL, &p, err, sizeof err), 0);
	assert_int_equal(p.memory_max.value, 8 * G);
	assert_int_equal(p.gpus.kind, JS_GPUS_NONE);
	assert_string_equal(p.origin[JS_KEY_GPUS], "[default]");

	assert_int_equal(resolve(c, "root2", "admins", NULL, &p, err, sizeof err), 0);
	assert_false(p.sandbox);
	assert_string_equal(p.origin[JS_KEY_SANDBOX], "[group:admins]");
	js_config_free(c);
}

static void test_groups_not_member_ignored(void **state)
{
	(void)state;
	struct js_config *c = load_clean(merge_conf);
	struct js_policy p;
	char err[512];
	/* Groups with no section, and sections for groups the user is not in,
	 * change nothing; a user section is not a group section. */
	assert_int_equal(resolve(c, "dave", "users", "alice", &p, err, sizeof err), 0);
	assert_int_equal(p.memory_max.value, 8 * G);
	assert_int_equal(p.cpu_weight, 100);
	assert_true(p.sandbox);
	/* Group names match exactly. */
	assert_int_equal(resolve(c, "dave", "GPU", "gpu2", &p, err, sizeof err), 0);
	assert_int_equal(p.gpus.kind, JS_GPUS_NONE);
	/* Duplicated group names apply once. */
	assert_int_equal(resolve(c, "dave", "gpu", "gpu", &p, err, sizeof err), 0);
	assert_int_equal(p.cpu_weight, 200);
	js_config_free(c);
}

static void test_problem_in_other_user_does_not_block(void **state)
{
	(void)state;
	struct js_problems pr = {0};
	struct js_config *c = load_ok("[default]\nmemory_max = 8G\n[user:bob]\npids_max = lots\n"
				      "[user:alice]\nsudo = no\n",
				      &pr);
	assert_int_equal(pr.n, 1);
	expect_problem(&pr, ":4: ", "[user:bob] pids_max: invalid number \"lots\"", NULL);
	assert_false(js_config_has_global_problem(c));
	struct js_policy p;
	char err[512];
	assert_int_equal(resolve(c, "alice", NULL, NULL, &p, err, sizeof err), 0);
	assert_false(p.sudo);
	assert_int_equal(resolve(c, "bob", NULL, NULL, &p, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "[user:bob] pids_max"));
	js_problems_free(&pr);
	js_config_free(c);
}

static void test_group_problem_blocks_members_only(void **state)
{
	(void)state;
	struct js_problems pr = {0};
	struct js_config *c = load_ok("[group:gpu]\ngpus = 0,0\n", &pr);
	expect_problem(&pr, "[group:gpu] gpus: invalid GPU list \"0,0\"", "twice", NULL);
	assert_string_equal(pr.p[0].section, "group:gpu");
	assert_false(pr.p[0].global);
	struct js_policy p;
	char err[512];
	assert_int_equal(resolve(c, "alice", "gpu", NULL, &p, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "[group:gpu] gpus"));
	assert_int_equal(resolve(c, "bob", "users", NULL, &p, err, sizeof err), 0);
	js_problems_free(&pr);
	js_config_free(c);
}

static void test_default_problem_is_global(void **state)
{
	(void)state;
	struct js_problems pr = {0};
	struct js_config *c = load_ok("[default]\ncpu_weight = 0\n[user:admin]\nsandbox = no\n", &pr);
	expect_problem(&pr, "[default] cpu_weight: invalid number \"0\"", NULL, NULL);
	assert_true(pr.p[0].global);
	assert_true(js_config_has_global_problem(c));
	struct js_policy p;
	char err[512];
	assert_int_equal(resolve(c, "admin", NULL, NULL, &p, err, sizeof err), -EINVAL);
	assert_int_equal(resolve(c, "someone", NULL, NULL, &p, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "[default] cpu_weight"));
	js_problems_free(&pr);
	js_config_free(c);
}

static void test_global_problem_blocks_everyone(void **state)
{
	(void)state;
	struct js_problems pr = {0};
	struct js_config *c = load_ok("[global]\nrun_dir = run\n[user:alice]\n[default]\n", &pr);
	assert_true(js_config_has_global_problem(c));
	struct js_policy p;
	memset(&p, 0x5a, sizeof p);
	char err[512];
	assert_int_equal(resolve(c, "alice", NULL, NULL, &p, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "[global] run_dir"));
	assert_int_equal(p.cpu_weight, 0x5a5a5a5a); /* untouched on failure */
	assert_int_equal(resolve(c, "bob", "wheel", NULL, &p, err, sizeof err), -EINVAL);
	js_problems_free(&pr);
	js_config_free(c);
}

static void test_resolve_bad_arguments(void **state)
{
	(void)state;
	struct js_config *c = load_clean("[default]\n");
	struct js_policy p;
	char err[512];
	assert_int_equal(js_config_resolve(NULL, "alice", NULL, 0, &p, err, sizeof err), -EINVAL);
	assert_int_equal(js_config_resolve(c, "", NULL, 0, &p, err, sizeof err), -EINVAL);
	char longname[100];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	assert_int_equal(js_config_resolve(c, longname, NULL, 0, &p, err, sizeof err), -EINVAL);
	/* err_msg may be NULL. */
	assert_int_equal(js_config_resolve(c, "alice", NULL, 0, &p, NULL, 0), 0);
	js_config_free(c);
}

static void test_resolve_user_lookup(void **state)
{
	(void)state;
	/* root and its primary group exist on any system. */
	struct js_config *c = load_clean("[group:root]\ncpu_weight = 42\n[user:root]\npids_max = 77\n");
	struct js_policy p;
	char err[512];
	assert_int_equal(js_config_resolve_user(c, "root", &p, err, sizeof err), 0);
	assert_int_equal(p.cpu_weight, 42);
	assert_string_equal(p.origin[JS_KEY_CPU_WEIGHT], "[group:root]");
	assert_int_equal(p.pids_max, 77);
	assert_string_equal(p.user, "root");
	assert_true(js_config_resolve_user(c, "no-such-user-jsb", &p, err, sizeof err) < 0);
	assert_non_null(strstr(err, "no-such-user-jsb"));
	js_config_free(c);
}

/* ---- scale, reporting, formatting ---- */

static void test_many_sections_fast(void **state)
{
	(void)state;
	size_t cap = 10000 * 64 + 256, len = 0;
	char *text = malloc(cap);
	assert_non_null(text);
	len += (size_t)snprintf(text + len, cap - len, "[default]\nmemory_max = 50%%\n");
	for (int i = 0; i < 10000; i++)
		len += (size_t)snprintf(text + len, cap - len, "[%s:u%d]\nmemory_max = %dG\npids_max = %d\n",
					i % 2 ? "user" : "group", i, i % 100 + 1, 100 + i);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	struct js_config *c = load_clean(text);
	clock_gettime(CLOCK_MONOTONIC, &b);
	free(text);
	double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	if (secs >= 2.0)
		fprintf(stderr, "10000 sections took %.3f s\n", secs);
	assert_true(secs < 2.0);
	assert_int_equal(js_config_nsections(c), 10001);
	struct js_policy p;
	char err[512];
	assert_int_equal(resolve(c, "u9999", "u4242", "u1", &p, err, sizeof err), 0);
	assert_int_equal(p.memory_max.value, 100 * G);
	assert_int_equal(p.pids_max, 100 + 9999);
	assert_string_equal(p.origin[JS_KEY_PIDS_MAX], "[user:u9999]");
	js_config_free(c);
}

static void test_problem_flood_summarised(void **state)
{
	(void)state;
	size_t cap = 500 * 24 + 64, len = 0;
	char *text = malloc(cap);
	assert_non_null(text);
	len += (size_t)snprintf(text + len, cap - len, "[user:bob]\n");
	for (int i = 0; i < 500; i++)
		len += (size_t)snprintf(text + len, cap - len, "bogus%d = 1\n", i);
	struct js_problems pr = {0};
	struct js_config *c = load_ok(text, &pr);
	free(text);
	assert_true(pr.n > 10 && pr.n < 500);
	expect_problem(&pr, "more problems not shown", NULL, NULL);
	js_problems_free(&pr);
	js_config_free(c);
}

static void test_problems_accumulate_and_free(void **state)
{
	(void)state;
	struct js_problems pr = {0};
	struct js_config *c1 = load_ok("[user:a]\nfoo = 1\n", &pr);
	struct js_config *c2 = load_ok("[user:b]\nbar = 1\n", &pr);
	assert_int_equal(pr.n, 2); /* appended, not replaced */
	expect_problem(&pr, "[user:a] foo", NULL, NULL);
	expect_problem(&pr, "[user:b] bar", NULL, NULL);
	js_problems_free(&pr);
	assert_int_equal(pr.n, 0);
	assert_null(pr.p);
	js_problems_free(&pr);
	js_config_free(c1);
	js_config_free(c2);
	js_config_free(NULL);
	/* Loading without a problem list still works. */
	struct js_config *c = NULL;
	assert_int_equal(js_config_load_owner(write_file("[user:c]\nbaz = 1\n"), geteuid(), &c, NULL), 0);
	struct js_policy p;
	char err[512];
	assert_int_equal(resolve(c, "c", NULL, NULL, &p, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "baz"));
	js_config_free(c);
}

static void test_format_roundtrip(void **state)
{
	(void)state;
	struct js_policy p, q;
	char err[512], text[4096], buf[2048];
	struct js_config *c;
	c = load_clean("[user:alice]\n"
		       "sandbox = yes\nimage = img-2\ngpus = 1,3B:00.0,GPU-AAAAAAAA-0000-1111-2222-333333333333\n"
		       "devices = c 10:229 rwm /dev/fuse, /dev/kvm\nmemory_max = 3072M\npids_max = max\n"
		       "cpu_max = 250%\ncpu_weight = 7\ntmp_size = 2048K\nnetwork = none\nsudo = no\n"
		       "linger = yes\nshell = /bin/sh\nnested_userns = yes\nperf_events = yes\n"
		       "pty_max = 7\ncapabilities_add = cap_sys_ptrace, AUDIT_WRITE\n");
	assert_int_equal(resolve(c, "alice", NULL, NULL, &p, err, sizeof err), 0);
	js_config_free(c);
	format_is(&p, JS_KEY_MEMORY_MAX, "3G");
	format_is(&p, JS_KEY_TMP_SIZE, "2M");
	format_is(&p, JS_KEY_GPUS, "1,0000:3b:00.0,GPU-aaaaaaaa-0000-1111-2222-333333333333");
	format_is(&p, JS_KEY_DEVICES, "c 10:229 rwm /dev/fuse, /dev/kvm rw");
	format_is(&p, JS_KEY_PTY_MAX, "7");
	format_is(&p, JS_KEY_CAPABILITIES_ADD, "AUDIT_WRITE,SYS_PTRACE");
	size_t n = (size_t)snprintf(text, sizeof text, "[user:alice]\n");
	for (int k = 0; k < JS_KEY__COUNT; k++) {
		assert_int_equal(js_policy_format(&p, (enum js_key)k, buf, sizeof buf), 0);
		n += (size_t)snprintf(text + n, sizeof text - n, "%s = %s\n", js_key_name((enum js_key)k), buf);
	}
	c = load_clean(text);
	assert_int_equal(resolve(c, "alice", NULL, NULL, &q, err, sizeof err), 0);
	js_config_free(c);
	for (int k = 0; k < JS_KEY__COUNT; k++) {
		char a[2048], b[2048];
		assert_int_equal(js_policy_format(&p, (enum js_key)k, a, sizeof a), 0);
		assert_int_equal(js_policy_format(&q, (enum js_key)k, b, sizeof b), 0);
		assert_string_equal(a, b);
	}
	/* Too small a buffer is reported, not silently cut. */
	char tiny[4];
	assert_int_equal(js_policy_format(&p, JS_KEY_SHELL, tiny, sizeof tiny), -ENAMETOOLONG);
	assert_int_equal(js_policy_format(&p, JS_KEY__COUNT, buf, sizeof buf), -EINVAL);
}

static void test_key_names(void **state)
{
	(void)state;
	assert_string_equal(js_key_name(JS_KEY_SANDBOX), "sandbox");
	assert_string_equal(js_key_name(JS_KEY_MEMORY_MAX), "memory_max");
	assert_string_equal(js_key_name(JS_KEY_SHELL), "shell");
	assert_null(js_key_name(JS_KEY__COUNT));
	/* Every key name is accepted in a section. */
	char text[1024];
	size_t n = (size_t)snprintf(text, sizeof text, "[default]\n");
	struct js_policy d;
	memset(&d, 0, sizeof d);
	for (int k = 0; k < JS_KEY__COUNT; k++)
		assert_non_null(js_key_name((enum js_key)k));
	n += (size_t)snprintf(text + n, sizeof text - n,
			      "sandbox = yes\nimage = x\ngpus = none\ndevices = none\n"
			      "memory_max = max\npids_max = max\ncpu_max = max\ncpu_weight = 1\n"
			      "tmp_size = 1G\nnetwork = host\nsudo = yes\nlinger = no\nshell = /bin/sh\n"
			      "nested_userns = no\nperf_events = no\npty_max = 128\ncapabilities_add = none\n"
			      "disk_max = max\nbanner = yes\n");
	struct js_config *c = load_clean(text);
	struct js_policy p;
	char err[512];
	assert_int_equal(resolve(c, "x", NULL, NULL, &p, err, sizeof err), 0);
	for (int k = 0; k < JS_KEY__COUNT; k++)
		assert_string_equal(p.origin[k], "[default]");
	js_config_free(c);
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "re");
	assert_non_null(f);
	static char text[64 * 1024];
	size_t n = fread(text, 1, sizeof text - 1, f);
	assert_true(n > 0 && n < sizeof text - 1);
	text[n] = '\0';
	fclose(f);
	return text;
}

static char *read_example(void)
{
	return read_text(JSANDBOX_EXAMPLE_CONF);
}

/* The policy the package installs as /etc/jsandbox.conf sandboxes nobody
 * but members of group "jsandbox" (jsandboxctl enable), who get the
 * built-in defaults otherwise. */
/* Log field values (lib/util.c js_kv_quote): one plain word as is,
 * anything else quoted with '"' and '\\' escaped, control characters as
 * '?', and a value too long cut with "..." inside the quotes. */
static void test_kv_quote(void **state)
{
	(void)state;
	char b[32];
	assert_string_equal(js_kv_quote("alice", b, sizeof b), "alice");
	assert_string_equal(js_kv_quote("", b, sizeof b), "\"\"");
	assert_string_equal(js_kv_quote("a b", b, sizeof b), "\"a b\"");
	assert_string_equal(js_kv_quote("x=y", b, sizeof b), "\"x=y\"");
	assert_string_equal(js_kv_quote("say \"hi\" \\o/", b, sizeof b), "\"say \\\"hi\\\" \\\\o/\"");
	assert_string_equal(js_kv_quote("line\nfeed", b, sizeof b), "\"line?feed\"");
	const char *q = js_kv_quote("0123456789012345678901234567890123456789", b, sizeof b);
	assert_true(strlen(q) < sizeof b);
	assert_memory_equal(q + strlen(q) - 3, "...", 3);
	q = js_kv_quote("0123456789 012345678901234567890123456789", b, sizeof b);
	assert_true(strlen(q) < sizeof b && q[0] == '"');
	assert_memory_equal(q + strlen(q) - 4, "...\"", 4);
	assert_string_equal(js_kv_quote("x", b, 4), "?");
}

static void test_package_default_config(void **state)
{
	(void)state;
	struct js_config *c = load_clean(read_text(JSANDBOX_DEFAULT_CONF));
	struct js_config *empty = load_clean("");
	struct js_policy p, d;
	char err[512], a[2048], b[2048];
	assert_int_equal(resolve(c, "alice", NULL, NULL, &p, err, sizeof err), 0);
	assert_false(p.sandbox);
	assert_int_equal(resolve(c, "alice", "gpu", "students", &p, err, sizeof err), 0);
	assert_false(p.sandbox);
	assert_int_equal(resolve(c, "alice", "gpu", "jsandbox", &p, err, sizeof err), 0);
	assert_true(p.sandbox);
	assert_string_equal(p.origin[JS_KEY_SANDBOX], "[group:jsandbox]");
	assert_int_equal(resolve(empty, "alice", NULL, NULL, &d, err, sizeof err), 0);
	for (int k = 0; k < JS_KEY__COUNT; k++) {
		assert_int_equal(js_policy_format(&p, (enum js_key)k, a, sizeof a), 0);
		assert_int_equal(js_policy_format(&d, (enum js_key)k, b, sizeof b), 0);
		assert_string_equal(a, b);
	}
	js_config_free(c);
	js_config_free(empty);
}

/* help_contact ([global]) and banner (per user): defaults, values, and
 * a contact that is not printable ASCII is a problem, never kept. */
static void test_help_contact_banner(void **state)
{
	(void)state;
	struct js_config *c = load_clean("");
	assert_string_equal(js_config_global(c)->help_contact, "your administrator");
	struct js_policy p;
	char err[512];
	assert_int_equal(resolve(c, "alice", NULL, NULL, &p, err, sizeof err), 0);
	assert_true(p.banner);
	js_config_free(c);

	c = load_clean("[global]\nhelp_contact = \"Ops team, ops@example.org; room 2.14\"\n"
		       "[default]\nbanner = no\n[user:alice]\nbanner = yes\n");
	assert_string_equal(js_config_global(c)->help_contact, "Ops team, ops@example.org; room 2.14");
	assert_int_equal(resolve(c, "bob", NULL, NULL, &p, err, sizeof err), 0);
	assert_false(p.banner);
	assert_int_equal(resolve(c, "alice", NULL, NULL, &p, err, sizeof err), 0);
	assert_true(p.banner);
	assert_string_equal(p.origin[JS_KEY_BANNER], "[user:alice]");
	js_config_free(c);

	static const char *const bad[] = {
	    "[global]\nhelp_contact = \"a\tb\"\n",
	    "[global]\nhelp_contact = \"caf\xc3\xa9\"\n",
	    "[global]\nhelp_contact = \"\"\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct js_problems pr = {0};
		c = NULL;
		load_text(bad[i], &c, &pr);
		expect_problem(&pr, "help_contact", NULL, NULL);
		if (c)
			assert_string_equal(js_config_global(c)->help_contact, "your administrator");
		js_config_free(c);
		js_problems_free(&pr);
	}
	/* An escape sequence: the whole file is refused before any key. */
	struct js_problems pr0 = {0};
	c = NULL;
	load_text("[global]\nhelp_contact = \"\x1b[31mred\"\n", &c, &pr0);
	expect_problem(&pr0, "control character", NULL, NULL);
	js_config_free(c);
	js_problems_free(&pr0);
	char longer[400];
	snprintf(longer, sizeof longer, "[global]\nhelp_contact = %0201d\n", 0);
	struct js_problems pr = {0};
	c = NULL;
	load_text(longer, &c, &pr);
	expect_problem(&pr, "help_contact", "longer than 200", NULL);
	js_config_free(c);
	js_problems_free(&pr);
	struct js_problems pr2 = {0};
	c = load_ok("[default]\nbanner = maybe\n", &pr2);
	expect_problem(&pr2, "banner", NULL, NULL);
	js_config_free(c);
	js_problems_free(&pr2);
}

static void test_example_config(void **state)
{
	(void)state;
	/* As shipped: valid, and the same policy as no file at all. */
	char *text = read_example();
	struct js_config *c = load_clean(text);
	struct js_config *empty = load_clean("");
	struct js_policy p, d;
	char err[512], a[2048], b[2048];
	assert_int_equal(resolve(c, "alice", "gpu", "students", &p, err, sizeof err), 0);
	assert_int_equal(resolve(empty, "alice", NULL, NULL, &d, err, sizeof err), 0);
	for (int k = 0; k < JS_KEY__COUNT; k++) {
		assert_int_equal(js_policy_format(&p, (enum js_key)k, a, sizeof a), 0);
		assert_int_equal(js_policy_format(&d, (enum js_key)k, b, sizeof b), 0);
		assert_string_equal(a, b);
		assert_string_equal(p.origin[k], "[default]");
	}
	const struct js_global *g = js_config_global(c), *dg = js_config_global(empty);
	assert_string_equal(g->images_dir, dg->images_dir);
	assert_string_equal(g->state_dir, dg->state_dir);
	assert_string_equal(g->run_dir, dg->run_dir);
	assert_string_equal(g->host_root, dg->host_root);
	assert_string_equal(g->help_contact, dg->help_contact);
	js_config_free(c);
	js_config_free(empty);

	/* With every ';' example enabled: still valid, and they apply. */
	char *out = text;
	for (char *line = text; *line;) {
		char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);
		if (line[0] == ';') {
			line++;
			len--;
		}
		memmove(out, line, len);
		out += len;
		line += len;
	}
	*out = '\0';
	c = load_clean(text);
	assert_int_equal(resolve(c, "alice", "students", "gpu", &p, err, sizeof err), 0);
	assert_int_equal(p.gpus.n, 3);
	assert_int_equal(p.memory_max.value, 8 * G); /* students comes after gpu */
	assert_int_equal(p.network, JS_NET_NONE);
	assert_string_equal(p.shell, "/usr/bin/zsh");
	assert_int_equal(resolve(c, "admin", NULL, NULL, &p, err, sizeof err), 0);
	assert_false(p.sandbox);
	js_config_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty_file_defaults),
	    cmocka_unit_test(test_comments_blank_lines_only),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_symlink_refused),
	    cmocka_unit_test(test_group_writable_refused),
	    cmocka_unit_test(test_world_writable_refused),
	    cmocka_unit_test(test_readonly_modes_accepted),
	    cmocka_unit_test(test_wrong_owner_refused),
	    cmocka_unit_test(test_directory_refused),
	    cmocka_unit_test(test_fifo_refused),
	    cmocka_unit_test(test_too_large_refused),
	    cmocka_unit_test(test_binary_garbage_refused),
	    cmocka_unit_test(test_nul_byte_line_number),
	    cmocka_unit_test(test_control_chars_and_bad_utf8_refused),
	    cmocka_unit_test(test_crlf_accepted),
	    cmocka_unit_test(test_syntax_error_names_line),
	    cmocka_unit_test(test_truncated_header),
	    cmocka_unit_test(test_truncated_value_at_eof),
	    cmocka_unit_test(test_backslash_continuation_refused),
	    cmocka_unit_test(test_quotes_and_inline_comments),
	    cmocka_unit_test(test_line_too_long),
	    cmocka_unit_test(test_huge_values),
	    cmocka_unit_test(test_unknown_key),
	    cmocka_unit_test(test_invalid_key_names),
	    cmocka_unit_test(test_unknown_section),
	    cmocka_unit_test(test_invalid_section_names),
	    cmocka_unit_test(test_uppercase_section),
	    cmocka_unit_test(test_duplicate_key),
	    cmocka_unit_test(test_duplicate_section),
	    cmocka_unit_test(test_key_outside_section),
	    cmocka_unit_test(test_global_section_keys),
	    cmocka_unit_test(test_keys_in_wrong_section),
	    cmocka_unit_test(test_bool_values),
	    cmocka_unit_test(test_image_values),
	    cmocka_unit_test(test_gpus_none_all),
	    cmocka_unit_test(test_gpus_indices),
	    cmocka_unit_test(test_gpus_pci),
	    cmocka_unit_test(test_gpus_uuid),
	    cmocka_unit_test(test_gpus_cdi),
	    cmocka_unit_test(test_gpus_duplicates),
	    cmocka_unit_test(test_gpus_mixing_and_empty_entries),
	    cmocka_unit_test(test_gpus_max_entries),
	    cmocka_unit_test(test_devices_forms),
	    cmocka_unit_test(test_devices_invalid),
	    cmocka_unit_test(test_memory_max_suffixes),
	    cmocka_unit_test(test_memory_max_bounds),
	    cmocka_unit_test(test_memory_max_percent_and_max),
	    cmocka_unit_test(test_size_garbage),
	    cmocka_unit_test(test_pids_max),
	    cmocka_unit_test(test_cpu_max),
	    cmocka_unit_test(test_cpu_weight),
	    cmocka_unit_test(test_tmp_size),
	    cmocka_unit_test(test_disk_max),
	    cmocka_unit_test(test_pty_max),
	    cmocka_unit_test(test_capabilities_add),
	    cmocka_unit_test(test_network_and_shell),
	    cmocka_unit_test(test_merge_order),
	    cmocka_unit_test(test_groups_not_member_ignored),
	    cmocka_unit_test(test_problem_in_other_user_does_not_block),
	    cmocka_unit_test(test_group_problem_blocks_members_only),
	    cmocka_unit_test(test_default_problem_is_global),
	    cmocka_unit_test(test_global_problem_blocks_everyone),
	    cmocka_unit_test(test_resolve_bad_arguments),
	    cmocka_unit_test(test_resolve_user_lookup),
	    cmocka_unit_test(test_many_sections_fast),
	    cmocka_unit_test(test_problem_flood_summarised),
	    cmocka_unit_test(test_problems_accumulate_and_free),
	    cmocka_unit_test(test_format_roundtrip),
	    cmocka_unit_test(test_key_names),
	    cmocka_unit_test(test_help_contact_banner),
	    cmocka_unit_test(test_example_config),
	    cmocka_unit_test(test_package_default_config),
	    cmocka_unit_test(test_kv_quote),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
