/* SPDX-License-Identifier: MIT */
/* jsandboxctl enable USER|@GROUP... and disable USER|@GROUP...|--all: the
 * set-up of an account for jsandbox and its undoing, instead of hand edits.
 *
 * enable: the policy must sandbox the user (directly, or through group
 * "jsandbox", which the installed /etc/jsandbox.conf sandboxes: then the
 * user is added to it); subordinate id ranges are checked, or added when
 * missing; jsandbox-shell is added to /etc/shells; the user's login shell is
 * recorded, then set to jsandbox-shell.
 * disable: the recorded shell comes back, the group membership enable added
 * goes, the container is stopped; the user's layer stays.
 *
 * Nothing here edits /etc/passwd, /etc/group, /etc/subuid or /etc/shells
 * itself: shadow's usermod, groupadd and gpasswd and debianutils' add-shell
 * do, with their locks and their temporary files renamed into place. The
 * records (state_dir/enabled/USER, one per enabled user, written to a
 * temporary file and renamed) are what disable restores from. */
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "container.h"
#include "ctl.h"
#include "idmap.h"
#include "safefs.h"

#define JSHELL	       JSANDBOX_LIBEXECDIR "/jsandbox-shell"
#define ENABLE_GROUP   "jsandbox"
#define RECORDS	       "enabled"
#define SUBID_MIN      100000u
#define SUBID_COUNT    65536u
#define SUBID_FILE_MAX (16u * 1024 * 1024)

/* ---- running shadow's tools -------------------------------------------- */

/* Run one of shadow's or debianutils' programs: an absolute path, a fixed
 * environment, stdin from /dev/null, its stdout discarded (their chatter
 * would mix with ours), its stderr passed on. Returns 0 or -1 (printed). */
static int run_tool(const char *const argv[])
{
	static const char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL};
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		ctl_errorm(errno, "cannot start %s", argv[0]);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0)
			_exit(127);
		js_close_fds_from(3, NULL, 0);
		execve(argv[0], (char *const *)argv, (char *const *)envp);
		dprintf(2, CTL_PROG ": cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			ctl_errorm(errno, "cannot wait for %s", argv[0]);
			return -1;
		}
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	char cmd[512] = "";
	size_t o = 0;
	for (size_t i = 0; argv[i] && o < sizeof cmd; i++) {
		int w = snprintf(cmd + o, sizeof cmd - o, "%s%s", i ? " " : "", argv[i]);
		if (w < 0)
			break;
		o += (size_t)w;
	}
	if (WIFEXITED(st))
		ctl_error("\"%s\" failed (exit status %d)", cmd, WEXITSTATUS(st));
	else
		ctl_error("\"%s\" was killed by signal %d", cmd, WTERMSIG(st));
	return -1;
}

/* ---- records ------------------------------------------------------------ */

struct record {
	char shell[PATH_MAX]; /* "" when enable found jsandbox-shell already */
	bool group_added;     /* enable made the user a member of ENABLE_GROUP */
};

/* state_dir/enabled, root-owned 0700, locked (flock) for the whole command:
 * two enables or disables never interleave their records. */
static int open_records(const struct js_global *g, bool create)
{
	struct js_err err = {0};
	_cleanup_close_ int sd = js_open_trusted_dir(g->state_dir, create, &err);
	if (sd < 0) {
		if (sd == -ENOENT && !create)
			return -ENOENT;
		ctl_error_js(&err, "state_dir \"%s\"", g->state_dir);
		return sd;
	}
	int fd = js_mkdir_owned_at(sd, RECORDS, 0700, 0, 0, create, &err);
	if (fd < 0) {
		if (fd == -ENOENT && !create)
			return -ENOENT;
		ctl_error_js(&err, "\"%s/" RECORDS "\"", g->state_dir);
		return fd;
	}
	if (flock(fd, LOCK_EX) < 0) {
		int e = errno;
		ctl_errorm(e, "cannot lock \"%s/" RECORDS "\"", g->state_dir);
		close(fd);
		return -e;
	}
	return fd;
}

/* Returns 1 with *rec filled, 0 when there is no record, -1 (printed). */
static int read_record(int dir, const char *user, struct record *rec)
{
	char text[PATH_MAX + 64];
	struct js_err err = {0};
	int n = js_read_file_at(dir, user, text, sizeof text, &err);
	if (n == -ENOENT)
		return 0;
	if (n < 0) {
		ctl_error_js(&err, "the record of %s", user);
		return -1;
	}
	*rec = (struct record){0};
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!strncmp(line, "shell=", 6)) {
			const char *s = line + 6;
			if ((s[0] && s[0] != '/') || js_strlcpy(rec->shell, s, sizeof rec->shell) < 0) {
				ctl_error("the record of %s names no usable shell: \"%s\"", user, s);
				return -1;
			}
		} else if (!strcmp(line, "group_added=1"))
			rec->group_added = true;
	}
	return 1;
}

