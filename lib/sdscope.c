/* SPDX-License-Identifier: MIT */
/* The user's delegated systemd scope (see sdscope.h). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "sdscope.h"

#define JOB_TIMEOUT_USEC    (30ULL * 1000000ULL)
#define GONE_TIMEOUT_MS	    5000
#define SCOPE_STOP_TIMEOUT  (10ULL * 1000000ULL)
#define SYSTEMD_DEST	    "org.freedesktop.systemd1"
#define SYSTEMD_PATH	    "/org/freedesktop/systemd1"
#define SYSTEMD_MANAGER_IFC "org.freedesktop.systemd1.Manager"

bool js_sd_manages(const char *v2_mountpoint)
{
	struct statfs sf;
	return access("/run/systemd/system", F_OK) == 0 && !strcmp(v2_mountpoint, "/sys/fs/cgroup") &&
	       statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

static int user_uid(const char *name, uid_t *uid, struct js_err *err)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int r = getpwnam_r(name, &pw, buf, sizeof buf, &res);
	if (r != 0)
		return js_failm(err, r, "cannot look up user \"%s\"", name);
	if (!res)
		return js_fail(err, ENOENT, "no user \"%s\"", name);
	*uid = pw.pw_uid;
	return 0;
}

int js_sd_scope_path(const char *name, char *rel, size_t len, struct js_err *err)
{
	uid_t uid;
	int r = user_uid(name, &uid, err);
	if (r < 0)
		return r;
	if (snprintf(rel, len, "user.slice/user-%u.slice/jsandbox-%u.scope", (unsigned)uid, (unsigned)uid) >= (int)len)
		return js_fail(err, ENAMETOOLONG, "scope path too long");
	return 0;
}

/* libsystemd is loaded here, when a scope is started, not linked: every
 * jsandbox-root (one per login step: account, session, close) would map it
 * and the five libraries it pulls in (gcrypt, gpg-error, lzma, zstd, lz4)
 * at each exec, about 1.4 ms on a 2-core build machine (docs/benchmarks.md),
 * where only a container's start on a systemd host talks to systemd. The
 * header still gives every function its type. The soname is fixed and the
 * process's environment is the module's empty one (jsandboxctl: the admin's),
 * so the loader's standard search finds systemd's own library. Each
 * function is listed once, as X(field, symbol). */
#define BUS_API(X)                                                                                                     \
	X(open_system, sd_bus_open_system)                                                                             \
	X(match_signal, sd_bus_match_signal)                                                                           \
	X(message_new_method_call, sd_bus_message_new_method_call)                                                     \
	X(message_append, sd_bus_message_append)                                                                       \
	X(message_open_container, sd_bus_message_open_container)                                                       \
	X(message_close_container, sd_bus_message_close_container)                                                     \
	X(call, sd_bus_call)                                                                                           \
	X(message_read, sd_bus_message_read)                                                                           \
	X(process, sd_bus_process)                                                                                     \
	X(wait, sd_bus_wait)                                                                                           \
	X(error_free, sd_bus_error_free)                                                                               \
	X(message_unref, sd_bus_message_unref)                                                                         \
	X(slot_unref, sd_bus_slot_unref)                                                                               \
	X(flush_close_unref, sd_bus_flush_close_unref)

#define BUS_FIELD(field, sym) __typeof__(sym) *field;
static struct {
	BUS_API(BUS_FIELD)
} bus_api;
#undef BUS_FIELD

#define LIBSYSTEMD "libsystemd.so.0"

/* dlsym NAME into *FN (a function pointer of the symbol's own type: POSIX
 * lets dlsym's result convert to it). */
static int bus_sym(void *h, const char *name, void *fn, size_t size, struct js_err *err)
{
	void *sym = dlsym(h, name);
	if (!sym)
		return js_fail(err, ELIBACC, "systemd: %s has no %s", LIBSYSTEMD, name);
	memcpy(fn, &sym, size);
	return 0;
}

