/* SPDX-License-Identifier: MIT */
/* jsandboxctl status [USER], stop USER, reset USER: the running containers.
 *
 * status reads the root-owned runtime state under run_dir and asks each
 * live init over its control socket; it never trusts a bare pid (the state
 * records start time and namespace inode, js_state_pidfd checks them). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroup.h"
#include "container.h"
#include "ctl.h"
#include "image.h"
#include "layer.h"
#include "proto.h"
#include "safefs.h"
#include "state.h"
#include "tree.h"

int ctl_open_run_dir(const struct js_global *g, DIR **d)
{
	struct js_err err = {0};
	int rundir = js_open_trusted_dir(g->run_dir, false, &err);
	if (rundir == -ENOENT)
		return -ENOENT;
	if (rundir < 0) {
		ctl_error_js(&err, "run_dir \"%s\"", g->run_dir);
		return -1;
	}
	*d = fdopendir(rundir);
	if (!*d) {
		ctl_errorm(errno, "run_dir \"%s\"", g->run_dir);
		close(rundir);
		return -1;
	}
	return 0;
}

int ctl_lookup_user(const char *name, struct js_user *u)
{
	struct js_err err = {0};
	/* The name becomes file names (the layer, the cgroup): the one rule
	 * for such names, before anything looks it up or touches a file. */
	if (js_check_name("user name", name, JS_USER_NAME_MAX - 1, &err) < 0) {
		ctl_error_js(&err, "%s", "");
		return -1;
	}
	if (js_user_by_name(name, u, &err) < 0) {
		ctl_error_js(&err, "user \"%s\"", name);
		return -1;
	}
	if (u->uid == 0) {
		ctl_error("root is never sandboxed");
		return -1;
	}
	return 0;
}

int ctl_parse_one_user(int argc, char **argv, struct js_user *u)
{
	int r = ctl_parse_no_options(argc, argv);
	if (r >= 0)
		return r;
	if (argc - optind != 1)
		return ctl_usage_error("%s: expected one USER", argv[0]);
	return ctl_lookup_user(argv[optind], u) < 0 ? CTL_EXIT_FAIL : -1;
}

/* What status shows of one user. Numbers are -1 when unknown. */
struct ustat {
	const struct js_user *u;
	const char *state; /* running, stopping, stopped, leftover, stuck, incompatible */
	int init_pid;
	long sessions;
	int procs;
	const char *linger; /* the policy's: yes, no, ? */
	char gpus[256];	    /* the policy's gpus = */
	char granted[128];  /* the GPUs the running container holds (state) */
	uint32_t proto;	    /* its init's protocol (root/proto.h); 0 unknown */
	char image[64];
	char image_suite[64];
	char image_built[40];
	char version[32]; /* jsandbox version that started the container */
	int64_t mem_cur, mem_max, pids_cur, pids_max, cpu_usec, cpu_max_pct;
	/* The writable layer (lib/layer.h): its kind, use and bound (0: none);
	 * used is -1 when unknown. */
	struct js_layer_usage layer;
	int64_t layer_bytes;
	char layer_text[96]; /* "used/bound(kind)" */
};

/* A number from a cgroup file; "max" (or -1, or v1's "no limit" page
 * count) is -2: no limit. Returns 0 or -1. */
