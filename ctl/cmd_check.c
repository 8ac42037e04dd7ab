/* SPDX-License-Identifier: MIT */
/* jsandboxctl check: the policy file as the library sees it, then every
 * check in the list below. Each check reports its problems, one line each,
 * on stdout; the exit status is 1 when there was any. */
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container.h"
#include "ctl.h"
#include "devices.h"
#include "idmap.h"
#include "image.h"
#include "safefs.h"

void ctl_problem(struct ctl_check *ck, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	ck->nproblems++;
}

void ctl_check_skipped(struct ctl_check *ck, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	ctl_error("note: %s", msg);
}

/* Every [global] directory that exists must pass the same test the PAM
 * module applies before it uses it: root-owned and not writable by group
 * or other, all the way up, no symlinks. A missing one is fine (made when
 * first needed). */
static void check_global_dirs(struct ctl_check *ck)
{
	const struct {
		const char *key;
		const char *path;
	} dirs[] = {
	    {"images_dir", ck->g->images_dir},
	    {"state_dir", ck->g->state_dir},
	    {"run_dir", ck->g->run_dir},
	    {"host_root", ck->g->host_root},
	};
	for (size_t i = 0; i < JS_ARRAY_SIZE(dirs); i++) {
		struct js_err err = {0};
		_cleanup_close_ int fd = js_open_trusted_dir(dirs[i].path, false, &err);
		if (fd == -ENOENT)
			continue;
		if (fd == -EACCES && !ck->root) {
			ctl_check_skipped(ck, "not root: cannot check [global] %s \"%s\"", dirs[i].key, dirs[i].path);
			continue;
		}
		if (fd < 0) {
			ctl_problem(ck, "[global] %s: %s", dirs[i].key, err.msg);
			continue;
		}
		struct stat st;
		/* See ctl_images_open: host users must not reach the images'
		 * setuid programs or sticky directories. */
		if (!strcmp(dirs[i].key, "images_dir") && fstat(fd, &st) == 0 && (st.st_mode & 077))
			ctl_problem(ck,
				    "[global] images_dir: \"%s\" is mode %04o; host users could run the images' setuid "
				    "programs outside any container (chmod 0700 \"%s\")",
				    dirs[i].path, (unsigned)(st.st_mode & 07777), dirs[i].path);
	}
}

/* The image a section sets, with that section as its origin. The library
 * resolves whole users, so ask it for a user no other section matches:
 * "*" is never a user name. */
static int section_image(const struct js_config *c, const char *section, char *origin, size_t olen, struct js_policy *p)
{
	const char *user = "*";
	const char *group = NULL;
	if (!strncmp(section, "user:", 5))
		user = section + 5;
	else if (!strncmp(section, "group:", 6))
		group = section + 6;
	else if (strcmp(section, "default") != 0)
		return -ENOENT;
	if (js_config_resolve(c, user, group ? &group : NULL, group ? 1 : 0, p, NULL, 0) < 0)
		return -EINVAL; /* that section's problem is reported already */
	snprintf(origin, olen, "[%s]", section);
	/* [default] also speaks for the built-in default image: the one
	 * everybody gets when no section names one. */
	if (strcmp(p->origin[JS_KEY_IMAGE], origin) != 0 &&
	    !(!strcmp(section, "default") && !strcmp(p->origin[JS_KEY_IMAGE], "built-in")))
		return -ENOENT;
	return 0;
}

/* Every image the policy names must exist: a login that needs a missing
 * image is refused. */
static void check_images(struct ctl_check *ck)
{
	struct js_err err = {0};
	_cleanup_close_ int fd = ctl_images_open(ck->g, false, &err);
	if (fd == -EACCES && !ck->root) {
		ctl_check_skipped(ck, "not root: images under \"%s\" not checked", ck->g->images_dir);
		return;
	}
	if (fd < 0 && fd != -ENOENT)
		return; /* check_global_dirs said why */
	bool saw_default = false;
	size_t n = js_config_nsections(ck->c);
	for (size_t i = 0; i <= n; i++) {
		/* [default] last if the file has none: the built-in default. */
		const char *sec = i < n ? js_config_section(ck->c, i) : (saw_default ? NULL : "default");
		if (!sec)
			continue;
		if (!strcmp(sec, "default"))
			saw_default = true;
		char origin[JS_ORIGIN_MAX + 4];
		struct js_policy *p = malloc(sizeof *p);
		if (!p)
			return;
		if (section_image(ck->c, sec, origin, sizeof origin, p) == 0) {
			err = (struct js_err){0};
			int r = fd < 0 ? -ENOENT : ctl_image_usable(fd, p->image, &err);
			if (r == -ENOENT)
				ctl_problem(ck, "%s image: no image \"%s\" under %s (" CTL_PROG " image list)", origin,
					    p->image, ck->g->images_dir);
			else if (r < 0)
				ctl_problem(ck, "%s image: %s under %s", origin, err.msg, ck->g->images_dir);
		}
		free(p);
	}
}