static int load_bus_api(struct js_err *err)
{
	static bool loaded;
	if (loaded)
		return 0;
	void *h = dlopen(LIBSYSTEMD, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *why = dlerror();
		return js_fail(err, ELIBACC, "systemd: cannot load %s: %s", LIBSYSTEMD, why ? why : "?");
	}
	int r;
#define BUS_LOAD(field, sym)                                                                                           \
	_Static_assert(sizeof bus_api.field == sizeof(void *), "a function pointer is a pointer's size");              \
	if ((r = bus_sym(h, #sym, &bus_api.field, sizeof bus_api.field, err)) < 0) {                                   \
		dlclose(h);                                                                                            \
		return r;                                                                                              \
	}
	BUS_API(BUS_LOAD)
#undef BUS_LOAD
	loaded = true; /* kept loaded for the process's life */
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* "1" in the scope's cgroup.events populated line: some process is in it
 * or below it, so systemd does not stop it for being empty. */
static bool populated(int sfd)
{
	char ev[256];
	if (js_read_file_at(sfd, "cgroup.events", ev, sizeof ev, NULL) < 0)
		return false;
	return strstr(ev, "populated 1") != NULL;
}

struct job_wait {
	const char *path; /* the job's object path */
	bool done;
	char result[32];
};

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *unused)
{
	(void)unused;
	struct job_wait *w = userdata;
	uint32_t id;
	const char *path, *unit, *result;
	if (bus_api.message_read(m, "uoss", &id, &path, &unit, &result) < 0)
		return 0;
	if (w->path && !strcmp(path, w->path)) {
		w->done = true;
		js_strlcpy(w->result, result, sizeof w->result);
	}
	return 0;
}

/* StartTransientUnit jsandbox-UID.scope with pid in it; wait for its job.
 * `loginctl terminate-user` (and logind's own stop of a user after the
 * last logout) stops user@UID.service on systemd 252, and from 256 on
 * user-runtime-dir@UID.service, which user@ is bound to: PartOf= the first
 * and BindsTo= the second stop the scope either way. BindsTo= also keeps
 * user-runtime-dir@ (and /run/user/UID) up while the container runs: it
 * stops when unneeded, and the gated user@ does not need it. */
static int start_scope(uid_t uid, const char *name, pid_t pid, struct js_err *err)
{
	char unit[64], slice[64], rtdir[80], mgr[64], desc[128];
	snprintf(unit, sizeof unit, "jsandbox-%u.scope", (unsigned)uid);
	snprintf(slice, sizeof slice, "user-%u.slice", (unsigned)uid);
	snprintf(rtdir, sizeof rtdir, "user-runtime-dir@%u.service", (unsigned)uid);
	snprintf(mgr, sizeof mgr, "user@%u.service", (unsigned)uid);
	snprintf(desc, sizeof desc, "jsandbox container of %s", name);
	int r = load_bus_api(err);
	if (r < 0)
		return r;

	sd_bus *bus = NULL;
	sd_bus_message *m = NULL, *reply = NULL;
	sd_bus_slot *slot = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	struct job_wait w = {0};
	char *job = NULL;
	r = bus_api.open_system(&bus);
	if (r < 0) {
		js_failm(err, -r, "systemd: cannot connect to the system bus");
		goto out;
	}
	/* The match before the call: the job may end before the reply is
	 * read. Job mode "replace": user-runtime-dir@UID may have a stop job
	 * queued (it stops when unneeded, and the gated user@UID.service
	 * that needed it did not start); the scope's start replaces it. */
	r = bus_api.match_signal(bus, &slot, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER_IFC, "JobRemoved",
				 on_job_removed, &w);
	if (r >= 0)
		r = bus_api.message_new_method_call(bus, &m, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER_IFC,
						    "StartTransientUnit");
	if (r >= 0)
		r = bus_api.message_append(m, "ss", unit, "replace");
	if (r >= 0)
		r = bus_api.message_open_container(m, 'a', "(sv)");
	if (r >= 0)
		r = bus_api.message_append(m, "(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)", "Description", "s", desc, "Slice",
					   "s", slice, "Delegate", "b", 1, "PIDs", "au", 1, (uint32_t)pid, "BindsTo",
					   "as", 1, rtdir, "After", "as", 1, rtdir, "PartOf", "as", 1, mgr,
					   "CollectMode", "s", "inactive-or-failed", "TimeoutStopUSec", "t",
					   (uint64_t)SCOPE_STOP_TIMEOUT);
	if (r >= 0)
		r = bus_api.message_close_container(m);
	if (r >= 0)
		r = bus_api.message_append(m, "a(sa(sv))", 0);
	if (r < 0) {
		js_failm(err, -r, "systemd: cannot build the StartTransientUnit call");
		goto out;
	}
	r = bus_api.call(bus, m, JOB_TIMEOUT_USEC, &e, &reply);
	if (r < 0) {
		js_fail(err, -r, "systemd: cannot start %s: %s", unit, e.message ? e.message : strerror(-r));
		goto out;
	}
	const char *jp;
	r = bus_api.message_read(reply, "o", &jp);
	if (r < 0 || !(job = strdup(jp))) {
		js_fail(err, r < 0 ? -r : ENOMEM, "systemd: no job for %s", unit);
		r = r < 0 ? r : -ENOMEM;
		goto out;
	}
	w.path = job;
	long deadline = now_ms() + (long)(JOB_TIMEOUT_USEC / 1000);
	while (!w.done) {
		r = bus_api.process(bus, NULL);
		if (r < 0) {
			js_failm(err, -r, "systemd: waiting for %s", unit);
			goto out;
		}
		if (r > 0)
			continue;
		long left = deadline - now_ms();
		if (left <= 0) {
			r = js_fail(err, ETIMEDOUT, "systemd: the job starting %s did not finish", unit);
			goto out;
		}
		r = bus_api.wait(bus, (uint64_t)left * 1000);
		if (r < 0) {
			js_failm(err, -r, "systemd: waiting for %s", unit);
			goto out;
		}
	}
	r = strcmp(w.result, "done") ? js_fail(err, EIO, "systemd: starting %s: job %s", unit, w.result) : 0;
out:
	free(job);
	bus_api.error_free(&e);
	bus_api.message_unref(reply);
	bus_api.message_unref(m);
	bus_api.slot_unref(slot);
	bus_api.flush_close_unref(bus);
	return r;
}

int js_sd_scope_ensure(const char *v2_mountpoint, const char *name, struct js_err *err)
{
	uid_t uid;
	int r = user_uid(name, &uid, err);
	if (r < 0)
		return r;
	char rel[128];
	if ((r = js_sd_scope_path(name, rel, sizeof rel, err)) < 0)
		return r;
	_cleanup_close_ int mfd = open(v2_mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0)
		return js_failm(err, errno, "cannot open \"%s\"", v2_mountpoint);
	/* A scope whose last process just left is being stopped by systemd:
	 * let it go (bounded), then start a new one. */
	long deadline = now_ms() + GONE_TIMEOUT_MS;
	for (;;) {
		_cleanup_close_ int sfd = openat(mfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sfd < 0)
			break;
		if (populated(sfd))
			return 0; /* running: the container's processes hold it */
		if (now_ms() > deadline)
			return js_fail(err, EBUSY, "systemd: %s/%s is empty but still there", v2_mountpoint, rel);
		struct timespec ts = {0, 20 * 1000000L};
		nanosleep(&ts, NULL);
	}
	pid_t self = getpid();
	if ((r = start_scope(uid, name, self, err)) < 0)
		return r;
	/* Out of the scope's own group into ours below it: a group with
	 * processes cannot hand controllers to its children. */
	_cleanup_close_ int sfd = openat(mfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0)
		return js_failm(err, errno, "cannot open \"%s/%s\"", v2_mountpoint, rel);
	if (mkdirat(sfd, name, 0755) < 0 && errno != EEXIST)
		return js_failm(err, errno, "cannot create \"%s/%s/%s\"", v2_mountpoint, rel, name);
	char procs[300], v[24];
	snprintf(procs, sizeof procs, "%s/cgroup.procs", name);
	snprintf(v, sizeof v, "%d", (int)self);
	struct js_err e;
	if ((r = js_write_file_at(sfd, procs, v, &e)) < 0)
		return js_fail(err, -r, "cgroup: %s", e.msg);
	return 0;
}

bool js_sd_self_in_user_group(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
	char line[4096];
	while (f && fgets(line, sizeof line, f)) {
		if (strncmp(line, "0::/", 4) != 0)
			continue;
		if (!strncmp(line + 4, "jsandbox/", 9))
			return true;
		/* user.slice/user-UID.slice/jsandbox-UID.scope/NAME */
		const char *s = strstr(line, "/jsandbox-");
		const char *e = s ? strstr(s, ".scope/") : NULL;
		return !strncmp(line + 4, "user.slice/user-", 16) && e && e[7] && e[7] != '\n';
	}
	return false;
}