static int write_record(int dir, const char *user, const struct record *rec)
{
	char text[PATH_MAX + 64];
	struct js_err err = {0};
	if (js_snprintf(text, sizeof text, "shell=%s\ngroup_added=%d\n", rec->shell, rec->group_added ? 1 : 0) < 0 ||
	    js_write_atomic_at(dir, user, text, 0600, &err) < 0) {
		ctl_error_js(&err, "cannot record the previous shell of %s", user);
		return -1;
	}
	return 0;
}

/* ---- the accounts an operand names ------------------------------------ */

struct names {
	size_t n, cap;
	char (*v)[JS_USER_NAME_MAX];
};

static int names_add(struct names *ns, const char *name)
{
	for (size_t i = 0; i < ns->n; i++)
		if (!strcmp(ns->v[i], name))
			return 0;
	if (ns->n == ns->cap) {
		size_t cap = ns->cap ? ns->cap * 2 : 16;
		void *v = realloc(ns->v, cap * sizeof *ns->v);
		if (!v) {
			ctl_error("out of memory");
			return -1;
		}
		ns->v = v;
		ns->cap = cap;
	}
	if (js_strlcpy(ns->v[ns->n], name, sizeof ns->v[ns->n]) < 0) {
		ctl_error("user name \"%.40s...\" is too long", name);
		return -1;
	}
	ns->n++;
	return 0;
}

/* USER, or @GROUP: its listed members and the accounts whose primary group
 * it is (root left out). */
static int collect(const char *operand, struct names *ns)
{
	if (operand[0] != '@')
		return names_add(ns, operand);
	const char *gname = operand + 1;
	errno = 0;
	struct group *gr = getgrnam(gname);
	if (!gr) {
		if (errno)
			ctl_errorm(errno, "cannot look up group \"%s\"", gname);
		else
			ctl_error("no group \"%s\"", gname);
		return -1;
	}
	gid_t gid = gr->gr_gid;
	size_t before = ns->n;
	for (char **m = gr->gr_mem; *m; m++)
		if (names_add(ns, *m) < 0)
			return -1;
	setpwent();
	struct passwd *pw;
	int r = 0;
	while ((pw = getpwent()))
		if (pw->pw_gid == gid && pw->pw_uid != 0 && (r = names_add(ns, pw->pw_name)) < 0)
			break;
	endpwent();
	if (r < 0)
		return -1;
	if (ns->n == before)
		printf("group %s has no members\n", gname);
	return 0;
}

static bool in_group(const struct js_user *u, const char *group)
{
	for (size_t i = 0; i < u->ngroups; i++)
		if (!strcmp(u->groups[i].name, group))
			return true;
	return false;
}

/* ---- subordinate ids -------------------------------------------------- */

/* The first id past every range in path (0 when the file is missing). */
static int subid_end(const char *path, uint64_t *end)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		ctl_errorm(errno, "cannot open \"%s\"", path);
		return -1;
	}
	_cleanup_free_ char *text = malloc(SUBID_FILE_MAX + 1);
	if (!text) {
		ctl_error("out of memory");
		return -1;
	}
	ssize_t n = js_read_all(fd, text, SUBID_FILE_MAX);
	if (n < 0) {
		ctl_errorm((int)-n, "cannot read \"%s\"", path);
		return -1;
	}
	text[n] = '\0';
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (line[0] == '#' || !c2)
			continue;
		char *e1, *e2;
		errno = 0;
		unsigned long long start = strtoull(c1 + 1, &e1, 10), count = strtoull(c2 + 1, &e2, 10);
		if (errno || e1 != c2 || e2 == c2 + 1)
			continue; /* the module refuses such a file anyway */
		if (start + count > *end)
			*end = start + count;
	}
	return 0;
}

/* A range of SUBID_COUNT ids past every range of both files and holding no
 * account's uid or group's gid. */
static int subid_allocate(const struct js_accounts acc[2], uint32_t *start)
{
	uint64_t s = SUBID_MIN;
	if (subid_end("/etc/subuid", &s) < 0 || subid_end("/etc/subgid", &s) < 0)
		return -1;
	for (bool moved = true; moved;) {
		moved = false;
		for (size_t k = 0; k < 2; k++)
			for (size_t i = 0; i < acc[k].n; i++)
				if (acc[k].v[i].id >= s && acc[k].v[i].id < s + SUBID_COUNT) {
					s = (uint64_t)acc[k].v[i].id + 1;
					moved = true;
				}
	}
	if (s + SUBID_COUNT > UINT32_MAX) {
		ctl_error("no free range of %u subordinate ids is left below 2^32", SUBID_COUNT);
		return -1;
	}
	*start = (uint32_t)s;
	return 0;
}

