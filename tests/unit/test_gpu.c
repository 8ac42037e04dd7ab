/* SPDX-License-Identifier: MIT */
/* GPU discovery and selection (lib/gpu.c), the device allow-list
 * (lib/devices.c) and the cgroup v2 device program (lib/ebpf.c), against
 * fake /proc, /sys and /dev trees made under a temporary directory. Runs
 * as any user; the tests that need root (device nodes, loading a BPF
 * program) are skipped otherwise, and fail under CI=true (ci_skip.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "ci_skip.h"
#include "devices.h"
#include "devnode.h"
#include "ebpf.h"
#include "gpu.h"
#include "gpudrv.h"
#include "policy.h"
#include "safefs.h"

/* snprintf that fails the test instead of truncating. */
#define FMT(buf, ...) assert_true(snprintf((buf), sizeof(buf), __VA_ARGS__) < (int)sizeof(buf))

static char tmpdir[] = "/tmp/jsb-gpu-test.XXXXXX";
static char root[PATH_MAX];   /* the full fake host */
static char bare[PATH_MAX];   /* a host with no GPU at all */
static char broken[PATH_MAX]; /* an NVIDIA GPU whose information lacks its minor */
static char nouvm[PATH_MAX];  /* NVIDIA GPU, nvidia-uvm not loaded */

/* ---- building fake trees ---- */

