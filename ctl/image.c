/* SPDX-License-Identifier: MIT */
/* jsandboxctl image build|import|list|remove|update.
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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "layer.h"
#include "safefs.h"
#include "spawn.h"
#include "tree.h"

#define MMDEBSTRAP "/usr/bin/mmdebstrap"
#define TAR	   "/usr/bin/tar"
#define CP	   "/usr/bin/cp"
#define APT_GET	   "/usr/bin/apt-get" /* inside the image */

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

/* ---- making an image: the part build, import and update share ----------- */

struct creation {
	const char *name;
	bool replace;
	const char *tool;    /* for messages */
	const char *what;    /* "image \"x\"" or the archive, for messages */
	const char *outcome; /* what a failure means: "not made", "not updated" */
	/* The command line, once the stage's paths are known... */
	int (*command)(const struct stage *st, void *ctx, const char *const **argv, const char *const **env);
	/* ... or (instead of command) the steps that fill the stage, run by
	 * the callback itself through run_tool (image update). */
	int (*run)(struct stage *st, void *ctx, struct ctl_sigs *sigs);
	/* Optional, once the tree is finished: 0 to put it in place, 1 when
	 * it changes nothing (then it is discarded and create_image returns
	 * 1), or -errno (printed). */
	int (*compare)(struct stage *st, void *ctx);
	/* The text of images_dir/.NAME.info below its first lines (a comment
	 * and id=, which create_image writes), given the finished image. */
	void (*metadata)(void *ctx, int rootfd, char *buf, size_t len);
	void *ctx;
	char id[IMAGE_ID_HEX + 1]; /* out: the new image's id */
};

#define INFO_MAX 32768

/* Run one helper program (in a chroot of root when root is set) and say
 * what its failure means. 0, -EINTR after a signal, or another -errno. */
static int run_tool(const char *const *argv, const char *const *env, const char *root, struct ctl_sigs *sigs,
		    const char *tool, const char *name, const char *outcome)
{
	struct js_err err = {0};
	int r = root ? ctl_spawn_chroot_wait(root, argv, env, sigs, &err) : ctl_spawn_wait(argv, env, sigs, &err);
	if (r > 0) {
		if (r == 127)
			ctl_error("cannot run \"%s\"%s", argv[0], root ? " in the image" : "");
		else
			ctl_error("%s failed (exit status %d); image \"%s\" %s (see the messages above)", tool, r, name,
				  outcome);
		return -EIO;
	}
	if (r < 0 && r != -EINTR)
		ctl_error("%s", err.msg);
	return r;
}

/* Stage, run the tool, check and fix the tree, rename it into place, write
 * its metadata with a fresh id. On any failure nothing is left; after a
 * signal, this never returns. 1: compare found nothing new (nothing
 * changed). */