/* Both ranges of u as the module will check them; missing ones are added
 * (usermod --add-subuids/--add-subgids). Prints what it did. */
static int ensure_subids(const struct js_user *u, bool *added, uint32_t *start_out)
{
	static const char *const files[] = {"/etc/subuid", "/etc/subgid"};
	struct js_accounts acc[2] = {{0}, {0}};
	struct js_err err = {0};
	int ret = -1;
	*added = false;
	if (js_accounts_load(false, &acc[0], &err) < 0 || js_accounts_load(true, &acc[1], &err) < 0) {
		ctl_error_js(&err, "cannot enumerate the accounts");
		goto out;
	}
	bool missing[2] = {false, false};
	for (size_t i = 0; i < 2; i++) {
		struct js_subid sid;
		err = (struct js_err){0};
		int r = js_subid_lookup(files[i], u->name, u->uid, &sid, &err);
		if (r == -ENOENT && access(files[i], F_OK) < 0 && errno == ENOENT)
			r = -ENOENT; /* no file at all: usermod creates it */
		if (r == -ENOENT) {
			missing[i] = true;
			continue;
		}
		if (r < 0 || js_subid_check_accounts(&sid, &acc[i], i ? "gid" : "uid", files[i], u->name, &err) < 0) {
			ctl_error_js(&err, "%s", u->name);
			goto out;
		}
	}
	if (missing[0] || missing[1]) {
		uint32_t s;
		if (subid_allocate(acc, &s) < 0)
			goto out;
		char range[32];
		snprintf(range, sizeof range, "%u-%u", s, s + SUBID_COUNT - 1);
		const char *argv[8] = {"/usr/sbin/usermod"};
		size_t a = 1;
		if (missing[0]) {
			argv[a++] = "--add-subuids";
			argv[a++] = range;
		}
		if (missing[1]) {
			argv[a++] = "--add-subgids";
			argv[a++] = range;
		}
		argv[a++] = u->name;
		argv[a] = NULL;
		if (run_tool(argv) < 0)
			goto out;
		*added = true;
		*start_out = s;
		/* What the module will read, checked as it checks it. */
		for (size_t i = 0; i < 2; i++) {
			struct js_subid sid;
			err = (struct js_err){0};
			if (js_subid_lookup(files[i], u->name, u->uid, &sid, &err) < 0 ||
			    js_subid_check_accounts(&sid, &acc[i], i ? "gid" : "uid", files[i], u->name, &err) < 0) {
				ctl_error_js(&err, "%s: after usermod", u->name);
				goto out;
			}
		}
	}
	ret = 0;
out:
	js_accounts_free(&acc[0]);
	js_accounts_free(&acc[1]);
	return ret;
}

/* ---- /etc/shells ------------------------------------------------------ */

static int shell_listed(const char *shell)
{
	_cleanup_fclose_ FILE *f = fopen("/etc/shells", "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	char line[PATH_MAX + 2];
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strcmp(line, shell))
			return 1;
	}
	return 0;
}

/* ---- enable ------------------------------------------------------------ */