static void mkdirs(const char *path)
{
	char p[PATH_MAX];
	FMT(p, "%s", path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	mkdir(p, 0755);
}

static void put(const char *base, const char *rel, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void put(const char *base, const char *rel, const char *fmt, ...)
{
	char path[PATH_MAX], dir[PATH_MAX];
	FMT(path, "%s/%s", base, rel);
	FMT(dir, "%s", path);
	*strrchr(dir, '/') = '\0';
	mkdirs(dir);
	FILE *f = fopen(path, "we");
	assert_non_null(f);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

static void link_at(const char *base, const char *rel, const char *target)
{
	char path[PATH_MAX], dir[PATH_MAX];
	FMT(path, "%s/%s", base, rel);
	FMT(dir, "%s", path);
	*strrchr(dir, '/') = '\0';
	mkdirs(dir);
	assert_int_equal(symlink(target, path), 0);
}

static const char proc_devices[] = "Character devices:\n"
				   "  1 mem\n"
				   "  5 /dev/tty\n"
				   "136 pts\n"
				   "195 nvidia-frontend\n"
				   "226 drm\n"
				   "236 nvidia-caps\n"
				   "237 nvidia-uvm\n"
				   "240 kfd\n"
				   "\n"
				   "Block devices:\n"
				   "  8 sd\n"
				   "238 nvidia-caps\n";

/* Eight NVIDIA GPUs whose device minors do not follow their bus order
 * (the driver numbers them in probe order), one in PCI domain 1. */
static const struct {
	const char *bus;
	int minor;
} nv[] = {
    {"0000:b1:00.0", 0}, {"0000:18:00.0", 1}, {"0000:86:00.0", 2}, {"0000:3B:00.0", 3},
    {"0001:05:00.0", 4}, {"0000:af:00.0", 5}, {"0000:5e:00.0", 6}, {"0000:d8:00.0", 7},
};

static void nvidia_gpu(const char *base, const char *bus, int minor)
{
	char rel[256];
	FMT(rel, "proc/driver/nvidia/gpus/%s/information", bus);
	/* The layout of the driver's file (tab/space padded "Key: value"). */
	put(base, rel,
	    "Model: \t\t NVIDIA H100 80GB HBM3\n"
	    "IRQ:             63\n"
	    "GPU UUID:        GPU-%08X-1111-2222-3333-AABBCCDDEEFF\n"
	    "Video BIOS:      96.00.99.00.01\n"
	    "Bus Type:        PCIe\n"
	    "DMA Size:        52 bits\n"
	    "DMA Mask:        0xfffffffffffff\n"
	    "Bus Location:    %s\n"
	    "Device Minor:    %d\n"
	    "GPU Excluded:    No\n",
	    0xabc00000u + (unsigned)minor, bus, minor);
}

/* A DRM render node whose device is the PCI function `bus`; `abs` makes
 * the device link absolute, which must still resolve inside the tree. */
static void drm_gpu(const char *base, int render, const char *bus, const char *vendor, bool abs)
{
	char rel[256], target[256];
	FMT(rel, "sys/devices/pci0000:00/%s/vendor", bus);
	put(base, rel, "%s\n", vendor);
	FMT(rel, "sys/devices/pci0000:00/%s/device", bus);
	put(base, rel, "0x740f\n");
	FMT(rel, "sys/class/drm/renderD%d/dev", render);
	put(base, rel, "226:%d\n", render);
	FMT(rel, "sys/class/drm/renderD%d/device", render);
	FMT(target, "%s/devices/pci0000:00/%s", abs ? "/sys" : "../../..", bus);
	link_at(base, rel, target);
}

static void mig_cap(const char *base, int gpu_minor, const char *inst, int cap)
{
	char rel[256];
	FMT(rel, "proc/driver/nvidia/capabilities/gpu%d/mig/%s/access", gpu_minor, inst);
	put(base, rel, "DeviceFileMinor: %d\nDeviceFileMode: 292\nDeviceFileModify: 1\n", cap);
}

static void make_root(void)
{
	FMT(root, "%s/host", tmpdir);
	put(root, "proc/devices", "%s", proc_devices);
	for (size_t i = 0; i < sizeof nv / sizeof nv[0]; i++)
		nvidia_gpu(root, nv[i].bus, nv[i].minor);
	/* MIG on the GPU with minor 3: two GPU instances, one compute
	 * instance each. The driver-wide config/monitor caps must never
	 * be granted. */
	mig_cap(root, 3, "gi1", 12);
	mig_cap(root, 3, "gi1/ci0", 13);
	mig_cap(root, 3, "gi2", 21);
	mig_cap(root, 3, "gi2/ci0", 22);
	put(root, "proc/driver/nvidia/capabilities/mig/config", "DeviceFileMinor: 1\n");
	put(root, "proc/driver/nvidia/capabilities/mig/monitor", "DeviceFileMinor: 2\n");
	/* Four AMD GPUs, one Intel, and render nodes that are no GPU of
	 * ours: NVIDIA's own (nvidia-drm) and a virtio-gpu. */
	drm_gpu(root, 128, "0000:03:00.0", "0x1002", false);
	drm_gpu(root, 129, "0000:c3:00.0", "0x1002", false);
	drm_gpu(root, 130, "0000:23:00.0", "0x1002", false);
	drm_gpu(root, 131, "0000:e3:00.0", "0x1002", true);
	drm_gpu(root, 132, "0000:00:02.0", "0x8086", false);
	drm_gpu(root, 133, "0000:18:00.0", "0x10de", false);
	drm_gpu(root, 134, "0000:07:00.0", "0x1af4", false);
	put(root, "sys/class/drm/card0/dev", "226:0\n");
	put(root, "sys/class/drm/version", "drm 1.1.0 20060810\n");
	/* A /dev entry that is not a device node: its numbers are ignored. */
	put(root, "dev/nvidia0", "not a device\n");

	FMT(bare, "%s/bare", tmpdir);
	put(bare, "proc/devices", "Character devices:\n  1 mem\n");

	FMT(broken, "%s/broken", tmpdir);
	put(broken, "proc/devices", "%s", proc_devices);
	put(broken, "proc/driver/nvidia/gpus/0000:18:00.0/information", "Model: X\nBus Location: 0000:18:00.0\n");

	FMT(nouvm, "%s/nouvm", tmpdir);
	put(nouvm, "proc/devices", "Character devices:\n195 nvidia-frontend\n");
	nvidia_gpu(nouvm, "0000:18:00.0", 0);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	make_root();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* ---- helpers ---- */

static struct js_gpu_sel sel_of(const char *s)
{
	struct js_gpu_sel sel;
	char why[256];
	if (js_parse_gpus(s, &sel, why, sizeof why) < 0)
		fail_msg("js_parse_gpus(\"%s\"): %s", s, why);
	return sel;
}

static const struct js_dev_rule *find_path(const struct js_dev_list *l, const char *path)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->r[i].path, path))
			return &l->r[i];
	return NULL;
}

static void assert_node(const struct js_dev_list *l, const char *path, long major, long minor)
{
	const struct js_dev_rule *r = find_path(l, path);
	if (!r)
		fail_msg("%s missing from the list", path);
	assert_int_equal(r->type, 'c');
	assert_int_equal(r->major, major);
	assert_int_equal(r->minor, minor);
	assert_int_equal(r->access, JS_DEV_READ | JS_DEV_WRITE);
}

static void discover(const char *host, struct js_gpu_list *l)
{
	struct js_err e = {0};
	if (js_gpu_discover(host, l, &e) < 0)
		fail_msg("discover %s: %s", host, e.msg);
}

/* ---- discovery ---- */

static void test_discover_order(void **state)
{
	(void)state;
	struct js_gpu_list l;
	discover(root, &l);
	/* By PCI address: domain 0 first, then domain 1. */
	static const struct {
		const char *pci;
		enum js_gpu_vendor v;
		long minor;
	} want[] = {
	    {"0000:00:02.0", JS_GPU_INTEL, 132}, {"0000:03:00.0", JS_GPU_AMD, 128},  {"0000:18:00.0", JS_GPU_NVIDIA, 1},
	    {"0000:23:00.0", JS_GPU_AMD, 130},	 {"0000:3b:00.0", JS_GPU_NVIDIA, 3}, {"0000:5e:00.0", JS_GPU_NVIDIA, 6},
	    {"0000:86:00.0", JS_GPU_NVIDIA, 2},	 {"0000:af:00.0", JS_GPU_NVIDIA, 5}, {"0000:b1:00.0", JS_GPU_NVIDIA, 0},
	    {"0000:c3:00.0", JS_GPU_AMD, 129},	 {"0000:d8:00.0", JS_GPU_NVIDIA, 7}, {"0000:e3:00.0", JS_GPU_AMD, 131},
	    {"0001:05:00.0", JS_GPU_NVIDIA, 4},
	};
	assert_int_equal(l.n, sizeof want / sizeof want[0]);
	for (size_t i = 0; i < l.n; i++) {
		assert_int_equal(l.gpu[i].index, i);
		assert_string_equal(l.gpu[i].pci, want[i].pci);
		assert_int_equal(l.gpu[i].vendor, want[i].v);
		assert_int_equal(l.gpu[i].minor, want[i].minor);
		if (want[i].v == JS_GPU_NVIDIA) {
			char uuid[64];
			FMT(uuid, "GPU-%08x-1111-2222-3333-aabbccddeeff", 0xabc00000u + (unsigned)want[i].minor);
			assert_string_equal(l.gpu[i].uuid, uuid);
			assert_string_equal(l.gpu[i].model, "NVIDIA H100 80GB HBM3");
		} else {
			assert_string_equal(l.gpu[i].uuid, "");
		}
	}
	assert_string_equal(js_gpu_vendor_name(l.gpu[0].vendor), "intel");
	js_gpu_list_free(&l);
}

static void test_discover_nodes(void **state)
{
	(void)state;
	struct js_gpu_list l;
	discover(root, &l);
	/* Index 4 is minor 3, the MIG GPU: its own node then its GPU and
	 * compute instance capabilities (nvidia-caps is 236, the char
	 * major: the block entry of the same name is not it). */
	const struct js_gpu *g = &l.gpu[4];
	assert_int_equal(g->nnodes, 5);
	struct js_dev_list nodes = {.n = g->nnodes, .r = (struct js_dev_rule *)g->node};
	assert_node(&nodes, "/dev/nvidia3", 195, 3);
	assert_node(&nodes, "/dev/nvidia-caps/nvidia-cap12", 236, 12);
	assert_node(&nodes, "/dev/nvidia-caps/nvidia-cap13", 236, 13);
	assert_node(&nodes, "/dev/nvidia-caps/nvidia-cap21", 236, 21);
	assert_node(&nodes, "/dev/nvidia-caps/nvidia-cap22", 236, 22);
	assert_null(find_path(&nodes, "/dev/nvidia-caps/nvidia-cap1"));
	/* /dev/nvidia0 in the tree is a regular file: convention wins. */
	assert_int_equal(l.gpu[8].nnodes, 1);
	assert_string_equal(l.gpu[8].node[0].path, "/dev/nvidia0");
	assert_int_equal(l.gpu[8].node[0].major, 195);
	assert_int_equal(l.gpu[8].node[0].minor, 0);
	/* DRM: numbers from sysfs "dev". */
	assert_int_equal(l.gpu[1].nnodes, 1);
	assert_string_equal(l.gpu[1].node[0].path, "/dev/dri/renderD128");
	assert_int_equal(l.gpu[1].node[0].major, 226);
	assert_int_equal(l.gpu[1].node[0].minor, 128);
	assert_string_equal(l.gpu[1].model, "vendor 0x1002 device 0x740f");
	/* Shared nodes. */
	assert_int_equal(l.shared[JS_GPU_NVIDIA].n, 4);
	assert_node(&l.shared[JS_GPU_NVIDIA], "/dev/nvidiactl", 195, 255);
	assert_node(&l.shared[JS_GPU_NVIDIA], "/dev/nvidia-modeset", 195, 254);
	assert_node(&l.shared[JS_GPU_NVIDIA], "/dev/nvidia-uvm", 237, 0);
	assert_node(&l.shared[JS_GPU_NVIDIA], "/dev/nvidia-uvm-tools", 237, 1);
	assert_int_equal(l.shared[JS_GPU_AMD].n, 1);
	assert_node(&l.shared[JS_GPU_AMD], "/dev/kfd", 240, 0);
	assert_int_equal(l.shared[JS_GPU_INTEL].n, 0);
	js_gpu_list_free(&l);
}

static void test_discover_bare_and_broken(void **state)
{
	(void)state;
	struct js_gpu_list l;
	struct js_err e = {0};
	discover(bare, &l);
	assert_int_equal(l.n, 0);
	struct js_dev_list nodes = {0};
	struct js_gpu_sel all = sel_of("all");
	assert_int_equal(js_gpu_select(&l, &all, &nodes, &e), 0);
	assert_int_equal(nodes.n, 0);
	struct js_gpu_sel zero = sel_of("0");
	assert_int_equal(js_gpu_select(&l, &zero, &nodes, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "GPU 0 does not exist"));
	assert_non_null(strstr(e.msg, "no GPU"));
	js_gpu_list_free(&l);

	/* A GPU the driver lists but that cannot be read is an error, not
	 * a gap that would renumber the GPUs after it. */
	assert_int_equal(js_gpu_discover(broken, &l, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "Device Minor"));
	assert_non_null(strstr(e.msg, "0000:18:00.0"));
	assert_int_equal(l.n, 0);

	/* nvidia-uvm not loaded and no node: left out, the rest is there. */
	discover(nouvm, &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.shared[JS_GPU_NVIDIA].n, 2);
	assert_null(find_path(&l.shared[JS_GPU_NVIDIA], "/dev/nvidia-uvm"));
	js_gpu_list_free(&l);

	assert_int_equal(js_gpu_discover("/nonexistent-jsb-root", &l, &e), -ENOENT);
}

/* ---- selection ---- */

static void select_ok(const struct js_gpu_list *l, const char *s, struct js_dev_list *nodes)
{
	struct js_err e = {0};
	struct js_gpu_sel sel = sel_of(s);
	memset(nodes, 0, sizeof *nodes);
	if (js_gpu_select(l, &sel, nodes, &e) < 0)
		fail_msg("select \"%s\": %s", s, e.msg);
}

static void test_select_by_index_pci_uuid(void **state)
{
	(void)state;
	struct js_gpu_list l;
	struct js_dev_list n;
	discover(root, &l);

	/* Index 2 is the GPU at 0000:18:00.0, whose minor is 1. */
	select_ok(&l, "2", &n);
	assert_int_equal(n.n, 5);
	assert_node(&n, "/dev/nvidia1", 195, 1);
	assert_node(&n, "/dev/nvidiactl", 195, 255);
	assert_node(&n, "/dev/nvidia-modeset", 195, 254);
	assert_node(&n, "/dev/nvidia-uvm", 237, 0);
	assert_node(&n, "/dev/nvidia-uvm-tools", 237, 1);
	assert_null(find_path(&n, "/dev/nvidia2"));
	assert_null(find_path(&n, "/dev/kfd"));
	js_dev_list_free(&n);

	/* By PCI address, any spelling the policy parser accepts. */
	select_ok(&l, "86:00.0", &n);
	assert_node(&n, "/dev/nvidia2", 195, 2);
	assert_null(find_path(&n, "/dev/nvidia1"));
	js_dev_list_free(&n);
	select_ok(&l, "0001:05:00.0", &n);
	assert_node(&n, "/dev/nvidia4", 195, 4);
	js_dev_list_free(&n);

	/* By UUID, whatever its case. */
	select_ok(&l, "GPU-ABC00007-1111-2222-3333-aabbccddeeff", &n);
	assert_node(&n, "/dev/nvidia7", 195, 7);
	assert_int_equal(n.n, 5);
	js_dev_list_free(&n);

	/* Several, with the MIG GPU: its capabilities come along; the
	 * shared nodes appear once. */
	select_ok(&l, "4,0000:b1:00.0,1", &n);
	assert_node(&n, "/dev/nvidia3", 195, 3);
	assert_node(&n, "/dev/nvidia0", 195, 0);
	assert_node(&n, "/dev/nvidia-caps/nvidia-cap22", 236, 22);
	assert_node(&n, "/dev/dri/renderD128", 226, 128);
	assert_node(&n, "/dev/kfd", 240, 0);
	assert_int_equal(n.n, 2 + 4 + 4 + 1 + 1);
	js_dev_list_free(&n);

	select_ok(&l, "none", &n);
	assert_int_equal(n.n, 0);
	js_dev_list_free(&n);

	select_ok(&l, "all", &n);
	/* 8 NVIDIA nodes, 4 MIG caps, 5 render nodes, 4 NVIDIA shared, kfd */
	assert_int_equal(n.n, 8 + 4 + 5 + 4 + 1);
	assert_node(&n, "/dev/dri/renderD132", 226, 132);
	assert_null(find_path(&n, "/dev/dri/renderD133")); /* NVIDIA's render node */
	assert_null(find_path(&n, "/dev/dri/renderD134")); /* virtio-gpu */
	js_dev_list_free(&n);
	js_gpu_list_free(&l);
}

static void test_select_unknown(void **state)
{
	(void)state;
	struct js_gpu_list l;
	struct js_dev_list n = {0};
	struct js_err e = {0};
	discover(root, &l);
	struct js_dev_rule keep = {'c', 1, 3, JS_DEV_READ, "/dev/null", false};
	assert_int_equal(js_dev_list_add(&n, &keep, &e), 0);

	struct js_gpu_sel s = sel_of("0,13");
	assert_int_equal(js_gpu_select(&l, &s, &n, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "GPU 13 does not exist"));
	assert_non_null(strstr(e.msg, "0 to 12"));
	assert_int_equal(n.n, 1); /* untouched on error */

	s = sel_of("0000:3b:00.1");
	assert_int_equal(js_gpu_select(&l, &s, &n, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "0000:3b:00.1"));

	s = sel_of("GPU-abc00099-1111-2222-3333-aabbccddeeff");
	assert_int_equal(js_gpu_select(&l, &s, &n, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "GPU-abc00099-1111-2222-3333-aabbccddeeff"));

	s = sel_of("MIG-abc00099-1111-2222-3333-aabbccddeeff");
	assert_int_equal(js_gpu_select(&l, &s, &n, &e), -EOPNOTSUPP);
	assert_non_null(strstr(e.msg, "parent GPU"));
	assert_int_equal(n.n, 1);
	js_dev_list_free(&n);
	js_gpu_list_free(&l);
}

/* For every GPU alone: the NVIDIA control nodes are there exactly when an
 * NVIDIA GPU is granted, /dev/kfd exactly when an AMD one is. */
static void test_shared_nodes_exactly_when_needed(void **state)
{
	(void)state;
	struct js_gpu_list l;
	discover(root, &l);
	for (size_t i = 0; i < l.n; i++) {
		char s[8];
		struct js_dev_list n;
		FMT(s, "%zu", i);
		select_ok(&l, s, &n);
		bool nvidia = l.gpu[i].vendor == JS_GPU_NVIDIA, amd = l.gpu[i].vendor == JS_GPU_AMD;
		assert_int_equal(find_path(&n, "/dev/nvidiactl") != NULL, nvidia);
		assert_int_equal(find_path(&n, "/dev/nvidia-uvm") != NULL, nvidia);
		assert_int_equal(find_path(&n, "/dev/nvidia-uvm-tools") != NULL, nvidia);
		assert_int_equal(find_path(&n, "/dev/nvidia-modeset") != NULL, nvidia);
		assert_int_equal(find_path(&n, "/dev/kfd") != NULL, amd);
		/* Nothing of another GPU. */
		for (size_t k = 0; k < n.n; k++) {
			bool own = false;
			for (size_t j = 0; j < l.gpu[i].nnodes; j++)
				own = own || !strcmp(l.gpu[i].node[j].path, n.r[k].path);
			bool shared = find_path(&l.shared[l.gpu[i].vendor], n.r[k].path) != NULL;
			assert_true(own || shared);
		}
		js_dev_list_free(&n);
	}
	js_gpu_list_free(&l);
}

/* ---- the allow-list ---- */

static void test_rule_format(void **state)
{
	(void)state;
	char b[64];
	struct js_dev_rule r = {'c', 195, 0, JS_DEV_READ | JS_DEV_WRITE, "", false};
	assert_int_equal(js_dev_rule_format(&r, b, sizeof b), 0);
	assert_string_equal(b, "c 195:0 rw");
	r = (struct js_dev_rule){'c', 136, -1, JS_DEV_READ | JS_DEV_WRITE, "", false};
	js_dev_rule_format(&r, b, sizeof b);
	assert_string_equal(b, "c 136:* rw");
	r = (struct js_dev_rule){'a', -1, -1, JS_DEV_READ | JS_DEV_WRITE | JS_DEV_MKNOD, "", false};
	js_dev_rule_format(&r, b, sizeof b);
	assert_string_equal(b, "a *:* rwm");
	r = (struct js_dev_rule){'b', 8, -1, JS_DEV_MKNOD | JS_DEV_READ, "", false};
	js_dev_rule_format(&r, b, sizeof b);
	assert_string_equal(b, "b 8:* rm");
	assert_int_equal(js_dev_rule_format(&r, b, 4), -ENAMETOOLONG);
}

static void test_list_dedup_and_conflict(void **state)
{
	(void)state;
	struct js_dev_list l = {0};
	struct js_err e = {0};
	struct js_dev_rule a = {'c', 195, 0, JS_DEV_READ, "/dev/nvidia0", false};
	assert_int_equal(js_dev_list_add(&l, &a, &e), 0);
	a.access = JS_DEV_WRITE;
	assert_int_equal(js_dev_list_add(&l, &a, &e), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.r[0].access, JS_DEV_READ | JS_DEV_WRITE);
	/* The same numbers as a bare rule: a separate entry. */
	a.path[0] = '\0';
	assert_int_equal(js_dev_list_add(&l, &a, &e), 0);
	assert_int_equal(l.n, 2);
	/* One name, two devices: refused. */
	struct js_dev_rule b = {'c', 195, 5, JS_DEV_READ, "/dev/nvidia0", false};
	assert_int_equal(js_dev_list_add(&l, &b, &e), -EEXIST);
	assert_non_null(strstr(e.msg, "/dev/nvidia0"));
	/* Unresolved and malformed rules. */
	struct js_dev_rule u = {0, -1, -1, JS_DEV_READ, "/dev/fuse", false};
	assert_int_equal(js_dev_list_add(&l, &u, &e), -EINVAL);
	struct js_dev_rule w = {'c', -1, 3, JS_DEV_READ, "/dev/x", false};
	assert_int_equal(js_dev_list_add(&l, &w, &e), -EINVAL);
	struct js_dev_rule big = {'c', 4096, 0, JS_DEV_READ, "", false};
	assert_int_equal(js_dev_list_add(&l, &big, &e), -EINVAL);
	big = (struct js_dev_rule){'c', 1, 1L << 20, JS_DEV_READ, "", false};
	assert_int_equal(js_dev_list_add(&l, &big, &e), -EINVAL);
	struct js_dev_rule none = {'c', 1, 3, 0, "", false};
	assert_int_equal(js_dev_list_add(&l, &none, &e), -EINVAL);
	assert_int_equal(l.n, 2);
	/* Matching: one entry must cover every requested bit. */
	assert_true(js_dev_list_allows(&l, 'c', 195, 0, JS_DEV_READ | JS_DEV_WRITE));
	assert_false(js_dev_list_allows(&l, 'c', 195, 0, JS_DEV_MKNOD));
	assert_false(js_dev_list_allows(&l, 'b', 195, 0, JS_DEV_READ));
	js_dev_list_free(&l);
}

static struct js_policy policy_of(const char *gpus, const char *devices)
{
	struct js_policy p;
	char why[256];
	memset(&p, 0, sizeof p);
	p.gpus = sel_of(gpus);
	if (js_parse_devices(devices, p.devices, &p.ndevices, why, sizeof why) < 0)
		fail_msg("js_parse_devices(\"%s\"): %s", devices, why);
	return p;
}

static void test_build(void **state)
{
	(void)state;
	struct js_dev_list l;
	struct js_err e = {0};
	struct js_policy p = policy_of("none", "");
	/* No GPU granted: the GPU tree is not even read. */
	assert_int_equal(js_devices_build("/nonexistent-jsb-root", &p.gpus, p.devices, p.ndevices, &l, &e), 0);
	assert_int_equal(l.n, 8);
	assert_node(&l, "/dev/null", 1, 3);
	assert_node(&l, "/dev/zero", 1, 5);
	assert_node(&l, "/dev/full", 1, 7);
	assert_node(&l, "/dev/random", 1, 8);
	assert_node(&l, "/dev/urandom", 1, 9);
	assert_node(&l, "/dev/tty", 5, 0);
	assert_true(js_dev_list_allows(&l, 'c', 5, 2, JS_DEV_READ | JS_DEV_WRITE));    /* ptmx */
	assert_true(js_dev_list_allows(&l, 'c', 136, 17, JS_DEV_READ | JS_DEV_WRITE)); /* pts/17 */
	assert_false(js_dev_list_allows(&l, 'c', 1, 3, JS_DEV_MKNOD));
	assert_false(js_dev_list_allows(&l, 'c', 1, 1, JS_DEV_READ)); /* /dev/mem */
	assert_false(js_dev_list_allows(&l, 'b', 8, 0, JS_DEV_READ)); /* /dev/sda */
	assert_false(js_dev_list_allows(&l, 'c', 195, 0, JS_DEV_READ));
	js_dev_list_free(&l);

	p = policy_of("0,2", "c 10:229 rwm /dev/fuse, b 7:* r");
	assert_int_equal(js_devices_build(root, &p.gpus, p.devices, p.ndevices, &l, &e), 0);
	assert_node(&l, "/dev/nvidia1", 195, 1);
	assert_node(&l, "/dev/dri/renderD132", 226, 132);
	/* The shared nodes are optional: the fake tree has no dev/, so they
	 * are left out (rule and node); the GPUs' own nodes stay, and fail
	 * when opened (test_open_nodes). */
	assert_null(find_path(&l, "/dev/nvidiactl"));
	assert_null(find_path(&l, "/dev/nvidia-uvm-tools"));
	assert_false(js_dev_list_allows(&l, 'c', 195, 255, JS_DEV_READ));
	assert_null(find_path(&l, "/dev/kfd"));
	assert_non_null(find_path(&l, "/dev/fuse"));
	assert_true(js_dev_list_allows(&l, 'c', 10, 229, JS_DEV_MKNOD));
	assert_true(js_dev_list_allows(&l, 'b', 7, 3, JS_DEV_READ));
	assert_false(js_dev_list_allows(&l, 'b', 7, 3, JS_DEV_WRITE));
	assert_false(js_dev_list_allows(&l, 'c', 195, 0, JS_DEV_READ));
	js_dev_list_free(&l);

	/* An unknown GPU fails the whole build, naming it. */
	p = policy_of("0,42", "");
	assert_int_equal(js_devices_build(root, &p.gpus, p.devices, p.ndevices, &l, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "GPU 42 does not exist"));
	assert_int_equal(l.n, 0);

	/* The path form needs a real device node: a regular file is not
	 * one, a symlink is never followed, a missing node is an error. */
	put(root, "dev/notadev", "x");
	link_at(root, "dev/shm/sneaky", "../notadev");
	p = policy_of("none", "/dev/notadev");
	assert_int_equal(js_devices_build(root, &p.gpus, p.devices, p.ndevices, &l, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "not a device node"));
	/* A trailing symlink is looked at, not through (O_PATH|O_NOFOLLOW
	 * opens the link itself); one in the middle stops the lookup. */
	p = policy_of("none", "/dev/shm/sneaky");
	assert_int_equal(js_devices_build(root, &p.gpus, p.devices, p.ndevices, &l, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "not a device node"));
	link_at(root, "dev/evil", "shm");
	p = policy_of("none", "/dev/evil/sneaky");
	assert_int_equal(js_devices_build(root, &p.gpus, p.devices, p.ndevices, &l, &e), -ELOOP);
	p = policy_of("none", "/dev/fuse");
	assert_int_equal(js_devices_build(root, &p.gpus, p.devices, p.ndevices, &l, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "/dev/fuse"));
}

/* Device nodes in the tree (root only: mknod): their numbers win, and
 * the path form of a policy rule resolves from them. */
static void test_real_nodes(void **state)
{
	(void)state;
	JS_SKIP_IF(geteuid() != 0, "real device nodes need root (mknod)");
	char path[PATH_MAX];
	FMT(path, "%s/dev/nvidia-uvm", root);
	assert_int_equal(mknod(path, S_IFCHR | 0600, makedev(511, 0)), 0);
	FMT(path, "%s/dev/fuse", root);
	assert_int_equal(mknod(path, S_IFCHR | 0600, makedev(10, 229)), 0);
	FMT(path, "%s/dev/loop9", root);
	assert_int_equal(mknod(path, S_IFBLK | 0600, makedev(7, 9)), 0);

	struct js_gpu_list g;
	discover(root, &g);
	assert_node(&g.shared[JS_GPU_NVIDIA], "/dev/nvidia-uvm", 511, 0);
	js_gpu_list_free(&g);

	struct js_dev_list l;
	struct js_err e = {0};
	struct js_policy p = policy_of("none", "/dev/fuse, /dev/loop9 r");
	if (js_devices_build(root, &p.gpus, p.devices, p.ndevices, &l, &e) < 0)
		fail_msg("build: %s", e.msg);
	assert_node(&l, "/dev/fuse", 10, 229);
	const struct js_dev_rule *loop = find_path(&l, "/dev/loop9");
	assert_non_null(loop);
	assert_int_equal(loop->type, 'b');
	assert_int_equal(loop->major, 7);
	assert_int_equal(loop->minor, 9);
	assert_int_equal(loop->access, JS_DEV_READ);
	js_dev_list_free(&l);

	/* The nodes the container gets: cloned only when the node is a
	 * device of exactly the rule's type and numbers. */
	struct js_dev_list want = {0};
	struct js_dev_rule fuse = {'c', 10, 229, JS_DEV_READ | JS_DEV_WRITE, "/dev/fuse", false};
	assert_int_equal(js_dev_list_add(&want, &fuse, &e), 0);
	assert_int_equal(js_devices_add_defaults(&want, &e), 0);
	struct js_dev_nodes nodes = {0};
	if (js_devices_open_nodes(root, &want, &nodes, &e) < 0)
		fail_msg("open_nodes: %s", e.msg);
	/* fuse from the tree, the six standard nodes from the real /dev */
	assert_int_equal(nodes.n, 7);
	assert_string_equal(nodes.v[0].name, "/dev/fuse");
	for (size_t i = 0; i < nodes.n; i++) {
		struct stat st;
		assert_int_equal(nodes.v[i].kind, JS_NODE_DEV);
		assert_int_equal(fstat(nodes.v[i].fd, &st), 0);
		assert_true(S_ISCHR(st.st_mode));
	}
	js_dev_nodes_close(&nodes);
	js_dev_list_free(&want);

	struct js_dev_rule wrong = {'c', 10, 230, JS_DEV_READ, "/dev/fuse", false};
	assert_int_equal(js_dev_list_add(&want, &wrong, &e), 0);
	assert_int_equal(js_devices_open_nodes(root, &want, &nodes, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "is not c 10:230"));
	js_dev_nodes_close(&nodes);
	js_dev_list_free(&want);

	struct js_dev_rule blk = {'c', 7, 9, JS_DEV_READ, "/dev/loop9", false}; /* a block node listed as char */
	assert_int_equal(js_dev_list_add(&want, &blk, &e), 0);
	assert_int_equal(js_devices_open_nodes(root, &want, &nodes, &e), -EINVAL);
	js_dev_nodes_close(&nodes);
	js_dev_list_free(&want);

	struct js_dev_rule gone = {'c', 195, 9, JS_DEV_READ, "/dev/nvidia9", false};
	assert_int_equal(js_dev_list_add(&want, &gone, &e), 0);
	assert_int_equal(js_devices_open_nodes(root, &want, &nodes, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "/dev/nvidia9"));
	js_dev_nodes_close(&nodes);
	js_dev_list_free(&want);

	/* A symlink anywhere on the way is never followed. */
	FMT(path, "%s/dev/linkdir", root);
	assert_int_equal(symlink(".", path), 0);
	struct js_dev_rule via = {'c', 10, 229, JS_DEV_READ, "/dev/linkdir/fuse", false};
	assert_int_equal(js_dev_list_add(&want, &via, &e), 0);
	assert_int_equal(js_devices_open_nodes(root, &want, &nodes, &e), -ELOOP);
	js_dev_nodes_close(&nodes);
	js_dev_list_free(&want);
	unlink(path);

	/* /proc/driver/nvidia/gpus entries of the granted NVIDIA GPUs, by
	 * their directory names as the driver wrote them. */
	struct js_gpu_sel two = {.kind = JS_GPUS_LIST, .n = 2};
	two.ref[0] = (struct js_gpu_ref){.type = JS_GPU_PCI, .id = "0000:3b:00.0"};
	two.ref[1] = (struct js_gpu_ref){.type = JS_GPU_PCI, .id = "0000:18:00.0"};
	if (js_gpu_open_proc(root, &two, &nodes, &e) < 0)
		fail_msg("open_proc: %s", e.msg);
	assert_int_equal(nodes.n, 2);
	bool saw3b = false, saw18 = false;
	for (size_t i = 0; i < nodes.n; i++) {
		assert_int_equal(nodes.v[i].kind, JS_NODE_NVPROC);
		saw3b |= !strcmp(nodes.v[i].name, "0000:3B:00.0");
		saw18 |= !strcmp(nodes.v[i].name, "0000:18:00.0");
		int fd = openat(nodes.v[i].fd, "information", O_RDONLY | O_CLOEXEC);
		assert_true(fd >= 0);
		close(fd);
	}
	assert_true(saw3b && saw18);
	js_dev_nodes_close(&nodes);
	struct js_gpu_sel none = {.kind = JS_GPUS_NONE};
	assert_int_equal(js_gpu_open_proc(root, &none, &nodes, &e), 0);
	assert_int_equal(nodes.n, 0);

	FMT(path, "%s/dev/nvidia-uvm", root);
	unlink(path);
}

static void test_dev_path_ok(void **state)
{
	(void)state;
	assert_true(js_dev_path_ok("/dev/nvidia0"));
	assert_true(js_dev_path_ok("/dev/dri/renderD128"));
	assert_true(js_dev_path_ok("/dev/nvidia-caps/nvidia-cap12"));
	assert_false(js_dev_path_ok("/dev/"));
	assert_false(js_dev_path_ok("/dev"));
	assert_false(js_dev_path_ok("/etc/passwd"));
	assert_false(js_dev_path_ok("/dev/../etc/passwd"));
	assert_false(js_dev_path_ok("/dev/./null"));
	assert_false(js_dev_path_ok("/dev//null"));
	assert_false(js_dev_path_ok("/dev/dri/"));
	assert_false(js_dev_path_ok("/dev/a b"));
	assert_false(js_dev_path_ok("/dev/x\ny"));
}

/* ---- the eBPF program ---- */

/* A tiny interpreter for exactly the instructions js_ebpf_build emits:
 * the program is checked by running it, the same way the kernel will. */
static int run_prog(const struct js_bpf_prog *p, uint32_t access_type, uint32_t major, uint32_t minor)
{
	uint64_t reg[11] = {0};
	uint32_t ctx[3] = {access_type, major, minor};
	size_t pc = 0;
	for (int steps = 0; steps < 100000; steps++) {
		if (pc >= p->n)
			fail_msg("fell off the program at %zu", pc);
		const struct bpf_insn *i = &p->insn[pc++];
		uint64_t *d = &reg[i->dst_reg];
		switch (i->code) {
		case BPF_LDX | BPF_MEM | BPF_W:
			assert_int_equal(i->src_reg, 1);
			assert_true(i->off >= 0 && i->off <= 8 && i->off % 4 == 0);
			*d = ctx[i->off / 4];
			break;
		case BPF_ALU | BPF_MOV | BPF_X:
			*d = (uint32_t)reg[i->src_reg];
			break;
		case BPF_ALU | BPF_AND | BPF_K:
			*d = (uint32_t)*d & (uint32_t)i->imm;
			break;
		case BPF_ALU | BPF_RSH | BPF_K:
			*d = (uint32_t)*d >> i->imm;
			break;
		case BPF_ALU64 | BPF_MOV | BPF_K:
			*d = (uint64_t)(int64_t)i->imm;
			break;
		case BPF_JMP | BPF_JNE | BPF_K:
			if (*d != (uint64_t)(int64_t)i->imm)
				pc += (size_t)i->off;
			break;
		case BPF_JMP | BPF_EXIT:
			return (int)reg[0];
		default:
			fail_msg("unexpected instruction 0x%02x at %zu", i->code, pc - 1);
		}
	}
	fail_msg("program does not terminate");
	return -1;
}

static uint32_t acc_bits(unsigned a)
{
	return (a & JS_DEV_READ ? BPF_DEVCG_ACC_READ : 0) | (a & JS_DEV_WRITE ? BPF_DEVCG_ACC_WRITE : 0) |
	       (a & JS_DEV_MKNOD ? BPF_DEVCG_ACC_MKNOD : 0);
}

/* The program must decide every request exactly as the list does. */
static void check_prog_matches_list(const struct js_dev_list *l)
{
	struct js_bpf_prog p;
	struct js_err e = {0};
	if (js_ebpf_build(l, &p, &e) < 0)
		fail_msg("build: %s", e.msg);
	static const long majors[] = {0, 1, 5, 7, 8, 10, 136, 195, 226, 236, 237, 240, 4095};
	static const long minors[] = {0, 1, 2, 3, 5, 7, 9, 12, 13, 128, 132, 229, 254, 255, 1048575};
	for (int t = 0; t < 2; t++) {
		char type = t ? 'b' : 'c';
		for (size_t a = 0; a < sizeof majors / sizeof majors[0]; a++)
			for (size_t b = 0; b < sizeof minors / sizeof minors[0]; b++)
				for (unsigned acc = 1; acc < 8; acc++) {
					uint32_t at = acc_bits(acc) << 16 |
						      (type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK);
					int got = run_prog(&p, at, (uint32_t)majors[a], (uint32_t)minors[b]);
					bool want = js_dev_list_allows(l, type, majors[a], minors[b], acc);
					if (got != (int)want)
						fail_msg("%c %ld:%ld access %u: program says %d, list says %d", type,
							 majors[a], minors[b], acc, got, want);
				}
	}
	js_bpf_prog_free(&p);
}

static void test_ebpf_decodes_rules(void **state)
{
	(void)state;
	struct js_dev_list l;
	struct js_err e = {0};
	struct js_policy p = policy_of("all", "c 10:229 rwm /dev/fuse, b 7:* r, c *:12 m");
	if (js_devices_build(root, &p.gpus, p.devices, p.ndevices, &l, &e) < 0)
		fail_msg("build: %s", e.msg);
	check_prog_matches_list(&l);
	js_dev_list_free(&l);

	/* Empty list: deny everything. */
	memset(&l, 0, sizeof l);
	check_prog_matches_list(&l);
	struct js_bpf_prog prog;
	assert_int_equal(js_ebpf_build(&l, &prog, &e), 0);
	assert_int_equal(run_prog(&prog, BPF_DEVCG_ACC_READ << 16 | BPF_DEVCG_DEV_CHAR, 1, 3), 0);
	js_bpf_prog_free(&prog);

	/* A rule allowing everything ends the program: nothing after it
	 * is emitted (the verifier refuses unreachable code). */
	struct js_dev_rule r1 = {'c', 195, 0, JS_DEV_READ, "", false}, all = {'a', -1, -1, 7, "", false};
	assert_int_equal(js_dev_list_add(&l, &r1, &e), 0);
	assert_int_equal(js_dev_list_add(&l, &all, &e), 0);
	assert_int_equal(js_dev_list_add(&l, &r1, &e), 0);
	struct js_dev_rule r2 = {'b', 8, 0, JS_DEV_READ, "", false};
	assert_int_equal(js_dev_list_add(&l, &r2, &e), 0);
	assert_int_equal(js_ebpf_build(&l, &prog, &e), 0);
	/* prologue 6, rule c 195:0 r: 1 + 3 + 1 + 1 + 2 = 8, allow-all: 2 */
	assert_int_equal(prog.n, 6 + 8 + 2);
	assert_int_equal(prog.insn[prog.n - 1].code, BPF_JMP | BPF_EXIT);
	js_bpf_prog_free(&prog);
	check_prog_matches_list(&l);
	js_dev_list_free(&l);

	/* Type 'a' with limited access. */
	struct js_dev_rule ar = {'a', -1, -1, JS_DEV_READ, "", false};
	assert_int_equal(js_dev_list_add(&l, &ar, &e), 0);
	check_prog_matches_list(&l);
	js_dev_list_free(&l);
}

static void test_ebpf_load(void **state)
{
	(void)state;
	JS_SKIP_IF(geteuid() != 0, "loading a BPF program needs root");
	struct js_dev_list l;
	struct js_err e = {0};
	struct js_policy p = policy_of("all", "c 10:229 rwm /dev/fuse");
	if (js_devices_build(root, &p.gpus, p.devices, p.ndevices, &l, &e) < 0)
		fail_msg("build: %s", e.msg);
	struct js_bpf_prog prog;
	assert_int_equal(js_ebpf_build(&l, &prog, &e), 0);
	int fd = js_ebpf_load(&prog, &e);
	if (fd < 0)
		fail_msg("load: %s", e.msg);
	close(fd);
	/* A broken program: the verifier's complaint reaches the error.
	 * Exiting without setting r0 is refused ("R0 !read_ok"). */
	prog.insn[6] = prog.insn[prog.n - 1]; /* exit straight after the prologue */
	prog.n = 7;
	assert_true(js_ebpf_load(&prog, &e) < 0);
	assert_non_null(strstr(e.msg, "verifier"));
	assert_non_null(strstr(e.msg, "R0"));
	js_bpf_prog_free(&prog);
	js_dev_list_free(&l);
}

/* The driver's version from proc/driver/nvidia/version, both the
 * proprietary and the open kernel module's wording. */
static void test_drv_version(void **state)
{
	(void)state;
	char v[32];
	assert_true(js_drv_parse_version("NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 "
					 "01:15:15 UTC 2023\nGCC version:  gcc version 12.2.0\n",
					 v, sizeof v));
	assert_string_equal(v, "535.104.05");
	assert_true(js_drv_parse_version("NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  550.54.14  Release "
					 "Build  (dvs-builder@U16)  Thu Feb 22 01:25:25 UTC 2024\n",
					 v, sizeof v));
	assert_string_equal(v, "550.54.14");
	assert_false(js_drv_parse_version("GCC version:  gcc version 12.2.0\n", v, sizeof v));
	assert_false(js_drv_parse_version("NVRM version: NVIDIA UNIX x86_64 Kernel Module  unknown\n", v, sizeof v));
	assert_false(js_drv_parse_version("NVRM version: 1234567890.1234567890.1234567890.123\n", v, sizeof v));
}

/* js_open_rootowned_beneath: links followed only out of directories root
 * alone can write, never above the root; a directory or file a user owns
 * or can write is refused, naming it. */
static void test_rootowned_beneath(void **state)
{
	(void)state;
	JS_SKIP_IF(geteuid() != 0, "root-owned trees need root (chown)");
	char t[PATH_MAX], p[PATH_MAX];
	FMT(t, "%s/trusted", tmpdir);
	put(t, "usr/lib/x86_64-linux-gnu/libcuda.so.1.2", "lib");
	FMT(p, "%s/lib", t);
	assert_int_equal(symlink("usr/lib", p), 0);
	FMT(p, "%s/usr/lib/x86_64-linux-gnu/libcuda.so.1", t);
	assert_int_equal(symlink("libcuda.so.1.2", p), 0);
	FMT(p, "%s/usr/lib/up", t);
	assert_int_equal(symlink("../../../../../../usr/lib/x86_64-linux-gnu/libcuda.so.1.2", p), 0);
	put(t, "user/libcuda.so.1.2", "evil");
	FMT(p, "%s/user", t);
	assert_int_equal(chown(p, 1, 1), 0);
	FMT(p, "%s/usr/lib/touser", t);
	assert_int_equal(symlink("/user/libcuda.so.1.2", p), 0);
	put(t, "open/libcuda.so.1.2", "evil");
	FMT(p, "%s/open", t);
	assert_int_equal(chmod(p, 0777), 0);
	put(t, "usr/lib/writable.so", "x");
	FMT(p, "%s/usr/lib/writable.so", t);
	assert_int_equal(chmod(p, 0666), 0);
	chmod(t, 0755);
	int rootfd = open(t, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(rootfd >= 0);
	struct js_err e = {0};
	char res[PATH_MAX];
	/* through /lib -> usr/lib and the soname link */
	int fd = js_open_rootowned_beneath(rootfd, "lib/x86_64-linux-gnu/libcuda.so.1", O_PATH, res, sizeof res, &e);
	assert_true(fd >= 0);
	assert_string_equal(res, "usr/lib/x86_64-linux-gnu/libcuda.so.1.2");
	close(fd);
	/* readable when asked, the same file */
	fd = js_open_rootowned_beneath(rootfd, "/lib/x86_64-linux-gnu/libcuda.so.1", O_RDONLY, NULL, 0, &e);
	assert_true(fd >= 0);
	char buf[8] = "";
	assert_int_equal(read(fd, buf, sizeof buf - 1), 3);
	assert_string_equal(buf, "lib");
	close(fd);
	/* ".." never above the root */
	fd = js_open_rootowned_beneath(rootfd, "usr/lib/up", O_PATH, res, sizeof res, &e);
	assert_true(fd >= 0);
	assert_string_equal(res, "usr/lib/x86_64-linux-gnu/libcuda.so.1.2");
	close(fd);
	/* a link into a directory of uid 1 */
	assert_int_equal(js_open_rootowned_beneath(rootfd, "usr/lib/touser", O_PATH, NULL, 0, &e), -EPERM);
	assert_non_null(strstr(e.msg, "\"user\" is not owned by root"));
	/* a world-writable directory, a writable file */
	assert_int_equal(js_open_rootowned_beneath(rootfd, "open/libcuda.so.1.2", O_PATH, NULL, 0, &e), -EPERM);
	assert_non_null(strstr(e.msg, "\"open\" is writable by group or other"));
	assert_int_equal(js_open_rootowned_beneath(rootfd, "usr/lib/writable.so", O_PATH, NULL, 0, &e), -EPERM);
	/* a directory where a file is wanted, a missing file */
	assert_int_equal(js_open_rootowned_beneath(rootfd, "usr/lib", O_PATH, NULL, 0, &e), -EPERM);
	assert_int_equal(js_open_rootowned_beneath(rootfd, "usr/lib/nothing", O_PATH, NULL, 0, &e), -ENOENT);
	fd = js_open_rootowned_beneath(rootfd, "usr/lib", O_PATH | O_DIRECTORY, NULL, 0, &e);
	assert_true(fd >= 0);
	close(fd);
	/* a loop of links ends */
	FMT(p, "%s/usr/lib/loop", t);
	assert_int_equal(symlink("loop", p), 0);
	assert_int_equal(js_open_rootowned_beneath(rootfd, "usr/lib/loop", O_PATH, NULL, 0, &e), -ELOOP);
	close(rootfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_discover_order),
	    cmocka_unit_test(test_discover_nodes),
	    cmocka_unit_test(test_discover_bare_and_broken),
	    cmocka_unit_test(test_select_by_index_pci_uuid),
	    cmocka_unit_test(test_select_unknown),
	    cmocka_unit_test(test_shared_nodes_exactly_when_needed),
	    cmocka_unit_test(test_rule_format),
	    cmocka_unit_test(test_list_dedup_and_conflict),
	    cmocka_unit_test(test_build),
	    cmocka_unit_test(test_real_nodes),
	    cmocka_unit_test(test_dev_path_ok),
	    cmocka_unit_test(test_ebpf_decodes_rules),
	    cmocka_unit_test(test_ebpf_load),
	    cmocka_unit_test(test_drv_version),
	    cmocka_unit_test(test_rootowned_beneath),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
