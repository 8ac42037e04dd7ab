/* SPDX-License-Identifier: MIT */
#include "gpu.h"

#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "cdi.h"
#include "devnode.h"
#include "gpudrv.h"

/* NVIDIA's character major is fixed (NV_MAJOR_DEVICE_NUMBER in the open
 * kernel modules); nvidiactl and nvidia-modeset are its two top minors.
 * nvidia-uvm and nvidia-caps get dynamic majors: read from proc/devices. */
#define NV_MAJOR	 195
#define NV_CTL_MINOR	 255
#define NV_MODESET_MINOR 254
/* DRM_MAJOR; render nodes are minors 128 and up. */
#define DRM_MAJOR 226

#define PCI_VENDOR_NVIDIA 0x10de
#define PCI_VENDOR_AMD	  0x1002
#define PCI_VENDOR_INTEL  0x8086

#define RW (JS_DEV_READ | JS_DEV_WRITE)

const char *js_gpu_vendor_name(enum js_gpu_vendor v)
{
	switch (v) {
	case JS_GPU_NVIDIA:
		return "nvidia";
	case JS_GPU_AMD:
		return "amd";
	case JS_GPU_INTEL:
		return "intel";
	default:
		return "?";
	}
}

/* ---- reading the tree ---- */

/* Open `path` (relative) under the discovery root as if the root were "/":
 * RESOLVE_IN_ROOT keeps absolute and ".." symlinks inside it, so sysfs's
 * relative links resolve as on the host and a fake tree can never reach
 * the real /sys. Magic links (/proc/self/...) are refused. */
static int root_open(int rootfd, const char *path, int flags)
{
	struct open_how how = {
	    .flags = (uint64_t)(flags | O_CLOEXEC),
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof how);
	return fd < 0 ? -errno : (int)fd;
}

/* Read a small file under the root; NUL-terminated. Returns its length. */
static int root_read(int rootfd, const char *path, char *buf, size_t max)
{
	_cleanup_close_ int fd = root_open(rootfd, path, O_RDONLY);
	if (fd < 0)
		return fd;
	ssize_t n = js_read_all(fd, buf, max - 1);
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	return (int)n;
}

/* The value of "Key:   value" in a proc text, trimmed; false if absent. */
static bool text_field(const char *text, const char *key, char *out, size_t outlen)
{
	size_t kl = strlen(key);
	for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, key, kl) != 0 || line[kl] != ':')
			continue;
		const char *v = line + kl + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		const char *e = strchrnul(v, '\n');
		while (e > v && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			e--;
		size_t len = (size_t)(e - v);
		if (len >= outlen)
			return false;
		memcpy(out, v, len);
		out[len] = '\0';
		return true;
	}
	return false;
}

static bool parse_long(const char *s, int base, long max, long *out)
{
	char *end;
	errno = 0;
	if (!isxdigit((unsigned char)*s))
		return false;
	unsigned long v = strtoul(s, &end, base);
	while (*end == ' ' || *end == '\t' || *end == '\n')
		end++;
	if (errno || *end || v > (unsigned long)max)
		return false;
	*out = (long)v;
	return true;
}

/* The character major registered under `name` in proc/devices, -1 when
 * absent (module not loaded). Only the "Character devices:" section
 * counts: block majors share the number space' names but not meaning. */
static long proc_char_major(const char *devices, const char *name)
{
	bool chr = false;
	for (const char *line = devices; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (!strncmp(line, "Character devices:", 18)) {
			chr = true;
			continue;
		}
		if (!strncmp(line, "Block devices:", 14)) {
			chr = false;
			continue;
		}
		char nm[64];
		long major;
		if (chr && sscanf(line, "%ld %63s", &major, nm) == 2 && !strcmp(nm, name) && major >= 0 &&
		    major <= 4095)
			return major;
	}
	return -1;
}

/* "dddd:bb:dd.f" (domain 4 to 8 hex digits, as sysfs and the NVIDIA proc
 * files write it, any case) into the normalised form, with a sort key. */
static bool pci_normalise(const char *s, char *out, size_t outlen, uint64_t *key)
{
	unsigned dom, bus, dev, fn;
	int n = -1;
	size_t dl = strspn(s, "0123456789abcdefABCDEF");
	if (dl < 4 || dl > 8 || s[dl] != ':')
		return false;
	if (sscanf(s, "%x:%2x:%2x.%1x%n", &dom, &bus, &dev, &fn, &n) != 4 || n < 0 || s[n] != '\0')
		return false;
	/* sscanf's %2x also takes one digit; require the fixed widths. */
	if (strlen(s) != dl + 8 || dev > 0x1f || fn > 7)
		return false;
	if (js_snprintf(out, outlen, "%04x:%02x:%02x.%x", dom, bus, dev, fn) < 0)
		return false;
	if (key)
		*key = (uint64_t)dom << 16 | (uint64_t)bus << 8 | (uint64_t)dev << 3 | fn;
	return true;
}

