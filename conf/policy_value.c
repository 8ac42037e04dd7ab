/* SPDX-License-Identifier: MIT */
/* The values of jsandbox.conf(5): one strict parser per kind of value, the
 * table that says which key takes which, and js_policy_format, the inverse
 * that renders a value back in the same syntax.
 *
 * Every parser takes the whole string and accepts it only if all of it is
 * meaningful: no signs, no surrounding blanks, no 0x/octal, no trailing
 * garbage, every number bounded. A parser never writes its output on
 * failure, so a bad value leaves the policy it was meant for untouched. */
#include "policy_internal.h"

#include "cdi.h"
#include "jsutil.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define KIB (UINT64_C(1) << 10)
#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)
#define TIB (UINT64_C(1) << 40)

/* Bounds of the per-user keys, see jsandbox.conf(5). */
#define MEMORY_MAX_MIN	 (4 * MIB) /* below this nothing, not even a shell, starts */
#define TMP_SIZE_MIN	 MIB
#define DISK_MAX_MIN	 (64 * MIB) /* an ext4 image's journal and tables, apt's first run */
#define SIZE_MAX_BYTES	 (1024 * TIB)
#define PIDS_MAX_MIN	 16	 /* a login shell and a few children */
#define PIDS_MAX_MAX	 4194304 /* PID_MAX_LIMIT on 64-bit kernels */
#define CPU_MAX_MAX	 100000	 /* 1000 CPUs */
#define CPU_WEIGHT_MAX	 10000	 /* cgroup v2 cpu.weight range is 1..10000 */
#define GPU_INDEX_MAX	 63
#define DEV_MAJOR_MAX	 4095	 /* majors are 12 bits (MAJOR() in kdev_t.h) */
#define DEV_MINOR_MAX	 1048575 /* minors are 20 bits */
#define ACCOUNT_NAME_MAX 32	 /* what useradd accepts by default */
/* pty_max: a login needs one; 65536 is far above any interactive use and
 * far below the kernel's own ceiling (NR_UNIX98_PTY_MAX, 1 << 20). */
#define PTY_MAX_MIN	1
#define PTY_MAX_MAX	65536
#define PTY_MAX_DEFAULT 128

static const char *const key_names[JS_KEY__COUNT] = {
    [JS_KEY_SANDBOX] = "sandbox",
    [JS_KEY_IMAGE] = "image",
    [JS_KEY_GPUS] = "gpus",
    [JS_KEY_DEVICES] = "devices",
    [JS_KEY_MEMORY_MAX] = "memory_max",
    [JS_KEY_PIDS_MAX] = "pids_max",
    [JS_KEY_CPU_MAX] = "cpu_max",
    [JS_KEY_CPU_WEIGHT] = "cpu_weight",
    [JS_KEY_TMP_SIZE] = "tmp_size",
    [JS_KEY_NETWORK] = "network",
    [JS_KEY_SUDO] = "sudo",
    [JS_KEY_LINGER] = "linger",
    [JS_KEY_SHELL] = "shell",
    [JS_KEY_NESTED_USERNS] = "nested_userns",
    [JS_KEY_PERF_EVENTS] = "perf_events",
    [JS_KEY_PTY_MAX] = "pty_max",
    [JS_KEY_CAPABILITIES_ADD] = "capabilities_add",
    [JS_KEY_DISK_MAX] = "disk_max",
    [JS_KEY_BANNER] = "banner",
};

static const char *const key_nouns[JS_KEY__COUNT] = {
    [JS_KEY_SANDBOX] = "value",
    [JS_KEY_IMAGE] = "image name",
    [JS_KEY_GPUS] = "GPU list",
    [JS_KEY_DEVICES] = "device list",
    [JS_KEY_MEMORY_MAX] = "size",
    [JS_KEY_PIDS_MAX] = "number",
    [JS_KEY_CPU_MAX] = "CPU share",
    [JS_KEY_CPU_WEIGHT] = "number",
    [JS_KEY_TMP_SIZE] = "size",
    [JS_KEY_NETWORK] = "value",
    [JS_KEY_SUDO] = "value",
    [JS_KEY_LINGER] = "value",
    [JS_KEY_SHELL] = "path",
    [JS_KEY_NESTED_USERNS] = "value",
    [JS_KEY_PERF_EVENTS] = "value",
    [JS_KEY_PTY_MAX] = "number",
    [JS_KEY_CAPABILITIES_ADD] = "capability list",
    [JS_KEY_DISK_MAX] = "size",
    [JS_KEY_BANNER] = "value",
};

const char *js_key_name(enum js_key k)
{
	return (unsigned)k < JS_KEY__COUNT ? key_names[k] : NULL;
}

const char *js_key_noun(enum js_key k)
{
	return (unsigned)k < JS_KEY__COUNT ? key_nouns[k] : "value";
}

int js_key_lookup(const char *name, enum js_key *out)
{
	for (unsigned k = 0; k < JS_KEY__COUNT; k++) {
		if (strcmp(name, key_names[k]) == 0) {
			*out = (enum js_key)k;
			return 0;
		}
	}
	return -ENOENT;
}