static int enable_one(const struct js_config *c, int dir, const char *name)
{
	struct js_user u;
	if (ctl_lookup_user(name, &u) < 0)
		return -1;
	/* The policy must sandbox u, as it is or once u is in ENABLE_GROUP. */
	const char *groups[JS_USER_GROUPS_MAX + 1];
	size_t ng = js_user_group_names(&u, groups, JS_USER_GROUPS_MAX);
	_cleanup_free_ struct js_policy *p = malloc(sizeof *p);
	char why[512] = "";
	if (!p) {
		ctl_error("out of memory");
		return -1;
	}
	if (js_config_resolve(c, u.name, groups, ng, p, why, sizeof why) < 0) {
		ctl_error("cannot resolve the policy of %s: %s", u.name, why);
		return -1;
	}
	bool need_group = false;
	if (!p->sandbox) {
		groups[ng] = ENABLE_GROUP;
		if (js_config_resolve(c, u.name, groups, ng + 1, p, why, sizeof why) < 0) {
			ctl_error("cannot resolve the policy of %s: %s", u.name, why);
			return -1;
		}
		if (!p->sandbox) {
			ctl_error("%s: the policy exempts them (sandbox = no from %s), even as a member of group "
				  "\"" ENABLE_GROUP "\"; change " JSANDBOX_CONFIG " first",
				  u.name, p->origin[JS_KEY_SANDBOX]);
			return -1;
		}
		need_group = true;
	}

	bool subids_added = false;
	uint32_t subid_start = 0;
	if (ensure_subids(&u, &subids_added, &subid_start) < 0)
		return -1;

	int listed = shell_listed(JSHELL);
	if (listed < 0) {
		ctl_errorm(-listed, "cannot read /etc/shells");
		return -1;
	}
	if (!listed && run_tool((const char *const[]){"/usr/sbin/add-shell", JSHELL, NULL}) < 0)
		return -1;

	/* The record first: whatever happens next, disable knows what to
	 * restore. An existing record (enable run twice) is kept. */
	struct record rec;
	int have = read_record(dir, u.name, &rec);
	if (have < 0)
		return -1;
	if (!have) {
		rec = (struct record){0};
		if (strcmp(u.shell, JSHELL) != 0 && js_strlcpy(rec.shell, u.shell, sizeof rec.shell) < 0) {
			ctl_error("%s: login shell path too long", u.name);
			return -1;
		}
	}
	bool add_group = need_group && !in_group(&u, ENABLE_GROUP);
	if (add_group)
		rec.group_added = true;
	if ((!have || add_group) && write_record(dir, u.name, &rec) < 0)
		return -1;

	if (strcmp(u.shell, JSHELL) != 0 &&
	    run_tool((const char *const[]){"/usr/sbin/usermod", "-s", JSHELL, u.name, NULL}) < 0)
		return -1;
	if (add_group) {
		errno = 0;
		if (!getgrnam(ENABLE_GROUP) &&
		    run_tool((const char *const[]){"/usr/sbin/groupadd", "--system", ENABLE_GROUP, NULL}) < 0)
			return -1;
		if (run_tool((const char *const[]){"/usr/sbin/usermod", "-a", "-G", ENABLE_GROUP, u.name, NULL}) < 0)
			return -1;
	}

	printf("%s: enabled (login shell %s, was %s", u.name, JSHELL, rec.shell[0] ? rec.shell : "-");
	if (subids_added)
		printf("; subordinate ids %u-%u added", subid_start, subid_start + SUBID_COUNT - 1);
	if (add_group)
		printf("; added to group " ENABLE_GROUP);
	printf(")\n");
	ctl_log(LOG_NOTICE, "enable", "user=%s shell_was=%s subids_added=%s group_added=%s result=ok", u.name,
		rec.shell[0] ? rec.shell : "-", subids_added ? "yes" : "no", add_group ? "yes" : "no");
	return 0;
}

/* ---- disable ----------------------------------------------------------- */

/* The shell useradd gives new accounts (SHELL= in /etc/default/useradd),
 * else /bin/sh: what an account set to jsandbox-shell by hand, with no
 * record of its shell before, gets back. */
static void default_shell(char *out, size_t len)
{
	if (js_strlcpy(out, "/bin/sh", len) < 0)
		return;
	_cleanup_fclose_ FILE *f = fopen("/etc/default/useradd", "re");
	char line[PATH_MAX + 16];
	while (f && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		const char *v = line + 6;
		if (strncmp(line, "SHELL=", 6) || v[0] != '/' || strcmp(strrchr(v, '/'), "/jsandbox-shell") == 0)
			continue;
		char tmp[PATH_MAX];
		if (js_strlcpy(tmp, v, sizeof tmp) == 0 && access(tmp, X_OK) == 0 && js_strlcpy(out, tmp, len) < 0 &&
		    js_strlcpy(out, "/bin/sh", len) < 0)
			out[0] = '\0';
	}
}

