/* SPDX-License-Identifier: MIT */
/* jsandboxctl image build|import|list|remove.
 *
 * A new image is made in a work directory images_dir/.NAME.tmp-XXXXXX (on
 * the same filesystem, so that it can be renamed into place), checked and
 * fixed there, and only then renamed to images_dir/NAME; a failure or a
 * SIGINT/SIGTERM/SIGHUP before that point removes the work directory.
 * mmdebstrap and tar run in their own pid and mount namespaces (spawn.c), so
 * an interruption ends every process of the build and leaves no mount. */
#include "image.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "safefs.h"
#include "spawn.h"
#include "tree.h"

#define MMDEBSTRAP "/usr/bin/mmdebstrap"
#define TAR	   "/usr/bin/tar"

/* Always in an image: what a login, sudo and sftp need inside. */
static const char *const base_packages[] = {
    "sudo", "openssh-sftp-server", "ca-certificates", "procps", "less", "passwd", "login", "libpam-modules", "bash",
};

#define PKG_MAX	     128 /* packages in one image build */
#define PKG_NAME_MAX 100 /* Debian allows more; nothing real comes close */
#define MIRROR_MAX   8
#define URL_MAX	     512
#define SUITE_MAX    32

/* ---- validation ------------------------------------------------------- */

static bool is_lower_or_digit(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Debian policy 5.6.1: [a-z0-9][a-z0-9+.-]+ (we also take one character). */
static bool valid_package(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > PKG_NAME_MAX || !is_lower_or_digit(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_lower_or_digit(s[i]) && s[i] != '+' && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

static bool valid_suite(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > SUITE_MAX || !is_lower_or_digit(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_lower_or_digit(s[i]) && s[i] != '.' && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

/* A mirror is a URI and only that: mmdebstrap would take an existing file
 * as a sources.list, "-" as stdin and "deb ..." as a source line. */
static bool valid_mirror(const char *s)
{
	size_t n = strlen(s);
	const char *sep = strstr(s, "://");
	if (n > URL_MAX || !sep || sep == s || !sep[3])
		return false;
	for (const char *p = s; p < sep; p++)
		if (!((*p >= 'a' && *p <= 'z') ||
		      (p > s && ((*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.'))))
			return false;
	for (const char *p = sep; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return false;
	return true;
}

static int parse_image_name(const char *s, char *out)
{
	char why[200];
	if (js_parse_name(s, out, JS_NAME_MAX, why, sizeof why) < 0) {
		ctl_error("invalid image name \"%s\": %s", s, why);
		return -EINVAL;
	}
	return 0;
}

struct pkglist {
	size_t n;
	char name[PKG_MAX][PKG_NAME_MAX + 1];
};

static int pkg_add(struct pkglist *l, const char *name)
{
	if (!valid_package(name)) {
		ctl_error("invalid package name \"%s\": expected [a-z0-9][a-z0-9+.-]*, at most %d characters", name,
			  PKG_NAME_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->name[i], name))
			return 0;
	if (l->n == PKG_MAX) {
		ctl_error("too many packages (at most %d)", PKG_MAX);
		return -E2BIG;
	}
	memcpy(l->name[l->n++], name, strlen(name) + 1);
	return 0;
}

/* "a,b,c" as given to --include. */
static int pkg_add_list(struct pkglist *l, const char *list)
{
	const char *p = list;
	for (;;) {
		const char *e = strchrnul(p, ',');
		char one[PKG_NAME_MAX + 2];
		size_t len = (size_t)(e - p);
		if (len == 0) {
			ctl_error("--include \"%s\": empty package name", list);
			return -EINVAL;
		}
		if (len >= sizeof one)
			len = sizeof one - 1; /* rejected below as too long */
		memcpy(one, p, len);
		one[len] = '\0';
		int r = pkg_add(l, one);
		if (r < 0)
			return r;
		if (!*e)
			return 0;
		p = e + 1;
	}
}

static void pkg_join(const struct pkglist *l, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < l->n && o < len; i++) {
		int n = snprintf(buf + o, len - o, "%s%s", i ? "," : "", l->name[i]);
		if (n < 0)
			break;
		o += (size_t)n;
	}
}

/* The host's release, the default suite. */
static int host_codename(char *out, size_t len)
{
	static const char *const files[] = {"/etc/os-release", "/usr/lib/os-release"};
	char text[4096];
	for (size_t i = 0; i < JS_ARRAY_SIZE(files); i++) {
		_cleanup_close_ int fd = open(files[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0 || ctl_read_small(fd, text, sizeof text) < 0)
			continue;
		if (ctl_kv_lookup(text, "VERSION_CODENAME", out, len) == 0 && valid_suite(out))
			return 0;
	}
	return -ENOENT;
}

static void format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "BKMGTP";
	double v = (double)bytes;
	size_t u = 0;
	while (v >= 1024 && u + 1 < sizeof units - 1) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%lluB", (unsigned long long)bytes);
	else if (v < 10)
		snprintf(buf, len, "%.1f%c", v, units[u]);
	else
		snprintf(buf, len, "%.0f%c", v, units[u]);
}

static void now_utc(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- making an image: the part build and import share ------------------- */

struct creation {
	const char *name;
	bool replace;
	const char *tool; /* for messages */
	const char *what; /* "image \"x\"" or the archive, for messages */
	/* The command line, once the stage's paths are known. */
	int (*command)(const struct stage *st, void *ctx, const char *const **argv, const char *const **env);
	/* The text of images_dir/.NAME.info, given the finished image. */
	void (*metadata)(void *ctx, int rootfd, char *buf, size_t len);
	void *ctx;
};

#define INFO_MAX 32768

/* Stage, run the tool, check and fix the tree, rename it into place, write
 * its metadata. On any failure nothing is left; after a signal, this never
 * returns. */
static int create_image(struct store *s, const struct creation *cr, uint64_t *size)
{
	struct ctl_sigs sigs;
	struct stage st = {.made = false};
	struct js_err err = {0};
	_cleanup_free_ char *info = malloc(INFO_MAX);
	if (!info) {
		ctl_error("out of memory");
		return -ENOMEM;
	}
	int r = store_check_absent(s, cr->name, cr->replace);
	if (r < 0)
		return r;
	r = ctl_sigs_take(&sigs, &err);
	if (r < 0) {
		ctl_error("%s", err.msg);
		return r;
	}
	const char *const *argv = NULL, *const *env = NULL;
	r = stage_begin(&st, s, cr->name);
	if (r == 0)
		r = cr->command(&st, cr->ctx, &argv, &env);
	if (r == 0) {
		r = ctl_spawn_wait(argv, env, &sigs, &err);
		if (r > 0) {
			if (r == 127)
				ctl_error("cannot run \"%s\"", argv[0]);
			else
				ctl_error("%s failed (exit status %d); image \"%s\" not made (see the messages above)",
					  cr->tool, r, cr->name);
			r = -EIO;
		} else if (r < 0 && r != -EINTR) {
			ctl_error("%s", err.msg);
		}
	}
	if (r == 0)
		r = stage_finish_tree(&st, cr->what, size);
	/* The last point where an interruption undoes everything. */
	if (r == 0 && ctl_sigs_pending(&sigs))
		r = -EINTR;
	if (r == 0)
		r = stage_commit(&st, cr->replace);
	if (r < 0) {
		stage_abort(&st, &sigs);
	} else {
		/* Past the rename the image is done: a signal from now on
		 * changes nothing, and still blocked it cannot cut the
		 * metadata short. */
		_cleanup_close_ int rootfd = openat(s->fd, cr->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		cr->metadata(cr->ctx, rootfd, info, INFO_MAX);
		r = image_write_info(s, cr->name, info);
	}
	ctl_sigs_release(&sigs);
	return r;
}

/* ---- image build ---------------------------------------------------------- */

#define INCLUDE_MAX (PKG_MAX * (PKG_NAME_MAX + 1) + 16)

struct build {
	char name[JS_NAME_MAX];
	char suite[SUITE_MAX + 1];
	struct pkglist pkgs;
	const char *mirrors[MIRROR_MAX];
	size_t nmirrors;
	char include[INCLUDE_MAX];
	char include_opt[INCLUDE_MAX + 16];
	char tmpdir_env[PATH_MAX + 8];
	const char *argv[16 + MIRROR_MAX];
	const char *env[4];
};

static int build_command(const struct stage *st, void *ctx, const char *const **argv, const char *const **env)
{
	struct build *b = ctx;
	if (js_snprintf(b->tmpdir_env, sizeof b->tmpdir_env, "TMPDIR=%s", st->tmp_path) < 0) {
		ctl_error("\"%s\": path too long", st->tmp_path);
		return -ENAMETOOLONG;
	}
	pkg_join(&b->pkgs, b->include, sizeof b->include);
	snprintf(b->include_opt, sizeof b->include_opt, "--include=%s", b->include);
	/* A fixed argv, every value validated; no shell. mmdebstrap's own
	 * temporary files go to the work directory's tmp/, so they go with
	 * it. */
	size_t n = 0;
	b->argv[n++] = MMDEBSTRAP;
	b->argv[n++] = "--variant=minbase";
	b->argv[n++] = "--mode=root";
	b->argv[n++] = "--format=directory";
	b->argv[n++] = b->include_opt;
	b->argv[n++] = b->suite;
	b->argv[n++] = st->root_path;
	for (size_t i = 0; i < b->nmirrors; i++)
		b->argv[n++] = b->mirrors[i];
	b->argv[n] = NULL;
	b->env[0] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
	b->env[1] = "LANG=C.UTF-8";
	b->env[2] = b->tmpdir_env;
	b->env[3] = NULL;
	*argv = b->argv;
	*env = b->env;
	ctl_error("building image \"%s\" (%s, minbase, %zu packages) in \"%s\"", st->name, b->suite, b->pkgs.n,
		  st->root_path);
	return 0;
}

static void build_metadata(void *ctx, int rootfd, char *buf, size_t len)
{
	struct build *b = ctx;
	char when[32], mlist[MIRROR_MAX * (URL_MAX + 1) + 8] = "";
	now_utc(when, sizeof when);
	for (size_t i = 0; i < b->nmirrors; i++)
		snprintf(mlist + strlen(mlist), sizeof mlist - strlen(mlist), "%s%s", i ? "," : "", b->mirrors[i]);
	snprintf(buf, len,
		 "# jsandbox image metadata, written by jsandboxctl (not part of the image)\n"
		 "name=%s\nsource=mmdebstrap\nsuite=%s\nvariant=minbase\npackages=%s\nmirrors=%s\n"
		 "built=%s\njsandboxctl=%s\n",
		 b->name, b->suite, b->include, b->nmirrors ? mlist : "default", when, JSANDBOX_VERSION);
}

static int image_build(int argc, char **argv, const struct js_config *c)
{
	static const struct option opts[] = {
	    {"suite", required_argument, NULL, 's'},  {"include", required_argument, NULL, 'i'},
	    {"mirror", required_argument, NULL, 'm'}, {"replace", no_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},	      {NULL, 0, NULL, 0},
	};
	_cleanup_free_ struct build *b = calloc(1, sizeof *b);
	bool replace = false;
	if (!b) {
		ctl_error("out of memory");
		return CTL_EXIT_FAIL;
	}
	for (size_t i = 0; i < JS_ARRAY_SIZE(base_packages); i++)
		pkg_add(&b->pkgs, base_packages[i]);

	int o;
	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			if (!valid_suite(optarg))
				return ctl_usage_error("invalid suite \"%s\"", optarg);
			memcpy(b->suite, optarg, strlen(optarg) + 1);
			break;
		case 'i':
			if (pkg_add_list(&b->pkgs, optarg) < 0)
				return CTL_EXIT_USAGE;
			break;
		case 'm':
			if (!valid_mirror(optarg))
				return ctl_usage_error("invalid mirror \"%s\": expected a URL such as "
						       "http://deb.debian.org/debian",
						       optarg);
			if (b->nmirrors == MIRROR_MAX)
				return ctl_usage_error("at most %d --mirror options", MIRROR_MAX);
			b->mirrors[b->nmirrors++] = optarg;
			break;
		case 'r':
			replace = true;
			break;
		case 'h':
			return ctl_help();
		case ':':
			return ctl_usage_error("image build: option \"%s\" needs a value", argv[optind - 1]);
		default:
			return ctl_usage_error("image build: unknown option \"%s\"", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return ctl_usage_error("image build: expected one image NAME");
	if (parse_image_name(argv[optind], b->name) < 0)
		return CTL_EXIT_USAGE;
	const char *name = b->name;
	if (!b->suite[0] && host_codename(b->suite, sizeof b->suite) < 0) {
		ctl_error("cannot tell the host's release from \"/etc/os-release\" (no VERSION_CODENAME); give "
			  "--suite");
		return CTL_EXIT_FAIL;
	}

	struct store s = {.fd = -1};
	if (store_open(&s, js_config_global(c), true) < 0)
		return CTL_EXIT_FAIL;
	char what[JS_NAME_MAX + 16];
	snprintf(what, sizeof what, "image \"%s\"", name);
	struct creation cr = {
	    .name = name,
	    .replace = replace,
	    .tool = "mmdebstrap",
	    .what = what,
	    .command = build_command,
	    .metadata = build_metadata,
	    .ctx = b,
	};
	uint64_t size = 0;
	int status = CTL_EXIT_FAIL;
	if (create_image(&s, &cr, &size) == 0) {
		char hsize[16];
		format_size(size, hsize, sizeof hsize);
		printf("built image \"%s\" in \"%s/%s\" (%s, %s)\n", name, s.dir, name, b->suite, hsize);
		status = CTL_EXIT_OK;
	}
	ctl_log(status ? LOG_ERR : LOG_NOTICE, "image-build", "image=%s suite=%s replace=%s result=%s", name, b->suite,
		replace ? "yes" : "no", status ? "failed" : "ok");
	store_close(&s);
	return status;
}

/* ---- image import --------------------------------------------------------- */

struct import {
	char name[JS_NAME_MAX];
	char suite[64];
	char archive[PATH_MAX];
	char file_opt[PATH_MAX + 8];
	char dir_opt[PATH_MAX + 16];
	const char *argv[16];
};

static const char *const import_env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", NULL};

static int import_command(const struct stage *st, void *ctx, const char *const **argv, const char *const **env)
{
	struct import *im = ctx;
	if (js_snprintf(im->file_opt, sizeof im->file_opt, "--file=%s", im->archive) < 0 ||
	    js_snprintf(im->dir_opt, sizeof im->dir_opt, "--directory=%s", st->root_path) < 0) {
		ctl_error("\"%s\": path too long", im->archive);
		return -ENAMETOOLONG;
	}
	/* GNU tar finds the compression itself. --force-local: a ':' in the
	 * name must not make it a remote archive. Overlay xattrs stay out:
	 * in a lower layer they would steer the users' overlays. */
	const char *args[] = {
	    TAR,
	    "--extract",
	    im->file_opt,
	    "--force-local",
	    im->dir_opt,
	    "--preserve-permissions",
	    "--same-owner",
	    "--numeric-owner",
	    "--xattrs",
	    "--xattrs-include=*",
	    "--xattrs-exclude=trusted.overlay.*",
	    "--xattrs-exclude=user.overlay.*",
	    NULL,
	};
	_Static_assert(sizeof args / sizeof args[0] <= sizeof im->argv / sizeof im->argv[0], "argv too small");
	memcpy(im->argv, args, sizeof args);
	*argv = im->argv;
	*env = import_env;
	ctl_error("importing \"%s\" as image \"%s\"", im->archive, st->name);
	return 0;
}

static void import_metadata(void *ctx, int rootfd, char *buf, size_t len)
{
	struct import *im = ctx;
	char when[32], archive[PATH_MAX];
	js_strlcpy(im->suite, "?", sizeof im->suite);
	if (rootfd >= 0)
		image_suite(rootfd, im->suite, sizeof im->suite);
	js_strlcpy(archive, im->archive, sizeof archive);
	ctl_sanitize(archive);
	now_utc(when, sizeof when);
	snprintf(buf, len,
		 "# jsandbox image metadata, written by jsandboxctl (not part of the image)\n"
		 "name=%s\nsource=import\narchive=%s\nsuite=%s\nbuilt=%s\njsandboxctl=%s\n",
		 im->name, archive, im->suite, when, JSANDBOX_VERSION);
}

static int image_import(int argc, char **argv, const struct js_config *c)
{
	static const struct option opts[] = {
	    {"replace", no_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool replace = false;
	int o;
	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (o) {
		case 'r':
			replace = true;
			break;
		case 'h':
			return ctl_help();
		default:
			return ctl_usage_error("image import: unknown option \"%s\"", argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		return ctl_usage_error("image import: expected NAME and ROOTFS.tar");
	char name[JS_NAME_MAX];
	if (parse_image_name(argv[optind], name) < 0)
		return CTL_EXIT_USAGE;
	const char *archive = argv[optind + 1];

	/* The archive is the admin's; say early and plainly what is wrong. */
	struct import im = {0};
	js_strlcpy(im.name, name, sizeof im.name);
	struct stat ast;
	if (stat(archive, &ast) < 0) {
		ctl_errorm(errno, "cannot use \"%s\"", archive);
		return CTL_EXIT_FAIL;
	}
	if (!S_ISREG(ast.st_mode)) {
		ctl_error("\"%s\" is not a regular file", archive);
		return CTL_EXIT_FAIL;
	}
	if (!realpath(archive, im.archive)) {
		ctl_errorm(errno, "cannot resolve \"%s\"", archive);
		return CTL_EXIT_FAIL;
	}

	struct store s = {.fd = -1};
	if (store_open(&s, js_config_global(c), true) < 0)
		return CTL_EXIT_FAIL;
	char what[PATH_MAX + 8];
	snprintf(what, sizeof what, "\"%s\"", im.archive);
	struct creation cr = {
	    .name = name,
	    .replace = replace,
	    .tool = "tar",
	    .what = what,
	    .command = import_command,
	    .metadata = import_metadata,
	    .ctx = &im,
	};
	uint64_t size = 0;
	int status = CTL_EXIT_FAIL;
	if (create_image(&s, &cr, &size) == 0) {
		char hsize[16];
		format_size(size, hsize, sizeof hsize);
		printf("imported image \"%s\" in \"%s/%s\" (%s, %s)\n", name, s.dir, name, im.suite, hsize);
		status = CTL_EXIT_OK;
	}
	ctl_log(status ? LOG_ERR : LOG_NOTICE, "image-import", "image=%s replace=%s result=%s", name,
		cr.replace ? "yes" : "no", status ? "failed" : "ok");
	store_close(&s);
	return status;
}

/* ---- image list ----------------------------------------------------------- */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int image_list(int argc, char **argv, const struct js_config *c)
{
	/* --names: the names alone, one a line, without walking the trees
	 * (for scripts and the bash completion). */
	bool names_only = false;
	for (int a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "-h") || !strcmp(argv[a], "--help"))
			return ctl_help();
		if (!strcmp(argv[a], "--names"))
			names_only = true;
		else
			return ctl_usage_error("image list: unknown argument \"%s\" (image list [--names])", argv[a]);
	}
	const struct js_global *g = js_config_global(c);
	struct js_err err = {0};
	_cleanup_close_ int fd = ctl_images_open(g, false, &err);
	if (fd == -ENOENT) {
		if (!names_only)
			ctl_error("no images: \"%s\" does not exist (" CTL_PROG " image build NAME)", g->images_dir);
		return CTL_EXIT_OK;
	}
	if (fd < 0) {
		ctl_error_js(&err, "images_dir \"%s\"", g->images_dir);
		return CTL_EXIT_FAIL;
	}
	int dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	_cleanup_closedir_ DIR *d = dupfd >= 0 ? fdopendir(dupfd) : NULL;
	if (!d) {
		ctl_errorm(errno, "cannot read \"%s\"", g->images_dir);
		if (dupfd >= 0)
			close(dupfd);
		return CTL_EXIT_FAIL;
	}
	rewinddir(d);
	size_t n = 0, cap = 0;
	_cleanup_free_ char **names = NULL;
	struct dirent *de;
	while ((de = readdir(d))) {
		char name[JS_NAME_MAX], why[200];
		struct stat st;
		/* Dot entries are ours (work directories, metadata) or not
		 * images at all. */
		if (de->d_name[0] == '.' || js_parse_name(de->d_name, name, sizeof name, why, sizeof why) < 0)
			continue;
		if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			char **bigger = realloc(names, cap * sizeof *names);
			if (!bigger)
				break;
			names = bigger;
		}
		names[n] = strdup(name);
		if (names[n])
			n++;
	}
	if (n == 0) {
		if (!names_only)
			ctl_error("no images in \"%s\" (" CTL_PROG " image build NAME)", g->images_dir);
		return CTL_EXIT_OK;
	}
	qsort(names, n, sizeof *names, cmp_names);
	if (names_only) {
		for (size_t i = 0; i < n; i++) {
			printf("%s\n", names[i]);
			free(names[i]);
		}
		return CTL_EXIT_OK;
	}
	int status = CTL_EXIT_OK;
	printf("%-20s %-12s %8s  %s\n", "NAME", "SUITE", "SIZE", "BUILT");
	for (size_t i = 0; i < n; i++) {
		char suite[64] = "?", hsize[16] = "?", built[40] = "-", info[8192];
		_cleanup_close_ int rootfd = openat(fd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (rootfd < 0) {
			ctl_errorm(errno, "cannot open \"%s/%s\"", g->images_dir, names[i]);
			status = CTL_EXIT_FAIL;
		} else {
			uint64_t bytes;
			image_suite(rootfd, suite, sizeof suite);
			if (ctl_tree_usage(rootfd, &bytes, &err) == 0)
				format_size(bytes, hsize, sizeof hsize);
		}
		if (image_read_info(fd, names[i], info, sizeof info) == 0 &&
		    ctl_kv_lookup(info, "built", built, sizeof built) == 0) {
			/* 2025-07-02T19:05:33Z -> 2025-07-02 19:05 UTC */
			if (strlen(built) == 20 && built[10] == 'T') {
				built[10] = ' ';
				memcpy(built + 16, " UTC", 5);
			}
		}
		printf("%-20s %-12s %8s  %s\n", names[i], suite, hsize, built);
		free(names[i]);
	}
	return status;
}

/* ---- image remove ----------------------------------------------------------- */

static int image_remove(int argc, char **argv, const struct js_config *c)
{
	int r = ctl_parse_no_options(argc, argv);
	if (r >= 0)
		return r;
	if (argc - optind != 1)
		return ctl_usage_error("image remove: expected one image NAME");
	char name[JS_NAME_MAX];
	if (parse_image_name(argv[optind], name) < 0)
		return CTL_EXIT_USAGE;

	const struct js_global *g = js_config_global(c);
	struct store s = {.fd = -1};
	if (store_open(&s, g, false) < 0)
		return CTL_EXIT_FAIL;
	int status = CTL_EXIT_FAIL;
	struct stat st;
	char users[256], aside[NAME_MAX + 1], info[NAME_MAX + 1];
	struct js_err err = {0};
	if (fstatat(s.fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			ctl_error("no image \"%s\" in \"%s\"", name, s.dir);
		else
			ctl_errorm(errno, "cannot stat \"%s/%s\"", s.dir, name);
		goto out;
	}
	int n = image_users(g, name, users, sizeof users);
	if (n > 0) {
		ctl_error("image \"%s\" is in use by the running containers of %s; stop them first (" CTL_PROG
			  " stop USER)",
			  name, users);
		goto out;
	}
	if (n < 0) {
		ctl_error("cannot tell whether image \"%s\" is in use (run_dir \"%s\": %s)", name, g->run_dir,
			  strerror(-n));
		goto out;
	}
	/* First out of the way, so that the name is gone at once and a login
	 * never meets a half-removed tree; then the slow part. */
	r = store_set_aside(&s, name, name, aside, sizeof aside);
	if (r < 0) {
		ctl_errorm(-r, "cannot remove \"%s/%s\"", s.dir, name);
		goto out;
	}
	if (js_snprintf(info, sizeof info, ".%s.info", name) == 0 && unlinkat(s.fd, info, 0) < 0 && errno != ENOENT)
		ctl_errorm(errno, "cannot remove \"%s/%s\"", s.dir, info);
	if (js_remove_tree_at(s.fd, aside, &err) < 0) {
		ctl_error_js(&err, "image \"%s\" is gone, but removing its files in \"%s/%s\" failed", name, s.dir,
			     aside);
		goto out;
	}
	printf("removed image \"%s\" from \"%s\"\n", name, s.dir);
	status = CTL_EXIT_OK;
out:
	ctl_log(status ? LOG_ERR : LOG_NOTICE, "image-remove", "image=%s result=%s", name, status ? "failed" : "ok");
	store_close(&s);
	return status;
}

/* ---- jsandboxctl image VERB ------------------------------------------------- */

int cmd_image(int argc, char **argv, const struct js_config *c)
{
	static const struct {
		const char *name;
		ctl_cmd_fn *fn;
	} verbs[] = {
	    {"build", image_build},
	    {"import", image_import},
	    {"list", image_list},
	    {"remove", image_remove},
	};
	if (argc < 2)
		return ctl_usage_error("image: expected build, import, list or remove");
	for (size_t i = 0; i < JS_ARRAY_SIZE(verbs); i++)
		if (!strcmp(argv[1], verbs[i].name))
			return verbs[i].fn(argc - 1, argv + 1, c);
	return ctl_usage_error("image: unknown command \"%s\"", argv[1]);
}