/* The range of regular accounts (login.defs UID_MIN/UID_MAX): system
 * accounts (postgres, www-data) are not people who log in over ssh. */
void ctl_regular_uids(uid_t *lo, uid_t *hi)
{
	*lo = 1000;
	*hi = 60000;
	_cleanup_fclose_ FILE *f = fopen("/etc/login.defs", "re");
	char line[256];
	while (f && fgets(line, sizeof line, f)) {
		unsigned long v;
		if (sscanf(line, " UID_MIN %lu", &v) == 1)
			*lo = (uid_t)v;
		else if (sscanf(line, " UID_MAX %lu", &v) == 1)
			*hi = (uid_t)v;
	}
}

bool ctl_cannot_log_in(const char *shell)
{
	const char *base = strrchr(shell, '/');
	base = base ? base + 1 : shell;
	return !strcmp(base, "nologin") || !strcmp(base, "false");
}

/* Every regular account the policy sandboxes must be able to get its
 * container: the helper as login shell (the module refuses any other, see
 * js_check_login_shell), a name the module accepts as a file name, and
 * subordinate id ranges that the module accepts: well-formed, apart from
 * each other, and holding no account's or group's id. */
struct candidate {
	char name[JS_USER_NAME_MAX];
	uid_t uid;
	char shell[PATH_MAX];
};

static void check_user(struct ctl_check *ck, const struct candidate *cd, struct js_policy *pol,
		       const struct js_accounts acc[2])
{
	char why[512];
	if (js_config_resolve_user(ck->c, cd->name, pol, why, sizeof why) < 0 || !pol->sandbox)
		return; /* a bad section is reported already */
	struct js_err err = {0};
	if (js_check_name("user name", cd->name, JS_USER_NAME_MAX - 1, &err) < 0)
		ctl_problem(ck, "user %s: %s (the module refuses this user)", cd->name, err.msg);
	if (js_check_login_shell(cd->shell, &err) < 0)
		ctl_problem(ck, "user %s: %s (usermod -s %s/jsandbox-shell %s)", cd->name, err.msg, JSANDBOX_LIBEXECDIR,
			    cd->name);
	static const char *const files[] = {"/etc/subuid", "/etc/subgid"};
	for (size_t i = 0; i < JS_ARRAY_SIZE(files); i++) {
		struct js_subid sid;
		err = (struct js_err){0};
		if (js_subid_lookup(files[i], cd->name, cd->uid, &sid, &err) < 0 ||
		    (acc[i].v &&
		     js_subid_check_accounts(&sid, &acc[i], i ? "gid" : "uid", files[i], cd->name, &err) < 0))
			ctl_problem(ck, "user %s: %s", cd->name, err.msg);
	}
}

static void check_users(struct ctl_check *ck)
{
	uid_t lo, hi;
	ctl_regular_uids(&lo, &hi);
	_cleanup_free_ struct js_policy *pol = malloc(sizeof *pol);
	if (!pol)
		return;
	/* Collected first: the checks enumerate the accounts themselves. */
	_cleanup_free_ struct candidate *v = NULL;
	size_t n = 0, cap = 0;
	bool truncated = false;
	setpwent();
	struct passwd *pw;
	while ((pw = getpwent())) {
		if (pw->pw_uid == 0 || pw->pw_uid < lo || pw->pw_uid > hi || ctl_cannot_log_in(pw->pw_shell))
			continue;
		if (n == JS_ACCOUNTS_MAX) {
			truncated = true;
			break;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct candidate *nv = realloc(v, ncap * sizeof *nv);
			if (!nv) {
				truncated = true;
				break;
			}
			v = nv;
			cap = ncap;
		}
		struct candidate *cd = &v[n];
		if (js_strlcpy(cd->name, pw->pw_name, sizeof cd->name) < 0)
			continue;
		cd->uid = pw->pw_uid;
		if (js_strlcpy(cd->shell, pw->pw_shell ? pw->pw_shell : "", sizeof cd->shell) < 0)
			continue; /* no shell path is that long */
		n++;
	}
	endpwent();
	if (truncated)
		ctl_problem(ck, "more than %zu accounts could not all be checked", n);
	struct js_accounts acc[2] = {{0}, {0}};
	for (int i = 0; i < 2; i++) {
		struct js_err err = {0};
		if (js_accounts_load(i == 1, &acc[i], &err) < 0)
			ctl_problem(ck, "%s (sandboxed logins are refused)", err.msg);
	}
	for (size_t i = 0; i < n; i++)
		check_user(ck, &v[i], pol, acc);
	js_accounts_free(&acc[0]);
	js_accounts_free(&acc[1]);
}