/* "GPU-" and 8-4-4-4-12 hex, lower-cased like the policy parser does. */
static void uuid_normalise(const char *s, char *out, size_t outlen)
{
	static const char layout[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	out[0] = '\0';
	if (strlen(s) != 4 + sizeof layout - 1 || strncasecmp(s, "GPU-", 4) != 0 || outlen < 4 + sizeof layout)
		return;
	memcpy(out, "GPU-", 4);
	for (size_t i = 0; i < sizeof layout - 1; i++) {
		char c = s[4 + i];
		if (layout[i] == '-' ? c != '-' : !isxdigit((unsigned char)c)) {
			out[0] = '\0';
			return;
		}
		out[4 + i] = (char)tolower((unsigned char)c);
	}
	out[4 + sizeof layout - 1] = '\0';
}

/* A device node's rule. When the node exists in the tree as a device of
 * the right type its own numbers win (the host's /dev is what the
 * container will bind, and what the kernel will check); otherwise the
 * conventional or proc/devices numbers are used. O_PATH never calls the
 * driver's open. Returns false when neither source knows the numbers. */
static bool node_rule(int rootfd, const char *path, long major, long minor, struct js_dev_rule *out)
{
	_cleanup_close_ int fd = root_open(rootfd, path + 1, O_PATH | O_NOFOLLOW);
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISCHR(st.st_mode)) {
		major = (long)major(st.st_rdev);
		minor = (long)minor(st.st_rdev);
	}
	if (major < 0 || minor < 0)
		return false;
	*out = (struct js_dev_rule){.type = 'c', .major = major, .minor = minor, .access = RW};
	return js_strlcpy(out->path, path, sizeof out->path) == 0;
}

/* ---- building the list ---- */

static int add_gpu(struct js_gpu_list *l, size_t *cap, struct js_gpu **out, struct js_err *err)
{
	if (l->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		struct js_gpu *g = realloc(l->gpu, nc * sizeof *g);
		if (!g)
			return js_fail(err, ENOMEM, "out of memory listing GPUs");
		l->gpu = g;
		*cap = nc;
	}
	*out = &l->gpu[l->n++];
	memset(*out, 0, sizeof **out);
	(*out)->minor = -1;
	return 0;
}

static int gpu_add_node(struct js_gpu *g, const struct js_dev_rule *r, struct js_err *err)
{
	for (size_t i = 0; i < g->nnodes; i++)
		if (!strcmp(g->node[i].path, r->path))
			return 0;
	if (g->nnodes == JS_GPU_NODES_MAX)
		return js_fail(err, E2BIG, "GPU %s has more than %d device nodes", g->pci, JS_GPU_NODES_MAX);
	g->node[g->nnodes++] = *r;
	return 0;
}

static int cmp_minor(const void *a, const void *b)
{
	const struct js_dev_rule *x = a, *y = b;
	return (x->minor > y->minor) - (x->minor < y->minor);
}

/* The DeviceFileMinor of a capability's "access" file, -1 if unreadable. */
static long cap_minor(int dirfd, const char *name)
{
	char buf[512], v[32];
	long m;
	if (js_read_file_at(dirfd, name, buf, sizeof buf, NULL) < 0 ||
	    !text_field(buf, "DeviceFileMinor", v, sizeof v) || !parse_long(v, 10, (1L << 20) - 1, &m))
		return -1;
	return m;
}

static int add_cap_node(int rootfd, struct js_gpu *g, long caps_major, long minor, struct js_err *err)
{
	char path[64];
	struct js_dev_rule r;
	snprintf(path, sizeof path, "/dev/nvidia-caps/nvidia-cap%ld", minor);
	/* Without a major (nvidia-caps not registered and no node) the
	 * capability cannot be granted; CUDA on that MIG GPU will then fail
	 * to open it, which is the safe side. */
	if (!node_rule(rootfd, path, caps_major, minor, &r))
		return 0;
	r.optional = true; /* a host without /dev/nvidia-caps still logs in */
	return gpu_add_node(g, &r, err);
}

/* MIG: a process using a MIG device needs, besides /dev/nvidia<minor>, the
 * capability nodes of its GPU instance and compute instance. The driver
 * publishes each as proc/driver/nvidia/capabilities/gpu<minor>/mig/gi<G>/
 * access and .../gi<G>/ci<C>/access, whose "DeviceFileMinor: N" names
 * /dev/nvidia-caps/nvidia-cap<N> (NVIDIA MIG user guide, "Device Nodes
 * and Capabilities"). Granting a GPU grants all of its instances; the
 * driver-wide mig/config and mig/monitor capabilities are never granted
 * (they reconfigure or watch every GPU). */
static int add_mig_caps(int rootfd, struct js_gpu *g, long caps_major, struct js_err *err)
{
	char path[128];
	snprintf(path, sizeof path, "proc/driver/nvidia/capabilities/gpu%ld/mig", g->minor);
	int dfd = root_open(rootfd, path, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return 0; /* no MIG on this GPU (or a driver before R450) */
	_cleanup_closedir_ DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return js_failm(err, errno, "cannot read \"%s\"", path);
	}
	size_t first = g->nnodes;
	struct dirent *de;
	while ((de = readdir(d))) {
		long gi;
		if (strncmp(de->d_name, "gi", 2) != 0 || !parse_long(de->d_name + 2, 10, INT_MAX, &gi))
			continue;
		_cleanup_close_ int gfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (gfd < 0)
			continue;
		long m = cap_minor(gfd, "access");
		int r;
		if (m >= 0 && (r = add_cap_node(rootfd, g, caps_major, m, err)) < 0)
			return r;
		int cfd = openat(gfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cfd < 0)
			continue;
		_cleanup_closedir_ DIR *cd = fdopendir(cfd);
		if (!cd) {
			close(cfd);
			continue;
		}
		struct dirent *ce;
		while ((ce = readdir(cd))) {
			long ci;
			if (strncmp(ce->d_name, "ci", 2) != 0 || !parse_long(ce->d_name + 2, 10, INT_MAX, &ci))
				continue;
			_cleanup_close_ int cifd =
			    openat(gfd, ce->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cifd < 0)
				continue;
			m = cap_minor(cifd, "access");
			if (m >= 0 && (r = add_cap_node(rootfd, g, caps_major, m, err)) < 0)
				return r;
		}
	}
	/* readdir order is the filesystem's; keep the output stable. */
	qsort(g->node + first, g->nnodes - first, sizeof g->node[0], cmp_minor);
	return 0;
}

