/* SPDX-License-Identifier: MIT */
/* jsandboxctl gpus: the host's GPUs as jsandbox numbers them, their device
 * nodes, and which sections of the policy grant each one.
 * jsandboxctl gpus --usage [--json]: per GPU, the processes that hold its
 * node open (root's view of /proc) and whose container they are in.
 * jsandboxctl apply USER: the policy as it is now, applied to USER's
 * running container (limits and device rules), nothing killed.
 *
 * Both use the library calls the PAM module uses (js_gpu_discover,
 * js_gpu_resolve, js_devices_build, js_container_apply), so what they show
 * or do is what a login gets. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cgroup.h"
#include "container.h"
#include "ctl.h"
#include "devices.h"
#include "ebpf.h"
#include "gpu.h"
#include "safefs.h"

static void print_rule_line(const char *indent, const struct js_dev_rule *r)
{
	char rule[64];
	js_dev_rule_format(r, rule, sizeof rule);
	printf("%s%-12s %s\n", indent, rule, r->path[0] ? r->path : "(rule only, no node)");
}

int ctl_print_devices(const struct js_global *g, const struct js_policy *p)
{
	struct js_dev_list l;
	struct js_err err = {0};
	if (js_devices_build(g->host_root, &p->gpus, p->devices, p->ndevices, &l, &err) < 0) {
		printf("devices (resolved): cannot be built: %s; logins are refused\n", err.msg);
		return -1;
	}
	printf("devices (resolved under host_root %s): %zu rules; the container's /dev has the nodes named\n",
	       g->host_root, l.n);
	for (size_t i = 0; i < l.n; i++)
		print_rule_line("  ", &l.r[i]);
	js_dev_list_free(&l);
	return 0;
}

/* The policy a section gives, as the PAM module resolves it: a [user:]
 * section for that user (with their real groups when the account
 * exists), a [group:] section for a member of that group alone, [default]
 * for anyone else. "*" can never be a user name, so no [user:] applies. */
int ctl_section_policy(const struct js_config *c, const char *sec, struct js_policy *p, char *why, size_t wl)
{
	if (!strncmp(sec, "user:", 5)) {
		if (getpwnam(sec + 5))
			return js_config_resolve_user(c, sec + 5, p, why, wl);
		return js_config_resolve(c, sec + 5, NULL, 0, p, why, wl);
	}
	if (!strncmp(sec, "group:", 6)) {
		const char *groups[1] = {sec + 6};
		return js_config_resolve(c, "*", groups, 1, p, why, wl);
	}
	if (!strcmp(sec, "default"))
		return js_config_resolve(c, "*", NULL, 0, p, why, wl);
	return 1; /* [global]: no policy */
}

/* ---- gpus --usage: who holds which GPU open ---- */

struct holder {
	size_t gpu; /* index into the GPU list */
	pid_t pid;
	uid_t uid;
	char user[64];	   /* the container's user, else the passwd name, else "" */
	bool container;	   /* in jsandbox's cgroup of that user */
	char command[256]; /* the command line, spaces between arguments */
};

struct holders {
	size_t n, cap;
	struct holder *v;
};

/* Which GPU's own node (not a shared one: every CUDA process holds
 * nvidiactl) a character device is. */
static long gpu_of(const struct js_gpu_list *all, dev_t rdev)
{
	for (size_t i = 0; i < all->n; i++)
		for (size_t k = 0; k < all->gpu[i].nnodes; k++) {
			const struct js_dev_rule *r = &all->gpu[i].node[k];
			if (r->type == 'c' && (long)major(rdev) == r->major && (long)minor(rdev) == r->minor)
				return (long)i;
		}
	return -1;
}

/* The user whose jsandbox cgroup the process is in ("…/jsandbox/<user>"
 * in any line of /proc/<pid>/cgroup), else "". */