/* Every section that sets gpus or devices must resolve on this host: a GPU
 * index, PCI address or UUID that matches no GPU, or a device node that is
 * not there, refuses the logins it applies to. Resolved as a login would be
 * (js_devices_build), against host_root. */
static void check_devices(struct ctl_check *ck)
{
	_cleanup_free_ struct js_policy *p = malloc(sizeof *p);
	if (!p)
		return;
	size_t n = js_config_nsections(ck->c);
	for (size_t i = 0; i < n; i++) {
		const char *sec = js_config_section(ck->c, i);
		char why[512];
		if (ctl_section_policy(ck->c, sec, p, why, sizeof why) != 0 || !p->sandbox)
			continue; /* no policy, or a problem reported with the file's */
		char origin[JS_ORIGIN_MAX + 4];
		snprintf(origin, sizeof origin, "[%s]", sec);
		if (strcmp(p->origin[JS_KEY_GPUS], origin) != 0 && strcmp(p->origin[JS_KEY_DEVICES], origin) != 0)
			continue;
		struct js_dev_list l = {0};
		struct js_err err = {0};
		if (js_devices_build(ck->g->host_root, &p->gpus, p->devices, p->ndevices, &l, &err) < 0 ||
		    js_devices_check_nodes(ck->g->host_root, &l, &err) < 0)
			ctl_problem(ck, "%s gpus/devices: %s (the logins it applies to are refused)", origin, err.msg);
		js_dev_list_free(&l);
	}
}

/* jsandbox-root, which the PAM module executes for every login but root's:
 * the module refuses everyone else when it is missing, not a regular file,
 * not root's or writable by group or other (root/rootop.h). */
static void check_root_helper(struct ctl_check *ck)
{
	const char *path = JSANDBOX_LIBEXECDIR "/jsandbox-root";
	struct stat st;
	if (stat(path, &st) < 0)
		ctl_problem(ck, "%s: %s (every login but root's is refused)", path, strerror(errno));
	else if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022))
		ctl_problem(ck, "%s is not a root-owned file writable only by root (every login but root's is refused)",
			    path);
}

/* The checks, in order. Append here. */
static void (*const checks[])(struct ctl_check *) = {
    check_global_dirs, check_root_helper,      check_images,	 check_users,	   check_devices,
    ctl_check_wiring,  ctl_check_host_daemons, ctl_check_kernel, ctl_check_layers,
};

int cmd_check(int argc, char **argv, const struct js_config *unused)
{
	/* Where sshd is wired in: the system's files unless told (a second
	 * sshd with a config and a PAM service of its own). */
	const char *pam_file = "/etc/pam.d/sshd", *sshd_config = "/etc/ssh/sshd_config";
	/* --file: an edited copy, checked as if it were the live file before
	 * it replaces it (every edit of the live file counts at the next
	 * login). */
	const char *path = JSANDBOX_CONFIG;
	for (int a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "-h") || !strcmp(argv[a], "--help"))
			return ctl_help();
		if (!strcmp(argv[a], "--pam-file") && a + 1 < argc)
			pam_file = argv[++a];
		else if (!strcmp(argv[a], "--sshd-config") && a + 1 < argc)
			sshd_config = argv[++a];
		else if (!strcmp(argv[a], "--file") && a + 1 < argc)
			path = argv[++a];
		else
			return ctl_usage_error("check: unknown argument \"%s\"", argv[a]);
	}
	int r;
	struct js_problems pr = {0};
	struct js_config *c = NULL;
	r = js_config_load(path, &c, &pr);
	struct ctl_check ck = {
	    .config_path = path, .root = geteuid() == 0, .pam_file = pam_file, .sshd_config = sshd_config};
	for (size_t i = 0; i < pr.n; i++)
		ctl_problem(&ck, "%s", pr.p[i].msg);
	js_problems_free(&pr);
	if (r < 0 && ck.nproblems == 0)
		ctl_problem(&ck, "%s: %s", path, strerror(-r));
	if (c) {
		ck.c = c;
		ck.g = js_config_global(c);
		for (size_t i = 0; i < JS_ARRAY_SIZE(checks); i++)
			checks[i](&ck);
		js_config_free(c);
	}
	if (ck.nproblems)
		return CTL_EXIT_FAIL;
	printf(CTL_PROG ": %s: OK\n", path);
	return CTL_EXIT_OK;
}