static int discover_nvidia(int rootfd, const char *devices, struct js_gpu_list *l, size_t *cap, struct js_err *err)
{
	const char *dir = "proc/driver/nvidia/gpus";
	int dfd = root_open(rootfd, dir, O_RDONLY | O_DIRECTORY);
	if (dfd == -ENOENT)
		return 0; /* no NVIDIA driver loaded */
	if (dfd < 0)
		return js_failm(err, -dfd, "cannot open \"%s\"", dir);
	_cleanup_closedir_ DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return js_failm(err, errno, "cannot read \"%s\"", dir);
	}
	long caps_major = proc_char_major(devices, "nvidia-caps");
	size_t found = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char info[4096], path[PATH_MAX], v[128];
		snprintf(path, sizeof path, "%s/%s/information", dir, de->d_name);
		_cleanup_close_ int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int n = fd < 0 ? -errno : js_read_file_at(fd, "information", info, sizeof info, NULL);
		if (n < 0)
			return js_failm(err, -n, "cannot read \"%s\"", path);
		struct js_gpu *g;
		int r = add_gpu(l, cap, &g, err);
		if (r < 0)
			return r;
		g->vendor = JS_GPU_NVIDIA;
		if (js_strlcpy(g->procdir, de->d_name, sizeof g->procdir) < 0)
			return js_fail(err, ENAMETOOLONG, "\"%s/%s\": name too long", dir, de->d_name);
		/* The directory is named after the bus location; the field is
		 * the authority when present. */
		if (!text_field(info, "Bus Location", v, sizeof v))
			js_strlcpy(v, de->d_name, sizeof v);
		if (!pci_normalise(v, g->pci, sizeof g->pci, NULL))
			return js_fail(err, EINVAL, "\"%s\": malformed bus location \"%s\"", path, v);
		if (!text_field(info, "Device Minor", v, sizeof v) ||
		    !parse_long(v, 10, NV_MODESET_MINOR - 1, &g->minor))
			return js_fail(err, EINVAL, "\"%s\": no valid \"Device Minor:\"", path);
		if (text_field(info, "GPU UUID", v, sizeof v))
			uuid_normalise(v, g->uuid, sizeof g->uuid);
		if (!text_field(info, "Model", g->model, sizeof g->model))
			js_strlcpy(g->model, "NVIDIA GPU", sizeof g->model);
		char node[64];
		snprintf(node, sizeof node, "/dev/nvidia%ld", g->minor);
		struct js_dev_rule nr;
		node_rule(rootfd, node, NV_MAJOR, g->minor, &nr); /* fixed major: always known */
		if ((r = gpu_add_node(g, &nr, err)) < 0 || (r = add_mig_caps(rootfd, g, caps_major, err)) < 0)
			return r;
		found++;
	}
	if (!found)
		return 0;

	/* Shared by every NVIDIA GPU: the control node (every CUDA context
	 * opens it), modeset (the driver's display side, opened by some
	 * libraries), and unified memory (cudaMallocManaged, and CUDA
	 * initialisation itself on current drivers). */
	struct js_dev_list *sh = &l->shared[JS_GPU_NVIDIA];
	long uvm = proc_char_major(devices, "nvidia-uvm");
	const struct {
		const char *path;
		long major, minor;
	} shared[] = {
	    {"/dev/nvidiactl", NV_MAJOR, NV_CTL_MINOR},
	    {"/dev/nvidia-modeset", NV_MAJOR, NV_MODESET_MINOR},
	    {"/dev/nvidia-uvm", uvm, 0},
	    {"/dev/nvidia-uvm-tools", uvm, 1},
	};
	for (size_t i = 0; i < JS_ARRAY_SIZE(shared); i++) {
		struct js_dev_rule r;
		int rc;
		if (!node_rule(rootfd, shared[i].path, shared[i].major, shared[i].minor, &r))
			continue;
		/* Only a granted GPU's own node is required; a host without
		 * modeset or uvm-tools (headless servers) still logs in. */
		r.optional = true;
		if ((rc = js_dev_list_add(sh, &r, err)) < 0)
			return rc;
	}
	return 0;
}

/* The PCI address a DRM node belongs to: the basename of the target of its
 * `device` link (../../../0000:03:00.0). A device not on PCI (an SoC GPU,
 * an AMD partition's platform device) has none and is skipped. */
