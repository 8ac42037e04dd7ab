/* SPDX-License-Identifier: MIT */
#include "gpudrv.h"

#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/mount.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "cdi.h"
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

/* The driver's libraries (the list above), by the name in the cache. */
static bool driver_lib(const char *key, const void *ctx)
{
	(void)ctx;
	for (size_t l = 0; l < JS_ARRAY_SIZE(libs); l++) {
		size_t ll = strlen(libs[l]);
		if (!strncmp(key, libs[l], ll) && (key[ll] == '\0' || key[ll] == '.'))
			return true;
	}
	return false;
}

/* The entries of the cache (this ABI only) whose name `want` accepts.
 * Returns how many, or -errno. */
static int read_cache(int rootfd, bool (*want)(const char *key, const void *ctx), const void *ctx, struct soname *out,
		      size_t max, struct js_err *err)
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
		bool ours = want(key, ctx);
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
	/* Another file already has this place (two libraries of one base
	 * name in different directories of a spec): the first one stays. */
	for (size_t i = 0; i < drv->n && !f; i++)
		if (!strcmp(drv->f[i].name, name))
			return 0;
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
	/* A name in JS_DRIVER_DIR is taken once: by a file, or by one
	 * link. */
	for (size_t i = 0; i < drv->n; i++) {
		const char *b = strrchr(drv->f[i].name, '/') + 1;
		if (!strncmp(drv->f[i].name, JS_DRIVER_DIR "/", strlen(JS_DRIVER_DIR "/")) && !strcmp(b, link))
			return 0;
		for (size_t k = 0; k < drv->f[i].nlinks; k++)
			if (!strcmp(drv->f[i].links[k], link))
				return 0;
	}
	if (f->nlinks == JS_ARRAY_SIZE(f->links) || !js_node_plain_name(link, strlen(link)) ||
	    js_strlcpy(f->links[f->nlinks], link, sizeof f->links[0]) < 0)
		return 0; /* a name the library is also known by; not needed */
	f->nlinks++;
	return 0;
}

#define PERSISTENCED_SOCKET "run/nvidia-persistenced/socket"

/* nvidia-persistenced's socket, when the daemon runs: what
 * nvidia-container-cli lists under "IPCs". It is the daemon's, not
 * necessarily root's (--user); found without following any link. */
static int add_socket(int rootfd, struct js_drv *drv, struct js_err *err)
{
	_cleanup_close_ int fd = js_openat_beneath(rootfd, PERSISTENCED_SOCKET, O_PATH, 0);
	struct stat st;
	if (fd == -ENOENT || (fd >= 0 && fstat(fd, &st) == 0 && !S_ISSOCK(st.st_mode)))
		return 0;
	if (fd < 0)
		return js_failm(err, -fd, "/%s", PERSISTENCED_SOCKET);
	int r = add_file(drv, PERSISTENCED_SOCKET, "/" PERSISTENCED_SOCKET, NULL, err);
	if (r >= 0)
		for (size_t i = 0; i < drv->n; i++)
			if (!strcmp(drv->f[i].host, PERSISTENCED_SOCKET))
				drv->f[i].sock = true;
	return r;
}

/* The GSP firmware of this driver version, lib/firmware/nvidia/<version>,
 * when the host has it (nvidia-container-cli lists it under "Firmware"). */
static int add_firmware(int rootfd, struct js_drv *drv, struct js_err *err)
{
	char rel[96], name[JS_NODE_NAME_MAX], resolved[PATH_MAX];
	snprintf(rel, sizeof rel, "lib/firmware/nvidia/%s", drv->version);
	struct js_err e2;
	_cleanup_close_ int fd =
	    js_open_rootowned_beneath(rootfd, rel, O_PATH | O_DIRECTORY, resolved, sizeof resolved, &e2);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return js_fail(err, -fd, "%s", e2.msg);
	snprintf(name, sizeof name, "/%s", rel);
	int r = add_file(drv, resolved, name, NULL, err);
	for (size_t i = 0; r >= 0 && i < drv->n; i++)
		if (!strcmp(drv->f[i].host, resolved))
			drv->f[i].dir = true;
	return r;
}

