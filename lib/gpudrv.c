/* SPDX-License-Identifier: MIT */
#include "gpudrv.h"

#include <ctype.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "devnode.h"
#include "safefs.h"

/* The libraries `nvidia-container-cli list` reports for the compute and
 * utility capabilities (what CUDA, NVML and nvidia-smi load), by the name
 * before their version. */
static const char *const libs[] = {
    "libcuda.so",
    "libcudadebugger.so",
    "libnvidia-ml.so",
    "libnvidia-cfg.so",
    "libnvidia-nvvm.so",
    "libnvidia-ptxjitcompiler.so",
    "libnvidia-opencl.so",
    "libnvidia-gpucomp.so",
    "libnvidia-allocator.so",
    "libnvidia-compiler.so",
    "libnvidia-fatbinaryloader.so",
    "libnvidia-pkcs11.so",
    "libnvidia-pkcs11-openssl3.so",
    "libnvidia-nscq.so",
};
/* Its tools, in usr/bin. */
static const char *const tools[] = {
    "nvidia-smi", "nvidia-debugdump", "nvidia-persistenced", "nvidia-cuda-mps-control", "nvidia-cuda-mps-server",
};

bool js_drv_parse_version(const char *text, char *out, size_t outlen)
{
	const char *line = strstr(text, "NVRM version:");
	if (!line)
		return false;
	const char *end = strchrnul(line, '\n');
	/* The first word that is digits and dots with at least one dot. */
	for (const char *p = line + 13; p < end;) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		const char *w = p;
		while (p < end && *p != ' ' && *p != '\t')
			p++;
		size_t l = (size_t)(p - w);
		if (l == 0 || l >= outlen || !isdigit((unsigned char)w[0]) || !isdigit((unsigned char)w[l - 1]) ||
		    strspn(w, "0123456789.") < l || !memchr(w, '.', l))
			continue;
		memcpy(out, w, l);
		out[l] = '\0';
		return true;
	}
	return false;
}

/* ---- the host's ld cache (glibc's etc/ld.so.cache) ---- */

#define CACHE_OLD     "ld.so-1.7.0"
#define CACHE_NEW     "glibc-ld.so.cache"
#define CACHE_NEW_VER "1.1"
#define CACHE_MAX     (16u << 20)

/* glibc's sysdeps/generic/dl-cache.h: FLAG_ELF_LIBC6 and the ABI. */
#if defined(__x86_64__)
#define CACHE_FLAGS 0x0303
#elif defined(__aarch64__)
#define CACHE_FLAGS 0x0a03
#else
#define CACHE_FLAGS 0x0003
#endif

struct cache_new {
	char magic[sizeof CACHE_NEW - 1];
	char version[sizeof CACHE_NEW_VER - 1];
	uint32_t nlibs, len_strings;
	uint8_t flags, pad[3];
	uint32_t extension_offset, unused[3];
};
struct cache_entry {
	int32_t flags;
	uint32_t key, value, osversion;
	uint64_t hwcap;
};

struct soname {
	char key[64];	/* "libcuda.so.1" */
	char path[256]; /* "lib/x86_64-linux-gnu/libcuda.so.1" (no leading '/') */
};

/* A NUL-terminated string at off in [base, base+len). */
static const char *cache_str(const char *base, size_t len, uint32_t off)
{
	if (off >= len || !memchr(base + off, '\0', len - off))
		return NULL;
	return base + off;
}

/* The entries of the cache for the driver's libraries (this ABI only).
 * Returns how many, or -errno. */