static bool drm_pci(int rootfd, const char *name, char *pci, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	if (js_snprintf(path, sizeof path, "sys/class/drm/%s/device", name) < 0)
		return false;
	_cleanup_close_ int fd = root_open(rootfd, path, O_PATH | O_NOFOLLOW);
	if (fd < 0)
		return false;
	/* readlinkat with an empty name reads the link an O_PATH|O_NOFOLLOW
	 * fd refers to (readlink(2), since Linux 2.6.39). */
	ssize_t n = readlinkat(fd, "", target, sizeof target - 1);
	if (n <= 0)
		return false;
	target[n] = '\0';
	const char *base = strrchr(target, '/');
	return pci_normalise(base ? base + 1 : target, pci, len, NULL);
}

static int discover_drm(int rootfd, const char *devices, struct js_gpu_list *l, size_t *cap, struct js_err *err)
{
	const char *dir = "sys/class/drm";
	int dfd = root_open(rootfd, dir, O_RDONLY | O_DIRECTORY);
	if (dfd == -ENOENT)
		return 0;
	if (dfd < 0)
		return js_failm(err, -dfd, "cannot open \"%s\"", dir);
	_cleanup_closedir_ DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return js_failm(err, errno, "cannot read \"%s\"", dir);
	}
	bool amd = false;
	struct dirent *de;
	while ((de = readdir(d))) {
		long num;
		char canon[32];
		if (strncmp(de->d_name, "renderD", 7) != 0 || !parse_long(de->d_name + 7, 10, (1L << 20) - 1, &num))
			continue;
		snprintf(canon, sizeof canon, "renderD%ld", num);
		if (strcmp(canon, de->d_name) != 0)
			continue; /* "renderD0128": not a name the kernel makes */
		char pci[24], path[PATH_MAX], buf[64];
		if (!drm_pci(rootfd, de->d_name, pci, sizeof pci))
			continue;
		long vendor = -1, device = -1;
		snprintf(path, sizeof path, "%s/%s/device/vendor", dir, de->d_name);
		if (root_read(rootfd, path, buf, sizeof buf) < 0 || strncmp(buf, "0x", 2) != 0 ||
		    !parse_long(buf + 2, 16, 0xffff, &vendor))
			continue;
		enum js_gpu_vendor v;
		if (vendor == PCI_VENDOR_AMD)
			v = JS_GPU_AMD;
		else if (vendor == PCI_VENDOR_INTEL)
			v = JS_GPU_INTEL;
		else
			continue; /* NVIDIA (uses /dev/nvidiaN), virtio-gpu, BMC graphics... */
		snprintf(path, sizeof path, "%s/%s/device/device", dir, de->d_name);
		if (root_read(rootfd, path, buf, sizeof buf) < 0 || strncmp(buf, "0x", 2) != 0 ||
		    !parse_long(buf + 2, 16, 0xffff, &device))
			device = -1;

		/* Numbers: the node in the tree, else the sysfs "dev" file
		 * ("226:128"), else DRM's convention. */
		long major = DRM_MAJOR, minor = num;
		snprintf(path, sizeof path, "%s/%s/dev", dir, de->d_name);
		unsigned a, b;
		if (root_read(rootfd, path, buf, sizeof buf) > 0 && sscanf(buf, "%u:%u", &a, &b) == 2 && a <= 4095 &&
		    b < (1u << 20)) {
			major = a;
			minor = b;
		}
		/* renderD<N> with N < 2^20: the name fits a rule's path. */
		char node[64];
		snprintf(node, sizeof node, "/dev/dri/renderD%ld", num);
		struct js_dev_rule nr;
		node_rule(rootfd, node, major, minor, &nr);

		struct js_gpu *g = NULL;
		for (size_t i = 0; i < l->n; i++)
			if (!strcmp(l->gpu[i].pci, pci))
				g = &l->gpu[i];
		int r;
		if (!g) {
			if ((r = add_gpu(l, cap, &g, err)) < 0)
				return r;
			g->vendor = v;
			g->minor = nr.minor;
			js_strlcpy(g->pci, pci, sizeof g->pci);
			snprintf(g->model, sizeof g->model, "vendor 0x%04lx device 0x%04lx", vendor,
				 device < 0 ? 0L : device);
		} else if (g->vendor != v) {
			continue; /* an NVIDIA GPU's address: it has its own nodes */
		}
		if ((r = gpu_add_node(g, &nr, err)) < 0)
			return r;
		amd = amd || v == JS_GPU_AMD;
	}
	if (amd) {
		/* ROCm's compute interface: one node for all AMD GPUs; which
		 * GPUs a process may use through it follows the render nodes
		 * it can open (the kfd checks render-node access). */
		struct js_dev_rule r;
		int rc;
		if (!node_rule(rootfd, "/dev/kfd", proc_char_major(devices, "kfd"), 0, &r))
			return 0;
		r.optional = true;
		if ((rc = js_dev_list_add(&l->shared[JS_GPU_AMD], &r, err)) < 0)
			return rc;
	}
	return 0;
}

static int cmp_pci(const void *a, const void *b)
{
	const struct js_gpu *x = a, *y = b;
	uint64_t kx = 0, ky = 0;
	char tmp[24];
	pci_normalise(x->pci, tmp, sizeof tmp, &kx);
	pci_normalise(y->pci, tmp, sizeof tmp, &ky);
	return (kx > ky) - (kx < ky);
}

void js_gpu_list_free(struct js_gpu_list *l)
{
	free(l->gpu);
	for (size_t v = 0; v < JS_GPU_VENDOR__COUNT; v++)
		js_dev_list_free(&l->shared[v]);
	memset(l, 0, sizeof *l);
}