static int create_image(struct store *s, struct creation *cr, uint64_t *size)
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
	r = image_new_id(cr->id, sizeof cr->id);
	if (r < 0) {
		ctl_errorm(-r, "cannot make an image id");
		return r;
	}
	r = ctl_sigs_take(&sigs, &err);
	if (r < 0) {
		ctl_error("%s", err.msg);
		return r;
	}
	const char *const *argv = NULL, *const *env = NULL;
	r = stage_begin(&st, s, cr->name);
	if (r == 0 && cr->run) {
		r = cr->run(&st, cr->ctx, &sigs);
	} else if (r == 0) {
		r = cr->command(&st, cr->ctx, &argv, &env);
		if (r == 0)
			r = run_tool(argv, env, NULL, &sigs, cr->tool, cr->name, cr->outcome);
	}
	if (r == 0)
		r = stage_finish_tree(&st, cr->what, size);
	if (r == 0 && cr->compare)
		r = cr->compare(&st, cr->ctx);
	/* The last point where an interruption undoes everything. */
	if (r >= 0 && ctl_sigs_pending(&sigs))
		r = -EINTR;
	if (r == 0)
		r = stage_commit(&st, cr->replace);
	if (r != 0) {
		stage_abort(&st, &sigs);
	} else {
		/* Past the rename the image is done: a signal from now on
		 * changes nothing, and still blocked it cannot cut the
		 * metadata short. The id comes first: readers of the id
		 * (lib/layer.c) read the head of the file only. */
		_cleanup_close_ int rootfd = openat(s->fd, cr->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int n = snprintf(info, INFO_MAX,
				 "# jsandbox image metadata, written by jsandboxctl (not part of the image)\nid=%s\n",
				 cr->id);
		cr->metadata(cr->ctx, rootfd, info + n, INFO_MAX - (size_t)n);
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
	char mirror_store[MIRROR_MAX][URL_MAX + 1]; /* --rebuild: the recorded mirrors */
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
	    .outcome = "not made",
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
	ctl_log(status ? LOG_ERR : LOG_NOTICE, "image-build", "image=%s suite=%s replace=%s id=%s result=%s", name,
		b->suite, replace ? "yes" : "no", status ? "-" : cr.id, status ? "failed" : "ok");
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
	snprintf(buf, len, "name=%s\nsource=import\narchive=%s\nsuite=%s\nbuilt=%s\njsandboxctl=%s\n", im->name,
		 archive, im->suite, when, JSANDBOX_VERSION);
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
	    .outcome = "not made",
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
	ctl_log(status ? LOG_ERR : LOG_NOTICE, "image-import", "image=%s replace=%s id=%s result=%s", name,
		cr.replace ? "yes" : "no", status ? "-" : cr.id, status ? "failed" : "ok");
	store_close(&s);
	return status;
}

/* ---- image update ------------------------------------------------------------ */

/* Installed packages of a tree, from its dpkg status: "name:arch" and the
 * version, pointers into the status text. */
struct pkgver {
	const char *name, *arch, *ver;
};

struct dpkg_db {
	char *text;
	struct pkgver *v;
	size_t n;
};

static void dpkg_db_free(struct dpkg_db *d)
{
	free(d->text);
	free(d->v);
	*d = (struct dpkg_db){0};
}

#define DPKG_STATUS_MAX (256u << 20)

static int cmp_pkgver(const void *a, const void *b)
{
	const struct pkgver *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->arch, y->arch);
}

/* Read and parse var/lib/dpkg/status of the tree at rootfd: the packages
 * in state "installed". A tree without one has no packages (an imported
 * image need not be Debian). 0, or -errno (printed). */
static int dpkg_db_read(int rootfd, const char *what, struct dpkg_db *d)
{
	*d = (struct dpkg_db){0};
	_cleanup_close_ int fd = image_open_in_root(rootfd, "var/lib/dpkg/status", O_RDONLY | O_NONBLOCK | O_NOCTTY);
	if (fd == -ENOENT)
		return 0;
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > DPKG_STATUS_MAX) {
		ctl_error("cannot read the dpkg status of %s (var/lib/dpkg/status)", what);
		return fd < 0 ? fd : -EINVAL;
	}
	d->text = malloc((size_t)st.st_size + 1);
	if (!d->text) {
		ctl_error("out of memory");
		return -ENOMEM;
	}
	ssize_t len = js_read_all(fd, d->text, (size_t)st.st_size);
	if (len < 0) {
		ctl_errorm((int)-len, "cannot read the dpkg status of %s", what);
		dpkg_db_free(d);
		return (int)len;
	}
	d->text[len] = '\0';
	size_t cap = 0;
	struct pkgver cur = {0};
	bool installed = false;
	for (char *line = d->text;;) {
		char *eol = strchrnul(line, '\n');
		bool end = !*eol, blank = eol == line;
		*eol = '\0';
		if (!strncmp(line, "Package: ", 9))
			cur.name = line + 9;
		else if (!strncmp(line, "Architecture: ", 14))
			cur.arch = line + 14;
		else if (!strncmp(line, "Version: ", 9))
			cur.ver = line + 9;
		else if (!strncmp(line, "Status: ", 8)) {
			size_t l = strlen(line);
			installed = l > 18 && !strcmp(line + l - 10, " installed");
		}
		if (blank || end) {
			if (cur.name && cur.ver && installed) {
				if (d->n == cap) {
					cap = cap ? cap * 2 : 512;
					struct pkgver *bigger = realloc(d->v, cap * sizeof *bigger);
					if (!bigger) {
						ctl_error("out of memory");
						dpkg_db_free(d);
						return -ENOMEM;
					}
					d->v = bigger;
				}
				if (!cur.arch)
					cur.arch = "";
				d->v[d->n++] = cur;
			}
			cur = (struct pkgver){0};
			installed = false;
		}
		if (end)
			break;
		line = eol + 1;
	}
	if (d->n)
		qsort(d->v, d->n, sizeof *d->v, cmp_pkgver);
	return 0;
}

