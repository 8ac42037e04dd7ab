/* SPDX-License-Identifier: MIT */
/* The policy library: /etc/jsandbox.conf (INI, parsed with iniparser) into one
 * resolved, immutable policy per user.
 *
 * Sections: [global], [default], [group:NAME], [user:NAME]. A user's policy is
 * the built-in defaults, then [default], then every [group:NAME] the user is a
 * member of in file order, then [user:NAME]; later wins. */
#ifndef JSANDBOX_POLICY_H
#define JSANDBOX_POLICY_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "devrule.h"

#define JS_NAME_MAX   64 /* image, user and group names */
#define JS_DEV_MAX    32 /* entries in one devices = list */
#define JS_ORIGIN_MAX 80 /* "[group:somegroup]" and the like */
/* help_contact: at most 200 bytes and the NUL */
#define JS_HELP_CONTACT_MAX	201
#define JS_HELP_CONTACT_DEFAULT "your administrator"

/* The per-user keys, in the order `jsandboxctl policy` prints them. */
enum js_key {
	JS_KEY_SANDBOX,
	JS_KEY_IMAGE,
	JS_KEY_GPUS,
	JS_KEY_DEVICES,
	JS_KEY_MEMORY_MAX,
	JS_KEY_PIDS_MAX,
	JS_KEY_CPU_MAX,
	JS_KEY_CPU_WEIGHT,
	JS_KEY_TMP_SIZE,
	JS_KEY_NETWORK,
	JS_KEY_SUDO,
	JS_KEY_LINGER,
	JS_KEY_SHELL,
	JS_KEY_NESTED_USERNS,
	JS_KEY_PERF_EVENTS,
	JS_KEY_PTY_MAX,
	JS_KEY_CAPABILITIES_ADD,
	JS_KEY_DISK_MAX,
	JS_KEY_BANNER,
	JS_KEY__COUNT
};

/* Name of a per-user key as written in the file ("memory_max"). */
const char *js_key_name(enum js_key k);

enum js_net { JS_NET_HOST, JS_NET_NONE };

/* A size or a share of something: memory_max = 8G, memory_max = 50%. */
struct js_amount {
	bool max;	/* "max": no limit */
	bool percent;	/* value is a percentage (of host memory) */
	uint64_t value; /* bytes, or percent when percent is set */
};

struct js_policy {
	char user[JS_NAME_MAX];
	bool sandbox;
	char image[JS_NAME_MAX];
	struct js_gpu_sel gpus;
	size_t ndevices;
	struct js_dev_rule devices[JS_DEV_MAX];
	struct js_amount memory_max; /* bytes or % of host RAM or max */
	uint64_t pids_max;	     /* 0 = max */
	uint32_t cpu_max;	     /* percent of one CPU (400 = 4 CPUs), 0 = max */
	uint32_t cpu_weight;	     /* 1..10000, cgroup v2 scale */
	struct js_amount tmp_size;   /* /tmp and /dev/shm tmpfs size */
	enum js_net network;
	bool sudo;
	bool linger;
	char shell[PATH_MAX]; /* the shell inside the container */
	bool nested_userns;   /* user namespaces inside the container (and mounts in them) */
	bool perf_events;     /* perf_event_open(2) inside the container */
	uint32_t pty_max;     /* ptys of the container's devpts (its max= option) */
	/* Capabilities kept in the bounding set beyond the default (rootless
	 * podman's), a mask of 1 << CAP_*; only JS_CAPS_ADDABLE bits. */
	uint64_t caps_add;
	/* Bound of the user's writable layer (bytes; max: none), enforced by
	 * the kernel where the layer lives (lib/layer.c). */
	struct js_amount disk_max;
	/* The short banner an interactive login prints (helper/session.c). */
	bool banner;
	/* Where each key's value came from: "built-in", "[default]",
	 * "[group:gpu]", "[user:alice]". */
	char origin[JS_KEY__COUNT][JS_ORIGIN_MAX];
};

struct js_global {
	char images_dir[PATH_MAX]; /* default /var/lib/jsandbox/images */
	char state_dir[PATH_MAX];  /* default /var/lib/jsandbox */
	char run_dir[PATH_MAX];	   /* default /run/jsandbox */
	char host_root[PATH_MAX];  /* default "/", device discovery root */
	/* The CPU weight (1..10000, cgroup v2 scale) of the group that holds
	 * every container, against the host's own processes, where jsandbox
	 * makes that group (hosts without systemd); default
	 * JS_CONTAINERS_CPU_WEIGHT_DEFAULT. */
	uint32_t containers_cpu_weight;
	/* Whom a user is told to contact (the banner, every refusal):
	 * printable ASCII, default "your administrator". */
	char help_contact[JS_HELP_CONTACT_MAX];
};
#define JS_CONTAINERS_CPU_WEIGHT_DEFAULT 10