static int disable_one(const struct js_config *c, int dir, const char *name)
{
	struct js_user u;
	if (ctl_lookup_user(name, &u) < 0)
		return -1;
	struct record rec = {0};
	int have = dir >= 0 ? read_record(dir, u.name, &rec) : 0;
	if (have < 0)
		return -1;
	bool jshell = !strcmp(u.shell, JSHELL);
	if (!have && !jshell) {
		printf("%s: not enabled (login shell %s); nothing to do\n", u.name, u.shell);
		return 0;
	}
	if (jshell) {
		if (!rec.shell[0]) {
			default_shell(rec.shell, sizeof rec.shell);
			printf(
			    "%s: no login shell recorded before jsandbox-shell; giving them %s (useradd's default)\n",
			    u.name, rec.shell);
		}
		if (run_tool((const char *const[]){"/usr/sbin/usermod", "-s", rec.shell, u.name, NULL}) < 0)
			return -1;
	}
	bool group_removed = false;
	if (rec.group_added && in_group(&u, ENABLE_GROUP)) {
		if (run_tool((const char *const[]){"/usr/bin/gpasswd", "-d", u.name, ENABLE_GROUP, NULL}) < 0)
			return -1;
		group_removed = true;
	}
	/* No new login gets a container now; end the running one. */
	struct js_err err = {0};
	bool ended = false;
	int sr = js_container_stop(js_config_global(c), &u, &ended, &err);
	ctl_log_stopped(&u, ended, "disable");
	if (sr < 0) {
		ctl_error_js(&err, "stop %s", u.name);
		return -1;
	}
	if (have && unlinkat(dir, u.name, 0) < 0 && errno != ENOENT) {
		ctl_errorm(errno, "cannot remove the record of %s", u.name);
		return -1;
	}
	printf("%s: disabled (login shell %s%s; container stopped, layer kept)\n", u.name, jshell ? rec.shell : u.shell,
	       group_removed ? "; removed from group " ENABLE_GROUP : "");
	ctl_log(LOG_NOTICE, "disable", "user=%s shell=%s group_removed=%s result=ok", u.name,
		jshell ? rec.shell : u.shell, group_removed ? "yes" : "no");

	/* Still sandboxed by the policy: the module now refuses their logins. */
	_cleanup_free_ struct js_policy *p = malloc(sizeof *p);
	char why[512];
	struct js_user now;
	if (p && js_user_by_name(u.name, &now, NULL) == 0) {
		const char *groups[JS_USER_GROUPS_MAX];
		size_t ng = js_user_group_names(&now, groups, JS_USER_GROUPS_MAX);
		if (js_config_resolve(c, now.name, groups, ng, p, why, sizeof why) == 0 && p->sandbox)
			printf("note: the policy still sandboxes %s (sandbox = yes from %s): their logins are refused "
			       "until it exempts them\n",
			       u.name, p->origin[JS_KEY_SANDBOX]);
	}
	return 0;
}

/* Every account with a record or with jsandbox-shell as its login shell. */
static int collect_all(int dir, struct names *ns)
{
	if (dir >= 0) {
		int d2 = dup(dir);
		_cleanup_closedir_ DIR *d = d2 >= 0 ? fdopendir(d2) : NULL;
		if (!d) {
			if (d2 >= 0)
				close(d2);
			ctl_errorm(errno, "cannot read the records");
			return -1;
		}
		rewinddir(d);
		struct dirent *e;
		while ((e = readdir(d)))
			if (e->d_name[0] != '.' && names_add(ns, e->d_name) < 0)
				return -1;
	}
	setpwent();
	struct passwd *pw;
	int r = 0;
	while ((pw = getpwent()))
		if (pw->pw_uid != 0 && !strcmp(pw->pw_shell, JSHELL) && (r = names_add(ns, pw->pw_name)) < 0)
			break;
	endpwent();
	return r;
}

static int run(int argc, char **argv, const struct js_config *c, bool enable)
{
	bool all = false;
	int i = 1;
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (!enable && !strcmp(argv[i], "--all"))
			all = true;
		else if (argv[i][0] == '-' && argv[i][1])
			return ctl_usage_error("%s: unknown option \"%s\"", argv[0], argv[i]);
		else
			break;
	}
	if (all && i < argc)
		return ctl_usage_error("disable: --all takes no USER");
	if (!all && i == argc)
		return ctl_usage_error("%s: expected USER or @GROUP", argv[0]);

	_cleanup_close_ int dir = open_records(js_config_global(c), enable);
	if (dir < 0 && (enable || dir != -ENOENT))
		return CTL_EXIT_FAIL;

	struct names ns = {0};
	int status = CTL_EXIT_OK;
	if (all) {
		if (collect_all(dir, &ns) < 0)
			status = CTL_EXIT_FAIL;
	} else {
		for (; i < argc; i++)
			if (collect(argv[i], &ns) < 0)
				status = CTL_EXIT_FAIL;
	}
	for (size_t k = 0; k < ns.n; k++) {
		if ((enable ? enable_one(c, dir, ns.v[k]) : disable_one(c, dir, ns.v[k])) < 0) {
			status = CTL_EXIT_FAIL;
			ctl_log(LOG_ERR, enable ? "enable" : "disable", "user=%s result=failed", ns.v[k]);
		}
	}
	free(ns.v);
	return status;
}

int cmd_enable(int argc, char **argv, const struct js_config *c)
{
	return run(argc, argv, c, true);
}

int cmd_disable(int argc, char **argv, const struct js_config *c)
{
	return run(argc, argv, c, false);
}