static int read_cache(int rootfd, struct soname *out, size_t max, struct js_err *err)
{
	_cleanup_close_ int fd = js_open_rootowned_beneath(rootfd, "etc/ld.so.cache", O_RDONLY, NULL, 0, err);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return js_failm(err, errno, "etc/ld.so.cache");
	if (st.st_size > (off_t)CACHE_MAX)
		return js_fail(err, EFBIG, "etc/ld.so.cache is larger than %u bytes", CACHE_MAX);
	_cleanup_free_ char *buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return js_fail(err, ENOMEM, "out of memory");
	ssize_t n = js_read_all(fd, buf, (size_t)st.st_size);
	if (n < 0)
		return js_failm(err, (int)-n, "cannot read etc/ld.so.cache");
	size_t len = (size_t)n, off = 0;
	if (len >= 16 && !memcmp(buf, CACHE_OLD, sizeof CACHE_OLD - 1)) {
		/* The old format's table first (glibc before 2.32 wrote
		 * both); the new one follows it. */
		uint32_t nold;
		memcpy(&nold, buf + 12, 4);
		if (nold > len / 12)
			return js_fail(err, EINVAL, "etc/ld.so.cache: malformed");
		off = 16 + (size_t)nold * 12;
		off = (off + 3) & ~(size_t)3;
	}
	if (len < off + sizeof(struct cache_new) || memcmp(buf + off, CACHE_NEW, sizeof CACHE_NEW - 1) ||
	    memcmp(buf + off + sizeof CACHE_NEW - 1, CACHE_NEW_VER, sizeof CACHE_NEW_VER - 1))
		return js_fail(err, EINVAL, "etc/ld.so.cache is not a glibc ld cache of format %s", CACHE_NEW_VER);
	struct cache_new h;
	memcpy(&h, buf + off, sizeof h);
	const char *base = buf + off;
	size_t blen = len - off;
	if (h.nlibs > (blen - sizeof h) / sizeof(struct cache_entry))
		return js_fail(err, EINVAL, "etc/ld.so.cache: malformed");
	size_t k = 0;
	for (uint32_t i = 0; i < h.nlibs; i++) {
		struct cache_entry e;
		memcpy(&e, base + sizeof h + i * sizeof e, sizeof e);
		if ((e.flags & 0xffff) != CACHE_FLAGS)
			continue;
		const char *key = cache_str(base, blen, e.key), *val = cache_str(base, blen, e.value);
		if (!key || !val || val[0] != '/')
			continue;
		bool ours = false;
		for (size_t l = 0; l < JS_ARRAY_SIZE(libs) && !ours; l++) {
			size_t ll = strlen(libs[l]);
			ours = !strncmp(key, libs[l], ll) && (key[ll] == '\0' || key[ll] == '.');
		}
		bool dup = false;
		for (size_t j = 0; j < k && !dup; j++)
			dup = !strcmp(out[j].key, key); /* the first one is what ld.so takes */
		if (!ours || dup || k == max)
			continue;
		if (js_strlcpy(out[k].key, key, sizeof out[k].key) < 0 ||
		    js_strlcpy(out[k].path, val + 1, sizeof out[k].path) < 0)
			continue;
		k++;
	}
	return (int)k;
}

/* ---- the list ---- */

static int add_file(struct js_drv *drv, const char *host, const char *name, const char *link, struct js_err *err)
{
	struct js_drv_file *f = NULL;
	for (size_t i = 0; i < drv->n && !f; i++)
		if (!strcmp(drv->f[i].host, host))
			f = &drv->f[i];
	if (!f) {
		if (drv->n == JS_DRV_FILES_MAX)
			return js_fail(err, E2BIG, "more than %d GPU driver files", JS_DRV_FILES_MAX);
		f = &drv->f[drv->n];
		memset(f, 0, sizeof *f);
		if (js_strlcpy(f->host, host, sizeof f->host) < 0 || js_strlcpy(f->name, name, sizeof f->name) < 0 ||
		    !js_node_file_ok(f->name))
			return js_fail(err, EINVAL, "GPU driver file \"/%s\": unusable name", host);
		drv->n++;
	}
	if (!link || !strcmp(link, strrchr(f->name, '/') + 1))
		return 0;
	for (size_t i = 0; i < f->nlinks; i++)
		if (!strcmp(f->links[i], link))
			return 0;
	if (f->nlinks == JS_ARRAY_SIZE(f->links) || !js_node_plain_name(link, strlen(link)) ||
	    js_strlcpy(f->links[f->nlinks], link, sizeof f->links[0]) < 0)
		return 0; /* a name the library is also known by; not needed */
	f->nlinks++;
	return 0;
}