/* Problems found while loading. Each message is one line that names the file
 * position, section and key: "jsandbox.conf:12: [user:bob] memory_max: ...". */
struct js_problem {
	/* The section's name as js_config_section() gives it ("user:bob",
	 * "default"); "" when the problem is not in a well-named section. */
	char section[JS_ORIGIN_MAX];
	char msg[512];
	/* true when the problem concerns the whole file (unreadable, unsafe,
	 * syntax, unknown section, [global]): nobody but root may be trusted
	 * to a policy from it. */
	bool global;
};

struct js_problems {
	size_t n;
	size_t cap;
	struct js_problem *p;
};

void js_problems_free(struct js_problems *pr);

struct js_config; /* opaque, immutable after load */

/* Load and validate a config file. The file must be a regular file owned by
 * `owner` (0 in production) and not writable by group or other; it is opened
 * with O_NOFOLLOW (a symlinked config is refused) and read through that fd.
 *
 * Returns 0 and *out when the file could be parsed at all (problems may
 * still have been recorded: check pr->n); returns a negative errno and
 * *out = NULL when it could not be used at all (missing, unsafe, syntax). In
 * every case every problem found is appended to pr (which may be NULL); past
 * 200 problems, one more line says how many were left out. */
int js_config_load_owner(const char *path, uid_t owner, struct js_config **out, struct js_problems *pr);
/* The same with owner = 0. */
int js_config_load(const char *path, struct js_config **out, struct js_problems *pr);

void js_config_free(struct js_config *c);

const struct js_global *js_config_global(const struct js_config *c);

/* True when the loaded file had a problem that affects everyone. */
bool js_config_has_global_problem(const struct js_config *c);

/* Resolve the policy of `user`, a member of the groups named in `groups`.
 * Returns 0, or -EINVAL when a section that applies to this user (or the
 * whole file) had a problem; the message then names it in err_msg (may be
 * NULL). Sections with problems that do not apply to the user do not stop
 * the resolution. root (uid 0) is always exempt: callers check that. */
int js_config_resolve(const struct js_config *c, const char *user, const char *const *groups, size_t ngroups,
		      struct js_policy *out, char *err_msg, size_t err_len);

/* Resolve with the user's group list looked up with getgrouplist(3). */
int js_config_resolve_user(const struct js_config *c, const char *user, struct js_policy *out, char *err_msg,
			   size_t err_len);

/* Names of the sections in file order, for `jsandboxctl gpus` and checks. */
size_t js_config_nsections(const struct js_config *c);
const char *js_config_section(const struct js_config *c, size_t i);

/* Value parsers, exported for unit tests and for jsandboxctl. Each returns 0
 * or -EINVAL and writes a short reason ("expected a size such as 8G") into
 * why; on failure the output is left untouched. In js_parse_uint and
 * js_parse_percent, "max" (when allowed) yields 0, as in struct js_policy.
 * js_parse_devices writes up to JS_DEV_MAX rules to out. */
int js_parse_bool(const char *s, bool *out, char *why, size_t whylen);
/* help_contact: 1-200 bytes of printable ASCII (a name, an address, a URL). */
int js_parse_contact(const char *s, char *out, size_t len, char *why, size_t whylen);
int js_parse_size(const char *s, bool allow_percent, bool allow_max, struct js_amount *out, char *why, size_t whylen);
int js_parse_uint(const char *s, uint64_t min, uint64_t max, bool allow_max, uint64_t *out, char *why, size_t whylen);
int js_parse_percent(const char *s, uint32_t min, uint32_t max, bool allow_max, uint32_t *out, char *why,
		     size_t whylen);
int js_parse_gpus(const char *s, struct js_gpu_sel *out, char *why, size_t whylen);
int js_parse_devices(const char *s, struct js_dev_rule *out, size_t *n, char *why, size_t whylen);
int js_parse_name(const char *s, char *out, size_t outlen, char *why, size_t whylen);
int js_parse_abspath(const char *s, char *out, size_t outlen, char *why, size_t whylen);

/* capabilities_add: comma-separated names from the allow-list
 * (AUDIT_WRITE, DAC_READ_SEARCH, NET_RAW, SYS_PTRACE; case-insensitive, an
 * optional CAP_ prefix) or "none", into a mask of 1 << CAP_*. */
int js_parse_caps(const char *s, uint64_t *out, char *why, size_t whylen);
/* The bits js_parse_caps may set. */
#define JS_CAPS_ADDABLE                                                                                                \
	((UINT64_C(1) << 2) /* DAC_READ_SEARCH */ | (UINT64_C(1) << 13) /* NET_RAW */ |                                \
	 (UINT64_C(1) << 19) /* SYS_PTRACE */ | (UINT64_C(1) << 29) /* AUDIT_WRITE */)

/* Render a policy value back as text (for `jsandboxctl policy`). */
int js_policy_format(const struct js_policy *p, enum js_key k, char *buf, size_t len);

#endif