static void container_user(int pidfd, char *out, size_t len)
{
	char buf[4096];
	out[0] = '\0';
	if (js_read_file_at(pidfd, "cgroup", buf, sizeof buf, NULL) < 0)
		return;
	const char *p = strstr(buf, "/jsandbox/");
	if (!p)
		return;
	p += 10;
	size_t l = strcspn(p, "/\n");
	if (l && l < len) {
		memcpy(out, p, l);
		out[l] = '\0';
	}
}

static int add_holder(struct holders *h, const struct holder *x)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->v[i].gpu == x->gpu && h->v[i].pid == x->pid)
			return 0;
	if (h->n == h->cap) {
		size_t nc = h->cap ? h->cap * 2 : 16;
		struct holder *v = realloc(h->v, nc * sizeof *v);
		if (!v)
			return -ENOMEM;
		h->v = v;
		h->cap = nc;
	}
	h->v[h->n++] = *x;
	return 0;
}

/* Every process with a GPU's node open, from this (root's) view of /proc:
 * fstatat on /proc/<pid>/fd/<n> follows the magic link to the inode
 * without opening it, so no driver is called. */
static int scan_holders(const struct js_gpu_list *all, struct holders *h)
{
	_cleanup_closedir_ DIR *proc = opendir("/proc");
	if (!proc)
		return -errno;
	struct dirent *pe;
	while ((pe = readdir(proc))) {
		char *end;
		long pid = strtol(pe->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		_cleanup_close_ int pfd = openat(dirfd(proc), pe->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pfd < 0)
			continue; /* gone */
		int ffd = openat(pfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (ffd < 0)
			continue;
		_cleanup_closedir_ DIR *fds = fdopendir(ffd);
		if (!fds) {
			close(ffd);
			continue;
		}
		struct dirent *fe;
		while ((fe = readdir(fds))) {
			struct stat st;
			if (fe->d_name[0] == '.' || fstatat(dirfd(fds), fe->d_name, &st, 0) < 0 || !S_ISCHR(st.st_mode))
				continue;
			long gi = gpu_of(all, st.st_rdev);
			if (gi < 0)
				continue;
			struct holder x = {.gpu = (size_t)gi, .pid = (pid_t)pid};
			struct stat ps;
			x.uid = fstat(pfd, &ps) == 0 ? ps.st_uid : (uid_t)-1;
			container_user(pfd, x.user, sizeof x.user);
			x.container = x.user[0] != '\0';
			if (!x.container) {
				struct passwd *pw = getpwuid(x.uid);
				if (pw)
					js_strlcpy(x.user, pw->pw_name, sizeof x.user);
			}
			int n = js_read_file_at(pfd, "cmdline", x.command, sizeof x.command, NULL);
			for (int k = 0; k + 1 < n; k++)
				if (x.command[k] == '\0')
					x.command[k] = ' ';
			if (n <= 0 || !x.command[0])
				js_read_file_at(pfd, "comm", x.command, sizeof x.command, NULL);
			x.command[strcspn(x.command, "\n")] = '\0';
			if (add_holder(h, &x) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

static void json_str(const char *s)
{
	putchar('"');
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			printf("\\%c", *c);
		else if (*c < 0x20 || *c == 0x7f)
			printf("\\u%04x", *c);
		else
			putchar(*c);
	}
	putchar('"');
}

static int print_usage(const struct js_gpu_list *all, bool json)
{
	struct holders h = {0};
	int r = scan_holders(all, &h);
	if (r < 0) {
		free(h.v);
		ctl_errorm(-r, "cannot read /proc");
		return CTL_EXIT_FAIL;
	}
	if (json)
		printf("{\"gpus\":[");
	for (size_t i = 0; i < all->n; i++) {
		const struct js_gpu *gp = &all->gpu[i];
		if (json) {
			printf("%s{\"index\":%u,\"pci\":", i ? "," : "", gp->index);
			json_str(gp->pci);
			printf(",\"vendor\":");
			json_str(js_gpu_vendor_name(gp->vendor));
			printf(",\"uuid\":");
			json_str(gp->uuid);
			printf(",\"node\":");
			json_str(gp->nnodes ? gp->node[0].path : "");
			printf(",\"processes\":[");
		} else {
			printf("gpu %u: pci %s %s\n", gp->index, gp->pci, gp->nnodes ? gp->node[0].path : "");
		}
		size_t k = 0;
		for (size_t j = 0; j < h.n; j++) {
			const struct holder *x = &h.v[j];
			if (x->gpu != i)
				continue;
			if (json) {
				printf("%s{\"pid\":%d,\"uid\":%ld,\"user\":", k ? "," : "", (int)x->pid,
				       x->uid == (uid_t)-1 ? -1L : (long)x->uid);
				json_str(x->user);
				printf(",\"container\":%s,\"command\":", x->container ? "true" : "false");
				json_str(x->command);
				putchar('}');
			} else {
				printf("  %s pid %d%s: %s\n", x->user[0] ? x->user : "?", (int)x->pid,
				       x->container ? " (container)" : " (host, not sandboxed)", x->command);
			}
			k++;
		}
		if (json)
			printf("]}");
		else if (!k)
			printf("  nobody\n");
	}
	if (json)
		printf("]}\n");
	free(h.v);
	return CTL_EXIT_OK;
}

int cmd_gpus(int argc, char **argv, const struct js_config *c)
{
	bool usage = false, json = false;
	for (int a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--usage"))
			usage = true;
		else if (!strcmp(argv[a], "--json"))
			json = true;
		else if (!strcmp(argv[a], "-h") || !strcmp(argv[a], "--help"))
			return ctl_help();
		else
			return ctl_usage_error("gpus: unknown argument \"%s\" (gpus [--usage [--json]])", argv[a]);
	}
	if (json && !usage)
		return ctl_usage_error("gpus: --json goes with --usage");
	const struct js_global *g = js_config_global(c);
	if (usage) {
		struct js_gpu_list all;
		struct js_err err = {0};
		if (js_gpu_discover(g->host_root, &all, &err) < 0) {
			ctl_error_js(&err, "GPU discovery under \"%s\"", g->host_root);
			return CTL_EXIT_FAIL;
		}
		int st = print_usage(&all, json);
		js_gpu_list_free(&all);
		return st;
	}
	struct js_gpu_list all;
	struct js_err err = {0};
	if (js_gpu_discover(g->host_root, &all, &err) < 0) {
		ctl_error_js(&err, "GPU discovery under \"%s\"", g->host_root);
		return CTL_EXIT_FAIL;
	}
	printf("%zu GPU%s under host_root %s\n", all.n, all.n == 1 ? "" : "s", g->host_root);

	/* Which sections grant which GPU: one resolution per section. */
	size_t ns = js_config_nsections(c);
	_cleanup_free_ bool *grant = calloc((ns ? ns : 1) * (all.n ? all.n : 1), sizeof *grant);
	_cleanup_free_ char *state = calloc(ns ? ns : 1, 1); /* 0 skip, 'g' resolved, 'x' exempt, 'e' error */
	_cleanup_free_ struct js_policy *p = malloc(sizeof *p);
	/* Per section, its entries that only a CDI spec resolves (CDI names,
	 * MIG- UUIDs): listed apart, after the table. */
	_cleanup_free_ char *cdi = calloc(ns ? ns : 1, 512);
	if (!grant || !state || !p || !cdi) {
		js_gpu_list_free(&all);
		ctl_error("out of memory");
		return CTL_EXIT_FAIL;
	}
	int status = CTL_EXIT_OK;
	for (size_t s = 0; s < ns; s++) {
		const char *sec = js_config_section(c, s);
		char why[512] = "";
		int rr = ctl_section_policy(c, sec, p, why, sizeof why);
		if (rr > 0)
			continue;
		if (rr < 0) {
			state[s] = 'e';
			ctl_error("[%s]: %s", sec, why[0] ? why : "cannot resolve");
			status = CTL_EXIT_FAIL;
			continue;
		}
		if (!p->sandbox) {
			state[s] = 'x';
			continue;
		}
		struct js_err e = {0};
		struct js_gpu_sel rest = p->gpus;
		rest.n = 0;
		for (size_t k = 0; p->gpus.kind == JS_GPUS_LIST && k < p->gpus.n && k < JS_GPU_MAX; k++) {
			const struct js_gpu_ref *ref = &p->gpus.ref[k];
			if (ref->type == JS_GPU_CDI || (ref->type == JS_GPU_UUID && !strncmp(ref->id, "MIG-", 4))) {
				size_t l = strlen(cdi + s * 512);
				snprintf(cdi + s * 512 + l, 512 - l, "%s%s", l ? ", " : "", ref->id);
			} else {
				rest.ref[rest.n++] = *ref;
			}
		}
		if (js_gpu_resolve(&all, &rest, grant + s * all.n, &e) < 0) {
			state[s] = 'e';
			ctl_error("[%s] gpus: %s (logins it applies to are refused)", sec, e.msg);
			status = CTL_EXIT_FAIL;
			continue;
		}
		state[s] = 'g';
	}

	for (size_t i = 0; i < all.n; i++) {
		const struct js_gpu *gp = &all.gpu[i];
		printf("gpu %u: pci %s vendor %s uuid %s model \"%s\"\n", gp->index, gp->pci,
		       js_gpu_vendor_name(gp->vendor), gp->uuid[0] ? gp->uuid : "-", gp->model);
		for (size_t k = 0; k < gp->nnodes; k++)
			print_rule_line("  node ", &gp->node[k]);
		printf("  granted by:");
		size_t n = 0;
		for (size_t s = 0; s < ns; s++) {
			if (state[s] == 'g' && grant[s * all.n + i]) {
				printf(" [%s]", js_config_section(c, s));
				n++;
			}
		}
		printf("%s\n", n ? "" : " nobody");
	}
	for (size_t s = 0; s < ns; s++)
		if (state[s] == 'g' && cdi[s * 512])
			printf("[%s] also grants, through the host's CDI specs at login: %s\n", js_config_section(c, s),
			       cdi + s * 512);
	for (size_t v = 0; v < JS_GPU_VENDOR__COUNT; v++) {
		if (!all.shared[v].n)
			continue;
		printf("shared %s nodes, granted with any %s GPU:\n", js_gpu_vendor_name((enum js_gpu_vendor)v),
		       js_gpu_vendor_name((enum js_gpu_vendor)v));
		for (size_t k = 0; k < all.shared[v].n; k++)
			print_rule_line("  node ", &all.shared[v].r[k]);
	}
	for (size_t s = 0; s < ns; s++)
		if (state[s] == 'x')
			printf("note: [%s] is exempt (sandbox = no): its users run on the host with the host's "
			       "permissions on every node\n",
			       js_config_section(c, s));
	js_gpu_list_free(&all);
	return status;
}

/* What the kernel enforces now, per hierarchy: v1 devices.list, and our
 * eBPF program on cgroup v2, so an admin sees that both are in place. */
static void print_enforcement(const struct js_user *u)
{
	struct js_cgroup cg;
	if (js_cgroup_discover(&cg, NULL) < 0)
		return;
	if (js_cgroup_open(&cg, u->name, NULL) < 0) {
		js_cgroup_close(&cg);
		return;
	}
	for (size_t i = 0; i < cg.n; i++) {
		const struct js_cgroup_hier *h = &cg.h[i];
		if (h->fd < 0)
			continue;
		if (h->v2) {
			uint32_t ids[4];
			struct js_err e = {0};
			int n = js_ebpf_query(h->fd, ids, JS_ARRAY_SIZE(ids), &e);
			if (n > 0)
				printf("  cgroup v2 %s/jsandbox/%s: eBPF program id %u attached (%s)\n", h->mountpoint,
				       u->name, ids[0], JS_EBPF_PROG_NAME);
			else
				printf("  cgroup v2 %s/jsandbox/%s: NO eBPF program attached%s%s\n", h->mountpoint,
				       u->name, n < 0 ? ": " : "", n < 0 ? e.msg : "");
			continue;
		}
		if (!strstr(h->controllers, "devices"))
			continue;
		char buf[65536];
		int n = js_read_file_at(h->fd, "devices.list", buf, sizeof buf, NULL);
		int lines = 0;
		for (int k = 0; k < n; k++)
			lines += buf[k] == '\n';
		printf("  cgroup v1 devices %s/jsandbox/%s: devices.list has %d rules\n", h->mountpoint, u->name,
		       lines);
	}
	js_cgroup_close(&cg);
}

static int apply_one(const struct js_config *c, const struct js_user *u)
{
	struct js_err err = {0};
	_cleanup_free_ struct js_policy *p = malloc(sizeof *p);
	char why[512] = "", q[600];
	if (!p) {
		ctl_error("out of memory");
		return CTL_EXIT_FAIL;
	}
	if (js_config_resolve_user(c, u->name, p, why, sizeof why) < 0) {
		ctl_error("cannot resolve the policy of \"%s\": %s", u->name, why);
		ctl_log(LOG_ERR, "apply", "user=%s result=failed reason=%s", u->name, ctl_q(why, q, sizeof q));
		return CTL_EXIT_FAIL;
	}
	if (!p->sandbox) {
		printf("%s is exempt (sandbox = no): nothing to apply\n", u->name);
		ctl_log(LOG_NOTICE, "apply", "user=%s result=ok running=no exempt=yes", u->name);
		return CTL_EXIT_OK;
	}
	bool running = false;
	if (js_container_apply(js_config_global(c), p, u, &running, &err) < 0) {
		ctl_error_js(&err, "apply %s (the device rules now allow the standard nodes only)", u->name);
		ctl_log(LOG_ERR, "apply", "user=%s result=failed reason=%s", u->name, ctl_q(err.msg, q, sizeof q));
		return CTL_EXIT_FAIL;
	}
	/* One line per apply, whether or not it changed a container. */
	if (!running)
		printf("%s has no running container; the next login gets the policy\n", u->name);
	else {
		printf("%s: limits and device rules applied to the running container\n", u->name);
		print_enforcement(u);
	}
	ctl_log(LOG_NOTICE, "apply", "user=%s result=ok running=%s", u->name, running ? "yes" : "no");
	return CTL_EXIT_OK;
}

/* apply --all: every user with a runtime directory under run_dir (a
 * container that may be running); apply_one finds out. */
static int apply_all(const struct js_config *c)
{
	const struct js_global *g = js_config_global(c);
	_cleanup_closedir_ DIR *d = NULL;
	int rr = ctl_open_run_dir(g, &d);
	if (rr == -ENOENT) {
		printf("no container is running\n");
		return CTL_EXIT_OK;
	}
	if (rr < 0)
		return CTL_EXIT_FAIL;
	struct js_err err = {0};
	int status = CTL_EXIT_OK;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end;
		errno = 0;
		unsigned long uid = strtoul(e->d_name, &end, 10);
		if (errno || *end || end == e->d_name || uid == 0 || uid > UINT32_MAX)
			continue;
		struct js_user u;
		if (js_user_by_uid((uid_t)uid, &u, &err) < 0) {
			ctl_error_js(&err, "uid %lu", uid);
			status = CTL_EXIT_FAIL;
			continue;
		}
		if (js_check_name("user name", u.name, JS_USER_NAME_MAX - 1, &err) < 0) {
			ctl_error_js(&err, "uid %lu", uid);
			status = CTL_EXIT_FAIL;
			continue;
		}
		n++;
		if (apply_one(c, &u) != CTL_EXIT_OK)
			status = CTL_EXIT_FAIL;
	}
	if (n == 0)
		printf("no container is running\n");
	return status;
}

int cmd_apply(int argc, char **argv, const struct js_config *c)
{
	if (argc == 2 && !strcmp(argv[1], "--all"))
		return apply_all(c);
	struct js_user u;
	int r = ctl_parse_one_user(argc, argv, &u);
	if (r >= 0)
		return r;
	return apply_one(c, &u);
}