static int read_num(int dirfd, const char *file, const char *key, int64_t *out)
{
	char buf[4096];
	int n = js_read_file_at(dirfd, file, buf, sizeof buf, NULL);
	if (n <= 0)
		return -1;
	const char *v = buf;
	if (key) {
		size_t kl = strlen(key);
		v = NULL;
		for (const char *l = buf; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
			if (!strncmp(l, key, kl) && l[kl] == ' ') {
				v = l + kl + 1;
				break;
			}
		if (!v)
			return -1;
	}
	if (!strncmp(v, "max", 3) || !strncmp(v, "-1", 2)) {
		*out = -2;
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 10);
	if (errno || end == v)
		return -1;
	/* v1 memory: no limit reads as the largest page-aligned value */
	*out = x >= (1ull << 62) ? -2 : (int64_t)x;
	return 0;
}

/* Use and limits from the user's cgroups, whichever hierarchy has them. */
static void cgroup_usage(struct ustat *us)
{
	struct js_cgroup cg;
	if (js_cgroup_discover(&cg, NULL) < 0)
		return;
	if (js_cgroup_open(&cg, us->u->name, NULL) < 0) {
		js_cgroup_close(&cg);
		return;
	}
	for (size_t i = 0; i < cg.n; i++) {
		const struct js_cgroup_hier *h = &cg.h[i];
		int fd = h->fd;
		if (fd < 0)
			continue;
		if (h->v2) {
			if (us->mem_cur == -1 && read_num(fd, "memory.current", NULL, &us->mem_cur) == 0)
				read_num(fd, "memory.max", NULL, &us->mem_max);
			if (us->pids_cur == -1 && read_num(fd, "pids.current", NULL, &us->pids_cur) == 0)
				read_num(fd, "pids.max", NULL, &us->pids_max);
			if (us->cpu_usec == -1 && read_num(fd, "cpu.stat", "usage_usec", &us->cpu_usec) == 0) {
				char buf[128];
				long long quota, period;
				if (js_read_file_at(fd, "cpu.max", buf, sizeof buf, NULL) > 0) {
					if (!strncmp(buf, "max", 3))
						us->cpu_max_pct = -2;
					else if (sscanf(buf, "%lld %lld", &quota, &period) == 2 && period > 0)
						us->cpu_max_pct = quota * 100 / period;
				}
			}
			continue;
		}
		if (strstr(h->controllers, "memory") && us->mem_cur == -1 &&
		    read_num(fd, "memory.usage_in_bytes", NULL, &us->mem_cur) == 0)
			read_num(fd, "memory.limit_in_bytes", NULL, &us->mem_max);
		if (strstr(h->controllers, "pids") && us->pids_cur == -1 &&
		    read_num(fd, "pids.current", NULL, &us->pids_cur) == 0)
			read_num(fd, "pids.max", NULL, &us->pids_max);
		if (strstr(h->controllers, "cpuacct") && us->cpu_usec == -1 &&
		    read_num(fd, "cpuacct.usage", NULL, &us->cpu_usec) == 0)
			us->cpu_usec /= 1000; /* ns */
		if (strstr(h->controllers, "cpu") && us->cpu_max_pct == -1) {
			int64_t quota, period;
			if (read_num(fd, "cpu.cfs_quota_us", NULL, &quota) == 0 &&
			    read_num(fd, "cpu.cfs_period_us", NULL, &period) == 0)
				us->cpu_max_pct = quota == -2 ? -2 : period > 0 ? quota * 100 / period : -1;
		}
	}
	js_cgroup_close(&cg);
}

/* The image's release and build time (its metadata in images_dir). */
static void image_version(const struct js_global *g, struct ustat *us)
{
	struct js_err err = {0};
	_cleanup_close_ int fd = js_open_trusted_dir(g->images_dir, false, &err);
	if (fd < 0)
		return;
	char why[128], name[JS_NAME_MAX];
	if (js_parse_name(us->image, name, sizeof name, why, sizeof why) < 0)
		return;
	_cleanup_close_ int rootfd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rootfd >= 0)
		image_suite(rootfd, us->image_suite, sizeof us->image_suite);
	char info[8192];
	if (image_read_info(fd, name, info, sizeof info) == 0)
		ctl_kv_lookup(info, "built", us->image_built, sizeof us->image_built);
}

/* The user's writable layer: its kind and bound (lib/layer.h), and its use
 * (a plain directory's by walking state_dir/users/USER). An image layer is
 * read through a mount of it: only for lines that are printed. */