int js_gpu_discover(const char *host_root, struct js_gpu_list *out, struct js_err *err)
{
	memset(out, 0, sizeof *out);
	_cleanup_close_ int rootfd = open(host_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return js_failm(err, errno, "cannot open device discovery root \"%s\"", host_root);
	char devices[16384];
	if (root_read(rootfd, "proc/devices", devices, sizeof devices) < 0)
		devices[0] = '\0'; /* majors then come from the nodes alone */
	size_t cap = 0;
	int r = discover_nvidia(rootfd, devices, out, &cap, err);
	if (r >= 0)
		r = discover_drm(rootfd, devices, out, &cap, err);
	if (r < 0) {
		js_gpu_list_free(out);
		return r;
	}
	if (out->n)
		qsort(out->gpu, out->n, sizeof out->gpu[0], cmp_pci);
	for (size_t i = 0; i < out->n; i++)
		out->gpu[i].index = (unsigned)i;
	return 0;
}

/* ---- selection ---- */

int js_gpu_resolve(const struct js_gpu_list *all, const struct js_gpu_sel *sel, bool *granted, struct js_err *err)
{
	for (size_t i = 0; i < all->n; i++)
		granted[i] = sel->kind == JS_GPUS_ALL;
	if (sel->kind != JS_GPUS_LIST)
		return 0;
	for (size_t k = 0; k < sel->n && k < JS_GPU_MAX; k++) {
		const struct js_gpu_ref *ref = &sel->ref[k];
		size_t i;
		switch (ref->type) {
		case JS_GPU_INDEX:
			if (ref->index >= all->n)
				return all->n
					   ? js_fail(err, ENOENT, "GPU %u does not exist (this host has GPUs 0 to %zu)",
						     ref->index, all->n - 1)
					   : js_fail(err, ENOENT, "GPU %u does not exist (this host has no GPU)",
						     ref->index);
			granted[ref->index] = true;
			break;
		case JS_GPU_PCI:
			for (i = 0; i < all->n && strcmp(all->gpu[i].pci, ref->id); i++)
				;
			if (i == all->n)
				return js_fail(err, ENOENT, "no GPU at PCI address %s", ref->id);
			granted[i] = true;
			break;
		case JS_GPU_UUID:
			/* A MIG device's UUID is known only to NVML; /proc
			 * lists GPU instances by number, not by UUID. */
			if (!strncmp(ref->id, "MIG-", 4))
				return js_fail(err, EOPNOTSUPP,
					       "%s: MIG devices cannot be resolved without NVML; grant the parent GPU "
					       "(its index, PCI address or GPU- UUID)",
					       ref->id);
			for (i = 0; i < all->n && strcmp(all->gpu[i].uuid, ref->id); i++)
				;
			if (i == all->n)
				return js_fail(err, ENOENT, "no GPU with UUID %s", ref->id);
			granted[i] = true;
			break;
		case JS_GPU_CDI:
			break; /* resolved through the host's CDI specs (js_gpu_select_cdi) */
		default:
			return js_fail(err, EINVAL, "unknown GPU reference type");
		}
	}
	return 0;
}

/* ---- CDI ---- */

/* The CDI kind of a vendor's GPUs, as their generators write it. */
static const char *vendor_kind(enum js_gpu_vendor v)
{
	switch (v) {
	case JS_GPU_NVIDIA:
		return "nvidia.com/gpu";
	case JS_GPU_AMD:
		return "amd.com/gpu";
	case JS_GPU_INTEL:
		return "intel.com/gpu";
	default:
		return "";
	}
}

static bool edits_have_node(const struct js_cdi_edits *e, const char *path)
{
	for (size_t i = 0; i < e->nnodes; i++)
		if (!strcmp(e->node[i].path, path))
			return true;
	return false;
}

static bool edits_have_caps(const struct js_cdi_edits *e)
{
	for (size_t i = 0; i < e->nnodes; i++)
		if (!strncmp(e->node[i].path, "/dev/nvidia-caps/", 17))
			return true;
	return false;
}

struct cdi_pick {
	const struct js_cdi_spec *spec;
	const struct js_cdi_device *dev;
};

/* What a selection grants on a host with CDI specs: discovered GPUs given
 * their discovered nodes (disc: no spec of their vendor's kind), CDI
 * devices (pick), and the NVIDIA GPUs whose /proc entry the container
 * shows (proc: granted either way). */
struct grant {
	bool *disc, *proc;
	struct cdi_pick pick[JS_GPU_MAX * 2];
	size_t npick;
};

static void grant_free(struct grant *g)
{
	free(g->disc);
	free(g->proc);
	g->disc = g->proc = NULL;
}

static int add_pick(struct grant *g, const struct js_cdi_spec *spec, const struct js_cdi_device *dev,
		    struct js_err *err)
{
	for (size_t i = 0; i < g->npick; i++)
		if (g->pick[i].dev == dev)
			return 0;
	if (g->npick == JS_ARRAY_SIZE(g->pick))
		return js_fail(err, E2BIG, "too many CDI devices granted");
	g->pick[g->npick++] = (struct cdi_pick){spec, dev};
	return 0;
}

/* The spec device of a discovered GPU: one of its vendor's kind that lists
 * the GPU's own node, not a MIG instance of it (no nvidia-caps node) and
 * not "all". 0 with *dev NULL when no spec of that kind exists. */
static int spec_dev_of(const struct js_cdi_set *cdi, const struct js_gpu *g, struct cdi_pick *out, struct js_err *err)
{
	const char *kind = vendor_kind(g->vendor);
	out->spec = NULL;
	out->dev = NULL;
	if (!cdi || !js_cdi_has_kind(cdi, kind) || !g->nnodes)
		return 0;
	for (size_t s = 0; s < cdi->n; s++) {
		const struct js_cdi_spec *sp = &cdi->spec[s];
		if (strcmp(sp->kind, kind) != 0)
			continue;
		for (size_t d = 0; d < sp->ndev; d++) {
			const struct js_cdi_device *dv = &sp->dev[d];
			if (strcmp(dv->name, "all") != 0 && !edits_have_caps(&dv->edits) &&
			    edits_have_node(&dv->edits, g->node[0].path)) {
				out->spec = sp;
				out->dev = dv;
				return 0;
			}
		}
	}
	return js_fail(err, ENOENT,
		       "GPU %u (%s, %s) is in no %s device of the host's CDI specs; regenerate them "
		       "(nvidia-ctk cdi generate, or the vendor's generator)",
		       g->index, g->pci, g->node[0].path, kind);
}

static int resolve_grant(const struct js_gpu_list *all, const struct js_cdi_set *cdi, const struct js_gpu_sel *sel,
			 struct grant *gr, struct js_err *err)
{
	memset(gr, 0, sizeof *gr);
	gr->disc = calloc(all->n ? all->n : 1, sizeof *gr->disc);
	gr->proc = calloc(all->n ? all->n : 1, sizeof *gr->proc);
	if (!gr->disc || !gr->proc) {
		grant_free(gr);
		return js_fail(err, ENOMEM, "out of memory selecting GPUs");
	}
	/* CDI names, and UUIDs a spec names a device by (nvidia-ctk's
	 * uuid naming: GPU-... and MIG-...), go to the spec; the rest to
	 * discovery. */
	struct js_gpu_sel rest = {.kind = sel->kind};
	int r = 0;
	for (size_t k = 0; sel->kind == JS_GPUS_LIST && k < sel->n && k < JS_GPU_MAX && r >= 0; k++) {
		const struct js_gpu_ref *ref = &sel->ref[k];
		const struct js_cdi_spec *sp = NULL;
		const struct js_cdi_device *dv = NULL;
		if (ref->type == JS_GPU_CDI) {
			char kind[JS_CDI_NAME_MAX];
			const char *eq = strchr(ref->id, '=');
			size_t kl = eq ? (size_t)(eq - ref->id) : 0;
			if (!eq || kl >= sizeof kind) {
				r = js_fail(err, EINVAL, "malformed CDI device name \"%s\"", ref->id);
				break;
			}
			memcpy(kind, ref->id, kl);
			kind[kl] = '\0';
			if (cdi)
				dv = js_cdi_find(cdi, kind, eq + 1, &sp);
			if (!dv)
				r = js_fail(err, ENOENT,
					    cdi && cdi->n ? "CDI device %s is in none of the host's CDI specs"
							  : "CDI device %s: the host has no CDI spec (/etc/cdi, "
							    "/var/run/cdi)",
					    ref->id);
			else
				r = add_pick(gr, sp, dv, err);
			continue;
		}
		if (ref->type == JS_GPU_UUID && cdi) {
			for (size_t s = 0; s < cdi->n && !dv; s++)
				for (size_t d = 0; d < cdi->spec[s].ndev && !dv; d++)
					if (!strcasecmp(cdi->spec[s].dev[d].name, ref->id)) {
						sp = &cdi->spec[s];
						dv = &cdi->spec[s].dev[d];
					}
			if (dv) {
				r = add_pick(gr, sp, dv, err);
				continue;
			}
			if (!strncmp(ref->id, "MIG-", 4)) {
				r = js_fail(err, ENOENT,
					    "%s: no CDI spec names this MIG device; generate the spec with "
					    "nvidia-ctk cdi generate --device-name-strategy=uuid, or grant it by its "
					    "CDI name (nvidia.com/gpu=<gpu>:<instance>)",
					    ref->id);
				continue;
			}
		}
		rest.ref[rest.n++] = *ref;
	}
	if (r >= 0)
		r = js_gpu_resolve(all, &rest, gr->disc, err);
	for (size_t i = 0; r >= 0 && i < all->n; i++) {
		if (!gr->disc[i])
			continue;
		gr->proc[i] = all->gpu[i].vendor == JS_GPU_NVIDIA;
		struct cdi_pick p;
		r = spec_dev_of(cdi, &all->gpu[i], &p, err);
		if (r >= 0 && p.dev) {
			gr->disc[i] = false; /* its spec says what it gets */
			r = add_pick(gr, p.spec, p.dev, err);
		}
	}
	/* A CDI device of an NVIDIA GPU (a MIG instance included) shows
	 * its GPU's /proc entry. */
	for (size_t k = 0; r >= 0 && k < gr->npick; k++)
		for (size_t i = 0; i < all->n; i++)
			if (all->gpu[i].vendor == JS_GPU_NVIDIA && all->gpu[i].nnodes &&
			    edits_have_node(&gr->pick[k].dev->edits, all->gpu[i].node[0].path))
				gr->proc[i] = true;
	if (r < 0)
		grant_free(gr);
	return r < 0 ? r : 0;
}

/* A CDI device node's rule: type and numbers from the host node (found
 * beneath host_root without following links, as the policy's own path
 * rules are); numbers the spec gives must agree. An absent optional node
 * is left out (*skip). */
static int cdi_rule(const char *host_root, const struct js_cdi_spec *sp, const struct js_cdi_node *n, bool optional,
		    struct js_dev_rule *out, bool *skip, struct js_err *err)
{
	struct js_dev_rule in = {.type = 0, .major = -1, .minor = -1, .access = n->access};
	*skip = false;
	if (js_strlcpy(in.path, n->path, sizeof in.path) < 0)
		return js_fail(err, ENAMETOOLONG, "CDI spec %s: device path too long", sp->file);
	struct js_err e2;
	int r = js_devices_resolve_rule(host_root, &in, out, &e2);
	if (r == -ENOENT && optional) {
		*skip = true;
		return 0;
	}
	if (r < 0)
		return js_fail(err, -r, "CDI spec %s: %s", sp->file, e2.msg);
	if (out->type != 'c')
		return js_fail(err, EINVAL, "CDI spec %s: %s is not a character device", sp->file, n->path);
	if ((n->major >= 0 && n->major != out->major) || (n->minor >= 0 && n->minor != out->minor))
		return js_fail(err, EINVAL, "CDI spec %s: %s is %ld:%ld on the host, the spec says %ld:%ld", sp->file,
			       n->path, out->major, out->minor, n->major, n->minor);
	out->access = n->access;
	out->optional = optional;
	return 0;
}

int js_gpu_select_cdi(const char *host_root, const struct js_gpu_list *all, const struct js_cdi_set *cdi,
		      const struct js_gpu_sel *sel, struct js_dev_list *nodes, struct js_err *err)
{
	struct grant gr;
	int r = resolve_grant(all, cdi, sel, &gr, err);
	if (r < 0)
		return r;
	/* Collect first, so that a failure leaves `nodes` as it was. */
	struct js_dev_list add = {0};
	bool vendor[JS_GPU_VENDOR__COUNT] = {false};
	for (size_t i = 0; i < all->n && r >= 0; i++) {
		if (!gr.disc[i])
			continue;
		vendor[all->gpu[i].vendor] = true;
		for (size_t k = 0; k < all->gpu[i].nnodes && r >= 0; k++)
			r = js_dev_list_add(&add, &all->gpu[i].node[k], err);
	}
	for (size_t v = 0; v < JS_GPU_VENDOR__COUNT && r >= 0; v++)
		for (size_t k = 0; vendor[v] && k < all->shared[v].n && r >= 0; k++)
			r = js_dev_list_add(&add, &all->shared[v].r[k], err);
	/* CDI: each granted device's own nodes (required), and the nodes
	 * of the spec-wide edits of each spec a device came from (optional:
	 * nvidia-uvm-tools, nvidia-modeset may be gone since the spec was
	 * written). */
	for (size_t k = 0; k < gr.npick && r >= 0; k++) {
		const struct cdi_pick *p = &gr.pick[k];
		for (int pass = 0; pass < 2 && r >= 0; pass++) {
			const struct js_cdi_edits *e = pass ? &p->spec->edits : &p->dev->edits;
			for (size_t n = 0; n < e->nnodes && r >= 0; n++) {
				struct js_dev_rule rule;
				bool skip;
				r = cdi_rule(host_root, p->spec, &e->node[n], pass == 1, &rule, &skip, err);
				if (r >= 0 && !skip)
					r = js_dev_list_add(&add, &rule, err);
			}
		}
	}
	grant_free(&gr);
	if (r >= 0) {
		/* Check the whole batch against `nodes` on a copy first. */
		struct js_dev_list tmp = {0};
		for (size_t k = 0; k < nodes->n && r >= 0; k++)
			r = js_dev_list_add(&tmp, &nodes->r[k], err);
		for (size_t k = 0; k < add.n && r >= 0; k++)
			r = js_dev_list_add(&tmp, &add.r[k], err);
		if (r >= 0) {
			js_dev_list_free(nodes);
			*nodes = tmp;
		} else {
			js_dev_list_free(&tmp);
		}
	}
	js_dev_list_free(&add);
	return r < 0 ? r : 0;
}

int js_gpu_granted_text(const char *host_root, const struct js_gpu_sel *sel, char *buf, size_t len, struct js_err *err)
{
	if (js_strlcpy(buf, "none", len) < 0)
		return js_fail(err, ENAMETOOLONG, "buffer too small");
	if (sel->kind == JS_GPUS_NONE)
		return 0;
	struct js_gpu_list all;
	int r = js_gpu_discover(host_root, &all, err);
	if (r < 0)
		return r;
	_cleanup_free_ bool *granted = calloc(all.n ? all.n : 1, sizeof *granted);
	if (!granted)
		r = js_fail(err, ENOMEM, "out of memory");
	else
		r = js_gpu_resolve(&all, sel, granted, err);
	size_t o = 0;
	for (size_t i = 0; r >= 0 && i < all.n; i++) {
		if (!granted[i])
			continue;
		int w = snprintf(buf + o, len - o, "%s%u", o ? "," : "", all.gpu[i].index);
		if (w < 0 || (size_t)w >= len - o)
			r = js_fail(err, ENAMETOOLONG, "too many GPUs to list");
		else
			o += (size_t)w;
	}
	if (r >= 0 && o == 0)
		js_strlcpy(buf, "none", len);
	js_gpu_list_free(&all);
	return r < 0 ? r : 0;
}

int js_gpu_select(const struct js_gpu_list *all, const struct js_gpu_sel *sel, struct js_dev_list *nodes,
		  struct js_err *err)
{
	return js_gpu_select_cdi("/", all, NULL, sel, nodes, err);
}

int js_gpu_load_cdi(const char *host_root, struct js_cdi_set *out, struct js_err *err)
{
	memset(out, 0, sizeof *out);
	_cleanup_close_ int rootfd = open(host_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return js_failm(err, errno, "cannot open device discovery root \"%s\"", host_root);
	return js_cdi_load(rootfd, out, err);
}

static int open_proc(const char *host_root, const struct js_gpu_list *all, const struct grant *gr,
		     struct js_dev_nodes *nodes, struct js_err *err)
{
	_cleanup_close_ int rootfd = open(host_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return js_failm(err, errno, "cannot open \"%s\"", host_root);
	for (size_t i = 0; i < all->n; i++) {
		if (!gr->proc[i])
			continue;
		char path[96];
		snprintf(path, sizeof path, "proc/driver/nvidia/gpus/%s", all->gpu[i].procdir);
		/* Same root-confined walk as discovery; the clone is of what
		 * root found, the init never looks a host path up. */
		_cleanup_close_ int dfd = root_open(rootfd, path, O_PATH | O_DIRECTORY | O_NOFOLLOW);
		if (dfd < 0)
			return js_failm(err, -dfd, "cannot open \"%s/%s\"", host_root, path);
		int tree = (int)syscall(SYS_open_tree, dfd, "",
					OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
		if (tree < 0)
			return js_failm(err, errno, "cannot clone \"%s/%s\"", host_root, path);
		struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
						   MOUNT_ATTR_NOEXEC};
		if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a) < 0) {
			int e = errno;
			close(tree);
			return js_failm(err, e, "cannot make \"%s/%s\" read-only", host_root, path);
		}
		int r = js_dev_nodes_add(nodes, JS_NODE_NVPROC, all->gpu[i].procdir, tree, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* What the selection gets besides device nodes: /proc entries, then the
 * driver's files: for NVIDIA GPUs granted without a spec the built-in
 * discovery's, for CDI devices their specs' mounts and links. */
static int host_files(const char *host_root, const struct js_gpu_sel *sel, bool want_files, struct js_dev_nodes *nodes,
		      struct js_err *err)
{
	if (sel->kind == JS_GPUS_NONE)
		return 0;
	struct js_gpu_list all;
	int r = js_gpu_discover(host_root, &all, err);
	if (r < 0)
		return r;
	struct js_cdi_set cdi;
	r = js_gpu_load_cdi(host_root, &cdi, err);
	if (r < 0) {
		js_gpu_list_free(&all);
		return r;
	}
	struct grant gr;
	r = resolve_grant(&all, &cdi, sel, &gr, err);
	if (r < 0)
		goto out;
	r = open_proc(host_root, &all, &gr, nodes, err);
	bool builtin = false;
	for (size_t i = 0; i < all.n; i++)
		builtin = builtin || (gr.disc[i] && all.gpu[i].vendor == JS_GPU_NVIDIA);
	if (r >= 0 && want_files && (builtin || gr.npick)) {
		/* Read at every start: a driver upgraded on the host is what
		 * the next container gets. */
		struct js_drv *drv = malloc(sizeof *drv);
		if (!drv) {
			r = js_fail(err, ENOMEM, "out of memory");
		} else {
			memset(drv, 0, sizeof *drv);
			if (builtin)
				r = js_drv_discover(host_root, drv, err);
			for (size_t k = 0; r >= 0 && k < gr.npick; k++) {
				r = js_drv_add_cdi(host_root, gr.pick[k].spec->file, &gr.pick[k].spec->edits, drv, err);
				if (r >= 0)
					r = js_drv_add_cdi(host_root, gr.pick[k].spec->file, &gr.pick[k].dev->edits,
							   drv, err);
			}
			if (r >= 0 && gr.npick)
				r = js_drv_cdi_sonames(host_root, drv, err);
			for (size_t k = 0; r >= 0 && k < gr.npick; k++) {
				r = js_drv_add_cdi_links(&gr.pick[k].spec->edits, drv, err);
				if (r >= 0)
					r = js_drv_add_cdi_links(&gr.pick[k].dev->edits, drv, err);
			}
			if (r >= 0)
				r = js_drv_open(host_root, drv, nodes, err);
			free(drv);
		}
	}
	grant_free(&gr);
out:
	js_cdi_set_free(&cdi);
	js_gpu_list_free(&all);
	return r < 0 ? r : 0;
}

int js_gpu_open_proc(const char *host_root, const struct js_gpu_sel *sel, struct js_dev_nodes *nodes,
		     struct js_err *err)
{
	return host_files(host_root, sel, false, nodes, err);
}

int js_gpu_open_host_files(const char *host_root, const struct js_gpu_sel *sel, struct js_dev_nodes *nodes,
			   struct js_err *err)
{
	return host_files(host_root, sel, true, nodes, err);
}