static int why_fail(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int why_fail(char *why, size_t whylen, const char *fmt, ...)
{
	if (why && whylen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static bool is_alnum(char c)
{
	return is_digit(c) || is_lower(c) || (c >= 'A' && c <= 'Z');
}

static int hex_value(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Decimal digits only, leading zeros allowed. -EINVAL when s[0..len) is
 * empty or not all digits, -ERANGE when it does not fit in 64 bits. */
static int parse_dec(const char *s, size_t len, uint64_t *out)
{
	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (!is_digit(s[i]))
			return -EINVAL;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* Exactly mindig..maxdig hex digits. */
static int parse_hex(const char *s, size_t len, size_t mindig, size_t maxdig, uint64_t *out)
{
	if (len < mindig || len > maxdig)
		return -EINVAL;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		int h = hex_value(s[i]);
		if (h < 0)
			return -EINVAL;
		v = v << 4 | (uint64_t)h;
	}
	*out = v;
	return 0;
}

int js_parse_bool(const char *s, bool *out, char *why, size_t whylen)
{
	/* Only the two words the documentation uses: "true", "1" or "on" would
	 * work, but an admin reading someone else's file should never have to
	 * wonder whether "On" or "enabled" counts. */
	if (strcmp(s, "yes") == 0)
		*out = true;
	else if (strcmp(s, "no") == 0)
		*out = false;
	else
		return why_fail(why, whylen, "expected \"yes\" or \"no\"");
	return 0;
}

int js_parse_uint(const char *s, uint64_t min, uint64_t max, bool allow_max, uint64_t *out, char *why, size_t whylen)
{
	if (allow_max && strcmp(s, "max") == 0) {
		*out = 0;
		return 0;
	}
	uint64_t v;
	int r = parse_dec(s, strlen(s), &v);
	if (r == -EINVAL || (r == 0 && (v < min || v > max)) || r == -ERANGE)
		return why_fail(why, whylen, "%sexpected a whole number from %" PRIu64 " to %" PRIu64 "%s",
				r == -EINVAL ? "" : "out of range: ", min, max, allow_max ? ", or \"max\"" : "");
	*out = v;
	return 0;
}

int js_parse_percent(const char *s, uint32_t min, uint32_t max, bool allow_max, uint32_t *out, char *why, size_t whylen)
{
	if (allow_max && strcmp(s, "max") == 0) {
		*out = 0;
		return 0;
	}
	size_t len = strlen(s);
	uint64_t v = 0;
	int r = len > 1 && s[len - 1] == '%' ? parse_dec(s, len - 1, &v) : -EINVAL;
	if (r < 0 || v < min || v > max)
		return why_fail(why, whylen, "%sexpected a percentage from %" PRIu32 "%% to %" PRIu32 "%%%s",
				r == -EINVAL ? "" : "out of range: ", min, max, allow_max ? ", or \"max\"" : "");
	*out = (uint32_t)v;
	return 0;
}

static int size_fail(char *why, size_t whylen, bool allow_percent, bool allow_max, const char *detail)
{
	return why_fail(why, whylen, "%s%sexpected a number with optional K, M, G or T suffix%s%s",
			detail ? detail : "", detail ? ": " : "",
			allow_percent ? (allow_max ? ", a percentage such as 50%" : " or a percentage such as 50%")
				      : "",
			allow_max ? ", or \"max\"" : "");
}

int js_parse_size(const char *s, bool allow_percent, bool allow_max, struct js_amount *out, char *why, size_t whylen)
{
	size_t len = strlen(s);
	if (strcmp(s, "max") == 0) {
		if (!allow_max)
			return size_fail(why, whylen, allow_percent, allow_max, "\"max\" is not allowed here");
		*out = (struct js_amount){.max = true};
		return 0;
	}
	if (len > 0 && s[len - 1] == '%') {
		uint64_t v;
		if (!allow_percent)
			return size_fail(why, whylen, allow_percent, allow_max, "a percentage is not allowed here");
		int r = parse_dec(s, len - 1, &v);
		if (r == -EINVAL)
			return size_fail(why, whylen, allow_percent, allow_max, NULL);
		if (r < 0 || v < 1 || v > 100)
			return why_fail(why, whylen, "a percentage must be from 1%% to 100%%");
		*out = (struct js_amount){.percent = true, .value = v};
		return 0;
	}
	unsigned shift = 0;
	if (len > 1) {
		switch (s[len - 1]) {
		case 'K':
		case 'k':
			shift = 10;
			break;
		case 'M':
		case 'm':
			shift = 20;
			break;
		case 'G':
		case 'g':
			shift = 30;
			break;
		case 'T':
		case 't':
			shift = 40;
			break;
		default:
			break;
		}
	}
	uint64_t v;
	int r = parse_dec(s, shift ? len - 1 : len, &v);
	if (r == -EINVAL)
		return size_fail(why, whylen, allow_percent, allow_max, NULL);
	if (r == -ERANGE || v > (UINT64_MAX >> shift))
		return why_fail(why, whylen, "number too large (at most 1024T)");
	*out = (struct js_amount){.value = v << shift};
	return 0;
}

/* An image, user or group name as the policy uses it: the one rule for
 * names that become file names (js_check_name). */
int js_parse_name(const char *s, char *out, size_t outlen, char *why, size_t whylen)
{
	size_t maxlen = outlen ? outlen - 1 : 0;
	if (maxlen > JS_NAME_MAX - 1)
		maxlen = JS_NAME_MAX - 1;
	struct js_err e;
	if (js_check_name("name", s, maxlen, &e) < 0)
		return why_fail(why, whylen, "%s", e.msg);
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

bool js_valid_account_name(const char *s, size_t len)
{
	/* The shadow-utils default (NAME_REGEX) without upper case: iniparser
	 * folds section names to lower case, so [user:Bob] would silently
	 * become a section for "bob". */
	if (len == 0 || len > ACCOUNT_NAME_MAX || !(is_lower(s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < len; i++) {
		char c = s[i];
		if (is_lower(c) || is_digit(c) || c == '_' || c == '.' || c == '-')
			continue;
		if (c == '$' && i == len - 1) /* Samba machine accounts */
			continue;
		return false;
	}
	return true;
}

static bool path_char_ok(char c)
{
	return is_alnum(c) || (c && strchr("._-+@%,:=~", c));
}

int js_parse_abspath(const char *s, char *out, size_t outlen, char *why, size_t whylen)
{
	char buf[PATH_MAX];
	size_t n = 0;

	if (s[0] != '/')
		return why_fail(why, whylen, "expected an absolute path, starting with '/'");
	for (const char *p = s; *p;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *e = p;
		while (*e && *e != '/') {
			if (!path_char_ok(*e)) {
				unsigned char c = (unsigned char)*e;
				if (c > 0x20 && c < 0x7f)
					return why_fail(why, whylen, "character '%c' is not allowed in a path", c);
				return why_fail(why, whylen, "character 0x%02x is not allowed in a path", c);
			}
			e++;
		}
		size_t cl = (size_t)(e - p);
		/* "." is dropped; ".." is refused rather than resolved, since
		 * resolving it correctly needs the filesystem (symlinks). */
		if (cl == 2 && p[0] == '.' && p[1] == '.')
			return why_fail(why, whylen, "\"..\" is not allowed in a path");
		if (!(cl == 1 && p[0] == '.')) {
			if (n + 1 + cl >= sizeof buf)
				return why_fail(why, whylen, "path too long");
			buf[n++] = '/';
			memcpy(buf + n, p, cl);
			n += cl;
		}
		p = e;
	}
	if (n == 0)
		buf[n++] = '/';
	buf[n] = '\0';
	if (n >= outlen)
		return why_fail(why, whylen, "path too long (at most %zu characters)", outlen ? outlen - 1 : 0);
	memcpy(out, buf, n + 1);
	return 0;
}

/* Walks a comma-separated list; each item comes back with the blanks
 * around it removed. "" is one empty item, "a," is "a" and "". */
struct list_iter {
	const char *p;
	bool done;
};

static bool list_next(struct list_iter *it, const char **item, size_t *len)
{
	if (it->done)
		return false;
	const char *comma = strchr(it->p, ',');
	const char *end = comma ? comma : it->p + strlen(it->p);
	const char *b = it->p;
	while (b < end && is_blank(*b))
		b++;
	while (end > b && is_blank(end[-1]))
		end--;
	*item = b;
	*len = (size_t)(end - b);
	if (comma)
		it->p = comma + 1;
	else
		it->done = true;
	return true;
}

static bool item_is(const char *item, size_t len, const char *word)
{
	return len == strlen(word) && memcmp(item, word, len) == 0;
}

static bool blank_only(const char *s)
{
	while (is_blank(*s))
		s++;
	return *s == '\0';
}

/* "dddd:bb:dd.f" or "bb:dd.f". nvidia-smi prints an 8-digit domain
 * ("00000000:3B:00.0") and VMD domains have 5 digits, so the domain may
 * have 4 to 8 digits; it is normalised the way sysfs names devices. */
static int parse_pci(const char *s, size_t len, char *id, size_t idlen)
{
	const char *c2 = NULL, *c1 = memchr(s, ':', len);
	if (!c1)
		return -EINVAL;
	const char *rest = c1 + 1;
	c2 = memchr(rest, ':', len - (size_t)(rest - s));
	uint64_t dom = 0, bus, dev, fn;
	const char *busp;
	if (c2) {
		if (parse_hex(s, (size_t)(c1 - s), 4, 8, &dom) < 0)
			return -EINVAL;
		busp = rest;
	} else {
		busp = s;
		c2 = c1;
	}
	const char *dot = memchr(c2 + 1, '.', len - (size_t)(c2 + 1 - s));
	if (!dot || parse_hex(busp, (size_t)(c2 - busp), 2, 2, &bus) < 0 ||
	    parse_hex(c2 + 1, (size_t)(dot - (c2 + 1)), 2, 2, &dev) < 0 || dev > 0x1f ||
	    parse_hex(dot + 1, len - (size_t)(dot + 1 - s), 1, 1, &fn) < 0 || fn > 7)
		return -EINVAL;
	return js_snprintf(id, idlen, "%04" PRIx64 ":%02" PRIx64 ":%02" PRIx64 ".%" PRIx64, dom, bus, dev, fn) < 0
		   ? -EINVAL
		   : 0;
}

/* "GPU-" or "MIG-" and a UUID in the 8-4-4-4-12 layout; hex lower-cased
 * so that the same GPU written twice compares equal. */
static int parse_gpu_uuid(const char *s, size_t len, char *id, size_t idlen)
{
	static const char layout[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	if (len != 4 + sizeof layout - 1 || idlen <= len)
		return -EINVAL;
	if (strncasecmp(s, "GPU-", 4) == 0)
		memcpy(id, "GPU-", 4);
	else if (strncasecmp(s, "MIG-", 4) == 0)
		memcpy(id, "MIG-", 4);
	else
		return -EINVAL;
	for (size_t i = 0; i < sizeof layout - 1; i++) {
		char c = s[4 + i];
		if (layout[i] == '-') {
			if (c != '-')
				return -EINVAL;
			id[4 + i] = c;
		} else {
			int h = hex_value(c);
			if (h < 0)
				return -EINVAL;
			id[4 + i] = "0123456789abcdef"[h];
		}
	}
	id[len] = '\0';
	return 0;
}

static bool same_gpu(const struct js_gpu_ref *a, const struct js_gpu_ref *b)
{
	if (a->type != b->type)
		return false;
	return a->type == JS_GPU_INDEX ? a->index == b->index : strcmp(a->id, b->id) == 0;
}

#define GPUS_EXPECTED                                                                                                  \
	"expected \"none\", \"all\", or a comma-separated list of GPU indices (0 to 63), PCI addresses such "          \
	"as 0000:3b:00.0, GPU-/MIG- UUIDs and CDI names such as nvidia.com/gpu=0:1"

int js_parse_gpus(const char *s, struct js_gpu_sel *out, char *why, size_t whylen)
{
	struct js_gpu_sel selbuf = {0}, *sel = &selbuf;
	if (blank_only(s))
		return why_fail(why, whylen, GPUS_EXPECTED);

	struct list_iter it = {.p = s};
	const char *item;
	size_t len, nitems = 0;
	bool word = false;
	while (list_next(&it, &item, &len)) {
		nitems++;
		if (len == 0)
			return why_fail(why, whylen, "empty entry in the list; %s", GPUS_EXPECTED);
		if (item_is(item, len, "none") || item_is(item, len, "all")) {
			sel->kind = item[0] == 'n' ? JS_GPUS_NONE : JS_GPUS_ALL;
			word = true;
			continue;
		}
		if (len >= sizeof(((struct js_gpu_ref *)0)->id))
			return why_fail(why, whylen, "entry \"%.40s...\" is too long; %s", item, GPUS_EXPECTED);
		if (sel->n == JS_GPU_MAX)
			return why_fail(why, whylen, "too many entries (at most %d)", JS_GPU_MAX);
		struct js_gpu_ref ref = {0};
		uint64_t idx;
		int r = parse_dec(item, len, &idx);
		if (r != -EINVAL) {
			if (r < 0 || idx > GPU_INDEX_MAX)
				return why_fail(why, whylen, "GPU index \"%.*s\" out of range (0 to %d)", (int)len,
						item, GPU_INDEX_MAX);
			ref.type = JS_GPU_INDEX;
			ref.index = (unsigned)idx;
		} else if (memchr(item, '=', len)) {
			/* A CDI name: vendor/class=device, as the CDI spec
			 * defines its characters. */
			const char *eq = memchr(item, '=', len);
			size_t kl = (size_t)(eq - item);
			if (!js_cdi_kind_ok(item, kl) || !js_cdi_devname_ok(eq + 1, len - kl - 1))
				return why_fail(why, whylen,
						"malformed CDI device name \"%.*s\" (expected vendor/class=name, such "
						"as nvidia.com/gpu=0 or nvidia.com/gpu=0:1)",
						(int)len, item);
			memcpy(ref.id, item, len);
			ref.id[len] = '\0';
			ref.type = JS_GPU_CDI;
		} else if (len >= 4 && (strncasecmp(item, "GPU-", 4) == 0 || strncasecmp(item, "MIG-", 4) == 0)) {
			if (parse_gpu_uuid(item, len, ref.id, sizeof ref.id) < 0)
				return why_fail(why, whylen,
						"malformed UUID \"%.*s\" (expected GPU- or MIG- followed by "
						"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx in hex)",
						(int)len, item);
			ref.type = JS_GPU_UUID;
		} else if (memchr(item, ':', len)) {
			if (parse_pci(item, len, ref.id, sizeof ref.id) < 0)
				return why_fail(
				    why, whylen,
				    "malformed PCI address \"%.*s\" (expected dddd:bb:dd.f or bb:dd.f in hex)",
				    (int)len, item);
			ref.type = JS_GPU_PCI;
		} else {
			return why_fail(why, whylen, "unknown GPU \"%.*s\"; %s", (int)len, item, GPUS_EXPECTED);
		}
		for (size_t i = 0; i < sel->n; i++)
			if (same_gpu(&sel->ref[i], &ref))
				return why_fail(why, whylen, "\"%.*s\" is listed twice", (int)len, item);
		sel->ref[sel->n++] = ref;
	}
	if (word && nitems > 1)
		return why_fail(why, whylen, "\"none\" and \"all\" cannot be combined with other entries");
	if (!word)
		sel->kind = JS_GPUS_LIST;
	*out = *sel;
	return 0;
}

/* /dev/NAME(/NAME)*: the node is created inside the container's /dev, so
 * the path must stay there, whatever the components are. */
static int parse_dev_path(const char *s, size_t len, char *out, size_t outlen, char *why, size_t whylen)
{
	if (len >= outlen)
		return why_fail(why, whylen, "device path \"%.*s\" too long (at most %zu characters)", (int)len, s,
				outlen - 1);
	if (len < 6 || memcmp(s, "/dev/", 5) != 0)
		return why_fail(why, whylen, "device path \"%.*s\" is not under /dev/", (int)len, s);
	size_t i = 5;
	while (i <= len) {
		size_t b = i;
		while (i < len && s[i] != '/') {
			if (!is_alnum(s[i]) && !strchr("._+-", s[i]))
				return why_fail(why, whylen, "device path \"%.*s\": character '%c' is not allowed",
						(int)len, s, s[i]);
			i++;
		}
		size_t cl = i - b;
		if (cl == 0 || (cl == 1 && s[b] == '.') || (cl == 2 && s[b] == '.' && s[b + 1] == '.'))
			return why_fail(why, whylen, "device path \"%.*s\" has an empty, \".\" or \"..\" component",
					(int)len, s);
		i++;
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

static int parse_access(const char *s, size_t len, unsigned *out)
{
	unsigned bits = 0;
	if (len == 0 || len > 3)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned b = s[i] == 'r' ? JS_DEV_READ : s[i] == 'w' ? JS_DEV_WRITE : s[i] == 'm' ? JS_DEV_MKNOD : 0;
		if (!b || (bits & b))
			return -EINVAL;
		bits |= b;
	}
	*out = bits;
	return 0;
}

static int parse_dev_number(const char *s, size_t len, long max, long *out)
{
	if (len == 1 && s[0] == '*') {
		*out = -1;
		return 0;
	}
	uint64_t v;
	if (parse_dec(s, len, &v) < 0 || v > (uint64_t)max)
		return -EINVAL;
	*out = (long)v;
	return 0;
}

#define DEV_FORMS "expected \"TYPE MAJOR:MINOR ACCESS [/dev/PATH]\" or \"/dev/PATH [ACCESS]\""

static int parse_dev_rule(const char *item, size_t len, struct js_dev_rule *rule, char *why, size_t whylen)
{
	const char *tok[5];
	size_t tlen[5], nt = 0;
	for (size_t i = 0; i < len;) {
		while (i < len && is_blank(item[i]))
			i++;
		if (i == len)
			break;
		if (nt == JS_ARRAY_SIZE(tok))
			return why_fail(why, whylen, "rule \"%.*s\" has too many fields; " DEV_FORMS, (int)len, item);
		tok[nt] = item + i;
		while (i < len && !is_blank(item[i]))
			i++;
		tlen[nt] = (size_t)(item + i - tok[nt]);
		nt++;
	}
	*rule = (struct js_dev_rule){0};
	if (tok[0][0] == '/') {
		/* Path form: type and numbers come from the host node when
		 * the container is made. */
		if (nt > 2)
			return why_fail(why, whylen, "rule \"%.*s\" has too many fields; " DEV_FORMS, (int)len, item);
		int r = parse_dev_path(tok[0], tlen[0], rule->path, sizeof rule->path, why, whylen);
		if (r < 0)
			return r;
		rule->major = rule->minor = -1;
		/* No 'm' by default: the node is made for the user, who has no
		 * reason to mknod it again. */
		rule->access = JS_DEV_READ | JS_DEV_WRITE;
		if (nt == 2 && parse_access(tok[1], tlen[1], &rule->access) < 0)
			return why_fail(why, whylen,
					"rule \"%.*s\": access must be a combination of r, w and m, each at most once",
					(int)len, item);
		return 0;
	}
	if (nt < 3 || nt > 4)
		return why_fail(why, whylen, "malformed rule \"%.*s\"; " DEV_FORMS, (int)len, item);
	if (tlen[0] != 1 || !strchr("cba", tok[0][0]))
		return why_fail(why, whylen, "rule \"%.*s\": type must be c, b or a", (int)len, item);
	rule->type = tok[0][0];
	const char *colon = memchr(tok[1], ':', tlen[1]);
	if (!colon || parse_dev_number(tok[1], (size_t)(colon - tok[1]), DEV_MAJOR_MAX, &rule->major) < 0 ||
	    parse_dev_number(colon + 1, tlen[1] - (size_t)(colon + 1 - tok[1]), DEV_MINOR_MAX, &rule->minor) < 0)
		return why_fail(why, whylen,
				"rule \"%.*s\": expected MAJOR:MINOR with MAJOR 0 to %d or *, MINOR 0 to %d or *",
				(int)len, item, DEV_MAJOR_MAX, DEV_MINOR_MAX);
	if (rule->type == 'a' && (rule->major != -1 || rule->minor != -1))
		return why_fail(why, whylen, "rule \"%.*s\": type a (all devices) needs *:*", (int)len, item);
	if (parse_access(tok[2], tlen[2], &rule->access) < 0)
		return why_fail(why, whylen,
				"rule \"%.*s\": access must be a combination of r, w and m, each at most once",
				(int)len, item);
	if (nt == 4) {
		if (rule->type == 'a' || rule->major < 0 || rule->minor < 0)
			return why_fail(why, whylen,
					"rule \"%.*s\": a device node needs type c or b and exact numbers, not *",
					(int)len, item);
		return parse_dev_path(tok[3], tlen[3], rule->path, sizeof rule->path, why, whylen);
	}
	return 0;
}

int js_parse_devices(const char *s, struct js_dev_rule *out, size_t *n, char *why, size_t whylen)
{
	struct js_dev_rule rules[JS_DEV_MAX];
	size_t nr = 0;

	if (blank_only(s) || strcmp(s, "none") == 0) {
		*n = 0;
		return 0;
	}
	struct list_iter it = {.p = s};
	const char *item;
	size_t len;
	while (list_next(&it, &item, &len)) {
		if (len == 0)
			return why_fail(why, whylen, "empty entry in the list; " DEV_FORMS);
		if (item_is(item, len, "none"))
			return why_fail(why, whylen, "\"none\" cannot be combined with other rules");
		if (nr == JS_DEV_MAX)
			return why_fail(why, whylen, "too many rules (at most %d)", JS_DEV_MAX);
		int r = parse_dev_rule(item, len, &rules[nr], why, whylen);
		if (r < 0)
			return r;
		/* Two rules making the same node would race for it. */
		for (size_t i = 0; rules[nr].path[0] && i < nr; i++)
			if (strcmp(rules[i].path, rules[nr].path) == 0)
				return why_fail(why, whylen, "%s is listed twice", rules[nr].path);
		nr++;
	}
	memcpy(out, rules, nr * sizeof *rules);
	*n = nr;
	return 0;
}

/* The capabilities an admin may add with capabilities_add, and why each is
 * not in the default set: docs/config.md says what each opens. Numbers as
 * in <linux/capability.h>. */
static const struct {
	const char *name;
	unsigned bit;
} cap_names[] = {
    {"AUDIT_WRITE", 29},
    {"DAC_READ_SEARCH", 2},
    {"NET_RAW", 13},
    {"SYS_PTRACE", 19},
};

int js_parse_caps(const char *s, uint64_t *out, char *why, size_t whylen)
{
	if (!strcmp(s, "none")) {
		*out = 0;
		return 0;
	}
	uint64_t mask = 0;
	const char *c = s;
	for (;;) {
		while (*c == ' ' || *c == '\t')
			c++;
		size_t l = strcspn(c, ", \t");
		const char *name = c;
		if (l > 4 && !strncasecmp(name, "CAP_", 4)) {
			name += 4;
			l -= 4;
		}
		bool found = false;
		for (size_t i = 0; i < JS_ARRAY_SIZE(cap_names) && l; i++)
			if (strlen(cap_names[i].name) == l && !strncasecmp(name, cap_names[i].name, l)) {
				mask |= UINT64_C(1) << cap_names[i].bit;
				found = true;
			}
		if (!found)
			return why_fail(why, whylen,
					"expected \"none\" or a comma-separated list of AUDIT_WRITE, "
					"DAC_READ_SEARCH, NET_RAW, SYS_PTRACE (\"%.*s\" is not one of them)",
					(int)(l > 32 ? 32 : l), name);
		c = name + l;
		while (*c == ' ' || *c == '\t')
			c++;
		if (!*c)
			break;
		if (*c != ',')
			return why_fail(why, whylen, "expected a comma between capability names");
		c++;
	}
	*out = mask;
	return 0;
}

int js_parse_contact(const char *s, char *out, size_t len, char *why, size_t whylen)
{
	size_t n = strlen(s);
	if (n == 0)
		return why_fail(why, whylen, "empty");
	if (n >= len || n >= JS_HELP_CONTACT_MAX)
		return why_fail(why, whylen, "longer than %d bytes", JS_HELP_CONTACT_MAX - 1);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return why_fail(why, whylen, "printable ASCII only (byte %zu is 0x%02x)", i + 1,
					(unsigned char)s[i]);
	memcpy(out, s, n + 1);
	return 0;
}

void js_policy_defaults(struct js_policy *p)
{
	memset(p, 0, sizeof *p);
	p->sandbox = true;
	strcpy(p->image, "default");
	p->gpus.kind = JS_GPUS_NONE;
	p->memory_max = (struct js_amount){.percent = true, .value = 80};
	p->pids_max = 4096;
	p->cpu_max = 0;
	p->cpu_weight = 100;
	p->tmp_size = (struct js_amount){.value = GIB};
	p->network = JS_NET_HOST;
	p->sudo = true;
	p->linger = false;
	p->nested_userns = false;
	p->perf_events = false;
	p->pty_max = PTY_MAX_DEFAULT;
	p->caps_add = 0;
	p->disk_max = (struct js_amount){.max = true};
	p->banner = true;
	strcpy(p->shell, "/bin/bash");
	for (unsigned k = 0; k < JS_KEY__COUNT; k++)
		strcpy(p->origin[k], "built-in");
}

static int bounded_size(const char *s, bool allow_max, uint64_t min, const char *minstr, struct js_amount *out,
			char *why, size_t whylen)
{
	struct js_amount a;
	int r = js_parse_size(s, true, allow_max, &a, why, whylen);
	if (r < 0)
		return r;
	if (!a.max && !a.percent && a.value < min)
		return why_fail(why, whylen, "must be at least %s", minstr);
	if (!a.max && !a.percent && a.value > SIZE_MAX_BYTES)
		return why_fail(why, whylen, "must be at most 1024T");
	*out = a;
	return 0;
}

int js_policy_apply(struct js_policy *p, enum js_key k, const char *s, char *why, size_t whylen)
{
	uint64_t u;
	uint32_t pct;
	int r;

	switch (k) {
	case JS_KEY_SANDBOX:
		return js_parse_bool(s, &p->sandbox, why, whylen);
	case JS_KEY_SUDO:
		return js_parse_bool(s, &p->sudo, why, whylen);
	case JS_KEY_LINGER:
		return js_parse_bool(s, &p->linger, why, whylen);
	case JS_KEY_BANNER:
		return js_parse_bool(s, &p->banner, why, whylen);
	case JS_KEY_NESTED_USERNS:
		return js_parse_bool(s, &p->nested_userns, why, whylen);
	case JS_KEY_PERF_EVENTS:
		return js_parse_bool(s, &p->perf_events, why, whylen);
	case JS_KEY_IMAGE:
		return js_parse_name(s, p->image, sizeof p->image, why, whylen);
	case JS_KEY_GPUS:
		return js_parse_gpus(s, &p->gpus, why, whylen);
	case JS_KEY_DEVICES:
		return js_parse_devices(s, p->devices, &p->ndevices, why, whylen);
	case JS_KEY_MEMORY_MAX:
		return bounded_size(s, true, MEMORY_MAX_MIN, "4M", &p->memory_max, why, whylen);
	case JS_KEY_TMP_SIZE:
		return bounded_size(s, false, TMP_SIZE_MIN, "1M", &p->tmp_size, why, whylen);
	case JS_KEY_PIDS_MAX:
		r = js_parse_uint(s, PIDS_MAX_MIN, PIDS_MAX_MAX, true, &u, why, whylen);
		if (r == 0)
			p->pids_max = u;
		return r;
	case JS_KEY_CPU_WEIGHT:
		r = js_parse_uint(s, 1, CPU_WEIGHT_MAX, false, &u, why, whylen);
		if (r == 0)
			p->cpu_weight = (uint32_t)u;
		return r;
	case JS_KEY_CPU_MAX:
		r = js_parse_percent(s, 1, CPU_MAX_MAX, true, &pct, why, whylen);
		if (r == 0)
			p->cpu_max = pct;
		return r;
	case JS_KEY_NETWORK:
		if (strcmp(s, "host") == 0)
			p->network = JS_NET_HOST;
		else if (strcmp(s, "none") == 0)
			p->network = JS_NET_NONE;
		else
			return why_fail(why, whylen, "expected \"host\" or \"none\"");
		return 0;
	case JS_KEY_SHELL:
		return js_parse_abspath(s, p->shell, sizeof p->shell, why, whylen);
	case JS_KEY_PTY_MAX:
		r = js_parse_uint(s, PTY_MAX_MIN, PTY_MAX_MAX, false, &u, why, whylen);
		if (r == 0)
			p->pty_max = (uint32_t)u;
		return r;
	case JS_KEY_CAPABILITIES_ADD:
		return js_parse_caps(s, &p->caps_add, why, whylen);
	case JS_KEY_DISK_MAX: {
		struct js_amount a;
		r = js_parse_size(s, false, true, &a, why, whylen);
		if (r < 0)
			return r;
		if (!a.max && a.value < DISK_MAX_MIN)
			return why_fail(why, whylen, "must be at least 64M");
		if (!a.max && a.value > SIZE_MAX_BYTES)
			return why_fail(why, whylen, "must be at most 1024T");
		p->disk_max = a;
		return 0;
	}
	case JS_KEY__COUNT:
		break;
	}
	return why_fail(why, whylen, "unknown key");
}

/* Appends to a fixed buffer and remembers whether anything was cut. */
struct out {
	char *buf;
	size_t len, pos;
	bool trunc;
};

static void out_add(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_add(struct out *o, const char *fmt, ...)
{
	if (o->trunc)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->buf + o->pos, o->len - o->pos, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->len - o->pos)
		o->trunc = true;
	else
		o->pos += (size_t)n;
}

static void out_amount(struct out *o, const struct js_amount *a)
{
	static const struct {
		unsigned shift;
		char suffix;
	} units[] = {{40, 'T'}, {30, 'G'}, {20, 'M'}, {10, 'K'}};
	if (a->max) {
		out_add(o, "max");
		return;
	}
	if (a->percent) {
		out_add(o, "%" PRIu64 "%%", a->value);
		return;
	}
	for (size_t i = 0; i < JS_ARRAY_SIZE(units); i++) {
		uint64_t unit = UINT64_C(1) << units[i].shift;
		if (a->value && a->value % unit == 0) {
			out_add(o, "%" PRIu64 "%c", a->value / unit, units[i].suffix);
			return;
		}
	}
	out_add(o, "%" PRIu64, a->value);
}

static void out_dev_number(struct out *o, long v)
{
	if (v < 0)
		out_add(o, "*");
	else
		out_add(o, "%ld", v);
}

static void out_access(struct out *o, unsigned a)
{
	out_add(o, "%s%s%s", a & JS_DEV_READ ? "r" : "", a & JS_DEV_WRITE ? "w" : "", a & JS_DEV_MKNOD ? "m" : "");
}

int js_policy_format(const struct js_policy *p, enum js_key k, char *buf, size_t len)
{
	struct out o = {.buf = buf, .len = len};
	if (!buf || len == 0)
		return -EINVAL;
	buf[0] = '\0';
	switch (k) {
	case JS_KEY_SANDBOX:
		out_add(&o, "%s", p->sandbox ? "yes" : "no");
		break;
	case JS_KEY_SUDO:
		out_add(&o, "%s", p->sudo ? "yes" : "no");
		break;
	case JS_KEY_LINGER:
		out_add(&o, "%s", p->linger ? "yes" : "no");
		break;
	case JS_KEY_BANNER:
		out_add(&o, "%s", p->banner ? "yes" : "no");
		break;
	case JS_KEY_NESTED_USERNS:
		out_add(&o, "%s", p->nested_userns ? "yes" : "no");
		break;
	case JS_KEY_PERF_EVENTS:
		out_add(&o, "%s", p->perf_events ? "yes" : "no");
		break;
	case JS_KEY_IMAGE:
		out_add(&o, "%s", p->image);
		break;
	case JS_KEY_GPUS:
		if (p->gpus.kind == JS_GPUS_NONE)
			out_add(&o, "none");
		else if (p->gpus.kind == JS_GPUS_ALL)
			out_add(&o, "all");
		for (size_t i = 0; p->gpus.kind == JS_GPUS_LIST && i < p->gpus.n && i < JS_GPU_MAX; i++) {
			const struct js_gpu_ref *g = &p->gpus.ref[i];
			if (g->type == JS_GPU_INDEX)
				out_add(&o, "%s%u", i ? "," : "", g->index);
			else
				out_add(&o, "%s%s", i ? "," : "", g->id);
		}
		break;
	case JS_KEY_DEVICES:
		if (p->ndevices == 0)
			out_add(&o, "none");
		for (size_t i = 0; i < p->ndevices && i < JS_DEV_MAX; i++) {
			const struct js_dev_rule *d = &p->devices[i];
			out_add(&o, "%s", i ? ", " : "");
			if (d->type == 0) {
				out_add(&o, "%s ", d->path);
				out_access(&o, d->access);
				continue;
			}
			out_add(&o, "%c ", d->type);
			out_dev_number(&o, d->major);
			out_add(&o, ":");
			out_dev_number(&o, d->minor);
			out_add(&o, " ");
			out_access(&o, d->access);
			if (d->path[0])
				out_add(&o, " %s", d->path);
		}
		break;
	case JS_KEY_MEMORY_MAX:
		out_amount(&o, &p->memory_max);
		break;
	case JS_KEY_TMP_SIZE:
		out_amount(&o, &p->tmp_size);
		break;
	case JS_KEY_DISK_MAX:
		out_amount(&o, &p->disk_max);
		break;
	case JS_KEY_PIDS_MAX:
		if (p->pids_max)
			out_add(&o, "%" PRIu64, p->pids_max);
		else
			out_add(&o, "max");
		break;
	case JS_KEY_CPU_MAX:
		if (p->cpu_max)
			out_add(&o, "%" PRIu32 "%%", p->cpu_max);
		else
			out_add(&o, "max");
		break;
	case JS_KEY_CPU_WEIGHT:
		out_add(&o, "%" PRIu32, p->cpu_weight);
		break;
	case JS_KEY_NETWORK:
		out_add(&o, "%s", p->network == JS_NET_NONE ? "none" : "host");
		break;
	case JS_KEY_SHELL:
		out_add(&o, "%s", p->shell);
		break;
	case JS_KEY_PTY_MAX:
		out_add(&o, "%" PRIu32, p->pty_max);
		break;
	case JS_KEY_CAPABILITIES_ADD:
		if (!p->caps_add)
			out_add(&o, "none");
		for (size_t i = 0, n = 0; i < JS_ARRAY_SIZE(cap_names); i++)
			if (p->caps_add & (UINT64_C(1) << cap_names[i].bit))
				out_add(&o, "%s%s", n++ ? "," : "", cap_names[i].name);
		break;
	default:
		return -EINVAL;
	}
	return o.trunc ? -ENAMETOOLONG : 0;
}