int js_drv_discover(const char *host_root, struct js_drv *drv, struct js_err *err)
{
	_cleanup_close_ int rootfd = open(host_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return js_failm(err, errno, "cannot open device discovery root \"%s\"", host_root);
	struct soname so[JS_DRV_FILES_MAX];
	int nso = read_cache(rootfd, driver_lib, NULL, so, JS_ARRAY_SIZE(so), err);
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
	int r = add_firmware(rootfd, drv, err);
	return r < 0 ? r : add_socket(rootfd, drv, err);
}

/* ---- CDI mounts and links ---- */

/* Where a CDI mount goes in the container; false when jsandbox does not
 * bind it (see docs/gpus.md): a library (a name with ".so") into
 * JS_DRIVER_DIR, a tool of a bin directory at /usr/bin, the persistenced
 * socket and the firmware where the spec puts them. */
static bool cdi_place(const char *ctr, bool dir, char *name, size_t len)
{
	const char *b = strrchr(ctr, '/') + 1;
	size_t bl = strlen(b);
	if (!dir && strstr(b, ".so") && js_node_plain_name(b, bl))
		return js_snprintf(name, len, "%s/%s", JS_DRIVER_DIR, b) >= 0;
	static const char *const bins[] = {"/usr/bin/", "/bin/", "/usr/sbin/", "/sbin/", "/usr/local/bin/"};
	for (size_t i = 0; i < JS_ARRAY_SIZE(bins) && !dir; i++)
		if (!strncmp(ctr, bins[i], strlen(bins[i])) && b == ctr + strlen(bins[i]) && js_node_plain_name(b, bl))
			return js_snprintf(name, len, "/usr/bin/%s", b) >= 0;
	if (js_node_file_ok(ctr))
		return js_strlcpy(name, ctr, len) >= 0;
	return false;
}

int js_drv_add_cdi(const char *host_root, const char *spec, const struct js_cdi_edits *e, struct js_drv *drv,
		   struct js_err *err)
{
	_cleanup_close_ int rootfd = open(host_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return js_failm(err, errno, "cannot open device discovery root \"%s\"", host_root);
	for (size_t i = 0; i < e->nmounts; i++) {
		const struct js_cdi_mount *m = &e->mount[i];
		char resolved[PATH_MAX], name[JS_NODE_NAME_MAX];
		int r;
		if (!strcmp(m->host, "/run/nvidia-persistenced/socket")) {
			r = add_socket(rootfd, drv, err);
			if (r < 0)
				return r;
			continue;
		}
		/* Not a file jsandbox binds: not even looked at. */
		if (!cdi_place(m->ctr, false, name, sizeof name) && !cdi_place(m->ctr, true, name, sizeof name))
			continue;
		struct js_err e2;
		_cleanup_close_ int fd =
		    js_open_rootowned_beneath(rootfd, m->host + 1, O_PATH, resolved, sizeof resolved, &e2);
		if (fd == -EPERM) {
			/* a directory (the firmware's) is opened as one */
			struct js_err e3;
			int dfd = js_open_rootowned_beneath(rootfd, m->host + 1, O_PATH | O_DIRECTORY, resolved,
							    sizeof resolved, &e3);
			if (dfd >= 0)
				fd = dfd;
		}
		if (fd < 0)
			return js_fail(err, -fd, "CDI spec %s: mount %s: %s", spec, m->host, e2.msg);
		struct stat st;
		if (fstat(fd, &st) < 0)
			return js_failm(err, errno, "CDI spec %s: mount %s", spec, m->host);
		if (!cdi_place(m->ctr, S_ISDIR(st.st_mode), name, sizeof name))
			continue; /* not a compute file jsandbox binds (docs/gpus.md) */
		if ((r = add_file(drv, resolved, name, NULL, err)) < 0)
			return r;
		for (size_t k = 0; k < drv->n; k++)
			if (!strcmp(drv->f[k].host, resolved))
				drv->f[k].dir = S_ISDIR(st.st_mode);
	}
	return 0;
}

int js_drv_add_cdi_links(const struct js_cdi_edits *e, struct js_drv *drv, struct js_err *err)
{
	/* create-symlinks: a link to a library in the driver directory,
	 * made there (other links, /dev/dri/by-path ones, are not made). */
	for (size_t i = 0; i < e->nlinks; i++) {
		const struct js_cdi_link *l = &e->link[i];
		const char *lb = strrchr(l->link, '/') + 1, *tb = strrchr(l->target, '/');
		tb = tb ? tb + 1 : l->target;
		if (!strncmp(l->link, "/dev/", 5) || !js_node_plain_name(lb, strlen(lb)))
			continue;
		for (size_t k = 0; k < drv->n; k++) {
			struct js_drv_file *f = &drv->f[k];
			bool to = !strcmp(strrchr(f->name, '/') + 1, tb);
			for (size_t j = 0; j < f->nlinks && !to; j++)
				to = !strcmp(f->links[j], tb);
			if (to && !strncmp(f->name, JS_DRIVER_DIR "/", strlen(JS_DRIVER_DIR "/"))) {
				int r = add_file(drv, f->host, f->name, lb, err);
				if (r < 0)
					return r;
				break;
			}
		}
	}
	return 0;
}

/* A cache name of one of the driver directory's libraries: the library's
 * name up to ".so", then nothing or a dot. */
static bool cdi_lib(const char *key, const void *ctx)
{
	const struct js_drv *drv = ctx;
	for (size_t i = 0; i < drv->n; i++) {
		const char *b = strrchr(drv->f[i].name, '/') + 1, *so = strstr(b, ".so");
		if (!so || strncmp(drv->f[i].name, JS_DRIVER_DIR "/", strlen(JS_DRIVER_DIR "/")) != 0)
			continue;
		size_t l = (size_t)(so - b) + 3;
		if (!strncmp(key, b, l) && (key[l] == '\0' || key[l] == '.'))
			return true;
	}
	return false;
}

int js_drv_cdi_sonames(const char *host_root, struct js_drv *drv, struct js_err *err)
{
	_cleanup_close_ int rootfd = open(host_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return js_failm(err, errno, "cannot open device discovery root \"%s\"", host_root);
	struct soname *so = calloc(JS_DRV_FILES_MAX, sizeof *so);
	if (!so)
		return js_fail(err, ENOMEM, "out of memory");
	int nso = read_cache(rootfd, cdi_lib, drv, so, JS_DRV_FILES_MAX, err);
	for (int i = 0; i < nso; i++) {
		char resolved[PATH_MAX];
		struct js_err e2;
		int fd = js_open_rootowned_beneath(rootfd, so[i].path, O_PATH, resolved, sizeof resolved, &e2);
		if (fd < 0)
			continue; /* a stale cache entry: no link by that name */
		close(fd);
		for (size_t k = 0; k < drv->n; k++)
			if (!strcmp(drv->f[k].host, resolved)) {
				int r = add_file(drv, drv->f[k].host, drv->f[k].name, so[i].key, err);
				if (r < 0) {
					free(so);
					return r;
				}
			}
	}
	free(so);
	return nso < 0 ? nso : 0;
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
		_cleanup_close_ int fd =
		    f->sock
			? js_openat_beneath(rootfd, f->host, O_PATH, 0)
			: js_open_rootowned_beneath(rootfd, f->host, O_PATH | (f->dir ? O_DIRECTORY : 0), NULL, 0, err);
		struct stat st;
		if (f->sock && fd >= 0 && (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)))
			return js_fail(err, EINVAL, "/%s is no longer a socket", f->host);
		if (f->sock && fd < 0)
			return js_failm(err, -fd, "/%s", f->host);
		if (fd < 0)
			return fd;
		int tree = (int)syscall(SYS_open_tree, fd, "",
					OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
		if (tree < 0)
			return js_failm(err, errno, "cannot clone \"%s/%s\"", host_root, f->host);
		struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};
		if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a) < 0) {
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