int js_drv_discover(const char *host_root, struct js_drv *drv, struct js_err *err)
{
	memset(drv, 0, sizeof *drv);
	_cleanup_close_ int rootfd = open(host_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return js_failm(err, errno, "cannot open device discovery root \"%s\"", host_root);
	struct soname so[JS_DRV_FILES_MAX];
	int nso = read_cache(rootfd, so, JS_ARRAY_SIZE(so), err);
	if (nso < 0)
		return nso;

	/* The kernel module's version: the libraries must match it. */
	char text[1024], resolved[PATH_MAX];
	struct js_err e2;
	_cleanup_close_ int vfd =
	    js_open_rootowned_beneath(rootfd, "proc/driver/nvidia/version", O_RDONLY, NULL, 0, &e2);
	ssize_t tn = vfd >= 0 ? js_read_all(vfd, text, sizeof text - 1) : -1;
	if (tn > 0) {
		text[tn] = '\0';
		js_drv_parse_version(text, drv->version, sizeof drv->version);
	}
	/* No module version (a host without /proc/driver/nvidia/version):
	 * the version libcuda.so.1 leads to. */
	for (int i = 0; i < nso && !drv->version[0]; i++) {
		if (strcmp(so[i].key, "libcuda.so.1") != 0)
			continue;
		_cleanup_close_ int fd =
		    js_open_rootowned_beneath(rootfd, so[i].path, O_PATH, resolved, sizeof resolved, err);
		if (fd < 0)
			return fd;
		const char *b = strrchr(resolved, '/');
		b = b ? b + 1 : resolved;
		if (!strncmp(b, "libcuda.so.", 11) && strlen(b + 11) < sizeof drv->version &&
		    strspn(b + 11, "0123456789.") == strlen(b + 11) && strchr(b + 11, '.'))
			js_strlcpy(drv->version, b + 11, sizeof drv->version);
	}
	if (!drv->version[0])
		return 0; /* no NVIDIA driver on this host */

	for (int i = 0; i < nso; i++) {
		_cleanup_close_ int fd =
		    js_open_rootowned_beneath(rootfd, so[i].path, O_PATH, resolved, sizeof resolved, err);
		if (fd < 0)
			return fd;
		const char *b = strrchr(resolved, '/');
		b = b ? b + 1 : resolved;
		/* libcuda.so.1 -> libcuda.so.<version>: the library of
		 * another driver left behind is not this one. */
		const char *v = strstr(b, ".so.");
		if (!v || strcmp(v + 4, drv->version) != 0)
			continue;
		char name[JS_NODE_NAME_MAX];
		if (js_snprintf(name, sizeof name, "%s/%s", JS_DRIVER_DIR, b) < 0)
			return js_fail(err, ENAMETOOLONG, "\"/%s\": name too long", resolved);
		int r = add_file(drv, resolved, name, so[i].key, err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < JS_ARRAY_SIZE(tools); i++) {
		char rel[64], name[JS_NODE_NAME_MAX];
		snprintf(rel, sizeof rel, "usr/bin/%s", tools[i]);
		_cleanup_close_ int fd = js_open_rootowned_beneath(rootfd, rel, O_PATH, resolved, sizeof resolved, &e2);
		if (fd == -ENOENT)
			continue;
		if (fd < 0)
			return js_fail(err, -fd, "%s", e2.msg);
		snprintf(name, sizeof name, "/usr/bin/%s", tools[i]);
		int r = add_file(drv, resolved, name, NULL, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int js_drv_open(const char *host_root, const struct js_drv *drv, struct js_dev_nodes *nodes, struct js_err *err)
{
	_cleanup_close_ int rootfd = open(host_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return js_failm(err, errno, "cannot open device discovery root \"%s\"", host_root);
	for (size_t i = 0; i < drv->n; i++) {
		const struct js_drv_file *f = &drv->f[i];
		/* Again from the root: the file checked now is the file
		 * bound, whatever happened since discovery. */
		_cleanup_close_ int fd = js_open_rootowned_beneath(rootfd, f->host, O_PATH, NULL, 0, err);
		if (fd < 0)
			return fd;
		int tree = (int)syscall(SYS_open_tree, fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
		if (tree < 0)
			return js_failm(err, errno, "cannot clone \"%s/%s\"", host_root, f->host);
		struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};
		if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &a, sizeof a) < 0) {
			int e = errno;
			close(tree);
			return js_failm(err, e, "cannot make \"%s/%s\" read-only", host_root, f->host);
		}
		int r = js_dev_nodes_add(nodes, JS_NODE_FILE, f->name, tree, err);
		for (size_t k = 0; r >= 0 && k < f->nlinks; k++)
			r = js_dev_nodes_add_link(nodes, f->links[k], strrchr(f->name, '/') + 1, err);
		if (r < 0)
			return r;
	}
	return 0;
}