static void layer_size(const struct js_global *g, struct ustat *us)
{
	struct js_err err = {0};
	if (js_layer_usage(g->state_dir, us->u->name, &us->layer, &err) < 0) {
		snprintf(us->layer_text, sizeof us->layer_text, "?");
		return;
	}
	if (us->layer.kind == JS_LAYER_DIR && !us->layer.used_known) {
		_cleanup_close_ int sd = js_open_trusted_dir(g->state_dir, false, NULL);
		_cleanup_close_ int users =
		    sd < 0 ? -1 : openat(sd, "users", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		_cleanup_close_ int layer =
		    users < 0 ? -1 : openat(users, us->u->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		uint64_t bytes;
		if (layer >= 0 && ctl_tree_usage(layer, &bytes, NULL) == 0) {
			us->layer.used = bytes;
			us->layer.used_known = true;
		}
	}
	if (us->layer.used_known)
		us->layer_bytes = (int64_t)us->layer.used;
	ctl_layer_format(&us->layer, us->layer_text, sizeof us->layer_text);
}

/* Fills us; returns 1 when running, 0 when stopped, -1 when stuck (the
 * error printed). */
static int gather(const struct js_config *c, const struct js_user *u, struct ustat *us)
{
	const struct js_global *g = js_config_global(c);
	*us = (struct ustat){.u = u,
			     .init_pid = -1,
			     .sessions = -1,
			     .linger = "?",
			     .mem_cur = -1,
			     .mem_max = -1,
			     .pids_cur = -1,
			     .pids_max = -1,
			     .cpu_usec = -1,
			     .cpu_max_pct = -1,
			     .layer_bytes = -1,
			     .layer_text = "-"};
	/* LINGER and GPUS are the policy's, which decides at logout and at
	 * the next start, not what the init holds in its memory (root inside
	 * can change that). */
	_cleanup_free_ struct js_policy *pol = malloc(sizeof *pol);
	char why[512];
	if (pol && js_config_resolve_user(c, u->name, pol, why, sizeof why) == 0) {
		us->linger = pol->linger ? "yes" : "no";
		if (js_policy_format(pol, JS_KEY_GPUS, us->gpus, sizeof us->gpus) < 0)
			us->gpus[0] = '\0';
	}
	struct js_ctl_rep rep = {0};
	pid_t pid = 0;
	struct js_err err = {0};
	int r = js_container_status(g, u, &rep, &pid, &err);
	/* PROCS is what the user's cgroup holds, counted here as root: the
	 * container's processes and the host-side ones sshd started for a
	 * session alike. A process left with no container is shown, never
	 * hidden behind "stopped" (jsandboxctl stop kills it). */
	us->procs = js_container_procs(u);
	if (r == -ESRCH) {
		us->state = us->procs > 0 ? "leftover" : "stopped";
		if (us->procs > 0)
			cgroup_usage(us);
		return us->procs > 0 ? 1 : 0;
	}
	us->init_pid = (int)pid;
	/* The image name, the starting version, its protocol and the GPUs
	 * granted come from the runtime state jsandbox-root wrote. */
	_cleanup_close_ int rundir = js_open_trusted_dir(g->run_dir, false, NULL);
	if (rundir >= 0) {
		char name[16];
		snprintf(name, sizeof name, "%u", u->uid);
		_cleanup_close_ int udir = openat(rundir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct js_state st;
		if (udir >= 0 && js_state_read(udir, &st, NULL) == 0 && st.pid == pid) {
			if (js_strlcpy(us->image, st.image, sizeof us->image) < 0)
				us->image[0] = '\0';
			if (js_strlcpy(us->version, st.version, sizeof us->version) < 0)
				us->version[0] = '\0';
			if (js_strlcpy(us->granted, st.gpus, sizeof us->granted) < 0)
				us->granted[0] = '\0';
			us->proto = st.proto;
		}
	}
	if (us->image[0])
		image_version(g, us);
	if (r == -EPROTONOSUPPORT) {
		/* Started by a jsandbox whose protocol this one cannot speak
		 * (an upgrade): running, but not asked anything. */
		us->state = "incompatible";
		cgroup_usage(us);
		return 1;
	}
	if (r < 0) {
		/* Alive but not answering: say so, it is what an admin must see. */
		us->state = "stuck";
		ctl_error_js(&err, "%s", u->name);
		return -1;
	}
	us->state = rep.shutting_down ? "stopping" : "running";
	us->sessions = rep.sessions;
	cgroup_usage(us);
	return 1;
}

static void human_size(int64_t v, char *buf, size_t len)
{
	if (v == -2)
		snprintf(buf, len, "max");
	else if (v < 0)
		snprintf(buf, len, "-");
	else if (v >= (int64_t)1 << 30)
		snprintf(buf, len, "%.1fG", (double)v / (1 << 30));
	else
		snprintf(buf, len, "%.0fM", (double)v / (1 << 20));
}

static void human_num(int64_t v, char *buf, size_t len)
{
	if (v == -2)
		snprintf(buf, len, "max");
	else if (v < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%lld", (long long)v);
}

static void print_header(void)
{
	printf("%-16s %7s %-8s %8s %8s %6s %-6s %-12s %13s %11s %-7s %-7s %s\n", "USER", "UID", "STATE", "INIT",
	       "SESSIONS", "PROCS", "LINGER", "IMAGE", "MEMORY", "PIDS", "GPUS", "VERSION", "LAYER");
}

static void print_row(const struct ustat *us)
{
	char init[24] = "-", sess[24] = "-", procs[24] = "-", mem[64], mc[24], mm[24], pids[64], pc[24], pm[24];
	if (us->init_pid > 0)
		snprintf(init, sizeof init, "%d", us->init_pid);
	if (us->sessions >= 0)
		snprintf(sess, sizeof sess, "%ld", us->sessions);
	if (strcmp(us->state, "stopped"))
		snprintf(procs, sizeof procs, "%d", us->procs);
	human_size(us->mem_cur, mc, sizeof mc);
	human_size(us->mem_max, mm, sizeof mm);
	human_num(us->pids_cur, pc, sizeof pc);
	human_num(us->pids_max, pm, sizeof pm);
	snprintf(mem, sizeof mem, "%s/%s", mc, mm);
	snprintf(pids, sizeof pids, "%s/%s", pc, pm);
	bool up = !strcmp(us->state, "running") || !strcmp(us->state, "stopping") || !strcmp(us->state, "incompatible");
	printf("%-16s %7u %-8s %8s %8s %6s %-6s %-12s %13s %11s %-7s %-7s %s\n", us->u->name, us->u->uid, us->state,
	       init, sess, procs, up ? us->linger : "-", us->image[0] ? us->image : "-", us->mem_cur == -1 ? "-" : mem,
	       us->pids_cur == -1 ? "-" : pids, us->granted[0] ? us->granted : "-", us->version[0] ? us->version : "-",
	       us->layer_text);
}

/* A JSON string: quotes, backslashes and control characters escaped;
 * anything else passed as is (names and paths here are checked ASCII). */
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

static void json_num(int64_t v)
{
	if (v < 0)
		printf("null");
	else
		printf("%lld", (long long)v);
}

/* A limit: a number, "max" for none, null when unknown. */
static void json_limit(int64_t v)
{
	if (v == -2)
		printf("\"max\"");
	else
		json_num(v);
}

static void json_opt_str(const char *s)
{
	if (s[0])
		json_str(s);
	else
		printf("null");
}

static void print_json(const struct ustat *us, bool first)
{
	printf("%s\n    {\"user\": ", first ? "" : ",");
	json_str(us->u->name);
	printf(", \"uid\": %u, \"state\": ", us->u->uid);
	json_str(us->state);
	printf(", \"init_pid\": ");
	json_num(us->init_pid);
	printf(", \"sessions\": ");
	json_num(us->sessions);
	printf(", \"processes\": %d, \"linger\": ", us->procs);
	json_opt_str(strcmp(us->linger, "?") ? us->linger : "");
	printf(",\n     \"memory\": {\"current_bytes\": ");
	json_num(us->mem_cur);
	printf(", \"max_bytes\": ");
	json_limit(us->mem_max);
	printf("}, \"pids\": {\"current\": ");
	json_num(us->pids_cur);
	printf(", \"max\": ");
	json_limit(us->pids_max);
	printf("}, \"cpu\": {\"usage_usec\": ");
	json_num(us->cpu_usec);
	printf(", \"max_percent\": ");
	json_limit(us->cpu_max_pct);
	printf("},\n     \"gpus\": ");
	json_opt_str(us->gpus);
	printf(", \"gpus_granted\": ");
	json_opt_str(us->granted);
	printf(", \"image\": ");
	json_opt_str(us->image);
	printf(", \"image_suite\": ");
	json_opt_str(us->image_suite);
	printf(", \"image_built\": ");
	json_opt_str(us->image_built);
	printf(", \"layer_bytes\": ");
	json_num(us->layer_bytes);
	printf(", \"layer_limit_bytes\": ");
	json_limit(us->layer.kind == JS_LAYER_NONE ? -1 : us->layer.limit ? (int64_t)us->layer.limit : -2);
	printf(", \"layer_kind\": ");
	json_opt_str(us->layer.kind == JS_LAYER_NONE ? "" : js_layer_kind_name(us->layer.kind));
	printf(", \"started_by_version\": ");
	json_opt_str(us->version);
	printf(", \"protocol\": ");
	json_num(us->proto ? (int64_t)us->proto : -1);
	printf("}");
}

struct out {
	bool json;
	bool any; /* a JSON entry was printed */
};

/* One user; returns 1 when running, 0 when not, -1 on error. */
static int print_status(const struct js_config *c, const struct js_user *u, bool quiet_stopped, struct out *o)
{
	struct ustat us;
	int r = gather(c, u, &us);
	if (r == 0 && quiet_stopped)
		return 0;
	layer_size(js_config_global(c), &us);
	if (o->json) {
		print_json(&us, !o->any);
		o->any = true;
	} else
		print_row(&us);
	return r;
}

static void begin(const struct out *o)
{
	if (o->json)
		printf("{\"jsandbox_version\": \"" JSANDBOX_VERSION "\", \"protocol\": %u, \"users\": [",
		       JS_PROTO_VERSION);
	else
		print_header();
}

static void end(const struct out *o)
{
	if (o->json)
		printf("%s]}\n", o->any ? "\n  " : "");
}

int cmd_status(int argc, char **argv, const struct js_config *c)
{
	struct out o = {0};
	int a = 1;
	for (; a < argc; a++) {
		if (!strcmp(argv[a], "--json"))
			o.json = true;
		else if (!strcmp(argv[a], "-h") || !strcmp(argv[a], "--help"))
			return ctl_help();
		else if (!strcmp(argv[a], "--")) {
			a++;
			break;
		} else if (argv[a][0] == '-' && argv[a][1])
			return ctl_usage_error("status: unknown option \"%s\"", argv[a]);
		else
			break;
	}
	if (argc - a > 1)
		return ctl_usage_error("status: expected at most one USER");
	const struct js_global *g = js_config_global(c);
	if (argc - a == 1) {
		struct js_user u;
		if (ctl_lookup_user(argv[a], &u) < 0)
			return CTL_EXIT_FAIL;
		begin(&o);
		int r = print_status(c, &u, false, &o);
		end(&o);
		return r < 0 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
	}
	_cleanup_closedir_ DIR *d = NULL;
	int rr = ctl_open_run_dir(g, &d);
	if (rr == -ENOENT) {
		begin(&o); /* nothing ever ran */
		end(&o);
		return CTL_EXIT_OK;
	}
	if (rr < 0)
		return CTL_EXIT_FAIL;
	begin(&o);
	int status = CTL_EXIT_OK;
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end_;
		errno = 0;
		unsigned long uid = strtoul(e->d_name, &end_, 10);
		if (errno || *end_ || end_ == e->d_name || uid == 0 || uid > UINT32_MAX)
			continue;
		struct js_user u;
		/* A runtime directory without an account, or whose account's
		 * name the module would refuse: shown in the table, reported. */
		bool orphan = js_user_by_uid((uid_t)uid, &u, NULL) < 0;
		if (orphan || js_check_name("user name", u.name, JS_USER_NAME_MAX - 1, NULL) < 0) {
			if (!o.json)
				printf("%-16s %7lu %-8s\n", "?", uid, orphan ? "orphaned" : "bad-name");
			else
				ctl_error("uid %lu: %s", uid, orphan ? "orphaned runtime directory" : "bad user name");
			if (!orphan)
				status = CTL_EXIT_FAIL;
			continue;
		}
		if (print_status(c, &u, true, &o) < 0)
			status = CTL_EXIT_FAIL;
	}
	end(&o);
	return status;
}

void ctl_log_stopped(const struct js_user *u, bool ended, const char *reason)
{
	if (ended)
		syslog(LOG_AUTHPRIV | LOG_NOTICE, "event=container-stop user=%s uid=%u reason=%s by_uid=%u", u->name,
		       u->uid, reason, (unsigned)getuid());
}

int cmd_stop(int argc, char **argv, const struct js_config *c)
{
	struct js_user u;
	int r = ctl_parse_one_user(argc, argv, &u);
	if (r >= 0)
		return r;
	struct js_err err = {0};
	char q[600];
	bool ended = false;
	r = js_container_stop(js_config_global(c), &u, &ended, &err);
	ctl_log_stopped(&u, ended, "stop");
	if (r < 0) {
		ctl_error_js(&err, "stop %s", u.name);
		ctl_log(LOG_ERR, "stop", "user=%s result=failed reason=%s", u.name, ctl_q(err.msg, q, sizeof q));
		return CTL_EXIT_FAIL;
	}
	ctl_log(LOG_NOTICE, "stop", "user=%s result=ok", u.name);
	return CTL_EXIT_OK;
}

int cmd_reset(int argc, char **argv, const struct js_config *c)
{
	/* USER [--keep-backup], in either order; after "--" only USER */
	bool keep = false, opts = true;
	const char *name = NULL;
	for (int i = 1; i < argc; i++) {
		if (opts && !strcmp(argv[i], "--")) {
			opts = false;
			continue;
		}
		if (opts && (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")))
			return ctl_help();
		if (opts && !strcmp(argv[i], "--keep-backup"))
			keep = true;
		else if (opts && argv[i][0] == '-' && argv[i][1])
			return ctl_usage_error("reset: unknown option \"%s\"", argv[i]);
		else if (name)
			return ctl_usage_error("reset: expected one USER");
		else
			name = argv[i];
	}
	if (!name)
		return ctl_usage_error("reset: expected one USER");
	struct js_user u;
	if (ctl_lookup_user(name, &u) < 0)
		return CTL_EXIT_FAIL;
	struct js_err err = {0};
	char q[600], backup[PATH_MAX] = "";
	bool ended = false;
	int r = keep ? ctl_reset_backup(js_config_global(c), &u, backup, sizeof backup, &ended, &err)
		     : js_container_reset(js_config_global(c), &u, NULL, NULL, &ended, &err);
	ctl_log_stopped(&u, ended, "reset");
	if (r < 0) {
		ctl_error_js(&err, "reset %s", u.name);
		ctl_log(LOG_ERR, "reset", "user=%s result=failed reason=%s", u.name, ctl_q(err.msg, q, sizeof q));
		return CTL_EXIT_FAIL;
	}
	ctl_log(LOG_NOTICE, "reset", "user=%s result=ok%s%s", u.name, backup[0] ? " backup=" : "",
		backup[0] ? ctl_q(backup, q, sizeof q) : "");
	printf("%s: container stopped, writable layer removed; the next login starts from the image\n", u.name);
	if (keep)
		printf("%s: %s\n", u.name, backup[0] ? backup : "no layer, no backup");
	return CTL_EXIT_OK;
}