/* A growing text: the list of changed packages. */
struct textbuf {
	char *s;
	size_t len, cap;
};

static void textbuf_add(struct textbuf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void textbuf_add(struct textbuf *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (t->len + (size_t)n + 1 > t->cap) {
		size_t cap = (t->cap ? t->cap * 2 : 4096) + (size_t)n;
		char *bigger = realloc(t->s, cap);
		if (!bigger)
			return;
		t->s = bigger;
		t->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

/* The packages whose version differs between old and new, one
 * "pkg old -> new" line each ("(none)" for one added or removed); the
 * architecture is named when it is neither "all" nor dpkg's own. Returns
 * how many. */
static size_t dpkg_db_diff(const struct dpkg_db *old, const struct dpkg_db *new, struct textbuf *out)
{
	const char *native = "";
	for (size_t i = 0; i < new->n; i++)
		if (!strcmp(new->v[i].name, "dpkg"))
			native = new->v[i].arch;
	size_t i = 0, j = 0, count = 0;
	while (i < old->n || j < new->n) {
		const struct pkgver *a = i < old->n ? &old->v[i] : NULL, *b = j < new->n ? &new->v[j] : NULL;
		int c = !a ? 1 : !b ? -1 : cmp_pkgver(a, b);
		const struct pkgver *p = c <= 0 ? a : b;
		const char *from = c <= 0 ? a->ver : "(none)", *to = c >= 0 ? b->ver : "(none)";
		if (c < 0)
			i++;
		else if (c > 0)
			j++;
		else {
			i++;
			j++;
		}
		if (!strcmp(from, to))
			continue;
		bool show_arch = p->arch[0] && strcmp(p->arch, "all") && strcmp(p->arch, native);
		textbuf_add(out, "%s%s%s %s -> %s\n", p->name, show_arch ? ":" : "", show_arch ? p->arch : "", from,
			    to);
		count++;
	}
	return count;
}

struct update {
	char name[JS_NAME_MAX];
	char what[JS_NAME_MAX + 16];
	char src_path[PATH_MAX]; /* images_dir/NAME: the current tree */
	int curfd;		 /* the current tree */
	const char *oldinfo;	 /* its metadata, NULL when it has none */
	struct build *b;	 /* --rebuild: the recipe */
	struct textbuf changes;
	size_t nchanged;
};

static const char *const update_env[] = {
    "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "HOME=/root", "DEBIAN_FRONTEND=noninteractive",
    "DEBCONF_NONINTERACTIVE_SEEN=true",	  NULL,
};

/* A file the update puts into the copy for the time apt runs there (when
 * the image has none) and takes out again: it must not be in the result. */
struct scaffold {
	const char *dir, *name, *content;
	mode_t mode;
	int dirfd;
	dev_t dev;
	ino_t ino;
};

/* Close and forget (js_closep leaves the number behind). */
static void close_fd(int *fd)
{
	js_closep(fd);
	*fd = -1;
}

static int scaffold_put(int rootfd, struct scaffold *f, const char *root_path)
{
	struct stat st;
	f->dirfd = image_open_in_root(rootfd, f->dir, O_RDONLY | O_DIRECTORY);
	if (f->dirfd < 0) {
		ctl_errorm(-f->dirfd, "cannot open \"%s/%s\"", root_path, f->dir);
		return f->dirfd;
	}
	if (fstatat(f->dirfd, f->name, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT) {
		/* The image's own one stays (for resolv.conf: the host's is
		 * bound onto it if it is a regular file). */
		close_fd(&f->dirfd);
		return 0;
	}
	_cleanup_close_ int fd =
	    openat(f->dirfd, f->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, f->mode & 0777);
	if (fd < 0 || js_write_all(fd, f->content, strlen(f->content)) < 0 || fchmod(fd, f->mode) < 0 ||
	    fstat(fd, &st) < 0) {
		ctl_errorm(errno, "cannot write \"%s/%s/%s\"", root_path, f->dir, f->name);
		close_fd(&f->dirfd);
		return -EIO;
	}
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	return 0;
}

/* Remove it again if it is still the one put there. */
static int scaffold_take(struct scaffold *f, const char *root_path)
{
	struct stat st;
	if (f->dirfd < 0)
		return 0;
	int r = 0;
	if (fstatat(f->dirfd, f->name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == f->dev && st.st_ino == f->ino &&
	    unlinkat(f->dirfd, f->name, 0) < 0) {
		ctl_errorm(errno, "cannot remove \"%s/%s/%s\"", root_path, f->dir, f->name);
		r = -EIO;
	}
	close_fd(&f->dirfd);
	return r;
}

/* apt's package indexes are not part of an image (mmdebstrap removes them
 * too): users fetch their own with apt update. */
static void drop_apt_lists(int rootfd)
{
	static const char *const dirs[] = {"var/lib/apt/lists", "var/lib/apt/lists/partial"};
	for (size_t k = 0; k < JS_ARRAY_SIZE(dirs); k++) {
		int fd = image_open_in_root(rootfd, dirs[k], O_RDONLY | O_DIRECTORY);
		if (fd < 0)
			continue;
		_cleanup_closedir_ DIR *d = fdopendir(fd);
		if (!d) {
			close(fd);
			continue;
		}
		struct dirent *de;
		while ((de = readdir(d))) {
			struct stat st;
			if (strcmp(de->d_name, "lock") && fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISREG(st.st_mode))
				unlinkat(fd, de->d_name, 0);
		}
	}
}

/* Copy the current tree into the stage, then, chrooted into the copy,
 * apt-get update, full-upgrade and clean with the image's own sources. */
static int update_run(struct stage *st, void *ctx, struct ctl_sigs *sigs)
{
	struct update *u = ctx;
	/* cp -a keeps owners, modes, timestamps, hard links and extended
	 * attributes; --reflink=auto shares the blocks where the file system
	 * can. -T: the contents of the tree into the stage's root/. */
	const char *cp[] = {CP,	 "-a", "--reflink=auto", "--one-file-system", "-T", "--", u->src_path, st->root_path,
			    NULL};
	ctl_error("updating image \"%s\": copying it to \"%s\"", u->name, st->root_path);
	int r = run_tool(cp, update_env, NULL, sigs, "cp", u->name, "not updated");
	if (r < 0)
		return r;
	_cleanup_close_ int rootfd =
	    openat(st->store->fd, st->root_rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rootfd < 0) {
		ctl_errorm(errno, "cannot open \"%s\"", st->root_path);
		return -errno;
	}
	/* Name resolution for apt (the host's resolv.conf is bound onto this
	 * one), and no service started by a maintainer script (policy-rc.d:
	 * 101, action forbidden). */
	struct scaffold sc[] = {
	    {.dir = "etc", .name = "resolv.conf", .content = "", .mode = 0644, .dirfd = -1},
	    {.dir = "usr/sbin", .name = "policy-rc.d", .content = "#!/bin/sh\nexit 101\n", .mode = 0755, .dirfd = -1},
	};
	for (size_t i = 0; i < JS_ARRAY_SIZE(sc) && r == 0; i++)
		r = scaffold_put(rootfd, &sc[i], st->root_path);
	const char *update[] = {APT_GET, "-q", "-o", "APT::Update::Error-Mode=any", "update", NULL};
	const char *upgrade[] = {APT_GET,	    "-q",	    "-y", "-o", "Dpkg::Options::=--force-confold", "-o",
				 "Dpkg::Use-Pty=0", "full-upgrade", NULL};
	const char *clean[] = {APT_GET, "-q", "clean", NULL};
	const char *const *steps[] = {update, upgrade, clean};
	static const char *const names[] = {"apt-get update", "apt-get full-upgrade", "apt-get clean"};
	for (size_t i = 0; i < JS_ARRAY_SIZE(steps) && r == 0; i++) {
		ctl_error("updating image \"%s\": %s", u->name, names[i]);
		r = run_tool(steps[i], update_env, st->root_path, sigs, names[i], u->name, "not updated");
		if (r == 0 && ctl_sigs_pending(sigs))
			r = -EINTR;
	}
	for (size_t i = 0; i < JS_ARRAY_SIZE(sc); i++) {
		int t = scaffold_take(&sc[i], st->root_path);
		if (r == 0)
			r = t;
	}
	if (r == 0)
		drop_apt_lists(rootfd);
	return r;
}

/* Did the new tree change any package? 1 when not. */
static int update_compare(struct stage *st, void *ctx)
{
	struct update *u = ctx;
	_cleanup_close_ int rootfd =
	    openat(st->store->fd, st->root_rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rootfd < 0) {
		ctl_errorm(errno, "cannot open \"%s\"", st->root_path);
		return -errno;
	}
	struct dpkg_db old, new;
	int r = dpkg_db_read(u->curfd, "the current image", &old);
	if (r < 0)
		return r;
	r = dpkg_db_read(rootfd, "the updated image", &new);
	if (r < 0) {
		dpkg_db_free(&old);
		return r;
	}
	u->nchanged = dpkg_db_diff(&old, &new, &u->changes);
	dpkg_db_free(&old);
	dpkg_db_free(&new);
	return u->nchanged ? 0 : 1;
}

/* The metadata of an apt-updated image: the old one (its recipe, source,
 * build date) with the update's date; the id is new (create_image). */
static void update_metadata(void *ctx, int rootfd, char *buf, size_t len)
{
	struct update *u = ctx;
	char when[32], suite[64] = "?";
	size_t o = 0;
	buf[0] = '\0';
	now_utc(when, sizeof when);
	if (u->oldinfo) {
		for (const char *line = u->oldinfo; *line;) {
			const char *eol = strchrnul(line, '\n');
			size_t l = (size_t)(eol - line);
			if (l && line[0] != '#' && strncmp(line, "id=", 3) && strncmp(line, "updated=", 8) &&
			    o + l + 2 < len) {
				memcpy(buf + o, line, l);
				o += l;
				buf[o++] = '\n';
				buf[o] = '\0';
			}
			line = *eol ? eol + 1 : eol;
		}
	} else {
		if (rootfd >= 0)
			image_suite(rootfd, suite, sizeof suite);
		o += (size_t)snprintf(buf, len, "name=%s\nsource=unknown\nsuite=%s\n", u->name, suite);
	}
	if (o < len)
		snprintf(buf + o, len - o, "updated=%s\njsandboxctl-update=%s\n", when, JSANDBOX_VERSION);
}

/* The recipe of a built image from its metadata, for --rebuild. */
static int recipe_load(const char *info, const char *name, struct build *b)
{
	char source[32] = "", packages[INCLUDE_MAX], mirrors[MIRROR_MAX * (URL_MAX + 1) + 8];
	if (!info || ctl_kv_lookup(info, "source", source, sizeof source) < 0 || strcmp(source, "mmdebstrap")) {
		ctl_error("image \"%s\" has no recipe to rebuild from (%s); update it with apt (" CTL_PROG
			  " image update %s) or make it again",
			  name,
			  !info	      ? "it has no metadata"
			  : source[0] ? (strcmp(source, "import") ? "it was not built by " CTL_PROG " image build"
								  : "it was imported")
				      : "its metadata names no source",
			  name);
		return -ENOENT;
	}
	js_strlcpy(b->name, name, sizeof b->name);
	if (ctl_kv_lookup(info, "suite", b->suite, sizeof b->suite) < 0 || !valid_suite(b->suite) ||
	    ctl_kv_lookup(info, "packages", packages, sizeof packages) < 0 ||
	    ctl_kv_lookup(info, "mirrors", mirrors, sizeof mirrors) < 0) {
		ctl_error("the recipe of image \"%s\" is incomplete or invalid (suite=, packages=, mirrors= of its "
			  "metadata)",
			  name);
		return -EINVAL;
	}
	/* The base packages as for any build, even if the recipe was edited
	 * to leave them out. */
	for (size_t i = 0; i < JS_ARRAY_SIZE(base_packages); i++)
		pkg_add(&b->pkgs, base_packages[i]);
	if (packages[0] && pkg_add_list(&b->pkgs, packages) < 0)
		return -EINVAL;
	if (strcmp(mirrors, "default")) {
		for (char *p = mirrors, *save = NULL, *m; (m = strtok_r(p, ",", &save)); p = NULL) {
			if (b->nmirrors == MIRROR_MAX || !valid_mirror(m)) {
				ctl_error("the recipe of image \"%s\" has an invalid mirror \"%s\"", name, m);
				return -EINVAL;
			}
			js_strlcpy(b->mirror_store[b->nmirrors], m, sizeof b->mirror_store[0]);
			b->mirrors[b->nmirrors] = b->mirror_store[b->nmirrors];
			b->nmirrors++;
		}
	}
	return 0;
}

/* --rebuild: image build's command and metadata, from the recipe. */
static int rebuild_command(const struct stage *st, void *ctx, const char *const **argv, const char *const **env)
{
	return build_command(st, ((struct update *)ctx)->b, argv, env);
}

static void rebuild_metadata(void *ctx, int rootfd, char *buf, size_t len)
{
	build_metadata(((struct update *)ctx)->b, rootfd, buf, len);
}

static int image_update(int argc, char **argv, const struct js_config *c)
{
	static const struct option opts[] = {
	    {"rebuild", no_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool rebuild = false;
	int o;
	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (o) {
		case 'r':
			rebuild = true;
			break;
		case 'h':
			return ctl_help();
		default:
			return ctl_usage_error("image update: unknown option \"%s\"", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return ctl_usage_error("image update: expected one image NAME");
	_cleanup_free_ struct update *u = calloc(1, sizeof *u);
	_cleanup_free_ struct build *b = rebuild ? calloc(1, sizeof *b) : NULL;
	_cleanup_free_ char *oldinfo = malloc(INFO_MAX);
	if (!u || !oldinfo || (rebuild && !b)) {
		ctl_error("out of memory");
		return CTL_EXIT_FAIL;
	}
	u->curfd = -1;
	if (parse_image_name(argv[optind], u->name) < 0)
		return CTL_EXIT_USAGE;
	const char *name = u->name;
	snprintf(u->what, sizeof u->what, "image \"%s\"", name);

	struct store s = {.fd = -1};
	if (store_open(&s, js_config_global(c), false) < 0)
		return CTL_EXIT_FAIL;
	int status = CTL_EXIT_FAIL, r;
	struct js_err err = {0};
	char oldid[JS_IMAGE_ID_MAX] = "-", q[64];
	struct creation cr = {
	    .name = name,
	    .replace = true,
	    .what = u->what,
	    .outcome = "not updated",
	    .compare = update_compare,
	    .ctx = u,
	};
	r = ctl_image_usable(s.fd, name, &err);
	if (r < 0) {
		ctl_error("%s in \"%s\"", err.msg, s.dir);
		goto out;
	}
	if (js_snprintf(u->src_path, sizeof u->src_path, "%s/%s", s.dir, name) < 0) {
		ctl_error("\"%s\": path too long", s.dir);
		goto out;
	}
	u->curfd = openat(s.fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (u->curfd < 0) {
		ctl_errorm(errno, "cannot open \"%s\"", u->src_path);
		goto out;
	}
	if (image_read_info(s.fd, name, oldinfo, INFO_MAX) == 0)
		u->oldinfo = oldinfo;
	(void)js_image_id(s.fd, name, oldid, sizeof oldid);
	if (rebuild) {
		if (recipe_load(u->oldinfo, name, b) < 0)
			goto out;
		u->b = b;
		cr.tool = "mmdebstrap";
		cr.command = rebuild_command;
		cr.metadata = rebuild_metadata;
	} else {
		cr.tool = "apt-get";
		cr.run = update_run;
		cr.metadata = update_metadata;
	}
	uint64_t size = 0;
	r = create_image(&s, &cr, &size);
	if (r == 1) {
		printf("image \"%s\" is up to date (no package changed; id %s)\n", name, oldid);
		status = CTL_EXIT_OK;
	} else if (r == 0) {
		char hsize[16];
		format_size(size, hsize, sizeof hsize);
		if (u->changes.s)
			fputs(u->changes.s, stdout);
		printf("updated image \"%s\" (%s): %zu package%s changed, id %s -> %s\n", name, hsize, u->nchanged,
		       u->nchanged == 1 ? "" : "s", oldid, cr.id);
		status = CTL_EXIT_OK;
	}
out:
	ctl_log(status ? LOG_ERR : LOG_NOTICE, "image-update", "image=%s mode=%s result=%s changed=%zu old_id=%s id=%s",
		name, rebuild ? "rebuild" : "apt", status ? "failed" : (r == 1 ? "up-to-date" : "ok"), u->nchanged,
		ctl_q(oldid, q, sizeof q), status == 0 && r == 0 ? cr.id : oldid);
	close_fd(&u->curfd);
	free(u->changes.s);
	store_close(&s);
	return status;
}

/* ---- image list ----------------------------------------------------------- */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Which image each user's layer was made for (state_dir/layers/NAME.base). */
struct layer_rec {
	char user[JS_NAME_MAX];
	struct js_layer_base base;
};

struct layer_recs {
	struct layer_rec *v;
	size_t n;
};

static int cmp_recs(const void *a, const void *b)
{
	return strcmp(((const struct layer_rec *)a)->user, ((const struct layer_rec *)b)->user);
}

/* The records in state_dir/layers; none when there is no such directory.
 * Names starting with '.' are work files, not records. */
static void layer_recs_read(const struct js_global *g, struct layer_recs *out)
{
	struct js_err err = {0};
	*out = (struct layer_recs){0};
	_cleanup_close_ int statefd = js_open_trusted_dir(g->state_dir, false, &err);
	if (statefd < 0)
		return;
	int lfd = openat(statefd, "layers", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (lfd < 0)
		return;
	_cleanup_closedir_ DIR *d = fdopendir(lfd);
	if (!d) {
		close(lfd);
		return;
	}
	size_t cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		char user[JS_NAME_MAX], why[200];
		if (de->d_name[0] == '.' || l <= 5 || l - 5 >= sizeof user || strcmp(de->d_name + l - 5, ".base"))
			continue;
		memcpy(user, de->d_name, l - 5);
		user[l - 5] = '\0';
		if (js_parse_name(user, user, sizeof user, why, sizeof why) < 0)
			continue;
		if (out->n == cap) {
			cap = cap ? cap * 2 : 32;
			struct layer_rec *bigger = realloc(out->v, cap * sizeof *bigger);
			if (!bigger)
				break;
			out->v = bigger;
		}
		struct layer_rec *r = &out->v[out->n];
		memcpy(r->user, user, sizeof user);
		if (js_layer_base_read(statefd, user, &r->base) == 0)
			out->n++;
	}
	if (out->n)
		qsort(out->v, out->n, sizeof *out->v, cmp_recs);
}

/* A JSON string (the values here are checked names, sanitized text). */
static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

/* "2025-07-02T19:05:33Z" -> "2025-07-02 19:05 UTC" */
static void human_date(char *d)
{
	if (strlen(d) == 20 && d[10] == 'T') {
		d[10] = ' ';
		memcpy(d + 16, " UTC", 5);
	}
}

static int image_list(int argc, char **argv, const struct js_config *c)
{
	/* --names: the names alone, one a line, without walking the trees
	 * (for scripts and the bash completion). */
	bool names_only = false, json = false;
	for (int a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "-h") || !strcmp(argv[a], "--help"))
			return ctl_help();
		if (!strcmp(argv[a], "--names"))
			names_only = true;
		else if (!strcmp(argv[a], "--json"))
			json = true;
		else
			return ctl_usage_error("image list: unknown argument \"%s\" (image list [--names|--json])",
					       argv[a]);
	}
	if (names_only && json)
		return ctl_usage_error("image list: --names and --json exclude each other");
	const struct js_global *g = js_config_global(c);
	struct js_err err = {0};
	_cleanup_close_ int fd = ctl_images_open(g, false, &err);
	if (fd == -ENOENT) {
		if (json)
			printf("[]\n");
		else if (!names_only)
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
		if (json)
			printf("[]\n");
		else if (!names_only)
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
	struct layer_recs recs;
	layer_recs_read(g, &recs);
	int status = CTL_EXIT_OK;
	if (json)
		printf("[");
	else
		printf("%-20s %-12s %8s  %-20s %6s  %s\n", "NAME", "SUITE", "SIZE", "BUILT", "LAYERS", "BEHIND");
	for (size_t i = 0; i < n; i++) {
		char suite[64] = "?", hsize[16] = "?", built[40] = "-", updated[40] = "", source[32] = "", info[8192];
		char id[JS_IMAGE_ID_MAX] = "";
		int64_t bytes = -1;
		_cleanup_close_ int rootfd = openat(fd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (rootfd < 0) {
			ctl_errorm(errno, "cannot open \"%s/%s\"", g->images_dir, names[i]);
			status = CTL_EXIT_FAIL;
		} else {
			uint64_t b;
			image_suite(rootfd, suite, sizeof suite);
			if (ctl_tree_usage(rootfd, &b, &err) == 0) {
				format_size(b, hsize, sizeof hsize);
				bytes = (int64_t)b;
			}
		}
		if (image_read_info(fd, names[i], info, sizeof info) == 0) {
			(void)ctl_kv_lookup(info, "built", built, sizeof built);
			(void)ctl_kv_lookup(info, "updated", updated, sizeof updated);
			(void)ctl_kv_lookup(info, "source", source, sizeof source);
		}
		bool id_known = js_image_id(fd, names[i], id, sizeof id) == 0;
		/* The layers made for this image, and those made for an
		 * earlier tree of it (behind: rebased at their next start, or
		 * by jsandboxctl rebase). */
		size_t layers = 0, behind = 0;
		char blist[1024] = "";
		for (size_t k = 0; k < recs.n; k++) {
			if (strcmp(recs.v[k].base.image, names[i]))
				continue;
			layers++;
			if (id_known && !strcmp(recs.v[k].base.id, id))
				continue;
			size_t o = strlen(blist);
			if (o + strlen(recs.v[k].user) + 8 < sizeof blist)
				snprintf(blist + o, sizeof blist - o, "%s%s", behind ? ", " : "", recs.v[k].user);
			else if (o + 5 < sizeof blist && !strstr(blist, "..."))
				snprintf(blist + o, sizeof blist - o, ", ...");
			behind++;
		}
		if (json) {
			printf("%s\n {\"name\": ", i ? "," : "");
			json_str(names[i]);
			printf(", \"suite\": ");
			json_str(suite);
			printf(", \"size\": ");
			if (bytes >= 0)
				printf("%lld", (long long)bytes);
			else
				printf("null");
			printf(", \"source\": ");
			if (source[0])
				json_str(source);
			else
				printf("null");
			printf(", \"built\": ");
			if (strcmp(built, "-"))
				json_str(built);
			else
				printf("null");
			printf(", \"updated\": ");
			if (updated[0])
				json_str(updated);
			else
				printf("null");
			printf(", \"id\": ");
			if (id_known)
				json_str(id);
			else
				printf("null");
			printf(", \"layers\": %zu, \"behind\": [", layers);
			bool first = true;
			for (size_t k = 0; k < recs.n; k++) {
				if (strcmp(recs.v[k].base.image, names[i]) ||
				    (id_known && !strcmp(recs.v[k].base.id, id)))
					continue;
				printf("%s", first ? "" : ", ");
				json_str(recs.v[k].user);
				first = false;
			}
			printf("]}");
		} else {
			/* The date this tree was made: its update, else its
			 * build or import. */
			char *when = updated[0] ? updated : built;
			human_date(when);
			printf("%-20s %-12s %8s  %-20s %6zu  %s%s\n", names[i], suite, hsize, when, layers,
			       behind ? "behind: " : "-", blist);
		}
		free(names[i]);
	}
	if (json)
		printf("\n]\n");
	free(recs.v);
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
	    {"build", image_build},   {"import", image_import}, {"list", image_list},
	    {"remove", image_remove}, {"update", image_update},
	};
	if (argc < 2)
		return ctl_usage_error("image: expected build, import, list, remove or update");
	for (size_t i = 0; i < JS_ARRAY_SIZE(verbs); i++)
		if (!strcmp(argv[1], verbs[i].name))
			return verbs[i].fn(argc - 1, argv + 1, c);
	return ctl_usage_error("image: unknown command \"%s\"", argv[1]);
}
